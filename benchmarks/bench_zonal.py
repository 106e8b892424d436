"""Benchmark: per-plot zonal statistics over a multi-date series, and index arithmetic.

Builds its own data (nothing is downloaded): a 4000 x 4000 raster at 10 m (UTM 19S),
about 500 irregular plots of 0.5-20 ha, and several dates of index values with
cloud gaps (NaN). Times, for the same statistics (mean, median, std, p10, p90,
count) on every plot and date:

- ours, ``exact`` rule   vs exactextract (coverage-weighted), every date in one call;
- ours, ``centre`` rule  vs rasterstats (pixel centres), one call per date.

Ours includes rasterising the plots (once per grid) and the per-date statistics.
Results are also checked to agree. Then NDVI on two 4000 x 4000 float32 bands is
timed against a plain copy of the same input bytes. Prints the ratios and the peak
memory. Run:  python benchmarks/bench_zonal.py [--dates 6] [--plots 500]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine

from pastures.indices import compute_index
from pastures.zonal import plot_coverage, statistics_array

SIZE = 4000
RES = 10.0
X0, Y0 = 430_000.0, 8_200_000.0
TRANSFORM = Affine(RES, 0, X0, 0, -RES, Y0)
CRS = "EPSG:32719"


def make_plots(n: int, rng: np.random.Generator) -> list[shapely.Polygon]:
    plots = []
    while len(plots) < n:
        area = np.exp(rng.uniform(np.log(0.5e4), np.log(20e4)))  # 0.5-20 ha, m²
        radius = np.sqrt(area / np.pi)
        cx = X0 + rng.uniform(radius * 1.5, SIZE * RES - radius * 1.5)
        cy = Y0 - rng.uniform(radius * 1.5, SIZE * RES - radius * 1.5)
        angles = np.sort(rng.uniform(0, 2 * np.pi, 14))
        radii = radius * rng.uniform(0.75, 1.25, 14)
        poly = shapely.Polygon(np.c_[cx + radii * np.cos(angles), cy + radii * np.sin(angles)])
        if poly.is_valid:
            plots.append(poly)
    return plots


def make_dates(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    base = rng.uniform(0.1, 0.6, (SIZE // 50 + 1, SIZE // 50 + 1)).astype(np.float32)
    smooth = np.kron(base, np.ones((50, 50), np.float32))[:SIZE, :SIZE]
    dates = []
    for _ in range(n):
        values = smooth + rng.normal(0, 0.05, (SIZE, SIZE)).astype(np.float32)
        cloud = np.kron(rng.random((SIZE // 100, SIZE // 100)) < 0.2, np.ones((100, 100), bool))
        values[cloud] = np.nan
        dates.append(values)
    return dates


def timed(label: str, func, *args, **kwargs):
    start = time.perf_counter()
    result = func(*args, **kwargs)
    elapsed = time.perf_counter() - start
    print(f"  {label:<52} {elapsed:8.3f} s")
    return result, elapsed


def ours(plots, dates, rule):
    coverage = plot_coverage(plots, TRANSFORM, (SIZE, SIZE), edge_rule=rule)
    return [statistics_array(values, coverage) for values in dates]


def with_exactextract(frame, dates):
    from exactextract import exact_extract
    from exactextract.raster import NumPyRasterSource

    sources = [
        NumPyRasterSource(
            v,
            xmin=X0,
            ymin=Y0 - SIZE * RES,
            xmax=X0 + SIZE * RES,
            ymax=Y0,
            nodata=np.nan,
            name=f"d{i}",
        )
        for i, v in enumerate(dates)
    ]
    ops = ["mean", "median", "stdev", "quantile(q=0.1)", "quantile(q=0.9)", "count"]
    return exact_extract(sources, frame, ops, output="pandas")


def with_rasterstats(plots, dates):
    import warnings

    from rasterstats import zonal_stats

    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rasterstats uses affine's deprecated * operator
        for values in dates:
            filled = np.where(np.isnan(values), -9999, values)
            out.append(
                zonal_stats(
                    plots,
                    filled,
                    affine=TRANSFORM,
                    nodata=-9999,
                    stats="mean median std percentile_10 percentile_90 count",
                )
            )
    return out


def bench_index(rng: np.random.Generator, repeat: int = 5) -> tuple[float, float]:
    red = rng.uniform(0.02, 0.2, (SIZE, SIZE)).astype(np.float32)
    nir = rng.uniform(0.1, 0.5, (SIZE, SIZE)).astype(np.float32)
    out = np.empty_like(red)
    copy_red, copy_nir = np.empty_like(red), np.empty_like(nir)
    compute_index("ndvi", {"red": red, "nir": nir}, out=out)  # warm up
    np.copyto(copy_red, red)
    t_index, t_copy = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        compute_index("ndvi", {"red": red, "nir": nir}, out=out)
        t_index.append(time.perf_counter() - start)
        start = time.perf_counter()
        np.copyto(copy_red, red)
        np.copyto(copy_nir, nir)
        t_copy.append(time.perf_counter() - start)
    return min(t_index), min(t_copy)


def main() -> None:
    parser = argparse.ArgumentParser(description="zonal statistics benchmark")
    parser.add_argument("--plots", type=int, default=500)
    parser.add_argument("--dates", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-rasterstats", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"Building {args.plots} plots and {args.dates} dates of {SIZE} x {SIZE} pixels...")
    plots = make_plots(args.plots, rng)
    dates = make_dates(args.dates, rng)
    frame = gpd.GeoDataFrame({"id": range(len(plots))}, geometry=plots, crs=CRS)
    print(
        f"  plot area {min(p.area for p in plots) / 1e4:.2f}-"
        f"{max(p.area for p in plots) / 1e4:.1f} ha; "
        f"{sum(p.area for p in plots) / RES**2:,.0f} pixels in plots"
    )

    # One-off per process: load the compiled kernels (numba keeps them on disk).
    _, t_warm = timed(
        "pastures warm-up (load compiled kernels)", ours, plots[:2], dates[:1], "exact"
    )
    compute_index("ndvi", {"red": dates[0][:2, :2], "nir": dates[0][:2, :2]})
    print("Multi-date series, exact rule:")
    ours_exact, t_ours_exact = timed(
        "pastures (exact: coverage once + all dates)", ours, plots, dates, "exact"
    )
    theirs_exact, t_ee = timed(
        "exactextract (all dates in one call)", with_exactextract, frame, dates
    )
    worst = 0.0
    for d in range(args.dates):
        got = ours_exact[d][:, 0]
        expected = theirs_exact[f"d{d}_mean"].to_numpy()
        worst = max(worst, float(np.nanmax(np.abs(got - expected))))
    print(f"  largest difference of the means vs exactextract: {worst:.2e}")

    print("Multi-date series, centre rule:")
    ours_centre, t_ours_centre = timed(
        "pastures (centre: coverage once + all dates)", ours, plots, dates, "centre"
    )
    t_rs = float("nan")
    if not args.skip_rasterstats:
        theirs_centre, t_rs = timed(
            "rasterstats (one call per date)", with_rasterstats, plots, dates
        )
        worst = 0.0
        for d in range(args.dates):
            expected = np.array(
                [s["mean"] if s["mean"] is not None else np.nan for s in theirs_centre[d]]
            )
            worst = max(worst, float(np.nanmax(np.abs(ours_centre[d][:, 0] - expected))))
        print(f"  largest difference of the means vs rasterstats: {worst:.2e}")

    print("Index arithmetic (NDVI, 4000 x 4000 float32, compiled kernel):")
    t_index, t_copy = bench_index(rng)
    tracemalloc.start()
    ours(plots, dates, "exact")
    _, peak_ours = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  NDVI {t_index * 1e3:.1f} ms; copy of the same input bytes {t_copy * 1e3:.1f} ms")

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("\nRESULTS")
    print(f"  exactextract / ours (exact rule):  {t_ee / t_ours_exact:6.2f}x faster (goal >= 1.3x)")
    print(f"  rasterstats / ours (centre rule):  {t_rs / t_ours_centre:6.2f}x faster (goal >= 10x)")
    print(f"  NDVI / memory copy:                {t_index / t_copy:6.2f}x (goal <= 1.5x)")
    print(f"  (one-off loading of compiled kernels per process, not in the ratios: {t_warm:.2f} s)")
    print(
        f"  peak memory: process {rss_mb:,.0f} MB (max RSS, includes the test data); "
        f"pastures zonal stage {peak_ours / 2**20:,.0f} MB (tracemalloc peak)"
    )


if __name__ == "__main__":
    main()
