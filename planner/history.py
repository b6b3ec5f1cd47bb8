"""The schedule as it was published: every report in issue order, and what was known after each.

DOMAIN.md's supersede rule read as history: after report i (in issue order) the schedule is every
row of reports 1..i that no later report among them covers (a report covers the rows of earlier
ones whose start lies within its own span). Each row therefore lives from the report that brought
it until the first later report whose span covers it (`superseded_at`), which is all that is needed
to rebuild the timeline known after any report, and the final canonical timeline (the rows never
superseded) is the last of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from planner.calendar import to_seconds
from planner.errors import InputError
from planner.report import Report
from planner.timeline import read_reports, schedule_files, to_frame

NEVER = np.iinfo(np.int64).max


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
            Issue(i, r.source, _issue_seconds(r.issue_date), *r.span) for i, r in enumerate(ordered)
        ]
        visits = [v for r in ordered for v in r.visits]
        brought = np.repeat(np.arange(len(ordered)), [len(r.visits) for r in ordered])
        frame = to_frame(visits)
        frame["report"] = brought
        order = np.lexsort((frame["visit_id"].to_numpy(), to_seconds(frame["start"])))
        self.rows = frame.iloc[order].reset_index(drop=True)
        self.rows["superseded_at"] = self._superseded_at()
        self.sources = sources

    @classmethod
    def read(cls, paths: Iterable[Path | str]) -> History:
        """Raw text / JSON reports (files, folders, merged JSON lists), in any mix."""
        files = schedule_files(paths)
        return cls([r for path in files for r in read_reports(path)], [str(p) for p in files])

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
        """The same reports with their rows changed the way `planner.perturb` changes a timeline
        (each report's copy of a visit independently: a reissue may drop what an earlier issue
        had, which is what makes an operator re-plan)."""
        from planner.perturb import perturb

        if perturbation.is_identity:
            return self
        changed = object.__new__(History)
        changed.issues, changed.sources = self.issues, [*self.sources, f"perturbed:{perturbation.to_dict()}"]
        rows = perturb(self.rows.drop(columns=["superseded_at"]), perturbation, within)
        changed.rows = rows.reset_index(drop=True)
        changed.rows["superseded_at"] = changed._superseded_at()
        return changed

    def known_after(self, order: int) -> pd.DataFrame:
        """The timeline as known after report `order` was applied (sorted by start)."""
        alive = (self.rows["report"].to_numpy() <= order) & (self.rows["superseded_at"].to_numpy() > order)
        frame = self.rows.loc[alive].drop(columns=["report", "superseded_at"]).reset_index(drop=True)
        frame.attrs["sources"] = self.sources
        return frame

    def final(self) -> pd.DataFrame:
        """The canonical timeline of all the reports (what `ingest` writes)."""
        return self.known_after(len(self.issues) - 1)


def _issue_seconds(date: str) -> int:
    return int(datetime.strptime(date, "%Y%m%d").replace(tzinfo=UTC).timestamp())
