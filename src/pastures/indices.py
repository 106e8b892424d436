"""Vegetation indices from surface reflectance, through a small registry.

Each index is one :class:`IndexSpec` in :data:`INDICES`: the bands it reads (by
common name, see :data:`pastures.imagery.COMMON_BANDS`) and an arithmetic
expression over them (``+ - * / **``, ``sqrt``, numbers and named constants).
Adding an index is one call to :func:`register_index`.

The arithmetic is fused and runs near memory speed: the expression is compiled
once into a short postfix program, and one compiled kernel (numba, cached on
disk, shared by every index) runs it over blocks of a few thousand pixels that
stay in the CPU cache, on all cores, writing float32 straight into the output.
There is no chain of full-size temporaries, and everything stays in single
precision. Masked pixels (and pixels where an input band is NaN) come out as NaN.

Formulas and sources (see ``shared/DOMAIN.md``):

- NDVI = (NIR - Red) / (NIR + Red) (Rouse et al. 1974).
- SAVI = (1 + L)(NIR - Red) / (NIR + Red + L), L = 0.5 (Huete 1988).
- MSAVI2 = (2 NIR + 1 - sqrt((2 NIR + 1)² - 8 (NIR - Red))) / 2 (Qi et al. 1994).
- EVI = 2.5 (NIR - Red) / (NIR + 6 Red - 7.5 Blue + 1) (Huete et al. 2002).
- NDMI = (NIR - SWIR1) / (NIR + SWIR1) (Gao 1996, also called NDII).
- Bofedal index IB = (NDWI - NDII) / (NDWI + NDII), NDWI = (Green - NIR) / (Green + NIR)
  (McFeeters 1996), NDII = NDMI above (Garcia et al. 2021).

Values that cannot be right are masked (NaN), never passed on:

- Outside the index's valid range (:attr:`IndexSpec.valid_range`): the normalised
  differences (NDVI, NDMI) are within [-1, 1] for any non-negative reflectances,
  and so are SAVI, MSAVI2 and EVI for reflectances in [0, 1] (EVI's valid range
  as in the MODIS VI product guide, Didan et al. 2015). A value outside comes from
  a denominator near 0 (NIR + red ≈ 0 after the -0.1 offset on dark water or
  shadow gives NDVI of -151), so it says nothing about the vegetation.
  :func:`mask_out_of_range` masks them and returns how many there were.
- Where a ratio's denominator is too near 0 to be meaningful
  (:attr:`IndexSpec.guard`): the bofedal index divides by NDWI + NDII, which
  crosses 0 over ordinary puna (NDWI ≈ -0.5, NDII ≈ 0.5 for moist grass), where
  the index jumps between ±infinity. It is masked where ``|NDWI + NDII| <``
  :data:`BOFEDAL_MIN_DENOMINATOR` (0.05). That threshold is our judgement, not a
  published figure: L2A surface reflectance is uncertain by the order of 0.01 per
  band, which moves each normalised difference by a few hundredths, so a
  denominator below 0.05 is mostly noise and IB there is noise times 20 or more.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pastures import _jit
from pastures.errors import LayerError, ParameterError
from pastures.i18n import _

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

#: Soil-adjustment factor L of SAVI (Huete 1988: 0.5 suits intermediate cover).
SAVI_L: Final = 0.5
#: Smallest |NDWI + NDII| for which the bofedal index is computed (ours; see the module
#: docstring: below it the denominator is within the noise of L2A reflectance).
BOFEDAL_MIN_DENOMINATOR: Final = 0.05


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
        Arithmetic expression over the band names and the `constants`.
    description
        One line for ``--help`` and table headers.
    reference
        Where the formula comes from.
    constants
        Named constants of the expression (e.g. ``{"L": 0.5}``).
    valid_range
        (low, high): values outside are masked and counted
        (:func:`mask_out_of_range`); None when the index has no bounds.
    guard
        (expression, threshold): the index is NaN wherever the absolute value of
        this expression (typically its denominator) is below the threshold.
    """

    name: str
    bands: tuple[str, ...]
    expression: str
    description: str
    reference: str
    constants: Mapping[str, float] = field(default_factory=dict)
    valid_range: tuple[float, float] | None = None
    guard: tuple[str, float] | None = None


_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


def _scalar_source(spec: IndexSpec, expression: str | None = None) -> str:
    """The expression of `spec` (or `expression`) as numba source over float32 scalars.

    Raises ValueError for an element the kernels cannot compile.

    Numbers and constants become float32 literals, so that the arithmetic stays in
    single precision; ``x ** 2`` becomes ``x * x``.
    """

    def visit(node: ast.AST) -> str:  # noqa: PLR0911 - one return per kind of node
        if isinstance(node, ast.Expression):
            return visit(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return f"np.float32({float(node.value)!r})"
        if isinstance(node, ast.Name) and node.id in spec.bands:
            return f"v_{node.id}"
        if isinstance(node, ast.Name) and node.id in spec.constants:
            return f"np.float32({float(spec.constants[node.id])!r})"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            return f"({'-' if isinstance(node.op, ast.USub) else '+'}{visit(node.operand)})"
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left = visit(node.left)
            square = isinstance(node.right, ast.Constant) and node.right.value == 2
            if isinstance(node.op, ast.Pow) and square:
                return f"({left} * {left})"
            return f"({left} {_BINARY[type(node.op)]} {visit(node.right)})"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "sqrt"
            and len(node.args) == 1
        ):
            return f"np.sqrt({visit(node.args[0])})"
        raise ValueError(_("unsupported element {value!r}").format(value=ast.unparse(node)))

    return visit(ast.parse(spec.expression if expression is None else expression, mode="eval"))


_KERNEL_LOOP = """
def {kind}({bands}, valid, use_valid, out):
    nan = np.float32(np.nan)
    for j in {loop}(out.size):
{loads}
        value = {body}
{guard}        out[j] = value if (not use_valid or valid[j]) else nan
"""
_KERNEL_HEADER = """# Generated by pastures.indices for the index {name!r}: {expression}
import numba
import numpy as np
"""
#: Arrays smaller than this (pixels) are computed on one core: starting threads costs more.
PARALLEL_MIN_PIXELS: Final = 1 << 20

_KERNELS: dict[str, tuple[Callable[..., None], Callable[..., None]]] = {}


def _kernels(spec: IndexSpec) -> tuple[Callable[..., None], Callable[..., None]]:
    """The compiled kernels (one core, all cores) of an index, cached on disk.

    The kernel's source is written to a cache folder (``PASTURES_CACHE`` or
    ``~/.cache/pastures``) and imported from there, so that numba can keep the
    compiled machine code between runs; where that folder cannot be written the
    kernel is compiled in memory instead.
    """
    if spec.name in _KERNELS:
        return _KERNELS[spec.name]
    _jit.import_arraymath()
    parts = {
        "bands": ", ".join(f"b_{b}" for b in spec.bands),
        "loads": "\n".join(f"        v_{b} = b_{b}[j]" for b in spec.bands),
        "body": _scalar_source(spec),
        "guard": (
            f"        if not abs({_scalar_source(spec, spec.guard[0])}) >= "
            f"np.float32({float(spec.guard[1])!r}):\n            value = nan\n"
            if spec.guard
            else ""
        ),
    }
    source = (
        _KERNEL_HEADER.format(name=spec.name, expression=spec.expression)
        + '\n\n@numba.njit(cache=True, error_model="numpy")'
        + _KERNEL_LOOP.format(kind="serial", loop="range", **parts)
        + '\n\n@numba.njit(cache=True, parallel=True, error_model="numpy")'
        + _KERNEL_LOOP.format(kind="parallel", loop="numba.prange", **parts)
    )
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    safe_name = re.sub(r"\W", "_", spec.name)
    module_name = f"pastures_index_{safe_name}_{digest}"
    namespace: dict[str, Any] = {}
    try:
        folder = Path(os.environ.get("PASTURES_CACHE", Path.home() / ".cache" / "pastures"))
        folder = folder / "index_kernels"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{module_name}.py"
        if not path.exists():
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(source, encoding="utf-8")
            tmp.replace(path)
        loader = importlib.util.spec_from_file_location(module_name, path)
        assert loader is not None
        assert loader.loader is not None
        module = importlib.util.module_from_spec(loader)
        sys.modules[module_name] = module  # numba's cache looks the module up by name
        loader.loader.exec_module(module)
        kernels = (module.serial, module.parallel)
    except OSError as exc:
        logger.debug("Index kernel cache not writable (%s); compiling in memory", exc)
        exec(compile(source, f"<index {spec.name}>", "exec"), namespace)
        kernels = (namespace["serial"], namespace["parallel"])
    _KERNELS[spec.name] = kernels
    return kernels


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
    try:
        _scalar_source(spec)
        if spec.guard:
            _scalar_source(spec, spec.guard[0])
    except (SyntaxError, ValueError) as exc:
        raise ParameterError(
            _("Index '{name}': expression {expression!r}: {exc}").format(
                name=spec.name, expression=spec.expression, exc=exc
            )
        ) from exc
    _KERNELS.pop(spec.name, None)
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
        valid_range=(-1.0, 1.0),
    ),
    IndexSpec(
        "savi",
        ("red", "nir"),
        "(1 + L) * (nir - red) / (nir + red + L)",
        "Soil-adjusted vegetation index (L = 0.5)",
        "Huete 1988",
        {"L": SAVI_L},
        valid_range=(-1.0, 1.0),
    ),
    IndexSpec(
        "msavi2",
        ("red", "nir"),
        "(2 * nir + 1 - sqrt((2 * nir + 1) ** 2 - 8 * (nir - red))) / 2",
        "Modified soil-adjusted vegetation index 2",
        "Qi et al. 1994",
        valid_range=(-1.0, 1.0),
    ),
    IndexSpec(
        "evi",
        ("blue", "red", "nir"),
        "2.5 * (nir - red) / (nir + 6 * red - 7.5 * blue + 1)",
        "Enhanced vegetation index",
        "Huete et al. 2002",
        valid_range=(-1.0, 1.0),
    ),
    IndexSpec(
        "ndmi",
        ("nir", "swir16"),
        "(nir - swir16) / (nir + swir16)",
        "Normalised difference moisture index (NDII)",
        "Gao 1996",
        valid_range=(-1.0, 1.0),
    ),
    IndexSpec(
        "bofedal",
        ("green", "nir", "swir16"),
        f"({_NDWI} - {_NDII}) / ({_NDWI} + {_NDII})",
        "Bofedal (high-Andean wetland) index IB = (NDWI - NDII) / (NDWI + NDII)",
        "Garcia et al. 2021",
        guard=(f"{_NDWI} + {_NDII}", BOFEDAL_MIN_DENOMINATOR),
    ),
):
    register_index(_spec)

#: Indices computed when the user names none.
DEFAULT_INDICES: Final = ("ndvi", "savi", "msavi2", "evi", "ndmi", "bofedal")


def computable(
    indices: tuple[str, ...] | list[str], bands: Iterable[str]
) -> tuple[list[str], dict[str, list[str]]]:
    """Split `indices` into those the `bands` allow and those they do not.

    Returns
    -------
    computable, skipped
        Index names that can be computed, in order, and for each other index the
        bands it lacks (e.g. ``{"ndmi": ["swir16"]}`` for a scene of 10 m bands).
    """
    have = set(bands)
    ok: list[str] = []
    skipped: dict[str, list[str]] = {}
    for name in indices:
        spec = index_spec(name)
        missing = [b for b in spec.bands if b not in have]
        if missing:
            skipped[spec.name] = missing
        else:
            ok.append(spec.name)
    return ok, skipped


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
            _("Unknown index '{name}'. Choose from: {value}.").format(
                name=name, value=", ".join(sorted(INDICES))
            )
        ) from None


def compute_index(
    name: str,
    bands: Mapping[str, np.ndarray],
    *,
    valid: np.ndarray | None = None,
    out: np.ndarray | None = None,
    mask_range: bool = True,
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
    mask_range
        Mask values outside the index's valid range (default). Pass False to
        count them yourself with :func:`mask_out_of_range`.

    Returns
    -------
    numpy.ndarray
        float32 index values, NaN where masked, missing, undefined (0/0), outside
        the valid range or where the index's guard applies (see the module
        docstring).

    Raises
    ------
    LayerError
        If a band the index needs is missing.
    """
    import numpy as np

    spec = index_spec(name)
    missing = [b for b in spec.bands if b not in bands]
    if missing:
        raise LayerError(
            _(
                "Index '{name}' needs band(s) {value}, which the scene does not provide "
                "(it has: {value2}). Add those band files to the scene or choose another "
                "index with --index."
            ).format(
                name=spec.name, value=", ".join(missing), value2=", ".join(sorted(bands)) or "none"
            )
        )
    shape = np.shape(bands[spec.bands[0]])
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    flat = [np.ascontiguousarray(bands[b], dtype=np.float32).reshape(-1) for b in spec.bands]
    mask = (
        np.ascontiguousarray(valid, dtype=np.bool_).reshape(-1)
        if valid is not None
        else np.ones(1, dtype=np.bool_)
    )
    serial, parallel = _kernels(spec)
    kernel = parallel if out.size >= PARALLEL_MIN_PIXELS else serial
    kernel(*flat, mask, valid is not None, out.reshape(-1))
    if mask_range:
        masked = mask_out_of_range(spec.name, out)
        if masked:
            logger.debug("%s: %d value(s) outside %s masked", spec.name, masked, spec.valid_range)
    return out


def mask_out_of_range(name: str, values: np.ndarray) -> int:
    """Set to NaN, in place, the values of index `name` outside its valid range.

    Parameters
    ----------
    name
        Index name, a key of :data:`INDICES`.
    values
        Float array of that index (modified in place).

    Returns
    -------
    int
        How many values were masked (0 for an index with no valid range).
    """
    import numpy as np

    spec = index_spec(name)
    if spec.valid_range is None:
        return 0
    low, high = spec.valid_range
    with np.errstate(invalid="ignore"):
        outside = (values < low) | (values > high)
    count = int(np.count_nonzero(outside))
    if count:
        values[outside] = np.nan
    return count


def compute_indices(
    names: tuple[str, ...] | list[str],
    bands: Mapping[str, np.ndarray],
    *,
    valid: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Compute several indices over the same bands; see :func:`compute_index`."""
    return {index_spec(n).name: compute_index(n, bands, valid=valid) for n in names}
