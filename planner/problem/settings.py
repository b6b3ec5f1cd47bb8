"""How to solve, as data: CP-SAT's time limit, workers, seed, parameters and log, and the model's
pruning. `planner.solver.solve` applies them; plans record them.

Kept apart from what is solved (`planner.problem.instance.Instance`), as PyVRP keeps `SolveParams`
beside its `ProblemData`: the same instance under other settings is the same problem, and the
plan must not depend on them (the tie-break stage makes it so for workers and seeds).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from planner import limits
from planner.errors import OptionError

PRUNING = ("dp", "none")
SETTINGS_KEYS = ("time_limit", "workers", "seed", "prune", "params", "log")


def parse_param(text: str) -> tuple[str, str]:
    """`--param key=value` -> (key, value); SolverSettings checks them against CP-SAT's SatParameters."""
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
class SolverSettings:
    """How to solve.

    time_limit: seconds for the whole solve, building the model included.
    workers: CP-SAT search workers. The default 1 with linearization level 2 proves these models
      quickly and deterministically; 2 workers run no LP-based worker in CP-SAT's portfolio.
    seed: CP-SAT's random seed.
    prune: 'dp' drops pairs of slews that no plan as good as the DP's can use (planner.solver.model);
      'none' gives CP-SAT every pair (the unreduced model, for testing and comparison).
    params: CP-SAT parameters (key, value) applied after the planner's own (planner.solver.solve),
      in CP-SAT's text format, e.g. ("linearization_level", "1").
    log: show CP-SAT's search log (on stderr).
    """

    time_limit: float = 60.0
    workers: int = 1
    seed: int = 0
    prune: str = "dp"
    params: tuple[tuple[str, str], ...] = ()
    log: bool = False

    def __post_init__(self) -> None:
        # From JSON metadata params come back as lists: accept them so a plan's settings round-trip.
        if not isinstance(self.params, list | tuple) or not all(
            isinstance(p, list | tuple) and len(p) == 2 for p in self.params
        ):
            raise OptionError(f"params {self.params!r}: expected (key, value) pairs")
        object.__setattr__(self, "params", tuple((str(k), str(v)) for k, v in self.params))
        if self.params:
            _sat_parameters(self.params)
        limits.number("time limit", self.time_limit, 0, limits.MAX_TIME_LIMIT, low_open=True)
        limits.number("workers", self.workers, 1, limits.MAX_WORKERS, integer=True)
        limits.number("seed", self.seed, 0, limits.INT32_MAX, integer=True)
        if not isinstance(self.prune, str) or self.prune not in PRUNING:
            raise OptionError(f"prune {self.prune!r}: expected one of {', '.join(PRUNING)}")
        if not isinstance(self.log, bool):
            raise OptionError(f"log {self.log!r}: expected true or false")

    def to_dict(self) -> dict:
        return asdict(self)
