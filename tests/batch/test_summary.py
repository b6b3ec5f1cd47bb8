"""summary.parquet of a batch: one schema whatever the scenarios file sets, provenance in its
metadata, typed timestamps, nullable integers, a plan path per row, and re-runs that keep the state."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

import planner
from planner.batch.summary import SUMMARY_SCHEMA
from planner.cli import app
from planner.io import METADATA_KEY

runner = CliRunner()

# Two files that set different keys: the summaries must still share every column and type.
SPARSE = "[[scenarios]]\nname = 'only'\ncount = 3\n"
BUSY = """
[base]
count = 3
allow_missing = true
[grid]
window_days = [3, 4]
[[grid.perturbation]]
cancel_fraction = 0.2
seed = 1
[[grid.perturbation]]
lost_days = 5
"""
FAILING = """
[[scenarios]]
name = 'ok'
count = 2
[[scenarios]]
name = 'nowhere'
count = 2
timeline = 'damaged.parquet'
"""  # found before the batch starts (a missing one is refused up front), unreadable when it runs


def _batch(tmp_path, name: str, text: str):
    scenarios = tmp_path / f"{name}.toml"
    scenarios.write_text(text)
    out = tmp_path / name
    result = runner.invoke(app, ["batch", str(scenarios), "--out", str(out), "--jobs", "1", "--quiet"])
    return scenarios, out, result


def test_schema_is_the_same_whatever_the_file_sets(tmp_path):
    schemas = []
    for name, text in (("sparse", SPARSE), ("busy", BUSY)):
        _, out, result = _batch(tmp_path, name, text)
        assert result.exit_code == 0, result.output
        schemas.append(pq.read_schema(out / "summary.parquet").remove_metadata())
    assert schemas[0].equals(schemas[1]) and schemas[0].names == SUMMARY_SCHEMA.names
    assert schemas[0].field("start").type == pa.timestamp("ms", tz="UTC")
    busy = pd.read_parquet(tmp_path / "busy" / "summary.parquet")
    assert busy["perturbation_lost_days"].tolist() == [0.0, 5.0, 0.0, 5.0]  # defaults filled in
    assert (busy["start"] == pd.Timestamp("2023-07-03", tz="UTC")).all()
    assert busy["rules"].unique().tolist() == ["operations"]
    for plan in busy["plan"]:
        assert (tmp_path / "busy" / plan).is_file()


def test_metadata_names_the_version_and_the_scenarios_file(tmp_path):
    scenarios, out, _ = _batch(tmp_path, "sparse", SPARSE)
    meta = json.loads(pq.read_schema(out / "summary.parquet").metadata[METADATA_KEY])
    assert meta["kind"] == "batch_summary" and meta["planner_version"] == planner.__version__
    assert meta["scenarios_file"] == str(scenarios.resolve())
    assert meta["scenarios_sha256"] == hashlib.sha256(scenarios.read_bytes()).hexdigest()
    written = datetime.strptime(meta["written_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - written).total_seconds()) < 600


def test_missing_integers_are_null_not_nan(tmp_path):
    (tmp_path / "damaged.parquet").write_bytes(b"PAR1 cut short")
    _, out, result = _batch(tmp_path, "failing", FAILING)
    assert result.exit_code == 1
    summary = pd.read_parquet(out / "summary.parquet")
    assert summary["state"].tolist() == ["solved", "failed"]
    for column in ("objective_value_s", "placed", "missing"):
        assert summary[column].dtype == "Int64"
        assert summary.loc[1, column] is pd.NA and summary.loc[0, column] >= 0
    assert summary.loc[0, "plan"].startswith("plans/") and summary.loc[1, "plan"] is pd.NA


def test_rerun_keeps_the_state_and_flags_skipped(tmp_path):
    scenarios, out, first = _batch(tmp_path, "sparse", SPARSE)
    assert first.exit_code == 0 and "kept from an earlier run" not in first.output
    again = runner.invoke(app, ["batch", str(scenarios), "--out", str(out), "--jobs", "1", "--quiet"])
    assert again.exit_code == 0
    summary = pd.read_parquet(out / "summary.parquet")
    assert summary["state"].tolist() == ["solved"] and summary["skipped"].tolist() == [True]
    assert "1 solved (1 of them kept from an earlier run" in again.output
