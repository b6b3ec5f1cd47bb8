"""Fuzzing every command through the real entry point (the typer app, as `anneal-planner` and
`python -m planner` call it) with mangled files, damaged plans and random option values (issue 11).

Every case runs in a fresh folder and must keep the README's promise: exit 0, 1, 2 or 130 (3 is a
bug of ours), no traceback, one message line on stderr when the input is refused (exit 2), no
output file and no `.part` file left when it fails, nothing written outside its folder. The number
of cases each command was driven with is printed at the end (`-s`) and in the report of issue 11.
"""

from __future__ import annotations

import collections
import contextlib
import json
import math
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner.cli import app
from planner.schedules.timeline import DATA_DIR, DEFAULT_TIMELINE

RAW = DATA_DIR / "raw"
REPORT = (
    "Visit Information for OP Package "
    + (
        (RAW / "stsci-text" / "weekly_reports_2022-07-10_to_2024-03-04.txt")
        .read_text()
        .split("Visit Information for OP Package ")[1]
    )
)  # the newest complete report, closed by its blank line
JSON_REPORT = (RAW / "dja-json" / "cycle2" / "20230703_report_20230629.json").read_bytes()
SCENARIOS = b'[base]\ncount = 2\n[[scenarios]]\nname = "a"\n[[scenarios]]\nobjective = "minimax"\n'
OK_CODES = {0, 1, 2, 130}
TRIED: collections.Counter = collections.Counter()
EXITS: collections.Counter = collections.Counter()
runner = CliRunner()


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,  # every run explores afresh; a failure prints its example
    )


@pytest.fixture(scope="module", autouse=True)
def _print_counts():
    yield
    # Hostile scenario names ('/abs', '../up') must not have reached the file system anywhere.
    assert not list(Path("/").glob("abs-*")) and not list(Path(tempfile.gettempdir()).glob("up-*"))
    total = sum(TRIED.values())
    print(f"\nfuzz cases tried: {total} ({', '.join(f'{k} {v}' for k, v in sorted(TRIED.items()))})")
    print(f"exit codes: {dict(sorted(EXITS.items()))}")


@pytest.fixture(scope="module")
def plan_bytes(tmp_path_factory) -> bytes:
    """A real 3-anneal plan of the shipped timeline (its metadata names that timeline)."""
    out = tmp_path_factory.mktemp("plan") / "plan.parquet"
    assert runner.invoke(app, ["solve", "--count", "3", "--out", str(out)]).exit_code == 0
    return out.read_bytes()


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _batch_files(path: str) -> bool:
    """What a batch may write under its folder `o`: plans only under o/plans/, and the summary."""
    parts = Path(path).parts
    return (
        parts in {("o",), ("o", "plans"), ("o", "summary.parquet")}
        or (len(parts) == 3 and parts[:2] == ("o", "plans") and parts[2].endswith(".parquet"))
        or (len(parts) >= 3 and parts[:2] == ("o", "plans"))  # a replay scenario's folder of files
    )


def drive(kind: str, args: list[str], inputs: dict[str, bytes], out: str | None = None, allowed=None):
    """Run one case in a fresh folder holding `inputs`; `{name}` in args is that file's path and
    `{out}` the output path. Checks the promise and returns the result."""
    TRIED[kind] += 1
    with tempfile.TemporaryDirectory(prefix="fuzz-") as parent:
        folder = Path(parent) / "case"
        folder.mkdir()
        for name, data in inputs.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        target = folder / out if out else None
        names = {k.split("/")[0].split(".")[0]: folder / k.split("/")[0] for k in inputs}
        filled = [a.format(out=target, **names) for a in args]
        before = _files(folder)
        with contextlib.chdir(folder):
            result = runner.invoke(app, filled)
        output = result.output
        EXITS[result.exit_code] += 1
        assert result.exit_code in OK_CODES, (filled, result.exit_code, output)
        assert "Traceback" not in output, (filled, output)
        assert not any(p.endswith(".part") for p in _files(folder)), (filled, _files(folder))
        assert sorted(p.name for p in Path(parent).iterdir()) == ["case"], "wrote outside its folder"
        new = _files(folder) - before
        if result.exit_code == 2:
            assert len(result.stderr.strip().splitlines()) == 1, (filled, result.stderr)
        if result.exit_code == 1 and allowed is not None:
            assert all(map(allowed, new)), (filled, new)  # a batch with failed scenarios: its summary
        elif result.exit_code != 0:
            assert not new, (filled, new)
        elif allowed is not None:
            assert all(map(allowed, new)), (filled, new)
        else:
            written = {str(Path(out)), *(str(Path(out) / p) for p in _files(target))} if target else set()
            assert new <= written, (filled, new - written)
        return result


# -- mangled bytes ---------------------------------------------------------------------------------


@st.composite
def mangled(draw, data: bytes, footer: bool = False) -> bytes:
    """`data` truncated, with bytes flipped, random bytes inserted or a span replaced or repeated;
    `footer`: only in a Parquet file's footer (its metadata, before the last 8 bytes), where one
    flipped byte can make pyarrow abort rather than raise (planner.io._footer_survives)."""
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        first = max(0, len(data) - 8 - int.from_bytes(data[-8:-4], "little")) if footer else 0
        at = draw(st.integers(min(first, len(data) - 1), len(data) - 1))
        action = draw(st.sampled_from(["cut", "flip", "insert", "replace", "repeat"]))
        if action == "cut":
            data = data[:at]
        elif action == "flip":
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        elif action == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=20)) + data[at:]
        elif action == "replace":
            span = draw(st.integers(1, 64))
            data = data[:at] + draw(st.binary(min_size=0, max_size=span)) + data[at + span :]
        else:
            span = draw(st.integers(1, 400))
            data = data[: at + span] + data[at : at + span] + data[at + span :]
    return data


@fuzz(120)
@given(text=mangled(REPORT.encode()), as_json=mangled(JSON_REPORT), which=st.booleans())
def test_ingest_mangled_reports(text, as_json, which):
    name, data = ("r.txt", text) if which else ("r.json", as_json)
    drive("ingest", ["ingest", f"{{{name.split('.')[0]}}}", "--out", "{out}"], {name: data}, "t.parquet")


@fuzz(40)
@given(
    data=mangled(DEFAULT_TIMELINE.read_bytes()),
    command=st.sampled_from(["timeline", "destinations", "solve"]),
)
def test_mangled_timelines(data, command):
    args = {
        "timeline": ["timeline", "{t}", "--count", "3"],
        "destinations": ["destinations", "{t}"],
        "solve": ["solve", "--timeline", "{t}", "--count", "3", "--out", "{out}"],
    }[command]
    drive(command, args, {"t.parquet": data}, "p.parquet" if command == "solve" else None)


@fuzz(30)
@given(data=mangled(REPORT.encode()), policy=st.sampled_from(["greedy", "lookahead", "rollout", "guarded"]))
def test_replay_mangled_reports(data, policy):
    drive(
        "replay",
        ["replay", "{r}", "--count", "2", "--policy", policy, "--out", "{out}"],
        {"r.txt": data},
        "o",
    )


@fuzz(20)
@given(data=mangled(DEFAULT_TIMELINE.read_bytes()), command=st.sampled_from(["replay", "next"]))
def test_mangled_prior_timelines(plan_bytes, data, command):
    """A damaged --prior is one more untrusted timeline: one line naming it, no output."""
    if command == "replay":
        args = ["replay", "{r}", "--count", "2", "--prior", "{t}", "--out", "{out}"]
        drive("replay --prior", args, {"r.txt": REPORT.encode(), "t.parquet": data}, "o")
    else:
        args = ["next", "--flown", "{p}", "--count", "2", "--prior", "{t}", "--out", "{out}"]
        drive("next --prior", args, {"p.parquet": plan_bytes, "t.parquet": data}, "o.parquet")


@fuzz(60)
@given(data=mangled(SCENARIOS))
def test_batch_mangled_scenarios(data):
    drive(
        "batch",
        ["batch", "{s}", "--out", "{out}", "--quiet", "--jobs", "1"],
        {"s.toml": data},
        "o",
        _batch_files,
    )


# -- damaged plans ---------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["../../etc/passwd", "/dev/zero", "[/x]", "operations", "2023-07-03", "Anneal 01"]),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def damaged_metadata(draw, meta: dict):
    """The plan's metadata with a few keys (at any depth) deleted, replaced or added."""
    meta = json.loads(json.dumps(meta))
    for _ in range(draw(st.integers(1, 3))):
        node = meta
        while isinstance(node, dict) and node and draw(st.booleans()):
            child = node[draw(st.sampled_from(sorted(node)))]
            if not isinstance(child, dict) or not child:
                break
            node = child
        if not isinstance(node, dict):
            break
        action = draw(st.sampled_from(["delete", "replace", "add"]))
        keys = sorted(node)
        if action == "delete" and keys:
            del node[draw(st.sampled_from(keys))]
        elif action == "replace" and keys:
            node[draw(st.sampled_from(keys))] = draw(JSON_VALUES)
        else:
            node[draw(st.text(min_size=1, max_size=8))] = draw(JSON_VALUES)
    return meta


def _with_metadata(plan: bytes, meta) -> bytes:
    import io

    table = pq.read_table(io.BytesIO(plan))
    raw = json.dumps(meta, allow_nan=True).encode()
    sink = io.BytesIO()
    pq.write_table(table.replace_schema_metadata({b"anneal_planner": raw}), sink)
    return sink.getvalue()


PLAN_COMMANDS = {
    "check": (["check", "{p}"], None),
    "compare": (["compare", "{p}"], None),
    "plot": (["plot", "{p}", "--out", "{out}"], "o.png"),
    "report": (["report", "{p}", "--out", "{out}"], "o.html"),
    "pin": (
        ["solve", "--count", "3", "--pin", "{p}", "--pin-until", "2023-07-12", "--out", "{out}"],
        "o.parquet",
    ),
    "next": (["next", "--flown", "{p}", "--count", "3", "--out", "{out}"], "o.parquet"),
}


@fuzz(150)
@given(data=st.data(), command=st.sampled_from(sorted(PLAN_COMMANDS)))
def test_damaged_plan_metadata(plan_bytes, data, command):
    meta = json.loads(pq.read_schema(__import__("io").BytesIO(plan_bytes)).metadata[b"anneal_planner"])
    damaged = _with_metadata(plan_bytes, data.draw(damaged_metadata(meta)))
    args, out = PLAN_COMMANDS[command]
    drive(f"{command} (damaged metadata)", args, {"p.parquet": damaged}, out)


@fuzz(60)
@given(data=st.data(), command=st.sampled_from(sorted(PLAN_COMMANDS)))
def test_mangled_plan_files(plan_bytes, data, command):
    args, out = PLAN_COMMANDS[command]
    drive(f"{command} (mangled file)", args, {"p.parquet": data.draw(mangled(plan_bytes))}, out)


@fuzz(80)
@given(data=st.data(), command=st.sampled_from(sorted(PLAN_COMMANDS)))
def test_mangled_plan_footers(plan_bytes, data, command):
    args, out = PLAN_COMMANDS[command]
    damaged = data.draw(mangled(plan_bytes, footer=True))
    drive(f"{command} (mangled footer)", args, {"p.parquet": damaged}, out)


# -- random option values --------------------------------------------------------------------------

NUMBERS = st.sampled_from(
    [
        "0",
        "-1",
        "1",
        "2",
        "3",
        "0.5",
        "7",
        "53",
        "1e-9",
        "nan",
        "inf",
        "-inf",
        "1e308",
        "1e400",
        "2147483648",
        "99999999999999999999",
        "abc",
        "",
        "9" * 1_000,
        "-" + "9" * 5_000,
    ]
)  # fmt: skip  (issue 25: thousands of digits, under and over Python's int <-> str limit)
DATES = st.sampled_from(
    ["2023-07-03", "2023-07-03T12:00:00Z", "2023-02-30", "9999-12-31", "0001-01-01", "2262-04-12", "x", ""]
)
SOLVE_OPTIONS = {
    "--start": DATES,
    "--count": st.sampled_from(["1", "2", "3", "0", "-1", "5001", "x", "99999999999999999999"]),
    "--window-days": NUMBERS,
    "--target-days": NUMBERS,
    "--time-limit": NUMBERS,
    "--workers": NUMBERS,
    "--seed": NUMBERS,
    "--min-gap-days": NUMBERS,
    "--miri-recovery-minutes": NUMBERS,
    "--objective": st.sampled_from(["regular", "mean", "minimax", "fastest", "[bold]x"]),
    "--rules": st.sampled_from(["seed", "operations", "[/x].toml", "/dev/null", "nope"]),
    "--fix": st.sampled_from(["Anneal 01=1244:8:1", "1=1:1:1", "Anneal 99999999999=1:1:1", "x"]),
}


@st.composite
def options(draw, allowed: dict) -> list[str]:
    chosen = draw(st.lists(st.sampled_from(sorted(allowed)), min_size=1, max_size=4, unique=True))
    args = []
    for name in chosen:
        args += [name, draw(allowed[name])]
    return args


def _small_count(args: list[str]) -> list[str]:
    """Random options must not ask for a long solve: keep at most a few anneals."""
    if "--count" not in args:
        args = [*args, "--count", "3"]
    return args


@fuzz(150)
@given(args=options(SOLVE_OPTIONS))
def test_solve_with_random_options(args):
    drive("solve (options)", ["solve", *_small_count(args), "--out", "{out}"], {}, "p.parquet")


@fuzz(60)
@given(
    args=options(
        {
            k: v
            for k, v in SOLVE_OPTIONS.items()
            if k
            in {"--start", "--count", "--window-days", "--target-days", "--miri-recovery-minutes", "--rules"}
        }
    )
)
def test_timeline_with_random_options(args):
    drive("timeline (options)", ["timeline", *_small_count(args)], {})


@fuzz(40)
@given(
    args=options(
        {
            "--days": NUMBERS,
            "--slews-per-day": NUMBERS,
            "--miri-fraction": NUMBERS,
            "--seed": NUMBERS,
            "--start": DATES,
        }
    )
)
def test_synth_with_random_options(args):
    if "--days" not in args:
        args = [*args, "--days", "3"]
    drive("synth (options)", ["synth", *args, "--out", "{out}"], {}, "s.parquet")


SCENARIO_VALUES = {
    "count": st.sampled_from([1, 2, 0, -1, 10**12, 2.5, "3", True]),
    "window_days": st.sampled_from([1, 4.0, 0, -1, math.inf, math.nan, 1e308, "x"]),
    "target_days": st.sampled_from([7, 0.5, 0, math.nan, -math.inf]),
    "time_limit": st.sampled_from([1, 0, math.inf, -1, 1e9]),
    "workers": st.sampled_from([1, 0, 2**40, 1.5]),
    "seed": st.sampled_from([0, -1, 2**31, 2**64, 10**1_000]),
    "timeline": st.sampled_from(["", " ", "."]),  # issue 25: '' was the current folder, read as reports
    "objective": st.sampled_from(["regular", "minimax", "best"]),
    "name": st.sampled_from(["ok", "../up", "/abs", "a/b", "..", ".hidden", "[/x]", "x" * 100]),
    "perturbation": st.fixed_dictionaries(
        {},
        optional={
            "cancel_fraction": st.sampled_from([0.1, 1.0, -0.1, math.nan]),
            "max_delay_hours": st.sampled_from([1, math.inf, -1]),
            "lost_days": st.sampled_from([1, 1e9, -2]),
            "seed": st.sampled_from([1, -1, 2**70]),
            "colour": st.just(1),
        },
    ),
}


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(value)


@fuzz(60)
@given(entries=st.lists(st.fixed_dictionaries({}, optional=SCENARIO_VALUES), min_size=1, max_size=3))
def test_batch_with_random_scenario_values(entries):
    text = "[base]\ncount = 2\n" + "".join(
        "[[scenarios]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in entry.items())
        for entry in entries
    )
    drive(
        "batch (values)",
        ["batch", "{s}", "--out", "{out}", "--quiet", "--jobs", "1"],
        {"s.toml": text.encode()},
        "o",
        _batch_files,
    )


ONLINE_OPTIONS = {
    "--start": DATES,
    "--count": st.sampled_from(["1", "2", "0", "-1", "5001", "x"]),
    "--window-days": NUMBERS,
    "--target-days": NUMBERS,
    "--miri-recovery-minutes": NUMBERS,
    "--rules": st.sampled_from(["seed", "operations", "[/x].toml", "nope"]),
    "--policy": st.sampled_from(["greedy", "lookahead", "rollout", "best", "[red]"]),
}


@fuzz(60)
@given(
    command=st.sampled_from(["next", "replay", "destinations", "ingest --history", "ingest --as-of"]),
    data=st.data(),
)
def test_other_commands_with_random_options(plan_bytes, command, data):
    if command == "destinations":
        args = ["destinations", *data.draw(options({"--rules": ONLINE_OPTIONS["--rules"],
                                                     "--miri-recovery-minutes": NUMBERS}))]  # fmt: skip
        drive("destinations (options)", args, {})
    elif command == "ingest --history":
        report = data.draw(mangled(REPORT.encode()) | st.just(REPORT.encode()))
        drive(
            "ingest --history",
            ["ingest", "--history", "{r}", "--out", "{out}"],
            {"r.txt": report},
            "h.parquet",
        )
    elif command == "ingest --as-of":
        report = data.draw(mangled(REPORT.encode()) | st.just(REPORT.encode()))
        within = DATES | st.sampled_from(["2024-02-27T12:00:00Z", "2024-02-29", "2024-03-10"])  # its span
        cut = data.draw(options({"--as-of": within, "--until": within}))
        args = ["ingest", "{r}", *cut, "--out", "{out}"]
        drive("ingest --as-of/--until", args, {"r.txt": report}, "t.parquet")
    elif command == "next":
        extra = data.draw(options(ONLINE_OPTIONS | {"--horizon": NUMBERS}))
        args = ["next", "--flown", "{p}", *_small_count(extra), "--out", "{out}"]
        drive("next (options)", args, {"p.parquet": plan_bytes}, "o.parquet")
    else:
        args = ["replay", "{r}", *_small_count(data.draw(options(ONLINE_OPTIONS))), "--out", "{out}"]
        drive("replay (options)", args, {"r.txt": REPORT.encode()}, "o")


@pytest.fixture(scope="module")
def replay_files(tmp_path_factory) -> dict[str, bytes]:
    """A real replay folder (one week of the newest report): its table and its final timeline."""
    report = tmp_path_factory.mktemp("replay") / "r.txt"
    report.write_text(REPORT)
    out = report.parent / "rep"
    done = runner.invoke(
        app, ["replay", str(report), "--start", "2024-02-26", "--count", "1", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    return {name: (out / name).read_bytes() for name in ("replay.parquet", "timeline.parquet")}


def _with_raw_metadata(table_bytes: bytes, raw: bytes) -> bytes:
    import io

    sink = io.BytesIO()
    table = pq.read_table(io.BytesIO(table_bytes))
    pq.write_table(table.replace_schema_metadata({b"anneal_planner": raw}), sink)
    return sink.getvalue()


@pytest.mark.parametrize("which", ["replay.parquet", "timeline.parquet"])
@pytest.mark.parametrize(
    "raw", [b"[1, 2]", b'"a plan"', b"[" * 100_000 + b"]" * 100_000], ids=["list", "text", "deep"]
)
def test_metadata_that_is_no_object_is_exit_2(replay_files, which, raw):
    """Valid JSON that is not an object, or nested past the parser's depth, names the file (it
    was exit 3, an internal error): in a replay folder and as a solve's timeline."""
    files = dict(replay_files) | {which: _with_raw_metadata(replay_files[which], raw)}
    result = drive(
        "report (metadata not an object)",
        ["report", "{rep}", "--out", "{out}"],
        {f"rep/{name}": content for name, content in files.items()},
        "o.html",
    )
    assert result.exit_code == 2 and which in result.stderr
    if which == "timeline.parquet":
        result = drive(
            "solve (timeline metadata not an object)",
            ["solve", "--timeline", "{t}", "--out", "{out}"],
            {"t.parquet": files[which]},
            "p.parquet",
        )
        assert result.exit_code == 2 and "t.parquet" in result.stderr


@fuzz(60)
@given(data=st.data(), which=st.sampled_from(["replay.parquet", "timeline.parquet", "metadata"]))
def test_report_of_a_damaged_replay_folder(replay_files, data, which):
    files = dict(replay_files)
    if which == "metadata":
        meta = json.loads(
            pq.read_schema(__import__("io").BytesIO(files["replay.parquet"])).metadata[b"anneal_planner"]
        )
        files["replay.parquet"] = _with_metadata(files["replay.parquet"], data.draw(damaged_metadata(meta)))
    else:
        files[which] = data.draw(mangled(files[which]))
    drive(
        "report (damaged replay folder)",
        ["report", "{rep}", "--out", "{out}"],
        {f"rep/{name}": content for name, content in files.items()},
        "o.html",
    )


# -- issue 25: rules files with hostile names, many exclusions, odd values; escaped text -----------

RULE_NAMES = st.sampled_from(
    ["ok", "<b>x</b>", "<img src=x onerror=alert(1)>", "e\x1b[31mred", "bell\x07", "cr\rx", "%{x}",
     "\u202eevil", "[bold]y[/bold]", ":x:", "a" * 300, "", " "]
)  # fmt: skip
RULE_VALUES = st.one_of(
    st.lists(st.sampled_from(["NIRCam Imaging", "x", "", "1234", "\x1b"]), max_size=3),
    st.lists(st.integers(-1, 10**30), max_size=3),
    st.sampled_from([3, "x", 10**1_000, [[1]]]),
)


def _toml_string(text: str) -> str:
    return json.dumps(text)  # a TOML basic string: the same escapes, \u001b included


@fuzz(40)
@given(
    exclusions=st.lists(
        st.fixed_dictionaries(
            {"name": RULE_NAMES, "reason": RULE_NAMES},
            optional={"programs": RULE_VALUES, "prime_modes": RULE_VALUES, "keywords": RULE_VALUES},
        ),
        max_size=4,
    ),
    copies=st.sampled_from([1, 1, 30, 120]),  # 120 x up to 4: past the cap of 100 exclusions
    command=st.sampled_from(["timeline", "destinations"]),
)
def test_random_rules_files(exclusions, copies, command):
    entries = []
    for copy in range(copies):
        for i, entry in enumerate(exclusions):
            lines = [f"name = {_toml_string(entry['name'] + (f'-{copy}-{i}' if copies > 1 else ''))}"]
            lines.append(f"reason = {_toml_string(entry['reason'])}")
            for key in ("programs", "prime_modes", "keywords"):
                if key in entry:
                    value = entry[key]
                    shown = json.dumps(value) if not isinstance(value, int) or value < 10**100 else str(value)
                    lines.append(f"{key} = {shown}")
            entries.append("[[exclude]]\n" + "\n".join(lines) + "\n")
    text = 'extends = "operations"\n' + "".join(entries)
    args = [command, "--rules", "{r}"] + (["--count", "2"] if command == "timeline" else [])
    result = drive("rules file", args, {"r.toml": text.encode()})
    for control in ("\x1b", "\x07", "\r", "\u202e"):
        assert control not in result.output, (text, result.output)


@settings(max_examples=300, deadline=None, database=None)
@given(text=st.text())
def test_terminal_text_never_holds_a_control_character(text):
    import io

    from planner.views.terminal import _CONTROL, _Console, visible

    shown = visible(text)
    assert not _CONTROL.search(shown)
    assert visible(shown) == shown  # escaping is done once: the escapes are plain text
    buffer = io.StringIO()
    _Console(file=buffer, markup=False, emoji=False, highlight=False, width=80).print(text)
    assert not _CONTROL.search(buffer.getvalue()), repr(buffer.getvalue())


@settings(max_examples=200, deadline=None, database=None)
@given(value=st.one_of(st.integers(), st.integers(10**300, 10**1_200), st.floats(), st.text(), st.booleans()))
def test_numbers_out_of_range_are_option_errors_whatever_their_size(value):
    from planner import limits
    from planner.errors import OptionError

    try:
        limits.number("--count", value, 1, limits.MAX_COUNT, integer=True)
    except OptionError as err:
        assert len(str(err)) < 200


# -- plan metadata is a claim (issue 25): what is stated of a plan is what the checker verifies ------


@st.composite
def tampered_plan(draw, plan: bytes) -> bytes:
    """The plan with claims edited, each consistently enough that reading it may accept it: the
    objective value (in its first stage too), the status (in every stage), the bound, the missing
    anneals, or a slew time moved (the rows then disagree with their intervals and the timeline)."""
    import io

    import pyarrow as pa

    table = pq.read_table(io.BytesIO(plan))
    meta = json.loads(table.schema.metadata[b"anneal_planner"])
    honest = meta["objective"]["value"]
    for edit in draw(st.lists(st.sampled_from(["value", "status", "bound", "missing", "slew"]), min_size=1)):
        if edit == "value":
            value = draw(st.none() | st.integers(0, 2 * honest + 10) | st.just(honest))
            meta["objective"]["value"] = meta["stages"][0]["value"] = value
        elif edit == "status":
            status = draw(st.sampled_from(["OPTIMAL", "FEASIBLE"]))
            meta["status"] = status
            for stage in meta["stages"]:
                stage["status"] = status
        elif edit == "bound":
            meta["objective"]["bound"] = meta["stages"][0]["bound"] = draw(st.floats(0, 1e7))
        elif edit == "missing":
            meta["missing"] = draw(st.lists(st.integers(1, 3), max_size=3))
        else:
            row = draw(st.integers(0, table.num_rows - 1))
            times = table["slew_time"].to_pylist()
            times[row] = times[row] + __import__("datetime").timedelta(seconds=draw(st.integers(-7200, 7200)))
            index = table.schema.get_field_index("slew_time")
            table = table.set_column(
                index, table.schema.field(index), pa.array(times, table.schema.field(index).type)
            )
    sink = io.BytesIO()
    pq.write_table(table.replace_schema_metadata({b"anneal_planner": json.dumps(meta).encode()}), sink)
    return sink.getvalue()


@fuzz(40)
@given(data=st.data())
def test_the_page_claims_nothing_the_checker_rejects(plan_bytes, data):
    """Whatever is edited, the page's status calls the plan optimal only when the checker accepts it
    and the exact DP re-proves its value, says a rejected plan is rejected, and lists as missing the
    anneals without a slew in its rows."""
    from planner.errors import InputError
    from planner.plans.checker import verify_plan
    from planner.plans.compare import compare
    from planner.plans.result import open_plan
    from planner.solver.proof import optimum
    from planner.views.page import headline

    TRIED["report (tampered claims)"] += 1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.parquet"
        path.write_bytes(data.draw(tampered_plan(plan_bytes)))
        try:
            opened = open_plan(path)
        except InputError:
            return  # refused, exit 2: the page is not made
    verified = verify_plan(opened)
    comparison = compare(opened.plan, opened.timeline, opened.calendar, opened.program.mode)
    facts = headline(opened, comparison, verified)
    if facts["status"].startswith("optimal"):
        assert verified.valid and optimum(opened.instance) == verified.value
    if not verified.valid:
        assert facts["status"].startswith("rejected by the independent checker"), facts["status"]
    missing = [int(k) for k in opened.plan.loc[opened.plan["slew_time"].isna(), "anneal"]]
    assert facts["missing anneals"] == (", ".join(f"Anneal {k:02d}" for k in missing) or "none")


@fuzz(25)
@given(data=st.data())
def test_a_batch_re_run_keeps_only_plans_it_verifies_again(plan_bytes, data):
    """A scenario whose stored plan was edited at random: the re-run keeps it (skipped) only if it
    passes the checker with its claimed value and any OPTIMAL it states is re-proven; otherwise it
    solves again and writes a plan that does."""
    from planner.batch.run import plan_file, run_scenario, scenario_timeline
    from planner.batch.scenarios import parse_scenarios
    from planner.plans.checker import check_plan
    from planner.plans.result import read_plan
    from planner.solver.proof import optimum

    TRIED["batch re-run (tampered plan)"] += 1
    scenario = parse_scenarios({"scenarios": [{"count": 3}]})[0]
    instance = scenario.instance(scenario_timeline(scenario))
    with tempfile.TemporaryDirectory() as folder:
        path = plan_file(folder, scenario.id)
        path.parent.mkdir()
        path.write_bytes(data.draw(tampered_plan(plan_bytes)))
        row = run_scenario(scenario, folder, 1)
        assert row["state"] == "solved", row
        plan, meta = read_plan(path)
    claimed = meta["objective"]["value"]
    assert claimed is not None and not check_plan(plan, instance, claimed)
    assert meta["status"] != "OPTIMAL" or optimum(instance) == claimed
    assert (row["status"], row["objective_value_s"]) == (meta["status"], claimed)


STAGE_VALUES = {
    "name": st.sampled_from(["regular", "minimax", "earliest"]) | JSON_VALUES,
    "role": st.sampled_from(["objective", "tie-break"]) | JSON_VALUES,
    "status": st.sampled_from(["OPTIMAL", "FEASIBLE", "UNKNOWN"]) | JSON_VALUES,
    "value": st.integers(0, 10**6) | JSON_VALUES,
    "bound": st.floats(0, 1e6) | JSON_VALUES,
    "plan_from": st.sampled_from(["solver", "hint"]) | JSON_VALUES,
}


@fuzz(150)
@given(data=st.data())
def test_stages_read_back_only_as_records_that_give_the_status(plan_bytes, data):
    """Random stage values: reading refuses the file (exit 2) or every stage is a sound record, the
    status is the one its stages give and the objective its first stage's."""
    import io

    from planner.errors import InputError
    from planner.plans.result import StageRecord, overall_status, read_plan

    TRIED["read (random stages)"] += 1
    meta = json.loads(pq.read_schema(io.BytesIO(plan_bytes)).metadata[b"anneal_planner"])
    for _ in range(data.draw(st.integers(1, 4))):
        stage = data.draw(st.sampled_from(meta["stages"]))
        key = data.draw(st.sampled_from(sorted(STAGE_VALUES)))
        stage[key] = data.draw(STAGE_VALUES[key])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.parquet"
        path.write_bytes(_with_metadata(plan_bytes, meta))
        try:
            _, read = read_plan(path)
        except InputError:
            return
    stages = [StageRecord.from_dict(stage) for stage in read["stages"]]
    assert read["status"] == overall_status(stages, has_plan=True).value
    assert (stages[0].name, stages[0].value) == (read["objective"]["name"], read["objective"]["value"])
    assert all(isinstance(s.value, int) and s.value >= 0 for s in stages if s.value is not None)


# -- joint plans and program files (co-planning) ---------------------------------------------------

WEEKLY = (
    b'name = "w"\nprograms = [1520]\nmode = "MIRI Anneal"\navoid_instruments = ["MIRI"]\n'
    b"duration_minutes = 25\nrecovery_minutes = 35\nmin_slew_minutes = 27.5\n"
    b'[observations]\nstart = "2023-07-03"\ncount = 3\n'
)
LAMPS = (
    b'name = "l"\nprograms = [4461]\nmode = "NIRSpec Internal Lamp"\navoid_instruments = ["NIRSpec"]\n'
    b'[[campaigns]]\nstart = "2023-07-04T00:00:00Z"\nend = "2023-07-06T00:00:00Z"\niterations = 2\n'
    b'min_separation_hours = 3\n[[campaigns]]\nstart = "2023-07-11T00:00:00Z"\nend = "2023-07-12T00:00:00Z"\n'
)


@pytest.fixture(scope="module")
def joint_bytes(tmp_path_factory) -> bytes:
    """A real joint plan of the shipped timeline: 3 anneal windows and a lamp program of 2 campaigns."""
    folder = tmp_path_factory.mktemp("joint")
    (folder / "w.toml").write_bytes(WEEKLY)
    (folder / "l.toml").write_bytes(LAMPS)
    out = folder / "joint.parquet"
    args = [
        "solve",
        "--program",
        str(folder / "w.toml"),
        "--program",
        str(folder / "l.toml"),
        "--out",
        str(out),
    ]
    assert runner.invoke(app, args).exit_code == 0
    return out.read_bytes()


@fuzz(80)
@given(data=st.data())
def test_damaged_joint_plan_metadata(joint_bytes, data):
    meta = json.loads(pq.read_schema(__import__("io").BytesIO(joint_bytes)).metadata[b"anneal_planner"])
    damaged = _with_metadata(joint_bytes, data.draw(damaged_metadata(meta)))
    drive("check (damaged joint metadata)", ["check", "{p}"], {"p.parquet": damaged})


@fuzz(40)
@given(data=st.data())
def test_mangled_joint_plan_files(joint_bytes, data):
    drive("check (mangled joint plan)", ["check", "{p}"], {"p.parquet": data.draw(mangled(joint_bytes))})


@fuzz(80)
@given(weekly=mangled(WEEKLY), lamps=mangled(LAMPS))
def test_co_planning_mangled_program_files(weekly, lamps):
    drive(
        "solve (mangled program files)",
        ["solve", "--program", "{w}", "--program", "{l}", "--out", "{out}"],
        {"w.toml": weekly, "l.toml": lamps},
        "o.parquet",
    )
