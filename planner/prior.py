"""Weeks published before the planned schedule begins: what an online policy learns from first.

`rollout` and `lookahead` learn their cost-to-go from published weeks (planner/policies.py). At the
start of a cycle only the weeks of its own first reports are published, so a cycle's first months
are decided on a handful of samples. On cycles resampled from the shipped weeks
(`python -m benchmarks.online_bound`, benchmarks/README.md) rollout with only its own cycle's weeks
is 0.01-0.05 better than greedy on average, and with another cycle's weeks before them it comes
within 0.04 of the best any online policy can do.

The prior is a timeline (by default the shipped one, Cycles 1 and 2); its weeks count only when
their window ends before the first scheduled start of the schedule being planned. They were
published before any decision of the replay or the weekly job, so nothing is learned from the
future of the schedule being planned, and weeks that schedule publishes itself are never counted
twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.calendar import Calendar, to_seconds
from planner.eligibility import exclusion_reason
from planner.rules import RuleSet


@dataclass(frozen=True, slots=True)
class Prior:
    source: str  # what the weeks came from, for the summary
    phases: tuple[np.ndarray, ...]  # eligible phases of each week (seconds into its window), oldest first
    ends: np.ndarray  # each week's window end (seconds), ascending
    sha256: str | None = None  # of the timeline's files, when read from files

    def before(self, moment: int) -> list[np.ndarray]:
        """The weeks whose window ends at or before `moment`, oldest first."""
        return list(self.phases[: int(np.searchsorted(self.ends, moment, side="right"))])

    def describe(self, moment: int, sample_weeks: int | None) -> dict:
        """For a summary or plan metadata: the source, and how many of its weeks end before
        `moment` (the planned schedule's first start) for a policy learning from the last
        `sample_weeks` weeks known at each decision (None: a policy that learns nothing)."""
        learned = sample_weeks is not None and self is not NO_PRIOR
        return {
            "source": self.source if learned else NO_PRIOR.source,
            "sha256": self.sha256 if learned else None,
            "weeks": len(self.before(moment)) if learned else 0,
            "sample_weeks": sample_weeks,
        }


NO_PRIOR = Prior("none", (), np.zeros(0, dtype=np.int64))
SHIPPED = "shipped timeline"  # the source name of the default prior


def sentence(policy: str, described: dict) -> str:
    """What the policy learned from, in words (replay and next print it)."""
    if described["sample_weeks"] is None:
        return f"{policy} learns from no earlier week"
    lead = f"{policy} learned from the last {described['sample_weeks']} weeks known at each decision"
    source = f"the {SHIPPED}" if described["source"] == SHIPPED else described["source"]
    if described["weeks"]:
        return (
            f"{lead}, at first from the {described['weeks']} weeks of {source} that end before the "
            "schedule begins (--no-prior: none)"
        )
    if described["source"] == NO_PRIOR.source:
        return f"{lead}, of the planned schedule only (--no-prior)"
    return f"{lead}, of the planned schedule only: no week of {source} ends before it begins"


def prior_weeks(
    timeline: pd.DataFrame, calendar: Calendar, rules: RuleSet, source: str, sha256: str | None = None
) -> Prior:
    """The eligible phases of every window of the calendar's weekly grid (extended both ways) that
    the timeline wholly covers: from its first scheduled start to its last."""
    if len(timeline) == 0:
        return Prior(source, (), NO_PRIOR.ends, sha256)
    eligible = exclusion_reason(timeline, rules) == ""
    starts = to_seconds(timeline["start"])
    times = starts[eligible]
    step, first = calendar.target_seconds, calendar.start
    j = -((first - int(starts[0])) // step)  # the first grid week starting at or after the timeline
    phases, ends = [], []
    while first + j * step + calendar.window_seconds <= starts[-1]:
        start = first + j * step
        lo, hi = np.searchsorted(times, [start, start + calendar.window_seconds])
        phases.append(times[lo:hi] - start)
        ends.append(start + calendar.window_seconds)
        j += 1
    return Prior(source, tuple(phases), np.asarray(ends, dtype=np.int64), sha256)


def load_prior(path, calendar: Calendar, rules: RuleSet, option: str = "--prior") -> Prior:
    """The prior from a timeline or reports (None: the shipped timeline), named by its absolute
    path (or `shipped timeline`) and sha256; an unreadable one is an InputError naming `option`."""
    from planner.errors import InputError, OptionError
    from planner.solve import timeline_identity
    from planner.timeline import load_timeline

    if path is not None and not str(path).strip():
        raise OptionError(f"{option} {str(path)!r}: expected a timeline file or report files")
    try:
        timeline = load_timeline(path)
    except InputError as err:
        what = f"{err.what}; {option} takes a timeline or reports"
        raise InputError(err.file, what, line=err.line, index=err.index) from None
    identity = timeline_identity(timeline)
    source = SHIPPED if path is None else identity["path"] or ", ".join(identity["sources"] or [str(path)])
    return prior_weeks(timeline, calendar, rules, source, identity["sha256"])
