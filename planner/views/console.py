"""What the commands print: rich tables for people, one JSON document for programs (`--json`),
and a progress line on the terminal for anything that can take a while."""

from __future__ import annotations

import contextlib
import json
import math
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from rich.table import Table as RichTable
from rich.text import Text

from planner.plans.result import Result
from planner.views.terminal import console, errors, styled

if TYPE_CHECKING:
    from planner.problem.coverage import TimelineSummary


class Table(RichTable):
    """rich's table, whose cells fold a word too long for its column onto the next line instead of
    cutting it with an ellipsis: a report name or a scenario id must stay whole to be found."""

    def add_column(self, *args, overflow="fold", **kwargs) -> None:  # type: ignore[override]
        super().add_column(*args, overflow=overflow, **kwargs)


def _words(cell) -> list[str]:
    return _text(cell).split()


_LONGEST_WHOLE = 24  # characters: "20230703_report_20230629", "carries-slew-parallel", "Spectroscopy"


def print_fitted(table: Table, optional: tuple[str, ...]) -> None:
    """`table` fitted to the console (`fit`), and the columns it left out named below it."""
    console.print(fit(table, optional=optional))
    left_out = [str(h) for h in table.left_out]  # type: ignore[attr-defined]
    if left_out:
        console.print(f"columns left out for the terminal's width (--json has them): {', '.join(left_out)}")


def print_flown_notes(notes) -> None:
    """What flown anneals break (`check`, `next`): said, not counted as the plan's violations."""
    for note in notes:
        console.print(f"note (flown, not planned): {note}")


def fit(table: Table, width: int | None = None, optional: tuple[str, ...] = ()) -> Table:
    """`table` made readable in `width` columns (the console's): every column at least as wide as
    its longest word, so cells wrap between words and never inside one (a mode name stays whole,
    also in redirected output); the `optional` columns (by header, in order) left out while the
    table would still be wider than that, an empty one (`replans` before any re-decision) first and
    without a word: it holds nothing to miss."""
    width = console.width if width is None else width
    table.columns[:] = [
        c for c in table.columns if c.header not in optional or any(str(cell).strip() for cell in c._cells)
    ]
    for column in table.columns:
        longest = max((len(w) for cell in [column.header, *column._cells] for w in _words(cell)), default=1)
        # A word longer than any mode name or report label (a path, a hostile rule name) still folds.
        column.min_width = max(column.min_width or 0, min(longest, _LONGEST_WHOLE))

    def needed() -> int:  # each cell's padding (2) and the borders between and around columns
        return sum((c.min_width or 1) + 2 for c in table.columns) + len(table.columns) + 1

    left_out = []
    for header in optional:
        if needed() <= width:
            break
        left_out += [c.header for c in table.columns if c.header == header]
        table.columns[:] = [c for c in table.columns if c.header != header]
    table.left_out = left_out  # type: ignore[attr-defined]  # for the caller to name them
    # Share what is left among the columns whose cells are longer than their longest word, one
    # character at a time, and cap each there: rich alone leaves some tables wider than the terminal.
    spare = width - needed()
    if spare < 0:
        return table
    natural = [
        max((len(line) for cell in [c.header, *c._cells] for line in _text(cell).split("\n")), default=1)
        for c in table.columns
    ]
    sizes = [c.min_width or 1 for c in table.columns]
    while spare > 0 and any(s < n for s, n in zip(sizes, natural, strict=True)):
        for i, (size, most) in enumerate(zip(sizes, natural, strict=True)):
            if spare > 0 and size < most:
                sizes[i] += 1
                spare -= 1
    for column, size in zip(table.columns, sizes, strict=True):
        column.max_width = size if column.max_width is None else min(column.max_width, size)
    return table


def _text(cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell if isinstance(cell, str) else ""


def jsonable(value):
    """Plain JSON values: UTC times as ISO 8601 with Z, NaN/NaT/None as null, numpy scalars as
    Python numbers, frames as lists of records."""
    if isinstance(value, pd.DataFrame):
        return [jsonable(record) for record in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [jsonable(v) for v in value]
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float | np.floating) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if hasattr(value, "_asdict"):
        return jsonable(value._asdict())
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return jsonable(asdict(value))
    return value


def print_json(document: dict) -> None:
    """The `--json` output: one document on stdout and nothing else there. json escapes C0 control
    characters itself; the other controls a terminal would act on (DEL, C1, bidirectional overrides)
    are written as \\u escapes too, which read back as the same strings."""
    from planner.views.terminal import _CONTROL

    text = json.dumps(jsonable(document), indent=2, ensure_ascii=False, allow_nan=False)
    sys.stdout.write(_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n")
    sys.stdout.flush()


@contextlib.contextmanager
def progress(text: str, *, quiet: bool = False) -> Iterator[Callable[[str], None]]:
    """A spinner with a status line on stderr while a long step runs; nothing when stderr is not a
    terminal (logs, pipes, CI) or when quiet. Yields a function that replaces the status line."""
    if quiet or not errors.is_terminal:
        yield lambda _text: None
        return
    with errors.status(text, spinner="dots") as status:
        yield lambda new: status.update(new)


def _date(value) -> str:
    return "-" if value is None or pd.isna(value) else value.strftime("%Y-%m-%d %H:%M")


def print_timeline(summary: TimelineSummary, name: str) -> None:
    console.print(
        styled(
            (name, "bold"),
            f": {summary.visits} prime visits, {_date(summary.first)} .. {_date(summary.last)} UTC",
        )
    )
    for kind, unknown in (
        ("visit types", summary.unknown_visit_types),
        ("instrument modes", summary.unknown_instruments),
    ):
        if len(unknown):
            listed = ", ".join(f"{name} ({n})" for name, n in unknown.head(8).items())
            console.print(styled((f"unknown {kind}, kept: {listed}", "yellow")))
    slew_time = summary.slew_time
    if slew_time:
        console.print(
            f"{slew_time['slews']} slews into targeted visits: {slew_time['unknown']} of unknown duration "
            "(the first visit, after a visit without a duration, or across a hole of over 24 h between "
            f"reports), {slew_time['overlaps']} overlaps (the visit starts before the previous one ends)",
            markup=False,
        )
    counts = Table("visit type", "visits", title="By visit type")
    for key, n in summary.by_visit_type.items():
        counts.add_row(str(key), str(n))
    modes = Table("instrument", "visits", title="By instrument (top 12)")
    for key, n in summary.by_instrument.head(12).items():
        modes.add_row(str(key), str(n))
    console.print(counts, modes)
    rules = summary.rules.rule_names()
    weeks = Table(
        "anneal",
        "window start",
        "visits",
        "slews",
        "eligible",
        *rules,
        title=f"Slews per anneal window, rule set {summary.rules.name!r} "
        "(rule columns: visits each excluded)",
    )
    # A window after the timeline's last visit is not empty but unpublished (a week's snapshot)
    published = pd.Series(True, index=summary.weeks.index)  # (a timeline with no visit: all of them)
    if summary.last is not None:
        published = summary.weeks["window_start"] <= summary.last
    for row, shown in zip(summary.weeks.to_dict("records"), published, strict=True):
        style = "dim" if not shown else "bold red" if row["eligible"] == 0 else None
        weeks.add_row(
            row["label"],
            _date(row["window_start"])[:10],
            str(row["visits"]),
            str(row["slews"]),
            str(row["eligible"]),
            *(str(row[f"excluded_{rule}"]) for rule in rules),
            style=style,
        )
    print_fitted(weeks, ("visits", "slews", *reversed(rules)))
    none = summary.weeks["eligible"] == 0
    empty, unpublished = summary.weeks[none & published], summary.weeks[none & ~published]
    if len(empty):
        console.print(
            styled((f"{len(empty)} windows have no eligible slew: " + ", ".join(empty["label"]), "bold red"))
        )
    if len(unpublished):
        which = _anneal_range(unpublished["anneal"].tolist())
        console.print(
            f"{len(unpublished)} windows start after the timeline's last visit ({_date(summary.last)}): "
            f"{which}, not published yet, or a timeline of another cycle"
        )


def print_destinations(table: pd.DataFrame, rules, *, as_json: bool = False) -> None:
    """The `destinations` table; with `as_json`, one JSON document on stdout and nothing else."""
    if as_json:
        print_json({"rules": rules.to_dict(), "destinations": table})
        return
    kinds = sorted({kind for row in table["slew_parallels"] for kind in row}) if len(table) else []
    out = Table(title=f"Slews by destination, rule set {rules.name!r}; slew parallels flown on them")
    out.add_column("destination prime mode", max_width=30)
    for name in ("slews", "eligible"):
        out.add_column(name, justify="right")
    out.add_column("excluded by (first rule failed)")
    for kind in kinds:
        out.add_column(kind, justify="right")
    out.add_column("expected", justify="right")
    out.add_column("chance", justify="right")
    for row in table.to_dict("records"):
        never = row["flown"] == 0 and row["otherwise_eligible"] > 0
        out.add_row(
            row["prime_mode"],
            str(row["slews"]),
            str(row["eligible"]),
            ", ".join(f"{rule} {n}" for rule, n in row["excluded"].items()),
            *(str(row["slew_parallels"].get(kind, 0)) for kind in kinds),
            f"{row['expected']:.1f}",
            f"{row['chance']:.1g}",
            style="bold" if never and row["chance"] < 0.01 else None,
        )
    print_fitted(out, ("expected", *kinds[1:], "slews"))
    console.print(
        "expected: slew parallels of every kind this mode would have carried had they run on any slew "
        "not into MIRI alike; chance: the probability of so few if so (Poisson). Modes that never "
        "carried one come first; bold where that is unlikely to be chance (< 1 %).",
        markup=False,
    )


def _minutes(value) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.1f}"


def print_slews(table: pd.DataFrame, period: dict, minimum_minutes: float, *, as_json: bool = False) -> None:
    """The `slews` table (`planner.problem.slewtime.slew_time_table`); with `as_json`, one JSON
    document on stdout and nothing else."""
    if as_json:
        print_json({"period": period, "minimum_minutes": minimum_minutes, "slews": table})
        return
    since, until = period.get("from") or "the first visit", period.get("until") or "the last"
    out = Table(title=f"Slew durations (minutes), visits from {since} until {until}")
    out.add_column("slews of", min_width=20, max_width=32)
    for name in ("slews", "unknown", "overlaps", "shortest", "10th pct", "median"):
        out.add_column(name, justify="right")
    out.add_column(f"< {minimum_minutes:g} min", justify="right")
    out.add_column(f">= {minimum_minutes:g} min", justify="right")
    for row in table.to_dict("records"):
        share = row["at_least_share"]
        out.add_row(
            row["group"],
            str(row["slews"]),
            str(row["unknown"]),
            str(row["overlaps"]),
            _minutes(row["shortest_min"]),
            _minutes(row["p10_min"]),
            _minutes(row["median_min"]),
            str(row["below_minimum"]),
            "-" if pd.isna(share) else f"{100 * share:.0f} %",
            end_section=row["group"] == table["group"].iloc[-2] if len(table) > 1 else False,
        )
    console.print(out)
    console.print(
        "A slew lasts from the previous visit's scheduled end to this visit's start (unknown for the "
        "first visit, after a visit without a duration, or across a hole of over 24 h between reports). "
        "Rows above the line: the slews the slew parallels of each mode flew on; last row: every slew "
        "into a targeted visit. Minutes over slews of known duration.",
        markup=False,
    )


def _report_label(name: str | None) -> str:
    """A report as the per-week table names it: a text report by its OP package id (after the
    '#'), a JSON report by its file name without the extension. The written table and --json
    keep the whole name; shortened, the column fits one line."""
    if not name:
        return ""
    if "#" in name:
        return name.rsplit("#", 1)[1]
    return name.removesuffix(".json").removesuffix(".txt")


# the online tables' columns left out first on a narrow terminal (--json has them all)
ONLINE_OPTIONAL = ("replans", "decided at", "interval d", "instrument", "window")


def _online_table(frame: pd.DataFrame, title: str) -> Table:
    reports = [_report_label(name) for name in frame["decided_at"]]
    table = Table(
        "#",
        "window",
        "decided at",
        "slew (UTC)",
        "visit",
        "instrument",
        "replans",
        "interval d",
        "dev h",
        "state",
        title=title,
    )
    # Dates, times, visit ids and deviations stay whole (together about 80 columns with the
    # borders); the report name too when the terminal has room for it beside the other headers
    # and a 14-character instrument; otherwise it folds, as the instrument does.
    visits = max((len(str(v)) for v in frame["visit_id"] if pd.notna(v)), default=0)
    whole = {1: len("YYYY-MM-DD"), 3: len("YYYY-MM-DD HH:MM"), 4: visits, 8: len("-100.00")}
    label = max(map(len, reports), default=0)
    headers = sum(
        max(whole.get(i, 0), len(str(c.header))) for i, c in enumerate(table.columns) if i not in (2, 5)
    )
    if headers + label + 14 + 3 * len(table.columns) + 1 <= console.width:
        whole[2] = label
    for column, width in whole.items():
        table.columns[column].min_width = width
    for row, report in zip(frame.to_dict("records"), reports, strict=True):
        style = {"missed": "bold red", "unpublished": "dim"}.get(row["state"])
        table.add_row(
            f"{row['anneal']:02d}",
            _date(row["window_start"])[:10],
            report,
            _date(row["slew_time"]),
            "" if pd.isna(row["visit_id"]) else str(row["visit_id"]),  # a missed anneal: none
            "" if pd.isna(row["instrument"]) else str(row["instrument"]),
            str(row["replans"]) if row["replans"] else "",
            "" if pd.isna(row["interval_days"]) else f"{row['interval_days']:.3f}",
            "" if pd.isna(row["deviation_hours"]) else f"{row['deviation_hours']:+.2f}",
            row["state"],
            style=style,
        )
    return table  # fitted by the caller (print_fitted, ONLINE_OPTIONAL)


def _anneal_range(numbers: list[int]) -> str:
    """`Anneal 05`, or `Anneals 05-07` for a run of consecutive ones, else a list."""
    if len(numbers) == 1:
        return f"Anneal {numbers[0]:02d}"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"Anneals {numbers[0]:02d}-{numbers[-1]:02d}"
    return "Anneals " + ", ".join(f"{k:02d}" for k in numbers)


def print_replay(run, written, *, as_json: bool = False) -> None:
    """The per-week table and the summary beside hindsight, greedy and the flown anneals."""
    summary = run.summary
    if as_json:
        print_json(summary | {"written": str(written) if written else None})
        return
    print_fitted(
        _online_table(run.frame, f"Replay, policy {summary['policy']}, rules {summary['rules']!r}"),
        ONLINE_OPTIONAL,
    )
    table = Table(
        "",
        "placed",
        "missed",
        "re-planned",
        "Σ|gap − m·7 d| d",
        "worst h",
        "× hindsight",
        title=f"Summary over {summary['reports']} reports and {summary['windows']} windows",
    )
    for key, label in (
        ("result", summary["policy"]),
        ("greedy", "greedy"),
        ("hindsight", "hindsight optimum"),
        ("flown", "flown"),
    ):
        if key not in summary:
            continue
        row = summary[key]
        table.add_row(
            label,
            str(row["placed"]),
            str(row.get("missed", "")),
            str(row.get("replanned", "")),
            f"{row['sum_abs_deviation_s'] / 86400:.2f}",
            f"{row['worst_deviation_hours']:.1f}",
            f"{row['ratio_to_hindsight']:.3f}" if "ratio_to_hindsight" in row else "",
        )
    console.print(table)
    common = summary.get("flown", {}).get("common_weeks")
    if common and common["weeks"] > 1:
        label = {"result": summary["policy"], "greedy": "greedy"}
        sums = [(label[name], value) for name, value in common["plans_s"].items()]
        days = ", ".join(
            f"{name} {value / 86400:.2f} d" for name, value in [*sums, ("flown", common["flown_s"])]
        )
        console.print(
            f"on the {common['weeks']} weeks where the flown anneals and these plans each hold one, "
            f"Σ|gap − m·7 d|: {days}"
        )
    _print_prior(summary["policy"], summary["prior"])
    result = summary["result"]
    unpublished = run.frame.loc[run.frame["state"] == "unpublished", "anneal"]
    if len(unpublished):
        console.print(
            f"no report's schedule reaches {_anneal_range(unpublished.tolist())}: unpublished, not "
            "counted as missed"
        )
    if result["vanished"]:
        console.print(
            f"flown slews a later report removed: {', '.join(f'Anneal {k:02d}' for k in result['vanished'])}"
        )
    if result["missed_with_slews"]:
        console.print(
            "missed, though the final schedule has an eligible slew (published too late or after the "
            f"re-plan): {', '.join(f'Anneal {k:02d}' for k in result['missed_with_slews'])}"
        )
    console.print(
        "every placed anneal passed the independent checker against the final timeline"
        + (f"; written to {written}" if written else ""),
    )


def _print_prior(policy: str, described: dict) -> None:
    """What a learning policy learned from (planner.online.prior.sentence); nothing for greedy."""
    from planner.online.prior import sentence

    line = sentence(policy, described)
    if line:
        console.print(line)


def print_next(plan, out: str, *, as_json: bool = False, diff=None) -> None:
    """The weekly plan; with `diff` (planner.plans.diff.PlanDiff), what it changed of last week's."""
    frame = plan.frame
    new = frame[frame["state"] != "flown"]
    if as_json:
        print_json(
            {
                **({"diff": diff.to_dict()} if diff is not None else {}),
                "written": out,
                "policy": plan.policy,
                "prior": plan.prior,
                "schedule_reaches": pd.Timestamp(plan.reaches, unit="s", tz="UTC"),
                "anneals": new.to_dict("records"),
                "reasons": {str(k): v for k, v in plan.reasons.items()},
                "why": {str(k): v for k, v in plan.why.items()},
                "notes": plan.notes,
                "expected_rest": plan.outlook.to_dict(),
            }
        )
        return
    print_fitted(_online_table(frame, "Next anneals (flown ones pinned)"), ONLINE_OPTIONAL)
    _print_prior(plan.policy, plan.prior)
    print_flown_notes(plan.notes)
    for k, reason in plan.reasons.items():
        console.print(styled((f"Anneal {k:02d} cannot be served:", "bold red"), f" {reason}"))
    for k, reason in plan.why.items():
        console.print(f"Anneal {k:02d}: {reason}")
    reaches = pd.Timestamp(plan.reaches, unit="s", tz="UTC")
    console.print(
        f"{int((new['state'] == 'planned').sum())} planned, {len(plan.reasons)} cannot be served; the "
        f"published schedule reaches {_date(reaches)} UTC; plan written to {out}"
    )
    console.print(plan.outlook.describe(plan.policy))
    if diff is not None:
        print_diff(diff, title=f"Changes from {diff.old}")


def timeline_document(summary: TimelineSummary, name: str) -> dict:
    return {
        "timeline": name,
        "visits": summary.visits,
        "first": summary.first,
        "last": summary.last,
        "by_visit_type": summary.by_visit_type,
        "by_instrument": summary.by_instrument,
        "unknown_visit_types": summary.unknown_visit_types,
        "unknown_instruments": summary.unknown_instruments,
        "slew_time": summary.slew_time,
        "windows": summary.weeks,
    }


def result_document(result: Result, out: str | None, deviation: dict) -> dict:
    """What `solve` prints, for programs: the plan file's metadata, the statistics, the plan rows."""
    return {
        **result.metadata(),
        "statistics": result.statistics() | deviation,
        "plan": result.plan,
        "out": out,
    }


LONG_PLAN = 30  # rows, about a terminal screen: longer plans (a cycle) print their worst weeks unless
# --table asks for every row; the plan file and `report` hold them all.
WORST_WEEKS = 10


def print_result(result: Result, out: str | None, *, table: bool = False) -> None:
    plan = result.plan
    rows = plan
    title = "Plan"
    if len(plan) > LONG_PLAN and not table:
        worst = plan["deviation_hours"].abs().fillna(-1) + plan["slew_time"].isna() * 1e9
        rows = plan.loc[worst.sort_values(ascending=False, kind="stable").index[:WORST_WEEKS]].sort_index()
        title = f"Worst {len(rows)} of {len(plan)} weeks (largest deviation; --table for all)"
    console.print(_plan_table(rows, title))
    console.print(Text.from_markup(headline(result)) + (f"\nplan written to {out}" if out else ""))


def _plan_table(plan: pd.DataFrame, title: str) -> Table:
    table = Table("#", "slew (UTC)", "visit", "instrument", "interval d", "dev h", title=title)
    for row in plan.to_dict("records"):
        interval, deviation = row["interval_days"], row["deviation_hours"]
        table.add_row(
            f"{row['anneal']:02d}",
            _date(row["slew_time"]) if pd.notna(row["slew_time"]) else styled(("missing", "yellow")),
            "" if pd.isna(row["visit_id"]) else str(row["visit_id"]),
            "" if pd.isna(row["instrument"]) else str(row["instrument"]),  # rich wraps it: never cut
            "" if pd.isna(interval) else f"{interval:.3f}",
            "" if pd.isna(deviation) else f"{deviation:+.2f}",
        )
    return table


def headline(result: Result, *, written: str | None = None, one_line: bool = False) -> str:
    """The summary line, then where the plan went, then the caveats (each on its own line, or
    after the rest on the one line `--quiet` prints)."""
    from rich.markup import escape  # the path is the user's text, never markup

    text = _summary(result) + (f"; plan written to {escape(written)}" if written else "")
    # --quiet keeps to one line: the unserved windows' reasons are in the plan's metadata
    lines = caveats(result, unserved=not one_line)
    return text + "".join(("  " if one_line else "\n") + line for line in lines)


def _observations(result: Result) -> str:
    """What the plan places, in words: the anneals, or the runs of another program's mode."""
    from rich.markup import escape  # a program file's mode is text from a file

    mode = result.program.get("mode", "MIRI Anneal") if result.program else "MIRI Anneal"
    return "anneals" if mode == "MIRI Anneal" else f"runs of {escape(str(mode))}"


def _summary(result: Result) -> str:
    stats = result.statistics()
    text = (
        f"[bold]{result.status.value}[/]: {stats['placed']}/{result.calendar['count']} "
        f"{_observations(result)} placed; "
        f"{result.objective} = {result.value} s"
    )
    if result.bound is not None and result.status.value != "OPTIMAL":
        text += f" (bound {result.bound:.0f} s)"
    if stats["missing"]:
        count = len(stats["missing"])
        text += f"; {count} window{'s' * (count != 1)} could not be served (no eligible slew): " + ", ".join(
            f"Anneal {k:02d}" for k in stats["missing"]
        )
    if result.objective != "regular" and "mean_interval_days" in stats:
        from planner.plans.compare import plan_deviation
        from planner.problem.calendar import Calendar

        total = plan_deviation(result.plan, Calendar.from_dict(result.calendar))["sum_abs_deviation_s"]
        text += f"; Σ|interval - m·{result.calendar['target_days']:g} d| = {total} s"
    if "mean_interval_days" in stats:
        text += (
            f"; interval mean {stats['mean_interval_days']:.3f} d, "
            f"min {stats['min_interval_days']:.3f} d, max {stats['max_interval_days']:.3f} d; "
            f"largest deviation from {result.calendar['target_days']:g} d: "
            f"{stats['largest_deviation_hours']:.2f} h"
        )
    return text + f"; solve {result.solve_seconds:.3f} s (build {result.build_seconds:.3f} s)"


def caveats(result: Result, *, unserved: bool = True) -> list[str]:
    """What the status alone does not say, in words: stages not proven, plans the solver did not make."""
    lines = []
    for stage in result.stages:
        if stage.proven:
            continue
        why = stage.note or f"stopped {stage.status.value} at the time limit"
        if stage.role == "tie-break":
            lines.append(
                f"The tie-break ({stage.name} slews) was not proven ({why}): another plan of the same "
                "objective values may have earlier slews."
            )
        else:
            lines.append(f"Stage {stage.name} was not proven optimal ({why}).")
    if result.stages and result.stages[0].plan_from == "hint":
        lines.append("The solver returned no plan in time: this is the DP's plan, the solver's hint.")
    from rich.markup import escape  # rule names and visit ids come from files: never markup

    for reason in result.unserved.values() if unserved else ():
        lines.append(f"Not served: {escape(reason)}")
    if result.unserved and unserved:
        lines.append("(--widen-hours H lets these windows take slews up to H hours outside them)")
    return lines


def plain_number(value: float) -> str:
    if value != value:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def comparison_document(comparison, plan: str) -> dict:
    return {
        "plan": plan,
        "summary": comparison.summary.to_dict(orient="index"),  # by row keeps integers integers
        "weeks": comparison.weeks,
        "executed": comparison.executed,
    }


def print_comparison(comparison, calendar, title: str = "Plan beside the anneals actually flown") -> None:
    from planner.plans.compare import executed_text

    summary = Table("", "plan", "flown", title=title)
    for line in comparison.plain_rows(calendar):
        summary.add_row(*line)
    console.print(summary)
    weeks = Table("week", "start", "planned", "executed", "difference h", title="Week by week")
    for row in comparison.weeks.itertuples():
        style = "bold red" if row.executed_count == 0 else None
        difference = "" if row.difference_hours != row.difference_hours else f"{row.difference_hours:+.1f}"
        weeks.add_row(
            f"{row.week:02d}",
            _date(row.week_start)[:10],
            _date(row.planned),
            executed_text(row.executed) or "-",
            difference,
            style=style,
        )
    console.print(weeks)


def _hours(value) -> str:
    return "" if value is None or pd.isna(value) else f"{value:+.2f}"


def _maybe(value) -> str:
    """A cell of text that may be missing (None, or NaN from a frame): '' then."""
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def print_diff(diff, *, as_json: bool = False, title: str | None = None) -> None:
    """The `diff` table (planner.plans.diff.PlanDiff): one row per anneal moved, dropped or added."""
    if as_json:
        print_json(diff.to_dict())
        return
    counts = diff.counts()
    table = Table(
        "#", "change", "old slew (UTC)", "old visit", "new slew (UTC)", "new visit", "dev h", "Δ|dev| h",
        "reason", title=title or f"From {diff.old} to {diff.new}",
    )  # fmt: skip
    for row in diff.rows.to_dict("records"):
        table.add_row(
            f"{row['anneal']:02d}",
            row["change"],
            _date(row["old_slew"]),
            _maybe(row["old_visit"]),
            _date(row["new_slew"]),
            _maybe(row["new_visit"]),
            _hours(row["new_deviation_hours"] if row["change"] != "dropped" else row["old_deviation_hours"]),
            _hours(row["deviation_change_hours"]),
            _maybe(row["reason"]),
            style={"dropped": "bold red", "added": "green"}.get(row["change"]),
        )
    if len(diff.rows):
        console.print(table)
    console.print(
        f"{counts['moved']} moved, {counts['dropped']} dropped, {counts['added']} added, "
        f"{diff.unchanged} unchanged"
        + (
            ""
            if diff.timeline_checked
            else " (the newer plan's timeline is not here: vanished slews unchecked)"
        )
    )
