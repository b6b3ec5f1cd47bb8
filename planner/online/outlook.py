"""What the rest of a cycle is expected to cost under a policy's own model of the weeks.

A policy that learns sees the weeks known at a decision (`Decision.samples`: the prior's, then the
cycle's published ones) as samples of what an unpublished week will hold. `expected_rest` takes
those weeks as the model: it draws the unpublished windows of the cycle from them, in runs of
ROLLOUT_WEEKS consecutive weeks (as `rollout`'s scenarios), lets the policy decide each drawn
week as it would (`simulate`, learning on from the weeks drawn so far), and averages the cycle's
remaining Σ|gap − m·target| over SIMULATIONS draws with a fixed seed, so the figure is the same on
every run. Greedy learns nothing, so its model is the last SAMPLE_WEEKS weeks published. The model
is the policy's, not the truth: the figure is what the policy expects, and is only as good as the
weeks it learned from (docs/weekly.md).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from planner.online.policies import ROLLOUT_WEEKS, Decision, Neighbour, Policy

SIMULATIONS = 16  # draws of the rest of the cycle (about 1 s for a whole cycle of guarded); se given beside
SEED = 0


def draw_weeks(
    weeks: Sequence[np.ndarray], count: int, block: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """`count` weeks made of runs of `block` consecutive `weeks` drawn with replacement (the block
    bootstrap; `block` 1: weeks drawn independently)."""
    block = max(1, min(block, len(weeks)))
    drawn: list[np.ndarray] = []
    while len(drawn) < count:
        first = int(rng.integers(0, len(weeks) - block + 1))
        drawn += weeks[first : first + block]
    return drawn[:count]


def simulate(
    weeks: Sequence[np.ndarray],
    policy: Policy,
    *,
    target: int,
    window_seconds: int,
    learned: Sequence[np.ndarray] = (),
    prior_weeks: int = 0,
    previous: Neighbour | None = None,
) -> int:
    """Σ|gap − m·target| of `policy` deciding `weeks` (eligible phases, seconds into the window; week
    k's window starts at k·target) one by one, each on that week and the weeks before it, after the
    `learned` weeks (the first `prior_weeks` of them another timeline's). `previous`: the anneal
    placed before week 0 (its time on the same axis, and windows before week 0; None: none)."""
    total, last = 0, None if previous is None else (previous.time, -previous.windows)
    for k, phases in enumerate(weeks):
        start = k * target
        decision = Decision(
            times=start + phases,
            window_start=start,
            window_seconds=window_seconds,
            target=target,
            previous=None if last is None else Neighbour(last[0], k - last[1]),
            remaining=len(weeks) - k - 1,
            samples=[*learned, *weeks[: k + 1]],  # as in a replay: this week is wholly published
            prior_weeks=prior_weeks,
        )
        choice = policy.choose(decision)
        if choice is None:
            continue
        time = int(decision.times[choice])
        if last is not None:
            total += abs(time - last[0] - (k - last[1]) * target)
        last = (time, k)
    return total


@dataclass(frozen=True, slots=True)
class Outlook:
    """The policy's expected Σ|gap − m·target| over the windows after the planned ones."""

    windows: int  # windows of the cycle after the last one planned
    mean_s: float | None  # None: no week known to draw from
    se_s: float | None  # standard error of the mean over the simulations
    simulations: int
    weeks: int  # weeks of the model the windows are drawn from

    def to_dict(self) -> dict:
        hours = None if self.mean_s is None else round(self.mean_s / 3600, 3)
        se = None if self.se_s is None else round(self.se_s / 3600, 3)
        return {
            "windows": self.windows,
            "sum_abs_deviation_hours": hours,
            "se_hours": se,
            "simulations": self.simulations,
            "model_weeks": self.weeks,
        }

    def describe(self, policy: str) -> str:
        if self.windows == 0:
            return "The plan reaches the cycle's last window: no window left to expect a cost of"
        if self.mean_s is None or self.se_s is None:
            return f"{self.windows} windows left; no published week yet to expect their cost from"
        return (
            f"Expected cost of the rest of the cycle ({self.windows} windows) under {policy}'s model of "
            f"the weeks: Σ|gap − m·7 d| {self.mean_s / 3600:.1f} h ± {self.se_s / 3600:.1f} h "
            f"({self.simulations} simulated continuations drawn from {self.weeks} weeks known)"
        )


def expected_rest(
    policy: Policy,
    model: Sequence[np.ndarray],
    windows: int,
    *,
    target: int,
    window_seconds: int,
    prior_weeks: int = 0,
    previous: Neighbour | None = None,
    simulations: int = SIMULATIONS,
    seed: int = SEED,
) -> Outlook:
    """The mean over `simulations` draws of the next `windows` weeks from `model` (the weeks the
    policy learns from, oldest first; the first `prior_weeks` another timeline's) of what `policy`
    pays on them from `previous` (the last placed anneal, relative to the first of those windows)."""
    if windows == 0 or not model:
        return Outlook(windows, 0.0 if windows == 0 else None, 0.0 if windows == 0 else None, 0, len(model))
    rng = np.random.default_rng(seed)
    # The shipped policies keep nothing between decisions but caches of what follows from one
    # decision alone (lookahead's cost-to-go, guarded's trust), so the simulations may share one
    # chooser; it is a copy so that the policy given is left as it was.
    chooser = copy.deepcopy(policy)
    costs = []
    for _ in range(simulations):
        drawn = draw_weeks(model, windows, ROLLOUT_WEEKS, rng)
        costs.append(
            simulate(
                drawn,
                chooser,
                target=target,
                window_seconds=window_seconds,
                learned=model,
                prior_weeks=prior_weeks,
                previous=previous,
            )
        )
    values = np.array(costs, dtype=np.float64)
    se = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0
    return Outlook(windows, float(values.mean()), se, simulations, len(model))
