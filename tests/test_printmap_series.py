"""The atlas and the web map of a project outside Juli (issue 12).

A community with more plots than one sheet holds gets a map series; the texts name
the run's study area and working CRS. Expected values are worked out by hand here:
the sheet room from the page geometry in mm, the UTM zone from the EPSG code, the
angle of true north from the textbook convergence of the meridians.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point, box

from pastures import schema as S
from pastures.cli import main
from pastures.errors import ParameterError
from pastures.outputs import crs_words, read_run, study_area
from pastures.printmap import (
    MIN_MAP_MM,
    SERIES_MAP_MM,
    community_layout,
    plan_sheets,
    spatial_order,
    true_north_offset,
    write_atlas,
)

pypdf = pytest.importorskip("pypdf", reason="pypdf reads the atlas back (pip install -e .[test])")

#: UTM 31 N (EPSG:32631), near Lyon: the plots' south-west corner.
CRS = "EPSG:32631"
X0, Y0 = 650_000.0, 5_070_000.0
COLS, ROWS = 6, 5  # 30 plots of 40 m x 40 m, 60 m apart


def _grid_plots() -> gpd.GeoDataFrame:
    geoms, codes = [], []
    for r in range(ROWS):
        for c in range(COLS):
            x, y = X0 + 60 * c, Y0 + 60 * r
            geoms.append(box(x, y, x + 40, y + 40))
            codes.append(f"P{r}{c}")
    return gpd.GeoDataFrame(
        {
            S.PLOT_CODE: codes,
            S.COMMUNITY: "Delta",
            "pasture_type": "pajonal",
            S.AREA_HA: [0.16] * len(codes),
        },
        geometry=geoms,
        crs=CRS,
    )


def _write_run(root: Path, *, area: dict | None, extra_small: bool = True) -> Path:
    """A run folder: community Delta with 30 plots, Epsilon with 2; no plan, no rasters."""
    root.mkdir(parents=True)
    plots = _grid_plots()
    if extra_small:
        more = gpd.GeoDataFrame(
            {
                S.PLOT_CODE: ["E1", "E2"],
                S.COMMUNITY: "Epsilon",
                "pasture_type": "pajonal",
                S.AREA_HA: [0.16, 0.16],
            },
            geometry=[
                box(X0, Y0 + 600, X0 + 40, Y0 + 640),
                box(X0 + 100, Y0 + 600, X0 + 140, Y0 + 640),
            ],
            crs=CRS,
        )
        plots = gpd.GeoDataFrame(
            [*plots.to_dict("records"), *more.to_dict("records")], geometry="geometry", crs=CRS
        )
    plots.to_file(root / "layers.gpkg", layer="plots", driver="GPKG")
    record: dict = {"illustrative": True}
    if area is not None:
        record["parameters"] = {"study_area": area}
    (root / "provenance.json").write_text(json.dumps(record), encoding="utf-8")
    return root


AREA = {"name": "Valle Alto", "crs": CRS, "is_juli": False}


@pytest.fixture(scope="module")
def series_run(tmp_path_factory) -> Path:
    return _write_run(tmp_path_factory.mktemp("series") / "run", area=AREA)


@pytest.fixture(scope="module")
def series_atlas(series_run, tmp_path_factory):
    return write_atlas(series_run, tmp_path_factory.mktemp("atlas"), workers=1)


def _text(path: Path) -> list[str]:
    return [re.sub(r"\s+", " ", p.extract_text()) for p in pypdf.PdfReader(path).pages]


# --- the map series ----------------------------------------------------------------------


def test_thirty_plots_are_split_into_sheets_each_plot_once(series_run):
    run = read_run(series_run)
    sheets = plan_sheets(run)
    delta = [s for s in sheets if s.community == "Delta"]
    # By hand, A4 portrait without a plan: 297 mm less margins (2 x 10), title (24),
    # footer (15), calendar note (12 + 4 gap), map/panel gaps (4 + 2) and grid labels (5)
    # leaves 211 mm for the map and the panel of 11.5 + 8.8 mm per plot. 30 plots need
    # 275.5 mm: no map at all, so a series. A series map of 110 mm leaves the panel
    # <= 101 mm: at most (101 - 11.5) / 8.8 = 10 plots a sheet, so at least 3 sheets.
    assert len(delta) >= 3
    assert all(len(s.plot_codes) <= 10 for s in delta)
    assert [s.number for s in delta] == list(range(1, len(delta) + 1))
    assert {s.count for s in delta} == {len(delta)}
    codes = [c for s in delta for c in s.plot_codes]
    assert sorted(codes) == sorted(_grid_plots()[S.PLOT_CODE])  # every plot exactly once
    # the sheets are balanced (sizes differ by at most one)
    sizes = [len(s.plot_codes) for s in delta]
    assert max(sizes) - min(sizes) <= 1
    # the small community stays on one sheet with both its plots
    (eps,) = [s for s in sheets if s.community == "Epsilon"]
    assert (eps.number, eps.count, sorted(eps.plot_codes)) == (1, 1, ["E1", "E2"])
    # deterministic
    assert plan_sheets(read_run(series_run)) == sheets


def test_each_sheet_holds_neighbours_and_a_map_above_the_minimum(series_run):
    run = read_run(series_run)
    delta = [s for s in plan_sheets(run) if s.community == "Delta"]
    plots = run.plots.set_index(S.PLOT_CODE)
    whole = box(*plots.loc[[c for s in delta for c in s.plot_codes]].total_bounds).area
    for sheet in delta:
        layout = community_layout(run, "Delta", sheet=sheet.number)
        assert layout.map_mm[3] >= SERIES_MAP_MM  # A4: mm as given
        assert layout.map_mm[3] >= MIN_MAP_MM
        assert layout.detail  # zoomed on its plots, with the locator inset
        part = plots.loc[list(sheet.plot_codes)]
        # neighbours: the sheet's plots cover well under the whole grid's box
        assert box(*part.total_bounds).area < 0.6 * whole
        # and the map shows every one of them
        assert box(*layout.extent).contains(box(*part.total_bounds))
    with pytest.raises(ParameterError, match=r"sheet=99: community 'Delta' has \d+ sheet"):
        community_layout(run, "Delta", sheet=99)


def test_spatial_order_follows_the_hilbert_curve_by_hand():
    # Four plots in the quadrants of a square: the level-1 Hilbert curve visits
    # lower-left, upper-left, upper-right, lower-right.
    frame = gpd.GeoDataFrame(
        {S.PLOT_CODE: ["ur", "ll", "lr", "ul"]},
        geometry=[
            box(60, 60, 100, 100),
            box(0, 0, 40, 40),
            box(60, 0, 100, 40),
            box(0, 60, 40, 100),
        ],
        crs=CRS,
    )
    assert spatial_order(frame) == ["ll", "ul", "ur", "lr"]


def test_atlas_pages_contents_and_community_pdf_follow_the_series(series_atlas, series_run):
    delta = [s for s in plan_sheets(read_run(series_run)) if s.community == "Delta"]
    k = len(delta)
    assert series_atlas.pages == 2 + k + 1
    pages = _text(series_atlas.atlas)
    assert len(pages) == 2 + k + 1
    last = 2 + k  # Delta's sheets are pages 3 to 2 + k; Epsilon's is page 3 + k
    assert f"Comunidad Delta (30 parcelas, 4.8 ha; {k} hojas) páginas 3–{last}" in pages[0]
    assert f"Comunidad Epsilon (2 parcelas, 0.3 ha) página {last + 1}" in pages[0]
    assert "Una comunidad con muchas parcelas ocupa varias hojas" in pages[0]
    assert "Las 2 comunidades y sus parcelas" in pages[1]
    assert "Número sobre las parcelas: página de su hoja" in pages[1]
    assert f"páginas 3–{last}" in pages[1]
    for i, sheet in enumerate(delta):
        text = pages[2 + i]
        assert f"Comunidad Delta — Valle Alto — hoja {i + 1} de {k}" in text
        assert f"Página {3 + i} de {2 + k + 1}" in text
        for code in sheet.plot_codes:
            assert code in text
        # the sources in full on the first sheet of the series, a pointer to it after
        if i == 0:
            assert "Fuentes: comunidades, parcelas" in text
        else:
            assert "Fuentes: comunidades" not in text
            assert "Fuentes y créditos: en la primera hoja de la comunidad." in text
    assert "Fuentes: comunidades, parcelas" in pages[-1]  # Epsilon's only sheet
    assert "hoja" not in pages[-1].split("Página")[0]  # Epsilon: one sheet, no series
    book = pypdf.PdfReader(series_atlas.communities["Delta"])
    assert len(book.pages) == k
    assert len(pypdf.PdfReader(series_atlas.communities["Epsilon"]).pages) == 1


# --- words from the study area -------------------------------------------------------------


@pytest.mark.parametrize(
    ("crs", "es", "en"),
    [
        ("EPSG:32719", "UTM zona 19 Sur", "UTM zone 19 South"),
        ("EPSG:32631", "UTM zona 31 Norte", "UTM zone 31 North"),
        ("EPSG:32601", "UTM zona 1 Norte", "UTM zone 1 North"),
        ("EPSG:32760", "UTM zona 60 Sur", "UTM zone 60 South"),
        ("EPSG:2154", "RGF93 v1 / Lambert-93", "RGF93 v1 / Lambert-93"),
    ],
)  # fmt: skip
def test_crs_words_name_the_utm_zone_from_the_epsg_code(crs, es, en):
    # 326zz: WGS 84 / UTM zone zz North; 327zz: South; others by their EPSG name
    datum = "WGS 84, " if crs.startswith("EPSG:32") else ""
    assert crs_words(crs, "es") == f"{es} ({datum}{crs})"
    assert crs_words(crs, "en") == f"{en} ({datum}{crs})"


@pytest.mark.parametrize(
    ("crs", "lon", "lat", "central"),
    [("EPSG:32631", 5.05, 45.79, 3.0), ("EPSG:32719", -69.5, -16.2, -69.0)],
)
def test_true_north_offset_is_minus_the_meridian_convergence(crs, lon, lat, central):
    # first-order convergence of the meridians: gamma = (lon - central) * sin(lat)
    gamma = (lon - central) * math.sin(math.radians(lat))
    assert true_north_offset(crs, lon, lat) == pytest.approx(-gamma, abs=0.01)


def test_atlas_names_the_study_area_and_its_crs_not_juli(series_atlas):
    text = " ".join(_text(series_atlas.atlas))
    assert "Juli" not in text
    assert "Chucuito" not in text
    assert "Valle Alto" in text
    assert "Cuadrícula UTM zona 31 Norte (WGS 84, EPSG:32631) cada" in text
    assert "DATOS ILUSTRATIVOS: no usar para decidir" in text
    assert "muestra de ejemplo" not in text  # the user's data are not the bundled sample
    assert "muestra ilustrativa" not in text
    assert "(datos ilustrativos)" in text
    # E 650 km, N 5 070 km in zone 31 is 4.93° E, 45.77° N (the centre of the plots):
    # 1.93° east of the 3° E meridian, so true north is 1.93 x sin(45.77°) = 1.38° west
    assert "el norte geográfico está 1.4° al oeste de él" in text


def test_a_run_without_a_study_area_record_is_juli(tmp_path):
    run = read_run(_write_run(tmp_path / "old", area=None, extra_small=False))
    area = study_area(run)
    assert (area.name, area.crs, area.is_juli, area.bundled_sample) == (
        "Juli",
        CRS,
        True,
        False,
    )


def test_web_map_title_and_note_name_the_study_area(series_run):
    from pastures.webmap import build_web_map

    page = build_web_map(read_run(series_run))
    assert "<title>Valle Alto: mapa de campo de pastos</title>" in page
    assert "Datos ilustrativos: no usar para decisiones." in page
    assert "Juli" not in page
    assert "muestra incluida" not in page
    # the plots carry their community: "zoom to community" lists Delta and Epsilon,
    # which the run knows only from its plots
    from pastures.webmap import map_data

    features = map_data(read_run(series_run))["plots"]["features"]
    assert {f["properties"]["community"] for f in features} == {"Delta", "Epsilon"}
    assert "properties.community" in page
    english = build_web_map(read_run(series_run), lang="en")
    assert "<title>Valle Alto: pasture field map</title>" in english
    assert "Whole area" in english


def test_cli_print_lists_the_series(series_run, tmp_path):
    result = CliRunner().invoke(main, ["print", str(series_run), "-o", str(tmp_path / "a"),
                                       "--workers", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert re.search(r"atlas\.pdf  \(\d+ pages", result.output)
    assert re.search(r"delta\.pdf  \(Delta, \d+ sheets, ", result.output)


def test_twelve_plots_without_a_plan_fit_one_portrait_sheet(tmp_path):
    # 12 plots once got a landscape layout whose map height was negative (the panels'
    # rows, 8.8 mm per plot, ate the page). By hand, A4 portrait: 297 - 2 x 10 margins
    # - 24 title - 15 footer - 3.67 for the true-north note (one 8 pt line x 1.3)
    # - 17 calendar heading and its two-line note - 4 gap - (11.5 + 8.8 x 12) status panel
    # - 4 gap - 5 grid labels - 2 = 85.2 mm of map. Landscape: 210 - 20 - 24 - 18.67
    # leaves 147.3 mm for a status panel (117.1 mm) plus a legend (40.5 mm) and the map:
    # none is left.
    root = tmp_path / "run"
    root.mkdir()
    plots = _grid_plots().iloc[:12].assign(**{S.COMMUNITY: "Doce"})
    plots.to_file(root / "layers.gpkg", layer="plots", driver="GPKG")
    (root / "provenance.json").write_text(
        json.dumps({"parameters": {"study_area": AREA}}), encoding="utf-8"
    )
    run = read_run(root)
    (sheet,) = plan_sheets(run)
    assert sheet.count == 1
    layout = community_layout(run, "Doce")
    assert layout.orientation == "portrait"
    assert layout.map_mm[3] == pytest.approx(85.2, abs=0.1)
    assert layout.map_mm[3] >= MIN_MAP_MM


# --- small plots stay legible (issue 20) -------------------------------------------------


def _spread_run(root: Path) -> Path:
    """Community Zeta, 15 km x 6 km, with a 5.29 ha plot (230 m square) at its west end and
    a 25 ha plot (500 m square) 14 km east; a corral beside each."""
    root.mkdir(parents=True)
    zeta = gpd.GeoDataFrame(
        {S.COMMUNITY: ["Zeta"]}, geometry=[box(X0, Y0, X0 + 15_000, Y0 + 6_000)], crs=CRS
    )
    plots = gpd.GeoDataFrame(
        {
            S.PLOT_CODE: ["Z-SMALL", "Z-BIG"],
            S.COMMUNITY: "Zeta",
            "pasture_type": "pajonal",
            S.AREA_HA: [5.29, 25.0],
        },
        geometry=[
            box(X0 + 300, Y0 + 2_000, X0 + 530, Y0 + 2_230),
            box(X0 + 14_300, Y0 + 3_000, X0 + 14_800, Y0 + 3_500),
        ],
        crs=CRS,
    )
    corrals = gpd.GeoDataFrame(
        {S.CORRAL_ID: ["Z-C1", "Z-C2"], S.COMMUNITY: "Zeta"},
        geometry=[Point(X0 + 700, Y0 + 2_100), Point(X0 + 14_000, Y0 + 3_200)],
        crs=CRS,
    )
    for name, layer in (("communities", zeta), ("plots", plots), ("corrals", corrals)):
        layer.to_file(root / "layers.gpkg", layer=name, driver="GPKG")
    record = {"illustrative": True, "parameters": {"study_area": AREA}}
    (root / "provenance.json").write_text(json.dumps(record), encoding="utf-8")
    return root


def test_no_plot_is_printed_under_8_mm_across(tmp_path):
    # On one sheet the whole 15 km community would be at 1:75 000 or so, where the 230 m
    # plot is 260 m across (the circle of its area: 2 * sqrt(52 900 / pi)) -> 3.5 mm.
    # At 8 mm it needs 1:32 500 or larger, where a frame of ~190 mm holds 6 km: the two
    # plots, 14 km apart, go on two sheets, each zoomed on its plot.
    run = _spread_run(tmp_path / "run")
    sheets = plan_sheets(read_run(run))
    assert [s.plot_codes for s in sheets] == [("Z-SMALL",), ("Z-BIG",)]
    areas = {"Z-SMALL": 230.0 * 230.0, "Z-BIG": 500.0 * 500.0}
    for number, sheet in enumerate(sheets, start=1):
        layout = community_layout(read_run(run), "Zeta", sheet=number)
        across_m = 2 * math.sqrt(areas[sheet.plot_codes[0]] / math.pi)
        assert across_m / layout.scale * 1000 >= 8.0
        assert layout.detail  # with the locator inset of the whole community


def test_a_small_plot_near_its_corrals_zooms_the_sheet_not_splits_it(tmp_path):
    # One community, one small plot, corrals far apart: the sheet zooms on the plot
    # (a detail with the inset) instead of showing the whole community too small.
    run = _spread_run(tmp_path / "run")
    layers = gpd.read_file(run / "layers.gpkg", layer="plots")
    layers[layers[S.PLOT_CODE] == "Z-SMALL"].to_file(run / "layers.gpkg", layer="plots")
    sheets = plan_sheets(read_run(run))
    assert len(sheets) == 1
    layout = community_layout(read_run(run), "Zeta")
    assert 2 * math.sqrt(230.0 * 230.0 / math.pi) / layout.scale * 1000 >= 8.0
    assert layout.detail
