"""The files each stage writes: tables, layers and rasters, every one atomically.

The commands (``pastures indices``, ``forage``, ``risk``) and the pipeline of
``pastures run`` write their outputs through these functions, so a stage writes
the same files whichever way it is run. Every file goes to a temporary name and
is renamed when complete (:func:`pastures.io.atomic_output`); text tables pass
through :func:`pastures.io.write_table` or are written with formulas neutralised.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import pandas as pd

from pastures import regional
from pastures import schema as S
from pastures.defaults import FORAGE_GPKG, RISK_CSV_DECIMALS, RISK_FILES, RISK_LAYER
from pastures.errors import InputFileError, Problem
from pastures.i18n import _
from pastures.imagery import BoaOffset, Scene, group_by_date, load_scenes
from pastures.indices import DEFAULT_INDICES
from pastures.io import (
    atomic_output,
    gdal_file_timestamp,
    neutralise_formulas,
    write_layers,
    write_table,
)
from pastures.timeseries import DEFAULT_MIN_VALID_FRACTION, analyse_series
from pastures.zonal import DEFAULT_EDGE_RULE, EdgeRule, index_series, plot_summary

logger = logging.getLogger(__name__)

# --- vegetation indices -----------------------------------------------------------------

#: Files of the index tables.
SERIES_FILE: Final = "index_series"
SUMMARY_FILE: Final = "plot_index_summary.csv"
DATES_FILE: Final = "index_dates.csv"
TRENDS_FILE: Final = "index_trends.csv"
PROFILE_FILE: Final = "index_seasonal_profile.csv"
PROBLEMS_FILE: Final = "index_problems.txt"


@dataclass(frozen=True)
class IndexRun:
    """What :func:`write_index_tables` did.

    Attributes
    ----------
    files
        Files written.
    dates, usable_dates
        Dates seen and dates clear enough to count.
    browning
        Plots whose first index declines significantly.
    problems
        Problems with scenes or dates (the others were used).
    table
        The tidy per-plot index series (plot, date, index, statistic, value).
    """

    files: list[Path]
    dates: int
    usable_dates: int
    browning: list[str]
    problems: list[Problem]
    table: pd.DataFrame | None = None


def write_index_tables(
    plots: gpd.GeoDataFrame,
    scenes: Sequence[Scene] | Sequence[str | os.PathLike[str]],
    out_dir: Path,
    *,
    indices: Sequence[str] = DEFAULT_INDICES,
    edge_rule: EdgeRule = DEFAULT_EDGE_RULE,
    min_valid: float = DEFAULT_MIN_VALID_FRACTION,
    progress: bool | Callable[[Iterable[Any]], Iterable[Any]] = False,
    problems: Sequence[Problem] = (),
    scheduler: str | None = None,
    workers: int | None = None,
    boa_offset: BoaOffset = "auto",
) -> IndexRun:
    """Compute the per-plot index series and write every table of ``pastures indices``.

    The tables listed in the help of ``pastures indices`` go into `out_dir`; the
    trends and the seasonal profile are those of the first index. With
    `scheduler` or `workers`, or a job large enough
    (:func:`pastures.regional.wants_cluster`), the series is computed on Dask
    (:func:`pastures.regional.regional_index_series`), with the same results.

    Raises
    ------
    InputFileError
        If no index value could be computed at all (the message lists the problems).
    """
    names = [n.lower() for n in indices]
    found: Sequence[Scene] = scenes  # type: ignore[assignment]
    if scenes and not isinstance(scenes[0], Scene):
        found, loaded = load_scenes(list(scenes), boa_offset=boa_offset)  # type: ignore[arg-type]
        problems = [*problems, *loaded]
    n_dates = len(group_by_date(found))

    def bar(items: Iterable[Any]) -> Iterable[Any]:
        from tqdm import tqdm

        return tqdm(items, total=n_dates, desc=_("dates"), unit=" " + _("dates"), leave=False)

    wrap = bar if progress is True else (progress or None)
    series: Any = index_series
    if scheduler or workers or regional.wants_cluster(len(plots), n_dates):
        series = functools.partial(
            regional.regional_index_series, scheduler=scheduler, workers=workers
        )
    result = series(
        plots,
        found,
        indices=names,
        edge_rule=edge_rule,
        progress=wrap,  # type: ignore[arg-type]
    )
    all_problems: list[Problem] = [*problems, *result.problems]
    if result.table.empty:
        listed = "".join(f"\n  {p}" for p in all_problems[:20])
        raise InputFileError(
            _(
                "No index value could be computed: no scene covered the plots with "
                "usable data.{listed}"
            ).format(listed=listed)
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [out_dir / f"{SERIES_FILE}.parquet"]
    with atomic_output(files[0]) as tmp:
        result.table.to_parquet(tmp, index=False)
    summary = plot_summary(result.table, min_valid_fraction=min_valid)
    summary = summary.merge(result.rules.reset_index(), on=S.PLOT_CODE, how="left")
    analysis = analyse_series(result.table, index=names[0], min_valid_fraction=min_valid)
    for table, name in (
        (result.table, f"{SERIES_FILE}.csv"),
        (summary, SUMMARY_FILE),
        (result.dates, DATES_FILE),
        (analysis.trends, TRENDS_FILE),
        (analysis.profile, PROFILE_FILE),
    ):
        files.append(write_table(table, out_dir / name))
    files.append(out_dir / PROBLEMS_FILE)
    with atomic_output(files[-1]) as tmp:
        tmp.write_text("".join(f"{p}\n" for p in all_problems), encoding="utf-8")
    return IndexRun(
        files=files,
        dates=len(result.dates),
        usable_dates=int((result.dates[S.DATE_STATUS] == "ok").sum()),
        browning=analysis.trends.loc[analysis.trends[S.BROWNING], S.PLOT_CODE].tolist(),
        problems=all_problems,
        table=result.table,
    )


# --- forage budget ----------------------------------------------------------------------

CALIBRATION_TABLE: Final = "forage_calibration"
GROWTH_TABLE: Final = "forage_growth_profile"
BIOMASS_TABLE: Final = "forage_biomass"


def _write_forage_table(table: pd.DataFrame, path: Path) -> Path:
    with atomic_output(path) as tmp:
        safe = neutralise_formulas(table)
        if path.suffix == ".xlsx":
            safe.to_excel(tmp, index=False, sheet_name=path.stem[:31])
        else:
            safe.to_csv(tmp, index=False, float_format="%.3f")
    return path


def budget_communities_layer(budget: Any, communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The communities (without the TOTAL row) with their forage budget columns."""
    from pastures.forage import TOTAL_LABEL

    shapes = communities[[S.COMMUNITY, "geometry"]]
    com = shapes.merge(
        budget.communities[budget.communities[S.COMMUNITY] != TOTAL_LABEL], on=S.COMMUNITY
    )
    return gpd.GeoDataFrame(com, geometry="geometry", crs=shapes.crs)


def write_budget(
    budget: Any,
    out: Path,
    *,
    communities: gpd.GeoDataFrame,
    table_format: str = "csv",
) -> list[Path]:
    """Write the plot, community, monthly and growth tables, and a GeoPackage with two layers.

    Also the calibration fits and the biomass per date when there are any. Table
    files are CSV or XLSX (`table_format`); the GeoPackage holds the plots and the
    communities (without the TOTAL row) with their geometry.

    Parameters
    ----------
    budget
        A :class:`pastures.forage.ForageBudget`.

    Returns
    -------
    list of Path
        The files written.
    """
    suffix = f".{table_format}"
    out.mkdir(parents=True, exist_ok=True)
    plots = pd.DataFrame(budget.plots.drop(columns="geometry"))
    written = [
        _write_forage_table(plots, out / f"{S.FORAGE_PLOTS}{suffix}"),
        _write_forage_table(budget.communities, out / f"{S.FORAGE_COMMUNITIES}{suffix}"),
        _write_forage_table(budget.monthly, out / f"{S.FORAGE_MONTHLY}{suffix}"),
        _write_forage_table(budget.growth, out / f"{GROWTH_TABLE}{suffix}"),
    ]
    if len(budget.calibration):
        written.append(
            _write_forage_table(budget.calibration, out / f"{CALIBRATION_TABLE}{suffix}")
        )
    if len(budget.biomass):
        written.append(_write_forage_table(budget.biomass, out / f"{BIOMASS_TABLE}{suffix}"))
    layers = {S.FORAGE_PLOTS: budget.plots}
    if len(communities):
        layers[S.FORAGE_COMMUNITIES] = budget_communities_layer(budget, communities)
    written.append(write_layers(layers, out / FORAGE_GPKG))
    return written


# --- erosion risk -----------------------------------------------------------------------

# RISK_FILES, RISK_CSV_DECIMALS, RISK_LAYER: see pastures.defaults.


def write_risk_outputs(
    result: Any,
    out: str | Path,
    *,
    tags: dict[str, str] | None = None,
) -> dict[str, Path]:
    """Write the rasters (COG) and the plot table (CSV, GeoPackage) of a risk assessment.

    Every file is written to a temporary name and renamed when complete.

    Parameters
    ----------
    result
        A :class:`pastures.erosion.RiskAssessment`.
    out
        Output folder (created if needed).
    tags
        Metadata stored in every raster (parameters, sources).

    Returns
    -------
    dict
        Path of each output, keyed as in :data:`RISK_FILES`.
    """
    import pyogrio

    from pastures.terrain import write_cog

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    meta = dict(tags or {})
    classes = ", ".join(f"{i} {name}" for i, name in enumerate(S.RISK_CLASSES))
    rasters = {
        "soil_loss": (result.soil_loss, "soil loss A (RUSLE), t/ha/yr"),
        "ls": (result.terrain.ls, "RUSLE LS factor (Desmet & Govers 1996), dimensionless"),
        "c": (result.cover_factor, "RUSLE C factor, dimensionless 0-1"),
        "risk": (result.risk, f"erosion and overgrazing risk class: {classes}; 255 no data"),
    }
    if result.pressure is not None:
        decay = result.piosphere_decay_m
        rasters["pressure"] = (
            result.pressure,
            "grazing pressure, stocking / capacity"
            + (f", piosphere decay {decay:g} m" if decay else ""),
        )
    written: dict[str, Path] = {}
    for key, (data, description) in rasters.items():
        written[key] = write_cog(
            folder / RISK_FILES[key],
            data,
            result.transform,
            result.crs,
            description=description,
            tags=meta,
        )
    table = result.plots
    written["csv"] = folder / RISK_FILES["csv"]
    with atomic_output(written["csv"]) as tmp:
        # column names and risk classes are identifiers in every language (docs/columns.md);
        # the drivers and the action are words in the assessment's language
        csv = pd.DataFrame(table.drop(columns="geometry")).round(RISK_CSV_DECIMALS)
        neutralise_formulas(csv).to_csv(tmp, index=False, encoding="utf-8")
    written["gpkg"] = folder / RISK_FILES["gpkg"]
    with atomic_output(written["gpkg"]) as tmp, gdal_file_timestamp():
        pyogrio.write_dataframe(table, tmp, layer=RISK_LAYER, driver="GPKG")
    return written
