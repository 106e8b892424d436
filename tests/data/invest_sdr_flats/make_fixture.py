"""Make invest_sdr_flats.npz: a DEM with pits and plateaus, and InVEST SDR 3.20.2's outputs.

Run once, outside the project's environment, with a Python that has natcap.invest 3.20.2
and pygeoprocessing 2.4.11 (built as in shared/oracles/INVEST_SDR.md)::

    INVEST_ENV/bin/python tests/data/invest_sdr_flats/make_fixture.py OUT_DIR

It writes the DEM, constant R and K rasters, one land-cover class (usle_c = usle_p = 1)
and a watershed covering the grid, runs ``natcap.invest.sdr.sdr.execute`` with D8 and
with MFD (threshold 60 pixels, l_max 25), and saves the DEM with InVEST's flow
accumulation, stream mask and USLE of each routing to ``OUT_DIR/invest_sdr_flats.npz``.
Nothing of pastures is used.
"""

import sys
from pathlib import Path

import numpy as np
from osgeo import gdal, ogr, osr

N = 48
CELL = 30.0
X0, Y0 = 450_000.0, 8_200_000.0
R, K = 1000.0, 0.03
THRESHOLD = 60
NODATA = -9999.0


def dem() -> np.ndarray:
    """Terraced slope (whole metres: many flats), dug pits, a mesa, a no-data hole."""
    rng = np.random.default_rng(22)
    r, c = np.mgrid[0:N, 0:N].astype(float)
    z = 3850.0 - 0.6 * r - 0.3 * c + 4.0 * np.sin(c / 7.0) + rng.normal(0, 0.7, (N, N))
    z = np.floor(z)  # whole metres: plateaus of equal height everywhere
    for pr, pc, depth, half in ((10, 12, 4, 3), (30, 35, 6, 4), (38, 10, 3, 2), (20, 40, 5, 1)):
        z[pr - half : pr + half + 1, pc - half : pc + half + 1] -= depth  # pits to fill
    z[22:28, 18:26] = z[22:28, 18:26].max() + 2  # a mesa: a plateau draining on all sides
    z[5:8, 30:33] = NODATA  # a hole inside the grid
    z[0, 0:4] = NODATA
    return z.astype(np.float32)


def write(path: Path, data: np.ndarray, dtype: int, nodata: float) -> None:
    ds = gdal.GetDriverByName("GTiff").Create(str(path), N, N, 1, dtype)
    ds.SetGeoTransform((X0, CELL, 0.0, Y0, 0.0, -CELL))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32719)
    ds.SetProjection(srs.ExportToWkt())
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(nodata)
    band.WriteArray(data)
    ds = None


def watershed(path: Path) -> None:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32719)
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = ds.CreateLayer("ws", srs, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("ws_id", ogr.OFTInteger))
    feature = ogr.Feature(layer.GetLayerDefn())
    feature.SetField("ws_id", 1)
    x1, y1 = X0 + N * CELL, Y0 - N * CELL
    wkt = f"POLYGON(({X0} {Y0},{x1} {Y0},{x1} {y1},{X0} {y1},{X0} {Y0}))"
    feature.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
    layer.CreateFeature(feature)
    ds = None


def read(path: Path) -> np.ndarray:
    ds = gdal.Open(str(path))
    band = ds.GetRasterBand(1)
    a = band.ReadAsArray().astype(np.float64)
    nd = band.GetNoDataValue()
    if nd is not None:
        a[a == nd] = np.nan
    return a


def main() -> None:
    from natcap.invest.sdr import sdr

    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    z = dem()
    valid = z != NODATA
    write(out / "dem.tif", z, gdal.GDT_Float32, NODATA)
    write(out / "r.tif", np.where(valid, R, -1).astype(np.float32), gdal.GDT_Float32, -1)
    write(out / "k.tif", np.where(valid, K, -1).astype(np.float32), gdal.GDT_Float32, -1)
    write(out / "lulc.tif", valid.astype(np.int32), gdal.GDT_Int32, 0)
    (out / "bio.csv").write_text("lucode,usle_c,usle_p\n1,1,1\n")
    watershed(out / "ws.gpkg")
    arrays = {"dem": np.where(valid, z, np.nan).astype(np.float32)}
    for method in ("d8", "mfd"):
        ws = out / f"invest_{method}"
        sdr.execute(
            {
                "workspace_dir": str(ws),
                "dem_path": str(out / "dem.tif"),
                "erosivity_path": str(out / "r.tif"),
                "erodibility_path": str(out / "k.tif"),
                "lulc_path": str(out / "lulc.tif"),
                "biophysical_table_path": str(out / "bio.csv"),
                "watersheds_path": str(out / "ws.gpkg"),
                "threshold_flow_accumulation": THRESHOLD,
                "k_param": 2,
                "sdr_max": 0.8,
                "ic_0_param": 0.5,
                "l_max": 25,
                "flow_dir_algorithm": method,
                "n_workers": -1,
            }
        )
        inter = ws / "intermediate_outputs"
        arrays[f"acc_{method}"] = read(inter / "flow_accumulation.tif").astype(np.float32)
        arrays[f"stream_{method}"] = np.nan_to_num(read(ws / "stream.tif"), nan=255).astype(
            np.uint8
        )
        arrays[f"usle_{method}"] = read(ws / "usle.tif").astype(np.float32)
        arrays[f"filled_{method}"] = read(inter / "pit_filled_dem.tif").astype(np.float32)
    np.savez_compressed(out / "invest_sdr_flats.npz", **arrays)


if __name__ == "__main__":
    main()
