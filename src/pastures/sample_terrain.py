"""A synthetic (illustrative) DEM of the district of Juli, for the sample and benchmarks.

SYNTHETIC DATA. The terrain is generated from a few facts in ``shared/DOMAIN.md``, not
from any survey: Lake Titicaca (about 3,810 m) to the north-east of Juli, the land rising
to about 4,600 m (K'isini), valleys draining to the lake with flat, wet floors where
bofedales grow. It is deterministic (seeded) and made in seconds, so it is generated on
demand rather than stored. Never use it for decisions.

The grid covers the district's bounding box in EPSG:32719 (E 427,800-464,800,
N 8,175,800-8,211,700); the lake is no-data (``NaN``), so it acts as the outlet of every
flow path, as a masked water body does in real DEMs.

The landscape is made once, for the district's box at 30 m (:data:`BASE_RESOLUTION_M`),
and every grid asked for is sampled from it (bilinear elevation, nearest-pixel masks).
So its slopes do not depend on the size of the area: a 3 x 4 km grid and the whole
district have the same hills, valleys and slope distribution (median slope about 11 %
at 30 m either way), instead of the district's 790 m of relief squeezed into the grid.
Beyond the district's box the landscape is mirrored.

A project elsewhere (``crs`` other than EPSG:32719) gets the same synthetic Juli
landscape moved onto its own area: the centre of its box is placed on the centre of
the district's box, so the run has terrain to work on with the code path of real data.
It is still illustrative Juli-like relief, not the terrain of that area, and only
projects marked illustrative use it (:mod:`pastures.pipeline`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
from affine import Affine

from pastures.errors import ParameterError
from pastures.i18n import _
from pastures.schema import WORKING_CRS
from pastures.terrain import Dem

logger = logging.getLogger(__name__)

__all__ = [
    "JULI_BOUNDS_UTM",
    "SYNTHETIC_NOTE",
    "SampleTerrain",
    "make_sample_dem",
    "sample_dry_season_ndvi",
]

#: District of Juli in EPSG:32719 (west, south, east, north), m (DOMAIN.md).
JULI_BOUNDS_UTM: Final = (427_800.0, 8_175_800.0, 464_800.0, 8_211_700.0)
#: Juli town in EPSG:32719 (E, N), m, on the lake shore at 3,868 m (DOMAIN.md).
JULI_TOWN_UTM: Final = (450_986.0, 8_207_393.0)
#: Pixel side (m) at which the district's landscape is made; grids are sampled from it.
BASE_RESOLUTION_M: Final = 30.0
#: Default seed: the district's UBIGEO.
DEFAULT_SEED: Final = 210401
LAKE_LEVEL_M: Final = 3_810.0
SUMMIT_M: Final = 4_600.0
#: Stated in the metadata of every file written from this module.
SYNTHETIC_NOTE: Final = (
    "SYNTHETIC illustrative terrain of the district of Juli (pastures.sample_terrain); "
    "not survey data, do not use for decisions"
)

# The shore runs north-west to south-east through Juli; the lake lies to the north-east.
_SHORE_NORMAL = np.array([1.0, 1.0]) / np.sqrt(2.0)  # points into the lake (E, N)
_SHORE_OFFSET_M = 350.0  # the shore line passes this far north-east of the town


@dataclass(frozen=True)
class SampleTerrain:
    """Synthetic DEM with the masks it was built from.

    Attributes
    ----------
    dem
        Elevation (m) on the working grid; ``NaN`` over the lake.
    lake
        True over Lake Titicaca.
    valley_floor
        True on flat, low-lying valley floors: where the sample puts bofedales.
    """

    dem: Dem
    lake: np.ndarray
    valley_floor: np.ndarray


def _fractal_noise(shape: tuple[int, int], rng: np.random.Generator, beta: float) -> np.ndarray:
    """Gaussian noise with a 1/f^beta power spectrum, scaled to unit standard deviation."""
    rows, cols = shape
    white = rng.standard_normal(shape).astype(np.float32)
    spectrum = np.fft.rfft2(white)
    del white
    fy = np.fft.fftfreq(rows).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(cols).astype(np.float32)[None, :]
    freq = np.sqrt(fx * fx + fy * fy)
    freq[0, 0] = 1.0
    spectrum *= freq ** (-beta / 2.0)
    spectrum[0, 0] = 0.0
    del freq
    field = np.fft.irfft2(spectrum, s=shape).astype(np.float32)
    field /= field.std()
    return field


def make_sample_dem(
    *,
    resolution: float = BASE_RESOLUTION_M,
    bounds: tuple[float, float, float, float] = JULI_BOUNDS_UTM,
    shape: tuple[int, int] | None = None,
    seed: int = DEFAULT_SEED,
    crs: str = WORKING_CRS,
) -> SampleTerrain:
    """The synthetic altiplano DEM of Juli on a grid.

    Parameters
    ----------
    resolution
        Pixel side (m). The landscape is made at 30 m and sampled onto this grid.
    bounds
        (west, south, east, north) in `crs` (m); default the district's box.
    shape
        (rows, cols) to generate from the north-west corner of `bounds` instead of
        filling `bounds` (used by the benchmark for an exact 4,000 x 4,000 grid).
    seed
        Random seed (default the district's UBIGEO): same seed, same terrain.
    crs
        CRS of `bounds` (projected, m). Other than EPSG:32719, the Juli landscape is
        moved so that the centre of `bounds` falls on the centre of the district's box
        (a study area elsewhere gets Juli-like illustrative relief).

    Returns
    -------
    SampleTerrain
    """
    if not resolution > 0:
        raise ParameterError(
            _("resolution must be positive (m); got {resolution}.").format(resolution=resolution)
        )
    west, south, east, north = bounds
    if shape is None:
        shape = (
            int(np.ceil((north - south) / resolution)),
            int(np.ceil((east - west) / resolution)),
        )
    rows, cols = shape
    if rows < 8 or cols < 8:
        raise ParameterError(
            _("The sample grid is too small: {shape}; use at least 8 x 8.").format(shape=shape)
        )
    transform = Affine(resolution, 0.0, west, 0.0, -resolution, north)
    dx = dy = 0.0
    from pyproj import CRS

    if CRS.from_user_input(crs) != CRS.from_user_input(WORKING_CRS):  # another area: Juli's
        # landscape, centred on it
        jw, js, je, jn = JULI_BOUNDS_UTM
        dx = (jw + je) / 2 - (west + east) / 2
        dy = (js + jn) / 2 - (south + north) / 2
    base_z, base_lake, base_floor = _district_terrain(seed)
    jw, _south, _east, jn = JULI_BOUNDS_UTM
    # the grid's pixel centres as fractional (row, col) of the district grid's centres
    col = (
        (west + dx - jw) / BASE_RESOLUTION_M
        + (np.arange(cols) + 0.5) * (resolution / BASE_RESOLUTION_M)
        - 0.5
    )
    row = (
        (jn - north - dy) / BASE_RESOLUTION_M
        + (np.arange(rows) + 0.5) * (resolution / BASE_RESOLUTION_M)
        - 0.5
    )
    row = _mirror(row, base_z.shape[0])
    col = _mirror(col, base_z.shape[1])
    rr, cc = np.meshgrid(row, col, indexing="ij")
    from scipy.ndimage import map_coordinates

    filled = np.where(base_lake, LAKE_LEVEL_M, base_z)
    z = map_coordinates(filled, [rr, cc], order=1, mode="nearest").astype(np.float32)
    near = (np.rint(rr).astype(np.intp), np.rint(cc).astype(np.intp))
    lake = base_lake[near]
    valley_floor = base_floor[near]
    z[lake] = np.nan
    logger.info(
        _("Synthetic Juli DEM: %d x %d at %g m, %.0f-%.0f m, lake %.0f %% of the grid"),
        rows,
        cols,
        resolution,
        np.nanmin(z) if not lake.all() else np.nan,
        np.nanmax(z) if not lake.all() else np.nan,
        100.0 * lake.mean(),
    )
    return SampleTerrain(
        dem=Dem(elevation=z, transform=transform, crs=crs),
        lake=np.asarray(lake),
        valley_floor=np.asarray(valley_floor),
    )


def _mirror(index: np.ndarray, n: int) -> np.ndarray:
    """Fractional indices folded into ``[0, n - 1]`` by mirroring at the grid's edges."""
    period = 2.0 * (n - 1)
    folded = np.mod(index, period)
    return np.where(folded > n - 1, period - folded, folded)


@lru_cache(maxsize=2)
def _district_terrain(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Elevation (m, NaN on the lake), lake and valley-floor masks of the district at 30 m.

    Made once per process and seed (about two seconds); read-only arrays.
    """
    west, south, east, north = JULI_BOUNDS_UTM
    resolution = BASE_RESOLUTION_M
    rows = int(np.ceil((north - south) / resolution))
    cols = int(np.ceil((east - west) / resolution))
    rng = np.random.default_rng(seed)
    x = (west + (np.arange(cols, dtype=np.float32) + 0.5) * resolution)[None, :]
    y = (north - (np.arange(rows, dtype=np.float32) + 0.5) * resolution)[:, None]

    # Signed distance (m) from the shore, positive inland (south-west of the shore line).
    along_e, along_n = x - JULI_TOWN_UTM[0], y - JULI_TOWN_UTM[1]
    inland = _SHORE_OFFSET_M - (along_e * _SHORE_NORMAL[0] + along_n * _SHORE_NORMAL[1])
    # A gently wavy shore: bays and points a few hundred metres deep.
    along = along_e * _SHORE_NORMAL[1] - along_n * _SHORE_NORMAL[0]
    inland = inland + 400.0 * np.sin(along / 2_300.0) + 250.0 * np.sin(along / 830.0 + 1.0)
    lake = inland <= 0

    # Regional rise from the shore to the puna, then hills and valleys on top.
    d = np.maximum(inland, 0.0)
    z = LAKE_LEVEL_M + 4.0 + 560.0 * (1.0 - np.exp(-d / 7_000.0))
    # K'isini: the highest massif, south-west of the town.
    for cx, cy, height, radius in (
        (436_000.0, 8_183_000.0, 420.0, 5_500.0),
        (447_500.0, 8_190_500.0, 260.0, 4_000.0),
        (431_500.0, 8_199_000.0, 230.0, 3_500.0),
    ):
        z = z + height * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2.0 * radius**2))
    relief = _fractal_noise((rows, cols), rng, beta=3.0)
    ramp = np.clip(d / 1_500.0, 0.0, 1.0)  # calm near the shore

    # Valleys draining north-east to the lake: ribbons along the fall line, with smooth,
    # gently sloping floors (no small-scale relief) where bofedales grow.
    valley = np.zeros((rows, cols), dtype=np.float32)
    for offset, width in (
        (-9_000.0, 500.0),
        (-2_500.0, 450.0),
        (4_000.0, 600.0),
        (11_000.0, 500.0),
    ):
        meander = 600.0 * np.sin(d / 3_100.0 + offset / 1_000.0)
        across = along - offset - meander
        valley = np.maximum(valley, np.exp(-(across**2) / (2.0 * width**2)))
    calm = np.clip((valley - 0.55) / 0.3, 0.0, 1.0)
    calm = calm * calm * (3.0 - 2.0 * calm)  # smoothstep: no cliff at the floor's edge
    z = z + 110.0 * relief * ramp * (1.0 - calm) - 90.0 * valley * ramp
    floor = valley > 0.8
    del relief, valley, calm

    # Scale the land to run from the shore to the summit.
    land = ~lake
    low, high = float(z[land].min()), float(z[land].max())
    z = LAKE_LEVEL_M + 2.0 + (z - low) * (SUMMIT_M - LAKE_LEVEL_M - 2.0) / (high - low)
    z = z.astype(np.float32)
    z[lake] = np.nan
    valley_floor = np.asarray(floor & land & (d > 300.0))
    lake = np.asarray(lake)
    for array in (z, lake, valley_floor):
        array.setflags(write=False)  # shared by every call (lru_cache)
    return z, lake, valley_floor


def sample_dry_season_ndvi(sample: SampleTerrain, *, seed: int = 2104) -> np.ndarray:
    """Synthetic late-dry-season NDVI for the sample terrain (illustrative only).

    Puna grassland around 0.25-0.35, lower on steep or high ground, bofedal floors about
    0.55, the lake ``NaN``.

    Parameters
    ----------
    sample
        The synthetic terrain.
    seed
        Random seed.

    Returns
    -------
    numpy.ndarray
        NDVI (-1..1), float32, on the DEM grid.
    """
    rng = np.random.default_rng(seed)
    z = sample.dem.elevation
    gy, gx = np.gradient(np.nan_to_num(z, nan=LAKE_LEVEL_M), sample.dem.cell_size)
    slope = np.hypot(gx, gy)
    del gx, gy
    height = np.clip((np.nan_to_num(z, nan=LAKE_LEVEL_M) - LAKE_LEVEL_M) / 800.0, 0.0, 1.0)
    ndvi = 0.36 - 0.08 * height - 0.3 * np.clip(slope, 0.0, 0.3)
    ndvi += 0.03 * rng.standard_normal(z.shape).astype(np.float32)
    ndvi = np.where(sample.valley_floor, 0.55, ndvi)
    ndvi = np.clip(ndvi, 0.05, 0.8).astype(np.float32)
    ndvi[sample.lake] = np.nan
    return ndvi
