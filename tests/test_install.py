"""The package as users get it: a wheel holds the shipped timeline, and `solve` finds it from any
folder in a fresh environment (issue 11). Builds with pip's isolated build (setuptools from the
configured index), installs into a venv that sees this interpreter's site-packages for the
dependencies, so nothing else is downloaded."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot build a wheel here (no build backend to install?): {done.stderr[-300:]}")
    (built,) = out.glob("anneal_planner-*.whl")
    return built


def test_the_wheel_holds_the_shipped_timeline_and_rule_sets(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "planner/data/jwst_timeline.parquet" in names
    assert {"planner/problem/rulesets/operations.toml", "planner/problem/rulesets/seed.toml"} <= names
    shipped = ROOT / "planner" / "data" / "jwst_timeline.parquet"
    assert zipfile.ZipFile(wheel).read("planner/data/jwst_timeline.parquet") == shipped.read_bytes()


def test_solve_runs_from_another_folder_in_a_fresh_environment(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = venv / "bin" / "anneal-planner"
    done = subprocess.run(
        [str(script), "solve", "--count", "3", "--out", "p.parquet"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "OPTIMAL: 3/3 anneals placed" in done.stdout
    where = subprocess.run(
        [str(python), "-c", "import planner.schedules.timeline as t; print(t.DEFAULT_TIMELINE)"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(venv) in where and str(ROOT) not in where  # the installed copy, not the checkout
    checked = subprocess.run(
        [str(script), "check", "p.parquet"], cwd=elsewhere, capture_output=True, text=True, timeout=300
    )
    assert checked.returncode == 0, checked.stderr
