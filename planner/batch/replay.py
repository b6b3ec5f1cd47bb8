"""A batch scenario of kind "replay": one policy replayed over a (perhaps perturbed) history.

It writes `DIR/plans/<id>.parquet` (the replay table, as `replay --out` writes it) and a summary
row with the policy's Σ|gap − m·target| and its ratio to the hindsight optimum of the same,
perturbed, schedule, so that policies and their parameters can be swept like solves.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

from planner.batch.scenarios import Scenario
from planner.online.outcome import run_replay, write_replay
from planner.online.prior import NO_PRIOR, SHIPPED, Prior, load_prior, setting
from planner.plans.result import interval_statistics
from planner.schedules.history import History


@functools.lru_cache(maxsize=4)
def _prior(name: str, rules) -> Prior:
    """A scenario's prior by its summary name (planner.online.prior.setting), read once per worker process
    for each rule set."""
    if name == NO_PRIOR.source:
        return NO_PRIOR
    return load_prior(None if name == SHIPPED else name, rules, option="prior")


@functools.lru_cache(maxsize=4)
def _history(sources: tuple[str, ...]) -> History:
    """Scenarios of a sweep mostly share their reports: read them once per worker process."""
    return History.read(sources)


def run_replay_scenario(scenario: Scenario, out_dir: str) -> dict:
    """The summary fields of one replay scenario (errors are the caller's to record)."""
    started = time.perf_counter()
    history = _history(tuple(scenario.settings["sources"])).perturbed(
        scenario.perturbation, within=scenario.period()
    )
    rules, policy = scenario.rules, scenario.policy()
    prior = _prior(setting(scenario.settings.get("prior"), bool(policy.sample_weeks)), rules)
    run = run_replay(history, scenario.calendar, policy, rules, prior=prior)
    folder = Path(out_dir) / "plans" / scenario.id
    write_replay(run, folder)
    result = run.summary["result"]
    # Interval figures as a solve's (its missing count is the replay's own: missed, not unpublished)
    intervals = interval_statistics(run.frame)
    return {
        "state": "solved",
        "status": "ONLINE",
        "objective_value_s": result["sum_abs_deviation_s"],
        "placed": result["placed"],
        "missing": result["missed"],
        "replanned": result["replanned"],
        "ratio_to_hindsight": result.get("ratio_to_hindsight"),
        "ratio_greedy": run.summary.get("greedy", {}).get("ratio_to_hindsight"),
        **intervals,
        "total_s": time.perf_counter() - started,
        "error": None,
    }
