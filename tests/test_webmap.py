"""The offline web map: built from a tiny run folder whose answers are worked out by hand.

The run lies near Juli in EPSG:32719: community "Pasiri" is the square
E 440,000-441,000, N 8,190,000-8,191,000 and a second community, named with an
HTML injection, is the square east of it. Plot "P-1" (200 m x 200 m, 4 ha) lies in
Pasiri, a second plot (named to break out of a script) in the other community.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from pyproj import Geod, Transformer
from rasterio.io import MemoryFile
from shapely.geometry import Point, box

from pastures import outputs as O
from pastures import schema as S
from pastures import webmap
from pastures.errors import InputFileError

UTM = "EPSG:32719"
E0, N0 = 440_000.0, 8_190_000.0
EVIL_COMMUNITY = "<img src=x onerror=alert(1)>"
EVIL_PLOT = "</script><script>alert(2)</script><!--"
EVIL_HERD = "<b onmouseover=alert(3)>H2</b>"
ON = dt.date(2026, 1, 5)


def _raster(path: Path, data: np.ndarray, *, nodata: float | None = None) -> None:
    bands = data if data.ndim == 3 else data[np.newaxis]
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": bands.shape[2],
        "height": bands.shape[1],
        "count": bands.shape[0],
        "dtype": str(bands.dtype),
        "crs": UTM,
        "transform": Affine(100.0, 0.0, E0, 0.0, -100.0, N0 + 1000.0),
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(bands)


def make_run(folder: Path) -> Path:
    """Write a complete tiny run folder (layers, tables, rasters) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    gpkg = folder / "layers.gpkg"
    communities = gpd.GeoDataFrame(
        {
            S.COMMUNITY: ["Pasiri", EVIL_COMMUNITY],
            S.ALTITUDE_M: [4100, 4200],
            S.AREA_HA: [100.0, 100.0],
        },
        geometry=[box(E0, N0, E0 + 1000, N0 + 1000), box(E0 + 1000, N0, E0 + 2000, N0 + 1000)],
        crs=UTM,
    )
    plots = gpd.GeoDataFrame(
        {
            S.PLOT_CODE: ["P-1", EVIL_PLOT],
            S.COMMUNITY: ["Pasiri", EVIL_COMMUNITY],
            S.PASTURE_TYPE: ["bofedal", "pajonal"],
            S.FENCED_YEAR: [2020, 2021],
            S.AREA_HA: [4.0, 4.0],
        },
        geometry=[
            box(E0 + 100, N0 + 100, E0 + 300, N0 + 300),
            box(E0 + 1100, N0 + 100, E0 + 1300, N0 + 300),
        ],
        crs=UTM,
    )
    corrals = gpd.GeoDataFrame(
        {S.CORRAL_ID: ["C-1"], S.COMMUNITY: ["Pasiri"]},
        geometry=[Point(E0 + 500, N0 + 500)],
        crs=UTM,
    )
    water = gpd.GeoDataFrame(
        {S.WATER_ID: ["W-1"], S.COMMUNITY: ["Pasiri"], S.WATER_KIND: ["manantial"]},
        geometry=[Point(E0 + 600, N0 + 600)],
        crs=UTM,
    )
    for name, layer in (
        (S.COMMUNITIES, communities),
        (S.PLOTS, plots),
        (S.CORRALS, corrals),
        (S.WATER_POINTS, water),
    ):
        layer.to_file(gpkg, layer=name, engine="pyogrio")
    (folder / "indices").mkdir()
    dates = pd.to_datetime(["2024-01-15", "2024-06-15", "2025-01-15"])
    series = pd.DataFrame(
        {
            S.PLOT_CODE: ["P-1"] * 3 + [EVIL_PLOT] * 3,
            S.DATE: list(dates) * 2,
            S.INDEX: "ndvi",
            S.STATISTIC: S.STAT_MEAN,
            S.VALUE: [0.30, 0.40, 0.35, 0.15, 0.20, 0.18],
        }
    )
    series.to_parquet(folder / O.RUN_FILES["index_series"])
    pd.DataFrame(
        {
            S.PLOT_CODE: ["P-1", EVIL_PLOT],
            S.TREND_PER_YEAR: [0.02, -0.02],
            S.BROWNING: [False, True],
        }
    ).to_csv(folder / O.RUN_FILES["index_trends"], index=False)
    (folder / "forage").mkdir()
    pd.DataFrame(
        {
            S.PLOT_CODE: ["P-1", EVIL_PLOT],
            S.RANGE_CONDITION: ["good", "poor"],
            S.CAPACITY_UO: [10.0, 4.0],
        }
    ).to_csv(folder / O.RUN_FILES["forage_plots"], index=False)
    (folder / "risk").mkdir()
    pd.DataFrame(
        {
            S.PLOT_CODE: ["P-1", EVIL_PLOT],
            S.STOCKING_UO: [30.0, 2.0],
            S.PRESSURE_RATIO: [3.0, 0.5],
            S.SOIL_LOSS_T_HA_YR: [60.0, 3.0],
            S.RISK_CLASS: ["high", "low"],
            S.RISK_DRIVERS: ["slope 9 %, 3.0x capacity, soil loss 60.0 t/ha/yr", EVIL_COMMUNITY],
        }
    ).to_csv(folder / O.RUN_FILES["risk_plots"], index=False)
    (folder / "rotation").mkdir()
    pd.DataFrame(
        {
            "herd_id": ["H1", EVIL_HERD],
            S.COMMUNITY: ["Pasiri", EVIL_COMMUNITY],
            "location_id": ["P-1", EVIL_PLOT],
            "location_kind": ["plot", "plot"],
            "start": ["2026-01-05", "2026-01-12"],
            "end": ["2026-01-11", "2026-01-18"],
        }
    ).to_csv(folder / O.RUN_FILES["schedule"], index=False)
    rows, cols = 10, 20
    loss = np.linspace(0.5, 400, rows * cols, dtype="float32").reshape(rows, cols)
    loss[0, 0] = np.nan
    _raster(folder / O.RUN_FILES["soil_loss"], loss, nodata=float("nan"))
    classes = (np.arange(rows * cols) % 4).astype("uint8").reshape(rows, cols)
    classes[0, 0] = 255
    _raster(folder / O.RUN_FILES["risk_class"], classes, nodata=255)
    yy, xx = np.mgrid[0:rows, 0:cols]
    _raster(folder / O.RUN_FILES["dem"], (4000 + 10 * xx + 5 * yy).astype("float32"))
    rgb = np.stack([0.05 + 0.01 * xx, 0.08 + 0.01 * yy, 0.06 + 0.0 * xx]).astype("float32")
    _raster(folder / O.RUN_FILES["true_colour"], rgb, nodata=float("nan"))
    return folder


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("webmap") / "run")


@pytest.fixture(scope="module")
def page(run_folder: Path) -> str:
    return webmap.build_web_map(O.read_run(run_folder), lang="es", on=ON)


@pytest.fixture(scope="module")
def data(run_folder: Path) -> dict:
    return webmap.map_data(O.read_run(run_folder), lang="es", on=ON)


@pytest.fixture(scope="module")
def features(data: dict) -> dict[str, dict]:
    return dict(
        zip(["P-1", EVIL_PLOT], [f["properties"] for f in data["plots"]["features"]], strict=True)
    )


def colour(data: dict, props: dict, key: str) -> str:
    """The fill colour of a plot coloured by `key`, as the page's script picks it."""
    at = [v["key"] for v in data["variables"]].index(key)
    return data["palettes"][at][props["c"][at]]


def popup_text(data: dict, props: dict) -> str:
    """The label: value rows of a plot's popup, as the page's script lays them out."""
    return " | ".join(f"{data['popup_words'][k]}: {v}" for k, v in props["r"])


# --- self-contained, safe page --------------------------------------------------------------


def test_page_loads_nothing_from_the_network(page: str) -> None:
    assert "Leaflet 1.9.3" in page  # inlined from XStatic-Leaflet
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=", page)
    assert not re.search(r"url\((?!data:|#)", page)  # CSS images inlined too
    assert "data:image/webp;base64," in page  # the backgrounds, compressed
    assert "cdn.jsdelivr" not in page
    assert "jquery" not in page.lower()
    assert "bootstrap" not in page.lower()
    # the only online addresses are the optional basemaps' tile templates
    tile_hosts = set(re.findall(r"https://([a-z.]+)/[^\"']*\{z\}", page))
    assert tile_hosts == {"tile.openstreetmap.org", "server.arcgisonline.com"}


def test_injected_names_cannot_break_out(page: str) -> None:
    for raw in (EVIL_COMMUNITY, EVIL_PLOT, EVIL_HERD, "alert(2)</script>", "<!--"):
        assert raw not in page
    # the names are still there, as escaped text
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in page
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    assert len(scripts) == page.count("<script>")  # every script ends where it should


def test_json_for_script_escapes_markup_and_round_trips() -> None:
    value = {"name": "</script><!-- & \u2028", "n": 1.5}
    text = webmap.json_for_script(value)
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert "\u2028" not in text
    assert json.loads(text) == value


# --- what the plots show ----------------------------------------------------------------------


def test_plot_colours_follow_the_ramps(data: dict, features: dict[str, dict]) -> None:
    p1, evil = features["P-1"], features[EVIL_PLOT]
    # latest NDVI 0.35 (2025-01-15): viridis class 0.3-0.4 (viridis at 0.5 is #21918c)
    assert colour(data, p1, "ndvi") == "#21918c"
    # anomaly: 0.35 minus the January mean (0.30 + 0.35) / 2 = +0.025 -> PuOr class 0 to 0.05
    assert colour(data, p1, "anomaly") == "#d8daeb"
    assert colour(data, p1, "trend") == "#542788"  # +0.02/yr: above +0.01, deepest purple
    assert colour(data, evil, "trend") == "#b35806"  # -0.02/yr: deepest brown (browning)
    assert colour(data, p1, "pressure") == "#ef8a62"  # 3x capacity: RdBu class 2-5 (red side)
    assert colour(data, evil, "pressure") == "#d1e5f0"  # 0.5x: palest blue, under capacity
    assert colour(data, p1, "risk") == "#fd8d3c"
    assert colour(data, evil, "risk") == "#ffffb2"
    assert colour(data, p1, "condition") == "#5ec962"
    assert colour(data, evil, "condition") == "#3b528b"


def _lab(colour: str) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of an sRGB hex colour (IEC 61966-2-1 and CIE 15 formulas)."""
    rgb = [int(colour[k : k + 2], 16) / 255 for k in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    m = ((0.4124, 0.3576, 0.1805), (0.2126, 0.7152, 0.0722), (0.0193, 0.1192, 0.9505))
    xyz = [sum(m[i][j] * lin[j] for j in range(3)) for i in range(3)]
    white = (0.95047, 1.0, 1.08883)
    f = [
        t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29
        for t in (x / w for x, w in zip(xyz, white, strict=True))
    ]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def test_rotation_colours_never_read_as_ndvi() -> None:
    ndvi = webmap.VIRIDIS_5
    for c in webmap.ROTATION_COLOURS[:3]:  # grazed now, soon, resting (the 4th is no-data grey)
        assert c not in ndvi
        # CIE76 colour difference to every NDVI class: well beyond "similar" (about 10)
        gaps = [math.dist(_lab(c), _lab(n)) for n in ndvi]
        assert min(gaps) > 25, (c, gaps)
    # "resting" against "< 0.2", the pair the technicians mixed up
    assert math.dist(_lab(webmap.ROTATION_COLOURS[2]), _lab(ndvi[0])) > 40


def test_the_whole_plan_is_carried(data: dict, features: dict[str, dict]) -> None:
    plan = data["plan"]
    assert plan["start"] == "2026-01-05"
    assert plan["end"] == "2026-01-18"
    # groups sorted by id ("<" sorts before "H"), ids escaped
    assert [g["id"] for g in plan["groups"]] == ["&lt;b onmouseover=alert(3)&gt;H2&lt;/b&gt;", "H1"]
    # P-1: H1 (group 1) days 0-6 of the plan (5-11 January); the other plot: H2 days 7-13
    assert plan["stays"][features["P-1"]["i"]] == [0, 6, 1]
    assert plan["stays"][features[EVIL_PLOT]["i"]] == [7, 13, 0]
    assert data["on"] == "2026-01-05"  # the date fixed at build; None reads the phone's clock


def test_popup_holds_what_a_technician_asks(data: dict, features: dict[str, dict]) -> None:
    popup = popup_text(data, features["P-1"])
    for text in (
        "Comunidad: Pasiri",
        "Superficie: 4.0 ha",
        "Tipo de pasto: Bofedal",
        "Condición del pastizal: Buena",
        "Capacidad: 10.0 UO",
        "Carga: 30.0 UO (3.0 veces la capacidad)",
        "NDVI más reciente: 0.35 (15 ene 2025)",  # dates the language's way
        "Anomalía de NDVI: +0.03",
        "Alto",
        "pendiente 9 %",
        "pérdida de suelo 60.0 t/ha/año",
    ):
        assert text in popup, text
    # the NDVI series on the run's dates, for the chart drawn behind a tap
    assert data["dates"] == ["2024-01-15", "2024-06-15", "2025-01-15"]
    assert features["P-1"]["n"] == [300, 400, 350]  # thousandths
    evil = popup_text(data, features[EVIL_PLOT])
    assert "pardeamiento persistente" in evil
    assert "<script" not in evil
    assert "<img" not in evil
    assert (
        features[EVIL_PLOT]["code"] == "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;&lt;!--"
    )


def test_english_words(run_folder: Path) -> None:
    data = webmap.map_data(O.read_run(run_folder), lang="en", on=ON)
    popup = popup_text(data, data["plots"]["features"][0]["properties"])
    assert "Range condition" in popup
    assert "Good" in popup
    assert "3.0 times capacity" in popup
    assert "soil loss 60.0 t/ha/yr" in popup
    assert data["variables"][0]["label"] == "Latest NDVI"


def test_footer_reads_the_provenance_record(run_folder: Path, tmp_path: Path) -> None:
    import shutil

    copy = Path(shutil.copytree(run_folder, tmp_path / "run"))
    record = {
        "format": "pastures-provenance/1",
        "software": {"pastures": "9.9.9"},
        "project": "Juli <2026> __DATA__",  # a placeholder of the page's script, as text
        "illustrative": True,
        "data_date": "2025-01-20",
    }
    (copy / O.RUN_FILES["provenance"]).write_text(json.dumps(record), encoding="utf-8")
    page = webmap.build_web_map(O.read_run(copy), lang="en", on=ON)
    footer = re.search(
        r"Juli \\u0026lt;2026\\u0026gt; __DATA__ · pastures 9\.9\.9 · data as of Jan 20, 2025", page
    )
    assert footer, "provenance footer missing"
    assert "Illustrative data" in page


def test_footer_without_provenance_names_the_latest_image(page: str) -> None:
    assert "datos al 15 ene 2025" in page  # the newest NDVI date of the run


def test_a_run_with_layers_only_still_maps(run_folder: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "layers.gpkg").write_bytes((run_folder / "layers.gpkg").read_bytes())
    run = O.read_run(bare)
    data = webmap.map_data(run, lang="en", on=ON)
    assert data["variables"] == []  # nothing to colour the plots by
    assert data["plan"] is None
    page = webmap.build_web_map(run, lang="en", on=ON)
    assert "Rotation: today and next" not in page  # no plan, no rotation layer
    assert "Soil loss (t/ha/yr)" not in page
    assert "No background" in page


# --- rasters ----------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_png_round_trips_through_gdal() -> None:
    rgba = np.arange(3 * 5 * 4, dtype="uint8").reshape(3, 5, 4)
    with MemoryFile(webmap.png_bytes(rgba)) as mem, mem.open() as src:
        assert src.driver == "PNG"
        np.testing.assert_array_equal(np.moveaxis(src.read(), 0, -1), rgba)


def test_background_lands_on_the_ground(run_folder: Path) -> None:
    images = webmap.background_images(O.read_run(run_folder).rasters)
    assert set(images) == {"true_colour", "hillshade"}
    (south, west), (north, east) = images["hillshade"][1]
    to_deg = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    lons, lats = to_deg.transform([E0, E0 + 2000, E0, E0 + 2000], [N0, N0, N0 + 1000, N0 + 1000])
    pixel_deg = 100 / 111_000  # one 100 m pixel, in degrees
    assert west <= min(lons) + 1e-9
    assert east >= max(lons) - 1e-9
    assert south <= min(lats) + 1e-9
    assert north >= max(lats) - 1e-9
    assert east - max(lons) < 2 * pixel_deg
    assert min(lons) - west < 2 * pixel_deg
    assert images["true_colour"][0].startswith("data:image/webp;base64,")


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_true_colour_background_keeps_its_colour(run_folder: Path, tmp_path: Path) -> None:
    # a dry puna scene: red 0.12, green 0.10, blue 0.08 reflectance (brown, not grey), with
    # a little noise, over the west half; no data over the east half
    rng = np.random.default_rng(1)
    rgb = np.array([0.12, 0.10, 0.08])[:, None, None] * (1 + rng.normal(0, 0.01, (3, 10, 20)))
    rgb[:, :, 10:] = np.nan
    rasters = dict(O.read_run(run_folder).rasters)
    rasters["true_colour"] = tmp_path / "true_colour.tif"
    _raster(rasters["true_colour"], rgb.astype("float32"), nodata=float("nan"))
    rasters.pop("dem")  # the colour alone, no hillshade under it
    uri = webmap.background_images(rasters)["true_colour"][0]
    with MemoryFile(base64.b64decode(uri.split(",", 1)[1])) as mem, mem.open() as src:
        image = src.read().astype("float64")
    west = image[:, :, : image.shape[2] // 2 - 2]
    red, green, blue = (float(np.median(west[k])) for k in range(3))
    # one gain for the three bands: their ratios, the colour, survive the WebP encoding
    assert green / red == pytest.approx(0.10 / 0.12, abs=0.04)
    assert blue / red == pytest.approx(0.08 / 0.12, abs=0.04)
    assert red > 180  # bright, not stretched to black and white around a grey
    assert float(west[:3].std(axis=(1, 2)).max()) < 12  # 1 % noise stays faint
    assert (west[3] == 255).all()
    assert (image[3, :, -image.shape[2] // 2 + 2 :] == 0).all()  # no data: transparent


def test_raster_classes_are_coloured_and_nodata_transparent() -> None:
    codes = np.array([[0, 1], [3, 255]])
    rgba = webmap.classes_rgba(codes, webmap.YLORRD_4)
    assert tuple(rgba[0, 0]) == (0xFF, 0xFF, 0xB2, 210)
    assert tuple(rgba[1, 0]) == (0xE3, 0x1A, 0x1C, 210)
    assert rgba[1, 1, 3] == 0


# --- writing ----------------------------------------------------------------------------------


def test_write_web_map_writes_one_file(run_folder: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "map.html"
    assert webmap.write_web_map(run_folder, dest, lang="en", on=ON) == dest
    text = dest.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in text
    assert [p.name for p in dest.parent.iterdir()] == ["map.html"]  # no temporary left


def test_missing_run_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="nowhere: no such folder"):
        webmap.write_web_map(tmp_path / "nowhere", tmp_path / "map.html")
    assert not (tmp_path / "map.html").exists()


# --- in a real browser, with the network cut ----------------------------------------------------

CLICK_PLOT = """(function () {
  var m = pasturesMap.map, l = pasturesMap.rotation.getLayers()[0];
  m.setView(l.getCenter(), 16, {animate: false});
  var p = m.latLngToContainerPoint(l.getCenter()), r = m.getContainer().getBoundingClientRect();
  return [r.left + p.x, r.top + p.y];
})()"""


MEASURE_BUTTON = """(function () {
  var b = document.querySelector('.pm-measure').getBoundingClientRect();
  return [b.left + b.width / 2, b.top + b.height / 2];
})()"""
#: Container pixels clicked while measuring: a right triangle of 300 x 200 px.
MEASURE_PIXELS = ((400, 400), (700, 400), (700, 600))


def _map_pixel(x: int, y: int) -> str:
    """Page coordinates of a map pixel; its place on the ground is kept in window.clicked."""
    return f"""(function () {{
  var m = pasturesMap.map, r = m.getContainer().getBoundingClientRect();
  window.clicked = (window.clicked || []).concat([m.containerPointToLatLng([{x}, {y}])]);
  return [r.left + {x}, r.top + {y}];
}})()"""


SWITCH_TO_OSM = """Array.from(document.querySelectorAll('.leaflet-control-layers label'))
  .filter(l => l.textContent.indexOf('OpenStreetMap') >= 0)
  .forEach(l => l.querySelector('input').click())"""


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")  # screenshots
def test_map_in_headless_chromium_offline(page: str, tmp_path: Path) -> None:
    from browser import open_page

    html_file = tmp_path / "map.html"
    html_file.write_text(page, encoding="utf-8")
    report = open_page(
        html_file,
        expressions={
            "paths": "document.querySelectorAll('path.leaflet-interactive').length",
            "labels": "Array.from(document.querySelectorAll('.community-label'))"
            ".map(e => e.textContent)",
            "injected_img": "document.querySelectorAll('img[src=\"x\"]').length",
            "layers": "document.querySelectorAll('.leaflet-control-layers label').length",
            "images": "document.querySelectorAll('img.leaflet-image-layer').length",
            "legend": "document.querySelector('.pm-legend').textContent",
            # the plan's rotation colours the plots: the plots layer's selector waits for it
            "colour_by": "getComputedStyle(document.querySelector('.pm-colour-by')).display",
            "colour_by_with_plots": "(pasturesMap.map.addLayer(pasturesMap.groups.plots), "
            "getComputedStyle(document.querySelector('.pm-colour-by')).display)",
        },
        actions=[
            ("measure_on", MEASURE_BUTTON),
            *[(f"point{k}", _map_pixel(x, y)) for k, (x, y) in enumerate(MEASURE_PIXELS)],
            ("measure_off", MEASURE_BUTTON),
            ("popup", CLICK_PLOT),
        ],
        # the control: switching to the online street map must show up as requests
        probe=SWITCH_TO_OSM,
        expressions_after={
            "measured": "document.querySelector('.pm-measure-out').textContent",
            "measured_at": "window.clicked",
            "popup": "(document.querySelector('.plot-popup') || {}).textContent",
            "chart": "document.querySelector('.plot-popup polyline').getAttribute('points')",
        },
    )
    assert report.exceptions == []
    assert report.console_errors == []
    assert report.dialogs == []  # no injected alert() ran
    assert report.outside_requests == []
    # ... and the recorder does see requests for the network (they fail: it is cut)
    assert report.probe is not None
    assert any("tile.openstreetmap.org" in u for u in report.probe.outside_requests)
    found = report.found
    assert found["paths"] == 3
    assert found["injected_img"] == 0
    assert sorted(found["labels"]) == sorted(["Pasiri", EVIL_COMMUNITY])  # shown as text
    assert found["layers"] == 13  # 5 backgrounds, 2 raster overlays, 6 vector overlays
    assert found["images"] == 1  # the true-colour background is on at start
    assert "NDVI más reciente" in found["legend"]
    assert found["colour_by"] == "none"
    assert found["colour_by_with_plots"] == "block"
    assert "Parcela P-1" in found["popup"]
    # the rotation of the day fixed at build (5 January): H1 grazes 5-11 January
    assert "Pastorean ahora: H1" in found["popup"]
    assert "Descansa desde: 12 ene 2026" in found["popup"]  # the language's way
    assert "NDVI en el tiempo" in found["popup"]
    # the chart, drawn by the page: x = 34 + days/366 x 220 px (152 days to 15 June 2024),
    # y = 8 + (0.40 - v)/0.10 x 64 px
    assert found["chart"] == "34.0,72.0 125.4,8.0 254.0,40.0"
    # the measure tool against pyproj's geodesics on the WGS 84 ellipsoid
    lats = [p["lat"] for p in found["measured_at"]]
    lons = [p["lng"] for p in found["measured_at"]]
    geod = Geod(ellps="WGS84")
    area_ha = abs(geod.polygon_area_perimeter(lons, lats)[0]) / 1e4
    length_m = geod.line_length(lons, lats)
    shown = re.fullmatch(r"([\d.]+) (k?m) · ([\d.]+) ha", found["measured"])
    assert shown, found["measured"]
    shown_m = float(shown[1]) * (1000 if shown[2] == "km" else 1)
    assert shown_m == pytest.approx(length_m, rel=0.01)
    assert float(shown[3]) == pytest.approx(area_ha, rel=0.01)
    for name, png in report.screenshots.items():
        with MemoryFile(png) as mem, mem.open() as src:
            pixels = src.read()
        assert pixels.std() > 10, f"{name} screenshot is blank"
