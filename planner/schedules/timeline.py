"""The canonical slew timeline: every prime visit once, as the latest-issued reports have it.

`read_schedules` turns raw report files (text, JSON, folders of them) into the timeline DataFrame;
`load_timeline` reads either a canonical Parquet timeline or raw files; `write_timeline` stores one.
Each row's `slew_seconds` (see `slew_seconds`) depends on the row before it, so it is computed
wherever a timeline's rows are made or changed (here, `History.known_after`, `perturb`, `synthetic`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from planner.errors import InputError, OptionError, brief
from planner.io import read_parquet, same_type, write_parquet
from planner.problem.calendar import format_instant, to_seconds
from planner.schedules.report import SLEW_PARALLEL, SLEW_VISIT_TYPES, Report, Visit

# Version 2 added `slew_seconds`; it is derived from the rows on every load and write, so version 1
# files read alike.
SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
HOLE_SECONDS = 24 * 3600  # between two reports, a longer time without visits is missing data
DATA_DIR = Path(__file__).resolve().parents[2] / "data"  # the repository's raw reports (not installed)
# The shipped timeline is package data, found wherever the package is installed (wheels unpack to
# folders, so the resource is a plain file).
DEFAULT_TIMELINE = Path(str(resources.files("planner").joinpath("data", "jwst_timeline.parquet")))
# How a plan names the shipped timeline: by this name and its sha256, not by this machine's path,
# so a plan made on one machine checks, compares and reports on another.
SHIPPED_NAME = "shipped:jwst_timeline.parquet"
MAX_TIMELINE_BYTES = 1_000_000_000  # shipped: 0.3 MB; a synthetic decade: about 5 MB
SCHEDULE_SUFFIXES = {".txt": "text", ".json": "json"}

PARALLEL_TYPE = pa.struct(
    [("visit_type", pa.string()), ("instrument", pa.string()), ("visit_id", pa.string())]
)
SCHEMA = pa.schema(
    [
        ("visit_id", pa.string()),
        ("start", pa.timestamp("s", tz="UTC")),
        ("duration_s", pa.int64()),
        ("visit_type", pa.string()),
        ("instrument", pa.string()),
        ("target", pa.string()),
        ("category", pa.string()),
        ("keywords", pa.string()),
        ("parallels", pa.list_(PARALLEL_TYPE)),
        ("uses_miri", pa.bool_()),
        ("is_slew", pa.bool_()),
        ("slew_parallel", pa.string()),
        ("source", pa.string()),
        ("slew_seconds", pa.int64()),  # nullable: unknown
    ]
)
COLUMNS = SCHEMA.names
DERIVED = ("slew_seconds",)  # computed from the other columns; absent from version 1 files


class Sources(tuple):
    """A timeline's source names as its `attrs["sources"]`. pandas deep-copies a frame's attrs on
    every operation; being immutable, these are shared instead of copied (a list of a cycle's ~50
    names was copied some 70 times a solve, a fifth of a batch scenario's time)."""

    __slots__ = ()

    def __deepcopy__(self, memo) -> Sources:
        return self

    @classmethod
    def of(cls, value):
        """Sources from a list, such as a file's metadata; anything else (untrusted metadata) as
        it came."""
        return cls(value) if isinstance(value, list | tuple) else value


def schedule_files(paths: Iterable[Path | str]) -> list[Path]:
    """Expand folders (recursively) into their report files, sorted; keep files as given."""
    files: list[Path] = []
    for given in map(Path, paths):
        if given.is_dir():
            found = sorted(
                p for p in given.rglob("*") if p.is_file() and p.suffix.lower() in SCHEDULE_SUFFIXES
            )
            if not found:
                raise InputError(given, "folder holds no schedule files (*.txt or *.json)")
            files.extend(found)
        elif given.is_file():
            files.append(given)
        else:
            raise InputError(given, "no such file or folder")
    return files


def read_reports(path: Path) -> list[Report]:
    """The reports in one file, by its content: JSON starts with '[' or '{', text otherwise."""
    # The readers are imported here: most commands read a Parquet timeline and never need them.
    from planner.schedules.dja import read_json_reports
    from planner.schedules.text import read_text_reports

    with open(path, "rb") as handle:
        head = handle.read(4096).lstrip()
    if head[:1] in (b"[", b"{") or path.suffix.lower() == ".json":
        return read_json_reports(path)
    return read_text_reports(path)


def supersede(reports: Sequence[Report]) -> list[Visit]:
    """Apply docs/domain.md's rule: a later-issued report replaces earlier rows within its own span.

    Visits are never matched by visit id (ids recur); a row survives unless a report issued after
    its own covers its start time.
    """
    ordered = sorted(reports, key=lambda r: r.issue_key)
    kept: list[Visit] = []
    later_spans = np.empty((0, 2), dtype=np.int64)
    for report in reversed(ordered):
        starts = np.fromiter((v.start for v in report.visits), dtype=np.int64)
        inside = (starts[:, None] >= later_spans[:, 0]) & (starts[:, None] <= later_spans[:, 1])
        covered = np.any(inside, axis=1).tolist()  # a later report's span holds this row's start
        kept.extend(v for v, gone in zip(report.visits, covered, strict=True) if not gone)
        later_spans = np.vstack([later_spans, report.span])
    kept.sort(key=lambda v: (v.start, v.visit_id))
    return kept


def uses_miri(visit: Visit) -> bool:
    """Prime mode MIRI, or MIRI in any attached row that is not a slew parallel (docs/domain.md)."""
    return _uses(visit.instrument, ((p.visit_type, p.instrument) for p in visit.parallels), ("MIRI",))


def _uses(instrument: str | None, attached, prefixes: tuple[str, ...]) -> bool:
    """A visit uses an instrument when its prime mode, or an attached row that is not a slew
    parallel, starts with its name (docs/domain.md); `attached` yields (visit_type, mode) pairs."""
    if (instrument or "").startswith(prefixes):
        return True
    return any(kind != SLEW_PARALLEL and (mode or "").startswith(prefixes) for kind, mode in attached)


def uses_instruments(timeline: pd.DataFrame, prefixes: tuple[str, ...]) -> np.ndarray:
    """Per visit of a timeline frame, whether it uses any of the instruments `prefixes`. MIRI's is
    the `uses_miri` column, computed once at ingest; any other is computed here alike."""
    if tuple(prefixes) == ("MIRI",):
        return timeline["uses_miri"].to_numpy(bool)
    if not prefixes:
        return np.zeros(len(timeline), dtype=bool)
    prefixes = tuple(prefixes)
    modes, distinct = pd.factorize(timeline["instrument"], use_na_sentinel=True)
    by_mode = np.array([str(m).startswith(prefixes) for m in distinct] + [False], dtype=bool)
    used = by_mode[modes]
    parallels = timeline["parallels"].to_numpy()
    for i in np.flatnonzero(~used):
        if len(parallels[i]):
            used[i] = _uses(None, ((p["visit_type"], p["instrument"]) for p in parallels[i]), prefixes)
    return used


def slew_parallel(visit: Visit) -> str | None:
    """The slew parallel that decides eligibility: one other than a MIRI anneal when the visit carries
    any (a lamp beside an anneal still blocks the slew), else the anneal, else None."""
    modes = [p.instrument or "" for p in visit.parallels if p.visit_type == SLEW_PARALLEL]
    return next((m for m in modes if m != "MIRI Anneal"), modes[0] if modes else None)


def known_durations(timeline: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `duration_s` (0 where unknown) and whether it is known: a null or negative
    (malformed) duration leaves the visit's end unknown (`slew_seconds`)."""
    raw = timeline["duration_s"].astype("Int64").fillna(-1).to_numpy(np.int64)  # (float64 with NaN too)
    known = raw >= 0
    return np.where(known, raw, 0), known


def slew_seconds(timeline: pd.DataFrame) -> pd.arrays.IntegerArray:
    """The duration of the slew into each visit of a timeline (rows in time order), in seconds.

    The rule (docs/domain.md, "Slew time"): the slew into row i lasts from the scheduled end of row i-1
    (its `start` + `duration_s`) to the scheduled start of row i, where row i-1 is the previous row
    of the same timeline (in a canonical timeline, the previous visit that survived the supersede
    rule). It is unknown (null) when
    - i is the first row (nothing before it is known);
    - row i-1's `duration_s` is missing (null) or malformed (negative): its end is not known. The
      report readers refuse a malformed duration, so this arises only in timelines built in memory;
    - rows i-1 and i came from different reports (`source`) and the slew would be longer than 24 h
      (HOLE_SECONDS; exactly 24 h is still a slew): a hole in the data, such as the days the
      Cycle 1 text reports miss, not a slew.
    Everything else is known: a long idle inside one report, or a few hours between two reports,
    is a long slew; overlapping visits (row i starts before row i-1 ends) give a negative value.

    Returns a nullable int64 array (pandas "Int64") of the timeline's length; rows of every visit
    type get a value (the planner's slews are the rows with `is_slew`)."""
    n = len(timeline)
    if n == 0:
        return pd.array([], dtype="Int64")
    starts = timeline["start"].dt.as_unit("s").astype("int64").to_numpy()
    durations, known_end = known_durations(timeline)
    ends = starts + durations
    sources = timeline["source"].to_numpy(object)
    values = np.zeros(n, dtype=np.int64)
    values[1:] = starts[1:] - ends[:-1]
    unknown = np.ones(n, dtype=bool)
    hole = (sources[1:] != sources[:-1]) & (values[1:] > HOLE_SECONDS)
    unknown[1:] = ~known_end[:-1] | hole
    return pd.arrays.IntegerArray(values, unknown)


def with_slew_seconds(timeline: pd.DataFrame) -> pd.DataFrame:
    """The timeline with its `slew_seconds` column (re)computed from its rows, in place; returned."""
    timeline["slew_seconds"] = slew_seconds(timeline)
    return timeline


def to_frame(visits: Sequence[Visit]) -> pd.DataFrame:
    """The canonical timeline DataFrame (schema SCHEMA) of the given visits, in the order given (time
    order for a timeline; `slew_seconds` reads each row's predecessor)."""
    columns = {
        "visit_id": [v.visit_id for v in visits],
        "start": np.array([v.start for v in visits], dtype=np.int64),
        "duration_s": [v.duration_s for v in visits],
        "visit_type": [v.visit_type for v in visits],
        "instrument": [v.instrument for v in visits],
        "target": [v.target for v in visits],
        "category": [v.category for v in visits],
        "keywords": [v.keywords for v in visits],
        "parallels": [
            [
                {"visit_type": p.visit_type, "instrument": p.instrument, "visit_id": p.visit_id}
                for p in v.parallels
            ]
            for v in visits
        ],
        "uses_miri": [uses_miri(v) for v in visits],
        "is_slew": [v.visit_type in SLEW_VISIT_TYPES for v in visits],
        "slew_parallel": [slew_parallel(v) for v in visits],
        "source": [v.source for v in visits],
        "slew_seconds": [None] * len(visits),
    }
    table = pa.table(columns, schema=SCHEMA)  # int64 seconds become timestamp[s, UTC] here
    return with_slew_seconds(table.to_pandas())


def read_schedules(paths: Iterable[Path | str]) -> pd.DataFrame:
    """Raw STScI text / DJA JSON reports (files or folders) -> the canonical timeline DataFrame.

    `df.attrs["sources"]` lists the files read.
    """
    files = schedule_files(paths)
    reports = [report for path in files for report in read_reports(path)]
    frame = to_frame(supersede(reports))
    frame.attrs["sources"] = Sources(str(p) for p in files)
    return frame


def write_timeline(frame: pd.DataFrame, path: Path) -> None:
    """Store a timeline as Parquet with its schema version and sources, atomically.

    `slew_seconds` is written as computed from the frame's rows, whatever column the frame holds: a
    frame whose rows were edited (visits cancelled, moved) would otherwise carry slews of rows it no
    longer has, which eligibility would read and the checker, deriving them again, would refuse."""
    frame = with_slew_seconds(frame.copy())
    meta = {
        "kind": "timeline",
        "schema_version": SCHEMA_VERSION,
        "sources": [Path(s).as_posix() for s in frame.attrs.get("sources", [])],
    }
    # a timeline cut from its reports (`ingest --as-of`, `--until`) says where
    meta |= {key: frame.attrs[key] for key in ("as_of", "until") if isinstance(frame.attrs.get(key), str)}
    write_parquet(frame[COLUMNS], SCHEMA, meta, path)


def load_timeline(paths: Sequence[Path | str] | Path | str | None = None) -> pd.DataFrame:
    """A canonical timeline from a Parquet file, or built on the fly from raw report files.

    None means the shipped timeline.
    """
    if paths is None:
        if not DEFAULT_TIMELINE.is_file():
            raise InputError(
                DEFAULT_TIMELINE,
                "the shipped timeline is missing; reinstall, or rebuild it as data/README.md shows",
            )
        paths = [DEFAULT_TIMELINE]
    if isinstance(paths, str | Path):
        paths = [paths]
    files = [Path(p) for p in paths]
    if len(files) == 1 and files[0].suffix == ".parquet":
        return _read_parquet_timeline(files[0])
    return read_schedules(files)


def _check_timeline_columns(table: pa.Table, path: Path, version: int = SCHEMA_VERSION) -> None:
    """Every column of SCHEMA with its type (timestamps in any unit, UTC), and rows in time order;
    a version 1 file has no derived columns."""
    for field in SCHEMA:
        if version == 1 and field.name in DERIVED:
            continue
        if field.name not in table.schema.names:
            raise InputError(path, f"timeline column {field.name} is missing; expected the columns {COLUMNS}")
        actual = table.schema.field(field.name).type
        if not same_type(field, actual):
            raise InputError(path, f"timeline column {field.name} is {actual}; expected {field.type}")
    for name in ("visit_id", "start", "duration_s", "visit_type", "parallels", "uses_miri", "is_slew"):
        if table[name].null_count:
            raise InputError(path, f"timeline column {name}: a null value; expected one on every row")
    attached = pa.chunked_array([chunk.flatten() for chunk in table["parallels"].chunks], type=PARALLEL_TYPE)
    if any(chunk.field("visit_type").null_count for chunk in attached.chunks):
        raise InputError(path, "timeline column parallels: an attached row without a visit type")
    try:
        starts = table["start"].cast(pa.int64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowException, ValueError) as err:
        raise InputError(path, f"timeline column start cannot be read ({err})") from None
    if len(starts) > 1 and (starts[1:] < starts[:-1]).any():  # (nulls were refused above)
        raise InputError(path, "timeline column start: expected times in increasing order, none missing")


# What the planner's other Parquet files are, to say so when one is given as a timeline.
OTHER_KINDS = {
    "plan": "a plan, written by 'solve' or 'next'",
    "joint-plan": "a joint plan, written by 'solve' with several programs",
    "history": "a report history, written by 'ingest --history'",
    "replay": "a replay table, written by 'replay --out'; beside it, timeline.parquet is the final timeline",
    "batch_summary": "a batch summary, written by 'batch'",
}


def _read_parquet_timeline(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(path, "no such file")
    if path.stat().st_size > MAX_TIMELINE_BYTES:
        raise InputError(
            path, f"over {MAX_TIMELINE_BYTES // 1_000_000_000} GB; expected a timeline Parquet file"
        )
    try:
        table, meta = read_parquet(path, shipped=path.resolve() == DEFAULT_TIMELINE.resolve())
    except (pa.ArrowException, OSError, ValueError, RecursionError) as err:
        raise InputError(path, f"not a readable Parquet file ({brief(err)})") from None
    if meta.get("kind") != "timeline":
        kind = meta.get("kind")  # untrusted: any JSON value
        what = OTHER_KINDS.get(kind if isinstance(kind, str) else "", "its metadata has no kind 'timeline'")
        raise InputError(
            path,
            f"not a timeline ({what}); expected a file written by 'anneal-planner ingest' (without "
            "--history) or 'synth'",
        )
    version = meta.get("schema_version")
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        raise InputError(
            path,
            f"timeline schema version {version}; this planner reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}: re-run 'anneal-planner ingest'",
        )
    try:  # a column name that is not UTF-8 fails when it is first read
        _check_timeline_columns(table, path, version)
    except (pa.ArrowException, ValueError) as err:
        raise InputError(path, f"timeline columns cannot be read ({brief(err)})") from None
    try:
        table.validate(full=True)  # e.g. text that is not UTF-8, which pandas would meet only later
        frame = table.to_pandas()
    except (pa.ArrowException, ValueError, OverflowError) as err:
        raise InputError(path, f"timeline columns cannot be read ({brief(err)})") from None
    # Derived from start, duration_s and source as ingest does, never taken from the file: a version
    # 1 file has none, and a stored column that does not match its rows (a file edited, or untrusted)
    # would make eligibility disagree with the checker, which derives the slews again.
    with_slew_seconds(frame)
    frame.attrs["sources"] = Sources.of(meta.get("sources", []))
    frame.attrs["path"] = str(path)
    return frame


def started_before(frame: pd.DataFrame, before: int, option: str = "--until") -> pd.DataFrame:
    """The visits of `frame` that start before `before` (what has flown by then; the slews into
    them are unchanged, each measured from the visit before it). None is an OptionError."""
    kept = frame[to_seconds(frame["start"]) < before]
    if kept.empty:
        first = format_instant(int(to_seconds(frame["start"]).min())) if len(frame) else "none"
        raise OptionError(
            f"{option} {format_instant(before)}: no visit starts before it (the first at {first})"
        )
    kept.attrs = frame.attrs | {"until": format_instant(before)}
    return kept
