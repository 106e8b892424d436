"""Benchmark: how fast the command line answers (help texts and a usage error).

Runs each command line in a fresh interpreter, ``--runs`` times, and prints the median
wall time, the ratio to ``python -c pass`` (the baseline, measured in the same run
with the same interpreter) and the peak resident memory of the child (largest of its
runs). The lines timed:

- ``python -c pass`` (baseline: the interpreter alone);
- ``python -m pastures --help``;
- ``python -m pastures COMMAND --help`` for every command;
- ``python -m pastures rotate --no-such-option`` (a usage error, exit 2);
- ``python -m pastures --lang es --help``, ``... --lang es rotate --help`` and the usage
  error in Spanish (the catalog read on top: compare with the English lines).

The machine load (1-minute load average) is printed beside, since other work on the
machine slows every line alike. Run:  python benchmarks/bench_cli.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def command_names(python: str) -> list[str]:
    """The subcommands, read in a child so that this process stays as small as a bare one.

    A child's peak RSS counts the memory it had when forked from this process; importing
    the CLI here would add it to every line.
    """
    code = "from pastures.cli import COMMANDS; print(' '.join(n for _, n in COMMANDS))"
    return subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()


def run_once(argv: list[str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS (KiB) and exit status of one child process."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss, child.returncode


def measure(argv: list[str], runs: int) -> tuple[float, int, int]:
    """Median wall seconds, largest peak RSS (KiB) and the exit status over `runs` runs."""
    walls, rss, code = [], 0, 0
    for _ in range(runs):
        wall, peak, code = run_once(argv)
        walls.append(wall)
        rss = max(rss, peak)
    return statistics.median(walls), rss, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per line (median)")
    args = parser.parse_args()

    python = sys.executable
    lines: list[tuple[str, list[str]]] = [
        ("python -c pass", [python, "-c", "pass"]),
        ("pastures --help", [python, "-m", "pastures", "--help"]),
    ]
    lines += [
        (f"pastures {name} --help", [python, "-m", "pastures", name, "--help"])
        for name in command_names(python)
    ]
    lines.append(
        (
            "pastures rotate --no-such-option",
            [python, "-m", "pastures", "rotate", "--no-such-option"],
        )
    )
    spanish = [python, "-m", "pastures", "--lang", "es"]
    lines += [
        ("pastures --lang es --help", [*spanish, "--help"]),
        ("pastures --lang es rotate --help", [*spanish, "rotate", "--help"]),
        ("pastures --lang es rotate --no-such", [*spanish, "rotate", "--no-such-option"]),
    ]

    load_before = os.getloadavg()[0]
    print(f"{args.runs} runs per line, median wall time; load average (1 min) {load_before:.2f}")
    print(f"{'command line':<36} {'wall s':>8} {'x python':>9} {'peak MiB':>9} {'exit':>5}")
    baseline = None
    for label, argv in lines:
        wall, rss_kib, code = measure(argv, args.runs)
        baseline = baseline or wall
        print(f"{label:<36} {wall:8.3f} {wall / baseline:9.1f} {rss_kib / 1024:9.1f} {code:5d}")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
