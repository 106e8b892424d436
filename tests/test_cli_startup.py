"""Starting the CLI loads no heavy library: ``--help`` and usage errors answer at once.

Each check runs in a fresh interpreter (the test session itself has imported pandas
and friends long before), then reads ``sys.modules``. No timing is asserted here:
benchmarks/bench_cli.py measures the wall times.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pastures.cli import COMMANDS

#: Libraries that take tenths of a second or more to import; none is needed to parse
#: a command line or print its help.
HEAVY = (
    "pandas",
    "geopandas",
    "shapely",
    "rasterio",
    "pyogrio",
    "scipy",
    "numba",
    "matplotlib",
    "highspy",
    "dask",
    "pyproj",
    "numpy",
)

_PROBE = """
import json, sys
import pastures.cli
args = json.loads(sys.argv[1])
code = None
if args is not None:
    try:
        pastures.cli.main(args)
    except SystemExit as exc:
        code = exc.code
heavy = json.loads(sys.argv[2])
loaded = sorted(m for m in heavy if m in sys.modules)
print(json.dumps({"code": code, "loaded": loaded}))
"""


def _probe(args: list[str] | None) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_loads_no_heavy_library():
    assert _probe(None)["loaded"] == []


def test_group_help_loads_no_heavy_library():
    result = _probe(["--help"])
    assert result == {"code": 0, "loaded": []}


@pytest.mark.parametrize("name", [name for _, name in COMMANDS])
def test_command_help_loads_no_heavy_library(name):
    result = _probe([name, "--help"])
    assert result == {"code": 0, "loaded": []}


@pytest.mark.parametrize(
    "args",
    [
        ["rotate", "--no-such-option"],
        ["risk", "--flow", "sideways"],
        ["check", "--overlap-tolerance", "nan"],
        ["nonsense"],
    ],
)
def test_usage_errors_load_no_heavy_library(args):
    result = _probe(args)
    assert result == {"code": 2, "loaded": []}


def test_every_command_is_listed_and_found():
    from click.testing import CliRunner

    from pastures.cli import main

    names = sorted(name for _, name in COMMANDS)
    result = CliRunner().invoke(main, ["--help"])
    section = result.output.split("Commands:")[1].split("Exit status:")[0]
    listed = [line.split()[0] for line in section.splitlines() if line.strip()]
    assert listed == names
    for name in names:
        assert main.get_command(None, name).name == name  # type: ignore[arg-type]
    assert main.get_command(None, "nonsense") is None  # type: ignore[arg-type]
