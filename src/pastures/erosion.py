"""Erosion and overgrazing risk: RUSLE on the terrain, grazing pressure, risk per plot.

Soil loss follows the Revised Universal Soil Loss Equation (Renard et al. 1997,
USDA Agriculture Handbook 703)::

    A = R · K · LS · C · P        [t·ha⁻¹·yr⁻¹]

with R the rainfall erosivity (MJ·mm·ha⁻¹·h⁻¹·yr⁻¹), K the soil erodibility
(t·ha·h·ha⁻¹·MJ⁻¹·mm⁻¹), LS the slope length and steepness factor
(:func:`pastures.terrain.ls_factor`), C the cover-management factor and P the
support-practice factor (both dimensionless, 0-1).

Grazing pressure is the plot's stocking divided by its carrying capacity (both in UO),
optionally spread within the plot by distance from corrals and water points (a
piosphere). Risk combines the two: the soil-loss class, raised one class when the plot
is stocked above capacity and two when above twice its capacity. Every threshold is a
parameter; the defaults and their sources are given where they are defined.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import numba
import numpy as np
from affine import Affine

from pastures import climate
from pastures import schema as S
from pastures.defaults import DEFAULT_STREAM_THRESHOLD, STREAM_RULES, StreamRule
from pastures.errors import (
    CRSError,
    InputFileError,
    LayerError,
    OutputError,
    ParameterError,
    PasturesWarning,
)
from pastures.i18n import N_, _, available_languages, gettext_for
from pastures.terrain import (
    _MAX_KEY,
    _MIN_KEY,
    DEFAULT_L_MAX,
    Dem,
    FlowMethod,
    Terrain,
    _float_key,
    dem_notes,
    read_band_float32,
    terrain_factors,
)

if TYPE_CHECKING:  # imported where used: soil_loss_file runs without them (less memory)
    import geopandas as gpd
    import pandas as pd

logger = logging.getLogger(__name__)

__all__ = [
    "JULI_MONTHLY_RAIN_MM",
    "CoverParams",
    "DemCoverageWarning",
    "DemQualityWarning",
    "PressureParams",
    "RiskAssessment",
    "RiskSettings",
    "RiskThresholds",
    "RusleParams",
    "SupportPractices",
    "assess_risk",
    "cover_factor",
    "erodibility_from_soils",
    "grazing_pressure",
    "load_settings",
    "modified_fournier_index",
    "piosphere_weights",
    "plot_labels",
    "rainfall_erosivity",
    "risk_classes",
    "settings_from_mapping",
    "soil_loss",
    "soil_loss_file",
    "support_practice_factor",
    "vegetation_cover",
]

#: Monthly rainfall normals (mm, Jan-Dec) of the SENAMHI Juli station (3,830 m), 1991-2020.
JULI_MONTHLY_RAIN_MM: Final = climate.JULI_MONTHLY_RAIN_MM

ErosivityMethod = Literal["fournier", "annual"]
#: Upper bound accepted for R (MJ·mm·ha⁻¹·h⁻¹·yr⁻¹); the wettest tropics stay below it.
MAX_EROSIVITY: Final = 30_000.0
#: Upper bound accepted for K in SI units (t·ha·h·ha⁻¹·MJ⁻¹·mm⁻¹); US-unit K is ~7.6x larger.
MAX_ERODIBILITY: Final = 0.1
#: Risk raster code for no data.
RISK_NODATA: Final = 255


class DemCoverageWarning(PasturesWarning):
    """Some plots lie partly or wholly outside the DEM (or over its no-data)."""


class DemQualityWarning(PasturesWarning):
    """The DEM is coarser than the working grid, or has holes inside it.

    See :func:`pastures.terrain.dem_notes`.
    """


# --- R: rainfall erosivity ---------------------------------------------------------------


def modified_fournier_index(monthly_rain_mm: Sequence[float]) -> float:
    """Modified Fournier index F = Σ pᵢ² / P (mm) of twelve monthly rainfalls.

    Arnoldus (1980, FAO Soils Bulletin 34): pᵢ the rainfall of month i, P the annual sum.

    Parameters
    ----------
    monthly_rain_mm
        Twelve monthly rainfall totals (mm), January to December.

    Returns
    -------
    float
        F (mm).
    """
    p = np.asarray(monthly_rain_mm, dtype=float)
    if p.shape != (12,) or not np.all(np.isfinite(p)) or (p < 0).any():
        raise ParameterError(
            f"Give twelve monthly rainfall totals >= 0 mm (Jan-Dec); got {list(p)}."
        )
    total = p.sum()
    if total <= 0:
        raise ParameterError("Annual rainfall is zero: erosivity cannot be derived from it.")
    return float((p**2).sum() / total)


def rainfall_erosivity(
    monthly_rain_mm: Sequence[float] = JULI_MONTHLY_RAIN_MM,
    *,
    method: ErosivityMethod = "annual",
) -> float:
    """RUSLE R (MJ·mm·ha⁻¹·h⁻¹·yr⁻¹) from monthly rainfall, after Renard and Freimund (1994).

    Renard, K.G. and Freimund, J.R. (1994), Using monthly precipitation data to estimate
    the R-factor in the revised USLE, J. Hydrology 157:287-306:

    * ``"annual"`` (default), from the annual rainfall P (mm): R = 0.04830 P^1.610 for
      P < 850 mm, else R = 587.8 - 1.219 P + 0.004105 P².
    * ``"fournier"``, from the modified Fournier index F (mm),
      :func:`modified_fournier_index`: R = 0.07397 F^1.847 for F < 55 mm, else
      R = 95.77 - 6.081 F + 0.4770 F².

    Both were fitted to US stations; no altiplano calibration exists (DOMAIN.md). For the
    Juli normals they give about 2,700 (P = 885.5 mm) and 9,100 (F = 144 mm: the rain is
    concentrated in Dec-Mar). The default is the lower one because the Fournier fit gives
    almost twice the national mean of the PISCO_reed grid (4,831; Remote Sens. 2023,
    15(22):5432), which includes the far more intense Amazonian rain, whereas altiplano
    storms are frequent but of low intensity. Prefer an erosivity raster (PISCO_reed)
    when you have one.

    Parameters
    ----------
    monthly_rain_mm
        Twelve monthly rainfall totals (mm), January to December; default the SENAMHI
        Juli normals 1991-2020.
    method
        ``"annual"`` or ``"fournier"``.

    Returns
    -------
    float
        R (MJ·mm·ha⁻¹·h⁻¹·yr⁻¹).
    """
    if method == "fournier":
        f = modified_fournier_index(monthly_rain_mm)
        return 0.07397 * f**1.847 if f < 55 else 95.77 - 6.081 * f + 0.4770 * f**2
    if method == "annual":
        modified_fournier_index(monthly_rain_mm)  # validates
        p = float(np.sum(monthly_rain_mm))
        return 0.04830 * p**1.610 if p < 850 else 587.8 - 1.219 * p + 0.004105 * p**2
    raise ParameterError(f"Unknown erosivity method {method!r}; use 'fournier' or 'annual'.")


#: Default R for Juli (MJ·mm·ha⁻¹·h⁻¹·yr⁻¹): :func:`rainfall_erosivity` of the SENAMHI normals
#: (annual-rainfall form, about 2,730).
JULI_EROSIVITY: Final = rainfall_erosivity()


# --- C: cover management -----------------------------------------------------------------


@dataclass(frozen=True)
class CoverParams:
    """Vegetation cover from a vegetation index (NDVI by default).

    Attributes
    ----------
    alpha, beta
        Shape parameters (dimensionless) of the van der Knijff et al. (2000) C factor,
        C = exp(-alpha · NDVI / (beta - NDVI)); defaults 2 and 1 (their values for
        Europe; van der Knijff, Jones and Montanarella 2000, EUR 19044 EN).
    ndvi_bare, ndvi_full
        NDVI of bare soil and of full cover, for the fractional cover
        ((NDVI - ndvi_bare) / (ndvi_full - ndvi_bare))² of Carlson and Ripley (1997,
        Remote Sens. Environ. 62:241-252). Defaults 0.05 and 0.80; calibrate locally.
    """

    alpha: float = 2.0
    beta: float = 1.0
    ndvi_bare: float = 0.05
    ndvi_full: float = 0.80

    def __post_init__(self) -> None:
        if not self.alpha > 0 or not self.beta > 0:
            raise ParameterError(
                f"van der Knijff alpha and beta must be positive; got {self.alpha}, {self.beta}."
            )
        if not -1 <= self.ndvi_bare < self.ndvi_full <= 1:
            raise ParameterError(
                f"Need -1 <= ndvi_bare < ndvi_full <= 1; got {self.ndvi_bare} and {self.ndvi_full}."
            )


def _check_index(ndvi: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(ndvi, dtype=np.float32)
    vmin = float(np.fmin.reduce(arr, axis=None)) if arr.size else np.nan
    vmax = float(np.fmax.reduce(arr, axis=None)) if arr.size else np.nan
    if (np.isfinite(vmin) and vmin < -1.0001) or (np.isfinite(vmax) and vmax > 1.0001):
        raise ParameterError(
            f"Vegetation index values run from {vmin:g} to {vmax:g}, outside "
            "-1..1. Is the raster scaled (e.g. by 10,000)? Divide it before use."
        )
    return arr


def cover_factor(ndvi: np.ndarray, *, params: CoverParams | None = None) -> np.ndarray:
    """RUSLE C from NDVI after van der Knijff et al. (2000), clipped to [0, 1].

    C = exp(-α · NDVI / (β - NDVI)). Use a dry-season index (Aug-Oct at Juli, the lowest
    cover of the year) for the season when the soil is least protected.

    Parameters
    ----------
    ndvi
        Vegetation index (-1..1); ``NaN`` for no data.
    params
        :class:`CoverParams` (α, β).

    Returns
    -------
    numpy.ndarray
        C (dimensionless, 0-1), float32; ``NaN`` where the index is ``NaN``.
    """
    p = params or CoverParams()
    v = _check_index(ndvi)
    out = np.empty(v.shape, dtype=np.float32)
    _van_der_knijff(v.ravel(), p.alpha, p.beta, out.ravel())
    return out


@numba.njit(cache=True, parallel=True)
def _van_der_knijff(v: np.ndarray, alpha: float, beta: float, out: np.ndarray) -> None:
    for i in numba.prange(v.size):
        x = np.float64(v[i])
        if np.isnan(x):
            out[i] = np.nan
        elif x >= beta:
            out[i] = 0.0
        else:
            out[i] = min(1.0, math.exp(-alpha * x / (beta - x)))


def vegetation_cover(ndvi: np.ndarray, *, params: CoverParams | None = None) -> np.ndarray:
    """Fractional vegetation cover (0-1) from NDVI, after Carlson and Ripley (1997).

    Parameters
    ----------
    ndvi
        Vegetation index (-1..1); ``NaN`` for no data.
    params
        :class:`CoverParams` (``ndvi_bare``, ``ndvi_full``).

    Returns
    -------
    numpy.ndarray
        Cover fraction (0-1), float32.
    """
    p = params or CoverParams()
    v = _check_index(ndvi)
    scaled = np.clip((v - p.ndvi_bare) / (p.ndvi_full - p.ndvi_bare), 0.0, 1.0)
    return (scaled**2).astype(np.float32)


# --- P: support practices ----------------------------------------------------------------


@dataclass(frozen=True)
class SupportPractices:
    """RUSLE P (dimensionless) for the practices of the Juli project.

    A plot takes the lowest P of the practices it has (they are not multiplied: a
    terrace already follows the contour).

    Attributes
    ----------
    none
        No practice: 1.0 by definition.
    fenced
        A fence controls grazing, so it acts through cover (C) and pressure, not as a
        support practice: 1.0 by default. Set lower to credit it anyway.
    contour_works
        Contour furrows and infiltration ditches (zanjas de infiltración): 0.6, the
        contouring value for 9-12 % slopes (Wischmeier and Smith 1978, USDA Agriculture
        Handbook 537, Table 14).
    terraces
        Bench terraces (andenes, terrazas): 0.2, the lower range quoted for terraced
        cropland (Wischmeier and Smith 1978; Renard et al. 1997 ch. 6). Illustrative;
        replace with local values.
    """

    none: float = 1.0
    fenced: float = 1.0
    contour_works: float = 0.6
    terraces: float = 0.2

    def __post_init__(self) -> None:
        for name in ("none", "fenced", "contour_works", "terraces"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                raise ParameterError(f"P for {name!r} must be in (0, 1]; got {value}.")


def _flag(plots: pd.DataFrame, column: str) -> pd.Series:
    import pandas as pd

    if column not in plots.columns:
        return pd.Series(False, index=plots.index)
    values = plots[column]
    if values.dtype == bool:
        return values.fillna(False)
    text = values.astype("string").str.strip().str.lower()
    return text.isin(["1", "true", "yes", "si", "sí", "x"]).fillna(False).astype(bool)


def support_practice_factor(
    plots: pd.DataFrame, *, practices: SupportPractices | None = None
) -> pd.Series:
    """P per plot from its practices.

    Fenced: a ``fenced_year`` is given. Terraces and contour works: the optional boolean
    columns ``terraces`` and ``contour_works`` (``1``, ``true``, ``yes``, ``si``).

    Parameters
    ----------
    plots
        Plot table.
    practices
        P of each practice.

    Returns
    -------
    pandas.Series
        P (dimensionless), indexed like `plots`.
    """
    import pandas as pd

    pr = practices or SupportPractices()
    p = pd.Series(pr.none, index=plots.index, dtype=float)
    if S.FENCED_YEAR in plots.columns:
        p = p.where(plots[S.FENCED_YEAR].isna(), np.minimum(p, pr.fenced))
    p = p.where(~_flag(plots, S.CONTOUR_WORKS), np.minimum(p, pr.contour_works))
    return p.where(~_flag(plots, S.TERRACES), np.minimum(p, pr.terraces))


# --- K: soil erodibility ----------------------------------------------------------------


def erodibility_from_soils(soils: gpd.GeoDataFrame, dem: Dem, *, column: str = "k") -> np.ndarray:
    """K raster on the DEM grid from soil polygons carrying K values.

    Parameters
    ----------
    soils
        Soil map units (polygons) with a numeric K column, in SI units
        (t·ha·h·ha⁻¹·MJ⁻¹·mm⁻¹); any CRS.
    dem
        The grid.
    column
        Name of the K column.

    Returns
    -------
    numpy.ndarray
        K, float32; ``NaN`` outside every polygon (soil loss is then unknown there).

    Raises
    ------
    LayerError, CRSError, ParameterError
        Missing column or CRS, non-numeric or out-of-range K (every bad row listed).
    """
    import pandas as pd
    from rasterio.features import rasterize

    if soils.crs is None:
        raise CRSError("The soils layer has no CRS; set it before use.")
    if column not in soils.columns:
        raise LayerError(
            f"The soils layer has no column {column!r} (columns: "
            f"{', '.join(map(str, soils.columns.drop('geometry')))}). Name the K column."
        )
    k = pd.to_numeric(soils[column], errors="coerce")
    bad = [
        f"row {i + 1}: {value!r}"
        for i, (value, num) in enumerate(zip(soils[column], k, strict=True))
        if pd.isna(num) or not 0 <= num <= MAX_ERODIBILITY
    ]
    if bad:
        raise ParameterError(
            f"Soil K values must be numbers in [0, {MAX_ERODIBILITY:g}] (SI units; multiply "
            f"US-unit K by 0.1317): {'; '.join(bad)}."
        )
    shapes = [
        (geom, float(v))
        for geom, v in zip(soils.to_crs(dem.crs).geometry, k, strict=True)
        if geom is not None and not geom.is_empty
    ]
    out = rasterize(
        shapes, out_shape=dem.shape, transform=dem.transform, fill=np.nan, dtype="float32"
    )
    return np.asarray(out, dtype=np.float32)


# --- A: soil loss ------------------------------------------------------------------------


def _range(name: str, value: np.ndarray | float, low: float, high: float, hint: str = "") -> None:
    arr = np.asarray(value)
    if arr.size == 0:
        return
    # fmin/fmax skip NaN and allocate nothing: these rasters can be large.
    vmin = float(np.fmin.reduce(arr, axis=None))
    vmax = float(np.fmax.reduce(arr, axis=None))
    if (np.isfinite(vmin) and vmin < low) or (np.isfinite(vmax) and vmax > high):
        raise ParameterError(
            f"{name} must lie in [{low:g}, {high:g}]; got values from {vmin:g} to {vmax:g}.{hint}"
        )


def soil_loss(
    R: np.ndarray | float,
    K: np.ndarray | float,
    LS: np.ndarray | float,
    C: np.ndarray | float,
    P: np.ndarray | float = 1.0,
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """RUSLE soil loss A = R·K·LS·C·P (t·ha⁻¹·yr⁻¹), after Renard et al. (1997).

    Parameters
    ----------
    R
        Rainfall erosivity (MJ·mm·ha⁻¹·h⁻¹·yr⁻¹), scalar or raster.
    K
        Soil erodibility (t·ha·h·ha⁻¹·MJ⁻¹·mm⁻¹), scalar or raster.
    LS
        Slope length and steepness (dimensionless).
    C
        Cover management (dimensionless, 0-1).
    P
        Support practice (dimensionless, 0-1).
    out
        float32 array of the result's shape to write A into; it may be the LS or
        C array itself (the product is formed in place, no temporary).

    Returns
    -------
    numpy.ndarray
        A (t·ha⁻¹·yr⁻¹), float32; ``NaN`` wherever a factor is ``NaN``.

    Raises
    ------
    ParameterError
        A factor outside its physical range.
    """
    _range("R (erosivity, MJ·mm/ha/h/yr)", R, 0.0, MAX_EROSIVITY)
    _range(
        "K (erodibility, t·ha·h/ha/MJ/mm)",
        K,
        0.0,
        MAX_ERODIBILITY,
        " Is K in US customary units? Multiply it by 0.1317 for SI units.",
    )
    _range("LS", LS, 0.0, math.inf)
    _range("C (cover management)", C, 0.0, 1.0)
    _range("P (support practice)", P, 0.0, 1.0)
    factors = [np.asarray(f) for f in (R, K, LS, C, P)]
    shape = np.broadcast_shapes(*(f.shape for f in factors))
    if out is None:
        a = np.empty(shape, dtype=np.float32)
    elif out.shape != shape or out.dtype != np.float32:
        raise ParameterError(f"out must be float32 of shape {shape}; got {out.dtype} {out.shape}.")
    else:
        a = out
    np.multiply(factors[2], factors[3], out=a, casting="unsafe")  # LS·C, safe if a is either
    for f in (factors[0], factors[1], factors[4]):
        np.multiply(a, f, out=a, casting="unsafe")
    return a


@dataclass(frozen=True)
class RusleParams:
    """RUSLE settings.

    Attributes
    ----------
    erosivity
        R (MJ·mm·ha⁻¹·h⁻¹·yr⁻¹) used when no raster is given; default
        :data:`JULI_EROSIVITY`, from the Juli rainfall normals by
        :func:`rainfall_erosivity`.
    erodibility
        K (t·ha·h·ha⁻¹·MJ⁻¹·mm⁻¹) used when no raster is given. No value is published for
        the Titicaca basin (DOMAIN.md); 0.03 is a mid-range value for loams (European
        mean 0.032, Panagos et al. 2014, Sci. Total Environ. 479-480:189-200). Replace it.
    flow_method
        Flow routing for LS: ``"d8"`` or ``"mfd"``; default
        :data:`pastures.terrain.DEFAULT_FLOW_METHOD` (ours: InVEST SDR has no default).
    l_max
        Upper bound of L; default :data:`pastures.terrain.DEFAULT_L_MAX` (ours, with
        its reason there: InVEST SDR has no default for it).
    cover
        :class:`CoverParams` for C and cover.
    streams
        Soil loss on stream pixels (flow accumulation above `stream_threshold`):
        ``"keep"`` (default) computes RUSLE there as everywhere; ``"empty"`` leaves
        them without a value, as InVEST SDR does (its RKLS and USLE are nodata on
        streams), so that plot means and totals cover hillslope pixels only;
        ``"invest"`` leaves empty the streams InVEST SDR 3.20.2 finds and routes as it
        does, to reproduce its numbers: with D8 the same as ``"empty"``; with MFD the
        streams traced by ``extract_streams_mfd`` (:func:`pastures.terrain.stream_mask`)
        and MFD weights rounded to the 4-bit integers InVEST stores
        (:func:`pastures.terrain.flow_accumulation`). The
        default is ours: plots are ranked as wholes, and the puna's drainage lines
        (bofedales) lie inside the plots; blanking them would drop that ground from
        the plot totals, while their LS is already bounded by `l_max`. Choose
        ``"invest"`` to compare with InVEST, ``"empty"`` where channels are not grazed
        land.
    stream_threshold
        Flow accumulation (pixels, counting the pixel itself) above which a pixel
        is a stream, as InVEST's ``threshold_flow_accumulation`` (no default there;
        1000 is the value of its sample run). With MFD and ``"empty"`` the threshold
        alone is used; InVEST traces streams from it (``"invest"``).
    """

    erosivity: float = JULI_EROSIVITY
    erodibility: float = 0.03
    flow_method: FlowMethod = "d8"
    l_max: float = DEFAULT_L_MAX
    cover: CoverParams = field(default_factory=CoverParams)
    streams: StreamRule = "keep"
    stream_threshold: float = DEFAULT_STREAM_THRESHOLD

    def __post_init__(self) -> None:
        _range("R (erosivity)", self.erosivity, 0.0, MAX_EROSIVITY)
        _range(
            "K (erodibility)",
            self.erodibility,
            0.0,
            MAX_ERODIBILITY,
            " Is K in US customary units? Multiply it by 0.1317 for SI units.",
        )
        if self.flow_method not in ("d8", "mfd"):
            raise ParameterError(f"flow_method must be 'd8' or 'mfd'; got {self.flow_method!r}.")
        if not (self.l_max > 0 and math.isfinite(self.l_max)):
            raise ParameterError(f"l_max must be a positive finite number; got {self.l_max}.")
        if self.streams not in STREAM_RULES:
            raise ParameterError(
                f"streams must be one of {', '.join(STREAM_RULES)}; got {self.streams!r}."
            )
        if not (self.stream_threshold >= 1 and math.isfinite(self.stream_threshold)):
            raise ParameterError(
                "stream_threshold (pixels of flow accumulation) must be a finite number >= 1; "
                f"got {self.stream_threshold}."
            )

    def streams_note(self) -> str:
        """How stream pixels are treated, in words (for outputs)."""
        if self.streams == "invest" and self.flow_method == "mfd":
            return (
                f"left empty on streams traced as InVEST SDR 3.20 (extract_streams_mfd, "
                f"threshold {self.stream_threshold:g} pixels, traced down to 0.7 of it), "
                "with InVEST's 4-bit MFD weights"
            )
        if self.streams == "empty" and self.flow_method == "mfd":
            return (
                f"left empty on streams (MFD flow accumulation > {self.stream_threshold:g} "
                "pixels; InVEST SDR traces MFD streams instead, see --streams invest)"
            )
        if self.streams in ("empty", "invest"):
            return (
                f"left empty on streams (D8 flow accumulation > {self.stream_threshold:g} "
                "pixels), as InVEST SDR 3.20"
            )
        return "computed on stream pixels too (InVEST SDR leaves them empty)"


# --- plots on the grid -------------------------------------------------------------------


def _plots_on_grid(plots: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    if plots.crs is None:
        raise CRSError(
            "The plots layer has no CRS; read it with pastures.layers.read_layer or set it "
            "with GeoDataFrame.set_crs()."
        )
    if S.PLOT_CODE not in plots.columns:
        raise LayerError(f"The plots layer has no '{S.PLOT_CODE}' column.")
    codes = plots[S.PLOT_CODE].astype(str)
    if codes.duplicated().any():
        dups = sorted(set(codes[codes.duplicated()]))
        raise LayerError(f"Duplicate plot codes: {', '.join(dups)}. Each plot needs its own.")
    return plots.to_crs(crs).reset_index(drop=True)


def plot_labels(plots: gpd.GeoDataFrame, shape: tuple[int, int], transform: Affine) -> np.ndarray:
    """Rasterize plots: each pixel gets the 0-based row of the plot covering its centre.

    A plot smaller than a pixel keeps the pixel under its representative point. Where
    plots overlap, the later row wins.

    Parameters
    ----------
    plots
        Plot polygons in the grid's CRS.
    shape
        Grid shape (rows, cols).
    transform
        Grid transform.

    Returns
    -------
    numpy.ndarray
        int32 labels; -1 outside every plot.
    """
    from rasterio.features import rasterize

    shapes = [(geom, i) for i, geom in enumerate(plots.geometry) if geom is not None]
    labels = (
        rasterize(shapes, out_shape=shape, transform=transform, fill=-1, dtype="int32")
        if shapes
        else np.full(shape, -1, dtype=np.int32)
    )
    present = np.zeros(len(plots), dtype=bool)
    present[np.unique(labels[labels >= 0])] = True
    for i in np.flatnonzero(~present):
        geom = plots.geometry.iloc[i]
        if geom is None or geom.is_empty:
            continue
        point = geom.representative_point()
        r = math.floor((point.y - transform.f) / transform.e)
        c = math.floor((point.x - transform.c) / transform.a)
        if 0 <= r < shape[0] and 0 <= c < shape[1] and labels[r, c] < 0:
            labels[r, c] = i
    return labels


def _plot_mean(values: np.ndarray, labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and count of the finite values of each plot."""
    inside = labels >= 0
    lab = labels[inside]
    v = values[inside].astype(np.float64)
    ok = np.isfinite(v)
    count = np.bincount(lab[ok], minlength=n).astype(np.float64)
    total = np.bincount(lab[ok], weights=v[ok], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return mean, count


# --- grazing pressure --------------------------------------------------------------------


@dataclass(frozen=True)
class PressureParams:
    """Grazing pressure settings.

    Attributes
    ----------
    piosphere_decay_m
        Distance (m) over which grazing intensity falls by a factor e from the nearest
        corral or water point, w = exp(-d / decay); ``None`` for no piosphere weighting.
        No Andean value is published, and in the Argentine Puna plots near corrals were
        not always worse (dung): it is stated on every output that uses it.
    """

    piosphere_decay_m: float | None = None

    def __post_init__(self) -> None:
        d = self.piosphere_decay_m
        if d is not None and not 0 < d <= 50_000:
            raise ParameterError(f"piosphere_decay_m must be in (0, 50000] m; got {d}.")


def grazing_pressure(plots: pd.DataFrame, stocking: pd.DataFrame) -> pd.DataFrame:
    """Stocking, capacity and their ratio per plot.

    Parameters
    ----------
    plots
        Plot table with ``plot_code``.
    stocking
        Table with ``plot_code``, ``stocking_uo`` (animals grazing the plot, UO) and
        ``capacity_uo`` (its carrying capacity, UO).

    Returns
    -------
    pandas.DataFrame
        Indexed like `plots`: ``stocking_uo``, ``capacity_uo``, ``pressure_ratio``
        (``NaN`` for plots absent from `stocking`).

    Raises
    ------
    LayerError
        Missing columns, unknown or duplicate plot codes, negative or non-numeric
        stocking, capacity not positive (all rows are reported at once).
    """
    import pandas as pd

    missing = [c for c in (S.PLOT_CODE, S.STOCKING_UO, S.CAPACITY_UO) if c not in stocking]
    if missing:
        raise LayerError(
            f"The stocking table lacks column(s) {', '.join(missing)}; it needs "
            f"{S.PLOT_CODE}, {S.STOCKING_UO} and {S.CAPACITY_UO} (UO)."
        )
    table = stocking[[S.PLOT_CODE, S.STOCKING_UO, S.CAPACITY_UO]].copy()
    table[S.PLOT_CODE] = table[S.PLOT_CODE].astype(str).str.strip()
    problems: list[str] = []
    known = set(plots[S.PLOT_CODE].astype(str))
    for row, (code, stock, cap) in enumerate(table.itertuples(index=False), start=2):
        stock_v = pd.to_numeric(stock, errors="coerce")
        cap_v = pd.to_numeric(cap, errors="coerce")
        if code not in known:
            problems.append(f"row {row}: plot '{code}' is not in the plots layer")
        if pd.isna(stock_v) or stock_v < 0:
            problems.append(f"row {row} ({code}): {S.STOCKING_UO} {stock!r} is not a number >= 0")
        if pd.isna(cap_v) or cap_v <= 0:
            problems.append(f"row {row} ({code}): {S.CAPACITY_UO} {cap!r} is not a number > 0")
    dups = table[S.PLOT_CODE][table[S.PLOT_CODE].duplicated()]
    problems += [f"plot '{code}' appears more than once" for code in sorted(set(dups))]
    if problems:
        raise LayerError("Stocking table: " + "; ".join(problems) + ".")
    table[S.STOCKING_UO] = pd.to_numeric(table[S.STOCKING_UO])
    table[S.CAPACITY_UO] = pd.to_numeric(table[S.CAPACITY_UO])
    table[S.PRESSURE_RATIO] = table[S.STOCKING_UO] / table[S.CAPACITY_UO]
    out = plots[[S.PLOT_CODE]].astype(str).merge(table, on=S.PLOT_CODE, how="left")
    out.index = plots.index
    absent = out[S.PRESSURE_RATIO].isna().sum()
    if absent:
        logger.info("%d plot(s) have no stocking data: their pressure is unknown", absent)
    return out[[S.STOCKING_UO, S.CAPACITY_UO, S.PRESSURE_RATIO]]


def piosphere_weights(
    labels: np.ndarray,
    transform: Affine,
    points: np.ndarray,
    *,
    decay_m: float,
) -> np.ndarray:
    """Relative grazing intensity exp(-d / decay_m) by distance d to the nearest point.

    Only pixels inside plots (``labels >= 0``) are computed; others are ``NaN``.

    Parameters
    ----------
    labels
        Plot labels from :func:`plot_labels`.
    transform
        Grid transform.
    points
        (n, 2) array of x, y (m) of corrals and water points, in the grid's CRS.
    decay_m
        Decay distance (m).

    Returns
    -------
    numpy.ndarray
        Weights (0-1], float32.
    """
    out = np.full(labels.shape, np.nan, dtype=np.float32)
    rows, cols = np.nonzero(labels >= 0)
    if rows.size == 0:
        return out
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    if pts.shape[0] == 0:
        out[rows, cols] = 1.0
        return out
    x = transform.c + (cols + 0.5) * transform.a
    y = transform.f + (rows + 0.5) * transform.e
    nearest = np.full(rows.size, np.inf)
    for start in range(0, pts.shape[0], 64):
        chunk = pts[start : start + 64]
        d2 = (x[:, None] - chunk[None, :, 0]) ** 2 + (y[:, None] - chunk[None, :, 1]) ** 2
        nearest = np.minimum(nearest, d2.min(axis=1))
    out[rows, cols] = np.exp(-np.sqrt(nearest) / decay_m)
    return out


def _pressure_raster(
    ratio: np.ndarray, labels: np.ndarray, weights: np.ndarray | None
) -> np.ndarray:
    """Plot ratio on its pixels, spread by the piosphere weights (plot mean preserved)."""
    out = np.full(labels.shape, np.nan, dtype=np.float32)
    inside = labels >= 0
    plot_ratio = ratio[labels[inside]]
    if weights is None:
        out[inside] = plot_ratio
        return out
    mean_w, _ = _plot_mean(weights, labels, ratio.size)
    w = weights[inside] / mean_w[labels[inside]]
    out[inside] = plot_ratio * w
    return out


# --- risk --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RiskThresholds:
    """Class limits of erosion and overgrazing risk.

    Attributes
    ----------
    soil_loss
        Limits (t·ha⁻¹·yr⁻¹) between low, moderate, high and very high soil loss.
        Defaults 10, 50, 200: the erosion classes of FAO (1979, A provisional
        methodology for soil degradation assessment, FAO-UNEP-UNESCO). For reference,
        11.2 t/ha/yr is the largest tolerable loss of Wischmeier and Smith (1978); thin
        puna soils tolerate less.
    pressure
        Stocking/capacity ratios above which the class is raised by one and by two.
        Defaults 1 (stocked above capacity) and 2 (above twice capacity).
    """

    soil_loss: tuple[float, float, float] = (10.0, 50.0, 200.0)
    pressure: tuple[float, float] = (1.0, 2.0)

    def __post_init__(self) -> None:
        for name, limits in (("soil_loss", self.soil_loss), ("pressure", self.pressure)):
            if any(b <= a for a, b in itertools.pairwise(limits)) or limits[0] <= 0:
                raise ParameterError(f"{name} limits must be positive and increasing: {limits}.")


def risk_classes(
    soil_loss_t_ha_yr: np.ndarray,
    pressure_ratio: np.ndarray | None = None,
    *,
    thresholds: RiskThresholds | None = None,
) -> np.ndarray:
    """Risk class codes (0 low, 1 moderate, 2 high, 3 very high; 255 no data).

    The soil-loss class, raised one class where pressure exceeds the first pressure
    limit and two where it exceeds the second (capped at very high). Unknown pressure
    (``NaN``) raises nothing.

    Parameters
    ----------
    soil_loss_t_ha_yr
        Soil loss A (t·ha⁻¹·yr⁻¹).
    pressure_ratio
        Stocking / capacity (dimensionless), same shape; optional.
    thresholds
        :class:`RiskThresholds`.

    Returns
    -------
    numpy.ndarray
        uint8 codes; see :data:`pastures.schema.RISK_CLASSES`.
    """
    th = thresholds or RiskThresholds()
    a = np.asarray(soil_loss_t_ha_yr, dtype=np.float64)
    code = np.digitize(np.nan_to_num(a, nan=0.0), th.soil_loss)
    if pressure_ratio is not None:
        pr = np.nan_to_num(np.asarray(pressure_ratio, dtype=np.float64), nan=0.0)
        code = code + np.digitize(pr, th.pressure, right=True)
    code = np.minimum(code, len(S.RISK_CLASSES) - 1).astype(np.uint8)
    return np.where(np.isnan(a), RISK_NODATA, code).astype(np.uint8)


#: A language code with a catalog (``en``, ``es``...: :func:`pastures.i18n.available_languages`).
Language = str

#: Wording of drivers and actions (translated with the project's language at use;
#: Spanish for community assemblies). Placeholders are named for translators.
_WORDS: Final = {
    "slope": N_("slope {slope:.0f} %"),
    "cover": N_("dry-season cover {cover:.0f} %"),
    "pressure": N_("{ratio:.1f}x capacity"),
    "decay": N_(" (piosphere decay {decay:g} m)"),
    "loss": N_("soil loss {loss:.1f} t/ha/yr"),
    "coverage": N_("plot covered by terrain data: {share:.0f} %"),
    "no data": N_("no data"),
    "rest and protect": N_("rest and protect"),
    "rest": N_("rest (reduce stocking)"),
    "protect": N_("protect (soil conservation works)"),
    "keep": N_("keep current use"),
}


def _words(language: Language) -> dict[str, str]:
    """:data:`_WORDS` in `language` (the project's, not the command line's)."""
    translate = gettext_for(language)
    return {key: translate(text) for key, text in _WORDS.items()}


def _drivers(row: pd.Series, decay: float | None, language: Language = "en") -> str:
    import pandas as pd

    words = _words(language)
    parts = []
    if pd.notna(row[S.SLOPE_PCT]):
        parts.append(words["slope"].format(slope=row[S.SLOPE_PCT]))
    if pd.notna(row[S.COVER_PCT]):
        parts.append(words["cover"].format(cover=row[S.COVER_PCT]))
    if pd.notna(row[S.PRESSURE_RATIO]):
        text = words["pressure"].format(ratio=row[S.PRESSURE_RATIO])
        if decay:
            text += words["decay"].format(decay=decay)
        parts.append(text)
    if pd.notna(row[S.SOIL_LOSS_T_HA_YR]):
        parts.append(words["loss"].format(loss=row[S.SOIL_LOSS_T_HA_YR]))
    if pd.notna(row[S.DEM_COVERAGE]) and row[S.DEM_COVERAGE] < 0.99:
        parts.append(words["coverage"].format(share=100 * row[S.DEM_COVERAGE]))
    return ", ".join(parts) if parts else words["no data"]


def _action(row: pd.Series, th: RiskThresholds, language: Language = "en") -> str:
    import pandas as pd

    words = _words(language)
    if pd.isna(row[S.SOIL_LOSS_T_HA_YR]):
        return words["no data"]
    over = pd.notna(row[S.PRESSURE_RATIO]) and row[S.PRESSURE_RATIO] > th.pressure[0]
    eroding = row[S.SOIL_LOSS_T_HA_YR] > th.soil_loss[0]
    if over and eroding:
        return words["rest and protect"]
    if over:
        return words["rest"]
    if eroding:
        return words["protect"]
    return words["keep"]


# --- the whole chain ---------------------------------------------------------------------


#: Rows of the DEM grid read, multiplied and written at a time by :func:`soil_loss_file`.
BLOCK_ROWS: Final = 256


def _factor_reader(
    value: float | str | os.PathLike[str],
    name: str,
    grid: tuple[str, Affine, tuple[int, int]],
    resampling: str,
) -> tuple[tuple, object]:
    """Open files of a factor, and a function of a row window giving the factor there.

    A number is the factor everywhere; a raster is read window by window, through a
    warped view onto `grid` (CRS, transform, shape) when it lies on another grid.
    """
    if isinstance(value, int | float):
        return (), (lambda _window: float(value))
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.vrt import WarpedVRT
    from rasterio.warp import Resampling

    path = Path(value)
    if not path.exists():
        raise InputFileError(f"The {name} raster was not found: {path}.")
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise InputFileError(f"Cannot read the {name} raster {path}: {exc}.") from exc
    if src.crs is None:
        src.close()
        raise CRSError(f"The {name} raster {path} has no CRS; set it with gdal_edit.py -a_srs.")
    crs, transform, shape = grid
    same_grid = (
        src.crs == rasterio.crs.CRS.from_user_input(crs)
        and src.transform.almost_equals(transform)
        and (src.height, src.width) == shape
    )
    reader = (
        src
        if same_grid
        else WarpedVRT(
            src,
            crs=crs,
            transform=transform,
            width=shape[1],
            height=shape[0],
            resampling=getattr(Resampling, resampling),
            nodata=src.nodata,
        )
    )

    def read(window: object) -> np.ndarray:
        try:
            data = read_band_float32(reader, window)
        except RasterioIOError as exc:
            raise InputFileError(f"Cannot read the {name} raster {path}: {exc}.") from exc
        return data

    return ((src,) if same_grid else (src, reader)), read


@contextlib.contextmanager
def _replace_when_done(dest: Path) -> Iterator[Path]:
    """A temporary path next to `dest`, renamed onto it only when the block succeeds.

    The convention of :func:`pastures.io.atomic_output` (``.pastures-tmp-<name>...``),
    without importing that module's table libraries into a run that needs none.
    """
    if dest.is_dir():
        raise OutputError(f"{dest}: is a folder; give a file name for this output.")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            dir=dest.parent, prefix=f".pastures-tmp-{dest.name}.", suffix=dest.suffix
        )
    except OSError as exc:
        raise OutputError(f"Cannot write to {dest.parent}: {exc}.") from exc
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()
    try:
        yield tmp
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def soil_loss_file(
    dem_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    erosivity: float | str | os.PathLike[str] = JULI_EROSIVITY,
    erodibility: float | str | os.PathLike[str] = 0.03,
    cover: float | str | os.PathLike[str] = 1.0,
    practice: float | str | os.PathLike[str] = 1.0,
    method: FlowMethod = "d8",
    l_max: float = DEFAULT_L_MAX,
    streams: StreamRule = "keep",
    stream_threshold: float = DEFAULT_STREAM_THRESHOLD,
    resolution: float | None = None,
    crs: str = S.WORKING_CRS,
) -> Path:
    """RUSLE soil loss A = R·K·LS·C·P of a whole DEM, from files to a GeoTIFF, in little memory.

    For regional runs (a province's DEM at 30 m is about 80 million pixels): the DEM
    is read, filled, routed and turned into LS with :func:`pastures.terrain.terrain_ls`
    (7 to 10 bytes per pixel at its peak), then R, K, C and P are read
    :data:`BLOCK_ROWS` rows at a time, resampled onto the DEM grid when they are on
    another (bilinear for R and K, nearest for C and P), and A is written block by block
    to a tiled GeoTIFF (float32, Zstandard, ``NaN`` no-data), atomically. Stream pixels are
    treated as :class:`RusleParams` says.

    Parameters
    ----------
    dem_path
        DEM GeoTIFF (m), any CRS (see :func:`pastures.terrain.read_dem`).
    out_path
        GeoTIFF to write.
    erosivity, erodibility, cover, practice
        R, K, C and P: a number for every pixel or a raster file (units as
        :func:`soil_loss`).
    method, l_max, streams, stream_threshold
        As :class:`RusleParams`.
    resolution, crs
        Working grid (see :func:`pastures.terrain.read_dem`).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputFileError, CRSError, ParameterError
        Unreadable files, a factor outside its range (the file is named).
    """
    import rasterio

    prm = RusleParams(
        flow_method=method, l_max=l_max, streams=streams, stream_threshold=stream_threshold
    )
    factors = {
        "R (erosivity, MJ·mm/ha/h/yr)": (erosivity, "bilinear", 0.0, MAX_EROSIVITY),
        "K (erodibility, t·ha·h/ha/MJ/mm)": (erodibility, "bilinear", 0.0, MAX_ERODIBILITY),
        "C (cover management)": (cover, "nearest", 0.0, 1.0),
        "P (support practice)": (practice, "nearest", 0.0, 1.0),
    }
    # GDAL caches decompressed blocks up to 5 % of RAM by default: a whole DEM's worth
    # while it is read. 16 MB holds a strip of each factor and of the output, for
    # reading and writing strip by strip.
    with rasterio.Env(GDAL_CACHEMAX=_GDAL_CACHE_MB):
        return _soil_loss_file(dem_path, out_path, prm, factors, resolution, crs)


@numba.njit(cache=True)
def _scale_in_place(a: np.ndarray, f: np.ndarray) -> tuple[float, float]:
    """``a *= f`` (float32 arrays of one shape), in place; f's smallest and largest value.

    NaN are skipped (``inf``, ``-inf`` when all are NaN), as ``np.fmin``/``np.fmax``.
    The range is taken on the values' bits read as integers in the floats' order:
    LLVM keeps a floating-point minimum with NaN to skip scalar, and integers let the
    loop, product included, run as vector instructions (a tenth of the time).
    """
    flat_a = a.ravel()
    flat_f = f.ravel()
    bits = flat_f.view(np.int32)
    low = np.int32(_MAX_KEY)
    high = np.int32(_MIN_KEY)
    for i in range(flat_a.size):
        v = flat_f[i]
        flat_a[i] = flat_a[i] * v
        key = _float_key(bits[i])
        nan = np.isnan(v)
        low = min(low, np.int32(_MAX_KEY) if nan else key)
        high = max(high, np.int32(_MIN_KEY) if nan else key)
    if low == _MAX_KEY:  # only NaN
        return np.inf, -np.inf
    ends = np.empty(2, dtype=np.int32)
    ends[0] = _float_key(low)  # the mapping is its own inverse
    ends[1] = _float_key(high)
    values = ends.view(np.float32)
    return float(values[0]), float(values[1])


#: GDAL block cache (MB) of :func:`soil_loss_file`: 64 MB (a 4000² DEM's decoded
#: blocks) took 0.04 s longer to read the DEM at 4000², in fresh memory, than 16 MB.
_GDAL_CACHE_MB: Final = 16


def _soil_loss_file(  # noqa: PLR0917
    dem_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    prm: RusleParams,
    factors: dict[str, tuple],
    resolution: float | None,
    crs: str,
) -> Path:
    import rasterio
    from rasterio.windows import Window

    from pastures.terrain import read_dem, terrain_ls

    method, l_max, streams = prm.flow_method, prm.l_max, prm.streams
    stream_threshold = prm.stream_threshold
    dem = read_dem(dem_path, resolution=resolution, dst_crs=crs)
    # The notes look at where the DEM has no data: made before the routing, their work
    # grids (two of bytes) stay below its peak memory.
    for note in dem_notes(dem):
        warnings.warn(note, DemQualityWarning, stacklevel=2)
    like_invest = streams == "invest"
    ls, _no_streams = terrain_ls(
        dem,
        method=method,
        l_max=l_max,
        mfd_weights="invest" if like_invest else "exact",
        stream_threshold=stream_threshold if streams != "keep" else None,
        streams="invest" if like_invest else "threshold",
        overwrite=True,
        empty_streams=True,  # soil loss is empty on streams: no grid of them is kept
    )
    transform, shape, grid_crs = dem.transform, dem.shape, dem.crs
    del dem  # its grid now holds the filled DEM (MFD) or LS itself (D8)
    opened, readers = [], []
    try:
        for name, (value, resampling, low, high) in factors.items():
            short = name.split(" (")[0]
            handles, read = _factor_reader(value, short, (grid_crs, transform, shape), resampling)
            opened.extend(handles)
            where = "" if isinstance(value, int | float) else f" in {Path(value).name}"
            readers.append((f"{name}{where}", read, low, high))
        profile = {
            "driver": "GTiff",
            "width": shape[1],
            "height": shape[0],
            "count": 1,
            "dtype": "float32",
            "crs": grid_crs,
            "transform": transform,
            "nodata": float("nan"),
            "tiled": True,
            "blockxsize": 256,
            "blockysize": 256,
            # Zstandard at level 1: written five times faster than LZW (soil loss
            # hardly repeats, so LZW gains nothing), read by GDAL 2.3 (2018) and later
            "compress": "zstd",
            "zstd_level": 1,
            "BIGTIFF": "IF_SAFER",
        }
        dest = Path(out_path)
        with _replace_when_done(dest) as tmp, rasterio.open(tmp, "w", **profile) as dst:
            dst.set_band_description(1, "soil loss A, t/ha/yr")
            dst.update_tags(SOIL_LOSS_ON_STREAMS=prm.streams_note(), FLOW_METHOD=method)
            for row in range(0, shape[0], BLOCK_ROWS):
                rows = min(BLOCK_ROWS, shape[0] - row)
                window = Window(0, row, shape[1], rows)
                a = ls[row : row + rows]  # LS becomes A in place, block by block
                for name, read, low, high in readers:
                    f = read(window)
                    if (
                        isinstance(f, np.ndarray)
                        and f.dtype == a.dtype == np.float32
                        and f.shape == a.shape
                        and f.flags.c_contiguous
                        and a.flags.c_contiguous
                    ):
                        # one pass: the factor's range, and A times it
                        vmin, vmax = _scale_in_place(a, f)
                        _range(name, np.array([vmin, vmax]), low, high)
                        continue
                    _range(name, f, low, high)
                    np.multiply(a, f, out=a, casting="unsafe")
                dst.write(a, 1, window=window)
    finally:
        for handle in reversed(opened):
            handle.close()
    logger.info(_("wrote %s"), dest)
    return dest


# --- settings file -----------------------------------------------------------------------


@dataclass(frozen=True)
class RiskSettings:
    """Every setting of the risk assessment, as loaded from a TOML file.

    Attributes
    ----------
    rusle, practices, pressure, thresholds
        See :class:`RusleParams`, :class:`SupportPractices`, :class:`PressureParams`,
        :class:`RiskThresholds`.
    """

    rusle: RusleParams = field(default_factory=RusleParams)
    practices: SupportPractices = field(default_factory=SupportPractices)
    pressure: PressureParams = field(default_factory=PressureParams)
    thresholds: RiskThresholds = field(default_factory=RiskThresholds)


_SECTIONS: Final = {
    "rusle": {
        "erosivity",
        "erodibility",
        "flow_method",
        "l_max",
        "streams",
        "stream_threshold",
        "rainfall_mm",
        "erosivity_method",
    },
    "cover": {"alpha", "beta", "ndvi_bare", "ndvi_full"},
    "practices": {"none", "fenced", "contour_works", "terraces"},
    "pressure": {"piosphere_decay_m"},
    "risk": {"soil_loss", "pressure"},
}


def settings_from_mapping(data: dict) -> RiskSettings:
    """Build :class:`RiskSettings` from nested mappings (as read from TOML).

    ``[rusle]`` may give ``erosivity`` directly, or ``rainfall_mm`` (twelve monthly
    totals, mm) and ``erosivity_method`` for :func:`rainfall_erosivity`.

    Raises
    ------
    ParameterError
        Unknown sections or keys (all listed), or an impossible value.
    """
    unknown = [f"[{name}]" for name in data if name not in _SECTIONS]
    for name, keys in _SECTIONS.items():
        section = data.get(name, {})
        if not isinstance(section, dict):
            raise ParameterError(f"[{name}] must be a table of settings.")
        unknown += [f"[{name}] {key}" for key in section if key not in keys]
    if unknown:
        raise ParameterError(
            f"Unknown settings: {', '.join(unknown)}. Known: "
            + "; ".join(f"[{n}] {', '.join(sorted(k))}" for n, k in _SECTIONS.items())
        )
    rusle = dict(data.get("rusle", {}))
    rain = rusle.pop("rainfall_mm", None)
    method = rusle.pop("erosivity_method", "annual")
    if "erosivity" not in rusle and rain is not None:
        rusle["erosivity"] = rainfall_erosivity(rain, method=method)
    cover = CoverParams(**data.get("cover", {}))
    thresholds = {k: tuple(v) for k, v in data.get("risk", {}).items()}
    return RiskSettings(
        rusle=RusleParams(**rusle, cover=cover),
        practices=SupportPractices(**data.get("practices", {})),
        pressure=PressureParams(**data.get("pressure", {})),
        thresholds=RiskThresholds(**thresholds),
    )


def load_settings(path: str | os.PathLike[str]) -> RiskSettings:
    """Read risk settings from a TOML file (see :func:`settings_from_mapping`).

    Example::

        [rusle]
        rainfall_mm = [215.8, 182.2, 157.2, 50.2, 11.6, 5.3, 7.3, 14.2, 23.6, 45.0, 49.7, 123.4]
        erodibility = 0.025          # t·ha·h/(ha·MJ·mm), own soil samples
        flow_method = "mfd"

        [practices]
        contour_works = 0.5

        [pressure]
        piosphere_decay_m = 800

        [risk]
        soil_loss = [5, 11.2, 50]    # t/ha/yr

    Raises
    ------
    InputFileError
        Missing file or invalid TOML.
    ParameterError
        Unknown keys or impossible values; the message names the file.
    """
    import tomllib

    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputFileError(f"{p}: settings file not found. Check the path.") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{p}: is not valid TOML ({exc}). Fix the line named.") from exc
    try:
        return settings_from_mapping(data)
    except ParameterError as exc:
        raise ParameterError(f"{p}: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{p}: a value has the wrong type ({exc}).") from exc


@dataclass(frozen=True)
class RiskAssessment:
    """Result of :func:`assess_risk`: rasters on the DEM grid and the plot table.

    Attributes
    ----------
    terrain
        Filled DEM, slope, flow accumulation and LS.
    cover_factor
        C (0-1), float32.
    soil_loss
        A (t·ha⁻¹·yr⁻¹), float32, ``NaN`` where any factor has no data.
    pressure
        Stocking/capacity ratio per pixel of each plot (``NaN`` elsewhere), or ``None``.
    risk
        Risk class codes (uint8, 255 no data), see :func:`risk_classes`. Outside the plots
        (no stocking known) it reflects soil loss alone.
    plots
        One row per plot with :data:`pastures.schema.RISK_COLUMNS`, ranked, in the grid CRS.
    total_soil_loss_t_yr
        Soil loss of all plots together (t/yr).
    transform, crs
        Grid of every raster.
    piosphere_decay_m
        Decay distance used (m), or ``None``.
    dem_notes
        Warnings about the DEM (coarser than the grid, holes inside it), in words.
    streams_note
        How soil loss was treated on stream pixels, in words (:class:`RusleParams`).
    stream_pixels
        Pixels left empty because they are streams (0 with ``streams="keep"``).
    """

    terrain: Terrain
    cover_factor: np.ndarray
    soil_loss: np.ndarray
    pressure: np.ndarray | None
    risk: np.ndarray
    plots: gpd.GeoDataFrame
    total_soil_loss_t_yr: float
    transform: Affine
    crs: str
    piosphere_decay_m: float | None
    streams_note: str = ""
    stream_pixels: int = 0
    dem_notes: tuple[str, ...] = ()


def _grid_input(
    name: str, value: np.ndarray | float | None, default: float, shape: tuple
) -> np.ndarray | float:
    if value is None:
        return default
    if np.ndim(value) == 0:
        return float(value)
    arr = np.asarray(value, dtype=np.float32)
    if arr.shape != shape:
        raise ParameterError(
            f"The {name} raster has shape {arr.shape}, the DEM {shape}: resample it onto "
            "the DEM grid first (pastures.terrain.read_raster_on_grid)."
        )
    return arr


def _point_coords(layers: Sequence[gpd.GeoDataFrame | None], crs: str) -> np.ndarray:
    coords = []
    for layer in layers:
        if layer is None or len(layer) == 0:
            continue
        if layer.crs is None:
            raise CRSError("A corral or water-point layer has no CRS; set it before use.")
        geoms = layer.to_crs(crs).geometry
        pts = geoms.representative_point()
        coords.append(np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()]))
    return np.vstack(coords) if coords else np.empty((0, 2))


def _coverage(
    plots: gpd.GeoDataFrame, labels: np.ndarray, valid_count: np.ndarray, dem: Dem
) -> np.ndarray:
    """Share (0-1) of each plot's area with terrain data.

    The share of the plot inside the grid (exact, from the geometry) times the share of
    its pixels there that hold data: pixel-centre rasterisation of small plots does not
    make a fully covered plot look partly uncovered.
    """
    from shapely.geometry import box

    grid = box(*dem.bounds)
    area = plots.geometry.area.to_numpy()
    inside = plots.geometry.intersection(grid).area.to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        in_grid = np.where(area > 0, inside / area, 1.0)
        labelled = np.bincount(labels[labels >= 0], minlength=len(plots)).astype(float)
        with_data = np.where(labelled > 0, valid_count / labelled, 0.0)
    return np.clip(in_grid * with_data, 0.0, 1.0)


def assess_risk(  # noqa: PLR0912, PLR0915
    dem: Dem,
    plots: gpd.GeoDataFrame,
    *,
    ndvi: np.ndarray | None = None,
    cover: np.ndarray | float | None = None,
    erosivity: np.ndarray | float | None = None,
    erodibility: np.ndarray | float | None = None,
    stocking: pd.DataFrame | None = None,
    corrals: gpd.GeoDataFrame | None = None,
    water_points: gpd.GeoDataFrame | None = None,
    params: RusleParams | None = None,
    pressure: PressureParams | None = None,
    thresholds: RiskThresholds | None = None,
    practices: SupportPractices | None = None,
    terrain: Terrain | None = None,
    language: Language = "en",
) -> RiskAssessment:
    """Soil loss, grazing pressure and risk per pixel and per plot.

    Parameters
    ----------
    dem
        DEM on the working grid (:func:`pastures.terrain.read_dem`).
    plots
        Plot polygons with ``plot_code`` (any CRS; reprojected to the DEM's).
    ndvi
        Dry-season vegetation index on the DEM grid (-1..1, ``NaN`` no data); gives C
        (:func:`cover_factor`) and the cover in the drivers.
    cover
        C (0-1) as a scalar or raster, used when `ndvi` is not given.
    erosivity, erodibility
        R and K rasters on the DEM grid, or scalars; default ``params.erosivity`` and
        ``params.erodibility``.
    stocking
        Table ``plot_code``, ``stocking_uo``, ``capacity_uo`` (:func:`grazing_pressure`).
    corrals, water_points
        Points for the piosphere weighting (used when ``pressure.piosphere_decay_m``).
    params, pressure, thresholds, practices
        Settings; see :class:`RusleParams`, :class:`PressureParams`,
        :class:`RiskThresholds`, :class:`SupportPractices`.
    terrain
        Precomputed :func:`pastures.terrain.terrain_factors` of `dem`, to skip routing.
    language
        ``"en"`` or ``"es"``: wording of the drivers and suggested actions (risk classes
        stay the codes of :data:`pastures.schema.RISK_CLASSES`; see
        ``RISK_CLASS_LABELS_ES``).

    Returns
    -------
    RiskAssessment

    Raises
    ------
    ParameterError
        Neither `ndvi` nor `cover`, a factor out of range, rasters off the DEM grid.
    LayerError
        No plot overlaps the DEM; bad stocking table.

    Warns
    -----
    DemCoverageWarning
        When some plots lie partly or wholly outside the DEM's valid data.
    DemQualityWarning
        When the DEM is coarser than its grid or has holes over more than 5 % of its
        area (:func:`pastures.terrain.dem_notes`).
    """
    import geopandas as gpd
    import pandas as pd

    if language not in available_languages():
        raise ParameterError(
            f"language must be one of {', '.join(available_languages())}; got {language!r}."
        )
    prm = params or RusleParams()
    prs = pressure or PressureParams()
    th = thresholds or RiskThresholds()
    shape = dem.shape
    if ndvi is None and cover is None:
        raise ParameterError(
            "Give a dry-season vegetation index raster (--ndvi) for the C factor, a C "
            "value (--c-factor) or a C raster (--c-raster)."
        )
    plots_g = _plots_on_grid(plots, dem.crs)
    n = len(plots_g)
    notes = dem_notes(dem)
    for note in notes:
        warnings.warn(note, DemQualityWarning, stacklevel=2)
    if terrain is None:
        like_invest = prm.streams == "invest"
        terrain = terrain_factors(
            dem,
            method=prm.flow_method,
            l_max=prm.l_max,
            mfd_weights="invest" if like_invest else "exact",
            stream_threshold=prm.stream_threshold if like_invest else None,
            streams="invest" if like_invest else "threshold",
        )

    if ndvi is not None:
        ndvi_arr = _grid_input("NDVI", ndvi, 0.0, shape)
        if np.ndim(ndvi_arr) == 0:
            ndvi_arr = np.full(shape, ndvi_arr, dtype=np.float32)
        c_factor = cover_factor(np.asarray(ndvi_arr), params=prm.cover)
        cover_frac: np.ndarray | None = vegetation_cover(np.asarray(ndvi_arr), params=prm.cover)
    else:
        c_in = _grid_input("C", cover, 0.0, shape)
        _range("C (cover management)", c_in, 0.0, 1.0)
        c_factor = np.broadcast_to(np.asarray(c_in, dtype=np.float32), shape).copy()
        cover_frac = None
    R = _grid_input("erosivity", erosivity, prm.erosivity, shape)
    K = _grid_input("erodibility", erodibility, prm.erodibility, shape)

    labels = plot_labels(plots_g, shape, dem.transform)
    p_plot = support_practice_factor(plots_g, practices=practices).to_numpy()
    p_raster = np.ones(shape, dtype=np.float32)
    inside = labels >= 0
    p_raster[inside] = p_plot[labels[inside]]
    A = soil_loss(R, K, terrain.ls, c_factor, p_raster)
    del p_raster

    # Per plot.
    mean_a, count = _plot_mean(A, labels, n)
    area_ha = plots_g.geometry.area.to_numpy() / S.M2_PER_HA
    coverage = _coverage(plots_g, labels, count, dem)
    hillslope_share = np.ones(n)
    stream_pixels = 0
    if prm.streams in ("empty", "invest"):
        if prm.streams == "invest" and terrain.streams is not None:
            on_stream = terrain.streams
        else:
            with np.errstate(invalid="ignore"):
                on_stream = terrain.accumulation > prm.stream_threshold
        stream_pixels = int(np.count_nonzero(on_stream & np.isfinite(A)))
        A[on_stream] = np.nan
        del on_stream
        mean_hill, count_hill = _plot_mean(A, labels, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            hillslope_share = np.where(count > 0, count_hill / count, 0.0)
        # a plot entirely on streams keeps no soil loss value (NaN), as in InVEST
        mean_a = mean_hill
        logger.info(
            "Soil loss left empty on %d stream pixel(s) (flow accumulation > %g pixels)",
            stream_pixels,
            prm.stream_threshold,
        )
    if not (count > 0).any():
        west, south, east, north = dem.bounds
        pb = plots_g.total_bounds
        raise LayerError(
            "No plot overlaps valid DEM data: the DEM covers E "
            f"{west:,.0f}-{east:,.0f}, N {south:,.0f}-{north:,.0f} ({dem.crs}), the plots "
            f"E {pb[0]:,.0f}-{pb[2]:,.0f}, N {pb[1]:,.0f}-{pb[3]:,.0f}. Use a DEM that covers "
            "the plots."
        )
    short = [
        f"{code} ({100 * cov:.0f} %)"
        for code, cov in zip(plots_g[S.PLOT_CODE], coverage, strict=True)
        if cov < 0.95
    ]
    if short:
        warnings.warn(
            f"{len(short)} plot(s) lie partly or wholly outside the DEM's valid data; their "
            f"soil loss covers only the part inside (share of area): {', '.join(short)}.",
            DemCoverageWarning,
            stacklevel=2,
        )
    table = pd.DataFrame(index=plots_g.index)
    table[S.PLOT_CODE] = plots_g[S.PLOT_CODE].astype(str)
    for col in (S.COMMUNITY, S.PASTURE_TYPE):
        table[col] = plots_g[col] if col in plots_g.columns else pd.NA
    table[S.AREA_HA] = area_ha
    table[S.DEM_COVERAGE] = coverage
    table[S.SLOPE_PCT] = _plot_mean(terrain.slope_pct, labels, n)[0]
    table[S.LS_MEAN] = _plot_mean(terrain.ls, labels, n)[0]
    table[S.COVER_PCT] = (
        100.0 * _plot_mean(cover_frac, labels, n)[0] if cover_frac is not None else np.nan
    )
    table[S.C_MEAN] = _plot_mean(c_factor, labels, n)[0]
    table[S.P_FACTOR] = p_plot
    table[S.SOIL_LOSS_T_HA_YR] = mean_a
    # Total: the mean rate times the plot's area with data (exact area, not pixel count);
    # with streams left empty, times the share of that area off the streams.
    table[S.SOIL_LOSS_T_YR] = np.where(
        count > 0, np.nan_to_num(mean_a) * area_ha * coverage * hillslope_share, np.nan
    )

    pressure_px: np.ndarray | None = None
    if stocking is not None:
        gp = grazing_pressure(plots_g, stocking)
        for col in (S.STOCKING_UO, S.CAPACITY_UO, S.PRESSURE_RATIO):
            table[col] = gp[col].to_numpy()
        weights = None
        if prs.piosphere_decay_m:
            points = _point_coords([corrals, water_points], dem.crs)
            if points.shape[0] == 0:
                raise ParameterError(
                    "Piosphere weighting needs corrals or water points; give them or drop "
                    "the decay distance."
                )
            weights = piosphere_weights(
                labels, dem.transform, points, decay_m=prs.piosphere_decay_m
            )
        pressure_px = _pressure_raster(table[S.PRESSURE_RATIO].to_numpy(), labels, weights)
    else:
        for col in (S.STOCKING_UO, S.CAPACITY_UO, S.PRESSURE_RATIO):
            table[col] = np.nan
    table[S.PIOSPHERE_DECAY_M] = (
        prs.piosphere_decay_m if (prs.piosphere_decay_m and stocking is not None) else 0.0
    )

    risk = risk_classes(A, pressure_px, thresholds=th)
    plot_codes = risk_classes(mean_a, table[S.PRESSURE_RATIO].to_numpy(), thresholds=th)
    table[S.RISK_CLASS] = [S.RISK_CLASSES[c] if c != RISK_NODATA else "no data" for c in plot_codes]
    score = mean_a * np.maximum(np.nan_to_num(table[S.PRESSURE_RATIO].to_numpy(), nan=1.0), 1.0)
    ranked = np.where(plot_codes == RISK_NODATA, -1, plot_codes.astype(int))
    order = np.lexsort((-np.nan_to_num(score, nan=-1.0), -ranked))
    rank = np.empty(n, dtype=int)
    rank[order] = np.arange(1, n + 1)
    table[S.RISK_RANK] = rank
    decay = prs.piosphere_decay_m if stocking is not None else None
    table[S.RISK_DRIVERS] = table.apply(_drivers, axis=1, decay=decay, language=language)
    table[S.RISK_ACTION] = table.apply(_action, axis=1, th=th, language=language)
    result = gpd.GeoDataFrame(
        table[list(S.RISK_COLUMNS)], geometry=plots_g.geometry, crs=plots_g.crs
    ).sort_values(S.RISK_RANK)
    total = float(np.nansum(table[S.SOIL_LOSS_T_YR].to_numpy()))
    logger.info(
        _("Soil loss of %d plots: %.0f t/yr; %d at high or very high risk"),
        n,
        total,
        int((plot_codes[plot_codes != RISK_NODATA] >= 2).sum()),
    )
    return RiskAssessment(
        terrain=terrain,
        cover_factor=c_factor,
        soil_loss=A,
        pressure=pressure_px,
        risk=risk,
        plots=result,
        total_soil_loss_t_yr=total,
        transform=dem.transform,
        crs=dem.crs,
        piosphere_decay_m=decay,
        streams_note=prm.streams_note(),
        stream_pixels=stream_pixels,
        dem_notes=tuple(notes),
    )
