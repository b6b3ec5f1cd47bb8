"""Solver options, checked at construction so a bad value never reaches the solver."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from planner import limits
from planner.errors import OptionError
from planner.pins import Pin
from planner.rules import RuleSet, load_rules

OBJECTIVES = ("regular", "mean", "minimax")
PRUNING = ("dp", "none")


@dataclass(frozen=True, slots=True, kw_only=True)
class SolveOptions:
    """How to solve.

    workers: CP-SAT search workers. The default 1 with linearization level 2 proves these models
      quickly and deterministically; 2 workers run no LP-based worker in CP-SAT's portfolio.
    prune: 'dp' drops anneal pairs that no plan as good as the DP's can use (see planner.model);
      'none' gives CP-SAT every pair (the unreduced model, for testing and comparison).
    allow_missing: anneals whose window has no eligible slew are left out (and listed) instead of
      making the problem infeasible; intervals across them are measured against m·target.
    pins: anneals fixed to a slew (planner.pins.Pin), kept by a constraint of the model.
    rules: which slews may carry an anneal (planner.rules): a RuleSet, 'operations' (the default),
      'seed', a rules TOML file, or a recorded rule set (dict) from a plan's metadata.
    """

    objective: str = "regular"
    time_limit: float = 60.0
    workers: int = 1
    seed: int = 0
    prune: str = "dp"
    min_gap_days: float = 0.0
    allow_missing: bool = False
    pins: tuple[Pin, ...] = ()
    rules: RuleSet = field(default_factory=load_rules)

    def __post_init__(self) -> None:
        # From JSON metadata pins come back as dicts: accept them so a plan's options round-trip.
        object.__setattr__(self, "pins", tuple(map(Pin.coerce, self.pins)))
        if not isinstance(self.rules, RuleSet | dict | str) and self.rules is not None:
            raise OptionError(f"rules {self.rules!r}: expected a rule set name, a rules file or a table")
        rules = RuleSet.from_dict(self.rules) if isinstance(self.rules, dict) else load_rules(self.rules)
        object.__setattr__(self, "rules", rules)
        if not isinstance(self.objective, str) or self.objective not in OBJECTIVES:
            raise OptionError(f"objective {self.objective!r}: expected one of {', '.join(OBJECTIVES)}")
        limits.number("time limit", self.time_limit, 0, limits.MAX_TIME_LIMIT, low_open=True)
        limits.number("workers", self.workers, 1, limits.MAX_WORKERS, integer=True)
        limits.number("seed", self.seed, 0, limits.INT32_MAX, integer=True)
        if not isinstance(self.prune, str) or self.prune not in PRUNING:
            raise OptionError(f"prune {self.prune!r}: expected one of {', '.join(PRUNING)}")
        limits.number("min gap days", self.min_gap_days, 0, limits.MAX_DAYS)
        if not isinstance(self.allow_missing, bool):
            raise OptionError(f"allow_missing {self.allow_missing!r}: expected true or false")

    def to_dict(self) -> dict:
        """Plain JSON-able values; the rule set in full, as `RuleSet.from_dict` reads it back."""
        return asdict(self) | {"rules": self.rules.to_dict()}

    @classmethod
    def from_metadata(cls, recorded: dict) -> tuple[SolveOptions, bool]:
        """Options recorded in a plan file, and whether they predate rule sets.

        A plan made before rule sets records no `rules` and perhaps `miri_recovery_minutes`: it was
        made under the seed's rules with that recovery, and is read that way."""
        recorded = dict(recorded)
        legacy = "rules" not in recorded
        if legacy:
            recovery = recorded.pop("miri_recovery_minutes", 0.0)
            recorded["rules"] = load_rules("seed").with_recovery(recovery)
        return cls(**recorded), legacy
