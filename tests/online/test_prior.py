"""The prior: weeks of an earlier timeline that an online policy learns from (planner/prior.py).

Hand-made visits sit at known days after Monday 2023-07-03 (tests/helpers.py); windows are
[Monday, Friday) of each week, so day 7 + 1.5 is 1.5 days into the second week's window.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from typer.testing import CliRunner

from planner.cli import app
from planner.online.outcome import run_replay
from planner.online.policies import Rollout
from planner.online.prior import NO_PRIOR, load_prior, prior_from
from planner.problem.calendar import DAY, Calendar
from planner.problem.rules import load_rules
from planner.schedules.history import History
from planner.schedules.timeline import write_timeline
from tests.helpers import START, timeline, visit

runner = CliRunner()
CALENDAR = Calendar(start=START + 3 * 7 * DAY, count=2)  # anneal 1 in the fourth hand-made week
JSON = Path("data/raw/dja-json")


def test_prior_weeks_are_the_wholly_covered_weeks_of_the_calendars_grid_with_eligible_phases():
    """Visits from day 0 to day 15.2 cover the windows of the first two weeks (days 0-4, 7-11), not
    the third's (14-18: the last start is day 15.2). The MIRI visit and the slew into a time
    series are not eligible, so the first week keeps the slews at 0, 0.5 and 2 days and the second
    the one at 8.25 days (1.25 into its window). Started half a day later, the timeline no longer
    covers the first window."""
    frame = timeline(
        visit(0.0),
        visit(0.5),
        visit(1.0, "MIRI Imaging"),
        visit(2.0),
        visit(3.0, "NIRCam Time Series"),
        visit(8.25),
        visit(12.0),  # after week 2's window
        visit(15.2),
    )
    prior = prior_from(frame, load_rules(), "hand-made")
    every = START + 30 * DAY
    assert [list(p) for p in prior.weeks(CALENDAR, every, 9)] == [[0, DAY // 2, 2 * DAY], [DAY + DAY // 4]]
    assert [list(p) for p in prior.weeks(CALENDAR, every, 1)] == [[DAY + DAY // 4]]  # the last `most`
    later = prior_from(frame.iloc[2:], load_rules(), "hand-made")  # row 0: the helpers' lead visit
    assert [list(p) for p in later.weeks(CALENDAR, every, 9)] == [[DAY + DAY // 4]]
    # only the weeks whose window has ended by the cut
    assert prior.count(CALENDAR, START + 11 * DAY - 1) == 1 and prior.count(CALENDAR, START + 11 * DAY) == 2
    assert prior_from(frame.iloc[:0], load_rules(), "empty").weeks(CALENDAR, every, 9) == []
    assert NO_PRIOR.count(CALENDAR, every) == 0


def test_a_prior_says_how_many_weeks_before_the_schedule_it_ends():
    """Visits on days 0.5-15.2 cover the windows of the first two hand-made weeks (the second ends
    on day 11). Cut on day 14 (a contiguous prior), no whole week lies between: the sentence says
    nothing of it. Cut on day 14 + 5 weeks, five whole weeks do, and the sentence says so and
    points to --prior; a policy that learns nothing is told no prior at all."""
    from planner.online.prior import sentence

    frame = timeline(visit(0.5), visit(2.0), visit(8.25), visit(15.2))
    prior = prior_from(frame, load_rules(), "hand-made")
    near, far = prior.describe(CALENDAR, START + 14 * DAY, 26), prior.describe(CALENDAR, START + 49 * DAY, 26)
    assert near["weeks_before"] == 0 and far["weeks_before"] == 5 and near["weeks"] == far["weeks"] == 2
    assert "before it" not in (sentence("guarded", near) or "")
    said = sentence("guarded", far) or ""
    assert "the last of them ends 5 weeks before it (--prior: a later timeline)" in said
    assert prior.describe(CALENDAR, START + 49 * DAY, None)["weeks_before"] is None


def test_prior_weeks_keep_to_a_calendar_that_is_not_weekly_or_monday_aligned():
    """A calendar from Wednesday noon with a 6.5-day target and a 2-day window: its grid's windows
    are [day 2.5 + 6.5 j, + 2). A timeline with a slew every 6 h from day 0 to day 16 wholly covers
    j = 0 and 1 ([2.5, 4.5) and [9, 11), 8 slews each at 0, 6, ..., 42 h into the window); j = -1
    ([-4, -2)) starts before it and j = 2 ([15.5, 17.5)) ends after it."""
    calendar = Calendar(start=START + 2 * DAY + DAY // 2, count=2, window_days=2, target_days=6.5)
    frame = timeline(*(visit(day / 4) for day in range(0, 65)))  # a slew every 6 h, days 0-16
    prior = prior_from(frame, load_rules(), "grid")
    weeks = prior.weeks(calendar, START + 20 * DAY, 9)
    assert [list(p // (DAY // 4)) for p in weeks] == [list(range(8))] * 2


def _replay(prior):
    history = History.read([JSON])
    calendar = Calendar.from_options("2023-07-03", 53, 4.0, 7.0)
    return run_replay(history, calendar, Rollout(), load_rules(), compare=False, prior=prior)


def test_a_prior_covering_the_replayed_schedule_itself_teaches_nothing_of_its_future(tmp_path):
    """The Cycle 2 reports' own final schedule as the prior: every one of its weeks ends after the
    replay's first scheduled start, so none is learned, and the replay is the one without a prior
    (a prior never leaks the replayed schedule's future into a decision)."""
    own = History.read([JSON]).final()
    calendar = Calendar.from_options("2023-07-03", 53, 4.0, 7.0)
    prior = prior_from(own, load_rules(), "own")
    assert prior.count(calendar, START + 400 * DAY) >= 50  # it has the weeks, and...
    with_own, without = _replay(prior), _replay(NO_PRIOR)
    assert with_own.summary["prior"]["weeks"] == 0  # ...none ends before the replay begins
    pd.testing.assert_frame_equal(with_own.frame, without.frame)


def test_the_shipped_prior_gives_a_cycle2_replay_the_cycle1_weeks_and_changes_its_plan():
    """The shipped timeline reaches back to July 2022. The Cycle 2 JSON replay's first report was
    issued on 2023-06-29, before its first scheduled start (07-03): the prior's weeks must end by
    then, so the window of 06-26 (ending 06-30) is not one, and the replay learns from the 50
    windows from 2022-07-11 to 2023-06-19, which changes some of its decisions."""
    calendar = Calendar.from_options("2023-07-03", 53, 4.0, 7.0)
    shipped = load_prior(None, load_rules())
    first = History.read([JSON]).issues[0]
    assert first.issued == START - 4 * DAY and first.first > START
    assert shipped.count(calendar, first.issued) == 50 and shipped.count(calendar, first.first) == 51
    run, alone = _replay(shipped), _replay(NO_PRIOR)
    assert run.summary["prior"]["source"] == "shipped timeline" and run.summary["prior"]["weeks"] == 50
    assert run.summary["prior"]["sample_weeks"] == 26 and len(run.summary["prior"]["sha256"]) == 64
    # 50 of 53 since the slew-time rule: the weeks of Jul 24, Aug 14 and Sep 25 have no slew of
    # 27.5 min the other rules allow, so no prior can place them (tests/online/test_replay.py).
    assert run.summary["result"]["vanished"] == [] and run.summary["result"]["placed"] == 50
    assert run.summary["result"]["missed"] == 3 and run.summary["result"]["missed_with_slews"] == []
    assert not np.array_equal(run.frame["visit_id"].to_numpy(), alone.frame["visit_id"].to_numpy())


def test_replay_cli_prior_options(tmp_path):
    args = ["replay", str(JSON), "--count", "3", "--json"]
    default = json.loads(runner.invoke(app, args).stdout)["prior"]
    assert (default["source"], default["weeks"], default["sample_weeks"]) == ("shipped timeline", 50, 26)
    none = json.loads(runner.invoke(app, [*args, "--no-prior"]).stdout)["prior"]
    assert (none["source"], none["weeks"], none["sha256"]) == ("none", 0, None)
    # greedy learns nothing: no prior is read, and one given is refused like its other options
    greedy = json.loads(runner.invoke(app, [*args, "--policy", "greedy"]).stdout)["prior"]
    assert (greedy["source"], greedy["sample_weeks"]) == ("none", None)
    # a prior given as a timeline file, relative: named by its absolute path, with its sha256
    text = tmp_path / "text.parquet"
    write_timeline(History.read(["data/raw/stsci-text"]).final(), text)
    given = json.loads(runner.invoke(app, [*args, "--prior", str(text), "--sample-weeks", "8"]).stdout)
    assert given["prior"]["source"] == str(text.resolve()) and given["prior"]["weeks"] == 50
    assert given["prior"]["sample_weeks"] == 8 and len(given["prior"]["sha256"]) == 64
    printed = runner.invoke(app, ["replay", str(JSON), "--count", "3", "--prior", str(text)]).stdout
    assert "last 26 weeks known at each decision, at first the last 26 of the 50 weeks of" in printed
    for bad, message in (
        (["--no-prior", "--prior", str(text)], "--prior and --no-prior"),
        (["--prior", str(text), "--policy", "greedy"], "not greedy's"),
        (["--prior", ""], "--prior '': expected a timeline"),
        (["--prior", str(tmp_path / "nope.parquet")], "nope.parquet: no such file; --prior takes"),
    ):
        refused = runner.invoke(app, [*args, *bad])
        assert refused.exit_code == 2 and message in refused.stderr, (bad, refused.output)
        assert len(refused.stderr.strip().splitlines()) == 1


def test_next_says_what_it_learned_from(tmp_path):
    """The weekly job on the first two weeks of Cycle 2 as published: its plan's metadata and its
    JSON name the prior; greedy's name none."""
    reports = sorted(JSON.glob("cycle2/2023070*.json")) + sorted(JSON.glob("cycle2/2023071*.json"))
    week = tmp_path / "week.parquet"
    write_timeline(History.read(reports).final(), week)
    out = tmp_path / "next.parquet"
    args = ["next", "--flown", str(week), "--timeline", str(week), "--count", "4", "--out", str(out)]
    shown = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert shown["policy"] == "guarded" and shown["prior"]["weeks"] == 51  # cut at its first start
    meta = json.loads(pq.read_schema(out).metadata[b"anneal_planner"])
    assert meta["online"]["prior"] == shown["prior"]
    printed = runner.invoke(app, args).stdout
    assert "at first the last 26 of the 51 weeks of the shipped timeline" in printed
    greedy = json.loads(runner.invoke(app, [*args, "--json", "--policy", "greedy"]).stdout)
    assert greedy["prior"]["source"] == "none"


def test_batch_replay_scenarios_take_a_prior_or_none(tmp_path):
    text = tmp_path / "text.parquet"
    write_timeline(History.read(["data/raw/stsci-text"]).final(), text)
    scenarios = tmp_path / "s.toml"
    scenarios.write_text(
        f'[base]\nkind = "replay"\ncount = 8\nsources = ["{JSON.resolve()}"]\n'
        '[[scenarios]]\nprior = false\n[[scenarios]]\nprior = "text.parquet"\n[[scenarios]]\n'
        '[[scenarios]]\nprior = "text.parquet"\npolicy = "greedy"\n'
    )
    result = runner.invoke(
        app, ["batch", str(scenarios), "--out", str(tmp_path / "o"), "--quiet", "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    summary = pd.read_parquet(tmp_path / "o" / "summary.parquet")
    assert (summary["state"] == "solved").all() and len(summary) == 4
    # greedy learns nothing: a grid may give its scenarios a prior, which they record as none
    assert sorted(summary["prior"]) == sorted(["none", "none", str(text), "shipped timeline"])
    assert summary.loc[summary["policy"] == "greedy", "prior"].tolist() == ["none"]
    learned = {}
    for scenario, prior in zip(summary["scenario"], summary["prior"], strict=True):
        folder = tmp_path / "o" / "plans" / scenario / "replay.parquet"
        learned[prior] = json.loads(pq.read_schema(folder).metadata[b"anneal_planner"])["summary"]["prior"]
    assert learned["none"]["weeks"] == 0
    assert learned[str(text)]["weeks"] == learned["shipped timeline"]["weeks"] == 50
    assert learned[str(text)]["source"] == str(text) and learned[str(text)]["sha256"]
    for bad, message in (
        ("prior = 3", "expected str or bool"),
        ('prior = "gone.parquet"', "gone.parquet"),
        ('prior = ""', "prior = '': expected"),
    ):
        scenarios.write_text(
            f'[base]\nkind = "replay"\nsources = ["{JSON.resolve()}"]\n[[scenarios]]\n{bad}\n'
        )
        refused = runner.invoke(app, ["batch", str(scenarios), "--out", str(tmp_path / "o2")])
        assert refused.exit_code == 2 and message in refused.output, refused.output
    scenarios.write_text("[[scenarios]]\nprior = false\n")
    refused = runner.invoke(app, ["batch", str(scenarios), "--out", str(tmp_path / "o3")])
    assert refused.exit_code == 2 and "belong to kind = 'replay'" in refused.output


def test_next_says_why_it_left_the_nearest_slew(tmp_path):
    """Anneals 1-5 of the shipped Cycle 2 plan as flown, then the weekly job over windows 6-20 on
    the whole shipped timeline: the default policy (guarded) leaves the slew nearest previous + 7 d
    in some week; each such week says so, in the terminal, the JSON and the plan's metadata alike,
    and only planned weeks do."""
    flown = tmp_path / "p5.parquet"
    assert runner.invoke(app, ["solve", "--count", "5", "--out", str(flown), "--quiet"]).exit_code == 0
    out = tmp_path / "n.parquet"
    args = ["next", "--flown", str(flown), "--count", "20", "--out", str(out)]
    shown = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert shown["why"] and set(shown["why"]) <= {str(k) for k in range(6, 21)}
    assert all("rather than the nearest slew's" in text for text in shown["why"].values())
    meta = json.loads(pq.read_schema(out).metadata[b"anneal_planner"])
    assert meta["online"]["why"] == shown["why"]
    printed = runner.invoke(app, args).stdout
    assert all(
        f"Anneal {int(k):02d}: {text}" in printed.replace("\n", " ") for k, text in shown["why"].items()
    )
    greedy = json.loads(runner.invoke(app, [*args, "--json", "--policy", "greedy"]).stdout)
    assert greedy["why"] == {}
