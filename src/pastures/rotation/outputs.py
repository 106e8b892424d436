"""Tables, route sheets, iCalendar and Gantt chart of a plan of whole groups, and their files.

The table builders take a :class:`~pastures.rotation.dispatch.GroupPlan` and return
DataFrames or text; :func:`write_plan_outputs` writes them, each file atomically and
every text table through :func:`pastures.io.write_table` (formula injection guarded).
CSV files keep the machine column names of :mod:`pastures.schema` (other tools read
them); the workbook, the calendar file and the chart speak the project's language.
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from pastures import schema as S
from pastures.forage import method_words
from pastures.i18n import N_, NP_, SOURCE_LANGUAGE, _, format_date, gettext_for, translator
from pastures.io import atomic_output, neutralise_formulas, neutralise_text, write_table
from pastures.rotation.deficit import FeedOptions, deficit_table
from pastures.rotation.dispatch import GroupPlan
from pastures.rotation.explain import group_plot_status
from pastures.rotation.groups import HEAD_COLUMNS, groups_table
from pastures.rotation.model import (
    DEFAULT_CLOSED_MONTHS,
    OPEN_RANGE_PREFIX,
    closed_mask,
    range_allowance,
)

logger = logging.getLogger(__name__)

#: Text of a closed location in the per-location calendar.
CLOSED = N_("closed")
#: File names written by :func:`write_plan_outputs`.
OUTPUT_FILES: Final = {
    "schedule_csv": "rotation_schedule.csv",
    "groups_csv": "rotation_groups.csv",
    "deficit_csv": "rotation_deficit.csv",
    "routes_csv": "rotation_routes.csv",
    "plan_csv": "rotation_plan.csv",
    "calendar_csv": "rotation_calendar.csv",
    "range_csv": "rotation_range.csv",
    "plots_csv": "rotation_plots.csv",
    "summary_csv": "rotation_summary.csv",
    "xlsx": "rotation_plan.xlsx",
    "ics": "rotation_moves.ics",
    "gantt": "rotation_gantt.png",
}
#: Columns of ``rotation_schedule.csv``: one row per stay of a whole group in one place.
GROUP_SCHEDULE_COLUMNS: Final = (
    S.GROUP_ID, S.COMMUNITY, S.LOCATION_ID, S.LOCATION_KIND, S.START, S.END, S.DAYS,
    *HEAD_COLUMNS, S.UO, S.FORAGE_USED_KG,
)  # fmt: skip
#: Headings of the workbook's columns in a project's language (the CSV keep the names).
LABELS: Final = {
    S.GROUP_ID: N_("Group"),
    S.COMMUNITY: N_("Community"),
    S.CORRAL_ID: N_("Corral"),
    S.FAMILY_ID: N_("Family"),
    S.LOCATION_ID: N_("Place"),
    S.LOCATION_KIND: N_("Kind of place"),
    S.START: N_("From"),
    S.END: N_("To"),
    S.DAYS: N_("Days"),
    "alpacas": N_("Alpacas"),
    "llamas": N_("Llamas"),
    "sheep": N_("Sheep"),
    S.UO: N_("UO"),
    S.FORAGE_USED_KG: N_("Forage eaten (kg DM)"),
    "week": N_("Week"),
    "strategy": N_("Strategy"),
    "why": N_("Why"),
    "standing_kg": N_("Standing forage (kg DM)"),
    "growth_kg": N_("Growth (kg DM)"),
    "intake_kg": N_("Intake (kg DM)"),
    "allowance_to_date_kg": N_("Proper use to date (kg DM)"),
    S.OVERUSE_KG: N_("Overuse (kg DM)"),
    S.FODDER_KG: N_("Fodder to bring or destocking (kg DM)"),
    "range_standing_start_kg": N_("Standing forage at the start (kg DM)"),
    "range_standing_source": N_("Source"),
    "runs_out": N_("Forage runs out"),
    "peak_week": N_("Week of the largest deficit"),
    "peak_fodder_kg": N_("Deficit of that week (kg DM)"),
    "sell_alpacas": N_("Alpacas to sell or move"),
    "sell_llamas": N_("Llamas to sell or move"),
    "sell_sheep": N_("Sheep to sell or move"),
    "by_date": N_("By"),
    "bales": N_("Bales"),
    "bale_kg": N_("kg per bale"),
    "bale_dm_share": N_("Dry matter of the bale"),
    "oats_ha": N_("Oats (ha)"),
    "oats_sow_by": N_("Sow by"),
    "oats_kg_dm_ha": N_("Oat yield (kg DM/ha)"),
    "oats_note": N_("Oats: note"),
    "figure": N_("Figure"),
    "value": N_("Value"),
    S.PASTURE_TYPE: N_("Pasture type"),
    S.AREA_HA: N_("Area (ha)"),
    "source": N_("Source of the forage"),
    "usable_kg": N_("Usable forage (kg DM)"),
    "eaten_kg": N_("Forage eaten (kg DM)"),
    "grazed_periods": N_("Weeks grazed"),
    "first_grazed": N_("First day grazed"),
    "last_grazed": N_("Last day grazed"),
    "groups": N_("Groups"),
    "status": N_("Status"),
    "reason": N_("Reason"),
    "closures": N_("Closures"),
}
#: Kinds of place (``location_kind``), in words.
_KIND_LABELS: Final = {"plot": N_("plot"), "open_range": N_("open range")}
#: Strategies of a place (``strategy`` of :func:`plan_table`), in words.
STRATEGY_LABELS: Final = {
    "reserve": N_("dry reserve"),
    "open": N_("open"),
    "recovery": N_("recovery"),
    "parturition": N_("parturition"),
    "open range": N_("open range"),
}
#: Why each strategy; ``{months}`` the months closed.
STRATEGY_WHY: Final = {
    "reserve": N_(
        "reserve for the dry season: closed in the growing season ({months}) so that it "
        "recovers and seeds; grazed as standing hay in the dry season"
    ),
    "open": N_("grazed in the growing season too, as the project asks"),
    "recovery": N_("recovery: no grazing in this plan, as the project asks"),
    "parturition": N_("kept for the mothers at parturition: open in the growing season"),
    "open range": N_("grazed all year"),
}
#: Values of ``status``, ``reason`` and ``closures`` of ``rotation_plots.csv`` (codes in
#: the CSV), in words for the workbook.
_PLOT_VALUES: Final = {
    "grazed": N_("grazed"),
    "unused": N_("unused"),
    "closed": N_("closed the whole plan"),
    "no herds": N_("no herd of the community (or with leave) in the register"),
    "too far": N_("no corral within walking distance"),
    "no forage": N_("no usable forage"),
    "not needed": N_("the open range was enough while the plot was open"),
    "not worth a stay": N_("the forage it would give is worth less than a stay (walk, entry)"),
    "growing season": N_("growing season"),
    "dry reserve": N_("dry reserve"),
    "recovery": N_("recovery"),
}
#: Words among the values of ``rotation_summary.csv`` (the solver's status, yes/no).
_SUMMARY_WORDS: Final = (N_("optimal"), N_("feasible"), N_("infeasible"), N_("True"), N_("False"))
#: Names of the figures of ``rotation_summary.csv`` in the workbook.
_FIGURES: Final = {
    "status": N_("solver status"),
    "objective_groups": N_("objective of the plan of whole groups"),
    "objective_uo_plan": N_("objective of the solver's plan in UO"),
    "bound": N_("lower bound"),
    "relative_gap": N_("relative gap"),
    "time_limit_hit": N_("time limit reached"),
    "blocks": N_("blocks"),
    "variables": N_("variables"),
    "binaries": N_("binary variables"),
    "groups": N_("groups"),
    "groups_per_community": N_("groups per community"),
    "heads": N_("heads"),
    "moves": N_("moves"),
    "locations": N_("places"),
    "periods": N_("periods"),
    "period_days": N_("days per period"),
    "start": N_("start"),
    "intake_kg_dm_per_uo_day": N_("intake (kg DM per UO and day)"),
    "animal_units": N_("animal units"),
    "demand_kg": N_("demand (kg DM)"),
    "plots_kg": N_("eaten on plots (kg DM)"),
    "range_kg": N_("eaten on the open range (kg DM)"),
    "range_overuse_kg": N_("overuse of the open range (kg DM)"),
    "fodder_kg": N_("fodder to bring or destocking (kg DM)"),
    "plot_forage_eaten_jun_nov_share": N_("share of the plots' forage eaten June to November"),
    "range_supply_sources": N_("sources of the open range's forage"),
}


def place_name(location_id: str, *, language: str = "en") -> str:
    """How people call a place: a plot by its code, the open range as such.

    ``RANGE Comunidad 10`` is ``open range of Comunidad 10`` in English and
    ``pradera abierta de Comunidad 10`` in Spanish; other ids are returned as they are.
    """
    prefix = f"{OPEN_RANGE_PREFIX} "
    if not location_id.startswith(prefix):
        return location_id
    community = location_id[len(prefix) :]
    tr = gettext_for(language)
    return tr("open range of {community}").format(community=community)


def _closures(text: str, language: str) -> str:
    tr = gettext_for(language)
    return "; ".join(tr(_PLOT_VALUES.get(part, part)) for part in text.split("; ")) if text else ""


#: Short names of the species (``heads_text``), told apart from other words by context.
_SPECIES_CONTEXT: Final = "species, short"
_SPECIES_SHORT: Final = (
    NP_("species, short", "alp"),
    NP_("species, short", "lla"),
    NP_("species, short", "sh"),
)


def _species_short(language: str) -> tuple[str, ...]:
    tr = translator(language)
    return tuple(tr.pgettext(_SPECIES_CONTEXT, name) for name in _SPECIES_SHORT)


def heads_text(heads: tuple[int, ...] | list[int], *, language: str = "en") -> str:
    """``"120 alp, 30 sh"``: whole heads by species, zeros left out."""
    names = _species_short(language)
    return ", ".join(f"{int(n)} {names[s]}" for s, n in enumerate(heads) if int(n))


def _stays(gp: GroupPlan) -> list[tuple[int, int, int, int]]:
    """(group, location, first period, last period) of every run of a group in one place."""
    out = []
    for k in range(len(gp.groups)):
        row = gp.place[k]
        t0 = 0
        for t in range(1, len(row) + 1):
            if t == len(row) or row[t] != row[t0]:
                out.append((k, int(row[t0]), t0, t - 1))
                t0 = t
    return out


def schedule_table(gp: GroupPlan) -> pd.DataFrame:
    """One row per stay: a whole group in one place over consecutive periods.

    Columns :data:`GROUP_SCHEDULE_COLUMNS`. ``forage_used_kg``: the forage the group eats
    there in the stay, kg DM (on the open range, its share of what stood; the rest of
    its demand is the community's fodder need in ``rotation_deficit.csv``).
    """
    inp = gp.inputs
    c = inp.kg_per_uo_period
    rows = []
    for k, i, t0, t1 in _stays(gp):
        g, loc = gp.groups[k], inp.locations[i]
        if loc.kind == "plot":
            used = g.uo * c * (t1 - t0 + 1)
        else:
            used = 0.0
            for t in range(t0, t1 + 1):
                demand = gp.eaten_kg[i, t] + gp.fodder_kg[i, t]
                used += g.uo * c * (gp.eaten_kg[i, t] / demand if demand > 0 else 0.0)
        rows.append(
            {
                S.GROUP_ID: g.group_id,
                S.COMMUNITY: g.community,
                S.LOCATION_ID: loc.location_id,
                S.LOCATION_KIND: loc.kind,
                S.START: inp.period_start(t0).isoformat(),
                S.END: inp.period_end(t1).isoformat(),
                S.DAYS: (t1 - t0 + 1) * inp.period_days,
                **dict(zip(HEAD_COLUMNS, g.heads, strict=True)),
                S.UO: g.uo,
                S.FORAGE_USED_KG: round(used, 1),
            }
        )
    table = pd.DataFrame(rows, columns=list(GROUP_SCHEDULE_COLUMNS))
    return table.sort_values([S.COMMUNITY, S.GROUP_ID, S.START], kind="stable").reset_index(
        drop=True
    )


def routes_table(gp: GroupPlan) -> pd.DataFrame:
    """Route sheets: for every group, week by week, where it is and with how many heads."""
    inp = gp.inputs
    rows = []
    for k, g in sorted(enumerate(gp.groups), key=lambda kg: (kg[1].community, kg[1].group_id)):
        for t in range(inp.n_periods):
            loc = inp.locations[int(gp.place[k, t])]
            rows.append(
                {
                    S.GROUP_ID: g.group_id,
                    S.COMMUNITY: g.community,
                    "week": t + 1,
                    S.START: inp.period_start(t).isoformat(),
                    S.END: inp.period_end(t).isoformat(),
                    S.LOCATION_ID: loc.location_id,
                    S.LOCATION_KIND: loc.kind,
                    **dict(zip(HEAD_COLUMNS, g.heads, strict=True)),
                    S.UO: g.uo,
                }
            )
    return pd.DataFrame(rows)


def calendar_table(gp: GroupPlan, *, language: str = "en") -> pd.DataFrame:
    """Per-location calendar in heads: a row per location, a column per period.

    A cell lists the groups there with their heads (``PAS-C1-ALP: 120 alp``), ``closed``
    when a closure covers the period, or is empty (rest).
    """
    inp = gp.inputs
    closed = closed_mask(inp, gp.plan.params)
    closed_word = gettext_for(language)(CLOSED)
    cells = [["" for _ in range(inp.n_periods)] for _ in inp.locations]
    order = sorted(range(len(gp.groups)), key=lambda k: gp.groups[k].group_id)
    for t in range(inp.n_periods):
        for k in order:
            i = int(gp.place[k, t])
            g = gp.groups[k]
            part = f"{g.group_id}: {heads_text(g.heads, language=language)}"
            cells[i][t] = f"{cells[i][t]}; {part}" if cells[i][t] else part
    for i, t in zip(*np.nonzero(closed), strict=True):
        if not cells[i][t]:
            cells[i][t] = closed_word
    columns = [inp.period_start(t).isoformat() for t in range(inp.n_periods)]
    table = pd.DataFrame(cells, columns=columns)
    table.insert(0, S.LOCATION_ID, [loc.location_id for loc in inp.locations])
    table.insert(1, S.COMMUNITY, [loc.community for loc in inp.locations])
    return table


def plan_table(gp: GroupPlan, *, language: str = "en") -> pd.DataFrame:
    """The plan per community: a row per place (strategy, why), a column per month.

    A month's cell names the groups that graze the place that month, with their heads
    and the weeks they are there (``PAS-C1-ALP 120 alp (4 wk)``).
    """
    inp = gp.inputs
    strategy = {code: (kind, why) for code, kind, why in inp.strategies}
    months = sorted({inp.period_start(t).strftime("%Y-%m") for t in range(inp.n_periods)})
    weeks: dict[tuple[int, str, int], int] = Counter()
    for k in range(len(gp.groups)):
        for t in range(inp.n_periods):
            weeks[int(gp.place[k, t]), inp.period_start(t).strftime("%Y-%m"), k] += 1
    tr = translator(language)
    wk = tr.pgettext("weeks, short", "wk")
    rows = []
    for i, loc in sorted(enumerate(inp.locations), key=lambda il: (il[1].community, il[0])):
        kind, why = strategy.get(loc.location_id, ("open range", "grazed all year"))
        if language != SOURCE_LANGUAGE and kind in STRATEGY_WHY:
            closed_months = DEFAULT_CLOSED_MONTHS.get(loc.pasture_type, DEFAULT_CLOSED_MONTHS["*"])
            names = ", ".join(format_date(date(2000, m, 1), language, "MMM") for m in closed_months)
            why = tr.gettext(STRATEGY_WHY[kind]).format(months=names)
            kind = tr.gettext(STRATEGY_LABELS[kind])
        row: dict[str, object] = {
            S.COMMUNITY: loc.community,
            S.LOCATION_ID: loc.location_id,
            "strategy": kind,
            "why": why,
        }
        for m in months:
            parts = [
                f"{gp.groups[k].group_id} {heads_text(gp.groups[k].heads, language=language)} "
                f"({n} {wk})"
                for (ii, mm, k), n in sorted(
                    weeks.items(), key=lambda kv: gp.groups[kv[0][2]].group_id
                )
                if ii == i and mm == m
            ]
            row[m] = (
                "; ".join(parts)
                if loc.kind == "plot"
                else tr.ngettext("{n} group", "{n} groups", len(parts)).format(n=len(parts))
            )
        rows.append(row)
    return pd.DataFrame(rows)


def range_table(gp: GroupPlan) -> pd.DataFrame:
    """The open range's stock week by week: what stands, grows, is eaten, and is missing."""
    inp = gp.inputs
    rows = []
    for r, loc in enumerate(inp.locations):
        if loc.kind != "open_range":
            continue
        allowance = range_allowance(inp, loc)
        for t in range(inp.n_periods):
            rows.append(
                {
                    S.COMMUNITY: loc.community,
                    S.START: inp.period_start(t).isoformat(),
                    "standing_kg": round(float(gp.stands_kg[r, t] - loc.growth_kg[t]), 1),
                    "growth_kg": round(float(loc.growth_kg[t]), 1),
                    "intake_kg": round(float(gp.eaten_kg[r, t]), 1),
                    "allowance_to_date_kg": round(float(allowance[t]), 1),
                    S.OVERUSE_KG: round(float(gp.overuse_kg[r, t]), 1),
                    S.FODDER_KG: round(float(gp.fodder_kg[r, t]), 1),
                }
            )
    return pd.DataFrame(rows)


def plot_share_jun_nov(gp: GroupPlan) -> float:
    """Share of the forage eaten on the fenced plots that is eaten June to November."""
    inp = gp.inputs
    plots = gp.is_plot()
    by_t = gp.eaten_kg[plots].sum(axis=0)
    dry = np.array([6 <= inp.month(t) <= 11 for t in range(inp.n_periods)])
    total = float(by_t.sum())
    return float(by_t[dry].sum()) / total if total > 0 else float("nan")


def summary_table(gp: GroupPlan) -> pd.DataFrame:
    """Key figures of the plan. Seconds are left out, so the table repeats on any machine."""
    plan = gp.plan
    inp = gp.inputs
    plots = gp.is_plot()
    c = inp.kg_per_uo_period
    demand = sum(g.uo for g in gp.groups) * c * inp.n_periods
    per_com = Counter(g.community for g in gp.groups)
    figures: dict[str, object] = {
        "status": plan.status,
        "objective_groups": round(gp.objective, 1),
        "objective_uo_plan": round(plan.objective, 1),
        "bound": round(plan.bound, 1),
        "relative_gap": round(gp.gap, 6),
        "time_limit_hit": plan.time_limit_hit,
        "blocks": len(plan.blocks),
        "variables": plan.n_variables,
        "binaries": plan.n_integer,
        "groups": len(gp.groups),
        "groups_per_community": "; ".join(f"{k}: {n}" for k, n in sorted(per_com.items())),
        "heads": "; ".join(
            f"{col}: {sum(g.heads[s] for g in gp.groups)}" for s, col in enumerate(HEAD_COLUMNS)
        ),
        "moves": sum(1 for _, _, t0, _ in _stays(gp) if t0 > 0),
        "locations": len(inp.locations),
        "periods": inp.n_periods,
        "period_days": inp.period_days,
        "start": inp.start.isoformat(),
        "intake_kg_dm_per_uo_day": round(inp.intake_kg_per_uo_day, 4),
        "animal_units": inp.intake_source,
        "demand_kg": round(demand),
        "plots_kg": round(float(gp.eaten_kg[plots].sum())),
        "range_kg": round(float(gp.eaten_kg[~plots].sum())),
        "range_overuse_kg": round(float(gp.overuse_kg.sum())),
        "fodder_kg": round(float(gp.fodder_kg.sum())),
        "plot_forage_eaten_jun_nov_share": round(plot_share_jun_nov(gp), 4),
        "range_supply_sources": "; ".join(
            f"{src}: {n}"
            for src, n in sorted(
                Counter(loc.source for loc in inp.locations if loc.kind == "open_range").items()
            )
        ),
    }
    return pd.DataFrame({"figure": list(figures), "value": [str(v) for v in figures.values()]})


# --- iCalendar (RFC 5545), written by hand ---------------------------------------------
def _ics_escape(text: str) -> str:
    """Escape an iCalendar TEXT value; names that a spreadsheet would run get an apostrophe."""
    text = str(neutralise_text(text))
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _ics_fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 section 3.1)."""
    if len(line.encode("utf-8")) <= 75:
        return line
    parts: list[str] = []
    chunk = b""
    limit = 75
    for ch in line:
        b = ch.encode("utf-8")
        if len(chunk) + len(b) > limit:
            parts.append(chunk.decode("utf-8"))
            chunk = b""
            limit = 74  # continuation lines start with a space
        chunk += b
    parts.append(chunk.decode("utf-8"))
    return "\r\n ".join(parts)


def ical_text(gp: GroupPlan, *, language: str = "en") -> str:
    """One all-day event per move of a group (not per week), on the day it moves.

    A group's first place at the start of the plan is not a move. UIDs and time stamps
    derive from the plan, so the same plan always gives the same file.
    """
    inp = gp.inputs
    tr = gettext_for(language)
    stamp = f"{inp.start:%Y%m%d}T000000Z"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//pastures//grazing rotation//ES",
        "CALSCALE:GREGORIAN",
        "X-WR-CALNAME:" + tr("Grazing moves"),
    ]
    for k, i, t0, t1 in sorted(_stays(gp), key=lambda s: (s[2], gp.groups[s[0]].group_id)):
        if t0 == 0:
            continue
        g, loc = gp.groups[k], inp.locations[i]
        day = inp.period_start(t0)
        frm = place_name(inp.locations[int(gp.place[k, t0 - 1])].location_id, language=language)
        to = place_name(loc.location_id, language=language)
        heads = heads_text(g.heads, language=language)
        days = (t1 - t0 + 1) * inp.period_days
        summary = f"{g.group_id} ({heads}) → {to}"
        desc = tr(
            "Move group {group} ({heads}) from {origin} to {destination}; it stays "
            "{days} days, to {end}."
        ).format(
            group=g.group_id,
            heads=heads,
            origin=frm,
            destination=to,
            days=days,
            end=format_date(inp.period_end(t1), language, "long"),
        )
        uid = f"{g.group_id}-{day:%Y%m%d}-{loc.location_id}".replace(" ", "_")
        lines += [
            "BEGIN:VEVENT",
            f"UID:{_ics_escape(uid)}@pastures",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{_ics_escape(summary)}",
            f"DESCRIPTION:{_ics_escape(desc)}",
            f"CATEGORIES:{_ics_escape(g.community)}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_ics_fold(line) + "\r\n" for line in lines)


#: Smallest font of the Gantt chart, points (readable at 100 %).
GANTT_MIN_FONT_PT: Final = 8.0


def gantt_figure(  # noqa: PLR0912, PLR0915
    gp: GroupPlan, *, today: date | None = None, language: str = "en"
):
    """A Gantt chart of the plots, grouped by community: bars per group stay, a legend, today.

    Rows are plots under a heading per community; each stay of a group is a bar coloured
    by the group's main species and labelled with its heads when it is wide enough;
    closures are hatched; a red line marks `today` when it falls in the plan (default: the
    day the chart is drawn, or ``SOURCE_DATE_EPOCH`` when set, as the atlas dates its
    pages; a mark on the plan's first day would read as "today" to a planner who opens
    the chart months later). All text is at least :data:`GANTT_MIN_FONT_PT` points.
    matplotlib is imported lazily.
    """
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
    except ImportError as exc:  # pragma: no cover - optional
        from pastures.errors import MissingDependencyError

        raise MissingDependencyError(
            _("the Gantt chart needs matplotlib: pip install 'pastures[maps]'")
        ) from exc
    inp = gp.inputs
    closed = closed_mask(inp, gp.plan.params)
    rows: list[tuple[str, int | None]] = []  # (label, location index or None for a heading)
    for com in sorted({loc.community for loc in inp.locations}):
        rows.append((com, None))
        rows += [
            (loc.location_id, i)
            for i, loc in enumerate(inp.locations)
            if loc.kind == "plot" and loc.community == com
        ]
    row_of = {i: k for k, (_, i) in enumerate(rows) if i is not None}
    height = max(3.0, 0.22 * len(rows) + 1.6)
    fig = Figure(figsize=(13, height), dpi=100)
    ax = fig.add_subplot()
    colours = {0: "#b5651d", 1: "#6a8caf", 2: "#7fae5a"}
    tr = gettext_for(language)
    names = (tr("alpacas"), tr("llamas"), tr("sheep"))
    d = inp.period_days
    on_plot: dict[int, list[tuple[int, int, int]]] = {}
    bar_labels: list[tuple[float, float, float, tuple[str, ...]]] = []
    for k, i, t0, t1 in _stays(gp):
        if i in row_of:
            on_plot.setdefault(i, []).append((k, t0, t1))
    for i, stays in on_plot.items():
        for k, t0, t1 in stays:
            g = gp.groups[k]
            main = int(np.argmax(g.heads))
            y = row_of[i]
            # groups sharing the plot at once are drawn as stacked, thinner bars
            n = sum(1 for kk, a, b in stays if a <= t1 and b >= t0 and kk < k)
            ax.broken_barh(
                [(t0 * d, (t1 - t0 + 1) * d)],
                (y - 0.42 + 0.2 * (n % 3), 0.8 - 0.2 * (n % 3)),
                facecolors=colours[main],
                edgecolor="white",
                linewidth=0.5,
            )
    for i, stays in on_plot.items():
        # labelled once the layout is final, as the bar's width on paper allows; groups
        # on the plot at once share one label over their bars: ids and heads, the heads
        # of each (56+38), or their total
        for cluster in _overlapping(stays):
            t0 = min(a for _, a, _ in cluster)
            t1 = max(b for _, _, b in cluster)
            ks = sorted((k for k, _, _ in cluster), key=lambda k: gp.groups[k].group_id)
            ids = " + ".join(gp.groups[k].group_id for k in ks)
            heads = "+".join(str(sum(gp.groups[k].heads)) for k in ks)
            bar_labels.append(
                (
                    (t0 + (t1 - t0 + 1) / 2) * d,
                    row_of[i],
                    (t1 - t0 + 1) * d,
                    (f"{ids} {heads}", heads, str(sum(sum(gp.groups[k].heads) for k in ks))),
                )
            )
    for i, y in row_of.items():
        shut = np.flatnonzero(closed[i] & ~np.any(gp.place == i, axis=0))
        if len(shut):
            ax.broken_barh(
                [(t * d, d) for t in shut], (y - 0.4, 0.8), facecolors="none", hatch="///",
                edgecolor="0.7", linewidth=0,
            )  # fmt: skip
    labels = [lab for lab, _ in rows]
    ax.set_yticks(range(len(rows)), labels, fontsize=GANTT_MIN_FONT_PT)
    for tick, (_label, i) in zip(ax.get_yticklabels(), rows, strict=True):
        if i is None:
            tick.set_fontweight("bold")
            tick.set_fontsize(GANTT_MIN_FONT_PT + 1)
    for y, (_label, i) in enumerate(rows):
        if i is None:
            ax.axhline(y, color="0.3", linewidth=0.6)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    horizon = inp.horizon_days
    months = pd.date_range(inp.start, inp.start + timedelta(days=horizon), freq="MS")
    ax.set_xticks(
        [(m.date() - inp.start).days for m in months],
        [f"{m:%m/%Y}" for m in months],
        fontsize=GANTT_MIN_FONT_PT,
    )
    ax.set_xlim(0, horizon)
    ax.grid(axis="x", color="0.85", linewidth=0.5)
    if today is None:
        from datetime import UTC, datetime

        from pastures.io import source_date_epoch

        today = (source_date_epoch() or datetime.now(UTC)).date()
    x_today = (today - inp.start).days
    if 0 <= x_today <= horizon:
        ax.axvline(x_today, color="red", linewidth=1.5)
        ax.text(
            x_today, -0.5, " " + tr("today"), color="red",
            fontsize=GANTT_MIN_FONT_PT, va="bottom",
        )  # fmt: skip
    handles = [Patch(facecolor=colours[s], label=names[s]) for s in range(3)]
    handles.append(
        Patch(facecolor="none", hatch="///", edgecolor="0.7",
              label=tr(CLOSED))
    )  # fmt: skip
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=GANTT_MIN_FONT_PT,
        title=tr("group (species)"),
        title_fontsize=GANTT_MIN_FONT_PT,
    )  # fmt: skip
    title = tr("Plot grazing from {start}: one whole group per bar, with its heads").format(
        start=format_date(inp.start, language, "long")
    )
    ax.set_title(title, fontsize=GANTT_MIN_FONT_PT + 2)
    fig.tight_layout()
    _label_bars(fig, ax, bar_labels, horizon)
    return fig


def _overlapping(stays: list[tuple[int, int, int]]) -> list[list[tuple[int, int, int]]]:
    """Stays ``(group, first, last period)`` of one plot in runs that overlap in time."""
    out: list[list[tuple[int, int, int]]] = []
    end = -1
    for stay in sorted(stays, key=lambda s: (s[1], s[2])):
        if out and stay[1] <= end:
            out[-1].append(stay)
            end = max(end, stay[2])
        else:
            out.append([stay])
            end = stay[2]
    return out


def _label_bars(
    fig, ax, bars: list[tuple[float, float, float, tuple[str, ...]]], horizon: float
) -> None:
    """Write in each bar the first of its texts that fits (groups and heads, or heads).

    A bar too narrow even for its heads stays bare (the route sheets give them); no text
    runs out of its bar.
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    prop = FontProperties(size=GANTT_MIN_FONT_PT)
    axis_pt = ax.get_position().width * fig.get_figwidth() * 72.0

    def width_pt(text: str) -> float:
        return float(TextPath((0, 0), text, size=GANTT_MIN_FONT_PT, prop=prop).get_extents().width)

    for x, y, days, texts in bars:
        room = axis_pt * days / horizon - 2.0  # a point of white either side
        text = next((t for t in texts if width_pt(t) <= room), None)
        if text is not None:
            ax.text(x, y, text, ha="center", va="center", fontsize=GANTT_MIN_FONT_PT,
                    color="white", clip_on=True)  # fmt: skip


def _as_number(value: object) -> object:
    """A summary value as a number when it is one (``"28304152.0"``), else as it was."""
    if not isinstance(value, str) or value in {"True", "False"}:
        return value
    try:
        number = float(value)
    except ValueError:
        return value
    if not math.isfinite(number):
        return value
    return int(number) if number.is_integer() and "." not in value else number


#: Species as the heads figure of the summary names them (``alpacas: 120; sheep: 30``).
_SPECIES_WORDS: Final = (N_("alpacas"), N_("llamas"), N_("sheep"))


def _species_words(text: object, tr: Callable[[str], str]) -> object:
    """``alpacas: 120; sheep: 30`` with the species named in the language of `tr`."""
    if not isinstance(text, str):
        return text
    parts = []
    for part in text.split("; "):
        name, sep, count = part.partition(": ")
        parts.append(f"{tr(name) if name in _SPECIES_WORDS else name}{sep}{count}")
    return "; ".join(parts)


def _sheet(table: pd.DataFrame, language: str) -> pd.DataFrame:
    """A table as a sheet of the workbook: in English as written, else in `language`."""
    out = neutralise_formulas(table)
    if {"figure", "value"} == set(out.columns):  # the summary: numbers as numbers
        out["value"] = out["value"].map(_as_number)
    if language == SOURCE_LANGUAGE:
        return out
    tr = gettext_for(language)

    def words(table: dict[str, str]) -> Callable[[object], object]:
        return lambda v: tr(table[v]) if isinstance(v, str) and v in table else v

    if {"figure", "value"} == set(out.columns):  # the summary: its figures by name
        heads = out["figure"] == "heads"
        out.loc[heads, "value"] = out.loc[heads, "value"].map(lambda v: _species_words(v, tr))
        out["figure"] = out["figure"].map(words(_FIGURES))
        out["value"] = out["value"].map(
            lambda v: method_words(tr(v), language) if isinstance(v, str) else v
        )
    if "source" in out.columns:  # the forage method note of each plot
        out["source"] = out["source"].map(
            lambda v: method_words(v, language) if isinstance(v, str) else v
        )
    if S.LOCATION_ID in out.columns:
        out[S.LOCATION_ID] = out[S.LOCATION_ID].map(
            lambda v: place_name(v, language=language) if isinstance(v, str) else v
        )
    for col in ("status", "reason"):
        if col in out.columns:
            out[col] = out[col].map(words(_PLOT_VALUES))
    if "closures" in out.columns:
        out["closures"] = out["closures"].map(
            lambda v: _closures(v, language) if isinstance(v, str) else v
        )
    if S.LOCATION_KIND in out.columns:
        out[S.LOCATION_KIND] = out[S.LOCATION_KIND].map(words(_KIND_LABELS))
    return out.rename(columns={c: tr(LABELS[c]) for c in out.columns if c in LABELS})


_SHEET_CONTEXT: Final = "sheet"
#: Sheets of the workbook besides the plan of each community: (table, name).
_SHEETS: Final = (
    ("deficit_csv", NP_("sheet", "deficit")),
    ("schedule_csv", NP_("sheet", "schedule")),
    ("groups_csv", NP_("sheet", "groups")),
    ("range_csv", NP_("sheet", "open range")),
    ("calendar_csv", NP_("sheet", "by place")),
    ("plots_csv", NP_("sheet", "plots")),
    ("summary_csv", NP_("sheet", "summary")),
)
_ROUTES_SHEET: Final = NP_("sheet", "routes")


def write_plan_outputs(
    gp: GroupPlan,
    out_dir: str | os.PathLike[str],
    *,
    language: str = "en",
    gantt: bool = True,
    today: date | None = None,
    feed: FeedOptions | None = None,
    units: object | None = None,
) -> list[Path]:
    """Write the plan's tables (CSV), the workbook (XLSX), the moves (ICS) and the Gantt chart.

    Parameters
    ----------
    gp
        A plan of whole groups (:func:`pastures.rotation.place_groups`).
    out_dir
        Folder (created if needed); the files of :data:`OUTPUT_FILES` in it are replaced.
    language
        Language of the workbook, the calendar file, the chart and the human-readable
        values of the CSV (a project's ``language``); CSV keep their column names.
    gantt
        Also draw the Gantt chart PNG (needs matplotlib).
    today
        The day the Gantt chart marks (default: the day it is drawn, or
        ``SOURCE_DATE_EPOCH`` when set); no mark when it falls outside the plan.
    feed, units
        Bale and oat figures (:class:`~pastures.rotation.deficit.FeedOptions`) and the
        animal-unit table of the deficit's heads.

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = {
        "schedule_csv": schedule_table(gp),
        "groups_csv": groups_table(gp.groups),
        "deficit_csv": deficit_table(gp, options=feed, units=units, language=language),  # type: ignore[arg-type]
        "routes_csv": routes_table(gp),
        "plan_csv": plan_table(gp, language=language),
        "calendar_csv": calendar_table(gp, language=language),
        "range_csv": range_table(gp),
        "plots_csv": group_plot_status(gp),
        "summary_csv": summary_table(gp),
    }
    written = [write_table(tables[key], out / OUTPUT_FILES[key]) for key in tables]
    path = out / OUTPUT_FILES["xlsx"]
    created = datetime.combine(gp.inputs.start, time())
    tr = translator(language)
    sheets = [(key, tr.pgettext(_SHEET_CONTEXT, name)) for key, name in _SHEETS]
    with (
        atomic_output(path) as tmp,
        pd.ExcelWriter(tmp, engine="xlsxwriter", datetime_format="yyyy-mm-dd") as xl,
    ):
        xl.book.set_properties({"created": created})
        plan = tables["plan_csv"]
        routes_sheet = tr.pgettext(_SHEET_CONTEXT, _ROUTES_SHEET)
        taken: set[str] = {routes_sheet, *(name for _, name in sheets)}
        for com, part in plan.groupby(S.COMMUNITY, sort=True):
            name = sheet_name(f"plan {com}", taken)
            _write_sheet(xl, _sheet(part.reset_index(drop=True), language), name)
        routes = tables["routes_csv"]
        _write_sheet(xl, _sheet(routes, language), routes_sheet)
        for key, sheet in sheets:
            _write_sheet(xl, _sheet(tables[key], language), sheet)
    written.append(path)
    path = out / OUTPUT_FILES["ics"]
    with atomic_output(path) as tmp:
        tmp.write_bytes(ical_text(gp, language=language).encode("utf-8"))
    written.append(path)
    if gantt:
        path = out / OUTPUT_FILES["gantt"]
        fig = gantt_figure(gp, today=today, language=language)
        with atomic_output(path) as tmp:
            fig.savefig(tmp, format="png", metadata={"Software": None})
        written.append(path)
    logger.info(_("wrote %d rotation files to %s"), len(written), out)
    return written


#: Characters Excel does not allow in a sheet name.
_NOT_IN_SHEET_NAMES: Final = str.maketrans(dict.fromkeys("[]:*?/\\", "_"))


def sheet_name(text: str, taken: set[str]) -> str:
    r"""A sheet name Excel accepts for `text`, not in `taken` (which it joins).

    Excel refuses ``[ ] : * ? / \``, a leading or trailing apostrophe, more than 31
    characters, and two names equal but for case: a community named by anyone must not
    stop the workbook.
    """
    base = text.translate(_NOT_IN_SHEET_NAMES).strip("'").strip() or "plan"
    name, n = base[:31], 1
    while name.casefold() in {t.casefold() for t in taken}:
        n += 1
        suffix = f" ({n})"
        name = base[: 31 - len(suffix)] + suffix
    taken.add(name)
    return name


def _write_sheet(xl: pd.ExcelWriter, table: pd.DataFrame, name: str) -> None:
    """A sheet with its header row frozen and a filter on every column."""
    table.to_excel(xl, sheet_name=name, index=False)
    ws = xl.sheets[name]
    whole = xl.book.add_format({"num_format": "#,##0"})
    real = xl.book.add_format({"num_format": "#,##0.0###"})
    for c, col in enumerate(table.columns):
        if table[col].dtype != object:
            continue
        for r, v in enumerate(table[col]):
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
                ws.write_number(r + 1, c, v, whole if float(v).is_integer() else real)
    ws.freeze_panes(1, 0)
    if len(table.columns):
        ws.autofilter(0, 0, max(len(table), 1), len(table.columns) - 1)
