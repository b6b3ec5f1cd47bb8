"""Leave one cycle out: `guarded`'s parameters fitted on the shipped cycles left in, measured on the
cycle left out, beside greedy, rollout, the exact Bayes policy told the cycle's own weeks and the
anneals flown.

    python -m benchmarks.policy_loo [--perturbations 8] [--cycles 100] [--seed 0] [--jobs 2] [--quick]
                                    [--out benchmarks/results/policy_loo.csv]

The protocol (docs: benchmarks/README.md, "Leave one cycle out"). Cycles: Cycle 1 (the STScI text
reports), Cycle 2 (the DJA JSON reports), Cycle 3 (the DJA's whole-cycle list); operations rules
with the slew-time rule. Five settings, each run for every cycle:

- `replay`: the cycle's reports replayed in issue order (`run_replay`), as shipped (variant 0)
  and in `--perturbations` seeded variants (5 % of each report's rows cancelled, every row delayed
  by up to 3 h; as benchmarks/replays.py). Every policy learns from the shipped timeline's weeks
  before the history begins (the default prior). The anneals flown are measured on the same final
  schedule (`summary["flown"]`), over the cycle and on the weeks where both the flown anneals and
  the policy's plan hold one (`on_common_weeks`).
- `other prior`: the whole cycle replayed as shipped and in one variant, learning first from each
  other cycle's final weeks instead (moved by whole weeks to end where the cycle begins): a new
  cycle whose prior is a cycle unlike it, as Cycle 5 was unlike Cycles 1-2 (rollout
  3.63x hindsight on its first 9 weeks, greedy 1.45x).
- `first 9`: the first 9 windows of each cycle, replayed as `replay` does: the weeks where least
  of the cycle's own is known, against the hindsight optimum of those 9 windows.
- `iid` and `blocks`: `--cycles` cycles resampled from the cycle's final weeks (eligible phases per
  window), weeks drawn independently or in runs of 4 consecutive weeks (block bootstrap), decided
  week by week as in benchmarks/online_bound.py (`run_online`); the prior is the weeks of the
  cycles left in, in cycle order (never the cycle's own). No anneals were flown on these.

Policies: greedy; rollout (the previous default); every point of `guarded`'s GRID (k, max_weight, first);
and the reference, not online: the Bayes policy told the cycle's own week
distribution (benchmarks.online_bound.KnownWeeks with nothing ahead: lookahead at weight 1 whose
samples are all the cycle's final weeks; for a perturbed variant, that variant's), and on
resampled cycles rollout told them likewise (`TOLD`: what learning the weeks online costs). For each
setting and each cycle left out, the grid point with the least mean ratio to hindsight over the
runs of the same setting on the other cycles is "guarded (fitted on the cycles left in)" on the
cycle left out; on `other prior` and `first 9` the point chosen on the replays of the cycles
left in (nothing is fitted to a stress). Per cycle: mean ratio ± its standard error over the runs
(for `replay` and `first 9` first the ratio as shipped); in total: Σ cost / Σ hindsight over the
three cycles, per run, mean ± se.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.online_bound import BLOCK_WEEKS, TARGET, KnownWeeks, hindsight, resample, run_online
from benchmarks.replays import CYCLES, DATA, RESULTS, final_weeks, perturbed, shipped_weeks
from planner.online.outcome import on_common_weeks, run_replay
from planner.online.policies import FIRSTS, GUARD_MAX_WEIGHT, Greedy, Guarded, Policy, Rollout
from planner.online.prior import NO_PRIOR, Prior, load_prior, prior_from
from planner.online.replay import prior_cut
from planner.plans.compare import flown_in_calendar
from planner.problem.calendar import Calendar
from planner.problem.rules import RuleSet, load_rules
from planner.problem.slewtime import within
from planner.schedules.history import History

HISTORIES = {"Cycle 1": "cycle1-text", "Cycle 2": "cycle2-json", "Cycle 3": "cycle3-json"}
GRID = list(itertools.product((2.0, 6.0, 13.0, 26.0), (0.5, 1.0), FIRSTS))  # k, max_weight, first
SETTINGS = ("replay", "iid", "blocks", "other prior", "first 9")
# Settings that only stress a policy fitted elsewhere: the grid point chosen on the replays of the
# cycles left in is measured on them (no point is fitted to them).
STRESS = ("other prior", "first 9")
FIRST_WINDOWS = 9  # the start of a cycle, where little of its own is known (as Cycle 5's were for rollout)
FITTED = "guarded (fitted on the cycles left in)"
BAYES = "Bayes told the cycle's weeks (not online)"
# On resampled cycles only: the scenario look-ahead guarded uses, at its greatest weight, told the
# weeks the cycle is drawn from instead of learning them (what learning online costs it).
TOLD = "rollout told the cycle's weeks (not online)"
SHOWN = ["flown", "greedy", "rollout (previous default)", FITTED, BAYES, TOLD]
GOAL = 1.25  # the issue's: at most 1.25x hindsight in total, on the real cycles replayed


def guarded_name(k: float, weight: float, first: str) -> str:
    return f"guarded k={k:g} w={weight:g} {first}"


Candidates = Sequence[tuple[str, Callable[[], Policy]]]  # name, a picklable maker (worker processes)


def grid_points(grid: Sequence[tuple] = GRID) -> Candidates:
    """`guarded` at each (k, max_weight, first) of the grid, by name."""
    return [
        (guarded_name(k, w, first), functools.partial(Guarded, k=k, max_weight=w, first=first))
        for k, w, first in grid
    ]


def _row(
    setting: str, cycle: str, variant: int, policy: str, cost: float, best: float, common: dict | None = None
) -> dict:
    """One run; on a replay `common` is the policy and the flown anneals measured on the weeks both
    hold an anneal (planner.online.outcome.on_common_weeks)."""
    return {
        "setting": setting,
        "cycle": cycle,
        "variant": variant,
        "policy": policy,
        "cost_s": cost,
        "hindsight_s": best,
        "ratio": cost / best,
        "common_weeks": common["weeks"] if common else None,
        "common_s": common["plans_s"]["plan"] if common else None,
        "flown_common_s": common["flown_s"] if common else None,
    }


def replay_rows(
    cycle: str,
    variant: int,
    candidates: Candidates | None = None,
    setting: str = "replay",
) -> list[dict]:
    """One replayed history (`variant` 0: as shipped): greedy (with the hindsight optimum and the
    anneals flown beside it), the Bayes reference, rollout and every candidate (None: every grid
    point), each also measured beside the flown anneals on the weeks both hold one. `setting`
    "replay": the whole cycle, the default prior; "first 9": the cycle's first FIRST_WINDOWS
    windows, the default prior; "other prior": the whole cycle, rollout and the candidates once with
    the final weeks of each other cycle as the prior (`shifted_prior`; run 2·variant + its index),
    the others, which learn no prior, once (run 2·variant)."""
    folders, start, count = CYCLES[HISTORIES[cycle]]
    rules = load_rules()
    calendar = Calendar.from_options(start, FIRST_WINDOWS if setting == "first 9" else count, 4.0, 7.0)
    history = perturbed(History.read([DATA / f for f in folders]), calendar, variant)
    if setting == "other prior":
        others = [c for c in HISTORIES if c != cycle]
        priors = [(2 * variant + i, shifted_prior(c, history, rules)) for i, c in enumerate(others)]
    else:
        priors = [(variant, load_prior(None, rules))]
    final = history.final()
    weeks = final_weeks(final, calendar)
    _, flown = flown_in_calendar(final, calendar)  # once: every policy is set beside them
    greedy = run_replay(history, calendar, Greedy(), rules, compare=True, prior=NO_PRIOR)
    best = greedy.summary["hindsight"]["sum_abs_deviation_s"]

    def measured(run_id: int, name: str, run) -> dict:
        common = on_common_weeks({"plan": run.frame}, flown, calendar)
        cost = run.summary["result"]["sum_abs_deviation_s"]
        return _row(setting, cycle, run_id, name, cost, best, common)

    first = priors[0][0]  # greedy, the flown and the Bayes reference learn no prior: one run each
    bayes = run_replay(history, calendar, KnownWeeks(weeks), rules, compare=False, prior=NO_PRIOR)
    rows = [
        _row(setting, cycle, first, "flown", greedy.summary["flown"]["sum_abs_deviation_s"], best),
        measured(first, "greedy", greedy),
        measured(first, BAYES, bayes),
    ]
    learning = [("rollout (previous default)", Rollout), *(candidates or grid_points())]
    for run_id, prior in priors:
        for name, make in learning:
            run = run_replay(history, calendar, make(), rules, compare=False, prior=prior)
            rows.append(measured(run_id, name, run))
    print(f"{setting} {cycle} variant {variant}: done", flush=True)
    eligible = float(np.mean([len(w) for w in weeks]))  # shipped against variants: main() prints it
    return [row | {"eligible_per_window": eligible} for row in rows]


def shifted_prior(other: str, history: History, rules: RuleSet) -> Prior:
    """Cycle `other`'s final eligible slews as a prior, moved by whole weeks (the time of week
    kept) so that its last week ends where `history`'s first report begins: a new cycle whose
    prior was another cycle than the one before it. Only `other`'s own weeks: its reports reach
    into the next cycle (Cycle 1's text reports run to March 2024), which would be another's."""
    folders, start, count = CYCLES[HISTORIES[other]]
    calendar = Calendar.from_options(start, count, 4.0, 7.0)
    final = within(History.read([DATA / f for f in folders]).final(), calendar.start, calendar.end)
    prior = prior_from(final, rules, f"{other}, shifted")
    shift = -(-(prior.last - prior_cut(history)) // TARGET) * TARGET
    return Prior(prior.source, prior.times - shift, prior.first - shift, prior.last - shift)


def resampled_rows(
    cycle: str,
    weeks: list[np.ndarray],
    prior: list[np.ndarray],
    resampling: str,
    count: int,
    seed: int,
    candidates: Candidates | None = None,
) -> list[dict]:
    """`count` cycles resampled from `weeks` (`iid`: single weeks, `blocks`: runs of BLOCK_WEEKS),
    each decided by greedy, rollout and the candidates (None: the grid points) learning after
    `prior`, and by the Bayes policy and rollout (at guarded's greatest weight) told `weeks`. The
    seed of cycle i is (seed, i): the same cycles for every policy."""
    block = 1 if resampling == "iid" else BLOCK_WEEKS
    told = Rollout(future_weight=GUARD_MAX_WEIGHT, sample_weeks=len(weeks))
    rows = []
    for index in range(count):
        drawn = resample(weeks, block, np.random.default_rng([seed, index]))
        best = hindsight(drawn)
        made: list[tuple[str, Policy, Sequence[np.ndarray]]] = [
            ("greedy", Greedy(), []),
            ("rollout (previous default)", Rollout(), prior),
            (BAYES, KnownWeeks(weeks), []),
            (TOLD, KnownWeeks(weeks, inner=told), []),
        ]
        made += [(name, make(), prior) for name, make in candidates or grid_points()]
        for name, policy, learned in made:
            rows.append(_row(resampling, cycle, index, name, run_online(drawn, policy, learned), best))
    print(f"{resampling} {cycle}: {count} cycles done", flush=True)
    return rows


def measure(
    perturbations: int, cycles: int, seed: int = 0, jobs: int = 2, candidates: Candidates | None = None
) -> pd.DataFrame:
    """Every replayed history and every (cycle, resampling), `jobs` processes at a time, for the
    candidates (None: the grid points) beside greedy, rollout, the Bayes reference and the flown."""
    weeks = {cycle: shipped_weeks(key) for cycle, key in HISTORIES.items()}
    with ProcessPoolExecutor(jobs) as pool:
        futures = [  # the longest tasks first: as shipped and one variant, each other cycle the prior
            pool.submit(replay_rows, cycle, variant, candidates, "other prior")
            for cycle in HISTORIES
            for variant in range(min(perturbations, 1) + 1)
        ]
        futures += [
            pool.submit(replay_rows, cycle, variant, candidates, setting)
            for setting in ("replay", "first 9")
            for cycle in HISTORIES
            for variant in range(perturbations + 1)
        ]
        for number, cycle in enumerate(HISTORIES):
            prior = [w for other in HISTORIES if other != cycle for w in weeks[other]]
            for resampling in ("iid", "blocks"):
                if cycles:
                    args = (cycle, weeks[cycle], prior, resampling, cycles, seed * 100 + number, candidates)
                    futures.append(pool.submit(resampled_rows, *args))
        rows = [row for future in futures for row in future.result()]
    return pd.DataFrame(rows)


def leave_one_out(table: pd.DataFrame) -> tuple[pd.DataFrame, dict[tuple[str, str], str]]:
    """Rows of the fitted guarded policy (FITTED) on each cycle left out, per setting, and the grid
    point chosen for each (setting, cycle): the one with the least mean ratio over the runs of the
    same setting on the other cycles (on a STRESS setting, of the replays). The cycle left out's own
    rows play no part in its choice."""
    guarded = table[table["policy"].str.startswith("guarded ")]
    chosen: dict[tuple[str, str], str] = {}
    fitted = []
    for (setting, cycle), _ in guarded.groupby(["setting", "cycle"], sort=False):
        fit_on = "replay" if setting in STRESS else setting
        rest = guarded[(guarded["setting"] == fit_on) & (guarded["cycle"] != cycle)]
        if rest.empty:
            continue
        best = str(rest.groupby("policy")["ratio"].mean().idxmin())
        chosen[str(setting), str(cycle)] = best
        mine = guarded[(guarded["setting"] == setting) & (guarded["cycle"] == cycle)]
        fitted.append(mine[mine["policy"] == best].assign(policy=FITTED))
    return (pd.concat(fitted) if fitted else guarded.iloc[:0]), chosen


def _cycles(table: pd.DataFrame) -> list[str]:
    return [c for c in HISTORIES if c in set(table["cycle"])] or sorted(set(table["cycle"]))


def digest(table: pd.DataFrame, setting: str) -> pd.DataFrame:
    """One setting: per policy, per cycle the mean ratio ± se over the runs (replays: the ratio as
    shipped first), and the total Σ cost / Σ hindsight over the cycles per run, likewise."""
    table = table[table["setting"] == setting]
    shipped = setting in ("replay", "first 9")  # variant 0 is the history as shipped
    lines = []
    for policy in SHOWN:
        runs = table[table["policy"] == policy]
        if runs.empty:
            continue
        line = {"policy": policy}
        for cycle in _cycles(table):
            ratio = runs[runs["cycle"] == cycle].sort_values("variant")["ratio"].to_numpy()
            line[cycle] = _cell(ratio, shipped)
        total = runs.groupby("variant")[["cost_s", "hindsight_s"]].sum()
        line["total"] = _cell((total["cost_s"] / total["hindsight_s"]).to_numpy(), shipped)
        lines.append(line)
    return pd.DataFrame(lines)


def _cell(ratio: np.ndarray, shipped: bool) -> str:
    if len(ratio) == 0:
        return ""
    se = ratio.std(ddof=1) / np.sqrt(len(ratio)) if len(ratio) > 1 else float("nan")
    return (f"{ratio[0]:.3f} / " if shipped else "") + f"{ratio.mean():.3f} ± {se:.3f}"


def verdict(table: pd.DataFrame) -> list[str]:
    """The issue's goals, per setting: on every cycle left out no worse than greedy (the mean over
    the runs; on replays also as shipped); on replays as shipped, no worse than the anneals flown on
    the weeks where both hold an anneal (a variant's delays move the flown anneals too; over the
    whole cycle a plan with more anneals than flew has more intervals to pay for); and at most
    GOAL x hindsight in total on the replays, as shipped and on the mean over the variants. The
    issue sets that total on the real cycles replayed (its 1.60x and greedy's 1.46x); on resampled
    cycles its own Bayes figures were 1.29-1.38x, so there the total is set beside the references
    told the cycle's weeks, not judged."""
    lines = []
    for setting in [s for s in SETTINGS if s in set(table["setting"])]:
        part = table[table["setting"] == setting]
        ratio = part.pivot_table(index=["cycle", "variant"], columns="policy", values="ratio")
        cells = []
        for cycle in _cycles(part):
            r = ratio.loc[cycle]
            guarded, greedy = r[FITTED], r["greedy"]
            good = guarded.mean() <= greedy.mean() + 1e-12
            if setting in ("replay", "first 9"):
                good = good and guarded.iloc[0] <= greedy.iloc[0] + 1e-12
            cells.append(f"{cycle} {'no worse' if good else 'WORSE'} than greedy")
            if setting == "replay":  # as shipped (the variants move the flown anneals too)
                mine = part[(part["cycle"] == cycle) & (part["policy"] == FITTED) & (part["variant"] == 0)]
                if len(mine) and "common_s" in mine and mine["common_s"].notna().all():
                    plan, flown = mine["common_s"].iloc[0], mine["flown_common_s"].iloc[0]
                    cells[-1] += (
                        f", {'no worse' if plan <= flown else 'WORSE'} than flown on the "
                        f"{int(mine['common_weeks'].iloc[0])} weeks both hold one "
                        f"({plan / 86400:.2f} d against {flown / 86400:.2f} d)"
                    )
        sums = part.groupby(["policy", "variant"])[["cost_s", "hindsight_s"]].sum()
        totals = sums["cost_s"] / sums["hindsight_s"]  # per policy and run
        runs = totals.loc[FITTED]
        shown = f"{runs.mean():.3f}" + (f", as shipped {runs.loc[0]:.3f}" if setting == "replay" else "")
        if setting == "replay":
            goal = f"goal {GOAL:g}: {'met' if max(runs.mean(), runs.loc[0]) <= GOAL else 'not met'}"
        elif setting in STRESS:
            goal = "a stress: no goal"
        else:
            told = totals.groupby("policy").mean()
            goal = "; ".join(f"{name} {told[name]:.3f}" for name in (BAYES, TOLD) if name in told)
        lines.append(f"{setting}: {'; '.join(cells)}; total {shown} ({goal})")
    return lines


def run_options(
    argv: list[str] | None, doc: str, out: Path, perturbations: int = 8, cycles: int = 100
) -> argparse.Namespace:
    """The options of a run of the protocol (this module's and benchmarks.policy_variants'). The
    defaults: 8 variants and 100 resampled cycles, so that a total's standard error is about 0.03 on
    the replays and under 0.01 on resampled cycles (4 and 30 left them at 0.044 and 0.015, as
    large as the margins to the goal), in about 13 minutes on 2 cores."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument(
        "--perturbations", type=int, default=perturbations, help="perturbed variants per replayed cycle"
    )
    parser.add_argument(
        "--cycles", type=int, default=cycles, help="resampled cycles per cycle and resampling"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="processes")
    parser.add_argument("--quick", action="store_true", help="1 perturbed variant and 4 resampled cycles")
    parser.add_argument("--out", type=Path, default=out)
    args = parser.parse_args(argv)
    if args.quick:
        args.perturbations, args.cycles = 1, 4
    if args.perturbations < 0 or args.cycles < 0 or args.jobs < 1:
        parser.error("--perturbations and --cycles take 0 or more, --jobs 1 or more")
    return args


def main(argv: list[str] | None = None) -> None:
    args = run_options(argv, __doc__ or "", RESULTS / "policy_loo.csv")
    load = os.getloadavg()
    started = time.perf_counter()
    table = measure(args.perturbations, args.cycles, args.seed, args.jobs)
    fitted, chosen = leave_one_out(table)
    table = pd.concat([table, fitted], ignore_index=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(
        f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"{time.perf_counter() - started:.0f} s on {args.jobs} processes; {args.perturbations} perturbed "
        f"variants per replayed cycle, {args.cycles} resampled cycles per cycle and resampling"
    )
    eligible = table[table["setting"] == "replay"].groupby(["cycle", table["variant"] > 0])[
        "eligible_per_window"
    ]
    print(
        "eligible slews a window holds, as shipped and in the perturbed variants (slips keep each "
        "visit's slew; a cancelled visit's slew is gone): "
        + "; ".join(
            f"{cycle} {eligible.mean().get((cycle, False), float('nan')):.2f} and "
            f"{eligible.mean().get((cycle, True), float('nan')):.2f}"
            for cycle in _cycles(table)
        )
    )
    for (setting, cycle), best in chosen.items():
        print(f"{setting}, {cycle} left out: fitted on the others -> {best}")
    for setting in SETTINGS:
        if setting in set(table["setting"]):
            print(f"\n{setting}\n" + digest(table, setting).to_markdown(index=False))
    print("\n" + "\n".join(verdict(table)))


if __name__ == "__main__":
    main()
