"""Seeded variants of a timeline, changed the way real schedules change.

- cancel_fraction: that share of visits is cancelled (removed);
- max_delay_hours: every visit may slip by a random delay in [0, max] hours (uniform);
- lost_days: a block of that many days, placed at random inside the period planned for (the
  calendar's span when given, else the timeline's), loses every visit (safe mode).
The same timeline, parameters and seed always give the same variant.

Slips and cancels keep every surviving visit's slew (`_slip`). The slew into a visit is measured as
the gap since the previous visit ended (planner/schedules/timeline.py), so moving visits alone
would open gaps no schedule had (a delay of 3 h, or a cancelled visit's hours, read as a long slew),
and the slew-time rule would admit them: variants made that way held up to a third more eligible
slews a week than the histories (benchmarks/README.md). Instead a visit's delay is the previous
visit overrunning (its duration absorbs the difference), a delay that would start a visit before
the previous one can end pushes it later (the slip moves the visits after it), and a cancelled
visit's time goes to the visit before it (a cancel removes a slew, it adds none). Only a lost
block opens a gap: the days of safe mode.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from planner.errors import OptionError
from planner.problem.calendar import DAY, to_seconds
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
    timeline: pd.DataFrame,
    perturbation: Perturbation,
    within: tuple[int, int] | None = None,
    chains: str | None = None,
) -> pd.DataFrame:
    """A new timeline (sorted, canonical columns); `timeline` itself is left untouched.

    `within` (seconds since the epoch) is the period the lost block falls in. `chains` names a
    column whose values split the rows into separate sequences of visits (a history's `report`:
    each report's rows follow each other, not another report's); None: one sequence."""
    if perturbation.is_identity or timeline.empty:
        return timeline
    rng = np.random.default_rng(perturbation.seed)
    keep = rng.random(len(timeline)) >= perturbation.cancel_fraction
    delays = rng.uniform(0, perturbation.max_delay_hours * 3600, len(timeline)).astype(np.int64)
    starts = timeline["start"] + pd.to_timedelta(delays, unit="s")
    lost = np.zeros(len(timeline), dtype=bool)
    if perturbation.lost_days:
        first, last = starts.min(), starts.max()
        if within is not None:
            first, last = (pd.Timestamp(t, unit="s", tz="UTC") for t in within)
        room = max((last - first).total_seconds() - perturbation.lost_days * DAY, 0)
        lost_start = first + pd.Timedelta(seconds=float(rng.uniform(0, room)))
        lost_end = lost_start + pd.Timedelta(days=perturbation.lost_days)
        lost = ((starts >= lost_start) & (starts < lost_end)).to_numpy()
    group = np.zeros(len(timeline), np.int64) if chains is None else pd.factorize(timeline[chains])[0]
    moved, durations = _slip(timeline, delays, keep & ~lost, lost, group)
    keep &= ~lost
    # The kept rows in (start, visit id) order, taken once: a copy, a filter and a sort of every
    # column cost three times as much.
    kept = np.flatnonzero(keep)
    visit_rank = pd.factorize(timeline["visit_id"], sort=True)[0]
    order = kept[np.lexsort((visit_rank[kept], moved[kept]))]
    frame = timeline.take(order).reset_index(drop=True)
    frame["start"] = pd.to_datetime(moved[order], unit="s", utc=True).as_unit(timeline["start"].dt.unit)
    frame["duration_s"] = durations.take(order).astype(timeline["duration_s"].dtype)
    if "slew_seconds" in frame.columns:  # cancels and delays change slews (a history's rows have none)
        with_slew_seconds(frame)
    frame.attrs = {
        "sources": Sources([*timeline.attrs.get("sources", []), f"perturbed:{perturbation.to_dict()}"])
    }
    if "path" in timeline.attrs:
        frame.attrs["perturbed_from"] = timeline.attrs["path"]
    return frame


def _slip(
    timeline: pd.DataFrame, delays: np.ndarray, kept: np.ndarray, lost: np.ndarray, group: np.ndarray
) -> tuple[np.ndarray, pd.arrays.IntegerArray]:
    """New starts (seconds) and durations of every row such that each kept visit keeps the slew into
    it (see the module). Along a chain of kept visits in time order, visit q starts at its own delay
    D_q, or later when the kept visit p before it, slipped, cannot end in time: its slip is
    e_q = max(D_q, e_p − f_q), f_q the time that may absorb it (p's duration and any cancelled visits
    after p). Unrolled, e_q = max_{j ≤ q}(D_j + F_j) − F_q with F the running sum of f: a running
    maximum, so no loop over rows. p's duration becomes what fills the time up to q's slew. A lost
    row breaks the chain, and so does an unknown duration (the slew after it is unknown: nothing to
    keep)."""
    order = np.lexsort((to_seconds(timeline["start"]), group))
    starts = to_seconds(timeline["start"])[order]
    known = timeline["duration_s"].notna().to_numpy()[order]
    durations = timeline["duration_s"].astype("Int64").fillna(0).to_numpy(np.int64)[order]
    rows = np.flatnonzero(kept[order])  # positions (in `order`) of the kept rows
    moved = starts + delays[order]
    filled = durations.copy()
    if len(rows):
        p, q = rows[:-1], rows[1:]  # each kept row q after the first, and the kept row p before it
        before = q - 1  # the row right before q, kept or cancelled: its end begins q's slew
        lost_so_far = np.cumsum(lost[order])
        joined = (
            (group[order][p] == group[order][q])
            & (lost_so_far[q] == lost_so_far[p])
            & known[before]
            & known[p]
        )
        chain = np.cumsum(np.concatenate([[True], ~joined]))
        absorb = np.concatenate([[0], np.where(joined, starts[before] + durations[before] - starts[p], 0)])
        running = pd.Series(absorb).groupby(chain).cumsum().to_numpy()
        slip = pd.Series(delays[order][rows] + running).groupby(chain).cummax().to_numpy() - running
        moved[rows] = starts[rows] + slip
        slew = starts[q] - starts[before] - durations[before]
        filled[p[joined]] = (moved[q] - slew - moved[p])[joined]
    new_starts, new_durations = np.empty_like(moved), np.empty_like(filled)
    new_starts[order], new_durations[order] = moved, filled
    result = pd.array(new_durations, dtype="Int64")
    result[~timeline["duration_s"].notna().to_numpy()] = pd.NA
    return new_starts, result
