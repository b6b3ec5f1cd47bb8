"""Leave one cycle out: `guarded`'s parameters fitted on two shipped cycles, measured on the third.

    python -m benchmarks.policy_loo [--perturbations 4] [--out benchmarks/results/policy_loo.csv]

Histories: Cycle 1 (the STScI text reports), Cycle 2 (the DJA JSON reports), Cycle 3 (the DJA's
whole-cycle list), each as shipped (variant 0) and in `--perturbations` seeded variants (5 % of each
report's rows cancelled, every row delayed by up to 3 h; as benchmarks/replays.py). Every policy
learns from the shipped timeline's weeks before the history begins (the default prior); operations
rules with the slew-time rule.

For each cycle left out, the grid point of `guarded` (k, max_weight, prior_share: GRID) with the
least mean ratio to hindsight over the runs of the two other cycles (shipped and variants) is
measured on the cycle left out, beside greedy, the default rollout and the anneals actually flown
(`summary["flown"]` of the replay). Per cycle: the ratio as shipped and the mean over the runs with
its standard error; in total: Σ cost / Σ hindsight over the three cycles, per variant, likewise.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.replays import CYCLES, DATA, RESULTS
from planner.online.outcome import run_replay
from planner.online.policies import Guarded, Rollout
from planner.online.prior import load_prior
from planner.problem.calendar import Calendar
from planner.problem.rules import load_rules
from planner.schedules.history import History
from planner.schedules.perturb import Perturbation

HISTORIES = {"Cycle 1": "cycle1-text", "Cycle 2": "cycle2-json", "Cycle 3": "cycle3-json"}
GRID = list(itertools.product((2.0, 6.0, 13.0, 26.0), (0.5, 1.0), (0.0, 0.5)))  # k, max_weight, prior_share


def guarded_name(k: float, weight: float, share: float) -> str:
    return f"guarded k={k:g} w={weight:g} share={share:g}"


def measure(perturbations: int) -> pd.DataFrame:
    rules = load_rules()
    prior = load_prior(None, rules)
    rows = []
    for cycle, key in HISTORIES.items():
        folders, start, count = CYCLES[key]
        shipped = History.read([DATA / f for f in folders])
        calendar = Calendar.from_options(start, count, 4.0, 7.0)
        for variant in range(perturbations + 1):
            change = Perturbation(cancel_fraction=0.05, max_delay_hours=3, seed=variant)
            within = (calendar.start, calendar.windows[-1].end)
            history = shipped.perturbed(change, within=within) if variant else shipped
            started = time.perf_counter()
            run = run_replay(history, calendar, Rollout(), rules, compare=True, prior=prior)
            summary = run.summary
            hindsight = summary["hindsight"]["sum_abs_deviation_s"]

            base = {"cycle": cycle, "variant": variant, "hindsight_s": hindsight}

            def row(policy: str, cost: float, seconds: float | None = None, base: dict = base) -> dict:
                return (
                    base
                    | {"policy": policy, "cost_s": cost, "ratio": cost / base["hindsight_s"]}
                    | {"seconds": seconds}
                )

            rows.append(row("rollout (default)", summary["result"]["sum_abs_deviation_s"]))
            rows.append(row("greedy", summary["greedy"]["sum_abs_deviation_s"]))
            rows.append(row("flown", summary["flown"]["sum_abs_deviation_s"]))
            print(
                f"{cycle} {variant}: rollout {rows[-3]['ratio']:.3f} greedy {rows[-2]['ratio']:.3f} "
                f"({time.perf_counter() - started:.1f} s)",
                flush=True,
            )
            for k, weight, share in GRID:
                started = time.perf_counter()
                policy = Guarded(k=k, max_weight=weight, prior_share=share)
                outcome = run_replay(history, calendar, policy, rules, compare=False, prior=prior)
                cost = outcome.summary["result"]["sum_abs_deviation_s"]
                rows.append(row(guarded_name(k, weight, share), cost, time.perf_counter() - started))
    return pd.DataFrame(rows)


def leave_one_out(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rows of the fitted guarded policy on each left-out cycle (policy "guarded (fitted)"), and the
    grid point chosen for each."""
    guarded = table[table["policy"].str.startswith("guarded")]
    chosen, fitted = {}, []
    for cycle in HISTORIES:
        fit = guarded[guarded["cycle"] != cycle].groupby("policy")["ratio"].mean()
        best = fit.idxmin()
        chosen[cycle] = str(best)
        picked = guarded[(guarded["cycle"] == cycle) & (guarded["policy"] == best)]
        fitted.append(picked.assign(policy="guarded (left-one-out fit)"))
    return pd.concat(fitted), chosen


def digest(table: pd.DataFrame) -> pd.DataFrame:
    """Per cycle and in total: the ratio as shipped, and mean ± standard error over the runs."""
    lines = []
    shown = ["flown", "greedy", "rollout (default)", "guarded (left-one-out fit)"]
    for policy in shown:
        runs = table[table["policy"] == policy]
        line = {"policy": policy}
        for cycle in HISTORIES:
            ratio = runs[runs["cycle"] == cycle].sort_values("variant")["ratio"].to_numpy()
            line[cycle] = _cell(ratio)
        total = runs.groupby("variant")[["cost_s", "hindsight_s"]].sum()
        line["total"] = _cell((total["cost_s"] / total["hindsight_s"]).to_numpy())
        lines.append(line)
    return pd.DataFrame(lines)


def _cell(ratio: np.ndarray) -> str:
    se = ratio.std(ddof=1) / np.sqrt(len(ratio)) if len(ratio) > 1 else float("nan")
    return f"{ratio[0]:.3f} / {ratio.mean():.3f} ± {se:.3f}"


def verdict(table: pd.DataFrame) -> list[str]:
    """The rule for making it the default: on every left-out cycle no worse than greedy as shipped
    and on the mean of the runs, and a total at most the current default's (as shipped and mean)."""
    lines, ok = [], True
    ratio = table.pivot_table(index=["cycle", "variant"], columns="policy", values="ratio")
    for cycle in HISTORIES:
        r = ratio.loc[cycle]
        g, guarded = r["greedy"], r["guarded (left-one-out fit)"]
        good = guarded[0] <= g[0] + 1e-12 and guarded.mean() <= g.mean() + 1e-12
        ok &= bool(good)
        lines.append(
            f"{cycle}: guarded {guarded[0]:.3f} / {guarded.mean():.3f} against greedy "
            f"{g[0]:.3f} / {g.mean():.3f}: {'no worse' if good else 'WORSE'}"
        )
    sums = table.groupby(["policy", "variant"])[["cost_s", "hindsight_s"]].sum()
    total = (sums["cost_s"] / sums["hindsight_s"]).unstack("variant")
    guarded, default = total.loc["guarded (left-one-out fit)"], total.loc["rollout (default)"]
    good = guarded[0] <= default[0] + 1e-12 and guarded.mean() <= default.mean() + 1e-12
    ok &= bool(good)
    lines.append(
        f"total: guarded {guarded[0]:.3f} / {guarded.mean():.3f} against the default rollout "
        f"{default[0]:.3f} / {default.mean():.3f}"
    )
    lines.append("make guarded the default: " + ("yes" if ok else "no"))
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--perturbations", type=int, default=4)
    parser.add_argument("--out", type=Path, default=RESULTS / "policy_loo.csv")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    started = time.perf_counter()
    table = measure(args.perturbations)
    fitted, chosen = leave_one_out(table)
    table = pd.concat([table, fitted], ignore_index=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(
        f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"{time.perf_counter() - started:.0f} s; {args.perturbations} perturbed variants per cycle"
    )
    for cycle, best in chosen.items():
        print(f"{cycle} left out: fitted on the other two -> {best}")
    print(digest(table).to_markdown(index=False))
    print("\n".join(verdict(table)))


if __name__ == "__main__":
    main()
