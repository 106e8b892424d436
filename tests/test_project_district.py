"""A project in another district: field mapping, overlap slivers, re-verified reruns.

Issue 12: a user's own parcels (field names pastures does not know, digitising
slivers between neighbours, far from Juli) run through ``pastures run``, and a stage
skipped because its inputs did not change still re-verifies its recorded outputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from conftest import E0, N0, UTM, realdata, square
from pastures.cli import main
from pastures.errors import ProjectError
from pastures.layers import load_project
from pastures.pipeline import MANIFEST, provenance, run_layers, run_project
from pastures.project import load_project_file, starter_project
from pastures.sample_imagery import mgrs_tile
from pastures.validation import DEFAULT_OVERLAP_TOLERANCE_M2, check_overlaps
from test_pipeline import NO_MAPS, lonlat_box, tiny_project

# --- fixtures: parcels with their own field names -------------------------------------


def parcels(tmp_path: Path, geoms: list, name: str = "parcels.gpkg") -> Path:
    """Plots whose code is in `id_parcel` and type in `culture`: names pastures does not know."""
    frame = gpd.GeoDataFrame(
        {
            "id_parcel": [f"{1000 + k}" for k in range(len(geoms))],
            "comunidad": ["Alfa"] * len(geoms),
            "culture": ["pajonal"] * len(geoms),
        },
        geometry=geoms,
        crs=UTM,
    )
    path = tmp_path / name
    frame.to_file(path, layer="plots", driver="GPKG")
    return path


def two_squares(overlap_x: float, overlap_y: float = 100.0) -> list:
    """Two 100 m squares; the second overlaps the first by `overlap_x` × `overlap_y` m."""
    return [
        square(E0, N0, 100, 100),
        square(E0 + 100 - overlap_x, N0 + 100 - overlap_y, 100, 100),
    ]


def project_file(tmp_path: Path, plots: Path, extra: str = "") -> Path:
    text = f"""
[study_area]
name = "Alfa"
bounds = {lonlat_box(E0 - 500, N0 - 500, E0 + 1000, N0 + 1000)}
margin_km = 1.0
[layers]
plots = "{plots.as_posix()}"
{extra}
"""
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- field mapping --------------------------------------------------------------------


def test_project_field_mapping_reads_the_users_fields(tmp_path) -> None:
    plots = parcels(tmp_path, two_squares(0.0))
    path = project_file(
        tmp_path,
        plots,
        '[layers.fields.plots]\nplot_code = "id_parcel"\npasture_type = "culture"\n',
    )
    config = load_project_file(path)
    assert config.layers.fields == {"plots": {"plot_code": "id_parcel", "pasture_type": "culture"}}
    layers = run_layers(config, tmp_path / "run")
    assert list(layers.project.plots["plot_code"]) == ["1000", "1001"]
    assert list(layers.project.plots["pasture_type"]) == ["pajonal", "pajonal"]
    # recorded in provenance
    record = provenance(config, {}, [], data_date=None)
    assert record["parameters"]["layers"]["fields"] == {
        "plots": {"plot_code": "id_parcel", "pasture_type": "culture"}
    }


def test_without_the_mapping_the_missing_field_names_the_fix(tmp_path) -> None:
    plots = parcels(tmp_path, two_squares(0.0))
    config = load_project_file(project_file(tmp_path, plots))
    from pastures.errors import ValidationError

    with pytest.raises(ValidationError, match=r"\[layers.fields.plots\] plot_code"):
        run_layers(config, tmp_path / "run")


def test_bad_field_mappings_are_all_listed_with_their_keys(tmp_path) -> None:
    plots = parcels(tmp_path, two_squares(0.0))
    path = project_file(
        tmp_path,
        plots,
        '[layers.fields.plots]\nplot_code = "no_such"\nheight = "id_parcel"\n'
        '[layers.fields.pastures]\nplot_code = "x"\n',
    )
    with pytest.raises(ProjectError) as info:
        load_project_file(path)
    text = str(info.value)
    assert "layers.fields.plots.plot_code" in text
    assert "'no_such' is not a field of parcels.gpkg" in text
    assert "id_parcel" in text  # the file's fields are listed
    assert "layers.fields.plots.height" in text
    assert "unknown field of plots" in text
    assert "layers.fields.pastures" in text


def test_starter_project_documents_fields_and_tolerance() -> None:
    text = starter_project()
    assert '# [layers.fields.plots]\n# plot_code = "id_parcel"' in text
    assert "overlap_tolerance_m2 = 25.0" in text


def test_cli_check_and_import_take_the_same_mapping(tmp_path) -> None:
    plots = parcels(tmp_path, two_squares(0.0))
    runner = CliRunner()
    missing = runner.invoke(main, ["check", "--plots", str(plots)])
    assert missing.exit_code == 1
    assert "plot_code" in missing.output
    ok = runner.invoke(
        main,
        ["check", "--plots", str(plots), "--field", "plot_code=id_parcel", "--field",
         "plots.pasture_type=culture"],
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    out = tmp_path / "clean.gpkg"
    done = runner.invoke(
        main,
        ["import", str(plots), "--as", "plots", "--field", "plot_code=id_parcel",
         "--field", "pasture_type=culture", "-o", str(out)],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert sorted(gpd.read_file(out)["plot_code"]) == ["1000", "1001"]
    bad = runner.invoke(main, ["check", "--plots", str(plots), "--field", "plot_code"])
    assert bad.exit_code == 1
    assert "FIELD=YOUR_FIELD" in bad.output
    unknown = runner.invoke(main, ["check", "--plots", str(plots), "--field", "colour=x"])
    assert unknown.exit_code == 1
    assert "'colour' is not a field pastures reads" in unknown.output


# --- overlap tolerance ----------------------------------------------------------------


def test_a_sliver_warns_naming_both_and_is_counted_once(tmp_path) -> None:
    # 2 m × 3 m = 6 m² overlap at the corner: a sliver under the 25 m² default
    plots = parcels(tmp_path, two_squares(2.0, 3.0))
    fields = {"plots": {"plot_code": "id_parcel", "pasture_type": "culture"}}
    project = load_project(plots=plots, crs=UTM, fields=fields)
    (problem,) = [p for p in project.problems if p.rule == "overlap"]
    assert problem.severity == "warning"
    assert "'1000' (#1) and '1001' (#2) overlap by 6.0 m²" in problem.message
    assert project.ok
    # areas by hand: two 10,000 m² squares sharing 6 m² -> 19,994 m² in all, the
    # sliver kept by the first plot and cut from the second
    areas = project.plots.set_index("plot_code")["area_ha"]
    assert areas["1000"] == pytest.approx(1.0, abs=1e-9)
    assert areas["1001"] == pytest.approx(0.9994, abs=1e-9)
    union = shapely.union_all(project.plots.geometry.to_numpy()).area
    assert areas.sum() * 1e4 == pytest.approx(union, abs=1e-6)
    assert union == pytest.approx(19_994.0, abs=1e-6)


def test_a_real_overlap_stays_an_error(tmp_path) -> None:
    # 20 m × 100 m = 2,000 m²: a fence walked over the neighbour's plot
    plots = parcels(tmp_path, two_squares(20.0))
    fields = {"plots": {"plot_code": "id_parcel", "pasture_type": "culture"}}
    project = load_project(plots=plots, crs=UTM, fields=fields)
    (problem,) = [p for p in project.problems if p.rule == "overlap"]
    assert problem.severity == "error"
    assert "(2,000 m²), more than the overlap tolerance of 25 m²" in problem.message
    assert project.plots["area_ha"].sum() == pytest.approx(2.0)  # left as drawn


def test_tolerance_from_project_file_and_cli(tmp_path) -> None:
    plots = parcels(tmp_path, two_squares(2.0, 3.0))
    fields = '[layers.fields.plots]\nplot_code = "id_parcel"\npasture_type = "culture"\n'
    strict = project_file(tmp_path, plots, f"overlap_tolerance_m2 = 5\n{fields}")
    config = load_project_file(strict)
    assert config.layers.overlap_tolerance_m2 == 5.0
    from pastures.errors import ValidationError

    with pytest.raises(ValidationError, match="more than the overlap tolerance of 5 m²"):
        run_layers(config, tmp_path / "run")
    default = load_project_file(project_file(tmp_path, plots, fields))
    assert default.layers.overlap_tolerance_m2 == DEFAULT_OVERLAP_TOLERANCE_M2
    assert "layers.overlap_tolerance_m2" in default.defaults_used
    runner = CliRunner()
    args = ["check", "--plots", str(plots), "--field", "plot_code=id_parcel"]
    args += ["--field", "pasture_type=culture"]
    assert runner.invoke(main, [*args, "--overlap-tolerance", "5"]).exit_code == 1
    warned = runner.invoke(main, args)
    assert warned.exit_code == 0, warned.output
    assert "within the overlap tolerance of 25 m²" in warned.output


def test_touching_plots_and_float_noise_are_silent() -> None:
    # sharing a fence exactly, or overlapping by less than 1 m² (0.5 m × 1 m): nothing
    geoms = [square(E0, N0, 100, 100), square(E0 + 100, N0, 100, 100)]
    geoms.append(square(E0 + 199.5, N0 + 99, 100, 100))
    frame = gpd.GeoDataFrame({"plot_code": ["A", "B", "C"]}, geometry=geoms, crs=UTM)
    assert check_overlaps(frame, source="t") == []


# --- skipped stages re-verify their outputs -------------------------------------------


def test_a_skipped_stage_reruns_when_an_output_was_deleted_or_edited(
    tmp_path, project_files
) -> None:
    config = load_project_file(tiny_project(tmp_path, project_files, imagery=False))
    run_project(config, skip=NO_MAPS)
    run = tmp_path / "run"
    manifest = json.loads((run / MANIFEST).read_text())
    recorded = manifest["stages"]["forage"]["sha256"]
    assert "forage/forage_plots.csv" in recorded

    (run / "forage" / "forage_plots.csv").unlink()
    second = run_project(config, skip=NO_MAPS)
    reports = {r.name: r for r in second.reports}
    assert reports["forage"].status == "ran"
    assert "its output forage/forage_plots.csv was deleted" in reports["forage"].summary
    assert (run / "forage" / "forage_plots.csv").is_file()
    assert reports["layers"].status == "skipped"  # its outputs are intact

    summary = run / "community_summary.csv"
    summary.write_text(summary.read_text() + "edited,1\n", encoding="utf-8")
    third = run_project(config, skip=NO_MAPS)
    reports = {r.name: r for r in third.reports}
    assert reports["layers"].status == "ran"
    assert "community_summary.csv was changed since it was written" in reports["layers"].summary
    assert "edited" not in summary.read_text()  # written again
    assert reports["forage"].status == "skipped"

    fourth = run_project(config, skip=NO_MAPS)
    assert {r.status for r in fourth.reports} <= {"skipped", "not needed"}


def test_the_cli_says_why_a_stage_runs_again(tmp_path, project_files) -> None:
    project = tiny_project(tmp_path, project_files, imagery=False)
    runner = CliRunner()
    args = ["run", str(project), "--skip", "map", "--skip", "print"]
    assert runner.invoke(main, args).exit_code == 0
    (tmp_path / "run" / "forage" / "forage_plots.csv").unlink()
    again = runner.invoke(main, args)
    assert again.exit_code == 0, again.output
    assert "ran again: its output forage/forage_plots.csv was deleted" in again.output


# --- Sentinel-2 tiles for sample imagery anywhere ---------------------------------------


@pytest.mark.parametrize(
    ("zone", "easting", "northing", "lat", "tile"),
    [
        (19, 450_986, 8_207_393, -16.2135, "19KDC"),  # Juli town (DOMAIN.md)
        (31, 448_251, 5_411_932, 48.8583, "31UDQ"),  # Eiffel Tower: 31U DQ 48251 11932
        (18, 580_654, 4_506_346, 40.6892, "18TWL"),  # Statue of Liberty: 18T WL 80654 06346
    ],
)
def test_mgrs_tile_names_match_published_grid_references(zone, easting, northing, lat, tile):
    assert mgrs_tile(zone, easting, northing, lat) == tile


# --- the real LPIS parcels, end to end ------------------------------------------------

LPIS = ("6_vector_parcels_shp_gpkg", "eolearn_import-gpkg-test_LPIS_parcels.gpkg")


@pytest.mark.realdata
@pytest.mark.slow
def test_lpis_parcels_in_france_run_end_to_end(tmp_path, monkeypatch) -> None:
    gpkg = realdata(*LPIS)
    monkeypatch.setenv("PASTURES_CACHE_DIR", str(tmp_path / "cache"))
    project = tmp_path / "project.toml"
    project.write_text(
        f"""
[project]
name = "LPIS test"
illustrative = true
output = "run"
[study_area]
name = "Ain parcels"
bounds = [5.0, 45.76, 5.09, 45.82]
[layers]
plots = "{gpkg.as_posix()}"
[layers.defaults.plots]
community = "Ain"
pasture_type = "pajonal"
[layers.fields.plots]
plot_code = "id_parcel"
[imagery]
source = "sample"
end = "2023-12-31"
[dem]
source = "sample"
""",
        encoding="utf-8",
    )
    runner = CliRunner()
    result = runner.invoke(main, ["run", str(project)])  # every stage, the atlas too
    assert result.exit_code == 0, result.output
    assert "district of Juli" not in result.output  # no Juli error on the way
    assert "a Juli default" in result.output  # the climate defaults are warned about
    run = tmp_path / "run"
    record = json.loads((run / "provenance.json").read_text())
    assert record["parameters"]["layers"]["fields"] == {"plots": {"plot_code": "id_parcel"}}
    assert record["parameters"]["study_area"]["crs"] == "EPSG:32631"  # UTM 31N, auto
    assert "JULI DEFAULT" in record["defaults"]["risk.rusle.erosivity"]
    plots = gpd.read_file(run / "layers.gpkg", layer="plots")
    assert len(plots) == 193
    # the four digitising slivers (4-12 m²) are counted once: areas add up to the union
    union = shapely.union_all(plots.geometry.to_numpy()).area
    assert plots["area_ha"].sum() * 1e4 == pytest.approx(union, rel=1e-9, abs=1.0)
    assert (run / "map.html").is_file()
    assert (run / "risk" / "risk_plots.csv").is_file()
    # the atlas: 193 plots in one community cannot go on one sheet, so a map series
    # whose sheets hold every plot once; titled with the study area, not Juli
    from pypdf import PdfReader

    from pastures.outputs import read_run
    from pastures.printmap import plan_sheets

    sheets = plan_sheets(read_run(run))
    assert len(sheets) > 1
    assert sorted(c for s in sheets for c in s.plot_codes) == sorted(plots["plot_code"])
    atlas = PdfReader(run / "atlas" / "atlas.pdf")
    assert len(atlas.pages) == 2 + len(sheets)
    assert len(PdfReader(run / "atlas" / "ain.pdf").pages) == len(sheets)
    first = atlas.pages[2].extract_text()
    assert f"Comunidad Ain — Ain parcels — hoja 1 de {len(sheets)}" in first
    assert "UTM zona 31 Norte (WGS 84, EPSG:32631)" in first
    pages = " ".join(" ".join(p.extract_text() for p in atlas.pages[:3]).split())
    # Juli is named only where the sheets list the Juli defaults this area runs on
    assert "Valores de Juli usados por defecto: forage.budget_month" in pages
    assert "Juli" not in pages.replace("Valores de Juli usados por defecto", "")
    assert "Ain parcels" in (run / "map.html").read_text(encoding="utf-8")


def test_herds_without_corrals_say_why_there_is_no_plan(tmp_path, project_files) -> None:
    path = tmp_path / "nocorrals.toml"
    path.write_text(
        f"""
[study_area]
bounds = {lonlat_box(E0 - 100, N0 - 100, E0 + 2100, N0 + 1100)}
margin_km = 1.0
[layers]
communities = "{project_files["communities"].as_posix()}"
plots = "{project_files["plots"].as_posix()}"
herds = "{project_files["herds"].as_posix()}"
""",
        encoding="utf-8",
    )
    result = run_project(load_project_file(path), tmp_path / "run", skip=NO_MAPS)
    rotation = {r.name: r for r in result.reports}["rotation"]
    assert rotation.status == "not needed"
    assert "no corrals layer" in rotation.summary
    assert result.rotation is None


def test_herd_register_fields_are_mapped_too(tmp_path, project_files) -> None:
    herds = project_files["herds"]
    table = herds.read_text(encoding="utf-8").splitlines()
    header = table[0].split(",")
    renamed = ["dni" if c == "family_id" else c for c in header]
    own = tmp_path / "padron.csv"
    own.write_text("\n".join([",".join(renamed), *table[1:]]) + "\n", encoding="utf-8")
    families = [line.split(",")[header.index("family_id")] for line in table[1:]]
    project = load_project(herds=own, fields={"herds": {"family_id": "dni"}})
    assert list(project.herds["family_id"]) == families
    missing = load_project(herds=own, fields={"herds": {"family_id": "documento"}})
    assert any(p.rule == "missing-field" and "'documento'" in p.message for p in missing.problems)


def test_sample_scenes_and_terrain_are_made_in_the_areas_own_utm_zone(tmp_path) -> None:
    from pyproj import Transformer

    from pastures.sample_imagery import make_sample_scenes
    from pastures.sample_terrain import make_sample_dem

    # two 200 m plots near Lyon: UTM zone 31 north (EPSG:32631), MGRS tile 31TFL
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32631", always_xy=True)
    x, y = to_utm.transform(5.05, 45.79)
    plots = gpd.GeoDataFrame(
        {"plot_code": ["A", "B"], "pasture_type": ["pajonal", "bofedal"]},
        geometry=[square(x, y, 200, 200), square(x + 300, y, 200, 200)],
        crs="EPSG:32631",
    ).to_crs("EPSG:2154")  # any CRS in: the scenes go to the area's UTM zone
    items = make_sample_scenes(plots, None, tmp_path / "scenes", end="2023-01-15")
    assert len(items) == 2  # 1 and 11 January, one tile
    item = json.loads(items[0].read_text())
    assert item["properties"]["s2:mgrs_tile"] == "31TFL"
    assert item["properties"]["proj:epsg"] == 32631
    # 10:12 local solar time at 5.05° E: 10:12 - 20 min = 09:52, to the 10 minutes
    assert item["properties"]["datetime"] == "2023-01-01T09:50:00Z"
    import rasterio

    with rasterio.open(items[0].parent / item["assets"]["scl"]["href"]) as src:
        assert src.crs.to_epsg() == 32631
        left, bottom, right, top = src.bounds
    assert left <= x - 250
    assert right >= x + 750
    assert bottom <= y - 250
    assert top >= y + 450

    terrain = make_sample_dem(
        resolution=30.0, bounds=(x - 600, y - 600, x + 1200, y + 800), crs="EPSG:32631"
    )
    assert terrain.dem.crs == "EPSG:32631"
    assert terrain.dem.transform.c == x - 600
    z = terrain.dem.elevation
    assert np.isfinite(z).mean() > 0.5  # Juli-like relief, not all lake
