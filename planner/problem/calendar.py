"""The anneal calendar: anneal k (1..count) may run in [start + (k-1)·target, ... + window)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from planner import limits
from planner.errors import OptionError

if TYPE_CHECKING:  # imported where used: the CLI imports this module, and `--help` needs no pandas
    import numpy as np
    import pandas as pd

DAY = 86_400
DEFAULT_START = "2023-07-03"  # the Monday that opens the first Cycle 2 weekly schedule


def parse_instant(text: str, *, option: str = "--start") -> int:
    """`2023-07-03` or `2023-07-03T12:00:00Z` (UTC) -> seconds since the epoch."""
    expected = "expected a UTC date or time such as 2023-07-03 or 2023-07-03T00:00:00Z"
    if not isinstance(text, str):
        raise OptionError(f"{option} {text!r}: {expected}")
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = int(moment.timestamp())
    except (ValueError, OverflowError):
        raise OptionError(f"{option} {text!r}: {expected}") from None
    if not limits.FIRST_SECOND <= seconds <= limits.LAST_SECOND:
        raise OptionError(f"{option} {text!r}: expected a time between 1970-01-01 and 2262-04-11 UTC")
    return seconds


def to_seconds(times: pd.Series) -> np.ndarray:
    """UTC timestamps -> int64 seconds since the epoch (the planner's one time unit)."""
    return times.dt.as_unit("s").astype("int64").to_numpy()


def to_timestamps(seconds) -> pd.DatetimeIndex:
    """Seconds since the epoch -> UTC timestamps at second resolution (for output only)."""
    import numpy as np
    import pandas as pd

    return pd.to_datetime(np.asarray(seconds, dtype=np.int64), unit="s", utc=True).as_unit("s")


def format_instant(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Window:
    anneal: int  # 1-based
    start: int  # seconds since the epoch, inclusive
    end: int  # exclusive

    @property
    def label(self) -> str:
        return f"Anneal {self.anneal:02d}"

    def describe(self) -> str:
        return f"{self.label} ({format_instant(self.start)[:10]} .. {format_instant(self.end)[:10]})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Calendar:
    """Where the anneals may go. Times are whole seconds; days may be fractional on input."""

    start: int = parse_instant(DEFAULT_START)
    count: int = 53
    window_days: float = 4.0
    target_days: float = 7.0

    def __post_init__(self) -> None:
        limits.number("start", self.start, limits.FIRST_SECOND, limits.LAST_SECOND, integer=True)
        limits.number("count", self.count, 1, limits.MAX_COUNT, integer=True)
        limits.number("window_days", self.window_days, 0, limits.MAX_DAYS, low_open=True)
        limits.number("target_days", self.target_days, 0, limits.MAX_DAYS, low_open=True)
        if self.window_seconds < 1:
            raise OptionError(f"window_days {self.window_days!r}: shorter than one second")
        if self.target_seconds < 1:
            raise OptionError(f"target_days {self.target_days!r}: shorter than one second")
        end = self.start + (self.count - 1) * self.target_seconds + self.window_seconds
        if end > limits.LAST_SECOND:
            raise OptionError(
                f"count {self.count} x target {self.target_days:g} days from {format_instant(self.start)}: "
                "the calendar would end after 2262-04-11, the last date a timestamp holds"
            )

    @classmethod
    def from_options(
        cls,
        start: str = DEFAULT_START,
        count: int = 53,
        window_days: float = 4.0,
        target_days: float = 7.0,
    ) -> Calendar:
        return cls(
            start=parse_instant(start),
            count=count,
            window_days=window_days,
            target_days=target_days,
        )

    @property
    def target_seconds(self) -> int:
        return round(self.target_days * DAY)

    @property
    def window_seconds(self) -> int:
        return round(self.window_days * DAY)

    @property
    def end(self) -> int:
        """Where the calendar's weeks end: `count` targets after its start (past the last window)."""
        return self.start + self.count * self.target_seconds

    @property
    def windows(self) -> list[Window]:
        return [
            Window(
                k,
                self.start + (k - 1) * self.target_seconds,
                self.start + (k - 1) * self.target_seconds + self.window_seconds,
            )
            for k in range(1, self.count + 1)
        ]

    def weeks_within(self, first: int, last: int) -> range:
        """Indexes j of the windows [start + j·target, + window) of the calendar's grid, extended
        both ways, that lie wholly within [first, last] (empty when none does)."""
        step = self.target_seconds
        return range(-((self.start - first) // step), (last - self.window_seconds - self.start) // step + 1)

    def week_phases(self, times: np.ndarray, grid: range) -> list[np.ndarray]:
        """For each grid index, the `times` (ascending seconds) inside its window, as seconds into it."""
        phases = []
        for j in grid:
            start = self.start + j * self.target_seconds
            lo, hi = times.searchsorted([start, start + self.window_seconds])
            phases.append(times[lo:hi] - start)
        return phases

    def to_dict(self) -> dict:
        return {
            "start": format_instant(self.start),
            "count": self.count,
            "window_days": self.window_days,
            "target_days": self.target_days,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Calendar:
        """From plan metadata (untrusted): exactly these four keys, each of its type and range."""
        if not isinstance(data, dict) or set(data) != {"start", "count", "window_days", "target_days"}:
            raise OptionError(
                f"calendar {data!r}: expected a table of start, count, window_days and target_days"
            )
        return cls.from_options(data["start"], data["count"], data["window_days"], data["target_days"])
