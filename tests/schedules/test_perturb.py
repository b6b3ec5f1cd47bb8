"""Perturbed variants keep every surviving visit's slew and place: a slip is the previous visit
running longer or shorter (and persists from visit to visit), a cancelled visit's time goes to the
visit before it, and only a lost block opens a gap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import OptionError
from planner.problem.calendar import Calendar
from planner.problem.eligibility import window_slews
from planner.problem.rules import load_rules
from planner.schedules.history import History
from planner.schedules.perturb import WALK_STEP, Perturbation, perturb
from planner.schedules.timeline import to_frame
from tests.helpers import START, visit


def _timeline(rows: list[tuple[int, int | None]]) -> pd.DataFrame:
    """Visits one after another: visit i lasts rows[i][1] seconds (None: unknown) and starts
    rows[i][0] seconds after the previous one ends (negative: they overlap; never before the
    previous one starts)."""
    visits, start, end = [], START, START
    for i, (gap, duration) in enumerate(rows):
        made = visit(0, visit_id=f"1:1:{i + 1:03d}")
        start = max(start, end + gap)
        made.start, made.duration_s, made.source = start, duration, "report"
        visits.append(made)
        end = start + (duration or 0)
    return to_frame(visits)


ROWS = st.lists(
    st.tuples(st.integers(-20_000, 30_000), st.one_of(st.none(), st.integers(0, 20_000))),
    min_size=2,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(ROWS, st.floats(0, 0.6), st.floats(0, 24), st.sampled_from([0, 0.1, 0.5]), st.integers(0, 2**32 - 1))
def test_variants_keep_each_visits_place_and_slew(rows, cancel, delay_hours, lost_days, seed):
    before = _timeline(rows)
    window = (START, int(before["start"].max().timestamp()) + 1)
    change = Perturbation(cancel_fraction=cancel, max_delay_hours=delay_hours, lost_days=lost_days, seed=seed)
    try:
        after = perturb(before, change, within=window)
    except OptionError as refused:  # every visit cancelled or lost
        assert "no visit survives it" in str(refused)
        return
    assert after.equals(perturb(before, change, within=window))  # seeded
    original = before.set_index("visit_id")
    kept = after.set_index("visit_id")
    assert list(kept.index) == sorted(kept.index)  # every visit keeps its place
    slipped = (kept["start"] - original.loc[kept.index, "start"]).dt.total_seconds()
    assert slipped.between(0, delay_hours * 3600).all()  # a push never takes a visit past the most
    assert (kept["duration_s"].dropna() >= 0).all()
    assert (kept["duration_s"].isna() == original.loc[kept.index, "duration_s"].isna()).all()
    # a kept visit keeps its slew when nothing between it and the kept visit before it was lost
    # and no duration there is unknown (then there is a slew to keep)
    position = {visit_id: i for i, visit_id in enumerate(before["visit_id"])}
    durations = before["duration_s"].to_numpy()
    for previous, current in zip(kept.index[:-1], kept.index[1:], strict=True):
        span = range(position[previous], position[current])
        if any(pd.isna(durations[i]) for i in span):
            continue
        skipped = [before["visit_id"].iloc[i] for i in span if i != position[previous]]
        if len(skipped) and lost_days:
            continue  # a skipped visit may have been lost rather than cancelled
        assert kept.loc[current, "slew_seconds"] == original.loc[current, "slew_seconds"]


def test_a_slip_persists_and_each_delay_is_uniform():
    """Visits far apart (nothing is pushed): consecutive delays differ by at most an eighth of
    the greatest, and over many visits the delays spread evenly over [0, most]."""
    before = _timeline([(20_000, 600)] * 4000)
    after = perturb(before, Perturbation(max_delay_hours=4, seed=5))
    delays = (after["start"] - before["start"]).dt.total_seconds().to_numpy()
    assert np.abs(np.diff(delays)).max() <= WALK_STEP * 4 * 3600 + 1
    counts = np.histogram(delays, bins=4, range=(0, 4 * 3600))[0]
    assert counts.min() > 0.6 * counts.max()  # about a quarter in each hour (a walk: not exact)


def test_a_lost_block_opens_the_only_new_gap():
    before = _timeline([(600, 3000)] * 200)  # 200 visits, one an hour, over 8.3 days
    window = (START, START + 200 * 3600)
    after = perturb(before, Perturbation(lost_days=2, max_delay_hours=6, seed=15), within=window)
    assert 200 - 60 < len(after) < 200 - 40  # about 2 days of visits lost
    assert list(after["visit_id"]) == sorted(after["visit_id"])
    assert (after["slew_seconds"].iloc[1:] == 600).sum() == len(after) - 2  # one gap: the lost days
    assert after["slew_seconds"].max() >= 2 * 86_400 - 6 * 3600


def test_the_visits_around_a_lost_block_keep_their_slews_and_none_is_left_inside_it():
    """Back-to-back visits: the lost ones are a run (decided on the schedule's own times), so the
    kept ones are not squeezed together into overlaps the schedule did not have."""
    before = _timeline([(0, 600)] * 40)
    window = (START, START + 24_000)
    after = perturb(before, Perturbation(max_delay_hours=4, lost_days=0.05, seed=0), within=window)
    slews = after["slew_seconds"].iloc[1:]
    assert (slews == 0).sum() == len(after) - 2  # only the block's gap; no visit squeezed in
    assert slews.max() > 0.05 * 86_400 - 4 * 3600 and list(after["visit_id"]) == sorted(after["visit_id"])


def test_a_perturbation_that_leaves_no_visit_is_refused():
    before = _timeline([(600, 3000)] * 10)
    with pytest.raises(OptionError, match="no visit survives it"):
        perturb(before, Perturbation(lost_days=30, seed=1))


def test_a_histories_variants_hold_no_more_eligible_slews_than_it():
    """What made the replays' variants easier than the histories: a cancel or a delay read as a long
    slew. Now a variant of Cycle 2's reports holds fewer (its cancelled visits' slews are gone),
    and the slews of the visits it keeps are theirs."""
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
