"""The independent checker of a joint plan: every program, every observation, every rule, named.

It re-derives what it checks from the programs and the timeline, not from the solver's model:
which slews the planned programs free (their own slew parallels taken off), each observation's
window (a weekly window widened only when it has no eligible slew free of another program's run),
and each slew's rules (the single-program checker's `_Rules`, which re-derives slew durations
too). What it checks:
- one row per run of every observation of every program, and no other row;
- an observation served whole or not at all; each run inside its window, on a slew of the timeline
  that its program's rules allow, recording that slew's instrument and target;
- a campaign's runs in order, consecutive ones at least its separation apart;
- no slew with two slew parallels;
- no weekly window left out while an eligible slew of it is unused (the joint plan serves it then);
- each weekly program's intervals, and the values the plan claims for its stages.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.plans.checker import _Rules, calendar_window, interval_mismatches, objective_value
from planner.problem.calendar import format_instant
from planner.problem.program import program_id
from planner.schedules.report import SLEW_PARALLEL


@dataclass(frozen=True, slots=True)
class JointViolation:
    program: str | None
    observation: int | None
    rule: str
    detail: str

    def __str__(self) -> str:
        where = " ".join(x for x in (self.program, None if self.observation is None else
                                     f"observation {self.observation}") if x)  # fmt: skip
        return f"{where or 'plan'}: {self.rule}: {self.detail}"


def _freed(timeline: pd.DataFrame, programs) -> pd.DataFrame:
    ids = {i for p in programs for i in p.program_ids}
    modes = {p.mode for p in programs if not p.program_ids}

    def planned(parallel) -> bool:
        return parallel["visit_type"] == SLEW_PARALLEL and (
            program_id(parallel.get("visit_id")) in ids or parallel["instrument"] in modes
        )

    freed = timeline.copy()
    freed["parallels"] = [[p for p in ps if not planned(p)] for ps in timeline["parallels"]]
    return freed


def _windows(program, rules: _Rules, widen: int) -> list[tuple[int, int, int, int, tuple[int, ...]]]:
    """(number, start, end, separation, preferred times) of each observation of the program."""
    if program.campaigns:
        return [(n, c.start, c.end, c.separation_seconds, c.preferred_times())
                for n, c in enumerate(program.campaigns, start=1)]  # fmt: skip
    windows: list[tuple[int, int, int, int, tuple[int, ...]]] = []
    for k in range(1, program.calendar.count + 1):
        # widened also when another program holds every eligible slew (its run stays on the slew)
        lo, hi = calendar_window(program.calendar, k, rules, widen)
        windows.append((k, lo, hi, 0, ()))
    return windows


def check_joint(
    plan: pd.DataFrame,
    instance,
    claimed: Mapping[str, int | None] | None = None,
    *,
    served_proven: bool = True,
) -> list:
    """Every rule `plan` breaks as a joint plan of `instance` (planner.problem.joint.JointInstance);
    empty: the plan is valid. `claimed`: stage name -> the value the plan states, checked too (and
    that they are the stages of its programs). `served_proven`: the plan claims its first stage
    proven, so no weekly window is left out while one of its eligible slews is free (a plan cut
    short by a time limit may leave one out)."""
    problems: list[JointViolation] = []
    programs = instance.programs
    freed = _freed(instance.timeline, programs)
    rows = plan.to_dict("records")
    by_key: dict[tuple, list[dict]] = {}
    for row in rows:
        by_key.setdefault((row["program"], int(row["observation"]), int(row["iteration"])), []).append(row)
    expected, windows, rules_of, labels = set(), {}, {}, {}
    for program, rule_set in zip(programs, instance.rule_sets, strict=True):
        rules = _Rules(freed, rule_set.to_dict(), program.avoid, None)  # freed: every run left is taken
        rules_of[program.name] = rules
        observations = _windows(program, rules, instance.widen_seconds)
        if observations:  # the avoided instruments' uses over the program's span, read once
            reach = math.ceil(rules.recovery_minutes * 60) + instance.widen_seconds
            rules.cover(
                min(w[1] for w in observations) - instance.widen_seconds,
                max(w[2] for w in observations) + reach,
            )
        for n, lo, hi, sep, preferred in observations:
            iterations = len(preferred) or 1
            windows[(program.name, n)] = (lo, hi, sep, preferred, iterations)
            labels[(program.name, n)] = f"{program.name} {n:02d}" if program.campaigns else f"Anneal {n:02d}"
            expected |= {(program.name, n, r) for r in range(1, iterations + 1)}
    for key in sorted(set(by_key) - expected, key=str):
        problems.append(JointViolation(key[0], key[1], "unknown", f"run {key[2]} is no run of its program"))
    for key in sorted(expected - set(by_key), key=str):
        problems.append(JointViolation(key[0], key[1], "missing", f"run {key[2]} has no row"))
    for key, found in by_key.items():
        if len(found) > 1:
            problems.append(
                JointViolation(key[0], key[1], "duplicate", f"run {key[2]} has {len(found)} rows")
            )
    if problems:
        return problems

    used: dict[tuple[str, int], str] = {}  # (visit id, slew time) -> the run on it
    served: dict[tuple[str, int], list[int]] = {}
    for (name, n), (lo, hi, sep, preferred, iterations) in windows.items():  # in program order
        rules = rules_of[name]
        runs = [by_key[(name, n, r)][0] for r in range(1, iterations + 1)]
        placed = [not pd.isna(run["slew_time"]) for run in runs]
        for r, run in enumerate(runs):
            if [int(run["window_start"].timestamp()), int(run["window_end"].timestamp())] != [lo, hi]:
                problems.append(JointViolation(name, n, "window", "the plan's window is not the program's"))
            if run["label"] != labels[(name, n)]:
                problems.append(JointViolation(name, n, "label", f"label says {run['label']!r}"))
            stated = None if pd.isna(run["preferred_time"]) else int(run["preferred_time"].timestamp())
            if stated != (preferred[r] if preferred else None):
                problems.append(
                    JointViolation(name, n, "preferred_time", "not the program's preferred time of the run")
                )
        if any(placed) and not all(placed):
            problems.append(JointViolation(name, n, "partial", f"{sum(placed)} of {iterations} runs placed"))
            continue
        if not any(placed):
            continue
        times = [int(run["slew_time"].timestamp()) for run in runs]
        served[(name, n)] = times
        for r, (run, t) in enumerate(zip(runs, times, strict=True), start=1):
            where = f"run {r}: slew at {format_instant(t)}"
            if not lo <= t < hi:
                problems.append(JointViolation(name, n, "outside-window", f"{where} is outside its window"))
            index = rules.find(run["visit_id"], t)
            if index is None:
                problems.append(JointViolation(name, n, "no-visit", f"{where}: no visit {run['visit_id']}"))
                continue
            problems += [
                JointViolation(name, n, rule, f"{where}: {words}") for rule, words in rules.broken(index)
            ]
            visit = rules.visit(index)
            for column in ("instrument", "target"):
                stated, actual = run[column], visit[column]
                if not ((pd.isna(stated) and pd.isna(actual)) or stated == actual):
                    problems.append(JointViolation(name, n, "recorded", f"{where}: {column} says {stated!r}"))
            slew = (str(run["visit_id"]), t)
            if slew in used:
                problems.append(JointViolation(name, n, "shared-slew", f"{where} also carries {used[slew]}"))
            used[slew] = f"{name} observation {n} run {r}"
        for r in range(1, len(times)):
            if times[r] - times[r - 1] < max(sep, 1):
                problems.append(
                    JointViolation(
                        name, n, "separation",
                        f"runs {r} and {r + 1} are {(times[r] - times[r - 1]) / 3600:.2f} h apart "
                        f"(at least {sep / 3600:g} h, in order)",
                    )
                )  # fmt: skip

    taken = {t for _, t in used}
    weekly = {p.name for p in programs if not p.campaigns} if served_proven else set()
    for (name, n), (lo, hi, *_rest) in windows.items():
        if name in weekly and (name, n) not in served:
            rules = rules_of[name]
            first, last = np.searchsorted(rules.starts, [lo, hi])
            free = next((i for i in range(first, last) if int(rules.starts[i]) not in taken
                         and not rules.broken(int(i))), None)  # fmt: skip
            if free is not None:
                problems.append(
                    JointViolation(
                        name, n, "left-out",
                        f"left out although the slew into {rules.columns['visit_id'][free]} at "
                        f"{format_instant(int(rules.starts[free]))} is eligible and carries nothing",
                    )
                )  # fmt: skip
    problems += _intervals(plan, programs)
    if claimed is not None:
        expected_stages = _stage_names(programs)
        if list(claimed) != expected_stages:
            problems.append(
                JointViolation(
                    None,
                    None,
                    "stages",
                    f"claims stages {list(claimed)}; its programs' are {expected_stages}",
                )
            )
        problems += _claims(claimed, instance, served, windows)
    return problems


def _stage_names(programs) -> list[str]:
    """The stages a joint plan of these programs has (re-derived: see planner.solver.joint)."""
    weekly = {p.objective for p in programs if not p.campaigns}
    names = ["served"]
    if weekly:
        names += [*weekly, *(["regular"] if weekly != {"regular"} else [])]
    return names + (["displacement"] if any(p.campaigns for p in programs) else [])


def _weekly_times(program, served) -> tuple[list[int], list[int]]:
    numbers = sorted(n for name, n in served if name == program.name)
    return [served[(program.name, n)][0] for n in numbers], numbers


def _intervals(plan: pd.DataFrame, programs) -> list[JointViolation]:
    problems = []
    unserved = plan[
        plan["slew_time"].isna() & (plan["interval_days"].notna() | plan["deviation_hours"].notna())
    ]
    for row in unserved.to_dict("records")[:5]:
        problems.append(
            JointViolation(
                row["program"], int(row["observation"]), "interval_days", "an unserved run has intervals"
            )
        )
    for program in programs:
        rows = plan[(plan["program"] == program.name) & plan["slew_time"].notna()].sort_values("observation")
        if program.campaigns:
            if rows["interval_days"].notna().any() or rows["deviation_hours"].notna().any():
                problems.append(
                    JointViolation(program.name, None, "interval_days", "a campaign has no intervals")
                )
            continue
        times = [int(t.timestamp()) for t in rows["slew_time"]]
        numbers = rows["observation"].astype(int).tolist()
        for n, a, b in zip(numbers[1:], times, times[1:], strict=False):
            if b <= a:  # overlapping windows: still in calendar order
                problems.append(
                    JointViolation(program.name, n, "order", "not after the previous observation")
                )
        for k, column, stated, value in interval_mismatches(
            rows, times, numbers, program.calendar.target_seconds
        ):
            problems.append(JointViolation(program.name, k, column, f"says {stated}, the times give {value}"))
    return problems


def _claims(claimed: Mapping[str, int | None], instance, served: dict, windows: dict) -> list[JointViolation]:
    programs = instance.programs
    weekly = [p for p in programs if not p.campaigns]
    actual: dict[str, int] = {
        "served": sum(p.priority for p in programs for (name, n) in windows if name == p.name
                      and (name, n) not in served),
        "displacement": sum(abs(t - w[3][r]) for (name, n), times in served.items()
                            for w in [windows[(name, n)]] if w[3] for r, t in enumerate(times)),
    }  # fmt: skip
    for kind in ("regular", "minimax", "mean"):
        actual[kind] = sum(
            objective_value(*_weekly_times(p, served), kind, p.calendar.target_seconds) for p in weekly
        )
    problems = []
    for stage, value in claimed.items():
        if stage not in actual:
            problems.append(JointViolation(None, None, "objective", f"unknown stage {stage!r}"))
        elif value != actual[stage]:
            problems.append(
                JointViolation(
                    None,
                    None,
                    "objective",
                    f"{stage}: the plan claims {value}, its runs give {actual[stage]}"
                    + ("" if stage == "served" else " (seconds)"),
                )
            )
    return problems
