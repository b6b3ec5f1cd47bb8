"""`next --flown`: an anneal given as flown must have flown, so none may lie after the published
schedule's last start."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from planner.cli import app

runner = CliRunner()
REPORTS = Path("data/raw/dja-json/cycle2")


def test_a_plan_reaching_past_the_published_schedule_is_refused_as_flown(tmp_path):
    """A plan made on July and August (Anneals 06-09 planned, in August) given as flown beside only
    the July reports: its August anneals lie after the July schedule's last start, so they cannot
    have flown. `next` refuses with one line (exit 2) naming how many and the first, and writes
    nothing; given beside the August reports, the same plan is accepted."""
    july = sorted(str(p) for p in REPORTS.glob("202307*.json"))
    august = sorted(str(p) for p in REPORTS.glob("202308*.json"))
    jul, aug = tmp_path / "jul.parquet", tmp_path / "aug.parquet"
    assert runner.invoke(app, ["ingest", *july, "--out", str(jul)]).exit_code == 0
    assert runner.invoke(app, ["ingest", *july, *august, "--out", str(aug)]).exit_code == 0
    plan = tmp_path / "plan.parquet"
    made = runner.invoke(app, ["next", "--flown", str(jul), "--timeline", str(aug), "--out", str(plan)])
    assert made.exit_code == 0, made.output
    out = tmp_path / "refused.parquet"
    refused = runner.invoke(app, ["next", "--flown", str(plan), "--timeline", str(jul), "--out", str(out)])
    assert refused.exit_code == 2, refused.output
    message = " ".join(refused.output.split())
    assert "3 anneals given as flown lie after the published schedule's last start" in message
    assert "the first is Anneal 06" in message
    assert len(refused.output.strip().splitlines()) == 1 and not out.exists()
    accepted = runner.invoke(app, ["next", "--flown", str(plan), "--timeline", str(aug), "--out", str(out)])
    assert accepted.exit_code == 0, accepted.output
