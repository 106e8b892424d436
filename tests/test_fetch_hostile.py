"""``pastures fetch`` against a hostile STAC API: a local server answering crafted items.

The server (on 127.0.0.1) answers every search with the features of the test: one good
scene whose bands it serves, and items an attacker or a broken catalogue could send.
Nothing may be written outside the output folder, no local file may be copied, and
each malformed item is left out with a message naming the item and the field.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from affine import Affine
from click.testing import CliRunner
from pyproj import Transformer

from pastures.cli import main
from pastures.fetch import checked_item
from test_fetch import CONFORMS, _Handler, _Server, _write_cog

pytest.importorskip("pystac_client", reason="pastures fetch needs pystac-client (test extra)")

UTM = 32719
X0, Y0 = 440_000.0, 8_190_000.0  # upper-left corner of the served bands, near Juli
SECRET = "local secret, never to be copied"


class _HostileHandler(_Handler):
    def do_GET(self) -> None:  # noqa: N802 - http.server names it
        path = self.path.split("?")[0]
        if path == "/evil":
            root = f"{self.server.base}/evil"
            return self._json(
                {
                    "type": "Catalog",
                    "id": "evil",
                    "stac_version": "1.0.0",
                    "description": "hostile STAC API",
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
        if path == "/redirect":
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return super().do_GET()

    def do_POST(self) -> None:  # noqa: N802 - http.server names it
        self.rfile.read(int(self.headers["Content-Length"]))
        return self._json({"type": "FeatureCollection", "features": self.server.answer})


class _HostileServer(_Server):
    def __init__(self) -> None:
        super().__init__()
        self.RequestHandlerClass = _HostileHandler
        self.answer: list[Any] = []
        self.redirect_to = ""


def _lonlat_box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
    t = Transformer.from_crs(f"EPSG:{UTM}", "EPSG:4326", always_xy=True)
    w, s, e, n = t.transform_bounds(x0, y0, x1, y1)
    return [w, s, e, n]


def _item(item_id: str, assets: Any, **changes: Any) -> dict[str, Any]:
    bbox = _lonlat_box(X0, Y0 - 2000, X0 + 2000, Y0)
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "collection": "sentinel-2-l2a",
        "bbox": bbox,
        "geometry": shapely.geometry.mapping(shapely.box(*bbox)),
        "properties": {
            "datetime": "2025-07-15T14:50:00Z",
            "eo:cloud_cover": 5.0,
            "proj:epsg": UTM,
        },
        "assets": assets,
        "links": [],
    }
    item.update(changes)
    return item


@pytest.fixture
def hostile(tmp_path: Path):
    srv = _HostileServer()
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    good = {}
    for key, value in (("red", 1000), ("nir", 5000), ("scl", 4)):
        rel = f"/files/good/{key}.tif"
        dtype = np.uint8 if key == "scl" else np.uint16
        srv.files[rel] = _write_cog(
            tmp_path / "www" / f"{key}.tif",
            np.full((200, 200), value, dtype=dtype),
            Affine(10, 0, X0, 0, -10, Y0),
            f"EPSG:{UTM}",
            0,
        )
        good[key] = {"href": f"{srv.base}{rel}", "type": "image/tiff"}
    secret = tmp_path / "secret.tif"
    secret.write_text(SECRET, encoding="utf-8")
    srv.redirect_to = secret.as_uri()
    srv.answer = [
        _item("S2A_19LDC_20250715_0_L2A", good),
        _item(
            "S2A_19LDC_20250716_LOCAL",
            {
                "red": {"href": str(secret)},
                "nir": {"href": secret.as_uri()},
                "scl": {"href": f"{srv.base}/redirect"},
            },
            properties={"datetime": "2025-07-16T14:50:00Z", "eo:cloud_cover": 1},
        ),
        _item("../../../../escaped", good, properties={"datetime": "2025-07-17T14:50:00Z"}),
        _item("S2A_NULL_PROPERTIES", good, properties=None),
        _item(
            "S2A_TEXT_CLOUD",
            good,
            properties={"datetime": "2025-07-18T14:50:00Z", "eo:cloud_cover": "low"},
        ),
        _item("S2A_ASSET_LIST", [good["red"], good["nir"]]),
        _item("S2A_BAD_GEOMETRY", good, geometry={"type": "Polygon", "coordinates": "x"}),
        42,
        "a string",
        None,
    ]
    yield srv, tmp_path
    srv.shutdown()
    srv.server_close()


def _fetch(srv: _HostileServer, out: Path) -> Any:
    area = _lonlat_box(X0 + 400, Y0 - 1400, X0 + 1400, Y0 - 400)
    return CliRunner().invoke(
        main,
        [
            "fetch",
            "--bounds",
            *(f"{v:.6f}" for v in area),
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
            f"earth-search={srv.base}/evil",
        ],
    )


def test_a_hostile_catalogue_copies_no_local_file_and_writes_only_inside(hostile) -> None:
    srv, tmp_path = hostile
    out = tmp_path / "deep" / "down" / "imagery"
    before = set(tmp_path.rglob("*"))
    result = _fetch(srv, out)
    assert result.exit_code in (0, 1), result.output
    assert "Internal error" not in result.output
    # nothing outside the output folder (the traversal id lands inside it)
    after = set(tmp_path.rglob("*")) - before
    assert after, result.output
    outside = [p for p in after if not (p.is_relative_to(out) or out.is_relative_to(p))]
    assert not outside, outside
    # no file of the output folder holds the local secret
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    # the good scene and the traversal-named one were downloaded
    assert (out / "S2A_19LDC_20250715_0_L2A" / "red.tif").is_file()
    assert (out / "escaped" / "red.tif").is_file()
    # every malformed item is named with its field
    text = " ".join(result.output.split())
    for item_id, field in (
        ("S2A_19LDC_20250716_LOCAL", "assets.red.href"),
        ("S2A_19LDC_20250716_LOCAL", "assets.nir.href"),
        ("S2A_NULL_PROPERTIES", "properties"),
        ("S2A_TEXT_CLOUD", "properties.eo:cloud_cover"),
        ("S2A_ASSET_LIST", "assets"),
        ("S2A_BAD_GEOMETRY", "geometry"),
    ):
        assert f"{item_id}: field '{field}'" in text, (item_id, field, result.output)
    assert "a feature of the answer is a int" in text
    assert "a feature of the answer is a str" in text
    # the redirect to a file:// URL was refused, and said so
    assert "S2A_19LDC_20250716_LOCAL not completed" in text
    assert result.exit_code == 1


def test_checked_item_keeps_the_good_assets_of_an_item() -> None:
    item = _item(
        "X",
        {
            "red": {"href": "https://example.org/red.tif"},
            "nir": {"href": "s3://bucket/nir.tif"},
            "scl": {"href": "ftp://example.org/scl.tif"},
            "thumbnail": {"href": "file:///etc/passwd"},
        },
    )
    checked, problems = checked_item(item, assets=("red", "nir", "scl"))
    assert checked is not None
    assert sorted(checked["assets"]) == ["nir", "red", "thumbnail"]
    assert problems == [
        ("X", "field 'assets.scl.href' 'ftp://example.org/scl.tif' is not an http(s) URL")
    ]
    assert json.dumps(checked)  # still plain JSON
