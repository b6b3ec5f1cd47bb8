"""Online policies: choose one window's slew knowing only the schedule published so far.

A policy sees a `Decision`: the window's candidate slews, the previous placed anneal (and the next
one, when an anneal is decided again between two that are already placed), the eligible slews of
the later windows that are already wholly published, and the slews of the weeks published so far
(after those of the prior's weeks, planner/prior.py), from which it may learn what an unpublished
week will look like. Times are integer seconds.

- `greedy` is the fixed baseline of the issue: the first anneal takes the earliest slew; every
  later one the slew closest to previous + m·target (m = windows apart), ties to the earlier.
- `lookahead` minimises this interval's deviation plus the best continuation over
  the published later windows plus an expected cost-to-go for the unpublished ones. The cost-to-go
  is an approximate dynamic programme over the anneal's phase (its time within its window): with
  V_0 = 0 and the published weeks as equally likely samples S of next week's eligible phases,
  V_h(φ) = mean_S min_{ψ ∈ S} (|ψ − φ| + V_{h−1}(ψ)), an empty week carrying φ on unchanged (the
  anneal is missed and the next interval is measured against 2·target, from the same phase).
  It learns from the weeks known at the decision: the schedule being planned as published so far,
  after the weeks of a prior timeline that ended before it began (planner/prior.py). The
  cost-to-go counts with weight FUTURE_WEIGHT (below), since weeks are not independent draws.
- `rollout` replaces that cost-to-go by scenarios: each run of ROLLOUT_WEEKS consecutive
  published weeks (of the last SAMPLE_WEEKS) is one possible future, laid on the weeks after the
  published ones, and so is its mirror image (each week's phases φ -> window − φ). For each
  scenario the chain from each candidate through the published later windows and the scenario's
  weeks is solved exactly (a layered shortest path, as in planner/oracle.py, whose arcs into
  sampled slews are weighted; a week without a slew is a missed anneal, the next interval
  measured against m·target), and the candidate with the least mean over the scenarios wins.
  Consecutive weeks keep what a week drawn alone loses (campaigns, and the days a report series
  leaves uncovered); the mirror keeps how sparse and gappy weeks are but not at which end of the
  window past gaps happened to fall, since slews show no strong time-of-week pattern within the
  window (benchmarks/README.md). Sampled intervals count with weight FUTURE_WEIGHT beside the
  published ones, as in `lookahead`.
- `guarded` (the default) is rollout whose sampled intervals weigh w_max·n/(n + k), n the cycle's
  own published weeks that agree with its recent ones, and greedy while nothing is trusted but for
  a cycle's first anneal, which it places mid-window (see `Guarded`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

GRID_SECONDS = 600  # resolution of the phase grid of the cost-to-go
HORIZON_WEEKS = 8  # unpublished weeks the cost-to-go looks ahead (its values settle within ~5)
SAMPLE_WEEKS = 26  # the most recent weeks known (the prior's included) it learns from
# How much the learned cost-to-go counts beside the intervals actually known. Published weeks are
# not independent draws (campaigns, and in the text reports days with no report at all), so the
# pure expectation (1) over-trusts them: replayed (without a prior) over the 3 shipped histories
# and their perturbed variants, weight 1 did worse than greedy on Cycle 1 on average, 0.25 and 0.5
# beat it on every history. With the prior, weight 1 and 0.5 are within the spread of each other
# on the replays and on resampled cycles (benchmarks/README.md); 0.5 was kept.
FUTURE_WEIGHT = 0.5
# Weeks in each `rollout` scenario: about a month. Replayed over the shipped histories and their
# perturbed variants, 4 and 8 weeks were within the variants' spread of each other
# (benchmarks/README.md); 4 leaves 23 distinct runs in 26 published weeks.
ROLLOUT_WEEKS = 4


@dataclass(frozen=True, slots=True)
class Neighbour:
    time: int  # slew time of the placed anneal
    windows: int  # how many windows away it is (1 = adjacent)


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    times: np.ndarray  # candidate slews of the window, ascending
    window_start: int
    window_seconds: int
    target: int
    previous: Neighbour | None = None
    following: Neighbour | None = None  # set only when re-deciding between placed anneals
    lookahead: list[np.ndarray] = field(default_factory=list)  # later, wholly published windows
    partial: np.ndarray | None = None  # the next window after those, published only in part:
    partial_until: int = 0  # its eligible slews known so far, up to this time
    remaining: int = 0  # windows after the look-ahead (and the partial one), not yet published
    samples: list[np.ndarray] = field(default_factory=list)  # published weeks' eligible phases
    prior_weeks: int = 0  # how many of `samples`, at the front, are the prior's (another timeline's)


class Policy(Protocol):
    name: str

    @property
    def sample_weeks(self) -> int | None:
        """The most recent weeks it learns from; None: it learns nothing (is given no samples)."""
        ...

    def choose(self, decision: Decision) -> int | None:
        """Index into `decision.times` of the chosen slew (None only when there is none)."""
        ...


def interval_cost(decision: Decision) -> np.ndarray:
    """|gap − m·target| to the previous and (when re-deciding) the following placed anneal."""
    cost = np.zeros(len(decision.times), dtype=np.float64)
    if decision.previous is not None:
        wanted = decision.previous.time + decision.previous.windows * decision.target
        cost += np.abs(decision.times - wanted)
    if decision.following is not None:
        wanted = decision.following.time - decision.following.windows * decision.target
        cost += np.abs(decision.times - wanted)
    return cost


class Greedy:
    name = "greedy"
    sample_weeks: int | None = None  # learns nothing

    def choose(self, decision: Decision) -> int | None:
        if len(decision.times) == 0:
            return None
        if decision.previous is None:
            return 0  # the earliest slew of the window
        wanted = decision.previous.time + decision.previous.windows * decision.target
        return int(np.argmin(np.abs(decision.times - wanted)))  # argmin keeps the earlier of ties


class Lookahead:
    name = "lookahead"

    def __init__(
        self,
        horizon_weeks: int = HORIZON_WEEKS,
        sample_weeks: int = SAMPLE_WEEKS,
        future_weight: float = FUTURE_WEIGHT,
    ):
        from planner.errors import OptionError

        for name, value, top in (("horizon_weeks", horizon_weeks, 52), ("sample_weeks", sample_weeks, 520)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
                raise OptionError(f"{name} {value!r}: expected a whole number of weeks from 1 to {top}")
        if (
            isinstance(future_weight, bool)
            or not isinstance(future_weight, int | float)
            or not 0 <= future_weight <= 1
        ):
            raise OptionError(f"future_weight {future_weight!r}: expected a number from 0 to 1")
        self.horizon_weeks, self.sample_weeks = horizon_weeks, sample_weeks
        self.future_weight = float(future_weight)
        self._cache: dict = {}

    def choose(self, decision: Decision) -> int | None:
        if len(decision.times) == 0:
            return None
        return int(np.argmin(interval_cost(decision) + self.later(decision)))

    def later(self, decision: Decision) -> np.ndarray:
        """The expected cost after each candidate (what `choose` adds to its interval's deviation;
        0 when re-deciding between two placed anneals)."""
        if decision.following is not None:
            return np.zeros(len(decision.times))
        return self._continuation(decision)

    def weight(self, decision: Decision) -> float:
        """The weight of what it learned (the cost-to-go, the sampled intervals) at `decision`,
        beside the intervals actually known."""
        return self.future_weight

    def learned(self, decision: Decision) -> list[np.ndarray]:
        """The weeks it learns from at `decision`: the most recent `sample_weeks` known."""
        return decision.samples[-self.sample_weeks :]

    def _continuation(self, decision: Decision) -> np.ndarray:
        """Best cost from each candidate on: published windows exactly, then the cost-to-go.

        A published window without a slew is a missed anneal: the interval across it is
        measured against two targets (m = windows apart), as everywhere else."""
        grid, value = self.cost_to_go(decision)
        windows = [decision.times, *decision.lookahead]
        placed = [(j, times) for j, times in enumerate(windows) if len(times)]
        last, times = placed[-1]
        phases = times - (decision.window_start + last * decision.target)
        future = np.interp(phases, grid, value)
        if decision.partial is not None:
            future = self._partial(decision, times, len(windows) - last, future, grid, value)
        published = [(j, times, np.ones(len(times))) for j, times in enumerate(decision.lookahead, start=1)]
        return _chain_from(decision.times, published, decision.target, future)

    def _partial(self, decision, times, windows_apart, carried, grid, value) -> np.ndarray:
        """Expected cost from `times` on across a window published only up to `partial_until`:
        its known slews, or those a published week (a sample) would add after that point. Where
        neither offers one the anneal is missed and the phase carries on (`carried`)."""
        start = decision.window_start + (len(decision.lookahead) + 1) * decision.target
        wanted = times + windows_apart * decision.target
        cut = decision.partial_until - start

        def best(slews: np.ndarray) -> np.ndarray:  # slews: absolute times in that window
            if len(slews) == 0:
                return np.full(len(times), np.inf)
            through = (
                np.abs(slews[None, :] - wanted[:, None]) + np.interp(slews - start, grid, value)[None, :]
            )
            return through.min(axis=1)

        known = best(decision.partial)
        samples = self.learned(decision)
        if not samples:
            return np.where(np.isfinite(known), known, carried)
        total = np.zeros(len(times))
        for phases in samples:
            either = np.minimum(known, best(start + phases[phases > cut]))
            total += np.where(np.isfinite(either), either, carried)
        return total / len(samples)

    def cost_to_go(self, decision: Decision) -> tuple[np.ndarray, np.ndarray]:
        """V over the phase grid for the unpublished windows after the look-ahead."""
        horizon, weight = min(self.horizon_weeks, decision.remaining), self.weight(decision)
        samples = self.learned(decision)
        key = (horizon, weight, decision.window_seconds, tuple(s.tobytes() for s in samples))
        if key not in self._cache:
            grid, value = _value_iteration(samples, decision.window_seconds, horizon)
            self._cache = {key: (grid, weight * value)}
        return self._cache[key]


def _value_iteration(samples: list[np.ndarray], window_seconds: int, horizon: int):
    grid = np.arange(0, window_seconds + GRID_SECONDS, GRID_SECONDS, dtype=np.float64)
    value = np.zeros_like(grid)
    if not samples:
        return grid, value
    for _ in range(horizon):
        expected = np.zeros_like(grid)
        for phases in samples:
            if len(phases) == 0:
                expected += value  # a week without a slew: missed, the phase carries on
            else:
                ahead = np.interp(phases, grid, value)
                expected += (np.abs(phases[None, :] - grid[:, None]) + ahead[None, :]).min(axis=1)
        value = expected / len(samples)
    return grid, value


class Rollout(Lookahead):
    """Scenario look-ahead: published windows exactly, then each run of consecutive published weeks
    (and its mirror image) as one possible future, the chain through it solved exactly; the least
    mean cost wins."""

    name = "rollout"

    def __init__(
        self,
        horizon_weeks: int = ROLLOUT_WEEKS,
        sample_weeks: int = SAMPLE_WEEKS,
        future_weight: float = FUTURE_WEIGHT,
        mirror: bool = True,
    ):
        super().__init__(horizon_weeks, sample_weeks, future_weight)
        self.mirror = mirror

    def _continuation(self, decision: Decision) -> np.ndarray:
        """Mean over the scenarios of the best cost from each candidate on (0 when nothing is
        published or sampled after the window)."""
        futures = self.scenarios(decision)
        total = np.zeros(len(decision.times))
        for layers in futures:
            total += _chain_from(decision.times, layers, decision.target)
        return total / len(futures)

    def scenarios(self, decision: Decision) -> list[list[Layer]]:
        """Each scenario as layers (windows ahead, slew times, weight of the arcs into them): the
        published later windows (weight 1); the window published in part, if any (its known
        slews, weight 1, and the scenario's first week's after the cut, weighted); then the
        scenario's other weeks, each on the next window with its phases kept (weighted)."""
        partial = decision.partial is not None
        length = min(self.horizon_weeks, decision.remaining) + partial
        samples = self.learned(decision)
        if self.mirror:
            flipped = [np.sort(decision.window_seconds - phases) for phases in samples]
        blocks: list[list[np.ndarray]] = [[]]  # nothing sampled: the published windows alone
        if length and samples:
            # fewer published weeks than a scenario: all of them, once
            starts = range(max(1, len(samples) - length + 1))
            blocks = [samples[i : i + length] for i in starts]
            if self.mirror:
                blocks += [flipped[i : i + length] for i in starts]
        return [self._layers(decision, block) for block in blocks]

    def _layers(self, decision: Decision, block: list[np.ndarray]) -> list[Layer]:
        target, weight = decision.target, self.weight(decision)
        layers: list[Layer] = [
            (j, times, np.ones(len(times))) for j, times in enumerate(decision.lookahead, start=1)
        ]
        ahead = len(decision.lookahead) + 1  # the first window not wholly published
        weeks = list(block)
        if decision.partial is not None:
            start = decision.window_start + ahead * target
            sampled = start + (weeks.pop(0) if weeks else np.zeros(0, dtype=np.int64))
            sampled = sampled[sampled > decision.partial_until]
            times = np.concatenate([decision.partial, sampled])
            weights = np.concatenate([np.ones(len(decision.partial)), np.full(len(sampled), weight)])
            order = np.argsort(times, kind="stable")
            layers.append((ahead, times[order], weights[order]))
            ahead += 1
        for j, phases in enumerate(weeks, start=ahead):
            layers.append((j, decision.window_start + j * target + phases, np.full(len(phases), weight)))
        return layers


# `guarded`'s defaults: the grid point of benchmarks/policy_loo.py with the least mean ratio to
# hindsight over the replays of the three shipped cycles and their perturbed variants (k 2, 6, 13,
# 26; greatest weight 0.5, 1; first anneal "centre" or "earliest"): k 2, weight 1, centre (k 6 was
# 0.016 behind over 8 variants, 0.024 over 4; with variants whose slips did not keep each visit's
# place it was k 6, 0.005 ahead: the data do not pin k down). Left one cycle out, the fit on the
# other two replays chose the same point for every cycle (benchmarks/README.md).
GUARD_K = 2.0  # own weeks at which the learned cost-to-go gets half its greatest weight
GUARD_MAX_WEIGHT = 1.0  # the weight it tends to with many agreeing weeks of the cycle's own
GUARD_RECENT = 4  # the recent weeks tested against the rest
GUARD_ALPHA = 0.05  # significance of the two-sample test of agreement
# Where the first anneal goes when nothing is trusted yet: the slew nearest the window's middle
# ("centre") or greedy's earliest ("earliest"). A grid dimension of benchmarks/policy_loo.py.
GUARD_FIRST = "centre"
FIRSTS = ("centre", "earliest")


@dataclass(frozen=True, slots=True)
class Trust:
    """What `guarded` trusts at one decision: the weeks it learns from, the evidence they are worth
    (`evidence`, in the cycle's own weeks) and the weight that gives the learned cost-to-go."""

    weeks: list[np.ndarray]
    evidence: float
    weight: float
    dropped: str  # "", "prior" or "older" (weeks left out because the recent ones disagree)


def disagree(a: list[np.ndarray], b: list[np.ndarray], alpha: float = GUARD_ALPHA) -> bool:
    """Whether weeks `a` and weeks `b` look drawn from different patterns: either how many eligible
    slews a week holds (`_counts_differ`) or where in the window they fall (the two-sample
    Kolmogorov-Smirnov statistic of the phases pooled on each side, against its asymptotic critical
    value at `alpha`). Slews of one week are not independent (campaigns), so both reject more
    readily than alpha says, which errs towards greedy. Too few slews on either side (under 5) to
    compare phases: only the counts are compared."""
    if _counts_differ(a, b, alpha):
        return True
    x, y = np.sort(np.concatenate([*a, np.zeros(0)])), np.sort(np.concatenate([*b, np.zeros(0)]))
    n, m = len(x), len(y)
    if n < 5 or m < 5:
        return False
    points = np.concatenate([x, y])
    gap = np.abs(np.searchsorted(x, points, side="right") / n - np.searchsorted(y, points, side="right") / m)
    critical = np.sqrt(-0.5 * np.log(alpha / 2)) * np.sqrt((n + m) / (n * m))
    return bool(gap.max() > critical)


def _counts_differ(a: list[np.ndarray], b: list[np.ndarray], alpha: float) -> bool:
    """Whether the mean count of eligible slews a week differs between weeks `a` and `b` (a z test
    with the pooled variance, at least the mean as for Poisson counts; 2 weeks a side at least)."""
    if len(a) < 2 or len(b) < 2:
        return False
    x, y = np.array([len(w) for w in a], float), np.array([len(w) for w in b], float)
    pooled = np.concatenate([x, y])
    variance = max(pooled.var(ddof=1), pooled.mean(), 1.0)
    z = abs(x.mean() - y.mean()) / np.sqrt(variance * (1 / len(x) + 1 / len(y)))
    return bool(z > _normal_quantile(1 - alpha / 2))


@functools.cache  # alpha is a policy's constant: one bisection per value, not per decision
def _normal_quantile(p: float) -> float:
    """The standard normal quantile, by bisection on erf (no dependency)."""
    from math import erf, sqrt

    lo, hi = -10.0, 10.0
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if 0.5 * (1 + erf(mid / sqrt(2))) < p else (lo, mid)
    return (lo + hi) / 2


class Guarded(Rollout):
    """Rollout that trusts what it learned only as far as the evidence allows.

    At each decision it looks at the weeks known (the last `sample_weeks`): the cycle's own
    published weeks, and before them the prior's (another timeline's). It then:

    1. tests the last `recent` own weeks against the prior's weeks (`disagree`: how many eligible
       slews a week holds, and where in the window they fall) and drops the prior when they
       disagree; and against the cycle's older own weeks, dropping those when the pattern has
       shifted mid-cycle;
    2. counts the evidence n: the cycle's own weeks kept. A prior week counts nothing: another
       cycle's weeks shape the scenarios once they agree with this cycle's, but never add to how
       much they are trusted (a prior week counted as half an own week won two cycles' replays
       and, fitted on them, lost to greedy on Cycle 3's first 9 windows: benchmarks/README.md);
    3. weights the learned cost-to-go w = max_weight · n / (n + k); w = 0 (no evidence) is greedy,
       but for the cycle's first anneal (nothing placed before it), where greedy's "nearest the
       target" has no target and its earliest slew is a convention: `first="centre"` takes the slew
       nearest the window's middle. Knowing nothing of next week, the middle is the phase nearest,
       in the worst case, to wherever next week's slews fall; from the earliest, every slew of the
       next window lies after the target, and the whole cycle pays for it.

    Why it is robust: its only departure from greedy is the learned term, and that term's weight
    is bounded by the evidence of the cycle itself. Early in a cycle, or right after the pattern
    shifts, n is small and it is (nearly) greedy; it reaches rollout's weight only after many weeks
    that agree with each other. Three parameters (k, max_weight, first) are fitted on two cycles
    and measured on the third (benchmarks/policy_loo.py). Caveats: the count test of
    `disagree` was added after a first leave-one-out run (phases only) lost to greedy on Cycle 3,
    whose weeks hold more slews than the prior's; with k = 2 and weight 1 the weight is already 0.5
    after two own weeks, so "nearly greedy" lasts only the first weeks and the weeks after a shift; and
    the first anneal's "centre" was adopted after the perturbed variants were made to keep slews
    (with variants that read a delay as a long slew it was not ahead of "earliest"), as a grid
    dimension fitted like k.
    """

    name = "guarded"

    def __init__(
        self,
        k: float = GUARD_K,
        max_weight: float = GUARD_MAX_WEIGHT,
        recent: int = GUARD_RECENT,
        alpha: float = GUARD_ALPHA,
        horizon_weeks: int = ROLLOUT_WEEKS,
        sample_weeks: int = SAMPLE_WEEKS,
        first: str = GUARD_FIRST,
    ):
        from planner.errors import OptionError

        super().__init__(horizon_weeks, sample_weeks, max_weight)
        if not k > 0 or not 0 < alpha < 1 or recent < 1 or first not in FIRSTS:
            raise OptionError(
                f"guarded k {k!r}, alpha {alpha!r}, recent {recent!r}, first {first!r}: "
                f"expected k > 0, alpha in (0, 1), recent >= 1, first one of {', '.join(FIRSTS)}"
            )
        self.k, self.first = float(k), first
        self.recent, self.alpha = recent, alpha
        self._trusted: tuple[Decision, Trust] | None = None  # the last decision's, asked twice

    @property
    def max_weight(self) -> float:
        """The weight it tends to with many agreeing own weeks: rollout's `future_weight`."""
        return self.future_weight

    def trust(self, decision: Decision) -> Trust:
        if self._trusted is not None and self._trusted[0] is decision:
            return self._trusted[1]
        trusted = self._trust(decision)
        self._trusted = (decision, trusted)
        return trusted

    def _trust(self, decision: Decision) -> Trust:
        samples = Lookahead.learned(self, decision)  # the last sample_weeks known
        prior_count = max(0, decision.prior_weeks - (len(decision.samples) - len(samples)))
        prior, own = samples[:prior_count], samples[prior_count:]
        recent, older = own[-self.recent :], own[: -self.recent] if len(own) > self.recent else []
        dropped = ""
        if len(own) >= self.recent and prior and disagree(recent, prior, self.alpha):
            prior, dropped = [], "prior"
        if len(older) >= self.recent and disagree(recent, older, self.alpha):
            older, dropped = [], "older" if not dropped else "prior and older"
        weeks = [*prior, *older, *recent]
        evidence = len(older) + len(recent)  # the prior's weeks count nothing (see the class)
        weight = self.max_weight * evidence / (evidence + self.k)
        return Trust(weeks, evidence, weight, dropped)

    def choose(self, decision: Decision) -> int | None:
        if self.centred(decision):
            return centre(decision)
        if decision.following is None and self.trust(decision).weight == 0:  # nothing trusted yet
            return Greedy().choose(decision)
        return super().choose(decision)

    def centred(self, decision: Decision) -> bool:
        """Whether it takes the slew nearest the window's middle: a cycle's first anneal (nothing
        placed before it) with nothing trusted yet, `first="centre"`."""
        return (
            self.first == "centre"
            and decision.previous is None
            and decision.following is None
            and len(decision.times) > 0
            and self.trust(decision).weight == 0
        )

    def weight(self, decision: Decision) -> float:
        return self.trust(decision).weight

    def learned(self, decision: Decision) -> list[np.ndarray]:
        return self.trust(decision).weeks


def centre(decision: Decision) -> int:
    """The candidate nearest the window's middle (the earlier of two as near)."""
    middle = decision.window_start + decision.window_seconds / 2
    return int(np.argmin(np.abs(decision.times - middle)))


Layer = tuple[int, np.ndarray, np.ndarray]  # windows ahead, slew times, weight of the arcs into them


def _chain_from(
    times: np.ndarray, layers: list[Layer], target: int, beyond: np.ndarray | None = None
) -> np.ndarray:
    """Least weighted Σ|gap − m·target| from each of `times` (window 0) through `layers`, plus
    `beyond` (the cost from each slew of the last layer with slews on; 0 when None): the layered
    shortest path, backwards; a layer without slews is a missed anneal, skipped."""
    placed = [(0, times, np.ones(len(times))), *(layer for layer in layers if len(layer[1]))]
    value = np.zeros(len(placed[-1][1])) if beyond is None else beyond
    for (j, a, _), (k, b, weights) in zip(placed[-2::-1], placed[:0:-1], strict=True):
        gap = np.abs(b[None, :] - a[:, None] - (k - j) * target) * weights[None, :]
        value = (gap + value[None, :]).min(axis=1)
    return value


def why(policy: Policy, decision: Decision, choice: int) -> str | None:
    """Why a learning policy did not take greedy's slew (the one nearest previous + m·target; for a
    first anneal, the earliest): both slews' deviation now and the expected cost after them. None
    when it took that slew, and for a slew decided again between two placed anneals (greedy looks at
    the previous one only)."""
    nearest = Greedy().choose(decision)
    later = getattr(policy, "later", None)
    if later is None or decision.following is not None or nearest is None or nearest == choice:
        return None
    if decision.previous is None:
        return _why_first(policy, decision, choice)
    now, after = interval_cost(decision) / 3600, later(decision) / 3600
    gain = (now[nearest] + after[nearest]) - (now[choice] + after[choice])
    wanted = f"previous + {decision.previous.windows * decision.target / 86400:g} d"
    weight = policy.weight(decision) if hasattr(policy, "weight") else 1.0
    return (
        f"{now[choice]:.1f} h off {wanted} rather than the nearest slew's {now[nearest]:.1f} h: "
        f"{policy.name} expects the weeks after to cost {after[choice]:.1f} h from it against "
        f"{after[nearest]:.1f} h (unpublished weeks weighted {weight:g}), {_hours(gain)} less in all"
    )


def _why_first(policy: Policy, decision: Decision, choice: int) -> str:
    """Why the first anneal (nothing placed before it) did not take greedy's earliest slew."""
    phase = (decision.times - decision.window_start) / 3600
    where = f"{phase[choice]:.1f} h into the window rather than the earliest slew's {phase[0]:.1f} h"
    if isinstance(policy, Guarded) and policy.centred(decision):
        return (
            f"{where}: trusting nothing learned yet (weight 0), {policy.name} starts nearest the "
            "window's middle, so next week's target falls where slews on either side of it can reach it"
        )
    after = policy.later(decision) / 3600  # type: ignore[attr-defined]
    return (
        f"{where}: {policy.name} expects the weeks after to cost {after[choice]:.1f} h from it "
        f"against {after[0]:.1f} h, {_hours(after[0] - after[choice])} less in all"
    )


def _hours(hours: float) -> str:
    """A gain in words: hours to one decimal, or minutes when that would read 0.0 h."""
    if hours >= 0.05:
        return f"{hours:.1f} h"
    return f"{hours * 60:.0f} min" if hours * 60 >= 0.5 else "under a minute"


# in the order the --policy help lists them: the default first
POLICIES = {"guarded": Guarded, "rollout": Rollout, "lookahead": Lookahead, "greedy": Greedy}
LEARNING = ", ".join(name for name, policy in POLICIES.items() if policy is not Greedy)  # for messages


def make_policy(
    name: str,
    horizon_weeks: int | None = None,
    sample_weeks: int | None = None,
    future_weight: float | None = None,
) -> Policy:
    """A policy by name; the look-ahead's parameters may be set (None: the defaults)."""
    from planner.errors import OptionError

    if name not in POLICIES:
        raise OptionError(f"--policy {name!r}: expected one of {', '.join(POLICIES)}")
    if name == "greedy":
        if (horizon_weeks, sample_weeks, future_weight) != (None, None, None):
            raise OptionError(
                "--horizon-weeks, --sample-weeks and --future-weight are the learning policies' "
                f"({LEARNING}), not {name}'s"
            )
        return Greedy()
    given: dict[str, Any] = {
        "horizon_weeks": horizon_weeks,
        "sample_weeks": sample_weeks,
        "future_weight": future_weight,
    }
    if name == "guarded":  # its greatest weight is the --future-weight
        given["max_weight"] = given.pop("future_weight")
    chosen = POLICIES[name]  # (checked above; greedy has returned)
    return chosen(**{key: value for key, value in given.items() if value is not None})  # else its defaults
