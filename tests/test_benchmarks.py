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
    point that wins on the cycle measured is never chosen for it. The verdict says so."""
    import pandas as pd

    from benchmarks.policy_loo import FITTED, HISTORIES, digest, leave_one_out, verdict

    others = {"greedy": 1.3, "rollout (previous default)": 1.2, "flown": 1.0}
    ratios = {  # cycle -> policy -> ratio (one run each, hindsight 100)
        "Cycle 1": {"guarded a": 1.1, "guarded b": 1.5, **others},
        "Cycle 2": {"guarded a": 1.1, "guarded b": 1.5, **others},
        "Cycle 3": {"guarded a": 1.9, "guarded b": 1.0, **others},
    }
    rows = [
        {"setting": "replay", "cycle": c, "variant": 0, "policy": p, "cost_s": 100 * r, "hindsight_s": 100.0}
        | {"ratio": r}
        for c, by in ratios.items()
        for p, r in by.items()
    ]
    # A stress ("first 9") is never fitted to: there "a" wins on every cycle, yet each cycle left
    # out gets the point chosen on the replays of the others.
    best = {"guarded a": 1.0}
    stress = [row | {"setting": "first 9", "ratio": best.get(row["policy"], 1.2)} for row in rows]
    table = pd.DataFrame(rows)
    fitted, chosen = leave_one_out(pd.concat([table, pd.DataFrame(stress)], ignore_index=True))
    replayed = {
        ("replay", "Cycle 1"): "guarded b",
        ("replay", "Cycle 2"): "guarded b",
        ("replay", "Cycle 3"): "guarded a",
    }
    assert chosen == replayed | {("first 9", cycle): point for (_, cycle), point in replayed.items()}
    fitted, _ = leave_one_out(table)
    assert list(fitted.sort_values("cycle")["ratio"]) == [1.5, 1.5, 1.9]
    lines = verdict(pd.concat([table, fitted], ignore_index=True))
    assert len(lines) == 1 and lines[0].count("WORSE than greedy") == 3 and "goal 1.25: not met" in lines[0]
    shown = digest(pd.concat([table, fitted], ignore_index=True), "replay")
    assert list(shown.columns) == ["policy", *HISTORIES, "total"] and FITTED in set(shown["policy"])


def test_policy_loo_on_tiny_synthetic_cycles_where_the_answer_is_known():
    """The leave-one-out protocol end to end on three made-up cycles of 12 weeks, resampled (6
    cycles a cycle, single weeks and runs of 4), with a grid of two guarded points: w = 0 (exactly
    greedy) and k = 2, w = 1 (trusting). Every week holds either slews at 10 h and 48 h, or one at
    48 h, or one at 50 h. Greedy starts a cycle on 10 h when the first week offers it and keeps it
    until a week without it forces a jump of 38-40 h; any policy that looks ahead starts at 48 h
    and pays only the 2 h steps between 48 h and 50 h, as hindsight does. So the right answer is
    known: the trusting point is never worse than greedy on any cycle and better on some, it is the
    point fitted for every cycle left out, the fitted policy is no worse than greedy on every cycle
    and setting, and both references told the weeks (Bayes, rollout) are no worse than greedy in
    total.

    Then C's rows of the trusting point are made 10x hindsight: C's own choice does not move, since
    it is fitted on A and B only, and the verdict reports the fitted policy WORSE than greedy on C;
    A's and B's choices, fitted on C among others, move to the greedy point: the protocol does not
    peek at the cycle it measures, and only at it."""
    import numpy as np
    import pandas as pd

    from benchmarks import policy_loo
    from benchmarks.policy_loo import BAYES, FITTED, TOLD, grid_points, leave_one_out, resampled_rows, verdict

    hour = 3600
    both, late, later = np.array([10, 48]) * hour, np.array([48]) * hour, np.array([50]) * hour
    cycles = {
        "A": [both, later, late, later] * 3,
        "B": [both, later, both, late, later, later] * 2,
        "C": [late, both, later, both] * 3,
    }
    grid = [(2.0, 0.0, "earliest"), (2.0, 1.0, "earliest")]
    greedyish, trusting = "guarded k=2 w=0 earliest", "guarded k=2 w=1 earliest"
    rows = []
    for name, weeks in cycles.items():
        prior = [w for other, ws in cycles.items() if other != name for w in ws]
        for resampling in ("iid", "blocks"):
            rows += resampled_rows(name, weeks, prior, resampling, 6, 0, grid_points(grid))
    table = pd.DataFrame(rows)
    assert (table["hindsight_s"] > 0).all()
    ratio = table.pivot_table(index=["setting", "cycle", "variant"], columns="policy", values="ratio")
    assert (ratio[greedyish] == ratio["greedy"]).all()  # w = 0 is greedy exactly
    assert (ratio[trusting] <= ratio["greedy"] + 1e-12).all() and (ratio[trusting] < ratio["greedy"]).any()
    fitted, chosen = leave_one_out(table)
    assert set(chosen.values()) == {trusting} and len(chosen) == 6
    lines = verdict(pd.concat([table, fitted], ignore_index=True))
    assert len(lines) == 2 and all("WORSE" not in line for line in lines), lines
    # on resampled cycles the total is set beside both references told the weeks, not judged
    assert all(BAYES in line and TOLD in line and "goal" not in line for line in lines), lines
    totals = table.groupby("policy")[["cost_s", "hindsight_s"]].sum()
    assert totals.loc[BAYES, "cost_s"] <= totals.loc["greedy", "cost_s"]
    assert totals.loc[TOLD, "cost_s"] <= totals.loc["greedy", "cost_s"]

    rigged = table.copy()
    mine = (rigged["cycle"] == "C") & (rigged["policy"] == trusting)
    rigged.loc[mine, "ratio"] = 10.0
    rigged.loc[mine, "cost_s"] = 10 * rigged.loc[mine, "hindsight_s"]
    fitted, again = leave_one_out(rigged)
    assert {key: point for key, point in again.items() if key[1] == "C"} == {
        ("iid", "C"): trusting,
        ("blocks", "C"): trusting,
    }
    assert {point for key, point in again.items() if key[1] != "C"} == {greedyish}
    lines = verdict(pd.concat([rigged, fitted], ignore_index=True))
    assert all("C WORSE than greedy" in line and "A no worse" in line for line in lines), lines
    assert {"replay", "iid", "blocks"} <= set(policy_loo.SETTINGS) and FITTED in set(fitted["policy"])


def test_policy_loo_replays_cycle_2_as_recorded():
    """benchmarks.policy_loo's replay of Cycle 2 as shipped, with one grid point: every policy's
    ratio, the Bayes reference's (told Cycle 2's own final weeks, in a replay) and the anneals
    flown, is the one recorded in benchmarks/results/policy_loo.csv."""
    import pandas as pd

    from benchmarks.policy_loo import BAYES, grid_points, replay_rows
    from benchmarks.replays import RESULTS

    rows = pd.DataFrame(replay_rows("Cycle 2", 0, grid_points([(2.0, 1.0, "centre")]))).set_index("policy")
    recorded = pd.read_csv(RESULTS / "policy_loo.csv")
    recorded = recorded[(recorded["setting"] == "replay") & (recorded["cycle"] == "Cycle 2")]
    recorded = recorded[recorded["variant"] == 0].set_index("policy")
    assert set(rows.index) == {
        "rollout (previous default)",
        "greedy",
        "flown",
        BAYES,
        "guarded k=2 w=1 centre",
    }
    for policy, row in rows.iterrows():
        assert row["cost_s"] == recorded.loc[policy, "cost_s"], policy
    assert rows.loc[BAYES, "ratio"] < rows.loc["greedy", "ratio"]


def test_joint_race_on_a_tiny_synthetic(tmp_path, monkeypatch):
    """benchmarks.joint_race on six weeks of the five-program synthetic: every stage of the planner's
    joint model raced; the HiGHS model is the same model (CP-SAT's solution satisfies every one of its
    rows with the same objective), both prove each stage and agree; results and machine in files.
    The runner hands `--suites joint_race` to it."""
    import json

    from benchmarks import joint_race
    from benchmarks.joint_race import main as joint_race_main

    table = joint_race_main(["--instances", "tiny", "--time-limit", "30", "--out", str(tmp_path)])
    assert list(table["stage"]) == ["served", "regular", "displacement"]
    assert table["translation_checked"].all() and table["highs_solution_feasible"].all()
    assert table["cp_sat_proven"].all() and table["highs_proven"].all() and table["same_value"].all()
    assert (table["variables"] > 0).all() and (table["rows"] >= table["constraints"]).all()
    written = pd.read_csv(tmp_path / "joint_race.csv")
    assert len(written) == 3 and {"cp_sat_s", "highs_s", "load_before", "commit"} <= set(written.columns)
    machine = json.loads((tmp_path / "joint_race.json").read_text())["machine"]
    assert "load average" in machine["uptime_before"] and machine["cores"] >= 1

    asked = []
    monkeypatch.setattr(joint_race, "main", asked.append)
    main(["--suites", "joint_race", "--out", str(tmp_path), "--no-readme"])
    assert asked == [["--out", str(tmp_path)]]


def test_the_joint_race_translation_refuses_what_it_cannot_translate():
    """to_highs translates literals (a negated one is 1 - x) and linear rows, and refuses an enforced
    constraint rather than dropping it."""
    import numpy as np
    import pytest
    from ortools.sat.python import cp_model

    from benchmarks.highs_baseline import to_highs

    model = cp_model.CpModel()
    a, b, c = (model.new_bool_var(name) for name in "abc")
    model.add_at_most_one([a, ~b])  # a + 1 - b <= 1
    model.add_bool_or([~a, c])
    model.add(a + b + 2 * c <= 3)
    model.minimize(5 - a - b)
    translated = to_highs(model.proto)
    assert translated.check(np.array([1.0, 1.0, 1.0])) == (False, 3.0)  # a + b + 2c = 4 > 3
    assert translated.check(np.array([1.0, 1.0, 0.0])) == (False, 3.0)  # ¬a or c fails
    assert translated.check(np.array([0.0, 1.0, 1.0])) == (True, 4.0)
    assert translated.check(np.array([1.0, 0.0, 1.0]))[0] is False  # a + ¬b = 2
    model.add(a == 1).only_enforce_if(c)
    with pytest.raises(ValueError, match="enforcement"):
        to_highs(model.proto)


def test_another_cycles_prior_holds_only_that_cycles_weeks():
    """benchmarks.policy_loo's `other prior` stress: Cycle 1's text reports run on into Cycle 2
    (to March 2024), but the prior made of Cycle 1 for Cycle 2 holds only Cycle 1's 51 weeks,
    moved by whole weeks to end by the time Cycle 2's first report begins."""
    from benchmarks.policy_loo import shifted_prior
    from benchmarks.replays import DATA
    from planner.online.replay import prior_cut
    from planner.problem.rules import load_rules
    from planner.schedules.history import History

    history = History.read([DATA / "raw" / "dja-json"])
    prior = shifted_prior("Cycle 1", history, load_rules())
    week = 7 * 86400
    assert prior.last - prior.first <= 51 * week
    assert prior_cut(history) - week < prior.last <= prior_cut(history)
    start = 1657497600  # 2022-07-11, Cycle 1's first week; moved by whole weeks, every slew is in its 51
    back = -(-(start - prior.first) // week) * week
    assert ((prior.times + back >= start) & (prior.times + back < start + 51 * week)).all()


def test_policy_variants_run_on_tiny_cycles_and_never_beat_hindsight():
    """benchmarks.policy_variants on the tiny made-up cycles of the leave-one-out test: every
    variant decides every week of 3 resampled cycles, none below the hindsight optimum of the same
    weeks (no online policy can be), and the summary gives each variant's total per setting."""
    import numpy as np
    import pandas as pd

    from benchmarks.policy_loo import resampled_rows
    from benchmarks.policy_variants import VARIANTS, summary

    hour = 3600
    both, late, later = np.array([10, 48]) * hour, np.array([48]) * hour, np.array([50]) * hour
    weeks = [both, later, late, later] * 3
    rows = []
    for resampling in ("iid", "blocks"):
        rows += resampled_rows("A", weeks, [both, late] * 6, resampling, 3, 0, VARIANTS)
    table = pd.DataFrame(rows)
    assert set(table["policy"]) >= {name for name, _ in VARIANTS} and (table["ratio"] >= 1 - 1e-12).all()
    shown = summary(table)
    assert list(shown["setting"]) == ["iid", "blocks"]
    assert all(cell.endswith("/1)") for cell in shown[VARIANTS[0][0]])
