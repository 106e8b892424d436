"""What the field map draws, as compact JSON-ready data (every text escaped HTML).

The page's script (``map.js``) builds the popups, tooltips and the rotation of the
day from this data, so a plot costs a few hundred bytes however many variables and
weeks it has: a popup is a list of (label index, value) pairs, a colour is a class
index into the variable's palette, the NDVI series is a list of values on the run's
shared dates, and the rotation is the WHOLE plan (every stay of every group, as day
offsets from the plan's first day), read on the phone for the day it is opened.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Final

import numpy as np
import pandas as pd

from pastures import outputs as O
from pastures import schema as S
from pastures.i18n import format_date
from pastures.webmap import style
from pastures.webmap.safe import esc
from pastures.webmap.words import (
    SCRIPT_WORDS,
    condition_words,
    drivers_text,
    risk_words,
    run_text,
    words,
)

#: Decimal degrees kept in the embedded GeoJSON (6 decimals ~ 0.1 m).
COORD_DECIMALS: Final = 6
#: Simplification tolerance (m, working CRS) of community and plot outlines.
SIMPLIFY_M: Final = {S.COMMUNITIES: 5.0, S.PLOTS: 0.5}
#: A plot counts as grazed "soon" when its next group arrives within these days.
NEXT_WEEK_DAYS: Final = 14
#: NDVI values are embedded as whole thousandths (0.312 -> 312): finer than the index's
#: noise, and two characters shorter than the decimal.
SERIES_SCALE: Final = 1000
#: Species of the schedule's head columns, with the key of their short word.
HEAD_WORDS: Final = (
    (S.ALPACAS, "alpacas_short"),
    (S.LLAMAS, "llamas_short"),
    (S.SHEEP, "sheep_short"),
)

#: The variables a technician can colour the plots by: key, column.
PLOT_VARIABLES: Final = (
    ("ndvi", O.NDVI_LAST),
    ("anomaly", O.NDVI_ANOMALY),
    ("trend", S.TREND_PER_YEAR),
    ("condition", S.RANGE_CONDITION),
    ("pressure", S.PRESSURE_RATIO),
    ("risk", S.RISK_CLASS),
)
#: Rows of a plot's popup, in order (keys of :data:`pastures.webmap.words.WORDS`).
POPUP_ROWS: Final = (
    "community", "area", "pasture_type", "condition", "capacity", "stocking", "ndvi_last",
    "anomaly", "trend", "risk", "drivers",
)  # fmt: skip


def _num(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _fmt(value: Any, fmt: str = "{:.2f}", unit: str = "") -> str:
    x = _num(value)
    if x is None:
        return ""
    return fmt.format(x) + (f" {unit}" if unit else "")


def _date_text(value: Any, lang: str) -> str:
    """A date for people to read, the language's way (``15 ene 2025``); "" for none."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return format_date(pd.Timestamp(value).date(), lang)


def popup_rows(row: pd.Series, lang: str, t: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The (word key, escaped value) rows of a plot's popup; empty values left out.

    The rotation rows (who grazes now and next, when the plot rests) are not among
    them: the page reads them from the plan for the day it is opened.
    """
    t = t or words(lang)
    conditions, risks = condition_words(lang), risk_words(lang)
    values: dict[str, str] = {}
    values["community"] = esc(row.get(S.COMMUNITY))
    values["area"] = esc(_fmt(row.get(S.AREA_HA), "{:.1f}", "ha"))
    ptype = row.get(S.PASTURE_TYPE)
    # the local names (bofedal, pajonal...) are what technicians say in either language
    values["pasture_type"] = esc(S.PASTURE_TYPE_LABELS_ES.get(ptype, ptype) if ptype else "")
    values["condition"] = esc(conditions.get(row.get(S.RANGE_CONDITION), ""))
    cap_text = _fmt(row.get(S.CAPACITY_UO), "{:.1f}", "UO")
    method = row.get(S.FORAGE_METHOD)
    if cap_text and isinstance(method, str) and method.startswith("pasture-type default"):
        cap_text += f" ({t['type_default']})"  # not from the imagery: say so
    values["capacity"] = esc(cap_text)
    stock_text = _fmt(row.get(S.STOCKING_UO), "{:.1f}", "UO")
    ratio = _num(row.get(S.PRESSURE_RATIO))
    if stock_text and ratio is not None:
        stock_text += f" ({ratio:.1f} {t['times_capacity']})"
    values["stocking"] = esc(stock_text)
    ndvi = _fmt(row.get(O.NDVI_LAST), "{:.2f}")
    when = _date_text(row.get(O.NDVI_LAST_DATE), lang)
    values["ndvi_last"] = esc(ndvi + (f" ({when})" if ndvi and when else ""))
    values["anomaly"] = esc(_fmt(row.get(O.NDVI_ANOMALY), "{:+.2f}"))
    trend = _fmt(row.get(S.TREND_PER_YEAR), "{:+.4f}")
    if trend and (row.get(S.BROWNING) is True or row.get(S.BROWNING) == 1):
        trend += f" ({t['browning']})"
    values["trend"] = esc(trend)
    risk = risks.get(row.get(S.RISK_CLASS), "")
    if risk:
        colour = style.RISK_COLOURS.get(row.get(S.RISK_CLASS), style.NO_DATA_COLOUR)
        values["risk"] = f'<span class="sw" style="background:{colour}"></span>{esc(risk)}'
    values["drivers"] = esc(drivers_text(row.get(S.RISK_DRIVERS), lang))
    return [(key, values[key]) for key in POPUP_ROWS if values.get(key)]


def _variable_class(key: str, row: pd.Series) -> int:
    """Index of the plot's colour in :func:`variable_palettes` ``[key]`` (last: no data)."""
    ramps = {
        "ndvi": (style.NDVI_RAMP, O.NDVI_LAST),
        "anomaly": (style.ANOMALY_RAMP, O.NDVI_ANOMALY),
        "trend": (style.TREND_RAMP, S.TREND_PER_YEAR),
        "pressure": (style.PRESSURE_RAMP, S.PRESSURE_RATIO),
    }
    if key in ramps:
        ramp, column = ramps[key]
        x = _num(row.get(column))
        return len(ramp.colours) if x is None else int(np.digitize(x, ramp.breaks))
    classes = S.RANGE_CONDITIONS if key == "condition" else S.RISK_CLASSES
    column = S.RANGE_CONDITION if key == "condition" else S.RISK_CLASS
    value = row.get(column)
    return classes.index(value) if value in classes else len(classes)


def variable_palettes() -> dict[str, list[str]]:
    """Colours of each plot variable's classes, the no-data grey last."""
    nd = [style.NO_DATA_COLOUR]
    return {
        "ndvi": [*style.NDVI_RAMP.colours, *nd],
        "anomaly": [*style.ANOMALY_RAMP.colours, *nd],
        "trend": [*style.TREND_RAMP.colours, *nd],
        "condition": [style.CONDITION_COLOURS[c] for c in S.RANGE_CONDITIONS] + nd,
        "pressure": [*style.PRESSURE_RAMP.colours, *nd],
        "risk": [style.RISK_COLOURS[c] for c in S.RISK_CLASSES] + nd,
    }


def _variable_value(key: str, row: pd.Series, lang: str) -> str:
    if key == "condition":
        return condition_words(lang).get(row.get(S.RANGE_CONDITION), "")
    if key == "risk":
        return risk_words(lang).get(row.get(S.RISK_CLASS), "")
    column = dict(PLOT_VARIABLES)[key]
    fmt = {"trend": "{:+.4f}", "anomaly": "{:+.2f}", "pressure": "{:.1f}"}.get(key, "{:.2f}")
    return _fmt(row.get(column), fmt)


def _features(gdf: Any, kind: str, properties: list[dict[str, Any]]) -> dict[str, Any]:
    """GeoJSON (EPSG:4326, rounded) of a layer with the given properties per feature."""
    import shapely

    geoms = gdf.geometry
    tolerance = SIMPLIFY_M.get(kind)
    if tolerance:
        geoms = geoms.simplify(tolerance, preserve_topology=True)
    geoms = geoms.to_crs(S.LONLAT_CRS)
    features = []
    for geom, props in zip(geoms, properties, strict=True):
        if geom is None or geom.is_empty:
            continue
        geom = shapely.transform(geom, lambda c: np.round(c, COORD_DECIMALS))  # noqa: PLW2901
        features.append(
            {"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props}
        )
    return {"type": "FeatureCollection", "features": features}


# --- the rotation plan, whole ---------------------------------------------------------------


def heads_words(row: pd.Series, t: dict[str, str]) -> str:
    """Whole heads by species of a schedule row: ``120 alp, 30 sh`` (zeros left out)."""
    parts = []
    for column, key in HEAD_WORDS:
        n = _num(row.get(column))
        if n:
            parts.append(f"{round(n)} {t[key]}")
    return ", ".join(parts)


def rotation_plan(
    run: O.RunOutputs, plot_codes: list[str], t: dict[str, str]
) -> dict[str, Any] | None:
    """The whole rotation plan for the page, or None when the run has none.

    Returns ``start`` and ``end`` (ISO dates of the plan's first and last day),
    ``groups`` (per group: escaped ``id``, ``heads`` by species and ``families``),
    and ``stays``: per plot of `plot_codes`, a flat list ``[first, last, group, ...]``
    of the days (offsets from ``start``, both inclusive) each group stays on it.
    """
    schedule = run.table("schedule")
    if schedule is None or schedule.empty:
        return None
    gid = S.GROUP_ID if S.GROUP_ID in schedule.columns else S.HERD_ID
    start = pd.to_datetime(schedule[S.START])
    end = pd.to_datetime(schedule[S.END])
    first = start.min().date()
    ids = sorted(schedule[gid].astype(str).unique())
    index = {g: k for k, g in enumerate(ids)}
    one_row = schedule.assign(_gid=schedule[gid].astype(str)).drop_duplicates("_gid")
    heads = {r["_gid"]: heads_words(r, t) for _, r in one_row.iterrows()}
    families: dict[str, str] = {}
    groups_table = run.table("groups")
    if groups_table is not None and S.GROUP_ID in groups_table.columns:
        for g, rows in groups_table.groupby(groups_table[S.GROUP_ID].astype(str)):
            families[str(g)] = ", ".join(rows[S.FAMILY_ID].astype(str))
    day0 = pd.Timestamp(first)
    table = pd.DataFrame(
        {
            "code": schedule[S.LOCATION_ID].astype(str),
            "s": (start - day0).dt.days,
            "e": (end - day0).dt.days,
            "g": schedule[gid].astype(str).map(index),
        }
    ).sort_values(["code", "s", "g"])
    by_code = {
        code: rows[["s", "e", "g"]].to_numpy(dtype=int).ravel().tolist()
        for code, rows in table.groupby("code")
    }
    return {
        "start": first.isoformat(),
        "end": end.max().date().isoformat(),
        "groups": [
            {"id": esc(g), "heads": esc(heads.get(g, "")), "families": esc(families.get(g, ""))}
            for g in ids
        ],
        "stays": [by_code.get(str(code), []) for code in plot_codes],
    }


# --- everything the page draws --------------------------------------------------------------


def _series_table(run: O.RunOutputs) -> tuple[list[str], dict[str, list[int | None]]]:
    """The run's NDVI dates (ISO) and, per plot, its values on them in thousandths.

    None where the plot has no value on a date.
    """
    series = O.ndvi_series(run)
    if series.empty:
        return [], {}
    dates = sorted(series[S.DATE].unique())
    wide = series.pivot_table(index=S.PLOT_CODE, columns=S.DATE, values=S.VALUE, aggfunc="mean")
    wide = (wide.reindex(columns=dates) * SERIES_SCALE).round()
    out = {
        str(code): [None if not np.isfinite(v) else int(v) for v in row]
        for code, row in zip(wide.index, wide.to_numpy(), strict=True)
    }
    return [pd.Timestamp(d).date().isoformat() for d in dates], out


def map_data(run: O.RunOutputs, *, lang: str = "es", on: dt.date | None = None) -> dict[str, Any]:
    """Everything the page's script draws, as JSON-ready data (all text escaped HTML).

    Parameters
    ----------
    run
        From :func:`pastures.outputs.read_run`.
    lang
        Language of the words.
    on
        The date the rotation is read for; by default the page reads it for the day
        it is opened, on the device's clock.
    """
    t = run_text(run, lang)
    status = O.plot_status(run)
    dates, series = _series_table(run)
    codes = [str(c) for c in status[S.PLOT_CODE]]
    plot_props = []
    for code, (_, row) in zip(codes, status.iterrows(), strict=True):
        values = {k: _variable_value(k, row, lang) for k, _ in PLOT_VARIABLES}
        plot_props.append(
            {
                "code": esc(code),
                "community": str(row.get(S.COMMUNITY, "") or ""),
                "c": [_variable_class(k, row) for k, _ in PLOT_VARIABLES],
                "v": [esc(values[k]) for k, _ in PLOT_VARIABLES],
                "r": [[POPUP_ROWS.index(k), v] for k, v in popup_rows(row, lang, t)],
                "n": series.get(code, []),
                "i": len(plot_props),  # index into the plan's stays
            }
        )
    plots = _features(status, S.PLOTS, plot_props)
    communities = run.communities
    # labels at the centroid, or at a point inside where a concave outline leaves it out
    centroids = communities.geometry.centroid
    inside = centroids.where(
        centroids.within(communities.geometry), communities.geometry.representative_point()
    ).to_crs(S.LONLAT_CRS)
    community_props = [
        {
            "label": esc(name),
            "name": str(name),
            "at": (
                [round(pt.y, COORD_DECIMALS), round(pt.x, COORD_DECIMALS)]
                if pt is not None and not pt.is_empty
                else None
            ),
        }
        for name, pt in zip(communities.get(S.COMMUNITY, []), inside, strict=True)
    ]

    def point_props(gdf: Any, key: str, word: str) -> list[dict[str, Any]]:
        out = []
        for _, r in gdf.iterrows():
            parts = [f"<b>{esc(word)} {esc(r.get(key))}</b>"]
            if r.get(S.COMMUNITY) is not None and not pd.isna(r.get(S.COMMUNITY)):
                parts.append(esc(r.get(S.COMMUNITY)))
            if r.get(S.WATER_KIND) is not None and not pd.isna(r.get(S.WATER_KIND)):
                parts.append(esc(r.get(S.WATER_KIND)))
            out.append({"tip": "<br>".join(parts)})
        return out

    legends = style.variable_legends(t, condition_words(lang), risk_words(lang))
    legends["points"] = style.legend_html(
        [(style.CORRAL_COLOUR, t["corrals"]), (style.WATER_COLOUR, t["water"])],
        t["legend_points"],
    )
    soil = style.SOIL_LOSS_RAMP.labels("{:g}")
    legends["soil_loss"] = style.legend_html(
        list(zip(style.YLORBR_6, soil, strict=True)), t["legend_soil_loss"]
    )
    risks = risk_words(lang)
    legends["risk_raster"] = style.legend_html(
        [(style.RISK_COLOURS[c], risks[c]) for c in S.RISK_CLASSES], t["legend_risk_raster"]
    )
    kept = [f["properties"]["i"] for f in plots["features"]]
    plan = rotation_plan(run, codes, t)
    if plan is not None:
        plan["stays"] = [plan["stays"][k] for k in kept]
    for k, feature in enumerate(plots["features"]):
        feature["properties"]["i"] = k
    return {
        "plots": plots,
        "communities": _features(communities, S.COMMUNITIES, community_props),
        "corrals": _features(
            run.corrals, S.CORRALS, point_props(run.corrals, S.CORRAL_ID, t["corral"])
        ),
        "water": _features(
            run.water_points,
            S.WATER_POINTS,
            point_props(run.water_points, S.WATER_ID, t["water_point"]),
        ),
        # only the variables the run has values of
        "variables": [
            {"key": k, "label": esc(t[k]), "at": n}
            for n, (k, column) in enumerate(PLOT_VARIABLES)
            if column in status.columns and status[column].notna().any()
        ],
        "palettes": [variable_palettes()[k] for k, _ in PLOT_VARIABLES],
        "popup_words": [esc(t[k]) for k in POPUP_ROWS],
        "code_word": esc(t["code"]),
        "series_word": esc(t["series"]),
        "dates": dates,
        "series_scale": SERIES_SCALE,
        "plan": plan,
        "on": on.isoformat() if on else None,
        "lang": lang,  # the page writes its dates this language's way (Intl.DateTimeFormat)
        "soon_days": NEXT_WEEK_DAYS,
        "legends": legends,
        "rotation_colours": list(style.ROTATION_COLOURS),
        "text": {k: esc(t[k]) for k in SCRIPT_WORDS},
    }
