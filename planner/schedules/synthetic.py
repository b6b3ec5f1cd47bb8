"""Synthetic canonical timelines with the structure of the real ones, reproducible from a seed.

Visits follow each other with log-normal durations of the real Cycle 2 shape (its durations have
median/mean 0.48 and a long tail; sigma 1.2 gives the same ratio), scaled to the requested slews
per day, each after a log-normal slew of median 18 min (sigma 0.9: about 30 % of the slews last
27.5 min or more, as 28-40 % of the real slews into targeted visits do). MIRI visits come in
runs (a two-state Markov chain whose stationary share is `miri_fraction`, mean run 6 visits);
about one day in 60 starts a gap of 0.5-2 days with no slews (safe mode, long untargeted work).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.problem.calendar import DAY, parse_instant, to_timestamps
from planner.schedules.timeline import COLUMNS, SCHEMA, with_slew_seconds

RUN_LENGTH = 6.0  # mean visits per MIRI run
SLEW_MEDIAN_S = 18 * 60  # the median slew (log-normal, sigma 0.9)


def synthetic_timeline(
    days: float, slews_per_day: float, miri_fraction: float = 0.2, seed: int = 0, start: str = "2023-07-03"
) -> pd.DataFrame:
    from planner import limits

    limits.number("days", days, 0, limits.MAX_SYNTHETIC_DAYS, low_open=True)
    limits.number("slews per day", slews_per_day, 0, limits.MAX_SLEWS_PER_DAY, low_open=True)
    if not isinstance(miri_fraction, int | float) or not 0 <= miri_fraction < 1:  # NaN fails too
        from planner.errors import OptionError

        raise OptionError(f"MIRI fraction {miri_fraction!r}: expected 0 <= fraction < 1")
    limits.number("seed", seed, 0, 2**32 - 1, integer=True)
    if days * slews_per_day > limits.MAX_SYNTHETIC_VISITS:
        from planner.errors import OptionError

        raise OptionError(
            f"days {days:g} x slews per day {slews_per_day:g}: more than "
            f"{limits.MAX_SYNTHETIC_VISITS:,} visits; expected a smaller timeline"
        )
    rng = np.random.default_rng(seed)
    count = int(days * slews_per_day * 1.1) + 10
    durations = rng.lognormal(mean=0.0, sigma=1.2, size=count)
    slews = (SLEW_MEDIAN_S * rng.lognormal(mean=0.0, sigma=0.9, size=count)).astype(np.int64)
    busy = max(DAY / slews_per_day - slews.mean(), 60)  # each visit and the slew before it
    durations = np.maximum(durations / durations.mean() * busy, 60).astype(np.int64)
    gaps = np.where(rng.random(count) < 1 / (60 * slews_per_day), rng.uniform(0.5, 2, count) * DAY, 0)
    # visit i+1 starts after visit i, the slew into i+1 and any gap
    steps = durations + np.append(slews[1:], 0) + gaps.astype(np.int64)
    starts = parse_instant(start) + np.concatenate([[0], np.cumsum(steps)[:-1]])
    keep = starts < parse_instant(start) + days * DAY
    starts, durations = starts[keep], durations[keep]
    n = len(starts)

    leave = 1 / RUN_LENGTH  # MIRI -> other
    enter = leave * miri_fraction / (1 - miri_fraction) if miri_fraction else 0.0
    draws = rng.random(n)
    miri = np.empty(n, dtype=bool)
    state = rng.random() < miri_fraction
    for i in range(n):
        state = draws[i] >= leave if state else draws[i] < enter
        miri[i] = state
    kind = rng.choice(
        ["PRIME TARGETED FIXED", "PRIME TARGETED MOVING", "PRIME UNTARGETED"], size=n, p=[0.93, 0.05, 0.02]
    )
    lamp = rng.random(n) < 0.02
    frame = pd.DataFrame(
        {
            "visit_id": [f"9{seed % 1000:03d}:{i // 1000 + 1}:{i % 1000 + 1}" for i in range(n)],
            "start": to_timestamps(starts),
            "duration_s": durations,
            "visit_type": kind,
            "instrument": np.where(miri, "MIRI Imaging", "NIRCam Imaging"),
            "target": "SYNTHETIC",
            "category": "Synthetic",
            "keywords": None,
            "parallels": [
                [
                    {
                        "visit_type": "PARALLEL SLEW CALIBRATION",
                        "instrument": "NIRSpec Internal Lamp",
                        "visit_id": None,
                    }
                ]
                if has
                else []
                for has in lamp
            ],
            "uses_miri": miri,
            "is_slew": kind != "PRIME UNTARGETED",
            "slew_parallel": ["NIRSpec Internal Lamp" if has else None for has in lamp],
            "source": f"synthetic seed={seed}",
        }
    )
    frame = with_slew_seconds(frame)[COLUMNS]
    frame.attrs["sources"] = [f"synthetic:days={days},rate={slews_per_day},miri={miri_fraction},seed={seed}"]
    assert list(frame.columns) == SCHEMA.names
    return frame
