"""Online policies replayed on the shipped cycles: how close to hindsight, how fast.

    python -m benchmarks.replays [--out benchmarks/results/replays.csv]

For each cycle (Cycle 1 from the STScI text reports, Cycle 2 from the DJA JSON reports, Cycle 2
from both) and each policy (greedy; look-ahead with its default and a range of horizons, to show
the choice is not tuned to one cycle), the replay's Σ|gap − m·7 d| beside the hindsight optimum of
the same final schedule and rules, the anneals placed, missed and re-planned, and the seconds the
replay took (best of --repeats). Operations rules throughout.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

from planner.calendar import Calendar
from planner.history import History
from planner.policies import HORIZON_WEEKS, Greedy, Lookahead
from planner.replay_outcome import run_replay
from planner.rules import load_rules

DATA = Path(__file__).resolve().parent.parent / "data" / "raw"
RESULTS = Path(__file__).parent / "results"
CYCLES = {
    "cycle1-text": (["stsci-text"], "2022-07-11", 51),
    "cycle2-json": (["dja-json"], "2023-07-03", 53),
    "cycle2-all": (["stsci-text", "dja-json"], "2023-07-03", 53),
}


def measure(repeats: int) -> pd.DataFrame:
    rows = []
    rules = load_rules()
    for cycle, (folders, start, count) in CYCLES.items():
        history = History.read([DATA / f for f in folders])
        calendar = Calendar.from_options(start, count, 4.0, 7.0)
        policies = [Greedy(), Lookahead()] + [Lookahead(h) for h in (1, 2, 4, 16) if h != HORIZON_WEEKS]
        hindsight = None
        for policy in policies:
            seconds = []
            for _ in range(repeats):
                started = time.perf_counter()
                run = run_replay(history, calendar, policy, rules, compare=hindsight is None)
                seconds.append(time.perf_counter() - started)
            hindsight = hindsight or run.summary["hindsight"]["sum_abs_deviation_s"]
            result = run.summary["result"]
            rows.append(
                {
                    "cycle": cycle,
                    "reports": len(history.issues),
                    "policy": policy.name,
                    "horizon_weeks": getattr(policy, "horizon_weeks", None),
                    "default": policy.name == "lookahead" and policy.horizon_weeks == HORIZON_WEEKS,
                    "placed": result["placed"],
                    "missed": result["missed"],
                    "replanned": result["replanned"],
                    "sum_abs_deviation_s": result["sum_abs_deviation_s"],
                    "hindsight_s": hindsight,
                    "ratio": result["sum_abs_deviation_s"] / hindsight,
                    "worst_hours": round(result["worst_deviation_hours"], 2),
                    "seconds": round(min(seconds), 2),
                }
            )
            print(f"{cycle:12s} {policy.name:9s} {rows[-1]['horizon_weeks']!s:4s} ratio {rows[-1]['ratio']:.3f}")
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "replays.csv")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    table = measure(args.repeats)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(table.to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
