"""The static plot: what it draws, from the same view as the report page."""

from __future__ import annotations

import matplotlib.dates as mdates
import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.plans.result import open_plan
from planner.schedules.timeline import load_timeline, write_timeline
from planner.views.plot import parse_weeks, plan_figure, plot_format
from tests.helpers import solve, timeline, visit


def _line(axis, label: str):
    return next(line for line in axis.get_lines() if line.get_label() == label)


@pytest.fixture
def gap_plan(tmp_path):
    """Week 2 empty: plan at days 0, 14.5, 21.2 (see tests/views/test_output.py); a flown anneal on the
    visit at day 26.5 (week 4), after the last (fourth) window closes at day 25."""
    from planner.schedules.report import Attached

    flown = [Attached("PARALLEL SLEW CALIBRATION", "MIRI Anneal", "1520:60:1")]
    path = tmp_path / "gap.parquet"
    write_timeline(timeline(visit(0), visit(14.5), visit(21.2), visit(26.5, parallels=flown)), path)
    from planner.problem.calendar import Calendar
    from tests.helpers import START

    solve(load_timeline(path), Calendar(start=START, count=4), allow_missing=True).to_parquet(
        tmp_path / "plan.parquet"
    )
    return open_plan(tmp_path / "plan.parquet")


def test_intervals_across_a_missing_anneal_against_twice_the_target(gap_plan):
    _, bottom = plan_figure(gap_plan).axes
    # 14.5 d against 2 x 7 d: +12 h; 6.7 d against 7 d: -7.2 h (not +180 h against 7 d)
    assert _line(bottom, "plan").get_ydata().tolist() == pytest.approx([12.0, -7.2])


def test_last_flown_anneal_after_the_last_window_is_shown(gap_plan):
    top, bottom = plan_figure(gap_plan).axes
    flown = pd.to_datetime(_line(top, "flown").get_xdata(), utc=True)
    # day 26.5: week 4, after its window closed (day 25)
    assert list(flown) == [pd.Timestamp("2023-07-29 12:00", tz="UTC")]
    lo, hi = mdates.num2date(bottom.get_xlim())
    assert lo < pd.Timestamp("2023-07-03", tz="UTC") and hi > flown[-1]
    assert bottom.get_xlabel() == "UTC"


def test_weeks_zoom(gap_plan, tmp_path):
    _, bottom = plan_figure(gap_plan, weeks=(2, 3)).axes
    lo, hi = mdates.num2date(bottom.get_xlim())
    # weeks 2-3 are days 7..21, with half a day either side
    assert (lo, hi) == (
        pd.Timestamp("2023-07-09 12:00", tz="UTC"),
        pd.Timestamp("2023-07-24 12:00", tz="UTC"),
    )
    assert parse_weeks("12", 53) == (12, 12) and parse_weeks(" 3 - 5 ", 53) == (3, 5)
    runner = CliRunner()
    plan = str(tmp_path / "plan.parquet")
    ok = runner.invoke(app, ["plot", plan, "--weeks", "2-3", "--out", str(tmp_path / "w.png")])
    assert ok.exit_code == 0 and (tmp_path / "w.png").read_bytes()[:4] == b"\x89PNG"
    for bad in ("3-2", "0-1", "4-5", "two"):
        result = runner.invoke(app, ["plot", plan, "--weeks", bad, "--out", str(tmp_path / "x.png")])
        assert result.exit_code == 2 and "--weeks" in result.stderr, bad
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    ("suffix", "magic"), [(".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml"), (".PDF", b"%PDF")]
)
def test_plot_writes_the_format_its_suffix_names(gap_plan, tmp_path, suffix, magic):
    out = tmp_path / f"plot{suffix}"
    done = CliRunner().invoke(app, ["plot", str(tmp_path / "plan.parquet"), "--out", str(out)])
    assert done.exit_code == 0, done.output
    data = out.read_bytes()
    assert data.startswith(magic), data[:20]
    if suffix == ".svg":
        assert b"<svg" in data[:2000]
    if suffix == ".png":  # 200 dpi for slides: a 12 in wide figure is 2,400 pixels
        import struct

        width = struct.unpack(">I", data[16:20])[0]
        assert width >= 2000, width


def test_plot_refuses_a_suffix_it_cannot_write(gap_plan, tmp_path):
    out = tmp_path / "plot.jpg"
    done = CliRunner().invoke(app, ["plot", str(tmp_path / "plan.parquet"), "--out", str(out)])
    assert done.exit_code == 2 and not out.exists()
    (line,) = done.output.strip().splitlines()
    assert "plot.jpg" in line and ".png, .pdf or .svg" in line


def test_plot_format_follows_the_suffix():
    from pathlib import Path

    from planner.errors import OptionError

    assert [plot_format(Path(f"p{s}")) for s in (".png", ".PDF", ".svg")] == ["png", "pdf", "svg"]
    with pytest.raises(OptionError) as refused:
        plot_format(Path("x/plot.jpg"))
    wanted = "--out x/plot.jpg: expected a .png, .pdf or .svg file name (the format follows the suffix)"
    assert str(refused.value) == wanted
