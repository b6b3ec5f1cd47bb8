"""One self-contained HTML page: the plan's summary, the comparison with the executed anneals, and
the plot (embedded as a data URI, so the page reads offline)."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from planner.compare import compare
from planner.io import atomic_path
from planner.plots import figure_png, plan_figure
from planner.result import PlanFile

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #eef3f8; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; } .bad { color: #b03a2e; }
"""


def _table(frame: pd.DataFrame, **kwargs) -> str:
    return frame.to_html(border=0, na_rep="", float_format=lambda v: f"{v:.3f}", **kwargs)


def render(opened: PlanFile, title: str) -> str:
    meta = opened.meta
    comparison = compare(opened.plan, opened.timeline, opened.calendar)
    image = base64.b64encode(figure_png(plan_figure(opened))).decode()
    objective = meta["objective"]
    missing = meta.get("missing") or []
    facts = {
        "status": meta["status"],
        "objective": f"{objective['name']} = {objective['value']} s (bound {objective['bound']})",
        "calendar": ", ".join(f"{k} {v}" for k, v in meta["calendar"].items()),
        "options": ", ".join(f"{k} {v}" for k, v in meta["options"].items() if k != "pins"),
        "pinned anneals": len(meta["options"].get("pins") or []),
        "missing anneals": ", ".join(f"Anneal {k:02d}" for k in missing) or "none",
        "timeline": meta["timeline"].get("path") or ", ".join(meta["timeline"].get("sources") or []),
        "timeline sha256": meta["timeline"].get("sha256"),
        "solve / build seconds": f"{meta['solve_seconds']} / {meta['build_seconds']}",
        "versions": ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
        "checked": meta["checked"],
    }
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in facts.items()
    )
    plan = opened.plan.copy()
    for column in ("window_start", "window_end", "slew_time"):
        plan[column] = plan[column].dt.strftime("%Y-%m-%d %H:%M")
    weeks = comparison.weeks.copy()
    weeks["week_start"] = weeks["week_start"].dt.strftime("%Y-%m-%d")
    weeks["planned"] = weeks["planned"].dt.strftime("%Y-%m-%d %H:%M")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<table>{rows}</table>
<h2>Plan beside the executed anneals</h2>
{_table(comparison.summary.T)}
<img alt="The cycle: windows, MIRI use, eligible slews, planned and executed anneals; intervals"
     src="data:image/png;base64,{image}">
<h2>Week by week</h2>
{_table(weeks, index=False)}
<h2>Plan</h2>
{_table(plan, index=False)}
</body></html>
"""


def write_report(opened: PlanFile, out: Path, title: str) -> None:
    page = render(opened, title)
    with atomic_path(Path(out)) as temporary:
        temporary.write_text(page, encoding="utf-8")
