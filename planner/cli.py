"""The `anneal-planner` command: parses options, calls the library, prints. No logic lives here."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

try:  # recent typer vendors click as typer._click; older ones use click itself
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors  # type: ignore[no-redef]

from planner.errors import InputError, InternalError, OptionError, PlannerError, brief, clip
from planner.online import DEFAULT_POLICY


class _OneLineErrors(TyperGroup):
    """Usage errors (unknown option, bad value) print one line like the tool's own errors, not a box."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_errors.NoArgsIsHelpError as err:
            err.show()  # the help text itself
            sys.exit(err.exit_code)
        except click_errors.ClickException as err:
            hint = ""
            if isinstance(err, click_errors.UsageError) and err.ctx is not None:
                hint = f" (see '{err.ctx.command_path} --help')"
            message = " ".join(err.format_message().split())  # one line, whatever the message holds
            _print_error(f"{message}{hint}")
            sys.exit(err.exit_code)
        except typer.Abort:
            _print_error("interrupted")
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


def _print_error(message: str, *, one_line: bool = True) -> None:
    """`error: message` on stderr, one line (a list of infeasible windows keeps its lines); nothing
    in the message is read as markup."""
    from planner.views.terminal import errors, styled

    text = " ".join(message.split()) if one_line else message
    errors.print(styled(("error:", "bold red"), " ", clip(text)))


def output_file(text: str | Path) -> Path:
    """An output file's path as given: one ending in a separator names a folder, which Path() would
    silently turn into a file of that name."""
    if isinstance(text, str) and text.endswith(("/", os.sep)):
        raise typer.BadParameter(f"{text}: ends with a path separator; expected a file name, not a folder")
    return Path(text)


app = typer.Typer(
    cls=_OneLineErrors,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # plain help: typer's rich help formatter imports markdown and pygments, a third of `--help`
    rich_markup_mode=None,
    help="Place JWST MIRI anneals on the slews of the real observing schedule.",
    # -h as well as --help, on every command (a child context inherits its parent's help names)
    context_settings={"help_option_names": ["-h", "--help"]},
)

TimelineOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--timeline",
        "-t",
        help="Canonical timeline Parquet, or raw report files/folders "
        "(repeatable). Default: the shipped timeline.",
    ),
]
PlanTimelineOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--timeline",
        "-t",
        help="Canonical timeline Parquet, or raw report files/folders (repeatable). Default: the "
        "timeline the plan was made from (its sha256 checked).",
    ),
]


def one_program(values: list[str] | None) -> str | None:
    """The one `--program` of a command that plans or reads one program (typer collects repeats)."""
    if values and len(values) > 1:
        raise OptionError(
            f"--program given {len(values)} times: this command takes one program; 'solve' co-plans several"
        )
    return values[0] if values else None


def _program_flag(words: str):
    """`--program NAME|FILE`, as every command that takes a program spells it, with its help."""
    return typer.Option("--program", metavar="NAME|FILE", help=words)


ProgramOption = Annotated[
    list[str] | None,
    _program_flag(
        "The calibration program: a shipped one (anneals-cycle1 .. anneals-cycle5, seed-4485) or a "
        "program .toml file. Default: the shipped MIRI anneal series of the cycle the timeline covers."
    ),
]
SolveProgramOption = Annotated[
    list[str] | None,
    _program_flag(
        "The calibration program: a shipped one (anneals-cycle1 .. anneals-cycle5, seed-4485) or a "
        "program .toml file. Repeat it, or name a folder of program files, to co-plan several programs "
        "on one set of slews (a joint plan; campaign programs from 'programs infer' too). Default: the "
        "shipped MIRI anneal series of the cycle the timeline covers."
    ),
]
CheckProgramOption = Annotated[
    list[str] | None,
    _program_flag(
        "Check as a plan of this program (its mode, avoided instruments, minimum slew and recovery; the "
        "plan's own calendar and objective) instead of the one the plan records."
    ),
]
CompareProgramOption = Annotated[
    list[str] | None,
    _program_flag("Compare with the runs flown of this program's mode instead of the plan's own program's."),
]
Start = Annotated[
    str | None, typer.Option(help="First window start, UTC date or time. Default: the program's.")
]
Count = Annotated[int | None, typer.Option(help="Number of anneals. Default: the program's.")]
WindowDays = Annotated[float | None, typer.Option(help="Window length in days. Default: the program's (4).")]
TargetDays = Annotated[
    float | None, typer.Option(help="Target interval in days. Default: the program's (7).")
]
Recovery = Annotated[
    float | None,
    typer.Option(
        "--miri-recovery-minutes",
        help="Exclude slews followed by use of the avoided instrument (MIRI for the anneals) within "
        "this many minutes. Default: the rule set's (operations: the program's, 35 for the anneals; "
        "seed 0).",
    ),
]
Rules = Annotated[
    str,
    typer.Option(
        "--rules",
        metavar="[operations|seed|FILE]",
        help="Which slews may carry an anneal: operations (the seed's rules, no time-series "
        "destinations, a slew at least the program's minimum long (27.5 min for the anneals), the "
        "program's recovery (35 min)), seed (the program's rules alone), or a rules .toml file.",
    ),
]


def rule_set(rules: str, miri_recovery_minutes: float | None, program=None):
    """The rule set named on the command line, applied to `program` (default: the MIRI anneals),
    with its recovery time overridden when given."""
    from planner.problem.rules import load_rules

    return load_rules(rules, program).with_recovery(miri_recovery_minutes)


def choose_program(
    program,
    frame,
    *,
    start: str | None = None,
    count: int | None = None,
    window_days: float | None = None,
    target_days: float | None = None,
    objective: str | None = None,
    latest: bool = False,
):
    """The program `--program` names (or a Program), else the shipped anneal series of the cycle the timeline
    `frame` covers (said in one line on stderr once the command has run), with the calendar
    options given overriding its own."""
    from planner.problem.calendar import to_seconds
    from planner.problem.program import load_program, pick_program

    if program is not None:
        chosen = load_program(program)
        chosen.require_weekly()
    else:
        chosen, line = pick_program(to_seconds(frame["start"]), latest=latest)
        _NOTES.append(line)
    return chosen.with_calendar(
        start=start, count=count, window_days=window_days, target_days=target_days, objective=objective
    )


Json = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON document on stdout (what the tables show), nothing else."),
]


def _print_version(value: bool) -> None:
    if value:
        from planner import __version__

        typer.echo(f"anneal-planner {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Place JWST MIRI anneals on the slews of the real observing schedule."""


_ONE_COMMAND = False  # set by main(): this process runs one command, then exits


def main() -> None:
    """Run one command and exit: called by `planner.__main__.run` (the console script and
    `python -m planner`), which has already made SIGTERM exit 143."""
    global _ONE_COMMAND
    _ONE_COMMAND = True
    app(prog_name="anneal-planner")


def _load_libraries() -> None:
    """Import pandas and pyarrow with the garbage collector paused, then freeze what exists.

    Their imports create about a million long-lived objects; left to the collector, its passes over
    them (and over them again during every later import and the solve) cost 0.1 s of a 0.6 s start.
    Only in a process that runs one command and exits (`main`, the console script): freezing would
    keep a longer-lived caller's garbage for good."""
    if not _ONE_COMMAND or "pandas" in sys.modules:
        return
    import gc

    gc.disable()
    try:
        import pandas  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    finally:
        gc.enable()
    gc.freeze()


# Lines about what a command chose for the user (the program it picked), printed on stderr once the
# command has run: bad input must stay one line.
_NOTES: list[str] = []


def _print_notes(show: bool = True) -> None:
    from planner.views.terminal import errors

    for note in _NOTES if show else ():
        errors.print(note)  # the console prints no markup and no highlights, and soft-wraps
    _NOTES.clear()


def friendly(command):
    """Turn every failure into one message line and an exit code, never a traceback: the project's
    errors (2 bad input, 1 no plan), Ctrl-C (130), SIGTERM (143) and anything unexpected (3, a bug
    to report)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from planner.io import environment_error
        from planner.signals import sigterm_as_interrupt, stop_words, terminated

        _NOTES.clear()
        notes = not kwargs.get("as_json")  # a --json document says the same in its own fields
        try:
            with sigterm_as_interrupt():
                _load_libraries()
                done = command(*args, **kwargs)
            _print_notes(notes)
            return done
        except PlannerError as err:
            _print_error(str(err), one_line=err.exit_code != 1)
            if err.exit_code == 1:  # a run that began: what it ran on still matters
                _print_notes(notes)
            raise typer.Exit(err.exit_code) from None
        except typer.Exit as done:
            if done.exit_code in (0, 1):
                _print_notes(notes)
            raise
        except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (Terminated)
            what, code = stop_words(stop)
            _print_error(f"{what}; no output file was written")
            raise typer.Exit(code) from None
        except (typer.Abort, click_errors.ClickException):
            raise
        except Exception as err:
            if terminated():  # SIGTERM that a library turned into its own error (an ImportError)
                _print_error("terminated; no output file was written")
                raise typer.Exit(143) from None
            if isinstance(err, OSError) and (mapped := environment_error(err)) is not None:
                # a full disk, a locked folder: the user's environment, named in one line, not a bug
                _print_error(str(mapped))
                raise typer.Exit(mapped.exit_code) from None
            # a bug: one line that asks for a report, still no traceback
            _print_error(str(InternalError(f"{type(err).__name__}: {brief(err, 500)}")))
            raise typer.Exit(InternalError.exit_code) from None

    return wrapper


@app.command()
@friendly
def ingest(
    sources: Annotated[list[Path], typer.Argument(help="STScI text / DJA JSON reports or folders.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Timeline Parquet to write.", parser=output_file)],
    history: Annotated[
        bool,
        typer.Option(
            "--history",
            help="Write the whole issue history instead (every row of every report, in issue order), "
            "which 'replay' reads.",
        ),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="DATE",
            help="Write the schedule as published on this UTC date or time: the reports issued by then, "
            "each superseding what it covers of the earlier ones (as 'replay' knows it then).",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="Keep only the visits that start before this UTC date or time: what has flown by then "
            "(a first --flown for 'next').",
        ),
    ] = None,
) -> None:
    """Read weekly schedule reports into one canonical slew timeline (Parquet)."""
    from planner.io import check_output
    from planner.problem.calendar import format_instant, parse_instant
    from planner.schedules.history import History
    from planner.schedules.timeline import read_schedules, started_before, write_timeline
    from planner.views.console import console, progress

    published = None if as_of is None else parse_instant(as_of, option="--as-of")
    before = None if until is None else parse_instant(until, option="--until")
    if history and (published is not None or before is not None):
        raise OptionError("--history writes every report; --as-of and --until cut a timeline: give one")
    if published is not None and before is not None and before > published:
        raise OptionError(
            f"--until {format_instant(before)} is after --as-of {format_instant(published)}: what was "
            "published then had not all flown by then; expected --until at or before --as-of"
        )
    check_output(out, "--out", sources)
    if history:
        with progress("reading reports"):
            read = History.read(sources)
            read.write(out)
        console.print(
            f"{len(read.rows)} rows of {len(read.issues)} reports in issue order, {len(read.final())} "
            f"in the final timeline -> {out}"
        )
        return
    with progress("reading reports"):
        if published is None and before is None:
            frame = read_schedules(sources)
        else:  # a cut: the reports' issue order is needed
            read = History.read(sources)
            frame = read.final() if published is None else read.as_of(published)
            frame = frame if before is None else started_before(frame, before)
        write_timeline(frame, out)
    files = frame.attrs["sources"]
    console.print(
        f"{len(frame)} prime visits from {len(files)} file{'s' * (len(files) != 1)}, "
        f"{frame['start'].min():%Y-%m-%dT%H:%M:%SZ} .. {frame['start'].max():%Y-%m-%dT%H:%M:%SZ} -> {out}"
    )


@app.command()
@friendly
def timeline(
    path: Annotated[
        list[Path] | None, typer.Argument(help="Timeline or raw reports; default shipped.")
    ] = None,
    programs: ProgramOption = None,
    start: Start = None,
    count: Count = None,
    window_days: WindowDays = None,
    target_days: TargetDays = None,
    rules: Rules = "operations",
    miri_recovery_minutes: Recovery = None,
    as_json: Json = False,
) -> None:
    """Summarise a timeline: visit counts and eligible slews per anneal window, counted by rule."""
    program = one_program(programs)
    from planner.problem.coverage import summarize
    from planner.schedules.timeline import DEFAULT_TIMELINE, load_timeline
    from planner.views.console import print_json, print_timeline, progress, timeline_document

    with progress("reading the timeline"):
        frame = load_timeline(path or None)
    chosen = choose_program(
        program, frame, start=start, count=count, window_days=window_days, target_days=target_days
    )
    with progress("counting eligible slews"):
        summary = summarize(frame, chosen.calendar, rule_set(rules, miri_recovery_minutes, chosen))
    name = " ".join(str(p) for p in path) if path else DEFAULT_TIMELINE.name
    if as_json:
        print_json(timeline_document(summary, name))
    else:
        print_timeline(summary, name)


@app.command()
@friendly
def solve(
    timeline: TimelineOption = None,
    program: SolveProgramOption = None,
    start: Start = None,
    count: Count = None,
    window_days: WindowDays = None,
    target_days: TargetDays = None,
    objective: Annotated[
        str | None,
        typer.Option(
            metavar="[regular|mean|minimax]", help="The objective. Default: the program's (regular)."
        ),
    ] = None,
    time_limit: Annotated[
        float, typer.Option(help="Seconds for the whole solve, building the model included.")
    ] = 60.0,
    workers: Annotated[int, typer.Option(help="CP-SAT search workers.")] = 1,
    seed: Annotated[int, typer.Option(help="CP-SAT random seed.")] = 0,
    prune: Annotated[
        str, typer.Option(metavar="[dp|none]", help="dp: drop pairs no optimal plan uses; none: keep all.")
    ] = "dp",
    min_gap_days: Annotated[float, typer.Option(help="Least days between anneals.")] = 0.0,
    rules: Rules = "operations",
    miri_recovery_minutes: Recovery = None,
    allow_missing: Annotated[
        bool,
        typer.Option(
            "--allow-missing/--require-all",
            help="Leave out the observations whose window has no eligible slew, saying why and which "
            "slews are nearest (the default); --require-all: no plan then (exit 1).",
        ),
    ] = True,
    widen_hours: Annotated[
        float,
        typer.Option(
            help="Widen each window that has no eligible slew (co-planning: none free of another "
            "program's run) by this many hours on both sides."
        ),
    ] = 0.0,
    fail_on_missing: Annotated[
        bool,
        typer.Option(help="Exit 1 when an observation is missing, after writing the plan."),
    ] = False,
    pin: Annotated[
        Path | None, typer.Option(help="Earlier plan whose anneals before --pin-until stay.")
    ] = None,
    pin_until: Annotated[
        str | None, typer.Option(help="Keep the --pin plan's anneals before this UTC time.")
    ] = None,
    fix: Annotated[
        list[str] | None, typer.Option(help="Fix one anneal, e.g. 'Anneal 05=1234:5:1' (repeatable).")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Plan Parquet to write.", parser=output_file)
    ] = Path("plan.parquet"),
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress and no table: the summary line.")
    ] = False,
    as_json: Json = False,
    param: Annotated[
        list[str] | None,
        typer.Option(help="CP-SAT parameter key=value, e.g. linearization_level=1 (repeatable)."),
    ] = None,
    log: Annotated[bool, typer.Option(help="Show CP-SAT's search log.")] = False,
    table: Annotated[bool, typer.Option(help="Every anneal, not only a long plan's worst weeks.")] = False,
) -> None:
    """Place every anneal on an eligible slew, prove the plan optimal, check it, write it.

    With several programs (--program repeated, or a folder of program files) they are co-planned on
    one set of slews: every observation served first (by priority), then the weekly programs'
    regularity, then the campaign runs' displacement from their preferred times."""
    from rich.text import Text

    from planner.io import check_output
    from planner.plans.compare import plan_deviation
    from planner.problem.instance import Instance
    from planner.problem.pins import parse_fix, read_pin_plan
    from planner.problem.program import load_program
    from planner.problem.settings import SolverSettings, parse_param
    from planner.schedules.timeline import DEFAULT_TIMELINE, load_timeline
    from planner.solver.solve import solve as run
    from planner.views.console import console, headline, print_json, print_result, progress, result_document

    if (pin is None) != (pin_until is None):
        raise OptionError("--pin and --pin-until go together: the plan to keep and the time to keep it until")
    check_output(out, "--out", [*(timeline or [DEFAULT_TIMELINE]), *([pin] if pin else [])])
    settings = SolverSettings(
        time_limit=time_limit,
        workers=workers,
        seed=seed,
        prune=prune,
        params=tuple(parse_param(text) for text in param or []),
        log=log,
    )
    # A folder or several programs are co-planned; one program file is read once, here.
    first = load_program(program[0]) if program and not Path(program[0]).is_dir() else None
    if program and (len(program) > 1 or first is None or first.campaigns):
        one_program_only = {
            "--start": start, "--count": count, "--window-days": window_days, "--target-days": target_days,
            "--objective": objective, "--pin": pin, "--fix": fix,
            "--miri-recovery-minutes": miri_recovery_minutes, "--min-gap-days": min_gap_days or None,
            "--prune none": None if prune == "dp" else prune,
        }  # fmt: skip
        given = [name for name, value in one_program_only.items() if value is not None]
        if given:
            raise OptionError(
                f"{given[0]}: an option of a one-program plan; a joint plan takes its calendars, objectives "
                "and recoveries from the program files (edit them)"
            )
        _solve_joint(
            [first or program[0], *program[1:]], timeline, rules, widen_hours, allow_missing,
            fail_on_missing, out, quiet, as_json, settings,
        )  # fmt: skip
        return
    pins = (read_pin_plan(pin, pin_until) if pin is not None and pin_until is not None else []) + [
        parse_fix(t) for t in fix or []
    ]
    with progress("reading the timeline", quiet=quiet):
        frame = load_timeline(timeline or None)
    chosen = choose_program(
        first,
        frame,
        start=start,
        count=count,
        window_days=window_days,
        target_days=target_days,
        objective=objective,
    )
    calendar = chosen.calendar
    instance = Instance(
        timeline=frame,
        program=chosen,
        rules=rule_set(rules, miri_recovery_minutes, chosen),
        pins=tuple(pins),
        min_gap_days=min_gap_days,
        allow_missing=allow_missing,
        widen_hours=widen_hours,
    )
    with progress("solving", quiet=quiet) as show:
        result = run(instance, settings, on_progress=show)
    written = str(out) if result.status.has_plan else None
    if result.status.has_plan:
        result.to_parquet(out)
    if as_json:
        print_json(result_document(result, written, plan_deviation(result.plan, calendar)))
    elif quiet:
        console.print(Text.from_markup(headline(result, written=written, one_line=True)), soft_wrap=True)
    else:
        print_result(result, written, table=table)
    if not result.status.has_plan:
        raise typer.Exit(1)
    if fail_on_missing and result.missing:
        raise typer.Exit(1)


def _solve_joint(programs, timeline, rules, widen_hours, allow_missing, fail_on_missing, out, quiet, as_json,
                 settings) -> None:  # fmt: skip
    """`solve` with several programs: co-plan them, check the plan, write it, print it."""
    from planner.problem.joint import JointInstance, load_programs
    from planner.schedules.timeline import load_timeline
    from planner.solver.joint import require_served, solve_joint
    from planner.views.console import progress
    from planner.views.joint_view import print_joint

    with progress("reading the timeline and the programs", quiet=quiet):
        frame = load_timeline(timeline or None)
        instance = JointInstance(
            timeline=frame, programs=load_programs(programs), rules=rules, widen_hours=widen_hours
        )
    with progress("co-planning", quiet=quiet) as show:
        result = solve_joint(instance, settings, on_progress=show)
    if not allow_missing:
        require_served(result, "--require-all")
    result.to_parquet(out)
    print_joint(result, str(out), as_json=as_json, quiet=quiet)
    if fail_on_missing and result.unserved:
        raise typer.Exit(1)


@app.command()
@friendly
def check(
    plan: Annotated[Path, typer.Argument(help="Plan Parquet written by 'solve'.")],
    timeline: PlanTimelineOption = None,
    rules: Annotated[
        str | None,
        typer.Option(
            metavar="[operations|seed|FILE]",
            help="Check under this rule set (operations, seed or a rules TOML file) instead of the one "
            "the plan records, e.g. whether a seed plan follows the operational rules.",
        ),
    ] = None,
    programs: CheckProgramOption = None,
    as_json: Json = False,
) -> None:
    """Check a plan independently against the timeline and its calendar; exit 1 on violations."""
    program = one_program(programs)
    from planner.plans.checker import check_plan_file
    from planner.plans.compare import plan_deviation, seconds_and_days
    from planner.plans.joint_file import is_joint_plan
    from planner.views.console import console, print_flown_notes, print_json, progress, styled

    if is_joint_plan(plan):
        if rules is not None or program is not None:
            raise OptionError(
                "--rules and --program check a one-program plan; a joint plan is checked as made"
            )
        _check_joint(plan, timeline, as_json)
        return
    with progress(f"checking {plan}"):
        problems, notes, opened = check_plan_file(plan, timeline or None, rules, program)
    table = opened.plan
    checked = opened.instance.rule_set
    placed = int(table["slew_time"].notna().sum())
    deviation = plan_deviation(table, opened.calendar)
    if as_json:
        print_json(
            {"plan": str(plan), "valid": not problems, "violations": [str(p) for p in problems],
             "broken": [{"anneal": p.anneal, "rule": p.rule, "detail": p.detail} for p in problems],
             "notes": [str(n) for n in notes], "program": opened.program.name,
             "placed": placed, "count": len(table), "rules": checked.name,
             "legacy_rules": opened.legacy_rules, **deviation}
        )  # fmt: skip
        if problems:
            raise typer.Exit(1)
        return
    if opened.legacy_rules:
        console.print(
            f"{plan} was made before rule sets and records none: checked under the seed's rules "
            f"(recovery {checked.miri_recovery_minutes:g} min)"
        )
    print_flown_notes(notes)
    for problem in problems:
        console.print(styled(("x", "red"), f" {problem}"))
    if problems:
        console.print(styled((f"{len(problems)} violations", "bold red"), f" in {plan}"))
        raise typer.Exit(1)
    console.print(
        styled(
            ("ok", "green"),
            f": {placed} of {len(table)} anneals placed in {plan}; the plan satisfies "
            f"every rule of rule set {checked.name!r} and the stated objective",
        )
    )
    if placed > 1:
        total = seconds_and_days(deviation["sum_abs_deviation_s"])
        console.print(
            f"Σ |interval - m·{opened.calendar.target_days:g} d| = {total}; "
            f"worst deviation {deviation['largest_deviation_hours']:.2f} h"
        )


def _check_joint(path: Path, timeline, as_json: bool) -> None:
    """`check` of a joint plan: every program, observation and rule; exit 1 on violations."""
    import dataclasses

    from planner.plans.joint_file import check_joint_file, open_joint_plan
    from planner.views.console import console, print_json, progress, styled

    with progress(f"checking {path}"):
        opened = open_joint_plan(path, timeline or None)
        problems = check_joint_file(opened)
    plan = opened.plan
    placed = int(plan["slew_time"].notna().sum())
    if as_json:
        print_json(
            {"plan": str(path), "valid": not problems, "violations": [str(p) for p in problems],
             "broken": [dataclasses.asdict(p) for p in problems],
             "programs": [p.name for p in opened.instance.programs], "placed": placed, "runs": len(plan)}
        )  # fmt: skip
    else:
        for problem in problems:
            console.print(styled(("x", "red"), f" {problem}"))
        if problems:
            console.print(styled((f"{len(problems)} violations", "bold red"), f" in {path}"))
        else:
            console.print(
                styled(
                    ("ok", "green"),
                    f": {placed} of {len(plan)} runs of {len(opened.instance.programs)} programs placed in "
                    f"{path}; the joint plan satisfies every program's rules, one slew parallel per slew, "
                    "and the values it states",
                )
            )
    if problems:
        raise typer.Exit(1)


@app.command()
@friendly
def destinations(
    path: Annotated[
        list[Path] | None, typer.Argument(help="Timeline or raw reports; default shipped.")
    ] = None,
    rules: Rules = "operations",
    miri_recovery_minutes: Recovery = None,
    as_json: Json = False,
) -> None:
    """Per destination prime mode: slews, eligible under the rules, excluding rules, slew parallels flown."""
    from planner.problem.destinations import destinations as table
    from planner.schedules.timeline import load_timeline
    from planner.views.console import print_destinations

    chosen = rule_set(rules, miri_recovery_minutes)
    print_destinations(table(load_timeline(path or None), chosen), chosen, as_json=as_json)


Since = Annotated[
    str | None, typer.Option("--from", help="Only visits starting at or after this UTC date or time.")
]
Until = Annotated[
    str | None, typer.Option("--until", help="Only visits starting before this UTC date or time.")
]


def _period(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    """--from and --until in seconds (None: no bound)."""
    from planner.problem.calendar import parse_instant

    first = parse_instant(since, option="--from") if since is not None else None
    last = parse_instant(until, option="--until") if until is not None else None
    return first, last


@app.command()
@friendly
def slews(
    path: Annotated[
        list[Path] | None, typer.Argument(help="Timeline or raw reports; default shipped.")
    ] = None,
    since: Since = None,
    until: Until = None,
    minimum_minutes: Annotated[
        float | None,
        typer.Option(help="The slew length counted below and at least. Default: the MIRI anneals' (27.5)."),
    ] = None,
    as_json: Json = False,
) -> None:
    """Slew durations, the evidence for a slew-time rule: per slew-parallel mode that flew (MIRI
    Anneal, NIRSpec Internal Lamp, NIRISS Internal Flat), the slews it flew on (count, unknown,
    overlaps, shortest, 10th percentile, median, how many below --minimum-minutes), beside all slews
    into targeted visits (and the share at least that long). One cycle: e.g. --from 2023-07-03
    --until 2024-07-01."""
    from planner import limits
    from planner.problem.calendar import format_instant
    from planner.problem.slewtime import anneal_minimum_minutes, slew_time_table, within
    from planner.schedules.timeline import load_timeline
    from planner.views.console import print_slews

    if minimum_minutes is None:
        minimum_minutes = anneal_minimum_minutes()
    limits.number("--minimum-minutes", minimum_minutes, 0, limits.MAX_DAYS * 1440)
    first, last = _period(since, until)
    period = {"from": format_instant(first) if first is not None else None}
    period["until"] = format_instant(last) if last is not None else None
    table = slew_time_table(within(load_timeline(path or None), first, last), minimum_minutes)
    print_slews(table, period, minimum_minutes, as_json=as_json)


Policy = Annotated[
    str,
    typer.Option(
        metavar="[guarded|rollout|lookahead|greedy]",
        help="Online policy: guarded (default; rollout trusting its scenarios as far as the cycle's own "
        "agreeing weeks allow: greedy when they are few, the cycle's first anneal mid-window), rollout "
        "(scenarios of consecutive published weeks, each chain solved exactly), lookahead (a "
        "cost-to-go learned from the published weeks) or greedy.",
    ),
]


HorizonWeeks = Annotated[
    int | None,
    typer.Option(
        help="guarded, rollout, lookahead: unpublished weeks the scenarios (guarded, rollout: 4) or the "
        "cost-to-go (lookahead: 8) look ahead."
    ),
]
SampleWeeks = Annotated[
    int | None,
    typer.Option(
        help="guarded, rollout, lookahead: most recent published weeks it learns from, the prior's "
        "included (26)."
    ),
]
FutureWeight = Annotated[
    float | None,
    typer.Option(
        help="guarded, rollout, lookahead: weight of what it learned beside the intervals known, 0 (none) "
        "to 1 (guarded: the greatest weight its evidence allows, default 1; rollout, lookahead: 0.5)."
    ),
]

PriorPath = Annotated[
    str | None,  # not Path: typer makes "" the current folder
    typer.Option(
        "--prior",
        metavar="<path>",
        help="guarded, rollout, lookahead: a timeline or reports to learn from first, its weeks that end "
        "before the planned schedule begins (default: the shipped timeline, Cycles 1-2).",
    ),
]
NoPrior = Annotated[
    bool,
    typer.Option(
        "--no-prior", help="guarded, rollout, lookahead: learn only from the planned schedule's own weeks."
    ),
]


def _prior(path: str | None, disabled: bool, rules, policy):
    """The prior `--prior`/`--no-prior` ask for; none read for a policy that learns nothing."""
    from planner.online.policies import LEARNING
    from planner.online.prior import NO_PRIOR, load_prior

    if disabled and path is not None:
        raise OptionError("--prior and --no-prior: expected one of them, not both")
    if policy.sample_weeks is None and path is not None:
        raise OptionError(
            f"--prior is the learning policies' ({LEARNING}), not {policy.name}'s: it learns nothing"
        )
    return NO_PRIOR if disabled or policy.sample_weeks is None else load_prior(path, rules)


@app.command()
@friendly
def replay(
    sources: Annotated[list[Path], typer.Argument(help="STScI text / DJA JSON reports or folders, any mix.")],
    programs: ProgramOption = None,
    start: Start = None,
    count: Count = None,
    window_days: WindowDays = None,
    target_days: TargetDays = None,
    rules: Rules = "operations",
    miri_recovery_minutes: Recovery = None,
    policy: Policy = DEFAULT_POLICY,
    horizon_weeks: HorizonWeeks = None,
    sample_weeks: SampleWeeks = None,
    future_weight: FutureWeight = None,
    prior: PriorPath = None,
    no_prior: NoPrior = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for replay.parquet.")] = None,
    as_json: Json = False,
) -> None:
    """Replay the reports in issue order, planning week by week on what was published at each point."""
    program = one_program(programs)
    from planner.online.outcome import run_replay, write_replay
    from planner.online.policies import make_policy
    from planner.schedules.history import History
    from planner.views.console import print_replay, progress

    if out is not None:
        from planner.io import check_output

        check_output(out, "--out", [*sources, *([Path(prior)] if prior else [])], folder=True)
    with progress("reading the reports"):  # a cycle's reports and the prior take seconds
        history = History.read(sources)
    chosen = choose_program(
        program, history.final(), start=start, count=count, window_days=window_days, target_days=target_days
    )
    chosen_policy = make_policy(policy, horizon_weeks, sample_weeks, future_weight)
    chosen_rules = rule_set(rules, miri_recovery_minutes, chosen)
    with progress("learning from the prior"):
        learned = _prior(prior, no_prior, chosen_rules, chosen_policy)
    with progress("replaying") as show:
        run = run_replay(
            history, chosen.calendar, chosen_policy, chosen_rules, prior=learned, on_progress=show
        )
    written = write_replay(run, out) if out is not None else None
    print_replay(run, written, as_json=as_json)


@app.command("next")
@friendly
def next_week(
    flown: Annotated[
        Path,
        typer.Option(help="What has flown: a plan file (all its placed anneals) or a timeline / reports."),
    ],
    timeline: TimelineOption = None,
    horizon: Annotated[
        float | None,
        typer.Option(help="Plan only windows ending within this many days of the last flown anneal."),
    ] = None,
    programs: ProgramOption = None,
    start: Start = None,
    count: Count = None,
    window_days: WindowDays = None,
    target_days: TargetDays = None,
    rules: Rules = "operations",
    miri_recovery_minutes: Recovery = None,
    policy: Policy = DEFAULT_POLICY,
    horizon_weeks: HorizonWeeks = None,
    sample_weeks: SampleWeeks = None,
    future_weight: FutureWeight = None,
    prior: PriorPath = None,
    no_prior: NoPrior = False,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Plan Parquet to write.", parser=output_file)
    ] = Path("next.parquet"),
    fetch_first: Annotated[
        bool,
        typer.Option(
            "--fetch",
            help="First run 'fetch' (the cycle of today's date, its settings from the environment), "
            "then plan on the cache folder as --timeline.",
        ),
    ] = False,
    as_json: Json = False,
) -> None:
    """The weekly job: choose the anneals of the published windows that have none yet."""
    program = one_program(programs)
    from planner.io import check_output
    from planner.online.policies import make_policy
    from planner.online.weekly import (
        continued_program,
        flown_from_plan,
        flown_from_timeline,
        plan_next,
        write_weekly,
    )
    from planner.schedules.timeline import DEFAULT_TIMELINE, load_timeline
    from planner.views.console import print_next

    if horizon is not None and not 0 < horizon <= 366:
        raise OptionError(f"--horizon {horizon}: expected days from 0 to 366")
    if fetch_first:
        timeline = _fetch_for_next(timeline, quiet=as_json)
    check_output(out, "--out", [flown, *(timeline or [DEFAULT_TIMELINE]), *([Path(prior)] if prior else [])])
    current = load_timeline(timeline or None)
    flown_plan = continued_program(flown) if _is_plan(flown) else None
    # Last week's plan names the program it was made for: the weekly job goes on with it.
    given = program if program is not None or flown_plan is None else flown_plan[1]
    chosen = choose_program(
        given,
        current,
        start=start,
        count=count,
        window_days=window_days,
        target_days=target_days,
        latest=True,
    )
    if flown_plan is not None:
        done = flown_from_plan(flown_plan[0])
    else:
        try:
            flown_timeline = load_timeline([flown])
        except InputError as err:
            what = f"{err.what}; --flown takes a plan or a timeline"
            raise InputError(err.file, what, line=err.line, index=err.index) from None
        done = flown_from_timeline(flown_timeline, chosen)
    chosen_policy = make_policy(policy, horizon_weeks, sample_weeks, future_weight)
    chosen_rules = rule_set(rules, miri_recovery_minutes, chosen)
    learned = _prior(prior, no_prior, chosen_rules, chosen_policy)
    plan = plan_next(current, done, chosen, chosen_policy, chosen_rules, horizon, learned)
    from planner.plans.diff import comparable, diff_plans

    # What this week's plan changed of last week's; a last week's plan of another calendar (as
    # --start can ask for) has no anneal-by-anneal changes to show, and is not an error.
    changes_from_last = flown_plan is not None and comparable(flown_plan[1], chosen)
    write_weekly(plan, out, current)
    changes = diff_plans(flown, out, timeline=current) if changes_from_last else None
    print_next(plan, str(out), as_json=as_json, diff=changes)


def _fetch_for_next(timeline: list[Path] | None, *, quiet: bool) -> list[Path]:
    """`next --fetch`: fetch the cycle of today's date into the cache, which becomes --timeline.
    Files that could not be fetched are said in one line each; the cache plans all the same."""
    from planner.schedules import fetch as fetching

    if timeline:
        raise OptionError("--fetch and --timeline: --fetch plans on the fetched reports; give one of them")
    folder = fetching.default_cache()
    settings = fetching.Settings.from_environment()
    with fetching.progress_bar(not quiet) as show:
        done = fetching.fetch(folder, fetching.choose_period(None, None, None), settings, on_progress=show)
    _NOTES.extend(f"refused {line}" for line in done.refused)
    _NOTES.append(
        f"fetched {done.period.described}: {len(done.new)} new, {len(done.changed)} changed, "
        f"{len(done.unchanged)} unchanged -> {folder}"
    )
    return list(fetching.cached_sources(folder))


def _is_plan(path: Path) -> bool:
    """A Parquet file whose metadata says it is a plan (a joint one is refused as such later).
    Anything else, unreadable files included, is read as a timeline, whose reader names what is
    wrong with it."""
    from planner.plans.joint_result import JOINT_KIND
    from planner.plans.planfile import plan_kind

    return plan_kind(path) in ("plan", JOINT_KIND)


@app.command()
@friendly
def synth(
    days: Annotated[float, typer.Option(help="Length of the timeline in days.")] = 371.0,
    slews_per_day: Annotated[float, typer.Option(help="Mean prime visits per day.")] = 25.0,
    miri_fraction: Annotated[float, typer.Option(help="Share of visits that use MIRI.")] = 0.2,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same timeline).")] = 0,
    start: Annotated[str, typer.Option(help="First day of the timeline, UTC date or time.")] = "2023-07-03",
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Timeline Parquet to write.", parser=output_file)
    ] = Path("synthetic.parquet"),
    calibrations: Annotated[
        bool,
        typer.Option(
            help="Fly five slew-parallel programs (weekly anneals, lamp campaigns, flat bursts) on "
            "slews their rules allow, among NIRSpec, NIRISS and time-series visits ('programs infer' "
            "recovers them)."
        ),
    ] = False,
) -> None:
    """Write a synthetic canonical timeline with realistic structure."""
    from planner.io import check_output
    from planner.schedules.synthetic import synthetic_timeline
    from planner.schedules.timeline import write_timeline
    from planner.views.console import console

    check_output(out)
    frame = synthetic_timeline(days, slews_per_day, miri_fraction, seed, start, calibrations)
    write_timeline(frame, out)
    console.print(f"{len(frame)} synthetic visits, {frame['start'].min()} .. {frame['start'].max()} -> {out}")


PlanArgument = Annotated[Path, typer.Argument(help="Plan Parquet written by 'solve'.")]


@app.command()
@friendly
def compare(
    plan: PlanArgument,
    timeline: PlanTimelineOption = None,
    programs: CompareProgramOption = None,
    as_json: Json = False,
) -> None:
    """Show the plan beside the anneals actually flown in the timeline (a joint plan: each program
    beside its own runs flown)."""
    program = one_program(programs)
    from planner.plans.compare import compare as run
    from planner.plans.joint_file import is_joint_plan
    from planner.plans.result import open_plan
    from planner.problem.program import load_program
    from planner.views.console import comparison_document, print_comparison, print_json, progress

    if is_joint_plan(plan):
        if program is not None:
            raise OptionError(
                "--program compares a one-program plan; a joint plan compares each of its programs"
            )
        _compare_joint(plan, timeline, as_json)
        return
    mode = load_program(program).mode if program is not None else None
    with progress(f"comparing {plan}"):
        opened = open_plan(plan, timeline or None)
        comparison = run(opened.plan, opened.timeline, opened.calendar, mode or opened.program.mode)
    if as_json:
        print_json(comparison_document(comparison, str(plan)))
    else:
        print_comparison(comparison, opened.calendar)


def _compare_joint(path: Path, timeline, as_json: bool) -> None:
    from planner.plans.joint_compare import compare_joint
    from planner.plans.joint_file import open_joint_plan
    from planner.views.console import progress
    from planner.views.joint_view import print_joint_comparison

    with progress(f"comparing {path}"):
        opened = open_joint_plan(path, timeline or None)
        comparisons = compare_joint(opened.plan, opened.instance.timeline, opened.instance.programs)
    print_joint_comparison(comparisons, str(path), as_json=as_json)


@app.command()
@friendly
def plot(
    plan: PlanArgument,
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="File to write: .png (200 dpi, for slides), .pdf or .svg.", parser=output_file
        ),
    ] = Path("plan.png"),
    timeline: PlanTimelineOption = None,
    weeks: Annotated[str | None, typer.Option(help="Only calendar weeks A-B, e.g. 10-14.")] = None,
) -> None:
    """Draw the cycle: windows, MIRI use, eligible slews, planned and flown anneals, intervals."""
    from planner.io import check_output
    from planner.plans.result import open_plan
    from planner.views.console import console, progress
    from planner.views.plot import parse_weeks, plot_format, write_plot

    check_output(out, "--out", [plan, *(timeline or [])])
    plot_format(out)  # a suffix it cannot write is refused before the plan is read
    with progress(f"drawing {out}"):
        opened = open_plan(plan, timeline or None)
        write_plot(opened, out, parse_weeks(weeks, opened.calendar.count) if weeks else None)
    console.print(f"plot written to {out}")


@app.command()
@friendly
def report(
    plan: PlanArgument,
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.", parser=output_file)] = Path(
        "report.html"
    ),
    timeline: PlanTimelineOption = None,
    tolerance_hours: Annotated[
        float, typer.Option(help="Band drawn around the target interval, ± hours.")
    ] = 24.0,
) -> None:
    """Write the interactive report: one self-contained HTML page that works offline (a joint plan:
    one lane per program, a table per program)."""
    from planner import limits
    from planner.io import check_output
    from planner.plans.joint_file import is_joint_plan
    from planner.plans.result import open_plan
    from planner.views.console import console, progress
    from planner.views.page import write_report

    limits.number("--tolerance-hours", tolerance_hours, 0, limits.MAX_DELAY_HOURS)
    check_output(out, "--out", [plan, *(timeline or [])])
    with progress(f"rendering {out}"):
        if is_joint_plan(plan):  # --tolerance-hours draws a weekly band the lanes do not have
            from planner.plans.joint_file import open_joint_plan
            from planner.views.joint_page import write_joint_report

            write_joint_report(open_joint_plan(plan, timeline or None), out, f"Joint plan: {plan.name}")
        elif plan.is_dir():  # a replay folder: the replayed plan and each week's decision
            from planner.online.outcome import open_replay

            opened, frame, summary = open_replay(plan)
            title = f"MIRI anneals replayed week by week: {plan.name}"
            write_report(opened, out, title=title, tolerance_hours=tolerance_hours, replay=(frame, summary))
        else:
            opened = open_plan(plan, timeline or None)
            title = f"MIRI anneal plan: {plan.name}"
            write_report(opened, out, title=title, tolerance_hours=tolerance_hours)
    console.print(f"report written to {out}")


@app.command()
@friendly
def batch(
    scenarios_file: Annotated[
        Path, typer.Argument(metavar="SCENARIOS.toml", help="Scenarios (base + list or grid).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for plans/ and summary.parquet.")],
    jobs: Annotated[int, typer.Option(help="Local processes (CP-SAT workers per job: cores // jobs).")] = 2,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786.")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar or table: one line per scenario.")] = False,
) -> None:
    """Solve every scenario of a file; resumable; exit 1 if any scenario failed."""
    from planner import limits
    from planner.batch.run import run_batch
    from planner.batch.scenarios import read_scenarios
    from planner.batch.summary import FAILED_STATES
    from planner.io import check_output
    from planner.signals import stop_words
    from planner.views.batch_table import BatchProgress, print_batch

    limits.number("--jobs", jobs, 1, limits.MAX_JOBS, integer=True)
    check_output(out, "--out", [scenarios_file], folder=True)
    scenarios = read_scenarios(scenarios_file)
    progress = BatchProgress(len(scenarios), quiet=quiet)
    try:
        with progress:  # friendly() already turns SIGTERM into an interruption
            summary = run_batch(
                scenarios,
                out,
                jobs=jobs,
                scheduler=scheduler,
                on_done=progress.advance,
                scenarios_file=scenarios_file,
            )
    except KeyboardInterrupt as stop:
        from planner.views.terminal import errors

        what, code = stop_words(stop)
        written = out / "summary.parquet"
        where = (
            f"the summary of those is in {written}; "
            if progress.done and written.is_file()
            else "nothing was written; "
        )
        errors.print(
            f"{what} after {progress.done} of "
            f"{len(scenarios)} scenarios; {where}run the same command again to finish",
        )
        raise typer.Exit(code) from None
    print_batch(summary, out, quiet=quiet)
    failed = int(summary["state"].isin(FAILED_STATES).sum())
    if failed:
        from planner.views.terminal import errors, styled

        errors.print(
            styled(
                (f"{failed} of {len(summary)} scenarios failed", "bold red"),
                f" (reasons in {out}/summary.parquet)",
            )
        )
        raise typer.Exit(1)


def _url_option(option: str, env: str, what: str):
    return typer.Option(option, envvar=env, metavar="URL", help=f"{what}.")


from planner import schedules as _fetching  # noqa: E402 (constants only: the defaults shown in --help)

StsciUrl = Annotated[
    str, _url_option("--stsci-url", _fetching.ENV_STSCI_URL, "The STScI page that links the .txt reports")
]
DjaIndexUrl = Annotated[
    str,
    _url_option(
        "--dja-index-url",
        _fetching.ENV_DJA_INDEX_URL,
        "The listing of a DJA cycle folder ({cycle}: its number)",
    ),
]
DjaUrl = Annotated[
    str, _url_option("--dja-url", _fetching.ENV_DJA_FILES_URL, "Where the DJA .json files are ({cycle} too)")
]


@app.command()
@friendly
def fetch(
    cycle: Annotated[int | None, typer.Option(help="Fetch this cycle's weeks (1-5).")] = None,
    since: Annotated[
        str | None, typer.Option("--from", help="Fetch the weeks starting at or after this UTC date.")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="...and before this UTC date.")] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Cache folder. Default: $ANNEAL_PLANNER_CACHE, else the user's cache folder "
            "(e.g. ~/.cache/anneal-planner/reports).",
        ),
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option(metavar="[stsci|dja]", help="Only this source (repeatable). Default: both."),
    ] = None,
    stsci_url: StsciUrl = _fetching.STSCI_URL,
    dja_index_url: DjaIndexUrl = _fetching.DJA_INDEX_URL,
    dja_url: DjaUrl = _fetching.DJA_FILES_URL,
    timeout: Annotated[float, typer.Option(help="Seconds to connect and between bytes of an answer.")] = 30.0,
    retries: Annotated[int, typer.Option(help="Connection attempts again after one fails.")] = 3,
    as_json: Json = False,
) -> None:
    """Download the weekly reports STScI publishes and DJA's JSON copies, new or changed ones only,
    into a cache folder that --timeline, ingest and replay read. Neither --cycle nor --from/--until:
    the cycle of today's date."""
    from planner.io import check_output
    from planner.schedules import fetch as fetching  # the module itself: its defaults are imported above
    from planner.views.console import console, print_json

    folder = out if out is not None else fetching.default_cache()
    check_output(folder, "--out", folder=True)
    settings = fetching.Settings(
        stsci_url=stsci_url,
        dja_index_url=dja_index_url,
        dja_files_url=dja_url,
        timeout=timeout,
        retries=retries,
        sources=tuple(source) if source else fetching.SOURCES,
    ).check()
    period = fetching.choose_period(cycle, since, until)
    with fetching.progress_bar(not as_json) as show:
        done = fetching.fetch(folder, period, settings, on_progress=show)
    if as_json:
        print_json(done.to_dict())
    else:
        for line in done.refused:
            _print_error(f"refused {line}")
        console.print(
            f"{period.described}: {len(done.new)} new, {len(done.changed)} changed, {len(done.unchanged)} "
            f"unchanged, {len(done.refused)} refused -> {folder}"
        )
    if done.refused:  # listed above; the exit code tells a weekly job the fetch was incomplete
        raise typer.Exit(2)


@app.command()
@friendly
def diff(
    old: Annotated[Path, typer.Argument(help="The earlier plan (e.g. last week's 'next' output).")],
    new: Annotated[Path, typer.Argument(help="The newer plan.")],
    timeline: Annotated[
        list[Path] | None,
        typer.Option(
            "--timeline", "-t", help="The newer plan's timeline, if not the one it records (vanished slews)."
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """What changed between two plans: anneals moved, dropped, added, with the slews, the change in
    deviation and the reason the newer plan records (a week it cannot serve, the policy's choice, a
    pin, a slew the newer schedule no longer has)."""
    from planner.plans.diff import diff_plans
    from planner.views.console import print_diff

    print_diff(diff_plans(old, new, timeline or None), as_json=as_json)


@app.command()
@friendly
def export(
    plan: PlanArgument,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="File to write: .csv (a spreadsheet) or .ics (a calendar).",
            parser=output_file,
        ),
    ],
) -> None:
    """Export a plan as CSV or iCalendar: one row or event per planned slew parallel, with its window
    and the visit it slews to."""
    from planner.io import check_output
    from planner.plans.export import export_format, export_plan
    from planner.views.console import console

    check_output(out, "--out", [plan])
    export_format(out)  # a wrong suffix is refused before anything is read
    written = export_plan(plan, out)
    console.print(f"{written} anneals written to {out}")


programs_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Program files: infer them from the slew parallels a timeline flew.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(programs_app, name="programs")


@programs_app.command("infer")
@friendly
def programs_infer(
    timeline: Annotated[
        list[Path],
        typer.Argument(
            metavar="TIMELINE...", help="Timeline Parquet, or raw report files/folders.", show_default=False
        ),
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Folder to write the program files into: new or empty."),
    ],
    freedom: Annotated[
        float,
        typer.Option(
            "--freedom",
            metavar="HOURS",
            help="Each campaign's window: its flown runs, this many hours earlier and later.",
        ),
    ] = 24.0,
    since: Since = None,
    until: Until = None,
) -> None:
    """Write one campaign program file per slew-parallel program that flew in the timeline: its runs,
    grouped into campaigns (runs less than 24 h apart), each in a window of its flown times +- the
    freedom. Files are named <mode>-<program id>.toml. One cycle of a longer timeline: e.g.
    --from 2023-07-03 --until 2024-07-01."""
    from planner import limits
    from planner.io import check_output
    from planner.problem.calendar import format_instant
    from planner.problem.infer import MAX_FREEDOM_HOURS, infer_programs, write_programs
    from planner.problem.slewtime import within
    from planner.schedules.timeline import load_timeline
    from planner.views.console import console, progress

    limits.number("--freedom", freedom, 0, MAX_FREEDOM_HOURS, low_open=True)
    first, last = _period(since, until)
    check_output(out, "--out", timeline, folder=True)
    if out.is_dir() and any(out.iterdir()):
        raise OptionError(f"--out {out}: the folder holds files; expected an empty or new folder")
    with progress("reading the timeline"):
        frame = within(load_timeline(timeline), first, last)
    inferred = infer_programs(frame, freedom)
    source = " ".join(str(p) for p in timeline)
    source += f" from {format_instant(first)}" if first is not None else ""
    source += f" until {format_instant(last)}" if last is not None else ""
    if not inferred:
        raise OptionError(f"{source}: no slew-parallel run flew in this timeline; no program file written")
    for path, one in zip(write_programs(inferred, out, source, freedom), inferred, strict=True):
        console.print(f"{path}: {one.describe()}", soft_wrap=True, markup=False, highlight=False)
