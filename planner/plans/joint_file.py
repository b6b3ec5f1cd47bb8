"""Reading a joint plan file back (untrusted, like every plan file): its size, columns, metadata,
the programs and rule set it records, and the timeline it names (its sha256 checked). Damage is an
InputError naming the file and the key or column, exit 2."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from planner.errors import InputError, PlannerError, brief
from planner.plans.joint_result import JOINT_KIND, JOINT_PLAN_SCHEMA
from planner.plans.planfile import (
    check_column_types,
    check_slew_values,
    named_timeline,
    plan_kind,
    read_plan_file,
)
from planner.plans.result import Status
from planner.problem.joint import MAX_PROGRAMS, JointInstance
from planner.problem.program import OBJECTIVES, Program

STAGES = ("served", *OBJECTIVES, "displacement")


@dataclass
class JointPlanFile:
    plan: pd.DataFrame
    meta: dict
    instance: JointInstance
    claimed: dict[str, int]  # stage name -> the value the file states (checked by check_joint)


def claimed_stages(meta: dict) -> dict[str, int]:
    """The stage values a joint plan's metadata claims, by stage name (checked by `read_joint_plan`)."""
    return {stage["name"]: stage["value"] for stage in meta["stages"]}


def check_joint_file(opened: JointPlanFile) -> list:
    """Every rule an opened joint plan file breaks, with the stage values it claims (`check_joint`)."""
    from planner.plans.joint_checker import check_joint

    return check_joint(
        opened.plan, opened.instance, claimed=opened.claimed, served_proven=served_proven(opened.meta)
    )


def served_proven(meta: dict) -> bool:
    """Does the plan claim its first stage (served) proven? (`check_joint`'s left-out rule.)"""
    return bool(meta["stages"]) and meta["stages"][0]["status"] == Status.OPTIMAL.value


def is_joint_plan(path: Path) -> bool:
    """A Parquet file whose footer metadata says it is a joint plan."""
    return plan_kind(path) == JOINT_KIND


def open_joint_plan(path: Path | str, timeline_paths=None) -> JointPlanFile:
    """A joint plan, its metadata and its instance on the timeline given, else the one it names."""
    from planner.schedules.timeline import load_timeline

    path = Path(path)
    plan, meta = read_joint_plan(path)
    options = meta["options"]
    try:
        programs = tuple(
            Program.from_dict(p, f"metadata programs[{i}]") for i, p in enumerate(meta["programs"])
        )
        files = timeline_paths if timeline_paths is not None else named_timeline(path, meta)
        instance = JointInstance(
            timeline=load_timeline(files),
            programs=programs,
            rules=options["rules"],
            widen_hours=options.get("widen_hours", 0.0),
        )
    except PlannerError as err:
        if isinstance(err, InputError):
            raise
        raise InputError(path, f"metadata: {err}") from None
    return JointPlanFile(plan, meta, instance, claimed_stages(meta))


def read_joint_plan(path: Path | str) -> tuple[pd.DataFrame, dict]:
    """A joint plan's table and metadata, checked (without its programs or timeline)."""
    path = Path(path)
    table, meta = read_plan_file(path)
    if not isinstance(meta, dict) or meta.get("kind") != JOINT_KIND:
        raise InputError(path, "not a joint plan; expected a file written by 'solve' with several programs")
    for key, kind in (("programs", list), ("options", dict), ("timeline", dict), ("stages", list)):
        if not isinstance(meta.get(key), kind):
            raise InputError(path, f"metadata {key}: expected a {kind.__name__}")
    if not 0 < len(meta["programs"]) <= MAX_PROGRAMS:
        raise InputError(path, f"metadata programs: expected 1 to {MAX_PROGRAMS} programs")
    names = table.schema.names
    if names != JOINT_PLAN_SCHEMA.names:
        raise InputError(path, f"plan columns {names}; expected {JOINT_PLAN_SCHEMA.names}")
    check_column_types(table, JOINT_PLAN_SCHEMA, path)
    try:
        table = table.cast(JOINT_PLAN_SCHEMA)
        table.validate(full=True)
        plan = table.to_pandas()
    except (pa.ArrowException, ValueError, OverflowError) as err:
        raise InputError(path, f"plan columns cannot be read ({brief(err)})") from None
    check_slew_values(
        plan, path, ("program", "observation", "iteration", "label", "window_start", "window_end")
    )
    rules = meta["options"].get("rules")
    if (
        not isinstance(rules, list)
        or len(rules) != len(meta["programs"])
        or not all(isinstance(r, dict) for r in rules)
    ):
        raise InputError(path, "metadata options.rules: expected one recorded rule set (a table) per program")
    statuses = [s.value for s in Status]
    for i, stage in enumerate(meta["stages"]):
        name, value = (stage.get("name"), stage.get("value")) if isinstance(stage, dict) else (None, None)
        if name not in STAGES or isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(
                path, f"metadata stages[{i}]: expected a stage ({', '.join(STAGES)}) with a whole value >= 0"
            )
        if stage.get("status") not in statuses:
            raise InputError(path, f"metadata stages[{i}].status: expected one of {', '.join(statuses)}")
    proven = all(stage["status"] == Status.OPTIMAL.value for stage in meta["stages"])
    if meta.get("status") != (Status.OPTIMAL if proven else Status.FEASIBLE).value:
        raise InputError(path, "metadata status: not the one its stages give (OPTIMAL only when all are)")
    timeline = meta["timeline"]
    sources = timeline.get("sources")
    if (
        not isinstance(timeline.get("path"), str | None)
        or not isinstance(timeline.get("sha256"), str | None)
        or not (sources is None or (isinstance(sources, list) and all(isinstance(f, str) for f in sources)))
        or not isinstance(meta.get("versions", {}), dict)
    ):
        raise InputError(
            path, "metadata timeline or versions: expected the path, sources and sha256 'solve' records"
        )
    return plan, meta
