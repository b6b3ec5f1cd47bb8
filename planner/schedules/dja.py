"""Parser for the DAWN JWST Archive's JSON form of the weekly reports.

A file holds a list of prime rows (attached rows nested under `parallels`); one file may hold one
report or many merged, so rows are grouped into reports by their `file` field.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from planner.errors import InputError, brief
from planner.errors import shown as show
from planner.schedules.report import (
    ATTACHED,
    Attached,
    Report,
    Visit,
    issue_from_report_name,
    issue_seconds,
    parse_duration,
    parse_time,
    read_report_file,
)


def read_json_reports(path: Path) -> list[Report]:
    """All reports in one JSON file. Raises InputError naming the file and the row index."""
    data = read_report_file(path, "a JSON list of schedule rows")
    try:
        rows = json.loads(data)
    except UnicodeDecodeError:
        raise InputError(path, "not valid JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as err:
        # the decoder's own words (never the file's text), or that the file stops mid-document (a
        # string left open runs to its end)
        ended = err.pos >= len(err.doc.rstrip()) or err.msg.startswith("Unterminated string")
        where = "the file ends mid-document: truncated?" if ended else f"column {err.colno}: {err.msg}"
        raise InputError(path, f"not valid JSON ({where})", line=err.lineno) from None
    except RecursionError:
        raise InputError(path, "JSON nested too deeply; expected a list of schedule rows") from None
    except ValueError as err:  # an integer of thousands of digits: Python's int conversion limit
        raise InputError(path, f"not valid JSON ({brief(err, 80)})") from None
    return parse_json_rows(rows, name=path.name, shown=str(path))


def parse_json_rows(rows: Any, *, name: str, shown: str | None = None) -> list[Report]:
    shown = shown or name
    if not isinstance(rows, list) or not rows:
        raise InputError(shown, "expected a non-empty JSON list of schedule rows (DJA format)")
    groups: dict[str, list[Visit]] = {}
    first_row: dict[str, int] = {}  # each report's first prime row, named when its issue date is refused
    last: Visit | None = None
    for i, row in enumerate(rows):
        where = f"row {i}"
        if not isinstance(row, dict):
            raise InputError(shown, f"expected an object, found {type(row).__name__}", index=where)
        if _text(row, "start_time", shown, where) == ATTACHED:
            if last is None:
                raise InputError(shown, "attached row with no prime row before it", index=where)
            last.parallels.append(_attached(row, shown, where))
            continue
        report = _text(row, "file", shown, where) or name
        last = _visit(row, report, shown, where)
        groups.setdefault(report, []).append(last)
        first_row.setdefault(report, i)

    reports = []
    for report_name, visits in groups.items():
        issue = issue_from_report_name(report_name)
        # `20230229` is no date: refused here, with the row, rather than when the history orders reports.
        if issue is not None and issue_seconds(issue) is None:
            row = first_row[report_name]
            named_by = "field 'file'" if _text(rows[row], "file", shown, "") else "file name"
            raise InputError(
                shown,
                f"{named_by} {report_name!r}: issue date {issue} is not a calendar date",
                index=f"row {row}",
            )
        if issue is None:
            # No date to order by: fall back on the first start, the last resort of docs/domain.md's rule.
            first = min(v.start for v in visits)
            issue = datetime.fromtimestamp(first, UTC).strftime("%Y%m%d")
        reports.append(Report(source=visits[0].source, issue_date=issue, revision=0, visits=visits))
    return reports


def _text(row: dict, key: str, shown: str, where: str) -> str:
    value = row.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError(shown, f"field {key!r} is {show(value)}; expected a string", index=where)
    try:  # JSON can spell a lone surrogate ("\\ud800"), which no UTF-8 file or terminal can hold
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(shown, f"field {key!r} holds a lone surrogate; expected text", index=where) from None
    return value.strip()


def _visit_id(row: dict, shown: str, where: str) -> str | None:
    parts = [row.get(k) for k in ("program", "visit", "observation")]
    if all(p is None for p in parts):
        return None
    if not all(isinstance(p, int) and not isinstance(p, bool) and 0 <= p < 10**9 for p in parts):
        raise InputError(
            shown,
            f"program/visit/observation are {show(parts)}; expected three whole numbers below 10^9",
            index=where,
        )
    return ":".join(map(str, parts))


def _attached(row: Any, shown: str, where: str) -> Attached:
    if not isinstance(row, dict):
        raise InputError(shown, f"expected an object, found {type(row).__name__}", index=where)
    return Attached(
        visit_type=_text(row, "visit_type", shown, where),
        instrument=_text(row, "instrument", shown, where) or None,
        visit_id=_visit_id(row, shown, where),
    )


def _visit(row: dict, source: str, shown: str, where: str) -> Visit:
    visit_id = _visit_id(row, shown, where)
    if visit_id is None:
        raise InputError(shown, "prime row without program/visit/observation", index=where)
    start_text = _text(row, "start_time", shown, where)
    start = parse_time(start_text)
    if start is None:
        raise InputError(shown, f"start_time {start_text!r}; expected YYYY-MM-DDTHH:MM:SSZ", index=where)
    duration_text = _text(row, "duration", shown, where)
    duration = parse_duration(duration_text)
    if duration is None:
        raise InputError(shown, f"duration {duration_text!r}; expected DD/HH:MM:SS", index=where)
    visit_type = _text(row, "visit_type", shown, where)
    if not visit_type:
        raise InputError(shown, "prime row without a visit_type", index=where)
    parallels = row.get("parallels") or []
    if not isinstance(parallels, list):
        raise InputError(shown, "field 'parallels' must be a list", index=where)
    return Visit(
        visit_id=visit_id,
        start=start,
        duration_s=duration,
        visit_type=visit_type,
        instrument=_text(row, "instrument", shown, where) or None,
        target=_text(row, "target", shown, where) or None,
        category=_text(row, "category", shown, where) or None,
        keywords=_text(row, "keywords", shown, where) or None,
        parallels=[_attached(p, shown, f"{where}, parallels[{j}]") for j, p in enumerate(parallels)],
        source=source,
    )
