"""The joint model against the brute-force oracle, and the joint plan against its checker."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.errors import OptionError
from planner.plans.joint_checker import check_joint
from planner.problem.calendar import DAY
from planner.problem.joint import JointInstance
from planner.problem.program import Campaign, Program, load_program
from planner.schedules.report import Attached
from planner.solver.joint import solve_joint, stage_names
from planner.solver.joint_oracle import brute_force
from tests.helpers import START, timeline, visit

INSTRUMENTS = ["NIRCam Imaging", "MIRI Imaging", "NIRSpec MultiObject Spectroscopy", "NIRISS Imaging"]
HOUR = 3600


def anneals(count: int = 3, priority: int = 1) -> Program:
    """The seed's anneals on 1-day windows every 2 days from 2023-07-03."""
    program = load_program("seed-4485").with_calendar(
        start="2023-07-03", count=count, window_days=1, target_days=2
    )
    return replace(program, priority=priority)


def campaigns(name: str, ids: tuple[int, ...], mode: str, avoid: str, *windows, priority: int = 1) -> Program:
    """A campaign program; each window (start day, end day, iterations, separation hours)."""
    return Program(
        name=name, program_ids=ids, mode=mode, avoid=(avoid,), duration_minutes=10, recovery_minutes=0,
        min_slew_minutes=0, priority=priority,
        campaigns=tuple(Campaign(START + round(a * DAY), START + round(b * DAY), n, s)
                        for a, b, n, s in windows),
    )  # fmt: skip


LAMP = ("lamp", (4461,), "NIRSpec Internal Lamp", "NIRSpec")
FLAT = ("flat", (4472,), "NIRISS Internal Flat", "NIRISS")


@st.composite
def joint_instances(draw, programs: int = 2):
    days = draw(st.lists(st.integers(0, 47), min_size=3, max_size=9, unique=True))
    kinds = draw(st.lists(st.integers(0, 3), min_size=len(days), max_size=len(days)))
    frame = timeline(*(visit(h / 8, INSTRUMENTS[k]) for h, k in zip(days, kinds, strict=True)))
    chosen = [anneals(count=draw(st.integers(1, 3)), priority=draw(st.integers(1, 3)))]
    for spec in (LAMP, FLAT)[: programs - 1]:
        windows = []
        for _ in range(draw(st.integers(1, 2))):
            start = draw(st.integers(0, 8)) / 2
            windows.append(
                (
                    start,
                    start + draw(st.integers(1, 4)) / 2,
                    draw(st.integers(1, 2)),
                    draw(st.sampled_from([0, 2, 9])),
                )
            )
        chosen.append(campaigns(*spec, *windows, priority=draw(st.integers(1, 3))))
    return JointInstance(timeline=frame, programs=tuple(chosen), rules="seed")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(joint_instances(programs=2))
def test_two_programs_match_the_brute_force_oracle(instance):
    result = solve_joint(instance)
    assert result.status.value == "OPTIMAL"
    assert {s.name: s.value for s in result.stages} == brute_force(instance)
    # the anneals alone on the freed slews bound them when all are served (others only take slews)
    if result.value("served") == 0:
        assert result.value("regular") >= result.alone["seed-4485"]
    assert not check_joint(result.plan, instance)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(joint_instances(programs=3))
def test_three_programs_match_the_brute_force_oracle(instance):
    result = solve_joint(instance)
    assert {s.name: s.value for s in result.stages} == brute_force(instance)


def test_a_contested_window_goes_to_the_higher_priority():
    """One slew on day 1 (not into NIRSpec or MIRI): the anneal window of day 1 and a lamp campaign
    both want it. With the lamp's priority 3 against the anneal's 1 the lamp takes it, the anneal is
    left out, and the checker accepts that (its window has no free eligible slew)."""
    frame = timeline(visit(0.5), visit(1.5, "MIRI Imaging"))
    lamp = campaigns(*LAMP, (0, 1, 1, 0), priority=3)
    instance = JointInstance(timeline=frame, programs=(anneals(count=1), lamp), rules="seed")
    result = solve_joint(instance)
    served = result.plan.dropna(subset=["slew_time"])
    assert served["program"].tolist() == ["lamp"] and result.value("served") == 1
    assert result.unserved["Anneal 01"].startswith("its 1 eligible slews carry lamp 01;")
    low = JointInstance(timeline=frame, programs=(anneals(count=1, priority=5), lamp), rules="seed")
    assert solve_joint(low).plan.dropna(subset=["slew_time"])["program"].tolist() == ["seed-4485"]


def test_freed_slews_carry_other_programs():
    """The lamp flew on the only slew of the anneal's window: co-planned, that slew is free, and the
    lamp moves to its other slew so that the anneal is served."""
    flown = [Attached("PARALLEL SLEW CALIBRATION", "NIRSpec Internal Lamp", "4461:1:1")]
    frame = timeline(visit(0.5, parallels=flown), visit(1.25))
    lamp = campaigns(*LAMP, (0, 2, 1, 0))
    result = solve_joint(JointInstance(timeline=frame, programs=(anneals(count=1), lamp), rules="seed"))
    placed = result.plan.set_index("program")["slew_time"]
    assert placed["seed-4485"].timestamp() == START + DAY // 2
    assert placed["lamp"].timestamp() == START + round(1.25 * DAY)


def test_the_checker_names_program_observation_and_rule():
    frame = timeline(visit(0.25), visit(0.5), visit(0.6), visit(2.5))
    lamp = campaigns(*LAMP, (0, 1, 2, 4))
    instance = JointInstance(timeline=frame, programs=(anneals(count=2), lamp), rules="seed")
    result = solve_joint(instance)
    plan = result.plan
    lamp_rows = plan.index[plan["program"] == "lamp"]
    anneal = plan.index[(plan["program"] == "seed-4485") & plan["slew_time"].notna()][0]
    shared = plan.copy()
    shared.loc[lamp_rows[0], ["slew_time", "visit_id"]] = plan.loc[anneal, ["slew_time", "visit_id"]]
    rules = {v.rule for v in check_joint(shared, instance)}
    assert "shared-slew" in rules
    partial = plan.copy()
    partial.loc[lamp_rows[1], "slew_time"] = None
    found = check_joint(partial, instance)
    assert [(v.program, v.observation, v.rule) for v in found] == [("lamp", 1, "partial")]
    close = plan.copy()
    for row, day, visit_id in ((lamp_rows[0], 0.5, "9999:500:1"), (lamp_rows[1], 0.6, "9999:600:1")):
        close.loc[row, "slew_time"] = pd.Timestamp(START + round(day * DAY), unit="s", tz="UTC")
        close.loc[row, "visit_id"] = visit_id
    assert "separation" in {v.rule for v in check_joint(close, instance)}
    dropped = plan.copy()
    dropped.loc[anneal, "slew_time"] = None
    assert "left-out" in {v.rule for v in check_joint(dropped, instance)}
    assert any(v.rule == "objective" for v in check_joint(plan, instance, claimed={"served": 7}))


def test_conflicting_programs_are_one_line():
    frame = timeline(visit(0.5))
    lamp = campaigns(*LAMP, (0, 1, 1, 0))
    twin = replace(lamp, name="lamp-again")
    with pytest.raises(OptionError, match="lamp and lamp-again both claim program 4461"):
        JointInstance(timeline=frame, programs=(lamp, twin))
    anonymous = replace(lamp, program_ids=())
    with pytest.raises(OptionError, match="both claim mode 'NIRSpec Internal Lamp' without program ids"):
        JointInstance(timeline=frame, programs=(anonymous, replace(anonymous, name="other")))


def test_one_weekly_program_alone_is_the_single_program_optimum():
    """The joint model of the anneals alone finds the single-program planner's optimum, windows
    without an eligible slew measured across as the planner measures them."""
    from planner.problem.instance import Instance
    from planner.solver.solve import solve

    days = [0.3, 0.7, 2.2, 2.9, 4.4, 6.1, 6.6, 8.5]
    frame = timeline(*(visit(d, INSTRUMENTS[i % 2]) for i, d in enumerate(days)))
    program = anneals(count=5)
    single = solve(Instance(timeline=frame, program=program, rules="seed"))
    joint_instance = JointInstance(timeline=frame, programs=(program,), rules="seed")
    joint = solve_joint(joint_instance)
    assert stage_names(joint_instance.programs) == ["served", "regular"]
    assert joint.value("regular") == single.value == joint.alone["seed-4485"]  # alone: the DP's
    assert joint.value("served") == len(single.missing) == brute_force(joint_instance)["served"]


def test_a_slew_carrying_a_program_not_planned_stays_taken_whatever_its_mode():
    """Program 4463's lamp flew on the day-0.5 slew and 4463 is not planned: lamp 4461 (the same mode)
    must take the other slew, and the checker refuses a plan that puts it on 4463's."""
    other = [Attached("PARALLEL SLEW CALIBRATION", "NIRSpec Internal Lamp", "4463:1:1")]
    frame = timeline(visit(0.5, parallels=other), visit(0.75))
    instance = JointInstance(timeline=frame, programs=(campaigns(*LAMP, (0, 1, 1, 0)),), rules="seed")
    result = solve_joint(instance)
    assert result.plan["slew_time"].iloc[0].timestamp() == START + round(0.75 * DAY)
    moved = result.plan.copy()
    moved.loc[0, "slew_time"] = pd.Timestamp(START + DAY // 2, unit="s", tz="UTC")
    moved.loc[0, "visit_id"] = "9999:500:1"
    found = check_joint(moved, instance)
    assert [v.rule for v in found] == ["carries-slew-parallel"] and "4463:1:1" in found[0].detail


def test_a_time_limit_keeps_the_known_plan_and_claims_no_proof():
    """No search at all (CP-SAT's deterministic time limit 0, so the outcome does not depend on the
    machine's speed): every stage keeps the heuristic plan it was hinted, UNKNOWN with bound 0, and
    the plan (checked inside solve_joint) is FEASIBLE, never OPTIMAL."""
    from planner.problem.settings import SolverSettings

    frame = timeline(*(visit(d, INSTRUMENTS[i % 3]) for i, d in enumerate([0.2, 0.5, 0.9, 2.3, 2.6, 4.4])))
    lamp = campaigns(*LAMP, (0, 3, 2, 2))
    instance = JointInstance(timeline=frame, programs=(anneals(count=3), lamp), rules="seed")
    result = solve_joint(instance, SolverSettings(params=(("max_deterministic_time", "0"),)))
    assert result.status.value == "FEASIBLE"
    assert all(s.status.value == "UNKNOWN" and s.plan_from == "hint" and s.bound == 0 for s in result.stages)
    assert not check_joint(result.plan, instance, claimed={s.name: s.value for s in result.stages})


def test_a_gap_limit_never_makes_a_stage_optimal_and_values_are_the_final_plans():
    """CP-SAT calls a plan within a --param gap limit OPTIMAL: the stage is FEASIBLE unless its value
    meets its bound, and every stage states its value on the plan returned (a later stage may lower
    an unproven one), as the checker inside solve_joint verifies."""
    from planner.problem.settings import SolverSettings

    days = [0.2, 0.5, 0.9, 2.3, 2.6, 2.8, 4.4, 4.5, 4.9, 6.1, 6.3, 6.7]
    frame = timeline(*(visit(d, INSTRUMENTS[i % 3]) for i, d in enumerate(days)))
    lamp = campaigns(*LAMP, (0, 5, 3, 4), (2, 7, 2, 2))
    instance = JointInstance(timeline=frame, programs=(anneals(count=4), lamp), rules="seed")
    result = solve_joint(instance, SolverSettings(params=(("relative_gap_limit", "0.99"),)))
    exact, proven_so_far = brute_force(instance), True
    for stage in result.stages:
        assert stage.status.value != "OPTIMAL" or stage.value <= math.ceil(stage.bound)
        proven_so_far = proven_so_far and stage.proven
        if proven_so_far:  # lexicographically proven up to here: the optimum
            assert stage.value == exact[stage.name]


def test_overlapping_windows_with_minimax_co_plan(tmp_path):
    """Windows longer than the interval overlap; the arcs keep only slews in time order."""
    days = [0.2, 0.5, 1.9, 2.2, 2.6, 4.1, 4.5, 5.5]
    frame = timeline(*(visit(d) for d in days))
    weekly = replace(
        load_program("seed-4485").with_calendar(start="2023-07-03", count=3, window_days=3, target_days=2),
        objective="minimax",
    )
    instance = JointInstance(timeline=frame, programs=(weekly, campaigns(*LAMP, (0, 6, 1, 0))), rules="seed")
    result = solve_joint(instance)
    assert result.status.value == "OPTIMAL"
    assert {s.name: s.value for s in result.stages} == brute_force(instance)


def test_weekly_programs_with_two_objectives_and_a_huge_model_are_refused():
    frame = timeline(visit(0.5))
    minimax = replace(anneals(), objective="minimax")
    other = replace(anneals(), name="other", program_ids=(9999,), mode="NIRSpec Internal Lamp")
    with pytest.raises(OptionError, match=r"seed-4485 \(minimax\) and other \(regular\): weekly programs"):
        JointInstance(timeline=frame, programs=(minimax, other))
    many = timeline(*(visit(d / 50) for d in range(1, 500)))
    huge = campaigns(*LAMP, *[(0, 10, 100, 0)] * 30)
    with pytest.raises(OptionError, match=r"\(run, eligible slew\) choices, at most 1,000,000: the largest"):
        JointInstance(timeline=many, programs=(huge,), rules="seed")


def test_a_campaign_whose_runs_cannot_be_separated_says_so():
    frame = timeline(visit(0.5), visit(0.6))
    lamp = campaigns(*LAMP, (0, 1, 2, 12))  # two runs 12 h apart; its two slews are 2.4 h apart
    result = solve_joint(JointInstance(timeline=frame, programs=(lamp,), rules="seed"))
    assert result.unserved == {"lamp 01": "its 2 eligible slews cannot hold its 2 runs 12 h apart"}


@st.composite
def two_weekly_instances(draw):
    """Two weekly programs (the seed's anneals and a weekly lamp) sharing one objective, a campaign,
    windows widened or not: the cases the model treats apart (two paths, minimax and mean, widening)."""
    days = draw(st.lists(st.integers(0, 47), min_size=3, max_size=9, unique=True))
    kinds = draw(st.lists(st.integers(0, 3), min_size=len(days), max_size=len(days)))
    frame = timeline(*(visit(h / 8, INSTRUMENTS[k]) for h, k in zip(days, kinds, strict=True)))
    objective = draw(st.sampled_from(["regular", "minimax", "mean"]))
    first = replace(
        anneals(count=draw(st.integers(1, 3)), priority=draw(st.integers(1, 3))), objective=objective
    )
    second = replace(
        first, name="weekly-lamp", program_ids=(4463,), mode="NIRSpec Internal Lamp", avoid=("NIRSpec",),
        recovery_minutes=0.0, min_slew_minutes=0.0, priority=draw(st.integers(1, 3)),
    )  # fmt: skip
    start = draw(st.integers(0, 8)) / 2
    flat = campaigns(*FLAT, (start, start + draw(st.integers(1, 4)) / 2, draw(st.integers(1, 2)), 2))
    widen = draw(st.sampled_from([0.0, 12.0]))
    return JointInstance(timeline=frame, programs=(first, second, flat), rules="seed", widen_hours=widen)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(two_weekly_instances())
def test_two_weekly_programs_any_objective_and_widening_match_the_oracle(instance):
    result = solve_joint(instance)
    assert result.status.value == "OPTIMAL"
    assert {s.name: s.value for s in result.stages} == brute_force(instance)


def test_widening_reaches_past_a_window_whose_slews_another_program_holds():
    """The anneals' first window (day 0-1) has one slew (day 0.5), and an anneal of program 4486,
    not planned (the same mode: eligible by the rules, taken all the same), holds it. Without
    widening the window cannot be served; widened by 12 h it reaches the free slew at day 1.25 (the
    second window, days 2-3, has its own at day 2.5)."""
    other = [Attached("PARALLEL SLEW CALIBRATION", "MIRI Anneal", "4486:1:1")]
    frame = timeline(visit(0.5, parallels=other), visit(1.25), visit(2.5))
    narrow = JointInstance(timeline=frame, programs=(anneals(count=2),), rules="seed")
    assert len(narrow.observations[0].rows) == 0 and "(carries-slew-parallel)" in narrow.observations[0].why
    wide = JointInstance(timeline=frame, programs=(anneals(count=2),), rules="seed", widen_hours=12)
    first = wide.observations[0]
    assert first.times.tolist() == [START + round(1.25 * DAY)] and first.why == ""
    assert first.start == START - 12 * HOUR
    assert len(solve_joint(wide).plan["slew_time"].dropna()) == 2


def test_a_parameter_cp_sat_rejects_is_the_users_option_not_a_bug():
    """As for one program (planner.solver.solve.stage_status): --param linearization_level=-5 makes
    CP-SAT answer MODEL_INVALID, which names --param (exit 2), not an internal error."""
    from planner.problem.settings import SolverSettings

    frame = timeline(*(visit(d, INSTRUMENTS[i % 3]) for i, d in enumerate([0.2, 0.5, 0.9, 2.3, 2.6, 4.4])))
    instance = JointInstance(
        timeline=frame, programs=(anneals(count=3), campaigns(*LAMP, (0, 3, 2, 2))), rules="seed"
    )
    with pytest.raises(OptionError, match="--param: CP-SAT rejected the parameters"):
        solve_joint(instance, SolverSettings(params=(("linearization_level", "-5"),)))


def test_the_joint_checker_reads_program_ids_as_the_planner_does():
    """A visit id whose head is a digit Python cannot read as a number ('²', which isdigit) is no
    program's (planner.problem.program.program_id), in the checker as in the planner: kept."""
    from planner.plans.joint_checker import _freed

    kept = [{"visit_type": "PARALLEL SLEW CALIBRATION", "instrument": "MIRI Anneal", "visit_id": "²:1:1"}]
    frame = pd.DataFrame({"parallels": [kept]})
    assert _freed(frame, (anneals(),))["parallels"].tolist() == [kept]
