"""The documentation: the site builds strictly, its tutorial and examples run, and it cites only what
the repository holds.

Pages mark what the tests run: a `console` or `bash` block on the line after `<!-- test: run -->`
(a console block's `$ ` lines are the commands), and every `python` block of the README and of a page
holding `<!-- test: python -->`."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = sorted(DOCS.glob("*.md"))
SET_UP = ['python -m pip install -e ".[dev]" && anneal-planner solve', "python -m pytest"]

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
RUN_MARK = "<!-- test: run -->"
PYTHON_MARK = "<!-- test: python -->"


def fenced(text: str) -> list[tuple[str, str, bool]]:
    """(language, body, marked to run) of every fenced block."""
    blocks = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        blocks.append((match.group(1), match.group(2), before.strip() == RUN_MARK))
    return blocks


def shell_script(language: str, body: str) -> str:
    """The commands of a block: a bash block whole, a console block's `$ ` lines (with their `\\`
    continuations)."""
    if language == "bash":
        return body
    assert language == "console", f"a block marked to run must be console or bash, not {language!r}"
    commands, continuing = [], False
    for line in body.splitlines():
        if line.startswith("$ ") or continuing:
            commands.append(line[2:] if line.startswith("$ ") else line)
            continuing = line.endswith("\\")
    return "\n".join(commands)


def _with_data(folder: Path) -> Path:
    """A fresh working folder that sees the repository's data/ (the examples read data/raw/...)."""
    (folder / "data").symlink_to(ROOT / "data", target_is_directory=True)
    return folder


def _run_pages() -> list[Path]:
    return [page for page in PAGES if any(marked for _, _, marked in fenced(page.read_text()))]


def test_the_tutorial_marks_its_commands_to_run():
    marked = [block for block in fenced((DOCS / "tutorial.md").read_text()) if block[2]]
    assert len(marked) >= 7, "the tutorial's command blocks lost their <!-- test: run --> marks"
    assert all(shell_script(language, body).strip() for language, body, _ in marked)


@pytest.mark.parametrize("page", _run_pages(), ids=lambda page: page.name)
def test_every_marked_command_exits_0(page, tmp_path):
    """Through the CLI as a user types it (`anneal-planner` is this interpreter's `-m planner`), in one
    folder per page, so a later block uses what an earlier one wrote."""
    folder = _with_data(tmp_path)
    prelude = f'set -euo pipefail\nanneal-planner() {{ "{sys.executable}" -m planner "$@"; }}\n'
    env = {**os.environ, "COLUMNS": "120"}
    for language, body, marked in fenced(page.read_text()):
        if not marked:
            continue
        script = shell_script(language, body)
        done = subprocess.run(
            ["bash", "-c", prelude + script],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (
            f"{page.name}: exit {done.returncode} from\n{script}\n{done.stderr[-2000:]}"
        )


def _python_blocks() -> list[tuple[str, str]]:
    blocks = [(README.name, body) for language, body, _ in fenced(README.read_text()) if language == "python"]
    for page in PAGES:
        text = page.read_text()
        if PYTHON_MARK in text.splitlines():
            blocks += [(page.name, body) for language, body, _ in fenced(text) if language == "python"]
    return blocks


def test_every_python_example_runs_twice_in_one_process(tmp_path, monkeypatch):
    """Twice: what the first run caches (the lazy exports of `planner`) must serve the second."""
    blocks = _python_blocks()
    assert any(name == README.name for name, _ in blocks), "the README lost its Python example"
    assert any(name == "api.md" for name, _ in blocks), "docs/api.md lost its runnable mark"
    monkeypatch.chdir(_with_data(tmp_path))
    for run in (1, 2):
        for name, body in blocks:
            exec(compile(body, f"<{name} python block, run {run}>", "exec"), {"__name__": "__docs__"})
    import planner

    assert inspect.isfunction(planner.solve) and planner.solve.__module__ == "planner.solver.solve"
    plan, meta = planner.read_plan("plan.parquet")  # the example's plan
    # Cycle 2 under operations: the slew-time rule leaves Anneals 04, 07 and 13 without an eligible
    # slew (listed as missing); every other anneal has its slew.
    assert meta["missing"] == [4, 7, 13]
    served = ~plan["anneal"].isin(meta["missing"])
    assert plan.loc[served, "slew_time"].notna().all() and plan.loc[~served, "slew_time"].isna().all()


def test_the_site_builds_strictly(tmp_path):
    """`mkdocs build --strict`: a broken link, anchor or include, a page missing from the nav, or a
    schema column without its meaning in docs/hooks.py fails it."""
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    cli = (site / "cli" / "index.html").read_text()
    for command in ("solve", "next", "replay", "check", "batch", "ingest"):
        assert f"anneal-planner {command}" in cli
    assert "--miri-recovery-minutes" in cli
    formats = (site / "formats" / "index.html").read_text()
    assert "superseded_at" in formats and "perturbation_lost_days" in formats and "decided_at" in formats
    api = (site / "api" / "index.html").read_text()
    assert "Place every observation of" in api  # planner.solve's docstring, rendered by mkdocstrings
    assert "What the planner plans is data" in (site / "programs" / "index.html").read_text()


def _hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generated_references_follow_the_code():
    hooks = _hooks()
    from planner.batch.summary import SUMMARY_SCHEMA
    from planner.cli import app
    from planner.plans.result import PLAN_SCHEMA
    from planner.schedules.timeline import SCHEMA

    for name, schema in (("timeline", SCHEMA), ("plan", PLAN_SCHEMA), ("batch", SUMMARY_SCHEMA)):
        table = hooks.generate(f"schema {name}")
        assert [f"| `{column}` |" in table for column in schema.names] == [True] * len(schema.names)
    cli = hooks.generate("cli")
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        assert f"## `anneal-planner {name}`" in cli
    import planner

    assert hooks.generate("api").count(":::") == len(planner.__all__)


def test_a_column_without_its_meaning_fails_the_build(monkeypatch):
    hooks = _hooks()
    plan = dict(hooks.MEANINGS["plan"])
    del plan["slew_time"]
    monkeypatch.setitem(hooks.MEANINGS, "plan", plan | {"gone": "a column the schema no longer has"})
    with pytest.raises(
        hooks.PluginError, match=r"without a meaning \['slew_time'\].*of no column \['gone'\]"
    ):
        hooks.generate("schema plan")
    with pytest.raises(hooks.PluginError, match="unknown generated part"):
        hooks.generate("nothing")


def test_the_readme_is_short_and_keeps_the_two_set_up_commands():
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    lines = text.splitlines()
    assert lines[lines.index(SET_UP[0]) + 1] == SET_UP[1]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert [line for line in ci if line in SET_UP] == SET_UP  # CI runs exactly what the README says


PATH = re.compile(r"`((?:planner|tests|benchmarks|data|docs|\.ci)/[\w./*-]*)")
DOTTED = re.compile(r"`(planner(?:\.\w+)+)")
LINK = re.compile(r"\]\(([^)#:]+)(?:#[^)]*)?\)")  # relative Markdown links: [text](path)
ISSUE = re.compile(r"(?i)\bissues?\s+#?\d+|(?<![\w&/])#\d+\b")  # the project's issues are not in it
MARKDOWN_CITED = re.compile(r"\b([\w./-]*[A-Za-z_]\.md)\b")


def _documents() -> list[Path]:
    return [README, *PAGES, ROOT / "data" / "README.md", ROOT / "benchmarks" / "README.md"]


def test_the_docs_cite_only_what_the_repository_holds():
    missing = []
    for document in _documents():
        text = document.read_text()
        for path in PATH.findall(text):
            path = path.rstrip(".")
            if not (list(ROOT.glob(path)) if "*" in path else (ROOT / path).exists()):
                missing.append(f"{document.name}: {path}")
        for dotted in DOTTED.findall(text):
            if not _resolves(dotted):
                missing.append(f"{document.name}: {dotted}")
        for link in LINK.findall(text) if document == README else []:
            if not (ROOT / link).exists():
                missing.append(f"{document.name}: link to {link}")
        for issue in [*ISSUE.findall(text), *re.findall(r"DOMAIN\.md", text)]:
            missing.append(f"{document.name}: cites {issue!r}, which the repository does not hold")
    assert missing == []


def _resolves(dotted: str) -> bool:
    """`planner.a.b.Name.attr`: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def test_the_code_cites_only_documents_the_repository_holds():
    """Comments and docstrings cite Markdown files (docs/domain.md, benchmarks/README.md): each must be
    there, found from the top folder."""
    missing = []
    for source in [*ROOT.glob("planner/**/*.py"), *ROOT.glob("benchmarks/*.py"), *ROOT.glob("tests/**/*.py")]:
        for cited in MARKDOWN_CITED.findall(source.read_text()):
            if cited.endswith("README.md") and "/" not in cited:
                continue  # the top README
            if not any((folder / cited).exists() for folder in (ROOT, DOCS, source.parent)):
                missing.append(f"{source.relative_to(ROOT)}: {cited}")
    assert missing == []
