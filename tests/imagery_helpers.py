"""Tiny scenes whose pixel values are known, written as GeoTIFFs and STAC items.

Grid used by most tests: EPSG:32719, 10 m pixels, upper-left corner at
E 440,000, N 8,190,100, 10 x 10 pixels (E 440,000-440,100, N 8,190,000-8,190,100).
Reflectances are chosen so that indices are easy to work out by hand:
red 0.1 and NIR 0.5 give NDVI = 0.4 / 0.6 = 2/3.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine

UTM = "EPSG:32719"
X0, Y0 = 440_000.0, 8_190_100.0
RES = 10.0
SIZE = 10
GRID = Affine(RES, 0, X0, 0, -RES, Y0)


def write_raster(
    path: Path,
    data: np.ndarray,
    transform: Affine,
    *,
    crs: str = UTM,
    nodata: float | None = 0,
    descriptions: list[str] | None = None,
    tags: dict[str, str] | None = None,
) -> Path:
    """Write a (bands, rows, cols) or (rows, cols) array as a GeoTIFF."""
    arr = data if data.ndim == 3 else data[None]
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=arr.shape[2],
        height=arr.shape[1],
        count=arr.shape[0],
        dtype=arr.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(arr)
        if tags:
            dst.update_tags(**tags)
        for i, d in enumerate(descriptions or [], start=1):
            dst.set_band_description(i, d)
    return path


def dn(reflectance: float | np.ndarray, offset_dn: int = 1000) -> np.ndarray:
    """Sentinel-2 L2A digital number of a reflectance (baseline >= 04.00 by default)."""
    return np.asarray(np.rint(np.asarray(reflectance) * 10000 + offset_dn), dtype=np.uint16)


def s2_band_files(
    folder: Path,
    *,
    tile: str = "19KDC",
    date: str = "20240115",
    red: float | np.ndarray = 0.1,
    nir: float | np.ndarray = 0.5,
    scl: int | np.ndarray = 4,
    offset_dn: int = 1000,
    transform: Affine = GRID,
    size: int = SIZE,
    extra: dict[str, float] | None = None,
    offset_tags: bool = True,
) -> dict[str, Path]:
    """SAFE-named band files of one scene: B04, B08 (10 m) and SCL (20 m).

    With `offset_tags` (default) the band files state their offset in the
    ``BOA_ADD_OFFSET`` and ``BOA_QUANTIFICATION_VALUE`` GeoTIFF tags, so that it
    is known; without, nothing says whether the DNs carry an offset.
    """
    stem = f"T{tile}_{date}T144731"
    shape = (size, size)
    files = {}
    tags = (
        {"BOA_ADD_OFFSET": str(-offset_dn), "BOA_QUANTIFICATION_VALUE": "10000"}
        if offset_tags
        else None
    )
    for band, value in (("B04", red), ("B08", nir), *((extra or {}).items())):
        files[band] = write_raster(
            folder / f"{stem}_{band}_10m.tif",
            np.broadcast_to(dn(value, offset_dn), shape).copy(),
            transform,
            tags=tags,
        )
    coarse = Affine(transform.a * 2, 0, transform.c, 0, transform.e * 2, transform.f)
    half = (size + 1) // 2
    files["SCL"] = write_raster(
        folder / f"{stem}_SCL_20m.tif",
        np.broadcast_to(np.asarray(scl, dtype=np.uint8), (half, half)).copy(),
        coarse,
    )
    return files


def stac_item(
    item_id: str,
    assets: dict[str, str],
    *,
    date: str = "2024-01-15",
    tile: str = "19KDC",
    epsg: int = 32719,
    properties: dict[str, Any] | None = None,
    raster_bands: dict[str, Any] | None = None,
    collection: str = "sentinel-2-l2a",
) -> dict[str, Any]:
    """A minimal Sentinel-2 L2A STAC item dict (Earth Search v1 asset names)."""
    props = {
        "datetime": f"{date}T14:50:00Z",
        "platform": "sentinel-2b",
        "proj:epsg": epsg,
        "s2:mgrs_tile": tile,
        "s2:product_type": "S2MSI2A",
        "s2:processing_baseline": "05.10",
    }
    props.update(properties or {})
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "collection": collection,
        "geometry": None,
        "properties": props,
        "links": [],
        "assets": {
            key: {
                "href": href,
                "type": "image/tiff; application=geotiff",
                "roles": ["data"],
                **({"raster:bands": [raster_bands]} if raster_bands and key != "scl" else {}),
            }
            for key, href in assets.items()
        },
    }


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
