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

Measured 2026-12-07 12:41-12:45 UTC, commit 1e974db, 4000² only, on 2 cores shared
with other helpers' jobs (load average 0.5-1.0), best of 2 interleaved runs each, wall
of the whole process, peak RSS::

    size, routing           InVEST chain                  ours    InVEST ÷ ours (wall / peak memory)
    4000², D8            31.0 s,    671 MiB      3.6 s,    321 MiB                     8.49× / 2.09×
    4000², MFD           34.7 s,    759 MiB      5.3 s,    352 MiB                     6.55× / 2.16×
    (chain wall only, without interpreter start and imports: InVEST ÷ ours)
      4000², D8: 30.5 s ÷ 3.3 s = 9.22×        4000², MFD: 34.0 s ÷ 5.0 s = 6.87×

Soil loss agreed on 100.0000 % of pixels within 1 % (both routings); InVEST's stream
pixels were empty in ours, and no other pixel. Against 0059f6e (below), 1e974db works
LS in float32 up to 4096 pixels of accumulation (float64 above), counts MFD donors
along the edges to lower neighbours without computing weights (a cell's weights are
computed once, when it is taken), sorts the fill's keys in 4 parts instead of 8, and
finds interior no-data by a scanline flood. Stage by stage, one thread, on the same
files (A/B in one process where noted): slope and LS 0.87 to 0.54 s (D8) and 0.80 to
0.61 s (MFD); MFD accumulation 1.80-1.92 to 1.57-1.66 s (A/B); filling 0.70-0.72 to
0.63-0.64 s (A/B, CPU time); no-data notes 0.10 to 0.02 s. Its soil loss is no longer
bit for bit that of 0059f6e: at most 8.4e-7 (D8) and 1.1e-6 (MFD) relative apart on
the 4000² DEM, with the same empty pixels (float32 LS; the MFD sums added in another
order, now within 1.5e-6 of float64 sums where the former order was within 2.6e-6).

Not met: ten times InVEST's speed at 4000² (8.49× D8, 6.55× MFD; ten times would be
3.1 s and 3.5 s for ours). Met: half InVEST's peak memory (2.09× and 2.16×). 2000²
and 8000² were run at 25ff05c (the same terrain and erosion code as 1e974db),
2026-12-07 13:02-13:17 UTC, load 0.5-1.0, the same way::

    size, routing           InVEST chain                  ours    InVEST ÷ ours (wall / peak memory)
    2000², D8            11.2 s,    472 MiB      2.2 s,    230 MiB                     5.05× / 2.05×
    2000², MFD           10.5 s,    519 MiB      2.2 s,    237 MiB                     4.84× / 2.19×
    8000², D8           162.1 s,   1723 MiB     14.1 s,    646 MiB                    11.49× / 2.67×
    8000², MFD          178.3 s,   1722 MiB     23.8 s,    799 MiB                     7.51× / 2.16×

with 100.0000 % of pixels within 1 % and the streams matching both ways at each. Ten
times InVEST's speed holds at 8000² D8 only; at 2000² the interpreter, imports and
numba's kernel load (about 0.6 s) weigh most. What is left of ours at 4000² D8 (one thread, load
about 1): filling 0.64 s, flat routing 0.53 s, slope and LS 0.54 s (one or two float32
powers a pixel, three where the slope is above 9 %), accumulation 0.27 s and
directions 0.07 s, reading the DEM 0.20 s and R, K, C about 0.35 s (LZW decoding:
0.08 s for each constant raster), writing 0.11 s, the interpreter and imports 0.36 s
(numba's import alone 0.26 s), and numba's first kernel load 0.27 s, of which about
0.15-0.22 s is scipy.linalg: numba.np.arraymath calls numba.np.linalg.ensure_blas at
import, unconditionally (numba 0.68.1), and no documented numba setting skips it
(half of it is numpy.f2py compiling regular expressions, pulled in by scipy's
array_api_compat). MFD has 1.6 s of accumulation (weights computed once a cell, in a
depth-first walk) and 0.25 s of stream tracing in place of D8's 0.34 s of directions
and accumulation.

Before, at commit 0059f6e (2026-12-07 11:52-12:11 UTC, on 2 cores shared with another
helper's jobs, load average 1.3-2.2 for 4000², 1.3-3.1 for 2000² and 8000², a
separate run)::

    size, routing           InVEST chain                  ours    InVEST ÷ ours (wall / peak memory)
    2000², D8             9.9 s,    472 MiB      1.7 s,    230 MiB                     5.68× / 2.05×
    2000², MFD           10.6 s,    519 MiB      2.3 s,    238 MiB                     4.51× / 2.18×
    4000², D8            31.2 s,    671 MiB      4.3 s,    321 MiB                     7.28× / 2.09×
    4000², MFD           35.6 s,    759 MiB      5.9 s,    352 MiB                     6.05× / 2.16×
    8000², D8           169.8 s,   1722 MiB     15.2 s,    646 MiB                    11.15× / 2.67×
    8000², MFD          162.4 s,   1721 MiB     22.7 s,    799 MiB                     7.15× / 2.15×
    (chain wall only, without interpreter start and imports: InVEST ÷ ours)
      2000², D8: 9.3 s ÷ 1.4 s = 6.70×         2000², MFD: 9.9 s ÷ 2.0 s = 4.95×
      4000², D8: 30.4 s ÷ 4.0 s = 7.66×        4000², MFD: 34.9 s ÷ 5.5 s = 6.32×
      8000², D8: 169.0 s ÷ 14.8 s = 11.42×     8000², MFD: 161.6 s ÷ 22.3 s = 7.24×

Soil loss agreed on 100.0000 % of pixels within 1 % at every size and routing;
InVEST's stream pixels were empty in ours, and no other pixel. Commit 0059f6e writes
the same soil loss, bit for bit, as main at 2146e27 (terrain and erosion as at
96dc770) on the 4000² DEM, both routings, compared pixel by pixel as uint32. Against
97fdff3 (below) it fills without a heap (cells counting-sorted by height, an eighth of
the grid at a time, and the next cells' memory asked for ahead), keeps a flat's
distances on a padded box, traces MFD streams from the receivers the accumulation
found, and writes Zstandard. Ours went from 7.3 to 4.3 s (D8) and from 10.0 to 5.9 s
(MFD) at 4000² (at different loads: InVEST went from 47.1 to 31.2 s and 55.1 to 35.6 s
meanwhile); at 8000² it took 15.2 and 22.7 s against 23.7 and 46.3 s at 0822794 (load
2.1-6.1).

At 0059f6e: half InVEST's peak memory or less at every size and routing (2.05× at
2000² D8 the narrowest); ten times its speed at 8000² D8 only (11.15×), not at 4000²
(7.28× D8, 6.05× MFD), at 2000² or at 8000² MFD. The ratio moves with the load (at
load 3-5 InVEST took 47-55 s at 4000², below). What was left of ours then at 4000² D8
(load about 2): LS and slope 0.82 s (two or three float64 powers a pixel), filling
0.74 s, flat routing 0.54 s, accumulation 0.34 s and directions 0.08 s, reading the
DEM 0.30 s and R, K, C 0.52 s, writing 0.16 s, no-data notes 0.10 s, the interpreter
and imports 0.37 s, numba's first kernel load 0.27 s; MFD 1.7 s of accumulation (two
passes of weights) and 0.23 s of stream tracing. About 185 MiB of ours is the
interpreter with numpy, numba (its import, and loading the compiled kernels: ~60 MiB)
and rasterio before any grid is read.

Before, at commit 97fdff3 (2026-12-07 07:00-07:06 UTC, load 3.3-5.0)::

    size, routing           InVEST chain                  ours    InVEST ÷ ours (wall / peak memory)
    4000², D8            47.1 s,    671 MiB      7.3 s,    322 MiB                     6.42× / 2.09×
    4000², MFD           55.1 s,    759 MiB     10.0 s,    353 MiB                     5.48× / 2.15×

and at commit b589501 and a lower load (2.0-3.2): InVEST 31.5 s (D8) and 38.0 s
(MFD), ours 5.8 s and 8.7 s: 5.46× and 4.35×.

Earlier, at commit 0822794 (2026-12-07 06:01-06:26 UTC, load 2.1-6.1), both sizes::

    size, routing           InVEST chain                  ours    InVEST ÷ ours (wall / peak memory)
    4000², D8            40.6 s,    671 MiB      6.9 s,    322 MiB                     5.92× / 2.08×
    4000², MFD           53.8 s,    760 MiB     12.1 s,    353 MiB                     4.46× / 2.15×
    8000², D8           146.9 s,   1721 MiB     23.7 s,    647 MiB                     6.20× / 2.66×
    8000², MFD          241.0 s,   1721 MiB     46.3 s,    798 MiB                     5.21× / 2.16×

The same chain at commit 3b141ea (run A of the previous session, load 3-9) gave
4.60× / 1.86× (4000² D8), 3.80× / 2.11× (4000² MFD), 11.90× / 1.64× (8000² D8) and
4.64× / 1.64× (8000² MFD) on an 8000² DEM with 71 % data (the sample DEM has changed
since). Wall times move with the load: InVEST's two 8000² D8 runs at 0822794 took 147
and 202 s, ours 40 and 24 s (the first run of ours is always the slower: its files
and compiled kernels are not yet in the page cache); the memory figures hardly
depend on it.
"""

from __future__ import annotations

import argparse
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


def child(tool: str, folder: Path, method: str, out: Path) -> None:
    start = time.perf_counter()
    (chain_ours if tool == "ours" else chain_invest)(folder, method, out)
    print(json.dumps({"chain_s": time.perf_counter() - start}))


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
