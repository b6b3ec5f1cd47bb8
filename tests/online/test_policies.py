"""The `rollout` online policy: what it decides on a tiny hand-made history and why, the scenarios
it builds from the published weeks, and its exact chain solve against brute force.

Hand-made visits sit at known days after Monday 2023-07-03 (tests/helpers.py); windows are
[Monday, Friday) of each week, so a slew's phase is its time after its week's Monday 00:00.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner.batch.scenarios import Scenario
from planner.cli import app
from planner.errors import OptionError
from planner.online.policies import Decision, Greedy, Neighbour, Rollout, _chain_from, make_policy, why
from planner.online.replay import replay
from planner.problem.calendar import DAY, Calendar, format_instant
from planner.schedules.history import History
from planner.schedules.report import Report, Visit
from tests.helpers import START, visit

HOUR = 3600
WEEK = 7 * DAY


def report(name: str, issued_day: int, *visits) -> Report:
    """A report issued `issued_day` days after 2023-07-03 (00:00 UTC), holding `visits`."""
    date = format_instant(START + issued_day * DAY)[:10].replace("-", "")
    for v in visits:
        v.source = name
    return Report(source=name, issue_date=date, revision=0, visits=list(visits))


def at(week: int, hours: float) -> float:
    """The day (after 2023-07-03) of phase `hours` in calendar week `week` (week 1 = Jul 3)."""
    return 7 * (week - 1) + hours / 24


def lead(week: int) -> Visit:
    """An untargeted visit (no slew into it) at noon on the Sunday before calendar week `week`,
    outside every window: under the slew-time rule the slew into a report's first visit is
    unknown (nothing of the same report before it), so a report opens with one."""
    return visit(at(week, -12), visit_type="PRIME UNTARGETED", visit_id=f"9998:{week}:1")


def test_rollout_moves_to_the_phase_the_published_weeks_keep():
    """Four weeks before the calendar were published with their only slew at phase 48 h (a MIRI
    visit, not eligible, opens the first on its Monday 00:00, so that week is wholly published).
    Week 1 has one slew, at 40 h; week 2 has slews at 36 h and 48 h; week 3 one at 48 h.

    Greedy takes 36 h in week 2 (4 h from 40 h, against 8 h) and then pays 12 h to reach week 3's
    48 h: 16 h in all. Rollout, deciding week 2, has one unpublished window left, so each of the
    six published weeks (four at 48 h, week 1 at 40 h, week 2 at 36 h and 48 h) and the mirror
    image of each (48 h stays 48 h; 40 h -> 56 h; 36 h and 48 h -> 48 h and 60 h) is a one-week
    scenario, and a sampled interval counts half. From 36 h the twelve scenarios cost, in hours,
    (4·12 + 4 + 0 + 4·12 + 20 + 12) / 2 / 12 = 5.5; from 48 h (8 + 8) / 2 / 12 = 0.67. So 48 h
    costs 8 + 0.67 against 36 h's 4 + 5.5: rollout takes 48 h, 8 h in all, the hindsight optimum.
    Without the mirror images it would keep 36 h (4 + 52/2/6 = 8.33 against 8 + 8/2/6 = 8.67):
    the mirrored weeks 1 and 2 (56 h; 48 h and 60 h) are what tips it. With weight 0 on the
    sampled weeks it is greedy. Each report also has a Saturday visit, outside every window, so
    its span contains its window's end and it decides that window; each of weeks 1-3 opens with
    an untargeted visit on the Sunday before (`lead`), so its first slew's duration is known."""
    history, calendar = phase_history()
    greedy = replay(history, calendar, Greedy())
    rollout = replay(history, calendar, Rollout())
    assert [a.visit_id for a in greedy.anneals] == ["1:1:1", "2:1:1", "3:1:1"]
    assert [a.visit_id for a in rollout.anneals] == ["1:1:1", "2:2:1", "3:1:1"]
    assert [a.decided_at for a in rollout.anneals] == ["week1", "week2", "week3"]
    gaps = np.diff([a.time for a in rollout.anneals]) - WEEK
    assert gaps.tolist() == [8 * HOUR, 0]
    assert replay(history, calendar, Rollout(mirror=False)).anneals[1].visit_id == "2:1:1"
    assert replay(history, calendar, Rollout(future_weight=0)).anneals[1].visit_id == "2:1:1"


def decision(**rest) -> Decision:
    start = START + WEEK
    return Decision(
        times=np.array([start + 5 * HOUR, start + 18 * HOUR]),
        window_start=start,
        window_seconds=4 * DAY,
        target=WEEK,
        previous=Neighbour(START + 10 * HOUR, 1),
        **rest,
    )


def test_rollout_scenarios_are_runs_of_consecutive_weeks_and_their_mirrors():
    """Six published weeks and a 4-week horizon: 3 runs of 4 consecutive weeks (starting at the
    1st, 2nd, 3rd), each laid on the 4 windows after the decided one with its phases kept, then
    the same runs mirrored in the window (φ -> 96 h − φ); sampled arcs weigh the future weight."""
    weeks = [np.array([h * HOUR]) for h in (1, 2, 3, 4, 5, 6)]
    d = decision(samples=weeks, remaining=10)
    futures = Rollout(future_weight=0.5).scenarios(d)
    assert len(futures) == 6
    for first, layers in enumerate(futures[:3]):
        assert [j for j, _, _ in layers] == [1, 2, 3, 4]
        phases = [int(t[0] - d.window_start - j * WEEK) // HOUR for j, t, _ in layers]
        assert phases == [first + 1, first + 2, first + 3, first + 4]
        assert all((w == 0.5).all() for _, _, w in layers)
    mirrored = [int(t[0] - d.window_start - j * WEEK) // HOUR for j, t, _ in futures[3]]
    assert mirrored == [95, 94, 93, 92]
    # Only two windows left: runs of two weeks (5 of them, and 5 mirrored).
    assert len(Rollout().scenarios(decision(samples=weeks, remaining=2))) == 10
    # Fewer published weeks than a run: all of them, once (and mirrored).
    assert [len(f) for f in Rollout().scenarios(decision(samples=weeks[:2], remaining=10))] == [2, 2]


def test_rollout_puts_published_windows_first_and_fills_a_partial_window_from_the_scenario():
    """One later window wholly published (exact, weight 1); the next published up to its phase
    30 h with a slew at 20 h: in each scenario it holds that slew (weight 1) and the scenario's
    first week's slews after 30 h (weighted); the scenario's other weeks follow."""
    start = START + WEEK
    published = np.array([start + WEEK + 7 * HOUR])
    partial = np.array([start + 2 * WEEK + 20 * HOUR])
    weeks = [np.array([10 * HOUR, 40 * HOUR]), np.array([50 * HOUR])]
    d = decision(
        lookahead=[published],
        partial=partial,
        partial_until=start + 2 * WEEK + 30 * HOUR,
        remaining=1,
        samples=weeks,
    )
    layers = Rollout(future_weight=0.5, mirror=False).scenarios(d)
    assert len(layers) == 1  # one run of 2 weeks (the partial window and one more)
    (j1, t1, w1), (j2, t2, w2), (j3, t3, w3) = layers[0]
    assert (j1, t1.tolist(), w1.tolist()) == (1, published.tolist(), [1.0])
    assert j2 == 2 and ((t2 - start - 2 * WEEK) // HOUR).tolist() == [20, 40] and w2.tolist() == [1.0, 0.5]
    assert j3 == 3 and ((t3 - start - 3 * WEEK) // HOUR).tolist() == [50] and w3.tolist() == [0.5]


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 3), min_size=1, max_size=4),
    data=st.data(),
)
def test_rollout_chain_solve_equals_brute_force(sizes, data):
    """The chain through a scenario's layers (empty layers are missed anneals) is the least
    weighted Σ|gap − m·target| over every path, found by enumerating them."""
    target = 100
    first = np.array(sorted(data.draw(st.lists(st.integers(0, 40), min_size=1, max_size=3))))
    layers = []
    for j, size in enumerate(sizes, start=1):
        times = np.array(sorted(data.draw(st.lists(st.integers(0, 40), min_size=size, max_size=size))))
        weights = np.array(data.draw(st.lists(st.sampled_from([0.5, 1.0]), min_size=size, max_size=size)))
        layers.append((j, j * target + times, weights))
    got = _chain_from(first, layers, target)
    placed = [layer for layer in layers if len(layer[1])]
    for i, t0 in enumerate(first):
        best = 0.0 if not placed else np.inf
        for path in itertools.product(*(range(len(t)) for _, t, _ in placed)):
            cost, previous, at_window = 0.0, t0, 0
            for (j, t, w), p in zip(placed, path, strict=True):
                cost += w[p] * abs(t[p] - previous - (j - at_window) * target)
                previous, at_window = t[p], j
            best = min(best, cost)
        assert got[i] == pytest.approx(best)


def test_rollout_is_wired_into_make_policy_the_cli_and_batch():
    policy = make_policy("rollout", 6, 13, 0.25)
    assert isinstance(policy, Rollout)
    assert (policy.horizon_weeks, policy.sample_weeks, policy.future_weight) == (6, 13, 0.25)
    assert make_policy("rollout").horizon_weeks == 4
    with pytest.raises(OptionError, match="not greedy's"):
        make_policy("greedy", horizon_weeks=4)
    with pytest.raises(OptionError, match="horizon_weeks 0"):
        make_policy("rollout", horizon_weeks=0)
    batch = Scenario("s", {"kind": "replay", "sources": ["x"], "policy": "rollout", "horizon_weeks": 8})
    assert isinstance(batch.policy(), Rollout) and batch.policy().horizon_weeks == 8


def test_rollout_replay_of_real_cycle2_checks_and_beats_greedy():
    """The shipped Cycle 2 JSON history through the CLI: every placed anneal passes the checker
    (the replay fails otherwise) and rollout's Σ|gap − 7 d| is below greedy's."""
    result = CliRunner().invoke(app, ["replay", "data/raw/dja-json", "--policy", "rollout", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    # 50 of 53 since the slew-time rule: the weeks of Jul 24, Aug 14 and Sep 25 have no slew of
    # 27.5 min the other rules allow, so every policy misses them (tests/online/test_replay.py).
    assert summary["policy"] == "rollout" and summary["result"]["placed"] == 50
    assert summary["result"]["missed"] == 3 and summary["result"]["missed_with_slews"] == []
    assert summary["result"]["sum_abs_deviation_s"] < summary["greedy"]["sum_abs_deviation_s"]
    assert summary["result"]["sum_abs_deviation_s"] >= summary["hindsight"]["sum_abs_deviation_s"]


def test_why_names_both_slews_deviation_and_expected_cost_after():
    """Week 2's decision of the first test, as the replay hands it to rollout: one unpublished
    window left, the six published weeks as samples. Rollout takes 48 h (8 h off previous + 7 d)
    over the nearest, 36 h (4 h off), because the weeks after cost 0.67 h from it against 5.5 h
    (the docstring above works both out): 9.5 − 8.67 = 0.83 h less in all. Greedy's own choice,
    and any policy that learns nothing, have nothing to explain."""
    start = START + WEEK
    week2 = Decision(
        times=np.array([start + 36 * HOUR, start + 48 * HOUR]),
        window_start=start,
        window_seconds=4 * DAY,
        target=WEEK,
        previous=Neighbour(START + 40 * HOUR, 1),
        remaining=1,
        samples=[np.array([48 * HOUR])] * 4 + [np.array([40 * HOUR]), np.array([36, 48]) * HOUR],
    )
    rollout = Rollout()
    assert rollout.choose(week2) == 1
    assert why(rollout, week2, 1) == (
        "8.0 h off previous + 7 d rather than the nearest slew's 4.0 h: rollout expects the weeks "
        "after to cost 0.7 h from it against 5.5 h (unpublished weeks weighted 0.5), 0.8 h less in all"
    )
    assert why(rollout, week2, 0) is None and why(Greedy(), week2, 1) is None


def test_a_gain_that_rounds_to_nothing_in_hours_is_said_in_minutes():
    from planner.online.policies import _hours

    assert _hours(0.83) == "0.8 h" and _hours(0.02) == "1 min" and _hours(0.001) == "under a minute"


def phase_history():
    """The issue history of the phase test above (and of tests/online/test_guarded.py): four
    earlier weeks with a slew at 48 h, then weeks 1-3 published one report each, with slews at
    40 h; 36 h and 48 h; 48 h (and a Saturday visit outside every window)."""
    return History(phase_reports(), []), Calendar(start=START, count=3)


def phase_reports() -> list[Report]:
    """The reports of `phase_history`, in issue order: `before` (the four earlier weeks), weeks 1-3."""
    first = visit(at(-3, 0), "MIRI Imaging", visit_id="0:1:1")
    earlier = [visit(at(w, 48), visit_id=f"0:{w + 5}:1") for w in (-3, -2, -1, 0)]
    before = report("before", -30, first, *earlier, visit(-1.5))
    week1 = report("week1", -2, lead(1), visit(at(1, 40), visit_id="1:1:1"), visit(at(1, 132)))
    week2 = report(
        "week2",
        5,
        lead(2),
        visit(at(2, 36), visit_id="2:1:1"),
        visit(at(2, 48), visit_id="2:2:1"),
        visit(at(2, 132)),
    )
    week3 = report("week3", 12, lead(3), visit(at(3, 48), visit_id="3:1:1"), visit(at(3, 132)))
    return [before, week1, week2, week3]
