"""Replays of tiny hand-made issue histories, the real Cycle 2 greedy replay against a plain
re-implementation, and the weekly `next` job.

Hand-made visits sit at known days after Monday 2023-07-03 (tests/helpers.py); windows are
[Monday, Friday) of each week. Reports are issued on the dates given, spans follow their visits.
Under the slew-time rule of `operations` the slew into a report's first visit is unknown (nothing
before it, or a hole of more than a day to another report's visit), so each report starts with an
untargeted `lead` visit a day before its first targeted one, as tests/helpers.timeline does.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.online.outcome import run_replay
from planner.online.policies import Decision, Greedy, Lookahead, Neighbour
from planner.online.replay import replay
from planner.problem.calendar import DAY, Calendar, format_instant, to_seconds
from planner.problem.eligibility import exclusion_reason
from planner.problem.rules import load_rules
from planner.schedules.history import History
from planner.schedules.report import Report, Visit
from planner.schedules.timeline import supersede, to_frame
from tests.helpers import START, visit

runner = CliRunner()
TWO = Calendar(start=START, count=2)


def report(name: str, issued_day: int, *visits) -> Report:
    """A report issued `issued_day` days after 2023-07-03 (00:00 UTC), holding `visits`."""
    date = format_instant(START + issued_day * DAY)[:10].replace("-", "")
    for v in visits:
        v.source = name
    return Report(source=name, issue_date=date, revision=0, visits=list(visits))


def lead(day: float) -> Visit:
    """An untargeted visit (no slew into it) at `day`: the report it opens then knows the slew into
    its next visit (a day later: 23 h, since visits last an hour)."""
    return visit(day, visit_type="PRIME UNTARGETED", visit_id=f"9998:{round(day * 1000)}:1")


def ids(outcome) -> list:
    return [a.visit_id for a in outcome.anneals]


def test_a_reissue_cancels_a_decided_slew_before_it_flies():
    """Report A (issued Jul 1) publishes slews on days 1, 2 and 8; its span contains week 1's end
    (day 4), so week 1 is decided there: greedy takes the earliest, day 1. Report B, issued on day
    0 (before day 1), spans days 0.2..8 and no longer has the day-1 visit: the anneal has not
    flown, so it is decided again among the window's eligible slews on or after day 0: day 2
    (the MIRI visit at day 0.2 is not eligible). Week 2's end (day 11) is in report C's span only;
    greedy takes the slew closest to day 2 + 7: day 9."""
    a = report(
        "A", -2, lead(0), visit(1, visit_id="1:1:1"), visit(2, visit_id="1:2:1"), visit(8, visit_id="1:8:1")
    )
    b = report("B", 0, visit(0.2, "MIRI Imaging"), visit(2, visit_id="1:2:1"), visit(8, visit_id="1:8:1"))
    c = report(
        "C", 7, lead(7), visit(8, visit_id="1:8:1"), visit(9, visit_id="1:9:1"), visit(12, visit_id="1:12:1")
    )
    outcome = replay(History([a, b, c], []), TWO, Greedy())
    assert ids(outcome) == ["1:2:1", "1:9:1"]  # 9 = day 2 + 7, the closest to it
    first = outcome.anneals[0]
    assert first.decided_at == "B" and first.replans == 1  # the report that decided it last
    assert outcome.events[1] == {"report": "B", "anneal": 1, "replanned": ("1:1:1", START + DAY)}
    assert outcome.anneals[1].decided_at == "C"


def test_a_reissue_after_the_slew_flew_changes_nothing_and_the_checker_names_it():
    """Same start, but B is issued on day 3: the day-1 anneal flew before B, so it stays, and
    against the final timeline (without that visit) it is reported as vanished, not as an error."""
    a = report(
        "A", -2, lead(0), visit(1, visit_id="1:1:1"), visit(2, visit_id="1:2:1"), visit(8, visit_id="1:8:1")
    )
    b = report("B", 3, visit(0.2, "MIRI Imaging"), visit(2, visit_id="1:2:1"), visit(8, visit_id="1:8:1"))
    c = report(
        "C", 7, lead(7), visit(8, visit_id="1:8:1"), visit(9, visit_id="1:9:1"), visit(12, visit_id="1:12:1")
    )
    run = run_replay(History([a, b, c], []), TWO, Greedy(), load_rules(), compare=False)
    assert ids(run.outcome) == ["1:1:1", "1:8:1"]  # 8 = day 1 + 7 exactly
    assert run.outcome.anneals[0].replans == 0
    assert run.summary["result"]["vanished"] == [1]


def test_a_week_published_late_is_decided_on_its_own_report():
    """The report of week 2 (issued day 5) comes before the report of week 1 (issued day 9, after
    week 1 ended). Week 1's end (day 4) lies only in the late report's span, so week 1 is decided
    there, on the slews it publishes; week 2, whose end (day 11) the early report contains, is
    decided first and without a previous anneal, so greedy takes its earliest slew (day 7.5)."""
    early = report(
        "week2",
        5,
        lead(6.5),
        visit(7.5, visit_id="2:1:1"),
        visit(8, visit_id="2:2:1"),
        visit(12, visit_id="2:3:1"),
    )
    late = report(
        "week1",
        9,
        lead(-0.5),
        visit(0.5, visit_id="1:1:1"),
        visit(1.5, visit_id="1:2:1"),
        visit(4.5, visit_id="1:3:1"),
    )
    outcome = replay(History([early, late], []), TWO, Greedy())
    assert [a.decided_at for a in outcome.anneals] == ["week1", "week2"]
    assert ids(outcome) == ["1:1:1", "2:1:1"]
    assert [e["anneal"] for e in outcome.events] == [2, 1]


def test_a_window_no_report_reaches_is_decided_after_the_last_and_is_unpublished():
    """Three windows, reports only up to day 11.5: window 3 (days 14..18) is decided after the
    last report, and with no schedule reaching it, it is unpublished, not missed; window 2 is
    decided on report B."""
    a = report("A", -2, lead(0), visit(1, visit_id="1:1:1"), visit(4.5, visit_id="1:4:1"))
    b = report("B", 5, lead(7), visit(8, visit_id="2:1:1"), visit(11.5, visit_id="2:2:1"))
    three = Calendar(start=START, count=3)
    run = run_replay(History([a, b], []), three, Greedy(), load_rules(), compare=False)
    assert [a.decided_at for a in run.outcome.anneals] == ["A", "B", "after the last report"]
    # Day 8 comes after the last report's issue date (day 5): planned, not yet flown.
    assert run.frame["state"].tolist() == ["flown", "planned", "unpublished"]
    assert (run.summary["result"]["missed"], run.summary["result"]["unpublished"]) == (0, 1)


def test_a_window_reached_without_an_eligible_slew_is_missed():
    """Report B reaches day 15 (window 3 runs from day 14) but only with a MIRI slew: missed."""
    a = report("A", -2, lead(0), visit(1, visit_id="1:1:1"), visit(4.5, visit_id="1:4:1"))
    b = report("B", 5, lead(7), visit(8, visit_id="2:1:1"), visit(15, "MIRI Imaging", visit_id="3:1:1"))
    run = run_replay(
        History([a, b], []), Calendar(start=START, count=3), Greedy(), load_rules(), compare=False
    )
    assert run.frame["state"].tolist() == ["flown", "planned", "missed"]
    assert (run.summary["result"]["missed"], run.summary["result"]["unpublished"]) == (1, 0)


HOUR = 3600
WEEK2 = START + 7 * DAY  # the window being decided


def five_or_eighteen(**rest) -> Decision:
    """Window 2's choice between its slews at phase 5 h and 18 h, the previous anneal at phase 10 h
    of window 1 (so +7 d asks for phase 10 h: greedy takes 5 h, 5 h off rather than 8 h)."""
    return Decision(
        times=np.array([WEEK2 + 5 * HOUR, WEEK2 + 18 * HOUR]),
        window_start=WEEK2,
        window_seconds=4 * DAY,
        target=7 * DAY,
        previous=Neighbour(START + 10 * HOUR, 1),
        **rest,
    )


def test_lookahead_does_not_step_to_the_wrong_side():
    """Every published week has slews only at 18 h. Greedy takes 5 h and must then move 13 h;
    look-ahead takes 18 h (8 h) and stays there: 8 h instead of 18 h in all."""
    start = WEEK2
    decision = five_or_eighteen(remaining=10, samples=[np.array([18 * HOUR])] * 5)
    assert Greedy().choose(decision) == 0
    assert Lookahead().choose(decision) == 1
    # With nothing left to plan, the cost-to-go is zero and look-ahead agrees with greedy.
    assert Lookahead().choose(replace(decision, remaining=0)) == 0
    # A published next window with only the 18 h slew does the same without any samples.
    published = replace(decision, samples=[], lookahead=[np.array([start + 7 * DAY + 18 * 3600])])
    assert Lookahead().choose(published) == 1


def _plain_greedy(reports, calendar, rules):
    """The greedy replay written out plainly from the issue's words, with the project's supersede
    rule applied to each prefix of the reports instead of planner.schedules.history."""
    ordered = sorted(reports, key=lambda r: r.issue_key)
    placed: dict[int, tuple[str, int]] = {}
    decided: set[int] = set()
    target = calendar.target_seconds

    def eligible(frame, lo, hi):
        times = to_seconds(frame["start"])
        ok = (exclusion_reason(frame, rules) == "") & (times >= lo) & (times < hi)
        return list(zip(frame["visit_id"][ok], times[ok].tolist(), strict=True))

    def choose(k, options):
        earlier = [j for j in placed if j < k]
        if not options:
            return None
        if not earlier:
            return options[0]
        j = max(earlier)
        wanted = placed[j][1] + (k - j) * target
        return min(options, key=lambda o: (abs(o[1] - wanted), o[1]))

    for i, rep in enumerate(ordered):
        frame = to_frame(supersede(ordered[: i + 1]))
        issued = int(
            np.datetime64(f"{rep.issue_date[:4]}-{rep.issue_date[4:6]}-{rep.issue_date[6:]}", "s").astype(int)
        )
        keys = set(eligible(frame, -(2**62), 2**62))
        for k in sorted(placed):
            if placed[k][1] >= issued and placed[k] not in keys:
                w = calendar.windows[k - 1]
                del placed[k]
                choice = choose(k, eligible(frame, max(w.start, issued), w.end))
                if choice:
                    placed[k] = choice
        for w in calendar.windows:
            contained = [r for r in ordered if r.span[0] <= w.end <= r.span[1]]
            reaching = [r for r in ordered if r.span[1] >= w.end]
            decider = (contained or reaching or [None])[0]
            if w.anneal not in decided and decider is rep:
                decided.add(w.anneal)
                choice = choose(w.anneal, eligible(frame, w.start, w.end))
                if choice:
                    placed[w.anneal] = choice
    return placed


def test_greedy_replay_of_real_cycle2_equals_a_plain_reimplementation():
    history = History.read(["data/raw/dja-json"])
    from planner.schedules.timeline import read_reports, schedule_files

    reports = [r for p in schedule_files(["data/raw/dja-json"]) for r in read_reports(p)]
    rules = load_rules()
    expected = _plain_greedy(reports, Calendar(), rules)
    outcome = replay(history, Calendar(), Greedy(), rules)
    got = {a.window.anneal: (a.visit_id, a.time) for a in outcome.anneals if a.placed}
    # 50 of 53 since the slew-time rule: the weeks of Jul 24, Aug 14 and Sep 25 have no slew of
    # 27.5 min that the other rules allow (their longest: 1616 s, 1477 s, 1545 s), on the report
    # that decides them as in the final timeline.
    assert got == expected and len(got) == 50
    assert set(range(1, 54)) - set(got) == {4, 7, 13}


@pytest.mark.parametrize(
    ("sources", "start", "count"),
    [(["data/raw/dja-json"], "2023-07-03", 53), (["data/raw/stsci-text"], "2022-07-11", 51)],
)
def test_real_replays_pass_the_checker_and_beat_greedy(sources, start, count):
    """Cycle 2 from the JSON reports, Cycle 1 from the text reports: every placed anneal passes
    the independent checker against the final timeline (run_replay raises otherwise), and the
    default policy is never worse than greedy."""
    calendar = Calendar.from_options(start, count, 4.0, 7.0)
    run = run_replay(History.read(sources), calendar, Lookahead(), load_rules())
    summary = run.summary
    assert summary["hindsight"]["status"] == "OPTIMAL"
    assert summary["result"]["sum_abs_deviation_s"] >= summary["hindsight"]["sum_abs_deviation_s"]
    assert summary["result"]["sum_abs_deviation_s"] <= summary["greedy"]["sum_abs_deviation_s"]
    assert summary["result"]["placed"] + summary["result"]["missed"] == count


def test_replay_cli_writes_its_table_and_summary(tmp_path):
    out = tmp_path / "replay"
    result = runner.invoke(
        app, ["replay", "data/raw/dja-json", "--out", str(out), "--json", "--policy", "greedy"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["policy"] == "greedy" and "greedy" not in summary  # no second greedy run
    import pyarrow.parquet as pq

    table = pq.read_table(out / "replay.parquet")
    assert table.num_rows == 53 and {"decided_at", "replans", "state"} <= set(table.column_names)
    meta = json.loads(table.schema.metadata[b"anneal_planner"])
    assert meta["kind"] == "replay" and meta["summary"]["result"] == summary["result"]
    bad = runner.invoke(app, ["replay", "data/raw/dja-json", "--policy", "clever"])
    assert bad.exit_code == 2 and "expected one of guarded, rollout, lookahead, greedy" in bad.output


def _replay_printed(columns: int, *args: str) -> str:
    """`replay ... --policy greedy` as a terminal of `columns` would show it (a fresh process:
    rich reads COLUMNS when the console is made)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": str(columns)}
    done = subprocess.run(
        [sys.executable, "-m", "planner", "replay", *args, "--policy", "greedy"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return done.stdout


def test_replay_table_keeps_names_dates_and_visits_whole():
    """Text reports share one file: the table names each by its OP package id (the written table
    keeps file#package), a JSON report by its file name without the extension; whole where the
    terminal has room. Dates, slew times and visit ids stay whole even at 80 columns."""
    text = _replay_printed(120, "data/raw/stsci-text", "--start", "2022-07-11", "--count", "2")
    assert "│ 2219105f02 │" in text and "weekly_reports" not in text
    wide = _replay_printed(140, "data/raw/dja-json", "--count", "1")
    assert "│ 20230703_report_20230629 │" in wide and ".txt" not in wide
    narrow = _replay_printed(80, "data/raw/dja-json", "--count", "2")
    assert "│ 2023-07-03 │" in narrow and "│ 2023-07-04 05:29 │" in narrow and "│ 1292:1:1 │" in narrow


def test_next_plans_the_published_weeks_and_its_plan_checks(tmp_path):
    """Flown: what the July reports show was executed (anneals of program 1520). Published: July
    and August. `next` keeps the flown ones and plans the August windows that have none; the week
    of Aug 14 has no slew of 27.5 min the other rules allow (slew-time rule), so it is missed."""
    july = sorted(str(p) for p in __import__("pathlib").Path("data/raw/dja-json/cycle2").glob("202307*.json"))
    august = sorted(
        str(p) for p in __import__("pathlib").Path("data/raw/dja-json/cycle2").glob("202308*.json")
    )
    assert runner.invoke(app, ["ingest", *july, "--out", str(tmp_path / "jul.parquet")]).exit_code == 0
    assert (
        runner.invoke(app, ["ingest", *july, *august, "--out", str(tmp_path / "aug.parquet")]).exit_code == 0
    )
    out = tmp_path / "next.parquet"
    result = runner.invoke(
        app,
        [
            "next",
            "--flown",
            str(tmp_path / "jul.parquet"),
            "--timeline",
            str(tmp_path / "aug.parquet"),
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    # Anneal 7 (Aug 14-18): its longest slews into visits the other rules allow last 1477 s and
    # 1414 s, shorter than the slew-time rule's 27.5 min (see the Cycle 2 greedy replay above).
    assert [a["state"] for a in document["anneals"]] == ["planned", "missed", "planned", "planned"]
    assert [a["anneal"] for a in document["anneals"]] == [6, 7, 8, 9]
    checked = runner.invoke(app, ["check", str(out)])
    assert checked.exit_code == 0, checked.output
    # The next week, from that plan: nothing new is published, so nothing new is planned. A missed
    # week has not flown (flown_from_plan), so it is decided again, and is missed again.
    again = runner.invoke(
        app,
        [
            "next",
            "--flown",
            str(out),
            "--timeline",
            str(tmp_path / "aug.parquet"),
            "--out",
            str(tmp_path / "n2.parquet"),
            "--json",
        ],
    )
    assert again.exit_code == 0
    assert [(a["anneal"], a["state"]) for a in json.loads(again.stdout)["anneals"]] == [(7, "missed")]


def test_a_merged_json_list_and_a_history_file_replay_like_the_folder(tmp_path):
    """The DJA JSON reports of Cycle 2 merged into one list (each row keeps its `file`), and the
    history `ingest --history` writes, give the same issue order and the same replay."""
    rows = []
    for path in sorted(Path("data/raw/dja-json").rglob("*.json")):
        rows += json.loads(path.read_text())
    merged = tmp_path / "cycle2.json"
    merged.write_text(json.dumps(rows))
    folder = History.read(["data/raw/dja-json"])
    one_list = History.read([merged])
    assert [i.issued for i in one_list.issues] == [i.issued for i in folder.issues]
    saved = tmp_path / "history.parquet"
    assert (
        runner.invoke(app, ["ingest", "data/raw/dja-json", "--history", "--out", str(saved)]).exit_code == 0
    )
    from_file = History.read([saved])
    assert from_file.issues == folder.issues
    replays = [replay(h, Calendar(), Lookahead()) for h in (folder, one_list, from_file)]
    assert ids(replays[0]) == ids(replays[1]) == ids(replays[2])
    # The final timeline of the history is the canonical timeline `ingest` writes.
    canonical = runner.invoke(app, ["ingest", "data/raw/dja-json", "--out", str(tmp_path / "t.parquet")])
    assert canonical.exit_code == 0
    from planner.schedules.timeline import load_timeline

    final, written = from_file.final(), load_timeline(tmp_path / "t.parquet")
    assert final["visit_id"].tolist() == written["visit_id"].tolist()
    assert (final["start"] == written["start"]).all()


def test_known_after_follows_the_supersede_rule_report_by_report():
    """For every prefix of the shipped Cycle 2 reports, the history's view equals the supersede
    rule applied to that prefix from scratch."""
    from planner.schedules.timeline import read_reports, schedule_files

    reports = sorted(
        (r for p in schedule_files(["data/raw/dja-json/cycle3"]) for r in read_reports(p)),
        key=lambda r: r.issue_key,
    )
    reports = sorted(
        [*reports, *(r for p in schedule_files(["data/raw/dja-json/cycle2"])[-6:] for r in read_reports(p))],
        key=lambda r: r.issue_key,
    )
    history = History(reports, [])
    for i in range(len(reports)):
        expected = to_frame(supersede(reports[: i + 1]))
        got = history.known_after(i)
        assert got["visit_id"].tolist() == expected["visit_id"].tolist()
        assert (got["start"] == expected["start"]).all()


def test_batch_sweeps_replay_policies(tmp_path):
    scenarios = tmp_path / "replays.toml"
    scenarios.write_text(
        f'[base]\nkind = "replay"\nsources = ["{Path("data/raw/dja-json").resolve()}"]\n'
        '[grid]\npolicy = ["greedy", "lookahead"]\n'
    )
    result = runner.invoke(
        app, ["batch", str(scenarios), "--out", str(tmp_path / "out"), "--quiet", "--jobs", "1"]
    )
    assert result.exit_code == 0, result.output
    import pandas as pd

    summary = pd.read_parquet(tmp_path / "out" / "summary.parquet").set_index("policy")
    assert summary.loc["greedy", "objective_value_s"] > summary.loc["lookahead", "objective_value_s"]
    assert (summary["state"] == "solved").all() and (summary["ratio_to_hindsight"] > 1).all()
    bad = tmp_path / "bad.toml"
    bad.write_text('[base]\nkind = "replay"\n[[scenarios]]\npolicy = "greedy"\n')
    refused = runner.invoke(app, ["batch", str(bad), "--out", str(tmp_path / "o2")])
    assert refused.exit_code == 2 and "a replay needs sources" in refused.output
    bad.write_text(
        '[base]\nkind = "replay"\nsources = ["x"]\n[[scenarios]]\npolicy = "greedy"\nhorizon_weeks = 4\n'
    )
    refused = runner.invoke(app, ["batch", str(bad), "--out", str(tmp_path / "o2")])
    assert refused.exit_code == 2 and "(guarded, rollout, lookahead), not greedy's" in refused.output


def test_lookahead_counts_on_a_window_published_in_part():
    """The next window is published up to its phase 30 h and holds a slew at 18 h; past weeks
    show slews only at 60 h. Greedy takes 5 h; look-ahead takes 18 h, since the known 18 h slew of
    next week then costs nothing."""
    nxt = WEEK2 + 7 * DAY
    decision = five_or_eighteen(
        partial=np.array([nxt + 18 * HOUR]),
        partial_until=nxt + 30 * HOUR,
        remaining=0,
        samples=[np.array([60 * HOUR])] * 3,
    )
    assert Greedy().choose(decision) == 0
    assert Lookahead().choose(decision) == 1


def test_report_of_a_replay_folder_shows_each_weeks_decision(tmp_path):
    out = tmp_path / "replay"
    replayed = runner.invoke(app, ["replay", "data/raw/dja-json", "--out", str(out), "--policy", "greedy"])
    assert replayed.exit_code == 0
    # beside the flown anneals also on the weeks both hold one (planner.online.outcome.on_common_weeks)
    common = json.loads(
        runner.invoke(app, ["replay", "data/raw/dja-json", "--policy", "greedy", "--json"]).output
    )["flown"]["common_weeks"]
    assert 0 < common["weeks"] <= 53 and set(common["plans_s"]) == {"result"} and common["flown_s"] > 0
    line = f"on the {common['weeks']} weeks where the flown anneals and these plans each hold one"
    assert line in " ".join(replayed.output.split())
    page = tmp_path / "replay.html"
    result = runner.invoke(app, ["report", str(out), "--out", str(page)])
    assert result.exit_code == 0, result.output
    html = page.read_text()
    assert 'id="replay"' in html and "planned online, week by week" in html
    # The folder's timeline is verified: a changed one is refused, one line, no page written.
    (out / "timeline.parquet").write_bytes((out / "timeline.parquet").read_bytes() + b"x")
    page.unlink()
    refused = runner.invoke(app, ["report", str(out), "--out", str(page)])
    assert refused.exit_code == 2 and not page.exists()


@pytest.mark.parametrize(("key", "value"), [("timeline", "x"), ("versions", None), ("versions", [])])
def test_report_of_a_replay_with_damaged_metadata_is_exit_2(tmp_path, key, value):
    """Found by the fuzz suite (exit 3 before): recorded tables that are not tables."""
    import pyarrow.parquet as pq

    out = tmp_path / "replay"
    assert (
        runner.invoke(app, ["replay", "data/raw/dja-json", "--out", str(out), "--policy", "greedy"]).exit_code
        == 0
    )
    table = pq.read_table(out / "replay.parquet")
    meta = json.loads(table.schema.metadata[b"anneal_planner"])
    meta[key] = value
    pq.write_table(
        table.replace_schema_metadata({b"anneal_planner": json.dumps(meta).encode()}), out / "replay.parquet"
    )
    result = runner.invoke(app, ["report", str(out), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "damaged replay metadata" in result.output
    assert not (tmp_path / "r.html").exists()
