"""The map's rasters as images: warped to Web Mercator, embedded as WebP or PNG data URIs.

Leaflet stretches an image overlay linearly in Web Mercator, so every raster is
warped to it first; the offline background is made from the run's own data (a
true-colour composite over a hillshade of the DEM).
"""

from __future__ import annotations

import base64
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.transform import Affine
from rasterio.warp import reproject, transform_bounds

from pastures import schema as S
from pastures.backdrop import DisplayRaster, hillshade, read_for_display
from pastures.webmap.style import SOIL_LOSS_BREAKS, YLORBR_6, YLORRD_4

#: Longest side (pixels) of the background and risk images embedded in the page.
BACKGROUND_MAX_PIXELS: Final = 1024
RASTER_MAX_PIXELS: Final = 1024
#: Web Mercator, the CRS Leaflet draws in (images are warped to it before embedding).
WEB_MERCATOR: Final = "EPSG:3857"
NODATA_CLASS: Final = 255
#: WebP quality (0-100) of the background images.
PHOTO_QUALITY: Final = 80
#: Percentile of the pooled R, G, B reflectances drawn as white in the true-colour image.
WHITE_PERCENTILE: Final = 99.0


def image_bytes(rgba: np.ndarray, driver: str = "PNG", **options: Any) -> bytes:
    """Encode a (rows, cols, 4) uint8 array with GDAL's `driver` (``PNG`` or ``WEBP``)."""
    rows, cols, bands = rgba.shape
    with warnings.catch_warnings():
        # An image for the browser carries no georeferencing; the page places it.
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile() as mem:
            with mem.open(
                driver=driver, width=cols, height=rows, count=bands, dtype="uint8", **options
            ) as dst:
                dst.write(np.moveaxis(rgba, -1, 0))
            return mem.read()


def png_bytes(rgba: np.ndarray) -> bytes:
    """Encode a (rows, cols, 4) uint8 array as PNG (GDAL's PNG driver), lossless."""
    return image_bytes(rgba, "PNG")


def png_data_uri(rgba: np.ndarray) -> str:
    """A PNG data URI of a (rows, cols, 4) uint8 array: for classes, which must stay crisp."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(rgba)).decode("ascii")


def photo_data_uri(rgba: np.ndarray) -> str:
    """A lossy WebP data URI (with alpha) of a (rows, cols, 4) uint8 array.

    For the backgrounds (a satellite composite, a hillshade): WebP at quality
    :data:`PHOTO_QUALITY` holds them in a fraction of a PNG's bytes with no loss a
    screen shows; every browser of the last years reads it (Chrome and Android since
    2014, Safari since 14).
    """
    data = image_bytes(rgba, "WEBP", QUALITY=PHOTO_QUALITY)
    return "data:image/webp;base64," + base64.b64encode(data).decode("ascii")


@dataclass(frozen=True)
class MercatorGrid:
    """A north-up grid in Web Mercator: origin, pixel size (m) and shape."""

    left: float
    top: float
    res: float
    width: int
    height: int

    @property
    def transform(self) -> Affine:
        """Affine transform of the grid."""
        return Affine(self.res, 0.0, self.left, 0.0, -self.res, self.top)

    def latlon_bounds(self) -> list[list[float]]:
        """[[south, west], [north, east]] in degrees, as Leaflet wants them."""
        from pyproj import Transformer

        right = self.left + self.width * self.res
        bottom = self.top - self.height * self.res
        to_deg = Transformer.from_crs(WEB_MERCATOR, S.LONLAT_CRS, always_xy=True)
        (w, e), (s, n) = to_deg.transform([self.left, right], [bottom, self.top])
        return [[float(s), float(w)], [float(n), float(e)]]


def mercator_grid(raster: DisplayRaster) -> MercatorGrid:
    """The Web Mercator grid that holds `raster` at about its pixel size."""
    _, rows, cols = raster.data.shape
    left, bottom, right, top = transform_bounds(raster.crs, WEB_MERCATOR, *raster.bounds)
    res = max((right - left) / cols, (top - bottom) / rows)
    return MercatorGrid(
        left,
        top,
        res,
        max(1, math.ceil((right - left) / res)),
        max(1, math.ceil((top - bottom) / res)),
    )


def to_web_mercator(
    raster: DisplayRaster,
    *,
    resampling: Resampling,
    nodata: float = np.nan,
    grid: MercatorGrid | None = None,
) -> tuple[np.ndarray, MercatorGrid]:
    """Warp a display raster to Web Mercator (onto `grid`, or its own grid).

    Leaflet stretches an image overlay linearly in Web Mercator, so an image warped
    to it lands on the ground exactly.
    """
    grid = grid or mercator_grid(raster)
    out = np.full((raster.data.shape[0], grid.height, grid.width), nodata, dtype="float64")
    reproject(
        source=raster.data,
        destination=out,
        src_transform=raster.transform,
        src_crs=raster.crs,
        src_nodata=nodata,
        dst_transform=grid.transform,
        dst_crs=WEB_MERCATOR,
        dst_nodata=nodata,
        resampling=resampling,
    )
    return out, grid


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def classes_rgba(codes: np.ndarray, colours: tuple[str, ...], *, alpha: int = 210) -> np.ndarray:
    """Colour a class-code raster (0..n-1; others transparent) as (rows, cols, 4) uint8."""
    out = np.zeros((*codes.shape, 4), dtype="uint8")
    for k, colour in enumerate(colours):
        mask = codes == k
        out[mask, :3] = _hex_rgb(colour)
        out[mask, 3] = alpha
    return out


def _shade_rgba(path: Path) -> tuple[np.ndarray, MercatorGrid]:
    raster = read_for_display(path, max_pixels=BACKGROUND_MAX_PIXELS)
    shade = hillshade(raster.data[0], cellsize=abs(raster.transform.a))
    shaded = DisplayRaster(shade[np.newaxis], raster.transform, raster.crs, raster.bounds)
    warped, grid = to_web_mercator(shaded, resampling=Resampling.bilinear)
    grey = warped[0]
    valid = np.isfinite(grey)
    rgba = np.zeros((*grey.shape, 4), dtype="uint8")
    level = np.where(valid, 40 + 215 * np.nan_to_num(grey), 0).astype("uint8")
    rgba[..., 0] = rgba[..., 1] = rgba[..., 2] = level
    rgba[..., 3] = np.where(valid, 255, 0)
    return rgba, grid


def true_colour_rgba(rgb: np.ndarray) -> np.ndarray:
    """A (3, rows, cols) reflectance composite as uint8 RGBA, its colours kept.

    One gain for the three bands, from zero reflectance (black) to the
    :data:`WHITE_PERCENTILE` of their pooled valid values (white): the ratios
    between red, green and blue, which are the colour, stay as they are. Stretching
    each band on its own would map every band's median to the same grey and blow
    its noise up to black and white. Pixels with no data in a band are transparent.
    """
    bands = np.asarray(rgb[:3], dtype="float64")
    valid = np.all(np.isfinite(bands), axis=0)
    out = np.zeros((*bands.shape[1:], 4), dtype="uint8")
    if not valid.any():
        return out
    white = float(np.percentile(bands[:, valid], WHITE_PERCENTILE))
    scaled = np.clip(np.nan_to_num(bands) / (white if white > 0 else 1.0), 0.0, 1.0) * 255.0
    out[..., :3] = np.moveaxis(np.where(valid, scaled.round(), 0), 0, -1).astype("uint8")
    out[..., 3] = np.where(valid, 255, 0).astype("uint8")
    return out


def _true_colour_rgba(path: Path, grid: MercatorGrid | None) -> tuple[np.ndarray, MercatorGrid]:
    raster = read_for_display(path, max_pixels=BACKGROUND_MAX_PIXELS)
    warped, grid = to_web_mercator(raster, resampling=Resampling.bilinear, grid=grid)
    return true_colour_rgba(warped), grid


def background_images(rasters: dict[str, Path]) -> dict[str, tuple[str, list[list[float]]]]:
    """The offline backgrounds as (WebP data URI, bounds), keyed ``true_colour``, ``hillshade``.

    The true-colour composite covers only the scene's clear pixels; where it has
    none (outside the scene, clouds) the hillshade shows through it, so the
    background has no holes where the DEM has data.
    """
    out: dict[str, tuple[str, list[list[float]]]] = {}
    shade, grid = None, None
    if "dem" in rasters:
        shade, grid = _shade_rgba(rasters["dem"])
    if "true_colour" in rasters:
        rgb, grid = _true_colour_rgba(rasters["true_colour"], grid)
        if shade is not None:
            alpha = rgb[..., 3:4].astype("float64") / 255.0
            mixed = rgb.astype("float64") * alpha + shade.astype("float64") * (1 - alpha)
            rgb = mixed.round().astype("uint8")
            rgb[..., 3] = np.maximum(rgb[..., 3], shade[..., 3])
        out["true_colour"] = (photo_data_uri(rgb), grid.latlon_bounds())
    if shade is not None and grid is not None:
        out["hillshade"] = (photo_data_uri(shade), grid.latlon_bounds())
    return out


def _soil_loss_image(path: Path) -> tuple[str, list[list[float]]]:
    raster = read_for_display(path, max_pixels=RASTER_MAX_PIXELS)
    loss = raster.data[0]
    codes = np.where(np.isfinite(loss), np.digitize(loss, SOIL_LOSS_BREAKS), NODATA_CLASS)
    classed = DisplayRaster(codes[np.newaxis].astype("float64"), *_geo(raster))
    warped, grid = to_web_mercator(classed, resampling=Resampling.nearest, nodata=NODATA_CLASS)
    return png_data_uri(classes_rgba(warped[0], YLORBR_6)), grid.latlon_bounds()


def _risk_image(path: Path) -> tuple[str, list[list[float]]]:
    raster = read_for_display(path, max_pixels=RASTER_MAX_PIXELS, resampling=Resampling.mode)
    codes = np.nan_to_num(raster.data[0], nan=NODATA_CLASS)
    classed = DisplayRaster(codes[np.newaxis], *_geo(raster))
    warped, grid = to_web_mercator(classed, resampling=Resampling.nearest, nodata=NODATA_CLASS)
    return png_data_uri(classes_rgba(warped[0], YLORRD_4)), grid.latlon_bounds()


def _geo(raster: DisplayRaster) -> tuple[Any, str, tuple[float, float, float, float]]:
    return raster.transform, raster.crs, raster.bounds
