"""The independent checker: re-derives every rule from the timeline and the calendar.

It shares no logic with the model, the eligibility filter or the oracle, and imports no solver:
a plan that passes here is valid whatever the solver did. Each violation names its anneal.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
import pandas as pd

from planner.calendar import DAY, format_instant, to_seconds

# Written out again on purpose (see planner.report and planner.timeline): the checker re-derives the
# rules from DOMAIN.md itself, so a mistake there cannot hide the same mistake here.
SLEW_TYPES = {"PRIME TARGETED FIXED", "PRIME TARGETED MOVING"}
SLEW_PARALLEL = "PARALLEL SLEW CALIBRATION"


def _seconds(series: pd.Series) -> list[int]:
    return to_seconds(series).tolist()


def _uses_miri(instrument, parallels) -> bool:
    """Prime mode MIRI, or MIRI in an attached row that is not a slew parallel."""
    if str(instrument or "").startswith("MIRI"):
        return True
    return any(
        p["visit_type"] != SLEW_PARALLEL and str(p["instrument"] or "").startswith("MIRI") for p in parallels
    )


def objective_value(times: list[int], objective: str, target: int) -> int:
    """The objective of DOMAIN.md for slew times in calendar order (seconds)."""
    deviations = [abs(b - a - target) for a, b in zip(times, times[1:], strict=False)]
    if objective == "mean":
        return abs(times[-1] - times[0] - (len(times) - 1) * target) if times else 0
    if objective == "minimax":
        return max(deviations, default=0)
    return sum(deviations)


def check_plan(
    plan: pd.DataFrame, timeline: pd.DataFrame, calendar, options, claimed: int | None = None
) -> list[str]:
    """Every violated rule, one line each; an empty list means the plan is valid.

    `calendar` needs start, count, window_seconds and target_seconds; `options` needs
    objective, min_gap_days and miri_recovery_minutes.
    """
    problems: list[str] = []
    anneals = plan["anneal"].tolist()
    expected = list(range(1, calendar.count + 1))
    for k in sorted(set(expected) - set(anneals)):
        problems.append(f"Anneal {k:02d}: missing from the plan")
    for k in sorted({a for a in anneals if anneals.count(a) > 1 or a not in expected}):
        problems.append(f"Anneal {k:02d}: appears {anneals.count(k)} times or is not in the calendar")
    if problems:
        return problems

    plan = plan.sort_values("anneal")
    times = _seconds(plan["slew_time"])
    visit_start = _seconds(timeline["start"])
    by_key = {(vid, t): i for i, (vid, t) in enumerate(zip(timeline["visit_id"], visit_start, strict=True))}
    miri_starts = sorted(
        t
        for t, instrument, parallels in zip(
            visit_start, timeline["instrument"], timeline["parallels"], strict=True
        )
        if _uses_miri(instrument, parallels)
    )
    recovery = options.miri_recovery_minutes * 60

    for (_, row), t in zip(plan.iterrows(), times, strict=True):
        k = int(row["anneal"])
        name = f"Anneal {k:02d}"
        lo = calendar.start + (k - 1) * calendar.target_seconds
        hi = lo + calendar.window_seconds
        if not lo <= t < hi:
            problems.append(
                f"{name}: slew at {row['slew_time']} is outside its window "
                f"[{format_instant(lo)}, {format_instant(hi)})"
            )
        if _seconds(pd.Series([row["window_start"], row["window_end"]])) != [lo, hi]:
            problems.append(f"{name}: the plan's window does not match the calendar")
        index = by_key.get((row["visit_id"], t))
        if index is None:
            problems.append(
                f"{name}: no visit {row['visit_id']} starts at {row['slew_time']} in the timeline"
            )
            continue
        visit = timeline.iloc[index]
        if visit["visit_type"] not in SLEW_TYPES:
            problems.append(f"{name}: visit {row['visit_id']} is {visit['visit_type']}, which has no slew")
        if _uses_miri(visit["instrument"], visit["parallels"]):
            problems.append(f"{name}: visit {row['visit_id']} uses MIRI ({visit['instrument']})")
        others = [
            p["instrument"]
            for p in visit["parallels"]
            if p["visit_type"] == SLEW_PARALLEL and p["instrument"] != "MIRI Anneal"
        ]
        if others:
            problems.append(f"{name}: slew into {row['visit_id']} already carries {others[0]}")
        following = bisect.bisect_left(miri_starts, t)
        if recovery > 0 and following < len(miri_starts) and miri_starts[following] < t + recovery:
            problems.append(
                f"{name}: MIRI use starts {(miri_starts[following] - t) / 60:.0f} min after the "
                f"anneal; the recovery needs {options.miri_recovery_minutes:g} min"
            )

    target = calendar.target_seconds
    min_gap = max(1, round(options.min_gap_days * DAY))
    for k, (a, b) in enumerate(zip(times, times[1:], strict=False), start=2):
        if b - a < min_gap:
            problems.append(
                f"Anneal {k:02d}: only {(b - a) / DAY:.3f} days after the previous anneal "
                f"(needs at least {min_gap / DAY:.3f} and calendar order)"
            )
    if len(set(times)) != len(times):
        problems.append("two anneals share one slew")

    intervals = [np.nan] + [(b - a) / DAY for a, b in zip(times, times[1:], strict=False)]
    for k, stated, actual in zip(plan["anneal"], plan["interval_days"], intervals, strict=True):
        if not (math.isnan(actual) and pd.isna(stated)) and not math.isclose(stated, actual, abs_tol=1e-9):
            problems.append(f"Anneal {int(k):02d}: interval_days says {stated}, the times give {actual}")

    if claimed is not None:
        value = objective_value(times, options.objective, target)
        if value != claimed:
            problems.append(
                f"objective {options.objective}: the plan claims {claimed} s, its times give {value} s"
            )
    return problems


def check_plan_file(path, timeline_paths=None) -> tuple[list[str], int]:
    """Check a plan file against a timeline (given, else the one named in the plan, else shipped)."""
    from pathlib import Path

    from planner.calendar import Calendar
    from planner.options import SolveOptions
    from planner.result import read_plan
    from planner.timeline import load_timeline

    plan, meta = read_plan(path)
    if timeline_paths is None and meta["timeline"].get("path") and Path(meta["timeline"]["path"]).is_file():
        timeline_paths = [meta["timeline"]["path"]]
    elif timeline_paths is None and meta["timeline"].get("sources"):
        timeline_paths = meta["timeline"]["sources"]
    timeline = load_timeline(timeline_paths)
    options = SolveOptions(**meta["options"])
    problems = check_plan(
        plan,
        timeline,
        Calendar.from_dict(meta["calendar"]),
        options,
        claimed=meta["objective"]["value"],
    )
    return problems, len(plan)
