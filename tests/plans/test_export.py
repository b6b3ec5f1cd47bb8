"""`export PLAN --out x.csv | x.ics`: one row or event per placed anneal, its window and visit."""

from __future__ import annotations

import csv
import io

import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.schedules.report import Visit
from planner.schedules.timeline import write_timeline
from tests.helpers import START, timeline, visit

runner = CliRunner()


@pytest.fixture
def plan(tmp_path):
    """Anneals at days 0 and 7 (visits 9999:0:1, 9999:7000:1); week 3 has no slew: missed. The
    target of day 7 reads as a spreadsheet formula."""
    hostile = visit(7)
    hostile = Visit(**{**{f: getattr(hostile, f) for f in Visit.__slots__}, "target": "=HYPERLINK(1)"})
    path = tmp_path / "t.parquet"
    write_timeline(timeline(visit(0), hostile), path)
    out = tmp_path / "plan.parquet"
    done = runner.invoke(
        app, ["solve", "--timeline", str(path), "--count", "3", "--allow-missing", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    return out


def test_csv_has_one_row_per_placed_anneal(plan, tmp_path):
    out = tmp_path / "plan.csv"
    done = runner.invoke(app, ["export", str(plan), "--out", str(out)])
    assert done.exit_code == 0 and "2 anneals written" in done.stdout, done.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["anneal"] for r in rows] == ["1", "2"]
    assert rows[1]["visit_id"] == "9999:7000:1" and rows[1]["slew_time"] == "2023-07-10T00:00:00Z"
    assert (
        rows[1]["window_start"] == "2023-07-10T00:00:00Z" and rows[1]["window_end"] == "2023-07-14T00:00:00Z"
    )
    assert rows[1]["target"] == "'=HYPERLINK(1)"  # never run as a formula


def test_ics_has_one_event_per_placed_anneal(plan, tmp_path):
    from icalendar import Calendar

    out = tmp_path / "plan.ics"
    done = runner.invoke(app, ["export", str(plan), "--out", str(out)])
    assert done.exit_code == 0, done.output
    events = Calendar.from_ical(out.read_bytes()).walk("VEVENT")
    assert len(events) == 2
    second = events[1]
    # the anneal runs during the slew, which ends at the visit's scheduled start (day 7)
    assert second.decoded("dtend").timestamp() == START + 7 * 86_400
    assert (second.decoded("dtend") - second.decoded("dtstart")).total_seconds() == 25 * 60
    assert "9999:7000:1" in str(second["summary"])
    description = str(second["description"])
    assert (
        "window 2023-07-10T00:00:00Z .. 2023-07-14T00:00:00Z" in description and "9999:7000:1" in description
    )
    again = tmp_path / "again.ics"
    assert runner.invoke(app, ["export", str(plan), "--out", str(again)]).exit_code == 0
    uids = [str(e["uid"]) for e in Calendar.from_ical(again.read_bytes()).walk("VEVENT")]
    assert uids == [str(e["uid"]) for e in events] and len(set(uids)) == 2  # stable: re-import updates


def test_export_refuses_other_suffixes_and_non_plans(plan, tmp_path):
    done = runner.invoke(app, ["export", str(plan), "--out", str(tmp_path / "plan.xlsx")])
    assert done.exit_code == 2 and ".csv or .ics" in done.output
    assert len(done.output.strip().splitlines()) == 1 and not (tmp_path / "plan.xlsx").exists()
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"nothing")
    done = runner.invoke(app, ["export", str(bad), "--out", str(tmp_path / "x.csv")])
    assert done.exit_code == 2 and "bad.parquet" in done.output and not (tmp_path / "x.csv").exists()


def test_export_format_follows_the_suffix():
    from pathlib import Path

    from planner.errors import OptionError
    from planner.plans.export import export_format

    assert [export_format(Path(f"p{s}")) for s in (".csv", ".ICS")] == ["csv", "ics"]
    with pytest.raises(OptionError) as refused:
        export_format(Path("x/plan.xlsx"))
    wanted = "--out x/plan.xlsx: expected a .csv or .ics file name (the format follows the suffix)"
    assert str(refused.value) == wanted
