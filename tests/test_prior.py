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
from helpers import START, timeline, visit
from typer.testing import CliRunner

from planner.calendar import DAY, Calendar
from planner.cli import app
from planner.history import History
from planner.policies import Rollout
from planner.prior import NO_PRIOR, load_prior, prior_weeks
from planner.replay_outcome import run_replay
from planner.rules import load_rules
from planner.timeline import write_timeline

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
    prior = prior_weeks(frame, CALENDAR, load_rules(), "hand-made")
    assert [list(p) for p in prior.phases] == [[0, DAY // 2, 2 * DAY], [DAY + DAY // 4]]
    assert list(prior.ends) == [START + 4 * DAY, START + 11 * DAY]
    later = prior_weeks(frame.iloc[1:], CALENDAR, load_rules(), "hand-made")
    assert [list(p) for p in later.phases] == [[DAY + DAY // 4]]
    # before(): only the weeks whose window has ended by then
    assert len(prior.before(START + 11 * DAY - 1)) == 1 and len(prior.before(START + 11 * DAY)) == 2
    assert prior_weeks(frame.iloc[:0], CALENDAR, load_rules(), "empty").phases == ()


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
    prior = prior_weeks(own, calendar, load_rules(), "own")
    assert len(prior.phases) >= 50  # it has the weeks, and...
    with_own, without = _replay(prior), _replay(NO_PRIOR)
    assert with_own.summary["prior"]["weeks"] == 0  # ...none ends before the replay begins
    pd.testing.assert_frame_equal(with_own.frame, without.frame)


def test_the_shipped_prior_gives_a_cycle2_replay_the_cycle1_weeks_and_changes_its_plan():
    """The shipped timeline reaches back to July 2022: the Cycle 2 JSON replay (from 2023-07-03)
    learns from the 51 weeks before it on the calendar's grid, which changes some decisions."""
    calendar = Calendar.from_options("2023-07-03", 53, 4.0, 7.0)
    shipped = load_prior(None, calendar, load_rules())
    first = History.read([JSON]).issues[0].first
    learned = len(shipped.before(first))
    assert learned == 51 and first - 7 * DAY < shipped.ends[learned - 1] <= first  # up to the week before
    run, alone = _replay(shipped), _replay(NO_PRIOR)
    assert run.summary["prior"] == {"source": "shipped timeline", "weeks": 51}
    assert run.summary["result"]["vanished"] == [] and run.summary["result"]["placed"] == 53
    assert not np.array_equal(run.frame["visit_id"].to_numpy(), alone.frame["visit_id"].to_numpy())


def test_replay_cli_prior_options(tmp_path):
    args = ["replay", str(JSON), "--count", "3", "--json"]
    default = runner.invoke(app, args)
    assert default.exit_code == 0, default.output
    assert json.loads(default.stdout)["prior"] == {"source": "shipped timeline", "weeks": 51}
    none = runner.invoke(app, [*args, "--no-prior"])
    assert json.loads(none.stdout)["prior"] == {"source": "none", "weeks": 0}
    # a prior given as a timeline file: the text reports' weeks before Cycle 2 (from July 2022)
    text = tmp_path / "text.parquet"
    write_timeline(History.read(["data/raw/stsci-text"]).final(), text)
    given = runner.invoke(app, [*args, "--prior", str(text)])
    assert json.loads(given.stdout)["prior"]["weeks"] == 51
    both = runner.invoke(app, [*args, "--no-prior", "--prior", str(text)])
    assert both.exit_code == 2 and "--prior and --no-prior" in both.stderr
    missing = runner.invoke(app, [*args, "--prior", str(tmp_path / "nope.parquet")])
    assert missing.exit_code == 2 and "nope.parquet" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_batch_replay_scenarios_take_a_prior_or_none(tmp_path):
    text = tmp_path / "text.parquet"
    write_timeline(History.read(["data/raw/stsci-text"]).final(), text)
    scenarios = tmp_path / "s.toml"
    scenarios.write_text(
        f'[base]\nkind = "replay"\ncount = 8\nsources = ["{JSON.resolve()}"]\n'
        '[[scenarios]]\nprior = false\n[[scenarios]]\nprior = "text.parquet"\n[[scenarios]]\n'
    )
    result = runner.invoke(
        app, ["batch", str(scenarios), "--out", str(tmp_path / "o"), "--quiet", "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    summary = pd.read_parquet(tmp_path / "o" / "summary.parquet")
    assert (summary["state"] == "solved").all() and len(summary) == 3
    assert sorted(summary["prior"]) == sorted(["none", str(text), "shipped timeline"])
    learned = {}
    for scenario, prior in zip(summary["scenario"], summary["prior"], strict=True):
        folder = tmp_path / "o" / "plans" / scenario / "replay.parquet"
        learned[prior] = json.loads(pq.read_schema(folder).metadata[b"anneal_planner"])["summary"]["prior"]
    assert learned["none"]["weeks"] == 0
    assert learned[str(text)]["weeks"] == learned["shipped timeline"]["weeks"] == 51
    for bad, message in (("prior = 3", "expected str or bool"), ('prior = "gone.parquet"', "gone.parquet")):
        scenarios.write_text(
            f'[base]\nkind = "replay"\nsources = ["{JSON.resolve()}"]\n[[scenarios]]\n{bad}\n'
        )
        refused = runner.invoke(app, ["batch", str(scenarios), "--out", str(tmp_path / "o2")])
        assert refused.exit_code == 2 and message in refused.output, refused.output
    scenarios.write_text("[[scenarios]]\nprior = false\n")
    refused = runner.invoke(app, ["batch", str(scenarios), "--out", str(tmp_path / "o3")])
    assert refused.exit_code == 2 and "belong to kind = 'replay'" in refused.output
