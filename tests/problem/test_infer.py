"""Campaign programs ([[campaigns]] in a program file) and `programs infer`, which writes them from the
slew parallels a timeline flew. Hand-made timelines put visits at known days after Monday 2023-07-03
(tests/helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import InputError, OptionError
from planner.problem.calendar import DAY, parse_instant
from planner.problem.infer import infer_programs
from planner.problem.instance import Instance
from planner.problem.program import Campaign, Program, load_program
from planner.schedules.report import SLEW_PARALLEL, Attached
from planner.schedules.timeline import load_timeline, write_timeline
from tests.helpers import START, timeline, visit

runner = CliRunner()
HOUR = 3600

CAMPAIGNS = """
name = "lamp"
programs = [4461]
mode = "NIRSpec Internal Lamp"
avoid_instruments = ["NIRSpec"]
duration_minutes = 10

[[campaigns]]
start = "2023-07-10T06:00:00Z"
end = 2023-07-11T06:00:00Z
iterations = 3
min_separation_hours = 4.5

[[campaigns]]
start = "2023-08-07"
end = "2023-08-09"
"""


def _run(mode: str, visit_id: str) -> list[Attached]:
    return [Attached(SLEW_PARALLEL, mode, visit_id)]


def _flown(tmp_path: Path) -> Path:
    """Lamp runs of 4461 on days 1 and 1 + 5 h 10 min (one campaign of 2, separation 5.17 h: 5.1 h
    rounded down) and day 31 (30 days later: a campaign of 1), an anneal of 1520 on day 2, a flat of
    4472 on day 3; a pure parallel on day 4 is no slew parallel and a slew parallel of an unknown
    mode on day 5 is left out."""
    lamp = "NIRSpec Internal Lamp"
    frame = timeline(
        visit(1, "MIRI Imaging", parallels=_run(lamp, "4461:1:1")),
        visit(1 + (5 + 10 / 60) / 24, "MIRI Imaging", parallels=_run(lamp, "4461:2:1")),
        visit(31, parallels=_run(lamp, "4461:3:1")),
        visit(2, parallels=_run("MIRI Anneal", "1520:60:1")),
        visit(3, parallels=_run("NIRISS Internal Flat", "4472:7:1")),
        visit(4, parallels=[Attached("PARALLEL PURE", "NIRCam Imaging", "1234:1:1")]),
        visit(5, parallels=_run("FGS Internal Flat", "9999:1:1")),
    )
    write_timeline(frame, tmp_path / "t.parquet")
    return tmp_path / "t.parquet"


def test_infer_writes_one_campaign_program_per_flown_program(tmp_path):
    """Three files: the lamp's two campaigns (2 runs at least 5.1 h apart, windows from the first run
    - 24 h to the last + 24 h; then 1 run), the anneal's and the flat's one campaign of one run."""
    done = runner.invoke(app, ["programs", "infer", str(_flown(tmp_path)), "--out", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == [
        "miri-anneal-1520.toml",
        "niriss-internal-flat-4472.toml",
        "nirspec-internal-lamp-4461.toml",
    ]
    lamp = load_program(tmp_path / "out" / "nirspec-internal-lamp-4461.toml")
    assert (lamp.mode, lamp.avoid, lamp.program_ids, lamp.min_slew_minutes) == (
        "NIRSpec Internal Lamp",
        ("NIRSpec",),
        (4461,),
        0.0,
    )
    first, last = START + DAY, START + DAY + 5 * HOUR + 600
    assert lamp.campaigns == (
        Campaign(
            start=first - 24 * HOUR,
            end=last + 24 * HOUR,
            iterations=2,
            min_separation_hours=5.1,
            preferred=(first, last),  # the flown times
        ),
        Campaign(
            start=START + 31 * DAY - 24 * HOUR,
            end=START + 32 * DAY,
            iterations=1,
            preferred=(START + 31 * DAY,),
        ),
    )
    anneal = load_program(tmp_path / "out" / "miri-anneal-1520.toml")
    assert (anneal.avoid, anneal.duration_minutes, anneal.recovery_minutes, anneal.min_slew_minutes) == (
        ("MIRI",),
        25.0,
        35.0,
        27.5,
    )
    assert anneal.campaigns == (
        Campaign(start=START + DAY, end=START + 3 * DAY, iterations=1, preferred=(START + 2 * DAY,)),
    )
    flat = load_program(tmp_path / "out" / "niriss-internal-flat-4472.toml")
    assert (flat.avoid, [c.iterations for c in flat.campaigns]) == (("NIRISS",), [1])
    text = (tmp_path / "out" / "nirspec-internal-lamp-4461.toml").read_text()
    assert text.startswith("# Inferred by `anneal-planner programs infer` from ") and "[[campaigns]]" in text
    assert "3 NIRSpec Internal Lamp runs of program 4461" in done.output


def test_freedom_sets_the_windows_and_out_must_be_new_or_empty(tmp_path):
    source = _flown(tmp_path)
    done = runner.invoke(
        app, ["programs", "infer", str(source), "--freedom", "6", "--out", str(tmp_path / "o")]
    )
    assert done.exit_code == 0, done.output
    flat = load_program(tmp_path / "o" / "niriss-internal-flat-4472.toml")
    flown = START + 3 * DAY
    assert flat.campaigns == (Campaign(start=flown - 6 * HOUR, end=flown + 6 * HOUR, preferred=(flown,)),)
    for out, words in ((tmp_path / "o", "holds files"), (source, "is a file")):  # a used folder, a file
        refused = runner.invoke(app, ["programs", "infer", str(source), "--out", str(out)])
        assert refused.exit_code == 2 and words in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    refused = runner.invoke(
        app, ["programs", "infer", str(source), "--freedom", "0", "--out", str(tmp_path / "n")]
    )
    assert refused.exit_code == 2 and "--freedom" in refused.stderr and not (tmp_path / "n").exists()
    empty = tmp_path / "empty.parquet"
    write_timeline(timeline(visit(1)), empty)
    refused = runner.invoke(app, ["programs", "infer", str(empty), "--out", str(tmp_path / "e")])
    assert refused.exit_code == 2 and "no slew-parallel run" in refused.stderr


def test_a_campaign_program_round_trips(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(CAMPAIGNS)
    program = load_program(path)
    assert program.campaigns == (
        Campaign(parse_instant("2023-07-10T06:00:00Z"), parse_instant("2023-07-11T06:00:00Z"), 3, 4.5),
        Campaign(parse_instant("2023-08-07"), parse_instant("2023-08-09"), 1, 0.0),
    )
    record = program.to_dict()
    assert "observations" not in record and record["campaigns"][0]["iterations"] == 3
    assert Program.from_dict(record) == program
    weekly = load_program("anneals-cycle2")
    assert weekly.campaigns == () and "campaigns" not in weekly.to_dict()
    assert Program.from_dict(weekly.to_dict()) == weekly


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("iterations = 3", "iterations = 3\ncount = 3"), "campaigns[0].count: unknown key"),
        (('end = "2023-08-09"', 'end = "2023-08-06"'), "campaigns[1].end"),
        (('end = "2023-08-09"', 'end = "2023-08-07"'), "campaigns[1].end"),
        (("iterations = 3", "iterations = 0"), "campaigns[0].iterations"),
        (("iterations = 3", "iterations = 101"), "campaigns[0].iterations"),
        (("iterations = 3", 'iterations = "3"'), "campaigns[0].iterations"),
        (("min_separation_hours = 4.5", "min_separation_hours = 13"), "campaigns[0].min_separation_hours"),
        (("min_separation_hours = 4.5", "min_separation_hours = 25"), "campaigns[0].min_separation_hours"),
        (("min_separation_hours = 4.5", "min_separation_hours = -1"), "campaigns[0].min_separation_hours"),
        (('start = "2023-08-07"', "start = 5"), "campaigns[1].start"),
        (('start = "2023-08-07"', 'start = "soon"'), "campaigns[1].start"),
        (('start = "2023-08-07"', ""), "campaigns[1].start missing"),
        (("[[campaigns]]", "[observations]\nstart = 2023-07-03\ncount = 2\n\n[[campaigns]]"), "never both"),
    ],
)
def test_bad_campaign_files_are_refused_naming_the_key(tmp_path, change, key):
    path = tmp_path / "bad.toml"
    path.write_text(CAMPAIGNS.replace(*change, 1))
    with pytest.raises(InputError) as refused:
        load_program(path)
    assert str(path) in str(refused.value) and key in str(refused.value)


def test_campaigns_must_be_tables(tmp_path):
    head = CAMPAIGNS.split("[[campaigns]]")[0]
    for text in (head + "campaigns = []\n", head + "campaigns = 3\n", head):
        path = tmp_path / "bad.toml"
        path.write_text(text)
        with pytest.raises(InputError, match="campaigns"):
            load_program(path)


def test_a_campaign_program_is_co_planned_by_solve_and_refused_by_one_program_planners(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(CAMPAIGNS)
    source = _flown(tmp_path)
    out = tmp_path / "plan.parquet"
    done = runner.invoke(app, ["solve", "-t", str(source), "--program", str(path), "--out", str(out)])
    assert done.exit_code == 0 and out.exists(), done.output
    refused = runner.invoke(app, ["timeline", str(source), "--program", str(path)])
    assert refused.exit_code == 2 and "campaign programs are co-planned by 'solve'" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    with pytest.raises(OptionError, match="campaign program"):
        Instance(timeline=load_timeline(source), program=load_program(path))


def test_infer_on_cycle2_finds_the_flown_programs():
    """The shipped timeline's Cycle 2 weeks (2023-07-03 .. 2024-07-01): the programs docs/domain.md
    lists for Cycle 2 and the run counts measured here (51 anneals of 1520, 49 + 39 = 88 lamps of 4461
    and 4463, 48 flats of 4472: the domain's figures); the anneals one a campaign, 4463's bursts at
    most 3 runs ("exactly 3 per burst")."""
    frame = load_timeline()
    starts = frame["start"]
    frame = frame[
        (starts >= pd.Timestamp("2023-07-03", tz="UTC")) & (starts < pd.Timestamp("2024-07-01", tz="UTC"))
    ]
    found = {(p.program.program_ids[0], p.program.mode): len(p.runs) for p in infer_programs(frame)}
    assert found == {
        (1520, "MIRI Anneal"): 51,
        (4461, "NIRSpec Internal Lamp"): 49,
        (4463, "NIRSpec Internal Lamp"): 39,
        (4472, "NIRISS Internal Flat"): 48,
    }
    by_id = {p.program.program_ids[0]: p.program for p in infer_programs(frame)}
    assert [c.iterations for c in by_id[1520].campaigns] == [1] * 51
    assert max(c.iterations for c in by_id[4463].campaigns) == 3
    assert sum(c.iterations for c in by_id[4461].campaigns) == 49


def test_infer_from_until_keeps_the_runs_of_that_period(tmp_path):
    """--from day 1.5 --until day 10 (2023-07-04T12:00Z .. 2023-07-13) keeps the anneal (day 2) and
    the flat (day 3), not the lamp's runs (days 1 and 31); the files say the period. A date that is
    no date is refused in one line naming the option, exit 2, no folder written."""
    flown, out = _flown(tmp_path), tmp_path / "out"
    done = runner.invoke(
        app,
        [
            "programs",
            "infer",
            str(flown),
            "--from",
            "2023-07-04T12:00:00Z",
            "--until",
            "2023-07-13",
            "--out",
            str(out),
        ],
    )
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in out.iterdir()) == [
        "miri-anneal-1520.toml",
        "niriss-internal-flat-4472.toml",
    ]
    assert (
        "from 2023-07-04T12:00:00Z until 2023-07-13T00:00:00Z" in (out / "miri-anneal-1520.toml").read_text()
    )
    bad = runner.invoke(
        app, ["programs", "infer", str(flown), "--until", "2023-02-30", "--out", str(tmp_path / "b")]
    )
    assert bad.exit_code == 2 and "--until" in bad.output and not (tmp_path / "b").exists()
