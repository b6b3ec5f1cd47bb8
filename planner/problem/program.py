"""Calibration programs as data: what flies as a slew parallel, on which slews, and when.

A program file (TOML) describes one slew-parallel calibration in the vocabulary of the JWST special
requirement `PARALLEL [n ITERATIONS] [WITH sep MINIMUM SEPARATION] SLEW-ONLY`:

    name = "anneals-cycle3"                 # how it is named on the command line and in plans
    title = "MIRI detector anneals, Cycle 3"
    programs = [1520]                       # the program id(s) that fly it
    cycle = 3                               # the JWST cycle its calendar belongs to (optional)
    mode = "MIRI Anneal"                    # the slew-parallel mode it flies as
    avoid_instruments = ["MIRI"]            # no slew into a visit that uses these
    duration_minutes = 25                   # how long one run lasts
    recovery_minutes = 35                   # the avoided instruments' next use at least this long after
    min_slew_minutes = 27.5                 # the least slew that holds one run (slew-time rule)

    [observations]                          # a weekly series of windows
    start = "2024-07-01"                    # the first window opens (UTC)
    count = 52
    window_days = 4
    target_days = 7                         # the interval the objective aims at
    objective = "regular"                   # regular | mean | minimax

or, instead of `[observations]`, a **campaign** program: `[[campaigns]]` tables, each one observation
of `iterations` runs at least `min_separation_hours` apart inside a window (UTC times):

    [[campaigns]]
    start = "2023-07-10T06:00:00Z"
    end = "2023-07-12T06:00:00Z"
    iterations = 3
    min_separation_hours = 4.5

Campaign programs are planned together with other programs (`planner.problem.joint`, `solve
--program A --program B`); the one-program planners (an `Instance`, `replay`, `next`) refuse them
(`require_weekly`).

The shipped programs (`planner/problem/programs/*.toml`, read by the same code as a user's file) are
the seed (4485, the Cycle 2 anneal plan as the user gave it) and the MIRI anneal series of Cycles 1-5
as flown by program 1520. `pick_program` chooses the shipped anneal series whose cycle a timeline
covers. A rule set (`planner.problem.rules`) says which operational rules apply on top; its
recovery, unless it sets one, is the program's.
"""

from __future__ import annotations

import datetime
import difflib
import functools
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from planner import limits
from planner.errors import InputError, OptionError, kind_of, shown
from planner.problem.calendar import Calendar, format_instant, parse_instant
from planner.schedules.report import KNOWN_SLEW_PARALLEL_MODES

OBJECTIVES = ("regular", "mean", "minimax")
# Instruments a program may avoid: the prefixes of JWST's science modes (docs/domain.md: a visit uses an
# instrument when its prime mode, or an attached row other than a slew parallel, starts with it).
INSTRUMENTS = ("MIRI", "NIRCam", "NIRSpec", "NIRISS", "FGS")
SEED = "seed-4485"
MAX_PROGRAM_BYTES = 100_000  # a program file is a few hundred bytes
TOP_KEYS = (
    "name",
    "title",
    "programs",
    "cycle",
    "mode",
    "avoid_instruments",
    "duration_minutes",
    "recovery_minutes",
    "min_slew_minutes",
    "priority",
    "observations",
    "campaigns",
)
OBSERVATION_KEYS = ("start", "count", "window_days", "target_days", "objective")
CAMPAIGN_KEYS = ("start", "end", "iterations", "min_separation_hours", "preferred")
MAX_ITERATIONS = 100  # runs in one campaign (the special requirement's n ITERATIONS)
MAX_CAMPAIGNS = 1_000  # a cycle's lamp programs hold a few dozen
MAX_PRIORITY = 1_000
NOT_PLANNED = (
    "this command plans one weekly series; campaign programs are co-planned by 'solve' (--program "
    "repeated, or a folder of program files)"
)


@dataclass(frozen=True, slots=True)
class Campaign:
    """One observation of a campaign program: `iterations` runs, consecutive ones at least
    `min_separation_hours` apart, all inside the window `start` .. `end` (seconds since the epoch)."""

    start: int
    end: int
    iterations: int = 1
    min_separation_hours: float = 0.0
    # When each run would best fly (seconds, one per iteration; `programs infer` writes the flown
    # times). Empty: runs spaced by the separation about the window's middle (`preferred_times`).
    preferred: tuple[int, ...] = ()

    @property
    def separation_seconds(self) -> int:
        return round(self.min_separation_hours * 3600)

    def preferred_times(self) -> tuple[int, ...]:
        """The run times a co-planned plan is displaced from (planner.solver.joint's last stage)."""
        if self.preferred:
            return self.preferred
        middle = (self.start + self.end) // 2
        first = middle - (self.iterations - 1) * self.separation_seconds // 2
        return tuple(first + r * self.separation_seconds for r in range(self.iterations))

    def to_dict(self) -> dict:
        return {
            "start": format_instant(self.start),
            "end": format_instant(self.end),
            "iterations": self.iterations,
            "min_separation_hours": self.min_separation_hours,
        } | ({"preferred": [format_instant(t) for t in self.preferred]} if self.preferred else {})


@dataclass(frozen=True, slots=True, kw_only=True)
class Program:
    """One slew-parallel calibration program and its calendar of observations (windows)."""

    name: str
    title: str = ""
    program_ids: tuple[int, ...] = ()
    cycle: int | None = None
    mode: str = "MIRI Anneal"
    avoid: tuple[str, ...] = ("MIRI",)
    duration_minutes: float = 25.0
    recovery_minutes: float = 35.0
    min_slew_minutes: float = 27.5  # the least slew that holds one run (the slew-time rule)
    # How much one served observation weighs when co-planned programs compete for slews (the joint
    # plan's first stage maximises the served observations' total priority).
    priority: int = 1
    calendar: Calendar = field(default_factory=Calendar)  # a weekly series (unused by a campaign program)
    objective: str = "regular"
    campaigns: tuple[Campaign, ...] = ()  # a campaign program's observations; empty for a weekly series

    def __post_init__(self) -> None:
        if not isinstance(self.objective, str) or self.objective not in OBJECTIVES:
            raise OptionError(f"objective {self.objective!r}: expected one of {', '.join(OBJECTIVES)}")
        if not isinstance(self.campaigns, tuple) or not all(isinstance(c, Campaign) for c in self.campaigns):
            raise OptionError(f"campaigns {self.campaigns!r}: expected a tuple of Campaign")

    @property
    def span(self) -> tuple[int, int]:
        """The seconds its observations may take: from its campaigns' first start to their last
        end, or from its calendar's first window's start to its last window's end."""
        if self.campaigns:
            return min(c.start for c in self.campaigns), max(c.end for c in self.campaigns)
        return self.calendar.start, self.calendar.windows[-1].end

    def require_weekly(self, option: str = "--program") -> None:
        """OptionError (exit 2, one line) unless the program is a weekly series: only those are planned."""
        if self.campaigns:
            raise OptionError(f"{option} {self.name}: a campaign program; {NOT_PLANNED}")

    def with_calendar(
        self,
        *,
        start: str | None = None,
        count: int | None = None,
        window_days: float | None = None,
        target_days: float | None = None,
        objective: str | None = None,
    ) -> Program:
        """The program with the given calendar values (and objective) overriding its own."""
        given = {"count": count, "window_days": window_days, "target_days": target_days}
        changes: dict = {k: v for k, v in given.items() if v is not None}
        if start is not None:
            changes["start"] = parse_instant(start)
        program = replace(self, calendar=replace(self.calendar, **changes)) if changes else self
        return replace(program, objective=objective) if objective is not None else program

    def describe(self) -> str:
        c = self.calendar
        if self.campaigns:
            ids = ", ".join(map(str, self.program_ids)) or "no program id"
            runs = sum(k.iterations for k in self.campaigns)
            plural = "s" * (len(self.campaigns) != 1)
            return (
                f"{self.name} ({self.mode}, {ids}: {len(self.campaigns)} campaign{plural}, {runs} runs, from "
                f"{format_instant(self.campaigns[0].start)[:10]})"
            )
        ids = ", ".join(map(str, self.program_ids)) or "no program id"
        return (
            f"{self.name} ({self.mode}, {ids}: {c.count} windows of {c.window_days:g} d every "
            f"{c.target_days:g} d from {format_instant(c.start)[:10]})"
        )

    def to_dict(self) -> dict:
        """The program in full, as a plan records it and `from_dict` reads it back."""
        return (
            {
                "name": self.name,
                "title": self.title,
                "programs": list(self.program_ids),
                "cycle": self.cycle,
                "mode": self.mode,
                "avoid_instruments": list(self.avoid),
                "duration_minutes": self.duration_minutes,
                "recovery_minutes": self.recovery_minutes,
                "min_slew_minutes": self.min_slew_minutes,
            }
            | ({"priority": self.priority} if self.priority != 1 else {})
            | (
                {"campaigns": [c.to_dict() for c in self.campaigns]}
                if self.campaigns
                else {"observations": self.calendar.to_dict() | {"objective": self.objective}}
            )
        )

    @classmethod
    def from_dict(cls, data: object, where: str = "program") -> Program:
        """A program from its recorded or file form (untrusted): OptionError names the key."""
        if not isinstance(data, dict):
            raise OptionError(f"{where}: expected a table, got {kind_of(data)}")
        return _parse(data, where)


def _parse(data: dict, where: str) -> Program:
    for key in data:
        if key not in TOP_KEYS:
            raise OptionError(f"{where}: unknown key {key!r}; accepted: {', '.join(TOP_KEYS)}")
    name = _text(data.get("name"), f"{where}: name")
    ids = data.get("programs", [])
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 < i < 100_000 for i in ids
    ):
        raise OptionError(f"{where}: programs = {ids!r}; expected a list of program ids such as [1520]")
    cycle = data.get("cycle")
    if cycle is not None:
        limits.number(f"{where}: cycle", cycle, 1, 99, integer=True)
    # What flies and what it avoids have no default: a lamp program that forgot them must not be
    # planned as the MIRI anneals.
    for key in ("mode", "avoid_instruments"):
        if key not in data:
            raise OptionError(f"{where}: {key} missing; expected it in every program file")
    mode = _known(_text(data["mode"], f"{where}: mode"), KNOWN_SLEW_PARALLEL_MODES, where)
    avoid = data["avoid_instruments"]
    if not isinstance(avoid, list):
        raise OptionError(f'{where}: avoid_instruments = {avoid!r}; expected a list such as ["MIRI"]')
    avoid = [_known(_text(a, f"{where}: avoid_instruments"), INSTRUMENTS, where) for a in avoid]
    duration = limits.number(f"{where}: duration_minutes", data.get("duration_minutes", 0.0), 0, 1440)
    recovery = limits.number(f"{where}: recovery_minutes", data.get("recovery_minutes", 0.0), 0, 10_080)
    min_slew = limits.number(f"{where}: min_slew_minutes", data.get("min_slew_minutes", 0.0), 0, 1440)
    priority = limits.number(f"{where}: priority", data.get("priority", 1), 1, MAX_PRIORITY, integer=True)
    common: dict[str, Any] = {
        "name": name,
        "title": _text(data.get("title", ""), f"{where}: title", empty=True),
        "program_ids": tuple(ids),
        "cycle": cycle,
        "mode": mode,
        "avoid": tuple(avoid),
        "duration_minutes": float(duration),
        "recovery_minutes": float(recovery),
        "min_slew_minutes": float(min_slew),
        "priority": priority,
    }
    if "campaigns" in data:
        if "observations" in data:
            raise OptionError(
                f"{where}: both [observations] and [[campaigns]]; a program is either a weekly series "
                "([observations]) or campaigns ([[campaigns]]), never both"
            )
        return Program(**common, campaigns=_campaigns(data["campaigns"], where))
    observations = data.get("observations")
    if not isinstance(observations, dict):
        raise OptionError(
            f"{where}: [observations] missing; expected a table of {', '.join(OBSERVATION_KEYS)} "
            f"(a weekly series) or [[campaigns]] tables of {', '.join(CAMPAIGN_KEYS)}"
        )
    for key in observations:
        if key not in OBSERVATION_KEYS:
            raise OptionError(
                f"{where}: observations.{key}: unknown key; accepted: {', '.join(OBSERVATION_KEYS)}"
            )
    missing = [k for k in ("start", "count") if k not in observations]
    if missing:
        raise OptionError(f"{where}: observations.{missing[0]} missing")
    start = observations["start"]
    if not isinstance(start, str):  # TOML dates arrive as datetime.date: take their text
        start = str(start)
    try:
        calendar = Calendar(
            start=parse_instant(start, option=f"{where}: observations.start"),
            count=observations["count"],
            window_days=_days(observations.get("window_days", 4.0)),
            target_days=_days(observations.get("target_days", 7.0)),
        )
    except OptionError as err:
        message = str(err)
        raise OptionError(
            message if message.startswith(where) else f"{where}: observations.{message}"
        ) from None
    return Program(
        **common, calendar=calendar, objective=_objective(observations.get("objective", "regular"), where)
    )


def program_id(visit_id: object) -> int | None:
    """The program id a visit id `program:observation:visit` starts with (1..99,999), else None."""
    head = visit_id.split(":", 1)[0] if isinstance(visit_id, str) else ""
    if not (head.isascii() and head.isdigit() and len(head) <= 5):
        return None
    number = int(head)
    return number if 0 < number < 100_000 else None


def _campaigns(value: object, where: str) -> tuple[Campaign, ...]:
    """The [[campaigns]] tables of a program file (untrusted), each checked; OptionError names the key."""
    if not isinstance(value, list) or not value or not all(isinstance(c, dict) for c in value):
        raise OptionError(
            f"{where}: campaigns = {shown(value)}; expected [[campaigns]] tables of "
            f"{', '.join(CAMPAIGN_KEYS)}"
        )
    if len(value) > MAX_CAMPAIGNS:
        raise OptionError(f"{where}: {len(value):,} campaigns; expected at most {MAX_CAMPAIGNS:,}")
    return tuple(_campaign(table, f"{where}: campaigns[{i}]") for i, table in enumerate(value))


def _campaign(table: dict, where: str) -> Campaign:
    for key in table:
        if key not in CAMPAIGN_KEYS:
            raise OptionError(f"{where}.{key}: unknown key; accepted: {', '.join(CAMPAIGN_KEYS)}")
    for key in ("start", "end"):
        if key not in table:
            raise OptionError(f"{where}.{key} missing; expected a UTC time such as 2023-07-10T06:00:00Z")
    start, end = (_instant(table[key], f"{where}.{key}") for key in ("start", "end"))
    if end <= start:
        raise OptionError(f"{where}.end {format_instant(end)}: not after start {format_instant(start)}")
    iterations = limits.number(
        f"{where}.iterations", table.get("iterations", 1), 1, MAX_ITERATIONS, integer=True
    )
    separation = float(
        limits.number(f"{where}.min_separation_hours", table.get("min_separation_hours", 0.0), 0, 8_784)
    )
    hours = (end - start) / 3600
    if separation > hours or (iterations - 1) * separation > hours:
        raise OptionError(
            f"{where}.min_separation_hours {separation:g}: {iterations} runs that far apart do not fit "
            f"in the window of {hours:g} h"
        )
    preferred = table.get("preferred", [])
    if not isinstance(preferred, list) or (preferred and len(preferred) != iterations):
        raise OptionError(
            f"{where}.preferred = {shown(preferred)}; expected a list of {iterations} UTC times, one per "
            "iteration"
        )
    times = tuple(_instant(t, f"{where}.preferred[{i}]") for i, t in enumerate(preferred))
    for i, t in enumerate(times):
        if not start <= t < end:
            raise OptionError(f"{where}.preferred[{i}] {format_instant(t)}: outside the campaign's window")
    return Campaign(
        start=start, end=end, iterations=iterations, min_separation_hours=separation, preferred=times
    )


def _instant(value: object, where: str) -> int:
    """A UTC time from a program file: a string, or a TOML date or date-time (a local one read as UTC)."""
    if isinstance(value, datetime.datetime | datetime.date):
        value = value.isoformat()
    if not isinstance(value, str):
        raise OptionError(
            f"{where} = {shown(value)} is {kind_of(value)}; expected a UTC time such as 2023-07-10T06:00:00Z"
        )
    return parse_instant(value, option=where)


def _days(value: Any) -> Any:
    """Whole days as floats, as a calendar records them (`4` and `4.0` are one calendar)."""
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _objective(value: object, where: str) -> str:
    if not isinstance(value, str) or value not in OBJECTIVES:
        raise OptionError(
            f"{where}: observations.objective = {value!r}; expected one of {', '.join(OBJECTIVES)}"
        )
    return value


def _known(value: str, known: tuple[str, ...], where: str) -> str:
    """`value` as the known name it is (any case), else an OptionError with the closest ones."""
    by_fold = {k.casefold(): k for k in known}
    if value.casefold() in by_fold:
        return by_fold[value.casefold()]
    folded = difflib.get_close_matches(value.casefold(), list(by_fold), n=3, cutoff=0.4)
    close = [by_fold[f] for f in folded] or list(known)
    raise OptionError(f"{where}: {value!r} is in no schedule the planner knows; closest: {', '.join(close)}")


def _text(value: object, where: str, *, empty: bool = False) -> str:
    if value is None:
        raise OptionError(f"{where}: missing; expected a non-empty string")
    if not isinstance(value, str):
        raise OptionError(f"{where} = {value!r} is {kind_of(value)}; expected a string")
    if "\n" in value or "\r" in value or len(value) > 200:
        raise OptionError(f"{where}: expected one line of at most 200 characters")
    if not empty and not value.strip():
        raise OptionError(f"{where}: empty; expected a non-empty string")
    return value.strip()


@functools.lru_cache(maxsize=1)
def _names() -> tuple[str, ...]:
    folder = resources.files("planner.problem").joinpath("programs")
    return tuple(sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")))


def shipped_names() -> list[str]:
    return list(_names())


@functools.lru_cache(maxsize=64)  # a Program is frozen: one read per shipped file and process
def _shipped(name: str) -> Program:
    text = resources.files("planner.problem").joinpath("programs", f"{name}.toml").read_text(encoding="utf-8")
    return _from_toml(text, f"shipped program {name!r}")


def _from_toml(text: str, where: str) -> Program:
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError, ValueError) as err:
        raise OptionError(f"{where}: not valid TOML ({' '.join(str(err).split())[:200]})") from None
    return _parse(data, where)


def load_program(spec: str | Path | Program) -> Program:
    """A shipped program by name (`anneals-cycle3`, `seed-4485`), a Program, or a program .toml file."""
    if isinstance(spec, Program):
        return spec
    if str(spec) in shipped_names():
        return _shipped(str(spec))
    path = Path(spec)
    if path.is_dir():
        raise OptionError(
            f"--program {str(spec)!r}: a folder; 'solve' co-plans a folder of program files, this takes one"
        )
    if path.suffix.lower() != ".toml":
        close = difflib.get_close_matches(str(spec), shipped_names(), n=1, cutoff=0.4)
        hint = f"did you mean {close[0]}? " if close else ""
        raise OptionError(
            f"--program {str(spec)!r}: not a shipped program; {hint}expected one of "
            f"{', '.join(shipped_names())} or a program .toml file"
        )
    try:
        if not path.is_file():
            raise InputError(path, "no such program file" if not path.exists() else "not a regular file")
        if path.stat().st_size > MAX_PROGRAM_BYTES:
            raise InputError(path, f"over {MAX_PROGRAM_BYTES:,} bytes; expected a program file")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"not a readable program file ({err})") from None
    try:
        return _from_toml(text, str(path))
    except OptionError as err:
        raise InputError(path, str(err).removeprefix(f"{path}: ")) from None


def anneal_series() -> list[Program]:
    """The shipped MIRI anneal series, one per cycle, in cycle order."""
    series = [_shipped(name) for name in shipped_names() if name.startswith("anneals-cycle")]
    return sorted(series, key=lambda p: p.cycle or 0)


def pick_program(starts, *, latest: bool = False) -> tuple[Program, str]:
    """The shipped anneal series a timeline covers, and one line saying why it was picked.

    `starts` are the timeline's visit starts (seconds). By default the cycle whose calendar holds
    the most visits (a timeline of one whole cycle and the edges of its neighbours picks that
    cycle); `latest`: the cycle of the last visit (the weekly job plans the cycle being published).
    OptionError naming --program when the timeline covers no shipped cycle."""
    import numpy as np

    starts = np.asarray(starts, dtype=np.int64)
    held = []
    for program in anneal_series():
        c = program.calendar
        end = c.end
        inside = int(np.count_nonzero((starts >= c.start) & (starts < end)))
        last_inside = bool(len(starts)) and c.start <= int(starts.max()) < end
        held.append((program, inside, last_inside))
    if latest:  # calendars can overlap (Cycle 2's 53rd window is Cycle 3's first week): the later
        chosen = [(p, n) for p, n, last in held if last][-1:]
        why = "the cycle of the last published visit"
    else:
        best = max((n for _, n, _ in held), default=0)
        chosen = [(p, n) for p, n, _ in held if n == best and n > 0][-1:]
        why = "the cycle holding most of the timeline's visits"
    if not chosen:
        covered = ""
        if len(starts):
            covered = (
                f" ({format_instant(int(starts.min()))[:10]} .. {format_instant(int(starts.max()))[:10]})"
            )
        raise OptionError(
            f"the timeline{covered} covers no cycle of a shipped program; name one with --program "
            f"({', '.join(shipped_names())}) or a program .toml file"
        )
    program, visits = chosen[0]
    return program, f"program {program.describe()}: {why} ({visits:,} visits); --program to choose another"
