"""The rotation calendar of a sheet.

A row per plot, a column per month of the plan: the days grazed, the groups that
graze (with their heads) and a bar of the grazed days.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from pastures import schema as S
from pastures.printmap.layout import _Page, _Panel, _text_width_mm, _wrap
from pastures.printmap.words import gettext_of, month_name, ngettext_of

if TYPE_CHECKING:
    from pastures.printmap.context import _Context

logger = logging.getLogger(__name__)


#: Most months shown in a rotation calendar (13: a year that starts mid-month).
MAX_CALENDAR_MONTHS: Final = 13


@dataclass(frozen=True)
class CalendarCell:
    """One plot in one month of the rotation plan."""

    days: int
    groups: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]  # grazed day runs, (first, last) day of month
    heads: int = 0  # animals of all the groups that graze in the month (0: not known)


def herd_group(herd_id: str, corral_ids: list[str]) -> str:
    """The corral a rotation herd belongs to (``"PAS-C1-G2"`` -> ``"PAS-C1"``).

    The rotation planner names grouped herds ``<corral>-G<n>``; a herd that matches
    no corral is its own group.
    """
    best = ""
    for cid in corral_ids:
        if (herd_id == cid or herd_id.startswith(f"{cid}-")) and len(cid) > len(best):
            best = cid
    return best or herd_id


def short_labels(names: list[str]) -> dict[str, str]:
    """Drop the prefix (up to a dash) that all `names` share: PAS-C1, PAS-C2 -> C1, C2."""
    unique = sorted(set(names))
    if len(unique) == 0:
        return {}
    heads = {n.split("-", 1)[0] for n in unique}
    if len(heads) == 1 and all("-" in n for n in unique):
        return {n: n.split("-", 1)[1] for n in unique}
    return {n: n for n in unique}


def calendar_months(schedule: pd.DataFrame | None) -> list[pd.Period]:
    """The months the rotation plan spans, at most :data:`MAX_CALENDAR_MONTHS`."""
    if schedule is None or schedule.empty:
        return []
    start = pd.to_datetime(schedule[S.START]).min().to_period("M")
    end = pd.to_datetime(schedule[S.END]).max().to_period("M")
    months = list(pd.period_range(start, end, freq="M"))
    return months[:MAX_CALENDAR_MONTHS]


def plot_calendar(
    schedule: pd.DataFrame,
    plot_codes: list[str],
    months: list[pd.Period],
    groups: dict[str, str],
    *,
    heads: dict[str, int] | None = None,
) -> dict[str, list[CalendarCell]]:
    """Per plot, per month: days grazed, the herd groups that graze, the grazed day runs.

    Parameters
    ----------
    schedule
        Rotation schedule (:data:`pastures.schema` columns herd_id, location_id, start, end).
    plot_codes, months
        Rows and columns of the calendar.
    groups
        Label of the group of each herd id (e.g. the corral's short code).
    heads
        Heads of animals of each herd or group id, summed per cell over the groups that
        graze in the month (:attr:`CalendarCell.heads`); unknown ids count 0.
    """
    rows = schedule[schedule[S.LOCATION_ID].isin(plot_codes)]
    code_of = {code: i for i, code in enumerate(plot_codes)}
    month_of = {int(m.ordinal): j for j, m in enumerate(months)} if months else {}
    start = pd.to_datetime(rows[S.START]).to_numpy(dtype="datetime64[ns]")
    end = pd.to_datetime(rows[S.END]).to_numpy(dtype="datetime64[ns]")
    # every day of every stay, like pd.date_range(start, end): start + k days <= end
    n_days = np.maximum((end - start) // np.timedelta64(1, "D") + 1, 0).astype(np.int64)
    stay = np.repeat(np.arange(len(rows)), n_days)
    offset = np.arange(stay.size) - np.repeat(np.cumsum(n_days) - n_days, n_days)
    day = start.astype("datetime64[D]")[stay] + offset.astype("timedelta64[D]")
    month = day.astype("datetime64[M]")
    dom = (day - month.astype("datetime64[D]")).astype(np.int64) + 1
    # months as pandas Period ordinals (months since 1970-01)
    col = np.array([month_of.get(int(m), -1) for m in month.astype(np.int64)], dtype=np.int64)
    row = np.array([code_of[c] for c in rows[S.LOCATION_ID]], dtype=np.int64)[stay]
    herds = rows[_who_column(rows)].astype(str).to_numpy()
    label = np.array([groups.get(h, h) for h in herds], dtype=object)[stay]
    who = herds[stay]
    keep = col >= 0
    cell = row[keep] * max(len(months), 1) + col[keep]
    days_of: dict[int, list[int]] = {}
    for c, d in np.unique(np.column_stack([cell, dom[keep]]), axis=0).tolist():
        days_of.setdefault(c, []).append(d)
    names_of: dict[int, set[str]] = {}
    ids_of: dict[int, set[str]] = {}
    for c, name, herd in zip(cell.tolist(), label[keep].tolist(), who[keep].tolist(), strict=True):
        names_of.setdefault(c, set()).add(name)
        ids_of.setdefault(c, set()).add(herd)
    out: dict[str, list[CalendarCell]] = {}
    for i, code in enumerate(plot_codes):
        cells = []
        for j in range(len(months)):
            grazed = days_of.get(i * len(months) + j, [])
            spans: list[tuple[int, int]] = []
            for d in grazed:
                if spans and spans[-1][1] == d - 1:
                    spans[-1] = (spans[-1][0], d)
                else:
                    spans.append((d, d))
            names = sorted(names_of.get(i * len(months) + j, ())) if grazed else []
            ids = ids_of.get(i * len(months) + j, set()) if grazed else set()
            n_heads = sum((heads or {}).get(h, 0) for h in ids)
            cells.append(CalendarCell(len(grazed), tuple(names), tuple(spans), n_heads))
        out[code] = cells
    return out


#: Least height of a plot's row in the calendar (code and hectares), mm at A4; a row
#: grows with the lines of corral codes its months need (days, codes, day bar).
CALENDAR_ROW_MIN_MM: Final = 9.0


#: Narrowest month column the layouts give, mm at A4 (landscape: 153 mm / 13 months).
CALENDAR_MIN_COL_MM: Final = 11.7


def _calendar_cells(ctx: _Context, plots: gpd.GeoDataFrame) -> dict[str, list[CalendarCell]]:
    """The calendar of `plots`, with herds shown by the short code of their corral."""
    if ctx.schedule is None or not ctx.months:
        return {}
    codes = list(plots[S.PLOT_CODE].astype(str))
    # worked out once for all the plots of the community: the sheets of a map series,
    # and the layouts tried for each, then take their rows
    community = str(plots[S.COMMUNITY].iloc[0]) if S.COMMUNITY in plots.columns else ""
    key = ("calendar", community)
    if key not in ctx.memo:
        plots_of = ctx.run.plots
        if S.COMMUNITY in plots_of.columns and community:
            plots_of = plots_of[plots_of[S.COMMUNITY].astype(str) == community]
        ctx.memo[key] = _calendar_of(ctx, list(plots_of[S.PLOT_CODE].astype(str)))
    every = ctx.memo[key]
    if not all(code in every for code in codes):  # plots of several communities
        return _calendar_of(ctx, codes)
    return {code: every[code] for code in codes}


def _who_column(schedule: pd.DataFrame) -> str:
    """The schedule's column naming who grazes: grazing groups (issue 18), or older herds."""
    return S.GROUP_ID if S.GROUP_ID in schedule.columns else S.HERD_ID


def _group_heads(schedule: pd.DataFrame) -> dict[str, int]:
    """Heads of each grazing group (alpacas, llamas and sheep: whole animals)."""
    rows = schedule.drop_duplicates(S.GROUP_ID)
    heads = rows[[c for c in ("alpacas", "llamas", "sheep") if c in rows.columns]].sum(axis=1)
    return {str(g): int(n) for g, n in zip(rows[S.GROUP_ID], heads, strict=True)}


def _group_labels(schedule: pd.DataFrame) -> dict[str, str]:
    """Grazing groups by their short id and heads (``C1-ALP-1 141``)."""
    heads = _group_heads(schedule)
    short = short_labels(list(heads))
    return {g: f"{short[g]} {n}" for g, n in heads.items()}


def _calendar_of(ctx: _Context, codes: list[str]) -> dict[str, list[CalendarCell]]:
    assert ctx.schedule is not None
    if S.GROUP_ID in ctx.schedule.columns:  # whole groups: their ids and heads
        mine = ctx.schedule[ctx.schedule[S.LOCATION_ID].isin(codes)]
        return plot_calendar(
            ctx.schedule, codes, ctx.months, _group_labels(mine), heads=_group_heads(mine)
        )
    corral_ids = list(ctx.run.corrals[S.CORRAL_ID].astype(str)) if not ctx.run.corrals.empty else []
    community_herds = ctx.schedule[ctx.schedule[S.LOCATION_ID].isin(codes)][S.HERD_ID].astype(str)
    group_of = {h: herd_group(h, corral_ids) for h in community_herds.unique()}
    short = short_labels(list(group_of.values()))
    labels = {h: short[g] for h, g in group_of.items()}
    return plot_calendar(ctx.schedule, codes, ctx.months, labels)


def _heads_text(cell: CalendarCell) -> str:
    """``"436"``: the heads of a cell, printed when its groups do not fit it by name.

    A bare number (the calendar's note says what it is): ``436 cab.`` is wider than the
    narrowest month column, and a line more per row took a third more sheets.
    """
    return str(cell.heads) if cell.heads else ""


def _calendar_rows(page: _Page, cells: dict[str, list[CalendarCell]]) -> list[float]:
    """Height (mm) of each plot's row: room for the lines of group names it needs."""
    size = page.pt(8)
    width = (CALENDAR_MIN_COL_MM - 1.0) * page.k
    heights = []
    for row in cells.values():
        lines = max(
            (
                len(_fit_groups(c.groups, width, size, heads=_heads_text(c)).split("\n"))
                for c in row
                if c.days
            ),
            default=0,
        )
        heights.append(max(CALENDAR_ROW_MIN_MM, 7.4 + 3.0 * lines) * page.k)
    return heights


def _calendar_height(page: _Page, ctx: _Context, plots: gpd.GeoDataFrame) -> float:
    if not ctx.months:  # the heading and the wrapped "no plan" note
        return 17 * page.k
    return (15.0 + 13.0) * page.k + sum(_row_heights(page, ctx, plots))


def _row_heights(page: _Page, ctx: _Context, plots: gpd.GeoDataFrame) -> list[float]:
    """:func:`_calendar_rows` of `plots`, from those of their community worked out once.

    A map series tries many groups of a community's plots, in both orientations.
    """
    codes = list(plots[S.PLOT_CODE].astype(str))
    community = str(plots[S.COMMUNITY].iloc[0]) if S.COMMUNITY in plots.columns else ""
    key = ("calendar rows", community, page.k)
    if key not in ctx.memo:
        _calendar_cells(ctx, plots)  # the community's calendar, once (see there)
        every = ctx.memo.get(("calendar", community), {})
        ctx.memo[key] = dict(zip(every, _calendar_rows(page, every), strict=True))
    known = ctx.memo[key]
    if all(code in known for code in codes):
        return [known[code] for code in codes]
    return _calendar_rows(page, _calendar_cells(ctx, plots))


def _calendar(ax: _Panel, page: _Page, ctx: _Context, plots: gpd.GeoDataFrame) -> None:
    """The rotation calendar: a row per plot, a column per month of the plan.

    Cell shades, day bars, rest dashes and rules are drawn as one path each (four
    artists for the whole table, not one per cell); the words and numbers stay text.
    """
    k = page.k
    _ = gettext_of(ctx.lang)
    width = ax.get_xlim()[1]
    title = _("Rotation calendar: days of grazing per month")
    ax.text(0, 0, title, fontsize=page.pt(10), weight="bold", va="top")
    if not ctx.months or ctx.schedule is None:
        no_plan = _(
            "This run has no rotation plan: the project has no herd register or corrals, "
            "or no plan was made (pastures rotate)."
        )
        lines = _wrap(no_plan, width, page.pt(9))
        ax.text(0, 6 * k, "\n".join(lines), fontsize=page.pt(9), va="top", linespacing=1.2)
        return
    codes = list(plots[S.PLOT_CODE].astype(str))
    areas = dict(zip(codes, plots[S.AREA_HA], strict=True))
    cells = _calendar_cells(ctx, plots)
    heights = _calendar_rows(page, cells)
    fit_w = min((CALENDAR_MIN_COL_MM - 1.0) * k, (width - 24 * k) / len(ctx.months) - 1.0 * k)
    label_w = 24 * k
    col_w = (width - label_w) / len(ctx.months)
    top = 6 * k
    head_h = 9 * k
    size = page.pt(8)
    _month_heads(ax, page, ctx.months, ctx.lang, x0=label_w, col_w=col_w, y=top + head_h / 2)
    tops = top + head_h + np.concatenate([[0.0], np.cumsum(heights)])
    shades: list[tuple[float, float, float, float]] = []
    bars: list[tuple[float, float, float, float]] = []
    dashes: list[tuple[float, float]] = []
    for i, code in enumerate(codes):
        y, row_h = tops[i], heights[i]
        ax.text(1 * k, y + row_h / 2 - 0.2 * k, code, fontsize=page.pt(9), weight="bold",
                va="bottom")  # fmt: skip
        ax.text(1 * k, y + row_h / 2 + 0.5 * k, f"{areas[code]:.1f} ha", fontsize=size,
                va="top")  # fmt: skip
        for j, (month, cell) in enumerate(zip(ctx.months, cells[code], strict=True)):
            x = label_w + j * col_w
            if cell.days == 0:
                dashes.append((x + col_w / 2, y + row_h / 2))
                continue
            shades.append((x, y, col_w, row_h))
            # as wide as the row heights were worked out for (the narrowest column), so a
            # cell never needs more lines than its row has room for
            groups = _fit_groups(cell.groups, fit_w, size, heads=_heads_text(cell))
            ax.text(
                x + col_w / 2, y + 1.0 * k, _("{days} d").format(days=cell.days),
                fontsize=page.pt(9), weight="bold", ha="center", va="top",
            )  # fmt: skip
            ax.text(x + col_w / 2, y + 4.8 * k, groups, fontsize=size, ha="center", va="top",
                    linespacing=1.05)  # fmt: skip
            n_days = month.days_in_month
            bars += [
                (x + (first - 1) / n_days * col_w, y + row_h - 2.2 * k,
                 (last - first + 1) / n_days * col_w, 1.6 * k)
                for first, last in cell.spans
            ]  # fmt: skip
    bottom = tops[-1]
    _boxes(ax, shades, facecolor="0.92", zorder=0)
    _boxes(ax, bars, facecolor="black", zorder=2)
    dash = 1.6 * k  # half the width of a rest dash ("—" at 9 pt)
    _segments(ax, [((x - dash, y), (x + dash, y)) for x, y in dashes], color="0.25", lw=0.8)
    rules = [((0.0, float(y)), (width, float(y))) for y in tops[1:]]
    rules += [((label_w + j * col_w, top), (label_w + j * col_w, bottom))
              for j in range(len(ctx.months) + 1)]  # fmt: skip
    rules.append(((0.0, top), (width, top)))
    _segments(ax, rules, color="black", lw=0.5)
    _segments(ax, [((0.0, float(tops[0])), (width, float(tops[0])))], color="black", lw=0.9)
    note = _calendar_note(ctx, cells, plots)
    ax.text(0, bottom + 1.5 * k, "\n".join(_wrap(note, width, size)), fontsize=size, va="top")


def _month_heads(
    ax: Any, page: _Page, months: list[pd.Period], lang: str, *, x0: float, col_w: float, y: float
) -> None:
    """The month of each column (``ene``), and the year where it starts or changes."""
    k, size = page.k, page.pt(8)
    for j, month in enumerate(months):
        x = x0 + j * col_w + col_w / 2
        ax.text(x, y - 0.3 * k, month_name(month, lang), fontsize=size, ha="center",
                va="bottom", weight="bold")  # fmt: skip
        if j == 0 or month.month == 1:
            ax.text(x, y + 0.3 * k, str(month.year), fontsize=size, ha="center", va="top",
                    weight="bold")  # fmt: skip


def _boxes(ax: Any, rects: list[tuple[float, float, float, float]], **kw: Any) -> None:
    """Rectangles (x, y, w, h) as one filled path."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    if not rects:
        return
    verts = [[(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)] for x, y, w, h in rects]
    codes = [MplPath.MOVETO] + [MplPath.LINETO] * 3 + [MplPath.CLOSEPOLY]
    path = MplPath(np.concatenate(verts), codes * len(rects))
    ax.add_patch(PathPatch(path, lw=0, **kw))


def _segments(
    ax: Any, segments: list[tuple[tuple[float, float], tuple[float, float]]], **kw: Any
) -> None:
    """Straight segments as one stroked path."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    if not segments:
        return
    color = kw.pop("color", "black")
    path = MplPath(
        np.asarray(segments, dtype=float).reshape(-1, 2),
        [MplPath.MOVETO, MplPath.LINETO] * len(segments),
    )
    ax.add_patch(PathPatch(path, fill=False, edgecolor=color, capstyle="butt", **kw))


def _calendar_note(
    ctx: _Context, cells: dict[str, list[CalendarCell]], plots: gpd.GeoDataFrame
) -> str:
    """How to read the calendar, and why it is empty or cut when it is."""
    assert ctx.schedule is not None
    _ = gettext_of(ctx.lang)
    ngettext = ngettext_of(ctx.lang)
    note = _(
        "Number: days grazed in the month; C1-ALP-1 120: a group of corral C1 and its "
        "heads; 436 (3): 436 heads in three groups whose names do not fit; black bar: "
        "days with animals; —: rests."
    )
    if not any(cell.days for row in cells.values() for cell in row):
        community = str(plots[S.COMMUNITY].iloc[0]) if S.COMMUNITY in plots.columns else ""
        in_plan = (
            S.COMMUNITY in ctx.schedule.columns
            and (ctx.schedule[S.COMMUNITY].astype(str) == community).any()
        )
        why = (
            _(
                "The plan puts no animals on these plots: they rest the whole period "
                "(the herds graze the open communal range)."
            )
            if in_plan
            else _("The rotation plan does not cover this community.")
        )
        note = f"{why} {note}"
    if "plan months" not in ctx.memo:  # the whole plan's: once, not per sheet
        ctx.memo["plan months"] = len(calendar_months_uncapped(ctx.schedule))
    schedule_months = ctx.memo["plan months"]
    if schedule_months > len(ctx.months):
        note += " " + ngettext(
            "The first month of the plan is shown.",
            "The first {n} months of the plan are shown.",
            len(ctx.months),
        ).format(n=len(ctx.months))
    return note


def calendar_months_uncapped(schedule: pd.DataFrame) -> list[pd.Period]:
    """Every month the rotation plan spans."""
    start = pd.to_datetime(schedule[S.START]).min().to_period("M")
    end = pd.to_datetime(schedule[S.END]).max().to_period("M")
    return list(pd.period_range(start, end, freq="M"))


@functools.lru_cache(maxsize=65_536)
def _fit_groups(
    groups: tuple[str, ...], width_mm: float, size: float, *, max_lines: int = 2, heads: str = ""
) -> str:
    """Groups on at most `max_lines` lines, none wider than the cell, '+n' for the rest.

    A label goes whole on a line when it fits there; one wider than the cell breaks
    after a hyphen or at its space (``C1-LLA-`` / ``1 86``); a piece wider still ends
    in an ellipsis. Labels that do not fit whole are counted in ``+n``, which is
    itself kept within the cell (a label more is left out to make room). When not one
    label fits beside ``+n``, the cell gives, on one line, the heads of all its groups
    and their number when `heads` is given (``436 (3)``; ``95`` for one group), else the
    number of groups (``3 gr.``).
    """

    def fits(text: str) -> bool:
        return _text_width_mm(text, size) <= width_mm

    def clip(piece: str) -> str:
        while len(piece) > 1 and not fits(piece + "…"):
            piece = piece[:-1]
        return piece + "…"

    def place(lines: list[str], label: str) -> list[str] | None:
        """`lines` with `label` added, or None when it needs more than `max_lines`."""
        out = list(lines)
        if out and fits(f"{out[-1]} {label}"):
            out[-1] = f"{out[-1]} {label}"
            return out
        if fits(label):
            out.append(label)
            return out if len(out) <= max_lines else None
        current = ""
        for piece in re.split(r"(?<=-)|(?<= )", label):
            if not piece:
                continue
            if current and not fits(current + piece):
                out.append(current.strip())
                current = ""
            current += piece if fits(current + piece) else clip(piece)
        out.append(current.strip())
        return out if len(out) <= max_lines else None

    def with_rest(lines: list[str], n: int) -> list[str] | None:
        if n == 0:
            return lines
        more = f"+{n}"
        if lines and fits(f"{lines[-1]} {more}"):
            return [*lines[:-1], f"{lines[-1]} {more}"]
        if len(lines) < max_lines:
            return [*lines, more]
        return None

    shown: list[list[str]] = [[]]  # the lines after each label placed
    for label in groups:
        nxt = place(shown[-1], label)
        if nxt is None:
            break
        shown.append(nxt)
    for n_shown in range(len(shown) - 1, 0, -1):
        lines = with_rest(shown[n_shown], len(groups) - n_shown)
        if lines is not None:
            return "\n".join(lines)
    if not groups:
        return ""
    # not one label fits with the count of the rest: their heads in all (and how many
    # groups), on one line, so the row keeps its height (the route sheets name them)
    if heads:  # how many animals go in, and in how many groups when that fits too
        both = f"{heads} ({len(groups)})"
        if len(groups) > 1 and fits(both):
            return both
        return heads if fits(heads) else clip(heads)
    line = f"{len(groups)} gr."
    return line if fits(line) else clip(line)
