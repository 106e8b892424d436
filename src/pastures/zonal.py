"""Per-plot zonal statistics of index rasters, for every plot and date.

The work is split so that the costly geometric part is done once per grid:

1. :func:`plot_coverage` rasterises every plot once for a grid: the flat indices
   of the cells that belong to it and their weights (the share of the cell the
   plot covers under the ``exact`` rule, 1 otherwise), stored back to back.
2. :func:`zonal_statistics` then only gathers ``values[cells]`` and computes
   grouped statistics with ``bincount`` and one sort, for any number of dates and
   indices on that grid.

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

A plot for which the chosen rule selects no pixel (a plot smaller than a pixel,
or too thin for any pixel to be inside it) falls back to ``exact``; the rule
used is stated per plot in :data:`~pastures.schema.EDGE_RULE` and logged.

The exact coverage of a cell is computed in pixel coordinates from the plot's
edges: for each edge piece within one pixel column, the integral of the edge's
height clamped to each pixel row (the trapezoid form of the shoelace formula
restricted to a rectangle), summed with the edge's direction as sign.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

import numpy as np
import pandas as pd
import shapely
from affine import Affine
from rasterio import features

from pastures import schema
from pastures.errors import ParameterError

logger = logging.getLogger(__name__)

EdgeRule = Literal["centre", "exact", "inner", "all_touched"]
EDGE_RULES: Final = get_args(EdgeRule)
DEFAULT_EDGE_RULE: Final[EdgeRule] = "inner"
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
            f"Unknown edge rule '{edge_rule}'. Choose one of: {', '.join(EDGE_RULES)}."
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
        raise ParameterError("Rotated rasters are not supported: warp them to a north-up grid.")
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
    for i, geom in enumerate(geoms):
        rule: EdgeRule = edge_rule
        if geom is None or geom.is_empty:
            r = c = np.empty(0, np.int64)
            w = np.empty(0)
        else:
            r, c, w = _cells(geom, transform, rule)
            if r.size == 0 or (rule != "exact" and geom.area < pixel_area):
                logger.info(
                    "Plot %s: the '%s' rule selects %d pixel(s) (plot of %.0f m², pixel of "
                    "%.0f m²); falling back to 'exact' coverage.",
                    ids[i], rule, r.size, geom.area, pixel_area,
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
    window_transform = transform * Affine.translation(c0, r0)
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


def _pixel_bounds(
    bounds: tuple[float, float, float, float], transform: Affine
) -> tuple[int, int, int, int]:
    """(col0, row0, col1, row1) of the pixels a bounding box overlaps."""
    minx, miny, maxx, maxy = bounds
    inverse = ~transform
    xs, ys = zip(*(inverse * (x, y) for x in (minx, maxx) for y in (miny, maxy)), strict=True)
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
    rings = shapely.get_rings(shapely.get_parts(shapely.orient_polygons(geom)))
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
    xa, ya, xb, yb = px[:-1][same_ring], py[:-1][same_ring], px[1:][same_ring], py[1:][same_ring]
    sloped = xa != xb  # vertical edges enclose no area
    xa, ya, xb, yb = xa[sloped], ya[sloped], xb[sloped], yb[sloped]
    lo = np.minimum(xa, xb)
    hi = np.maximum(xa, xb)
    first = np.floor(lo).astype(np.int64)
    pieces = np.maximum(np.ceil(hi).astype(np.int64) - first, 1)
    edge = np.repeat(np.arange(xa.size), pieces)
    col = first[edge] + (np.arange(edge.size) - np.repeat(np.cumsum(pieces) - pieces, pieces))
    x_lo = np.maximum(lo[edge], col)
    x_hi = np.minimum(hi[edge], col + 1)
    slope = (yb - ya) / (xb - xa)
    y_lo = ya[edge] + (x_lo - xa[edge]) * slope[edge]
    y_hi = ya[edge] + (x_hi - xa[edge]) * slope[edge]
    signed_width = np.where(xb > xa, 1.0, -1.0)[edge] * (x_hi - x_lo)
    row = np.arange(nrows, dtype=np.float64)
    a = y_lo[:, None] - row[None, :]
    b = y_hi[:, None] - row[None, :]
    span = b - a
    flat = np.abs(span) < 1e-12
    mean_height = np.where(
        flat,
        np.clip(a, 0.0, 1.0),
        (_clamped_integral(b) - _clamped_integral(a)) / np.where(flat, 1.0, span),
    )
    contribution = signed_width[:, None] * mean_height
    index = (np.arange(nrows)[None, :] * ncols + col[:, None]).ravel()
    cover = np.bincount(index, weights=contribution.ravel(), minlength=nrows * ncols)
    if cover.sum() < 0:
        cover = -cover
    keep = np.flatnonzero(cover > MIN_COVERAGE)
    weights = np.minimum(cover[keep], 1.0)
    return keep // ncols + r0, keep % ncols + c0, weights


def _clamped_integral(v: np.ndarray) -> np.ndarray:
    """Integral from 0 to v of clamp(s, 0, 1) ds."""
    return np.where(v <= 0.0, 0.0, np.where(v >= 1.0, v - 0.5, 0.5 * v * v))


def zonal_statistics(values: np.ndarray, coverage: PlotCoverage) -> pd.DataFrame:
    """Statistics of one raster for every plot of a coverage.

    Parameters
    ----------
    values
        2-D array on the coverage's grid; NaN marks masked pixels.
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
            f"Raster of shape {values.shape} does not match the coverage grid {coverage.shape}."
        )
    n_plots = len(coverage.plot_ids)
    gathered = values.ravel()[coverage.cells]
    ok = ~np.isnan(gathered)
    v = gathered[ok].astype(np.float64)
    w = coverage.weights[ok]
    g = coverage.groups[ok]
    count = np.bincount(g, weights=w, minlength=n_plots)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(g, weights=w * v, minlength=n_plots) / count
        deviation = v - mean[g]
        std = np.sqrt(np.bincount(g, weights=w * deviation * deviation, minlength=n_plots) / count)
        valid_fraction = np.where(coverage.total_weight > 0, count / coverage.total_weight, 0.0)
    quantiles = _grouped_quantiles(v, w, g, n_plots, tuple(QUANTILES.values()))
    table = pd.DataFrame(
        {
            schema.STAT_MEAN: mean,
            schema.STAT_MEDIAN: quantiles[0],
            schema.STAT_STD: std,
            schema.STAT_P10: quantiles[1],
            schema.STAT_P90: quantiles[2],
            schema.STAT_COUNT: count,
            schema.STAT_VALID_FRACTION: valid_fraction,
        },
        index=pd.Index(coverage.plot_ids, name=schema.PLOT_CODE),
    )
    return table[list(schema.ZONAL_STATISTICS)]


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
    before_group = (cum - ws)[start][g]
    s_prev = cum - ws - before_group
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
