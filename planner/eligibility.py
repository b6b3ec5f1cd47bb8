"""Which slews of a timeline may carry an anneal, window by window, and why the others may not."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.calendar import Calendar, Window, to_seconds

# Exclusion rules in the order they are applied; a visit is counted under the first it fails.
RULES = {
    "no_slew": "without a slew (untargeted, unload, station keeping, WFSC)",
    "to_miri": "to a MIRI target",
    "miri_recovery": "MIRI use starts within the recovery time",
    "carries_slew_parallel": "already carry another slew parallel",
}


@dataclass(frozen=True, slots=True)
class WindowSlews:
    """The eligible slews of one window (`rows` index the timeline) and the exclusion counts."""

    window: Window
    rows: np.ndarray
    times: np.ndarray
    visits: int
    excluded: dict[str, int]

    def explain(self) -> str:
        parts = [f"{self.visits} visits"]
        parts += [f"{n} {RULES[rule]}" for rule, n in self.excluded.items() if n]
        verdict = "none eligible" if len(self.rows) == 0 else f"{len(self.rows)} eligible"
        return f"{self.window.describe()}: {', '.join(parts)}: {verdict}"


def exclusion_reason(timeline: pd.DataFrame, miri_recovery_minutes: float = 0) -> np.ndarray:
    """For every visit, the first rule it fails ('' when it is an eligible slew)."""
    starts = to_seconds(timeline["start"])
    uses_miri = timeline["uses_miri"].to_numpy(bool)
    reason = np.full(len(timeline), "", dtype=object)
    carries = (
        timeline["slew_parallel"].notna().to_numpy()
        & (timeline["slew_parallel"].fillna("") != "MIRI Anneal").to_numpy()
    )
    recovering = np.zeros(len(timeline), dtype=bool)
    if miri_recovery_minutes > 0:
        miri_starts = starts[uses_miri]
        following = np.searchsorted(miri_starts, starts, side="left")
        padded = np.append(miri_starts, np.iinfo(np.int64).max)  # "no MIRI use ever after"
        next_miri = padded[following]
        recovering = next_miri - starts < miri_recovery_minutes * 60
    for rule, failed in reversed(
        [
            ("no_slew", ~timeline["is_slew"].to_numpy(bool)),
            ("to_miri", uses_miri),
            ("miri_recovery", recovering),
            ("carries_slew_parallel", carries),
        ]
    ):
        reason[failed] = rule  # reversed, so the first rule failed wins
    return reason


def window_slews(
    timeline: pd.DataFrame, calendar: Calendar, miri_recovery_minutes: float = 0
) -> list[WindowSlews]:
    """Eligible slews per calendar window, with how many visits each rule excluded."""
    starts = to_seconds(timeline["start"])
    if len(starts) and np.any(np.diff(starts) < 0):
        raise ValueError("timeline must be sorted by start")
    reason = exclusion_reason(timeline, miri_recovery_minutes)
    result = []
    for window in calendar.windows:
        lo, hi = np.searchsorted(starts, [window.start, window.end], side="left")
        inside = reason[lo:hi]
        eligible = np.flatnonzero(inside == "") + lo
        result.append(
            WindowSlews(
                window=window,
                rows=eligible,
                times=starts[eligible],
                visits=int(hi - lo),
                excluded={rule: int(np.count_nonzero(inside == rule)) for rule in RULES},
            )
        )
    return result
