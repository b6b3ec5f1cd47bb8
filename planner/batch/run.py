"""Batch solving: many scenarios, on local processes or a Dask cluster, resumable.

Each scenario writes `DIR/plans/<id>.parquet` (atomically) and yields one summary row; a failing
scenario is recorded with its error and does not stop the others. A re-run skips the scenarios
whose plan exists and passes the checker.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pandas as pd

from planner.batch.scenarios import Scenario
from planner.batch.summary import SUMMARY_FILE, effective_settings, summary_frame, write_summary
from planner.errors import OptionError, PlannerError, brief
from planner.plans.checker import check_plan
from planner.plans.result import interval_statistics, plan_statistics, read_plan
from planner.schedules.perturb import perturb
from planner.schedules.timeline import load_timeline
from planner.solver.proof import optimum
from planner.solver.solve import solve


def scenario_timeline(scenario: Scenario) -> pd.DataFrame:
    return perturb(
        _timeline(scenario.settings.get("timeline")), scenario.perturbation, within=scenario.period()
    )


def _row(scenario: Scenario, **fields) -> dict:
    """One summary row: the scenario's effective settings and its outcome (planner.batch.summary)."""
    return {"scenario": scenario.id, **effective_settings(scenario), "skipped": False, **fields}


def _unsolved(scenario: Scenario, error: str, state: str = "failed", **fields) -> dict:
    """The row of a scenario without a plan: why, in `error`."""
    return _row(scenario, state=state, status=None, objective_value_s=None, error=error, **fields)


def _solved(
    scenario: Scenario,
    relative_plan: str,
    started: float,
    *,
    status: str,
    outcome: dict,
    build_s: float | None,
    solve_s: float | None,
    skipped: bool = False,
) -> dict:
    """The row of a scenario with a plan (solved now, or kept from an earlier run: `skipped`);
    `outcome` holds its objective value and plan statistics."""
    return _row(
        scenario,
        state="solved",
        skipped=skipped,
        plan=relative_plan,
        status=status,
        **outcome,
        build_s=build_s,
        solve_s=solve_s,
        total_s=time.perf_counter() - started,
        error=None,
    )


def _statistics(plan: pd.DataFrame) -> dict:
    stats = plan_statistics(plan)
    served = stats["placed"]
    return {**stats, "missing": len(stats["missing"]), "observations": len(plan), "served": served}


@functools.lru_cache(maxsize=4)
def _timeline(path: str | None) -> pd.DataFrame:
    """Scenarios of a batch mostly share one timeline: read it once per worker process."""
    return load_timeline(path)


def plan_file(out_dir: Path | str, scenario_id: str) -> Path:
    """DIR/plans/<id>.parquet; an id that would land anywhere else is refused, never written."""
    plans = Path(out_dir) / "plans"
    path = plans / f"{scenario_id}.parquet"
    if path.parent != plans or scenario_id.startswith(".") or ".." in scenario_id or "\\" in scenario_id:
        raise OptionError(f"scenario id {scenario_id!r}: expected a plain file name under {plans}")
    return path


def _still_solved(plan_path: Path, instance) -> tuple[pd.DataFrame, dict] | None:
    """May an earlier run's plan stand for this scenario? Only what can be verified again counts:
    a readable plan file of the scenario's objective that passes the checker with the objective
    value it claims, and, when it claims OPTIMAL, whose value the exact DP re-proves optimal
    (planner.solver.proof). Returns its table and metadata; None: solve again (damaged or edited)."""
    try:
        plan, meta = read_plan(plan_path)
    except PlannerError:
        return None  # unreadable leftovers are solved again
    claimed = meta["objective"]["value"]
    if claimed is None or meta["objective"]["name"] != instance.objective:
        return None
    if check_plan(plan, instance, claimed):
        return None
    if meta["status"] == "OPTIMAL" and optimum(instance) != claimed:
        return None
    return plan, meta


def run_scenario(scenario: Scenario, out_dir: str, workers_cap: int) -> dict:
    """Solve one scenario (or find its checked plan from an earlier run). Never raises."""
    started = time.perf_counter()
    try:
        plan_path = plan_file(out_dir, scenario.id)
        relative_plan = str(Path("plans") / plan_path.name)  # as the summary records it
        if scenario.joint:
            return run_joint_scenario(scenario, plan_path, relative_plan, workers_cap, started)
        if scenario.kind == "replay":
            from planner.batch.replay import run_replay_scenario

            return _row(
                scenario, plan=str(Path("plans") / scenario.id), **run_replay_scenario(scenario, out_dir)
            )
        instance = scenario.instance(scenario_timeline(scenario))
        settings = scenario.solver_settings(workers_cap)
        earlier = _still_solved(plan_path, instance) if plan_path.exists() else None
        if earlier is not None:
            plan, meta = earlier
            return _solved(
                scenario,
                relative_plan,
                started,
                skipped=True,
                status=meta["status"],
                outcome={"objective_value_s": meta["objective"]["value"], **_statistics(plan)},
                build_s=meta.get("build_seconds"),
                solve_s=meta.get("solve_seconds"),
            )
        result = solve(instance, settings)
        if not result.status.has_plan:  # time limit, UNKNOWN: no plan, and the summary says why
            return _row(
                scenario,
                state="unsolved",
                status=result.status.value,
                objective_value_s=None,
                build_s=result.build_seconds,
                solve_s=result.solve_seconds,
                total_s=time.perf_counter() - started,
                error=f"no plan: the solver ended {result.status.value} within the time limit "
                f"of {settings.time_limit:g} s",
            )
        result.to_parquet(plan_path)
        return _solved(
            scenario,
            relative_plan,
            started,
            status=result.status.value,
            outcome={"objective_value_s": result.value, **_statistics(result.plan)},
            build_s=result.build_seconds,
            solve_s=result.solve_seconds,
        )
    except PlannerError as err:
        state = "infeasible" if err.exit_code == 1 else "failed"
        return _unsolved(scenario, str(err), state, total_s=time.perf_counter() - started)
    except Exception as err:  # a bug must not stop the batch either; keep its traceback for the report
        error = f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}"
        return _unsolved(scenario, error, total_s=time.perf_counter() - started)


def joint_outcome(plan: pd.DataFrame, stages: list[dict]) -> dict:
    """A joint plan's summary fields: served counts (in total and per program), runs placed, the
    weekly series' interval statistics, and every stage's value (`objective_value_s`: the weekly
    programs' objective stage, the second when it is not displacement)."""
    from planner.plans.joint_result import served_observations
    from planner.solver.joint import DISPLACEMENT, SERVED

    per_program: list[dict[str, Any]] = []
    for name, group in plan.groupby("program", sort=False):
        served_count, observations_count = served_observations(group)
        per_program.append(
            {"program": name, "served": served_count, "observations": observations_count,
             "placed": int(group["slew_time"].notna().sum()), "runs": len(group)}
        )  # fmt: skip
    observations = sum(p["observations"] for p in per_program)
    served = sum(p["served"] for p in per_program)
    weekly = [s for s in stages if s["name"] not in (SERVED, DISPLACEMENT)]
    return {
        "objective_value_s": weekly[0]["value"] if weekly else None,
        "observations": observations,
        "served": served,
        "missing": observations - served,
        "placed": int(plan["slew_time"].notna().sum()),
        "served_by_program": per_program,
        "stages": [_stage(s) for s in stages],
        **interval_statistics(plan),
    }


def _stage(stage: dict) -> dict:
    """A stage as the summary keeps it; a value of another type (a file's metadata) is null."""

    def number(value, kind):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value == value
        return kind(value) if ok and abs(value) < 2**62 else None

    return {
        "name": str(stage.get("name")),
        "status": str(stage.get("status")),
        "value": number(stage.get("value"), int),
        "bound": number(stage.get("bound"), float),
    }


def _still_solved_joint(plan_path: Path, instance) -> tuple[pd.DataFrame, dict] | None:
    """May an earlier run's joint plan stand for this scenario? A readable joint plan of the same
    programs, rule sets and timeline that passes the joint checker with the stage values it claims.
    OPTIMAL cannot be re-proven without solving again (the exact DP holds for one program alone):
    the caller states such a plan FEASIBLE. None: solve again."""
    from planner.plans.joint_checker import check_joint
    from planner.plans.joint_file import claimed_stages, read_joint_plan, served_proven
    from planner.solver.solve import timeline_identity

    try:
        plan, meta = read_joint_plan(plan_path)
    except PlannerError:
        return None
    if meta["programs"] != [p.to_dict() for p in instance.programs]:
        return None
    if meta["options"].get("rules") != [r.to_dict() for r in instance.rule_sets]:
        return None
    if meta["timeline"].get("sha256") != timeline_identity(instance.timeline)["sha256"]:
        return None
    claimed = claimed_stages(meta)
    if not claimed or check_joint(plan, instance, claimed=claimed, served_proven=served_proven(meta)):
        return None
    return plan, meta


def run_joint_scenario(
    scenario: Scenario, plan_path: Path, relative_plan: str, workers_cap: int, started: float
) -> dict:
    """A scenario with `programs`: co-plan them (planner.solver.joint), or keep its checked plan.
    `relative_plan`: plan_path as the summary records it."""
    from planner.solver.joint import require_served, solve_joint

    instance = scenario.joint_instance(scenario_timeline(scenario))
    earlier = _still_solved_joint(plan_path, instance) if plan_path.exists() else None
    if earlier is not None:
        plan, meta = earlier
        return _solved(  # verified valid, its OPTIMAL (if claimed) not re-proven: FEASIBLE
            scenario,
            relative_plan,
            started,
            skipped=True,
            status="FEASIBLE",
            outcome=joint_outcome(plan, meta["stages"]),  # read_joint_plan refuses a stage not a table
            build_s=meta.get("build_seconds"),
            solve_s=meta.get("solve_seconds"),
        )
    result = solve_joint(instance, scenario.solver_settings(workers_cap))
    if not scenario.settings.get("allow_missing", True):  # as solve --require-all
        require_served(result, "allow_missing = false")
    result.to_parquet(plan_path)
    return _solved(
        scenario,
        relative_plan,
        started,
        status=result.status.value,
        outcome=joint_outcome(result.plan, [s.to_dict() for s in result.stages]),
        build_s=result.build_seconds,
        solve_s=result.solve_seconds,
    )


def workers_per_job(jobs: int) -> int:
    """CP-SAT workers each job may use so that jobs x workers stays within the cores."""
    return max(1, (os.cpu_count() or 1) // max(jobs, 1))


def _worker_setup(parent: int) -> None:
    """In each worker: Ctrl-C and SIGTERM are the parent's to handle (it stops the workers), and a
    worker whose parent dies ends at once instead of solving on for nobody."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:  # Linux: the kernel kills the worker with its parent
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # elsewhere: watch the parent from a thread
        threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Stop running scenarios now. ProcessPoolExecutor has no public way before Python 3.14
    (`kill_workers`); its `_processes` are the worker processes."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            process.kill()
    pool.shutdown(wait=True, cancel_futures=True)


def _died(scenario: Scenario) -> dict:
    return _unsolved(scenario, "its worker process died (killed, or out of memory) while solving it")


def run_local(scenarios: list[Scenario], out_dir: Path, jobs: int, on_done: Callable[[dict], None]) -> None:
    """A process pool of `jobs` processes on this machine, `jobs` scenarios in flight at a time.

    A worker that dies breaks the pool: a new pool replaces it, and the scenarios that were in
    flight run again one at a time, so the one that kills its worker fails alone and the others
    finish. Ctrl-C (or SIGTERM): the workers are stopped at once, scenarios not finished are not
    in the summary, and KeyboardInterrupt goes on to the caller."""
    cap = workers_per_job(jobs)
    queue = list(scenarios)[::-1]  # pop() takes the next in file order
    suspects: list[Scenario] = []  # in flight when a pool broke: each runs alone, once more
    parent = os.getpid()

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=jobs, initializer=_worker_setup, initargs=(parent,))

    pool = new_pool()
    running: dict = {}
    try:
        while queue or suspects or running:
            alone = bool(suspects)
            while suspects and not running:
                scenario = suspects.pop()
                running[pool.submit(run_scenario, scenario, str(out_dir), cap)] = scenario
            while not alone and queue and len(running) < jobs:
                scenario = queue.pop()
                running[pool.submit(run_scenario, scenario, str(out_dir), cap)] = scenario
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            broken = []
            for future in done:
                scenario = running.pop(future)
                try:
                    row = future.result()
                except BrokenProcessPool:
                    broken.append(scenario)
                    continue
                except Exception as err:  # e.g. a result that cannot be sent back: that scenario fails
                    row = _unsolved(scenario, repr(err))
                on_done(row)
            if broken:
                # Every future of a broken pool fails: collect them all, then judge.
                broken += list(running.values())
                running.clear()
                pool.shutdown(wait=True, cancel_futures=True)
                pool = new_pool()
                if alone or len(broken) == 1:
                    for scenario in broken:
                        on_done(_died(scenario))
                else:
                    suspects.extend(broken[::-1])
    except BaseException:
        _kill_workers(pool)
        raise
    pool.shutdown(wait=True)


def connect(address: str):
    """A Dask client of the scheduler at `address`, or OptionError (exit 2) in one line: called
    before anything is created under --out, so a scheduler that cannot be reached leaves nothing."""
    try:
        from distributed import Client
    except ImportError:
        raise OptionError(
            "--scheduler needs dask.distributed: pip install 'anneal-planner[cluster]'"
        ) from None
    try:
        return Client(address, timeout="10s")
    except Exception as err:  # OSError, TimeoutError; TypeError for tls:// without TLS settings; ...
        raise OptionError(
            f"--scheduler {address}: cannot connect to a Dask scheduler there ({brief(err)})"
        ) from None


CHUNKS_PER_THREAD = 3  # enough to balance scenarios of unequal cost, few enough that overhead is nil


def chunked(scenarios: list[Scenario], threads: int) -> list[list[Scenario]]:
    """The scenarios in consecutive chunks, about CHUNKS_PER_THREAD per worker thread: a task costs
    the cluster about a millisecond whatever it does, and one scenario of a small batch less."""
    count = max(1, min(len(scenarios), CHUNKS_PER_THREAD * max(threads, 1)))
    size, longer = divmod(len(scenarios), count)  # the first `longer` chunks hold one more
    bounds = [i * size + min(i, longer) for i in range(count + 1)]
    return [scenarios[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def run_chunk(
    chunk: list[Scenario], out_dir: str, workers_cap: int, run: Callable[..., dict] = run_scenario
) -> list[dict]:
    """One Dask task: the chunk's scenarios one after another, a row each (run_scenario never raises).
    `run` is passed in rather than looked up on the worker, which has its own copy of this module."""
    return [run(scenario, out_dir, workers_cap) for scenario in chunk]


def run_dask(scenarios: list[Scenario], out_dir: Path, client, on_done: Callable[[dict], None]) -> None:
    """The same scenarios on an existing Dask cluster (`client`, as connect() makes it), in chunks
    (`chunked`): one task per chunk, returning its rows; each task may use its worker's threads.

    A worker that dies fails the tasks it was running once Dask has given up on them (its
    `allowed-failures`): as on local processes, their scenarios then run again one at a time, each
    as its own task, so the one that kills its worker fails by itself and the others finish. Tasks
    the cluster cancels (a scheduler restart, a lost connection) stop the batch with one line; the
    summary keeps what finished. Ctrl-C or SIGTERM cancels every task not finished (queued ones
    never start; one already running finishes on its worker, at most its time limit, and its plan is
    found by the next run) and goes on to the caller, which writes the summary of what finished."""
    from distributed import KilledWorker, as_completed

    address = client.scheduler.address
    folder = str(out_dir.resolve())
    with client:
        threads = client.nthreads()
        cap = max(1, min(threads.values(), default=1))

        def submit(chunk: list[Scenario]):
            # run_scenario as this process sees it (the name a test may replace), sent by reference
            return client.submit(run_chunk, chunk, folder, cap, run_scenario, pure=False)

        def rows(future, chunk: list[Scenario]) -> list[dict]:
            try:
                return future.result()
            except KilledWorker:
                return [_died(scenario) for scenario in chunk]
            except Exception as err:  # e.g. rows that cannot be sent back: that chunk's scenarios fail
                return [_unsolved(scenario, repr(err)) for scenario in chunk]

        futures = {submit(chunk): chunk for chunk in chunked(scenarios, sum(threads.values()))}
        pending = set(futures)
        try:
            suspects: list[Scenario] = []
            for future in as_completed(futures):
                pending.discard(future)
                chunk = futures[future]
                if future.status == "cancelled":
                    unfinished = sum(len(futures[f]) for f in pending) + len(chunk)
                    raise OptionError(
                        f"--scheduler {address}: the cluster cancelled {unfinished} unfinished scenarios "
                        "(scheduler restarted or connection lost); the summary holds the finished ones"
                    )
                if future.status == "error" and isinstance(future.exception(), KilledWorker):
                    suspects += chunk  # maybe only beside the one that kills: again, alone
                    continue
                for row in rows(future, chunk):
                    on_done(row)
            if len(suspects) == 1:  # the only one: it is the one that kills
                on_done(_died(suspects[0]))
                return
            for scenario in suspects:  # one at a time, as the local runner does after a broken pool
                alone = submit([scenario])
                pending.add(alone)
                (row,) = rows(alone, [scenario])
                pending.discard(alone)
                on_done(row)
        except BaseException:
            # Ctrl-C, SIGTERM, a cancelled batch: tasks not finished must not start after the batch
            # ends (a running one cannot be stopped from here: it finishes, and writes its plan).
            with contextlib.suppress(Exception):
                client.cancel(list(pending), force=True)
            raise


def summarize(rows: Iterable[dict], scenarios: list[Scenario]) -> pd.DataFrame:
    """One row per scenario, in the scenarios file's order."""
    order = {s.id: i for i, s in enumerate(scenarios)}
    return summary_frame(sorted(rows, key=lambda row: order[row["scenario"]]))


def remove_partial_files(out_dir: Path, scenarios: list[Scenario]) -> None:
    """Temporary files (atomic_path's `.NAME.*.part`) of writers that were killed, where NAME is a
    file this batch writes: its summary, each scenario's plan, a replay scenario's two files. Only
    those, by name: any other `.part` file under --out (another program's, the user's) stays."""
    out_dir = Path(out_dir)
    owned = [(out_dir, SUMMARY_FILE)]
    for scenario in scenarios:
        owned.append((out_dir / "plans", f"{scenario.id}.parquet"))
        if scenario.kind == "replay":  # it writes a folder plans/<id>/
            from planner.online.outcome import REPLAY_FILE, TIMELINE_FILE

            owned += [(out_dir / "plans" / scenario.id, name) for name in (REPLAY_FILE, TIMELINE_FILE)]
    for folder, name in owned:
        for leftover in folder.glob(f".{glob.escape(name)}.*.part"):
            if leftover.is_file() and not leftover.is_symlink():
                leftover.unlink(missing_ok=True)


def check_out_folder(out_dir: Path) -> None:
    """`DIR/plans` must be a folder inside DIR: a symbolic link there would take the plans elsewhere."""
    plans = Path(out_dir) / "plans"
    if plans.is_symlink():
        raise OptionError(
            f"--out {out_dir}: {plans} is a symbolic link; expected a folder inside --out (or none)"
        )
    if plans.exists() and not plans.is_dir():
        raise OptionError(f"--out {out_dir}: {plans} is a file; expected a folder inside --out (or none)")


def run_batch(
    scenarios: list[Scenario],
    out_dir: Path,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    on_done: Callable[[dict], None] = lambda row: None,
    scenarios_file: Path | None = None,
) -> pd.DataFrame:
    """Run every scenario; write and return the summary (also of a batch cut short by Ctrl-C)."""
    out_dir = Path(out_dir)
    check_out_folder(out_dir)
    client = connect(scheduler) if scheduler else None  # before anything is created under --out
    try:
        (out_dir / "plans").mkdir(parents=True, exist_ok=True)
    except BaseException:
        if client is not None:
            client.close()
        raise
    remove_partial_files(out_dir, scenarios)  # of an earlier run that was killed
    rows: list[dict] = []

    def collect(row: dict) -> None:
        rows.append(row)
        on_done(row)

    try:
        if client is not None:
            run_dask(scenarios, out_dir, client, collect)
        else:
            run_local(scenarios, out_dir, jobs, collect)
    finally:  # an interrupted batch still leaves a (partial) summary, written whole
        try:
            summary = summarize(rows, scenarios) if rows else summary_frame([])
            if rows:
                write_summary(summary, out_dir, scenarios_file)
        finally:
            remove_partial_files(out_dir, scenarios)  # of workers stopped while writing
    return summary
