"""Per-stage times of the `pastures demo` pipeline, and its print and vegetation stages
against their previous approach, measured in the same run.

What runs, in a temporary folder:

1. the sample scenes are made once (a warm install has them; not timed);
2. the whole demo pipeline (:func:`pastures.pipeline.run_project` on the bundled sample
   project, ``--force``-like: a fresh folder), with its per-stage seconds;
3. baselines, like for like on the same run folder and scenes:

   - print: :func:`pastures.printmap.write_atlas` with ``workers=1`` (every page drawn
     in one process, the approach before the pages were split between processes)
     against the default (:func:`pastures.printmap.default_workers`);
   - vegetation: :func:`pastures.zonal.index_series` on the demo's scenes with every
     plot window of a scene file read by its own GDAL call (the approach before the
     rectangle around the windows was read at once) against the default.

The figures of the commit before this work (``bf4896e``, warm install, 2 cores) are
printed for reference: idle 54.5 s wall, vegetation 10.9 s, rotation 14.6 s, map 3.1 s,
print 17.1 s; both cores busy 103 s, vegetation 18.9 s, rotation 33.2 s, print 31.3 s.

With ``--busy N``, N processes of ``yes > /dev/null`` run during the measurement (both
cores of a 2-core machine taken with N = 2); they are stopped at the end. The load
average is printed before and after.

    python benchmarks/bench_demo.py
    python benchmarks/bench_demo.py --busy 2
    python benchmarks/bench_demo.py --skip-baselines      # the pipeline only
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

#: Stage seconds measured at commit bf4896e, warm install, 2 cores, idle / busy.
PREVIOUS: dict[str, tuple[float, float]] = {
    "layers": (0.5, float("nan")),
    "vegetation": (10.9, 18.9),
    "forage": (0.7, float("nan")),
    "rotation": (14.6, 33.2),
    "erosion": (2.6, float("nan")),
    "package": (0.3, float("nan")),
    "map": (3.1, float("nan")),
    "print": (17.1, 31.3),
    "total": (54.5, 103.0),
}


def load() -> str:
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "n/a"


def cpu_seconds() -> float:
    """CPU time of this process and its waited-for children (user + system)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def timed_cpu(fn: Any) -> tuple[float, float]:
    """Wall and CPU seconds of `fn()` (CPU counts the processes it forked)."""
    c0 = cpu_seconds()
    wall, _ = timed(fn)
    return wall, cpu_seconds() - c0


def print_baseline(out: Path, scratch: Path) -> None:
    from pastures.printmap import default_workers, write_atlas

    workers = default_workers()
    single, single_cpu = timed_cpu(lambda: write_atlas(out, scratch / "atlas-1", workers=1))
    several, several_cpu = timed_cpu(lambda: write_atlas(out, scratch / "atlas-n", workers=workers))
    print(
        f"print    baseline one process {single:6.1f} s (CPU {single_cpu:5.1f} s) | now "
        f"({workers} processes) {several:6.1f} s (CPU {several_cpu:5.1f} s) | "
        f"ratio baseline/now {single / several:5.2f}"
    )


def vegetation_baseline(config: Any, out: Path) -> None:
    from pastures import imagery
    from pastures.pipeline import _scenes, run_layers
    from pastures.zonal import index_series

    layers = run_layers(config, out)
    scenes, _ = _scenes(config, out, layers)
    veg = config.vegetation

    def series() -> Any:
        return index_series(
            layers.project.plots, scenes, indices=veg.indices, edge_rule=veg.edge_rule
        )

    saved = imagery.UNION_READ_SMALL_VALUES, imagery.UNION_READ_MAX_VALUES
    imagery.UNION_READ_SMALL_VALUES = imagery.UNION_READ_MAX_VALUES = 0  # window by window
    try:
        before, old = timed(series)
    finally:
        imagery.UNION_READ_SMALL_VALUES, imagery.UNION_READ_MAX_VALUES = saved
    now, new = timed(series)
    same = old.table.equals(new.table) and old.dates.equals(new.dates)
    print(
        f"index_series baseline window reads {before:6.1f} s | now {now:6.1f} s | "
        f"ratio {before / now:5.2f} | tables identical: {same}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=0, help="`yes > /dev/null` processes to run")
    parser.add_argument("--skip-baselines", action="store_true", help="time the pipeline only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        root = Path(tmp)
        os.environ.setdefault("PASTURES_CACHE_DIR", str(root / "cache"))
        from pastures.pipeline import _scenes, run_layers, run_project
        from pastures.project import load_project_file, sample_project_path

        config = load_project_file(sample_project_path())
        warm, _ = timed(lambda: _scenes(config, root / "warm", run_layers(config, root / "warm")))
        print(f"sample scenes ready in {os.environ['PASTURES_CACHE_DIR']} ({warm:.1f} s, untimed)")
        hogs = [
            subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(max(0, args.busy))
        ]
        try:
            print(f"load average before: {load()}; busy processes: {len(hogs)}")
            out = root / "demo"
            c0 = cpu_seconds()
            whole, result = timed(lambda: run_project(config, out))
            whole_cpu = cpu_seconds() - c0
            print(f"load average after the pipeline: {load()}")
            column = 1 if hogs else 0
            print(f"{'stage':<12}{'now (s)':>9}{'bf4896e (s)':>13}")
            for report in result.reports:
                ref = PREVIOUS.get(report.name, (float("nan"),) * 2)[column]
                print(f"{report.name:<12}{report.seconds:>9.1f}{ref:>13.1f}")
            print(f"{'total':<12}{whole:>9.1f}{PREVIOUS['total'][column]:>13.1f}")
            print(f"CPU seconds of the pipeline (all processes): {whole_cpu:.1f}")
            if not args.skip_baselines:
                print_baseline(out, root)
                vegetation_baseline(config, root / "veg")
                print(f"load average after the baselines: {load()}")
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()


if __name__ == "__main__":
    main()
