"""Terrain analysis for erosion: the DEM, pit filling, slope, flow routing and the LS factor.

Everything here works on the working grid: a DEM in EPSG:32719 (UTM 19S) with square
pixels measured in metres, no-data as ``NaN``. :func:`read_dem` brings any projected or
geographic GeoTIFF onto such a grid; the other functions take plain numpy arrays.

Algorithms
----------
* Depressions are filled by the *Priority-Flood* of Barnes, Lehman and Mulla (2014,
  Computers & Geosciences 62:117-127), in its variant with a plain queue for cells
  inside depressions (their Algorithm 2). Cells at the grid edge and cells next to
  no-data (a lake, a gap) are the outlets.
* While flooding, each cell records the neighbour it was reached from. That direction
  is used wherever the filled surface is flat (filled depressions, plateaus), so every
  cell drains to an outlet without the tiny gradients of the epsilon variants.
* Flow accumulates in one pass over a topological order of the drainage network found
  with Kahn's (1962) algorithm: cells without donors first, then downstream.
* D8 (O'Callaghan and Mark 1984) sends each cell to its steepest-descent neighbour;
  the multiple-flow-direction option shares it among all lower neighbours in proportion
  to ``tan(slope)**p``: p = 1 by default (Quinn et al. 1991, Hydrol. Process. 5:59-79;
  the slope-proportional MFD of InVEST's routing), p = 1.1 after Freeman (1991,
  Computers & Geosciences 17:413-422).
* Slope follows Horn (1981, Proc. IEEE 69:14-47); LS follows Desmet and Govers (1996,
  J. Soil Water Conserv. 51:427-433) in the form of the InVEST SDR model (3.14 and
  later), see :func:`ls_factor`.

Heavy loops are compiled with numba.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numba
import numpy as np
from affine import Affine

from pastures.errors import CRSError, InputFileError, ParameterError
from pastures.schema import WORKING_CRS

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_L_MAX",
    "DEFAULT_MFD_EXPONENT",
    "FLOW_METHODS",
    "Dem",
    "Terrain",
    "fill_depressions",
    "flow_accumulation",
    "ls_factor",
    "read_dem",
    "read_raster_on_grid",
    "slope_percent",
    "terrain_factors",
    "write_cog",
]

FlowMethod = Literal["d8", "mfd"]
#: Flow-routing methods: single steepest-descent direction, or multiple flow directions.
FLOW_METHODS: Final = ("d8", "mfd")
#: Upper bound of the slope-length factor L (dimensionless); InVEST SDR's default ``l_max``.
DEFAULT_L_MAX: Final = 25.0
#: Exponent ``p`` of the multiple-flow-direction weights ``tan(slope)**p``: 1 shares flow in
#: proportion to slope (Quinn et al. 1991, as InVEST's MFD); Freeman (1991) suggests 1.1.
DEFAULT_MFD_EXPONENT: Final = 1.0
#: Plausible elevations on Earth (m); values outside suggest feet, decimetres or a bad no-data.
ELEVATION_RANGE_M: Final = (-500.0, 9000.0)

# Neighbours clockwise from north: N, NE, E, SE, S, SW, W, NW.
_DR = np.array([-1, -1, 0, 1, 1, 1, 0, -1], dtype=np.int64)
_DC = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int64)
_DIST = np.array([1.0, math.sqrt(2.0)] * 4, dtype=np.float64)
#: Direction code of a cell that drains off the grid (edge, or next to no-data).
_OUTLET: Final = 8
#: Direction code of a cell not reached (no-data).
_UNSET: Final = 255


@dataclass(frozen=True)
class Dem:
    """A DEM on a north-up grid with square pixels in metres.

    Attributes
    ----------
    elevation
        Elevation (m), float32, shape (rows, cols); ``NaN`` where there is no data.
    transform
        Affine transform of the grid (pixel corner to map coordinates, m).
    crs
        CRS of the grid, as a string understood by rasterio (``"EPSG:32719"``).
    """

    elevation: np.ndarray
    transform: Affine
    crs: str = WORKING_CRS

    def __post_init__(self) -> None:
        if self.elevation.ndim != 2 or min(self.elevation.shape) < 1:
            raise ParameterError(f"A DEM must be a 2-D array; got shape {self.elevation.shape}.")
        a, b, d, e = self.transform.a, self.transform.b, self.transform.d, self.transform.e
        if b != 0 or d != 0 or e >= 0 or not math.isclose(a, -e, rel_tol=1e-6):
            raise ParameterError(
                f"The DEM grid must be north-up with square pixels; got transform "
                f"{tuple(self.transform)[:6]}. Resample it with "
                "`gdalwarp -tr 30 30 -t_srs EPSG:32719` first."
            )

    @property
    def cell_size(self) -> float:
        """Pixel side (m)."""
        return float(self.transform.a)

    @property
    def shape(self) -> tuple[int, int]:
        """Grid shape (rows, cols)."""
        return self.elevation.shape

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Grid bounds (west, south, east, north) in map units (m)."""
        rows, cols = self.shape
        west, north = self.transform.c, self.transform.f
        return (west, north + self.transform.e * rows, west + self.transform.a * cols, north)


@dataclass(frozen=True)
class Terrain:
    """Terrain factors on the DEM grid, all float32 with ``NaN`` for no-data.

    Attributes
    ----------
    filled
        Depression-filled elevation (m).
    slope_pct
        Slope (percent, 100 * rise/run), Horn (1981), on the filled DEM.
    accumulation
        Flow accumulation (pixels, counting the pixel itself).
    ls
        RUSLE LS factor (dimensionless), :func:`ls_factor`.
    method
        Flow-routing method used (``"d8"`` or ``"mfd"``).
    """

    filled: np.ndarray
    slope_pct: np.ndarray
    accumulation: np.ndarray
    ls: np.ndarray
    method: FlowMethod


# --- reading ---------------------------------------------------------------------------


#: Largest DEM (source or working grid) read, in pixels: 100 million float32 pixels are
#: 400 MB per array, and the terrain chain holds several. A district-sized area at 10 m is
#: well under 1 million pixels; beyond this limit the file or --resolution is wrong.
MAX_DEM_PIXELS = 100_000_000


def _check_dem_size(src: Any, path: Path, resolution: float | None) -> None:
    """Refuse a DEM whose source or working grid would not fit in memory, before reading it."""
    pixels = src.width * src.height
    if resolution and src.crs is not None and src.crs.is_projected:
        pixels = max(pixels, int(pixels * (abs(src.transform.a) / resolution) ** 2))
    if pixels > MAX_DEM_PIXELS:
        raise InputFileError(
            f"The DEM {path} is {src.width:,} x {src.height:,} pixels"
            + (f" (at --resolution {resolution:g} m: about {pixels:,})" if resolution else "")
            + f", more than the {MAX_DEM_PIXELS:,} accepted. Clip it to the study area "
            "(gdalwarp -te ...) or choose a coarser --resolution."
        )


def read_dem(
    path: str | os.PathLike[str],
    *,
    resolution: float | None = None,
    dst_crs: str = WORKING_CRS,
) -> Dem:
    """Read a single-band DEM GeoTIFF onto the working grid.

    A DEM already in `dst_crs` is read as is (its pixels must be square); any other CRS,
    projected or geographic, is reprojected with bilinear resampling. The source no-data
    value (and any ``NaN``) becomes ``NaN``.

    Parameters
    ----------
    path
        GeoTIFF (or any raster GDAL reads) of elevations in metres.
    resolution
        Pixel side of the working grid (m). Default: the source pixel size, converted
        from degrees at the DEM's latitude when the source is geographic.
    dst_crs
        Working CRS (default EPSG:32719, WGS 84 / UTM 19S).

    Returns
    -------
    Dem

    Raises
    ------
    InputFileError
        The file is missing or unreadable, or holds no valid elevation.
    CRSError
        The DEM has no CRS.
    ParameterError
        Elevations outside :data:`ELEVATION_RANGE_M` (feet? wrong no-data?).
    """
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.warp import Resampling, reproject, transform_bounds

    path = Path(path)
    if not path.exists():
        raise InputFileError(f"DEM file not found: {path}. Check the path given with --dem.")
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise InputFileError(f"Cannot read the DEM {path}: {exc}. Is it a GeoTIFF?") from exc
    with src:
        if src.crs is None:
            west, south, east, north = src.bounds
            hint = (
                " Its coordinates look like longitude/latitude: set it with "
                f"`gdal_edit.py -a_srs EPSG:4326 {path.name}`."
                if -180 <= west <= east <= 180 and -90 <= south <= north <= 90
                else f" Set it with `gdal_edit.py -a_srs EPSG:32719 {path.name}` if it is UTM 19S."
            )
            raise CRSError(f"The DEM {path} has no coordinate reference system.{hint}")
        _check_units(src, f"DEM {path}")
        _check_dem_size(src, path, resolution)
        try:
            band = src.read(1, masked=True).astype(np.float32)
        except RasterioIOError as exc:
            raise InputFileError(
                f"Cannot read the DEM {path}: its pixels cannot be read ({exc}); the file is "
                "probably truncated. Download or export it again."
            ) from exc
        source = np.ma.filled(band, np.nan)
        source[~np.isfinite(source)] = np.nan
        same_crs = src.crs == rasterio.crs.CRS.from_user_input(dst_crs)
        square = math.isclose(abs(src.transform.a), abs(src.transform.e), rel_tol=1e-6)
        if same_crs and square and resolution in (None, abs(src.transform.a)):
            elevation, transform = source, src.transform
        else:
            if resolution is None and src.crs.is_geographic:
                lat = (src.bounds.bottom + src.bounds.top) / 2
                resolution = abs(src.transform.a) * 111_320.0 * math.cos(math.radians(lat))
                resolution = float(max(1.0, round(resolution)))
            elif resolution is None:
                resolution = float(max(abs(src.transform.a), abs(src.transform.e)))
            if resolution <= 0:
                raise ParameterError(f"DEM resolution must be positive (m); got {resolution}.")
            west, south, east, north = transform_bounds(src.crs, dst_crs, *src.bounds)
            west = math.floor(west / resolution) * resolution
            north = math.ceil(north / resolution) * resolution
            width = math.ceil((east - west) / resolution)
            height = math.ceil((north - south) / resolution)
            transform = Affine(resolution, 0.0, west, 0.0, -resolution, north)
            elevation = np.full((height, width), np.nan, dtype=np.float32)
            reproject(
                source,
                elevation,
                src_transform=src.transform,
                src_crs=src.crs,
                src_nodata=np.nan,
                dst_transform=transform,
                dst_crs=dst_crs,
                dst_nodata=np.nan,
                resampling=Resampling.bilinear,
            )
            logger.info(
                "DEM %s reprojected from %s to %s at %.1f m",
                path.name,
                src.crs,
                dst_crs,
                resolution,
            )
    _check_elevations(elevation, str(path))
    return Dem(elevation=elevation, transform=transform, crs=dst_crs)


def _check_units(src: object, what: str) -> None:
    """Refuse a raster whose CRS says metres but whose coordinates are degrees."""
    crs, (west, south, east, north) = src.crs, src.bounds  # type: ignore[attr-defined]
    pixel = abs(src.transform.a)  # type: ignore[attr-defined]
    looks_like_degrees = (
        -180 <= west <= east <= 180 and -90 <= south <= north <= 90 and pixel < 0.01
    )
    if crs.is_projected and looks_like_degrees:
        raise CRSError(
            f"The {what} declares the projected CRS {crs.to_string()} (metres), but its "
            f"coordinates ({west:g}, {south:g}, {east:g}, {north:g}) and pixel size "
            f"{pixel:g} look like degrees. Declare the right CRS with "
            "`gdal_edit.py -a_srs EPSG:4326 FILE` and run again: it will be reprojected."
        )


def read_raster_on_grid(
    path: str | os.PathLike[str],
    dem: Dem,
    *,
    name: str = "raster",
    resampling: Literal["bilinear", "average", "nearest"] = "bilinear",
) -> np.ndarray:
    """Read band 1 of a raster resampled onto the DEM grid (NDVI, R, K, C rasters).

    Parameters
    ----------
    path
        Raster file with a CRS.
    dem
        The grid to resample onto.
    name
        What the raster holds, for messages (e.g. ``"NDVI"``).
    resampling
        ``"bilinear"`` (continuous values), ``"average"`` (coarsening) or ``"nearest"``.

    Returns
    -------
    numpy.ndarray
        float32 on the DEM grid; ``NaN`` where the raster has no data or does not reach.
    """
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.warp import Resampling, reproject

    path = Path(path)
    if not path.exists():
        raise InputFileError(f"The {name} raster was not found: {path}.")
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise InputFileError(f"Cannot read the {name} raster {path}: {exc}.") from exc
    with src:
        if src.crs is None:
            raise CRSError(
                f"The {name} raster {path} has no CRS. Set it with "
                f"`gdal_edit.py -a_srs EPSG:32719 {path.name}` (or its true CRS)."
            )
        _check_units(src, f"{name} raster {path}")
        try:
            data = np.ma.filled(src.read(1, masked=True).astype(np.float32), np.nan)
        except RasterioIOError as exc:
            raise InputFileError(
                f"Cannot read the {name} raster {path}: its pixels cannot be read ({exc}); the "
                "file is probably truncated. Download or export it again."
            ) from exc
        out = np.full(dem.shape, np.nan, dtype=np.float32)
        reproject(
            data,
            out,
            src_transform=src.transform,
            src_crs=src.crs,
            src_nodata=np.nan,
            dst_transform=dem.transform,
            dst_crs=dem.crs,
            dst_nodata=np.nan,
            resampling=getattr(Resampling, resampling),
        )
    if not np.isfinite(out).any():
        raise InputFileError(
            f"The {name} raster {path} has no valid data over the DEM (bounds {dem.bounds} "
            f"in {dem.crs}). Check that both cover the same area."
        )
    return out


def write_cog(
    path: str | os.PathLike[str],
    data: np.ndarray,
    transform: Affine,
    crs: str,
    *,
    description: str = "",
    tags: dict[str, str] | None = None,
) -> Path:
    """Write one band as a Cloud-Optimised GeoTIFF, atomically (renamed when complete).

    Floats are written as float32 with ``NaN`` no-data; uint8 (risk classes) with 255.

    Parameters
    ----------
    path
        Destination ``.tif``.
    data
        2-D array on the grid.
    transform, crs
        The grid.
    description
        Band description (what and unit, e.g. ``"soil loss A, t/ha/yr"``).
    tags
        Dataset metadata (parameters used, sources, the synthetic label).

    Returns
    -------
    Path
        The file written.
    """
    import rasterio

    from pastures.io import atomic_output

    arr = np.asarray(data)
    if arr.dtype == np.uint8:
        nodata: float = 255
    else:
        arr = arr.astype(np.float32, copy=False)
        nodata = float("nan")
    profile = {
        "driver": "COG",
        "width": arr.shape[1],
        "height": arr.shape[0],
        "count": 1,
        "dtype": arr.dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
        "compress": "deflate",
        "blocksize": 256,
    }
    dest = Path(path)
    with atomic_output(dest) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(arr, 1)
        if description:
            dst.set_band_description(1, description)
        if tags:
            dst.update_tags(**tags)
    logger.info("wrote %s", dest)
    return dest


def _check_elevations(elevation: np.ndarray, source: str) -> None:
    valid = np.isfinite(elevation)
    if not valid.any():
        raise InputFileError(f"The DEM {source} holds no valid elevation (all no-data).")
    low, high = float(np.nanmin(elevation)), float(np.nanmax(elevation))
    if low < ELEVATION_RANGE_M[0] or high > ELEVATION_RANGE_M[1]:
        raise ParameterError(
            f"The DEM {source} has elevations from {low:g} to {high:g}, outside "
            f"{ELEVATION_RANGE_M[0]:g}..{ELEVATION_RANGE_M[1]:g} m. Are they in feet, or is "
            "the no-data value undeclared? Fix it with `gdal_edit.py -a_nodata VALUE`."
        )
    holes = int((~valid).sum())
    if holes:
        logger.info(
            "DEM %s: %d no-data pixels (%.2f %%) are carried as NaN and act as outlets",
            source,
            holes,
            100.0 * holes / valid.size,
        )


# --- compiled kernels ------------------------------------------------------------------


# The Priority-Flood queue is a binary min-heap of uint64 keys: the float32 elevation's
# bits mapped to an order-preserving uint32 in the high half, the flat cell index in the
# low half (ties go to the lower index). One array, no separate payload to swap.


@numba.njit(cache=True, inline="always")
def _key(z: np.float32, cell: int, fbuf: np.ndarray, ubuf: np.ndarray) -> np.uint64:
    fbuf[0] = z
    u = np.uint64(ubuf[0])
    u = (u ^ np.uint64(0xFFFFFFFF)) if u & np.uint64(0x80000000) else (u | np.uint64(0x80000000))
    return (u << np.uint64(32)) | np.uint64(cell)


@numba.njit(cache=True)
def _heap_push(heap: np.ndarray, size: int, key: np.uint64) -> None:
    pos = size
    while pos > 0:
        parent = (pos - 1) >> 1
        if heap[parent] <= key:
            break
        heap[pos] = heap[parent]
        pos = parent
    heap[pos] = key


@numba.njit(cache=True)
def _heap_pop(heap: np.ndarray, size: int) -> np.uint64:
    """Remove and return the smallest key; `size` is the size before the pop."""
    top = heap[0]
    size -= 1
    last = heap[size]
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and heap[child + 1] < heap[child]:
            child += 1
        if last <= heap[child]:
            break
        heap[pos] = heap[child]
        pos = child
    heap[pos] = last
    return top


@numba.njit(cache=True)
def _grow(buf: np.ndarray) -> np.ndarray:
    return np.concatenate((buf, np.empty_like(buf)))


@numba.njit(cache=True)
def _priority_flood_kernel(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # noqa: PLR0912, PLR0915
    """Fill depressions; return (filled, flood direction).

    Priority-Flood with a plain queue for depression cells (Barnes et al. 2014, Alg. 2).
    (The upslope tracing of Zhou, Sun and Fu 2016 was tried: on puna-like relief nearly
    every traced cell still entered the priority queue, and filling took 25 % longer.)
    """
    nr, nc = z.shape
    filled = np.empty((nr, nc), dtype=np.float32)
    fdir = np.full((nr, nc), _UNSET, dtype=np.uint8)
    for r in range(nr):
        for c in range(nc):
            if np.isnan(z[r, c]):
                filled[r, c] = np.nan
    fbuf = np.empty(1, dtype=np.float32)
    ubuf = fbuf.view(np.uint32)
    low_mask = np.uint64(0xFFFFFFFF)

    heap = np.empty(2 * (nr + nc) + 64, dtype=np.uint64)
    size = 0
    queue = np.empty(1024, dtype=np.int64)
    qhead = 0
    qtail = 0

    # Seeds: valid cells on the edge or next to no-data drain off the grid.
    for r in range(nr):
        for c in range(nc):
            if np.isnan(z[r, c]):
                continue
            edge = r == 0 or c == 0 or r == nr - 1 or c == nc - 1
            if not edge:
                for d in range(8):
                    if np.isnan(z[r + _DR[d], c + _DC[d]]):
                        edge = True
                        break
            if edge:
                fdir[r, c] = _OUTLET
                filled[r, c] = z[r, c]
                if size == heap.size:
                    heap = _grow(heap)
                _heap_push(heap, size, _key(z[r, c], r * nc + c, fbuf, ubuf))
                size += 1

    while size > 0 or qhead < qtail:
        if qhead < qtail:
            cell = queue[qhead]
            qhead += 1
        else:
            cell = np.int64(_heap_pop(heap, size) & low_mask)
            size -= 1
        r = cell // nc
        c = cell - r * nc
        level = filled[r, c]
        for d in range(8):
            rr = r + _DR[d]
            cc = c + _DC[d]
            if rr < 0 or cc < 0 or rr >= nr or cc >= nc or fdir[rr, cc] != _UNSET:
                continue
            zn = z[rr, cc]
            if np.isnan(zn):
                continue
            fdir[rr, cc] = (d + 4) % 8
            if zn <= level:  # inside a depression (or a flat): raise to the spill level
                filled[rr, cc] = level
                if qtail == queue.size:
                    if qhead > 0:
                        queue[: qtail - qhead] = queue[qhead:qtail]
                        qtail -= qhead
                        qhead = 0
                    if qtail == queue.size:
                        queue = _grow(queue)
                queue[qtail] = rr * nc + cc
                qtail += 1
                continue
            filled[rr, cc] = zn
            if size == heap.size:
                heap = _grow(heap)
            _heap_push(heap, size, _key(zn, rr * nc + cc, fbuf, ubuf))
            size += 1
    return filled, fdir


def _priority_flood(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill depressions; return (filled, flood direction)."""
    if z.size >= 2**32:  # the queue packs the cell index into 32 bits
        raise ParameterError(f"The DEM has {z.size} pixels; at most 2**32 - 1 are supported.")
    return _priority_flood_kernel(z)


@numba.njit(cache=True, parallel=True)
def _d8_directions(filled: np.ndarray, fdir: np.ndarray) -> np.ndarray:
    """Steepest-descent neighbour where one is lower; the flood direction elsewhere."""
    nr, nc = filled.shape
    out = np.empty((nr, nc), dtype=np.uint8)
    for r in numba.prange(nr):
        for c in range(nc):
            zc = filled[r, c]
            if np.isnan(zc):
                out[r, c] = _UNSET
                continue
            best = 0.0
            best_d = -1
            for d in range(8):
                rr = r + _DR[d]
                cc = c + _DC[d]
                if rr < 0 or cc < 0 or rr >= nr or cc >= nc:
                    continue
                zn = filled[rr, cc]
                if np.isnan(zn):
                    continue
                drop = (zc - zn) / _DIST[d]
                if drop > best:
                    best = drop
                    best_d = d
            out[r, c] = best_d if best_d >= 0 else fdir[r, c]
    return out


# Accumulation visits cells in a topological order found by Kahn's algorithm: count each
# cell's donors, start from cells without donors in raster order, and follow flow
# downstream with a stack, releasing a receiver once all its donors are done. Successive
# cells are neighbours, so memory is read in order, and no sorted list of cells is kept.


@numba.njit(cache=True)
def _accumulate_d8(dirs: np.ndarray) -> np.ndarray:
    nr, nc = dirs.shape
    donors = np.zeros((nr, nc), dtype=np.uint8)
    for r in range(nr):
        for c in range(nc):
            d = dirs[r, c]
            if d < 8:
                donors[r + _DR[d], c + _DC[d]] += 1
    acc = np.zeros((nr, nc), dtype=np.float64)
    for r0 in range(nr):
        for c0 in range(nc):
            if dirs[r0, c0] == _UNSET or donors[r0, c0] != 0 or acc[r0, c0] != 0.0:
                continue
            r = r0
            c = c0
            while True:  # walk downstream while each receiver has no donor left
                acc[r, c] += 1.0
                d = dirs[r, c]
                if d >= 8:
                    break
                rr = r + _DR[d]
                cc = c + _DC[d]
                acc[rr, cc] += acc[r, c]
                donors[rr, cc] -= 1
                if donors[rr, cc] != 0:
                    break
                r = rr
                c = cc
    return acc


@numba.njit(cache=True, inline="always")
def _mfd_weights(filled: np.ndarray, r: int, c: int, exponent: float, weights: np.ndarray) -> float:
    nr, nc = filled.shape
    zc = filled[r, c]
    total = 0.0
    for d in range(8):
        weights[d] = 0.0
        rr = r + _DR[d]
        cc = c + _DC[d]
        if rr < 0 or cc < 0 or rr >= nr or cc >= nc:
            continue
        zn = filled[rr, cc]
        if zn < zc:  # False for NaN
            w = (zc - zn) / _DIST[d]
            if exponent != 1.0:  # pow is costly: skip it for p = 1
                w = w**exponent
            weights[d] = w
            total += w
    return total


@numba.njit(cache=True)
def _accumulate_mfd(filled: np.ndarray, fdir: np.ndarray, exponent: float) -> np.ndarray:  # noqa: PLR0912
    nr, nc = filled.shape
    weights = np.zeros(8, dtype=np.float64)
    donors = np.zeros((nr, nc), dtype=np.uint8)
    for r in range(nr):
        for c in range(nc):
            if np.isnan(filled[r, c]):
                continue
            if _mfd_weights(filled, r, c, 1.0, weights) > 0.0:
                for d in range(8):
                    if weights[d] > 0.0:
                        donors[r + _DR[d], c + _DC[d]] += 1
            else:
                d = fdir[r, c]
                if d < 8:
                    donors[r + _DR[d], c + _DC[d]] += 1
    acc = np.zeros((nr, nc), dtype=np.float64)
    stack = np.empty(1024, dtype=np.int64)
    for r0 in range(nr):
        for c0 in range(nc):
            if np.isnan(filled[r0, c0]) or donors[r0, c0] != 0 or acc[r0, c0] != 0.0:
                continue
            stack[0] = r0 * nc + c0
            top = 1
            while top > 0:
                top -= 1
                cell = stack[top]
                r = cell // nc
                c = cell - r * nc
                acc[r, c] += 1.0
                total = _mfd_weights(filled, r, c, exponent, weights)
                if total > 0.0:
                    share = acc[r, c] / total
                    for d in range(8):
                        if weights[d] > 0.0:
                            rr = r + _DR[d]
                            cc = c + _DC[d]
                            acc[rr, cc] += share * weights[d]
                            donors[rr, cc] -= 1
                            if donors[rr, cc] == 0:
                                if top == stack.size:
                                    stack = _grow(stack)
                                stack[top] = rr * nc + cc
                                top += 1
                else:
                    d = fdir[r, c]
                    if d < 8:
                        rr = r + _DR[d]
                        cc = c + _DC[d]
                        acc[rr, cc] += acc[r, c]
                        donors[rr, cc] -= 1
                        if donors[rr, cc] == 0:
                            if top == stack.size:
                                stack = _grow(stack)
                            stack[top] = rr * nc + cc
                            top += 1
    return acc


@numba.njit(cache=True, inline="always")
def _neighbour_or_centre(z: np.ndarray, r: int, c: int, zc: float) -> float:
    nr, nc = z.shape
    if r < 0 or c < 0 or r >= nr or c >= nc:
        return zc
    v = z[r, c]
    return zc if np.isnan(v) else v


@numba.njit(cache=True, parallel=True)
def _horn_slope(z: np.ndarray, cell_size: float) -> np.ndarray:
    nr, nc = z.shape
    out = np.empty((nr, nc), dtype=np.float32)
    for r in numba.prange(nr):
        for c in range(nc):
            zc = np.float64(z[r, c])
            if np.isnan(zc):
                out[r, c] = np.nan
                continue
            # a b c / d e f / g h i around e = (r, c)
            a = _neighbour_or_centre(z, r - 1, c - 1, zc)
            b = _neighbour_or_centre(z, r - 1, c, zc)
            cc = _neighbour_or_centre(z, r - 1, c + 1, zc)
            d = _neighbour_or_centre(z, r, c - 1, zc)
            f = _neighbour_or_centre(z, r, c + 1, zc)
            g = _neighbour_or_centre(z, r + 1, c - 1, zc)
            h = _neighbour_or_centre(z, r + 1, c, zc)
            i = _neighbour_or_centre(z, r + 1, c + 1, zc)
            dzdx = ((cc + 2 * f + i) - (a + 2 * d + g)) / (8 * cell_size)
            dzdy = ((g + 2 * h + i) - (a + 2 * b + cc)) / (8 * cell_size)
            out[r, c] = 100.0 * math.sqrt(dzdx * dzdx + dzdy * dzdy)
    return out


@numba.njit(cache=True, parallel=True)
def _ls_kernel(
    slope_pct: np.ndarray, acc: np.ndarray, cell_size: float, l_max: float, out: np.ndarray
) -> None:
    flat_s = slope_pct.ravel()
    flat_a = acc.ravel()
    flat_o = out.ravel()
    cell_area = cell_size * cell_size
    for i in numba.prange(flat_s.size):
        s = np.float64(flat_s[i])
        a = np.float64(flat_a[i])
        if np.isnan(s) or np.isnan(a):
            flat_o[i] = np.nan
            continue
        # sin and cos of the slope angle without trigonometric calls (θ = atan(s/100)).
        t = s / 100.0
        h = math.sqrt(1.0 + t * t)
        sin_t = t / h
        x = sin_t + 1.0 / h  # |sin θ| + |cos θ|, slope >= 0
        s_factor = 10.8 * sin_t + 0.03 if s < 9.0 else 16.8 * sin_t - 0.5
        if s <= 1.0:
            m = 0.2
        elif s <= 3.5:
            m = 0.3
        elif s <= 5.0:
            m = 0.4
        elif s <= 9.0:
            m = 0.5
        else:
            beta = (sin_t / 0.0896) / (3.0 * sin_t**0.8 + 0.56)
            m = beta / (1.0 + beta)
        upslope = cell_size * math.sqrt(max(a - 1.0, 0.0))
        # D^(m+2) · x^m · 22.13^m = D² · (D · x · 22.13)^m: one power instead of three.
        length = ((upslope + cell_area) ** (m + 1.0) - upslope ** (m + 1.0)) / (
            cell_area * (cell_size * x * 22.13) ** m
        )
        length = min(length, l_max)
        flat_o[i] = length * s_factor


# --- public functions ------------------------------------------------------------------


def _as_float32(elevation: np.ndarray) -> np.ndarray:
    z = np.asarray(elevation)
    if z.ndim != 2:
        raise ParameterError(f"Expected a 2-D elevation array; got shape {z.shape}.")
    return np.ascontiguousarray(z, dtype=np.float32)


def fill_depressions(elevation: np.ndarray) -> np.ndarray:
    """Fill every depression so that each cell drains to the grid edge or to no-data.

    Priority-Flood (Barnes, Lehman and Mulla 2014, Algorithm 2). Filled cells take the
    elevation of their spill point; no gradient is imposed on the resulting flats (the
    routing functions handle them).

    Parameters
    ----------
    elevation
        Elevation (m), 2-D; ``NaN`` for no-data.

    Returns
    -------
    numpy.ndarray
        Filled elevation (m), float32, ``NaN`` where the input is ``NaN``.
    """
    filled, _ = _priority_flood(_as_float32(elevation))
    return filled


def flow_accumulation(
    elevation: np.ndarray,
    *,
    method: FlowMethod = "d8",
    mfd_exponent: float = DEFAULT_MFD_EXPONENT,
) -> np.ndarray:
    """Flow accumulation (pixels, counting the pixel itself) after filling depressions.

    Parameters
    ----------
    elevation
        Elevation (m), 2-D; ``NaN`` for no-data (treated as outlets).
    method
        ``"d8"``: all flow to the steepest-descent neighbour (O'Callaghan and Mark 1984).
        ``"mfd"``: shared among lower neighbours by ``tan(slope)**mfd_exponent``
        (Quinn et al. 1991; Freeman 1991). On flats, flow follows the path the
        Priority-Flood took.
    mfd_exponent
        Exponent ``p`` of the MFD weights: 1 (default) in proportion to slope, as
        InVEST; Freeman (1991) recommends 1.1.

    Returns
    -------
    numpy.ndarray
        Accumulated pixels (float64; ``NaN`` for no-data). Multiply by the pixel area for
        the contributing area in m².
    """
    filled, fdir = _priority_flood(_as_float32(elevation))
    return _route(filled, fdir, method=method, mfd_exponent=mfd_exponent)


def _route(
    filled: np.ndarray,
    fdir: np.ndarray,
    *,
    method: FlowMethod,
    mfd_exponent: float,
) -> np.ndarray:
    if method == "d8":
        acc = _accumulate_d8(_d8_directions(filled, fdir))
    elif method == "mfd":
        if not 0 < mfd_exponent <= 10:
            raise ParameterError(f"mfd_exponent must be in (0, 10]; got {mfd_exponent}.")
        acc = _accumulate_mfd(filled, fdir, float(mfd_exponent))
    else:
        raise ParameterError(f"Unknown flow method {method!r}; choose one of {FLOW_METHODS}.")
    acc[np.isnan(filled)] = np.nan
    return acc


def slope_percent(elevation: np.ndarray, cell_size: float) -> np.ndarray:
    """Slope in percent (100 * rise/run) by Horn's (1981) 3x3 finite differences.

    Neighbours off the grid or without data take the centre cell's value, so slope is
    defined up to the edges (as in GDAL ``gdaldem slope -compute_edges`` and InVEST).

    Parameters
    ----------
    elevation
        Elevation (m), 2-D; ``NaN`` for no-data.
    cell_size
        Pixel side (m).

    Returns
    -------
    numpy.ndarray
        Slope (%), float32, ``NaN`` for no-data.
    """
    if not cell_size > 0:
        raise ParameterError(f"cell_size must be positive (m); got {cell_size}.")
    return _horn_slope(_as_float32(elevation), float(cell_size))


def ls_factor(
    slope_pct: np.ndarray,
    accumulation: np.ndarray,
    cell_size: float,
    *,
    l_max: float = DEFAULT_L_MAX,
) -> np.ndarray:
    """RUSLE slope length and steepness factor LS after Desmet and Govers (1996).

    The form of InVEST SDR 3.14 and later (Sharp et al., InVEST User's Guide; NatCap
    ADR-0001), which reproduces its published unit-test vector::

        L = ((A + D²)^(m+1) - A^(m+1)) / (D^(m+2) · x^m · 22.13^m),   L <= l_max
        A = sqrt((n - 1) · D²)                  (SAGA "square root of catchment area")
        x = |sin θ| + |cos θ|                   (θ the slope angle, as InVEST computes it)
        S = 10.8 sin θ + 0.03 if slope < 9 %, else 16.8 sin θ - 0.5   (McCool et al. 1987)
        m = 0.2 (<= 1 %), 0.3 (<= 3.5 %), 0.4 (<= 5 %), 0.5 (<= 9 %), else β / (1 + β),
            β = (sin θ / 0.0896) / (3 sin^0.8 θ + 0.56)      (McCool et al. 1989)

    with ``n`` the flow accumulation in pixels (including the pixel) and ``D`` the pixel
    side (m). Note the InVEST form adds a length (A) to an area (D²): it is kept because it
    is the established implementation our numbers are checked against.

    Parameters
    ----------
    slope_pct
        Slope (%).
    accumulation
        Flow accumulation (pixels, including the pixel itself; >= 1).
    cell_size
        Pixel side D (m).
    l_max
        Upper bound of L (dimensionless; InVEST default 25).

    Returns
    -------
    numpy.ndarray
        LS (dimensionless), float32, ``NaN`` where either input is ``NaN``.
    """
    slope = np.ascontiguousarray(slope_pct)
    acc = np.ascontiguousarray(accumulation)
    if slope.shape != acc.shape:
        raise ParameterError(
            f"slope_pct {slope.shape} and accumulation {acc.shape} must have the same shape."
        )
    if not cell_size > 0:
        raise ParameterError(f"cell_size must be positive (m); got {cell_size}.")
    if not l_max > 0:
        raise ParameterError(f"l_max must be positive; got {l_max}.")
    if np.fmin.reduce(acc, axis=None) < 1:
        raise ParameterError(
            "Flow accumulation counts the pixel itself, so it must be >= 1; got "
            f"{np.nanmin(acc):g}."
        )
    out = np.empty(slope.shape, dtype=np.float32)
    _ls_kernel(slope, acc, float(cell_size), float(l_max), out)
    return out


def terrain_factors(
    dem: Dem,
    *,
    method: FlowMethod = "d8",
    l_max: float = DEFAULT_L_MAX,
    mfd_exponent: float = DEFAULT_MFD_EXPONENT,
) -> Terrain:
    """Fill, route, and compute slope and LS for a DEM in one pass.

    Parameters
    ----------
    dem
        DEM on the working grid.
    method
        Flow routing, ``"d8"`` or ``"mfd"`` (see :func:`flow_accumulation`).
    l_max
        Upper bound of L (see :func:`ls_factor`).
    mfd_exponent
        Exponent of the MFD weights (see :func:`flow_accumulation`).

    Returns
    -------
    Terrain
    """
    if method not in FLOW_METHODS:
        raise ParameterError(f"Unknown flow method {method!r}; choose one of {FLOW_METHODS}.")
    filled, fdir = _priority_flood(_as_float32(dem.elevation))
    acc = _route(filled, fdir, method=method, mfd_exponent=mfd_exponent)
    del fdir
    slope = _horn_slope(filled, dem.cell_size)
    ls = ls_factor(slope, acc, dem.cell_size, l_max=l_max)
    accumulation = acc.astype(np.float32)
    del acc
    logger.debug("terrain: %s cells, routing %s", filled.size, method)
    return Terrain(
        filled=filled,
        slope_pct=slope,
        accumulation=accumulation,
        ls=ls,
        method=method,
    )
