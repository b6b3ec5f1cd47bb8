"""Rich tables for the terminal: timeline summaries and plan results."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from planner.result import Result
from planner.summary import RULE_COLUMNS, TimelineSummary

console = Console(soft_wrap=True)  # long lines stay whole: easier to grep and copy
errors = Console(stderr=True, soft_wrap=True)


def _date(value) -> str:
    return "-" if value is None or pd.isna(value) else value.strftime("%Y-%m-%d %H:%M")


def print_timeline(summary: TimelineSummary, name: str) -> None:
    console.print(
        f"[bold]{name}[/]: {summary.visits} prime visits, {_date(summary.first)} .. {_date(summary.last)} UTC"
    )
    if summary.unknown_visit_types or summary.unknown_instruments:
        console.print(
            f"[yellow]unknown: {summary.unknown_visit_types} visit types, "
            f"{summary.unknown_instruments} instrument modes (kept)[/]"
        )
    counts = Table("visit type", "visits", title="By visit type")
    for key, n in summary.by_visit_type.items():
        counts.add_row(str(key), str(n))
    modes = Table("instrument", "visits", title="By instrument (top 12)")
    for key, n in summary.by_instrument.head(12).items():
        modes.add_row(str(key), str(n))
    console.print(counts, modes)
    weeks = Table(
        "anneal",
        "window start",
        "visits",
        "slews",
        "eligible",
        *RULE_COLUMNS.values(),
        title="Slews per anneal window",
    )
    for row in summary.weeks.itertuples():
        style = "bold red" if row.eligible == 0 else None
        weeks.add_row(
            row.label,
            _date(row.window_start)[:10],
            str(row.visits),
            str(row.slews),
            str(row.eligible),
            *(str(getattr(row, c)) for c in RULE_COLUMNS),
            style=style,
        )
    console.print(weeks)
    empty = summary.weeks[summary.weeks["eligible"] == 0]
    if len(empty):
        console.print(
            f"[bold red]{len(empty)} windows have no eligible slew: " + ", ".join(empty["label"]) + "[/]"
        )


def print_result(result: Result, out: str | None) -> None:
    table = Table("#", "slew (UTC)", "visit", "instrument", "interval d", "dev h", title="Plan")
    for row in result.plan.itertuples():
        interval = "" if row.interval_days != row.interval_days else f"{row.interval_days:.3f}"
        deviation = "" if row.deviation_hours != row.deviation_hours else f"{row.deviation_hours:+.2f}"
        table.add_row(
            f"{row.anneal:02d}",
            _date(row.slew_time) if pd.notna(row.slew_time) else "[yellow]missing[/]",
            "" if pd.isna(row.visit_id) else row.visit_id,
            "" if pd.isna(row.instrument) else str(row.instrument)[:26],
            interval,
            deviation,
        )
    console.print(table)
    console.print(headline(result) + (f"\nplan written to {out}" if out else ""))


def headline(result: Result) -> str:
    stats = result.statistics()
    text = (
        f"[bold]{result.status.value}[/]: {stats['placed']}/{result.calendar['count']} anneals placed; "
        f"{result.objective} = {result.value} s"
    )
    if result.bound is not None and result.status.value != "OPTIMAL":
        text += f" (bound {result.bound:.0f} s)"
    if stats["missing"]:
        text += "; missing (no eligible slew): " + ", ".join(f"Anneal {k:02d}" for k in stats["missing"])
    if "mean_interval_days" in stats:
        text += (
            f"; interval mean {stats['mean_interval_days']:.3f} d, "
            f"min {stats['min_interval_days']:.3f} d, max {stats['max_interval_days']:.3f} d; "
            f"largest deviation from {result.calendar['target_days']:g} d: "
            f"{stats['largest_deviation_hours']:.2f} h"
        )
    text += f"; solve {result.solve_seconds:.3f} s (build {result.build_seconds:.3f} s)"
    return text


def _number(value: float) -> str:
    if value != value:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def print_comparison(comparison) -> None:
    summary = Table("", "plan", "executed", title="Plan beside the executed anneals")
    for name, row in comparison.summary.T.iterrows():
        summary.add_row(name.replace("_", " "), *(_number(v) for v in row))
    console.print(summary)
    weeks = Table("week", "start", "planned", "executed", "difference h", title="Week by week")
    for row in comparison.weeks.itertuples():
        style = "bold red" if row.executed_count == 0 else None
        difference = "" if row.difference_hours != row.difference_hours else f"{row.difference_hours:+.1f}"
        weeks.add_row(f"{row.week:02d}", _date(row.week_start)[:10], _date(row.planned), row.executed or "-",
                      difference, style=style)
    console.print(weeks)
