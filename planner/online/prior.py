"""Weeks published before the planned schedule begins: what an online policy learns from first.

`rollout` and `lookahead` learn their cost-to-go from the last `sample_weeks` weeks known at each
decision (planner/policies.py). At the start of a cycle only the weeks of its own first reports
are known, so a cycle's first months would be decided on a handful of samples. On cycles
resampled from the shipped weeks (`python -m benchmarks.online_bound`, benchmarks/README.md)
rollout learning from another cycle's weeks first has a lower mean ratio to hindsight than with
its own weeks alone by about 0.04 on three of the four kinds of cycles measured, and the same on
the fourth.

The prior is a timeline (by default the shipped one, Cycles 1 and 2). Its weeks are the windows of
the planned calendar's weekly grid (extended back) that it wholly covers, and they count only when
they end at or before a cut: in a replay, the first report's issue date or first scheduled start,
whichever is earlier (they were in the past when the first decision was made); for `next`, the
published schedule's first scheduled start. Nothing of the planned schedule's future is learned,
and no week is counted both here and among the planned schedule's own weeks. (The week that
straddles the cut is in neither.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner.problem.calendar import Calendar, to_seconds
from planner.problem.eligibility import exclusion_reason
from planner.problem.rules import RuleSet

SHIPPED = "shipped timeline"  # the source name of the default prior


@dataclass(frozen=True, slots=True, eq=False)
class Prior:
    source: str  # what the weeks came from: an absolute path, SHIPPED, or "none"
    times: np.ndarray  # its eligible slew times (seconds), ascending
    first: int  # its first and last scheduled start: the span it covers
    last: int
    sha256: str | None = None  # of the files it was read from

    def grid(self, calendar: Calendar, until: int) -> range:
        """The windows of the calendar's grid (indexes) it wholly covers that end at or before `until`."""
        return calendar.weeks_within(self.first, min(until, self.last))

    def count(self, calendar: Calendar, until: int) -> int:
        """How many of those windows (`grid`)."""
        return len(self.grid(calendar, until))

    def weeks(self, calendar: Calendar, until: int, most: int | None) -> list[np.ndarray]:
        """Eligible phases (seconds into the window) of the last `most` of those weeks, oldest first;
        none for a policy that learns nothing (`most` None)."""
        if not most:
            return []
        return calendar.week_phases(self.times, self.grid(calendar, until)[-most:])

    def describe(self, calendar: Calendar, until: int, sample_weeks: int | None) -> dict:
        """For a summary or plan metadata: the source and how many of its weeks end by `until`, for
        a policy learning from the last `sample_weeks` weeks known at each decision (None: one that
        learns nothing, such as greedy, which is described as given no prior)."""
        learned = self if sample_weeks else NO_PRIOR
        return {
            "source": learned.source,
            "sha256": learned.sha256,
            "weeks": learned.count(calendar, until),
            "sample_weeks": sample_weeks,
            "weeks_before": learned.weeks_before(calendar, until),
        }

    def weeks_before(self, calendar: Calendar, until: int) -> int | None:
        """Whole weeks between the end of its last week counted and `until`: how stale it is (a
        cycle's weekly pattern shifts from cycle to cycle); None when no week counts."""
        grid = self.grid(calendar, until)
        if not grid:
            return None
        ends = calendar.start + grid[-1] * calendar.target_seconds + calendar.window_seconds
        return max(0, (until - ends) // calendar.target_seconds)


NO_PRIOR = Prior("none", np.zeros(0, dtype=np.int64), 0, -1)


def setting(given: str | bool | None, learns: bool) -> str:
    """A batch scenario's `prior` as its summary names it: a path, SHIPPED (true or absent), or
    "none" (false, or a policy that learns nothing, whose scenarios a grid may mix with others)."""
    if given is False or not learns:
        return NO_PRIOR.source
    return given if isinstance(given, str) else SHIPPED


def sentence(policy: str, described: dict) -> str | None:
    """What the policy learned from, in words (replay and next print it); None for a policy that
    learns nothing."""
    most, weeks = described["sample_weeks"], described["weeks"]
    if most is None:
        return None
    lead = f"{policy} learned from the last {most} weeks known at each decision"
    source = f"the {SHIPPED}" if described["source"] == SHIPPED else described["source"]
    if weeks:
        some = f"the last {most} of the {weeks}" if weeks > most else f"the {weeks}"
        ends = "that end before the schedule begins (--no-prior: none)"
        stale = described.get("weeks_before") or 0  # (plans written before it was recorded: 0)
        if stale:
            weeks_word = "week" if stale == 1 else "weeks"
            ends += f"; the last of them ends {stale} {weeks_word} before it (--prior: a later timeline)"
        return f"{lead}, at first {some} weeks of {source} {ends}"
    if described["source"] == NO_PRIOR.source:
        return f"{lead}, of the planned schedule only (--no-prior)"
    return f"{lead}, of the planned schedule only: no week of {source} ends before it begins"


def prior_from(timeline: pd.DataFrame, rules: RuleSet, source: str, sha256: str | None = None) -> Prior:
    """The eligible slews of a timeline under `rules`."""
    if len(timeline) == 0:
        return Prior(source, NO_PRIOR.times, 0, -1, sha256)
    starts = to_seconds(timeline["start"])
    eligible = exclusion_reason(timeline, rules) == ""
    return Prior(source, starts[eligible], int(starts[0]), int(starts[-1]), sha256)


def load_prior(path: str | Path | None, rules: RuleSet, option: str = "--prior") -> Prior:
    """The prior from a timeline or reports (None: the shipped timeline), named by its absolute
    path (or SHIPPED) and the sha256 of its files; an unreadable one is an InputError naming
    `option`."""
    from planner.errors import InputError, OptionError
    from planner.schedules.timeline import load_timeline
    from planner.solver.solve import timeline_identity

    if path is not None and not str(path).strip():
        raise OptionError(f"{option} {str(path)!r}: expected a timeline file or report files")
    try:
        timeline = load_timeline(path)
    except InputError as err:
        what = f"{err.what}; {option} takes a timeline or reports"
        raise InputError(err.file, what, line=err.line, index=err.index) from None
    source = SHIPPED if path is None else str(Path(path).resolve())
    return prior_from(timeline, rules, source, timeline_identity(timeline)["sha256"])
