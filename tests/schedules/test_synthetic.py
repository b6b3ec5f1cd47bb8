"""Synthetic timelines: reproducible, realistic enough, and solved to the DP optimum."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import OptionError
from planner.plans.result import Status
from planner.problem.calendar import Calendar, parse_instant, to_seconds
from planner.problem.eligibility import exclusion_reason, window_slews
from planner.problem.infer import infer_programs
from planner.problem.rules import load_rules
from planner.schedules.report import SLEW_PARALLEL
from planner.schedules.synthetic import CALIBRATIONS, Calibration, synthetic_calibrations, synthetic_timeline
from planner.schedules.timeline import load_timeline
from planner.solver import oracle
from planner.solver.chain import Chain
from tests.helpers import solve


def test_same_seed_same_timeline():
    a, b = synthetic_timeline(60, 20, 0.2, seed=3), synthetic_timeline(60, 20, 0.2, seed=3)
    assert a.equals(b)
    assert not a.equals(synthetic_timeline(60, 20, 0.2, seed=4))
    share = a["uses_miri"].mean()
    assert 0.1 < share < 0.3 and 15 < len(a) / 60 < 25


def test_synthetic_year_is_the_exact_lexicographic_optimum():
    """Every objective on a synthetic year: proven, and the DP's plan of the whole order
    (objective, regular, earliest slews)."""
    frame = synthetic_timeline(371, 25, 0.2, seed=0)
    chain = Chain.from_windows(window_slews(frame, Calendar()), 7 * 86_400)
    for objective in ("mean", "regular", "minimax"):
        result = solve(frame, Calendar(), objective=objective)
        assert result.status == Status.OPTIMAL and result.checked
        optimum = oracle.lexicographic(chain, objective)
        assert optimum is not None
        assert [stage.value for stage in result.stages][-2:] == [optimum.regular, optimum.lateness]
        assert result.value == optimum.value


def test_synth_cli(tmp_path):
    out = tmp_path / "s.parquet"
    result = CliRunner().invoke(app, ["synth", "--days", "30", "--seed", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(load_timeline(out)) > 500
    bad = CliRunner().invoke(app, ["synth", "--miri-fraction", "1.5", "--out", str(out)])
    assert bad.exit_code == 2 and "0 <= fraction < 1" in bad.output


# Slew-parallel calibrations (issue 22): five programs flown as the real schedules fly them.
TWO_MONTHS = 61


def _flown_rows(frame) -> dict[tuple[str, int], list[int]]:
    """Rows carrying each (mode, program id)'s slew parallels."""
    rows: dict[tuple[str, int], list[int]] = {}
    for i, attached in enumerate(frame["parallels"]):
        for row in attached:
            assert row["visit_type"] == SLEW_PARALLEL
            rows.setdefault((row["instrument"], int(row["visit_id"].split(":")[0])), []).append(i)
    return rows


def test_five_calibration_programs_are_inferred_from_two_months():
    """`programs infer` finds the five programs of CALIBRATIONS, each in its modes and cadence: weekly
    anneals (campaigns of one), the monthly lamps and the flats in campaigns of several runs, the
    frequent lamp every 4-7 days."""
    frame = synthetic_timeline(TWO_MONTHS, 25, 0.2, seed=5, calibrations=True)
    inferred = {(one.program.mode, one.program.program_ids[0]): one for one in infer_programs(frame)}
    assert set(inferred) == {(c.mode, c.program_id) for c in CALIBRATIONS}
    by_id = {key[1]: one.program for key, one in inferred.items()}
    anneals = by_id[8520].campaigns
    assert 8 <= len(anneals) <= 9 and {c.iterations for c in anneals} == {1}
    for monthly in (8461, 8463):
        assert 2 <= len(by_id[monthly].campaigns) <= 3
        assert max(c.iterations for c in by_id[monthly].campaigns) >= 3
    assert max(c.iterations for c in by_id[8472].campaigns) >= 3
    assert 8 <= len(by_id[8648].campaigns) <= 16
    assert by_id[8472].avoid == ("NIRISS",) and by_id[8461].avoid == ("NIRSpec",)


def test_every_slew_parallel_sits_alone_on_a_slew_its_program_allows():
    """One slew parallel per slew at most, each on a slew its own program's rules (operations) allow;
    the timeline holds NIRSpec, NIRISS and time-series visits, so the avoid rules exclude slews."""
    start = parse_instant("2023-07-03")
    frame = synthetic_timeline(TWO_MONTHS, 25, 0.2, seed=7, calibrations=True)
    assert frame["parallels"].map(len).max() == 1
    assert (frame["slew_parallel"].notna() == (frame["parallels"].map(len) == 1)).all()
    flown = _flown_rows(frame)
    assert set(flown) == {(c.mode, c.program_id) for c in CALIBRATIONS}
    for spec in CALIBRATIONS:
        rules = load_rules("operations", spec.program(start, TWO_MONTHS))
        reason = exclusion_reason(frame, rules)
        assert (reason[flown[(spec.mode, spec.program_id)]] == "").all(), spec
        assert (reason == rules.to_avoided).any() and (reason == "no-time-series").any()
    modes = set(frame["instrument"])
    assert {"NIRSpec IFU Spectroscopy", "NIRISS Imaging", "NIRSpec Bright Object Time Series"} <= modes
    anneals = frame.loc[frame["slew_parallel"] == "MIRI Anneal"]
    assert (anneals["slew_seconds"] >= 27.5 * 60).all() and not anneals["uses_miri"].any()


def test_calibrations_are_deterministic_and_leave_the_visits_alone():
    """Same seed, same timeline; another seed, other runs. The visits (times, durations, MIRI use,
    slews) are those of the timeline without calibrations, which has no program's slew parallel."""
    a = synthetic_timeline(TWO_MONTHS, 20, 0.2, seed=3, calibrations=True)
    assert a.equals(synthetic_timeline(TWO_MONTHS, 20, 0.2, seed=3, calibrations=True))
    assert not a["parallels"].equals(synthetic_timeline(TWO_MONTHS, 20, 0.2, seed=4, calibrations=True))
    plain = synthetic_timeline(TWO_MONTHS, 20, 0.2, seed=3)
    same = ["visit_id", "start", "duration_s", "visit_type", "uses_miri", "is_slew", "slew_seconds"]
    assert a[same].equals(plain[same])
    assert set(plain["instrument"]) == {"MIRI Imaging", "NIRCam Imaging"}
    assert infer_programs(plain) == []  # its lamps belong to no program
    assert a.attrs["sources"] != plain.attrs["sources"]


def test_synthetic_calibrations_gives_the_timeline_and_its_programs():
    """The anneals as a weekly series whose windows hold the flown anneals, one each; the other four
    as inferred campaigns (freedom 24 h) whose windows hold their flown runs."""
    frame, programs = synthetic_calibrations(TWO_MONTHS, seed=2)
    assert [p.program_ids[0] for p in programs] == [c.program_id for c in CALIBRATIONS]
    weekly, *campaigns = programs
    assert not weekly.campaigns and weekly.mode == "MIRI Anneal" and weekly.min_slew_minutes == 27.5
    assert weekly.calendar.start == parse_instant("2023-07-03") and weekly.calendar.count == 9
    starts = to_seconds(frame["start"])
    flown = _flown_rows(frame)
    anneals = starts[flown[("MIRI Anneal", 8520)]]
    windows = [(w.start, w.end) for w in weekly.calendar.windows]
    inside = [sum(lo <= t < hi for t in anneals) for lo, hi in windows]
    assert inside == [1] * len(windows)  # every window served once (seed 2 leaves none empty)
    for program in campaigns:
        assert program.campaigns and program.mode != "MIRI Anneal"
        runs = starts[flown[(program.mode, program.program_ids[0])]]
        assert sum(c.iterations for c in program.campaigns) == len(runs)
        for c in program.campaigns:
            assert c.end - c.start >= 48 * 3600
            assert sum(c.start <= t <= c.end for t in runs) >= c.iterations


def test_calibrations_of_ones_own():
    """A list of Calibration specs flies those programs only; a spec list that repeats a program, or
    is not one, is refused."""
    lamp = Calibration(
        program_id=4461,
        mode="NIRSpec Internal Lamp",
        period_days=(10, 10),
        runs=(2, 2),
        separation_hours=(2, 3),
    )
    frame = synthetic_timeline(40, 25, 0.2, seed=1, calibrations=[lamp])
    (only,) = infer_programs(frame)
    assert only.program.program_ids == (4461,) and len(only.program.campaigns) == 4
    assert all(c.iterations == 2 and c.min_separation_hours >= 2 for c in only.program.campaigns)
    with pytest.raises(OptionError, match="repeats"):
        synthetic_timeline(10, 25, calibrations=[lamp, lamp])
    with pytest.raises(OptionError, match="Calibration specs"):
        synthetic_timeline(10, 25, calibrations=["lamp"])


def test_synth_cli_calibrations_then_programs_infer(tmp_path):
    out = tmp_path / "s.parquet"
    done = CliRunner().invoke(app, ["synth", "--days", "40", "--calibrations", "--out", str(out)])
    assert done.exit_code == 0, done.output
    inferred = CliRunner().invoke(app, ["programs", "infer", str(out), "--out", str(tmp_path / "p")])
    assert inferred.exit_code == 0, inferred.output
    assert len(list((tmp_path / "p").glob("*.toml"))) == 5


def test_the_weekly_program_flies_only_in_its_own_calendar_windows():
    """30 days hold four whole 4-day windows every 7 days (the fifth, from day 28, would end after
    the timeline): the synthetic anneals fly one per window of the program returned, none outside."""
    from planner.plans.compare import flown_in_calendar
    from planner.schedules.synthetic import synthetic_calibrations

    frame, programs = synthetic_calibrations(30)
    weekly = next(p for p in programs if not p.campaigns)
    _, times = flown_in_calendar(frame, weekly.calendar)
    assert int((frame["slew_parallel"] == weekly.mode).sum()) == len(times) == weekly.calendar.count == 4
    assert all(any(w.start <= t < w.end for w in weekly.calendar.windows) for t in times)
