"""Project files: loading, validation of every key at once, the starter, the study area."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pastures import schema as S
from pastures.cli import main
from pastures.errors import InputFileError, ProjectError
from pastures.project import load_project_file, sample_project_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def square(x: float, y: float, side: float) -> list[list[float]]:
    return [[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]


def test_sample_project_loads_as_juli() -> None:
    config = load_project_file(sample_project_path())
    assert config.illustrative
    assert config.study_area.is_juli
    assert config.study_area.crs == S.WORKING_CRS
    assert config.study_area.bounds_lonlat == S.JULI_BOUNDS_LONLAT
    assert config.imagery.source == "sample"
    assert config.layers.plots is not None
    assert config.layers.plots.is_file()
    # keys left out are recorded with the source of their default
    assert "vegetation.edge_rule" in config.defaults_used


def test_minimal_project_defaults(tmp_path: Path) -> None:
    plots = write(tmp_path / "p.geojson", "{}")
    config = load_project_file(write(tmp_path / "p.toml", f'[layers]\nplots = "{plots.name}"\n'))
    assert config.layers.plots == plots
    assert config.imagery.source == "none"
    assert config.dem.source == "none"
    assert config.vegetation.dry_months == (6, 7, 8, 9, 10)
    assert config.output == tmp_path / "pastures-run"
    assert config.study_area.crs == "EPSG:32719"


def test_lengths_take_their_unit(tmp_path: Path) -> None:
    plots = write(tmp_path / "p.geojson", "{}")
    text = (
        '[study_area]\nresolution_m = "0.02 km"\nmargin_km = "500 m"\n'
        f'[layers]\nplots = "{plots.name}"\n'
    )
    config = load_project_file(write(tmp_path / "p.toml", text))
    assert config.study_area.resolution_m == pytest.approx(20.0)
    assert config.study_area.margin_km == pytest.approx(0.5)
    bad = '[study_area]\nmargin_km = "5 leagues"\n' + f'[layers]\nplots = "{plots.name}"\n'
    with pytest.raises(ProjectError, match="study_area.margin_km.*a length in km"):
        load_project_file(write(tmp_path / "q.toml", bad))


def test_auto_crs_is_the_utm_zone_of_the_area(tmp_path: Path) -> None:
    # Ljubljana, lon 14.5 lat 46.0: UTM zone 33 north (EPSG:32633), worked out by hand:
    # zone = floor((14.5 + 180) / 6) + 1 = 33.
    plots = write(tmp_path / "p.geojson", "{}")
    config = load_project_file(
        write(
            tmp_path / "p.toml",
            f'[study_area]\nbounds = [14.4, 45.9, 14.6, 46.1]\n[layers]\nplots = "{plots.name}"\n',
        )
    )
    assert config.study_area.crs == "EPSG:32633"
    assert not config.study_area.is_juli
    # Juli, lon -69.5 lat -16.3: zone 19 south
    config = load_project_file(
        write(
            tmp_path / "q.toml",
            "[study_area]\nbounds = [-69.6, -16.4, -69.4, -16.2]\n"
            f'[layers]\nplots = "{plots.name}"\n',
        )
    )
    assert config.study_area.crs == "EPSG:32719"


BAD = """
[project]
name = 3
colour = "red"

[study_area]
boundary = "points.geojson"
resolution_m = "thirty"

[layers]
plots = "missing.gpkg"

[imagery]
source = "satellite"
start = "2024-13-01"

[vegetation]
dry_months = [6, 13]
indices = ["ndvi", "greenness"]

[forage]
use_factr = 0.5

[rotation]
periods = 0

[extras]
x = 1
"""


def bad_project(tmp_path: Path) -> Path:
    points = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [-69.45, -16.21]},
            }
        ],
    }
    write(tmp_path / "points.geojson", json.dumps(points))
    return write(tmp_path / "bad.toml", BAD)


EXPECTED_KEYS = (
    "project.name",
    "project.colour",
    "study_area.boundary",
    "study_area.resolution_m",
    "layers.plots",
    "imagery.source",
    "imagery.start",
    "vegetation.dry_months",
    "vegetation.indices",
    "[forage]",
    "rotation.periods",
    "[extras]",
)


def test_bad_project_lists_every_problem(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="problem") as info:
        load_project_file(bad_project(tmp_path))
    fields = [p.field for p in info.value.problems]
    for key in EXPECTED_KEYS:
        assert key in fields, key
    messages = {p.field: p.message for p in info.value.problems}
    assert "a length in m" in messages["study_area.resolution_m"]
    assert "must be a polygon" in messages["study_area.boundary"]
    assert "Point" in messages["study_area.boundary"]
    assert "no such file" in messages["layers.plots"]
    assert "greenness" in messages["vegetation.indices"]
    assert "use_factr" in messages["[forage]"]
    assert "unknown key" in messages["project.colour"]


def test_run_of_a_bad_project_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    project = bad_project(tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(project), "--out", str(out)])
    assert result.exit_code == 1, result.output
    for key in EXPECTED_KEYS:
        assert key in result.output, key
    assert not out.exists()


def test_missing_project_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="pastures init"):
        load_project_file(tmp_path / "nope.toml")


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="line 2"):
        load_project_file(write(tmp_path / "p.toml", "[project]\nname = \n"))


def area_file(tmp_path: Path) -> Path:
    """area.geojson: one polygon, 0.1 degree square with its south-west corner at -69.5, -16.3."""
    poly = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [square(-69.5, -16.3, 0.1)]},
            }
        ],
    }
    return write(tmp_path / "area.geojson", json.dumps(poly))


def test_boundary_and_bounds_together_is_refused(tmp_path: Path) -> None:
    area_file(tmp_path)
    plots = write(tmp_path / "p.geojson", "{}")
    text = (
        '[study_area]\nboundary = "area.geojson"\nbounds = [-69.6, -16.4, -69.4, -16.2]\n'
        f'[layers]\nplots = "{plots.name}"\n'
    )
    with pytest.raises(ProjectError, match="either boundary or bounds"):
        load_project_file(write(tmp_path / "p.toml", text))


def test_boundary_polygon_gives_the_area_bounds(tmp_path: Path) -> None:
    area_file(tmp_path)
    plots = write(tmp_path / "p.geojson", "{}")
    text = f'[study_area]\nboundary = "area.geojson"\n[layers]\nplots = "{plots.name}"\n'
    config = load_project_file(write(tmp_path / "p.toml", text))
    assert config.study_area.bounds_lonlat == pytest.approx((-69.5, -16.3, -69.4, -16.2))
    assert config.study_area.crs == "EPSG:32719"


def test_init_writes_a_project_that_loads(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    result = CliRunner().invoke(main, ["init", str(folder)])
    assert result.exit_code == 0, result.output
    config = load_project_file(folder / "project.toml")
    assert config.layers.plots == folder.resolve() / "layers" / "plots.geojson"
    assert config.layers.plots.is_file()
    assert config.layers.herds is not None
    assert config.calibration.cuts == folder.resolve() / "layers" / "quadrat_cuts.csv"
    assert config.calibration.cuts.is_file()
    assert config.illustrative
    # a second init does not overwrite the user's edits
    again = CliRunner().invoke(main, ["init", str(folder)])
    assert again.exit_code == 1
    assert "already exists" in again.output


def test_fetch_takes_area_dates_and_folder_from_the_project(tmp_path: Path, monkeypatch) -> None:
    """``pastures fetch PROJECT``: the study area, dates and scene folder of the file."""
    import datetime as dt

    from pastures.fetch import FetchResult

    calls: dict[str, object] = {}

    def fake_imagery(area, *, start, end, dest, **_kw):
        calls.update(area=area.bounds, start=start, end=end, dest=dest)
        return FetchResult(dest=dest)

    def fake_dem(area, *, dest, **_kw):
        calls["dem_dest"] = dest
        return dest / "cop-dem-glo-30.tif"

    monkeypatch.setattr("pastures.fetch.fetch_imagery", fake_imagery)
    monkeypatch.setattr("pastures.fetch.fetch_dem", fake_dem)
    plots = write(tmp_path / "p.geojson", "{}")
    project = write(
        tmp_path / "p.toml",
        "[study_area]\nbounds = [-69.6, -16.4, -69.4, -16.2]\n"
        f'[layers]\nplots = "{plots.name}"\n'
        '[imagery]\nsource = "none"\nstart = 2024-06-01\nend = 2024-09-30\n',
    )
    result = CliRunner().invoke(main, ["fetch", str(project)])
    assert result.exit_code == 0, result.output
    assert calls["area"] == pytest.approx((-69.6, -16.4, -69.4, -16.2))
    assert calls["start"] == dt.date(2024, 6, 1)
    assert calls["end"] == dt.date(2024, 9, 30)
    assert calls["dest"] == tmp_path.resolve() / "imagery"
    assert calls["dem_dest"] == calls["dest"]
    assert 'source = "files"' in result.output
    # the area cannot be given twice
    both = CliRunner().invoke(main, ["fetch", str(project), "--bounds", "0", "0", "1", "1"])
    assert both.exit_code == 1
    assert "leave out --bounds" in both.output
