"""Forage from vegetation, and the forage budget of each plot and community.

Three steps, each usable alone:

1. **Biomass** (kg DM/ha) per plot and date from a vegetation index, through an
   equation chosen per pasture type (:class:`BiomassEquation`): a published default
   (bofedal: Zorogastúa-Cruz et al. 2012) or, when field quadrat cuts are given, a
   relation fitted to them (:func:`fit_calibration`, linear and power forms, with
   R², RMSE and prediction intervals). Every figure carries its interval.
2. **Production** (kg DM/ha/yr) per plot: the peak standing biomass of each year
   (the peak-standing-crop approximation of annual production for a grassland with
   one growing season), or, without an index, the pasture type's published range
   (Castellaro 2007) with its midpoint as the central value.
3. **Budget** (:func:`forage_budget`): available forage = production x proper-use
   factor; carrying capacity (UO/ha/yr, UO year-round and per season); range
   condition class per plot (the Flórez 2005 class whose capacity the forage
   supports); stocking of each community against its capacity, for the fenced
   plots and the open communal range (community area minus its plots) separately;
   grazing days per plot for a herd; and the month-by-month forage balance with
   its dry-season deficit.

All parameters live in frozen dataclasses (:class:`ForageParams`) whose docstrings
give units and sources, and may be loaded from a TOML file (:func:`load_params`).
Where no source was found the docstring says ASSUMED.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy import stats

from pastures import climate
from pastures import schema as S
from pastures.animals import (
    ADULT,
    ALPACA,
    DEFAULT_UO_PRESET,
    AnimalUnits,
    Intake,
    herd_animal_units,
)
from pastures.defaults import DEFAULT_BUDGET_MONTH, FLOREZ_CAPACITY
from pastures.errors import InputFileError, ParameterError, Problem
from pastures.i18n import N_, _, cli_language

if TYPE_CHECKING:
    from pastures.layers import Project

logger = logging.getLogger(__name__)

# --- climate and seasons ----------------------------------------------------------
MONTHS: Final = tuple(range(1, 13))
#: Days of each month (a 365-day year).
DAYS_IN_MONTH: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
#: Monthly rain normals at Juli, mm (SENAMHI Juli station, 3,830 m, 1991-2020; DOMAIN.md).
JULI_RAIN_MM: Final = climate.JULI_MONTHLY_RAIN_MM
#: The rainy season, Dec-Mar, holds about 77 % of the rain (SENAMHI Juli normals).
WET_MONTHS: Final = climate.WET_MONTHS
WET: Final = "wet (Dec-Mar)"
DRY: Final = "dry (Apr-Nov)"

# --- range condition (Flórez 2005) --------------------------------------------------
RangeCondition = Literal["excellent", "good", "fair", "poor", "very poor"]
#: Carrying capacity per range condition class: :data:`pastures.defaults.FLOREZ_CAPACITY`.

EquationForm = Literal["linear", "power"]
EQUATION_FORMS: Final = ("linear", "power")
#: Highest standing biomass accepted from a quadrat cut, kg DM/ha (ASSUMED bound: several
#: times the best bofedal production of Castellaro 2007, 2,292 kg DM/ha/yr).
MAX_QUADRAT_KG_HA: Final = 15_000.0
#: Fewest quadrat cuts a relation is fitted to.
MIN_CALIBRATION_POINTS: Final = 5
#: Scope of a relation fitted to the cuts of every pasture type together.
ALL_TYPES: Final = "all"
#: Label of the open communal range in tables (its "pasture type").
OPEN_RANGE: Final = "open range"
TOTAL_LABEL: Final = "TOTAL"


@dataclass(frozen=True)
class BiomassEquation:
    """Standing biomass (kg DM/ha) from an index value x: ``a + b x`` or ``a x**b``.

    A fitted equation carries the statistics of its fit, from which prediction
    intervals follow (ordinary least squares; the power form is fitted as
    ``ln y = ln a + b ln x``, so its interval is multiplicative). A published
    equation without usable fit statistics carries ``relative_error`` instead.

    Attributes
    ----------
    form
        ``"linear"`` or ``"power"``.
    a, b
        Coefficients; biomass in kg DM/ha.
    index
        Vegetation index the equation takes (a key of ``pastures.indices.INDICES``).
    source
        Citation, or the calibration it was fitted to.
    n
        Number of points fitted (0 for a published equation).
    x_mean, sxx
        Mean and sum of squared deviations of the fitted x (ln x for the power form).
    resid_se
        Residual standard error in the fitted space (kg DM/ha, or ln units).
    r2, rmse
        R² and root mean square error (kg DM/ha) on the original scale.
    relative_error
        Half-width of the interval as a share of the prediction, for published equations.
    """

    form: EquationForm
    a: float
    b: float
    index: str
    source: str
    n: int = 0
    x_mean: float = math.nan
    sxx: float = math.nan
    resid_se: float = math.nan
    r2: float = math.nan
    rmse: float = math.nan
    relative_error: float = math.nan

    def __post_init__(self) -> None:
        if self.form not in EQUATION_FORMS:
            raise ParameterError(
                _("biomass equation: form '{form}' unknown. Use 'linear' or 'power'.").format(
                    form=self.form
                )
            )

    @property
    def fitted(self) -> bool:
        """True when fitted to quadrat cuts (intervals from the fit)."""
        return self.n > 2

    def describe(self) -> str:
        """The equation in words, e.g. ``power: 1615 x ndvi^1.318 (Zorogastúa-Cruz ...)``."""
        body = (
            f"{self.a:.4g} + {self.b:.4g} x {self.index}"
            if self.form == "linear"
            else f"{self.a:.4g} x {self.index}^{self.b:.4g}"
        )
        return f"{body} ({self.source})"

    def predict(
        self, x: np.ndarray | float, *, level: float = 0.95
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Biomass and its prediction interval at index values `x`.

        Parameters
        ----------
        x
            Index values (dimensionless). For the power form, x <= 0 gives 0 kg DM/ha.
        level
            Coverage of the prediction interval (0.95: 95 %).

        Returns
        -------
        tuple of numpy.ndarray
            Central value, lower and upper bound, kg DM/ha (never below 0).
        """
        x = np.atleast_1d(np.asarray(x, dtype=float))
        if self.form == "linear":
            centre = self.a + self.b * x
            if self.fitted:
                t = stats.t.ppf(0.5 + level / 2, self.n - 2)
                half = (
                    t * self.resid_se * np.sqrt(1 + 1 / self.n + (x - self.x_mean) ** 2 / self.sxx)
                )
            else:
                half = np.abs(centre) * self.relative_error
            low, high = centre - half, centre + half
        else:
            positive = x > 0
            lx = np.log(np.where(positive, x, 1.0))
            log_centre = math.log(self.a) + self.b * lx
            if self.fitted:
                t = stats.t.ppf(0.5 + level / 2, self.n - 2)
                half = (
                    t * self.resid_se * np.sqrt(1 + 1 / self.n + (lx - self.x_mean) ** 2 / self.sxx)
                )
                centre = np.exp(log_centre)
                low, high = np.exp(log_centre - half), np.exp(log_centre + half)
            else:
                centre = np.exp(log_centre)
                low, high = centre * (1 - self.relative_error), centre * (1 + self.relative_error)
            centre, low, high = (np.where(positive, v, 0.0) for v in (centre, low, high))
        return np.clip(centre, 0.0, None), np.clip(low, 0.0, None), np.clip(high, 0.0, None)


#: NDVI-biomass relation for bofedales, DM = 1.615 NDVI^1.318 (Zorogastúa-Cruz et al.
#: 2012, AVHRR; DOMAIN.md). DM read as t/ha, hence a = 1615 kg DM/ha. The paper gives
#: no error usable here: +/-50 % is ASSUMED. Calibrate with quadrat cuts.
ZOROGASTUA_BOFEDAL: Final = BiomassEquation(
    "power",
    a=1615.0,
    b=1.318,
    index="ndvi",
    source="Zorogastúa-Cruz et al. 2012, bofedales (AVHRR); +/-50 % assumed",
    relative_error=0.5,
)

CASTELLARO_PUNA: Final = "Castellaro 2007, dry puna grassland 657-1,054 kg DM/ha/yr"


@dataclass(frozen=True)
class PastureType:
    """Forage parameters of one pasture type.

    Attributes
    ----------
    production_kg_ha_yr
        (low, high) annual forage production, kg DM/ha/yr; the midpoint is the
        central value. Castellaro 2007: dry puna grassland 657-1,054, bofedal
        1,706-2,292.
    source
        Citation of the production range.
    uniform_growth_share
        Share of the year's growth spread evenly over the months; the rest follows the
        monthly rain (ASSUMED: 0.4 for groundwater-fed bofedales, 0.1 for dry types).
    equation
        Default index-biomass relation, or None when no published one fits this type
        (the production range is then used even with an index).
    """

    production_kg_ha_yr: tuple[float, float]
    source: str
    uniform_growth_share: float = 0.1
    equation: BiomassEquation | None = None

    def __post_init__(self) -> None:
        low, high = self.production_kg_ha_yr
        if not 0 < low <= high <= 20_000:
            raise ParameterError(
                _(
                    "pasture type: production range {production_kg_ha_yr} kg DM/ha/yr must "
                    "be two numbers 0 < low <= high <= 20000."
                ).format(production_kg_ha_yr=self.production_kg_ha_yr)
            )
        if not 0 <= self.uniform_growth_share <= 1:
            raise ParameterError(
                _("pasture type: uniform_growth_share {uniform_growth_share} must be 0-1.").format(
                    uniform_growth_share=self.uniform_growth_share
                )
            )

    @property
    def production_central(self) -> float:
        """Midpoint of the production range, kg DM/ha/yr."""
        return sum(self.production_kg_ha_yr) / 2


#: Defaults per pasture type. Tolar and césped de puna carry the dry puna range of
#: Castellaro 2007 (no type-specific figure found); cultivated pasture has no default
#: and must be given in a parameters file.
DEFAULT_PASTURE_TYPES: Final[dict[str, PastureType]] = {
    "bofedal": PastureType(
        (1706.0, 2292.0),
        "Castellaro 2007, bofedal 1,706-2,292 kg DM/ha/yr",
        uniform_growth_share=0.4,
        equation=ZOROGASTUA_BOFEDAL,
    ),
    "pajonal": PastureType((657.0, 1054.0), CASTELLARO_PUNA),
    "tolar": PastureType((657.0, 1054.0), CASTELLARO_PUNA + " (applied to tolar)"),
    "cesped": PastureType((657.0, 1054.0), CASTELLARO_PUNA + " (applied to césped)"),
}


@dataclass(frozen=True)
class OpenRange:
    """The open communal range: each community's area outside its fenced plots.

    Attributes
    ----------
    production_kg_ha_yr
        (low, high) kg DM/ha/yr; default the dry puna grassland range (Castellaro 2007).
    condition
        Range condition class to impose (e.g. ``"poor"`` from a field survey): the
        capacity is then that of the Flórez 2005 table, its interval reaching halfway
        to the neighbouring classes. None (default): derived from the production.
    grazeable_share
        Share of the open area that is pasture rather than crops, villages, rock or
        water (0-1). Default 1.0, an upper bound: no survey of the communities' land use
        was found (ASSUMED).
    uniform_growth_share
        As for :class:`PastureType` (ASSUMED 0.1, dry puna).
    source
        Citation of the production range.
    """

    production_kg_ha_yr: tuple[float, float] = (657.0, 1054.0)
    condition: RangeCondition | None = None
    grazeable_share: float = 1.0
    uniform_growth_share: float = 0.1
    source: str = CASTELLARO_PUNA

    def __post_init__(self) -> None:
        PastureType(self.production_kg_ha_yr, self.source, self.uniform_growth_share)
        if self.condition is not None and self.condition not in FLOREZ_CAPACITY:
            raise ParameterError(
                _("open range: condition '{condition}' unknown. Use one of {value}.").format(
                    condition=self.condition, value=", ".join(FLOREZ_CAPACITY)
                )
            )
        if not 0 <= self.grazeable_share <= 1:
            raise ParameterError(
                _("open range: grazeable_share {grazeable_share} must be 0-1.").format(
                    grazeable_share=self.grazeable_share
                )
            )


@dataclass(frozen=True)
class ForageParams:
    """Every parameter of the forage budget.

    Attributes
    ----------
    use_factor
        Proper-use factor: share of the production that may be grazed, 0-1. Commonly
        0.5 (DOMAIN.md).
    units
        Animal units by species and category (:class:`pastures.animals.AnimalUnits`).
    intake
        Dry-matter intake (:class:`pastures.animals.Intake`).
    pasture_types
        Parameters per pasture type (:data:`DEFAULT_PASTURE_TYPES`).
    open_range
        Parameters of the open communal range (:class:`OpenRange`).
    monthly_rain_mm
        Rain normals, January first, mm (SENAMHI Juli 1991-2020), shaping growth.
    wet_months
        Months of the rainy season (Dec-Mar, 77 % of the rain).
    standing_loss_per_month
        Share of the standing, ungrazed forage lost each month to senescence,
        trampling and decay, 0-1 (ASSUMED 0.10: no Andean figure found).
    index
        Vegetation index the biomass equations take.
    min_valid_fraction
        Dates where less of a plot was clear (not cloud) are not used, 0-1.
    interval_level
        Coverage of prediction intervals (0.95).
    budget_month
        Month (1-12) whose standing forage the grazing days are worked out for;
        default August, start of the critical late dry season.
    """

    use_factor: float = 0.5
    units: AnimalUnits = field(default_factory=AnimalUnits)
    intake: Intake = field(default_factory=Intake)
    pasture_types: Mapping[str, PastureType] = field(
        default_factory=lambda: dict(DEFAULT_PASTURE_TYPES)
    )
    open_range: OpenRange = field(default_factory=OpenRange)
    monthly_rain_mm: tuple[float, ...] = JULI_RAIN_MM
    wet_months: tuple[int, ...] = WET_MONTHS
    standing_loss_per_month: float = 0.10
    index: str = "ndvi"
    min_valid_fraction: float = 0.5
    interval_level: float = 0.95
    budget_month: int = DEFAULT_BUDGET_MONTH

    def __post_init__(self) -> None:
        checks = [
            (0 < self.use_factor <= 1, f"use_factor {self.use_factor} must be in (0, 1]"),
            (
                len(self.monthly_rain_mm) == 12
                and all(math.isfinite(v) and v >= 0 for v in self.monthly_rain_mm),
                "monthly_rain_mm must hold 12 non-negative values, January first",
            ),
            (
                bool(self.wet_months) and set(self.wet_months) <= set(MONTHS),
                f"wet_months {self.wet_months} must be months 1-12",
            ),
            (
                0 < self.standing_loss_per_month < 1,
                f"standing_loss_per_month {self.standing_loss_per_month} must be in (0, 1)",
            ),
            (0 <= self.min_valid_fraction <= 1, "min_valid_fraction must be 0-1"),
            (0 < self.interval_level < 1, "interval_level must be between 0 and 1"),
            (self.budget_month in MONTHS, f"budget_month {self.budget_month} must be 1-12"),
        ]
        for ok, message in checks:
            if not ok:
                raise ParameterError(_("forage parameters: {message}.").format(message=message))

    @property
    def kg_dm_per_uo_day(self) -> float:
        """Intake of one UO, kg DM/day."""
        return self.intake.kg_dm_per_uo_day(self.units)

    @property
    def kg_dm_per_alpaca_year(self) -> float:
        """Yearly intake of one adult alpaca, kg DM (to compare with the Flórez table)."""
        return 365.0 * self.kg_dm_per_uo_day * self.units.uo(ALPACA, ADULT)

    def pasture_type(self, name: str) -> PastureType:
        """Parameters of a pasture type.

        Raises
        ------
        ParameterError
            The type has no parameters (e.g. ``cultivado``).
        """
        if name not in self.pasture_types:
            raise ParameterError(
                _(
                    "no forage production figure for pasture type '{name}' (known: {value}). "
                    "Add [pasture_types.{name}] with production_kg_ha_yr = [low, high] to a "
                    "parameters file (--params)."
                ).format(name=name, value=", ".join(self.pasture_types))
            )
        return self.pasture_types[name]


# --- growth through the year --------------------------------------------------------
def growth_shares(uniform_share: float, rain_mm: tuple[float, ...] = JULI_RAIN_MM) -> np.ndarray:
    """Share of the year's growth in each month (sums to 1), January first.

    ``share_m = u / 12 + (1 - u) rain_m / rain_year``, with `u` the share spread evenly.
    With the Juli normals and u = 0.1, January holds 0.1/12 + 0.9 x 215.8/885.5 = 22.8 %.
    """
    rain = np.asarray(rain_mm, dtype=float)
    return uniform_share / 12 + (1 - uniform_share) * rain / rain.sum()


def growth_profile(params: ForageParams | None = None) -> pd.DataFrame:
    """Monthly growth share of every pasture type and of the open range.

    Returns
    -------
    pandas.DataFrame
        Columns ``pasture_type``, ``month``, ``season``, ``growth_share`` (0-1).
    """
    params = params or ForageParams()
    rows = []
    units = {name: t.uniform_growth_share for name, t in params.pasture_types.items()}
    units[OPEN_RANGE] = params.open_range.uniform_growth_share
    for name, u in units.items():
        for month, share in zip(MONTHS, growth_shares(u, params.monthly_rain_mm), strict=True):
            rows.append(
                {
                    S.PASTURE_TYPE: name,
                    S.MONTH: month,
                    S.SEASON: WET if month in params.wet_months else DRY,
                    S.GROWTH_SHARE: share,
                }
            )
    return pd.DataFrame(rows)


def standing_factors(shares: np.ndarray, *, loss: float) -> np.ndarray:
    """Ungrazed standing forage at the start of each month, per unit of annual growth.

    Each month the stock loses `loss` of itself and gains that month's growth:
    ``S[m+1] = S[m] (1 - loss) + g[m]``. In the steady yearly cycle the stock at the
    start of January is ``sum_m g[m] (1 - loss)^(11 - m) / (1 - (1 - loss)^12)``.
    With even growth (1/12 a month) every month starts with 1 / (12 loss).

    Raises
    ------
    ParameterError
        `loss` is not in (0, 1): without losses an ungrazed stock grows for ever.
    """
    if not 0 < loss < 1:
        raise ParameterError(
            _("standing_loss_per_month {loss} must be in (0, 1).").format(loss=loss)
        )
    keep = 1.0 - loss
    start = np.empty(12)
    start[0] = sum(shares[m] * keep ** (11 - m) for m in range(12)) / (1 - keep**12)
    for m in range(11):
        start[m + 1] = start[m] * keep + shares[m]
    return start


def monthly_balance(
    growth_kg: np.ndarray, demand_kg: np.ndarray, *, loss: float, years: int = 6
) -> tuple[np.ndarray, np.ndarray]:
    """Month-by-month grazing of a standing stock: what is eaten and what is missing.

    Each month the stock of grazeable forage loses `loss` of itself, gains the
    month's grazeable growth, and the herd eats up to its demand; surplus carries
    over. The cycle is repeated until it settles and the last year returned.

    Returns
    -------
    tuple of numpy.ndarray
        Eaten and deficit (demand not met), kg DM per month, January first.
    """
    stock = 0.0
    eaten = np.zeros(12)
    for _year in range(years):
        for m in range(12):
            stock = stock * (1 - loss) + growth_kg[m]
            eaten[m] = min(stock, demand_kg[m])
            stock -= eaten[m]
    return eaten, demand_kg - eaten


# --- range condition and capacity ---------------------------------------------------
def range_condition(alpacas_per_ha_yr: np.ndarray | float) -> np.ndarray:
    """Flórez 2005 class whose tabulated capacity the forage supports.

    The class is the best one whose capacity in alpacas/ha/yr (excellent 2.7, good
    2.0, fair 1.0, poor 0.33, very poor 0.17) is at most the capacity worked out from
    the forage; below 0.17 the class is ``very poor``. Alpacas rather than UO are
    compared, so the result does not depend on the UO convention.
    """
    cap = np.atleast_1d(np.asarray(alpacas_per_ha_yr, dtype=float))
    out = np.full(cap.shape, "very poor", dtype=object)
    for name, (_kg, alpacas) in reversed(FLOREZ_CAPACITY.items()):
        out[cap >= alpacas] = name
    return out


def _condition_interval(condition: str) -> tuple[float, float, float]:
    """(low, central, high) alpacas/ha/yr of a Flórez class: halfway to its neighbours."""
    names = list(FLOREZ_CAPACITY)
    values = [FLOREZ_CAPACITY[n][1] for n in names]
    k = names.index(condition)
    central = values[k]
    better = values[k - 1] if k > 0 else central + (central - values[k + 1])
    worse = values[k + 1] if k + 1 < len(values) else central / 2
    return (central + worse) / 2, central, (central + better) / 2


def capacity_uo_ha_yr(production_kg_ha_yr: Any, params: ForageParams) -> Any:
    """Carrying capacity, UO/ha/yr: production x use factor / yearly intake of one UO.

    Example (defaults, 40 kg sheep unit): pajonal 855.5 kg DM/ha/yr x 0.5 /
    (0.7953 x 365 = 290.3 kg) = 1.474 UO/ha/yr, i.e. 1.474 / 1.4393 = 1.024 alpacas/ha/yr.
    """
    return production_kg_ha_yr * params.use_factor / (365.0 * params.kg_dm_per_uo_day)


# --- quadrat cuts and calibration ---------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    """Index-biomass relations fitted to quadrat cuts.

    Attributes
    ----------
    equations
        The chosen relation per scope: a pasture type, or :data:`ALL_TYPES` for the
        relation fitted to every cut (used for types with too few cuts of their own).
    table
        Every fit, both forms: scope, form, index, n, a, b, R², RMSE, and the biomass
        with its 95 % prediction interval at the mean index of the cuts, chosen.
    points
        The cuts used: plot, pasture type, date, index value, biomass.
    """

    equations: Mapping[str, BiomassEquation]
    table: pd.DataFrame
    points: pd.DataFrame

    def equation_for(self, pasture_type: str) -> BiomassEquation | None:
        """The relation for a pasture type: its own, else the one fitted to all cuts."""
        return self.equations.get(pasture_type) or self.equations.get(ALL_TYPES)


def calibrate_from_cuts(
    path: str | os.PathLike[str],
    plots: gpd.GeoDataFrame,
    index_table: pd.DataFrame,
    *,
    index: str = "ndvi",
    form: EquationForm | None = None,
    max_days: int = 16,
    coords_crs: str | CRS | None = None,
    min_valid_fraction: float = 0.5,
) -> tuple[Calibration, list[Problem]]:
    """Read a quadrat cuts file, pair each cut with its plot's index and fit the relations.

    :func:`read_quadrats`, :func:`match_quadrats` and :func:`fit_calibration` in one step,
    as ``pastures forage --calibration``, ``pastures rotate --calibration`` and a
    project's ``[calibration]`` run them.

    Returns
    -------
    tuple
        The :class:`Calibration` and the warnings about the cuts.

    Raises
    ------
    ValidationError
        Cuts that cannot be used (every bad row, naming the file, the row and the fix).
    ParameterError
        Too few usable cuts for a fit.
    """
    from pastures.errors import ValidationError

    points, problems = match_quadrats(
        read_quadrats(path),
        plots,
        index_table,
        index=index,
        max_days=max_days,
        coords_crs=coords_crs,
        min_valid_fraction=min_valid_fraction,
        source=str(path),
    )
    if any(p.severity == "error" for p in problems):
        raise ValidationError(problems)
    try:
        calibration = fit_calibration(points, index=index, form=form)
    except ParameterError as exc:
        raise ParameterError(_("{path}: {exc}").format(path=path, exc=exc)) from exc
    return calibration, problems


def fit_relation(
    x: np.ndarray, y: np.ndarray, *, form: EquationForm, index: str, source: str = "quadrat cuts"
) -> BiomassEquation:
    """Least-squares fit of biomass `y` (kg DM/ha) on index `x`.

    The linear form is fitted by ordinary least squares; the power form by OLS of
    ``ln y`` on ``ln x`` (points with x <= 0 or y <= 0 cannot enter it). R² and RMSE
    are on the original scale and over every point (for the power form, with the
    back-transformed median prediction, 0 where x <= 0), so both forms compare fairly.

    Raises
    ------
    ParameterError
        Fewer than three usable points, or all x equal.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if form == "power":
        keep = (x > 0) & (y > 0)
        fx, fy = np.log(x[keep]), np.log(y[keep])
    else:
        keep = np.ones(len(x), dtype=bool)
        fx, fy = x, y
    n = len(fx)
    if n < 3 or np.ptp(fx) == 0:
        raise ParameterError(
            _(
                "calibration ({form}): {n} usable point(s) with {value} index values; at "
                "least 3 with different index values are needed. Add quadrat cuts."
            ).format(form=form, n=n, value="distinct" if n >= 3 else "")
        )
    x_mean = float(fx.mean())
    sxx = float(((fx - x_mean) ** 2).sum())
    b = float(((fx - x_mean) * (fy - fy.mean())).sum() / sxx)
    a_fit = float(fy.mean() - b * x_mean)
    resid = fy - (a_fit + b * fx)
    resid_se = float(math.sqrt((resid**2).sum() / (n - 2)))
    a = math.exp(a_fit) if form == "power" else a_fit
    # points left out of the power fit still count in R² and RMSE (predicted 0 kg)
    pred = np.where(x > 0, a * np.abs(x) ** b, 0.0) if form == "power" else a + b * x
    sse = float(((y - pred) ** 2).sum())
    sst = float(((y - y.mean()) ** 2).sum())
    return BiomassEquation(
        form,
        a=a,
        b=b,
        index=index,
        source=f"{source}, {form} fit, n={n}",
        n=n,
        x_mean=x_mean,
        sxx=sxx,
        resid_se=resid_se,
        r2=1 - sse / sst if sst > 0 else math.nan,
        rmse=math.sqrt(sse / len(y)),
    )


def _scope_words(scope: str) -> str:
    """A calibration scope as the log reader says it: "all" is every pasture type."""
    return _("all pasture types") if scope == "all" else scope


def fit_calibration(
    points: pd.DataFrame,
    *,
    index: str = "ndvi",
    form: EquationForm | None = None,
    min_points: int = MIN_CALIBRATION_POINTS,
) -> Calibration:
    """Fit the index-biomass relation per pasture type, and over all cuts.

    Parameters
    ----------
    points
        Columns ``pasture_type``, ``index_value`` and ``biomass_kg_ha`` (see
        :func:`match_quadrats`).
    index
        Name of the index, recorded in the equations.
    form
        Use this form; None (default): fit both and keep the one of lower RMSE.
    min_points
        Fewest cuts a relation is fitted to; types with fewer use the pooled fit.

    Raises
    ------
    ParameterError
        Fewer than `min_points` cuts in all.
    """
    if len(points) < min_points:
        raise ParameterError(
            _(
                "calibration: {points} quadrat cut(s) matched to the index; at least "
                "{min_points} are needed for a fit. Add cuts, or run without "
                "--calibration."
            ).format(points=len(points), min_points=min_points)
        )
    scopes: list[tuple[str, pd.DataFrame]] = [(ALL_TYPES, points)]
    for name, group in points.groupby(S.PASTURE_TYPE, sort=True):
        if len(group) >= min_points and len(group) < len(points):
            scopes.append((str(name), group))
    rows = []
    equations: dict[str, BiomassEquation] = {}
    for scope, group in scopes:
        fits = {}
        for f in (form,) if form else EQUATION_FORMS:
            try:
                fits[f] = fit_relation(
                    group[S.INDEX_VALUE].to_numpy(),
                    group[S.BIOMASS].to_numpy(),
                    form=f,  # type: ignore[arg-type]
                    index=index,
                    source=f"quadrat cuts ({scope})",
                )
            except ParameterError as exc:
                logger.info("calibration %s: %s", _scope_words(scope), exc)
        if not fits:
            continue
        best = min(fits, key=lambda k: fits[k].rmse)
        equations[scope] = fits[best]
        x_mid = float(group[S.INDEX_VALUE].mean())
        for f, eq in fits.items():
            centre, low, high = eq.predict(x_mid)
            rows.append(
                {
                    S.FIT_SCOPE: scope,
                    S.FIT_FORM: f,
                    S.INDEX: index,
                    S.FIT_N: eq.n,
                    S.FIT_A: eq.a,
                    S.FIT_B: eq.b,
                    S.FIT_R2: eq.r2,
                    S.FIT_RMSE: eq.rmse,
                    S.INDEX_VALUE: x_mid,
                    S.BIOMASS: float(centre[0]),
                    S.BIOMASS_LOW: float(low[0]),
                    S.BIOMASS_HIGH: float(high[0]),
                    S.FIT_CHOSEN: f == best,
                }
            )
    if not equations:
        raise ParameterError(
            _(
                "calibration: no relation could be fitted (index values all equal, or biomass all "
                "zero). Check the quadrat cuts."
            )
        )
    for scope, eq in equations.items():
        logger.info(
            _("calibration %s: %s, R² %.2f, RMSE %.0f kg DM/ha"),
            _scope_words(scope),
            method_words(eq.describe(), cli_language()),
            eq.r2,
            eq.rmse,
        )
    return Calibration(equations, pd.DataFrame(rows), points.reset_index(drop=True))


QUADRAT_ALIASES: Final = {
    S.PLOT_CODE: S.COLUMN_ALIASES[S.PLOT_CODE],
    S.DATE: ("date", "fecha", "cut_date", "fecha_corte"),
    S.BIOMASS: (
        "biomass_kg_ha",
        "biomass",
        "biomasa",
        "kg_dm_ha",
        "kg_ms_ha",
        "dm_kg_ha",
        "ms_kg_ha",
        "materia_seca",
    ),
    S.X_COORD: ("x", "easting", "este", "utm_e", "utm_x"),
    S.Y_COORD: ("y", "northing", "norte", "utm_n", "utm_y"),
    "lon": ("lon", "long", "longitude", "longitud", "lng"),
    "lat": ("lat", "latitude", "latitud"),
}


def read_quadrats(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read field quadrat cuts (CSV or XLSX) as text, with schema column names.

    One row per cut: the plot (``plot_code``) or its position (``x``/``y`` in the
    working CRS, or ``lon``/``lat`` in degrees), the ``date`` of the cut and the
    ``biomass_kg_ha`` weighed (kg DM/ha). Spanish headings are accepted
    (:data:`QUADRAT_ALIASES`). Values are checked by :func:`match_quadrats`.

    Raises
    ------
    InputFileError
        The file is missing or not a table.
    """
    from pastures.io import read_table
    from pastures.layers import fold

    table = read_table(path)
    keyed = {fold(str(c)).replace(" ", "_"): str(c) for c in table.columns}
    out = pd.DataFrame(index=table.index)
    for canon, aliases in QUADRAT_ALIASES.items():
        for alias in aliases:
            if alias in keyed:
                out[canon] = table[keyed.pop(alias)].astype("string").str.strip()
                break
    return out


def match_quadrats(
    quadrats: pd.DataFrame,
    plots: gpd.GeoDataFrame,
    index_table: pd.DataFrame,
    *,
    index: str = "ndvi",
    max_days: int = 16,
    coords_crs: str | CRS | None = None,
    min_valid_fraction: float = 0.5,
    source: str = "quadrats",
) -> tuple[pd.DataFrame, list[Problem]]:
    """Place each quadrat cut in its plot and pair it with the plot's index on the nearest date.

    Parameters
    ----------
    quadrats
        As from :func:`read_quadrats` (text cells).
    plots
        Plots layer in the working CRS.
    index_table
        Tidy per-plot index table (``pastures indices``): plot_code, date, index,
        statistic, value. The plot mean on the nearest usable date is used.
    index
        Index to pair with.
    max_days
        Largest gap (days) between a cut and an image date.
    coords_crs
        CRS of ``x``/``y`` (default: the plots' CRS); ``lon``/``lat`` are EPSG:4326.
    min_valid_fraction
        Image dates where less of the plot was clear are not used.
    source
        File name for messages.

    Returns
    -------
    tuple
        The usable cuts (plot_code, pasture_type, date, index_value, biomass_kg_ha)
        and the problems found (every bad row is an error naming its row and the fix).
    """
    problems: list[Problem] = []

    def bad(pos: int, rule: str, fld: str, message: str) -> None:
        problems.append(
            Problem("error", rule, message, source=source, feature=f"row {pos + 2}", field=fld)
        )

    has_code = S.PLOT_CODE in quadrats.columns
    has_xy = {S.X_COORD, S.Y_COORD} <= set(quadrats.columns)
    has_ll = {"lon", "lat"} <= set(quadrats.columns)
    problems += _quadrat_columns(quadrats, source=source)
    if problems:
        return pd.DataFrame(), problems

    series = _index_series(index_table, index=index, min_valid_fraction=min_valid_fraction)
    codes = set(plots[S.PLOT_CODE])
    ptype = dict(zip(plots[S.PLOT_CODE], plots[S.PASTURE_TYPE], strict=True))
    tree = shapely.STRtree(plots.geometry.to_numpy())
    to_work = None
    if has_ll:
        to_work = Transformer.from_crs(S.LONLAT_CRS, plots.crs, always_xy=True)
    if has_xy and coords_crs is not None and CRS(coords_crs) != CRS(plots.crs):
        xy_to_work = Transformer.from_crs(CRS(coords_crs), plots.crs, always_xy=True)
    else:
        xy_to_work = None
    rows = []
    for pos in range(len(quadrats)):
        row = quadrats.iloc[pos]
        date, biomass, why = _quadrat_values(row)
        ok = not why
        for rule, fld, message in why:
            bad(pos, rule, fld, message)
        code = row[S.PLOT_CODE] if has_code else pd.NA
        if isinstance(code, str) and code:
            if code not in codes:
                bad(
                    pos,
                    "unknown-plot",
                    S.PLOT_CODE,
                    f"plot '{code}' is not in the plots "
                    "layer. Correct the code, or give the cut's coordinates instead.",
                )
                ok = False
        else:
            code, where = _plot_at(
                row,
                plots,
                tree=tree,
                to_work=to_work,
                xy_to_work=xy_to_work,
                has_xy=has_xy,
                has_ll=has_ll,
            )
            if code is None:
                bad(pos, "outside-plots", S.X_COORD if has_xy else "lon", where)
                ok = False
        if not ok:
            continue
        value, gap = _nearest_value(series, str(code), date)
        if value is None or gap > max_days:
            near = "" if gap is None or not np.isfinite(gap) else f" (nearest {gap:.0f} days away)"
            bad(
                pos,
                "no-index",
                S.DATE,
                f"plot '{code}' has no usable {index} value within "
                f"{max_days} days of {date:%Y-%m-%d}{near}. Add an image of that date or widen "
                "the window (--calibration-days; max_days in a project's [calibration]).",
            )
            continue
        rows.append(
            {
                S.PLOT_CODE: code,
                S.PASTURE_TYPE: ptype[code],
                S.DATE: date,
                S.INDEX_VALUE: value,
                S.BIOMASS: float(biomass),
            }
        )
    return pd.DataFrame(
        rows, columns=[S.PLOT_CODE, S.PASTURE_TYPE, S.DATE, S.INDEX_VALUE, S.BIOMASS]
    ), problems


def _quadrat_columns(quadrats: pd.DataFrame, *, source: str) -> list[Problem]:
    """Problems with the columns of a quadrat table (each missing one named)."""
    problems: list[Problem] = []
    has_code = S.PLOT_CODE in quadrats.columns
    has_xy = {S.X_COORD, S.Y_COORD} <= set(quadrats.columns)
    has_ll = {"lon", "lat"} <= set(quadrats.columns)
    for canon in (S.DATE, S.BIOMASS):
        if canon not in quadrats.columns:
            problems.append(
                Problem(
                    "error",
                    "missing-field",
                    _("no column for '{canon}' (looked for: {value}). Add or rename it.").format(
                        canon=canon, value=", ".join(QUADRAT_ALIASES[canon])
                    ),
                    source=source,
                    field=canon,
                )
            )
    if not (has_code or has_xy or has_ll):
        problems.append(
            Problem(
                "error",
                "missing-field",
                _("no plot_code and no coordinates (x/y or lon/lat). Say where each cut was made."),
                source=source,
                field=S.PLOT_CODE,
            )
        )
    return problems


def _quadrat_values(row: pd.Series) -> tuple[Any, float, list[tuple[str, str, str]]]:
    """Date and biomass of one cut, and (rule, field, message) for each bad value."""
    why = []
    date = parse_date(row[S.DATE])
    if date is None:
        why.append(
            (
                "bad-date",
                S.DATE,
                f"date '{row[S.DATE]}' is not a date. Write it as YYYY-MM-DD (e.g. 2024-03-15) "
                "or DD/MM/YYYY (e.g. 15/03/2024).",
            )
        )
    biomass = pd.to_numeric(str(row[S.BIOMASS]).replace(",", "."), errors="coerce")
    if pd.isna(biomass) or not np.isfinite(biomass):
        why.append(
            (
                "bad-biomass",
                S.BIOMASS,
                f"biomass '{row[S.BIOMASS]}' is not a number. Write the dry matter in kg DM/ha.",
            )
        )
    elif not 0 <= biomass <= MAX_QUADRAT_KG_HA:
        why.append(
            (
                "impossible-biomass",
                S.BIOMASS,
                f"biomass {biomass:g} kg DM/ha is impossible "
                f"(accepted 0-{MAX_QUADRAT_KG_HA:,.0f}). Check the units: kg of dry matter per "
                "hectare, not g per quadrat or fresh weight.",
            )
        )
    return date, float(biomass), why


#: Day-first dates as written in Peru: 15/03/2024, 15-03-2024, 15.03.2024.
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
#: Years accepted in dates of cuts and images (Landsat archive to the near future).
DATE_YEARS: Final = (1980, 2100)


def parse_date(value: object) -> pd.Timestamp | None:
    """The calendar day of a date written as ISO 8601 or day first; None if it is not one.

    ``YYYY-MM-DD`` (with or without a time, ``Z`` or an offset) and ``DD/MM/YYYY``
    (also with ``-`` or ``.``) are accepted. Slashed dates are always day first, as
    written in Peru, so ``03/04/2024`` is 3 April in every row of a file and
    ``04/15/2024`` (month first) is refused instead of read differently from its
    neighbours. A time zone is dropped after reading, keeping the local day the date
    was written for. Years outside :data:`DATE_YEARS` are refused.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | np.datetime64) or hasattr(value, "year"):
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    else:
        text = str(value).strip()
        match = _DAY_FIRST.match(text)
        try:
            if match:
                day, month, year = (int(g) for g in match.groups())
                stamp = pd.Timestamp(year=year, month=month, day=day)
            else:
                stamp = pd.Timestamp(datetime.fromisoformat(text.replace("Z", "+00:00")))
        except (ValueError, OverflowError):
            return None
    if pd.isna(stamp):
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.tz_localize(None)
    if not DATE_YEARS[0] <= stamp.year <= DATE_YEARS[1]:
        return None
    return stamp.normalize()


#: Plausible range of plot statistics of each normalised-difference index (the index is
#: bounded by -1 and 1 for any reflectance); other indices are only checked to be finite.
INDEX_VALUE_RANGES: Final[Mapping[str, tuple[float, float]]] = dict.fromkeys(
    ("ndvi", "ndmi", "ndii", "ndwi", "savi", "msavi2"), (-1.0, 1.0)
)
#: Statistics that are index values (checked against :data:`INDEX_VALUE_RANGES`).
_VALUE_STATISTICS: Final = frozenset({S.STAT_MEAN, S.STAT_MEDIAN, S.STAT_P10, S.STAT_P90})


def check_index_table(
    table: pd.DataFrame, *, source: str = "index table"
) -> tuple[pd.DataFrame, list[Problem]]:
    """Type and check a tidy per-plot index table, reporting every bad cell.

    Parameters
    ----------
    table
        As read from the CSV, XLSX or Parquet written by ``pastures indices``
        (columns :data:`pastures.schema.ZONAL_COLUMNS`), cells as text or typed.
    source
        File name for messages.

    Returns
    -------
    tuple
        The table with dates as datetimes and values as floats, without the bad rows,
        and one problem per kind of bad cell (naming up to 5 rows): missing columns,
        dates that are not dates, values that are text or infinite (empty and NaN
        values are missing, as on cloudy dates, and kept), index values
        outside their range (NDVI = 50 is a reflectance scale slip, not an NDVI),
        valid fractions outside 0-1 and negative pixel counts or deviations.
    """
    problems: list[Problem] = []
    missing = [c for c in S.ZONAL_COLUMNS if c not in table.columns]
    if missing:
        problems.append(
            Problem(
                "error",
                "missing-field",
                _(
                    "no column(s) {value}. Give the tidy table written by `pastures indices` "
                    "(columns {value2})."
                ).format(value=", ".join(missing), value2=", ".join(S.ZONAL_COLUMNS)),
                source=source,
                field=missing[0],
            )
        )
        return table.iloc[0:0], problems
    out = table.copy()
    out[S.INDEX] = out[S.INDEX].astype("string").str.strip().str.lower()
    out[S.STATISTIC] = out[S.STATISTIC].astype("string").str.strip()
    out[S.PLOT_CODE] = out[S.PLOT_CODE].astype("string").str.strip()
    dates = [parse_date(v) for v in out[S.DATE]]
    text = out[S.VALUE].astype("string").str.strip()
    values = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").astype(
        "float64"
    )
    # an empty cell or NaN is a missing value (a cloudy date: valid_fraction 0, mean NaN)
    missing = (text.isna() | text.str.lower().isin(["", "nan", "na", "<na>"])).to_numpy()
    bad_date = np.array([d is None for d in dates], dtype=bool)
    bad_value = ~missing & ~np.isfinite(values.to_numpy())
    lo_hi = [INDEX_VALUE_RANGES.get(str(i)) for i in out[S.INDEX]]
    stat = out[S.STATISTIC].to_numpy(dtype=object)
    v = values.to_numpy()
    out_of_range = np.zeros(len(out), dtype=bool)
    for k in np.flatnonzero(~bad_value & ~missing):
        if stat[k] in _VALUE_STATISTICS and lo_hi[k] is not None:
            lo, hi = lo_hi[k]
            out_of_range[k] = not lo <= v[k] <= hi
        elif stat[k] == S.STAT_VALID_FRACTION:
            out_of_range[k] = not 0 <= v[k] <= 1
        elif stat[k] in {S.STAT_COUNT, S.STAT_STD}:
            out_of_range[k] = v[k] < 0
    no_code = out[S.PLOT_CODE].isna().to_numpy() | (out[S.PLOT_CODE] == "").fillna(True).to_numpy()
    for mask, rule, fld, text in (
        (bad_date, "bad-date", S.DATE, "is not a date; write YYYY-MM-DD"),
        (bad_value, "bad-value", S.VALUE, "is not a number (or is infinite)"),
        (
            out_of_range,
            "impossible-value",
            S.VALUE,
            "is outside the range of its index or statistic (NDVI, NDMI, SAVI... lie in "
            "-1..1; valid_fraction in 0..1): were reflectances scaled (x100, x10000)?",
        ),
        (no_code, "missing-value", S.PLOT_CODE, "has no plot_code"),
    ):
        rows = np.flatnonzero(mask)
        if len(rows):
            cells = ", ".join(f"row {r + 2} ('{table[fld].iloc[r]}')" for r in rows[:5]) + (
                f" and {len(rows) - 5} more" if len(rows) > 5 else ""
            )
            problems.append(
                Problem(
                    "error",
                    rule,
                    _(
                        "{rows} row(s): {fld} {text}: {cells}. Fix the table, or write it again "
                        "with `pastures indices`."
                    ).format(rows=len(rows), fld=fld, text=text, cells=cells),
                    source=source,
                    field=fld,
                )
            )
    keep = ~(bad_date | bad_value | out_of_range | no_code)
    out[S.DATE] = pd.to_datetime(
        pd.Series([d if d is not None else pd.NaT for d in dates], index=out.index)
    )
    out[S.VALUE] = values
    return out.loc[keep].reset_index(drop=True), problems


def _plot_at(
    row: pd.Series,
    plots: gpd.GeoDataFrame,
    *,
    tree: shapely.STRtree,
    to_work: Transformer | None,
    xy_to_work: Transformer | None,
    has_xy: bool,
    has_ll: bool,
) -> tuple[str | None, str]:
    """Plot containing the cut's position, or None and the reason."""
    if has_xy and not pd.isna(row[S.X_COORD]) and str(row[S.X_COORD]):
        x = pd.to_numeric(row[S.X_COORD], errors="coerce")
        y = pd.to_numeric(row[S.Y_COORD], errors="coerce")
        if pd.isna(x) or pd.isna(y):
            return None, (
                f"coordinates '{row[S.X_COORD]}', '{row[S.Y_COORD]}' are not numbers. Write "
                "metres in the working CRS (EPSG:32719), or give the plot_code."
            )
        if xy_to_work is not None:
            x, y = xy_to_work.transform(x, y)
        where = f"point (x {x:,.0f}, y {y:,.0f})"
    elif has_ll and not pd.isna(row["lon"]) and str(row["lon"]):
        lon = pd.to_numeric(row["lon"], errors="coerce")
        lat = pd.to_numeric(row["lat"], errors="coerce")
        if pd.isna(lon) or pd.isna(lat) or not (-180 <= lon <= 180 and -90 <= lat <= 90):
            return None, (
                f"lon/lat '{row['lon']}', '{row['lat']}' are not degrees. Write decimal degrees "
                "(Juli: lon -69.46, lat -16.21)."
            )
        assert to_work is not None
        x, y = to_work.transform(lon, lat)
        where = f"point (lon {lon}, lat {lat})"
    else:
        return None, "no plot_code and no coordinates. Say where the cut was made."
    hits = tree.query(shapely.Point(x, y), predicate="intersects")
    if len(hits) == 0:
        return None, (
            f"{where} lies in no plot. Check the coordinates and their CRS (x/y in metres of "
            "EPSG:32719 unless --calibration-crs says otherwise), or give the plot_code."
        )
    return str(plots[S.PLOT_CODE].iloc[int(hits[0])]), ""


def _index_series(
    index_table: pd.DataFrame, *, index: str, min_valid_fraction: float
) -> pd.DataFrame:
    """Plot mean of one index per plot and usable date: columns plot_code, date, value."""
    if index_table is None or not len(index_table):
        return pd.DataFrame(columns=[S.PLOT_CODE, S.DATE, S.VALUE])
    missing = [c for c in S.ZONAL_COLUMNS if c not in index_table.columns]
    if missing:
        raise ParameterError(
            _(
                "index table: missing column(s) {value}. Give the tidy table written by "
                "`pastures indices` (columns {value2})."
            ).format(value=", ".join(missing), value2=", ".join(S.ZONAL_COLUMNS))
        )
    t = index_table[index_table[S.INDEX].astype(str).str.lower() == index.lower()]
    if not len(t):
        known = ", ".join(sorted(index_table[S.INDEX].astype(str).unique()))
        raise ParameterError(
            _(
                "index table: no '{index}' values (it holds: {known}). Choose one with --index."
            ).format(index=index, known=known)
        )
    t = t.assign(
        **{
            S.DATE: pd.to_datetime(pd.Series([parse_date(d) for d in t[S.DATE]], index=t.index)),
            S.VALUE: pd.to_numeric(t[S.VALUE], errors="coerce"),
        }
    ).dropna(subset=[S.DATE, S.VALUE])
    wide = t.pivot_table(
        index=[S.PLOT_CODE, S.DATE], columns=S.STATISTIC, values=S.VALUE, aggfunc="first"
    )
    if S.STAT_MEAN not in wide.columns:
        raise ParameterError(
            _("index table: no '{stat_mean}' statistic for '{index}'.").format(
                stat_mean=S.STAT_MEAN, index=index
            )
        )
    if S.STAT_VALID_FRACTION in wide.columns:
        wide = wide[wide[S.STAT_VALID_FRACTION].fillna(0) >= min_valid_fraction]
    out = wide[[S.STAT_MEAN]].rename(columns={S.STAT_MEAN: S.VALUE}).dropna().reset_index()
    out.columns.name = None
    return out


def _nearest_value(
    series: pd.DataFrame, code: str, date: pd.Timestamp
) -> tuple[float | None, float]:
    part = series[series[S.PLOT_CODE] == code]
    if not len(part):
        return None, math.inf
    gaps = (part[S.DATE] - date).abs().dt.days.to_numpy()
    k = int(np.argmin(gaps))
    return float(part[S.VALUE].iloc[k]), float(gaps[k])


# --- biomass and production per plot -----------------------------------------------
def biomass_from_index(
    plots: pd.DataFrame,
    index_table: pd.DataFrame,
    *,
    params: ForageParams | None = None,
    calibration: Calibration | None = None,
) -> pd.DataFrame:
    """Standing biomass per plot and date from the index, with its prediction interval.

    The equation of each plot is the calibration's for its pasture type (or the one
    fitted to all cuts), else the type's published default; plots of a type with
    neither get no rows (their production comes from the type's range).

    Returns
    -------
    pandas.DataFrame
        plot_code, date, index_value, biomass_kg_ha, biomass_low_kg_ha,
        biomass_high_kg_ha, equation.
    """
    params = params or ForageParams()
    series = _index_series(
        index_table, index=params.index, min_valid_fraction=params.min_valid_fraction
    )
    types = dict(zip(plots[S.PLOT_CODE], plots[S.PASTURE_TYPE], strict=True))
    parts = []
    for code, group in series.groupby(S.PLOT_CODE, sort=True):
        if code not in types:
            continue
        eq = _equation_for(str(types[code]), params, calibration)
        if eq is None:
            continue
        centre, low, high = eq.predict(group[S.VALUE].to_numpy(), level=params.interval_level)
        parts.append(
            pd.DataFrame(
                {
                    S.PLOT_CODE: code,
                    S.DATE: group[S.DATE].to_numpy(),
                    S.INDEX_VALUE: group[S.VALUE].to_numpy(),
                    S.BIOMASS: centre,
                    S.BIOMASS_LOW: low,
                    S.BIOMASS_HIGH: high,
                    S.EQUATION: eq.describe(),
                }
            )
        )
    columns = [
        S.PLOT_CODE,
        S.DATE,
        S.INDEX_VALUE,
        S.BIOMASS,
        S.BIOMASS_LOW,
        S.BIOMASS_HIGH,
        S.EQUATION,
    ]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def _equation_for(
    pasture_type: str, params: ForageParams, calibration: Calibration | None
) -> BiomassEquation | None:
    if calibration is not None:
        eq = calibration.equation_for(pasture_type)
        if eq is not None:
            return eq
    kind = params.pasture_types.get(pasture_type)
    if kind is None or kind.equation is None or kind.equation.index != params.index:
        return None
    return kind.equation


#: Months in which the yearly peak of standing biomass is looked for (end of the rains).
PEAK_MONTHS: Final = (2, 3, 4, 5)


def plot_production(
    plots: pd.DataFrame, biomass: pd.DataFrame | None = None, *, params: ForageParams | None = None
) -> pd.DataFrame:
    """Annual production per plot, kg DM/ha/yr, with its interval and how it was estimated.

    With index biomass for a plot: the median over years of the peak standing biomass
    (the highest central value among the dates of Feb-May of each year, with that
    date's interval). Otherwise: the pasture type's range, midpoint central.

    Raises
    ------
    ParameterError
        A plot's pasture type has no production figure (e.g. ``cultivado``).
    """
    params = params or ForageParams()
    peaks = _peaks(biomass) if biomass is not None and len(biomass) else pd.DataFrame()
    rows = []
    for code, ptype in zip(plots[S.PLOT_CODE], plots[S.PASTURE_TYPE], strict=True):
        kind = params.pasture_type(str(ptype))
        if code in peaks.index:
            peak = peaks.loc[code]
            rows.append(
                (
                    peak[S.BIOMASS],
                    peak[S.BIOMASS_LOW],
                    peak[S.BIOMASS_HIGH],
                    f"peak standing biomass, {peak[S.EQUATION]}",
                )
            )
        else:
            low, high = kind.production_kg_ha_yr
            rows.append(
                (kind.production_central, low, high, f"pasture-type default: {kind.source}")
            )
    out = pd.DataFrame(
        rows, columns=[S.PRODUCTION, S.PRODUCTION_LOW, S.PRODUCTION_HIGH, S.FORAGE_METHOD]
    )
    out.insert(0, S.PLOT_CODE, plots[S.PLOT_CODE].to_numpy())
    return out


def _peaks(biomass: pd.DataFrame) -> pd.DataFrame:
    b = biomass[pd.to_datetime(biomass[S.DATE]).dt.month.isin(PEAK_MONTHS)].copy()
    if not len(b):
        return pd.DataFrame()
    b[S.YEAR] = pd.to_datetime(b[S.DATE]).dt.year
    top = b.loc[b.groupby([S.PLOT_CODE, S.YEAR])[S.BIOMASS].idxmax()]
    return top.groupby(S.PLOT_CODE).agg(
        **{
            S.BIOMASS: (S.BIOMASS, "median"),
            S.BIOMASS_LOW: (S.BIOMASS_LOW, "median"),
            S.BIOMASS_HIGH: (S.BIOMASS_HIGH, "median"),
            S.EQUATION: (S.EQUATION, "first"),
        }
    )


# --- the budget ---------------------------------------------------------------------
@dataclass(frozen=True)
class ForageBudget:
    """Everything :func:`forage_budget` works out.

    Attributes
    ----------
    plots
        One row per plot (GeoDataFrame, geometry last): production, available forage,
        capacity (UO/ha/yr, UO, per season), range condition, grazing days.
    communities
        One row per community and a TOTAL row: area, plots and open range, stocking and
        capacity of each, stocking ratios.
    monthly
        Forage balance per community and month (and TOTAL): growth, demand, eaten,
        deficit with its interval.
    growth
        Monthly growth share of each pasture type and of the open range.
    biomass
        Biomass per plot and date from the index (empty without an index table).
    calibration
        Fits to quadrat cuts (empty without them).
    params
        The parameters used.
    """

    plots: gpd.GeoDataFrame
    communities: pd.DataFrame
    monthly: pd.DataFrame
    growth: pd.DataFrame
    biomass: pd.DataFrame
    calibration: pd.DataFrame
    params: ForageParams

    @property
    def dry_season_deficit(self) -> pd.DataFrame:
        """Deficit of all communities per dry-season month (rows of TOTAL), kg DM."""
        m = self.monthly
        total = m[(m[S.COMMUNITY] == TOTAL_LABEL) & (m[S.SEASON] == DRY)]
        return total[
            [
                S.MONTH,
                S.DEMAND_KG,
                S.DEFICIT_KG,
                S.DEFICIT_LOW_KG,
                S.DEFICIT_HIGH_KG,
                S.DEFICIT_SHARE,
            ]
        ].reset_index(drop=True)


def forage_budget(
    project: Project,
    *,
    index_table: pd.DataFrame | None = None,
    calibration: Calibration | None = None,
    params: ForageParams | None = None,
    herd_uo: float | None = None,
    range_index_table: pd.DataFrame | None = None,
) -> ForageBudget:
    """Forage, carrying capacity, stocking and deficits of a pasture project.

    Parameters
    ----------
    project
        A loaded :class:`pastures.layers.Project` (communities, plots, herds used).
    index_table
        Tidy per-plot index table from ``pastures indices``; None: production from the
        pasture-type defaults (Castellaro 2007).
    calibration
        Relations fitted to quadrat cuts (:func:`fit_calibration`), used in place of
        the published defaults.
    params
        Parameters (:class:`ForageParams`).
    herd_uo
        Herd (UO) whose grazing days are worked out on every plot; None: the mean
        family herd of the plot's community.
    range_index_table
        Tidy index table of the open ranges (ids from :func:`open_range_polygons`, as
        the vegetation stage of ``pastures run`` writes it). With a `calibration`, each
        community's open range production is its peak standing biomass through the
        relation fitted to all cuts (the range mixes the pasture types); otherwise, or
        with too few clear dates over the range, the default of
        :func:`open_range_production`. An imposed ``open_range.condition`` wins.

    Returns
    -------
    ForageBudget

    Notes
    -----
    Grazing days divide the grazeable standing forage (standing biomass x use
    factor) by the herd's intake. The standing biomass is the plot's latest index
    estimate when there is one; otherwise the ungrazed stock modelled at the start
    of ``params.budget_month`` from the growth profile (:func:`standing_factors`),
    i.e. a plot rested for at least a year.

    The community's herd is set against its fenced plots up to their capacity; the
    rest of its grazing falls on the open range (community area minus plots, times
    ``open_range.grazeable_share``). The monthly balance pools plots and open range
    per community and carries unused grazeable forage over, less
    ``standing_loss_per_month``; no forage moves between communities.

    Raises
    ------
    ParameterError
        A plot's pasture type has no production figure, or the index table is unusable.
    """
    params = params or ForageParams()
    plots = project.plots
    biomass = (
        biomass_from_index(plots, index_table, params=params, calibration=calibration)
        if index_table is not None
        else pd.DataFrame()
    )
    production = plot_production(plots, biomass, params=params)
    herds = project.herds.copy()
    herds[S.HERD_UO] = herd_animal_units(herds, params.units) if len(herds) else []
    per_day = params.kg_dm_per_uo_day
    if not len(project.communities) and len(herds):
        logger.warning(
            _(
                "no communities layer: the open communal range cannot be measured and only the "
                "fenced plots are counted as forage. Give the community boundaries (--communities)."
            )
        )
    plot_table = _plot_table(
        plots,
        production=production,
        biomass=biomass,
        herds=herds,
        params=params,
        herd_uo=herd_uo,
    )
    range_production = _range_production(project, range_index_table, calibration, params)
    communities, monthly = _community_tables(
        project, plot_table, herds, params, range_production=range_production
    )
    calib = calibration.table if calibration is not None else pd.DataFrame()
    logger.info(
        _("forage budget: %d plots, %d communities; 1 UO eats %.3f kg DM/day"),
        len(plot_table),
        len(communities) - 1,
        per_day,
    )
    return ForageBudget(
        plots=plot_table,
        communities=communities,
        monthly=monthly,
        growth=growth_profile(params),
        biomass=biomass,
        calibration=calib,
        params=params,
    )


def _season_capacity(
    annual_kg: np.ndarray, shares: np.ndarray, months: tuple[int, ...], per_day: float
) -> np.ndarray:
    """UO fed through `months` by the grazeable growth of those months alone."""
    idx = [m - 1 for m in months]
    days = sum(DAYS_IN_MONTH[i] for i in idx)
    return annual_kg * shares[idx].sum() / (per_day * days)


def _plot_table(
    plots: gpd.GeoDataFrame,
    *,
    production: pd.DataFrame,
    biomass: pd.DataFrame,
    herds: pd.DataFrame,
    params: ForageParams,
    herd_uo: float | None,
) -> gpd.GeoDataFrame:
    u = params.use_factor
    per_day = params.kg_dm_per_uo_day
    out = pd.DataFrame(
        {
            S.PLOT_CODE: plots[S.PLOT_CODE].to_numpy(),
            S.COMMUNITY: plots[S.COMMUNITY].to_numpy(),
            S.PASTURE_TYPE: plots[S.PASTURE_TYPE].to_numpy(),
            S.AREA_HA: plots[S.AREA_HA].to_numpy(dtype=float),
        }
    )
    for col in (S.PRODUCTION, S.PRODUCTION_LOW, S.PRODUCTION_HIGH, S.FORAGE_METHOD):
        out[col] = production[col].to_numpy()
    out[S.AVAILABLE] = out[S.PRODUCTION] * u
    out[S.AVAILABLE_LOW] = out[S.PRODUCTION_LOW] * u
    out[S.AVAILABLE_HIGH] = out[S.PRODUCTION_HIGH] * u
    out[S.CAPACITY_UO_HA] = capacity_uo_ha_yr(out[S.PRODUCTION], params)
    out[S.CAPACITY_UO_HA_LOW] = capacity_uo_ha_yr(out[S.PRODUCTION_LOW], params)
    out[S.CAPACITY_UO_HA_HIGH] = capacity_uo_ha_yr(out[S.PRODUCTION_HIGH], params)
    out[S.CAPACITY_UO] = out[S.CAPACITY_UO_HA] * out[S.AREA_HA]
    out[S.CAPACITY_UO_LOW] = out[S.CAPACITY_UO_HA_LOW] * out[S.AREA_HA]
    out[S.CAPACITY_UO_HIGH] = out[S.CAPACITY_UO_HA_HIGH] * out[S.AREA_HA]
    wet_cap, dry_cap, standing = [], [], []
    dry_months = tuple(m for m in MONTHS if m not in params.wet_months)
    for ptype, prod in zip(out[S.PASTURE_TYPE], out[S.PRODUCTION], strict=True):
        shares = growth_shares(
            params.pasture_type(ptype).uniform_growth_share, params.monthly_rain_mm
        )
        annual = u * prod
        wet_cap.append(_season_capacity(np.array(annual), shares, params.wet_months, per_day))
        dry_cap.append(_season_capacity(np.array(annual), shares, dry_months, per_day))
        factor = standing_factors(shares, loss=params.standing_loss_per_month)
        standing.append(factor[params.budget_month - 1])
    out[S.CAPACITY_UO_WET] = np.asarray(wet_cap, dtype=float) * out[S.AREA_HA]
    out[S.CAPACITY_UO_DRY] = np.asarray(dry_cap, dtype=float) * out[S.AREA_HA]
    alpacas_ha = out[S.PRODUCTION] * u / params.kg_dm_per_alpaca_year
    out[S.RANGE_CONDITION] = range_condition(alpacas_ha.to_numpy())
    out[S.FLOREZ_UO_HA] = [FLOREZ_CAPACITY[c][0] for c in out[S.RANGE_CONDITION]]

    # standing grazeable forage: the latest index biomass, else the modelled ungrazed stock
    factor = np.asarray(standing, dtype=float)
    stand = pd.DataFrame(
        {
            "c": u * factor * out[S.PRODUCTION],
            "lo": u * factor * out[S.PRODUCTION_LOW],
            "hi": u * factor * out[S.PRODUCTION_HIGH],
        }
    )
    if len(biomass):
        last = biomass.sort_values(S.DATE).groupby(S.PLOT_CODE).last()
        for k, code in enumerate(out[S.PLOT_CODE]):
            if code in last.index:
                stand.loc[k, ["c", "lo", "hi"]] = u * last.loc[
                    code, [S.BIOMASS, S.BIOMASS_LOW, S.BIOMASS_HIGH]
                ].to_numpy(float)
    out[S.STANDING_KG_HA] = stand["c"].to_numpy()
    out[S.STANDING_KG_HA_LOW] = stand["lo"].to_numpy()
    out[S.STANDING_KG_HA_HIGH] = stand["hi"].to_numpy()
    if herd_uo is not None:
        if herd_uo <= 0:
            raise ParameterError(
                _("herd of {herd_uo} UO: give a positive number of sheep units.").format(
                    herd_uo=herd_uo
                )
            )
        out[S.HERD_UO] = float(herd_uo)
    else:
        mean_herd = herds.groupby(S.COMMUNITY)[S.HERD_UO].mean() if len(herds) else pd.Series()
        out[S.HERD_UO] = out[S.COMMUNITY].map(mean_herd).astype(float)
    daily = out[S.HERD_UO] * per_day
    with np.errstate(divide="ignore", invalid="ignore"):
        out[S.GRAZING_DAYS] = stand["c"].to_numpy() * out[S.AREA_HA] / daily
        out[S.GRAZING_DAYS_LOW] = stand["lo"].to_numpy() * out[S.AREA_HA] / daily
        out[S.GRAZING_DAYS_HIGH] = stand["hi"].to_numpy() * out[S.AREA_HA] / daily
    return gpd.GeoDataFrame(out, geometry=plots.geometry.to_numpy(), crs=plots.crs)


#: Id of a community's open range in index tables: "RANGE <community>" (the planner's).
OPEN_RANGE_ID: Final = "RANGE {}"


def open_range_polygons(project: Project) -> gpd.GeoDataFrame:
    """Each community's open range: its polygon minus its fenced plots.

    Returns
    -------
    geopandas.GeoDataFrame
        ``plot_code`` (``"RANGE <community>"``, so index tables take it as a plot),
        ``community``, ``pasture_type`` (:data:`OPEN_RANGE`) and the geometry, in the
        project's CRS; communities left with no area are dropped.
    """
    coms = project.communities
    rows = []
    for name, geom in zip(coms[S.COMMUNITY], coms.geometry, strict=True):
        mine = project.plots[project.plots[S.COMMUNITY] == name]
        rest = geom.difference(shapely.union_all(mine.geometry.to_numpy())) if len(mine) else geom
        if rest is not None and not rest.is_empty and rest.area > 0:
            rows.append(
                {
                    S.PLOT_CODE: OPEN_RANGE_ID.format(name),
                    S.COMMUNITY: name,
                    S.PASTURE_TYPE: OPEN_RANGE,
                    "geometry": rest,
                }
            )
    columns = [S.PLOT_CODE, S.COMMUNITY, S.PASTURE_TYPE, "geometry"]
    return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=coms.crs)


def _range_production(
    project: Project,
    range_index_table: pd.DataFrame | None,
    calibration: Calibration | None,
    params: ForageParams,
) -> dict[str, tuple[float, float, float, str]]:
    """(central, low, high, method) production of each open range the index can give."""
    if range_index_table is None or calibration is None or params.open_range.condition:
        return {}
    if not len(range_index_table) or not len(project.communities):
        return {}
    ranges = pd.DataFrame(
        {
            S.PLOT_CODE: [OPEN_RANGE_ID.format(n) for n in project.communities[S.COMMUNITY]],
            S.PASTURE_TYPE: OPEN_RANGE,
        }
    )
    biomass = biomass_from_index(ranges, range_index_table, params=params, calibration=calibration)
    peaks = _peaks(biomass) if len(biomass) else pd.DataFrame()
    out = {}
    for name in project.communities[S.COMMUNITY]:
        code = OPEN_RANGE_ID.format(name)
        if code in peaks.index:
            peak = peaks.loc[code]
            out[str(name)] = (
                float(peak[S.BIOMASS]),
                float(peak[S.BIOMASS_LOW]),
                float(peak[S.BIOMASS_HIGH]),
                f"peak standing biomass, {peak[S.EQUATION]}",
            )
    return out


def open_range_production(params: ForageParams) -> tuple[float, float, float]:
    """(central, low, high) production of the open range, kg DM/ha/yr.

    From an imposed condition class: the Flórez 2005 capacity of the class (alpacas/ha/yr,
    interval halfway to the neighbouring classes) x yearly intake of an alpaca / use
    factor. Otherwise the production range, midpoint central.
    """
    opn = params.open_range
    if opn.condition is not None:
        lo_a, c_a, hi_a = _condition_interval(opn.condition)
        to_kg = params.kg_dm_per_alpaca_year / params.use_factor
        return c_a * to_kg, lo_a * to_kg, hi_a * to_kg
    lo, hi = opn.production_kg_ha_yr
    return (lo + hi) / 2, lo, hi


def _community_names(*frames: pd.DataFrame) -> list[str]:
    """Communities in the order of the first frame, then those named only by the others."""
    names: list[str] = []
    for df in frames:
        if len(df):
            names += [n for n in df[S.COMMUNITY].dropna().unique() if n not in names]
    return names


def _community_tables(
    project: Project,
    plot_table: pd.DataFrame,
    herds: pd.DataFrame,
    params: ForageParams,
    *,
    range_production: Mapping[str, tuple[float, float, float, str]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    u = params.use_factor
    opn = params.open_range
    coms = project.communities
    names = _community_names(coms, plot_table, herds)
    area = dict(zip(coms[S.COMMUNITY], coms[S.AREA_HA].astype(float), strict=True))
    herd_by = herds.groupby(S.COMMUNITY) if len(herds) else None

    default_prod = open_range_production(params)
    default_method = (
        f"Flórez 2005 capacity of the imposed condition '{opn.condition}'"
        if opn.condition
        else f"open range default: {opn.source}"
    )
    open_shares = growth_shares(opn.uniform_growth_share, params.monthly_rain_mm)
    type_shares = {
        t: growth_shares(params.pasture_type(t).uniform_growth_share, params.monthly_rain_mm)
        for t in plot_table[S.PASTURE_TYPE].unique()
    }
    rows: list[dict[str, Any]] = []
    monthly_rows: list[dict[str, Any]] = []
    dry = tuple(m for m in MONTHS if m not in params.wet_months)
    for name in names:
        *prod, method = (range_production or {}).get(name, (*default_prod, default_method))
        open_prod = (float(prod[0]), float(prod[1]), float(prod[2]))
        mine = plot_table[plot_table[S.COMMUNITY] == name]
        plots_ha = float(mine[S.AREA_HA].sum())
        com_ha = area.get(name, math.nan)
        open_ha = (
            max(com_ha - plots_ha, 0.0) * opn.grazeable_share if not math.isnan(com_ha) else 0.0
        )
        if herd_by is not None and name in herd_by.groups:
            h = herd_by.get_group(name)
            families = len(h)
            counts = [int(pd.to_numeric(h[c]).fillna(0).sum()) for c in S.SPECIES_COLUMNS]
            stock = float(h[S.HERD_UO].sum())
        else:
            families, counts, stock = 0, [0, 0, 0], 0.0
        plots_cap = [
            float(mine[c].sum()) for c in (S.CAPACITY_UO, S.CAPACITY_UO_LOW, S.CAPACITY_UO_HIGH)
        ]
        open_cap = [capacity_uo_ha_yr(p, params) * open_ha for p in open_prod]
        plots_stock = min(stock, plots_cap[0])
        open_stock = stock - plots_stock
        row = {
            S.COMMUNITY: name,
            S.COMMUNITY_HA: com_ha,
            S.PLOTS_HA: plots_ha,
            S.OPEN_RANGE_HA: open_ha,
            S.OPEN_PRODUCTION: open_prod[0],
            S.OPEN_METHOD: method,
            S.N_FAMILIES: families,
            **dict(zip(S.SPECIES_COLUMNS, counts, strict=True)),
            S.STOCKING_UO: stock,
            S.PLOTS_CAPACITY_UO: plots_cap[0],
            S.PLOTS_STOCKING_UO: plots_stock,
            S.OPEN_CAPACITY_UO: open_cap[0],
            S.OPEN_CAPACITY_UO_LOW: open_cap[1],
            S.OPEN_CAPACITY_UO_HIGH: open_cap[2],
            S.OPEN_STOCKING_UO: open_stock,
            S.CAPACITY_UO: plots_cap[0] + open_cap[0],
            S.CAPACITY_UO_LOW: plots_cap[1] + open_cap[1],
            S.CAPACITY_UO_HIGH: plots_cap[2] + open_cap[2],
        }
        for col, months in ((S.CAPACITY_UO_WET, params.wet_months), (S.CAPACITY_UO_DRY, dry)):
            open_season = _season_capacity(
                np.array(u * open_prod[0]), open_shares, months, params.kg_dm_per_uo_day
            )
            row[col] = float(mine[col].sum()) + float(open_season) * open_ha
        open_alpacas = open_prod[0] * u / params.kg_dm_per_alpaca_year
        row[S.RANGE_CONDITION] = opn.condition or str(range_condition(open_alpacas)[0])
        rows.append(row)

        monthly_rows += _community_balance(
            name,
            mine,
            stock=stock,
            open_growth=[u * p * open_ha * open_shares for p in open_prod],
            type_shares=type_shares,
            params=params,
        )
    table = _with_total_and_ratios(pd.DataFrame(rows))
    monthly = pd.DataFrame(monthly_rows)
    total = monthly.groupby(S.MONTH, as_index=False).sum(numeric_only=True)
    total[S.COMMUNITY] = TOTAL_LABEL
    total[S.SEASON] = [WET if m in params.wet_months else DRY for m in total[S.MONTH]]
    monthly = pd.concat([monthly, total[monthly.columns]], ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        monthly[S.DEFICIT_SHARE] = (monthly[S.DEFICIT_KG] / monthly[S.DEMAND_KG]).fillna(0.0)
    return table, monthly


def _with_total_and_ratios(table: pd.DataFrame) -> pd.DataFrame:
    """The community table with its TOTAL row and the stocking ratios."""
    sums = table.drop(
        columns=[S.COMMUNITY, S.RANGE_CONDITION, S.OPEN_PRODUCTION, S.OPEN_METHOD]
    ).sum(numeric_only=True)
    total_row = {
        S.COMMUNITY: TOTAL_LABEL,
        **sums.to_dict(),
        S.RANGE_CONDITION: "",
        S.OPEN_PRODUCTION: math.nan,
        S.OPEN_METHOD: "",
    }
    table = pd.concat([table, pd.DataFrame([total_row])], ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        table[S.PLOTS_RATIO] = table[S.PLOTS_STOCKING_UO] / table[S.PLOTS_CAPACITY_UO]
        table[S.OPEN_RATIO] = table[S.OPEN_STOCKING_UO] / table[S.OPEN_CAPACITY_UO]
        table[S.PRESSURE_RATIO] = table[S.STOCKING_UO] / table[S.CAPACITY_UO]
    for c in (S.N_FAMILIES, *S.SPECIES_COLUMNS):
        table[c] = table[c].astype("int64")
    return table


def _community_balance(
    name: str,
    plots: pd.DataFrame,
    *,
    stock: float,
    open_growth: list[np.ndarray],
    type_shares: Mapping[str, np.ndarray],
    params: ForageParams,
) -> list[dict[str, Any]]:
    """Month-by-month balance of one community, for the central, low and high production.

    `open_growth` holds the open range's grazeable growth per month for the central,
    low and high production; the plots add theirs by pasture type.
    """
    u = params.use_factor
    demand = stock * params.kg_dm_per_uo_day * np.asarray(DAYS_IN_MONTH, dtype=float)
    deficits = []
    growth = eaten = np.zeros(12)
    for k, prod_col in enumerate((S.PRODUCTION, S.PRODUCTION_LOW, S.PRODUCTION_HIGH)):
        g = open_growth[k].copy()
        for t, shares in type_shares.items():
            sel = plots[plots[S.PASTURE_TYPE] == t]
            g = g + u * float((sel[prod_col] * sel[S.AREA_HA]).sum()) * shares
        e, d = monthly_balance(g, demand, loss=params.standing_loss_per_month)
        if k == 0:
            growth, eaten = g, e
        deficits.append(d)
    return [
        {
            S.COMMUNITY: name,
            S.MONTH: m,
            S.SEASON: WET if m in params.wet_months else DRY,
            S.GROWTH_KG: growth[m - 1],
            S.DEMAND_KG: demand[m - 1],
            S.EATEN_KG: eaten[m - 1],
            S.DEFICIT_KG: deficits[0][m - 1],
            S.DEFICIT_LOW_KG: deficits[2][m - 1],  # with the high production
            S.DEFICIT_HIGH_KG: deficits[1][m - 1],
        }
        for m in MONTHS
    ]


# --- parameters from TOML -------------------------------------------------------------
def load_params(path: str | os.PathLike[str]) -> ForageParams:
    """Read forage parameters from a TOML file, validating every key and value.

    Example file::

        use_factor = 0.5
        standing_loss_per_month = 0.1
        budget_month = 8

        [animal_units]
        preset = "peru-tables"          # or "metabolic" (default), "sr-crsp"
        [animal_units.overrides.llama]
        adult = 2.0

        [intake]
        g_dm_per_kg_metabolic = 40      # maintenance instead of ad libitum

        [pasture_types.cultivado]
        production_kg_ha_yr = [3000, 6000]
        source = "own cuts, 2024"

        [open_range]
        condition = "poor"
        grazeable_share = 0.7

    Raises
    ------
    InputFileError
        The file is missing or not valid TOML.
    ParameterError
        An unknown key or an impossible value (the message names the key and file).
    """
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputFileError(_("{p}: file not found. Check the path.").format(p=p)) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(
            _("{p}: is not valid TOML ({exc}). Fix the line named.").format(p=p, exc=exc)
        ) from exc
    try:
        return params_from_mapping(data)
    except ParameterError as exc:
        raise ParameterError(_("{p}: {exc}").format(p=p, exc=exc)) from exc
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        # a table where a number is expected deep inside a section (e.g. animal_units)
        raise ParameterError(
            _(
                "{p}: a value has the wrong type ({name}: {exc}). Compare the file with "
                "the example in `pastures forage --help` / the docs of load_params."
            ).format(p=p, name=type(exc).__name__, exc=exc)
        ) from exc


def params_from_mapping(data: Mapping[str, Any]) -> ForageParams:
    """Build :class:`ForageParams` from nested mappings (as read from TOML).

    Raises
    ------
    ParameterError
        An unknown key or an impossible value.
    """
    data = dict(data)
    kwargs: dict[str, Any] = {}
    simple = {f.name for f in fields(ForageParams)} - {
        "units",
        "intake",
        "pasture_types",
        "open_range",
    }
    au = data.pop("animal_units", None)
    if au is not None:
        _known_keys(au, {"preset", "overrides"}, "[animal_units]")
        kwargs["units"] = AnimalUnits.preset(
            au.get("preset", DEFAULT_UO_PRESET), overrides=au.get("overrides")
        )
    intake = data.pop("intake", None)
    if intake is not None:
        _known_keys(intake, {f.name for f in fields(Intake)}, "[intake]")
        kwargs["intake"] = Intake(**intake)
    types = data.pop("pasture_types", None)
    if types is not None:
        _known_keys(types, set(types) if isinstance(types, Mapping) else set(), "[pasture_types]")
        merged = dict(DEFAULT_PASTURE_TYPES)
        for name, spec in types.items():
            _known_keys(
                spec,
                {"production_kg_ha_yr", "source", "uniform_growth_share"},
                f"[pasture_types.{name}]",
            )
            base = merged.get(name)
            prod = spec.get("production_kg_ha_yr", base.production_kg_ha_yr if base else None)
            if not _numbers(prod, 2):
                raise ParameterError(
                    _("[pasture_types.{name}]: give production_kg_ha_yr = [low, high].").format(
                        name=name
                    )
                )
            merged[name] = PastureType(
                (float(prod[0]), float(prod[1])),
                spec.get("source", base.source if base else "parameters file"),
                float(spec.get("uniform_growth_share", base.uniform_growth_share if base else 0.1)),
                equation=base.equation if base else None,
            )
        kwargs["pasture_types"] = merged
    opn = data.pop("open_range", None)
    if opn is not None:
        _known_keys(opn, {f.name for f in fields(OpenRange)}, "[open_range]")
        if "production_kg_ha_yr" in opn:
            opn = {
                **opn,
                "production_kg_ha_yr": tuple(float(v) for v in opn["production_kg_ha_yr"]),
            }
        kwargs["open_range"] = OpenRange(**opn)
    _known_keys(data, simple, "top level")
    kinds = {f.name: f.type for f in fields(ForageParams)}
    for key, value in data.items():
        _check_type(key, value, str(kinds[key]))
        kwargs[key] = tuple(value) if isinstance(value, list) else value
    return replace(ForageParams(), **kwargs)


def _numbers(value: object, n: int | None = None) -> bool:
    """True if `value` is a list of `n` (any, if None) finite numbers (not booleans)."""
    if not isinstance(value, list | tuple) or (n is not None and len(value) != n):
        return False
    return all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value
    )


def _check_type(key: str, value: object, kind: str) -> None:
    """Refuse a top-level parameter of the wrong type (a table, text, a boolean...) by name."""
    if kind == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        want = "a number"
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        want = "a whole number"
    elif kind == "str":
        ok = isinstance(value, str)
        want = "text in quotes"
    elif kind.startswith("tuple[int"):
        ok = isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        )
        want = "a list of whole numbers, e.g. [12, 1, 2, 3]"
    elif kind.startswith("tuple[float"):
        ok = _numbers(value)
        want = "a list of numbers"
    else:  # pragma: no cover - every simple field is listed above
        return
    if not ok:
        raise ParameterError(
            _("{key} = {value!r}: must be {want}.").format(key=key, value=value, want=want)
        )


def _known_keys(section: Any, known: set[str], where: str) -> None:
    if not isinstance(section, Mapping):
        raise ParameterError(
            _("{where}: expected a table of keys, got {section!r}.").format(
                where=where, section=section
            )
        )
    unknown = sorted(set(section) - known)
    if unknown:
        raise ParameterError(
            _("{where}: unknown key(s) {value}. Known: {value2}.").format(
                where=where, value=", ".join(unknown), value2=", ".join(sorted(known))
            )
        )


# --- text summary -------------------------------------------------------------------------
#: The phrases a forage method note is made of (``forage_method``, ``equation``,
#: ``open_range_method``). The CSV keep the notes in English (the map and the atlas read
#: them); :func:`method_words` puts them into a project's language for people.
METHOD_PHRASES: Final = (
    N_("peak standing biomass"),
    N_("pasture-type default"),
    N_("open range default"),
    N_("quadrat cuts"),
    N_("linear fit"),
    N_("power fit"),
    N_("dry puna grassland"),
    N_("kg DM/ha/yr"),
    N_("(applied to tolar)"),
    N_("(applied to césped)"),
    N_("+/-50 % assumed"),
    N_("(all)"),
)


def method_words(text: str, language: str) -> str:
    """A forage method note (:data:`METHOD_PHRASES` and figures) in `language`."""
    from pastures.i18n import gettext_for

    tr = gettext_for(language)
    for phrase in METHOD_PHRASES:
        if phrase in text:
            text = text.replace(phrase, tr(phrase))
    return text


#: Headings of :func:`format_budget`'s table (short: a terminal's width).
_BUDGET_HEADINGS: Final = (
    N_("community"),
    N_("ha"),
    N_("plots ha"),
    N_("stock UO"),
    N_("plots cap"),
    N_("open cap"),
    N_("stock/cap"),
)


def format_budget(budget: ForageBudget, *, language: str = "en") -> str:
    """Capacity against stocking per community, and the dry-season deficit, as text.

    Parameters
    ----------
    budget
        From :func:`forage_budget`.
    language
        Language of the headings and sentences.
    """
    from datetime import date

    from pastures.i18n import format_date, gettext_for

    tr = gettext_for(language)
    t = budget.communities
    heads = tuple(tr(h) for h in _BUDGET_HEADINGS)
    shown = pd.DataFrame(
        {
            heads[0]: t[S.COMMUNITY],
            heads[1]: t[S.COMMUNITY_HA].map(lambda v: f"{v:,.0f}" if np.isfinite(v) else "-"),
            heads[2]: t[S.PLOTS_HA].map(lambda v: f"{v:,.1f}"),
            heads[3]: t[S.STOCKING_UO].map(lambda v: f"{v:,.0f}"),
            heads[4]: t[S.PLOTS_CAPACITY_UO].map(lambda v: f"{v:,.0f}"),
            heads[5]: [
                f"{c:,.0f} ({lo:,.0f}-{hi:,.0f})"
                for c, lo, hi in zip(
                    t[S.OPEN_CAPACITY_UO],
                    t[S.OPEN_CAPACITY_UO_LOW],
                    t[S.OPEN_CAPACITY_UO_HIGH],
                    strict=True,
                )
            ],
            heads[6]: t[S.PRESSURE_RATIO].map(lambda v: f"{v:.2f}" if np.isfinite(v) else "-"),
        }
    )
    dry = budget.dry_season_deficit
    lines = [
        shown.to_string(index=False),
        "",
        tr("Dry-season forage deficit (t DM, all communities):"),
    ]
    for _row, r in dry.iterrows():
        month = format_date(date(2000, int(r[S.MONTH]), 1), language, "MMM").capitalize()
        lines.append(
            "  "
            + tr("{month}: {deficit} ({low}-{high}), {share} % (share of demand)").format(
                month=month,
                deficit=f"{r[S.DEFICIT_KG] / 1000:,.0f}",
                low=f"{r[S.DEFICIT_LOW_KG] / 1000:,.0f}",
                high=f"{r[S.DEFICIT_HIGH_KG] / 1000:,.0f}",
                share=f"{100 * r[S.DEFICIT_SHARE]:.0f}",
            )
        )
    per_day = budget.params.kg_dm_per_uo_day
    lines.append(
        tr("1 UO eats {kg} kg DM/day; use factor {factor}; {source}.").format(
            kg=f"{per_day:.3f}",
            factor=f"{budget.params.use_factor:.2f}",
            source=budget.params.units.source,
        )
    )
    return "\n".join(lines)
