"""The package as users get it: a wheel holds the shipped timeline, and `solve` finds it from any
folder in a fresh environment. Builds with pip's isolated build (setuptools from the configured
index), installs into a venv that sees the site-packages of the environment running the tests for
the dependencies, so nothing else is downloaded."""

from __future__ import annotations

import site
import subprocess
import sys
import sysconfig
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


def outer_site_packages() -> list[str]:
    """The folders the running environment imports its packages from: a virtual environment's own
    (and, when it has them, the system's), or the system interpreter's; the user's too if enabled."""
    folders = [*site.getsitepackages(), sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]
    if site.ENABLE_USER_SITE:
        folders.append(site.getusersitepackages())
    return [f for f in dict.fromkeys(folders) if f in sys.path and Path(f).is_dir()]


def venv_seeing_this_environment(venv: Path) -> Path:
    """A new venv whose interpreter also imports what this one does. `--system-site-packages` would
    not do: run from a virtual environment, it shows the base interpreter's packages, not the
    environment's (typer, ortools, ... would be missing). A .pth file in the new venv's
    site-packages lists this environment's folders instead; they come after the venv's own, so the
    installed wheel is what `import planner` finds (the checkout's editable finder is not loaded:
    .pth files in folders a .pth lists are not read)."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    inner = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(inner) / "outer_environment.pth").write_text("\n".join(outer_site_packages()) + "\n")
    return python


def test_the_inner_environment_imports_what_this_one_does(tmp_path):
    python = venv_seeing_this_environment(tmp_path / "venv")
    done = subprocess.run(
        [str(python), "-c", "import typer, ortools, pyarrow; print(typer.__file__)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    import typer

    assert done.stdout.strip() == typer.__file__  # this environment's copy, not another


def test_solve_runs_from_another_folder_in_a_fresh_environment(wheel, tmp_path):
    venv = tmp_path / "venv"
    python = venv_seeing_this_environment(venv)
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
