"""One GeoPackage that opens styled in QGIS, with the provenance of its contents.

:func:`write_styled_geopackage` writes every layer, then two things QGIS and
other GeoPackage readers understand:

- the ``layer_styles`` table (the table QGIS reads and writes when a style is
  saved "in the database"; columns as QGIS creates them), with a QML style per
  layer and one marked ``useAsDefault``, so that a technician who drags the
  file into QGIS sees plots coloured by risk, communities outlined and labelled,
  corrals and water points as markers;
- the GeoPackage metadata extension (``gpkg_metadata`` and
  ``gpkg_metadata_reference``, OGC 12-128r18 §F.8) holding the provenance record
  as JSON (``mime_type`` ``application/json``), referenced by the whole file and
  by each layer.

The QML is built here with :mod:`xml.etree.ElementTree` from the renderer and
symbol-layer names of QGIS 3 (``categorizedSymbol``, ``singleSymbol``,
``SimpleFill``, ``SimpleMarker``); each symbol layer carries its properties both
as ``<Option type="Map">`` (QGIS >= 3.26 reads these) and as ``<prop k v>``
(older QGIS 3), as QGIS itself writes them.

Colours are ColorBrewer schemes marked colour-blind safe (Brewer, C. A. 2003,
colorbrewer2.org): 4-class YlOrRd for the risk classes (sequential, low to very
high) and 5-class RdYlBu for range condition (diverging, very poor red to
excellent blue). Legend labels are Spanish first, for the communities' maps.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import geopandas as gpd
import pandas as pd
import pyogrio

from pastures import schema as S
from pastures.errors import LayerError, ParameterError
from pastures.i18n import _
from pastures.io import atomic_output, gdal_file_timestamp
from pastures.provenance import jsonable, software_versions

logger = logging.getLogger(__name__)

#: Name of the styles table QGIS reads.
STYLES_TABLE: Final = "layer_styles"
#: Metadata standard URI of the provenance record in ``gpkg_metadata``.
PROVENANCE_URI: Final = "https://pastures.invalid/provenance/1"
PROVENANCE_MIME: Final = "application/json"
_METADATA_EXTENSION_URI: Final = "http://www.geopackage.org/spec120/#extension_metadata"
#: QGIS version written in the QML root (the format of QGIS 3.22 LTR onwards).
QML_VERSION: Final = "3.22.0"

#: ColorBrewer 4-class YlOrRd (colour-blind safe), by risk class.
RISK_COLOURS: Final = {
    "low": "#ffffb2",
    "moderate": "#fecc5c",
    "high": "#fd8d3c",
    "very high": "#e31a1c",
}
#: ColorBrewer 5-class RdYlBu (colour-blind safe), by range condition.
CONDITION_COLOURS: Final = {
    "excellent": "#2c7bb6",
    "good": "#abd9e9",
    "fair": "#ffffbf",
    "poor": "#fdae61",
    "very poor": "#d7191c",
}
#: Grazing pressure (stocking / carrying capacity) classes: (lower, upper, colour, label);
#: ColorBrewer 5-class YlOrRd (colour-blind safe); 1.0 is stocking equal to capacity.
PRESSURE_CLASSES: Final = (
    (0.0, 0.5, "#ffffb2", "< 50 % de la capacidad"),
    (0.5, 0.8, "#fecc5c", "50-80 %"),
    (0.8, 1.0, "#fd8d3c", "80-100 %"),
    (1.0, 1.5, "#f03b20", "100-150 % (sobrecarga)"),
    (1.5, 1e9, "#bd0026", "> 150 % (sobrecarga grave)"),
)
NO_DATA_COLOUR: Final = "#bdbdbd"
OUTLINE_COLOUR: Final = "#232323"
COMMUNITY_OUTLINE: Final = "#4d4d4d"
CORRAL_COLOUR: Final = "#8c510a"  # brown, reads as earth/corral on any palette
WATER_COLOUR: Final = "#2166ac"

StyleKind = Literal["plots", "communities", "corrals", "water_points", "generic"]
#: Built-in style kinds; a layer named like one of them gets its style.
STYLE_KINDS: Final = ("plots", "communities", "corrals", "water_points", "generic")
_GEOMETRY_TYPE: Final = {"point": 0, "line": 1, "polygon": 2}


@dataclass(frozen=True)
class LayerStyle:
    """One style of one layer, as stored in ``layer_styles``."""

    name: str
    qml: str
    default: bool
    description: str = ""


# --- QML building blocks -----------------------------------------------------------------


def _rgba(hex_colour: str, alpha: int = 255) -> str:
    h = hex_colour.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{alpha}"


def _symbol_layer(parent: ET.Element, cls: str, props: Mapping[str, str]) -> None:
    layer = ET.SubElement(
        parent, "layer", {"class": cls, "enabled": "1", "locked": "0", "pass": "0"}
    )
    options = ET.SubElement(layer, "Option", {"type": "Map"})
    for key, value in props.items():
        ET.SubElement(options, "Option", {"name": key, "type": "QString", "value": value})
    for key, value in props.items():
        ET.SubElement(layer, "prop", {"k": key, "v": value})


def _symbol(parent: ET.Element, name: str, geometry: str, props: Mapping[str, str]) -> None:
    kind = {"polygon": "fill", "point": "marker", "line": "line"}[geometry]
    symbol = ET.SubElement(
        parent,
        "symbol",
        {
            "name": name,
            "type": kind,
            "alpha": "1",
            "clip_to_extent": "1",
            "force_rhr": "0",
        },
    )
    cls = {"fill": "SimpleFill", "marker": "SimpleMarker", "line": "SimpleLine"}[kind]
    _symbol_layer(symbol, cls, props)


def _fill(colour: str, *, outline: str = OUTLINE_COLOUR, width: float = 0.26) -> dict[str, str]:
    return {
        "color": _rgba(colour),
        "style": "solid",
        "outline_color": _rgba(outline),
        "outline_style": "solid",
        "outline_width": f"{width:g}",
        "outline_width_unit": "MM",
        "joinstyle": "bevel",
    }


def _hollow(outline: str, width: float) -> dict[str, str]:
    return {**_fill("#ffffff", outline=outline, width=width), "style": "no", "color": "0,0,0,0"}


def _marker(colour: str, shape: str, size: float) -> dict[str, str]:
    return {
        "name": shape,
        "color": _rgba(colour),
        "outline_color": _rgba("#ffffff"),
        "outline_style": "solid",
        "outline_width": "0.4",
        "outline_width_unit": "MM",
        "size": f"{size:g}",
        "size_unit": "MM",
        "angle": "0",
        "joinstyle": "bevel",
        "scale_method": "diameter",
    }


def _line(colour: str, width: float) -> dict[str, str]:
    return {
        "line_color": _rgba(colour),
        "line_style": "solid",
        "line_width": f"{width:g}",
        "line_width_unit": "MM",
        "capstyle": "square",
        "joinstyle": "bevel",
    }


def _plain(geometry: str, colour: str) -> dict[str, str]:
    if geometry == "point":
        return _marker(colour, "circle", 2.4)
    if geometry == "line":
        return _line(colour, 0.6)
    return _fill(colour)


def _root(geometry: str, *, labels: bool) -> ET.Element:
    return ET.Element(
        "qgis",
        {
            "version": QML_VERSION,
            "styleCategories": "Symbology|Labeling",
            "labelsEnabled": "1" if labels else "0",
        },
    )


def _renderer_root(qgis: ET.Element, kind: str, attr: str | None = None) -> ET.Element:
    attrs = {"type": kind, "symbollevels": "0", "enableorderby": "0", "forceraster": "0"}
    if attr is not None:
        attrs["attr"] = attr
    return ET.SubElement(qgis, "renderer-v2", attrs)


def _labels(qgis: ET.Element, field: str, geometry: str, *, size: float = 9) -> None:
    labeling = ET.SubElement(qgis, "labeling", {"type": "simple"})
    settings = ET.SubElement(labeling, "settings", {"calloutType": "simple"})
    text = ET.SubElement(
        settings,
        "text-style",
        {
            "fieldName": field,
            "isExpression": "0",
            "fontFamily": "Sans Serif",
            "fontSize": f"{size:g}",
            "fontSizeUnit": "Point",
            "fontWeight": "75",
            "namedStyle": "Bold",
            "textColor": _rgba("#000000"),
            "textOpacity": "1",
        },
    )
    ET.SubElement(
        text,
        "text-buffer",
        {
            "bufferDraw": "1",
            "bufferSize": "1",
            "bufferSizeUnits": "MM",
            "bufferColor": _rgba("#ffffff"),
            "bufferOpacity": "1",
        },
    )
    ET.SubElement(settings, "text-format", {"wrapChar": "", "multilineAlign": "1"})
    # QGIS placement codes: 1 over the centroid (plots), 0 around it (large areas such as
    # communities, so their name can move off a plot's label), 6 cartographic (points), 2 line
    placement = {"polygon": "0" if size > 9 else "1", "point": "6", "line": "2"}[geometry]
    ET.SubElement(settings, "placement", {"placement": placement, "dist": "1", "distUnits": "MM"})
    # polygons are obstacles only by their boundary (QGIS obstacleType 1), else a community
    # polygon would hide every label of the plots, corrals and water points inside it
    obstacle_type = "1" if geometry == "polygon" else "0"
    ET.SubElement(
        settings,
        "rendering",
        {"obstacle": "1", "obstacleType": obstacle_type, "scaleVisibility": "0"},
    )


def _finish(qgis: ET.Element, geometry: str) -> str:
    ET.SubElement(qgis, "layerGeometryType").text = str(_GEOMETRY_TYPE[geometry])
    ET.indent(qgis)
    body = ET.tostring(qgis, encoding="unicode")
    return f"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n{body}\n"


# --- styles -----------------------------------------------------------------------------------


def categorized_qml(
    field: str,
    categories: Sequence[tuple[str, str, str]],
    geometry: str,
    *,
    label_field: str | None = None,
) -> str:
    """QML of a categorized renderer: one colour per value of `field`.

    Parameters
    ----------
    field
        Column whose values choose the colour.
    categories
        (value, colour as ``#rrggbb``, legend label) in legend order. A last
        category for empty values (no data) is added in grey.
    geometry
        ``"polygon"``, ``"point"`` or ``"line"``.
    label_field
        Column to label features with, if any.
    """
    qgis = _root(geometry, labels=label_field is not None)
    renderer = _renderer_root(qgis, "categorizedSymbol", field)
    cats = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    rows = [*categories, ("", NO_DATA_COLOUR, "Sin dato (no data)")]
    for i, (value, colour, label) in enumerate(rows):
        ET.SubElement(
            cats,
            "category",
            {"value": value, "symbol": str(i), "label": label, "render": "true"},
        )
        _symbol(symbols, str(i), geometry, _plain(geometry, colour))
    source = ET.SubElement(renderer, "source-symbol")
    _symbol(source, "0", geometry, _plain(geometry, NO_DATA_COLOUR))
    if label_field:
        _labels(qgis, label_field, geometry)
    return _finish(qgis, geometry)


def graduated_qml(
    field: str,
    classes: Sequence[tuple[float, float, str, str]],
    geometry: str,
    *,
    label_field: str | None = None,
) -> str:
    """QML of a graduated renderer: one colour per range of the numeric `field`.

    Parameters
    ----------
    classes
        (lower, upper, colour as ``#rrggbb``, legend label), ascending; a value
        equal to a class's upper bound falls in that class (QGIS's rule).
    """
    qgis = _root(geometry, labels=label_field is not None)
    renderer = _renderer_root(qgis, "graduatedSymbol", field)
    renderer.set("graduatedMethod", "GraduatedColor")
    ranges = ET.SubElement(renderer, "ranges")
    symbols = ET.SubElement(renderer, "symbols")
    for i, (lower, upper, colour, label) in enumerate(classes):
        ET.SubElement(
            ranges,
            "range",
            {
                "lower": f"{lower:.6f}",
                "upper": f"{upper:.6f}",
                "symbol": str(i),
                "label": label,
                "render": "true",
            },
        )
        _symbol(symbols, str(i), geometry, _plain(geometry, colour))
    source = ET.SubElement(renderer, "source-symbol")
    _symbol(source, "0", geometry, _plain(geometry, NO_DATA_COLOUR))
    ET.SubElement(renderer, "classificationMethod", {"id": "Fixed"})
    if label_field:
        _labels(qgis, label_field, geometry)
    return _finish(qgis, geometry)


def single_qml(
    geometry: str,
    props: Mapping[str, str],
    *,
    label_field: str | None = None,
    label_size: float = 9,
) -> str:
    """QML of a single-symbol renderer with the given symbol-layer properties."""
    qgis = _root(geometry, labels=label_field is not None)
    renderer = _renderer_root(qgis, "singleSymbol")
    symbols = ET.SubElement(renderer, "symbols")
    _symbol(symbols, "0", geometry, props)
    if label_field:
        _labels(qgis, label_field, geometry, size=label_size)
    return _finish(qgis, geometry)


def _geometry_kind(gdf: gpd.GeoDataFrame) -> str:
    types = {str(t) for t in gdf.geometry.geom_type.dropna().unique()}
    if types and all("Point" in t for t in types):
        return "point"
    if types and all("LineString" in t for t in types):
        return "line"
    return "polygon"


def _column(gdf: pd.DataFrame, name: str) -> str | None:
    return name if name in gdf.columns else None


def default_styles(layer: str, gdf: gpd.GeoDataFrame, kind: str | None = None) -> list[LayerStyle]:
    """The built-in styles of a layer, chosen by its kind (its name by default) and fields.

    - plots: by risk class (default, if the layer has ``risk_class``), by
      range condition (``range_condition``) and graduated by grazing pressure
      (``pressure_ratio``), each labelled with the plot code;
    - communities: outlined, no fill, labelled with the community name;
    - corrals: brown squares; water points: blue circles; labelled with their id;
    - any other layer: one plain symbol for its geometry type.
    """
    kind = kind or (layer if layer in STYLE_KINDS else "generic")
    if kind not in STYLE_KINDS:
        raise ParameterError(
            _(
                "Layer '{layer}': unknown style '{kind}'. Use one of {value} or give QML text."
            ).format(layer=layer, kind=kind, value=", ".join(STYLE_KINDS))
        )
    geometry = _geometry_kind(gdf)
    styles: list[LayerStyle] = []
    if kind == "plots":
        label = _column(gdf, S.PLOT_CODE)
        if _column(gdf, S.RISK_CLASS):
            cats = [
                (c, RISK_COLOURS[c], f"{S.RISK_CLASS_LABELS_ES[c]} ({c})") for c in S.RISK_CLASSES
            ]
            styles.append(
                LayerStyle(
                    "riesgo (risk class)",
                    categorized_qml(S.RISK_CLASS, cats, geometry, label_field=label),
                    default=True,
                    description="Erosion and overgrazing risk class, ColorBrewer YlOrRd",
                )
            )
        if _column(gdf, S.RANGE_CONDITION):
            cats = [
                (c, CONDITION_COLOURS[c], f"{S.RANGE_CONDITION_LABELS_ES[c]} ({c})")
                for c in S.RANGE_CONDITIONS
            ]
            styles.append(
                LayerStyle(
                    "condición (range condition)",
                    categorized_qml(S.RANGE_CONDITION, cats, geometry, label_field=label),
                    default=not styles,
                    description="Range condition class (Flórez 2005), ColorBrewer RdYlBu",
                )
            )
        if _column(gdf, S.PRESSURE_RATIO):
            styles.append(
                LayerStyle(
                    "carga (grazing pressure)",
                    graduated_qml(S.PRESSURE_RATIO, PRESSURE_CLASSES, geometry, label_field=label),
                    default=not styles,
                    description="Stocking / carrying capacity, ColorBrewer YlOrRd",
                )
            )
        if not styles:
            styles.append(
                LayerStyle(
                    "parcelas (plots)",
                    single_qml(geometry, _plain(geometry, "#a6d96a"), label_field=label),
                    default=True,
                )
            )
        return styles
    if kind == "communities":
        props = (
            _hollow(COMMUNITY_OUTLINE, 0.8)
            if geometry == "polygon"
            else _plain(geometry, COMMUNITY_OUTLINE)
        )
        qml = single_qml(geometry, props, label_field=_column(gdf, S.COMMUNITY), label_size=11)
        return [LayerStyle("comunidades (communities)", qml, default=True)]
    if kind in ("corrals", "water_points"):
        corral = kind == "corrals"
        colour, shape = (CORRAL_COLOUR, "square") if corral else (WATER_COLOUR, "circle")
        props = _marker(colour, shape, 3.0) if geometry == "point" else _plain(geometry, colour)
        field = _column(gdf, S.CORRAL_ID if corral else S.WATER_ID)
        name = "corrales (corrals)" if corral else "agua (water points)"
        return [LayerStyle(name, single_qml(geometry, props, label_field=field), default=True)]
    return [LayerStyle(layer, single_qml(geometry, _plain(geometry, "#80b1d3")), default=True)]


def qml_fields(qml: str) -> set[str]:
    """Fields a QML style refers to (renderer attribute and label field)."""
    root = ET.fromstring(qml.split("\n", 1)[1] if qml.startswith("<!DOCTYPE") else qml)
    fields = {r.get("attr", "") for r in root.iter("renderer-v2")}
    for style in root.iter("text-style"):
        if style.get("isExpression", "0") == "0":
            fields.add(style.get("fieldName", ""))
    return {f for f in fields if f}


def _check_qml(layer: str, qml: str, columns: Sequence[str]) -> None:
    try:
        fields = qml_fields(qml)
    except ET.ParseError as exc:
        raise ParameterError(
            _("Layer '{layer}': its QML style is not valid XML ({exc}).").format(
                layer=layer, exc=exc
            )
        ) from exc
    missing = sorted(fields - set(columns))
    if missing:
        raise LayerError(
            _(
                "Layer '{layer}': its style uses field(s) {value} that the layer does "
                "not have (it has {value2}). Fix the style or add the field."
            ).format(layer=layer, value=", ".join(missing), value2=", ".join(columns))
        )


# --- the GeoPackage ---------------------------------------------------------------------------


def write_styled_geopackage(
    layers: Mapping[str, gpd.GeoDataFrame],
    path: Path,
    *,
    styles: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write layers, their QGIS styles and a provenance record into one GeoPackage.

    Parameters
    ----------
    layers
        Layer name → GeoDataFrame (any CRS, kept). A plain DataFrame is written
        as an attribute table, without style.
    path
        The ``.gpkg`` to write (replaced atomically: a reader never sees half a file).
    styles
        Per layer: a built-in style kind (``"plots"``, ``"communities"``,
        ``"corrals"``, ``"water_points"``, ``"generic"``) when the layer's name is
        not its kind, or the text of a QML style (starting with ``<``), stored
        as the layer's only, default style. Layers not listed get the built-in
        style of their name.
    metadata
        Provenance record (see :func:`pastures.provenance.provenance_record`);
        stored as JSON in ``gpkg_metadata``. Without it, the software versions.

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    ParameterError
        No layers, a layer named like a GeoPackage system table, a style for an
        unknown layer or unparsable QML.
    LayerError
        A style refers to a field the layer does not have.
    """
    if not layers:
        raise ParameterError(_("{path}: no layers to write.").format(path=path))
    styles = dict(styles or {})
    unknown = sorted(set(styles) - set(layers))
    if unknown:
        raise ParameterError(
            _(
                "{path}: styles given for layer(s) {value} that are not written (layers: {value2})."
            ).format(path=path, value=", ".join(unknown), value2=", ".join(layers))
        )
    for name in layers:
        if name.lower().startswith(("gpkg_", "rtree_", "sqlite_")) or name == STYLES_TABLE:
            raise ParameterError(
                _("{path}: '{name}' is reserved in a GeoPackage; rename the layer.").format(
                    path=path, name=name
                )
            )
    planned: dict[str, list[LayerStyle]] = {}
    for name, frame in layers.items():
        if not isinstance(frame, gpd.GeoDataFrame):
            continue
        choice = styles.get(name)
        if choice is not None and choice.lstrip().startswith("<"):
            planned[name] = [LayerStyle(name, choice, default=True, description="given")]
        else:
            planned[name] = default_styles(name, frame, choice)
        columns = [c for c in frame.columns if c != frame.geometry.name]
        for style in planned[name]:
            _check_qml(name, style.qml, columns)
    record = jsonable(metadata) if metadata is not None else {"software": software_versions()}
    path = Path(path)
    with atomic_output(path) as tmp, gdal_file_timestamp() as stamp:
        for name, frame in layers.items():
            with warnings.catch_warnings():
                # pyogrio notes that GPKG stores no pandas index; not a concern here
                warnings.simplefilter("ignore", UserWarning)
                # GeoPackage 1.2: read without warnings by the GDAL 3.4-3.6 of QGIS 3.22-3.28 LTRs
                pyogrio.write_dataframe(
                    frame, tmp, layer=name, driver="GPKG", dataset_options={"VERSION": "1.2"}
                )
        with sqlite3.connect(tmp) as db:
            _write_styles(db, planned, stamp)
            _write_metadata(db, record, list(layers), stamp)
        db.close()
    logger.info(_("%s: %d layer(s), styled for QGIS"), path, len(layers))
    return path


def _write_styles(
    db: sqlite3.Connection, planned: Mapping[str, list[LayerStyle]], now: str
) -> None:
    """The ``layer_styles`` table, with the columns and types QGIS gives it.

    `now` is the time recorded as its change (:func:`pastures.io.file_timestamp`).
    """
    geom_columns = dict(
        db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall()
    )
    db.execute(
        f"""CREATE TABLE "{STYLES_TABLE}" (
            "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
            "f_table_catalog" TEXT(256),
            "f_table_schema" TEXT(256),
            "f_table_name" TEXT(256),
            "f_geometry_column" TEXT(256),
            "styleName" TEXT(30),
            "styleQML" TEXT,
            "styleSLD" TEXT,
            "useAsDefault" BOOLEAN,
            "description" TEXT,
            "owner" TEXT(30),
            "ui" TEXT(30),
            "update_time" DATETIME DEFAULT CURRENT_TIMESTAMP)"""
    )
    db.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change)"
        " VALUES (?, 'attributes', ?, 'QGIS layer styles', ?)",
        (STYLES_TABLE, STYLES_TABLE, now),
    )
    for name, layer_styles in planned.items():
        for style in layer_styles:
            db.execute(
                f'INSERT INTO "{STYLES_TABLE}" (f_table_catalog, f_table_schema, f_table_name, '
                "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, "
                "owner, ui, update_time) VALUES ('', '', ?, ?, ?, ?, '', ?, ?, 'pastures', '', ?)",
                (
                    name,
                    geom_columns.get(name, "geom"),
                    style.name,
                    style.qml,
                    1 if style.default else 0,
                    style.description,
                    now,
                ),
            )


def _write_metadata(db: sqlite3.Connection, record: Any, layers: Sequence[str], now: str) -> None:
    """The GeoPackage metadata extension with the record, for the file and each layer.

    `now` is the time of the references (:func:`pastures.io.file_timestamp`).
    """
    db.execute(
        """CREATE TABLE IF NOT EXISTS gpkg_extensions (
            table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL,
            definition TEXT NOT NULL, scope TEXT NOT NULL,
            CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))"""
    )
    db.execute(
        """CREATE TABLE IF NOT EXISTS gpkg_metadata (
            id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL,
            md_scope TEXT NOT NULL DEFAULT 'dataset',
            md_standard_uri TEXT NOT NULL,
            mime_type TEXT NOT NULL DEFAULT 'text/xml',
            metadata TEXT NOT NULL DEFAULT '')"""
    )
    db.execute(
        """CREATE TABLE IF NOT EXISTS gpkg_metadata_reference (
            reference_scope TEXT NOT NULL,
            table_name TEXT,
            column_name TEXT,
            row_id_value INTEGER,
            timestamp DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
            md_file_id INTEGER NOT NULL,
            md_parent_id INTEGER,
            CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES gpkg_metadata(id),
            CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id))"""
    )
    for table in ("gpkg_metadata", "gpkg_metadata_reference"):
        present = db.execute(
            "SELECT 1 FROM gpkg_extensions WHERE table_name = ? AND extension_name = ?",
            (table, "gpkg_metadata"),
        ).fetchone()
        if not present:
            db.execute(
                "INSERT INTO gpkg_extensions VALUES (?, NULL, 'gpkg_metadata', ?, 'read-write')",
                (table, _METADATA_EXTENSION_URI),
            )
    cursor = db.execute(
        "INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, metadata) "
        "VALUES ('dataset', ?, ?, ?)",
        (PROVENANCE_URI, PROVENANCE_MIME, json.dumps(record, sort_keys=True, ensure_ascii=False)),
    )
    md_id = cursor.lastrowid
    db.execute(
        "INSERT INTO gpkg_metadata_reference (reference_scope, md_file_id, timestamp) "
        "VALUES ('geopackage', ?, ?)",
        (md_id, now),
    )
    for name in layers:
        db.execute(
            "INSERT INTO gpkg_metadata_reference (reference_scope, table_name, md_file_id, "
            "timestamp) VALUES ('table', ?, ?, ?)",
            (name, md_id, now),
        )


def read_provenance(path: Path) -> list[dict[str, Any]]:
    """The provenance records stored in a GeoPackage by :func:`write_styled_geopackage`."""
    with sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT metadata FROM gpkg_metadata WHERE md_standard_uri = ? AND mime_type = ?",
            (PROVENANCE_URI, PROVENANCE_MIME),
        ).fetchall()
    db.close()
    return [json.loads(text) for (text,) in rows]


__all__ = [
    "STYLES_TABLE",
    "categorized_qml",
    "default_styles",
    "graduated_qml",
    "qml_fields",
    "read_provenance",
    "single_qml",
    "write_styled_geopackage",
]
