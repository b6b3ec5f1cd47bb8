"""Co-planning: several slew-parallel programs placed together on the slews of one timeline.

A `JointInstance` holds the timeline, the programs (weekly series such as the MIRI anneals, and
campaign programs such as the NIRSpec lamps and NIRISS flats), the rule set applied to each of them,
and how far a weekly window with no eligible slew free (none, or all held by a program not
planned) is widened. What it plans:

- every observation of every program on slews eligible under its own program's rules: a weekly
  window's one run, or a campaign's `iterations` runs, consecutive ones at least its separation
  apart, all inside its window; an observation is served whole or not at all;
- no slew carries two slew parallels;
- the slews that the planned programs' own runs flew on are free: the timeline the rules judge is
  the flown one with those slew parallels taken off (`freed`); other programs' slew parallels stay.

Programs are told apart on the timeline by their program ids (a program without ids by its mode),
so two programs may not claim one program id, nor two programs without ids one mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planner import limits
from planner.errors import OptionError
from planner.problem.calendar import to_seconds
from planner.problem.eligibility import exclusion_reason, window_slews
from planner.problem.instance import MAX_WIDEN_HOURS
from planner.problem.program import Program, load_program, program_id
from planner.problem.rules import RuleSet, rules_for
from planner.schedules.report import SLEW_PARALLEL

MAX_PROGRAMS = 20  # a cycle flies about eight slew-parallel programs
# (run, eligible slew) pairs, one Boolean each: a real cycle has 5,000-10,000, the ten-year
# five-program synthetic 134,000 (827 MB peak, benchmarks.joint); memory grows with them.
MAX_CHOICES = 1_000_000


@dataclass(frozen=True, slots=True)
class Observation:
    """One observation to serve: its program (index into the instance's programs), its number in
    that program (1-based), its window and runs, and its eligible slews (`rows` index the timeline;
    `times` their starts). A weekly window has one run and no preferred times."""

    program: int
    number: int
    label: str
    start: int
    end: int
    iterations: int
    separation: int  # seconds between consecutive runs, at least
    rows: np.ndarray
    times: np.ndarray
    preferred: tuple[int, ...] = ()  # a campaign's runs' preferred times
    why: str = ""  # for a window without eligible slews: the rules that excluded its visits
    weekly: bool = False  # a weekly series' window (a node of its program's path), not a campaign


@dataclass(frozen=True, eq=False, kw_only=True)
class JointInstance:
    """Several programs on one timeline, checked at construction (OptionError: one line naming the
    programs in conflict). `rules` (a rule set name, file or RuleSet) is applied to each program as
    `Instance.rules` is to one; a list holds one recorded rule set per program (a plan's)."""

    timeline: pd.DataFrame
    programs: tuple[Program, ...]
    rules: RuleSet | str | Path | list | tuple | None = None
    widen_hours: float = 0.0
    rule_sets: tuple[RuleSet, ...] = field(init=False)
    freed: pd.DataFrame = field(init=False)
    observations: tuple[Observation, ...] = field(init=False)

    def __post_init__(self) -> None:
        programs = tuple(self.programs)
        if not programs or not all(isinstance(p, Program) for p in programs):
            raise OptionError("programs: expected at least one Program to co-plan")
        if len(programs) > MAX_PROGRAMS:
            raise OptionError(f"{len(programs)} programs: expected at most {MAX_PROGRAMS} to co-plan")
        _refuse_conflicts(programs)
        weekly = [p for p in programs if not p.campaigns]
        if len({p.objective for p in weekly}) > 1:
            a, b = next((a, b) for a in weekly for b in weekly if a.objective != b.objective)
            raise OptionError(
                f"programs {a.name} ({a.objective}) and {b.name} ({b.objective}): weekly programs "
                "co-planned share one objective, summed in one stage; give them the same one"
            )
        limits.number("widen hours", self.widen_hours, 0, MAX_WIDEN_HOURS)
        for p in programs:
            c = p.calendar
            if not p.campaigns and self.widen_hours > max((c.target_days - c.window_days) * 12, 0):
                raise OptionError(
                    f"widen hours {self.widen_hours:g}: {p.name}'s widened windows would reach the next one"
                )
        if isinstance(self.rules, list | tuple):  # one recorded rule set per program, as a plan keeps
            if len(self.rules) != len(programs):
                raise OptionError(f"rules: {len(self.rules)} rule sets for {len(programs)} programs")
            rule_sets = tuple(rules_for(r, p) for r, p in zip(self.rules, programs, strict=True))
        else:
            rule_sets = tuple(rules_for(self.rules, p) for p in programs)
        object.__setattr__(self, "programs", programs)
        object.__setattr__(self, "rule_sets", rule_sets)
        object.__setattr__(self, "freed", free_slews(self.timeline, programs))
        object.__setattr__(self, "observations", tuple(self._observations()))
        choices = sum(o.iterations * len(o.rows) for o in self.observations)
        if choices > MAX_CHOICES:  # before any model is built: memory grows with these
            largest = max(self.observations, key=lambda o: o.iterations * len(o.rows))
            raise OptionError(
                f"{choices:,} (run, eligible slew) choices, at most {MAX_CHOICES:,}: the largest is "
                f"{largest.label} ({largest.iterations} runs x {len(largest.rows):,} slews); give "
                "shorter windows or fewer iterations"
            )

    @property
    def widen_seconds(self) -> int:
        return round(self.widen_hours * 3600)

    def _observations(self):
        starts = to_seconds(self.freed["start"])
        for index, (program, rules) in enumerate(zip(self.programs, self.rule_sets, strict=True)):
            if not program.campaigns:
                for w in window_slews(self.freed, program.calendar, rules, self.widen_seconds, freed=True):
                    why = "" if len(w.rows) else w.explain().removeprefix(f"{w.window.label} ")
                    yield Observation(
                        index, w.window.anneal, w.window.label, w.window.start, w.window.end, 1, 0,
                        w.rows, w.times, why=why, weekly=True,
                    )  # fmt: skip
                continue
            # The rules once over the span of all the program's campaigns, then each window's share.
            lo, hi = (int(i) for i in np.searchsorted(starts, program.span))
            reason = exclusion_reason(self.freed, rules, slice(lo, hi), freed=True)
            eligible = np.flatnonzero(reason == "") + lo
            times = starts[eligible]
            for number, campaign in enumerate(program.campaigns, start=1):
                first, last = np.searchsorted(times, [campaign.start, campaign.end])
                yield Observation(
                    index,
                    number,
                    f"{program.name} {number:02d}",
                    campaign.start,
                    campaign.end,
                    campaign.iterations,
                    max(campaign.separation_seconds, 1),  # two runs never share a time
                    eligible[first:last],
                    times[first:last],
                    campaign.preferred_times(),
                    why="" if last > first else _excluded(reason, starts[lo:hi], campaign, rules),
                )


def _excluded(reason: np.ndarray, starts: np.ndarray, campaign, rules: RuleSet) -> str:
    """Why a campaign's window has no eligible slew: its visits, and how many each rule excluded."""
    inside = reason[(starts >= campaign.start) & (starts < campaign.end)]
    counts = {rule: int(np.count_nonzero(inside == rule)) for rule in rules.rule_names()}
    return rules.counted(len(inside), counts, 0)


def planned_by(parallel: dict, programs: tuple[Program, ...]) -> bool:
    """Is this attached row a slew parallel of one of `programs` (by program id, else by mode)?"""
    if parallel["visit_type"] != SLEW_PARALLEL:
        return False
    ids = {i for p in programs for i in p.program_ids}
    if program_id(parallel.get("visit_id")) in ids:
        return True
    return any(not p.program_ids and parallel["instrument"] == p.mode for p in programs)


def free_slews(timeline: pd.DataFrame, programs: tuple[Program, ...]) -> pd.DataFrame:
    """The timeline with the planned programs' own slew parallels taken off their slews."""
    carrying = np.flatnonzero(timeline["slew_parallel"].notna().to_numpy())
    if not len(carrying):
        return timeline
    parallels = timeline["parallels"].to_numpy().copy()
    modes = timeline["slew_parallel"].to_numpy(dtype=object).copy()
    for i in carrying:
        kept = [p for p in parallels[i] if not planned_by(p, programs)]
        if len(kept) != len(parallels[i]):
            parallels[i] = kept
            left = [p["instrument"] for p in kept if p["visit_type"] == SLEW_PARALLEL]
            modes[i] = left[0] if left else None
    freed = timeline.copy()
    freed["parallels"] = parallels
    freed["slew_parallel"] = modes
    return freed


def _refuse_conflicts(programs: tuple[Program, ...]) -> None:
    """Programs that the timeline could not tell apart, or that are one program twice: one line."""
    for i, a in enumerate(programs):
        for b in programs[i + 1 :]:
            shared = sorted(set(a.program_ids) & set(b.program_ids))
            if a.name == b.name:
                raise OptionError(
                    f"programs {a.name} and {b.name}: one name twice; expected distinct programs"
                )
            if shared:
                raise OptionError(
                    f"programs {a.name} and {b.name} both claim program {shared[0]}: a program's runs "
                    "belong to one program file"
                )
            if a.mode == b.mode and not (a.program_ids and b.program_ids):
                raise OptionError(
                    f"programs {a.name} and {b.name} both claim mode {a.mode!r} without program ids "
                    "to tell their runs apart; give each its `programs`"
                )


def load_programs(specs) -> tuple[Program, ...]:
    """Programs from names, program files, Programs, and folders (every *.toml in one, by name)."""
    programs: list[Program] = []
    for spec in specs if isinstance(specs, list | tuple) else [specs]:
        if isinstance(spec, str | Path) and Path(spec).is_dir():
            files = sorted(Path(spec).glob("*.toml"))
            if not files:
                raise OptionError(f"--program {spec}: a folder without program files (*.toml)")
            if len(files) > MAX_PROGRAMS:
                raise OptionError(
                    f"--program {spec}: {len(files)} program files; expected at most {MAX_PROGRAMS}"
                )
            programs += [load_program(f) for f in files]
        else:
            programs.append(load_program(spec))
    return tuple(programs)
