"""The one entry point: `solve(instance, settings) -> Result`.

Lexicographic objectives run as stages (`_Stages` below): the objective, then `regular` (for mean
and minimax), then the earliest-slews tie-break, each from a complete hint. The plan's status is
derived from the stage records (planner.plans.result.overall_status). Every plan passes the independent
checker before it is returned.
"""

from __future__ import annotations

import contextlib
import functools
import math
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from planner import limits
from planner.errors import InfeasibleError, InternalError, OptionError
from planner.io import files_sha256
from planner.plans.checker import check_plan
from planner.plans.compare import intervals
from planner.plans.result import PLAN_SCHEMA, Result, Role, StageRecord, Status, overall_status
from planner.problem.calendar import DAY, Calendar, to_seconds, to_timestamps
from planner.problem.eligibility import WindowSlews, window_slews
from planner.problem.instance import Instance
from planner.problem.pins import resolve_pins
from planner.problem.settings import SolverSettings
from planner.schedules.timeline import DEFAULT_TIMELINE, SHIPPED_NAME
from planner.solver import oracle
from planner.solver.chain import Chain
from planner.solver.explain import chain_conflict, empty_windows, unserved
from planner.solver.model import FlowModel, Scope, Scoped, scoped_pairs


def versions() -> dict:
    import ortools

    from planner import __version__

    return {"planner": __version__, "ortools": getattr(ortools, "__version__", "unknown")}  # untyped


def solve(
    instance: Instance,
    settings: SolverSettings | None = None,
    *,
    on_progress: Callable[[str], None] | None = None,
) -> Result:
    """Place every observation of the instance's program on an eligible slew of its timeline,
    optimally, solving as `settings` say (default: SolverSettings()).

    The plan records the program in full, the instance's options and the settings.
    `on_progress` receives a status line per stage and per improving solution (value and bound),
    and each stage's outcome."""
    settings = settings or SolverSettings()
    started = time.perf_counter()
    chain, windows, placed = build_chain(instance)
    check_prunable(chain, settings)
    stages = _Stages(chain, instance.objective, settings, started, on_progress)
    choice = stages.run()
    primary = stages.records[0]
    frame, calendar = instance.timeline, instance.calendar
    result = Result(
        status=overall_status(stages.records, has_plan=True),
        objective=instance.objective,
        value=primary.value,
        bound=primary.bound,
        stages=stages.records,
        plan=plan_frame(frame, windows, placed, choice, calendar),
        calendar=calendar.to_dict(),
        options=instance.options() | settings.to_dict(),
        program=instance.program.to_dict(),
        timeline=timeline_identity(frame),
        build_seconds=time.perf_counter() - started - stages.solve_seconds,
        solve_seconds=stages.solve_seconds,
        versions=versions(),
        unserved=unserved(windows, instance),
    )
    problems = check_plan(result.plan, instance, claimed=result.value)
    if problems:  # a bug, not bad input: never hand such a plan to a user
        raise InternalError(f"the solver's plan failed the checker ({'; '.join(map(str, problems))})")
    result.checked = True
    return result


def build_chain(instance: Instance) -> tuple[Chain, list[WindowSlews], list[WindowSlews]]:
    """The chain of a problem (with the windows, and those that have a slew); InfeasibleError
    names the anneals when no plan exists."""
    frame, calendar, rules = instance.timeline, instance.calendar, instance.rule_set
    windows = window_slews(frame, calendar, rules, instance.widen_seconds)
    placed = [w for w in windows if len(w.rows)]
    if not placed or (len(placed) < len(windows) and not instance.allow_missing):
        starts = to_seconds(frame["start"])
        span = (int(starts.min()), int(starts.max())) if len(starts) else None
        raise InfeasibleError(empty_windows(windows, span, allow_missing=instance.allow_missing))
    pins = resolve_pins(instance.pins, windows, frame, rules)
    layer = {w.window.anneal: k for k, w in enumerate(placed)}
    min_gap = max(1, round(instance.min_gap_days * DAY))
    chain = Chain.from_windows(
        placed, calendar.target_seconds, min_gap, {layer[a]: i for a, i in pins.items()}
    )
    return chain, windows, placed


def check_prunable(chain: Chain, settings: SolverSettings) -> None:
    """Refuse an unreduced model too large to build, and a chain no plan satisfies."""
    if settings.prune == "none":
        limits.unpruned_pairs([len(layer) for layer in chain.layers])
    conflict = chain_conflict(chain)
    if conflict:
        raise InfeasibleError(conflict)


# The objective stages of each objective, in lexicographic order; then the tie-break.
OBJECTIVE_STAGES = {"regular": ("regular",), "minimax": ("minimax", "regular"), "mean": ("mean", "regular")}
TIE_BREAK = "earliest"  # Σ_k (slew time - first slew of window k): the plan's earliest slews

# The planner's CP-SAT parameters (before --param):
# - 1 worker with linearization level 2 (set from SolverSettings.workers): with 2 workers CP-SAT's
#   portfolio runs no LP-based worker and does not prove these models;
# - the flow's rows all in the LP from the start (not added lazily) and no presolve: the LP of a
#   flow is integral, so the root LP proves the optimum; presolve, probing and symmetry detection
#   only delay that root (measured on real Cycle 2 unreduced, `regular`: about ten times faster);
# - so the root LP may run to its end: CP-SAT stops it after 2,000 simplex iterations by default,
#   and a model of 7,700 rows (a dense year, unreduced) needs more than 10,000;
# - no search along the hint before the main search (hint_conflict_limit 0): the hint is complete,
#   CP-SAT takes it as the first solution, and following it re-solves the LP at every decision,
#   which on a big model costs seconds and finds nothing the root LP does not. Measured with
#   `python -m benchmarks --suites race`, dense year from a greedy plan: `mean` 8.8 -> 2.8 s,
#   `regular` 3.0 -> 1.2 s.
PARAMETERS = {
    "linearization_level": 2,
    "add_lp_constraints_lazily": False,
    "cp_model_presolve": False,
    "cp_model_probing_level": 0,
    "symmetry_level": 0,
    "root_lp_iterations": 50_000,
    "hint_conflict_limit": 0,
}
# Per stage, over PARAMETERS. The `minimax` rows (worst >= each gap's deviation) make the LP no
# longer integral: with every row in it from the start the root LP is slow to close, and added
# lazily only the rows the LP violates enter; and the search along the hint is what finds better
# plans, since the root LP alone does not. Measured (race suite, one worker, same hint): Cycle 2
# unreduced 0.57 -> 0.04 s, dense_year unreduced 1.6 -> 0.9 s, faster on every pruned minimax
# model; Cycle 2 from a greedy plan 0.10 s with the hint search, 0.69 s without. Lazy rows make
# `regular` 30 times and `mean` (greedy-pruned) 5 times slower, so they are minimax's alone.
# (hint_conflict_limit 10 is CP-SAT's default.)
# FIXED_SEARCH: follow the minimax model's own strategy first (FlowModel.add_worst_deviation).
STAGE_PARAMETERS = {
    "minimax": {
        "add_lp_constraints_lazily": True,
        "hint_conflict_limit": 10,
        "search_branching": cp_model.FIXED_SEARCH,
    }
}


def configure(solver: cp_model.CpSolver, settings: SolverSettings, time_limit: float, stage: str) -> None:
    """The planner's parameters for `stage`, then the settings' workers, seed, log and --param values."""
    parameters = solver.parameters
    # CP-SAT's own SIGINT handler allocates inside the signal handler (it can deadlock); Ctrl-C is
    # Python's, and solve_interruptibly stops the search.
    parameters.catch_sigint_signal = False
    for key, value in (PARAMETERS | STAGE_PARAMETERS.get(stage, {})).items():
        setattr(parameters, key, value)
    parameters.num_workers = settings.workers
    parameters.random_seed = settings.seed
    parameters.log_search_progress = settings.log
    for key, text in settings.params:  # checked by SolverSettings
        parameters.merge_text_format(f"{key}: {text}")
    # The log goes to stderr whether --log or --param log_search_progress=true asked for it: stdout
    # carries the result (`--json` is one document there).
    parameters.log_to_stdout = False
    if parameters.log_search_progress:
        solver.log_callback = _log_line
    parameters.max_time_in_seconds = time_limit


def _log_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def stage_scope(objective: str, limits: dict[str, int]) -> Scope:
    """The flow model's scope for `objective` given stage values known so far (DP or proven)."""
    return Scope(
        cap=limits.get("minimax"),
        mean=limits.get("mean"),
        regular=limits.get("regular"),
        ends=objective == "mean",
    )


class ModelInvalidError(InternalError):
    """CP-SAT rejected the model: a fault of the model builder (exit 3); the message is CP-SAT's."""


class _Stages:
    """Runs the lexicographic stages of the objective, then the tie-break, on flow models.

    The exact DP gives the plan of the whole lexicographic order first. It is every stage's
    complete hint and the fallback when the solver returns nothing within the time limit.
    With `prune dp` every stage solves one model that keeps the pairs of plans lexicographically
    no worse than the DP's (so each stage proves its value at the root); with `prune none` the
    first stage solves the unreduced model and each later stage keeps exactly the plans of the
    values proven before it."""

    def __init__(
        self,
        chain: Chain,
        objective: str,
        settings: SolverSettings,
        started: float,
        on_progress: Callable[[str], None] | None = None,
    ):
        self.chain, self.objective, self.settings, self.started = chain, objective, settings, started
        self.on_progress = on_progress
        self.records: list[StageRecord] = []
        self.solve_seconds = 0.0
        self._expressions: dict[str, cp_model.LinearExprT] = {}

    def run(self) -> tuple[int, ...]:
        known = oracle.lexicographic(self.chain, self.objective)
        assert known is not None, "chain_conflict found a plan, the DP must too"
        plan = known.choice
        dp_limits = {self.objective: known.value, "regular": known.regular}
        names = [*OBJECTIVE_STAGES[self.objective], TIE_BREAK]
        proven: dict[str, int] = {}
        model: FlowModel | None = None
        scope: Scope | None = None
        scoped: Scoped | None = None
        for index, name in enumerate(names):
            role: Role = "tie-break" if name == TIE_BREAK else "objective"
            if index and self.records[-1].status != Status.OPTIMAL:
                self._skip(name, role, plan, "not run: the stage before it was not proven")
                continue
            wanted = stage_scope(self.objective, dp_limits if self.settings.prune == "dp" else proven)
            if model is None or wanted != scope:
                scope, scoped = wanted, scoped_pairs(self.chain, wanted)
                model = FlowModel(
                    self.chain, pairs=scoped.pairs, ends=scoped.ends, potentials=scoped.potentials
                )
                self._expressions = {}
                for earlier, value in proven.items():  # limits the scope does not hold exactly
                    if not self._holds(scope, scoped, earlier, value):
                        model.model.add(self._expression(model, earlier) <= value)
            plan = self._stage(model, name, role, plan)
            if self.records[-1].status == Status.OPTIMAL and role == "objective":
                proven_value = self.records[-1].value
                assert proven_value is not None
                proven[name] = proven_value
                assert scope is not None and scoped is not None
                if not self._holds(scope, scoped, name, proven_value):
                    model.model.add(self._expression(model, name) <= proven_value)
        return plan

    @staticmethod
    def _holds(scope: Scope, scoped: Scoped, name: str, value: int) -> bool:
        """Does the model of `scope` hold only plans with `name` <= `value`, without a constraint?"""
        if name == "minimax":
            return scope.cap is not None and scope.cap <= value
        if name == "mean":
            return scope.mean is not None and scope.mean <= value
        return scope.regular is not None and scope.regular <= value and scoped.exact

    def _expression(self, model: FlowModel, name: str) -> cp_model.LinearExprT:
        """The stage's expression on `model`, built once per model (minimax adds a variable)."""
        if name not in self._expressions:
            build = {
                "regular": model.total_deviation,
                "minimax": model.add_worst_deviation,
                "mean": model.span_deviation,
                TIE_BREAK: model.slew_lateness,
            }[name]
            self._expressions[name] = build()
        return self._expressions[name]

    def _value(self, name: str, plan: tuple[int, ...]) -> int:
        """The stage's expression on a plan, from the chain (for a plan the solver did not return)."""
        chain = self.chain
        if name == TIE_BREAK:
            return oracle.plan_lateness(chain, plan)
        if name == "mean":
            return int(oracle.end_costs(chain)[plan[0], plan[-1]])
        return round(oracle.plan_cost(chain, plan, "max" if name == "minimax" else "sum"))

    def _skip(self, name: str, role: Role, plan: tuple[int, ...], note: str) -> None:
        self.records.append(
            StageRecord(
                name=name,
                role=role,
                status=Status.UNKNOWN,
                value=self._value(name, plan),
                bound=0.0,  # nothing proven: every expression is >= 0
                seconds=0.0,
                variables=0,
                constraints=0,
                plan_from="hint",
                note=note,
            )
        )

    def _stage(self, model: FlowModel, name: str, role: Role, hint: tuple[int, ...]) -> tuple[int, ...]:
        """Minimise the stage's expression from the complete hint; returns the stage's plan."""
        model.model.minimize(self._expression(model, name))
        model.hint(hint)
        remaining = self.settings.time_limit - (time.perf_counter() - self.started)
        if remaining <= 0:
            self._skip(name, role, hint, "not run: the time limit was spent before it")
            return hint
        solver, record = run_stage(
            model.model,
            name,
            role,
            self.settings,
            remaining,
            lambda: self._value(name, hint),
            self.on_progress,
        )
        self.solve_seconds += solver.wall_time
        self.records.append(record)
        return model.choice(solver) if record.status.has_plan else hint


def run_stage(
    model: cp_model.CpModel,
    name: str,
    role: Role,
    settings: SolverSettings,
    remaining: float,
    known_value: Callable[[], int],
    on_progress: Callable[[str], None] | None = None,
    *,
    unit: str = " s",
    presolve: bool = False,
    optimal_note: str = "",
    described: str | None = None,
) -> tuple[cp_model.CpSolver, StageRecord]:
    """Solve one lexicographic stage (what `model` minimises, from its hint) within `remaining`
    seconds, for one program and for co-planning alike: the solver and the stage's record. Without
    a plan from the solver the known plan stays: its value (`known_value()`), bound 0, UNKNOWN or
    what CP-SAT said. `presolve`: CP-SAT's presolve on (co-planning's side constraints want it);
    `optimal_note`: the record's note when the stage is proven; `described`: the stage as an
    error names it (default `name`)."""
    solver = cp_model.CpSolver()
    configure(solver, settings, remaining, name)
    if presolve:
        solver.parameters.cp_model_presolve = True
    variables, constraints = len(model.proto.variables), len(model.proto.constraints)
    callback = None
    if on_progress is not None:
        on_progress(f"stage {name}: solving {variables:,} variables")
        callback = _Progress(name, on_progress, unit)
    code = solve_interruptibly(solver, model, callback)
    status = stage_status(solver, model, settings, described or name, code)
    if status.has_plan:
        # the objective comes back as a float: int() would truncate 151199.99... to 151199
        value, bound = round(solver.objective_value), max(0.0, float(solver.best_objective_bound))
        note = optimal_note if status == Status.OPTIMAL else ""
    else:
        value, bound = known_value(), 0.0
        note = "the solver found no plan in time: the known plan is kept"
    record = StageRecord(
        name=name,
        role=role,
        status=status,
        value=value,
        bound=bound,
        seconds=round(solver.wall_time, 4),
        variables=variables,
        constraints=constraints,
        plan_from="solver" if status.has_plan else "hint",
        note=note,
    )
    if on_progress is not None:
        on_progress(f"stage {name}: best {value:,}{unit}, bound {bound:,.0f}{unit}")
    return solver, record


def stage_status(
    solver: cp_model.CpSolver, model: cp_model.CpModel, settings: SolverSettings, name: str, code
) -> Status:
    """The status of a stage solved from a hint that is a plan of its model (CP-SAT's `code`), for
    one program and for co-planning alike. MODEL_INVALID is the user's --param when one was given
    (OptionError), else a bug; INFEASIBLE is a solver fault; and an OPTIMAL that a --param gap
    limit let through (value above the proven bound) is FEASIBLE: nothing claims more than proven."""
    status = Status.from_cp_sat(solver.status_name(code))
    if status == Status.MODEL_INVALID:
        message = model.validate() or solver.solution_info()
        if settings.params:
            raise OptionError(f"--param: CP-SAT rejected the parameters or the model: {message}")
        raise ModelInvalidError(f"CP-SAT rejected the {name} model: {message}")
    if status == Status.INFEASIBLE:
        raise InternalError(f"CP-SAT reported the {name} stage INFEASIBLE, but the hint is a plan of it")
    if status == Status.OPTIMAL and round(solver.objective_value) > math.ceil(
        solver.best_objective_bound - 1e-6
    ):
        return Status.FEASIBLE
    return status


class _Progress(cp_model.CpSolverSolutionCallback):
    """Reports each improving solution of a stage with CP-SAT's current bound."""

    def __init__(self, stage: str, show: Callable[[str], None], unit: str = " s"):
        super().__init__()
        self.stage, self.show, self.unit = stage, show, unit

    def on_solution_callback(self) -> None:
        best, bound, unit = self.objective_value, self.best_objective_bound, self.unit
        self.show(f"stage {self.stage}: best {best:,.0f}{unit}, bound {bound:,.0f}{unit}")


def solve_interruptibly(solver: cp_model.CpSolver, model: cp_model.CpModel, callback=None):
    """`solver.solve(model)` in a thread, so that Ctrl-C (KeyboardInterrupt in the main thread, which
    only waits) stops the search at once and is raised again once the solver has returned."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["status"] = solver.solve(model, callback)
        except BaseException as err:  # handed to the main thread
            outcome["error"] = err

    thread = threading.Thread(target=run, name="cp-sat", daemon=True)
    try:
        thread.start()
        while thread.is_alive():
            thread.join(0.1)
    except BaseException:  # Ctrl-C or SIGTERM: stop the search, and never exit with it running
        while thread.is_alive():  # (a stop asked before the search began is asked again)
            solver.stop_search()
            with contextlib.suppress(KeyboardInterrupt):
                thread.join(0.1)
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["status"]


def plan_frame(
    timeline: pd.DataFrame, windows: list[WindowSlews], placed: list[WindowSlews], choice, calendar: Calendar
) -> pd.DataFrame:
    """The plan table (PLAN_SCHEMA): one row per calendar anneal; missing ones have no slew."""
    slew = {w.window.anneal: (w.rows[i], w.times[i]) for w, i in zip(placed, choice, strict=True)}
    anneals = np.array([w.window.anneal for w in windows])
    at = np.flatnonzero(np.isin(anneals, list(slew)))  # the calendar rows that have a slew
    times = np.array([slew[a][1] for a in anneals[at]], dtype=np.int64)
    chosen = timeline.iloc[[slew[a][0] for a in anneals[at]]]
    gaps = np.full(len(windows), np.nan)
    deviations = np.full(len(windows), np.nan)
    measured = intervals(times, anneals[at], calendar.target_seconds)  # the one measure of intervals
    gaps[at[1:]] = measured["interval_s"].to_numpy() / DAY
    deviations[at[1:]] = measured["deviation_s"].to_numpy() / 3600
    slew_times = pd.array([None] * len(windows), dtype="Int64")
    slew_times[at] = times

    def column(name: str) -> np.ndarray:
        values = np.full(len(windows), None, dtype=object)
        values[at] = chosen[name].to_numpy(dtype=object)
        return values

    return pd.DataFrame(
        {
            "anneal": anneals,
            "label": [w.window.label for w in windows],
            "window_start": to_timestamps([w.window.start for w in windows]),
            "window_end": to_timestamps([w.window.end for w in windows]),
            "visit_id": column("visit_id"),
            "slew_time": pd.to_datetime(slew_times, unit="s", utc=True).as_unit("s"),
            "instrument": column("instrument"),
            "target": column("target"),
            "interval_days": gaps,
            "deviation_hours": deviations,
        }
    )[PLAN_SCHEMA.names]


def timeline_identity(frame: pd.DataFrame) -> dict:
    """Where the timeline came from: its Parquet file, or the sources it was built from, and a sha256.

    Paths are absolute so the checker finds them from any folder. A timeline made in memory
    (synthetic, perturbed) names its recipe in `sources` and has no sha256."""
    path = frame.attrs.get("path")
    sources = [] if path else [_absolute(s) for s in frame.attrs.get("sources", [])]
    files = [_absolute(path)] if path else sources
    readable = bool(files) and all(Path(f).is_file() for f in files)
    versions = tuple((name, *_version(name)) for name in files) if readable else ()
    shipped = bool(path) and files[0] == _absolute(str(DEFAULT_TIMELINE))
    return {
        "path": SHIPPED_NAME if shipped else files[0] if path else None,
        "sources": None if path else sources,
        "sha256": _digest(versions) if readable else None,
    }


@functools.lru_cache(maxsize=1024)
def _absolute(source: str) -> str:
    """An existing file's absolute path; anything else (a recipe) as it is. Cached: a batch
    worker names the same sources for every scenario."""
    return str(Path(source).resolve()) if Path(source).is_file() else source


def _version(name: str) -> tuple[int, int]:
    stat = Path(name).stat()
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=64)
def _digest(versions: tuple[tuple[str, int, int], ...]) -> str:
    """sha256 over the files' bytes in order, computed once per version of the files."""
    return files_sha256(name for name, _mtime, _size in versions)
