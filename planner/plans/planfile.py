"""Reading a plan file back: it is untrusted input, whoever wrote it.

`read_plan` checks the size, the columns (names and types, as `PLAN_SCHEMA`) and every metadata key
that is read later (types, ranges, no unknown option keys); `open_plan` also opens the timeline the
plan names, only if it is a file of sane size, and verifies its sha256, so a plan is never checked
against a timeline that changed since it was made. Any damage is an InputError naming the file and
the key or column, exit 2.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from planner import limits
from planner.errors import InputError, PlannerError, brief, shown
from planner.io import files_sha256, read_parquet, same_type
from planner.problem.calendar import Calendar
from planner.problem.instance import INSTANCE_KEYS, Instance
from planner.problem.program import OBJECTIVES, SEED, Program, load_program
from planner.problem.rules import load_rules
from planner.problem.settings import SETTINGS_KEYS, SolverSettings
from planner.schedules.timeline import MAX_TIMELINE_BYTES

MAX_PLAN_BYTES = 50_000_000  # a plan of the most anneals allowed is well under 1 MB
MAX_METADATA_BYTES = 1_000_000
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass
class PlanFile:
    """A plan file with what it was made from: the instance (its timeline, program, rules, pins)
    and the solver settings it records."""

    plan: pd.DataFrame
    meta: dict
    instance: Instance
    settings: SolverSettings
    legacy_rules: bool = False  # made before rule sets: read as the seed's rules

    @property
    def timeline(self) -> pd.DataFrame:
        return self.instance.timeline

    @property
    def calendar(self) -> Calendar:
        return self.instance.calendar

    @property
    def program(self) -> Program:
        return self.instance.program


@dataclass(frozen=True)
class Recorded:
    """What a plan's metadata says it was made from, each part validated, short of the timeline."""

    instance: Instance  # its timeline still empty: open_plan reads the one the plan names
    settings: SolverSettings
    legacy_rules: bool  # made before rule sets: read under the seed's rules


def _number(meta: dict, key: str, path: Path, *, optional: bool = False, integer: bool = False) -> None:
    value = meta.get(key)
    if value is None and optional:
        return
    kind = int if integer else (int, float)
    # isfinite() of an int of hundreds of digits overflows, and its repr() may raise: shown()
    finite = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    if isinstance(value, bool) or not isinstance(value, kind) or not finite or value < 0:
        what = "a whole number" if integer else "a number"
        raise InputError(path, f"metadata {key} = {shown(value)}; expected {what} >= 0")


def _check_metadata(meta: object, path: Path) -> dict:
    """The keys later code reads, each of its type; raises InputError naming the first bad one."""
    if isinstance(meta, dict) and meta.get("kind") == "replay":
        raise InputError(
            path,
            "a replay table, not a plan; 'anneal-planner report' draws its folder, and the replay "
            "checked every plan it made",
        )
    if isinstance(meta, dict) and meta.get("kind") == "joint-plan":
        raise InputError(
            path,
            "a joint plan (several programs co-planned); this command reads a one-program plan: "
            "'check', 'compare' and 'report' read joint plans",
        )
    if not isinstance(meta, dict) or meta.get("kind") != "plan":
        raise InputError(
            path, "not a plan (no plan metadata); expected a file written by 'anneal-planner solve' or 'next'"
        )
    for key, kind in (
        ("objective", dict),
        ("calendar", dict),
        ("options", dict),
        ("timeline", dict),
        ("versions", dict),
        ("stages", list),
        ("missing", list),
    ):
        if not isinstance(meta.get(key), kind):
            raise InputError(path, f"metadata {key} = {meta.get(key)!r}; expected a {kind.__name__}")
    from planner.plans.result import Status  # (planner.plans.result imports this module)

    statuses = [status.value for status in Status]
    if meta.get("status") not in statuses:
        raise InputError(
            path, f"metadata status = {meta.get('status')!r}; expected one of {', '.join(statuses)}"
        )
    objective = meta["objective"]
    if not {"name", "value", "bound"} <= set(objective):
        raise InputError(path, f"metadata objective = {objective!r}; expected its name, value and bound")
    if objective.get("name") not in OBJECTIVES:
        raise InputError(
            path, f"metadata objective name = {objective.get('name')!r}; expected one of {OBJECTIVES}"
        )
    _number(objective, "value", path, optional=True, integer=True)
    _number(objective, "bound", path, optional=True)
    _number(meta, "build_seconds", path, optional=True)  # a weekly plan (`next`) is not solved
    _number(meta, "solve_seconds", path, optional=True)
    if not isinstance(meta.get("checked"), bool):
        raise InputError(path, f"metadata checked = {meta.get('checked')!r}; expected true or false")
    if not all(isinstance(k, int) and not isinstance(k, bool) for k in meta["missing"]):
        raise InputError(path, "metadata missing: expected a list of anneal numbers")
    if not all(isinstance(v, str) for v in meta["versions"].values()):
        raise InputError(path, "metadata versions: expected names and version strings")
    named = meta["timeline"]
    if set(named) - {"path", "sources", "sha256"}:
        raise InputError(
            path, f"metadata timeline has unknown keys {sorted(set(named) - {'path', 'sources', 'sha256'})}"
        )
    if named.get("path") is not None and not isinstance(named["path"], str):
        raise InputError(path, f"metadata timeline path = {named['path']!r}; expected a file name")
    sources = named.get("sources")
    if sources is not None and not (isinstance(sources, list) and all(isinstance(s, str) for s in sources)):
        raise InputError(path, f"metadata timeline sources = {sources!r}; expected a list of file names")
    sha = named.get("sha256")
    if sha is not None and not (isinstance(sha, str) and _SHA256.fullmatch(sha)):
        raise InputError(path, f"metadata timeline sha256 = {sha!r}; expected 64 hex digits")
    online = meta.get("online", {})
    if not isinstance(online, dict) or not isinstance(online.get("policy", ""), str):
        raise InputError(path, f"metadata online = {online!r}; expected a weekly plan's policy and reasons")
    rules = meta["options"].get("rules")
    if rules is not None and not isinstance(rules, dict):  # a name or path would read some other file
        raise InputError(
            path, f"metadata options rules = {rules!r}; expected the recorded rule set (a table)"
        )
    _check_stages(meta, path)
    return meta


# A stage record's fields (planner.plans.result.StageRecord) and the types JSON gives them back as.
_STAGE_FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "role": (str,),
    "status": (str,),
    "value": (int, type(None)),
    "bound": (int, float, type(None)),
    "seconds": (int, float),
    "variables": (int,),
    "constraints": (int,),
    "plan_from": (str,),
    "note": (str,),
}


def _check_stages(meta: dict, path: Path) -> None:
    """Each stage record of its fields and types, and the status the file states the one its
    stages give (planner.plans.result.overall_status): a status edited alone is damage. Whether
    the stages themselves are true only a solve can say: readers show them as the file's claim."""
    from planner.plans.result import StageRecord, Status, overall_status

    stages = []
    for i, stage in enumerate(meta["stages"]):
        where = f"metadata stages[{i}]"
        if not isinstance(stage, dict) or set(stage) != set(_STAGE_FIELDS):
            raise InputError(path, f"{where}: expected a table of {', '.join(_STAGE_FIELDS)}")
        for key, kinds in _STAGE_FIELDS.items():
            if isinstance(stage[key], bool) or not isinstance(stage[key], kinds):
                raise InputError(path, f"{where} {key} = {shown(stage[key])}; expected a {kinds[0].__name__}")
        for key in ("value", "bound", "seconds", "variables", "constraints"):
            _number(stage, key, path, optional=True)
        if stage["role"] not in ("objective", "tie-break") or stage["plan_from"] not in ("solver", "hint"):
            raise InputError(
                path,
                f"{where}: role {shown(stage['role'])}, plan_from {shown(stage['plan_from'])}; "
                "expected objective or tie-break, solver or hint",
            )
        if stage["status"] not in {s.value for s in Status}:
            raise InputError(path, f"{where} status = {shown(stage['status'])}; expected a CP-SAT status")
        stages.append(StageRecord.from_dict(stage))
    implied = overall_status(stages, has_plan=True).value
    if meta["status"] != implied:
        raise InputError(
            path, f"metadata status = {meta['status']}, but its stages give {implied}; expected the same"
        )
    objective = meta["objective"]
    if stages and (stages[0].name, stages[0].value, stages[0].bound) != (
        objective["name"], objective["value"], objective["bound"],
    ):  # fmt: skip
        raise InputError(path, "metadata objective: expected the name, value and bound of its first stage")


def _check_columns(table: pa.Table, path: Path) -> pa.Schema:
    """The file's columns: PLAN_SCHEMA's, each of its type, plus only a weekly plan's extra ones."""
    from planner.plans.result import DECISION_FIELDS, PLAN_SCHEMA

    decisions = {field.name: field for field in DECISION_FIELDS}
    names = table.schema.names
    missing = [n for n in PLAN_SCHEMA.names if n not in names]
    extra = [n for n in names if n not in PLAN_SCHEMA.names and n not in decisions]
    if missing or extra or len(set(names)) != len(names):
        raise InputError(
            path, f"plan columns: missing {missing}, unexpected {extra}; expected {PLAN_SCHEMA.names}"
        )
    schema = PLAN_SCHEMA
    for name in names:
        if name in decisions:
            schema = schema.append(decisions[name])
    check_column_types(table, schema, path)
    return schema


def check_column_types(table: pa.Table, schema: pa.Schema, path: Path) -> None:
    """Each of `schema`'s columns in the file is of its type (a plan file or a joint plan file)."""
    for field in schema:
        actual = table.schema.field(field.name).type
        if not same_type(field, actual):
            raise InputError(path, f"plan column {field.name} is {actual}; expected {field.type}")


def _check_rows(plan: pd.DataFrame, path: Path) -> None:
    """One row per calendar anneal, with the values the checker and the reports compare as numbers."""
    # A missing or repeated anneal is a rule the checker reports (exit 1); these are damage (exit 2).
    if len(plan) > limits.MAX_COUNT or plan["anneal"].isna().any():
        raise InputError(path, f"plan column anneal: expected at most {limits.MAX_COUNT} anneal numbers")
    check_slew_values(plan, path, ("label", "window_start", "window_end"))


def check_slew_values(plan: pd.DataFrame, path: Path, required: tuple[str, ...]) -> None:
    """The values a plan's rows must hold (a plan file or a joint plan file): `required` on every
    row, visit and slew time both or neither, finite intervals."""
    for column in required:
        if plan[column].isna().any():
            raise InputError(path, f"plan column {column}: a null value; expected one on every row")
    placed = plan["slew_time"].notna()
    if (plan["visit_id"].notna() != placed).any():
        raise InputError(path, "plan columns visit_id and slew_time: expected both or neither on each row")
    for column in ("interval_days", "deviation_hours"):
        values = plan[column].dropna()
        if not values.map(math.isfinite).all():
            raise InputError(path, f"plan column {column}: a value that is not finite")


def _recorded(meta: dict, path: Path) -> Recorded:
    """The program, instance options and solver settings a plan records, each validated like the
    command-line options. A plan made before programs were data records no program: it was made for
    the seed's anneals (seed-4485), with the calendar and objective it records; one made before
    rule sets records no `rules` (and perhaps `miri_recovery_minutes`): it was made under the
    seed's rules with that recovery, and is read that way."""
    recorded = dict(meta["options"])
    legacy = "rules" not in recorded
    recovery = recorded.pop("miri_recovery_minutes", 0.0) if legacy else None
    unknown = sorted(set(recorded) - set(INSTANCE_KEYS) - set(SETTINGS_KEYS))
    if unknown:
        raise InputError(
            path, f"metadata options: unknown keys {unknown}; expected the options 'solve' records"
        )
    try:
        calendar = Calendar.from_dict(meta["calendar"])
        objective = recorded.pop("objective", "regular")
        if "program" in meta:
            program = Program.from_dict(meta["program"], "metadata program")
        else:
            program = replace(load_program(SEED), calendar=calendar, objective=objective)
        if legacy:
            recorded["rules"] = load_rules("seed", program).with_recovery(recovery)
        settings = SolverSettings(**{k: recorded.pop(k) for k in SETTINGS_KEYS if k in recorded})
        instance = Instance(timeline=pd.DataFrame(), program=program, **recorded)
    except TypeError as err:  # a value of the wrong shape
        raise InputError(path, f"metadata options: {err}; expected the options 'solve' records") from None
    except PlannerError as err:
        raise InputError(path, f"metadata: {err}") from None
    if (program.calendar, program.objective) != (calendar, objective):
        raise InputError(path, "metadata program: its calendar or objective is not the plan's")
    return Recorded(instance, settings, legacy)


def read_plan(path: Path | str) -> tuple[pd.DataFrame, dict]:
    """A plan file's table and its checked metadata. Raises InputError if it is not a sound plan."""
    plan, meta, _ = _read_plan(Path(path))
    return plan, meta


def read_plan_program(path: Path | str) -> tuple[pd.DataFrame, dict, Program]:
    """A plan file's table, its metadata and the program it was made for (checked as `read_plan`
    checks)."""
    plan, meta, recorded = _read_plan(Path(path))
    return plan, meta, recorded.instance.program


def plan_kind(path: Path | str) -> str | None:
    """The `kind` a Parquet file's footer metadata states (a plan, a joint plan, a timeline...);
    None for anything else: no such file, not Parquet, damaged metadata."""
    from planner.io import read_metadata

    path = Path(path)
    if path.suffix.lower() != ".parquet" or not path.is_file():
        return None
    try:  # the size first, as read_plan_file checks it: the reader then refuses an outsize file
        if path.stat().st_size > MAX_PLAN_BYTES:
            return None
        kind = read_metadata(path).get("kind")
    except (pa.ArrowException, OSError, ValueError):
        return None
    return kind if isinstance(kind, str) else None


def read_plan_file(path: Path) -> tuple[pa.Table, Any]:
    """A plan file's table and metadata, as read (unchecked), once its size and footer are sane:
    one plan or a joint plan (planner.plans.joint_file)."""
    if not path.is_file():
        raise InputError(path, "no such plan file")
    if path.stat().st_size > MAX_PLAN_BYTES:
        raise InputError(path, f"over {MAX_PLAN_BYTES // 1_000_000} MB; expected a plan file")
    try:
        return read_parquet(path, max_metadata_bytes=MAX_METADATA_BYTES, max_rows=limits.MAX_PLAN_ROWS)
    except (pa.ArrowException, OSError, ValueError, RecursionError) as err:
        # json.JSONDecodeError and UnicodeDecodeError are ValueErrors; deep nesting a RecursionError
        raise InputError(path, f"not a readable plan file ({brief(err)})") from None


def _read_plan(path: Path) -> tuple[pd.DataFrame, dict, Recorded]:
    """read_plan, with what its metadata records it was made from."""
    table, meta = read_plan_file(path)
    _check_metadata(meta, path)
    try:  # a column name that is not UTF-8 fails when it is first read
        schema = _check_columns(table, path)
    except (pa.ArrowException, ValueError) as err:
        raise InputError(path, f"plan columns cannot be read ({brief(err)})") from None
    try:  # whole seconds, as written; a fraction of a second is damage
        table = table.select(schema.names).cast(schema)
        table.validate(full=True)  # e.g. text that is not UTF-8, which pandas would meet only later
        plan = table.to_pandas()
    except (pa.ArrowException, ValueError, OverflowError) as err:
        what = brief(err)
        raise InputError(
            path, f"plan columns cannot be read as whole-second UTC times and values ({what})"
        ) from None
    _check_rows(plan, path)
    return plan, meta, _recorded(meta, path)


def named_timeline(path: Path, meta: dict) -> list[str]:
    """The timeline file(s) the plan names, if they are files of sane size whose sha256 matches."""
    from planner.schedules.timeline import DEFAULT_TIMELINE, SHIPPED_NAME

    named = meta["timeline"]
    files = [named["path"]] if named.get("path") else (named.get("sources") or [])
    if files == [SHIPPED_NAME]:  # the shipped timeline, wherever this machine installed it
        files = [str(DEFAULT_TIMELINE)]
    if not files or not all(Path(f).is_file() for f in files):
        raise InputError(
            path,
            f"the plan's timeline ({', '.join(files or ['none named'])}) is not a file here; "
            "give it with --timeline",
        )
    if named.get("path") and Path(files[0]).suffix.lower() != ".parquet":
        raise InputError(
            path, f"the plan's timeline {files[0]} is not a .parquet file; give it with --timeline"
        )
    size = sum(Path(f).stat().st_size for f in files)
    if size > MAX_TIMELINE_BYTES:
        raise InputError(path, f"the plan's timeline is {size:,} bytes; expected a timeline under 1 GB")
    recorded = named.get("sha256")
    if recorded and files_sha256(files) != recorded:
        raise InputError(
            path,
            f"the timeline changed since the plan was made ({', '.join(files)} no longer has the sha256 "
            "the plan records); give the plan's own timeline with --timeline, or solve again",
        )
    return files


def open_plan(path: Path | str, timeline_paths=None) -> PlanFile:
    """Read a plan and its timeline: the one given, else the one the plan was made from."""
    from planner.schedules.timeline import load_timeline

    path = Path(path)
    plan, meta, recorded = _read_plan(path)
    if timeline_paths is None:
        timeline_paths = named_timeline(path, meta)
    return PlanFile(
        plan=plan,
        meta=meta,
        instance=recorded.instance.with_timeline(load_timeline(timeline_paths)),
        settings=recorded.settings,
        legacy_rules=recorded.legacy_rules,
    )
