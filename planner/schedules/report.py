"""One weekly STScI report as parsed from either format, and the order in which reports were issued."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from planner.errors import InputError
from planner.limits import FIRST_SECOND, LAST_SECOND

_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$")
_DURATION = re.compile(r"^(\d{2,})/(\d{2}):(\d{2}):(\d{2})$")
_REPORT_NAME = re.compile(r"(\d{8})_report_(\d{8})")
_OP_PACKAGE = re.compile(r"^(\d{2})(\d{3})(\d{2})f(\d{2})$")

ATTACHED = "^ATTACHED TO PRIME^"
MAX_DURATION_DAYS = 366  # a scheduled visit longer than a year is damage, not a schedule
MAX_REPORT_BYTES = 100_000_000  # one file of reports; the shipped text of 96 reports is 1.9 MB
SLEW_PARALLEL = "PARALLEL SLEW CALIBRATION"
SLEW_VISIT_TYPES = frozenset({"PRIME TARGETED FIXED", "PRIME TARGETED MOVING"})
# The slew-parallel modes the published schedules of Cycles 1-5 hold (docs/domain.md).
KNOWN_SLEW_PARALLEL_MODES = ("MIRI Anneal", "NIRSpec Internal Lamp", "NIRISS Internal Flat")


def read_report_file(path: Path, expected: str) -> bytes:
    """A report file's bytes, refused (InputError naming the file and `expected`) when it is over
    MAX_REPORT_BYTES, holds nothing but blanks, or is one of the planner's Parquet files (a
    timeline or plan given where reports are read): both readers' first checks."""
    if path.stat().st_size > MAX_REPORT_BYTES:
        raise InputError(path, f"over {MAX_REPORT_BYTES // 1_000_000} MB; expected {expected}")
    data = path.read_bytes()
    if not data.strip():
        raise InputError(path, f"the file is empty; expected {expected}")
    if data.startswith(b"PAR1"):
        raise InputError(
            path, "a Parquet file (a timeline, plan or report history); expected STScI or DJA JSON reports"
        )
    return data


def parse_time(text: str) -> int | None:
    """`2023-11-08T08:30:38Z` -> seconds since the Unix epoch, or None if it is not that shape."""
    match = _TIME.match(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = map(int, match.groups())
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:  # e.g. month 13
        return None
    seconds = int(moment.timestamp())
    # Times a timeline can hold (pandas timestamps: 1677 .. 2262); JWST's schedules are well inside.
    return seconds if FIRST_SECOND <= seconds <= LAST_SECOND else None


def parse_duration(text: str) -> int | None:
    """`DD/HH:MM:SS` -> seconds, or None if it is not that shape."""
    match = _DURATION.match(text)
    if match is None:
        return None
    days, hours, minutes, seconds = map(int, match.groups())
    if days > MAX_DURATION_DAYS or hours > 23 or minutes > 59 or seconds > 59:
        return None
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


@dataclass(slots=True)
class Attached:
    """A row attached to a prime visit: a parallel of some kind (visit_id None for coordinated)."""

    visit_type: str
    instrument: str | None
    visit_id: str | None


@dataclass(slots=True)
class Visit:
    """A prime visit with the rows attached to it; times in integer seconds since the epoch."""

    visit_id: str
    start: int
    duration_s: int
    visit_type: str
    instrument: str | None
    target: str | None
    category: str | None
    keywords: str | None
    parallels: list[Attached] = field(default_factory=list)
    source: str = ""


@dataclass(slots=True)
class Report:
    """One weekly report. `issue_key` sorts reports in the order STScI issued them."""

    source: str
    issue_date: str  # YYYYMMDD
    revision: int
    visits: list[Visit]

    @property
    def span(self) -> tuple[int, int]:
        starts = [v.start for v in self.visits]
        return min(starts), max(starts)

    @property
    def issue_key(self) -> tuple[str, int, int]:
        # Ties (same date and revision) fall back to the first scheduled start: docs/domain.md's rule.
        return (self.issue_date, self.revision, self.span[0])


def issue_from_report_name(name: str) -> str | None:
    """`20240226_report_20240228.txt` -> `20240228` (the issue date), None if the name has no date."""
    match = _REPORT_NAME.search(name)
    return match.group(2) if match else None


def issue_seconds(date: str) -> int | None:
    """`20240228` -> its midnight UTC in seconds since the Unix epoch, None if it is no calendar date
    (`20230231`)."""
    try:
        return int(datetime.strptime(date, "%Y%m%d").replace(tzinfo=UTC).timestamp())
    except ValueError:
        return None


def issue_from_op_package(package: str) -> tuple[str, int] | None:
    """`2405608f01` -> (`20240225`, 1): year and day of year, then the revision suffix."""
    match = _OP_PACKAGE.match(package)
    if match is None:
        return None
    year, day, _, revision = (int(g) for g in match.groups())
    if not 1 <= day <= 366:
        return None
    date = datetime.strptime(f"{2000 + year}{day:03d}", "%Y%j")
    return date.strftime("%Y%m%d"), revision
