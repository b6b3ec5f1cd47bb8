"""Smoke test of the benchmark runner on its smallest instance (speed itself is not tested)."""

from __future__ import annotations

from benchmarks.runner import main


def test_runner_on_the_smallest_instance(tmp_path, capsys):
    out = tmp_path / "r.parquet"
    main(["--instances", "small", "--objectives", "regular", "--repeats", "1", "--out", str(out)])
    import pandas as pd

    table = pd.read_parquet(out)
    assert table.loc[0, "status"] == "OPTIMAL" and table.loc[0, "matches_dp"]
    assert table.loc[0, "value"] == table.loc[0, "dp_value"] == table.loc[0, "highs_value"]
    assert {"commit", "cpu", "ortools", "highspy", "peak_mib", "solver_s", "highs_s"} <= set(table.columns)
    assert out.with_suffix(".png").stat().st_size > 1000
