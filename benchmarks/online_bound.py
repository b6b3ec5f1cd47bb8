"""How close to hindsight an online policy can get: cycles resampled from the shipped weeks.

    python -m benchmarks.online_bound [--cycles 100] [--seed 0] [--out benchmarks/results/online-bound.csv]

Issue 10 asks for an online policy within 1.15x of the hindsight optimum on every cycle. In the
weekly loop a window is decided on the report that publishes it, before the next week's report:
the policy knows this week's eligible slews and the weeks before, never the weeks after. On one
real cycle, whether a policy lands within 1.15x is decided by a handful of sparse weeks; this
runner asks what is reachable on average and how often, on many cycles of the same kind:

- Cycles: the final schedule of each shipped history (Cycle 1 from the text reports, Cycle 2 from
  the JSON reports; operations rules) cut into its weeks' eligible phases (slew time within the
  window), resampled into `--cycles` cycles of the same length: weeks drawn independently (`iid`),
  or runs of 4 consecutive weeks (`blocks`, which keeps campaigns and runs of sparse weeks).
- Policies, each given what the replay gives it (the window's slews, the previous anneal, the
  weeks before as samples): `greedy`, `rollout` and `lookahead` as shipped, learning from the
  other shipped cycle's weeks as their prior (what a new cycle gets from the shipped timeline:
  `--prior`, planner/prior.py), and `rollout` from the cycle's own weeks alone (`--no-prior`).
- Reference, not online: `known weeks, j ahead` is lookahead at weight 1 told the distribution
  the cycle's weeks are drawn from (its samples are all the source cycle's weeks) and the next j
  weeks exactly. With j = 0 and independent weeks it is the dynamic programme of the Bayes-optimal
  online policy (8-week horizon, 10-minute grid; a 30-week horizon gives the same means within
  0.003), so no online policy beats its mean on `iid` cycles. j > 0 is the value of publishing the
  schedule j weeks earlier.

Each row: the ratio of the policy's Σ|gap − m·7 d| to the cycle's hindsight optimum
(`planner.solver.oracle.best_path`, exact). The digest gives per source, resampling and policy the mean
ratio, the 90th percentile, the share of cycles within 1.15x and the share no worse than greedy.
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.replays import RESULTS, shipped_weeks, write_and_print
from planner.online.outlook import draw_weeks, simulate
from planner.online.policies import Decision, Greedy, Guarded, Lookahead, Policy, Rollout
from planner.solver.chain import Chain
from planner.solver.oracle import best_path

TARGET, WINDOW = 7 * 86400, 4 * 86400
SOURCES = {"Cycle 1 text": "cycle1-text", "Cycle 2 JSON": "cycle2-json"}
BLOCK_WEEKS = 4
AHEAD = (0, 1, 2, 4, 8)


def resample(weeks: list[np.ndarray], block: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A cycle as long as `weeks`, made of runs of `block` consecutive weeks drawn with replacement."""
    return draw_weeks(weeks, len(weeks), block, rng)


def hindsight(cycle: list[np.ndarray]) -> int:
    layers = [(k, k * TARGET + phases) for k, phases in enumerate(cycle) if len(phases)]
    chain = Chain(tuple(t for _, t in layers), TARGET, anneals=tuple(k + 1 for k, _ in layers))
    return int(best_path(chain).cost)


class KnownWeeks:
    """Lookahead at weight 1 told the weeks' distribution and the next `ahead` weeks (a reference).

    With `ahead` 0 it is the Bayes policy told the distribution: every decision sees the weeks it
    would see (in a replay also the later windows already published, and the one published in
    part) but learns from `distribution` alone, not from the weeks published so far; it needs no
    `cycle` then, and works in a replay (benchmarks/policy_loo.py) as well as in `run_online`."""

    def __init__(
        self,
        distribution: list[np.ndarray],
        cycle: list[np.ndarray] | None = None,
        ahead: int = 0,
        inner: Lookahead | None = None,
    ):
        # `inner`: another learner told the distribution instead (its samples are all of it)
        self.inner = inner or Lookahead(future_weight=1.0, sample_weeks=len(distribution))
        self.sample_weeks = len(distribution)
        self.distribution, self.cycle, self.ahead = distribution, cycle or [], ahead
        self.name = f"known weeks, {ahead} ahead"

    def choose(self, decision: Decision) -> int | None:
        if self.ahead == 0:
            return self.inner.choose(replace(decision, samples=self.distribution, prior_weeks=0))
        k = decision.window_start // TARGET  # run_online lays week k at k·TARGET
        following = self.cycle[k + 1 : k + 1 + self.ahead]
        return self.inner.choose(
            replace(
                decision,
                lookahead=[(k + 1 + j) * TARGET + p for j, p in enumerate(following)],
                remaining=decision.remaining - len(following),
                samples=self.distribution,
            )
        )


def run_online(cycle: list[np.ndarray], policy: Policy, prior: Sequence[np.ndarray] = ()) -> int:
    """Σ|gap − m·7 d| of the policy deciding each week on that week and the weeks before it
    (after the `prior` weeks, from earlier cycles): planner.online.outlook.simulate."""
    return simulate(
        cycle, policy, target=TARGET, window_seconds=WINDOW, learned=prior, prior_weeks=len(prior)
    )


def policies(
    weeks: list[np.ndarray], cycle: list[np.ndarray]
) -> dict[str, tuple[Callable[[], Policy], bool]]:
    """Name -> (a fresh policy, whether it learns from the prior)."""
    made: dict[str, tuple[Callable[[], Policy], bool]] = {
        "greedy": (Greedy, False),
        "guarded (default: with the prior)": (Guarded, True),
        "rollout (with the prior)": (Rollout, True),
        "rollout, no prior": (Rollout, False),
        "lookahead, with the prior": (Lookahead, True),
        "lookahead, no prior": (Lookahead, False),
    }
    for ahead in AHEAD:
        made[f"known weeks, {ahead} ahead (not online)"] = (
            functools.partial(KnownWeeks, weeks, cycle, ahead),
            False,
        )
    return made


def measure(cycles: int, seed: int, jobs: int) -> pd.DataFrame:
    """Every (source, resampling) in its own process, `jobs` at a time."""
    shipped = {source: shipped_weeks(key) for source, key in SOURCES.items()}
    tasks = []
    for source, weeks in shipped.items():
        prior = [w for other, ws in shipped.items() if other != source for w in ws]
        for resampling in ("iid", "blocks"):
            tasks.append((source, resampling, weeks, prior, cycles, seed))
    with ProcessPoolExecutor(jobs) as pool:
        parts = list(pool.map(_measure_one, *zip(*tasks, strict=True)))
    return pd.concat(parts, ignore_index=True)


def _measure_one(source, resampling, weeks, prior, cycles: int, seed: int) -> pd.DataFrame:
    rows = []
    rng = np.random.default_rng(seed)
    block = 1 if resampling == "iid" else BLOCK_WEEKS
    for index in range(cycles):
        cycle = resample(weeks, block, rng)
        best = hindsight(cycle)
        for name, (make, learns) in policies(weeks, cycle).items():
            started = time.perf_counter()
            cost = run_online(cycle, make(), prior if learns else [])
            rows.append(
                {
                    "source": source,
                    "resampling": resampling,
                    "cycle": index,
                    "policy": name,
                    "sum_abs_deviation_s": cost,
                    "hindsight_s": best,
                    "ratio": cost / best,
                    "seconds": time.perf_counter() - started,
                }
            )
    print(f"{source} {resampling}: {cycles} cycles", flush=True)
    return pd.DataFrame(rows)


def digest(table: pd.DataFrame) -> pd.DataFrame:
    """Per source, resampling and policy: the ratio of total cost to total hindsight (what the
    dynamic programme of `known weeks, 0 ahead` minimises in expectation on `iid` cycles), the mean
    ratio with its standard error, its 90th percentile, and the shares of cycles within 1.15x and no
    worse than greedy."""
    keys = ["source", "resampling", "cycle"]
    greedy = table[table["policy"] == "greedy"].set_index(keys)["ratio"]
    table = table.join(greedy.rename("greedy_ratio"), on=keys)
    table["within"] = table["ratio"] <= 1.15
    table["no_worse"] = table["ratio"] <= table["greedy_ratio"] + 1e-12
    grouped = table.groupby(["source", "resampling", "policy"], sort=False)
    return pd.DataFrame(
        {
            "total ratio": grouped["sum_abs_deviation_s"].sum() / grouped["hindsight_s"].sum(),
            "mean": grouped["ratio"].mean(),
            "se": grouped["ratio"].sem(),
            "p90": grouped["ratio"].quantile(0.9),
            "within 1.15x": grouped["within"].mean(),
            "no worse than greedy": grouped["no_worse"].mean(),
            "seconds": grouped["seconds"].median(),
        }
    ).reset_index()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="processes (one per source and resampling)")
    parser.add_argument("--out", type=Path, default=RESULTS / "online-bound.csv")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    write_and_print(measure(args.cycles, args.seed, args.jobs), args.out, load, digest)


if __name__ == "__main__":
    main()
