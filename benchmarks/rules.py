"""The rule sets on the shipped cycles: both optima, and what the operational rules change.

    python -m benchmarks.rules [--out benchmarks/results/rules.csv]

For Cycle 1 and Cycle 2 on the shipped timeline: the `regular` optimum under `seed` and under
`operations` (status, value, equal to the DP or not, solver seconds), how many anneals of the seed
plan break an operational rule (by rule), and how many anneals the operational optimum moves.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from planner.plans.checker import check_plan
from planner.problem.calendar import Calendar
from planner.problem.eligibility import window_slews
from planner.problem.instance import Instance
from planner.problem.rules import load_rules
from planner.schedules.timeline import load_timeline
from planner.solver import oracle
from planner.solver.chain import Chain
from planner.solver.solve import solve

RESULTS = Path(__file__).parent / "results"
CYCLES = {"cycle1": ("2022-07-11", 51), "cycle2": ("2023-07-03", 53)}


def measure() -> pd.DataFrame:
    timeline = load_timeline()
    rows: list[dict[str, Any]] = []
    for cycle, (start, count) in CYCLES.items():
        calendar = Calendar.from_options(start, count, 4.0, 7.0)
        plans = {}
        for name in ("seed", "operations"):
            rules = load_rules(name)
            result = solve(Instance.build(timeline, calendar=calendar, rules=rules, allow_missing=True))
            chain = Chain.from_windows(window_slews(timeline, calendar, rules), calendar.target_seconds)
            plans[name] = result.plan
            rows.append(
                {
                    "cycle": cycle,
                    "rules": name,
                    "status": result.status.value,
                    "placed": int(result.plan["slew_time"].notna().sum()),
                    "regular_s": result.value,
                    "equals_dp": result.value == round(oracle.best_path(chain, "sum").cost),
                    "solver_s": round(result.solve_seconds, 4),
                }
            )
        broken = check_plan(plans["seed"], Instance.build(timeline, calendar=calendar, allow_missing=True))
        by_rule = Counter(p.rule for p in broken if p.anneal is not None)
        moved = int((plans["seed"]["slew_time"] != plans["operations"]["slew_time"]).sum())
        rows[-1] |= {"seed_plan_breaks": dict(by_rule), "anneals_moved": moved}
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "rules.csv")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    table = measure()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(table.to_markdown(index=False))


if __name__ == "__main__":
    main()
