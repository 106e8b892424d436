"""``pastures risk``: soil loss (RUSLE), grazing pressure and risk per plot.

A thin layer over :mod:`pastures.erosion_inputs`, which reads the inputs and runs the
assessment: this module parses the options and prints.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pastures import schema as S
from pastures.cli._command import Command
from pastures.cli._common import (
    SPANISH_FLAG_HELP,
    FiniteRange,
    layer_path,
    output_language,
    project_files,
    resolve_study_area,
    study_area_options,
    write_risk_outputs,
)
from pastures.defaults import (
    DEFAULT_STREAM_THRESHOLD,
    FLOW_METHODS,
    MAX_MONTHLY_RAIN_MM,
    RISK_CSV_DECIMALS,
    RISK_FILES,
    RISK_LAYER,
    STREAM_RULES,
)
from pastures.errors import ParameterError
from pastures.i18n import _, cli_language, format_number

if TYPE_CHECKING:
    from pastures.erosion import RiskAssessment

logger = logging.getLogger(__name__)

raster_path = click.Path(dir_okay=False, exists=False, path_type=str)

#: Output files, by key, and the writer (in :mod:`pastures.writers`).
OUTPUT_FILES = RISK_FILES
CSV_DECIMALS = RISK_CSV_DECIMALS
write_outputs = write_risk_outputs
__all__ = [
    "CSV_DECIMALS",
    "MAX_MONTHLY_RAIN_MM",
    "OUTPUT_FILES",
    "RISK_LAYER",
    "command",
    "summarise",
    "write_outputs",
]


def summarise(result: RiskAssessment, *, top: int = 10) -> str:
    """The ranked plots (rank, code, class, soil loss, drivers) and the totals, as text.

    Headings, class names and totals are in the command line's language; the drivers are
    the assessment's words.

    Parameters
    ----------
    result
        From :func:`pastures.erosion.assess_risk`.
    top
        How many plots to list (0: totals only).

    Returns
    -------
    str
    """
    import pandas as pd

    table = result.plots
    lines = []
    if top:
        columns = [S.RISK_RANK, S.PLOT_CODE, S.RISK_CLASS, S.SOIL_LOSS_T_HA_YR, S.RISK_DRIVERS]
        shown = table.head(top)[columns].copy()
        shown[S.SOIL_LOSS_T_HA_YR] = shown[S.SOIL_LOSS_T_HA_YR].map(
            lambda v: "-" if pd.isna(v) else f"{v:.1f}"
        )
        shown[S.RISK_CLASS] = shown[S.RISK_CLASS].map(lambda c: _(S.RISK_CLASS_NAMES.get(c, c)))
        shown = shown.rename(columns={c: _(S.RISK_HEADINGS[c]) for c in columns})
        lines += [shown.to_string(index=False), ""]
    counts = table[S.RISK_CLASS].value_counts()
    summary = ", ".join(
        f"{counts.get(c, 0)} {_(S.RISK_CLASS_NAMES[c]).lower()}" for c in S.RISK_CLASSES
    )
    lines.append(
        _("{n} plots: {classes}. Soil loss of all plots: {total} t/yr.").format(
            n=len(table),
            classes=summary,
            total=format_number(result.total_soil_loss_t_yr, cli_language()),
        )
    )
    return "\n".join(lines)


def _check_rainfall(text: str | None) -> str | None:
    """Validate --rainfall when the command line is read (usage error before any work)."""
    if text:
        from pastures.erosion_inputs import parse_rainfall

        try:
            parse_rainfall(text)
        except ParameterError as exc:
            raise click.BadParameter(
                str(exc).removeprefix("--rainfall: "), param_hint="--rainfall"
            ) from exc
    return text


@click.command("risk", cls=Command)
@click.option("--dem", type=raster_path, help="DEM GeoTIFF (m); any CRS, reprojected to --crs.")
@click.option("--plots", type=layer_path, help="Pasture plots (polygons with plot_code).")
@click.option(
    "--ndvi",
    type=raster_path,
    help="Dry-season vegetation index raster (-1..1) for C and cover, e.g. "
    "indices/ndvi_dry_season.tif of `pastures run`.",
)
@click.option(
    "--scenes",
    "scene_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=str),
    help="Instead of --ndvi: scene folders or STAC JSON files; C then comes from the median "
    "cloud-masked NDVI of their latest dry season on the DEM grid. Repeat for several.",
)
@click.option(
    "--dry-months",
    default="6,7,8,9,10",
    show_default=True,
    metavar="M,M,...",
    help="With --scenes: months of the dry season.",
)
@click.option(
    "--c-factor",
    type=FiniteRange(0, 1),
    default=None,
    help="C value (0-1) for every pixel, when no --ndvi is given.",
)
@click.option(
    "--c-raster",
    type=raster_path,
    default=None,
    help="C raster (0-1), e.g. land cover mapped to C as InVEST's usle_c, instead of "
    "--ndvi or --c-factor; resampled onto the DEM grid by nearest neighbour.",
)
@click.option(
    "--erosivity",
    type=FiniteRange(0, 100_000, unit="MJ·mm/ha/h/yr"),
    default=None,
    help="R (MJ·mm/ha/h/yr). Default: from --rainfall (see --erosivity-method).",
)
@click.option("--erosivity-raster", type=raster_path, help="R raster (e.g. PISCO_reed).")
@click.option(
    "--rainfall",
    metavar="J,F,...,D",
    default=None,
    callback=lambda _ctx, _param, value: _check_rainfall(value),
    help="Twelve monthly rainfall totals (mm) for R; default SENAMHI Juli 1991-2020.",
)
@click.option(
    "--erosivity-method",
    type=click.Choice(["annual", "fournier"]),
    default="annual",
    show_default=True,
    help="Renard & Freimund (1994) form for R: annual rainfall or modified Fournier index.",
)
@click.option(
    "--erodibility",
    type=FiniteRange(0, 0.1, unit="t·ha·h/ha/MJ/mm"),
    default=0.03,
    show_default=True,
    help="K (t·ha·h/ha/MJ/mm, SI units); no published Titicaca value: replace it.",
)
@click.option("--erodibility-raster", type=raster_path, help="K raster (SI units).")
@click.option("--soils", type=layer_path, help="Soil polygons with a K column (SI units).")
@click.option("--soils-k-column", default="k", show_default=True, help="K column of --soils.")
@click.option(
    "--flow",
    type=click.Choice(FLOW_METHODS),
    default="d8",
    show_default=True,
    help="Flow routing for LS: D8, or multiple flow directions in proportion to slope. "
    "Our default D8 (InVEST SDR has none): faster, and its flow accumulation is an exact "
    "count of upslope pixels.",
)
@click.option(
    "--l-max",
    type=FiniteRange(0, 1000, lo_open=True),
    default=25.0,
    show_default=True,
    help="Upper bound of the slope-length factor L. Our default 25 (InVEST SDR has none): "
    "bounds L on valley floors and drainage lines, where RUSLE does not apply.",
)
@click.option(
    "--streams",
    type=click.Choice(STREAM_RULES),
    default="keep",
    show_default=True,
    help="Soil loss on stream pixels (flow accumulation > --stream-threshold): keep it, or "
    "leave it empty as InVEST SDR does (plot means and totals then cover hillslopes only); "
    "'invest' also finds MFD streams and weights as InVEST SDR 3.20 does, to reproduce its "
    "numbers. The choice is written in the outputs.",
)
@click.option(
    "--stream-threshold",
    type=click.FloatRange(min=1),
    default=DEFAULT_STREAM_THRESHOLD,
    show_default=True,
    metavar="PIXELS",
    help="With --streams empty: flow accumulation (pixels) above which a pixel is a stream, "
    "as InVEST's threshold_flow_accumulation.",
)
@click.option(
    "--resolution",
    type=FiniteRange(1, 1000, unit="m"),
    default=None,
    help="Pixel side (m) of the working grid. Default: the DEM's.",
)
@click.option(
    "--stocking",
    type=layer_path,
    help="CSV/XLSX with plot_code, stocking_uo, capacity_uo (UO) for grazing pressure.",
)
@click.option("--corrals", type=layer_path, help="Corrals, for piosphere weighting.")
@click.option("--water", type=layer_path, help="Water points, for piosphere weighting.")
@click.option(
    "--piosphere-decay",
    type=FiniteRange(0, 100_000, lo_open=True, unit="m"),
    default=None,
    metavar="M",
    help="Spread pressure within plots by exp(-distance/M) from corrals and water.",
)
@click.option(
    "--crs",
    default=S.WORKING_CRS,
    show_default=True,
    metavar="CRS",
    help="Working CRS (projected, metres); with --bounds, --boundary or --project, the "
    "area's own unless given.",
)
@study_area_options(kinds=True)
@click.option(
    "--params",
    "params_path",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="TOML file of settings ([rusle], [cover], [practices], [pressure], [risk]); "
    "options given on the command line take precedence. Default: the [risk] of --project, "
    "if given.",
)
@click.option(
    "--sample",
    is_flag=True,
    help="Use the SYNTHETIC Juli DEM and dry-season NDVI with the bundled sample plots.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output folder for the rasters and the plot table.",
)
@click.option("--spanish", "--es", "spanish", is_flag=True, hidden=True, help=SPANISH_FLAG_HELP)
@click.option(
    "--top",
    type=FiniteRange(0, 100_000, integer=True),
    default=10,
    show_default=True,
    help="How many ranked plots to print.",
)
def command(
    dem: str | None,
    plots: str | None,
    ndvi: str | None,
    scene_paths: tuple[str, ...],
    dry_months: str,
    c_factor: float | None,
    c_raster: str | None,
    erosivity: float | None,
    erosivity_raster: str | None,
    rainfall: str | None,
    erosivity_method: str,
    erodibility: float,
    erodibility_raster: str | None,
    soils: str | None,
    soils_k_column: str,
    flow: str,
    l_max: float,
    streams: str,
    stream_threshold: float,
    resolution: float | None,
    stocking: str | None,
    corrals: str | None,
    water: str | None,
    piosphere_decay: float | None,
    crs: str,
    project_path: str | None,
    bounds: str | None,
    boundary: str | None,
    field_map: tuple[str, ...],
    default_map: tuple[str, ...],
    params_path: str | None,
    sample: bool,
    out: Path,
    spanish: bool,
    top: int,
) -> None:
    """Soil loss by RUSLE, grazing pressure and erosion risk per plot.

    Computes A = R·K·LS·C·P (t/ha/yr) on the DEM grid: LS from the terrain
    (Priority-Flood, D8 or MFD, Desmet & Govers 1996 as in InVEST SDR), C from
    a dry-season NDVI (van der Knijff et al. 2000), P from the plots' practices
    (columns terraces, contour_works). With --stocking, adds grazing pressure
    (stocking / capacity) and raises the risk class of overstocked plots.

    Writes to --out: soil_loss_t_ha_yr.tif, ls_factor.tif, c_factor.tif,
    risk_class.tif (COG; grazing_pressure.tif with --stocking), risk_plots.csv
    and risk_plots.gpkg: the plots ranked for rest or protection, with their
    drivers in words. No-data (DEM holes, the lake) stays no-data.

    \b
    Examples:
      pastures risk --sample --out riesgo
      pastures risk --dem dem.tif --plots parcelas.gpkg --ndvi ndvi_seco.tif --out riesgo
      pastures risk --dem dem.tif --plots parcelas.gpkg --c-raster c_cobertura.tif --out riesgo
      pastures risk --dem dem.tif --plots parcelas.gpkg --ndvi ndvi_seco.tif \\
          --flow mfd --streams empty --stream-threshold 1000 --out como_invest
      pastures risk --dem dem.tif --plots parcelas.gpkg --c-factor 0.2 \\
          --stocking carga.csv --corrals corrales.gpx --piosphere-decay 800 --out riesgo
      pastures risk --dem DEM_gura.tif --plots subwatersheds_gura.shp \\
          --field plot_code=subws_id --c-raster c_gura.tif \\
          --boundary watershed_gura.shp --out gura

    The plots must lie within 25 km of the district of Juli unless a study area
    is given (--bounds, --boundary, or --project with its CRS, field mapping,
    defaults, plots and DEM); only their plot_code is needed.
    """
    from pastures.erosion_inputs import RiskRequest, assess_from_files, usage_problems

    ctx = click.get_current_context()
    setup = resolve_study_area(
        project=project_path,
        bounds=bounds,
        boundary=boundary,
        crs=crs,
        field_map=field_map,
        default_map=default_map,
        files={S.PLOTS: plots, S.CORRALS: corrals, S.WATER_POINTS: water},
    )
    own = project_files(setup, {S.PLOTS: plots, S.CORRALS: corrals, S.WATER_POINTS: water})
    if dem is None and setup.project is not None and setup.project.dem.path is not None:
        dem = str(setup.project.dem.path)
    typed = frozenset(
        name
        for name in ctx.params
        if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
    )
    request = RiskRequest(
        out=out,
        dem=dem,
        plots=own[S.PLOTS],
        ndvi=ndvi,
        scenes=scene_paths,
        dry_months=dry_months,
        c_factor=c_factor,
        c_raster=c_raster,
        erosivity=erosivity,
        erosivity_raster=erosivity_raster,
        rainfall=rainfall,
        erosivity_method=erosivity_method,
        erodibility=erodibility,
        erodibility_raster=erodibility_raster,
        soils=soils,
        soils_k_column=soils_k_column,
        flow=flow,
        l_max=l_max,
        streams=streams,
        stream_threshold=stream_threshold,
        resolution=resolution,
        stocking=stocking,
        corrals=own[S.CORRALS],
        water=own[S.WATER_POINTS],
        piosphere_decay=piosphere_decay,
        params_path=params_path,
        sample=sample,
        language=output_language(setup, spanish_flag=spanish),
        setup=setup,
        typed=typed,
    )
    wrong = usage_problems(request)
    if wrong:
        raise click.UsageError(" ".join(wrong))
    run = assess_from_files(request)
    for text in run.warnings:
        click.secho(f"  {text}" if text.startswith("[") else text, err=True, fg="yellow")
    written = write_outputs(run.result, out, tags=run.tags)
    result = run.result
    click.echo(summarise(result, top=top))
    click.echo(f"(R {run.tags['EROSIVITY_R']}, K {run.tags['ERODIBILITY_K']})")
    click.echo(
        f"Soil loss {result.streams_note}"
        + (f": {result.stream_pixels:,} pixel(s) left empty." if result.stream_pixels else ".")
    )
    click.echo(_("Wrote {written} files to {out}.").format(written=len(written), out=out), err=True)
