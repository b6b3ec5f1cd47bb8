"""The page a planner keeps open: one self-contained, interactive HTML file that works offline.

Drawn with Plotly (plotly.py writes the figure as JSON and inlines the plotly.js bundle, so the page
needs no network): hover, zoom, a range slider and WebGL scatter for thousands of slews come with
it. The only JavaScript written here sorts the plan table and lets a click on a window zoom to its
week. Text from the timeline (targets, modes) is escaped before it reaches the page.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planner.io import atomic_path
from planner.plans.checker import Verified, verify_plan
from planner.plans.compare import compare, executed_text, seconds_and_days
from planner.plans.result import PlanFile
from planner.views.cycle_view import ELIGIBLE, CycleView, cycle_view

PLOT_ID = "cycle"
TOLERANCE_HOURS = 24.0  # the band drawn around the target: a day either way
WORST_MARKED = 3

# Eligible slews in blue; each exclusion rule its own colour, in the order the rules apply.
ELIGIBLE_COLOUR = "#1f77b4"
RULE_COLOURS = ["#bcbd22", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#17becf", "#aec7e8"]
PLAN_COLOUR, FLOWN_COLOUR, MIRI_COLOUR = "#08306b", "#2ca02c", "#d62728"

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em 2em; color: #222; max-width: 1600px; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.88em; }
th, td { border: 1px solid #d0d7de; padding: 0.2em 0.55em; text-align: left; vertical-align: top; }
thead th { background: #eef3f8; position: sticky; top: 0; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.sortable th, table.sortable td { white-space: nowrap; }
table.plan td:nth-child(5), table.plan td:nth-child(6) { white-space: normal; overflow-wrap: anywhere; }
table.sortable thead th { cursor: pointer; user-select: none; }
table.sortable thead th::after { content: " \\2195"; color: #8a9aa9; }
tr.pinned td:first-child::after { content: " pinned"; font-size: 0.8em; color: #7a4f01; }
tr.missing td { color: #b03a2e; }
.facts th { background: #f6f8fa; width: 14em; }
.note { color: #555; font-size: 0.9em; max-width: 70em; }
.tag { font-size: 0.78em; padding: 0 0.35em; border-radius: 3px; background: #fff3cd; }
"""

SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.from(body.rows);
      var up = th.dataset.order !== "up"; th.dataset.order = up ? "up" : "down";
      var key = function (row) {
        var c = row.cells[column]; return c.dataset.sort !== undefined ? c.dataset.sort : c.textContent;
      };
      var numeric = rows.every(function (r) { var k = key(r); return k === "" || !isNaN(Number(k)); });
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === "" || y === "") { return (x === "") - (y === ""); }  // blanks last either way
        var d = numeric ? Number(x) - Number(y) : (x < y ? -1 : x > y ? 1 : 0);
        return up ? d : -d;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""

# A click on a window's bar zooms both panels to that week (plotly_click is Plotly's event).
CLICK_SCRIPT = """
var gd = document.getElementById("{plot_id}");
gd.on("plotly_click", function (event) {
  var point = event.points[0];
  if (point && point.data.name === "windows") {
    var range = point.customdata.slice(2, 4);  // both panels: after a double-click each autoranges
    Plotly.relayout(gd, {"xaxis.range": range, "xaxis2.range": range});
  }
});
"""


def _esc(value) -> str:
    """Text from an input as text: in HTML, and in Plotly's labels, legends and hover texts, which
    read pseudo-HTML (<b>, <a href>) and entities; '%' too, which a hover template would read as
    the start of a %{field}. Plotly shows the entities as the characters they stand for."""
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    return html.escape(text).replace("%", "&#37;")


def _when(value, seconds: bool = False) -> str:
    if value is None or pd.isna(value):
        return ""
    return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _hover(columns: list) -> np.ndarray | None:
    """A trace's hover columns side by side, one row per point; None for a trace without points
    (plotly's customdata takes no empty array)."""
    return np.column_stack(columns) if len(columns[0]) else None


def _iso(times) -> list[str]:
    """Timestamps as plain UTC strings Plotly reads as dates (no offset: the axis is UTC)."""
    index = pd.DatetimeIndex(times)  # an empty list of times comes without a zone
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return [t.strftime("%Y-%m-%d %H:%M:%S") for t in index]


def _week_range(view: CycleView, week: int) -> list[str]:
    lo, hi = view.weeks(week, week)
    pad = pd.Timedelta(hours=12)
    return _iso([lo - pad, hi + pad])


def _both_axes(span: list[str]) -> dict:
    return {"xaxis.range": span, "xaxis2.range": span}


def cycle_figure(view: CycleView, tolerance_hours: float = TOLERANCE_HOURS):
    """Two panels on one UTC time axis: lanes of windows, slews by rule, MIRI use, plan and flown
    anneals (top); each interval's deviation from its multiple of the target (bottom)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.62, 0.38], vertical_spacing=0.07,
        subplot_titles=(
            "Windows, slews by the rule that excluded them, MIRI use, planned and flown anneals",
            f"Interval minus its multiple of {view.calendar.target_days:g} days (hours)",
        ),
    )  # fmt: skip
    lanes = ["windows", "flown", "plan", "eligible slews"]
    # Lane names are the y axis' tick labels: an exclusion's name (from a rules file or a plan) as text.
    lanes += [f"excluded: {_esc(name)}" for name in view.rules if name != "no-slew"] + ["MIRI use"]
    y = {name: -i for i, name in enumerate(lanes)}

    windows = view.windows
    fig.add_trace(
        go.Bar(
            name="windows",
            orientation="h",
            base=_iso(windows["start"]),
            x=((windows["end"] - windows["start"]).dt.total_seconds() * 1000).tolist(),
            y=[y["windows"]] * len(windows),
            width=0.6,
            marker_color=np.where(windows["eligible"] > 0, "#9ecae1", "#f4a6a6").tolist(),
            customdata=_hover([
                windows["label"].map(_esc),
                windows["eligible"],
                *zip(*(_week_range(view, k) for k in windows["anneal"]), strict=True),
                windows["start"].map(_when) + " .. " + windows["end"].map(_when),
            ]),
            hovertemplate="<b>%{customdata[0]}</b> window %{customdata[4]} UTC<br>"
            "%{customdata[1]} eligible slews<br>click: zoom to this week<extra></extra>",
            showlegend=False,
        ),
        row=1, col=1,
    )  # fmt: skip

    def slew_trace(frame: pd.DataFrame, name: str, lane: str, colour: str, wording: str):
        return go.Scattergl(
            name=name,
            x=_iso(frame["time"]),
            y=np.full(len(frame), y[lane]).tolist(),
            mode="markers",
            marker={"symbol": "line-ns-open", "size": 14, "color": colour, "line": {"width": 1.5}},
            customdata=_hover(
                [frame["visit_id"].map(_esc), frame["instrument"].map(_esc), frame["target"].map(_esc)]
            ),
            hovertemplate="<b>%{customdata[0]}</b> %{x|%Y-%m-%d %H:%M:%S} UTC<br>%{customdata[1]}<br>"
            f"target %{{customdata[2]}}<br>{_esc(wording)}<extra></extra>",
        )

    slews = view.slews
    fig.add_trace(
        slew_trace(slews[slews["rule"] == ELIGIBLE], "eligible slew", "eligible slews", ELIGIBLE_COLOUR,
                   "eligible"),
        row=1, col=1,
    )  # fmt: skip
    excluding = [name for name in view.rules if name != "no-slew"]
    for i, name in enumerate(excluding):
        chosen = slews[slews["rule"] == name]
        fig.add_trace(
            slew_trace(chosen, f"excluded: {_esc(name)} ({len(chosen)})", f"excluded: {_esc(name)}",
                       RULE_COLOURS[i % len(RULE_COLOURS)], f"excluded by {name}: slews {view.rules[name]}"),
            row=1, col=1,
        )  # fmt: skip
    miri = view.miri.assign(target="")
    fig.add_trace(
        slew_trace(miri, "MIRI use", "MIRI use", MIRI_COLOUR, "MIRI in use (prime or attached)"), row=1, col=1
    )

    plan = view.plan
    placed = plan[plan["slew_time"].notna()]
    fig.add_trace(
        go.Scatter(
            name="planned anneal",
            x=_iso(placed["slew_time"]),
            y=[y["plan"]] * len(placed),
            mode="markers",
            marker={
                "symbol": np.where(placed["pinned"], "diamond", "triangle-down").tolist(),
                "size": 11,
                "color": PLAN_COLOUR,
            },
            customdata=_hover([
                placed["label"].map(_esc),
                placed["visit_id"].map(_esc),
                placed["instrument"].map(_esc),
                placed["target"].map(_esc),
                np.where(placed["pinned"], "pinned", "planned"),
            ]),
            hovertemplate="<b>%{customdata[0]}</b> (%{customdata[4]}) %{x|%Y-%m-%d %H:%M:%S} UTC<br>"
            "slew into %{customdata[1]}: %{customdata[2]}<br>target %{customdata[3]}<extra></extra>",
        ),
        row=1, col=1,
    )  # fmt: skip
    flown = view.flown
    fig.add_trace(
        go.Scatter(
            name="flown anneal",
            x=_iso(flown["time"]),
            y=[y["flown"]] * len(flown),
            mode="markers",
            marker={"symbol": "x", "size": 9, "color": FLOWN_COLOUR},
            customdata=_hover([flown["visit_id"].map(_esc), flown["kind"].map(_esc), flown["week"]]),
            hovertemplate="<b>flown %{customdata[0]}</b> (%{customdata[1]}, week %{customdata[2]})<br>"
            "%{x|%Y-%m-%d %H:%M:%S} UTC<extra></extra>",
        ),
        row=1, col=1,
    )  # fmt: skip

    # Bottom panel: deviation of each interval from its multiple of the target.
    for frame, name, colour, symbol in (
        (view.plan_intervals, "plan interval", PLAN_COLOUR, "circle"),
        (view.flown_intervals, "flown interval", FLOWN_COLOUR, "x"),
    ):
        fig.add_trace(
            go.Scatter(
                name=name,
                x=_iso(frame["time"]),
                y=frame["deviation_hours"].round(2).tolist(),
                mode="lines+markers",
                line={"color": colour, "width": 1},
                marker={"symbol": symbol, "size": 6, "color": colour},
                customdata=_hover([frame["anneal"], frame["interval_days"].round(3), frame["multiple"]]),
                hovertemplate=f"<b>{name}</b> to week %{{customdata[0]}}<br>"
                "%{customdata[1]} days (%{customdata[2]} x target)<br>"
                "deviation %{y:+.2f} h<extra></extra>",
            ),
            row=2, col=1,
        )  # fmt: skip
        worst = frame.reindex(frame["deviation_hours"].abs().sort_values(ascending=False).index)
        row: Any  # a row of itertuples(): its fields are the plan's columns
        for row in worst.head(WORST_MARKED).itertuples():
            fig.add_annotation(
                x=_iso([row.time])[0], y=row.deviation_hours,
                text=f"wk {row.anneal}: {row.deviation_hours:+.1f} h",
                showarrow=True, arrowhead=2, ax=0, ay=-28 if row.deviation_hours >= 0 else 28,
                font={"size": 10, "color": colour}, arrowcolor=colour, row=2, col=1,
            )  # fmt: skip

    # Shapes in one list: add_vrect per window costs Plotly seconds (it rescans every subplot).
    # Window spans lie behind both panels (x/y and x2/y2), so a week reads across the page.
    shapes = [
        {
            "type": "rect",
            "xref": xref,
            "yref": f"{yref} domain",
            "x0": x0,
            "x1": x1,
            "y0": 0,
            "y1": 1,
            "fillcolor": colour,
            "opacity": 0.45,
            "line": {"width": 0},
            "layer": "below",
        }
        for x0, x1, eligible in zip(
            _iso(windows["start"]), _iso(windows["end"]), windows["eligible"], strict=True
        )
        for xref, yref, colour in (
            ("x", "y", "#deebf7" if eligible else "#fde0e0"),
            ("x2", "y2", "#eef4fa" if eligible else "#f9e6e6"),
        )
    ]
    shapes += [
        {
            "type": "rect",
            "xref": "x2 domain",
            "yref": "y2",
            "x0": 0,
            "x1": 1,
            "y0": -tolerance_hours,
            "y1": tolerance_hours,
            "fillcolor": "#c7e9c0",
            "opacity": 0.45,
            "line": {"width": 0},
            "layer": "below",
        },
        {
            "type": "line",
            "xref": "x2 domain",
            "yref": "y2",
            "x0": 0,
            "x1": 1,
            "y0": 0,
            "y1": 0,
            "line": {"width": 1, "color": "#333"},
        },
    ]
    fig.update_layout(shapes=shapes)
    pad = pd.Timedelta(days=2)
    weeks = [
        {"label": f"week {k}", "method": "relayout", "args": [_both_axes(_week_range(view, k))]}
        for k in view.windows["anneal"]
    ]
    whole = _iso([view.first - pad, view.last + pad])
    fig.update_layout(
        height=760,
        margin={"l": 150, "r": 70, "t": 110, "b": 40},
        template="plotly_white",
        hovermode="closest",
        legend={
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": 1.065,
            "yanchor": "bottom",
            "font": {"size": 11},
        },
        updatemenus=[
            {
                "buttons": [{"label": "whole cycle", "method": "relayout", "args": [_both_axes(whole)]}]
                + weeks,
                "direction": "down",
                "x": 0.0,
                "xanchor": "left",
                "y": 1.16,
                "yanchor": "bottom",
                "showactive": True,
            }
        ],
    )
    fig.update_yaxes(
        tickvals=list(y.values()), ticktext=list(y), range=[min(y.values()) - 0.6, 0.6], fixedrange=True,
        showgrid=False, row=1, col=1,
    )  # fmt: skip
    fig.update_yaxes(title_text="hours", zeroline=False, row=2, col=1)
    fig.update_xaxes(range=whole, type="date", showspikes=True, spikemode="across", spikethickness=1)
    fig.update_xaxes(
        row=1, col=1,
        rangeselector={
            "buttons": [
                {"count": 7, "label": "1 week", "step": "day", "stepmode": "backward"},
                {"count": 1, "label": "1 month", "step": "month", "stepmode": "backward"},
                {"step": "all", "label": "all"},
            ],
            "x": 1.0,
            "xanchor": "right",
            "y": 1.16,
            "yanchor": "bottom",
        },
    )  # fmt: skip
    fig.update_xaxes(title_text="UTC", rangeslider={"visible": True, "thickness": 0.06}, row=2, col=1)
    return fig


def _table(header: list[str], rows: list[list], *, numeric: frozenset[int] | set[int] = frozenset(),
           cls: str = "", row_classes: list[str] | None = None) -> str:  # fmt: skip
    """An HTML table; a cell is text or (text, sort key). Every cell is escaped."""
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cells = []
        for j, cell in enumerate(row):
            text, key = cell if isinstance(cell, tuple) else (cell, None)
            attrs = (' class="n"' if j in numeric else "") + (
                f' data-sort="{_esc(key)}"' if key is not None else ""
            )
            cells.append(f"<td{attrs}>{_esc(text)}</td>")
        css = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        body.append(f"<tr{css}>{''.join(cells)}</tr>")
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _facts(facts: dict) -> str:
    rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in facts.items())
    return f'<table class="facts">{rows}</table>'


def _number(value, digits: int, unit: str = "") -> tuple[str, str]:
    if value is None or pd.isna(value):
        return ("", "")
    return (f"{value:+.{digits}f}{unit}" if unit == " h" else f"{value:.{digits}f}{unit}", f"{value:.6f}")


def plan_table(view: CycleView, weeks: pd.DataFrame) -> str:
    """One row per anneal: window, slew, visit, interval, deviation, the flown anneal of that week."""
    flown = weeks.set_index("week")
    rows, classes = [], []
    row: Any  # a row of itertuples(): its fields are the plan's columns
    for row in view.plan.itertuples():
        week = flown.loc[row.anneal] if row.anneal in flown.index else None
        rows.append(
            [
                (row.label, f"{row.anneal:04d}"),
                (f"{_when(row.window_start)[:10]} .. {_when(row.window_end)[5:10]}", _when(row.window_start)),
                (_when(row.slew_time, seconds=True) or "missing", _when(row.slew_time, seconds=True)),
                row.visit_id if isinstance(row.visit_id, str) else "",
                row.instrument if isinstance(row.instrument, str) else "",
                row.target if isinstance(row.target, str) else "",
                _number(row.interval_days, 3, " d"),
                _number(row.deviation_hours, 2, " h"),
                (executed_text(week["executed"]) or "none") if week is not None else "",
                _number(week["difference_hours"], 1, " h") if week is not None else ("", ""),
            ]
        )
        classes.append(
            " ".join(
                c for c in ("pinned" if row.pinned else "", "missing" if pd.isna(row.slew_time) else "") if c
            )
        )
    return _table(
        ["anneal", "window (UTC)", "slew (UTC)", "visit", "instrument", "target", "interval",
         "deviation", "flown (UTC)", "flown - plan"],
        rows, numeric={6, 7, 9}, cls="sortable plan", row_classes=classes,
    )  # fmt: skip


def _rule_set(opened: PlanFile) -> str:
    rules = opened.instance.rule_set
    text = f"{rules.name}" + (f": {rules.description}" if rules.description else "")
    text += f" (MIRI recovery {rules.miri_recovery_minutes:g} min)"
    if getattr(opened, "legacy_rules", False):
        text += "; the plan predates rule sets and records none: shown under the seed's rules"
    return text


def provenance(opened: PlanFile, verified: Verified) -> dict:
    meta, rules = opened.meta, opened.instance.rule_set
    timeline = meta["timeline"]
    options = {k: v for k, v in meta["options"].items() if k not in ("pins", "rules")}
    pins = meta["options"].get("pins") or []
    return {
        "rule set": _rule_set(opened),
        "rules, in the order they apply": "; ".join(
            f"{name}: slews {rules.describe(name)}" for name in rules.rule_names()
        ),
        "rule set as recorded": json.dumps(opened.instance.rule_set.to_dict()),
        "calendar": ", ".join(f"{k} {v}" for k, v in meta["calendar"].items()),
        "options": ", ".join(f"{k} {v}" for k, v in options.items()),
        "pins": "; ".join(f"Anneal {p['anneal']:02d} = {p['visit_id']}" for p in pins) or "none",
        "timeline": timeline.get("path") or ", ".join(timeline.get("sources") or []),
        "timeline sha256": timeline.get("sha256") or "(made in memory: none)",
        "versions": ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
        "checked by the independent checker": ("passes here" if verified.valid else "fails here")
        + f"; at solve time: {'yes' if meta.get('checked') is True else 'no'} (the file says)",
        "solver time": f"{meta['solve_seconds']:.3f} s (model built in {meta['build_seconds']:.3f} s)"
        if meta.get("solve_seconds") is not None and meta.get("build_seconds") is not None
        else f"none: planned week by week online ({meta.get('online', {}).get('policy', 'policy')})",
    }


def _status(opened: PlanFile, verified: Verified) -> str:
    """The status in words: what the checker verified here; optimality only when re-proven here
    (planner.solver.proof), else the file's status as the file's claim."""
    meta = opened.meta
    said = f"the file says {meta['status']}"
    if not verified.valid:
        first = verified.problems[0]
        count = len(verified.problems)
        return (
            f"rejected by the independent checker here ({count} violation{'s' if count > 1 else ''}, "
            f"first: {first}); {said}, which this plan does not bear out"
        )
    bound = meta["objective"]["bound"]
    if bound is None:  # a weekly plan or a replay: no solver, no claim to re-prove
        return f"{meta['status']} (planned online, week by week: no optimality claimed)"
    from planner.solver.proof import optimum

    best = optimum(opened.instance)
    if best == verified.value:
        return f"optimal, re-proven here (the exact DP gives the same optimum); {said}"
    if best is not None and best < verified.value:
        return f"not optimal: re-proven here, the optimum is {seconds_and_days(best)}; {said}"
    if meta["status"] == "OPTIMAL":
        return f"{said} (not re-proven here); the plan passes the independent checker"
    return f"{said}: not proven optimal (bound {bound:.0f} s, not re-proven here)"


def headline(opened: PlanFile, comparison, verified: Verified) -> dict:
    """The page's facts: each from the plan's rows as the checker verified them, or said to be the
    file's claim (its status)."""
    plan = opened.plan
    target = opened.calendar.target_days
    wording = {
        "regular": f"Σ |interval - m·{target:g} d|",
        "mean": f"|last - first - (n-1)·{target:g} d|",
        "minimax": f"largest |interval - m·{target:g} d|",
    }[opened.instance.objective]
    value = seconds_and_days(verified.value)
    if verified.claimed != verified.value:
        claimed = "none" if verified.claimed is None else seconds_and_days(verified.claimed)
        value += f" (the file claims {claimed})"
    plan_row = comparison.summary.loc["plan"]
    facts = {
        "status": _status(opened, verified),
        "objective": f"{opened.instance.objective}: {wording} = {value}",
        "anneals placed": f"{int(plan['slew_time'].notna().sum())} of {len(plan)}",
        "missing anneals": ", ".join(f"Anneal {k:02d}" for k in verified.missing) or "none",
        "worst deviation": f"{plan_row['largest_deviation_hours']:.2f} h",
    }
    return facts


def render(opened: PlanFile, title: str, *, tolerance_hours: float = TOLERANCE_HOURS,
           replay: tuple[pd.DataFrame, dict] | None = None) -> str:  # fmt: skip
    """The page as one string (see the module docstring)."""
    import plotly.io as pio

    view = cycle_view(opened)
    verified = verify_plan(opened)  # what the page states of the plan is what the checker finds here
    comparison = compare(opened.plan, opened.timeline, opened.calendar, opened.program.mode)
    figure = pio.to_html(
        cycle_figure(view, tolerance_hours),
        include_plotlyjs=True,
        full_html=False,
        div_id=PLOT_ID,
        post_script=CLICK_SCRIPT,
        config={"displaylogo": False, "scrollZoom": True, "toImageButtonOptions": {"format": "png"}},
        default_height="760px",
    )
    words = comparison.plain_rows(opened.calendar)
    counts = ", ".join(
        f"{name} {int((view.slews['rule'] == name).sum())}" for name in view.rules if name != "no-slew"
    )
    replay_html = replay_section(*replay) if replay is not None else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{_esc(title)}</title>
<style>{STYLE}</style></head>
<body>
<h1>{_esc(title)}</h1>
{_facts(headline(opened, comparison, verified))}
<h2>The cycle</h2>
<p class="note">Drag to zoom, double-click to see the whole cycle; the week menu (top left) or a click on
a window's bar goes to one week; the slider under the lower panel pans. Times are UTC.
{len(view.slews)} slews in the calendar's weeks: {int((view.slews["rule"] == ELIGIBLE).sum())} eligible;
excluded by {_esc(counts)}. Band in the lower panel: ±{tolerance_hours:g} h; the {WORST_MARKED} worst
intervals of the plan and of the flown anneals are labelled with their week.</p>
{figure}
<h2>Plan beside the anneals actually flown</h2>
{_table(["", "plan", "flown"], words)}
<p class="note">Intervals across a missing anneal (or a week without a flown anneal) are measured
against the right multiple of the target, as the solver and the checker measure them.</p>
<h2>Plan</h2>
<p class="note">Click a column title to sort. Pinned anneals (kept from an earlier plan or fixed) are
marked "pinned"; the last columns show the anneal flown in the same calendar week and how much later
than the plan it flew.</p>
{plan_table(view, comparison.weeks)}
{slew_time_section(opened.timeline, opened.calendar)}
{replay_html}
<h2>Provenance</h2>
{_facts(provenance(opened, verified))}
<script>{SORT_SCRIPT}</script>
</body></html>
"""


HISTOGRAM_MINUTES = 120  # the x axis of the slew-time histogram; longer slews go in its last bar
BIN_MINUTES = 2.5
MODE_COLOURS = {
    "MIRI Anneal": MIRI_COLOUR,
    "NIRSpec Internal Lamp": "#ff7f0e",
    "NIRISS Internal Flat": "#9467bd",
}
ALL_SLEWS_COLOUR = "#7f7f7f"


def slew_time_section(timeline: pd.DataFrame, calendar) -> str:
    """A histogram of slew durations in the calendar's weeks: one trace per slew-parallel mode that
    flew (the slews it flew on), one of all slews into targeted visits, each as a percentage of its
    own slews (so a mode's few dozen compare with thousands), and a line at the MIRI anneal's
    minimum: why a slew-time rule exists and where its threshold sits. Empty without slews."""
    import plotly.graph_objects as go
    import plotly.io as pio

    from planner.problem.slewtime import (
        ALL_SLEWS,
        anneal_minimum_minutes,
        slew_minutes,
        slew_time_table,
        within,
    )

    windows = calendar.windows
    part = within(timeline, windows[0].start, windows[-1].end)
    minimum = anneal_minimum_minutes()
    found = slew_minutes(part)
    if found[ALL_SLEWS].empty:
        return ""
    figure = go.Figure()
    for group, values in found.items():
        known = values.dropna()  # unknown and negative (overlap) slews have no bar; the table counts them
        shown = np.minimum(known[known >= 0].to_numpy(), HISTOGRAM_MINUTES - BIN_MINUTES / 2)
        figure.add_trace(
            go.Histogram(
                x=shown.round(2).tolist(), name=f"{_esc(group)} ({len(values)})", histnorm="percent",
                xbins={"start": 0, "end": HISTOGRAM_MINUTES, "size": BIN_MINUTES},
                marker={"color": MODE_COLOURS.get(group, ALL_SLEWS_COLOUR if group == ALL_SLEWS else None)},
                opacity=0.45 if group == ALL_SLEWS else 0.7,
                hovertemplate=f"{_esc(group)}<br>%{{x}} min: %{{y:.1f}} %<extra></extra>",
            )
        )  # fmt: skip
    figure.add_vline(
        x=minimum, line_dash="dash", line_color=MIRI_COLOUR,
        annotation_text=f"MIRI anneal minimum {minimum:g} min",
        annotation_position="top right",
    )  # fmt: skip
    figure.update_layout(
        barmode="overlay", height=380, template="plotly_white", margin={"l": 60, "r": 20, "t": 30, "b": 40},
        xaxis_title=f"slew duration, minutes (over {HISTOGRAM_MINUTES} in the last bar)",
        yaxis_title="% of the group's slews", legend={"title": {"text": "slews of (count)"}},
    )  # fmt: skip
    table = _slew_time_table(slew_time_table(part, minimum, found), minimum)
    return f"""<h2>Slew durations</h2>
<p class="note">A slew lasts from the previous visit's scheduled end to this visit's start. Each mode's
trace: the slews its slew parallels flew on in the calendar's weeks; grey: every slew into a targeted
visit; each as a percentage of its own slews. A slew parallel needs a slew at least as long as
itself. Slews of unknown duration (the first visit, after a visit without a duration, or across a hole
of over 24 h between reports) and overlaps (the visit starts before the previous one ends) have no bar;
the table counts them.</p>
{pio.to_html(figure, include_plotlyjs=False, full_html=False, div_id="slew-time")}
{table}"""


def _slew_time_table(table: pd.DataFrame, minimum_minutes: float) -> str:
    """`planner.problem.slewtime.slew_time_table` as an HTML table (minutes, shares in percent)."""
    rows = [
        [
            row.group, *((str(n), str(n)) for n in (row.slews, row.unknown, row.overlaps)),
            *(_number(v, 1) for v in (row.shortest_min, row.p10_min, row.median_min)),
            (str(row.below_minimum), str(row.below_minimum)), _number(100 * row.at_least_share, 0, " %"),
        ]
        for row in _rows(table)
    ]  # fmt: skip
    header = ["slews of", "slews", "unknown", "overlaps", "shortest min", "10th pct min", "median min",
              f"< {minimum_minutes:g} min", f"≥ {minimum_minutes:g} min"]  # fmt: skip
    return _table(header, rows, numeric=set(range(1, len(header))))


REPLAY_COLUMNS = ("anneal", "label", "slew_time", "visit_id", "decided_at", "replans", "state")


def _rows(frame: pd.DataFrame) -> list[Any]:
    """itertuples() rows, typed loosely: their fields are the frame's columns."""
    return list(frame.itertuples())


def _issued(report) -> Any:
    """The issue date (UTC midnight) a report's name carries: `..._report_YYYYMMDD.json`, or a
    text report's `file#OP package`; NaT when it carries none."""
    from planner.schedules.report import issue_from_op_package, issue_from_report_name

    if not isinstance(report, str):
        return pd.NaT
    package = issue_from_op_package(report.rsplit("#", 1)[-1]) if "#" in report else None
    date = package[0] if package else issue_from_report_name(report)
    return pd.Timestamp(date, tz="UTC") if date else pd.NaT


def _plain(value) -> str:
    """A summary value in words: integers as integers, other numbers to 3 decimals, a nested table
    as `key value, ...`."""
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')} {_plain(v)}" for k, v in value.items() if _plain(v))
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.3f}"
    if isinstance(value, float):
        return str(int(value))
    return "" if value is None else str(value)


def replay_section(frame: pd.DataFrame, summary: dict) -> str:
    """Each week's decision in a replay: when it was made (what was known then: the reports
    applied up to that moment), what it chose, its state, and how often it was re-planned.

    `frame` has the plan file's columns plus decided_at, replans and state, one row per anneal
    (`replay.parquet`); decided_at is a UTC time or the name of the report whose application
    decided the anneal. `summary` is that file's metadata summary (shown as facts)."""
    import plotly.graph_objects as go
    import plotly.io as pio

    missing = [c for c in REPLAY_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"replay frame lacks column(s) {', '.join(missing)}")
    frame = frame.sort_values("anneal")
    timed = pd.api.types.is_datetime64_any_dtype(frame["decided_at"])
    if timed:
        decided = frame["decided_at"].map(lambda t: _when(t, seconds=True)).tolist()
        moments = frame["decided_at"]
    else:  # a report's name: what was known is that report and the ones issued before it
        moments = frame["decided_at"].map(_issued)
        decided = [
            f"{name} (issued {_when(at)[:10]})" if pd.notna(at) else str(name or "")
            for name, at in zip(frame["decided_at"], moments, strict=True)
        ]
    moments = pd.to_datetime(moments, utc=True)
    lead_days = (frame["slew_time"] - moments).dt.total_seconds() / 86400
    # How far ahead of its slew each anneal was decided; without any decision time, re-plans.
    known = lead_days.notna().any()
    shown, axis = (lead_days, "days from decision to slew") if known else (frame["replans"], "re-plans")
    figure = go.Figure()
    for state, group in frame.assign(shown=shown, decided=decided).groupby("state", sort=True):
        figure.add_trace(
            go.Scatter(
                name=_esc(state), x=group["anneal"].tolist(),
                y=pd.to_numeric(group["shown"], errors="coerce").round(2).tolist(),
                mode="markers", marker={"size": 9},
                customdata=np.column_stack(
                    [group["label"].map(_esc), group["decided"].map(_esc), group["replans"].astype(str)]
                ),
                hovertemplate="<b>%{customdata[0]}</b><br>decided %{customdata[1]}<br>"
                f"{axis} %{{y}}<br>re-planned %{{customdata[2]}} times<extra></extra>",
            )
        )  # fmt: skip
    figure.update_layout(
        height=320, template="plotly_white", margin={"l": 60, "r": 20, "t": 30, "b": 40},
        xaxis_title="anneal", yaxis_title=axis,
    )  # fmt: skip
    rows = [
        [
            (row.label, f"{row.anneal:04d}"),
            when,
            (_when(row.slew_time, seconds=True) or "none", _when(row.slew_time, seconds=True)),
            row.visit_id if isinstance(row.visit_id, str) else "",
            _number(lead, 2, " d"),
            str(row.state),
            (str(int(row.replans)), str(int(row.replans))) if pd.notna(row.replans) else "",
        ]
        for row, when, lead in zip(_rows(frame), decided, lead_days, strict=True)
    ]
    facts = {k.replace("_", " "): _plain(v) for k, v in summary.items()}
    return f"""<h2>Replay: each week's decision</h2>
<p class="note">Each anneal was decided knowing only the reports published up to its decision; a
re-plan moved it after a later report took its slew away.</p>
{_facts(facts)}
{pio.to_html(figure, include_plotlyjs=False, full_html=False, div_id="replay")}
{_table(["anneal", "decided at" + (" (UTC)" if timed else " (report)"), "slew (UTC)", "visit",
         "decision to slew", "state", "re-plans"], rows, numeric={4, 6}, cls="sortable")}"""  # fmt: skip


def write_report(opened: PlanFile, out: Path, title: str, **kwargs) -> None:
    page = render(opened, title, **kwargs)
    with atomic_path(Path(out)) as temporary:
        temporary.write_text(page, encoding="utf-8")
