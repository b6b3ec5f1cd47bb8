"""The rule sets on every cycle the repository holds: the optima, the flown anneals, and how many
flown slew parallels break each default rule.

    python -m benchmarks.rules [--out results/rules.csv] [--flown-out results/rules-flown.csv]

Cycles 1 and 2 are read from the shipped timeline, Cycle 3 from the DJA's whole-cycle list
(`data/dja-merged/`). For each cycle and rule set (`seed`; `operations` without the slew-time
rule, the default before it; `operations`): the hindsight optimum of the `regular` objective with
missing windows allowed (windows served, Σ|gap − m·7 d|, status, equal to the DP or not), the
anneals actually flown in the cycle's weeks (count and Σ|gap − m·7 d|), and how many anneals of
the previous default's plan the rule set moves. The second table checks each default rule against
the slew parallels that flew: for every flown run of each slew-parallel mode, the rules of the
`operations` set (applied to the MIRI anneals) that its slew would break. A rule is right when the
schedules that flew obey it.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.replays import DATA
from planner.online.outcome import flown_metrics
from planner.plans.compare import flown_in_calendar
from planner.problem.calendar import to_seconds
from planner.problem.eligibility import exclusion_reason, window_slews
from planner.problem.instance import Instance
from planner.problem.program import load_program
from planner.problem.rules import load_rules
from planner.schedules.report import SLEW_PARALLEL
from planner.schedules.timeline import load_timeline
from planner.solver import oracle
from planner.solver.chain import Chain
from planner.solver.solve import solve

RESULTS = Path(__file__).parent / "results"
# cycle -> the timeline it is read from (None: the shipped one)
CYCLES: dict[int, Path | None] = {1: None, 2: None, 3: DATA / "dja-merged" / "jwst-schedule-cycle3.json"}
RULE_SETS = ("seed", "operations without slew-time", "operations")


def rule_set(name: str, program):
    if name == "operations without slew-time":
        return replace(load_rules("operations", program), name=name, min_slew_minutes=0.0)
    return load_rules(name, program)


def measure() -> tuple[pd.DataFrame, pd.DataFrame]:
    shipped = load_timeline()
    rows: list[dict[str, Any]] = []
    flown_rows: list[dict[str, Any]] = []
    for cycle, source in CYCLES.items():
        timeline = shipped if source is None else load_timeline([source])
        program = load_program(f"anneals-cycle{cycle}")
        calendar = program.calendar
        flown = flown_metrics(flown_in_calendar(timeline, calendar)[1], calendar)  # as a replay does
        plans = {}
        for name in RULE_SETS:
            rules = rule_set(name, program)
            instance = Instance(timeline=timeline, program=program, rules=rules)
            result = solve(instance)
            chain = Chain.from_windows(
                [w for w in window_slews(timeline, calendar, rules) if len(w.rows)], calendar.target_seconds
            )
            plans[name] = result.plan
            rows.append(
                {
                    "cycle": cycle,
                    "rules": name,
                    "status": result.status.value,
                    "windows": calendar.count,
                    "served": int(result.plan["slew_time"].notna().sum()),
                    "regular_s": result.value,
                    "equals_dp": result.value == round(oracle.best_path(chain, "sum").cost),
                    "flown": flown["placed"],
                    "flown_s": flown["sum_abs_deviation_s"] if flown["placed"] > 1 else None,
                    "moved_from_previous_default": int(
                        (
                            plans["operations without slew-time"]["slew_time"].fillna(
                                pd.Timestamp(0, tz="UTC")
                            )
                            != result.plan["slew_time"].fillna(pd.Timestamp(0, tz="UTC"))
                        ).sum()
                    )
                    if "operations without slew-time" in plans
                    else None,
                }
            )
        flown_rows += flown_rule_breaks(timeline, program, cycle)
    return pd.DataFrame(rows), pd.DataFrame(flown_rows)


def flown_rule_breaks(timeline: pd.DataFrame, program, cycle: int) -> list[dict[str, Any]]:
    """Per slew-parallel mode flown in the cycle's weeks: runs, and how many break each rule of
    `operations` applied to the MIRI anneals (a run's own slew parallel does not count as another
    one on its slew; recovery and the avoided instrument are MIRI's, so they speak for the
    anneals: lamps and flats fly into MIRI visits by design)."""
    calendar = program.calendar
    starts = to_seconds(timeline["start"])
    lo, hi = np.searchsorted(starts, [calendar.start, calendar.end])
    rules = load_rules("operations", program)
    names = rules.rule_names()
    by_mode: dict[str, Counter] = {}
    runs: Counter = Counter()
    parallels = timeline["parallels"].to_numpy()
    for i in range(lo, hi):
        for p in parallels[i]:
            if p["visit_type"] != SLEW_PARALLEL:
                continue
            mode = str(p["instrument"])
            runs[mode] += 1
            own = replace(rules, mode=mode)  # its own mode does not block its slew
            failed = _all_failed(timeline, own, i)
            by_mode.setdefault(mode, Counter()).update(failed)
    return [
        {"cycle": cycle, "mode": mode, "runs": runs[mode]} | {rule: by_mode[mode][rule] for rule in names}
        for mode in sorted(runs)
    ]


def _all_failed(timeline: pd.DataFrame, rules, index: int) -> list[str]:
    """Every rule the slew into visit `index` fails (not only the first)."""
    failed = []
    for rule in rules.rule_names():
        only = _only(rules, rule)
        if exclusion_reason(timeline, only, slice(index, index + 1))[0] == rule:
            failed.append(rule)
    return failed


def _only(rules, rule: str):
    """`rules` reduced to the built-in no-slew and the one `rule`, so that it is the first failed."""
    keep = replace(
        rules,
        exclusions=tuple(e for e in rules.exclusions if e.name == rule),
        min_slew_minutes=rules.min_slew_minutes if rule == "slew-time" else 0.0,
        miri_recovery_minutes=rules.miri_recovery_minutes if rule == rules.recovery else 0.0,
        avoid=rules.avoid if rule == rules.to_avoided else (),
    )
    return keep


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "rules.csv")
    parser.add_argument("--flown-out", type=Path, default=RESULTS / "rules-flown.csv")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    table, flown = measure()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    flown.to_csv(args.flown_out, index=False)
    print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(table.to_markdown(index=False))
    print(flown.to_markdown(index=False))


if __name__ == "__main__":
    main()
