"""pastures: pasture (rangeland) management and mapping for Juli, Puno, Peru.

Combines community boundaries, fenced plots, corrals and herd registers with
satellite vegetation indices to follow pasture condition, budget forage, plan
grazing rotations and estimate erosion risk.
"""

from __future__ import annotations

from pastures.errors import PasturesError, ValidationError

__all__ = ["PasturesError", "ValidationError", "__version__"]


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed metadata on first use.

    :mod:`importlib.metadata` takes longer to import than the whole command line; the
    CLI's ``--help`` does not need the version.
    """
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("pastures")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        value = "0+unknown"
    globals()["__version__"] = value
    return value
