"""The status panel of a sheet: per plot, range condition, risk and its main driver."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from pastures import schema as S
from pastures.defaults import Lang
from pastures.erosion import RiskThresholds
from pastures.outputs import (
    RunOutputs,
)
from pastures.printmap.calendar import _segments
from pastures.printmap.layout import _Page, _Panel, _swatch
from pastures.printmap.mapframe import _risk_style, _status_rows
from pastures.printmap.words import condition_label, gettext_of, risk_label

if TYPE_CHECKING:
    from pastures.printmap.context import _Context

logger = logging.getLogger(__name__)


#: Slope (%) from which steepness, rather than low cover, is named as the erosion driver.
STEEP_SLOPE_PCT: Final = 15.0


def main_driver(
    row: pd.Series | Mapping[str, Any], lang: Lang, thresholds: RiskThresholds | None = None
) -> str:
    """The main driver of a plot's risk class, in words.

    The risk class of :func:`pastures.erosion.risk_classes` adds one class per soil-loss
    threshold passed and one per grazing-pressure threshold passed. The driver named
    is the one that added more classes (pressure on a tie, as resting is the quicker
    remedy); for erosion, steepness is named on slopes of :data:`STEEP_SLOPE_PCT` or
    more, low dry-season cover otherwise.
    """
    th = thresholds or RiskThresholds()
    _ = gettext_of(lang)
    loss = row.get(S.SOIL_LOSS_T_HA_YR, np.nan)
    ratio = row.get(S.PRESSURE_RATIO, np.nan)
    by_loss = int(np.digitize(loss, th.soil_loss)) if pd.notna(loss) else 0
    by_pressure = int(np.digitize(ratio, th.pressure, right=True)) if pd.notna(ratio) else 0
    if pd.isna(loss) and pd.isna(ratio):
        return _("no data")
    if by_pressure == 0 and by_loss == 0:
        return _("none stands out")
    if by_pressure >= by_loss:
        times = f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.1f}"
        return _("overgrazing: {times} times capacity").format(times=times)
    slope = row.get(S.SLOPE_PCT, np.nan)
    cover = row.get(S.COVER_PCT, np.nan)
    if pd.notna(slope) and slope >= STEEP_SLOPE_PCT:
        return _("erosion {loss:.0f} t/ha/yr from slope ({slope:.0f} %)").format(
            loss=loss, slope=slope
        )
    if pd.notna(cover):
        return _("erosion {loss:.0f} t/ha/yr from low cover ({cover:.0f} %)").format(
            loss=loss, cover=cover
        )
    return _("erosion {loss:.0f} t/ha/yr").format(loss=loss)


def _risk_panel(ax: _Panel, page: _Page, ctx: _Context, plots: gpd.GeoDataFrame) -> None:
    """Per plot: code, ha, range condition, risk (swatch and word); main driver beneath."""
    k = page.k
    _ = gettext_of(ctx.lang)
    size = page.pt(8.5)
    width = ax.get_xlim()[1]
    status = _status_rows(ctx)
    cols = [
        (_("Plot"), 0.0),
        (_("ha"), 18 * k),
        (_("Condition"), 30 * k),
        (_("Risk"), 52 * k),
    ]
    ax.text(0, 0, _("Plot status"), fontsize=page.pt(10), weight="bold", va="top")
    y = 6.0 * k
    for label, x in cols:
        ax.text(x, y, label, fontsize=size, weight="bold", va="top")
    ax.text(width, y, _("Main driver"), fontsize=page.pt(8), style="italic", va="top",
            ha="right")  # fmt: skip
    y += 4.6 * k
    ax.plot([0, width], [y - 0.6 * k, y - 0.6 * k], color="black", lw=0.8)
    rules: list[tuple[tuple[float, float], tuple[float, float]]] = []
    for code, area in zip(plots[S.PLOT_CODE].astype(str), plots[S.AREA_HA], strict=True):
        row = status.get(code, {})
        cond = row.get(S.RANGE_CONDITION)
        risk = row.get(S.RISK_CLASS)
        ax.text(0, y + 0.7 * k, code, fontsize=size, weight="bold", va="top")
        ax.text(cols[1][1], y + 0.7 * k, f"{area:.1f}", fontsize=size, va="top")
        cond_text = condition_label(cond, ctx.lang)
        ax.text(cols[2][1], y + 0.7 * k, cond_text, fontsize=size, va="top")
        _swatch(ax, (cols[3][1], y + 0.7 * k, 6 * k, 3.4 * k), _risk_style(risk))
        risk_text = risk_label(risk, ctx.lang)
        ax.text(cols[3][1] + 7.5 * k, y + 0.7 * k, risk_text, fontsize=size, va="top")
        driver = main_driver(row, ctx.lang)
        ax.text(4 * k, y + 4.9 * k, f"→ {driver}", fontsize=page.pt(8), va="top",
                style="italic")  # fmt: skip
        y += RISK_ROW_MM * k
        rules.append(((0.0, y), (width, y)))
    _segments(ax, rules, color="0.5", lw=0.4)


#: Height of a row of the risk panel (a line of figures and a line of driver), mm at A4.
RISK_ROW_MM: Final = 8.8


def _risk_panel_height(page: _Page, n_plots: int) -> float:
    return (11.5 + RISK_ROW_MM * max(n_plots, 1)) * page.k


def _status_table(run: RunOutputs) -> pd.DataFrame:
    """Per plot: range condition, risk class and the numbers the main driver is named from."""
    table = pd.DataFrame({S.PLOT_CODE: run.plots[S.PLOT_CODE].astype(str)})
    forage = run.table("forage_plots")
    if forage is not None and S.RANGE_CONDITION in forage.columns:
        table = table.merge(
            forage[[S.PLOT_CODE, S.RANGE_CONDITION]].astype({S.PLOT_CODE: str}),
            on=S.PLOT_CODE,
            how="left",
        )
    risk = run.table("risk_plots")
    if risk is not None:
        keep = [
            c
            for c in (S.SOIL_LOSS_T_HA_YR, S.PRESSURE_RATIO, S.SLOPE_PCT, S.COVER_PCT, S.RISK_CLASS)
            if c in risk.columns
        ]
        table = table.merge(
            risk[[S.PLOT_CODE, *keep]].astype({S.PLOT_CODE: str}), on=S.PLOT_CODE, how="left"
        )
    return table.drop_duplicates(S.PLOT_CODE).reset_index(drop=True)
