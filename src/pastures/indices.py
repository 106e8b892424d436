"""Vegetation indices from surface reflectance, through a small registry.

Each index is one :class:`IndexSpec` in :data:`INDICES`: the bands it reads (by
common name, see :data:`pastures.imagery.COMMON_BANDS`) and a ``numexpr``
expression over them. Adding an index is one call to :func:`register_index`.

The arithmetic is fused: ``numexpr`` evaluates the whole expression, the mask
and the cast to float32 in one pass over cache-sized blocks, on all cores, with
no chain of full-size temporaries. Float literals of an expression are bound as
float32 constants so that float32 bands are not silently promoted to float64.
Masked pixels (and pixels where an input band is NaN) come out as NaN.

Formulas and sources (see ``shared/DOMAIN.md``):

- NDVI = (NIR - Red) / (NIR + Red) (Rouse et al. 1974).
- SAVI = (1 + L)(NIR - Red) / (NIR + Red + L), L = 0.5 (Huete 1988).
- MSAVI2 = (2 NIR + 1 - sqrt((2 NIR + 1)² - 8 (NIR - Red))) / 2 (Qi et al. 1994).
- EVI = 2.5 (NIR - Red) / (NIR + 6 Red - 7.5 Blue + 1) (Huete et al. 2002).
- NDMI = (NIR - SWIR1) / (NIR + SWIR1) (Gao 1996, also called NDII).
- Bofedal index IB = (NDWI - NDII) / (NDWI + NDII), NDWI = (Green - NIR) / (Green + NIR)
  (McFeeters 1996), NDII = NDMI above (Garcia et al. 2021).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

import numexpr
import numpy as np

from pastures.errors import LayerError, ParameterError

logger = logging.getLogger(__name__)

#: Soil-adjustment factor L of SAVI (Huete 1988: 0.5 suits intermediate cover).
SAVI_L: Final = 0.5


@dataclass(frozen=True)
class IndexSpec:
    """One vegetation index: the bands it needs and how to compute it.

    Attributes
    ----------
    name
        Short lower-case name, used in tables and on the command line.
    bands
        Common band names the expression reads (``"red"``, ``"nir"``...).
    expression
        ``numexpr`` expression over the band names and the `constants`.
    description
        One line for ``--help`` and table headers.
    reference
        Where the formula comes from.
    constants
        Named constants of the expression (e.g. ``{"L": 0.5}``).
    """

    name: str
    bands: tuple[str, ...]
    expression: str
    description: str
    reference: str
    constants: Mapping[str, float] = field(default_factory=dict)


_FLOAT_LITERAL = re.compile(r"(?<![\w.])(\d+\.\d*|\.\d+)(?![\w.])")


def _float32_constants(expression: str) -> tuple[str, dict[str, np.float32]]:
    """Replace float literals by named float32 constants (numexpr reads them as float64)."""
    constants: dict[str, np.float32] = {}

    def bind(match: re.Match[str]) -> str:
        key = f"_c{len(constants)}"
        constants[key] = np.float32(match.group(1))
        return key

    return _FLOAT_LITERAL.sub(bind, expression), constants


#: Every index `pastures` can compute, by name.
INDICES: dict[str, IndexSpec] = {}


def register_index(spec: IndexSpec) -> IndexSpec:
    """Add an index to :data:`INDICES` (replacing one of the same name).

    Parameters
    ----------
    spec
        The index to add; its expression is compiled once to check it.

    Returns
    -------
    IndexSpec
        `spec`, so the call can be used as an expression.
    """
    expression, literals = _float32_constants(spec.expression)
    probe: dict[str, object] = {b: np.ones(1, np.float32) for b in spec.bands}
    probe.update({k: np.float32(v) for k, v in spec.constants.items()}, **literals)
    try:
        numexpr.evaluate(expression, local_dict=probe)
    except (SyntaxError, KeyError, TypeError, ValueError) as exc:
        raise ParameterError(f"Index '{spec.name}': expression {spec.expression!r}: {exc}") from exc
    INDICES[spec.name] = spec
    return spec


_NDII = "((nir - swir16) / (nir + swir16))"
_NDWI = "((green - nir) / (green + nir))"

for _spec in (
    IndexSpec(
        "ndvi",
        ("red", "nir"),
        "(nir - red) / (nir + red)",
        "Normalised difference vegetation index",
        "Rouse et al. 1974",
    ),
    IndexSpec(
        "savi",
        ("red", "nir"),
        "(1 + L) * (nir - red) / (nir + red + L)",
        "Soil-adjusted vegetation index (L = 0.5)",
        "Huete 1988",
        {"L": SAVI_L},
    ),
    IndexSpec(
        "msavi2",
        ("red", "nir"),
        "(2 * nir + 1 - sqrt((2 * nir + 1) ** 2 - 8 * (nir - red))) / 2",
        "Modified soil-adjusted vegetation index 2",
        "Qi et al. 1994",
    ),
    IndexSpec(
        "evi",
        ("blue", "red", "nir"),
        "2.5 * (nir - red) / (nir + 6 * red - 7.5 * blue + 1)",
        "Enhanced vegetation index",
        "Huete et al. 2002",
    ),
    IndexSpec(
        "ndmi",
        ("nir", "swir16"),
        "(nir - swir16) / (nir + swir16)",
        "Normalised difference moisture index (NDII)",
        "Gao 1996",
    ),
    IndexSpec(
        "bofedal",
        ("green", "nir", "swir16"),
        f"({_NDWI} - {_NDII}) / ({_NDWI} + {_NDII})",
        "Bofedal (high-Andean wetland) index IB = (NDWI - NDII) / (NDWI + NDII)",
        "Garcia et al. 2021",
    ),
):
    register_index(_spec)

#: Indices computed when the user names none.
DEFAULT_INDICES: Final = ("ndvi", "savi", "msavi2", "evi", "ndmi", "bofedal")


def bands_needed(indices: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Return the common band names the given indices read, in a stable order.

    Raises
    ------
    ParameterError
        If an index is not in :data:`INDICES`.
    """
    needed: dict[str, None] = {}
    for name in indices:
        needed.update(dict.fromkeys(index_spec(name).bands))
    return tuple(needed)


def index_spec(name: str) -> IndexSpec:
    """Look an index up by name (case-insensitive), with a helpful error."""
    try:
        return INDICES[name.lower()]
    except KeyError:
        raise ParameterError(
            f"Unknown index '{name}'. Choose from: {', '.join(sorted(INDICES))}."
        ) from None


def compute_index(
    name: str,
    bands: Mapping[str, np.ndarray],
    *,
    valid: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Compute one index over reflectance bands, fused, as float32.

    Parameters
    ----------
    name
        Index name, a key of :data:`INDICES`.
    bands
        Surface reflectance (0-1) by common band name, all of one shape; float32
        keeps the arithmetic in single precision. NaN marks missing pixels.
    valid
        Boolean array of the same shape, False where the pixel is masked
        (cloud, shadow, snow, no data). Masked pixels are NaN in the result.
    out
        Optional float32 array to write into (no allocation).

    Returns
    -------
    numpy.ndarray
        float32 index values, NaN where masked, missing or undefined (0/0).

    Raises
    ------
    LayerError
        If a band the index needs is missing.
    """
    spec = index_spec(name)
    missing = [b for b in spec.bands if b not in bands]
    if missing:
        raise LayerError(
            f"Index '{spec.name}' needs band(s) {', '.join(missing)}, which the scene "
            f"does not provide (it has: {', '.join(sorted(bands)) or 'none'}). Add those "
            "band files to the scene or choose another index with --index."
        )
    expression, literals = _float32_constants(spec.expression)
    local: dict[str, object] = {b: bands[b] for b in spec.bands}
    local.update({k: np.float32(v) for k, v in spec.constants.items()})
    local.update(literals)
    if valid is not None:
        local["_valid"] = valid
        local["_nan"] = np.float32(np.nan)
        expression = f"where(_valid, {expression}, _nan)"
    shape = np.shape(bands[spec.bands[0]])
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    numexpr.evaluate(expression, local_dict=local, out=out, casting="same_kind")
    return out


def compute_indices(
    names: tuple[str, ...] | list[str],
    bands: Mapping[str, np.ndarray],
    *,
    valid: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Compute several indices over the same bands; see :func:`compute_index`."""
    return {index_spec(n).name: compute_index(n, bands, valid=valid) for n in names}
