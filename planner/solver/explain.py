"""Why no plan exists: which anneals, which rule, with numbers."""

from __future__ import annotations

import numpy as np

from planner.problem.calendar import DAY, format_instant
from planner.problem.eligibility import WindowSlews, nearest_eligible
from planner.solver.chain import Chain
from planner.solver.oracle import forward


def _outside(window, span: tuple[int, int]) -> str | None:
    """Where a window lies against a timeline's span (its first and last visit): wholly "after" its
    last visit (not published yet), wholly "before" its first (its reports not in it), or None:
    the two overlap."""
    if window.start > span[1]:
        return "after"
    if window.end <= span[0]:
        return "before"
    return None


def empty_windows(
    windows: list[WindowSlews], span: tuple[int, int] | None = None, *, allow_missing: bool = False
) -> str:
    """Each window without an eligible slew and why; `span` (the timeline's first and last visit)
    tells a window the schedule does not cover from one whose visits the rules excluded."""
    empty = [w for w in windows if len(w.rows) == 0]
    rules = f" under rule set {windows[0].rules.name!r}" if windows else ""
    lines = [f"{len(empty)} of {len(windows)} windows have no eligible slew{rules}:"]
    uncovered = False
    for w in empty:
        where = ""
        if span is not None and (side := _outside(w.window, span)):
            edge = ("last", span[1]) if side == "after" else ("first", span[0])
            where = f" ({side} the timeline's {edge[0]} visit, {format_instant(edge[1])})"
        uncovered |= bool(where)
        lines.append("  " + w.explain() + where)
    if uncovered:
        hint = "" if allow_missing else "; --allow-missing plans without these"
        lines.append(f"  (--program, --start and --count set the windows; --timeline the schedule{hint})")
    return "\n".join(lines)


def chain_conflict(chain: Chain) -> str | None:
    """The first anneal that no plan can reach under the pins and minimum gap, or None if one can."""
    reach = forward(chain, "sum")
    for k in range(chain.size):
        if np.isfinite(reach[k]).any():
            continue
        anneal = chain.anneals[k]
        if k == 0:  # only a pin can empty the first layer
            return f"Anneal {anneal:02d}: its pinned slew cannot be used"
        before = chain.anneals[k - 1]
        earliest = int(chain.layers[k - 1][np.isfinite(reach[k - 1])].min())
        latest = int(chain.layers[k][-1] if k not in chain.pinned else chain.layers[k][chain.pinned[k]])
        pinned = [f"Anneal {chain.anneals[j]:02d}" for j in sorted(chain.pinned) if j in (k - 1, k)]
        text = (
            f"Anneal {anneal:02d} cannot follow Anneal {before:02d}: the earliest possible "
            f"Anneal {before:02d} is at {format_instant(earliest)}, and the latest usable slew of "
            f"Anneal {anneal:02d} at {format_instant(latest)} is {(latest - earliest) / DAY:.3f} days "
            f"later; the minimum gap is {chain.min_gap / DAY:.3f} days"
        )
        return text + (f" ({' and '.join(pinned)} pinned)" if pinned else "")
    return None


def unserved(windows: list[WindowSlews], instance) -> dict[int, str]:
    """Why each window without an eligible slew cannot be served, and the nearest eligible slews
    before and after it (within a target interval), with what taking them would cost: the hours
    outside the window, which `--widen-hours` must reach."""
    reasons = {}
    reach = instance.calendar.target_seconds
    starts = instance.timeline["start"]
    span = (int(starts.min().timestamp()), int(starts.max().timestamp())) if len(starts) else None

    def in_timeline(window) -> bool:
        return span is not None and _outside(window, span) is None

    empty = [w.window for w in windows if not len(w.rows)]
    around = nearest_eligible(
        instance.timeline, instance.rule_set, [w for w in empty if in_timeline(w)], reach
    )
    for w in windows:
        if len(w.rows):
            continue
        if not in_timeline(w.window):
            if span is None:
                where = "outside the timeline (no visit at all)"
            elif _outside(w.window, span) == "after":
                where = f"after the timeline's last visit at {format_instant(span[1])}: not published yet"
            else:  # a window of the past whose reports the timeline lacks
                first = format_instant(span[0])
                where = f"before the timeline's first visit at {first}: its reports are not in it"
            reasons[w.window.anneal] = (
                f"{w.window.describe()}: {where}, or a timeline of another cycle (--timeline, --program)"
            )
            continue
        (before, before_id), (after, after_id) = around[w.window.anneal]
        near = []
        if before is not None:
            hours = (w.window.start - before) / 3600
            near.append(f"{before_id} at {format_instant(before)}, {hours:.1f} h before it")
        if after is not None:
            hours = (after - w.window.end) / 3600
            near.append(f"{after_id} at {format_instant(after)}, {hours:.1f} h after it")
        nearest = "; nearest eligible slews: " + " and ".join(near) if near else "; none within a week"
        reasons[w.window.anneal] = w.explain() + nearest
    return reasons
