"""The plan beside the observations actually flown: those in the timeline itself.

An executed run of a program is a slew parallel of the program's mode (`MIRI Anneal` for the
anneals; its time is the slew, the start of the visit it is attached to) or a prime visit of that
mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from planner.problem.calendar import DAY, Calendar, to_seconds, to_timestamps

if TYPE_CHECKING:
    from planner.problem.program import Program

ANNEAL_MODE = "MIRI Anneal"  # the default program's (planner.problem.program.Program.mode)


def executed_anneals(
    timeline: pd.DataFrame, mode: str = ANNEAL_MODE, program: Program | None = None
) -> pd.DataFrame:
    """Anneals flown in the timeline: time (UTC), the anneal's own visit id, how it ran, and the
    prime visit it ran on (`slewed_to`: the visit slewed to, or the anneal's own as a prime).

    With `program`, the runs of that program instead: its slew parallels told apart by program id
    (`planner.problem.joint.planned_by`: a program without ids by its mode), and prime visits of
    its mode whose visit ids are the program's."""
    if program is not None:
        from planner.problem.joint import planned_by
        from planner.problem.program import program_id

        ids, mode, alone = set(program.program_ids), program.mode, (program,)

        def prime(visit_id) -> bool:
            return not ids or program_id(visit_id) in ids

        def ran(parallel) -> bool:
            return planned_by(parallel, alone)
    else:

        def prime(visit_id) -> bool:
            return True

        def ran(parallel) -> bool:
            return parallel["instrument"] == mode

    rows = []
    columns = (timeline[c] for c in ("start", "visit_id", "instrument", "parallels"))
    for start, visit_id, instrument, parallels in zip(*columns, strict=True):
        if instrument == mode and prime(visit_id):
            rows.append((start, visit_id, "prime", visit_id))
        rows += [(start, p["visit_id"], "slew parallel", visit_id) for p in parallels if ran(p)]
    return pd.DataFrame(rows, columns=["time", "visit_id", "kind", "slewed_to"])


def flown_between(timeline: pd.DataFrame, start: int, end: int, mode: str = ANNEAL_MODE,
                  program: Program | None = None) -> tuple[pd.DataFrame, np.ndarray]:  # fmt: skip
    """The runs executed in [start, end) (seconds), in time order, and their times in seconds. The
    timeline is in start order, as load_timeline guarantees: its rows there are found by bisection."""
    lo, hi = np.searchsorted(to_seconds(timeline["start"]), [start, end], side="left")
    flown = executed_anneals(timeline.iloc[lo:hi], mode, program)
    flown_s = to_seconds(flown["time"]) if len(flown) else np.zeros(0, dtype=np.int64)
    order = np.argsort(flown_s, kind="stable")
    return flown.iloc[order].reset_index(drop=True), flown_s[order]


def flown_in_calendar(
    timeline: pd.DataFrame, calendar: Calendar, mode: str = ANNEAL_MODE, program: Program | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """The anneals executed in the calendar's weeks, [start, start + count·target) (the last may
    fall after the last window), in time order, and their times in seconds. The timeline is in
    start order, as load_timeline guarantees: its rows of those weeks are found by bisection."""
    end = calendar.end
    return flown_between(timeline, calendar.start, end, mode, program)


def intervals(times: np.ndarray, numbers: np.ndarray, target: int) -> pd.DataFrame:
    """One row per interval between consecutive anneals (times in seconds, in order; numbers: the
    anneal numbers, or the calendar weeks of flown anneals).

    `multiple` is how many targets the interval spans: across a missing anneal 2, as in the
    solver's objective and the checker; two flown anneals in one calendar week still count 1.
    `deviation_s` is interval - multiple·target, signed."""
    times, numbers = np.asarray(times, dtype=np.int64), np.asarray(numbers, dtype=np.int64)
    gaps = np.diff(times)
    multiple = np.maximum(np.diff(numbers), 1)
    return pd.DataFrame(
        {
            "anneal": numbers[1:],
            "time": times[1:],
            "interval_s": gaps,
            "multiple": multiple,
            "deviation_s": gaps - multiple * target,
        }
    )


def flown_weeks(times: np.ndarray, calendar: Calendar) -> np.ndarray:
    """The calendar week (1-based) each flown anneal falls in: its number for measuring intervals."""
    return (np.asarray(times, dtype=np.int64) - calendar.start) // calendar.target_seconds + 1


def _statistics(times: np.ndarray, numbers: np.ndarray, calendar: Calendar) -> dict:
    """Count, intervals, Σ|interval - m·target| (seconds, as solve prints it), the worst deviation
    (hours) and weeks without an anneal."""
    table = intervals(times, numbers, calendar.target_seconds)
    gaps, deviation = table["interval_s"].to_numpy(), table["deviation_s"].abs().to_numpy()
    none = len(gaps) == 0
    week = flown_weeks(times, calendar)
    return {
        "anneals": len(times),
        "min_interval_days": np.nan if none else gaps.min() / DAY,
        "median_interval_days": np.nan if none else float(np.median(gaps)) / DAY,
        "max_interval_days": np.nan if none else gaps.max() / DAY,
        "sum_abs_deviation_s": int(deviation.sum()),
        "largest_deviation_hours": np.nan if none else deviation.max() / 3600,
        "weeks_without": int(calendar.count - len(np.unique(week[(week >= 1) & (week <= calendar.count)]))),
    }


def seconds_and_days(seconds) -> str:
    """A sum of deviations as every command prints it: `500228 s (5.790 d)`."""
    return f"{int(seconds)} s ({seconds / DAY:.3f} d)"


def plan_deviation(plan: pd.DataFrame, calendar: Calendar) -> dict:
    """A plan's Σ|interval - m·target| (seconds) and worst deviation (hours), measured as `compare`
    measures it, for `solve --json` and `check` to print beside it."""
    placed = plan[plan["slew_time"].notna()].sort_values("anneal")
    stats = _statistics(to_seconds(placed["slew_time"]), placed["anneal"].to_numpy(), calendar)
    return {k: stats[k] for k in ("sum_abs_deviation_s", "largest_deviation_hours")}


@dataclass
class Comparison:
    summary: pd.DataFrame  # rows: plan, executed
    weeks: pd.DataFrame  # one row per calendar week
    executed: pd.DataFrame  # the executed anneals in the calendar's weeks, in time order

    def plain_rows(self, calendar: Calendar) -> list[list[str]]:
        """The summary in words and units, plan then flown: integers as integers, days and hours
        labelled; what the terminal, the JSON's readers and the report page all show."""
        target = f"{calendar.target_days:g} d"

        def days(value) -> str:
            return "-" if pd.isna(value) else f"{value:.3f} d"

        def hours(value) -> str:
            return "-" if pd.isna(value) else f"{value:.2f} h"

        lines = [
            ("anneals", "anneals", lambda v: str(int(v))),
            ("shortest interval", "min_interval_days", days),
            ("median interval", "median_interval_days", days),
            ("longest interval", "max_interval_days", days),
            (f"Σ |interval - m·{target}|", "sum_abs_deviation_s", seconds_and_days),
            (f"worst deviation from m·{target}", "largest_deviation_hours", hours),
            ("weeks without an anneal", "weeks_without", lambda v: str(int(v))),
        ]
        plan, flown = self.summary.loc["plan"], self.summary.loc["executed"]
        return [[label, show(plan[key]), show(flown[key])] for label, key, show in lines]


def executed_text(times) -> str:
    """A week's executed anneals as the table and the page show them: `2023-07-29 09:56, ...`."""
    return ", ".join(t.strftime("%Y-%m-%d %H:%M") for t in times)


def compare(
    plan: pd.DataFrame,
    timeline: pd.DataFrame,
    calendar: Calendar,
    mode: str = ANNEAL_MODE,
    program: Program | None = None,
) -> Comparison:
    """`plan` (columns anneal, slew_time) beside the runs flown of `mode` (or of `program`: see
    `executed_anneals`) in the calendar's weeks."""
    flown, flown_s = flown_in_calendar(timeline, calendar, mode, program)
    planned = plan[plan["slew_time"].notna()]
    planned_s = to_seconds(planned["slew_time"])

    week_of_flown = flown_weeks(flown_s, calendar)
    summary = pd.DataFrame(
        [
            _statistics(planned_s, planned["anneal"].to_numpy(), calendar),
            _statistics(flown_s, week_of_flown, calendar),
        ],
        index=["plan", "executed"],
    )
    plan_by_anneal = dict(zip(planned["anneal"], planned_s, strict=True))
    rows = []
    for k in range(1, calendar.count + 1):
        planned_t = plan_by_anneal.get(k)
        flown_t = flown_s[week_of_flown == k]
        rows.append(
            {
                "week": k,
                "week_start": to_timestamps([calendar.start + (k - 1) * calendar.target_seconds])[0],
                "planned": to_timestamps([planned_t])[0] if planned_t is not None else pd.NaT,
                # UTC timestamps, a list (a week may have flown two): JSON writes them ISO 8601 with Z,
                # the terminal and the page as `executed_text` does
                "executed": list(to_timestamps(flown_t)),
                "executed_count": len(flown_t),
                "difference_hours": (flown_t[0] - planned_t) / 3600
                if planned_t is not None and len(flown_t)
                else np.nan,
            }
        )
    return Comparison(summary=summary, weeks=pd.DataFrame(rows), executed=flown)
