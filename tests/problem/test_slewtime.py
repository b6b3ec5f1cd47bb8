"""The slew-time evidence: slews the slew parallels flew on, beside all slews into targeted visits."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.problem.slewtime import ALL_SLEWS, slew_minutes, slew_time_table, within
from planner.schedules.report import SLEW_PARALLEL, Attached
from planner.schedules.timeline import to_frame, write_timeline
from tests.helpers import START, visit

MINUTE = 60
runner = CliRunner()


def _after(previous_end: int, slew_minutes: float, mode: str | None = None, **kwargs):
    """A one-hour visit starting `slew_minutes` after `previous_end` (seconds after START)."""
    parallels = [Attached(SLEW_PARALLEL, mode, "1520:1:1")] if mode else []
    made = visit(0, parallels=parallels, visit_id=f"1:{previous_end}:1", **kwargs)
    made.start = START + previous_end + round(slew_minutes * MINUTE)
    return made


def _hand_made():
    """Slews (minutes): first (unknown, lamp), 40 (anneal), 30 (anneal), 10 (lamp), -5 (flat),
    20 (untargeted, not a slew), 27.5 (plain), 12 (anneal)."""
    visits, end = [], 0
    for slew, mode, kind in [
        (0, "NIRSpec Internal Lamp", "PRIME TARGETED FIXED"),
        (40, "MIRI Anneal", "PRIME TARGETED FIXED"),
        (30, "MIRI Anneal", "PRIME TARGETED MOVING"),
        (10, "NIRSpec Internal Lamp", "PRIME TARGETED FIXED"),
        (-5, "NIRISS Internal Flat", "PRIME TARGETED FIXED"),
        (20, None, "PRIME UNTARGETED"),
        (27.5, None, "PRIME TARGETED FIXED"),
        (12, "MIRI Anneal", "PRIME TARGETED FIXED"),
    ]:
        made = _after(end, slew, mode, visit_type=kind)
        visits.append(made)
        end = made.start - START + made.duration_s
    return to_frame(visits)


def test_minutes_per_mode_and_of_all_slews():
    found = slew_minutes(_hand_made())
    assert list(found) == ["MIRI Anneal", "NIRSpec Internal Lamp", "NIRISS Internal Flat", ALL_SLEWS]
    assert found["MIRI Anneal"].tolist() == [40, 30, 12]
    lamp = found["NIRSpec Internal Lamp"]
    assert np.isnan(lamp[0]) and lamp[1] == 10
    assert found["NIRISS Internal Flat"].tolist() == [-5]
    assert found[ALL_SLEWS].dropna().tolist() == [40, 30, 10, -5, 27.5, 12]  # not the untargeted 20


def test_table_counts_and_percentiles():
    table = slew_time_table(_hand_made()).set_index("group")
    anneal = table.loc["MIRI Anneal"]
    assert (anneal["slews"], anneal["unknown"], anneal["overlaps"], anneal["below_minimum"]) == (3, 0, 0, 1)
    assert anneal["shortest_min"] == 12 and anneal["median_min"] == 30
    assert anneal["p10_min"] == pytest.approx(12 + 0.2 * (30 - 12))  # linear between the ordered values
    assert anneal["at_least_share"] == pytest.approx(2 / 3)
    lamp = table.loc["NIRSpec Internal Lamp"]
    assert (lamp["slews"], lamp["unknown"], lamp["shortest_min"], lamp["below_minimum"]) == (2, 1, 10, 1)
    flat = table.loc["NIRISS Internal Flat"]
    assert (flat["overlaps"], flat["shortest_min"], flat["below_minimum"]) == (1, -5, 1)
    every = table.loc[ALL_SLEWS]
    assert (every["slews"], every["unknown"], every["overlaps"], every["below_minimum"]) == (7, 1, 1, 3)
    assert every["at_least_share"] == pytest.approx(3 / 6)  # 40, 30, 27.5 (at least counts the equal)
    assert every["median_min"] == pytest.approx((12 + 27.5) / 2)
    stricter = slew_time_table(_hand_made(), minimum_minutes=35).set_index("group")
    assert stricter.loc["MIRI Anneal", "below_minimum"] == 2


def test_a_period_keeps_the_slews_computed_on_the_whole_timeline():
    frame = _hand_made()
    second = int(frame["start"].iloc[1].timestamp())
    part = within(frame, since=second, until=int(frame["start"].iloc[3].timestamp()))
    assert part["slew_seconds"].tolist() == [40 * MINUTE, 30 * MINUTE]
    assert list(slew_time_table(part)["group"]) == ["MIRI Anneal", ALL_SLEWS]


def test_slews_command(tmp_path):
    path = tmp_path / "t.parquet"
    write_timeline(_hand_made(), path)
    result = runner.invoke(app, ["slews", str(path), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["period"] == {"from": None, "until": None} and document["minimum_minutes"] == 27.5
    rows = {row["group"]: row for row in document["slews"]}
    assert rows["MIRI Anneal"]["below_minimum"] == 1 and rows[ALL_SLEWS]["slews"] == 7
    since = (pd.Timestamp(START, unit="s", tz="UTC") + pd.Timedelta(minutes=100)).isoformat()
    later = json.loads(runner.invoke(app, ["slews", str(path), "--from", since, "--json"]).stdout)
    assert later["slews"][0]["group"] == "MIRI Anneal"  # the first lamp is left out
    shown = runner.invoke(app, ["slews", str(path), "--minimum-minutes", "35"], env={"COLUMNS": "160"})
    assert shown.exit_code == 0, shown.output
    assert all(text in shown.output for text in ("< 35 min", "MIRI Anneal", "NIRISS Internal Flat"))
    bad = runner.invoke(app, ["slews", str(path), "--from", "yesterday"])
    assert bad.exit_code == 2 and "--from" in bad.output


def test_flown_anneals_sat_on_slews_of_at_least_27_7_minutes(shipped):
    """docs/domain.md: no flown anneal on a slew shorter than 27.7 min, while most slews are shorter."""
    for since, until in [("2022-07-11", "2023-07-03"), ("2023-07-03", "2024-07-01")]:
        bounds = [int(pd.Timestamp(t, tz="UTC").timestamp()) for t in (since, until)]
        table = slew_time_table(within(shipped, *bounds)).set_index("group")
        anneal = table.loc["MIRI Anneal"]
        assert anneal["slews"] > 40 and anneal["unknown"] == 0 and anneal["below_minimum"] == 0
        assert anneal["shortest_min"] >= 27.7
        assert 0.2 < table.loc[ALL_SLEWS, "at_least_share"] < 0.4
        # the lamps fly on shorter slews than the anneals
        assert table.loc["NIRSpec Internal Lamp", "p10_min"] < 20 < anneal["p10_min"]
