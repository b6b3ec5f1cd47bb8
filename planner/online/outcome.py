"""How a replay did: its plan table, checked against the final timeline, beside the hindsight
optimum of the same cycle and rules, the greedy baseline and the anneals actually flown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from planner import __version__, limits
from planner.errors import InternalError
from planner.io import files_sha256, write_parquet
from planner.online.policies import Greedy, Policy
from planner.online.prior import NO_PRIOR, Prior
from planner.online.replay import Anneal, Replay, prior_cut, replay
from planner.plans.checker import check_plan
from planner.plans.compare import flown_in_calendar, flown_weeks, intervals
from planner.plans.result import DECISION_FIELDS, PLAN_SCHEMA
from planner.problem.calendar import DAY, Calendar, to_seconds
from planner.problem.instance import Instance
from planner.problem.rules import RuleSet
from planner.problem.settings import SolverSettings
from planner.schedules.history import History
from planner.schedules.timeline import write_timeline

REPLAY_SCHEMA = pa.schema([*PLAN_SCHEMA, *DECISION_FIELDS])
REPLAY_FILE = "replay.parquet"
TIMELINE_FILE = "timeline.parquet"


def chain_metrics(numbers, times, target: int) -> dict:
    """Placed count, Σ|gap − m·target| (s), worst |gap − m·target| (h), measured as `compare`
    measures them (`numbers`: anneal numbers, or the calendar weeks of flown anneals)."""
    deviation = intervals(times, numbers, target)["deviation_s"].abs().to_numpy()
    return {
        "placed": len(times),
        "sum_abs_deviation_s": int(deviation.sum()),
        "worst_deviation_hours": float(deviation.max() / 3600) if len(deviation) else 0.0,
    }


def flown_metrics(flown: np.ndarray, calendar: Calendar) -> dict:
    """The anneals actually flown within the calendar (their times: `flown_in_calendar`), measured
    the same way; m = weeks apart."""
    return chain_metrics(flown_weeks(flown, calendar), flown, calendar.target_seconds)


def on_common_weeks(plans: dict[str, pd.DataFrame], flown: np.ndarray, calendar: Calendar) -> dict:
    """Each plan and the flown anneals measured on the same weeks: those where the flown anneals
    and every plan each hold one (a plan's anneal k lies in calendar week k; of two flown anneals
    in one week, the first). Over the whole cycle a plan that places more anneals than flew (the
    text reports miss days, so some flown anneals are not in them) has more intervals to pay for;
    on common weeks both chains span the same weeks, so their Σ|gap − m·target| compare directly.
    `flown`: the flown anneals' times (`flown_in_calendar`). Returns {"weeks": how many, "flown_s":
    the flown's Σ, "plans_s": {name: the plan's Σ}}."""
    weeks = flown_weeks(flown, calendar)
    placed = {}
    for name, plan in plans.items():
        rows = plan[plan["slew_time"].notna()].sort_values("anneal", kind="stable")
        if rows["anneal"].duplicated().any():
            raise InternalError(f"plan {name!r} places an anneal twice")
        placed[name] = rows
    common = np.unique(weeks)
    for rows in placed.values():
        common = np.intersect1d(common, rows["anneal"].to_numpy())
    first = np.searchsorted(weeks, common)  # weeks ascend with the times: the first of each

    def measured(chain_times) -> int:
        return chain_metrics(common, chain_times, calendar.target_seconds)["sum_abs_deviation_s"]

    return {
        "weeks": len(common),
        "flown_s": measured(flown[first]),
        "plans_s": {
            name: measured(to_seconds(rows.loc[rows["anneal"].isin(common), "slew_time"]))
            for name, rows in placed.items()
        },
    }


def replay_frame(outcome: Replay) -> pd.DataFrame:
    """One row per window: the plan file's columns, then decided_at, replans and state.

    state: `flown` (placed, slew before the last report's issue date), `planned` (placed, later),
    `missed` (no eligible slew when decided or re-decided), `unpublished` (no report's schedule
    reaches the window: nothing to decide on, so not counted as missed)."""
    anneals = outcome.anneals
    placed = [a for a in anneals if a.placed]
    times = np.array([a.time for a in placed], dtype=np.int64)
    numbers = np.array([a.window.anneal for a in placed], dtype=np.int64)
    measured = intervals(times, numbers, outcome.calendar.target_seconds).set_index("anneal").to_dict("index")
    rows = []
    for a in anneals:
        k = a.window.anneal
        interval = measured.get(k)
        rows.append(
            {
                "anneal": k,
                "label": a.window.label,
                "window_start": a.window.start,
                "window_end": a.window.end,
                "visit_id": a.visit_id,
                "slew_time": a.time,
                "instrument": a.instrument,
                "target": a.target,
                "interval_days": np.nan if interval is None else interval["interval_s"] / DAY,
                "deviation_hours": np.nan if interval is None else interval["deviation_s"] / 3600,
                "decided_at": a.decided_at,
                "replans": a.replans,
                "state": _state(a, outcome),
            }
        )
    frame = pd.DataFrame(rows)
    for column in ("window_start", "window_end", "slew_time"):
        frame[column] = pd.to_datetime(frame[column].astype("Int64"), unit="s", utc=True).dt.as_unit("s")
    return frame


def _state(anneal: Anneal, outcome: Replay) -> str:
    if anneal.time is not None:
        return "flown" if anneal.time < outcome.last_issued else "planned"
    return "unpublished" if anneal.window.start > outcome.reaches else "missed"


def verify(outcome: Replay, frame: pd.DataFrame, instance: Instance) -> dict:
    """Check the replayed plan against the final timeline with the independent checker.

    Two findings are expected of an online plan, and returned by anneal instead of raised:
    `vanished`, flown slews that a later report removed, and `missed_with_slews`, missed anneals
    whose window, in hindsight, had an eligible slew. Anything else is a bug. `instance`: the
    final timeline's, as `hindsight` makes it."""
    problems = check_plan(frame[PLAN_SCHEMA.names], instance)
    vanished, missed, other = [], [], []
    for problem in problems:
        if problem.anneal is not None and problem.rule == "no-visit":
            vanished.append(problem.anneal)
        elif problem.anneal is not None and problem.rule == "left-out":
            missed.append(problem.anneal)
        else:
            other.append(problem)
    if other:
        raise InternalError(f"the replayed plan failed the checker: {other[0]}")
    return {"vanished": vanished, "missed_with_slews": missed}


@dataclass
class ReplayRun:
    outcome: Replay
    frame: pd.DataFrame
    summary: dict


def run_replay(
    history: History,
    calendar: Calendar,
    policy: Policy,
    rules: RuleSet,
    *,
    compare: bool = True,
    prior: Prior = NO_PRIOR,
    on_progress: Callable[[str], None] | None = None,
) -> ReplayRun:
    """Replay with `policy` (learning from `prior` too); with `compare`, also greedy, the hindsight
    optimum and the flown. `on_progress` hears each step (a report, the hindsight solve)."""
    say = on_progress or (lambda _text: None)
    outcome = replay(history, calendar, policy, rules, prior, on_progress=say)
    frame = replay_frame(outcome)
    target = calendar.target_seconds
    placed = frame[frame["slew_time"].notna()]
    mine = chain_metrics(placed["anneal"], to_seconds(placed["slew_time"]), target) | {
        "missed": int((frame["state"] == "missed").sum()),
        "unpublished": int((frame["state"] == "unpublished").sum()),
        "replanned": int((frame["replans"] > 0).sum()),
    }
    # The final schedule as a problem: the checker's and the hindsight optimum's
    hindsight_instance = Instance.of_calendar(outcome.final, calendar, rules, allow_missing=True)
    summary: dict[str, Any] = {
        "policy": policy.name,
        "rules": rules.name,
        "reports": len(history.issues),
        "windows": calendar.count,
        "prior": prior.describe(calendar, prior_cut(history), policy.sample_weeks),
        "result": mine | verify(outcome, frame, hindsight_instance),
    }
    if compare:
        from planner.solver.solve import solve

        say("solving the hindsight optimum")
        hindsight = solve(hindsight_instance)
        best = hindsight.plan[hindsight.plan["slew_time"].notna()]
        summary["hindsight"] = chain_metrics(best["anneal"], to_seconds(best["slew_time"]), target) | {
            "status": hindsight.status.value
        }
        if policy.name != "greedy":
            greedy = replay_frame(replay(history, calendar, Greedy(), rules, on_progress=say))
            g = greedy[greedy["slew_time"].notna()]
            summary["greedy"] = chain_metrics(g["anneal"], to_seconds(g["slew_time"]), target)
        _, flown = flown_in_calendar(outcome.final, calendar)
        summary["flown"] = flown_metrics(flown, calendar)
        plans = {"result": frame} | ({"greedy": greedy} if policy.name != "greedy" else {})
        summary["flown"]["common_weeks"] = on_common_weeks(plans, flown, calendar)
        reference = summary["hindsight"]["sum_abs_deviation_s"]
        for key in ("result", "greedy", "flown"):
            if key in summary and reference:
                summary[key]["ratio_to_hindsight"] = summary[key]["sum_abs_deviation_s"] / reference
    return ReplayRun(outcome, frame, summary)


def write_replay(run: ReplayRun, folder: Path) -> Path:
    """`folder/replay.parquet`: one row per anneal, the summary and provenance in its metadata;
    beside it `folder/timeline.parquet`, the final timeline the replay was checked against, so the
    folder is complete for `anneal-planner report folder`."""
    path = Path(folder) / REPLAY_FILE
    timeline_path = Path(folder) / TIMELINE_FILE
    write_timeline(run.outcome.final, timeline_path)
    meta = {
        "kind": "replay",
        "summary": run.summary,
        "calendar": run.outcome.calendar.to_dict(),
        "options": {"rules": run.outcome.rules.to_dict(), "policy": run.outcome.policy},
        "events": run.outcome.events,
        "timeline": {"file": TIMELINE_FILE, "sha256": files_sha256([timeline_path])},
        "versions": {"planner": __version__},
    }
    write_parquet(run.frame, REPLAY_SCHEMA, meta, path, json_default=str)
    return path


def open_replay(folder: Path):
    """A replay folder as the report reads it: (plan file view, replay table, summary).

    The plan view is the replayed plan on the replay's final timeline, with the rules it was
    replayed under; its status says it was planned online (FEASIBLE, no bound)."""
    from planner.errors import InputError, brief
    from planner.io import read_parquet, typed_frame
    from planner.plans.result import PlanFile
    from planner.problem.calendar import Calendar
    from planner.schedules.timeline import load_timeline
    from planner.solver.solve import timeline_identity

    folder = Path(folder)
    path = folder / REPLAY_FILE
    if not path.is_file():
        raise InputError(folder, f"no {REPLAY_FILE} here; expected a folder written by 'replay --out'")
    try:
        table, meta = read_parquet(path, max_rows=limits.MAX_PLAN_ROWS)
    except (pa.ArrowException, OSError, ValueError, RecursionError) as err:
        raise InputError(path, f"not a readable Parquet file ({brief(err)})") from None
    if meta.get("kind") != "replay" or table.schema.names != REPLAY_SCHEMA.names:
        raise InputError(path, "not a replay table; expected a file written by 'replay --out'")
    # The columns' types and the anneals' order, as written: damage is refused here, not met later.
    frame = typed_frame(table, REPLAY_SCHEMA, path, "replay")
    anneals = frame["anneal"].to_numpy()
    if frame["anneal"].isna().any() or list(anneals) != list(range(1, len(frame) + 1)):
        raise InputError(
            path, "anneals are not numbered 1..n in order; expected a file written by 'replay --out'"
        )
    timeline = load_timeline(folder / TIMELINE_FILE)
    recorded_timeline, versions = meta.get("timeline"), meta.get("versions", {})
    if not isinstance(recorded_timeline, dict) or not isinstance(versions, dict):
        raise InputError(path, "damaged replay metadata (timeline and versions must be tables)")
    identity = timeline_identity(timeline)  # its sha256 is the file's, as written above
    if recorded_timeline.get("sha256") != identity["sha256"]:
        raise InputError(folder / TIMELINE_FILE, "the timeline changed since the replay was written")
    try:
        calendar = Calendar.from_dict(meta["calendar"])
        # Only a recorded table: a name or a path in a damaged file would load some other rule set.
        rules = RuleSet.from_dict(meta["options"]["rules"], str(path))
        instance = Instance.of_calendar(timeline, calendar, rules, allow_missing=True)
        summary = meta["summary"]
        value = int(summary["result"]["sum_abs_deviation_s"])
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(path, f"damaged replay metadata ({err})") from None
    plan_meta = {
        "kind": "plan",
        "status": "FEASIBLE",
        "objective": {"name": "regular", "value": value, "bound": None},
        "program": instance.program.to_dict(),
        "calendar": calendar.to_dict(),
        "options": instance.options() | SolverSettings().to_dict(),
        "timeline": identity,
        "versions": versions,
        "checked": True,
        "missing": [int(k) for k in frame.loc[frame["slew_time"].isna(), "anneal"]],
        "online": {"policy": summary.get("policy")},
    }
    plan = PlanFile(frame[PLAN_SCHEMA.names], plan_meta, instance, SolverSettings())
    return plan, frame, summary
