"""Solver options, checked at construction so a bad value never reaches the solver."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from planner import limits
from planner.errors import OptionError
from planner.problem.rules import RuleSet, load_rules

OBJECTIVES = ("regular", "mean", "minimax")
# The online policy of `replay`, `next` and batch replays (planner.online.policies; chosen in docs/weekly.md).
DEFAULT_POLICY = "rollout"
PRUNING = ("dp", "none")


_VISIT_ID = re.compile(r"\d{1,9}:\d{1,9}:\d{1,9}")


@dataclass(frozen=True, slots=True)
class Pin:
    """An anneal fixed to a slew in advance (flown or committed): its visit id, and the slew time
    when it comes from an earlier plan (a visit id can recur, so the time identifies the slew).
    Resolved against the timeline by planner.problem.pins."""

    anneal: int
    visit_id: str
    time: int | None = None  # seconds since the epoch; None: the visit's only slew in the window

    def __post_init__(self) -> None:
        limits.number("pinned anneal", self.anneal, 1, limits.MAX_COUNT, integer=True)
        if not isinstance(self.visit_id, str) or not _VISIT_ID.fullmatch(self.visit_id):
            raise OptionError(f"pin visit id {self.visit_id!r}: expected program:visit:observation")
        if self.time is not None:
            limits.number("pin time", self.time, limits.FIRST_SECOND, limits.LAST_SECOND, integer=True)

    @classmethod
    def coerce(cls, value) -> Pin:
        """A Pin, or one from plan metadata (a dict of exactly its fields; untrusted)."""
        if isinstance(value, Pin):
            return value
        if not isinstance(value, dict) or not {"anneal", "visit_id"} <= set(value) <= {
            "anneal",
            "visit_id",
            "time",
        }:
            raise OptionError(f"pin {value!r}: expected a table of anneal, visit_id and time")
        return cls(**value)

    def describe(self) -> str:
        from planner.problem.calendar import format_instant

        at = f" at {format_instant(self.time)}" if self.time is not None else ""
        return f"Anneal {self.anneal:02d} is pinned to {self.visit_id}{at}"


def parse_param(text: str) -> tuple[str, str]:
    """`--param key=value` -> (key, value); SolveOptions checks them against CP-SAT's SatParameters."""
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key or not value:
        raise OptionError(f"--param {text!r}: expected key=value, e.g. linearization_level=2")
    return key, value


def _sat_parameters(params: tuple[tuple[str, str], ...]) -> None:
    """Checks (key, value) pairs against CP-SAT's SatParameters text format; an OptionError names
    a key it does not know or a value of the wrong type. (ortools is loaded only when there are any.)"""
    from google.protobuf import text_format
    from ortools.sat import sat_parameters_pb2

    parameters = sat_parameters_pb2.SatParameters()
    for key, value in params:
        try:
            text_format.Parse(f"{key}: {value}", parameters)
        except text_format.ParseError as err:
            raise OptionError(
                f"--param {key}={value}: not a CP-SAT parameter of that type ({err}); see "
                "ortools/sat/sat_parameters.proto"
            ) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class SolveOptions:
    """How to solve.

    workers: CP-SAT search workers. The default 1 with linearization level 2 proves these models
      quickly and deterministically; 2 workers run no LP-based worker in CP-SAT's portfolio.
    prune: 'dp' drops anneal pairs that no plan as good as the DP's can use (see planner.solver.model);
      'none' gives CP-SAT every pair (the unreduced model, for testing and comparison).
    allow_missing: anneals whose window has no eligible slew are left out (and listed) instead of
      making the problem infeasible; intervals across them are measured against m·target.
    pins: anneals fixed to a slew (Pin), kept by a constraint of the model.
    rules: which slews may carry an anneal (planner.problem.rules): a RuleSet, 'operations' (the default),
      'seed', a rules TOML file, or a recorded rule set (dict) from a plan's metadata.
    params: CP-SAT parameters (key, value) applied after the planner's own (planner.solver.solve), in
      CP-SAT's text format, e.g. ("linearization_level", "1").
    log: show CP-SAT's search log.
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
    params: tuple[tuple[str, str], ...] = ()
    log: bool = False

    def __post_init__(self) -> None:
        # From JSON metadata pins and params come back as dicts and lists: accept them so a plan's
        # options round-trip.
        object.__setattr__(self, "pins", tuple(map(Pin.coerce, self.pins)))
        if not isinstance(self.rules, RuleSet | dict | str) and self.rules is not None:
            raise OptionError(f"rules {self.rules!r}: expected a rule set name, a rules file or a table")
        rules = RuleSet.from_dict(self.rules) if isinstance(self.rules, dict) else load_rules(self.rules)
        object.__setattr__(self, "rules", rules)
        object.__setattr__(self, "params", tuple((str(k), str(v)) for k, v in self.params))
        if self.params:
            _sat_parameters(self.params)
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
