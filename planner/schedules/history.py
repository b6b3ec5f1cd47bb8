"""The schedule as it was published: every report in issue order, and what was known after each.

docs/domain.md's supersede rule read as history: after report i (in issue order) the schedule is every
row of reports 1..i that no later report among them covers (a report covers the rows of earlier
ones whose start lies within its own span). Each row therefore lives from the report that brought
it until the first later report whose span covers it (`superseded_at`), which is all that is needed
to rebuild the timeline known after any report, and the final canonical timeline (the rows never
superseded) is the last of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from planner.errors import InputError, OptionError, brief
from planner.io import read_parquet, typed_frame, write_parquet
from planner.problem.calendar import format_instant, to_seconds
from planner.schedules.report import Report, issue_seconds
from planner.schedules.timeline import (
    DERIVED,
    SCHEMA,
    SCHEMA_VERSION,
    Sources,
    read_reports,
    schedule_files,
    to_frame,
    with_slew_seconds,
)

NEVER = np.iinfo(np.int64).max
# Every row of every report: rows of different reports interleave, so a row's predecessor (and the
# derived slew_seconds) is known only in a timeline made of them (`known_after`).
_ROW_SCHEMA = pa.schema([field for field in SCHEMA if field.name not in DERIVED])
HISTORY_SCHEMA = pa.schema(
    [*_ROW_SCHEMA, pa.field("report", pa.int64()), pa.field("superseded_at", pa.int64())]
)


@dataclass(frozen=True, slots=True)
class Issue:
    """One report in the history: its place in issue order, issue date and span (seconds)."""

    order: int  # 0-based position in issue order
    name: str  # the report's source (file, or file#OP package)
    issued: int  # the issue date at 00:00 UTC
    first: int  # its own span: first and last scheduled start
    last: int


class History:
    """Reports in issue order, with every row they brought (`rows`) and when each was superseded."""

    def __init__(self, reports: list[Report], sources: list[str]):
        if not reports:
            raise InputError(", ".join(sources) or "sources", "no schedule reports to replay")
        ordered = sorted(reports, key=lambda r: r.issue_key)
        self.issues = [
            Issue(i, r.source, _issue_seconds(r.issue_date, r.source), *r.span) for i, r in enumerate(ordered)
        ]
        visits = [v for r in ordered for v in r.visits]
        brought = np.repeat(np.arange(len(ordered)), [len(r.visits) for r in ordered])
        frame = to_frame(visits).drop(columns=list(DERIVED))
        frame["report"] = brought
        order = np.lexsort((frame["visit_id"].to_numpy(), to_seconds(frame["start"])))
        self.rows = frame.iloc[order].reset_index(drop=True)
        self.rows["superseded_at"] = self._superseded_at()
        self.sources = sources

    @classmethod
    def read(cls, paths: Iterable[Path | str]) -> History:
        """Raw text / JSON reports (files, folders, merged JSON lists), in any mix, or one history
        Parquet written by `anneal-planner ingest --history`."""
        given = [Path(p) for p in paths]
        if len(given) == 1 and given[0].suffix == ".parquet":
            return cls._read_parquet(given[0])
        files = schedule_files(given)
        return cls([r for path in files for r in read_reports(path)], [str(p) for p in files])

    def write(self, path: Path) -> None:
        """Every row of every report, with `report` (issue order) and `superseded_at`, and the
        reports (issue order, name, issue date, span) in the metadata: the whole issue history."""
        meta = {
            "kind": "history",
            "schema_version": SCHEMA_VERSION,
            "sources": [Path(s).as_posix() for s in self.sources],
            "reports": [asdict(issue) for issue in self.issues],
        }
        write_parquet(self.rows, HISTORY_SCHEMA, meta, path)

    @classmethod
    def _read_parquet(cls, path: Path) -> History:
        try:
            table, meta = read_parquet(path)
        except (pa.ArrowException, OSError, ValueError) as err:
            raise InputError(path, f"not a readable Parquet file ({brief(err)})") from None
        if meta.get("kind") != "history" or table.schema.names != HISTORY_SCHEMA.names:
            what = "a timeline, " if meta.get("kind") == "timeline" else ""  # it knows no issue order
            raise InputError(
                path,
                f"{what}not a report history; give the reports, or a history written by "
                "'anneal-planner ingest --history'",
            )
        try:
            issues = [Issue(**issue) for issue in meta["reports"]]
        except (KeyError, TypeError) as err:
            raise InputError(path, f"damaged report list in its metadata ({err})") from None
        fields = ((i.order, i.issued, i.first, i.last) for i in issues)
        if not all(type(v) is int for v in (x for f in fields for x in f)) or not all(
            isinstance(i.name, str) for i in issues
        ):
            raise InputError(
                path, "damaged report list in its metadata (expected whole-second times and names)"
            )
        if [i.order for i in issues] != list(range(len(issues))) or not issues:
            raise InputError(path, "damaged report list in its metadata (orders are not 0..n-1)")
        rows = typed_frame(table, HISTORY_SCHEMA, path, "history")
        history = object.__new__(cls)
        history.issues, history.sources = issues, meta.get("sources", [str(path)])
        history.rows = rows
        history._check_rows(path)
        return history

    def _check_rows(self, path: Path) -> None:
        """What replay relies on and `write` guarantees: rows in time order (visit id breaking ties),
        each brought by a listed report and superseded when the supersede rule says. A file that
        says otherwise was changed since: refused, not replayed into a wrong plan."""
        rows = self.rows
        if rows[["visit_id", "start", "report", "superseded_at"]].isna().any().any():
            raise InputError(path, "a row without visit_id, start or report; expected a written history")
        starts = to_seconds(rows["start"])
        ids = rows["visit_id"].to_numpy()
        later = starts[1:] > starts[:-1]
        tied = (starts[1:] == starts[:-1]) & (ids[1:] >= ids[:-1])
        if len(rows) > 1 and not (later | tied).all():
            at = int(np.flatnonzero(~(later | tied))[0]) + 1
            raise InputError(path, f"row {at} is out of time order; expected rows sorted by start")
        brought = rows["report"].to_numpy()
        if len(rows) and (brought.min() < 0 or brought.max() >= len(self.issues)):
            raise InputError(
                path, f"a row's report is not one of the {len(self.issues)} listed in its metadata"
            )
        if not np.array_equal(self._superseded_at(), rows["superseded_at"].to_numpy()):
            raise InputError(
                path, "superseded_at disagrees with the reports' spans; expected a written history"
            )

    def _superseded_at(self) -> np.ndarray:
        """For each row, the first later report whose span covers its start (NEVER if none)."""
        starts = to_seconds(self.rows["start"])
        brought = self.rows["report"].to_numpy()
        superseded = np.full(len(starts), NEVER, dtype=np.int64)
        for issue in self.issues:
            covered = (
                (brought < issue.order)
                & (starts >= issue.first)
                & (starts <= issue.last)
                & (superseded == NEVER)
            )
            superseded[covered] = issue.order
        return superseded

    def perturbed(self, perturbation, within: tuple[int, int] | None = None) -> History:
        """The same reports with their rows changed the way `planner.schedules.perturb` changes a timeline
        (each report's copy of a visit independently: a reissue may drop what an earlier issue
        had, which is what makes an operator re-plan; each report's visits slip as one sequence)."""
        from planner.schedules.perturb import perturb

        if perturbation.is_identity:
            return self
        changed = object.__new__(History)
        changed.issues, changed.sources = self.issues, [*self.sources, f"perturbed:{perturbation.to_dict()}"]
        rows = perturb(self.rows.drop(columns=["superseded_at"]), perturbation, within, chains="report")
        changed.rows = rows.reset_index(drop=True)
        changed.rows["superseded_at"] = changed._superseded_at()
        return changed

    def known_after(self, order: int) -> pd.DataFrame:
        """The timeline as known after report `order` was applied (sorted by start). Made once per
        report and history, then shared: a replay and the greedy replay beside it, and the final
        timeline, read the same frames (callers never change them)."""
        known = self.__dict__.setdefault("_known", {})
        if order not in known:
            issued, superseded = self.rows["report"].to_numpy(), self.rows["superseded_at"].to_numpy()
            alive = (issued <= order) & (superseded > order)
            frame = self.rows.loc[alive].drop(columns=["report", "superseded_at"]).reset_index(drop=True)
            with_slew_seconds(frame)
            frame.attrs["sources"] = Sources.of(self.sources)
            known[order] = frame
        return known[order]

    def as_of(self, seconds: int, option: str = "--as-of") -> pd.DataFrame:
        """The timeline as published at `seconds`: known after the last report issued by then (an
        issue date counts from its 00:00 UTC). None issued yet is an OptionError naming the first."""
        issued = [issue for issue in self.issues if issue.issued <= seconds]
        if not issued:
            first = min(self.issues, key=lambda issue: issue.issued)
            raise OptionError(
                f"{option} {format_instant(seconds)}: no report was issued by then; the first, "
                f"{first.name}, was issued {format_instant(first.issued)[:10]}"
            )
        frame = self.known_after(issued[-1].order).copy()  # (the known frames are shared)
        # its sources: the files of the reports issued by then, and any file holding several
        # reports (a whole-cycle list, a text file of many weeks), whose own name is no report's
        used = {Path(issue.name.split("#")[0]).stem for issue in issued}
        every = {Path(issue.name.split("#")[0]).stem for issue in self.issues}
        kept = [s for s in self.sources if Path(s).stem in used or Path(s).stem not in every]
        frame.attrs["sources"] = Sources.of(kept)
        frame.attrs["as_of"] = format_instant(seconds)
        return frame

    def final(self) -> pd.DataFrame:
        """The canonical timeline of all the reports (what `ingest` writes)."""
        return self.known_after(len(self.issues) - 1)


def _issue_seconds(date: str, source: str) -> int:
    seconds = issue_seconds(date)
    if seconds is None:  # a name such as report_20230231.txt: a date no calendar has
        raise InputError(source, f"issue date {date!r} is not a calendar date")
    return seconds
