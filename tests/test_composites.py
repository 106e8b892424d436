"""Dry-season NDVI and true-colour composites on the working grid.

Scenes come from ``imagery_helpers``: a 10 x 10 grid of 10 m pixels in EPSG:32719,
with uniform reflectances, so every composite value can be worked out by hand.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from imagery_helpers import GRID, SIZE, UTM, X0, Y0, s2_band_files
from pastures.composites import (
    dry_season_composite,
    latest_season,
    working_grid,
    write_ndvi,
    write_true_colour,
)
from pastures.errors import InputFileError
from pastures.imagery import Grid, Scene, load_scenes

BLUE, GREEN = 0.04, 0.07


def scene(folder: Path, date: str, red: float, nir: float, scl: int = 4) -> None:
    s2_band_files(
        folder / date, date=date, red=red, nir=nir, scl=scl, extra={"B02": BLUE, "B03": GREEN}
    )


@pytest.fixture
def scenes(tmp_path: Path) -> list[Scene]:
    # latest dry season (2024): NDVI 2/3, 1/3, 1/2 (hand: (0.5-0.1)/0.6, (0.4-0.2)/0.6,
    # (0.3-0.1)/0.4) and a cloudy date (SCL 9) whose extreme value must be masked
    scene(tmp_path, "20240615", 0.1, 0.5)
    scene(tmp_path, "20240715", 0.2, 0.4)
    scene(tmp_path, "20240815", 0.1, 0.3)
    scene(tmp_path, "20240915", 0.5, 0.01, scl=9)
    # a wet-season date and an older dry season: not in the composite
    scene(tmp_path, "20240115", 0.05, 0.6)
    scene(tmp_path, "20230715", 0.3, 0.31)
    found, problems = load_scenes(tmp_path)
    assert not [p for p in problems if p.severity == "error"]
    assert len(found) == 6
    return found


def test_working_grid_snaps_outward() -> None:
    grid = working_grid((440_005.0, 8_190_001.0, 440_095.0, 8_190_099.0), UTM, 10.0)
    assert grid.transform == Affine(10, 0, 440_000, 0, -10, 8_190_100)
    assert grid.shape == (10, 10)


def test_latest_season_keeps_the_latest_run_of_months(scenes: list[Scene]) -> None:
    chosen = latest_season(scenes, [6, 7, 8, 9, 10])
    assert sorted(s.date for s in chosen) == [
        dt.date(2024, 6, 15),
        dt.date(2024, 7, 15),
        dt.date(2024, 8, 15),
        dt.date(2024, 9, 15),
    ]


def test_a_season_across_new_year_is_one_season(scenes: list[Scene]) -> None:
    # Nov-Jan: January 2024 belongs to the season that began in November 2023
    wet = latest_season(scenes, [11, 12, 1])
    assert [s.date for s in wet] == [dt.date(2024, 1, 15)]


def test_dry_season_median_ndvi_by_hand(scenes: list[Scene]) -> None:
    grid = Grid(UTM, GRID, (SIZE, SIZE))
    ndvi, colour = dry_season_composite(scenes, grid, months=(6, 7, 8, 9, 10))
    # median of 2/3, 1/3, 1/2 = 1/2; the cloudy date is masked; (20 m SCL on 10 m grid)
    np.testing.assert_allclose(ndvi.data, 0.5, rtol=1e-5)
    assert ndvi.dates == (
        dt.date(2024, 6, 15),
        dt.date(2024, 7, 15),
        dt.date(2024, 8, 15),
        dt.date(2024, 9, 15),
    )
    assert ndvi.clear_share == (1.0, 1.0, 1.0, 0.0)
    # the clearest date: all three clear dates tie at 1.0, the latest wins
    assert colour is not None
    assert colour.dates == (dt.date(2024, 8, 15),)
    np.testing.assert_allclose(colour.data[0], 0.1, atol=1e-4)  # red
    np.testing.assert_allclose(colour.data[1], GREEN, atol=1e-4)
    np.testing.assert_allclose(colour.data[2], BLUE, atol=1e-4)


def test_composite_on_a_coarser_larger_grid(scenes: list[Scene]) -> None:
    # 20 m grid one pixel wider on every side: the rim has no data (NaN)
    grid = Grid(UTM, Affine(20, 0, X0 - 20, 0, -20, Y0 + 20), (7, 7))
    ndvi, _ = dry_season_composite(scenes, grid, months=(6, 7, 8))
    assert np.isnan(ndvi.data[0]).all()
    assert np.isnan(ndvi.data[:, 0]).all()
    np.testing.assert_allclose(ndvi.data[1:6, 1:6], 0.5, rtol=1e-5)


def test_composite_in_another_crs_is_warped(scenes: list[Scene]) -> None:
    # a working grid in another CRS (Peru96 / UTM 19S, EPSG:5387): scenes are warped
    from pyproj import Transformer

    t = Transformer.from_crs(UTM, "EPSG:5387", always_xy=True)
    x, y = t.transform(X0 + 50, Y0 - 50)
    grid = working_grid((x - 30, y - 30, x + 30, y + 30), "EPSG:5387", 10.0)
    ndvi, _ = dry_season_composite(scenes, grid, months=(6, 7, 8))
    inner = ndvi.data[1:-1, 1:-1]
    np.testing.assert_allclose(inner, 0.5, rtol=1e-5)


def test_no_dry_season_scene_is_an_input_error(scenes: list[Scene]) -> None:
    grid = Grid(UTM, GRID, (SIZE, SIZE))
    wet_only = [s for s in scenes if s.date.month == 1]
    with pytest.raises(InputFileError, match="dry-season months"):
        dry_season_composite(wet_only, grid)


def test_written_composites_open_with_their_tags(scenes: list[Scene], tmp_path: Path) -> None:
    grid = Grid(UTM, GRID, (SIZE, SIZE))
    ndvi, colour = dry_season_composite(scenes, grid, months=(6, 7, 8))
    assert colour is not None
    a = write_ndvi(tmp_path / "ndvi.tif", ndvi, tags={"ILLUSTRATIVE": "yes"})
    b = write_true_colour(tmp_path / "rgb.tif", colour)
    with rasterio.open(a) as src:
        assert src.tags()["ILLUSTRATIVE"] == "yes"
        assert src.tags()["DATES"].startswith("2024-06-15")
        np.testing.assert_allclose(src.read(1), 0.5, rtol=1e-5)
    with rasterio.open(b) as src:
        assert src.count == 3
        assert src.dtypes[0] == "float32"
        assert src.tags()["ACQUISITION_DATE"] == "2024-08-15"


def test_risk_takes_c_from_a_set_of_scenes(tmp_path: Path, project_files) -> None:
    """``pastures risk --scenes``: C from the dry-season composite on the DEM grid."""
    import math

    from click.testing import CliRunner

    from conftest import E0, N0
    from imagery_helpers import write_raster
    from pastures.cli import main

    transform = Affine(20, 0, E0 - 200, 0, -20, N0 + 1200)
    for date, red, nir in (("20240615", 0.1, 0.5), ("20240715", 0.2, 0.4), ("20240815", 0.1, 0.3)):
        s2_band_files(
            tmp_path / "s" / date, date=date, red=red, nir=nir, transform=transform, size=130
        )
    x = E0 - 200 + (np.arange(130) + 0.5) * 20
    z = np.broadcast_to(3900.0 + 0.1 * (x - E0), (80, 130)).astype(np.float32)
    dem = write_raster(tmp_path / "dem.tif", z, transform, nodata=-9999)
    out = tmp_path / "risk"
    result = CliRunner().invoke(
        main,
        [
            "risk",
            "--dem",
            str(dem),
            "--plots",
            str(project_files["plots"]),
            "--scenes",
            str(tmp_path / "s"),
            "--dry-months",
            "6,7,8",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    with rasterio.open(out / "c_factor.tif") as src:
        c = src.read(1)
        assert "median NDVI of 3 dates" in src.tags()["SOURCE_NDVI"]
    # median NDVI 1/2 (2/3, 1/3, 1/2): C = exp(-2 * 0.5 / (1 - 0.5)) = exp(-2)
    assert np.nanmax(np.abs(c - math.exp(-2.0))) < 1e-5
