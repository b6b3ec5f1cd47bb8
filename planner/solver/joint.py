"""The joint CP-SAT model: every program of a `JointInstance` on one set of slews, lexicographically.

Variables:
- `x[o][r][i]`: run r of observation o on its i-th eligible slew;
- `served[o]`: observation o is served (each of its runs on one slew) or not (none of them);
- per weekly program, a path through its windows: `arc` Booleans from a slew of one window to a
  slew of a later one, from a source into a window's slew, and from a window's slew to a sink.

Constraints: one slew parallel per slew (at most one `x` of all programs on each slew); a campaign's
runs in order, consecutive ones at least its separation apart (`t[r+1] >= t[r] + sep·served`, on
times relative to its window); a weekly program's picks are the nodes of its path (flow in = pick =
flow out).

The path may skip a window only when every eligible slew of that window is also eligible for some
other program's run (a *contested* window) or has none (it is then no node at all). That loses no
lexicographic optimum: the first stage maximises the served observations' total priority, and a
window with a slew no other program can use is served by every plan of that maximum (adding its run
there serves one more observation and takes nothing from anyone). So the arcs stay few: consecutive
windows, plus the skips over contested ones, and an arc's cost |gap - m·target| is the gap's own
deviation across the m windows it spans, as the single-program planner measures a missing window.

Stages, each from the previous stage's complete solution and holding the values proven before it:
1. `served`: Σ priority over observations left unserved (those without an eligible slew included);
2. the weekly programs' objective (Σ of each one's `regular`, `minimax` or `mean`); then `regular`
   when that objective is another;
3. `displacement`: Σ over campaign runs of |run time - its preferred time| (seconds).
A stage that is not proven leaves the plan FEASIBLE; the next stages still run, holding its value.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from planner.errors import InternalError
from planner.plans.compare import intervals
from planner.plans.joint_result import JOINT_PLAN_SCHEMA, JointResult
from planner.plans.result import StageRecord, Status
from planner.problem.calendar import DAY
from planner.problem.joint import JointInstance, Observation
from planner.problem.settings import SolverSettings

SERVED, DISPLACEMENT = "served", "displacement"


@dataclass
class _Path:
    """One weekly program's path: its nodes' pick variables and its arcs (for the objectives)."""

    program: int
    target: int
    layers: list[Observation]
    arcs: list[tuple[int, int, int, int, cp_model.IntVar]] = field(default_factory=list)  # k,i,k2,j,var
    sources: list[tuple[int, int, cp_model.IntVar]] = field(default_factory=list)  # k,i,var
    sinks: list[tuple[int, int, cp_model.IntVar]] = field(default_factory=list)

    def cost(self, k: int, i: int, k2: int, j: int) -> int:
        a, b = self.layers[k], self.layers[k2]
        return abs(int(b.times[j] - a.times[i]) - (b.number - a.number) * self.target)


class JointModel:
    """The model of a joint instance (see the module's docstring), built once; stages add bounds."""

    def __init__(self, instance: JointInstance):
        self.instance = instance
        self.model = cp_model.CpModel()
        self.origin = int(instance.timeline["start"].iloc[0].timestamp()) if len(instance.timeline) else 0
        self.x: dict[int, list[list[cp_model.IntVar]]] = {}  # observation index -> runs -> slews
        self.served: dict[int, cp_model.LinearExprT] = {}
        self.paths: list[_Path] = []
        observations = instance.observations
        self.index = {id(o): n for n, o in enumerate(observations)}
        on_slew: dict[int, list[cp_model.IntVar]] = {}
        for n, o in enumerate(observations):
            if not len(o.rows):
                continue
            runs = [[self.model.new_bool_var(f"x_{n}_{r}_{i}") for i in range(len(o.rows))]
                    for r in range(o.iterations)]  # fmt: skip
            self.x[n] = runs
            for run in runs:
                for var, row in zip(run, o.rows.tolist(), strict=True):
                    on_slew.setdefault(row, []).append(var)
            if o.weekly:  # a node of its program's path: at most one slew, set by the flow (_path)
                self.served[n] = cp_model.LinearExpr.sum(runs[0])
            else:
                served = self.model.new_bool_var(f"served_{n}")
                self.served[n] = served
                for r, run in enumerate(runs):
                    self.model.add(cp_model.LinearExpr.sum(run) == served)
                    if r:
                        self.model.add(
                            self._time(o, run) >= self._time(o, runs[r - 1]) + o.separation * served
                        )
        for variables in on_slew.values():
            if len(variables) > 1:
                self.model.add_at_most_one(variables)
        contested = self._contested(on_slew)
        for p, program in enumerate(instance.programs):
            if not program.campaigns:
                self._path(p, program, contested)

    def _time(self, o: Observation, run: list[cp_model.IntVar]) -> cp_model.LinearExpr:
        """A run's time in seconds after its window opens (0 when it is not served)."""
        return cp_model.LinearExpr.weighted_sum(run, (o.times - o.start).tolist())

    def _contested(self, on_slew: dict[int, list]) -> set[int]:
        """Weekly observations every eligible slew of which another observation may use."""
        weekly_rows = {
            n: o.rows for n, o in enumerate(self.instance.observations) if o.weekly and len(o.rows)
        }
        return {n for n, rows in weekly_rows.items() if all(len(on_slew[r]) > 1 for r in rows.tolist())}

    def _path(self, p: int, program, contested: set[int]) -> None:
        nodes = [o for o in self.instance.of(p) if len(o.rows)]
        path = _Path(p, program.calendar.target_seconds, nodes)
        self.paths.append(path)
        numbers = [self.index[id(o)] for o in nodes]
        skippable = [n in contested for n in numbers]
        incoming: list[list[list]] = [[[] for _ in o.rows] for o in nodes]
        outgoing: list[list[list]] = [[[] for _ in o.rows] for o in nodes]
        for k in range(len(nodes)):
            if all(skippable[:k]):
                for i in range(len(nodes[k].rows)):
                    var = self.model.new_bool_var("")
                    path.sources.append((k, i, var))
                    incoming[k][i].append(var)
            if all(skippable[k + 1 :]):
                for i in range(len(nodes[k].rows)):
                    var = self.model.new_bool_var("")
                    path.sinks.append((k, i, var))
                    outgoing[k][i].append(var)
            for k2 in range(k + 1, len(nodes)):
                for i, j in itertools.product(range(len(nodes[k].rows)), range(len(nodes[k2].rows))):
                    if nodes[k2].times[j] > nodes[k].times[i]:
                        var = self.model.new_bool_var("")
                        path.arcs.append((k, i, k2, j, var))
                        outgoing[k][i].append(var)
                        incoming[k2][j].append(var)
                if not skippable[k2]:
                    break
        starts = [v for *_, v in path.sources]
        if all(skippable):  # every window contested: a path may serve none
            starts.append(self.model.new_bool_var("none"))
        self.model.add_exactly_one(starts)
        for k, number in enumerate(numbers):
            for i, pick in enumerate(self.x[number][0]):
                self.model.add(cp_model.LinearExpr.sum(incoming[k][i]) == pick)
                self.model.add(cp_model.LinearExpr.sum(outgoing[k][i]) == pick)

    # -- stage expressions ---------------------------------------------------------------------------

    def unserved_priority(self) -> cp_model.LinearExprT:
        """Σ priority of observations left unserved, those without a slew included (a constant)."""
        total = sum(self.instance.programs[o.program].priority for o in self.instance.observations)
        served = [(self.served[n], self.instance.programs[o.program].priority)
                  for n, o in enumerate(self.instance.observations) if n in self.served]  # fmt: skip
        return total - cp_model.LinearExpr.weighted_sum([s for s, _ in served], [w for _, w in served])

    def weekly(self, kind: str) -> cp_model.LinearExprT:
        """Σ over the weekly programs of `kind` (regular, minimax or mean) of each one's path."""
        terms = []
        for path in self.paths:
            if kind == "regular":
                terms.append(
                    cp_model.LinearExpr.weighted_sum(
                        [a[4] for a in path.arcs], [path.cost(*a[:4]) for a in path.arcs]
                    )
                )
            elif kind == "minimax":
                bound = max((path.cost(*a[:4]) for a in path.arcs), default=0)
                worst = self.model.new_int_var(0, bound, f"worst_{path.program}")
                for *ends, var in path.arcs:
                    self.model.add(worst >= path.cost(*ends) * var)
                terms.append(worst)
            else:  # mean: |last - first - (last number - first number)·target|
                span = self._ends(path, path.sinks) - self._ends(path, path.sources)
                horizon = sum(abs(c) for c in self._coefficients(path)) + 1
                deviation = self.model.new_int_var(0, horizon, f"mean_{path.program}")
                self.model.add(deviation >= span)
                self.model.add(deviation >= -span)
                terms.append(deviation)
        return cp_model.LinearExpr.sum(terms)

    def _ends(self, path: _Path, ends: list[tuple[int, int, cp_model.IntVar]]) -> cp_model.LinearExpr:
        """time - number·target of the path's first (sources) or last (sinks) node, relative."""
        return cp_model.LinearExpr.weighted_sum(
            [v for *_, v in ends],
            [int(path.layers[k].times[i]) - self.origin - path.layers[k].number * path.target
             for k, i, _ in ends],
        )  # fmt: skip

    def _coefficients(self, path: _Path) -> list[int]:
        return [int(o.times.max()) - self.origin + o.number * path.target for o in path.layers]

    def displacement(self) -> cp_model.LinearExprT:
        variables, costs = [], []
        for n, o in enumerate(self.instance.observations):
            if o.weekly or n not in self.x:
                continue
            for run, preferred in zip(self.x[n], o.preferred, strict=True):
                variables += run
                costs += np.abs(o.times - preferred).tolist()
        return cp_model.LinearExpr.weighted_sum(variables, costs)

    def choice(self, solver: cp_model.CpSolver) -> dict[int, list[int]]:
        """Observation index -> the slew index of each run (served observations only)."""
        chosen = {}
        for n, runs in self.x.items():
            picks = [next((i for i, v in enumerate(run) if solver.boolean_value(v)), None) for run in runs]
            if all(i is not None for i in picks):
                chosen[n] = [int(i) for i in picks if i is not None]
        return chosen


def stage_names(instance: JointInstance) -> list[str]:
    """The stages in order: served; the weekly programs' objective (theirs when they share one, else
    regular), then regular; displacement when there are campaign programs."""
    weekly = [p.objective for p in instance.programs if not p.campaigns]
    names = [SERVED]
    if weekly:
        objective = weekly[0] if len(set(weekly)) == 1 else "regular"
        names.append(objective)
        if objective != "regular":
            names.append("regular")
    if any(p.campaigns for p in instance.programs):
        names.append(DISPLACEMENT)
    return names


@dataclass
class JointStages:
    """Runs the stages on one model; each stage holds the values of those before it."""

    model: JointModel
    settings: SolverSettings
    started: float
    on_progress: Callable[[str], None] | None = None
    records: list[StageRecord] = field(default_factory=list)
    solve_seconds: float = 0.0

    def run(self) -> dict[int, list[int]]:
        names = stage_names(self.model.instance)
        expressions = {
            SERVED: self.model.unserved_priority(),
            DISPLACEMENT: self.model.displacement() if DISPLACEMENT in names else None,
        }
        for name in names:
            if name not in expressions:  # the weekly programs' objective, then regular if it was another
                expressions[name] = self.model.weekly(name)
        solution: list[int] | None = None
        choice: dict[int, list[int]] = {}
        for name in names:
            expression = expressions[name]
            model = self.model.model
            model.minimize(expression)
            if solution is not None:
                model.clear_hints()
                model.proto.solution_hint.vars.extend(range(len(solution)))
                model.proto.solution_hint.values.extend(solution)
            remaining = self.settings.time_limit - (time.perf_counter() - self.started)
            solver = cp_model.CpSolver()
            from planner.solver.solve import configure, solve_interruptibly

            configure(solver, self.settings, max(remaining, 0.01), name)
            solver.parameters.cp_model_presolve = True  # the joint model is no pure flow: presolve helps
            if self.on_progress is not None:
                self.on_progress(f"stage {name}: solving {len(model.proto.variables):,} variables")
            status = Status.from_cp_sat(solver.status_name(solve_interruptibly(solver, model)))
            self.solve_seconds += solver.wall_time
            if not status.has_plan:
                if solution is None:
                    raise InternalError(f"the joint {name} stage found no plan ({status.value})")
                raise InternalError(f"the joint {name} stage lost the hinted plan ({status.value})")
            value = round(solver.objective_value)
            bound = max(0.0, float(solver.best_objective_bound))
            earlier_unproven = any(not r.proven for r in self.records)
            self.records.append(
                StageRecord(
                    name=name,
                    role="objective",
                    status=status,
                    value=value,
                    bound=bound,
                    seconds=round(solver.wall_time, 4),
                    variables=len(model.proto.variables),
                    constraints=len(model.proto.constraints),
                    note="optimal given the values of earlier stages that were not proven"
                    if earlier_unproven and status == Status.OPTIMAL
                    else "",
                )
            )
            if self.on_progress is not None:
                self.on_progress(f"stage {name}: best {value:,} s, bound {bound:,.0f} s")
            solution = list(solver.response_proto.solution)
            choice = self.model.choice(solver)
            model.add(expression <= value)  # later stages keep this stage's value
        return choice


def solve_joint(
    instance: JointInstance,
    settings: SolverSettings | None = None,
    *,
    on_progress: Callable[[str], None] | None = None,
) -> JointResult:
    """Co-plan every program of `instance` (see the module's docstring). Every plan passes the
    independent checker (planner.plans.joint_checker) before it is returned."""
    from planner.plans.joint_checker import check_joint
    from planner.solver.solve import timeline_identity, versions

    settings = settings or SolverSettings()
    started = time.perf_counter()
    model = JointModel(instance)
    stages = JointStages(model, settings, started, on_progress)
    choice = stages.run()
    result = JointResult(
        stages=stages.records,
        plan=joint_plan_frame(instance, choice),
        programs=[p.to_dict() for p in instance.programs],
        options={"rules": instance.rule_sets[0].to_dict(), "widen_hours": instance.widen_hours}
        | settings.to_dict(),
        timeline=timeline_identity(instance.timeline),
        build_seconds=time.perf_counter() - started - stages.solve_seconds,
        solve_seconds=stages.solve_seconds,
        versions=versions(),
        unserved={o.label: o.why for o in instance.observations if not len(o.rows)},
    )
    problems = check_joint(result.plan, instance, claimed={s.name: s.value for s in result.stages})
    if problems:  # a bug, not bad input: never hand such a plan to a user
        raise InternalError(f"the joint plan failed the checker ({'; '.join(map(str, problems[:5]))})")
    result.checked = True
    return result


def joint_plan_frame(instance: JointInstance, choice: dict[int, list[int]]) -> pd.DataFrame:
    """One row per run of every observation (JOINT_PLAN_SCHEMA); unserved runs have no slew."""
    frame = instance.timeline
    rows = []
    measured: dict[int, pd.DataFrame] = {}
    for p, program in enumerate(instance.programs):  # weekly programs: the one measure of intervals
        if program.campaigns:
            continue
        served = [(o.number, int(o.times[choice[n][0]])) for n, o in enumerate(instance.observations)
                  if o.program == p and n in choice]  # fmt: skip
        numbers = np.array([k for k, _ in served], dtype=np.int64)
        times = np.array([t for _, t in served], dtype=np.int64)
        gaps = intervals(times, numbers, program.calendar.target_seconds)
        measured[p] = pd.DataFrame(
            {"interval_s": gaps["interval_s"].to_numpy(), "deviation_s": gaps["deviation_s"].to_numpy()},
            index=numbers[1:],
        )
    ids, instruments, targets = (
        frame[c].to_numpy(dtype=object) for c in ("visit_id", "instrument", "target")
    )
    for n, o in enumerate(instance.observations):
        program = instance.programs[o.program]
        for r in range(o.iterations):
            i = choice[n][r] if n in choice else None
            row = None if i is None else int(o.rows[i])
            gap = measured.get(o.program)
            has_gap = gap is not None and i is not None and o.number in gap.index
            rows.append(
                {
                    "program": program.name,
                    "observation": o.number,
                    "iteration": r + 1,
                    "label": o.label,
                    "window_start": o.start,
                    "window_end": o.end,
                    "visit_id": None if row is None else ids[row],
                    "slew_time": None if i is None else int(o.times[i]),
                    "instrument": None if row is None else instruments[row],
                    "target": None if row is None else targets[row],
                    "preferred_time": o.preferred[r] if o.preferred else None,
                    "interval_days": gap.at[o.number, "interval_s"] / DAY if has_gap else np.nan,
                    "deviation_hours": gap.at[o.number, "deviation_s"] / 3600 if has_gap else np.nan,
                }
            )
    plan = pd.DataFrame(rows, columns=JOINT_PLAN_SCHEMA.names)
    for column in ("window_start", "window_end", "slew_time", "preferred_time"):
        seconds = pd.array(plan[column].tolist(), dtype="Int64")
        plan[column] = pd.to_datetime(seconds, unit="s", utc=True).as_unit("s")
    return plan.astype({"observation": "int64", "iteration": "int64"})
