"""anneal-planner: place JWST MIRI anneals on the slews of the real observing schedule.

Names are loaded on first use, so `import planner.checker` stays free of the solver (ortools).
"""

from importlib import import_module

# The one place the version is written (pyproject.toml reads it from here): reading it back with
# importlib.metadata would cost every command 18 ms of start-up.
__version__ = "0.1.0"

_EXPORTS = {
    "Calendar": "planner.calendar",
    "History": "planner.history",
    "InfeasibleError": "planner.errors",
    "InputError": "planner.errors",
    "OptionError": "planner.errors",
    "PlannerError": "planner.errors",
    "Result": "planner.result",
    "RuleSet": "planner.rules",
    "SolveOptions": "planner.options",
    "Status": "planner.result",
    "check_plan": "planner.checker",
    "load_prior": "planner.prior",
    "load_rules": "planner.rules",
    "load_timeline": "planner.timeline",
    "read_plan": "planner.planfile",
    "read_schedules": "planner.timeline",
    "run_replay": "planner.replay_outcome",
    "solve": "planner.solve",
    "write_timeline": "planner.timeline",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'planner' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
