"""RUSLE factors, soil loss, grazing pressure and risk."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely.geometry import Point, box

from imagery_helpers import write_raster
from pastures import schema as S
from pastures.erosion import (
    JULI_MONTHLY_RAIN_MM,
    CoverParams,
    DemCoverageWarning,
    PressureParams,
    RiskThresholds,
    RusleParams,
    SupportPractices,
    assess_risk,
    cover_factor,
    grazing_pressure,
    modified_fournier_index,
    piosphere_weights,
    plot_labels,
    rainfall_erosivity,
    risk_classes,
    soil_loss,
    support_practice_factor,
    vegetation_cover,
)
from pastures.errors import CRSError, LayerError, ParameterError
from pastures.terrain import Dem, ls_factor

X0, Y0, D = 450_000.0, 8_200_000.0, 10.0
TRANSFORM = Affine(D, 0, X0, 0, -D, Y0)


def plane_dem(slope_pct: float, rows: int = 20, cols: int = 20) -> Dem:
    """A plane rising eastwards at `slope_pct`: all flow goes west along the rows."""
    z = 3900.0 + np.tile(np.arange(cols) * D * slope_pct / 100.0, (rows, 1))
    return Dem(z.astype(np.float32), TRANSFORM)


def square(col0: int, row0: int, size: int) -> box:
    return box(X0 + col0 * D, Y0 - (row0 + size) * D, X0 + (col0 + size) * D, Y0 - row0 * D)


@pytest.fixture
def plots() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            S.PLOT_CODE: ["A", "B"],
            S.COMMUNITY: ["Pasiri", "Callacami"],
            S.PASTURE_TYPE: ["pajonal", "bofedal"],
            S.FENCED_YEAR: [2019, None],
        },
        geometry=[square(2, 2, 5), square(10, 10, 5)],
        crs=S.WORKING_CRS,
    )


@pytest.fixture
def stocking() -> pd.DataFrame:
    return pd.DataFrame(
        {S.PLOT_CODE: ["A", "B"], S.STOCKING_UO: [3.0, 10.0], S.CAPACITY_UO: [1.5, 10.0]}
    )


# --- R ------------------------------------------------------------------------------------


def test_modified_fournier_index_of_juli_by_hand() -> None:
    squares = sum(p * p for p in JULI_MONTHLY_RAIN_MM)
    assert squares == pytest.approx(127_695.55, abs=0.01)
    assert modified_fournier_index(JULI_MONTHLY_RAIN_MM) == pytest.approx(127_695.55 / 885.5)


def test_erosivity_from_fournier_index_high_branch() -> None:
    f = 127_695.55 / 885.5
    r = rainfall_erosivity(method="fournier")
    assert r == pytest.approx(95.77 - 6.081 * f + 0.4770 * f * f, rel=1e-6)
    assert 9_000 < r < 9_300


def test_erosivity_low_branches() -> None:
    even = [50.0] * 12  # F = 12 * 2500 / 600 = 50 mm, P = 600 mm
    assert rainfall_erosivity(even, method="fournier") == pytest.approx(0.07397 * 50**1.847)
    assert rainfall_erosivity(even, method="annual") == pytest.approx(0.04830 * 600**1.610)


def test_erosivity_from_annual_rainfall_of_juli() -> None:
    p = 885.5
    expected = 587.8 - 1.219 * p + 0.004105 * p * p
    assert rainfall_erosivity() == pytest.approx(expected)  # the default
    assert 2_700 < expected < 2_750


def test_erosivity_needs_twelve_months() -> None:
    with pytest.raises(ParameterError, match="twelve monthly"):
        rainfall_erosivity([100.0] * 11)


# --- C and cover --------------------------------------------------------------------------


def test_van_der_knijff_cover_factor_by_hand() -> None:
    ndvi = np.array([0.0, 0.5, 0.2, -0.2, 1.0, np.nan])
    c = cover_factor(ndvi)
    assert c[0] == pytest.approx(1.0)
    assert c[1] == pytest.approx(math.exp(-2.0))
    assert c[2] == pytest.approx(math.exp(-2 * 0.2 / 0.8), rel=1e-6)
    assert c[3] == 1.0  # bare or water: clipped
    assert c[4] == 0.0
    assert np.isnan(c[5])


def test_cover_factor_stays_in_unit_interval_and_falls_with_ndvi() -> None:
    ndvi = np.linspace(-1, 1, 401)
    c = cover_factor(ndvi, params=CoverParams(alpha=2.5, beta=1.2))
    assert np.all((c >= 0) & (c <= 1))
    assert np.all(np.diff(c) <= 0)


def test_scaled_ndvi_is_refused() -> None:
    with pytest.raises(ParameterError, match="scaled"):
        cover_factor(np.array([3500.0]))


def test_fractional_cover() -> None:
    cover = vegetation_cover(np.array([0.05, 0.425, 0.8, 0.95]))
    np.testing.assert_allclose(cover, [0.0, 0.25, 1.0, 1.0], rtol=1e-6)


# --- P ------------------------------------------------------------------------------------


def test_support_practice_factor_takes_the_best_practice() -> None:
    table = pd.DataFrame(
        {
            S.FENCED_YEAR: [2019, None, None, 2020],
            S.CONTOUR_WORKS: ["si", "", "yes", "1"],
            S.TERRACES: [False, False, False, True],
        }
    )
    p = support_practice_factor(table, practices=SupportPractices(fenced=0.9))
    np.testing.assert_allclose(p, [0.6, 1.0, 0.6, 0.2])


# --- A ------------------------------------------------------------------------------------


def test_soil_loss_by_hand() -> None:
    assert soil_loss(1000.0, 0.03, 2.0, 0.1, 0.5) == pytest.approx(3.0)


def test_soil_loss_carries_nan() -> None:
    a = soil_loss(1000.0, 0.03, np.array([1.0, np.nan]), np.array([np.nan, 0.2]))
    assert np.isnan(a).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"K": 0.35}, "US customary"),
        ({"C": 1.5}, "C \\(cover"),
        ({"R": -5.0}, "R \\(erosivity"),
        ({"P": 2.0}, "P \\(support"),
    ],
)
def test_factors_out_of_range(kwargs: dict, match: str) -> None:
    factors = {"R": 1000.0, "K": 0.03, "LS": 1.0, "C": 0.1, "P": 1.0} | kwargs
    with pytest.raises(ParameterError, match=match):
        soil_loss(**factors)


def test_soil_loss_on_a_tiny_dem_matches_hand_calculation(plots: gpd.GeoDataFrame) -> None:
    dem = plane_dem(10.0)
    ndvi = np.full(dem.shape, 0.5, dtype=np.float32)
    params = RusleParams(erosivity=2000.0, erodibility=0.02)
    result = assess_risk(dem, plots, ndvi=ndvi, params=params)
    # Interior pixel (row 5, col 4) of plot A: slope 10 %, D8 flow from the 15 pixels to its
    # east plus itself; C = exp(-2); P = 1 (fenced counts through C).
    slope = 10.0
    acc = 20 - 4
    theta = math.atan(slope / 100)
    beta = (math.sin(theta) / 0.0896) / (3 * math.sin(theta) ** 0.8 + 0.56)
    m = beta / (1 + beta)
    x = math.sin(theta) + math.cos(theta)
    upslope = math.sqrt((acc - 1) * D * D)
    length = ((upslope + D * D) ** (m + 1) - upslope ** (m + 1)) / (D ** (m + 2) * x**m * 22.13**m)
    ls = length * (16.8 * math.sin(theta) - 0.5)
    expected = 2000.0 * 0.02 * ls * math.exp(-2.0) * 1.0
    assert result.terrain.accumulation[5, 4] == acc
    assert result.soil_loss[5, 4] == pytest.approx(expected, rel=1e-5)


def test_soil_loss_grows_with_slope_and_with_less_cover(plots: gpd.GeoDataFrame) -> None:
    ndvi = np.full((20, 20), 0.5, dtype=np.float32)
    gentle = assess_risk(plane_dem(5.0), plots, ndvi=ndvi)
    steep = assess_risk(plane_dem(20.0), plots, ndvi=ndvi)
    bare = assess_risk(plane_dem(20.0), plots, ndvi=ndvi * 0.4)
    a = gentle.plots.set_index(S.PLOT_CODE)[S.SOIL_LOSS_T_HA_YR]
    b = steep.plots.set_index(S.PLOT_CODE)[S.SOIL_LOSS_T_HA_YR]
    c = bare.plots.set_index(S.PLOT_CODE)[S.SOIL_LOSS_T_HA_YR]
    assert (b > a).all()
    assert (c > b).all()
    assert np.all(np.nan_to_num(steep.soil_loss) >= np.nan_to_num(gentle.soil_loss))


# --- pressure -----------------------------------------------------------------------------


def test_grazing_pressure_ratio(plots: gpd.GeoDataFrame, stocking: pd.DataFrame) -> None:
    gp = grazing_pressure(plots, stocking)
    np.testing.assert_allclose(gp[S.PRESSURE_RATIO], [2.0, 1.0])


def test_grazing_pressure_reports_every_bad_row(plots: gpd.GeoDataFrame) -> None:
    bad = pd.DataFrame(
        {S.PLOT_CODE: ["A", "Z", "B"], S.STOCKING_UO: [-1, 2, "x"], S.CAPACITY_UO: [1, 0, 3]}
    )
    with pytest.raises(LayerError) as info:
        grazing_pressure(plots, bad)
    message = str(info.value)
    assert "row 2 (A): stocking_uo -1" in message
    assert "plot 'Z' is not in the plots layer" in message
    assert "row 3 (Z): capacity_uo 0" in message
    assert "row 4 (B): stocking_uo 'x'" in message


def test_piosphere_weight_by_distance() -> None:
    labels = np.zeros((1, 3), dtype=np.int32)
    labels[0, 2] = -1
    transform = Affine(100, 0, 0, 0, -100, 100)
    w = piosphere_weights(labels, transform, np.array([[50.0, 50.0]]), decay_m=200.0)
    np.testing.assert_allclose(w[0, :2], [1.0, math.exp(-0.5)], rtol=1e-6)
    assert np.isnan(w[0, 2])


def test_piosphere_spreads_pressure_but_keeps_the_plot_mean(
    plots: gpd.GeoDataFrame, stocking: pd.DataFrame
) -> None:
    corrals = gpd.GeoDataFrame(
        {S.CORRAL_ID: ["C1"]}, geometry=[Point(X0 + 25, Y0 - 25)], crs=S.WORKING_CRS
    )
    result = assess_risk(
        plane_dem(10.0),
        plots,
        cover=0.1,
        stocking=stocking,
        corrals=corrals,
        pressure=PressureParams(piosphere_decay_m=50.0),
    )
    labels = plot_labels(plots, (20, 20), TRANSFORM)
    px = result.pressure[labels == 0]
    assert px.mean() == pytest.approx(2.0, rel=1e-5)
    assert px.max() > px.min()
    assert (result.plots[S.PIOSPHERE_DECAY_M] == 50.0).all()
    assert "piosphere decay 50 m" in result.plots[S.RISK_DRIVERS].iloc[0]


def test_piosphere_needs_points(plots: gpd.GeoDataFrame, stocking: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="corrals or water points"):
        assess_risk(
            plane_dem(10.0),
            plots,
            cover=0.1,
            stocking=stocking,
            pressure=PressureParams(piosphere_decay_m=500.0),
        )


# --- risk ---------------------------------------------------------------------------------


def test_risk_classes_combine_soil_loss_and_pressure() -> None:
    a = np.array([1.0, 20.0, 60.0, 250.0, 1.0, 1.0, 60.0, np.nan])
    pr = np.array([0.5, 0.5, 0.5, 0.5, 1.0, 1.5, 2.5, 3.0])
    codes = risk_classes(a, pr)
    np.testing.assert_array_equal(codes, [0, 1, 2, 3, 0, 1, 3, 255])


def test_risk_thresholds_must_increase() -> None:
    with pytest.raises(ParameterError, match="increasing"):
        RiskThresholds(soil_loss=(5.0, 3.0, 25.0))


def test_plot_table_ranking_and_drivers(plots: gpd.GeoDataFrame, stocking: pd.DataFrame) -> None:
    dem = plane_dem(15.0)
    ndvi = np.full(dem.shape, 0.3, dtype=np.float32)
    result = assess_risk(dem, plots, ndvi=ndvi, stocking=stocking)
    table = result.plots
    assert list(table.columns) == [*S.RISK_COLUMNS, "geometry"]
    first = table.iloc[0]
    assert first[S.PLOT_CODE] == "A"  # 2x capacity
    assert first[S.RISK_RANK] == 1
    assert first[S.RISK_DRIVERS].startswith("slope 15 %, dry-season cover 11 %, 2.0x capacity")
    assert result.total_soil_loss_t_yr == pytest.approx(table[S.SOIL_LOSS_T_YR].sum())
    # 25 pixels of 0.01 ha each per plot.
    np.testing.assert_allclose(
        table[S.SOIL_LOSS_T_YR], table[S.SOIL_LOSS_T_HA_YR] * 0.25, rtol=1e-6
    )
    np.testing.assert_allclose(table[S.AREA_HA], 0.25)
    assert set(table[S.RISK_CLASS]) <= set(S.RISK_CLASSES)


def test_dem_hole_is_carried_as_nan(plots: gpd.GeoDataFrame) -> None:
    dem = plane_dem(10.0)
    z = dem.elevation.copy()
    z[3, 3] = np.nan
    result = assess_risk(Dem(z, TRANSFORM), plots, cover=0.2)
    assert np.isnan(result.soil_loss[3, 3])
    assert result.risk[3, 3] == 255
    assert np.isfinite(result.plots[S.SOIL_LOSS_T_HA_YR]).all()


def test_plot_partly_outside_the_dem_warns(plots: gpd.GeoDataFrame) -> None:
    half_out = plots.copy()
    half_out.loc[1, "geometry"] = square(17, 10, 6)  # 3 of 6 columns inside
    with pytest.warns(DemCoverageWarning, match=r"B \(50 %\)"):
        result = assess_risk(plane_dem(10.0), half_out, cover=0.2)
    row = result.plots.set_index(S.PLOT_CODE).loc["B"]
    assert row[S.DEM_COVERAGE] == pytest.approx(0.5)
    # The total counts only the half with terrain data.
    assert row[S.SOIL_LOSS_T_YR] == pytest.approx(row[S.SOIL_LOSS_T_HA_YR] * row[S.AREA_HA] / 2)
    assert "plot covered by terrain data: 50 %" in row[S.RISK_DRIVERS]


def test_plots_off_the_dem_are_refused(plots: gpd.GeoDataFrame) -> None:
    far = plots.copy()
    far["geometry"] = far.translate(50_000, 0)
    with pytest.raises(LayerError, match="No plot overlaps valid DEM data"):
        assess_risk(plane_dem(10.0), far, cover=0.2)


def test_plots_without_crs_are_refused(plots: gpd.GeoDataFrame) -> None:
    with pytest.raises(CRSError, match="no CRS"):
        assess_risk(plane_dem(10.0), plots.set_crs(None, allow_override=True), cover=0.2)


def test_cover_or_ndvi_is_required(plots: gpd.GeoDataFrame) -> None:
    with pytest.raises(ParameterError, match="--ndvi"):
        assess_risk(plane_dem(10.0), plots)


def test_ndvi_off_grid_is_refused(plots: gpd.GeoDataFrame) -> None:
    with pytest.raises(ParameterError, match="resample it onto the DEM grid"):
        assess_risk(plane_dem(10.0), plots, ndvi=np.zeros((3, 3)))


def test_ls_of_plane_matches_terrain_module() -> None:
    # Sanity link between modules: LS on the plane equals ls_factor of slope and area.
    dem = plane_dem(10.0)
    result = assess_risk(
        dem,
        gpd.GeoDataFrame({S.PLOT_CODE: ["A"]}, geometry=[square(0, 0, 20)], crs=S.WORKING_CRS),
        cover=1.0,
    )
    expected = ls_factor(np.array([10.0]), np.array([16.0]), D)[0]
    assert result.terrain.ls[5, 4] == pytest.approx(expected, rel=1e-6)


# --- K from soil polygons -----------------------------------------------------------------


def test_erodibility_from_soil_polygons() -> None:
    from pastures.erosion import erodibility_from_soils

    dem = plane_dem(10.0)
    soils = gpd.GeoDataFrame(
        {"k": [0.02, "0.04"]}, geometry=[square(0, 0, 10), square(10, 0, 5)], crs=S.WORKING_CRS
    ).to_crs(S.LONLAT_CRS)
    k = erodibility_from_soils(soils, dem)
    assert k[5, 5] == pytest.approx(0.02)
    assert k[2, 12] == pytest.approx(0.04)
    assert np.isnan(k[15, 18])


def test_erodibility_in_us_units_is_refused() -> None:
    from pastures.erosion import erodibility_from_soils

    soils = gpd.GeoDataFrame(
        {"K": [0.3, "x"]}, geometry=[square(0, 0, 10), square(10, 0, 5)], crs=S.WORKING_CRS
    )
    with pytest.raises(ParameterError, match=r"row 1: 0.3; row 2: 'x'"):
        erodibility_from_soils(soils, plane_dem(10.0), column="K")
    with pytest.raises(LayerError, match="no column 'k'"):
        erodibility_from_soils(soils, plane_dem(10.0))


# --- settings file ------------------------------------------------------------------------


def test_settings_from_toml(tmp_path) -> None:
    from pastures.erosion import load_settings

    path = tmp_path / "riesgo.toml"
    path.write_text(
        """
[rusle]
rainfall_mm = [50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50]
erosivity_method = "fournier"
erodibility = 0.025
flow_method = "mfd"

[cover]
alpha = 2.5

[practices]
contour_works = 0.5

[pressure]
piosphere_decay_m = 800

[risk]
soil_loss = [5, 11.2, 50]
""",
        encoding="utf-8",
    )
    settings = load_settings(path)
    assert settings.rusle.erosivity == pytest.approx(0.07397 * 50**1.847)
    assert settings.rusle.erodibility == 0.025
    assert settings.rusle.flow_method == "mfd"
    assert settings.rusle.cover.alpha == 2.5
    assert settings.practices.contour_works == 0.5
    assert settings.pressure.piosphere_decay_m == 800
    assert settings.thresholds.soil_loss == (5, 11.2, 50)


def test_settings_report_every_unknown_key(tmp_path) -> None:
    from pastures.erosion import load_settings

    path = tmp_path / "mal.toml"
    path.write_text("[rusle]\nerodability = 0.02\n[paddocks]\nx = 1\n", encoding="utf-8")
    with pytest.raises(
        ParameterError,
        match=r"mal.toml: Unknown settings: \[paddocks\], "
        r"\[rusle\] erodability",
    ):
        load_settings(path)


def test_settings_values_are_validated(tmp_path) -> None:
    from pastures.erosion import load_settings

    path = tmp_path / "k.toml"
    path.write_text("[rusle]\nerodibility = 0.3\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="k.toml: K .*US customary"):
        load_settings(path)


# --- streams, DEM notes (InVEST SDR behaviour worked by hand) -----------------------------


def test_streams_left_empty_as_invest(plots: gpd.GeoDataFrame) -> None:
    # Plane rising east, 20 columns: D8 accumulation of column c is 20 - c pixels. InVEST
    # leaves RKLS/USLE empty where accumulation > threshold (extract_streams_d8): with
    # threshold 12, columns 0-7 (accumulation 13-20) are streams. Plot A covers columns
    # 2-6 (all stream), plot B columns 10-14 (accumulation 10-6: none).
    dem = plane_dem(10.0)
    kept = assess_risk(dem, plots, cover=0.2)
    params = RusleParams(streams="empty", stream_threshold=12)
    empty = assess_risk(dem, plots, cover=0.2, params=params)
    assert empty.stream_pixels == 20 * 8
    assert np.isnan(empty.soil_loss[:, :8]).all()
    np.testing.assert_array_equal(empty.soil_loss[:, 8:], kept.soil_loss[:, 8:])
    a = empty.plots.set_index(S.PLOT_CODE)
    assert np.isnan(a.loc["A", S.SOIL_LOSS_T_HA_YR])
    assert a.loc["A", S.SOIL_LOSS_T_YR] == 0  # all of it on streams
    b_kept = kept.plots.set_index(S.PLOT_CODE).loc["B"]
    assert a.loc["B", S.SOIL_LOSS_T_YR] == pytest.approx(b_kept[S.SOIL_LOSS_T_YR], rel=1e-6)
    assert "left empty on streams" in empty.streams_note
    assert "computed on stream pixels" in kept.streams_note
    # half of plot B on streams: threshold 7 makes columns 0-12 streams (accumulation > 7),
    # so B keeps columns 13-14: its total is the mean of those times 2/5 of its area.
    half = assess_risk(
        dem, plots, cover=0.2, params=RusleParams(streams="empty", stream_threshold=7)
    )
    row = half.plots.set_index(S.PLOT_CODE).loc["B"]
    hill = kept.soil_loss[10:15, 13:15]
    assert row[S.SOIL_LOSS_T_HA_YR] == pytest.approx(hill.mean(), rel=1e-6)
    assert row[S.SOIL_LOSS_T_YR] == pytest.approx(hill.mean() * row[S.AREA_HA] * 2 / 5, rel=1e-6)


def test_stream_settings_are_validated() -> None:
    with pytest.raises(ParameterError, match="streams must be one of keep, empty"):
        RusleParams(streams="drop")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="stream_threshold"):
        RusleParams(stream_threshold=math.nan)
    with pytest.raises(ParameterError, match="l_max must be a positive finite"):
        RusleParams(l_max=math.inf)


def test_holes_inside_the_dem_below_95_percent_warn(plots: gpd.GeoDataFrame) -> None:
    from pastures.erosion import DemQualityWarning
    from pastures.terrain import dem_notes, interior_holes

    z = plane_dem(10.0).elevation.copy()
    z[:, 0] = np.nan  # no-data on the border: the DEM's extent, not a hole
    assert not interior_holes(z).any()
    z[12:16, 2:8] = np.nan  # 24 enclosed pixels of 400 - 20 + 24 ... 6.3 % of the area
    holes = interior_holes(z)
    assert holes.sum() == 24
    notes = dem_notes(Dem(z, TRANSFORM))
    assert len(notes) == 1
    assert "24 no-data pixel(s) enclosed by data (6.3 %" in notes[0]
    with pytest.warns(DemQualityWarning, match="acts as an outlet"):
        result = assess_risk(Dem(z, TRANSFORM), plots, cover=0.2)
    assert result.dem_notes == tuple(notes)
    z[12:16, 2:8] = 1.0
    z[13, 4] = np.nan  # one small void: 0.3 %, no warning
    assert dem_notes(Dem(z, TRANSFORM)) == []


def test_dem_coarser_than_the_grid_is_averaged_down_and_noted(tmp_path) -> None:
    import rasterio

    from pastures.terrain import dem_notes, read_dem

    # A 10 m DEM read onto a 20 m grid: each 20 m pixel is the mean of its four 10 m
    # pixels (averaging), not a bilinear sample. Values 0, 1, 2, ... worked by hand.
    z = np.arange(64, dtype=np.float32).reshape(8, 8) + 3900
    path = tmp_path / "dem10.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=8,
        height=8,
        count=1,
        dtype="float32",
        crs=S.WORKING_CRS,
        transform=TRANSFORM,
        nodata=-9999,
    ) as dst:
        dst.write(z, 1)
    coarse = read_dem(path, resolution=20.0)
    expected = z.reshape(4, 2, 4, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(coarse.elevation, expected, rtol=1e-7)
    assert dem_notes(coarse) == []
    fine = read_dem(path, resolution=5.0)
    (note,) = dem_notes(fine)
    assert "coarser than the working grid (5.0 m)" in note
    assert fine.source_resolution == pytest.approx(10.0)


def test_streams_notes_say_what_was_done() -> None:
    # The note written into the outputs claims "as InVEST SDR" only where it is true.
    d8_empty = RusleParams(streams="empty", stream_threshold=100).streams_note()
    assert "as InVEST SDR" in d8_empty
    mfd_empty = RusleParams(streams="empty", flow_method="mfd").streams_note()
    assert "as InVEST" not in mfd_empty
    assert "InVEST SDR traces MFD streams instead" in mfd_empty
    mfd_invest = RusleParams(streams="invest", flow_method="mfd").streams_note()
    assert "extract_streams_mfd" in mfd_invest
    assert "4-bit" in mfd_invest
    with pytest.raises(ParameterError, match="streams must be one of keep, empty, invest"):
        RusleParams(streams="trace")  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["d8", "mfd"])
def test_soil_loss_file_matches_invest_usle_from_files(tmp_path: Path, method: str) -> None:
    # From GeoTIFFs to a GeoTIFF, R and K as rasters (K on a coarser grid, resampled), C
    # and P as numbers: InVEST SDR 3.20.2's USLE on the fixture DEM with filled pits and
    # plateaus (R 1000, K 0.03, C = P = 1, threshold 60, l_max 25), empty on its streams.
    import rasterio

    from pastures.erosion import soil_loss_file

    fixture = Path(__file__).parent / "data" / "invest_sdr_flats" / "invest_sdr_flats.npz"
    with np.load(fixture) as data:
        dem, usle = data["dem"], data[f"usle_{method}"].astype(np.float64)
    cell, x0, y0 = 30.0, 450_000.0, 8_200_000.0

    def write(name: str, array: np.ndarray, size: float) -> Path:
        return write_raster(
            tmp_path / name,
            np.nan_to_num(array, nan=-9999).astype(np.float32),
            Affine(size, 0, x0, 0, -size, y0),
            crs="EPSG:32719",
            nodata=-9999,
        )

    dem_path = write("dem.tif", dem, cell)
    r_path = write("r.tif", np.full(dem.shape, 1000.0), cell)
    k_path = write("k.tif", np.full((24, 24), 0.03), 2 * cell)
    out = soil_loss_file(
        dem_path,
        tmp_path / "a.tif",
        erosivity=r_path,
        erodibility=k_path,
        cover=1.0,
        method=method,  # type: ignore[arg-type]
        l_max=25.0,
        streams="invest",
        stream_threshold=60,
    )
    with rasterio.open(out) as src:
        ours = src.read(1).astype(np.float64)
        assert src.block_shapes == [(256, 256)] or src.height < 256
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(usle))
    hill = np.isfinite(usle)
    np.testing.assert_allclose(ours[hill], usle[hill], rtol=1e-3)


def test_soil_loss_file_names_the_factor_out_of_range(tmp_path: Path) -> None:
    import rasterio

    from pastures.erosion import soil_loss_file

    profile = {
        "driver": "GTiff", "width": 20, "height": 20, "count": 1, "dtype": "float32",
        "crs": "EPSG:32719", "transform": Affine(30, 0, 450_000, 0, -30, 8_200_000),
    }  # fmt: skip
    with rasterio.open(tmp_path / "dem.tif", "w", **profile) as dst:
        dst.write(3900 + np.arange(400, dtype=np.float32).reshape(20, 20), 1)
    with rasterio.open(tmp_path / "c.tif", "w", **profile) as dst:
        dst.write(np.full((20, 20), 5.0, np.float32), 1)
    with pytest.raises(ParameterError, match=r"C \(cover management\) in c.tif"):
        soil_loss_file(tmp_path / "dem.tif", tmp_path / "a.tif", cover=tmp_path / "c.tif")
    assert not (tmp_path / "a.tif").exists()
