"""The joint CP-SAT model (`JointModel`): every program of a `JointInstance` on one set of slews.

Variables:
- `x[o][r][i]`: run r of observation o on its i-th eligible slew;
- `served[o]`: observation o is served (each of its runs on one slew) or not (none of them);
- per weekly program, after the first stage, a path through its windows: `arc` Booleans from a slew
  of one window to a slew of a later one, from a source into a window's slew, and from a window's
  slew to a sink; only arcs on some path no worse than the best plan known that serves as many
  (the DP over the program alone bounds every path through an arc, as in the one-program model).

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
The stages that minimise over this model are `planner.solver.joint`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from planner.problem.joint import JointInstance, Observation
from planner.solver import oracle
from planner.solver.chain import Chain


@dataclass
class _Path:
    """One weekly program's path: its nodes (windows with an eligible slew), which of them it may
    skip (contested), and the arcs, sources and sinks `JointModel.add_flows` keeps."""

    program: int
    target: int
    layers: list[Observation]
    numbers: list[int]  # each layer's observation index in the instance
    skippable: list[bool]
    arcs: list[tuple[int, int, int, int, int, cp_model.IntVar]] = field(default_factory=list)  # k,i,k2,j,cost
    sources: list[tuple[int, int, cp_model.IntVar]] = field(default_factory=list)  # k, i
    sinks: list[tuple[int, int, cp_model.IntVar]] = field(default_factory=list)
    none: cp_model.IntVar | None = None  # the empty path, when every layer is skippable

    def can_start(self, k: int) -> bool:
        """May the path begin at layer k (every layer before it skippable)?"""
        return k <= self._first_kept

    def can_end(self, k: int) -> bool:
        """May the path end at layer k (every layer after it skippable)?"""
        return k >= self._last_kept

    def __post_init__(self) -> None:
        kept = [k for k, skip in enumerate(self.skippable) if not skip]  # the layers it must pass
        self._first_kept = kept[0] if kept else len(self.skippable)
        self._last_kept = kept[-1] if kept else -1
        self._through_all: tuple[float, dict[int, int]] | None = None

    def reach(self, k: int):
        """The layers an arc from layer k may reach: the next, and past it while it is skippable."""
        for k2 in range(k + 1, len(self.layers)):
            yield k2
            if not self.skippable[k2]:
                return

    def costs(self, k: int, k2: int) -> np.ndarray:
        """|gap - m·target| of every pair of slews of layers k and k2 (inf when not in time order)."""
        a, b = self.layers[k], self.layers[k2]
        gap = b.times[None, :].astype(float) - a.times[:, None]
        return np.where(gap > 0, np.abs(gap - (b.number - a.number) * self.target), np.inf)

    def bounds(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """The exact DP over this path alone: the least `regular` of a partial path ending at each
        slew (forward) and of one from each slew to the end (backward). Other programs only take
        plans away, so forward + arc + backward is a lower bound on every joint plan through an arc."""
        n = len(self.layers)
        forward = [
            np.full(len(o.rows), 0.0 if self.can_start(k) else np.inf) for k, o in enumerate(self.layers)
        ]
        backward = [
            np.full(len(o.rows), 0.0 if self.can_end(k) else np.inf) for k, o in enumerate(self.layers)
        ]
        for k in range(n):
            for k2 in self.reach(k):
                forward[k2] = np.minimum(forward[k2], (forward[k][:, None] + self.costs(k, k2)).min(axis=0))
        for k in reversed(range(n)):
            for k2 in self.reach(k):
                backward[k] = np.minimum(backward[k], (self.costs(k, k2) + backward[k2][None, :]).min(axis=1))
        return forward, backward

    def through_all(self) -> tuple[float, dict[int, int]]:
        """The least-`regular` path through every layer (no skips): the program's optimum alone on
        these slews (the one-program planner's chain and exact DP), and observation index -> its
        slew. Computed once (the heuristic and the plan's `alone` both ask)."""
        if self._through_all is None:
            if not self.layers:
                self._through_all = (0.0, {})
            else:
                chain = Chain(
                    tuple(o.times for o in self.layers), self.target, 1, tuple(o.number for o in self.layers)
                )
                best = oracle.best_path(chain, "sum")  # windows in order, each with a slew: a plan exists
                self._through_all = (best.cost, dict(zip(self.numbers, best.choice, strict=True)))
        return self._through_all


class JointModel:
    """The model of a joint instance (see the module's docstring). The first stage needs no arcs:
    a weekly window is served (one slew) or, when contested, may not be; `add_flows` then adds the
    paths' arcs for the weekly objectives, pruned by a bound the first stage's plan gives."""

    def __init__(self, instance: JointInstance):
        self.instance = instance
        self.model = cp_model.CpModel()
        self.origin = int(instance.timeline["start"].iloc[0].timestamp()) if len(instance.timeline) else 0
        self.x: dict[int, list[list[cp_model.IntVar]]] = {}  # observation index -> runs -> slews
        self.served: dict[int, cp_model.LinearExprT] = {}
        self.campaign_served: dict[int, cp_model.IntVar] = {}
        self.paths: list[_Path] = []
        observations = instance.observations
        on_slew: dict[int, list[cp_model.IntVar]] = {}
        for n, o in enumerate(observations):
            if not len(o.rows):
                continue
            runs = [[self.model.new_bool_var("") for _ in range(len(o.rows))] for _ in range(o.iterations)]
            self.x[n] = runs
            for run in runs:
                for var, row in zip(run, o.rows.tolist(), strict=True):
                    on_slew.setdefault(row, []).append(var)
            if o.weekly:  # a node of its program's path: its one slew, or none when contested
                self.served[n] = cp_model.LinearExpr.sum(runs[0])
            else:
                served = self.model.new_bool_var(f"served_{n}")
                self.served[n] = self.campaign_served[n] = served
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
            if program.campaigns:
                continue
            numbers = [n for n, o in enumerate(observations) if o.program == p and len(o.rows)]
            path = _Path(
                p,
                program.calendar.target_seconds,
                [observations[n] for n in numbers],
                numbers,
                [n in contested for n in numbers],
            )
            self.paths.append(path)
            for n, skippable in zip(numbers, path.skippable, strict=True):
                if skippable:
                    self.model.add_at_most_one(self.x[n][0])
                else:  # served by every plan of the first stage's optimum (module docstring)
                    self.model.add_exactly_one(self.x[n][0])

    def _time(self, o: Observation, run: list[cp_model.IntVar]) -> cp_model.LinearExpr:
        """A run's time in seconds after its window opens (0 when it is not served)."""
        return cp_model.LinearExpr.weighted_sum(run, (o.times - o.start).tolist())

    def _contested(self, on_slew: dict[int, list]) -> set[int]:
        """Weekly observations every eligible slew of which another observation may use."""
        weekly_rows = {
            n: o.rows for n, o in enumerate(self.instance.observations) if o.weekly and len(o.rows)
        }
        return {n for n, rows in weekly_rows.items() if all(len(on_slew[r]) > 1 for r in rows.tolist())}

    def add_flows(self, upper: float) -> None:
        """Each weekly path's arcs on some path of `regular` <= `upper` (every arc when inf), and
        flow conservation: a node's pick is its flow in and its flow out."""
        for path in self.paths:
            forward, backward = path.bounds()
            incoming: list[list[list]] = [[[] for _ in o.rows] for o in path.layers]
            outgoing: list[list[list]] = [[[] for _ in o.rows] for o in path.layers]
            for k in range(len(path.layers)):
                if path.can_start(k):  # (finite: a slew some complete path leaves from)
                    for i in np.flatnonzero(np.isfinite(backward[k]) & (backward[k] <= upper + 0.5)).tolist():
                        var = self.model.new_bool_var("")
                        path.sources.append((k, i, var))
                        incoming[k][i].append(var)
                if path.can_end(k):
                    for i in np.flatnonzero(np.isfinite(forward[k]) & (forward[k] <= upper + 0.5)).tolist():
                        var = self.model.new_bool_var("")
                        path.sinks.append((k, i, var))
                        outgoing[k][i].append(var)
                for k2 in path.reach(k):
                    cost = path.costs(k, k2)
                    through = forward[k][:, None] + cost + backward[k2][None, :]  # inf: out of order
                    for i, j in zip(
                        *np.nonzero(np.isfinite(through) & (through <= upper + 0.5)), strict=True
                    ):
                        var = self.model.new_bool_var("")
                        path.arcs.append((k, int(i), k2, int(j), int(cost[i, j]), var))
                        outgoing[k][i].append(var)
                        incoming[k2][j].append(var)
            starts = [v for *_, v in path.sources]
            if all(path.skippable):  # every window contested: the path may serve none
                path.none = self.model.new_bool_var("none")
                starts.append(path.none)
            self.model.add_exactly_one(starts)
            for k, n in enumerate(path.numbers):
                for i, pick in enumerate(self.x[n][0]):
                    self.model.add(cp_model.LinearExpr.sum(incoming[k][i]) == pick)
                    self.model.add(cp_model.LinearExpr.sum(outgoing[k][i]) == pick)

    # -- plans: a heuristic first one, hints, values -------------------------------------------------

    def heuristic(self) -> dict[int, list[int]]:
        """A plan of the first stage's model, as its hint: each weekly program on its best path
        through every window alone (the DP), then campaigns by priority, each run on the free slew
        nearest its preferred time (a campaign that does not fit whole is left unserved)."""
        instance, chosen, taken = self.instance, {}, set()
        for path in self.paths:
            for k, (n, best) in enumerate(path.through_all()[1].items()):
                rows = path.layers[k].rows.tolist()
                free = [i for i, row in enumerate(rows) if row not in taken]  # another weekly program's
                if free:  # none free: a contested window, left unserved
                    i = best if best in free else free[0]
                    chosen[n] = [i]
                    taken.add(rows[i])
        order = sorted(
            self.campaign_served, key=lambda n: -instance.programs[instance.observations[n].program].priority
        )
        for n in order:
            o, at = instance.observations[n], -np.inf
            runs: list[int] = []
            for preferred in o.preferred:
                free = [i for i, row in enumerate(o.rows.tolist())
                        if row not in taken and o.times[i] >= at + (o.separation if runs else 0)]  # fmt: skip
                if not free:
                    break
                i = min(free, key=lambda i: abs(int(o.times[i]) - preferred))
                runs.append(i)
                at = int(o.times[i])
            if len(runs) == o.iterations:
                chosen[n] = runs
                taken |= {int(o.rows[i]) for i in runs}
        return chosen

    def hint(self, chosen: dict[int, list[int]]) -> None:
        """Every variable of the model set as the plan `chosen` sets it (a complete hint)."""
        values: dict[int, int] = {}
        for n, runs in self.x.items():
            for r, run in enumerate(runs):
                for i, var in enumerate(run):
                    values[var.index] = int(n in chosen and chosen[n][r] == i)
        for n, var in self.campaign_served.items():
            values[var.index] = int(n in chosen)
        for path in self.paths:
            on = [(k, chosen[n][0]) for k, n in enumerate(path.numbers) if n in chosen]
            steps = set(zip(on, on[1:], strict=False))
            for k, i, k2, j, _cost, var in path.arcs:
                values[var.index] = int(((k, i), (k2, j)) in steps)
            for (k, i, var), first in ((s, on[:1]) for s in path.sources):
                values[var.index] = int([(k, i)] == first)
            for (k, i, var), last in ((s, on[-1:]) for s in path.sinks):
                values[var.index] = int([(k, i)] == last)
            if path.none is not None:
                values[path.none.index] = int(not on)
        self.model.clear_hints()
        self.model.proto.solution_hint.vars.extend(list(values))
        self.model.proto.solution_hint.values.extend(list(values.values()))

    # -- stage expressions ---------------------------------------------------------------------------

    def unserved_priority(self) -> cp_model.LinearExprT:
        """Σ priority of observations left unserved, those without a slew included (a constant part)."""
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
                    cp_model.LinearExpr.weighted_sum([a[5] for a in path.arcs], [a[4] for a in path.arcs])
                )
            elif kind == "minimax":
                bound = max((a[4] for a in path.arcs), default=0)
                worst = self.model.new_int_var(0, bound, f"worst_{path.program}")
                for *_ends, cost, var in path.arcs:
                    self.model.add(worst >= cost * var)
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
