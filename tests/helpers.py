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


def timeline(*visits: Visit, lead: bool = True):
    """A timeline of the visits, in time order. Each slew lasts from the previous visit's end (they
    last an hour) to its start. A real timeline does not know the slew into its first visit, which
    the slew-time rule of `operations` then excludes; a hand-made timeline stands for a stretch of a
    real one, so unless `lead` is false a `lead_visit` (untargeted: no slew) ends 23 hours before
    the first visit, two days before it at the latest, outside every window of a calendar that
    starts with the first visit's day."""
    ordered = sorted(visits, key=lambda v: v.start)
    if lead and ordered:
        ordered.insert(0, lead_visit(ordered[0].start))
    return to_frame(ordered)


LEAD_ID = "9998:1:1"


def lead_visit(before: int) -> Visit:
    """The untargeted visit `timeline` puts a day before the first (see there)."""
    return Visit(
        visit_id=LEAD_ID,
        start=before - DAY,
        duration_s=3600,
        visit_type="PRIME UNTARGETED",
        instrument="NIRCam Imaging",
        target=None,
        category=None,
        keywords=None,
        parallels=[],
        source="hand-made",
    )


# -- hand-made instances: the tests' shorthand for an Instance and its SolverSettings ---------------


def instance(frame, calendar=None, **options):
    """The seed's program on `calendar` (default: the seed's own) over the timeline `frame`, with
    the Instance options given (objective, rules, pins, min_gap_days, allow_missing); solver
    settings among them are not the instance's, and are left out."""
    from planner.problem.instance import Instance
    from planner.problem.settings import SETTINGS_KEYS

    kept = {key: value for key, value in options.items() if key not in SETTINGS_KEYS}
    return Instance.build(frame, calendar=calendar, **kept)


def solve(frame, calendar=None, *, on_progress=None, **options):
    """planner.solver.solve.solve on `instance(frame, calendar, ...)`; the options that are solver
    settings (time_limit, workers, seed, prune, params, log) go to SolverSettings."""
    from planner.problem.settings import SETTINGS_KEYS, SolverSettings
    from planner.solver.solve import solve as run

    settings = {key: options.pop(key) for key in list(options) if key in SETTINGS_KEYS}
    return run(instance(frame, calendar, **options), SolverSettings(**settings), on_progress=on_progress)


def check(plan, frame, calendar=None, *, claimed=None, **options):
    """The independent checker on `plan` as a plan of `instance(frame, calendar, ...)`."""
    from planner.plans.checker import check_plan

    return check_plan(plan, instance(frame, calendar, **options), claimed)
