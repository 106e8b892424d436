"""The bundled, illustrative Juli sample layers.

The files in ``data/boundaries/`` are built by ``scripts/make_sample_layers.py``
from the published facts of the Juli project (see that folder's README). They are
illustrative, not official boundaries, and go through exactly the same code as
real files.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pastures import schema as S
from pastures.errors import InputFileError
from pastures.i18n import _

#: Files of the sample, by layer kind.
SAMPLE_FILES = {
    S.COMMUNITIES: f"{S.COMMUNITIES}.geojson",
    S.PLOTS: f"{S.PLOTS}.geojson",
    S.CORRALS: f"{S.CORRALS}.geojson",
    S.WATER_POINTS: f"{S.WATER_POINTS}.geojson",
    S.HERDS: f"{S.HERDS}.csv",
}
#: The sample's quadrat cuts (made up: scripts/make_sample_cuts.py), beside the layers.
SAMPLE_CUTS = "quadrat_cuts.csv"


def sample_dir() -> Path:
    """Folder holding the sample layers (inside the installed package, or the source tree)."""
    candidates = [
        Path(str(resources.files("pastures"))) / "_data" / "boundaries",
        Path(__file__).resolve().parents[2] / "data" / "boundaries",
    ]
    for folder in candidates:
        if (folder / SAMPLE_FILES[S.PLOTS]).is_file():
            return folder
    raise InputFileError(
        _(
            "the bundled Juli sample layers were not found (looked in {value}). "
            "Reinstall pastures, or rebuild them with `python "
            "scripts/make_sample_layers.py`."
        ).format(value=", ".join(str(c) for c in candidates))
    )


def sample_paths() -> dict[str, Path]:
    """Path of each sample file, by layer kind (``communities``, ``plots``, ..., ``herds``)."""
    folder = sample_dir()
    return {kind: folder / name for kind, name in SAMPLE_FILES.items()}
