"""What `solve` prints for a joint plan: one row per program, the stages, the windows not served."""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.plans.joint_result import MOVED_HOURS, JointResult, displacement_hours, served_observations

if TYPE_CHECKING:
    import pandas as pd
from planner.views.console import Table, print_json
from planner.views.terminal import console, styled


def program_rows(plan: pd.DataFrame, programs: list[dict]) -> list[dict]:
    """Per program: observations served, runs placed, and how regular (a weekly series: Σ|gap -
    m·target| in seconds, the largest deviation in hours) or displaced (campaign runs: mean and
    largest |run - preferred time| in hours, runs moved by more than an hour) its runs are."""
    rows = []
    modes = {p["name"]: p["mode"] for p in programs}
    campaigns = {p["name"] for p in programs if "campaigns" in p}
    for name, group in plan.groupby("program", sort=False):
        placed = group[group["slew_time"].notna()]
        served, observations = served_observations(group)
        row = {
            "program": name,
            "mode": modes.get(name, ""),
            "observations": observations,
            "served": served,
            "runs": len(group),
            "placed": len(placed),
        }
        if name not in campaigns:  # a weekly series
            deviation = placed["deviation_hours"].dropna()
            row |= {
                "sum_abs_deviation_s": round(float(deviation.abs().sum()) * 3600),
                "largest_deviation_hours": float(deviation.abs().max()) if len(deviation) else 0.0,
            }
        else:
            moved = displacement_hours(placed)
            row |= {
                "mean_displacement_hours": float(moved.mean()) if len(moved) else 0.0,
                "largest_displacement_hours": float(moved.max()) if len(moved) else 0.0,
                "runs_moved": int((moved > MOVED_HOURS).sum()),
            }
        rows.append(row)
    return rows


def joint_document(result: JointResult, written: str | None) -> dict:
    return {
        "status": result.status.value,
        "plan": written,
        "stages": [
            {
                "name": s.name,
                "status": s.status.value,
                "value": s.value,
                "bound": s.bound,
                "seconds": s.seconds,
            }
            for s in result.stages
        ],
        "programs": program_rows(result.plan, result.programs),
        "unserved": result.unserved,
        "solve_seconds": round(result.solve_seconds, 3),
        "build_seconds": round(result.build_seconds, 3),
    }


def print_joint(
    result: JointResult, written: str | None, *, as_json: bool = False, quiet: bool = False
) -> None:
    if as_json:
        print_json(joint_document(result, written))
        return
    rows = program_rows(result.plan, result.programs)
    if not quiet:
        table = Table("program", "mode", "served", "runs", "regularity or displacement", title="Joint plan")
        for row in rows:
            if "sum_abs_deviation_s" in row:
                measure = (
                    f"Σ|gap - m·target| {row['sum_abs_deviation_s']:,} s, "
                    f"worst {row['largest_deviation_hours']:.1f} h"
                )
            else:
                measure = (
                    f"moved {row['runs_moved']} runs > 1 h; mean {row['mean_displacement_hours']:.1f} h, "
                    f"worst {row['largest_displacement_hours']:.1f} h"
                )
            table.add_row(
                row["program"], row["mode"], f"{row['served']}/{row['observations']}",
                f"{row['placed']}/{row['runs']}", measure,
            )  # fmt: skip
        console.print(table)
        for label, why in result.unserved.items():
            console.print(styled(("not served", "yellow"), f" {label}: {why}"))
    stages = "; ".join(
        f"{s.name} {s.value:,}"
        + ("" if s.name == "served" else " s")
        + ("" if s.proven else f" (bound {s.bound:,.0f})")
        for s in result.stages
    )
    served = sum(r["served"] for r in rows)
    total = sum(r["observations"] for r in rows)
    console.print(
        styled(
            (result.status.value, "bold"),
            f": {len(rows)} programs co-planned, {served}/{total} observations served; stages {stages} "
            f"(served: priority left unserved); solve {result.solve_seconds:.2f} s "
            f"(build {result.build_seconds:.2f} s)" + (f"; plan written to {written}" if written else ""),
        )
    )


def joint_comparison_document(comparisons, plan: str) -> dict:
    """`compare --json` of a joint plan: per program its numbers, and a weekly series' intervals
    (summary and week by week) as `compare --json` gives them for a one-program plan."""
    from planner.views.console import comparison_document

    programs = []
    for c in comparisons:
        row = c.row()
        if c.intervals is not None:
            document = comparison_document(c.intervals, plan)
            row["intervals"] = {key: document[key] for key in ("summary", "weeks")}
        programs.append(row)
    return {"plan": plan, "programs": programs}


def print_joint_comparison(comparisons, plan: str, *, as_json: bool = False) -> None:
    """Per program: observations served and runs placed by the plan beside those flown; how many
    planned runs sit on slews the program flew on; then each weekly series' intervals."""
    from rich.markup import escape

    from planner.views.console import print_comparison

    if as_json:
        print_json(joint_comparison_document(comparisons, plan))
        return
    table = Table(
        "program", "mode", "observations plan/flown", "runs plan/flown", "on a flown slew",
        "plan - nearest flown (median, worst)", "moved > 1 h", title=f"{plan} beside the runs flown",
    )  # fmt: skip
    for c in comparisons:
        row = c.row()
        distance = (
            "-"
            if row["median_from_flown_hours"] is None
            else f"{row['median_from_flown_hours']:.1f} h, {row['largest_from_flown_hours']:.1f} h"
        )
        table.add_row(
            escape(row["program"]), escape(row["mode"]),
            f"{row['served']}/{row['observations']} · {row['flown_observations']}/{row['observations']}",
            f"{row['placed']}/{row['runs']} · {row['flown']}", f"{row['on_flown_slew']}/{row['placed']}",
            distance, "-" if c.weekly else str(row["moved"]),
        )  # fmt: skip
    console.print(table)
    for c in comparisons:
        if c.intervals is not None:
            print_comparison(
                c.intervals, c.program.calendar, title=escape(f"{c.program.name}: plan beside the runs flown")
            )
    console.print(
        "observations: served by the plan · whose window holds as many flown runs as it has runs; runs: "
        "placed by the plan · flown in the program's span (by program id)"
    )
