"""The anneal problem as a chain of layers: layer k holds the times of the slews one anneal may use.

Both the CP-SAT model and the DP oracle read this one description, so they solve the same problem.
An arc joins slew i of layer k to slew j of layer k+1 when j is later than i by at least `min_gap`;
its cost is the deviation of that interval from the target, |t_j - t_i - m·target|, in seconds,
where m is how many calendar weeks apart the two anneals are (1, or more across missing anneals).
`pinned` holds slews fixed in advance (anneals already flown or committed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class Chain:
    layers: tuple[np.ndarray, ...]  # int64 seconds, ascending, one array per placed anneal
    target: int  # seconds
    min_gap: int = 1  # seconds; anneals run in calendar order, so at least 1 s apart
    anneals: tuple[int, ...] = ()  # calendar number of each layer; () means 1..n
    pinned: Mapping[int, int] = field(default_factory=dict)  # layer -> index of its fixed slew

    def __post_init__(self) -> None:
        if not self.anneals:
            object.__setattr__(self, "anneals", tuple(range(1, len(self.layers) + 1)))
        if len(self.anneals) != len(self.layers):
            raise ValueError("one anneal number per layer")

    @classmethod
    def from_windows(cls, windows, target: int, min_gap: int = 1, pinned: Mapping[int, int] | None = None):
        """The chain of `eligibility.window_slews` output; windows without slews are left out."""
        kept = [w for w in windows if len(w.times)]
        return cls(
            tuple(w.times for w in kept), target, min_gap, tuple(w.window.anneal for w in kept), pinned or {}
        )

    @property
    def size(self) -> int:
        return len(self.layers)

    def weeks(self, k: int) -> int:
        """How many target intervals lie between layer k and layer k+1 (1 unless anneals are missing)."""
        return self.anneals[k + 1] - self.anneals[k]

    def arc_costs(self, k: int, cap: float | None = None) -> np.ndarray:
        """Costs of arcs layer k -> k+1 as a float matrix; forbidden arcs are +inf."""
        gap = self.layers[k + 1][None, :] - self.layers[k][:, None]
        cost = np.abs(gap - self.weeks(k) * self.target).astype(np.float64)
        forbidden = gap < max(self.min_gap, 1)
        if cap is not None:
            forbidden |= cost > cap
        cost[forbidden] = np.inf
        return cost

    def allowed(self, k: int, extra: Mapping[int, np.ndarray] | None = None) -> np.ndarray | None:
        """Mask of the slews layer k may use (pins and `extra` masks), None when all may be used."""
        mask = extra.get(k) if extra else None
        if k in self.pinned:
            pin = np.zeros(len(self.layers[k]), dtype=bool)
            pin[self.pinned[k]] = True
            mask = pin if mask is None else mask & pin
        return mask
