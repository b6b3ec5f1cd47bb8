"""The CP-SAT models: the constraints and objectives of docs/domain.md, built from a Chain.

Two models share the variables of single anneals (`NodeModel`):
- `pick[k][i]`: anneal k+1 runs on slew i of its window (one Boolean per usable slew).
The flow model (`FlowModel`, the planner's) adds
- `step[k][q]`: the q-th kept pair (i, j): anneal k+1 on slew i and anneal k+2 on slew j;
- `end[q]`: the q-th kept end pair (first anneal on slew i, last on slew j), for `mean` only.

Pair variables make the model a network flow: each anneal's pick splits into its outgoing pairs and
gathers its incoming ones. The LP relaxation of a flow on a layered DAG is integral, so the linear
bound CP-SAT computes equals the optimum, and the proof is short. The node model states consecutive
anneals by clauses and objectives on anneal times (`t_k = Σ time·pick`); it relaxes badly (~15 s to
prove real Cycle 2) and is kept as an independent formulation the tests compare with.

Which pairs a flow model holds is its `Scope`: arcs at most a cap (minimax), end pairs at most a
mean, pairs on some plan of `regular` at most a bound (`bound_pairs`: forward + pair + backward DP
values are lower bounds on every plan through a pair, so no plan within the bound is lost; pins and
the minimum gap only remove plans, so the bounds stay valid with them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from ortools.sat.python import cp_model

from planner.solver.chain import Chain
from planner.solver.oracle import Kind, Masks, backward, end_costs, forward, reachable_ends


@dataclass(slots=True)
class Pairs:
    """Kept pairs between layer k and k+1: parallel arrays of slew indices and costs (seconds)."""

    first: np.ndarray
    second: np.ndarray
    cost: np.ndarray


@dataclass(slots=True)
class Ends:
    """Kept end pairs: first-layer slew, last-layer slew, and |span - weeks·target| (seconds)."""

    first: np.ndarray
    last: np.ndarray
    cost: np.ndarray


def all_pairs(chain: Chain) -> list[Pairs]:
    """Every usable pair, pins left to the model's constraints (the unreduced model)."""
    return bound_pairs(replace(chain, pinned={}), kind="sum", upper=np.inf)


def bound_pairs(
    chain: Chain,
    kind: Kind,
    upper: float,
    cap: float | None = None,
    masks: Masks = None,
) -> list[Pairs]:
    """Pairs that lie on some complete plan of value <= `upper` under `kind` ('sum' or 'max').

    `cap` drops pairs costing more; pins and `masks` restrict the slews a layer may use. Every
    plan the model admits respects them, so these bounds stay valid lower bounds."""
    return _bounded(chain, kind, upper, cap, masks)[0]


def _bounded(
    chain: Chain, kind: Kind, upper: float, cap: float | None, masks: Masks
) -> tuple[list[Pairs], list[np.ndarray]]:
    """bound_pairs, and the forward pass: the best value of a partial plan ending at each slew."""
    fwd, bwd = forward(chain, kind, cap, masks), backward(chain, kind, cap, masks)
    kept = []
    for k in range(chain.size - 1):
        cost = chain.arc_costs(k, cap)
        through = (
            fwd[k][:, None] + cost + bwd[k + 1][None, :]
            if kind == "sum"
            else np.maximum(np.maximum(fwd[k][:, None], cost), bwd[k + 1][None, :])
        )
        # A tiny tolerance only guards float rounding; costs are whole seconds.
        first, second = np.nonzero(np.isfinite(through) & (through <= upper + 0.5))
        kept.append(Pairs(first, second, cost[first, second].astype(np.int64)))
    return kept, fwd


def end_pairs(chain: Chain, upper: float = np.inf, *, reachable_only: bool = True) -> Ends:
    """End pairs whose mean deviation is at most `upper`; with `reachable_only`, only pairs some
    plan joins (the DP's reachability, exact: pins and minimum gap included)."""
    costs = end_costs(chain)
    keep = costs <= upper
    if reachable_only:
        keep &= reachable_ends(chain)
    first, last = np.nonzero(keep)
    return Ends(first, last, costs[first, last].astype(np.int64))


def paired_slews(pairs: list[Pairs], k: int, layer_size: int) -> list[int]:
    """Slews of layer k that some kept pair uses (the others cannot be in any plan)."""
    if not pairs:  # a single anneal: every slew of its window
        return list(range(layer_size))
    ends = pairs[k].first if k < len(pairs) else pairs[k - 1].second
    return np.unique(ends).tolist()


@dataclass(frozen=True, slots=True)
class Scope:
    """The plans a flow model holds: arcs at most `cap`, end pairs at most `mean` (the model then
    has end-pair variables), pairs on some plan of `regular` at most `regular`. None: no limit."""

    cap: int | None = None
    mean: int | None = None
    regular: int | None = None
    ends: bool = False  # end-pair variables (the mean objective), even without a `mean` limit


@dataclass(slots=True)
class Scoped:
    """A scope's pairs and end pairs; `exact`: the model over them holds exactly the scope's plans
    (no constraint needed to enforce its `regular` limit); `potentials`, when exact: the best
    `regular` of a partial plan ending at each slew (FlowModel.total_deviation's potentials)."""

    pairs: list[Pairs]
    ends: Ends | None
    exact: bool
    potentials: list[np.ndarray] | None = None


def scoped_pairs(chain: Chain, scope: Scope) -> Scoped:
    """The pairs (and end pairs) of a scope.

    When `regular` is the optimum within the other limits, every kept pair is tight (forward +
    cost = forward of its head), so every path through kept pairs costs exactly that optimum: the
    flow alone holds exactly the optimal plans, and the next stage's LP stays integral."""
    ends, masks = None, None
    if scope.mean is not None:  # exact: unreachable end pairs are in no plan
        ends = end_pairs(chain, scope.mean)
        masks = {
            0: np.isin(np.arange(len(chain.layers[0])), ends.first),
            chain.size - 1: np.isin(np.arange(len(chain.layers[-1])), ends.last),
        }
    elif scope.ends:  # the unreduced mean model: every end pair
        ends = end_pairs(chain, reachable_only=False)
    if scope.regular is None:
        if scope.cap is None and masks is None:
            return Scoped(all_pairs(chain), ends, True)
        return Scoped(bound_pairs(chain, "sum", np.inf, scope.cap, masks), ends, True)
    pairs, fwd = _bounded(chain, "sum", scope.regular, scope.cap, masks)
    optimum = float(fwd[-1].min())
    if not (np.isfinite(optimum) and round(optimum) == scope.regular):
        return Scoped(pairs, ends, False)
    return Scoped(pairs, ends, True, [np.where(np.isfinite(f), f, 0).round().astype(np.int64) for f in fwd])


@dataclass
class NodeModel:
    """The variables and constraints of single anneals; consecutive anneals by clauses."""

    chain: Chain
    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)
    pick: list[dict[int, cp_model.IntVar]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._pick_variables()
        self._one_slew_per_anneal()
        self._pinned_anneals()
        self._consecutive_anneals()

    # -- constraint families, in the order of their specification --------------------------------

    def _usable_slews(self, k: int) -> Sequence[int]:
        return range(len(self.chain.layers[k]))

    def _choices(self, names: Sequence[str]) -> list[cp_model.IntVar]:
        """Booleans of which exactly one will be on. A lone one is fixed on as it is made: a
        fixed variable costs CP-SAT's loading and LP nothing (DP-pruned models, where most
        windows keep one slew, prove in a third of the time); a constraint setting it would not."""
        if len(names) == 1:
            return [self.model.new_int_var(1, 1, names[0])]
        return [self.model.new_bool_var(name) for name in names]

    def _pick_variables(self) -> None:
        for k in range(self.chain.size):
            usable = self._usable_slews(k)
            choices = self._choices([f"pick_{k}_{i}" for i in usable])
            self.pick.append({i: choices[n] for n, i in enumerate(usable)})

    def _one_slew_per_anneal(self) -> None:
        for picks in self.pick:
            self.model.add_exactly_one(picks.values())
        # Windows are disjoint when window <= target, so one slew never serves two anneals; with
        # overlapping windows the strictly increasing order of anneals still forbids it.

    def _pinned_anneals(self) -> None:
        """Anneals already flown or committed keep their slew."""
        for k, i in self.chain.pinned.items():
            if i not in self.pick[k]:  # pruning proved no plan can use it: the model is infeasible
                self.model.add_bool_or([])
            else:
                self.model.add(self.pick[k][i] == 1)

    def _consecutive_anneals(self) -> None:
        """Consecutive anneals in order, at least min_gap apart: one clause per conflicting pair.

        Disjoint windows make most of these vacuous. Clauses, not `t(k+1) - t(k) >= gap` on the
        time sums: with those linear constraints CP-SAT 9.15's presolve declared a feasible
        synthetic year INFEASIBLE (it solves with presolve off); tests keep a regression case."""
        for k in range(self.chain.size - 1):
            gap = self.chain.layers[k + 1][None, :] - self.chain.layers[k][:, None]
            for i, j in zip(*np.nonzero(gap < max(self.chain.min_gap, 1)), strict=True):
                self.model.add_bool_or([~self.pick[k][int(i)], ~self.pick[k + 1][int(j)]])

    # -- expressions and the objectives that add variables ---------------------------------------

    def times(self) -> list[cp_model.LinearExpr]:
        """Time of each anneal in seconds after the first slew of the chain.

        Relative times keep coefficients small (epoch seconds would overflow CP-SAT's sums)."""
        origin = int(self.chain.layers[0][0])
        return [
            cp_model.LinearExpr.weighted_sum(list(picks.values()), [int(layer[i]) - origin for i in picks])
            for layer, picks in zip(self.chain.layers, self.pick, strict=True)
        ]

    def add_time_span_deviation(self) -> cp_model.IntVar:
        """Adds |t_n - t_1 - weeks·target| as a variable over the anneal times (the node model's mean)."""
        times = self.times()
        weeks = self.chain.anneals[-1] - self.chain.anneals[0]
        span = times[-1] - times[0] - weeks * self.chain.target
        horizon = (
            int(self.chain.layers[-1][-1] - self.chain.layers[0][0]) + self.chain.size * self.chain.target
        )
        deviation = self.model.new_int_var(0, horizon, "mean_deviation")
        # Two inequalities, not add_abs_equality: presolve would enumerate every reachable value
        # of the span (a domain with thousands of holes) and spend seconds doing it.
        self.model.add(deviation >= span)
        self.model.add(deviation >= -span)
        return deviation

    def slew_lateness(self) -> cp_model.LinearExpr:
        """Σ_k (t_k - first slew of window k): the tie-break that prefers the earliest slews."""
        return cp_model.LinearExpr.weighted_sum(
            [v for picks in self.pick for v in picks.values()],
            [
                int(layer[i] - layer[0])
                for layer, picks in zip(self.chain.layers, self.pick, strict=True)
                for i in picks
            ],
        )

    # -- solutions ----------------------------------------------------------------------------------

    def _hint_values(self, choice: Sequence[int]) -> tuple[list[int], list[int]]:
        variables, values = [], []
        for k, picks in enumerate(self.pick):
            if choice[k] not in picks:
                raise ValueError(f"the hinted plan uses slew {choice[k]} of layer {k}, which the model lacks")
            variables += [var.index for var in picks.values()]
            values += [int(i == choice[k]) for i in picks]
        return variables, values

    def hint(self, choice: Sequence[int]) -> None:
        """A complete hint: every variable of the model, from a full plan.

        Written to the proto in bulk: one add_hint call per variable took a second on 3·10^5 pairs."""
        self.model.clear_hints()
        variables, values = self._hint_values(choice)
        self.model.proto.solution_hint.vars.extend(variables)
        self.model.proto.solution_hint.values.extend(values)

    def choice(self, solver: cp_model.CpSolver) -> tuple[int, ...]:
        """The slew index chosen in each layer by the solver's best solution."""
        return tuple(next(i for i, var in picks.items() if solver.boolean_value(var)) for picks in self.pick)

    @property
    def size(self) -> tuple[int, int]:
        """(variables, constraints) of the model as built."""
        return len(self.model.proto.variables), len(self.model.proto.constraints)


@dataclass
class FlowModel(NodeModel):
    """The planner's model: consecutive anneals as a network flow over kept pairs."""

    pairs: list[Pairs] = field(default_factory=list)
    ends: Ends | None = None
    potentials: list[np.ndarray] | None = None  # per layer and slew, for total_deviation
    step: list[list[cp_model.IntVar]] = field(default_factory=list)
    end: list[cp_model.IntVar] = field(default_factory=list)
    worst: cp_model.IntVar | None = None  # added by add_worst_deviation

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.ends is not None:
            self._end_pairs()

    # -- constraint families (after NodeModel's) -----------------------------------------------

    def _usable_slews(self, k: int) -> Sequence[int]:
        used = paired_slews(self.pairs, k, len(self.chain.layers[k]))
        if self.ends is not None and k in (0, self.chain.size - 1):
            usable = set(self.ends.first.tolist()) if k == 0 else set(self.ends.last.tolist())
            used = [i for i in used if i in usable]
        return used

    def _consecutive_anneals(self) -> None:
        """One Boolean per kept pair; each pick splits into its outgoing pairs and gathers its
        incoming ones (flow conservation). Kept pairs are in order and at least min_gap apart."""
        for pairs in self.pairs:
            # unnamed: names cost time on 10^5 pairs
            self.step.append(self._choices([""] * len(pairs.cost)))
        for k, pairs in enumerate(self.pairs):
            outgoing: dict[int, list] = {i: [] for i in self.pick[k]}
            incoming: dict[int, list] = {j: [] for j in self.pick[k + 1]}
            for var, i, j in zip(self.step[k], pairs.first.tolist(), pairs.second.tolist(), strict=True):
                if i in outgoing and j in incoming:
                    outgoing[i].append(var)
                    incoming[j].append(var)
                else:  # its end slew was dropped (no kept end pair uses it)
                    self.model.add(var == 0)
            for i, pick in self.pick[k].items():
                self.model.add(sum(outgoing[i]) == pick)
            for j, pick in self.pick[k + 1].items():
                self.model.add(sum(incoming[j]) == pick)

    def _end_pairs(self) -> None:
        """One Boolean per kept end pair, matching the first and the last pick (the mean's terms)."""
        assert self.ends is not None
        self.end = self._choices([""] * len(self.ends.cost))
        for layer, slews in ((0, self.ends.first), (self.chain.size - 1, self.ends.last)):
            members: dict[int, list] = {i: [] for i in self.pick[layer]}
            for var, i in zip(self.end, slews.tolist(), strict=True):
                if i in members:
                    members[i].append(var)
                else:  # no kept pair uses that end slew (a minimum gap ruled it out): not an end
                    self.model.add(var == 0)
            for i, pick in self.pick[layer].items():
                self.model.add(sum(members[i]) == pick)

    # -- objectives: expressions, or variables they add -----------------------------------------

    def gap_deviation(self, k: int) -> cp_model.LinearExpr:
        """|gap k - target| of the chosen pair between anneal k+1 and k+2."""
        return cp_model.LinearExpr.weighted_sum(self.step[k], self.pairs[k].cost.tolist())

    def total_deviation(self) -> cp_model.LinearExpr:
        """`regular`: Σ_k |gap k - target|; with `potentials` π, in reduced costs:

            Σ_k Σ_q (cost_q + π_k[i_q] - π_k+1[j_q])·step_q
              + Σ_j (π_last[j] - low)·pick_last[j] + Σ_i (high - π_0[i])·pick_0[i] + low - high

        with low the least π of the last anneal's slews and high the greatest of the first's.
        The same value on every plan of the model, whatever π: flow conservation telescopes the
        π terms away, and exactly one slew of each anneal is on. With π the DP's forward values
        every term's coefficient is >= 0, the pairs of an exact scope (each on an optimal plan)
        cost 0, and low - high is the optimum: the bound of the terms alone is the optimum, and
        the solver proves it on loading, with no LP (real Cycle 2's model: 0.5 ms instead of
        1.3 ms in the race). The proof stays the solver's: π changes how the objective is
        written, not its value on any plan; another π would only give a weaker bound."""
        if self.potentials is None:
            return cp_model.LinearExpr.sum([self.gap_deviation(k) for k in range(self.chain.size - 1)])
        pi = self.potentials
        variables: list[cp_model.IntVar] = []
        coefficients: list[int] = []
        for k, (steps, pairs) in enumerate(zip(self.step, self.pairs, strict=True)):
            variables += steps
            coefficients += (pairs.cost + pi[k][pairs.first] - pi[k + 1][pairs.second]).tolist()
        last, first = self.pick[-1], self.pick[0]
        low = min(int(pi[-1][j]) for j in last)
        high = max(int(pi[0][i]) for i in first)
        variables += [*last.values(), *first.values()]
        coefficients += [int(pi[-1][j]) - low for j in last] + [high - int(pi[0][i]) for i in first]
        return cp_model.LinearExpr.weighted_sum(variables, coefficients) + (low - high)

    def add_worst_deviation(self) -> cp_model.IntVar:
        """Adds `minimax` = max_k |gap k - target|: a variable at least each gap's deviation.

        One row per gap, worst >= Σ_q cost_q·step_q over the pairs of that gap: exactly one of
        them is on, so the sum is the chosen pair's cost. In the LP this row is the sum of the
        per-slew rows (and dominates the per-pair ones, cost_q·step_q), so it bounds at least as
        tightly with far fewer rows (52 instead of about 1,000 on real Cycle 2)."""
        bound = max((int(p.cost.max()) for p in self.pairs if len(p.cost)), default=0)
        self.worst = self.model.new_int_var(0, bound, "worst_deviation")
        for k in range(self.chain.size - 1):
            self.model.add(self.worst >= self.gap_deviation(k))
        # A bisection on the bottleneck, searched first (planner.solver.solve runs this stage's fixed
        # search): with worst <= T the rows drop every pair costing more, and flow conservation
        # then removes every slew on no remaining complete plan, so propagation alone tells at
        # each step whether a plan within T exists. The LP bound of a bottleneck is weak (about
        # 5,000 after 60 s against the optimum 11,913 on dense_year from a greedy plan, with
        # CP-SAT's LP-driven search); the bisection proves it in about 6 s (benchmarks, race).
        self.model.add_decision_strategy([self.worst], cp_model.CHOOSE_FIRST, cp_model.SELECT_LOWER_HALF)
        return self.worst

    def span_deviation(self) -> cp_model.LinearExpr:
        """`mean` = |t_n - t_1 - weeks·target|, as the cost of the chosen end pair (exactly one is on)."""
        assert self.ends is not None, "the mean objective needs a model with end pairs"
        return cp_model.LinearExpr.weighted_sum(self.end, self.ends.cost.tolist())

    # -- solutions ----------------------------------------------------------------------------------

    def _hint_values(self, choice: Sequence[int]) -> tuple[list[int], list[int]]:
        variables, values = NodeModel._hint_values(self, choice)
        for k, pairs in enumerate(self.pairs):
            chosen = (pairs.first == choice[k]) & (pairs.second == choice[k + 1])
            if self.chain.size > 1 and not chosen.any():
                raise ValueError(f"the hinted plan uses a pair of layers {k}, {k + 1} the model lacks")
            variables += [var.index for var in self.step[k]]
            values += chosen.astype(int).tolist()
        if self.ends is not None:
            chosen = (self.ends.first == choice[0]) & (self.ends.last == choice[-1])
            if not chosen.any():
                raise ValueError("the hinted plan's first and last slews are not a kept end pair")
            variables += [var.index for var in self.end]
            values += chosen.astype(int).tolist()
        if self.worst is not None:  # without it the hint is incomplete and CP-SAT searches to repair it
            costs = [
                int(p.cost[(p.first == choice[k]) & (p.second == choice[k + 1])][0])
                for k, p in enumerate(self.pairs)
            ]
            variables.append(self.worst.index)
            values.append(max(costs, default=0))
        return variables, values
