"""`ingest --as-of` and `--until`: a whole-cycle list cut to the schedule as published on a date,
and to what has flown by then, so that `next` can be run week by week on it with no hand work."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.problem.calendar import parse_instant
from planner.schedules.history import History
from planner.schedules.timeline import load_timeline

runner = CliRunner()
CYCLE3 = Path("data/dja-merged/jwst-schedule-cycle3.json")


def ingest(tmp_path: Path, name: str, *options: str):
    out = tmp_path / name
    return runner.invoke(app, ["ingest", str(CYCLE3), *options, "--out", str(out)]), out


def test_as_of_is_the_schedule_replay_knows_then_and_until_what_has_flown(tmp_path):
    """As of 15 July 2024 the timeline is the one known after the last report issued by then (as
    `replay` rebuilds it), which reaches past the date; cut --until the same date it keeps exactly
    the visits that started before it, each with the slew it had. `next` on the two plans the
    windows published after the flown one, no hand work."""
    history = History.read([CYCLE3])
    moment = parse_instant("2024-07-15")
    order = max(i.order for i in history.issues if i.issued <= moment)
    done, week = ingest(tmp_path, "week.parquet", "--as-of", "2024-07-15")
    assert done.exit_code == 0, done.output
    written = load_timeline([week])
    expected = history.known_after(order)
    assert list(written["visit_id"]) == list(expected["visit_id"])
    day = pd.Timestamp("2024-07-15", tz="UTC")
    assert written["start"].max() > day and len(written) < len(history.final())
    done, flown = ingest(tmp_path, "flown.parquet", "--as-of", "2024-07-15", "--until", "2024-07-15")
    assert done.exit_code == 0, done.output
    cut = load_timeline([flown])
    assert (cut["start"] < day).all()
    before = written[written["start"] < day]
    assert list(cut["visit_id"]) == list(before["visit_id"])
    assert list(cut["slew_seconds"].fillna(-1)) == list(before["slew_seconds"].fillna(-1))
    plan = tmp_path / "next.parquet"
    made = runner.invoke(app, ["next", "--flown", str(flown), "--timeline", str(week), "--out", str(plan)])
    assert made.exit_code == 0, made.output
    assert "planned" in made.output and plan.exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--as-of", "2020-01-01"], "--as-of 2020-01-01T00:00:00Z: no report was issued by then; the first"),
        (["--until", "2020-01-01"], "--until 2020-01-01T00:00:00Z: no visit starts before it"),
        (["--as-of", "July"], "--as-of 'July': expected a UTC date or time"),
        (["--history", "--until", "2024-08-01"], "--history writes every report; --as-of and --until cut"),
    ],
)
def test_a_date_with_nothing_to_keep_is_one_line_and_no_file(tmp_path, options, message):
    done, out = ingest(tmp_path, "out.parquet", *options)
    assert done.exit_code == 2, done.output
    text = " ".join(done.output.split())
    assert message in text and "Traceback" not in done.output
    assert not out.exists() and not list(tmp_path.iterdir())
