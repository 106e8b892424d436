"""Seconds per page and megabytes of the printed atlas of a district-sized project.

The project is synthetic, made here (illustrative, EPSG:32719 near Juli): ``--plots``
fenced plots (default 2,000; irregular 14-gons of 2-25 ha, a fifth of them under 8 ha)
in communities of 50 plots on a 4 x 3 km lattice, each with three corrals and three
water points; a 30 m DEM under all of them; a year of rotation plan by whole grazing
groups (group_id, heads of alpacas, llamas and sheep) with two to four stays per plot;
risk, condition and a two-date NDVI series per plot. Communities of 50 plots are map
series of several sheets, as in the 2,000-plot project that took 808 s for 675 pages.

Two codes print the same project, in the same run, with the same workers, each in a
process of its own:

- **baseline**: the atlas code as it was before issue 20's speed work, commit
  ``BASELINE_REV`` (the package split and translated, drawing unchanged), taken from
  this repository's history with ``git archive``; ``--baseline REV`` names another;
- **current**: the code of this checkout (``src/``).

Both report wall seconds and CPU seconds (the process and its drawing workers) per
page, and the atlas's megabytes. On a shared machine the CPU seconds are the steadier
figure; the ratio is printed for both. The two codes may cut the communities into
different sheets (the current one keeps every plot at least 8 mm across and measures
text as matplotlib lays it out), so seconds per plot are printed too.

With ``--communities N`` only the first N communities are printed (a subset of the same
project: same density, same sheets per community), so both fit in the time.

    python benchmarks/bench_atlas.py                      # 2,000 plots, 6 communities
    python benchmarks/bench_atlas.py --communities 0      # the whole atlas, both codes
    python benchmarks/bench_atlas.py --only current --communities 0

Measured (``--communities 0``: the whole 2,000-plot atlas, both codes in one run, 2 workers;
code of commit f5ad93a, 2026-12-07 11:56-12:07 UTC, on 2 cores shared with another
helper's benchmarks, load average 1.4-3.1)::

    baseline (f9c5c5f)  1002 pages  wall   559.5 s =  0.558 s/page  CPU   575.7 s =  0.575 s/page   0.288 CPU s/plot  atlas   57.4 MB  (2 worker(s))
    current              682 pages  wall    63.8 s =  0.094 s/page  CPU    65.9 s =  0.097 s/page   0.033 CPU s/plot  atlas   26.6 MB  (2 worker(s))
    baseline / current per page: wall 5.97x, CPU 5.94x (target >= 5x)

The 5x target per page is met: 5.97x in wall time, 5.94x in CPU (8.8x and 8.7x for
the whole atlas, which has fewer sheets). The previous measurement (commit f503e39,
same command) gave 2.83x wall and 3.46x CPU. What the pages no longer do: shape and
write each repeated text again (a text's glyph operators are copied within a PDF
file), make a ``Text`` artist per text (the plain texts of a page are one artist with
matplotlib's own layout, kept per string and style), filter the whole project per
sheet (community layers, status and plan months worked out once), resample and
compress the relief at 100 dpi (now 3 pixels a raster cell, 50-100 dpi) or compress
at zlib level 9 (now 6). A sheet still takes about 75 ms of CPU in a drawing process:
most of it the texts seen for the first time in a part file (plot codes, titles,
grid coordinates), the hatched patches and the map's axes. On a small subset
(``--communities 4``) the fixed costs (imports, font subsetting, the plan) weigh more
and the ratio per page is lower (2.5x wall, 3.9x CPU at 70 pages, code of 4cc1bea).
"""  # noqa: E501 - the printed lines as printed

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.transform import Affine
from shapely.geometry import Point, box

CRS = "EPSG:32719"
E0, N0 = 430_000.0, 8_170_000.0
PLOTS_PER_COMMUNITY = 50
COMMUNITY_W, COMMUNITY_H = 4_000.0, 3_000.0
PLAN_START = pd.Timestamp("2026-01-05")


def _polygon(cx: float, cy: float, area_m2: float, rng: np.random.Generator) -> shapely.Polygon:
    radius = np.sqrt(area_m2 / np.pi)
    angles = np.sort(rng.uniform(0, 2 * np.pi, 14))
    radii = radius * rng.uniform(0.85, 1.1, 14)
    poly = shapely.Polygon(np.c_[cx + radii * np.cos(angles), cy + radii * np.sin(angles)])
    return poly if poly.is_valid else poly.convex_hull


def make_project(root: Path, n_plots: int, seed: int = 20) -> Path:
    """Write the synthetic run folder into `root` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n_comm = int(np.ceil(n_plots / PLOTS_PER_COMMUNITY))
    cols = int(np.ceil(np.sqrt(n_comm * 1.3)))
    communities, plots, corrals, water = [], [], [], []
    for c in range(n_comm):
        name = f"Comunidad {c + 1:02d}"
        code = f"C{c + 1:02d}"
        x0 = E0 + (c % cols) * COMMUNITY_W
        y0 = N0 + (c // cols) * COMMUNITY_H
        outline = box(x0, y0, x0 + COMMUNITY_W, y0 + COMMUNITY_H)
        communities.append({"community": name, "geometry": outline})
        n_here = min(PLOTS_PER_COMMUNITY, n_plots - c * PLOTS_PER_COMMUNITY)
        lattice = [(i, j) for j in range(7) for i in range(8)][:n_here]
        for k, (i, j) in enumerate(lattice):
            small = rng.random() < 0.2
            area = rng.uniform(2e4, 8e4) if small else rng.uniform(8e4, 25e4)
            cx = x0 + 300 + i * 480 + rng.uniform(-30, 30)
            cy = y0 + 250 + j * 400 + rng.uniform(-30, 30)
            plots.append(
                {
                    "plot_code": f"{code}-{k + 1:02d}",
                    "community": name,
                    "pasture_type": ("pajonal", "bofedal", "tolar")[k % 3],
                    "geometry": _polygon(cx, cy, area, rng),
                }
            )
        for k in range(3):
            at = Point(x0 + 600 + 1400 * k, y0 + COMMUNITY_H - 150)
            corrals.append({"corral_id": f"{code}-C{k + 1}", "community": name, "geometry": at})
            well = Point(x0 + 900 + 1300 * k, y0 + 100)
            water.append(
                {"water_id": f"{code}-A{k + 1}", "community": name, "water_kind": "manantial",
                 "geometry": well}
            )  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    gpkg = root / "layers.gpkg"
    frames = {
        "communities": gpd.GeoDataFrame(communities, crs=CRS),
        "plots": gpd.GeoDataFrame(plots, crs=CRS),
        "corrals": gpd.GeoDataFrame(corrals, crs=CRS),
        "water_points": gpd.GeoDataFrame(water, crs=CRS),
    }
    frames["communities"]["area_ha"] = frames["communities"].area / 10_000
    frames["plots"]["area_ha"] = frames["plots"].area / 10_000
    for layer, frame in frames.items():
        frame.to_file(gpkg, layer=layer, engine="pyogrio")
    plot_frame = frames["plots"]
    codes = plot_frame["plot_code"].tolist()
    # a year of plan by whole groups: each corral has two groups, each plot 2-4 stays
    rows = []
    for code, name in zip(codes, plot_frame["community"], strict=True):
        comm = code.split("-")[0]
        day = PLAN_START + pd.Timedelta(days=int(rng.integers(0, 40)))
        for _stay in range(int(rng.integers(2, 5))):
            corral = f"{comm}-C{int(rng.integers(1, 4))}"
            species = ("ALP", "LLA", "OVI")[int(rng.integers(0, 3))]
            group = f"{corral}-{species}-{int(rng.integers(1, 3))}"
            heads = int(rng.integers(60, 160))
            days = int(rng.integers(5, 21))
            end = day + pd.Timedelta(days=days - 1)
            rows.append(
                (group, name, code, "plot", day.date().isoformat(), end.date().isoformat(),
                 days, heads if species == "ALP" else 0, heads if species == "LLA" else 0,
                 heads if species == "OVI" else 0, round(heads * 1.4, 2))
            )  # fmt: skip
            day = end + pd.Timedelta(days=int(rng.integers(40, 110)))
    schedule = pd.DataFrame(
        rows,
        columns=["group_id", "community", "location_id", "location_kind", "start", "end",
                 "days", "alpacas", "llamas", "sheep", "uo"],
    )  # fmt: skip
    (root / "rotation").mkdir(exist_ok=True)
    schedule.to_csv(root / "rotation" / "rotation_schedule.csv", index=False)
    n = len(codes)
    (root / "risk").mkdir(exist_ok=True)
    pd.DataFrame(
        {
            "plot_code": codes,
            "soil_loss_t_ha_yr": rng.uniform(2, 80, n).round(1),
            "pressure_ratio": rng.uniform(0.3, 3.0, n).round(2),
            "slope_pct": rng.uniform(1, 30, n).round(1),
            "dry_cover_pct": rng.uniform(20, 80, n).round(1),
            "risk_class": rng.choice(["low", "moderate", "high", "very high"], n),
        }
    ).to_csv(root / "risk" / "risk_plots.csv", index=False)
    (root / "forage").mkdir(exist_ok=True)
    pd.DataFrame(
        {"plot_code": codes, "range_condition": rng.choice(["good", "fair", "poor"], n)}
    ).to_csv(root / "forage" / "forage_plots.csv", index=False)
    (root / "indices").mkdir(exist_ok=True)
    pd.DataFrame(
        {
            "plot_code": codes * 2,
            "date": ["2025-10-31"] * n + ["2025-11-30"] * n,
            "index": "ndvi",
            "statistic": "mean",
            "value": rng.uniform(0.2, 0.5, 2 * n).round(3),
        }
    ).to_parquet(root / "indices" / "index_series.parquet")
    # a 30 m DEM under every community: hills of a few hundred metres
    xmin, ymin, xmax, ymax = frames["communities"].total_bounds
    width, height = int((xmax - xmin) / 30) + 20, int((ymax - ymin) / 30) + 20
    yy, xx = np.mgrid[0:height, 0:width].astype("float32")
    dem = 3900 + 120 * np.sin(xx / 37.0) * np.cos(yy / 29.0) + 0.2 * xx + rng.normal(0, 2, xx.shape)
    with rasterio.open(
        root / "risk" / "dem.tif", "w", driver="GTiff", width=width, height=height, count=1,
        dtype="float32", crs=CRS, transform=Affine(30.0, 0, xmin - 300, 0, -30.0, ymax + 300),
    ) as dst:  # fmt: skip
        dst.write(dem.astype("float32"), 1)
    (root / "provenance.json").write_text(json.dumps({"illustrative": True}), encoding="utf-8")
    return root


def subset(run: Path, dest: Path, n_communities: int) -> Path:
    """A run folder holding only the first `n_communities` communities of `run`."""
    import shutil

    shutil.copytree(run, dest)
    layers = {
        name: gpd.read_file(run / "layers.gpkg", layer=name)
        for name in ("communities", "plots", "corrals", "water_points")
    }
    keep = set(layers["communities"]["community"].iloc[:n_communities])
    (dest / "layers.gpkg").unlink()
    for name, frame in layers.items():
        frame[frame["community"].isin(keep)].to_file(
            dest / "layers.gpkg", layer=name, engine="pyogrio"
        )
    return dest


#: The commit the baseline code is taken from: the atlas split into a package and
#: translated (issue 20), its drawing as before the speed work.
BASELINE_REV = "f9c5c5f"
ROOT = Path(__file__).resolve().parent.parent

_DRAW = """
import resource, sys, time
from pastures.printmap import write_atlas
t0 = time.perf_counter()
result = write_atlas(sys.argv[1], sys.argv[2], workers=int(sys.argv[3]))
wall = time.perf_counter() - t0
own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
print(wall, cpu, result.pages, result.atlas.stat().st_size)
"""


def baseline_source(rev: str, dest: Path) -> Path:
    """The ``src`` folder of commit `rev`, written under `dest`."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], capture_output=True, check=True
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "src"


def print_atlas(src: Path, run: Path, out: Path, workers: int) -> tuple[float, float, int, float]:
    """Wall s, CPU s, pages and MB of the atlas of `run` printed by the code in `src`."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", _DRAW, str(run), str(out), str(workers)],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    wall, cpu, pages, size = done.stdout.split()
    return float(wall), float(cpu), int(pages), int(size) / 1e6


def main() -> None:
    from pastures.printmap import default_workers

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plots", type=int, default=2_000)
    parser.add_argument(
        "--communities", type=int, default=6, help="print the first N communities (0: all)"
    )
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--baseline", default=BASELINE_REV, help="git revision of the baseline")
    parser.add_argument("--only", choices=("baseline", "current"), default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run = make_project(Path(tmp) / "run", args.plots)
        print(f"synthetic project: {args.plots} plots, made in {time.perf_counter() - t0:.1f} s")
        n_plots = args.plots
        if args.communities:
            run = subset(run, Path(tmp) / "subset", args.communities)
            n_plots = min(args.plots, args.communities * PLOTS_PER_COMMUNITY)
            print(f"printing its first {args.communities} communities ({n_plots} plots)")
        sources = {"current": ROOT / "src"}
        if args.only != "current":
            sources["baseline"] = baseline_source(args.baseline, Path(tmp) / "baseline")
        ways = [args.only] if args.only else ["baseline", "current"]
        per_page: dict[str, tuple[float, float]] = {}
        for way in ways:
            wall, cpu, pages, mb = print_atlas(sources[way], run, Path(tmp) / way, args.workers)
            per_page[way] = (wall / pages, cpu / pages)
            label = f"{way} ({args.baseline})" if way == "baseline" else way
            print(
                f"{label:<19} {pages:4d} pages  wall {wall:7.1f} s = {wall / pages:6.3f} s/page"
                f"  CPU {cpu:7.1f} s = {cpu / pages:6.3f} s/page  {cpu / n_plots:6.3f} CPU s/plot"
                f"  atlas {mb:6.1f} MB  ({args.workers} worker(s))"
            )
        if len(per_page) == 2:
            wall_ratio = per_page["baseline"][0] / per_page["current"][0]
            cpu_ratio = per_page["baseline"][1] / per_page["current"][1]
            print(
                f"baseline / current per page: wall {wall_ratio:.2f}x, CPU {cpu_ratio:.2f}x "
                "(target >= 5x)"
            )


if __name__ == "__main__":
    main()
