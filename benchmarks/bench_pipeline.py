"""Per-stage times of `pastures demo`: a first run, then a second with nothing changed.

The baseline is the first run in a fresh folder; the second run, in the same
folder with nothing changed, must skip every stage (its time over the first's is
the ratio printed). With ``--busy N``, N busy-loop processes run during the
measurement, to see the demo with both cores of a 2-core machine taken.

    python benchmarks/bench_pipeline.py
    python benchmarks/bench_pipeline.py --busy 2
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pastures.pipeline import run_project
from pastures.project import load_project_file, sample_project_path


def load() -> str:
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--busy", type=int, default=0, help="busy-loop processes to start")
    args = parser.parse_args()
    hogs = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(args.busy)]
    try:
        config = load_project_file(sample_project_path())
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "demo"
            print(f"load average before: {load()}; busy processes: {args.busy}")
            t0 = time.perf_counter()
            first = run_project(config, out)
            t1 = time.perf_counter()
            second = run_project(config, out)
            t2 = time.perf_counter()
        print(f"load average after: {load()}")
        print(f"{'stage':<12}{'first (s)':>11}{'second (s)':>12}  second status")
        for a, b in zip(first.reports, second.reports, strict=True):
            print(f"{a.name:<12}{a.seconds:>11.1f}{b.seconds:>12.2f}  {b.status}")
        whole1, whole2 = t1 - t0, t2 - t1
        print(f"{'whole run':<12}{whole1:>11.1f}{whole2:>12.2f}")
        print(f"second / first: {whole2 / whole1:.3f} (target < 0.333)")
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


if __name__ == "__main__":
    main()
