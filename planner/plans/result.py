"""What a solve returns: status, objective values, the plan table, timings, and provenance."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa

from planner.io import write_parquet

PLAN_SCHEMA = pa.schema(
    [
        ("anneal", pa.int64()),
        ("label", pa.string()),
        ("window_start", pa.timestamp("s", tz="UTC")),
        ("window_end", pa.timestamp("s", tz="UTC")),
        ("visit_id", pa.string()),
        ("slew_time", pa.timestamp("s", tz="UTC")),
        ("instrument", pa.string()),
        ("target", pa.string()),
        ("interval_days", pa.float64()),
        ("deviation_hours", pa.float64()),
    ]
)
# 2: the program is recorded in full (`program`); a plan without one was made for the seed's anneals.
PLAN_METADATA_VERSION = 2
# What a replay table and a weekly plan (`next`) add to PLAN_SCHEMA: the report that decided each
# anneal, how often it was decided again, and flown / planned / missed.
DECISION_FIELDS = [
    pa.field("decided_at", pa.string()),
    pa.field("replans", pa.int64()),
    pa.field("state", pa.string()),
]


def plan_metadata(
    *,
    status: str,
    objective: dict,
    stages: list[dict],
    program: dict,
    calendar: dict,
    options: dict,
    timeline: dict,
    versions: dict,
    checked: bool,
    missing: list[int],
    unserved: dict[str, str] | None = None,
    timings: dict | None = None,
    online: dict | None = None,
) -> dict:
    """A plan file's metadata, the one writer of it (`solve` and `next`); planner.plans.planfile
    reads it back. `timings`: a solve's build and solve seconds; `online`: a weekly plan's policy,
    prior and reasons; `unserved`: why each missing observation's window could not be served."""
    return {
        "kind": "plan",
        "schema_version": PLAN_METADATA_VERSION,
        "status": status,
        "objective": objective,
        "stages": stages,
        **(timings or {}),
        "program": program,
        "calendar": calendar,
        "options": options,
        "timeline": timeline,
        "versions": versions,
        "checked": checked,
        "missing": missing,
        **({"unserved": unserved} if unserved else {}),
        **({"online": online} if online is not None else {}),
    }


def placed_rows(plan: pd.DataFrame) -> pd.DataFrame:
    """The rows of a plan (or a weekly plan) that place an anneal: a slew, and not marked missed."""
    rows = plan[plan["slew_time"].notna()]
    return rows[rows["state"] != "missed"] if "state" in rows else rows


def plan_statistics(plan: pd.DataFrame) -> dict:
    """Anneals placed and missing, interval statistics (days) and the largest deviation (hours);
    the interval figures are absent when fewer than two anneals are placed."""
    return {
        "placed": int(plan["slew_time"].notna().sum()),
        "missing": [int(k) for k in plan.loc[plan["slew_time"].isna(), "anneal"]],
        **interval_statistics(plan),
    }


def interval_statistics(plan: pd.DataFrame) -> dict:
    """A plan's interval statistics (days) and largest deviation (hours), from its interval_days and
    deviation_hours columns (a one-program or a joint plan); empty when no interval is known."""
    intervals = plan["interval_days"].dropna()
    if not len(intervals):
        return {}
    return {
        "mean_interval_days": float(intervals.mean()),
        "min_interval_days": float(intervals.min()),
        "max_interval_days": float(intervals.max()),
        "largest_deviation_hours": float(plan["deviation_hours"].abs().max()),
    }


class Status(enum.Enum):
    """Every CP-SAT status, mapped one to one (CpSolverStatus names)."""

    OPTIMAL = "OPTIMAL"  # proven by the solver
    FEASIBLE = "FEASIBLE"  # a plan, not proven optimal (time limit); `bound` says how far it may be
    INFEASIBLE = "INFEASIBLE"  # proven: no plan satisfies the rules
    MODEL_INVALID = "MODEL_INVALID"  # a bug in the model builder; solve raises with CP-SAT's message
    UNKNOWN = "UNKNOWN"  # stopped before any plan was found

    @classmethod
    def from_cp_sat(cls, name: str) -> Status:
        try:
            return cls[name]
        except KeyError:
            raise ValueError(f"unexpected CP-SAT status {name!r}") from None

    @property
    def has_plan(self) -> bool:
        return self in (Status.OPTIMAL, Status.FEASIBLE)


Role = Literal["objective", "tie-break"]


@dataclass(frozen=True, slots=True, kw_only=True)
class StageRecord:
    """One lexicographic stage: what it minimised and what the solver proved.

    role: 'objective' stages decide the plan's status; a 'tie-break' stage only picks among plans
      of equal objective, and when it is not proven the headline says so in words.
    status: CP-SAT's status for the stage, or UNKNOWN when the stage did not run (`note` says why).
    value: the stage's expression on the plan the stage ends with (seconds); bound: CP-SAT's lower
      bound on it (0 when the solver proved nothing: every objective is >= 0).
    plan_from: 'solver', or 'hint' when the solver returned nothing better than the known plan.
    """

    name: str
    role: Role
    status: Status
    value: int | None
    bound: float | None
    seconds: float
    variables: int
    constraints: int
    plan_from: str = "solver"
    note: str = ""

    @property
    def proven(self) -> bool:
        return self.status == Status.OPTIMAL

    def to_dict(self) -> dict:
        return {f: getattr(self, f) for f in self.__slots__} | {"status": self.status.value}

    @classmethod
    def from_dict(cls, data: dict) -> StageRecord:
        return cls(**(data | {"status": Status(data["status"])}))


def overall_status(stages: list[StageRecord], has_plan: bool) -> Status:
    """The weakest status of the stages that decide it (the objective stages): OPTIMAL only when
    every one is proven; otherwise FEASIBLE when a plan exists, else the weakest status."""
    deciding = [stage.status for stage in stages if stage.role == "objective"]
    if deciding and all(status == Status.OPTIMAL for status in deciding):
        return Status.OPTIMAL
    if has_plan:
        return Status.FEASIBLE
    order = [Status.MODEL_INVALID, Status.INFEASIBLE, Status.UNKNOWN, Status.FEASIBLE, Status.OPTIMAL]
    return min(deciding, key=order.index, default=Status.UNKNOWN)


@dataclass
class Result:
    status: Status
    objective: str
    value: int | None  # the primary objective, seconds
    bound: float | None  # CP-SAT's lower bound on it
    stages: list[StageRecord]  # one per lexicographic stage, in order
    plan: pd.DataFrame  # PLAN_SCHEMA; empty without a plan
    calendar: dict
    options: dict
    timeline: dict  # path and sha256
    build_seconds: float
    solve_seconds: float
    versions: dict
    checked: bool = False
    program: dict = field(default_factory=dict)  # the program in full (Program.to_dict), as solved
    unserved: dict[int, str] = field(default_factory=dict)  # missing observation -> why, nearest slews

    def metadata(self) -> dict:
        return plan_metadata(
            status=self.status.value,
            objective={"name": self.objective, "value": self.value, "bound": self.bound},
            stages=[stage.to_dict() for stage in self.stages],
            program=self.program,
            calendar=self.calendar,
            options=self.options,
            timeline=self.timeline,
            versions=self.versions,
            checked=self.checked,
            missing=self.missing,
            unserved={str(k): v for k, v in self.unserved.items()},
            timings={
                "build_seconds": round(self.build_seconds, 4),
                "solve_seconds": round(self.solve_seconds, 4),
            },
        )

    def statistics(self) -> dict:
        return plan_statistics(self.plan)

    @property
    def missing(self) -> list[int]:
        """Anneals left out (only with allow_missing): their window had no eligible slew."""
        return plan_statistics(self.plan)["missing"]

    def to_parquet(self, path: Path | str) -> None:
        """Write the plan with its metadata atomically (never a half-written file)."""
        write_parquet(self.plan, PLAN_SCHEMA, self.metadata(), path)

    def __str__(self) -> str:
        stats = self.statistics()
        text = f"{self.status.value}: {stats['placed']} anneals, {self.objective} = {self.value} s"
        if "mean_interval_days" in stats:
            text += (
                f"; intervals {stats['min_interval_days']:.2f} .. {stats['max_interval_days']:.2f} d "
                f"(mean {stats['mean_interval_days']:.3f} d)"
            )
        return text


# Reading plan files back (untrusted input) lives in planner.plans.planfile; these names stay here too.
from planner.plans.planfile import PlanFile, open_plan, read_plan  # noqa: E402

__all__ = ["PLAN_SCHEMA", "PlanFile", "Result", "Status", "open_plan", "plan_statistics", "read_plan"]
