"""The synthetic sample scenes (pastures.sample_imagery)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from shapely.geometry import Point, box

from pastures import imagery, schema
from pastures.sample_imagery import make_sample_scenes
from pastures.zonal import index_series, wide_series

UTM = "EPSG:32719"


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    # Two plots in the overlap of tiles 19KDC and 19KDB (N 8,190,220-8,200,020).
    plots = gpd.GeoDataFrame(
        {
            schema.PLOT_CODE: ["WET", "DRY"],
            schema.PASTURE_TYPE: ["bofedal", "pajonal"],
        },
        geometry=[
            box(440_000, 8_195_000, 440_300, 8_195_300),
            box(441_000, 8_195_000, 441_300, 8_195_300),
        ],
        crs=UTM,
    )
    corrals = gpd.GeoDataFrame(
        {schema.CORRAL_ID: ["C1"]}, geometry=[Point(441_150, 8_195_150)], crs=UTM
    )
    out = tmp_path_factory.mktemp("scenes")
    items = make_sample_scenes(
        plots, corrals, out, start="2023-02-01", end="2023-08-31", step_days=30, seed=1
    )
    return plots, corrals, out, items


def test_scenes_are_labelled_synthetic_with_the_l2a_offset(scenes):
    _, _, out, items = scenes
    assert len(items) == 2 * 8  # two tiles, eight dates
    item = json.loads(items[0].read_text())
    assert item["properties"]["pastures:synthetic"] is True
    assert "SYNTHETIC" in item["properties"]["description"]
    assert "SYNTHETIC" in (out / "README.txt").read_text()
    with rasterio.open(out / item["id"] / "reflectance.tif") as src:
        assert src.tags()["SYNTHETIC"] == "yes"
        assert src.tags()["BOA_ADD_OFFSET"] == "-1000"
        assert src.descriptions == ("B02", "B03", "B04", "B08", "B11")
    found, problems = imagery.load_scenes(items)
    assert problems == []
    assert all(s.bands["red"].offset == pytest.approx(-0.1) for s in found)
    assert {s.tile for s in found} == {"19KDC", "19KDB"}


def test_same_inputs_reuse_the_files(scenes):
    plots, corrals, out, items = scenes
    again = make_sample_scenes(
        plots, corrals, out, start="2023-02-01", end="2023-08-31", step_days=30, seed=1
    )
    assert again == items


def test_per_inputs_subfolders_are_made_whole_and_kept_apart(scenes, tmp_path):
    plots, corrals, _, _ = scenes
    kw = {"start": "2023-02-01", "end": "2023-04-30", "step_days": 30, "per_inputs": True}
    first = make_sample_scenes(plots, corrals, tmp_path, seed=1, **kw)
    folder = first[0].parent
    assert folder.parent == tmp_path
    assert len(folder.name) == 16
    stamp = (folder / "manifest.json").stat().st_mtime_ns
    # the same inputs: the same files, not made again
    assert make_sample_scenes(plots, corrals, tmp_path, seed=1, **kw) == first
    assert (folder / "manifest.json").stat().st_mtime_ns == stamp
    # other inputs: their own folder; the first set stays usable
    other = make_sample_scenes(plots, corrals, tmp_path, seed=2, **kw)
    assert other[0].parent != folder
    assert all(p.exists() for p in first)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([folder.name, other[0].parent.name])
    found, problems = imagery.load_scenes(first)
    assert problems == []
    assert len(found) == len(first)


def test_bofedal_greener_and_rainy_season_greener(scenes):
    plots, _, _, items = scenes
    wide = wide_series(index_series(plots, items, indices=["ndvi"]).table)
    usable = wide[wide[schema.STAT_VALID_FRACTION] > 0.5]
    by_plot = usable.groupby(schema.PLOT_CODE)[schema.STAT_MEAN].mean()
    assert by_plot["WET"] > by_plot["DRY"] + 0.1
    month = usable[schema.DATE].dt.month
    wet = usable[month.isin([2, 3])][schema.STAT_MEAN].mean()
    dry = usable[month.isin([7, 8])][schema.STAT_MEAN].mean()
    assert wet > dry + 0.05
    assert np.isfinite(by_plot).all()
