"""The styled GeoPackage: layers, QGIS ``layer_styles`` and provenance metadata."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import sqlite3
import subprocess
import textwrap
import xml.etree.ElementTree as ET

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point, box

from pastures import schema as S
from pastures.errors import LayerError, ParameterError
from pastures.provenance import provenance_record
from pastures.styles import (
    CONDITION_COLOURS,
    RISK_COLOURS,
    STYLES_TABLE,
    read_provenance,
    write_styled_geopackage,
)

UTM = "EPSG:32719"
E0, N0 = 440_000.0, 8_190_000.0


@pytest.fixture
def layers():
    plots = gpd.GeoDataFrame(
        {
            S.PLOT_CODE: ["ALF-01", "ALF-02", "BET-01"],
            S.COMMUNITY: ["Alfa", "Alfa", "Beta"],
            S.RISK_CLASS: ["low", "very high", None],
            S.RANGE_CONDITION: ["good", "poor", "fair"],
            S.AREA_HA: [5.0, 1.0, 3.0],
            S.PRESSURE_RATIO: [0.4, 1.7, 1.0],
        },
        geometry=[
            box(E0 + 100, N0 + 100, E0 + 300, N0 + 350),
            box(E0 + 500, N0 + 500, E0 + 600, N0 + 600),
            box(E0 + 1200, N0 + 200, E0 + 1500, N0 + 300),
        ],
        crs=UTM,
    )
    communities = gpd.GeoDataFrame(
        {S.COMMUNITY: ["Alfa", "Beta"]},
        geometry=[box(E0, N0, E0 + 1000, N0 + 1000), box(E0 + 1000, N0, E0 + 2000, N0 + 1000)],
        crs=UTM,
    )
    corrals = gpd.GeoDataFrame(
        {S.CORRAL_ID: ["ALF-C1"], S.COMMUNITY: ["Alfa"]},
        geometry=[Point(E0 + 400, N0 + 400)],
        crs=UTM,
    )
    water = gpd.GeoDataFrame(
        {S.WATER_ID: ["W1"], S.WATER_KIND: ["spring"]},
        geometry=[Point(E0 + 700, N0 + 200)],
        crs=UTM,
    )
    return {S.PLOTS: plots, S.COMMUNITIES: communities, S.CORRALS: corrals, S.WATER_POINTS: water}


@pytest.fixture
def record(tmp_path):
    source = tmp_path / "plots.geojson"
    source.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    return provenance_record(
        parameters={"use_factor": 0.5},
        inputs=[source],
        defaults={"use_factor": "take half, leave half"},
    )


def _styles(path):
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        rows = [dict(r) for r in db.execute(f"SELECT * FROM {STYLES_TABLE}")]
        geom = dict(db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
    db.close()
    return rows, geom


def _qml_root(text):
    return ET.fromstring(text)  # expat skips the QGIS DOCTYPE without fetching it


def test_every_layer_is_written_and_readable(tmp_path, layers, record):
    path = write_styled_geopackage(layers, tmp_path / "juli.gpkg", metadata=record)
    names = {name for name, _ in pyogrio.list_layers(path)}
    assert names == {*layers, STYLES_TABLE}
    plots = pyogrio.read_dataframe(path, layer=S.PLOTS)
    assert plots.crs.to_epsg() == 32719
    assert plots.geometry.area.sum() == pytest.approx(200 * 250 + 100 * 100 + 300 * 100)
    assert list(plots[S.RISK_CLASS].fillna("")) == ["low", "very high", ""]
    assert not list(tmp_path.glob("*.part*"))


def test_layer_styles_table_has_a_default_qml_per_layer_on_existing_fields(tmp_path, layers):
    path = write_styled_geopackage(layers, tmp_path / "juli.gpkg")
    rows, geom = _styles(path)
    qgis_columns = [
        "f_table_catalog",
        "f_table_schema",
        "f_table_name",
        "f_geometry_column",
        "styleName",
        "styleQML",
        "styleSLD",
        "useAsDefault",
        "description",
        "owner",
        "ui",
        "update_time",
    ]
    assert set(qgis_columns) <= set(rows[0])
    for name, frame in layers.items():
        mine = [r for r in rows if r["f_table_name"] == name]
        assert sum(r["useAsDefault"] for r in mine) == 1, name
        fields = set(pyogrio.read_info(path, layer=name)["fields"])
        for row in mine:
            assert row["f_geometry_column"] == geom[name]
            root = _qml_root(row["styleQML"])
            assert root.tag == "qgis"
            used = {r.get("attr") for r in root.iter("renderer-v2") if r.get("attr")}
            used |= {t.get("fieldName") for t in root.iter("text-style")}
            assert used <= fields, (name, used - fields)
        assert len(frame) > 0


def test_plots_are_coloured_by_risk_by_default_and_by_condition_as_an_option(tmp_path, layers):
    rows, _ = _styles(write_styled_geopackage(layers, tmp_path / "juli.gpkg"))
    plots = {r["styleName"]: r for r in rows if r["f_table_name"] == S.PLOTS}
    default = next(r for r in plots.values() if r["useAsDefault"])
    risk = _qml_root(default["styleQML"]).find("renderer-v2")
    assert risk.get("type") == "categorizedSymbol"
    assert risk.get("attr") == S.RISK_CLASS
    values = [c.get("value") for c in risk.iter("category")]
    assert values == [*S.RISK_CLASSES, ""]  # every class, then no data
    condition = _qml_root(plots["condición (range condition)"]["styleQML"]).find("renderer-v2")
    assert condition.get("attr") == S.RANGE_CONDITION
    assert [c.get("value") for c in condition.iter("category")][:-1] == list(S.RANGE_CONDITIONS)
    # the fill of category i is the palette's colour for that class
    symbols = {s.get("name"): s for s in risk.find("symbols")}
    for cat in risk.iter("category"):
        if cat.get("value"):
            colour = RISK_COLOURS[cat.get("value")].lstrip("#")
            rgb = ",".join(str(int(colour[i : i + 2], 16)) for i in (0, 2, 4))
            props = {p.get("k"): p.get("v") for p in symbols[cat.get("symbol")].iter("prop")}
            assert props["color"] == f"{rgb},255"


def test_grazing_pressure_is_graduated_with_capacity_as_a_class_edge(tmp_path, layers):
    rows, _ = _styles(write_styled_geopackage(layers, tmp_path / "juli.gpkg"))
    row = next(r for r in rows if r["styleName"] == "carga (grazing pressure)")
    assert not row["useAsDefault"]
    renderer = _qml_root(row["styleQML"]).find("renderer-v2")
    assert renderer.get("type") == "graduatedSymbol"
    assert renderer.get("attr") == S.PRESSURE_RATIO
    bounds = [(float(r.get("lower")), float(r.get("upper"))) for r in renderer.iter("range")]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))  # no gaps, no overlaps
    assert 1.0 in {u for _, u in bounds}  # stocking = capacity is a class edge


def _lightness(hex_colour: str) -> float:
    """CIE L* of an sRGB colour (IEC 61966-2-1 transfer, D65), computed here independently."""
    h = hex_colour.lstrip("#")
    lin = []
    for i in (0, 2, 4):
        c = int(h[i : i + 2], 16) / 255
        lin.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    f = y ** (1 / 3) if y > (6 / 29) ** 3 else y / (3 * (6 / 29) ** 2) + 4 / 29
    return 116 * f - 16


def test_risk_colours_darken_with_risk_so_they_read_without_hue():
    # a sequential scheme is readable by colour-blind users and in greyscale print
    # only if lightness falls monotonically from low to very high risk
    light = [_lightness(RISK_COLOURS[c]) for c in S.RISK_CLASSES]
    assert light == sorted(light, reverse=True)
    assert min(a - b for a, b in itertools.pairwise(light)) > 5
    # diverging condition scheme: the middle class (fair) is the lightest
    cond = [_lightness(CONDITION_COLOURS[c]) for c in S.RANGE_CONDITIONS]
    assert max(cond) == cond[S.RANGE_CONDITIONS.index("fair")]


def test_communities_outlined_and_labelled_points_as_markers(tmp_path, layers):
    rows, _ = _styles(write_styled_geopackage(layers, tmp_path / "juli.gpkg"))
    by_layer = {r["f_table_name"]: _qml_root(r["styleQML"]) for r in rows if r["useAsDefault"]}
    community = by_layer[S.COMMUNITIES]
    assert community.get("labelsEnabled") == "1"
    assert community.find(".//text-style").get("fieldName") == S.COMMUNITY
    fill = {p.get("k"): p.get("v") for p in community.iter("prop")}
    assert fill["style"] == "no"  # outline only: the plots beneath stay visible
    for layer, field, shape in (
        (S.CORRALS, S.CORRAL_ID, "square"),
        (S.WATER_POINTS, S.WATER_ID, "circle"),
    ):
        root = by_layer[layer]
        layer_el = root.find(".//symbol/layer")
        assert layer_el.get("class") == "SimpleMarker"
        assert {p.get("k"): p.get("v") for p in layer_el.iter("prop")}["name"] == shape
        assert root.find(".//text-style").get("fieldName") == field
        assert root.find("layerGeometryType").text == "0"


def test_provenance_is_in_the_geopackage_metadata_extension(tmp_path, layers, record):
    path = write_styled_geopackage(layers, tmp_path / "juli.gpkg", metadata=record)
    assert read_provenance(path) == [json.loads(json.dumps(record))]
    with sqlite3.connect(path) as db:
        (md_id, scope, mime, text), *_ = db.execute(
            "SELECT id, md_scope, mime_type, metadata FROM gpkg_metadata"
        ).fetchall()
        refs = db.execute(
            "SELECT reference_scope, table_name FROM gpkg_metadata_reference WHERE md_file_id = ?",
            (md_id,),
        ).fetchall()
        extensions = db.execute(
            "SELECT table_name FROM gpkg_extensions WHERE extension_name = 'gpkg_metadata'"
        ).fetchall()
    db.close()
    assert scope == "dataset"
    assert mime == "application/json"
    stored = json.loads(text)
    assert stored["software"]["pastures"] == record["software"]["pastures"]
    assert stored["inputs"][0]["sha256"] == record["inputs"][0]["sha256"]
    assert stored["defaults"] == {"use_factor": "take half, leave half"}
    assert ("geopackage", None) in refs
    assert {t for s, t in refs if s == "table"} == set(layers)
    assert {t for (t,) in extensions} == {"gpkg_metadata", "gpkg_metadata_reference"}


def test_a_given_style_must_use_existing_fields_and_nothing_is_written(tmp_path, layers):
    path = tmp_path / "juli.gpkg"
    qml = "<qgis><renderer-v2 type='categorizedSymbol' attr='condicion'/></qgis>"
    with pytest.raises(LayerError, match=r"Layer 'plots'.*condicion"):
        write_styled_geopackage(layers, path, styles={S.PLOTS: qml})
    with pytest.raises(ParameterError, match=r"not valid XML"):
        write_styled_geopackage(layers, path, styles={S.PLOTS: "<qgis>"})
    with pytest.raises(ParameterError, match=r"layer\(s\) roads"):
        write_styled_geopackage(layers, path, styles={"roads": "generic"})
    assert not path.exists()


def test_a_layer_named_otherwise_can_borrow_a_built_in_style(tmp_path, layers):
    renamed = {"parcelas_2024": layers[S.PLOTS]}
    rows, _ = _styles(
        write_styled_geopackage(renamed, tmp_path / "p.gpkg", styles={"parcelas_2024": "plots"})
    )
    default = next(r for r in rows if r["useAsDefault"])
    assert _qml_root(default["styleQML"]).find("renderer-v2").get("attr") == S.RISK_CLASS


QGIS_CHECK = textwrap.dedent(
    """
    import os
    import sqlite3
    import sys
    from qgis.PyQt.QtXml import QDomDocument
    from qgis.core import QgsApplication, QgsVectorLayer
    app = QgsApplication([], False)
    app.initQgis()
    path = sys.argv[1]
    out = {}
    for name in ("plots", "communities", "corrals"):
        layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
        assert layer.isValid(), name
        renderer = layer.renderer()
        out[name] = (
            renderer.type(),
            getattr(renderer, "classAttribute", lambda: "")(),
            layer.labelsEnabled(),
            len(getattr(renderer, "categories", lambda: [])()),
        )
    # every stored style, default or not, imports into QGIS
    db = sqlite3.connect(path)
    for table, style, qml in db.execute(
        "SELECT f_table_name, styleName, styleQML FROM layer_styles"
    ):
        layer = QgsVectorLayer(f"{path}|layername={table}", table, "ogr")
        doc = QDomDocument()
        assert doc.setContent(qml)[0], style
        ok, error = layer.importNamedStyle(doc)
        assert ok, (style, error)
        out[style] = (layer.renderer().type(), len(layer.renderer().legendSymbolItems()))
    print(out, flush=True)
    os._exit(0)  # skip QGIS teardown, which may crash headless after the work is done
    """
)


@pytest.mark.slow
def test_qgis_opens_the_layers_with_their_default_style(tmp_path, layers):
    python = shutil.which("python3", path="/usr/bin")
    found = python and subprocess.run(
        [python, "-c", "import qgis.core"], capture_output=True, check=False
    )
    if not found or found.returncode != 0:
        pytest.skip("QGIS (python3-qgis) is not installed in the system Python")
    path = write_styled_geopackage(layers, tmp_path / "juli.gpkg")
    script = tmp_path / "check.py"
    script.write_text(QGIS_CHECK, encoding="utf-8")
    run = subprocess.run(
        [python, str(script), str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)},
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result = eval(run.stdout.strip().splitlines()[-1])  # a dict literal printed above
    assert result["plots"] == ("categorizedSymbol", S.RISK_CLASS, True, 5)
    assert result["communities"][0] == "singleSymbol"
    assert result["communities"][2] is True
    assert result["corrals"][0] == "singleSymbol"
    assert result["carga (grazing pressure)"] == ("graduatedSymbol", 5)
    assert result["condición (range condition)"] == ("categorizedSymbol", 6)
