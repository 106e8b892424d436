"""``pastures fetch`` against a local STAC API and COG file server on 127.0.0.1.

The server answers as Earth Search and the Planetary Computer do: a landing
page, ``POST /search`` returning an ItemCollection, ``GET /token/{collection}``
(Planetary Computer SAS API) and band files with HTTP range requests (what
GDAL's ``/vsicurl/`` needs). The items are the REAL item JSON of
``../shared/realdata/1_stac_items`` (see its SOURCES.txt), with only their asset
hrefs pointed at the local server; the band files are small generated COGs in
the item's own CRS, inside its footprint, whose pixel values are known:

- ``red`` / ``B04`` DN 1000 and ``nir`` / ``B08`` DN 5000 (reflectance 0.1 and 0.5 for
  the Earth Search item, whose ``earthsearch:boa_offset_applied`` is true), so
  NDVI = (0.5 - 0.1) / (0.5 + 0.1) = 2/3;
- ``blue`` / ``B02`` DN = 256 × row + column of the source file, so a clipped
  file can be checked pixel by pixel against the source;
- ``scl`` class 4 (vegetation) everywhere.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.shutil
import shapely
from affine import Affine
from click.testing import CliRunner
from pyproj import Transformer
from rasterio.io import MemoryFile

from conftest import realdata
from pastures import schema
from pastures.cli import main
from pastures.errors import MissingDependencyError, ParameterError, PasturesError
from pastures.fetch import (
    DEM_FILE,
    MANIFEST,
    S2_ASSETS,
    CatalogueError,
    fetch_dem,
    fetch_imagery,
)
from pastures.imagery import load_scenes

pytest.importorskip("pystac_client", reason="pastures fetch needs pystac-client (test extra)")


ES_ITEM = "earthsearch_v1_sentinel-2-l2a_S2B_24MUV_20250731_0_L2A.json"
PC_ITEM = "pc_sentinel-2-l2a_S2B_T24XWR_20220612_baseline0400.json"
PC_DEM = "pc_cop-dem-glo-30_items.json"
TOKEN = "st=2026-12-01T00%3A00%3A00Z&se=2026-12-02T00%3A00%3A00Z&sp=rl&sig=LOCALTESTSIG"
SIZE = 200  # pixels of a generated 10 m band (2 km); 20 m bands have SIZE // 2
CONFORMS = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#query",
]
WHEN = {"start": dt.date(2025, 7, 1), "end": dt.date(2025, 8, 31)}


def _real(name: str) -> list[dict[str, Any]]:
    data = json.loads(realdata("1_stac_items", name).read_text(encoding="utf-8"))
    if isinstance(data, list):
        return data
    return data.get("features", [data])


# --- the local server ------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    def _send(self, code: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any) -> None:
        self._send(200, json.dumps(data).encode())

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        url = urlparse(self.path)
        self.server.log.append((self.command, url.path, url.query, self.headers.get("Range")))
        parts = url.path.strip("/").split("/")
        if parts[0] in ("es", "pc") and len(parts) == 1:
            root = f"{self.server.base}/{parts[0]}"
            return self._json(
                {
                    "type": "Catalog",
                    "id": f"local-{parts[0]}",
                    "stac_version": "1.0.0",
                    "description": "local test STAC API",
                    "conformsTo": CONFORMS,
                    "links": [
                        {"rel": "self", "href": root, "type": "application/json"},
                        {"rel": "root", "href": root, "type": "application/json"},
                        {
                            "rel": "search",
                            "href": f"{root}/search",
                            "type": "application/geo+json",
                            "method": "POST",
                        },
                    ],
                }
            )
        if parts[0] == "token" and len(parts) == 2:
            return self._json({"msft:expiry": "2026-12-02T00:00:00Z", "token": TOKEN})
        if parts[0] == "files":
            return self._file(url.path)
        return self._send(404, b"{}")

    def _file(self, path: str) -> None:
        local = self.server.files.get(path)
        if local is None or path in self.server.missing:
            return self._send(404, b"not found", "text/plain")
        data = local.read_bytes()
        ranged = self.headers.get("Range")
        if not ranged:
            self.send_response(200)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Type", "image/tiff")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            return None
        first, _, last = ranged.removeprefix("bytes=").partition("-")
        a = int(first)
        b = min(int(last) if last else len(data) - 1, len(data) - 1)
        self.send_response(206)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "image/tiff")
        self.send_header("Content-Range", f"bytes {a}-{b}/{len(data)}")
        self.send_header("Content-Length", str(b - a + 1))
        self.end_headers()
        self.wfile.write(data[a : b + 1])
        return None

    def do_POST(self) -> None:
        url = urlparse(self.path)
        self.server.log.append(("POST", url.path, url.query, None))
        parts = url.path.strip("/").split("/")
        if len(parts) != 2 or parts[1] != "search" or parts[0] not in self.server.items:
            return self._send(404, b"{}")
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.searches.append((parts[0], body))
        area = shapely.box(*body["bbox"])
        start, end = (body.get("datetime") or "../..").split("/")
        found = []
        for item in self.server.items[parts[0]]:
            if item.get("collection") not in body.get("collections", [item.get("collection")]):
                continue
            if not shapely.box(*item["bbox"]).intersects(area):
                continue
            day = item["properties"]["datetime"][:10]
            if start not in ("..", "") and not start[:10] <= day <= end[:10]:
                continue
            found.append(item)
        return self._json({"type": "FeatureCollection", "features": found, "links": []})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.base = f"http://127.0.0.1:{self.server_address[1]}"
        self.items: dict[str, list[dict[str, Any]]] = {"es": [], "pc": []}
        self.files: dict[str, Path] = {}
        self.missing: set[str] = set()
        self.log: list[tuple[str, str, str, str | None]] = []
        self.searches: list[tuple[str, dict[str, Any]]] = []

    @property
    def api_urls(self) -> dict[str, str]:
        return {
            "earth-search": f"{self.base}/es",
            "planetary-computer": f"{self.base}/pc",
            "planetary-computer-sas": self.base,
        }

    def file_requests(self) -> list[tuple[str, str, str, str | None]]:
        return [r for r in self.log if r[1].startswith("/files/")]


@pytest.fixture
def server():
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _write_cog(path: Path, data: np.ndarray, transform: Affine, crs: str, nodata: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": data.dtype,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
    }
    with MemoryFile() as mem:
        with mem.open(**profile) as tmp:
            tmp.write(data, 1)
        with mem.open() as src:
            rasterio.shutil.copy(src, path, driver="COG", blocksize=128, compress="DEFLATE")
    return path


def _band_values(key: str, size: int) -> np.ndarray:
    name = S2_ASSETS.get(key, key)
    rows, cols = np.mgrid[0:size, 0:size]
    if name == "blue":
        return (rows * 256 + cols).astype(np.uint16)
    if name == "scl":
        return np.full((size, size), 4, dtype=np.uint8)
    value = {"red": 1000, "nir": 5000}.get(name, 3000)
    return np.full((size, size), value, dtype=np.uint16)


def _origin(item: dict[str, Any], epsg: int) -> tuple[float, float]:
    """Upper-left corner of the generated bands: near the middle of the item's footprint."""
    w, s, e, n = item["bbox"]
    to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    x, y = to_utm.transform((w + e) / 2, (s + n) / 2)
    return float(np.floor(x / 60) * 60), float(np.floor(y / 60) * 60)


def _serve_s2_item(
    srv: _Server, where: str, item: dict[str, Any], root: Path
) -> tuple[dict[str, Any], Affine]:
    """Point the item's wanted assets at generated COGs on `srv`; the 10 m grid."""
    item = copy.deepcopy(item)
    epsg = int(item["properties"]["proj:epsg"])
    x0, y0 = _origin(item, epsg)
    wanted = set(S2_ASSETS) | set(S2_ASSETS.values())
    for key, asset in item["assets"].items():
        if key not in wanted:
            continue
        res = 10 if S2_ASSETS.get(key, key) in ("blue", "green", "red", "nir") else 20
        size = SIZE * 10 // res
        rel = f"/files/{where}/{item['id']}/{key}.tif"
        path = _write_cog(
            root / rel.lstrip("/"),
            _band_values(key, size),
            Affine(res, 0, x0, 0, -res, y0),
            f"EPSG:{epsg}",
            0,
        )
        srv.files[rel] = path
        asset["href"] = f"{srv.base}{rel}"
    srv.items[where].append(item)
    return item, Affine(10, 0, x0, 0, -10, y0)


def _area(grid: Affine, epsg: int, *, x: float = 500, y: float = 500, w: float = 600):
    """A lon/lat box of about `w` m, `x`/`y` m right of and below the grid's corner."""
    to_ll = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)
    xs, ys = grid.c + np.array([x, x + w]), grid.f - np.array([y + w, y])
    lon, lat = to_ll.transform(xs, ys)
    return shapely.box(min(lon), min(lat), max(lon), max(lat))


@pytest.fixture
def es_scene(server, tmp_path):
    item, grid = _serve_s2_item(server, "es", _real(ES_ITEM)[0], tmp_path / "www")
    return item, grid, _area(grid, int(item["properties"]["proj:epsg"]))


# --- tests ------------------------------------------------------------------------------


@pytest.mark.realdata
def test_fetch_clips_bands_records_checksums_and_a_second_run_downloads_nothing(
    server, es_scene, tmp_path
):
    item, grid, area = es_scene
    dest = tmp_path / "imagery"
    result = fetch_imagery(
        area, **WHEN, dest=dest, catalogs=["earth-search"], api_urls=server.api_urls, progress=False
    )
    assert result.downloaded == (item["id"],)
    assert result.failed == ()
    assert result.skipped == ()
    folder = dest / item["id"]
    expected = {"blue", "green", "red", "nir", "nir08", "swir16", "swir22", "scl"}
    assert {p.stem for p in folder.glob("*.tif")} == expected
    assert not list(dest.rglob("*.part"))
    # every range request asked for part of a file, not the whole 200 x 200 band
    ranged = [r for r in server.file_requests() if r[0] == "GET"]
    assert ranged
    assert all(r[3] and r[3].startswith("bytes=") for r in ranged)

    manifest = json.loads((dest / MANIFEST).read_text())["files"]
    for name in expected:
        entry = manifest[f"{item['id']}/{name}.tif"]
        assert entry["sha256"] == hashlib.sha256((folder / f"{name}.tif").read_bytes()).hexdigest()
        assert entry["source"].endswith(f"/{name}.tif")

    # clipped to the area: the file covers the area's UTM bounds, by less than a pixel more
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32724", always_xy=True)
    left, bottom, right, top = to_utm.transform_bounds(*area.bounds, densify_pts=21)
    with rasterio.open(folder / "blue.tif") as src:
        b = src.bounds
        assert b.left <= left < b.left + 10
        assert b.right - 10 < right <= b.right
        assert b.bottom <= bottom < b.bottom + 10
        assert b.top - 10 < top <= b.top
        assert src.crs.to_epsg() == 32724
        data = src.read(1)
        # pixel (0, 0) is source pixel (row, col) found from the two transforms
        col, row = ~grid @ (src.transform.c + 5, src.transform.f - 5)
        assert data[0, 0] == 256 * int(row) + int(col)
        assert data[-1, -1] == 256 * (int(row) + src.height - 1) + int(col) + src.width - 1
    with rasterio.open(folder / "scl.tif") as src:
        assert src.res == (20.0, 20.0)

    # the local item keeps the real metadata, and imagery.py reads it with local files
    local = json.loads((folder / f"{item['id']}.json").read_text())
    assert set(local["assets"]) == expected
    assert local["assets"]["red"]["href"] == "./red.tif"
    assert local["properties"]["earthsearch:boa_offset_applied"] is True
    assert local["properties"]["s2:processing_baseline"] == "05.11"
    with rasterio.open(folder / "red.tif") as src:
        assert local["assets"]["red"]["proj:shape"] == [src.height, src.width]
    scenes, problems = load_scenes(dest)
    assert problems == []
    assert [s.scene_id for s in scenes] == [item["id"]]
    assert scenes[0].bands["red"].href == str((folder / "red.tif").resolve())
    assert scenes[0].bands["red"].offset == 0.0  # boa offset already applied upstream

    server.log.clear()
    again = fetch_imagery(
        area, **WHEN, dest=dest, catalogs=["earth-search"], api_urls=server.api_urls, progress=False
    )
    assert again.skipped == (item["id"],)
    assert again.downloaded == ()
    assert again.bytes_downloaded == 0
    assert server.file_requests() == []


@pytest.mark.realdata
def test_an_interrupted_download_resumes_where_it_stopped(server, es_scene, tmp_path, monkeypatch):
    import pastures.fetch as fetch_module

    item, _, area = es_scene
    dest = tmp_path / "imagery"
    real_write = fetch_module._write_clip
    calls: list[str] = []

    def crash_on_nir(href, bbox, target):
        calls.append(target.name)
        if target.name == "nir.tif":  # the process dies while writing nir
            target.with_name("nir.tif.part").write_bytes(b"II*\x00 half a tiff")
            raise KeyboardInterrupt
        return real_write(href, bbox, target)

    monkeypatch.setattr(fetch_module, "_write_clip", crash_on_nir)
    with pytest.raises(KeyboardInterrupt):
        fetch_imagery(
            area,
            **WHEN,
            dest=dest,
            catalogs=["earth-search"],
            api_urls=server.api_urls,
            progress=False,
        )
    done = set(json.loads((dest / MANIFEST).read_text())["files"])
    assert done == {f"{item['id']}/{n}.tif" for n in ("blue", "green")}  # sorted order
    assert (dest / item["id"] / "nir.tif.part").exists()
    assert not (dest / item["id"] / f"{item['id']}.json").exists()  # item not complete

    # a complete file damaged since: its checksum no longer matches, it is fetched again
    (dest / item["id"] / "green.tif").write_bytes(b"damaged")
    monkeypatch.setattr(fetch_module, "_write_clip", real_write)
    server.log.clear()
    result = fetch_imagery(
        area, **WHEN, dest=dest, catalogs=["earth-search"], api_urls=server.api_urls, progress=False
    )
    assert result.downloaded == (item["id"],)
    fetched = {Path(r[1]).name for r in server.file_requests()}
    assert "blue.tif" not in fetched
    assert {"nir.tif", "red.tif", "scl.tif"} <= fetched
    # green was rewritten (GDAL may serve its bytes from this process's cache)
    green = dest / item["id"] / "green.tif"
    entry = json.loads((dest / MANIFEST).read_text())["files"][f"{item['id']}/green.tif"]
    assert hashlib.sha256(green.read_bytes()).hexdigest() == entry["sha256"]
    assert not (dest / item["id"] / "nir.tif.part").exists()
    with rasterio.open(dest / item["id"] / "nir.tif") as src:
        assert (src.read(1) == 5000).all()


@pytest.mark.realdata
def test_a_missing_band_fails_the_scene_with_the_reason_and_keeps_the_rest(
    server, es_scene, tmp_path
):
    item, _, area = es_scene
    server.missing.add(f"/files/es/{item['id']}/swir22.tif")
    dest = tmp_path / "imagery"
    result = fetch_imagery(
        area, **WHEN, dest=dest, catalogs=["earth-search"], api_urls=server.api_urls, progress=False
    )
    assert result.downloaded == ()
    ((failed_id, reason),) = result.failed
    assert failed_id == item["id"]
    assert "swir22.tif" in reason
    assert (dest / item["id"] / "swir16.tif").exists()


@pytest.mark.realdata
def test_planetary_computer_urls_are_signed_with_a_sas_token(server, tmp_path):
    item, grid = _serve_s2_item(server, "pc", _real(PC_ITEM)[0], tmp_path / "www")
    area = _area(grid, 32624)
    dest = tmp_path / "imagery"
    result = fetch_imagery(
        area,
        start=dt.date(2022, 6, 1),
        end=dt.date(2022, 6, 30),
        dest=dest,
        catalogs=["planetary-computer"],
        api_urls=server.api_urls,
        progress=False,
    )
    assert result.downloaded == (item["id"],)
    tokens = [r for r in server.log if r[1].startswith("/token/")]
    assert [r[1] for r in tokens] == ["/token/sentinel-2-l2a"]  # one token per run
    files = server.file_requests()
    assert files
    assert all(r[2] == TOKEN for r in files)
    assert {Path(r[1]).stem for r in files} == set(S2_ASSETS)  # B02 ... SCL
    # the token expires: it is never stored
    text = (dest / item["id"] / f"{item['id']}.json").read_text() + (dest / MANIFEST).read_text()
    assert "sig=" not in text
    scenes, problems = load_scenes(dest)
    assert problems == []
    assert scenes[0].bands["nir"].href.endswith("B08.tif")
    # baseline 04.00 and no raster:bands: the -1000 DN offset follows from the baseline
    assert scenes[0].bands["red"].offset == pytest.approx(-0.1)


@pytest.mark.realdata
def test_both_catalogues_take_each_scene_once_from_the_first(server, es_scene, tmp_path):
    item, _, area = es_scene
    twin = copy.deepcopy(item)  # the same scene listed by the second catalogue
    twin["id"] = "S2B_MSIL2A_20250731T125311_R138_T24MUV_20250731T160000"
    server.items["pc"].append(twin)
    result = fetch_imagery(
        area, **WHEN, dest=tmp_path / "i", api_urls=server.api_urls, progress=False
    )
    assert result.downloaded == (item["id"],)
    assert [s[0] for s in server.searches] == ["es", "pc"]
    assert server.searches[0][1]["query"] == {"eo:cloud_cover": {"lte": 60.0}}


def test_unreachable_catalogue_is_a_clear_error_and_keeps_what_was_downloaded(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    dest = tmp_path / "imagery"
    kept = dest / "S2B_X" / "red.tif"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"already here")
    urls = {"earth-search": f"http://127.0.0.1:{port}/es"}
    with pytest.raises(CatalogueError, match=r"Cannot search the earth-search catalogue at http"):
        fetch_imagery(
            shapely.box(-69.5, -16.3, -69.4, -16.2),
            **WHEN,
            dest=dest,
            catalogs=["earth-search"],
            api_urls=urls,
            progress=False,
        )
    assert kept.read_bytes() == b"already here"

    result = CliRunner().invoke(
        main,
        [
            "fetch",
            "--bounds",
            "-69.5",
            "-16.3",
            "-69.4",
            "-16.2",
            "--start",
            "2025-07-01",
            "--end",
            "2025-07-31",
            "--out",
            str(dest),
            "--catalog",
            "earth-search",
            "--api-url",
            f"earth-search=http://127.0.0.1:{port}/es",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "Cannot search the earth-search catalogue" in result.output
    assert "files already downloaded are kept" in result.output
    assert kept.read_bytes() == b"already here"


def test_without_pystac_client_the_message_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pystac_client", None)
    with pytest.raises(MissingDependencyError, match=r'pip install "pastures\[fetch\]"'):
        fetch_imagery(shapely.box(0, 0, 1, 1), **WHEN, dest=tmp_path, progress=False)


@pytest.mark.parametrize(
    ("area", "kwargs", "match"),
    [
        (shapely.Point(0, 0), {}, "not a polygon"),
        (shapely.box(0, 0, 1, 1), {"start": dt.date(2025, 9, 1)}, "before the start date"),
        (shapely.box(500_000, 8e6, 501_000, 8.1e6), {}, "not longitude/latitude"),
    ],
)
def test_bad_requests_are_refused_before_any_download(area, kwargs, match, tmp_path):
    with pytest.raises(ParameterError, match=match):
        fetch_imagery(area, **{**WHEN, **kwargs}, dest=tmp_path / "x", progress=False)
    assert not (tmp_path / "x").exists()


@pytest.mark.realdata
def test_fetch_dem_mosaics_the_tiles_under_the_area(server, tmp_path):
    items = _real(PC_DEM)[:2]  # 1° tiles W180 and W179 at 89-90° S
    for k, item in enumerate(items):
        w, _, _, n = item["bbox"]
        rel = f"/files/pc/{item['id']}.tif"
        data = np.full((100, 100), 100.0 * (k + 1), dtype=np.float32)
        server.files[rel] = _write_cog(
            tmp_path / "www" / rel.lstrip("/"),
            data,
            Affine(0.01, 0, w, 0, -0.01, n),
            "EPSG:4326",
            -32767.0,
        )
        item["assets"]["data"]["href"] = f"{server.base}{rel}"
        server.items["pc"].append(item)
    area = shapely.box(-179.5, -89.6, -178.5, -89.4)
    path = fetch_dem(
        area, dest=tmp_path / "dem", api_urls=server.api_urls, catalogs=["planetary-computer"]
    )
    assert path == tmp_path / "dem" / DEM_FILE
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 4326
        assert src.bounds.left == pytest.approx(-179.5, abs=0.011)
        assert src.bounds.right == pytest.approx(-178.5, abs=0.011)
        dem = src.read(1)
        lon_of_col = src.transform.c + (np.arange(src.width) + 0.5) * src.transform.a
    boundary = -179.0013888888889  # east edge of the first tile
    assert (dem[:, lon_of_col < boundary - 0.01] == 100).all()
    assert (dem[:, lon_of_col > boundary + 0.01] == 200).all()
    assert all("LOCALTESTSIG" in r[2] for r in server.file_requests())
    server.log.clear()
    assert (
        fetch_dem(
            area, dest=tmp_path / "dem", api_urls=server.api_urls, catalogs=["planetary-computer"]
        )
        == path
    )
    assert server.file_requests() == []  # complete and checksum matching: not fetched again


def _placed_over_juli(item: dict[str, Any]) -> dict[str, Any]:
    """The real item with its footprint moved onto Juli (EPSG:32719).

    ``pastures indices`` refuses plots far from Juli, and the real Earth Search
    item lies in Brazil; so for the end-to-end test the footprint (geometry,
    bbox, proj:epsg, proj:centroid) is moved and nothing else is changed.
    """
    placed = copy.deepcopy(item)
    lon0, lat0, lon1, lat1 = -69.60, -16.40, -69.40, -16.20
    placed["geometry"] = shapely.geometry.mapping(shapely.box(lon0, lat0, lon1, lat1))
    placed["bbox"] = [lon0, lat0, lon1, lat1]
    placed["properties"]["proj:epsg"] = 32719
    placed["properties"]["proj:centroid"] = {"lat": -16.3, "lon": -69.5}
    return placed


@pytest.mark.realdata
def test_cli_fetch_then_indices_gives_the_ndvi_of_the_bands(server, tmp_path):
    _, grid = _serve_s2_item(server, "es", _placed_over_juli(_real(ES_ITEM)[0]), tmp_path / "www")
    area = _area(grid, 32719, x=400, y=400, w=1000)
    out = tmp_path / "imagery"
    result = CliRunner().invoke(
        main,
        [
            "fetch",
            "--bounds",
            *(f"{v:.6f}" for v in area.bounds),
            "--start",
            "2025-07-01",
            "--end",
            "2025-08-31",
            "--out",
            str(out),
            "--catalog",
            "earth-search",
            "--no-dem",
            "--api-url",
            f"earth-search={server.base}/es",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "1 scene(s) downloaded" in result.output

    x, y = grid.c, grid.f
    plots = gpd.GeoDataFrame(
        {
            schema.PLOT_CODE: ["P1", "P2"],
            schema.COMMUNITY: ["Alfa", "Alfa"],
            schema.PASTURE_TYPE: ["pajonal", "bofedal"],
        },
        geometry=[
            shapely.box(x + 600, y - 800, x + 800, y - 600),
            shapely.box(x + 900, y - 1200, x + 1100, y - 1000),
        ],
        crs="EPSG:32719",
    ).to_crs("EPSG:4326")
    plots_file = tmp_path / "plots.geojson"
    plots.to_file(plots_file)
    result = CliRunner().invoke(
        main,
        [
            "indices",
            str(out),
            "--plots",
            str(plots_file),
            "--index",
            "ndvi",
            "--out",
            str(tmp_path / "ix"),
        ],
    )
    assert result.exit_code == 0, result.output
    series = pd.read_csv(tmp_path / "ix" / "index_series.csv")
    means = series[
        (series[schema.STATISTIC] == schema.STAT_MEAN) & (series[schema.INDEX] == "ndvi")
    ]
    assert sorted(means[schema.PLOT_CODE]) == ["P1", "P2"]
    assert np.allclose(means[schema.VALUE], (0.5 - 0.1) / (0.5 + 0.1), atol=1e-5)


@pytest.mark.realdata
def test_cli_area_file_in_any_crs_gives_the_same_clip(server, es_scene, tmp_path):
    item, _, area = es_scene
    boundary = tmp_path / "area.geojson"
    gpd.GeoDataFrame(geometry=[area], crs="EPSG:4326").to_crs("EPSG:32724").to_file(boundary)
    out = tmp_path / "imagery"
    args = ["fetch", "--area", str(boundary), "--start", "2025-07-01", "--end", "2025-07-31"]
    args += ["--out", str(out), "--catalog", "earth-search", "--no-dem"]
    result = CliRunner().invoke(main, [*args, "--api-url", f"earth-search={server.base}/es"])
    assert result.exit_code == 0, result.output
    by_bounds = fetch_imagery(
        area,
        **WHEN,
        dest=tmp_path / "b",
        catalogs=["earth-search"],
        api_urls=server.api_urls,
        progress=False,
    )
    for name in ("red", "scl"):
        with (
            rasterio.open(out / item["id"] / f"{name}.tif") as a,
            rasterio.open(by_bounds.dest / item["id"] / f"{name}.tif") as b,
        ):
            assert a.bounds == pytest.approx(b.bounds, abs=1e-6)
    both = CliRunner().invoke(main, [*args, "--bounds", "0", "0", "1", "1"])
    assert both.exit_code == 1
    assert "either --bounds W S E N or --area FILE" in both.output


def test_pastures_error_family():
    assert issubclass(CatalogueError, PasturesError)
    assert issubclass(CatalogueError, ConnectionError)
