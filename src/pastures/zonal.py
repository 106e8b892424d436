"""Per-plot zonal statistics of index rasters, for every plot and date.

The work is split so that the costly geometric part is done once per grid:

1. :func:`plot_coverage` rasterises every plot once for a grid: the flat indices
   of the cells that belong to it and their weights (the share of the cell the
   plot covers under the ``exact`` rule, 1 otherwise), stored back to back.
2. :func:`zonal_statistics` then only gathers ``values[cells]`` and computes the
   statistics plot by plot in one compiled pass (numba; sums, then one small sort
   for the quantiles), for any number of dates and indices on that grid.

:func:`index_series` runs this over scenes: same-day tiles mosaicked, plots
reprojected to the imagery's CRS, one raster window per group of nearby plots.

Edge rules (which pixels belong to a plot):

``centre``
    Pixels whose centre lies in the plot: GDAL's rasteriser, the pixels
    ``rasterstats`` uses by default.
``all_touched``
    Every pixel the plot touches (GDAL ``ALL_TOUCHED``, ``rasterstats`` with
    ``all_touched=True``).
``inner``
    Pixels the plot covers entirely: no mixing with the neighbouring land (the
    default, since plots are fenced and their surroundings often differ).
``exact``
    Every pixel the plot touches, weighted by the share of the pixel it covers,
    as ``exactextract`` does (weighted mean, population standard deviation,
    weighted quantiles and coverage-weighted counts).

A plot smaller than a pixel, or for which the chosen rule selects no pixel (too
thin for any pixel to be inside it), falls back to ``exact``; the rule used is
stated per plot in :data:`~pastures.schema.EDGE_RULE` and logged.

The exact coverage of a cell is computed in pixel coordinates from the plot's
edges: for each edge piece within one pixel column, the integral of the edge's
height clamped to each pixel row (the trapezoid form of the shoelace formula
restricted to a rectangle), summed with the edge's direction as sign.
"""

from __future__ import annotations

import collections
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from rasterio import features

from pastures import _jit, imagery, schema
from pastures.defaults import DEFAULT_EDGE_RULE, EDGE_RULES, EdgeRule
from pastures.errors import CRSError, LayerError, ParameterError, PasturesError, Problem
from pastures.i18n import _
from pastures.imagery import Scene
from pastures.indices import (
    DEFAULT_INDICES,
    bands_needed,
    computable,
    compute_index,
    index_spec,
    mask_out_of_range,
)

logger = logging.getLogger(__name__)
_jit.import_arraymath()  # before any kernel loads: no scipy.linalg (see pastures._jit)

#: A cell counts as fully covered (``inner``) when its coverage is at least 1 - this.
FULL_COVER_TOLERANCE: Final = 1e-9
#: Coverage shares below this are rounding noise, not a touched cell.
MIN_COVERAGE: Final = 1e-12
#: Quantiles reported, by statistic name.
QUANTILES: Final = {schema.STAT_MEDIAN: 0.5, schema.STAT_P10: 0.1, schema.STAT_P90: 0.9}


@dataclass(frozen=True)
class PlotCoverage:
    """The cells of every plot on one grid, stored back to back (CSR layout).

    Attributes
    ----------
    plot_ids
        Plot codes, in input order.
    offsets
        ``cells[offsets[i]:offsets[i + 1]]`` are the cells of plot ``i``.
    cells
        Flat (row-major) indices into the grid.
    weights
        Weight of each cell: its covered share under ``exact``, else 1.
    total_weight
        Sum of the weights of each plot, including cells outside the grid
        (so that the valid fraction counts those as missing).
    rules_used
        Edge rule applied to each plot (``exact`` where the requested rule
        selected no cell).
    shape
        (rows, columns) of the grid.
    transform
        Affine transform of the grid.
    """

    plot_ids: np.ndarray
    offsets: np.ndarray
    cells: np.ndarray
    weights: np.ndarray
    total_weight: np.ndarray
    rules_used: np.ndarray
    shape: tuple[int, int]
    transform: Affine

    @property
    def groups(self) -> np.ndarray:
        """Plot number (0-based position) of each cell."""
        return np.repeat(np.arange(len(self.plot_ids), dtype=np.int64), np.diff(self.offsets))

    @property
    def weighted(self) -> bool:
        """True if any cell has a weight other than 1."""
        return bool(np.any(self.weights != 1.0))


def check_edge_rule(edge_rule: str) -> EdgeRule:
    """Return `edge_rule` if valid, else raise :class:`ParameterError`."""
    if edge_rule not in EDGE_RULES:
        raise ParameterError(
            _("Unknown edge rule '{edge_rule}'. Choose one of: {value}.").format(
                edge_rule=edge_rule, value=", ".join(EDGE_RULES)
            )
        )
    return edge_rule  # type: ignore[return-value]


def plot_coverage(
    geometries: Sequence[shapely.Geometry] | np.ndarray,
    transform: Affine,
    shape: tuple[int, int],
    *,
    edge_rule: EdgeRule = DEFAULT_EDGE_RULE,
    plot_ids: Sequence[str] | np.ndarray | None = None,
) -> PlotCoverage:
    """Rasterise every plot once for a grid: its cells and their weights.

    Parameters
    ----------
    geometries
        Plot polygons, in the CRS of the grid (reproject them first).
    transform
        Affine transform of the grid; north-up (no rotation).
    shape
        (rows, columns) of the grid. Plots may extend beyond it: cells outside
        are left out but still count in the plot's total weight.
    edge_rule
        Which pixels belong to a plot; see the module docstring.
    plot_ids
        Plot codes (default: 0, 1, 2...).

    Returns
    -------
    PlotCoverage
    """
    check_edge_rule(edge_rule)
    if transform.b != 0 or transform.d != 0:
        raise ParameterError(_("Rotated rasters are not supported: warp them to a north-up grid."))
    geoms = np.asarray(geometries, dtype=object)
    ids = np.asarray(
        plot_ids if plot_ids is not None else [str(i) for i in range(len(geoms))], dtype=object
    )
    rows, cols = shape
    pixel_area = abs(transform.a * transform.e)
    cell_parts: list[np.ndarray] = []
    weight_parts: list[np.ndarray] = []
    totals = np.zeros(len(geoms))
    used = np.empty(len(geoms), dtype=object)
    burned = (
        _burn_all(geoms, transform, all_touched=edge_rule == "all_touched")
        if edge_rule in ("centre", "all_touched")
        else None
    )
    for i, geom in enumerate(geoms):
        rule: EdgeRule = edge_rule
        if geom is None or geom.is_empty:
            r = c = np.empty(0, np.int64)
            w = np.empty(0)
        else:
            if burned is not None:
                r, c = burned[i]
                w = np.ones(r.size)
            else:
                r, c, w = _cells(geom, transform, rule)
            # Under every rule other than 'exact', a plot smaller than a pixel (or one
            # the rule gives no pixel) would be misrepresented: no pixel, or whole
            # pixels far larger than the plot. Its exact coverage is used instead.
            if r.size == 0 or (rule != "exact" and geom.area < pixel_area):
                logger.info(
                    _(
                        "Plot %s: the '%s' rule selects %d pixel(s) (plot of %.0f m², pixel of "
                        "%.0f m²); falling back to 'exact' coverage."
                    ),
                    ids[i],
                    rule,
                    r.size,
                    geom.area,
                    pixel_area,
                )
                rule = "exact"
                r, c, w = _cells(geom, transform, rule)
        used[i] = rule
        totals[i] = w.sum()
        inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
        cell_parts.append(r[inside] * cols + c[inside])
        weight_parts.append(w[inside])
    offsets = np.zeros(len(geoms) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([p.size for p in cell_parts])
    return PlotCoverage(
        plot_ids=ids,
        offsets=offsets,
        cells=np.concatenate(cell_parts) if cell_parts else np.empty(0, np.int64),
        weights=np.concatenate(weight_parts) if weight_parts else np.empty(0),
        total_weight=totals,
        rules_used=used,
        shape=(rows, cols),
        transform=transform,
    )


def _cells(
    geom: shapely.Geometry, transform: Affine, rule: EdgeRule
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and weights of the cells of one plot (may lie outside the grid)."""
    if rule in ("exact", "inner"):
        r, c, w = exact_coverage(geom, transform)
        if rule == "inner":
            keep = w >= 1.0 - FULL_COVER_TOLERANCE
            return r[keep], c[keep], np.ones(int(keep.sum()))
        return r, c, w
    # GDAL's rasteriser, on a window around the plot, as rasterstats does.
    minx, miny, maxx, maxy = geom.bounds
    c0, r0, c1, r1 = _pixel_bounds((minx, miny, maxx, maxy), transform)
    c0, r0, c1, r1 = c0 - 1, r0 - 1, c1 + 1, r1 + 1
    window_transform = imagery._translated(transform, c0, r0)
    burned = features.rasterize(
        [(geom, 1)],
        out_shape=(r1 - r0, c1 - c0),
        transform=window_transform,
        fill=0,
        all_touched=rule == "all_touched",
        dtype="uint8",
    )
    rr, cc = np.nonzero(burned)
    return rr.astype(np.int64) + r0, cc.astype(np.int64) + c0, np.ones(rr.size)


def _burn_all(
    geoms: np.ndarray, transform: Affine, *, all_touched: bool
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows and columns GDAL burns for each plot, in few rasterisation calls.

    Plots near enough to compete for a pixel go to different layers (greedy
    colouring), so each plot gets exactly the pixels a rasterisation of it
    alone would give (what rasterstats does, one plot at a time), but a whole
    layer of separate plots is burnt in one call.
    """
    empty = np.empty(0, np.int64)
    result: list[tuple[np.ndarray, np.ndarray]] = [(empty, empty)] * len(geoms)
    present = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    if present.size == 0:
        return result
    shapes = geoms[present]
    reach = 2.0 * float(np.hypot(transform.a, transform.e))
    left, right = shapely.STRtree(shapes).query(shapes, predicate="dwithin", distance=reach)
    layer = np.full(present.size, -1)
    neighbours: dict[int, list[int]] = {}
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a != b:
            neighbours.setdefault(a, []).append(b)
    for k in range(present.size):
        taken = {layer[j] for j in neighbours.get(k, ()) if layer[j] >= 0}
        colour = 0
        while colour in taken:
            colour += 1
        layer[k] = colour
    for colour in range(int(layer.max()) + 1):
        members = np.flatnonzero(layer == colour)
        minx, miny, _, _ = shapely.bounds(shapes[members]).min(axis=0)
        _, _, maxx, maxy = shapely.bounds(shapes[members]).max(axis=0)
        c0, r0, c1, r1 = _pixel_bounds((minx, miny, maxx, maxy), transform)
        c0, r0, c1, r1 = c0 - 1, r0 - 1, c1 + 1, r1 + 1
        burnt = features.rasterize(
            [(shapes[m], int(m) + 1) for m in members],
            out=np.zeros((r1 - r0, c1 - c0), dtype=np.int32),  # calloc: untouched pages stay free
            transform=imagery._translated(transform, c0, r0),
            all_touched=all_touched,
        )
        for m in members:
            pc0, pr0, pc1, pr1 = _pixel_bounds(tuple(shapely.bounds(shapes[m])), transform)
            pc0, pr0 = max(pc0 - 1 - c0, 0), max(pr0 - 1 - r0, 0)
            pc1, pr1 = pc1 + 1 - c0, pr1 + 1 - r0
            rr, cc = np.nonzero(burnt[pr0:pr1, pc0:pc1] == m + 1)
            result[present[m]] = (
                rr.astype(np.int64) + pr0 + r0,
                cc.astype(np.int64) + pc0 + c0,
            )
    return result


def _pixel_bounds(
    bounds: tuple[float, float, float, float], transform: Affine
) -> tuple[int, int, int, int]:
    """(col0, row0, col1, row1) of the pixels a bounding box overlaps."""
    minx, miny, maxx, maxy = bounds
    inverse = ~transform
    corners = [(x, y) for x in (minx, maxx) for y in (miny, maxy)]
    xs = [inverse.a * x + inverse.b * y + inverse.c for x, y in corners]
    ys = [inverse.d * x + inverse.e * y + inverse.f for x, y in corners]
    return (
        int(np.floor(min(xs))),
        int(np.floor(min(ys))),
        int(np.ceil(max(xs))),
        int(np.ceil(max(ys))),
    )


def exact_coverage(
    geom: shapely.Geometry, transform: Affine
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Share of each pixel covered by a polygon, exactly (to rounding).

    Parameters
    ----------
    geom
        Polygon or MultiPolygon (holes allowed), in the CRS of the grid.
    transform
        North-up affine transform of the grid.

    Returns
    -------
    rows, cols, weights
        Grid row and column of every pixel the polygon covers by more than
        :data:`MIN_COVERAGE`, and the covered share (0-1].
    """
    rings = shapely.get_rings(_oriented_parts(geom))
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    inverse = ~transform
    px = inverse.a * coords[:, 0] + inverse.b * coords[:, 1] + inverse.c
    py = inverse.d * coords[:, 0] + inverse.e * coords[:, 1] + inverse.f
    c0 = int(np.floor(px.min()))
    r0 = int(np.floor(py.min()))
    ncols = max(int(np.ceil(px.max())) - c0, 1)
    nrows = max(int(np.ceil(py.max())) - r0, 1)
    px -= c0
    py -= r0
    same_ring = ring_of[1:] == ring_of[:-1]
    cover = _coverage_kernel(
        px[:-1][same_ring],
        py[:-1][same_ring],
        px[1:][same_ring],
        py[1:][same_ring],
        nrows,
        ncols,
    )
    if cover.sum() < 0:  # pixel rows run down: the orientation may come out reversed
        cover = -cover
    rr, cc = np.nonzero(cover > MIN_COVERAGE)
    return rr + r0, cc + c0, np.minimum(cover[rr, cc], 1.0)


def _oriented_parts(geom: shapely.Geometry) -> np.ndarray:
    """Polygon parts with exteriors counter-clockwise and holes clockwise."""
    if hasattr(shapely, "orient_polygons"):  # shapely >= 2.1
        return shapely.get_parts(shapely.orient_polygons(geom))
    from shapely.geometry.polygon import orient

    return np.array([orient(part, 1.0) for part in shapely.get_parts(geom)], dtype=object)


def zonal_statistics(values: np.ndarray, coverage: PlotCoverage) -> pd.DataFrame:
    """Statistics of one raster for every plot of a coverage.

    Parameters
    ----------
    values
        2-D array on the coverage's grid; NaN (or another non-finite value, such
        as an index's 0/0) marks masked pixels.
    coverage
        From :func:`plot_coverage` for this grid.

    Returns
    -------
    pandas.DataFrame
        One row per plot (index: plot code) and the columns of
        :data:`~pastures.schema.ZONAL_STATISTICS`. With the ``exact`` rule, the
        mean, standard deviation (population) and quantiles are weighted by the
        covered share and the count is the sum of the shares (as exactextract).
        Otherwise they equal numpy's ``mean``, ``std``, ``percentile`` (linear)
        over the selected pixels (as rasterstats). Plots with no valid pixel get
        NaN statistics and a count of 0.
    """
    if values.shape != coverage.shape:
        raise ParameterError(
            _("Raster of shape {shape} does not match the coverage grid {shape2}.").format(
                shape=values.shape, shape2=coverage.shape
            )
        )
    return pd.DataFrame(
        statistics_array(values, coverage),
        index=pd.Index(coverage.plot_ids, name=schema.PLOT_CODE),
        columns=list(schema.ZONAL_STATISTICS),
    )


def statistics_array(values: np.ndarray, coverage: PlotCoverage) -> np.ndarray:
    """:func:`zonal_statistics` as a bare (plots × statistics) float64 array.

    Columns in the order of :data:`~pastures.schema.ZONAL_STATISTICS`. Compiled:
    one pass per plot gathers its valid cells, then sums and one small sort give
    every statistic.
    """
    q = np.array(list(QUANTILES.values()))
    raw = _statistics_kernel(
        values.ravel(),
        coverage.cells,
        coverage.weights,
        coverage.offsets,
        coverage.total_weight,
        q,
    )
    columns = {
        schema.STAT_MEAN: raw[:, 0],
        schema.STAT_STD: raw[:, 1],
        schema.STAT_COUNT: raw[:, 2],
        # a share: the weights summed in another order can give 1 + 2e-16
        schema.STAT_VALID_FRACTION: np.clip(raw[:, 3], 0.0, 1.0),
        **{name: raw[:, 4 + i] for i, name in enumerate(QUANTILES)},
    }
    return np.column_stack([columns[c] for c in schema.ZONAL_STATISTICS])


def _statistics_numpy(values: np.ndarray, coverage: PlotCoverage) -> np.ndarray:
    """Reference implementation of :func:`statistics_array` in plain numpy (sort-based)."""
    n_plots = len(coverage.plot_ids)
    gathered = values.ravel()[coverage.cells]
    ok = np.isfinite(gathered)
    v = gathered[ok].astype(np.float64)
    w = coverage.weights[ok]
    g = coverage.groups[ok]
    count = np.bincount(g, weights=w, minlength=n_plots)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(g, weights=w * v, minlength=n_plots) / count
        deviation = v - mean[g]
        std = np.sqrt(np.bincount(g, weights=w * deviation * deviation, minlength=n_plots) / count)
        valid_fraction = np.where(coverage.total_weight > 0, count / coverage.total_weight, 0.0)
        valid_fraction = np.clip(valid_fraction, 0.0, 1.0)
    median, p10, p90 = _grouped_quantiles(v, w, g, n_plots, tuple(QUANTILES.values()))
    columns = {
        schema.STAT_MEAN: mean,
        schema.STAT_MEDIAN: median,
        schema.STAT_STD: std,
        schema.STAT_P10: p10,
        schema.STAT_P90: p90,
        schema.STAT_COUNT: count,
        schema.STAT_VALID_FRACTION: valid_fraction,
    }
    return np.column_stack([columns[c] for c in schema.ZONAL_STATISTICS])


def _grouped_quantiles(
    v: np.ndarray, w: np.ndarray, g: np.ndarray, n_groups: int, qs: Iterable[float]
) -> list[np.ndarray]:
    """Weighted quantiles of `v` per group `g` (groups contiguous and ascending).

    The weighted definition: with values sorted ascending, weights ``w_k`` and
    cumulative weights ``S_k`` (k = 1..n), place value k at
    ``s_k = (k - 1) w_k + (n - 1) S_{k-1}`` and interpolate linearly at
    ``q s_n``. With equal weights this is numpy's default (linear, "type 7")
    quantile; it is the weighted quantile exactextract documents.
    """
    out = [np.full(n_groups, np.nan) for _ in qs]
    if v.size == 0:
        return out
    n = np.bincount(g, minlength=n_groups)
    start = np.cumsum(n) - n
    vmin, vmax = float(v.min()), float(v.max())
    scale = 1.0 / (vmax - vmin) if vmax > vmin else 0.0
    key = 4.0 * g + (v - vmin) * scale
    order = np.argsort(key, kind="stable")
    vs = v[order]
    ws = w[order]
    rank = np.arange(v.size) - start[g]
    cum = np.cumsum(ws)
    cum_before = np.concatenate(([0.0], cum))  # total weight before each position
    s_prev = cum_before[:-1] - cum_before[start][g]
    s = rank * ws + (n[g] - 1) * s_prev
    last = start + n - 1
    present = n > 0
    s_n = np.zeros(n_groups)
    s_n[present] = s[last[present]]
    with np.errstate(invalid="ignore", divide="ignore"):
        pos = np.where(s_n[g] > 0, s / s_n[g], 0.0)
    skey = 4.0 * g + pos
    groups = np.flatnonzero(present)
    for qi, q in enumerate(qs):
        i = np.searchsorted(skey, 4.0 * groups + q, side="left")
        i = np.clip(i, start[groups], last[groups])
        target = q * s_n[groups]
        prev = np.maximum(i - 1, start[groups])
        exact_hit = (i == start[groups]) | (s[i] <= target) | (s_n[groups] == 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = (target - s[prev]) / (s[i] - s[prev])
        value = np.where(exact_hit, vs[i], vs[prev] + frac * (vs[i] - vs[prev]))
        out[qi][groups] = value
    return out


# --- plots x scenes: the index time series ------------------------------------------

#: Plots closer than this (m) are read through one raster window.
DEFAULT_CLUSTER_GAP_M: Final = 1000.0


@dataclass(frozen=True)
class IndexSeries:
    """Everything :func:`index_series` found.

    Attributes
    ----------
    table
        Tidy table, columns :data:`~pastures.schema.ZONAL_COLUMNS`: one row per
        plot, date, index and statistic.
    dates
        One row per date (mosaic): platform, scenes used, share of the plots'
        pixels that were clear, and a status (``ok``, ``all-masked``,
        ``no-overlap``, ``failed``).
    rules
        Edge rule applied to each plot (index: plot code).
    problems
        Every problem met, per scene; the other scenes' results are kept.
    """

    table: pd.DataFrame
    dates: pd.DataFrame
    rules: pd.Series
    problems: list[Problem]


def plot_index_series(
    plots: gpd.GeoDataFrame,
    scenes: Sequence[Scene] | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    indices: Sequence[str] = DEFAULT_INDICES,
    edge_rule: EdgeRule = DEFAULT_EDGE_RULE,
) -> pd.DataFrame:
    """Per-plot index statistics for every date: the tidy table.

    A shortcut for ``index_series(plots, scenes, ...).table`` that logs each
    problem as a warning; the problems are also in ``table.attrs["problems"]``.
    See :func:`index_series` for the parameters.
    """
    result = index_series(plots, scenes, indices=indices, edge_rule=edge_rule)
    for problem in result.problems:
        logger.warning("%s", problem)
    table = result.table
    table.attrs["problems"] = result.problems
    return table


def index_series(
    plots: gpd.GeoDataFrame,
    scenes: Sequence[Scene] | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    indices: Sequence[str] = DEFAULT_INDICES,
    edge_rule: EdgeRule = DEFAULT_EDGE_RULE,
    id_column: str = schema.PLOT_CODE,
    cluster_gap_m: float = DEFAULT_CLUSTER_GAP_M,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
    boa_offset: imagery.BoaOffset = "auto",
) -> IndexSeries:
    """Compute index statistics per plot and date from a set of scenes.

    Same-day scenes of adjacent tiles are mosaicked (each pixel counted once).
    Plots are reprojected to each scene's CRS (the imagery is never resampled
    to another CRS) and read through windows around groups of nearby plots; the
    plot coverage of a window is computed once and reused for every date and
    index on that grid.

    A date whose scenes lack the bands of some indices (only the 10 m bands: no
    SWIR for NDMI and the bofedal index) gets the indices its bands allow; the
    others are skipped with an ``index-skipped`` problem naming the missing
    bands. Index values outside their valid range are masked (see
    :mod:`pastures.indices`) and counted in an ``out-of-range`` problem per date.

    Parameters
    ----------
    plots
        Plot polygons with a CRS and a unique `id_column`.
    scenes
        Scenes from :func:`pastures.imagery.load_scenes`, or what it accepts
        (folder, STAC JSON file(s)).
    indices
        Index names (keys of :data:`pastures.indices.INDICES`).
    edge_rule
        Which pixels belong to a plot (see the module docstring).
    id_column
        Column with the plot code.
    cluster_gap_m
        Plots closer than this share one raster window.
    progress
        Optional wrapper of the per-date loop (e.g. ``tqdm``).
    boa_offset
        When `scenes` are paths: the Sentinel-2 offset choice passed to
        :func:`pastures.imagery.load_scenes`.

    Returns
    -------
    IndexSeries

    Raises
    ------
    CRSError
        If the plots have no CRS.
    LayerError
        If `id_column` is missing or not unique.
    ParameterError
        For an unknown index or edge rule.
    """
    check_edge_rule(edge_rule)
    names = [index_spec(n).name for n in indices]
    needed = bands_needed(names)
    ids = _plot_ids(plots, id_column)
    problems: list[Problem] = []
    if _needs_loading(scenes):
        scenes, found = imagery.load_scenes(scenes, boa_offset=boa_offset)  # type: ignore[arg-type]
        problems.extend(found)
    frames: list[pd.DataFrame] = []
    date_rows: list[dict[str, Any]] = []
    rules = pd.Series("", index=pd.Index(ids, name=schema.PLOT_CODE), name=schema.EDGE_RULE)
    reprojected: dict[str, np.ndarray] = {}
    windows_cache: dict[tuple[Any, ...], list[tuple[imagery.Grid, np.ndarray, PlotCoverage]]] = {}
    rules_key: tuple[Any, ...] | None = None
    cells_of: dict[int, np.ndarray] = {}  # distinct cells of each coverage in windows_cache
    groups = imagery.group_by_date(scenes)  # type: ignore[arg-type]
    loop: Iterable[Any] = groups.items()
    if progress is not None:
        loop = progress(loop)

    def prepare(item: Any) -> _DateJob:
        """A date's row, indices and plot windows; its problems kept for later, in order."""
        (date, platform, _crs), members = item
        row: dict[str, Any] = {
            schema.DATE: date,
            schema.PLATFORM: platform,
            schema.SCENE_ID: " + ".join(s.scene_id for s in members),
            schema.TILE: " + ".join(sorted({s.tile for s in members if s.tile})),
            schema.STAT_VALID_FRACTION: np.nan,
            schema.DATE_STATUS: "failed",
        }
        date_rows.append(row)
        found: list[Problem] = []
        date_names, date_needed = _indices_of_date(members, names, needed, row, found)
        grid = _first_grid(members, date_needed, found)
        if grid is None:
            return _DateJob(members, row, date_names, date_needed, None, found)
        if grid.crs not in reprojected:
            if not _same_crs(plots.crs, grid.crs):
                logger.info(
                    _(
                        "Plots reprojected from %s to %s, the CRS of the imagery (the imagery "
                        "itself is not resampled)."
                    ),
                    plots.crs,
                    grid.crs,
                )
            reprojected[grid.crs] = plots.geometry.to_crs(grid.crs).to_numpy()
        geoms = reprojected[grid.crs]
        key = (grid.crs, _alignment(grid), edge_rule)
        if key not in windows_cache:
            windows_cache[key] = [
                (
                    wgrid,
                    members_idx,
                    plot_coverage(
                        geoms[members_idx],
                        wgrid.transform,
                        wgrid.shape,
                        edge_rule=edge_rule,
                        plot_ids=ids[members_idx],
                    ),
                )
                for wgrid, members_idx in _plot_windows(geoms, grid, cluster_gap_m)
            ]
            for _unused, _unused, coverage in windows_cache[key]:
                cells_of[id(coverage)] = np.unique(coverage.cells)
        return _DateJob(members, row, date_names, date_needed, key, found)

    for job, mosaics in _read_ahead(loop, prepare, windows_cache):
        problems.extend(job.problems)
        if mosaics is None or job.key is None:
            continue
        frame = _date_statistics(
            job.members,
            windows_cache[job.key],
            mosaics,
            names=job.names,
            row=job.row,
            problems=problems,
            cells_of=cells_of,
        )
        if frame is not None:
            frames.append(frame)
        if job.key != rules_key:  # the same windows as the previous date: the same rules
            for _unused, members_idx, coverage in windows_cache[job.key]:
                rules.iloc[members_idx] = coverage.rules_used
            rules_key = job.key
    return IndexSeries(
        table=_tidy(frames),
        dates=pd.DataFrame(date_rows),
        rules=rules,
        problems=problems,
    )


def _needs_loading(scenes: object) -> bool:
    """True if `scenes` are paths or STAC items rather than (possibly no) Scene objects."""
    if isinstance(scenes, str | os.PathLike):
        return True
    return bool(scenes) and not isinstance(scenes[0], Scene)  # type: ignore[index]


def _plot_ids(plots: gpd.GeoDataFrame, id_column: str) -> np.ndarray:
    """Plot codes as strings, after checking the layer has a CRS and unique codes."""
    if plots.crs is None:
        raise CRSError(
            _(
                "The plots layer has no CRS: set it (e.g. EPSG:32719 or EPSG:4326) before "
                "computing indices; coordinates are never guessed."
            )
        )
    if id_column not in plots.columns:
        raise LayerError(
            _("The plots layer has no '{id_column}' column to identify plots.").format(
                id_column=id_column
            )
        )
    ids = plots[id_column].astype(str).to_numpy(dtype=object)
    if len(set(ids)) != len(ids):
        raise LayerError(
            _("Plot codes in '{id_column}' are not unique: fix the duplicates first.").format(
                id_column=id_column
            )
        )
    return ids


def _indices_of_date(
    members: Sequence[Scene],
    names: Sequence[str],
    needed: Sequence[str],
    row: Mapping[str, Any],
    problems: list[Problem],
) -> tuple[list[str], tuple[str, ...]]:
    """The indices the bands of a date's scenes allow, and the bands they read.

    Skipped indices are reported as one ``index-skipped`` warning. When no index
    can be computed, all are returned so that the missing bands are reported as
    the scene's error.
    """
    available = set.intersection(*(set(s.bands) for s in members))
    ok, skipped = computable(list(names), available)
    if not skipped:
        return list(names), tuple(needed)
    if not ok:
        return list(names), tuple(needed)
    lacking = ", ".join(f"{n} (needs {' and '.join(b)})" for n, b in skipped.items())
    problems.append(
        Problem(
            "warning",
            "index-skipped",
            _(
                "Scene(s) {value} of {value2} have bands {value3} only: {lacking} not "
                "computed; {value4} computed. Add the missing band files (20 m SWIR B11 "
                "for NDMI and the bofedal index) to get them."
            ).format(
                value=row[schema.SCENE_ID],
                value2=row[schema.DATE],
                value3=", ".join(sorted(available)),
                lacking=lacking,
                value4=", ".join(ok),
            ),
            members[0].source,
            row[schema.SCENE_ID],
        )
    )
    return ok, bands_needed(ok)


def _first_grid(
    scenes: Sequence[Scene], bands: Sequence[str], problems: list[Problem]
) -> imagery.Grid | None:
    """The grid of the first scene of a group that can be opened (problems for the others)."""
    for scene in scenes:
        try:
            return imagery.scene_grid(scene, bands)
        except PasturesError as exc:
            problems.append(
                Problem("error", "unusable-scene", str(exc), scene.source, scene.scene_id)
            )
    return None


def date_status(
    row: dict[str, Any],
    *,
    observed_weight: float,
    clear_weight: float,
    total_weight: float,
    problems: list[Problem],
    source: str,
) -> bool:
    """Set a date's status and clear share in `row`; False when no scene saw a plot.

    Shared by the one-process and the Dask paths (:mod:`pastures.regional`), so both
    judge a date alike: "no-overlap" (or "failed" when a scene of the date could not
    be read), "all-masked" when every pixel over the plots is masked, else "ok".
    """
    date = row[schema.DATE]
    if observed_weight == 0:
        row[schema.DATE_STATUS] = (
            "no-overlap"
            if not any(p.feature == row[schema.SCENE_ID] for p in problems)
            else "failed"
        )
        problems.append(
            Problem(
                "warning",
                "no-overlap",
                _(
                    "Scene(s) {value} of {date} have no data over any plot: they cover "
                    "another area, or could not be read. Check the tile and the plots' CRS."
                ).format(value=row[schema.SCENE_ID], date=date),
                source,
                row[schema.SCENE_ID],
            )
        )
        return False
    row[schema.STAT_VALID_FRACTION] = clear_weight / total_weight if total_weight else 0.0
    row[schema.DATE_STATUS] = "ok" if clear_weight > 0 else "all-masked"
    if clear_weight == 0:
        problems.append(
            Problem(
                "warning",
                "all-masked",
                _(
                    "On {date} every pixel over the plots is cloud, shadow, snow or no data "
                    "(scene(s) {value}); recorded with no valid pixel."
                ).format(date=date, value=row[schema.SCENE_ID]),
                source,
                row[schema.SCENE_ID],
            )
        )
    return True


#: Dates whose scenes are read ahead of the one whose statistics are computed.
READ_AHEAD_DATES: Final = 2


@dataclass(frozen=True)
class _DateJob:
    """One date of :func:`index_series`, ready to read: scenes, row, indices, windows."""

    members: Sequence[Scene]
    row: dict[str, Any]
    names: list[str]
    bands: tuple[str, ...]
    key: tuple[Any, ...] | None  # of the plot windows; None when no scene could be opened
    problems: list[Problem]


def _read_ahead(
    items: Iterable[Any],
    prepare: Callable[[Any], _DateJob],
    windows: Mapping[tuple[Any, ...], Sequence[tuple[imagery.Grid, Any, Any]]],
) -> Iterator[tuple[_DateJob, list[imagery.Mosaic] | None]]:
    """Each date's job and mosaics, in order, the next dates' scenes read meanwhile.

    The reading runs in a second thread (GDAL decompresses without the GIL) while
    the caller computes the statistics of the date it was given; `prepare` runs
    here, in order, so problems and rows come out as a plain loop makes them.
    """
    source = iter(items)
    queue: collections.deque[tuple[_DateJob, Future[list[imagery.Mosaic]] | None]] = (
        collections.deque()
    )
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pastures-read") as pool:

        def ahead() -> None:
            item = next(source, None)
            if item is None:
                return
            job = prepare(item)
            reading = None
            if job.key is not None:
                grids = [w[0] for w in windows[job.key]]
                reading = pool.submit(imagery.read_mosaics, job.members, job.bands, grids)
            queue.append((job, reading))

        for _ in range(READ_AHEAD_DATES):
            ahead()
        while queue:
            job, reading = queue.popleft()
            mosaics = reading.result() if reading is not None else None
            ahead()
            yield job, mosaics


def _date_statistics(
    scenes: Sequence[Scene],
    windows: Sequence[tuple[imagery.Grid, np.ndarray, PlotCoverage]],
    mosaics: Sequence[imagery.Mosaic],
    *,
    names: Sequence[str],
    row: dict[str, Any],
    problems: list[Problem],
    cells_of: Mapping[int, np.ndarray],
) -> pd.DataFrame | None:
    """Statistics of one date (its mosaics, one per window) for every plot.

    Updates `row` and `problems`. `cells_of` gives, by ``id`` of each window's
    coverage, its distinct cells (the same every date, so computed once).
    """
    clear_weight = observed_weight = total_weight = 0.0
    blocks: list[np.ndarray] = []
    plot_parts: list[np.ndarray] = []
    index_parts: list[np.ndarray] = []
    out_of_range = dict.fromkeys(names, 0)
    if mosaics:
        problems.extend(mosaics[0].problems)
    for (_window, _shape, coverage), mosaic in zip(windows, mosaics, strict=True):
        state = mosaic.state.ravel()[coverage.cells]
        total_weight += coverage.total_weight.sum()
        observed_weight += coverage.weights[state != imagery.NODATA].sum()
        clear_weight += coverage.weights[state == imagery.CLEAR].sum()
        plot_cells = cells_of[id(coverage)]
        valid = mosaic.valid
        for name in names:
            values = compute_index(name, mosaic.bands, valid=valid, mask_range=False)
            before = np.count_nonzero(np.isfinite(values.ravel()[plot_cells]))
            if mask_out_of_range(name, values):
                out_of_range[name] += before - np.count_nonzero(
                    np.isfinite(values.ravel()[plot_cells])
                )
            blocks.append(statistics_array(values, coverage))
            plot_parts.append(coverage.plot_ids)
            index_parts.append(np.full(len(coverage.plot_ids), name, dtype=object))
    date = row[schema.DATE]
    if not date_status(
        row,
        observed_weight=observed_weight,
        clear_weight=clear_weight,
        total_weight=total_weight,
        problems=problems,
        source=scenes[0].source,
    ):
        return None
    counted = {n: c for n, c in out_of_range.items() if c}
    if counted:
        problems.append(
            Problem(
                "warning",
                "out-of-range",
                f"On {date}, index value(s) outside their valid range were masked over the "
                "plots (denominator near 0: dark water, shadow, or a reflectance offset "
                "applied twice): "
                + ", ".join(
                    f"{n} {c} pixel(s) outside {list(index_spec(n).valid_range or ())}"
                    for n, c in counted.items()
                )
                + ".",
                scenes[0].source,
                row[schema.SCENE_ID],
            )
        )
    frame = pd.DataFrame(np.vstack(blocks), columns=list(schema.ZONAL_STATISTICS))
    frame.insert(0, schema.INDEX, np.concatenate(index_parts))
    frame.insert(0, schema.DATE, pd.Timestamp(date))
    frame.insert(0, schema.PLOT_CODE, np.concatenate(plot_parts))
    return frame


def _same_crs(a: Any, b: Any) -> bool:
    from pyproj import CRS

    return CRS.from_user_input(a) == CRS.from_user_input(b)


def _alignment(grid: imagery.Grid) -> tuple[float, ...]:
    """What makes two grids' pixels coincide: pixel size and origin modulo a pixel."""
    t = grid.transform
    return (t.a, t.e, round(t.c % t.a, 6), round(t.f % abs(t.e), 6))


def _plot_windows(
    geoms: np.ndarray, grid: imagery.Grid, gap_m: float
) -> list[tuple[imagery.Grid, np.ndarray]]:
    """Windows of `grid` around groups of nearby plots, and the plots of each."""
    present = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    if present.size == 0:
        return []
    boxes = shapely.box(*shapely.bounds(geoms[present]).T)
    merged = shapely.get_parts(shapely.union_all(shapely.buffer(boxes, gap_m / 2, join_style=2)))
    tree = shapely.STRtree(merged)
    hit_box, hit_part = tree.query(shapely.centroid(boxes), predicate="within")
    windows = []
    for part in range(len(merged)):
        members = present[np.sort(hit_box[hit_part == part])]
        if members.size == 0:
            continue
        minx, miny, _, _ = shapely.bounds(geoms[members]).min(axis=0)
        _, _, maxx, maxy = shapely.bounds(geoms[members]).max(axis=0)
        c0, r0, c1, r1 = _pixel_bounds((minx, miny, maxx, maxy), grid.transform)
        c0, r0, c1, r1 = c0 - 1, r0 - 1, c1 + 1, r1 + 1
        windows.append((grid.window_grid(c0, r0, c1 - c0, r1 - r0), members))
    return windows


def _tidy(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in schema.ZONAL_COLUMNS})
    wide = pd.concat(frames, ignore_index=True)
    key = [schema.PLOT_CODE, schema.DATE, schema.INDEX]
    duplicated = wide.duplicated(key, keep=False)
    if duplicated.any():
        # Two platforms (or UTM zones) on one day: keep, per plot, the one with more clear pixels.
        logger.info(
            _("%d plot-date(s) observed twice on the same day; keeping the clearer observation."),
            int(duplicated.sum()) // 2,
        )
        wide = wide.sort_values(schema.STAT_COUNT, ascending=False, kind="stable")
        wide = wide.drop_duplicates(key, keep="first")
    long = wide.melt(
        id_vars=[schema.PLOT_CODE, schema.DATE, schema.INDEX],
        value_vars=list(schema.ZONAL_STATISTICS),
        var_name=schema.STATISTIC,
        value_name=schema.VALUE,
    )
    long = long.sort_values([schema.PLOT_CODE, schema.INDEX, schema.DATE], kind="stable")
    return long[list(schema.ZONAL_COLUMNS)].reset_index(drop=True)


def wide_series(table: pd.DataFrame) -> pd.DataFrame:
    """The tidy table pivoted: one row per plot, date and index, one column per statistic."""
    wide = table.pivot_table(
        index=[schema.PLOT_CODE, schema.DATE, schema.INDEX],
        columns=schema.STATISTIC,
        values=schema.VALUE,
        aggfunc="first",
        dropna=False,
    )
    return wide.reindex(columns=list(schema.ZONAL_STATISTICS)).reset_index()


def plot_summary(table: pd.DataFrame, *, min_valid_fraction: float = 0.5) -> pd.DataFrame:
    """Wide per-plot summary: one row per plot, columns ``<index>_<statistic>``.

    For each index: the mean over dates of the plot mean (``_mean``), its lowest
    and highest date (``_min``, ``_max``), the plot mean on the last usable date
    (``_last``), and the number of usable dates (``_dates``). Only dates where at
    least `min_valid_fraction` of the plot was clear are used.
    """
    wide = wide_series(table)
    usable = wide[wide[schema.STAT_VALID_FRACTION] >= min_valid_fraction]
    parts = []
    for name, frame in usable.groupby(schema.INDEX, sort=True):
        by_plot = frame.sort_values(schema.DATE).groupby(schema.PLOT_CODE)[schema.STAT_MEAN]
        summary = pd.DataFrame(
            {
                f"{name}_mean": by_plot.mean(),
                f"{name}_min": by_plot.min(),
                f"{name}_max": by_plot.max(),
                f"{name}_last": by_plot.last(),
                f"{name}_dates": by_plot.count(),
            }
        )
        parts.append(summary)
    plots = pd.Index(sorted(table[schema.PLOT_CODE].unique()), name=schema.PLOT_CODE)
    if not parts:
        return pd.DataFrame(index=plots).reset_index()
    return pd.concat(parts, axis=1).reindex(plots).reset_index()


# --- compiled kernels ------------------------------------------------------------------


@numba.njit(cache=True, error_model="numpy")
def _clamped_integral_scalar(v: float) -> float:
    """Integral from 0 to v of clamp(s, 0, 1) ds."""
    if v <= 0.0:
        return 0.0
    if v >= 1.0:
        return v - 0.5
    return 0.5 * v * v


@numba.njit(cache=True, error_model="numpy")
def _coverage_kernel(  # noqa: PLR0917 - compiled: plain positional arguments
    xa: np.ndarray, ya: np.ndarray, xb: np.ndarray, yb: np.ndarray, nrows: int, ncols: int
) -> np.ndarray:
    """Signed covered share of each cell of a window, from the polygon's edges.

    Coordinates are in pixels relative to the window. For each edge piece within
    one pixel column, rows the piece passes entirely below get its full signed
    width (through a running sum down the column), rows it crosses get the mean
    of its height clamped to the row.
    """
    cover = np.zeros((nrows, ncols))
    below = np.zeros((nrows + 1, ncols))
    for e in range(xa.size):
        x0, y0, x1, y1 = xa[e], ya[e], xb[e], yb[e]
        if x0 == x1:
            continue
        sign = 1.0 if x1 > x0 else -1.0
        lo, hi = min(x0, x1), max(x0, x1)
        slope = (y1 - y0) / (x1 - x0)
        first = int(np.floor(lo))
        last = max(int(np.ceil(hi)), first + 1)
        for col in range(max(first, 0), min(last, ncols)):
            x_lo = max(lo, col)
            x_hi = min(hi, col + 1.0)
            width = sign * (x_hi - x_lo)
            if width == 0.0:
                continue
            y_lo = y0 + (x_lo - x0) * slope
            y_hi = y0 + (x_hi - x0) * slope
            full_rows = min(max(int(np.floor(min(y_lo, y_hi))), 0), nrows)
            below[0, col] += width
            below[full_rows, col] -= width
            end = min(int(np.ceil(max(y_lo, y_hi))), nrows)
            for row in range(full_rows, end):
                a = y_lo - row
                b = y_hi - row
                if abs(b - a) < 1e-12:
                    height = min(max(a, 0.0), 1.0)
                else:
                    height = (_clamped_integral_scalar(b) - _clamped_integral_scalar(a)) / (b - a)
                cover[row, col] += width * height
    for col in range(ncols):
        running = 0.0
        for row in range(nrows):
            running += below[row, col]
            cover[row, col] += running
    return cover


@numba.njit(cache=True, error_model="numpy")
def _statistics_kernel(  # noqa: PLR0917 - compiled: plain positional arguments
    values: np.ndarray,
    cells: np.ndarray,
    weights: np.ndarray,
    offsets: np.ndarray,
    total_weight: np.ndarray,
    quantiles: np.ndarray,
) -> np.ndarray:
    """Per plot: mean, quantiles, std, count and valid share (see :func:`statistics_array`)."""
    n_plots = offsets.size - 1
    out = np.full((n_plots, 4 + quantiles.size), np.nan)
    for p in range(n_plots):
        start, stop = offsets[p], offsets[p + 1]
        v = np.empty(stop - start)
        w = np.empty(stop - start)
        k = 0
        for i in range(start, stop):
            x = values[cells[i]]
            if np.isfinite(x):
                v[k] = x
                w[k] = weights[i]
                k += 1
        sum_w = 0.0
        sum_wx = 0.0
        for i in range(k):
            sum_w += w[i]
            sum_wx += w[i] * v[i]
        out[p, 2] = sum_w
        out[p, 3] = sum_w / total_weight[p] if total_weight[p] > 0 else 0.0
        if k == 0:
            continue
        mean = sum_wx / sum_w
        squares = 0.0
        for i in range(k):
            d = v[i] - mean
            squares += w[i] * d * d
        out[p, 0] = mean
        out[p, 1] = np.sqrt(squares / sum_w)
        order = np.argsort(v[:k])
        vs = v[:k][order]
        ws = w[:k][order]
        s = np.empty(k)
        cumulative = 0.0
        for i in range(k):
            s[i] = i * ws[i] + (k - 1) * cumulative
            cumulative += ws[i]
        for qi in range(quantiles.size):
            target = quantiles[qi] * s[k - 1]
            if s[k - 1] == 0.0:
                out[p, 4 + qi] = vs[0]
                continue
            i = min(np.searchsorted(s, target), k - 1)
            if i == 0 or s[i] <= target:
                out[p, 4 + qi] = vs[i]
            else:
                frac = (target - s[i - 1]) / (s[i] - s[i - 1])
                out[p, 4 + qi] = vs[i - 1] + frac * (vs[i] - vs[i - 1])
    return out
