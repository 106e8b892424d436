"""Terrain: DEM reading, Priority-Flood filling, slope, flow routing and LS."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from pastures.errors import CRSError, InputFileError, ParameterError
from pastures.terrain import (
    Dem,
    fill_depressions,
    flow_accumulation,
    ls_factor,
    read_dem,
    slope_percent,
    terrain_factors,
)

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "5_dem"

# InVEST SDR unit test `test_ls_factor` (natcap/invest, tests/test_sdr.py): 30 m pixels,
# l_max 25.
INVEST_SLOPE_PCT = [1.5, 4, 8, 10, 15]
INVEST_FLOW_ACC = [100, 100, 100, 100, 1e7]
INVEST_LS = [0.253996, 0.657229, 1.345856, 1.776729, 49.802994]


def write_tif(
    path: Path, data: np.ndarray, *, crs: str | None, transform: Affine, nodata: float | None = None
) -> Path:
    profile = {
        "driver": "GTiff",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": str(data.dtype),
        "transform": transform,
        "nodata": nodata,
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


# --- LS -----------------------------------------------------------------------------------


def test_ls_reproduces_invest_vector() -> None:
    slope = np.array([INVEST_SLOPE_PCT], dtype=np.float32)
    acc = np.array([INVEST_FLOW_ACC], dtype=np.float32)
    ls = ls_factor(slope, acc, 30.0, l_max=25)
    np.testing.assert_allclose(ls[0], INVEST_LS, rtol=1e-6)


def test_ls_reproduces_invest_vector_in_float64_inputs() -> None:
    ls = ls_factor(np.array(INVEST_SLOPE_PCT, float), np.array(INVEST_FLOW_ACC, float), 30.0)
    np.testing.assert_allclose(ls, INVEST_LS, rtol=1e-6)


def test_ls_by_hand_for_a_single_pixel_on_a_gentle_slope() -> None:
    # n = 1: no upslope area, L = D² ^(m+1) / (D^(m+2) x^m 22.13^m); slope 2 % -> m = 0.3.
    theta = math.atan(0.02)
    m, x, d = 0.3, math.sin(theta) + math.cos(theta), 10.0
    expected = (
        (d * d) ** (m + 1) / (d ** (m + 2) * x**m * 22.13**m) * (10.8 * math.sin(theta) + 0.03)
    )
    ls = ls_factor(np.array([2.0]), np.array([1.0]), d)
    assert ls[0] == pytest.approx(expected, rel=1e-6)


def _ls_float64(slope_pct: np.ndarray, n: np.ndarray, d: float, l_max: float) -> np.ndarray:
    """LS by the formula of ls_factor's docstring, with trigonometry, in float64."""
    theta = np.arctan(slope_pct / 100.0)
    sin_t = np.sin(theta)
    x = np.abs(sin_t) + np.abs(np.cos(theta))
    beta = (sin_t / 0.0896) / (3.0 * sin_t**0.8 + 0.56)
    m = np.select(
        [slope_pct <= 1, slope_pct <= 3.5, slope_pct <= 5, slope_pct <= 9],
        [0.2, 0.3, 0.4, 0.5],
        beta / (1 + beta),
    )
    a = np.sqrt((n - 1) * d * d)
    length = ((a + d * d) ** (m + 1) - a ** (m + 1)) / (d ** (m + 2) * x**m * 22.13**m)
    s = np.where(slope_pct < 9, 10.8 * sin_t + 0.03, 16.8 * sin_t - 0.5)
    return np.minimum(length, l_max) * s


def test_ls_in_float32_stays_within_2e_6_of_float64_over_slopes_and_areas() -> None:
    # every branch of m and S, ridges (n = 1) to large catchments, 10 and 30 m pixels
    slope = np.concatenate([[0.0], np.geomspace(0.01, 300.0, 400)]).astype(np.float32)
    n = np.concatenate([[1.0, 2.0, 3.0], np.geomspace(4.0, 1e7, 80)]).astype(np.float32)
    s_grid, n_grid = np.meshgrid(slope, n)
    for d in (10.0, 30.0):
        ls = ls_factor(s_grid, n_grid, d, l_max=25.0).astype(np.float64)
        expected = _ls_float64(s_grid.astype(np.float64), n_grid.astype(np.float64), d, 25.0)
        np.testing.assert_allclose(ls, expected, rtol=2e-6, atol=1e-7)


def test_ls_at_the_class_boundaries_and_the_float64_switch() -> None:
    # m changes at 1, 3.5, 5 and 9 % and S at 9 %; LS is worked in float64 from 4097
    # upslope pixels on: each boundary, the float32 values either side of it, and the
    # pixel counts either side of the switch
    edges = np.array([1.0, 3.5, 5.0, 9.0], dtype=np.float32)
    slope = np.concatenate(
        [edges, np.nextafter(edges, np.float32(0)), np.nextafter(edges, np.float32(100))]
    )
    n = np.array([1.0, 4095.0, 4096.0, 4097.0, 4098.0, 1e6], dtype=np.float32)
    s_grid, n_grid = np.meshgrid(slope, n)
    ls = ls_factor(s_grid, n_grid, 10.0, l_max=25.0).astype(np.float64)
    expected = _ls_float64(s_grid.astype(np.float64), n_grid.astype(np.float64), 10.0, 25.0)
    np.testing.assert_allclose(ls, expected, rtol=2e-6, atol=1e-7)


def test_ls_carries_nan_and_grows_with_slope_and_area() -> None:
    slope = np.array([np.nan, 5, 10, 20, 10], dtype=np.float32)
    acc = np.array([10, 10, 10, 10, 1000], dtype=np.float32)
    ls = ls_factor(slope, acc, 30.0)
    assert np.isnan(ls[0])
    assert ls[1] < ls[2] < ls[3]
    assert ls[4] > ls[2]


def test_ls_rejects_accumulation_below_one() -> None:
    with pytest.raises(ParameterError, match="must be >= 1"):
        ls_factor(np.array([5.0]), np.array([0.0]), 30.0)


# --- filling ------------------------------------------------------------------------------


def test_fill_raises_a_pit_to_its_spill_point() -> None:
    z = np.array(
        [
            [9, 9, 9, 9, 9],
            [9, 2, 3, 1, 9],
            [9, 3, 4, 3, 9],
            [9, 9, 6, 9, 9],
        ],
        dtype=np.float32,
    )
    filled = fill_depressions(z)
    expected = z.copy()
    expected[1, 1:4] = 6
    expected[2, 1] = 6
    expected[2, 3] = 6
    expected[2, 2] = 6
    np.testing.assert_array_equal(filled, expected)


def _reference_fill(z: np.ndarray) -> np.ndarray:
    """Planchon and Darboux (2001) without epsilon: iterate W = max(z, min neighbour W)."""
    w = np.full_like(z, np.inf, dtype=np.float64)
    w[0, :], w[-1, :], w[:, 0], w[:, -1] = z[0, :], z[-1, :], z[:, 0], z[:, -1]
    while True:
        p = np.pad(w, 1, constant_values=np.inf)
        neighbours = [
            p[1 + dr : p.shape[0] - 1 + dr, 1 + dc : p.shape[1] - 1 + dc]
            for dr in (-1, 0, 1)
            for dc in (-1, 0, 1)
            if (dr, dc) != (0, 0)
        ]
        new = np.maximum(z, np.minimum.reduce(neighbours))
        new[0, :], new[-1, :], new[:, 0], new[:, -1] = z[0, :], z[-1, :], z[:, 0], z[:, -1]
        new = np.minimum(w, new)
        if np.array_equal(new, w):
            return w
        w = new


def test_fill_matches_an_independent_iterative_fill() -> None:
    rng = np.random.default_rng(42)
    z = rng.integers(0, 50, size=(25, 30)).astype(np.float32)
    np.testing.assert_array_equal(fill_depressions(z), _reference_fill(z))


@pytest.mark.parametrize(
    ("spread", "span"), [("next_floats", 1), ("pairs", 2**19), ("clusters", 2**23 - 4)]
)
def test_fill_matches_the_iterative_fill_at_any_height_resolution(spread: str, span: int) -> None:
    # Heights between 2048 and 4096 m, whose float32 keys are adjacent (each of the
    # flood's buckets holds one key), in pairs of adjacent keys (a bucket holds a few,
    # sorted by counting), or in clusters of four far apart (sorted by comparison).
    rng = np.random.default_rng(7)
    ulp = 2.0**-12  # float32 spacing between 2048 and 4096 m
    if spread == "next_floats":
        steps = rng.integers(0, 2000, size=(40, 50))
    else:
        width = 2 if spread == "pairs" else 4
        base = rng.integers(0, span, size=600 // width)
        keys = (base[:, None] + np.arange(width)).ravel()
        steps = keys[rng.integers(0, keys.size, size=(40, 50))]
    z = (2048.0 + steps * ulp).astype(np.float32)
    assert np.array_equal(z.astype(np.float64), 2048.0 + steps * ulp)  # exact in float32
    np.testing.assert_array_equal(fill_depressions(z), _reference_fill(z))


@pytest.mark.parametrize(
    ("low", "high", "band_ulps"),
    [
        (3000.0, 3000.0 + (2**18 - 1) * 2.0**-12, 2**8),  # a bucket a key: groups of 256 keys
        (2048.0, 2048.0 + 2**21 * 2.0**-12, 2**12),  # 16 keys a bucket: groups by counting
        (2048.0, 4095.0, 2**13),  # 32 keys a bucket: groups, then buckets, by counting
        (-1e6, 1e6, 2**14),  # 2**14 keys a bucket, too many to count: sorted by comparison
    ],
)
def test_fill_matches_the_iterative_fill_with_crowded_heights(low, high, band_ulps) -> None:
    # Most of 120 x 150 cells in a narrow band of heights (a few groups of the flood's
    # buckets, each sorted in one go), the range set by two cells at `low` and `high`.
    rng = np.random.default_rng(11)
    base = np.float32(3000.0)
    ulp = np.spacing(base)
    z = (base + rng.integers(0, band_ulps, size=(120, 150)) * ulp).astype(np.float32)
    z[0, 0], z[-1, -1] = low, high
    np.testing.assert_array_equal(fill_depressions(z), _reference_fill(z))


def test_no_data_holes_are_outlets_and_stay_nan() -> None:
    z = np.full((5, 5), 10.0, dtype=np.float32)
    z[2, 2] = np.nan
    z[1, 1] = 5.0  # a pit next to the hole drains into it: not filled
    filled = fill_depressions(z)
    assert np.isnan(filled[2, 2])
    assert filled[1, 1] == 5.0
    acc = flow_accumulation(z)
    assert np.isnan(acc[2, 2])
    assert np.nanmin(acc) >= 1


# --- routing ------------------------------------------------------------------------------


def tilted_plane(rows: int = 6, cols: int = 8) -> np.ndarray:
    """Elevation rising 1 m per column eastwards: everything flows west."""
    return np.tile(np.arange(cols, dtype=np.float32), (rows, 1))


def test_d8_on_a_plane_accumulates_along_rows() -> None:
    acc = flow_accumulation(tilted_plane(), method="d8")
    np.testing.assert_array_equal(acc, np.tile(np.arange(8, 0, -1, dtype=float), (6, 1)))


def test_mfd_conserves_mass_and_spreads_flow() -> None:
    z = tilted_plane()
    acc = flow_accumulation(z, method="mfd")
    assert acc[:, 0].sum() == pytest.approx(z.size)  # all water leaves by the west edge
    assert acc[2, 0] != acc[0, 0]  # shared with diagonal neighbours, unlike D8
    assert np.all(acc >= 1)


def test_flats_drain_through_filled_depressions() -> None:
    # A closed basin with a flat floor and one low exit on the south edge.
    z = np.full((7, 7), 20.0, dtype=np.float32)
    z[1:6, 1:6] = 10.0
    z[6, 3] = 5.0
    for method in ("d8", "mfd"):
        acc = flow_accumulation(z, method=method)
        assert acc[6, 3] >= 25 + 1, method  # the 25 floor cells and the exit itself


def test_unknown_flow_method_is_refused() -> None:
    with pytest.raises(ParameterError, match="Unknown flow method"):
        flow_accumulation(tilted_plane(), method="dinf")  # type: ignore[arg-type]


# --- slope --------------------------------------------------------------------------------


def test_horn_slope_of_a_plane() -> None:
    d = 10.0
    rows, cols = np.mgrid[0:6, 0:7]
    z = (0.03 * cols * d + 0.04 * rows * d).astype(np.float32)  # 3 % east, 4 % south
    slope = slope_percent(z, d)
    np.testing.assert_allclose(slope[1:-1, 1:-1], 5.0, rtol=1e-5)
    assert np.all(np.isfinite(slope))


def test_slope_of_a_plane_holds_up_to_the_edges() -> None:
    # InVEST (pygeoprocessing.calculate_slope) takes one-sided differences where a
    # neighbour is off the grid: a 10 % plane is 10 % on every pixel, edges included
    # (filling a missing neighbour with the centre gave 5 % on the edge columns).
    d = 30.0
    rows, cols = np.mgrid[0:5, 0:6]
    z = (0.10 * cols * d).astype(np.float32)
    slope = slope_percent(z, d)
    np.testing.assert_allclose(slope, 10.0, rtol=1e-5)
    z2 = (0.03 * cols * d + 0.04 * rows * d).astype(np.float32)
    np.testing.assert_allclose(slope_percent(z2, d), 5.0, rtol=1e-5)


def test_slope_next_to_missing_cells_by_hand() -> None:
    # pygeoprocessing's rules worked by hand for the centre e = 10 of
    #   a  b  c       nan  12  nan
    #   d  e  f   =   9    10  14
    #   g  h  i       nan  nan  7
    # x: a-c row: neither corner -> nothing; d-f: 2(9 - 14) over 4; g-i row: only i
    #    and no h -> (e - i)·√2 over 1. dz/dx = (-10 + 3√2) / (5 D).
    # y: a-g column: only d -> nothing (no corner); b-h: 2(12 - 10) over 2 (b - e);
    #    c-i column: f and i -> f - i over 1. dz/dy = (4 + 7) / (3 D).
    nan = np.nan
    z = np.array([[nan, 12, nan], [9, 10, 14], [nan, nan, 7]], dtype=np.float32)
    d = 10.0
    dzdx = (2 * (9 - 14) + (10 - 7) * math.sqrt(2)) / (5 * d)
    dzdy = (2 * (12 - 10) + (14 - 7)) / (3 * d)
    slope = slope_percent(z, d)
    assert slope[1, 1] == pytest.approx(100 * math.hypot(dzdx, dzdy), rel=1e-6)
    assert np.isnan(slope[0, 0])
    # a lone pixel has no difference at all: slope 0, as InVEST
    assert slope_percent(np.array([[5.0]], dtype=np.float32), d)[0, 0] == 0


def test_terrain_factors_on_a_plane() -> None:
    dem = Dem(tilted_plane().astype(np.float32) * 3.0, Affine(30, 0, 0, 0, -30, 0))
    terrain = terrain_factors(dem)
    assert terrain.slope_pct[2, 3] == pytest.approx(10.0, rel=1e-5)
    expected = ls_factor(np.array([10.0]), np.array([8 - 3.0]), 30.0)[0]
    assert terrain.ls[2, 3] == pytest.approx(expected, rel=1e-6)


def test_dem_must_have_square_north_up_pixels() -> None:
    with pytest.raises(ParameterError, match="square pixels"):
        Dem(np.zeros((3, 3), np.float32), Affine(30, 0, 0, 0, -20, 0))


# --- reading ------------------------------------------------------------------------------


def test_read_dem_in_working_crs(tmp_path: Path) -> None:
    data = np.arange(12, dtype=np.float32).reshape(3, 4) + 3900
    data[0, 0] = -9999
    path = write_tif(
        tmp_path / "dem.tif",
        data,
        crs="EPSG:32719",
        transform=Affine(30, 0, 450_000, 0, -30, 8_200_000),
        nodata=-9999,
    )
    dem = read_dem(path)
    assert dem.cell_size == 30
    assert np.isnan(dem.elevation[0, 0])
    assert dem.elevation[2, 3] == 3911


def test_read_dem_reprojects_geographic_input(tmp_path: Path) -> None:
    data = np.full((20, 20), 3900, dtype=np.float32)
    transform = Affine(0.0003, 0, -69.46, 0, -0.0003, -16.21)
    path = write_tif(tmp_path / "dem4326.tif", data, crs="EPSG:4326", transform=transform)
    dem = read_dem(path)
    assert dem.crs == "EPSG:32719"
    assert dem.cell_size == pytest.approx(32.0)  # 0.0003° at 16° S
    assert np.nanmax(np.abs(dem.elevation - 3900)) < 1e-3


def test_read_dem_without_crs_says_how_to_set_it(tmp_path: Path) -> None:
    data = np.full((5, 5), 3900, dtype=np.float32)
    path = write_tif(
        tmp_path / "nocrs.tif", data, crs=None, transform=Affine(0.001, 0, -69.4, 0, -0.001, -16.2)
    )
    with pytest.raises(CRSError, match=r"no coordinate reference system.*EPSG:4326"):
        read_dem(path)


def test_read_dem_missing_file() -> None:
    with pytest.raises(InputFileError, match="not found"):
        read_dem("no/such/dem.tif")


def test_read_dem_all_nodata(tmp_path: Path) -> None:
    data = np.full((4, 4), -9999, dtype=np.float32)
    path = write_tif(
        tmp_path / "empty.tif",
        data,
        crs="EPSG:32719",
        transform=Affine(30, 0, 450_000, 0, -30, 8_200_000),
        nodata=-9999,
    )
    with pytest.raises(InputFileError, match="no valid elevation"):
        read_dem(path)


def test_read_dem_in_feet_is_refused(tmp_path: Path) -> None:
    data = np.full((4, 4), 12_700, dtype=np.float32)  # Juli in feet
    path = write_tif(
        tmp_path / "feet.tif",
        data,
        crs="EPSG:32719",
        transform=Affine(30, 0, 450_000, 0, -30, 8_200_000),
    )
    with pytest.raises(ParameterError, match="in feet"):
        read_dem(path)


# --- third-party DEM ----------------------------------------------------------------------


REAL_DEMS = [
    "invest_sdr_testdata/dem.tif",
    "invest_sdr_gura/DEM_gura.tif",
    "stars_olinda_dem_utm25s.tif",
]


@pytest.mark.realdata
@pytest.mark.parametrize("name", REAL_DEMS)
@pytest.mark.parametrize("method", ["d8", "mfd"])
def test_real_dems(name: str, method: str) -> None:
    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"third-party DEM absent: {path} (see shared/realdata/5_dem/SOURCES.txt)")
    with rasterio.open(path) as src:
        crs = src.crs.to_string()
    dem = read_dem(path, dst_crs=crs)  # in its own projected CRS: no resampling
    terrain = terrain_factors(dem, method=method)  # type: ignore[arg-type]
    valid = np.isfinite(dem.elevation)
    assert np.array_equal(np.isfinite(terrain.ls), valid)
    assert np.array_equal(np.isfinite(terrain.accumulation), valid)
    assert np.all(terrain.filled[valid] >= dem.elevation[valid])
    assert np.nanmin(terrain.accumulation) >= 1
    assert np.nanmin(terrain.ls) > 0
    assert np.nanmax(terrain.ls) <= 25 * (16.8 * 1.0 - 0.5)
    # No pixel can gather more than all the valid pixels.
    assert np.nanmax(terrain.accumulation) <= valid.sum() * (1 + 1e-6)


@pytest.mark.realdata
def test_invest_gura_soil_loss_with_its_c_raster() -> None:
    from pastures.erosion import soil_loss
    from pastures.terrain import read_raster_on_grid

    folder = REALDATA / "invest_sdr_gura"
    if not (folder / "DEM_gura.tif").exists() or not (folder / "c_gura.tif").exists():
        pytest.skip(f"third-party InVEST sample absent: {folder}")
    with rasterio.open(folder / "DEM_gura.tif") as src:
        crs = src.crs.to_string()
    dem = read_dem(folder / "DEM_gura.tif", dst_crs=crs)
    c = read_raster_on_grid(folder / "c_gura.tif", dem, name="C", resampling="nearest")
    assert np.nanmin(c) >= 0
    assert np.nanmax(c) <= 1
    a = soil_loss(1000.0, 0.03, terrain_factors(dem).ls, c)
    valid = np.isfinite(dem.elevation) & np.isfinite(c)
    assert np.array_equal(np.isfinite(a), valid)
    assert np.all(a[valid] >= 0)


# --- synthetic sample DEM -----------------------------------------------------------------


def test_sample_dem_is_deterministic_and_shaped_like_juli() -> None:
    from pastures.sample_terrain import JULI_BOUNDS_UTM, make_sample_dem, sample_dry_season_ndvi

    one = make_sample_dem(resolution=200.0)
    two = make_sample_dem(resolution=200.0)
    np.testing.assert_array_equal(one.dem.elevation, two.dem.elevation)
    z = one.dem.elevation
    assert one.dem.crs == "EPSG:32719"
    assert one.dem.bounds[0] == JULI_BOUNDS_UTM[0]
    assert one.dem.bounds[3] == JULI_BOUNDS_UTM[3]
    assert one.dem.bounds[2] >= JULI_BOUNDS_UTM[2]
    assert one.dem.bounds[1] <= JULI_BOUNDS_UTM[1]
    # the landscape is made at 30 m from lake level to the summit, and sampled at 200 m:
    # the sampled grid stays within that range and close to both ends
    assert 3_810 <= np.nanmin(z) < 3_820
    assert 4_580 <= np.nanmax(z) <= 4_600
    base = make_sample_dem().dem.elevation
    assert np.nanmin(base) == pytest.approx(3_812, abs=0.01)  # shore: lake level + 2 m
    assert np.nanmax(base) == pytest.approx(4_600, abs=0.01)  # K'isini (DOMAIN.md)
    assert np.isnan(z[0, -1])  # the lake, north-east
    assert not np.isnan(z[-1, 0])  # the puna, south-west
    assert one.valley_floor.any()
    ndvi = sample_dry_season_ndvi(one)
    assert np.nanmean(ndvi[one.valley_floor]) > np.nanmean(ndvi[~one.valley_floor])
    assert np.array_equal(np.isnan(ndvi), one.lake)


def _median_slope_pct(dem) -> float:
    """Median slope (%) by central differences, written here independently of terrain.py."""
    z = dem.elevation.astype(np.float64)
    gy, gx = np.gradient(z, dem.transform.a)
    return float(np.nanmedian(100.0 * np.hypot(gx, gy)))


def test_sample_dem_slopes_do_not_depend_on_the_size_of_the_area() -> None:
    """Issue 21: a 3 x 4 km area had a median slope of 65-89 % against 11 % over Juli.

    The reference is the district-wide distribution: DOMAIN.md gives Juli's relief
    (3,810 m at the lake to 4,600 m at K'isini over a 37 x 36 km district) but no
    measured slope distribution, so a small area must look like the district, not like
    the district's 790 m squeezed into it.
    """
    from pastures.sample_terrain import JULI_BOUNDS_UTM, make_sample_dem

    district = _median_slope_pct(make_sample_dem().dem)
    w, s, e, n = JULI_BOUNDS_UTM
    cx, cy = (w + e) / 2, (s + n) / 2
    small = make_sample_dem(bounds=(cx - 1_500, cy - 2_000, cx + 1_500, cy + 2_000))
    elsewhere = make_sample_dem(  # the LPIS parcels' 3.4 x 4.6 km box, UTM 31N
        bounds=(640_000, 5_070_000, 643_400, 5_074_600), crs="EPSG:32631"
    )
    # a rolling puna, not cliffs: 790 m over a ~20 km fall line is 4 %, hills add to it
    assert 4 < district < 25
    for area in (small, elsewhere):
        ratio = _median_slope_pct(area.dem) / district
        assert 0.5 < ratio < 2
        relief = np.nanmax(area.dem.elevation) - np.nanmin(area.dem.elevation)
        assert relief < 500  # not the district's full 790 m on a few km


def test_sample_dem_grids_sample_one_landscape() -> None:
    from pastures.sample_terrain import JULI_BOUNDS_UTM, make_sample_dem

    w, _, _, n = JULI_BOUNDS_UTM
    full = make_sample_dem().dem.elevation
    # a window on the district's 30 m lattice is the same pixels as the whole district
    part = make_sample_dem(bounds=(w + 3_000, n - 6_000, w + 6_000, n - 3_000)).dem.elevation
    np.testing.assert_array_equal(part, full[100:200, 100:200])


def test_sample_dem_routes_to_the_lake() -> None:
    from pastures.sample_terrain import make_sample_dem

    sample = make_sample_dem(resolution=300.0)
    terrain = terrain_factors(sample.dem)
    assert np.isfinite(terrain.ls[~sample.lake]).all()
    assert np.nanmax(terrain.accumulation) > 100  # valleys gather flow


def test_dem_in_degrees_labelled_as_utm_is_refused(tmp_path: Path) -> None:
    data = np.full((5, 5), 3900, dtype=np.float32)
    path = write_tif(
        tmp_path / "mislabelled.tif",
        data,
        crs="EPSG:32719",
        transform=Affine(0.0003, 0, -69.46, 0, -0.0003, -16.21),
    )
    with pytest.raises(CRSError, match="look like degrees"):
        read_dem(path)


def _share_matrix_accumulation(filled: np.ndarray, exponent: float | None) -> np.ndarray:
    """Solve acc = 1 + Wᵀ acc directly (no topological order): an independent check."""
    nr, nc = filled.shape
    n = filled.size
    w = np.zeros((n, n))
    offsets = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]
    for r in range(nr):
        for c in range(nc):
            drops = {}
            for dr, dc in offsets:
                rr, cc = r + dr, c + dc
                if 0 <= rr < nr and 0 <= cc < nc and filled[rr, cc] < filled[r, c]:
                    drops[rr * nc + cc] = (filled[r, c] - filled[rr, cc]) / math.hypot(dr, dc)
            if not drops:
                continue
            if exponent is None:  # D8
                target = max(drops, key=drops.get)
                w[r * nc + c, target] = 1.0
            else:
                total = sum(v**exponent for v in drops.values())
                for target, v in drops.items():
                    w[r * nc + c, target] = v**exponent / total
    return np.linalg.solve(np.eye(n) - w.T, np.ones(n)).reshape(nr, nc)


@pytest.mark.parametrize(("method", "exponent"), [("d8", None), ("mfd", 1.0), ("mfd", 1.1)])
def test_accumulation_matches_a_linear_solve(method: str, exponent: float | None) -> None:
    # A cone with noise smaller than its gradient: every cell has a lower neighbour, so
    # there are no pits or flats and both methods are fully defined by the elevations.
    rng = np.random.default_rng(7)
    rows, cols = np.mgrid[0:15, 0:17]
    z = (20 - np.hypot(rows - 7, cols - 8) + rng.uniform(-0.1, 0.1, rows.shape)).astype(np.float32)
    acc = flow_accumulation(z, method=method, mfd_exponent=exponent or 1.0)  # type: ignore[arg-type]
    expected = _share_matrix_accumulation(z.astype(np.float64), exponent)
    np.testing.assert_allclose(acc, expected, rtol=1e-9)


OFFSETS = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]


def pitted_dem() -> np.ndarray:
    """A DEM full of pits and flats, with a no-data hole."""
    rng = np.random.default_rng(3)
    z = rng.integers(0, 6, size=(18, 21)).astype(np.float32)
    z[5, 7] = np.nan
    return z


def test_d8_through_pits_and_flats_matches_path_counting() -> None:
    from pastures.terrain import _d8_directions, _flat_routing, _priority_flood

    z = pitted_dem()
    filled, fdir = _priority_flood(z)
    _flat_routing(filled, fdir, False)
    dirs = _d8_directions(filled, fdir)
    expected = np.zeros(z.shape)
    for r0, c0 in zip(*np.nonzero(~np.isnan(z)), strict=True):
        r, c, steps = r0, c0, 0
        while True:  # follow the path to its outlet, counting visits
            expected[r, c] += 1
            d = dirs[r, c]
            if d >= 8:
                break
            r, c = r + OFFSETS[d][0], c + OFFSETS[d][1]
            steps += 1
            assert steps <= z.size, "cycle in D8 directions"
    expected[np.isnan(z)] = np.nan
    np.testing.assert_array_equal(flow_accumulation(z, method="d8"), expected)


def flat_distances(filled: np.ndarray) -> np.ndarray:
    """Distance (pixels) of every cell to the drain of its flat, by scipy's Dijkstra.

    An independent statement of InVEST's plateau rule (pygeoprocessing flow_dir_mfd):
    a flat is a connected set of cells of one height; its drains are its cells with a
    lower neighbour, else its cells next to no-data or the edge; steps cost 1 to a side
    and sqrt(2) to a corner. Cells with a lower neighbour get 0.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    nr, nc = filled.shape
    rows, cols, cost = [], [], []
    lower = np.zeros(filled.shape, bool)
    edge = np.zeros(filled.shape, bool)
    for r, c in zip(*np.nonzero(~np.isnan(filled)), strict=True):
        for dr, dc in OFFSETS:
            rr, cc = r + dr, c + dc
            if not (0 <= rr < nr and 0 <= cc < nc) or np.isnan(filled[rr, cc]):
                edge[r, c] = True
            elif filled[rr, cc] < filled[r, c]:
                lower[r, c] = True
            elif filled[rr, cc] == filled[r, c]:
                rows.append(r * nc + c)
                cols.append(rr * nc + cc)
                cost.append(math.hypot(dr, dc))
    graph = coo_matrix((cost, (rows, cols)), shape=(filled.size, filled.size)).tocsr()
    dist = np.full(filled.size, np.inf)
    # flats with a lower neighbour somewhere drain there; others through no-data or edge
    from_lower = dijkstra(graph, indices=np.flatnonzero(lower.ravel()), min_only=True)
    from_edge = dijkstra(graph, indices=np.flatnonzero(edge.ravel()), min_only=True)
    dist = np.where(np.isfinite(from_lower), from_lower, from_edge)
    return dist.reshape(filled.shape)


def test_flat_strip_splits_flow_by_distance_to_its_drains_by_hand() -> None:
    # One row: 1 5 5 5 5 5 1. The 5s are a flat whose drains are the second and the
    # sixth cells (they have a lower neighbour). The middle cell is 2 from both, so
    # InVEST's MFD sends half of it each way; the cells next to it are 1 from their
    # drain. By hand: middle 1; its neighbours 1 + 0.5; drains 1 + 1.5; the 1s at the
    # ends 1 + 2.5. D8 sends the middle cell one way.
    z = np.array([[1, 5, 5, 5, 5, 5, 1]], dtype=np.float32)
    mfd = flow_accumulation(z, method="mfd")
    np.testing.assert_allclose(mfd[0], [3.5, 2.5, 1.5, 1, 1.5, 2.5, 3.5])
    d8 = flow_accumulation(z, method="d8")
    assert d8[0, 3] == 1
    assert sorted([d8[0, 2], d8[0, 4]]) == [1, 2]
    assert d8[0, 0] + d8[0, 6] == 7


def test_mfd_through_pits_and_flats_matches_a_linear_solve() -> None:
    from pastures.terrain import _priority_flood

    z = pitted_dem()
    filled32, _ = _priority_flood(z)
    filled = filled32.astype(np.float64)
    dist = flat_distances(filled)
    nr, nc = z.shape
    w = np.zeros((z.size, z.size))
    for r, c in zip(*np.nonzero(~np.isnan(z)), strict=True):
        drops = {}
        for dr, dc in OFFSETS:
            rr, cc = r + dr, c + dc
            if 0 <= rr < nr and 0 <= cc < nc and filled[rr, cc] < filled[r, c]:
                drops[rr * nc + cc] = (filled[r, c] - filled[rr, cc]) / math.hypot(dr, dc)
        if drops:  # shared in proportion to slope
            total = sum(drops.values())
            for target, v in drops.items():
                w[r * nc + c, target] = v / total
            continue
        # flat: every neighbour of the same height strictly nearer the drain (float64
        # sums compared as they are, as pygeoprocessing), 1 side, 1/sqrt(2) corner
        nearer = {}
        for dr, dc in OFFSETS:
            rr, cc = r + dr, c + dc
            if (
                0 <= rr < nr
                and 0 <= cc < nc
                and filled[rr, cc] == filled[r, c]
                and dist[rr, cc] < dist[r, c]
            ):
                nearer[rr * nc + cc] = 1 / math.hypot(dr, dc)
        total = sum(nearer.values())
        for target, v in nearer.items():
            w[r * nc + c, target] = v / total
    valid = ~np.isnan(z.ravel())
    solved = np.full(z.size, np.nan)
    sub = np.ix_(valid, valid)
    solved[valid] = np.linalg.solve(np.eye(valid.sum()) - w[sub].T, np.ones(valid.sum()))
    np.testing.assert_allclose(
        flow_accumulation(z, method="mfd"), solved.reshape(nr, nc), rtol=1e-9
    )


# --- agreement with InVEST SDR 3.20.2's own outputs (tests/data/invest_sdr_flats) -------

INVEST_FLATS = Path(__file__).parent / "data" / "invest_sdr_flats" / "invest_sdr_flats.npz"
FIXTURE_CELL, FIXTURE_THRESHOLD, FIXTURE_R, FIXTURE_K = 30.0, 60, 1000.0, 0.03


def invest_flats() -> dict[str, np.ndarray]:
    with np.load(INVEST_FLATS) as data:
        return dict(data)


def flat_cells(filled: np.ndarray) -> np.ndarray:
    """Cells with data and no lower neighbour (the flats routed by distance to a drain)."""
    nr, nc = filled.shape
    out = np.zeros(filled.shape, bool)
    for r, c in zip(*np.nonzero(~np.isnan(filled)), strict=True):
        out[r, c] = not any(
            0 <= r + dr < nr and 0 <= c + dc < nc and filled[r + dr, c + dc] < filled[r, c]
            for dr, dc in OFFSETS
        )
    return out


def test_fixture_has_filled_pits_and_flats() -> None:
    data = invest_flats()
    dem, filled = data["dem"], data["filled_d8"]
    raised = filled > dem
    assert raised.sum() > 50  # filled depressions
    assert flat_cells(filled).sum() > 400  # plateaus and filled pits, about a fifth


@pytest.mark.parametrize("method", ["d8", "mfd"])
def test_routing_matches_invest_on_pits_and_flats(method: str) -> None:
    from pastures.terrain import _priority_flood, _route, stream_mask

    data = invest_flats()
    filled, fdir = _priority_flood(data["dem"])
    np.testing.assert_array_equal(filled, data[f"filled_{method}"])  # fill_pits
    acc = _route(filled, fdir, method=method, mfd_exponent=1.0, mfd_weights="invest")  # type: ignore[arg-type]
    theirs = data[f"acc_{method}"].astype(np.float64)
    flats = flat_cells(filled)
    if method == "d8":  # pixel counts: equal on every cell, flats included
        np.testing.assert_array_equal(acc, theirs)
    else:  # stored as float32 in the fixture
        np.testing.assert_allclose(acc, theirs, rtol=1e-6)
    assert np.isfinite(acc[flats]).all()
    streams = stream_mask(
        acc,
        FIXTURE_THRESHOLD,
        method=method,
        streams="invest",
        filled=filled,
        fdir=fdir,  # type: ignore[arg-type]
    )
    invest_streams = data[f"stream_{method}"] == 1
    assert invest_streams.sum() > 100
    np.testing.assert_array_equal(streams, invest_streams)  # both ways


def test_mfd_streams_are_traced_not_thresholded() -> None:
    # On the fixture InVEST's traced MFD streams differ from a plain threshold: cells
    # just below it that join streams are in, cells above it no trace reaches are out.
    from pastures.terrain import _priority_flood, _route, stream_mask

    data = invest_flats()
    filled, fdir = _priority_flood(data["dem"])
    acc = _route(filled, fdir, method="mfd", mfd_exponent=1.0, mfd_weights="invest")
    traced = stream_mask(
        acc,
        FIXTURE_THRESHOLD,
        method="mfd",
        streams="invest",
        filled=filled,
        fdir=fdir,
    )
    plain = stream_mask(acc, FIXTURE_THRESHOLD, method="mfd")
    assert (traced & ~plain).any()
    assert (acc[traced & ~plain] >= 0.7 * FIXTURE_THRESHOLD).all()


def _two_bit_states(state: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    fields = (state[:, None] >> np.array([0, 2, 4, 6], dtype=np.uint8)) & 3
    return fields.ravel()[: shape[0] * shape[1]].reshape(shape)


@pytest.mark.parametrize("queue", [9, 1024])
def test_a_stream_cell_found_late_makes_the_traced_cells_below_it_streams(queue: int) -> None:
    # Tracing upstream marks cells under the threshold but above the trace threshold 2;
    # when a stream cell (1) turns up above them, every 2 downstream of it becomes 1.
    # Row 0 flows east and south, row 1 east, row 2 north into row 1 (upstream of it,
    # so it stays 2). With a queue of 9 the walk outgrows it and goes on in a copy.
    from pastures.terrain import _state_bytes, _streams_below

    n = 30
    east, south, north = 1 << 2, 1 << 4, 1 << 0
    receivers = np.zeros((3, n), dtype=np.uint8)
    receivers[0, :-1] = east | south
    receivers[0, -1] = south
    receivers[1, :-1] = east
    receivers[2, :] = north
    state = np.zeros(_state_bytes(receivers.shape), dtype=np.uint8)
    state[:] = 0b10101010  # every cell 2
    state[0] = (state[0] & ~np.uint8(3)) | 1  # (0, 0), the new stream cell
    _streams_below(receivers, state, 0, np.empty(queue, dtype=np.int64))
    expected = np.full((3, n), 1, dtype=np.uint8)
    expected[2] = 2
    np.testing.assert_array_equal(_two_bit_states(state, receivers.shape), expected)


@pytest.mark.parametrize("method", ["d8", "mfd"])
def test_soil_loss_matches_invest_usle_on_pits_and_flats(method: str) -> None:
    data = invest_flats()
    dem = Dem(data["dem"], Affine(FIXTURE_CELL, 0, 450_000.0, 0, -FIXTURE_CELL, 8_200_000.0))
    terrain = terrain_factors(
        dem,
        method=method,  # type: ignore[arg-type]
        l_max=25.0,
        mfd_weights="invest",
        stream_threshold=FIXTURE_THRESHOLD,
        streams="invest",
    )
    assert terrain.streams is not None
    usle = data[f"usle_{method}"].astype(np.float64)
    np.testing.assert_array_equal(terrain.streams, data[f"stream_{method}"] == 1)
    hill = np.isfinite(usle)
    assert hill.sum() > 1500
    ours = FIXTURE_R * FIXTURE_K * terrain.ls[hill].astype(np.float64)
    np.testing.assert_allclose(ours, usle[hill], rtol=1e-3)  # within 0.1 % on every pixel
    flats = flat_cells(terrain.filled) & hill
    assert flats.sum() > 200


def test_d8_flat_tie_goes_to_the_strictly_shorter_float_sum() -> None:
    # 9 x 9: a 7 x 7 flat at 5 inside a rim at 9, with outlets (1) at (0, 8) and (8, 6).
    # Cell (4, 1) lies 1 + 3·sqrt(2) pixels from drain (7, 5) by two routes: through its
    # E neighbour (4, 2), 3·sqrt(2) away, and through its SE neighbour (5, 2), 1 + 2·sqrt(2)
    # away (W, NW, NW from the drain). In float64 the second sum is one unit in the last
    # place shorter. The first-in-first-out search reaches (4, 1) from (4, 2) first; as
    # pygeoprocessing compares distances strictly, the shorter sum found later wins.
    from pastures.terrain import _d8_directions, _flat_routing, _priority_flood

    s = math.sqrt(2.0)
    via_e = ((s + s) + s) + 1.0
    via_se = ((1.0 + s) + s) + s
    assert via_se < via_e
    z = np.full((9, 9), 9.0, np.float32)
    z[1:8, 1:8] = 5.0
    z[0, 8] = z[8, 6] = 1.0
    filled, fdir = _priority_flood(z)
    _flat_routing(filled, fdir, False)
    dirs = _d8_directions(filled, fdir)
    south_east, east = 3, 2  # codes N = 0 clockwise
    assert dirs[4, 1] == south_east
    assert dirs[4, 2] == south_east  # (4, 2) itself: 3·sqrt(2) along the diagonal
    assert east != south_east


def test_d8_flat_tie_between_equal_sums_goes_to_the_first_drain_found() -> None:
    # One row 1 5 5 5 1: the middle 5 is 2 from both drains (the second and fourth
    # cells). The flat's search starts at the middle cell (the first without a lower
    # neighbour) and meets its east neighbour first, so the east drain is queued first
    # and reaches the middle cell first; the west one then offers an equal, not
    # shorter, distance. Accumulation by hand, west to east: 2, 1, 1 (middle), 2, 3.
    z = np.array([[1.0, 5.0, 5.0, 5.0, 1.0]], np.float32)
    np.testing.assert_array_equal(flow_accumulation(z, method="d8"), [[2, 1, 1, 2, 3]])


#: D8 codes (N = 0, clockwise) as (row, column) steps, written out for the tests below.
_D8_STEPS = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]


def _d8_path_length(dirs: np.ndarray, r: int, c: int, stop: tuple[int, int]) -> float:
    """Length (pixels) of the path the D8 codes `dirs` lead from (r, c) to `stop`."""
    length = 0.0
    for _ in range(dirs.size):
        if (r, c) == stop:
            return length
        dr, dc = _D8_STEPS[int(dirs[r, c])]
        r, c = r + dr, c + dc
        length += math.hypot(dr, dc)
    raise AssertionError(f"no path from ({r}, {c}) to {stop}")


def test_large_flat_drains_along_shortest_paths() -> None:
    # A 40 x 50 plateau at 5 inside a rim at 9, its only outlet the corner (0, 0) at 1:
    # the plateau's one drain is (1, 1), and every cell's D8 path to it must be as long
    # as the octile distance, max(dr, dc) + (sqrt(2) - 1) min(dr, dc). Its 2000 cells
    # outgrow the routing's first buffers (256 cells).
    from pastures.terrain import _flat_routing, _priority_flood

    z = np.full((42, 52), 9.0, np.float32)
    z[1:41, 1:51] = 5.0
    z[0, 0] = 1.0
    filled, fdir = _priority_flood(z)
    assert _flat_routing(filled, fdir, False) == 40 * 50 - 1
    for r in range(1, 41):
        for c in range(1, 51):
            dr, dc = r - 1, c - 1
            octile = max(dr, dc) + (math.sqrt(2.0) - 1.0) * min(dr, dc)
            assert _d8_path_length(fdir, r, c, (1, 1)) == pytest.approx(octile, abs=1e-9)


@pytest.mark.parametrize("mfd", [False, True])
def test_flat_without_lower_cells_drains_to_the_grid_edge(mfd: bool) -> None:
    # All 9 x 12 cells at 3: no cell has a lower neighbour, so the edge cells drain off
    # the grid, and an inner cell is min(r, c, 8 - r, 11 - c) side steps from the edge.
    from pastures.terrain import _OUTLET, _flat_routing, _priority_flood

    nr, nc = 9, 12
    filled, fdir = _priority_flood(np.full((nr, nc), 3.0, np.float32))
    assert _flat_routing(filled, fdir, mfd) == (nr - 2) * (nc - 2)
    to_edge = np.fromfunction(
        lambda r, c: np.minimum.reduce([r, c, nr - 1 - r, nc - 1 - c]), (nr, nc)
    )
    for r in range(nr):
        for c in range(nc):
            if to_edge[r, c] == 0:
                assert fdir[r, c] == (0 if mfd else _OUTLET)
            elif mfd:  # bit d: neighbour d strictly nearer the edge
                nearer = [to_edge[r + dr, c + dc] < to_edge[r, c] for dr, dc in _D8_STEPS]
                assert fdir[r, c] == sum(1 << d for d, yes in enumerate(nearer) if yes)
            else:
                dr, dc = _D8_STEPS[int(fdir[r, c])]
                assert to_edge[r + dr, c + dc] == to_edge[r, c] - 1
                assert abs(dr) + abs(dc) == 1  # a side step: diagonals are longer


def _pitted_dem(shape: tuple[int, int], seed: int) -> np.ndarray:
    """A tilted surface with random pits and plateaus, and a hole of no-data."""
    rng = np.random.default_rng(seed)
    rows, cols = np.indices(shape)
    z = (4000.0 + 0.5 * rows + 0.2 * cols + rng.normal(0.0, 0.8, shape)).astype(np.float32)
    z[5:9, 10:16] = 4010.0  # a plateau
    z[shape[0] // 2, shape[1] // 2] = np.nan
    return np.round(z, 1)  # ties: flats inside filled pits


@pytest.mark.parametrize(
    ("method", "streams", "weights"),
    [("d8", "invest", "exact"), ("mfd", "invest", "invest"), ("mfd", "threshold", "exact")],
)
def test_terrain_ls_empty_streams_is_ls_without_the_stream_pixels(
    method: str, streams: str, weights: str
) -> None:
    # The lean path (no stream grid; for D8, uint16 counts and LS over the DEM) must give
    # what the full path gives, with NaN on its stream pixels.
    from pastures.terrain import terrain_ls

    z = _pitted_dem((60, 80), seed=3)
    kw = {"method": method, "streams": streams, "mfd_weights": weights, "stream_threshold": 40}
    full, on_stream = terrain_ls(Dem(z.copy(), Affine(10, 0, 0, 0, -10, 0)), **kw)
    lean, none = terrain_ls(
        Dem(z.copy(), Affine(10, 0, 0, 0, -10, 0)), overwrite=True, empty_streams=True, **kw
    )
    assert none is None
    assert on_stream.any()
    assert (~on_stream & np.isfinite(full)).any()
    np.testing.assert_array_equal(lean, np.where(on_stream, np.nan, full))


def test_d8_counts_above_the_uint16_range_stay_streams() -> None:
    # A strip 70,000 pixels long: counts pass 65,535, where the lean path's uint16 counts
    # stop growing; those pixels are streams (far above the threshold) either way.
    from pastures.terrain import terrain_ls

    z = np.tile(np.linspace(4500.0, 4000.0, 70_000, dtype=np.float32), (2, 1))
    kw = {"method": "d8", "streams": "invest", "stream_threshold": 1000}
    full, on_stream = terrain_ls(Dem(z.copy(), Affine(10, 0, 0, 0, -10, 0)), **kw)
    assert flow_accumulation(z).max() > 65_535  # each row drains along the strip
    lean, _ = terrain_ls(Dem(z.copy(), Affine(10, 0, 0, 0, -10, 0)), empty_streams=True, **kw)
    np.testing.assert_array_equal(lean, np.where(on_stream, np.nan, full))
    assert np.isnan(lean[:, -1]).all()
    assert np.isfinite(lean[:, :900]).all()


def test_fill_treats_minus_zero_as_zero() -> None:
    # -0.0 and 0.0 are the same height, with different bits (and different queue keys):
    # a pit of both fills to its rim like any other.
    z = np.ones((3, 5), np.float32)
    z[1, 1] = 0.0
    z[1, 2] = np.float32(-0.0)
    z[1, 3] = 0.5
    np.testing.assert_array_equal(fill_depressions(z), np.ones((3, 5), np.float32))


def test_interior_holes_are_the_no_data_components_off_the_border() -> None:
    """Against scipy's 8-connected labelling, on thin and odd grids as well."""
    from scipy import ndimage

    from pastures.terrain import interior_holes

    rng = np.random.default_rng(1)
    for shape in [(1, 1), (1, 5), (5, 1), (2, 2), (3, 7), (40, 33), (120, 97)]:
        for share in (0.3, 0.5, 0.6):
            z = np.where(rng.random(shape) < share, np.nan, 4000.0).astype(np.float32)
            labels, _ = ndimage.label(np.isnan(z), structure=np.ones((3, 3)))
            edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
            expected = (labels > 0) & ~np.isin(labels, edge[edge > 0])
            assert np.array_equal(interior_holes(z), expected), (shape, share)
