"""Parser for STScI's fixed-column weekly report text (many reports may be pasted in one file).

Columns are found from each report's dash ruler, so a report whose columns moved still parses; a line
whose fields do not sit in those columns is an error naming the line, never a silent misread.

A file cut short must never parse to shortened rows. The invariants below hold for every line of the
real reports (data/raw/stsci-text, 9,200 rows in 96 reports) and are enforced:
- fields are padded with blanks to their ruler width, so a line whose last column (KEYWORDS) is empty
  ends exactly where the ruler run of its last non-empty field ends, or at the start of KEYWORDS;
- every row with a visit id has a PCS MODE; every row but a target line a VISIT TYPE; a prime row a
  start and duration; an attached or coordinated row an instrument; a target line only TARGET NAME
  and what follows it;
- every report is closed by one blank line (before the next title, and at the end of the file), and the
  file ends with a line end.
A cut inside a line breaks the last (or, without a line end, the file's end); a cut between lines leaves
the report unclosed; either is an error naming the line.
"""

from __future__ import annotations

import re
from pathlib import Path

from planner.errors import InputError
from planner.schedules.report import (
    ATTACHED,
    Attached,
    Report,
    Visit,
    issue_from_op_package,
    parse_duration,
    parse_time,
    read_report_file,
)

_REPORT_START = re.compile(r"^Visit Information for OP Package (\S+)\s*$")
_VISIT_ID = re.compile(r"^\d+:\d+:\d+$")

# Header text -> field name. The ruler gives where each column starts; the header says which is which.
COLUMNS = {
    "VISIT ID": "visit_id",
    "PCS MODE": "pcs_mode",
    "VISIT TYPE": "visit_type",
    "SCHEDULED START TIME": "start",
    "DURATION": "duration",
    "SCIENCE INSTRUMENT AND MODE": "instrument",
    "TARGET NAME": "target",
    "CATEGORY": "category",
    "KEYWORDS": "keywords",
}
_HEADER_HINT = "a column header starting 'VISIT ID'"


def read_text_reports(path: Path) -> list[Report]:
    """All reports in one text file, in file order. Raises InputError naming file and line."""
    return parse_text_reports(_read_text(path), name=path.name, shown=str(path))


def _read_text(path: Path) -> str:
    data = read_report_file(path, "STScI weekly report text")
    if b"\x00" in data:
        raise InputError(path, "binary content; expected STScI weekly report text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(path, "not UTF-8 text; expected STScI weekly report text", line=line) from None


def parse_text_reports(text: str, *, name: str, shown: str | None = None) -> list[Report]:
    """Parse report text. `name` labels the rows' source; `shown` is the file named in errors."""
    shown = shown or name
    # Lines end at "\n" only (str.splitlines would also split at form feeds and Unicode separators
    # inside a field, shortening it); a "\r" before it is a Windows line end.
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if text.endswith("\n"):
        lines.pop()
    if text and not text.endswith("\n"):
        raise InputError(
            shown,
            "the last line has no line end; expected complete reports (was the file cut short?)",
            line=len(lines),
        )
    reports: list[Report] = []
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        if not line.strip():
            continue
        match = _REPORT_START.match(line)
        if match is None:
            raise InputError(
                shown,
                "expected 'Visit Information for OP Package <id>' to open a report",
                line=number,
            )
        report, number = _parse_one(lines, number, match.group(1), name, shown)
        reports.append(report)
    if not reports:
        raise InputError(shown, "no report found; expected 'Visit Information for OP Package <id>'")
    return reports


def _parse_one(lines: list[str], number: int, package: str, name: str, shown: str) -> tuple[Report, int]:
    """Parse the report whose title was line `number` (1-based); return it and the next line index."""
    title_line = number
    issue = issue_from_op_package(package)
    if issue is None:
        raise InputError(
            shown,
            f"OP package id {package!r} is not YYDDDNNfRR (year, day of year, revision)",
            line=title_line,
        )
    while number < len(lines) and not lines[number].strip():
        number += 1
    if number >= len(lines) or not lines[number].startswith("VISIT ID"):
        raise InputError(shown, f"expected {_HEADER_HINT}", line=min(number + 1, len(lines)))
    header = lines[number]
    number += 1
    if number >= len(lines) or not lines[number].lstrip().startswith("-"):
        raise InputError(shown, "expected the dash ruler under the column header", line=number + 1)
    columns = _columns(header, lines[number], shown, number + 1)
    number += 1

    source = f"{name}#{package}"
    visits: list[Visit] = []
    while number < len(lines) and not _REPORT_START.match(lines[number]):
        line = lines[number]
        number += 1
        if line.strip():
            _parse_row(line, columns, visits, source, shown, number)
    if not visits:
        raise InputError(shown, f"report {package} has no prime visit rows", line=title_line)
    if lines[number - 1].strip():
        raise InputError(
            shown,
            f"report {package} is not closed by a blank line after its last row; every complete report "
            "ends with one (was the file cut short?)",
            line=number,
        )
    return Report(source=source, issue_date=issue[0], revision=issue[1], visits=visits), number


Column = tuple[str, int, int]  # field, start, ruler width


def _columns(header: str, ruler: str, shown: str, line: int) -> list[Column]:
    """(field, start, width) for each column, from the runs of dashes in the ruler."""
    runs = [(m.start(), m.end() - m.start()) for m in re.finditer(r"-+", ruler)]
    starts = [start for start, _ in runs]
    columns = []
    for i, (start, width) in enumerate(runs):
        end = starts[i + 1] if i + 1 < len(starts) else None
        title = header[start:end].strip()
        if title not in COLUMNS:
            raise InputError(
                shown,
                f"column at character {start} is titled {title!r}; expected one of " + ", ".join(COLUMNS),
                line=line - 1,
            )
        columns.append((COLUMNS[title], start, width))
    missing = set(COLUMNS.values()) - {field for field, _, _ in columns}
    if missing:
        raise InputError(shown, f"header lacks columns {sorted(missing)}", line=line - 1)
    return columns


def _split(line: str, columns: list[Column], shown: str, number: int) -> dict[str, str]:
    fields = {}
    for i, (field, start, _) in enumerate(columns):
        # Columns are separated by blanks: text running into a column start means a shifted line.
        if 0 < start <= len(line) - 1 and line[start - 1] != " " and line[start] != " ":
            raise InputError(
                shown,
                f"text runs across the start of column {field!r} (character {start}); "
                "expected fields aligned with the dash ruler",
                line=number,
            )
        end = columns[i + 1][1] if i + 1 < len(columns) else None
        text = line[start:end]
        if text.strip() and text[0] == " ":
            raise InputError(
                shown,
                f"column {field!r} text starts after character {start}; "
                "expected fields aligned with the dash ruler",
                line=number,
            )
        fields[field] = text.strip()
    _check_length(line, columns, fields, shown, number)
    return fields


def _check_length(line: str, columns: list[Column], fields: dict[str, str], shown: str, number: int) -> None:
    """A line whose last column (KEYWORDS) is empty ends where the ruler run of its last non-empty
    field ends, or padded to the start of the last column: a line cut inside a field is neither."""
    filled = [column for column in columns if fields[column[0]]]
    if not filled or filled[-1] == columns[-1]:
        return
    field, start, width = filled[-1]
    ends = {start + width, columns[-1][1]}
    if len(line) not in ends:
        raise InputError(
            shown,
            f"line is {len(line)} characters and ends in column {field!r}; expected it padded to "
            f"character {' or '.join(map(str, sorted(ends)))} as every complete row is "
            "(was the file cut short?)",
            line=number,
        )


def _parse_row(
    line: str,
    columns: list[Column],
    visits: list[Visit],
    source: str,
    shown: str,
    number: int,
) -> None:
    f = _split(line, columns, shown, number)
    if not f["visit_id"] and not f["visit_type"]:
        # A second target of the prime above (multi-target visits list one per line).
        before_target = ("pcs_mode", "start", "duration", "instrument")
        if not f["target"] or not visits or any(f[k] for k in before_target):
            raise InputError(shown, "expected a visit row, an attached row or a target line", line=number)
        prime = visits[-1]
        prime.target = f"{prime.target}, {f['target']}" if prime.target else f["target"]
        return
    if f["visit_id"] and not _VISIT_ID.match(f["visit_id"]):
        raise InputError(
            shown,
            f"visit id {f['visit_id']!r}; expected program:visit:observation like 3168:3:1",
            line=number,
        )
    if f["visit_id"] and not f["pcs_mode"]:
        raise InputError(shown, "row with a visit id but no PCS MODE; expected one", line=number)
    if not f["visit_type"]:
        raise InputError(shown, "row without a VISIT TYPE; expected one on every visit row", line=number)
    if f["start"] == ATTACHED or not f["visit_id"]:
        if not f["instrument"]:
            raise InputError(
                shown, "attached row without a SCIENCE INSTRUMENT AND MODE; expected one", line=number
            )
        # Attached rows (and coordinated parallels, which have no visit id) belong to the prime above.
        if not visits:
            raise InputError(shown, "attached row with no prime visit above it", line=number)
        visits[-1].parallels.append(Attached(f["visit_type"], f["instrument"] or None, f["visit_id"] or None))
        return
    start = parse_time(f["start"])
    if start is None:
        raise InputError(
            shown,
            f"start time {f['start']!r}; expected YYYY-MM-DDTHH:MM:SSZ or {ATTACHED}",
            line=number,
        )
    duration = parse_duration(f["duration"])
    if duration is None:
        raise InputError(shown, f"duration {f['duration']!r}; expected DD/HH:MM:SS", line=number)
    if not f["visit_type"]:
        raise InputError(shown, "prime visit without a visit type", line=number)
    visits.append(
        Visit(
            visit_id=f["visit_id"],
            start=start,
            duration_s=duration,
            visit_type=f["visit_type"],
            instrument=f["instrument"] or None,
            target=f["target"] or None,
            category=f["category"] or None,
            keywords=f["keywords"] or None,
            source=source,
        )
    )
