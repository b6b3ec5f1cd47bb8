"""A batch's `summary.parquet`: one row per scenario with one fixed schema, whatever the scenarios
file sets, and the file's provenance in its metadata.

Settings are the effective ones (defaults filled in), so every file has every column with one type;
timestamps are typed (UTC), integers stay integers where a value is missing (null, not NaN), and a
scenario found already solved by an earlier run keeps `state = solved` with `skipped = true`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

from planner.io import files_sha256, write_parquet
from planner.online import DEFAULT_POLICY

FAILED_STATES = ("failed", "infeasible", "unsolved")  # counted as failed in the exit code

SUMMARY_FILE = "summary.parquet"  # in the batch's output folder
# 2: the program column; objective_value renamed objective_value_s (its unit)
# 3: joint scenarios: programs (setting); observations, served, served_by_program, stages (results)
SCHEMA_VERSION = 3
UTC_MS = pa.timestamp("ms", tz="UTC")  # Parquet has no second unit: it stores [s] as [ms]

SERVED_BY_PROGRAM = pa.struct(
    [("program", pa.string()), ("served", pa.int64()), ("observations", pa.int64()), ("placed", pa.int64()),
     ("runs", pa.int64())]
)  # fmt: skip
STAGE = pa.struct(
    [("name", pa.string()), ("status", pa.string()), ("value", pa.int64()), ("bound", pa.float64())]
)
SETTINGS = pa.schema(
    [
        ("kind", pa.string()),  # solve | replay
        ("timeline", pa.string()),  # path; null: the shipped timeline (solve)
        ("sources", pa.list_(pa.string())),  # replay: the report files or folders
        ("policy", pa.string()),  # replay: the online policy
        ("prior", pa.string()),  # replay: what it learns from before the reports (path, shipped, none)
        ("program", pa.string()),  # the program's name (a shipped one, or a file's `name`); null: joint
        ("programs", pa.list_(pa.string())),  # a joint scenario: the names of the programs co-planned
        ("start", UTC_MS),
        ("count", pa.int64()),
        ("window_days", pa.float64()),
        ("target_days", pa.float64()),
        ("objective", pa.string()),
        ("time_limit", pa.float64()),
        ("workers", pa.int64()),  # as asked; each job may use fewer (cores // jobs)
        ("seed", pa.int64()),
        ("min_gap_days", pa.float64()),
        ("rules", pa.string()),  # the rule set's name
        ("miri_recovery_minutes", pa.float64()),
        ("allow_missing", pa.bool_()),
        ("widen_hours", pa.float64()),
        ("perturbation_cancel_fraction", pa.float64()),
        ("perturbation_max_delay_hours", pa.float64()),
        ("perturbation_lost_days", pa.float64()),
        ("perturbation_seed", pa.int64()),
    ]
)
RESULTS = pa.schema(
    [
        ("state", pa.string()),  # solved | infeasible | unsolved (no plan in the time limit) | failed
        ("skipped", pa.bool_()),  # solved by an earlier run: its checked plan was kept
        ("status", pa.string()),  # the solver's status (OPTIMAL, FEASIBLE), null without a plan
        ("objective_value_s", pa.int64()),  # joint: the weekly programs' objective stage, if any
        ("observations", pa.int64()),  # windows (one program), or every program's observations (joint)
        ("served", pa.int64()),  # of those, served (all runs placed)
        ("served_by_program", pa.list_(SERVED_BY_PROGRAM)),  # joint: per program, in the order planned
        ("stages", pa.list_(STAGE)),  # joint: each stage's value (served: priority left unserved; s)
        ("placed", pa.int64()),  # runs placed (one program: anneals)
        ("missing", pa.int64()),  # observations not served (one program: windows without an anneal)
        ("replanned", pa.int64()),  # replay: anneals decided again after a later report
        ("ratio_to_hindsight", pa.float64()),  # replay: Σ|gap - m·target| over the hindsight optimum's
        ("ratio_greedy", pa.float64()),  # replay: the same for the greedy policy
        ("mean_interval_days", pa.float64()),
        ("min_interval_days", pa.float64()),
        ("max_interval_days", pa.float64()),
        ("largest_deviation_hours", pa.float64()),
        ("build_s", pa.float64()),
        ("solve_s", pa.float64()),
        ("total_s", pa.float64()),
        ("error", pa.string()),
        ("plan", pa.string()),  # plan file (replay: its folder), relative to the batch folder
    ]
)
SUMMARY_SCHEMA = pa.schema([("scenario", pa.string()), *SETTINGS, *RESULTS])


def effective_settings(scenario) -> dict:
    """The scenario's settings with every default filled in, one value per SETTINGS column."""
    if scenario.joint:
        return _joint_settings(scenario)
    program, settings, churn = scenario.program, scenario.solver_settings(), scenario.perturbation
    calendar, rules = program.calendar, scenario.rules
    replay = scenario.kind == "replay"
    return {
        "kind": scenario.kind,
        "timeline": scenario.settings.get("timeline"),
        "sources": [str(s) for s in scenario.settings["sources"]] if replay else None,
        "policy": scenario.settings.get("policy", DEFAULT_POLICY) if replay else None,
        "prior": _prior(scenario) if replay else None,
        "program": program.name,
        "start": pd.Timestamp(calendar.start, unit="s", tz="UTC"),
        "count": calendar.count,
        "window_days": calendar.window_days,
        "target_days": calendar.target_days,
        "objective": program.objective,
        "time_limit": settings.time_limit,
        "workers": settings.workers,
        "seed": settings.seed,
        "min_gap_days": float(scenario.settings.get("min_gap_days", 0.0)),
        "rules": rules.name,
        "miri_recovery_minutes": rules.miri_recovery_minutes,
        "allow_missing": bool(scenario.settings.get("allow_missing", True)),
        "widen_hours": float(scenario.settings.get("widen_hours", 0.0)),
    } | _perturbation(churn)


def _perturbation(churn) -> dict:
    return {
        "perturbation_cancel_fraction": churn.cancel_fraction,
        "perturbation_max_delay_hours": churn.max_delay_hours,
        "perturbation_lost_days": churn.lost_days,
        "perturbation_seed": churn.seed,
    }


def _joint_settings(scenario) -> dict:
    """A joint scenario's: its programs and shared options; each program keeps its own calendar,
    objective and recovery, so those columns are null (the plan file records them)."""
    from planner.problem.rules import load_rules

    settings, churn = scenario.solver_settings(), scenario.perturbation
    rules = scenario.settings.get("rules")
    return {
        "kind": "solve",
        "timeline": scenario.settings.get("timeline"),
        "programs": [p.name for p in scenario.programs],
        "objective": _joint_objective(scenario),
        "time_limit": settings.time_limit,
        "workers": settings.workers,
        "seed": settings.seed,
        "rules": load_rules(rules).name,
        "allow_missing": bool(scenario.settings.get("allow_missing", True)),
        "widen_hours": float(scenario.settings.get("widen_hours", 0.0)),
    } | _perturbation(churn)


def _joint_objective(scenario) -> str | None:
    """The weekly programs' objective stage (planner.solver.joint.stage_names), None without one."""
    from planner.solver.joint import DISPLACEMENT, stage_names

    names = stage_names(scenario.programs)
    return names[1] if len(names) > 1 and names[1] != DISPLACEMENT else None


def _prior(scenario) -> str:
    from planner.online.prior import setting

    return setting(scenario.settings.get("prior"), bool(scenario.policy().sample_weeks))


def summary_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows -> the summary frame in SUMMARY_SCHEMA's columns and pandas types (Int64 and boolean
    where values may be missing, UTC timestamps)."""
    table = pa.Table.from_pylist(
        [{name: row.get(name) for name in SUMMARY_SCHEMA.names} for row in rows], schema=SUMMARY_SCHEMA
    )
    return table.to_pandas(types_mapper=_nullable)


def _nullable(kind: pa.DataType):
    if pa.types.is_integer(kind):
        return pd.Int64Dtype()
    if pa.types.is_boolean(kind):
        return pd.BooleanDtype()
    if pa.types.is_string(kind):
        return pd.StringDtype()
    return None


def write_summary(summary: pd.DataFrame, out_dir: Path, scenarios_file: Path | None = None) -> Path:
    """DIR/summary.parquet, written whole, with its provenance in the file's metadata."""
    from planner import __version__

    source = Path(scenarios_file).resolve() if scenarios_file else None
    meta = {
        "kind": "batch_summary",
        "schema_version": SCHEMA_VERSION,
        "planner_version": __version__,
        "scenarios_file": str(source) if source else None,
        "scenarios_sha256": files_sha256([source]) if source else None,
        "written_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    path = Path(out_dir) / SUMMARY_FILE
    write_parquet(summary, SUMMARY_SCHEMA, meta, path, keep_schema_metadata=True)
    return path
