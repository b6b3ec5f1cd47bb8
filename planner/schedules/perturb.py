"""Seeded variants of a timeline, changed the way real schedules change.

- cancel_fraction: that share of visits is cancelled (removed);
- max_delay_hours: every visit slips by a random delay in [0, max] hours (uniform for each visit);
- lost_days: a block of that many days, placed at random inside the period planned for (the
  calendar's span when given, else the timeline's), loses every visit scheduled in it, and any
  that slips into it (safe mode). A perturbation that leaves no visit is refused.
The same timeline, parameters and seed always give the same variant.

Slips and cancels keep every surviving visit's slew and the visits' order (`_slip`). The slew into
a visit is measured as the gap since the previous visit ended (planner/schedules/timeline.py), so
moving visits alone would open gaps no schedule had (a delay of 3 h, or a cancelled visit's hours,
read as a long slew), and the slew-time rule would admit them: variants made that way held up to
a third more eligible slews a week than the histories (benchmarks/README.md). Instead:
- a slip persists: consecutive visits' delays differ by at most an eighth of the greatest delay (a
  random walk reflected into [0, max], whose delay at any one visit is still uniform), and the
  difference is the previous visit running that much longer or shorter (its duration absorbs it);
- a visit that would start before the one before it ends (or before it starts, where visits
  overlap) is pushed later: the slip moves the visits after it;
- a cancelled visit's time goes to the visit before it: a cancel removes a slew, it adds none.
Only a lost block opens a gap: the days of safe mode. Where visits are short, a slip that grew
cannot shrink as fast (only a duration can take a backward step up), so there delays pile towards
the greatest and some durations fall to 0 (on a shipped history at 3 h, about 1-3 % of visits).
A history's reports slip each on its own (`chains`), so where the known timeline passes from one
report's visits to the next one's, that one slew is not kept.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from planner.errors import OptionError
from planner.problem.calendar import DAY, to_seconds
from planner.schedules.timeline import Sources, known_durations, with_slew_seconds


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
    group = np.zeros(len(timeline), np.int64) if chains is None else pd.factorize(timeline[chains])[0]
    visit_rank = pd.factorize(timeline["visit_id"], sort=True)[0]
    starts = to_seconds(timeline["start"])
    order = np.lexsort((visit_rank, starts, group))  # each chain in time order, as the output sorts
    delays = _walk(rng.uniform(0, 1, len(timeline)), group, order, perturbation.max_delay_hours * 3600)
    lost = np.zeros(len(timeline), dtype=bool)
    block = (0.0, 0.0)  # the lost days, [start, end) in seconds
    if perturbation.lost_days:
        first, last = (int(starts.min()), int(starts.max())) if within is None else within
        room = max(last - first - perturbation.lost_days * DAY, 0)
        lost_start = first + rng.uniform(0, room)
        block = (lost_start, lost_start + perturbation.lost_days * DAY)
        # On the schedule's own times, so the lost visits are a run of consecutive ones (decided
        # on slipped times they would interleave with kept ones, which the slip then squeezes)
        lost = (starts >= block[0]) & (starts < block[1])
    keep &= ~lost
    moved, durations = _slip(timeline, delays, keep, lost, group, order)
    keep &= ~((moved >= block[0]) & (moved < block[1]))  # and those that slipped into the block
    if not keep.any():
        raise OptionError(
            f"perturbation {perturbation.to_dict()}: no visit survives it; expected a cancel_fraction "
            "or lost_days that leaves some of the timeline's visits"
        )
    # The kept rows in (start, visit id) order, taken once: a copy, a filter and a sort of every
    # column cost three times as much.
    kept = np.flatnonzero(keep)
    output = kept[np.lexsort((visit_rank[kept], moved[kept]))]
    frame = timeline.take(output).reset_index(drop=True)
    frame["start"] = pd.to_datetime(moved[output], unit="s", utc=True).as_unit(timeline["start"].dt.unit)
    frame["duration_s"] = durations.take(output).astype(timeline["duration_s"].dtype)
    if "slew_seconds" in frame.columns:  # cancels and delays change slews (a history's rows have none)
        with_slew_seconds(frame)
    frame.attrs = {
        "sources": Sources([*timeline.attrs.get("sources", []), f"perturbed:{perturbation.to_dict()}"])
    }
    if "path" in timeline.attrs:
        frame.attrs["perturbed_from"] = timeline.attrs["path"]
    return frame


WALK_STEP = 1 / 8  # the most consecutive visits' delays differ by, as a share of the greatest delay


def _walk(uniform: np.ndarray, group: np.ndarray, order: np.ndarray, most: float) -> np.ndarray:
    """Each row's delay (whole seconds in [0, most]): along each chain (rows in `order`), a random
    walk whose steps are uniform in ±WALK_STEP·most, starting uniform in [0, most] and reflected at
    both ends, so that every row's delay is uniform in [0, most] and a slip persists. `uniform`:
    one draw in [0, 1) per row (the first of a chain sets its start, the others its steps)."""
    if most == 0:
        return np.zeros(len(uniform), np.int64)
    draws, chain = uniform[order], group[order]
    first = np.concatenate([[True], chain[1:] != chain[:-1]])
    steps = np.where(first, draws * most, (2 * draws - 1) * WALK_STEP * most)
    walked = pd.Series(steps).groupby(chain).cumsum().to_numpy() % (2 * most)
    delays = np.empty(len(uniform), np.int64)
    delays[order] = np.where(walked > most, 2 * most - walked, walked).astype(np.int64)
    return delays


def _slip(
    timeline: pd.DataFrame,
    delays: np.ndarray,
    kept: np.ndarray,
    lost: np.ndarray,
    group: np.ndarray,
    order: np.ndarray,
) -> tuple[np.ndarray, pd.api.extensions.ExtensionArray]:
    """New starts (seconds) and durations of every row such that each kept visit keeps the slew into
    it and its place (see the module). Along a chain of kept visits in `order`, visit q starts at
    its own delay D_q, or later when the kept visit p before it, slipped, would not start before it
    or end in time: its slip is e_q = max(D_q, e_p − a_q), a_q the time that may absorb p's slip
    (p's duration and any cancelled visits after p, and never so much that q would start at or
    before p). Unrolled, e_q = max_{j ≤ q}(D_j + A_j) − A_q with A the running sum of a: a running
    maximum, so no loop over rows. p's duration becomes what fills the time up to q's slew. Across
    a lost block, and after an unknown or malformed (negative) duration, the slew into q is not
    kept (there is none to keep): q only keeps its place, and p its duration."""
    starts = to_seconds(timeline["start"])[order]
    durations, known = (values[order] for values in known_durations(timeline))
    rows = np.flatnonzero(kept[order])  # positions (in `order`) of the kept rows
    delays, chains = delays[order], group[order]
    moved = starts + delays
    filled = durations.copy()
    if len(rows) > 1:
        p, q = rows[:-1], rows[1:]  # each kept row q after the first, and the kept row p before it
        before = q - 1  # the row right before q, kept or cancelled: its end begins q's slew
        lost_so_far = np.cumsum(lost[order])
        same = chains[p] == chains[q]
        between = starts[q] - starts[p]
        place = np.maximum(between - (between > 0), 0)  # most absorbed with q still after p
        joined = same & (lost_so_far[q] == lost_so_far[p]) & known[before] & known[p]
        fill = starts[before] + durations[before] - starts[p]  # p's time up to q's slew
        absorb = np.where(joined, np.minimum(fill, place), place)
        chain = np.cumsum(np.concatenate([[True], ~same]))
        running = pd.Series(np.concatenate([[0], absorb])).groupby(chain).cumsum().to_numpy()
        slip = pd.Series(delays[rows] + running).groupby(chain).cummax().to_numpy() - running
        moved[rows] = starts[rows] + slip
        slew = starts[q] - starts[before] - durations[before]
        filled[p[joined]] = (moved[q] - slew - moved[p])[joined]
    new_starts, new_durations, known_rows = np.empty_like(moved), np.empty_like(filled), np.empty_like(known)
    new_starts[order], new_durations[order], known_rows[order] = moved, filled, known
    result = timeline["duration_s"].astype("Int64").array.copy()  # unknown ones stay as they were
    result[known_rows] = new_durations[known_rows]
    return new_starts, result
