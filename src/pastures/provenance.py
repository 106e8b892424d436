"""Where every number came from: a provenance record stamped on each output.

A record names the toolkit version (and the versions of the libraries that
compute: numpy, GDAL...), the parameters of the run, the SHA-256 of every input
file, and the source of each default that was used (a literature table, a
DOMAIN.md section...). It goes into the GeoPackage's metadata table
(:func:`pastures.styles.write_styled_geopackage`), GeoTIFF tags and, for tables,
a JSON sidecar written beside them (:func:`write_sidecar`).

The record holds no clock time, so the same inputs and parameters give the
same record on any machine and on every run (a re-run is recognised as such).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import json
import logging
import math
import platform
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePath
from typing import Any, Final

from pastures.errors import InputFileError
from pastures.i18n import _
from pastures.io import atomic_output

logger = logging.getLogger(__name__)

#: Identifies the layout of the record (bump when keys change).
RECORD_FORMAT: Final = "pastures-provenance/1"
#: Libraries whose versions change the numbers, listed in every record.
LIBRARIES: Final = ("numpy", "pandas", "geopandas", "shapely", "pyproj", "rasterio", "scipy")
#: Suffix added to a table's file name for its sidecar (``budget.csv`` → ``budget.csv.json``).
SIDECAR_SUFFIX: Final = ".json"
_CHUNK: Final = 1 << 20


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def software_versions() -> dict[str, str]:
    """Versions of pastures, Python, GDAL/PROJ (through rasterio/pyproj) and the libraries."""
    versions = {"pastures": _version("pastures"), "python": platform.python_version()}
    versions.update({name: _version(name) for name in LIBRARIES})
    try:
        import rasterio

        versions["gdal"] = str(rasterio.__gdal_version__)
    except ImportError:  # pragma: no cover - rasterio is a core dependency
        pass
    try:
        import pyproj

        versions["proj"] = str(pyproj.proj_version_str)
    except ImportError:  # pragma: no cover
        pass
    return versions


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, as 64 hex digits."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def input_checksum(path: Path) -> dict[str, Any]:
    """Checksum entry of one input: a file, or a folder (every file under it).

    A folder's SHA-256 is that of the sorted lines ``<sha256>  <relative path>``
    of its files (the format of ``sha256sum``), so it changes when any file is
    added, removed, renamed or edited. Shapefiles and other multi-file inputs
    are best given as their folder or as each of their files.

    Raises
    ------
    InputFileError
        If `path` does not exist.
    """
    p = Path(path)
    if p.is_file():
        return {"path": str(p), "sha256": file_sha256(p), "bytes": p.stat().st_size}
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file())
        lines = "".join(f"{file_sha256(f)}  {f.relative_to(p).as_posix()}\n" for f in files)
        return {
            "path": str(p),
            "sha256": hashlib.sha256(lines.encode("utf-8")).hexdigest(),
            "files": len(files),
            "bytes": sum(f.stat().st_size for f in files),
        }
    raise InputFileError(
        _(
            "Input '{p}' named in the provenance record does not exist; check the "
            "path (it must be the file the stage really read)."
        ).format(p=p)
    )


def jsonable(value: Any) -> Any:  # noqa: PLR0911 - one return per kind of value
    """`value` as plain JSON data: dataclasses, paths, dates, enums, numpy scalars, sets.

    Non-finite floats become strings (``"nan"``, ``"inf"``): JSON has no NaN.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, set | frozenset):
        return sorted((jsonable(v) for v in value), key=repr)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return jsonable(value.item())  # numpy scalar
    if hasattr(value, "tolist") and callable(value.tolist):
        return jsonable(value.tolist())  # numpy array
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def provenance_record(
    *,
    parameters: Mapping[str, Any],
    inputs: Iterable[Path],
    defaults: Mapping[str, str],
) -> dict[str, Any]:
    """The provenance of one output: software, parameters, inputs and the defaults used.

    Parameters
    ----------
    parameters
        Every parameter of the stage, as used (after defaults were filled in).
        Dataclasses, paths, dates and numpy values are converted to JSON.
    inputs
        Files (or folders) the stage read; each gets its SHA-256.
    defaults
        For each parameter left at its default: where the default comes from
        (``{"use_factor": "0.5, Holechek et al. 2011, take half leave half"}``).

    Returns
    -------
    dict
        ``{"format", "software": {"pastures": version, ...}, "parameters",
        "inputs": [{"path", "sha256", "bytes"}...], "defaults"}``; plain JSON data.

    Raises
    ------
    InputFileError
        If an input does not exist.
    """
    unique = list(dict.fromkeys(Path(p) for p in inputs))
    return {
        "format": RECORD_FORMAT,
        "software": software_versions(),
        "parameters": jsonable(parameters),
        "inputs": [input_checksum(p) for p in unique],
        "defaults": {str(k): str(v) for k, v in defaults.items()},
    }


def sidecar_path(table_path: Path) -> Path:
    """Where the sidecar of a table goes: the table's name plus ``.json``."""
    table_path = Path(table_path)
    return table_path.with_name(table_path.name + SIDECAR_SUFFIX)


def write_sidecar(table_path: Path, record: dict[str, Any]) -> Path:
    """Write the provenance record of a table as ``<table>.json`` beside it, atomically.

    ``budget.csv`` gets ``budget.csv.json`` (so ``budget.csv`` and
    ``budget.parquet`` keep one sidecar each). If the table exists, the sidecar
    also gives its SHA-256 under ``"output"``, so a table edited by hand
    afterwards can be told from the one the record describes.

    Returns
    -------
    Path
        The sidecar written.
    """
    table_path = Path(table_path)
    content = dict(jsonable(record))
    if table_path.is_file():
        content["output"] = {
            "path": table_path.name,
            "sha256": file_sha256(table_path),
            "bytes": table_path.stat().st_size,
        }
    target = sidecar_path(table_path)
    with atomic_output(target) as tmp:
        tmp.write_text(
            json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
    return target


__all__ = [
    "file_sha256",
    "input_checksum",
    "jsonable",
    "provenance_record",
    "sidecar_path",
    "software_versions",
    "write_sidecar",
]
