"""Pinned anneals: slews fixed in advance because the anneal has flown or is committed.

A pin (`Pin`) names an anneal and a visit id, and the slew time when it comes from an
earlier plan (a visit id can recur, so the time identifies the slew). Pins are resolved against the
new timeline; a pin whose slew is gone, or no longer eligible, is an error naming the anneal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner import limits
from planner.errors import InfeasibleError, OptionError
from planner.problem.calendar import to_seconds
from planner.problem.eligibility import WindowSlews, exclusion_reason

_VISIT_ID = re.compile(r"\d{1,9}:\d{1,9}:\d{1,9}")


@dataclass(frozen=True, slots=True)
class Pin:
    """An anneal fixed to a slew in advance (flown or committed): its visit id, and the slew time
    when it comes from an earlier plan (a visit id can recur, so the time identifies the slew).
    Resolved against the timeline by planner.problem.pins."""

    anneal: int
    visit_id: str
    time: int | None = None  # seconds since the epoch; None: the visit's only slew in the window

    def __post_init__(self) -> None:
        limits.number("pinned anneal", self.anneal, 1, limits.MAX_COUNT, integer=True)
        if not isinstance(self.visit_id, str) or not _VISIT_ID.fullmatch(self.visit_id):
            raise OptionError(f"pin visit id {self.visit_id!r}: expected program:visit:observation")
        if self.time is not None:
            limits.number("pin time", self.time, limits.FIRST_SECOND, limits.LAST_SECOND, integer=True)

    @classmethod
    def coerce(cls, value) -> Pin:
        """A Pin, or one from plan metadata (a dict of exactly its fields; untrusted)."""
        if isinstance(value, Pin):
            return value
        if not isinstance(value, dict) or not {"anneal", "visit_id"} <= set(value) <= {
            "anneal",
            "visit_id",
            "time",
        }:
            raise OptionError(f"pin {value!r}: expected a table of anneal, visit_id and time")
        return cls(**value)

    def describe(self) -> str:
        from planner.problem.calendar import format_instant

        at = f" at {format_instant(self.time)}" if self.time is not None else ""
        return f"Anneal {self.anneal:02d} is pinned to {self.visit_id}{at}"


# Bounded digit counts: an anneal or id of thousands of digits is refused here as text, before int()
# meets Python's int-to-str conversion limit.
_FIX = re.compile(r"^\s*(?:anneal\s*)?(\d{1,30})\s*=\s*(\d{1,30}:\d{1,30}:\d{1,30})\s*$", re.IGNORECASE)


def parse_fix(text: str) -> Pin:
    """`Anneal 05=1234:5:1` (or `5=1234:5:1`) -> Pin(5, '1234:5:1')."""
    match = _FIX.match(text)
    if match is None:
        raise OptionError(
            f"--fix {text!r}: expected 'Anneal NN=program:visit:observation', e.g. 'Anneal 05=1234:5:1'"
        )
    return Pin(int(match.group(1)), match.group(2))


def pins_from_plan(plan: pd.DataFrame, until: int) -> list[Pin]:
    """The placed anneals of an earlier plan whose slew is before `until` (seconds)."""
    placed = plan[plan["slew_time"].notna()]
    times = to_seconds(placed["slew_time"])
    return [
        Pin(int(anneal), str(visit), int(t))
        for anneal, visit, t in zip(placed["anneal"], placed["visit_id"], times, strict=True)
        if t < until
    ]


def resolve_pins(pins, windows: list[WindowSlews], timeline: pd.DataFrame, rules) -> dict[int, int]:
    """Anneal number -> index of the pinned slew among its window's eligible slews.

    One pass over the timeline for all pins: the rows of every pinned visit id are found at once
    (a hash look-up per visit), not by a scan of the timeline per pin, which made pins cost
    (pins x visits): most of a solve on long timelines."""
    pins = list(pins)
    by_anneal = {w.window.anneal: w for w in windows}
    starts = to_seconds(timeline["start"])
    rows_of = _rows_of(timeline["visit_id"], {pin.visit_id for pin in pins})
    none = np.zeros(0, dtype=np.intp)
    resolved: dict[int, int] = {}
    reasons = None
    for pin in pins:
        if pin.anneal in resolved:
            raise OptionError(f"Anneal {pin.anneal:02d} is pinned twice")
        window = by_anneal.get(pin.anneal)
        if window is None:
            raise OptionError(f"{pin.describe()}, but the calendar has anneals 1..{len(windows)}")
        rows = rows_of.get(pin.visit_id, none)
        if pin.time is not None:
            rows = rows[starts[rows] == pin.time]
        if len(rows) == 0 and pin.time is None:  # --fix naming a visit id that is not there: bad input
            raise OptionError(
                f"--fix: {pin.describe()}, a visit the timeline does not have; expected the id of one of "
                "its visits (program:visit:observation)"
            )
        if len(rows) == 0:  # a pinned plan's slew the schedule no longer has: no plan can keep it
            raise InfeasibleError(f"{pin.describe()}, a visit the timeline does not have")
        inside = rows[(starts[rows] >= window.window.start) & (starts[rows] < window.window.end)]
        if len(inside) == 0:
            raise InfeasibleError(f"{pin.describe()}, which is outside its window {window.window.describe()}")
        if len(inside) > 1:
            raise OptionError(
                f"{pin.describe()}, which has {len(inside)} slews in its window: pin from a plan instead"
            )
        index = np.flatnonzero(window.rows == inside[0])
        if len(index) == 0:
            if reasons is None:
                reasons = exclusion_reason(timeline, rules)
            rule = reasons[inside[0]]
            raise InfeasibleError(
                f"{pin.describe()}, a slew that is not eligible under rule set {rules.name!r}: "
                f"{rule}, {rules.describe(rule)}"
            )
        resolved[pin.anneal] = int(index[0])
    return resolved


def _rows_of(visit_ids: pd.Series, wanted: set[str]) -> dict[str, np.ndarray]:
    """Visit id -> its rows (ascending), for the ids of `wanted` that the timeline has: one hashed
    pass over the column (Series.isin), then a grouping of the few rows found."""
    if not wanted:
        return {}
    rows = np.flatnonzero(visit_ids.isin(wanted).to_numpy(dtype=bool))
    found: dict[str, list[int]] = {}
    for row, visit in zip(rows.tolist(), visit_ids.iloc[rows].tolist(), strict=True):
        found.setdefault(str(visit), []).append(row)
    return {visit: np.asarray(indexes, dtype=np.intp) for visit, indexes in found.items()}


def read_pin_plan(path: Path | str, until: str) -> list[Pin]:
    from planner.plans.result import read_plan
    from planner.problem.calendar import parse_instant

    plan, _ = read_plan(path)
    return pins_from_plan(plan, parse_instant(until, option="--pin-until"))
