"""Provenance records and JSON sidecars."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

from pastures.errors import InputFileError, PasturesError
from pastures.provenance import (
    RECORD_FORMAT,
    input_checksum,
    provenance_record,
    sidecar_path,
    write_sidecar,
)


@dataclass(frozen=True)
class _Params:
    use_factor: float = 0.5
    rest_days: int = 60


@pytest.fixture
def inputs(tmp_path):
    a = tmp_path / "plots.geojson"
    a.write_bytes(b'{"type": "FeatureCollection", "features": []}')
    folder = tmp_path / "scenes"
    (folder / "S2A").mkdir(parents=True)
    (folder / "S2A" / "red.tif").write_bytes(b"red")
    (folder / "S2A" / "nir.tif").write_bytes(b"nir")
    return a, folder


def test_record_names_version_parameters_checksums_and_default_sources(inputs):
    plots, folder = inputs
    record = provenance_record(
        parameters={
            "rotation": _Params(),
            "start": dt.date(2024, 5, 1),
            "out": Path("out"),
            "weights": np.array([0.25, 0.75]),
            "nodata": np.float32(np.nan),
        },
        inputs=[plots, folder, plots],
        defaults={"use_factor": "0.5: take half, leave half (Holechek et al. 2011)"},
    )
    assert record["format"] == RECORD_FORMAT
    assert record["software"]["pastures"] == version("pastures")
    assert record["parameters"] == {
        "rotation": {"use_factor": 0.5, "rest_days": 60},
        "start": "2024-05-01",
        "out": "out",
        "weights": [0.25, 0.75],
        "nodata": "nan",
    }
    assert len(record["inputs"]) == 2  # the repeated file is listed once
    first, second = record["inputs"]
    assert first["sha256"] == hashlib.sha256(plots.read_bytes()).hexdigest()
    assert first["bytes"] == plots.stat().st_size
    # the folder: sha256sum lines of its files, sorted by relative path
    lines = (
        f"{hashlib.sha256(b'nir').hexdigest()}  S2A/nir.tif\n"
        f"{hashlib.sha256(b'red').hexdigest()}  S2A/red.tif\n"
    )
    assert second["sha256"] == hashlib.sha256(lines.encode()).hexdigest()
    assert second["files"] == 2
    assert record["defaults"]["use_factor"].startswith("0.5")
    json.dumps(record, allow_nan=False)  # plain, strict JSON


def test_record_is_the_same_on_every_run(inputs):
    kwargs = {"parameters": {"k": 1}, "inputs": list(inputs), "defaults": {}}
    assert provenance_record(**kwargs) == provenance_record(**kwargs)


def test_a_changed_input_changes_its_checksum(inputs):
    _, folder = inputs
    before = input_checksum(folder)["sha256"]
    (folder / "S2A" / "nir.tif").write_bytes(b"nir, downloaded again")
    assert input_checksum(folder)["sha256"] != before


def test_missing_input_is_named(tmp_path):
    missing = tmp_path / "herds.csv"
    with pytest.raises(InputFileError, match=r"herds\.csv.*does not exist"):
        provenance_record(parameters={}, inputs=[missing], defaults={})
    assert issubclass(InputFileError, PasturesError)


def test_sidecar_sits_beside_the_table_and_checksums_it(tmp_path, inputs):
    table = tmp_path / "budget.csv"
    table.write_text("community,uo\nAlfa,12\n", encoding="utf-8")
    record = provenance_record(parameters={"use_factor": 0.5}, inputs=[inputs[0]], defaults={})
    path = write_sidecar(table, record)
    assert path == tmp_path / "budget.csv.json" == sidecar_path(table)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["parameters"] == {"use_factor": 0.5}
    assert data["output"]["sha256"] == hashlib.sha256(table.read_bytes()).hexdigest()
    assert [p.name for p in tmp_path.iterdir() if "part" in p.name] == []  # atomic
    assert write_sidecar(tmp_path / "budget.parquet", record).name == "budget.parquet.json"
