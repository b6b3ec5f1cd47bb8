"""Rule sets: the shipped `seed` and `operations`, rules files, and every place rules are counted.

Hand-made timelines put visits at known days after 2023-07-03 (tests/helpers.py), so each test's
verdict can be worked out on paper; the docstrings say how.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import InfeasibleError, OptionError
from planner.io import METADATA_KEY
from planner.problem.calendar import DAY, Calendar
from planner.problem.coverage import summarize
from planner.problem.eligibility import exclusion_reason, window_slews
from planner.problem.rules import RuleSet, load_rules
from planner.solver import oracle
from planner.solver.chain import Chain
from tests.helpers import START, check, solve, timeline, visit

BOTS = "NIRSpec Bright Object Time Series"
ONE = Calendar(start=START, count=1)
runner = CliRunner()


def write_rules(tmp_path, text: str):
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- the shipped sets ---------------------------------------------------------------------------------


def test_shipped_sets_are_files_read_by_the_same_parser():
    operations, seed = load_rules("operations"), load_rules("seed")
    assert load_rules() == operations
    assert operations.rule_names() == [
        "no-slew",
        "to-miri",
        "carries-slew-parallel",
        "no-time-series",
        "slew-time",
        "miri-recovery",
    ]
    assert operations.miri_recovery_minutes == 35
    assert operations.min_slew_minutes == 27.5 and load_rules("seed").min_slew_minutes == 0
    assert seed.rule_names() == ["no-slew", "to-miri", "carries-slew-parallel"]
    # The recorded form reads back as the same set (plans keep it in their metadata).
    assert RuleSet.from_dict(operations.to_dict()) == operations


def test_no_time_series_satisfied_and_violated():
    """Day 1: a BOTS visit (time series), day 2: NIRCam imaging. Under `operations` only day 2 is
    eligible; under `seed` both are, and the earliest-slew tie-break... is not needed: one window.
    (Row 0 is the lead visit, untargeted: tests.helpers.timeline.)"""
    frame = timeline(visit(1, BOTS), visit(2))
    assert exclusion_reason(frame, load_rules()).tolist() == ["no-slew", "no-time-series", ""]
    assert exclusion_reason(frame, load_rules("seed")).tolist() == ["no-slew", "", ""]
    assert solve(frame, ONE).plan["visit_id"].tolist() == [frame["visit_id"][2]]


def test_miri_recovery_satisfied_and_violated():
    """Slews at day 1 and day 2; MIRI imaging 20 min after the first and 40 min after the second:
    with the 35-minute recovery only the second may carry the anneal. (Row 0 is the lead visit.)"""
    minutes = 60 / DAY  # one minute, in days
    frame = timeline(
        visit(1),
        visit(1 + 20 * minutes, "MIRI Imaging"),
        visit(2),
        visit(2 + 40 * minutes, "MIRI Imaging"),
    )
    reasons = exclusion_reason(frame, load_rules()).tolist()
    assert reasons == ["no-slew", "miri-recovery", "to-miri", "", "to-miri"]
    assert exclusion_reason(frame, load_rules().with_recovery(45)).tolist()[3] == "miri-recovery"
    assert exclusion_reason(frame, load_rules().with_recovery(0)).tolist()[1] == ""


def test_checker_names_the_rule_an_anneal_breaks():
    """A plan made under `seed` puts its anneal on the first slew (day 1, BOTS) and the second
    (day 8, MIRI use 20 min later); checked under `operations` both are named by their rule."""
    minutes = 60 / DAY  # one minute, in days
    frame = timeline(visit(1, BOTS), visit(2), visit(8), visit(8 + 20 * minutes, "MIRI Imaging"), visit(9))
    calendar = Calendar(start=START, count=2)
    seed = dict(rules="seed")
    made = solve(frame, calendar, **seed)
    assert check(made.plan, frame, calendar, **seed, claimed=made.value) == []
    typed = check(made.plan, frame, calendar)
    assert [(v.anneal, v.rule) for v in typed] == [(1, "no-time-series"), (2, "miri-recovery")]
    problems = list(map(str, typed))
    assert len(problems) == 2
    assert problems[0].startswith("Anneal 01: visit") and "no-time-series:" in problems[0]
    assert (
        problems[1].startswith("Anneal 02: visit") and "miri-recovery: MIRI use starts 20 min" in problems[1]
    )


def test_slew_time_satisfied_and_violated():
    """Visits last an hour. Day 1: a slew of 23 h (from the lead visit); 1 h 27.5 min after it, a slew
    of exactly 27.5 min (eligible: at least the minimum); day 2, and 1 h 27 min after it a slew of
    27 min (slew-time). The seed's rules have no minimum; a minimum of 20 min admits the 27-min slew."""
    minutes = 60 / DAY  # one minute, in days
    frame = timeline(visit(1), visit(1 + 87.5 * minutes), visit(2), visit(2 + 87 * minutes))
    assert frame["slew_seconds"].tolist()[1:] == [23 * 3600, 1650, DAY - 147.5 * 60, 1620]
    assert exclusion_reason(frame, load_rules()).tolist() == ["no-slew", "", "", "", "slew-time"]
    assert exclusion_reason(frame, load_rules("seed")).tolist()[4] == ""
    relaxed = dataclasses.replace(load_rules(), min_slew_minutes=20)
    assert exclusion_reason(frame, relaxed).tolist()[4] == ""
    stricter = dataclasses.replace(load_rules(), min_slew_minutes=28)
    assert exclusion_reason(frame, stricter).tolist()[2] == "slew-time"
    (window,) = window_slews(frame, ONE, load_rules())
    assert window.excluded["slew-time"] == 1 and window.rows.tolist() == [1, 2, 3]


def test_slew_time_of_unknown_duration_is_not_eligible():
    """Unknown slews: the first visit of a timeline (no lead visit here), the visit after one of
    unknown duration, and the visit after a hole of more than 24 h between two reports. Each is
    excluded by slew-time, and a solve leaves such a window unserved saying so (a second week is
    served: with no window served there is no plan at all); the same hole within one
    report is a long slew, and a hole of exactly 24 h between reports is still one."""
    unknown = visit(1, visit_id="9:1:1")
    unknown.duration_s = None
    other = visit(4, visit_id="9:4:1")
    other.source = "other report"
    frame = timeline(visit(0.5), unknown, visit(2), other, lead=False)
    assert frame["slew_seconds"].isna().tolist() == [True, False, True, True]
    assert exclusion_reason(frame, load_rules()).tolist() == ["slew-time", "", "slew-time", "slew-time"]
    assert exclusion_reason(frame, load_rules("seed")).tolist() == ["", "", "", ""]
    lone = timeline(visit(1), visit(8), lead=False)
    two = Calendar(start=START, count=2)
    result = solve(lone, two)
    assert result.missing == [1] and "slew-time" in result.unserved[1]
    assert result.plan["visit_id"].tolist()[1] == lone["visit_id"][1]
    with pytest.raises(InfeasibleError, match="slew-time"):
        solve(lone, two, allow_missing=False)
    # A hole within one report is a long slew; between reports, exactly 24 h is still a slew.
    same = visit(4, visit_id="9:4:1")
    assert exclusion_reason(timeline(visit(2), same, lead=False), load_rules()).tolist()[1] == ""
    day = visit(3 + 1 / 24, visit_id="9:3:1")
    day.source = "other report"
    frame = timeline(visit(2), day, lead=False)
    assert frame["slew_seconds"].tolist()[1] == DAY
    assert exclusion_reason(frame, load_rules()).tolist()[1] == ""


def test_checker_names_a_short_slew_slew_time():
    """Day 1 is untargeted (no slew); 1 h 20 min later a slew of 20 min, the window's only one. The
    seed's rules plan the anneal on it; checked under operations it breaks slew-time, named with
    the slew's length, and operations leave the window unserved. (Day 8 serves the second week.)"""
    minutes = 60 / DAY  # one minute, in days
    frame = timeline(visit(1, visit_type="PRIME UNTARGETED"), visit(1 + 80 * minutes), visit(8))
    two = Calendar(start=START, count=2)
    made = solve(frame, two, rules="seed")
    assert made.plan["visit_id"].tolist() == [frame["visit_id"][2], frame["visit_id"][3]]
    assert check(made.plan, frame, two, rules="seed", claimed=made.value) == []
    problems = check(made.plan, frame, two)
    assert [(v.anneal, v.rule) for v in problems] == [(1, "slew-time")]
    assert "the slew is 20.0 min long; the slew parallel needs 27.5 min" in str(problems[0])
    assert solve(frame, two).missing == [1]


# -- rules files --------------------------------------------------------------------------------------


def test_a_rules_file_extends_operations_with_the_users_own_rule(tmp_path):
    """Day 1: NIRCam imaging of program 1234, day 2: NIRCam imaging of another program. The user's
    rule excludes program 1234, so the anneal takes day 2; the rule is counted by its name."""
    path = write_rules(
        tmp_path,
        'extends = "operations"\nname = "mine"\n[[exclude]]\nname = "no-1234"\n'
        'reason = "program 1234 asked for quiet slews"\nprograms = [1234]\n',
    )
    rules = load_rules(path)
    assert rules.rule_names()[-3:] == ["no-1234", "slew-time", "miri-recovery"]
    frame = timeline(visit(1, visit_id="1234:1:1"), visit(2, visit_id="5678:1:1"), visit(9, BOTS))
    calendar = Calendar(start=START, count=2)
    windows = window_slews(frame, calendar, rules)
    assert windows[0].excluded["no-1234"] == 1 and windows[1].excluded["no-time-series"] == 1
    with pytest.raises(InfeasibleError) as err:
        solve(frame, calendar, rules=rules, allow_missing=False)
    assert "under rule set 'mine'" in str(err.value)
    assert "1 into a time-series visit" in str(err.value) and "(no-time-series)" in str(err.value)
    summary = summarize(frame, calendar, rules)
    assert summary.weeks["excluded_no-1234"].tolist() == [1, 0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('nmae = "x"\n', "unknown key 'nmae'"),
        ("miri_recovery_minutes = 'soon'\n", "miri_recovery_minutes = 'soon'"),
        ("miri_recovery_minutes = -1\n", "expected minutes from 0"),
        ('extends = "everything"\n', "extends = 'everything'"),
        ('[[exclude]]\nname = ""\nreason = "r"\nprime_modes = ["X"]\n', "exclude[0].name: empty"),
        (
            '[[exclude]]\nname = "a"\nreason = "r"\nprime_modes = "X"\n',
            "exclude[0].prime_modes: expected a list",
        ),
        ('[[exclude]]\nname = "a"\nreason = "r"\ncolour = ["X"]\n', "exclude[0]: unknown key 'colour'"),
        ('[[exclude]]\nname = "a"\nreason = "r"\n', "exclude[0]: excludes nothing"),
        ('[[exclude]]\nname = "to-miri"\nreason = "r"\nkeywords = ["X"]\n', "built-in rule's name"),
        ('[[exclude]]\nname = "a"\nreason = 3\nkeywords = ["X"]\n', "exclude[0].reason = 3 is an int"),
        ("name = [", "not valid TOML"),
    ],
)
def test_bad_rules_files_are_rejected_naming_the_key(tmp_path, text, message):
    with pytest.raises(OptionError, match=None) as err:
        load_rules(write_rules(tmp_path, text))
    assert message in str(err.value)


def test_cli_rules_file_errors_are_one_line_exit_2(tmp_path):
    path = write_rules(tmp_path, '[[exclude]]\nname = "a"\nreason = "r"\nvisit_types = [1]\n')
    result = runner.invoke(app, ["solve", "--rules", str(path), "--out", str(tmp_path / "p.parquet")])
    assert result.exit_code == 2
    assert "exclude[0].visit_types = 1 is an int" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "p.parquet").exists()
    result = runner.invoke(app, ["solve", "--rules", "strict", "--out", str(tmp_path / "p.parquet")])
    assert result.exit_code == 2 and "expected operations or seed" in result.output


# -- property: CP-SAT equals the DP under any rule set -----------------------------------------------

MODES = ["NIRCam Imaging", BOTS, "NIRISS Imaging", "MIRI Imaging", "NIRSpec IFU Spectroscopy"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    days=st.lists(
        st.tuples(st.floats(0, 20.99, allow_nan=False), st.sampled_from(MODES)), min_size=3, max_size=30
    ),
    excluded=st.sets(st.sampled_from(MODES)),
    recovery=st.sampled_from([0, 35, 600]),
)
def test_cp_sat_equals_the_dp_under_random_rule_sets(days, excluded, recovery):
    frame = timeline(*(visit(d, mode, visit_id=f"9:{i}:1") for i, (d, mode) in enumerate(days)))
    exclusions = [{"name": "random", "reason": "drawn", "prime_modes": sorted(excluded)}] if excluded else []
    rules = RuleSet.from_dict({"name": "random", "miri_recovery_minutes": recovery, "exclude": exclusions})
    calendar = Calendar(start=START, count=3)
    options = dict(rules=rules, allow_missing=True)
    windows = window_slews(frame, calendar, rules)
    chain = Chain.from_windows(windows, calendar.target_seconds)
    if chain.size == 0:
        with pytest.raises(InfeasibleError):
            solve(frame, calendar, **options)
        return
    best = oracle.best_path(chain, "sum")
    result = solve(frame, calendar, **options)
    assert result.value == round(best.cost)
    assert check(result.plan, frame, calendar, **options, claimed=result.value) == []
    # Nothing the rules exclude is ever planned.
    reasons = dict(zip(frame["visit_id"], exclusion_reason(frame, rules), strict=True))
    assert all(reasons[v] == "" for v in result.plan["visit_id"].dropna())


# -- the real Cycle 2 timeline ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["operations", "seed"])
def test_real_cycle2_is_optimal_under_each_set_and_equals_the_dp(shipped, name):
    rules = load_rules(name)
    result = solve(shipped, Calendar(), rules=rules)
    chain = Chain.from_windows(window_slews(shipped, Calendar(), rules), Calendar().target_seconds)
    assert result.status.value == "OPTIMAL" and result.checked
    assert result.value == round(oracle.best_path(chain, "sum").cost)
    # Under operations the slew-time rule leaves three weeks with no eligible slew (their rows
    # have no visit); under seed every window is served.
    assert result.missing == ([4, 7, 13] if name == "operations" else [])
    served = result.plan.dropna(subset=["visit_id"])
    placed = shipped.set_index(["visit_id", "start"]).loc[
        list(zip(served["visit_id"], served["slew_time"], strict=True))
    ]
    on_time_series = placed["instrument"].isin(load_rules().exclusions[0].prime_modes).sum()
    assert (on_time_series == 0) if name == "operations" else (on_time_series > 0)


def test_operations_moves_the_seed_plans_time_series_anneals(shipped):
    """The seed's optimum uses time-series slews, and (the seed having no slew-time rule) slews too
    short for the anneal; checked under operations each is named by its rule."""
    seed = solve(shipped, Calendar(), rules="seed")
    problems = check(seed.plan, shipped, Calendar())
    assert problems and all(p.rule in ("no-time-series", "slew-time", "miri-recovery") for p in problems)
    assert {p.rule for p in problems} >= {"no-time-series", "slew-time"}
    operations = solve(shipped, Calendar())
    # Fewer slews cost more: here 1245665 s against 500228 s, with three windows left unserved.
    assert operations.value > seed.value
    moved = {p.anneal for p in problems}  # an anneal may break two rules on one slew
    assert (operations.plan["slew_time"] != seed.plan["slew_time"]).sum() >= len(moved)


def test_plan_records_its_rule_set_and_an_old_plan_is_checked_under_seed(tmp_path):
    path = tmp_path / "plan.parquet"
    result = runner.invoke(app, ["solve", "--out", str(path)])
    assert result.exit_code == 0, result.output
    meta = json.loads(pq.read_schema(path).metadata[METADATA_KEY])
    assert meta["options"]["rules"] == load_rules().to_dict()
    # A plan as one made before rule sets would record it: no rules, a recovery of 0. (Not the plan
    # above: under operations the slew-time rule leaves windows unserved that the seed's rules serve,
    # so the checker would rightly reject it under seed; a seed plan keeping the 35-min recovery is.)
    path = tmp_path / "seed.parquet"
    seed = ["solve", "--rules", "seed", "--miri-recovery-minutes", "35", "--out", str(path)]
    result = runner.invoke(app, seed)
    assert result.exit_code == 0, result.output
    meta = json.loads(pq.read_schema(path).metadata[METADATA_KEY])
    table = pq.read_table(path)
    del meta["options"]["rules"]
    meta["options"]["miri_recovery_minutes"] = 0
    old = tmp_path / "old.parquet"
    pq.write_table(table.replace_schema_metadata({METADATA_KEY: json.dumps(meta).encode()}), old)
    checked = runner.invoke(app, ["check", str(old)])
    assert checked.exit_code == 0, checked.output
    assert "made before rule sets" in checked.output and "checked under the seed's rules" in checked.output
    # The recovery was 35 min: under seed with a 1-day recovery it would not hold.
    meta["options"]["miri_recovery_minutes"] = 24 * 60
    pq.write_table(table.replace_schema_metadata({METADATA_KEY: json.dumps(meta).encode()}), old)
    assert runner.invoke(app, ["check", str(old)]).exit_code == 1


def test_check_rules_checks_a_seed_plan_under_operations(tmp_path):
    """The seed optimum is valid under the rules it records, and `check --rules operations` names
    its 9 time-series slews and the one too close to MIRI use, exit 1."""
    path = tmp_path / "seed.parquet"
    assert runner.invoke(app, ["solve", "--rules", "seed", "--out", str(path)]).exit_code == 0
    assert runner.invoke(app, ["check", str(path)]).exit_code == 0
    checked = runner.invoke(app, ["check", str(path), "--rules", "operations", "--json"])
    report = json.loads(checked.stdout)
    assert checked.exit_code == 1 and report["rules"] == "operations"
    broken = [v.split(": ")[2] for v in report["violations"]]
    assert broken.count("no-time-series") == 9 and broken.count("miri-recovery") == 1


def test_destinations_shows_why_no_time_series_exists(shipped):
    result = runner.invoke(app, ["destinations", "--json"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)  # nothing but the JSON document on stdout
    rows = {row["prime_mode"]: row for row in document["destinations"]}
    bots = rows[BOTS]
    assert bots["eligible"] == 0 and bots["excluded"] == {"no-time-series": bots["slews"]}
    assert bots["flown"] == 0 and bots["slews"] == int((shipped["instrument"] == BOTS).sum())
    # Every slew parallel of the timeline is counted once, on its destination's mode.
    flown = sum(
        p["visit_type"] == "PARALLEL SLEW CALIBRATION"
        for parallels in shipped.loc[shipped["is_slew"], "parallels"]
        for p in parallels
    )
    assert sum(row["flown"] for row in rows.values()) == flown
    # Modes that never carried one, though they could have, come first.
    first = document["destinations"][0]
    assert first["flown"] == 0 and first["otherwise_eligible"] > 0
    seed = json.loads(runner.invoke(app, ["destinations", "--json", "--rules", "seed"]).stdout)
    assert {r["prime_mode"]: r for r in seed["destinations"]}[BOTS]["eligible"] == bots["slews"]


def test_timeline_summary_counts_each_named_rule(shipped):
    summary = summarize(shipped, Calendar(), load_rules())
    for rule in load_rules().rule_names():
        assert f"excluded_{rule}" in summary.weeks
    assert summary.weeks["excluded_no-time-series"].sum() > 0
    weeks = summary.weeks
    counted = weeks[[f"excluded_{r}" for r in load_rules().rule_names()]].sum(axis=1) + weeks["eligible"]
    assert np.array_equal(counted.to_numpy(), weeks["visits"].to_numpy())


def test_batch_scenarios_take_a_rule_set(tmp_path):
    """A `rules` key (shipped name or a file relative to the scenarios file) reaches the solve."""
    write_rules(tmp_path, '[[exclude]]\nname = "no-nircam"\nreason = "r"\nprime_modes = ["NIRCam Imaging"]\n')
    scenarios = tmp_path / "s.toml"
    scenarios.write_text(
        '[grid]\nrules = ["seed", "operations", "rules.toml"]\n[base]\nmiri_recovery_minutes = 50\n'
    )
    from planner.batch.scenarios import read_scenarios

    chosen = [s.rules for s in read_scenarios(scenarios)]
    assert [r.name for r in chosen] == ["seed", "operations", "rules"]
    assert {r.miri_recovery_minutes for r in chosen} == {50}
    assert chosen[2].exclusions[0].name == "no-nircam"
    scenarios.write_text('[base]\nrules = "missing.toml"\n[[scenarios]]\n')
    with pytest.raises(Exception, match="no such rules file"):
        read_scenarios(scenarios)


@settings(max_examples=40, deadline=None)
@given(
    kinds=st.lists(
        st.sampled_from(["nircam", "miri", "miri-parallel", "slew-parallel"]), min_size=1, max_size=25
    ),
    gaps=st.lists(st.integers(1, 600), min_size=25, max_size=25),
    recovery=st.sampled_from([35, 90, 600, 7 * 24 * 60]),
    order=st.randoms(use_true_random=False),
)
def test_checker_recovery_finds_the_first_use_a_scan_finds(kinds, gaps, recovery, order):
    """The checker's recovery rule (one binary search over the uses it found once) names, for every
    visit and in any order of asking, the first use of MIRI (prime, or a parallel that is not a slew
    parallel) that a scan of the visits after it finds within the recovery time."""
    from planner.plans.checker import _Rules, _uses
    from planner.schedules.report import Attached

    attached = {
        "miri-parallel": [Attached("PARALLEL PURE", "MIRI Imaging", "1:1:1")],
        "slew-parallel": [Attached("PARALLEL SLEW CALIBRATION", "MIRI Imaging", "1:1:2")],
    }
    days, day = [], 1.0
    for gap in gaps[: len(kinds)]:
        day += gap / (24 * 60)  # minutes apart
        days.append(day)
    frame = timeline(
        *(
            visit(d, "MIRI Imaging" if kind == "miri" else "NIRCam Imaging", parallels=attached.get(kind))
            for d, kind in zip(days, kinds, strict=True)
        )
    )
    rules = _Rules(frame, load_rules().with_recovery(recovery).to_dict(), ("MIRI",), "MIRI Imaging")
    starts = frame["start"].dt.as_unit("s").astype("int64").to_numpy()
    parallels = frame["parallels"].to_numpy()
    indexes = list(range(len(frame)))
    order.shuffle(indexes)
    for i in indexes:
        scanned = [
            int(starts[j])
            for j in range(i, len(frame))
            if starts[j] < starts[i] + recovery * 60
            and _uses(frame["instrument"][j], parallels[j], ("MIRI",))
        ]
        named = [words for rule, words in rules.broken(i) if rule == "miri-recovery"]
        if scanned:
            assert named == [
                f"MIRI use starts {(scanned[0] - starts[i]) / 60:.0f} min after the slew parallel; "
                f"the recovery needs {recovery:g} min"
            ]
        else:
            assert named == []


def test_the_checkers_uses_grow_window_by_window_to_what_one_read_finds():
    """`_Rules.cover` grown in pieces, below, above, inside and past a gap, finds the same uses of
    the avoided instrument as one read of the whole span (it reads only what each call adds)."""
    import numpy as np

    from planner.plans.checker import _Rules
    from planner.schedules.synthetic import synthetic_timeline

    frame = synthetic_timeline(20, 25.0, seed=1)
    start = int(frame["start"].iloc[0].timestamp())
    whole = _Rules(frame, {}, ("MIRI",), "MIRI Anneal")
    whole.cover(start, start + 20 * 86400)
    grown = _Rules(frame, {}, ("MIRI",), "MIRI Anneal")
    for a, b in [(8, 9), (7, 8.5), (8.2, 8.4), (12, 13), (0, 3), (15, 20)]:
        grown.cover(start + round(a * 86400), start + round(b * 86400))
    assert grown.covered == whole.covered and len(whole.use_starts) > 50
    assert np.array_equal(grown.use_starts, whole.use_starts)
