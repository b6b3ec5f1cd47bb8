"""Exact dynamic programming over the chain: the oracle the CP-SAT planner is tested against.

The chain is a layered DAG, so shortest paths (`sum`, the `regular` objective) and bottleneck paths
(`max`, the `minimax` objective) are exact in O(Σ |layer k|·|layer k+1|). Forward and backward
values also bound every plan through an arc, which the model builder uses to drop arcs that cannot
be in a plan better than a known one.

`mean` depends only on the first and last slews: the best reachable end pair gives it exactly
(`reachable_ends`). `lexicographic` gives the planner's whole order: the objective, then `regular`,
then the earliest slews (Σ_k time after the first slew of window k), then the earliest slew at each
step from the first anneal, so it names the very plan the planner must return.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from planner.solver.chain import Chain

Kind = Literal["sum", "max"]
Masks = dict[int, np.ndarray] | None  # extra restrictions: layer -> bool mask of usable slews

# "No path" in the exact integer DPs: far above any plan's cost in seconds (a chain within the
# limits costs at most about 10^11 s of deviation, 10^12 s of lateness), and a sum of three of them
# still fits in int64, so additions never wrap before they are clipped.
UNREACHABLE = np.iinfo(np.int64).max // 4


def _combine(kind: Kind, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a + b if kind == "sum" else np.maximum(a, b)


def _restrict(chain: Chain, k: int, values: np.ndarray, masks: Masks) -> np.ndarray:
    """+inf where layer k may not be used (pinned elsewhere, or outside an extra mask)."""
    allowed = chain.allowed(k, masks)
    return values if allowed is None else np.where(allowed, values, np.inf)


def forward(
    chain: Chain, kind: Kind = "sum", cap: float | None = None, masks: Masks = None
) -> list[np.ndarray]:
    """forward[k][i]: best value of a partial plan for layers 0..k ending at slew i."""
    values = [_restrict(chain, 0, np.zeros(len(chain.layers[0])), masks)]
    for k in range(chain.size - 1):
        through = _combine(kind, values[k][:, None], chain.arc_costs(k, cap))
        values.append(_restrict(chain, k + 1, through.min(axis=0, initial=np.inf), masks))
    return values


def backward(
    chain: Chain, kind: Kind = "sum", cap: float | None = None, masks: Masks = None
) -> list[np.ndarray]:
    """backward[k][i]: best value of a partial plan for layers k..n-1 starting at slew i."""
    last = chain.size - 1
    values = [_restrict(chain, last, np.zeros(len(chain.layers[last])), masks)]
    for k in range(last - 1, -1, -1):
        through = _combine(kind, chain.arc_costs(k, cap), values[0][None, :])
        values.insert(0, _restrict(chain, k, through.min(axis=1, initial=np.inf), masks))
    return values


@dataclass(frozen=True, slots=True)
class OraclePlan:
    cost: float  # inf when no plan exists
    choice: tuple[int, ...]  # index of the chosen slew in each layer


def best_path(chain: Chain, kind: Kind = "sum") -> OraclePlan:
    """An optimal plan. Among equal ones, the earliest slew at each step from the first anneal."""
    if not chain.size or any(len(layer) == 0 for layer in chain.layers):
        return OraclePlan(np.inf, ())
    back = backward(chain, kind)
    cost = float(back[0].min())
    if not np.isfinite(cost):
        return OraclePlan(np.inf, ())
    choice = [int(np.argmin(back[0]))]  # argmin returns the first, i.e. earliest, minimum
    reached = 0.0
    for k in range(chain.size - 1):
        arc = chain.arc_costs(k)[choice[-1]]
        step = _combine(kind, np.asarray(reached), arc)
        total = _combine(kind, step, back[k + 1])
        nxt = int(np.argmin(total))
        reached = float(step[nxt])
        choice.append(nxt)
    return OraclePlan(cost, tuple(choice))


def plan_cost(chain: Chain, choice: Sequence[int], kind: Kind = "sum") -> float:
    """Value of a given plan (inf if one of its arcs is forbidden)."""
    costs = [chain.arc_costs(k)[choice[k], choice[k + 1]] for k in range(chain.size - 1)]
    if not costs:
        return 0.0
    return float(sum(costs) if kind == "sum" else max(costs))


# -- the mean objective: a function of the first and last slews ------------------------------------


def end_costs(chain: Chain) -> np.ndarray:
    """|t_last - t_first - (weeks apart)·target| for every (first-layer slew, last-layer slew)."""
    weeks = chain.anneals[-1] - chain.anneals[0]
    span = chain.layers[-1][None, :] - chain.layers[0][:, None]
    return np.abs(span - weeks * chain.target)


def reachable_ends(chain: Chain, cap: float | None = None, masks: Masks = None) -> np.ndarray:
    """reachable[i, j]: some plan runs from slew i of the first layer to slew j of the last.

    A boolean matrix product per layer (as 0/1 floats, re-thresholded each step so path counts
    never overflow)."""
    first = chain.allowed(0, masks)
    first = np.ones(len(chain.layers[0]), dtype=bool) if first is None else first
    reach = np.diag(first).astype(np.float32)
    for k in range(chain.size - 1):
        arcs = np.isfinite(chain.arc_costs(k, cap))
        allowed = chain.allowed(k + 1, masks)
        if allowed is not None:
            arcs &= allowed[None, :]
        reach = ((reach @ arcs.astype(np.float32)) > 0).astype(np.float32)
    return reach > 0


def best_mean(chain: Chain, masks: Masks = None) -> float:
    """The exact optimum of `mean` (inf when no plan exists)."""
    ends = reachable_ends(chain, masks=masks)
    return float(end_costs(chain)[ends].min()) if ends.any() else np.inf


# -- the planner's full lexicographic order, in exact integers --------------------------------------


@dataclass(frozen=True, slots=True)
class Optimum:
    """The plan the planner must return: optimal for the objective, then `regular`, then earliest."""

    objective: str
    value: int  # the objective (seconds)
    regular: int  # Σ|gap - target| of this plan
    lateness: int  # Σ_k (slew time - first slew of window k): the tie-break
    choice: tuple[int, ...]


def _lateness(chain: Chain) -> list[np.ndarray]:
    return [(layer - layer[0]).astype(np.int64) for layer in chain.layers]


# The lexicographic DP's cost of a partial plan is a pair of int64 arrays, compared in order:
# (regular seconds, lateness seconds), UNREACHABLE in the first where there is no path. A pair, not
# one composite integer (regular x a scale above any lateness, + lateness): that product outgrows
# int64 on long chains (about 4,600 windows of 4 days, or 1,000 windows of 18 days: within the limits).


def _lexmin(first: np.ndarray, second: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """The lexicographically least (first, second) along `axis`; second is 0 where first is UNREACHABLE."""
    least = first.min(axis=axis)
    ties = first == np.expand_dims(least, axis)
    then = np.where(ties, second, UNREACHABLE).min(axis=axis)
    return least, np.where(least >= UNREACHABLE, 0, then)


def _lexargmin(first: np.ndarray, second: np.ndarray) -> int:
    """The first index of the lexicographically least (first, second) of 1-D arrays."""
    return int(np.argmin(np.where(first == first.min(), second, UNREACHABLE)))


def _regular_arcs(chain: Chain, cap: float | None) -> list[np.ndarray]:
    """Arc k -> k+1: its `regular` cost in whole seconds, int64; UNREACHABLE if forbidden (by the gap,
    `cap` or a pin on its head)."""
    arcs = []
    for k in range(chain.size - 1):
        cost = chain.arc_costs(k, cap)
        finite = np.isfinite(cost)
        allowed = chain.allowed(k + 1)
        if allowed is not None:
            finite &= allowed[None, :]
        arcs.append(np.where(finite, np.where(finite, cost, 0).astype(np.int64), UNREACHABLE))
    total = sum(int(arc[arc < UNREACHABLE].max(initial=0)) for arc in arcs)
    late = sum(int(layer[-1] - layer[0]) for layer in chain.layers)  # the largest lateness of a plan
    if max(total, late) >= UNREACHABLE // 4:  # some 10^9 windows: no chain a user can give
        raise OverflowError("chain too long for the exact integer DP")
    return arcs


def _start(chain: Chain, masks: Masks) -> np.ndarray:
    """Regular cost of a plan's first slew: 0, or UNREACHABLE where layer 0 may not be used."""
    allowed = chain.allowed(0, masks)
    start = np.zeros(len(chain.layers[0]), np.int64)
    return start if allowed is None else np.where(allowed, start, UNREACHABLE)


def _lexicographic_path(
    chain: Chain, arcs: list[np.ndarray], masks: Masks
) -> tuple[tuple[int, int], tuple[int, ...]] | None:
    """The plan least in (regular, lateness) within `masks`, with that pair; ties: the earliest slew
    at each step."""
    last = chain.size - 1
    lateness = _lateness(chain)
    end = chain.allowed(last, masks)
    back_regular = [np.zeros(len(chain.layers[last]), np.int64)]
    back_late = [np.zeros(len(chain.layers[last]), np.int64)]
    if end is not None:
        back_regular[0] = np.where(end, back_regular[0], UNREACHABLE)
    for k in range(last - 1, -1, -1):
        regular, late = _lexmin(
            np.minimum(arcs[k] + back_regular[0][None, :], UNREACHABLE),
            np.broadcast_to(lateness[k + 1] + back_late[0], arcs[k].shape),
            axis=1,
        )
        allowed = chain.allowed(k, masks)
        back_regular.insert(0, regular if allowed is None else np.where(allowed, regular, UNREACHABLE))
        back_late.insert(0, late)
    total_regular = np.minimum(_start(chain, masks) + back_regular[0], UNREACHABLE)
    total_late = lateness[0] + back_late[0]
    if total_regular.min() >= UNREACHABLE:
        return None
    choice = [_lexargmin(total_regular, total_late)]
    for k in range(last):
        choice.append(
            _lexargmin(
                np.minimum(arcs[k][choice[-1]] + back_regular[k + 1], UNREACHABLE),
                lateness[k + 1] + back_late[k + 1],
            )
        )
    first = choice[0]
    return (int(total_regular[first]), int(total_late[first])), tuple(choice)


def plan_lateness(chain: Chain, choice: Sequence[int]) -> int:
    """The tie-break of a plan: Σ_k (its slew - the first slew of window k), seconds."""
    return sum(int(chain.layers[k][i] - chain.layers[k][0]) for k, i in enumerate(choice))


def _optimum(objective: str, value: int, found: tuple[tuple[int, int], tuple[int, ...]]) -> Optimum:
    """The Optimum of a path `_lexicographic_path` found: its (regular, lateness) are the path's."""
    (regular, lateness), choice = found
    return Optimum(objective, value, regular, lateness, choice)


def lexicographic(chain: Chain, objective: str) -> Optimum | None:
    """The exact optimum of `objective`, ties broken by `regular` then by the earliest slews.

    None when no plan exists."""
    if not chain.size or any(len(layer) == 0 for layer in chain.layers):
        return None
    if objective == "regular":
        found = _lexicographic_path(chain, _regular_arcs(chain, None), None)
        return None if found is None else _optimum(objective, found[0][0], found)
    if objective == "minimax":
        worst = best_path(chain, "max").cost
        if not np.isfinite(worst):
            return None
        found = _lexicographic_path(chain, _regular_arcs(chain, worst), None)
        assert found is not None  # the bottleneck plan itself is within the cap
        return _optimum(objective, round(worst), found)
    if objective == "mean":
        return _lexicographic_mean(chain)
    raise ValueError(f"objective {objective!r}: expected regular, mean or minimax")


def _lexicographic_mean(chain: Chain) -> Optimum | None:
    """Best mean over reachable end pairs; then the lexicographic DP from each first slew of an
    optimal end pair at once (one row per first slew), restricted to its optimal last slews."""
    costs = end_costs(chain)
    ends = reachable_ends(chain)
    if not ends.any():
        return None
    best = int(costs[ends].min())
    optimal = ends & (costs <= best)
    arcs = _regular_arcs(chain, None)
    start = _start(chain, None)
    lateness = _lateness(chain)
    firsts = np.flatnonzero(optimal.any(axis=1))
    winner: tuple[int, int, int, int] | None = None  # (regular, lateness, first, last)
    for chunk in np.array_split(firsts, max(1, len(firsts) // 16)):
        rows = np.arange(len(chunk))
        regular = np.full((len(chunk), len(chain.layers[0])), UNREACHABLE, np.int64)
        regular[rows, chunk] = start[chunk]
        late = np.zeros_like(regular)
        late[rows, chunk] = lateness[0][chunk]
        for k in range(chain.size - 1):
            through = np.minimum(regular[:, :, None] + arcs[k][None, :, :], UNREACHABLE)
            regular, late = _lexmin(through, np.broadcast_to(late[:, :, None], through.shape), axis=1)
            late = late + lateness[k + 1][None, :]
        regular = np.where(optimal[chunk], regular, UNREACHABLE)
        flat = _lexargmin(regular.ravel(), late.ravel())
        row, end = np.unravel_index(flat, regular.shape)
        candidate = (int(regular[row, end]), int(late[row, end]), int(chunk[row]), int(end))
        if winner is None or candidate[:2] < winner[:2]:  # strict: earlier first slews win ties
            winner = candidate
    assert winner is not None and winner[0] < UNREACHABLE
    n = chain.size - 1
    ends_mask = {
        0: np.arange(len(chain.layers[0])) == winner[2],
        n: np.arange(len(chain.layers[n])) == winner[3],
    }
    if n == 0:
        ends_mask = {0: ends_mask[0]}
    found = _lexicographic_path(chain, arcs, ends_mask)
    assert found is not None
    return _optimum("mean", best, found)


# -- a heuristic plan, for when no exact DP applies and for the benchmark's loose pruning ----------


def greedy(chain: Chain) -> OraclePlan:
    """The earliest first slew, then at each step the slew whose interval is closest to the target
    among those from which the rest of the chain can still be completed (no dead ends)."""
    if not chain.size or any(len(layer) == 0 for layer in chain.layers):
        return OraclePlan(np.inf, ())
    completable = [np.isfinite(v) for v in backward(chain, "max")]
    if not completable[0].any():
        return OraclePlan(np.inf, ())
    choice = [int(np.flatnonzero(completable[0])[0])]
    for k in range(chain.size - 1):
        cost = np.where(completable[k + 1], chain.arc_costs(k)[choice[-1]], np.inf)
        choice.append(int(np.argmin(cost)))
    return OraclePlan(plan_cost(chain, choice, "sum"), tuple(choice))
