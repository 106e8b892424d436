"""Index time series per plot: seasonal profile, baseline, anomalies and trends.

Input is the tidy table of :func:`pastures.zonal.index_series` (plot, date,
index, statistic, value). Dates where too little of a plot was clear are
flagged and left out (:func:`cloudy_dates`); the rest are reduced to one value
per plot and month (the median of that month's dates), from which:

- the **seasonal profile**: per plot and calendar month, the mean, median, min
  and max over the years;
- the **baseline**: per plot and calendar month, the multi-year median;
- the **anomaly**: each month's value minus its baseline;
- the **trend**: Theil-Sen slope (Sen 1968) in index units per year with the
  Mann-Kendall test of monotonic trend (Mann 1945, Kendall 1975), both in their
  seasonal form (Hirsch, Slack & Smith 1982): values are only compared with the
  same calendar month of other years, so the seasonal cycle never looks like a
  trend. (A plain Theil-Sen on anomalies from a baseline computed from the same
  years is biased towards zero: within a year the anomalies are flat.)

A plot is flagged **browning** when its slope is negative, significant at
`alpha`, and at least `min_decline` per year in magnitude, over a record of at
least `min_years`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from scipy import stats

from pastures import schema
from pastures.defaults import DEFAULT_MIN_VALID_FRACTION
from pastures.errors import LayerError
from pastures.i18n import _

logger = logging.getLogger(__name__)

#: Significance level of the Mann-Kendall test.
DEFAULT_ALPHA: Final = 0.05
#: Smallest decline (index units per year) that counts as browning.
DEFAULT_MIN_DECLINE: Final = 0.01
#: Shortest record (years, first to last usable month) for a trend.
DEFAULT_MIN_YEARS: Final = 1.5
#: Fewest usable months for a trend.
MIN_MONTHS_FOR_TREND: Final = 8


@dataclass(frozen=True)
class SeriesAnalysis:
    """Everything :func:`analyse_series` computes for one index.

    Attributes
    ----------
    monthly
        Plot, year, month, value, n_dates, baseline, anomaly.
    profile
        Plot, month, mean, baseline (the median), min, max, n_years.
    trends
        Plot, trend_per_year, kendall_tau, trend_p_value, n_months, span_years, browning.
    cloudy
        Plot, date, valid_fraction, too_cloudy for every date.
    """

    monthly: pd.DataFrame
    profile: pd.DataFrame
    trends: pd.DataFrame
    cloudy: pd.DataFrame


def _select(table: pd.DataFrame, index: str, statistic: str) -> pd.DataFrame:
    missing = [c for c in schema.ZONAL_COLUMNS if c not in table.columns]
    if missing:
        raise LayerError(
            _(
                "The index table lacks column(s) {value}: give the tidy table of "
                "pastures.zonal.index_series."
            ).format(value=", ".join(missing))
        )
    rows = table[(table[schema.INDEX] == index) & (table[schema.STATISTIC] == statistic)]
    return rows[[schema.PLOT_CODE, schema.DATE, schema.VALUE]]


def cloudy_dates(
    table: pd.DataFrame,
    *,
    index: str = "ndvi",
    min_valid_fraction: float = DEFAULT_MIN_VALID_FRACTION,
) -> pd.DataFrame:
    """Flag the dates on which too little of each plot was clear.

    Returns
    -------
    pandas.DataFrame
        Columns plot_code, date, valid_fraction, too_cloudy.
    """
    frac = _select(table, index, schema.STAT_VALID_FRACTION).rename(
        columns={schema.VALUE: schema.STAT_VALID_FRACTION}
    )
    frac[schema.CLOUDY] = frac[schema.STAT_VALID_FRACTION].fillna(0.0) < min_valid_fraction
    return frac.reset_index(drop=True)


def monthly_values(
    table: pd.DataFrame,
    *,
    index: str = "ndvi",
    statistic: str = schema.STAT_MEAN,
    min_valid_fraction: float = DEFAULT_MIN_VALID_FRACTION,
) -> pd.DataFrame:
    """One value per plot and month: the median of the month's usable dates.

    Returns
    -------
    pandas.DataFrame
        Columns plot_code, year, month, value, n_dates.
    """
    values = _select(table, index, statistic)
    flags = cloudy_dates(table, index=index, min_valid_fraction=min_valid_fraction)
    merged = values.merge(flags, on=[schema.PLOT_CODE, schema.DATE], how="left")
    usable = merged[~merged[schema.CLOUDY].fillna(True) & merged[schema.VALUE].notna()].copy()
    dates = pd.to_datetime(usable[schema.DATE])
    usable[schema.YEAR] = dates.dt.year
    usable[schema.MONTH] = dates.dt.month
    grouped = usable.groupby([schema.PLOT_CODE, schema.YEAR, schema.MONTH])[schema.VALUE]
    monthly = grouped.agg(["median", "count"]).reset_index()
    return monthly.rename(columns={"median": schema.VALUE, "count": schema.N_DATES})


def seasonal_profile(monthly: pd.DataFrame) -> pd.DataFrame:
    """Per plot and calendar month: mean, median (the baseline), min, max, n_years."""
    grouped = monthly.groupby([schema.PLOT_CODE, schema.MONTH])[schema.VALUE]
    profile = grouped.agg(["mean", "median", "min", "max", "count"]).reset_index()
    return profile.rename(
        columns={
            "mean": schema.STAT_MEAN,
            "median": schema.BASELINE,
            "min": schema.PROFILE_MIN,
            "max": schema.PROFILE_MAX,
            "count": schema.N_YEARS,
        }
    )


def anomalies(monthly: pd.DataFrame, profile: pd.DataFrame | None = None) -> pd.DataFrame:
    """Add the baseline (multi-year median of the month) and the anomaly to `monthly`."""
    profile = seasonal_profile(monthly) if profile is None else profile
    out = monthly.merge(
        profile[[schema.PLOT_CODE, schema.MONTH, schema.BASELINE]],
        on=[schema.PLOT_CODE, schema.MONTH],
        how="left",
    )
    out[schema.ANOMALY] = out[schema.VALUE] - out[schema.BASELINE]
    return out


def trends(
    monthly: pd.DataFrame,
    *,
    alpha: float = DEFAULT_ALPHA,
    min_decline: float = DEFAULT_MIN_DECLINE,
    min_years: float = DEFAULT_MIN_YEARS,
) -> pd.DataFrame:
    """Seasonal Theil-Sen slope and seasonal Mann-Kendall test of each plot.

    Pairs of values are only formed within the same calendar month (March with
    March...), so the seasonal cycle never looks like a trend (Hirsch, Slack &
    Smith 1982). The slope is the median of the pairwise slopes; Kendall's S is
    the sum over months of the signs of the pairwise differences, its variance
    the sum of the monthly ``n(n-1)(2n+5)/18`` (no correction for ties), and the
    two-sided p-value comes from the continuity-corrected normal approximation.

    Parameters
    ----------
    monthly
        From :func:`monthly_values` (needs plot_code, year, month, value).
    alpha
        Significance level of the test.
    min_decline
        Smallest negative slope (index units per year) flagged as browning.
    min_years
        Shortest record, first to last month, for a trend to be computed.

    Returns
    -------
    pandas.DataFrame
        One row per plot: trend_per_year, kendall_tau, trend_p_value, n_months,
        span_years, browning. Slopes are NaN where the record is too short.
    """
    rows = []
    for plot, group in monthly.groupby(schema.PLOT_CODE, sort=True):
        frame = group.dropna(subset=[schema.VALUE])
        t = frame[schema.YEAR].to_numpy() + (frame[schema.MONTH].to_numpy() - 0.5) / 12
        span = float(t.max() - t.min()) if t.size else 0.0
        slope = tau = p = np.nan
        if t.size >= MIN_MONTHS_FOR_TREND and span >= min_years:
            slope, tau, p = _seasonal_kendall(
                frame[schema.MONTH].to_numpy(), t, frame[schema.VALUE].to_numpy(dtype=float)
            )
        rows.append(
            {
                schema.PLOT_CODE: plot,
                schema.TREND_PER_YEAR: slope,
                schema.KENDALL_TAU: tau,
                schema.TREND_P_VALUE: p,
                schema.N_MONTHS: int(t.size),
                schema.SPAN_YEARS: span,
                schema.BROWNING: bool(slope <= -min_decline and p < alpha),
            }
        )
    columns = [
        schema.PLOT_CODE,
        schema.TREND_PER_YEAR,
        schema.KENDALL_TAU,
        schema.TREND_P_VALUE,
        schema.N_MONTHS,
        schema.SPAN_YEARS,
        schema.BROWNING,
    ]
    # No plot with a value (every date all cloud): an empty table with its columns.
    return pd.DataFrame(rows, columns=columns).astype({schema.BROWNING: bool})


def _seasonal_kendall(
    month: np.ndarray, t: np.ndarray, y: np.ndarray
) -> tuple[float, float, float]:
    """Seasonal Sen slope, seasonal Kendall tau and two-sided p-value."""
    slopes: list[np.ndarray] = []
    s_total = 0.0
    variance = 0.0
    pairs = 0
    for m in np.unique(month):
        tm, ym = t[month == m], y[month == m]
        n = tm.size
        if n < 2:
            continue
        i, j = np.triu_indices(n, k=1)
        dt = tm[j] - tm[i]
        dy = ym[j] - ym[i]
        slopes.append(dy / dt)
        s_total += float(np.sign(dy * np.sign(dt)).sum())
        variance += n * (n - 1) * (2 * n + 5) / 18
        pairs += i.size
    if not pairs or variance == 0:
        return np.nan, np.nan, np.nan
    slope = float(np.median(np.concatenate(slopes)))
    z = (s_total - np.sign(s_total)) / np.sqrt(variance)
    p = float(2 * stats.norm.sf(abs(z)))
    return slope, s_total / pairs, p


def analyse_series(
    table: pd.DataFrame,
    *,
    index: str = "ndvi",
    statistic: str = schema.STAT_MEAN,
    min_valid_fraction: float = DEFAULT_MIN_VALID_FRACTION,
    alpha: float = DEFAULT_ALPHA,
    min_decline: float = DEFAULT_MIN_DECLINE,
    min_years: float = DEFAULT_MIN_YEARS,
) -> SeriesAnalysis:
    """Seasonal profile, baseline, anomalies, trends and cloudy dates of one index.

    Parameters
    ----------
    table
        Tidy table of :func:`pastures.zonal.index_series`.
    index, statistic
        Which series to analyse (default: plot mean NDVI).
    min_valid_fraction
        Dates where less of the plot was clear are flagged too cloudy and skipped.
    alpha, min_decline, min_years
        Browning rule; see :func:`trends`.

    Returns
    -------
    SeriesAnalysis
    """
    monthly = monthly_values(
        table, index=index, statistic=statistic, min_valid_fraction=min_valid_fraction
    )
    profile = seasonal_profile(monthly)
    monthly = anomalies(monthly, profile)
    trend = trends(monthly, alpha=alpha, min_decline=min_decline, min_years=min_years)
    cloudy = cloudy_dates(table, index=index, min_valid_fraction=min_valid_fraction)
    browning = trend.loc[trend[schema.BROWNING], schema.PLOT_CODE].tolist()
    if browning:
        logger.info(_("Plots browning persistently (%s): %s"), index, ", ".join(browning))
    return SeriesAnalysis(monthly=monthly, profile=profile, trends=trend, cloudy=cloudy)
