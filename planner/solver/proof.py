"""Re-proving a plan file's optimality instead of taking its metadata's word for it.

A plan file's `OPTIMAL` is what CP-SAT proved when the plan was made; the file itself can say
anything. The problem the plan records (its timeline, calendar and options) is enough to prove it
again: the exact dynamic programme of planner.solver.oracle gives the optimum of the objective in
milliseconds, and a plan the checker accepts whose objective equals it is optimal, whatever the
file says. Readers (the report page, a batch re-run) state optimality only when it is re-proven.
"""

from __future__ import annotations

from planner.errors import PlannerError
from planner.problem.instance import Instance
from planner.solver import oracle
from planner.solver.explain import chain_conflict
from planner.solver.solve import build_chain


def optimum(instance: Instance) -> int | None:
    """The optimum of the instance's objective over every plan its rules allow (pins, minimum gap,
    allow_missing and widened windows included), seconds; None when it cannot be computed (no plan
    exists, or the problem is refused as it would be by `solve`)."""
    try:
        chain, _, _ = build_chain(instance)
    except PlannerError:
        return None
    if chain_conflict(chain):
        return None
    best = oracle.lexicographic(chain, instance.objective)
    return None if best is None else int(best.value)
