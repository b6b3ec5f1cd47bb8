"""Other designs of the weekly policy, measured as `policy_loo` measures `guarded`: what was tried
beside the default and why it is not the default.

    python -m benchmarks.policy_variants [--perturbations 4] [--cycles 30] [--seed 0] [--jobs 2] [--quick]
                                         [--out benchmarks/results/policy_variants.csv]

Every variant is `guarded` at its defaults (k 2, w_max 1, first anneal mid-window) with one change:

- `tail`: each rollout scenario ends in the learned cost-to-go (lookahead's value iteration over
  the trusted weeks, 4 weeks deep) instead of nothing: the scenario's last phase then matters.
- `dp`: lookahead's cost-to-go (8 weeks) in place of the scenarios, with guarded's weeks and weight.
- `13 weeks`, `52 weeks`: it learns from the last 13 or 52 weeks known instead of 26.
- `gate`: it leaves greedy's slew only when the scenarios' paired gain over greedy's is more than
  one standard error (the scenarios counted as a quarter as many: they overlap).
- `earliest first`: with nothing trusted, the first anneal takes greedy's earliest slew rather
  than the one nearest the window's middle (the default before this was measured with perturbed
  variants that keep each visit's slew).

Same settings, runs and figures as `policy_loo` (replays as shipped and in variants, another
cycle's prior, the first 9 windows, resampled cycles); nothing is fitted: each variant runs at the
same parameters on every cycle.
"""

from __future__ import annotations

import functools
import os
import time

import numpy as np
import pandas as pd

from benchmarks.policy_loo import SETTINGS, Candidates, measure, run_options
from benchmarks.replays import RESULTS
from planner.online.policies import Greedy, Guarded, Lookahead, _chain_from, _value_iteration, interval_cost

DEFAULT = "guarded (default)"


class Tail(Guarded):
    """`guarded` whose scenarios end in the learned cost-to-go, `tail` weeks deep."""

    def __init__(self, tail: int = 4):
        super().__init__()
        self.tail = tail

    def _continuation(self, decision):
        samples, weight = self.learned(decision), self.weight(decision)
        futures, values = self.scenarios(decision), {}
        total = np.zeros(len(decision.times))
        for layers in futures:
            placed = [(0, decision.times), *((j, t) for j, t, _ in layers if len(t))]
            j, last = placed[-1]
            published = len(decision.lookahead) + (decision.partial is not None)
            depth = min(self.tail, max(0, decision.remaining + published - j))
            beyond = None
            if depth and samples and weight:
                if depth not in values:  # the same weeks for every scenario: once per depth
                    values[depth] = _value_iteration(samples, decision.window_seconds, depth)
                grid, value = values[depth]
                phases = last - (decision.window_start + j * decision.target)
                beyond = weight * np.interp(phases, grid, value)
            total += _chain_from(decision.times, layers, decision.target, beyond)
        return total / len(futures)


class Dynamic(Guarded):
    """`guarded` with lookahead's cost-to-go (value iteration over its trusted weeks)."""

    def _continuation(self, decision):
        return Lookahead._continuation(self, decision)


class Gate(Guarded):
    """`guarded` that leaves greedy's slew only on a gain of more than `z` standard errors."""

    def __init__(self, z: float = 1.0, overlap: int = 4):
        super().__init__()
        self.z, self.overlap = z, overlap

    def choose(self, decision):
        if len(decision.times) == 0 or decision.following is not None or self.weight(decision) == 0:
            return super().choose(decision)
        now = interval_cost(decision)
        futures = self.scenarios(decision)
        costs = np.array([now + _chain_from(decision.times, f, decision.target) for f in futures])
        best, nearest = int(np.argmin(costs.mean(axis=0))), Greedy().choose(decision)
        if nearest is None or best == nearest or len(futures) < 2:
            return best
        gain = costs[:, nearest] - costs[:, best]
        se = gain.std(ddof=1) / np.sqrt(max(1.0, len(futures) / self.overlap))
        return best if gain.mean() > self.z * se else nearest


VARIANTS: Candidates = [
    (DEFAULT, Guarded),
    ("tail", Tail),
    ("dp", functools.partial(Dynamic, horizon_weeks=8)),
    ("13 weeks", functools.partial(Guarded, sample_weeks=13)),
    ("52 weeks", functools.partial(Guarded, sample_weeks=52)),
    ("gate", Gate),
    ("earliest first", functools.partial(Guarded, first="earliest")),
]


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per setting and variant: the total (Σ cost / Σ hindsight over the cycles, per run) mean ±
    se, and how many cycles its mean is no worse than greedy's on."""
    lines = []
    for setting in [s for s in SETTINGS if s in set(table["setting"])]:
        part = table[table["setting"] == setting]
        ratio = part.pivot_table(index=["cycle", "variant"], columns="policy", values="ratio")
        sums = part.groupby(["policy", "variant"])[["cost_s", "hindsight_s"]].sum()
        total = (sums["cost_s"] / sums["hindsight_s"]).groupby("policy")
        line = {"setting": setting}
        for name in ["greedy", *(n for n, _ in VARIANTS)]:
            mean, runs = total.mean()[name], total.size()[name]
            se = total.std()[name] / np.sqrt(runs) if runs > 1 else float("nan")
            cycles = ratio.groupby(level="cycle").mean()
            better = int((cycles[name] <= cycles["greedy"] + 1e-12).sum())
            line[name] = f"{mean:.3f} ± {se:.3f}" + ("" if name == "greedy" else f" ({better}/{len(cycles)})")
        lines.append(line)
    return pd.DataFrame(lines)


def main(argv: list[str] | None = None) -> None:
    args = run_options(argv, __doc__ or "", RESULTS / "policy_variants.csv", perturbations=4, cycles=30)
    load = os.getloadavg()
    started = time.perf_counter()
    table = measure(args.perturbations, args.cycles, args.seed, args.jobs, VARIANTS)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(
        f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"{time.perf_counter() - started:.0f} s on {args.jobs} processes"
    )
    print("total ratio to hindsight, mean ± se (cycles of 3 no worse than greedy)")
    print(summary(table).to_markdown(index=False))


if __name__ == "__main__":
    main()
