"""Joint plans through the CLI: written by `solve`, read back by `check`, refused by one-program commands."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from planner.cli import app

runner = CliRunner()
WEEKLY = """name = "w"
programs = [1520]
mode = "MIRI Anneal"
avoid_instruments = ["MIRI"]
duration_minutes = 25
recovery_minutes = 35
min_slew_minutes = 27.5
[observations]
start = "2023-07-03"
count = 5
"""
LAMPS = """name = "l"
programs = [4461]
mode = "NIRSpec Internal Lamp"
avoid_instruments = ["NIRSpec"]
[[campaigns]]
start = "2023-07-04T00:00:00Z"
end = "2023-07-06T00:00:00Z"
iterations = 2
min_separation_hours = 3
"""


@pytest.fixture
def programs(tmp_path):
    (tmp_path / "w.toml").write_text(WEEKLY)
    (tmp_path / "l.toml").write_text(LAMPS)
    return ["--program", str(tmp_path / "w.toml"), "--program", str(tmp_path / "l.toml")]


def test_solve_writes_a_joint_plan_that_check_accepts_and_one_program_commands_refuse(tmp_path, programs):
    out = tmp_path / "joint.parquet"
    done = runner.invoke(app, ["solve", *programs, "--out", str(out), "--json"])
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    assert document["status"] == "OPTIMAL" and [s["name"] for s in document["stages"]] == [
        "served", "regular", "displacement"
    ]  # fmt: skip
    assert {p["program"]: p["served"] for p in document["programs"]} == {"w": 4, "l": 1}  # Anneal 04: none
    assert "Anneal 04" in document["unserved"]
    checked = runner.invoke(app, ["check", str(out)])
    assert checked.exit_code == 0 and checked.stdout.startswith("ok: ")
    for args in (["plot", str(out), "--out", str(tmp_path / "p.png")], ["diff", str(out), str(out)]):
        refused = runner.invoke(app, args)
        assert refused.exit_code == 2 and "a joint plan (several programs co-planned)" in refused.stderr


def test_a_plan_claiming_a_better_value_fails_check(tmp_path, programs):
    out = tmp_path / "joint.parquet"
    assert runner.invoke(app, ["solve", *programs, "--out", str(out)]).exit_code == 0
    table = pq.read_table(out)
    meta = json.loads(table.schema.metadata[b"anneal_planner"])
    meta["stages"][1]["value"] -= 1  # regular
    pq.write_table(table.replace_schema_metadata({b"anneal_planner": json.dumps(meta).encode()}), out)
    checked = runner.invoke(app, ["check", str(out)])
    assert checked.exit_code == 1 and "objective: regular: the plan claims" in checked.stdout


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--count", "3"], "--count: an option of a one-program plan"),
        (["--require-all"], "--require-all: 1 observations cannot all be served; Anneal 04: (2023-07-24"),
    ],
)
def test_joint_solve_refuses_in_one_line(tmp_path, programs, extra, words):
    out = tmp_path / "joint.parquet"
    refused = runner.invoke(app, ["solve", *programs, *extra, "--out", str(out)])
    assert refused.exit_code in (1, 2) and words in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and not out.exists()


def test_fail_on_missing_writes_the_plan_then_exits_1(tmp_path, programs):
    out = tmp_path / "joint.parquet"
    done = runner.invoke(app, ["solve", *programs, "--fail-on-missing", "--quiet", "--out", str(out)])
    assert done.exit_code == 1 and out.exists()
    assert pq.read_table(io.BytesIO(out.read_bytes())).num_rows == 5 + 2


def test_programs_that_cannot_all_be_served_are_named_in_one_line(tmp_path):
    """Two lamp programs whose one-run campaigns have one eligible slew between them (a free slew of
    2023-07-05 on the shipped timeline, windows of 2 s about it): the higher priority is served, the
    other says which run holds its slew; with --require-all there is no plan and one line names them."""
    from planner.schedules.timeline import load_timeline

    frame = load_timeline()
    start = frame["start"]
    day = frame[(start >= "2023-07-05") & (start < "2023-07-06") & frame["is_slew"]]
    first = day[day["slew_parallel"].isna()].iloc[0]["start"]  # a free slew of that day: both want it
    lo, hi = (first - pd.Timedelta(seconds=1)).isoformat(), (first + pd.Timedelta(seconds=1)).isoformat()
    for name, pid, priority in (("a", 4461, 2), ("b", 4463, 1)):  # a outranks b
        (tmp_path / f"{name}.toml").write_text(
            f'name = "{name}"\nprograms = [{pid}]\nmode = "NIRSpec Internal Lamp"\npriority = {priority}\n'
            f'avoid_instruments = []\n[[campaigns]]\nstart = "{lo}"\nend = "{hi}"\n'
        )
    programs = [
        "--rules",
        "seed",
        "--program",
        str(tmp_path / "a.toml"),
        "--program",
        str(tmp_path / "b.toml"),
    ]
    out = tmp_path / "joint.parquet"
    done = runner.invoke(app, ["solve", *programs, "--json", "--out", str(out)])
    assert done.exit_code == 0, done.output
    reason = "its 1 eligible slews carry a 01; serving it would leave out others of at least its priority"
    assert json.loads(done.stdout)["unserved"] == {"b 01": f"{reason} in total"}
    refused = runner.invoke(app, ["solve", *programs, "--require-all", "--out", str(tmp_path / "x.parquet")])
    assert refused.exit_code == 1 and len(refused.stderr.strip().splitlines()) == 1
    assert (
        "--require-all: 1 observations cannot all be served; b 01: its 1 eligible slews carry a 01"
        in refused.stderr
    )
    assert not (tmp_path / "x.parquet").exists()
