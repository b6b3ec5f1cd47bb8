"""Batch solving: scenario files, failures recorded, resume, and a Dask cluster on loopback."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner.batch.run import run_batch, run_scenario, scenario_timeline
from planner.batch.scenarios import parse_scenarios, read_scenarios
from planner.cli import app
from planner.errors import InputError, OptionError
from planner.schedules.perturb import Perturbation, perturb
from planner.schedules.timeline import DATA_DIR

EXAMPLE = DATA_DIR / "scenarios" / "cycle2-whatif.toml"
runner = CliRunner()


def _write(tmp_path, text: str):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def test_example_file_expands_its_grid():
    scenarios = read_scenarios(EXAMPLE)
    assert len(scenarios) == 2 * 3 * 4
    assert len({s.id for s in scenarios}) == 24
    assert {s.settings["objective"] for s in scenarios} == {"regular", "mean", "minimax"}
    assert read_scenarios(EXAMPLE)[5].id == scenarios[5].id  # ids are stable: a re-run finds the plans


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[base]\nobjectiv = "regular"\n[grid]\ncount = [2]', "unknown key 'objectiv'; accepted: timeline"),
        ('[grid]\ncount = ["two"]', "count = 'two' is a str; expected int"),
        ("[grid]\ncount = []", "count is an empty list"),
        ("[grid]", "[grid] is empty"),
        ("[base]\ncount = 2", "give either [[scenarios]] or [grid], not neither"),
        ('[[scenarios]]\nobjective = "fast"', "expected one of regular, mean, minimax"),
        ("[[scenarios]]\nperturbation = { cancel = 0.1 }", "unknown key 'cancel'"),
        ("[[scenarios]]\nallow_missing = 1", "allow_missing = 1 is an int; expected bool"),
        ("[grid]\ncount = 3", "count = 3; expected a list of values"),
    ],
)
def test_bad_scenario_files_are_rejected_before_anything_runs(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(OptionError) as err:
        read_scenarios(path)
    assert message in str(err.value) and str(path) in str(err.value)
    result = runner.invoke(app, ["batch", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and not (tmp_path / "out").exists()


def test_not_toml(tmp_path):
    with pytest.raises(InputError, match="not valid TOML"):
        read_scenarios(_write(tmp_path, "[grid\n"))


def test_perturbation_is_seeded_and_changes_the_timeline(shipped):
    churn = Perturbation(cancel_fraction=0.2, max_delay_hours=12, lost_days=5, seed=4)
    a, b = perturb(shipped, churn), perturb(shipped, churn)
    pd.testing.assert_frame_equal(a, b)
    assert len(shipped) * 0.7 < len(a) < len(shipped) * 0.85
    assert a["start"].is_monotonic_increasing
    assert not perturb(shipped, Perturbation(cancel_fraction=0.2, seed=5)).equals(a)
    gaps = a["start"].diff().dt.total_seconds()
    assert gaps.max() >= 5 * 86_400  # the lost block


def test_failures_are_recorded_and_do_not_stop_the_batch(tmp_path):
    text = """
[base]
count = 3
[[scenarios]]
name = "fine"
[[scenarios]]
name = "gone"
timeline = "damaged.parquet"
[[scenarios]]
name = "cycle1"
start = "2022-07-04"
allow_missing = false   # (the default leaves its empty first window out instead)
"""
    path = _write(tmp_path, text)
    (tmp_path / "damaged.parquet").write_bytes(b"PAR1 cut short")  # found up front, unreadable later
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(path), "--out", str(out), "--jobs", "2", "--quiet"])
    assert result.exit_code == 1
    assert "2 of 3 scenarios failed" in result.output
    summary = pd.read_parquet(out / "summary.parquet")
    assert summary["scenario"].str.split("-").str[0].tolist() == ["fine", "gone", "cycle1"]
    assert summary["state"].tolist() == ["solved", "failed", "infeasible"]
    assert "damaged.parquet: not a readable Parquet file" in summary.loc[1, "error"]
    assert "Anneal 01 (2022-07-04 .. 2022-07-08)" in summary.loc[2, "error"]
    assert len(list((out / "plans").glob("*.parquet"))) == 1
    assert not list(out.rglob("*.part"))


def test_rerun_skips_checked_plans_and_redoes_broken_ones(tmp_path):
    # Three windows: the fourth (Jul 24) has no slew of 27.5 min that the other rules allow (the
    # slew-time rule), and a batch scenario requires every window unless it sets allow_missing.
    path = _write(
        tmp_path, "[base]\ncount = 3\n[grid]\nobjective = ['regular', 'minimax']\nwindow_days = [3, 4]"
    )
    scenarios = read_scenarios(path)
    first = run_batch(scenarios, tmp_path / "out", jobs=2)
    assert first["state"].tolist() == ["solved"] * 4
    broken = tmp_path / "out" / "plans" / f"{scenarios[0].id}.parquet"
    broken.write_bytes(b"half a file")
    second = run_batch(scenarios, tmp_path / "out", jobs=2)
    # a re-run keeps the state; `skipped` says the plan of the earlier run was found and checked
    assert second["state"].tolist() == ["solved"] * 4
    assert second["skipped"].tolist() == [False, True, True, True]
    assert second["objective_value_s"].tolist() == first["objective_value_s"].tolist()


def test_dask_cluster_gives_the_local_summary(tmp_path):
    distributed = pytest.importorskip("distributed")
    text = """
[base]
count = 8
[grid]
objective = ["regular", "minimax"]
perturbation = [{}, { cancel_fraction = 0.2, seed = 1 }]
"""
    scenarios = read_scenarios(_write(tmp_path, text))
    local = run_batch(scenarios, tmp_path / "local", jobs=2)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=":0", processes=True
    ) as cluster:
        remote = run_batch(scenarios, tmp_path / "dask", scheduler=cluster.scheduler_address)
    columns = [
        "scenario",
        "state",
        "status",
        "objective_value_s",
        "placed",
        "min_interval_days",
        "max_interval_days",
    ]
    pd.testing.assert_frame_equal(local[columns], remote[columns])
    for scenario in scenarios:
        a = pd.read_parquet(tmp_path / "local" / "plans" / f"{scenario.id}.parquet")
        b = pd.read_parquet(tmp_path / "dask" / "plans" / f"{scenario.id}.parquet")
        assert a["visit_id"].tolist() == b["visit_id"].tolist()


def test_a_scenario_that_kills_its_dask_workers_fails_alone(tmp_path, monkeypatch):
    """On a cluster, the minimax scenario kills each worker that runs it: once Dask gives up on it
    (allowed-failures 0 here, 3 by default) it fails with the local batch's words, and the other
    scenarios are solved, though a task beside the killer when its worker died failed too: those
    run again one at a time."""
    distributed = pytest.importorskip("distributed")
    import dask

    import planner.batch.run

    scenarios = read_scenarios(
        _write(tmp_path, "[base]\ncount = 3\n[grid]\nobjective = ['regular', 'minimax', 'mean']")
    )
    monkeypatch.setattr(planner.batch.run, "run_scenario", _die_on_minimax)
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=":0", processes=True
        ) as cluster,
    ):
        summary = run_batch(scenarios, tmp_path / "dask", scheduler=cluster.scheduler_address)
        alone = run_batch(scenarios[1:2], tmp_path / "alone", scheduler=cluster.scheduler_address)
    assert summary["state"].tolist() == ["solved", "failed", "solved"]
    assert "worker process died" in summary.loc[1, "error"]
    assert alone["state"].tolist() == ["failed"] and "worker process died" in alone.loc[0, "error"]


def _slow_minimax(scenario, out_dir, workers_cap):
    """Stands in for run_scenario on a cluster: the minimax scenario is still running when the
    scheduler restarts."""
    import time

    if scenario.settings["objective"] == "minimax":
        time.sleep(60)
    return run_scenario(scenario, out_dir, workers_cap)


def test_a_cluster_that_cancels_the_batch_stops_it_with_one_line(tmp_path, monkeypatch):
    """A scheduler restart cancels the tasks not finished: the batch stops with an OptionError
    naming --scheduler, and the summary holds the scenario that finished before."""
    distributed = pytest.importorskip("distributed")
    import threading

    import planner.batch.run
    from planner.errors import OptionError

    scenarios = read_scenarios(
        _write(tmp_path, "[base]\ncount = 3\n[grid]\nobjective = ['regular', 'minimax']")
    )
    monkeypatch.setattr(planner.batch.run, "run_scenario", _slow_minimax)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, host="127.0.0.1", dashboard_address=":0", processes=True
    ) as cluster:
        regular_done = threading.Event()

        def restart_when_regular_is_done() -> None:
            regular_done.wait(60)
            with distributed.Client(cluster.scheduler_address) as other:
                other.restart(wait_for_workers=False)

        restarter = threading.Thread(target=restart_when_regular_is_done)
        restarter.start()
        with pytest.raises(OptionError, match="cancelled 1 unfinished scenarios"):
            run_batch(
                scenarios,
                tmp_path / "dask",
                scheduler=cluster.scheduler_address,
                on_done=lambda row: regular_done.set(),
            )
        restarter.join()
    summary = pd.read_parquet(tmp_path / "dask" / "summary.parquet")
    assert summary["objective"].tolist() == ["regular"] and summary["state"].tolist() == ["solved"]


def test_scenario_timeline_applies_the_perturbation_inside_the_calendar(shipped):
    scenario = parse_scenarios({"scenarios": [{"perturbation": {"lost_days": 20, "seed": 0}}]})[0]
    changed = scenario_timeline(scenario)
    lost = len(shipped) - len(changed)
    assert 100 < lost < 1000  # 20 days of visits, taken from Cycle 2 (not from 2022)


def _die_on_minimax(scenario, out_dir, workers_cap):
    """Stands in for run_scenario in forked workers: a worker killed in the middle of a batch."""
    import os

    if scenario.settings["objective"] == "minimax":
        os._exit(9)
    return run_scenario(scenario, out_dir, workers_cap)


def test_a_killed_worker_fails_its_scenarios_not_the_batch(tmp_path, monkeypatch):
    import multiprocessing

    import planner.batch.run

    if multiprocessing.get_start_method() != "fork":
        pytest.skip("the stand-in reaches the workers only when they are forked")
    path = _write(tmp_path, "[base]\ncount = 3\n[grid]\nobjective = ['regular', 'minimax', 'mean']")
    scenarios = read_scenarios(path)
    (tmp_path / "out" / "plans").mkdir(parents=True)
    # A killed writer's temporary file of a plan this batch writes is removed; another .part file
    # (not the batch's) stays (issue 25).
    (tmp_path / "out" / "plans" / f".{scenarios[1].id}.parquet.abc.part").write_bytes(
        b"left by a killed writer"
    )
    (tmp_path / "out" / "plans" / ".x.parquet.abc.part").write_bytes(b"not the batch's")
    monkeypatch.setattr(planner.batch.run, "run_scenario", _die_on_minimax)
    summary = run_batch(scenarios, tmp_path / "out", jobs=1)
    assert "failed" in set(summary["state"]) and summary.loc[1, "state"] == "failed"
    assert "worker process died" in summary.loc[1, "error"]
    assert [p.name for p in (tmp_path / "out").rglob("*.part")] == [".x.parquet.abc.part"]
    monkeypatch.undo()
    again = run_batch(scenarios, tmp_path / "out", jobs=1)
    assert set(again["state"]) <= {"solved", "skipped"} and again.loc[1, "state"] == "solved"


def test_piped_batch_prints_tables_only_with_whole_scenario_ids(tmp_path):
    """Not a terminal: no progress bar in the output (it goes to a terminal's stderr only), and
    every scenario id whole on one line, since it names the scenario's plan file."""
    path = _write(tmp_path, "[base]\ncount = 3\n[grid]\nobjective = ['regular', 'minimax']")
    result = runner.invoke(app, ["batch", str(path), "--out", str(tmp_path / "out")], env={"COLUMNS": "60"})
    assert result.exit_code == 0, result.output
    assert "━━━━ 2/2" not in result.output and "remaining" not in result.output
    for scenario in read_scenarios(path):
        assert (tmp_path / "out" / "plans" / f"{scenario.id}.parquet").is_file()
        assert f"│ {scenario.id} " in result.output


def test_batch_table_keeps_numbers_whole_and_names_sources(tmp_path):
    """A replay scenario's sources print as their names, not a Python list; values, counts and
    interval figures are never split across lines (piped: 120 columns), and a replay has its
    interval figures like a solve."""
    from pathlib import Path

    sources = str(Path("data/raw/dja-json").resolve())
    path = _write(
        tmp_path,
        "[base]\ncount = 4\n"
        "[[scenarios]]\nname = 'churned'\nobjective = 'minimax'\n"
        "perturbation = { cancel_fraction = 0.1, max_delay_hours = 6, seed = 1 }\n"
        f"[[scenarios]]\nname = 'online'\nkind = 'replay'\nsources = ['{sources}']\npolicy = 'greedy'\n",
    )
    result = runner.invoke(app, ["batch", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    summary = pd.read_parquet(tmp_path / "out" / "summary.parquet")
    assert "│ dja-json " in result.output and "['" not in result.output
    assert summary["min_interval_days"].notna().all() and summary["largest_deviation_hours"].notna().all()
    for row in summary.itertuples():
        assert f"│ {row.objective} {row.objective_value_s} " in result.output  # named: objectives mix
        assert f"│ {row.min_interval_days:.3f} " in result.output
    assert "┃ no plan ┃" in result.output  # the degradation table's header, whole


# -- Dask: chunks, a killed worker, SIGTERM and Ctrl-C ----------------------------------------------


def _cluster(distributed, **kwargs):
    """A cluster of this machine on loopback only, with short timeouts and no fixed ports."""
    settings = {"n_workers": 1, "threads_per_worker": 2, "processes": True} | kwargs
    return distributed.LocalCluster(host="127.0.0.1", dashboard_address=":0", **settings)


@given(count=st.integers(1, 200), threads=st.integers(0, 64))
def test_chunks_hold_every_scenario_once_in_order(count, threads):
    from planner.batch.run import CHUNKS_PER_THREAD, chunked

    items = list(range(count))
    chunks = chunked(items, threads)
    assert [x for chunk in chunks for x in chunk] == items and all(chunks)
    assert len(chunks) == min(count, CHUNKS_PER_THREAD * max(threads, 1))
    assert max(map(len, chunks)) - min(map(len, chunks)) <= 1


def test_dask_sends_one_task_per_chunk_and_gives_the_local_summary(tmp_path):
    distributed = pytest.importorskip("distributed")
    scenarios = read_scenarios(_write(tmp_path, "[base]\ncount = 2\n[grid]\nseed = [0, 1, 2, 3, 4, 5, 6, 7]"))
    local = run_batch(scenarios, tmp_path / "local", jobs=1)
    with (
        _cluster(distributed, n_workers=1, threads_per_worker=1) as cluster,
        distributed.Client(cluster.scheduler_address) as watcher,
        distributed.get_task_stream(client=watcher) as stream,
    ):
        remote = run_batch(scenarios, tmp_path / "dask", scheduler=cluster.scheduler_address)
    tasks = [t for t in stream.data if t["key"].startswith("run_chunk")]
    assert len(tasks) == 3  # 1 thread: 3 chunks (3, 3 and 2 scenarios), not 8 tasks
    pd.testing.assert_frame_equal(
        local.drop(columns=["build_s", "solve_s", "total_s"]),
        remote.drop(columns=["build_s", "solve_s", "total_s"]),
    )


def _die_on_seed_4(scenario, out_dir, workers_cap):
    """Stands in for run_scenario on a cluster's worker: seed 4 kills the worker process."""
    import os

    if scenario.settings.get("seed") == 4:
        os._exit(9)
    return run_scenario(scenario, out_dir, workers_cap)


def test_a_killed_dask_worker_fails_only_its_scenario_of_a_chunk(tmp_path, monkeypatch):
    """Seed 4 kills its worker in the middle of a chunk of three: once Dask gives up on that chunk
    its scenarios run again one at a time; only seed 4 fails, with the local runner's words."""
    distributed = pytest.importorskip("distributed")
    import dask

    import planner.batch.run

    scenarios = read_scenarios(_write(tmp_path, "[base]\ncount = 2\n[grid]\nseed = [0, 1, 2, 3, 4, 5, 6, 7]"))
    monkeypatch.setattr(planner.batch.run, "run_scenario", _die_on_seed_4)
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        _cluster(distributed, threads_per_worker=1) as cluster,
    ):
        summary = run_batch(scenarios, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert summary["state"].tolist() == ["solved"] * 4 + ["failed"] + ["solved"] * 3
    assert "worker process died" in summary.loc[4, "error"]
    assert summary["error"].isna().sum() == 7


# Runs the real CLI against a cluster with run_scenario replaced: odd seeds hang in their task (a
# long solve), even seeds solve.
SLOW_DASK_BATCH = """
import sys, time
import planner.batch.run

real = planner.batch.run.run_scenario

def slow(scenario, out_dir, cap):
    if scenario.settings.get("seed", 0) % 2:
        time.sleep(60)
    return real(scenario, out_dir, cap)

planner.batch.run.run_scenario = slow
from planner.cli import app
app(sys.argv[1:], prog_name="anneal-planner")
"""


@pytest.mark.parametrize(
    ("signal_name", "code", "word"), [("SIGTERM", 143, "terminated"), ("SIGINT", 130, "interrupted")]
)
def test_dask_batch_stops_on_sigterm_and_ctrl_c_and_a_re_run_resumes(tmp_path, signal_name, code, word):
    distributed = pytest.importorskip("distributed")
    import signal
    import subprocess
    import sys

    from tests.test_hardening import _default_signals

    scenarios = _write(tmp_path, "[base]\ncount = 2\n[grid]\nseed = [0, 1, 2, 3]")
    out = tmp_path / "o"
    with _cluster(distributed, threads_per_worker=4) as cluster:  # 4 threads: every scenario its own task
        command = [
            "batch",
            str(scenarios),
            "--out",
            str(out),
            "--quiet",
            "--scheduler",
            cluster.scheduler_address,
        ]
        process = subprocess.Popen(
            [sys.executable, "-c", SLOW_DASK_BATCH, *command],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_signals,
        )  # fmt: skip
        done = [process.stdout.readline() for _ in range(2)]  # seeds 0 and 2; 1 and 3 now hang
        assert all(" solved " in line for line in done), done
        process.send_signal(getattr(signal, signal_name))
        _, err = process.communicate(timeout=30)
    assert process.returncode == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    summary_file = out / "summary.parquet"
    assert f"{word} after 2 of 4 scenarios; the summary of those is in {summary_file}" in err
    assert pd.read_parquet(summary_file)["seed"].tolist() == [0, 2]
    again = runner.invoke(app, ["batch", str(scenarios), "--out", str(out), "--quiet", "--jobs", "1"])
    assert again.exit_code == 0, again.output
    summary = pd.read_parquet(summary_file)
    assert summary["state"].tolist() == ["solved"] * 4
    assert summary["skipped"].tolist() == [True, False, True, False]  # what finished was kept
