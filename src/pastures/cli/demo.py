"""``pastures demo``: run the main job on the bundled, illustrative Juli sample."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pandas as pd

from pastures import schema as S
from pastures.cli._common import echo_problems, fail_on_errors, format_summary
from pastures.io import write_layers, write_table
from pastures.layers import Project, load_project
from pastures.sample import sample_paths
from pastures.summary import community_summary

DEFAULT_OUT = "pastures-demo"


@dataclass
class DemoRun:
    """What the stages of the demo share: the project, the output folder, results."""

    out: Path
    project: Project | None = None
    results: dict[str, Any] = field(default_factory=dict)
    outputs: list[Path] = field(default_factory=list)


def stage_layers(run: DemoRun) -> str:
    """Validate the sample layers, summarise them per community, write the GeoPackage."""
    paths = sample_paths()
    project = load_project(**{k: str(v) for k, v in paths.items()})
    echo_problems(project.problems)
    fail_on_errors(project.problems)
    run.project = project
    table = community_summary(project)
    run.results["summary"] = table
    gpkg = run.out / "juli_sample.gpkg"
    write_layers(
        {
            S.COMMUNITIES: project.communities,
            S.PLOTS: project.plots,
            S.CORRALS: project.corrals,
            S.WATER_POINTS: project.water_points,
        },
        gpkg,
    )
    rounded = table.round({S.PLOTS_HA: 2})
    csv = write_table(rounded, run.out / f"{S.SUMMARY}.csv")
    xlsx = write_table(
        rounded.rename(columns=S.SUMMARY_LABELS_ES),
        run.out / "resumen_comunidades.xlsx",
        sheet="resumen",
    )
    run.outputs += [gpkg, csv, xlsx]
    click.echo(format_summary(table))
    with_corrals = int((table[S.N_CORRALS][:-1] > 0).sum())
    return (
        f"{len(project.communities)} communities, {with_corrals} with corrals, "
        f"{len(project.plots)} plots, {project.plots[S.AREA_HA].sum():.1f} ha"
    )


def stage_indices(run: DemoRun) -> str:
    """Make the synthetic Sentinel-2 scenes of the sample and the per-plot index series."""
    from pastures.cli.forage import read_index_table
    from pastures.cli.indices import SERIES_FILE, write_index_tables
    from pastures.sample_imagery import make_sample_scenes

    assert run.project is not None
    items = make_sample_scenes(run.project.plots, run.project.corrals, run.out / "scenes")
    folder = run.out / "indices"
    done = write_index_tables(run.project.plots, items, folder, progress=True)
    run.results["index_table"] = read_index_table(str(folder / f"{SERIES_FILE}.parquet"))
    run.outputs += [run.out / "scenes", *done.files]
    browning = ", ".join(done.browning) or "none"
    return (
        f"{len(items)} synthetic scenes, {done.usable_dates} of {done.dates} dates usable; "
        f"plots browning: {browning}"
    )


def stage_forage(run: DemoRun) -> str:
    """Forage budget from the index series: capacity against stocking, dry-season deficit."""
    from pastures.cli.forage import write_budget
    from pastures.forage import forage_budget, format_budget

    assert run.project is not None
    budget = forage_budget(run.project, index_table=run.results.get("index_table"))
    run.results["forage"] = budget
    click.echo(format_budget(budget))
    run.outputs += write_budget(budget, run.out / "forage", communities=run.project.communities)
    total = budget.communities.iloc[-1]
    return (
        f"stocking {total[S.STOCKING_UO]:,.0f} UO against a capacity of "
        f"{total[S.CAPACITY_UO]:,.0f} UO"
    )


def stage_rotation(run: DemoRun) -> str:
    """Plan 52 weeks of grazing with the MILP solver; write schedule, calendar, Gantt chart."""
    from pastures.rotation import plan_rotation, rotation_inputs_from_project
    from pastures.rotation_io import schedule_table, write_plan_outputs

    assert run.project is not None
    inputs = rotation_inputs_from_project(run.project)
    plan = plan_rotation(inputs)
    run.results["rotation"] = plan
    run.outputs += write_plan_outputs(plan, run.out / "rotation")
    schedule = schedule_table(plan)
    run.results["schedule"] = schedule
    for note in plan.notes[:5]:
        click.echo(f"      {note.message}")
    gap = f"{plan.gap:.2%}" if plan.gap is not None else "n/a"
    return (
        f"{len(inputs.herds)} herd groups, {len(inputs.locations)} locations, "
        f"{inputs.n_periods} weeks: {plan.status}, gap {gap}, forage shortfall "
        f"{plan.breakdown.shortfall_kg / 1000:,.0f} t DM"
    )


def _stocking_from_schedule(run: DemoRun) -> pd.DataFrame | None:
    """Mean UO on each plot over the planned year, against the plot's forage capacity."""
    schedule = run.results.get("schedule")
    budget = run.results.get("forage")
    plan = run.results.get("rotation")
    if schedule is None or budget is None or plan is None:
        return None
    plots = schedule[schedule[S.LOCATION_KIND] == "plot"]
    horizon_days = plan.inputs.n_periods * plan.inputs.period_days
    uo_days = (plots[S.HERD_UO] * plots[S.DAYS]).groupby(plots[S.LOCATION_ID]).sum()
    table = budget.plots[[S.PLOT_CODE, S.CAPACITY_UO]].copy()
    table[S.STOCKING_UO] = table[S.PLOT_CODE].map(uo_days / horizon_days).fillna(0.0)
    return pd.DataFrame(table[[S.PLOT_CODE, S.STOCKING_UO, S.CAPACITY_UO]])


def stage_risk(run: DemoRun) -> str:
    """RUSLE soil loss on the synthetic terrain, grazing pressure from the plan, risk per plot."""
    from pastures.cli.risk import summarise, write_outputs
    from pastures.erosion import assess_risk
    from pastures.sample_terrain import make_sample_dem, sample_dry_season_ndvi

    assert run.project is not None
    terrain = make_sample_dem()
    result = assess_risk(
        terrain.dem,
        run.project.plots,
        ndvi=sample_dry_season_ndvi(terrain),
        stocking=_stocking_from_schedule(run),
        corrals=run.project.corrals,
        water_points=run.project.water_points,
    )
    written = write_outputs(
        result, run.out / "risk", tags={"SAMPLE": "SYNTHETIC terrain and NDVI, illustrative"}
    )
    run.outputs += list(written.values())
    click.echo(summarise(result, top=5))
    return (
        f"soil loss of the {len(run.project.plots)} plots: {result.total_soil_loss_t_yr:,.0f} t/yr"
    )


#: The stages of the demo, in order: (title, function returning a one-line result).
STAGES: list[tuple[str, Callable[[DemoRun], str]]] = [
    ("Layers: validate, summarise, write GeoPackage", stage_layers),
    ("Vegetation: synthetic Sentinel-2 scenes, per-plot indices and trends", stage_indices),
    ("Forage: production, carrying capacity, stocking, dry-season deficit", stage_forage),
    ("Rotation: 52-week grazing plan (HiGHS MILP, 60 s limit)", stage_rotation),
    ("Erosion: RUSLE on synthetic terrain, grazing pressure, risk per plot", stage_risk),
]


@click.command("demo")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Folder for the outputs (created if needed; files in it are replaced).",
)
def command(out: Path) -> None:
    """Run every stage on the bundled Juli sample and write the results to --out.

    The sample layers (14 communities, fenced plots in 11 of them, corrals,
    water points and a herd register of 250 families) are ILLUSTRATIVE: built
    from the published facts of the Juli project, not official boundaries. They
    go through exactly the code that real files go through.

    Open juli_sample.gpkg in QGIS; read community_summary.csv in any spreadsheet.
    """
    run = DemoRun(out=out)
    out.mkdir(parents=True, exist_ok=True)
    click.echo("Juli sample (illustrative data, not official boundaries)")
    total = time.perf_counter()
    for k, (title, stage) in enumerate(STAGES, start=1):
        click.secho(f"[{k}/{len(STAGES)}] {title}", bold=True)
        t0 = time.perf_counter()
        result = stage(run)
        click.echo(f"      {result} ({time.perf_counter() - t0:.1f} s)")
    click.echo(f"\nDone in {time.perf_counter() - total:.1f} s. Outputs in {out}/:")
    for path in run.outputs:
        click.echo(f"  {path.relative_to(out) if path.is_relative_to(out) else path}")
