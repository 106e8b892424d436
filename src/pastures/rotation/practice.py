"""Logs of the grazing that really happened, set against a plan.

A log (:func:`read_grazing_log`: herd, location, start, end per stay) is set against
the plan (:func:`plan_against_practice`): days on plan, rest really achieved, days
beyond the longest stay allowed. A herd on a plot is on plan when the plan puts some
of its UO there that period; on its open range, whenever the plan keeps some there.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pastures import schema as S
from pastures.errors import InputFileError, LayerError
from pastures.i18n import _, gettext_for
from pastures.io import read_table, write_table
from pastures.rotation.model import SEASON_OF_MONTH

if TYPE_CHECKING:
    from pastures.rotation.plan import RotationPlan


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
                _(
                    "{source}: no column for '{canon}' (looked for: {value}). The log needs "
                    "one row per stay: herd, location, start, end."
                ).format(source=source, canon=canon, value=", ".join(aliases))
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
                        _(
                            "{source}: row {value}: '{canon}' is {text!r}, not a date. Write dates "
                            "as 2026-03-01 or 01/03/2026."
                        ).format(source=source, value=pos + 2, canon=canon, text=text)
                    ) from exc
            parsed.append(value)
        out[canon] = parsed
    bad = out[out[S.END] < out[S.START]]
    if len(bad):
        pos = int(bad.index[0])
        raise LayerError(
            _(
                "{source}: row {value}: the stay ends ({value2}) before it starts "
                "({value3}); swap the dates."
            ).format(
                source=source, value=pos + 2, value2=out.at[pos, S.END], value3=out.at[pos, S.START]
            )
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
    inp, params = plan.inputs, plan.params
    on_plot = set(
        zip(
            plan.allocation["herd"],
            plan.allocation["location"],
            plan.allocation["period"],
            strict=True,
        )
    )
    herd_index = {h.herd_id: k for k, h in enumerate(inp.herds)}
    locs = {loc.location_id: (k, loc) for k, loc in enumerate(inp.locations)}
    unknown = sorted(set(log[S.LOCATION_ID]) - set(locs))
    if unknown:
        raise LayerError(
            _("the grazing log names locations that are not in the plan: {value}").format(
                value=", ".join(unknown)
            )
        )
    frame = log.sort_values([S.LOCATION_ID, S.START], kind="stable").reset_index(drop=True)
    rows = []
    prev_end: dict[str, date] = {}
    for _unused, r in frame.iterrows():
        k, loc = locs[r[S.LOCATION_ID]]
        start, end = r[S.START], r[S.END]
        days = (end - start).days + 1
        planned = 0
        h = herd_index.get(r[S.HERD_ID])
        if h is not None:
            for d in range(days):
                day = start + timedelta(days=d)
                t = (day - inp.start).days // inp.period_days
                if not 0 <= t < inp.n_periods:
                    continue
                if (loc.kind == "plot" and (h, k, t) in on_plot) or (
                    loc.kind == "open_range" and loc.community == inp.herds[h].community
                ):
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
    table: pd.DataFrame, path: str | os.PathLike[str], *, language: str = "en"
) -> Path:
    """Write the plan-against-practice table as CSV (or XLSX by the file suffix).

    A CSV keeps the column names; a workbook has headings in `language`.
    """
    dest = Path(path)
    shown = table
    if dest.suffix.lower() == ".xlsx":
        tr = gettext_for(language)
        shown = table.rename(columns={c: tr(S.ROTATION_LABELS[c]) for c in S.ROTATION_LABELS})
    if dest.suffix.lower() not in {".csv", ".xlsx"}:
        raise InputFileError(_("{dest}: write the comparison as .csv or .xlsx").format(dest=dest))
    return write_table(shown, dest, sheet="practice")
