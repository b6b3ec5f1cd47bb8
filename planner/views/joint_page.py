"""The report page of a joint plan: one lane per program on one UTC time axis, a table per program.

Each program's lane holds its observations' windows (bars; red where the plan does not serve one),
its planned runs (triangles), a campaign run's preferred time (open circle, joined to its run when
the run moved) and the runs that program flew (crosses, by program id: planner.plans.joint_compare).
Below: per program, observations served, runs placed, regularity or displacement, runs moved, and
its runs one per row. Everything from an input (program names, labels, visit ids, targets) is
escaped, as on the one-program page (planner.views.page), whose helpers and style it shares.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.io import atomic_path
from planner.plans.joint_compare import ProgramComparison, compare_joint
from planner.plans.joint_file import JointPlanFile, check_joint_file
from planner.plans.joint_result import MOVED_HOURS, served_observations
from planner.views.joint_view import program_rows
from planner.views.page import SORT_SCRIPT, STYLE, _esc, _facts, _hover, _iso, _number, _table, _when

PLOT_ID = "programs"
LANE_COLOURS = ["#08306b", "#ff7f0e", "#9467bd", "#2ca02c", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
                "#1f77b4", "#7f7f7f"]  # fmt: skip
UNSERVED_COLOUR, FLOWN_COLOUR = "#f4a6a6", "#555555"
JOINT_STYLE = "tr.moved td:nth-child(8) { color: #7a4f01; font-weight: 600; }\nh3 { font-size: 1.05em; }"


def _windows(group: pd.DataFrame) -> pd.DataFrame:
    """One row per observation: its label, window, runs and runs placed."""
    return (
        group.groupby("observation", sort=True)
        .agg(
            label=("label", "first"),
            start=("window_start", "first"),
            end=("window_end", "first"),
            runs=("iteration", "size"),
            placed=("slew_time", "count"),
        )
        .reset_index()
    )


def lanes_figure(plan: pd.DataFrame, comparisons: list[ProgramComparison]):
    """One lane per program (top to bottom in the plan's order), on one UTC time axis."""
    import plotly.graph_objects as go

    fig = go.Figure()
    names = [c.program.name for c in comparisons]
    groups = dict(tuple(plan.groupby("program", sort=False)))
    for lane, comparison in enumerate(comparisons):
        name, y = comparison.program.name, -lane
        colour = LANE_COLOURS[lane % len(LANE_COLOURS)]
        group = groups.get(name, plan.iloc[0:0])
        shown, tag = _esc(name), f"lane{lane}"  # names are the legend's and the axis' text: escaped
        if group.empty:  # a plan without this program's rows (the checker says so): an empty lane
            continue
        windows = _windows(group)
        whole = windows["placed"] == windows["runs"]
        fig.add_trace(
            go.Bar(
                name=f"{shown} windows", legendgroup=tag, showlegend=False, orientation="h",
                base=_iso(windows["start"]),
                x=((windows["end"] - windows["start"]).dt.total_seconds() * 1000).tolist(),
                y=[y] * len(windows), width=0.7, opacity=0.35,
                marker_color=np.where(whole, colour, UNSERVED_COLOUR).tolist(),
                customdata=_hover([
                    windows["label"].map(_esc),
                    windows["start"].map(_when) + " .. " + windows["end"].map(_when),
                    windows["placed"].astype(str) + "/" + windows["runs"].astype(str),
                ]),
                hovertemplate="<b>%{customdata[0]}</b> window %{customdata[1]} UTC<br>"
                "runs placed %{customdata[2]}<extra></extra>",
            )
        )  # fmt: skip
        placed = group[group["slew_time"].notna()]
        moved = (placed["slew_time"] - placed["preferred_time"]).dt.total_seconds() / 3600
        fig.add_trace(
            go.Scatter(
                name=shown, legendgroup=tag, x=_iso(placed["slew_time"]), y=[y] * len(placed),
                mode="markers", marker={"symbol": "triangle-down", "size": 10, "color": colour},
                customdata=_hover([
                    placed["label"].map(_esc), placed["iteration"].astype(str), placed["visit_id"].map(_esc),
                    placed["instrument"].map(_esc), placed["target"].map(_esc),
                    placed["preferred_time"].map(_when),
                    moved.map(lambda h: "" if pd.isna(h) else f"{h:+.1f} h"),
                ]),
                hovertemplate="<b>%{customdata[0]}</b> run %{customdata[1]} %{x|%Y-%m-%d %H:%M:%S} UTC<br>"
                "slew into %{customdata[2]}: %{customdata[3]}<br>target %{customdata[4]}<br>"
                "preferred %{customdata[5]} (%{customdata[6]})<extra>" + shown + "</extra>",
            )
        )  # fmt: skip
        preferred = group[group["preferred_time"].notna()]
        if len(preferred):
            fig.add_trace(
                go.Scatter(
                    name=f"{shown} preferred", legendgroup=tag, showlegend=False,
                    x=_iso(preferred["preferred_time"]), y=[y] * len(preferred), mode="markers",
                    marker={"symbol": "circle-open", "size": 9, "color": colour},
                    customdata=_hover([preferred["label"].map(_esc), preferred["iteration"].astype(str)]),
                    hovertemplate="<b>%{customdata[0]}</b> run %{customdata[1]} preferred "
                    "%{x|%Y-%m-%d %H:%M} UTC<extra></extra>",
                )
            )  # fmt: skip
            far = placed[moved.abs() > MOVED_HOURS]
            xs: list = []
            for a, b in zip(_iso(far["preferred_time"]), _iso(far["slew_time"]), strict=True):
                xs += [a, b, None]
            fig.add_trace(
                go.Scatter(
                    name=f"{shown} moved", legendgroup=tag, showlegend=False, x=xs, y=[y] * len(xs),
                    mode="lines", line={"color": colour, "width": 2}, hoverinfo="skip",
                )
            )  # fmt: skip
        flown = comparison.flown
        fig.add_trace(
            go.Scatter(
                name=f"{shown} flown", legendgroup=tag, showlegend=False, x=_iso(flown["time"]),
                y=[y - 0.3] * len(flown), mode="markers",
                marker={"symbol": "x-thin-open", "size": 7, "color": FLOWN_COLOUR, "line": {"width": 1.5}},
                customdata=_hover([flown["visit_id"].map(_esc), flown["slewed_to"].map(_esc)]),
                hovertemplate="<b>flown %{customdata[0]}</b> %{x|%Y-%m-%d %H:%M:%S} UTC<br>"
                "on the slew into %{customdata[1]}<extra></extra>",
            )
        )  # fmt: skip
    starts = pd.concat([plan["window_start"], plan["slew_time"].dropna()])
    ends = pd.concat([plan["window_end"], plan["slew_time"].dropna()])
    pad = pd.Timedelta(days=2)
    span = _iso([starts.min() - pad, ends.max() + pad]) if len(plan) else None
    fig.update_layout(
        height=max(360, 220 + 60 * len(comparisons)), template="plotly_white", hovermode="closest",
        barmode="overlay", margin={"l": 220, "r": 40, "t": 50, "b": 40},
        # the legend under the range slider: however many rows its programs take, nothing moves
        legend={"orientation": "h", "x": 0, "y": -0.12, "yanchor": "top", "font": {"size": 11}},
    )  # fmt: skip
    fig.update_yaxes(
        tickvals=[-i for i in range(len(names))], ticktext=[_esc(n) for n in names],
        range=[-len(names) + 0.4, 0.6], fixedrange=True, showgrid=False,
    )  # fmt: skip
    fig.update_xaxes(
        type="date", range=span, rangeslider={"visible": True, "thickness": 0.05},
        rangeselector={"buttons": [
            {"count": 7, "label": "1 week", "step": "day", "stepmode": "backward"},
            {"count": 1, "label": "1 month", "step": "month", "stepmode": "backward"},
            {"step": "all", "label": "all"},
        ]},
    )  # fmt: skip
    return fig


def summary_rows(opened: JointPlanFile, comparisons: list[ProgramComparison]) -> list[list]:
    """One row per program: served, runs placed, regularity or displacement, moved, flown."""
    numbers = {row["program"]: row for row in program_rows(opened.plan, opened.meta["programs"])}
    rows = []
    for c in comparisons:
        row = numbers.get(c.program.name, {"served": 0, "observations": 0, "placed": 0, "runs": 0})
        if "sum_abs_deviation_s" in row:
            text = f"Σ|gap - m·target| {row['sum_abs_deviation_s']:,} s"
            measure = (
                f"{text}, worst {row['largest_deviation_hours']:.1f} h",
                str(row["sum_abs_deviation_s"]),
            )
        elif "runs_moved" in row:
            mean = row["mean_displacement_hours"]
            measure = (f"mean {mean:.1f} h, worst {row['largest_displacement_hours']:.1f} h", f"{mean:.6f}")
        else:
            measure = ("", "")
        rows.append([
            c.program.name, c.program.mode,
            (f"{row['served']}/{row['observations']}", str(row["served"])),
            (f"{row['placed']}/{row['runs']}", str(row["placed"])),
            measure,
            ("-", "") if c.weekly else (str(c.moved), str(c.moved)),
            (f"{len(c.flown)}", str(len(c.flown))),
            (f"{c.on_flown_slew}/{row['placed']}", str(c.on_flown_slew)),
        ])  # fmt: skip
    return rows


def program_table(group: pd.DataFrame) -> str:
    """One program's runs, one per row: window, slew, visit, target, and its preferred time and
    displacement (a campaign) or its interval and deviation (a weekly series)."""
    rows, classes = [], []
    row: Any  # a row of itertuples(): its fields are the plan's columns
    for row in group.itertuples():
        moved = (
            (row.slew_time - row.preferred_time).total_seconds() / 3600
            if pd.notna(row.slew_time) and pd.notna(row.preferred_time)
            else np.nan
        )
        rows.append([
            (row.label, f"{row.observation:05d}{row.iteration:03d}"),
            (str(row.iteration), str(row.iteration)),
            (f"{_when(row.window_start)} .. {_when(row.window_end)}", _when(row.window_start)),
            (_when(row.slew_time, seconds=True) or "not served", _when(row.slew_time, seconds=True)),
            row.visit_id if isinstance(row.visit_id, str) else "",
            row.target if isinstance(row.target, str) else "",
            (_when(row.preferred_time), _when(row.preferred_time)),
            _number(moved, 1, " h"),
            _number(row.interval_days, 3, " d"),
            _number(row.deviation_hours, 2, " h"),
        ])  # fmt: skip
        classes.append("missing" if pd.isna(row.slew_time) else "moved" if abs(moved) > MOVED_HOURS else "")
    return _table(
        ["observation", "run", "window (UTC)", "slew (UTC)", "visit", "target", "preferred (UTC)",
         "slew - preferred", "interval", "deviation"],
        rows, numeric={1, 7, 8, 9}, cls="sortable plan", row_classes=classes,
    )  # fmt: skip


def _facts_of(opened: JointPlanFile, problems: list) -> dict:
    meta, plan = opened.meta, opened.plan
    stages = "; ".join(
        f"{s.get('name')} {s.get('value')} ({s.get('status')}"
        + (f", bound {s['bound']:.0f}" if isinstance(s.get("bound"), int | float) else "") + ")"
        for s in meta["stages"] if isinstance(s, dict)
    )  # fmt: skip
    counts = [served_observations(group) for _, group in plan.groupby("program", sort=False)]
    served, observations = sum(c[0] for c in counts), sum(c[1] for c in counts)
    check = "passes here" if not problems else f"fails here: {len(problems)} violations, first: {problems[0]}"
    return {
        "status": f"the file says {meta.get('status')}; the independent checker {check}",
        "programs": f"{len(opened.instance.programs)} co-planned on one set of slews",
        "observations served": f"{served} of {observations}",
        "runs placed": f"{int(plan['slew_time'].notna().sum())} of {len(plan)}",
        "stages, in order": stages + " (served: the priority left unserved; the others in seconds)",
    }


def _provenance(opened: JointPlanFile) -> dict:
    meta = opened.meta
    timeline = meta["timeline"]
    options = {k: v for k, v in meta["options"].items() if k != "rules"}
    rules = "; ".join(
        f"{p.name}: {r.name} (avoids {', '.join(r.avoid) or 'nothing'})"
        for p, r in zip(opened.instance.programs, opened.instance.rule_sets, strict=True)
    )
    return {
        "rule sets, per program": rules,
        "options": ", ".join(f"{k} {v}" for k, v in options.items()),
        "programs as recorded": json.dumps(meta["programs"]),
        "timeline": timeline.get("path") or ", ".join(timeline.get("sources") or []),
        "timeline sha256": timeline.get("sha256") or "(made in memory: none)",
        "versions": ", ".join(f"{k} {v}" for k, v in (meta.get("versions") or {}).items()),
    }


def render_joint(opened: JointPlanFile, title: str) -> str:
    """The page of a joint plan as one string (see the module docstring)."""
    import plotly.io as pio

    plan, instance = opened.plan, opened.instance
    problems = check_joint_file(opened)
    comparisons = compare_joint(plan, instance.timeline, instance.programs)
    figure = pio.to_html(
        lanes_figure(plan, comparisons), include_plotlyjs=True, full_html=False, div_id=PLOT_ID,
        config={"displaylogo": False, "scrollZoom": True, "toImageButtonOptions": {"format": "png"}},
    )  # fmt: skip
    sections = []
    groups = dict(tuple(plan.groupby("program", sort=False)))
    for c in comparisons:
        group = groups.get(c.program.name, plan.iloc[0:0])
        sections.append(
            f'<h3>{_esc(c.program.name)}</h3>\n<p class="note">{_esc(c.program.describe())}</p>\n'
            + program_table(group)
        )
    program_sections = "\n".join(sections)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>
<style>{STYLE}{JOINT_STYLE}</style></head>
<body>
<h1>{_esc(title)}</h1>
{_facts(_facts_of(opened, problems))}
<h2>The programs on one set of slews</h2>
<p class="note">One lane per program. Bars: its observations' windows (red: not served); triangles:
its planned runs; open circles: a campaign run's preferred time, joined to its run when the run moved
more than {MOVED_HOURS:g} h; crosses under the lane: the runs that program flew (by program id). A
click on a program in the legend hides or shows its lane's marks. Drag to zoom, double-click for the
whole plan. Times are UTC.</p>
{figure}
<h2>Per program</h2>
{_table(["program", "mode", "observations served", "runs placed", "regularity or displacement",
         f"runs moved > {MOVED_HOURS:g} h", "runs flown", "on a flown slew"],
        summary_rows(opened, comparisons), numeric={2, 3, 5, 6, 7}, cls="sortable")}
<p class="note">Click a column title to sort. Runs flown: that program's runs in its span on the
timeline; on a flown slew: planned runs on a slew one of its runs flew on.</p>
{program_sections}
<h2>Provenance</h2>
{_facts(_provenance(opened))}
<script>{SORT_SCRIPT}</script>
</body></html>
"""  # fmt: skip


def write_joint_report(opened: JointPlanFile, out: Path, title: str) -> None:
    page = render_joint(opened, title)
    with atomic_path(Path(out)) as temporary:
        temporary.write_text(page, encoding="utf-8")
