"""The anneal problem as a chain of layers: layer k holds the times of the slews anneal k may use.

Both the CP-SAT model and the DP oracle read this one description, so they solve the same problem.
An arc joins slew i of layer k to slew j of layer k+1 when j is later than i by at least `min_gap`;
its cost is the deviation of that interval from the target, |t_j - t_i - target|, in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Chain:
    layers: tuple[np.ndarray, ...]  # int64 seconds, ascending, one array per anneal
    target: int  # seconds
    min_gap: int = 1  # seconds; anneals run in calendar order, so at least 1 s apart

    @classmethod
    def from_windows(cls, windows, target: int, min_gap: int = 1) -> Chain:
        """The chain of `eligibility.window_slews` output: one layer of slew times per window."""
        return cls(tuple(w.times for w in windows), target, min_gap)

    @property
    def size(self) -> int:
        return len(self.layers)

    def arc_costs(self, k: int, cap: float | None = None) -> np.ndarray:
        """Costs of arcs layer k -> k+1 as a float matrix; forbidden arcs are +inf."""
        gap = self.layers[k + 1][None, :] - self.layers[k][:, None]
        cost = np.abs(gap - self.target).astype(np.float64)
        forbidden = gap < max(self.min_gap, 1)
        if cap is not None:
            forbidden |= cost > cap
        cost[forbidden] = np.inf
        return cost
