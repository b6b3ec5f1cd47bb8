"""What a timeline holds: counts by visit type and instrument, and eligible slews per window."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from planner.problem.calendar import Calendar, to_timestamps
from planner.problem.eligibility import window_slews
from planner.problem.rules import RuleSet, load_rules

KNOWN_VISIT_TYPES = frozenset(
    {
        "PRIME TARGETED FIXED",
        "PRIME TARGETED MOVING",
        "PRIME WFSC ROUTINE",
        "PRIME UNTARGETED",
        "FULL BIASED MOMENTUM UNLOAD",
        "PRIME STATION KEEPING",
        "PRIME WFSC SENSING ONLY",
        "PRIME WFSC SENSING CONTROL",
    }
)
# Mode prefixes seen in the STScI reports; the non-science ones belong to engineering visits.
KNOWN_INSTRUMENTS = (
    "MIRI",
    "NIRCam",
    "NIRSpec",
    "NIRISS",
    "FGS",
    "WFSC",
    "Realtime Commanding",
    "Station Keeping",
    "Pointing Only",
    "(none)",
)


@dataclass
class TimelineSummary:
    visits: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    by_visit_type: pd.Series
    by_instrument: pd.Series
    unknown_visit_types: pd.Series  # visits per unknown visit type
    unknown_instruments: pd.Series  # visits per unknown instrument mode
    weeks: pd.DataFrame  # one row per calendar window; `excluded_<rule>` counts per rule
    rules: RuleSet
    # Slews into targeted visits (`is_slew`): how many, how many of unknown duration (`slew_seconds`
    # null), how many overlap (negative: the visit starts before the previous one ends).
    slew_time: dict[str, int] = field(default_factory=dict)


def summarize(timeline: pd.DataFrame, calendar: Calendar, rules: RuleSet | None = None) -> TimelineSummary:
    rules = load_rules(rules)
    instruments = timeline["instrument"].fillna("(none)")
    weeks = pd.DataFrame(
        [
            {
                "anneal": w.window.anneal,
                "label": w.window.label,
                "window_start": to_timestamps([w.window.start])[0],
                "visits": w.visits,
                "slews": w.visits - w.excluded["no-slew"],
                "eligible": len(w.rows),
                **{f"excluded_{rule}": n for rule, n in w.excluded.items()},
            }
            for w in window_slews(timeline, calendar, rules)
        ]
    )
    return TimelineSummary(
        visits=len(timeline),
        first=timeline["start"].min() if len(timeline) else None,
        last=timeline["start"].max() if len(timeline) else None,
        by_visit_type=timeline["visit_type"].value_counts(),
        by_instrument=instruments.value_counts(),
        unknown_visit_types=timeline.loc[
            ~timeline["visit_type"].isin(KNOWN_VISIT_TYPES), "visit_type"
        ].value_counts(),
        unknown_instruments=instruments[~instruments.str.startswith(KNOWN_INSTRUMENTS)].value_counts(),
        weeks=weeks,
        rules=rules,
        slew_time=slew_time_counts(timeline),
    )


def slew_time_counts(timeline: pd.DataFrame) -> dict[str, int]:
    """Slews into targeted visits, those of unknown duration, and overlaps (negative duration)."""
    slews = timeline.loc[timeline["is_slew"].to_numpy(bool), "slew_seconds"]
    return {
        "slews": len(slews),
        "unknown": int(slews.isna().sum()),
        "overlaps": int((slews.dropna() < 0).sum()),
    }
