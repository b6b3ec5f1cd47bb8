"""Pins, minimum gap and missing anneals: side constraints of the same CP-SAT model.

Brute force over every combination of slews on tiny timelines gives the optimum to compare with.
"""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import InfeasibleError, OptionError
from planner.plans.checker import objective_value
from planner.plans.result import Status
from planner.problem.calendar import DAY, Calendar
from planner.problem.eligibility import window_slews
from planner.problem.pins import Pin, parse_fix
from planner.schedules.timeline import with_slew_seconds, write_timeline
from tests.helpers import START, check, solve, timeline, visit


def brute_force(frame, calendar: Calendar, options: dict) -> int | None:
    """The optimum by enumeration (None if no plan): every combination of eligible slews, under
    the instance options given (objective, pins, min_gap_days; the seed's rules)."""
    windows = [w for w in window_slews(frame, calendar) if len(w.times)]
    if not windows:  # nothing to place: no plan
        return None
    pins = {p.anneal: p for p in options.get("pins", ())}
    gap = max(1, round(options.get("min_gap_days", 0.0) * DAY))
    best = None
    for times in itertools.product(*(w.times.tolist() for w in windows)):
        if any(b - a < gap for a, b in itertools.pairwise(times)):
            continue
        if any(
            w.window.anneal in pins
            and frame["visit_id"].iloc[w.rows[w.times.tolist().index(t)]] != pins[w.window.anneal].visit_id
            for w, t in zip(windows, times, strict=True)
        ):
            continue
        anneals = [w.window.anneal for w in windows]
        value = objective_value(
            list(times), anneals, options.get("objective", "regular"), calendar.target_seconds
        )
        best = value if best is None else min(best, value)
    return best


@st.composite
def tiny_cases(draw):
    count = draw(st.integers(2, 4))
    days = []
    for k in range(count):
        # some windows empty (for allow_missing), others with 1-4 slews
        days += [7 * k + round(draw(st.floats(0, 3.99)), 3) for _ in range(draw(st.integers(0, 4)))]
    days = sorted(set(days))
    frame = timeline(*(visit(d, visit_id=f"1:{i}:1") for i, d in enumerate(days)))
    calendar = Calendar(start=START, count=count)
    windows = window_slews(frame, calendar)
    pins = []
    for w in windows:
        if len(w.rows) and draw(st.booleans()) and draw(st.booleans()):
            pins.append(
                Pin(w.window.anneal, frame["visit_id"].iloc[w.rows[draw(st.integers(0, len(w.rows) - 1))]])
            )
    options = dict(
        objective=draw(st.sampled_from(["regular", "minimax", "mean"])),
        min_gap_days=draw(st.sampled_from([0.0, 5.0, 6.5, 7.5])),
        allow_missing=True,
        pins=tuple(pins),
        prune=draw(st.sampled_from(["dp", "none"])),
    )
    return frame, calendar, options


@settings(max_examples=60, deadline=None)
@given(case=tiny_cases())
def test_side_constraints_are_optimal_by_brute_force(case):
    frame, calendar, options = case
    expected = brute_force(frame, calendar, options)
    try:
        result = solve(frame, calendar, **options)
    except InfeasibleError:
        assert expected is None
        return
    assert result.status == Status.OPTIMAL
    assert result.value == expected
    assert check(result.plan, frame, calendar, **options, claimed=result.value) == []
    for pin in options["pins"]:  # the pins hold
        row = result.plan.set_index("anneal").loc[pin.anneal]
        assert row["visit_id"] == pin.visit_id
    times = result.plan["slew_time"].dropna()
    assert (times.diff().dropna().dt.total_seconds() >= options["min_gap_days"] * DAY).all()


def test_missing_week_is_measured_against_two_targets():
    """Week 2 has no slew: 0 -> 14.5 is one interval of 14.5 days against 14: cost half a day."""
    frame = timeline(visit(0), visit(14.5))
    calendar = Calendar(start=START, count=3)
    with pytest.raises(InfeasibleError, match="Anneal 02"):
        solve(frame, calendar, allow_missing=False)
    result = solve(frame, calendar, allow_missing=True)
    assert result.missing == [2] and result.value == DAY // 2
    assert result.plan["deviation_hours"].tolist()[2] == 12.0
    assert check(result.plan, frame, calendar, claimed=result.value) == []  # allowed by default
    # the checker accepts the partial plan only when it is allowed, and only for empty windows
    assert list(map(str, check(result.plan, frame, calendar, claimed=result.value, allow_missing=False))) == [
        "Anneal 02: has no slew (a partial plan needs allow_missing)"
    ]
    busier = timeline(visit(0), visit(7.2), visit(14.5))
    problems = list(map(str, check(result.plan, busier, calendar, allow_missing=True)))
    assert problems == [
        "Anneal 02: left out although the slew into 9999:7200:1 at 2023-07-10T04:48:00Z is eligible"
    ]


def test_min_gap_conflict_is_explained():
    frame = timeline(visit(3), visit(7.5), visit(8))
    with pytest.raises(InfeasibleError) as err:
        solve(frame, Calendar(start=START, count=2), min_gap_days=6)
    assert "Anneal 02 cannot follow Anneal 01" in str(err.value) and "5.000 days later" in str(err.value)


def test_pins_that_no_longer_hold_are_named():
    frame = timeline(
        visit(1, visit_id="1:1:1"), visit(8, visit_id="1:2:1"), visit(9, "MIRI Imaging", visit_id="1:3:1")
    )
    calendar = Calendar(start=START, count=2)
    with pytest.raises(  # --fix naming a visit id the timeline lacks: bad input, exit 2
        OptionError, match="--fix: Anneal 02 is pinned to 7:7:7, a visit the timeline does not have"
    ):
        solve(frame, calendar, pins=(Pin(2, "7:7:7"),))
    with pytest.raises(  # a pinned plan's slew the schedule no longer has: no plan, exit 1
        InfeasibleError, match=r"Anneal 02 is pinned to 7:7:7 at .*, a visit the timeline does not have"
    ):
        solve(frame, calendar, pins=(Pin(2, "7:7:7", START + 8 * 86_400),))
    with pytest.raises(
        InfeasibleError, match=r"not eligible under rule set .operations.: to-miri, to a visit that uses MIRI"
    ):
        solve(frame, calendar, pins=(Pin(2, "1:3:1"),))
    with pytest.raises(InfeasibleError, match="outside its window"):
        solve(frame, calendar, pins=(Pin(1, "1:2:1"),))
    with pytest.raises(OptionError, match="expected 'Anneal NN=program:visit:observation'"):
        parse_fix("Anneal five")
    assert parse_fix("Anneal 05=1234:5:1") == Pin(5, "1234:5:1") == parse_fix("5 = 1234:5:1")


def test_replan_keeps_flown_anneals(tmp_path, shipped):
    """The schedule changed after 2023-10-01: every slew the first plan used after that date was
    cancelled. Re-planning keeps the 10 anneals flown before it and moves all the later ones. (13
    weeks precede it; under the slew-time rule Anneals 04, 07 and 13 have no eligible slew, in
    either timeline.)"""
    first = solve(shipped)
    first.to_parquet(tmp_path / "plan.parquet")
    cutoff = pd.Timestamp("2023-10-01", tz="UTC")
    later = first.plan[first.plan["slew_time"] >= cutoff]
    cancelled = shipped["visit_id"].isin(later["visit_id"]) & shipped["start"].isin(later["slew_time"])
    # Cancelling visits changes the slews into the visits after them: recomputed, as every maker
    # of changed rows does (planner.schedules.timeline), or the file would keep the old, shorter ones.
    changed = with_slew_seconds(shipped[~cancelled].reset_index(drop=True))
    changed.attrs["sources"] = ["changed"]
    write_timeline(changed, tmp_path / "changed.parquet")

    runner = CliRunner()
    out = tmp_path / "replan.parquet"
    args = [
        "solve",
        "--timeline",
        str(tmp_path / "changed.parquet"),
        "--pin",
        str(tmp_path / "plan.parquet"),
        "--pin-until",
        "2023-10-01",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    replan = pd.read_parquet(out)
    kept = first.plan["slew_time"] < cutoff
    assert kept.sum() == 10 and first.missing == [4, 7, 13]
    assert replan.loc[kept, "visit_id"].tolist() == first.plan.loc[kept, "visit_id"].tolist()
    assert replan.loc[replan["visit_id"].isna(), "anneal"].tolist() == [4, 7, 13]
    assert not (replan.loc[~kept, "slew_time"] == first.plan.loc[~kept, "slew_time"]).any()
    assert runner.invoke(app, ["check", str(out)]).exit_code == 0
    # pinning against the changed timeline a plan that used a cancelled slew names the anneal
    bad = runner.invoke(app, [*args[:5], "--pin-until", "2024-01-01", "--out", str(tmp_path / "x.parquet")])
    assert (
        bad.exit_code == 1
        and "Anneal 14 is pinned to" in bad.output
        and "a visit the timeline does not have" in bad.output
    )
    lonely = runner.invoke(app, ["solve", "--pin", str(out), "--out", str(out)])
    assert lonely.exit_code == 2 and "--pin and --pin-until go together" in lonely.output


def test_flown_from_timeline_names_the_visit_slewed_to(shipped):
    """`next --flown TIMELINE` pins each week's first executed anneal on the visit it ran on (the
    prime slewed to, not the anneal's own 1520 visit), at that visit's start."""
    from planner.online.weekly import flown_from_timeline
    from planner.plans.compare import executed_anneals
    from planner.problem.program import load_program

    program = load_program("anneals-cycle2")
    calendar = program.calendar
    flown = flown_from_timeline(shipped, program)
    executed = executed_anneals(shipped)
    weeks = (executed["time"] - pd.Timestamp(calendar.start, unit="s", tz="UTC")) // pd.Timedelta(days=7) + 1
    assert sorted(flown) == sorted(set(weeks[(weeks >= 1) & (weeks <= calendar.count)]))
    starts = dict(zip(shipped["visit_id"], shipped["start"], strict=True))
    for week, (visit_id, t) in flown.items():
        assert not visit_id.startswith("1520:"), week
        assert starts[visit_id] == pd.Timestamp(t, unit="s", tz="UTC")
        assert starts[visit_id] == executed["time"][weeks == week].min()


def test_executed_anneals_of_cycle2(shipped):
    """docs/domain.md: Cycle 2's anneals ran under program 1520 as slew parallels (1520:54:1 ...)."""
    from planner.plans.compare import compare, executed_anneals

    flown = executed_anneals(shipped)
    assert {"1520:54:1", "1520:104:1"} <= set(flown["visit_id"])
    result = solve(shipped)
    comparison = compare(result.plan, shipped, Calendar())
    plan_row, executed_row = comparison.summary.loc["plan"], comparison.summary.loc["executed"]
    # Under the slew-time rule Anneals 04, 07 and 13 have no eligible slew in their window (the
    # solver's unserved windows, its optimum equal to the DP's: tests/problem/test_rules.py).
    assert plan_row["anneals"] == 50 and plan_row["weeks_without"] == 3 and result.missing == [4, 7, 13]
    # the optimum is at least as regular as what flew
    assert plan_row["sum_abs_deviation_s"] <= executed_row["sum_abs_deviation_s"]
    assert plan_row["sum_abs_deviation_s"] == result.value
    assert len(comparison.weeks) == 53


def test_compare_plot_report_cli(tmp_path, shipped):
    solve(shipped).to_parquet(tmp_path / "plan.parquet")
    runner = CliRunner()
    compared = runner.invoke(app, ["compare", str(tmp_path / "plan.parquet")])
    assert compared.exit_code == 0, compared.output
    assert "Σ |interval - m·7 d" in compared.output and "Week by week" in compared.output
    png = tmp_path / "plan.png"
    assert runner.invoke(app, ["plot", str(tmp_path / "plan.parquet"), "--out", str(png)]).exit_code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = tmp_path / "report.html"
    assert runner.invoke(app, ["report", str(tmp_path / "plan.parquet"), "--out", str(page)]).exit_code == 0
    text = page.read_text()
    # self-contained: plotly.js inlined, no script or style loaded from anywhere
    assert "Plotly.newPlot" in text and "<script src" not in text and "<link" not in text
    assert "Plan beside the anneals actually flown" in text and "timeline sha256" in text
    assert runner.invoke(app, ["plot", str(tmp_path / "nope.parquet")]).exit_code == 2


def test_mean_with_a_minimum_gap_that_rules_out_an_end_pair():
    """Found by the brute-force property test: two windows, slews on days 3 (window 1), 7 and 8
    (window 2), a 5-day minimum gap. Only day 3 -> day 8 is allowed, so the end pair (3, 7) the
    mean's model considers must be left out, not crash the model; the optimum is |5 - 7| days."""
    frame = timeline(visit(3), visit(7), visit(8))
    options = dict(objective="mean", prune="none", min_gap_days=5.0, allow_missing=True)
    result = solve(frame, Calendar(start=START, count=2), **options)
    assert result.status == Status.OPTIMAL and result.value == 2 * DAY
    assert check(result.plan, frame, Calendar(start=START, count=2), **options, claimed=result.value) == []


def test_an_empty_pin_until_is_refused_not_ignored(tmp_path):
    """`--pin-until ""` is not a time: the pin plan must not be dropped silently."""
    plan = tmp_path / "plan.parquet"
    assert CliRunner().invoke(app, ["solve", "--out", str(plan)]).exit_code == 0
    result = CliRunner().invoke(
        app, ["solve", "--pin", str(plan), "--pin-until", "", "--out", str(tmp_path / "p.parquet")]
    )
    assert result.exit_code == 2 and "--pin-until" in result.output
    assert not (tmp_path / "p.parquet").exists()


def test_many_pins_resolve_as_one_at_a_time():
    """resolve_pins finds every pin's rows in one pass: where visit ids recur (a week apart here),
    pins with their time, and one without (the visit's only slew in its window), get the index a
    search per pin gives; the errors still name their pin."""
    from planner.problem.pins import resolve_pins
    from planner.problem.rules import load_rules

    days = [7 * k + d for k in range(6) for d in (0.5, 1.5, 2.5)]
    frame = timeline(*(visit(d, visit_id=f"1:{round(2 * (d % 7))}:1") for d in days))
    calendar = Calendar(start=START, count=6)
    rules = load_rules("seed")
    windows = window_slews(frame, calendar, rules)
    starts = frame["start"].dt.as_unit("s").astype("int64").to_numpy()
    ids = frame["visit_id"].tolist()
    pins, expected = [], {}
    for w, choice in zip(windows[:5], (0, 1, 2, 1, 0), strict=True):
        row = int(w.rows[choice])
        pins.append(Pin(w.window.anneal, ids[row], int(starts[row])))
        expected[w.window.anneal] = choice
    assert {ids[int(w.rows[0])] for w in windows} == {"1:1:1"}  # the same id in every window
    pins.append(Pin(6, "1:5:1"))  # no time: the recurrence inside window 6
    expected[6] = 2
    assert resolve_pins(pins, windows, frame, rules) == expected
    with pytest.raises(OptionError, match="Anneal 02 is pinned twice"):
        resolve_pins([*pins, Pin(2, "1:1:1")], windows, frame, rules)
    with pytest.raises(InfeasibleError, match=r"Anneal 03 is pinned to 1:1:1 at .*, which is outside its"):
        resolve_pins([Pin(3, "1:1:1", int(starts[int(windows[1].rows[0])]))], windows, frame, rules)
    with pytest.raises(OptionError, match="--fix: Anneal 04 is pinned to 1:9:1, a visit the timeline"):
        resolve_pins([*pins[:3], Pin(4, "1:9:1")], windows, frame, rules)


def test_checker_names_each_pin_the_plan_does_not_keep():
    """A plan of anneal 1 on 1:1:1 (day 1) and anneal 2 on 1:3:1 (day 8), checked with pins: those
    it keeps (with or without their time) pass; another visit, another time, or an anneal left
    out are each one `pin` violation naming the pin."""
    frame = timeline(
        visit(1, visit_id="1:1:1"), visit(2, visit_id="1:2:1"), visit(8, visit_id="1:3:1"), visit(9.5)
    )
    calendar = Calendar(start=START, count=2)
    made = solve(frame, calendar, pins=(Pin(1, "1:1:1"), Pin(2, "1:3:1")))
    assert made.plan["visit_id"].tolist() == ["1:1:1", "1:3:1"]
    kept = (Pin(1, "1:1:1", START + DAY), Pin(2, "1:3:1"))
    assert check(made.plan, frame, calendar, pins=kept) == []
    broken = (Pin(1, "1:2:1"), Pin(2, "1:3:1", START + 8 * DAY + 1))
    problems = check(made.plan, frame, calendar, pins=broken)
    assert [(p.anneal, p.rule, str(p)) for p in problems] == [
        (None, "pin", "Anneal 01 is pinned to 1:2:1, but the plan does not use that slew"),
        (
            None,
            "pin",
            "Anneal 02 is pinned to 1:3:1 at 2023-07-11T00:00:01Z, but the plan does not use that slew",
        ),
    ]
    missing = made.plan.assign(slew_time=[made.plan["slew_time"][0], pd.NaT])
    problems = check(missing, frame, calendar, pins=kept, allow_missing=True)
    assert ("pin", "Anneal 02 is pinned to 1:3:1, but the plan does not use that slew") in [
        (p.rule, str(p)) for p in problems
    ]
