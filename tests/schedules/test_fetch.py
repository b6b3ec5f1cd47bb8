"""`fetch` against a local HTTP server (127.0.0.1, started by each test, never the internet): the
shipped reports served as STScI's page and DJA's folders, a 404, a slow answer, an HTML error
page, a body cut mid-row, a file whose ETag changes; offline; and `next --fetch`."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.schedules.fetch import STATE_NAME, choose_period, listed_files
from planner.schedules.text import parse_text_reports
from planner.schedules.timeline import DATA_DIR

runner = CliRunner()
RAW = DATA_DIR / "raw"
TEXT = RAW / "stsci-text" / "weekly_reports_2022-07-10_to_2024-03-04.txt"


def _text_reports(count: int) -> dict[str, bytes]:
    """The newest `count` STScI reports of the shipped text, one file each, named as STScI names
    them: the first day of the schedule, then the day it was issued."""
    parts = [p for p in re.split(r"(?m)^(?=Visit Information for OP Package)", TEXT.read_text()) if p.strip()]
    files = {}
    for part in parts[:count]:
        report = parse_text_reports(part, name="x")[0]
        week = datetime.fromtimestamp(report.span[0], UTC).strftime("%Y%m%d")
        files[f"{week}_report_{report.issue_date}.txt"] = part.encode()
    return files


class Server:
    """Files by path: (body, content type, ETag, delay seconds); a 404 for anything else. Counts the
    bodies it sent and the conditional requests it answered 304."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str, str | None, float]] = {}
        self.sent: list[str] = []
        self.not_modified: list[str] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                with server.lock:
                    found = server.files.get(path)
                if found is None:
                    self.send_error(404)
                    return
                body, kind, etag, delay = found
                if delay:
                    time.sleep(delay)
                if etag is not None and self.headers.get("If-None-Match") == etag:
                    with server.lock:
                        server.not_modified.append(path)
                    self.send_response(304)
                    self.end_headers()
                    return
                with server.lock:
                    server.sent.append(path)
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                if etag is not None:
                    self.send_header("ETag", etag)
                self.end_headers()
                with contextlib_suppress():
                    self.wfile.write(body)

            def log_message(self, *args) -> None:  # quiet: the test's output stays readable
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def add(self, path: str, body: bytes, kind: str = "text/plain", etag: str | None = None, delay=0.0):
        self.files[path] = (body, kind, etag, delay)


def contextlib_suppress():
    import contextlib

    return contextlib.suppress(BrokenPipeError, ConnectionResetError)


@pytest.fixture
def server():
    served = Server()
    served.thread.start()
    yield served
    served.httpd.shutdown()
    served.httpd.server_close()


STSCI = _text_reports(3)  # weeks of 2024-02-12, -19, -26 (Cycle 2)
DJA = {
    2: sorted((RAW / "dja-json" / "cycle2").glob("202406*.json"))[:2],
    3: sorted((RAW / "dja-json" / "cycle3").glob("*.json")),
}


def _serve_reports(server: Server, extra_links: list[str] = ()) -> None:
    """STScI's page (relative and absolute links, and links to other things) and its files; DJA's
    index per cycle (GitHub's contents API shape) and its raw files, each with an ETag."""
    links = [f'<a href="files/{name}">{name}</a>' for name in sorted(STSCI)[:2]]
    last = sorted(STSCI)[2]
    links.append(f'<a href="{server.url}/stsci/files/{last}">latest</a>')
    links += ['<a href="/about">about</a>', '<a href="files/20240101_report_20240101.pdf">pdf</a>']
    links += list(extra_links)
    page = f"<html><body><h1>Observing schedules</h1>{''.join(links)}</body></html>".encode()
    server.add("/stsci/page", page, "text/html; charset=utf-8")
    for name, body in STSCI.items():
        server.add(f"/stsci/files/{name}", body, etag=f'"{name}-1"')
    for cycle, paths in DJA.items():
        elsewhere = "http://elsewhere.invalid/x"  # ignored: files come from the --dja-url address
        entries = [{"name": p.name, "type": "file", "download_url": elsewhere} for p in paths]
        entries.append({"name": "README.md", "type": "file"})
        if cycle == 3:  # a name is its last path part: the same file, never outside the folder
            entries.append({"name": "../../20240701_report_20240627.json", "type": "file"})
        server.add(f"/dja/index/Cycle{cycle}", json.dumps(entries).encode(), "application/json")
        for path in paths:
            server.add(f"/dja/raw/Cycle{cycle}/{path.name}", path.read_bytes(), etag=f'"{path.name}-1"')


def _fetch(server: Server, out: Path, *extra: str):
    args = [
        "fetch", "--from", "2024-02-01", "--until", "2024-07-15", "--out", str(out),
        "--stsci-url", f"{server.url}/stsci/page",
        "--dja-index-url", f"{server.url}/dja/index/Cycle{{cycle}}",
        "--dja-url", f"{server.url}/dja/raw/Cycle{{cycle}}/",
        "--timeout", "1", "--retries", "0", *extra,
    ]  # fmt: skip
    return runner.invoke(app, args)


def test_fetch_caches_new_files_then_asks_only_for_changes(server, tmp_path):
    _serve_reports(server)
    out = tmp_path / "cache"
    first = _fetch(server, out, "--json")
    assert first.exit_code == 0, first.output
    done = json.loads(first.stdout)
    assert len(done["new"]) == 3 + 2 + 2 and not done["refused"] and not done["changed"]
    assert sorted(p.name for p in (out / "stsci").iterdir()) == sorted(STSCI)
    assert (out / "dja" / "Cycle3" / "20240701_report_20240627.json").read_bytes() == DJA[3][0].read_bytes()
    assert not any(p.name.endswith(".part") for p in out.rglob("*"))
    assert len(server.sent) == 1 + 2 + 7  # the page, two indexes, seven files

    server.sent.clear()
    again = _fetch(server, out, "--json")
    assert again.exit_code == 0, again.output
    assert len(json.loads(again.stdout)["unchanged"]) == 7
    assert len(server.not_modified) == 7  # conditional requests: no file body sent again
    assert all("report" not in path for path in server.sent)

    # STScI re-issues a file: a new ETag and new content (a row dropped, still a whole report)
    name = sorted(STSCI)[0]
    lines = STSCI[name].decode().split("\n")
    changed = "\n".join(lines[:5] + lines[6:]).encode()
    server.add(f"/stsci/files/{name}", changed, etag=f'"{name}-2"')
    third = _fetch(server, out)
    assert third.exit_code == 0, third.output
    assert "1 changed, 6 unchanged, 0 refused" in third.stdout
    assert (out / "stsci" / name).read_bytes() == changed
    state = json.loads((out / STATE_NAME).read_text())
    assert state["files"][f"{server.url}/stsci/files/{name}"]["etag"] == f'"{name}-2"'

    # the cache folder is a --timeline: every command reads it
    read = runner.invoke(app, ["timeline", str(out), "--json"])
    assert read.exit_code == 0, read.output
    assert json.loads(read.stdout)["visits"] > 500


def test_bad_answers_are_refused_naming_the_url_and_never_cached(server, tmp_path):
    good = sorted(STSCI)[0]
    html = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>\n"
    text = STSCI[good].decode()
    cut = text[: text.index("\n", len(text) // 2) + 40].encode()  # ends in the middle of a row
    bad = {
        "20240304_report_20240301.txt": None,  # listed, not there: 404
        "20240311_report_20240308.txt": (STSCI[good], "text/plain", 3.0),  # slower than --timeout
        "20240318_report_20240315.txt": (html, "text/plain", 0.0),  # an error page saved as the file
        "20240325_report_20240322.txt": (html, "text/html", 0.0),  # the wrong type
        "20240401_report_20240329.txt": (cut, "text/plain", 0.0),  # cut mid-row
    }
    _serve_reports(server, [f'<a href="files/{name}">x</a>' for name in bad])
    for name, served in bad.items():
        if served is not None:
            body, kind, delay = served
            server.add(f"/stsci/files/{name}", body, kind, delay=delay)
    out = tmp_path / "cache"
    result = _fetch(server, out, "--source", "stsci")
    assert result.exit_code == 2, result.output
    refused = [line for line in result.stderr.splitlines() if line.startswith("error: refused")]
    assert len(refused) == len(bad), result.stderr
    for name, line in zip(sorted(bad), sorted(refused), strict=True):
        assert f"{server.url}/stsci/files/{name}" in line
    reasons = "\n".join(refused)
    assert "HTTP 404" in reasons and "timed out" in reasons and "HTML page" in reasons
    assert "cut short" in reasons
    assert "3 new, 0 changed, 0 unchanged, 5 refused" in result.stdout
    assert sorted(p.name for p in (out / "stsci").iterdir()) == sorted(STSCI)  # only the good ones


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_offline_is_one_line_and_the_cache_stays_usable(server, tmp_path):
    _serve_reports(server)
    out = tmp_path / "cache"
    assert _fetch(server, out).exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    gone = f"http://127.0.0.1:{_closed_port()}"
    result = runner.invoke(
        app,
        ["fetch", "--cycle", "3", "--out", str(out), "--timeout", "1", "--retries", "1"],
        env={"ANNEAL_PLANNER_STSCI_URL": f"{gone}/page", "ANNEAL_PLANNER_DJA_INDEX_URL": f"{gone}/{{cycle}}"},
    )
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "cannot connect" in lines[0] and f"{gone}/page" in lines[0], lines
    assert "Traceback" not in result.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert runner.invoke(app, ["timeline", str(out), "--json"]).exit_code == 0


def test_next_fetch_plans_on_the_fetched_schedule(server, tmp_path, monkeypatch):
    from planner.schedules import fetch

    monkeypatch.setattr(fetch, "now_seconds", lambda: int(datetime(2024, 7, 10, tzinfo=UTC).timestamp()))
    _serve_reports(server)
    cache = tmp_path / "cache"
    env = {
        "ANNEAL_PLANNER_CACHE": str(cache),
        "ANNEAL_PLANNER_STSCI_URL": f"{server.url}/stsci/page",
        "ANNEAL_PLANNER_DJA_INDEX_URL": f"{server.url}/dja/index/Cycle{{cycle}}",
        "ANNEAL_PLANNER_DJA_URL": f"{server.url}/dja/raw/Cycle{{cycle}}/",
    }
    plan = tmp_path / "next.parquet"
    flown = tmp_path / "flown.parquet"
    ingest = runner.invoke(app, ["ingest", *map(str, DJA[2]), "--out", str(flown)])
    assert ingest.exit_code == 0, ingest.output
    result = runner.invoke(
        app, ["next", "--fetch", "--flown", str(flown), "--out", str(plan), "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (cache / "dja" / "Cycle3").is_dir() and plan.is_file()
    assert document["schedule_reaches"].startswith("2024-07-1")  # the fetched Cycle 3 weeks
    given = runner.invoke(app, ["next", "--fetch", "--timeline", str(flown), "--flown", str(flown)], env=env)
    assert given.exit_code == 2 and "--fetch" in given.output


def test_listings_name_only_report_files_inside_the_folder():
    page = (
        b'<a href="a/20240701_report_20240627.txt">x</a><a href="../../etc/passwd">y</a>'
        b'<a href="javascript:20240708_report_20240712.txt">z</a>'
        b'<a href="b/20240708_report_20240712.json">j</a>'
    )
    assert listed_files(page, "http://h/p/", "txt") == [
        ("20240701_report_20240627.txt", "http://h/p/a/20240701_report_20240627.txt")
    ]
    names = ["../20240701_report_20240627.json", "20240708_report_20240712.json"]
    index = json.dumps([*({"name": n} for n in names), {"name": 5}, "x"]).encode()
    assert [name for name, _ in listed_files(index, "http://h/C3/", "json")] == [
        "20240701_report_20240627.json",
        "20240708_report_20240712.json",
    ]  # a name is its last path part: "../" never leaves the folder
    assert listed_files(b'{"message": "API rate limit exceeded"}', "http://h/", "json") == []


def test_periods():
    cycle3 = choose_period(3, None, None)
    assert (cycle3.first, cycle3.cycles) == ("20240701", (3,))
    assert cycle3.holds("20240701_report_20240627.json") and not cycle3.holds("20240624_report_20240621.json")
    both = choose_period(None, "2024-06-01", "2024-07-15", None)
    assert both.cycles == (2, 3)
    today = choose_period(None, None, None, now=int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()))
    assert today.cycles == (3,)
    from planner.errors import OptionError

    with pytest.raises(OptionError, match="--cycle"):
        choose_period(9, None, None)
    with pytest.raises(OptionError, match="not both"):
        choose_period(3, "2024-01-01", None)
