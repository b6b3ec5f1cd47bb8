"""Exact dynamic programming over the chain: the oracle the CP-SAT planner is tested against.

The chain is a layered DAG, so shortest paths (`sum`, the `regular` objective) and bottleneck paths
(`max`, the `minimax` objective) are exact in O(Σ |layer k|·|layer k+1|). Forward and backward
values also bound every plan through an arc, which the model builder uses to drop arcs that cannot
be in a plan better than a known one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from planner.chain import Chain

Kind = Literal["sum", "max"]


def _combine(kind: Kind, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a + b if kind == "sum" else np.maximum(a, b)


Masks = dict[int, np.ndarray] | None  # extra restrictions: layer -> bool mask of usable slews


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

    @property
    def feasible(self) -> bool:
        return np.isfinite(self.cost)


def best_path(chain: Chain, kind: Kind = "sum", cap: float | None = None, masks: Masks = None) -> OraclePlan:
    """An optimal plan. Among equal ones, the earliest slew at each step from the first anneal."""
    if not chain.size or any(len(layer) == 0 for layer in chain.layers):
        return OraclePlan(np.inf, ())
    back = backward(chain, kind, cap, masks)
    cost = float(back[0].min())
    if not np.isfinite(cost):
        return OraclePlan(np.inf, ())
    choice = [int(np.argmin(back[0]))]  # argmin returns the first, i.e. earliest, minimum
    reached = 0.0
    for k in range(chain.size - 1):
        arc = chain.arc_costs(k, cap)[choice[-1]]
        step = _combine(kind, np.asarray(reached), arc)
        total = _combine(kind, step, back[k + 1])
        nxt = int(np.argmin(total))
        reached = float(step[nxt])
        choice.append(nxt)
    return OraclePlan(cost, tuple(choice))


def lexicographic(chain: Chain, objective: str) -> tuple[OraclePlan, OraclePlan | None]:
    """The oracle's optimum of `regular` or `minimax` (then `regular`): (first stage, second)."""
    if objective == "regular":
        return best_path(chain, "sum"), None
    if objective == "minimax":
        first = best_path(chain, "max")
        if not first.feasible:
            return first, None
        return first, best_path(chain, "sum", cap=first.cost)
    raise ValueError(f"the oracle solves 'regular' and 'minimax', not {objective!r}")


def plan_cost(chain: Chain, choice: tuple[int, ...] | list[int], kind: Kind = "sum") -> float:
    """Value of a given plan (inf if one of its arcs is forbidden)."""
    costs = [chain.arc_costs(k)[choice[k], choice[k + 1]] for k in range(chain.size - 1)]
    if not costs:
        return 0.0
    return float(sum(costs) if kind == "sum" else max(costs))
