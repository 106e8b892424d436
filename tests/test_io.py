"""Readers of every vector format, on tiny files written here and on real third-party files."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
import zipfile

import geopandas as gpd
import pytest

from conftest import E0, N0, kml_coords, lonlat, realdata, square
from pastures.errors import InputFileError, LayerError
from pastures.io import GPX_PART, KML_FOLDER, atomic_output, list_layers, read_vector

KML_NS = "{http://www.opengis.net/kml/2.2}"


def write_kml(path, placemarks: str) -> None:
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>cercos</name>'
        f"{placemarks}</Document></kml>",
        encoding="utf-8",
    )


def polygon_placemark(name: str, geom, extended: dict[str, str] | None = None) -> str:
    data = ""
    if extended:
        data = (
            "<ExtendedData>"
            + "".join(f'<Data name="{k}"><value>{v}</value></Data>' for k, v in extended.items())
            + "</ExtendedData>"
        )
    return (
        f"<Placemark><name>{name}</name>{data}<Polygon><outerBoundaryIs><LinearRing>"
        f"<coordinates>{kml_coords(lonlat(geom))}</coordinates>"
        "</LinearRing></outerBoundaryIs></Polygon></Placemark>"
    )


@pytest.fixture
def kml_two_folders(tmp_path):
    a = polygon_placemark(
        "ALF-01",
        square(E0 + 100, N0 + 100, 200, 250),
        {"comunidad": "Alfa", "tipo_pasto": "Pajonal"},
    )
    b = polygon_placemark(
        "BET-01", square(E0 + 1200, N0 + 200, 300, 100), {"comunidad": "Beta", "tipo_pasto": "tola"}
    )
    path = tmp_path / "cercos.kml"
    write_kml(path, f"<Folder><name>Alfa</name>{a}</Folder><Folder><name>Beta</name>{b}</Folder>")
    return path


def test_kml_folders_are_merged_with_extended_data_and_heights_dropped(kml_two_folders):
    gdf = read_vector(kml_two_folders)
    assert len(gdf) == 2
    assert sorted(gdf[KML_FOLDER]) == ["Alfa", "Beta"]
    assert sorted(gdf["comunidad"]) == ["Alfa", "Beta"]
    assert not gdf.geometry.has_z.any()
    assert gdf.crs.to_epsg() == 4326


def test_kmz_is_read_like_kml(tmp_path, kml_two_folders):
    kmz = tmp_path / "cercos.kmz"
    with zipfile.ZipFile(kmz, "w") as z:
        z.write(kml_two_folders, "doc.kml")
    gdf = read_vector(kmz)
    assert sorted(gdf["Name"]) == ["ALF-01", "BET-01"]


def test_gpx_parts(tmp_path):
    pts = lonlat(square(E0, N0, 100, 100))
    trkpts = "".join(f'<trkpt lat="{y:.8f}" lon="{x:.8f}"><ele>3900</ele></trkpt>' for x, y in pts)
    (tmp_path / "walk.gpx").write_text(
        '<?xml version="1.0"?><gpx version="1.1" creator="test" '
        'xmlns="http://www.topografix.com/GPX/1/1">'
        f'<wpt lat="{pts[0][1]:.8f}" lon="{pts[0][0]:.8f}"><name>ALF-C1</name></wpt>'
        f"<trk><name>ALF-01</name><trkseg>{trkpts}</trkseg></trk></gpx>",
        encoding="utf-8",
    )
    both = read_vector(tmp_path / "walk.gpx")
    assert sorted(both[GPX_PART]) == ["tracks", "waypoints"]
    only = read_vector(tmp_path / "walk.gpx", gpx_parts=("waypoints",))
    assert list(only["name"]) == ["ALF-C1"]


def test_zipped_shapefile(tmp_path, plots):
    folder = tmp_path / "shp"
    folder.mkdir()
    spanish = {
        "plot_code": "codigo",
        "community": "comunidad",
        "pasture_type": "tipo_pasto",
        "fenced_year": "anio",
    }
    plots.rename(columns=spanish).to_file(folder / "parcelas.shp", engine="pyogrio")
    archive = tmp_path / "parcelas.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in folder.iterdir():
            z.write(f, f.name)
    gdf = read_vector(archive)
    assert sorted(gdf["codigo"]) == ["ALF-01", "ALF-02", "BET-01"]
    assert gdf.crs.to_epsg() == 32719


def test_multi_layer_geopackage_needs_a_choice(tmp_path, plots, corrals):
    gpkg = tmp_path / "two.gpkg"
    plots.to_file(gpkg, layer="parcelas", engine="pyogrio")
    corrals.to_file(gpkg, layer="corrales", engine="pyogrio")
    with pytest.raises(LayerError, match=r"holds 2 layers \(parcelas, corrales\).*--layer"):
        read_vector(gpkg)
    assert len(read_vector(gpkg, layer="corrales")) == 2
    with pytest.raises(LayerError, match="has no layer 'plots'. Its layers are: parcelas"):
        read_vector(gpkg, layer="plots")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.gpkg", None, "file not found"),
        ("empty.geojson", b"", "the file is empty"),
        ("cut.geojson", b'{"type": "FeatureCollection", "features": [{"type": ', "cannot be read"),
        ("notes.docx", b"hello", "unsupported file type '.docx'"),
    ],
)
def test_bad_files_are_named(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputFileError, match=message) as info:
        read_vector(path)
    assert name in str(info.value)


def test_atomic_output_leaves_nothing_on_failure(tmp_path):
    dest = tmp_path / "out.csv"
    dest.write_text("old complete file")
    with pytest.raises(RuntimeError), atomic_output(dest) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert dest.read_text() == "old complete file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    with atomic_output(dest) as tmp:
        tmp.write_text("new")
    assert dest.read_text() == "new"


# --- real third-party files -------------------------------------------------------------


def kml_placemarks_with_geometry(path) -> int:
    """Independent count: Placemarks holding a geometry element, by parsing the XML."""
    root = ET.parse(path).getroot()
    kinds = {"Point", "LineString", "LinearRing", "Polygon", "MultiGeometry", "Track", "MultiTrack"}
    count = 0
    for pm in root.iter(f"{KML_NS}Placemark"):
        if any(el.tag.split("}")[1] in kinds for el in pm.iter()):
            count += 1
    return count


@pytest.mark.realdata
@pytest.mark.parametrize(
    "name",
    [
        "togeojson__polygon.kml",
        "togeojson__extended_data.kml",
        "togeojson__multigeometry.kml",
        "togeojson__simpledata.kml",
        "togeojson__styles.kml",
        "fastkml__KML_Samples.kml",
    ],
)
def test_real_kml_every_geometry_placemark_is_read(name):
    path = realdata("4_kml_gpx", name)
    gdf = read_vector(path)
    present = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    assert len(present) == kml_placemarks_with_geometry(path)
    assert not present.geometry.has_z.any()


@pytest.mark.realdata
def test_real_kml_extended_data_fields():
    gdf = read_vector(realdata("4_kml_gpx", "togeojson__extended_data.kml"))
    root = ET.parse(realdata("4_kml_gpx", "togeojson__extended_data.kml")).getroot()
    names = {d.get("name") for d in root.iter(f"{KML_NS}Data")}
    assert names <= set(gdf.columns)


@pytest.mark.realdata
def test_real_kmz_image_overlays_are_not_features():
    gdf = read_vector(realdata("4_kml_gpx", "fastkml__small_world.kmz"))
    with zipfile.ZipFile(realdata("4_kml_gpx", "fastkml__small_world.kmz")) as z:
        doc = next(n for n in z.namelist() if n.endswith(".kml"))
        root = ET.fromstring(z.read(doc))
    placemarks = len(list(root.iter(f"{KML_NS}Placemark")))
    assert len(gdf) == placemarks


@pytest.mark.realdata
@pytest.mark.parametrize(
    "name",
    [
        "togeojson__wpt.gpx",
        "togeojson__run.gpx",
        "gpxpy__cerknicko-jezero.gpx",
        "gpxpy__unicode_with_bom.gpx",
        "togeojson__gdal.gpx",
        "gpxpy__track-with-empty-segment.gpx",
    ],
)
def test_real_gpx_waypoints_and_tracks(name):
    path = realdata("4_kml_gpx", name)
    root = ET.fromstring(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    n_wpt = len(root.findall(f"{ns}wpt"))
    n_trk = len(root.findall(f"{ns}trk"))
    gdf = read_vector(path)
    assert (gdf[GPX_PART] == "waypoints").sum() == n_wpt
    assert (gdf[GPX_PART] == "tracks").sum() == n_trk


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("folder", "name", "table"),
    [
        ("6_vector_parcels_shp_gpkg", "eolearn_import-gpkg-test_LPIS_parcels.gpkg", "lpis_iacs"),
        ("6_vector_parcels_shp_gpkg", "eolearn_TestEOPatch_LULC.gpkg", "LULC"),
        ("6_vector_parcels_shp_gpkg", "geowombat_LC08_224078_polygons.gpkg", "land_cover"),
    ],
)
def test_real_geopackages_against_sqlite(folder, name, table):
    path = realdata(folder, name)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        (count,) = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        (srs,) = con.execute(
            "SELECT srs_id FROM gpkg_geometry_columns WHERE table_name = ?", (table,)
        ).fetchone()
    gdf = read_vector(path)
    assert len(gdf) == count
    assert gdf.crs.to_epsg() == srs
    assert list_layers(path) == [table]


@pytest.mark.realdata
def test_real_shapefile_with_prj():
    path = realdata("5_dem", "invest_sdr_gura", "watershed_gura.shp")
    gdf = read_vector(path)
    assert len(gdf) >= 1
    assert gdf.crs is not None


@pytest.mark.realdata
def test_real_broken_kml_is_reported_with_its_name():
    path = realdata("4_kml_gpx", "fastkml__LinearRingWith1DTuple.kml")
    with pytest.raises(InputFileError, match="LinearRingWith1DTuple.kml: cannot be read as KML"):
        read_vector(path)


def test_geojson_null_geometry_is_kept_for_validation(tmp_path):
    path = tmp_path / "nulls.geojson"
    path.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature",'
        '"properties":{"code":"X"},"geometry":null}]}'
    )
    gdf = read_vector(path)
    assert len(gdf) == 1
    assert gdf.geometry.iloc[0] is None
    assert isinstance(gdf, gpd.GeoDataFrame)


def test_write_table_neutralises_spreadsheet_formulas(tmp_path):
    # OWASP CSV injection: text starting with = + - @ is prefixed with an apostrophe;
    # numbers written as text ("-3.5") are left as they are.
    import pandas as pd

    from pastures.io import write_table

    table = pd.DataFrame({"name": ["=HYPERLINK(1)", "+A1", "-3.5", "@SUM(A1)", "Pasiri"]})
    out = write_table(table, tmp_path / "t.csv")
    assert out.read_text(encoding="utf-8").splitlines() == [
        "name",
        "'=HYPERLINK(1)",
        "'+A1",
        "-3.5",
        "'@SUM(A1)",
        "Pasiri",
    ]
