"""A joint plan beside the runs flown: per program, what it plans and what that program flew.

A program's flown runs are its slew parallels on the timeline (entries of the `parallels` column of
visit type `PARALLEL SLEW CALIBRATION` whose visit id `program:observation:visit` starts with one of
its program ids; a program without ids: of its mode), and prime visits of its mode, as
`planner.plans.compare.executed_anneals` finds them, over the plan's span of that program: a weekly
series' calendar weeks, a campaign program's first window start to its last window end. A weekly
series is compared interval by interval too, as `compare` compares a one-program plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.plans.compare import Comparison, compare, flown_between
from planner.plans.joint_result import MOVED_HOURS, displacement_hours, served_observations
from planner.problem.calendar import to_seconds
from planner.problem.program import Program


@dataclass
class ProgramComparison:
    program: Program
    observations: int  # in the plan
    served: int  # observations the plan serves whole
    flown_observations: int  # observations whose window holds as many flown runs as it has runs
    runs: int  # in the plan
    placed: int  # runs the plan places
    flown: pd.DataFrame  # the runs flown in the span (time, visit_id, kind, slewed_to), in time order
    on_flown_slew: int  # planned runs on a slew a run of this program flew on
    moved: int  # campaign runs more than MOVED_HOURS from their preferred times (0 for a series)
    from_flown_hours: np.ndarray  # each placed run's distance to the nearest flown run (hours)
    intervals: Comparison | None  # a weekly series: its intervals beside the flown ones

    @property
    def weekly(self) -> bool:
        return self.intervals is not None

    def row(self) -> dict:
        """The comparison in numbers, as `compare --json` and the terminal show it."""
        distance = self.from_flown_hours
        return {
            "program": self.program.name,
            "mode": self.program.mode,
            "kind": "weekly series" if self.weekly else "campaigns",
            "observations": self.observations,
            "served": self.served,
            "flown_observations": self.flown_observations,
            "runs": self.runs,
            "placed": self.placed,
            "flown": len(self.flown),
            "on_flown_slew": self.on_flown_slew,
            "moved": self.moved,
            "median_from_flown_hours": float(np.median(distance)) if len(distance) else None,
            "largest_from_flown_hours": float(distance.max()) if len(distance) else None,
        }


def compare_program(group: pd.DataFrame, timeline: pd.DataFrame, program: Program) -> ProgramComparison:
    """One program's rows of a joint plan (JOINT_PLAN_SCHEMA) beside its runs flown in `timeline`:
    a weekly series' in its calendar's weeks (the one-program comparison's own), a campaign
    program's over its campaigns' span."""
    placed = group[group["slew_time"].notna()]
    intervals = None
    if program.campaigns:
        flown, flown_s = flown_between(timeline, *program.span, program.mode, program)
    else:
        runs = placed.rename(columns={"observation": "anneal"})[["anneal", "slew_time"]]
        intervals = compare(runs, timeline, program.calendar, program.mode, program)
        flown = intervals.executed
        flown_s = to_seconds(flown["time"]) if len(flown) else np.zeros(0, dtype=np.int64)
    placed_s = to_seconds(placed["slew_time"]) if len(placed) else np.zeros(0, dtype=np.int64)
    if len(flown_s) and len(placed_s):
        i = np.clip(np.searchsorted(flown_s, placed_s), 1, len(flown_s)) - 1
        j = np.clip(i + 1, 0, len(flown_s) - 1)
        distance = np.minimum(np.abs(placed_s - flown_s[i]), np.abs(placed_s - flown_s[j])) / 3600
    else:
        distance = np.zeros(0)
    observations = group.groupby("observation", sort=True)
    served, _ = served_observations(group)
    flown_whole = 0
    for _, rows in observations:
        lo, hi = np.searchsorted(
            flown_s, [to_seconds(rows["window_start"]).min(), to_seconds(rows["window_end"]).max()]
        )
        flown_whole += int(hi - lo >= len(rows))
    moved = int((displacement_hours(placed) > MOVED_HOURS).sum()) if program.campaigns else 0
    return ProgramComparison(
        program=program,
        observations=int(group["observation"].nunique()),
        served=served,
        flown_observations=flown_whole,
        runs=len(group),
        placed=len(placed),
        flown=flown,
        on_flown_slew=int(placed["visit_id"].isin(set(flown["slewed_to"])).sum()),
        moved=moved,
        from_flown_hours=np.asarray(distance, dtype=float),
        intervals=intervals,
    )


def compare_joint(
    plan: pd.DataFrame, timeline: pd.DataFrame, programs: tuple[Program, ...]
) -> list[ProgramComparison]:
    """Every program of a joint plan, in the plan's order, beside what it flew."""
    groups = dict(tuple(plan.groupby("program", sort=False)))
    empty = plan.iloc[0:0]
    return [compare_program(groups.get(p.name, empty), timeline, p) for p in programs]
