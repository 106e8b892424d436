"""Seasonal profiles, baselines, anomalies and trends (pastures.timeseries)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pastures import schema
from pastures.errors import LayerError
from pastures.timeseries import analyse_series, cloudy_dates, monthly_values, trends


def tidy(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    """Tidy NDVI table from (plot, date, mean, valid_fraction) rows."""
    records = []
    for plot, date, mean, valid in rows:
        for stat, value in ((schema.STAT_MEAN, mean), (schema.STAT_VALID_FRACTION, valid)):
            records.append((plot, pd.Timestamp(date), "ndvi", stat, value))
    return pd.DataFrame(records, columns=list(schema.ZONAL_COLUMNS))


def seasonal(plot: str, slope_per_year: float, years: int = 3, cloudy: bool = False) -> list:
    rows = []
    for year in range(2021, 2021 + years):
        for month in range(1, 13):
            season = 0.5 + 0.5 * np.cos(2 * np.pi * (month - 2.5) / 12)
            t = (year - 2021) + (month - 0.5) / 12
            value = 0.2 + 0.2 * season + slope_per_year * t
            rows.append((plot, f"{year}-{month:02d}-10", value, 1.0))
            rows.append((plot, f"{year}-{month:02d}-20", value, 1.0))
            if cloudy:
                rows.append((plot, f"{year}-{month:02d}-25", 0.9, 0.1))  # cloud-contaminated
    return rows


def test_trend_of_a_steady_decline_and_of_a_stable_plot():
    analysis = analyse_series(tidy(seasonal("DOWN", -0.03) + seasonal("FLAT", 0.0)))
    trend = analysis.trends.set_index(schema.PLOT_CODE)
    # Seasonality cancels in the anomalies; what is left is the linear decline.
    assert trend.loc["DOWN", schema.TREND_PER_YEAR] == pytest.approx(-0.03, abs=0.002)
    assert trend.loc["DOWN", schema.TREND_P_VALUE] < 0.001
    assert bool(trend.loc["DOWN", schema.BROWNING])
    assert not bool(trend.loc["FLAT", schema.BROWNING])
    assert trend.loc["DOWN", schema.N_MONTHS] == 36


def test_baseline_is_the_multi_year_median_of_the_month():
    rows = [("P", f"{y}-03-15", v, 1.0) for y, v in ((2021, 0.3), (2022, 0.5), (2023, 0.4))]
    analysis = analyse_series(tidy(rows), min_years=0)
    march = analysis.profile.set_index(schema.MONTH).loc[3]
    assert march[schema.BASELINE] == pytest.approx(0.4)
    assert march["mean"] == pytest.approx(0.4)
    assert march[schema.N_YEARS] == 3
    anomalies = analysis.monthly.set_index(schema.YEAR)[schema.ANOMALY]
    assert anomalies.to_dict() == pytest.approx({2021: -0.1, 2022: 0.1, 2023: 0.0})


def test_cloudy_dates_are_flagged_and_left_out():
    table = tidy(seasonal("P", 0.0, years=1, cloudy=True))
    flags = cloudy_dates(table, min_valid_fraction=0.5)
    assert flags[schema.CLOUDY].sum() == 12
    monthly = monthly_values(table)
    assert (monthly[schema.N_DATES] == 2).all()
    assert monthly[schema.VALUE].max() < 0.5  # the 0.9 of cloudy dates never enters


def test_short_record_has_no_trend():
    table = tidy(seasonal("P", -0.5, years=1))
    monthly = analyse_series(table).monthly
    result = trends(monthly, min_years=1.5)
    assert np.isnan(result[schema.TREND_PER_YEAR].iloc[0])
    assert not result[schema.BROWNING].iloc[0]


def test_wrong_table():
    with pytest.raises(LayerError, match="lacks column"):
        analyse_series(pd.DataFrame({"plot": ["A"]}))


def test_one_season_slope_equals_scipy_theil_sen():
    from scipy import stats

    rng = np.random.default_rng(1)
    years = np.arange(2010, 2022)
    values = 0.5 - 0.01 * (years - 2010) + rng.normal(0, 0.02, years.size)
    monthly = pd.DataFrame(
        {schema.PLOT_CODE: "P", schema.YEAR: years, schema.MONTH: 7, schema.VALUE: values}
    )
    result = trends(monthly).iloc[0]
    expected = stats.theilslopes(values, years)
    assert result[schema.TREND_PER_YEAR] == pytest.approx(expected.slope)
    assert result[schema.KENDALL_TAU] == pytest.approx(stats.kendalltau(years, values).statistic)
