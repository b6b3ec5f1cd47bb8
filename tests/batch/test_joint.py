"""Batch scenarios with a `programs` key: joint solves, their summary rows, resume, bad keys."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.batch.scenarios import read_scenarios
from planner.batch.summary import SCHEMA_VERSION, SUMMARY_SCHEMA
from planner.cli import app
from planner.errors import OptionError
from planner.plans.joint_file import is_joint_plan

runner = CliRunner()

LAMP = """
name = "lamp-test"
programs = [4461]
mode = "NIRSpec Internal Lamp"
avoid_instruments = ["NIRSpec"]
duration_minutes = 10

[[campaigns]]
start = "2023-07-05T00:00:00Z"
end = "2023-07-07T00:00:00Z"
iterations = 2
min_separation_hours = 2
"""
SCENARIOS = """
[base]
rules = "seed"
[[scenarios]]
name = "joint"
programs = ["seed-4485", "lamp.toml"]
[[scenarios]]
name = "alone"
program = "seed-4485"
count = 3
"""


def test_a_programs_scenario_is_a_joint_solve(tmp_path):
    (tmp_path / "lamp.toml").write_text(LAMP)
    (tmp_path / "s.toml").write_text(SCENARIOS)
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(tmp_path / "s.toml"), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    summary = pd.read_parquet(out / "summary.parquet").set_index("scenario")
    assert list(summary.reset_index().columns) == SUMMARY_SCHEMA.names and SCHEMA_VERSION == 3
    joint = summary.loc[summary.index.str.startswith("joint")].iloc[0]
    assert list(joint["programs"]) == ["seed-4485", "lamp-test"] and pd.isna(joint["program"])
    assert joint["status"] == "OPTIMAL" and is_joint_plan(out / joint["plan"])
    by_program = {p["program"]: p for p in joint["served_by_program"]}
    assert by_program["lamp-test"]["served"] == 1 and by_program["lamp-test"]["placed"] == 2
    # the seed's Cycle 2 calendar: 53 windows, each served under the seed's rules
    assert by_program["seed-4485"]["observations"] == 53 and by_program["seed-4485"]["served"] == 53
    assert joint["observations"] == 54 and joint["served"] == 54 and joint["missing"] == 0
    stages = {s["name"]: s["value"] for s in joint["stages"]}
    assert set(stages) == {"served", "regular", "displacement"}
    assert joint["objective"] == "regular" and joint["objective_value_s"] == stages["regular"]
    alone = summary.loc[summary.index.str.startswith("alone")].iloc[0]
    assert alone["observations"] == 3 and alone["served"] == alone["placed"] and alone["stages"] is None
    # a re-run keeps the checked joint plan
    again = runner.invoke(app, ["batch", str(tmp_path / "s.toml"), "--out", str(out), "--quiet"])
    assert again.exit_code == 0 and "2 of them kept from an earlier run" in again.output


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('programs = ["seed-4485"]\ncount = 3', "count belongs to a one-program scenario"),
        ("programs = []", "programs: expected a non-empty list"),
        ('programs = ["seed-4485", ""]', "programs: expected a non-empty list"),
        ('programs = ["seed-4485", "seed-4485"]', "one name twice"),
        ('programs = ["seed-4485"]\nkind = "replay"', "a scenario with programs is a joint solve"),
        ('programs = "seed-4485"', "programs = 'seed-4485' is a str; expected list"),
    ],
)
def test_bad_programs_are_one_line_before_anything_runs(tmp_path, entry, message):
    path = tmp_path / "s.toml"
    path.write_text(f"[[scenarios]]\n{entry}\n")
    with pytest.raises(OptionError, match=message):
        read_scenarios(path)
    result = runner.invoke(app, ["batch", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and str(path) in result.stderr and not (tmp_path / "out").exists()
    assert len(result.stderr.strip().splitlines()) == 1
