"""The very model CP-SAT solves, as a MIP on HiGHS: the other runner of the benchmark's race.

`to_highs` reads the CP-SAT model proto itself (variables, linear rows, exactly-one and clause
constraints, objective, solution hint), so both solvers get the same columns, the same rows and
the same starting plan by construction, whatever the objective or the pruning.
"""

from __future__ import annotations

import time

import highspy
import numpy as np
from ortools.sat.python import cp_model


def _literal(ref: int) -> tuple[int, float, float]:
    """(column, coefficient, constant) of a CP-SAT literal: x, or 1 - x for a negated one."""
    return (ref, 1.0, 0.0) if ref >= 0 else (-ref - 1, -1.0, 1.0)


def to_highs(model: cp_model.CpModel) -> tuple[highspy.HighsLp, np.ndarray | None]:
    """The model as a HiGHS MIP, and its hint as a full column vector (None without one)."""
    proto = model.proto
    n = len(proto.variables)
    domains = [list(v.domain) for v in proto.variables]  # (the proto's lists take no negative index)
    lower = np.array([d[0] for d in domains], dtype=float)
    upper = np.array([d[-1] for d in domains], dtype=float)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    row_lower: list[float] = []
    row_upper: list[float] = []

    def add_row(entries: dict[int, float], lo: float, hi: float) -> None:
        for col, val in entries.items():
            rows.append(len(row_lower))
            cols.append(col)
            vals.append(val)
        row_lower.append(lo)
        row_upper.append(hi)

    for constraint in proto.constraints:
        kinds = [k for k in ("linear", "exactly_one", "bool_or") if getattr(constraint, f"has_{k}")()]
        kind = kinds[0] if kinds else str(constraint).split(" ", 1)[0]
        if constraint.enforcement_literal:
            raise ValueError("enforced constraints are not translated")
        if kind == "linear":
            domain = list(constraint.linear.domain)
            if len(domain) != 2:
                raise ValueError("only single-interval linear domains are translated")
            entries: dict[int, float] = {}
            for var, coeff in zip(constraint.linear.vars, constraint.linear.coeffs, strict=True):
                entries[var] = entries.get(var, 0.0) + coeff
            lo = -highspy.kHighsInf if domain[0] <= cp_model.INT_MIN else float(domain[0])
            hi = highspy.kHighsInf if domain[1] >= cp_model.INT_MAX else float(domain[1])
            add_row(entries, lo, hi)
        elif kind in ("exactly_one", "bool_or"):
            literals = (
                constraint.exactly_one.literals if kind == "exactly_one" else constraint.bool_or.literals
            )
            entries, constant = {}, 0.0
            for ref in literals:
                col, coeff, offset = _literal(ref)
                entries[col] = entries.get(col, 0.0) + coeff
                constant += offset
            add_row(entries, 1 - constant, 1 - constant if kind == "exactly_one" else highspy.kHighsInf)
        else:
            raise ValueError(f"constraint {kind!r} is not translated")

    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, len(row_lower)
    cost = np.zeros(n)
    for var, coeff in zip(proto.objective.vars, proto.objective.coeffs, strict=True):
        cost[var] += coeff
    lp.col_cost_ = cost
    lp.offset_ = float(proto.objective.offset)
    lp.col_lower_, lp.col_upper_ = lower, upper  # assign whole arrays: the binding returns copies
    lp.row_lower_, lp.row_upper_ = np.array(row_lower, float), np.array(row_upper, float)
    order = np.lexsort((cols, rows))
    rows_sorted = np.asarray(rows)[order]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.searchsorted(rows_sorted, np.arange(len(row_lower) + 1)).astype(np.int32)
    lp.a_matrix_.index_ = np.asarray(cols, dtype=np.int32)[order]
    lp.a_matrix_.value_ = np.asarray(vals, dtype=float)[order]
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    hint = None
    if proto.solution_hint.vars:
        hint = np.zeros(n)
        hint[list(proto.solution_hint.vars)] = list(proto.solution_hint.values)
    return lp, hint


def solve_highs(model: cp_model.CpModel, time_limit: float = 60.0) -> dict:
    """Solve the model's MIP with HiGHS, 1 thread, from its hint.

    `seconds` runs from handing HiGHS the model to its answer (passModel, setSolution, run), as
    the runner times CP-SAT's `solve(model)`; the translation from the proto is not counted."""
    lp, hint = to_highs(model)
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", float(time_limit))
    highs.setOptionValue("threads", 1)
    started = time.perf_counter()
    highs.passModel(lp)
    if hint is not None:
        solution = highspy.HighsSolution()
        solution.col_value = hint.tolist()
        solution.value_valid = True
        highs.setSolution(solution)
    highs.run()
    seconds = time.perf_counter() - started
    status = highs.modelStatusToString(highs.getModelStatus())
    value = float(highs.getInfo().objective_function_value)
    # Checked, not trusted: HiGHS 1.16 with a MIP start and presolve can report the reduced
    # problem's objective (offset lost) as the optimum while returning the start itself.
    columns = np.asarray(highs.getSolution().col_value)
    of_columns = float(np.dot(lp.col_cost_, columns) + lp.offset_) if len(columns) == lp.num_col_ else np.nan
    return {
        "status": status,
        "value": round(value) if np.isfinite(value) else None,
        "solution_value": round(of_columns) if np.isfinite(of_columns) else None,
        "seconds": seconds,
        "rows": lp.num_row_,
        "cols": lp.num_col_,
    }
