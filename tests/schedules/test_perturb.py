"""Perturbed variants keep every surviving visit's slew: a delay is the previous visit overrunning,
a cancelled visit's time goes to the visit before it, and only a lost block opens a gap."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.problem.calendar import Calendar
from planner.problem.eligibility import window_slews
from planner.problem.rules import load_rules
from planner.schedules.history import History
from planner.schedules.perturb import Perturbation, perturb
from planner.schedules.timeline import to_frame
from tests.helpers import START, visit


def _timeline(gaps: list[int], durations: list[int]) -> pd.DataFrame:
    """Visits one after another: visit i lasts durations[i] and the slew into it lasts gaps[i]."""
    visits, at = [], START
    for i, (gap, duration) in enumerate(zip(gaps, durations, strict=True)):
        made = visit(0, visit_id=f"1:1:{i + 1}")
        at += gap
        made.start, made.duration_s, made.source = at, duration, "report"
        visits.append(made)
        at += duration
    return to_frame(visits)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30_000), st.integers(60, 20_000)), min_size=2, max_size=40),
    st.floats(0, 0.6),
    st.floats(0, 12),
    st.integers(0, 2**32 - 1),
)
def test_slips_and_cancels_keep_each_visits_slew(rows, cancel, delay_hours, seed):
    gaps, durations = (list(column) for column in zip(*rows, strict=True))
    before = _timeline(gaps, durations)
    change = Perturbation(cancel_fraction=cancel, max_delay_hours=delay_hours, seed=seed)
    after = perturb(before, change)
    original = before.set_index("visit_id")
    kept = after.set_index("visit_id")
    # every kept visit but the first keeps the slew into it, whatever was cancelled before it
    assert (kept["slew_seconds"].iloc[1:] == original.loc[kept.index[1:], "slew_seconds"]).all()
    # visits only slip later, and by at most the greatest delay (a push never accumulates past it)
    slipped = (kept["start"] - original.loc[kept.index, "start"]).dt.total_seconds()
    assert slipped.between(0, delay_hours * 3600).all()
    assert (kept["duration_s"] >= 0).all()
    assert after["start"].is_monotonic_increasing


def test_a_lost_block_opens_the_only_new_gap():
    before = _timeline([600] * 200, [3000] * 200)  # 200 visits, one an hour, over 8.3 days
    window = (START, START + 200 * 3600)
    after = perturb(before, Perturbation(lost_days=2, max_delay_hours=1, seed=3), within=window)
    assert 200 - 60 < len(after) < 200 - 40  # about 2 days of visits lost
    assert (after["slew_seconds"].iloc[1:] == 600).sum() == len(after) - 2  # one gap: the lost days
    assert after["slew_seconds"].max() >= 2 * 86_400 - 3600


def test_a_histories_variants_hold_no_more_eligible_slews_than_it(tmp_path):
    """What made the replays' variants easier than the histories: a cancel or a delay read as a long
    slew. Now a variant of Cycle 2's reports holds fewer (its cancelled visits' slews are gone)."""
    from pathlib import Path

    data = Path(__file__).resolve().parents[2] / "data" / "raw" / "dja-json"
    history = History.read([data])
    calendar = Calendar.from_options("2023-07-03", 53, 4.0, 7.0)
    change = Perturbation(cancel_fraction=0.05, max_delay_hours=3, seed=1)
    variant = history.perturbed(change, within=(calendar.start, calendar.windows[-1].end))

    def eligible(final: pd.DataFrame) -> int:
        return sum(len(w.times) for w in window_slews(final, calendar, load_rules()))

    shipped, changed = eligible(history.final()), eligible(variant.final())
    assert 0.85 * shipped < changed <= shipped
    assert np.isin(variant.final()["visit_id"], history.final()["visit_id"]).all()
