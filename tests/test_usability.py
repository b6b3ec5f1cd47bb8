"""What a new user tripped on (issue 24): -h, the choices in --help, times in JSON, --fix naming an
unknown visit, replay's progress."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console
from typer.testing import CliRunner

from planner.cli import app
from planner.schedules.timeline import write_timeline
from tests.helpers import timeline, visit

runner = CliRunner()
COMMANDS = ["solve", "next", "replay", "check", "compare", "plot", "report", "ingest", "timeline",
            "destinations", "slews", "batch", "synth", "fetch", "diff", "export"]  # fmt: skip


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_dash_h_is_help_everywhere(command):
    done = runner.invoke(app, [*command, "-h"], prog_name="anneal-planner")
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("Usage: anneal-planner") and "-h, --help" in done.stdout


@pytest.mark.parametrize(
    ("command", "choices"),
    [
        ("solve", ["[regular|mean|minimax]", "[dp|none]", "[operations|seed|FILE]"]),
        ("next", ["[guarded|rollout|lookahead|greedy]", "[operations|seed|FILE]"]),
        ("replay", ["[guarded|rollout|lookahead|greedy]"]),
        ("check", ["[operations|seed|FILE]"]),
        ("fetch", ["[stsci|dja]"]),
    ],
)
def test_choice_options_show_their_choices(command, choices):
    text = runner.invoke(app, [command, "--help"]).stdout
    for shown in choices:
        assert shown in text, (command, shown)
    for option in ("--objective", "--prune", "--rules", "--policy", "--source"):
        assert not re.search(rf"{option} <str>", text), (command, option)


def test_every_time_in_compare_json_is_iso_utc(tmp_path):
    from planner.schedules.report import Attached

    flown = [Attached("PARALLEL SLEW CALIBRATION", "MIRI Anneal", "1520:60:1")]
    path = tmp_path / "t.parquet"
    write_timeline(timeline(visit(0), visit(7.2, parallels=flown), visit(14)), path)
    plan = tmp_path / "plan.parquet"
    assert runner.invoke(app, ["solve", "-t", str(path), "--count", "3", "--out", str(plan)]).exit_code == 0
    done = runner.invoke(app, ["compare", str(plan), "--json"])
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    assert document["weeks"][1]["executed"] == ["2023-07-10T04:48:00Z"]
    assert document["weeks"][0]["executed"] == []
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

    def times(value):
        if isinstance(value, dict):
            for inner in value.values():
                yield from times(inner)
        elif isinstance(value, list):
            for inner in value:
                yield from times(inner)
        elif isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}", value):
            yield value

    found = list(times(document))
    assert found and all(iso.match(t) for t in found), [t for t in found if not iso.match(t)]
    table = runner.invoke(app, ["compare", str(plan)])
    assert "2023-07-10 04:48" in table.stdout


def test_fix_naming_an_unknown_visit_is_bad_input(tmp_path):
    path = tmp_path / "t.parquet"
    write_timeline(timeline(visit(0), visit(7), visit(14)), path)
    done = runner.invoke(
        app,
        [
            "solve",
            "-t",
            str(path),
            "--count",
            "3",
            "--fix",
            "Anneal 02=1234:5:1",
            "--out",
            str(tmp_path / "p"),
        ],
    )
    assert done.exit_code == 2, done.output
    assert "--fix" in done.stderr and "1234:5:1" in done.stderr
    assert len([line for line in done.stderr.splitlines() if line.startswith("error:")]) == 1


def test_replay_reports_each_step_on_a_terminal(monkeypatch):
    from planner.online.outcome import run_replay
    from planner.online.policies import Greedy
    from planner.problem.program import load_program
    from planner.problem.rules import load_rules
    from planner.schedules.history import History
    from planner.schedules.timeline import DATA_DIR
    from planner.views import console as output

    raw = sorted((DATA_DIR / "raw" / "dja-json" / "cycle2").glob("202307*.json"))
    history = History.read(raw)
    calendar = load_program("anneals-cycle2").with_calendar(count=4).calendar
    heard: list[str] = []
    run_replay(history, calendar, Greedy(), load_rules(), compare=True, on_progress=heard.append)
    assert heard[0] == f"greedy: report 1 of {len(raw)}, {history.issues[0].name}"
    assert f"greedy: report {len(raw)} of {len(raw)}" in heard[len(raw) - 1]
    assert "solving the hindsight optimum" in heard
    terminal = io.StringIO()
    monkeypatch.setattr(output, "errors", Console(file=terminal, force_terminal=True))
    with output.progress("replaying") as show:
        show(heard[0])
    assert "replaying" in terminal.getvalue() or "report 1" in terminal.getvalue()


def _piped(args: list[str], columns: str | None) -> str:
    """The CLI as another program runs it: a fresh process, stdout on a pipe."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns:
        env["COLUMNS"] = columns
    done = subprocess.run([sys.executable, "-m", "planner", *args], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _column(text: str, title: str, header: str) -> tuple[int, str]:
    """The widest line of the table under `title`, and the column `header`'s cells joined."""
    lines = text.split(title, 1)[1].splitlines()
    rows = []
    for line in lines[1:]:
        if not line.startswith(("┃", "│", "┏", "┡", "└")):
            break
        rows.append(line)
    heads = [
        " ".join(cells)
        for cells in zip(*(r.split("┃")[1:-1] for r in rows if r.startswith("┃")), strict=True)
    ]
    index = next(i for i, h in enumerate(heads) if header in " ".join(h.split()))
    cells = " ".join(r.split("│")[index + 1] for r in rows if r.startswith("│"))
    return max(len(r) for r in rows), " ".join(cells.split())


@pytest.mark.parametrize("columns", ["80", None])
def test_destinations_and_timeline_fit_80_columns_and_keep_mode_names_whole(columns):
    names = [
        row["prime_mode"] for row in json.loads(_piped(["destinations", "--json"], None))["destinations"]
    ]
    text = _piped(["destinations"], columns)
    widest, cells = _column(text, "slew parallels flown on them", "destination prime mode")
    assert widest <= int(columns or 120)
    for name in names:  # wrapped between words, never inside one
        assert " ".join(name.split()) in cells, name
    widest, labels = _column(_piped(["timeline"], columns), "rule columns: visits each excluded)", "anneal")
    assert widest <= int(columns or 120) and "Anneal 01" in labels and "Anneal 53" in labels


def test_next_and_replay_fit_80_columns(tmp_path):
    from planner.schedules.timeline import DATA_DIR

    raw = sorted(str(p) for p in (DATA_DIR / "raw" / "dja-json" / "cycle2").glob("202307*.json"))
    week = tmp_path / "week.parquet"
    assert runner.invoke(app, ["ingest", *raw[:3], "--out", str(week)]).exit_code == 0
    flown = tmp_path / "flown.parquet"
    assert runner.invoke(app, ["ingest", raw[0], "--out", str(flown)]).exit_code == 0
    plan = str(tmp_path / "next.parquet")
    args = ["next", "--flown", str(flown), "--timeline", str(week), "--policy", "greedy", "--out", plan]
    planned = json.loads(_piped([*args, "--json"], None))["anneals"]
    narrow = _piped(args, "80")  # the optional columns (instrument among them) left out
    widest, visits = _column(narrow, "Next anneals (flown ones pinned)", "visit")
    assert widest <= 80 and all(row["visit_id"] in visits.split() for row in planned)
    widest, instruments = _column(_piped(args, None), "Next anneals (flown ones pinned)", "instrument")
    assert widest <= 120
    for row in planned:  # wrapped between words, never inside one
        assert " ".join(row["instrument"].split()) in instruments
    replayed = _piped(["replay", *raw, "--policy", "greedy", "--count", "4"], "80")
    widest, states = _column(replayed, "Replay, policy greedy", "state")
    assert (
        widest <= 80
        and states.split()
        and set(states.split()) <= {"flown", "planned", "missed", "unpublished"}
    )
    # what the width left out is named, in `next` and `replay` as in `timeline`; a column with
    # nothing in it (replans, where no anneal was decided twice) goes without a word
    for text in (narrow, replayed):
        said = " ".join(text.split())
        assert "columns left out for the terminal's width (--json has them): decided at, interval d" in said
        assert "replans" not in said
