"""The joint model's race: CP-SAT against HiGHS on each stage of the very model the planner solves.

`python -m benchmarks.joint_race` (or `python -m benchmarks --suites joint_race`) co-plans each
instance with the planner's own stages (`planner.solver.joint.JointStages`); before CP-SAT solves a
stage, that stage's model proto (its variables, constraints, the earlier stages' values as rows,
the stage objective and the hint CP-SAT is given) is copied and translated into a HiGHS MIP by
`to_highs`, so both solvers get the same columns, rows, objective and starting plan by
construction. CP-SAT's plan then feeds the next stage, as in the planner.

Instances:
- `cycle2`, `cycle3`: as `benchmarks.joint` co-plans them (`cycle_programs`): the timeline (the
  shipped one; `data/dja-merged/jwst-schedule-cycle3.json`), the shipped `anneals-cycle2` or
  `anneals-cycle3` and the other programs inferred from the weeks of its calendar with 24 h freedom
  (`anneal-planner programs infer`);
- `decade`: `planner.schedules.synthetic.synthetic_calibrations(3650, seed=0)`, five programs;
- `tiny`: the same synthetic over 42 days (the smoke test's).

Both solvers: 1 thread, `--time-limit` seconds per stage each (CP-SAT with the planner's parameters
for the stage, `planner.solver.solve.configure`; HiGHS with `mip_rel_gap` 0 and `mip_abs_gap` 0.5,
the objective being integral, so that its OPTIMAL is a proof as CP-SAT's is). CP-SAT's time is its
own wall time for the stage; HiGHS's runs from handing it the model (passModel) to its answer. Each
stage's rows also record that CP-SAT's solution satisfies every row and bound of the HiGHS model
with the same objective (`translation_checked`: the translation is the same model), and HiGHS's
reported value is checked against its own solution (`solve_highs`). Each instance runs in a fresh
process (`peak_mib` is its own, HiGHS's memory included). Results: `results/joint_race.csv` (one row a
stage) and `results/joint_race.json` (the rows, the machine, versions and `uptime` before and
after).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.highs_baseline import hint_vector, solve_highs, to_highs
from planner.solver.joint import JointStages

RESULTS = Path(__file__).parent / "results"
INSTANCES = ("cycle2", "cycle3", "decade", "tiny")


# -- the race, stage by stage ---------------------------------------------------------------------------


@dataclass
class RacedStages(JointStages):
    """The planner's stages, each stage's model also given to HiGHS before CP-SAT solves it. Each
    CP-SAT stage gets the whole `settings.time_limit` (the planner's limit runs over all stages)."""

    highs_limit: float = 60.0
    label: str = ""
    rows: list[dict] = field(default_factory=list)

    def _stage(self, name: str, expression, known: dict[int, list[int]]) -> dict[int, list[int]]:
        load = os.getloadavg()[0]
        model = self.model.model
        model.minimize(expression)  # as JointStages._stage sets it: the same objective, same hint
        started = time.perf_counter()
        translated = to_highs(model.proto)
        translate_seconds = time.perf_counter() - started
        highs = solve_highs(translated, self.highs_limit)
        self.started = time.perf_counter()
        chosen = super()._stage(name, expression, known)
        record = self.records[-1]
        # CP-SAT's own solution (the hint of the next stage, just set) in the HiGHS model
        feasible, value = translated.check(hint_vector(model.proto, translated.lp.num_col_))
        hinted = translated.check(translated.hint) if translated.hint is not None else (False, np.nan)
        row = {
            "stage": name,
            "variables": record.variables,
            "constraints": record.constraints,
            "rows": translated.lp.num_row_,
            "nonzeros": len(translated.matrix[0]),
            "cp_sat_status": record.status.value,
            "cp_sat_proven": record.proven,
            "cp_sat_value": record.value,
            "cp_sat_bound": record.bound,
            "cp_sat_s": record.seconds,
            **highs,
            "translation_checked": feasible and round(value) == record.value,
            "hint_value": round(hinted[1]) if hinted[0] else None,  # the start both solvers get
            "translate_s": translate_seconds,
            "load_before": load,
        }
        self.rows.append(row)
        print(
            f"joint race {self.label:7s} {name:12s} vars {row['variables']:7d} cons "
            f"{row['constraints']:7d}  CP-SAT {row['cp_sat_status']:8s} {row['cp_sat_value']} "
            f"{row['cp_sat_s']:.3f} s  HiGHS {row['highs_status']} {row['highs_value']} "
            f"{row['highs_s']:.3f} s  load {load:.2f}",
            flush=True,
        )
        return chosen


def instance(name: str):
    """The JointInstance of a race instance (see the module's docstring): a cycle as
    benchmarks.joint co-plans it, or the synthetic."""
    from benchmarks.joint import cycle_programs
    from benchmarks.rules import CYCLES
    from planner.problem.joint import JointInstance
    from planner.schedules.synthetic import synthetic_calibrations
    from planner.schedules.timeline import load_timeline

    if name in ("decade", "tiny"):
        frame, programs = synthetic_calibrations(3650 if name == "decade" else 42, seed=0)
        return JointInstance(timeline=frame, programs=tuple(programs))
    if name not in ("cycle2", "cycle3"):
        raise ValueError(f"unknown instance {name!r}")
    cycle = int(name[-1])
    frame = load_timeline(CYCLES[cycle])
    anneals, others = cycle_programs(frame, cycle)
    return JointInstance(timeline=frame, programs=(anneals, *others))


def race_instance(name: str, time_limit: float) -> list[dict]:
    """Every stage of the instance, raced; one row a stage."""
    from planner.problem.settings import SolverSettings
    from planner.solver.joint_model import JointModel

    started = time.perf_counter()
    joint = instance(name)
    model = JointModel(joint)
    settings = SolverSettings(time_limit=time_limit, workers=1)
    stages = RacedStages(model, settings, time.perf_counter(), highs_limit=time_limit, label=name)
    stages.run()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    programs = ", ".join(p.name for p in joint.programs)
    rows = []
    for row in stages.rows:
        cp, hi = row["cp_sat_s"], row["highs_s"]
        rows.append(
            {
                "instance": name,
                "programs": programs,
                "observations": len(joint.observations),
                **row,
                "same_value": bool(
                    row["highs_proven"]
                    and row["cp_sat_proven"]
                    and row["highs_value"] == row["cp_sat_value"] == row["highs_solution_value"]
                ),
                "cp_sat_over_highs": cp / hi if hi else np.nan,
                "time_limit_s": time_limit,
                "peak_mib": peak,
            }
        )
    rows[-1]["instance_total_s"] = time.perf_counter() - started
    return rows


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"


def run(names=("cycle2", "cycle3", "decade"), time_limit: float = 60.0, out: Path = RESULTS) -> pd.DataFrame:
    """Race every stage of each instance; write `out`/joint_race.csv and .json; the table."""
    from benchmarks.runner import _in_fresh_process, provenance

    before = _uptime()
    rows: list[dict] = []
    for name in names:  # each instance in a fresh process: its own peak memory
        rows += _in_fresh_process(race_instance, name, time_limit)
    table = pd.DataFrame(rows)
    meta = provenance() | {"uptime_before": before, "uptime_after": _uptime(), "time_limit_s": time_limit}
    for key in ("commit", "cpu", "cores", "ortools", "highspy", "when"):
        table[key] = meta[key]
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "joint_race.csv", index=False)
    records = json.loads(table.to_json(orient="records"))
    (out / "joint_race.json").write_text(json.dumps({"machine": meta, "rows": records}, indent=1) + "\n")
    return table


COLUMNS = [
    "instance",
    "stage",
    "variables",
    "constraints",
    "cp_sat_status",
    "cp_sat_value",
    "cp_sat_s",
    "highs_status",
    "highs_value",
    "highs_bound",
    "highs_s",
]


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.joint_race", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--instances", nargs="+", default=["cycle2", "cycle3", "decade"], choices=INSTANCES)
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per stage for each solver")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for joint_race.csv and .json")
    args = parser.parse_args(argv)
    table = run(args.instances, args.time_limit, args.out)
    print(table[COLUMNS].to_markdown(index=False, floatfmt=".3f"), flush=True)
    return table


if __name__ == "__main__":
    main()
