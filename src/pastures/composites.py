"""Composites of a set of scenes on the working grid: dry-season NDVI and true colour.

The vegetation stage of ``pastures run`` reads its scenes once more, onto the
project's working grid, to make two rasters the later stages use:

- the **dry-season NDVI composite**: for every date of the latest dry season, the
  same-day tiles are mosaicked (:func:`pastures.imagery.read_mosaic`), cloud,
  shadow, cirrus, snow and no-data pixels masked by the scene classification (SCL
  classes {0, 1, 3, 8, 9, 10, 11}), NDVI computed, and the per-pixel median of the
  clear dates kept. The median is the usual robust compositing statistic (it drops
  residual cloud and shadow that pass the mask at either tail). Erosion takes its
  C factor from it (van der Knijff et al. 2000).
- the **true-colour composite**: red, green, blue reflectance (0-1, float32) of the
  clearest recent date, the backdrop of the web map and the atlas.

The working grid (:func:`working_grid`) covers the study area in the working CRS at
the project's resolution; scenes in that CRS are sampled by pixel centre (nearest
neighbour, as :mod:`pastures.imagery` does), scenes in another CRS are read on
their own grid and warped onto it.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from affine import Affine

from pastures.errors import InputFileError, ParameterError
from pastures.i18n import _
from pastures.imagery import CLEAR, NODATA, Grid, Mosaic, Scene, group_by_date, read_mosaic

logger = logging.getLogger(__name__)

#: Bands of the true-colour composite, in file order.
TRUE_COLOUR_BANDS: Final = ("red", "green", "blue")
#: Fewest clear dates a pixel needs in the dry-season composite (else NaN).
DEFAULT_MIN_CLEAR_DATES: Final = 1

Progress = Callable[[Iterable[Any]], Iterable[Any]]


@dataclass(frozen=True)
class Composite:
    """A composite raster on a grid and the dates it was made from.

    Attributes
    ----------
    data
        float32 array: (rows, cols) for NDVI, (3, rows, cols) for true colour; NaN no data.
    grid
        The grid of `data`.
    dates
        Acquisition dates used.
    scene_ids
        Scenes that contributed.
    clear_share
        Share of the grid's pixels with data that were clear, per date used.
    """

    data: np.ndarray
    grid: Grid
    dates: tuple[dt.date, ...]
    scene_ids: tuple[str, ...]
    clear_share: tuple[float, ...] = ()


def working_grid(bounds: tuple[float, float, float, float], crs: str, resolution: float) -> Grid:
    """A north-up grid covering `bounds` (in `crs`, m), snapped outward to `resolution`.

    Parameters
    ----------
    bounds
        (west, south, east, north) in the units of `crs`.
    crs
        Working CRS.
    resolution
        Pixel side (m).

    Returns
    -------
    pastures.imagery.Grid
    """
    if not resolution > 0:
        raise ParameterError(
            _("resolution must be positive (m); got {resolution}.").format(resolution=resolution)
        )
    west, south, east, north = bounds
    x0 = math.floor(west / resolution) * resolution
    y1 = math.ceil(north / resolution) * resolution
    cols = max(1, math.ceil((east - x0) / resolution))
    rows = max(1, math.ceil((y1 - south) / resolution))
    return Grid(crs, Affine(resolution, 0.0, x0, 0.0, -resolution, y1), (rows, cols))


def grid_bounds(grid: Grid) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a grid."""
    t = grid.transform
    rows, cols = grid.shape
    return (t.c, t.f + t.e * rows, t.c + t.a * cols, t.f)


def latest_season(scenes: Sequence[Scene], months: Sequence[int]) -> list[Scene]:
    """The scenes of the latest season made of `months` (the most recent run of them).

    A season that wraps the new year (e.g. months 11, 12, 1) is counted from its
    first month: November 2023 and January 2024 are one season.
    """
    wanted = set(months)
    if not wanted or not wanted <= set(range(1, 13)):
        raise ParameterError(_("months must be 1-12; got {months}.").format(months=sorted(months)))
    first = min(wanted)
    gaps = [m for m in range(1, 13) if m not in wanted]
    if gaps and 1 in wanted and 12 in wanted:  # wraps: the season starts after the gap
        first = max(gaps) + 1

    def season(day: dt.date) -> int:
        return day.year if day.month >= first else day.year - 1

    chosen = [s for s in scenes if s.date.month in wanted]
    if not chosen:
        return []
    last = max(season(s.date) for s in chosen)
    return [s for s in chosen if season(s.date) == last]


def _same_crs(a: str, b: str) -> bool:
    from pyproj import CRS

    return bool(CRS.from_user_input(a) == CRS.from_user_input(b))


def _mosaic_on(scenes: Sequence[Scene], bands: Sequence[str], grid: Grid) -> Mosaic:
    """Mosaic of same-day scenes on `grid`, warping when their CRS is another."""
    crs = scenes[0].crs or grid.crs
    if _same_crs(crs, grid.crs):
        return read_mosaic(scenes, bands, grid)
    from rasterio.warp import Resampling, reproject, transform_bounds

    w, s, e, n = transform_bounds(grid.crs, crs, *grid_bounds(grid), densify_pts=21)
    native = working_grid((w, s, e, n), crs, grid.resolution)
    src = read_mosaic(scenes, bands, native)
    out: dict[str, np.ndarray] = {}
    for b in bands:
        dst = np.full(grid.shape, np.nan, dtype=np.float32)
        reproject(
            src.bands[b],
            dst,
            src_transform=native.transform,
            src_crs=crs,
            dst_transform=grid.transform,
            dst_crs=grid.crs,
            src_nodata=np.nan,
            dst_nodata=np.nan,
            resampling=Resampling.nearest,
        )
        out[b] = dst
    state = np.zeros(grid.shape, dtype=np.uint8)
    reproject(
        src.state,
        state,
        src_transform=native.transform,
        src_crs=crs,
        dst_transform=grid.transform,
        dst_crs=grid.crs,
        src_nodata=None,
        resampling=Resampling.nearest,
    )
    return Mosaic(grid, out, state, src.scene_ids, src.problems)


def _footprint(scenes: Sequence[Scene], grid: Grid) -> Grid | None:
    """The sub-grid of `grid` that the scenes' red bands cover (None: they miss it).

    Reading only there keeps a composite of plot-sized scenes on a district-sized grid
    cheap; scenes in another CRS than the grid are taken to cover all of it.
    """
    import rasterio

    t = grid.transform
    rows, cols = grid.shape
    r0, c0, r1, c1 = rows, cols, 0, 0
    for scene in scenes:
        band = scene.bands.get("red")
        if band is None:
            continue
        try:
            with rasterio.open(band.href) as src:
                crs = src.crs.to_string() if src.crs else grid.crs
                left, bottom, right, top = src.bounds
        except (OSError, rasterio.errors.RasterioError):
            continue  # read_mosaic reports the unreadable scene
        if not _same_crs(crs, grid.crs):
            return grid
        c0 = min(c0, max(0, math.floor((left - t.c) / t.a)))
        c1 = max(c1, min(cols, math.ceil((right - t.c) / t.a)))
        r0 = min(r0, max(0, math.floor((top - t.f) / t.e)))
        r1 = max(r1, min(rows, math.ceil((bottom - t.f) / t.e)))
    if r1 <= r0 or c1 <= c0:
        return None
    return grid.window_grid(c0, r0, c1 - c0, r1 - r0)


def _paste(part: np.ndarray, sub: Grid, grid: Grid) -> np.ndarray:
    """`part` (on the sub-grid `sub`) placed in a NaN array of `grid`."""
    col0 = round((sub.transform.c - grid.transform.c) / grid.transform.a)
    row0 = round((sub.transform.f - grid.transform.f) / grid.transform.e)
    rows, cols = sub.shape
    out = np.full((*part.shape[:-2], *grid.shape), np.nan, dtype=np.float32)
    out[..., row0 : row0 + rows, col0 : col0 + cols] = part
    return out


def _ndvi(red: np.ndarray, nir: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (nir - red) / (nir + red)
    return out.astype(np.float32, copy=False)


def dry_season_composite(
    scenes: Sequence[Scene],
    grid: Grid,
    *,
    months: Sequence[int] = (6, 7, 8, 9, 10),
    min_clear_dates: int = DEFAULT_MIN_CLEAR_DATES,
    progress: Progress | None = None,
) -> tuple[Composite, Composite | None]:
    """Median NDVI of the latest dry season, and the true colour of its clearest date.

    Parameters
    ----------
    scenes
        Scenes (any dates; only those of the latest season of `months` are read).
    grid
        The working grid.
    months
        Months of the dry season (default June-October, the dry and brown months
        of the altiplano in the SENAMHI Juli normals).
    min_clear_dates
        Fewest clear dates a pixel needs; fewer gives NaN.
    progress
        Wraps the iterable of dates (e.g. a tqdm bar).

    Returns
    -------
    ndvi, true_colour
        The NDVI composite (float32, -1..1, NaN where no date was clear), and the
        red, green, blue reflectance (0-1) of the date with the largest clear share
        (the latest of equals), or None when no date had a clear pixel.

    Raises
    ------
    InputFileError
        No scene falls in `months`.
    """
    season = latest_season(scenes, months)
    if not season:
        raise InputFileError(
            _(
                "No scene was taken in the dry-season months {months}: the dry-season "
                "composite needs at least one. Add scenes of those months or change "
                "[vegetation] dry_months."
            ).format(months=sorted(months))
        )
    full = grid
    sub = _footprint(season, grid)
    if sub is None:
        raise InputFileError(
            _(
                "The dry-season scenes do not overlap the working grid (the study area): check "
                "that the scenes cover it."
            )
        )
    grid = sub
    groups = sorted(group_by_date(season).items(), key=lambda kv: kv[0][0])
    values: list[np.ndarray] = []
    dates: list[dt.date] = []
    ids: list[str] = []
    shares: list[float] = []
    best: tuple[float, int] | None = None
    items: Iterable[Any] = progress(groups) if progress else groups
    for (day, _platform, _crs), same_day in items:
        mosaic = _mosaic_on(same_day, ("red", "nir"), grid)
        with_data = int((mosaic.state != NODATA).sum())
        clear = int((mosaic.state == CLEAR).sum())
        if with_data == 0:
            continue
        share = clear / with_data
        values.append(_ndvi(mosaic.bands["red"], mosaic.bands["nir"]))
        dates.append(day)
        ids.extend(mosaic.scene_ids)
        shares.append(share)
        if clear and (best is None or share >= best[0]):
            best = (share, len(dates) - 1)
    if not values:
        raise InputFileError(
            _(
                "The dry-season scenes hold no data over the working grid: check that the "
                "scenes cover the study area."
            )
        )
    stack = np.stack(values)
    del values
    clear_count = np.isfinite(stack).sum(axis=0)
    # the median only where a pixel has a clear date: no all-NaN slices, so no warning
    # (a warnings filter is process-wide and this runs beside the index series thread)
    ndvi = np.full(stack.shape[1:], np.nan, dtype=np.float32)
    keep = clear_count >= max(1, min_clear_dates)
    if keep.any():
        ndvi[keep] = np.nanmedian(stack[:, keep], axis=0)
    logger.info(
        _("dry-season NDVI composite: %d dates (%s to %s), %.0f %% of pixels with a clear date"),
        len(dates),
        dates[0],
        dates[-1],
        100.0 * float(np.isfinite(ndvi).mean()),
    )
    composite = Composite(
        _paste(ndvi, grid, full), full, tuple(dates), tuple(sorted(set(ids))), tuple(shares)
    )
    if best is None:
        return composite, None
    day = dates[best[1]]
    same_day = next(v for (d, _p, _c), v in groups if d == day)
    rgb = _mosaic_on(same_day, TRUE_COLOUR_BANDS, grid)
    data = np.stack([np.clip(rgb.bands[b], 0.0, 1.0) for b in TRUE_COLOUR_BANDS])
    colour = Composite(data.astype(np.float32), grid, (day,), tuple(rgb.scene_ids), (best[0],))
    return composite, colour


def write_true_colour(
    path: str | os.PathLike[str], composite: Composite, *, tags: dict[str, str] | None = None
) -> Path:
    """Write the true-colour composite as a 3-band float32 COG (R, G, B reflectance 0-1).

    Written to a temporary name and renamed when complete.
    """
    import rasterio

    from pastures.io import atomic_output

    data = composite.data
    profile = {
        "driver": "COG",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": 3,
        "dtype": "float32",
        "crs": composite.grid.crs,
        "transform": composite.grid.transform,
        "nodata": float("nan"),
        "compress": "deflate",
        "blocksize": 256,
    }
    dest = Path(path)
    with atomic_output(dest) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(data)
        for k, name in enumerate(TRUE_COLOUR_BANDS, start=1):
            dst.set_band_description(k, f"{name} reflectance 0-1")
        dst.colorinterp = [
            rasterio.enums.ColorInterp.red,
            rasterio.enums.ColorInterp.green,
            rasterio.enums.ColorInterp.blue,
        ]
        meta = {"ACQUISITION_DATE": composite.dates[0].isoformat(), **(tags or {})}
        meta["SCENES"] = ",".join(composite.scene_ids)
        dst.update_tags(**meta)
    return dest


def write_ndvi(
    path: str | os.PathLike[str], composite: Composite, *, tags: dict[str, str] | None = None
) -> Path:
    """Write the dry-season NDVI composite as a float32 COG with its dates in the tags."""
    from pastures.terrain import write_cog

    meta = {
        "DATES": ",".join(d.isoformat() for d in composite.dates),
        "COMPOSITE": "per-pixel median of cloud-masked (SCL) NDVI",
        **(tags or {}),
    }
    return write_cog(
        path,
        composite.data,
        composite.grid.transform,
        composite.grid.crs,
        description=f"dry-season NDVI, median of {len(composite.dates)} dates",
        tags=meta,
    )
