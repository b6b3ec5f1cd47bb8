"""The brute-force oracle of the joint model: every plan of a tiny joint instance, the best kept.

It enumerates, observation by observation, "unserved" and every way to place its runs on its
eligible slews (in order, at least its separation apart), keeps the combinations in which no slew
carries two runs, and returns the lexicographically least (served, weekly objective, regular,
displacement) key, each a stage's value on the plan (`stage_value`, the objective's definition):
the joint optimum, with none of the model's reasoning (the contested-window skips, the flow, the
pruning). Tests compare CP-SAT's stage values with it.
"""

from __future__ import annotations

import itertools
import math

from planner.problem.joint import JointInstance, Observation
from planner.solver.joint import stage_names, stage_value

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
    names = stage_names(instance.programs)
    best: tuple | None = None
    for plan in itertools.product(*choices):
        rows = [int(o.rows[i]) for o, p in zip(observations, plan, strict=True) if p for i in p]
        if len(rows) != len(set(rows)):
            continue
        chosen = {n: list(p) for n, p in enumerate(plan) if p is not None}
        key = tuple(stage_value(name, instance, chosen) for name in names)
        if best is None or key < best:
            best = key
    assert best is not None  # serving nothing is always a plan
    return dict(zip(names, best, strict=True))
