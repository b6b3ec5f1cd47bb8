"""The static picture of a plan, for papers and slides (the interactive page is planner.views.page):
the cycle as lanes over a UTC date axis, and each interval against its multiple of the target."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

from planner.errors import OptionError
from planner.io import atomic_path, format_by_suffix
from planner.plans.result import PlanFile
from planner.views.cycle_view import ELIGIBLE, CycleView, cycle_view

# Bounded digit counts: thousands of digits are refused as text, before int() would raise ValueError.
_WEEKS = re.compile(r"^\s*(\d{1,30})\s*(?:-\s*(\d{1,30}))?\s*$")


def parse_weeks(text: str, count: int) -> tuple[int, int]:
    """`--weeks 10-14` (or `12`) -> (10, 14), checked against the calendar's weeks."""
    match = _WEEKS.match(text)
    if match is None:
        raise OptionError(f"--weeks {text!r}: expected A-B, e.g. 10-14 (calendar weeks 1..{count})")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if not 1 <= first <= last <= count:
        raise OptionError(f"--weeks {text!r}: expected 1 <= A <= B <= {count}, the calendar's weeks")
    return first, last


def plan_figure(opened: PlanFile, weeks: tuple[int, int] | None = None):
    """A matplotlib figure: lanes of MIRI use, eligible slews, plan and flown anneals over the
    calendar windows (top); each interval's deviation from its multiple of the target (bottom).
    `weeks` (first, last) zooms to those calendar weeks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    view: CycleView = cycle_view(opened)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(14, 6.5), sharex=True, height_ratios=[1.2, 1])
    for w in view.windows.itertuples():
        top.axvspan(w.start, w.end, color="#dbe9f6" if w.eligible else "#f6d5d5", lw=0)
        bottom.axvspan(w.start, w.end, color="#eef4fa" if w.eligible else "#f9e6e6", lw=0)
    eligible = view.slews[view.slews["rule"] == ELIGIBLE]
    placed = view.plan[view.plan["slew_time"].notna()]
    top.plot(view.miri["time"], [3] * len(view.miri), "|", color="#c0392b", ms=10, label="MIRI use")
    top.plot(eligible["time"], [2] * len(eligible), ".", color="#7f8c8d", ms=3, label="eligible slew")
    top.plot(placed["slew_time"], [1] * len(placed), "v", color="#1f5fa8", ms=7, label="plan")
    top.plot(view.flown["time"], [0] * len(view.flown), "x", color="#1e8449", ms=7, label="flown")
    top.set_yticks([0, 1, 2, 3], ["flown", "plan", "eligible slews", "MIRI use"])
    top.set_ylim(-0.7, 3.7)
    shown = "" if weeks is None else f", weeks {weeks[0]}-{weeks[1]}"
    top.set_title(f"Anneal windows (blue; red: no eligible slew), slews and anneals{shown}")

    target = view.calendar.target_days
    bottom.axhline(0, color="black", lw=0.8)
    for frame, style, colour, label in (
        (view.plan_intervals, "o-", "#1f5fa8", "plan"),
        (view.flown_intervals, "x-", "#1e8449", "flown"),
    ):
        if len(frame):
            bottom.plot(frame["time"], frame["deviation_hours"], style, color=colour, ms=4, lw=1, label=label)
    bottom.set_ylabel("hours")
    bottom.set_title(f"Interval minus its multiple of {target:g} days (twice it across a missing anneal)")
    bottom.legend(loc="upper right", fontsize="small")

    if weeks is None:
        lo, hi = view.first - pd.Timedelta(days=2), view.last + pd.Timedelta(days=2)
    else:
        lo, hi = view.weeks(*weeks)
        lo, hi = lo - pd.Timedelta(hours=12), hi + pd.Timedelta(hours=12)
    bottom.set_xlim(lo, hi)
    locator = mdates.AutoDateLocator(tz="UTC")
    bottom.xaxis.set_major_locator(locator)
    bottom.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz="UTC"))
    bottom.set_xlabel("UTC")
    fig.tight_layout()
    return fig


# By suffix: vector formats for papers; PNG at 200 dpi, sharp on a slide projected full screen (the
# figure is 12 in wide: 2,400 pixels), where 90 dpi showed its text blurred.
FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}
PNG_DPI = 200


def plot_format(path: Path) -> str:
    """'png', 'pdf' or 'svg' by the file's suffix; OptionError naming --out for any other."""
    return format_by_suffix(path, FORMATS)


def figure_bytes(fig, kind: str = "png") -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    # No creation date in the PDF or SVG: the same plan draws the same bytes.
    metadata = {"CreationDate": None} if kind == "pdf" else {"Date": None} if kind == "svg" else None
    fig.savefig(buffer, format=kind, dpi=PNG_DPI, metadata=metadata)
    plt.close(fig)
    return buffer.getvalue()


def write_plot(opened: PlanFile, out: Path, weeks: tuple[int, int] | None = None) -> None:
    data = figure_bytes(plan_figure(opened, weeks), plot_format(out))
    with atomic_path(Path(out)) as temporary:
        temporary.write_bytes(data)
