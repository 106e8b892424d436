"""Per-pixel agreement of ``pastures risk`` with InVEST SDR 3.20.2, on real and pitted DEMs.

InVEST runs in its own environment (``--invest-python``, built as in
shared/oracles/INVEST_SDR.md; it is not a dependency of pastures). Two DEMs:

gura
    The Gura sample (../shared/realdata/5_dem/invest_sdr_gura: DEM at 15 m,
    EPSG:32737, watershed). It has no R, K or land-cover rasters, so both sides get
    the same constant R and K and InVEST one land-cover class with usle_c = usle_p = 1.
pits
    The synthetic 10 m Juli DEM of pastures.sample_terrain (``--pits-size`` pixels a
    side), a third of whose area lies in filled depressions; its whole extent is the
    watershed. Same R, K, C and P.

For each DEM and routing (D8, MFD), InVEST SDR runs on the DEM, then our CLI runs on
the DEM InVEST routes (its ``masked_dem.tif``: the DEM clipped and masked to the
watersheds) with the same settings (``--c-factor 1 --erosivity R --erodibility K
--l-max 25 --stream-threshold T --streams invest``), one plot covering the watersheds.
Our soil loss (``soil_loss_t_ha_yr.tif``) is compared with InVEST's USLE per pixel:

* the share of pixels (with a value on both sides) within 1 % and 10 %, and the
  same on flat pixels (no lower neighbour in InVEST's pit-filled DEM);
* stream pixels both ways: InVEST's stream pixels empty in ours, and our empty
  pixels among InVEST's streams or no-data;
* the totals (t/yr).

    python benchmarks/invest_agreement.py --invest-python INVEST_ENV/bin/python \
        [--dems gura,pits] [--methods d8,mfd] [--work DIR]

Measured 2026-12-07 12:54-12:58 UTC at commit 17da0f4 (InVEST SDR 3.20.2 and
pygeoprocessing 2.4.11 built from source; threshold 1000, l_max 25, R 1000, K 0.03;
pits DEM 1000 x 1000, 28.5 % of it raised by filling depressions):

    gura D8:  100.000 % of 471,224 pixels within 1 %, flat pixels 100.000 % of 19,938;
              InVEST's 9,230 stream pixels all empty in ours, none other empty;
              totals 748,585 t/yr both.
    gura MFD: 100.000 % of 456,839 within 1 %, flat 100.000 % of 9,594; streams 23,615
              both ways; totals 793,280 t/yr both.
    pits D8:  100.000 % of 978,742 within 1 %, flat 100.000 % of 270,199; streams
              21,258 both ways; totals 269,163 t/yr both.
    pits MFD: 100.000 % of 921,665 within 1 %, flat 100.000 % of 218,210; streams
              78,335 both ways; totals 288,824 t/yr both.

The same figures, every one, again at f6015c5 (2026-12-07 19:46-19:50 UTC), after the
kernels were made faster.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

GURA = Path(__file__).resolve().parents[2] / "shared" / "realdata" / "5_dem" / "invest_sdr_gura"
R, K = 1000.0, 0.03
L_MAX = 25.0
THRESHOLD = 1000
PITS_CELL = 10.0

INVEST_RUN = """
import json, sys
from natcap.invest.sdr import sdr
sdr.execute(json.loads(sys.argv[1]))
"""


def write_like(template: Path, path: Path, data: np.ndarray, dtype: str, nodata: float) -> None:
    import rasterio

    with rasterio.open(template) as src:
        profile = src.profile | {"dtype": dtype, "nodata": nodata, "count": 1}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype(dtype), 1)


def pits_inputs(work: Path, n: int) -> tuple[Path, Path]:
    """The synthetic DEM with filled depressions, and a watershed covering it."""
    import geopandas as gpd
    import rasterio
    from shapely.geometry import box

    from pastures.sample_terrain import make_sample_dem

    dem_path, ws_path = work / "pits_dem.tif", work / "pits_ws.gpkg"
    if dem_path.exists():
        return dem_path, ws_path
    sample = make_sample_dem(resolution=PITS_CELL, shape=(n, n))
    z = sample.dem.elevation
    profile = {
        "driver": "GTiff",
        "width": n,
        "height": n,
        "count": 1,
        "dtype": "float32",
        "crs": sample.dem.crs,
        "transform": sample.dem.transform,
        "nodata": -9999.0,
    }
    with rasterio.open(dem_path, "w", **profile) as dst:
        dst.write(np.nan_to_num(z, nan=-9999.0), 1)
    gpd.GeoDataFrame(
        {"ws_id": [1]}, geometry=[box(*sample.dem.bounds)], crs=sample.dem.crs
    ).to_file(ws_path)
    return dem_path, ws_path


def run_invest(python: str, work: Path, dem: Path, watersheds: Path, method: str) -> Path:
    """InVEST SDR 3.20.2 with constant R, K and one land-cover class (C = P = 1)."""
    import rasterio

    workspace = work / f"invest_{method}"
    if (workspace / "usle.tif").exists():
        return workspace
    with rasterio.open(dem) as src:
        valid = ~src.read(1, masked=True).mask
    inputs = work / "inputs"
    inputs.mkdir(exist_ok=True)
    write_like(dem, inputs / "r.tif", np.where(valid, R, -1), "float32", -1)
    write_like(dem, inputs / "k.tif", np.where(valid, K, -1), "float32", -1)
    write_like(dem, inputs / "lulc.tif", np.where(valid, 1, 0), "int32", 0)
    (inputs / "bio.csv").write_text("lucode,usle_c,usle_p\n1,1,1\n", encoding="utf-8")
    args = {
        "workspace_dir": str(workspace),
        "dem_path": str(dem),
        "erosivity_path": str(inputs / "r.tif"),
        "erodibility_path": str(inputs / "k.tif"),
        "lulc_path": str(inputs / "lulc.tif"),
        "biophysical_table_path": str(inputs / "bio.csv"),
        "watersheds_path": str(watersheds),
        "threshold_flow_accumulation": THRESHOLD,
        "k_param": 2,
        "sdr_max": 0.8,
        "ic_0_param": 0.5,
        "l_max": L_MAX,
        "flow_dir_algorithm": method,
        "n_workers": -1,
    }
    subprocess.run([python, "-c", INVEST_RUN, json.dumps(args)], check=True)
    return workspace


def run_ours(workspace: Path, method: str, work: Path) -> Path:
    """Our CLI on the DEM InVEST routes (its masked DEM), one plot over the whole grid.

    ``pastures risk`` refuses plots far from Juli unless a project names another study
    area, so the DEM's pixels are written again with the grid moved to the Juli
    district (EPSG:32719, same pixel size): routing, slope and LS depend on the
    pixels and their size only.
    """
    import geopandas as gpd
    import rasterio
    from affine import Affine
    from shapely.geometry import box

    from pastures.sample_terrain import JULI_BOUNDS_UTM

    with rasterio.open(workspace / "intermediate_outputs" / "masked_dem.tif") as src:
        z = src.read(1, out_dtype="float32")
        z[src.read_masks(1) == 0] = -9999.0
        size = src.transform.a
    west, _, _, north = JULI_BOUNDS_UTM
    transform = Affine(size, 0, west, 0, -size, north)
    dem = work / f"routed_dem_{method}.tif"
    profile = {"driver": "GTiff", "width": z.shape[1], "height": z.shape[0], "count": 1}
    profile |= {"dtype": "float32", "crs": "EPSG:32719", "transform": transform}
    with rasterio.open(dem, "w", **profile, nodata=-9999.0) as dst:
        dst.write(z, 1)
    plots = work / "plots.geojson"
    extent = box(west, north - size * z.shape[0], west + size * z.shape[1], north)
    gpd.GeoDataFrame({"plot_code": ["ALL"]}, geometry=[extent], crs="EPSG:32719").to_file(plots)
    out = work / f"ours_{method}"
    cmd = [sys.executable, "-m", "pastures", "risk", "--dem", str(dem), "--plots", str(plots)]
    cmd += ["--c-factor", "1", "--erosivity", f"{R:g}", "--erodibility", f"{K:g}"]
    cmd += ["--l-max", f"{L_MAX:g}", "--flow", method, "--streams", "invest"]
    cmd += ["--stream-threshold", str(THRESHOLD), "--top", "0", "--out", str(out)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"pastures risk failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return out / "soil_loss_t_ha_yr.tif"


def read(path: Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as src:
        return np.ma.filled(src.read(1, masked=True).astype(np.float64), np.nan)


def flat_pixels(filled: np.ndarray) -> np.ndarray:
    """Pixels with data and no lower neighbour (routed by distance to a drain)."""
    nr, nc = filled.shape
    padded = np.pad(filled, 1, constant_values=np.nan)
    lower = np.zeros(filled.shape, bool)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:
                with np.errstate(invalid="ignore"):
                    lower |= padded[1 + dr : 1 + dr + nr, 1 + dc : 1 + dc + nc] < filled
    return np.isfinite(filled) & ~lower


def shares(ours: np.ndarray, theirs: np.ndarray) -> dict:
    ok = np.isfinite(ours) & np.isfinite(theirs)
    diff = np.abs(ours[ok] - theirs[ok])
    scale = np.abs(theirs[ok])
    return {
        "pixels": int(ok.sum()),
        "within_1pct": float(np.mean(diff <= 0.01 * scale)),
        "within_10pct": float(np.mean(diff <= 0.10 * scale)),
    }


def compare(workspace: Path, ours_path: Path, method: str) -> dict:
    inter = workspace / "intermediate_outputs"
    theirs = read(workspace / "usle.tif")
    ours = read(ours_path)
    stream = read(workspace / "stream.tif") == 1
    filled = read(inter / "pit_filled_dem.tif")
    masked = read(inter / "masked_dem.tif")
    flats = flat_pixels(filled)
    with np.errstate(invalid="ignore"):
        raised = np.isfinite(masked) & (filled > masked)
    cell = abs(float(_pixel_size(workspace / "usle.tif")))
    ha = cell * cell / 10_000
    empty_ours = np.isnan(ours)
    return {
        "method": method,
        "all": shares(ours, theirs),
        "flat": shares(np.where(flats, ours, np.nan), theirs) | {"flat_pixels": int(flats.sum())},
        "filled_share": float(raised.sum() / max(np.isfinite(masked).sum(), 1)),
        "invest_streams": int(stream.sum()),
        "invest_streams_empty_in_ours": int((stream & empty_ours).sum()),
        "ours_empty_on_invest_values": int((empty_ours & np.isfinite(theirs)).sum()),
        "total_invest_t_yr": float(np.nansum(theirs) * ha),
        "total_ours_t_yr": float(np.nansum(ours) * ha),
    }


def _pixel_size(path: Path) -> float:
    import rasterio

    with rasterio.open(path) as src:
        return src.transform.a


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invest-python", required=True, help="Python with natcap.invest 3.20.2")
    parser.add_argument("--work", type=Path, default=None, help="folder for the workspaces")
    parser.add_argument("--dems", default="gura,pits")
    parser.add_argument("--methods", default="d8,mfd")
    parser.add_argument("--pits-size", type=int, default=1000, help="pixels a side")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="invest_agreement_"))
    print(f"load average at the start: {os.getloadavg()}")
    for name in args.dems.split(","):
        folder = work / name
        folder.mkdir(parents=True, exist_ok=True)
        if name == "gura":
            if not (GURA / "DEM_gura.tif").exists():
                print(f"Gura sample absent: {GURA}")
                continue
            dem, watersheds = GURA / "DEM_gura.tif", GURA / "watershed_gura.shp"
        else:
            dem, watersheds = pits_inputs(folder, args.pits_size)
        for method in args.methods.split(","):
            workspace = run_invest(args.invest_python, folder, dem, watersheds, method)
            result = compare(workspace, run_ours(workspace, method, folder), method)
            print(json.dumps({"dem": name} | result, indent=1))
            a, f = result["all"], result["flat"]
            print(
                f"{name} {method}: within 1 %: {a['within_1pct']:.3%} of {a['pixels']:,} pixels, "
                f"flat pixels {f['within_1pct']:.3%} of {f['pixels']:,}; InVEST streams "
                f"{result['invest_streams']:,}, empty in ours "
                f"{result['invest_streams_empty_in_ours']:,}; ours empty where InVEST has a "
                f"value: {result['ours_empty_on_invest_values']:,}; totals InVEST "
                f"{result['total_invest_t_yr']:,.0f} t/yr, ours {result['total_ours_t_yr']:,.0f}",
                flush=True,
            )
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
