"""Small timelines built by hand, for tests whose answer can be worked out on paper."""

from __future__ import annotations

from planner.problem.calendar import DAY, parse_instant
from planner.schedules.report import Attached, Visit
from planner.schedules.timeline import to_frame

START = parse_instant("2023-07-03")


def visit(
    day: float,
    instrument: str = "NIRCam Imaging",
    *,
    visit_type: str = "PRIME TARGETED FIXED",
    parallels: list[Attached] | None = None,
    visit_id: str | None = None,
) -> Visit:
    """A prime visit starting `day` days after 2023-07-03T00:00Z."""
    start = START + round(day * DAY)
    return Visit(
        visit_id=visit_id or f"9999:{round(day * 1000)}:1",
        start=start,
        duration_s=3600,
        visit_type=visit_type,
        instrument=instrument,
        target="T",
        category="Star",
        keywords=None,
        parallels=parallels or [],
        source="hand-made",
    )


def timeline(*visits: Visit):
    return to_frame(sorted(visits, key=lambda v: v.start))
