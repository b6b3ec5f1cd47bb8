"""What a joint solve returns: one plan row per run of every observation of every program.

A joint plan file is a Parquet table of JOINT_PLAN_SCHEMA with metadata of kind "joint-plan": the
programs in full, the rule set applied, the options, the timeline's identity and the stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from planner.io import write_parquet
from planner.plans.result import PLAN_METADATA_VERSION, PLAN_SCHEMA, StageRecord, Status, overall_status

# A joint plan's rows: a run of an observation of a program, with a one-program plan's slew columns
# (PLAN_SCHEMA's own fields, so both files spell a slew alike) and a campaign run's preferred time.
_SLEW_FIELDS = ("label", "window_start", "window_end", "visit_id", "slew_time", "instrument", "target")
JOINT_PLAN_SCHEMA = pa.schema(
    [
        ("program", pa.string()),
        ("observation", pa.int64()),
        ("iteration", pa.int64()),
        *(PLAN_SCHEMA.field(name) for name in _SLEW_FIELDS),
        ("preferred_time", pa.timestamp("s", tz="UTC")),  # a campaign run's; none for a weekly window
        *(PLAN_SCHEMA.field(name) for name in ("interval_days", "deviation_hours")),  # weekly programs
    ]
)
JOINT_KIND = "joint-plan"


MOVED_HOURS = 1.0  # a campaign run this far from its preferred time counts as moved


def displacement_hours(rows: pd.DataFrame) -> pd.Series:
    """|run - preferred time| in hours of joint plan rows (NaN where either is missing)."""
    return (rows["slew_time"] - rows["preferred_time"]).dt.total_seconds().abs() / 3600


def served_observations(rows: pd.DataFrame) -> tuple[int, int]:
    """(observations served, observations) among joint plan rows: served when every run has a slew."""
    whole = rows["slew_time"].notna().groupby(rows["observation"]).all()
    return int(whole.sum()), len(whole)


@dataclass
class JointResult:
    stages: list[StageRecord]
    plan: pd.DataFrame  # JOINT_PLAN_SCHEMA
    programs: list[dict]  # each Program.to_dict(), in the order planned
    options: dict  # rules (recorded), widen_hours, and the solver settings
    timeline: dict
    build_seconds: float
    solve_seconds: float
    versions: dict
    unserved: dict[str, str] = field(default_factory=dict)  # label -> why it is not served
    alone: dict[str, int] = field(default_factory=dict)  # weekly program -> its DP optimum alone
    checked: bool = False

    @property
    def status(self) -> Status:
        return overall_status(self.stages, has_plan=True)

    def value(self, stage: str) -> int | None:
        return next((s.value for s in self.stages if s.name == stage), None)

    def served(self) -> dict[str, tuple[int, int]]:
        """Per program: (observations served, observations)."""
        return {
            str(name): served_observations(group) for name, group in self.plan.groupby("program", sort=False)
        }

    def metadata(self) -> dict:
        return {
            "kind": JOINT_KIND,
            "schema_version": PLAN_METADATA_VERSION,
            "status": self.status.value,
            "stages": [stage.to_dict() for stage in self.stages],
            "build_seconds": round(self.build_seconds, 4),
            "solve_seconds": round(self.solve_seconds, 4),
            "programs": self.programs,
            "options": self.options,
            "timeline": self.timeline,
            "versions": self.versions,
            "checked": self.checked,
            "unserved": self.unserved,
            "alone": self.alone,
        }

    def to_parquet(self, path: Path | str) -> None:
        """Write the plan with its metadata atomically (never a half-written file)."""
        write_parquet(self.plan, JOINT_PLAN_SCHEMA, self.metadata(), path)

    def __str__(self) -> str:
        served = ", ".join(f"{name} {n}/{total}" for name, (n, total) in self.served().items())
        values = "; ".join(
            f"{s.name} {s.value:,}" + (" (priority left unserved)" if s.name == "served" else " s")
            for s in self.stages
        )
        return f"{self.status.value}: served {served}; {values}"
