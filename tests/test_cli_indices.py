"""``pastures indices`` through its real entry point."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from affine import Affine
from click.testing import CliRunner
from shapely.geometry import box

from imagery_helpers import UTM, X0, Y0, s2_band_files, stac_item, write_json
from pastures import schema
from pastures.cli import main


@pytest.fixture
def plots_file(tmp_path):
    frame = gpd.GeoDataFrame(
        {
            schema.PLOT_CODE: ["A", "B"],
            schema.COMMUNITY: ["Alfa", "Alfa"],
            schema.PASTURE_TYPE: ["bofedal", "pajonal"],
        },
        geometry=[
            box(X0 + 10, Y0 - 50, X0 + 50, Y0 - 10),
            box(X0 + 50, Y0 - 90, X0 + 90, Y0 - 50),
        ],
        crs=UTM,
    ).to_crs("EPSG:4326")
    path = tmp_path / "plots.geojson"
    frame.to_file(path)
    return path


def test_indices_from_stac_items_writes_the_tables(tmp_path, plots_file):
    items = []
    for date, nir in (("20240105", 0.5), ("20240115", 0.3)):
        files = s2_band_files(tmp_path / "data" / date, date=date, nir=nir)
        items.append(
            stac_item(
                f"S2B_19KDC_{date}_0_L2A",
                {"red": str(files["B04"]), "nir": str(files["B08"]), "scl": str(files["SCL"])},
                date=f"{date[:4]}-{date[4:6]}-{date[6:]}",
            )
        )
    items_path = write_json(
        tmp_path / "items.json", {"type": "FeatureCollection", "features": items}
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "indices",
            str(items_path),
            "--plots",
            str(plots_file),
            "--index",
            "ndvi",
            "--index",
            "savi",
            "--edge-rule",
            "exact",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 of 2 date(s) usable" in result.output
    table = pd.read_parquet(out / "index_series.parquet")
    assert list(table.columns) == list(schema.ZONAL_COLUMNS)
    assert set(table[schema.INDEX]) == {"ndvi", "savi"}
    means = table[(table[schema.STATISTIC] == schema.STAT_MEAN) & (table[schema.INDEX] == "ndvi")]
    assert sorted(means[schema.VALUE].round(6)) == [0.5, 0.5, 0.666667, 0.666667]
    csv = pd.read_csv(out / "index_series.csv")
    assert len(csv) == len(table)
    summary = pd.read_csv(out / "plot_index_summary.csv")
    assert summary[schema.PLOT_CODE].tolist() == ["A", "B"]
    assert (summary[schema.EDGE_RULE] == "exact").all()
    for name in ("index_dates.csv", "index_trends.csv", "index_seasonal_profile.csv"):
        assert (out / name).exists()


def test_bad_scenes_are_listed_and_good_results_kept(tmp_path, plots_file):
    s2_band_files(tmp_path / "good", date="20240105")
    files = s2_band_files(tmp_path / "l1c", date="20240115")
    l1c = stac_item(
        "S2B_24MUV_20240115_0_L1C", {"red": str(files["B04"])}, collection="sentinel-2-l1c"
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "indices",
            str(tmp_path / "good"),
            str(write_json(tmp_path / "l1c.json", l1c)),
            "--plots",
            str(plots_file),
            "--index",
            "ndvi",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Level-1C" in result.output
    assert "S2B_24MUV_20240115_0_L1C" in (out / "index_problems.txt").read_text()


def test_no_usable_scene_is_an_error_without_traceback(tmp_path, plots_file):
    s2_band_files(tmp_path / "away", transform=Affine(10, 0, X0 + 50_000, 0, -10, Y0))
    result = CliRunner().invoke(
        main,
        [
            "indices",
            str(tmp_path / "away"),
            "--plots",
            str(plots_file),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 1
    assert "No index value could be computed" in result.output
    assert "Traceback" not in result.output


def test_unknown_index_is_refused(tmp_path, plots_file):
    s2_band_files(tmp_path / "s")
    result = CliRunner().invoke(
        main, ["indices", str(tmp_path / "s"), "--plots", str(plots_file), "--index", "xyz"]
    )
    assert result.exit_code == 2
    assert "xyz" in result.output


def test_only_level1c_items_is_a_clear_error(tmp_path, plots_file):
    files = s2_band_files(tmp_path / "l1c", date="20240115")
    l1c = stac_item(
        "S2B_24MUV_20240115_0_L1C", {"red": str(files["B04"])}, collection="sentinel-2-l1c"
    )
    result = CliRunner().invoke(
        main,
        [
            "indices",
            str(write_json(tmp_path / "l1c.json", l1c)),
            "--plots",
            str(plots_file),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 1
    assert "Level-1C" in result.output
    assert "No index value could be computed" in result.output


def test_online_search_feeds_the_same_path(tmp_path, plots_file, monkeypatch):
    files = s2_band_files(tmp_path / "data", date="20240105")
    item = stac_item(
        "S2B_19KDC_20240105_0_L2A",
        {"red": str(files["B04"]), "nir": str(files["B08"]), "scl": str(files["SCL"])},
        date="2024-01-05",
    )
    asked = {}

    def fake_search(bbox, start, end, **kwargs):
        asked.update(bbox=bbox, start=start, end=end)
        return [item]

    monkeypatch.setattr("pastures.imagery.search_stac", fake_search)
    result = CliRunner().invoke(
        main,
        [
            "indices",
            "--plots",
            str(plots_file),
            "--search",
            "2024-01-01/2024-01-31",
            "--index",
            "ndvi",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert asked["start"] == "2024-01-01"
    west, south, east, north = asked["bbox"]
    assert -69.6 < west < east < -69.5
    assert -16.4 < south < north < -16.3
    assert "1 of 1 date(s) usable" in result.output


def test_no_scenes_and_no_search():
    result = CliRunner().invoke(main, ["indices", "--plots", "x.gpkg"])
    assert result.exit_code != 0
