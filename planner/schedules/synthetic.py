"""Synthetic canonical timelines with the structure of the real ones, reproducible from a seed.

Visits follow each other with log-normal durations of the real Cycle 2 shape (its durations have
median/mean 0.48 and a long tail; sigma 1.2 gives the same ratio), scaled to the requested slews
per day, each after a log-normal slew of median 18 min (sigma 0.9: about 30 % of the slews last
27.5 min or more, as 28-40 % of the real slews into targeted visits do). MIRI visits come in
runs (a two-state Markov chain whose stationary share is `miri_fraction`, mean run 6 visits);
about one day in 60 starts a gap of 0.5-2 days with no slews (safe mode, long untargeted work).
About 2 % of the visits carry a NIRSpec lamp of no program (a slew parallel the anneals must avoid).

With `calibrations` (True: `CALIBRATIONS`, five programs), the timeline flies slew-parallel programs
as the real schedules do instead (issue 22). The prime modes are then drawn from the real shares of
Cycles 1-2 (`OTHER_MODES`, `MIRI_MODES`: NIRSpec, NIRISS and time-series visits among them), in runs
of one mode; then each program, in the order given, takes slews that its own rules allow
(`planner.problem.eligibility.exclusion_reason` with the shipped `operations` rules applied to the
program: its avoided instrument, no time-series destination, its least slew and recovery) and no
other program has taken (a slew carries at most one slew parallel):

- a weekly series (the MIRI anneals) flies once in each window of 4 days every 7 days from `start`,
  on the eligible slew nearest 7 days after its previous run (jittered by 12 h);
- a campaign program starts a campaign every `period_days` (drawn uniformly), the first
  `phase_days` after `start`: `runs` runs, each on the first eligible slew at least `separation_hours`
  after the previous one (the first on the first at or after the campaign's time). A run that
  cannot fly within `MAX_DELAY_HOURS` of its time ends its campaign, so a campaign's runs are less
  than 24 h apart and campaigns more than 24 h apart: `programs infer` recovers each as one.

Everything is drawn from the seed; the default (no calibrations) draws nothing more, so it is the
same timeline as before calibrations existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from planner.problem.calendar import DAY, parse_instant, to_timestamps
from planner.schedules.report import SLEW_PARALLEL
from planner.schedules.timeline import COLUMNS, SCHEMA, with_slew_seconds

if TYPE_CHECKING:
    from planner.problem.program import Program

RUN_LENGTH = 6.0  # mean visits per MIRI run
SLEW_MEDIAN_S = 18 * 60  # the median slew (log-normal, sigma 0.9)

# With calibrations, the prime modes of the visits that do not use MIRI and of those that do: the shares
# of the real targeted visits of Cycles 1-2 (the shipped timeline), rounded; a visit repeats the mode of
# the one before it (same MIRI state) with probability SAME_MODE, as half the real visits do.
OTHER_MODES = {
    "NIRCam Imaging": 0.29,
    "NIRSpec IFU Spectroscopy": 0.21,
    "NIRCam Coronagraphic Imaging": 0.08,
    "NIRSpec MultiObject Spectroscopy": 0.07,
    "NIRCam Wide Field Slitless Spectroscopy": 0.07,
    "NIRSpec Fixed Slit Spectroscopy": 0.06,
    "NIRCam Engineering Imaging": 0.05,
    "NIRSpec Bright Object Time Series": 0.05,
    "NIRISS External Calibration": 0.03,
    "NIRISS Single-Object Slitless Spectroscopy": 0.02,
    "NIRCam Grism Time Series": 0.02,
    "NIRISS Aperture Masking Interferometry": 0.015,
    "NIRISS Wide Field Slitless Spectroscopy": 0.015,
    "NIRISS Imaging": 0.01,
    "FGS External Calibration": 0.01,
}
MIRI_MODES = {
    "MIRI Medium Resolution Spectroscopy": 0.37,
    "MIRI Imaging": 0.37,
    "MIRI Low Resolution Spectroscopy": 0.11,
    "MIRI Coronagraphic Imaging": 0.09,
    "MIRI External Flat": 0.02,
    "MIRI Coronagraphic Photometric Calibration": 0.01,
    "MIRI Dark": 0.03,
}
SAME_MODE = 0.5
MAX_DELAY_HOURS = 12.0  # a run that finds no free eligible slew this long after its time ends its campaign
ANNEAL_JITTER_HOURS = 12.0  # the spread of an anneal's aim around 7 days after the previous one


@dataclass(frozen=True, slots=True, kw_only=True)
class Calibration:
    """One synthetic slew-parallel program: its id, mode and cadence. `weekly` is the anneals' series
    (one run in each 4-day window every 7 days); otherwise campaigns of `runs` (low, high) runs,
    `separation_hours` (low, high) apart, one every `period_days` (low, high), from `phase_days`."""

    program_id: int
    mode: str
    weekly: bool = False
    period_days: tuple[float, float] = (7.0, 7.0)
    phase_days: float = 0.0
    runs: tuple[int, int] = (1, 1)
    separation_hours: tuple[float, float] = (1.0, 1.0)

    def program(self, start: int, days: float) -> Program:
        """The program whose rules this calibration flies by: the anneals' weekly series (the seed's
        values and a calendar of the timeline's weeks) or a rules-only program of the mode's defaults
        (planner.problem.infer.MODES), the same ones `programs infer` writes."""
        from dataclasses import replace

        from planner.problem.calendar import Calendar
        from planner.problem.infer import mode_program
        from planner.problem.program import SEED, load_program

        if self.weekly:
            count = max(1, int((days - 4) // 7) + 1)
            return replace(
                load_program(SEED),
                name=f"synthetic-anneals-{self.program_id}",
                title=f"MIRI detector anneals, synthetic program {self.program_id}",
                program_ids=(self.program_id,),
                cycle=None,
                calendar=Calendar(start=start, count=count, window_days=4.0, target_days=7.0),
            )
        name, title = f"synthetic-{self.program_id}", f"{self.mode}, synthetic program {self.program_id}"
        return mode_program(self.mode, self.program_id, name, title)


# Five programs with the cadences of the real ones (docs/domain.md; issue 22), synthetic ids: the
# weekly anneals (1520), a monthly lamp campaign of 3-4 runs (4461) and one of 3 runs half a month
# later (4463), a lamp flown every 4-7 days in 1-2 runs (6648), NIRISS flats in bursts (1503).
CALIBRATIONS = (
    Calibration(program_id=8520, mode="MIRI Anneal", weekly=True),
    Calibration(
        program_id=8461,
        mode="NIRSpec Internal Lamp",
        period_days=(27.0, 28.0),
        phase_days=3.0,
        runs=(3, 4),
        separation_hours=(1.0, 10.0),
    ),
    Calibration(
        program_id=8463,
        mode="NIRSpec Internal Lamp",
        period_days=(27.0, 28.0),
        phase_days=16.0,
        runs=(3, 3),
        separation_hours=(1.0, 10.0),
    ),
    Calibration(
        program_id=8648,
        mode="NIRSpec Internal Lamp",
        period_days=(4.0, 7.0),
        phase_days=1.0,
        runs=(1, 2),
        separation_hours=(1.5, 6.0),
    ),
    Calibration(
        program_id=8472,
        mode="NIRISS Internal Flat",
        period_days=(12.0, 24.0),
        phase_days=8.0,
        runs=(3, 6),
        separation_hours=(1.0, 8.0),
    ),
)


def synthetic_timeline(
    days: float,
    slews_per_day: float,
    miri_fraction: float = 0.2,
    seed: int = 0,
    start: str = "2023-07-03",
    calibrations: bool | Sequence[Calibration] = False,
) -> pd.DataFrame:
    """A synthetic timeline of `days` from `start` (see the module's docstring); with `calibrations`
    (True: the five of CALIBRATIONS, or Calibration specs) it flies those slew-parallel programs."""
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
    specs = _specs(calibrations)
    recipe = f"synthetic:days={days},rate={slews_per_day},miri={miri_fraction},seed={seed}"
    if specs:
        _fly(frame, specs, seed, parse_instant(start), days)
        recipe += ",calibrations=" + "+".join(str(c.program_id) for c in specs)
    frame.attrs["sources"] = [recipe]
    assert list(frame.columns) == SCHEMA.names
    return frame


def _specs(calibrations: bool | Sequence[Calibration]) -> tuple[Calibration, ...]:
    from planner.errors import OptionError

    if calibrations is True:
        return CALIBRATIONS
    if calibrations is False:
        return ()
    specs = tuple(calibrations)
    if not all(isinstance(c, Calibration) for c in specs):
        raise OptionError(f"calibrations {calibrations!r}: expected True, False or Calibration specs")
    keys = [(c.mode, c.program_id) for c in specs]
    if len(set(keys)) != len(keys):
        raise OptionError(f"calibrations: a program flies one mode once; {keys} repeats one")
    return specs


def _modes(rng: np.random.Generator, miri: np.ndarray) -> np.ndarray:
    """Prime modes of the real shares, in runs: a visit repeats its predecessor's mode with
    probability SAME_MODE when both use MIRI or neither does."""
    n = len(miri)
    tables = [(list(t), np.array(list(t.values())) / sum(t.values())) for t in (OTHER_MODES, MIRI_MODES)]
    other, own = (rng.choice(np.array(names, dtype=object), size=n, p=share) for names, share in tables)
    fresh = np.where(miri, own, other)
    new = rng.random(n) >= SAME_MODE
    new[0] = True
    new[1:] |= miri[1:] != miri[:-1]
    first = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    return fresh[first]


def _fly(frame: pd.DataFrame, specs: Sequence[Calibration], seed: int, start: int, days: float) -> None:
    """Draw the prime modes and fly `specs` on `frame` (in place): see the module's docstring."""
    from planner.problem.calendar import to_seconds
    from planner.problem.eligibility import exclusion_reason
    from planner.problem.rules import load_rules

    rng = np.random.default_rng([seed, 22])  # a stream of its own: the visits stay as without
    n = len(frame)
    frame["instrument"] = _modes(rng, frame["uses_miri"].to_numpy(bool))
    frame["parallels"] = [[] for _ in range(n)]  # no lamp of no program: the programs fly instead
    frame["slew_parallel"] = None
    starts = to_seconds(frame["start"])
    end = start + round(days * DAY)
    taken = np.zeros(n, dtype=bool)
    flown: dict[int, tuple[str, str]] = {}
    for spec in specs:
        rules = load_rules("operations", spec.program(start, days))
        eligible = np.flatnonzero(exclusion_reason(frame, rules) == "")
        fly = _weekly if spec.weekly else _campaigns
        rows = fly(spec, rng, starts[eligible], eligible, taken, start, end)
        taken[rows] = True  # (a campaign's runs are taken as they are placed: _campaigns)
        for k, row in enumerate(rows):
            flown[row] = (spec.mode, f"{spec.program_id}:{k + 1}:1")
    parallels: list[list[dict]] = [[] for _ in range(n)]
    modes = np.full(n, None, dtype=object)
    for row, (mode, visit_id) in flown.items():
        parallels[row] = [{"visit_type": SLEW_PARALLEL, "instrument": mode, "visit_id": visit_id}]
        modes[row] = mode
    frame["parallels"] = pd.Series(parallels, index=frame.index, dtype=object)
    frame["slew_parallel"] = modes


def _free(times: np.ndarray, rows: np.ndarray, taken: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Positions (into times/rows) of the eligible slews in [lo, hi) that no program has taken."""
    first, last = np.searchsorted(times, [lo, hi], side="left")
    where = np.arange(first, last)
    return where[~taken[rows[where]]]


def _weekly(
    spec: Calibration,
    rng: np.random.Generator,
    times: np.ndarray,
    rows: np.ndarray,
    taken: np.ndarray,
    start: int,
    end: int,
) -> list[int]:
    """One run per window of the program's calendar, on the free eligible slew nearest its aim."""
    runs: list[int] = []
    previous = None
    for window in spec.program(start, (end - start) / DAY).calendar.windows:
        opens, closes = window.start, min(window.end, end)
        if previous is None:
            aim = opens + rng.uniform(0, 2 * DAY)
        else:
            aim = previous + 7 * DAY + rng.normal(0, ANNEAL_JITTER_HOURS * 3600)
        free = _free(times, rows, taken, opens, closes)
        if not len(free):
            previous = None
            continue
        best = free[np.argmin(np.abs(times[free] - aim))]
        runs.append(int(rows[best]))
        previous = int(times[best])
    return runs


def _campaigns(
    spec: Calibration,
    rng: np.random.Generator,
    times: np.ndarray,
    rows: np.ndarray,
    taken: np.ndarray,
    start: int,
    end: int,
) -> list[int]:
    """Campaigns every `period_days`, each of `runs` runs `separation_hours` apart (module docstring)."""
    hour, delay = 3600, round(MAX_DELAY_HOURS * 3600)
    runs: list[int] = []
    at = start + round(spec.phase_days * DAY)
    while at < end:
        count = int(rng.integers(spec.runs[0], spec.runs[1] + 1))
        aim, last = at, None
        for _ in range(count):
            if last is not None:
                aim = last + round(rng.uniform(*spec.separation_hours) * hour)
            free = _free(times, rows, taken, aim, min(aim + delay, end))
            if not len(free):
                break
            runs.append(int(rows[free[0]]))
            taken[rows[free[0]]] = True  # the next run of this campaign takes another slew
            last = int(times[free[0]])
        at += round(rng.uniform(*spec.period_days) * DAY)
        if last is not None:
            at = max(at, last + 25 * hour)  # campaigns more than a day apart stay apart
    return runs


def synthetic_calibrations(
    days: float,
    seed: int = 0,
    slews_per_day: float = 25.0,
    miri_fraction: float = 0.2,
    start: str = "2023-07-03",
    freedom_hours: float = 24.0,
    calibrations: Sequence[Calibration] = CALIBRATIONS,
) -> tuple[pd.DataFrame, list[Program]]:
    """A synthetic timeline flying `calibrations` (default the five of CALIBRATIONS) and their programs,
    as a joint plan takes them: the weekly series as a weekly Program over the timeline's weeks (the
    seed's anneal values; windows of 4 days every 7 days from `start`), each other program as
    `programs infer` writes it from the timeline (campaigns, windows of its flown runs
    +-`freedom_hours`). In the order of `calibrations`; a program that flew no run is left out."""
    from planner.problem.infer import infer_programs

    frame = synthetic_timeline(days, slews_per_day, miri_fraction, seed, start, calibrations=calibrations)
    inferred = {
        (one.program.mode, one.program.program_ids[0]): one.program
        for one in infer_programs(frame, freedom_hours)
    }
    begin = parse_instant(start)
    programs = []
    for spec in _specs(calibrations):
        if spec.weekly:
            programs.append(spec.program(begin, days))
        elif (spec.mode, spec.program_id) in inferred:
            programs.append(inferred[(spec.mode, spec.program_id)])
    return frame, programs
