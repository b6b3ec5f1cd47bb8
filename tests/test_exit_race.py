"""A command that stops right after reading a Parquet file must exit as it says, not abort.

pyarrow's reader threads drop their last reference to the file's buffer after `read` returns.
While `planner.io.read_parquet` read the file into a Python bytes object, releasing that buffer
needed the GIL, and a command that ended at once (an error about what the file holds) was
finalising Python by then: the process aborted ("terminate called without an active
exception", exit 134) in about one run of seven under load. It now reads into Arrow's memory.
The race needs a real process exit, so the command runs in processes of its own, several at once
(contention is what opens the window)."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from typer.testing import CliRunner

from planner.cli import app

RUNS = 16


def test_an_error_right_after_a_parquet_read_exits_2_every_time(tmp_path):
    week = tmp_path / "week.parquet"
    reports = "data/raw/dja-json/cycle2/20230703_report_20230629.json"
    assert CliRunner().invoke(app, ["ingest", reports, "--out", str(week)]).exit_code == 0

    def replay(_: int) -> tuple[int, str]:  # a timeline where a report history is expected: exit 2
        command = [sys.executable, "-m", "planner", "replay", str(week)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        return done.returncode, done.stderr

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(replay, range(RUNS)))
    assert [code for code, _ in outcomes] == [2] * RUNS, [err for code, err in outcomes if code != 2][:1]
    assert all("terminate called" not in err and err.count("\n") == 1 for _, err in outcomes)
