"""The accepted range of every number a user gives (options, scenario keys, plan metadata).

Each bound says why it is there: CP-SAT takes 32-bit workers and seeds; timestamps are pandas'
(nanoseconds in int64: 1677-09-21 .. 2262-04-11); counts are bounded so that a typo is refused
at once rather than attempted for minutes or gigabytes. Measured from start to plan (`solve` on a
synthetic timeline of 25 slews a day, 2 cores at load 3.9, every objective): the decade, 530 windows
on 90,581 visits, 1.1 s and 0.28 GB; 1,000 windows on 171,614 visits, 1.4-1.6 s and 0.37 GB; 88
years, 4,591 windows on 787,997 visits, 4.2-5.5 s and 0.9 GB (build, solve and checker alone: the
`lengths` benchmark suite).
"""

from __future__ import annotations

import math
from numbers import Real

from planner import errors

INT32_MAX = 2**31 - 1
MAX_COUNT = 5_000  # anneals: 95 years of weekly ones (88 years, 4,591: ~5 s, ~0.9 GB; see above)
MAX_PLAN_ROWS = 10 * MAX_COUNT  # rows of a plan or replay table (one per anneal), refused from the footer
MAX_DAYS = 3_660.0  # window, target interval, min gap, lost block: ten years
MAX_SYNTHETIC_DAYS = 36_600.0  # a century; the visits bound below is the one that matters
MAX_TIME_LIMIT = 604_800.0  # seconds: one week
MAX_WORKERS = 256  # CP-SAT search workers per solve (threads)
MAX_JOBS = 256  # batch processes
MAX_DELAY_HOURS = 8_760.0  # one year
MAX_SLEWS_PER_DAY = 1_000.0
MAX_SYNTHETIC_VISITS = 1_000_000  # days x slews per day: ten times the synthetic decade benchmark
# --prune none gives CP-SAT one Boolean per pair of consecutive slews: real Cycle 2 has 16,188, the
# synthetic decade 2.8 million (gigabytes and minutes), which is refused rather than attempted.
MAX_UNPRUNED_PAIRS = 1_000_000
FIRST_SECOND = 0  # 1970-01-01: times are seconds since the Unix epoch
LAST_SECOND = 9_224_318_015  # 2262-04-11T23:47:16Z, the last second a pandas timestamp holds


def number(name: str, value, low: float, high: float, *, integer: bool = False, low_open: bool = False):
    """`value` if it is a finite number (a whole one when `integer`) in [low, high] ((low, high] when
    `low_open`), else OptionError naming `name` and the range."""
    kind = "a whole number" if integer else "a number"
    low_text, high_text = (f"{int(b):,}" if float(b).is_integer() else f"{b:g}" for b in (low, high))
    shown = f"({low_text}, {high_text}]" if low_open else f"[{low_text}, {high_text}]"
    ok = isinstance(value, int) if integer else isinstance(value, Real)
    # shown(): an integer of thousands of digits has no repr; math.isfinite() overflows on it
    if isinstance(value, bool) or not ok:
        raise errors.OptionError(f"{name} {errors.shown(value)}: expected {kind} in {shown}")
    finite = isinstance(value, int) or math.isfinite(value)
    if not finite or not (low < value if low_open else low <= value) or not value <= high:
        raise errors.OptionError(f"{name} {errors.shown(value)}: expected {kind} in {shown}")
    return value


def unpruned_pairs(sizes: list[int]) -> None:
    """Refuse an unreduced model too large to build (`sizes`: eligible slews per placed window)."""
    pairs = sum(a * b for a, b in zip(sizes, sizes[1:], strict=False))
    if pairs > MAX_UNPRUNED_PAIRS:
        raise errors.OptionError(
            f"--prune none: {pairs:,} pairs of slews would each be a CP-SAT variable (at most "
            f"{MAX_UNPRUNED_PAIRS:,}: gigabytes and minutes beyond that); use --prune dp or fewer anneals"
        )
