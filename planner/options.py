"""Solver options, checked at construction so a bad value never reaches the solver."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from planner.errors import OptionError
from planner.pins import Pin

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
    """

    objective: str = "regular"
    time_limit: float = 60.0
    workers: int = 1
    seed: int = 0
    prune: str = "dp"
    min_gap_days: float = 0.0
    miri_recovery_minutes: float = 0.0
    allow_missing: bool = False
    pins: tuple[Pin, ...] = ()

    def __post_init__(self) -> None:
        # From JSON metadata pins come back as dicts: accept them so a plan's options round-trip.
        pins = tuple(p if isinstance(p, Pin) else Pin(**p) for p in self.pins)
        object.__setattr__(self, "pins", pins)
        if self.objective not in OBJECTIVES:
            raise OptionError(f"objective {self.objective!r}: expected one of {', '.join(OBJECTIVES)}")
        if not self.time_limit > 0:
            raise OptionError(f"time limit {self.time_limit!r}: expected seconds > 0")
        if not isinstance(self.workers, int) or self.workers < 1:
            raise OptionError(f"workers {self.workers!r}: expected a whole number >= 1")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise OptionError(f"seed {self.seed!r}: expected a whole number >= 0")
        if self.prune not in PRUNING:
            raise OptionError(f"prune {self.prune!r}: expected one of {', '.join(PRUNING)}")
        if self.min_gap_days < 0:
            raise OptionError(f"min gap {self.min_gap_days!r}: expected days >= 0")
        if self.miri_recovery_minutes < 0:
            raise OptionError(f"MIRI recovery {self.miri_recovery_minutes!r}: expected minutes >= 0")

    def to_dict(self) -> dict:
        return asdict(self)
