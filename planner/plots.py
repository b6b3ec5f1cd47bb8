"""Pictures of a plan: the cycle as a timeline, and the intervals against the target."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from planner.compare import executed_anneals
from planner.eligibility import window_slews
from planner.io import atomic_path
from planner.result import PlanFile


def plan_figure(opened: PlanFile):
    """A matplotlib figure: lanes of MIRI use, eligible slews, plan and executed anneals over the
    calendar windows (top); intervals between anneals against the target (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    calendar, timeline, plan = opened.calendar, opened.timeline, opened.plan
    windows = window_slews(timeline, calendar, opened.options.rules)
    lo = pd.Timestamp(calendar.start, unit="s", tz="UTC")
    hi = pd.Timestamp(windows[-1].window.end, unit="s", tz="UTC")
    inside = timeline[(timeline["start"] >= lo) & (timeline["start"] < hi)]
    eligible = timeline.iloc[[i for w in windows for i in w.rows]]
    flown = executed_anneals(inside)
    placed = plan[plan["slew_time"].notna()]

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(14, 6.5), sharex=True, height_ratios=[1.2, 1])
    for w in windows:
        top.axvspan(
            pd.Timestamp(w.window.start, unit="s", tz="UTC"),
            pd.Timestamp(w.window.end, unit="s", tz="UTC"),
            color="#dbe9f6" if len(w.rows) else "#f6d5d5",
            lw=0,
        )
    miri = inside[inside["uses_miri"]]
    top.plot(miri["start"], [3] * len(miri), "|", color="#c0392b", ms=10, label="MIRI use")
    top.plot(eligible["start"], [2] * len(eligible), ".", color="#7f8c8d", ms=3, label="eligible slew")
    top.plot(placed["slew_time"], [1] * len(placed), "v", color="#1f5fa8", ms=7, label="plan")
    top.plot(flown["time"], [0] * len(flown), "x", color="#1e8449", ms=7, label="executed")
    top.set_yticks([0, 1, 2, 3], ["executed", "plan", "eligible slews", "MIRI use"])
    top.set_ylim(-0.7, 3.7)
    top.set_title("Anneal windows (blue; red: no eligible slew), slews and anneals")

    target = calendar.target_days
    bottom.axhline(target, color="black", lw=0.8)
    bottom.plot(placed["slew_time"], placed["interval_days"], "o-", color="#1f5fa8", ms=3, label="plan")
    if len(flown) > 1:
        times = flown["time"].sort_values()
        bottom.plot(
            times, times.diff().dt.total_seconds() / 86_400, "x-", color="#1e8449", ms=4, label="executed"
        )
    bottom.set_ylabel("interval (days)")
    bottom.set_title(f"Interval since the previous anneal (target {target:g} days)")
    bottom.legend(loc="upper right", fontsize="small")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def figure_png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def write_plot(opened: PlanFile, out: Path) -> None:
    data = figure_png(plan_figure(opened))
    with atomic_path(Path(out)) as temporary:
        temporary.write_bytes(data)
