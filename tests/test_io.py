"""Readers of every vector format, on tiny files written here and on real third-party files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
import zipfile

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from conftest import E0, N0, kml_coords, lonlat, realdata, square
from pastures.errors import InputFileError, LayerError, OutputError
from pastures.io import (
    GPX_PART,
    KML_FOLDER,
    MAX_ARCHIVE_EXPANDED_BYTES,
    TEMP_PREFIX,
    UNREADABLE_GEOMETRY,
    atomic_output,
    list_layers,
    read_vector,
)

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


# --- temporary files, hostile archives, interrupted runs --------------------------------


def test_stale_temporaries_of_a_killed_run_are_removed_by_the_next_run(tmp_path):
    dest = tmp_path / "forage_plots.csv"
    dest.write_text("old")
    stale = tmp_path / f"{TEMP_PREFIX}forage_plots.csv.abc123.csv"
    stale.write_text("half written by a killed run")
    legacy = tmp_path / ".forage_plots.4242.part.csv"  # the former, PID-named leftovers
    legacy.write_text("half")
    other = tmp_path / f"{TEMP_PREFIX}other.csv.xyz.csv"  # another output's: not ours
    other.write_text("half")
    old = time.time() - 3600
    for f in (stale, legacy, other):
        os.utime(f, (old, old))
    fresh = tmp_path / f"{TEMP_PREFIX}forage_plots.csv.new999.csv"  # a concurrent run's
    fresh.write_text("being written now")
    os.utime(fresh, (time.time() + 60, time.time() + 60))
    with atomic_output(dest) as tmp:
        assert tmp.name.startswith(f"{TEMP_PREFIX}forage_plots.csv.")
        assert tmp.suffix == ".csv"
        tmp.write_text("new")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["forage_plots.csv", other.name, fresh.name])
    assert dest.read_text() == "new"


def test_atomic_output_into_a_path_under_a_file_is_an_output_error(tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    with (
        pytest.raises(OutputError, match=r"notes\.txt/out/a\.csv: cannot be written"),
        atomic_output(blocker / "out" / "a.csv") as tmp,
    ):
        tmp.write_text("never")
    with pytest.raises(OutputError, match="is a folder"), atomic_output(tmp_path) as tmp:
        tmp.write_text("never")


def _kmz(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_kmz_expanding_past_the_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "bomb.kmz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("doc.kml", "<kml/>")
        with z.open("pad.bin", "w") as f:
            for _ in range(MAX_ARCHIVE_EXPANDED_BYTES // (1 << 20) + 1):
                f.write(b"\0" * (1 << 20))
    assert path.stat().st_size < 1 << 20  # a small file that would expand past 64 MiB
    with pytest.raises(InputFileError, match=r"bomb\.kmz: the KMZ would expand to 65 MiB"):
        read_vector(path)


@pytest.mark.parametrize("member", ["../evil.kml", "a/../../evil.kml", "/abs/evil.kml", "C:/x.kml"])
def test_kmz_paths_leaving_the_archive_are_refused(tmp_path, member):
    path = _kmz(tmp_path / "slip.kmz", {"doc.kml": "<kml/>", member: "x"})
    with pytest.raises(InputFileError, match="a path outside the archive"):
        read_vector(path)


@pytest.mark.parametrize(
    "prolog",
    [
        '<!DOCTYPE kml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
        '<!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE kml [<!entity x "lower case">]>',
    ],
)
def test_xml_entities_are_refused(tmp_path, prolog):
    path = tmp_path / "e.kml"
    path.write_text(f'<?xml version="1.0"?>\n{prolog}<kml><Document/></kml>', encoding="utf-8")
    with pytest.raises(InputFileError, match="declares XML entities"):
        read_vector(path)


def test_one_point_lines_are_read_as_unbuildable_features_by_name(tmp_path):
    x, y = lonlat(square(E0 + 100, N0 + 100, 1, 1))[0]
    write_kml(
        tmp_path / "one.kml",
        f"<Placemark><name>solo</name><LineString><coordinates>{x},{y}</coordinates>"
        "</LineString></Placemark>"
        + polygon_placemark("bien", square(E0 + 100, N0 + 100, 100, 100)),
    )
    gdf = read_vector(tmp_path / "one.kml")
    assert list(gdf["Name"]) == ["solo", "bien"]
    assert gdf.geometry.iloc[0] is None
    assert "point array" in gdf[UNREADABLE_GEOMETRY].iloc[0]
    assert gdf[UNREADABLE_GEOMETRY].isna().iloc[1]


def _big_plots(path, n: int = 400, vertices: int = 2000) -> None:
    side = int(np.ceil(np.sqrt(n)))
    centres = [shapely.Point(E0 + 60 * (k % side), N0 + 60 * (k // side)) for k in range(n)]
    gpd.GeoDataFrame(
        {"plot_code": [f"P{k:05d}" for k in range(n)]},
        geometry=[c.buffer(25, quad_segs=vertices // 4) for c in centres],
        crs="EPSG:32719",
    ).to_file(path, engine="pyogrio")


@pytest.mark.slow
def test_killed_import_leaves_the_previous_or_the_new_complete_geopackage(tmp_path):
    """SIGKILL `pastures import` while it writes a 13 MB GeoPackage over an existing one."""
    small, big = tmp_path / "small.gpkg", tmp_path / "big.gpkg"
    _big_plots(small, n=2, vertices=8)
    _big_plots(big)
    out = tmp_path / "out" / "parcelas.gpkg"
    args = [sys.executable, "-m", "pastures", "-q", "import", "--as", "plots", "--community",
            "Alfa", "--pasture-type", "pajonal", "-o", str(out)]  # fmt: skip
    subprocess.run([*args, str(small)], check=True, capture_output=True)
    previous = out.read_bytes()
    proc = subprocess.Popen([*args, str(big)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed = False
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        temps = list(out.parent.glob(f"{TEMP_PREFIX}*"))
        # kill once GDAL is writing the big layer into the temporary copy
        if temps and temps[0].exists() and temps[0].stat().st_size > len(previous):
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.002)
    proc.wait(timeout=60)
    now = out.read_bytes()
    if killed:
        assert now == previous  # the previous complete file, byte for byte
        assert list(out.parent.glob(f"{TEMP_PREFIX}*")), "the killed run's temporary file"
    else:  # the run finished before it could be caught writing: the new complete file
        assert proc.returncode == 0
    layer = pyogrio.read_dataframe(out, layer="plots")
    assert len(layer) == (2 if killed else 400)
    print(f"killed mid-write: {killed}")
    # the next run removes the killed run's leftover and writes a complete file
    time.sleep(0.01)
    subprocess.run([*args, str(small)], check=True, capture_output=True)
    assert not list(out.parent.glob(f"{TEMP_PREFIX}*"))
    assert len(pyogrio.read_dataframe(out, layer="plots")) == 2


def test_an_xlsx_table_written_twice_is_the_same_file(tmp_path):
    import time

    import pandas as pd

    from pastures.io import write_table

    table = pd.DataFrame({"plot_code": ["PAS-01", "=HYPERLINK(1)"], "ha": [7.9, 3.3]})
    write_table(table, tmp_path / "one.xlsx")
    time.sleep(1.1)  # the clock's second changes: the file must not
    write_table(table, tmp_path / "two.xlsx")
    assert (tmp_path / "one.xlsx").read_bytes() == (tmp_path / "two.xlsx").read_bytes()
    back = pd.read_excel(tmp_path / "one.xlsx")
    assert back["plot_code"].tolist() == ["PAS-01", "'=HYPERLINK(1)"]
    assert back["ha"].tolist() == [7.9, 3.3]
