"""The map frame of a sheet.

Backdrop, neighbours, plots (risk fill), corrals, water points, plot labels, the
locator inset and the legend.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

from pastures import schema as S
from pastures.backdrop import DisplayRaster, hillshade, read_for_display
from pastures.defaults import Lang
from pastures.i18n import N_
from pastures.outputs import (
    RunOutputs,
)
from pastures.printmap.calendar import short_labels
from pastures.printmap.layout import (
    PT_PER_MM,
    _box_patch,
    _Frame,
    _map_box,
    _map_text,
    _Page,
    _Panel,
    _swatch,
    _text_width_mm,
    _wrap,
)
from pastures.printmap.words import gettext_of, hectares, risk_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from pastures.printmap.context import _Context

logger = logging.getLogger(__name__)


#: Side of the locator inset of a detail map, mm at A4.
INSET_MM: Final = 40.0


#: A sheet maps only the part of a community holding its plots, corrals and water
#: points (with a locator inset of the whole) when that part's longer side is under
#: this share of the community's.
ZOOM_RATIO: Final = 0.85


#: Margin (m) kept around the plots, corrals and water points of a detail map.
FOCUS_PAD_M: Final = 250.0


#: A locator inset draws a community's plots black up to this many, grey beyond (where
#: they would hide the frame of the part mapped).
MAX_PLOTS_BLACK_IN_LOCATOR: Final = 30


#: Margin (m) around the plots of one sheet of a map series.
SERIES_PAD_M: Final = 60.0


#: Resolution (dots per inch) the background is written at: enough for
#: :data:`BACKGROUND_PX_PER_CELL` pixels a raster cell at the map's scale, within
#: these bounds. A 30 m DEM at 1:10 000 is 3 mm a cell: 50 dpi gives it 6 pixels,
#: and its bilinear shading looks the same as at 100 dpi at a quarter of the pixels
#: to resample and compress; the overview of a district (1:100 000) keeps 100 dpi.
BACKGROUND_DPI: Final = (50.0, 100.0)


#: Least pixels a raster cell of the background is written at (see :data:`BACKGROUND_DPI`).
BACKGROUND_PX_PER_CELL: Final = 3.0


def background_dpi(cell_m: float, scale: int) -> float:
    """Dots per inch to write a background of `cell_m` cells at 1:`scale` (see BACKGROUND_DPI)."""
    low, high = BACKGROUND_DPI
    cell_inch = abs(cell_m) / scale * 1000.0 / 25.4
    if cell_inch <= 0:
        return high
    return float(min(high, max(low, BACKGROUND_PX_PER_CELL / cell_inch)))


#: Grey levels 0-1 of the background (darkest shadow, full light): kept light so
#: hatching and text stay readable over it.
BACKGROUND_GREY: Final = (0.74, 1.0)


#: Fill, hatch and grey level of each risk class (lowest first), black-and-white safe:
#: grey level falls and hatch density rises with the class, so the classes differ
#: in luminance and texture, not by hue alone. The colours (a light-to-dark orange
#: ramp whose luminance falls monotonically) are an aid on colour printers only.
RISK_STYLE: Final = {
    "low": {"face": "#ffffff", "hatch": ""},
    "moderate": {"face": "#fde9b8", "hatch": "//"},
    "high": {"face": "#f6b26b", "hatch": "////"},
    "very high": {"face": "#c8763a", "hatch": "xxxx"},
}


NO_DATA_STYLE: Final = {"face": "#ffffff", "hatch": "..."}


def _status_rows(ctx: _Context) -> dict[str, dict[str, Any]]:
    """The status table (:func:`pastures.printmap.status._status_table`) by plot code, once."""
    if "status rows" not in ctx.memo:
        status = ctx.status
        codes = status[S.PLOT_CODE].astype(str) if not status.empty else []
        records = status.to_dict("records") if not status.empty else []
        ctx.memo["status rows"] = dict(zip(codes, records, strict=True))
    return ctx.memo["status rows"]


def _risk_style(risk: object) -> dict[str, str]:
    return RISK_STYLE.get(str(risk), NO_DATA_STYLE) if pd.notna(risk) else NO_DATA_STYLE


def _display_raster(path: str | Path) -> DisplayRaster:
    """The raster under the maps, read once per file version and reused by every sheet."""
    stat = Path(path).stat()
    return _read_display(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _read_display(path: str, _mtime_ns: int, _size: int) -> DisplayRaster:
    raster = read_for_display(path, max_pixels=4000)
    raster.data.setflags(write=False)  # shared by the sheets: nobody may change it
    return raster


def _background(ax: Axes, run: RunOutputs, frame: _Frame) -> str | None:
    """Draw a light grey hillshade (or grey true colour) under the map; its note (untranslated).

    The figure's dpi is set to :func:`background_dpi` of the raster's cells.
    """
    xmin, ymin, xmax, ymax = frame.extent
    for key in ("dem", "true_colour"):
        path = run.rasters.get(key)
        if path is None:
            continue
        raster = _display_raster(path)
        t = raster.transform
        col0 = max(0, math.floor((xmin - t.c) / t.a) - 2)
        col1 = min(raster.data.shape[2], math.ceil((xmax - t.c) / t.a) + 2)
        row0 = max(0, math.floor((ymax - t.f) / t.e) - 2)
        row1 = min(raster.data.shape[1], math.ceil((ymin - t.f) / t.e) + 2)
        if col1 <= col0 or row1 <= row0:
            continue
        window = raster.data[:, row0:row1, col0:col1]
        if key == "dem":
            grey = hillshade(window[0], cellsize=abs(t.a))
        else:
            r, g, b = window[:3]
            lum = 0.299 * r + 0.587 * g + 0.114 * b
            valid = np.isfinite(lum)
            if not valid.any():
                continue
            lo, hi = np.percentile(lum[valid], (2, 98))
            grey = np.clip((lum - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
        if not np.isfinite(grey).any():
            continue
        dark, light = BACKGROUND_GREY
        shade = np.where(np.isfinite(grey), dark + (light - dark) * np.nan_to_num(grey), 1.0)
        left, top = t.c + col0 * t.a, t.f + row0 * t.e
        right, bottom = left + (col1 - col0) * t.a, top + (row1 - row0) * t.e
        ax.imshow(
            (shade * 255).astype("uint8"),
            cmap="gray",
            vmin=0,
            vmax=255,
            extent=(left, right, bottom, top),
            interpolation="bilinear",
            zorder=0,
        )
        ax.set_xlim(xmin, xmax)
        ax.set_ylim(ymin, ymax)
        # the PDF writes the page's images at its figure's dpi (text and lines are vectors)
        ax.figure.set_dpi(background_dpi(max(abs(t.a), abs(t.e)), frame.scale))
        return (
            N_("Background: shaded relief")
            if key == "dem"
            else N_("Background: satellite image in grey")
        )
    return None


@dataclass(frozen=True)
class PlacedLabel:
    """Where a plot's label went: centre (m), box, and the leader line if outside."""

    code: str
    x: float
    y: float
    box: shapely.Polygon
    leader: tuple[tuple[float, float], tuple[float, float]] | None


def place_labels(
    plots: gpd.GeoDataFrame,
    sizes: dict[str, tuple[float, float]],
    *,
    extent: tuple[float, float, float, float],
    obstacles: list[shapely.Geometry] | None = None,
    gap: float = 0.0,
) -> list[PlacedLabel]:
    """Place one label per plot so that no two labels overlap.

    A label goes inside its plot when its box fits there (around the plot's pole of
    inaccessibility); otherwise it is tried at increasing distances in 16 directions
    around the plot, keeping clear of other labels, plots and `obstacles`, inside
    `extent`, and joined to the plot by a leader line. Larger plots are placed first.

    Parameters
    ----------
    plots
        Plots with ``plot_code`` and polygon geometry (m).
    sizes
        Width and height (m) of each plot's label box.
    extent
        xmin, ymin, xmax, ymax the labels must stay within (m).
    obstacles
        Geometries labels outside a plot must not cover (corrals, other features).
    gap
        Clearance (m) between a label outside a plot and the plot.
    """
    frame = box(*extent)
    placed: list[PlacedLabel] = []
    taken: list[shapely.Geometry] = []
    geoms = dict(zip(plots[S.PLOT_CODE].astype(str), plots.geometry, strict=True))
    all_plots = shapely.union_all(list(geoms.values())) if geoms else shapely.Polygon()
    blocked = [*list(obstacles or [])]
    order = sorted(geoms, key=lambda c: -geoms[c].area)
    for code in order:
        geom = geoms[code]
        w, h = sizes[code]
        inner = (
            shapely.ops.polylabel(geom, tolerance=1.0)
            if geom.geom_type == "Polygon"
            else (geom.representative_point())
        )
        candidate = box(inner.x - w / 2, inner.y - h / 2, inner.x + w / 2, inner.y + h / 2)
        if geom.contains(candidate) and not any(candidate.intersects(t) for t in taken):
            placed.append(PlacedLabel(code, inner.x, inner.y, candidate, None))
            taken.append(candidate)
            continue
        centre = geom.centroid
        radius = math.sqrt(geom.area / math.pi)
        best: tuple[float, float, float, shapely.Polygon] | None = None
        for step in range(8):
            dist = radius + gap + max(w, h) * (0.55 + 0.45 * step)
            for i in range(16):
                ang = math.radians(90 - 22.5 * i)
                cx = centre.x + dist * math.cos(ang) * (1 + (w / max(h, 1e-9) - 1) * 0.3)
                cy = centre.y + dist * math.sin(ang)
                cand = box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                if not frame.contains(cand):
                    continue
                clash = sum(cand.intersects(t) for t in taken) * 10
                clash += cand.buffer(gap / 2).intersects(all_plots) * 10
                clash += sum(cand.intersects(o) for o in blocked)
                score = clash * 1e9 + dist
                if best is None or score < best[0]:
                    best = (score, cx, cy, cand)
            if best is not None and best[0] < 1e9:
                break
        if best is None:  # no room inside the frame: fall back to the plot itself
            placed.append(PlacedLabel(code, inner.x, inner.y, candidate, None))
            taken.append(candidate)
            continue
        _, cx, cy, cand = best
        start, end = shapely.ops.nearest_points(cand.exterior, geom)
        placed.append(PlacedLabel(code, cx, cy, cand, ((start.x, start.y), (end.x, end.y))))
        taken.append(cand)
    return placed


def _community_layers(
    run: RunOutputs, name: str, memo: dict[Any, Any] | None = None
) -> dict[str, gpd.GeoDataFrame]:
    """The outline, plots (by code), corrals and water points of community `name`.

    With `memo` (a context's), each layer of the run is grouped by community once and
    every later call takes its rows from there: a sheet's work then follows the
    sheet, not the size of the project.
    """
    key = ("community layers", name)
    if memo is not None and key in memo:
        return dict(memo[key])  # a copy: callers replace layers in it
    rows = _community_rows(run, memo)

    def of(label: str, layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        if layer.empty or S.COMMUNITY not in layer.columns:
            return layer.iloc[0:0]
        return layer.iloc[rows[label].get(name, np.empty(0, dtype=np.intp))]

    layers = {
        "community": of("community", run.communities),
        "plots": of("plots", run.plots).sort_values(S.PLOT_CODE),
        "corrals": of("corrals", run.corrals),
        "water": of("water", run.water_points),
    }
    if memo is not None:
        memo[key] = layers
    return dict(layers)


def _community_rows(run: RunOutputs, memo: dict[Any, Any] | None) -> dict[str, dict[Any, Any]]:
    """Row positions of each community in each layer (``layer[community] == name``)."""
    if memo is not None and "community rows" in memo:
        return memo["community rows"]
    rows: dict[str, dict[Any, Any]] = {}
    for label, layer in (("community", run.communities), ("plots", run.plots),
                         ("corrals", run.corrals), ("water", run.water_points)):  # fmt: skip
        if layer.empty or S.COMMUNITY not in layer.columns:
            rows[label] = {}
            continue
        column = layer[S.COMMUNITY].reset_index(drop=True)
        rows[label] = dict(column.groupby(column, sort=False).indices)
    if memo is not None:
        memo["community rows"] = rows
    return rows


def _neighbours(ax: Axes, page: _Page, ctx: _Context, *, frame: _Frame, name: str) -> None:
    """The other communities in view: their boundaries (one artist) and their names."""
    k = page.k
    mpm = frame.m_per_mm()
    view = box(*frame.extent)
    communities = ctx.run.communities
    if communities.empty:
        return
    # the communities in view, from the layer's spatial index (in the layer's order)
    seen = communities.iloc[np.sort(communities.sindex.query(view, predicate="intersects"))]
    seen = seen[seen[S.COMMUNITY] != name]
    _add_lines(ax, seen.geometry, color="0.35", lw=0.8 * k, linestyle=(0, (4, 2)), zorder=2)
    room = view.buffer(-8 * k * mpm)
    for geom, other in zip(seen.geometry, seen[S.COMMUNITY], strict=True):
        inside = geom.intersection(room)
        if not inside.is_empty and inside.area > (25 * k * mpm) ** 2:
            pt = inside.representative_point()
            ax.text(
                pt.x, pt.y, other, fontsize=page.pt(9), color="0.3", style="italic",
                ha="center", va="center", zorder=3,
            )  # fmt: skip


def _draw_features(
    ax: Axes,
    page: _Page,
    ctx: _Context,
    *,
    frame: _Frame,
    name: str,
    layers: dict[str, gpd.GeoDataFrame],
    blocked: list[shapely.Geometry],
) -> None:
    """Neighbours, the community, its plots (risk fill), corrals, water points, labels.

    Labels keep clear of `blocked` (north arrow, scale bar, locator inset; map metres).
    """
    k = page.k
    mpm = frame.m_per_mm()
    view = box(*frame.extent)
    _neighbours(ax, page, ctx, frame=frame, name=name)
    outline = layers["community"]
    if not outline.empty:
        outside = view.difference(shapely.union_all(list(outline.geometry)))
        if not outside.is_empty:
            _add_polygon(ax, outside, facecolor="white", alpha=0.45, lw=0, zorder=1.5)
        for geom in outline.geometry:
            _add_lines(ax, geom, color="black", lw=2.2 * k, linestyle=(0, (8, 2, 1.5, 2)), zorder=6)
    plots = layers["plots"]
    status = _status_rows(ctx)
    by_style: dict[tuple[str, str], list[shapely.Geometry]] = {}
    for code, geom in zip(plots[S.PLOT_CODE].astype(str), plots.geometry, strict=True):
        risk = status.get(code, {}).get(S.RISK_CLASS)
        style = _risk_style(risk)
        by_style.setdefault((style["face"], style["hatch"]), []).append(geom)
    for (face, hatch), geoms in by_style.items():  # one artist per risk class
        _add_polygons(
            ax, geoms, facecolor=face, edgecolor="black", hatch=hatch, lw=1.1 * k, zorder=4
        )
    corrals = layers["corrals"]
    corral_pts = list(blocked)
    inside = box(*frame.extent).buffer(-1.5 * k * mpm)  # symbols whole inside the frame
    if not corrals.empty:
        labels = short_labels(list(corrals[S.CORRAL_ID].astype(str)))
        for cid, geom in zip(corrals[S.CORRAL_ID].astype(str), corrals.geometry, strict=True):
            pt = geom if geom.geom_type == "Point" else geom.representative_point()
            if not inside.contains(pt):  # its label would sit on the grid's coordinates
                continue
            ax.plot(pt.x, pt.y, marker="s", ms=6 * k, mfc="black", mec="white", mew=0.8, zorder=7)
            ax.text(
                pt.x + 2.2 * k * mpm, pt.y, labels[cid], fontsize=page.pt(9), weight="bold",
                va="center", ha="left", zorder=7,
                bbox={"boxstyle": "square,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.85},
            )  # fmt: skip
            corral_pts.append(pt.buffer(7 * k * mpm))
    water = layers["water"]
    for geom in water.geometry:
        if not inside.contains(geom):
            continue
        ax.plot(geom.x, geom.y, marker="o", ms=7 * k, mfc="white", mec="black", mew=1.2, zorder=7)
        ax.plot(geom.x, geom.y, marker="o", ms=2.2 * k, mfc="black", mec="black", zorder=7)
        corral_pts.append(geom.buffer(3 * k * mpm))
    if not plots.empty:
        _draw_plot_labels(ax, page, lang=ctx.lang, frame=frame, plots=plots, obstacles=corral_pts)


def _draw_plot_labels(
    ax: Axes,
    page: _Page,
    *,
    lang: Lang,
    frame: _Frame,
    plots: gpd.GeoDataFrame,
    obstacles: list[shapely.Geometry],
) -> None:
    """Code (bold) and hectares of each plot, inside it or beside it with a leader line."""
    k = page.k
    mpm = frame.m_per_mm()
    code_pt, ha_pt = page.pt(11), page.pt(9)
    sizes = {}
    texts = {}
    for code, area in zip(plots[S.PLOT_CODE].astype(str), plots[S.AREA_HA], strict=True):
        ha_text = hectares(area, lang)
        w = max(_text_width_mm(code, code_pt, bold=True), _text_width_mm(ha_text, ha_pt)) + 2.0
        h = (code_pt + ha_pt) / PT_PER_MM * 1.25 + 1.5
        sizes[code] = (w * mpm, h * mpm)
        texts[code] = ha_text
    inner = box(*frame.extent).buffer(-4 * k * mpm)
    labels = place_labels(plots, sizes, extent=inner.bounds, obstacles=obstacles, gap=1.5 * k * mpm)
    for lab in labels:
        if lab.leader is not None:
            (x0, y0), (x1, y1) = lab.leader
            ax.plot([x0, x1], [y0, y1], color="black", lw=0.9 * k, zorder=8)
            ax.plot(x1, y1, marker="o", ms=2.2 * k, color="black", zorder=8)
        xmin, ymin, xmax, ymax = lab.box.bounds
        ax.add_artist(_box_patch(xmin, ymin, xmax - xmin, ymax - ymin))
        # two one-line texts, code above the middle of the box and hectares below it:
        # each line of a text is shaped on its own when drawn, empty ones too
        mid = (ymin + ymax) / 2
        _map_text(ax, page, frame, (lab.x, mid + 0.15 * mpm), lab.code, fontsize=code_pt,
                  weight="bold", ha="center", va="baseline")  # fmt: skip
        _map_text(ax, page, frame, (lab.x, mid - 0.6 * mpm), texts[lab.code], fontsize=ha_pt,
                  ha="center", va="top")  # fmt: skip


def _inset_rect(
    page: _Page, frame: _Frame, layers: dict[str, gpd.GeoDataFrame]
) -> tuple[float, float, float, float]:
    """Page rectangle (mm) of the locator inset: the map corner that hides fewest features."""
    size = INSET_MM * page.k
    pad = 3 * page.k
    right, bottom = frame.x + frame.w - pad - size, frame.top + frame.h - pad - size
    corners = [  # clear of the north arrow (top right) and the scale bar (bottom left)
        (frame.x + pad, frame.top + pad, size, size),
        (right, bottom, size, size),
        (right, frame.top + 28 * page.k, size, size),
        (frame.x + pad, bottom - 26 * page.k, size, size),
    ]
    features = [*layers["plots"].geometry, *layers["corrals"].geometry, *layers["water"].geometry]

    def hidden(rect: tuple[float, float, float, float]) -> int:
        area = _map_box(frame, rect).buffer(8 * page.k * frame.m_per_mm())
        return sum(area.intersects(g) for g in features)

    return min(corners, key=hidden)


def _locator(
    fig: Figure,
    page: _Page,
    ctx: _Context,
    rect: tuple[float, float, float, float],
    *,
    name: str,
    frame: _Frame,
) -> None:
    """A small map of the whole community, its plots, and the part the sheet shows.

    Drawn as artists of the figure over the map (see :class:`_Inset`), not as an axes
    of its own: an axes with its ticks took about 25 ms a sheet to make and draw.
    """
    from matplotlib.patches import PathPatch, Rectangle

    k = page.k
    _x, _top, w, h = rect
    key = ("locator", name)
    if key not in ctx.memo:  # the same drawing on every sheet of the community: made once
        communities = ctx.run.communities
        layers = _community_layers(ctx.run, name, ctx.memo)
        mine = layers["community"] if not communities.empty else communities
        plots = layers["plots"]
        others = communities[communities[S.COMMUNITY] != name] if not communities.empty else []
        ctx.memo[key] = (
            _geoms_path([] if len(others) == 0 else others.geometry, closed=False),
            _geoms_path(mine.geometry, closed=False),
            _geoms_path(plots.geometry),
            len(plots),
            # the community's outline, or its plots where the run has no communities layer
            (mine if not mine.empty else plots).total_bounds,
        )
    others_path, mine_path, plots_path, n_plots, bounds = ctx.memo[key]
    xmin, ymin, xmax, ymax = bounds
    # and the whole frame of the part the sheet shows: a frame wider than the community
    # drew its edges straight across the inset, with no corners to read it as a frame
    vx0, vy0, vx1, vy1 = frame.extent
    xmin, ymin, xmax, ymax = min(xmin, vx0), min(ymin, vy0), max(xmax, vx1), max(ymax, vy1)
    half = 0.54 * max(xmax - xmin, ymax - ymin, 1.0)
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    ax = _Inset(
        fig, page, rect,
        (cx - half * w / min(w, h), cy - half * h / min(w, h),
         cx + half * w / min(w, h), cy + half * h / min(w, h)),
    )  # fmt: skip
    if others_path is not None:
        ax.add_artist(PathPatch(others_path, fill=False, edgecolor="0.45", lw=0.5 * k,
                                linestyle=(0, (4, 2))))  # fmt: skip
    if mine_path is not None:
        ax.add_artist(PathPatch(mine_path, fill=False, edgecolor="black", lw=1.0 * k,
                                linestyle=(0, (6, 1.5, 1, 1.5))))  # fmt: skip
    # On a sheet of a map series most of the plots are the other sheets': grey, so the
    # frame of this sheet's part stands out.
    fill = "0.6" if n_plots > MAX_PLOTS_BLACK_IN_LOCATOR else "black"
    if plots_path is not None:
        ax.add_artist(PathPatch(plots_path, facecolor=fill, edgecolor=fill, lw=0.3))
    ax.add_patch(Rectangle((vx0, vy0), vx1 - vx0, vy1 - vy0, fill=False, ec="black", lw=1.6 * k))
    ax.frame(lw=0.8 * k)


class _Inset:
    """A rectangle of the page drawn over the map in map coordinates, clipped to it.

    What an axes at `rect` (mm: x, top, w, h) with `limits` (xmin, ymin, xmax, ymax)
    and no ticks draws: a white ground, the artists added with :meth:`add_artist`
    (transformed and clipped as an axes would), and a frame (:meth:`frame`), all
    artists of the figure above the map.
    """

    ZORDER: Final = 20

    def __init__(
        self,
        fig: Figure,
        page: _Page,
        rect: tuple[float, float, float, float],
        limits: tuple[float, float, float, float],
    ) -> None:
        from matplotlib.patches import Rectangle
        from matplotlib.transforms import Bbox, BboxTransformFrom, BboxTransformTo, TransformedBbox

        x, top, w, h = rect
        self.fig = fig
        fraction = Bbox.from_bounds(
            x / page.width, 1 - (top + h) / page.height, w / page.width, h / page.height
        )
        self.box = TransformedBbox(fraction, fig.transFigure)
        xmin, ymin, xmax, ymax = limits
        self.transform = BboxTransformFrom(Bbox([[xmin, ymin], [xmax, ymax]])) + BboxTransformTo(
            self.box
        )
        ground = Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="none")
        ground.set_transform(BboxTransformTo(self.box))
        ground.set_zorder(self.ZORDER)
        fig.add_artist(ground)

    def add_artist(self, artist: Any) -> Any:
        artist.set_transform(self.transform)
        artist.set_clip_box(self.box)
        artist.set_zorder(self.ZORDER)
        return self.fig.add_artist(artist)

    add_patch = add_artist

    def frame(self, *, lw: float) -> None:
        """The inset's frame, as an axes' spines (not clipped)."""
        from matplotlib.patches import Rectangle
        from matplotlib.transforms import BboxTransformTo

        edge = Rectangle((0, 0), 1, 1, fill=False, edgecolor="black", lw=lw)
        edge.set_transform(BboxTransformTo(self.box))
        edge.set_zorder(self.ZORDER)
        edge.set_capstyle("projecting")
        self.fig.add_artist(edge)


def _rings(geoms: Iterable[shapely.Geometry]) -> list[Any]:
    """Every ring of the polygons among `geoms`, exteriors anticlockwise, holes clockwise."""
    polys = [
        g
        for geom in geoms
        for g in getattr(geom, "geoms", [geom])
        if g.geom_type == "Polygon" and not g.is_empty
    ]
    if not polys:
        return []
    oriented = shapely.orient_polygons(np.asarray(polys, dtype=object))  # holes stay holes
    return [r for poly in oriented for r in (poly.exterior, *poly.interiors)]


def _rings_path(rings: list[Any], *, closed: bool = True) -> Any:
    """One matplotlib Path of `rings` (a compound path: one artist for many features)."""
    from matplotlib.path import Path as MplPath

    coords = [np.asarray(r.coords)[:, :2] for r in rings]
    vertices = np.concatenate(coords)
    last = MplPath.CLOSEPOLY if closed else MplPath.LINETO
    codes = np.concatenate(
        [[MplPath.MOVETO] + [MplPath.LINETO] * (len(c) - 2) + [last] for c in coords]
    )
    return MplPath(vertices, codes)


def _geoms_path(geoms: Iterable[shapely.Geometry], *, closed: bool = True) -> Any:
    """One matplotlib Path of the rings of `geoms` (None when they have none).

    `closed`: polygons to fill; else their boundaries, as :func:`_add_lines` draws them.
    """
    rings = _rings(geoms)
    return _rings_path(rings, closed=closed) if rings else None


def _polygon_path(geom: shapely.Geometry) -> Any:
    """A matplotlib Path of a (multi)polygon, holes included."""
    return _rings_path(_rings([geom]))


def _add_polygons(ax: Axes, geoms: Iterable[shapely.Geometry], **kw: Any) -> None:
    """Draw (multi)polygons as one patch, one artist however many there are.

    Added as an artist, not a patch: the map's limits are fixed, and updating the data
    limits for each of hundreds of plots was a good part of the time a sheet took.
    """
    from matplotlib.patches import PathPatch

    rings = _rings(geoms)
    if rings:
        ax.add_artist(PathPatch(_rings_path(rings), **kw))


def _add_polygon(ax: Axes, geom: shapely.Geometry, **kw: Any) -> None:
    """Draw a (multi)polygon as one patch (much faster than GeoSeries.plot per feature)."""
    _add_polygons(ax, [geom], **kw)


def _add_lines(ax: Axes, geom: shapely.Geometry | Iterable[shapely.Geometry], **kw: Any) -> None:
    """Draw the boundaries of one or more (multi)polygons, as one artist."""
    from matplotlib.patches import PathPatch

    geoms = [geom] if isinstance(geom, shapely.Geometry) else list(geom)
    rings = _rings(geoms)
    if not rings:
        return
    color = kw.pop("color", "black")
    path = _rings_path(rings, closed=False)
    ax.add_artist(PathPatch(path, fill=False, edgecolor=color, **kw))


def _legend(
    ax: _Panel, page: _Page, ctx: _Context,
    *, risks: list[str], show_risk: bool = True,
) -> None:  # fmt: skip
    """Legend in an mm axes, two columns: risk fills; lines and symbols."""
    from matplotlib.lines import Line2D

    k = page.k
    _ = gettext_of(ctx.lang)
    size = page.pt(8.5)
    line_h = 5.0 * k
    width = ax.get_xlim()[1]
    col2 = width / 2 if show_risk else 0.0
    ax.text(0, 0, _("Legend"), fontsize=page.pt(10), weight="bold", va="top")
    y0 = 6.0 * k
    y = y0
    if show_risk:
        lines = _wrap(_("Erosion and overgrazing risk"), col2 - 2 * k, page.pt(8))
        ax.text(0, y, "\n".join(lines), fontsize=page.pt(8), va="top", style="italic")
        y += (1.5 + 3.5 * len(lines)) * k
        for cls in risks:
            style = NO_DATA_STYLE if cls == "none" else RISK_STYLE[cls]
            _swatch(ax, (0, y, 9 * k, 3.6 * k), style)
            label = risk_label(None if cls == "none" else cls, ctx.lang)
            ax.text(11 * k, y + 1.8 * k, label, fontsize=size, va="center")
            y += line_h
    y = y0
    entries: list[tuple[str, dict[str, Any]]] = [
        (
            _("Community boundary"),
            {"lw": 2.2 * k, "linestyle": (0, (8, 2, 1.5, 2)), "color": "black"},
        ),
        (_("Other community"), {"lw": 0.8 * k, "linestyle": (0, (4, 2)), "color": "0.35"}),
    ]
    for label, kw in entries:
        ax.add_line(Line2D([col2, col2 + 9 * k], [y + 1.8 * k, y + 1.8 * k], **kw))
        ax.text(col2 + 11 * k, y + 1.8 * k, label, fontsize=size, va="center")
        y += line_h
    ax.plot(col2 + 4.5 * k, y + 1.8 * k, marker="s", ms=6 * k, mfc="black", mec="white")
    ax.text(col2 + 11 * k, y + 1.8 * k, _("Corral"), fontsize=size, va="center")
    y += line_h
    ax.plot(col2 + 4.5 * k, y + 1.8 * k, marker="o", ms=7 * k, mfc="white", mec="black", mew=1.2)
    ax.plot(col2 + 4.5 * k, y + 1.8 * k, marker="o", ms=2.2 * k, mfc="black", mec="black")
    ax.text(col2 + 11 * k, y + 1.8 * k, _("Water point"), fontsize=size, va="center")
    y += line_h
    if show_risk:
        ax.add_line(
            Line2D([col2, col2 + 9 * k], [y + 1.8 * k, y + 1.8 * k], lw=0.9 * k, color="black")
        )
        ax.plot(col2 + 9 * k, y + 1.8 * k, marker="o", ms=2.2 * k, color="black")
        ax.text(
            col2 + 11 * k, y + 1.8 * k, _("Leader line to the plot"), fontsize=size, va="center"
        )
        y += line_h


def legend_height(page: _Page, *, show_risk: bool = True) -> float:
    """Height (mm) of :func:`_legend`."""
    return (6.0 + 8.5 + 5 * 5.0 + 1.0) * page.k if show_risk else (6 + 20 + 1) * page.k


def _sheet_bounds(
    ctx: _Context, layers: dict[str, gpd.GeoDataFrame], *, series: bool = False
) -> tuple[np.ndarray, bool]:
    """What the map of a sheet must show, and whether that is a detail of the community.

    The map shows the whole community unless its plots, corrals and water points lie
    in a part of it whose longer side is under :data:`ZOOM_RATIO` of the community's:
    then the map shows that part (plus :data:`FOCUS_PAD_M`) at a larger scale, and a
    locator inset shows the whole community. A sheet of a map series (`series`) shows
    its own plots (plus :data:`SERIES_PAD_M`), always with the locator inset.
    """
    if series:
        pad = np.array([-SERIES_PAD_M, -SERIES_PAD_M, SERIES_PAD_M, SERIES_PAD_M])
        return layers["plots"].total_bounds + pad, True
    features = [*layers["plots"].geometry, *layers["corrals"].geometry]
    features += list(layers["water"].geometry)
    whole = [*layers["community"].geometry, *features]
    if not whole:
        return ctx.run.communities.total_bounds, False
    full = gpd.GeoSeries(whole).total_bounds
    if layers["plots"].empty or layers["community"].empty:
        return full, False
    focus = gpd.GeoSeries(features).total_bounds + np.array(
        [-FOCUS_PAD_M, -FOCUS_PAD_M, FOCUS_PAD_M, FOCUS_PAD_M]
    )
    side = max(full[2] - full[0], full[3] - full[1])
    focus_side = max(focus[2] - focus[0], focus[3] - focus[1])
    if focus_side < ZOOM_RATIO * side:
        return focus, True
    return full, False
