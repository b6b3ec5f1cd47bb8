"""anneal-planner: place JWST MIRI anneals on the slews of the real observing schedule.

The package is layered; each floor imports only from the floors above it in this list:

- `planner.schedules`: reading STScI weekly reports into a slew timeline and an issue history;
- `planner.problem`: what is planned: programs, calendars, rule sets, eligibility, pins, the
  instance, and the solver's settings as data;
- `planner.plans`: plan files, the independent checker, the comparison with flown anneals;
- `planner.solver`: the chain, the exact DP oracle, the CP-SAT model and its staged solve;
- `planner.online`: planning week by week as the schedule is published (policies, replay, next);
- `planner.batch`: many scenarios at once, locally or on Dask;
- `planner.views`: what is printed (terminal tables) and drawn (the HTML page, the static plot);
- `planner.cli`: the command line, thin over the above.

Names below are loaded on first use, so `import planner.plans.checker` stays free of the solver
(ortools); each is then cached here, so `planner.solve` is the same function on every call.
"""

from importlib import import_module

# The one place the version is written (pyproject.toml reads it from here): reading it back with
# importlib.metadata would cost every command 18 ms of start-up.
__version__ = "0.1.0"

_EXPORTS = {
    "Calendar": "planner.problem.calendar",
    "History": "planner.schedules.history",
    "InfeasibleError": "planner.errors",
    "InputError": "planner.errors",
    "OptionError": "planner.errors",
    "PlannerError": "planner.errors",
    "Result": "planner.plans.result",
    "RuleSet": "planner.problem.rules",
    "Instance": "planner.problem.instance",
    "JointInstance": "planner.problem.joint",
    "check_joint": "planner.plans.joint_checker",
    "load_programs": "planner.problem.joint",
    "solve_joint": "planner.solver.joint",
    "Program": "planner.problem.program",
    "SolverSettings": "planner.problem.settings",
    "load_program": "planner.problem.program",
    "Status": "planner.plans.result",
    "check_plan": "planner.plans.checker",
    "load_prior": "planner.online.prior",
    "load_rules": "planner.problem.rules",
    "load_timeline": "planner.schedules.timeline",
    "read_plan": "planner.plans.planfile",
    "read_schedules": "planner.schedules.timeline",
    "run_replay": "planner.online.outcome",
    "solve": "planner.solver.solve",
    "write_timeline": "planner.schedules.timeline",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'planner' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later look-ups find it without coming here
    return value
