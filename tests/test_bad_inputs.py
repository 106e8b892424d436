# ruff: noqa: E501  (the case table keeps one case per line, to be read as a list)
"""The bad-input corpus: broken, hostile and real third-party files through the real CLI.

Every case builds its files in ``tmp_path`` (or reads a real file of
``../shared/realdata``), runs one command through the CLI entry point
(:data:`pastures.cli.main`, in process with click's CliRunner) and asserts one of:

- ``ok``: exit 0 (and, where given, the words the output must hold, e.g. a warning);
- ``data``: exit 1 with a message naming the file and the field or rule at fault;
- ``usage``: exit 2, click's usage error naming the option.

Never exit 3 (an internal error), and no input file changes (checksums before and
after). Cases are grouped by class (the prefix of their id) for the closing note.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from affine import Affine
from click.testing import CliRunner
from pyproj import Transformer
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from conftest import E0, N0, REALDATA, UTM, kml_coords, lonlat, square
from imagery_helpers import X0, Y0, dn, s2_band_files, stac_item, write_json, write_raster
from pastures.cli import main

# The CLI shows warnings as log lines; in process they must not become errors.
pytestmark = pytest.mark.filterwarnings("always")

Args = list[str]


@dataclass
class Project:
    """A small, correct project near Juli written in tmp_path; cases break one part."""

    root: Path
    files: dict[str, Path] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.root / name

    def write_plots(self, gdf: gpd.GeoDataFrame, name: str = "plots_bad.gpkg") -> Path:
        path = self.path(name)
        driver = {".geojson": "GeoJSON", ".shp": "ESRI Shapefile"}.get(path.suffix, "GPKG")
        pyogrio.write_dataframe(gdf, path, driver=driver)
        return path

    def write_text(self, name: str, text: str, encoding: str = "utf-8") -> Path:
        path = self.path(name)
        path.write_text(text, encoding=encoding)
        return path

    def write_bytes(self, name: str, data: bytes) -> Path:
        path = self.path(name)
        path.write_bytes(data)
        return path


def _communities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"community": ["Alfa", "Beta"]},
        geometry=[square(E0, N0, 1000, 1000), square(E0 + 1000, N0, 1000, 1000)],
        crs=UTM,
    )


def plots_frame(
    geoms: list | None = None, codes: list[str] | None = None, **columns: list
) -> gpd.GeoDataFrame:
    geoms = geoms or [square(E0 + 100, N0 + 100, 200, 250), square(E0 + 500, N0 + 500, 100, 100)]
    n = len(geoms)
    data = {
        "plot_code": codes or [f"ALF-{k + 1:02d}" for k in range(n)],
        "community": ["Alfa"] * n,
        "pasture_type": ["pajonal"] * n,
        "fenced_year": [2019] * n,
    }
    data.update(columns)
    return gpd.GeoDataFrame(data, geometry=geoms, crs=UTM)


HERDS = pd.DataFrame(
    {
        "family_id": ["ALF-F1", "ALF-F2", "BET-F1"],
        "community": ["Alfa", "Alfa", "Beta"],
        "corral_id": ["ALF-C1", "ALF-C1", "BET-C1"],
        "alpacas": ["40", "25", "60"],
        "llamas": ["5", "0", "8"],
        "sheep": ["30", "12", "0"],
    }
)


PROJECT_FILES = {
    "communities": "communities.gpkg",
    "plots": "plots.gpkg",
    "corrals": "corrals.gpkg",
    "herds": "herds.csv",
}


@pytest.fixture(scope="session")
def project_template(tmp_path_factory) -> Path:
    """The correct project, written once; each case gets a copy."""
    root = tmp_path_factory.mktemp("template")
    pyogrio.write_dataframe(_communities(), root / PROJECT_FILES["communities"], driver="GPKG")
    pyogrio.write_dataframe(plots_frame(), root / PROJECT_FILES["plots"], driver="GPKG")
    corrals = gpd.GeoDataFrame(
        {"corral_id": ["ALF-C1", "BET-C1"], "community": ["Alfa", "Beta"]},
        geometry=[Point(E0 + 400, N0 + 400), Point(E0 + 1600, N0 + 600)],
        crs=UTM,
    )
    pyogrio.write_dataframe(corrals, root / PROJECT_FILES["corrals"], driver="GPKG")
    HERDS.to_csv(root / PROJECT_FILES["herds"], index=False)
    return root


@pytest.fixture
def project(tmp_path, project_template) -> Project:
    proj = Project(tmp_path / "in")
    shutil.copytree(project_template, proj.root)
    proj.files = {kind: proj.root / name for kind, name in PROJECT_FILES.items()}
    return proj


def check_plots(path: Path, *extra: str) -> Callable[[Project], Args]:
    return lambda p: ["check", "--communities", str(p.files["communities"]), "--plots", str(path)]


# --- builders of broken files ---------------------------------------------------------
def _gpkg_bytes(p: Project) -> bytes:
    return p.files["plots"].read_bytes()


def kml_doc(body: str, prolog: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"{body}</Document></kml>\n"
    )


def kml_polygon(name: str, geom: Polygon) -> str:
    return (
        f"<Placemark><name>{name}</name><Polygon><outerBoundaryIs><LinearRing><coordinates>"
        f"{kml_coords(lonlat(geom))}</coordinates></LinearRing></outerBoundaryIs></Polygon>"
        "</Placemark>"
    )


BILLION_LAUGHS = (
    '\n<!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
)


def gpx_doc(body: str, prolog: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}\n'
        '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
        f"{body}</gpx>\n"
    )


def gpx_track(points: list[tuple[float, float]], name: str = "cerco") -> str:
    pts = "".join(f'<trkpt lat="{y:.7f}" lon="{x:.7f}"></trkpt>' for x, y in points)
    return f"<trk><name>{name}</name><trkseg>{pts}</trkseg></trk>"


def kmz(p: Project, name: str, members: dict[str, bytes | str]) -> Path:
    path = p.path(name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for member, data in members.items():
            z.writestr(member, data)
    return path


def kmz_bomb(p: Project) -> Path:
    path = p.path("bomb.kmz")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("doc.kml", kml_doc(kml_polygon("ALF-01", square(E0 + 100, N0 + 100, 50, 50))))
        with z.open("files/padding.bin", "w") as f:
            block = b"\0" * (1 << 20)
            for _ in range(65):
                f.write(block)
    return path


def small_loop() -> Polygon:
    """A 200 m x 250 m plot whose west fence crosses itself in a loop of a few m²."""
    ring = [(0, 0), (200, 0), (200, 250), (0, 250), (0, 130), (2, 128), (2, 132), (-1, 126)]
    return Polygon([(E0 + 100 + x, N0 + 100 + y) for x, y in ring])


def geojson(p: Project, name: str, features: list[dict], crs: str | None = None) -> Path:
    doc: dict = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return p.write_text(name, json.dumps(doc))


def feature(geom: dict | None, **props: object) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geom}


def shp_without_prj(p: Project) -> Path:
    path = p.write_plots(plots_frame(), "sin_prj.shp")
    path.with_suffix(".prj").unlink()
    return path


def herds_with(p: Project, column: str, value: str, name: str = "herds_bad.csv") -> Path:
    table = HERDS.copy()
    table.loc[0, column] = value
    path = p.path(name)
    table.to_csv(path, index=False)
    return path


def check_herds(path_fn: Callable[[Project], Path]) -> Callable[[Project], Args]:
    return lambda p: [
        "check",
        "--communities",
        str(p.files["communities"]),
        "--corrals",
        str(p.files["corrals"]),
        "--herds",
        str(path_fn(p)),
    ]


def check_layer(path_fn: Callable[[Project], Path], *extra: str) -> Callable[[Project], Args]:
    def build(p: Project) -> Args:
        return ["check", "--communities", str(p.files["communities"]), "--plots", str(path_fn(p)),
                *extra]  # fmt: skip

    build.path_fn = path_fn  # type: ignore[attr-defined]  # reused by the import variants
    build.extra = extra  # type: ignore[attr-defined]
    return build


def import_plots(path_fn: Callable[[Project], Path], *extra: str) -> Callable[[Project], Args]:
    return lambda p: [
        "import",
        str(path_fn(p)),
        "--as",
        "plots",
        "--community",
        "Alfa",
        "--pasture-type",
        "pajonal",
        "-o",
        str(p.root.parent / "out" / "parcelas.gpkg"),
        *extra,
    ]


def forage_with(*extra: str | Callable[[Project], str]) -> Callable[[Project], Args]:
    def build(p: Project) -> Args:
        args = [
            "forage",
            "--communities",
            str(p.files["communities"]),
            "--plots",
            str(p.files["plots"]),
            "--herds",
            str(p.files["herds"]),
            "--out",
            str(p.root.parent / "out"),
        ]
        return args + [e(p) if callable(e) else e for e in extra]

    return build


def index_table(p: Project, rows: list[tuple], name: str = "idx.csv") -> str:
    table = pd.DataFrame(rows, columns=["plot_code", "date", "index", "statistic", "value"])
    path = p.path(name)
    table.to_csv(path, index=False)
    return str(path)


def good_index_rows(value: object = 0.45, date: object = "2024-03-10") -> list[tuple]:
    rows = []
    for code in ("ALF-01", "ALF-02"):
        rows += [
            (code, date, "ndvi", "mean", value),
            (code, date, "ndvi", "valid_fraction", 1.0),
        ]
    return rows


def toml(p: Project, text: str) -> str:
    return str(p.write_text("params.toml", text))


def write_dem(p: Project, name: str = "dem.tif", *, crs: str | None = UTM) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    path = p.path(name)
    size = 40
    yy, xx = np.mgrid[0:size, 0:size]
    z = (3900 + 2.0 * xx + 1.0 * yy).astype("float32")
    profile = {
        "driver": "GTiff",
        "height": size,
        "width": size,
        "count": 1,
        "dtype": "float32",
        "transform": from_origin(E0, N0 + 1000, 25, 25),
    }
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(z, 1)
    return path


def risk_with(*extra: str | Callable[[Project], str]) -> Callable[[Project], Args]:
    def build(p: Project) -> Args:
        args = ["risk", "--plots", str(p.files["plots"]), "--out", str(p.root.parent / "out")]
        return args + [e(p) if callable(e) else e for e in extra]

    return build


def indices_with(*scenes: Callable[[Project], str], plots: Callable | None = None, extra=()):
    def build(p: Project) -> Args:
        plot_file = plots(p) if plots else str(p.files["plots"])
        return [
            "indices",
            *[s(p) for s in scenes],
            "--plots",
            plot_file,
            "--out",
            str(p.root.parent / "out"),
            *extra,
        ]

    return build


def _sparse_dem(p: Project, size: int) -> Path:
    """A DEM whose header declares size x size pixels, none of them written (small file)."""
    import rasterio
    from rasterio.transform import from_origin

    path = p.path("big_dem.tif")
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "float32",
               "crs": UTM, "transform": from_origin(E0, N0 + 1000, 1, 1), "tiled": True,
               "sparse_ok": True}  # fmt: skip
    with rasterio.open(path, "w", **profile):
        pass
    return path


def truncated_tif(p: Project) -> str:
    good = write_dem(p, "band_full.tif").read_bytes()
    folder = p.path("S2A_19LDE_20240310_0_L2A")
    folder.mkdir()
    for band in ("B02", "B03", "B04", "B08", "B11", "B12"):
        (folder / f"{band}.tif").write_bytes(good[: len(good) // 3])
    return str(folder)


def _image_plots(p: Project) -> Path:
    """Two plots on the 100 m x 100 m grid of the imagery helpers (inside community Alfa)."""
    if "image_plots" not in p.files:
        geoms = [box(X0 + 10, Y0 - 50, X0 + 50, Y0 - 10), box(X0 + 50, Y0 - 90, X0 + 90, Y0 - 50)]
        p.files["image_plots"] = p.write_plots(plots_frame(geoms), "image_plots.gpkg")
    return p.files["image_plots"]


def _item(p: Project, date: str, *, scl: int = 4) -> dict:
    files = s2_band_files(p.root.parent / "scenes" / date, date=date, scl=scl)
    assets = {"red": str(files["B04"]), "nir": str(files["B08"]), "scl": str(files["SCL"])}
    iso = f"{date[:4]}-{date[4:6]}-{date[6:]}"
    return stac_item(f"S2B_19KDC_{date}_0_L2A", assets, date=iso)


def _break(item: dict, how: str) -> object:
    """The item broken in one way (types of the STAC fields gone wrong)."""
    item = copy.deepcopy(item)
    red = item["assets"]["red"]
    changes: dict[str, Callable[[], object]] = {
        "feature-is-text": lambda: "hello",
        "assets-list": lambda: item.update(assets=[1, 2]),
        "assets-text": lambda: item.update(assets="B04.tif"),
        "properties-text": lambda: item.update(properties="x"),
        "eo-bands-text": lambda: red.update({"eo:bands": "red"}),
        "scale-text": lambda: red.update({"raster:bands": [{"scale": "abc", "offset": 0}]}),
        "scale-null": lambda: red.update({"raster:bands": [{"scale": None}]}),
        "raster-bands-text": lambda: red.update({"raster:bands": "x"}),
        "bad-datetime": lambda: item["properties"].update(datetime="yesterday"),
        "null-datetime": lambda: item["properties"].update(datetime=None),
        "text-epsg": lambda: item["properties"].update({"proj:epsg": "EPSG:32719"}),
        "asset-not-object": lambda: item["assets"].update(red="B04.tif"),
        "href-missing": lambda: red.pop("href"),
        "href-number": lambda: red.update(href=5),
        "id-missing": lambda: item.pop("id"),
        "nodata-9999": lambda: red.update({"raster:bands": [{"nodata": -9999}]}),
    }
    result = changes[how]()
    return result if isinstance(result, str) else item


#: Ways to break a STAC item, and the rule the message carries.
STAC_BREAKS = {
    "feature-is-text": "malformed-item",
    "assets-list": "malformed-item",
    "assets-text": "malformed-item",
    "properties-text": "malformed-item",
    "eo-bands-text": "malformed-item",
    "scale-text": "malformed-item",
    "scale-null": "malformed-item",
    "raster-bands-text": "malformed-item",
    "bad-datetime": "malformed-item",
    "null-datetime": "unusable-scene",
    "text-epsg": "malformed-item",
    "asset-not-object": "malformed-item",
    "href-missing": "malformed-item",
    "href-number": "unusable-scene",
    "id-missing": "malformed-item",
}


def _indices_args(p: Project, *scenes: str) -> Args:
    return ["indices", *scenes, "--plots", str(_image_plots(p)), "--index", "ndvi",
            "--out", str(p.root.parent / "out")]  # fmt: skip


def stac_run(how: str) -> Callable[[Project], Args]:
    """A FeatureCollection of one good item and one item broken `how`."""

    def build(p: Project) -> Args:
        broken = _break(_item(p, "20240115"), how)
        doc = {"type": "FeatureCollection", "features": [_item(p, "20240105"), broken]}
        return _indices_args(p, str(write_json(p.path("items.json"), doc)))

    return build


def stac_files(other: Callable[[Project], str]) -> Callable[[Project], Args]:
    """A good item's file next to another file."""
    return lambda p: _indices_args(
        p, str(write_json(p.path("good.json"), _item(p, "20240105"))), other(p)
    )


def _scene_in(p: Project, crs: str) -> str:
    """One Sentinel-2 scene (red 0.1, NIR 0.5: NDVI 2/3) over the image plots, in `crs`."""
    to = Transformer.from_crs(UTM, crs, always_xy=True)
    x, y = to.transform(X0 - 20, Y0 + 20)
    step, n = (0.00005, 40) if crs == "EPSG:4326" else (10.0, 20)
    folder = p.root.parent / "scenes" / crs.replace(":", "_")
    stem = "T19KDC_20240115T144731"
    grid = Affine(step, 0, x, 0, -step, y)
    for band, value in (("B04", 0.1), ("B08", 0.5)):
        write_raster(
            folder / f"{stem}_{band}_10m.tif", np.full((n, n), dn(value)), grid, crs=crs,
            tags={"BOA_ADD_OFFSET": "-1000", "BOA_QUANTIFICATION_VALUE": "10000"},
        )  # fmt: skip
    scl = np.full((n, n), 4, dtype=np.uint8)
    write_raster(folder / f"{stem}_SCL_20m.tif", scl, grid, crs=crs)
    return str(folder)


def _mkdir_with(p: Project, name: str, file: str, data: bytes) -> Path:
    folder = _mkdir(p, name)
    (folder / file).write_bytes(data)
    return folder


# --- the corpus -----------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One bad input: how to run it, and what must come out."""

    id: str
    build: Callable[[Project], Args]
    expect: str  # "ok", "data" (exit 1) or "usage" (exit 2)
    words: tuple[str, ...] = ()  # each must appear in the output (case-insensitive)


def C(id: str, build, expect: str, *words: str) -> Case:  # noqa: A002, N802
    return Case(id, build, expect, words)


P = "plots_bad.gpkg"
sq = square(E0 + 100, N0 + 100, 200, 250)
sq2 = square(E0 + 500, N0 + 500, 100, 100)

CASES: list[Case] = [
    # empty and zero-byte files, wrong extensions, truncated and non-vector files
    C("empty/zero-byte-geojson", check_layer(lambda p: p.write_bytes("a.geojson", b"")), "data", "a.geojson", "empty"),
    C("empty/zero-byte-gpkg", check_layer(lambda p: p.write_bytes("a.gpkg", b"")), "data", "a.gpkg", "empty"),
    C("empty/zero-byte-kml", check_layer(lambda p: p.write_bytes("a.kml", b"")), "data", "a.kml", "empty"),
    C("empty/zero-byte-gpx", check_layer(lambda p: p.write_bytes("a.gpx", b"")), "data", "a.gpx", "empty"),
    C("empty/zero-byte-shp", check_layer(lambda p: p.write_bytes("a.shp", b"")), "data", "a.shp", "empty"),
    C("empty/zero-byte-kmz", check_layer(lambda p: p.write_bytes("a.kmz", b"")), "data", "a.kmz", "empty"),
    C("empty/zero-byte-herds", check_herds(lambda p: p.write_bytes("h.csv", b"")), "data", "h.csv", "empty"),
    C("empty/feature-collection", check_layer(lambda p: geojson(p, "e.geojson", [])), "data", "e.geojson", "no features"),
    C("empty/kml-no-placemarks", check_layer(lambda p: p.write_text("e.kml", kml_doc("<name>nada</name>"))), "data", "e.kml"),
    C("empty/kml-only-overlay", check_layer(lambda p: p.write_text("o.kml", kml_doc("<GroundOverlay><name>foto</name><Icon><href>a.png</href></Icon><LatLonBox><north>-16.2</north><south>-16.21</south><east>-69.45</east><west>-69.46</west></LatLonBox></GroundOverlay>"))), "data", "o.kml"),
    C("empty/gpx-empty-track", check_layer(lambda p: p.write_text("e.gpx", gpx_doc("<trk><name>x</name><trkseg></trkseg></trk>"))), "data", "e.gpx"),
    C("empty/header-only-herds", check_herds(lambda p: p.write_text("h.csv", ",".join(HERDS.columns) + "\n")), "ok"),
    C("empty/only-points-as-plots", check_layer(lambda p: p.write_plots(plots_frame([Point(E0 + 150, N0 + 150), Point(E0 + 550, N0 + 550)]))), "data", P, "geometry-type"),
    C("format/wrong-extension-txt", check_layer(lambda p: p.write_text("plots.txt", "x")), "data", "plots.txt", "unsupported"),
    C("format/wrong-extension-docx", check_layer(lambda p: p.write_bytes("plots.docx", b"PK\x03\x04")), "data", "plots.docx", "unsupported"),
    C("format/csv-named-geojson", check_layer(lambda p: p.write_text("c.geojson", "a,b\n1,2\n")), "data", "c.geojson", "cannot be read"),
    C("format/garbage-gpkg", check_layer(lambda p: p.write_bytes("g.gpkg", os.urandom(4096))), "data", "g.gpkg", "cannot be read"),
    C("format/truncated-gpkg", check_layer(lambda p: p.write_bytes("t.gpkg", _gpkg_bytes(p)[:3000])), "data", "t.gpkg"),
    C("format/truncated-geojson", check_layer(lambda p: p.write_text("t.geojson", json.dumps(json.loads(gpd.GeoDataFrame(plots_frame()).to_crs(4326).to_json()))[:200])), "data", "t.geojson", "cannot be read"),
    C("format/json-array", check_layer(lambda p: p.write_text("a.geojson", "[]")), "data", "a.geojson"),
    C("format/missing-file", check_layer(lambda p: p.path("nowhere.gpkg")), "data", "nowhere.gpkg", "not found"),
    C("format/folder-as-file", check_layer(lambda p: p.root), "usage"),
    C("format/gpkg-two-layers", check_layer(lambda p: _two_layer_gpkg(p)), "data", "two.gpkg", "--layer"),  # noqa: PLW0108 (defined below)
    C("format/kmz-not-zip", check_layer(lambda p: p.write_bytes("n.kmz", b"not a zip at all" * 10)), "data", "n.kmz", "not a valid kmz"),
    C("format/truncated-xlsx-herds", check_herds(lambda p: p.write_bytes("h.xlsx", b"PK\x03\x04broken")), "data", "h.xlsx"),
    C("format/pdf-herds", check_herds(lambda p: p.write_bytes("h.pdf", b"%PDF-1.4")), "data", "h.pdf", "unsupported"),
    C("format/latin1-herds-with-enye", check_herds(lambda p: p.write_text("h.csv", HERDS.assign(family_id=["Ñaupa", "Quispe", "Mamani"]).to_csv(index=False), encoding="latin-1")), "ok"),
    # hostile files
    C("hostile/kmz-zip-bomb", check_layer(kmz_bomb), "data", "bomb.kmz", "64 mib"),
    C("hostile/kmz-dotdot-path", check_layer(lambda p: kmz(p, "slip.kmz", {"doc.kml": kml_doc(kml_polygon("A", sq)), "../../evil.kml": "x"})), "data", "slip.kmz", "outside"),
    C("hostile/kmz-absolute-path", check_layer(lambda p: kmz(p, "abs.kmz", {"doc.kml": kml_doc(kml_polygon("A", sq)), "/etc/evil.kml": "x"})), "data", "abs.kmz", "outside"),
    C("hostile/kmz-too-many-files", check_layer(lambda p: kmz(p, "many.kmz", {"doc.kml": kml_doc(kml_polygon("A", sq)), **{f"f/{k}.txt": "" for k in range(1001)}})), "data", "many.kmz", "1000"),
    C("hostile/kml-billion-laughs", check_layer(lambda p: p.write_text("bl.kml", kml_doc(f"<name>&d;</name>{kml_polygon('A', sq)}", BILLION_LAUGHS))), "data", "bl.kml", "entit"),
    C("hostile/gpx-external-entity", check_layer(lambda p: p.write_text("xxe.gpx", gpx_doc("<trk><name>&x;</name></trk>", '\n<!DOCTYPE gpx [<!ENTITY x SYSTEM "file:///etc/passwd">]>'))), "data", "xxe.gpx", "entit"),
    C("hostile/kmz-with-entities", check_layer(lambda p: kmz(p, "ent.kmz", {"doc.kml": kml_doc(kml_polygon("A", sq), BILLION_LAUGHS)})), "data", "ent.kmz", "entit"),
    C("hostile/formula-plot-code", lambda p: [*check_layer(lambda q: q.write_plots(plots_frame(codes=["=HYPERLINK(\"x\")", "+1+2"])))(p), "--summary", str(p.root.parent / "out" / "s.csv")], "ok"),
    C("hostile/formula-community", check_herds(lambda p: herds_with(p, "family_id", "@SUM(A1)")), "ok"),
    # CRS
    C("crs/shapefile-without-prj", check_layer(shp_without_prj), "data", "sin_prj.shp", "--assume-crs"),
    C("crs/shapefile-without-prj-assumed", check_layer(shp_without_prj, "--assume-crs", "EPSG:32719"), "ok"),
    C("crs/assume-crs-nonsense", check_layer(shp_without_prj, "--assume-crs", "EPSG:999999"), "data", "--assume-crs"),
    C("crs/working-crs-geographic", check_layer(lambda p: p.files["plots"], "--crs", "EPSG:4326"), "data", "projected"),
    C("crs/working-crs-nonsense", check_layer(lambda p: p.files["plots"], "--crs", "not-a-crs"), "data", "--crs"),
    C("crs/utm-metres-in-geojson", check_layer(lambda p: p.write_text("m.geojson", _without_crs(plots_frame().to_json()))), "data", "m.geojson", "not-degrees"),
    C("crs/swapped-lat-lon", check_layer(lambda p: p.write_plots(_swapped(plots_frame()), "sw.geojson")), "data", "sw.geojson", "swapped"),
    C("crs/web-mercator-plots", check_layer(lambda p: p.write_plots(plots_frame().to_crs(3857), "m.gpkg")), "ok"),
    C("crs/utm-18s-plots", check_layer(lambda p: p.write_plots(plots_frame().to_crs(32718), "u18.gpkg")), "ok"),
    C("crs/geographic-plots", check_layer(lambda p: p.write_plots(plots_frame().to_crs(4326), "ll.gpkg")), "ok"),
    C("area/plots-in-lima", check_layer(lambda p: p.write_plots(_moved(plots_frame().to_crs(4326), -7.5, 4.2), "lima.gpkg")), "data", "lima.gpkg", "outside-area", "25 km"),
    C("area/plots-outside-community", check_layer(lambda p: p.write_plots(plots_frame([square(E0 + 1500, N0 + 100, 100, 100)]))), "data", P, "outside-community"),
    C("area/unknown-community", check_layer(lambda p: p.write_plots(plots_frame(community=["Gamma", "Alfa"]))), "data", P, "unknown-community"),
    # geometry
    C("geometry/bowtie-small-loop", check_layer(lambda p: p.write_plots(plots_frame([small_loop(), sq2]))), "ok", "invalid-geometry", "repaired"),
    C("geometry/bowtie-symmetric", check_layer(lambda p: p.write_plots(plots_frame([Polygon([(E0 + 100, N0 + 100), (E0 + 300, N0 + 300), (E0 + 300, N0 + 100), (E0 + 100, N0 + 300)]), sq2]))), "data", P, "invalid-geometry"),
    C("geometry/bowtie-rejected", check_layer(lambda p: p.write_plots(plots_frame([small_loop(), sq2])), "--repair", "reject"), "data", P, "--repair reject"),
    C("geometry/self-touching-ring", check_layer(lambda p: p.write_plots(plots_frame([Polygon([(E0 + 100, N0 + 100), (E0 + 300, N0 + 100), (E0 + 300, N0 + 300), (E0 + 200, N0 + 100), (E0 + 100, N0 + 300)]), sq2]))), "ok"),
    C("geometry/null-geometry", check_layer(lambda p: p.write_plots(plots_frame([sq, None]))), "data", P, "null-geometry", "ALF-02"),
    C("geometry/empty-polygon", check_layer(lambda p: p.write_plots(plots_frame([sq, Polygon()]))), "data", P, "null-geometry"),
    C("geometry/all-null-geojson", check_layer(lambda p: geojson(p, "n.geojson", [feature(None, plot_code="A", community="Alfa")])), "data", "n.geojson", "null-geometry"),
    C("geometry/collinear-zero-area", check_layer(lambda p: p.write_plots(plots_frame([Polygon([(E0 + 100, N0 + 100), (E0 + 200, N0 + 100), (E0 + 300, N0 + 100)]), sq2]))), "data", P),
    C("geometry/tiny-half-square-metre", check_layer(lambda p: p.write_plots(plots_frame([square(E0 + 100, N0 + 100, 0.5, 1), sq2]))), "data", P, "zero-area"),
    C("geometry/multipolygon-plot", check_layer(lambda p: p.write_plots(plots_frame([MultiPolygon([sq, square(E0 + 700, N0 + 700, 50, 50)]), sq2]))), "ok"),
    C("geometry/geometry-collection", check_layer(lambda p: p.write_plots(plots_frame([shapely.GeometryCollection([sq, Point(E0, N0)]), sq2]), "gc.geojson")), "ok"),
    C("geometry/3d-polygon", check_layer(lambda p: p.write_plots(plots_frame([shapely.force_3d(sq, 3850), sq2]))), "ok"),
    C("geometry/line-as-plot-closed", check_layer(lambda p: p.write_plots(plots_frame([LineString(list(sq.exterior.coords)[:-1]), sq2]))), "ok"),
    C("geometry/open-track-far", check_layer(lambda p: p.write_plots(plots_frame([LineString([(E0 + 100, N0 + 100), (E0 + 500, N0 + 100), (E0 + 500, N0 + 900)]), sq2]))), "data", P, "open-track"),
    C("geometry/two-point-line", check_layer(lambda p: p.write_plots(plots_frame([LineString([(E0 + 100, N0 + 100), (E0 + 500, N0 + 100)]), sq2]))), "data", P, "open-track"),
    C("geometry/kml-one-point-line", check_layer(lambda p: p.write_text("one.kml", kml_doc(f"<Placemark><name>P1</name><LineString><coordinates>{kml_coords(lonlat(Point(E0 + 100, N0 + 100)))}</coordinates></LineString></Placemark>{kml_polygon('P2', sq2)}"))), "data", "one.kml", "P1"),
    C("geometry/nan-coordinates-plot", check_layer(lambda p: p.write_plots(plots_frame([Polygon([(E0 + 100, N0 + 100), (np.nan, N0 + 100), (E0 + 200, N0 + 200)]), sq2]))), "data", P, "ALF-01"),
    C("geometry/inf-coordinates-plot", check_layer(lambda p: p.write_plots(plots_frame([Polygon([(E0 + 100, N0 + 100), (np.inf, N0 + 100), (E0 + 200, N0 + 200)]), sq2]))), "data", P, "ALF-01"),
    C("geometry/huge-coordinates-degrees", check_layer(lambda p: p.write_plots(plots_frame([Polygon([(1e300, 1e300), (1e300 + 1e290, 1e300), (1e300, 1e300 + 1e290)]), shapely.Polygon(lonlat(sq2))]).set_crs(4326, allow_override=True), "huge.gpkg")), "data", "huge.gpkg"),
    C("geometry/huge-coordinates-utm", check_layer(lambda p: p.write_plots(plots_frame([square(1e15, 1e15, 100, 100), sq2]), "hu.gpkg")), "data", "hu.gpkg"),
    C("geometry/nan-corral", lambda p: ["check", "--communities", str(p.files["communities"]), "--corrals", str(p.write_plots(gpd.GeoDataFrame({"corral_id": ["C1"], "community": ["Alfa"]}, geometry=[Point(np.nan, np.nan)], crs=UTM), "nc.gpkg"))], "data", "nc.gpkg"),
    # attributes and names
    C("fields/duplicate-plot-codes", check_layer(lambda p: p.write_plots(plots_frame(codes=["ALF-01", "ALF-01"]))), "data", P, "duplicate-key"),
    C("fields/missing-plot-code-field", check_layer(lambda p: p.write_plots(plots_frame().drop(columns="plot_code"))), "data", P, "plot_code"),
    C("fields/empty-plot-codes", check_layer(lambda p: p.write_plots(plots_frame(codes=["", " "]))), "data", P, "missing-value"),
    C("fields/unknown-pasture-type", check_layer(lambda p: p.write_plots(plots_frame(pasture_type=["pajonal", "selva"]))), "data", P, "unknown-pasture-type"),
    C("fields/fenced-year-text", check_layer(lambda p: p.write_plots(plots_frame(fenced_year=["hace años", "2019"]))), "data", P, "bad-year"),
    C("fields/fenced-year-3000", check_layer(lambda p: p.write_plots(plots_frame(fenced_year=[3000, 2019]))), "data", P, "bad-year"),
    C("fields/fenced-year-fraction", check_layer(lambda p: p.write_plots(plots_frame(fenced_year=[2019.5, 2019]))), "data", P, "bad-year"),
    C("names/enye-and-accents", check_layer(lambda p: p.write_plots(plots_frame(codes=["Ñuñoa-01", "Cóndor-Pampa"]))), "ok"),
    C("names/apostrophe-kisini", check_layer(lambda p: p.write_plots(plots_frame(codes=["K'isini-01", "Q'ero"]))), "ok"),
    C("names/community-case-accents", check_layer(lambda p: p.write_plots(plots_frame(community=["ALFA", "álfa"]))), "ok"),
    C("names/kml-apostrophe-accent", import_plots(lambda p: p.write_text("k.kml", kml_doc(kml_polygon("K'isini Ñaña", sq)))), "ok"),
    C("overlap/check-overlapping-plots", check_layer(lambda p: p.write_plots(plots_frame([sq, square(E0 + 200, N0 + 200, 100, 100)]))), "data", P, "overlap"),
    C("overlap/import-overlapping-plots", import_plots(lambda p: p.write_plots(plots_frame([sq, square(E0 + 200, N0 + 200, 100, 100)]))), "data", P, "overlap"),
    C("overlap/import-zero-area-plot", import_plots(lambda p: p.write_plots(plots_frame([square(E0 + 100, N0 + 100, 0.1, 0.1), sq2]))), "data", P, "zero-area"),
    C("overlap/touching-plots-ok", check_layer(lambda p: p.write_plots(plots_frame([sq, square(E0 + 300, N0 + 100, 100, 100)]))), "ok"),
    # herd registers
    C("herds/count-text", check_herds(lambda p: herds_with(p, "alpacas", "muchos")), "data", "herds_bad.csv", "bad-count", "alpacas"),
    C("herds/count-negative", check_herds(lambda p: herds_with(p, "alpacas", "-4")), "data", "herds_bad.csv", "negative"),
    C("herds/count-fraction", check_herds(lambda p: herds_with(p, "llamas", "2.5")), "data", "herds_bad.csv", "whole"),
    C("herds/count-1e30", check_herds(lambda p: herds_with(p, "alpacas", "1e30")), "data", "herds_bad.csv", "implausible-count"),
    C("herds/count-ten-million", check_herds(lambda p: herds_with(p, "alpacas", "10000000")), "data", "herds_bad.csv", "implausible-count"),
    C("herds/count-5000-warning", check_herds(lambda p: herds_with(p, "sheep", "5000")), "ok", "implausible-count", "unusually"),
    C("herds/count-nan", check_herds(lambda p: herds_with(p, "alpacas", "nan")), "data", "herds_bad.csv", "bad-count"),
    C("herds/count-inf", check_herds(lambda p: herds_with(p, "alpacas", "inf")), "data", "herds_bad.csv", "bad-count"),
    C("herds/count-decimal-comma", check_herds(lambda p: herds_with(p, "alpacas", "40,0")), "ok"),
    C("herds/missing-community-column", check_herds(lambda p: _herds_without(p, "community")), "data", "h2.csv", "community"),
    C("herds/unknown-corral", check_herds(lambda p: herds_with(p, "corral_id", "ZZZ-C9")), "data", "herds_bad.csv", "unknown-corral"),
    C("herds/cattle-column", check_herds(lambda p: _herds_plus(p, "vacunos", "3")), "data", "h3.csv", "unknown-species"),
    C("herds/duplicate-family", check_herds(lambda p: herds_with(p, "family_id", "ALF-F2")), "data", "herds_bad.csv", "duplicate-key"),
    C("herds/semicolon-csv", check_herds(lambda p: p.write_text("h.csv", HERDS.to_csv(index=False, sep=";"))), "ok"),
    C("herds/xlsx-live-formula-family", check_herds(lambda p: _herds_xlsx(p, "=1+1")), "data", "h.xlsx", "family_id"),
    C("herds/xlsx-text-formula-family", check_herds(lambda p: _herds_xlsx(p, "'=1+1")), "ok"),
    # numeric options: NaN, infinity, out of range -> usage error naming the option
    C("option/check-overlap-nan", check_layer(lambda p: p.files["plots"], "--overlap-tolerance", "nan"), "usage", "--overlap-tolerance"),
    C("option/check-overlap-inf", check_layer(lambda p: p.files["plots"], "--overlap-tolerance", "inf"), "usage", "--overlap-tolerance"),
    C("option/check-overlap-negative", check_layer(lambda p: p.files["plots"], "--overlap-tolerance", "-1"), "usage", "--overlap-tolerance"),
    C("option/check-overlap-text", check_layer(lambda p: p.files["plots"], "--overlap-tolerance", "mucho"), "usage", "--overlap-tolerance"),
    C("option/import-fenced-year-nan", import_plots(lambda p: p.files["plots"], "--fenced-year", "nan"), "usage", "--fenced-year"),
    C("option/import-fenced-year-1e9", import_plots(lambda p: p.files["plots"], "--fenced-year", "1e9"), "usage", "--fenced-year"),
    C("option/import-overlap-nan", import_plots(lambda p: p.files["plots"], "--overlap-tolerance", "nan"), "usage", "--overlap-tolerance"),
    C("option/forage-herd-uo-nan", forage_with("--herd-uo", "nan"), "usage", "--herd-uo"),
    C("option/forage-herd-uo-zero", forage_with("--herd-uo", "0"), "usage", "--herd-uo"),
    C("option/forage-herd-uo-inf", forage_with("--herd-uo", "inf"), "usage", "--herd-uo"),
    C("option/forage-use-factor-nan", forage_with("--use-factor", "nan"), "usage", "--use-factor"),
    C("option/forage-use-factor-1.5", forage_with("--use-factor", "1.5"), "usage", "--use-factor"),
    C("option/forage-month-13", forage_with("--month", "13"), "usage", "--month"),
    C("option/forage-month-fraction", forage_with("--month", "7.5"), "usage", "--month"),
    C("option/forage-calibration-days-inf", forage_with("--calibration-days", "inf"), "usage", "--calibration-days"),
    C("option/indices-min-valid-nan", indices_with(lambda p: str(p.root), extra=("--min-valid", "nan")), "usage", "--min-valid"),
    C("option/indices-min-valid-2", indices_with(lambda p: str(p.root), extra=("--min-valid", "2")), "usage", "--min-valid"),
    C("option/indices-max-cloud-inf", indices_with(lambda p: str(p.root), extra=("--max-cloud", "inf")), "usage", "--max-cloud"),
    C("option/risk-l-max-inf", risk_with("--l-max", "inf"), "usage", "--l-max"),
    C("option/risk-l-max-nan", risk_with("--l-max", "nan"), "usage", "--l-max"),
    C("option/risk-c-factor-nan", risk_with("--c-factor", "nan"), "usage", "--c-factor"),
    C("option/risk-resolution-0.01", risk_with("--resolution", "0.01"), "usage", "--resolution"),
    C("option/risk-erodibility-nan", risk_with("--erodibility", "nan"), "usage", "--erodibility"),
    C("option/risk-erodibility-us-units", risk_with("--erodibility", "0.3"), "usage", "--erodibility"),
    C("option/risk-erosivity-negative", risk_with("--erosivity", "-5"), "usage", "--erosivity"),
    C("option/risk-piosphere-inf", risk_with("--piosphere-decay", "inf"), "usage", "--piosphere-decay"),
    C("option/risk-top-negative", risk_with("--top", "-1"), "usage", "--top"),
    C("option/risk-rainfall-nan", risk_with("--rainfall", ",".join(["50"] * 11 + ["nan"])), "usage", "--rainfall"),
    C("option/risk-rainfall-eleven", risk_with("--rainfall", ",".join(["50"] * 11)), "usage", "--rainfall"),
    C("option/risk-rainfall-text", risk_with("--rainfall", "mucho"), "usage", "--rainfall"),
    C("option/rotate-weeks-text", lambda p: ["rotate", "--weeks", "muchas"], "usage", "--weeks"),
    # forage inputs: index tables, calibration cuts, parameter files
    C("forage/index-text-dates", forage_with("--indices", lambda p: index_table(p, good_index_rows(date="ayer"))), "data", "idx.csv", "bad-date"),
    C("forage/index-text-values", forage_with("--indices", lambda p: index_table(p, good_index_rows(value="alto"))), "data", "idx.csv", "bad-value"),
    C("forage/index-ndvi-50", forage_with("--indices", lambda p: index_table(p, good_index_rows(value=50))), "data", "idx.csv", "impossible-value"),
    C("forage/index-missing-columns", forage_with("--indices", lambda p: str(p.write_text("i.csv", "plot_code,ndvi\nALF-01,0.4\n"))), "data", "i.csv", "missing-field"),
    C("forage/index-zero-byte", forage_with("--indices", lambda p: str(p.write_bytes("i.csv", b""))), "data", "i.csv"),
    C("forage/index-truncated-parquet", forage_with("--indices", lambda p: str(p.write_bytes("i.parquet", b"PAR1\x00\x00"))), "data", "i.parquet"),
    C("forage/index-cloudy-date-empty-values", forage_with("--indices", lambda p: index_table(p, [*good_index_rows(), ("ALF-01", "2024-04-10", "ndvi", "mean", ""), ("ALF-01", "2024-04-10", "ndvi", "valid_fraction", 0.0)])), "ok"),
    C("forage/index-infinite-value", forage_with("--indices", lambda p: index_table(p, good_index_rows(value="inf"))), "data", "idx.csv", "bad-value"),
    C("forage/index-dd-mm-dates", forage_with("--indices", lambda p: index_table(p, good_index_rows(date="10/03/2024"))), "ok"),
    C("forage/index-timezone-dates", forage_with("--indices", lambda p: index_table(p, good_index_rows(date="2024-03-10T14:00:00-05:00"))), "ok"),
    C("forage/params-pasture-types-5", forage_with("--params", lambda p: toml(p, "pasture_types = 5\n")), "data", "params.toml", "pasture_types"),
    C("forage/params-use-factor-text", forage_with("--params", lambda p: toml(p, 'use_factor = "half"\n')), "data", "params.toml", "use_factor"),
    C("forage/params-budget-month-bool", forage_with("--params", lambda p: toml(p, "budget_month = true\n")), "data", "params.toml", "budget_month"),
    C("forage/params-intake-nan", forage_with("--params", lambda p: toml(p, "[intake]\ng_dm_per_kg_metabolic = nan\n")), "data", "params.toml", "intake"),
    C("forage/params-rain-inf", forage_with("--params", lambda p: toml(p, "monthly_rain_mm = [1,2,3,4,5,6,7,8,9,10,11,inf]\n")), "data", "params.toml", "monthly_rain_mm"),
    C("forage/params-not-toml", forage_with("--params", lambda p: toml(p, "use_factor: 0.5\n")), "data", "params.toml", "toml"),
    C("forage/params-unknown-key", forage_with("--params", lambda p: toml(p, "usefactor = 0.5\n")), "data", "params.toml", "unknown"),
    C("forage/params-overrides-number", forage_with("--params", lambda p: toml(p, "[animal_units]\noverrides = 5\n")), "data", "params.toml"),
    C("forage/params-production-text", forage_with("--params", lambda p: toml(p, '[pasture_types.bofedal]\nproduction_kg_ha_yr = "mucho"\n')), "data", "params.toml", "production_kg_ha_yr"),
    C("forage/calibration-month-first-date", forage_with("--indices", lambda p: index_table(p, good_index_rows()), "--calibration", lambda p: str(p.write_text("cuts.csv", "plot_code,date,biomass_kg_ha\nALF-01,03/15/2024,900\n"))), "data", "cuts.csv", "bad-date"),
    C("forage/calibration-biomass-nan", forage_with("--indices", lambda p: index_table(p, good_index_rows()), "--calibration", lambda p: str(p.write_text("cuts.csv", "plot_code,date,biomass_kg_ha\nALF-01,2024-03-10,nan\n"))), "data", "cuts.csv", "biomass"),
    # outputs that cannot be written
    C("output/forage-out-under-a-file", forage_with("--out", lambda p: str(p.write_text("f.txt", "x") / "sub")), "data", "f.txt"),
    C("output/check-summary-under-a-file", lambda p: [*check_layer(lambda q: q.files["plots"])(p), "--summary", str(p.write_text("g.txt", "x") / "s.csv")], "data", "g.txt"),
    C("output/check-summary-bad-suffix", lambda p: [*check_layer(lambda q: q.files["plots"])(p), "--summary", str(p.root.parent / "out" / "s.ods")], "data", "s.ods"),
    C("output/import-out-not-gpkg", lambda p: [*import_plots(lambda q: q.files["plots"])(p)[:-2], "-o", str(p.root.parent / "o.shp")], "data", "o.shp"),
    C("output/import-out-is-input", lambda p: [*import_plots(lambda q: q.files["plots"])(p)[:-2], "-o", str(p.files["plots"])], "data", "never modifies"),
    C("output/import-out-garbage-gpkg", lambda p: [*import_plots(lambda q: q.files["plots"])(p)[:-2], "-o", str(p.write_text("x.gpkg", "not sqlite"))], "data", "x.gpkg"),
    C("output/import-out-under-a-file", lambda p: [*import_plots(lambda q: q.files["plots"])(p)[:-2], "-o", str(p.write_text("h.txt", "x") / "o.gpkg")], "data", "h.txt"),
    # imagery and terrain files
    C("imagery/empty-scene-folder", indices_with(lambda p: str(_mkdir(p, "S2A_19LDE_20240310_0_L2A"))), "data"),
    C("imagery/truncated-geotiff-bands", indices_with(truncated_tif), "data"),
    C("imagery/non-stac-json", indices_with(lambda p: str(p.write_text("item.json", '{"hello": 1}'))), "data"),
    C("imagery/truncated-stac-json", indices_with(lambda p: str(p.write_text("item.json", '{"type": "Feature", "stac_ver'))), "data"),
    C("imagery/plots-with-errors", indices_with(lambda p: str(p.root), plots=lambda p: str(p.write_plots(plots_frame(codes=["A", "A"])))), "data", P),
    C("risk/params-erodibility-nan", risk_with("--dem", lambda p: str(write_dem(p)), "--c-factor", "0.1", "--params", lambda p: str(p.write_text("r.toml", "[rusle]\nerodibility = nan\n"))), "data", "r.toml", "rusle.erodibility = nan"),
    C("risk/params-threshold-inf", risk_with("--dem", lambda p: str(write_dem(p)), "--c-factor", "0.1", "--params", lambda p: str(p.write_text("r.toml", "[risk]\nsoil_loss = [5, inf, 50]\n"))), "data", "r.toml", "inf"),
    C("risk/params-section-number", risk_with("--dem", lambda p: str(write_dem(p)), "--c-factor", "0.1", "--params", lambda p: str(p.write_text("r.toml", "rusle = 5\n"))), "data", "r.toml"),
    C("terrain/zero-byte-dem", risk_with("--dem", lambda p: str(p.write_bytes("dem.tif", b""))), "data", "dem.tif"),
    C("terrain/truncated-dem", risk_with("--dem", lambda p: str(p.write_bytes("d.tif", write_dem(p).read_bytes()[:700]))), "data", "d.tif"),
    C("terrain/text-as-dem", risk_with("--dem", lambda p: str(p.write_text("t.tif", "elevation 3900"))), "data", "t.tif"),
    C("terrain/dem-20000-squared-pixels", risk_with("--dem", lambda p: str(_sparse_dem(p, 20_000))), "data", "big_dem.tif", "more than the"),
    C("terrain/dem-without-crs", risk_with("--dem", lambda p: str(write_dem(p, "nocrs.tif", crs=None))), "data", "nocrs.tif", "coordinate reference system"),
    C("terrain/missing-dem", risk_with("--dem", lambda p: str(p.path("no_dem.tif"))), "data", "no_dem.tif"),
    C("terrain/empty-plots-layer", lambda p: ["risk", "--dem", str(write_dem(p)), "--plots", str(geojson(p, "e.geojson", [])), "--out", str(p.root.parent / "out")], "data", "e.geojson"),
    *[C(f"stac/{name}-next-to-a-good-item", stac_run(name), "ok", "date(s) usable", rule) for name, rule in STAC_BREAKS.items()],
    C("stac/truncated-json-next-to-good", stac_files(lambda p: str(p.write_text("t.json", '{"type": "Feat'))), "ok", "unusable-scene", "t.json"),
    C("stac/non-stac-json-next-to-good", stac_files(lambda p: str(p.write_text("n.json", '{"a": 1}'))), "ok", "unusable-scene", "n.json"),
    C("stac/features-not-a-list", stac_files(lambda p: str(write_json(p.path("f.json"), {"type": "FeatureCollection", "features": "x"}))), "ok", "f.json"),
    C("stac/all-cloud-only-scene", lambda p: _indices_args(p, str(write_json(p.path("c.json"), _item(p, "20240125", scl=9)))), "ok", "0 of 1 date(s) usable"),
    C("stac/all-cloud-next-to-good", stac_files(lambda p: str(write_json(p.path("c.json"), _item(p, "20240125", scl=9)))), "ok", "1 of 2 date(s) usable"),
    C("stac/nodata-9999-on-uint16", stac_files(lambda p: str(write_json(p.path("nd.json"), _break(_item(p, "20240115"), "nodata-9999")))), "ok", "cannot hold"),
    C("imagery/geographic-scene", lambda p: _indices_args(p, _scene_in(p, "EPSG:4326")), "ok", "1 of 1 date(s) usable", "reprojected"),
    C("imagery/scene-in-another-utm-zone", lambda p: _indices_args(p, _scene_in(p, "EPSG:32718")), "ok", "1 of 1 date(s) usable", "reprojected"),
    C("imagery/plots-outside-the-imagery", lambda p: ["indices", str(write_json(p.path("g.json"), _item(p, "20240105"))), "--plots", str(p.files["plots"]), "--out", str(p.root.parent / "out")], "data", "no index value"),
    C("imagery/folder-of-non-rasters", indices_with(lambda p: str(_mkdir_with(p, "S2A_19LDE_20240310_0_L2A", "B04.tif", b"II*\x00garbage"))), "data"),
    C("rotate/black-box-bad-herds", lambda p: ["rotate", "--communities", str(p.files["communities"]), "--plots", str(p.files["plots"]), "--corrals", str(p.files["corrals"]), "--herds", str(herds_with(p, "alpacas", "1e30")), "--out", str(p.root.parent / "out")], "data", "herds_bad.csv"),
]  # fmt: skip


def _two_layer_gpkg(p: Project) -> Path:
    path = p.path("two.gpkg")
    pyogrio.write_dataframe(plots_frame(), path, layer="a")
    pyogrio.write_dataframe(plots_frame(), path, layer="b", append=True)
    return path


def _swapped(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    ll = gdf.to_crs(4326)
    return ll.set_geometry(shapely.transform(ll.geometry.to_numpy(), lambda xy: xy[:, ::-1]))


def _without_crs(text: str) -> str:
    doc = json.loads(text)
    doc.pop("crs", None)
    return json.dumps(doc)


def _moved(gdf: gpd.GeoDataFrame, dx: float, dy: float) -> gpd.GeoDataFrame:
    return gdf.set_geometry(gdf.geometry.translate(dx, dy))


def _herds_without(p: Project, column: str) -> Path:
    path = p.path("h2.csv")
    HERDS.drop(columns=column).to_csv(path, index=False)
    return path


def _herds_plus(p: Project, column: str, value: str) -> Path:
    path = p.path("h3.csv")
    HERDS.assign(**{column: value}).to_csv(path, index=False)
    return path


def _herds_xlsx(p: Project, family: str) -> Path:
    path = p.path("h.xlsx")
    # openpyxl writes "=1+1" as a formula with no cached value, as a program that
    # never computed the sheet leaves it (XlsxWriter would cache 0)
    HERDS.assign(family_id=[family, "ALF-F2", "BET-F1"]).to_excel(
        path, index=False, engine="openpyxl"
    )
    return path


def _mkdir(p: Project, name: str) -> Path:
    path = p.path(name)
    path.mkdir()
    return path


# --- the real third-party files --------------------------------------------------------
REAL_VECTOR = sorted(
    [
        *(REALDATA / "4_kml_gpx").glob("*.k*"),
        *(REALDATA / "4_kml_gpx").glob("*.gpx"),
        *(REALDATA / "6_vector_parcels_shp_gpkg").glob("*.gpkg"),
        *(REALDATA / "3_peru_boundaries").glob("*.geojson"),
    ]
)


def checksums(root: Path) -> dict[str, str]:
    return {
        str(f.relative_to(root)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(root.rglob("*"))
        if f.is_file()
    }


def run(args: Args) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, catch_exceptions=True)
    text = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        text += f"\n{type(result.exception).__name__}: {result.exception}"
    return result.exit_code, text


EXIT = {"ok": 0, "data": 1, "usage": 2}


def assert_outcome(code: int, text: str, expect: str, words: tuple[str, ...]) -> None:
    assert code != 3, f"internal error (exit 3):\n{text}"
    assert "Traceback" not in text, text
    assert code == EXIT[expect], f"exit {code}, expected {EXIT[expect]} ({expect}):\n{text}"
    low = text.lower()
    for word in words:
        assert word.lower() in low, f"{word!r} not in the output:\n{text}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, project: Project, tmp_path: Path) -> None:
    args = case.build(project)
    before = checksums(project.root)
    code, text = run(args)
    assert_outcome(code, text, case.expect, case.words)
    after = checksums(project.root)
    assert after == before, "an input file was modified"
    leftovers = list(tmp_path.rglob(".pastures-tmp-*"))
    assert not leftovers, f"temporary files left behind: {leftovers}"


#: The same broken layers through `pastures import` (another reader path: defaults filled,
#: communities assigned, the GeoPackage written): never exit 3, the file named on exit 1.
IMPORT_CLASSES = ("format", "hostile", "crs", "geometry", "fields", "names", "empty")
IMPORT_CASES = [
    c for c in CASES if c.id.split("/")[0] in IMPORT_CLASSES and hasattr(c.build, "path_fn")
]


@pytest.mark.parametrize("case", IMPORT_CASES, ids=[f"import:{c.id}" for c in IMPORT_CASES])
def test_bad_layer_through_import(case: Case, project: Project, tmp_path: Path) -> None:
    layer = case.build.path_fn(project)  # type: ignore[attr-defined]
    extra = [a for a in case.build.extra if a not in {"--overlap-tolerance"}]  # type: ignore[attr-defined]
    before = checksums(project.root)
    code, text = run(import_plots(lambda _p: layer, *extra)(project))
    assert code != 3, f"internal error (exit 3):\n{text}"
    assert "Traceback" not in text, text
    assert code == EXIT[case.expect] or (case.expect == "ok" and code == 1), text
    if code == 1 and Path(layer).name:
        assert Path(layer).name in text or "--crs" in text or "--assume-crs" in text, text
    assert checksums(project.root) == before, "an input file was modified"
    assert not list(tmp_path.rglob(".pastures-tmp-*"))
    out = project.root.parent / "out" / "parcelas.gpkg"
    if code == 0:
        written = pyogrio.read_dataframe(out)
        assert len(written) > 0
        assert written.crs.to_epsg() == 32719
    else:
        assert not out.exists(), "nothing is written when an error is found"


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:32718"])
def test_scenes_in_other_crs_give_the_hand_ndvi(project: Project, crs: str) -> None:
    code, text = run(_indices_args(project, _scene_in(project, crs)))
    assert code == 0, text
    table = pd.read_parquet(project.root.parent / "out" / "index_series.parquet")
    means = table[(table["statistic"] == "mean") & (table["index"] == "ndvi")]["value"]
    assert len(means) == 2
    assert means.to_numpy() == pytest.approx((0.5 - 0.1) / (0.5 + 0.1), abs=1e-4)


def test_formula_names_are_neutralised_in_the_summary(project: Project) -> None:
    bad = project.write_plots(plots_frame(codes=["ALF-01", "ALF-02"], community=["Alfa", "Alfa"]))
    com = _communities().assign(community=["=cmd|' /C calc'!A0", "Beta"])
    com_path = project.path("com_bad.gpkg")
    pyogrio.write_dataframe(com, com_path)
    out = project.root.parent / "out" / "s.csv"
    code, text = run(["check", "--communities", str(com_path), "--summary", str(out)])
    assert code == 0, text
    assert "'=cmd" in out.read_text(encoding="utf-8")
    del bad


@pytest.mark.realdata
@pytest.mark.parametrize("path", REAL_VECTOR, ids=[p.name for p in REAL_VECTOR])
def test_real_file_import_never_crashes(path: Path, tmp_path: Path) -> None:
    """Real KML/GPX/GeoPackage/GeoJSON of other projects: a message naming the file, or a layer."""
    if not path.exists():
        pytest.skip(f"third-party file {path} is absent")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    code, text = run(
        [
            "import",
            str(path),
            "--as",
            "plots",
            "--community",
            "Alfa",
            "--pasture-type",
            "pajonal",
            "-o",
            str(tmp_path / "o.gpkg"),
        ]
    )
    assert code in (0, 1), text
    assert "Traceback" not in text, text
    assert "Internal error" not in text, text
    if code == 1:
        assert path.name in text, text  # the message names the file
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_corpus_is_large_enough() -> None:
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be distinct"
    assert len(CASES) >= 100
    assert len(IMPORT_CASES) >= 40


def test_internal_error_exit_3_asks_for_debug(monkeypatch, project: Project) -> None:
    import pastures.layers as layers_module  # check imports load_project when it runs

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(layers_module, "load_project", broken)
    code, text = run(["check", "--plots", str(project.files["plots"])])
    assert code == 3
    assert "Internal error (ZeroDivisionError): a bug" in text
    assert "--debug" in text
    with pytest.raises(ZeroDivisionError):
        CliRunner().invoke(
            main, ["--debug", "check", "--plots", str(project.files["plots"])],
            catch_exceptions=False,
        )  # fmt: skip


def test_file_system_refusal_is_exit_1_naming_the_file(monkeypatch, project: Project) -> None:
    import pastures.layers as layers_module  # check imports load_project when it runs

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/srv/datos/parcelas.gpkg")

    monkeypatch.setattr(layers_module, "load_project", denied)
    code, text = run(["check", "--plots", str(project.files["plots"])])
    assert code == 1
    assert "/srv/datos/parcelas.gpkg: Permission denied" in text


def test_warnings_reach_the_user_as_one_clean_line(project: Project) -> None:
    bad = project.write_plots(plots_frame([small_loop(), sq2]))
    code, text = run(
        ["check", "--communities", str(project.files["communities"]), "--plots", str(bad)]
    )
    assert code == 0, text
    lines = [line for line in text.splitlines() if line.startswith("Warning:")]
    assert len(lines) == 1, text
    assert "invalid outline" in lines[0]
    assert "warnings.warn" not in text
    assert "GeometryRepairedWarning" not in text
    assert ".py:" not in text  # no source file and line


def test_exit_codes_are_in_the_help() -> None:
    code, text = run(["--help"])
    assert code == 0
    for line in ("Exit status:", "0   done", "1   a problem in the data", "2   usage error",
                 "3   internal error"):  # fmt: skip
        assert line in text
