"""What the commands print: one JSON document with --json, the version, shell completion, the quiet
solve, plain output width when piped, and the same Σ and worst deviation from solve, check and
compare for one plan (a plan with a missing anneal, where measuring against 7 days would differ)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.problem.calendar import DAY
from planner.schedules.timeline import write_timeline
from tests.helpers import timeline, visit

runner = CliRunner()


@pytest.fixture
def gap_timeline(tmp_path):
    """Week 2 has no slew: anneals at days 0, 14.5 and 21.2 are the only plan (allow_missing).
    Intervals 14.5 d against 2·7 and 6.7 d against 7: Σ = 0.5 + 0.3 = 0.8 d = 69120 s, worst 12 h."""
    path = tmp_path / "gap.parquet"
    write_timeline(timeline(visit(0), visit(14.5), visit(21.2)), path)
    return path


def _solve(tmp_path, gap_timeline, *extra):
    plan = tmp_path / "plan.parquet"
    args = ["solve", "--timeline", str(gap_timeline), "--count", "4", "--allow-missing", "--out", str(plan)]
    return plan, runner.invoke(app, args + list(extra))


def test_solve_check_compare_print_the_same_sum_and_worst_deviation(tmp_path, gap_timeline):
    plan, solved = _solve(tmp_path, gap_timeline, "--json")
    assert solved.exit_code == 0, solved.output
    documents = {"solve": json.loads(solved.stdout)}
    for command in ("check", "compare"):
        result = runner.invoke(app, [command, str(plan), "--json"])
        assert result.exit_code == 0, result.output
        documents[command] = json.loads(result.stdout)

    expected = (round(0.8 * DAY), 12.0)
    solve_doc = documents["solve"]
    assert solve_doc["objective"]["value"] == expected[0] and solve_doc["missing"] == [2]
    assert (
        solve_doc["statistics"]["sum_abs_deviation_s"],
        solve_doc["statistics"]["largest_deviation_hours"],
    ) == pytest.approx(expected)
    check = documents["check"]
    assert check["valid"]
    assert (check["sum_abs_deviation_s"], check["largest_deviation_hours"]) == pytest.approx(expected)
    plan_row = documents["compare"]["summary"]["plan"]
    # integers stay integers in JSON (53, not 53.0)
    assert type(plan_row["anneals"]) is int and type(plan_row["sum_abs_deviation_s"]) is int
    assert (plan_row["sum_abs_deviation_s"], plan_row["largest_deviation_hours"]) == pytest.approx(expected)

    # The same numbers in the words people read.
    text = {
        "solve": _solve(tmp_path, gap_timeline)[1].stdout,
        "check": runner.invoke(app, ["check", str(plan)]).stdout,
        "compare": runner.invoke(app, ["compare", str(plan)]).stdout,
    }
    assert "regular = 69120 s" in text["solve"] and "largest deviation from 7 d: 12.00 h" in text["solve"]
    assert "= 69120 s (0.800 d); worst deviation 12.00 h" in text["check"]
    assert re.search(r"Σ \|interval - m·7 d\|\s*│ 69120 s \(0\.800 d\)", text["compare"])
    assert re.search(r"worst deviation from m·7 d\s*│ 12\.00 h", text["compare"])


def test_json_is_the_only_thing_on_stdout(tmp_path, gap_timeline, shipped):
    plan, solved = _solve(tmp_path, gap_timeline, "--json")
    document = json.loads(solved.stdout)  # the whole of stdout parses as one document
    assert document["out"] == str(plan) and len(document["plan"]) == 4
    rows = {row["anneal"]: row for row in document["plan"]}
    assert rows[2]["slew_time"] is None and rows[3]["slew_time"] == "2023-07-17T12:00:00Z"
    assert rows[3]["deviation_hours"] == 12.0 and rows[1]["interval_days"] is None  # NaN -> null
    assert solved.stderr == ""  # no progress line when stderr is not a terminal

    summary = runner.invoke(app, ["timeline", str(gap_timeline), "--count", "4", "--json"])
    document = json.loads(summary.stdout)
    # 4 visits: the three and the helpers' lead visit, a day before the first (tests.helpers.timeline)
    assert document["visits"] == 4 and [w["eligible"] for w in document["windows"]] == [1, 0, 1, 1]
    assert document["first"] == "2023-07-02T00:00:00Z"  # the lead visit's start

    compared = json.loads(runner.invoke(app, ["compare", str(plan), "--json"]).stdout)
    assert compared["summary"]["executed"]["anneals"] == 0 and len(compared["weeks"]) == 4


def test_check_json_lists_violations_and_exits_1(tmp_path, gap_timeline):
    plan, _ = _solve(tmp_path, gap_timeline)
    busier = tmp_path / "busier.parquet"
    write_timeline(timeline(visit(0), visit(7.2), visit(14.5), visit(21.2)), busier)
    result = runner.invoke(app, ["check", str(plan), "--timeline", str(busier), "--json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["valid"] is False
    assert document["violations"] == [
        "Anneal 02: left out although the slew into 9999:7200:1 at 2023-07-10T04:48:00Z is eligible"
    ]


def test_quiet_solve_prints_one_line(tmp_path, gap_timeline):
    _, result = _solve(tmp_path, gap_timeline, "--quiet")
    assert result.exit_code == 0
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("OPTIMAL: 3/4 anneals placed")
    assert "plan written to" in result.stdout and "┃" not in result.stdout


def test_version():
    import planner

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"anneal-planner {planner.__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", planner.__version__)


def test_shell_completion_is_installable(monkeypatch):
    # typer detects the user's shell from the process tree when shellingham is installed, and then
    # --show-completion takes no value; a test run has no shell among its parents when its shell
    # has exited (nohup, a CI runner), so it names the shell with typer's own switch for tests.
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    result = runner.invoke(app, ["--show-completion", "bash"], prog_name="anneal-planner")
    assert result.exit_code == 0, (result.output, result.exception)
    assert "complete" in result.stdout and "_ANNEAL_PLANNER_COMPLETE" in result.stdout


def _piped(args: list[str], columns: str | None) -> str:
    """The CLI as another program runs it: a fresh process with stdout on a pipe."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns:
        env["COLUMNS"] = columns
    done = subprocess.run(
        [sys.executable, "-m", "planner", *args], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout


def test_piped_output_respects_columns_and_never_cuts_instruments(tmp_path, shipped):
    from tests.helpers import solve

    result = solve(shipped)
    result.to_parquet(tmp_path / "plan.parquet")
    narrow = _piped(["solve", "--table", "--out", str(tmp_path / "again.parquet")], "80")
    table = [line for line in narrow.splitlines() if line.startswith(("┃", "│", "┏", "└"))]
    assert table and max(len(line) for line in table) <= 80
    wide = _piped(["solve", "--table", "--out", str(tmp_path / "again.parquet")], None)
    assert max(len(line) for line in wide.splitlines() if line.startswith("│")) > 80  # 120 by default
    # Every instrument of the plan is printed whole (wrapped in its cell when narrow, never cut).
    for text in (narrow, wide):
        cells = " ".join(line.split("│")[4].strip() for line in text.splitlines() if line.startswith("│"))
        for instrument in set(result.plan["instrument"].dropna()):  # unserved windows have none
            assert " ".join(instrument.split()) in " ".join(cells.split()), instrument


def test_progress_shows_stages_and_bound_on_a_terminal_only(monkeypatch, shipped):
    import io

    from rich.console import Console

    from planner.views import console as output
    from tests.helpers import solve

    lines: list[str] = []
    result = solve(shipped, on_progress=lines.append)
    assert lines[0].startswith("stage regular: solving")
    # each improving solution reports the value and CP-SAT's bound; the last one is the optimum
    best = [line for line in lines if line.startswith("stage regular: best")]
    assert best and best[-1] == f"stage regular: best {result.value:,} s, bound {result.value:,} s"

    terminal = io.StringIO()
    monkeypatch.setattr(output, "errors", Console(file=terminal, force_terminal=True))
    with output.progress("solving") as show:
        show("stage regular: best 1 s, bound 1 s")
    assert "solving" in terminal.getvalue() or "bound" in terminal.getvalue()
    piped = io.StringIO()
    monkeypatch.setattr(output, "errors", Console(file=piped, force_terminal=False))
    with output.progress("solving") as show:
        show("anything")
    assert piped.getvalue() == ""
