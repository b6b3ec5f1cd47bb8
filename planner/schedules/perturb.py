"""Seeded variants of a timeline, changed the way real schedules change.

- cancel_fraction: that share of visits is cancelled (removed);
- max_delay_hours: every visit may slip by a random delay in [0, max] hours (uniform);
- lost_days: a block of that many days, placed at random inside the period planned for (the
  calendar's span when given, else the timeline's), loses every visit (safe mode).
The same timeline, parameters and seed always give the same variant.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from planner.errors import OptionError
from planner.problem.calendar import DAY
from planner.schedules.timeline import Sources, with_slew_seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class Perturbation:
    cancel_fraction: float = 0.0
    max_delay_hours: float = 0.0
    lost_days: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        from planner import limits

        limits.number("perturbation cancel_fraction", self.cancel_fraction, 0, 1)
        if self.cancel_fraction == 1:
            raise OptionError(
                "perturbation cancel_fraction 1: expected 0 <= value < 1 (some visits must stay)"
            )
        limits.number("perturbation max_delay_hours", self.max_delay_hours, 0, limits.MAX_DELAY_HOURS)
        limits.number("perturbation lost_days", self.lost_days, 0, limits.MAX_DAYS)
        limits.number("perturbation seed", self.seed, 0, 2**32 - 1, integer=True)

    @property
    def is_identity(self) -> bool:
        return not (self.cancel_fraction or self.max_delay_hours or self.lost_days)

    def to_dict(self) -> dict:
        return asdict(self)


def perturb(
    timeline: pd.DataFrame, perturbation: Perturbation, within: tuple[int, int] | None = None
) -> pd.DataFrame:
    """A new timeline (sorted, canonical columns); `timeline` itself is left untouched.

    `within` (seconds since the epoch) is the period the lost block falls in."""
    if perturbation.is_identity or timeline.empty:
        return timeline
    rng = np.random.default_rng(perturbation.seed)
    keep = rng.random(len(timeline)) >= perturbation.cancel_fraction
    delays = rng.uniform(0, perturbation.max_delay_hours * 3600, len(timeline)).astype(np.int64)
    starts = timeline["start"] + pd.to_timedelta(delays, unit="s")
    if perturbation.lost_days:
        first, last = starts.min(), starts.max()
        if within is not None:
            first, last = (pd.Timestamp(t, unit="s", tz="UTC") for t in within)
        room = max((last - first).total_seconds() - perturbation.lost_days * DAY, 0)
        lost_start = first + pd.Timedelta(seconds=float(rng.uniform(0, room)))
        lost_end = lost_start + pd.Timedelta(days=perturbation.lost_days)
        keep &= ~((starts >= lost_start) & (starts < lost_end)).to_numpy()
    # The kept rows in (start, visit id) order, taken once: a copy, a filter and a sort of every
    # column cost three times as much.
    kept = np.flatnonzero(keep)
    visit_rank = pd.factorize(timeline["visit_id"], sort=True)[0]
    order = kept[np.lexsort((visit_rank[kept], starts.array.asi8[kept]))]
    frame = timeline.take(order).reset_index(drop=True)
    frame["start"] = starts.array.take(order)
    if "slew_seconds" in frame.columns:  # cancels and delays change slews (a history's rows have none)
        with_slew_seconds(frame)
    frame.attrs = {
        "sources": Sources([*timeline.attrs.get("sources", []), f"perturbed:{perturbation.to_dict()}"])
    }
    if "path" in timeline.attrs:
        frame.attrs["perturbed_from"] = timeline.attrs["path"]
    return frame
