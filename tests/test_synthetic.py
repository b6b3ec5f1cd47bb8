"""Synthetic timelines: reproducible, realistic enough, and solved to the DP optimum."""

from __future__ import annotations

from typer.testing import CliRunner

from planner import oracle
from planner.calendar import Calendar
from planner.chain import Chain
from planner.cli import app
from planner.eligibility import window_slews
from planner.options import SolveOptions
from planner.result import Status
from planner.solve import solve
from planner.synthetic import synthetic_timeline
from planner.timeline import load_timeline


def test_same_seed_same_timeline():
    a, b = synthetic_timeline(60, 20, 0.2, seed=3), synthetic_timeline(60, 20, 0.2, seed=3)
    assert a.equals(b)
    assert not a.equals(synthetic_timeline(60, 20, 0.2, seed=4))
    share = a["uses_miri"].mean()
    assert 0.1 < share < 0.3 and 15 < len(a) / 60 < 25


def test_mean_on_a_synthetic_year_is_optimal():
    """Regression: CP-SAT 9.15's presolve called this feasible node model INFEASIBLE when the
    ordering was written as linear constraints on time sums (planner/model.py)."""
    frame = synthetic_timeline(371, 25, 0.2, seed=0)
    for objective in ("mean", "regular", "minimax"):
        result = solve(frame, Calendar(), SolveOptions(objective=objective))
        assert result.status == Status.OPTIMAL and result.checked
        if objective != "mean":
            chain = Chain.from_windows(window_slews(frame, Calendar()), 7 * 86_400)
            assert result.value == oracle.lexicographic(chain, objective)[0].cost


def test_synth_cli(tmp_path):
    out = tmp_path / "s.parquet"
    result = CliRunner().invoke(app, ["synth", "--days", "30", "--seed", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(load_timeline(out)) > 500
    bad = CliRunner().invoke(app, ["synth", "--miri-fraction", "1.5", "--out", str(out)])
    assert bad.exit_code == 2 and "0 <= fraction < 1" in bad.output
