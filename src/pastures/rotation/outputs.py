"""Tables, iCalendar and Gantt chart of a grazing plan, and the files they go to.

The table builders take a :class:`~pastures.rotation.plan.RotationPlan` and return
DataFrames or text; :func:`write_plan_outputs` writes them, each file atomically and
every text table through :func:`pastures.io.write_table` (formula injection guarded).
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from pastures import schema as S
from pastures.io import atomic_output, neutralise_formulas, neutralise_text, write_table
from pastures.rotation.explain import fodder_table, plot_status
from pastures.rotation.model import closed_mask
from pastures.rotation.plan import RotationPlan

logger = logging.getLogger(__name__)

#: Text of a closed location in the per-location calendar.
CLOSED = "closed"
#: File names written by :func:`write_plan_outputs`.
OUTPUT_FILES = {
    "schedule_csv": "rotation_schedule.csv",
    "schedule_xlsx": "rotation_schedule.xlsx",
    "calendar_csv": "rotation_calendar.csv",
    "fodder_csv": "rotation_fodder.csv",
    "plots_csv": "rotation_plots.csv",
    "summary_csv": "rotation_summary.csv",
    "ics": "rotation_moves.ics",
    "gantt": "rotation_gantt.png",
}


def herd_period_uo(plan: RotationPlan) -> tuple[np.ndarray, np.ndarray]:
    """UO of each herd on plots and on its open range, per period (two H x T arrays)."""
    inp = plan.inputs
    on_plots = np.zeros((len(inp.herds), inp.n_periods))
    a = plan.allocation
    np.add.at(on_plots, (a["herd"].to_numpy(), a["period"].to_numpy()), a["uo"].to_numpy())
    total = np.array([h.uo for h in inp.herds])[:, None]
    return on_plots, np.clip(total - on_plots, 0.0, None)


def schedule_table(plan: RotationPlan, *, spanish: bool = False) -> pd.DataFrame:
    """One row per stay: a herd's UO at one location over consecutive periods.

    Herds are split: a herd has rows on a plot and on its open range at the same time,
    each with the UO there. Columns :data:`pastures.schema.SCHEDULE_COLUMNS`:
    ``forage_used_kg`` is the usable forage the herd's UO eat there; ``shortfall_kg``
    (open range only, never on a plot) is their part of the range's overuse plus
    fodder, split out in ``overuse_kg`` and ``fodder_kg``; ``rest_after_days`` is the
    rest a plot gets after the stay before any herd comes back (to the end of the
    horizon if none does; empty for the open range).
    """
    inp = plan.inputs
    T, c = inp.n_periods, inp.kg_per_uo_period
    _, on_range = herd_period_uo(plan)
    range_of = {loc.community: i for i, loc in enumerate(inp.locations) if loc.kind == "open_range"}
    range_total = np.zeros((len(inp.locations), T))
    for h, herd in enumerate(inp.herds):
        range_total[range_of[herd.community]] += on_range[h]
    used_plot = np.zeros((len(inp.locations), T), dtype=bool)
    a = plan.allocation
    used_plot[a["location"].to_numpy(), a["period"].to_numpy()] = True
    rows: list[dict[str, object]] = []

    def add(  # noqa: PLR0917
        h: int, i: int, t0: int, t1: int, uo: float, per: list[tuple[float, float, float]]
    ) -> None:
        herd, loc = inp.herds[h], inp.locations[i]
        rest: float = math.nan
        if loc.kind == "plot":
            later = np.flatnonzero(used_plot[i, t1 + 1 :])
            rest = (int(later[0]) if len(later) else T - t1 - 1) * inp.period_days
        rows.append(
            {
                S.HERD_ID: herd.herd_id,
                S.COMMUNITY: herd.community,
                S.LOCATION_ID: loc.location_id,
                S.LOCATION_KIND: loc.kind,
                S.START: inp.period_start(t0).isoformat(),
                S.END: inp.period_end(t1).isoformat(),
                S.DAYS: (t1 - t0 + 1) * inp.period_days,
                S.HERD_UO: round(uo, 2),
                S.FORAGE_USED_KG: round(sum(p[0] for p in per), 1),
                S.SHORTFALL_KG: round(sum(p[1] + p[2] for p in per), 1),
                S.OVERUSE_KG: round(sum(p[1] for p in per), 1),
                S.FODDER_KG: round(sum(p[2] for p in per), 1),
                S.REST_AFTER_DAYS: rest,
            }
        )

    # plots: runs of equal UO of one herd on one plot
    if len(a):
        ordered = a.sort_values(["herd", "location", "period"], kind="stable")
        run: list[int] | None = None  # [herd, loc, t0, t1], uo
        run_uo = 0.0
        for h, i, t, uo in zip(
            ordered["herd"], ordered["location"], ordered["period"], ordered["uo"], strict=True
        ):
            if run is not None and run[:2] == [h, i] and run[3] == t - 1 and uo == run_uo:
                run[3] = t
                continue
            if run is not None:
                n = run[3] - run[2] + 1
                add(run[0], run[1], run[2], run[3], run_uo, [(run_uo * c, 0.0, 0.0)] * n)
            run, run_uo = [int(h), int(i), int(t), int(t)], float(uo)
        if run is not None:
            n = run[3] - run[2] + 1
            add(run[0], run[1], run[2], run[3], run_uo, [(run_uo * c, 0.0, 0.0)] * n)
    # open range: runs of equal UO of one herd
    for h, herd in enumerate(inp.herds):
        i = range_of[herd.community]
        t = 0
        while t < T:
            uo = round(float(on_range[h, t]), 2)
            if uo <= 0:
                t += 1
                continue
            u = t
            while u + 1 < T and round(float(on_range[h, u + 1]), 2) == uo:
                u += 1
            per = []
            for k in range(t, u + 1):
                share = on_range[h, k] / range_total[i, k] if range_total[i, k] > 0 else 0.0
                per.append(
                    (
                        share * plan.eaten_kg[i, k],
                        share * plan.overuse_kg[i, k],
                        share * plan.fodder_kg[i, k],
                    )
                )
            add(h, i, t, u, uo, per)
            t = u + 1
    table = pd.DataFrame(rows, columns=list(S.SCHEDULE_COLUMNS))
    table = table.sort_values(
        [S.START, S.COMMUNITY, S.HERD_ID, S.LOCATION_KIND, S.LOCATION_ID], kind="stable"
    ).reset_index(drop=True)
    return table.rename(columns=S.ROTATION_LABELS_ES) if spanish else table


def calendar_table(plan: RotationPlan) -> pd.DataFrame:
    """Per-location calendar: one row per location, one column per period (its first day).

    A plot's cell lists the herds there with their UO (``G1 120+G2 80``), ``closed``
    when a closure covers the period, or is empty (rest). An open range's cell gives the
    UO on it, and the fodder needed if any.
    """
    inp = plan.inputs
    closed = closed_mask(inp, plan.params)
    cells = [["" for _ in range(inp.n_periods)] for _ in inp.locations]
    a = plan.allocation.sort_values(["location", "period", "herd"], kind="stable")
    for h, i, t, uo in zip(a["herd"], a["location"], a["period"], a["uo"], strict=True):
        part = f"{inp.herds[h].herd_id} {uo:.0f}"
        cells[i][t] = f"{cells[i][t]}+{part}" if cells[i][t] else part
    _, on_range = herd_period_uo(plan)
    for i, loc in enumerate(inp.locations):
        if loc.kind != "open_range":
            continue
        mine = [h for h, herd in enumerate(inp.herds) if herd.community == loc.community]
        for t in range(inp.n_periods):
            uo = float(on_range[mine, t].sum())
            text = f"{uo:.0f} UO"
            if plan.fodder_kg[i, t] > 0.5:
                text += f"; fodder {plan.fodder_kg[i, t]:,.0f} kg"
            cells[i][t] = text
    for i, t in zip(*np.nonzero(closed), strict=True):
        if not cells[i][t]:
            cells[i][t] = CLOSED
    columns = [inp.period_start(t).isoformat() for t in range(inp.n_periods)]
    table = pd.DataFrame(cells, columns=columns)
    table.insert(0, S.LOCATION_ID, [loc.location_id for loc in inp.locations])
    table.insert(1, S.COMMUNITY, [loc.community for loc in inp.locations])
    return table


def summary_table(plan: RotationPlan) -> pd.DataFrame:
    """Key figures of the plan: solver, status, bound and gap, model size, forage met where.

    Seconds are left out (the CLI prints them): the table, like every other output of a
    plan, is then the same on an idle and a busy machine.
    """
    inp = plan.inputs
    f = plan.figures()
    status = plot_status(plan)
    unused = status[status["status"] == "unused"]
    figures: dict[str, object] = {
        "solver": plan.solver,
        "status": plan.status,
        "objective": round(plan.objective, 1),
        "bound": round(plan.bound, 1),
        "relative_gap": round(plan.gap, 6),
        "time_limit_hit": plan.time_limit_hit,
        "blocks": len(plan.blocks),
        "blocks_start_plan_only": "; ".join(plan.start_only_blocks),
        "blocks_branch_and_cut": sum(b.source in ("start", "solver") for b in plan.blocks),
        "variables": plan.n_variables,
        "binaries": plan.n_integer,
        "constraints": plan.n_constraints,
        "herds": len(inp.herds),
        "locations": len(inp.locations),
        "periods": inp.n_periods,
        "period_days": inp.period_days,
        "start": inp.start.isoformat(),
        "intake_kg_dm_per_uo_day": round(inp.intake_kg_per_uo_day, 4),
        "animal_units": inp.intake_source,
        "demand_kg": round(f["demand_kg"]),
        "met_on_plots_share": round(f["plots_share"], 4),
        "met_on_range_share": round(f["range_share"], 4),
        "range_overuse_share": round(f["overuse_share"], 4),
        "fodder_share": round(f["fodder_share"], 4),
        "fodder_kg": round(f["fodder_kg"]),
        "plots_grazed": int((status["status"] == "grazed").sum()),
        "plots_unused": len(unused),
        "plots_unused_why": "; ".join(
            f"{r}: {n}" for r, n in unused["reason"].value_counts().sort_index().items()
        ),
        "plot_supply_sources": "; ".join(
            f"{s}: {n}" for s, n in status["source"].value_counts().sort_index().items()
        ),
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
    """Escape an iCalendar TEXT value; names that a spreadsheet would run get an apostrophe.

    Calendar files are often opened or imported into spreadsheets, so a herd or plot
    named ``=HYPERLINK(...)`` is neutralised as in the CSV outputs.
    """
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


def ical_text(plan: RotationPlan, schedule: pd.DataFrame | None = None) -> str:
    """The plot stays of a plan as an iCalendar file (all-day events, one per stay).

    Events end (exclusive, as RFC 5545 all-day events do) the day after the stay. UIDs
    and time stamps derive from the plan, so the same plan always gives the same file.
    `schedule`: the plan's :func:`schedule_table` (English headings), if already made.
    """
    sched = schedule_table(plan) if schedule is None else schedule
    sched = sched[sched[S.LOCATION_KIND] == "plot"]
    stamp = f"{plan.inputs.start:%Y%m%d}T000000Z"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//pastures//grazing rotation//ES",
        "CALSCALE:GREGORIAN",
        "X-WR-CALNAME:Rotación de pastoreo",
    ]
    for r in sched.to_dict("records"):
        start = date.fromisoformat(r[S.START])
        end = date.fromisoformat(r[S.END]) + timedelta(days=1)
        uid = f"{r[S.HERD_ID]}-{start:%Y%m%d}-{r[S.LOCATION_ID]}".replace(" ", "_")
        desc = (
            f"{r[S.HERD_UO]:,.1f} UO of {r[S.HERD_ID]} graze {r[S.LOCATION_ID]} for "
            f"{r[S.DAYS]} days; the rest of the herd stays on the open range."
        )
        if not pd.isna(r[S.REST_AFTER_DAYS]):
            desc += f" Then the plot rests {int(r[S.REST_AFTER_DAYS])} days."
        lines += [
            "BEGIN:VEVENT",
            f"UID:{_ics_escape(uid)}@pastures",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{start:%Y%m%d}",
            f"DTEND;VALUE=DATE:{end:%Y%m%d}",
            f"SUMMARY:{_ics_escape(str(r[S.HERD_ID]))} → {_ics_escape(str(r[S.LOCATION_ID]))}",
            f"DESCRIPTION:{_ics_escape(desc)}",
            f"CATEGORIES:{_ics_escape(str(r[S.COMMUNITY]))}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_ics_fold(line) + "\r\n" for line in lines)


def gantt_figure(plan: RotationPlan):
    """A Gantt chart: a row per plot with a bar per grazed run (UO on it), closures hatched.

    matplotlib is imported lazily with the Agg backend. Returns the Figure.
    """
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - optional
        from pastures.errors import MissingDependencyError

        raise MissingDependencyError(
            "the Gantt chart needs matplotlib: pip install 'pastures[maps]'"
        ) from exc
    inp = plan.inputs
    plots = [i for i, loc in enumerate(inp.locations) if loc.kind == "plot"]
    row_of = {i: k for k, i in enumerate(plots)}
    on = np.zeros((len(inp.locations), inp.n_periods))
    a = plan.allocation
    np.add.at(on, (a["location"].to_numpy(), a["period"].to_numpy()), a["uo"].to_numpy())
    closed = closed_mask(inp, plan.params)
    fig = Figure(figsize=(12, max(3.0, 0.28 * len(plots) + 1.5)), dpi=100)
    ax = fig.add_subplot()
    cmap = mpl.colormaps["YlOrBr"]
    peak = float(on.max()) or 1.0
    d = inp.period_days
    for i in plots:
        # one collection per plot and kind (a collection per week made the chart slow)
        k = row_of[i]
        grazed = np.flatnonzero(on[i] > 0)
        if len(grazed):
            ax.broken_barh(
                [(t * d, d) for t in grazed],
                (k - 0.4, 0.8),
                facecolors=[cmap(0.3 + 0.7 * on[i, t] / peak) for t in grazed],
            )
        shut = np.flatnonzero((on[i] <= 0) & closed[i])
        if len(shut):
            ax.broken_barh(
                [(t * d, d) for t in shut], (k - 0.4, 0.8), facecolors="none", hatch="///",
                edgecolor="0.6", linewidth=0,
            )  # fmt: skip
    ax.set_yticks(range(len(plots)), [inp.locations[i].location_id for i in plots], fontsize=6)
    ax.invert_yaxis()
    horizon = inp.horizon_days
    months = pd.date_range(inp.start, inp.start + timedelta(days=horizon), freq="MS")
    ax.set_xticks(
        [(m.date() - inp.start).days for m in months], [f"{m:%b %Y}" for m in months], fontsize=7
    )
    ax.set_xlim(0, horizon)
    ax.grid(axis="x", color="0.85", linewidth=0.5)
    ax.set_title(
        f"Plot grazing from {inp.start:%d %b %Y} ({plan.status}, gap {plan.gap:.2%}); darker: "
        f"more UO (max {peak:,.0f}); hatched: closed",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def write_plan_outputs(
    plan: RotationPlan,
    out_dir: str | os.PathLike[str],
    *,
    spanish: bool = False,
    gantt: bool = True,
) -> list[Path]:
    """Write schedule (CSV, XLSX), calendar, fodder, plot status, summary, iCalendar, Gantt.

    Parameters
    ----------
    plan
        A plan from :func:`pastures.rotation.plan_rotation` (or the greedy baseline).
    out_dir
        Folder (created if needed); the files of :data:`OUTPUT_FILES` in it are replaced.
    spanish
        Spanish column headings in the schedule.
    gantt
        Also draw the Gantt chart PNG (needs matplotlib).

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sched = schedule_table(plan, spanish=spanish)
    tables = {
        "schedule_csv": sched,
        "calendar_csv": calendar_table(plan),
        "fodder_csv": fodder_table(plan),
        "plots_csv": plot_status(plan),
        "summary_csv": summary_table(plan),
    }
    written = [write_table(tables["schedule_csv"], out / OUTPUT_FILES["schedule_csv"])]
    path = out / OUTPUT_FILES["schedule_xlsx"]
    # XlsxWriter: several times faster than openpyxl on the schedule's thousands of
    # rows; the workbook's creation date is the plan's start, so the file is the same
    # for the same plan
    created = datetime.combine(plan.inputs.start, time())
    with (
        atomic_output(path) as tmp,
        pd.ExcelWriter(tmp, engine="xlsxwriter", datetime_format="yyyy-mm-dd") as xl,
    ):
        xl.book.set_properties({"created": created})
        for key, sheet, sheet_es in (
            ("schedule_csv", "schedule", "calendario"),
            ("calendar_csv", "calendar", "por lugar"),
            ("fodder_csv", "fodder", "forraje"),
            ("plots_csv", "plots", "parcelas"),
            ("summary_csv", "summary", "resumen"),
        ):
            neutralise_formulas(tables[key]).to_excel(
                xl, sheet_name=sheet_es if spanish else sheet, index=False
            )
    written.append(path)
    for key in ("calendar_csv", "fodder_csv", "plots_csv", "summary_csv"):
        written.append(write_table(tables[key], out / OUTPUT_FILES[key]))
    path = out / OUTPUT_FILES["ics"]
    with atomic_output(path) as tmp:
        text = ical_text(plan, sched if not spanish else None)
        tmp.write_bytes(text.encode("utf-8"))
    written.append(path)
    if gantt:
        path = out / OUTPUT_FILES["gantt"]
        fig = gantt_figure(plan)
        with atomic_output(path) as tmp:
            fig.savefig(tmp, format="png")
        written.append(path)
    logger.info("wrote %d rotation files to %s", len(written), out)
    return written
