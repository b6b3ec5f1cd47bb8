"""Exclusion reasons: a slew failing several rules is counted under the first, in the documented
order (built-in rules, then the set's exclusions, then the MIRI recovery)."""

from __future__ import annotations

from planner.problem.calendar import DAY, Calendar
from planner.problem.eligibility import exclusion_reason, window_slews
from planner.problem.rules import load_rules
from planner.schedules.report import Attached
from tests.helpers import START, timeline, visit

BOTS = "NIRSpec Bright Object Time Series"
LAMP = Attached("PARALLEL SLEW CALIBRATION", "NIRSpec Internal Lamp", "1:1:1")
MINUTE = 60 / DAY


def test_the_first_rule_failed_is_the_reason():
    """Day 0.5: untargeted MIRI (no-slew before to-miri); day 1: MIRI carrying a lamp (to-miri before
    carries-slew-parallel); day 1.5: a time-series visit carrying a lamp (carries-slew-parallel
    before no-time-series); day 2: a time-series visit 10 min before MIRI use (no-time-series before
    miri-recovery); day 3: NIRCam 10 min before MIRI use (miri-recovery); day 4: eligible."""
    frame = timeline(
        visit(0.5, "MIRI Imaging", visit_type="PRIME UNTARGETED"),
        visit(1, "MIRI Imaging", parallels=[LAMP]),
        visit(1.5, BOTS, parallels=[LAMP]),
        visit(2, BOTS),
        visit(2 + 10 * MINUTE, "MIRI Coronagraphic Imaging"),
        visit(3),
        visit(3 + 10 * MINUTE, "MIRI Imaging"),
        visit(4),
    )
    assert exclusion_reason(frame, load_rules()).tolist() == [
        "no-slew",  # the lead visit (tests.helpers.timeline)
        "no-slew",
        "to-miri",
        "carries-slew-parallel",
        "no-time-series",
        "to-miri",
        "miri-recovery",
        "to-miri",
        "",
    ]
    # the seed's rules have neither the time-series exclusion nor a recovery
    assert exclusion_reason(frame, load_rules("seed")).tolist()[4:7] == ["", "to-miri", ""]


def test_window_counts_follow_the_reasons():
    frame = timeline(visit(0.5, "MIRI Imaging", visit_type="PRIME UNTARGETED"), visit(1, BOTS), visit(2))
    (window,) = window_slews(frame, Calendar(start=START, count=1), load_rules())
    assert window.excluded["no-slew"] == 1 and window.excluded["no-time-series"] == 1
    assert window.excluded["to-miri"] == 0 and len(window.rows) == 1


def test_only_the_calendar_span_is_judged_and_later_miri_use_still_counts():
    """The one-window calendar spans days 0-4. Day 1: a time-series mode written in other case with
    spaces (folded, still excluded); day 2: eligible; day 3.995: a slew 10 min before MIRI use that
    starts after the span ends (day 4.002), so the recovery still excludes it; day 6: a visit outside
    the span, in no window. The window's eligible slews are those the whole-timeline reasons give."""
    frame = timeline(
        visit(1, "  nirspec BRIGHT object time series "),
        visit(2),
        visit(3.995),
        visit(4.002, "MIRI Imaging"),
        visit(6),
    )
    rules = load_rules()
    (window,) = window_slews(frame, Calendar(start=START, count=1), rules)
    assert window.rows.tolist() == [2]  # row 0 is the lead visit (tests.helpers.timeline)
    assert window.excluded["no-time-series"] == 1 and window.excluded["miri-recovery"] == 1
    whole = exclusion_reason(frame, rules)
    assert whole.tolist()[1:4] == ["no-time-series", "", "miri-recovery"]
    assert exclusion_reason(frame, rules, slice(2, 4)).tolist() == whole.tolist()[2:4]
