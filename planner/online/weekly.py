"""The weekly job (`anneal-planner next`): given what has flown and the schedule as published so
far, choose the anneals of the windows the published schedule covers, with an online policy.

Flown anneals come from a plan file (every placed anneal of it has flown; rows marked `missed`
have not; one after the published schedule's last start cannot have flown and is refused) or from
a timeline (its executed MIRI anneals: slew parallels or primes of mode MIRI Anneal, each counted
in the calendar week it ran in). The published schedule covers a window when
its last scheduled start is at or after the window's end. The result is a plan of the windows up
to the last covered one: flown anneals pinned and marked `flown`, the new ones `planned`, and
weeks that cannot be served `missed`, each with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from planner import __version__
from planner.errors import InfeasibleError, InputError, InternalError
from planner.online.outcome import replay_frame
from planner.online.outlook import Outlook, expected_rest
from planner.online.policies import SAMPLE_WEEKS, Neighbour, Policy
from planner.online.prior import NO_PRIOR, Prior
from planner.online.replay import Anneal, Known, Replay, _samples, decide
from planner.plans.checker import check_plan
from planner.plans.compare import flown_in_calendar, flown_weeks
from planner.plans.result import placed_rows
from planner.problem.calendar import Calendar, format_instant, to_seconds
from planner.problem.eligibility import window_slews
from planner.problem.instance import Instance
from planner.problem.pins import Pin
from planner.problem.program import Program
from planner.problem.rules import RuleSet
from planner.solver.explain import unserved


@dataclass
class WeeklyPlan:
    frame: pd.DataFrame  # the plan file's columns plus decided_at, replans, state
    program: Program  # the program planned, its calendar the whole one
    instance: Instance  # the cut calendar's program, rules, allow_missing, and the flown anneals as pins
    reasons: dict[int, str]  # missed anneal -> why its week cannot be served
    reaches: int  # the last scheduled start of the published schedule
    policy: str
    prior: dict  # what the policy learned from before the published schedule (Prior.describe)
    why: dict[int, str]  # planned anneal -> why the policy left greedy's slew (policies.why)
    outlook: Outlook  # the policy's expected cost of the windows after the plan's
    # what the flown anneals break (outside their window, say: the program's calendar may not be
    # the one the cycle flew), said as `check` says it, not refused: they have flown
    notes: list[str] = field(default_factory=list)

    @property
    def calendar(self) -> Calendar:
        """The calendar cut to the last window the schedule covers (the instance's program's)."""
        return self.instance.program.calendar


def flown_from_plan(plan: pd.DataFrame) -> dict[int, tuple[str, int]]:
    """Anneal -> (visit id, slew time) of every placed anneal of a plan file."""
    placed = placed_rows(plan)
    times = to_seconds(placed["slew_time"])
    return {
        int(k): (str(v), int(t)) for k, v, t in zip(placed["anneal"], placed["visit_id"], times, strict=True)
    }


def flown_from_timeline(timeline: pd.DataFrame, program: Program) -> dict[int, tuple[str, int]]:
    """Anneal -> (visit id, time) of the anneals executed in a timeline, by calendar week: the
    visit slewed to for a slew parallel, the anneal's own visit when it ran as a prime. A second
    anneal in a week is not another: the first counts."""
    calendar = program.calendar
    executed, times = flown_in_calendar(timeline, calendar, program.mode)
    flown: dict[int, tuple[str, int]] = {}
    for week, visit_id, t in zip(flown_weeks(times, calendar), executed["slewed_to"], times, strict=True):
        flown.setdefault(int(week), (str(visit_id), int(t)))
    return flown


def refuse_unflown(flown: dict[int, tuple[str, int]], reaches: int) -> None:
    """An anneal given as flown must have flown: none may lie after the published schedule's last
    scheduled start (a hindsight plan, or a weekly plan made on a later schedule, given by mistake).
    Refused rather than cut, since a plan that holds such anneals was not made on this schedule and
    its earlier anneals need not have flown either; an InputError naming how many and the first."""
    late = sorted((k, v, t) for k, (v, t) in flown.items() if t > reaches)
    if late:
        k, visit_id, t = late[0]
        many = f"{len(late)} anneals" if len(late) > 1 else "1 anneal"
        raise InputError(
            "--flown",
            f"{many} given as flown lie after the published schedule's last start "
            f"{format_instant(reaches)}, so cannot have flown: the first is Anneal {k:02d} "
            f"({visit_id} at {format_instant(t)}); give the anneals that have flown",
        )


def plan_next(
    timeline: pd.DataFrame,
    flown: dict[int, tuple[str, int]],
    program: Program,
    policy: Policy,
    rules: RuleSet,
    horizon_days: float | None = None,
    prior: Prior = NO_PRIOR,
) -> WeeklyPlan:
    calendar = program.calendar
    if len(timeline) == 0:
        raise InputError("--timeline", "the published schedule is empty")
    starts = to_seconds(timeline["start"])
    reaches, begins = int(starts.max()), int(starts.min())  # the prior's weeks end by `begins`
    refuse_unflown(flown, reaches)
    covered = [w for w in calendar.windows if w.end <= reaches]
    if not covered:
        raise InfeasibleError(
            f"the published schedule reaches {timeline['start'].max()}, before the end of the "
            f"first window {calendar.windows[0].describe()}: nothing to plan yet"
        )
    last_flown = max((t for _, t in flown.values()), default=None)
    if horizon_days is not None and last_flown is not None:
        covered = [w for w in covered if w.end <= last_flown + horizon_days * 86_400 or w.anneal in flown]
    cut = Calendar.from_dict(calendar.to_dict() | {"count": max(len(covered), max(flown, default=0))})
    anneals = [Anneal(w) for w in cut.windows]
    keys = zip(timeline["visit_id"], to_seconds(timeline["start"]).tolist(), strict=True)
    where = {key: i for i, key in enumerate(keys)}
    instruments, targets = timeline["instrument"].to_numpy(), timeline["target"].to_numpy()
    for anneal in anneals:
        if anneal.window.anneal in flown:
            visit_id, t = flown[anneal.window.anneal]
            anneal.visit_id, anneal.time, anneal.decided_at = visit_id, t, "flown"
            if (visit_id, t) in where:  # a flown slew the current schedule no longer lists has no details
                i = where[visit_id, t]
                anneal.instrument, anneal.target = instruments[i], targets[i]
    known = Known(timeline, rules, reaches, prior.weeks(calendar, begins, policy.sample_weeks))
    why = {}
    for anneal in anneals:
        if anneal.decided_at is None:
            reason = decide(anneal, anneals, known, cut, policy, "next", explain=True)
            if reason:
                why[anneal.window.anneal] = reason
    outcome = Replay(anneals, policy.name, rules, cut, timeline, last_issued=reaches, reaches=reaches)
    frame = replay_frame(outcome)
    frame["state"] = [
        "flown" if a.decided_at == "flown" else "missed" if a.missed else "planned" for a in anneals
    ]
    pins = tuple(Pin(k, v, t) for k, (v, t) in sorted(flown.items()) if k <= cut.count)
    instance = Instance(
        timeline=timeline, program=replace(program, calendar=cut), rules=rules, allow_missing=True, pins=pins
    )
    missed = [a.window.anneal for a in anneals if a.missed]
    # Why a week cannot be served (the rules' counts and the nearest eligible slews, as `solve`
    # says it), worked out only when some week is missed.
    windows = window_slews(timeline, cut, rules) if missed else []
    reasons = {k: reason for k, reason in unserved(windows, instance).items() if k in missed}
    problems = check_plan(frame.drop(columns=["decided_at", "replans", "state"]), instance)
    ours = [p for p in problems if p.anneal not in flown]
    if ours:
        raise InternalError(f"the weekly plan failed the checker: {ours[0]}")
    notes = [str(p) for p in problems if p.anneal in flown]
    learned = prior.describe(calendar, begins, policy.sample_weeks)
    outlook = rest_of_cycle(policy, anneals, known, calendar, cut.count)
    return WeeklyPlan(frame, program, instance, reasons, reaches, policy.name, learned, why, outlook, notes)


def rest_of_cycle(
    policy: Policy, anneals: list[Anneal], known: Known, calendar: Calendar, planned: int
) -> Outlook:
    """The policy's expected Σ|gap − m·target| over the windows of `calendar` after the first
    `planned`, on its own model of the weeks (planner/online/outlook.py): the weeks it would learn
    from at the next decision (the prior's, then the published ones; for a policy that learns
    nothing, the last SAMPLE_WEEKS published), from the last anneal placed."""
    model = _samples(known, calendar, policy.sample_weeks or SAMPLE_WEEKS)
    rest = calendar.windows[planned:]
    placed = [(a.time, a.window.anneal) for a in anneals if a.time is not None]
    previous = None
    if rest and placed:
        time, anneal = placed[-1]
        previous = Neighbour(time - rest[0].start, rest[0].anneal - anneal)
    return expected_rest(
        policy,
        model["samples"],
        len(rest),
        target=calendar.target_seconds,
        window_seconds=calendar.window_seconds,
        prior_weeks=model["prior_weeks"],
        previous=previous,
    )


def write_weekly(plan: WeeklyPlan, path, timeline: pd.DataFrame) -> None:
    """A plan file `check`, `compare`, `plot` and `report` read: FEASIBLE (online, not proven
    optimal), the placed anneals' Σ|gap − m·target| as its objective, flown anneals as pins."""

    from planner.io import write_parquet
    from planner.online.outcome import REPLAY_SCHEMA, chain_metrics
    from planner.plans.result import plan_metadata
    from planner.solver.solve import timeline_identity

    placed = plan.frame[plan.frame["slew_time"].notna()]
    value = chain_metrics(placed["anneal"], to_seconds(placed["slew_time"]), plan.calendar.target_seconds)
    meta = plan_metadata(
        status="FEASIBLE",
        objective={"name": "regular", "value": value["sum_abs_deviation_s"], "bound": None},
        stages=[],
        program=plan.instance.program.to_dict(),
        calendar=plan.calendar.to_dict(),
        options=plan.instance.options(),
        timeline=timeline_identity(timeline),
        versions={"planner": __version__},
        checked=True,
        missing=sorted(plan.reasons),
        online={
            "policy": plan.policy,
            # The plan records the calendar cut to the covered windows; next week's run goes on with
            # the whole program's count, or it could never plan past this week's last window.
            "count": plan.program.calendar.count,
            "prior": plan.prior,
            "reasons": {str(k): v for k, v in plan.reasons.items()},
            "why": {str(k): v for k, v in plan.why.items()},
        },
    )
    write_parquet(plan.frame, REPLAY_SCHEMA, meta, path)


def continued_program(path) -> tuple[pd.DataFrame, Program]:
    """Last week's plan and the program to go on with: the one it records, with the whole count
    of anneals a weekly plan records beside its cut calendar (`online.count`)."""
    from planner import limits
    from planner.plans.planfile import read_plan_program

    plan, meta, program = read_plan_program(path)
    whole = meta.get("online", {}).get("count")
    if (
        isinstance(whole, int)
        and not isinstance(whole, bool)
        and program.calendar.count < whole <= limits.MAX_COUNT
    ):
        program = program.with_calendar(count=whole)
    return plan, program
