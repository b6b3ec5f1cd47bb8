"""anneal-planner: place JWST MIRI anneals on the slews of the real observing schedule."""

from planner.calendar import Calendar
from planner.errors import InfeasibleError, InputError, OptionError, PlannerError
from planner.options import SolveOptions
from planner.result import Result, Status, read_plan
from planner.solve import solve
from planner.timeline import load_timeline, read_schedules, write_timeline

__all__ = [
    "Calendar",
    "InfeasibleError",
    "InputError",
    "OptionError",
    "PlannerError",
    "Result",
    "SolveOptions",
    "Status",
    "load_timeline",
    "read_plan",
    "read_schedules",
    "solve",
    "write_timeline",
]
