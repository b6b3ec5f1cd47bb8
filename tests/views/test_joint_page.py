"""The report page of a joint plan: one lane per program, a table per program, inputs escaped."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from planner.cli import app
from planner.plans.joint_compare import compare_joint
from planner.plans.joint_file import open_joint_plan
from planner.views.joint_page import render_joint, summary_rows
from tests.joint_helpers import HOSTILE, joint_plan


def _traces(page: str) -> list[dict]:
    plot = re.search(r'Plotly\.newPlot\(\s*"programs",\s*(\[.*?\]),\s*\{', page, re.S)
    return json.loads(plot.group(1))


def test_one_lane_per_program_names_escaped(tmp_path):
    page = render_joint(open_joint_plan(joint_plan(tmp_path, lamp_name=HOSTILE)), "Joint <b>")
    assert HOSTILE not in page and "Joint &lt;b&gt;" in page  # inputs never become markup
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page  # the lamp's name, as text
    found = r'Plotly\.newPlot\(\s*"programs",\s*\[.*?\],\s*(\{.*?\}),\s*\{"displaylogo"'
    layout = re.search(found, page, re.S)
    axis = json.loads(layout.group(1))["yaxis"]
    assert axis["tickvals"] == [0, -1] and axis["ticktext"][0] == "seed-4485"
    assert "<img" not in axis["ticktext"][1]  # the hostile name on the axis, escaped
    traces = _traces(page)
    lanes = {trace["legendgroup"] for trace in traces}
    assert lanes == {"lane0", "lane1"}
    planned = [t for t in traces if t.get("showlegend") is not False and t["type"] == "scatter"]
    assert [len(t["x"]) for t in planned] == [2, 2]  # each program's runs in its own lane
    assert {t["y"][0] for t in planned} == {0, -1}
    preferred = [t for t in traces if t["name"].endswith(" preferred")]
    assert len(preferred) == 1 and preferred[0]["y"] == [-1, -1]  # the campaign's preferred times
    assert page.count("<h3>") == 2  # a table per program
    opened = open_joint_plan(joint_plan(tmp_path))
    instance = opened.instance
    rows = summary_rows(opened, compare_joint(opened.plan, instance.timeline, instance.programs))
    assert [r[0] for r in rows] == ["seed-4485", "lamp"]
    assert rows[1][2] == ("1/1", "1") and rows[1][5] == ("1", "1")  # served; one run moved > 1 h
    assert '<tr class="moved">' in page and "the independent checker passes here" in page


def test_report_cli_writes_a_joint_page(tmp_path):
    plan = joint_plan(tmp_path)
    out = tmp_path / "page.html"
    result = CliRunner().invoke(app, ["report", str(plan), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "Joint plan: joint.parquet" in page and "runs placed" in page and page.count("<h3>") == 2


def test_a_plan_without_rows_or_flown_runs_still_renders_and_compares(tmp_path):
    runner = CliRunner()
    """A joint plan file emptied of its rows (damaged, or edited) and a program that flew nothing in
    its span: `report` and `compare` say so instead of failing; `check` lists the missing runs."""
    import pyarrow.parquet as pq

    path = joint_plan(tmp_path)
    table = pq.read_table(path)
    pq.write_table(table.slice(0, 0), path)  # the metadata stays: a plan of no rows
    page = runner.invoke(app, ["report", str(path), "--out", str(tmp_path / "r.html")])
    assert page.exit_code == 0, page.output
    assert "fails here" in (tmp_path / "r.html").read_text()
    compared = runner.invoke(app, ["compare", str(path)])
    assert compared.exit_code == 0, compared.output
    checked = runner.invoke(app, ["check", str(path)])
    assert checked.exit_code == 1 and "missing" in checked.stdout
