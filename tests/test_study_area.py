"""Every command works in its own study area (issue 21), on third-party data.

The LPIS parcels (eo-learn's test GeoPackage, France, Lambert-93) and real Sentinel-2
L2A bands (xarray-spatial's sample scene) are in different places, so the test lays
the real band values over the parcels' area in UTM 31N: real reflectances and real
parcels, in an area that is not Juli. The bands carry no BOA offset (their red band
goes down to 659 DN, below the 1,000 DN an offset would add), which their tags say.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

from conftest import realdata
from pastures import schema as S
from pastures.cli import main

LPIS = ("6_vector_parcels_shp_gpkg", "eolearn_import-gpkg-test_LPIS_parcels.gpkg")
AIN_BOUNDS = "5.0,45.76,5.09,45.82"
#: The xarray-spatial bands, by Sentinel-2 band name and pixel side (m).
BANDS = {
    "B02": ("blue", 10),
    "B03": ("green", 10),
    "B04": ("red", 10),
    "B08": ("nir", 10),
    "B11": ("swir1", 20),
    "B12": ("swir2", 20),
}
#: North-west corner (UTM 31N) of the bands laid over the parcels (E 657,095-661,052,
#: N 5,071,050-5,075,007): two by two mirrored copies of the 3 x 2 km scene cover them.
X0, Y1 = 657_000.0, 5_075_020.0

pytestmark = pytest.mark.realdata


def real_scene(folder: Path) -> Path:
    """A Sentinel-2 L2A scene folder of the real bands over the LPIS parcels (31N)."""
    scene = folder / "S2B_31TFL_20230714_0_L2A"
    scene.mkdir(parents=True)
    for band, (name, res) in BANDS.items():
        with rasterio.open(realdata("2_optical_rasters", f"xrspatial_s2_{name}_band.nc")) as src:
            values = src.read(1)
        top = np.concatenate([values, values[:, ::-1]], axis=1)
        tiled = np.rint(np.concatenate([top, top[::-1]], axis=0)).astype(np.uint16)
        with rasterio.open(
            scene / f"T31TFL_20230714T103629_{band}_{res}m.tif",
            "w",
            driver="GTiff",
            width=tiled.shape[1],
            height=tiled.shape[0],
            count=1,
            dtype="uint16",
            crs="EPSG:32631",
            transform=Affine(res, 0, X0, 0, -res, Y1),
            nodata=0,
        ) as dst:
            dst.write(tiled, 1)
            dst.update_tags(BOA_ADD_OFFSET="0", BOA_QUANTIFICATION_VALUE="10000")
    return scene


def invoke(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


@pytest.mark.slow
def test_indices_forage_and_risk_run_on_real_parcels_in_their_own_area(tmp_path: Path) -> None:
    parcels = str(realdata(*LPIS))
    scene = real_scene(tmp_path)
    # before: refused, 193 plots more than 25 km outside Juli and four missing fields
    idx = invoke(
        "indices",
        str(scene),
        "--plots",
        parcels,
        "--field",
        "plot_code=id_parcel",
        "--bounds",
        AIN_BOUNDS,
        "--index",
        "ndvi",
        "--out",
        str(tmp_path / "idx"),
    )
    assert idx.exit_code == 0, idx.output
    assert "1 of 1 date(s) usable" in idx.output
    series = pd.read_csv(tmp_path / "idx" / "index_series.csv")
    means = series[(series[S.STATISTIC] == "mean") & (series[S.INDEX] == "ndvi")]
    assert means[S.PLOT_CODE].nunique() == 193
    # NDVI of one plot, from the band files with rasterio alone: pixels whose centre is in it
    plots = gpd.read_file(parcels).to_crs("EPSG:32631")
    one = plots.iloc[0]
    from rasterio.features import geometry_mask

    with rasterio.open(next(scene.glob("*_B04_10m.tif"))) as red_src:
        red = red_src.read(1).astype(float)
        inside = ~geometry_mask([one.geometry], red.shape, red_src.transform)
    with rasterio.open(next(scene.glob("*_B08_10m.tif"))) as nir_src:
        nir = nir_src.read(1).astype(float)
    expected = np.mean(((nir - red) / (nir + red))[inside])
    got = means.loc[means[S.PLOT_CODE].astype(str) == str(one["id_parcel"]), S.VALUE]
    assert float(got.iloc[0]) == pytest.approx(expected, abs=0.02)  # edge rule: inner pixels

    forage = invoke(
        "forage",
        "--plots",
        parcels,
        "--field",
        "plot_code=id_parcel",
        "--default",
        "plots.community=Ain",
        "--default",
        "plots.pasture_type=pajonal",
        "--bounds",
        AIN_BOUNDS,
        "--indices",
        str(tmp_path / "idx" / "index_series.csv"),
        "--out",
        str(tmp_path / "forage"),
    )
    assert forage.exit_code == 0, forage.output
    table = pd.read_csv(tmp_path / "forage" / "forage_plots.csv")
    assert len(table) == 193

    risk = invoke(
        "risk",
        "--sample",  # no DEM of this area at hand: the illustrative terrain, moved here
        "--scenes",
        str(scene),  # C from the real bands' NDVI
        "--plots",
        parcels,
        "--field",
        "plot_code=id_parcel",
        "--bounds",
        AIN_BOUNDS,
        "--resolution",
        "60",
        "--out",
        str(tmp_path / "risk"),
    )
    assert risk.exit_code == 0, risk.output
    assert "SYNTHETIC" in risk.output
    ranked = pd.read_csv(tmp_path / "risk" / "risk_plots.csv")
    assert len(ranked) == 193
    with rasterio.open(tmp_path / "risk" / "c_factor.tif") as src:
        assert src.crs.to_epsg() == 32631  # the area's own UTM zone
        assert src.tags()["SYNTHETIC"] == "yes"
        assert src.tags()["SOURCE_NDVI"].startswith("median NDVI of 1 dates")


def test_risk_runs_on_invests_gura_sample_in_its_own_area(tmp_path: Path) -> None:
    gura = realdata("5_dem", "invest_sdr_gura", "DEM_gura.tif").parent
    result = invoke(
        "risk",
        "--dem",
        str(gura / "DEM_gura.tif"),
        "--plots",
        str(gura / "subwatersheds_gura.shp"),
        "--field",
        "plot_code=subws_id",
        "--c-raster",
        str(gura / "c_gura.tif"),
        "--boundary",
        str(gura / "watershed_gura.shp"),
        "--out",
        str(tmp_path / "gura"),
    )
    assert result.exit_code == 0, result.output
    assert "district of Juli" not in result.output
    assert "a Juli default" in result.output  # R from Juli's rain: said, not silent
    table = pd.read_csv(tmp_path / "gura" / "risk_plots.csv")
    assert sorted(table[S.PLOT_CODE].astype(str)) == ["1", "2", "3", "4", "5"]
    with rasterio.open(tmp_path / "gura" / "soil_loss_t_ha_yr.tif") as src:
        assert src.crs.to_epsg() == 32737  # the boundary's UTM zone (37S), found alone
    # each subwatershed's mean slope (%) against numpy's gradient of the DEM itself
    with rasterio.open(gura / "DEM_gura.tif") as src:
        z = src.read(1).astype(float)
        z[z == src.nodata] = np.nan
        transform = src.transform
    gy, gx = np.gradient(z, transform.a)
    slope = 100 * np.hypot(gx, gy)
    basins = gpd.read_file(gura / "subwatersheds_gura.shp")
    from rasterio.features import geometry_mask

    for _, basin in basins.iterrows():
        inside = ~geometry_mask([basin.geometry], z.shape, transform)
        mean = float(np.nanmean(slope[inside]))
        row = table[table[S.PLOT_CODE].astype(str) == str(basin["subws_id"])].iloc[0]
        assert (
            f"slope {round(mean)} %" in row[S.RISK_DRIVERS]
            or abs(float(row[S.SLOPE_PCT]) - mean) < 0.1 * mean
        )


@pytest.mark.slow
def test_a_real_project_without_a_dem_gets_no_synthetic_terrain(tmp_path: Path) -> None:
    parcels = realdata(*LPIS)
    scene = real_scene(tmp_path)
    project = tmp_path / "project.toml"
    project.write_text(
        f"""
[project]
name = "LPIS Ain"
illustrative = false
output = "run"
[study_area]
name = "Ain parcels"
bounds = [5.0, 45.76, 5.09, 45.82]
[layers]
plots = "{parcels.as_posix()}"
[layers.defaults.plots]
community = "Ain"
pasture_type = "pajonal"
[layers.fields.plots]
plot_code = "id_parcel"
[imagery]
source = "files"
scenes = ["{scene.as_posix()}"]
[dem]
source = "sample"
""",
        encoding="utf-8",
    )
    result = invoke("run", str(project))
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    assert not (run / "risk").exists()  # no soil loss, no risk class from made-up terrain
    assert not (run / "dem.tif").exists()
    assert "SYNTHETIC terrain, used only in projects marked illustrative" in result.output
    record = json.loads((run / "provenance.json").read_text())
    assert record["stages"]["erosion"]["status"] == "not needed"
    assert "illustrative" in record["stages"]["erosion"]["summary"]
    html = (run / "map.html").read_text(encoding="utf-8")
    assert "Sin riesgo de erosión: el MDE sintético de la muestra solo sirve" in html
    assert "Una sola fecha: sin anomalía de NDVI." in html
    assert "Sin plan de rotación" in html
    # forage without quadrat cuts is the pasture type's default: the popup says so
    assert "producción por defecto del tipo de pasto" in html
    assert "Valores de Juli usados por defecto (fíjelos para su área): " in html
    assert "forage.budget_month" in html
    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(run / "atlas" / "atlas.pdf").pages[2:3])
    assert "Sin riesgo de erosión" in " ".join(text.split())
    assert "Sin plan de rotación" in " ".join(text.split())
    assert "Valores de Juli usados por defecto" in " ".join(text.split())
