"""`ingest --as-of` and `--until`: a whole-cycle list cut to the schedule as published on a date,
and to what has flown by then, so that `next` can be run week by week on it with no hand work."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.io import read_metadata
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
    # as published on 15 July 2024 (the report of 12 July the last issued): 191 visits to 21 July
    assert len(written) == 191 and str(written["start"].max()) == "2024-07-21 20:27:33+00:00"
    assert read_metadata(week)["as_of"] == "2024-07-15T00:00:00Z" and "until" not in read_metadata(week)
    day = pd.Timestamp("2024-07-15", tz="UTC")
    assert written["start"].max() > day and len(written) < len(history.final())
    done, flown = ingest(tmp_path, "flown.parquet", "--as-of", "2024-07-15", "--until", "2024-07-15")
    assert done.exit_code == 0, done.output
    cut = load_timeline([flown])
    assert read_metadata(flown)["until"] == "2024-07-15T00:00:00Z"
    assert (cut["start"] < day).all()
    before = written[written["start"] < day]
    assert list(cut["visit_id"]) == list(before["visit_id"])
    assert list(cut["slew_seconds"].fillna(-1)) == list(before["slew_seconds"].fillna(-1))
    plan = tmp_path / "next.parquet"
    made = runner.invoke(app, ["next", "--flown", str(flown), "--timeline", str(week), "--out", str(plan)])
    assert made.exit_code == 0, made.output
    assert "planned" in made.output and plan.exists()


def test_until_alone_cuts_the_final_schedule_and_as_of_names_only_the_reports_issued(tmp_path):
    """--until alone keeps the final schedule's visits before it (the whole cycle's final
    timeline, cut). From a folder of weekly reports, --as-of 13 July 2023 names as its sources only
    the two reports issued by then, not the 53 the folder holds."""
    done, whole = ingest(tmp_path, "whole.parquet")
    assert done.exit_code == 0, done.output
    done, flown = ingest(tmp_path, "flown.parquet", "--until", "2024-08-01")
    assert done.exit_code == 0, done.output
    final, cut = load_timeline([whole]), load_timeline([flown])
    before = final[final["start"] < pd.Timestamp("2024-08-01", tz="UTC")]
    assert list(cut["visit_id"]) == list(before["visit_id"])
    week = tmp_path / "week.parquet"
    folder = "data/raw/dja-json/cycle2"
    done = runner.invoke(app, ["ingest", folder, "--as-of", "2023-07-13", "--out", str(week)])
    assert done.exit_code == 0, done.output
    names = [Path(source).name for source in read_metadata(week)["sources"]]
    assert names == ["20230703_report_20230629.json", "20230710_report_20230712.json"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--as-of", "2020-01-01"], "--as-of 2020-01-01T00:00:00Z: no report was issued by then; the first"),
        (["--until", "2020-01-01"], "--until 2020-01-01T00:00:00Z: no visit starts before it"),
        (["--as-of", "July"], "--as-of 'July': expected a UTC date or time"),
        (["--history", "--until", "2024-08-01"], "--history writes every report; --as-of and --until cut"),
        (
            ["--as-of", "2024-07-15", "--until", "2024-09-01"],
            "--until 2024-09-01T00:00:00Z is after --as-of 2024-07-15T00:00:00Z",
        ),
    ],
)
def test_a_date_with_nothing_to_keep_is_one_line_and_no_file(tmp_path, options, message):
    done, out = ingest(tmp_path, "out.parquet", *options)
    assert done.exit_code == 2, done.output
    text = " ".join(done.output.split())
    assert message in text and "Traceback" not in done.output
    assert not out.exists() and not list(tmp_path.iterdir())
