"""What `next` says beside its plan: why a window cannot be served (the rules' counts and the
nearest eligible slews on either side, as `solve` says it), and what a flown anneal breaks (as
`check` says it: a note, since it has flown)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from planner.cli import app

runner = CliRunner()
REPORTS = Path("data/raw/dja-json/cycle2")


def next_said(tmp_path: Path, published_from: str, published_to: str) -> str:
    """`next` with the week of 3 July 2023 flown, on the July reports named from `published_from`
    up to (not including) `published_to`: what it printed, on one line."""
    flown, timeline, out = (tmp_path / f"{name}.parquet" for name in ("flown", "timeline", "next"))
    first = sorted(str(p) for p in REPORTS.glob("20230703*.json"))
    chosen = sorted(str(p) for p in REPORTS.glob("202307*.json") if published_from <= p.name < published_to)
    assert runner.invoke(app, ["ingest", *first, "--out", str(flown)]).exit_code == 0
    assert runner.invoke(app, ["ingest", *chosen, "--out", str(timeline)]).exit_code == 0
    args = ["next", "--flown", str(flown), "--timeline", str(timeline), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_a_missed_window_names_the_nearest_eligible_slews(tmp_path):
    """Anneal 01 flown, the schedule published to 30 July (the README's second week). Anneal 04's
    window (24-28 July) holds 38 visits and no slew of 27.5 min that avoids MIRI; the nearest
    eligible slews are 1215:10:1, 19.4 h before it, and 1188:4:1, 33.9 h after it."""
    text = next_said(tmp_path, "20230703", "20230731")
    assert "Anneal 04 cannot be served" in text
    assert "nearest eligible slews: 1215:10:1 at 2023-07-23T04:38:19Z, 19.4 h before it" in text
    assert "1188:4:1 at 2023-07-29T09:56:16Z, 33.9 h after it" in text


def test_a_flown_anneal_outside_its_window_is_noted_not_refused(tmp_path):
    """Cycle 3's whole-cycle list as both what has flown and the schedule: every window holds a
    flown anneal, so nothing is planned, and the first flown anneals lie after their windows (the
    first on Saturday 6 July 2024 18:31, its window 1-5 July): `next` notes each, in the table's
    text and in --json, and exits 0."""
    cycle = "data/dja-merged/jwst-schedule-cycle3.json"
    out = tmp_path / "next.parquet"
    args = ["next", "--flown", cycle, "--timeline", cycle, "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert (
        "note (flown, not planned): Anneal 01: slew at 2024-07-06T18:31:35Z is outside its window "
        "[2024-07-01T00:00:00Z, 2024-07-05T00:00:00Z)"
    ) in text
    assert "0 planned" in text
    document = json.loads(runner.invoke(app, [*args, "--json"]).output)
    assert document["notes"][0].startswith("Anneal 01: slew at 2024-07-06T18:31:35Z is outside")
    assert all("outside its window" in note for note in document["notes"])


def test_a_window_before_the_timeline_is_not_called_unpublished(tmp_path):
    """Anneal 01 flown, but the schedule given starts with the report of 17 July: Anneal 02's
    window (10-14 July) lies before its first visit. That is a past week whose reports are missing,
    not one not yet published, and `next` says so."""
    text = next_said(tmp_path, "20230717", "20230731")
    assert (
        "Anneal 02 cannot be served: Anneal 02 (2023-07-10 .. 2023-07-14): before the timeline's first "
        "visit at 2023-07-17T06:28:30Z: its reports are not in it"
    ) in text
    assert "not published yet" not in text
