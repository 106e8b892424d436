"""``pastures risk``: soil loss (RUSLE), grazing pressure and risk per plot."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import click
import geopandas as gpd
import numpy as np
import pandas as pd

from pastures import schema as S
from pastures.cli._common import FiniteRange, echo_problems, fail_on_errors, layer_path
from pastures.erosion import (
    DEFAULT_STREAM_THRESHOLD,
    JULI_MONTHLY_RAIN_MM,
    STREAM_RULES,
    PressureParams,
    RiskAssessment,
    RiskSettings,
    RusleParams,
    erodibility_from_soils,
    load_settings,
    rainfall_erosivity,
)
from pastures.errors import ParameterError, PasturesWarning, Problem
from pastures.terrain import FLOW_METHODS, Dem, read_dem, read_raster_on_grid
from pastures.writers import RISK_CSV_DECIMALS, RISK_FILES, RISK_LAYER, write_risk_outputs

logger = logging.getLogger(__name__)

#: Largest monthly rainfall total accepted by --rainfall (mm); the wettest months on Earth
#: (Cherrapunji) reach about 9,300 mm, the altiplano's wettest about 250 mm.
MAX_MONTHLY_RAIN_MM = 10_000.0

raster_path = click.Path(dir_okay=False, exists=False, path_type=str)

#: Output files, by key, and the writer (in :mod:`pastures.writers`).
OUTPUT_FILES = RISK_FILES
CSV_DECIMALS = RISK_CSV_DECIMALS
write_outputs = write_risk_outputs
__all__ = ["CSV_DECIMALS", "OUTPUT_FILES", "RISK_LAYER", "command", "summarise", "write_outputs"]


def summarise(result: RiskAssessment, *, top: int = 10, spanish: bool = False) -> str:
    """The ranked plots (rank, code, class, soil loss, drivers) and the totals, as text.

    Parameters
    ----------
    result
        From :func:`pastures.erosion.assess_risk`.
    top
        How many plots to list (0: totals only).
    spanish
        Spanish headings, labels and totals.

    Returns
    -------
    str
    """
    table = result.plots
    lines = []
    if top:
        shown = table.head(top)[
            [S.RISK_RANK, S.PLOT_CODE, S.RISK_CLASS, S.SOIL_LOSS_T_HA_YR, S.RISK_DRIVERS]
        ].copy()
        shown[S.SOIL_LOSS_T_HA_YR] = shown[S.SOIL_LOSS_T_HA_YR].map(
            lambda v: "-" if pd.isna(v) else f"{v:.1f}"
        )
        if spanish:
            shown[S.RISK_CLASS] = shown[S.RISK_CLASS].map(
                lambda c: S.RISK_CLASS_LABELS_ES.get(c, c)
            )
            shown = shown.rename(columns=S.RISK_LABELS_ES)
        lines += [shown.to_string(index=False), ""]
    counts = table[S.RISK_CLASS].value_counts()
    if spanish:
        summary = ", ".join(
            f"{counts.get(c, 0)} {S.RISK_CLASS_LABELS_ES[c].lower()}" for c in S.RISK_CLASSES
        )
        lines.append(
            f"{len(table)} parcelas, riesgo: {summary}. Pérdida de suelo de todas las "
            f"parcelas: {result.total_soil_loss_t_yr:,.0f} t/año."
        )
    else:
        summary = ", ".join(f"{counts.get(c, 0)} {c}" for c in S.RISK_CLASSES)
        lines.append(
            f"{len(table)} plots: {summary}. Soil loss of all plots: "
            f"{result.total_soil_loss_t_yr:,.0f} t/yr."
        )
    return "\n".join(lines)


def _parse_rainfall(text: str | None) -> list[float]:
    if not text:
        return list(JULI_MONTHLY_RAIN_MM)
    try:
        values = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError as exc:
        raise click.BadParameter(
            f"takes twelve numbers (mm, Jan-Dec) separated by commas; got {text!r}.",
            param_hint="--rainfall",
        ) from exc
    if len(values) != 12 or not all(
        np.isfinite(v) and 0 <= v <= MAX_MONTHLY_RAIN_MM for v in values
    ):
        raise click.BadParameter(
            f"give twelve finite monthly totals between 0 and {MAX_MONTHLY_RAIN_MM:g} mm, "
            f"January first, separated by commas; got {text!r}.",
            param_hint="--rainfall",
        )
    return values


def _non_finite(value: object, where: str) -> list[str]:
    """Dotted names of the NaN or infinite numbers in a settings dataclass (recursively)."""
    import dataclasses
    import math
    from collections.abc import Mapping

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            bad
            for f in dataclasses.fields(value)
            for bad in _non_finite(getattr(value, f.name), f"{where}.{f.name}".lstrip("."))
        ]
    if isinstance(value, Mapping):
        return [bad for k, v in value.items() for bad in _non_finite(v, f"{where}.{k}")]
    if isinstance(value, list | tuple):
        return [bad for k, v in enumerate(value) for bad in _non_finite(v, f"{where}[{k}]")]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{where} = {value}"]
    return []


def _check_finite_settings(settings: object, path: str) -> None:
    """Refuse NaN or infinity anywhere in a --params file (TOML allows both).

    A NaN erodibility or cover coefficient otherwise makes every pixel NaN, and the
    run ends in the misleading "No plot overlaps valid DEM data".
    """
    bad = _non_finite(settings, "")
    if bad:
        raise ParameterError(
            f"{path}: {', '.join(bad)}: settings must be finite numbers (TOML nan and inf are "
            "not accepted). Give a number or delete the line to use the default."
        )


def _check_rainfall(text: str | None) -> str | None:
    """Validate --rainfall when the command line is read (usage error before any work)."""
    if text:
        _parse_rainfall(text)
    return text


#: Other spellings of the practice columns (case- and accent-insensitive).
PRACTICE_ALIASES = {
    S.TERRACES: ("terraces", "terrazas", "andenes", "terrace"),
    S.CONTOUR_WORKS: ("contour_works", "zanjas", "zanjas_infiltracion", "curvas_nivel", "contour"),
}


def _with_practices(frame: pd.DataFrame, path: str) -> pd.DataFrame:
    """Add the optional practice columns of the plots file, which read_layer leaves out."""
    import pyogrio

    from pastures.layers import fold, match_columns

    try:
        raw = pyogrio.read_dataframe(path, read_geometry=False)
    except Exception:  # noqa: BLE001 - KML/GPX variants: practices are then simply absent
        return frame
    keyed = {fold(str(c)).replace(" ", "_"): c for c in raw.columns}
    code_col = match_columns(list(raw.columns), "plots").get(S.PLOT_CODE)
    if code_col is None:
        return frame
    codes = raw[code_col].astype(str).str.strip()
    out = frame.copy()
    for column, aliases in PRACTICE_ALIASES.items():
        source = next((keyed[a] for a in aliases if a in keyed), None)
        if source is None:
            continue
        values = dict(zip(codes, raw[source], strict=False))
        out[column] = out[S.PLOT_CODE].astype(str).map(values)
        logger.info("P factor: practice column %r read from %s", source, path)
    return out


def _scene_composite(paths: tuple[str, ...], months: str, grid: Dem) -> tuple[np.ndarray, str]:
    """Dry-season median NDVI of a set of scenes on the DEM grid, and its description."""
    from pastures.composites import dry_season_composite
    from pastures.imagery import Grid, load_scenes

    try:
        wanted = [int(m) for m in months.replace(";", ",").split(",") if m.strip()]
    except ValueError as exc:
        raise ParameterError(f"--dry-months takes month numbers 1-12; got {months!r}.") from exc
    scenes, problems = load_scenes(list(paths))
    echo_problems(problems)
    composite, _ = dry_season_composite(
        scenes, Grid(grid.crs, grid.transform, grid.shape), months=wanted
    )
    dates = composite.dates
    return composite.data, f"median NDVI of {len(dates)} dates, {dates[0]} to {dates[-1]}"


def _read_any(path: str) -> gpd.GeoDataFrame:
    """Read a vector file as is (soil maps carry their own columns)."""
    import pyogrio

    from pastures.errors import InputFileError

    if not Path(path).exists():
        raise InputFileError(f"File not found: {path}.")
    try:
        return pyogrio.read_dataframe(path)
    except Exception as exc:
        raise InputFileError(f"Cannot read {path}: {exc}.") from exc


#: Plot fields that describe the plot but do not enter the erosion risk.
DESCRIPTIVE_FIELDS = (S.COMMUNITY, S.PASTURE_TYPE)


def _not_needed_for_risk(problems: list[Problem], path: str) -> list[Problem]:
    """Missing community or pasture type: a warning here, not an error.

    The plot layer's checks ask for them and point to ``--community`` and
    ``--pasture-type``, options of ``pastures import`` only; risk does not use them
    (they are copied to the plot table when present), so it says how to add them.
    """
    out = []
    told = False
    for p in problems:
        if p.rule in ("missing-field", "missing-value") and p.field in DESCRIPTIVE_FIELDS:
            if not told:
                out.append(
                    Problem(
                        "warning",
                        p.rule,
                        "Some plots have no community or pasture type. Erosion risk does "
                        "not need them (the plot table leaves them empty). To add them, "
                        f"fill the fields in QGIS or run `pastures import {Path(path).name} "
                        "--as plots --community NAME --pasture-type TYPE -o plots.gpkg` and "
                        "use plots.gpkg.",
                        p.source,
                        field=p.field,
                    )
                )
                told = True
            continue
        out.append(p)
    return out


def _read_points(path: str | None, kind: str, crs: str) -> gpd.GeoDataFrame | None:
    if not path:
        return None
    from pastures.layers import read_layer

    layer = read_layer(path, kind, crs=crs)  # type: ignore[arg-type]
    echo_problems([p for p in layer.problems if p.severity == "warning"])
    fail_on_errors(layer.problems)
    return layer.frame


@click.command("risk")
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
    help="Working CRS (projected, metres).",
)
@click.option(
    "--params",
    "params_path",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="TOML file of settings ([rusle], [cover], [practices], [pressure], [risk]); "
    "options given on the command line take precedence.",
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
@click.option(
    "--spanish",
    "--es",
    "spanish",
    is_flag=True,
    help="Spanish drivers, actions and labels; Spanish headings in the CSV.",
)
@click.option(
    "--top",
    type=FiniteRange(0, 100_000, integer=True),
    default=10,
    show_default=True,
    help="How many ranked plots to print.",
)
def command(  # noqa: PLR0912, PLR0915
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
    """
    from pastures.erosion import assess_risk
    from pastures.io import read_table
    from pastures.layers import read_layer

    tags: dict[str, str] = {}
    ndvi_array: np.ndarray | None = None
    plots_frame = None
    if sample:
        from pastures.sample import sample_paths
        from pastures.sample_terrain import (
            SYNTHETIC_NOTE,
            make_sample_dem,
            sample_dry_season_ndvi,
        )

        click.echo(
            "SYNTHETIC sample: illustrative Juli terrain and NDVI, not survey data.", err=True
        )
        terrain_sample = make_sample_dem(resolution=resolution or 30.0)
        grid: Dem = terrain_sample.dem
        if ndvi is None and c_factor is None and c_raster is None:
            ndvi_array = sample_dry_season_ndvi(terrain_sample)
        paths = sample_paths()
        plots = plots or str(paths[S.PLOTS])
        corrals = corrals or str(paths[S.CORRALS])
        water = water or str(paths[S.WATER_POINTS])
        tags |= {"SYNTHETIC": "yes", "DESCRIPTION": SYNTHETIC_NOTE}
    else:
        if not dem or not plots:
            raise click.UsageError("Give --dem and --plots (or --sample).")
        grid = read_dem(dem, resolution=resolution, dst_crs=crs)
        tags["SOURCE_DEM"] = Path(dem).name
    if plots is None:  # pragma: no cover - guarded above
        raise click.UsageError("Give --plots.")
    layer = read_layer(plots, "plots", crs=grid.crs)
    problems = _not_needed_for_risk(layer.problems, plots)
    echo_problems([p for p in problems if p.severity == "warning"])
    fail_on_errors(problems)
    plots_frame = _with_practices(layer.frame, plots)

    given_c = [
        name
        for name, value in (
            ("--ndvi", ndvi),
            ("--scenes", scene_paths or None),
            ("--c-factor", c_factor),
            ("--c-raster", c_raster),
        )
        if value is not None
    ]
    if len(given_c) > 1:
        raise click.UsageError(f"Give one source of C, not {' and '.join(given_c)}.")
    if ndvi is not None:
        ndvi_array = read_raster_on_grid(ndvi, grid, name="NDVI")
        tags["SOURCE_NDVI"] = Path(ndvi).name
    elif scene_paths:
        ndvi_array, tags["SOURCE_NDVI"] = _scene_composite(scene_paths, dry_months, grid)
    cover_input: np.ndarray | float | None = c_factor
    if c_raster is not None:
        cover_input = read_raster_on_grid(c_raster, grid, name="C", resampling="nearest")
        tags["SOURCE_C"] = Path(c_raster).name
    settings = load_settings(params_path) if params_path else RiskSettings()
    if params_path:
        _check_finite_settings(settings, params_path)
    ctx = click.get_current_context()

    def chosen(name: str) -> bool:
        """True when the option was typed, or when no settings file stands in for it."""
        source = ctx.get_parameter_source(name)
        return params_path is None or source == click.core.ParameterSource.COMMANDLINE

    if params_path:
        tags["SETTINGS_FILE"] = Path(params_path).name
    R_value = erosivity
    if R_value is None and (chosen("rainfall") or chosen("erosivity_method")):
        method_note = f"Renard & Freimund (1994), {erosivity_method} form"
        R_value = rainfall_erosivity(
            _parse_rainfall(rainfall),
            method=erosivity_method,  # type: ignore[arg-type]
        )
        tags["EROSIVITY_SOURCE"] = f"{method_note} of {'given' if rainfall else 'Juli'} rainfall"
    elif R_value is None:
        R_value = settings.rusle.erosivity
        tags["EROSIVITY_SOURCE"] = f"settings file {Path(str(params_path)).name}"
    if not chosen("erodibility"):
        erodibility = settings.rusle.erodibility
    if not chosen("flow"):
        flow = settings.rusle.flow_method
    if not chosen("l_max"):
        l_max = settings.rusle.l_max
    if not chosen("streams"):
        streams = settings.rusle.streams
    if not chosen("stream_threshold"):
        stream_threshold = settings.rusle.stream_threshold
    if not chosen("piosphere_decay"):
        piosphere_decay = settings.pressure.piosphere_decay_m
    R_raster = (
        read_raster_on_grid(erosivity_raster, grid, name="erosivity") if erosivity_raster else None
    )
    if erodibility_raster and soils:
        raise click.UsageError("Give --erodibility-raster or --soils, not both.")
    K_raster = (
        read_raster_on_grid(erodibility_raster, grid, name="erodibility")
        if erodibility_raster
        else None
    )
    if soils:
        K_raster = erodibility_from_soils(_read_any(soils), grid, column=soils_k_column)
        tags["SOURCE_SOILS"] = Path(soils).name
    params = RusleParams(
        erosivity=R_value,
        erodibility=erodibility,
        flow_method=flow,  # type: ignore[arg-type]
        l_max=l_max,
        cover=settings.rusle.cover,
        streams=streams,  # type: ignore[arg-type]
        stream_threshold=stream_threshold,
    )
    stocking_table = read_table(stocking) if stocking else None
    use_piosphere = piosphere_decay is not None and stocking_table is not None
    corrals_frame = _read_points(corrals, "corrals", grid.crs) if use_piosphere else None
    water_frame = _read_points(water, "water_points", grid.crs) if use_piosphere else None
    if piosphere_decay is not None and stocking_table is None:
        click.secho("--piosphere-decay has no effect without --stocking.", err=True, fg="yellow")
    tags |= {
        "EROSIVITY_R": "raster" if R_raster is not None else f"{R_value:.0f} MJ mm/ha/h/yr",
        "ERODIBILITY_K": "raster" if K_raster is not None else f"{erodibility:g} t ha h/ha/MJ/mm",
        "C_FACTOR": (
            f"van der Knijff 2000, alpha {params.cover.alpha:g}, beta {params.cover.beta:g}"
        )
        if ndvi_array is not None
        else (f"raster {Path(c_raster).name}" if c_raster else f"{c_factor}"),
        "FLOW_METHOD": flow,
        "L_MAX": f"{l_max:g}",
        "SOIL_LOSS_ON_STREAMS": params.streams_note(),
        "PIOSPHERE_DECAY_M": f"{piosphere_decay:g}" if use_piosphere else "none",
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PasturesWarning)
        result = assess_risk(
            grid,
            plots_frame,
            ndvi=ndvi_array,
            cover=cover_input,
            erosivity=R_raster,
            erodibility=K_raster,
            stocking=stocking_table,
            corrals=corrals_frame,
            water_points=water_frame,
            params=params,
            pressure=PressureParams(piosphere_decay_m=piosphere_decay if use_piosphere else None),
            thresholds=settings.thresholds,
            practices=settings.practices,
            language="es" if spanish else "en",
        )
    for w in caught:
        click.secho(f"Warning: {w.message}", err=True, fg="yellow")
    if result.dem_notes:
        tags["DEM_WARNINGS"] = " ".join(result.dem_notes)
    written = write_outputs(result, out, tags=tags, spanish=spanish)

    click.echo(summarise(result, top=top, spanish=spanish))
    click.echo(f"(R {tags['EROSIVITY_R']}, K {tags['ERODIBILITY_K']})")
    click.echo(
        f"Soil loss {result.streams_note}"
        + (f": {result.stream_pixels:,} pixel(s) left empty." if result.stream_pixels else ".")
    )
    click.echo(f"Wrote {len(written)} files to {out}.", err=True)
