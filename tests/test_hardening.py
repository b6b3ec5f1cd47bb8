"""Untrusted input (issue 11): truncated reports, hostile scenario names, options, output paths,
damaged plans. Each bad input gives exit 2 and one line, no traceback, and leaves no file behind."""

from __future__ import annotations

import bisect
import contextlib
import functools
import json

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner.cli import app
from planner.errors import InputError
from planner.schedules.text import parse_text_reports
from planner.schedules.timeline import DATA_DIR

TEXT = DATA_DIR / "raw" / "stsci-text" / "weekly_reports_2022-07-10_to_2024-03-04.txt"
TITLE = b"Visit Information for OP Package "
runner = CliRunner()


def run(args: list[str]):
    return runner.invoke(app, args)


def one_line_error(result, code: int = 2) -> str:
    """The output of a refused command: exit `code`, one line, no traceback."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


# -- a text report cut short never parses to shortened rows ---------------------------------------


@functools.cache
def _whole_file() -> tuple[bytes, list, list[int]]:
    """The shipped text, its reports, and the byte offset where each report (with its closing blank
    line) ends: a cut at or after that offset holds the report whole."""
    data = TEXT.read_bytes()
    reports = parse_text_reports(data.decode(), name=TEXT.name)
    starts = [i for i in range(len(data)) if data.startswith(TITLE, i) and (i == 0 or data[i - 1] == 10)]
    ends = [*starts[1:], len(data)]
    assert len(ends) == len(reports) == 96
    return data, reports, ends


def _parse_cut(data: bytes):
    try:
        return parse_text_reports(data.decode("utf-8"), name=TEXT.name)
    except UnicodeDecodeError:
        return None  # read_text_reports refuses it (tested in test_ingest)
    except InputError as err:
        assert str(err).startswith(TEXT.name) and ("line" in str(err) or not data.strip())
        return None


def _cuts(draw_data) -> int:
    """A byte offset: anywhere, at a line end, or at a report's end (the cuts that may parse)."""
    data, _, ends = _whole_file()
    kind = draw_data.draw(st.sampled_from(["anywhere", "line end", "report end"]))
    event(f"cut {kind}")
    if kind == "anywhere":
        return draw_data.draw(st.integers(0, len(data) - 1))
    if kind == "report end":
        return draw_data.draw(st.sampled_from(ends))
    near = draw_data.draw(st.integers(0, len(data) - 1))
    return data.index(b"\n", near) + 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draw_data=st.data())
def test_text_cut_anywhere_fails_or_keeps_only_whole_reports(draw_data):
    """Cut the real file at a random byte: either an error naming the line, or exactly the reports
    the cut holds whole, row for row (never a shortened mode, target or visit id)."""
    data, reports, ends = _whole_file()
    cut = _cuts(draw_data)
    parsed = _parse_cut(data[:cut])
    event("parsed" if parsed is not None else "refused")
    if parsed is not None:
        assert parsed == reports[: bisect.bisect_right(ends, cut)]
    elif cut in ends:
        pytest.fail(f"a cut at the end of a whole report ({cut}) must parse")


# Junk after the cut: text without a line end, or a non-blank line of its own. (A tail of blank lines
# only cannot be told from a report's closing blank line: the format has no row count or checksum.)
GARBAGE = st.one_of(
    st.text(st.characters(exclude_characters="\n"), min_size=1, max_size=40),
    st.tuples(
        st.text(max_size=10),
        st.text(st.characters(exclude_characters="\n"), min_size=1, max_size=40).filter(str.strip),
        st.sampled_from(["", "\n", "\n\n"]),
    ).map(lambda parts: f"{parts[0]}\n{parts[1]}{parts[2]}"),
    st.binary(min_size=1, max_size=40).filter(lambda b: not b.endswith(b"\n")),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(draw_data=st.data(), garbage=GARBAGE)
def test_text_cut_with_trailing_garbage_fails_or_keeps_only_whole_reports(draw_data, garbage):
    data, reports, ends = _whole_file()
    cut = _cuts(draw_data)
    tail = garbage if isinstance(garbage, bytes) else garbage.encode("utf-8", "surrogatepass")
    parsed = _parse_cut(data[:cut] + tail)
    if parsed is not None:
        assert parsed == reports[: bisect.bisect_right(ends, cut)]


def test_cut_between_rows_is_refused_naming_the_line(tmp_path):
    """A cut right after a prime row would drop the MIRI rows attached below it: refused."""
    data, _, ends = _whole_file()
    cut = data.index(b"\n", ends[0] + 2000) + 1
    bad = tmp_path / "cut.txt"
    bad.write_bytes(data[:cut])
    message = one_line_error(run(["ingest", str(bad), "--out", str(tmp_path / "t.parquet")]))
    assert "not closed by a blank line" in message and "cut.txt, line " in message
    assert not (tmp_path / "t.parquet").exists()


def test_cut_inside_a_field_is_refused_naming_the_line(tmp_path):
    data, _, _ = _whole_file()
    cut = data.index(b"WDJ051403.50") + 5  # inside the first row's target name, then a closing line
    bad = tmp_path / "cut.txt"
    bad.write_bytes(data[:cut] + b"\n\n")
    message = one_line_error(run(["ingest", str(bad), "--out", str(tmp_path / "t.parquet")]))
    assert "cut.txt, line 5" in message and "padded" in message


# -- batch writes only under DIR/plans/ -------------------------------------------------------------


@pytest.mark.parametrize("name", ["../escape", "/tmp/abs", "a/b", "..", ".hidden", "a\\b", "x\ny", ""])
def test_scenario_names_cannot_leave_the_output_folder(tmp_path, name):
    scenarios = tmp_path / "s.toml"
    scenarios.write_text(f"[[scenarios]]\nname = {json.dumps(name)}\ncount = 2\n")
    out = tmp_path / "out"
    message = one_line_error(run(["batch", str(scenarios), "--out", str(out), "--quiet"]))
    assert "name" in message and "path separators" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_plan_file_refuses_an_id_outside_plans(tmp_path):
    from planner.batch.run import plan_file
    from planner.errors import OptionError

    assert plan_file(tmp_path, "a-1") == tmp_path / "plans" / "a-1.parquet"
    for bad in ("../x", "/x", "a/b", ".."):
        with pytest.raises(OptionError):
            plan_file(tmp_path, bad)


# -- bugs found on the way -------------------------------------------------------------------------


def test_a_lamp_beside_an_anneal_blocks_the_slew(tmp_path):
    """The slew parallel recorded is the one that blocks: a lamp listed after a MIRI anneal."""
    from planner.plans.checker import _Rules
    from planner.schedules.report import SLEW_PARALLEL, Attached
    from planner.schedules.timeline import write_timeline
    from tests.helpers import timeline as hand_timeline
    from tests.helpers import visit

    both = [Attached(SLEW_PARALLEL, "MIRI Anneal", "1:1:1"), Attached(SLEW_PARALLEL, "NIRSpec Lamp", "2:1:1")]
    frame = hand_timeline(visit(1.0, parallels=both))  # row 0: the helpers' lead visit
    assert frame["slew_parallel"].tolist()[1:] == ["NIRSpec Lamp"]
    assert _Rules(frame, {}, ("MIRI",), "MIRI Anneal").broken(1) == [
        ("carries-slew-parallel", "the slew already carries NIRSpec Lamp (2:1:1)")
    ]
    path = tmp_path / "t.parquet"
    write_timeline(frame, path)
    result = run(["solve", "--timeline", str(path), "--count", "1", "--out", str(tmp_path / "p.parquet")])
    assert result.exit_code == 1, result.output
    assert "none eligible" in result.output and not (tmp_path / "p.parquet").exists()


def test_a_solver_fault_is_an_internal_error_asking_for_a_report(tmp_path, monkeypatch):
    import planner.solver.solve

    monkeypatch.setattr(planner.solver.solve, "check_plan", lambda *a, **k: ["Anneal 01: made-up fault"])
    out = tmp_path / "p.parquet"
    message = one_line_error(run(["solve", "--count", "2", "--out", str(out)]), code=3)
    assert "internal error" in message and "made-up fault" in message and "report" in message
    assert not out.exists() and not list(tmp_path.iterdir())


def test_an_unexpected_exception_is_exit_3_not_a_traceback(monkeypatch):
    import planner.problem.coverage

    def boom(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(planner.problem.coverage, "summarize", boom)
    message = one_line_error(run(["timeline", "--count", "1"]), code=3)
    assert "ZeroDivisionError" in message and "bug" in message


# -- no markup from inputs; usage errors in one line -----------------------------------------------


@pytest.mark.parametrize("name", ["[/x].txt", "[bold]y[/bold].txt", "[link=file:///etc]z.txt"])
def test_file_names_are_never_markup(tmp_path, name):
    missing = tmp_path / name
    message = one_line_error(run(["check", str(missing)]))
    assert str(missing) in message


def test_emoji_codes_and_markup_in_a_timeline_are_printed_as_written(tmp_path):
    """Instrument names reach the plan table as text cells: ':smile:' stays two colons and a word."""
    from planner.schedules.timeline import write_timeline
    from tests.helpers import timeline, visit

    frame = timeline(visit(1, "NIRCam :smile: [b]Imaging"), visit(8, "NIRCam :thumbs_up: Imaging"))
    write_timeline(frame, tmp_path / "t.parquet")
    args = ["solve", "--timeline", str(tmp_path / "t.parquet"), "--start", "2023-07-03", "--count", "2"]
    result = run([*args, "--out", str(tmp_path / "p.parquet")])
    assert result.exit_code == 0, result.output
    assert "NIRCam :smile: [b]Imaging" in result.output and ":thumbs_up:" in result.output


def test_bracketed_words_stay_in_messages(tmp_path):
    scenarios = tmp_path / "s.toml"
    scenarios.write_text("[grid]\ncount = [1]\n[[scenarios]]\ncount = 1\n")
    message = one_line_error(run(["batch", str(scenarios), "--out", str(tmp_path / "o")]))
    assert "[[scenarios]] or [grid]" in message


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["solve", "--nope"], "No such option: --nope"),
        (["solve", "--count", "x"], "'--count'"),
        (["check"], "Missing argument"),
        (["frobnicate"], "No such command"),
        (["solve", "--workers"], "requires an argument"),
    ],
)
def test_usage_errors_are_one_line(args, needle):
    message = one_line_error(run(args))
    assert message.startswith("error: ") and needle in message


# -- numeric options: finite and in a documented range ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--count", "0"], "count 0"),
        (["--count", "100000"], "count 100000"),
        (["--window-days", "nan"], "window_days nan"),
        (["--window-days", "inf"], "window_days inf"),
        (["--target-days", "-1"], "target_days -1"),
        (["--target-days", "1e-9"], "shorter than one second"),
        (["--min-gap-days", "nan"], "min gap days nan"),
        (["--miri-recovery-minutes", "1e300"], "--miri-recovery-minutes"),
        (["--miri-recovery-minutes", "nan"], "--miri-recovery-minutes"),
        (["--time-limit", "0"], "time limit 0"),
        (["--time-limit", "inf"], "time limit inf"),
        (["--workers", "0"], "workers 0"),
        (["--workers", "100000"], "workers 100000"),
        (["--seed", "-1"], "seed -1"),
        (["--seed", str(2**31)], "seed 2147483648"),
        (["--start", "9999-01-01"], "2262-04-11"),
        (["--start", "1900-01-01"], "1970-01-01"),
        (["--start", "2262-01-01"], "after 2262-04-11"),
        (["--start", "not a date"], "--start 'not a date'"),
        (["--fix", "Anneal 99999999999999999999=1:1:1"], "pinned anneal"),
        (["--pin", "p.parquet"], "--pin and --pin-until go together"),
    ],
)
def test_solve_options_out_of_range_are_refused(tmp_path, args, needle):
    out = tmp_path / "p.parquet"
    message = one_line_error(run(["solve", *args, "--out", str(out)]))
    assert needle in message
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "args",
    [
        ["synth", "--days", "1e9"],
        ["synth", "--slews-per-day", "nan"],
        ["synth", "--days", "3000", "--slews-per-day", "900"],
        ["synth", "--seed", "-3"],
        ["timeline", "--count", "-1"],
        ["batch", "s.toml", "--jobs", "0"],
    ],
)
def test_other_commands_refuse_numbers_out_of_range(tmp_path, args):
    (tmp_path / "s.toml").write_text("[[scenarios]]\ncount = 1\n")
    args = [str(tmp_path / a) if a == "s.toml" else a for a in args]
    one_line_error(run([*args, "--out", str(tmp_path / "o")] if args[0] != "timeline" else args))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


@pytest.mark.parametrize(
    ("perturbation", "needle"),
    [
        ("{ cancel_fraction = 1.0 }", "cancel_fraction 1"),
        ("{ cancel_fraction = nan }", "cancel_fraction nan"),
        ("{ max_delay_hours = inf }", "max_delay_hours inf"),
        ("{ lost_days = -1 }", "lost_days -1"),
        ("{ seed = -1 }", "perturbation seed -1"),
        ("{ colour = 1 }", "unknown key 'colour'"),
    ],
)
def test_scenario_values_are_checked_before_anything_runs(tmp_path, perturbation, needle):
    scenarios = tmp_path / "s.toml"
    scenarios.write_text(
        f"[[scenarios]]\ncount = 2\n[[scenarios]]\ncount = 3\nperturbation = {perturbation}\n"
    )
    message = one_line_error(run(["batch", str(scenarios), "--out", str(tmp_path / "o")]))
    assert needle in message
    assert not (tmp_path / "o").exists()


def test_a_grid_too_large_and_a_missing_timeline_are_refused_up_front(tmp_path):
    scenarios = tmp_path / "s.toml"
    seeds, counts = ", ".join(map(str, range(400))), ", ".join(map(str, range(1, 400)))
    scenarios.write_text(f"[grid]\nseed = [{seeds}]\ncount = [{counts}]\n")  # 159,600 scenarios
    assert "at most 100,000" in one_line_error(run(["batch", str(scenarios), "--out", str(tmp_path / "o")]))
    scenarios.write_text('[[scenarios]]\ntimeline = "nowhere.parquet"\n')
    assert "nowhere.parquet" in one_line_error(run(["batch", str(scenarios), "--out", str(tmp_path / "o")]))
    scenarios.write_text('[[scenarios]]\nkind = "replay"\nsources = ["gone.txt"]\n')
    assert "sources" in one_line_error(run(["batch", str(scenarios), "--out", str(tmp_path / "o")]))
    assert not (tmp_path / "o").exists()


# -- output paths ----------------------------------------------------------------------------------


@pytest.fixture
def plan_file(tmp_path_factory):
    """A small real plan (2 anneals of Cycle 2), made once per test that needs it (never shared)."""
    folder = tmp_path_factory.mktemp("plan")
    result = run(["solve", "--count", "2", "--out", str(folder / "plan.parquet")])
    assert result.exit_code == 0, result.output
    return folder / "plan.parquet"


def test_output_paths_that_cannot_be_written_are_refused(tmp_path, plan_file):
    regular = tmp_path / "regular.txt"
    regular.write_text("keep me")
    folder = tmp_path / "folder"
    folder.mkdir()
    cases = {
        "is a folder": ["solve", "--count", "1", "--out", str(folder)],
        "is a file, not a folder": ["solve", "--count", "1", "--out", str(regular / "p.parquet")],
        "not a regular file": ["solve", "--count", "1", "--out", "/dev/null"],
        "also an input": ["plot", str(plan_file), "--out", str(plan_file)],
        "also an input ": ["report", str(plan_file), "--out", str(plan_file)],
        "is also an input": ["ingest", str(regular), "--out", str(regular)],
        "is a file; expected a folder": ["batch", str(regular), "--out", str(regular)],
    }
    before = plan_file.read_bytes()
    for needle, args in cases.items():
        message = one_line_error(run(args))
        assert needle.strip() in message, (args, message)
    assert regular.read_text() == "keep me" and plan_file.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "regular.txt"]
    assert not list(folder.iterdir())


def test_the_shipped_timeline_is_not_an_output(tmp_path):
    from planner.schedules.timeline import DEFAULT_TIMELINE

    assert "also an input" in one_line_error(run(["solve", "--count", "1", "--out", str(DEFAULT_TIMELINE)]))


def test_atomic_path_never_replaces_a_non_regular_file(tmp_path):
    import os

    from planner.errors import OptionError
    from planner.io import atomic_path

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OptionError, match="not a regular file"), atomic_path(fifo) as temporary:
        temporary.write_text("x")
    assert fifo.is_fifo() and sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


# -- plan files and their metadata are untrusted ---------------------------------------------------


def _rewrite(plan_path, out, *, meta=None, table=None):
    """A copy of a plan file with its metadata (a JSON-able value, or raw bytes) or table replaced."""
    import pyarrow.parquet as pq

    original = pq.read_table(plan_path)
    table = original if table is None else table
    raw = original.schema.metadata[b"anneal_planner"] if meta is None else meta
    raw = raw if isinstance(raw, bytes) else json.dumps(meta).encode()
    pq.write_table(table.replace_schema_metadata({b"anneal_planner": raw}), out)
    return out


def _meta(plan_path) -> dict:
    import pyarrow.parquet as pq

    return json.loads(pq.read_schema(plan_path).metadata[b"anneal_planner"])


DAMAGED_METADATA = {
    "a list": lambda m: [m],
    "missing calendar": lambda m: {k: v for k, v in m.items() if k != "calendar"},
    "NaN count": lambda m: m | {"calendar": m["calendar"] | {"count": float("nan")}},
    "absurd count": lambda m: m | {"calendar": m["calendar"] | {"count": 10**12}},
    "count as text": lambda m: m | {"calendar": m["calendar"] | {"count": "53"}},
    "unknown option": lambda m: m | {"options": m["options"] | {"turbo": True}},
    "rules as a path": lambda m: m | {"options": m["options"] | {"rules": "/etc/passwd"}},
    "bad workers": lambda m: m | {"options": m["options"] | {"workers": 2**40}},
    "pins not a list": lambda m: m | {"options": m["options"] | {"pins": [{"anneal": "x"}]}},
    "bad status": lambda m: m | {"status": "GREAT"},
    "objective a string": lambda m: m | {"objective": "regular"},
    "value NaN": lambda m: m | {"objective": m["objective"] | {"value": float("nan")}},
    "timeline a number": lambda m: m | {"timeline": 3},
    "bad sha256": lambda m: m | {"timeline": m["timeline"] | {"sha256": "xyz"}},
    "timeline not parquet": lambda m: (
        m | {"timeline": m["timeline"] | {"path": "/etc/hostname", "sha256": None}}
    ),
}


@pytest.mark.parametrize("damage", DAMAGED_METADATA)
def test_damaged_plan_metadata_is_exit_2_in_every_command(tmp_path, plan_file, damage):
    damaged = _rewrite(plan_file, tmp_path / "d.parquet", meta=DAMAGED_METADATA[damage](_meta(plan_file)))
    commands = [
        ["check", str(damaged)],
        ["compare", str(damaged)],
        ["plot", str(damaged), "--out", str(tmp_path / "o.png")],
        ["report", str(damaged), "--out", str(tmp_path / "o.html")],
        ["solve", "--pin", str(damaged), "--pin-until", "2023-07-20", "--out", str(tmp_path / "o.parquet")],
    ]
    for args in commands[:4] if damage.startswith(("timeline", "bad sha")) else commands:
        message = one_line_error(run(args))
        assert "d.parquet" in message, (args, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.parquet"]


def test_deeply_nested_or_huge_metadata_is_exit_2(tmp_path, plan_file):
    deep = _rewrite(plan_file, tmp_path / "deep.parquet", meta=b"[" * 100_000 + b"]" * 100_000)
    assert "deep.parquet" in one_line_error(run(["check", str(deep)]))
    huge = _rewrite(plan_file, tmp_path / "huge.parquet", meta=b'"' + b"x" * 2_000_000 + b'"')
    assert "over 1 MB" in one_line_error(run(["check", str(huge)]))
    binary = _rewrite(plan_file, tmp_path / "bin.parquet", meta=b"\xff\xfe{")
    assert "bin.parquet" in one_line_error(run(["check", str(binary)]))


def test_damaged_plan_columns_are_exit_2(tmp_path, plan_file):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(plan_file)
    cases = {
        "missing": table.drop_columns(["target"]),
        "wrong type": table.set_column(
            table.schema.get_field_index("anneal"), "anneal", pa.array([str(i) for i in range(len(table))])
        ),
        "null label": table.set_column(
            table.schema.get_field_index("label"), "label", pa.array([None] * len(table), pa.string())
        ),
        "infinite interval": table.set_column(
            table.schema.get_field_index("interval_days"),
            "interval_days",
            pa.array([float("inf")] * len(table)),
        ),
    }
    for name, damaged_table in cases.items():
        damaged = _rewrite(plan_file, tmp_path / f"{name.replace(' ', '_')}.parquet", table=damaged_table)
        message = one_line_error(run(["check", str(damaged)]))
        assert "plan column" in message, (name, message)


def test_the_timeline_changed_since_the_plan_was_made(tmp_path):
    from planner.schedules.timeline import DEFAULT_TIMELINE

    timeline = tmp_path / "t.parquet"
    timeline.write_bytes(DEFAULT_TIMELINE.read_bytes())
    plan = tmp_path / "p.parquet"
    assert run(["solve", "--timeline", str(timeline), "--count", "2", "--out", str(plan)]).exit_code == 0
    assert run(["check", str(plan)]).exit_code == 0
    synth = run(["synth", "--days", "30", "--out", str(tmp_path / "other.parquet")])
    assert synth.exit_code == 0, synth.output
    timeline.write_bytes((tmp_path / "other.parquet").read_bytes())
    message = one_line_error(run(["check", str(plan)]))
    assert "the timeline changed since the plan was made" in message
    given = run(["check", str(plan), "--timeline", str(DEFAULT_TIMELINE)])  # a timeline given is used
    assert given.exit_code == 0, given.output


def test_a_null_claimed_objective_is_a_violation(tmp_path, plan_file):
    meta = _meta(plan_file)
    meta["objective"]["value"] = meta["stages"][0]["value"] = None  # consistent: only the checker sees it
    damaged = _rewrite(plan_file, tmp_path / "null.parquet", meta=meta)
    result = run(["check", str(damaged)])
    assert result.exit_code == 1 and "the plan claims no value" in result.output


def test_checker_verifies_label_instrument_target_and_deviation(tmp_path, plan_file):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(plan_file)
    edits = {
        "label": pa.array(["Anneal 07", "Anneal 02"]),
        "instrument": pa.array(["MIRI Imaging", table["instrument"][1].as_py()]),
        "target": pa.array(["elsewhere", table["target"][1].as_py()]),
        "deviation_hours": pa.array([None, 99.0], pa.float64()),
    }
    for column, values in edits.items():
        damaged = _rewrite(
            plan_file,
            tmp_path / f"{column}.parquet",
            table=table.set_column(table.schema.get_field_index(column), column, values),
        )
        result = run(["check", str(damaged)])
        assert result.exit_code == 1 and f"{column} says" in result.output, (column, result.output)


# -- batch: honest states, stopping in order, no lingering workers ---------------------------------

# Runs the real CLI with run_scenario replaced in the (forked) workers: odd seeds hang while writing
# their plan, as a long solve would; even seeds solve.
SLOW_BATCH = """
import sys, time
from pathlib import Path
import planner.batch.run
from planner.io import atomic_path

real = planner.batch.run.run_scenario

def slow(scenario, out_dir, cap):
    if scenario.settings.get("seed", 0) % 2:
        with atomic_path(Path(out_dir) / "plans" / f"{scenario.id}.parquet") as temporary:
            temporary.write_text("half")
            time.sleep(120)
    return real(scenario, out_dir, cap)

planner.batch.run.run_scenario = slow
from planner.cli import app
app(sys.argv[1:], prog_name="anneal-planner")
"""


def _children(pid: int) -> list[int]:
    from pathlib import Path

    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in found.read_text().split()] if found.exists() else []


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    from pathlib import Path

    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]  # zombies count as gone
    return state != "Z"


def _default_signals() -> None:
    """In the child: SIGINT and SIGTERM as a terminal would deliver them. A shell that runs a job in
    the background (as CI may) starts it with SIGINT ignored, and Python then never installs its
    Ctrl-C handler, so the signal under test would do nothing."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _start_slow_batch(tmp_path):
    import subprocess
    import sys

    scenarios = tmp_path / "s.toml"
    scenarios.write_text("[base]\ncount = 2\n[grid]\nseed = [0, 1, 2, 3]\n")
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_BATCH, "batch", str(scenarios), "--out", str(tmp_path / "o"), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_signals,
    )
    done = [process.stdout.readline() for _ in range(2)]  # seeds 0 and 2; 1 and 3 now hang
    assert all(" solved " in line for line in done), done
    workers = _children(process.pid)
    assert workers
    return process, workers


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/task"), reason="reads /proc (Linux)")
@pytest.mark.parametrize(
    ("signal_name", "code", "word"), [("SIGTERM", 143, "terminated"), ("SIGINT", 130, "interrupted")]
)
def test_batch_stops_in_order_on_sigterm_and_ctrl_c(tmp_path, signal_name, code, word):
    import signal
    import time

    process, workers = _start_slow_batch(tmp_path)
    time.sleep(0.5)  # both hanging scenarios are writing their .part files
    process.send_signal(getattr(signal, signal_name))
    _, err = process.communicate(timeout=30)
    assert process.returncode == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    summary_file = tmp_path / "o" / "summary.parquet"
    assert f"{word} after 2 of 4 scenarios; the summary of those is in {summary_file}" in err
    import pandas as pd

    assert pd.read_parquet(summary_file)["state"].tolist() == ["solved", "solved"]
    assert not list((tmp_path / "o").rglob("*.part"))
    deadline = time.monotonic() + 10
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(_alive, workers))


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/task"), reason="reads /proc (Linux)")
def test_workers_end_when_the_batch_process_dies(tmp_path):
    import time

    process, workers = _start_slow_batch(tmp_path)
    process.kill()
    process.communicate(timeout=10)  # also closes its pipes
    deadline = time.monotonic() + 10
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(_alive, workers))
    # The next run removes what the killed writers left and finishes the batch.
    assert list((tmp_path / "o").rglob("*.part"))
    result = run(["batch", str(tmp_path / "s.toml"), "--out", str(tmp_path / "o"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert not list((tmp_path / "o").rglob("*.part"))


def _stand_in(scenario, out_dir, workers_cap):
    """In forked workers: seed 1 kills its worker; seed 2 ends without a plan (as at a time limit)."""
    import os

    from planner.batch import run as batch

    seed = scenario.settings.get("seed", 0)
    if seed == 1:
        os._exit(9)
    if seed == 2:
        return batch._row(
            scenario, state="unsolved", status="UNKNOWN", objective_value_s=None, error="no plan"
        )
    return batch._real_run_scenario(scenario, out_dir, workers_cap)


def test_a_killed_worker_fails_only_its_scenario_and_unsolved_counts_as_failed(tmp_path, monkeypatch):
    import multiprocessing

    import planner.batch.run

    if multiprocessing.get_start_method() != "fork":
        pytest.skip("the stand-in reaches the workers only when they are forked")
    scenarios = tmp_path / "s.toml"
    scenarios.write_text("[base]\ncount = 2\n[grid]\nseed = [0, 1, 2, 3, 4, 5]\n")
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / ".summary.parquet.x.part").write_text("left by a killed writer")
    real = planner.batch.run.run_scenario
    monkeypatch.setattr(planner.batch.run, "run_scenario", _stand_in)
    monkeypatch.setattr(planner.batch.run, "_real_run_scenario", real, raising=False)
    result = run(["batch", str(scenarios), "--out", str(tmp_path / "o"), "--jobs", "2", "--quiet"])
    assert result.exit_code == 1
    assert "2 of 6 scenarios failed" in result.output
    import pandas as pd

    summary = pd.read_parquet(tmp_path / "o" / "summary.parquet")
    assert summary["state"].tolist() == ["solved", "failed", "unsolved", "solved", "solved", "solved"]
    assert "worker process died" in summary.loc[1, "error"] and summary.loc[2, "error"] == "no plan"
    assert not list((tmp_path / "o").rglob("*.part"))


def test_run_scenario_records_a_solve_without_plan_as_unsolved(tmp_path, monkeypatch):
    import planner.batch.run
    from planner.batch.scenarios import parse_scenarios
    from planner.plans.result import PLAN_SCHEMA, Result, Status

    def no_plan(instance, settings):
        return Result(
            status=Status.UNKNOWN, objective="regular", value=None, bound=None, stages=[],
            plan=PLAN_SCHEMA.empty_table().to_pandas(), calendar={}, options={}, timeline={},
            build_seconds=0.1, solve_seconds=0.2, versions={},
        )  # fmt: skip

    monkeypatch.setattr(planner.batch.run, "solve", no_plan)
    scenario = parse_scenarios({"scenarios": [{"count": 2, "time_limit": 0.5}]})[0]
    row = planner.batch.run.run_scenario(scenario, str(tmp_path), 1)
    assert row["state"] == "unsolved" and row["status"] == "UNKNOWN"
    assert "UNKNOWN within the time limit of 0.5 s" in row["error"]
    assert not (tmp_path / "plans").exists() or not list((tmp_path / "plans").iterdir())


# -- Ctrl-C during solve -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signal_name", "code", "word"), [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated")]
)
def test_ctrl_c_or_sigterm_during_solve_exits_in_one_line_without_output(tmp_path, signal_name, code, word):
    """A model CP-SAT needs minutes for (150 windows, unpruned minimax without the LP): Ctrl-C
    during the search stops it at once; CP-SAT's own SIGINT handler is off, so nothing deadlocks."""
    import signal
    import subprocess
    import sys
    import time

    timeline = tmp_path / "t.parquet"
    assert run(["synth", "--days", "1500", "--out", str(timeline)]).exit_code == 0
    out = tmp_path / "plan.parquet"
    # Without the LP (linearization level 0) CP-SAT searches this unpruned minimax for minutes; with
    # the planner's parameters it proves it in seconds, too soon to interrupt reliably.
    command = ["solve", "--timeline", str(timeline), "--count", "150", "--objective", "minimax"]
    command += ["--param", "linearization_level=0"]
    process = subprocess.Popen(
        [sys.executable, "-m", "planner", *command, "--prune", "none", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_signals,
    )
    time.sleep(12)  # the model is built in 6-9 s
    assert process.poll() is None, "the solve ended before Ctrl-C: make the model harder"
    sent = time.monotonic()
    process.send_signal(getattr(signal, signal_name))
    _, err = process.communicate(timeout=30)
    assert process.returncode == code, err
    assert time.monotonic() - sent < 15
    assert err.strip() == f"error: {word}; no output file was written"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.parquet"]


# -- report contents out of range; odd file names ---------------------------------------------------


def _json_row(**changes) -> dict:
    row = {
        "cycle": 2, "file": "20230703_report_20230629.txt", "pcs_mode": "FINEGUIDE",
        "visit_type": "PRIME TARGETED FIXED", "start_time": "2023-07-03T00:00:00Z",
        "duration": "00/01:00:00", "instrument": "NIRCam Imaging", "target": "T", "category": "Star",
        "keywords": "", "program": 1, "visit": 1, "observation": 1, "parallels": [],
    }  # fmt: skip
    return row | changes


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (json.dumps([_json_row(duration="9999999/00:00:00")]).encode(), "duration"),
        (json.dumps([_json_row(start_time="2999-01-01T00:00:00Z")]).encode(), "start"),
        (json.dumps([_json_row(start_time="1066-10-14T09:00:00Z")]).encode(), "start"),
        (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
        (b'[{"file": "\xff\xfe"}]', "not valid JSON"),
    ],
)
def test_json_reports_out_of_range_are_exit_2(tmp_path, content, needle):
    bad = tmp_path / "r.json"
    bad.write_bytes(content)
    message = one_line_error(run(["ingest", str(bad), "--out", str(tmp_path / "t.parquet")]))
    assert "r.json" in message and needle in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_text_durations_out_of_range_are_exit_2(tmp_path):
    data, _, ends = _whole_file()
    report = data[: ends[0]].replace(b"00/00:36:52", b"00/24:36:52", 1)
    bad = tmp_path / "r.txt"
    bad.write_bytes(report)
    message = one_line_error(run(["ingest", str(bad), "--out", str(tmp_path / "t.parquet")]))
    assert "duration '00/24:36:52'" in message and "line 5" in message


@pytest.mark.parametrize("name", ["new\nline.txt", "[red]x[bold].txt", "tab\tand space .txt"])
def test_odd_file_names_give_one_line(tmp_path, name):
    bad = tmp_path / name
    bad.write_bytes(b"not a report\n")
    message = one_line_error(run(["ingest", str(bad), "--out", str(tmp_path / "t.parquet")]))
    assert "expected 'Visit Information for OP Package <id>'" in message
    assert name.split("\n")[-1].split("\t")[-1].strip() in message


def test_a_device_is_not_read_as_a_report(tmp_path):
    message = one_line_error(run(["ingest", "/dev/zero", "--out", str(tmp_path / "t.parquet")]))
    assert "/dev/zero" in message


def test_an_unpruned_model_too_large_is_refused_not_attempted():
    from planner import limits
    from planner.errors import OptionError

    limits.unpruned_pairs([120] * 53)  # Cycle 2 sized: fine
    with pytest.raises(OptionError, match="--prune none: 2,764,800 pairs"):
        limits.unpruned_pairs([80] * 433)


def test_the_installed_entry_point_gives_one_line_too(tmp_path):
    """`python -m planner` runs the same app the console script does, in its own process."""
    import subprocess
    import sys

    for args, needle in (
        (["solve", "--nope"], "No such option: --nope"),
        (["check", str(tmp_path / "[/x].txt")], "[/x].txt: no such plan file"),
        (["solve", "--count", "nan"], "'--count'"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "planner", *args], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 2 and done.stdout == "", (args, done)
        assert done.stderr.count("\n") == 1 and needle in done.stderr and "Traceback" not in done.stderr


def test_a_plan_file_with_any_byte_flipped_is_read_or_refused(plan_file, tmp_path):
    """Every 11th byte of a real plan flipped (about 600 files): each is read and checked, or refused
    with InputError; never another exception (text that is not UTF-8 once reached pandas)."""
    from planner.errors import PlannerError
    from planner.plans.checker import check_plan_file

    data = plan_file.read_bytes()
    damaged = tmp_path / "p.parquet"
    refused = 0
    for offset in range(0, len(data), 11):
        damaged.write_bytes(data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1 :])
        try:
            check_plan_file(damaged)
        except PlannerError:
            refused += 1
    assert refused > len(data) // 11 // 3  # most damage is caught by Parquet's own checks or ours


def test_a_timeline_with_nulls_where_rows_need_values_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from planner.schedules.timeline import DEFAULT_TIMELINE

    table = pq.read_table(DEFAULT_TIMELINE)
    index = table.schema.get_field_index("parallels")
    values = table["parallels"].to_pylist()
    values[5] = None  # a visit whose attached rows are unknown, not empty
    damaged = tmp_path / "t.parquet"
    pq.write_table(
        table.set_column(index, table.schema.field(index), pa.array(values, table.schema.field(index).type)),
        damaged,
    )
    message = one_line_error(
        run(["solve", "--timeline", str(damaged), "--count", "3", "--out", str(tmp_path / "p.parquet")])
    )
    assert "timeline column parallels: a null value" in message


def test_another_planner_file_given_as_a_timeline_is_named(tmp_path):
    """A report history where a timeline is expected: the line says what the file is; `next
    --flown` also says it takes a plan. A joint plan is named as one too."""
    history = tmp_path / "history.parquet"
    reports = str(DATA_DIR / "raw" / "dja-json" / "cycle2" / "20230703_report_20230629.json")
    assert runner.invoke(app, ["ingest", reports, "--history", "--out", str(history)]).exit_code == 0
    solved = runner.invoke(app, ["solve", "--timeline", str(history), "--out", str(tmp_path / "p.parquet")])
    assert (
        solved.exit_code == 2
        and "not a timeline (a report history, written by 'ingest --history')" in solved.output
    )
    assert not (tmp_path / "p.parquet").exists()
    flown = runner.invoke(
        app, ["next", "--flown", str(history), "--timeline", reports, "--out", str(tmp_path / "n.parquet")]
    )
    assert flown.exit_code == 2 and "a report history" in flown.output
    assert (
        "--flown takes a plan or a timeline" in flown.output and len(flown.output.strip().splitlines()) == 1
    )
    from tests.joint_helpers import joint_plan

    joint = joint_plan(tmp_path)
    solved = runner.invoke(app, ["solve", "--timeline", str(joint), "--out", str(tmp_path / "p.parquet")])
    said = " ".join(solved.output.split())
    assert solved.exit_code == 2 and "not a timeline (a joint plan, written by 'solve' with several" in said


def test_ranges_are_written_as_people_write_numbers(tmp_path):
    """Whole-number bounds with thousands separators, not 4.29497e+09."""
    error = one_line_error(run(["synth", "--seed", "-1", "--out", str(tmp_path / "o.parquet")]))
    assert "seed -1: expected a whole number in [0, 4,294,967,295]" in error


# == issue 25 ======================================================================================
# -- A. nothing is written or deleted outside what the user named ----------------------------------


def _one_scenario(tmp_path, text: str = "[[scenarios]]\ncount = 1\n"):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def test_batch_removes_only_the_temporary_files_it_created(tmp_path, monkeypatch):
    from planner.batch import run as batch_run
    from planner.batch.scenarios import read_scenarios
    from planner.io import atomic_path

    out = tmp_path / "o"
    theirs = [out / ".notes.txt.abc.part", out / "plans" / ".x.parquet.def.part", out / "keep" / ".a.part"]
    for path in theirs:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("not the batch's")
    result = run(["batch", str(_one_scenario(tmp_path)), "--out", str(out), "--jobs", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    assert all(p.read_text() == "not the batch's" for p in theirs)

    # A writer of this run that is stopped mid-write leaves its temporary file: the batch removes it.
    def stopped_writer(scenarios, out_dir, *args):
        atomic_path(out_dir / "plans" / f"{scenarios[0].id}.parquet").__enter__().write_text("half")

    monkeypatch.setattr(batch_run, "run_local", stopped_writer)
    batch_run.run_batch(read_scenarios(_one_scenario(tmp_path, "[[scenarios]]\ncount = 2\n")), out)
    assert sorted(p.name for p in out.rglob("*.part")) == sorted(p.name for p in theirs)
    assert all(p.read_text() == "not the batch's" for p in theirs)


def test_batch_refuses_a_plans_folder_that_is_a_symlink(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "o"
    out.mkdir()
    (out / "plans").symlink_to(elsewhere)
    message = one_line_error(run(["batch", str(_one_scenario(tmp_path)), "--out", str(out)]))
    assert "plans" in message and "symbolic link" in message
    assert not list(elsewhere.iterdir()) and sorted(p.name for p in out.iterdir()) == ["plans"]


@pytest.mark.parametrize("command", [["solve", "--count", "1"], ["synth", "--days", "2"]])
def test_an_output_path_ending_in_a_separator_is_refused(tmp_path, command):
    message = one_line_error(run([*command, "-o", f"{tmp_path / 'dir'}/"]))
    assert "--out" in message and "separator" in message
    assert not list(tmp_path.iterdir())


# -- B. memory and time bombs ----------------------------------------------------------------------


def _bomb(plan_file, path, table):
    """`table` under the plan's own metadata, so that only its size can refuse it."""
    import pyarrow.parquet as pq

    pq.write_table(table.replace_schema_metadata(pq.read_schema(plan_file).metadata), path)
    return path


def test_parquet_footer_sizes_are_checked_before_any_column_is_read(tmp_path, plan_file, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from planner import io

    wide = _bomb(plan_file, tmp_path / "wide.parquet", pa.table({f"c{i}": [0] for i in range(3_000)}))
    assert "columns" in one_line_error(run(["check", str(wide)]))
    # The real limits are far above a small test file: lower them so that these files exceed them.
    zeros = _bomb(plan_file, tmp_path / "zeros.parquet", pa.table({"z": pa.array([0] * 200_000)}))
    monkeypatch.setattr(io, "MAX_PARQUET_DECODED_BYTES", 1_000_000, raising=False)
    monkeypatch.setattr(pq.ParquetFile, "read", lambda *a, **k: pytest.fail("a column was read"))
    assert "zeros.parquet" in one_line_error(run(["check", str(zeros)]))
    monkeypatch.setattr(io, "MAX_PARQUET_ROWS", 1_000, raising=False)
    rows = _bomb(plan_file, tmp_path / "rows.parquet", pa.table({"b": pa.array([True] * 2_000)}))
    history = tmp_path / "h" / "history.parquet"
    history.parent.mkdir()
    history.write_bytes(rows.read_bytes())
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "replay.parquet").write_bytes(rows.read_bytes())
    for args in (
        ["check", str(rows)],
        ["timeline", str(rows)],
        ["replay", str(history)],
        ["report", str(tmp_path / "r"), "--out", str(tmp_path / "o.html")],
    ):
        message = one_line_error(run(args))
        assert "rows" in message and ".parquet" in message, (args, message)


def _cli_in_a_process(args: list[str], prelude: str = "", sigchld_ignored: bool = False):
    """The CLI in a process of its own (a regression that aborts it then fails this test only), after
    `prelude` (Python run first), with SIGCHLD ignored if asked (as a parent may leave it)."""
    import signal
    import subprocess
    import sys

    argv = ["anneal-planner", *args]
    code = f"import sys\n{prelude}\nfrom planner.__main__ import run\nsys.argv = {argv!r}\nrun()"
    ignore = (lambda: signal.signal(signal.SIGCHLD, signal.SIG_IGN)) if sigchld_ignored else None
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, preexec_fn=ignore)


def test_a_footer_whose_metadata_aborts_pyarrow_is_refused_in_one_line():
    """pyarrow 26 aborts the process (a C++ exception its binding does not catch) reading a column
    chunk's metadata whose size statistics do not match the schema. This file, a plan with four
    bytes changed by a fuzz of plan files, did so: its footer is now checked first in a forked
    child (planner.io._footer_survives), and the file is refused in one line naming it, also by a
    process that ignores SIGCHLD (its child leaves no exit status to wait for)."""
    from pathlib import Path

    fixture = str(Path(__file__).parent / "data" / "plan-footer-aborts-pyarrow.parquet")
    for ignored in (False, True):
        done = _cli_in_a_process(["check", fixture], sigchld_ignored=ignored)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1, (ignored, done.returncode, done.stderr)
        assert "plan-footer-aborts-pyarrow.parquet" in lines[0] and "damaged footer" in lines[0]


def test_whatever_kills_the_footer_check_refuses_the_file_not_the_process(plan_file):
    """The footer check killed in the child (here by an abort of the test's own) refuses the file in
    one line; a valid file reads as before, also with SIGCHLD ignored."""
    abort = "import os\nfrom planner import io\nio.check_parquet_footer = lambda *a, **k: os.abort()"
    done = _cli_in_a_process(["check", str(plan_file)], prelude=abort)
    assert done.returncode == 2 and "killed the reader (SIGABRT)" in done.stderr, done.stderr
    assert _cli_in_a_process(["check", str(plan_file)], sigchld_ignored=True).returncode == 0


def test_a_footer_check_that_does_not_answer_refuses_the_file(plan_file, monkeypatch):
    """A child that does not answer in time is stopped and the file refused in one line: the check
    is never run unprotected in this process instead."""
    import time

    from planner import io

    monkeypatch.setattr(io, "FOOTER_CHILD_SECONDS", 0.2)
    monkeypatch.setattr(io, "check_parquet_footer", lambda *a, **k: time.sleep(30))
    started = time.monotonic()
    assert "could not be checked within 0.2 s" in one_line_error(run(["check", str(plan_file)]))
    assert time.monotonic() - started < 10


def test_a_real_cycle_passes_the_parquet_limits_by_a_wide_margin():
    import pyarrow.parquet as pq

    from planner import io
    from planner.schedules.timeline import DEFAULT_TIMELINE

    meta = pq.ParquetFile(DEFAULT_TIMELINE).metadata
    decoded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    assert meta.num_rows * 100 < io.MAX_PARQUET_ROWS and decoded * 100 < io.MAX_PARQUET_DECODED_BYTES


def _unblock_later(fifo):
    """Open the pipe's other end after a while, so that a reader that blocks on it (the defect)
    reads an empty file instead of hanging the test run."""
    import os
    import threading
    import time

    def writer():
        time.sleep(3)
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    threading.Thread(target=writer, daemon=True).start()


@pytest.mark.parametrize("kind", ["device", "fifo", "sparse", "folder"])
def test_rules_and_scenario_files_are_checked_before_they_are_read(tmp_path, kind):
    import os

    path = tmp_path / "x.toml"
    if kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "sparse":
        with open(path, "wb") as handle:
            handle.truncate(1_000_000_000)
    else:
        path.mkdir()
    for args in (["timeline", "--rules", str(path)], ["batch", str(path), "--out", str(tmp_path / "o")]):
        if kind == "fifo":
            _unblock_later(path)
        message = one_line_error(run(args))
        assert "x.toml" in message, (args, message)
    assert not (tmp_path / "o").exists()


def _exclusion(i: int, programs) -> str:
    return f'[[exclude]]\nname = "e{i}"\nreason = "r"\nprograms = [{", ".join(map(str, programs))}]\n'


def test_too_many_exclusions_or_values_are_refused(tmp_path, plan_file):
    many = tmp_path / "many.toml"
    many.write_text("".join(_exclusion(i, [i]) for i in range(1_000)))
    assert "exclusions" in one_line_error(run(["timeline", "--rules", str(many)]))
    values = tmp_path / "values.toml"
    values.write_text(_exclusion(0, range(100_000)))
    assert "values" in one_line_error(run(["timeline", "--rules", str(values)]))
    meta = _meta(plan_file)
    meta["options"]["rules"]["exclude"] = [
        {"name": f"e{i}", "reason": "r", "programs": [str(i)]} for i in range(1_000)
    ]
    damaged = _rewrite(plan_file, tmp_path / "d.parquet", meta=meta)
    for args in (["check", str(damaged)], ["report", str(damaged), "--out", str(tmp_path / "r.html")]):
        assert "d.parquet" in one_line_error(run(args))
    assert not (tmp_path / "r.html").exists()


BIG = "9" * 1_000  # under Python's 4,300-digit limit of int <-> str, over every range
HUGE = "9" * 5_000  # over it: int() itself refuses


@pytest.mark.parametrize(
    "args",
    [
        ["timeline", "--count", BIG],
        ["timeline", "--count", HUGE],
        ["solve", "--count", "1", "--seed", BIG, "--out", "OUT"],
        ["solve", "--count", "1", "--workers", BIG, "--out", "OUT"],
        ["solve", "--count", "1", "--fix", f"Anneal 01={HUGE}:1:1", "--out", "OUT"],
        ["solve", "--count", "1", "--fix", f"{HUGE}=1:1:1", "--out", "OUT"],
        ["synth", "--days", "2", "--seed", BIG, "--out", "OUT"],
        ["plot", "PLAN", "--weeks", f"1-{HUGE}", "--out", "OUT"],
        ["report", "PLAN", "--tolerance-hours", BIG, "--out", "OUT"],
    ],
)
def test_integers_of_thousands_of_digits_in_options_are_exit_2(tmp_path, plan_file, args):
    places = {"PLAN": str(plan_file), "OUT": str(tmp_path / "o.out")}
    message = one_line_error(run([places.get(a, a) for a in args]))
    assert len(message) < 400
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (json.dumps([_json_row()]).replace('"program": 1', f'"program": {HUGE}').encode(), "r.json"),
        (json.dumps([_json_row()]).replace('"program": 1', f'"program": {BIG}').encode(), "row 0"),
        (json.dumps([_json_row()]).replace('"target": "T"', f'"target": {BIG}').encode(), "target"),
        (json.dumps([_json_row()]).replace('"target": "T"', '"target": "\\ud800"').encode(), "row 0"),
        (json.dumps([_json_row(file="20230703_report_20230231.txt")]).encode(), "20230231"),
    ],
)
def test_json_numbers_surrogates_and_dates_that_python_refuses_are_exit_2(tmp_path, content, needle):
    bad = tmp_path / "r.json"
    bad.write_bytes(content)
    for args in (
        ["ingest", str(bad), "--out", str(tmp_path / "t.parquet")],
        ["replay", str(bad), "--count", "1", "--policy", "greedy"],
    ):
        message = one_line_error(run(args))
        assert "r.json" in message and needle in message and len(message) < 400, (args, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (f"[[scenarios]]\ncount = {HUGE}\n", "s.toml"),
        (f"[[scenarios]]\ncount = {BIG}\n", "count"),
        ("[[scenarios]]\nperturbation = " + "{a = " * 5_000 + "1" + "}" * 5_000 + "\n", "s.toml"),
        ("scenarios = 3\n", "scenarios"),
        ("[grid]\ncount = [1]\n[base]\ntimeline = ''\n", "timeline"),
        ("[[scenarios]]\ntimeline = '  '\n", "timeline"),
        ("[[scenarios]]\nrules = ''\n", "rules"),
        ("[[scenarios]]\nkind = 'replay'\nsources = ['']\n", "sources"),
    ],
)
def test_scenario_files_python_cannot_convert_or_with_empty_paths_are_exit_2(tmp_path, text, needle):
    message = one_line_error(run(["batch", str(_one_scenario(tmp_path, text)), "--out", str(tmp_path / "o")]))
    assert needle in message and len(message) < 400
    assert not (tmp_path / "o").exists()


def test_rules_files_python_cannot_convert_are_exit_2(tmp_path):
    for text in (
        f'[[exclude]]\nname = "e"\nreason = "r"\nprograms = [{HUGE}]\n',
        f"miri_recovery_minutes = {BIG}\n",
        "description = " + "[" * 5_000 + "]" * 5_000 + "\n",
    ):
        path = tmp_path / "r.toml"
        path.write_text(text)
        message = one_line_error(run(["timeline", "--rules", str(path)]))
        assert "r.toml" in message and len(message) < 400


# -- C. text from inputs is never markup or terminal control -------------------------------------------


def _rules_named(tmp_path, name: str):
    path = tmp_path / "named.toml"
    path.write_text(
        f'extends = "operations"\n[[exclude]]\nname = "{name}"\nreason = "r {name}"\nprograms = [1]\n'
    )
    return path


def test_exclusion_names_are_text_everywhere_in_the_report_page(tmp_path):
    rules = _rules_named(tmp_path, "<img src=x onerror=alert(1)><b>bold</b>")
    plan = tmp_path / "p.parquet"
    assert run(["solve", "--count", "2", "--rules", str(rules), "--out", str(plan)]).exit_code == 0
    assert run(["report", str(plan), "--out", str(tmp_path / "r.html")]).exit_code == 0
    page = (tmp_path / "r.html").read_text()
    # Plotly's JSON writes '<' as \u003c: neither form of the tag may reach the page.
    for tag in ("<img", "<b>bold", "\\u003cimg", "\\u003cb\\u003ebold"):
        assert tag not in page, tag
    assert "&lt;img" in page or "\\u0026lt;img" in page


def test_control_characters_from_inputs_reach_the_terminal_escaped(tmp_path):
    rules = _rules_named(tmp_path, "e\\u001b[31mred\\u001b]0;title\\u0007\\u009b\\u202e")
    for args in (
        ["timeline", "--count", "2", "--rules", str(rules)],
        ["timeline", "--count", "2", "--rules", str(rules), "--json"],
        ["destinations", "--rules", str(rules)],
    ):
        result = run(args)
        assert result.exit_code == 0, result.output
        assert not any(c in result.output for c in "\x1b\x07\x9b\u202e"), args
        if "--json" in args:
            assert "\\u001b[31mred" in result.output and "\\u009b\\u202e" in result.output
        else:  # destinations lists only the rules that count slews
            assert "\\x1b[31mred" in result.output or args[0] == "destinations"
    bad = tmp_path / "x\x1b[2Jy.txt"
    bad.write_text("not a report\n")
    message = one_line_error(run(["ingest", str(bad), "--out", str(tmp_path / "t.parquet")]))
    assert "\x1b" not in message and "x\\x1b[2Jy.txt" in message


# -- D. the user's environment is exit 2, stdout holds only JSON with --json ----------------------------


def test_a_full_disk_is_one_line_naming_the_output_and_leaves_no_file(tmp_path, monkeypatch):
    import errno
    import os

    import pyarrow.parquet as pq

    def full(table, where, **kwargs):
        with open(where, "wb") as handle:
            handle.write(b"PAR1 half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pq, "write_table", full)
    message = one_line_error(run(["solve", "--count", "1", "--out", str(tmp_path / "p.parquet")]))
    assert "p.parquet" in message and "No space left" in message
    assert not list(tmp_path.iterdir())


def test_an_output_folder_that_cannot_be_written_is_refused_before_any_work(tmp_path, monkeypatch):
    import os

    from planner.solver import solve as solver

    real = os.access
    read_only = tmp_path / "ro"
    read_only.mkdir()
    # Tests run as root, whom permissions do not stop: the folder reports itself read-only.
    monkeypatch.setattr(
        os, "access", lambda p, mode, **k: False if str(p) == str(read_only) else real(p, mode, **k)
    )
    monkeypatch.setattr(solver, "solve", lambda *a, **k: pytest.fail("solved before the output was checked"))
    for args in (
        ["solve", "--count", "1", "--out", str(read_only / "p.parquet")],
        ["batch", str(_one_scenario(tmp_path)), "--out", str(read_only / "b")],
        ["replay", "data/raw/dja-json", "--count", "1", "--out", str(read_only / "r")],
    ):
        message = one_line_error(run(args))
        assert "ro" in message and "writ" in message, (args, message)
    assert not list(read_only.iterdir())


def test_unreadable_inputs_and_dangling_outputs_are_exit_2(tmp_path, monkeypatch):
    from planner.schedules import timeline as timelines

    dangling = tmp_path / "link"
    dangling.symlink_to(tmp_path / "nowhere")
    for args in (
        ["batch", str(_one_scenario(tmp_path)), "--out", str(dangling)],
        ["solve", "--count", "1", "--out", str(dangling)],
    ):
        message = one_line_error(run(args))
        assert "link" in message and "symbolic link" in message, (args, message)
    assert not (tmp_path / "nowhere").exists()

    def denied(paths):
        raise PermissionError(13, "Permission denied", str(tmp_path / "locked"))

    monkeypatch.setattr(timelines, "schedule_files", denied)
    message = one_line_error(run(["ingest", str(tmp_path), "--out", str(tmp_path / "t.parquet")]))
    assert "locked" in message and "Permission denied" in message


def test_json_output_holds_only_the_document_when_cp_sat_logs(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "planner", "solve", "--count", "2", "--out", str(tmp_path / "p.parquet"),
         "--param", "log_search_progress=true", "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"]
    assert "CP-SAT" in result.stderr or "#Bound" in result.stderr or "#1" in result.stderr


def test_a_failed_scheduler_connection_creates_nothing(tmp_path, monkeypatch):
    import distributed

    def refused(*args, **kwargs):
        raise OSError("Timed out trying to connect to tcp://127.0.0.1:9 after 10 s")

    scenarios = _one_scenario(tmp_path)
    for address in ("tls://127.0.0.1:9", "tcp://127.0.0.1:9"):
        if address.startswith("tcp"):
            monkeypatch.setattr(distributed, "Client", refused)
        message = one_line_error(
            run(["batch", str(scenarios), "--out", str(tmp_path / "o"), "--scheduler", address])
        )
        assert address in message
        assert not (tmp_path / "o").exists()


def test_sigterm_while_libraries_import_is_143(monkeypatch):
    import os
    import signal
    import time

    from planner import cli

    def interrupted_import():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        except KeyboardInterrupt as stop:  # as an extension module's import does
            raise ImportError("numpy: initialization failed") from stop

    monkeypatch.setattr(cli, "_load_libraries", interrupted_import)
    result = run(["timeline", "--count", "1"])
    assert result.exit_code == 143, result.output
    assert "terminated" in result.output and "Traceback" not in result.output


# -- E. history and replay files are untrusted ----------------------------------------------------------


@pytest.fixture
def history_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("history")
    result = run(["ingest", "data/raw/dja-json", "--history", "--out", str(folder / "h.parquet")])
    assert result.exit_code == 0, result.output
    return folder / "h.parquet"


def test_history_files_with_damaged_types_or_order_are_exit_2(tmp_path, history_file):
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(history_file)
    meta = table.schema.metadata
    at = table.schema.get_field_index("duration_s")
    cases = {
        "types": table.set_column(at, "duration_s", pa.compute.cast(table["duration_s"], pa.string())),
        "order": table.take(pa.array(range(table.num_rows - 1, -1, -1))),
        "report": table.set_column(
            table.schema.get_field_index("report"), "report", pa.array([10**6] * table.num_rows)
        ),
    }
    for name, damaged in cases.items():
        path = tmp_path / f"{name}.parquet"
        pq.write_table(damaged.replace_schema_metadata(meta), path)
        message = one_line_error(run(["replay", str(path), "--count", "2", "--policy", "greedy"]))
        assert f"{name}.parquet" in message, message


def test_replay_files_with_damaged_types_or_order_are_exit_2(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = tmp_path / "r"
    assert (
        run(
            ["replay", "data/raw/dja-json", "--count", "4", "--policy", "greedy", "--out", str(out)]
        ).exit_code
        == 0
    )
    table = pq.read_table(out / "replay.parquet")
    meta = table.schema.metadata
    at = table.schema.get_field_index("replans")
    cases = {
        "types": table.set_column(at, "replans", pa.compute.cast(table["replans"], pa.string())),
        "order": table.take(pa.array(range(table.num_rows - 1, -1, -1))),
    }
    for name, damaged in cases.items():
        pq.write_table(damaged.replace_schema_metadata(meta), out / "replay.parquet")
        message = one_line_error(run(["report", str(out), "--out", str(tmp_path / "p.html")]))
        assert "replay.parquet" in message, (name, message)
    assert not (tmp_path / "p.html").exists()


# SIGTERM sent by the process to itself the moment it starts importing typer (planner.cli's first
# import), through the console script's entry point or `python -m planner`.
_EARLY_SIGTERM = """
import importlib.abc, importlib.metadata, os, runpy, signal, sys

class Kill(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "typer":
            os.kill(os.getpid(), signal.SIGTERM)
        return None

sys.meta_path.insert(0, Kill())
sys.argv = ["anneal-planner", "timeline", "--count", "1"]
if sys.argv_entry == "script":
    (entry,) = importlib.metadata.entry_points(group="console_scripts", name="anneal-planner")
    entry.load()()
else:
    runpy.run_module("planner", run_name="__main__")
"""


@pytest.mark.parametrize("entry", ["module", "script"])
def test_sigterm_while_the_command_starts_is_143(entry):
    """SIGTERM before typer and pandas have imported: 143 and one line, as at any later moment."""
    import subprocess
    import sys

    code = _EARLY_SIGTERM.replace("sys.argv_entry", repr(entry))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, preexec_fn=_default_signals
    )
    assert result.returncode == 143, (result.returncode, result.stderr)
    assert result.stderr.strip().splitlines() == ["error: terminated; no output file was written"]
    assert not result.stdout


# == issue 25, second part =========================================================================
# -- B. a plan file's metadata is a claim: what is stated of a plan is what the checker verifies ----


def _page_facts(page: str) -> dict[str, str]:
    """The headline table of a report page: fact -> text (as escaped in the page)."""
    import re

    facts = page.split('<table class="facts">', 1)[1].split("</table>", 1)[0]
    return dict(re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", facts))


def _report(plan, out):
    result = run(["report", str(plan), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return _page_facts(out.read_text())


def _claim(meta: dict, value, status: str | None = None) -> dict:
    """The metadata with another objective value (and status) claimed, its stages edited to match:
    an edit that reading the file cannot tell from the truth."""
    meta = json.loads(json.dumps(meta))
    meta["objective"]["value"] = meta["stages"][0]["value"] = value
    if status is not None:
        meta["status"] = status
        for stage in meta["stages"]:
            stage["status"] = status
    return meta


@functools.cache
def _pinned_plan_bytes() -> bytes:
    """A valid 2-anneal plan that is not optimal (anneal 1 pinned on an early slew), still saying
    OPTIMAL (of its pinned problem) with its pins removed: every value in it is consistent, and
    only re-proving can tell that its optimality is false."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pinned.parquet"
        result = run(["solve", "--count", "2", "--fix", "Anneal 01=1292:1:1", "--out", str(path)])
        assert result.exit_code == 0 and "OPTIMAL" in result.output, result.output
        meta = _meta(path)
        meta["options"]["pins"] = []
        return _rewrite(path, Path(folder) / "unpinned.parquet", meta=meta).read_bytes()


def test_the_page_never_states_what_the_checker_rejects(tmp_path, plan_file):
    """A claimed objective the plan's times do not give, and a list of missing anneals that are not
    missing: the page says the checker rejects the plan and lists what the rows hold."""
    meta = _meta(plan_file)
    value = meta["objective"]["value"]
    tampered = _claim(meta, value + 3600) | {"missing": [1, 2]}
    facts = _report(_rewrite(plan_file, tmp_path / "t.parquet", meta=tampered), tmp_path / "t.html")
    assert facts["status"].startswith("rejected by the independent checker here")
    assert "optimal" not in facts["status"].replace("OPTIMAL", "")
    assert f"= {value} s" in facts["objective"] and f"the file claims {value + 3600} s" in facts["objective"]
    assert facts["missing anneals"] == "none" and facts["anneals placed"] == "2 of 2"
    honest = _report(plan_file, tmp_path / "p.html")
    assert honest["status"].startswith("optimal, re-proven here") and "claims" not in honest["objective"]


def test_the_page_states_optimality_only_when_re_proven(tmp_path):
    pinned = tmp_path / "pinned.parquet"
    pinned.write_bytes(_pinned_plan_bytes())
    assert run(["check", str(pinned)]).exit_code == 0  # valid: only its optimality is false
    facts = _report(pinned, tmp_path / "p.html")
    assert facts["status"].startswith("not optimal: re-proven here, the optimum is ")
    assert facts["status"].endswith("the file says OPTIMAL")


def test_the_page_shows_an_unprovable_claim_as_the_files(tmp_path, plan_file, monkeypatch):
    """When the optimum cannot be computed here, OPTIMAL is the file's word, said as such."""
    import planner.solver.proof

    monkeypatch.setattr(planner.solver.proof, "optimum", lambda *args: None)
    facts = _report(plan_file, tmp_path / "p.html")
    assert facts["status"].startswith("the file says OPTIMAL (not re-proven here)")


STAGE_DAMAGE = {
    "stages not records": lambda m: m | {"stages": [1, "x"]},
    "stage with an unknown key": lambda m: m | {"stages": [m["stages"][0] | {"x": 1}, *m["stages"][1:]]},
    "stage status unknown": lambda m: m | {"stages": [m["stages"][0] | {"status": "GREAT"}]},
    "stage value a string": lambda m: m | {"stages": [m["stages"][0] | {"value": "1"}]},
    "status its stages do not give": lambda m: m | {"status": "FEASIBLE"},
    "objective not its first stage's": lambda m: m | {"objective": m["objective"] | {"value": 1}},
    "log a string": lambda m: m | {"options": m["options"] | {"log": "yes"}},
    "params a string": lambda m: m | {"options": m["options"] | {"params": ["abc"]}},
    "params a table": lambda m: m | {"options": m["options"] | {"params": {"a": 1}}},
}


@pytest.mark.parametrize("damage", STAGE_DAMAGE)
def test_junk_stages_and_options_are_exit_2(tmp_path, plan_file, damage):
    damaged = _rewrite(plan_file, tmp_path / "d.parquet", meta=STAGE_DAMAGE[damage](_meta(plan_file)))
    for args in (["check", str(damaged)], ["report", str(damaged), "--out", str(tmp_path / "o.html")]):
        message = one_line_error(run(args))
        assert "d.parquet" in message and "metadata" in message, (args, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.parquet"]


def _batch_twice(tmp_path, tamper) -> tuple:
    """Solve a one-scenario batch, tamper with its plan file, run the batch again: both summaries."""
    import pandas as pd

    scenarios = _one_scenario(tmp_path, "[[scenarios]]\ncount = 2\n")
    out = tmp_path / "o"
    args = ["batch", str(scenarios), "--out", str(out), "--jobs", "1", "--quiet"]
    assert run(args).exit_code == 0
    first = pd.read_parquet(out / "summary.parquet")
    plan = out / first.loc[0, "plan"]
    tamper(plan)
    again = run(args)
    assert again.exit_code == 0, again.output
    return first, pd.read_parquet(out / "summary.parquet"), plan


@pytest.mark.parametrize(
    "edit",
    [
        "no value claimed",
        "another value claimed",
        "OPTIMAL not re-provable",
        "another objective",
    ],
)
def test_a_batch_re_run_re_solves_a_tampered_plan(tmp_path, edit):
    def tamper(plan):
        meta = _meta(plan)
        if edit == "OPTIMAL not re-provable":
            plan.write_bytes(_pinned_plan_bytes())
            return
        if edit == "another objective":
            meta = meta | {"objective": meta["objective"] | {"name": "minimax"}}
            meta["stages"][0]["name"] = "minimax"
        else:
            meta = _claim(meta, None if edit == "no value claimed" else meta["objective"]["value"] - 1)
        _rewrite(plan, plan, meta=meta)

    first, second, plan = _batch_twice(tmp_path, tamper)
    assert not second.loc[0, "skipped"] and second.loc[0, "state"] == "solved"
    assert second.loc[0, "status"] == "OPTIMAL"
    assert second.loc[0, "objective_value_s"] == first.loc[0, "objective_value_s"]
    assert run(["check", str(plan)]).exit_code == 0 and _meta(plan)["options"]["objective"] == "regular"


def test_a_batch_re_run_keeps_an_untouched_plan(tmp_path):
    first, second, _ = _batch_twice(tmp_path, lambda plan: None)
    assert second.loc[0, "skipped"] and second.loc[0, "status"] == first.loc[0, "status"] == "OPTIMAL"
    assert second.loc[0, "objective_value_s"] == first.loc[0, "objective_value_s"]
