"""Slew durations in the timeline (`slew_seconds`): the rule on a hand-made timeline, files of both
schema versions, and the real schedules."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from planner.io import write_parquet
from planner.schedules.timeline import (
    SCHEMA,
    load_timeline,
    read_schedules,
    slew_seconds,
    to_frame,
    write_timeline,
)
from tests.helpers import START, visit

HOUR = 3600


def _at(offset: int, source: str, duration: int | None = HOUR):
    """A visit `offset` seconds after START, from report `source`, lasting `duration` seconds."""
    made = visit(0, visit_id=f"1:{offset}:1")
    made.start, made.source, made.duration_s = START + offset, source, duration
    return made


# Each row: the visit, and the slew into it as the docstring of `slew_seconds` says it is.
CASES = [
    (_at(0, "r1"), None),  # the first visit: nothing before it
    (_at(2 * HOUR, "r1"), HOUR),  # the previous visit ends at 1 h
    (_at(int(2.5 * HOUR), "r1"), -HOUR // 2),  # starts half an hour before the previous one ends
    (_at(int(3.5 * HOUR) + 3 * 86400, "r1"), 3 * 86400),  # a 3-day idle inside one report: a slew
    (_at(int(9.5 * HOUR) + 3 * 86400, "r2", None), 5 * HOUR),  # 5 h between two reports: a slew
    (_at(int(12.5 * HOUR) + 3 * 86400, "r2"), None),  # after a visit without a duration
    (_at(int(13.5 * HOUR) + 5 * 86400 + 1, "r3", -60), None),  # reports r2, r3: 2 days + 1 s, a hole
    (_at(int(14.5 * HOUR) + 5 * 86400 + 1, "r3"), None),  # after a malformed (negative) duration
    (_at(int(15.5 * HOUR) + 6 * 86400 + 1, "r4"), 86400),  # reports r3, r4 exactly 24 h apart: a slew
    (_at(int(18.5 * HOUR) + 6 * 86400 + 2, "r4"), 2 * HOUR + 1),
]


def test_slew_seconds_follow_the_documented_rule():
    frame = to_frame([v for v, _ in CASES])
    expected = [slew for _, slew in CASES]
    assert frame["slew_seconds"].dtype == "Int64"
    assert [None if pd.isna(s) else int(s) for s in frame["slew_seconds"]] == expected
    # The same function on the frame (as load and perturb call it) gives the same column.
    assert slew_seconds(frame).tolist() == frame["slew_seconds"].tolist()


def test_rows_before_a_visit_decide_its_slew_not_the_rows_after():
    """Cutting the timeline after a row leaves the slews up to it; cutting before it makes the new
    first row unknown and keeps the rest."""
    full = to_frame([v for v, _ in CASES])["slew_seconds"].tolist()
    assert to_frame([v for v, _ in CASES[:4]])["slew_seconds"].tolist() == full[:4]
    tail = to_frame([v for v, _ in CASES[1:]])["slew_seconds"].tolist()
    assert pd.isna(tail[0]) and tail[1:] == full[2:]
    assert slew_seconds(to_frame([])).tolist() == []


def test_written_and_read_back_with_nulls(tmp_path):
    frame = to_frame([v for v, _ in CASES[:4]])  # (a file refuses a visit without a duration)
    path = tmp_path / "t.parquet"
    write_timeline(frame, path)
    back = load_timeline(path)
    assert back["slew_seconds"].dtype == "Int64"
    pd.testing.assert_series_equal(back["slew_seconds"], frame["slew_seconds"])
    # The column is derived from the rows, never trusted: a frame carrying slews of rows it no
    # longer has is written with its own rows' slews, and a file edited to say otherwise is read
    # with them too (eligibility and the checker must agree).
    frame.loc[1, "slew_seconds"] = 7
    write_timeline(frame, path)
    assert load_timeline(path)["slew_seconds"].tolist()[1] != 7
    table = pq.read_table(path)
    edited = table.set_column(
        table.schema.get_field_index("slew_seconds"), "slew_seconds", pa.array([7] * len(table), pa.int64())
    )
    pq.write_table(edited.replace_schema_metadata(table.schema.metadata), path)
    pd.testing.assert_series_equal(load_timeline(path)["slew_seconds"], back["slew_seconds"])


def test_a_version_1_timeline_gets_its_slews_computed_on_load(tmp_path):
    frame = to_frame([v for v, _ in CASES[:4]])
    old_schema = pa.schema([f for f in SCHEMA if f.name != "slew_seconds"])
    path = tmp_path / "v1.parquet"
    meta = {"kind": "timeline", "schema_version": 1, "sources": ["a.txt"]}
    write_parquet(frame.drop(columns="slew_seconds"), old_schema, meta, path)
    back = load_timeline(path)
    assert back["slew_seconds"].tolist() == [pd.NA, HOUR, -HOUR // 2, 3 * 86400]
    write_timeline(frame, tmp_path / "v2.parquet")  # the same as a version 2 file of the same rows
    pd.testing.assert_frame_equal(back, load_timeline(tmp_path / "v2.parquet"))


@pytest.mark.parametrize("version", [0, 3, "2", True])
def test_other_schema_versions_are_refused(tmp_path, version):
    from planner.errors import InputError

    path = tmp_path / "t.parquet"
    meta = {"kind": "timeline", "schema_version": version, "sources": []}
    write_parquet(to_frame([v for v, _ in CASES[:2]]), SCHEMA, meta, path)
    with pytest.raises(InputError, match="schema version"):
        load_timeline(path)


def test_json_reports_with_a_hole_between_them(tmp_path):
    """Two DJA files two days apart: the first visit of the second is unknown; inside each file and
    across a few-hour seam the slews are known."""

    def row(start: str, duration: str, file: str, visit_no: int) -> dict:
        return {
            "file": file, "visit_type": "PRIME TARGETED FIXED", "start_time": start, "duration": duration,
            "instrument": "NIRCam Imaging", "program": 1, "visit": visit_no, "observation": 1,
        }  # fmt: skip

    first = "20230703_report_20230629.json"
    second = "20230710_report_20230706.json"
    third = "20230717_report_20230713.json"
    rows = [
        row("2023-07-03T00:00:00Z", "00/01:00:00", first, 1),
        row("2023-07-03T01:30:00Z", "00/01:00:00", first, 2),
        row("2023-07-05T02:30:01Z", "00/02:00:00", second, 3),  # 2 days + 1 s after the end: a hole
        row("2023-07-05T05:00:01Z", "00/00:10:00", second, 4),
        row("2023-07-05T08:10:01Z", "00/01:00:00", third, 5),  # 3 h after the end: a slew
    ]
    path = tmp_path / "week.json"
    path.write_text(json.dumps(rows))
    frame = read_schedules([path])
    assert frame["slew_seconds"].tolist() == [pd.NA, 1800, pd.NA, 1800, 3 * HOUR]


def test_real_timeline_slews(shipped):
    slews = shipped["slew_seconds"]
    assert slews.dtype == "Int64" and pd.isna(slews.iloc[0])
    # Unknown slews are rare (the first visit and the holes in the Cycle 1 text reports), and every
    # unknown one after the first follows a change of report.
    unknown = slews.isna().to_numpy()
    assert 1 < unknown.sum() < 30
    sources = shipped["source"].to_numpy()
    assert all(sources[i] != sources[i - 1] for i in unknown.nonzero()[0] if i)
    # Overlaps happen (a reissue moved a visit) but are few; the typical slew is minutes.
    assert 0 < (slews < 0).sum() < 200
    assert 5 * 60 < slews.median() < 30 * 60


def test_timeline_command_counts_unknown_slews_and_overlaps(tmp_path):
    from typer.testing import CliRunner

    from planner.cli import app

    rows = [
        _at(0, "r1"),  # first: unknown
        _at(HOUR // 2, "r1"),  # overlap
        _at(2 * HOUR, "r1"),  # untargeted: not a slew, not counted
        _at(int(2.5 * HOUR), "r1"),  # overlap: 1 h visit above ends at 3 h
        _at(3 * 86400, "r2"),  # across a hole: unknown
        _at(3 * 86400 + 2 * HOUR, "r2"),  # a slew of 1 h
    ]
    rows[2].visit_type = "PRIME UNTARGETED"
    path = tmp_path / "t.parquet"
    write_timeline(to_frame(rows), path)
    runner = CliRunner()
    document = json.loads(runner.invoke(app, ["timeline", str(path), "--count", "1", "--json"]).stdout)
    assert document["slew_time"] == {"slews": 5, "unknown": 2, "overlaps": 2}
    result = runner.invoke(app, ["timeline", str(path), "--count", "1"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "5 slews into targeted visits: 2 of unknown duration" in result.output
    assert "2 overlaps" in result.output
