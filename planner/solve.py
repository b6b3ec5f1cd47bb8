"""The one entry point: `solve(timeline, calendar, options) -> Result`.

Lexicographic objectives run as stages on one model: solve, fix the stage's optimum as a
constraint, hint the whole plan, minimise the next expression. Every plan passes the independent
checker before it is returned.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from planner import limits, oracle
from planner.calendar import DAY, Calendar, to_timestamps
from planner.chain import Chain
from planner.checker import check_plan
from planner.eligibility import WindowSlews, window_slews
from planner.errors import InfeasibleError, InternalError
from planner.explain import chain_conflict, empty_windows
from planner.model import ChainModel, all_pairs, bound_pairs
from planner.options import SolveOptions
from planner.pins import resolve_pins
from planner.result import PLAN_SCHEMA, Result, Status
from planner.timeline import load_timeline


def versions() -> dict:
    return {"planner": version("anneal-planner"), "ortools": version("ortools")}


def solve(
    timeline: pd.DataFrame | Path | str | list | None = None,
    calendar: Calendar | None = None,
    options: SolveOptions | None = None,
    *,
    on_progress: Callable[[str], None] | None = None,
) -> Result:
    """Place every anneal of `calendar` on an eligible slew of `timeline`, optimally.

    `on_progress` receives a status line per stage and per improving solution (value and bound)."""
    calendar = calendar or Calendar()
    options = options or SolveOptions()
    started = time.perf_counter()
    frame = timeline if isinstance(timeline, pd.DataFrame) else load_timeline(timeline)
    windows = window_slews(frame, calendar, options.rules)
    placed = [w for w in windows if len(w.rows)]
    if not placed or (len(placed) < len(windows) and not options.allow_missing):
        raise InfeasibleError(empty_windows(windows))
    pins = resolve_pins(options.pins, windows, frame, options.rules)
    layer = {w.window.anneal: k for k, w in enumerate(placed)}
    min_gap = max(1, round(options.min_gap_days * DAY))
    chain = Chain.from_windows(
        placed, calendar.target_seconds, min_gap, {layer[a]: i for a, i in pins.items()}
    )
    if options.prune == "none":
        limits.unpruned_pairs([len(layer) for layer in chain.layers])
    conflict = chain_conflict(chain)
    if conflict:
        raise InfeasibleError(conflict)
    stages = _Stages(chain, options, started, on_progress)
    choice = stages.run()
    result = Result(
        status=stages.status,
        objective=options.objective,
        value=stages.records[0]["value"] if stages.records else None,
        bound=stages.records[0]["bound"] if stages.records else None,
        stages=stages.records,
        plan=plan_frame(frame, windows, placed, choice, calendar) if choice else _empty_plan(),
        calendar=calendar.to_dict(),
        options=options.to_dict(),
        timeline=timeline_identity(frame),
        build_seconds=stages.build_seconds,
        solve_seconds=stages.solve_seconds,
        versions=versions(),
    )
    if result.status == Status.INFEASIBLE:  # the DP check above found a plan: a solver fault
        raise InternalError("CP-SAT reported INFEASIBLE for a problem the DP can solve")
    if choice:
        problems = check_plan(result.plan, frame, calendar, options, claimed=result.value)
        if problems:  # a bug, not bad input: never hand such a plan to a user
            raise InternalError(f"the solver's plan failed the checker ({'; '.join(problems)})")
        result.checked = True
    return result


class _Stages:
    """Builds the model for the objective and runs its lexicographic stages."""

    def __init__(self, chain: Chain, options: SolveOptions, started: float, on_progress=None):
        self.chain, self.options, self.started = chain, options, started
        self.on_progress = on_progress
        self.records: list[dict] = []
        self.status = Status.UNKNOWN
        self.solve_seconds = 0.0
        self.build_seconds = 0.0

    def run(self) -> tuple[int, ...] | None:
        """Solve the primary objective, then `regular` (for mean / minimax), then the tie-break."""
        primary = {"regular": self._regular, "minimax": self._minimax, "mean": self._mean}
        model, choice = primary[self.options.objective]()
        if choice is not None and self.status == Status.OPTIMAL:
            choice = self._stage(model, "earliest", model.earliest(), choice) or choice
        return choice if self.status.has_plan else None

    @property
    def _prune(self) -> bool:
        return self.options.prune == "dp"

    def _regular(self):
        known = oracle.best_path(self.chain, "sum") if self._prune else None
        pairs = bound_pairs(self.chain, "sum", known.cost) if known else all_pairs(self.chain)
        model = ChainModel(self.chain, pairs)
        hint = known.choice if known else None
        tight = known.cost if known else None
        return model, self._stage(model, "regular", model.regular(), hint, primary=True, tight_at=tight)

    def _minimax(self):
        chain = self.chain
        known = oracle.lexicographic(chain, "minimax")[1] if self._prune else None
        upper = oracle.plan_cost(chain, known.choice, "max") if known else np.inf
        first = ChainModel(chain, bound_pairs(chain, "max", upper))
        choice = self._stage(first, "minimax", first.minimax(), known and known.choice, primary=True)
        if choice is None or self.status != Status.OPTIMAL:
            return first, choice
        # Lexicographic step: only pairs within the proven worst deviation remain.
        return self._then_regular(cap=self.records[-1]["value"], fallback=choice)

    def _mean(self):
        chain = self.chain
        first = ChainModel(chain)  # node model: the mean depends on the first and last anneal only
        choice = self._stage(first, "mean", first.mean(), None, primary=True)
        if choice is None or self.status != Status.OPTIMAL:
            return first, choice
        best = self.records[-1]["value"]
        weeks = chain.anneals[-1] - chain.anneals[0]
        span = chain.layers[-1][None, :] - chain.layers[0][:, None] - weeks * chain.target
        ends = np.abs(span) <= best  # (first, last) pairs that keep the proven mean
        masks = {0: ends.any(axis=1), chain.size - 1: ends.any(axis=0)}
        return self._then_regular(masks=masks, mean=best, fallback=choice)

    def _then_regular(self, *, fallback, cap=None, masks=None, mean=None):
        """Minimise `regular` among plans that keep the primary optimum (cap or mean bound)."""
        chain = self.chain
        hint = fallback
        if self._prune:
            # Any plan keeping the primary optimum bounds the regular cost; the DP restricted to
            # the cap (minimax) or to the fallback's first and last slews (mean) gives a good one.
            if mean is None:
                known = oracle.best_path(chain, "sum", cap)
                hint = known.choice if known.feasible else hint
            else:
                ends = {0: np.arange(len(chain.layers[0])) == fallback[0]}
                ends[chain.size - 1] = np.arange(len(chain.layers[-1])) == fallback[-1]
                known = oracle.best_path(chain, "sum", masks=ends)
                hint = known.choice if known.feasible else hint
            upper = oracle.plan_cost(chain, hint, "sum")
            pairs = bound_pairs(chain, "sum", upper, cap, masks)
        else:
            pairs = all_pairs(chain, cap)
        model = ChainModel(chain, pairs)
        if mean is not None:
            model.model.add(model.mean() <= mean)
        tight = upper if self._prune and mean is None else None
        return model, self._stage(model, "regular", model.regular(), hint, tight_at=tight) or fallback

    def _stage(self, model: ChainModel, name: str, expr, hint, *, primary: bool = False, tight_at=None):
        """Minimise `expr`; on proof, fix it for the next stage. Returns the plan or None.

        `tight_at`: the bound the pairs were pruned with. When the proven optimum equals it, every
        kept pair is tight (forward + cost = forward of its end), so every plan left in the model
        is optimal and fixing the value would add nothing but a side constraint that spoils the
        flow's integral LP for the tie-break stage (1 s instead of 0.1 s on the decade)."""
        model.model.minimize(expr)
        if hint is not None:
            model.hint(hint)
        solver = cp_model.CpSolver()
        # CP-SAT's own SIGINT handler allocates inside the signal handler (it can deadlock); Ctrl-C is
        # Python's, and solve_interruptibly stops the search.
        solver.parameters.catch_sigint_signal = False
        solver.parameters.num_workers = self.options.workers
        solver.parameters.random_seed = self.options.seed
        solver.parameters.linearization_level = 2
        # Presolve probing and symmetry detection cost more than they save on these flow models:
        # minimax on real Cycle 2 proves in 0.05 s without them against 0.30 s with them.
        solver.parameters.cp_model_probing_level = 0
        solver.parameters.symmetry_level = 0
        remaining = self.options.time_limit - (time.perf_counter() - self.started)
        solver.parameters.max_time_in_seconds = max(remaining, 0.01)
        self.build_seconds = time.perf_counter() - self.started - self.solve_seconds
        callback = None
        if self.on_progress is not None:
            self.on_progress(f"stage {name}: solving {len(model.model.proto.variables)} variables")
            callback = _Progress(name, self.on_progress)
        status = Status.from_cp_sat(solver.status_name(solve_interruptibly(solver, model.model, callback)))
        self.solve_seconds += solver.wall_time
        record = {
            "name": name,
            "status": status.value,
            "seconds": round(solver.wall_time, 4),
            # the objective comes back as a float: int() would truncate 151199.99... to 151199
            "value": round(solver.objective_value) if status.has_plan else None,
            "bound": float(solver.best_objective_bound) if status.has_plan else None,
            "variables": len(model.model.proto.variables),
        }
        self.records.append(record)
        if primary:
            self.status = status
        elif name != "earliest" and self.status == Status.OPTIMAL and status != Status.OPTIMAL:
            self.status = Status.FEASIBLE  # the primary is proven, a later objective is not
        if not status.has_plan:
            return None
        if status == Status.OPTIMAL and not (tight_at is not None and record["value"] == round(tight_at)):
            model.model.add(expr <= record["value"])  # fix this stage for the next
        return model.choice(solver)


class _Progress(cp_model.CpSolverSolutionCallback):
    """Reports each improving solution of a stage with CP-SAT's current bound."""

    def __init__(self, stage: str, show: Callable[[str], None]):
        super().__init__()
        self.stage, self.show = stage, show

    def on_solution_callback(self) -> None:
        self.show(
            f"stage {self.stage}: best {self.objective_value:.0f} s, bound {self.best_objective_bound:.0f} s"
        )


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
    anneals = sorted(slew)
    times = np.array([slew[a][1] for a in anneals], dtype=np.int64)
    chosen = timeline.iloc[[slew[a][0] for a in anneals]]
    intervals = np.diff(times)
    weeks = np.diff(anneals)
    frame = pd.DataFrame(
        {
            "anneal": anneals,
            "visit_id": chosen["visit_id"].to_numpy(),
            "slew_time": to_timestamps(times),
            "instrument": chosen["instrument"].to_numpy(),
            "target": chosen["target"].to_numpy(),
            "interval_days": np.concatenate([[np.nan], intervals / DAY]),
            "deviation_hours": np.concatenate(
                [[np.nan], (intervals - weeks * calendar.target_seconds) / 3600]
            ),
        }
    )
    calendar_rows = pd.DataFrame(
        {
            "anneal": [w.window.anneal for w in windows],
            "label": [w.window.label for w in windows],
            "window_start": to_timestamps([w.window.start for w in windows]),
            "window_end": to_timestamps([w.window.end for w in windows]),
        }
    )
    return calendar_rows.merge(frame, on="anneal", how="left")[PLAN_SCHEMA.names]


def _empty_plan() -> pd.DataFrame:
    return PLAN_SCHEMA.empty_table().to_pandas()


def timeline_identity(frame: pd.DataFrame) -> dict:
    """Where the timeline came from: its Parquet file, or the sources it was built from, and a sha256.

    Paths are absolute so the checker finds them from any folder. A timeline made in memory
    (synthetic, perturbed) names its recipe in `sources` and has no sha256."""
    path = frame.attrs.get("path")
    sources = [str(Path(s).resolve()) if Path(s).is_file() else s for s in frame.attrs.get("sources", [])]
    files = [str(Path(path).resolve())] if path else sources
    readable = bool(files) and all(Path(f).is_file() for f in files)
    digest = hashlib.sha256()
    for name in files if readable else []:
        digest.update(Path(name).read_bytes())
    return {
        "path": files[0] if path else None,
        "sources": None if path else sources,
        "sha256": digest.hexdigest() if readable else None,
    }
