"""The same problem as a MIP on HiGHS: the baseline the benchmark runner compares CP-SAT with.

It takes the very pairs the CP-SAT model gets (planner.model.bound_pairs), so the two solvers see
the same network-flow model: picks, pairs, one slew per anneal, flow conservation; `regular` is the
sum of pair costs, `minimax` a variable bounded below by cost·pair for every pair (the linear form of
CP-SAT's implications). Only the primary objective is solved.
"""

from __future__ import annotations

import time

import highspy
import numpy as np

from planner.chain import Chain
from planner.model import Pairs, paired_slews


def solve_highs(chain: Chain, pairs: list[Pairs], objective: str, time_limit: float = 60.0) -> dict:
    columns: dict[tuple, int] = {}
    for k, layer in enumerate(chain.layers):
        for i in paired_slews(pairs, k, len(layer)):
            columns[("pick", k, i)] = len(columns)
    first_pair = len(columns)
    pair_costs = np.concatenate([p.cost for p in pairs]) if pairs else np.zeros(0)
    n_cols = first_pair + len(pair_costs) + (objective == "minimax")
    worst = n_cols - 1

    rows, cols, vals, lower, upper = [], [], [], [], []

    def add_row(entries, lo, hi):
        for col, val in entries:
            rows.append(len(lower))
            cols.append(col)
            vals.append(val)
        lower.append(lo)
        upper.append(hi)

    for k in range(chain.size):  # exactly one slew per anneal
        add_row([(c, 1.0) for (kind, layer, _), c in columns.items() if layer == k], 1, 1)
    offset = first_pair
    for k, p in enumerate(pairs):
        var = offset + np.arange(len(p.cost))
        for i in np.unique(p.first):  # outgoing pairs of a pick = the pick
            add_row([*((int(v), 1.0) for v in var[p.first == i]), (columns[("pick", k, int(i))], -1.0)], 0, 0)
        for j in np.unique(p.second):  # incoming pairs of a pick = the pick
            add_row(
                [*((int(v), 1.0) for v in var[p.second == j]), (columns[("pick", k + 1, int(j))], -1.0)], 0, 0
            )
        if objective == "minimax":
            for v, cost in zip(var.tolist(), p.cost.tolist(), strict=True):
                add_row([(worst, 1.0), (v, -float(cost))], 0, highspy.kHighsInf)
        offset += len(p.cost)

    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_cols, len(lower)
    cost = np.zeros(n_cols)
    if objective == "minimax":
        cost[worst] = 1.0
    else:
        cost[first_pair:] = pair_costs
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(n_cols)
    col_upper = np.ones(n_cols)
    if objective == "minimax":
        col_upper[worst] = highspy.kHighsInf
    lp.col_upper_ = col_upper  # assign whole arrays: the binding returns copies of its members
    lp.row_lower_, lp.row_upper_ = np.array(lower, float), np.array(upper, float)
    order = np.lexsort((cols, rows))
    rows_sorted = np.asarray(rows)[order]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.searchsorted(rows_sorted, np.arange(len(lower) + 1)).astype(np.int32)
    lp.a_matrix_.index_ = np.asarray(cols, dtype=np.int32)[order]
    lp.a_matrix_.value_ = np.asarray(vals, dtype=float)[order]
    integrality = [highspy.HighsVarType.kInteger] * n_cols
    if objective == "minimax":
        integrality[worst] = highspy.HighsVarType.kContinuous
    lp.integrality_ = integrality

    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", float(time_limit))
    highs.setOptionValue("threads", 1)
    highs.passModel(lp)
    started = time.perf_counter()
    highs.run()
    seconds = time.perf_counter() - started
    status = highs.modelStatusToString(highs.getModelStatus())
    value = highs.getInfo().objective_function_value
    return {
        "status": status,
        "value": round(value) if np.isfinite(value) else None,
        "seconds": seconds,
        "rows": len(lower),
        "cols": n_cols,
    }
