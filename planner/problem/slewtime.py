"""Evidence for a slew-time rule (issue #21): how long the slews were that slew parallels flew on,
beside all slews into targeted visits.

A slew parallel runs while the telescope slews, so it needs a slew at least as long as itself. If the
slews the flown anneals sat on all lie above a floor that most slews do not reach, operations apply
a minimum the seed's rules lack; the table (`anneal-planner slews`) and the report page's histogram
show where that floor is and how many slews it takes away.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.problem.calendar import to_seconds
from planner.schedules.report import KNOWN_SLEW_PARALLEL_MODES, SLEW_PARALLEL

# The slew-parallel modes of the schedules, listed first in this order; any other mode found in the
# attached rows follows, by name.
SLEW_MODES = KNOWN_SLEW_PARALLEL_MODES
ALL_SLEWS = "all slews into targeted visits"


def within(timeline: pd.DataFrame, since: int | None = None, until: int | None = None) -> pd.DataFrame:
    """The visits starting in [since, until) (seconds since the epoch; None: no bound). Their
    `slew_seconds` were computed on the whole timeline, so the first one keeps its slew."""
    starts = to_seconds(timeline["start"])
    keep = np.ones(len(timeline), dtype=bool)
    if since is not None:
        keep &= starts >= since
    if until is not None:
        keep &= starts < until
    return timeline.loc[keep]


def slew_minutes(timeline: pd.DataFrame) -> dict[str, pd.Series]:
    """The slew minutes (NaN where unknown) per slew-parallel mode that flew, one value per attached
    slew-parallel row (a visit carrying two counts for both), and of all slews into targeted visits
    (`is_slew`) under ALL_SLEWS, last."""
    minutes = pd.to_numeric(timeline["slew_seconds"], errors="coerce").astype(float).to_numpy() / 60
    flown: dict[str, list[float]] = {}
    for parallels, value in zip(timeline["parallels"].to_numpy(), minutes, strict=True):
        for row in parallels:
            if row["visit_type"] == SLEW_PARALLEL:
                flown.setdefault(row["instrument"] or "(none)", []).append(value)
    order = [m for m in SLEW_MODES if m in flown] + sorted(set(flown) - set(SLEW_MODES))
    found = {mode: pd.Series(flown[mode], dtype=float, name=mode) for mode in order}
    found[ALL_SLEWS] = pd.Series(minutes[timeline["is_slew"].to_numpy(bool)], dtype=float, name=ALL_SLEWS)
    return found


def anneal_minimum_minutes() -> float:
    """The MIRI anneals' least slew as their program states it (the seed's; every shipped anneal
    program says the same): the threshold the evidence is drawn and counted against."""
    from planner.problem.program import SEED, load_program

    return load_program(SEED).min_slew_minutes


def slew_time_table(
    timeline: pd.DataFrame, minimum_minutes: float | None = None, found: dict[str, pd.Series] | None = None
) -> pd.DataFrame:
    """One row per slew-parallel mode that flew, then one for all slews into targeted visits.

    Columns: `group` (the mode, or ALL_SLEWS); `slews` (slew parallels flown, or slews); `unknown`
    (of unknown duration); `overlaps` (negative duration); over the slews of known duration,
    `shortest_min`, `p10_min` and `median_min` (minutes; percentiles interpolated linearly between
    the ordered values, numpy's default; NaN when none is known), `below_minimum` (how many last
    less than `minimum_minutes`, default the anneals' minimum) and `at_least_share` (the share,
    0..1, lasting at least that). `found`: the timeline's `slew_minutes`, when the caller has them."""
    if minimum_minutes is None:
        minimum_minutes = anneal_minimum_minutes()
    rows = []
    for group, values in (found if found is not None else slew_minutes(timeline)).items():
        known = values.dropna().to_numpy()
        rows.append(
            {
                "group": group,
                "slews": len(values),
                "unknown": int(values.isna().sum()),
                "overlaps": int((known < 0).sum()),
                "shortest_min": float(known.min()) if len(known) else np.nan,
                "p10_min": float(np.percentile(known, 10)) if len(known) else np.nan,
                "median_min": float(np.median(known)) if len(known) else np.nan,
                "below_minimum": int((known < minimum_minutes).sum()),
                "at_least_share": float((known >= minimum_minutes).mean()) if len(known) else np.nan,
            }
        )
    return pd.DataFrame(rows)
