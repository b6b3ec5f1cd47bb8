"""The very model CP-SAT solves, as a MIP on HiGHS: the other runner of the benchmark's race.

`to_highs` reads the CP-SAT model proto itself (variables, linear rows, exactly-one, at-most-one
and clause constraints, objective, solution hint), so both solvers get the same columns, the same
rows and the same starting plan by construction, whatever the objective or the pruning; the
single-program race (benchmarks.runner) and the joint race (benchmarks.joint_race) both use it,
and `solve_highs`, which checks HiGHS's answer against its own solution.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
from ortools.sat.python import cp_model

TOLERANCE = 1e-6
KINDS = ("linear", "bool_or", "at_most_one", "exactly_one")  # the constraints translated


@dataclass
class HighsModel:
    """A CP-SAT model proto as a HiGHS MIP: the LP (all columns integer) and the hint as a vector."""

    lp: highspy.HighsLp
    hint: np.ndarray | None
    matrix: tuple[np.ndarray, np.ndarray, np.ndarray]  # row, column, value of every entry
    row_lower: np.ndarray
    row_upper: np.ndarray

    def check(self, values: np.ndarray) -> tuple[bool, float]:
        """Does the column vector `values` satisfy every bound, row and integrality? And its objective."""
        rows, cols, vals = self.matrix
        activity = np.bincount(rows, weights=vals * values[cols], minlength=len(self.row_lower))
        feasible = bool(
            (values >= np.asarray(self.lp.col_lower_) - TOLERANCE).all()
            and (values <= np.asarray(self.lp.col_upper_) + TOLERANCE).all()
            and (activity >= self.row_lower - TOLERANCE).all()
            and (activity <= self.row_upper + TOLERANCE).all()
            and np.allclose(values, np.round(values), atol=TOLERANCE)
        )
        return feasible, float(np.dot(np.asarray(self.lp.col_cost_), values) + self.lp.offset_)


def _bound(value: int, infinite: float) -> float:
    return infinite if abs(value) >= cp_model.INT_MAX else float(value)


def to_highs(proto) -> HighsModel:
    """The CpModelProto `proto` as a HiGHS MIP. Translated: integer (and Boolean) variables of one
    interval; `linear` constraints of one interval; `bool_or`, `at_most_one` and `exactly_one` on
    literals (a negated literal ¬x is 1 - x); a linear objective to minimise (offset and scaling
    kept); the solution hint. Anything else (enforcement literals, holes in domains, other
    constraints) is refused with ValueError rather than approximated."""
    n = len(proto.variables)
    lower, upper = np.empty(n), np.empty(n)
    for j, var in enumerate(proto.variables):
        domain = list(var.domain)
        if len(domain) != 2:
            raise ValueError(f"variable {j}: a domain with holes is not translated")
        lower[j], upper[j] = _bound(domain[0], -highspy.kHighsInf), _bound(domain[1], highspy.kHighsInf)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    row_lower: list[float] = []
    row_upper: list[float] = []

    def add_row(entries: dict[int, float], lo: float, hi: float) -> None:
        for col, val in entries.items():
            if val:
                rows.append(len(row_lower))
                cols.append(col)
                vals.append(val)
        row_lower.append(lo)
        row_upper.append(hi)

    for c, constraint in enumerate(proto.constraints):
        kinds = [k for k in KINDS if getattr(constraint, f"has_{k}")()]
        kind = kinds[0] if kinds else str(constraint).split(" ", 1)[0]
        if constraint.enforcement_literal:
            raise ValueError(f"constraint {c}: enforcement literals are not translated")
        entries: dict[int, float] = {}
        if kind == "linear":
            domain = list(constraint.linear.domain)
            if len(domain) != 2:
                raise ValueError(f"constraint {c}: a linear domain of several intervals is not translated")
            for ref, coeff in zip(constraint.linear.vars, constraint.linear.coeffs, strict=True):
                col, sign = _column(ref)  # a negative ref is -x in a sum
                entries[col] = entries.get(col, 0.0) + sign * coeff
            add_row(entries, _bound(domain[0], -highspy.kHighsInf), _bound(domain[1], highspy.kHighsInf))
        elif kind in ("bool_or", "at_most_one", "exactly_one"):
            constant = 0.0
            for ref in getattr(constraint, kind).literals:
                col, sign = _column(ref)  # a negated literal is 1 - x
                constant += 0.0 if ref >= 0 else 1.0
                entries[col] = entries.get(col, 0.0) + sign
            lo = 1 - constant if kind != "at_most_one" else -highspy.kHighsInf
            hi = 1 - constant if kind != "bool_or" else highspy.kHighsInf
            add_row(entries, lo, hi)
        else:
            raise ValueError(f"constraint {c}: {kind!r} is not translated")

    objective = proto.objective
    if proto.has_floating_point_objective():
        raise ValueError("a floating-point objective is not translated")
    scale = objective.scaling_factor or 1.0
    if scale < 0:
        raise ValueError("a maximised objective is not translated")
    cost = np.zeros(n)
    for ref, coeff in zip(objective.vars, objective.coeffs, strict=True):
        col, sign = _column(ref)
        cost[col] += sign * coeff * scale
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, len(row_lower)
    lp.col_cost_ = cost
    lp.offset_ = float(objective.offset) * scale
    lp.col_lower_, lp.col_upper_ = lower, upper  # whole arrays: the binding returns copies
    row_lo, row_hi = np.array(row_lower, dtype=float), np.array(row_upper, dtype=float)
    lp.row_lower_, lp.row_upper_ = row_lo, row_hi
    r, k, v = (
        np.asarray(rows, dtype=np.int64),
        np.asarray(cols, dtype=np.int64),
        np.asarray(vals, dtype=float),
    )
    order = np.lexsort((k, r))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.searchsorted(r[order], np.arange(len(row_lower) + 1)).astype(np.int32)
    lp.a_matrix_.index_ = k[order].astype(np.int32)
    lp.a_matrix_.value_ = v[order]
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    hint = hint_vector(proto, n) if proto.solution_hint.vars else None
    return HighsModel(lp, hint, (r, k, v), row_lo, row_hi)


def _column(ref: int) -> tuple[int, int]:
    """A CP-SAT variable reference as (column, sign): a negative ref is the negation of -ref - 1."""
    return (ref, 1) if ref >= 0 else (-ref - 1, -1)


def hint_vector(proto, n: int) -> np.ndarray:
    """The model's solution hint as a column vector (a variable the hint leaves out is 0)."""
    hint = np.zeros(n)
    hint[list(proto.solution_hint.vars)] = list(proto.solution_hint.values)
    return hint


def solve_highs(model: HighsModel, time_limit: float) -> dict:
    """HiGHS on the model from its hint, 1 thread; timed from passModel to the end of run.

    Checked, not trusted: an answer whose reported value is not its own solution's is no proof
    (HiGHS 1.16 with a MIP start and presolve can report the presolved problem's objective, its
    offset lost, as proven optimal while returning the start: Cycle 2's `regular` stage). HiGHS then
    runs again without the start, and that run is the one in the `highs_*` columns; the run from the
    start is kept in the `highs_start_*` columns."""
    first = _highs_run(model, time_limit, start=True)
    start = {f"highs_start_{key[6:]}": value for key, value in first.items() if key != "highs_proven"}
    if first["highs_value"] == first["highs_solution_value"] or model.hint is None:
        return first | {"highs_rerun": False} | start
    return _highs_run(model, time_limit, start=False) | {"highs_rerun": True} | start


def _highs_run(model: HighsModel, time_limit: float, *, start: bool) -> dict:
    highs = highspy.Highs()
    for option, value in (
        ("output_flag", False),
        ("time_limit", float(time_limit)),
        ("threads", 1),
        ("mip_rel_gap", 0.0),
        ("mip_abs_gap", 0.5),  # the objective is integral: a gap below 1 proves the optimum
    ):
        highs.setOptionValue(option, value)
    started = time.perf_counter()
    highs.passModel(model.lp)
    if start and model.hint is not None:
        solution = highspy.HighsSolution()
        solution.col_value = model.hint.tolist()
        solution.value_valid = True
        highs.setSolution(solution)
    highs.run()
    seconds = time.perf_counter() - started
    status = highs.modelStatusToString(highs.getModelStatus())
    info = highs.getInfo()
    columns = np.asarray(highs.getSolution().col_value, dtype=float)
    has_solution = info.primal_solution_status == 2 and len(columns) == model.lp.num_col_
    feasible, of_columns = model.check(columns) if has_solution else (False, np.nan)
    value = float(info.objective_function_value) if has_solution else np.nan
    bound = float(info.mip_dual_bound)
    return {
        "highs_status": status,
        # checked, not trusted: its own solution's objective and feasibility in the model
        "highs_proven": bool(
            status == "Optimal" and feasible and np.isfinite(value) and round(value) == round(of_columns)
        ),
        "highs_value": round(value) if np.isfinite(value) else None,
        "highs_solution_value": round(of_columns) if np.isfinite(of_columns) else None,
        "highs_solution_feasible": feasible,
        "highs_bound": bound if np.isfinite(bound) else None,
        "highs_s": seconds,
    }
