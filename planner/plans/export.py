"""`anneal-planner export PLAN --out x.csv | x.ics`: a plan for a spreadsheet or a calendar.

One row (CSV) or one event (iCalendar) per placed anneal, at its slew, with its window and the
visit slewed to. Missed anneals have no slew and are left out. Text from the plan (visit ids,
instruments, targets) is untrusted: a CSV cell that a spreadsheet would run as a formula is
written with a leading apostrophe."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from planner.io import atomic_path, format_by_suffix
from planner.plans.result import placed_rows

FORMATS = {".csv": "csv", ".ics": "ics"}
CSV_COLUMNS = [
    "anneal", "label", "state", "slew_time", "visit_id", "instrument", "target",
    "window_start", "window_end", "interval_days", "deviation_hours",
]  # fmt: skip
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def export_format(path: Path) -> str:
    """'csv' or 'ics' by the file's suffix; OptionError naming --out otherwise."""
    return format_by_suffix(path, FORMATS)


def _placed(plan: pd.DataFrame) -> pd.DataFrame:
    return placed_rows(plan).sort_values("anneal")


def _time(value) -> str:
    return "" if value is None or pd.isna(value) else value.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _cell(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA) else text


def plan_csv(plan: pd.DataFrame) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in _placed(plan).to_dict("records"):
        writer.writerow(
            [
                int(row["anneal"]),
                _cell(row["label"]),
                _cell(row.get("state") or "planned"),
                _time(row["slew_time"]),
                _cell(row["visit_id"]),
                _cell(row["instrument"]),
                _cell(row["target"]),
                _time(row["window_start"]),
                _time(row["window_end"]),
                "" if pd.isna(row["interval_days"]) else f"{row['interval_days']:.6f}",
                "" if pd.isna(row["deviation_hours"]) else f"{row['deviation_hours']:.4f}",
            ]
        )
    return out.getvalue()


def plan_ics(plan: pd.DataFrame, *, name: str, mode: str, minutes: float, sha: str) -> bytes:
    """An iCalendar with one event per placed anneal, during its slew: the slew ends at the visit's
    scheduled start (the plan's `slew_time`), so the event is the `minutes` before it."""
    from icalendar import Calendar, Event

    stamp = datetime.now(UTC)
    calendar = Calendar()
    calendar.add("prodid", "-//anneal-planner//MIRI anneal plan//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{mode}: {name}")
    for row in _placed(plan).to_dict("records"):
        end = row["slew_time"].to_pydatetime()
        event = Event()
        # Stable across exports of the same plan: a calendar that imports it again updates, not doubles.
        event.add("uid", f"{sha[:16]}-{int(row['anneal'])}@anneal-planner")
        event.add("dtstamp", stamp)
        event.add("dtstart", end - timedelta(minutes=minutes))
        event.add("dtend", end)
        event.add("summary", f"{mode} {int(row['anneal']):02d}: slew parallel to {row['visit_id']}")
        lines = [
            f"{row['label']} ({row.get('state') or 'planned'})",
            f"window {_time(row['window_start'])} .. {_time(row['window_end'])}",
            f"slew to visit {row['visit_id']} ({row['instrument'] or 'no instrument'}, target "
            f"{row['target'] or 'none'})",
        ]
        if not pd.isna(row["deviation_hours"]):
            lines.append(f"deviation from the target interval {row['deviation_hours']:+.2f} h")
        event.add("description", "\n".join(lines))
        calendar.add_component(event)
    return calendar.to_ical()


def export_plan(path: Path, out: Path) -> int:
    """Write plan file `path` as `out` (.csv or .ics), atomically; the number of anneals written."""
    import hashlib

    from planner.plans.planfile import read_plan_program

    kind = export_format(out)
    plan, _, program = read_plan_program(path)
    if kind == "csv":
        data = plan_csv(plan).encode()
    else:
        sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        minutes = float(program.duration_minutes) or 25.0  # a zero-length event shows in no calendar
        data = plan_ics(plan, name=Path(path).name, mode=program.mode, minutes=minutes, sha=sha)
    with atomic_path(out) as temporary:
        temporary.write_bytes(data)
    return len(_placed(plan))
