"""Scenes, STAC items, radiometry, masks and mosaics (pastures.imagery)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from imagery_helpers import GRID, SIZE, UTM, dn, s2_band_files, stac_item, write_json, write_raster
from pastures import imagery
from pastures.errors import CRSError, InputFileError, LayerError, ParameterError
from pastures.imagery import CLEAR, MASKED, NODATA, Grid

# ../shared/realdata beside the repository root (tests/ -> repo -> its parent).
REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"
STAC_DIR = REALDATA / "1_stac_items"


def real_item(name: str) -> dict:
    path = STAC_DIR / name
    if not path.exists():
        pytest.skip(f"{path} is absent: ../shared/realdata is not laid out beside the repository")
    return json.loads(path.read_text(encoding="utf-8"))


GRID10 = Grid(UTM, GRID, (SIZE, SIZE))


# --- folders of band files -------------------------------------------------------------


def test_safe_named_folder_reads_reflectance_with_offset_from_tags(tmp_path):
    s2_band_files(tmp_path / "scene", red=0.1, nir=0.5)
    scenes, problems = imagery.load_scenes(tmp_path / "scene")
    assert problems == []
    (scene,) = scenes
    assert scene.platform == "sentinel-2"
    assert scene.tile == "19KDC"
    assert str(scene.date) == "2024-01-15"
    assert scene.bands["red"].offset == pytest.approx(-0.1)  # after 25 Jan 2022: baseline 04.00+
    bands, state = imagery.read_scene(scene, ["red", "nir"], GRID10)
    assert bands["red"].dtype == np.float32
    np.testing.assert_allclose(bands["red"], 0.1, rtol=1e-6)
    np.testing.assert_allclose(bands["nir"], 0.5, rtol=1e-6)
    assert (state == CLEAR).all()


def test_old_scene_with_a_zero_offset_tag_gets_no_offset(tmp_path):
    s2_band_files(tmp_path / "scene", date="20200115", red=0.1, offset_dn=0)
    (scene,), _ = imagery.load_scenes(tmp_path / "scene")
    assert scene.bands["red"].offset == 0.0
    bands, _ = imagery.read_scene(scene, ["red"], GRID10)
    np.testing.assert_allclose(bands["red"], 0.1, rtol=1e-6)


def earth_search_folder(root, *, red=0.1, nir=0.5):
    """An Earth Search v1 item downloaded as a folder of COGs, without its item JSON.

    Earth Search v1 removed the -1000 DN offset from its COGs
    (``earthsearch:boa_offset_applied: true`` on the item, see the real item in
    ../shared/realdata/1_stac_items): DN = reflectance x 10000.
    """
    folder = root / "S2B_19KDC_20250731_0_L2A"
    for band, value in (("B04", red), ("B08", nir)):
        write_raster(folder / f"{band}.tif", dn(np.full((SIZE, SIZE), value), 0), GRID)
    return folder


def test_earth_search_folder_without_evidence_is_refused_not_guessed(tmp_path):
    # Before the fix the -0.1 offset was inferred from the date (2025) and applied to
    # DNs that no longer carry it: red 0.1 read as 0.0, NDVI 1 instead of 2/3.
    folder = earth_search_folder(tmp_path)
    scenes, problems = imagery.load_scenes(folder)
    assert scenes == []
    (problem,) = problems
    assert problem.rule == "unusable-scene"
    assert "S2B_19KDC_20250731_0_L2A" in problem.message
    assert "--boa-offset applied" in problem.message
    assert "--boa-offset apply " in problem.message


def test_stated_offset_applied_reads_earth_search_cogs_once(tmp_path):
    folder = earth_search_folder(tmp_path)
    (scene,), problems = imagery.load_scenes(folder, boa_offset="applied")
    assert problems == []
    assert scene.bands["red"].offset == 0.0
    assert "stated by the user" in scene.radiometry
    bands, _ = imagery.read_scene(scene, ["red", "nir"], GRID10)
    np.testing.assert_allclose(bands["red"], 0.1, rtol=1e-6)  # DN 1000 x 0.0001
    np.testing.assert_allclose(bands["nir"], 0.5, rtol=1e-6)


def test_stated_offset_apply_removes_it_from_safe_bands(tmp_path):
    s2_band_files(tmp_path / "scene", red=0.1, offset_dn=1000, offset_tags=False)
    scenes, problems = imagery.load_scenes(tmp_path / "scene")
    assert scenes == []
    assert "cannot be known" in problems[0].message
    (scene,), _ = imagery.load_scenes(tmp_path / "scene", boa_offset="apply")
    bands, _ = imagery.read_scene(scene, ["red"], GRID10)
    np.testing.assert_allclose(bands["red"], 0.1, rtol=1e-6)  # (2000 - 1000) x 0.0001


def test_baseline_in_product_name_is_evidence(tmp_path):
    folder = tmp_path / "S2A_MSIL2A_20240115T144731_N0510_R010_T19KDC_20240115T201012.SAFE"
    s2_band_files(folder / "IMG_DATA", red=0.1, offset_tags=False)
    (scene,), problems = imagery.load_scenes(folder)
    assert problems == []
    assert scene.bands["red"].offset == pytest.approx(-0.1)
    old = tmp_path / "S2A_MSIL2A_20210115T144731_N0300_R010_T19KDC_20210115T201012.SAFE"
    s2_band_files(old / "IMG_DATA", date="20210115", red=0.1, offset_dn=0, offset_tags=False)
    (scene,), _ = imagery.load_scenes(old)
    assert scene.bands["red"].offset == 0.0


def test_unknown_boa_offset_choice_is_a_parameter_error(tmp_path):
    with pytest.raises(ParameterError, match="Unknown BOA offset choice 'maybe'"):
        imagery.load_scenes(tmp_path, boa_offset="maybe")  # type: ignore[arg-type]


def test_stac_item_with_no_offset_evidence_is_refused():
    item = stac_item("S2B_19KDC_20250731_0_L2A", {"red": "B04.tif", "nir": "B08.tif"})
    del item["properties"]["s2:processing_baseline"]
    with pytest.raises(InputFileError, match="cannot be known"):
        imagery.scene_from_stac_item(item)


def test_baseline_in_metadata_file_wins_over_date(tmp_path):
    folder = tmp_path / "S2B_MSIL2A_20240115T144731_N0510_R010_T19KDC.SAFE" / "IMG_DATA"
    s2_band_files(folder, red=0.1)
    (folder.parent / "MTD_MSIL2A.xml").write_text(
        "<x><BOA_QUANTIFICATION_VALUE>10000</BOA_QUANTIFICATION_VALUE>"
        "<BOA_ADD_OFFSET band_id='0'>-1000</BOA_ADD_OFFSET></x>",
        encoding="utf-8",
    )
    (scene,), _ = imagery.load_scenes(folder.parent)
    assert "MTD_MSIL2A.xml" in scene.radiometry
    assert scene.bands["red"].offset == pytest.approx(-0.1)


def test_20m_scl_is_aligned_to_the_10m_grid(tmp_path):
    scl = np.array(
        [[4, 9, 4, 4, 4], [3, 4, 4, 4, 4], [4, 4, 11, 4, 4], [4, 4, 4, 10, 4], [4, 4, 4, 4, 0]],
        dtype=np.uint8,
    )
    s2_band_files(tmp_path / "s", scl=scl)
    (scene,), _ = imagery.load_scenes(tmp_path / "s")
    _, state = imagery.read_scene(scene, ["red"], GRID10)
    # each 20 m SCL pixel covers 2 x 2 pixels of 10 m
    expected = np.repeat(np.repeat(scl, 2, axis=0), 2, axis=1)
    assert (state[expected == 9] == MASKED).all()
    assert (state[expected == 3] == MASKED).all()
    assert (state[expected == 11] == MASKED).all()
    assert (state[expected == 10] == MASKED).all()
    assert (state[expected == 0] == NODATA).all()
    assert (state[expected == 4] == CLEAR).all()
    assert (state == MASKED).sum() == 4 * 4


def test_mask_classes_cover_cloud_shadow_cirrus_snow_and_no_data():
    codes = np.arange(12, dtype=np.uint8)
    masked = imagery.mask_from_classes(codes, "scl")
    assert set(np.flatnonzero(masked)) == {0, 1, 3, 8, 9, 10, 11}
    qa = np.array([0b0, 0b1, 0b10, 0b100, 0b1000, 0b10000, 0b100000, 0b1000000], dtype=np.uint16)
    assert imagery.mask_from_classes(qa, "qa_pixel").tolist() == [
        False,
        True,
        True,
        True,
        True,
        True,
        True,
        False,
    ]


def test_multiband_file_with_band_descriptions(tmp_path):
    data = np.stack([dn(np.full((SIZE, SIZE), v)) for v in (0.05, 0.1, 0.5)])
    write_raster(
        tmp_path / "juli_2024-03-01.tif",
        data,
        GRID,
        descriptions=["B02", "B04", "B08"],
        tags={"BOA_ADD_OFFSET": "-1000"},
    )
    (scene,), problems = imagery.load_scenes(tmp_path)
    assert problems == []
    assert str(scene.date) == "2024-03-01"
    bands, _ = imagery.read_scene(scene, ["blue", "red", "nir"], GRID10)
    np.testing.assert_allclose(bands["blue"], 0.05, rtol=1e-5)
    np.testing.assert_allclose(bands["nir"], 0.5, rtol=1e-6)


def test_landsat_c2_l2_in_northern_zone_with_negative_northings(tmp_path):
    # Juli in EPSG:32619 has northings near -1,792,600 (8,207,400 - 10,000,000).
    transform = Affine(30, 0, 450_000, 0, -30, -1_792_000)
    stem = "LC08_L2SP_003071_20230115_20230131_02_T1"
    red = np.full((4, 4), round((0.1 + 0.2) / 2.75e-5), dtype=np.uint16)
    nir = np.full((4, 4), round((0.4 + 0.2) / 2.75e-5), dtype=np.uint16)
    qa = np.full((4, 4), 21824, dtype=np.uint16)  # clear land
    qa[0, 0] = 21824 | (1 << 3)  # cloud
    crs = "EPSG:32619"
    write_raster(tmp_path / f"{stem}_SR_B4.TIF", red, transform, crs=crs)
    write_raster(tmp_path / f"{stem}_SR_B5.TIF", nir, transform, crs=crs)
    write_raster(tmp_path / f"{stem}_QA_PIXEL.TIF", qa, transform, crs=crs, nodata=1)
    (scene,), problems = imagery.load_scenes(tmp_path)
    assert problems == []
    assert scene.platform == "landsat"
    assert scene.bands["red"].scale == pytest.approx(2.75e-5)
    grid = imagery.scene_grid(scene, ["red", "nir"])
    assert grid.crs == crs
    assert grid.transform.f < 0
    bands, state = imagery.read_scene(scene, ["red", "nir"], grid)
    assert state[0, 0] == MASKED
    assert np.isnan(bands["red"][0, 0])
    np.testing.assert_allclose(bands["red"][1:, 1:], 0.1, atol=2e-5)
    np.testing.assert_allclose(bands["nir"][1:, 1:], 0.4, atol=2e-5)


def test_truncated_file_is_a_clear_error(tmp_path):
    files = s2_band_files(tmp_path / "s")
    raw = files["B04"].read_bytes()
    files["B04"].write_bytes(raw[: len(raw) // 3])
    (scene,), _ = imagery.load_scenes(tmp_path / "s")
    with pytest.raises(InputFileError, match=r"T19KDC_20240115.*B04.*(complete|truncated)"):
        imagery.read_scene(scene, ["red", "nir"], GRID10)


def test_missing_band_is_named(tmp_path):
    s2_band_files(tmp_path / "s")
    (scene,), _ = imagery.load_scenes(tmp_path / "s")
    with pytest.raises(LayerError, match=r"swir16 missing"):
        imagery.scene_grid(scene, ["red", "swir16"])


def test_missing_source_and_empty_folder(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        imagery.load_scenes(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match="No scenes found"):
        imagery.load_scenes(tmp_path / "empty")


# --- mosaics -----------------------------------------------------------------------------


def test_same_day_tiles_mosaic_prefers_clear_pixels_and_counts_each_once(tmp_path):
    # Tile A: clear on the left half, cloud on the right; tile B: the reverse, other values.
    left = np.zeros((5, 5), dtype=np.uint8)
    left[:, :3] = 4
    left[:, 3:] = 9
    right = np.where(left == 4, 9, 4).astype(np.uint8)
    s2_band_files(tmp_path / "a", tile="19KDC", red=0.1, scl=left)
    s2_band_files(tmp_path / "b", tile="19KDB", red=0.2, scl=right)
    scenes, _ = imagery.load_scenes([tmp_path / "a", tmp_path / "b"])
    groups = imagery.group_by_date(scenes)
    assert len(groups) == 1
    mosaic = imagery.read_mosaic(next(iter(groups.values())), ["red", "nir"], GRID10)
    assert mosaic.valid.all()
    np.testing.assert_allclose(mosaic.bands["red"][:, :6], 0.1, rtol=1e-6)
    np.testing.assert_allclose(mosaic.bands["red"][:, 6:], 0.2, rtol=1e-6)
    assert set(mosaic.scene_ids) == {s.scene_id for s in scenes}


def test_mosaic_keeps_other_tiles_when_one_fails(tmp_path):
    s2_band_files(tmp_path / "a", tile="19KDC")
    bad = s2_band_files(tmp_path / "b", tile="19KDB")
    bad["B08"].write_bytes(b"not a tiff")
    scenes, _ = imagery.load_scenes([tmp_path / "a", tmp_path / "b"])
    mosaic = imagery.read_mosaic(scenes, ["red", "nir"], GRID10)
    assert mosaic.valid.all()
    assert len(mosaic.problems) == 1
    assert "19KDB" in mosaic.problems[0].feature


# --- STAC ----------------------------------------------------------------------------------


def test_stac_item_with_relative_hrefs_and_raster_bands(tmp_path):
    files = s2_band_files(tmp_path / "data", red=0.1, nir=0.5)
    item = stac_item(
        "S2B_19KDC_20240115_0_L2A",
        {
            "red": "data/" + files["B04"].name,
            "nir": "data/" + files["B08"].name,
            "scl": "data/" + files["SCL"].name,
        },
        raster_bands={"scale": 0.0001, "offset": -0.1, "nodata": 0},
    )
    path = write_json(tmp_path / "item.json", item)
    (scene,), problems = imagery.load_scenes(path)
    assert problems == []
    assert scene.crs == "EPSG:32719"
    assert Path(scene.bands["red"].href) == files["B04"].resolve()
    bands, _ = imagery.read_scene(scene, ["red", "nir"], GRID10)
    np.testing.assert_allclose(bands["nir"], 0.5, rtol=1e-6)


def test_item_collection_and_list_forms(tmp_path):
    files = s2_band_files(tmp_path / "d")
    assets = {"B04": str(files["B04"]), "B08": str(files["B08"]), "SCL": str(files["SCL"])}
    one = stac_item("a", assets)
    two = stac_item("b", assets, date="2024-01-25")
    write_json(tmp_path / "fc.json", {"type": "FeatureCollection", "features": [one, two]})
    write_json(tmp_path / "list.json", [one, two])
    for name in ("fc.json", "list.json"):
        scenes, _ = imagery.load_scenes(tmp_path / name)
        assert [s.scene_id for s in scenes] == ["a", "b"]
        assert scenes[0].mask is not None


def test_crs_of_file_must_match_the_item(tmp_path):
    files = s2_band_files(tmp_path / "d")
    item = stac_item("x", {"red": str(files["B04"]), "nir": str(files["B08"])}, epsg=32724)
    (scene,), _ = imagery.load_scenes(write_json(tmp_path / "i.json", item))
    with pytest.raises(CRSError, match=r"EPSG:32724.*EPSG:32719"):
        imagery.scene_grid(scene, ["red", "nir"])


def test_radiometry_decisions():
    never_twice = {
        "id": "x",
        "properties": {"earthsearch:boa_offset_applied": True, "datetime": "2025-01-01T00:00:00Z"},
    }
    listed = {"red": imagery.BandFile("r", 1, 1e-4, -0.1)}
    assert imagery.sentinel2_radiometry(never_twice, listed)[1] == 0.0
    old = {
        "id": "S2A_MSIL2A_20200714T115221_N0214_R123_T28QCH_20200714T191310",
        "properties": {"datetime": "2020-07-14T00:00:00Z"},
    }
    assert imagery.processing_baseline(old) == (2, 14)
    assert imagery.sentinel2_radiometry(old, listed)[1] == 0.0  # listed -0.1 ignored
    silent = {
        "id": "y",
        "properties": {"s2:processing_baseline": "04.00", "datetime": "2022-06-12T00:00:00Z"},
    }
    assert imagery.sentinel2_radiometry(silent)[1] == pytest.approx(-0.1)


# --- the real STAC items in ../shared/realdata --------------------------------------------


@pytest.mark.realdata
def test_real_earth_search_v1_l2a_offset_not_applied_twice(tmp_path):
    item = real_item("earthsearch_v1_sentinel-2-l2a_S2B_24MUV_20250731_0_L2A.json")
    scene = imagery.scene_from_stac_item(item)
    assert scene is not None
    assert scene.crs == "EPSG:32724"
    assert scene.tile == "24MUV"
    assert set(scene.bands) >= {"blue", "green", "red", "nir", "nir08", "swir16", "swir22"}
    assert scene.bands["nir"].href.endswith("/B08.tif")  # the COG, not the JP2
    assert scene.bands["nir08"].href.endswith("/B8A.tif")
    assert scene.mask is not None
    assert scene.mask.href.endswith("/SCL.tif")
    assert scene.bands["red"].offset == 0.0
    assert "not applied twice" in scene.radiometry
    # Point the item at small local files (Earth Search DNs: offset already removed).
    local = copy.deepcopy(item)
    transform = Affine(10, 0, 300_000, 0, -10, 9_500_020)
    crs = "EPSG:32724"
    for key, value in (("red", 0.1), ("nir", 0.5)):
        path = write_raster(
            tmp_path / f"{key}.tif", dn(np.full((4, 4), value), 0), transform, crs=crs
        )
        local["assets"][key]["href"] = path.name
    scl = write_raster(
        tmp_path / "scl.tif",
        np.full((2, 2), 4, np.uint8),
        Affine(20, 0, 300_000, 0, -20, 9_500_020),
        crs=crs,
    )
    local["assets"]["scl"]["href"] = str(scl)
    path = write_json(tmp_path / "item.json", local)
    (scene,), _ = imagery.load_scenes(path)
    grid = imagery.scene_grid(scene, ["red", "nir"])
    bands, state = imagery.read_scene(scene, ["red", "nir"], grid)
    assert (state == CLEAR).all()
    np.testing.assert_allclose(bands["red"], 0.1, rtol=1e-6)
    np.testing.assert_allclose(bands["nir"], 0.5, rtol=1e-6)


@pytest.mark.realdata
def test_real_earth_search_collection1_applies_listed_offset():
    item = real_item("earthsearch_v1_sentinel-2-c1-l2a_S2B_T24MUV_20250731T130245_L2A.json")
    scene = imagery.scene_from_stac_item(item)
    assert scene is not None
    assert scene.bands["red"].offset == pytest.approx(-0.1)
    assert scene.bands["red"].scale == pytest.approx(1e-4)


@pytest.mark.realdata
def test_real_l1c_item_is_rejected_with_advice():
    item = real_item("earthsearch_v1_sentinel-2-l1c_S2B_24MUV_20250731_0_L1C.json")
    with pytest.raises(InputFileError, match=r"Level-1C.*L2A item"):
        imagery.scene_from_stac_item(item)


@pytest.mark.realdata
def test_real_mixed_search_page_keeps_l2a_and_reports_the_rest():
    path = STAC_DIR / "earthsearch_v1_search_page1_mixed_collections.json"
    real_item(path.name)
    scenes, problems = imagery.load_scenes(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    collections = [f["collection"] for f in data["features"]]
    n_l2a = sum(c in ("sentinel-2-l2a", "sentinel-2-c1-l2a") for c in collections)
    assert len(scenes) == n_l2a
    rules = [p.rule for p in problems]
    assert rules.count("not-optical") == collections.count("sentinel-1-grd")
    assert rules.count("unusable-scene") == collections.count("sentinel-2-l1c")
    assert all("Level-1C" in p.message for p in problems if p.rule == "unusable-scene")


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "offset", "crs"),
    [
        ("pc_sentinel-2-l2a_S2B_T24XWR_20220612_baseline0400.json", -0.1, "EPSG:32624"),
        ("pc_sentinel-2-l2a_S2B_T06VVN_20190629_baseline0212_raster_ext.json", 0.0, "EPSG:32606"),
        ("earthsearch_v0_sentinel-s2-l2a-cogs_S2A_28QCH_20200714_0_L2A.json", 0.0, "EPSG:32628"),
    ],
)
def test_real_items_offset_from_processing_baseline(name, offset, crs):
    scene = imagery.scene_from_stac_item(real_item(name))
    assert scene is not None
    assert scene.crs == crs
    assert scene.bands["red"].offset == pytest.approx(offset)
    assert "B08" in scene.bands["nir"].href.split("/")[-1]
    assert "B8A" in scene.bands["nir08"].href.split("/")[-1]
    assert scene.mask is not None


@pytest.mark.realdata
def test_real_planetary_computer_lists_and_feature_collections(tmp_path):
    real_item("pc_sentinel-2-l2a_4items_T47X_20240419_baseline0510.json")
    scenes, problems = imagery.load_scenes(
        [
            STAC_DIR / "pc_sentinel-2-l2a_4items_T47X_20240419_baseline0510.json",
            STAC_DIR / "pc_sentinel-2-l2a_9items_southern_hemisphere_20200606.geojson",
            STAC_DIR / "pc_cop-dem-glo-30_items.json",
        ]
    )
    assert len(scenes) == 4 + 9
    assert all(s.bands["red"].offset == pytest.approx(-0.1) for s in scenes[-4:])
    assert all(s.bands["red"].offset == 0.0 for s in scenes[:9])  # June 2020, baseline 02.xx
    assert {p.rule for p in problems} == {"not-optical"}  # the DEM items
    # Same day, adjacent tiles, one CRS: mosaicked together.
    groups = imagery.group_by_date(scenes)
    assert max(len(g) for g in groups.values()) > 1


def test_landsat_stac_item_in_planetary_computer_form(tmp_path):
    transform = Affine(30, 0, 450_000, 0, -30, -1_792_000)
    crs = "EPSG:32619"
    red = write_raster(tmp_path / "red.tif", np.full((3, 3), 10909, np.uint16), transform, crs=crs)
    nir = write_raster(tmp_path / "nir.tif", np.full((3, 3), 21818, np.uint16), transform, crs=crs)
    qa = write_raster(
        tmp_path / "qa.tif", np.full((3, 3), 21824, np.uint16), transform, crs=crs, nodata=1
    )
    meta = {"scale": 2.75e-05, "offset": -0.2, "nodata": 0}
    item = stac_item(
        "LC08_L2SP_003071_20230115_02_T1",
        {"red": red.name, "nir08": nir.name, "qa_pixel": qa.name},
        date="2023-01-15",
        epsg=32619,
        collection="landsat-c2-l2",
        properties={"platform": "landsat-8", "s2:mgrs_tile": None},
        raster_bands=meta,
    )
    (scene,), problems = imagery.load_scenes(write_json(tmp_path / "ls.json", item))
    assert problems == []
    assert scene.platform == "landsat"
    assert scene.mask_kind == "qa_pixel"
    grid = imagery.scene_grid(scene, ["red", "nir"])
    bands, state = imagery.read_scene(scene, ["red", "nir"], grid)
    assert (state == CLEAR).all()
    np.testing.assert_allclose(bands["red"], 10909 * 2.75e-5 - 0.2, rtol=1e-6)
    np.testing.assert_allclose(bands["nir"], 21818 * 2.75e-5 - 0.2, rtol=1e-6)


def test_safe_product_layout_takes_the_finest_band_and_skips_non_bands(tmp_path):
    safe = tmp_path / "S2B_MSIL2A_20240115T144731_N0510_R010_T19KDC_20240115T170000.SAFE"
    img = safe / "GRANULE" / "L2A_T19KDC_A035000_20240115T144731" / "IMG_DATA"
    s2_band_files(img / "R10m", red=0.1, nir=0.5)  # B04/B08 10 m (and a 20 m SCL)
    coarse = Affine(60, 0, 440_000, 0, -60, 8_190_100)
    stem = "T19KDC_20240115T144731"
    write_raster(img / "R60m" / f"{stem}_B04_60m.tif", dn(np.full((2, 2), 0.3)), coarse)
    write_raster(img / "R10m" / f"{stem}_TCI_10m.tif", np.zeros((3, SIZE, SIZE), np.uint8), GRID)
    write_raster(img / "R20m" / f"{stem}_AOT_20m.tif", np.zeros((5, 5), np.uint16), GRID)
    (scene,), problems = imagery.load_scenes(safe)
    assert problems == []
    assert scene.scene_id == safe.name
    assert scene.bands["red"].href.endswith("_B04_10m.tif")
    assert scene.bands["red"].offset == pytest.approx(-0.1)  # baseline 05.10 in the name


def test_stac_1_1_bands_with_scale_and_offset(tmp_path):
    files = s2_band_files(tmp_path / "d", red=0.1, nir=0.5)
    item = stac_item("x", {})
    item["stac_version"] = "1.1.0"
    item["assets"] = {
        "B04": {
            "href": str(files["B04"]),
            "type": "image/tiff",
            "bands": [
                {
                    "name": "B04",
                    "eo:common_name": "red",
                    "scale": 0.0001,
                    "offset": -0.1,
                    "nodata": 0,
                }
            ],
        },
        "B08": {
            "href": str(files["B08"]),
            "type": "image/tiff",
            "bands": [{"name": "B08", "eo:common_name": "nir"}],
            "scale": 0.0001,  # given once for the asset
            "offset": -0.1,
            "nodata": 0,
        },
    }
    (scene,), _ = imagery.load_scenes(write_json(tmp_path / "i.json", item))
    assert scene.bands["red"].offset == pytest.approx(-0.1)
    assert scene.bands["nir"].offset == pytest.approx(-0.1)
    assert "raster:bands" in scene.radiometry
    bands, _ = imagery.read_scene(scene, ["red", "nir"], GRID10)
    np.testing.assert_allclose(bands["nir"], 0.5, rtol=1e-6)


def test_indices_command_states_the_offset_with_boa_offset(tmp_path):
    import geopandas as gpd
    from click.testing import CliRunner
    from shapely.geometry import box

    from pastures import schema
    from pastures.cli import main

    plots = tmp_path / "plots.geojson"
    gpd.GeoDataFrame(
        {
            schema.PLOT_CODE: ["A"],
            schema.COMMUNITY: ["Alfa"],
            schema.PASTURE_TYPE: ["pajonal"],
        },
        geometry=[box(440_010, 8_190_050, 440_050, 8_190_090)],
        crs=UTM,
    ).to_crs("EPSG:4326").to_file(plots)
    folder = earth_search_folder(tmp_path)
    refused = CliRunner().invoke(
        main, ["indices", str(folder), "--plots", str(plots), "--out", str(tmp_path / "o1")]
    )
    assert refused.exit_code == 1, refused.output
    assert "--boa-offset applied" in refused.output
    ok = CliRunner().invoke(
        main,
        [
            "indices",
            str(folder),
            "--plots",
            str(plots),
            "--index",
            "ndvi",
            "--boa-offset",
            "applied",
            "--out",
            str(tmp_path / "o2"),
        ],
    )
    assert ok.exit_code == 0, ok.output
    import pandas as pd

    table = pd.read_csv(tmp_path / "o2" / "index_series.csv")
    mean = table[(table["statistic"] == "mean")]["value"]
    np.testing.assert_allclose(mean, 2 / 3, rtol=1e-5)  # (0.5 - 0.1) / (0.5 + 0.1)


@pytest.mark.parametrize(
    ("href", "words"),
    [
        ("../../../etc/passwd", "outside the item's folder"),
        ("sub/../../B04.tif", "outside the item's folder"),
        ("/vsicurl/http://example.org/B04.tif", "GDAL virtual file system"),
        ("file:///vsizip/x.zip/B04.tif", "GDAL virtual file system"),
        ("ftp://example.org/B04.tif", "scheme 'ftp:'"),
    ],
)
def test_stac_hrefs_that_point_outside_the_data_are_refused(tmp_path, href, words):
    item = stac_item("S2B_19KDC_20240115_0_L2A", {"red": href, "nir": "B08.tif"})
    with pytest.raises(ParameterError, match=words):
        imagery.scene_from_stac_item(item, base=tmp_path / "items")


def test_stac_hrefs_inside_the_item_folder_or_urls_are_kept(tmp_path):
    item = stac_item(
        "S2B_19KDC_20240115_0_L2A",
        {"red": "bands/B04.tif", "nir": "https://example.org/B08.tif"},
    )
    scene = imagery.scene_from_stac_item(item, base=tmp_path)
    assert scene is not None
    assert scene.bands["red"].href == str((tmp_path / "bands" / "B04.tif").resolve())
    assert scene.bands["nir"].href == "https://example.org/B08.tif"


# --- several windows of one scene: one read of the rectangle around them ---------------


def _varied_scene(tmp_path: Path, size: int = 40) -> imagery.Scene:
    """A scene whose every pixel differs (red, NIR) with clouds and no data in the SCL."""
    rng = np.random.default_rng(7)
    red = rng.uniform(0.02, 0.3, (size, size))
    nir = rng.uniform(0.2, 0.6, (size, size))
    scl = rng.choice(np.array([0, 4, 4, 4, 5, 8, 9], dtype=np.uint8), ((size + 1) // 2,) * 2)
    s2_band_files(tmp_path / "scene", red=red, nir=nir, scl=scl, size=size)
    (scene,), problems = imagery.load_scenes(tmp_path / "scene")
    assert not [p for p in problems if p.severity == "error"]
    return scene


def _windows() -> list[Grid]:
    """Windows of the 10 m grid: inside, astride the east edge, outside, and one pixel."""
    return [
        Grid(UTM, GRID @ Affine.translation(c, r), (h, w))
        for c, r, w, h in (
            (2, 3, 5, 4),
            (30, 10, 15, 6),
            (60, 60, 3, 3),
            (0, 0, 1, 1),
            (7, 20, 9, 9),
        )
    ]


@pytest.mark.parametrize("union", [True, False])
def test_read_scene_windows_equals_one_read_per_window(tmp_path, monkeypatch, union):
    scene = _varied_scene(tmp_path)
    grids = _windows()
    if not union:  # the rectangle around the windows is never read at once
        monkeypatch.setattr(imagery, "UNION_READ_SMALL_VALUES", 0)
        monkeypatch.setattr(imagery, "UNION_READ_MAX_VALUES", 0)
    together = imagery.read_scene_windows(scene, ["red", "nir"], grids)
    for grid, (values, state) in zip(grids, together, strict=True):
        alone_values, alone_state = imagery.read_scene(scene, ["red", "nir"], grid)
        np.testing.assert_array_equal(state, alone_state)
        for band in ("red", "nir"):
            np.testing.assert_array_equal(values[band], alone_values[band])
    # the window outside the scene is all no data; the one astride the edge half inside
    assert (together[2][1] == NODATA).all()
    assert (together[1][1][:, 10:] == NODATA).all()
    assert (together[1][1][:, :10] != NODATA).any()


def test_read_scene_windows_values_are_the_files_pixels(tmp_path):
    """Checked against the arrays written, not against another read path."""
    size = 40
    rng = np.random.default_rng(7)
    red = rng.uniform(0.02, 0.3, (size, size))
    scene = _varied_scene(tmp_path, size)
    grid = Grid(UTM, GRID @ Affine.translation(7, 20), (9, 9))
    (values, state), _ = imagery.read_scene_windows(scene, ["red", "nir"], [grid, _windows()[0]])
    clear = state == CLEAR
    expected = dn(red)[20:29, 7:16].astype(np.float32) * np.float32(1e-4) - np.float32(0.1)
    np.testing.assert_allclose(values["red"][clear], expected[clear], rtol=0, atol=1e-6)
    assert np.isnan(values["red"][~clear]).all()
    assert clear.any()
    assert (~clear).any()
