"""Benchmark: size and build time of the field map at 2,000 plots, whole plan included.

The run folder is synthetic (nothing is downloaded; fixed seed): 100 communities of
20 plots (irregular octagons of 3-9 ha) on a 10 x 10 grid of 3 km cells near Juli
(EPSG:32719), a corral and a water point per community; 74 NDVI dates (as many as
the demo's) of every plot, trends, forage, risk; a rotation plan of 52 weeks in which
4 groups of each community (8 families each) move over its 20 plots every week; a
30 m DEM, true-colour composite, soil-loss and risk rasters over the 30 km square,
made of smooth random fields with pixel-scale noise (like terrain; white noise alone
would not compress and would overstate the images, real scenes have more texture
than these and may weigh more).

The same folder is mapped twice in the same run:

- ``baseline``: the web map as it was before the map carried the whole plan (one
  module, a popup of HTML and an SVG chart per plot, one week of the rotation), the
  file ``src/pastures/webmap.py`` of commit ``be59b3f`` read from git;
- ``now``: :func:`pastures.webmap.build_web_map` (compact data, whole plan).

It prints the size of each page, its parts (Leaflet, images, the map's data) and
the build time, and the ratios. Issue 20 asks for a map under 5 MB at 2,000 plots.

Run:  python benchmarks/bench_map.py [--plots 2000] [--keep FOLDER]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from affine import Affine
from shapely.geometry import Point, Polygon, box

from pastures import outputs as O
from pastures import schema as S
from pastures.io import write_layers

UTM = "EPSG:32719"
E0, N0 = 430_000.0, 8_170_000.0
CELL = 3000.0  # m, one community
BASELINE_COMMIT = "be59b3f"
PLAN_START = pd.Timestamp("2026-01-05")


def synthetic_run(folder: Path, n_plots: int, seed: int = 0) -> Path:
    """Write a run folder of `n_plots` plots (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    per = 20
    n_com = math.ceil(n_plots / per)
    side = math.ceil(math.sqrt(n_com))
    names, outlines, plots, codes, plot_com, corrals, water = [], [], [], [], [], [], []
    for c in range(n_com):
        x0, y0 = E0 + (c % side) * CELL, N0 + (c // side) * CELL
        name = f"Comunidad {c + 1:03d}"
        names.append(name)
        outlines.append(box(x0, y0, x0 + CELL, y0 + CELL))
        corrals.append(Point(x0 + 150, y0 + 150))
        water.append(Point(x0 + 300, y0 + 150))
        for k in range(min(per, n_plots - c * per)):
            cx, cy = x0 + 300 + (k % 5) * 550, y0 + 400 + (k // 5) * 650
            r = rng.uniform(100, 170, 8)
            angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
            plots.append(
                Polygon(zip(cx + r * np.cos(angles), cy + r * np.sin(angles), strict=True))
            )
            codes.append(f"C{c + 1:03d}-{k + 1:02d}")
            plot_com.append(name)
    plots_gdf = gpd.GeoDataFrame(
        {
            S.PLOT_CODE: codes,
            S.COMMUNITY: plot_com,
            S.PASTURE_TYPE: rng.choice(["bofedal", "pajonal", "tolar", "cesped"], len(codes)),
            S.FENCED_YEAR: 2020,
        },
        geometry=plots,
        crs=UTM,
    )
    plots_gdf[S.AREA_HA] = plots_gdf.area / 1e4
    write_layers(
        {
            S.COMMUNITIES: gpd.GeoDataFrame({S.COMMUNITY: names}, geometry=outlines, crs=UTM),
            S.PLOTS: plots_gdf,
            S.CORRALS: gpd.GeoDataFrame(
                {S.CORRAL_ID: [f"{n}-C1" for n in names], S.COMMUNITY: names},
                geometry=corrals,
                crs=UTM,
            ),
            S.WATER_POINTS: gpd.GeoDataFrame(
                {
                    S.WATER_ID: [f"{n}-W1" for n in names],
                    S.COMMUNITY: names,
                    S.WATER_KIND: "manantial",
                },
                geometry=water,
                crs=UTM,
            ),
        },
        folder / "layers.gpkg",
    )
    _tables(folder, codes, plot_com, rng)
    _rasters(folder, side, rng)
    return folder


def _tables(folder: Path, codes: list[str], plot_com: list[str], rng: np.random.Generator) -> None:
    n = len(codes)
    for sub in ("indices", "forage", "risk", "rotation"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    dates = pd.date_range("2019-01-10", periods=74, freq="25D")
    values = 0.3 + 0.1 * np.sin(np.arange(74) / 6)[np.newaxis] + rng.normal(0, 0.03, (n, 74))
    pd.DataFrame(
        {
            S.PLOT_CODE: np.repeat(codes, 74),
            S.DATE: np.tile(dates, n),
            S.INDEX: "ndvi",
            S.STATISTIC: S.STAT_MEAN,
            S.VALUE: values.ravel(),
        }
    ).to_parquet(folder / O.RUN_FILES["index_series"])
    pd.DataFrame(
        {
            S.PLOT_CODE: codes,
            S.TREND_PER_YEAR: rng.normal(0, 0.01, n),
            S.BROWNING: rng.random(n) < 0.1,
        }
    ).to_csv(folder / O.RUN_FILES["index_trends"], index=False)
    pd.DataFrame(
        {
            S.PLOT_CODE: codes,
            S.RANGE_CONDITION: rng.choice(list(S.RANGE_CONDITIONS), n),
            S.CAPACITY_UO: rng.uniform(2, 40, n).round(1),
        }
    ).to_csv(folder / O.RUN_FILES["forage_plots"], index=False)
    pd.DataFrame(
        {
            S.PLOT_CODE: codes,
            S.STOCKING_UO: rng.uniform(2, 60, n).round(1),
            S.PRESSURE_RATIO: rng.uniform(0.2, 4, n).round(2),
            S.SOIL_LOSS_T_HA_YR: rng.uniform(1, 80, n).round(1),
            S.RISK_CLASS: rng.choice(list(S.RISK_CLASSES), n),
            S.RISK_DRIVERS: "slope 12 %, 2.1x capacity, soil loss 35.0 t/ha/yr",
        }
    ).to_csv(folder / O.RUN_FILES["risk_plots"], index=False)
    # 4 groups a community, each a week on a plot, in turn over its 20 plots for 52 weeks
    rows, families = [], []
    by_com: dict[str, list[str]] = {}
    for code, com in zip(codes, plot_com, strict=True):
        by_com.setdefault(com, []).append(code)
    for com, its in by_com.items():
        for g in range(4):
            gid = f"{com[-3:]}-C1-ALP-{g + 1}"
            heads = [int(rng.integers(40, 150)), int(rng.integers(0, 20)), int(rng.integers(0, 30))]
            families += [
                {S.GROUP_ID: gid, S.COMMUNITY: com, S.CORRAL_ID: f"{com}-C1",
                 S.FAMILY_ID: f"{com[-3:]}-F{8 * g + f + 1:03d}", S.ALPACAS: heads[0] // 8,
                 S.LLAMAS: heads[1] // 8, S.SHEEP: heads[2] // 8}
                for f in range(8)
            ]  # fmt: skip
            for week in range(52):
                start = PLAN_START + pd.Timedelta(weeks=week)
                rows.append(
                    {S.GROUP_ID: gid, S.COMMUNITY: com,
                     S.LOCATION_ID: its[(5 * g + week) % len(its)], S.LOCATION_KIND: "plot",
                     S.START: start.date().isoformat(),
                     S.END: (start + pd.Timedelta(days=6)).date().isoformat(), S.DAYS: 7,
                     S.ALPACAS: heads[0], S.LLAMAS: heads[1], S.SHEEP: heads[2]}
                )  # fmt: skip
    pd.DataFrame(rows).to_csv(folder / O.RUN_FILES["schedule"], index=False)
    pd.DataFrame(families).to_csv(folder / O.RUN_FILES["groups"], index=False)


def _rasters(folder: Path, side: int, rng: np.random.Generator) -> None:
    n = int(side * CELL / 30)
    transform = Affine(30.0, 0.0, E0, 0.0, -30.0, N0 + side * CELL)
    yy, xx = np.mgrid[0:n, 0:n].astype("float32")

    def field(scales: tuple[float, ...]) -> np.ndarray:
        """A smooth random field: waves of the given lengths (pixels), random phases."""
        out = np.zeros((n, n), dtype="float32")
        for s in scales:
            a, b = rng.uniform(0, 2 * np.pi, 2)
            out += np.sin(xx / s + a) * np.cos(yy / (0.8 * s) + b)
        return out / len(scales)

    # hills and valleys with pixel-scale texture, as a 30 m DEM and what follows from it
    dem = 3900 + 250 * field((150, 60, 20)) + rng.normal(0, 2, (n, n))
    cover = field((80, 25, 8))
    rgb = np.stack([0.10 + 0.04 * cover, 0.12 + 0.05 * cover, 0.08 + 0.02 * cover])
    rgb = rgb + rng.normal(0, 0.006, rgb.shape)
    loss = np.exp(2.0 + 1.5 * field((40, 12, 5)) + rng.normal(0, 0.3, (n, n)))
    classes = np.digitize(loss, [10, 50, 200]).astype("uint8")
    for key, data, nodata in (
        ("dem", dem[np.newaxis].astype("float32"), None),
        ("true_colour", rgb.astype("float32"), float("nan")),
        ("soil_loss", loss[np.newaxis].astype("float32"), float("nan")),
        ("risk_class", classes[np.newaxis], 255),
    ):
        path = folder / O.RUN_FILES[key]
        profile = {"driver": "GTiff", "width": n, "height": n, "count": data.shape[0],
                   "dtype": str(data.dtype), "crs": UTM, "transform": transform,
                   "nodata": nodata, "compress": "deflate"}  # fmt: skip
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data)


def baseline_module() -> object:
    """The web map module of commit `BASELINE_COMMIT`, read from git into a module."""
    root = Path(__file__).resolve().parents[1]
    text = subprocess.run(
        ["git", "show", f"{BASELINE_COMMIT}:src/pastures/webmap.py"],
        cwd=root, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "webmap_baseline.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("webmap_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["webmap_baseline"] = module
    spec.loader.exec_module(module)
    return module


def parts(page: str) -> dict[str, float]:
    """MB of the page's parts: embedded images, the Leaflet script, the rest."""
    images = sum(len(m) for m in re.findall(r"data:image/\w+;base64,[A-Za-z0-9+/=]+", page))
    leaflet = len(re.search(r"<script>/\* @preserve.*?</script>", page, flags=re.S)[0])
    return {
        "total": len(page.encode()) / 1e6,
        "images": images / 1e6,
        "leaflet": leaflet / 1e6,
        "data+script": (len(page.encode()) - images - leaflet) / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plots", type=int, default=2000)
    parser.add_argument("--keep", type=Path, default=None, help="write the run and maps here")
    args = parser.parse_args()
    from pastures.webmap import build_web_map

    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        t0 = time.perf_counter()
        run_folder = synthetic_run(where / "run", args.plots)
        print(f"synthetic run of {args.plots} plots written in {time.perf_counter() - t0:.1f} s")
        run = O.read_run(run_folder)
        old = baseline_module()
        results = {}
        for name, build in (("baseline", old.build_web_map), ("now", build_web_map)):
            t0 = time.perf_counter()
            page = build(run, lang="es")
            seconds = time.perf_counter() - t0
            (where / f"map_{name}.html").write_text(page, encoding="utf-8")
            results[name] = (parts(page), seconds)
        heads = ("total MB", "images", "Leaflet", "data+script", "build s")
        print(f"{'':10} " + " ".join(f"{h:>{max(len(h), 7)}}" for h in heads))
        for name, (p, s) in results.items():
            print(
                f"{name:10} {p['total']:8.2f} {p['images']:7.2f} {p['leaflet']:7.2f} "
                f"{p['data+script']:11.2f} {s:7.1f}"
            )
        (b, bs), (n, ns) = results["baseline"], results["now"]
        print(
            f"now / baseline: size {n['total'] / b['total']:.2f}x, "
            f"data+script {n['data+script'] / b['data+script']:.2f}x, time {ns / bs:.2f}x; "
            f"under 5 MB: {'yes' if n['total'] < 5 else 'NO'}"
        )


if __name__ == "__main__":
    main()
