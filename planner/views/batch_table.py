"""What `batch` prints: its progress bar (or plain lines when quiet), the scenario table and how
plans degrade with schedule churn. Apart from `console` so that other commands do not import it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from planner.batch.summary import FAILED_STATES, RESULTS
from planner.views.console import Table, console, errors, plain_number


class BatchProgress:
    """Progress of a batch: done / failed / remaining and ETA (rich) on stderr when it is a terminal,
    nothing when it is not (logs, pipes: stdout keeps only the tables), or a plain line per
    scenario on stdout when quiet."""

    def __init__(self, total: int, *, quiet: bool):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.total, self.quiet, self.failed, self.done = total, quiet, 0, 0
        self.bar = (
            None
            if quiet or not errors.is_terminal
            else Progress(
                TextColumn("batch"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("failed {task.fields[failed]}  remaining {task.fields[remaining]}"),
                TimeRemainingColumn(),
                console=errors,
            )
        )

    def __enter__(self) -> BatchProgress:
        if self.bar:
            self.bar.start()
            self.task = self.bar.add_task("batch", total=self.total, failed=0, remaining=self.total)
        return self

    def __exit__(self, *exc) -> None:
        if self.bar:
            self.bar.stop()

    def advance(self, row: dict) -> None:
        self.done += 1
        self.failed += row["state"] in FAILED_STATES
        if self.bar:
            self.bar.update(self.task, advance=1, failed=self.failed, remaining=self.total - self.done)
        elif self.quiet:
            first_line = (row.get("error") or "").splitlines()[:1]
            console.print(
                f"[{self.done}/{self.total}] {row['scenario']} {row['state']} "
                f"{_objective(row)} {' '.join(first_line)}",
            )


def print_batch(summary: pd.DataFrame, out, *, quiet: bool) -> None:
    counts = summary["state"].value_counts().to_dict() if len(summary) else {}
    line = ", ".join(f"{n} {state}" for state, n in counts.items())
    kept = int(summary["skipped"].fillna(False).sum()) if "skipped" in summary else 0
    if kept:
        line += f" ({kept} of them kept from an earlier run: plan found and checked)"
    if not quiet and len(summary):
        settings = [
            c for c in summary.columns if c not in BATCH_RESULTS and summary[c].map(_cell).nunique() > 1
        ]
        table = Table(
            "scenario",
            *(SHORT.get(c, c) for c in settings),
            "state",
            "objective (s)",
            "placed",
            "min d",
            "max d",
            "error",
            title=f"Batch: {len(summary)} scenarios",
        )
        shown = summary.head(40)
        # Scenario names (up to 64 characters) whole on one line: they name the plan files.
        table.columns[0].min_width = max(len("scenario"), *(len(str(n)) for n in shown["scenario"]))
        for _, row in shown.iterrows():
            error = row["error"].splitlines()[0][:50] if isinstance(row["error"], str) else ""
            table.add_row(
                row["scenario"],
                *(_cell(row[c]) for c in settings),
                row["state"],
                _objective(row),
                *(_cell(row.get(c)) for c in ("placed", "min_interval_days", "max_interval_days")),
                error,
            )
        _keep_whole(table, range(1, len(table.columns) - 1))  # all but the name (whole) and the error
        table.columns[-1].min_width = len("error")
        console.print(table)
        if len(summary) > 40:
            console.print(f"... {len(summary) - 40} more rows in {out}/summary.parquet")
        perturbation = [c for c in summary.columns if c.startswith("perturbation_")]
        if perturbation and "placed" in summary:
            console.print(_degradation(summary, perturbation))
    console.print(f"{line}; summary in {out}/summary.parquet")


SHORT = {
    "perturbation_cancel_fraction": "cancel",
    "perturbation_max_delay_hours": "delay h",
    "perturbation_lost_days": "lost d",
    "perturbation_seed": "p.seed",
    "window_days": "window d",
    "target_days": "target d",
    "min_gap_days": "min gap d",
    "miri_recovery_minutes": "recovery min",
}
BATCH_RESULTS = {"scenario", *RESULTS.names}  # result columns; the others are settings


def _objective(row) -> str:
    """`regular 585772`: the value with the objective it measures (scenarios may mix objectives;
    the column header gives the unit, seconds)."""
    value = _cell(row.get("objective_value_s"))
    return value if value == "-" else f"{row.get('objective') or ''} {value}".strip()


def _cell(value) -> str:
    if isinstance(value, list | tuple | np.ndarray):  # a replay's sources: their names
        return ", ".join(Path(str(v)).name for v in value) or "-"
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        return "-"
    return (
        plain_number(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
    )


def _keep_whole(table: Table, columns) -> None:
    """Numbers never fold, nor the words of their headers (the headers fold between words): the
    text columns give way. Called once the rows are in."""
    for i in columns:
        column = table.columns[i]
        words = [*str(column.header).split(), *(str(cell) for cell in column.cells)]
        column.min_width = max(map(len, words))


def _degradation(summary: pd.DataFrame, perturbation: list[str]) -> Table:
    """How plans degrade with schedule churn: one row per perturbation setting."""
    keyed = summary.assign(**{c: summary[c].map(_cell) for c in perturbation})
    groups = keyed.groupby(perturbation, dropna=False, sort=False)
    table = Table(
        *(SHORT.get(c, c) for c in perturbation),
        "scenarios",
        "no plan",  # failed, infeasible or unsolved: FAILED_STATES
        "placed (mean)",
        "missing (max)",
        "min interval d",
        "max interval d",
        "largest dev h",
        title="How plans degrade with schedule churn",
    )
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        table.add_row(
            *(str(k) for k in key),
            str(len(group)),
            str(int(group["state"].isin(FAILED_STATES).sum())),
            _cell(group["placed"].mean()),
            _cell(group["missing"].max()),
            _cell(group["min_interval_days"].min()),
            _cell(group["max_interval_days"].max()),
            _cell(group["largest_deviation_hours"].max()),
        )
    _keep_whole(table, range(len(table.columns)))
    return table
