"""Co-planning on every cycle the repository holds, and a ten-year synthetic timeline of five programs.

    python -m benchmarks.joint [--out results/joint.csv] [--decade-out results/joint-decade.json]

For each cycle (1 and 2 from the shipped timeline, 3 from the DJA's whole-cycle list): the slew-
parallel programs that flew in the cycle's weeks are inferred with ±24 h freedom (`programs infer`),
the inferred anneal file is replaced by the shipped weekly series (`anneals-cycleN`), and all are
co-planned under the `operations` rules. Beside the joint plan's anneal Σ|gap − m·7 d|:
(a) the anneals alone with the other programs on their flown slews (`solve` of the series alone),
(b) the anneals alone with every slew the planned programs flew on free (the DP: a lower bound).
Then every other run placed or not, what moved (anneals moved from (a); campaign runs moved from
their flown time, and how many of those flew on a slew their inferred rules refuse), and the joint
solve's status and time. The decade: `synthetic_calibrations(3650)` co-planned in a fresh process
(time, status, peak memory).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.rules import CYCLES
from planner.plans.joint_result import MOVED_HOURS, displacement_hours
from planner.problem.calendar import to_seconds
from planner.problem.eligibility import exclusion_reason
from planner.problem.infer import infer_programs
from planner.problem.instance import Instance
from planner.problem.joint import JointInstance
from planner.problem.program import load_program
from planner.problem.slewtime import within
from planner.schedules.timeline import load_timeline
from planner.solver.joint import solve_joint
from planner.solver.solve import solve

RESULTS = Path(__file__).parent / "results"
FREEDOM_HOURS = 24.0


def cycle_programs(timeline: pd.DataFrame, cycle: int):
    """The shipped anneal series of the cycle and the other programs inferred from its weeks."""
    anneals = load_program(f"anneals-cycle{cycle}")
    weeks = within(timeline, anneals.calendar.start, anneals.calendar.end)
    others = [i.program for i in infer_programs(weeks, FREEDOM_HOURS) if i.program.mode != anneals.mode]
    return anneals, others


def measure_cycle(cycle: int, timeline: pd.DataFrame) -> dict[str, Any]:
    anneals, others = cycle_programs(timeline, cycle)
    instance = JointInstance(timeline=timeline, programs=(anneals, *others), rules="operations")
    joint = solve_joint(instance)
    alone = solve(Instance(timeline=timeline, program=anneals, rules="operations"))
    plan = joint.plan
    mine = plan[plan["program"] == anneals.name]
    campaign_runs = plan[plan["program"] != anneals.name]
    placed = campaign_runs[campaign_runs["slew_time"].notna()]
    moved_h = displacement_hours(placed)
    refused = _flown_refused(instance)
    same = mine["slew_time"].to_numpy() == alone.plan["slew_time"].to_numpy()
    together, apart = joint.value("regular"), alone.value
    assert together is not None and apart is not None  # both plans are OPTIMAL (checked)
    return {
        "cycle": cycle,
        "programs": len(instance.programs),
        "campaign_runs": len(campaign_runs),
        "campaign_runs_placed": len(placed),
        "anneals_served": int(mine["slew_time"].notna().sum()),
        "windows": anneals.calendar.count,
        "joint_s": together,
        "flown_slews_fixed_s": apart,
        "all_slews_free_s": joint.alone[anneals.name],
        "gain_vs_fixed": 1 - together / apart,
        "anneals_moved": int((~same).sum()),
        "runs_moved_over_1h": int((moved_h > MOVED_HOURS).sum()),
        "runs_moved_mean_h": float(moved_h.mean()),
        "flown_runs_refused_by": refused,
        "displacement_s": joint.value("displacement"),
        "status": joint.status.value,
        "solve_s": round(joint.solve_seconds, 2),
        "build_s": round(joint.build_seconds, 2),
    }


def _flown_refused(instance: JointInstance) -> str:
    """Campaign runs whose flown slew (their preferred time) is not eligible under their program's
    inferred rules, by the first rule it breaks: they must move whatever the anneals do."""
    starts = to_seconds(instance.freed["start"])
    broken: Counter = Counter()
    for o in instance.observations:
        eligible = set(o.times.tolist())
        for t in o.preferred:
            if t not in eligible:
                i = int(np.searchsorted(starts, t))
                rules = instance.rule_sets[o.program]
                broken[exclusion_reason(instance.freed, rules, slice(i, i + 1))[0]] += 1
    return "; ".join(f"{rule} {n}" for rule, n in broken.most_common()) or "none"


def decade_run() -> dict[str, Any]:
    """The ten-year five-program synthetic instance co-planned (run in a process of its own by
    `measure_decade`, so that the peak memory is this solve's alone)."""
    import resource

    from planner.schedules.synthetic import synthetic_calibrations

    timeline, programs = synthetic_calibrations(3650, seed=0)
    started = time.perf_counter()
    instance = JointInstance(timeline=timeline, programs=tuple(programs), rules="operations")
    result = solve_joint(instance)
    return {
        "visits": len(timeline),
        "programs": len(programs),
        "observations": len(instance.observations),
        "runs": len(result.plan),
        "status": result.status.value,
        "seconds": round(time.perf_counter() - started, 2),
        "stages": {
            s.name: {"value": s.value, "seconds": s.seconds, "variables": s.variables} for s in result.stages
        },
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def measure_decade() -> dict[str, Any]:
    child = [sys.executable, "-m", "benchmarks.joint", "--decade-child"]
    done = subprocess.run(child, capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent)
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "joint.csv")
    parser.add_argument("--decade-out", type=Path, default=RESULTS / "joint-decade.json")
    parser.add_argument("--no-decade", action="store_true", help="Only the real cycles.")
    parser.add_argument("--decade-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.decade_child:  # measure_decade's process: the decade's figures on stdout, nothing else
        print(json.dumps(decade_run()))
        return
    load = os.getloadavg()
    shipped = load_timeline()
    rows = []
    for cycle, source in CYCLES.items():
        rows.append(measure_cycle(cycle, shipped if source is None else load_timeline([source])))
        print(f"cycle {cycle} done", file=sys.stderr)
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False)
    print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {platform.processor()}")
    print(table.T.to_markdown())
    if not args.no_decade:
        decade = measure_decade() | {"load_before": [round(x, 2) for x in load], "cpus": os.cpu_count()}
        args.decade_out.write_text(json.dumps(decade, indent=2) + "\n")
        print(json.dumps(decade, indent=2))


if __name__ == "__main__":
    main()
