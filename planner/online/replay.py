"""Replay a cycle's reports in issue order and plan as an operator would have, week by week.

The rules of the replay (issue 10, kept here as the specification the code follows):
- Window k is decided when the first report (in issue order) whose own span (its first to its
  last scheduled start) contains the window's end is applied; the policy may use every eligible
  slew then known, in that window and in later windows already wholly published. A window no
  report's span reaches is decided after the last. Reports leave gaps of hours between one span's
  last start and the next one's first: a window whose end falls in such a gap (no span contains
  it) is decided by the first report whose span reaches past its end.
- After each later report issued on date d, an anneal already placed whose slew time is at or
  after d and whose slew is gone or no longer eligible is decided again among the window's
  eligible slews at or after d (none: the anneal is missed). A slew before d has flown and stays.
- Within one report: first re-plan what it broke, then decide the windows it opens.
- A policy that learns also learns from the weeks of a prior timeline that end before the first
  report's issue date and first scheduled start (planner/prior.py): in the past at the first
  decision, so never the replay's future.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.online.policies import Decision, Neighbour, Policy, why
from planner.online.prior import NO_PRIOR, Prior
from planner.problem.calendar import Calendar, Window, to_seconds
from planner.problem.eligibility import exclusion_reason
from planner.problem.rules import RuleSet, load_rules
from planner.schedules.history import History


@dataclass
class Anneal:
    """One window's anneal during a replay."""

    window: Window
    visit_id: str | None = None
    time: int | None = None
    instrument: str | None = None
    target: str | None = None
    decided_at: str | None = None  # the report whose application decided it
    replans: int = 0
    missed: bool = False

    @property
    def placed(self) -> bool:
        return self.time is not None


@dataclass
class Replay:
    """The outcome: one Anneal per window, and what happened report by report."""

    anneals: list[Anneal]
    policy: str
    rules: RuleSet
    calendar: Calendar
    final: pd.DataFrame  # the timeline after the last report
    last_issued: int  # issue date of the last report (seconds)
    reaches: int  # the latest scheduled start any report published (seconds)
    events: list[dict] = field(default_factory=list)  # decisions and re-plans, in order


class Known:
    """What is known after one report: eligible slews by time, and how far the schedule reaches."""

    def __init__(
        self, frame: pd.DataFrame, rules: RuleSet, reaches: int, earlier: list[np.ndarray] | None = None
    ):
        eligible = exclusion_reason(frame, rules) == ""
        self.frame = frame.loc[eligible].reset_index(drop=True)
        self.times = to_seconds(self.frame["start"])
        self.keys = set(zip(self.frame["visit_id"], self.times.tolist(), strict=True))
        self.reaches = reaches  # the latest scheduled start of any report applied so far
        self.begins = int(to_seconds(frame["start"]).min()) if len(frame) else reaches
        self.earlier = earlier or []  # the prior's last weeks before the cut (planner/prior.py)

    def between(self, lo: int, hi: int) -> np.ndarray:
        """Indexes of eligible slews starting in [lo, hi)."""
        a, b = np.searchsorted(self.times, [lo, hi])
        return np.arange(a, b)


def replay(
    history: History,
    calendar: Calendar,
    policy: Policy,
    rules: RuleSet | None = None,
    prior: Prior = NO_PRIOR,
    on_progress: Callable[[str], None] | None = None,
) -> Replay:
    """Plan week by week on each report as issued; `on_progress` hears `report i of n: name`."""
    rules = load_rules(rules)
    earlier = prior.weeks(calendar, prior_cut(history), policy.sample_weeks)
    windows = calendar.windows
    anneals = [Anneal(w) for w in windows]
    result = Replay(
        anneals,
        policy.name,
        rules,
        calendar,
        history.final(),
        history.issues[-1].issued,
        max(issue.last for issue in history.issues),
    )
    deciding = _deciding_reports(history, windows)
    reaches = -(2**62)
    known = None
    for issue in history.issues:
        if on_progress is not None:
            on_progress(f"{policy.name}: report {issue.order + 1} of {len(history.issues)}, {issue.name}")
        reaches = max(reaches, issue.last)
        known = Known(history.known_after(issue.order), rules, reaches, earlier)
        for anneal in anneals:  # re-plan what this report broke, before anything else
            if (
                anneal.time is not None
                and anneal.time >= issue.issued
                and (anneal.visit_id, anneal.time) not in known.keys
            ):
                gone = (anneal.visit_id, anneal.time)
                decide(anneal, anneals, known, calendar, policy, issue.name, not_before=issue.issued)
                anneal.replans += 1
                result.events.append(
                    {"report": issue.name, "anneal": anneal.window.anneal, "replanned": gone}
                )
        for anneal in anneals:
            if anneal.decided_at is None and deciding[anneal.window.anneal] == issue.order:
                decide(anneal, anneals, known, calendar, policy, issue.name)
                result.events.append({"report": issue.name, "anneal": anneal.window.anneal})
    assert known is not None  # a History holds at least one report
    for anneal in anneals:  # windows no report's span reached: decided on all that was published
        if anneal.decided_at is None:
            decide(anneal, anneals, known, calendar, policy, "after the last report")
    return result


def prior_cut(history: History) -> int:
    """The prior's weeks must end by then: the first report's issue date or first scheduled start."""
    return min(history.issues[0].issued, history.issues[0].first)


def _deciding_reports(history: History, windows: list[Window]) -> dict[int, int | None]:
    """Window -> the issue order of the report that decides it (None: after the last report)."""
    deciding: dict[int, int | None] = {}
    for window in windows:
        containing = [i.order for i in history.issues if i.first <= window.end <= i.last]
        reaching = [i.order for i in history.issues if i.last >= window.end]
        chosen = containing or reaching
        deciding[window.anneal] = chosen[0] if chosen else None
    return deciding


def decide(
    anneal: Anneal,
    anneals: list[Anneal],
    known: Known,
    calendar: Calendar,
    policy: Policy,
    report: str,
    not_before: int | None = None,
    explain: bool = False,
) -> str | None:
    """Decide `anneal` on what is known. With `explain`, returns why the policy left greedy's slew
    (policies.why; None when it did not)."""
    window = anneal.window
    rows = known.between(max(window.start, not_before or window.start), window.end)
    k = window.anneal - 1
    previous = next((a for a in reversed(anneals[:k]) if a.placed), None)
    following = next((a for a in anneals[k + 1 :] if a.placed), None)  # when re-deciding
    decision = Decision(
        times=known.times[rows],
        window_start=window.start,
        window_seconds=calendar.window_seconds,
        target=calendar.target_seconds,
        previous=_neighbour(previous, window),
        following=_neighbour(following, window),
        **_published_after(anneals, k, known),
        **_samples(known, calendar, policy.sample_weeks),
    )
    choice = policy.choose(decision)
    anneal.decided_at = report
    if choice is None:
        anneal.visit_id = anneal.time = anneal.instrument = anneal.target = None
        anneal.missed = True
        return None
    chosen = known.frame.iloc[int(rows[choice])]
    anneal.visit_id, anneal.time = str(chosen["visit_id"]), int(known.times[rows[choice]])
    anneal.instrument, anneal.target = chosen["instrument"], chosen["target"]
    anneal.missed = False
    return why(policy, decision, choice) if explain else None


def _neighbour(other: Anneal | None, window: Window) -> Neighbour | None:
    if other is None or other.time is None:
        return None
    return Neighbour(other.time, abs(other.window.anneal - window.anneal))


def _published_after(anneals: list[Anneal], k: int, known: Known) -> dict:
    """The later windows as published: those wholly published (in order), then the next one
    if it is published in part, and how many windows remain unpublished after them."""
    lookahead: list[np.ndarray] = []
    partial = None
    for anneal in anneals[k + 1 :]:
        window = anneal.window
        if window.end <= known.reaches:
            lookahead.append(known.times[known.between(window.start, window.end)])
            continue
        if window.start <= known.reaches:
            partial = known.times[known.between(window.start, known.reaches + 1)]
        break
    seen = len(lookahead) + (partial is not None)
    return {
        "lookahead": lookahead,
        "partial": partial,
        "partial_until": known.reaches,
        "remaining": max(0, len(anneals) - k - 1 - seen),
    }


def _samples(known: Known, calendar: Calendar, most: int | None) -> dict:
    """`samples`: eligible phases of the last `most` weeks known (none for a policy that learns
    nothing): every wholly published week on the calendar's weekly grid (also before its first
    window, where the schedule reaches back), after the prior's weeks, oldest first; and
    `prior_weeks`: how many of them, at the front, are the prior's."""
    if not most:
        return {"samples": [], "prior_weeks": 0}
    grid = calendar.weeks_within(known.begins, known.reaches)
    weeks = calendar.week_phases(known.times, grid[-most:])
    need = most - len(weeks)
    earlier = known.earlier[-need:] if need > 0 else []
    return {"samples": [*earlier, *weeks], "prior_weeks": len(earlier)}
