"""Campaign programs inferred from the slew parallels a timeline flew (`anneal-planner programs infer`).

Every slew-parallel row attached to a prime visit (visit type PARALLEL SLEW CALIBRATION) is one flown
run of the program whose id is the first field of its visit id, in the mode its instrument column
names; its flown time is the start of the visit whose slew carried it. Per program and mode:

- runs less than `CAMPAIGN_GAP_HOURS` (24 h) after the previous run belong to its campaign (at most
  `MAX_ITERATIONS` runs each); a campaign's `iterations` are its runs, its `min_separation_hours` the
  smallest separation that flew, rounded down to 0.1 h (0 for one run), its window from its first run
  minus the freedom to its last run plus the freedom (default 24 h);
- a weekly series (the MIRI anneals) comes out as campaigns of one run each: the simple, exact record
  of what flew; `[observations]` (a weekly calendar) would need a guess of its start and length.

What a timeline does not say is taken from `MODES`: the instruments a mode avoids, one run's duration,
the avoided instruments' recovery and the least slew that holds a run (docs/programs.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner import limits
from planner.errors import OptionError
from planner.io import atomic_path
from planner.problem.calendar import format_instant, to_seconds
from planner.problem.program import (
    MAX_CAMPAIGNS,
    MAX_ITERATIONS,
    MAX_PROGRAM_BYTES,
    Campaign,
    Program,
    program_id,
)
from planner.problem.program import _from_toml as program_from_toml
from planner.schedules.report import SLEW_PARALLEL

CAMPAIGN_GAP_HOURS = 24.0  # runs of one program closer than this form one campaign
DEFAULT_FREEDOM_HOURS = 24.0  # each campaign's window: its flown runs, this much earlier and later
MAX_FREEDOM_HOURS = 8_784.0  # a leap year


@dataclass(frozen=True, slots=True)
class ModeDefaults:
    """What a program file needs and a timeline does not hold, per slew-parallel mode."""

    avoid: tuple[str, ...]
    duration_minutes: float
    recovery_minutes: float
    min_slew_minutes: float


# The anneal's values are read from the shipped programs (`defaults_of`: anneals-cycle2.toml says
# where they come from). The lamp's and the flat's durations are an assumption, 10 min: the
# repository holds no template duration for them, and the slews they flew on are as short as
# 10-15 min (10th percentile, docs/domain.md), which a run must fit. No recovery rule and no
# slew-time rule is known for them (0).
MODES: dict[str, ModeDefaults | None] = {
    "MIRI Anneal": None,  # the shipped anneal programs' (defaults_of)
    "NIRSpec Internal Lamp": ModeDefaults(("NIRSpec",), 10.0, 0.0, 0.0),
    "NIRISS Internal Flat": ModeDefaults(("NIRISS",), 10.0, 0.0, 0.0),
}


def mode_program(mode: str, number: int, name: str, title: str, campaigns: tuple = ()) -> Program:
    """A program of `mode` with id `number`, its rules' values the mode's defaults (`defaults_of`)."""
    defaults = defaults_of(mode)
    return Program(
        name=name,
        title=title,
        program_ids=(number,),
        mode=mode,
        avoid=defaults.avoid,
        duration_minutes=defaults.duration_minutes,
        recovery_minutes=defaults.recovery_minutes,
        min_slew_minutes=defaults.min_slew_minutes,
        campaigns=campaigns,
    )


def defaults_of(mode: str) -> ModeDefaults:
    """What a program of `mode` avoids and needs: the table above, the anneals' from their program."""
    known = MODES[mode]
    if known is not None:
        return known
    from planner.problem.program import SEED, load_program

    seed = load_program(SEED)
    return ModeDefaults(seed.avoid, seed.duration_minutes, seed.recovery_minutes, seed.min_slew_minutes)


@dataclass(frozen=True, slots=True)
class Inferred:
    """One inferred program and the flown runs (seconds, in time order) it was inferred from."""

    program: Program
    runs: tuple[int, ...]

    @property
    def file_name(self) -> str:
        return f"{self.program.name}.toml"

    def describe(self) -> str:
        campaigns = self.program.campaigns
        sizes = sorted({c.iterations for c in campaigns})
        size = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]}-{sizes[-1]}"
        least = min((c.min_separation_hours for c in campaigns if c.iterations > 1), default=None)
        apart = f", runs at least {least:g} h apart" if least is not None else ""
        plural = "s" * (len(campaigns) != 1)
        runs = f"{len(self.runs)} {self.program.mode} run{'s' * (len(self.runs) != 1)}"
        return (
            f"{runs} of program {self.program.program_ids[0]}, "
            f"{format_instant(self.runs[0])[:10]} .. {format_instant(self.runs[-1])[:10]}: "
            f"{len(campaigns)} campaign{plural} of {size} run{'s' * (sizes[-1] != 1)}{apart}"
        )


def flown_runs(frame: pd.DataFrame) -> dict[tuple[str, int], list[int]]:
    """The flown slew-parallel runs by (mode, program id), each list in time order; rows of a mode no
    program file can name, or whose visit id has no program id, are left out."""
    runs: dict[tuple[str, int], list[int]] = {}
    starts = to_seconds(frame["start"]) if len(frame) else np.empty(0, dtype=np.int64)
    for start, attached in zip(starts.tolist(), frame["parallels"], strict=True):
        if attached is None or (isinstance(attached, float) and math.isnan(attached)):
            continue
        for row in attached:
            if not isinstance(row, dict) or row.get("visit_type") != SLEW_PARALLEL:
                continue
            mode, visit_id = row.get("instrument"), row.get("visit_id")
            number = program_id(visit_id)
            if mode not in MODES or number is None:
                continue
            runs.setdefault((mode, number), []).append(start)
    return {key: sorted(times) for key, times in sorted(runs.items(), key=lambda kv: kv[0][1])}


def campaigns_of(runs: Sequence[int], freedom_hours: float = DEFAULT_FREEDOM_HOURS) -> tuple[Campaign, ...]:
    """Runs (seconds, in time order) grouped into campaigns: see the module's docstring."""
    freedom = round(freedom_hours * 3600)
    groups: list[list[int]] = []
    for time in runs:
        last = groups[-1] if groups else None
        if last is not None and time - last[-1] < CAMPAIGN_GAP_HOURS * 3600 and len(last) < MAX_ITERATIONS:
            last.append(time)
        else:
            groups.append([time])
    campaigns = []
    for group in groups:
        gaps = np.diff(group)
        separation = math.floor(int(gaps.min()) / 360) / 10 if len(gaps) else 0.0
        campaigns.append(
            Campaign(
                start=group[0] - freedom,
                end=group[-1] + freedom,
                iterations=len(group),
                min_separation_hours=float(separation),
                preferred=tuple(group),  # the flown times: a co-planned run is displaced from them
            )
        )
    return tuple(campaigns)


def infer_programs(frame: pd.DataFrame, freedom_hours: float = DEFAULT_FREEDOM_HOURS) -> list[Inferred]:
    """One campaign program per (program id, mode) that flew in the timeline `frame`, in program-id order.
    OptionError naming --freedom when it is not a number of hours in (0, a year]."""
    limits.number("--freedom", freedom_hours, 0, MAX_FREEDOM_HOURS, low_open=True)
    runs = flown_runs(frame)
    inferred = []
    for (mode, number), times in runs.items():
        slug = mode.lower().replace(" ", "-")
        program = mode_program(
            mode,
            number,
            f"{slug}-{number}",
            f"{mode}, program {number}, as flown",
            campaigns_of(times, freedom_hours),
        )
        inferred.append(Inferred(program, tuple(times)))
    return inferred


def program_toml(inferred: Inferred, source: str, freedom_hours: float = DEFAULT_FREEDOM_HOURS) -> str:
    """The program file of `inferred` (readable TOML), its header saying where it came from."""
    program = inferred.program
    source = "".join(c if c.isprintable() else " " for c in " ".join(str(source).split()))[:200]
    lines = [
        f"# Inferred by `anneal-planner programs infer` from {source}:",
        f"# the {inferred.describe()}.",
        f"# A campaign: runs less than {CAMPAIGN_GAP_HOURS:g} h apart; its window: first run - "
        f"{freedom_hours:g} h .. last run + {freedom_hours:g} h;",
        "# min_separation_hours: the smallest separation flown, rounded down to 0.1 h.",
        "# avoid_instruments, duration_minutes, recovery_minutes, min_slew_minutes: assumed for the mode",
        "# (planner/problem/infer.py, MODES), not read from the timeline.",
    ]
    record = program.to_dict()
    campaigns = record.pop("campaigns")
    lines += [f"{key} = {_toml_value(value)}" for key, value in record.items() if value is not None]
    for campaign in campaigns:
        lines += ["", "[[campaigns]]", *(f"{key} = {_toml_value(value)}" for key, value in campaign.items())]
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}" if value.is_integer() else repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string (ASCII, escaped) is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(_toml_value, value)) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def write_programs(
    inferred: Sequence[Inferred], out: Path, source: str, freedom_hours: float = DEFAULT_FREEDOM_HOURS
) -> list[Path]:
    """Each program's file in the folder `out` (written atomically), after checking that every one
    reads back as the program it records; OptionError for one too large for a program file."""
    texts = []
    for one in inferred:
        text = program_toml(one, source, freedom_hours)
        size = len(text.encode())
        if len(one.program.campaigns) > MAX_CAMPAIGNS or size > MAX_PROGRAM_BYTES:
            raise OptionError(
                f"program {one.program.name}: {len(one.program.campaigns):,} campaigns make a file of "
                f"{size:,} bytes (at most {MAX_PROGRAM_BYTES:,}); infer from a shorter timeline"
            )
        if program_from_toml(text, one.file_name) != one.program:  # pragma: no cover - a bug
            raise AssertionError(f"{one.file_name} does not read back as the program it records")
        texts.append((out / one.file_name, text))
    written = []
    for path, text in texts:
        with atomic_path(path) as temporary:
            temporary.write_text(text, encoding="utf-8")
        written.append(path)
    return written
