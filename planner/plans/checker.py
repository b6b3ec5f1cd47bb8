"""The independent checker: re-derives every rule from the timeline and the calendar.

It shares no logic with the model, the eligibility filter or the oracle, and imports no solver:
a plan that passes here is valid whatever the solver did. Each violation is a typed value
(`Violation`: observation, rule, detail) that other code reads by field, never by parsing text.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pyarrow as pa

from planner.problem.calendar import DAY, format_instant, to_seconds

# Written out again on purpose (see planner.schedules.report and planner.schedules.timeline):
# the checker re-derives the rules from docs/domain.md itself, so a mistake there cannot hide the same
# mistake here.
SLEW_TYPES = {"PRIME TARGETED FIXED", "PRIME TARGETED MOVING"}
SLEW_PARALLEL = "PARALLEL SLEW CALIBRATION"


@dataclass(frozen=True, slots=True)
class Violation:
    """One rule a plan breaks: the observation (None for the plan as a whole), the rule's name (a
    slew rule's own name, such as `to-miri`, or one of the plan rules: missing, duplicate, window,
    label, no-slew-time, left-out, outside-window, no-visit, recorded, pin, min-gap, shared-slew,
    interval_days, deviation_hours, objective) and what was found. `str()` is the line a user reads."""

    anneal: int | None
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"Anneal {self.anneal:02d}: {self.detail}" if self.anneal is not None else self.detail


def _uses(instrument, parallels, avoid: tuple[str, ...]) -> bool:
    """Prime mode of an avoided instrument, or one in an attached row that is not a slew parallel."""
    if not avoid:
        return False
    if str(instrument or "").startswith(avoid):
        return True
    return any(
        p["visit_type"] != SLEW_PARALLEL and str(p["instrument"] or "").startswith(avoid) for p in parallels
    )


def objective_value(times: list[int], anneals: list[int], objective: str, target: int) -> int:
    """The objective of docs/domain.md for placed anneals (numbers and slew times, calendar order).

    Across a missing anneal the interval is measured against the right multiple of the target."""
    deviations = [
        abs(times[i + 1] - times[i] - (anneals[i + 1] - anneals[i]) * target) for i in range(len(times) - 1)
    ]
    if objective == "mean":
        return abs(times[-1] - times[0] - (anneals[-1] - anneals[0]) * target) if times else 0
    if objective == "minimax":
        return max(deviations, default=0)
    return sum(deviations)


def _fold(value) -> str:
    return "" if value is None or value != value else str(value).strip().casefold()


def _excluded_by(visit, exclusion: dict) -> str | None:
    """What of the visit a recorded exclusion matches (its words), or None."""
    fields = (
        ("prime_modes", visit["instrument"]),
        ("visit_types", visit["visit_type"]),
        ("categories", visit["category"]),
    )
    for key, value in fields:
        if _fold(value) in {_fold(v) for v in exclusion.get(key, [])}:
            return f"{key[:-1].replace('_', ' ')} {value}"
    program = str(visit["visit_id"]).split(":")[0]
    if program in {str(p) for p in exclusion.get("programs", [])}:
        return f"program {program}"
    keywords = {_fold(k) for k in str(visit["keywords"] or "").split(",")}
    listed = {_fold(k) for k in exclusion.get("keywords", [])}
    if keywords & listed:
        return f"keyword {sorted(keywords & listed)[0]}"
    return None


def _plain(column: pd.Series) -> np.ndarray:
    """A text column as an array of str and None. Through Arrow: pandas' own conversion of an Arrow
    string column with nulls costs 5-10 ms a column, a tenth of a whole solve."""
    try:
        return pa.array(column).to_numpy(zero_copy_only=False)
    except (pa.ArrowException, TypeError):  # not all text: pandas' objects, NaN for null
        return column.to_numpy()


class _Rules:
    """The slew rules of docs/domain.md and of a recorded rule set (`RuleSet.to_dict()`), over a timeline.

    Only the plan's own slews (and, for a missing anneal, its window) are examined, and for the
    recovery rule the uses of the avoided instruments over the calendar's span, found once (`cover`):
    checking costs in proportion to the calendar, whatever the timeline's length beyond it.

    A slew carrying a slew parallel of `mode` (the program's own: where one of its runs flew) may
    carry the plan's; `mode` None (a joint plan's timeline, its planned programs' own runs taken
    off): a slew parallel left on a slew is another program's, whatever its mode."""

    def __init__(self, timeline: pd.DataFrame, rules: dict, avoid: tuple[str, ...], mode: str | None):
        self.starts = to_seconds(timeline["start"])  # sorted, as a timeline is
        # Plain arrays: a pandas row lookup per slew costs more than the rules themselves.
        self.columns = {
            c: _plain(timeline[c])
            for c in ("visit_id", "visit_type", "instrument", "target", "category", "keywords")
        }
        self.columns["parallels"] = timeline["parallels"].to_numpy()
        self.instruments, self.parallels = self.columns["instrument"], self.columns["parallels"]
        self.instrument_column = timeline["instrument"]
        self.exclusions = rules.get("exclude", [])
        self.recovery_minutes = float(rules.get("miri_recovery_minutes", 0))
        self.min_slew_minutes = float(rules.get("min_slew_minutes", 0))
        self.durations = timeline["duration_s"].to_numpy(dtype=float, na_value=np.nan)
        self.sources = timeline["source"].to_numpy(dtype=object)
        self.avoid, self.mode = tuple(avoid), mode
        self.avoided = "-".join(a.casefold() for a in self.avoid)  # rule names: to-miri, miri-recovery
        # The starts of the visits that use an avoided instrument, ascending, over [covered): the
        # recovery rule is then one binary search per slew, not a scan of the visits after it.
        self.covered = (0, 0)
        self.use_starts = np.zeros(0, dtype=np.int64)

    def cover(self, lo: int, hi: int) -> None:
        """Find the uses of an avoided instrument among the visits starting in [lo, hi) (with those
        already found: one interval, their union), reading each visit once: growing the interval
        reads only what it adds (a checker widening window after window stays linear)."""
        if self.covered[0] >= self.covered[1]:
            self.use_starts, self.covered = self._uses_in(lo, hi), (lo, hi)
            return
        (old_lo, old_hi), parts = self.covered, [self.use_starts]
        if lo < old_lo:
            parts.insert(0, self._uses_in(lo, old_lo))
        if hi > old_hi:
            parts.append(self._uses_in(old_hi, hi))
        if len(parts) > 1:
            self.use_starts = np.concatenate(parts)
            self.covered = (min(lo, old_lo), max(hi, old_hi))

    def _uses_in(self, lo: int, hi: int) -> np.ndarray:
        """Starts of the visits in [lo, hi) that use an avoided instrument, ascending."""
        first, last = (int(i) for i in np.searchsorted(self.starts, [lo, hi]))
        # The prime modes as one column operation; the attached rows of the few visits that have some.
        primes = self.instrument_column.iloc[first:last].str.startswith(self.avoid)
        uses = primes.to_numpy(dtype=bool, na_value=False).copy()  # writable: an Arrow buffer is not
        for offset, attached in enumerate(self.parallels[first:last]):
            if len(attached) and not uses[offset]:
                uses[offset] = _uses(self.instruments[first + offset], attached, self.avoid)
        return self.starts[first:last][uses]

    def first_use(self, t: int, seconds: float) -> int | None:
        """Start of the first use of an avoided instrument in [t, t + seconds), or None."""
        self.cover(t, math.ceil(t + seconds))
        following = int(np.searchsorted(self.use_starts, t, side="left"))
        if following < len(self.use_starts) and self.use_starts[following] < t + seconds:
            return int(self.use_starts[following])
        return None

    def slew_seconds(self, index: int) -> int | None:
        """The slew into visit `index`, re-derived from the timeline's rows (docs/domain.md, "Slew
        time"): from the previous visit's scheduled end to this start; unknown (None) for the first
        visit, after a visit of unknown or negative duration, and across a hole in the data (two
        reports more than 24 h apart)."""
        if index == 0:
            return None
        duration = self.durations[index - 1]
        if not duration >= 0:  # NaN (unknown) or negative: the previous visit's end is not known
            return None
        seconds = int(self.starts[index] - self.starts[index - 1] - duration)
        if self.sources[index] != self.sources[index - 1] and seconds > 86_400:
            return None
        return seconds

    def find(self, visit_id: str, t: int) -> int | None:
        """Index of the visit `visit_id` starting at `t`, or None."""
        lo, hi = np.searchsorted(self.starts, [t, t + 1])
        ids = self.columns["visit_id"][lo:hi].tolist()
        return int(lo) + ids.index(visit_id) if visit_id in ids else None

    def visit(self, index: int) -> dict:
        return {column: values[index] for column, values in self.columns.items()}

    def broken(self, index: int) -> list[tuple[str, str]]:
        """Every rule the slew into visit `index` breaks, as (rule, words); empty: it may carry one."""
        visit = self.visit(index)
        t = int(self.starts[index])
        broken = []
        if visit["visit_type"] not in SLEW_TYPES:
            broken.append(("no-slew", f"{visit['visit_type']} has no slew"))
        names = " or ".join(self.avoid)
        if _uses(visit["instrument"], visit["parallels"], self.avoid):
            broken.append((f"to-{self.avoided}", f"the visit uses {names} ({visit['instrument']})"))
        others = [
            p
            for p in visit["parallels"]
            if p["visit_type"] == SLEW_PARALLEL and (self.mode is None or p["instrument"] != self.mode)
        ]
        if others:
            carried = f"{others[0]['instrument']} ({others[0].get('visit_id') or 'no visit id'})"
            broken.append(("carries-slew-parallel", f"the slew already carries {carried}"))
        for exclusion in self.exclusions:
            matched = _excluded_by(visit, exclusion)
            if matched:
                broken.append((exclusion["name"], f"{exclusion['reason']} ({matched})"))
        if self.min_slew_minutes > 0:
            slew = self.slew_seconds(index)
            if slew is None or slew < self.min_slew_minutes * 60:
                lasted = "of unknown duration" if slew is None else f"{slew / 60:.1f} min long"
                broken.append(
                    (
                        "slew-time",
                        f"the slew is {lasted}; the slew parallel needs {self.min_slew_minutes:g} min",
                    )
                )
        recovery = self.recovery_minutes * 60
        if recovery > 0 and self.avoid:
            use = self.first_use(t, recovery)
            if use is not None:
                broken.append(
                    (
                        f"{self.avoided}-recovery",
                        f"{names} use starts {(use - t) / 60:.0f} min after the slew parallel; the "
                        f"recovery needs {self.recovery_minutes:g} min",
                    )
                )
        return broken

    def eligible_in(self, lo: int, hi: int, broken: Callable[[int], list] | None = None) -> int | None:
        """Index of the first eligible slew starting in [lo, hi), or None; `broken` (default
        `self.broken`) lists the rules the slew into a visit breaks."""
        broken = broken or self.broken
        first, last = np.searchsorted(self.starts, [lo, hi])
        return next((int(i) for i in range(first, last) if not broken(int(i))), None)


def calendar_window(
    calendar, k: int, rules: _Rules, widen: int, broken: Callable[[int], list] | None = None
) -> tuple[int, int]:
    """Window k of a weekly calendar, widened by `widen` seconds on both sides when it holds no
    eligible slew (the planner's --widen-hours), re-derived from the calendar and the rules
    (`broken`: as `_Rules.eligible_in` takes it)."""
    lo = calendar.start + (k - 1) * calendar.target_seconds
    hi = lo + calendar.window_seconds
    if widen and rules.eligible_in(lo, hi, broken) is None:
        lo, hi = lo - widen, hi + widen
    return lo, hi


def interval_mismatches(
    placed: pd.DataFrame, times: list[int], numbers: list[int], target: int
) -> list[tuple]:
    """(number, column, stated, actual) for each `interval_days` or `deviation_hours` of the placed
    rows (in number order, at `times`) that its times do not give (the first has neither)."""
    intervals = [math.nan] + [(b - a) / DAY for a, b in zip(times, times[1:], strict=False)]
    deviations = [math.nan] + [
        (b - a - (n - m) * target) / 3600
        for a, b, m, n in zip(times, times[1:], numbers, numbers[1:], strict=False)
    ]
    if not times:  # nothing placed: no interval to state
        intervals = deviations = []
    mismatches = []
    for column, actual_values in (("interval_days", intervals), ("deviation_hours", deviations)):
        for k, stated, actual in zip(numbers, placed[column], actual_values, strict=True):
            if not (math.isnan(actual) and pd.isna(stated)) and not (
                not pd.isna(stated) and math.isclose(stated, actual, abs_tol=1e-9)
            ):
                mismatches.append((k, column, stated, actual))
    return mismatches


def check_plan(plan: pd.DataFrame, instance, claimed: int | None = None) -> list[Violation]:
    """Every rule `plan` breaks as a plan of `instance` (planner.problem.instance); an empty list
    means the plan is valid. `claimed`: the objective value the plan states, checked too.

    What is read of the instance: its timeline; its program's calendar (start, count,
    window_seconds, target_seconds), objective, avoided instruments and mode; min_gap_days,
    allow_missing, pins, and the rule set's recorded form (`to_dict()`), re-derived here.
    """
    timeline, calendar = instance.timeline, instance.calendar
    problems: list[Violation] = []
    anneals = plan["anneal"].tolist()
    expected = range(1, calendar.count + 1)
    counts = Counter(anneals)  # not anneals.count() per anneal: that is quadratic in the plan's rows
    for k in sorted(set(expected) - set(anneals)):
        problems.append(Violation(k, "missing", "missing from the plan"))
    for k in sorted({a for a, n in counts.items() if n > 1 or a not in expected}):
        problems.append(Violation(k, "duplicate", f"appears {counts[k]} times or is not in the calendar"))
    if problems:
        return problems

    program = instance.program
    rules = _Rules(timeline, instance.rule_set.to_dict(), program.avoid, program.mode)
    plan = plan.sort_values("anneal")
    placed = plan[plan["slew_time"].notna()]
    times = to_seconds(placed["slew_time"]).tolist()
    numbers = [int(k) for k in placed["anneal"]]

    widen = instance.widen_seconds  # windows with no eligible slew, widened as the plan asks
    if rules.recovery_minutes > 0 and rules.avoid:  # the uses after every slew examined, found at once
        end = calendar.start + (calendar.count - 1) * calendar.target_seconds + calendar.window_seconds
        lo, hi = min([calendar.start - widen, *times]), max([end + widen, *times])
        rules.cover(lo, hi + math.ceil(rules.recovery_minutes * 60))
    window_starts, window_ends = to_seconds(plan["window_start"]), to_seconds(plan["window_end"])
    for position, row in enumerate(plan.to_dict("records")):
        k = int(row["anneal"])
        name = f"Anneal {k:02d}"
        lo, hi = calendar_window(calendar, k, rules, widen)
        if (window_starts[position], window_ends[position]) != (lo, hi):
            problems.append(Violation(k, "window", "the plan's window does not match the calendar"))
        if row["label"] != name:
            problems.append(Violation(k, "label", f"label says {row['label']!r}"))
        if pd.isna(row["slew_time"]):
            if not instance.allow_missing:
                problems.append(
                    Violation(k, "no-slew-time", "has no slew (a partial plan needs allow_missing)")
                )
            elif (index := rules.eligible_in(lo, hi)) is not None:
                problems.append(
                    Violation(
                        k,
                        "left-out",
                        f"left out although the slew into {rules.columns['visit_id'][index]} at "
                        f"{format_instant(int(rules.starts[index]))} is eligible",
                    )
                )
            continue
        t = int(row["slew_time"].timestamp())
        if not lo <= t < hi:
            problems.append(
                Violation(
                    k,
                    "outside-window",
                    f"slew at {format_instant(t)} is outside its window "
                    f"[{format_instant(lo)}, {format_instant(hi)})",
                )
            )
        index = rules.find(row["visit_id"], t)
        if index is None:
            problems.append(
                Violation(
                    k, "no-visit", f"no visit {row['visit_id']} starts at {format_instant(t)} in the timeline"
                )
            )
            continue
        problems += [
            Violation(k, rule, f"visit {row['visit_id']}: {rule}: {words}")
            for rule, words in rules.broken(index)
        ]
        visit = rules.visit(index)
        for column in ("instrument", "target"):
            if not _same(row[column], visit[column]):
                problems.append(
                    Violation(k, "recorded", f"{column} says {row[column]!r}, the timeline {visit[column]!r}")
                )

    # The placed anneals' slews (visit id, time), read once: not a row look-up per pin.
    used = dict(zip(numbers, zip(placed["visit_id"].tolist(), times, strict=True), strict=True))
    for pin in instance.pins:
        slew = used.get(pin.anneal)
        if slew is None or slew[0] != pin.visit_id or (pin.time is not None and slew[1] != pin.time):
            problems.append(Violation(None, "pin", f"{pin.describe()}, but the plan does not use that slew"))

    min_gap = max(1, round(instance.min_gap_days * DAY))
    for k, a, b in zip(numbers[1:], times, times[1:], strict=False):
        if b - a < min_gap:
            problems.append(
                Violation(
                    k,
                    "min-gap",
                    f"only {(b - a) / DAY:.3f} days after the previous anneal "
                    f"(needs at least {min_gap / DAY:.3f} and calendar order)",
                )
            )
    if len(set(times)) != len(times):
        problems.append(Violation(None, "shared-slew", "two anneals share one slew"))

    for k, column, stated, actual in interval_mismatches(placed, times, numbers, calendar.target_seconds):
        problems.append(Violation(k, column, f"{column} says {stated}, the times give {actual}"))

    if claimed is not None:
        value = objective_value(times, numbers, instance.objective, calendar.target_seconds)
        if value != claimed:
            problems.append(
                Violation(
                    None,
                    "objective",
                    f"objective {instance.objective}: the plan claims {claimed} s, its times give {value} s",
                )
            )
    return problems


def _same(stated, actual) -> bool:
    return (pd.isna(stated) and pd.isna(actual)) or stated == actual


@dataclass(frozen=True, slots=True)
class Verified:
    """What the checker verified of an opened plan file, beside what its metadata claims.

    problems: the rules the plan breaks, with the objective value the file claims (a claim of no
      value is one); notes: what anneals already flown break (a weekly plan's history, not its
      choices); value: the objective on the plan's own slew times; missing: the anneals without a
      slew, from the plan's rows (the metadata's list is a claim, like its status)."""

    problems: list[Violation]
    notes: list[Violation]
    value: int
    claimed: int | None
    missing: list[int]

    @property
    def valid(self) -> bool:
        return not self.problems


def verify_plan(opened) -> Verified:
    """Check an opened plan file (planner.plans.planfile.PlanFile) as a plan of its instance."""
    plan, instance, calendar = opened.plan, opened.instance, opened.calendar
    claimed = opened.meta["objective"]["value"]
    problems = check_plan(plan, instance, claimed)
    if claimed is None:  # a plan file always states its objective; null would skip that check
        problems.append(
            Violation(None, "objective", f"objective {instance.objective}: the plan claims no value")
        )
    flown = set()
    if "state" in plan:
        flown = {int(k) for k in plan.loc[plan["state"] == "flown", "anneal"]}
    placed = plan[plan["slew_time"].notna()].sort_values("anneal")
    value = objective_value(
        to_seconds(placed["slew_time"]).tolist(),
        [int(k) for k in placed["anneal"]],
        instance.objective,
        calendar.target_seconds,
    )
    return Verified(
        problems=[p for p in problems if p.anneal not in flown],
        notes=[p for p in problems if p.anneal in flown],
        value=value,
        claimed=claimed,
        missing=sorted(int(k) for k in plan.loc[plan["slew_time"].isna(), "anneal"]),
    )


def check_plan_file(path, timeline_paths=None, rules=None, program=None):
    """Check a plan file against a timeline (given, else the one named in the plan, else shipped),
    under `rules` (a rule set name, file or RuleSet) when given, else the rule set the plan records,
    as a plan of `program` (a name, file or Program, with the plan's calendar and objective) when
    given, else of the program the plan records.

    Returns the problems, notes and the opened plan file, whose instance holds the rules checked
    (`legacy_rules` says it was checked under the seed's rules because it records no rule set).
    In a weekly plan (`anneal-planner next`, with a `state` column) anneals marked `flown` are
    history, not choices: what they break is a note, not a violation."""
    from planner.plans.result import open_plan
    from planner.problem.rules import load_rules

    opened = open_plan(path, timeline_paths)
    if program is not None:  # another program's rules, on the plan's own calendar
        from planner.problem.program import load_program

        chosen = replace(load_program(program), calendar=opened.calendar, objective=opened.instance.objective)
        instance = replace(
            opened.instance, program=chosen, rules=opened.instance.rule_set.for_program(chosen)
        )
        opened = replace(opened, instance=instance)
    if rules is not None:  # a rule set named by the user, applied to the plan's (or --program's) program
        instance = replace(opened.instance, rules=load_rules(rules, opened.program))
        opened = replace(opened, instance=instance, legacy_rules=False)
    verified = verify_plan(opened)
    return verified.problems, verified.notes, opened
