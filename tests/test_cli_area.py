"""The study area options every command shares (--project, --bounds, --boundary)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from click.testing import CliRunner
from pyproj import Transformer
from shapely.geometry import box

from imagery_helpers import write_raster
from pastures.cli import main

# two 200 m plots near Lyon, in UTM 31N (EPSG:32631)
X, Y = Transformer.from_crs("EPSG:4326", "EPSG:32631", always_xy=True).transform(5.05, 45.79)
LYON = "5.0,45.76,5.09,45.82"


@pytest.fixture
def lyon_plots(tmp_path: Path) -> Path:
    path = tmp_path / "parcelles.gpkg"
    gpd.GeoDataFrame(
        {"id_parcel": ["A", "B"]},
        geometry=[box(X, Y, X + 200, Y + 200), box(X + 300, Y, X + 500, Y + 200)],
        crs="EPSG:32631",
    ).to_file(path)
    return path


def flat_dem(path: Path) -> Path:
    """A flat 1.2 km DEM (30 m, 300 m high) in UTM 31N over the Lyon plots."""
    return write_raster(
        path,
        np.full((40, 40), 300, dtype="float32"),
        Affine(30, 0, X - 300, 0, -30, Y + 900),
        crs="EPSG:32631",
        nodata=None,
    )


def lyon_project(
    path: Path, plots: Path, *, head: str = "", tail: str = "", name: str = "", defaults=True
) -> Path:
    """A project file over the Lyon plots: `head` before its area, `tail` after its layers."""
    fill = '[layers.defaults.plots]\ncommunity = "Ain"\npasture_type = "pajonal"\n'
    path.write_text(
        f"""{head}
[study_area]
{f'name = "{name}"' if name else ""}
bounds = [5.0, 45.76, 5.09, 45.82]
[layers]
plots = "{plots.as_posix()}"
[layers.fields.plots]
plot_code = "id_parcel"
{fill if defaults else ""}{tail}""",
        encoding="utf-8",
    )
    return path


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_check_of_a_missing_file_prints_no_empty_table(tmp_path: Path) -> None:
    result = invoke("check", "--plots", str(tmp_path / "noexiste.gpkg"))
    assert result.exit_code == 1
    assert "TOTAL" not in result.output
    assert "noexiste.gpkg: file not found" in result.output


def test_check_takes_the_area_and_fields_of_a_project_file(tmp_path, lyon_plots) -> None:
    project = lyon_project(tmp_path / "p.toml", lyon_plots, name="Lyon")
    result = invoke("check", "--project", str(project))
    assert result.exit_code == 0, result.output
    assert "2 plots, 8.0 ha of plots (measured in EPSG:32631)" in result.output
    # without the project, Juli's 25 km rule and the missing fields stop it
    bare = invoke("check", "--plots", str(lyon_plots))
    assert bare.exit_code == 1
    assert "outside the district of Juli" in bare.output


def test_a_boundary_file_gives_the_area_and_its_utm_zone(tmp_path, lyon_plots) -> None:
    boundary = tmp_path / "zone.geojson"
    gpd.GeoDataFrame(geometry=[box(5.0, 45.76, 5.09, 45.82)], crs="EPSG:4326").to_file(boundary)
    result = invoke(
        "check",
        "--plots",
        str(lyon_plots),
        "--boundary",
        str(boundary),
        "--field",
        "plot_code=id_parcel",
        "--default",
        "plots.community=Ain",
        "--default",
        "plots.pasture_type=pajonal",
    )
    assert result.exit_code == 0, result.output
    assert "(measured in EPSG:32631)" in result.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--bounds", LYON, "--crs", "EPSG:32719"), "outside the area of use of EPSG:32719"),
        (("--crs", "EPSG:32631"), "outside the area of use of EPSG:32631"),  # Juli in 31N
        (("--bounds", LYON, "--boundary", "x.gpkg"), "Give one study area"),
        (("--bounds", "-180,-90,180,90"), "outside the area of use"),
    ],
)
def test_an_area_its_crs_cannot_measure_is_refused(lyon_plots, args, words) -> None:
    result = invoke("check", "--plots", str(lyon_plots), *args)
    assert result.exit_code == 1, result.output
    assert words in result.output
    assert "Internal error" not in result.output


def test_a_failed_risk_prints_each_warning_once(tmp_path, lyon_plots) -> None:
    dem = flat_dem(tmp_path / "dem.tif")
    # plot codes are not mapped: an error; community and pasture type: one warning each
    result = invoke(
        "risk",
        "--dem",
        str(dem),
        "--plots",
        str(lyon_plots),
        "--c-factor",
        "0.2",
        "--bounds",
        LYON,
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 1
    assert result.output.count("some features have no community") == 1
    assert result.output.count("some features have no pasture_type") == 1
    assert "plot_code" in result.output
    ok = invoke(
        "risk",
        "--dem",
        str(dem),
        "--plots",
        str(lyon_plots),
        "--field",
        "plot_code=id_parcel",
        "--c-factor",
        "0.2",
        "--bounds",
        LYON,
        "--out",
        str(tmp_path / "o"),
    )
    assert ok.exit_code == 0, ok.output


def test_risk_gives_no_synthetic_terrain_to_a_real_project(tmp_path, lyon_plots) -> None:
    project = lyon_project(
        tmp_path / "real.toml", lyon_plots, head="[project]\nillustrative = false", defaults=False
    )
    result = invoke("risk", "--project", str(project), "--sample", "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "real.toml is not marked illustrative" in result.output
    assert not (tmp_path / "o").exists()


def test_forage_and_risk_take_the_projects_settings(tmp_path, lyon_plots) -> None:
    project = lyon_project(
        tmp_path / "p.toml",
        lyon_plots,
        head="[project]\nillustrative = true",
        tail="[forage]\nuse_factor = 0.3\n[risk.rusle]\nerodibility = 0.05\nerosivity = 1000\n",
    )
    forage = invoke("forage", "--project", str(project), "--out", str(tmp_path / "f"))
    assert forage.exit_code == 0, forage.output
    assert "use factor 0.30" in forage.output
    dem = flat_dem(tmp_path / "dem.tif")
    risk = invoke(
        "risk",
        "--project",
        str(project),
        "--dem",
        str(dem),
        "--c-factor",
        "0.2",
        "--erodibility",
        "0.04",  # typed: wins over the file's 0.05
        "--out",
        str(tmp_path / "r"),
    )
    assert risk.exit_code == 0, risk.output
    assert "(R 1000 MJ mm/ha/h/yr, K 0.04 t ha h/ha/MJ/mm)" in risk.output


def test_rotate_plans_in_the_area_it_is_given(tmp_path, lyon_plots) -> None:
    corrals = tmp_path / "corrales.gpkg"
    gpd.GeoDataFrame(
        {"corral_id": ["K1"], "community": ["Ain"]},
        geometry=[box(X + 210, Y + 90, X + 220, Y + 100)],
        crs="EPSG:32631",
    ).to_file(corrals)
    herds = tmp_path / "padron.csv"
    herds.write_text(
        "family_id,community,corral_id,alpacas,llamas,sheep\nF1,Ain,K1,0,0,20\n",
        encoding="utf-8",
    )
    args = [
        "rotate",
        "--plots",
        str(lyon_plots),
        "--corrals",
        str(corrals),
        "--herds",
        str(herds),
        "--field",
        "plots.plot_code=id_parcel",
        "--default",
        "plots.community=Ain",
        "--default",
        "plots.pasture_type=pajonal",
        "--weeks",
        "8",
        "--no-gantt",
        "--out",
        str(tmp_path / "plan"),
    ]
    bare = invoke(*args)  # no area: Juli's 25 km rule refuses plots near Lyon
    assert bare.exit_code == 1, bare.output
    assert "outside the district of Juli" in bare.output
    result = invoke(*args, "--bounds", LYON)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "plan" / "rotation_schedule.csv").is_file()
