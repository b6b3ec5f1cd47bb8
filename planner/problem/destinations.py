"""Evidence for rules: per destination prime mode, its slews, which a rule set keeps, and what flew.

A mode whose slews are many and otherwise eligible but never carried a slew parallel is a rule
operations follow that the rule set may not have yet: that is how `no-time-series` was found.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd

from planner.problem.eligibility import SLEW_PARALLEL, exclusion_reason
from planner.problem.rules import RuleSet, load_rules


def destinations(timeline: pd.DataFrame, rules: RuleSet | None = None) -> pd.DataFrame:
    """One row per destination prime mode of the timeline's slews.

    Columns: `prime_mode`; `slews`; `eligible` under the rule set; `excluded` (rule -> slews, the
    first rule each fails, largest first); `otherwise_eligible` (slews not excluded by the
    program's own no-slew and to-MIRI rules: where any slew parallel could have run);
    `slew_parallels` (kind -> how many ran on slews to this mode); `expected` (slew parallels this
    mode would have carried had they been spread evenly over otherwise eligible slews); `chance`
    (the Poisson probability of so few, P(X <= flown | expected)). Modes that could have carried
    slew parallels and never did come first, least likely by chance first; then the others, by
    `chance`."""
    rules = load_rules(rules)
    slews = timeline["is_slew"].to_numpy(bool)
    reason = exclusion_reason(timeline, rules)[slews]
    modes = timeline["instrument"].fillna("(none)").astype(str).to_numpy()[slews]
    otherwise = ~timeline["uses_miri"].to_numpy(bool)[slews]
    kinds = [
        Counter(p["instrument"] for p in parallels if p["visit_type"] == SLEW_PARALLEL)
        for parallels in timeline["parallels"].to_numpy()[slews]
    ]
    flown_otherwise = sum(sum(c.values()) for c, ok in zip(kinds, otherwise, strict=True) if ok)
    rate = flown_otherwise / max(int(otherwise.sum()), 1)
    rows = []
    for mode in np.unique(modes):
        here = modes == mode
        flown: Counter = Counter()
        for i in np.flatnonzero(here):
            flown.update(kinds[i])
        excluded = Counter(r for r in reason[here] if r)
        rows.append(
            {
                "prime_mode": str(mode),
                "slews": int(here.sum()),
                "eligible": int(np.count_nonzero(reason[here] == "")),
                "excluded": dict(excluded.most_common()),
                "otherwise_eligible": int(otherwise[here].sum()),
                "slew_parallels": dict(sorted(flown.items())),
                "flown": int(sum(flown.values())),
                "expected": float(otherwise[here].sum() * rate),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["chance"] = [_poisson_cdf(k, lam) for k, lam in zip(frame["flown"], frame["expected"], strict=True)]
    never = (frame["flown"] == 0) & (frame["otherwise_eligible"] > 0)
    order = np.lexsort((-frame["slews"].to_numpy(), frame["chance"].to_numpy(), ~never.to_numpy()))
    return frame.iloc[order].reset_index(drop=True)


def _poisson_cdf(k: int, lam: float) -> float:
    """P(X <= k) for X ~ Poisson(lam), summed in log space (lam may be in the hundreds)."""
    if lam <= 0:
        return 1.0
    terms = [i * math.log(lam) - lam - math.lgamma(i + 1) for i in range(int(k) + 1)]
    return min(1.0, sum(math.exp(t) for t in terms))
