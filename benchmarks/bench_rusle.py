"""Benchmark: RUSLE soil loss from GeoTIFFs to a GeoTIFF, pastures against InVEST SDR's chain.

Like for like:

* the same input files: a synthetic 10 m DEM of Juli (pastures.sample_terrain, N x N
  pixels, with its lake as no-data and its filled depressions), constant R and K
  rasters and a C raster from the synthetic dry-season NDVI, all float32 GeoTIFFs
  tiled 256 x 256 (LZW), written before any timing;
* the same steps: fill, slope, flow direction, flow accumulation, streams (threshold
  1000 pixels; MFD streams traced as InVEST), LS (l_max 25), USLE = R·K·LS·C empty on
  streams, written to a tiled float32 GeoTIFF: LZW for InVEST (pygeoprocessing's
  creation options, for every raster it writes), Zstandard level 1 for ours (its
  output format since 00c2bca; the same soil loss written as LZW takes about 0.5 s
  more at 4000², which is not in the figures below);
* each run in a fresh process, started by ``/usr/bin/time -v`` (Debian package
  ``time``), which reports the process's wall time and peak resident memory
  (interpreter, libraries and data); the chain's own wall time is printed too;
* one thread each (NUMBA_NUM_THREADS, OMP_NUM_THREADS, GDAL_NUM_THREADS = 1; InVEST's
  routing is single-threaded);
* the same number of runs, interleaved (ours, InVEST, ours, InVEST, ...), so that both
  see the same load on a shared machine; the best of the runs is reported.

Contenders:

ours
    ``pastures.erosion.soil_loss_file(dem, out, erosivity=r.tif, erodibility=k.tif,
    cover=c.tif, method=..., l_max=25, streams="invest", stream_threshold=1000)``.
invest (baseline)
    InVEST SDR 3.20.2's own functions, run in its own environment (``--invest-python``,
    built as in shared/oracles/INVEST_SDR.md): pygeoprocessing 2.4.11's fill_pits,
    calculate_slope, flow_dir_{d8,mfd}, flow_accumulation_{d8,mfd},
    extract_streams_d8 or extract_streams_mfd (trace proportion 0.7, as sdr.py), then
    sdr._calculate_ls_factor, sdr._calculate_rkls and USLE = RKLS x C by
    pygeoprocessing.raster_map with sdr.usle_op. The rest of SDR (alignment of inputs
    to the watersheds, SDR, export) is not run; neither side clips or aligns.

Before timing, our JIT cache is warmed by a run on a 64 x 64 DEM (numba compiles once
per machine; the cache is then loaded). After the runs the two soil-loss rasters are
compared pixel by pixel (share within 1 %, stream pixels both ways).

    python benchmarks/bench_rusle.py --invest-python INVEST_ENV/bin/python \
        [--sizes 2000,4000,8000] [--methods d8,mfd] [--repeat 2]

It prints InVEST ÷ ours for wall time and peak memory, measured in the same run.

Both children run as a ``pastures`` command runs (pastures.cli.console_main): the
garbage collector's thresholds raised as mypy raises them, and ``gc.freeze()`` before
the interpreter's teardown, which otherwise collects over every object the libraries
made (0.2-0.3 s for ours, about 0.5 s for InVEST's chain). Both tools' packages are
compiled to bytecode first (ours is installed editable, and was compiled from source
in every run where PYTHONDONTWRITEBYTECODE is set).

Measured 2026-12-07 19:13-19:44 UTC, commit dc790ab, on 2 cores with nothing else
running (load average 0.8-1.1), best of 3 interleaved runs each, wall of the whole
process, peak RSS::

    size, routing           InVEST chain                  ours    InVEST ÷ ours (wall / peak memory)
    2000², D8             8.7 s,    474 MiB      1.0 s,    212 MiB                     8.85× / 2.23×
    2000², MFD            9.6 s,    521 MiB      1.1 s,    224 MiB                     8.41× / 2.33×
    4000², D8            29.7 s,    672 MiB      2.4 s,    292 MiB                    12.64× / 2.30×
    4000², MFD           32.5 s,    760 MiB      2.9 s,    338 MiB                    11.30× / 2.25×
    8000², D8           142.8 s,   1721 MiB      8.4 s,    613 MiB                    17.03× / 2.81×
    8000², MFD          168.5 s,   1724 MiB     12.7 s,    795 MiB                    13.24× / 2.17×
    (chain wall only, without interpreter start and imports: InVEST ÷ ours)
      2000², D8: 8.5 s ÷ 0.9 s = 9.86×          2000², MFD: 9.4 s ÷ 1.0 s = 9.22×
      4000², D8: 29.5 s ÷ 2.2 s = 13.26×        4000², MFD: 32.4 s ÷ 2.8 s = 11.71×
      8000², D8: 142.6 s ÷ 8.3 s = 17.25×       8000², MFD: 168.2 s ÷ 12.6 s = 13.38×

At 4000² MFD every run of ours took 2.9-3.0 s and every run of InVEST's 32.5-34.0 s:
any pair of them is above ten times (10.8× the narrowest). Earlier the same day, the
code of 640ca91 measured 9.66×, 9.80× and 10.19× there (ours 3.3-3.6 s). Since then
(4000² MFD, A/B in one process, the same output bit for bit): numba's array maths loaded
without scipy.linalg (pastures._jit: numba's first kernel load 0.30 to 0.13 s); the MFD
accumulation 0.75 to 0.54 s (donor counts in whole bytes with cell indices on the
stack, the drops to the neighbours as selects, 4-bit weights rounded by floor, a walk
that never replaces its stack); MFD stream tracing 0.18 to 0.11 s (queues never
replaced in the hot loop: numba counted a reference per cell to an array a loop may
replace, 40 % of that kernel's time).

Soil loss agreed on 100.0000 % of pixels within 1 % at every size and routing;
InVEST's stream pixels were empty in ours, and no other pixel. The soil loss is bit for
bit that of 1b30801 (compared on the 4000² DEM, both routings, at dc790ab): every change
since is in how the kernels run, not in what they compute.

Met at 4000² and 8000², both routings: ten times InVEST's speed (11.30× the narrowest)
and half its peak memory or less (2.17× the narrowest). Not met at 2000², which the goal
does not ask for: there the interpreter, imports and numba's loading of the kernels
(about 0.5 s together) are nearly half of ours.

What is left of ours at 4000² MFD (one thread, in one process, load about 1): the
interpreter and imports 0.31-0.36 s, numba's first kernel load 0.10-0.13 s, reading the
DEM 0.19 s, filling 0.55-0.6 s, flat routing 0.19 s, accumulation 0.54-0.6 s (37 ns a
cell at 500², where every grid stays in cache, 43 ns at 4000²: bound by its
instructions more than by memory; about half of it is the weights, float64 divisions
and roundings that must match pygeoprocessing's), stream tracing 0.11 s, slope and
LS 0.27 s (0.155 s of it glibc's powf), R, K, C read 0.31 s (LZW decoding), their
products 0.01 s, writing 0.16 s (Zstandard level 1).

How ours got from 3.6 to 2.6 s (D8) and from 5.3 to 3.6 s (MFD) at 4000² since
1e974db (stage times one thread, same files, old and new kernel A/B in one process):
kernels that take a cell off the grid's edge without a branch per neighbour (which
neighbours are lower, flat or nearer is unpredictable, and a mispredicted branch
costs more than the arithmetic it skips), with np.uint64 indices (numba then tests
no index for being negative) and numba's numpy error model where a loop divides
(the Python model's test of each divisor kept the loops scalar): flat routing 0.55
to 0.175 s; slope and LS 0.53 to 0.27 s; D8 directions 0.074 to 0.021 s and
accumulation 0.27 to 0.15 s; MFD accumulation 1.6 to 0.78 s (its donors gathered from
the neighbours' edges in two vector passes a row: 0.131 to 0.021 s); MFD stream tracing
0.24 to 0.18 s (outlets searched a row of a block at a time in one vector pass);
filling 0.65 to 0.55 s (keys scattered to groups of buckets that stay in cache); the
factors' ranges on float32 bits read as ordered integers, so that the product loop
vectorizes (0.077 to 0.008 s). The flat routing's freed buffers are given back to the
system (glibc's malloc_trim), which lowered the peak memory (321 to 307 MiB D8, 352
to 345 MiB MFD at 4000²).

Tried and dropped, no faster (A/B in one process): for MFD, a walk led by a raster
scan, a walk that keeps cells made ready below the scanned row for later, a walk in
tiles of 128² (each tile's cells made ready from outside it listed for it: 55 % slower),
two stacks taken in turn, two cells a step, the 4-bit weights from one division per
cell (exact, with the division kept for sums near a half), a flat cell's weights as
selects (flats lie together: their branch is predicted), a byte of donor count a cell
on its own (earlier; with cell indices on the stack it pays, above), the donors
counted inside the flood (all neighbours are final when a cell is taken; 0.18 s more
filling for 0.13 s less counting); for the flood, 1 or 2 parts instead of 4, its range
and seed scans as vector loops, a plain queue that never grows (2 %, within the noise);
huge pages for the kernels' own buffers; a float32 power by float64 series
(vectorized, correctly rounded, 3.5 ns a power against powf's 4.5 ns, but taken over
every cell instead of the lists of cells that need it).

Earlier figures of this benchmark, same machine (InVEST ÷ ours, wall / peak memory)::

    commit    load       4000² D8        4000² MFD       8000² D8         8000² MFD
    640ca91   1.0-1.8   12.11× / 2.19×   9.66× / 2.21×   15.55× / 2.74×  12.86× / 2.21×
    68c6467   0.1-1.1   11.30× / 2.19×   8.50× / 2.20×   15.55× / 2.75×  12.28× / 2.21×
    1e974db   0.5-1.0    8.49× / 2.09×   6.55× / 2.16×   11.49× / 2.67×   7.51× / 2.16×
    0059f6e   1.3-3.1    7.28× / 2.09×   6.05× / 2.16×   11.15× / 2.67×   7.15× / 2.15×
    97fdff3   3.3-5.0    6.42× / 2.09×   5.48× / 2.15×
    0822794   2.1-6.1    5.92× / 2.08×   4.46× / 2.15×    6.20× / 2.66×   5.21× / 2.16×

(8000² at 1e974db was run at 25ff05c, the same terrain code.) Wall times move with
the load: InVEST took 31-55 s at 4000² on this machine on the same day; the memory
figures hardly depend on it. About 185 MiB of ours is the interpreter with numpy,
numba (its import, and loading the compiled kernels: ~60 MiB) and rasterio before
any grid is read.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CELL = 10.0
R, K = 2730.0, 0.03
THRESHOLD = 1000
L_MAX = 25.0
NODATA = -9999.0
TIME = "/usr/bin/time"


# --- inputs ------------------------------------------------------------------------------


def write_tif(path: Path, array: np.ndarray) -> None:
    """float32 GeoTIFF, tiled 256 x 256, LZW (as pygeoprocessing writes), -9999 no-data."""
    import rasterio
    from affine import Affine

    profile = {
        "driver": "GTiff",
        "width": array.shape[1],
        "height": array.shape[0],
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:32719",
        "transform": Affine(CELL, 0, 400_000.0, 0, -CELL, 8_250_000.0),
        "nodata": NODATA,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "lzw",
        "BIGTIFF": "IF_SAFER",
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.where(np.isnan(array), NODATA, array).astype(np.float32), 1)


def make_inputs(folder: Path, n: int) -> dict[str, float]:
    """Write dem.tif, r.tif, k.tif, c.tif for an n x n grid; return facts about the DEM."""
    from pastures.erosion import cover_factor
    from pastures.sample_terrain import make_sample_dem, sample_dry_season_ndvi
    from pastures.terrain import fill_depressions

    sample = make_sample_dem(resolution=CELL, shape=(n, n))
    z = sample.dem.elevation
    write_tif(folder / "dem.tif", z)
    valid = np.isfinite(z)
    filled_share = float(np.mean(fill_depressions(z)[valid] > z[valid]))
    c = cover_factor(sample_dry_season_ndvi(sample))
    del sample
    write_tif(folder / "c.tif", c)
    write_tif(folder / "r.tif", np.where(valid, R, np.nan))
    write_tif(folder / "k.tif", np.where(valid, K, np.nan))
    return {"valid_share": float(valid.mean()), "filled_share": filled_share}


# --- the two chains (run in child processes) ---------------------------------------------


def chain_ours(folder: Path, method: str, out: Path) -> None:
    from pastures.erosion import soil_loss_file

    soil_loss_file(
        folder / "dem.tif",
        out,
        erosivity=folder / "r.tif",
        erodibility=folder / "k.tif",
        cover=folder / "c.tif",
        method=method,  # type: ignore[arg-type]
        l_max=L_MAX,
        streams="invest",
        stream_threshold=THRESHOLD,
    )


def chain_invest(folder: Path, method: str, out: Path) -> None:
    import pygeoprocessing
    from natcap.invest.sdr import sdr
    from pygeoprocessing import routing

    work = out.parent / f"{out.stem}_work"
    work.mkdir()
    p = {k: str(work / f"{k}.tif") for k in ("filled", "slope", "fdir", "acc", "stream", "ls")}
    p["rkls"] = str(work / "rkls.tif")
    routing.fill_pits((str(folder / "dem.tif"), 1), p["filled"], working_dir=str(work))
    pygeoprocessing.calculate_slope((p["filled"], 1), p["slope"])
    if method == "mfd":
        routing.flow_dir_mfd((p["filled"], 1), p["fdir"], working_dir=str(work))
        routing.flow_accumulation_mfd((p["fdir"], 1), p["acc"])
        routing.extract_streams_mfd(
            (p["acc"], 1), (p["fdir"], 1), THRESHOLD, p["stream"], trace_threshold_proportion=0.7
        )
    else:
        routing.flow_dir_d8((p["filled"], 1), p["fdir"], working_dir=str(work))
        routing.flow_accumulation_d8((p["fdir"], 1), p["acc"])
        routing.extract_streams_d8((p["acc"], 1), THRESHOLD, p["stream"])
    sdr._calculate_ls_factor(p["acc"], p["slope"], L_MAX, p["ls"])
    sdr._calculate_rkls(
        p["ls"], str(folder / "r.tif"), str(folder / "k.tif"), p["stream"], p["rkls"]
    )
    pygeoprocessing.raster_map(
        op=sdr.usle_op, rasters=[p["rkls"], str(folder / "c.tif")], target_path=str(out)
    )
    shutil.copy(p["stream"], out.parent / f"{out.stem}_stream.tif")
    shutil.rmtree(work)


#: pastures.cli.GC_THRESHOLDS (mypy's), written out: InVEST's environment has no pastures.
GC_THRESHOLDS = (200_000, 30, 30)


def child(tool: str, folder: Path, method: str, out: Path) -> None:
    # Both tools run in a process set as a `pastures` command sets its own
    # (pastures.cli.console_main): the collector runs less often while the libraries
    # load (0.07-0.1 s less for ours at 4000², 0.1-0.15 s for InVEST's chain at 2000²),
    # and does not go over their objects again in the interpreter's teardown (0.2-0.3 s
    # for ours, about 0.5 s for InVEST's).
    gc.set_threshold(*GC_THRESHOLDS)
    start = time.perf_counter()
    (chain_ours if tool == "ours" else chain_invest)(folder, method, out)
    print(json.dumps({"chain_s": time.perf_counter() - start}), flush=True)
    gc.freeze()


# Every package each side imports, compiled to bytecode before timing (pip compiles an
# installed package; an editable install, and PYTHONDONTWRITEBYTECODE, leave ours as
# source, compiled again in every run: some 0.05 s of terrain.py and erosion.py).
PACKAGES: dict[str, tuple[str, ...]] = {
    "ours": ("pastures",),
    "invest": ("natcap.invest", "pygeoprocessing"),
}


def precompile(python: str, tool: str) -> None:
    """Compile `tool`'s packages to bytecode in `python`'s environment (not timed)."""
    code = (
        "import compileall, importlib.util, sys\n"
        "for name in sys.argv[1:]:\n"
        "    spec = importlib.util.find_spec(name)\n"
        "    for folder in spec.submodule_search_locations:\n"
        "        compileall.compile_dir(folder, quiet=1)\n"
    )
    subprocess.run([python, "-c", code, *PACKAGES[tool]], check=True)


# --- measuring ---------------------------------------------------------------------------


def measure(python: str, tool: str, folder: Path, method: str, out: Path) -> dict:
    """Run one chain in a fresh process under /usr/bin/time -v."""
    env = dict(os.environ)
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "GDAL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = "1"
    cmd = [TIME, "-v", python, __file__, "--child", tool, "--folder", str(folder)]
    cmd += ["--method", method, "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} {method} failed:\n{proc.stderr[-3000:]}")
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)[1])
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", proc.stderr)[1]
    seconds = 0.0
    for part in wall.split(":"):
        seconds = seconds * 60 + float(part)
    chain = json.loads(proc.stdout.strip().splitlines()[-1])["chain_s"]
    return {"wall_s": seconds, "chain_s": chain, "peak_mib": peak_kb / 1024}


def read_masked(path: Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as src:
        return np.ma.filled(src.read(1, masked=True).astype(np.float64), np.nan)


def agreement(folder: Path, method: str) -> str:
    ours = read_masked(folder / f"ours_{method}.tif")
    theirs = read_masked(folder / f"invest_{method}.tif")
    stream = read_masked(folder / f"invest_{method}_stream.tif") == 1
    both = np.isfinite(ours) & np.isfinite(theirs)
    with np.errstate(invalid="ignore", divide="ignore"):
        close = np.abs(ours[both] - theirs[both]) <= 0.01 * np.abs(theirs[both])
    ours_empty = np.isnan(ours)
    return (
        f"{method}: soil loss within 1 % on {close.mean():.4%} of {both.sum():,} pixels; "
        f"InVEST's {stream.sum():,} stream pixels empty in ours: "
        f"{np.mean(ours_empty[stream]):.4%}; ours empty where InVEST has a value: "
        f"{int((ours_empty & np.isfinite(theirs)).sum()):,} pixels"
    )


def main() -> None:  # noqa: PLR0912
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2000,4000,8000", help="DEM sides (pixels)")
    parser.add_argument("--methods", default="d8,mfd")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each tool (best kept)")
    parser.add_argument("--invest-python", default="", help="Python with natcap.invest 3.20.2")
    parser.add_argument("--work", type=Path, default=None, help="folder for inputs and outputs")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--method", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.folder, args.method, args.out)
        return
    if not Path(TIME).exists():
        sys.exit(f"{TIME} is missing: install the Debian package `time`.")
    if not args.invest_python:
        sys.exit("Give --invest-python (a Python with natcap.invest 3.20.2), see the docstring.")
    methods = [m for m in args.methods.split(",") if m]
    root = args.work or Path(tempfile.mkdtemp(prefix="bench_rusle_"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"load average (1, 5, 15 min) at the start: {os.getloadavg()}", flush=True)
    precompile(sys.executable, "ours")
    precompile(args.invest_python, "invest")
    warm = root / "warm"
    warm.mkdir(exist_ok=True)
    make_inputs(warm, 64)
    for method in methods:  # compile (or load) our numba kernels once, not timed
        measure(sys.executable, "ours", warm, method, warm / f"ours_{method}.tif")
    rows = []
    for size in (int(s) for s in args.sizes.split(",") if s):
        folder = root / f"n{size}"
        folder.mkdir(exist_ok=True)
        facts = make_inputs(folder, size)
        print(
            f"\n{size} x {size} DEM at {CELL:g} m: {facts['valid_share']:.1%} with data, "
            f"{facts['filled_share']:.1%} of it raised by filling depressions",
            flush=True,
        )
        for method in methods:
            runs: dict[str, list[dict]] = {"ours": [], "invest": []}
            for i in range(args.repeat):
                for tool in ("ours", "invest"):  # interleaved
                    python = sys.executable if tool == "ours" else args.invest_python
                    out = folder / f"{tool}_{method}.tif"
                    for stale in folder.glob(f"{tool}_{method}*"):
                        if stale.is_dir():
                            shutil.rmtree(stale)
                        else:
                            stale.unlink()
                    r = measure(python, tool, folder, method, out)
                    runs[tool].append(r)
                    print(
                        f"  {method} {tool} run {i + 1}: {r['wall_s']:.1f} s process, "
                        f"{r['chain_s']:.1f} s chain, peak {r['peak_mib']:.0f} MiB "
                        f"(load {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
            print("  " + agreement(folder, method), flush=True)
            best = {
                tool: {
                    "wall_s": min(x["wall_s"] for x in rs),
                    "chain_s": min(x["chain_s"] for x in rs),
                    "peak_mib": min(x["peak_mib"] for x in rs),
                }
                for tool, rs in runs.items()
            }
            rows.append((size, method, best))
        shutil.rmtree(folder)
    print(f"\nload average (1, 5, 15 min) at the end: {os.getloadavg()}")
    print(
        f"\nBest of {args.repeat} interleaved runs each, one thread, separate processes "
        "under /usr/bin/time -v (wall = whole process; peak = maximum resident set size)."
    )
    header = (
        f"{'size, routing':<16}{'InVEST chain':>22}{'ours':>22}"
        f"{'InVEST ÷ ours (wall / peak memory)':>38}"
    )
    print(header)
    for size, method, best in rows:
        inv, our = best["invest"], best["ours"]
        print(
            f"{f'{size}², {method.upper()}':<16}"
            f"{inv['wall_s']:>9.1f} s, {inv['peak_mib']:>6.0f} MiB"
            f"{our['wall_s']:>9.1f} s, {our['peak_mib']:>6.0f} MiB"
            f"{inv['wall_s'] / our['wall_s']:>25.2f}× / {inv['peak_mib'] / our['peak_mib']:.2f}×"
        )
    print("(chain wall only, without interpreter start and imports: InVEST ÷ ours)")
    for size, method, best in rows:
        inv, our = best["invest"], best["ours"]
        print(
            f"  {size}², {method.upper()}: {inv['chain_s']:.1f} s ÷ {our['chain_s']:.1f} s = "
            f"{inv['chain_s'] / our['chain_s']:.2f}×"
        )


if __name__ == "__main__":
    main()
