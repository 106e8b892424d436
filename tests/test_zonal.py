"""Per-plot zonal statistics and the index time series (pastures.zonal)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from shapely.geometry import box

from imagery_helpers import UTM, X0, Y0, s2_band_files, stac_item, write_json
from pastures import schema
from pastures.errors import CRSError, LayerError, ParameterError
from pastures.zonal import (
    exact_coverage,
    index_series,
    plot_coverage,
    plot_index_series,
    plot_summary,
    wide_series,
    zonal_statistics,
)

# A 4 x 4 raster of 1 m pixels, upper-left corner (0, 4) (rasterstats' test layout).
T4 = Affine(1, 0, 0, 0, -1, 4)
R4 = np.arange(16, dtype=np.float32).reshape(4, 4)


def test_whole_pixel_square_under_every_rule():
    plot = box(1, 1, 3, 3)  # pixels rows 1-2, cols 1-2: values 5, 6, 9, 10
    for rule in ("centre", "exact", "inner", "all_touched"):
        cov = plot_coverage([plot], T4, (4, 4), edge_rule=rule)
        stats = zonal_statistics(R4, cov).iloc[0]
        if rule == "all_touched":
            # GDAL also burns the pixels the outline only touches along their edges
            assert stats[schema.STAT_COUNT] >= 4
            continue
        assert stats[schema.STAT_MEAN] == pytest.approx(7.5)
        assert stats[schema.STAT_MEDIAN] == pytest.approx(7.5)
        assert stats[schema.STAT_STD] == pytest.approx(np.std([5, 6, 9, 10]))
        assert stats[schema.STAT_P10] == pytest.approx(np.percentile([5, 6, 9, 10], 10))
        assert stats[schema.STAT_COUNT] == pytest.approx(4)
        assert stats[schema.STAT_VALID_FRACTION] == pytest.approx(1)


def test_half_pixel_offset_square_by_hand():
    # box(0.5, 0.5, 2.5, 2.5) covers pixel (row 2, col 1) fully, four corners by 1/4,
    # four edges by 1/2: rows 1-3, cols 0-2.
    plot = box(0.5, 0.5, 2.5, 2.5)
    rows, cols, w = exact_coverage(plot, T4)
    cover = np.zeros((4, 4))
    cover[rows, cols] = w
    expected = np.array(
        [[0, 0, 0, 0], [0.25, 0.5, 0.25, 0], [0.5, 1, 0.5, 0], [0.25, 0.5, 0.25, 0]]
    )
    np.testing.assert_allclose(cover, expected)
    exact = zonal_statistics(R4, plot_coverage([plot], T4, (4, 4), edge_rule="exact")).iloc[0]
    assert exact[schema.STAT_MEAN] == pytest.approx((cover * R4).sum() / 4)
    assert exact[schema.STAT_COUNT] == pytest.approx(4)  # 4 m² of 1 m² pixels
    inner = zonal_statistics(R4, plot_coverage([plot], T4, (4, 4), edge_rule="inner")).iloc[0]
    assert inner[schema.STAT_MEAN] == 9
    assert inner[schema.STAT_COUNT] == 1


def test_exact_coverage_sums_to_area_with_holes_and_parts():
    t = Affine(10, 0, 440_000, 0, -10, 8_190_100)
    ring = shapely.Point(440_050, 8_190_050).buffer(40)
    geoms = [
        ring.difference(shapely.Point(440_050, 8_190_050).buffer(15)),
        shapely.MultiPolygon(
            [
                box(440_001, 8_190_003, 440_013, 8_190_017),
                box(440_061, 8_190_033, 440_097, 8_190_071),
            ]
        ),
        shapely.Polygon([(440_003, 8_190_002), (440_091, 8_190_011), (440_023, 8_190_087)]),
    ]
    for g in geoms:
        _, _, w = exact_coverage(g, t)
        assert w.sum() * 100 == pytest.approx(g.area, rel=1e-9)
        assert (w > 0).all()
        assert (w <= 1).all()


def random_plots(n: int, seed: int):
    rng = np.random.default_rng(seed)
    plots = []
    for _ in range(n):
        cx, cy = X0 + rng.uniform(50, 950), Y0 - rng.uniform(50, 950)
        pts = rng.normal(0, rng.uniform(4, 60), size=(8, 2)) + np.array([cx, cy])
        plot = shapely.MultiPoint(pts).convex_hull
        if plot.area > 2000 and rng.random() < 0.3:
            plot = plot.difference(shapely.Point(cx, cy).buffer(np.sqrt(plot.area) / 6))
        plots.append(plot)
    return plots


@pytest.fixture(scope="module")
def raster_and_plots():
    rng = np.random.default_rng(3)
    values = rng.normal(0.4, 0.1, (100, 100)).astype(np.float32)
    values[rng.random((100, 100)) < 0.1] = np.nan
    transform = Affine(10, 0, X0, 0, -10, Y0)
    return values, transform, random_plots(40, 4)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # rasterstats uses Affine *
@pytest.mark.parametrize("rule", ["centre", "all_touched"])
def test_centre_and_all_touched_equal_rasterstats(raster_and_plots, rule):
    rasterstats = pytest.importorskip("rasterstats")
    values, transform, plots = raster_and_plots
    cov = plot_coverage(plots, transform, values.shape, edge_rule=rule)
    ours = zonal_statistics(values, cov)
    theirs = rasterstats.zonal_stats(
        plots,
        np.where(np.isnan(values), -9999, values),
        affine=transform,
        nodata=-9999,
        stats="mean median std count percentile_10 percentile_90",
        all_touched=rule == "all_touched",
    )
    exact = zonal_statistics(
        values, plot_coverage(plots, transform, values.shape, edge_rule="exact")
    )
    pixel_area = abs(transform.a * transform.e)
    compared = fell_back = 0
    for i, expected in enumerate(theirs):
        got = ours.iloc[i]
        if plots[i].area < pixel_area or expected["count"] == 0:
            # Smaller than a pixel, or no pixel under the rule: the exact coverage is
            # used under every rule (rasterstats would give whole pixels or none).
            assert cov.rules_used[i] == "exact"
            pd.testing.assert_series_equal(got, exact.iloc[i])
            fell_back += 1
            continue
        assert cov.rules_used[i] == rule
        assert got[schema.STAT_COUNT] == expected["count"]
        if expected["count"] == 0:
            continue
        for ours_name, theirs_name in [
            (schema.STAT_MEAN, "mean"),
            (schema.STAT_MEDIAN, "median"),
            (schema.STAT_STD, "std"),
            (schema.STAT_P10, "percentile_10"),
            (schema.STAT_P90, "percentile_90"),
        ]:
            assert got[ours_name] == pytest.approx(expected[theirs_name], rel=1e-6, abs=1e-9)
        compared += 1
    assert compared >= 30
    assert fell_back >= 1  # the random layout holds sub-pixel plots: the branch is exercised


def test_exact_equals_exactextract(raster_and_plots):
    exactextract = pytest.importorskip("exactextract")
    from exactextract.raster import NumPyRasterSource

    values, transform, plots = raster_and_plots
    cov = plot_coverage(plots, transform, values.shape, edge_rule="exact")
    ours = zonal_statistics(values, cov)
    rows, cols = values.shape
    source = NumPyRasterSource(
        values,
        xmin=transform.c,
        ymin=transform.f + rows * transform.e,
        xmax=transform.c + cols * transform.a,
        ymax=transform.f,
        nodata=np.nan,
    )
    frame = gpd.GeoDataFrame({"id": range(len(plots))}, geometry=plots, crs=UTM)
    theirs = exactextract.exact_extract(
        source,
        frame,
        ["mean", "median", "stdev", "count", "quantile(q=0.1)", "quantile(q=0.9)"],
        output="pandas",
    )
    for ours_name, theirs_name in [
        (schema.STAT_MEAN, "mean"),
        (schema.STAT_MEDIAN, "median"),
        (schema.STAT_STD, "stdev"),
        (schema.STAT_COUNT, "count"),
        (schema.STAT_P10, "quantile_10"),
        (schema.STAT_P90, "quantile_90"),
    ]:
        # exactextract stores coverage fractions in single precision
        np.testing.assert_allclose(
            ours[ours_name].to_numpy(), theirs[theirs_name].to_numpy(), rtol=2e-6, atol=1e-6
        )


def test_plot_smaller_than_a_pixel_falls_back_to_exact(caplog):
    caplog.set_level("INFO", logger="pastures.zonal")
    tiny = box(1.2, 1.2, 1.6, 1.7)  # inside pixel row 2, col 1 (value 9), 0.2 m²
    cov = plot_coverage([tiny], T4, (4, 4), edge_rule="inner", plot_ids=["T1"])
    assert cov.rules_used.tolist() == ["exact"]
    assert "falling back to 'exact'" in caplog.text
    stats = zonal_statistics(R4, cov).iloc[0]
    assert stats[schema.STAT_MEAN] == 9
    assert stats[schema.STAT_COUNT] == pytest.approx(0.2)


@pytest.mark.parametrize("rule", ["centre", "all_touched", "inner"])
def test_sub_pixel_plots_fall_back_to_exact_under_every_rule(rule):
    # 10 m pixels. A 6 x 6 m plot centred on the corner shared by four pixels covers
    # 9 m² (0.09) of each: exactextract's answer is their plain mean with a count of
    # 0.36. rasterstats gives no pixel under 'centre' and four whole ones under
    # 'all_touched'; a 5 x 5 m plot inside one pixel is a quarter of it, not a whole.
    t = Affine(10, 0, 0, 0, -10, 40)
    corner = box(7, 17, 13, 23)  # centred on (10, 20): rows 1-2, cols 0-1
    inside = box(12, 12, 17, 17)  # in row 2, col 1
    cov = plot_coverage([corner, inside], t, (4, 4), edge_rule=rule, plot_ids=["C", "I"])
    assert cov.rules_used.tolist() == ["exact", "exact"]
    stats = zonal_statistics(R4, cov)
    assert stats.loc["C", schema.STAT_MEAN] == pytest.approx((4 + 5 + 8 + 9) / 4)
    assert stats.loc["C", schema.STAT_COUNT] == pytest.approx(0.36)
    assert stats.loc["I", schema.STAT_MEAN] == 9
    assert stats.loc["I", schema.STAT_COUNT] == pytest.approx(0.25)
    exactextract = pytest.importorskip("exactextract")
    from exactextract.raster import NumPyRasterSource

    source = NumPyRasterSource(R4, xmin=0, ymin=0, xmax=40, ymax=40, nodata=np.nan)
    frame = gpd.GeoDataFrame({"id": ["C", "I"]}, geometry=[corner, inside], crs=UTM)
    theirs = exactextract.exact_extract(source, frame, ["mean", "count"], output="pandas")
    np.testing.assert_allclose(stats[schema.STAT_MEAN], theirs["mean"], rtol=1e-6)
    np.testing.assert_allclose(stats[schema.STAT_COUNT], theirs["count"], rtol=1e-6)


def test_masked_pixels_and_plots_partly_outside_the_raster():
    values = R4.copy()
    values[1, 1] = np.nan
    inside = box(1, 1, 3, 3)
    half_out = box(-2, 0, 2, 2)  # 8 pixels, 4 of them off the raster
    stats = zonal_statistics(values, plot_coverage([inside, half_out], T4, (4, 4)))
    assert stats[schema.STAT_COUNT].tolist() == [3, 4]
    assert stats[schema.STAT_MEAN].iloc[0] == pytest.approx((6 + 9 + 10) / 3)
    assert stats[schema.STAT_VALID_FRACTION].tolist() == pytest.approx([0.75, 0.5])
    all_nan = zonal_statistics(
        np.full((4, 4), np.nan, np.float32), plot_coverage([inside], T4, (4, 4))
    )
    assert all_nan[schema.STAT_COUNT].iloc[0] == 0
    assert np.isnan(all_nan[schema.STAT_MEAN].iloc[0])


def test_unknown_edge_rule():
    with pytest.raises(ParameterError, match="Unknown edge rule 'middle'"):
        plot_coverage([box(0, 0, 1, 1)], T4, (4, 4), edge_rule="middle")  # type: ignore[arg-type]


# --- the time series over scenes ---------------------------------------------------


def plots_frame(crs: str = UTM) -> gpd.GeoDataFrame:
    # Plot A: 4 x 4 pixels in the upper-left of the test grid; plot B: 4 x 4 lower-right.
    a = box(X0 + 10, Y0 - 50, X0 + 50, Y0 - 10)
    b = box(X0 + 50, Y0 - 90, X0 + 90, Y0 - 50)
    frame = gpd.GeoDataFrame({schema.PLOT_CODE: ["A", "B"]}, geometry=[a, b], crs=UTM)
    return frame.to_crs(crs)


def test_series_over_dates_with_cloud_and_mosaic(tmp_path):
    # Day 1: clear everywhere (NDVI 2/3). Day 2: tile KDC (NDVI 2/3) cloudy over plot A,
    # tile KDB (NIR 0.3: NDVI 0.5) clear: plot A takes KDB's pixels, once each; for plot B
    # both are clear and the first scene in id order (T19KDB...) is kept, once.
    s2_band_files(tmp_path / "d1", date="20240105", red=0.1, nir=0.5)
    scl = np.full((5, 5), 4, dtype=np.uint8)
    scl[:3, :3] = 9
    s2_band_files(tmp_path / "d2a", date="20240115", tile="19KDC", nir=0.5, scl=scl)
    s2_band_files(tmp_path / "d2b", date="20240115", tile="19KDB", nir=0.3)
    # Day 3: all cloud.
    s2_band_files(tmp_path / "d3", date="20240125", scl=9)
    result = index_series(
        plots_frame(), [tmp_path / d for d in ("d1", "d2a", "d2b", "d3")], indices=["ndvi"]
    )
    wide = wide_series(result.table).set_index([schema.PLOT_CODE, schema.DATE])
    day1, day2, day3 = (np.datetime64(d) for d in ("2024-01-05", "2024-01-15", "2024-01-25"))
    assert wide.loc[("A", day1), schema.STAT_MEAN] == pytest.approx(2 / 3)
    assert wide.loc[("A", day1), schema.STAT_COUNT] == 16
    # Day 2, plot A: 16 pixels, all from KDB (KDC's were cloud): NDVI 0.2/0.4
    assert wide.loc[("A", day2), schema.STAT_MEAN] == pytest.approx(0.5)
    assert wide.loc[("A", day2), schema.STAT_COUNT] == 16
    assert wide.loc[("B", day2), schema.STAT_MEAN] == pytest.approx(0.5)
    assert wide.loc[("B", day2), schema.STAT_COUNT] == 16
    assert wide.loc[("A", day3), schema.STAT_COUNT] == 0
    assert wide.loc[("A", day3), schema.STAT_VALID_FRACTION] == 0
    assert result.dates[schema.DATE_STATUS].tolist() == ["ok", "ok", "all-masked"]
    assert [p.rule for p in result.problems] == ["all-masked"]
    assert list(result.table.columns) == list(schema.ZONAL_COLUMNS)


def test_plots_in_another_crs_are_reprojected_not_the_imagery(tmp_path, caplog):
    s2_band_files(tmp_path / "s", red=0.1, nir=0.5)
    caplog.set_level("INFO")
    table = plot_index_series(
        plots_frame("EPSG:4326"), tmp_path / "s", indices=["ndvi"], edge_rule="exact"
    )
    means = table[table[schema.STATISTIC] == schema.STAT_MEAN][schema.VALUE]
    assert means.tolist() == pytest.approx([2 / 3, 2 / 3])
    assert "reprojected from EPSG:4326 to EPSG:32719" in caplog.text


def test_bad_scenes_are_reported_and_good_ones_kept(tmp_path):
    s2_band_files(tmp_path / "good", date="20240105")
    far = Affine(10, 0, X0 + 50_000, 0, -10, Y0)
    s2_band_files(tmp_path / "far", date="20240115", transform=far)
    broken = s2_band_files(tmp_path / "broken", date="20240125")
    broken["B04"].write_bytes(broken["B04"].read_bytes()[:200])
    files = s2_band_files(tmp_path / "l1c", date="20240204")
    l1c = stac_item(
        "S2B_MSIL1C_20240204",
        {"red": str(files["B04"]), "nir": str(files["B08"])},
        properties={"s2:product_type": "S2MSI1C"},
        collection="sentinel-2-l1c",
    )
    sources = [
        tmp_path / "good",
        tmp_path / "far",
        tmp_path / "broken",
        write_json(tmp_path / "l1c.json", l1c),
    ]
    result = index_series(plots_frame(), sources, indices=["ndvi"])
    assert result.dates[schema.DATE_STATUS].tolist() == ["ok", "no-overlap", "failed"]
    assert len(result.table) == 2 * len(schema.ZONAL_STATISTICS)  # the good date, both plots
    rules = {p.rule for p in result.problems}
    assert {"no-overlap", "unusable-scene"} <= rules
    assert any("T19KDC_20240125" in p.message and "B04" in p.message for p in result.problems)
    l1c_problem = next(p for p in result.problems if "Level-1C" in p.message)
    assert l1c_problem.feature == "S2B_MSIL1C_20240204"
    # evi needs the blue band, which these scenes lack: reported, not a crash
    evi = index_series(plots_frame(), tmp_path / "good", indices=["evi"])
    assert evi.table.empty
    assert any("blue" in p.message for p in evi.problems)


def test_missing_crs_and_duplicate_codes():
    plots = plots_frame()
    with pytest.raises(CRSError, match="no CRS"):
        index_series(plots.set_crs(None, allow_override=True), [], indices=["ndvi"])
    plots[schema.PLOT_CODE] = ["A", "A"]
    with pytest.raises(LayerError, match="not unique"):
        index_series(plots, [], indices=["ndvi"])


def test_summary_is_one_row_per_plot(tmp_path):
    s2_band_files(tmp_path / "d1", date="20240105", nir=0.5)
    s2_band_files(tmp_path / "d2", date="20240115", nir=0.3)
    result = index_series(plots_frame(), [tmp_path / "d1", tmp_path / "d2"], indices=["ndvi"])
    summary = plot_summary(result.table).set_index(schema.PLOT_CODE)
    assert summary.loc["A", "ndvi_mean"] == pytest.approx((2 / 3 + 0.5) / 2)
    assert summary.loc["A", "ndvi_last"] == pytest.approx(0.5)
    assert summary.loc["B", "ndvi_dates"] == 2


@pytest.mark.parametrize("rule", ["exact", "inner", "centre"])
def test_compiled_statistics_equal_the_numpy_reference(raster_and_plots, rule):
    from pastures.zonal import _statistics_numpy, statistics_array

    values, transform, plots = raster_and_plots
    cov = plot_coverage(plots, transform, values.shape, edge_rule=rule)
    np.testing.assert_allclose(
        statistics_array(values, cov), _statistics_numpy(values, cov), rtol=1e-12, atol=1e-12
    )


def test_same_day_landsat_and_sentinel2_keep_the_clearer_observation(tmp_path):
    from imagery_helpers import write_raster

    s2_band_files(tmp_path / "s2", date="20240105", red=0.1, nir=0.5)
    # Landsat of the same day in EPSG:32619: same eastings, northings minus 10,000 km.
    transform = Affine(30, 0, X0 - 30, 0, -30, Y0 - 10_000_000 + 30)
    stem = "LC08_L2SP_003071_20240105_20240110_02_T1"
    for band, refl in (("SR_B4", 0.1), ("SR_B5", 0.3)):
        dn = np.full((6, 6), round((refl + 0.2) / 2.75e-5), dtype=np.uint16)
        write_raster(tmp_path / "ls" / f"{stem}_{band}.TIF", dn, transform, crs="EPSG:32619")
    result = index_series(
        plots_frame(), [tmp_path / "s2", tmp_path / "ls"], indices=["ndvi"], edge_rule="centre"
    )
    assert len(result.dates) == 2  # two observations of the day, one per platform
    wide = wide_series(result.table)
    assert len(wide) == 2  # but one row per plot and date
    assert wide[schema.STAT_MEAN].tolist() == pytest.approx([2 / 3, 2 / 3])  # 16 px beat 30 m


def test_scene_of_10m_bands_gets_the_indices_they_allow(tmp_path):
    # Only B02, B03, B04, B08 (no SWIR): NDVI, SAVI, MSAVI2 and EVI are computed, NDMI
    # and the bofedal index are skipped with a problem naming swir16 (before, the whole
    # scene was refused). NDVI by hand: (0.5 - 0.1) / (0.5 + 0.1) = 2/3.
    s2_band_files(tmp_path / "s", red=0.1, nir=0.5, extra={"B02": 0.05, "B03": 0.08})
    result = index_series(plots_frame(), tmp_path / "s")
    assert result.dates[schema.DATE_STATUS].tolist() == ["ok"]
    computed = sorted(result.table[schema.INDEX].unique())
    assert computed == ["evi", "msavi2", "ndvi", "savi"]
    (skipped,) = [p for p in result.problems if p.rule == "index-skipped"]
    assert "ndmi (needs swir16)" in skipped.message
    assert "bofedal (needs swir16)" in skipped.message
    wide = wide_series(result.table)
    ndvi = wide[wide[schema.INDEX] == "ndvi"][schema.STAT_MEAN]
    np.testing.assert_allclose(ndvi, 2 / 3, rtol=1e-6)


def test_out_of_range_index_values_are_masked_and_counted(tmp_path):
    # Red 0.1, NIR 0.5 except 3 pixels of plot A where the DNs give red -0.0149 and NIR
    # 0.0151 (NDVI 150): they are masked and counted, the others give 2/3.
    red = np.full((10, 10), 0.1)
    nir = np.full((10, 10), 0.5)
    red[2, 2:5] = -0.0149
    nir[2, 2:5] = 0.0151
    s2_band_files(tmp_path / "s", red=red, nir=nir)
    result = index_series(plots_frame(), tmp_path / "s", indices=["ndvi"])
    (problem,) = [p for p in result.problems if p.rule == "out-of-range"]
    assert "ndvi 3 pixel(s) outside [-1.0, 1.0]" in problem.message
    wide = wide_series(result.table).set_index(schema.PLOT_CODE)
    assert wide.loc["A", schema.STAT_COUNT] == 13  # 16 pixels, 3 masked
    assert wide.loc["A", schema.STAT_MEAN] == pytest.approx(2 / 3, rel=1e-6)
    assert wide.loc["B", schema.STAT_COUNT] == 16


def test_all_cloud_run_gives_empty_trends_not_a_crash(tmp_path):
    # The only scene is all cloud (SCL 9): every statistic is NaN with a count of 0, the
    # date is 'all-masked', and the trend table is empty with its columns (it raised
    # KeyError 'browning').
    from pastures.timeseries import analyse_series

    s2_band_files(tmp_path / "s", scl=9)
    result = index_series(plots_frame(), tmp_path / "s", indices=["ndvi"])
    assert result.dates[schema.DATE_STATUS].tolist() == ["all-masked"]
    analysis = analyse_series(result.table, index="ndvi")
    assert analysis.trends.empty
    assert schema.BROWNING in analysis.trends.columns
    assert analysis.trends.loc[analysis.trends[schema.BROWNING], schema.PLOT_CODE].tolist() == []
