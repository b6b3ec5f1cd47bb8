"""Programs as data: program files, the shipped programs, which one a command plans, and what a plan
records. Hand-made timelines put visits at known days after Monday 2023-07-03 (tests/helpers.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import InputError, OptionError
from planner.plans.checker import check_plan
from planner.problem.calendar import format_instant
from planner.problem.instance import Instance
from planner.problem.program import Program, load_program, pick_program, shipped_names
from planner.problem.rules import load_rules
from planner.schedules.report import Attached
from planner.schedules.timeline import write_timeline
from planner.solver.solve import solve as run
from tests.helpers import timeline, visit

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]

LAMP = """
name = "lamp"
programs = [4461]
mode = "NIRSpec Internal Lamp"
avoid_instruments = ["NIRSpec"]
duration_minutes = 10
recovery_minutes = 0

[observations]
start = 2023-07-03
count = 2
window_days = 4
target_days = 7
"""


def test_the_shipped_programs_hold_each_cycles_calendar():
    """docs/domain.md, 'Cycle calendars': the Monday that opens each cycle, and its window count."""
    expected = {
        "anneals-cycle1": ("2022-07-11", 51),
        "anneals-cycle2": ("2023-07-03", 53),
        "anneals-cycle3": ("2024-07-01", 52),
        "anneals-cycle4": ("2025-06-30", 52),
        "anneals-cycle5": ("2026-06-29", 52),
        "seed-4485": ("2023-07-03", 53),
    }
    assert shipped_names() == sorted(expected)
    for name, (start, count) in expected.items():
        program = load_program(name)
        assert (format_instant(program.calendar.start)[:10], program.calendar.count) == (start, count)
        assert (program.mode, program.avoid, program.recovery_minutes) == ("MIRI Anneal", ("MIRI",), 35.0)
    assert load_program("anneals-cycle3").program_ids == (1520,)
    assert load_program("seed-4485").program_ids == (4485,)


def test_a_program_round_trips_through_its_record():
    program = load_program("anneals-cycle4").with_calendar(count=3, objective="minimax")
    assert Program.from_dict(program.to_dict()) == program


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown key 'colour'"),
        ({"programs": ["x"]}, "programs = ['x']"),
        ({"mode": "MIRI Aneal"}, "closest: MIRI Anneal"),
        ({"avoid_instruments": ["NIRSPEC", "Nircom"]}, "closest: NIRCam"),
        ({"duration_minutes": -1}, "duration_minutes -1"),
        ({"observations": {"start": "2023-07-03", "count": 0}}, "count 0"),
        ({"observations": {"start": "2023-07-03", "count": 2, "objective": "best"}}, "objective = 'best'"),
        ({"observations": {"count": 2}}, "observations.start missing"),
    ],
)
def test_a_bad_program_is_refused_naming_the_key(change, message):
    data = load_program("seed-4485").to_dict() | change
    with pytest.raises(OptionError, match=None) as refused:
        Program.from_dict(data, "p.toml")
    assert str(refused.value).startswith("p.toml") and message in str(refused.value)


def test_a_program_file_is_read_and_a_bad_one_names_the_file(tmp_path):
    good = tmp_path / "lamp.toml"
    good.write_text(LAMP)
    program = load_program(good)
    assert (program.mode, program.avoid, program.calendar.count) == ("NIRSpec Internal Lamp", ("NIRSpec",), 2)
    bad = tmp_path / "bad.toml"
    bad.write_text(LAMP.replace('mode = "NIRSpec Internal Lamp"', 'mode = "NIRSpec Lamp"'))
    with pytest.raises(InputError) as refused:
        load_program(bad)
    assert str(bad) in str(refused.value) and "NIRSpec Internal Lamp" in str(refused.value)
    with pytest.raises(OptionError, match="anneals-cycle2"):
        load_program("anneals-cycle")  # a near miss of a shipped name


def test_pick_program_by_most_visits_or_by_the_last_published():
    """Visits in the last week of Cycle 2 and one in Cycle 3: most visits says Cycle 2, the latest
    Cycle 3; a timeline before Cycle 1 covers no shipped cycle and names --program."""
    cycle3 = load_program("anneals-cycle3").calendar.start
    starts = [cycle3 - 3 * 86_400, cycle3 - 2 * 86_400, cycle3 + 3_600]
    assert pick_program(starts)[0].name == "anneals-cycle2"
    program, line = pick_program(starts, latest=True)
    assert program.name == "anneals-cycle3" and "--program" in line
    with pytest.raises(OptionError, match="--program"):
        pick_program([0, 86_400])


def test_a_lamp_program_avoids_its_own_instrument_and_is_checked_under_its_rules():
    """A NIRSpec lamp may fly on a MIRI slew but not a NIRSpec one, and a MIRI anneal on the slew
    blocks it (a slew carries one slew parallel): its rules are named after NIRSpec."""
    program = load_program("seed-4485").with_calendar(count=2)
    lamp = Program.from_dict(
        {
            "name": "lamp",
            "mode": "NIRSpec Internal Lamp",
            "avoid_instruments": ["NIRSpec"],
            "observations": program.calendar.to_dict(),
        }
    )
    anneal = Attached("PARALLEL SLEW CALIBRATION", "MIRI Anneal", "1520:60:1")
    frame = timeline(
        visit(0.5, instrument="NIRSpec IFU Spectroscopy"),
        visit(1, instrument="MIRI Imaging"),
        visit(7.5, instrument="NIRCam Imaging", parallels=[anneal]),
        visit(8, instrument="NIRCam Imaging"),
    )
    rules = load_rules("seed", lamp)
    assert rules.rule_names() == ["no-slew", "to-nirspec", "carries-slew-parallel"]
    planned = Instance(timeline=frame, program=lamp, rules=rules)
    result = run(planned)
    assert result.plan["instrument"].tolist() == ["MIRI Imaging", "NIRCam Imaging"]
    assert result.program["mode"] == "NIRSpec Internal Lamp"
    moved = result.plan.copy()
    moved.loc[0, ["visit_id", "slew_time", "instrument"]] = [  # row 0 of frame is the lead visit
        frame.loc[1, "visit_id"],
        frame.loc[1, "start"],
        "NIRSpec IFU Spectroscopy",
    ]
    (violation,) = check_plan(moved, planned)[:1]
    assert (violation.anneal, violation.rule) == (1, "to-nirspec")


def test_solve_picks_the_timelines_cycle_and_check_rederives_the_program(tmp_path):
    frame = timeline(visit(0.5), visit(7.5), visit(14.5))
    write_timeline(frame, tmp_path / "t.parquet")
    out = tmp_path / "p.parquet"
    done = runner.invoke(app, ["solve", "-t", str(tmp_path / "t.parquet"), "--count", "3", "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "program anneals-cycle2" in done.stderr and "--program to choose another" in done.stderr
    meta = json.loads(pq.read_schema(out).metadata[b"anneal_planner"])
    assert meta["schema_version"] == 2 and meta["program"]["name"] == "anneals-cycle2"
    assert meta["program"]["observations"]["count"] == 3  # the calendar solved, --count included
    assert runner.invoke(app, ["check", str(out)]).exit_code == 0
    # a program file by path; the one line of a bad one names it
    bad = tmp_path / "bad.toml"
    bad.write_text(LAMP.replace("count = 2", "count = 'two'"))
    refused = runner.invoke(app, ["solve", "-t", str(tmp_path / "t.parquet"), "--program", str(bad)])
    assert refused.exit_code == 2 and str(bad) in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_a_timeline_of_no_known_cycle_names_program(tmp_path):
    write_timeline(timeline(visit(-12_000)), tmp_path / "t.parquet")  # a visit in 1990
    refused = runner.invoke(app, ["solve", "-t", str(tmp_path / "t.parquet")])
    assert refused.exit_code == 2 and "--program" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_replay_and_next_on_cycle3_reports_plan_cycle3(tmp_path):
    """The shipped Cycle 3 reports (its first two weeks) plan Cycle 3's calendar without any
    calendar option: the windows from 2024-07-01, of which 52 are unpublished, not missed."""
    reports = ROOT / "data" / "raw" / "dja-json" / "cycle3"
    replayed = runner.invoke(app, ["replay", str(reports), "--policy", "greedy", "--json"])
    assert replayed.exit_code == 0, replayed.output
    assert json.loads(replayed.stdout)["windows"] == 52
    out = tmp_path / "n.parquet"
    args = ["next", "--flown", str(reports), "--timeline", str(reports), "-o", str(out)]
    weekly = runner.invoke(app, args)
    assert weekly.exit_code == 0, weekly.output
    assert "program anneals-cycle3" in weekly.stderr
    meta = json.loads(pq.read_schema(out).metadata[b"anneal_planner"])
    assert meta["program"]["name"] == "anneals-cycle3"
    assert meta["calendar"]["start"] == "2024-07-01T00:00:00Z"
    assert "cannot be served" not in weekly.stdout or "0 cannot be served" in weekly.stdout


@pytest.mark.parametrize("key", ["mode", "avoid_instruments"])
def test_a_program_must_say_what_flies_and_what_it_avoids(tmp_path, key):
    """No silent MIRI default: a lamp program without its mode or avoided instruments is refused."""
    lines = [line for line in LAMP.splitlines() if not line.startswith(key)]
    path = tmp_path / "lamp.toml"
    path.write_text("\n".join(lines))
    with pytest.raises(InputError, match=f"{key} missing"):
        load_program(path)


@pytest.mark.parametrize(
    "command",
    [["timeline"], ["replay", "data/raw/dja-json/cycle3"], ["next", "--flown", "data/raw/dja-json"]],
)
def test_a_one_program_command_refuses_two_programs_and_a_folder(command, tmp_path):
    """typer keeps the last of repeated options: a second --program must not pass unnoticed."""
    from planner.schedules.timeline import DATA_DIR

    args = [a.replace("data/", f"{DATA_DIR}/", 1) for a in command]
    twice = CliRunner().invoke(app, [*args, "--program", "anneals-cycle3", "--program", "anneals-cycle2"])
    assert twice.exit_code == 2 and "--program given 2 times" in twice.stderr
    folder = CliRunner().invoke(app, [*args, "--program", str(tmp_path)])
    assert folder.exit_code == 2 and "a folder; 'solve' co-plans a folder" in folder.stderr


def test_a_misspelled_program_name_suggests_the_nearest_and_lists_them_once():
    """`anneals-cylce4` is one swap from `anneals-cycle4`: the line suggests it, then lists every
    shipped program once; a name like none of them gets the list alone."""
    with pytest.raises(OptionError) as typo:
        load_program("anneals-cylce4")
    said = str(typo.value)
    assert "not a shipped program; did you mean anneals-cycle4? expected one of" in said
    assert said.count("anneals-cycle1") == 1 and said.endswith("or a program .toml file")
    with pytest.raises(OptionError) as unlike:
        load_program("zzz")
    assert "did you mean" not in str(unlike.value) and all(n in str(unlike.value) for n in shipped_names())
