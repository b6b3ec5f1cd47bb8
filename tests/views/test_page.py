"""The report page's content (its behaviour in a browser is tests/views/test_page_browser.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from planner.plans.result import open_plan
from planner.problem.calendar import Calendar
from planner.problem.pins import Pin
from planner.schedules.report import Attached
from planner.schedules.timeline import load_timeline, write_timeline
from planner.views.page import render, replay_section
from tests.helpers import START, solve, timeline, visit

HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.fixture
def small_plan(tmp_path):
    """Three weeks; week 2 has two slews, one into a MIRI visit (excluded by to-miri) and one whose
    target is markup; anneal 1 is pinned; an anneal flew in week 1."""
    flown = [Attached("PARALLEL SLEW CALIBRATION", "MIRI Anneal", "1520:54:1")]
    frame = timeline(
        visit(0.5, parallels=flown, visit_id="1:1:1"),
        visit(7.2, "MIRI Imaging"),
        visit(7.5, visit_id="2:2:2"),
        visit(14.1),
    )
    frame.loc[frame["visit_id"] == "2:2:2", "target"] = HOSTILE
    path = tmp_path / "t.parquet"
    write_timeline(frame, path)
    options = dict(pins=(Pin(1, "1:1:1"),))
    solve(load_timeline(path), Calendar(start=START, count=3), **options).to_parquet(
        tmp_path / "plan.parquet"
    )
    return open_plan(tmp_path / "plan.parquet")


def test_page_content(small_plan):
    page = render(small_plan, "Plan <b>")
    assert HOSTILE not in page and "Plan &lt;b&gt;" in page  # inputs never become markup
    assert '<tr class="pinned">' in page  # anneal 1 is marked as pinned
    assert "excluded: to-miri (1)" in page  # the slew into the MIRI visit, under its rule
    assert "<td>2023-07-03 12:00</td>" in page  # the anneal flown in week 1, beside the plan
    assert "rule set" in page and "operations" in page and "timeline sha256" in page
    assert "Σ |interval - m·7 d|" in page and "<td>3</td>" in page  # counts as integers
    assert page.count('id="slew-time"') == 1  # the slew-time histogram of the calendar's weeks


def _replay_frame(plan: pd.DataFrame) -> pd.DataFrame:
    """The shape `replay` writes: the plan file's columns plus decided_at, replans and state."""
    frame = plan.copy()
    frame["decided_at"] = frame["window_start"] - pd.Timedelta(days=3)
    frame["replans"] = pd.array([0, 2, 1], dtype="Int64")
    frame["state"] = ["flown", "flown", "planned"]
    return frame


def test_replay_section(small_plan):
    frame = _replay_frame(small_plan.plan)
    section = replay_section(frame, {"weeks": 3, "replans_total": 3})
    assert 'id="replay"' in section and "Replay: each week" in section
    # anneal 2: decided 3 days before its window opened, slew 0.5 d into it: 3.500 d ahead
    assert (
        "<td>2023-07-07 00:00:00</td>" in section
        and '<td class="n" data-sort="3.500000">3.50 d</td>' in section
    )
    assert "replans total" in section
    page = render(small_plan, "replay", replay=(frame, {"weeks": 3}))
    assert page.count('id="replay"') == 1
    with pytest.raises(ValueError, match="decided_at"):
        replay_section(frame.drop(columns="decided_at"), {})
    # decided_at may name the report whose application decided the anneal instead of a time
    named = frame.assign(decided_at=["20230703_report_20230629.json", "f.txt#2318501f01", "<b>r3</b>"])
    section = replay_section(named, {})
    assert "decided at (report)" in section and "<b>r3" not in section
    # the issue date a name carries: 2023-06-29 from the file name, day 185 of 2023 from the package
    assert "20230703_report_20230629.json (issued 2023-06-29)" in section
    assert "f.txt#2318501f01 (issued 2023-07-04)" in section


def test_report_cli_writes_the_page_and_refuses_a_negative_band(small_plan, tmp_path):
    from typer.testing import CliRunner

    from planner.cli import app

    runner = CliRunner()
    plan = str(tmp_path / "plan.parquet")
    page = tmp_path / "page.html"
    bad = runner.invoke(app, ["report", plan, "--out", str(page), "--tolerance-hours", "-1"])
    assert bad.exit_code == 2 and "--tolerance-hours" in bad.stderr and not page.exists()
    good = runner.invoke(app, ["report", plan, "--out", str(page), "--tolerance-hours", "6"])
    assert good.exit_code == 0 and "Band in the lower panel: ±6 h" in page.read_text()


def test_slew_time_histogram():
    """One trace per slew-parallel mode flown plus all slews, in percent, a line at 27.5 min, and
    the table beside it; names from the timeline are escaped."""
    import json
    import re

    from planner.views.page import slew_time_section

    anneal = [Attached("PARALLEL SLEW CALIBRATION", "MIRI Anneal", "1520:54:1")]
    odd = [Attached("PARALLEL SLEW CALIBRATION", HOSTILE, "1:2:3")]
    visits = [visit(0.0), visit(0.1, parallels=anneal), visit(0.2, parallels=odd), visit(8.0)]
    # one-hour visits: slews of 84 and 84 minutes, then one of over 7 days; no lead visit, so that
    # the first visit's slew is unknown (tests.helpers.timeline)
    frame = timeline(*visits, lead=False)
    section = slew_time_section(frame, Calendar(start=START, count=1))
    assert 'id="slew-time"' in section and HOSTILE not in section
    plot = re.search(r'Plotly\.newPlot\(\s*"slew-time",\s*(\[.*?\]),\s*\{', section, re.S)
    data = json.loads(plot.group(1))
    names = [trace["name"] for trace in data]
    assert names[0] == "MIRI Anneal (1)" and names[-1] == "all slews into targeted visits (3)"
    assert all(trace["histnorm"] == "percent" for trace in data)
    assert data[0]["x"] == [84.0] and data[-1]["x"] == [84.0, 84.0]  # the first visit's slew is unknown
    assert "MIRI anneal minimum 27.5 min" in section and '"x0":27.5' in section
    # the table: the anneal's row, and the unknown slew counted for all slews
    assert "<td>MIRI Anneal</td>" in section and '<td class="n" data-sort="84.000000">84.0</td>' in section
    assert '<td class="n" data-sort="1">1</td>' in section
    # the week after the calendar's window is left out; no slew at all: no section
    assert slew_time_section(frame, Calendar(start=START + 30 * 86400, count=1)) == ""
