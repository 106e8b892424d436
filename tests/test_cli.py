"""The command line, through its real entry point."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import geopandas as gpd
import pyogrio
import pytest
from click.testing import CliRunner
from shapely.geometry import Point

from conftest import E0, N0, UTM, kml_coords, lonlat, square
from pastures import __version__
from pastures.cli import main


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_version_and_help(runner):
    assert runner.invoke(main, ["--version"]).output.strip() == f"pastures, version {__version__}"
    out = runner.invoke(main, ["--help"]).output
    for cmd in ("demo", "check", "import"):
        assert cmd in out
    assert "pastures demo --out" in out


def test_console_script_runs():
    done = subprocess.run(
        [sys.executable, "-m", "pastures", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert __version__ in done.stdout


def test_console_script_collects_less_and_keeps_the_exit_status(monkeypatch):
    """console_main() collects less often, runs main, then freezes the collector, always."""
    import gc

    from pastures import cli

    frozen, thresholds = [], []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(True))
    monkeypatch.setattr(gc, "set_threshold", lambda *t: thresholds.append(t))
    for status in (0, 1, 3):

        def fake_main(status=status):
            raise SystemExit(status)

        monkeypatch.setattr(cli, "main", fake_main)
        with pytest.raises(SystemExit) as stopped:
            cli.console_main()
        assert stopped.value.code == status
    assert frozen == [True, True, True]
    assert thresholds == [(200_000, 30, 30)] * 3  # mypy's


def test_console_script_writes_whole_files_before_it_leaves(tmp_path):
    """Outputs are closed before the frozen teardown: a project written by a child is whole."""
    import tomllib

    done = subprocess.run(
        [sys.executable, "-m", "pastures", "init", str(tmp_path / "p")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    settings = tomllib.loads((tmp_path / "p" / "project.toml").read_text(encoding="utf-8"))
    assert settings


def test_check_clean_project_exits_0(runner, project_files):
    args = ["check"] + [f"--{k}={v}" for k, v in project_files.items()]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "2 communities, 2 with corrals, 3 plots, 9.0 ha of plots" in result.output


def test_check_broken_files_exit_1_with_every_problem_and_no_traceback(
    runner, tmp_path, project_files, plots
):
    bad = plots.copy()
    bad.loc[0, "pasture_type"] = "arbustal"
    bad.loc[2, "geometry"] = square(E0 + 240, N0 + 150, 300, 100)
    bad.to_file(tmp_path / "bad.gpkg", engine="pyogrio")
    (tmp_path / "h.csv").write_text(
        "family_id,community,corral_id,alpacas,llamas,sheep\nF1,Alfa,ALF-C1,dos,0,0\n"
    )
    before = {k: digest(v) for k, v in project_files.items()}
    result = runner.invoke(
        main,
        [
            "check",
            f"--communities={project_files['communities']}",
            f"--plots={tmp_path / 'bad.gpkg'}",
            f"--herds={tmp_path / 'h.csv'}",
            f"--corrals={project_files['corrals']}",
        ],
    )
    assert result.exit_code == 1
    for rule in ("unknown-pasture-type", "overlap", "outside-community", "bad-count"):
        assert rule in result.output
    assert "Traceback" not in result.output
    assert {k: digest(v) for k, v in project_files.items()} == before


def test_check_missing_file_is_a_message(runner, tmp_path):
    result = runner.invoke(main, ["check", "--plots", str(tmp_path / "nada.gpkg")])
    assert result.exit_code == 1
    assert "nada.gpkg: file not found" in result.output
    assert "Traceback" not in result.output


def test_check_writes_the_summary_in_spanish(runner, project_files, tmp_path):
    import pandas as pd

    args = ["check", "--es", "--summary", str(tmp_path / "resumen.xlsx")]
    result = runner.invoke(main, args + [f"--{k}={v}" for k, v in project_files.items()])
    assert result.exit_code == 0, result.output
    table = pd.read_excel(tmp_path / "resumen.xlsx")
    assert list(table.columns[:3]) == ["Comunidad", "Parcelas", "Hectáreas cercadas"]
    assert table["Hectáreas cercadas"].tolist() == [6.0, 3.0, 9.0]


def test_import_gpx_waypoints_as_water_points(runner, tmp_path):
    pts = [lonlat(p)[0] for p in (Point(E0 + 10, N0 + 10), Point(E0 + 900, N0 + 900))]
    wpts = "".join(
        f'<wpt lat="{y:.8f}" lon="{x:.8f}"><ele>3990</ele><name>{name}</name>'
        f"<sym>{kind}</sym></wpt>"
        for (x, y), name, kind in zip(pts, ["OJO-1", "OJO-2"], ["manantial", "laguna"], strict=True)
    )
    gpx = tmp_path / "agua.gpx"
    gpx.write_text(
        '<?xml version="1.0"?><gpx version="1.1" creator="eTrex" '
        f'xmlns="http://www.topografix.com/GPX/1/1">{wpts}</gpx>'
    )
    out = tmp_path / "agua.gpkg"
    result = runner.invoke(
        main, ["import", str(gpx), "--as", "water", "--community", "Alfa", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    gdf = gpd.read_file(out, layer="water_points")
    assert gdf[["water_id", "community", "water_kind"]].to_numpy().tolist() == [
        ["OJO-1", "Alfa", "manantial"],
        ["OJO-2", "Alfa", "laguna"],
    ]
    assert gdf.geometry.x.round(1).tolist() == [E0 + 10, E0 + 900]  # 8 decimals: ~1 mm


def test_check_rules_lists_every_rule(runner):
    out = runner.invoke(main, ["check", "--rules"]).output
    assert "swapped-coordinates" in out
    assert "overlap" in out


def test_import_kml_to_geopackage(runner, tmp_path, project_files):
    kml = tmp_path / "cercos.kml"
    placemarks = "".join(
        f"<Placemark><name>{code}</name><Polygon><outerBoundaryIs><LinearRing><coordinates>"
        f"{kml_coords(lonlat(geom))}</coordinates></LinearRing></outerBoundaryIs></Polygon>"
        "</Placemark>"
        for code, geom in [
            ("N-1", square(E0 + 100, N0 + 600, 200, 200)),
            ("N-2", square(E0 + 1100, N0 + 600, 100, 300)),
        ]
    )
    kml.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/'
        f'kml/2.2"><Document><Folder><name>Nuevos</name>{placemarks}</Folder>'
        "</Document></kml>"
    )
    before = digest(kml)
    out = tmp_path / "parcelas.gpkg"
    result = runner.invoke(
        main,
        [
            "import",
            str(kml),
            "--as",
            "plots",
            "-o",
            str(out),
            "--communities",
            str(project_files["communities"]),
            "--pasture-type",
            "Bofedal",
            "--fenced-year",
            "2021",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 2 plots" in result.output
    assert "7.00 ha" in result.output  # 4 ha + 3 ha
    gdf = gpd.read_file(out, layer="plots")
    assert gdf.crs.to_epsg() == 32719
    assert dict(zip(gdf["plot_code"], gdf["community"], strict=True)) == {
        "N-1": "Alfa",
        "N-2": "Beta",
    }
    assert set(gdf["pasture_type"]) == {"bofedal"}
    assert digest(kml) == before
    # a second import adds a layer and keeps the first
    pts = tmp_path / "corrales.geojson"
    gpd.GeoDataFrame(
        {"name": ["K9"], "comunidad": ["Alfa"]},
        geometry=gpd.points_from_xy([E0 + 50], [N0 + 50]),
        crs=UTM,
    ).to_crs("EPSG:4326").to_file(pts, engine="pyogrio")
    result = runner.invoke(main, ["import", str(pts), "--as", "corrals", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(pyogrio.list_layers(out)[:, 0]) == ["corrals", "plots"]


def test_import_with_errors_writes_nothing(runner, tmp_path):
    src = tmp_path / "far.geojson"
    gpd.GeoDataFrame({"code": ["X"]}, geometry=[square(0, 0, 0.01, 0.01)], crs="EPSG:4326").to_file(
        src, engine="pyogrio"
    )
    out = tmp_path / "out.gpkg"
    result = runner.invoke(main, ["import", str(src), "--as", "plots", "-o", str(out)])
    assert result.exit_code == 1
    assert "outside-area" in result.output
    assert "missing-field" in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [src]


def test_import_refuses_to_overwrite_its_input(runner, tmp_path, plots):
    src = tmp_path / "p.gpkg"
    plots.to_file(src, engine="pyogrio")
    result = runner.invoke(main, ["import", str(src), "--as", "plots", "-o", str(src)])
    assert result.exit_code == 1
    assert "never modifies its inputs" in result.output


@pytest.mark.sample
def test_check_bundled_sample(runner):
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert "14 communities, 11 with corrals, 40 plots, 366.0 ha of plots" in result.output
    assert "22,000" in result.output
    assert "16,500" in result.output


def test_a_reader_that_leaves_the_pipe_is_not_an_error() -> None:
    # `pastures check --rules | head -0`: the reader closes the pipe before the output
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "pastures", "check", "--rules"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader leaves before the command starts writing
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert b"Internal error" not in err
    assert b"BrokenPipe" not in err
