"""Which slews of a timeline may carry an anneal under a rule set, window by window, and why not.

The rules themselves (names, order, what each matches) are described in `planner.problem.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.problem.calendar import Calendar, Window, to_seconds
from planner.problem.rules import CARRIES, NO_SLEW, SLEW_TIME, Exclusion, RuleSet, load_rules
from planner.schedules.report import SLEW_PARALLEL
from planner.schedules.timeline import uses_instruments


@dataclass(frozen=True, slots=True)
class WindowSlews:
    """The eligible slews of one window (`rows` index the timeline) and the exclusion counts."""

    window: Window
    rows: np.ndarray
    times: np.ndarray
    visits: int
    excluded: dict[str, int]  # rule name -> visits of the window it excluded, every rule of the set
    rules: RuleSet

    def explain(self) -> str:
        return f"{self.window.describe()}: {self.rules.counted(self.visits, self.excluded, len(self.rows))}"


def _is_one_of(values: pd.Series, wanted: set[str]) -> np.ndarray:
    """Rows whose value, stripped and case-folded, is in `wanted` (already folded). A column holds
    few distinct values (prime modes, visit types, categories): each is folded once."""
    codes, distinct = pd.factorize(values, use_na_sentinel=True)
    hit = np.array([str(v).strip().casefold() in wanted for v in distinct] + ["" in wanted], dtype=bool)
    return hit[codes]  # code -1 (a missing value) reads the last entry: the empty text


def matches(timeline: pd.DataFrame, exclusion: Exclusion) -> np.ndarray:
    """Visits whose destination fields match any value the exclusion lists."""
    hit = np.zeros(len(timeline), dtype=bool)
    for column, values in (
        ("instrument", exclusion.prime_modes),
        ("visit_type", exclusion.visit_types),
        ("category", exclusion.categories),
    ):
        if values:
            hit |= _is_one_of(timeline[column], {v.casefold() for v in values})
    if exclusion.programs:
        program = timeline["visit_id"].fillna("").astype(str).str.split(":").str[0]
        hit |= program.isin(set(exclusion.programs)).to_numpy()
    if exclusion.keywords:
        wanted = {k.casefold() for k in exclusion.keywords}
        keywords = timeline["keywords"].fillna("").astype(str)
        hit |= np.array(
            [bool(wanted & {k.strip().casefold() for k in text.split(",")}) for text in keywords], dtype=bool
        )
    return hit


def _carries_other_slew_parallel(timeline: pd.DataFrame, own: str | None) -> np.ndarray:
    """A slew parallel other than one of mode `own` is attached (a slew carries at most one); `own`
    None: any slew parallel."""
    carries = np.zeros(len(timeline), dtype=bool)
    # Only visits with some slew parallel need their attached rows read; every one of them is.
    parallels = timeline["parallels"].to_numpy()
    for i in np.flatnonzero(timeline["slew_parallel"].notna().to_numpy()):
        carries[i] = any(
            p["visit_type"] == SLEW_PARALLEL and (own is None or p["instrument"] != own) for p in parallels[i]
        )
    return carries


def _too_short(timeline: pd.DataFrame, minutes: float) -> np.ndarray:
    """Slews shorter than `minutes`, or of unknown duration: neither can be shown to hold the slew
    parallel (`slew_seconds`, planner.schedules.timeline)."""
    if minutes <= 0:
        return np.zeros(len(timeline), dtype=bool)
    seconds = timeline["slew_seconds"].astype("Int64")
    return (seconds.isna() | (seconds < minutes * 60)).to_numpy(dtype=bool, na_value=True)


def _recovering(starts: np.ndarray, uses: np.ndarray, minutes: float) -> np.ndarray:
    """Slews after which use of an avoided instrument begins within `minutes` (its recovery)."""
    if minutes <= 0:
        return np.zeros(len(starts), dtype=bool)
    use_starts = starts[uses]
    following = np.searchsorted(use_starts, starts, side="left")
    padded = np.append(use_starts, np.iinfo(np.int64).max)  # "no use ever after"
    return padded[following] - starts < minutes * 60


def exclusion_reason(
    timeline: pd.DataFrame, rules: RuleSet | None = None, rows: slice = slice(None), *, freed: bool = False
) -> np.ndarray:
    """For every visit of `rows` (default all), the name of the first rule it fails ('' when it is
    an eligible slew). Use of an avoided instrument after `rows` still counts for the recovery rule.

    A slew carrying a slew parallel of the program's own mode is where one of its runs flew, and may
    carry a run of the plan. `freed`: the planned programs' own slew parallels have been taken off
    the timeline (planner.problem.joint.free_slews), so one left on a slew is the run of a program
    not planned, whatever its mode, and the slew is taken."""
    rules = load_rules(rules)
    starts = to_seconds(timeline["start"])
    uses = uses_instruments(timeline, rules.avoid)
    part = timeline.iloc[rows]
    failed = {
        NO_SLEW: ~part["is_slew"].to_numpy(bool),
        rules.to_avoided: uses[rows],
        CARRIES: _carries_other_slew_parallel(part, None if freed else rules.mode),
        **{e.name: matches(part, e) for e in rules.exclusions},
        SLEW_TIME: _too_short(part, rules.min_slew_minutes),
        rules.recovery: _recovering(starts, uses, rules.miri_recovery_minutes)[rows],
    }
    reason = np.full(len(part), "", dtype=object)
    for rule in reversed(rules.rule_names()):
        reason[failed[rule]] = rule  # reversed, so the first rule failed wins
    return reason


def window_slews(
    timeline: pd.DataFrame,
    calendar: Calendar,
    rules: RuleSet | None = None,
    widen_seconds: int = 0,
    *,
    freed: bool = False,
) -> list[WindowSlews]:
    """Eligible slews per calendar window, with how many visits each rule excluded. A window with
    no eligible slew is widened by `widen_seconds` on both sides when that is asked for (the
    planner's `--widen-hours`): its Window then has the widened bounds. `freed`: as for
    `exclusion_reason`."""
    rules = load_rules(rules)
    starts = to_seconds(timeline["start"])
    if len(starts) and np.any(np.diff(starts) < 0):
        raise ValueError("timeline must be sorted by start")
    # Only the visits of the calendar's span are judged: a cycle's calendar covers part of a timeline.
    span = (calendar.windows[0].start - widen_seconds, calendar.windows[-1].end + widen_seconds)
    first, last = np.searchsorted(starts, span, side="left")
    reason = exclusion_reason(timeline, rules, slice(first, last), freed=freed)
    names = rules.rule_names()

    def judged(window: Window) -> WindowSlews:
        lo, hi = np.searchsorted(starts, [window.start, window.end], side="left")
        inside = reason[lo - first : hi - first]
        eligible = np.flatnonzero(inside == "") + lo
        return WindowSlews(
            window=window,
            rows=eligible,
            times=starts[eligible],
            visits=int(hi - lo),
            excluded={rule: int(np.count_nonzero(inside == rule)) for rule in names},
            rules=rules,
        )

    result = []
    for window in calendar.windows:
        slews = judged(window)
        if widen_seconds and not len(slews.rows):
            slews = judged(Window(window.anneal, window.start - widen_seconds, window.end + widen_seconds))
        result.append(slews)
    return result


def nearest_eligible(timeline: pd.DataFrame, rules: RuleSet, windows: list[Window], reach: int) -> dict:
    """Per window (by anneal), the eligible slews nearest before it opens and after it closes,
    within `reach` seconds of it: ((start seconds or None, visit id or None), same after). The
    rules are applied once, over the span the windows and their reach cover."""
    if not windows:
        return {}
    starts = to_seconds(timeline["start"])
    span = (min(w.start for w in windows) - reach, max(w.end for w in windows) + reach)
    lo, hi = np.searchsorted(starts, span, side="left")
    eligible = np.flatnonzero(exclusion_reason(timeline, rules, slice(lo, hi)) == "") + lo
    times, ids = starts[eligible], timeline["visit_id"].to_numpy()[eligible]
    nearest = {}
    for window in windows:
        first, last = np.searchsorted(times, [window.start, window.end], side="left")
        before = (
            (int(times[first - 1]), str(ids[first - 1]))
            if first and times[first - 1] >= window.start - reach
            else (None, None)
        )
        after = (
            (int(times[last]), str(ids[last]))
            if last < len(times) and times[last] < window.end + reach
            else (None, None)
        )
        nearest[window.anneal] = (before, after)
    return nearest
