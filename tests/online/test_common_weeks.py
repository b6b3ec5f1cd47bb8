"""The replay's comparison with the anneals actually flown on the weeks both hold an anneal."""

import pandas as pd
import pytest

from planner.errors import InternalError
from planner.online.outcome import on_common_weeks
from planner.plans.compare import flown_in_calendar
from planner.problem.calendar import DAY, Calendar
from planner.schedules.report import Attached
from tests.helpers import START, timeline, visit

ANNEAL = [Attached("PARALLEL SLEW CALIBRATION", "MIRI Anneal", "1520:1:1")]


def _plan(*placed: tuple[int, float | None]) -> pd.DataFrame:
    """A plan's anneal and slew_time columns: (anneal number, day after START or None: missed)."""
    return pd.DataFrame(
        {
            "anneal": [k for k, _ in placed],
            "slew_time": pd.to_datetime(
                [None if day is None else (START + round(day * DAY)) * 10**9 for _, day in placed], utc=True
            ),
        }
    )


def test_only_the_weeks_where_the_flown_and_every_plan_hold_an_anneal_are_measured():
    """Flown anneals in weeks 1, 2 and 4 (days 0, 8, 21); the plan holds weeks 1, 2, 3 and 4 (days
    1, 8, 15, 22); greedy misses week 2. The common weeks of all three are 1 and 4: one interval of
    3 weeks each, flown 21 d (on target), the plan 21 d, greedy (days 0 and 23) 2 d off."""
    days = [0, 8, 21]
    final = timeline(*(visit(day, parallels=ANNEAL, visit_id=f"1:{day}:1") for day in days))
    calendar = Calendar.from_options("2023-07-03", 4, 4.0, 7.0)
    plan = _plan((1, 1), (2, 8), (3, 15), (4, 22))
    greedy = _plan((1, 0), (2, None), (3, 15), (4, 23))
    measured = on_common_weeks(
        {"result": plan, "greedy": greedy}, flown_in_calendar(final, calendar)[1], calendar
    )
    assert measured == {"weeks": 2, "flown_s": 0, "plans_s": {"result": 0, "greedy": 2 * DAY}}
    alone = on_common_weeks({"result": plan}, flown_in_calendar(final, calendar)[1], calendar)
    # weeks 1, 2 and 4: flown 8 d (1 off) and 13 d (1 off); the plan 7 d and 14 d: on target
    assert alone == {"weeks": 3, "flown_s": 2 * DAY, "plans_s": {"result": 0}}
    # rows in any order give the same; a plan placing an anneal twice is a bug, said as one
    assert (
        on_common_weeks({"result": plan.iloc[::-1]}, flown_in_calendar(final, calendar)[1], calendar) == alone
    )
    with pytest.raises(InternalError):
        on_common_weeks({"result": pd.concat([plan, plan])}, flown_in_calendar(final, calendar)[1], calendar)


def test_nothing_in_common_measures_nothing():
    """A plan with no placed anneal, or no flown anneal at all: no common week, both sums 0."""
    final = timeline(visit(0.5, parallels=ANNEAL))
    calendar = Calendar.from_options("2023-07-03", 4, 4.0, 7.0)
    assert on_common_weeks(
        {"p": _plan((1, None), (2, None))}, flown_in_calendar(final, calendar)[1], calendar
    ) == {
        "weeks": 0,
        "flown_s": 0,
        "plans_s": {"p": 0},
    }
    bare = timeline(visit(0.5))
    assert on_common_weeks({"p": _plan((1, 1))}, flown_in_calendar(bare, calendar)[1], calendar)["weeks"] == 0
