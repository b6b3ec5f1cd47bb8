"""The `guarded` policy: what it decides on tiny hand-made histories of published weeks, and why.

Each history is the list of published weeks a decision sees (`Decision.samples`: each week's
eligible phases, hours into its 4-day window), the prior's weeks first. The decision is window 0
with the previous anneal at phase 40 h a week earlier, so previous + 7 d is phase 40 h; its
candidates are 36 h (greedy's: 4 h off) and 48 h (8 h off); one unpublished window is left, so each
published week (and its mirror image) is one scenario of what that window holds. Weeks of the
stable pattern have slews at 45, 48 and 51 h (their own mirror image): from 48 h the next interval
costs 0, from 36 h 9 h. Rollout weighting the scenarios w takes 48 h when 8 < 4 + 9·w, w > 4/9.
`guarded` (k = 6, greatest weight 1, prior weeks counting nothing) gives w = n / (n + 6) for n
trusted weeks of the cycle's own.
"""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import OptionError
from planner.online.policies import Decision, Greedy, Guarded, Neighbour, Rollout, disagree, make_policy

HOUR = 3600
DAY = 24 * HOUR
STABLE = np.array([45, 48, 51]) * HOUR
EARLY = np.array([10, 12, 14]) * HOUR


def decision(samples: list[np.ndarray], prior_weeks: int = 0) -> Decision:
    return Decision(
        times=np.array([36, 48]) * HOUR,
        window_start=0,
        window_seconds=4 * DAY,
        target=7 * DAY,
        previous=Neighbour(-7 * DAY + 40 * HOUR, 1),
        remaining=1,
        samples=samples,
        prior_weeks=prior_weeks,
    )


def guarded() -> Guarded:
    return Guarded(k=6, max_weight=1.0)


def test_thin_evidence_takes_greedys_slew_even_with_an_agreeing_prior():
    """Two weeks of the cycle's own, after 24 of the prior, all of the stable pattern. The prior
    counts nothing as evidence, so n = 2 and w = 2/8 = 0.25: 36 h costs 4 + 9·0.25 = 6.25 against
    48 h's 8, and guarded takes greedy's 36 h. The default rollout, trusting the 26 weeks at 0.5
    (4 + 4.5 = 8.5 against 8), takes 48 h. With no week of its own at all it is greedy exactly."""
    history = decision([STABLE] * 26, prior_weeks=24)
    trust = guarded().trust(history)
    assert trust.evidence == 2 and trust.weight == pytest.approx(0.25)
    assert guarded().choose(history) == Greedy().choose(history) == 0
    assert Rollout().choose(history) == 1
    assert guarded().trust(decision([STABLE] * 26, prior_weeks=26)).weight == 0


def test_a_stable_pattern_earns_the_informed_choice():
    """Twenty weeks of the cycle's own, all of the stable pattern: the last 4 agree with the 16
    before them, n = 20 and w = 20/26 = 0.77, so 36 h costs 4 + 6.9 = 10.9 against 48 h's 8:
    guarded leaves greedy's slew for 48 h, which the pattern keeps reaching."""
    history = decision([STABLE] * 20)
    trust = guarded().trust(history)
    assert trust.dropped == "" and trust.evidence == 20 and trust.weight == pytest.approx(20 / 26)
    assert guarded().choose(history) == 1


def test_a_pattern_that_shifts_mid_cycle_sends_it_back_towards_greedy():
    """The same last 4 weeks of the stable pattern, but the 16 before them had their slews early in
    the window (10-14 h): the recent weeks disagree with the older ones (the two-sample test), so
    the older weeks are dropped, n falls to 4 and w to 0.4: 36 h costs 4 + 3.6 = 7.6 against 8, and
    guarded goes back to greedy's 36 h until the new pattern has lasted."""
    history = decision([*[EARLY] * 16, *[STABLE] * 4])
    trust = guarded().trust(history)
    assert trust.dropped == "older" and trust.evidence == 4 and trust.weight == pytest.approx(0.4)
    assert guarded().choose(history) == 0
    longer = decision([*[EARLY] * 8, *[STABLE] * 12])  # the new pattern has held 12 weeks
    assert guarded().trust(longer).dropped == "older" and guarded().choose(longer) == 0
    settled = decision([STABLE] * 12)
    assert guarded().choose(settled) == 1


def test_a_prior_that_disagrees_with_the_recent_weeks_is_dropped():
    """Eight weeks of its own (stable pattern) after 18 of a prior whose slews were early: the prior
    is dropped from the scenarios. One that agrees shapes them (all 26 weeks) but adds nothing to
    the evidence, which stays the cycle's own 8 weeks."""
    history = decision([*[EARLY] * 18, *[STABLE] * 8], prior_weeks=18)
    trust = guarded().trust(history)
    assert trust.dropped == "prior" and trust.evidence == 8 and len(trust.weeks) == 8
    agreeing = guarded().trust(decision([*[STABLE] * 18, *[STABLE] * 8], prior_weeks=18))
    assert agreeing.dropped == "" and agreeing.evidence == 8 and len(agreeing.weeks) == 26


def test_disagree_is_a_two_sample_test_that_needs_enough_slews():
    assert disagree([EARLY] * 4, [STABLE] * 4)
    assert not disagree([STABLE] * 4, [STABLE] * 10)
    assert not disagree([EARLY], [STABLE])  # 3 slews each: too few to tell


def test_guarded_is_wired_into_make_policy_and_the_cli():
    policy = make_policy("guarded", future_weight=0.75)
    assert isinstance(policy, Guarded) and policy.max_weight == 0.75
    with pytest.raises(OptionError):
        Guarded(k=0)
    result = CliRunner().invoke(app, ["replay", "data/raw/dja-json", "--policy", "guarded", "--json"])
    assert result.exit_code == 0, result.output
    assert '"policy": "guarded"' in result.stdout


def test_on_a_tiny_issue_history_it_follows_the_pattern_once_the_cycle_has_shown_enough_of_it():
    """The history of tests/online/test_policies.py's first test, replayed: four weeks before the
    calendar with their only slew at phase 48 h, week 1's at 40 h, week 2's at 36 h and 48 h, week
    3's at 48 h. Deciding week 2, six of the cycle's own weeks are published and agree (too few
    slews for the phase test; as many a week), so n = 6. Rollout's scenarios there cost, unweighted,
    11 h after 36 h and 1.33 h after 48 h, so 48 h wins when 8 + 1.33·w < 4 + 11·w, w > 0.41.
    guarded's default (k = 2, weight 1) gives w = 6/8 = 0.75: 48 h, the hindsight optimum. With
    k = 12 (w = 6/18 = 0.33) the same six weeks are not enough evidence, and it keeps greedy's 36 h."""
    from planner.online.replay import replay
    from tests.online.test_policies import phase_history

    history, calendar = phase_history()
    chosen = [a.visit_id for a in replay(history, calendar, Guarded()).anneals]
    assert chosen == ["1:1:1", "2:2:1", "3:1:1"]
    cautious = [a.visit_id for a in replay(history, calendar, Guarded(k=12)).anneals]
    assert cautious == [a.visit_id for a in replay(history, calendar, Greedy()).anneals]
    assert cautious == ["1:1:1", "2:1:1", "3:1:1"]


def test_on_a_tiny_issue_history_the_same_weeks_as_another_cycles_prior_are_thin_evidence():
    """The same tiny history, but its four weeks at 48 h before the calendar come as the prior (the
    weeks of another timeline that ended before this one began) rather than as the cycle's own
    reports. Deciding week 2, the scenarios are the same six weeks, so the unweighted costs are
    still 11 h after 36 h and 1.33 h after 48 h (48 h wins when w > 0.41). With k = 6: as the
    cycle's own weeks, n = 6 and w = 6/12 = 0.5, so guarded takes 48 h, the informed choice; as
    the prior, they count nothing as evidence, n = 2 (weeks 1 and 2) and w = 2/8 =
    0.25, so it takes greedy's 36 h: another cycle's pattern is not trusted more than this cycle's
    own weeks justify. Rollout, which trusts any week at 0.5, takes 48 h either way."""
    from planner.online.prior import prior_from
    from planner.online.replay import replay
    from planner.problem.rules import load_rules
    from planner.schedules.history import History
    from tests.online.test_policies import phase_history, phase_reports

    history, calendar = phase_history()
    reports = phase_reports()
    before, own = History(reports[:1], []), History(reports[1:], [])
    prior = prior_from(before.final(), load_rules(), "before")

    def chosen(policy, on: History, given=None):
        kwargs = {} if given is None else {"prior": given}
        return [a.visit_id for a in replay(on, calendar, policy, **kwargs).anneals]

    assert chosen(Guarded(k=6), history) == ["1:1:1", "2:2:1", "3:1:1"]
    assert chosen(Guarded(k=6), own, prior) == ["1:1:1", "2:1:1", "3:1:1"] == chosen(Greedy(), own)
    assert chosen(Rollout(), own, prior) == ["1:1:1", "2:2:1", "3:1:1"]


def shifted_history(older_hours: list[float]):
    """The tiny history of the test above with eight earlier weeks instead of four: the older six
    (weeks -7 to -2) with slews at `older_hours`, the last two (weeks -1 and 0) at 48 h."""
    from planner.schedules.history import History
    from tests.helpers import visit
    from tests.online.test_policies import at, phase_history, phase_reports, report

    earlier = [
        visit(at(w, hours), visit_id=f"0:{w + 10}:{i}")
        for w in range(-7, -1)
        for i, hours in enumerate(older_hours, start=1)
    ]
    earlier += [visit(at(w, 48), visit_id=f"0:{w + 10}:1") for w in (-1, 0)]
    first = visit(at(-7, 0), "MIRI Imaging", visit_id="0:0:1")
    before = report("before", -58, first, *earlier, visit(-1.5))
    return History([before, *phase_reports()[1:]], []), phase_history()[1]


def test_on_a_tiny_issue_history_a_pattern_that_shifts_mid_cycle_sends_it_back_towards_greedy():
    """Eight weeks of the cycle's own before the calendar, then weeks 1-3 (40 h; 36 h and 48 h;
    48 h). Deciding week 2 (previous anneal at 40 h, candidates 36 h and 48 h), the recent 4 weeks
    (-1 and 0 at 48 h, 1 and 2) are tested against the older 6.

    If the older weeks were also at 48 h, they agree: n = 10 and with k = 6 w = 10/16 = 0.63; the
    20 scenarios (the 10 weeks and their mirrors) cost 11.4 h after 36 h and 0.8 h after 48 h, so
    48 h wins (w > 0.38): the informed choice. If the older weeks had their slews early in the
    window (10, 12 and 14 h), the pattern has shifted: they are dropped, n = 4, w = 0.4, and the 8
    scenarios of the recent weeks cost 10.5 h after 36 h and 2 h after 48 h, so 48 h would need
    w > 0.47: guarded goes back to greedy's 36 h until the new pattern has lasted. Back towards
    greedy, not necessarily all the way: with k = 2 the four recent weeks give w = 4/6 = 0.67,
    enough for 48 h."""
    from planner.online.replay import replay

    agreeing, calendar = shifted_history([48])
    shifted, _ = shifted_history([10, 12, 14])
    chosen = {
        name: [a.visit_id for a in replay(history, calendar, policy).anneals]
        for name, history, policy in (
            ("agreeing", agreeing, Guarded(k=6)),
            ("shifted", shifted, Guarded(k=6)),
            ("k = 2", shifted, Guarded(k=2)),
            ("greedy", shifted, Greedy()),
        )
    }
    assert chosen["agreeing"] == ["1:1:1", "2:2:1", "3:1:1"]
    assert chosen["shifted"] == chosen["greedy"] == ["1:1:1", "2:1:1", "3:1:1"]
    assert chosen["k = 2"] == ["1:1:1", "2:2:1", "3:1:1"]


def test_the_first_anneal_with_nothing_trusted_starts_mid_window_and_says_why():
    """The cycle's first window (no anneal before it), no week of its own published: greedy takes
    the earliest slew (5 h into the 96 h window), which puts every later target at the window's
    front edge, where any slew of the next week lies after it. `guarded` takes the slew nearest the
    middle (40 h, 8 h from 48 h; 90 h is 42 h away), and `why` says so; `first="earliest"` is greedy
    there. Once own weeks are trusted, the scenarios decide, not the middle."""
    from planner.online.policies import why

    first = Decision(times=np.array([5, 40, 90]) * HOUR, window_start=0, window_seconds=4 * DAY,
                     target=7 * DAY, remaining=10)  # fmt: skip
    assert Greedy().choose(first) == 0 and guarded().choose(first) == 1
    assert Guarded(first="earliest").choose(first) == 0
    reason = why(guarded(), first, 1)
    assert reason is not None and "40.0 h into the window rather than the earliest slew's 5.0 h" in reason
    assert "middle" in reason and why(guarded(), first, 0) is None
    with pytest.raises(OptionError, match="first 'last'"):
        Guarded(first="last")
    # six own weeks with slews at 4 h and 92 h only (their own mirror image): trusted, the
    # scenarios keep the earliest (1 h from 4 h next week; the middle is 36 h from either)
    learned = Decision(times=first.times, window_start=0, window_seconds=4 * DAY, target=7 * DAY,
                       remaining=10, samples=[np.array([4, 92]) * HOUR] * 6)  # fmt: skip
    assert guarded().choose(learned) == 0
    assert "expects the weeks after to cost" in (why(guarded(), learned, 1) or "")
