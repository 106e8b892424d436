"""Read, normalise, validate and reproject the vector layers of a pasture project.

A *layer kind* is one of ``communities``, ``plots``, ``corrals`` or
``water_points`` (see :mod:`pastures.schema`). Whatever the file format, a layer
comes out of :func:`read_layer` with the schema's columns, in the working CRS
(EPSG:32719 by default), with polygon areas in hectares, together with the list
of every problem found. :func:`load_project` reads a whole project and adds the
checks that need several layers (plots inside their community, overlaps, herds
against corrals).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError
from shapely.geometry import LineString, MultiLineString, Polygon

from pastures import schema as S
from pastures import validation as V
from pastures.columns import fold, match_columns
from pastures.errors import (
    CRSError,
    GeometryRepairedWarning,
    InputFileError,
    LayerError,
    ParameterError,
    PasturesError,
    Problem,
    ValidationError,
)
from pastures.herds import HerdResult, check_herds, normalise_herds, read_herds
from pastures.i18n import _
from pastures.io import GPX_PART, UNREADABLE_GEOMETRY, read_table, read_vector

logger = logging.getLogger(__name__)

__all__ = [
    "Project",
    "check_and_trim_overlaps",
    "fold",
    "load_project",
    "match_columns",
    "read_layer",
    "trim_slivers",
]

LayerKind = Literal["communities", "plots", "corrals", "water_points"]
RepairMode = Literal["warn", "reject"]

#: Largest relative change of area accepted when repairing an invalid polygon.
DEFAULT_MAX_REPAIR_CHANGE = 0.05
#: A fence walk whose end is this close to its start (m) is closed without comment.
DEFAULT_CLOSE_TOLERANCE_M = 30.0
#: ... and up to this far it is closed with a warning; beyond, it is rejected.
DEFAULT_MAX_GAP_M = 300.0


@dataclass(frozen=True)
class LayerResult:
    """A normalised layer and the problems found while reading it.

    Attributes
    ----------
    frame
        The layer with schema columns, in the working CRS. Features with fatal
        geometry problems (null, wrong type, rejected repair) are left out.
    problems
        Every problem found, errors and warnings.
    source
        The file (and layer) it was read from, as named in messages.
    """

    frame: gpd.GeoDataFrame
    problems: list[Problem]
    source: str

    @property
    def ok(self) -> bool:
        """True when no problem is an error."""
        return not V.errors_in(self.problems)


def parse_crs(value: str | int | CRS | None, *, option: str = "--crs") -> CRS | None:
    """Turn ``"EPSG:32719"``, ``32719`` or a WKT/PROJ string into a CRS.

    Raises
    ------
    CRSError
        The text is not a CRS pyproj knows.
    """
    if value is None or isinstance(value, CRS):
        return value
    text = str(value).strip()
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        return CRS.from_user_input(text)
    except PyprojCRSError as exc:
        raise CRSError(
            _(
                "{option} {value!r} is not a coordinate reference system pyproj knows. "
                "Use an EPSG code such as EPSG:32719 (UTM 19S, the default) or EPSG:4326 "
                "(degrees)."
            ).format(option=option, value=value)
        ) from exc


_PASTURE_LOOKUP = {
    fold(alias): canon for canon, aliases in S.PASTURE_TYPE_ALIASES.items() for alias in aliases
}


def normalise_pasture_type(value: object) -> object:
    """Canonical pasture type for a Spanish, local or English name; unknown text unchanged."""
    if not isinstance(value, str) or not value.strip():
        return pd.NA
    return _PASTURE_LOOKUP.get(fold(value), value.strip())


def _clean_text(series: pd.Series) -> pd.Series:
    def one(v: object) -> object:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return pd.NA
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        text = str(v).strip()
        return text if text else pd.NA

    return series.map(one).astype("string")


def _close_line(geom: LineString | MultiLineString) -> tuple[Polygon | None, float]:
    """Join the parts of a walked fence line in order and close it into a polygon.

    Returns the polygon (None with fewer than 3 points) and the gap in metres
    between the last and the first point.
    """
    parts = list(geom.geoms) if isinstance(geom, MultiLineString) else [geom]
    coords = [xy for part in parts for xy in part.coords]
    if len(coords) < 3:
        return None, float("nan")
    gap = float(np.hypot(coords[-1][0] - coords[0][0], coords[-1][1] - coords[0][1]))
    if gap > 0:
        coords = [*coords, coords[0]]
    return Polygon(coords), gap


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep only the polygon parts of a geometry (make_valid may add lines or points)."""
    if geom.geom_type in {"Polygon", "MultiPolygon"}:
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in {"Polygon", "MultiPolygon"}]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts)


def _source_label(path: Path, layer: str | None) -> str:
    return f"{path}" + (f" (layer '{layer}')" if layer else "")


def read_layer(
    path: str | os.PathLike[str],
    kind: LayerKind,
    *,
    layer: str | None = None,
    crs: str | int | CRS = S.WORKING_CRS,
    assume_crs: str | int | CRS | None = None,
    repair: RepairMode = "warn",
    max_repair_change: float = DEFAULT_MAX_REPAIR_CHANGE,
    close_tolerance_m: float = DEFAULT_CLOSE_TOLERANCE_M,
    max_gap_m: float = DEFAULT_MAX_GAP_M,
    defaults: Mapping[str, object] | None = None,
    fields: Mapping[str, str] | None = None,
    check_area: bool = True,
    area: V.WorkingArea = V.JULI_AREA,
) -> LayerResult:
    """Read one layer of any supported format and normalise it to the schema.

    Parameters
    ----------
    path
        GeoPackage, GeoJSON, Shapefile (or .zip), KML, KMZ or GPX file.
    kind
        What the layer holds: ``communities``, ``plots``, ``corrals`` or ``water_points``.
    layer
        Layer name inside the file; by default the only layer, or the one named like `kind`.
    crs
        Working CRS the layer is reprojected to (a projected CRS in metres).
    assume_crs
        CRS to use when the file declares none (e.g. a Shapefile without .prj).
        It never overrides a CRS the file declares.
    repair
        ``"warn"``: repair invalid polygons and warn with the area change;
        ``"reject"``: report them as errors.
    max_repair_change
        Largest relative area change a repair may make before it is rejected.
    close_tolerance_m, max_gap_m
        A walked fence line (GPX track, KML path) is closed into a plot polygon; a gap
        between its end and start up to `close_tolerance_m` passes silently, up to
        `max_gap_m` with a warning, beyond that the track is rejected.
    defaults
        Values for schema columns that the file lacks or leaves empty
        (e.g. ``{"community": "Pasiri", "pasture_type": "bofedal"}``).
    fields
        The file's field for a schema column, when its name is not one of the
        recognised aliases (e.g. ``{"plot_code": "id_parcel"}``). It wins over the
        aliases; a field named here that the file lacks is a ``missing-field`` error.
    check_area
        Report features far outside the working `area`.
    area
        The study area (a project's; the district of Juli by default).

    Returns
    -------
    LayerResult
        The normalised layer and every problem found.

    Raises
    ------
    InputFileError, LayerError, CRSError
        When the file cannot be read at all (these stop before any feature is seen).
    """
    if kind not in S.LAYER_KINDS:
        raise ParameterError(
            _("unknown layer kind {kind!r}; use one of {value}").format(
                kind=kind, value=", ".join(S.LAYER_KINDS)
            )
        )
    work_crs = parse_crs(crs)
    assert work_crs is not None
    if not work_crs.is_projected:
        raise CRSError(
            _(
                "--crs {value} is not a projected CRS in metres; areas and distances "
                "need one. Use EPSG:32719 (UTM 19S) for Juli."
            ).format(value=work_crs.to_string())
        )
    fallback_crs = parse_crs(assume_crs, option="--assume-crs")
    p = Path(path)
    gpx_parts = ("routes", "tracks") if kind in {S.PLOTS, S.COMMUNITIES} else ("waypoints",)
    raw = read_vector(p, layer=layer, prefer=kind, gpx_parts=gpx_parts)
    source = _source_label(p, layer)
    problems: list[Problem] = []

    frame, problems = _normalise_columns(raw, kind, source=source, defaults=defaults, fields=fields)
    gdf = gpd.GeoDataFrame(frame, geometry=raw.geometry.to_numpy(), crs=raw.crs)
    if gdf.crs is None:
        if fallback_crs is None:
            problems.append(_missing_crs(gdf, p, source))
            problems += V.check_required_values(gdf, kind, source=source)
            problems += V.check_duplicate_keys(gdf, kind, source=source)
            return LayerResult(_empty(kind, work_crs), problems, source)
        gdf = gdf.set_crs(fallback_crs)

    gdf, found = _check_geometries(gdf, raw, kind, source=source)
    problems += found
    if check_area:
        located = V.check_location(
            gdf,
            kind,
            source=source,
            bounds_lonlat=area.bounds_lonlat,
            margin_km=area.margin_km,
            area_name=area.name,
        )
        problems += located
        if any(q.rule == "not-degrees" for q in located):
            return LayerResult(_empty(kind, work_crs), problems, source)
        swapped = {q.feature for q in located if q.rule == "swapped-coordinates"}
        keep = np.array([V.feature_label(gdf, kind, i) not in swapped for i in gdf.index], bool)
        gdf = gdf.loc[keep]
    if not len(gdf):
        return _no_features(raw, kind, source, problems, work_crs)
    gdf = gdf.to_crs(work_crs)
    gdf, found = _check_finite(gdf, kind, source=source, after=work_crs)
    problems += found

    what = "track" if GPX_PART in raw.columns else "line"
    gdf, found = _lines_to_plots(
        gdf,
        kind,
        source=source,
        what=what,
        close_tolerance_m=close_tolerance_m,
        max_gap_m=max_gap_m,
    )
    problems += found
    if kind in {S.PLOTS, S.COMMUNITIES}:
        gdf, found = _repair_polygons(
            gdf, kind, source=source, repair=repair, max_change=max_repair_change
        )
        problems += found
        gdf[S.AREA_HA] = gdf.geometry.area / S.M2_PER_HA

    problems += V.check_required_values(gdf, kind, source=source)
    problems += V.check_duplicate_keys(gdf, kind, source=source)
    if kind == S.PLOTS:
        problems += V.check_pasture_types(gdf, source=source)
    if kind in {S.PLOTS, S.COMMUNITIES}:
        problems += V.check_min_area(gdf, kind, source=source)
    if not len(gdf):
        return _no_features(raw, kind, source, problems, work_crs)
    columns = [c for c in S.LAYER_COLUMNS[kind] if c in gdf.columns]
    gdf = gdf[[*columns, "geometry"]].reset_index(drop=True)
    return LayerResult(gdf, problems, source)


def field_problems(
    columns: list[str], kind: str, fields: Mapping[str, str], *, source: str, key: str = ""
) -> list[Problem]:
    """Problems of a field mapping (schema column -> the file's field) against a file.

    A schema column that `kind` does not have, or a field the file does not hold, is an
    error naming the mapping (`key`, e.g. ``layers.fields.plots.plot_code``) and what the
    file offers.
    """
    problems: list[Problem] = []
    present = [c for c in columns if c != "geometry"]
    for canon, theirs in fields.items():
        where = f"{key}.{canon}" if key else canon
        if canon not in S.LAYER_COLUMNS[kind] or canon == S.AREA_HA:
            known = [c for c in S.LAYER_COLUMNS[kind] if c != S.AREA_HA]
            problems.append(
                Problem(
                    "error",
                    "missing-field",
                    _("{where}: {kind} have no field {canon!r}; map one of {value}.").format(
                        where=where, kind=kind, canon=canon, value=", ".join(known)
                    ),
                    source=source,
                    field=canon,
                )
            )
        elif _find_field(present, theirs) is None:
            problems.append(
                Problem(
                    "error",
                    "missing-field",
                    _(
                        "{where}: the file has no field {theirs!r} to read {canon!r} from. Its "
                        "fields: {value}."
                    ).format(
                        where=where,
                        theirs=theirs,
                        canon=canon,
                        value=", ".join(present) or "(none)",
                    ),
                    source=source,
                    field=canon,
                )
            )
    return problems


def _find_field(columns: list[str], name: str) -> str | None:
    """The column called `name`: exactly, else ignoring case and accents; None if absent."""
    if name in columns:
        return name
    folded = [c for c in columns if fold(c) == fold(name)]
    return folded[0] if len(folded) == 1 else None


def _normalise_columns(
    raw: pd.DataFrame,
    kind: str,
    *,
    source: str,
    defaults: Mapping[str, object] | None,
    fields: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Schema columns from whatever the file calls them, with defaults filled in.

    `fields` (schema column -> the file's field) is used before the aliases; a file
    field it names is not matched to another column by alias.
    """
    problems: list[Problem] = []
    columns = [str(c) for c in raw.columns]
    fields = dict(fields or {})
    problems += field_problems(columns, kind, fields, source=source)
    chosen = {
        canon: found
        for canon, theirs in fields.items()
        if canon in S.LAYER_COLUMNS[kind] and (found := _find_field(columns, theirs)) is not None
    }
    rest = [c for c in columns if c not in chosen.values()]
    empty = frozenset(c for c in rest if c != "geometry" and raw[c].isna().all())
    mapping = {
        canon: col
        for canon, col in match_columns(rest, kind, empty=empty).items()
        if canon not in fields
    }
    mapping.update(chosen)
    data: dict[str, object] = {}
    for canon in S.LAYER_COLUMNS[kind]:
        if canon in mapping:
            data[canon] = _clean_text(raw[mapping[canon]]).to_numpy()
        else:
            data[canon] = pd.array([pd.NA] * len(raw), dtype="string")
    frame = pd.DataFrame(data, index=raw.index)
    defaults = defaults or {}
    for canon, value in defaults.items():
        if canon in frame.columns and value is not None:
            frame.loc[frame[canon].isna(), canon] = str(value)
    for canon in S.REQUIRED_COLUMNS[kind]:
        if canon not in mapping and not defaults.get(canon) and canon not in fields:
            aliases = ", ".join(S.COLUMN_ALIASES.get(canon, (canon,)))
            problems.append(
                Problem(
                    "error",
                    "missing-field",
                    _(
                        "no field for '{canon}' (looked for: {aliases}). Name the field that "
                        'holds it ([layers.fields.{kind}] {canon} = "your_field" in a project '
                        "file, --field {canon}=your_field on the command line), give a default, "
                        "or rename the field in QGIS."
                    ).format(canon=canon, aliases=aliases, kind=kind),
                    source=source,
                    field=canon,
                )
            )
    if S.AREA_HA in frame.columns:
        frame[S.AREA_HA] = np.nan
    if kind == S.COMMUNITIES:
        frame[S.ALTITUDE_M] = pd.to_numeric(frame[S.ALTITUDE_M], errors="coerce")
    if kind == S.PLOTS:
        frame[S.PASTURE_TYPE] = frame[S.PASTURE_TYPE].map(normalise_pasture_type).astype("string")
        problems += _check_years(frame, source)
    return frame, problems


def _no_features(
    raw: gpd.GeoDataFrame, kind: str, source: str, problems: list[Problem], crs: CRS
) -> LayerResult:
    """An empty result for a layer left with no usable feature.

    When no other error explains why (an empty collection, a KML with only image
    overlays, a GPX with no track), an ``empty-layer`` error says what the file held.
    """
    if not len(raw) or not V.errors_in(problems):
        problems = [*problems, _no_features_problem(raw, kind, source)]
    return LayerResult(_empty(kind, crs), problems, source)


def _no_features_problem(raw: gpd.GeoDataFrame, kind: str, source: str) -> Problem:
    """The error for a layer left with no usable feature, saying what the file held."""
    if not len(raw):
        held = "no features at all (an empty layer, or a KML/GPX without placemarks or points)"
    else:
        types = raw.geometry.geom_type.fillna("no geometry").value_counts()
        held = (
            f"{len(raw)} feature(s), none usable ("
            + ", ".join(f"{n} {t}" for t, n in types.items())
            + "; see the problems above)"
        )
    wanted = " or ".join(S.GEOMETRY_KINDS[kind])
    if kind in {S.PLOTS, S.COMMUNITIES}:
        wanted += " (or closed GPS tracks / lines)"
    return Problem(
        "error",
        "empty-layer",
        _(
            "has {held}. A {kind} layer needs {wanted}. Check that this is the right "
            "file (and --layer), or export the layer again."
        ).format(held=held, kind=kind, wanted=wanted),
        source=source,
    )


def _check_geometries(
    gdf: gpd.GeoDataFrame, raw: gpd.GeoDataFrame, kind: str, *, source: str
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Drop and report unbuildable, null, wrong-type and non-finite geometries."""
    unreadable = (
        raw[UNREADABLE_GEOMETRY].dropna().to_dict() if UNREADABLE_GEOMETRY in raw.columns else None
    )
    gdf, problems = _check_geometry_types(gdf, kind, source=source, unreadable=unreadable)
    gdf, found = _check_finite(gdf, kind, source=source)
    return gdf, problems + found


#: Largest coordinate (m) accepted in the working CRS: 100,000 km, far beyond any
#: projected CRS's valid area; larger numbers overflow area and validity computations.
MAX_PROJECTED_COORDINATE = 1e8


def _check_finite(
    gdf: gpd.GeoDataFrame, kind: str, *, source: str, after: CRS | None = None
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Drop (and report) features with NaN or infinite coordinates.

    Before reprojection (`after` None) this catches NaN and infinity in the file;
    after it, coordinates too large for the CRS (e.g. 1e300 degrees) that came out
    infinite.
    """
    if not len(gdf):
        return gdf, []
    limit = MAX_PROJECTED_COORDINATE if after is not None else np.inf
    coords_ok = np.array(
        [
            g is not None
            and bool((np.abs(shapely.get_coordinates(g)) <= limit).all())  # NaN compares False
            for g in gdf.geometry.array
        ],
        dtype=bool,
    )
    problems = []
    for idx in gdf.index[~coords_ok]:
        what = (
            f"its coordinates in {after.to_string()} are infinite or larger than "
            f"{MAX_PROJECTED_COORDINATE:g} m (far outside the file's CRS)"
            if after is not None
            else "has coordinates that are not finite numbers (NaN or infinity)"
        )
        problems.append(
            Problem(
                "error",
                "bad-coordinates",
                _("{what}. Check the GPS export or redraw the feature.").format(what=what),
                source=source,
                feature=V.feature_label(gdf, kind, idx),
            )
        )
    return gdf.loc[coords_ok], problems


def _missing_crs(gdf: gpd.GeoDataFrame, path: Path, source: str) -> Problem:
    prj = " (no .prj file beside the .shp?)" if path.suffix.lower() == ".shp" else ""
    return Problem(
        "error",
        "missing-crs",
        _("the file declares no coordinate reference system{prj}. {gdf}").format(
            prj=prj, gdf=_guess_crs_hint(gdf)
        ),
        source=source,
    )


def _check_geometry_types(
    gdf: gpd.GeoDataFrame,
    kind: str,
    *,
    source: str,
    unreadable: Mapping[object, object] | None = None,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Drop (and report) null, empty, unbuildable and wrong-type geometries.

    Also unpacks KML MultiGeometry. `unreadable` gives, by row label, why a geometry
    could not be built (:data:`pastures.io.UNREADABLE_GEOMETRY`).
    """
    problems: list[Problem] = []
    keep = np.ones(len(gdf), dtype=bool)
    geoms = gdf.geometry.array.copy()
    polygonal_kind = kind in {S.PLOTS, S.COMMUNITIES}
    for k, idx in enumerate(gdf.index):
        geom = geoms[k]
        label = V.feature_label(gdf, kind, idx)
        if geom is None or geom.is_empty:
            why = unreadable.get(idx) if unreadable is not None else None
            problems.append(
                Problem(
                    "error",
                    "unreadable-geometry" if isinstance(why, str) else "null-geometry",
                    f"its geometry cannot be built ({why}): a line or outline with a single "
                    "point, or coordinates that are not numbers. Redraw it or delete the feature."
                    if isinstance(why, str)
                    else "has no geometry. Draw it or delete the feature.",
                    source=source,
                    feature=label,
                )
            )
            keep[k] = False
            continue
        if geom.geom_type == "GeometryCollection":
            parts = [g for g in geom.geoms if g.geom_type in S.GEOMETRY_KINDS[kind]]
            if polygonal_kind:
                geoms[k] = _polygonal(geom)
            elif len(parts) == 1:
                geoms[k] = parts[0]
        gtype = geoms[k].geom_type
        if polygonal_kind and gtype in {"LineString", "MultiLineString"}:
            continue  # a walked fence: closed once in metres
        if gtype not in S.GEOMETRY_KINDS[kind] or geoms[k].is_empty:
            problems.append(
                Problem(
                    "error",
                    "geometry-type",
                    _(
                        "is a {gtype}, but {kind} must be {value}. Use the right layer or file."
                    ).format(gtype=gtype, kind=kind, value=" or ".join(S.GEOMETRY_KINDS[kind])),
                    source=source,
                    feature=label,
                )
            )
            keep[k] = False
    return gdf.set_geometry(geoms).loc[keep], problems


def _lines_to_plots(
    gdf: gpd.GeoDataFrame,
    kind: str,
    *,
    source: str,
    what: str,
    close_tolerance_m: float,
    max_gap_m: float,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Close walked fence lines into plot polygons; reduce corral polygons to points."""
    problems: list[Problem] = []
    geoms = gdf.geometry.array.copy()
    keep = np.ones(len(gdf), dtype=bool)
    for k, idx in enumerate(gdf.index):
        geom = geoms[k]
        if kind == S.CORRALS and geom.geom_type in {"Polygon", "MultiPolygon"}:
            geoms[k] = geom.representative_point() if geom.is_valid else geom.centroid
            continue
        if geom.geom_type not in {"LineString", "MultiLineString"}:
            continue
        label = V.feature_label(gdf, kind, idx)
        poly, gap = _close_line(geom)
        if poly is None or gap > max_gap_m:
            reason = (
                f"ends {gap:,.0f} m from its start (more than {max_gap_m:g} m)"
                if np.isfinite(gap)
                else "has fewer than 3 points"
            )
            problems.append(
                Problem(
                    "error",
                    "open-track",
                    _(
                        "this {what} {reason}, so it cannot be closed into a fenced plot. Walk "
                        "the whole fence back to the start point, or draw the plot as a polygon."
                    ).format(what=what, reason=reason),
                    source=source,
                    feature=label,
                )
            )
            keep[k] = False
            continue
        if gap > close_tolerance_m:
            problems.append(
                Problem(
                    "warning",
                    "open-track",
                    _(
                        "this {what} ends {gap:,.0f} m from its start; closed with a straight "
                        "line. Check the fence there."
                    ).format(what=what, gap=gap),
                    source=source,
                    feature=label,
                )
            )
        geoms[k] = poly
    return gdf.set_geometry(geoms).loc[keep], problems


def _empty(kind: str, crs: CRS) -> gpd.GeoDataFrame:
    numeric = {S.AREA_HA: "float64", S.ALTITUDE_M: "float64", S.FENCED_YEAR: "Int64"}
    return gpd.GeoDataFrame(
        {c: pd.array([], dtype=numeric.get(c, "string")) for c in S.LAYER_COLUMNS[kind]},
        geometry=gpd.GeoSeries([], crs=crs),
        crs=crs,
    )


def _guess_crs_hint(gdf: gpd.GeoDataFrame) -> str:
    present = gdf.geometry[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if len(present):
        minx, miny, maxx, maxy = present.total_bounds
        if minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90:
            return "The numbers look like degrees: pass --assume-crs EPSG:4326."
        if minx >= 100_000 and maxx <= 900_000 and miny >= 7_000_000 and maxy <= 10_000_000:
            return "The numbers look like UTM 19S metres: pass --assume-crs EPSG:32719."
    return "Pass --assume-crs with the CRS the coordinates are in (e.g. EPSG:32719)."


def _check_years(frame: pd.DataFrame, source: str) -> list[Problem]:
    problems = []
    lo, hi = S.FENCED_YEAR_RANGE
    years = pd.array([pd.NA] * len(frame), dtype="Int64")
    for k, (idx, value) in enumerate(frame[S.FENCED_YEAR].items()):
        if pd.isna(value):
            continue
        try:
            number = float(str(value).replace(",", "."))
        except ValueError:
            number = float("nan")
        if not np.isfinite(number) or not number.is_integer() or not lo <= number <= hi:
            problems.append(
                Problem(
                    "error",
                    "bad-year",
                    _(
                        "fencing year '{value}' is not a whole year between {lo} and {hi}. Write "
                        "the year the fence was finished, e.g. 2019, or leave it empty."
                    ).format(value=value, lo=lo, hi=hi),
                    source=source,
                    feature=V.feature_label(frame, S.PLOTS, idx),
                    field=S.FENCED_YEAR,
                )
            )
            continue
        years[k] = int(number)
    frame[S.FENCED_YEAR] = years
    return problems


def _repair_polygons(
    gdf: gpd.GeoDataFrame, kind: str, *, source: str, repair: RepairMode, max_change: float
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    problems: list[Problem] = []
    geoms = gdf.geometry.array.copy()
    keep = np.ones(len(gdf), dtype=bool)
    invalid = ~shapely.is_valid(np.asarray(geoms))
    for k in np.flatnonzero(invalid):
        idx = gdf.index[k]
        label = V.feature_label(gdf, kind, idx)
        geom = geoms[k]
        reason = shapely.is_valid_reason(geom)
        before = abs(geom.area)
        fixed = _polygonal(shapely.make_valid(geom))
        after = fixed.area
        change = (after - before) / before if before > 0 else np.inf
        if repair == "reject" or fixed.is_empty or abs(change) > max_change:
            why = (
                "--repair reject was given"
                if repair == "reject"
                else f"the repair would change its area from {before / S.M2_PER_HA:.3f} ha to "
                f"{after / S.M2_PER_HA:.3f} ha"
            )
            problems.append(
                Problem(
                    "error",
                    "invalid-geometry",
                    _(
                        "invalid outline ({reason}); not repaired because {why}. Redraw it in "
                        "QGIS (Vector > Geometry Tools > Check Validity shows where)."
                    ).format(reason=reason, why=why),
                    source=source,
                    feature=label,
                )
            )
            keep[k] = False
            continue
        message = (
            f"invalid outline ({reason}) repaired: area {before / S.M2_PER_HA:.4f} ha -> "
            f"{after / S.M2_PER_HA:.4f} ha ({change:+.2%})."
        )
        problems.append(
            Problem("warning", "invalid-geometry", message, source=source, feature=label)
        )
        warnings.warn(
            f"{source}, feature {label}: {message}", GeometryRepairedWarning, stacklevel=3
        )
        geoms[k] = fixed
    return gdf.set_geometry(geoms).loc[keep], problems


@dataclass
class Project:
    """All layers of a pasture project, normalised, with every problem found.

    Attributes
    ----------
    communities, plots, corrals, water_points
        Layers in the working CRS (empty when not given).
    herds
        The herd register (empty when not given).
    problems
        Problems of every layer and of the checks across layers.
    sources
        File read for each layer kind.
    """

    communities: gpd.GeoDataFrame
    plots: gpd.GeoDataFrame
    corrals: gpd.GeoDataFrame
    water_points: gpd.GeoDataFrame
    herds: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no problem is an error."""
        return not V.errors_in(self.problems)

    def raise_for_errors(self) -> None:
        """Raise :class:`ValidationError` listing every problem if any is an error."""
        if not self.ok:
            raise ValidationError(self.problems)


def load_project(
    *,
    communities: str | os.PathLike[str] | None = None,
    plots: str | os.PathLike[str] | None = None,
    corrals: str | os.PathLike[str] | None = None,
    water_points: str | os.PathLike[str] | None = None,
    herds: str | os.PathLike[str] | None = None,
    crs: str | int | CRS = S.WORKING_CRS,
    assume_crs: str | int | CRS | None = None,
    repair: RepairMode = "warn",
    overlap_tolerance_m2: float = V.DEFAULT_OVERLAP_TOLERANCE_M2,
    area: V.WorkingArea = V.JULI_AREA,
    defaults: Mapping[str, Mapping[str, object]] | None = None,
    fields: Mapping[str, Mapping[str, str]] | None = None,
) -> Project:
    """Read every given layer and run all checks, collecting problems instead of stopping.

    A file that cannot be read at all becomes one ``file``/``layer``/``missing-crs``
    problem, and the other files are still checked. Features more than
    ``area.margin_km`` outside the study `area` (Juli by default) are refused;
    `defaults` gives values, per layer kind, for fields the files lack, and `fields`
    the files' own names of schema fields (``{"plots": {"plot_code": "id_parcel"}}``).

    Plots overlapping by at most `overlap_tolerance_m2` (m²) are digitising slivers:
    a warning each, and the sliver is cut from the later plot of the pair
    (:func:`trim_slivers`), so that the plots' areas and every stage downstream
    count it once. Larger overlaps are errors.

    Returns
    -------
    Project
        Call :meth:`Project.raise_for_errors` to stop on errors.
    """
    work_crs = parse_crs(crs)
    assert work_crs is not None
    problems: list[Problem] = []
    sources: dict[str, str] = {}
    frames: dict[str, gpd.GeoDataFrame] = {}
    for kind, path in (
        (S.COMMUNITIES, communities),
        (S.PLOTS, plots),
        (S.CORRALS, corrals),
        (S.WATER_POINTS, water_points),
    ):
        frames[kind] = _empty(kind, work_crs)
        if path is None:
            continue
        sources[kind] = str(path)
        try:
            result = read_layer(
                path,
                kind,
                crs=work_crs,
                assume_crs=assume_crs,
                repair=repair,
                area=area,
                defaults=(defaults or {}).get(kind),
                fields=(fields or {}).get(kind),
            )
        except (InputFileError, LayerError) as exc:
            rule = "file" if isinstance(exc, InputFileError) else "layer"
            problems.append(Problem("error", rule, str(exc)))
            continue
        problems += result.problems
        frames[kind] = result.frame

    herd_frame = pd.DataFrame(columns=list(S.LAYER_COLUMNS[S.HERDS]))
    if herds is not None:
        sources[S.HERDS] = str(herds)
        try:
            herd_result = _read_herds(herds, (fields or {}).get(S.HERDS))
        except PasturesError as exc:
            problems.append(Problem("error", "file", str(exc)))
        else:
            problems += herd_result.problems
            herd_frame = herd_result.frame

    com = frames[S.COMMUNITIES]
    if len(com):
        names = {fold(n): n for n in com[S.COMMUNITY].dropna()}
        for kind in (S.PLOTS, S.CORRALS, S.WATER_POINTS):
            frames[kind] = _canonical_communities(frames[kind], names)
        herd_frame = _canonical_communities(herd_frame, names)
        for kind in (S.PLOTS, S.CORRALS, S.WATER_POINTS):
            problems += V.check_in_communities(
                frames[kind], kind, com, source=sources.get(kind, kind)
            )
    if len(frames[S.PLOTS]):
        frames[S.PLOTS], found = check_and_trim_overlaps(
            frames[S.PLOTS], source=sources.get(S.PLOTS, S.PLOTS), tolerance_m2=overlap_tolerance_m2
        )
        problems += found
    if herds is not None and len(herd_frame):
        problems += check_herds(
            herd_frame,
            communities=com if communities is not None else None,
            corrals=frames[S.CORRALS] if corrals is not None else None,
            source=sources[S.HERDS],
        )
    return Project(
        communities=com,
        plots=frames[S.PLOTS],
        corrals=frames[S.CORRALS],
        water_points=frames[S.WATER_POINTS],
        herds=herd_frame,
        problems=problems,
        sources=sources,
    )


def _read_herds(path: str | os.PathLike[str], fields: Mapping[str, str] | None) -> HerdResult:
    """The herd register, its fields named by `fields` (schema column -> the file's)."""
    if not fields:
        return read_herds(path)
    table = read_table(path)
    columns = [str(c) for c in table.columns]
    problems = field_problems(columns, S.HERDS, fields, source=str(path))
    renamed: dict[str, str] = {}
    for canon, theirs in fields.items():
        found = _find_field(columns, theirs)
        if canon in S.LAYER_COLUMNS[S.HERDS] and found is not None:
            renamed[found] = canon
    # a column already named like a mapped field steps aside, so the mapping wins
    clash = {c: f"{c} (not used)" for c in columns if c in renamed.values() and c not in renamed}
    table = table.rename(columns={**clash, **renamed})
    result = normalise_herds(table, source=str(path))
    return HerdResult(result.frame, [*problems, *result.problems], result.source)


def check_and_trim_overlaps(
    plots: gpd.GeoDataFrame, *, source: str, tolerance_m2: float = V.DEFAULT_OVERLAP_TOLERANCE_M2
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Check overlaps between plots and cut the slivers (see :func:`trim_slivers`).

    Returns
    -------
    tuple
        The plots (a copy, slivers cut, ``area_ha`` recomputed) and the problems of
        :func:`pastures.validation.check_overlaps`.
    """
    pairs = V.overlap_pairs(plots)
    problems = V.check_overlaps(plots, source=source, tolerance_m2=tolerance_m2, pairs=pairs)
    return trim_slivers(plots, pairs, tolerance_m2=tolerance_m2), problems


def trim_slivers(
    plots: gpd.GeoDataFrame, pairs: list[V.Overlap], *, tolerance_m2: float
) -> gpd.GeoDataFrame:
    """Cut each sliver (an overlap of at most `tolerance_m2` m²) from the later plot.

    Two plots that overlap by a digitising sliver would both count its area: in their
    ``area_ha``, their forage, their share of the stocking. The sliver stays with the
    plot that comes first in the file and is cut from the other, as QGIS's "avoid
    overlaps" digitising option cuts the newly drawn polygon; at a few m² the choice
    changes no figure that is shown. ``area_ha`` is then recomputed, so the plots' areas
    add up to the area of their union. Larger overlaps (errors) are left as they are.

    Parameters
    ----------
    plots
        Plots in a projected CRS (metres), as read by :func:`read_layer`.
    pairs
        Their :func:`pastures.validation.overlap_pairs`.
    tolerance_m2
        Largest overlap (m²) taken for a sliver.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy; the input is not modified.
    """
    out = plots.copy()
    slivers = [p for p in pairs if p.area_m2 <= tolerance_m2]
    if not slivers:
        return out
    geoms = out.geometry.array.copy()
    for pair in slivers:
        cut = _polygonal(shapely.difference(geoms[pair.second], geoms[pair.first]))
        if not cut.is_valid:
            cut = _polygonal(shapely.make_valid(cut))
        geoms[pair.second] = cut
    out = out.set_geometry(geoms)
    if S.AREA_HA in out.columns:
        out[S.AREA_HA] = out.geometry.area / S.M2_PER_HA
    logger.info(_("cut %d overlap sliver(s) from the later plot of each pair"), len(slivers))
    return out


def assign_communities(
    features: gpd.GeoDataFrame,
    kind: str,
    communities: gpd.GeoDataFrame,
    *,
    source: str,
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Give features without a community the community they lie in, then check all.

    A feature lies in the community that contains its representative point (for
    plots) or the point itself (corrals, water points). Both layers must be in the
    same CRS.

    Returns
    -------
    tuple
        The features (a copy) and the problems: features in no community, and the
        :func:`pastures.validation.check_in_communities` problems.
    """
    out = features.copy()
    names = {fold(n): n for n in communities[S.COMMUNITY].dropna()}
    out = _canonical_communities(out, names)
    problems: list[Problem] = []
    missing = out[S.COMMUNITY].isna().to_numpy()
    if missing.any():
        points = out.geometry[missing].representative_point()
        hit = gpd.sjoin(
            gpd.GeoDataFrame(geometry=points, crs=out.crs),
            communities[[S.COMMUNITY, "geometry"]],
            how="left",
            predicate="within",
        )
        found = hit.groupby(level=0)[S.COMMUNITY].first()
        out.loc[found.index, S.COMMUNITY] = found.astype("string")
        for idx in out.index[missing]:
            if pd.isna(out.at[idx, S.COMMUNITY]):
                problems.append(
                    Problem(
                        "error",
                        "outside-community",
                        _(
                            "has no community and lies in none of the communities layer. Give "
                            "--community, or fill in its community field."
                        ),
                        source=source,
                        feature=V.feature_label(out, kind, idx),
                        field=S.COMMUNITY,
                    )
                )
    problems += V.check_in_communities(out, kind, communities, source=source)
    return out, problems


def _canonical_communities(df: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Spell community names as the communities layer does (case and accents aside)."""
    if S.COMMUNITY not in df.columns or not len(df):
        return df
    out = df.copy()
    out[S.COMMUNITY] = (
        out[S.COMMUNITY]
        .map(lambda v: names.get(fold(v), v) if isinstance(v, str) else v)
        .astype("string")
    )
    return out
