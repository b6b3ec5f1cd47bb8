"""`anneal-planner diff OLD NEW`: what changed between two plans (last week's and this week's
`next`, or two solves): anneals moved to another slew, dropped, added, with the change in each
one's deviation from its multiple of the target and the reason where the plans record one.

Reasons, in order: the newer plan's weekly metadata (`online.reasons` for a week it cannot serve,
`online.why` where the policy left greedy's slew); a pin of the newer plan (a flown or fixed
anneal); an old slew that the newer plan's timeline no longer has (the schedule changed under it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from planner.errors import InputError
from planner.plans.result import placed_rows
from planner.problem.calendar import to_seconds


@dataclass
class PlanDiff:
    old: str
    new: str
    rows: pd.DataFrame  # one row per anneal that changed (DIFF_COLUMNS)
    unchanged: int
    timeline_checked: bool  # whether the newer plan's timeline could be read for vanished slews

    def counts(self) -> dict[str, int]:
        changes = self.rows["change"].value_counts() if len(self.rows) else pd.Series(dtype=int)
        return {kind: int(changes.get(kind, 0)) for kind in ("moved", "dropped", "added")}

    def to_dict(self) -> dict:
        return {
            "old": self.old,
            "new": self.new,
            **self.counts(),
            "unchanged": self.unchanged,
            "timeline_checked": self.timeline_checked,
            "anneals": self.rows,
        }


DIFF_COLUMNS = [
    "anneal", "change", "old_slew", "old_visit", "new_slew", "new_visit",
    "old_deviation_hours", "new_deviation_hours", "deviation_change_hours", "reason",
]  # fmt: skip


def _placed(plan: pd.DataFrame) -> dict[int, tuple[str, int, float]]:
    """Anneal -> (visit id, slew seconds, deviation hours) of every placed, not missed, anneal."""
    rows = placed_rows(plan)
    times = to_seconds(rows["slew_time"])
    return {
        int(k): (str(v), int(t), float(d))
        for k, v, t, d in zip(rows["anneal"], rows["visit_id"], times, rows["deviation_hours"], strict=True)
    }


def _text(meta: dict, key: str) -> dict[int, str]:
    """`online.reasons` or `online.why` of a weekly plan: anneal -> text; anything else ignored."""
    recorded = meta.get("online", {}).get(key, {})
    if not isinstance(recorded, dict):
        return {}
    return {
        int(k): " ".join(v.split())[:500]
        for k, v in recorded.items()
        if isinstance(k, str) and k.isdigit() and len(k) < 6 and isinstance(v, str)
    }


def comparable(old, new) -> bool:
    """Whether plans of programs `old` and `new` can be compared anneal by anneal: the same mode
    and the same grid of windows (one may be cut shorter, as a weekly plan's is)."""
    return (old.mode, old.calendar.start, old.calendar.target_seconds) == (
        new.mode,
        new.calendar.start,
        new.calendar.target_seconds,
    )


def diff_plans(old: Path | str, new: Path | str, timeline_paths=None, timeline=None) -> PlanDiff:
    """The changes from plan `old` to plan `new` (both read as untrusted plan files). `timeline`:
    the newer plan's timeline when the caller holds it already (the weekly job, which just wrote
    `new` on it), instead of reading the one `new` names again."""
    from planner.plans.planfile import _read_plan, named_timeline
    from planner.schedules.timeline import load_timeline

    old, new = Path(old), Path(new)
    old_plan, _, old_recorded = _read_plan(old)
    new_plan, new_meta, recorded = _read_plan(new)
    old_program, new_program = old_recorded.instance.program, recorded.instance.program
    if not comparable(old_program, new_program):
        raise InputError(
            new,
            f"a plan of {new_program.describe()}, {old} one of {old_program.describe()}: "
            "expected two plans of one program and calendar",
        )
    before, after = _placed(old_plan), _placed(new_plan)
    missed = _text(new_meta, "reasons")
    why = _text(new_meta, "why")
    pinned = {pin.anneal for pin in recorded.instance.pins}
    slews: set[tuple[str, int]] | None = None
    try:  # the newer plan's timeline: which old slews it no longer has
        # (the newer plan is read already: only its timeline is opened, as open_plan would)
        if timeline is None:
            timeline = load_timeline(
                timeline_paths if timeline_paths is not None else named_timeline(new, new_meta)
            )
        slews = set(
            zip(timeline["visit_id"].astype(str), to_seconds(timeline["start"]).tolist(), strict=True)
        )
    except InputError:
        if timeline_paths is not None:  # asked for by the user: its fault is theirs to see
            raise
    rows = []
    unchanged = 0
    for k in sorted(set(before) | set(after)):
        was, now = before.get(k), after.get(k)
        if was is not None and now is not None and was[:2] == now[:2]:
            unchanged += 1
            continue
        change = "added" if was is None else "dropped" if now is None else "moved"
        reasons = []
        if k in missed and change != "added":
            reasons.append(f"cannot be served: {missed[k]}")
        if k in why and change != "dropped":
            reasons.append(why[k])
        if k in pinned and change != "dropped":
            reasons.append("pinned in the newer plan (flown or fixed)")
        if was is not None and slews is not None and (was[0], was[1]) not in slews:
            reasons.append("the old slew is no longer in the newer plan's timeline")
        old_dev = was[2] if was is not None else None
        new_dev = now[2] if now is not None else None
        rows.append(
            {
                "anneal": k,
                "change": change,
                "old_slew": pd.Timestamp(was[1], unit="s", tz="UTC") if was else pd.NaT,
                "old_visit": was[0] if was else None,
                "new_slew": pd.Timestamp(now[1], unit="s", tz="UTC") if now else pd.NaT,
                "new_visit": now[0] if now else None,
                "old_deviation_hours": old_dev,
                "new_deviation_hours": new_dev,
                "deviation_change_hours": (
                    abs(new_dev) - abs(old_dev) if old_dev is not None and new_dev is not None else None
                ),
                "reason": "; ".join(reasons) or None,
            }
        )
    frame = pd.DataFrame(rows, columns=DIFF_COLUMNS)
    return PlanDiff(str(old), str(new), frame, unchanged, slews is not None)
