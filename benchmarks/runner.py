"""Solve a fixed instance set, each in its own process (so peak memory is its own), and record it.

Per instance and objective: the CP-SAT planner (`planner.solve`, default options), the exact DP
oracle, and HiGHS on the same pair model (benchmarks.highs_baseline); for real Cycle 2 also the
command line end to end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import resource
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.highs_baseline import solve_highs
from planner import oracle
from planner.calendar import Calendar
from planner.chain import Chain
from planner.eligibility import window_slews
from planner.model import bound_pairs
from planner.options import SolveOptions
from planner.rules import load_rules
from planner.solve import solve
from planner.synthetic import synthetic_timeline
from planner.timeline import load_timeline

RESULTS = Path(__file__).parent / "results"
# name: (days, slews per day, MIRI fraction) for synthetic; None for the shipped real timeline.
INSTANCES = {
    "small": (371 // 4, 12, 0.2),  # 13 windows
    "cycle2": None,  # the default rule set, operations
    "cycle2_seed": None,  # the seed's rules alone
    "year": (371, 12, 0.2),
    "dense_year": (371, 25, 0.2),
    "dense_2y": (742, 25, 0.2),
    "dense_5y": (1855, 25, 0.2),
    "decade": (3710, 25, 0.2),
}
RULES = {"cycle2_seed": "seed"}  # instance -> rule set; the others use the default (operations)
COLUMNS = [
    "instance",
    "rules",
    "objective",
    "windows",
    "slews",
    "status",
    "matches_dp",
    "variables",
    "build_s",
    "solver_s",
    "total_s",
    "cli_s",
    "dp_s",
    "highs_s",
    "cp_sat_over_dp",
    "cp_sat_over_highs",
    "peak_mib",
]


def _measure(name: str, objective: str, repeats: int) -> dict:
    spec = INSTANCES[name]
    frame = load_timeline() if spec is None else synthetic_timeline(*spec, seed=0)
    calendar = Calendar(count=53 if spec is None else int(spec[0] // 7))
    rules = load_rules(RULES.get(name))
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        # Synthetic gaps can empty a window: such anneals are missing, as a planner would allow.
        result = solve(frame, calendar, SolveOptions(objective=objective, allow_missing=True, rules=rules))
        runs.append((time.perf_counter() - started, result))
    total, result = min(runs, key=lambda run: run[0])

    chain = Chain.from_windows(window_slews(frame, calendar, rules), calendar.target_seconds)
    started = time.perf_counter()
    first, _ = oracle.lexicographic(chain, "regular" if objective == "mean" else objective)
    dp_seconds = time.perf_counter() - started
    highs = {"status": None, "value": None, "seconds": np.nan}
    if objective != "mean":  # HiGHS gets the very pairs the CP-SAT model gets
        kind = "max" if objective == "minimax" else "sum"
        highs = solve_highs(chain, bound_pairs(chain, kind, first.cost), objective)
    return {
        "instance": name,
        "rules": rules.name,
        "objective": objective,
        "windows": calendar.count,
        "slews": int(frame["is_slew"].sum()),
        "status": result.status.value,
        "value": result.value,
        "bound": result.bound,
        "dp_value": None if objective == "mean" else first.cost,
        "variables": max(stage["variables"] for stage in result.stages),
        "build_s": result.build_seconds,
        "solver_s": result.solve_seconds,
        "total_s": total,
        "dp_s": dp_seconds,
        "highs_status": highs["status"],
        "highs_value": highs["value"],
        "highs_s": highs["seconds"],
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "repeats": repeats,
    }


def _cli_seconds(objective: str, repeats: int) -> float:
    """`anneal-planner solve` on the shipped timeline, process start to plan written (best of)."""
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeats):
            started = time.perf_counter()
            command = ["anneal-planner", "solve", "--objective", objective, "--out", f"{folder}/plan.parquet"]
            subprocess.run(command, check=True, capture_output=True)
            times.append(time.perf_counter() - started)
    return min(times)


def _git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def run(names: list[str], objectives: list[str], repeats: int, out: Path | None) -> pd.DataFrame:
    context = multiprocessing.get_context("spawn")
    rows = []
    for name in names:
        for objective in objectives:
            with context.Pool(1) as pool:  # a fresh process per instance: its own peak memory
                row = pool.apply(_measure, (name, objective, repeats))
            row["cli_s"] = _cli_seconds(objective, repeats) if name == "cycle2" else np.nan
            rows.append(row)
            print(
                f"{name:11s} {objective:8s} {row['status']:8s} solver {row['solver_s']:7.3f} s  "
                f"total {row['total_s']:7.3f} s  dp {row['dp_s']:.4f} s  highs {row['highs_s']:7.3f} s  "
                f"peak {row['peak_mib']:.0f} MiB",
                flush=True,
            )
    table = pd.DataFrame(rows)
    # The optimum must equal the oracle's (mean has no DP here) and be proven.
    table["matches_dp"] = (table["value"] == table["dp_value"]) | table["dp_value"].isna()
    if not (table["matches_dp"] & (table["status"] == "OPTIMAL")).all():
        print("WARNING: a run is not OPTIMAL or differs from the DP optimum", flush=True)
    table["cp_sat_over_dp"] = table["solver_s"] / table["dp_s"]
    table["cp_sat_over_highs"] = table["solver_s"] / table["highs_s"]
    table["commit"] = _git_commit()
    table["cpu"] = _cpu()
    table["cores"] = multiprocessing.cpu_count()
    table["ortools"] = version("ortools")
    table["highspy"] = version("highspy")
    table["planner"] = version("anneal-planner")
    table["when"] = datetime.now(UTC).isoformat(timespec="seconds")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(out)
    return table


def plot(table: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scaling = table[table["instance"].str.startswith(("dense", "decade"))]
    if scaling.empty:  # a partial run (e.g. the smoke test): plot what was measured
        scaling = table
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for objective, group in scaling.groupby("objective"):
        ax.plot(group["windows"], group["solver_s"], marker="o", label=f"CP-SAT {objective}")
        if group["highs_s"].notna().any():
            ax.plot(group["windows"], group["highs_s"], marker="x", linestyle=":", label=f"HiGHS {objective}")
    dp = scaling.groupby("windows")["dp_s"].min()
    ax.plot(dp.index, dp.values, marker="s", linestyle="--", label="DP oracle")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="windows (anneals)",
        ylabel="solver seconds",
        title="Solve time, synthetic timelines at 25 slews/day",
    )
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def batch_throughput(count: int = 200, jobs: int = 2) -> pd.DataFrame:
    """Scenarios per minute for `count` perturbed Cycle 2 scenarios, locally and on a local Dask cluster."""
    from distributed import LocalCluster

    from planner.batch import run_batch
    from planner.scenarios import parse_scenarios

    rng = np.random.default_rng(0)
    entries = [
        {
            "allow_missing": True,
            "perturbation": {
                "cancel_fraction": round(float(rng.uniform(0, 0.3)), 3),
                "max_delay_hours": round(float(rng.uniform(0, 24)), 1),
                "lost_days": float(rng.choice([0, 0, 0, 7])),
                "seed": i,
            },
        }
        for i in range(count)
    ]
    scenarios = parse_scenarios({"scenarios": entries})
    rows = []
    for executor in ("local", "dask"):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            if executor == "local":
                summary = run_batch(scenarios, Path(folder), jobs=jobs)
            else:
                with LocalCluster(
                    n_workers=jobs, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
                ) as cluster:
                    started = time.perf_counter()  # cluster start-up is not the batch's time
                    summary = run_batch(scenarios, Path(folder), scheduler=cluster.scheduler_address)
            seconds = time.perf_counter() - started
        rows.append(
            {
                "executor": executor,
                "scenarios": count,
                "jobs": jobs,
                "seconds": seconds,
                "per_minute": count / seconds * 60,
                "solved": int((summary["state"] == "solved").sum()),
                "failed": int(summary["state"].isin(["failed", "infeasible"]).sum()),
            }
        )
        print(
            f"batch {executor:5s} {count} scenarios in {seconds:.1f} s: {count / seconds * 60:.0f}/minute",
            flush=True,
        )
    return pd.DataFrame(rows)


def markdown(table: pd.DataFrame) -> str:
    return table[COLUMNS].to_markdown(index=False, floatfmt=".3f")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--instances", nargs="+", default=list(INSTANCES), choices=list(INSTANCES))
    parser.add_argument("--objectives", nargs="+", default=["regular", "mean", "minimax"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.parquet")
    parser.add_argument(
        "--batch",
        type=int,
        default=0,
        metavar="N",
        help="also measure batch throughput on N perturbed Cycle 2 scenarios (e.g. 200)",
    )
    args = parser.parse_args(argv)
    if args.batch:
        batch = batch_throughput(args.batch)
        batch["commit"], batch["cpu"], batch["cores"] = _git_commit(), _cpu(), multiprocessing.cpu_count()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        batch.to_parquet(args.out.with_name("batch.parquet"))
        print(batch.to_markdown(index=False, floatfmt=".1f"))
    table = run(args.instances, args.objectives, args.repeats, args.out)
    plot(table, args.out.with_suffix(".png"))
    print(markdown(table))
