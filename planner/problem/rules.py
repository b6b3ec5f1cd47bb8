"""Rule sets: which slews may carry an anneal, as a planner can read, record and extend them.

Three rules are the calibration program's own and always apply, first and in this order:
`no-slew` (the destination is not a PRIME TARGETED FIXED or MOVING visit), `to-miri` (it uses
MIRI) and `carries-slew-parallel` (the slew already carries another slew parallel). A rule set
adds named exclusions of destinations (by prime mode, visit type, program, target category or
keyword) and a MIRI recovery time (`miri-recovery`: no MIRI use may begin within that many
minutes after the slew), applied after them in that order. A slew is counted under the first rule
it fails.

The shipped sets are TOML files in `planner/rulesets/` read by the same code as a user's file:
`seed` (the program's rules alone) and `operations` (the default: no time-series destinations and a
35-minute recovery, which is what the flown schedules show). This module holds the data and its
validation only; `planner.problem.eligibility` applies it and `planner.plans.checker` re-derives
it on its own.
"""

from __future__ import annotations

import functools
import math
import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from planner.errors import InputError, OptionError, kind_of, shown
from planner.io import read_toml

# The program's own rules, always applied first and in this order. Their names and words follow the
# program's avoided instruments (`to-miri` for the anneals, `to-nirspec` for a NIRSpec lamp).
NO_SLEW = "no-slew"
CARRIES = "carries-slew-parallel"
SHIPPED = ("operations", "seed")
DEFAULT = "operations"
# `miri_recovery_minutes = "program"`, `min_slew_minutes = "program"`: the value the program states.
FROM_PROGRAM = "program"
SLEW_TIME = "slew-time"
MAX_SLEW_MINUTES = 24 * 60  # a day: more would leave no slew at all
MAX_RECOVERY_MINUTES = 7 * 24 * 60  # a week: more would exclude every slew of a week with MIRI use
# Each exclusion is a pass over the timeline (and a lane of the report): 10,000 of them took minutes.
# The shipped sets have one; a planner's own file a handful. A few hundred KB of TOML is plenty.
MAX_EXCLUSIONS = 100
MAX_EXCLUSION_VALUES = 1_000  # values of one exclusion, all its lists together
MAX_RULES_BYTES = 1_000_000

# The destination fields an exclusion can match, as TOML keys (all lists of strings).
CRITERIA = ("prime_modes", "visit_types", "programs", "categories", "keywords")
EXCLUSION_KEYS = ("name", "reason", *CRITERIA)
TOP_KEYS = ("name", "description", "extends", "miri_recovery_minutes", "min_slew_minutes", "exclude")
PROGRAM_KEYS = ("miri_recovery_minutes", "min_slew_minutes")  # may say "program"


@dataclass(frozen=True, slots=True, kw_only=True)
class Exclusion:
    """Destinations no anneal may slew to: a visit matching any listed value is excluded.

    Modes, visit types and categories match whole values, ignoring case; `keywords` match one of
    the visit's comma-separated keywords; `programs` match the program of the visit id."""

    name: str
    reason: str
    prime_modes: tuple[str, ...] = ()
    visit_types: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"name": self.name, "reason": self.reason} | {
            key: list(getattr(self, key)) for key in CRITERIA if getattr(self, key)
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleSet:
    """A rule set as applied to one program: `avoid` and `mode` are the program's (planner.problem.
    program), and so are the recovery and the minimum slew where the set says "program".
    `load_rules` and `for_program` resolve them; what a plan records (`to_dict`) is the set's own
    part, those values resolved."""

    name: str
    description: str = ""
    exclusions: tuple[Exclusion, ...] = ()
    miri_recovery_minutes: float = 0.0
    min_slew_minutes: float = 0.0  # slew-time: the least slew that holds the slew parallel (0: none)
    avoid: tuple[str, ...] = ("MIRI",)  # the program's instruments: no slew into a visit using them
    mode: str = "MIRI Anneal"  # the program's slew-parallel mode: other modes on a slew block it

    @property
    def avoided(self) -> str:
        """The avoided instruments as rule names spell them: `miri`, `nirspec`."""
        return "-".join(a.casefold() for a in self.avoid)

    @property
    def to_avoided(self) -> str:
        return f"to-{self.avoided}"

    @property
    def recovery(self) -> str:
        return f"{self.avoided}-recovery"

    def rule_names(self) -> list[str]:
        """Every rule in the order it is applied (a slew is counted under the first it fails)."""
        recovery = [self.recovery] if self.miri_recovery_minutes > 0 and self.avoid else []
        avoided = [self.to_avoided] if self.avoid else []
        slew_time = [SLEW_TIME] if self.min_slew_minutes > 0 else []
        return [NO_SLEW, *avoided, CARRIES, *(e.name for e in self.exclusions), *slew_time, *recovery]

    def describe(self, rule: str) -> str:
        """The one-line reason of a rule, as it reads after 'slews ...'."""
        instruments = " or ".join(self.avoid)
        if rule == NO_SLEW:
            return "without a slew (untargeted, momentum unload, station keeping, WFSC)"
        if rule == self.to_avoided:
            return f"to a visit that uses {instruments}"
        if rule == CARRIES:
            return "already carrying another slew parallel"
        if rule == SLEW_TIME:
            return f"shorter than {self.min_slew_minutes:g} min, or of unknown duration (slew time)"
        if rule == self.recovery:
            return f"followed by {instruments} use within {self.miri_recovery_minutes:g} min (recovery)"
        return next(e.reason for e in self.exclusions if e.name == rule)

    def counted(self, visits: int, excluded: dict[str, int], eligible: int) -> str:
        """`N visits, n <why> (<rule>), ...: none eligible` (or `k eligible`): what a window's
        visits were, each rule's exclusions in the set's order."""
        parts = [f"{visits} visits"]
        parts += [
            f"{excluded[rule]} {self.describe(rule)} ({rule})"
            for rule in self.rule_names()
            if excluded.get(rule)
        ]
        return f"{', '.join(parts)}: {'none eligible' if eligible == 0 else f'{eligible} eligible'}"

    def resolve(self, program) -> RuleSet:
        """This set applied to `program` unless it already is (its instruments and mode)."""
        return self if (self.avoid, self.mode) == (program.avoid, program.mode) else self.for_program(program)

    def for_program(self, program, taken: tuple[str, ...] = ()) -> RuleSet:
        """This set applied to `program` (its avoided instruments and mode), with the values of
        `taken` (PROGRAM_KEYS: recovery, minimum slew) the program's rather than the set's own."""
        recovery = self.miri_recovery_minutes
        if "miri_recovery_minutes" in taken:
            recovery = program.recovery_minutes
        min_slew = program.min_slew_minutes if "min_slew_minutes" in taken else self.min_slew_minutes
        return replace(
            self,
            avoid=tuple(program.avoid),
            mode=program.mode,
            miri_recovery_minutes=float(recovery),
            min_slew_minutes=float(min_slew),
        )

    def with_recovery(self, minutes: float | None) -> RuleSet:
        """The same set with another MIRI recovery time (None keeps the set's own)."""
        if minutes is None:
            return self
        _check_recovery(minutes, "--miri-recovery-minutes")
        return replace(self, miri_recovery_minutes=float(minutes))

    def to_dict(self) -> dict:
        """The whole set, as recorded in a plan's metadata (and accepted by `from_dict`)."""
        return {
            "name": self.name,
            "description": self.description,
            "miri_recovery_minutes": self.miri_recovery_minutes,
            "min_slew_minutes": self.min_slew_minutes,
            "exclude": [e.to_dict() for e in self.exclusions],
        }

    @classmethod
    def from_dict(cls, data: object, where: str = "rules") -> RuleSet:
        """A rule set from its recorded form; any damage raises OptionError naming the key."""
        if not isinstance(data, dict):
            raise OptionError(f"{where}: expected a table of rules, got {type(data).__name__}")
        if "extends" in data:
            raise OptionError(f"{where}: a recorded rule set is complete; 'extends' is for rules files")
        return _parse(data, where, parent=None)


def rules_for(spec, program) -> RuleSet:
    """A rule set as a planner is given it (None: the default, a name, a rules file, a RuleSet, or a
    recorded table from a plan's metadata), applied to `program`."""
    if isinstance(spec, dict):
        return RuleSet.from_dict(spec).for_program(program)
    if spec is None or isinstance(spec, str | Path):
        return load_rules(spec, program)
    if isinstance(spec, RuleSet):
        return spec.resolve(program)
    raise OptionError(f"rules {spec!r}: expected a rule set name, a rules file or a table")


def load_rules(spec: str | Path | RuleSet | None = None, program=None) -> RuleSet:
    """'operations' (the default, also for None), 'seed', a RuleSet, or a rules TOML file, applied
    to `program` (default: the seed's MIRI anneals: recovery 35 min, least slew 27.5 min) when the
    set is not a RuleSet already; where the set says "program", the program's values hold."""
    if isinstance(spec, RuleSet):
        return spec
    if spec is None:
        spec = DEFAULT
    if program is None:
        from planner.problem.program import SEED, load_program

        program = load_program(SEED)
    if str(spec) in SHIPPED:
        return _applied(_shipped(str(spec)), program)
    path = Path(spec)
    if path.suffix.lower() != ".toml" and not path.is_file():
        raise OptionError(f"--rules {str(spec)!r}: expected {' or '.join(SHIPPED)}, or a rules .toml file")
    try:
        data = read_toml(path, MAX_RULES_BYTES, "a rules file")
    except InputError as err:  # a rules file's faults are OptionErrors, like the keys inside it
        raise OptionError(str(err)) from None
    return _applied(_from_data(data, str(path), default_name=path.stem), program)


def _applied(parsed: tuple[RuleSet, tuple[str, ...]], program) -> RuleSet:
    rules, taken = parsed
    return rules.for_program(program, taken)


@functools.lru_cache(maxsize=8)  # a RuleSet is frozen: one parse per shipped set and process
def _shipped(name: str) -> tuple[RuleSet, tuple[str, ...]]:
    text = resources.files("planner.problem").joinpath("rulesets", f"{name}.toml").read_text(encoding="utf-8")
    return _from_toml(text, f"shipped rule set {name!r}", default_name=name)


def _from_toml(text: str, where: str, default_name: str) -> tuple[RuleSet, tuple[str, ...]]:
    """The set a rules file describes, and the PROGRAM_KEYS whose value is the program's."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise OptionError(f"{where}: not valid TOML ({err})") from None
    return _from_data(data, where, default_name)


def _from_data(data: dict, where: str, default_name: str) -> tuple[RuleSet, tuple[str, ...]]:
    """The set a rules file describes, and the PROGRAM_KEYS whose value is the program's (`key =
    "program"`, in the file or in the set it extends, unless the file gives a number)."""
    parent, taken = None, set()
    if "extends" in data:
        extends = data["extends"]
        if extends not in SHIPPED:
            raise OptionError(f"{where}: extends = {shown(extends)}; expected one of {', '.join(SHIPPED)}")
        if extends != "seed":
            parent, inherited = _shipped(extends)
            taken = set(inherited)
    for key in PROGRAM_KEYS:
        if key in data:
            taken.discard(key)
            if data[key] == FROM_PROGRAM:
                taken.add(key)
                data = {k: v for k, v in data.items() if k != key}
    return _parse({"name": default_name} | data, where, parent), tuple(sorted(taken))


def _parse(data: dict, where: str, parent: RuleSet | None) -> RuleSet:
    for key in data:
        if key not in TOP_KEYS:
            raise OptionError(f"{where}: unknown key {key!r}; accepted: {', '.join(TOP_KEYS)}")
    name = _text(data.get("name"), f"{where}: name")
    description = _text(data.get("description", ""), f"{where}: description", empty=True)
    recovery = data.get("miri_recovery_minutes", parent.miri_recovery_minutes if parent else 0.0)
    _check_recovery(recovery, f"{where}: miri_recovery_minutes")
    min_slew = data.get("min_slew_minutes", parent.min_slew_minutes if parent else 0.0)
    _check_minutes(min_slew, f"{where}: min_slew_minutes", MAX_SLEW_MINUTES, ', or "program"')
    entries = data.get("exclude", [])
    if not isinstance(entries, list):
        raise OptionError(f"{where}: exclude must be a list of tables ([[exclude]])")
    exclusions = list(parent.exclusions if parent else ())
    if len(exclusions) + len(entries) > MAX_EXCLUSIONS:
        raise OptionError(
            f"{where}: {len(exclusions) + len(entries):,} exclusions; expected at most {MAX_EXCLUSIONS}"
        )
    for i, entry in enumerate(entries):
        exclusion = _exclusion(entry, f"{where}: exclude[{i}]")
        if (
            exclusion.name in (NO_SLEW, CARRIES, SLEW_TIME)
            or exclusion.name.startswith("to-")
            or exclusion.name.endswith("-recovery")
        ):
            raise OptionError(
                f"{where}: exclude[{i}].name {exclusion.name!r} is, or is shaped like, a built-in rule's "
                "name (no-slew, carries-slew-parallel, slew-time, to-<instrument>, <instrument>-recovery)"
            )
        if any(e.name == exclusion.name for e in exclusions):
            raise OptionError(f"{where}: exclude[{i}].name {exclusion.name!r} is used twice")
        exclusions.append(exclusion)
    return RuleSet(
        name=name,
        description=description,
        exclusions=tuple(exclusions),
        miri_recovery_minutes=float(recovery),
        min_slew_minutes=float(min_slew),
    )


def _exclusion(entry: object, where: str) -> Exclusion:
    if not isinstance(entry, dict):
        raise OptionError(f"{where}: expected a table with name, reason and what to exclude")
    for key in entry:
        if key not in EXCLUSION_KEYS:
            raise OptionError(f"{where}: unknown key {key!r}; accepted: {', '.join(EXCLUSION_KEYS)}")
    values: dict[str, tuple[str, ...]] = {}
    for key in CRITERIA:
        items = entry.get(key, [])
        if not isinstance(items, list):
            raise OptionError(f"{where}.{key}: expected a list, got {type(items).__name__}")
        if sum(len(v) for v in values.values()) + len(items) > MAX_EXCLUSION_VALUES:
            raise OptionError(f"{where}: more than {MAX_EXCLUSION_VALUES:,} values; expected fewer")
        if key == "programs":  # program ids may be written as numbers
            items = [
                str(p) if isinstance(p, int) and not isinstance(p, bool) and p >= 0 else p for p in items
            ]
        values[key] = tuple(_text(item, f"{where}.{key}") for item in items)
    if not any(values.values()):
        raise OptionError(f"{where}: excludes nothing; give at least one of {', '.join(CRITERIA)}")
    return Exclusion(
        name=_text(entry.get("name"), f"{where}.name"),
        reason=_text(entry.get("reason"), f"{where}.reason"),
        **values,
    )


def _text(value: object, where: str, *, empty: bool = False) -> str:
    if value is None:
        raise OptionError(f"{where}: missing; expected a non-empty string")
    if not isinstance(value, str):
        raise OptionError(f"{where} = {shown(value)} is {kind_of(value)}; expected a string")
    if "\n" in value or "\r" in value:
        raise OptionError(f"{where}: expected one line")
    if not empty and not value.strip():
        raise OptionError(f"{where}: empty; expected a non-empty string")
    return value.strip()


def _check_recovery(minutes: object, where: str) -> None:
    _check_minutes(minutes, where, MAX_RECOVERY_MINUTES)


def _check_minutes(minutes: object, where: str, maximum: float, also: str = "") -> None:
    """A number of minutes from 0 to `maximum`, else OptionError naming `where` (and `also`)."""
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int | float)
        or (isinstance(minutes, float) and not math.isfinite(minutes))  # isfinite(int) overflows past 1e308
        or not 0 <= minutes <= maximum
    ):
        raise OptionError(f"{where} = {shown(minutes)}: expected minutes from 0 to {maximum}{also}")
