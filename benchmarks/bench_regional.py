"""Benchmark: regional index series on Dask distributed vs the single-process path.

Synthetic data at full Sentinel-2 tile size, built once into ``../benchdata/regional``
beside the clone (outside the repository; pass ``--data`` to put it elsewhere) and reused:

- one MGRS tile (19KDC's footprint, EPSG:32719), 10980 x 10980 pixels at 10 m;
- ``--dates`` dates (default 6), each a scene folder as Earth Search delivers it
  (``S2B_19KDC_<date>_0_L2A/B04.tif, B08.tif, SCL.tif``): B04 and B08 as 10 m
  DEFLATE COGs of L2A digital numbers (DN = reflectance x 10000 + 1000, the
  ``BOA_ADD_OFFSET`` of baselines >= 04.00, declared in the GeoTIFF tags), SCL as a
  20 m COG with cloud (class 9), cloud shadow (3) and thin cirrus (10) patches;
- ``--plots`` plots (default 5,000): irregular 14-gon polygons of 2-25 ha, in
  communities of 20 plots on a jittered 600 m lattice (as fenced plots cluster
  around a community), communities spread over the whole tile.

Then, in the same run and on the same data, the NDVI, SAVI and MSAVI2 series
(mean, median, std, p10, p90, count, valid share per plot and date; ``exact``
edge rule by default) are computed by:

1. the single-process path, :func:`pastures.zonal.index_series` (baseline);
2. :func:`pastures.regional.regional_index_series` on a LocalCluster of 1 worker
   process (1 thread);
3. the same on 2 worker processes.

Each runs ``--repeat`` times (default 2; the best counts, as the machine is shared; the
dask runs reuse their cluster, whose start-up is timed apart). The three tables must
be identical (checked with ``pandas.testing``). Printed:
wall time, throughput in pixels per second (scene pixels: tile area x dates; and
window pixels actually read), ratio to the baseline, speed-up 1 -> 2 workers, peak
resident memory of each worker process (``ru_maxrss``) and of the baseline process,
the load average, and an extrapolation to Puno's tiles for a year.

Run:  python benchmarks/bench_regional.py [--dates 6] [--plots 5000] [--rule exact]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.shutil
import shapely
from affine import Affine
from rasterio.windows import Window

from pastures.sample_imagery import CLOUD_BY_MONTH

SIZE = 10_980  # pixels at 10 m: one Sentinel-2 tile
RES = 10.0
X0, Y0 = 399_960.0, 8_300_020.0  # upper-left corner of 19KDC
TRANSFORM = Affine(RES, 0, X0, 0, -RES, Y0)
CRS = "EPSG:32719"
INDICES = ("ndvi", "savi", "msavi2")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "benchdata" / "regional"  # beside the clone
STRIP = 1098  # rows generated at a time (bounded memory while writing)
FIRST_DATE = dt.date(2024, 1, 5)
#: Puno: MGRS tiles over its alpaca rangelands (see the extrapolation note printed).
PUNO_TILES = 14
REVISIT_DAYS = 5


# --- synthetic data --------------------------------------------------------------------


def make_plots(n: int, rng: np.random.Generator) -> gpd.GeoDataFrame:
    per_community = 20
    n_comm = int(np.ceil(n / per_community))
    margin = 3_000.0
    centres = np.c_[
        rng.uniform(X0 + margin, X0 + SIZE * RES - margin, n_comm),
        rng.uniform(Y0 - SIZE * RES + margin, Y0 - margin, n_comm),
    ]
    geoms = []
    lattice = [(i, j) for i in range(5) for j in range(4)]
    for cx, cy in centres:
        for i, j in lattice:
            if len(geoms) == n:
                break
            area = np.exp(rng.uniform(np.log(2e4), np.log(25e4)))  # 2-25 ha
            radius = np.sqrt(area / np.pi)
            px = cx + (i - 2) * 600.0 + rng.uniform(-20, 20)
            py = cy + (j - 1.5) * 600.0 + rng.uniform(-20, 20)
            angles = np.sort(rng.uniform(0, 2 * np.pi, 14))
            radii = radius * rng.uniform(0.8, 1.15, 14)
            poly = shapely.Polygon(np.c_[px + radii * np.cos(angles), py + radii * np.sin(angles)])
            geoms.append(poly if poly.is_valid else shapely.make_valid(poly).convex_hull)
    return gpd.GeoDataFrame(
        {"plot_code": [f"P{k:05d}" for k in range(len(geoms))]}, geometry=geoms, crs=CRS
    )


def _write_cog(path: Path, shape: tuple[int, int], transform: Affine, fill, *, dtype, tags):
    """Write strips into a tiled GeoTIFF, then copy it to a DEFLATE COG (GDAL's COG driver)."""
    tmp = path.with_suffix(".tmp.tif")
    profile = {
        "driver": "GTiff",
        "width": shape[1],
        "height": shape[0],
        "count": 1,
        "dtype": dtype,
        "crs": CRS,
        "transform": transform,
        "nodata": 0,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
    }
    with rasterio.open(tmp, "w", **profile) as dst:
        step = STRIP if shape[0] == SIZE else STRIP // 2
        for r0 in range(0, shape[0], step):
            rows = min(step, shape[0] - r0)
            dst.write(fill(r0, rows), 1, window=Window(0, r0, shape[1], rows))
        dst.update_tags(**tags)
    rasterio.shutil.copy(
        tmp,
        path,
        driver="COG",
        compress="DEFLATE",
        predictor=2,
        blocksize=512,
        num_threads="ALL_CPUS",
    )
    tmp.unlink()


def generate(data: Path, n_dates: int, n_plots: int, seed: int = 14) -> None:
    rng = np.random.default_rng(seed)
    data.mkdir(parents=True, exist_ok=True)
    plots_path = data / f"plots_{n_plots}.gpkg"
    if not plots_path.exists():
        make_plots(n_plots, rng).to_file(plots_path, layer="plots", driver="GPKG")
    coarse_n = SIZE // 183 + 1  # 1.83 km cells of a smooth NDVI field
    base = rng.uniform(0.15, 0.6, (coarse_n, coarse_n)).astype(np.float32)
    tags = {
        "BOA_ADD_OFFSET": "-1000",
        "BOA_QUANTIFICATION_VALUE": "10000",
        "PASTURES_SYNTHETIC": "synthetic benchmark data, not an observation",
    }
    for d in range(n_dates):
        day = FIRST_DATE + dt.timedelta(days=REVISIT_DAYS * d)
        folder = data / f"S2B_19KDC_{day:%Y%m%d}_0_L2A"
        if (folder / "SCL.tif").exists():
            continue
        folder.mkdir(exist_ok=True)
        season = np.float32(0.08 * np.cos(2 * np.pi * d / 12))
        seeds = rng.integers(0, 2**32, 3)

        def ndvi_strip(r0: int, rows: int, seeds=seeds, season=season) -> np.ndarray:
            g = np.random.default_rng([int(seeds[0]), r0])
            cr = np.arange(r0, r0 + rows) // 183
            smooth = np.repeat(base[cr], 183, axis=1)[:, :SIZE]
            noise = g.standard_normal((rows, SIZE), dtype=np.float32) * np.float32(0.04)
            return np.clip(smooth + season + noise, 0.02, 0.9)

        def red_strip(r0: int, rows: int, seeds=seeds) -> np.ndarray:
            g = np.random.default_rng([int(seeds[1]), r0])
            red = np.float32(0.08) + g.random((rows, SIZE), dtype=np.float32) * np.float32(0.04)
            return np.rint(red * 10000 + 1000).astype(np.uint16)

        def nir_strip(r0: int, rows: int) -> np.ndarray:
            red = (red_strip(r0, rows).astype(np.float32) - 1000) / 10000
            ndvi = ndvi_strip(r0, rows)
            nir = red * (1 + ndvi) / (1 - ndvi)
            return np.rint(np.clip(nir, 0, 1.5) * 10000 + 1000).astype(np.uint16)

        cloud_centres = rng.uniform(0, SIZE // 2, (12, 2))
        cloud_radius = rng.uniform(200, 900, 12)

        def scl_strip(r0: int, rows: int, cc=cloud_centres, cr=cloud_radius) -> np.ndarray:
            half = SIZE // 2
            yy, xx = np.mgrid[r0 : r0 + rows, 0:half]
            scl = np.full((rows, half), 4, np.uint8)  # vegetation
            for (cy, cx), rad in zip(cc, cr, strict=True):
                dist = np.hypot(yy - cy, xx - cx)
                scl[dist < rad * 1.15] = 10  # thin cirrus rim
                scl[dist < rad] = 9  # cloud
                shadow = np.hypot(yy - cy - rad * 0.6, xx - cx - rad * 0.4) < rad * 0.5
                scl[shadow & (scl == 4)] = 3
            return scl

        _write_cog(
            folder / "B04.tif", (SIZE, SIZE), TRANSFORM, red_strip, dtype="uint16", tags=tags
        )
        _write_cog(
            folder / "B08.tif", (SIZE, SIZE), TRANSFORM, nir_strip, dtype="uint16", tags=tags
        )
        coarse = Affine(20.0, 0, X0, 0, -20.0, Y0)
        _write_cog(
            folder / "SCL.tif", (SIZE // 2, SIZE // 2), coarse, scl_strip, dtype="uint8", tags=tags
        )
        print(f"  wrote {folder.name}", flush=True)


# --- measurements ----------------------------------------------------------------------


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kB


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_local(plots_path: str, data: str, rule: str, repeat: int):
    """The single-process path, in a fresh process (its peak memory is its own)."""
    from pastures.zonal import index_series

    plots = gpd.read_file(plots_path)
    times, cpu = [], []
    for _ in range(repeat):
        c0, t0 = _cpu_seconds(), time.perf_counter()
        result = index_series(plots, data, indices=INDICES, edge_rule=rule)
        times.append(time.perf_counter() - t0)
        cpu.append(_cpu_seconds() - c0)
    return result, times, cpu, _peak_rss_bytes()


def run_dask(plots_path: str, data: str, rule: str, workers: int, repeat: int):
    from pastures.regional import dask_client, regional_index_series

    plots = gpd.read_file(plots_path)
    t0 = time.perf_counter()
    with dask_client(workers=workers, memory_limit="8GiB") as client:
        started = time.perf_counter() - t0
        times, cpu = [], []
        for _ in range(repeat):
            c0 = _cpu_seconds() + sum(client.run(_cpu_seconds).values())
            t1 = time.perf_counter()
            result = regional_index_series(
                plots, data, indices=INDICES, edge_rule=rule, client=client
            )
            times.append(time.perf_counter() - t1)
            cpu.append(_cpu_seconds() + sum(client.run(_cpu_seconds).values()) - c0)
        peaks = client.run(_peak_rss_bytes)
    return result, times, cpu, started, sorted(peaks.values())


def window_pixels(plots_path: str, data: str) -> tuple[int, int]:
    """Pixels of the plot windows read per date (what both paths read)."""
    from pastures import imagery, zonal

    scenes, _ = imagery.load_scenes(data)
    grid = imagery.scene_grid(scenes[0], ("red", "nir"))
    geoms = gpd.read_file(plots_path).to_crs(grid.crs).geometry.to_numpy()
    windows = zonal._plot_windows(geoms, grid, zonal.DEFAULT_CLUSTER_GAP_M)
    return sum(w.shape[0] * w.shape[1] for w, _ in windows), len(windows)


def same(a, b) -> bool:
    pd.testing.assert_frame_equal(a.table, b.table, check_exact=True)
    pd.testing.assert_frame_equal(a.dates, b.dates, check_exact=True)
    pd.testing.assert_series_equal(a.rules, b.rules)
    assert a.problems == b.problems
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--dates", type=int, default=6)
    parser.add_argument("--plots", type=int, default=5000)
    parser.add_argument("--rule", default="exact")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each; the best counts")
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args()
    t0 = time.perf_counter()
    generate(args.data, args.dates, args.plots)
    print(f"data ready in {time.perf_counter() - t0:.0f} s: {args.data}")
    if args.generate_only:
        return
    plots_path = str(args.data / f"plots_{args.plots}.gpkg")
    data = str(args.data)
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}")
    win_px, n_windows = window_pixels(plots_path, data)
    scene_px = SIZE * SIZE * args.dates
    read_px = win_px * args.dates
    print(
        f"{args.plots} plots, {args.dates} dates, tile {SIZE} x {SIZE} px; {n_windows} plot "
        f"windows, {win_px / 1e6:.1f} Mpx per date ({win_px / SIZE**2:.0%} of the tile); "
        f"indices {', '.join(INDICES)}; edge rule {args.rule}",
        flush=True,
    )
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        job = pool.submit(run_local, plots_path, data, args.rule, args.repeat)
        local, local_times, local_cpu, rss_local = job.result()
    t_local = min(local_times)
    rows = [("single process (zonal.index_series)", local_times, local_cpu, None, [rss_local])]
    results = {}
    for workers in (1, 2):
        result, times, cpu, started, peaks = run_dask(
            plots_path, data, args.rule, workers, args.repeat
        )
        results[workers] = (result, min(times))
        rows.append((f"dask LocalCluster, {workers} worker(s)", times, cpu, started, peaks))
    for workers, (result, _) in results.items():
        same(local, result)
        print(f"dask {workers} worker(s): table, dates, rules and problems identical to local")
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}")
    print()
    print(
        f"best of {args.repeat} runs (all runs listed); start = cluster start-up, not in wall; "
        "cpu = CPU seconds of all processes (workers, scheduler and client) per run"
    )
    print(
        f"{'run':38s} {'wall s':>6s} {'runs s':>9s} {'cpu s':>9s} {'start s':>7s} "
        f"{'scene Mpx/s':>11s} {'read Mpx/s':>10s} {'vs local':>8s}  peak RSS per process (GB)"
    )
    for name, times, cpu, started, peaks in rows:
        best = min(times)
        runs = " ".join(f"{t:.0f}" for t in times)
        cpus = " ".join(f"{c:.0f}" for c in cpu)
        print(
            f"{name:38s} {best:6.1f} {runs:>9s} {cpus:>9s} "
            f"{started if started is not None else 0:7.1f} "
            f"{scene_px / best / 1e6:11.1f} {read_px / best / 1e6:10.1f} "
            f"{t_local / best:7.2f}x  {', '.join(f'{p / 1e9:.2f}' for p in peaks)}"
        )
    t1, t2 = results[1][1], results[2][1]
    print(f"speed-up 1 -> 2 workers: {t1 / t2:.2f}x (2 cores shared with other users)")
    print(f"result rows: {len(local.table):,} (plots x dates x indices x statistics)")
    # extrapolation to Puno for a year
    per_tile_date = t2 / args.dates
    tile_dates = PUNO_TILES * 365 // REVISIT_DAYS
    efficiency = t1 / t2 / 2
    clear = 1 - float(np.mean(CLOUD_BY_MONTH))
    print()
    print(
        f"Puno, one year: {PUNO_TILES} tiles x {365 // REVISIT_DAYS} dates (revisit "
        f"{REVISIT_DAYS} days) = {tile_dates} tile-dates, each like this benchmark's "
        f"(~{args.plots} plots per tile)."
    )
    print(
        f"  at {per_tile_date:.1f} s per tile-date on 2 local workers: "
        f"{tile_dates * per_tile_date / 3600:.1f} h; single process: "
        f"{tile_dates * t_local / args.dates / 3600:.1f} h; 32 workers at the measured "
        f"1->2 efficiency ({efficiency:.0%}): "
        f"{tile_dates * (t1 / args.dates) / (32 * min(efficiency, 1.0)) / 3600:.2f} h"
    )
    print(
        f"  clouds do not save work (masked pixels are read too); they leave ~{clear:.0%} of "
        f"the plot-dates usable (mean of the illustrative CLOUD_BY_MONTH), i.e. "
        f"~{clear * 365 / REVISIT_DAYS:.0f} clear observations per plot and year."
    )


if __name__ == "__main__":
    main()
