"""The inputs of one erosion-risk assessment, from files and options (``pastures risk``).

:func:`assess_from_files` reads the DEM (or makes the synthetic sample terrain), the
plots in the study area (:mod:`pastures.studyarea`), the sources of R, K, C and P, the
stocking and the corrals, merges the options with a settings file (options typed on
the command line win), runs :func:`pastures.erosion.assess_risk` and returns the result
with the metadata every raster carries. The command only parses options and prints.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from pastures import schema as S
from pastures.defaults import MAX_MONTHLY_RAIN_MM
from pastures.erosion import (
    DEFAULT_STREAM_THRESHOLD,
    JULI_MONTHLY_RAIN_MM,
    PressureParams,
    RiskAssessment,
    RiskSettings,
    RusleParams,
    erodibility_from_soils,
    load_settings,
    rainfall_erosivity,
)
from pastures.errors import InputFileError, ParameterError, PasturesWarning, Problem
from pastures.i18n import _
from pastures.studyarea import StudySetup, bounds_in_crs, juli_setup, not_needed
from pastures.terrain import Dem, read_dem, read_raster_on_grid

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_MONTHLY_RAIN_MM",
    "PRACTICE_ALIASES",
    "RiskRequest",
    "RiskRun",
    "assess_from_files",
    "check_finite_settings",
    "parse_rainfall",
    "usage_problems",
]


#: Other spellings of the practice columns (case- and accent-insensitive).
PRACTICE_ALIASES: Final = {
    S.TERRACES: ("terraces", "terrazas", "andenes", "terrace"),
    S.CONTOUR_WORKS: ("contour_works", "zanjas", "zanjas_infiltracion", "curvas_nivel", "contour"),
}

#: The plot fields erosion risk uses (community and pasture type are only copied).
FIELDS_USED: Final = (S.PLOT_CODE,)


@dataclass(frozen=True)
class RiskRequest:
    """What ``pastures risk`` was asked for: files, options, and which were typed.

    Attributes mirror the command's options (see ``pastures risk --help``). `typed`
    names the options given on the command line: with a settings file (`params_path`),
    those win and the others come from the file.
    """

    out: Path
    dem: str | None = None
    plots: str | None = None
    ndvi: str | None = None
    scenes: tuple[str, ...] = ()
    dry_months: str = "6,7,8,9,10"
    c_factor: float | None = None
    c_raster: str | None = None
    erosivity: float | None = None
    erosivity_raster: str | None = None
    rainfall: str | None = None
    erosivity_method: str = "annual"
    erodibility: float = 0.03
    erodibility_raster: str | None = None
    soils: str | None = None
    soils_k_column: str = "k"
    flow: str = "d8"
    l_max: float = 25.0
    streams: str = "keep"
    stream_threshold: float = DEFAULT_STREAM_THRESHOLD
    resolution: float | None = None
    stocking: str | None = None
    corrals: str | None = None
    water: str | None = None
    piosphere_decay: float | None = None
    params_path: str | None = None
    sample: bool = False
    language: str = "en"
    setup: StudySetup = field(default_factory=juli_setup)
    typed: frozenset[str] = frozenset()

    @property
    def settings_file(self) -> str | None:
        """The file the settings come from: --params, else the --project's [risk]."""
        if self.params_path is not None:
            return self.params_path
        return str(self.setup.project.path) if self.setup.project is not None else None

    def settings(self) -> RiskSettings:
        """The settings of --params, of the project's [risk], or the defaults."""
        if self.params_path is not None:
            settings = load_settings(self.params_path)
            check_finite_settings(settings, self.params_path)
            return settings
        if self.setup.project is not None:  # checked when the project file was read
            return self.setup.project.risk_settings()  # type: ignore[no-any-return]
        return RiskSettings()

    def chosen(self, name: str) -> bool:
        """True when option `name` was typed, or when no settings file stands in for it."""
        return self.settings_file is None or name in self.typed


@dataclass(frozen=True)
class RiskRun:
    """An assessment with the metadata of its rasters and what to tell the user."""

    result: RiskAssessment
    tags: dict[str, str]
    warnings: list[str]


def parse_rainfall(text: str | None) -> list[float]:
    """Twelve monthly rainfall totals (mm) from ``J,F,...,D`` text; Juli's without text.

    Raises
    ------
    ParameterError
        Not twelve finite totals from 0 to :data:`MAX_MONTHLY_RAIN_MM`.
    """
    if not text:
        return list(JULI_MONTHLY_RAIN_MM)
    try:
        values = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        values = []
    if len(values) != 12 or not all(
        math.isfinite(v) and 0 <= v <= MAX_MONTHLY_RAIN_MM for v in values
    ):
        raise ParameterError(
            _(
                "--rainfall: give twelve finite monthly totals between 0 and "
                "{max_monthly_rain_mm:g} mm, January first, separated by commas; got "
                "{text!r}."
            ).format(max_monthly_rain_mm=MAX_MONTHLY_RAIN_MM, text=text)
        )
    return values


def _non_finite(value: object, where: str) -> list[str]:
    """Dotted names of the NaN or infinite numbers in a settings dataclass (recursively)."""
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


def check_finite_settings(settings: object, path: str) -> None:
    """Refuse NaN or infinity anywhere in a settings file (TOML allows both).

    A NaN erodibility or cover coefficient otherwise makes every pixel NaN, and the
    run ends in the misleading "No plot overlaps valid DEM data".

    Raises
    ------
    ParameterError
        Naming each non-finite key.
    """
    bad = _non_finite(settings, "")
    if bad:
        raise ParameterError(
            _(
                "{path}: {value}: settings must be finite numbers (TOML nan and inf are "
                "not accepted). Give a number or delete the line to use the default."
            ).format(path=path, value=", ".join(bad))
        )


def with_practices(frame: pd.DataFrame, path: str) -> pd.DataFrame:
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
        logger.info(_("P factor: practice column %r read from %s"), source, path)
    return out


def _scene_composite(
    paths: Sequence[str], months: str, grid: Dem
) -> tuple[np.ndarray, str, list[Problem]]:
    """Dry-season median NDVI of a set of scenes on the DEM grid, and its description."""
    from pastures.composites import dry_season_composite
    from pastures.imagery import Grid, load_scenes

    try:
        wanted = [int(m) for m in months.replace(";", ",").split(",") if m.strip()]
    except ValueError as exc:
        raise ParameterError(
            _("--dry-months takes month numbers 1-12; got {months!r}.").format(months=months)
        ) from exc
    scenes, problems = load_scenes(list(paths))
    composite, _unused = dry_season_composite(
        scenes, Grid(grid.crs, grid.transform, grid.shape), months=wanted
    )
    dates = composite.dates
    return (
        composite.data,
        f"median NDVI of {len(dates)} dates, {dates[0]} to {dates[-1]}",
        problems,
    )


def _read_any(path: str) -> gpd.GeoDataFrame:
    """Read a vector file as is (soil maps carry their own columns)."""
    import pyogrio

    if not Path(path).exists():
        raise InputFileError(_("File not found: {path}.").format(path=path))
    try:
        return pyogrio.read_dataframe(path)
    except Exception as exc:
        raise InputFileError(_("Cannot read {path}: {exc}.").format(path=path, exc=exc)) from exc


def _read_layer(path: str, kind: str, setup: StudySetup, crs: str) -> tuple[Any, list[Problem]]:
    from pastures.layers import read_layer

    layer = read_layer(
        path,
        kind,  # type: ignore[arg-type]
        crs=crs,
        area=setup.area,
        fields=setup.fields.get(kind),
        defaults=setup.defaults.get(kind),
        assume_crs=setup.assume_crs,
        repair=setup.repair,  # type: ignore[arg-type]
    )
    return layer.frame, layer.problems


def usage_problems(request: RiskRequest) -> list[str]:
    """Options that cannot go together or are missing (the command's usage errors)."""
    out = []
    if not request.sample and not (request.dem and request.plots):
        out.append("Give --dem and --plots (or --sample).")
    given = [
        name
        for name, value in (
            ("--ndvi", request.ndvi),
            ("--scenes", request.scenes or None),
            ("--c-factor", request.c_factor),
            ("--c-raster", request.c_raster),
        )
        if value is not None
    ]
    if len(given) > 1:
        out.append(f"Give one source of C, not {' and '.join(given)}.")
    if request.erodibility_raster and request.soils:
        out.append("Give --erodibility-raster or --soils, not both.")
    project = request.setup.project
    if request.sample and project is not None and not project.illustrative:
        out.append(
            f"--sample is SYNTHETIC terrain, and {project.path.name} is not marked illustrative: "
            "give --dem (e.g. the Copernicus GLO-30 of `pastures fetch`), or set [project] "
            "illustrative = true."
        )
    return out


def _terrain(request: RiskRequest, tags: dict[str, str]) -> tuple[Dem, np.ndarray | None]:
    """The DEM (or the synthetic sample) and, for the sample, its dry-season NDVI."""
    if not request.sample:
        assert request.dem is not None
        tags["SOURCE_DEM"] = Path(request.dem).name
        return read_dem(request.dem, resolution=request.resolution, dst_crs=request.setup.crs), None
    from pastures.sample_terrain import SYNTHETIC_NOTE, make_sample_dem, sample_dry_season_ndvi

    logger.warning(_("SYNTHETIC sample: illustrative Juli terrain and NDVI, not survey data."))
    setup = request.setup
    if setup.is_juli:
        terrain = make_sample_dem(resolution=request.resolution or 30.0)
    else:  # Juli-like illustrative relief moved onto the study area, in its CRS
        terrain = make_sample_dem(
            resolution=request.resolution or 30.0,
            bounds=bounds_in_crs(setup.area.bounds_lonlat, setup.crs),
            crs=setup.crs,
        )
    tags |= {"SYNTHETIC": "yes", "DESCRIPTION": SYNTHETIC_NOTE}
    wants_ndvi = request.ndvi is None and request.c_factor is None and request.c_raster is None
    return terrain.dem, sample_dry_season_ndvi(terrain) if wants_ndvi else None


def _with_sample_layers(request: RiskRequest) -> RiskRequest:
    if not request.sample:
        return request
    from pastures.sample import sample_paths

    paths = sample_paths()
    return dataclasses.replace(
        request,
        plots=request.plots or str(paths[S.PLOTS]),
        corrals=request.corrals or str(paths[S.CORRALS]),
        water=request.water or str(paths[S.WATER_POINTS]),
    )


def _cover(
    request: RiskRequest, grid: Dem, sample_ndvi: np.ndarray | None, tags: dict[str, str]
) -> tuple[np.ndarray | None, np.ndarray | float | None, list[Problem]]:
    """NDVI for C (or None), a C value or raster (or None), and scene problems."""
    problems: list[Problem] = []
    ndvi = sample_ndvi
    if request.ndvi is not None:
        ndvi = read_raster_on_grid(request.ndvi, grid, name="NDVI")
        tags["SOURCE_NDVI"] = Path(request.ndvi).name
    elif request.scenes:
        ndvi, tags["SOURCE_NDVI"], problems = _scene_composite(
            request.scenes, request.dry_months, grid
        )
    cover: np.ndarray | float | None = request.c_factor
    if request.c_raster is not None:
        cover = read_raster_on_grid(request.c_raster, grid, name="C", resampling="nearest")
        tags["SOURCE_C"] = Path(request.c_raster).name
    return ndvi, cover, problems


def _rusle(
    request: RiskRequest, settings: RiskSettings, tags: dict[str, str]
) -> tuple[RusleParams, float | None]:
    """RUSLE parameters: typed options, else the settings file, else the defaults."""
    R_value = request.erosivity
    if R_value is None and (request.chosen("rainfall") or request.chosen("erosivity_method")):
        R_value = rainfall_erosivity(
            parse_rainfall(request.rainfall),
            method=request.erosivity_method,  # type: ignore[arg-type]
        )
        rain = "given" if request.rainfall else "Juli"
        tags["EROSIVITY_SOURCE"] = (
            f"Renard & Freimund (1994), {request.erosivity_method} form of {rain} rainfall"
        )
        if not request.rainfall and not request.setup.is_juli and not request.sample:
            logger.warning(
                _(
                    "R comes from the SENAMHI Juli rain normals, a Juli default, but the study "
                    "area is %s: give --rainfall (twelve monthly totals, mm) or --erosivity for "
                    "your area."
                ),
                request.setup.area.name,
            )
    elif R_value is None:
        R_value = settings.rusle.erosivity
        tags["EROSIVITY_SOURCE"] = f"settings file {Path(str(request.settings_file)).name}"

    def pick(name: str, from_file: Any) -> Any:
        return getattr(request, name) if request.chosen(name) else from_file

    params = RusleParams(
        erosivity=R_value,
        erodibility=pick("erodibility", settings.rusle.erodibility),
        flow_method=pick("flow", settings.rusle.flow_method),
        l_max=pick("l_max", settings.rusle.l_max),
        cover=settings.rusle.cover,
        streams=pick("streams", settings.rusle.streams),
        stream_threshold=pick("stream_threshold", settings.rusle.stream_threshold),
    )
    return params, pick("piosphere_decay", settings.pressure.piosphere_decay_m)


def assess_from_files(request: RiskRequest) -> RiskRun:
    """Read every input of `request`, assess the risk, and say what each value rests on.

    Raises
    ------
    ParameterError
        Conflicting or missing options (one source of C, --dem and --plots...).
    ValidationError
        Errors in the plots (every problem listed; the fields risk does not use are
        warnings).
    PasturesError
        Unreadable rasters, a DEM without CRS, plots off the DEM...
    """
    from pastures.erosion import assess_risk
    from pastures.errors import ValidationError
    from pastures.io import read_table

    wrong = usage_problems(request)
    if wrong:
        raise ParameterError(" ".join(wrong))
    request = _with_sample_layers(request)
    tags: dict[str, str] = {}
    told: list[str] = []
    grid, sample_ndvi = _terrain(request, tags)
    assert request.plots is not None
    frame, found = _read_layer(request.plots, S.PLOTS, request.setup, grid.crs)
    problems = not_needed(found, FIELDS_USED, command="risk")
    if any(p.severity == "error" for p in problems):
        raise ValidationError(problems)  # printed once, with the warnings, by the CLI
    told += [str(p) for p in problems]
    plots = with_practices(frame, request.plots)

    ndvi, cover, scene_problems = _cover(request, grid, sample_ndvi, tags)
    told += [str(p) for p in scene_problems]
    settings = request.settings()
    if request.settings_file:
        tags["SETTINGS_FILE"] = Path(request.settings_file).name
    params, decay = _rusle(request, settings, tags)
    R_raster = (
        read_raster_on_grid(request.erosivity_raster, grid, name="erosivity")
        if request.erosivity_raster
        else None
    )
    K_raster = (
        read_raster_on_grid(request.erodibility_raster, grid, name="erodibility")
        if request.erodibility_raster
        else None
    )
    if request.soils:
        K_raster = erodibility_from_soils(
            _read_any(request.soils), grid, column=request.soils_k_column
        )
        tags["SOURCE_SOILS"] = Path(request.soils).name
    stocking = read_table(request.stocking) if request.stocking else None
    use_piosphere = decay is not None and stocking is not None
    points: dict[str, Any] = {S.CORRALS: None, S.WATER_POINTS: None}
    for kind, path in ((S.CORRALS, request.corrals), (S.WATER_POINTS, request.water)):
        if use_piosphere and path:
            points[kind], found = _read_layer(path, kind, request.setup, grid.crs)
            if any(p.severity == "error" for p in found):
                raise ValidationError(found)
            told += [str(p) for p in found]
    if decay is not None and stocking is None:
        told.append("--piosphere-decay has no effect without --stocking.")
    c_text = (
        f"van der Knijff 2000, alpha {params.cover.alpha:g}, beta {params.cover.beta:g}"
        if ndvi is not None
        else (f"raster {Path(request.c_raster).name}" if request.c_raster else f"{cover}")
    )
    tags |= {
        "EROSIVITY_R": "raster"
        if R_raster is not None
        else f"{params.erosivity:.0f} MJ mm/ha/h/yr",
        "ERODIBILITY_K": "raster"
        if K_raster is not None
        else f"{params.erodibility:g} t ha h/ha/MJ/mm",
        "C_FACTOR": c_text,
        "FLOW_METHOD": params.flow_method,
        "L_MAX": f"{params.l_max:g}",
        "SOIL_LOSS_ON_STREAMS": params.streams_note(),
        "PIOSPHERE_DECAY_M": f"{decay:g}" if use_piosphere else "none",
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PasturesWarning)
        result = assess_risk(
            grid,
            plots,
            ndvi=ndvi,
            cover=cover,
            erosivity=R_raster,
            erodibility=K_raster,
            stocking=stocking,
            corrals=points[S.CORRALS],
            water_points=points[S.WATER_POINTS],
            params=params,
            pressure=PressureParams(piosphere_decay_m=decay if use_piosphere else None),
            thresholds=settings.thresholds,
            practices=settings.practices,
            language=request.language,
        )
    told += [f"Warning: {w.message}" for w in caught]
    if result.dem_notes:
        tags["DEM_WARNINGS"] = " ".join(result.dem_notes)
    return RiskRun(result=result, tags=tags, warnings=told)
