"""Online policies replayed on the shipped cycles: how close to hindsight, how fast.

    python -m benchmarks.replays [--perturbations 8] [--out benchmarks/results/replays.csv]

For each history (Cycle 1 from the STScI text reports and from the DJA's whole-cycle list, Cycle 2
from the DJA JSON reports and from both, Cycle 3 from the DJA's whole-cycle list) and each policy
(greedy; guarded, the default; look-ahead and rollout with their defaults and with other weights,
horizons, without rollout's mirror images and without the prior, to show how they were chosen;
and rollout told the next window, a bound that is not online), the replay's Σ|gap − m·7 d| beside
the hindsight optimum of the same final schedule and rules, the anneals placed, missed and re-planned,
and the seconds the replay took. Each history is replayed as shipped (variant 0) and in
`--perturbations` seeded variants (5 % of each report's rows cancelled, every row delayed by up to
3 h), so one lucky or unlucky cycle does not decide. Operations rules throughout.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from planner.online.outcome import run_replay
from planner.online.policies import Decision, Greedy, Guarded, Lookahead, Policy, Rollout
from planner.online.prior import NO_PRIOR, load_prior, prior_from
from planner.problem.calendar import Calendar
from planner.problem.eligibility import window_slews
from planner.problem.rules import load_rules
from planner.schedules.history import History
from planner.schedules.perturb import Perturbation

DATA = Path(__file__).resolve().parent.parent / "data"
RESULTS = Path(__file__).parent / "results"
CYCLES = {
    "cycle1-text": (["raw/stsci-text"], "2022-07-11", 51),
    "cycle1-json": (["dja-merged/jwst-schedule-cycle1.json"], "2022-07-11", 51),
    "cycle2-json": (["raw/dja-json"], "2023-07-03", 53),
    "cycle2-all": (["raw/stsci-text", "raw/dja-json"], "2023-07-03", 53),
    "cycle3-json": (["dja-merged/jwst-schedule-cycle3.json"], "2024-07-01", 52),
}


# Every policy but "no prior" learns from the shipped timeline's weeks before the history begins
# (planner/prior.py): Cycle 1's weeks for the Cycle 2 JSON reports; none for the text reports,
# which reach back to July 2022 themselves.
POLICIES: dict[str, tuple[Callable[[History], Policy], bool]] = {
    "greedy": (lambda _: Greedy(), False),
    "lookahead": (lambda _: Lookahead(), True),
    "lookahead, weight 1": (lambda _: Lookahead(future_weight=1.0), True),
    "guarded (default)": (lambda _: Guarded(), True),
    "rollout (previous default)": (lambda _: Rollout(), True),
    "rollout, no prior": (lambda _: Rollout(), False),
    "rollout, no mirror": (lambda _: Rollout(mirror=False), True),
    "rollout, weight 1": (lambda _: Rollout(future_weight=1.0), True),
    "rollout, 8 weeks": (lambda _: Rollout(horizon_weeks=8), True),
    # Not an online policy: rollout told the final eligible slews of the next window, which the
    # weekly loop never has when it decides (the next week's report comes later). It measures how
    # much of the gap to hindsight is information rather than policy.
    "rollout + next window (not online)": (lambda history: NextWindowKnown(Rollout(), history), True),
}


class NextWindowKnown:
    """`inner`, also given the final schedule's eligible slews of the window after the decided
    one when that window is not yet wholly published (a benchmark bound, never a policy)."""

    def __init__(self, inner: Rollout, history: History):
        self.inner, self.name = inner, f"{inner.name}+next"
        self.sample_weeks = inner.sample_weeks
        self.final = prior_from(history.final(), load_rules(), "final").times  # eligible, ascending

    def choose(self, decision: Decision) -> int | None:
        if decision.following is not None or decision.lookahead or not len(decision.times):
            return self.inner.choose(decision)
        start = decision.window_start + decision.target
        known = self.final[
            np.searchsorted(self.final, start) : np.searchsorted(self.final, start + decision.window_seconds)
        ]
        left = decision.remaining + (decision.partial is not None)
        if not left:
            return self.inner.choose(decision)
        return self.inner.choose(replace(decision, lookahead=[known], partial=None, remaining=left - 1))


def measure(perturbations: int) -> pd.DataFrame:
    rows = []
    rules = load_rules()
    for cycle, (folders, start, count) in CYCLES.items():
        shipped = History.read([DATA / f for f in folders])
        calendar = Calendar.from_options(start, count, 4.0, 7.0)
        prior = load_prior(None, rules)
        for variant in range(perturbations + 1):
            history = perturbed(shipped, calendar, variant)
            hindsight = None
            for name, (make, learns) in POLICIES.items():
                started = time.perf_counter()
                policy, learned = make(history), prior if learns else NO_PRIOR
                run = run_replay(history, calendar, policy, rules, compare=hindsight is None, prior=learned)
                seconds = time.perf_counter() - started
                hindsight = hindsight or run.summary["hindsight"]["sum_abs_deviation_s"]
                result = run.summary["result"]
                rows.append(
                    {
                        "cycle": cycle,
                        "variant": variant,
                        "reports": len(history.issues),
                        "policy": name,
                        "prior_weeks": run.summary["prior"]["weeks"],
                        "placed": result["placed"],
                        "missed": result["missed"],
                        "replanned": result["replanned"],
                        "sum_abs_deviation_s": result["sum_abs_deviation_s"],
                        "hindsight_s": hindsight,
                        "ratio": result["sum_abs_deviation_s"] / hindsight,
                        "worst_hours": round(result["worst_deviation_hours"], 2),
                        "seconds": round(seconds, 2),
                    }
                )
                print(f"{cycle:12s} {variant:2d} {name:28s} ratio {rows[-1]['ratio']:.3f}", flush=True)
    return pd.DataFrame(rows)


def digest(table: pd.DataFrame) -> pd.DataFrame:
    """Per history and policy: the shipped ratio, the mean and worst over all variants, and in how
    many variants the policy did no worse than greedy."""
    greedy = table[table["policy"] == "greedy"].set_index(["cycle", "variant"])["ratio"]
    table = table.join(greedy.rename("greedy_ratio"), on=["cycle", "variant"])
    table["no_worse"] = table["ratio"] <= table["greedy_ratio"] + 1e-12
    grouped = table.groupby(["cycle", "policy"], sort=False)
    shipped = table[table["variant"] == 0].set_index(["cycle", "policy"])["ratio"]
    return pd.DataFrame(
        {
            "shipped": shipped,
            "mean": grouped["ratio"].mean(),
            "worst": grouped["ratio"].max(),
            "no_worse_than_greedy": grouped["no_worse"].sum().astype(str) + "/" + grouped.size().astype(str),
            "seconds": grouped["seconds"].median(),
        }
    ).reset_index()


def perturbed(history: History, calendar: Calendar, variant: int) -> History:
    """A shipped history's `variant` (0: as shipped): 5 % of each report's rows cancelled and every
    row delayed by up to 3 h, seeded by the variant, within the calendar's windows."""
    if not variant:
        return history
    change = Perturbation(cancel_fraction=0.05, max_delay_hours=3, seed=variant)
    return history.perturbed(change, within=(calendar.start, calendar.windows[-1].end))


def shipped_weeks(cycle: str) -> list[np.ndarray]:
    """Eligible phases (seconds into the window) of each window of a shipped history's final
    schedule, under the operations rules."""
    folders, start, count = CYCLES[cycle]
    final = History.read([DATA / f for f in folders]).final()
    return final_weeks(final, Calendar.from_options(start, count, 4.0, 7.0))


def final_weeks(final: pd.DataFrame, calendar: Calendar) -> list[np.ndarray]:
    """Eligible phases of each window of `calendar` in the timeline `final`, operations rules."""
    return [w.times - w.window.start for w in window_slews(final, calendar, load_rules())]


def time_of_week(bins: int = 12) -> pd.DataFrame:
    """Eligible slews of each history's final schedule by where they fall in their window (equal
    parts of the window, earliest first): how much the time of week says about where slews are,
    which is what rollout's mirror images assume to be little."""
    window = 4 * 86_400
    rows = {
        cycle: np.histogram(np.concatenate(shipped_weeks(cycle)), bins=bins, range=(0, window))[0]
        for cycle in CYCLES
    }
    return pd.DataFrame(rows).T.rename(columns=lambda i: f"{i * 96 // bins}h")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--perturbations", type=int, default=8)
    parser.add_argument("--out", type=Path, default=RESULTS / "replays.csv")
    parser.add_argument(
        "--time-of-week", action="store_true", help="only count eligible slews by their time in the window"
    )
    args = parser.parse_args(argv)
    if args.time_of_week:
        print(time_of_week().to_markdown())
        return
    load = os.getloadavg()
    write_and_print(measure(args.perturbations), args.out, load, digest)


def write_and_print(table: pd.DataFrame, out: Path, load: tuple, digest: Callable) -> None:
    """The rows to `out` (CSV), then the load before the run and the digest as a Markdown table."""
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(digest(table).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
