"""From a project and its forage budget to the planner's inputs.

Every forage figure comes from the forage budget (:func:`pastures.forage.forage_budget`):
with an index table, each plot's production and standing stock come from the
vegetation index; without one, from the production of its pasture type. Intake and
animal units come from the budget's parameters (:mod:`pastures.animals`), so the
planner and the budget never disagree. Each location records its source.
"""

from __future__ import annotations

import calendar
import logging
import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pastures import schema as S
from pastures.errors import ParameterError
from pastures.i18n import N_, _
from pastures.rotation.groups import (
    DEFAULT_MAX_GROUP_HEADS,
    DEFAULT_MIN_GROUP_HEADS,
    grazing_groups,
)
from pastures.rotation.model import (
    DEFAULT_START,
    Closure,
    HerdGroup,
    Location,
    RotationInputs,
    open_range_id,
)

if TYPE_CHECKING:
    from pastures.forage import ForageBudget, ForageParams
    from pastures.layers import Project

logger = logging.getLogger(__name__)

#: Families of one corral are packed into herd groups of at most this load (UO).
DEFAULT_MAX_GROUP_UO = 400.0


def growth_per_period(
    annual_kg: float, months: Sequence[float], *, start: date, period_days: int, n_periods: int
) -> tuple[float, ...]:
    """Split a yearly amount (kg) into periods by monthly shares (January first).

    Each day gets its month's share divided by the month's length (a 365-day year: 29
    February takes February's daily share); periods sum their days.
    """
    out: list[float] = []
    day = start
    for _period in range(n_periods):
        acc = 0.0
        for _day in range(period_days):
            days_in_month = 28 if day.month == 2 else calendar.monthrange(2025, day.month)[1]
            acc += annual_kg * months[day.month - 1] / days_in_month
            day += timedelta(days=1)
        out.append(acc)
    return tuple(out)


def group_families(
    herds: pd.DataFrame,
    uo: np.ndarray,
    corrals: pd.DataFrame,
    *,
    max_group_uo: float = DEFAULT_MAX_GROUP_UO,
    labour: Mapping[str, float] | None = None,
) -> tuple[HerdGroup, ...]:
    """Pack the families of each corral into herd groups of at most `max_group_uo`.

    First-fit decreasing by UO, families in register order on ties, so the grouping
    is deterministic. A group's share key is its labour days (given per family in
    `labour`), else its UO.
    """
    import shapely

    if max_group_uo <= 0:
        raise ParameterError(
            _("max_group_uo = {max_group_uo}: use > 0 UO").format(max_group_uo=max_group_uo)
        )
    where = {}
    for _unused, row in corrals.iterrows():
        pt = shapely.point_on_surface(row.geometry)
        where[str(row[S.CORRAL_ID])] = (float(pt.x), float(pt.y))
    frame = herds.assign(_uo=uo, _pos=np.arange(len(herds)))
    groups: list[HerdGroup] = []
    for (com, corral), part in frame.groupby([S.COMMUNITY, S.CORRAL_ID], sort=True):
        if str(corral) not in where:
            continue  # reported by load_project (herd-corral rule)
        bins: list[list[tuple[str, float]]] = []
        loads: list[float] = []
        for _unused, fam in part.sort_values(["_uo", "_pos"], ascending=[False, True]).iterrows():
            if fam["_uo"] <= 0:
                continue
            for b, load in enumerate(loads):
                if load + fam["_uo"] <= max_group_uo:
                    bins[b].append((str(fam[S.FAMILY_ID]), float(fam["_uo"])))
                    loads[b] += fam["_uo"]
                    break
            else:
                bins.append([(str(fam[S.FAMILY_ID]), float(fam["_uo"]))])
                loads.append(float(fam["_uo"]))
        x, y = where[str(corral)]
        for b, members in enumerate(bins, start=1):
            fams = tuple(f for f, _ in members)
            key = sum(labour.get(f, 0.0) for f in fams) if labour is not None else 0.0
            groups.append(
                HerdGroup(
                    herd_id=f"{corral}-G{b}",
                    community=str(com),
                    corral_id=str(corral),
                    uo=round(sum(u for _, u in members), 2),
                    x=x,
                    y=y,
                    families=fams,
                    share_key=key,
                )
            )
    return tuple(groups)


def rotation_inputs_from_project(
    project: Project,
    *,
    budget: ForageBudget | None = None,
    forage_params: ForageParams | None = None,
    start: date | None = None,
    n_periods: int = 52,
    period_days: int = 7,
    closures: Sequence[Closure] = (),
    labour: Mapping[str, float] | None = None,
    max_group_uo: float = DEFAULT_MAX_GROUP_UO,
    reserve: bool = True,
    open_in_rains: Sequence[str] = (),
    recovery: Sequence[str] = (),
    parturition: Sequence[str] = (),
    min_group_heads: int = DEFAULT_MIN_GROUP_HEADS,
    max_group_heads: int = DEFAULT_MAX_GROUP_HEADS,
) -> RotationInputs:
    """Build planner inputs from a loaded project and its forage budget.

    Parameters
    ----------
    project
        Layers and herd register (:func:`pastures.layers.load_project`).
    budget
        The forage budget of the project (:func:`pastures.forage.forage_budget`, with
        ``index_table=`` from ``pastures indices`` for plans from the satellite). None:
        the budget is computed here without imagery, from the production of each
        pasture type (and `forage_params`).
    forage_params
        Parameters of the budget computed here (ignored when `budget` is given: its own
        parameters are used).
    start
        First day of the horizon (default 2026-01-05, a Monday, so sample plans repeat).
    n_periods, period_days
        Horizon: 52 periods of 7 days by default.
    closures
        Locations closed for some dates.
    labour
        Labour days each family gave to the fencing, by family id: the share key.
    max_group_uo
        Families of a corral are packed into herd groups of at most this load (UO).
    reserve
        Close every plot in its pasture type's growing-season months
        (:data:`pastures.rotation.model.DEFAULT_CLOSED_MONTHS`): the dry-season reserve.
    open_in_rains
        Plot codes the project grazes in the growing season too (no reserve closure).
    recovery
        Plot codes set for recovery: closed the whole horizon (no grazing this year).
    parturition
        Plot codes kept for mothers at parturition: open in the growing season.
    min_group_heads, max_group_heads
        Fewest and most heads in a grazing group (:mod:`pastures.rotation.groups`).

    Returns
    -------
    RotationInputs
        One location per plot: usable growth per period = the budget's available forage
        (production x proper-use factor, kg DM/ha/yr) x area, spread by the pasture
        type's monthly growth shares; usable standing stock at the start = the budget's
        ``standing_available_kg_ha`` x area (latest index estimate, else the modelled
        ungrazed stock). One open range per community with herds: the budget's open
        range area x its production (from the index over the range with quadrat cuts,
        else the default), all of it (proper use is the planner's residual rule),
        spread by the open range's growth shares; its standing forage at the start is
        :func:`range_standing_start`'s.

    Raises
    ------
    ParameterError
        A horizon of no days, or a bad group size.
    """
    from pastures.animals import herd_animal_units
    from pastures.forage import (
        OPEN_RANGE,
        forage_budget,
        growth_shares,
        open_range_production,
    )

    if n_periods <= 0 or period_days <= 0:
        raise ParameterError(
            _(
                "the horizon is {n_periods} period(s) of {period_days} day(s): give at "
                "least one period of at least one day (default 52 weeks)."
            ).format(n_periods=n_periods, period_days=period_days)
        )
    if budget is None:
        budget = forage_budget(project, params=forage_params)
    fp = budget.params
    start = start or DEFAULT_START
    uo = herd_animal_units(project.herds, fp.units).to_numpy(float) if len(project.herds) else []
    herds = group_families(
        project.herds, np.asarray(uo), project.corrals, max_group_uo=max_group_uo, labour=labour
    )

    def spread(annual: float, shares: np.ndarray) -> tuple[float, ...]:
        return growth_per_period(
            annual, shares, start=start, period_days=period_days, n_periods=n_periods
        )

    locations: list[Location] = []
    plots = budget.plots
    geoms = project.plots.set_index(S.PLOT_CODE).geometry
    for _unused, row in plots.iterrows():
        code = str(row[S.PLOT_CODE])
        ptype = str(row[S.PASTURE_TYPE])
        area = float(row[S.AREA_HA])
        shares = growth_shares(fp.pasture_type(ptype).uniform_growth_share, fp.monthly_rain_mm)
        pt = geoms.loc[code].representative_point() if code in geoms.index else row.geometry
        locations.append(
            Location(
                location_id=code,
                community=str(row[S.COMMUNITY]),
                kind="plot",
                pasture_type=ptype,
                area_ha=area,
                x=float(pt.x),
                y=float(pt.y),
                growth_kg=spread(float(row[S.AVAILABLE]) * area, shares),
                initial_kg=max(float(row[S.STANDING_KG_HA]) * area, 0.0),
                source=str(row[S.FORAGE_METHOD]),
            )
        )
    com = budget.communities
    open_ha = dict(zip(com[S.COMMUNITY].astype(str), com[S.OPEN_RANGE_HA], strict=True))
    default_prod = open_range_production(fp)[0]
    default_source = f"open range default: {fp.open_range.source}"
    by_index = {}  # a budget of an older run folder may lack the per-community columns
    if S.OPEN_PRODUCTION in com.columns and S.OPEN_METHOD in com.columns:
        by_index = {
            str(c): (float(v), str(m))
            for c, v, m in zip(
                com[S.COMMUNITY], com[S.OPEN_PRODUCTION], com[S.OPEN_METHOD], strict=True
            )
            if math.isfinite(float(v))
        }
    shares = growth_shares(fp.open_range.uniform_growth_share, fp.monthly_rain_mm)
    keep = (1.0 - fp.standing_loss_per_month) ** (period_days * 12 / 365.25)
    intake = fp.kg_dm_per_uo_day * period_days
    for name in sorted({h.community for h in herds}):
        prod, source = by_index.get(name, (default_prod, default_source))
        ha = float(open_ha.get(name, 0.0))
        if not math.isfinite(ha):
            ha = 0.0
        n_year = max(1, round(365 / period_days))
        before = growth_per_period(
            prod * ha,
            shares,
            start=start - timedelta(days=n_year * period_days),
            period_days=period_days,
            n_periods=n_year,
        )
        plots_year = sum(
            sum(loc.growth_kg[: min(n_year, n_periods)])
            for loc in locations
            if loc.community == name
        )
        demand = sum(h.uo for h in herds if h.community == name) * intake
        locations.append(
            Location(
                location_id=open_range_id(name),
                community=name,
                kind="open_range",
                pasture_type=OPEN_RANGE,
                area_ha=ha,
                x=math.nan,
                y=math.nan,
                growth_kg=spread(prod * ha, shares),
                initial_kg=range_standing_start(
                    before, max(demand - plots_year / n_year, 0.0), keep=keep
                ),
                source=source,
            )
        )
    groups = grazing_groups(
        project.herds,
        project.corrals,
        units=fp.units,
        min_heads=min_group_heads,
        max_heads=max_group_heads,
    )
    closures, strategies = plot_strategies(
        [loc for loc in locations if loc.kind == "plot"],
        closures,
        start=start,
        n_days=n_periods * period_days,
        reserve=reserve,
        open_in_rains=open_in_rains,
        recovery=recovery,
        parturition=parturition,
    )
    return RotationInputs(
        herds=herds,
        locations=tuple(locations),
        start=start,
        period_days=period_days,
        n_periods=n_periods,
        intake_kg_per_uo_day=fp.kg_dm_per_uo_day,
        standing_loss_per_month=fp.standing_loss_per_month,
        closures=tuple(closures),
        intake_source=fp.units.source,
        range_use_factor=fp.use_factor,
        groups=groups,
        strategies=strategies,
    )


#: How the open range's standing forage at the start is worked out (in rotation_deficit.csv,
#: translated into the project's language when written).
RANGE_START_SOURCE = N_(
    "modelled: the open range's growth of the year before the plan, decaying as standing "
    "forage does, grazed every week by the community's herd less what its plots supply"
)


def range_standing_start(
    growth_before: Sequence[float], demand_per_period: float, *, keep: float
) -> float:
    """Standing forage on an open range when the plan starts (kg DM).

    The stock of the year before the start, from an empty range: each period the year's
    growth comes in, the herd eats `demand_per_period` of what stands (never more), and
    what is left decays by `keep`. See :data:`RANGE_START_SOURCE`.
    """
    stock = 0.0
    for grow in growth_before:
        stands = stock + grow
        stock = keep * max(stands - demand_per_period, 0.0)
    return stock


#: Why a plot is grazed when it is, by strategy (the plan's plot table states it).
STRATEGY_WHY = {
    "reserve": "dry-season reserve: closed in the growing season ({months}) to recover and "
    "set seed, grazed as standing hay in the dry season",
    "open": "grazed in the growing season too, as the project asks",
    "recovery": "recovery: no grazing in this plan, as the project asks",
    "parturition": "kept for mothers at parturition: open in the growing season",
}


def plot_strategies(
    plots: Sequence[Location],
    closures: Sequence[Closure],
    *,
    start: date,
    n_days: int,
    reserve: bool = True,
    open_in_rains: Sequence[str] = (),
    recovery: Sequence[str] = (),
    parturition: Sequence[str] = (),
) -> tuple[tuple[Closure, ...], tuple[tuple[str, str, str], ...]]:
    """Each plot's strategy and the closures it brings.

    Returns
    -------
    closures, strategies
        The given closures plus the strategies' (growth-season closures of the reserve,
        the whole horizon for recovery); ``(plot code, strategy, why)`` per plot.

    Raises
    ------
    ParameterError
        A plot code named that is not a plot, or a plot given two strategies.
    """
    from pastures.rotation.model import DEFAULT_CLOSED_MONTHS

    codes = {p.location_id for p in plots}
    asked = {"open": set(open_in_rains), "recovery": set(recovery), "parturition": set(parturition)}
    bad = sorted(set().union(*asked.values()) - codes)
    if bad:
        raise ParameterError(
            _(
                "plot(s) {value} named for a strategy are not plots of the project: "
                "check the plot codes."
            ).format(value=", ".join(bad))
        )
    twice = sorted(c for c in codes if sum(c in names for names in asked.values()) > 1)
    if twice:
        raise ParameterError(
            _(
                "plot(s) {value} are given two strategies: give each plot one of open in "
                "the rains, recovery or parturition."
            ).format(value=", ".join(twice))
        )
    out = list(closures)
    strategies = []
    end = start + timedelta(days=n_days - 1)
    for p in plots:
        code = p.location_id
        kind = next((k for k, names in asked.items() if code in names), None)
        months = DEFAULT_CLOSED_MONTHS.get(p.pasture_type, DEFAULT_CLOSED_MONTHS["*"])
        if kind == "recovery":
            out.append(Closure(code, start, end, "recovery"))
        elif kind is None and reserve:
            kind = "reserve"
            day = start
            run: date | None = None
            while day <= end + timedelta(days=1):
                shut = day <= end and day.month in months
                if shut and run is None:
                    run = day
                elif not shut and run is not None:
                    out.append(Closure(code, run, day - timedelta(days=1), "growing season"))
                    run = None
                day += timedelta(days=1)
        kind = kind or "open"
        names = ", ".join(calendar.month_abbr[m] for m in months)
        strategies.append((code, kind, STRATEGY_WHY[kind].format(months=names)))
    return tuple(out), tuple(strategies)


#: Columns a plot table from ``pastures forage`` must hold to feed the planner.
BUDGET_PLOT_COLUMNS = (S.PLOT_CODE, S.AVAILABLE, S.STANDING_KG_HA, S.FORAGE_METHOD)


def budget_with_plot_table(
    budget: ForageBudget, table: pd.DataFrame, *, source: str = "forage plot table"
) -> ForageBudget:
    """The budget with each plot's forage taken from a plot table written by ``pastures forage``.

    Parameters
    ----------
    budget
        A budget of the same project (e.g. without imagery).
    table
        ``forage_plots.csv`` (or .xlsx) of a ``pastures forage`` run: ``plot_code``,
        ``available_kg_ha_yr``, ``standing_available_kg_ha``, ``forage_method``.
    source
        Name of the table, for messages.

    Raises
    ------
    ParameterError
        A column is missing, a plot of the project is not in the table, or a value is
        not a number >= 0; the message names them all.
    """
    from dataclasses import replace

    missing = [c for c in BUDGET_PLOT_COLUMNS if c not in table.columns]
    if missing:
        raise ParameterError(
            _(
                "{source}: no column {value}. Give the forage_plots table written by "
                "`pastures forage`."
            ).format(source=source, value=", ".join(missing))
        )
    rows = table.assign(**{S.PLOT_CODE: table[S.PLOT_CODE].astype(str)}).set_index(S.PLOT_CODE)
    codes = budget.plots[S.PLOT_CODE].astype(str)
    absent = sorted(set(codes) - set(rows.index))
    problems = [f"plot(s) {', '.join(absent)} not in the table"] if absent else []
    plots = budget.plots.copy()
    for col in (S.AVAILABLE, S.STANDING_KG_HA):
        values = pd.to_numeric(rows[col], errors="coerce")
        bad = sorted(values.index[~(values >= 0)].astype(str))
        if bad:
            problems.append(f"{col} is not a number >= 0 for {', '.join(bad)}")
        plots[col] = codes.map(values).to_numpy()
    if problems:
        raise ParameterError(f"{source}: " + "; ".join(problems) + ". Run `pastures forage` again.")
    plots[S.FORAGE_METHOD] = codes.map(rows[S.FORAGE_METHOD].astype(str)).to_numpy()
    return replace(budget, plots=plots)
