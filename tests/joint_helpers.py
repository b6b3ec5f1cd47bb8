"""A small joint plan file on a hand-made timeline, for the tests of what reads joint plans."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from planner.problem.calendar import DAY
from planner.problem.joint import JointInstance
from planner.problem.program import Campaign, Program, load_program
from planner.schedules.report import Attached
from planner.schedules.timeline import load_timeline, write_timeline
from planner.solver.joint import solve_joint
from tests.helpers import START, timeline, visit

HOSTILE = '<img src=x onerror="alert(1)">'
SLEW = "PARALLEL SLEW CALIBRATION"


def lamp(name: str = "lamp") -> Program:
    """Lamp program 4461: one campaign of two runs at least 2 h apart on days 0-2, preferred at
    its flown times (days 0.5 and 1.25)."""
    return Program(
        name=name, program_ids=(4461,), mode="NIRSpec Internal Lamp", avoid=("NIRSpec",),
        duration_minutes=10, recovery_minutes=0, min_slew_minutes=0,
        campaigns=(Campaign(START, START + 2 * DAY, 2, 2.0,
                            preferred=(START + DAY // 2, START + round(1.25 * DAY))),),
    )  # fmt: skip


def anneals() -> Program:
    """The seed's anneals (program 4485) on two 1-day windows every 2 days from 2023-07-03."""
    return load_program("seed-4485").with_calendar(start="2023-07-03", count=2, window_days=1, target_days=2)


def joint_plan(tmp_path: Path, lamp_name: str = "lamp") -> Path:
    """The lamp flew on days 0.5 and 1.25 (4461), another lamp program (4463) on day 0.75 (into
    NIRSpec: no slew for ours), an anneal (4485) on day 2.5; a MIRI visit on day 0.25. Returns the
    joint plan file."""
    ours = [Attached(SLEW, "NIRSpec Internal Lamp", "4461:1:1")]
    theirs = [Attached(SLEW, "NIRSpec Internal Lamp", "4463:1:1")]
    anneal = [Attached(SLEW, "MIRI Anneal", "4485:1:1")]
    again = [Attached(SLEW, "NIRSpec Internal Lamp", "4461:1:2")]
    frame = timeline(
        visit(0.25, "MIRI Imaging"), visit(0.5, parallels=ours, visit_id="1:1:1"),
        visit(0.75, "NIRSpec MultiObject Spectroscopy", parallels=theirs), visit(1.25, parallels=again),
        visit(2.5, parallels=anneal, visit_id="2:2:2"), visit(2.75),
    )  # fmt: skip
    frame.loc[frame["visit_id"] == "2:2:2", "target"] = HOSTILE
    path = tmp_path / "t.parquet"
    write_timeline(frame, path)
    programs = (anneals(), replace(lamp(), name=lamp_name))
    instance = JointInstance(timeline=load_timeline(path), programs=programs, rules="seed")
    out = tmp_path / "joint.parquet"
    solve_joint(instance).to_parquet(out)
    return out
