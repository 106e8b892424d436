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
* Flats of the filled surface (filled depressions, plateaus) are routed by the rule of
  ``pygeoprocessing.routing.flow_dir_d8`` and ``flow_dir_mfd`` (pygeoprocessing
  2.4.11, as InVEST SDR 3.20.2 calls them), without the tiny gradients of the epsilon
  variants: each flat drains towards its cells that have a lower neighbour (or, if it
  has none, its cells next to no-data or the edge); distances to them (1 to a side,
  sqrt(2) to a corner, float64 sums compared strictly) spread from the drains in
  first-in-first-out order, the drains queued in the order a breadth-first search
  from the flat's first cell in pygeoprocessing's 256 x 256 block scan meets them.
  D8 points each flat cell to the cell its shortest distance came through (the first
  found among equal sums); MFD shares the flow among all strictly nearer neighbours
  (weights 1 and 1/sqrt(2)). See :func:`_flat_routing`.
* Flow accumulates in one pass over a topological order of the drainage network found
  with Kahn's (1962) algorithm: cells without donors first, then downstream.
* D8 (O'Callaghan and Mark 1984) sends each cell to its steepest-descent neighbour;
  the multiple-flow-direction option shares it among all lower neighbours in proportion
  to ``tan(slope)**p``: p = 1 by default (Quinn et al. 1991, Hydrol. Process. 5:59-79;
  the slope-proportional MFD of InVEST's routing), p = 1.1 after Freeman (1991,
  Computers & Geosciences 17:413-422). InVEST stores each cell's MFD weights as 4-bit
  integers (``int(0.5 + 15 w / sum)``); ``mfd_weights="invest"`` routes with those.
* Streams (:func:`stream_mask`): accumulation above a threshold, or as InVEST SDR
  3.20.2 finds them (``extract_streams_mfd`` with a 0.7 trace proportion for MFD).
* Slope follows Horn (1981, Proc. IEEE 69:14-47), one-sided at edges and no-data as
  InVEST (:func:`slope_percent`); LS follows Desmet and Govers (1996,
  J. Soil Water Conserv. 51:427-433) in the form of the InVEST SDR model (3.14 and
  later), see :func:`ls_factor`.

Heavy loops are compiled with numba.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numba
import numpy as np
from affine import Affine

from pastures import _jit
from pastures.defaults import FLOW_METHODS, FlowMethod
from pastures.errors import CRSError, InputFileError, ParameterError
from pastures.i18n import _
from pastures.schema import WORKING_CRS

logger = logging.getLogger(__name__)
_jit.import_arraymath()  # before any kernel loads: no scipy.linalg (see pastures._jit)

__all__ = [
    "DEFAULT_FLOW_METHOD",
    "DEFAULT_L_MAX",
    "DEFAULT_MFD_EXPONENT",
    "FLOW_METHODS",
    "Dem",
    "Terrain",
    "dem_notes",
    "fill_depressions",
    "flow_accumulation",
    "interior_holes",
    "ls_factor",
    "read_band_float32",
    "read_dem",
    "read_raster_on_grid",
    "slope_percent",
    "stream_mask",
    "terrain_factors",
    "terrain_ls",
    "write_cog",
]

MfdWeights = Literal["exact", "invest"]
#: MFD weights: exact floats, or rounded to the 4-bit integers InVEST's routing stores.
MFD_WEIGHTS: Final = ("exact", "invest")
StreamMethod = Literal["threshold", "invest"]
#: How stream pixels are found: flow accumulation above a threshold, or as InVEST SDR.
STREAM_METHODS: Final = ("threshold", "invest")
#: Upper bound of the slope-length factor L (dimensionless). Our default: InVEST SDR 3.20
#: has no default for ``l_max`` (it must be given; its LS unit test uses 25, its regression
#: run 122). 25 bounds the runaway L of cells that gather large areas (valley floors and
#: drainage lines, where RUSLE's sheet and rill erosion does not apply) so that they do
#: not dominate plot totals; hillslope cells of the puna stay far below it.
DEFAULT_L_MAX: Final = 25.0
#: Flow routing used unless told otherwise. Our default: InVEST SDR 3.20 has no default
#: for ``flow_dir_algorithm`` (D8 or MFD must be chosen). D8 because it is the faster
#: and its flow accumulation is an exact count of upslope pixels; MFD spreads flow over
#: divergent slopes and is one option away. D8 flow accumulation equals InVEST's on every
#: pixel, flats included; MFD with exact weights is within about 10 % of InVEST's, and
#: with ``mfd_weights="invest"`` (its 4-bit weights) equal to float rounding (see
#: benchmarks/invest_agreement.py).
DEFAULT_FLOW_METHOD: Final = "d8"
#: Exponent ``p`` of the multiple-flow-direction weights ``tan(slope)**p``: 1 shares flow in
#: proportion to slope (Quinn et al. 1991, as InVEST's MFD); Freeman (1991) suggests 1.1.
DEFAULT_MFD_EXPONENT: Final = 1.0
#: Plausible elevations on Earth (m); values outside suggest feet, decimetres or a bad no-data.
ELEVATION_RANGE_M: Final = (-500.0, 9000.0)

# Neighbours clockwise from north: N, NE, E, SE, S, SW, W, NW. As tuples for loops the
# compiler unrolls (each step then a constant), as arrays for offsets computed at once.
_STEP_R: Final = (-1, -1, 0, 1, 1, 1, 0, -1)
_STEP_C: Final = (0, 1, 1, 1, 0, -1, -1, -1)
_DR = np.array(_STEP_R, dtype=np.int64)
_DC = np.array(_STEP_C, dtype=np.int64)
_SQRT2: Final = math.sqrt(2.0)
#: Neighbours in the order pygeoprocessing's routing visits them (E, NE, N, NW, W, SW, S,
#: SE): the first of equal drops wins, and flats are searched in the same order. The
#: tuple is for loops the compiler unrolls.
_INVEST_STEPS: Final = (2, 1, 0, 7, 6, 5, 4, 3)
_INVEST_ORDER = np.array(_INVEST_STEPS, dtype=np.int64)
#: 1 to a side, 1/sqrt(2) to a corner: divides a drop into a slope, and weighs a flat
#: cell's flow to a nearer neighbour, as pygeoprocessing's flow_dir_d8 and flow_dir_mfd.
_INV_DIST = np.array([1.0, 1.0 / math.sqrt(2.0)] * 4, dtype=np.float64)
#: Side (pixels) of the blocks in which pygeoprocessing scans a raster: the GeoTIFFs it
#: writes are tiled 256 x 256, and its routing iterates over their blocks. The scan
#: order decides which cell of a flat starts its search, hence the order of its drains.
_INVEST_BLOCK: Final = 256
#: Share of the stream threshold down to which InVEST SDR 3.20 traces MFD streams
#: upstream from a stream (``extract_streams_mfd(..., trace_threshold_proportion=0.7)``).
INVEST_TRACE_PROPORTION: Final = 0.7
#: Direction code of a cell that drains off the grid (edge, or next to no-data).
_OUTLET: Final = 8
#: Direction code of a cell not reached (no-data).
_UNSET: Final = 255
#: Largest D8 pixel count kept exactly by :func:`terrain_ls` for soil loss (uint16).
_MAX_COUNT_D8: Final = 65535


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
    #: Pixel side (m) of the file the DEM was read from, when it differs from the grid's
    #: (None: read as is). See :func:`dem_notes`.
    source_resolution: float | None = None

    def __post_init__(self) -> None:
        if self.elevation.ndim != 2 or min(self.elevation.shape) < 1:
            raise ParameterError(
                _("A DEM must be a 2-D array; got shape {shape}.").format(
                    shape=self.elevation.shape
                )
            )
        a, b, d, e = self.transform.a, self.transform.b, self.transform.d, self.transform.e
        if b != 0 or d != 0 or e >= 0 or not math.isclose(a, -e, rel_tol=1e-6):
            raise ParameterError(
                _(
                    "The DEM grid must be north-up with square pixels; got transform "
                    "{value}. Resample it with `gdalwarp -tr 30 30 -t_srs EPSG:32719` first."
                ).format(value=tuple(self.transform)[:6])
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
    streams
        Stream pixels (bool) when asked for (:func:`stream_mask`), else ``None``.
    """

    filled: np.ndarray
    slope_pct: np.ndarray
    accumulation: np.ndarray
    ls: np.ndarray
    method: FlowMethod
    streams: np.ndarray | None = None


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
    projected or geographic, or another `resolution`, is resampled: by averaging where
    the working grid is coarser than the source (every source pixel counts, as the
    mean elevation of the larger pixel), bilinearly where it is finer. The source
    no-data value (and any ``NaN``) becomes ``NaN``. A finer grid does not make a
    coarse DEM finer: LS depends on the DEM's resolution (soil loss rose about 30 %
    from a 10 m to a 30 m DEM on the Gura sample), so :func:`dem_notes` warns when the
    DEM is coarser than the grid.

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
        raise InputFileError(
            _("DEM file not found: {path}. Check the path given with --dem.").format(path=path)
        )
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise InputFileError(
            _("Cannot read the DEM {path}: {exc}. Is it a GeoTIFF?").format(path=path, exc=exc)
        ) from exc
    with src:
        if src.crs is None:
            west, south, east, north = src.bounds
            hint = (
                " Its coordinates look like longitude/latitude: set it with "
                f"`gdal_edit.py -a_srs EPSG:4326 {path.name}`."
                if -180 <= west <= east <= 180 and -90 <= south <= north <= 90
                else f" Set it with `gdal_edit.py -a_srs EPSG:32719 {path.name}` if it is UTM 19S."
            )
            raise CRSError(
                _("The DEM {path} has no coordinate reference system.{hint}").format(
                    path=path, hint=hint
                )
            )
        _check_units(src, f"DEM {path}")
        _check_dem_size(src, path, resolution)
        try:
            # float32 straight from the file, no-data (nodata value, mask band) and
            # infinities as NaN, in place: one grid, not the copies of a masked read
            source = read_band_float32(src)
        except RasterioIOError as exc:
            raise InputFileError(
                _(
                    "Cannot read the DEM {path}: its pixels cannot be read ({exc}); the file "
                    "is probably truncated. Download or export it again."
                ).format(path=path, exc=exc)
            ) from exc
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
                raise ParameterError(
                    _("DEM resolution must be positive (m); got {resolution}.").format(
                        resolution=resolution
                    )
                )
            west, south, east, north = transform_bounds(src.crs, dst_crs, *src.bounds)
            west = math.floor(west / resolution) * resolution
            north = math.ceil(north / resolution) * resolution
            width = math.ceil((east - west) / resolution)
            height = math.ceil((north - south) / resolution)
            transform = Affine(resolution, 0.0, west, 0.0, -resolution, north)
            source_resolution = _pixel_metres(src)
            coarsening = resolution > source_resolution * (1 + 1e-6)
            if width * height > MAX_DEM_PIXELS:
                raise ParameterError(
                    _(
                        "The DEM {path} at {resolution:g} m would have {width} x {height} "
                        "pixels, more than {max_dem_pixels:,}. Choose a coarser --resolution or "
                        "clip the DEM to the area of the plots."
                    ).format(
                        path=path,
                        resolution=resolution,
                        width=width,
                        height=height,
                        max_dem_pixels=MAX_DEM_PIXELS,
                    )
                )
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
                resampling=Resampling.average if coarsening else Resampling.bilinear,
            )
            logger.info(
                _("DEM %s resampled (%s) from %s at %.1f m to %s at %.1f m"),
                path.name,
                "average" if coarsening else "bilinear",
                src.crs,
                source_resolution,
                dst_crs,
                resolution,
            )
            _check_elevations(elevation, str(path))
            return Dem(
                elevation=elevation,
                transform=transform,
                crs=dst_crs,
                source_resolution=source_resolution,
            )
    _check_elevations(elevation, str(path))
    return Dem(elevation=elevation, transform=transform, crs=dst_crs)


#: Largest working grid accepted (pixels): about 1 GB per float32 raster.
MAX_DEM_PIXELS: Final = 250_000_000
#: Share of the DEM's area that must hold data before holes inside it are warned about.
MIN_DEM_COVERAGE: Final = 0.95


def _pixel_metres(src: object) -> float:
    """Pixel side of a raster in metres (converted from degrees at its mid-latitude)."""
    size = float(max(abs(src.transform.a), abs(src.transform.e)))  # type: ignore[attr-defined]
    if src.crs.is_geographic:  # type: ignore[attr-defined]
        bounds = src.bounds  # type: ignore[attr-defined]
        lat = (bounds.bottom + bounds.top) / 2
        return size * 111_320.0 * math.cos(math.radians(lat))
    return size


def interior_holes(elevation: np.ndarray) -> np.ndarray:
    """No-data cells enclosed by data: not connected (8-neighbours) to the grid's border.

    No-data that reaches the border (outside a boundary, a lake at the edge) is the
    DEM's extent; enclosed no-data (voids of a SRTM tile, a cut-out) becomes an outlet
    of the routing and shortens the slopes draining to it.
    """
    holes = ~np.isfinite(elevation)
    if holes.any():
        _clear_border_connected(holes)
    return holes


@numba.njit(cache=True, inline="always")
def _push_runs(  # noqa: PLR0917
    missing: np.ndarray, row: int, k: int, end: int, stack: np.ndarray, top: int
) -> tuple[np.ndarray, int]:
    """Push one cell of each run of True in ``missing[row, k : end + 1]`` onto `stack`."""
    nc = missing.shape[1]
    while k <= end:
        if not missing[row, k]:
            k += 1
            continue
        if top == stack.size:
            stack = _grow(stack)
        stack[top] = row * nc + k
        top += 1
        while k <= end and missing[row, k]:
            k += 1
    return stack, top


@numba.njit(cache=True)
def _clear_border_connected(missing: np.ndarray) -> None:
    """Set False every True cell 8-connected to a True cell on the border (in place).

    A scanline flood from the border: each popped cell clears its whole run of the
    row, and pushes one cell of each run next to it in the rows above and below (a
    run touches the row's cells one column beyond its ends). No label grid is made (a
    64-million-pixel DEM would need 256 MB of int32 labels), and the rows are read
    along their length: a third of the time of a cell-by-cell flood at 4000².
    """
    nr, nc = missing.shape
    stack = np.empty(1024, dtype=np.int64)
    for r in range(nr):
        edge_row = r == 0 or r == nr - 1
        for c in range(0, nc, 1 if edge_row else max(nc - 1, 1)):  # the border only
            if not missing[r, c]:
                continue
            stack[0] = r * nc + c
            top = 1
            while top > 0:
                top -= 1
                row = stack[top] // nc
                col = stack[top] - row * nc
                if not missing[row, col]:
                    continue  # cleared since it was pushed
                lo = col
                while lo > 0 and missing[row, lo - 1]:
                    lo -= 1
                hi = col
                while hi < nc - 1 and missing[row, hi + 1]:
                    hi += 1
                for k in range(lo, hi + 1):
                    missing[row, k] = False
                for r2 in (row - 1, row + 1):
                    if 0 <= r2 < nr:
                        stack, top = _push_runs(
                            missing, r2, max(lo - 1, 0), min(hi + 1, nc - 1), stack, top
                        )


def dem_notes(dem: Dem) -> list[str]:
    """What a user should know about a DEM before trusting soil loss from it.

    - The DEM's own pixels are coarser than the working grid: LS depends on resolution
      (longer, gentler slopes on coarse DEMs; soil loss rose about 30 % from a 10 m
      to a 30 m DEM of the same ground), and resampling adds no detail.
    - Holes inside the DEM cover more than 5 % of its area (less than
      :data:`MIN_DEM_COVERAGE` holds data): each hole is an outlet, so the slopes above
      it gather less area and soil loss is underestimated.

    Returns
    -------
    list of str
        One sentence per point (empty when there is nothing to say).
    """
    notes = []
    if dem.source_resolution is not None and dem.source_resolution > dem.cell_size * 1.01:
        notes.append(
            f"The DEM's pixels ({dem.source_resolution:.1f} m) are coarser than the working "
            f"grid ({dem.cell_size:.1f} m): the DEM was interpolated, not refined, and the LS "
            "factor depends on the DEM's resolution (soil loss differs by about 30 % between "
            "10 m and 30 m DEMs). Compare plots only with results from DEMs of the same "
            "resolution, or use a finer DEM."
        )
    holes = interior_holes(dem.elevation)
    n_holes = int(holes.sum())
    if n_holes:
        valid = int(np.isfinite(dem.elevation).sum())
        share = valid / (valid + n_holes)
        message = (
            f"The DEM has {n_holes:,} no-data pixel(s) enclosed by data "
            f"({100 * (1 - share):.1f} % of its area): each hole acts as an outlet, so "
            "the slopes draining to it gather less area and their soil loss is "
            "underestimated. Fill the voids (e.g. `gdal_fillnodata.py`) or use another DEM."
        )
        if share < MIN_DEM_COVERAGE:
            notes.append(message)
        else:
            logger.info("%s", message)
    return notes


def _check_units(src: object, what: str) -> None:
    """Refuse a raster whose CRS says metres but whose coordinates are degrees."""
    crs, (west, south, east, north) = src.crs, src.bounds  # type: ignore[attr-defined]
    pixel = abs(src.transform.a)  # type: ignore[attr-defined]
    looks_like_degrees = (
        -180 <= west <= east <= 180 and -90 <= south <= north <= 90 and pixel < 0.01
    )
    if crs.is_projected and looks_like_degrees:
        raise CRSError(
            _(
                "The {what} declares the projected CRS {value} (metres), but its "
                "coordinates ({west:g}, {south:g}, {east:g}, {north:g}) and pixel size "
                "{pixel:g} look like degrees. Declare the right CRS with `gdal_edit.py "
                "-a_srs EPSG:4326 FILE` and run again: it will be reprojected."
            ).format(
                what=what,
                value=crs.to_string(),
                west=west,
                south=south,
                east=east,
                north=north,
                pixel=pixel,
            )
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
        raise InputFileError(
            _("The {name} raster was not found: {path}.").format(name=name, path=path)
        )
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise InputFileError(
            _("Cannot read the {name} raster {path}: {exc}.").format(name=name, path=path, exc=exc)
        ) from exc
    with src:
        if src.crs is None:
            raise CRSError(
                _(
                    "The {name} raster {path} has no CRS. Set it with `gdal_edit.py -a_srs "
                    "EPSG:32719 {name2}` (or its true CRS)."
                ).format(name=name, path=path, name2=path.name)
            )
        _check_units(src, f"{name} raster {path}")
        try:
            data = np.ma.filled(src.read(1, masked=True).astype(np.float32), np.nan)
        except RasterioIOError as exc:
            raise InputFileError(
                _(
                    "Cannot read the {name} raster {path}: its pixels cannot be read "
                    "({exc}); the file is probably truncated. Download or export it again."
                ).format(name=name, path=path, exc=exc)
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
            _(
                "The {name} raster {path} has no valid data over the DEM (bounds "
                "{bounds} in {crs}). Check that both cover the same area."
            ).format(name=name, path=path, bounds=dem.bounds, crs=dem.crs)
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
    logger.info(_("wrote %s"), dest)
    return dest


def _check_elevations(elevation: np.ndarray, source: str) -> None:
    low, high, holes = _nan_summary(elevation)
    if holes == elevation.size:
        raise InputFileError(
            _("The DEM {source} holds no valid elevation (all no-data).").format(source=source)
        )
    if low < ELEVATION_RANGE_M[0] or high > ELEVATION_RANGE_M[1]:
        raise ParameterError(
            _(
                "The DEM {source} has elevations from {low:g} to {high:g}, outside "
                "{value:g}..{value2:g} m. Are they in feet, or is the no-data value "
                "undeclared? Fix it with `gdal_edit.py -a_nodata VALUE`."
            ).format(
                source=source,
                low=low,
                high=high,
                value=ELEVATION_RANGE_M[0],
                value2=ELEVATION_RANGE_M[1],
            )
        )
    if holes:
        logger.info(
            _("DEM %s: %d no-data pixels (%.2f %%) are carried as NaN and act as outlets"),
            source,
            holes,
            100.0 * holes / elevation.size,
        )


@numba.njit(cache=True)
def _nan_summary(values: np.ndarray) -> tuple[float, float, int]:
    """Smallest and largest value, and the number of NaN, in one pass without copies."""
    low = np.inf
    high = -np.inf
    holes = 0
    for v in values.ravel():
        if np.isnan(v):
            holes += 1
        else:
            low = min(low, v)
            high = max(high, v)
    return low, high, holes


@numba.njit(cache=True)
def _no_data_to_nan(values: np.ndarray, nodata: float, use_nodata: bool) -> None:
    """Set NaN, in place, where `values` equal `nodata` (if `use_nodata`) or are infinite."""
    flat = values.ravel()
    for i in range(flat.size):
        v = flat[i]
        if (use_nodata and v == nodata) or np.isinf(v):
            flat[i] = np.nan


#: Band types whose every value, and so its no-data value, is exact in float32: for
#: them a pixel is no-data exactly when its float32 equals the float32 no-data value.
_EXACT_IN_FLOAT32: Final = frozenset({"uint8", "int8", "uint16", "int16", "float32"})


def read_band_float32(src: Any, window: object = None) -> np.ndarray:
    """Band 1 of an open raster as float32, NaN for no-data and infinities.

    Where the only mask is a no-data value and the band type is exact in float32, the
    pixels are compared with it in place (GDAL's no-data mask compares the same way);
    otherwise GDAL's mask (mask band, alpha, per-dataset mask) is read. The pixels are
    decoded once: a mask derived from the no-data value would decode them again.
    """
    from rasterio.enums import MaskFlags

    data = src.read(1, window=window, out_dtype=np.float32)
    flags = src.mask_flag_enums[0]
    nodata = src.nodata
    if MaskFlags.all_valid in flags or (
        flags == [MaskFlags.nodata] and src.dtypes[0] in _EXACT_IN_FLOAT32
    ):
        use = nodata is not None and not math.isnan(nodata) and MaskFlags.nodata in flags
        _no_data_to_nan(data, float(np.float32(nodata)) if use else 0.0, use)
        return data
    data[src.read_masks(1, window=window) == 0] = np.nan
    _no_data_to_nan(data, 0.0, False)
    return data


# --- compiled kernels ------------------------------------------------------------------


@numba.extending.intrinsic
def _prefetch(typingctx: object, array: Any, index: Any) -> tuple | None:
    """``_prefetch(a, i)`` in a kernel: ask the CPU to bring ``a.ravel()[i]`` into its cache.

    A hint (LLVM's ``llvm.prefetch``, for reading, kept close) on a C-contiguous array,
    for cells a kernel knows it will visit soon in an order that jumps across the grid.
    It changes no value.
    """
    from llvmlite import ir
    from numba.core import cgutils, types

    if not isinstance(array, types.Array) or not isinstance(index, types.Integer):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        array_type = signature.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        flat = builder.gep(view.data, [args[1]])
        byte = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        hint = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte, i32, i32, i32]),
            "llvm.prefetch.p0i8",
        )
        builder.call(hint, [builder.bitcast(flat, byte), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


#: :func:`_float_key` of a NaN with all bits set beyond +inf (the largest int32), and
#: of one below -inf (the smallest): the sentinels of a range that skips NaN.
_MAX_KEY: Final = 0x7FFFFFFF
_MIN_KEY: Final = -0x80000000


@numba.njit(cache=True, inline="always")
def _float_key(bits: np.int32) -> np.int32:
    """A float32's bits (read as int32) mapped to an int32 in the order of the floats.

    The sign bit set flips the other 31; the mapping is its own inverse. A minimum or
    maximum over these integers compiles to vector instructions, where LLVM keeps one
    over floats (with NaN to skip) scalar (see erosion's ``_scale_in_place``).
    """
    return bits ^ ((bits >> 31) & np.int32(_MAX_KEY))


@numba.njit(cache=True, inline="always")
def _ordered(u32: np.uint32) -> np.uint64:
    """A float32's bits (read as uint32) mapped to an integer in the order of the floats."""
    u = np.uint64(u32)
    return (u ^ np.uint64(0xFFFFFFFF)) if u & np.uint64(0x80000000) else (u | np.uint64(0x80000000))


@numba.njit(cache=True)
def _grow(buf: np.ndarray) -> np.ndarray:
    return np.concatenate((buf, np.empty_like(buf)))


@numba.njit(cache=True, inline="always")
def _make_room(queue: np.ndarray, head: int, tail: int, room: int) -> tuple[np.ndarray, int, int]:
    """Room for `room` more cells after the FIFO ``queue[head:tail]`` (called when full).

    It is compacted when at most half of it is in use (with the room), else doubled
    first: either way at least half of it is free afterwards, so each cell is copied
    O(1) times.
    """
    if 2 * (tail - head) + room > queue.size:
        queue = _grow(queue)
    queue[: tail - head] = queue[head:tail]
    return queue, 0, tail - head


@numba.njit(cache=True, inline="always")
def _enqueue(queue: np.ndarray, head: int, tail: int, cell: int) -> tuple[np.ndarray, int, int]:
    """Append `cell` to the FIFO ``queue[head:tail]``, making room (:func:`_make_room`)."""
    if tail == queue.size:
        queue, head, tail = _make_room(queue, head, tail, 1)
    queue[tail] = cell
    return queue, head, tail + 1


#: The Priority-Flood's cells are sorted into at most 2**_FLOOD_BUCKET_BITS buckets of
#: equal width in elevation order (by a counting sort), each sorted when its turn comes.
_FLOOD_BUCKET_BITS: Final = 18
#: The buckets are sorted a part of the grid at a time: at most 1/_FLOOD_PARTS of its
#: cells (8 bytes each: key and index) are held sorted at once, two bytes a cell. Each
#: part scans the grid for its keys: 4 parts fill 11 % faster than 8 at 4000², and the
#: fill's 7 bytes a cell stay below the routing's peak.
_FLOOD_PARTS: Final = 4


#: How many cells ahead in the sorted order the Priority-Flood asks for the next cells'
#: heights and directions (they lie anywhere on the grid): 15 % less time at 4000².
_FLOOD_AHEAD: Final = 4
#: The Priority-Flood's buckets are put in place in groups of 2**_FLOOD_GROUP_BITS:
#: each part's keys are first scattered to a few hundred groups (whose write positions
#: stay in cache), then each group sorted in cache: 6 % less time filling at 4000² than
#: scattering to the buckets themselves.
_FLOOD_GROUP_BITS: Final = 8
#: Largest number of low key bits a bucket of the Priority-Flood is sorted on by counting.
_COUNTING_SORT_BITS: Final = 12


@numba.njit(cache=True)
def _counting_sort(  # noqa: PLR0917
    keys: np.ndarray,
    s: int,
    e: int,
    first: np.uint64,
    shift: np.uint64,
    bits: np.uint64,
    tally: np.ndarray,
    aside: np.ndarray,
) -> None:
    """Sort ``keys[s:e]`` stably by ``((key - first) >> shift) & bits`` (`tally`: bits + 2 long)."""
    m = e - s
    tally[:] = 0
    for j in range(m):
        v = keys[s + j]
        aside[j] = v
        tally[int((((v >> np.uint64(32)) - first) >> shift) & bits) + 1] += 1
    for k in range(1, tally.size):
        tally[k] += tally[k - 1]
    for j in range(m):
        v = aside[j]
        k = int((((v >> np.uint64(32)) - first) >> shift) & bits)
        keys[s + tally[k]] = v
        tally[k] += 1


@numba.njit(cache=True)
def _priority_flood_kernel(z: np.ndarray, filled: np.ndarray) -> np.ndarray:  # noqa: PLR0912, PLR0915
    """Fill depressions into `filled` (which may be `z` itself); return the flood direction.

    In place is safe: a cell's input height is read only before the flood reaches it,
    and written once, when it does.

    Hot indices are np.uint64, for which numba tests no negative index (10 % less time).

    Priority-Flood with a plain queue for depression cells (Barnes et al. 2014, Alg. 2).
    A cell the flood reaches above the current level would enter the priority queue
    with its own elevation as key (then its index): it is only marked as reached, and
    taken when the cells sorted by that key come to it. The cells are sorted once, by
    a counting sort into buckets of keys and a sort of each bucket when its turn comes;
    a cell the sorted order passes before the flood reaches it can only be reached
    later from below, by the plain queue (any key reached later is above the level,
    and the level never falls). The cells are taken in exactly the order of one
    priority queue of all keys, without its pushes and pops. (The upslope tracing of
    Zhou, Sun and Fu 2016 was tried: on puna-like relief nearly every traced cell
    still entered the priority queue, and filling took 25 % longer.)
    """
    nr, nc = z.shape
    size = nr * nc
    fdir = np.full((nr, nc), _UNSET, dtype=np.uint8)
    flat_z = z.ravel()
    flat_filled = filled.ravel()
    flat_fdir = fdir.ravel()
    z_bits = flat_z.view(np.uint32)
    lowest = np.float32(np.inf)
    highest = np.float32(-np.inf)
    for i in range(size):
        v = flat_z[i]
        if np.isnan(v):
            flat_filled[i] = np.nan
        else:
            lowest = min(lowest, v)
            highest = max(highest, v)
    if lowest > highest:  # no data at all
        return fdir
    if lowest == 0.0:  # -0.0 and 0.0 are equal, but their keys differ: span both
        lowest = np.float32(-0.0)
    if highest == 0.0:
        highest = np.float32(0.0)
    ends = np.empty(2, dtype=np.float32)
    ends[0] = lowest
    ends[1] = highest
    end_bits = ends.view(np.uint32)
    first = _ordered(end_bits[0])
    span = _ordered(end_bits[1]) - first
    shift = np.uint64(0)
    while (span >> shift) >> np.uint64(_FLOOD_BUCKET_BITS) != 0:
        shift += np.uint64(1)
    n_buckets = int(span >> shift) + 1
    start = np.zeros(n_buckets + 1, dtype=np.int64)  # bucket b: sorted cells start[b]:start[b+1]
    for i in range(size):
        if not np.isnan(flat_z[i]):
            start[int((_ordered(z_bits[i]) - first) >> shift) + 1] += 1
    for b in range(n_buckets):
        start[b + 1] += start[b]
    # groups of buckets (see _FLOOD_GROUP_BITS): group g holds buckets g << bits and on
    gshift = shift + np.uint64(_FLOOD_GROUP_BITS)
    n_groups = ((n_buckets - 1) >> _FLOOD_GROUP_BITS) + 1
    gstart = np.zeros(n_groups + 1, dtype=np.int64)
    for g in range(n_groups):
        gstart[g + 1] = start[min((g + 1) << _FLOOD_GROUP_BITS, n_buckets)]
    largest_group = 0
    for g in range(n_groups):
        largest_group = max(largest_group, gstart[g + 1] - gstart[g])
    part = max(largest_group, (start[n_buckets] + _FLOOD_PARTS - 1) // _FLOOD_PARTS)
    keys = np.empty(part, dtype=np.uint64)
    aside = np.empty(largest_group, dtype=np.uint64)
    # a group is sorted by counting on all its key bits when they are few; else by
    # counting on its buckets' bits, then each bucket on its low bits (or by np.sort)
    whole = gshift <= np.uint64(_COUNTING_SORT_BITS)
    sort_bits = np.int64(gshift) if whole else np.int64(_FLOOD_GROUP_BITS)
    group_bits = np.uint64((1 << sort_bits) - 1)
    tally = np.empty((1 << sort_bits) + 1, dtype=np.int64)
    no_shift = np.uint64(0)
    low_bits = np.uint64((1 << int(shift)) - 1)
    low_counted = shift <= _COUNTING_SORT_BITS
    low_tally = np.empty((1 << int(shift)) + 1 if low_counted else 1, dtype=np.int64)
    put = np.empty(n_groups, dtype=np.int64)
    low_mask = np.uint64(0xFFFFFFFF)
    queue = np.empty(1024, dtype=np.int64)
    qhead = 0
    qtail = 0
    offset = _DR * nc + _DC  # of a neighbour's flat index

    # Seeds: valid cells on the edge or next to no-data drain off the grid. They are
    # found from the no-data side (fewer cells), and marked as reached.
    for r in range(nr):
        for c in range(nc):
            edge = r == 0 or c == 0 or r == nr - 1 or c == nc - 1
            if not (edge or np.isnan(z[r, c])):
                continue
            for d in range(-1, 8):  # the cell itself when on the edge, then its neighbours
                if d < 0:
                    rr, cc = r, c
                    if np.isnan(z[r, c]):
                        continue
                else:
                    if not np.isnan(z[r, c]):
                        break
                    rr = r + _DR[d]
                    cc = c + _DC[d]
                    if rr < 0 or cc < 0 or rr >= nr or cc >= nc or np.isnan(z[rr, cc]):
                        continue
                if fdir[rr, cc] != _UNSET:
                    continue
                fdir[rr, cc] = _OUTLET
                filled[rr, cc] = z[rr, cc]

    g0 = 0
    while g0 < n_groups:
        # the next part: whole groups, at most `part` cells, their keys put into
        # `keys` by group. Their heights are still the input's: a cell raised by
        # then took a level below them.
        g1 = g0
        while g1 < n_groups and gstart[g1 + 1] - gstart[g0] <= part:
            put[g1] = gstart[g1] - gstart[g0]
            g1 += 1
        for i in range(size):
            if np.isnan(flat_z[i]):
                continue
            key = _ordered(z_bits[i])
            g = int((key - first) >> gshift)
            if g0 <= g < g1:
                keys[np.uint64(put[g])] = (key << np.uint64(32)) | np.uint64(i)
                put[g] += 1
        for g in range(g0, g1):
            s = gstart[g] - gstart[g0]
            e = gstart[g + 1] - gstart[g0]
            if s == e:
                continue
            if tally.size > 2 * (e - s):  # few cells: np.sort (keys end in the index)
                keys[s:e].sort()
            elif whole:
                _counting_sort(keys, s, e, first, no_shift, group_bits, tally, aside)
            else:
                _counting_sort(keys, s, e, first, shift, group_bits, tally, aside)
                # (not whole: shift > 4, so a bucket holds several keys)
                bg = g << _FLOOD_GROUP_BITS
                for b in range(bg, min(bg + (1 << _FLOOD_GROUP_BITS), n_buckets)):
                    bs = start[b] - gstart[g0]
                    be = start[b + 1] - gstart[g0]
                    if be - bs < 2:
                        continue
                    if low_counted and low_tally.size <= 2 * (be - bs):
                        _counting_sort(keys, bs, be, first, no_shift, low_bits, low_tally, aside)
                    else:
                        keys[bs:be].sort()
            for j in range(s, e):
                if j + _FLOOD_AHEAD < e:  # the cells a few steps on, and the rows around them
                    ahead = np.int64(keys[j + _FLOOD_AHEAD] & low_mask)
                    _prefetch(flat_fdir, ahead)
                    if nc <= ahead < size - nc:
                        for k in (-nc, 0, nc):
                            _prefetch(flat_z, ahead + k)
                        _prefetch(flat_fdir, ahead - nc)
                        _prefetch(flat_fdir, ahead + nc)
                cell = np.int64(keys[np.uint64(j)] & low_mask)
                if flat_fdir[np.uint64(cell)] == _UNSET:
                    continue  # not reached: the flood can reach it only from below now
                while True:
                    r = cell // nc
                    c = cell - r * nc
                    level = flat_filled[np.uint64(cell)]
                    inside = 0 < r < nr - 1 and 0 < c < nc - 1  # no neighbour off the grid
                    for d in range(8):
                        if not inside:
                            rr = r + _DR[d]
                            cc = c + _DC[d]
                            if rr < 0 or cc < 0 or rr >= nr or cc >= nc:
                                continue
                        n = cell + offset[d]
                        if flat_fdir[np.uint64(n)] != _UNSET:
                            continue
                        zn = flat_z[np.uint64(n)]
                        if np.isnan(zn):
                            continue
                        flat_fdir[np.uint64(n)] = (d + 4) % 8
                        if zn <= level:  # in a depression (or a flat): raise to the spill level
                            flat_filled[np.uint64(n)] = level
                            queue, qhead, qtail = _enqueue(queue, qhead, qtail, n)
                        else:  # taken when the sorted order comes to it
                            flat_filled[np.uint64(n)] = zn
                    if qhead == qtail:
                        break
                    cell = queue[qhead]
                    qhead += 1
        g0 = g1
    return fdir


def _priority_flood(z: np.ndarray, *, in_place: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Fill depressions; return (filled, flood direction). `in_place`: fill `z` itself."""
    if z.size >= 2**32:  # the queue packs the cell index into 32 bits
        raise ParameterError(
            _("The DEM has {size} pixels; at most 2**32 - 1 are supported.").format(size=z.size)
        )
    if not z.flags.c_contiguous:  # the kernel indexes the grids as flat views
        z = np.ascontiguousarray(z)
    filled = z if in_place else np.empty(z.shape, dtype=np.float32)
    return filled, _priority_flood_kernel(z, filled)


@numba.njit(cache=True, inline="always")
def _lower_mask(filled: np.ndarray, r: int, c: int) -> int:
    """Bit d set for each neighbour d of (r, c) on the grid and lower than it (none for NaN)."""
    nr, nc = filled.shape
    zc = filled[r, c]
    inside = 0 < r < nr - 1 and 0 < c < nc - 1  # no neighbour off the grid
    mask = 0
    for d in range(8):
        rr = r + _DR[d]
        cc = c + _DC[d]
        if not inside and (rr < 0 or cc < 0 or rr >= nr or cc >= nc):
            continue
        if filled[rr, cc] < zc:  # False for NaN
            mask |= 1 << d
    return mask


@numba.njit(cache=True, inline="always")
def _has_lower(filled: np.ndarray, r: int, c: int) -> bool:
    return _lower_mask(filled, r, c) != 0


@numba.njit(cache=True, inline="always")
def _off_or_nodata(filled: np.ndarray, r: int, c: int) -> bool:
    """True if a neighbour of (r, c) is off the grid or without data."""
    nr, nc = filled.shape
    for d in range(8):
        rr = r + _DR[d]
        cc = c + _DC[d]
        if rr < 0 or cc < 0 or rr >= nr or cc >= nc or np.isnan(filled[rr, cc]):
            return True
    return False


#: A flat's cell is kept as (row << 32) | column, no division to find its row; the sign
#: bit flags a drain (a cell with a lower neighbour), found as the flat is grown.
_COLUMN_BITS: Final = 0xFFFFFFFF
_ROW_BITS: Final = 0x7FFFFFFF


@numba.njit(cache=True, inline="always")
def _bit(bits: np.ndarray, i: int) -> int:
    """Bit `i` of a bit array (eight cells a byte)."""
    return (np.int64(bits[np.uint64(i >> 3)]) >> (i & 7)) & 1


@numba.njit(cache=True, inline="always")
def _set_bit(bits: np.ndarray, i: int, value: int) -> None:
    """Set bit `i` of a bit array when `value` is 1 (no change for 0)."""
    j = np.uint64(i >> 3)
    bits[j] = np.uint8(np.int64(bits[j]) | (value << (i & 7)))


@numba.njit(cache=True)
def _flat_routing(filled: np.ndarray, fdir: np.ndarray, mfd: bool) -> int:
    """Route flow across flats by distance to their drains, as pygeoprocessing 2.4; `fdir` in place.

    The rule of ``pygeoprocessing.routing.flow_dir_d8`` and ``flow_dir_mfd`` (2.4.11,
    used by InVEST SDR 3.20.2), restated:

    1. Cells are scanned in blocks of :data:`_INVEST_BLOCK` x :data:`_INVEST_BLOCK`
       pixels, block rows top to bottom, blocks left to right, rows within a block. The
       first cell met without a lower neighbour starts its flat: the 8-connected
       region of cells of exactly its height, grown breadth-first from it, neighbours
       visited E, NE, N, NW, W, SW, S, SE.
    2. The region's drains, in the order the growth reached them, are its cells with a
       lower neighbour; when it has none, its cells next to no-data or the grid edge
       (their flow leaves the grid).
    3. Distances (1 to a side, sqrt(2) to a corner, summed in float64 along the path)
       spread from the drains through a first-in-first-out queue; a cell takes a new
       distance, and is queued again, only when it is strictly shorter. For D8 the
       cell then points to the cell the distance came through (code 0-7 in `fdir`),
       so of two paths of equal length the first found wins; a drain next to no-data
       gets :data:`_OUTLET`.
    4. For MFD, each cell that is not a drain sends its flow to every region neighbour
       of strictly smaller distance, weighted 1 (side) or 1/sqrt(2) (corner):
       `fdir` holds the bit mask of those neighbours (0 for a drain next to no-data).

    `fdir` holds the flood's directions on entry (each cell towards the cell the flood
    reached it from, which is not higher): cells below that one are no flat's.

    The growth and the distances take a cell off the grid's edge without a branch per
    neighbour (which neighbours are flat, or shorter, is hard to predict, and a
    mispredicted branch costs more than the work it skips): same cells, same order,
    same sums as with one. With cells kept as (row << 32) | column (no division),
    unsigned indices and buffers reused from flat to flat, a third of the time of the
    branching form at 4000² (see :func:`_grow_some` and :func:`_spread_some`).

    Returns the number of flat cells that are not drains.
    """
    nr, nc = filled.shape
    flat_f = filled.ravel()
    flat_d = fdir.ravel()
    offset = _DR * nc + _DC  # of a neighbour's flat index
    # a bit a cell, set once in a flat (a byte a cell took 5-10 % less time, but raised
    # the peak memory of D8 soil loss at 4000² by 47 MB, above half of InVEST's)
    done = np.zeros((nr * nc + 7) // 8, dtype=np.uint8)
    region = np.empty(256, dtype=np.int64)
    queue = np.empty(256, dtype=np.int64)
    dist = np.empty(256, dtype=np.float64)
    via = np.empty(256, dtype=np.uint8)
    n_flat = 0
    # hot indices are cast to np.uint64: numba then tests none for a negative index
    for tr in range(0, nr, _INVEST_BLOCK):
        for tc in range(0, nc, _INVEST_BLOCK):
            c1 = min(tc + _INVEST_BLOCK, nc)
            for r0 in range(tr, min(tr + _INVEST_BLOCK, nr)):
                row = r0 * nc
                for c0 in range(tc, c1):
                    cell0 = np.uint64(row + c0)
                    if _bit(done, np.int64(cell0)):
                        continue
                    h = flat_f[cell0]
                    if np.isnan(h):
                        continue
                    # most cells are below the cell the flood reached them from: one read
                    p = flat_d[cell0]
                    if p < 8 and flat_f[np.uint64(np.int64(cell0) + offset[p])] < h:
                        continue
                    if _has_lower(filled, r0, c0):
                        continue
                    region, queue, dist, via, n = _route_flat(
                        filled, fdir, mfd, r0, c0, done, region, queue, dist, via
                    )
                    n_flat += n
    return n_flat


@numba.njit(cache=True)
def _route_flat(  # noqa: PLR0917
    filled: np.ndarray,
    fdir: np.ndarray,
    mfd: bool,
    r0: int,
    c0: int,
    done: np.ndarray,
    region: np.ndarray,
    queue: np.ndarray,
    dist: np.ndarray,
    via: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Route the flat of (r0, c0); see :func:`_flat_routing`. Returns its work buffers.

    `dist` and `via` (distance, and D8 code of the cell it came through) are kept on
    the region's bounding box padded by one cell, NaN off the region: a neighbour off
    the region (or the grid) is then never nearer or shorter, and needs no test of its
    height or position. The buffers are reused from flat to flat (most flats are small).
    """
    nc = filled.shape[1]
    flat_d = fdir.ravel()
    region, size, rmin, rmax, cmin, cmax = _grow_flat(filled, r0, c0, done, region)
    width = cmax - cmin + 3
    area = (rmax - rmin + 3) * width
    if dist.size < area:
        dist = np.empty(area, dtype=np.float64)
        via = np.empty(0 if mfd else area, dtype=np.uint8)
    dist[:area] = np.nan
    if queue.size < size + 8:
        queue = np.empty(max(size + 8, 2 * queue.size), dtype=np.int64)
    origin = (rmin - 1) * width + cmin - 1  # box index = row * width + column - origin
    # drains: cells with a lower neighbour, in the order they were reached
    qsize = 0
    for k in range(size):
        e = region[k]
        here = np.uint64(((e >> 32) & _ROW_BITS) * width + (e & _COLUMN_BITS) - origin)
        dist[here] = 0.0 if e < 0 else np.inf
        queue[np.uint64(qsize)] = here
        qsize += np.int64(e < 0)
    if qsize == 0:  # none: the cells next to no-data or the edge
        for k in range(size):
            r = (region[k] >> 32) & _ROW_BITS
            c = region[k] & _COLUMN_BITS
            if _off_or_nodata(filled, r, c):
                here = r * width + c - origin
                dist[here] = 0.0
                queue[qsize] = here
                qsize += 1
                fdir[r, c] = 0 if mfd else _OUTLET
    if qsize == 0:  # cannot happen after filling; keep the flood's path
        return region, queue, dist, via, 0
    queue = _spread_flat(dist, via, width, queue, qsize, mfd)
    # D8: the code of the cell each distance came through; MFD: every strictly nearer
    # neighbour of the region. Drains keep their direction.
    n_flat = 0
    for k in range(size):
        r = (region[k] >> 32) & _ROW_BITS
        c = region[k] & _COLUMN_BITS
        here = r * width + c - origin
        own = dist[np.uint64(here)]
        if own == 0.0:
            continue
        n_flat += 1
        if mfd:
            mask = 0
            for d in range(8):  # unrolled by the compiler
                mask |= np.int64(dist[np.uint64(here + _STEP_R[d] * width + _STEP_C[d])] < own) << d
            flat_d[np.uint64(r * nc + c)] = mask
        else:
            flat_d[np.uint64(r * nc + c)] = via[np.uint64(here)]
    return region, queue, dist, via, n_flat


@numba.njit(cache=True)
def _grow_flat(
    filled: np.ndarray, r0: int, c0: int, done: np.ndarray, region: np.ndarray
) -> tuple[np.ndarray, int, int, int, int, int]:
    """The flat of (r0, c0): its cells breadth-first, drains flagged, and its bounding box.

    Returns (region, size, rmin, rmax, cmin, cmax): ``region[:size]`` holds the cells
    as (row << 32) | column, a drain's with the sign bit set; each is marked in `done`.
    The cells are taken by :func:`_grow_some`, which never replaces the list: numba
    then counts no references per cell (5 % less time at 4000²). The box is found
    afterwards, in a pass of its own: fewer values live in the growth's loop.
    """
    nc = filled.shape[1]
    cell0 = r0 * nc + c0
    region[0] = (r0 << 32) | c0
    _set_bit(done, cell0, 1)
    head, size = 0, 1
    while head < size:
        if size + 8 > region.size:
            region = _grow(region)
        head, size = _grow_some(filled, filled[r0, c0], done, region, head, size)
    rmin, rmax, cmin, cmax = r0, r0, c0, c0
    for k in range(size):
        r = (region[k] >> 32) & _ROW_BITS
        c = region[k] & _COLUMN_BITS
        rmin = min(rmin, r)
        rmax = max(rmax, r)
        cmin = min(cmin, c)
        cmax = max(cmax, c)
    return region, size, rmin, rmax, cmin, cmax


@numba.njit(cache=True)
def _grow_some(  # noqa: PLR0917
    filled: np.ndarray,
    h: float,
    done: np.ndarray,
    region: np.ndarray,
    head: int,
    size: int,
) -> tuple[int, int]:
    """Take the flat's cells ``region[head:size]`` while the list has room for eight more.

    Each cell's neighbours of height `h` not yet `done` are appended (and marked),
    and the cell is flagged a drain if one is lower. Returns the new head and size.

    A cell off the grid's edge is taken without a branch per neighbour: each of the
    eight is written after the list's last cell, and the list grows by one only when
    it is of height `h` and not yet done (pygeoprocessing's order kept). Indices are
    np.uint64, for which numba tests no negative (wrap-around) index.
    """
    nr, nc = filled.shape
    flat_f = filled.ravel()
    while head < size and size + 8 <= region.size:
        packed = region[np.uint64(head)]
        head += 1
        r = packed >> 32
        c = packed & _COLUMN_BITS
        lower = 0
        if 0 < r < nr - 1 and 0 < c < nc - 1:
            cell = r * nc + c
            for k in range(8):  # unrolled by the compiler
                d = _INVEST_STEPS[k]
                n = np.uint64(cell + _STEP_R[d] * nc + _STEP_C[d])
                v = flat_f[n]
                lower |= np.int64(v < h)  # False for NaN
                seen = _bit(done, np.int64(n))
                take = np.int64(v == h) & (seen ^ 1)
                _set_bit(done, np.int64(n), take)
                region[np.uint64(size)] = ((r + _STEP_R[d]) << 32) | (c + _STEP_C[d])
                size += take
        else:
            for k in range(8):
                d = _INVEST_ORDER[k]
                rr = r + _DR[d]
                cc = c + _DC[d]
                if rr < 0 or cc < 0 or rr >= nr or cc >= nc:
                    continue
                v = filled[rr, cc]
                if v < h:  # False for NaN
                    lower = 1
                n = rr * nc + cc
                if v != h or _bit(done, n):
                    continue
                _set_bit(done, n, 1)
                region[size] = (rr << 32) | cc
                size += 1
        region[head - 1] = packed | (lower << 63)
    return head, size


@numba.njit(cache=True)
def _spread_flat(  # noqa: PLR0917
    dist: np.ndarray, via: np.ndarray, width: int, queue: np.ndarray, qsize: int, mfd: bool
) -> np.ndarray:
    """Spread distances from the drains ``queue[:qsize]`` over a flat's box; returns the queue.

    Label-correcting, first in first out: a neighbour takes a distance only when it
    is strictly shorter, and is then queued (again); for D8 `via` keeps the code of
    the cell it came through. The cells are taken by :func:`_spread_some`, which
    never replaces the queue (no reference counting per cell); here room is made
    (:func:`_make_room`) when the queue has none for eight more.
    """
    head = 0
    while head < qsize:
        if qsize + 8 > queue.size:
            queue, head, qsize = _make_room(queue, head, qsize, 8)
        head, qsize = _spread_some(dist, via, width, queue, head, qsize, mfd)
    return queue


@numba.njit(cache=True)
def _spread_some(  # noqa: PLR0917
    dist: np.ndarray,
    via: np.ndarray,
    width: int,
    queue: np.ndarray,
    head: int,
    qsize: int,
    mfd: bool,
) -> tuple[int, int]:
    """Take the cells ``queue[head:qsize]`` while the queue has room for eight more.

    Returns the new head and end. Each neighbour is written without a branch: the
    smaller distance, and the queue's end, which moves by one only when it was
    shorter. Indices are np.uint64, for which numba tests no negative index.
    """
    while head < qsize and qsize + 8 <= queue.size:
        here = queue[np.uint64(head)]
        head += 1
        base = dist[np.uint64(here)]
        for k in range(8):  # unrolled by the compiler
            d = _INVEST_STEPS[k]
            there = np.uint64(here + _STEP_R[d] * width + _STEP_C[d])
            nd = base + (1.0 if d % 2 == 0 else _SQRT2)
            was = dist[there]
            shorter = was > nd  # False off the region (NaN)
            dist[there] = nd if shorter else was
            if not mfd:  # written to the box's corner (padding, no cell's) if not shorter
                via[there if shorter else np.uint64(0)] = np.uint8((d + 4) % 8)
            queue[np.uint64(qsize)] = there
            qsize += np.int64(shorter)
    return head, qsize


@numba.njit(cache=True)
def _d8_cell(filled: np.ndarray, fdir: np.ndarray, r: int, c: int) -> int:
    """:func:`_d8_directions`'s code for (r, c), any cell (the grid's edge too)."""
    nr, nc = filled.shape
    zc = np.float64(filled[r, c])  # float64 differences, as pygeoprocessing
    if np.isnan(zc):
        return _UNSET
    best = 0.0
    best_d = -1
    for k in range(8):  # InVEST's order (E, NE, N, ...): the same choice on ties
        d = _INVEST_ORDER[k]
        rr = r + _DR[d]
        cc = c + _DC[d]
        if rr < 0 or cc < 0 or rr >= nr or cc >= nc:
            continue
        zn = np.float64(filled[rr, cc])
        if np.isnan(zn):
            continue
        drop = (zc - zn) * _INV_DIST[d]
        if drop > best:
            best = drop
            best_d = d
    return best_d if best_d >= 0 else fdir[r, c]


#: 1/sqrt(2), as in :data:`_INV_DIST`: divides a corner's drop into a slope, and weighs
#: a flat cell's flow to a corner.
_INV_SQRT2: Final = 1.0 / math.sqrt(2.0)
#: Added to the count of donors of a cell on the grid's edge (the MFD accumulation).
_ON_EDGE: Final = 16


@numba.njit(cache=True, inline="always")
def _steeper(drop: float, code: int, best: float, best_d: int) -> tuple[float, int]:
    """`drop` and `code` if `drop` is above `best` (never for NaN), else the best so far."""
    better = drop > best
    return (drop if better else best), (code if better else best_d)


@numba.njit(cache=True, parallel=True)
def _d8_directions(filled: np.ndarray, fdir: np.ndarray) -> np.ndarray:
    """Steepest-descent neighbour where one is lower; the flat routing elsewhere (in place).

    A cell off the grid's edge takes its eight drops in InVEST's order (E, NE, N, NW, W,
    SW, S, SE: the first of equal drops wins) without a branch: a select keeps the
    steeper, and a NaN neighbour's drop, being NaN, is never steeper, as when
    :func:`_d8_cell` skips it. The row then compiles to vector instructions.
    """
    nr, nc = filled.shape
    out = fdir
    for r in numba.prange(nr):
        if r == 0 or r == nr - 1 or nc < 3:
            for c in range(nc):
                out[r, c] = _d8_cell(filled, fdir, r, c)
            continue
        up = filled[r - 1]
        row = filled[r]
        down = filled[r + 1]
        codes = out[r]
        codes[0] = _d8_cell(filled, fdir, r, 0)
        codes[nc - 1] = _d8_cell(filled, fdir, r, nc - 1)
        for c in range(1, nc - 1):
            zc = np.float64(row[c])
            best, best_d = _steeper((zc - np.float64(row[c + 1])) * 1.0, 2, 0.0, -1)
            best, best_d = _steeper((zc - np.float64(up[c + 1])) * _INV_SQRT2, 1, best, best_d)
            best, best_d = _steeper((zc - np.float64(up[c])) * 1.0, 0, best, best_d)
            best, best_d = _steeper((zc - np.float64(up[c - 1])) * _INV_SQRT2, 7, best, best_d)
            best, best_d = _steeper((zc - np.float64(row[c - 1])) * 1.0, 6, best, best_d)
            best, best_d = _steeper((zc - np.float64(down[c - 1])) * _INV_SQRT2, 5, best, best_d)
            best, best_d = _steeper((zc - np.float64(down[c])) * 1.0, 4, best, best_d)
            best, best_d = _steeper((zc - np.float64(down[c + 1])) * _INV_SQRT2, 3, best, best_d)
            code = best_d if best_d >= 0 else codes[c]
            codes[c] = _UNSET if np.isnan(zc) else code
    return out


def _state_bytes(shape: tuple[int, int]) -> int:
    """Bytes of a grid of two-bit states (four cells a byte)."""
    return (shape[0] * shape[1] + 3) // 4


@numba.njit(cache=True, inline="always")
def _get2(state: np.ndarray, cell: int) -> int:
    return (state[cell >> 2] >> ((cell & 3) << 1)) & 3


@numba.njit(cache=True, inline="always")
def _set2(state: np.ndarray, cell: int, value: int) -> None:
    shift = (cell & 3) << 1
    state[cell >> 2] = (state[cell >> 2] & ~(3 << shift)) | (value << shift)


@numba.njit(cache=True)
def _streams_of_state(state: np.ndarray, out: np.ndarray) -> None:
    """`out` (bool, the grid) True where `state` is 1 (a stream)."""
    flat = out.ravel()
    for i in range(flat.size):
        flat[i] = _get2(state, i) == 1


@numba.njit(cache=True)
def _nan_on_streams(state: np.ndarray, values: np.ndarray) -> None:
    """Set `values` (the grid) NaN where `state` is 1 (a stream), in place."""
    flat = values.ravel()
    for i in range(flat.size):
        if _get2(state, i) == 1:
            flat[i] = np.nan


@numba.njit(cache=True)
def _streams_mfd_kernel(
    receivers: np.ndarray,
    acc: np.ndarray,
    threshold: float,
    trace_threshold: float,
    state: np.ndarray,
) -> None:
    """Streams traced upstream from the grid's outlets; see :func:`stream_mask`.

    `receivers` holds each cell's MFD receivers as a bit mask (bit d: neighbour d, N
    clockwise, has a weight above 0), as :func:`_accumulate_mfd` leaves it; a cell
    with none is an outlet. `state` (zeros, :func:`_state_bytes` long) holds two bits
    per cell: 1 on streams, 2 on cells below the threshold but above `trace_threshold`
    while tracing (a 2 becomes 1 when a stream cell is found upstream of it), 0 elsewhere.

    No-data is known by its accumulation (0 or NaN), below any trace threshold (at
    least 0.7 pixels), so that the filled DEM is not read. Outlets are few: a row of
    a block is searched for one in a single pass without branches (a vector loop)
    before its cells are taken one by one.
    """
    nr, nc = receivers.shape
    front = np.empty(1024, dtype=np.int64)
    back = np.empty(1024, dtype=np.int64)
    for tr in range(0, nr, _INVEST_BLOCK):
        for tc in range(0, nc, _INVEST_BLOCK):
            c1 = min(tc + _INVEST_BLOCK, nc)
            for r0 in range(tr, min(tr + _INVEST_BLOCK, nr)):
                acc_row = acc[r0]
                rec_row = receivers[r0]
                outlet = False
                for c in range(tc, c1):
                    outlet |= (np.float64(acc_row[c]) >= threshold) & (rec_row[c] == 0)
                if not outlet:
                    continue
                for c0 in range(tc, c1):
                    a0 = np.float64(acc[r0, c0])
                    if np.isnan(a0) or _get2(state, r0 * nc + c0) != 0:
                        continue
                    if a0 < threshold:
                        continue
                    # an outlet: its flow leaves the grid (a flat next to no-data or the edge)
                    if receivers[r0, c0] != 0:
                        continue
                    _set2(state, r0 * nc + c0, 1)
                    front[0] = r0 * nc + c0
                    head = 0
                    tail = 1
                    while True:
                        head, tail = _trace_upstream(
                            receivers,
                            acc,
                            threshold,
                            trace_threshold,
                            state,
                            front,
                            head,
                            tail,
                            back,
                        )
                        if head == tail:
                            break
                        front, head, tail = _make_room(front, head, tail, 8)


@numba.njit(cache=True)
def _trace_upstream(  # noqa: PLR0917
    receivers: np.ndarray,
    acc: np.ndarray,
    threshold: float,
    trace_threshold: float,
    state: np.ndarray,
    front: np.ndarray,
    head: int,
    tail: int,
    back: np.ndarray,
) -> tuple[int, int]:
    """:func:`_streams_mfd_kernel`'s trace from the cells ``front[head:tail]``, upstream.

    Cells are taken while `front` has room for eight more; returns (head, tail), with
    head < tail when it has not. Neither queue is replaced here (`back` is grown, when
    it must be, by :func:`_streams_below_grown`): numba then counts no reference to
    them per cell (40 % less time at 4000²).
    """
    nr, nc = receivers.shape
    while head < tail and tail + 8 <= front.size:
        cell = front[head]
        head += 1
        r = cell // nc
        c = cell - r * nc
        for k in range(8):
            d = _INVEST_ORDER[k]
            rr = r + _DR[d]
            cc = c + _DC[d]
            if rr < 0 or cc < 0 or rr >= nr or cc >= nc:
                continue
            if not receivers[rr, cc] & (1 << ((d + 4) % 8)):
                continue  # does not flow into (r, c)
            if _get2(state, rr * nc + cc) != 0:
                continue  # already traced
            a = np.float64(acc[rr, cc])
            if a >= threshold:
                _set2(state, rr * nc + cc, 1)
                front[tail] = rr * nc + cc
                tail += 1
                _streams_below(receivers, state, rr * nc + cc, back)
            elif a >= trace_threshold:
                _set2(state, rr * nc + cc, 2)
                front[tail] = rr * nc + cc
                tail += 1
    return head, tail


@numba.njit(cache=True, inline="always")
def _release_below(
    receivers: np.ndarray, state: np.ndarray, b: int, queue: np.ndarray, tail: int
) -> int:
    """Mark 1 the receivers of `b` marked 2, appending them to `queue` (room for 8)."""
    nr, nc = receivers.shape
    br = b // nc
    bc = b - br * nc
    mask = receivers[br, bc]
    for j in range(8):
        d2 = _INVEST_ORDER[j]
        if not mask & (1 << d2):
            continue
        sr = br + _DR[d2]
        sc = bc + _DC[d2]
        if sr < 0 or sc < 0 or sr >= nr or sc >= nc:
            continue
        if _get2(state, sr * nc + sc) == 2:
            _set2(state, sr * nc + sc, 1)
            queue[tail] = sr * nc + sc
            tail += 1
    return tail


@numba.njit(cache=True)
def _streams_below(receivers: np.ndarray, state: np.ndarray, start: int, back: np.ndarray) -> None:
    """The cells marked 2 below the new stream cell `start` are stream cells after all.

    Breadth-first in `back`, which is not replaced: when it has no room for eight more,
    :func:`_streams_below_grown` goes on with a copy that grows.
    """
    back[0] = start
    bh = 0
    bt = 1
    while bh < bt:
        if bt + 8 > back.size:
            _streams_below_grown(receivers, state, back[bh:bt])
            return
        b = back[bh]
        bh += 1
        bt = _release_below(receivers, state, b, back, bt)


@numba.njit(cache=True)
def _streams_below_grown(receivers: np.ndarray, state: np.ndarray, pending: np.ndarray) -> None:
    """:func:`_streams_below` from the cells `pending` on, in a queue that grows."""
    # at least 1024 long, so that half of it (what _make_room leaves free) holds eight
    queue = np.empty(2 * pending.size + 1024, dtype=np.int64)
    queue[: pending.size] = pending
    head = 0
    tail = pending.size
    while head < tail:
        if tail + 8 > queue.size:
            queue, head, tail = _make_room(queue, head, tail, 8)
        b = queue[head]
        head += 1
        tail = _release_below(receivers, state, b, queue, tail)


# Accumulation visits cells in a topological order found by Kahn's algorithm: count each
# cell's donors, start from cells without donors in raster order, and follow flow
# downstream with a stack, releasing a receiver once all its donors are done. Successive
# cells are neighbours, so memory is read in order, and no sorted list of cells is kept.


@numba.njit(cache=True, inline="always")
def _d8_donors(dirs: np.ndarray, r: int, c: int) -> int:
    """Neighbours of (r, c) whose direction code (low four bits) points to it, any cell."""
    nr, nc = dirs.shape
    n = 0
    for d in range(8):
        rr = r - _DR[d]
        cc = c - _DC[d]
        if 0 <= rr < nr and 0 <= cc < nc and (dirs[rr, cc] & 15) == d:
            n += 1
    return n


@numba.njit(cache=True)
def _count_d8_donors(dirs: np.ndarray, counts: np.ndarray) -> None:
    """Add each cell's count of donors, times 16, to its direction code (`dirs` in place).

    Each cell counts the neighbours whose code points to it (their low four bits: the
    counts added to the row above leave them alone); off the grid's edge, eight
    comparisons summed without a branch, which compile to vector instructions. (Each
    cell adding 16 to its receiver's code was a branch and a store to memory a cell.)
    `counts` is one row of scratch (uint8).
    """
    nr, nc = dirs.shape
    for r in range(nr):
        if r == 0 or r == nr - 1 or nc < 3:
            for c in range(nc):
                counts[c] = _d8_donors(dirs, r, c)
        else:
            up = dirs[r - 1]
            row = dirs[r]
            down = dirs[r + 1]
            counts[0] = _d8_donors(dirs, r, 0)
            counts[nc - 1] = _d8_donors(dirs, r, nc - 1)
            for c in range(1, nc - 1):  # the neighbour's code that points here: SE, S, SW, ...
                counts[c] = (
                    np.uint8((up[c - 1] & 15) == 3)
                    + np.uint8((up[c] & 15) == 4)
                    + np.uint8((up[c + 1] & 15) == 5)
                    + np.uint8((row[c - 1] & 15) == 2)
                    + np.uint8((row[c + 1] & 15) == 6)
                    + np.uint8((down[c - 1] & 15) == 1)
                    + np.uint8((down[c] & 15) == 0)
                    + np.uint8((down[c + 1] & 15) == 7)
                )
        row = dirs[r]
        for c in range(nc):
            row[c] += counts[c] << 4


@numba.njit(cache=True)
def _accumulate_d8(dirs: np.ndarray, acc: np.ndarray, cap: float = np.inf) -> np.ndarray:
    """Accumulate into `acc` (zeros, the grid's shape); 0 at no-data.

    `acc` is float32 or float64, or an unsigned integer type with `cap` its largest
    value: sums above it are kept at `cap` (exact below, and still above any threshold
    under it). Both grids C-contiguous (walked as flat views).

    A cell's count of donors (0-8) is kept in the high four bits of its direction code
    (0-8 for a cell with data), so no grid of counts is made; `dirs` is as given on
    return (each count is back to 0 when the cell is done). Each row's sources are listed
    before they are walked, and a walk carries the sum it just stored to the next cell
    instead of reading it back (fewer mispredicted branches, fewer loads).
    """
    nc = dirs.shape[1]
    if nc == 0:
        return acc
    _count_d8_donors(dirs, np.empty(nc, dtype=np.uint8))
    flat_d = dirs.ravel()
    flat_a = acc.ravel()
    step = np.array([-nc, 1 - nc, 1, nc + 1, nc, nc - 1, -1, -nc - 1])  # _DR * nc + _DC
    sources = np.empty(nc, dtype=np.int64)
    for row in range(0, flat_d.size, nc):
        # the row's cells without donors and not yet reached (a cell whose last donor is
        # done is walked at once): its sources, listed without a branch, in raster order;
        # a walk never enters a source, so the list stays true while they are walked
        k = 0
        for j in range(row, row + nc):
            code = flat_d[j]
            sources[k] = j
            k += (code < 16) & (code != _UNSET) & (flat_a[j] == 0.0)
        for i in range(k):
            cell = sources[i]
            here = flat_a[cell]
            while True:  # walk downstream while each receiver has no donor left
                flat_a[cell] = min(here + 1.0, cap)
                done = flat_a[cell]  # (as stored: the compiler keeps it in a register)
                d = flat_d[cell]
                if d >= 8:
                    break
                cell += step[d]
                flat_a[cell] = min(flat_a[cell] + done, cap)
                here = flat_a[cell]
                flat_d[cell] -= 16
                if flat_d[cell] >= 16:
                    break
    return acc


@numba.njit(cache=True, inline="always")
def _mfd_shares(  # noqa: PLR0917
    filled: np.ndarray,
    fdir: np.ndarray,
    r: int,
    c: int,
    exponent: float,
    four_bit: bool,
    weights: np.ndarray,
) -> float:
    """Weights of the flow of (r, c) to its neighbours (index 0-7, N clockwise); their sum.

    Lower neighbours share by ``drop ** exponent`` (drop = height difference over 1 or
    sqrt(2) pixels); a cell without one uses the flat routing's bit mask (weights 1 and
    1/sqrt(2)). With `four_bit`, each weight becomes ``int(0.5 + 15 * w / sum)``, the
    4-bit integers pygeoprocessing's ``flow_dir_mfd`` stores and its accumulation and
    stream extraction read (weights below 1/30 of the sum become 0). A sum of 0: the
    flow leaves the grid (a flat that drains to no-data or the edge).
    """
    nr, nc = filled.shape
    zc = np.float64(filled[r, c])
    total = 0.0
    inside = 0 < r < nr - 1 and 0 < c < nc - 1  # no neighbour off the grid
    for k in range(8):  # pygeoprocessing's order, so that sums round the same way
        d = _INVEST_ORDER[k]
        rr = r + _DR[d]
        cc = c + _DC[d]
        if not inside and (rr < 0 or cc < 0 or rr >= nr or cc >= nc):
            weights[d] = 0.0
            continue
        zn = np.float64(filled[rr, cc])
        # a select, not a branch (which neighbours are lower is hard to predict);
        # adding 0.0 leaves the sum as it is
        w = (zc - zn) * _INV_DIST[d] if zn < zc else 0.0  # 0 for NaN
        if exponent != 1.0 and w > 0.0:  # pow is costly: skip it for p = 1
            w = w**exponent
        weights[d] = w
        total += w
    if total == 0.0:
        mask = fdir[r, c]
        if mask == 0:
            return 0.0
        for k in range(8):
            d = _INVEST_ORDER[k]
            if mask & (1 << d):
                weights[d] = _INV_DIST[d]
                total += _INV_DIST[d]
    if four_bit:
        q_total = 0.0
        for d in range(8):
            if weights[d] == 0.0:  # int(0.5 + 0 / total * 15) = 0: no division
                continue
            q = np.float64(int(0.5 + weights[d] / total * 15.0))
            weights[d] = q
            q_total += q
        total = q_total
    return total


@numba.njit(cache=True)
def _count_mfd_donors(filled: np.ndarray, fdir: np.ndarray, donors: np.ndarray) -> None:
    """Count each cell's donors along every edge that may carry flow (a byte a cell).

    `donors` (uint8, the grid's shape) gets each cell's count (0-8), plus
    :data:`_ON_EDGE` for a cell on the grid's edge (first or last row or column). The
    edges go to each lower neighbour (no weight is computed: an edge whose weight
    turns out 0 carries 0), else along the flat routing's mask, which a flat's cell
    keeps in `fdir`; each cell's edges are left in `fdir` as a bit mask (0 at no-data).

    Two passes a row, each a vector loop off the grid's edge: the edges of every cell
    from its eight neighbours' heights, then the donors of every cell from its eight
    neighbours' edges (a neighbour is a donor when its edge to the cell is set).
    Gathering the donors instead of adding one to each receiver took a sixth of the
    time at 4000² (0.021 s against 0.131 s).
    """
    nr, nc = filled.shape
    for r in range(nr):
        codes = fdir[r]
        if r == 0 or r == nr - 1 or nc < 3:
            for c in range(nc):
                codes[c] = _edges_of(filled, fdir, r, c)
            continue
        up = filled[r - 1]
        row = filled[r]
        down = filled[r + 1]
        codes[0] = _edges_of(filled, fdir, r, 0)
        codes[nc - 1] = _edges_of(filled, fdir, r, nc - 1)
        for c in range(1, nc - 1):
            zc = row[c]
            lower = (
                np.int64(up[c] < zc)
                | (np.int64(up[c + 1] < zc) << 1)
                | (np.int64(row[c + 1] < zc) << 2)
                | (np.int64(down[c + 1] < zc) << 3)
                | (np.int64(down[c] < zc) << 4)
                | (np.int64(down[c - 1] < zc) << 5)
                | (np.int64(row[c - 1] < zc) << 6)
                | (np.int64(up[c - 1] < zc) << 7)
            )
            edges = lower if lower != 0 else np.int64(codes[c])
            codes[c] = np.uint8(0 if np.isnan(zc) else edges)
    for r in range(nr):
        count = donors[r]
        if r == 0 or r == nr - 1 or nc < 3:
            for c in range(nc):
                count[c] = _donors_of(fdir, r, c) + _ON_EDGE
        else:
            up = fdir[r - 1]
            row = fdir[r]
            down = fdir[r + 1]
            count[0] = _donors_of(fdir, r, 0) + _ON_EDGE
            count[nc - 1] = _donors_of(fdir, r, nc - 1) + _ON_EDGE
            for c in range(1, nc - 1):  # neighbour d is a donor if its edge d + 4 is set
                count[c] = np.uint8(
                    ((up[c] >> 4) & 1)
                    + ((up[c + 1] >> 5) & 1)
                    + ((row[c + 1] >> 6) & 1)
                    + ((down[c + 1] >> 7) & 1)
                    + (down[c] & 1)
                    + ((down[c - 1] >> 1) & 1)
                    + ((row[c - 1] >> 2) & 1)
                    + ((up[c - 1] >> 3) & 1)
                )


@numba.njit(cache=True)
def _edges_of(filled: np.ndarray, fdir: np.ndarray, r: int, c: int) -> int:
    """The edges of (r, c), any cell: its lower neighbours, else its flat mask; 0 at no-data."""
    if np.isnan(filled[r, c]):
        return 0
    mask = _lower_mask(filled, r, c)
    return mask if mask != 0 else np.int64(fdir[r, c])


@numba.njit(cache=True)
def _donors_of(fdir: np.ndarray, r: int, c: int) -> int:
    """How many neighbours of (r, c), any cell, have an edge to it (`fdir`: edges)."""
    nr, nc = fdir.shape
    n = 0
    for d in range(8):
        rr = r + _DR[d]
        cc = c + _DC[d]
        if 0 <= rr < nr and 0 <= cc < nc:
            n += (np.int64(fdir[rr, cc]) >> ((d + 4) % 8)) & 1
    return n


@numba.njit(cache=True, inline="always")
def _drop(zc: float, zn: float) -> float:
    """Height drop to a lower neighbour, else 0 (also for NaN): a select, not a branch."""
    d = zc - zn
    return d if d > 0.0 else 0.0


@numba.njit(cache=True, inline="always")
def _power(w: float, exponent: float) -> float:
    """``w ** exponent`` for a weight above 0, else `w` (0)."""
    return w**exponent if w > 0.0 else w


@numba.njit(cache=True, inline="always")
def _four_bit(w: float, total: float) -> float:
    """The 4-bit MFD weight pygeoprocessing gives `w` out of `total` (0 for 0)."""
    # floor, not int(): the same for a sum >= 0.5, one rounding instruction instead of
    # two conversions (11 % less time in the MFD accumulation at 4000²)
    return np.floor(0.5 + w / total * 15.0)


@numba.njit(cache=True, inline="always")
def _interior_shares(  # noqa: PLR0917
    flat_f: np.ndarray, cell: int, nc: int, edges: int, exponent: float, four_bit: bool
) -> tuple[float, float, float, float, float, float, float, float, float]:
    """:func:`_mfd_shares` of a cell off the grid's edge, as eight numbers and their sum.

    The same values, summed in the same order, without an array or a branch per
    neighbour: which neighbours are lower is hard to predict, and a mispredicted
    branch costs more than the arithmetic it skips (a power among the drops, even
    behind a test of the exponent, made the compiler branch on each neighbour: 6 %
    more time at 4000²). `edges` is the cell's flat mask (used when no neighbour is
    lower). Indices are np.uint64, for which numba tests no negative (wrap-around) index.
    """
    zc = np.float64(flat_f[np.uint64(cell)])
    n = cell - nc
    s = cell + nc
    w0 = _drop(zc, np.float64(flat_f[np.uint64(n)]))
    w1 = _drop(zc, np.float64(flat_f[np.uint64(n + 1)])) * _INV_SQRT2
    w2 = _drop(zc, np.float64(flat_f[np.uint64(cell + 1)]))
    w3 = _drop(zc, np.float64(flat_f[np.uint64(s + 1)])) * _INV_SQRT2
    w4 = _drop(zc, np.float64(flat_f[np.uint64(s)]))
    w5 = _drop(zc, np.float64(flat_f[np.uint64(s - 1)])) * _INV_SQRT2
    w6 = _drop(zc, np.float64(flat_f[np.uint64(cell - 1)]))
    w7 = _drop(zc, np.float64(flat_f[np.uint64(n - 1)])) * _INV_SQRT2
    if exponent != 1.0:  # once a cell, so that the drops above stay selects
        w0 = _power(w0, exponent)
        w1 = _power(w1, exponent)
        w2 = _power(w2, exponent)
        w3 = _power(w3, exponent)
        w4 = _power(w4, exponent)
        w5 = _power(w5, exponent)
        w6 = _power(w6, exponent)
        w7 = _power(w7, exponent)
    total = 0.0 + w2 + w1 + w0 + w7 + w6 + w5 + w4 + w3  # pygeoprocessing's order
    if total == 0.0:  # a flat's cell: the flat routing's neighbours
        w0 = 1.0 if edges & 1 else 0.0
        w1 = _INV_SQRT2 if edges & 2 else 0.0
        w2 = 1.0 if edges & 4 else 0.0
        w3 = _INV_SQRT2 if edges & 8 else 0.0
        w4 = 1.0 if edges & 16 else 0.0
        w5 = _INV_SQRT2 if edges & 32 else 0.0
        w6 = 1.0 if edges & 64 else 0.0
        w7 = _INV_SQRT2 if edges & 128 else 0.0
        total = 0.0 + w2 + w1 + w0 + w7 + w6 + w5 + w4 + w3
    if four_bit and total > 0.0:
        w0 = _four_bit(w0, total)
        w1 = _four_bit(w1, total)
        w2 = _four_bit(w2, total)
        w3 = _four_bit(w3, total)
        w4 = _four_bit(w4, total)
        w5 = _four_bit(w5, total)
        w6 = _four_bit(w6, total)
        w7 = _four_bit(w7, total)
        total = ((w0 + w1) + (w2 + w3)) + ((w4 + w5) + (w6 + w7))  # whole numbers: exact
    return w0, w1, w2, w3, w4, w5, w6, w7, total


@numba.njit(cache=True)
def _accumulate_mfd(
    filled: np.ndarray, fdir: np.ndarray, exponent: float, four_bit: bool, acc: np.ndarray
) -> np.ndarray:
    """Accumulate into `acc` (zeros, float32 or float64, the grid's shape); 0 at no-data.

    Each cell's count of donors (0-8) takes a byte, with :data:`_ON_EDGE` added on the
    grid's edge, and the stack holds cell indices. On return `fdir` holds every cell's
    receivers as a bit mask (bit d: a weight above 0 to neighbour d), which
    :func:`_streams_mfd_kernel` traces streams with.

    A cell off the grid's edge (nearly all) is taken without a branch per neighbour:
    each of the eight gets its share (0 when it is no receiver), loses a donor when
    it is one, and is pushed by moving the stack's top only when that was its last
    donor. The cells are taken in the same order, and the sums are the same, as with
    a branch per neighbour; 35 % less time at 4000² (4-bit weights). Its hot indices are
    np.uint64: numba then tests none for a negative index (15 % less again). Counts in
    whole bytes and cell indices on the stack, instead of four bits a count and
    (row << 32) | column, spare a shift and a mask per neighbour: 14 % less again at
    4000² (0.94 s against 1.09 s, the same order and sums), for one byte a cell.
    """
    nr, nc = filled.shape
    weights = np.zeros(8, dtype=np.float64)
    donors = np.empty((nr, nc), dtype=np.uint8)
    _count_mfd_donors(filled, fdir, donors)
    # Cells are taken when their last donor is done (its weights computed once, then);
    # each then keeps in `fdir` only the receivers its weights give flow to. The stack
    # holds cell indices; a cell's row and column are needed (a division) only on the
    # grid's edge, which the flag in its count tells.
    stack = np.empty(1024, dtype=np.int64)
    cell0 = 0
    top = 0
    while True:
        cell0, top = _mfd_walk(
            filled, fdir, donors, exponent, four_bit, acc, weights, stack, cell0, top
        )
        if top == 0:
            return acc
        stack = _grow(stack)


# numpy's error model: no test of each divisor for zero (a divisor here is never 0 where
# it is used).
@numba.njit(cache=True, error_model="numpy")
def _mfd_walk(  # noqa: PLR0912, PLR0915, PLR0917
    filled: np.ndarray,
    fdir: np.ndarray,
    donors: np.ndarray,
    exponent: float,
    four_bit: bool,
    acc: np.ndarray,
    weights: np.ndarray,
    stack: np.ndarray,
    cell0: int,
    top: int,
) -> tuple[int, int]:
    """:func:`_accumulate_mfd`'s walk: the cells on ``stack[:top]``, then the sources.

    Sources (cells without donors, not yet done) are looked for from `cell0` on, in
    raster order. Returns (cell0, top): with top > 0 when the stack has no room for
    a cell's eight receivers (the caller grows it and calls again), 0 when every cell
    is done. The stack is never replaced here: numba then counts no reference to it
    per cell (3 % less time at 4000²).
    """
    nc = filled.shape[1]
    flat_f = filled.ravel()
    flat_a = acc.ravel()
    flat_d = fdir.ravel()
    flat_n = donors.ravel()
    size = flat_f.size
    while True:
        while top > 0:
            if top + 7 > stack.size:
                return cell0, top
            top -= 1
            cell = stack[top]
            if flat_n[np.uint64(cell)] < _ON_EDGE:
                flat_a[np.uint64(cell)] += 1.0
                a = np.float64(flat_a[np.uint64(cell)])  # the stored (rounded) sum is shared
                edges = np.int64(flat_d[np.uint64(cell)])
                w0, w1, w2, w3, w4, w5, w6, w7, total = _interior_shares(
                    flat_f, cell, nc, edges, exponent, four_bit
                )
                share = a / total if total > 0.0 else 0.0
                mask = 0
                north = cell - nc
                south = cell + nc
                for d in range(8):  # unrolled by the compiler
                    if d == 0:
                        n, w = north, w0
                    elif d == 1:
                        n, w = north + 1, w1
                    elif d == 2:
                        n, w = cell + 1, w2
                    elif d == 3:
                        n, w = south + 1, w3
                    elif d == 4:
                        n, w = south, w4
                    elif d == 5:
                        n, w = south - 1, w5
                    elif d == 6:
                        n, w = cell - 1, w6
                    else:
                        n, w = north - 1, w7
                    flat_a[np.uint64(n)] += share * w  # + 0 where no flow goes
                    mask |= np.int64(w > 0.0) << d
                    edge = (edges >> d) & 1
                    left = np.int64(flat_n[np.uint64(n)]) - edge
                    flat_n[np.uint64(n)] = np.uint8(left)
                    stack[np.uint64(top)] = n
                    top += edge & np.int64((left & 15) == 0)
                flat_d[np.uint64(cell)] = mask
                continue
            r = cell // nc
            c = cell - r * nc
            acc[r, c] += 1.0
            edges = fdir[r, c]
            total = _mfd_shares(filled, fdir, r, c, exponent, four_bit, weights)
            # no weight: a flat's cell draining off the grid (and without edges)
            share = np.float64(acc[r, c]) / total if total > 0.0 else 0.0
            mask = 0
            for d in range(8):
                if edges & (1 << d):
                    rr = r + _DR[d]
                    cc = c + _DC[d]
                    if weights[d] > 0.0:
                        mask |= 1 << d
                        acc[rr, cc] += share * weights[d]
                    donors[rr, cc] -= np.uint8(1)
                    if (donors[rr, cc] & 15) == 0:
                        stack[top] = rr * nc + cc
                        top += 1
            fdir[r, c] = mask
        while cell0 < size and (
            np.isnan(flat_f[cell0]) or (flat_n[cell0] & 15) != 0 or flat_a[cell0] != 0.0
        ):
            cell0 += 1
        if cell0 == size:
            return cell0, 0
        stack[0] = cell0
        top = 1
        cell0 += 1


@numba.njit(cache=True)
def _nan_where_nan(source: np.ndarray, target: np.ndarray) -> None:
    """Set `target` NaN where `source` (the same shape) is NaN, in place."""
    flat_s = source.ravel()
    flat_t = target.ravel()
    for i in range(flat_s.size):
        if np.isnan(flat_s[i]):
            flat_t[i] = np.nan


@numba.njit(cache=True, inline="always")
def _outer_pair(p: float, q: float, mid: float, e: float) -> tuple[float, int]:
    """Difference p - q along an outer row/column of the 3x3 window, and its weight.

    ``p`` and ``q`` are the corners, ``mid`` the cell between them, ``e`` the centre.
    Both corners: (p - q) over 2 cells; one corner and the middle: over 1 cell; one
    corner alone: against the centre, times sqrt(2), over 1 (pygeoprocessing).
    """
    p_ok = not np.isnan(p)
    q_ok = not np.isnan(q)
    m_ok = not np.isnan(mid)
    if p_ok and q_ok:
        return p - q, 2
    if p_ok and m_ok:
        return p - mid, 1
    if m_ok and q_ok:
        return mid - q, 1
    if p_ok:
        return (p - e) * _SQRT2, 1
    if q_ok:
        return (e - q) * _SQRT2, 1
    return 0.0, 0


@numba.njit(cache=True, inline="always")
def _inner_pair(p: float, q: float, e: float) -> tuple[float, int]:
    """Difference p - q across the centre (weight 2), or one-sided against it."""
    p_ok = not np.isnan(p)
    q_ok = not np.isnan(q)
    if p_ok and q_ok:
        return 2.0 * (p - q), 4
    if p_ok:
        return 2.0 * (p - e), 2
    if q_ok:
        return 2.0 * (e - q), 2
    return 0.0, 0


@numba.njit(cache=True, inline="always")
def _row_or_nan(row: np.ndarray, c: int) -> float:
    if c < 0 or c >= row.size:
        return np.nan
    return np.float64(row[c])


@numba.njit(cache=True, inline="always")
def _horn_cell(
    above: np.ndarray, here: np.ndarray, below: np.ndarray, c: int, cell_size: float
) -> float:
    """Horn slope (%) of cell `c` of the row `here`, any window (NaN or off the grid too).

    `above` and `below` are the rows next to it, all NaN beyond the grid's edge.
    """
    e = np.float64(here[c])
    if np.isnan(e):
        return np.nan
    # a b c / d e f / g h i around e = (r, c); NaN off the grid or without data
    a = _row_or_nan(above, c - 1)
    b = _row_or_nan(above, c)
    cc = _row_or_nan(above, c + 1)
    d = _row_or_nan(here, c - 1)
    f = _row_or_nan(here, c + 1)
    g = _row_or_nan(below, c - 1)
    h = _row_or_nan(below, c)
    i = _row_or_nan(below, c + 1)
    x1, wx1 = _outer_pair(a, cc, b, e)
    x2, wx2 = _inner_pair(d, f, e)
    x3, wx3 = _outer_pair(g, i, h, e)
    y1, wy1 = _outer_pair(a, g, d, e)
    y2, wy2 = _inner_pair(b, h, e)
    y3, wy3 = _outer_pair(cc, i, f, e)
    wx = wx1 + wx2 + wx3
    wy = wy1 + wy2 + wy3
    dzdx = (x1 + x2 + x3) / (wx * cell_size) if wx else 0.0
    dzdy = (y1 + y2 + y3) / (wy * cell_size) if wy else 0.0
    return 100.0 * math.sqrt(dzdx * dzdx + dzdy * dzdy)


@numba.njit(cache=True, error_model="numpy")
def _horn_row(
    above: np.ndarray, here: np.ndarray, below: np.ndarray, cell_size: float, out: np.ndarray
) -> None:
    """Horn slope (%) of the row `here` into `out` (float32, one row).

    `above` and `below` are the rows next to it, all NaN beyond the grid's edge. A
    window of nine heights (nearly every cell) takes the full formula in a loop without
    a branch, which the compiler turns into vector instructions (with the numpy error
    model: no test of each divisor for zero); a NaN anywhere in it makes the result NaN,
    and those cells, and the row's two ends, then take the general :func:`_horn_cell`.
    The same operations in the same order, so the same float.
    """
    n = here.size
    span = 8 * cell_size  # the weights of a full window: 2 + 4 + 2, as _horn_cell's
    for c in range(1, n - 1):
        a = np.float64(above[c - 1])
        b = np.float64(above[c])
        cc = np.float64(above[c + 1])
        d = np.float64(here[c - 1])
        f = np.float64(here[c + 1])
        g = np.float64(below[c - 1])
        h = np.float64(below[c])
        i = np.float64(below[c + 1])
        dzdx = ((a - cc) + 2.0 * (d - f) + (g - i)) / span
        dzdy = ((a - g) + 2.0 * (b - h) + (cc - i)) / span
        # (the centre is in no difference: its NaN is tested here)
        ok = not np.isnan(here[c])
        out[c] = 100.0 * math.sqrt(dzdx * dzdx + dzdy * dzdy) if ok else np.nan
    if n == 0:
        return
    out[0] = _horn_cell(above, here, below, 0, cell_size)
    if n > 1:
        out[n - 1] = _horn_cell(above, here, below, n - 1, cell_size)
    for c in range(1, n - 1):
        if np.isnan(out[c]):
            out[c] = _horn_cell(above, here, below, c, cell_size)


@numba.njit(cache=True, inline="always")
def _horn_row_of(
    z: np.ndarray, r: int, edge: np.ndarray, cell_size: float, out: np.ndarray
) -> None:
    """Horn slope of row `r` of `z` into `out`; `edge` is a row of NaN."""
    nr = z.shape[0]
    _horn_row(z[r - 1] if r > 0 else edge, z[r], z[r + 1] if r + 1 < nr else edge, cell_size, out)


@numba.njit(cache=True, parallel=True)
def _horn_slope(z: np.ndarray, cell_size: float) -> np.ndarray:
    nr, nc = z.shape
    out = np.empty((nr, nc), dtype=np.float32)
    edge = np.full(nc, np.nan, dtype=z.dtype)
    for r in numba.prange(nr):
        _horn_row_of(z, r, edge, cell_size, out[r])
    return out


@numba.njit(cache=True, inline="always")
def _ls_value64(s: float, a: float, cell_size: float, l_max: float) -> float:
    """LS of a pixel of slope `s` (%) and flow accumulation `a` (pixels), in float64."""
    cell_area = cell_size * cell_size
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
    # D^(m+2) · x^m · 22.13^m = D² · q^m with q = D · x · 22.13, and
    # (U + D²)^(m+1) / (D² q^m) = (U + D²) / D² · ((U + D²) / q)^m: two powers instead
    # of three, and one for a cell with nothing upslope (a ridge, many cells).
    q = cell_size * x * 22.13
    total = upslope + cell_area
    length = total / cell_area * (total / q) ** m
    if upslope > 0.0:
        length -= upslope / cell_area * (upslope / q) ** m
    return min(length, l_max) * s_factor


#: Flow accumulation (pixels) above which :func:`_ls_row` works in float64.
_LS_FLOAT32_MAX_ACC: Final = 4096.0


#: Cells of :func:`_ls_row`'s work rows in :func:`_ls_kernel` (one allocation per block).
_LS_CHUNK: Final = 4096
#: Rows in a block of :func:`_slope_ls_in_place`'s parallel loop (one allocation per block).
_LS_BLOCK_ROWS: Final = 64


@numba.njit(cache=True, error_model="numpy")
def _ls_row(  # noqa: PLR0915, PLR0917
    slope: np.ndarray,
    acc: np.ndarray,
    cell_size: float,
    l_max: float,
    nan_above: float,
    out: np.ndarray,
    work: np.ndarray,
    acc64: np.ndarray,
    cells: np.ndarray,
) -> None:
    """LS of each cell of a row into `out` (float32; may be `acc` itself); see ls_factor.

    `slope` in %, `acc` the flow accumulation in pixels; LS is NaN where either is, or
    where `acc` is above `nan_above` (streams; ``inf`` for none). `work` (float32, at
    least 6 rows as long as `slope`), `acc64` (float64, as long) and `cells` (int64, as
    long) are scratch.

    Worked in float32 (the type of the slope, the accumulation and the LS grids), whose
    powers cost a third of float64's, up to :data:`_LS_FLOAT32_MAX_ACC` pixels; above,
    where the difference of the two powers loses digits (as the square root of the
    accumulation), in float64 (:func:`_ls_value64`). LS then differs from a float64
    evaluation by less than 2e-6 relative (checked in tests/test_terrain.py).

    In three passes: the square roots and divisions of every cell in a loop without a
    branch (vector instructions: with the numpy error model, no divisor is tested for
    zero), then the powers (library calls), each over a list of the cells that need it
    (no mispredicted test of the slope's class or of the area upslope), then the
    products, again as vectors. Cell by cell, a cell's divisions and powers wait on each
    other, and the divider was the bottleneck. Each cell's operations are those of the
    formula cell by cell, in the same order, so the same floats.
    """
    n = slope.size
    one = np.float32(1.0)
    zero = np.float32(0.0)
    d = np.float32(cell_size)
    cell_area = d * d
    sin_w = work[0]
    m_w = work[1]  # m, or -1 for the steep formula, or -2 for a cell not done here
    r1_w = work[2]  # (U + D²) / q, then its power
    r2_w = work[3]  # U / q, then its power
    up_w = work[4]
    sf_w = work[5]
    for c in range(n):
        s = np.float64(slope[c])
        a = np.float64(acc[c])
        acc64[c] = a
        # sin and cos of the slope angle without trigonometric calls (θ = atan(s/100)).
        sf = np.float32(s)
        t = sf / np.float32(100.0)
        h = math.sqrt(one + t * t)
        sin_t = t / h
        x = sin_t + one / h  # |sin θ| + |cos θ|, slope >= 0
        if sf < np.float32(9.0):
            sf_w[c] = np.float32(10.8) * sin_t + np.float32(0.03)
        else:
            sf_w[c] = np.float32(16.8) * sin_t - np.float32(0.5)
        m = np.float32(-1.0)
        m = np.float32(0.5) if sf <= np.float32(9.0) else m
        m = np.float32(0.4) if sf <= np.float32(5.0) else m
        m = np.float32(0.3) if sf <= np.float32(3.5) else m
        m = np.float32(0.2) if sf <= np.float32(1.0) else m
        skip = np.isnan(s) or np.isnan(a) or a > nan_above or a > _LS_FLOAT32_MAX_ACC
        m_w[c] = np.float32(-2.0) if skip else m
        sin_w[c] = sin_t
        upslope = d * math.sqrt(max(np.float32(a) - one, zero))
        # D^(m+2) · x^m · 22.13^m = D² · q^m with q = D · x · 22.13, and
        # (U + D²)^(m+1) / (D² q^m) = (U + D²) / D² · ((U + D²) / q)^m: two powers
        # instead of three, and one for a cell with nothing upslope (a ridge, many cells).
        q = d * x * np.float32(22.13)
        r1_w[c] = (upslope + cell_area) / q
        r2_w[c] = upslope / q
        up_w[c] = upslope
    # the powers, each over a list of the cells that need it (made without a branch)
    k = 0
    for c in range(n):
        cells[k] = c
        k += m_w[c] == np.float32(-1.0)
    for i in range(k):  # m of the steep cells (McCool et al. 1989)
        c = cells[i]
        sin_t = sin_w[c]
        beta = (sin_t / np.float32(0.0896)) / (
            np.float32(3.0) * sin_t ** np.float32(0.8) + np.float32(0.56)
        )
        m_w[c] = beta / (one + beta)
    k = 0
    for c in range(n):
        cells[k] = c
        k += m_w[c] != np.float32(-2.0)
    for i in range(k):
        c = cells[i]
        r1_w[c] = r1_w[c] ** m_w[c]
    k = 0
    for c in range(n):
        cells[k] = c
        k += (m_w[c] != np.float32(-2.0)) & (up_w[c] > zero)
    for i in range(k):
        c = cells[i]
        r2_w[c] = r2_w[c] ** m_w[c]
    top = np.float32(l_max)
    for c in range(n):
        upslope = up_w[c]
        length = (upslope + cell_area) / cell_area * r1_w[c]
        length = length - upslope / cell_area * r2_w[c] if upslope > zero else length
        ls = min(length, top) * sf_w[c]
        out[c] = np.nan if m_w[c] == np.float32(-2.0) else ls
    for c in range(n):
        a = acc64[c]
        if a > _LS_FLOAT32_MAX_ACC and not a > nan_above and not np.isnan(slope[c]):
            out[c] = _ls_value64(np.float64(slope[c]), a, cell_size, l_max)


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _ls_kernel(
    slope_pct: np.ndarray, acc: np.ndarray, cell_size: float, l_max: float, out: np.ndarray
) -> None:
    flat_s = slope_pct.ravel()
    flat_a = acc.ravel()
    flat_o = out.ravel()
    size = flat_s.size
    per_block = 16 * _LS_CHUNK
    for block in numba.prange((size + per_block - 1) // per_block):
        work = np.empty((6, _LS_CHUNK), dtype=np.float32)
        acc64 = np.empty(_LS_CHUNK)
        cells = np.empty(_LS_CHUNK, dtype=np.int64)
        for i in range(block * per_block, min(block * per_block + per_block, size), _LS_CHUNK):
            j = min(i + _LS_CHUNK, size)
            _ls_row(
                flat_s[i:j], flat_a[i:j], cell_size, l_max, np.inf, flat_o[i:j], work, acc64, cells
            )


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _slope_ls_in_place(
    filled: np.ndarray, acc: np.ndarray, cell_size: float, l_max: float, nan_above: float
) -> None:
    """Horn slope of `filled` and LS, written over `acc` (the slope kept one row at a time).

    LS is NaN where `acc` is above `nan_above` (streams; ``inf`` for none).
    """
    nr, nc = filled.shape
    edge = np.full(nc, np.nan, dtype=filled.dtype)
    for block in numba.prange((nr + _LS_BLOCK_ROWS - 1) // _LS_BLOCK_ROWS):
        # the slope in float32, as the slope raster that InVEST (and _horn_slope) keeps
        slope = np.empty(nc, dtype=np.float32)
        work = np.empty((6, nc), dtype=np.float32)
        acc64 = np.empty(nc)
        cells = np.empty(nc, dtype=np.int64)
        for r in range(block * _LS_BLOCK_ROWS, min(block * _LS_BLOCK_ROWS + _LS_BLOCK_ROWS, nr)):
            _horn_row_of(filled, r, edge, cell_size, slope)
            _ls_row(slope, acc[r], cell_size, l_max, nan_above, acc[r], work, acc64, cells)


@numba.njit(cache=True, error_model="numpy")
def _ls_over_filled(
    filled: np.ndarray, acc: np.ndarray, cell_size: float, l_max: float, nan_above: float
) -> None:
    """Horn slope of `filled` and LS, written over `filled` itself, row by row.

    The same values as :func:`_slope_ls_in_place`; the two rows of heights the next
    slope still needs are kept aside, so `acc` can be of any type (D8 pixel counts in
    uint16, say).
    """
    nr, nc = filled.shape
    edge = np.full(nc, np.nan, dtype=filled.dtype)
    above = edge.copy()  # heights of the row above, as filled
    here = np.empty(nc, dtype=filled.dtype)
    slope = np.empty(nc, dtype=np.float32)
    work = np.empty((6, nc), dtype=np.float32)
    acc64 = np.empty(nc)
    cells = np.empty(nc, dtype=np.int64)
    for r in range(nr):
        here[:] = filled[r]
        _horn_row(above, here, filled[r + 1] if r + 1 < nr else edge, cell_size, slope)
        _ls_row(slope, acc[r], cell_size, l_max, nan_above, filled[r], work, acc64, cells)
        above, here = here, above


# --- public functions ------------------------------------------------------------------


def _as_float32(elevation: np.ndarray) -> np.ndarray:
    z = np.asarray(elevation)
    if z.ndim != 2:
        raise ParameterError(
            _("Expected a 2-D elevation array; got shape {shape}.").format(shape=z.shape)
        )
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
    mfd_weights: MfdWeights = "exact",
) -> np.ndarray:
    """Flow accumulation (pixels, counting the pixel itself) after filling depressions.

    Parameters
    ----------
    elevation
        Elevation (m), 2-D; ``NaN`` for no-data (treated as outlets).
    method
        ``"d8"``: all flow to the steepest-descent neighbour (O'Callaghan and Mark 1984).
        ``"mfd"``: shared among lower neighbours by ``tan(slope)**mfd_exponent``
        (Quinn et al. 1991; Freeman 1991). On flats, flow goes towards the nearest
        cell with a lower neighbour, by the rule of pygeoprocessing's ``flow_dir_d8``
        and ``flow_dir_mfd`` (see :func:`_flat_routing`).
    mfd_exponent
        Exponent ``p`` of the MFD weights: 1 (default) in proportion to slope, as
        InVEST; Freeman (1991) recommends 1.1.
    mfd_weights
        ``"exact"`` (default) or ``"invest"``: each cell's MFD weights rounded to the
        4-bit integers (0-15) that pygeoprocessing stores and InVEST routes with.

    Returns
    -------
    numpy.ndarray
        Accumulated pixels (float64; ``NaN`` for no-data). Multiply by the pixel area for
        the contributing area in m².
    """
    filled, fdir = _priority_flood(_as_float32(elevation))
    return _route(filled, fdir, method=method, mfd_exponent=mfd_exponent, mfd_weights=mfd_weights)


def _release_freed_memory() -> None:
    """Give the C heap's freed pages back to the system (glibc's ``malloc_trim``); else nothing.

    The flat routing's work buffers are freed on return, but glibc keeps freed heap
    pages, and raises its threshold for mapping large blocks apart after freeing one,
    so that the grids allocated next are counted on top of them: 31 MB more peak
    memory for D8 soil loss at 4000² (24 MB for MFD). On other C libraries the call is
    skipped.
    """
    global _MALLOC_TRIM  # noqa: PLW0603
    if _MALLOC_TRIM is None:
        _MALLOC_TRIM = False
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError, AttributeError):  # musl: no malloc_trim
                _MALLOC_TRIM = ctypes.CDLL("libc.so.6").malloc_trim
    if _MALLOC_TRIM:
        _MALLOC_TRIM(0)


#: glibc's malloc_trim once looked up (False where there is none).
_MALLOC_TRIM: Any = None


def _route(
    filled: np.ndarray,
    fdir: np.ndarray,
    *,
    method: FlowMethod,
    mfd_exponent: float,
    mfd_weights: MfdWeights = "exact",
    dtype: type = np.float64,
    nan_at_no_data: bool = True,
) -> np.ndarray:
    """Route flow over the filled surface; `fdir` (the flood's directions) is reused.

    On return `fdir` holds, for D8, the direction codes (0-7 N clockwise,
    :data:`_OUTLET`, :data:`_UNSET`) and, for MFD, the flat routing's bit masks. The
    accumulation is NaN at no-data, or 0 without `nan_at_no_data` (its pages of no-data
    then stay untouched, and take no memory, until the caller writes them).
    """
    if method not in FLOW_METHODS:
        raise ParameterError(
            _("Unknown flow method {method!r}; choose one of {flow_methods}.").format(
                method=method, flow_methods=FLOW_METHODS
            )
        )
    if mfd_weights not in MFD_WEIGHTS:
        raise ParameterError(
            _("mfd_weights must be one of {mfd_weights}; got {mfd_weights2!r}.").format(
                mfd_weights=MFD_WEIGHTS, mfd_weights2=mfd_weights
            )
        )
    if method == "mfd" and not 0 < mfd_exponent <= 10:
        raise ParameterError(
            _("mfd_exponent must be in (0, 10]; got {mfd_exponent}.").format(
                mfd_exponent=mfd_exponent
            )
        )
    acc = np.zeros(filled.shape, dtype=dtype)  # calloc: pages are touched as they fill
    if method == "d8":
        _flat_routing(filled, fdir, False)
        _release_freed_memory()
        whole = np.issubdtype(acc.dtype, np.integer)  # pixel counts, kept at the type's top
        _accumulate_d8(
            _d8_directions(filled, fdir), acc, float(np.iinfo(acc.dtype).max) if whole else np.inf
        )
    else:
        _flat_routing(filled, fdir, True)
        _release_freed_memory()
        _accumulate_mfd(filled, fdir, float(mfd_exponent), mfd_weights == "invest", acc)
    if nan_at_no_data:
        _nan_where_nan(filled, acc)
    return acc


def _check_stream_rule(threshold: float, streams: StreamMethod) -> None:
    if streams not in STREAM_METHODS:
        raise ParameterError(
            _("streams must be one of {stream_methods}; got {streams!r}.").format(
                stream_methods=STREAM_METHODS, streams=streams
            )
        )
    if not (threshold >= 1 and math.isfinite(threshold)):
        raise ParameterError(
            _("The stream threshold must be a finite number >= 1; got {threshold}.").format(
                threshold=threshold
            )
        )


def stream_mask(
    accumulation: np.ndarray,
    threshold: float,
    *,
    method: FlowMethod = "d8",
    streams: StreamMethod = "threshold",
    filled: np.ndarray | None = None,
    fdir: np.ndarray | None = None,
) -> np.ndarray:
    """Stream pixels: where flow concentrates into channels.

    ``streams="threshold"``: flow accumulation above `threshold` (pixels), with either
    routing. ``streams="invest"``: as InVEST SDR 3.20.2 finds them. With D8 that is the
    same rule (``extract_streams_d8``: accumulation > threshold). With MFD it is
    ``pygeoprocessing.routing.extract_streams_mfd`` with
    ``trace_threshold_proportion`` :data:`INVEST_TRACE_PROPORTION` (``sdr.py``):
    starting from each cell at or above the threshold whose flow leaves the grid
    (scanned in 256 x 256 blocks), streams are traced upstream, cell to cell along
    the flow, through cells at or above the threshold (stream) and cells at or above
    0.7 times it (kept only if a stream cell is found upstream of them). A cell above
    the threshold that no trace reaches is not a stream, and one between 0.7 times
    and the threshold can be.

    Parameters
    ----------
    accumulation
        Flow accumulation (pixels), ``NaN`` for no-data.
    threshold
        Flow accumulation (pixels) of a stream.
    method
        The routing that gave `accumulation` (see :func:`flow_accumulation`).
    streams
        ``"threshold"`` or ``"invest"``.
    filled, fdir
        With MFD and ``"invest"``: the filled DEM and the receivers' bit masks the MFD
        routing leaves in its direction grid (they carry its exponent and weights);
        otherwise unused.

    Returns
    -------
    numpy.ndarray
        bool, True on stream pixels (False at no-data).
    """
    _check_stream_rule(threshold, streams)
    if streams == "threshold" or method == "d8":
        with np.errstate(invalid="ignore"):
            return np.greater(accumulation, threshold)
    if filled is None or fdir is None:
        raise ParameterError(_("InVEST's MFD streams need the filled DEM and the flat routing."))
    state = _invest_streams_state(accumulation, threshold, fdir)
    out = np.empty(accumulation.shape, dtype=np.bool_)
    _streams_of_state(state, out)
    return out


def _invest_streams_state(
    accumulation: np.ndarray, threshold: float, fdir: np.ndarray
) -> np.ndarray:
    """InVEST's MFD streams as a grid of two-bit states (1 on streams), a quarter byte a cell."""
    state = np.zeros(_state_bytes(accumulation.shape), dtype=np.uint8)
    _streams_mfd_kernel(
        fdir,
        accumulation,
        float(threshold),
        INVEST_TRACE_PROPORTION * float(threshold),
        state,
    )
    return state


def slope_percent(elevation: np.ndarray, cell_size: float) -> np.ndarray:
    """Slope in percent (100 * rise/run) by Horn's (1981) 3x3 finite differences.

    Where neighbours are off the grid or without data, each of the three differences
    per axis is taken one-sided, with its own divisor, exactly as InVEST's slope
    (``pygeoprocessing.calculate_slope``, pygeoprocessing 2.4, used by SDR 3.20):
    across the centre ``2(d - f)`` over 4 cells when both exist, else ``2(d - e)``
    or ``2(e - f)`` over 2; along an outer row ``a - c`` over 2, else ``a - b`` or
    ``b - c`` over 1, else ``(a - e)·√2`` or ``(e - c)·√2`` over 1; the sums are
    divided by the sum of the divisors times the pixel side. A plane keeps its slope
    up to the edge (a missing neighbour is not replaced by the centre's elevation,
    which halved the slope of an edge pixel).

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
        raise ParameterError(
            _("cell_size must be positive (m); got {cell_size}.").format(cell_size=cell_size)
        )
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
        Upper bound of L (dimensionless; default :data:`DEFAULT_L_MAX`, ours: InVEST
        has no default).

    Returns
    -------
    numpy.ndarray
        LS (dimensionless), float32, ``NaN`` where either input is ``NaN``.
    """
    slope = np.ascontiguousarray(slope_pct)
    acc = np.ascontiguousarray(accumulation)
    if slope.shape != acc.shape:
        raise ParameterError(
            _("slope_pct {shape} and accumulation {shape2} must have the same shape.").format(
                shape=slope.shape, shape2=acc.shape
            )
        )
    if not cell_size > 0:
        raise ParameterError(
            _("cell_size must be positive (m); got {cell_size}.").format(cell_size=cell_size)
        )
    if not l_max > 0:
        raise ParameterError(_("l_max must be positive; got {l_max}.").format(l_max=l_max))
    if np.fmin.reduce(acc, axis=None) < 1:
        raise ParameterError(
            _(
                "Flow accumulation counts the pixel itself, so it must be >= 1; got {value:g}."
            ).format(value=np.nanmin(acc))
        )
    out = np.empty(slope.shape, dtype=np.float32)
    _ls_kernel(slope, acc, float(cell_size), float(l_max), out)
    return out


def _accumulate_and_find_streams(
    filled: np.ndarray,
    fdir: np.ndarray,
    *,
    method: FlowMethod,
    mfd_exponent: float,
    mfd_weights: MfdWeights,
    stream_threshold: float | None,
    streams: StreamMethod,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Flow accumulation (float32) of a filled DEM, and its stream pixels if asked.

    float32 sums: exact pixel counts for D8 up to 2**24 upslope pixels, about 1e-6
    relative for MFD; half the memory of float64 and no second copy to convert.
    """
    accumulation = _route(
        filled,
        fdir,
        method=method,
        mfd_exponent=mfd_exponent,
        mfd_weights=mfd_weights,
        dtype=np.float32,
    )
    if stream_threshold is None:
        return accumulation, None
    on_stream = stream_mask(
        accumulation,
        stream_threshold,
        method=method,
        streams=streams,
        filled=filled,
        fdir=fdir,
    )
    return accumulation, on_stream


def terrain_factors(
    dem: Dem,
    *,
    method: FlowMethod = "d8",
    l_max: float = DEFAULT_L_MAX,
    mfd_exponent: float = DEFAULT_MFD_EXPONENT,
    mfd_weights: MfdWeights = "exact",
    stream_threshold: float | None = None,
    streams: StreamMethod = "threshold",
) -> Terrain:
    """Fill, route, and compute slope, LS and (optionally) streams for a DEM in one pass.

    Parameters
    ----------
    dem
        DEM on the working grid.
    method
        Flow routing, ``"d8"`` or ``"mfd"`` (see :func:`flow_accumulation`).
    l_max
        Upper bound of L (see :func:`ls_factor`).
    mfd_exponent, mfd_weights
        MFD weights (see :func:`flow_accumulation`).
    stream_threshold, streams
        When a threshold is given, :attr:`Terrain.streams` holds the stream pixels
        found by `streams` (see :func:`stream_mask`).

    Returns
    -------
    Terrain
    """
    if method not in FLOW_METHODS:
        raise ParameterError(
            _("Unknown flow method {method!r}; choose one of {flow_methods}.").format(
                method=method, flow_methods=FLOW_METHODS
            )
        )
    filled, fdir = _priority_flood(_as_float32(dem.elevation))
    accumulation, on_stream = _accumulate_and_find_streams(
        filled,
        fdir,
        method=method,
        mfd_exponent=mfd_exponent,
        mfd_weights=mfd_weights,
        stream_threshold=stream_threshold,
        streams=streams,
    )
    del fdir
    slope = _horn_slope(filled, dem.cell_size)
    ls = ls_factor(slope, accumulation, dem.cell_size, l_max=l_max)
    logger.debug("terrain: %s cells, routing %s", filled.size, method)
    return Terrain(
        filled=filled,
        slope_pct=slope,
        accumulation=accumulation,
        ls=ls,
        method=method,
        streams=on_stream,
    )


def terrain_ls(
    dem: Dem,
    *,
    method: FlowMethod = "d8",
    l_max: float = DEFAULT_L_MAX,
    mfd_exponent: float = DEFAULT_MFD_EXPONENT,
    mfd_weights: MfdWeights = "exact",
    stream_threshold: float | None = None,
    streams: StreamMethod = "threshold",
    overwrite: bool = False,
    empty_streams: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """LS factor (and streams) of a DEM with the least memory: no slope grid is kept.

    The same fill, routing, slope and LS as :func:`terrain_factors`, for large DEMs
    (a province at 30 m is some 80 million pixels): the DEM is filled in place when
    `overwrite` is true, slope is computed row by row and LS written over the flow
    accumulation (or, for D8 with `empty_streams`, over the filled DEM, the pixel
    counts being kept in uint16). At the peak, 9 bytes per pixel (float32 heights and
    accumulation, uint8 directions) and, for MFD, a byte of donor counts (or a quarter
    of one of stream states), 7 for D8 with `empty_streams`, where
    :func:`terrain_factors` keeps 16 or more.

    Parameters
    ----------
    dem
        DEM on the working grid.
    method, l_max, mfd_exponent, mfd_weights, stream_threshold, streams
        As :func:`terrain_factors`.
    overwrite
        Fill ``dem.elevation`` itself (float32, C-contiguous), which then holds the
        filled DEM, or the LS returned.
    empty_streams
        With a `stream_threshold`: LS is ``NaN`` on stream pixels, and no grid of
        streams is made or returned (D8 and threshold streams are found as LS is
        computed; InVEST's MFD streams are kept at two bits a pixel).

    Returns
    -------
    tuple of numpy.ndarray
        LS (float32, ``NaN`` for no-data) and the stream pixels (bool), or ``None``
        without a threshold or with `empty_streams`.
    """
    if method not in FLOW_METHODS:
        raise ParameterError(
            _("Unknown flow method {method!r}; choose one of {flow_methods}.").format(
                method=method, flow_methods=FLOW_METHODS
            )
        )
    if not l_max > 0:
        raise ParameterError(_("l_max must be positive; got {l_max}.").format(l_max=l_max))
    z = dem.elevation
    in_place = overwrite and z.dtype == np.float32 and z.flags.c_contiguous and z.flags.writeable
    filled, fdir = _priority_flood(z if in_place else _as_float32(z), in_place=in_place)
    if stream_threshold is not None:
        _check_stream_rule(stream_threshold, streams)
    if (
        method == "d8"
        and empty_streams
        and stream_threshold is not None
        and stream_threshold < _MAX_COUNT_D8
    ):
        # Soil loss needs the D8 pixel counts only up to the stream threshold: uint16
        # counts (exact to 65,535) take half the memory of float32, and LS is written
        # over the filled DEM: 7 bytes a pixel at the peak instead of 9.
        counts = _route(
            filled,
            fdir,
            method=method,
            mfd_exponent=mfd_exponent,
            dtype=np.uint16,
            nan_at_no_data=False,
        )
        del fdir
        _ls_over_filled(filled, counts, float(dem.cell_size), float(l_max), float(stream_threshold))
        return filled, None
    acc = _route(
        filled,
        fdir,
        method=method,
        mfd_exponent=mfd_exponent,
        mfd_weights=mfd_weights,
        dtype=np.float32,
        nan_at_no_data=False,  # the LS pass writes NaN there, after the peak
    )
    traced = stream_threshold is not None and method == "mfd" and streams == "invest"
    state = None
    if traced:
        state = _invest_streams_state(acc, stream_threshold, fdir)
    del fdir  # (before the D8 or threshold streams: one grid less at the peak)
    on_stream = None
    nan_above = math.inf
    if stream_threshold is not None:
        if state is not None and empty_streams:
            _nan_on_streams(state, acc)
        elif state is not None:
            on_stream = np.empty(acc.shape, dtype=np.bool_)
            _streams_of_state(state, on_stream)
        elif empty_streams:
            nan_above = float(stream_threshold)
        else:
            on_stream = stream_mask(acc, stream_threshold, method=method, streams=streams)
    del state
    _slope_ls_in_place(filled, acc, float(dem.cell_size), float(l_max), nan_above)
    return acc, on_stream
