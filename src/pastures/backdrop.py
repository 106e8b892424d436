"""Backgrounds made from the data themselves, for maps that work without internet.

The web map and the printed atlas cannot count on an online basemap in the
field, so their background comes from the run's own rasters: a hillshade of the
DEM and a true-colour composite of the clearest recent scene. Rasters are read
downsampled to what a screen or a printed page can show (GDAL overviews when the
file has them, averaging otherwise).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.transform import Affine

from pastures.errors import InputFileError
from pastures.i18n import _

logger = logging.getLogger(__name__)

#: Longest side, in pixels, of a raster read for display.
DEFAULT_MAX_PIXELS = 1600


@dataclass(frozen=True)
class DisplayRaster:
    """A raster read for display.

    Attributes
    ----------
    data
        Array of shape (bands, rows, cols), float64 with NaN where there is no data.
    transform
        Affine transform of `data`.
    crs
        CRS of `data` (as WKT or an EPSG string that pyproj reads).
    bounds
        (left, bottom, right, top) in `crs`.
    """

    data: np.ndarray
    transform: Affine
    crs: str
    bounds: tuple[float, float, float, float]


def read_for_display(
    path: str | os.PathLike[str],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    resampling: Resampling = Resampling.average,
) -> DisplayRaster:
    """Read every band of a raster at most `max_pixels` on its longest side.

    Parameters
    ----------
    path
        A GeoTIFF (COG or plain).
    max_pixels
        Longest side of the result; the raster is averaged down to it (never up).
    resampling
        How to downsample: averaging by default, nearest for class rasters.

    Raises
    ------
    InputFileError
        The file cannot be read as a raster.
    """
    try:
        with rasterio.open(path) as src:
            scale = max(src.width, src.height) / max_pixels
            factor = max(scale, 1.0)
            rows = max(1, round(src.height / factor))
            cols = max(1, round(src.width / factor))
            data = src.read(out_shape=(src.count, rows, cols), resampling=resampling, masked=True)
            transform = src.transform @ Affine.scale(src.width / cols, src.height / rows)
            crs = src.crs.to_string() if src.crs else ""
            bounds = tuple(src.bounds)
    except rasterio.errors.RasterioError as exc:
        raise InputFileError(
            _("{path}: cannot be read as a raster ({exc}).").format(path=path, exc=exc)
        ) from exc
    array = np.ma.filled(data.astype("float64"), np.nan)
    return DisplayRaster(array, transform, crs, bounds)  # type: ignore[arg-type]


def hillshade(
    dem: np.ndarray,
    *,
    cellsize: float,
    azimuth_deg: float = 315.0,
    altitude_deg: float = 45.0,
    z_factor: float = 1.0,
) -> np.ndarray:
    """Shaded relief of a DEM, 0 (shadow) to 1 (lit), NaN where the DEM has no data.

    Slope and aspect follow Horn's (1981) 3 x 3 finite differences, the method of
    GDAL's ``gdaldem hillshade``; the light comes from the north-west at 45°
    above the horizon by default, the cartographic convention.

    Parameters
    ----------
    dem
        Elevations (m), 2-D, NaN for no data.
    cellsize
        Pixel size (m), square pixels.
    azimuth_deg, altitude_deg
        Direction (clockwise from north) and height of the light, degrees.
    z_factor
        Vertical exaggeration.
    """
    z = np.asarray(dem, dtype="float64") * z_factor
    padded = np.pad(z, 1, mode="edge")
    # Horn: weighted differences of the 8 neighbours (a b c / d e f / g h i).
    a, b, c = padded[:-2, :-2], padded[:-2, 1:-1], padded[:-2, 2:]
    d, f = padded[1:-1, :-2], padded[1:-1, 2:]
    g, h, i = padded[2:, :-2], padded[2:, 1:-1], padded[2:, 2:]
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8 * cellsize)
    dzdy = ((g + 2 * h + i) - (a + 2 * b + c)) / (8 * cellsize)
    slope = np.arctan(np.hypot(dzdx, dzdy))
    aspect = np.arctan2(dzdy, -dzdx)
    zenith = np.radians(90.0 - altitude_deg)
    azimuth = np.radians((360.0 - azimuth_deg + 90.0) % 360.0)
    shade = np.cos(zenith) * np.cos(slope) + np.sin(zenith) * np.sin(slope) * np.cos(
        azimuth - aspect
    )
    shade = np.clip(shade, 0.0, 1.0)
    shade[np.isnan(z)] = np.nan
    return shade


def stretch_rgb(rgb: np.ndarray, *, percentiles: tuple[float, float] = (2.0, 98.0)) -> np.ndarray:
    """Contrast-stretch a (3, rows, cols) reflectance composite to uint8 RGBA.

    Each band is stretched linearly between its `percentiles` over valid pixels;
    pixels with no data in any band are transparent.

    Returns
    -------
    numpy.ndarray
        uint8 array of shape (rows, cols, 4).
    """
    bands = np.asarray(rgb, dtype="float64")
    if bands.ndim != 3 or bands.shape[0] < 3:
        raise InputFileError(
            _(
                "a true-colour composite needs 3 bands (red, green, blue); this one has "
                "shape {shape}."
            ).format(shape=bands.shape)
        )
    bands = bands[:3]
    valid = np.all(np.isfinite(bands), axis=0)
    out = np.zeros((*bands.shape[1:], 4), dtype="uint8")
    if not valid.any():
        return out
    for k in range(3):
        lo, hi = np.percentile(bands[k][valid], percentiles)
        span = hi - lo if hi > lo else 1.0
        scaled = np.clip((bands[k] - lo) / span, 0.0, 1.0) * 255.0
        out[..., k] = np.where(valid, scaled, 0).astype("uint8")
    out[..., 3] = np.where(valid, 255, 0).astype("uint8")
    return out
