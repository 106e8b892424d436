"""Validation rules for pasture layers and herd registers.

Each rule is a small function that looks at data (GeoDataFrames and DataFrames
already normalised by :mod:`pastures.layers` and :mod:`pastures.herds`) and
returns a list of :class:`~pastures.errors.Problem`, so that every problem is
reported at once, each naming the file, feature and field at fault. Rules never
modify their input; repairs are made by :mod:`pastures.layers` and reported here.

The rules, by identifier (see :data:`RULES`):

=========================  ======================================================
``file``                   missing, empty, unreadable or unsupported file
``layer``                  the layer does not exist, or a multi-layer file needs one
``missing-crs``            the file declares no coordinate reference system
``missing-field``          a required field (column) is absent
``missing-value``          a required value is empty
``null-geometry``          a feature without geometry, or with an empty one
``geometry-type``          e.g. points in a plots layer
``invalid-geometry``       self-intersections etc.; repaired (warning, area change
                           stated) or rejected when the repair changes the area much
``open-track``             a GPS track or line does not return to its start
``swapped-coordinates``    latitude and longitude look exchanged
``not-degrees``            the file says degrees, the numbers are metres
``outside-area``           far outside the study area (the district of Juli by default)
``duplicate-key``          a plot code, corral, water point or family id used twice
``unknown-pasture-type``   not one of :data:`pastures.schema.PASTURE_TYPES` or aliases
``bad-year``               fencing year not a number or out of range
``overlap``                fenced plots overlap (overlap area stated); a sliver under
                           the tolerance is a warning and is counted in one plot only
``zero-area``              a plot or community with (almost) no area
``empty-layer``            a layer with no usable feature at all
``unreadable-geometry``    a geometry GEOS cannot build (a one-point line or ring)
``bad-coordinates``        NaN, infinite or impossibly large coordinates
``implausible-count``      an animal count too large for one family (error) or unusual
``outside-community``      plot or corral outside the community it belongs to
``unknown-community``      the community is not in the communities layer
``bad-count``              negative, fractional or non-numeric animal count
``unknown-corral``         a family's corral is not in the corrals layer
``corral-community``       a family's corral belongs to another community
=========================  ======================================================
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from pastures import schema as S
from pastures.defaults import DEFAULT_OVERLAP_TOLERANCE_M2
from pastures.errors import ParameterError, Problem
from pastures.i18n import N_, _

logger = logging.getLogger(__name__)

#: Every rule identifier with a one-line description (shown by ``pastures check --rules``).
RULES: dict[str, str] = {
    "file": N_("missing, empty, unreadable or unsupported file"),
    "layer": N_("layer does not exist, or a multi-layer file needs --layer"),
    "missing-crs": N_("the file declares no coordinate reference system"),
    "missing-field": N_("a required field (column) is absent"),
    "missing-value": N_("a required value is empty"),
    "null-geometry": N_("feature without geometry, or with an empty one"),
    "geometry-type": N_("wrong kind of geometry for the layer (e.g. points as plots)"),
    "invalid-geometry": N_("invalid outline: repaired with the area change stated, or rejected"),
    "open-track": N_("a GPS track or line used as a fence does not return to its start"),
    "swapped-coordinates": N_("latitude and longitude look exchanged"),
    "not-degrees": N_("the file says degrees but the numbers are metres"),
    "outside-area": N_("feature far outside the study area (the district of Juli by default)"),
    "duplicate-key": N_("plot code, corral, water point or family id used twice"),
    "unknown-pasture-type": N_(
        "pasture type not known (bofedal, pajonal, tolar, cesped, cultivado)"
    ),
    "bad-year": N_("fencing year not a whole number in a plausible range"),
    "overlap": N_("fenced plots overlap (area stated); slivers under the tolerance only warn"),
    "zero-area": N_("plot or community with (almost) no area (below 1 m²)"),
    "empty-layer": N_("the layer has no usable feature at all"),
    "unreadable-geometry": N_("a geometry that cannot be built (e.g. a line of a single point)"),
    "bad-coordinates": N_("NaN, infinite or impossibly large coordinates"),
    "implausible-count": N_("animal count too large for one family (warning), or absurd (error)"),
    "outside-community": N_("plot or corral lies outside its community"),
    "unknown-community": N_("community not in the communities layer"),
    "bad-count": N_("animal count negative, fractional or not a number"),
    "unknown-corral": N_("a family's corral is not in the corrals layer"),
    "corral-community": N_("a family's corral belongs to another community"),
}


def feature_label(gdf: pd.DataFrame, kind: str, index: object) -> str:
    """How to name a row in messages: its key if it has one, and its number in the file.

    Layers keep the row labels they were read with (0-based feature order), so the
    number shown (1-based) is the feature's place in the file even after filtering.
    """
    key = S.KEY_COLUMN.get(kind)
    number = f"#{int(index) + 1}" if isinstance(index, int | np.integer) else f"#{index}"
    if key and key in gdf.columns:
        value = gdf.at[index, key]
        if isinstance(value, str) and value.strip():
            return f"'{value}' ({number})"
    return number


def check_duplicate_keys(df: pd.DataFrame, kind: str, *, source: str) -> list[Problem]:
    """Report keys (plot codes, corral ids, ...) that occur more than once."""
    key = S.KEY_COLUMN[kind]
    if key not in df.columns:
        return []
    values = df[key].astype("string").str.strip()
    problems = []
    for value, count in values[values.notna() & (values != "")].value_counts().items():
        if count > 1:
            rows = [str(int(i) + 1) for i in values.index[values == value]]
            problems.append(
                Problem(
                    "error",
                    "duplicate-key",
                    _(
                        "'{value}' is used by {count} features (#{value2}); every {key} must be "
                        "unique: rename all but one."
                    ).format(value=value, count=count, value2=", #".join(rows), key=key),
                    source=source,
                    field=key,
                )
            )
    return problems


#: Sliver tolerance (m²): see :data:`pastures.defaults.DEFAULT_OVERLAP_TOLERANCE_M2`.
#: Overlap (m²) below which two plots are taken to share their fence: neither reported
#: nor cut. Outlines that share a fence are seldom exactly equal in floating point, and
#: snapping leaves overlaps of a fraction of a m² (the LPIS parcels above have three of
#: 0.01-0.1 m²); under 1 m², counting it twice changes no area shown (0.0001 ha).
#: This was the toolkit's overlap tolerance before slivers were told apart.
OVERLAP_NOISE_M2 = 1.0


@dataclass(frozen=True)
class Overlap:
    """Two plots that overlap: their positions in the layer and the shared area (m²)."""

    first: int
    second: int
    area_m2: float


def overlap_pairs(plots: gpd.GeoDataFrame) -> list[Overlap]:
    """Every pair of plots that overlap by more than :data:`OVERLAP_NOISE_M2`, in file order.

    `first` < `second` are row positions (not labels); areas are in the plots'
    CRS units² (m² in the working CRS).
    """
    if not len(plots):
        return []
    geoms = plots.geometry.array
    valid = ~(plots.geometry.isna() | plots.geometry.is_empty).to_numpy()
    left, right = plots.sindex.query(geoms, predicate="intersects")
    pairs = []
    for i, j in sorted(zip(left.tolist(), right.tolist(), strict=True)):
        if i >= j or not (valid[i] and valid[j]):
            continue
        area = float(shapely.area(shapely.intersection(geoms[i], geoms[j])))
        if area > OVERLAP_NOISE_M2:
            pairs.append(Overlap(i, j, area))
    return pairs


def check_overlaps(
    plots: gpd.GeoDataFrame,
    *,
    source: str,
    tolerance_m2: float = DEFAULT_OVERLAP_TOLERANCE_M2,
    pairs: list[Overlap] | None = None,
) -> list[Problem]:
    """Report plots that overlap: slivers up to `tolerance_m2` warn, larger overlaps are errors.

    Plots sharing a fence touch but do not overlap; a large overlap usually means a
    plot was digitised twice or a GPS walk strayed over the neighbour's fence. An
    overlap of at most `tolerance_m2` (m², in the plots' CRS units²; default
    :data:`DEFAULT_OVERLAP_TOLERANCE_M2`) is a digitising sliver: a warning naming
    both plots (:func:`pastures.layers.trim_slivers` then keeps it in one plot only).

    Parameters
    ----------
    pairs
        The layer's :func:`overlap_pairs`, when already computed.
    """
    if not np.isfinite(tolerance_m2) or tolerance_m2 < 0:
        raise ParameterError(
            _("overlap tolerance {tolerance_m2!r} m² must be a finite number >= 0.").format(
                tolerance_m2=tolerance_m2
            )
        )
    problems = []
    for pair in overlap_pairs(plots) if pairs is None else pairs:
        area = pair.area_m2
        a = feature_label(plots, S.PLOTS, plots.index[pair.first])
        b = feature_label(plots, S.PLOTS, plots.index[pair.second])
        if area <= tolerance_m2:
            problems.append(
                Problem(
                    "warning",
                    "overlap",
                    _(
                        "plots {a} and {b} overlap by {area:,.1f} m², within the overlap "
                        "tolerance of {tolerance_m2:g} m² (a digitising sliver): counted once, "
                        "in {a}, and cut from {b}. Snap the shared fence line in QGIS to remove "
                        "it."
                    ).format(a=a, b=b, area=area, tolerance_m2=tolerance_m2),
                    source=source,
                    feature=b,
                )
            )
            continue
        problems.append(
            Problem(
                "error",
                "overlap",
                _(
                    "plots {a} and {b} overlap by {value:.3f} ha ({area:,.0f} m²), more than "
                    "the overlap tolerance of {tolerance_m2:g} m². Fix the shared fence line "
                    "in QGIS so they only touch (or raise the tolerance if this is a "
                    "digitising sliver)."
                ).format(a=a, b=b, value=area / S.M2_PER_HA, area=area, tolerance_m2=tolerance_m2),
                source=source,
                feature=a,
            )
        )
    return problems


#: Smallest area (m²) of a plot or community; below it the outline is degenerate (a
#: sliver, a polygon drawn with coincident points) rather than a fenced pasture.
MIN_POLYGON_AREA_M2 = 1.0


def check_min_area(
    gdf: gpd.GeoDataFrame,
    kind: str,
    *,
    source: str,
    min_area_m2: float = MIN_POLYGON_AREA_M2,
) -> list[Problem]:
    """Report polygons (in a projected CRS, metres) smaller than `min_area_m2`."""
    if not len(gdf):
        return []
    area = gdf.geometry.area.to_numpy()
    problems = []
    for k in np.flatnonzero(~(area >= min_area_m2)):
        idx = gdf.index[k]
        problems.append(
            Problem(
                "error",
                "zero-area",
                _(
                    "has an area of {value:.3g} m² (less than {min_area_m2:g} m²): its "
                    "outline is degenerate (points on one line or on top of each other). "
                    "Redraw it."
                ).format(value=area[k], min_area_m2=min_area_m2),
                source=source,
                feature=feature_label(gdf, kind, idx),
            )
        )
    return problems


def check_in_communities(
    features: gpd.GeoDataFrame,
    kind: str,
    communities: gpd.GeoDataFrame,
    *,
    source: str,
    max_outside_share: float = 0.01,
    point_tolerance_m: float = 10.0,
) -> list[Problem]:
    """Report features whose community is unknown or that lie outside it.

    Parameters
    ----------
    features
        Plots or corrals with a community column, in the CRS of `communities`.
    kind
        ``"plots"``, ``"corrals"`` or ``"water_points"``.
    communities
        The communities layer.
    source
        File label for messages.
    max_outside_share
        Share of a polygon's area allowed outside its community (digitising slack).
    point_tolerance_m
        Distance a point may lie outside its community.
    """
    if S.COMMUNITY not in features.columns or len(communities) == 0:
        return []
    by_name = dict(zip(communities[S.COMMUNITY], communities.geometry, strict=True))
    problems = []
    for idx, row in features.iterrows():
        name = row[S.COMMUNITY]
        geom = row.geometry
        label = feature_label(features, kind, idx)
        if not isinstance(name, str) or not name.strip():
            continue  # reported as missing-value
        if name not in by_name:
            known = ", ".join(sorted(by_name))
            problems.append(
                Problem(
                    "error",
                    "unknown-community",
                    _(
                        "community '{name}' is not in the communities layer (known: {known}). "
                        "Correct the spelling or add the community."
                    ).format(name=name, known=known),
                    source=source,
                    feature=label,
                    field=S.COMMUNITY,
                )
            )
            continue
        if geom is None or geom.is_empty:
            continue
        home = by_name[name]
        if geom.geom_type == "Point":
            d = home.distance(geom)
            if d > point_tolerance_m:
                inside = _community_of(geom, by_name)
                hint = f" It lies in {inside}." if inside else ""
                problems.append(
                    Problem(
                        "error",
                        "outside-community",
                        _(
                            "lies {d:,.0f} m outside its community '{name}'.{hint} Move the "
                            "point or correct its community."
                        ).format(d=d, name=name, hint=hint),
                        source=source,
                        feature=label,
                        field=S.COMMUNITY,
                    )
                )
        else:
            outside = geom.difference(home).area
            if geom.area > 0 and outside / geom.area > max_outside_share:
                problems.append(
                    Problem(
                        "error",
                        "outside-community",
                        _(
                            "{value:.0%} ({value2:.2f} ha) lies outside its community '{name}'. "
                            "Correct the outline or the community."
                        ).format(
                            value=outside / geom.area, value2=outside / S.M2_PER_HA, name=name
                        ),
                        source=source,
                        feature=label,
                        field=S.COMMUNITY,
                    )
                )
    return problems


def _community_of(geom: shapely.Geometry, by_name: dict[str, shapely.Geometry]) -> str | None:
    for name, poly in by_name.items():
        if poly.contains(geom):
            return f"'{name}'"
    return None


@dataclass(frozen=True)
class WorkingArea:
    """The area layers must lie in: a box in degrees, a margin, and its name for messages."""

    bounds_lonlat: tuple[float, float, float, float] = S.JULI_BOUNDS_LONLAT
    margin_km: float = S.DEFAULT_AREA_MARGIN_KM
    name: str = N_("the district of Juli")


#: The default working area: the district of Juli with a 25 km margin.
JULI_AREA = WorkingArea()


def check_location(
    gdf: gpd.GeoDataFrame,
    kind: str,
    *,
    source: str,
    bounds_lonlat: tuple[float, float, float, float] = S.JULI_BOUNDS_LONLAT,
    margin_km: float = S.DEFAULT_AREA_MARGIN_KM,
    area_name: str = N_("the district of Juli"),
) -> list[Problem]:
    """Report swapped, non-degree or far-away coordinates, before any reprojection.

    Parameters
    ----------
    gdf
        A layer in the CRS of its file (which must be set).
    kind
        Layer kind, for naming features.
    source
        File label for messages.
    bounds_lonlat
        Working area (west, south, east, north) in degrees; the district of Juli by default.
    margin_km
        How far outside the working area a feature may lie.
    area_name
        The working area as named in messages (a project's study area), translated here.
    """
    if gdf.crs is None or len(gdf) == 0:
        return []
    area_name = _(area_name)
    present = ~(gdf.geometry.isna() | gdf.geometry.is_empty)
    if not present.any():
        return []
    b = gdf.geometry[present].bounds
    xmid = ((b["minx"] + b["maxx"]) / 2).to_numpy()
    ymid = ((b["miny"] + b["maxy"]) / 2).to_numpy()
    labels = [feature_label(gdf, kind, i) for i in b.index]
    margin = margin_km / 111.0
    w, s, e, n = bounds_lonlat
    w, s, e, n = w - margin, s - margin, e + margin, n + margin

    def inside(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        return (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)

    problems: list[Problem] = []
    if gdf.crs.is_geographic:
        not_deg = (np.abs(xmid) > 180) | (np.abs(ymid) > 90)
        if not_deg.any():
            first = labels[int(np.argmax(not_deg))]
            guess = (
                " (they look like UTM 19S metres: use --assume-crs EPSG:32719)"
                if ((np.abs(xmid[not_deg]) < 1e6) & (np.abs(ymid[not_deg]) > 1e6)).all()
                else ""
            )
            problems.append(
                Problem(
                    "error",
                    "not-degrees",
                    _(
                        "{value} feature(s), the first {first}, have coordinates outside "
                        "±180/±90 although the file declares {value2}{guess}. Set the file's "
                        "real CRS."
                    ).format(
                        value=int(not_deg.sum()),
                        first=first,
                        value2=gdf.crs.to_string(),
                        guess=guess,
                    ),
                    source=source,
                )
            )
            return problems
        lon, lat = xmid, ymid
    else:
        to_ll = Transformer.from_crs(gdf.crs, S.LONLAT_CRS, always_xy=True)
        lon, lat = to_ll.transform(xmid, ymid)
        lon, lat = np.asarray(lon), np.asarray(lat)
    ok = inside(lon, lat)
    swapped = ~ok & inside(lat, lon) if gdf.crs.is_geographic else np.zeros_like(ok)
    for k in np.flatnonzero(swapped):
        problems.append(
            Problem(
                "error",
                "swapped-coordinates",
                _(
                    "coordinates look swapped: ({value:.5f}, {value2:.5f}) would be in "
                    "{area_name} read as (latitude, longitude). Export with longitude first "
                    "(x = lon)."
                ).format(value=xmid[k], value2=ymid[k], area_name=area_name),
                source=source,
                feature=labels[k],
            )
        )
    far = ~ok & ~swapped
    if far.any():
        idx = np.flatnonzero(far)
        shown = ", ".join(labels[k] for k in idx[:5]) + (" ..." if len(idx) > 5 else "")
        k = idx[0]
        problems.append(
            Problem(
                "error",
                "outside-area",
                _(
                    "{idx} feature(s) lie more than {margin_km:g} km outside {area_name} "
                    "({shown}); the first is at lon {value:.4f}, lat {value2:.4f}. The "
                    "working area is {area_name} (lon {value3:g} to {value4:g}, lat "
                    "{value5:g} to {value6:g}) and {margin_km:g} km around it. Check the "
                    "file's CRS (is it really {value7}?) or that this is the right file, or "
                    "give your study area: --bounds W,S,E,N, --boundary FILE or --project "
                    "FILE on the command line, [study_area] in a project file."
                ).format(
                    idx=len(idx),
                    margin_km=margin_km,
                    area_name=area_name,
                    shown=shown,
                    value=lon[k],
                    value2=lat[k],
                    value3=bounds_lonlat[0],
                    value4=bounds_lonlat[2],
                    value5=bounds_lonlat[1],
                    value6=bounds_lonlat[3],
                    value7=gdf.crs.to_string(),
                ),
                source=source,
                feature=labels[k],
            )
        )
    return problems


def check_pasture_types(plots: pd.DataFrame, *, source: str) -> list[Problem]:
    """Report pasture types that are neither canonical nor a known alias."""
    if S.PASTURE_TYPE not in plots.columns:
        return []
    problems = []
    known = ", ".join(S.PASTURE_TYPES)
    for idx, value in plots[S.PASTURE_TYPE].items():
        if isinstance(value, str) and value.strip() and value not in S.PASTURE_TYPES:
            problems.append(
                Problem(
                    "error",
                    "unknown-pasture-type",
                    _("pasture type '{value}' is not known. Use one of: {known}.").format(
                        value=value, known=known
                    ),
                    source=source,
                    feature=feature_label(plots, S.PLOTS, idx),
                    field=S.PASTURE_TYPE,
                )
            )
    return problems


def check_required_values(df: pd.DataFrame, kind: str, *, source: str) -> list[Problem]:
    """Report empty values in the required columns of a layer or table."""
    problems = []
    for col in S.REQUIRED_COLUMNS[kind]:
        if col not in df.columns or col in S.SPECIES_COLUMNS:
            continue
        values = df[col]
        empty = values.isna() | (values.astype("string").str.strip() == "")
        idx = list(df.index[empty.to_numpy()])
        if idx:
            rows = ", ".join(feature_label(df, kind, i) for i in idx[:8])
            more = _(" and {n} more").format(n=len(idx) - 8) if len(idx) > 8 else ""
            fix = (
                _(
                    "Give each feature its own short code (in QGIS: open the attribute table; "
                    "in a GPS or Google Earth: name each point or shape)"
                )
                if col == S.KEY_COLUMN[kind]
                else _(
                    "Fill it in (in QGIS: open the attribute table) or give a default: "
                    "--default {kind}.{col}=VALUE on the command line, or "
                    "[layers.defaults.{kind}] in a project file"
                ).format(kind=kind, col=col)
            )
            problems.append(
                Problem(
                    "error",
                    "missing-value",
                    _("{idx} feature(s) have no {col}: {rows}{more}. {fix}.").format(
                        idx=len(idx), col=col, rows=rows, more=more, fix=fix
                    ),
                    source=source,
                    field=col,
                )
            )
    return problems


def errors_in(problems: Iterable[Problem]) -> list[Problem]:
    """The problems of severity ``error``."""
    return [p for p in problems if p.severity == "error"]
