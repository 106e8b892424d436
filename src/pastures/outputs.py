"""The outputs folder of a run, read back for the web map and the printed atlas.

``pastures demo`` (and ``pastures run``) write every stage into one folder. The map
(:mod:`pastures.webmap`) and the atlas (:mod:`pastures.printmap`) are built from that
folder alone, so a technician can rebuild them from the files of a run without
running it again. :data:`RUN_FILES` is the one list of where each output lives;
the stages write to these paths and this module reads them. Every entry but the
layers is optional: a map or an atlas shows what the run produced.

:func:`plot_status` joins, per plot, what people ask about a plot: its latest
NDVI and trend, range condition, capacity against the animals the plan puts on
it, erosion risk with its drivers, and its next grazing and rest dates.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from pastures import schema as S
from pastures.errors import InputFileError
from pastures.i18n import _

logger = logging.getLogger(__name__)

#: Where each output of a run lives, relative to the run folder.
RUN_FILES: Final[dict[str, str]] = {
    "index_series": "indices/index_series.parquet",
    "index_trends": "indices/index_trends.csv",
    "index_summary": "indices/plot_index_summary.csv",
    "true_colour": "indices/true_colour.tif",  # R, G, B reflectance 0-1, clearest scene
    "ndvi_dry": "indices/ndvi_dry_season.tif",  # median NDVI of the dry months
    "range_series": "indices/open_range_series.csv",  # index over the open ranges (cuts)
    "forage_plots": "forage/forage_plots.csv",
    "forage_communities": "forage/forage_communities.csv",
    "schedule": "rotation/rotation_schedule.csv",
    "groups": "rotation/rotation_groups.csv",  # the families and heads of each group
    "soil_loss": "risk/soil_loss_t_ha_yr.tif",
    "risk_class": "risk/risk_class.tif",
    "pressure": "risk/grazing_pressure.tif",
    "risk_plots": "risk/risk_plots.csv",
    "dem": "risk/dem.tif",  # the DEM on the working grid, for hillshades
    "provenance": "provenance.json",
}
#: Names of the layers GeoPackage at the top of a run folder, first found is used.
LAYERS_FILES: Final = ("layers.gpkg", "juli_sample.gpkg")
#: Raster outputs among :data:`RUN_FILES`.
RASTER_KEYS: Final = ("true_colour", "ndvi_dry", "soil_loss", "risk_class", "pressure", "dem")


@dataclass(frozen=True)
class RunOutputs:
    """What a run folder holds, read into memory (rasters as paths).

    Attributes
    ----------
    folder
        The run folder.
    communities, plots, corrals, water_points
        The validated layers (in the working CRS, as the run wrote them).
    tables
        The tables found, keyed as in :data:`RUN_FILES`.
    rasters
        Paths of the rasters found, keyed as in :data:`RUN_FILES`.
    provenance
        The run's provenance record (empty when the folder has none).
    illustrative
        True when the run's data are illustrative (the bundled sample, or a project
        marked ``illustrative``); :func:`study_area` tells the bundled sample apart.
    """

    folder: Path
    communities: gpd.GeoDataFrame
    plots: gpd.GeoDataFrame
    corrals: gpd.GeoDataFrame
    water_points: gpd.GeoDataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    rasters: dict[str, Path] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    illustrative: bool = False

    def table(self, key: str) -> pd.DataFrame | None:
        """The table `key` of :data:`RUN_FILES`, or None when the run did not write it."""
        return self.tables.get(key)


def layers_path(folder: str | os.PathLike[str]) -> Path:
    """Path of the layers GeoPackage of a run folder.

    Raises
    ------
    InputFileError
        The folder holds no layers GeoPackage.
    """
    root = Path(folder)
    for name in LAYERS_FILES:
        if (root / name).is_file():
            return root / name
    raise InputFileError(
        _(
            "{root}: no {value} here. Give the output folder of `pastures demo` or "
            "`pastures run` (it holds the layers and every stage's results)."
        ).format(root=root, value=" or ".join(LAYERS_FILES))
    )


def _read_layer(path: Path, name: str) -> gpd.GeoDataFrame:
    if name not in {row[0] for row in pyogrio.list_layers(path)}:
        return gpd.GeoDataFrame({S.GEOMETRY: []}, geometry=S.GEOMETRY, crs=S.WORKING_CRS)
    return gpd.read_file(path, layer=name, engine="pyogrio")


#: Identifier columns read as text: plot codes such as LPIS parcel numbers ("10468403")
#: would otherwise come back as integers and no longer match the layers' text codes.
_ID_COLUMNS: Final = (
    *S.KEY_COLUMN.values(),
    S.HERD_ID,
    S.GROUP_ID,
    S.LOCATION_ID,
)


def read_output_table(path: Path) -> pd.DataFrame:
    """A table a run wrote (Parquet or CSV), identifiers as text, as it was before writing.

    The CSV files neutralise text a spreadsheet would run as a formula
    (:func:`pastures.io.neutralise_formulas`); that is undone here, so a plot coded
    ``=A1`` reads back as ``=A1``.
    """
    from pastures.io import restore_formulas

    if path.suffix == ".parquet":
        table = pd.read_parquet(path)
    else:
        header = pd.read_csv(path, nrows=0).columns
        table = pd.read_csv(path, dtype={c: str for c in _ID_COLUMNS if c in header})
        table = restore_formulas(table)
    for col in _ID_COLUMNS:
        if col in table.columns and table[col].dtype != object:
            table[col] = table[col].map(lambda v: v if pd.isna(v) else str(v))
    return table


_read_table = read_output_table

#: The command that writes each table of a run again.
_REWRITTEN_BY: Final = {
    "index_series": "`pastures run PROJECT.toml` (vegetation stage) or `pastures indices`",
    "index_trends": "`pastures run PROJECT.toml` (vegetation stage) or `pastures indices`",
    "index_summary": "`pastures run PROJECT.toml` (vegetation stage) or `pastures indices`",
    "range_series": "`pastures run PROJECT.toml` (vegetation stage)",
    "forage_plots": "`pastures run PROJECT.toml` (forage stage) or `pastures forage`",
    "forage_communities": "`pastures run PROJECT.toml` (forage stage) or `pastures forage`",
    "schedule": "`pastures run PROJECT.toml` (rotation stage) or `pastures rotate`",
    "groups": "`pastures run PROJECT.toml` (rotation stage) or `pastures rotate`",
    "risk_plots": "`pastures run PROJECT.toml` (erosion stage) or `pastures risk`",
    "provenance": "`pastures run PROJECT.toml` (package stage)",
    "layers": "`pastures run PROJECT.toml` (package stage)",
}
#: Columns the map and the atlas use, by layer of the layers GeoPackage.
LAYER_COLUMNS: Final[dict[str, dict[str, str]]] = {
    S.PLOTS: {S.PLOT_CODE: "text", S.COMMUNITY: "text"},
    S.COMMUNITIES: {S.COMMUNITY: "text"},
    S.CORRALS: {S.CORRAL_ID: "text"},
}
#: Columns the readers of a run use, by table: required ones and their kind.
TABLE_COLUMNS: Final[dict[str, dict[str, str]]] = {
    "index_series": {
        S.PLOT_CODE: "text",
        S.DATE: "date",
        S.INDEX: "text",
        S.STATISTIC: "text",
        S.VALUE: "number",
    },
    "index_trends": {S.PLOT_CODE: "text"},
    "forage_plots": {S.PLOT_CODE: "text"},
    "risk_plots": {S.PLOT_CODE: "text"},
    "schedule": {
        S.GROUP_ID: "text",
        S.LOCATION_ID: "text",
        S.START: "date",
        S.END: "date",
    },
}
#: Columns checked for their kind when a table has them.
OPTIONAL_COLUMNS: Final[dict[str, str]] = {
    S.TREND_PER_YEAR: "number",
    S.BROWNING: "bool",
    S.STOCKING_UO: "number",
    S.PRESSURE_RATIO: "number",
    S.SOIL_LOSS_T_HA_YR: "number",
    S.SLOPE_PCT: "number",
    S.COVER_PCT: "number",
    S.CAPACITY_UO: "number",
    S.DAYS: "number",
    S.HERD_UO: "number",
    S.UO: "number",
    S.ALPACAS: "number",
    S.LLAMAS: "number",
    S.SHEEP: "number",
}
#: A required column that an older run folder names otherwise (schedules before the
#: grazing groups of whole animals had one row per herd of a corral).
FORMER_NAMES: Final[dict[str, str]] = {S.GROUP_ID: S.HERD_ID}
_TRUE_FALSE: Final = {True: True, False: False, "True": True, "False": False}


def _as_kind(values: pd.Series, kind: str) -> tuple[pd.Series, pd.Series]:
    """`values` converted to `kind`, and the mask of values that are not of that kind."""
    if kind == "number":
        if pd.api.types.is_bool_dtype(values):
            converted = pd.Series(np.nan, index=values.index)
        else:
            converted = pd.to_numeric(values, errors="coerce")
    elif kind == "date":
        converted = pd.to_datetime(values, errors="coerce", format="mixed")
    elif kind == "bool":
        converted = values.map(lambda v: _TRUE_FALSE.get(v, v) if not pd.isna(v) else v)
        bad = values.notna() & ~converted.map(lambda v: isinstance(v, bool | np.bool_))
        return converted, bad
    else:
        return values, pd.Series(False, index=values.index)
    return converted, values.notna() & converted.isna()


def check_columns(
    table: pd.DataFrame,
    path: Path,
    required: tuple[str, ...] | dict[str, str],
    *,
    key: str | None = None,
) -> pd.DataFrame:
    """`table` with its columns checked (and converted) against the kinds the readers need.

    Raises
    ------
    InputFileError
        A required column is missing, or holds a value that is not of its kind: the
        message names the file, the column, the first bad row and the command that
        writes the file again.
    """
    kinds = required if isinstance(required, dict) else dict.fromkeys(required, "any")
    again = _REWRITTEN_BY.get(key or "", "the command that wrote it")
    missing = [
        c for c in kinds if c not in table.columns and FORMER_NAMES.get(c) not in table.columns
    ]
    if missing:
        raise InputFileError(
            _(
                "{path}: no column {value} (it has {value2}). The file is not the table "
                "a run writes there; write it again with {again}."
            ).format(
                path=path,
                value=", ".join(repr(c) for c in missing),
                value2=", ".join(map(str, table.columns[:12])) or "no columns",
                again=again,
            )
        )
    out = table.copy()
    kinds = {c: k for c, k in kinds.items() if c in out.columns}  # or its former name
    checks = {**{c: k for c, k in OPTIONAL_COLUMNS.items() if c in out.columns}, **kinds}
    for col, kind in checks.items():
        if kind in {"any", "text"}:
            continue
        converted, bad = _as_kind(out[col], kind)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputFileError(
                _(
                    "{path}: column {col!r} must hold a {kind}; row {value} holds "
                    "{value2!r}. Write the file again with {again}."
                ).format(
                    path=path,
                    col=col,
                    kind=kind,
                    value=row + 2,
                    value2=out[col].iloc[row],
                    again=again,
                )
            )
        if kind != "date":  # dates stay as written; the readers parse them
            out[col] = converted
    return out


def _check_provenance(record: Any, path: Path) -> dict[str, Any]:
    """The provenance record, if it has the shape the readers use."""
    again = _REWRITTEN_BY["provenance"]
    if not isinstance(record, dict):
        raise InputFileError(
            _(
                "{path}: holds a {name}, not the provenance record (a JSON object). "
                "Write it again with {again}, or delete it."
            ).format(path=path, name=type(record).__name__, again=again)
        )
    shapes = {"parameters": dict, "software": dict, "inputs": list, "stages": dict}
    for name, kind in shapes.items():
        value = record.get(name)
        if value is not None and not isinstance(value, kind):
            raise InputFileError(
                _(
                    "{path}: field {name!r} holds a {name2}, not a {value}. Write it again "
                    "with {again}."
                ).format(
                    path=path,
                    name=name,
                    name2=type(value).__name__,
                    value="JSON object" if kind is dict else "list",
                    again=again,
                )
            )
    for name in ("study_area", "imagery", "dem"):
        value = (record.get("parameters") or {}).get(name)
        if value is not None and not isinstance(value, dict):
            raise InputFileError(
                _(
                    "{path}: field 'parameters.{name}' holds a {name2}, not a JSON object. "
                    "Write it again with {again}."
                ).format(path=path, name=name, name2=type(value).__name__, again=again)
            )
    if any(not isinstance(item, dict) for item in record.get("inputs") or []):
        raise InputFileError(
            _("{path}: field 'inputs' must list objects. Write it again with {again}.").format(
                path=path, again=again
            )
        )
    return record


def _checked_layers(layers: dict[str, gpd.GeoDataFrame], gpkg: Path) -> dict[str, Any]:
    """The layers with the columns the map and the atlas use checked (:data:`LAYER_COLUMNS`).

    Plots without ``area_ha`` (a layers file written by hand) get it from their shapes.
    """
    out = dict(layers)
    for name, kinds in LAYER_COLUMNS.items():
        if len(out[name]):
            where = Path(f"{gpkg} (layer {name})")
            out[name] = check_columns(out[name], where, kinds, key="layers")
    plots = out[S.PLOTS]
    if len(plots) and S.AREA_HA not in plots.columns and plots.crs is not None:
        metric = plots if plots.crs.is_projected else plots.to_crs(plots.estimate_utm_crs())
        out[S.PLOTS] = plots.assign(**{S.AREA_HA: metric.area.to_numpy() / 10_000.0})
    return out


def read_run(folder: str | os.PathLike[str]) -> RunOutputs:
    """Read the outputs of a run folder.

    Parameters
    ----------
    folder
        Output folder of ``pastures demo`` or ``pastures run``.

    Returns
    -------
    RunOutputs
        Layers, tables and raster paths found. Missing optional outputs are
        simply absent.

    Raises
    ------
    InputFileError
        The folder does not exist, has no layers GeoPackage, or an output cannot be read.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputFileError(
            _(
                "{root}: no such folder. Run `pastures demo --out {root}` first, or give "
                "the output folder of a run."
            ).format(root=root)
        )
    gpkg = layers_path(root)
    try:
        layers = {name: _read_layer(gpkg, name) for name in S.LAYER_KINDS}
    except Exception as exc:  # pyogrio raises its own error types per driver
        raise InputFileError(
            _("{gpkg}: cannot be read as a GeoPackage ({exc}).").format(gpkg=gpkg, exc=exc)
        ) from exc
    if layers[S.PLOTS].empty and layers[S.COMMUNITIES].empty:
        raise InputFileError(
            _("{gpkg}: has neither communities nor plots to show.").format(gpkg=gpkg)
        )
    layers = _checked_layers(layers, gpkg)
    tables: dict[str, pd.DataFrame] = {}
    rasters: dict[str, Path] = {}
    provenance: dict[str, Any] = {}
    for key, rel in RUN_FILES.items():
        path = root / rel
        if not path.is_file():
            continue
        if key in RASTER_KEYS:
            rasters[key] = path
            continue
        try:
            if key == "provenance":
                provenance = _check_provenance(json.loads(path.read_text(encoding="utf-8")), path)
            else:
                table = _read_table(path)
                tables[key] = check_columns(table, path, TABLE_COLUMNS.get(key, {}), key=key)
        except InputFileError:
            raise
        except (OSError, ValueError) as exc:
            raise InputFileError(
                _("{path}: cannot be read ({exc}). Run the stage again to rewrite it.").format(
                    path=path, exc=exc
                )
            ) from exc
    illustrative = bool(provenance.get("illustrative", gpkg.name == "juli_sample.gpkg"))
    return RunOutputs(
        folder=root,
        communities=layers[S.COMMUNITIES],
        plots=layers[S.PLOTS],
        corrals=layers[S.CORRALS],
        water_points=layers[S.WATER_POINTS],
        tables=tables,
        rasters=rasters,
        provenance=provenance,
        illustrative=illustrative,
    )


#: Columns of :func:`plot_status` beyond the plots layer's own.
NDVI_LAST: Final = "ndvi_last"
NDVI_LAST_DATE: Final = "ndvi_last_date"
NDVI_ANOMALY: Final = "ndvi_anomaly"
GRAZING_NOW: Final = "grazing_now"  # herd ids on the plot in the period holding `on`
GRAZING_NEXT: Final = "grazing_next"  # herd ids in the period after that
NEXT_GRAZING: Final = "next_grazing"  # first date on or after `on` that a herd arrives
NEXT_REST: Final = "next_rest_from"  # first date on or after `on` that the plot rests
STATUS_COLUMNS: Final = (
    NDVI_LAST,
    NDVI_LAST_DATE,
    NDVI_ANOMALY,
    S.TREND_PER_YEAR,
    S.BROWNING,
    S.RANGE_CONDITION,
    S.CAPACITY_UO,
    S.STOCKING_UO,
    S.PRESSURE_RATIO,
    S.SOIL_LOSS_T_HA_YR,
    S.RISK_CLASS,
    S.RISK_DRIVERS,
    GRAZING_NOW,
    GRAZING_NEXT,
    NEXT_GRAZING,
    NEXT_REST,
)


def ndvi_series(run: RunOutputs, *, statistic: str = S.STAT_MEAN) -> pd.DataFrame:
    """Per-plot NDVI through time: columns plot_code, date, value (sorted)."""
    series = run.table("index_series")
    if series is None or series.empty:
        return pd.DataFrame({S.PLOT_CODE: [], S.DATE: [], S.VALUE: []})
    rows = series[(series[S.INDEX] == "ndvi") & (series[S.STATISTIC] == statistic)]
    rows = rows[[S.PLOT_CODE, S.DATE, S.VALUE]].dropna()
    rows = rows.assign(**{S.DATE: pd.to_datetime(rows[S.DATE])})
    return rows.sort_values([S.PLOT_CODE, S.DATE]).reset_index(drop=True)


def _ndvi_latest(run: RunOutputs) -> pd.DataFrame:
    """Latest NDVI per plot and its anomaly against the same month of other years."""
    series = ndvi_series(run)
    if series.empty:
        return pd.DataFrame(columns=[S.PLOT_CODE, NDVI_LAST, NDVI_LAST_DATE, NDVI_ANOMALY])
    series = series.assign(month=series[S.DATE].dt.month, year=series[S.DATE].dt.year)
    monthly = series.groupby([S.PLOT_CODE, "month"])[S.VALUE].mean()
    years = series.groupby([S.PLOT_CODE, "month"])["year"].nunique()
    last = series.groupby(S.PLOT_CODE).tail(1).set_index(S.PLOT_CODE)
    # a month seen in one year only has nothing to compare with: no anomaly, not +0.00
    baseline = [
        monthly.get((code, m), np.nan) if years.get((code, m), 0) > 1 else np.nan
        for code, m in zip(last.index, last["month"], strict=True)
    ]
    return pd.DataFrame(
        {
            S.PLOT_CODE: last.index,
            NDVI_LAST: last[S.VALUE].to_numpy(),
            NDVI_LAST_DATE: last[S.DATE].dt.date.to_numpy(),
            NDVI_ANOMALY: last[S.VALUE].to_numpy() - np.asarray(baseline, dtype=float),
        }
    )


def _who(rows: pd.DataFrame) -> pd.Series:
    """Who grazes in each schedule row: a grazing group with its heads, or an older herd id."""
    if S.GROUP_ID not in rows.columns:
        return rows[S.HERD_ID].astype(str)
    names = (("alpacas", "alp"), ("llamas", "llam"), ("sheep", "ov"))
    parts = [
        rows[col].fillna(0).astype(int).map(lambda n, short=short: f"{n} {short}" if n else "")
        for col, short in names
        if col in rows.columns
    ]
    heads = [", ".join(p for p in ps if p) for ps in zip(*parts, strict=True)] if parts else []
    return pd.Series(
        [f"{g} ({h})" for g, h in zip(rows[S.GROUP_ID].astype(str), heads, strict=True)],
        index=rows.index,
    )


def _schedule_dates(rows: pd.DataFrame, on: dt.date) -> dict[str, Any]:
    """Who grazes a plot on `on`, who next and when, and when it next rests.

    `rows`: the plot's schedule rows, with ``_start`` and ``_end`` as dates.
    """
    starts, ends = rows["_start"], rows["_end"]
    who = _who(rows)
    now = sorted(who[(starts <= on) & (ends >= on)])
    later = starts[starts > on]
    nxt = later.min() if len(later) else None
    following = sorted(who[starts == nxt]) if nxt else []
    # The plot rests from the first day on or after `on` that no herd stays on it:
    # walk the stays in order of their first day, past every one that covers the day
    rest = None
    if len(rows):
        rest = on
        for s, e in sorted(zip(starts, ends, strict=True)):
            if s <= rest <= e:
                rest = e + dt.timedelta(days=1)
    return {
        GRAZING_NOW: ", ".join(now),
        GRAZING_NEXT: ", ".join(following),
        NEXT_GRAZING: nxt,
        NEXT_REST: rest,
    }


def plot_status(run: RunOutputs, *, on: dt.date | None = None) -> gpd.GeoDataFrame:
    """Per plot: the layer's attributes and what the stages say of it on date `on`.

    Parameters
    ----------
    run
        From :func:`read_run`.
    on
        The date that "now" and "next" refer to; by default the first day of the
        rotation plan (or today without a plan).

    Returns
    -------
    GeoDataFrame
        The plots with the columns of :data:`STATUS_COLUMNS` added (NaN or empty
        where the run has no such output).
    """
    plots = run.plots.copy()
    table = pd.DataFrame({S.PLOT_CODE: plots[S.PLOT_CODE]})
    latest = _ndvi_latest(run)
    table = table.merge(latest, on=S.PLOT_CODE, how="left")
    trends = run.table("index_trends")
    if trends is not None:
        keep = [c for c in (S.TREND_PER_YEAR, S.BROWNING) if c in trends.columns]
        table = table.merge(trends[[S.PLOT_CODE, *keep]], on=S.PLOT_CODE, how="left")
    forage = run.table("forage_plots")
    if forage is not None:
        # the method says when production is the pasture type's default, not measured
        keep = [
            c for c in (S.RANGE_CONDITION, S.CAPACITY_UO, S.FORAGE_METHOD) if c in forage.columns
        ]
        table = table.merge(forage[[S.PLOT_CODE, *keep]], on=S.PLOT_CODE, how="left")
    risk = run.table("risk_plots")
    if risk is not None:
        keep = [
            c
            for c in (
                S.STOCKING_UO,
                S.PRESSURE_RATIO,
                S.SOIL_LOSS_T_HA_YR,
                S.RISK_CLASS,
                S.RISK_DRIVERS,
            )
            if c in risk.columns
        ]
        table = table.merge(risk[[S.PLOT_CODE, *keep]], on=S.PLOT_CODE, how="left")
    schedule = run.table("schedule")
    if schedule is not None and not schedule.empty:
        schedule = schedule.assign(
            _start=pd.to_datetime(schedule[S.START]).dt.date,
            _end=pd.to_datetime(schedule[S.END]).dt.date,
        )
        day = on or schedule["_start"].min()
        by_code = dict(tuple(schedule.groupby(schedule[S.LOCATION_ID].astype(str))))
        empty = schedule.iloc[0:0]
        dates = pd.DataFrame(
            [_schedule_dates(by_code.get(str(c), empty), day) for c in table[S.PLOT_CODE]]
        )
        table = pd.concat([table.reset_index(drop=True), dates], axis=1)
    for col in STATUS_COLUMNS:
        if col not in table.columns:
            table[col] = np.nan
    table = table.drop_duplicates(S.PLOT_CODE)
    merged = plots.merge(table, on=S.PLOT_CODE, how="left", suffixes=("", "_run"))
    return gpd.GeoDataFrame(merged, geometry=S.GEOMETRY, crs=plots.crs)


#: Stages whose layers the map and the atlas show, in order.
LAYER_STAGES: Final = ("vegetation", "rotation", "erosion")


def missing_stages(run: RunOutputs) -> dict[str, str]:
    """Stages whose layers are missing because the run did not need them, and why.

    From ``stages`` of the run's provenance record: a stage with status
    ``"not needed"`` (no imagery, no herd register, no DEM) and its summary.
    """
    stages = run.provenance.get("stages") or {}
    out = {}
    for name in LAYER_STAGES:
        entry = stages.get(name)
        if isinstance(entry, dict) and entry.get("status") == "not needed":
            out[name] = str(entry.get("summary") or "")
    return out


def is_illustrative(run: RunOutputs) -> bool:
    """True when the run used the bundled, illustrative sample."""
    return run.illustrative


def data_date(run: RunOutputs) -> dt.date | None:
    """Date of the newest observation the run used (latest index date), if any."""
    series = ndvi_series(run)
    if series.empty:
        return None
    return series[S.DATE].max().date()


@dataclass(frozen=True)
class StudyArea:
    """Where a run is, as the map and the atlas name it.

    Attributes
    ----------
    name
        The study area's name (``[study_area] name`` of the project; ``"Juli"`` for
        the default area).
    crs
        The run's working CRS, ``"EPSG:<code>"``.
    is_juli
        True for the default area, the district of Juli.
    bundled_sample
        True when the run's plots are the bundled Juli sample (``pastures demo``).
    """

    name: str
    crs: str
    is_juli: bool
    bundled_sample: bool


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _is_bundled_sample(run: RunOutputs) -> bool:
    """The run read the bundled sample: its plots file is the sample's, byte for byte."""
    if (run.folder / "juli_sample.gpkg").is_file():
        return True
    digests = {str(item.get("sha256")) for item in run.provenance.get("inputs", []) or []}
    if not digests:
        return False
    from pastures.sample import sample_paths

    try:
        sample_plots = sample_paths()[S.PLOTS]
    except InputFileError:  # an install without the sample cannot have run it
        return False
    return _sha256(sample_plots) in digests


def study_area(run: RunOutputs) -> StudyArea:
    """The study area of a run, from ``parameters.study_area`` of its provenance record.

    A run folder without that record (written before projects had a study area, or
    by hand) is taken to be of the default area, Juli, in the CRS of its layers.
    """
    record = (run.provenance.get("parameters") or {}).get("study_area") or {}
    layer_crs = next((g.crs for g in (run.plots, run.communities) if g.crs is not None), None)
    default_crs = f"EPSG:{layer_crs.to_epsg()}" if layer_crs is not None else S.WORKING_CRS
    is_juli = bool(record.get("is_juli", not record))
    return StudyArea(
        name=str(record.get("name") or "Juli"),
        crs=str(record.get("crs") or default_crs),
        is_juli=is_juli,
        bundled_sample=_is_bundled_sample(run),
    )


@dataclass(frozen=True)
class DataSources:
    """Where a run's imagery, terrain and forage figures came from, for credit lines.

    Attributes
    ----------
    imagery
        ``"sample"`` (synthetic scenes), ``"files"`` (real scenes), ``"none"``, or
        ``"unknown"`` (no provenance record).
    dem
        ``"sample"``, ``"file"``, ``"none"`` or ``"unknown"``.
    forage
        How plot production was estimated: ``"cuts"`` (an index relation fitted to field
        quadrat cuts), ``"published"`` (the published bofedal relation, pasture-type
        ranges for the other types), ``"defaults"`` (pasture-type ranges only) or
        ``"unknown"`` (no forage table).
    """

    imagery: str
    dem: str
    forage: str


def data_sources(run: RunOutputs) -> DataSources:
    """The :class:`DataSources` of a run, from its provenance and its forage table."""
    params = run.provenance.get("parameters") or {}
    imagery = (params.get("imagery") or {}).get("source") or "unknown"
    dem = (params.get("dem") or {}).get("source") or "unknown"
    plots = run.table("forage_plots")
    forage = "unknown"
    if plots is not None and S.FORAGE_METHOD in plots.columns:
        methods = plots[S.FORAGE_METHOD].astype(str)
        if methods.str.contains("quadrat cuts").any():
            forage = "cuts"
        elif methods.str.contains("peak standing biomass").any():
            forage = "published"
        else:
            forage = "defaults"
    return DataSources(imagery=str(imagery), dem=str(dem), forage=forage)


def crs_words(crs: str, lang: str = "es") -> str:
    """A CRS as a map note names it: UTM zone and hemisphere, or the CRS's name.

    ``"EPSG:32719"`` -> ``"UTM zona 19 Sur (WGS 84, EPSG:32719)"``; WGS 84 / UTM is
    EPSG 326zz in the north and 327zz in the south (zz the zone, 01-60). Any other CRS
    is named by its name in the EPSG registry (pyproj) and its code.
    """
    from pyproj import CRS

    code = CRS.from_user_input(crs).to_epsg()
    if code is not None and (32601 <= code <= 32660 or 32701 <= code <= 32760):
        zone = code % 100
        north = code < 32700
        if lang == "es":
            return f"UTM zona {zone} {'Norte' if north else 'Sur'} (WGS 84, EPSG:{code})"
        return f"UTM zone {zone} {'North' if north else 'South'} (WGS 84, EPSG:{code})"
    name = CRS.from_user_input(crs).name
    return f"{name} (EPSG:{code})" if code is not None else name


#: Results a run can lack, by key of :func:`missing_results`.
MISSING_KEYS: Final = ("rotation", "erosion", "erosion_synthetic", "anomaly")


def missing_results(run: RunOutputs) -> dict[str, str]:
    """Results the run does not have, each with the reason its stage gave.

    Keys (see :data:`MISSING_KEYS`): ``rotation`` (no grazing plan), ``erosion`` (no
    DEM), ``erosion_synthetic`` (a real project given the synthetic sample DEM, which
    only illustrative projects use) and ``anomaly`` (one image date: no anomaly
    against other years). The map and the atlas say these in words instead of showing
    plots at rest, zeros or no risk.
    """
    record = run.provenance if isinstance(run.provenance, dict) else {}
    stages = record.get("stages") if isinstance(record.get("stages"), dict) else {}
    out: dict[str, str] = {}
    for name in ("rotation", "erosion"):
        stage = stages.get(name) if isinstance(stages.get(name), dict) else None
        if stage is not None and stage.get("status") in {"not needed", "unavailable"}:
            why = str(stage.get("summary") or "")
            key = "erosion_synthetic" if name == "erosion" and "SYNTHETIC" in why else name
            out[key] = why
    schedule = run.table("schedule")
    if "rotation" not in out and (schedule is None or schedule.empty):
        out["rotation"] = "no grazing plan in the run folder"
    series = ndvi_series(run)
    if not series.empty and (series[S.DATE] == series[S.DATE].iloc[0]).all():
        out["anomaly"] = "one image date: no other years to compare with"
    return out


def juli_defaults_of(run: RunOutputs) -> list[str]:
    """The project-file keys a run outside Juli left at Juli's values (from provenance).

    :func:`pastures.pipeline.provenance` marks each with ``JULI DEFAULT``; the map and
    the atlas name them, since every number resting on them is Juli's, not the area's.
    """
    record = run.provenance if isinstance(run.provenance, dict) else {}
    defaults = record.get("defaults") if isinstance(record.get("defaults"), dict) else {}
    return sorted(str(k) for k, v in defaults.items() if "JULI DEFAULT" in str(v))
