"""``pastures risk`` through the real entry point."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from shapely.geometry import Point, box

from imagery_helpers import write_raster
from pastures import schema as S
from pastures.cli import main
from pastures.cli.risk import OUTPUT_FILES, RISK_LAYER

X0, Y0, D = 450_000.0, 8_200_000.0, 10.0


def write_dem(path: Path, *, crs: str | None = "EPSG:32719", slope_pct: float = 12.0) -> Path:
    z = 3900.0 + np.tile(np.arange(40) * D * slope_pct / 100.0, (40, 1)).astype(np.float32)
    z[20, 20] = -9999  # a hole
    profile = {
        "driver": "GTiff",
        "width": 40,
        "height": 40,
        "count": 1,
        "dtype": "float32",
        "transform": Affine(D, 0, X0, 0, -D, Y0),
        "nodata": -9999,
    }
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(z, 1)
    return path


def write_plots(path: Path, offset_m: float = 0.0) -> Path:
    def sq(c0: float, r0: float, n: float) -> box:
        return box(
            X0 + offset_m + c0 * D, Y0 - (r0 + n) * D, X0 + offset_m + (c0 + n) * D, Y0 - r0 * D
        )

    gdf = gpd.GeoDataFrame(
        {
            S.PLOT_CODE: ["PAS-01", "PAS-02", "CAL-01"],
            S.COMMUNITY: ["Pasiri", "Pasiri", "Callacami"],
            S.PASTURE_TYPE: ["pajonal", "bofedal", "pajonal"],
            S.TERRACES: [False, False, True],
        },
        geometry=[sq(2, 2, 10), sq(15, 15, 10), sq(28, 2, 10)],
        crs=S.WORKING_CRS,
    ).to_crs(S.LONLAT_CRS)
    gdf.to_file(path, driver="GeoJSON")
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    stocking = tmp_path / "carga.csv"
    pd.DataFrame(
        {
            S.PLOT_CODE: ["PAS-01", "PAS-02", "CAL-01"],
            S.STOCKING_UO: [6, 2, 1],
            S.CAPACITY_UO: [2, 2, 2],
        }
    ).to_csv(stocking, index=False)
    corrals = tmp_path / "corrales.geojson"
    gpd.GeoDataFrame(
        {S.CORRAL_ID: ["PAS-C1"], S.COMMUNITY: ["Pasiri"]},
        geometry=[Point(X0 + 30, Y0 - 30)],
        crs=S.WORKING_CRS,
    ).to_crs(S.LONLAT_CRS).to_file(corrals, driver="GeoJSON")
    return {
        "dem": write_dem(tmp_path / "dem.tif"),
        "plots": write_plots(tmp_path / "parcelas.geojson"),
        "stocking": stocking,
        "corrals": corrals,
    }


def run(*args: str) -> object:
    return CliRunner().invoke(main, ["risk", *args], catch_exceptions=False)


def test_risk_with_stocking_and_piosphere(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "riesgo"
    result = run(
        "--dem",
        str(files["dem"]),
        "--plots",
        str(files["plots"]),
        "--c-factor",
        "0.2",
        "--stocking",
        str(files["stocking"]),
        "--corrals",
        str(files["corrals"]),
        "--piosphere-decay",
        "100",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    for name in OUTPUT_FILES.values():
        assert (out / name).exists(), name
    table = pd.read_csv(out / OUTPUT_FILES["csv"])
    assert list(table.columns) == list(S.RISK_COLUMNS)
    assert table[S.RISK_RANK].tolist() == [1, 2, 3]
    assert table.iloc[0][S.PLOT_CODE] == "PAS-01"  # 3x capacity
    assert "3.0x capacity (piosphere decay 100 m)" in table.iloc[0][S.RISK_DRIVERS]
    assert table.set_index(S.PLOT_CODE).loc["CAL-01", S.P_FACTOR] == pytest.approx(0.2)
    assert (table[S.PIOSPHERE_DECAY_M] == 100).all()
    gpkg = gpd.read_file(out / OUTPUT_FILES["gpkg"], layer=RISK_LAYER)
    assert len(gpkg) == 3
    assert gpkg.crs.to_epsg() == 32719
    with rasterio.open(out / OUTPUT_FILES["soil_loss"]) as src:
        a = src.read(1)
        assert src.crs.to_epsg() == 32719
        assert src.tags()["PIOSPHERE_DECAY_M"] == "100"
        assert "t/ha/yr" in src.descriptions[0]
    assert np.isnan(a[20, 20])  # the DEM hole is carried as no-data
    with rasterio.open(out / OUTPUT_FILES["risk"]) as src:
        assert src.nodata == 255
        assert src.read(1)[20, 20] == 255
    assert "Soil loss of all plots" in result.output


def test_risk_on_the_synthetic_sample(tmp_path: Path) -> None:
    out = tmp_path / "sample"
    result = run("--sample", "--resolution", "300", "--out", str(out), "--top", "3")
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output
    table = pd.read_csv(out / OUTPUT_FILES["csv"])
    assert len(table) > 10
    assert table[S.COVER_PCT].notna().all()
    with rasterio.open(out / OUTPUT_FILES["ls"]) as src:
        assert src.tags()["SYNTHETIC"] == "yes"


def test_dem_without_crs_is_a_clear_error(files: dict[str, Path], tmp_path: Path) -> None:
    dem = write_dem(tmp_path / "sin_crs.tif", crs=None)
    result = run(
        "--dem",
        str(dem),
        "--plots",
        str(files["plots"]),
        "--c-factor",
        "0.2",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 1
    assert "no coordinate reference system" in result.output
    assert "Traceback" not in result.output


def test_cover_is_required(files: dict[str, Path], tmp_path: Path) -> None:
    result = run(
        "--dem", str(files["dem"]), "--plots", str(files["plots"]), "--out", str(tmp_path / "o")
    )
    assert result.exit_code == 1
    assert "--ndvi" in result.output


def test_plots_off_the_dem(files: dict[str, Path], tmp_path: Path) -> None:
    far = write_plots(tmp_path / "lejos.geojson", offset_m=20_000)
    result = run(
        "--dem",
        str(files["dem"]),
        "--plots",
        str(far),
        "--c-factor",
        "0.2",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 1
    assert "No plot overlaps valid DEM data" in result.output


def test_bad_stocking_table(files: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "mala.csv"
    bad.write_text("plot_code,stocking_uo,capacity_uo\nPAS-01,muchos,2\n", encoding="utf-8")
    result = run(
        "--dem",
        str(files["dem"]),
        "--plots",
        str(files["plots"]),
        "--c-factor",
        "0.2",
        "--stocking",
        str(bad),
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 1
    assert "stocking_uo 'muchos' is not a number" in result.output


def test_dem_and_plots_are_required(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["risk", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "--dem and --plots" in result.output


def test_erodibility_from_soil_polygons(files: dict[str, Path], tmp_path: Path) -> None:
    soils = tmp_path / "suelos.geojson"
    gpd.GeoDataFrame(
        {"k_si": [0.01, 0.04]},
        geometry=[box(X0, Y0 - 400, X0 + 200, Y0), box(X0 + 200, Y0 - 400, X0 + 400, Y0)],
        crs=S.WORKING_CRS,
    ).to_file(soils, driver="GeoJSON")
    out = tmp_path / "k"
    result = run(
        "--dem",
        str(files["dem"]),
        "--plots",
        str(files["plots"]),
        "--c-factor",
        "0.2",
        "--soils",
        str(soils),
        "--soils-k-column",
        "k_si",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    plain = tmp_path / "plain"
    base = run(
        "--dem",
        str(files["dem"]),
        "--plots",
        str(files["plots"]),
        "--c-factor",
        "0.2",
        "--erodibility",
        "0.03",
        "--out",
        str(plain),
    )
    assert base.exit_code == 0, base.output
    with_k = pd.read_csv(out / OUTPUT_FILES["csv"]).set_index(S.PLOT_CODE)
    without = pd.read_csv(plain / OUTPUT_FILES["csv"]).set_index(S.PLOT_CODE)
    ratio = with_k[S.SOIL_LOSS_T_HA_YR] / without[S.SOIL_LOSS_T_HA_YR]
    # PAS-01 (columns 2-11) lies on the K 0.01 soil, CAL-01 (columns 28-37) on the K 0.04 one.
    # The CSV keeps 2 decimals of t/ha/yr.
    assert ratio["PAS-01"] == pytest.approx(0.01 / 0.03, rel=5e-3)
    assert ratio["CAL-01"] == pytest.approx(0.04 / 0.03, rel=5e-3)
    assert "ERODIBILITY_K" in rasterio.open(out / OUTPUT_FILES["soil_loss"]).tags()


def test_settings_file_and_command_line_precedence(files: dict[str, Path], tmp_path: Path) -> None:
    params = tmp_path / "riesgo.toml"
    params.write_text('[rusle]\nerodibility = 0.01\nflow_method = "mfd"\n', encoding="utf-8")
    common = ["--dem", str(files["dem"]), "--plots", str(files["plots"]), "--c-factor", "0.2"]
    a = tmp_path / "a"
    b = tmp_path / "b"
    assert run(*common, "--params", str(params), "--out", str(a)).exit_code == 0
    assert (
        run(*common, "--params", str(params), "--erodibility", "0.02", "--out", str(b)).exit_code
        == 0
    )
    with rasterio.open(a / OUTPUT_FILES["soil_loss"]) as src:
        tags = src.tags()
        assert tags["ERODIBILITY_K"].startswith("0.01 ")
        assert tags["FLOW_METHOD"] == "mfd"
    ta = pd.read_csv(a / OUTPUT_FILES["csv"]).set_index(S.PLOT_CODE)
    tb = pd.read_csv(b / OUTPUT_FILES["csv"]).set_index(S.PLOT_CODE)
    # The CSV keeps 2 decimals of t/ha/yr.
    np.testing.assert_allclose(tb[S.SOIL_LOSS_T_HA_YR] / ta[S.SOIL_LOSS_T_HA_YR], 2.0, rtol=5e-3)


def test_spanish_output(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "es"
    result = run(
        "--dem",
        str(files["dem"]),
        "--plots",
        str(files["plots"]),
        "--c-factor",
        "0.2",
        "--stocking",
        str(files["stocking"]),
        "--es",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "--es/--spanish is deprecated" in result.output
    assert "veces la capacidad" in result.output  # the drivers: the outputs' words
    # the CSV keeps its column names and class codes; its words are Spanish
    table = pd.read_csv(out / OUTPUT_FILES["csv"])
    assert list(table.columns) == list(S.RISK_COLUMNS)
    assert set(table[S.RISK_CLASS]) <= set(S.RISK_CLASSES)
    assert table.iloc[0][S.RISK_ACTION].startswith("descansar")


def test_spanish_command_line_gives_spanish_outputs(files: dict[str, Path], tmp_path: Path):
    """Without a project, the outputs speak the command line's language (--lang)."""
    out = tmp_path / "es"
    args = ["--dem", str(files["dem"]), "--plots", str(files["plots"]), "--c-factor", "0.2"]
    result = CliRunner().invoke(main, ["--lang", "es", "risk", *args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "parcelas:" in result.output
    assert "Pérdida de suelo de todas las parcelas" in result.output
    table = pd.read_csv(out / OUTPUT_FILES["csv"])
    assert table[S.RISK_DRIVERS].str.contains("pendiente").all()
    gpkg = gpd.read_file(out / OUTPUT_FILES["gpkg"], layer=RISK_LAYER)
    assert set(gpkg[S.RISK_CLASS]) <= set(S.RISK_CLASSES)  # GIS layer keeps the codes


def test_c_as_a_raster_and_streams_left_empty(files: dict[str, Path], tmp_path: Path) -> None:
    # C raster: 0.1 on the west half, 0.3 on the east half of the 40 x 40 DEM. Soil loss
    # is linear in C, so with the same terrain it equals the --c-factor 0.1 run on the
    # west half and three times it on the east half.
    c = np.full((40, 40), 0.1, dtype=np.float32)
    c[:, 20:] = 0.3
    c_path = tmp_path / "c.tif"
    with rasterio.open(
        c_path,
        "w",
        driver="GTiff",
        width=40,
        height=40,
        count=1,
        dtype="float32",
        crs="EPSG:32719",
        transform=Affine(D, 0, X0, 0, -D, Y0),
        nodata=-1,
    ) as dst:
        dst.write(c, 1)
    base = ["--dem", str(files["dem"]), "--plots", str(files["plots"])]
    flat = run(*base, "--c-factor", "0.1", "--out", str(tmp_path / "flat"))
    assert flat.exit_code == 0, flat.output
    raster = run(*base, "--c-raster", str(c_path), "--out", str(tmp_path / "raster"))
    assert raster.exit_code == 0, raster.output
    with rasterio.open(tmp_path / "flat" / OUTPUT_FILES["soil_loss"]) as src:
        a_flat = src.read(1)
    with rasterio.open(tmp_path / "raster" / OUTPUT_FILES["soil_loss"]) as src:
        a_raster = src.read(1)
        assert src.tags()["C_FACTOR"] == "raster c.tif"
        assert src.tags()["SOIL_LOSS_ON_STREAMS"].startswith("computed on stream pixels")
    np.testing.assert_allclose(a_raster[:, :20], a_flat[:, :20], rtol=1e-6)
    np.testing.assert_allclose(a_raster[:, 20:], 3 * a_flat[:, 20:], rtol=1e-6)
    both = run(*base, "--c-raster", str(c_path), "--c-factor", "0.2", "--out", str(tmp_path / "x"))
    assert both.exit_code == 2
    assert "Give one source of C" in both.output
    # Streams empty as InVEST: the plane drains west along rows, accumulation of column c
    # is 40 - c, so threshold 30 makes columns 0-9 streams. Rows 19-21 are left out: the
    # hole at (20, 20) sends row 20's flow into rows 19 and 21.
    empty = run(
        *base,
        "--c-factor",
        "0.1",
        "--streams",
        "empty",
        "--stream-threshold",
        "30",
        "--out",
        str(tmp_path / "empty"),
    )
    assert empty.exit_code == 0, empty.output
    assert "left empty on streams (D8 flow accumulation > 30 pixels)" in empty.output
    with rasterio.open(tmp_path / "empty" / OUTPUT_FILES["soil_loss"]) as src:
        a_empty = src.read(1)
        assert "as InVEST SDR" in src.tags()["SOIL_LOSS_ON_STREAMS"]
    rows = [r for r in range(40) if r not in (19, 20, 21)]
    assert np.isnan(a_empty[rows, :10]).all()
    np.testing.assert_allclose(a_empty[rows, 10:], a_flat[rows, 10:], rtol=1e-6)


def test_plots_without_community_or_pasture_type_are_assessed(tmp_path: Path) -> None:
    # Before: four errors asking for --community and --pasture-type, options of
    # `pastures import` only. Risk does not need them: a warning says how to add them.
    dem = write_dem(tmp_path / "dem.tif")
    plots = tmp_path / "plots.geojson"
    gpd.GeoDataFrame(
        {"name": ["P1"]}, geometry=[box(X0 + 20, Y0 - 120, X0 + 120, Y0 - 20)], crs=S.WORKING_CRS
    ).to_file(plots)
    result = run(
        "--dem", str(dem), "--plots", str(plots), "--c-factor", "0.2", "--out", str(tmp_path / "o")
    )
    assert result.exit_code == 0, result.output
    assert "`pastures risk` does not use it" in result.output
    assert "--default community=VALUE" in result.output
    assert "give a default on the command line" not in result.output
    table = pd.read_csv(tmp_path / "o" / OUTPUT_FILES["csv"])
    assert table[S.PLOT_CODE].tolist() == ["P1"]


@pytest.mark.parametrize("flow", ["d8", "mfd"])
def test_streams_invest_reproduces_invest_usle_on_pits_and_flats(tmp_path: Path, flow: str) -> None:
    # InVEST SDR 3.20.2's USLE on a DEM with filled pits and plateaus (R 1000, K 0.03,
    # C = P = 1, threshold 60, l_max 25; tests/data/invest_sdr_flats): with the same
    # settings and --streams invest, our soil loss is InVEST's on every pixel, and empty
    # exactly on InVEST's stream pixels.
    fixture = Path(__file__).parent / "data" / "invest_sdr_flats" / "invest_sdr_flats.npz"
    with np.load(fixture) as data:
        dem, usle, stream = data["dem"], data[f"usle_{flow}"], data[f"stream_{flow}"]
    cell, x0, y0 = 30.0, 450_000.0, 8_200_000.0
    dem_path = write_raster(
        tmp_path / "dem.tif",
        np.nan_to_num(dem, nan=-9999).astype(np.float32),
        Affine(cell, 0, x0, 0, -cell, y0),
        crs="EPSG:32719",
        nodata=-9999,
    )
    plots = tmp_path / "plots.geojson"
    side = cell * dem.shape[0]
    gpd.GeoDataFrame(
        {S.PLOT_CODE: ["ALL"]}, geometry=[box(x0, y0 - side, x0 + side, y0)], crs=S.WORKING_CRS
    ).to_file(plots)
    out = tmp_path / "out"
    result = run(
        "--dem", str(dem_path), "--plots", str(plots), "--c-factor", "1", "--erosivity", "1000",
        "--erodibility", "0.03", "--l-max", "25", "--flow", flow, "--streams", "invest",
        "--stream-threshold", "60", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with rasterio.open(out / OUTPUT_FILES["soil_loss"]) as src:
        ours = src.read(1).astype(np.float64)
        note = src.tags()["SOIL_LOSS_ON_STREAMS"]
    assert ("extract_streams_mfd" in note) == (flow == "mfd")
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(usle))  # streams and no data
    assert (np.isnan(ours) == ((stream == 1) | np.isnan(dem))).all()
    hill = np.isfinite(usle)
    np.testing.assert_allclose(ours[hill], usle[hill], rtol=1e-3)
