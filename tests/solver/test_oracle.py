"""The DP oracle and the model's pruning on chains small enough to work out by hand.

Chains here are built directly (times in days after 0, target 7 days), so each answer can be
checked on paper; the brute force enumerates every plan of the same chain.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.problem.calendar import DAY
from planner.solver import oracle
from planner.solver.chain import Chain
from planner.solver.model import NodeModel, Scope, bound_pairs, end_pairs, scoped_pairs

WEEK = 7 * DAY


def chain(*layers: tuple[float, ...], min_gap: float = 0, pinned: dict[int, int] | None = None) -> Chain:
    return Chain(
        tuple(np.array([round(d * DAY) for d in layer], dtype=np.int64) for layer in layers),
        WEEK,
        max(1, round(min_gap * DAY)),
        pinned=pinned or {},
    )


def plans(c: Chain):
    """Every plan of the chain (index per layer) respecting order, minimum gap and pins."""
    for choice in itertools.product(*(range(len(layer)) for layer in c.layers)):
        times = [int(c.layers[k][i]) for k, i in enumerate(choice)]
        if any(b - a < c.min_gap for a, b in itertools.pairwise(times)):
            continue
        if any(choice[k] != i for k, i in c.pinned.items()):
            continue
        yield choice


def key(c: Chain, choice, objective: str) -> tuple[int, int, int, tuple[int, ...]]:
    """The planner's order: objective, regular, lateness, then earliest slew at each step."""
    times = [int(c.layers[k][i]) for k, i in enumerate(choice)]
    gaps = [abs(b - a - WEEK) for a, b in itertools.pairwise(times)]
    first = {
        "regular": sum(gaps),
        "minimax": max(gaps, default=0),
        "mean": abs(times[-1] - times[0] - (len(times) - 1) * WEEK),
    }[objective]
    lateness = sum(int(c.layers[k][i] - c.layers[k][0]) for k, i in enumerate(choice))
    return first, sum(gaps), lateness, tuple(choice)


# -- tie-breaks, worked by hand ---------------------------------------------------------------------


def test_regular_ties_go_to_the_smaller_lateness():
    """0 -> 7 -> 14 and 1 -> 8 -> 15 both cost 0; lateness 0 against 3 days."""
    optimum = oracle.lexicographic(chain((0, 1), (7, 8), (14, 15)), "regular")
    assert optimum is not None and optimum.choice == (0, 0, 0)
    assert (optimum.value, optimum.regular, optimum.lateness) == (0, 0, 0)


def test_minimax_ties_go_to_regular_then_lateness():
    """Worst gap 0.5 day for 0 -> 7.5 -> 14 (regular 1 day) and 1 -> 8 -> 15.5 (regular 0.5 day):
    regular decides, although the first plan is earlier."""
    optimum = oracle.lexicographic(chain((0, 1), (7.5, 8), (14, 15.5)), "minimax")
    assert optimum is not None and optimum.choice == (1, 1, 1)
    assert (optimum.value, optimum.regular) == (DAY // 2, DAY // 2)


def test_mean_ties_go_to_regular_then_lateness():
    """Mean 0 for 0 -> 8 -> 14 (gaps 8 and 6 days: regular 2 days) and 1 -> 8 -> 15 (regular 0,
    though later): regular decides. With the middle slew at 7.5, 0 -> 7.5 -> 14 and 1 -> 7.5 -> 15
    both have mean 0 and regular 1 day: lateness decides (0 against 2 days)."""
    optimum = oracle.lexicographic(chain((0, 1), (8,), (14, 15)), "mean")
    assert optimum is not None and optimum.choice == (1, 0, 1)
    assert (optimum.value, optimum.regular, optimum.lateness) == (0, 0, 2 * DAY)
    optimum = oracle.lexicographic(chain((0, 1), (7.5,), (14, 15)), "mean")
    assert optimum is not None and optimum.choice == (0, 0, 0)
    assert (optimum.value, optimum.regular, optimum.lateness) == (0, DAY, 0)


def test_mean_respects_the_minimum_gap_and_pins():
    """With a 7.5-day minimum gap, 0 -> 7 -> 14 is gone: the best span is 0 -> 7.5 -> 15 (mean 1 day)."""
    c = chain((0,), (7, 7.5), (14, 15), min_gap=7.5)
    optimum = oracle.lexicographic(c, "mean")
    assert optimum is not None and optimum.choice == (0, 1, 1) and optimum.value == DAY
    pinned = chain((0, 1), (7, 8), (14, 15), pinned={0: 1})
    optimum = oracle.lexicographic(pinned, "mean")
    assert optimum is not None and optimum.choice == (1, 1, 1)


def test_no_plan_is_none():
    assert oracle.lexicographic(chain((0,), (3,)), "regular") is not None
    assert oracle.lexicographic(chain((5,), (3,)), "mean") is None  # out of order
    assert oracle.best_mean(chain((5,), (3,))) == np.inf


# -- reachability and pruning ----------------------------------------------------------------------------


def test_reachable_ends_follow_the_minimum_gap():
    """From 0 any later slew is reachable; from 6, layer 1 needs >= 12 and only 13 is: 13 -> 20."""
    c = chain((0, 6), (7, 13), (14, 20), min_gap=6)
    assert oracle.reachable_ends(c).tolist() == [[True, True], [False, True]]
    ends = end_pairs(c)
    assert list(zip(ends.first.tolist(), ends.last.tolist(), strict=True)) == [(0, 0), (0, 1), (1, 1)]
    assert ends.cost.tolist() == [0, 6 * DAY, 0]


def test_bound_pairs_keeps_exactly_the_pairs_of_good_plans():
    """Plans: 0 -> 7 -> 14 costs 0, 0 -> 9 -> 14 costs 4 days, 2 -> 7 -> 14 costs 2 days, 2 -> 9 -> 14
    costs 2 days. Upper 0 keeps only the first plan's pairs; upper 2 days keeps every pair but
    (0, 9); no upper below the optimum keeps anything."""
    c = chain((0, 2), (7, 9), (14,))

    def kept(upper):
        return [
            sorted(zip(p.first.tolist(), p.second.tolist(), strict=True))
            for p in bound_pairs(c, "sum", upper)
        ]

    assert kept(0) == [[(0, 0)], [(0, 0)]]
    assert kept(2 * DAY) == [[(0, 0), (1, 0), (1, 1)], [(0, 0), (1, 0)]]
    assert kept(-1) == [[], []]
    # max: the worst gap of 0 -> 9 -> 14 is 2 days, of 2 -> 7 -> 14 2 days: cap 1 day keeps none of them
    assert [len(p.cost) for p in bound_pairs(c, "max", DAY)] == [1, 1]


def test_a_scope_at_the_optimum_is_exact_and_above_it_is_not():
    c = chain((0, 2), (7, 9), (14,))
    assert scoped_pairs(c, Scope(regular=0)).exact
    assert not scoped_pairs(c, Scope(regular=2 * DAY)).exact  # holds plans costing 4 days too


@st.composite
def small_chains(draw):
    n = draw(st.integers(1, 4))
    layers = [
        tuple(sorted({7 * k + round(draw(st.floats(0, 4)), 2) for _ in range(draw(st.integers(1, 3)))}))
        for k in range(n)
    ]
    pinned = {}
    if draw(st.booleans()):
        k = draw(st.integers(0, n - 1))
        pinned[k] = draw(st.integers(0, len(layers[k]) - 1))
    return chain(*layers, min_gap=draw(st.sampled_from([0, 5, 6.5, 7.5])), pinned=pinned)


@settings(max_examples=60, deadline=None)
@given(c=small_chains(), objective=st.sampled_from(["regular", "minimax", "mean"]))
def test_lexicographic_equals_brute_force(c, objective):
    """The DP's plan is the brute force's minimum of the planner's whole order, down to the last
    rule (equal lateness: the earliest slew at each step from the first anneal, `key`'s tuple)."""
    every = list(plans(c))
    optimum = oracle.lexicographic(c, objective)
    if not every:
        assert optimum is None
        return
    best = min(every, key=lambda choice: key(c, choice, objective))
    assert optimum is not None and optimum.choice == best
    assert (optimum.value, optimum.regular, optimum.lateness) == key(c, best, objective)[:3]
    # pruning at the optimum keeps the optimal plan's pairs, and no pair off every plan within it
    pairs = bound_pairs(c, "sum", optimum.regular)
    for k, p in enumerate(pairs):
        assert ((p.first == best[k]) & (p.second == best[k + 1])).any()


@settings(max_examples=25, deadline=None)
@given(c=small_chains())
def test_node_model_mean_equals_the_dp(c):
    """The node model (clauses and time sums) is an independent formulation of the same mean."""
    from ortools.sat.python import cp_model

    model = NodeModel(c)
    model.model.minimize(model.add_time_span_deviation())
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    status = solver.solve(model.model)
    expected = oracle.best_mean(c)
    if not np.isfinite(expected):
        assert status == cp_model.INFEASIBLE
    else:
        assert status == cp_model.OPTIMAL and round(solver.objective_value) == expected


def test_a_lone_choice_is_fixed_as_it_is_made():
    """A window with one usable slew, and a gap with one kept pair, get variables fixed on (no
    constraint); the rest stay free, and the model still solves to the DP's optimum."""
    from ortools.sat.python import cp_model

    from planner.solver.model import FlowModel

    c = chain((0, 0.5), (7,), (14, 16.5))
    model = FlowModel(c, pairs=bound_pairs(c, "sum", DAY))  # within a day: 7 -> 16.5 is dropped

    def domain(var: cp_model.IntVar) -> list[int]:
        return list(model.model.proto.variables[var.index].domain)

    assert [domain(v) for v in model.pick[0].values()] == [[0, 1], [0, 1]]
    assert [domain(v) for v in model.pick[1].values()] == [[1, 1]]
    assert [domain(v) for v in model.pick[2].values()] == [[1, 1]]
    assert [len(s) for s in model.step] == [2, 1] and domain(model.step[1][0]) == [1, 1]
    model.model.minimize(model.total_deviation())
    solver = cp_model.CpSolver()
    assert solver.solve(model.model) == cp_model.OPTIMAL
    assert round(solver.objective_value) == oracle.lexicographic(c, "regular").value


@settings(max_examples=30, deadline=None)
@given(c=small_chains(), data=st.data())
def test_potentials_rewrite_the_regular_objective_not_its_value(c, data):
    """Whatever the potentials, every plan of the chain, forced in turn on the unreduced model,
    has the same `regular` in reduced costs as the brute force's sum of gaps: flow conservation
    telescopes the potentials away. (The DP's forward values are only the ones that make the
    bound immediate.)"""
    from ortools.sat.python import cp_model

    from planner.solver.model import FlowModel, all_pairs

    potentials = [
        np.array(
            data.draw(st.lists(st.integers(-10 * WEEK, 10 * WEEK), min_size=len(layer), max_size=len(layer)))
        )
        for layer in c.layers
    ]
    for choice in plans(c):
        model = FlowModel(c, pairs=all_pairs(c), potentials=potentials)
        for i, picks in zip(choice, model.pick, strict=True):
            model.model.add(picks[i] == 1)
        model.model.minimize(model.total_deviation())
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        assert solver.solve(model.model) == cp_model.OPTIMAL
        assert round(solver.objective_value) == key(c, choice, "regular")[0]


def _bound_is_the_optimum(c: Chain) -> None:
    """On an exact scope, with the DP's forward values, the rewritten `regular` has no negative
    coefficient and its constant is the optimum: the bound of its terms alone is the optimum (the
    solver needs no LP to prove it)."""
    from planner.solver.model import FlowModel

    optimum = oracle.lexicographic(c, "regular")
    if optimum is None:
        return
    scoped = scoped_pairs(c, Scope(regular=optimum.value))
    model = FlowModel(c, pairs=scoped.pairs, potentials=scoped.potentials)
    model.model.minimize(model.total_deviation())
    objective = model.model.proto.objective
    assert min(objective.coeffs, default=0) >= 0
    assert round(objective.offset) == optimum.value


@settings(max_examples=40, deadline=None)
@given(c=small_chains())
def test_potentials_bound_an_exact_scope_at_its_optimum(c):
    _bound_is_the_optimum(c)


def test_potentials_bound_with_two_optimal_first_and_last_slews():
    """0 -> 7.5 -> 14 and 1 -> 8.5 -> 15 both cost a day: no lone end slew fixes the bound."""
    c = chain((0, 1), (7.5, 8.5), (14, 15))
    optimum = oracle.lexicographic(c, "regular")
    assert optimum is not None and optimum.value == DAY
    _bound_is_the_optimum(c)


# -- a long chain: exact beyond the size where one composite int64 cost overflowed ------------------


def _reference(c: Chain, objective: str) -> tuple[int, int, int]:
    """(objective, regular, lateness) of the planner's optimum by a scalar DP in Python integers
    (which never overflow): per layer and slew the least (regular, lateness) of the rest of the
    chain, for every first slew (and, for `mean`, every last one)."""
    layers = [[int(t) for t in layer] for layer in c.layers]
    n = len(layers)
    late = [[t - layer[0] for t in layer] for layer in layers]

    def arc(k, i, j):
        gap = layers[k + 1][j] - layers[k][i]
        return None if gap < c.min_gap else abs(gap - c.weeks(k) * c.target)

    cap = None
    if objective == "minimax":  # the bottleneck first, then the plans within it
        worst = [0] * len(layers[-1])
        for k in range(n - 2, -1, -1):
            worst = [
                min(
                    (max(a, worst[j]) for j in range(len(layers[k + 1])) if (a := arc(k, i, j)) is not None),
                    default=10**30,
                )
                for i in range(len(layers[k]))
            ]
        cap = min(worst)
    lasts = range(len(layers[-1])) if objective == "mean" else [None]
    best = None
    for last in lasts:
        rest = [(0, 0) if last in (None, j) else None for j in range(len(layers[-1]))]
        for k in range(n - 2, -1, -1):
            rest = [
                min(
                    (
                        (a + rest[j][0], late[k + 1][j] + rest[j][1])
                        for j in range(len(layers[k + 1]))
                        if rest[j] is not None
                        and (a := arc(k, i, j)) is not None
                        and (cap is None or a <= cap)
                    ),
                    default=None,
                )
                for i in range(len(layers[k]))
            ]
        for i, value in enumerate(rest):
            if value is None:
                continue
            first = {
                "regular": value[0],
                "minimax": cap,
                "mean": abs(layers[-1][last or 0] - layers[0][i] - (c.anneals[-1] - c.anneals[0]) * c.target),
            }[objective]
            candidate = (first, value[0], value[1] + late[0][i])
            best = candidate if best is None else min(best, candidate)
    assert best is not None
    return best


def test_lexicographic_is_exact_on_a_chain_of_5000_windows():
    """5,000 windows of 4 days with three slews each (at the window's edges and one between): the
    composite cost (regular x a scale above every lateness + lateness) that the DP once used
    exceeded its int64 range here; the DP now agrees with a Python-integer DP for every objective,
    and its plan has the value, regular cost and lateness it states."""
    rng = np.random.default_rng(5)
    n = 5_000
    layers = [
        np.array(
            [k * WEEK + 900, k * WEEK + int(rng.integers(3_600, 4 * DAY - 3_600)), k * WEEK + 4 * DAY - 900]
        )
        for k in range(n)
    ]
    c = Chain(tuple(layers), WEEK, 1)
    scale = sum(int(layer[-1] - layer[0]) for layer in layers) + 1
    worst = sum(
        max(
            abs(int(layers[k + 1][-1] - layers[k][0]) - WEEK),
            abs(int(layers[k + 1][0] - layers[k][-1]) - WEEK),
        )
        for k in range(n - 1)
    )
    assert worst * scale > oracle.UNREACHABLE  # the size that overflowed
    for objective in ("regular", "minimax", "mean"):
        optimum = oracle.lexicographic(c, objective)
        assert optimum is not None
        assert (optimum.value, optimum.regular, optimum.lateness) == _reference(c, objective), objective
        stated = {
            "regular": oracle.plan_cost(c, optimum.choice, "sum"),
            "minimax": oracle.plan_cost(c, optimum.choice, "max"),
            "mean": oracle.end_costs(c)[optimum.choice[0], optimum.choice[-1]],
        }[objective]
        assert round(stated) == optimum.value
        assert round(oracle.plan_cost(c, optimum.choice, "sum")) == optimum.regular
        assert oracle.plan_lateness(c, optimum.choice) == optimum.lateness
