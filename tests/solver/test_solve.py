"""The CP-SAT planner against hand-worked optima, the DP oracle, and its own checker."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import InfeasibleError, OptionError
from planner.plans.result import Status, read_plan
from planner.problem.calendar import DAY, Calendar
from planner.problem.eligibility import window_slews
from planner.problem.rules import load_rules
from planner.problem.settings import SolverSettings
from planner.schedules.report import Attached
from planner.solver import oracle
from planner.solver.chain import Chain
from tests.helpers import START, check, instance, solve, timeline, visit

THREE = Calendar(start=START, count=3)


def _days(result):
    return [round((t.timestamp() - START) / DAY, 1) for t in result.plan["slew_time"]]


def test_three_weeks_hand_worked():
    """Slews on days 0, 1 | 7.5, 8 | 14, 15.5. Gaps off 7 days: 1 -> 8 -> 15.5 costs 0 + 0.5;
    every other path costs at least 1 day, so regular = 0.5 day. Minimax: 1 -> 8 -> 15.5 and
    0 -> 7.5 -> 14 both have worst gap 0.5 day; `regular` then prefers 1 -> 8 -> 15.5."""
    frame = timeline(*(visit(d) for d in (0, 1, 7.5, 8, 14, 15.5)))
    result = solve(frame, THREE)
    assert result.status == Status.OPTIMAL
    assert result.value == DAY // 2 and _days(result) == [1, 8, 15.5]
    minimax = solve(frame, THREE, objective="minimax")
    assert minimax.value == DAY // 2 and _days(minimax) == [1, 8, 15.5]
    assert [(stage.name, stage.role, stage.status, stage.value) for stage in minimax.stages] == [
        ("minimax", "objective", Status.OPTIMAL, DAY // 2),
        ("regular", "objective", Status.OPTIMAL, DAY // 2),
        ("earliest", "tie-break", Status.OPTIMAL, 3 * DAY),  # 1 + 0.5 + 1.5 days after each first slew
    ]


def test_ties_go_to_the_earliest_slews():
    """0 -> 7 -> 14 and 1 -> 8 -> 15 are both perfect (cost 0): the documented tie-break picks
    the plan with the earliest slews."""
    frame = timeline(*(visit(d) for d in (0, 1, 7, 8, 14, 15)))
    for workers in (1, 2, 8):
        result = solve(frame, THREE, workers=workers)
        assert result.value == 0 and _days(result) == [0, 7, 14]


def test_mean_objective_prefers_the_overall_span():
    """mean = |t3 - t1 - 14 d|: 0 -> 8 -> 14 spans exactly 14 days (mean 0) although its
    regular cost (1 + 1 days) is worse than 1 -> 8 -> 15.5 (0.5 day, span 14.5)."""
    frame = timeline(*(visit(d) for d in (0, 1, 8, 14, 15.5)))
    result = solve(frame, THREE, objective="mean")
    assert result.value == 0 and _days(result) == [0, 8, 14]


def test_rules_exclude_miri_untargeted_and_busy_slews():
    """Week 1's best slew (day 0) goes to MIRI, day 0.5 is untargeted, day 1 carries a NIRSpec lamp
    slew parallel, day 2 has MIRI as a coordinated parallel; days 3 and 3.5 are left for anneal 1."""
    frame = timeline(
        visit(0, "MIRI Imaging"),
        visit(0.5, "NIRCam Imaging", visit_type="PRIME UNTARGETED"),
        visit(1, parallels=[Attached("PARALLEL SLEW CALIBRATION", "NIRSpec Internal Lamp", "1:1:1")]),
        visit(2, parallels=[Attached("COORDINATED PARALLEL", "MIRI Imaging", None)]),
        visit(3),
        visit(3.5, parallels=[Attached("PARALLEL SLEW CALIBRATION", "MIRI Anneal", "1520:1:1")]),
        visit(7),
        visit(14),
    )
    result = solve(frame, THREE)
    # |7 - 3 - 7| = 3 days beats day 3.5's 3.5 days; days 7 -> 14 are perfect
    assert _days(result) == [3, 7, 14] and result.value == 3 * DAY
    # a slew already carrying a MIRI anneal stays eligible (that is where anneals ran)
    eligible = window_slews(frame, THREE)[0].times
    assert ((eligible - START) / DAY).tolist() == [3, 3.5]


def test_infeasible_week_names_the_anneal_and_reasons():
    frame = timeline(visit(0), visit(7, "MIRI Imaging"), visit(8, visit_type="PRIME UNTARGETED"), visit(14))
    with pytest.raises(InfeasibleError) as err:
        solve(frame, THREE, allow_missing=False)
    assert "Anneal 02 (2023-07-10 .. 2023-07-14): 2 visits" in str(err.value)
    assert "1 to a visit that uses MIRI (to-miri)" in str(err.value) and "none eligible" in str(err.value)
    assert "last visit" not in str(err.value)  # the schedule covers that week: the rules emptied it


def test_weeks_past_the_timeline_are_said_to_be_past_it():
    """A calendar longer than the schedule: the windows after its last visit say so, and how to
    plan without them."""
    with pytest.raises(InfeasibleError) as err:
        solve(timeline(visit(0), visit(7)), THREE, allow_missing=False)
    assert (
        "Anneal 03 (2023-07-17 .. 2023-07-21): 0 visits: none eligible (after the timeline's last visit, "
        in str(err.value)
    )
    assert "--allow-missing" in str(err.value) and "Anneal 02" not in str(err.value)


# -- the checker: each rule violated by a hand-broken plan --------------------------------------


@pytest.fixture(scope="module")
def real_plan(shipped):
    return solve(shipped)


def _broken(plan, **changes):
    broken = plan.copy()
    for column, (row, value) in changes.items():
        broken.loc[row, column] = value
    return broken


def test_checker_accepts_the_solver_plan(real_plan, shipped):
    assert check(real_plan.plan, shipped, Calendar(), claimed=real_plan.value) == []


def test_checker_finds_each_violation(real_plan, shipped):
    plan = real_plan.plan

    def problems_of(p, **kw):
        return [str(v) for v in check(p, shipped, Calendar(), **kw)]

    miri = shipped[
        shipped["uses_miri"]
        & shipped["is_slew"]
        & shipped["start"].between(plan.loc[4, "window_start"], plan.loc[4, "window_end"])
    ].iloc[0]
    broken = _broken(plan, visit_id=(4, miri["visit_id"]), slew_time=(4, miri["start"]))
    problems = problems_of(broken)
    assert any(p.startswith("Anneal 05: visit") and "uses MIRI" in p for p in problems)
    # the same violation as a value other code reads by field
    typed = check(broken, shipped, Calendar())
    assert any(v.anneal == 5 and v.rule == "to-miri" for v in typed)
    # Moved outside its window (and then out of calendar order)
    problems = problems_of(_broken(plan, slew_time=(9, plan.loc[10, "slew_time"])))
    assert any(p.startswith("Anneal 10: slew at") and "outside its window" in p for p in problems)
    # Missing anneal
    assert problems_of(plan.drop(index=52)) == ["Anneal 53: missing from the plan"]
    # Wrong claimed objective
    assert problems_of(plan, claimed=real_plan.value - 1) == [
        f"objective regular: the plan claims {real_plan.value - 1} s, its times give {real_plan.value} s"
    ]
    # A slew that does not exist
    problems = problems_of(_broken(plan, visit_id=(0, "1:1:1")))
    when = plan.loc[0, "slew_time"].strftime("%Y-%m-%dT%H:%M:%SZ")  # times as every message gives them
    assert problems == [f"Anneal 01: no visit 1:1:1 starts at {when} in the timeline"]


def test_checker_min_gap_and_recovery(real_plan, shipped):
    strict = load_rules().with_recovery(24 * 60)
    problems = check(real_plan.plan, shipped, Calendar(), min_gap_days=7.0, rules=strict)
    assert any("days after the previous anneal" in str(p) and p.rule == "min-gap" for p in problems)
    assert any("miri-recovery: MIRI use starts" in str(p) and p.rule == "miri-recovery" for p in problems)


def test_a_violation_names_its_anneal_whatever_its_number():
    """Anneal 100 of a 100-anneal calendar is missing: the violation says 100 (read by field, not
    from the message's characters, which once read it as 10)."""
    frame = timeline(*(visit(7 * k + 1) for k in range(100)))
    calendar = Calendar(start=START, count=100)
    plan = solve(frame, calendar, rules="seed").plan
    (violation,) = check(plan.iloc[:99], frame, calendar, rules="seed")
    assert (violation.anneal, violation.rule) == (100, "missing")
    assert str(violation) == "Anneal 100: missing from the plan"


# -- the real Cycle 2 timeline ----------------------------------------------------------------------


@pytest.mark.parametrize("objective", ["regular", "minimax", "mean"])
def test_real_cycle2_is_optimal_and_equals_the_oracle(shipped, objective):
    result = solve(shipped, Calendar(), objective=objective)
    assert result.status == Status.OPTIMAL and result.checked and len(result.plan) == 53
    assert result.bound == result.value
    chain = Chain.from_windows(window_slews(shipped, Calendar()), 7 * DAY)
    optimum = oracle.lexicographic(chain, objective)
    assert optimum is not None and result.value == optimum.value
    regular = next(stage for stage in result.stages if stage.name == "regular")
    assert regular.value == optimum.regular and regular.status == Status.OPTIMAL
    # the exact lexicographic optimum, tie-break included, is the plan returned
    assert result.stages[-1].value == optimum.lateness


def test_same_plan_whatever_the_worker_count(shipped):
    results = [solve(shipped, Calendar(), workers=w, seed=s) for w, s in [(1, 0), (2, 0), (8, 0), (2, 7)]]
    for result in results:
        assert result.stages[-1].name == "earliest" and result.stages[-1].status == Status.OPTIMAL
        assert result.plan["visit_id"].tolist() == results[0].plan["visit_id"].tolist()


def test_any_time_limit_returns_the_known_plan_labelled_feasible(shipped):
    """With 5 ms nothing is proven: the DP's plan comes back complete, checked, FEASIBLE, with the
    trivial bound 0, and every stage record says it did not run. Complete: every window that has an
    eligible slew is served (under the slew-time rule Anneals 04, 07 and 13 have none)."""
    result = solve(shipped, Calendar(), prune="none", time_limit=0.005, objective="minimax")
    assert result.status == Status.FEASIBLE and result.checked
    assert result.statistics()["placed"] == 50 and result.missing == [4, 7, 13] and result.bound == 0.0
    chain = Chain.from_windows(window_slews(shipped, Calendar()), 7 * DAY)
    optimum = oracle.lexicographic(chain, "minimax")
    assert optimum is not None and result.value == optimum.value
    assert [stage.status for stage in result.stages] == [Status.UNKNOWN] * 3
    assert result.stages[0].note.startswith("not run: the time limit")
    assert result.stages[1].note == "not run: the stage before it was not proven"


# -- property: CP-SAT equals the DP on random timelines ----------------------------------------------


@st.composite
def random_timelines(draw):
    count = draw(st.integers(2, 6))
    days = draw(st.lists(st.floats(0, 7 * count, allow_nan=False), min_size=count, max_size=40))
    miri = draw(st.lists(st.booleans(), min_size=len(days), max_size=len(days)))
    visits = [
        visit(round(d, 4), "MIRI Imaging" if m else "NIRCam Imaging", visit_id=f"1:{i}:1")
        for i, (d, m) in enumerate(zip(days, miri, strict=True))
    ]
    window = draw(st.sampled_from([1.0, 4.0, 7.0]))
    return timeline(*visits), Calendar(start=START, count=count, window_days=window)


@settings(max_examples=40, deadline=None)
@given(
    case=random_timelines(),
    objective=st.sampled_from(["regular", "minimax", "mean"]),
    prune=st.sampled_from(["dp", "none"]),
)
def test_cp_sat_equals_dp(case, objective, prune):
    """The whole lexicographic order: objective, regular, then the earliest slews."""
    frame, calendar = case
    windows = window_slews(frame, calendar)
    chain = Chain.from_windows(windows, calendar.target_seconds)
    optimum = oracle.lexicographic(chain, objective) if all(len(w.rows) for w in windows) else None
    try:
        result = solve(frame, calendar, objective=objective, prune=prune, allow_missing=False)
    except InfeasibleError:
        assert optimum is None
        return
    assert optimum is not None
    assert result.status == Status.OPTIMAL
    assert result.value == optimum.value
    assert [stage.value for stage in result.stages][-2:] == [optimum.regular, optimum.lateness]
    assert check(result.plan, frame, calendar, objective=objective, claimed=result.value) == []


@settings(max_examples=40, deadline=None)
@given(
    case=random_timelines(),
    minutes=st.one_of(st.sampled_from([0.0, 27.5]), st.floats(0, 24 * 60, allow_nan=False)),
    objective=st.sampled_from(["regular", "minimax", "mean"]),
)
def test_cp_sat_equals_dp_under_random_minimum_slew_times(case, minutes, objective):
    """The slew-time rule with any minimum: windows it empties are left out (the default), and on
    the windows left CP-SAT's lexicographic optimum is the DP's."""
    frame, calendar = case
    rules = dataclasses.replace(load_rules("operations"), min_slew_minutes=minutes)
    windows = window_slews(frame, calendar, rules)
    chain = Chain.from_windows(windows, calendar.target_seconds)
    optimum = oracle.lexicographic(chain, objective)
    try:
        result = solve(frame, calendar, objective=objective, rules=rules)
    except InfeasibleError:
        assert optimum is None and chain.size == 0
        return
    assert optimum is not None
    assert result.status == Status.OPTIMAL
    assert result.value == optimum.value
    assert [stage.value for stage in result.stages][-2:] == [optimum.regular, optimum.lateness]
    assert result.missing == [w.window.anneal for w in windows if not len(w.rows)]
    assert check(result.plan, frame, calendar, objective=objective, rules=rules, claimed=result.value) == []
    # Every slew planned is at least the minimum long.
    keys = zip(frame["visit_id"], frame["start"], strict=True)
    slews = dict(zip(keys, frame["slew_seconds"], strict=True))
    for key in zip(result.plan["visit_id"], result.plan["slew_time"], strict=True):
        if isinstance(key[0], str) and minutes > 0:  # 0: no rule (overlapping visits are slews too)
            assert slews[key] >= minutes * 60


def test_widen_hours_serves_an_empty_window_and_the_checker_accepts_it():
    """Week 2 (days 7-11) has no slew; day 11.2 is 4.8 hours after it closes. Widened by 5 hours the
    window takes it, and the checker accepts the plan as one widened so; by 4 hours it stays empty;
    the widened plan checked as an unwidened one puts the anneal outside its window."""
    frame = timeline(visit(0.5), visit(11.2), visit(14.5))
    assert solve(frame, THREE).missing == [2]
    assert solve(frame, THREE, widen_hours=4).missing == [2]
    widened = solve(frame, THREE, widen_hours=5)
    assert widened.missing == [] and _days(widened) == [0.5, 11.2, 14.5]
    row = widened.plan.iloc[1]
    assert (row["window_start"].timestamp(), row["window_end"].timestamp()) == (
        START + 7 * DAY - 5 * 3600,
        START + 11 * DAY + 5 * 3600,
    )
    assert check(widened.plan, frame, THREE, widen_hours=5, claimed=widened.value) == []
    unwidened = check(widened.plan, frame, THREE, claimed=widened.value)
    assert [(v.anneal, v.rule) for v in unwidened] == [(2, "window"), (2, "outside-window")]
    with pytest.raises(OptionError, match="widen hours 37"):  # 4-day windows every 7 days: 36 h at most
        solve(frame, THREE, widen_hours=37)


# -- CLI ------------------------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_solve_and_check(tmp_path):
    out = tmp_path / "plan.parquet"
    result = runner.invoke(app, ["solve", "--out", str(out)])
    assert result.exit_code == 0, result.output
    # Under the slew-time rule three windows of Cycle 2 have no eligible slew: listed, not fatal.
    assert "OPTIMAL: 50/53 anneals placed" in result.output
    unserved = "3 windows could not be served (no eligible slew): Anneal 04, Anneal 07, Anneal 13"
    assert unserved in result.output
    assert result.output.count("Not served: Anneal") == 3 and "nearest eligible slews" in result.output
    plan, meta = read_plan(out)
    assert len(plan) == 53 and meta["status"] == "OPTIMAL" and meta["checked"]
    assert meta["missing"] == [4, 7, 13] and sorted(meta["unserved"]) == ["13", "4", "7"]
    assert meta["versions"]["ortools"] and len(meta["timeline"]["sha256"]) == 64
    checked = runner.invoke(app, ["check", str(out)])
    assert checked.exit_code == 0 and "50 of 53 anneals placed" in checked.output
    assert "satisfies every rule" in checked.output


def test_cli_widen_hours_serves_the_empty_windows(tmp_path):
    """Cycle 2's unserved windows' nearest eligible slews lie 6.8 h (Anneal 13), 15.7 h (07) and
    19.4 h (04) outside them: --widen-hours 8 serves Anneal 13 only, 20 all three; `check` accepts
    each plan (it re-derives the widened windows from the recorded widen_hours)."""
    out = tmp_path / "plan.parquet"
    eight = runner.invoke(app, ["solve", "--widen-hours", "8", "--out", str(out)])
    assert eight.exit_code == 0, eight.output
    assert "OPTIMAL: 51/53 anneals placed" in eight.output and "Anneal 04, Anneal 07;" in eight.output
    plan, meta = read_plan(out)
    assert plan.loc[12, "visit_id"] == "2511:1:1" and meta["options"]["widen_hours"] == 8
    assert runner.invoke(app, ["check", str(out)]).exit_code == 0
    twenty = runner.invoke(app, ["solve", "--widen-hours", "20", "--out", str(out)])
    assert twenty.exit_code == 0 and "OPTIMAL: 53/53 anneals placed" in twenty.output
    assert "Not served" not in twenty.output
    checked = runner.invoke(app, ["check", str(out)])
    assert checked.exit_code == 0 and "53 of 53 anneals placed" in checked.output


def test_cli_fail_on_missing_exits_1_with_the_plan_written(tmp_path):
    out = tmp_path / "plan.parquet"
    failed = runner.invoke(app, ["solve", "--fail-on-missing", "--out", str(out)])
    assert failed.exit_code == 1 and out.exists()
    assert "Not served: Anneal 04" in failed.output
    plan, meta = read_plan(out)
    assert meta["missing"] == [4, 7, 13] and len(plan) == 53
    assert runner.invoke(app, ["check", str(out)]).exit_code == 0  # a valid plan, only incomplete
    served = runner.invoke(app, ["solve", "--fail-on-missing", "--widen-hours", "20", "--out", str(out)])
    assert served.exit_code == 0, served.output


def test_cli_check_rejects_a_tampered_plan(tmp_path, real_plan):
    out = tmp_path / "plan.parquet"
    # A copy: the fixture is shared by the module's tests, and must not depend on their order.
    # Row 4, a placed anneal (Anneal 04 has no eligible slew under the slew-time rule).
    tampered = dataclasses.replace(real_plan, plan=real_plan.plan.drop(index=4).reset_index(drop=True))
    tampered.to_parquet(out)
    result = runner.invoke(app, ["check", str(out)])
    assert result.exit_code == 1
    assert "Anneal 05: missing from the plan" in result.output


def test_cli_errors(tmp_path):
    out = tmp_path / "plan.parquet"
    window = ["--start", "2022-07-04", "--count", "2", "--out", str(out)]
    infeasible = runner.invoke(app, ["solve", "--require-all", *window])
    assert infeasible.exit_code == 1 and "Anneal 01" in infeasible.output and not out.exists()
    # allowed by default: the empty window (before the timeline's first visit) is listed instead
    partial = runner.invoke(app, ["solve", *window])
    assert partial.exit_code == 0 and "Not served: Anneal 01" in partial.output and out.exists()
    bad = runner.invoke(app, ["solve", "--objective", "fastest", "--out", str(out)])
    assert bad.exit_code == 2 and "expected one of regular, mean, minimax" in bad.output
    missing = runner.invoke(app, ["check", str(tmp_path / "nope.parquet")])
    assert missing.exit_code == 2 and "no such plan file" in missing.output


def test_the_checker_does_not_load_the_solver():
    """The independent checker must not depend on ortools, even indirectly."""
    import subprocess
    import sys

    code = "import sys, planner.plans.checker, planner.plans.result; print('ortools' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# -- stages and status --------------------------------------------------------------------------------


def _record(name, role, status, **fields):
    from planner.plans.result import StageRecord

    values = dict(value=1, bound=1.0, seconds=0.0, variables=1, constraints=1) | fields
    return StageRecord(name=name, role=role, status=status, **values)


def test_status_is_the_weakest_objective_stage():
    """The tie-break never lowers the status; any unproven objective stage makes a plan FEASIBLE."""
    from planner.plans.result import overall_status

    optimal = _record("minimax", "objective", Status.OPTIMAL)
    assert (
        overall_status([optimal, _record("earliest", "tie-break", Status.FEASIBLE)], True) == Status.OPTIMAL
    )
    assert (
        overall_status([optimal, _record("regular", "objective", Status.FEASIBLE)], True) == Status.FEASIBLE
    )
    unknown = _record("minimax", "objective", Status.UNKNOWN)
    assert overall_status([unknown], True) == Status.FEASIBLE
    assert overall_status([unknown], False) == Status.UNKNOWN


def test_headline_says_an_unproven_tie_break_in_words(shipped):
    from dataclasses import replace

    from planner.views.console import headline

    result = solve(shipped, Calendar(), objective="minimax")
    assert "tie-break" not in headline(result)
    result.stages[-1] = replace(result.stages[-1], status=Status.FEASIBLE)
    text = headline(result)
    assert text.startswith("[bold]OPTIMAL[/]")
    assert "The tie-break (earliest slews) was not proven" in text
    assert "another plan of the same objective values may have earlier slews" in text


def test_stage_records_round_trip_through_the_plan_file(tmp_path, shipped):
    from planner.plans.result import StageRecord

    result = solve(shipped, Calendar(), objective="mean")
    result.to_parquet(tmp_path / "p.parquet")
    _, meta = read_plan(tmp_path / "p.parquet")
    assert [StageRecord.from_dict(stage) for stage in meta["stages"]] == result.stages
    assert [stage["name"] for stage in meta["stages"]] == ["mean", "regular", "earliest"]


def test_model_invalid_raises_with_cp_sat_s_message(monkeypatch, shipped):
    import planner.solver.solve as solve_module
    from planner.solver.model import FlowModel

    class Broken(FlowModel):
        def __post_init__(self):
            super().__post_init__()
            self.model.proto.constraints.add().linear.vars.append(10**6)

    monkeypatch.setattr(solve_module, "FlowModel", Broken)
    with pytest.raises(solve_module.ModelInvalidError, match="Out of bound integer variable 1000000"):
        solve(shipped)


def test_cli_param_log_and_table(tmp_path):
    out = tmp_path / "plan.parquet"
    done = runner.invoke(app, ["solve", "--param", "linearization_level=1", "--table", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert read_plan(out)[1]["options"]["params"] == [["linearization_level", "1"]]
    bad = runner.invoke(app, ["solve", "--param", "no_such_parameter=1", "--out", str(out)])
    assert bad.exit_code == 2 and "--param no_such_parameter=1: not a CP-SAT parameter" in bad.output
    shape = runner.invoke(app, ["solve", "--param", "linearization_level", "--out", str(out)])
    assert shape.exit_code == 2 and "expected key=value" in shape.output


def test_long_plans_print_their_worst_weeks(tmp_path):
    """A 3-year synthetic plan (156 weeks) prints 10 rows unless --table is given."""
    from planner.schedules.synthetic import synthetic_timeline
    from planner.schedules.timeline import write_timeline

    path = tmp_path / "t.parquet"
    write_timeline(synthetic_timeline(3 * 365, 12, 0.2, seed=1), path)
    args = [
        "solve",
        "--timeline",
        str(path),
        "--count",
        "156",
        "--allow-missing",
        "--out",
        str(tmp_path / "p"),
    ]
    short = runner.invoke(app, args)
    assert short.exit_code == 0, short.output
    assert "Worst 10 of 156 weeks" in short.output and short.output.count("│ 1") < 12
    full = runner.invoke(app, [*args, "--table"])
    assert "Worst" not in full.output and "│ 156 │" in full.output


def test_each_stage_gets_its_parameters_and_param_has_the_last_word():
    """minimax's rows go into the LP lazily (its LP is not a flow's), every other stage's from the
    start; a --param value overrides both."""
    from ortools.sat.python import cp_model

    from planner.solver.solve import configure

    def lazily(stage: str, settings: SolverSettings) -> bool:
        solver = cp_model.CpSolver()
        configure(solver, settings, 5.0, stage)
        return solver.parameters.add_lp_constraints_lazily

    plain = SolverSettings()
    assert lazily("minimax", plain) and not lazily("regular", plain) and not lazily("mean", plain)
    told = SolverSettings(params=(("add_lp_constraints_lazily", "false"),))
    assert not lazily("minimax", told)


def test_minimax_bisects_the_worst_deviation():
    """From a greedy plan, the LP bound of a bottleneck barely moves; the minimax model's search
    strategy (bisection on the worst deviation, decided by propagation) proves the DP's optimum.

    A deterministic-time limit, so the outcome is the same on any machine: the planner's setting
    proves it well within it (0.03 of 0.5), where CP-SAT 9.15's automatic search, without the
    strategy, still had a bound of 1 s after 1.0."""
    from ortools.sat.python import cp_model

    from planner.schedules.synthetic import synthetic_timeline
    from planner.solver.model import FlowModel, scoped_pairs
    from planner.solver.solve import build_chain, configure, stage_scope

    frame = synthetic_timeline(105, 15, 0.2, seed=2)
    chain, _, _ = build_chain(instance(frame, Calendar(count=15), objective="minimax", allow_missing=True))
    exact = oracle.lexicographic(chain, "minimax")
    greedy = oracle.greedy(chain).choice
    assert exact.value < oracle.plan_cost(chain, greedy, "max")
    scoped = scoped_pairs(
        chain, stage_scope("minimax", {"minimax": round(oracle.plan_cost(chain, greedy, "max"))})
    )
    model = FlowModel(chain, pairs=scoped.pairs, ends=scoped.ends)
    model.model.minimize(model.add_worst_deviation())
    model.hint(greedy)
    solver = cp_model.CpSolver()
    configure(solver, SolverSettings(), 60.0, "minimax")
    solver.parameters.max_deterministic_time = 0.5
    assert solver.status_name(solver.solve(model.model)) == "OPTIMAL"
    assert solver.objective_value == exact.value


def test_potentials_let_cp_sat_prove_the_exact_scope_on_loading(shipped):
    """On the planner's own model of real Cycle 2 (pairs of optimal plans only) the `regular`
    objective in reduced costs has its optimum as the bound of its own terms: CP-SAT proves it
    before loading the search (no Boolean loaded, no LP iteration). The same model in plain
    costs is proven too, but by its LP."""
    from ortools.sat.python import cp_model

    from planner.solver.model import FlowModel, scoped_pairs
    from planner.solver.solve import build_chain, configure, stage_scope

    chain, _, _ = build_chain(instance(shipped, Calendar()))
    exact = oracle.lexicographic(chain, "regular")
    scoped = scoped_pairs(chain, stage_scope("regular", {"regular": exact.value}))
    assert scoped.exact and scoped.potentials is not None

    def prove(potentials) -> tuple[str, float, int, int]:
        model = FlowModel(chain, pairs=scoped.pairs, ends=scoped.ends, potentials=potentials)
        model.model.minimize(model.total_deviation())
        model.hint(exact.choice)
        solver = cp_model.CpSolver()
        configure(solver, SolverSettings(), 10.0, "regular")
        status = solver.status_name(solver.solve(model.model))
        response = solver.response_proto
        return status, solver.objective_value, response.num_booleans, response.num_lp_iterations

    assert prove(scoped.potentials) == ("OPTIMAL", exact.value, 0, 0)
    status, value, booleans, iterations = prove(None)
    assert (status, value) == ("OPTIMAL", exact.value) and booleans > 0 and iterations > 0


def test_log_goes_to_stderr_so_json_stays_one_document(tmp_path):
    """`--log` shows CP-SAT's log on stderr; stdout keeps the one JSON document `--json` promises."""
    import json
    import subprocess
    import sys

    out = tmp_path / "plan.parquet"
    done = subprocess.run(
        [sys.executable, "-m", "planner", "solve", "--log", "--json", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "OPTIMAL"
    assert "Starting CP-SAT solver" in done.stderr


def test_quiet_prints_one_line_with_what_was_not_proven(tmp_path):
    """A time limit too short for any stage: one line, the caveats at its end, and the output path
    as given (never read as markup)."""
    out = tmp_path / "[bold]plan.parquet"
    done = runner.invoke(app, ["solve", "--time-limit", "0.001", "--quiet", "--out", str(out)])
    assert done.exit_code == 0, done.output
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("FEASIBLE: ")
    assert f"plan written to {out}" in lines[0] and "this is the DP's plan" in lines[0]


def test_a_gap_limit_never_makes_a_one_program_stage_optimal():
    """CP-SAT calls a plan within a --param gap limit OPTIMAL; a stage is OPTIMAL only when its value
    meets its proven bound (planner.solver.solve.stage_status, shared with co-planning). Before,
    the `earliest` stage here was called OPTIMAL at 8,818,965 s with a bound of 6,873,875 s."""
    import math

    from planner.problem.calendar import Calendar
    from planner.problem.settings import SolverSettings
    from planner.schedules.synthetic import synthetic_timeline
    from planner.solver.solve import solve as solve_instance

    frame = synthetic_timeline(365, 25.0, seed=3)  # its `earliest` stage stops above its bound
    gaps = (("relative_gap_limit", "0.99"), ("absolute_gap_limit", "1e9"))
    result = solve_instance(
        instance(frame, Calendar(count=51), allow_missing=True), SolverSettings(params=gaps)
    )
    assert all(s.status.value != "OPTIMAL" or s.value <= math.ceil(s.bound) for s in result.stages)
    # the tie-break stage is not proven; the objective's stages, which decide the claim, are
    assert (result.stages[-1].name, result.stages[-1].status.value) == ("earliest", "FEASIBLE")
    assert result.status.value == "OPTIMAL" and result.stages[0].value == round(result.stages[0].bound)
