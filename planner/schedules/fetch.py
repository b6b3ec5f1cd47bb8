"""`anneal-planner fetch`: bring the weekly reports STScI publishes, and the DAWN JWST Archive's
JSON copies of them, into a cache folder that `ingest`, `replay`, `timeline` and `next` read.

Two sources, each a listing and its files:
- STScI: the observing-schedules page (HTML) links `<YYYYMMDD>_report_<YYYYMMDD>.txt` files;
  each link is resolved against the page's own address.
- DJA: an index of one cycle's folder (by default GitHub's contents API for dawn-cph/dja, a JSON
  list of entries with a `name`; an HTML listing, such as a mirror's folder page, works too) names
  the `*_report_*.json` files, which are downloaded from a files address (GitHub's raw files).

Every address is a setting (option or environment variable) so that a mirror can stand in. A file
joins the cache only after the project's own readers parse it as a report (`read_reports`): an HTML
error page, a body cut short or a file of the wrong kind is refused with the URL named, and the
copy already cached stays as it was. Unchanged files are not downloaded again: the ETag and
Last-Modified of each file are kept in `.fetch-state` beside the files, and sent back as
If-None-Match / If-Modified-Since.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from planner.errors import InputError, OptionError, brief, shown
from planner.schedules import (  # here, not in this module, so `--help` shows them without its imports
    DJA_FILES_URL,
    DJA_INDEX_URL,
    ENV_CACHE,
    ENV_DJA_FILES_URL,
    ENV_DJA_INDEX_URL,
    ENV_STSCI_URL,
    STSCI_URL,
)

SOURCES = ("stsci", "dja")
STATE_NAME = ".fetch-state"  # no .json suffix: a folder of reports is read recursively as *.txt, *.json

# A weekly report is 40-100 KB (the shipped Cycle 2 JSON: 2.3 MB for 53); a listing page some
# hundred KB. Larger answers are refused while they stream in, never held whole.
MAX_FILE_BYTES = 20_000_000
MAX_LISTING_BYTES = 5_000_000
MAX_STATE_BYTES = 5_000_000
MAX_FILES = 2_000  # listed files per run: a cycle has about 60 per source

# `20240701_report_20240627.txt`: the week the schedule starts, then the day it was issued. DJA's
# early Cycle 1 files start with the OP package (`2219603f02_report_20220715.json`) instead.
_NAME = re.compile(r"^(\d{8}|\d{7}f\d{2})_report_(\d{8})\.(txt|json)$")
_SUFFIX = {"stsci": "txt", "dja": "json"}
_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class Settings:
    """Where each source is read from; `{cycle}` in a DJA address is the cycle's number."""

    stsci_url: str = STSCI_URL
    dja_index_url: str = DJA_INDEX_URL
    dja_files_url: str = DJA_FILES_URL
    timeout: float = 30.0  # seconds to connect, and between bytes of an answer
    retries: int = 3  # connection attempts again after a failed connect (httpx transport retries)
    sources: tuple[str, ...] = SOURCES

    @classmethod
    def from_environment(cls) -> Settings:
        """What `fetch` uses when no option is given (`next --fetch`): the addresses its environment
        variables name, else the defaults; checked."""
        return cls(
            stsci_url=os.environ.get(ENV_STSCI_URL) or STSCI_URL,
            dja_index_url=os.environ.get(ENV_DJA_INDEX_URL) or DJA_INDEX_URL,
            dja_files_url=os.environ.get(ENV_DJA_FILES_URL) or DJA_FILES_URL,
        ).check()

    def check(self) -> Settings:
        for option, url in (
            ("--stsci-url", self.stsci_url),
            ("--dja-index-url", self.dja_index_url),
            ("--dja-url", self.dja_files_url),
        ):
            _check_url(url, option)
        if not 0 < self.timeout <= 600:
            raise OptionError(f"--timeout {self.timeout:g}: expected seconds in (0, 600]")
        if not 0 <= self.retries <= 10:
            raise OptionError(f"--retries {self.retries}: expected 0 to 10")
        unknown = [s for s in self.sources if s not in SOURCES]
        if unknown or not self.sources:
            raise OptionError(f"--source {','.join(self.sources)}: expected stsci, dja or both")
        return self


def _check_url(url: str, option: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
        raise OptionError(f"{option} {shown(url)}: expected an http:// or https:// address")


def default_cache() -> Path:
    """The cache folder: $ANNEAL_PLANNER_CACHE, else the user's cache folder (platformdirs)."""
    given = os.environ.get(ENV_CACHE)
    if given:
        return Path(given)
    from platformdirs import user_cache_path

    return user_cache_path("anneal-planner") / "reports"


@dataclass(frozen=True)
class Period:
    """The weeks to fetch: reports whose week starts in [first, last) (YYYYMMDD), and the cycles
    whose DJA folders hold them."""

    first: str
    last: str
    cycles: tuple[int, ...]
    described: str

    def holds(self, name: str) -> bool:
        match = _NAME.match(name)
        if match is None:
            return False
        week = match.group(1) if len(match.group(1)) == 8 and "f" not in match.group(1) else match.group(2)
        return self.first <= week < self.last


def _cycles() -> list[tuple[int, int, int]]:
    """(cycle, first second, end second) of every shipped anneal series' calendar."""
    from planner.problem.program import anneal_series

    spans = []
    for program in anneal_series():
        calendar = program.calendar
        spans.append((int(program.cycle or 0), calendar.start, calendar.start + calendar.count * 7 * 86_400))
    return spans


def now_seconds() -> int:
    """The clock the default period is read from (one place, for tests to set)."""
    return int(datetime.now(UTC).timestamp())


def _day(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y%m%d")


def choose_period(cycle: int | None, since: str | None, until: str | None, now: int | None = None) -> Period:
    """The period `--cycle` or `--from/--until` name; neither: the cycle of today's date."""
    from planner.problem.calendar import parse_instant

    spans = _cycles()
    known = {c: (a, b) for c, a, b in spans}
    if cycle is not None and (since is not None or until is not None):
        raise OptionError("--cycle and --from/--until: expected one or the other, not both")
    if cycle is not None:
        if cycle not in known:
            raise OptionError(f"--cycle {cycle}: expected a shipped cycle, {min(known)} to {max(known)}")
        a, b = known[cycle]
        return Period(_day(a), _day(b), (cycle,), f"Cycle {cycle}")
    if since is not None or until is not None:
        a = parse_instant(since, option="--from") if since is not None else spans[0][1]
        b = parse_instant(until, option="--until") if until is not None else spans[-1][2]
        if b <= a:
            raise OptionError(f"--from {since} --until {until}: expected --until after --from")
        cycles = tuple(c for c, start, end in spans if start < b and a < end)
        return Period(_day(a), _day(b), cycles, f"weeks from {_day(a)} until {_day(b)}")
    today = now_seconds() if now is None else now
    started = [c for c, start, _ in spans if start <= today] or [spans[0][0]]
    c = started[-1]
    a, b = known[c]
    return Period(_day(a), _day(b), (c,), f"Cycle {c} (the cycle of today's date)")


class _Links(HTMLParser):
    """Every href of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def listed_files(body: bytes, base: str, kind: str) -> list[tuple[str, str]]:
    """(name, url) of the report files of `kind` ('txt' or 'json') that a listing names: a JSON
    list of entries with a `name` (GitHub's contents API), else an HTML page's links, each resolved
    against `base`. Names are checked against the report pattern, so no listing can make the
    fetch write outside its folder or fetch anything but reports."""
    text = body.decode("utf-8", errors="replace")
    candidates: list[str] = []
    if text.lstrip()[:1] in ("[", "{"):
        try:
            entries = json.loads(text)
        except (ValueError, RecursionError):
            entries = None
        if isinstance(entries, dict):  # a single entry, or an API error such as a rate limit
            entries = [entries]
        if isinstance(entries, list):
            named = (e for e in entries if isinstance(e, dict))
            candidates = [e["name"] for e in named if isinstance(e.get("name"), str)]
    else:
        parser = _Links()
        parser.feed(text)
        candidates = parser.hrefs
    found: dict[str, str] = {}
    for href in candidates:
        url = urljoin(base, href.strip())
        parts = urlsplit(url)
        name = parts.path.rsplit("/", 1)[-1]
        match = _NAME.match(name)
        if match is None or match.group(3) != kind or parts.scheme not in ("http", "https"):
            continue
        found.setdefault(name, url)
    return sorted(found.items())


@dataclass
class Outcome:
    """What a fetch did, file by file."""

    folder: Path
    period: Period
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # one line each: the URL and why

    @property
    def files(self) -> int:
        return len(self.new) + len(self.changed) + len(self.unchanged)

    def to_dict(self) -> dict:
        return {
            "folder": str(self.folder),
            "period": self.period.described,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "refused": self.refused,
        }


class FetchError(OptionError):
    """The network or a listing failed: one line, exit 2; the cache stays as it was."""


def _read_state(folder: Path) -> dict[str, dict[str, str]]:
    """The validators kept from the last fetch; anything damaged is forgotten (files are then
    downloaded again, never trusted)."""
    from planner.io import read_text_file

    path = folder / STATE_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(read_text_file(path, MAX_STATE_BYTES, "fetch state"))
    except (InputError, ValueError, RecursionError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {}
    return {
        url: {k: v for k, v in entry.items() if isinstance(v, str)}
        for url, entry in files.items()
        if isinstance(url, str) and isinstance(entry, dict)
    }


def _write_state(folder: Path, state: dict[str, dict[str, str]]) -> None:
    from planner.io import atomic_path

    with atomic_path(folder / STATE_NAME) as temporary:
        temporary.write_text(json.dumps({"version": 1, "files": state}, indent=1, sort_keys=True))


def _client(settings: Settings):
    import httpx

    transport = httpx.HTTPTransport(retries=settings.retries)
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(settings.timeout),
        follow_redirects=True,
        headers={"User-Agent": "anneal-planner (weekly MIRI anneal planning)"},
    )


def _describe(err: Exception) -> str:
    import httpx

    if isinstance(err, httpx.TimeoutException):
        return "timed out"
    if isinstance(err, httpx.ConnectError):
        return f"cannot connect ({brief(err, 120)})"
    return f"{type(err).__name__}: {brief(err, 160)}"


def _download(client, url: str, limit: int, headers: dict[str, str] | None = None):
    """(status, headers, body) of a GET, the body read up to `limit` bytes (ValueError past it)."""
    with client.stream("GET", url, headers=headers or {}) as answer:
        if answer.status_code != 200:
            return answer.status_code, answer.headers, b""
        declared = answer.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise ValueError(f"{int(declared):,} bytes; expected at most {limit:,}")
        chunks, size = [], 0
        for chunk in answer.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise ValueError(f"over {limit:,} bytes; expected at most {limit:,}")
            chunks.append(chunk)
        return 200, answer.headers, b"".join(chunks)


def _listing(client, url: str, kind: str) -> list[tuple[str, str]]:
    import httpx

    try:
        status, _, body = _download(client, url, MAX_LISTING_BYTES)
    except httpx.HTTPError as err:
        raise FetchError(f"{url}: {_describe(err)}; the files already cached stay usable") from None
    except ValueError as err:
        raise FetchError(f"{url}: {err}") from None
    if status != 200:
        raise FetchError(f"{url}: HTTP {status}; expected the listing of the weekly reports")
    return listed_files(body, url, kind)


def _parse(body: bytes, name: str, url: str, scratch: Path) -> None:
    """InputError naming `url` unless `body` parses as reports with the project's own readers."""
    from planner.schedules.timeline import read_reports

    if not body.strip():
        raise InputError(url, "an empty answer; expected a weekly report")
    path = scratch / name
    path.write_bytes(body)
    try:
        reports = read_reports(path)
    except InputError as err:
        where = f"line {err.line}: " if err.line is not None else f"{err.index}: " if err.index else ""
        raise InputError(url, f"{where}{err.what}") from None
    finally:
        path.unlink(missing_ok=True)
    if not reports:
        raise InputError(url, "holds no report")


def fetch(
    folder: Path,
    period: Period,
    settings: Settings = Settings(),  # frozen: one default shared safely
    on_progress: Callable[[str, int, int], None] | None = None,
) -> Outcome:
    """Fetch the reports of `period` into `folder` (stsci/*.txt, dja/Cycle<N>/*.json). FetchError
    (exit 2) when a listing cannot be had: offline, unreachable, timed out, refused. A file that
    cannot be fetched or does not parse is left out, its URL and reason in `Outcome.refused`."""
    import tempfile

    import httpx

    settings.check()
    folder = Path(folder)
    outcome = Outcome(folder, period)
    state = _read_state(folder)
    with _client(settings) as client:
        wanted: list[tuple[str, str, Path]] = []  # name, url, cache path
        if "stsci" in settings.sources:
            for name, url in _listing(client, settings.stsci_url, "txt"):
                if period.holds(name):
                    wanted.append((name, url, folder / "stsci" / name))
        if "dja" in settings.sources:
            for cycle in period.cycles:
                index = settings.dja_index_url.replace("{cycle}", str(cycle))
                files = settings.dja_files_url.replace("{cycle}", str(cycle))
                for name, _ in _listing(client, index, "json"):
                    if period.holds(name):  # the files address, not the listing's links: a mirror
                        wanted.append((name, urljoin(files, name), folder / "dja" / f"Cycle{cycle}" / name))
        if len(wanted) > MAX_FILES:
            raise FetchError(
                f"the listings name {len(wanted):,} report files; expected at most {MAX_FILES:,}"
            )
        with tempfile.TemporaryDirectory(prefix="anneal-planner-fetch-") as scratch:
            for done, (name, url, path) in enumerate(wanted):
                if on_progress is not None:
                    on_progress(name, done, len(wanted))
                try:
                    what = _fetch_one(client, url, name, path, state.get(url), Path(scratch))
                except (InputError, ValueError, httpx.HTTPError) as err:
                    reason = _describe(err) if isinstance(err, httpx.HTTPError) else str(err)
                    outcome.refused.append(reason if isinstance(err, InputError) else f"{url}: {reason}")
                    continue
                kind, validators = what
                state[url] = validators | {"path": str(path.relative_to(folder))}
                getattr(outcome, kind).append(str(path.relative_to(folder)))
                _write_state(folder, state)  # after each file: an interrupted fetch keeps what it got
            if on_progress is not None:
                on_progress("", len(wanted), len(wanted))
    return outcome


def _fetch_one(client, url: str, name: str, path: Path, known: dict[str, str] | None, scratch: Path):
    """('new' | 'changed' | 'unchanged', validators) for one file, written atomically once it parses."""
    from planner.io import atomic_path

    headers = {}
    cached = path.is_file() and known is not None
    if cached and known is not None:
        if known.get("etag"):
            headers["If-None-Match"] = known["etag"]
        if known.get("last_modified"):
            headers["If-Modified-Since"] = known["last_modified"]
    status, answer, body = _download(client, url, MAX_FILE_BYTES, headers)
    if status == 304 and cached and known is not None:
        return "unchanged", {k: known[k] for k in ("etag", "last_modified", "sha256") if k in known}
    if status != 200:
        raise InputError(url, f"HTTP {status}; expected a weekly report")
    kind_of = answer.get("content-type", "").split(";")[0].strip().lower()
    if kind_of in _HTML_TYPES:
        raise InputError(url, f"an HTML page ({kind_of}), not a weekly report; not cached")
    _parse(body, name, url, scratch)
    digest = hashlib.sha256(body).hexdigest()
    validators = {"sha256": digest}
    for header, key in (("etag", "etag"), ("last-modified", "last_modified")):
        if answer.get(header):
            validators[key] = answer[header][:500]
    if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == digest:
        return "unchanged", validators
    kind = "changed" if path.exists() else "new"
    with atomic_path(path) as temporary:
        temporary.write_bytes(body)
    return kind, validators


@contextlib.contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar on stderr while files download; nothing when stderr is no terminal."""
    from planner.views.terminal import errors

    if not enabled or not errors.is_terminal:
        yield lambda _name, _done, _total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("fetching {task.description}"), BarColumn(), MofNCompleteColumn(), console=errors,
        transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("reports", total=None)

        def show(name: str, done: int, total: int) -> None:
            bar.update(task, description=name or "reports", completed=done, total=total)

        yield show


def cached_sources(folder: Path) -> Iterable[Path]:
    """The cache folder as `--timeline` reads it; InputError when nothing was fetched into it yet."""
    if not folder.is_dir() or not any(
        p.suffix in (".txt", ".json") for p in folder.rglob("*") if p.is_file() and p.name != STATE_NAME
    ):
        raise InputError(folder, "no fetched report here yet; run 'anneal-planner fetch' when online")
    return [folder]
