"""mkdocs hook: the pages' generated parts, rendered from the code at build time.

A page asks for one with a marker line, `<!-- generated: WHAT -->`:

- `cli`: every command of `planner.cli.app` (usage, help, arguments and options), read through
  click's introspection of the typer app, so the reference is the `--help` of the installed code;
- `schema timeline`, `schema plan`, `schema joint`, `schema decisions`, `schema batch`: the columns
  and Arrow types of the file formats, from the schemas the writers use, with each column's meaning from
  `MEANINGS` below; a column without a meaning, or a meaning for a column the schema no longer has,
  fails the build, so the page cannot drift from the files;
- `api`: a mkdocstrings block for every name `planner/__init__.py` exports.

Nothing generated is committed: a stale copy is impossible by construction.
"""

from __future__ import annotations

import re

import pyarrow as pa
import typer
from mkdocs.exceptions import PluginError

try:  # recent typer vendors click as typer._click (its commands are that click's); older ones use click
    from typer import _click as click
except ImportError:  # pragma: no cover
    import click  # type: ignore[no-redef]

MARKER = re.compile(r"^<!-- generated: ([a-z ]+) -->$", re.MULTILINE)

# What each column holds. The names and types come from the schemas; only the words are here.
MEANINGS: dict[str, dict[str, str]] = {
    "timeline": {
        "visit_id": "`program:visit:observation`, e.g. `3168:3:1` (recurs over time: not a key)",
        "start": "scheduled start, which is the slew time (whole seconds)",
        "duration_s": "scheduled duration in seconds",
        "slew_seconds": "the slew into the visit: seconds from the previous visit's scheduled end to this "
        "start; null when unknown (first visit, missing duration, a gap of over 24 h between reports), "
        "negative for an overlap",
        "visit_type": "e.g. PRIME TARGETED FIXED",
        "instrument": "prime science instrument and mode",
        "target": "as in the report; a multi-target visit joins its targets with `, `",
        "category": "as in the report",
        "keywords": "as in the report (comma-separated)",
        "parallels": "the attached rows (`visit_id` null for coordinated parallels)",
        "uses_miri": "the visit uses MIRI: its prime mode, or an attached row that is not a slew parallel",
        "is_slew": "the visit is PRIME TARGETED FIXED or MOVING: the telescope slews into it",
        "slew_parallel": "mode of an existing slew parallel (one other than `MIRI Anneal` when the visit "
        "has several), or null",
        "source": "the report the row comes from (JSON: the report's file name; text: `file#OP package`)",
    },
    "plan": {
        "anneal": "1..n, in calendar order",
        "label": "`Anneal 01`, ...",
        "window_start": "start of the anneal's window (inclusive)",
        "window_end": "end of the anneal's window (exclusive)",
        "visit_id": "the destination visit of the chosen slew; null for a missing anneal",
        "slew_time": "the destination visit's scheduled start, when the anneal runs; null when missing",
        "instrument": "that visit's prime instrument and mode",
        "target": "that visit's target",
        "interval_days": "days since the previous placed anneal; null for the first",
        "deviation_hours": "interval − m·target, signed, m = the number of weeks apart",
    },
    "joint": {
        "program": "the program's name (its file's `name`)",
        "observation": "1..n within its program: a weekly window, or a campaign",
        "iteration": "1..iterations: the run within its observation (1 for a weekly window)",
        "label": "`Anneal 01` for a weekly window, `<program> 03` for a campaign",
        "window_start": "the observation's window (a weekly window widened if so)",
        "window_end": "its end (exclusive)",
        "visit_id": "the destination visit of the run's slew; null when the observation is not served",
        "slew_time": "that visit's scheduled start, when the run flies; null when not served",
        "instrument": "that visit's prime instrument and mode",
        "target": "that visit's target",
        "preferred_time": "when a campaign run would best fly (`preferred`); null for a weekly window",
        "interval_days": "a weekly program's days since its previous served run; null otherwise",
        "deviation_hours": "interval − m·target, signed (weekly programs)",
    },
    "decisions": {
        "decided_at": "the report whose publication decided the anneal",
        "replans": "how many times a later report made it be decided again",
        "state": "`flown`, `planned`, `missed` or (replay) `unpublished`",
    },
    "batch": {
        "scenario": "the scenario's id: a hash of its settings, with its `name` in front when given",
        "kind": "`solve` or `replay`",
        "timeline": "the timeline path; null for the shipped timeline",
        "sources": "replay: the report files or folders",
        "policy": "replay: the online policy",
        "prior": "replay: what the policy learns from before the reports (a path, `shipped timeline`, "
        "or `none`)",
        "program": "the program planned (a shipped one's name, or a program file's `name`); null: joint",
        "programs": "a joint scenario (`programs` key): the names of the programs co-planned",
        "start": "first window start",
        "count": "number of anneals",
        "window_days": "window length",
        "target_days": "target interval",
        "objective": "`regular`, `mean` or `minimax`",
        "time_limit": "seconds for the whole solve",
        "workers": "CP-SAT workers as asked (each job may use fewer: cores // jobs)",
        "seed": "CP-SAT random seed",
        "min_gap_days": "minimum distance between consecutive anneals",
        "rules": "the rule set's name",
        "miri_recovery_minutes": "the MIRI recovery time applied",
        "allow_missing": "anneals without an eligible slew may be left out (default true)",
        "widen_hours": "windows without an eligible slew widened by this many hours on both sides",
        "perturbation_cancel_fraction": "share of visits cancelled",
        "perturbation_max_delay_hours": "every visit delayed by up to this",
        "perturbation_lost_days": "length of a block of days lost (safe mode) inside the calendar",
        "perturbation_seed": "seed of the perturbation",
        "state": "`solved`, `infeasible`, `unsolved` (no plan within the time limit) or `failed`",
        "skipped": "true when a re-run found the plan already written and checked",
        "status": "the solver's status (OPTIMAL, FEASIBLE); null without a plan",
        "objective_value_s": "the plan's value of the objective named in `objective`, in seconds",
        "observations": "windows (one program) or every program's observations (joint)",
        "served": "observations served (every run placed)",
        "served_by_program": "joint: per program, its `served`, `observations`, runs `placed` and `runs`",
        "stages": "joint: each stage's `name`, `status`, `value` (served: priority left unserved; others "
        "seconds) and `bound`",
        "placed": "anneals placed (joint: runs placed)",
        "missing": "anneals left out (joint: observations not served)",
        "replanned": "replay: anneals decided again after a later report",
        "ratio_to_hindsight": "replay: Σ\\|gap − m·target\\| over the hindsight optimum's",
        "ratio_greedy": "replay: the same for the greedy policy",
        "mean_interval_days": "mean interval between placed anneals",
        "min_interval_days": "shortest interval",
        "max_interval_days": "longest interval",
        "largest_deviation_hours": "largest \\|interval − m·target\\|",
        "build_s": "seconds to read the timeline and build the model",
        "solve_s": "seconds in the solver",
        "total_s": "seconds for the whole scenario",
        "error": "why the scenario failed or is unsolved",
        "plan": "the plan file (replay: its folder), relative to the batch folder",
    },
}


def _schema(name: str) -> list[pa.Field]:
    if name == "timeline":
        from planner.schedules.timeline import SCHEMA

        return list(SCHEMA)
    if name == "plan":
        from planner.plans.result import PLAN_SCHEMA

        return list(PLAN_SCHEMA)
    if name == "joint":
        from planner.plans.joint_result import JOINT_PLAN_SCHEMA

        return list(JOINT_PLAN_SCHEMA)
    if name == "decisions":
        from planner.plans.result import DECISION_FIELDS

        return list(DECISION_FIELDS)
    if name == "batch":
        from planner.batch.summary import SUMMARY_SCHEMA

        return list(SUMMARY_SCHEMA)
    raise PluginError(f"docs: no schema named {name!r}")


def _cell(text: str) -> str:
    """Text that stays in its Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def render_schema(name: str) -> str:
    fields = _schema(name)
    meanings = MEANINGS[name]
    names = [field.name for field in fields]
    undocumented = [n for n in names if n not in meanings]
    stale = [n for n in meanings if n not in names]
    if undocumented or stale:
        raise PluginError(
            f"docs: the {name} schema and docs/hooks.py MEANINGS differ: "
            f"columns without a meaning {undocumented}, meanings of no column {stale}"
        )
    rows = ["| column | Arrow type | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{f.name}` | `{_cell(str(f.type))}` | {meanings[f.name]} |" for f in fields]
    return "\n".join(rows)


def _option_row(param, ctx) -> str:
    argument = param.param_type_name == "argument"  # click's own tag: isinstance needs its classes
    names = ", ".join(f"`{n}`" for n in [*param.opts, *param.secondary_opts])
    if argument:
        names = f"`{param.human_readable_name}`"
    is_flag = getattr(param, "is_flag", False)
    value = "" if is_flag else f"`{_cell(param.make_metavar(ctx))}`"
    if param.multiple and not argument:  # an argument's metavar already ends with "..."
        value += " (repeatable)"
    default = param.default
    if param.required:
        shown = "required"
    elif default is None or default == () or default == [] or callable(default):
        shown = ""
    elif is_flag:
        shown = "on" if default else "off"
    else:
        shown = f"`{_cell(str(default))}`"
    help_text = _cell(getattr(param, "help", None) or "")
    return f"| {names} | {value} | {shown} | {help_text} |"


def _command_section(command, ctx, level: str) -> str:
    usage = " ".join(command.collect_usage_pieces(ctx))
    parts = [
        f"{level} `{ctx.command_path}`",
        "",
        "```text",
        f"{ctx.command_path} {usage}",
        "```",
        "",
    ]
    if command.help:
        # click's `\b` marks a paragraph not to rewrap; Markdown has no use for it
        parts += [command.help.replace("\b\n", "").strip(), ""]
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    if params:
        parts += ["| argument or option | value | default | meaning |", "| --- | --- | --- | --- |"]
        parts += [_option_row(p, ctx) for p in params]
        parts.append("")
    return "\n".join(parts)


def render_cli() -> str:
    from planner.cli import app

    group = typer.main.get_command(app)
    root = click.Context(group, info_name="anneal-planner")
    sections = [_command_section(group, root, "##")]
    for name in group.list_commands(root):  # type: ignore[attr-defined]
        command = group.get_command(root, name)  # type: ignore[attr-defined]
        ctx = click.Context(command, info_name=name, parent=root)
        sections.append(_command_section(command, ctx, "##"))
        if hasattr(command, "list_commands"):  # a sub-app (`programs`): each of its commands as well
            for sub in command.list_commands(ctx):
                inner = command.get_command(ctx, sub)
                sections.append(
                    _command_section(inner, click.Context(inner, info_name=sub, parent=ctx), "##")
                )
    return "\n".join(sections)


def render_api() -> str:
    import planner

    exports = planner._EXPORTS  # the layer map's one list of public names
    blocks = []
    for name in sorted(exports):
        blocks += [f"## `planner.{name}`", "", f"::: {exports[name]}.{name}", "", ""]
    return "\n".join(blocks)


def generate(what: str) -> str:
    kind, _, name = what.partition(" ")
    if kind == "cli":
        return render_cli()
    if kind == "api":
        return render_api()
    if kind == "schema":
        if name not in MEANINGS:
            raise PluginError(f"docs: no schema named {name!r}; known: {sorted(MEANINGS)}")
        return render_schema(name)
    raise PluginError(f"docs: unknown generated part {what!r}")


def on_page_markdown(markdown: str, **_) -> str:
    return MARKER.sub(lambda match: generate(match.group(1).strip()), markdown)
