"""pastures: pasture (rangeland) management and mapping for Juli, Puno, Peru.

Combines community boundaries, fenced plots, corrals and herd registers with
satellite vegetation indices to follow pasture condition, budget forage, plan
grazing rotations and estimate erosion risk.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from pastures.errors import PasturesError, ValidationError

try:
    __version__ = version("pastures")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = ["PasturesError", "ValidationError", "__version__"]
