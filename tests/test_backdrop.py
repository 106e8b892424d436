"""Hillshade and display reading, checked against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

from pastures.backdrop import hillshade, read_for_display, stretch_rgb


def _plane(k: float, n: int = 7) -> np.ndarray:
    rows, cols = np.mgrid[0:n, 0:n].astype(float)
    # Elevation rises to the south-east (row grows southwards): the plane faces north-west.
    return k * 10.0 * (cols + rows)


def test_flat_ground_is_lit_by_the_cosine_of_the_sun_zenith():
    shade = hillshade(np.full((5, 5), 3900.0), cellsize=10.0)
    assert shade == pytest.approx(np.full((5, 5), np.cos(np.radians(45.0))))


def test_slope_facing_the_light_at_its_altitude_is_fully_lit_and_away_is_dark():
    # |grad z| = k * sqrt(2) = 1 for k = 1/sqrt(2): a 45 degree slope facing NW,
    # exactly the default light (azimuth 315, altitude 45): cos(0) = 1.
    k = 1.0 / np.sqrt(2.0)
    assert hillshade(_plane(k), cellsize=10.0)[3, 3] == pytest.approx(1.0)
    # The same slope facing SE: the light grazes it at 45 - 45 - 45 ... below the horizon.
    assert hillshade(-_plane(k), cellsize=10.0)[3, 3] == pytest.approx(0.0)


def test_nodata_stays_nodata():
    dem = np.full((4, 4), 4000.0)
    dem[1, 2] = np.nan
    assert np.isnan(hillshade(dem, cellsize=30.0)[1, 2])


def test_read_for_display_averages_down(tmp_path):
    path = tmp_path / "r.tif"
    data = np.arange(16, dtype="float32").reshape(1, 4, 4)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="float32",
        crs="EPSG:32719",
        transform=Affine(10, 0, 450000, 0, -10, 8200000),
    ) as dst:
        dst.write(data)
    shown = read_for_display(path, max_pixels=2)
    # 2 x 2 block means of 0..15 laid out row by row.
    assert shown.data[0] == pytest.approx(np.array([[2.5, 4.5], [10.5, 12.5]]))
    assert shown.transform.a == 20.0
    assert shown.bounds == (450000, 8199960, 450040, 8200000)


def test_stretch_rgb_makes_missing_pixels_transparent():
    rgb = np.stack([np.linspace(0, 1, 9).reshape(3, 3)] * 3)
    rgb[:, 0, 0] = np.nan
    out = stretch_rgb(rgb, percentiles=(0, 100))
    assert out.shape == (3, 3, 4)
    assert out[0, 0, 3] == 0
    assert out[2, 2].tolist() == [255, 255, 255, 255]
