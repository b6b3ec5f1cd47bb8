"""What the report page and the static plot show, computed once from a plan file.

Both draw the same things: the calendar windows, every slew of the calendar's period with the rule
that excluded it (or none), MIRI use, the planned and the flown anneals, and the intervals measured
as the solver and the checker measure them (across a missing anneal against the right multiple of
the target).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.plans.compare import flown_in_calendar, flown_weeks, intervals
from planner.plans.result import PlanFile
from planner.problem.calendar import DAY, Calendar, to_seconds, to_timestamps

ELIGIBLE = ""  # the rule name of an eligible slew


def slew_exclusions(opened: PlanFile, rows: slice) -> tuple[np.ndarray, dict[str, str]]:
    """Per timeline row of `rows` the first rule it fails ('' when eligible) under the plan's rule
    set, and each rule's one-line wording, in the order the rules apply."""
    from planner.problem.eligibility import exclusion_reason

    rules = opened.instance.rule_set
    wording = {name: rules.describe(name) for name in rules.rule_names()}
    return exclusion_reason(opened.timeline, rules, rows), wording


@dataclass
class CycleView:
    calendar: Calendar
    windows: pd.DataFrame  # anneal, label, start, end (UTC), eligible (count of eligible slews)
    slews: pd.DataFrame  # time, visit_id, instrument, target, visit_type, rule ('' eligible)
    rules: dict[str, str]  # rule name -> wording, in the order they apply
    miri: pd.DataFrame  # visits that use MIRI: time, visit_id, instrument
    plan: pd.DataFrame  # the plan file's rows plus `pinned`
    flown: pd.DataFrame  # time, visit_id, kind, week
    plan_intervals: pd.DataFrame  # see interval_frame
    flown_intervals: pd.DataFrame
    first: pd.Timestamp  # the period shown: first window start ..
    last: pd.Timestamp  # .. the later of the last window end and the last flown anneal

    def weeks(self, first: int, last: int) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The time span of calendar weeks first..last (1-based, inclusive)."""
        target = self.calendar.target_seconds
        lo = self.calendar.start + (first - 1) * target
        first_day, end = to_timestamps([lo, lo + (last - first + 1) * target])
        return first_day, end


def interval_frame(times: np.ndarray, numbers: np.ndarray, calendar: Calendar) -> pd.DataFrame:
    """Intervals for drawing: time (UTC, of the later anneal), anneal/week number, interval_days,
    multiple, deviation_hours (interval - multiple·target)."""
    table = intervals(times, numbers, calendar.target_seconds)
    return pd.DataFrame(
        {
            "time": to_timestamps(table["time"]),
            "anneal": table["anneal"].to_numpy(),
            "interval_days": table["interval_s"].to_numpy() / DAY,
            "multiple": table["multiple"].to_numpy(),
            "deviation_hours": table["deviation_s"].to_numpy() / 3600,
        }
    )


def cycle_view(opened: PlanFile) -> CycleView:
    calendar, timeline = opened.calendar, opened.timeline
    windows = calendar.windows
    starts = to_seconds(timeline["start"])
    # The flown anneals of the calendar's weeks: the last one may fall after the last window.
    period_end = calendar.end
    lo, hi = np.searchsorted(starts, [calendar.start, period_end], side="left")
    inside = timeline.iloc[lo:hi]
    reason, rules = slew_exclusions(opened, slice(lo, hi))

    slew = inside["is_slew"].to_numpy(bool)
    slews = pd.DataFrame(
        {
            "time": inside["start"].to_numpy()[slew],
            "visit_id": inside["visit_id"].to_numpy()[slew],
            "instrument": inside["instrument"].fillna("").to_numpy()[slew],
            "target": inside["target"].fillna("").to_numpy()[slew],
            "visit_type": inside["visit_type"].to_numpy()[slew],
            "rule": reason[slew],
        }
    )
    slew_s = starts[lo:hi][slew]
    eligible_s = slew_s[slews["rule"].to_numpy() == ELIGIBLE]
    window_frame = pd.DataFrame(
        {
            "anneal": [w.anneal for w in windows],
            "label": [w.label for w in windows],
            "start": to_timestamps([w.start for w in windows]),
            "end": to_timestamps([w.end for w in windows]),
            "eligible": [int(np.diff(np.searchsorted(eligible_s, [w.start, w.end]))[0]) for w in windows],
        }
    )
    miri = inside.loc[inside["uses_miri"], ["start", "visit_id", "instrument"]].rename(
        columns={"start": "time"}
    )

    flown, flown_s = flown_in_calendar(inside, calendar)  # (the calendar's rows, found above)
    flown["week"] = flown_weeks(flown_s, calendar)

    plan = opened.plan.copy()
    pinned = {p.anneal for p in opened.instance.pins}
    plan["pinned"] = plan["anneal"].isin(pinned)
    placed = plan[plan["slew_time"].notna()]
    placed_s = to_seconds(placed["slew_time"])

    first = to_timestamps([calendar.start])[0]
    last = max(to_timestamps([windows[-1].end])[0], *(flown["time"].tolist() or [first]))
    return CycleView(
        calendar=calendar,
        windows=window_frame,
        slews=slews,
        rules=rules,
        miri=miri.reset_index(drop=True),
        plan=plan,
        flown=flown,
        plan_intervals=interval_frame(placed_s, placed["anneal"].to_numpy(), calendar),
        flown_intervals=interval_frame(flown_s, flown["week"].to_numpy(), calendar),
        first=first,
        last=last,
    )
