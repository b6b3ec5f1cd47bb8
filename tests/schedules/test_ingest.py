"""Ingest of the real weekly reports: both formats, the supersede rule, and bad input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import InputError
from planner.schedules.dja import parse_json_rows
from planner.schedules.text import parse_text_reports
from planner.schedules.timeline import DATA_DIR, load_timeline, read_schedules, write_timeline

RAW = DATA_DIR / "raw"
TEXT = RAW / "stsci-text" / "weekly_reports_2022-07-10_to_2024-03-04.txt"
JSON2 = RAW / "dja-json" / "cycle2"
REPORT = TEXT.read_text().split("Visit Information for OP Package ")[1]
ONE_REPORT = "Visit Information for OP Package " + REPORT  # the newest report in the text file
runner = CliRunner()


def _window(frame: pd.DataFrame, lo: str, hi: str) -> pd.DataFrame:
    inside = (frame["start"] >= pd.Timestamp(lo, tz="UTC")) & (frame["start"] < pd.Timestamp(hi, tz="UTC"))
    return frame[inside].drop(columns="source").reset_index(drop=True)


def test_text_and_json_agree_row_for_row():
    """docs/domain.md: from 2023-07-03 until 2024-02-29 both sources hold the same issues."""
    text = _window(read_schedules([TEXT]), "2023-07-03", "2024-02-29")
    json = _window(read_schedules([JSON2]), "2023-07-03", "2024-02-29")
    assert len(text) > 2000
    # The slews agree too (reports begin and end alike in both), except into the first visit: the
    # JSON of Cycle 2 begins there, the text holds the visit before it.
    assert pd.isna(json.loc[0, "slew_seconds"]) and text.loc[0, "slew_seconds"] >= 0
    json.loc[0, "slew_seconds"] = text.loc[0, "slew_seconds"]
    pd.testing.assert_frame_equal(text, json)


def test_shipped_timeline_covers_cycle2_and_is_rebuilt_identically(tmp_path, shipped):
    assert shipped["start"].min() <= pd.Timestamp("2023-07-03", tz="UTC")
    assert shipped["start"].max() >= pd.Timestamp("2024-07-07", tz="UTC")
    rebuilt = tmp_path / "t.parquet"
    write_timeline(read_schedules([RAW]), rebuilt)
    pd.testing.assert_frame_equal(load_timeline(rebuilt), shipped, check_like=False)


def test_timeline_rules_on_real_rows(shipped):
    anneal_slews = shipped[shipped["slew_parallel"] == "MIRI Anneal"]
    assert len(anneal_slews) > 50
    assert (anneal_slews["visit_type"] == "PRIME TARGETED FIXED").all()
    assert not anneal_slews["uses_miri"].any()  # docs/domain.md: never attached to a MIRI visit
    assert shipped["is_slew"].eq(shipped["visit_type"].str.startswith("PRIME TARGETED")).all()
    assert shipped["start"].is_monotonic_increasing


def test_recurring_visit_ids_are_kept(shipped):
    """A visit id can recur months apart; those are different rows, never deduplicated."""
    repeats = shipped.groupby("visit_id")["start"].agg(lambda s: s.max() - s.min())
    assert (repeats > pd.Timedelta(days=3)).sum() >= 50


def test_later_issue_supersedes_earlier_rows_within_its_span():
    """Two issues of one week: the revision (f02) replaces every row of f01 inside its span."""
    early = ONE_REPORT.replace(ONE_REPORT.split()[5], "2405608f01", 1)
    late_lines = early.replace("2405608f01", "2405608f02").splitlines()
    late = "\n".join(late_lines[:4] + late_lines[4:12]) + "\n\n"  # the revision keeps 8 rows, closed
    reports = parse_text_reports(early + "\n" + late, name="x.txt")
    from planner.schedules.timeline import supersede

    kept = supersede(reports)
    late_span = reports[1].span
    assert all(v.source.endswith("f02") for v in kept if late_span[0] <= v.start <= late_span[1])
    assert len(kept) == len(reports[0].visits) - sum(
        late_span[0] <= v.start <= late_span[1] for v in reports[0].visits
    ) + len(reports[1].visits)


def test_multi_target_and_attached_rows():
    visits = parse_text_reports(ONE_REPORT, name="x.txt")[0].visits
    multi = next(v for v in visits if v.visit_id == "2780:19:1")
    assert multi.target == "HD-32297, GAIA3289902892417327104"
    with_dark = next(v for v in visits if v.visit_id == "3843:2:1")
    assert [p.visit_type for p in with_dark.parallels] == ["PARALLEL DARK CALIBRATION"]


# -- bad input: exit code 2, one message naming file and line, no output file -------------------


def _lines():
    return ONE_REPORT.splitlines()


BAD_TEXT = {
    "shifted line": lambda ls: ls[:6] + [" " + ls[6]] + ls[7:],
    "truncated line": lambda ls: ls[:6] + [ls[6][:40]] + ls[7:],
    "bad time": lambda ls: ls[:6] + [ls[6].replace("2024-02-26T", "2024-02-99T")] + ls[7:],
    "bad duration": lambda ls: ls[:6] + [ls[6].replace("00/0", "0x/0", 1)] + ls[7:],
    "missing header": lambda ls: ls[:2] + ls[3:],
    "missing ruler": lambda ls: ls[:3] + ls[4:],
}


@pytest.mark.parametrize("case", BAD_TEXT)
def test_bad_text_is_one_clear_error(tmp_path, case):
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(BAD_TEXT[case](_lines())) + "\n")
    out = tmp_path / "t.parquet"
    result = runner.invoke(app, ["ingest", str(bad), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "bad.txt, line " in result.output and "expected" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() and not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02binary", "binary"),
        (b"PAR1\x15\x04\x15\x00", r"a Parquet file \(a timeline, plan or report history\); expected"),
        (b'{"a": 1}', "expected a non-empty JSON list"),
        (b'[{"visit_type": "PRIME TARGETED FIXED", "start_time": "yesterday"}]', "row 0"),
        (b"[1, 2]", "row 0"),
        (b"[not json", r"line 1: not valid JSON \(column 2: Expecting value\)"),
        (b'[{"a": 1,, }]', r"not valid JSON \(column 10: Expecting property name"),
        (b'[{"file": "2024', r"not valid JSON \(the file ends mid-document: truncated\?\)"),
        (b'[{"a": 1}, \n', r"line 2: not valid JSON \(the file ends mid-document"),
    ],
)
def test_bad_files(tmp_path, content, message):
    bad = tmp_path / ("bad.json" if content[:1] in b"[{" else "bad.txt")
    bad.write_bytes(content)
    with pytest.raises(InputError, match=message) as err:
        read_schedules([bad])
    assert str(bad) in str(err.value)


def test_folder_without_schedules(tmp_path):
    result = runner.invoke(app, ["ingest", str(tmp_path), "--out", str(tmp_path / "t.parquet")])
    assert result.exit_code == 2
    assert "no schedule files" in result.output


def test_unknown_visit_types_are_kept_and_counted(tmp_path):
    lines = _lines()
    lines[4] = lines[4].replace("PRIME TARGETED FIXED", "PRIME NEW KIND      ")
    path = tmp_path / "r.txt"
    path.write_text("\n".join(lines) + "\n")
    frame = read_schedules([path])
    assert "PRIME NEW KIND" in set(frame["visit_type"])
    result = runner.invoke(app, ["timeline", str(path)])
    assert result.exit_code == 0, result.output
    assert "unknown visit types, kept: PRIME NEW KIND (1)" in result.output


def test_ingest_cli_writes_a_timeline(tmp_path):
    out = tmp_path / "t.parquet"
    result = runner.invoke(app, ["ingest", str(JSON2 / "20230703_report_20230629.json"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = load_timeline(out)
    assert len(frame) == 90 and frame.attrs["sources"][0].endswith("20230703_report_20230629.json")


def test_timeline_cli_flags_empty_windows():
    """Cycle 1 windows (2022-07-04 start) have no schedule before 2022-07-10: week 1 is empty."""
    result = runner.invoke(app, ["timeline", "--start", "2022-07-04", "--count", "3"])
    assert result.exit_code == 0, result.output
    assert "1 windows have no eligible slew: Anneal 01" in result.output


def test_timeline_cli_calls_windows_after_its_last_visit_unpublished(tmp_path):
    """Cycle 3 as published by 15 July 2024 reaches 21 July: Anneals 04-52 start after its last
    visit. They are named unpublished, not empty; Anneals 01-03 hold eligible slews."""
    week = tmp_path / "week.parquet"
    cycle3 = "data/dja-merged/jwst-schedule-cycle3.json"
    assert runner.invoke(app, ["ingest", cycle3, "--as-of", "2024-07-15", "--out", str(week)]).exit_code == 0
    result = runner.invoke(app, ["timeline", str(week)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    last = "49 windows start after the timeline's last visit (2024-07-21 20:27): Anneals 04-52"
    assert last in said
    assert "have no eligible slew" not in said


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mangled_reports_parse_or_raise_our_error(data):
    """Random damage to a real report: the parser returns reports or raises InputError, nothing else."""
    lines = _lines()[:30]
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["cut", "shift", "drop", "noise", "dup"]))
        line = lines[i]
        if action == "cut":
            lines[i] = line[: data.draw(st.integers(0, max(len(line), 1)))]
        elif action == "shift":
            lines[i] = " " * data.draw(st.integers(1, 3)) + line
        elif action == "drop":
            del lines[i]
        elif action == "noise":
            pos = data.draw(st.integers(0, max(len(line), 1)))
            lines[i] = line[:pos] + data.draw(st.text(max_size=5)) + line[pos:]
        else:
            lines.insert(i, line)
        if not lines:
            break
    try:
        reports = parse_text_reports("\n".join(lines), name="m.txt")
    except InputError as err:
        assert "m.txt" in str(err)
    else:
        assert all(r.visits for r in reports)


def test_read_schedules_api_accepts_mixed_sources():
    frame = read_schedules([TEXT, JSON2 / "20240226_report_20240228.json"])
    assert isinstance(frame, pd.DataFrame) and len(frame) > 6000
    json_rows = read_schedules([JSON2 / "20240226_report_20240228.json"])
    span = frame["start"].between(json_rows["start"].min(), json_rows["start"].max())
    # The JSON is the later issue of that week: it replaces the text's rows within its span.
    assert set(frame.loc[span, "source"]) == {"20240226_report_20240228.txt"}
    assert span.sum() == len(json_rows)
    assert Path(frame.attrs["sources"][0]).name == TEXT.name


@pytest.mark.parametrize("name", ["big.txt", "big.json"])
def test_a_report_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch, name):
    """Both readers share the size and empty checks (planner.schedules.report.read_report_file)."""
    import planner.schedules.report

    monkeypatch.setattr(planner.schedules.report, "MAX_REPORT_BYTES", 1_000_000)
    big = tmp_path / name
    big.write_bytes(b" " * 1_000_001)
    with pytest.raises(InputError, match=r"over 1 MB; expected"):
        read_schedules([big])
    big.write_bytes(b" \n\t")
    with pytest.raises(InputError, match=r"the file is empty; expected"):
        read_schedules([big])


@pytest.mark.parametrize("file_field", [None, "20230703_report_20230231.txt"])
def test_a_json_report_named_by_a_date_no_calendar_has_is_an_input_error(file_field):
    """The report's name comes from the row's `file` field or, without one, the file's name: either
    way an issue date such as 20230231 is refused naming the file and the row, on one line."""
    row = {
        "visit_type": "PRIME TARGETED FIXED", "start_time": "2023-07-03T00:00:00Z",
        "duration": "00/01:00:00", "program": 1, "visit": 1, "observation": 1,
    }  # fmt: skip
    if file_field is not None:
        row["file"] = file_field
    with pytest.raises(InputError) as caught:
        parse_json_rows([row], name="20230101_report_20230231.json")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("20230101_report_20230231.json, row 0: ")
    assert "20230231 is not a calendar date" in message
