"""`compare` of a joint plan: each program beside the runs flown of that program (by program id)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from planner.cli import app
from planner.plans.joint_compare import compare_joint
from planner.plans.joint_file import open_joint_plan
from tests.joint_helpers import joint_plan

runner = CliRunner()


def test_each_program_beside_its_own_runs_flown(tmp_path):
    opened = open_joint_plan(joint_plan(tmp_path))
    series, lamp = compare_joint(opened.plan, opened.instance.timeline, opened.instance.programs)
    # the lamp flew twice (4461); program 4463's lamp on day 0.75 has the same mode but is not its run
    assert lamp.row()["flown"] == 2 and list(lamp.flown["visit_id"]) == ["4461:1:1", "4461:1:2"]
    # its first run gave its flown slew (day 0.5) to the anneal and moved 6 h earlier, onto day 0.25
    assert (lamp.moved, lamp.on_flown_slew, lamp.row()["largest_from_flown_hours"]) == (1, 1, 6.0)
    assert series.weekly and not lamp.weekly
    row = series.row()
    assert (row["served"], row["observations"], row["flown"], row["flown_observations"]) == (2, 2, 1, 1)
    summary = series.intervals.summary
    assert summary.loc["plan", "anneals"] == 2 and summary.loc["executed", "anneals"] == 1


def test_compare_cli_on_a_joint_plan(tmp_path):
    plan = joint_plan(tmp_path)
    shown = runner.invoke(app, ["compare", str(plan)])
    assert shown.exit_code == 0, shown.output
    assert "lamp" in shown.output and "seed-4485: plan beside the runs flown" in shown.output
    document = json.loads(runner.invoke(app, ["compare", str(plan), "--json"]).stdout)
    by_name = {p["program"]: p for p in document["programs"]}
    assert by_name["lamp"]["flown"] == 2 and "intervals" not in by_name["lamp"]
    assert by_name["seed-4485"]["intervals"]["summary"]["plan"]["anneals"] == 2
    refused = runner.invoke(app, ["compare", str(plan), "--program", "seed-4485"])
    assert refused.exit_code == 2 and "joint plan" in refused.stderr


def test_a_damaged_joint_plan_is_one_line(tmp_path):
    import pyarrow.parquet as pq

    plan = joint_plan(tmp_path)
    table = pq.read_table(plan)
    pq.write_table(table.drop_columns(["target"]).replace_schema_metadata(table.schema.metadata), plan)
    for command in ("compare", "report"):
        result = runner.invoke(app, [command, str(plan), *(["--out", str(tmp_path / "r.html")]
                                                          if command == "report" else [])])  # fmt: skip
        assert result.exit_code == 2 and str(plan) in result.stderr and "plan columns" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
