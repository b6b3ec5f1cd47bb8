"""The CP-SAT model: the constraints and objectives of DOMAIN.md, built from a Chain.

Variables
- `pick[k][i]`: anneal k+1 runs on slew i of its window (one Boolean per eligible slew).
- `step[k][(i, j)]`: anneal k+1 on slew i and anneal k+2 on slew j (one Boolean per kept pair).

Pair variables make the model a network flow: each anneal's pick splits into its outgoing pairs and
gathers its incoming ones. The LP relaxation of a flow on a layered DAG is integral, so the linear
bound CP-SAT computes equals the optimum, and the proof is short. The time-based formulation
(`t_k = Σ time·pick`, abs of each gap) relaxes badly and took ~15 s to prove real Cycle 2.

Pairs are dropped when every complete plan through them is worse than a plan already known
(`bound_pairs`): forward + pair + backward DP values are lower bounds on any such plan, so the
optimum survives; side constraints only remove plans, so the bounds stay valid with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from ortools.sat.python import cp_model

from planner.chain import Chain
from planner.oracle import Kind, Masks, backward, forward


@dataclass(slots=True)
class Pairs:
    """Kept pairs between layer k and k+1: parallel arrays of slew indices and costs (seconds)."""

    first: np.ndarray
    second: np.ndarray
    cost: np.ndarray


def all_pairs(chain: Chain, cap: float | None = None) -> list[Pairs]:
    """Every usable pair, pins left to the model's constraints (the unreduced model)."""
    return bound_pairs(replace(chain, pinned={}), kind="sum", upper=np.inf, cap=cap)


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
    return kept


def paired_slews(pairs: list[Pairs], k: int, layer_size: int) -> list[int]:
    """Slews of layer k that some kept pair uses (the others cannot be in any plan)."""
    if not pairs:  # a single anneal: every slew of its window
        return list(range(layer_size))
    ends = pairs[k].first if k < len(pairs) else pairs[k - 1].second
    return np.unique(ends).tolist()


@dataclass
class ChainModel:
    """A CP-SAT model of the chain; objectives are expressions the solve stages minimise in turn."""

    chain: Chain
    pairs: list[Pairs] | None = None  # None: node model only (no pair variables)
    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)
    pick: list[dict[int, cp_model.IntVar]] = field(default_factory=list)
    step: list[list[cp_model.IntVar]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._pick_variables()
        self._one_slew_per_anneal()
        self._pinned_anneals()
        if self.pairs is None:
            self._anneals_in_order()
        else:
            self._pair_variables()
            self._flow_conservation()

    # -- constraint families, in the order of their specification --------------------------------

    def _pick_variables(self) -> None:
        for k, layer in enumerate(self.chain.layers):
            used = range(len(layer)) if self.pairs is None else paired_slews(self.pairs, k, len(layer))
            self.pick.append({i: self.model.new_bool_var(f"pick_{k}_{i}") for i in used})

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

    def _anneals_in_order(self) -> None:
        """Consecutive anneals in order, at least min_gap apart: one clause per conflicting pair.

        Disjoint windows make most of these vacuous. Clauses, not `t(k+1) - t(k) >= gap` on the
        time sums: with those linear constraints CP-SAT 9.15's presolve declared a feasible
        synthetic year INFEASIBLE (it solves with presolve off); tests keep a regression case."""
        for k in range(self.chain.size - 1):
            gap = self.chain.layers[k + 1][None, :] - self.chain.layers[k][:, None]
            for i, j in zip(*np.nonzero(gap < max(self.chain.min_gap, 1)), strict=True):
                self.model.add_bool_or([~self.pick[k][int(i)], ~self.pick[k + 1][int(j)]])

    def _pair_variables(self) -> None:
        for pairs in self.pairs:
            # unnamed: names cost time on 10^5 pairs
            self.step.append([self.model.new_bool_var("") for _ in range(len(pairs.cost))])

    def _flow_conservation(self) -> None:
        for k, pairs in enumerate(self.pairs):
            outgoing: dict[int, list] = {i: [] for i in self.pick[k]}
            incoming: dict[int, list] = {j: [] for j in self.pick[k + 1]}
            for var, i, j in zip(self.step[k], pairs.first.tolist(), pairs.second.tolist(), strict=True):
                outgoing[i].append(var)
                incoming[j].append(var)
            for i, pick in self.pick[k].items():
                self.model.add(sum(outgoing[i]) == pick)
            for j, pick in self.pick[k + 1].items():
                self.model.add(sum(incoming[j]) == pick)

    # -- expressions --------------------------------------------------------------------------------

    def times(self) -> list[cp_model.LinearExpr]:
        """Time of each anneal in seconds after the first slew of the chain.

        Relative times keep coefficients small (epoch seconds would overflow CP-SAT's sums)."""
        origin = int(self.chain.layers[0][0])
        return [
            cp_model.LinearExpr.weighted_sum(list(picks.values()), [int(layer[i]) - origin for i in picks])
            for layer, picks in zip(self.chain.layers, self.pick, strict=True)
        ]

    def gap_deviation(self, k: int) -> cp_model.LinearExpr:
        """|gap k - target| of the chosen pair between anneal k+1 and k+2 (pair model only)."""
        return cp_model.LinearExpr.weighted_sum(self.step[k], self.pairs[k].cost.tolist())

    def regular(self) -> cp_model.LinearExpr:
        return sum(
            (self.gap_deviation(k) for k in range(self.chain.size - 1)),
            cp_model.LinearExpr.constant(0),
        )

    def minimax(self) -> cp_model.IntVar:
        """max_k |gap k - target|: a variable bounded below by the chosen pair leaving each slew.

        One constraint per slew, worst >= Σ_j cost_ij·step_ij: at most one of a slew's outgoing
        pairs is on, so the sum is that pair's cost. It proves as fast as one implication per pair
        and builds in half the time on large models (305k pairs: 2.9 s less)."""
        bound = max((int(p.cost.max()) for p in self.pairs if len(p.cost)), default=0)
        worst = self.model.new_int_var(0, bound, "worst_deviation")
        for steps, pairs in zip(self.step, self.pairs, strict=True):
            order = np.argsort(pairs.first, kind="stable")
            starts = np.flatnonzero(np.diff(pairs.first[order])) + 1
            for group in np.split(order, starts) if len(order) else []:
                leaving = [steps[q] for q in group]
                self.model.add(worst >= cp_model.LinearExpr.weighted_sum(leaving, pairs.cost[group].tolist()))
        return worst

    def mean(self) -> cp_model.IntVar:
        """|t_n - t_1 - (n-1)·target|: how far the mean interval is from the target, times n-1."""
        times = self.times()
        weeks = self.chain.anneals[-1] - self.chain.anneals[0]
        span = times[-1] - times[0] - weeks * self.chain.target
        horizon = int(self.chain.layers[-1][-1] - self.chain.layers[0][0]) + (
            self.chain.size * self.chain.target
        )
        deviation = self.model.new_int_var(0, horizon, "mean_deviation")
        # Two inequalities, not add_abs_equality: presolve would enumerate every reachable value
        # of the span (a domain with thousands of holes) and spend seconds doing it.
        self.model.add(deviation >= span)
        self.model.add(deviation >= -span)
        return deviation

    def earliest(self) -> cp_model.LinearExpr:
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

    def hint(self, choice: Sequence[int]) -> None:
        """A complete hint: every pick and pair variable, from a full plan.

        Written to the proto in bulk: one add_hint call per variable took a second on 3·10^5 pairs."""
        self.model.clear_hints()
        variables, values = [], []
        for k, picks in enumerate(self.pick):
            variables += [var.index for var in picks.values()]
            values += [int(i == choice[k]) for i in picks]
        for k, pairs in enumerate(self.pairs or []):
            chosen = (pairs.first == choice[k]) & (pairs.second == choice[k + 1])
            variables += [var.index for var in self.step[k]]
            values += chosen.astype(int).tolist()
        self.model.proto.solution_hint.vars.extend(variables)
        self.model.proto.solution_hint.values.extend(values)

    def choice(self, solver: cp_model.CpSolver) -> tuple[int, ...]:
        """The slew index chosen in each layer by the solver's best solution."""
        return tuple(next(i for i, var in picks.items() if solver.boolean_value(var)) for picks in self.pick)
