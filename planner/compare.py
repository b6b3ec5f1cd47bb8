"""The plan beside the anneals actually flown: those in the timeline itself.

An executed anneal is a slew parallel of mode `MIRI Anneal` (its time is the slew, the start of the
visit it is attached to) or a prime visit of mode `MIRI Anneal`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.calendar import DAY, Calendar, to_seconds, to_timestamps

ANNEAL_MODE = "MIRI Anneal"


def executed_anneals(timeline: pd.DataFrame) -> pd.DataFrame:
    """Anneals flown in the timeline: time (UTC), the anneal's own visit id, and how it ran."""
    rows = []
    for start, visit_id, instrument, parallels in zip(
        timeline["start"], timeline["visit_id"], timeline["instrument"], timeline["parallels"], strict=True
    ):
        if instrument == ANNEAL_MODE:
            rows.append((start, visit_id, "prime"))
        rows += [(start, p["visit_id"], "slew parallel") for p in parallels if p["instrument"] == ANNEAL_MODE]
    return pd.DataFrame(rows, columns=["time", "visit_id", "kind"])


def _statistics(times: np.ndarray, calendar: Calendar) -> dict:
    """Count, intervals, Σ|gap - target|, largest deviation and weeks without an anneal."""
    gaps = np.diff(times)
    deviation = np.abs(gaps - calendar.target_seconds)
    week = (times - calendar.start) // calendar.target_seconds
    return {
        "anneals": len(times),
        "min_interval_days": gaps.min() / DAY if len(gaps) else np.nan,
        "median_interval_days": float(np.median(gaps)) / DAY if len(gaps) else np.nan,
        "max_interval_days": gaps.max() / DAY if len(gaps) else np.nan,
        "sum_abs_deviation_days": deviation.sum() / DAY,
        "largest_deviation_hours": deviation.max() / 3600 if len(gaps) else np.nan,
        "weeks_without": int(calendar.count - len(np.unique(week))),
    }


@dataclass
class Comparison:
    summary: pd.DataFrame  # rows: plan, executed
    weeks: pd.DataFrame  # one row per calendar week
    executed: pd.DataFrame  # the executed anneals in the calendar's weeks


def compare(plan: pd.DataFrame, timeline: pd.DataFrame, calendar: Calendar) -> Comparison:
    end = calendar.start + calendar.count * calendar.target_seconds
    flown = executed_anneals(timeline)
    flown_s = to_seconds(flown["time"]) if len(flown) else np.zeros(0, dtype=np.int64)
    inside = (flown_s >= calendar.start) & (flown_s < end)
    flown, flown_s = flown[inside].reset_index(drop=True), flown_s[inside]
    planned = plan[plan["slew_time"].notna()]
    planned_s = to_seconds(planned["slew_time"])

    summary = pd.DataFrame(
        [_statistics(planned_s, calendar), _statistics(np.sort(flown_s), calendar)],
        index=["plan", "executed"],
    )
    week_of_flown = (flown_s - calendar.start) // calendar.target_seconds + 1
    plan_by_anneal = dict(zip(planned["anneal"], planned_s, strict=True))
    rows = []
    for k in range(1, calendar.count + 1):
        planned_t = plan_by_anneal.get(k)
        flown_t = np.sort(flown_s[week_of_flown == k])
        rows.append(
            {
                "week": k,
                "week_start": to_timestamps([calendar.start + (k - 1) * calendar.target_seconds])[0],
                "planned": to_timestamps([planned_t])[0] if planned_t is not None else pd.NaT,
                "executed": ", ".join(t.strftime("%Y-%m-%d %H:%M") for t in to_timestamps(flown_t)),
                "executed_count": len(flown_t),
                "difference_hours": (flown_t[0] - planned_t) / 3600
                if planned_t is not None and len(flown_t)
                else np.nan,
            }
        )
    return Comparison(summary=summary, weeks=pd.DataFrame(rows), executed=flown)
