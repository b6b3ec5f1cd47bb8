"""Co-planning's solve: the lexicographic stages over the joint model (`planner.solver.joint_model`),
the plan table, and why each observation left out is.

Stages, each from the previous stage's complete solution and holding the values proven before it:
1. `served`: Σ priority over observations left unserved (those without an eligible slew included);
2. the weekly programs' objective (Σ of each one's `regular`, `minimax` or `mean`); then `regular`
   when that objective is another;
3. `displacement`: Σ over campaign runs of |run time - its preferred time| (seconds).
The first stage runs on the model without arcs; its plan (or the heuristic's, when it serves as
many) bounds the arcs `JointModel.add_flows` keeps. A stage that is not proven leaves the plan
FEASIBLE; the next stages still run, holding its value, and each stage states its value on the
final plan.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from planner.errors import InfeasibleError, InternalError
from planner.plans.checker import objective_value
from planner.plans.compare import intervals
from planner.plans.joint_result import JOINT_PLAN_SCHEMA, JointResult
from planner.plans.result import StageRecord
from planner.problem.calendar import DAY
from planner.problem.joint import JointInstance
from planner.problem.settings import SolverSettings
from planner.solver.joint_model import JointModel
from planner.solver.solve import OBJECTIVE_STAGES, run_stage

SERVED, DISPLACEMENT = "served", "displacement"


def stage_names(programs) -> list[str]:
    """The stages of co-planned programs, in order: served; the weekly programs' objective (one:
    JointInstance refuses two), then regular when it is another; displacement for campaigns."""
    weekly = [p.objective for p in programs if not p.campaigns]
    names = [SERVED, *(OBJECTIVE_STAGES[weekly[0]] if weekly else ())]  # as one program's stages
    return names + ([DISPLACEMENT] if any(p.campaigns for p in programs) else [])


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
        joint = self.model
        names = stage_names(joint.instance.programs)
        heuristic = joint.heuristic()
        joint.hint(heuristic)
        chosen = self._stage(SERVED, joint.unserved_priority(), heuristic)
        instance = joint.instance
        if stage_value(SERVED, instance, heuristic) == self.records[-1].value:  # as many served:
            chosen = min(chosen, heuristic, key=lambda plan: stage_value("regular", instance, plan))
        if len(names) > 1 and names[1] != DISPLACEMENT:
            # Arcs only on paths no worse than this plan's (its value bounds the weekly optimum
            # among plans of this many served); every arc for the objectives DP bounds do not hold.
            joint.add_flows(stage_value("regular", instance, chosen) if names[1] == "regular" else np.inf)
        expressions = {name: joint.weekly(name) for name in names[1:] if name != DISPLACEMENT}
        if DISPLACEMENT in names:
            expressions[DISPLACEMENT] = joint.displacement()
        joint.hint(chosen)  # complete over the arcs; a minimax or mean variable is left to the solver
        for name in names[1:]:
            chosen = self._stage(name, expressions[name], chosen)
        # A stage not proven is only held at most its value: a later stage may have lowered it.
        for position, record in enumerate(self.records):
            actual = stage_value(record.name, instance, chosen)
            if actual != record.value:
                if record.proven:  # a proven value cannot move: a fault of the model
                    raise InternalError(
                        f"the joint {record.name} stage proved {record.value}, the plan has {actual}"
                    )
                self.records[position] = replace(record, value=actual)
        return chosen

    def _stage(self, name: str, expression, known: dict[int, list[int]]) -> dict[int, list[int]]:
        """Minimise the stage's expression from the model's hint (the plan `known`); record it; keep
        its value. Without a plan from the solver in time, the known plan stays, its status UNKNOWN."""
        model = self.model.model
        model.minimize(expression)
        remaining = self.settings.time_limit - (time.perf_counter() - self.started)
        earlier_unproven = any(not r.proven for r in self.records)
        unproven_note = "optimal given the values of earlier stages that were not proven"
        solver, record = run_stage(
            model,
            name,
            "objective",
            self.settings,
            max(remaining, 0.01),
            lambda: stage_value(name, self.model.instance, known),
            self.on_progress,
            unit="" if name == SERVED else " s",
            presolve=True,
            optimal_note=unproven_note if earlier_unproven else "",
            described=f"joint {name}",
        )
        self.solve_seconds += solver.wall_time
        self.records.append(record)
        model.add(expression <= record.value)  # later stages keep this stage's value
        if not record.status.has_plan:
            return known  # its hint stays the model's
        model.clear_hints()
        solution = solver.response_proto.solution
        model.proto.solution_hint.vars.extend(range(len(solution)))
        model.proto.solution_hint.values.extend(solution)
        return self.model.choice(solver)


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
        options={"rules": [r.to_dict() for r in instance.rule_sets], "widen_hours": instance.widen_hours}
        | settings.to_dict(),
        timeline=timeline_identity(instance.timeline),
        build_seconds=time.perf_counter() - started - stages.solve_seconds,
        solve_seconds=stages.solve_seconds,
        versions=versions(),
        unserved=unserved_reasons(instance, choice),
        alone=alone_optima(model),
    )
    problems = check_joint(
        result.plan,
        instance,
        claimed={s.name: s.value for s in result.stages},
        served_proven=result.stages[0].proven,
    )
    if problems:  # a bug, not bad input: never hand such a plan to a user
        raise InternalError(f"the joint plan failed the checker ({'; '.join(map(str, problems[:5]))})")
    result.checked = True
    return result


def weekly_served(instance: JointInstance, program: int, chosen: dict[int, list[int]]) -> tuple[list, list]:
    """A weekly program's served observations under the plan `chosen`: their numbers and slew times."""
    served = [(o.number, int(o.times[chosen[n][0]])) for n, o in enumerate(instance.observations)
              if o.program == program and n in chosen]  # fmt: skip
    return [k for k, _ in served], [t for _, t in served]


def stage_value(name: str, instance: JointInstance, chosen: dict[int, list[int]]) -> int:
    """A stage's value on a plan (observation index -> each run's slew index, served ones only)."""
    observations = instance.observations
    if name == SERVED:
        return sum(
            instance.programs[o.program].priority for n, o in enumerate(observations) if n not in chosen
        )
    if name == DISPLACEMENT:
        return sum(
            abs(int(o.times[i]) - o.preferred[r])
            for n, o in enumerate(observations)
            if n in chosen and not o.weekly
            for r, i in enumerate(chosen[n])
        )
    total = 0
    for index, program in enumerate(instance.programs):
        if program.campaigns:
            continue
        numbers, times = weekly_served(instance, index, chosen)
        total += objective_value(times, numbers, name, program.calendar.target_seconds)
    return total


def unserved_reasons(instance: JointInstance, choice: dict[int, list[int]]) -> dict[str, str]:
    """Why each observation left unserved is: no eligible slew (which rules excluded its visits), or
    every eligible slew carrying another program's run (which ones), the first stage having found
    serving it would cost a higher priority."""
    holder = {}
    for n, runs in choice.items():
        o = instance.observations[n]
        for r, i in enumerate(runs, start=1):
            holder[int(o.rows[i])] = f"{o.label}" + (f" run {r}" if o.iterations > 1 else "")
    reasons = {}
    for n, o in enumerate(instance.observations):
        if n in choice:
            continue
        if not len(o.rows):
            reasons[o.label] = o.why
            continue
        taken = [holder[row] for row in o.rows.tolist() if row in holder]
        free = len(o.rows) - len(taken)
        if not taken:
            reasons[o.label] = (
                f"its {len(o.rows)} eligible slews cannot hold its {o.iterations} runs "
                f"{o.separation / 3600:g} h apart"
            )
            continue
        more = ", ..." if len(taken) > 6 else ""
        reasons[o.label] = (
            f"its {len(o.rows)} eligible slews carry {', '.join(taken[:6])}{more}"
            + (f" ({free} free, too few or too close together for its runs)" if free else "")
            + "; serving it would leave out others of at least its priority in total"
        )
    return reasons


def require_served(result, option: str) -> None:
    """InfeasibleError (exit 1, no plan) when the plan leaves an observation unserved: `option` is
    what asked for all (`--require-all`, a batch's `allow_missing = false`); the line names them
    and the first one's reason."""
    if not result.unserved:
        return
    (first, why), count = next(iter(result.unserved.items())), len(result.unserved)
    others = ", ".join(list(result.unserved)[1:6]) + (", ..." if count > 6 else "")
    raise InfeasibleError(
        f"{option}: {count} observations cannot all be served; {first}: {why}"
        + (f"; also {others}" if others else "")
    )


def alone_optima(model: JointModel) -> dict[str, int]:
    """Each weekly program's Σ|gap - m·target| alone on the freed slews, every window with an
    eligible slew served (the DP, as the one-program planner): the other programs can only raise
    it, unless the joint plan leaves a contested window out."""
    optima = {}
    for path in model.paths:
        best, _ = path.through_all()
        optima[model.instance.programs[path.program].name] = round(best) if np.isfinite(best) else 0
    return optima


def joint_plan_frame(instance: JointInstance, choice: dict[int, list[int]]) -> pd.DataFrame:
    """One row per run of every observation (JOINT_PLAN_SCHEMA); unserved runs have no slew."""
    frame = instance.timeline
    rows = []
    measured: dict[tuple[int, int], tuple[float, float]] = {}  # (program, number) -> interval, deviation
    for p, program in enumerate(instance.programs):  # weekly programs: the one measure of intervals
        if program.campaigns:
            continue
        numbers, times = (np.array(v, dtype=np.int64) for v in weekly_served(instance, p, choice))
        gaps = intervals(times, numbers, program.calendar.target_seconds)
        for number, interval, deviation in zip(
            numbers[1:].tolist(), gaps["interval_s"].tolist(), gaps["deviation_s"].tolist(), strict=True
        ):
            measured[(p, number)] = (interval / DAY, deviation / 3600)
    ids, instruments, targets = (
        frame[c].to_numpy(dtype=object) for c in ("visit_id", "instrument", "target")
    )
    for n, o in enumerate(instance.observations):
        program = instance.programs[o.program]
        for r in range(o.iterations):
            i = choice[n][r] if n in choice else None
            row = None if i is None else int(o.rows[i])
            interval, deviation = measured.get((o.program, o.number), (np.nan, np.nan))  # served weekly
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
                    "interval_days": interval,
                    "deviation_hours": deviation,
                }
            )
    plan = pd.DataFrame(rows, columns=JOINT_PLAN_SCHEMA.names)
    for column in ("window_start", "window_end", "slew_time", "preferred_time"):
        seconds = pd.array(plan[column].tolist(), dtype="Int64")
        plan[column] = pd.to_datetime(seconds, unit="s", utc=True).as_unit("s")
    return plan.astype({"observation": "int64", "iteration": "int64"})
