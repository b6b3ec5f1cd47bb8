"""Smoke test of the benchmark runner's suites on the smallest instance (speed itself is not tested)."""

from __future__ import annotations

import pandas as pd

from benchmarks.runner import main, targets


def test_runner_suites_on_the_smallest_instance(tmp_path):
    """Every suite but cli and batch (subprocesses, minutes) on 13 windows (lengths: a quarter year,
    without and with pins): each row proven and equal to the exact DP; the race's HiGHS reaches the
    same optimum on the same model."""
    main(
        [
            *("--suites", "decade", "scaling", "lengths", "race", "--years", "0.25"),
            *("--instances", "small", "--race-instances", "small", "--decade-instance", "small"),
            *("--objectives", "regular", "mean", "--repeats", "1", "--out", str(tmp_path), "--no-readme"),
        ]
    )
    decade = pd.read_parquet(tmp_path / "decade.parquet")
    assert len(decade) == 2 * 6 and decade["equals_exact"].all() and (decade["status"] == "OPTIMAL").all()
    assert set(decade["variant"]) == {"none", "min_gap", "recovery", "pins", "fix", "all"}
    assert (decade.loc[decade["variant"] == "all", "pins"] > 1).all()
    scaling = pd.read_parquet(tmp_path / "scaling.parquet")
    assert scaling["equals_exact"].all() and {"commit", "cpu", "ortools", "load_before"} <= set(
        scaling.columns
    )
    lengths = pd.read_parquet(tmp_path / "lengths.parquet")  # 91 days: 13 windows, half of them pinned
    assert lengths["variant"].tolist() == ["none", "pins"] and lengths["pins"].tolist() == [0, 6]
    assert lengths["equals_exact"].all() and (lengths["status"] == "OPTIMAL").all()
    assert (lengths["check_s"] > 0).all() and lengths["over_no_pins"].iloc[0] == 1.0
    race = pd.read_parquet(tmp_path / "race.parquet")
    assert len(race) == 2 * 3 and (race["cp_sat_value"] == race["exact_value"]).all()
    assert (race["cp_sat_status"] == "OPTIMAL").all() and race["highs_status"].notna().all()
    # HiGHS's answer is checked against its own solution (see benchmarks.highs_baseline)
    assert race["highs_solution_value"].notna().all()
    # the targets table reads the same files: the decade target is met on the small instance
    summary = targets(tmp_path)
    assert "| decade: every objective x side constraints OPTIMAL" in summary and "| 12 of 12 cases" in summary
    assert "race: CP-SAT at least as fast as HiGHS" in summary and "cli:" not in summary


def test_online_bound_told_every_week_is_hindsight_and_no_policy_beats_it():
    """benchmarks.online_bound on a 12-week cycle resampled from Cycle 2's weeks: the reference
    told every later week exactly decides each week on the whole rest of the cycle, so it makes
    the hindsight optimum; every online policy costs at least that; blocks are runs of 4 weeks."""
    import numpy as np

    from benchmarks.online_bound import (
        KnownWeeks,
        hindsight,
        policies,
        resample,
        run_online,
        shipped_weeks,
    )

    weeks = shipped_weeks("cycle2-json")[:12]
    cycle = resample(weeks, 4, np.random.default_rng(1))
    assert len(cycle) == 12
    starts = [next(i for i, w in enumerate(weeks) if w is cycle[k]) for k in range(0, 12, 4)]
    assert all(
        cycle[k + j] is weeks[s + j] for k, s in zip(range(0, 12, 4), starts, strict=True) for j in range(4)
    )
    best = hindsight(cycle)
    assert run_online(cycle, KnownWeeks(weeks, cycle, ahead=12)) == best
    costs = {
        name: run_online(cycle, make(), weeks if learns else [])
        for name, (make, learns) in policies(weeks, cycle).items()
    }
    assert all(cost >= best for cost in costs.values()), costs


def test_policy_loo_fits_on_the_other_cycles_and_judges_against_greedy_and_rollout():
    """benchmarks.policy_loo's protocol on a made-up table of two grid points, one run a cycle:
    "a" is best on Cycles 1 and 2 (1.1 against 1.5), "b" on Cycle 3 (1.0 against 1.9). Left out,
    Cycle 3 gets "a" (best on the two others) and so 1.9, worse than greedy's 1.3; Cycles 1 and 2
    get "b" (mean 1.25 against "a"'s 1.5 on the other two) and so 1.5, worse than greedy too: a
    point that wins on the cycle measured is never chosen for it. The verdict says no."""
    import pandas as pd

    from benchmarks.policy_loo import HISTORIES, digest, leave_one_out, verdict

    ratios = {  # cycle -> policy -> ratio (one run each, hindsight 100)
        "Cycle 1": {
            "guarded a": 1.1,
            "guarded b": 1.5,
            "greedy": 1.3,
            "rollout (default)": 1.2,
            "flown": 1.0,
        },
        "Cycle 2": {
            "guarded a": 1.1,
            "guarded b": 1.5,
            "greedy": 1.3,
            "rollout (default)": 1.2,
            "flown": 1.0,
        },
        "Cycle 3": {
            "guarded a": 1.9,
            "guarded b": 1.0,
            "greedy": 1.3,
            "rollout (default)": 1.2,
            "flown": 1.0,
        },
    }
    rows = [
        {"cycle": c, "variant": 0, "policy": p, "cost_s": 100 * r, "hindsight_s": 100.0, "ratio": r}
        for c, by in ratios.items()
        for p, r in by.items()
    ]
    table = pd.DataFrame(rows)
    fitted, chosen = leave_one_out(table)
    assert chosen == {"Cycle 1": "guarded b", "Cycle 2": "guarded b", "Cycle 3": "guarded a"}
    assert list(fitted.sort_values("cycle")["ratio"]) == [1.5, 1.5, 1.9]
    lines = verdict(pd.concat([table, fitted], ignore_index=True))
    assert all("WORSE" in line for line in lines[:3]) and lines[-1].endswith("no")
    shown = digest(pd.concat([table, fitted], ignore_index=True))
    assert list(shown.columns) == ["policy", *HISTORIES, "total"]
