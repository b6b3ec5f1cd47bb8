"""Scenario files for batch solving (TOML): base settings and a list of scenarios, or a grid.

```toml
[base]
objective = "regular"
[grid]
window_days = [3, 4]
objective = ["regular", "minimax"]
[[grid.perturbation]]            # optional: each entry is one value of the grid's perturbation axis
cancel_fraction = 0.1
```
or `[[scenarios]]` tables, each with any of the keys below (and an optional `name`). Everything is
checked before anything runs; an unknown key, a wrong type or an empty grid names the key.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from planner.errors import InputError, OptionError, kind_of, shown
from planner.io import read_toml
from planner.problem.calendar import Calendar
from planner.problem.instance import Instance
from planner.problem.program import SEED, Program, load_program, shipped_names
from planner.problem.rules import SHIPPED, RuleSet, load_rules
from planner.problem.settings import SolverSettings
from planner.schedules.perturb import Perturbation

MAX_SCENARIOS_BYTES = 10_000_000
MAX_SCENARIOS = 100_000  # a grid multiplying out to more is a typo, refused before it runs

# key -> accepted types (bool is not an int here, whatever Python says)
KEYS: dict[str, tuple[type, ...]] = {
    "timeline": (str,),
    "program": (str,),  # a shipped program or a program file (default: the seed, seed-4485)
    "programs": (list,),  # programs co-planned (names, files, folders of files): a joint solve
    "start": (str,),
    "count": (int,),
    "window_days": (int, float),
    "target_days": (int, float),
    "objective": (str,),
    "time_limit": (int, float),
    "workers": (int,),
    "seed": (int,),
    "min_gap_days": (int, float),
    "rules": (str,),
    "miri_recovery_minutes": (int, float),
    "allow_missing": (bool,),
    "widen_hours": (int, float),  # windows with no eligible slew, widened by this many hours
    "perturbation": (dict,),
    "kind": (str,),  # "solve" (the default) or "replay"
    "sources": (list,),  # replay: report files or folders
    "policy": (str,),  # replay: the online policy
    "horizon_weeks": (int,),  # replay, lookahead/rollout policy: its cost-to-go's horizon
    "sample_weeks": (int,),  # replay, lookahead/rollout policy: the published weeks it learns from
    "future_weight": (int, float),  # replay, lookahead/rollout policy: weight of its cost-to-go
    "prior": (str, bool),  # replay: a timeline whose earlier weeks the policy learns from (false: none)
}
PERTURBATION_KEYS = {
    "cancel_fraction": (int, float),
    "max_delay_hours": (int, float),
    "lost_days": (int, float),
    "seed": (int,),
}
CALENDAR_KEYS = ("start", "count", "window_days", "target_days")
REPLAY_KEYS = ("sources", "policy", "horizon_weeks", "sample_weeks", "future_weight", "prior")
# A joint scenario plans each program on its own calendar and objective, under its own recovery.
NOT_JOINT = ("program", *CALENDAR_KEYS, "objective", "min_gap_days", "miri_recovery_minutes")
SETTING_KEYS = ("time_limit", "workers", "seed")


@dataclass(frozen=True)
class Scenario:
    id: str
    settings: dict  # the keys above, after merging base and scenario

    # The program, its calendar, its rules and a joint scenario's programs are read once per scenario
    # (and process), not at every use: a frozen dataclass without __slots__ can cache them.
    @functools.cached_property
    def program(self) -> Program:
        """The program planned (default: the seed's), with the scenario's calendar and objective."""
        chosen = {k: self.settings[k] for k in CALENDAR_KEYS if k in self.settings}
        program = load_program(self.settings.get("program", SEED))
        return program.with_calendar(**chosen, objective=self.settings.get("objective"))

    @functools.cached_property
    def calendar(self) -> Calendar:
        return self.program.calendar

    @property
    def joint(self) -> bool:
        """Several programs co-planned (the `programs` key): planner.solver.joint."""
        return "programs" in self.settings

    @functools.cached_property
    def programs(self) -> tuple[Program, ...]:
        from planner.problem.joint import load_programs

        return load_programs(list(self.settings["programs"]))

    def joint_instance(self, timeline):
        from planner.problem.joint import JointInstance

        return JointInstance(
            timeline=timeline,
            programs=self.programs,
            rules=self.settings.get("rules"),
            widen_hours=self.settings.get("widen_hours", 0.0),
        )

    def period(self) -> tuple[int, int]:
        """The seconds the scenario plans: its calendar's weeks, or every program's windows."""
        if not self.joint:
            return self.program.span
        spans = [p.span for p in self.programs]
        return min(a for a, _ in spans), max(b for _, b in spans)

    @functools.cached_property
    def rules(self) -> RuleSet:
        rules = load_rules(self.settings.get("rules"), self.program)
        return rules.with_recovery(self.settings.get("miri_recovery_minutes"))

    def instance(self, timeline) -> Instance:
        return Instance(
            timeline=timeline,
            program=self.program,
            rules=self.rules,
            min_gap_days=self.settings.get("min_gap_days", 0.0),
            allow_missing=self.settings.get("allow_missing", True),
            widen_hours=self.settings.get("widen_hours", 0.0),
        )

    def solver_settings(self, workers_cap: int | None = None) -> SolverSettings:
        chosen = {k: self.settings[k] for k in SETTING_KEYS if k in self.settings}
        if workers_cap is not None:
            chosen["workers"] = min(chosen.get("workers", 1), workers_cap)
        return SolverSettings(**chosen)

    @property
    def perturbation(self) -> Perturbation:
        return Perturbation(**self.settings.get("perturbation", {}))

    @property
    def kind(self) -> str:
        return self.settings.get("kind", "solve")

    def validate(self) -> None:
        """Build every object once, so a bad value fails before the batch starts."""
        for key in ("timeline", "program", "rules", "prior"):
            # '' would be the current folder once made a Path: refused rather than read as reports
            value = self.settings.get(key)
            if isinstance(value, str) and not value.strip():
                raise OptionError(f"{key} = {value!r}: expected a path (or leave {key} out)")
        sources = self.settings.get("sources")
        if isinstance(sources, list) and any(not isinstance(s, str) or not s.strip() for s in sources):
            raise OptionError("sources: expected a list of report file or folder paths, none empty")
        if self.joint:
            self._validate_joint()
            return
        _ = (self.instance(None), self.solver_settings(), self.perturbation)
        if self.kind not in ("solve", "replay"):
            raise OptionError(f"kind = {shown(self.kind)}; expected 'solve' or 'replay'")
        if self.kind == "replay":
            if not sources:
                raise OptionError("a replay needs sources = [report files or folders]")
            self.policy()
        elif set(REPLAY_KEYS) & set(self.settings):
            raise OptionError("sources, policy, prior and the policy's parameters belong to kind = 'replay'")

    def _validate_joint(self) -> None:
        """The programs, read and told apart (on an empty timeline), and no one-program key."""
        from planner.schedules.timeline import to_frame

        names = self.settings["programs"]
        if not names or any(not isinstance(n, str) or not n.strip() for n in names):
            raise OptionError(
                "programs: expected a non-empty list of program names, program files or folders, none empty"
            )
        if self.kind != "solve":
            raise OptionError(f"kind = {shown(self.kind)}: a scenario with programs is a joint solve")
        given = [key for key in (*NOT_JOINT, *REPLAY_KEYS) if key in self.settings]
        if given:
            raise OptionError(
                f"{given[0]} belongs to a one-program scenario; a scenario with programs co-plans them, "
                "each on its own calendar and objective"
            )
        _ = (self.joint_instance(to_frame([])), self.solver_settings(), self.perturbation)

    def policy(self):
        from planner.online import DEFAULT_POLICY
        from planner.online.policies import make_policy

        get = self.settings.get
        return make_policy(
            get("policy", DEFAULT_POLICY), get("horizon_weeks"), get("sample_weeks"), get("future_weight")
        )


def _check(table: dict, where: str, keys: dict) -> None:
    for key, value in table.items():
        if key not in keys:
            raise OptionError(f"{where}: unknown key {key!r}; accepted: {', '.join(keys)}")
        if not isinstance(value, keys[key]) or (isinstance(value, bool) and bool not in keys[key]):
            names = " or ".join(t.__name__ for t in keys[key])
            raise OptionError(f"{where}: {key} = {shown(value)} is {kind_of(value)}; expected {names}")
        if key == "perturbation":
            _check(value, f"{where}.perturbation", PERTURBATION_KEYS)


# A scenario's name becomes part of a file name under DIR/plans/: no separators, no '..', no dot first.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_name(name: object, where: str) -> str:
    """The scenario name, or OptionError: it must not reach outside DIR/plans/ (or hide a file)."""
    if not isinstance(name, str):
        raise OptionError(f"{where}: name = {shown(name)}; expected a string")
    if not _NAME.fullmatch(name) or ".." in name:
        raise OptionError(
            f"{where}: name = {name!r}; expected 1-64 letters, digits, '_', '-' or '.' "
            "starting with a letter or digit (no path separators or '..')"
        )
    return name


def scenario_id(settings: dict, name: str | None) -> str:
    """Stable id from the settings themselves, so a re-run finds the same plan file."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    return f"{name}-{digest}" if name else digest


def parse_scenarios(data: dict, where: str = "scenarios") -> list[Scenario]:
    unknown = set(data) - {"base", "scenarios", "grid"}
    if unknown:
        raise OptionError(f"{where}: unknown section {sorted(unknown)[0]!r}; accepted: base, scenarios, grid")
    if ("scenarios" in data) == ("grid" in data):
        which = "both" if "scenarios" in data else "neither"
        raise OptionError(f"{where}: give either [[scenarios]] or [grid], not {which}")
    base = data.get("base", {})
    if not isinstance(base, dict):
        raise OptionError(f"{where}: base = {shown(base)}; expected a [base] table")
    _check(base, f"{where} [base]", KEYS)

    combos: list[tuple[str | None, dict]] = []
    if "scenarios" in data:
        if not isinstance(data["scenarios"], list) or not data["scenarios"]:
            raise OptionError(f"{where}: [[scenarios]] is empty; expected at least one scenario table")
        for i, entry in enumerate(data["scenarios"]):
            if not isinstance(entry, dict):
                raise OptionError(f"{where} scenarios[{i}]: {shown(entry)}; expected a table of settings")
            entry = dict(entry)
            name = entry.pop("name", None)
            if name is not None:
                check_name(name, f"{where} scenarios[{i}]")
            _check(entry, f"{where} scenarios[{i}]", KEYS)
            combos.append((name, {**base, **entry}))
    else:
        grid = data["grid"]
        if not isinstance(grid, dict):
            raise OptionError(f"{where}: grid = {shown(grid)}; expected a [grid] table")
        axes = {}
        for key, values in grid.items():
            if not isinstance(values, list):
                raise OptionError(f"{where} [grid]: {key} = {shown(values)}; expected a list of values")
            if not values:
                raise OptionError(f"{where} [grid]: {key} is an empty list; the grid would have no scenario")
            for value in values:
                _check({key: value}, f"{where} [grid]", KEYS)
            axes[key] = values
        if not axes:
            raise OptionError(f"{where}: [grid] is empty; give at least one key with a list of values")
        size = 1
        for values in axes.values():
            size *= len(values)
        if size > MAX_SCENARIOS:
            raise OptionError(
                f"{where}: [grid] multiplies out to {size:,} scenarios; at most {MAX_SCENARIOS:,}"
            )
        for values in itertools.product(*axes.values()):
            combos.append((None, {**base, **dict(zip(axes, values, strict=True))}))

    scenarios = [Scenario(scenario_id(settings, name), settings) for name, settings in combos]
    for scenario in scenarios:
        try:
            scenario.validate()
        except (OptionError, InputError) as err:  # InputError: a program file it names
            raise OptionError(f"{where} scenario {scenario.id}: {err}") from None
    ids = [s.id for s in scenarios]
    if len(set(ids)) != len(ids):
        raise OptionError(f"{where}: two scenarios have the same settings (ids repeat)")
    return scenarios


def read_scenarios(path: Path | str) -> list[Scenario]:
    """Scenarios of a TOML file; a relative `timeline` or rules file is relative to its folder."""
    path = Path(path)
    data = read_toml(path, MAX_SCENARIOS_BYTES, "a scenarios file")
    _resolve_paths(data, path.parent)
    scenarios = parse_scenarios(data, where=str(path))
    for scenario in scenarios:
        # Input files are checked before anything runs, like every other value.
        for key in ("timeline", "sources", "prior"):
            given = scenario.settings.get(key)
            for name in [given] if isinstance(given, str) else given if isinstance(given, list) else []:
                if not Path(name).exists():
                    raise InputError(path, f"scenario {scenario.id}: {key} {name!r} is not a file or folder")
    return scenarios


def _resolve_paths(data: dict, folder: Path) -> None:
    """Make relative `timeline`, rules-file and `sources` values absolute, before ids are computed."""

    def absolute(value):
        shipped = value in SHIPPED or value in shipped_names()
        if isinstance(value, str) and value and not shipped and not Path(value).is_absolute():
            return str((folder / value).resolve())
        return value

    listed = data.get("scenarios")  # checked by parse_scenarios; anything but a list is not read here
    tables = [data.get("base", {}), *(listed if isinstance(listed, list) else [])]
    for table in (t for t in tables if isinstance(t, dict)):
        for key in ("timeline", "program", "rules", "prior"):
            if key in table:
                table[key] = absolute(table[key])
        for key in ("sources", "programs"):
            if isinstance(table.get(key), list):
                table[key] = [absolute(v) for v in table[key]]
    grid = data.get("grid")
    if isinstance(grid, dict):
        for key in ("timeline", "program", "rules", "prior"):
            if isinstance(grid.get(key), list):
                grid[key] = [absolute(v) for v in grid[key]]
        for key in ("sources", "programs"):
            if isinstance(grid.get(key), list):
                grid[key] = [[absolute(v) for v in s] if isinstance(s, list) else s for s in grid[key]]
