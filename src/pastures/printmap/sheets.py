"""Pages of the atlas: the community sheets (and map series), the overview, the cover."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pastures import schema as S
from pastures.defaults import Lang
from pastures.errors import OutputError, ParameterError
from pastures.i18n import ngettext as cli_ngettext
from pastures.outputs import (
    RunOutputs,
    missing_stages,
)
from pastures.printmap.calendar import _calendar, _calendar_height
from pastures.printmap.context import Sheet, _community_names, _Context, _make_context
from pastures.printmap.layout import (
    EMPTY_NOTE_MM,
    MARGIN_MM,
    MIN_MAP_MM,
    MM_PER_INCH,
    PT_PER_MM,
    SERIES_MAP_MM,
    TITLE_MM,
    Orientation,
    Paper,
    _axes_mm,
    _box_patch,
    _decorations,
    _Frame,
    _frame,
    _map_axes,
    _map_box,
    _north_and_scale,
    _Page,
    _Panel,
    _text_width_mm,
    _utm_grid,
    _wrap,
    page_geometry,
)
from pastures.printmap.mapframe import (
    SERIES_PAD_M,
    _add_lines,
    _add_polygon,
    _add_polygons,
    _background,
    _community_layers,
    _draw_features,
    _inset_rect,
    _legend,
    _locator,
    _sheet_bounds,
    _status_rows,
    legend_height,
)
from pastures.printmap.status import _risk_panel, _risk_panel_height
from pastures.printmap.words import (
    STAGE_WORDS,
    community_title,
    dates_note,
    gettext_of,
    ngettext_of,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)


def _title_block(fig: Figure, page: _Page, ctx: _Context, title: str, page_no: int) -> float:
    """Title, subtitle and the illustrative-data note; returns the mm used from the top."""
    k = page.k
    m = MARGIN_MM * k
    ax = _axes_mm(fig, page, (m, m, page.width - 2 * m, TITLE_MM * k))
    _ = gettext_of(ctx.lang)
    page_of = _("Page {page} of {pages}").format(page=page_no, pages=ctx.total_pages)
    # a long title (a study area's name, "hoja 12 de 25") shrinks to clear the page number
    room = page.width - 2 * m - _text_width_mm(page_of, page.pt(8)) - 4 * k
    size = page.pt(18)
    while size > page.pt(12) and _text_width_mm(title, size, bold=True) > room:
        size -= 0.5
    ax.text(0, 0, title, fontsize=size, weight="bold", va="top")
    ax.text(0, 9 * k, ctx.subtitle, fontsize=page.pt(10), va="top")
    ax.text(page.width - 2 * m, 0.5 * k, page_of, fontsize=page.pt(8), ha="right", va="top")
    if ctx.run.illustrative:
        ax.text(
            0.8 * k,
            15.5 * k,
            ctx.labels.illustrative,
            fontsize=page.pt(9),
            weight="bold",
            va="top",
            bbox={"boxstyle": "square,pad=0.3", "fc": "white", "ec": "black", "lw": 1.2},
        )
    return m + (TITLE_MM + 2) * k


def _footer(
    fig: Figure, page: _Page, ctx: _Context, *, notes: str = "", later: bool = False
) -> float:
    """Map notes, credits and sources at the bottom; returns the footer's top (mm from top).

    `later`: a second or later sheet of a map series, whose sources are on the first.
    """
    k = page.k
    m = MARGIN_MM * k
    size = page.pt(8)
    sources = ctx.credits_later if later else ctx.credits
    lines = _wrap(f"{notes} {sources}".strip(), page.width - 2 * m, size)
    height = len(lines) * size / PT_PER_MM * 1.3
    top = page.height - m - height
    ax = _axes_mm(fig, page, (m, top, page.width - 2 * m, height))
    ax.text(0, 0, "\n".join(lines), fontsize=size, va="top", linespacing=1.25, color="0.1")
    return top


def _sheet_boxes(
    page: _Page, ctx: _Context, plots: gpd.GeoDataFrame, *, extra_notes: str = ""
) -> tuple[tuple[float, float, float, float], dict[str, tuple[float, float, float, float]]]:
    """Where the map and the panels of a community sheet go on `page` (x, top, w, h; mm).

    Portrait: the map across the page, legend and plot status side by side below it,
    the calendar at the bottom. Landscape: the map across the page, the calendar
    below it on the left, plot status and legend on the right.
    """
    k = page.k
    m = MARGIN_MM * k
    top = m + (TITLE_MM + 2) * k
    gap = 4 * k
    footer_h = 15 * k + _notes_height(page, extra_notes)
    inner_w = page.width - 2 * m
    n_plots = len(plots)
    cal_h = _calendar_height(page, ctx, plots) if n_plots else 0.0
    side_h = _risk_panel_height(page, n_plots) if n_plots else EMPTY_NOTE_MM * k
    legend_h = legend_height(page, show_risk=bool(n_plots))
    label_pad = 5 * k  # room for the grid coordinates left of and below the map
    bottom = page.height - m - footer_h
    cal_top = bottom - cal_h - (gap if n_plots else 0)
    boxes: dict[str, tuple[float, float, float, float]] = {}
    if page.orientation == "portrait":
        legend_w = 96 * k
        lower_h = max(legend_h, side_h)
        lower_top = cal_top - lower_h - gap
        map_h = lower_top - top - label_pad - gap / 2
        rect = (m + label_pad, top, inner_w - label_pad, map_h)
        boxes["legend"] = (m, lower_top, legend_w, lower_h)
        boxes["side"] = (m + legend_w + gap, lower_top, inner_w - legend_w - gap, side_h)
    else:
        side_w = 96 * k
        lower_h = max(cal_h, side_h + gap + legend_h)
        lower_top = bottom - lower_h
        map_h = lower_top - top - label_pad - gap / 2
        rect = (m + label_pad, top, inner_w - label_pad, map_h)
        side_x = m + inner_w - side_w
        boxes["side"] = (side_x, lower_top, side_w, side_h)
        boxes["legend"] = (side_x, lower_top + side_h + gap, side_w, legend_h)
        boxes["calendar"] = (m, lower_top, inner_w - side_w - gap, cal_h)
        return rect, boxes
    boxes["calendar"] = (m, cal_top, inner_w, cal_h)
    return rect, boxes


@dataclass(frozen=True)
class SheetLayout:
    """Where a community sheet puts its map, chosen by :func:`community_layout`.

    Attributes
    ----------
    width_mm, height_mm
        Page size, mm.
    orientation
        ``"portrait"`` or ``"landscape"``.
    scale
        Scale denominator of the map (1:scale when printed at 100 %).
    map_mm
        Map frame on the page: x, y of its top-left corner from the page's top-left
        corner, width, height, mm.
    extent
        Ground extent of the map frame: xmin, ymin, xmax, ymax, m (EPSG:32719).
    detail
        True when the map shows only the part of the community holding its plots,
        corrals and water points, or only its plots so that none is under
        :data:`MIN_PLOT_MM` across (a locator inset then shows the whole community).
    """

    width_mm: float
    height_mm: float
    orientation: Orientation
    scale: int
    map_mm: tuple[float, float, float, float]
    extent: tuple[float, float, float, float]
    detail: bool = False


def choose_orientation(
    paper: Paper,
    ctx: _Context,
    plots: gpd.GeoDataFrame,
    bounds: np.ndarray,
    *,
    extra_notes: str = "",
) -> tuple[_Page, _Frame, dict[str, tuple[float, float, float, float]]]:
    """Lay the sheet out both ways; keep the one with the larger map scale.

    On a tie (the same round scale) portrait wins, as it leaves the wider panels. A
    layout whose map would be under :data:`MIN_MAP_MM` high is never kept.
    `extra_notes` are map notes beyond the grid, background and inset ones (map
    series, true north), for which the footer needs more room.
    """
    best = None
    for orientation in ("portrait", "landscape"):
        page = page_geometry(paper, orientation)  # type: ignore[arg-type]
        rect, boxes = _sheet_boxes(page, ctx, plots, extra_notes=extra_notes)
        if rect[3] < MIN_MAP_MM * page.k:
            continue  # the panels leave too little map: see plan_sheets
        frame = _frame(rect, bounds, 0.03)
        if best is None or frame.scale < best[1].scale:
            best = (page, frame, boxes)
    if best is None:
        raise OutputError(
            f"{len(plots)} plot(s) ({', '.join(plots[S.PLOT_CODE].astype(str)[:5])}) leave "
            f"no room for a map at least {MIN_MAP_MM:.0f} mm high on a {paper} sheet: their "
            "rotation calendar is too long. Print on A3 (--paper A3)."
        )
    return best


def _map_height(
    paper: Paper, ctx: _Context, plots: gpd.GeoDataFrame, *, extra_notes: str = ""
) -> float:
    """Height (mm at A4) of the larger map frame a sheet of `plots` leaves, either way."""
    best = -math.inf
    for orientation in ("portrait", "landscape"):
        page = page_geometry(paper, orientation)  # type: ignore[arg-type]
        rect, _ = _sheet_boxes(page, ctx, plots, extra_notes=extra_notes)
        best = max(best, rect[3] / page.k)
    return best


def _notes_height(page: _Page, notes: str) -> float:
    """Height (mm) the footer needs for `notes` beyond its usual room (0 without notes)."""
    if not notes:
        return 0.0
    size = page.pt(8)
    lines = _wrap(notes, page.width - 2 * MARGIN_MM * page.k, size)
    return len(lines) * size / PT_PER_MM * 1.3


def _extra_notes(ctx: _Context, count: int) -> str:
    """The notes a sheet adds to the usual ones: its map series, true north."""
    notes = [_series_note(ctx.lang, count)] if count > 1 else []
    notes += [ctx.labels.north_note] if ctx.labels.north_note else []
    return ". ".join(notes)


def _series_note(lang: Lang, count: int) -> str:
    """The footer note of a sheet of a map series of `count` sheets."""
    _ = gettext_of(lang)
    return _(
        "The community's plots do not fit on one sheet: they are on {count} sheets, each "
        "with neighbouring plots; in light grey, the plots of the other sheets"
    ).format(count=count)


def spatial_order(plots: gpd.GeoDataFrame) -> list[str]:
    """Plot codes along a Hilbert curve through their centroids: neighbours stay together.

    Deterministic: the curve is laid over the plots' own bounds (level 16) and plots at
    the same curve position are ordered by code.
    """
    if plots.empty:
        return []
    points = plots.geometry.representative_point()
    distance = np.asarray(points.hilbert_distance(total_bounds=plots.total_bounds, level=16))
    codes = plots[S.PLOT_CODE].astype(str).to_numpy()
    order = np.lexsort((codes, distance))
    return [str(codes[i]) for i in order]


def _one_sheet_fits(paper: Paper, ctx: _Context, plots: gpd.GeoDataFrame) -> bool:
    """Whether a community's plots fit one sheet: panels leave the map room, plots legible."""
    notes = _extra_notes(ctx, 1)
    if _map_height(paper, ctx, plots, extra_notes=notes) < MIN_MAP_MM:
        return False
    community = str(plots[S.COMMUNITY].iloc[0]) if S.COMMUNITY in plots.columns else ""
    layers = _community_layers(ctx.run, community, ctx.memo)
    layers["plots"] = plots
    _, frame, _, _ = _sheet_view(ctx, paper, layers, series=False, extra_notes=notes)
    return smallest_plot_mm(plots, frame.scale) >= MIN_PLOT_MM


def _series(paper: Paper, ctx: _Context, plots: gpd.GeoDataFrame) -> list[list[str]]:
    """The plot codes of each sheet of a community: one sheet when they all fit.

    Otherwise the plots are split by recursive coordinate bisection: a group that does
    not fit on a sheet (a map at least :data:`SERIES_MAP_MM` high) is cut across the
    longer side of its plots' extent, at the plot that shares it between the sheets each
    side needs (the capacity of a sheet is how many plots fit, taken along
    :func:`spatial_order`), and each side is split again. The groups stay compact (a
    sheet's map is zoomed on neighbours, not on a strip across the community) and of
    near-equal size; the order of the sheets follows the cuts: west or south first.
    """
    codes = list(plots[S.PLOT_CODE].astype(str))
    if not codes or _one_sheet_fits(paper, ctx, plots):
        return [codes]
    by_code = plots.set_index(plots[S.PLOT_CODE].astype(str), drop=False)
    points = by_code.geometry.representative_point()
    xy = {c: (p.x, p.y) for c, p in zip(by_code.index, points, strict=True)}
    position = {c: i for i, c in enumerate(by_code.index)}
    notes = _extra_notes(ctx, 99)

    def fits(group: list[str]) -> bool:
        mine = by_code.iloc[[position[c] for c in group]]
        if _map_height(paper, ctx, mine, extra_notes=notes) < SERIES_MAP_MM:
            return False
        _, frame, _, _ = _sheet_view(ctx, paper, {"plots": mine}, series=True, extra_notes=notes)
        return smallest_plot_mm(mine, frame.scale) >= MIN_PLOT_MM

    capacity = 1
    order = spatial_order(plots)
    while capacity < len(order) and fits(order[: capacity + 1]):
        capacity += 1

    def split(group: list[str]) -> list[list[str]]:
        if len(group) == 1 or fits(group):
            return [group]
        sheets = max(2, math.ceil(len(group) / capacity))
        xs = [xy[c][0] for c in group]
        ys = [xy[c][1] for c in group]
        axis = 0 if max(xs) - min(xs) >= max(ys) - min(ys) else 1
        ranked = sorted(group, key=lambda c: (xy[c][axis], xy[c][1 - axis], c))
        cut = max(1, min(len(group) - 1, round(len(group) * (sheets // 2) / sheets)))
        return split(ranked[:cut]) + split(ranked[cut:])

    return split(order)


def plan_sheets(run: RunOutputs, *, lang: Lang = "es", paper: Paper = "A4") -> list[Sheet]:
    """The community sheets of the atlas, in order: one per community, or a map series.

    A community whose plots do not fit on one sheet (the status panel and the calendar
    take a row per plot and would leave the map under :data:`MIN_MAP_MM`) gets several
    sheets, each with a group of neighbouring plots (see :func:`_series`), its map
    zoomed on them with the community's other plots drawn faintly, and its own status
    panel and calendar. Every plot is on exactly one sheet.
    """
    ctx = _make_context(run, lang, paper, 1)
    return _plan(ctx, _community_names(run))


def _plan(ctx: _Context, names: list[str]) -> list[Sheet]:
    sheets: list[Sheet] = []
    for name in names:
        parts = _series(ctx.paper, ctx, _community_layers(ctx.run, name, ctx.memo)["plots"])
        for i, part in enumerate(parts, start=1):
            sheets.append(Sheet(name, i, len(parts), tuple(part)))
        if len(parts) > 1:
            logger.info(
                cli_ngettext(
                    "{community}: {plots} plots on {n} sheet",
                    "{community}: {plots} plots on {n} sheets",
                    len(parts),
                ).format(community=name, plots=sum(map(len, parts)), n=len(parts))
            )
    return sheets


def _sheet_layers(
    run: RunOutputs, sheet: Sheet, memo: dict[Any, Any] | None = None
) -> tuple[dict[str, gpd.GeoDataFrame], gpd.GeoDataFrame | None]:
    """The layers a sheet draws, and the community's other plots when it is one of a series."""
    layers = _community_layers(run, sheet.community, memo)
    if sheet.count == 1:
        return layers, None
    plots = layers["plots"]
    mine = plots[S.PLOT_CODE].astype(str).isin(sheet.plot_codes)
    return {**layers, "plots": plots[mine]}, plots[~mine]


#: Least size of a plot on a sheet, mm across (the diameter of the circle of its area). At
#: 1:60 000 a 5.3 ha plot is 4 mm across, too small to find, to label or to read its fill;
#: a sheet that would draw a plot smaller zooms on its plots, and a community whose plots
#: are too spread for that gets a map series (:func:`plan_sheets`).
MIN_PLOT_MM: Final = 8.0


def smallest_plot_mm(plots: gpd.GeoDataFrame, scale: int) -> float:
    """Size (mm across, see :data:`MIN_PLOT_MM`) of the smallest of `plots` at 1:`scale`."""
    if plots.empty:
        return math.inf
    across_m = 2.0 * np.sqrt(plots.geometry.area.to_numpy() / math.pi)
    return float(across_m.min()) / (scale / 1000.0)


def _sheet_view(
    ctx: _Context,
    paper: Paper,
    layers: dict[str, gpd.GeoDataFrame],
    *,
    series: bool,
    extra_notes: str,
) -> tuple[_Page, _Frame, dict[str, tuple[float, float, float, float]], bool]:
    """Page, map frame and panels of a sheet, and whether its map is a detail (with inset).

    The map shows what :func:`_sheet_bounds` says; when a plot would be under
    :data:`MIN_PLOT_MM` across at that scale, it shows only the sheet's plots (plus
    :data:`SERIES_PAD_M`) at the larger scale that allows, with the locator inset.
    """
    plots = layers["plots"]
    bounds, zoomed = _sheet_bounds(ctx, layers, series=series)
    page, frame, boxes = choose_orientation(paper, ctx, plots, bounds, extra_notes=extra_notes)
    if series or smallest_plot_mm(plots, frame.scale) >= MIN_PLOT_MM:
        return page, frame, boxes, zoomed
    pad = np.array([-SERIES_PAD_M, -SERIES_PAD_M, SERIES_PAD_M, SERIES_PAD_M])
    tight = choose_orientation(paper, ctx, plots, plots.total_bounds + pad, extra_notes=extra_notes)
    if tight[1].scale < frame.scale:
        return *tight, True
    return page, frame, boxes, zoomed


def community_layout(
    run: RunOutputs, name: str, *, lang: Lang = "es", paper: Paper = "A4", sheet: int = 1
) -> SheetLayout:
    """The page size, orientation, map frame and scale of a community's sheet.

    The same layout :func:`write_atlas` draws; useful to know a sheet's scale or to
    find a place of the map on the printed page (mm from the top-left corner).
    `sheet` is the sheet's number in the community's map series (:func:`plan_sheets`).
    """
    ctx = _make_context(run, lang, paper, 1)
    series = [s for s in _plan(ctx, [name]) if s.community == name]
    if not 1 <= sheet <= len(series):
        raise ParameterError(
            f"sheet={sheet}: community {name!r} has {len(series)} sheet(s); choose 1 to "
            f"{len(series)}."
        )
    layers, context = _sheet_layers(ctx.run, series[sheet - 1], ctx.memo)
    extra = _extra_notes(ctx, series[sheet - 1].count)
    page, frame, _, zoomed = _sheet_view(
        ctx, paper, layers, series=context is not None, extra_notes=extra
    )
    return SheetLayout(
        page.width, page.height, page.orientation, frame.scale,
        (frame.x, frame.top, frame.w, frame.h), frame.extent, zoomed,
    )  # fmt: skip


def _legend_risks(ctx: _Context, plots: gpd.GeoDataFrame) -> list[str]:
    """The risk classes of the legend: all four, and "no data" when a plot has none."""
    risks = list(S.RISK_CLASSES)
    if plots.empty:
        return risks
    if S.RISK_CLASS not in ctx.status.columns:
        return [*risks, "none"]
    rows = _status_rows(ctx)
    codes = set(plots[S.PLOT_CODE].astype(str))
    values = [rows[code][S.RISK_CLASS] for code in codes if code in rows]
    if len(values) < len(codes) or pd.isna(values).any():
        risks.append("none")
    return risks


def _community_sheet(ctx: _Context, sheet: Sheet, page_no: int) -> Figure:
    from matplotlib.figure import Figure

    _ = gettext_of(ctx.lang)
    name = sheet.community
    layers, context = _sheet_layers(ctx.run, sheet, ctx.memo)
    plots = layers["plots"]
    n = len(plots)
    extra = _extra_notes(ctx, sheet.count)
    page, frame, boxes, zoomed = _sheet_view(
        ctx, ctx.paper, layers, series=context is not None, extra_notes=extra
    )
    fig = Figure(figsize=(page.width / MM_PER_INCH, page.height / MM_PER_INCH))
    title = f"{community_title(name, ctx.lang)} — {ctx.labels.area_short}"
    if sheet.count > 1:
        title += " — " + _("sheet {number} of {count}").format(
            number=sheet.number, count=sheet.count
        )
    _title_block(fig, page, ctx, title, page_no)
    ax = _map_axes(fig, page, frame)
    background = _background(ax, ctx.run, frame)
    step = _utm_grid(ax, page, frame)
    blocked = _decorations(page, frame)
    if zoomed:
        inset = _inset_rect(page, frame, layers)
        _locator(fig, page, ctx, inset, name=name, frame=frame)
        blocked.append(_map_box(frame, inset))
    if context is not None:
        # the rest of the series, faintly, for context
        _add_polygons(
            ax, context.geometry, facecolor="0.93", edgecolor="0.55", lw=0.5 * page.k, zorder=3
        )
    _draw_features(ax, page, ctx, frame=frame, name=name, layers=layers, blocked=blocked)
    _north_and_scale(ax, page, frame, ctx.lang)
    ax.set_xlabel("")
    ax.set_ylabel("")
    risks = _legend_risks(ctx, plots)
    _legend(_axes_mm(fig, page, boxes["legend"]), page, ctx, risks=risks, show_risk=bool(n))
    notes = _sheet_notes(ctx, sheet, step=step, background=background, zoomed=zoomed)
    sw, sh = boxes["side"][2:]
    side = _axes_mm(fig, page, boxes["side"])
    if n:
        _risk_panel(side, page, ctx, plots)
        _calendar(_axes_mm(fig, page, boxes["calendar"]), page, ctx, plots)
    else:
        no_plots = _(
            "This community has no fenced plots on record.|"
            "The map shows its boundary, corrals and water points. Plots will appear here, "
            "with their rotation calendar, once they are recorded."
        )
        lines = _wrap(no_plots, sw - 8 * page.k, page.pt(10))
        side.text(
            3 * page.k, 3 * page.k, "\n".join(lines), fontsize=page.pt(10), va="top",
            linespacing=1.35,
        )  # fmt: skip
        frame_box = _box_patch(0, 0, sw, sh)
        frame_box.set_zorder(0)
        side.add_patch(frame_box)
    _footer(fig, page, ctx, notes=". ".join(notes) + ".", later=sheet.number > 1)
    return fig


def _sheet_notes(
    ctx: _Context, sheet: Sheet, *, step: int, background: str | None, zoomed: bool
) -> list[str]:
    """The map notes of a sheet's footer: grid, background, inset, series, north."""
    _ = gettext_of(ctx.lang)
    notes = [ctx.labels.grid.format(step=step)]
    if background:
        notes.append(_(background))
    if zoomed:
        notes.append(_("Inset: the whole community, with the part mapped framed"))
    if sheet.count > 1:
        notes.append(_series_note(ctx.lang, sheet.count))
    if ctx.labels.north_note:
        notes.append(ctx.labels.north_note)
    return notes


def _overview(ctx: _Context, page_no: int) -> Figure:
    from matplotlib.figure import Figure

    run = ctx.run
    _ = gettext_of(ctx.lang)
    bounds = run.communities.total_bounds if not run.communities.empty else run.plots.total_bounds
    best = None
    for orientation in ("portrait", "landscape"):
        page = page_geometry(ctx.paper, orientation)  # type: ignore[arg-type]
        k = page.k
        m = MARGIN_MM * k
        top = m + (TITLE_MM + 2) * k
        pad = 5 * k
        rect = (m + pad, top, page.width - 2 * m - pad, page.height - top - m - 30 * k - pad)
        frame = _frame(rect, bounds, 0.03)
        if best is None or frame.scale < best[1].scale:
            best = (page, frame)
    assert best is not None
    page, frame = best
    k = page.k
    fig = Figure(figsize=(page.width / MM_PER_INCH, page.height / MM_PER_INCH))
    n_comm = len(dict.fromkeys(sheet.community for sheet in ctx.sheets)) or len(run.communities)
    _title_block(fig, page, ctx, _overview_title(ctx.lang, n_comm), page_no)
    ax = _map_axes(fig, page, frame)
    background = _background(ax, run, frame)
    step = _utm_grid(ax, page, frame)
    plots = run.plots
    rows = zip(run.communities.get(S.COMMUNITY, []), run.communities.geometry, strict=True)
    for name, geom in rows:
        mine = plots[plots[S.COMMUNITY] == name] if not plots.empty else plots
        has = not mine.empty
        _add_polygon(
            ax, geom, facecolor=(1, 1, 1, 0.55) if has else "none",
            edgecolor="0.4" if not has else "none", lw=0, hatch="" if has else "\\\\", zorder=2,
        )  # fmt: skip
        _add_lines(ax, geom, color="black", lw=1.4 * k, linestyle=(0, (8, 2, 1.5, 2)), zorder=3)
        pt = geom.representative_point()
        count = plots_count(ctx.lang, len(mine), mine[S.AREA_HA].sum())
        count += f"\n{_pages_of(ctx, str(name))}"
        ax.text(
            pt.x, pt.y, f"{name}\n{count}", fontsize=page.pt(9), ha="center", va="center",
            zorder=7, linespacing=1.3,  # over the page marks of map series
            bbox={"boxstyle": "round,pad=0.3", "fc": (1, 1, 1, 0.8), "ec": "black", "lw": 0.6},
        )  # fmt: skip
    _overview_series(ax, page, ctx)
    if not plots.empty:
        _add_polygons(ax, plots.geometry, facecolor="black", edgecolor="black", lw=0.5, zorder=4)
    if not run.corrals.empty:
        pts = run.corrals.geometry.representative_point()
        ax.plot(pts.x, pts.y, "s", ms=3.5 * k, mfc="black", mec="white", mew=0.5, zorder=5,
                linestyle="none")  # fmt: skip
    _north_and_scale(ax, page, frame, ctx.lang)
    lax = _axes_mm(
        fig,
        page,
        (MARGIN_MM * k, frame.top + frame.h + 7 * k, page.width - 2 * MARGIN_MM * k, 20 * k),
    )
    _overview_legend(lax, page, ctx, background, step)
    _footer(fig, page, ctx)
    return fig


def _overview_title(lang: Lang, n: int) -> str:
    """``"Las 14 comunidades y sus parcelas"``; ``"La comunidad y sus parcelas"`` for one."""
    ngettext = ngettext_of(lang)
    return ngettext("The community and its plots", "The {n} communities and their plots", n).format(
        n=n
    )


def _pages_of(ctx: _Context, name: str) -> str:
    """``"página 3"``, or ``"páginas 3–11"`` for a community on several sheets."""
    _ = gettext_of(ctx.lang)
    numbers = [3 + i for i, sheet in enumerate(ctx.sheets) if sheet.community == name]
    if not numbers:
        return ""
    if len(numbers) == 1:
        return _("page {number}").format(number=numbers[0])
    return _("pages {first}–{last}").format(first=numbers[0], last=numbers[-1])


def _overview_series(ax: Axes, page: _Page, ctx: _Context) -> None:
    """On the overview: the page of each sheet of a map series, over its plots.

    Also names the communities that have plots but no outline in the run (their label
    then sits on their plots).
    """
    plots = ctx.run.plots
    if plots.empty:
        return
    outlined = set(ctx.run.communities.get(S.COMMUNITY, pd.Series(dtype=str)).astype(str))
    codes = plots[S.PLOT_CODE].astype(str)
    _ = gettext_of(ctx.lang)
    box_style = {"boxstyle": "round,pad=0.25", "fc": (1, 1, 1, 0.85), "ec": "black", "lw": 0.5}
    for number, sheet in enumerate(ctx.sheets, start=3):
        if sheet.count == 1:
            continue
        # the page number on the sheet's largest plot, framing the sheet's plots lightly
        mine = plots[codes.isin(sheet.plot_codes)]
        hull = shapely.union_all(list(mine.geometry)).convex_hull
        if hull.geom_type == "Polygon":
            _add_lines(ax, hull, color="0.25", lw=0.5 * page.k, linestyle=(0, (3, 2)), zorder=5)
        at = mine.geometry.iloc[int(np.argmax(mine.geometry.area.to_numpy()))]
        pt = at.representative_point()
        ax.text(
            pt.x, pt.y, str(number), fontsize=page.pt(8), ha="center", va="center", zorder=6,
            bbox=box_style,
        )  # fmt: skip
    for name in dict.fromkeys(plots[S.COMMUNITY].astype(str)):
        if name in outlined:
            continue
        mine = plots[plots[S.COMMUNITY].astype(str) == name]
        xmin, _ymin, xmax, ymax = mine.total_bounds
        n = len(mine)
        ha = mine[S.AREA_HA].sum()
        count = plots_count(ctx.lang, n, ha)
        ax.text(
            (xmin + xmax) / 2, ymax, f"{name}\n{count}\n{_pages_of(ctx, name)}",
            fontsize=page.pt(9), ha="center", va="bottom", zorder=7, linespacing=1.3,
            bbox={"boxstyle": "round,pad=0.3", "fc": (1, 1, 1, 0.8), "ec": "black", "lw": 0.6},
        )  # fmt: skip


def _overview_legend(
    ax: _Panel, page: _Page, ctx: _Context, background: str | None, step: int
) -> None:
    from matplotlib.patches import Rectangle

    k = page.k
    _ = gettext_of(ctx.lang)
    size = page.pt(8.5)
    ax.add_patch(Rectangle((0, 0), 8 * k, 3.5 * k, facecolor="black"))
    ax.text(10 * k, 1.75 * k, _("Plot"), fontsize=size, va="center")
    ax.add_patch(Rectangle((40 * k, 0), 8 * k, 3.5 * k, facecolor="white", edgecolor="black",
                           hatch="\\\\"))  # fmt: skip
    ax.text(50 * k, 1.75 * k, _("no plots"), fontsize=size, va="center")
    ax.plot(84 * k, 1.75 * k, marker="s", ms=3.5 * k, mfc="black", mec="white")
    ax.text(88 * k, 1.75 * k, _("Corral"), fontsize=size, va="center")
    if any(sheet.count > 1 for sheet in ctx.sheets):
        # on the legend's row: the note line below is already full with a long CRS name
        ax.text(
            108 * k,
            1.75 * k,
            _("Number on the plots: page of their sheet"),
            fontsize=size,
            va="center",
        )
    notes = [ctx.labels.grid.format(step=step)]
    if background:
        notes.append(_(background))
    ax.text(0, 6 * k, "  ·  ".join(notes), fontsize=size, va="top")


def _missing_notes(ax: _Panel, ctx: _Context, page: Any, y: float, width: float) -> float:
    """Write why a layer is missing (a stage the run did not need); return the new `y`."""
    _ = gettext_of(ctx.lang)
    for stage, why in missing_stages(ctx.run).items():
        note = _("No {stage}: {why}").format(stage=_(STAGE_WORDS[stage]), why=why)
        lines = _wrap(note, width, page.pt(10))
        ax.text(0, y, "\n".join(lines), fontsize=page.pt(10), va="top", linespacing=1.3)
        y += (len(lines) * 1.3 * page.pt(10) / PT_PER_MM) + 2 * page.k
    return y


def _cover(ctx: _Context, names: list[str]) -> Figure:
    from matplotlib.figure import Figure

    page = page_geometry(ctx.paper, "portrait")
    k = page.k
    m = MARGIN_MM * k
    _ = gettext_of(ctx.lang)
    fig = Figure(figsize=(page.width / MM_PER_INCH, page.height / MM_PER_INCH))
    ax = _axes_mm(fig, page, (m, m, page.width - 2 * m, page.height - 2 * m))
    width = page.width - 2 * m
    y = 25 * k
    ax.text(width / 2, y, _("Grazing plot maps"), fontsize=page.pt(26), weight="bold", ha="center",
            va="top")  # fmt: skip
    y += 14 * k
    ax.text(width / 2, y, ctx.labels.area, fontsize=page.pt(14), ha="center", va="top")
    y += 10 * k
    ax.text(width / 2, y, ctx.subtitle, fontsize=page.pt(11), ha="center", va="top")
    y += 12 * k
    if ctx.run.illustrative:
        ax.text(
            width / 2, y, ctx.labels.illustrative, fontsize=page.pt(12), weight="bold",
            ha="center", va="top",
            bbox={"boxstyle": "square,pad=0.5", "fc": "white", "ec": "black", "lw": 1.5},
        )  # fmt: skip
        y += 16 * k
    y = _missing_notes(ax, ctx, page, y, width)
    footer_top = _footer(fig, page, ctx)
    size = page.pt(10.5)
    how = [_wrap(para, width - 6 * k, size) for para in _how_to_read(ctx)]
    line_mm = 1.3 * size / PT_PER_MM
    how_h = 8 * k + sum(len(lines) * line_mm + 3 * k for lines in how)
    # the contents take the room the reading notes leave, in columns when needed
    contents_top = y + 8 * k
    room = footer_top - 4 * k - how_h - 6 * k - contents_top
    entries = _contents(ctx, names, detailed=True)
    columns, row_h, entry_pt = 1, 6.2 * k, size
    if len(entries) * row_h > room:  # smaller, then in columns without the details
        entry_pt = page.pt(9)
        row_h = max(4.2 * k, entry_pt / PT_PER_MM * 1.45)
    if len(entries) * row_h > room:
        entries = _contents(ctx, names, detailed=False)
        rows = max(1, int(room // row_h))
        columns = min(3, math.ceil(len(entries) / rows))
        row_h = max(3.6 * k, min(row_h, room / math.ceil(len(entries) / columns)))
    ax.text(0, y, _("Contents"), fontsize=page.pt(13), weight="bold", va="top")
    per_column = math.ceil(len(entries) / columns)
    col_w = width / columns
    for i, (text, number) in enumerate(entries):
        col, row = divmod(i, per_column)
        x0, ey = col * col_w, contents_top + row * row_h
        ax.text(x0 + 4 * k, ey, text, fontsize=entry_pt, va="top")
        ax.text(x0 + col_w - (4 * k if col < columns - 1 else 0), ey, number, fontsize=entry_pt,
                va="top", ha="right")  # fmt: skip
    y = contents_top + per_column * row_h + 6 * k
    ax.text(0, y, _("How to read the sheets"), fontsize=page.pt(13), weight="bold", va="top")
    y += 8 * k
    for lines in how:
        ax.text(0, y, "•", fontsize=size, va="top")
        ax.text(5 * k, y, "\n".join(lines), fontsize=size, va="top", linespacing=1.3)
        y += len(lines) * line_mm + 3 * k
    return fig


def _contents(ctx: _Context, names: list[str], *, detailed: bool) -> list[tuple[str, str]]:
    """The cover's contents: (entry, pages), with plots, hectares and sheets if `detailed`."""
    _ = gettext_of(ctx.lang)
    ngettext = ngettext_of(ctx.lang)
    entries = [(_overview_title(ctx.lang, len(names)), _("page {number}").format(number=2))]
    plots = ctx.run.plots
    for name in names:
        title = community_title(name, ctx.lang)
        if detailed:
            mine = plots[plots[S.COMMUNITY] == name] if not plots.empty else plots
            extra = plots_count(ctx.lang, len(mine), mine[S.AREA_HA].sum())
            count = sum(sheet.community == name for sheet in ctx.sheets)
            if count > 1:
                extra += "; " + ngettext("{n} sheet", "{n} sheets", count).format(n=count)
            title = f"{title} ({extra})"
        entries.append((title, _pages_of(ctx, name)))
    return entries


def plots_count(lang: Lang, n: int, ha: float) -> str:
    """``"12 parcelas, 85.3 ha"``, ``"1 parcela, 5.0 ha"``, ``"sin parcelas"``."""
    if n == 0:
        _ = gettext_of(lang)
        return _("no plots")
    ngettext = ngettext_of(lang)
    return ngettext("{n} plot, {ha} ha", "{n} plots, {ha} ha", n).format(n=n, ha=f"{ha:.1f}")


def _how_to_read(ctx: _Context) -> list[str]:
    """The cover's paragraphs on how to read a sheet (and the dates, the map series)."""
    _ = gettext_of(ctx.lang)
    how = [
        _(
            "Each sheet shows one community: its plots with code and hectares, its "
            "corrals and water points."
        ),
        _(
            "The fill of a plot gives its erosion and overgrazing risk: white low, "
            "hatching moderate, dense hatching high, cross-hatching very high."
        ),
        _(
            "The calendar gives, month by month, how many days each plot is grazed, which "
            "groups of animals come in and how many heads (C1-ALP-1 120: group 1 of "
            "alpacas of corral C1, 120 heads); a dash (—) is a month of rest."
        ),
        _("The status panel gives range condition, risk and its main driver."),
    ]
    if any(sheet.count > 1 for sheet in ctx.sheets):
        how.insert(
            1,
            _(
                'A community with many plots takes several sheets ("sheet 1 of 9"): each '
                "shows a group of neighbouring plots; those of the other sheets are in "
                "light grey."
            ),
        )
    dates = dates_note(ctx.run, ctx.lang)
    if dates:
        how.append(dates)
    return how
