"""The benchmark suites: each case in a fresh process (its own peak memory), results to files.

Suites (`python -m benchmarks --suites ...`):
- `decade`: the synthetic decade, every objective x side constraints (none, min gap 6.5 d, MIRI
  recovery 35 min, a pin plan up to mid-decade, a --fix, all together), against the exact
  lexicographic optimum of the DP (objective, regular, earliest slews).
- `scaling`: every objective on instances from 13 to 530 windows (default options).
- `lengths`: `regular` on synthetic timelines of 1 to 88 years (weekly anneals throughout, up to
  4,591 windows), without pins and with half the calendar pinned; the checker timed on its own.
- `race`: CP-SAT against HiGHS on the same model (planner.solver.model.FlowModel; HiGHS reads CP-SAT's
  own proto, benchmarks.highs_baseline), same hint, primary objective, for three prunings; HiGHS's
  answer checked against its own solution, as in benchmarks.joint_race.
- `cli`: `python -m planner solve` on real Cycle 2 and `--help`, beside the bare import of
  ortools, pandas and pyarrow (and the same imports made as the CLI makes them), interleaved.
- `batch`: perturbed Cycle 2 scenarios per minute on local processes.
Every row records the load average (1 min) before and after it; `benchmarks/README.md`'s results
section is rewritten from the result files by the runner.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from importlib.metadata import version
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results"
README = Path(__file__).parent / "README.md"
ROOT = Path(__file__).parent.parent

# name: (days, slews per day, MIRI fraction) for synthetic; None for the shipped real timeline.
INSTANCES: dict[str, tuple[float, float, float] | None] = {
    "small": (371 // 4, 12, 0.2),  # 13 windows
    "cycle2": None,
    "year": (371, 12, 0.2),
    "dense_year": (371, 25, 0.2),
    "dense_2y": (742, 25, 0.2),
    "dense_5y": (1855, 25, 0.2),
    "decade": (3710, 25, 0.2),
}
OBJECTIVES = ("regular", "mean", "minimax")
VARIANTS = ("none", "min_gap", "recovery", "pins", "fix", "all")
PRUNINGS = ("none", "greedy", "dp")
# What the race keeps of HiGHS's run (benchmarks.highs_baseline.solve_highs): an answer is checked
# against its own solution, and run again without the start when they differ (`highs_rerun`).
HIGHS_COLUMNS = (
    "highs_status",
    "highs_proven",
    "highs_value",
    "highs_solution_value",
    "highs_s",
    "highs_rerun",
)
SUITES = ("decade", "scaling", "lengths", "race", "cli", "batch")
# Suites run only when named, each a module of benchmarks/ that writes its own result files (longer
# runs: the policies' leave-one-cycle-out protocol takes minutes; the joint race four).
ON_REQUEST = ("joint_race", "joint", "policy_loo", "policy_variants", "replays", "rules", "online_bound")


def _instance(name: str):
    from planner.problem.calendar import Calendar
    from planner.schedules.synthetic import synthetic_timeline
    from planner.schedules.timeline import load_timeline

    spec = INSTANCES[name]
    frame = load_timeline() if spec is None else synthetic_timeline(*spec, seed=0)
    return frame, Calendar(count=53 if spec is None else int(spec[0] // 7))


def _load() -> float:
    return os.getloadavg()[0]


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _in_fresh_process(function, *args) -> dict:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def _cases(function, arguments: Iterable[tuple], line: Callable[[dict], str]) -> pd.DataFrame:
    """`function(*args)` for each of `arguments`, each in a fresh process, printing `line(row)` as
    each case ends: the rows of a suite."""
    rows = []
    for args in arguments:
        row = _in_fresh_process(function, *args)
        rows.append(row)
        print(line(row), flush=True)
    return pd.DataFrame(rows)


# -- decade: every objective x side constraints -------------------------------------------------------


def _variant_instance(variant: str, objective: str, frame, calendar):
    """The instance of a decade variant, on the seed's rules (`--rules seed`; the synthetic
    timeline has no time-series visits, so `operations` differs from it by the recovery alone).
    The pin plan is the `regular` plan under the variant's own rules, pinned before mid-decade;
    the fix puts the anneal three quarters in (400 of 530) on the middle eligible slew of its window
    (under the 35-minute recovery, so it is eligible in every variant)."""
    from planner.problem.eligibility import window_slews
    from planner.problem.instance import Instance
    from planner.problem.pins import Pin, pins_from_plan
    from planner.problem.rules import load_rules
    from planner.solver.solve import solve

    seed = load_rules("seed")
    min_gap_days = 6.5 if variant in ("min_gap", "all") else 0.0
    rules = seed.with_recovery(35.0) if variant in ("recovery", "all") else seed
    pins: list[Pin] = []
    if variant in ("pins", "all"):
        earlier = solve(
            Instance.build(
                frame, calendar=calendar, allow_missing=True, min_gap_days=min_gap_days, rules=rules
            )
        )
        middle = calendar.windows[len(calendar.windows) // 2].start
        pins += pins_from_plan(earlier.plan, middle)
    if variant in ("fix", "all"):
        anneal = round(calendar.count * 0.755)
        window = window_slews(frame, calendar, seed.with_recovery(35.0))[anneal - 1]
        ids = frame["visit_id"].to_numpy()[window.rows]
        unique = [i for i in range(len(ids)) if (ids == ids[i]).sum() == 1]
        pins.append(Pin(anneal, str(ids[unique[len(unique) // 2]])))
    return Instance.build(
        frame,
        calendar=calendar,
        objective=objective,
        allow_missing=True,
        pins=tuple(pins),
        min_gap_days=min_gap_days,
        rules=rules,
    )


def _measured_solve(instance, objective: str, repeats: int, solved: list | None = None) -> dict:
    """`repeats` solves (median times) beside the exact lexicographic optimum of the DP (the last
    solve's result appended to `solved` when given)."""
    from planner.solver import oracle
    from planner.solver.solve import build_chain, solve

    load = _load()
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = solve(instance)
        runs.append((time.perf_counter() - started, result))
    chain, _, _ = build_chain(instance)
    started = time.perf_counter()
    exact = oracle.lexicographic(chain, objective)
    dp_seconds = time.perf_counter() - started
    assert exact is not None
    result = runs[-1][1]
    if solved is not None:
        solved.append(result)
    order = [result.value, *(stage.value for stage in result.stages[-2:])]
    return {
        "status": result.status.value,
        "stages": " ".join(f"{s.name}:{s.status.value}" for s in result.stages),
        "value": result.value,
        "exact_value": exact.value,
        "equals_exact": order == [exact.value, exact.regular, exact.lateness],
        "variables": max(stage.variables for stage in result.stages),
        "solver_s": statistics.median(r.solve_seconds for _, r in runs),
        "build_s": statistics.median(r.build_seconds for _, r in runs),
        "total_s": statistics.median(t for t, _ in runs),
        "dp_s": dp_seconds,
        "peak_mib": _peak_mib(),
        "repeats": repeats,
        "load_before": load,
        "load_after": _load(),
    }


def _decade_case(objective: str, variant: str, repeats: int, instance: str = "decade") -> dict:
    frame, calendar = _instance(instance)
    planned = _variant_instance(variant, objective, frame, calendar)
    return {
        "instance": instance,
        "objective": objective,
        "variant": variant,
        "pins": len(planned.pins),
        **_measured_solve(planned, objective, repeats),
    }


def decade(repeats: int, objectives=OBJECTIVES, variants=VARIANTS, instance: str = "decade") -> pd.DataFrame:
    table = _cases(
        _decade_case,
        ((objective, variant, repeats, instance) for objective, variant in product(objectives, variants)),
        lambda row: (
            f"decade {row['objective']:8s} {row['variant']:9s} {row['status']:8s} "
            f"exact={row['equals_exact']} solver {row['solver_s']:.3f} s total {row['total_s']:.3f} s "
            f"peak {row['peak_mib']:.0f} MiB load {row['load_before']:.2f}"
        ),
    )
    table["meets_target"] = (
        (table["status"] == "OPTIMAL")
        & table["equals_exact"]
        & (table["solver_s"] <= 5.0)
        & (table["peak_mib"] <= 1024)
    )
    return table


# -- scaling: default options on instances of growing size -------------------------------------------


def _scaling_case(name: str, objective: str, repeats: int) -> dict:
    from planner.problem.instance import Instance

    frame, calendar = _instance(name)
    # Synthetic gaps can empty a window: such anneals are missing, as a planner would allow.
    instance = Instance.build(frame, calendar=calendar, objective=objective, allow_missing=True)
    return {
        "instance": name,
        "objective": objective,
        "windows": calendar.count,
        "slews": int(frame["is_slew"].sum()),
        **_measured_solve(instance, objective, repeats),
    }


def scaling(repeats: int, names=tuple(INSTANCES), objectives=OBJECTIVES) -> pd.DataFrame:
    return _cases(
        _scaling_case,
        ((name, objective, repeats) for name, objective in product(names, objectives)),
        lambda row: (
            f"scaling {row['instance']:10s} {row['objective']:8s} {row['status']:8s} "
            f"solver {row['solver_s']:.3f} s total {row['total_s']:.3f} s peak {row['peak_mib']:.0f} MiB "
            f"load {row['load_before']:.2f}"
        ),
    )


# -- lengths: side constraints against the timeline's length -----------------------------------------

YEARS = (1, 5, 11, 22, 44, 88)  # synthetic timelines of 25 slews a day, weekly anneals throughout
LENGTH_VARIANTS = ("none", "pins")


def _length_case(years: float, variant: str, repeats: int) -> dict:
    """`regular` with default options on `years` of the synthetic timeline, without pins or with
    the first half of the calendar pinned to the DP's optimum (the same optimum, so pins are all that
    differs); the checker timed on its own, on the plan solved."""
    from planner.plans.checker import check_plan
    from planner.problem.calendar import Calendar
    from planner.problem.instance import Instance
    from planner.problem.pins import Pin
    from planner.schedules.synthetic import synthetic_timeline
    from planner.solver import oracle
    from planner.solver.solve import build_chain

    days = round(years * 365.25)
    frame = synthetic_timeline(days, 25, 0.2, seed=0)
    calendar = Calendar(count=days // 7)
    instance = Instance.build(frame, calendar=calendar, allow_missing=True)
    pins: list[Pin] = []
    if variant == "pins":
        chain, _, placed = build_chain(instance)
        optimum = oracle.lexicographic(chain, "regular")
        assert optimum is not None
        ids, starts = frame["visit_id"].to_numpy(), frame["start"]
        for window, index in zip(placed, optimum.choice, strict=True):
            if window.window.anneal <= calendar.count // 2:
                at = int(window.rows[index])
                pins.append(Pin(window.window.anneal, str(ids[at]), int(starts.iloc[at].timestamp())))
        instance = Instance.build(frame, calendar=calendar, allow_missing=True, pins=tuple(pins))
    solved: list = []
    row = _measured_solve(instance, "regular", repeats, solved)
    plan = solved[0].plan
    checks = []
    for _ in range(repeats):
        started = time.perf_counter()
        problems = check_plan(plan, instance)
        checks.append(time.perf_counter() - started)
    assert not problems
    return {
        "years": years,
        "variant": variant,
        "windows": calendar.count,
        "visits": len(frame),
        "pins": len(pins),
        **row,
        "check_s": statistics.median(checks),
        "peak_mib": _peak_mib(),
    }


def lengths(repeats: int, years=YEARS, variants=LENGTH_VARIANTS) -> pd.DataFrame:
    table = _cases(
        _length_case,
        ((y, variant, repeats) for y, variant in product(years, variants)),
        lambda row: (
            f"lengths {row['years']:5g} y {row['variant']:5s} {row['windows']:5d} windows "
            f"{row['pins']:5d} pins "
            f"{row['status']:8s} build {row['build_s']:.2f} s solver {row['solver_s']:.2f} s total "
            f"{row['total_s']:.2f} s check {row['check_s']:.3f} s peak {row['peak_mib']:.0f} MiB "
            f"load {row['load_before']:.2f}"
        ),
    )
    base = table[table["variant"] == "none"].set_index("years")["total_s"]
    table["over_no_pins"] = table["total_s"] / table["years"].map(base)
    return table


# -- race: CP-SAT and HiGHS on the same model ------------------------------------------------------


def _race_case(name: str, objective: str, pruning: str, repeats: int) -> dict:
    """The primary stage's model for `pruning`, hinted, solved by both; best of `repeats` each.

    none: the unreduced model, hinted with the DP's plan (what `--prune none` solves first);
    greedy: pairs on plans no worse than a greedy plan (the DP unused: how a model with shared
      slews between programs would be pruned), hinted with that plan;
    dp: the planner's own model (pairs of plans lexicographically no worse than the DP's)."""
    from ortools.sat.python import cp_model

    from benchmarks.highs_baseline import solve_highs, to_highs
    from planner.problem.instance import Instance
    from planner.problem.settings import SolverSettings
    from planner.solver import oracle
    from planner.solver.model import FlowModel, Scope, scoped_pairs
    from planner.solver.solve import build_chain, configure, stage_scope

    frame, calendar = _instance(name)
    chain, _, _ = build_chain(
        Instance.build(frame, calendar=calendar, objective=objective, allow_missing=True)
    )
    exact = oracle.lexicographic(chain, objective)
    assert exact is not None
    hint = exact.choice
    if pruning == "none":
        scope = Scope(ends=objective == "mean")
    elif pruning == "dp":
        scope = stage_scope(objective, {objective: exact.value, "regular": exact.regular})
    else:
        greedy = oracle.greedy(chain)
        hint = greedy.choice
        value = {
            "regular": round(oracle.plan_cost(chain, hint, "sum")),
            "minimax": round(oracle.plan_cost(chain, hint, "max")),
            "mean": int(oracle.end_costs(chain)[hint[0], hint[-1]]),
        }[objective]
        scope = stage_scope(objective, {objective: value})
    scoped = scoped_pairs(chain, scope)
    model = FlowModel(chain, pairs=scoped.pairs, ends=scoped.ends, potentials=scoped.potentials)
    expression = {
        "regular": model.total_deviation,
        "minimax": model.add_worst_deviation,
        "mean": model.span_deviation,
    }[objective]()
    model.model.minimize(expression)
    model.hint(hint)
    translated = to_highs(model.model.proto)  # once: the translation is not timed
    load = _load()
    cp_sat, highs = [], []
    for _ in range(repeats):
        solver = cp_model.CpSolver()
        configure(solver, SolverSettings(), 60.0, objective)
        started = time.perf_counter()  # handing CP-SAT the model to its answer, as for HiGHS
        status = solver.status_name(solver.solve(model.model))
        cp_sat.append((time.perf_counter() - started, status, round(solver.objective_value)))
        highs.append(solve_highs(translated, 60.0))
    cp_best = min(cp_sat)
    highs_best = min(highs, key=lambda run: run["highs_s"])
    return {
        "instance": name,
        "objective": objective,
        "pruning": pruning,
        "pairs": sum(len(p.cost) for p in scoped.pairs),
        "columns": translated.lp.num_col_,
        "rows": translated.lp.num_row_,
        "exact_value": exact.value,
        "cp_sat_status": cp_best[1],
        "cp_sat_value": cp_best[2],
        "cp_sat_s": cp_best[0],
        **{key: highs_best[key] for key in HIGHS_COLUMNS},
        "cp_sat_over_highs": cp_best[0] / highs_best["highs_s"],
        "peak_mib": _peak_mib(),
        "load_before": load,
        "load_after": _load(),
    }


def race(
    repeats: int, names=("cycle2", "dense_year"), objectives=OBJECTIVES, prunings=PRUNINGS
) -> pd.DataFrame:
    table = _cases(
        _race_case,
        ((*case, repeats) for case in product(names, objectives, prunings)),
        lambda row: (
            f"race {row['instance']:10s} {row['objective']:8s} {row['pruning']:6s} pairs {row['pairs']:6d} "
            f"CP-SAT {row['cp_sat_status']} {row['cp_sat_s']:.4f} s  "
            f"HiGHS {row['highs_status']} {row['highs_s']:.4f} s  load {row['load_before']:.2f}"
        ),
    )
    table["same_optimum"] = (
        (table["cp_sat_value"] == table["exact_value"])
        & (table["highs_value"] == table["exact_value"])
        & (table["highs_solution_value"] == table["exact_value"])
    )
    table["cp_sat_at_least_as_fast"] = (table["cp_sat_s"] <= table["highs_s"]) & (
        table["cp_sat_status"] == "OPTIMAL"
    )
    return table


# -- cli: end to end against the import floor ---------------------------------------------------------


FLOOR = "from ortools.sat.python import cp_model; import pandas, pyarrow.parquet"
# The same imports as the CLI makes them (planner.cli._load_libraries): the collector paused for
# pandas and pyarrow, then frozen. Shown beside the bare floor, which stays the target's reference.
FROZEN_FLOOR = (
    "import gc; gc.disable(); import pandas, pyarrow.parquet; gc.enable(); gc.freeze(); "
    "from ortools.sat.python import cp_model"
)


def cli(repeats: int) -> pd.DataFrame:
    """Interleaved, `repeats` times: the import floor, `--help`, and `solve` on real Cycle 2.

    The package's bytecode is compiled first, as installing a wheel does: the floor's libraries
    have theirs, and a PYTHONDONTWRITEBYTECODE environment would otherwise compile the planner's
    modules on every run."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "planner")], check=True)
    commands = {
        "import floor (ortools, pandas, pyarrow)": [sys.executable, "-c", FLOOR],
        "import floor, collector paused then frozen": [sys.executable, "-c", FROZEN_FLOOR],
        "python -m planner --help": [sys.executable, "-m", "planner", "--help"],
    }
    times: dict[str, list[float]] = {}
    load = _load()
    with tempfile.TemporaryDirectory() as folder:
        for objective in OBJECTIVES:
            commands[f"python -m planner solve --objective {objective}"] = [
                sys.executable,
                *("-m", "planner", "solve", "--objective", objective, "--out", f"{folder}/plan.parquet"),
            ]
        for _ in range(repeats):
            for label, command in commands.items():
                started = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
                times.setdefault(label, []).append(time.perf_counter() - started)
    floor = statistics.median(times[next(iter(commands))])
    rows = [
        {
            "command": label,
            "median_s": statistics.median(values),
            "min_s": min(values),
            "over_floor": statistics.median(values) / floor,
            "repeats": repeats,
            "load_before": load,
            "load_after": _load(),
        }
        for label, values in times.items()
    ]
    for row in rows:
        print(
            f"cli {row['command']:50s} median {row['median_s']:.3f} s  x{row['over_floor']:.2f}", flush=True
        )
    return pd.DataFrame(rows)


# -- batch throughput -------------------------------------------------------------------------------------


def batch(count: int, jobs: int = 2) -> pd.DataFrame:
    """Scenarios per minute for `count` perturbed Cycle 2 scenarios on a local process pool."""
    from planner.batch.run import run_batch
    from planner.batch.scenarios import parse_scenarios

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
    load = _load()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        summary = run_batch(scenarios, Path(folder), jobs=jobs)
        seconds = time.perf_counter() - started
    row = {
        "executor": "local",
        "scenarios": count,
        "jobs": jobs,
        "seconds": seconds,
        "per_minute": count / seconds * 60,
        "solved": int((summary["state"] == "solved").sum()),
        "failed": int(summary["state"].isin(["failed", "infeasible"]).sum()),
        "load_before": load,
        "load_after": _load(),
    }
    print(f"batch {count} scenarios in {seconds:.1f} s: {row['per_minute']:.0f}/minute", flush=True)
    return pd.DataFrame([row])


# -- provenance, files, README ----------------------------------------------------------------------------


def _git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=ROOT
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


def provenance() -> dict:
    return {
        "commit": _git_commit(),
        "cpu": _cpu(),
        "cores": multiprocessing.cpu_count(),
        "ortools": version("ortools"),
        "highspy": version("highspy"),
        "planner": version("anneal-planner"),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


COLUMNS = {
    "decade": [
        "instance",
        "objective",
        "variant",
        "status",
        "equals_exact",
        "variables",
        "solver_s",
        "build_s",
        "total_s",
        "dp_s",
        "peak_mib",
        "load_before",
        "meets_target",
    ],
    "scaling": [
        "instance",
        "objective",
        "windows",
        "slews",
        "status",
        "equals_exact",
        "variables",
        "solver_s",
        "total_s",
        "dp_s",
        "peak_mib",
        "load_before",
    ],
    "lengths": [
        "years",
        "variant",
        "windows",
        "visits",
        "pins",
        "status",
        "equals_exact",
        "build_s",
        "solver_s",
        "total_s",
        "over_no_pins",
        "check_s",
        "dp_s",
        "peak_mib",
        "load_before",
    ],
    "race": [
        "instance",
        "objective",
        "pruning",
        "pairs",
        "rows",
        "cp_sat_status",
        "cp_sat_s",
        "highs_status",
        "highs_s",
        "highs_value",
        "highs_solution_value",
        "highs_rerun",
        "exact_value",
        "cp_sat_over_highs",
        "same_optimum",
        "load_before",
    ],
    "cli": ["command", "median_s", "min_s", "over_floor", "repeats", "load_before"],
    "batch": ["executor", "scenarios", "jobs", "seconds", "per_minute", "solved", "failed", "load_before"],
}


def markdown(suite: str, table: pd.DataFrame) -> str:
    first = table.iloc[0]
    header = (
        f"### {suite} (commit {str(first['commit'])[:10]}, {first['cpu']}, {first['cores']} cores, "
        f"ortools {first['ortools']}, highspy {first['highspy']}, {first['when']})\n\n"
    )
    return header + table[COLUMNS[suite]].to_markdown(index=False, floatfmt=".3f") + "\n"


def targets(results: Path = RESULTS) -> str:
    """Issue 12's targets, each with the figures that decide it, from the result files."""
    rows = []

    def read(suite: str) -> pd.DataFrame | None:
        path = results / f"{suite}.parquet"
        return pd.read_parquet(path) if path.exists() else None

    decade = read("decade")
    if decade is not None:
        rows.append(
            (
                "decade: every objective x side constraints OPTIMAL, exact, <= 5 s solver, <= 1 GiB",
                f"{int(decade['meets_target'].sum())} of {len(decade)} cases; solver at most "
                f"{decade['solver_s'].max():.3f} s, peak at most {decade['peak_mib'].max():.0f} MiB",
                bool(decade["meets_target"].all()),
            )
        )
    race = read("race")
    if race is not None:
        # faster only counts when CP-SAT proved the instance (two runs stopped at the limit tie)
        race["faster"] = (race["cp_sat_s"] <= race["highs_s"]) & (race["cp_sat_status"] == "OPTIMAL")
        losses = [
            f"{r.instance} {r.objective} {r.pruning} (CP-SAT {r.cp_sat_status} {r.cp_sat_s:.4f} s, "
            f"HiGHS {r.highs_status} {r.highs_s:.4f} s)"
            for r in race[~race["faster"]].itertuples()
        ]
        closest = race.iloc[int((race["cp_sat_s"] / race["highs_s"]).to_numpy().argmax())]
        rows.append(
            (
                "race: CP-SAT at least as fast as HiGHS on every instance",
                f"{int(race['faster'].sum())} of {len(race)} instances"
                + (f"; not on {', '.join(losses)}" if losses else "")
                + f"; closest: {closest['instance']} {closest['objective']} {closest['pruning']} "
                f"({closest['cp_sat_s']:.4f} s against {closest['highs_s']:.4f} s)",
                bool(race["faster"].all()),
            )
        )
        unpruned = race[(race["instance"] == "cycle2") & (race["pruning"] == "none")]
        if len(unpruned):
            rows.append(
                (
                    "race: Cycle 2 unpruned proven within 2 s (primary stage)",
                    ", ".join(
                        f"{r.objective} {r.cp_sat_status} {r.cp_sat_s:.3f} s" for r in unpruned.itertuples()
                    ),
                    bool(((unpruned["cp_sat_status"] == "OPTIMAL") & (unpruned["cp_sat_s"] <= 2)).all()),
                )
            )
    cli = read("cli")
    if cli is not None:
        solves = cli[cli["command"].str.contains(" solve ")]
        helps = cli[cli["command"].str.endswith("--help")]
        rows.append(
            (
                "cli: Cycle 2 solve within 1.3x of the import floor",
                f"{solves['over_floor'].min():.2f}x .. {solves['over_floor'].max():.2f}x",
                bool((solves["over_floor"] <= 1.3).all()),
            )
        )
        rows.append(
            (
                "cli: --help within 0.3 s",
                f"{helps['median_s'].max():.3f} s",
                bool((helps["median_s"] <= 0.3).all()),
            )
        )
    batch = read("batch")
    if batch is not None:
        rows.append(
            (
                "batch: >= 2,000 perturbed Cycle 2 scenarios a minute on 2 cores",
                f"{batch['per_minute'].max():.0f} a minute",
                bool((batch["per_minute"] >= 2000).all()),
            )
        )
    table = pd.DataFrame(rows, columns=["target", "measured", "met"])
    return "### targets\n\n" + table.to_markdown(index=False) + "\n"


def update_readme(results: Path = RESULTS, readme: Path = README) -> None:
    """Rewrite the README's results section from the result files (nothing else writes it)."""
    start, end = "<!-- results: written by python -m benchmarks -->", "<!-- end of results -->"
    text = readme.read_text()
    if start not in text or end not in text:
        return
    parts = [
        markdown(s, pd.read_parquet(results / f"{s}.parquet"))
        for s in SUITES
        if (results / f"{s}.parquet").exists()
    ]
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    readme.write_text(before + start + "\n\n" + "\n".join([targets(results), *parts]) + "\n" + end + after)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--suites", nargs="+", default=list(SUITES), choices=SUITES + ON_REQUEST)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--objectives", nargs="+", default=list(OBJECTIVES), choices=OBJECTIVES)
    parser.add_argument("--instances", nargs="+", default=list(INSTANCES), choices=list(INSTANCES))
    parser.add_argument(
        "--race-instances", nargs="+", default=["cycle2", "dense_year"], choices=list(INSTANCES)
    )
    parser.add_argument(
        "--years", nargs="+", type=float, default=list(YEARS), help="timeline lengths of the lengths suite"
    )
    parser.add_argument("--batch", type=int, default=400, metavar="N", help="scenarios in the batch suite")
    parser.add_argument(
        "--decade-instance", default="decade", choices=list(INSTANCES), help="instance of the decade suite"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for <suite>.parquet")
    parser.add_argument("--no-readme", action="store_true", help="leave benchmarks/README.md alone")
    parser.add_argument(
        "--readme-only", action="store_true", help="only rewrite README's results from the result files"
    )
    args = parser.parse_args(argv)
    for suite in [] if args.readme_only else args.suites:
        if suite in ON_REQUEST:
            import importlib

            module = importlib.import_module(f"benchmarks.{suite}")
            module.main(["--out", str(args.out)] if suite == "joint_race" else [])
            continue
        if suite == "decade":
            table = decade(args.repeats, args.objectives, instance=args.decade_instance)
        elif suite == "scaling":
            table = scaling(args.repeats, args.instances, args.objectives)
        elif suite == "lengths":
            table = lengths(args.repeats, args.years)
        elif suite == "race":
            table = race(args.repeats, args.race_instances, args.objectives)
        elif suite == "cli":
            table = cli(max(args.repeats, 5))
        else:
            table = batch(args.batch)
        for key, value in provenance().items():
            table[key] = value
        args.out.mkdir(parents=True, exist_ok=True)
        table.to_parquet(args.out / f"{suite}.parquet")
        print(markdown(suite, table), flush=True)
    if not args.no_readme and args.out == RESULTS:
        update_readme()
