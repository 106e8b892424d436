"""Tables, calendar, iCalendar and Gantt chart of a grazing plan; logs of actual grazing.

The functions that build tables take a :class:`~pastures.rotation.RotationPlan` and
return DataFrames or text; :func:`write_plan_outputs` is the one that writes files,
each through :func:`pastures.io.atomic_output`. A log of the grazing that really
happened (:func:`read_grazing_log`) can be set against the plan
(:func:`plan_against_practice`): rest really achieved, days beyond the limits.
"""

from __future__ import annotations

import logging
import os
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from pastures import schema as S
from pastures.errors import InputFileError, LayerError
from pastures.io import atomic_output, read_table
from pastures.rotation import RotationPlan

logger = logging.getLogger(__name__)

#: Text of a closed location in the per-plot calendar.
CLOSED = "closed"
#: File names written by :func:`write_plan_outputs`.
OUTPUT_FILES = {
    "schedule_csv": "rotation_schedule.csv",
    "schedule_xlsx": "rotation_schedule.xlsx",
    "calendar_csv": "rotation_calendar.csv",
    "shortfall_csv": "rotation_shortfall.csv",
    "ics": "rotation_moves.ics",
    "gantt": "rotation_gantt.png",
}


def _runs(row: np.ndarray) -> list[tuple[int, int, int]]:
    """(location, first period, last period) of each stay in one herd's row."""
    out: list[tuple[int, int, int]] = []
    t = 0
    n = len(row)
    while t < n:
        i = int(row[t])
        u = t
        while u + 1 < n and int(row[u + 1]) == i:
            u += 1
        if i >= 0:
            out.append((i, t, u))
        t = u + 1
    return out


def schedule_table(plan: RotationPlan, *, spanish: bool = False) -> pd.DataFrame:
    """One row per stay of a herd at a location (consecutive periods merged).

    Columns :data:`pastures.schema.SCHEDULE_COLUMNS`: forage used and shortfall are the
    herd's part (by intake) of its location's, in kg DM; ``rest_after_days`` is the
    rest the location gets after the stay before any herd comes back (to the end of
    the horizon if none does; empty for the open range, which is grazed continuously).
    """
    inp, a, bal = plan.inputs, plan.assignment, plan.balance
    occupied = np.zeros((len(inp.locations), inp.n_periods), dtype=bool)
    for h in range(len(inp.herds)):
        for t in range(inp.n_periods):
            if a[h, t] >= 0:
                occupied[a[h, t], t] = True
    rows = []
    for h, herd in enumerate(inp.herds):
        need = inp.demand_kg(herd)
        for i, t0, t1 in _runs(a[h]):
            loc = inp.locations[i]
            span = range(t0, t1 + 1)
            share = [need / bal.demand[i, t] if bal.demand[i, t] else 0.0 for t in span]
            used = sum(s * bal.eaten[i, t] for s, t in zip(share, span, strict=True))
            short = sum(s * bal.shortfall[i, t] for s, t in zip(share, span, strict=True))
            rest: float = np.nan
            if loc.kind == "plot":
                later = np.flatnonzero(occupied[i, t1 + 1 :])
                rest_periods = int(later[0]) if len(later) else inp.n_periods - t1 - 1
                rest = rest_periods * inp.period_days
            rows.append(
                {
                    S.HERD_ID: herd.herd_id,
                    S.COMMUNITY: herd.community,
                    S.LOCATION_ID: loc.location_id,
                    S.LOCATION_KIND: loc.kind,
                    S.START: inp.period_start(t0).isoformat(),
                    S.END: inp.period_end(t1).isoformat(),
                    S.DAYS: (t1 - t0 + 1) * inp.period_days,
                    S.HERD_UO: herd.uo,
                    S.FORAGE_USED_KG: round(used),
                    S.SHORTFALL_KG: round(short),
                    S.REST_AFTER_DAYS: rest,
                }
            )
    table = pd.DataFrame(rows, columns=list(S.SCHEDULE_COLUMNS))
    table = table.sort_values([S.START, S.COMMUNITY, S.HERD_ID], kind="stable")
    table = table.reset_index(drop=True)
    return table.rename(columns=S.ROTATION_LABELS_ES) if spanish else table


def calendar_table(plan: RotationPlan) -> pd.DataFrame:
    """Per-location calendar: one row per location, one column per period (its first day).

    A cell lists the herds there (joined by ``+``), ``closed`` when a closure covers
    the period, or is empty (rest).
    """
    from pastures.rotation import closed_mask

    inp, a = plan.inputs, plan.assignment
    closed = closed_mask(inp) if plan.params.enforce_closures else None
    cells = [["" for _ in range(inp.n_periods)] for _ in inp.locations]
    for h, herd in enumerate(inp.herds):
        for t in range(inp.n_periods):
            i = int(a[h, t])
            if i >= 0:
                cell = cells[i][t]
                cells[i][t] = f"{cell}+{herd.herd_id}" if cell else herd.herd_id
    if closed is not None:
        for i, t in zip(*np.nonzero(closed), strict=True):
            if not cells[i][t]:
                cells[i][t] = CLOSED
    columns = [inp.period_start(t).isoformat() for t in range(inp.n_periods)]
    table = pd.DataFrame(cells, columns=columns)
    table.insert(0, S.LOCATION_ID, [loc.location_id for loc in inp.locations])
    table.insert(1, S.COMMUNITY, [loc.community for loc in inp.locations])
    return table


def shortfall_table(plan: RotationPlan) -> pd.DataFrame:
    """The plan's shortfall notes as a table: community, weeks, demand, supply, excess UO."""
    inp = plan.inputs
    return pd.DataFrame(
        [
            {
                S.COMMUNITY: n.community,
                S.START: inp.period_start(n.first_period).isoformat(),
                S.END: inp.period_end(n.last_period).isoformat(),
                "demand_uo_days_per_week": round(n.demand_uo_days_per_week),
                "supply_uo_days_per_week": round(n.supply_uo_days_per_week),
                "excess_uo": round(n.excess_uo),
                S.SHORTFALL_KG: n.shortfall_kg,
                "action": n.message,
            }
            for n in plan.notes
        ],
        columns=[
            S.COMMUNITY, S.START, S.END, "demand_uo_days_per_week", "supply_uo_days_per_week",
            "excess_uo", S.SHORTFALL_KG, "action",
        ],
    )  # fmt: skip


def summary_table(plan: RotationPlan) -> pd.DataFrame:
    """Key figures of the plan (solver status, gap, time, shortfall, moves, rest), as rows."""
    b = plan.breakdown
    inp = plan.inputs
    sched = schedule_table(plan)
    rest = sched.loc[sched[S.LOCATION_KIND] == "plot", S.REST_AFTER_DAYS]
    figures = {
        "solver": plan.solver,
        "status": plan.status,
        "objective": plan.objective,
        "best_bound": plan.bound,
        "relative_gap": plan.gap,
        "seconds": round(plan.seconds, 2),
        "variables": plan.n_variables,
        "constraints": plan.n_constraints,
        "herds": len(inp.herds),
        "locations": len(inp.locations),
        "periods": inp.n_periods,
        "period_days": inp.period_days,
        "start": inp.start.isoformat(),
        "demand_kg": int(plan.balance.demand.sum()),
        "shortfall_kg": b.shortfall_kg,
        "moves": b.moves,
        "walk_hm": b.walk_hm,
        "grazed_plot_periods": b.grazed_plot_periods,
        "median_rest_after_plot_days": float(rest.median()) if len(rest) else float("nan"),
    }
    return pd.DataFrame({"figure": list(figures), "value": [str(v) for v in figures.values()]})


# --------------------------------------------------------------------------------------
# iCalendar (RFC 5545), written by hand
# --------------------------------------------------------------------------------------
def _ics_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _ics_fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 section 3.1)."""
    raw = line.encode("utf-8")
    if len(raw) <= 75:
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


def ical_text(plan: RotationPlan) -> str:
    """The moves of a plan as an iCalendar file (all-day events, one per stay).

    Each event starts the day a herd enters a location and ends (exclusive, as RFC 5545
    all-day events do) the day after it leaves. UIDs and time stamps derive from the
    plan, so the same plan always gives the same file.
    """
    sched = schedule_table(plan)
    stamp = f"{plan.inputs.start:%Y%m%d}T000000Z"
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//pastures//grazing rotation//ES",
        "CALSCALE:GREGORIAN",
        "X-WR-CALNAME:Rotación de pastoreo",
    ]
    for _, r in sched.iterrows():
        start = date.fromisoformat(r[S.START])
        end = date.fromisoformat(r[S.END]) + timedelta(days=1)
        uid = f"{r[S.HERD_ID]}-{start:%Y%m%d}-{r[S.LOCATION_ID]}".replace(" ", "_")
        desc = (
            f"{r[S.HERD_ID]} ({r[S.HERD_UO]:,.0f} UO) grazes {r[S.LOCATION_ID]} for "
            f"{r[S.DAYS]} days."
        )
        if r[S.LOCATION_KIND] == "plot" and not pd.isna(r[S.REST_AFTER_DAYS]):
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


# --------------------------------------------------------------------------------------
# Gantt chart
# --------------------------------------------------------------------------------------
def gantt_figure(plan: RotationPlan, *, plots_only: bool = False):
    """A Gantt chart of the plan: one row per location, a bar per stay, closures hatched.

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
    from pastures.rotation import closed_mask

    inp = plan.inputs
    sched = schedule_table(plan)
    locs = [loc for loc in inp.locations if not plots_only or loc.kind == "plot"]
    row_of = {loc.location_id: k for k, loc in enumerate(locs)}
    fig = Figure(figsize=(12, max(3.0, 0.28 * len(locs) + 1.5)), dpi=100)
    ax = fig.add_subplot()
    herds = sorted(sched[S.HERD_ID].unique())
    cmap = mpl.colormaps["tab20"]
    colour = {h: cmap(k % 20) for k, h in enumerate(herds)}
    origin = inp.start
    for _, r in sched.iterrows():
        k = row_of.get(r[S.LOCATION_ID])
        if k is None:
            continue
        x0 = (date.fromisoformat(r[S.START]) - origin).days
        is_range = r[S.LOCATION_KIND] == "open_range"
        ax.broken_barh(
            [(x0, r[S.DAYS])],
            (k - 0.4, 0.8),
            facecolors=colour[r[S.HERD_ID]],
            alpha=0.15 if is_range else 0.9,
            edgecolor="none",
        )
        if not is_range and r[S.DAYS] >= 14:
            ax.text(x0 + 1, k, str(r[S.HERD_ID]), va="center", fontsize=6)
    closed = closed_mask(inp) if plan.params.enforce_closures else None
    if closed is not None:
        for i, loc in enumerate(inp.locations):
            k = row_of.get(loc.location_id)
            if k is None:
                continue
            for t in np.flatnonzero(closed[i]):
                ax.broken_barh(
                    [(int(t) * inp.period_days, inp.period_days)],
                    (k - 0.4, 0.8),
                    facecolors="none",
                    hatch="///",
                    edgecolor="0.6",
                    linewidth=0,
                )
    ax.set_yticks(range(len(locs)), [loc.location_id for loc in locs], fontsize=6)
    ax.invert_yaxis()
    horizon = inp.n_periods * inp.period_days
    months = pd.date_range(origin, origin + timedelta(days=horizon), freq="MS")
    ax.set_xticks(
        [(m.date() - origin).days for m in months], [f"{m:%b %Y}" for m in months], fontsize=7
    )
    ax.set_xlim(0, horizon)
    ax.grid(axis="x", color="0.85", linewidth=0.5)
    ax.set_title(
        f"Grazing rotation from {origin:%d %b %Y} ({plan.status}, gap {plan.gap:.2%}); "
        "hatched: closed; pale: open range",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------
def write_plan_outputs(
    plan: RotationPlan,
    out_dir: str | os.PathLike[str],
    *,
    spanish: bool = False,
    gantt: bool = True,
) -> list[Path]:
    """Write the schedule (CSV, XLSX), calendar, shortfall table, iCalendar and Gantt chart.

    Parameters
    ----------
    plan
        A plan from :func:`pastures.rotation.plan_rotation` (or the greedy baseline).
    out_dir
        Folder (created if needed); the files of :data:`OUTPUT_FILES` in it are replaced.
    spanish
        Spanish column headings in the schedule CSV and XLSX.
    gantt
        Also draw the Gantt chart PNG (needs matplotlib).

    Returns
    -------
    list of Path
        The files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    sched = schedule_table(plan, spanish=spanish)
    cal = calendar_table(plan)
    short = shortfall_table(plan)
    summary = summary_table(plan)

    path = out / OUTPUT_FILES["schedule_csv"]
    with atomic_output(path) as tmp:
        sched.to_csv(tmp, index=False, float_format="%.1f")
    written.append(path)

    path = out / OUTPUT_FILES["schedule_xlsx"]
    with atomic_output(path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as xl:
        sched.to_excel(xl, sheet_name="calendario" if spanish else "schedule", index=False)
        cal.to_excel(xl, sheet_name="por lugar" if spanish else "calendar", index=False)
        short.to_excel(xl, sheet_name="déficit" if spanish else "shortfall", index=False)
        summary.to_excel(xl, sheet_name="resumen" if spanish else "summary", index=False)
    written.append(path)

    for key, frame in (("calendar_csv", cal), ("shortfall_csv", short)):
        path = out / OUTPUT_FILES[key]
        with atomic_output(path) as tmp:
            frame.to_csv(tmp, index=False)
        written.append(path)

    path = out / OUTPUT_FILES["ics"]
    with atomic_output(path) as tmp:
        tmp.write_bytes(ical_text(plan).encode("utf-8"))
    written.append(path)

    if gantt:
        path = out / OUTPUT_FILES["gantt"]
        fig = gantt_figure(plan)
        with atomic_output(path) as tmp:
            fig.savefig(tmp, format="png")
        written.append(path)
    logger.info("wrote %d rotation files to %s", len(written), out)
    return written


# --------------------------------------------------------------------------------------
# plan against practice
# --------------------------------------------------------------------------------------
def read_grazing_log(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a log of actual grazing (CSV or XLSX): herd, location, start, end per stay.

    Column names may be Spanish (rebaño, lugar/parcela, inicio/desde, fin/hasta); dates
    ISO (2026-03-01) or day first (01/03/2026).

    Raises
    ------
    LayerError
        A column is missing or a date cannot be read; the message names the row.
    """
    return normalise_grazing_log(read_table(Path(path)), source=str(path))


def normalise_grazing_log(raw: pd.DataFrame, *, source: str = "log") -> pd.DataFrame:
    """Columns renamed to the schema and dates parsed (see :func:`read_grazing_log`)."""
    from pastures.layers import fold

    keyed = {fold(str(c)).replace(" ", "_"): c for c in raw.columns}
    out = pd.DataFrame(index=range(len(raw)))
    for canon, aliases in S.GRAZING_LOG_ALIASES.items():
        col = next((keyed[a] for a in aliases if a in keyed), None)
        if col is None:
            raise LayerError(
                f"{source}: no column for '{canon}' (looked for: {', '.join(aliases)}). "
                "The log needs one row per stay: herd, location, start, end."
            )
        out[canon] = raw[col].astype("string").str.strip().to_numpy()
    for canon in (S.START, S.END):
        parsed = []
        for pos, text in enumerate(out[canon]):
            try:
                value = date.fromisoformat(str(text))
            except ValueError:
                try:
                    value = pd.to_datetime(str(text), dayfirst=True).date()
                except (ValueError, TypeError) as exc:
                    raise LayerError(
                        f"{source}: row {pos + 2}: '{canon}' is {text!r}, not a date. "
                        "Write dates as 2026-03-01 or 01/03/2026."
                    ) from exc
            parsed.append(value)
        out[canon] = parsed
    bad = out[out[S.END] < out[S.START]]
    if len(bad):
        pos = int(bad.index[0])
        raise LayerError(
            f"{source}: row {pos + 2}: the stay ends ({out.at[pos, S.END]}) before it starts "
            f"({out.at[pos, S.START]}); swap the dates."
        )
    return out


def plan_against_practice(plan: RotationPlan, log: pd.DataFrame) -> pd.DataFrame:
    """Set logged stays against the plan: days on plan, rest really achieved, days over.

    Parameters
    ----------
    plan
        The plan.
    log
        Stays as from :func:`read_grazing_log` (herd, location, start, end).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`pastures.schema.PRACTICE_COLUMNS`, one row per logged stay:
        the days the plan also had that herd there, the rest the location had before the
        stay (since the previous logged stay there ended), the rest the rules required
        after that previous stay (by its season and the pasture type), the shortfall of
        rest, and the days beyond the longest consecutive grazing allowed.
    """
    from pastures.rotation import SEASON_OF_MONTH

    inp, params = plan.inputs, plan.params
    herd_index = {h.herd_id: k for k, h in enumerate(inp.herds)}
    locs = {loc.location_id: (k, loc) for k, loc in enumerate(inp.locations)}
    unknown = sorted(set(log[S.LOCATION_ID]) - set(locs))
    if unknown:
        raise LayerError(
            f"the grazing log names locations that are not in the plan: {', '.join(unknown)}"
        )
    frame = log.sort_values([S.LOCATION_ID, S.START], kind="stable").reset_index(drop=True)
    rows = []
    prev_end: dict[str, date] = {}
    for _, r in frame.iterrows():
        k, loc = locs[r[S.LOCATION_ID]]
        start, end = r[S.START], r[S.END]
        days = (end - start).days + 1
        planned = 0
        h = herd_index.get(r[S.HERD_ID])
        if h is not None:
            for d in range(days):
                day = start + timedelta(days=d)
                t = (day - inp.start).days // inp.period_days
                if 0 <= t < inp.n_periods and plan.assignment[h, t] == k:
                    planned += 1
        before = required = short = np.nan
        last = prev_end.get(loc.location_id)
        if last is not None and loc.kind == "plot":
            before = max((start - last).days - 1, 0)
            season = SEASON_OF_MONTH[last.month]
            table = params.rest_days.get(loc.pasture_type, params.rest_days.get("*", {}))
            required = table.get(season, 0)
            short = max(required - before, 0)
        over = 0
        if loc.kind == "plot" and params.max_consecutive_days is not None:
            over = max(days - params.max_consecutive_days, 0)
        prev_end[loc.location_id] = max(end, last) if last is not None else end
        rows.append(
            {
                S.HERD_ID: r[S.HERD_ID],
                S.LOCATION_ID: r[S.LOCATION_ID],
                S.START: start.isoformat(),
                S.END: end.isoformat(),
                S.DAYS: days,
                S.PLANNED_DAYS: planned,
                S.DAYS_OFF_PLAN: days - planned,
                S.REST_BEFORE_DAYS: before,
                S.REST_REQUIRED_DAYS: required,
                S.REST_SHORT_DAYS: short,
                S.DAYS_OVER: over,
            }
        )
    return pd.DataFrame(rows, columns=list(S.PRACTICE_COLUMNS))


def write_practice(
    table: pd.DataFrame, path: str | os.PathLike[str], *, spanish: bool = False
) -> Path:
    """Write the plan-against-practice table as CSV (or XLSX by the file suffix)."""
    dest = Path(path)
    shown = table.rename(columns=S.ROTATION_LABELS_ES) if spanish else table
    with atomic_output(dest) as tmp:
        if dest.suffix.lower() == ".xlsx":
            shown.to_excel(tmp, index=False, engine="openpyxl")
        elif dest.suffix.lower() == ".csv":
            shown.to_csv(tmp, index=False)
        else:
            raise InputFileError(f"{dest}: write the comparison as .csv or .xlsx")
    return dest
