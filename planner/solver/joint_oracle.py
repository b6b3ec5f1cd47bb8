"""The brute-force oracle of the joint model: every plan of a tiny joint instance, the best kept.

It enumerates, observation by observation, "unserved" and every way to place its runs on its
eligible slews (in order, at least its separation apart), keeps the combinations in which no slew
carries two runs, and returns the lexicographically least (served, weekly objective, regular,
displacement) key: the definition of the joint optimum, with none of the model's reasoning (the
contested-window skips, the flow). Tests compare CP-SAT's stage values with it.
"""

from __future__ import annotations

import itertools
import math

from planner.plans.checker import objective_value
from planner.problem.joint import JointInstance, Observation
from planner.solver.joint import DISPLACEMENT, SERVED, stage_names

MAX_PLANS = 2_000_000  # beyond this the oracle refuses: it is for tiny instances


def placements(o: Observation) -> list[tuple[int, ...] | None]:
    """None (unserved) and every tuple of slew indices that can hold the observation's runs."""
    options: list[tuple[int, ...] | None] = [None]
    for combo in itertools.combinations(range(len(o.rows)), o.iterations):
        times = [int(o.times[i]) for i in combo]
        if all(b - a >= o.separation for a, b in itertools.pairwise(times)):
            options.append(combo)
    return options


def brute_force(instance: JointInstance) -> dict[str, int]:
    """The optimal value of each stage (stage_names), by enumeration."""
    observations = instance.observations
    choices = [placements(o) for o in observations]
    if math.prod(map(len, choices)) > MAX_PLANS:
        raise ValueError("too many plans for the brute-force oracle")
    names = stage_names(instance)
    best: tuple | None = None
    for plan in itertools.product(*choices):
        rows = [int(o.rows[i]) for o, p in zip(observations, plan, strict=True) if p for i in p]
        if len(rows) != len(set(rows)):
            continue
        key = tuple(_value(name, instance, plan) for name in names)
        if best is None or key < best:
            best = key
    assert best is not None  # serving nothing is always a plan
    return dict(zip(names, best, strict=True))


def _value(name: str, instance: JointInstance, plan) -> int:
    observations = instance.observations
    if name == SERVED:
        return sum(instance.programs[o.program].priority for o, p in zip(observations, plan, strict=True)
                   if p is None)  # fmt: skip
    if name == DISPLACEMENT:
        return sum(abs(int(o.times[i]) - o.preferred[r]) for o, p in zip(observations, plan, strict=True)
                   if p and not o.weekly for r, i in enumerate(p))  # fmt: skip
    total = 0
    for index, program in enumerate(instance.programs):
        if program.campaigns:
            continue
        served = [(o.number, int(o.times[p[0]])) for o, p in zip(observations, plan, strict=True)
                  if o.program == index and p]  # fmt: skip
        times, numbers = [t for _, t in served], [n for n, _ in served]
        total += objective_value(times, numbers, name, program.calendar.target_seconds)
    return total
