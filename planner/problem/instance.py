"""What is planned: one program's observations on the slews of one timeline, under a rule set.

An `Instance` holds the timeline, the program (its calendar, objective, mode and avoided
instruments), the rule set applied to that program, the pins, the least gap between observations
and whether windows without an eligible slew may be left out. How it is solved (time limit,
workers, seed, pruning, CP-SAT parameters) is apart, in `planner.solver.settings.SolverSettings`,
as PyJobShop keeps `ProblemData` and PyVRP `SolveParams` apart. The independent checker
(`planner.plans.checker`) reads an instance too: the one a plan records.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from planner import limits
from planner.errors import OptionError
from planner.problem.calendar import Calendar
from planner.problem.pins import Pin
from planner.problem.program import SEED, Program, load_program
from planner.problem.rules import RuleSet, rules_for

if TYPE_CHECKING:
    import pandas as pd

# The keys an instance records in a plan's `options`, beside the solver settings' (SETTINGS_KEYS).
INSTANCE_KEYS = ("objective", "min_gap_days", "allow_missing", "widen_hours", "pins", "rules")
MAX_WIDEN_HOURS = 72.0  # three days: a 4-day window in a 7-day week widened both ways meets the next


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Instance:
    """One planning problem, checked at construction so a bad value never reaches the solver.

    rules: a RuleSet, 'operations' (the default), 'seed', a rules TOML file, or a recorded rule set
      (a dict from a plan's metadata); applied to the program (its instruments, mode, recovery).
    pins: observations fixed to a slew (Pin), kept by a constraint of the model.
    min_gap_days: the least time between consecutive observations (0: one second, never one slew).
    allow_missing: observations whose window has no eligible slew are left out (and listed, with
      why and the nearest eligible slews) instead of making the problem infeasible (the default:
      under the slew-time rule a cycle has such windows); intervals across them are measured
      against m·target. Every window that has an eligible slew is served: the objective only
      orders plans that serve the same windows.
    widen_hours: a window with no eligible slew is widened by this many hours on both sides (0:
      none), so that its observation can take the nearest slews instead of being left out.
    """

    timeline: pd.DataFrame
    program: Program = field(default_factory=lambda: load_program(SEED))
    rules: RuleSet | str | dict | None = None
    pins: tuple[Pin, ...] = ()
    min_gap_days: float = 0.0
    allow_missing: bool = True
    widen_hours: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.program, Program):
            raise OptionError(f"program {self.program!r}: expected a Program (planner.problem.program)")
        self.program.require_weekly("program")
        object.__setattr__(self, "rules", rules_for(self.rules, self.program))
        # From JSON metadata pins come back as dicts: accept them so a plan's instance round-trips.
        if not isinstance(self.pins, list | tuple):
            raise OptionError(f"pins {self.pins!r}: expected a list of pins")
        object.__setattr__(self, "pins", tuple(map(Pin.coerce, self.pins)))
        limits.number("min gap days", self.min_gap_days, 0, limits.MAX_DAYS)
        if not isinstance(self.allow_missing, bool):
            raise OptionError(f"allow_missing {self.allow_missing!r}: expected true or false")
        limits.number("widen hours", self.widen_hours, 0, MAX_WIDEN_HOURS)
        gap = (self.calendar.target_seconds - self.calendar.window_seconds) / 2 / 3600
        if self.widen_hours > max(gap, 0):
            raise OptionError(
                f"widen hours {self.widen_hours:g}: a widened window would reach the next one (at most "
                f"{max(gap, 0):g} h with {self.calendar.window_days:g}-day windows every "
                f"{self.calendar.target_days:g} days)"
            )

    @property
    def calendar(self) -> Calendar:
        return self.program.calendar

    @property
    def objective(self) -> str:
        return self.program.objective

    @property
    def widen_seconds(self) -> int:
        return round(self.widen_hours * 3600)

    @property
    def rule_set(self) -> RuleSet:
        assert isinstance(self.rules, RuleSet)  # made so by __post_init__
        return self.rules

    @classmethod
    def build(
        cls,
        timeline: pd.DataFrame | Path | str | list | None = None,
        program: Program | str | Path | None = None,
        *,
        calendar: Calendar | None = None,
        objective: str | None = None,
        rules: RuleSet | str | dict | None = None,
        pins=(),
        min_gap_days: float = 0.0,
        allow_missing: bool = True,
        widen_hours: float = 0.0,
    ) -> Instance:
        """An instance from what a caller has at hand: a timeline frame or paths (None: the
        shipped one), a program or its name (None: the seed, seed-4485), and a calendar and
        objective that override the program's."""
        import pandas as pd

        from planner.schedules.timeline import load_timeline

        frame = timeline if isinstance(timeline, pd.DataFrame) else load_timeline(timeline)
        chosen = load_program(program if program is not None else SEED)
        if calendar is not None:
            chosen = replace(chosen, calendar=calendar)
        if objective is not None:
            chosen = replace(chosen, objective=objective)
        return cls(
            timeline=frame,
            program=chosen,
            rules=rules,
            pins=tuple(pins),
            min_gap_days=min_gap_days,
            allow_missing=allow_missing,
            widen_hours=widen_hours,
        )

    @classmethod
    def of_calendar(cls, timeline: pd.DataFrame, calendar: Calendar, rules: RuleSet, **options) -> Instance:
        """The instance of a calendar and a rule set already applied to some program (its mode,
        instruments and recovery): the seed's program with those, as replays and the weekly job
        plan a calendar they were given."""
        program = replace(
            load_program(SEED),
            calendar=calendar,
            mode=rules.mode,
            avoid=rules.avoid,
            recovery_minutes=rules.miri_recovery_minutes,
        )
        return cls(timeline=timeline, program=program, rules=rules, **options)

    def with_timeline(self, timeline: pd.DataFrame) -> Instance:
        return replace(self, timeline=timeline)

    def options(self) -> dict:
        """The instance's recorded part of a plan's `options` (the program is recorded whole
        beside it); `from_options` reads it back."""
        return {
            "objective": self.objective,
            "min_gap_days": self.min_gap_days,
            "allow_missing": self.allow_missing,
            "widen_hours": self.widen_hours,
            "pins": [{"anneal": p.anneal, "visit_id": p.visit_id, "time": p.time} for p in self.pins],
            "rules": self.rule_set.to_dict(),
        }
