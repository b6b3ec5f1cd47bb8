"""Synthetic timelines: reproducible, realistic enough, and solved to the DP optimum."""

from __future__ import annotations

from typer.testing import CliRunner

from planner.cli import app
from planner.plans.result import Status
from planner.problem.calendar import Calendar
from planner.problem.eligibility import window_slews
from planner.schedules.synthetic import synthetic_timeline
from planner.schedules.timeline import load_timeline
from planner.solver import oracle
from planner.solver.chain import Chain
from tests.helpers import solve


def test_same_seed_same_timeline():
    a, b = synthetic_timeline(60, 20, 0.2, seed=3), synthetic_timeline(60, 20, 0.2, seed=3)
    assert a.equals(b)
    assert not a.equals(synthetic_timeline(60, 20, 0.2, seed=4))
    share = a["uses_miri"].mean()
    assert 0.1 < share < 0.3 and 15 < len(a) / 60 < 25


def test_synthetic_year_is_the_exact_lexicographic_optimum():
    """Every objective on a synthetic year: proven, and the DP's plan of the whole order
    (objective, regular, earliest slews)."""
    frame = synthetic_timeline(371, 25, 0.2, seed=0)
    chain = Chain.from_windows(window_slews(frame, Calendar()), 7 * 86_400)
    for objective in ("mean", "regular", "minimax"):
        result = solve(frame, Calendar(), objective=objective)
        assert result.status == Status.OPTIMAL and result.checked
        optimum = oracle.lexicographic(chain, objective)
        assert optimum is not None
        assert [stage.value for stage in result.stages][-2:] == [optimum.regular, optimum.lateness]
        assert result.value == optimum.value


def test_synth_cli(tmp_path):
    out = tmp_path / "s.parquet"
    result = CliRunner().invoke(app, ["synth", "--days", "30", "--seed", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(load_timeline(out)) > 500
    bad = CliRunner().invoke(app, ["synth", "--miri-fraction", "1.5", "--out", str(out)])
    assert bad.exit_code == 2 and "0 <= fraction < 1" in bad.output
