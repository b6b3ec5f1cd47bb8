"""The policy's expected cost of the rest of the cycle (planner/online/outlook.py), and `next` stating
it in its terminal output and its --json document."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from planner.cli import app
from planner.online.outlook import draw_weeks, expected_rest, simulate
from planner.online.policies import Greedy, Guarded, Neighbour

HOUR = 3600
DAY = 24 * HOUR
TARGET, WINDOW = 7 * DAY, 4 * DAY
REPORTS = Path("data/raw/dja-json/cycle2")


def model(weeks: int = 26, seed: int = 3) -> list[np.ndarray]:
    """Weeks of 2-8 eligible slews at random phases in the 4-day window, one in six without any."""
    rng = np.random.default_rng(seed)
    made = []
    for _ in range(weeks):
        count = 0 if rng.random() < 1 / 6 else int(rng.integers(2, 9))
        made.append(np.sort(rng.integers(0, WINDOW, count)))
    return made


def rest(policy, weeks: list[np.ndarray], windows: int, previous=None):
    return expected_rest(policy, weeks, windows, target=TARGET, window_seconds=WINDOW, previous=previous)


def test_simulate_sums_the_deviations_of_the_policys_choices():
    """Greedy from an anneal at phase 40 h one window before: week 0 has slews at 36 h and 50 h,
    it takes 36 h (4 h off); week 1 has none (missed); week 2 one at 30 h, 14 days after 36 h
    less 6 h: 6 h. In all 10 h."""
    weeks = [np.array([36, 50]) * HOUR, np.zeros(0, dtype=np.int64), np.array([30]) * HOUR]
    previous = Neighbour(-TARGET + 40 * HOUR, 1)
    cost = simulate(weeks, Greedy(), target=TARGET, window_seconds=WINDOW, previous=previous)
    assert cost == 10 * HOUR


def test_the_expected_rest_is_finite_non_negative_deterministic_and_grows_with_the_windows_left():
    """On the same model and the same fixed seed the draws of fewer windows are the first weeks of
    the draws of more (draw_weeks takes runs of weeks from one generator), so greedy's expected
    cost can only grow with the windows left; guarded's, which looks at how many windows remain,
    grows too on this model. No window left costs nothing; no week to learn from gives no figure."""
    weeks = model()
    previous = Neighbour(-TARGET + 40 * HOUR, 1)
    for policy in (Greedy(), Guarded()):
        figures = [rest(policy, weeks, n, previous) for n in (40, 20, 5, 0)]
        means = [f.mean_s for f in figures]
        assert all(m is not None and math.isfinite(m) and m >= 0 for m in means), means
        assert means[0] > means[1] > means[2] > means[3] == 0, (policy.name, means)
        assert figures[0].se_s is not None and figures[0].se_s > 0 and figures[0].windows == 40
        again = rest(policy, weeks, 40, previous)
        assert again == figures[0]
    unknown = rest(Guarded(), [], 10)
    assert unknown.mean_s is None and "no published week" in unknown.describe("guarded")
    assert draw_weeks(weeks, 9, 4, np.random.default_rng(0))[:4] == draw_weeks(
        weeks, 4, 4, np.random.default_rng(0)
    )


def test_a_policy_with_state_is_not_changed_by_the_outlook():
    """expected_rest decides on a copy: the policy given keeps its weight and has decided nothing."""
    policy = Guarded()
    policy.future_weight = 0.123
    rest(policy, model(), 10)
    assert policy.future_weight == 0.123 and policy._trusted is None


def test_next_states_the_expected_cost_of_the_rest_of_the_cycle(tmp_path):
    """`next` on Cycle 2's first reports (week 1 flown, the schedule published to July 24) plans
    Anneals 02-03, leaving 50 windows; a week later (to July 31) it plans Anneal 04 too, leaving
    49 or fewer. Each --json document holds `expected_rest`: finite, non-negative, the same on a
    second run, with the windows left; the terminal output says it in one sentence."""
    runner = CliRunner()
    first = sorted(str(p) for p in REPORTS.glob("20230703*.json"))
    week1 = sorted(str(p) for p in [*REPORTS.glob("2023070*.json"), *REPORTS.glob("2023071*.json")])
    week2 = [*week1, *sorted(str(p) for p in REPORTS.glob("2023072*.json"))]
    paths = {name: tmp_path / f"{name}.parquet" for name in ("flown", "week1", "week2")}
    for name, files in (("flown", first), ("week1", week1), ("week2", week2)):
        assert runner.invoke(app, ["ingest", *files, "--out", str(paths[name])]).exit_code == 0

    def run(flown: Path, timeline: Path, out: str, *extra: str):
        given = ["--flown", str(flown), "--timeline", str(timeline), "--out", str(tmp_path / out)]
        result = runner.invoke(app, ["next", *given, *extra])
        assert result.exit_code == 0, result.output
        return result.stdout

    documents = [json.loads(run(paths["flown"], paths["week1"], f"n{i}.parquet", "--json")) for i in (1, 2)]
    assert documents[0]["expected_rest"] == documents[1]["expected_rest"]
    now = documents[0]["expected_rest"]
    assert now["windows"] == 50 and math.isfinite(now["sum_abs_deviation_hours"])
    assert now["sum_abs_deviation_hours"] >= 0 and now["se_hours"] >= 0 and now["model_weeks"] == 26
    later = json.loads(run(tmp_path / "n1.parquet", paths["week2"], "n3.parquet", "--json"))["expected_rest"]
    assert later["windows"] < now["windows"] and math.isfinite(later["sum_abs_deviation_hours"])
    text = " ".join(run(paths["flown"], paths["week1"], "n4.parquet").split())
    assert "Expected cost of the rest of the cycle (50 windows) under guarded's model of the weeks" in text
    assert f"{now['sum_abs_deviation_hours']:.1f} h" in text
