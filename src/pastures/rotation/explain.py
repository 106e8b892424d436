"""What a plan means for people: fodder needs by community and week, and every plot's story.

:func:`fodder_notes` turns the open-range overuse and fodder of a plan into runs of
weeks per community, with the animals to feed or destock; :func:`plot_status` tells,
for every plot, when and by whom it is grazed, or why not (closed, too far, no forage,
not needed, not worth a stay).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pastures import schema as S
from pastures.rotation.model import closed_mask, distance_m

if TYPE_CHECKING:
    from pastures.rotation.dispatch import GroupPlan
    from pastures.rotation.plan import RotationPlan

#: Reasons a plot is not grazed (column ``reason`` of :func:`plot_status`).
REASONS = {
    "closed": "closed for the whole horizon",
    "no herds": "no herd of the community (or allowed to graze it) in the register",
    "too far": "no herd's corral within the walking limit",
    "no forage": "no usable forage",
    "not needed": "the open range met the community's demand whenever the plot was open",
    "not worth a stay": "the forage it would give is worth less than a stay (walk, entry)",
}


@dataclass(frozen=True)
class FodderNote:
    """A run of periods in which a community's open range is overused or short.

    Attributes
    ----------
    community
        The community.
    first_period, last_period
        The run (inclusive).
    overuse_kg
        Demand eaten from the range's reserve beyond its proper use, kg DM.
    fodder_kg
        Demand no forage met: fodder to bring or animals to destock, kg DM.
    destock_uo
        Mean UO over the run that the fodder stands for (fodder / intake / days).
    message
        One sentence for the planner.
    """

    community: str
    first_period: int
    last_period: int
    overuse_kg: float
    fodder_kg: float
    destock_uo: float
    message: str


def fodder_notes(plan: RotationPlan, *, min_share: float = 0.0) -> list[FodderNote]:
    """Runs of periods with range overuse or fodder need, per community.

    Parameters
    ----------
    plan
        A plan.
    min_share
        Periods whose overuse plus fodder is below this share of the community's demand
        are left out.
    """
    inp = plan.inputs
    c = inp.kg_per_uo_period
    notes: list[FodderNote] = []
    for i, loc in enumerate(inp.locations):
        if loc.kind != "open_range":
            continue
        uo = sum(h.uo for h in inp.herds if h.community == loc.community)
        demand = uo * c
        short = plan.overuse_kg[i] + plan.fodder_kg[i]
        flag = short > max(min_share * demand, 0.5)
        t = 0
        while t < inp.n_periods:
            if not flag[t]:
                t += 1
                continue
            u = t
            while u + 1 < inp.n_periods and flag[u + 1]:
                u += 1
            over = float(plan.overuse_kg[i, t : u + 1].sum())
            fod = float(plan.fodder_kg[i, t : u + 1].sum())
            uo_out = fod / (c * (u - t + 1))
            first, last = inp.period_start(t), inp.period_end(u)
            msg = (
                f"{loc.community}, {first:%d %b} to {last:%d %b %Y}: the open range is grazed "
                f"{over / 1000:,.1f} t DM beyond its proper use"
            )
            if fod > 0.5:
                msg += (
                    f"; {fod / 1000:,.1f} t DM of fodder needed, or about {uo_out:,.0f} UO "
                    "sold or moved out for those weeks"
                )
            notes.append(FodderNote(loc.community, t, u, over, fod, uo_out, msg + "."))
            t = u + 1
    return notes


def fodder_table(plan: RotationPlan) -> pd.DataFrame:
    """Per community and period with overuse or fodder: kg DM and UO to feed or destock."""
    inp = plan.inputs
    c = inp.kg_per_uo_period
    rows = []
    for i, loc in enumerate(inp.locations):
        if loc.kind != "open_range":
            continue
        for t in range(inp.n_periods):
            over, fod = plan.overuse_kg[i, t], plan.fodder_kg[i, t]
            if over < 0.5 and fod < 0.5:
                continue
            rows.append(
                {
                    S.COMMUNITY: loc.community,
                    S.START: inp.period_start(t).isoformat(),
                    S.END: inp.period_end(t).isoformat(),
                    "range_eaten_kg": round(float(plan.eaten_kg[i, t])),
                    "overuse_kg": round(float(over)),
                    "fodder_kg": round(float(fod)),
                    "destock_uo": round(float(fod) / c, 1),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[S.COMMUNITY, S.START, S.END, "range_eaten_kg", "overuse_kg", "fodder_kg",
                 "destock_uo"],
    )  # fmt: skip


def plot_status(plan: RotationPlan) -> pd.DataFrame:
    """Every plot: when and by whom it is grazed, how much of its forage, or why not.

    Returns
    -------
    pandas.DataFrame
        One row per plot: ``location_id``, ``community``, pasture type, area, supply
        ``source``, ``usable_kg`` (starting stock + usable growth over the horizon),
        ``eaten_kg``, ``grazed_periods``, ``first_grazed``, ``last_grazed``, ``herds``,
        ``status`` (``grazed`` or ``unused``), ``reason``, ``closures``.
    """
    inp, par = plan.inputs, plan.params
    closed = closed_mask(inp, par)
    a = plan.allocation
    rows = []
    for i, loc in enumerate(inp.locations):
        if loc.kind != "plot":
            continue
        mine = a[a["location"] == i]
        periods = sorted(set(mine["period"].tolist()))
        usable = loc.initial_kg + float(np.sum(loc.growth_kg))
        reasons = sorted({cl.reason for cl in inp.closures if cl.location_id == loc.location_id})
        row = {
            S.LOCATION_ID: loc.location_id,
            S.COMMUNITY: loc.community,
            S.PASTURE_TYPE: loc.pasture_type,
            S.AREA_HA: round(loc.area_ha, 2),
            "source": loc.source,
            "usable_kg": round(usable),
            "eaten_kg": round(float(plan.eaten_kg[i].sum())),
            "grazed_periods": len(periods),
            "first_grazed": inp.period_start(periods[0]).isoformat() if periods else "",
            "last_grazed": inp.period_end(periods[-1]).isoformat() if periods else "",
            "herds": "+".join(sorted({inp.herds[h].herd_id for h in mine["herd"]})),
            "status": "grazed" if periods else "unused",
            "reason": "",
            "closures": "; ".join(reasons),
        }
        if not periods:
            row["reason"] = _why_unused(plan, i, closed, plan.overuse_kg, plan.fodder_kg)
        rows.append(row)
    return pd.DataFrame(rows)


def group_plot_status(gp: GroupPlan) -> pd.DataFrame:
    """Every plot in the plan of whole groups: when and which groups graze it, or why not.

    The same rows and columns as :func:`plot_status`, but from what herders are told
    (``GroupPlan.place``), not from the solver's UO: ``eaten_kg`` is what the groups on
    the plot eat (the sum of ``forage_used_kg`` of its stays in ``rotation_schedule.csv``),
    ``grazed_periods`` the periods with a group on it, and ``groups`` the group ids.
    """
    inp, par = gp.inputs, gp.plan.params
    closed = closed_mask(inp, par)
    rows = []
    for i, loc in enumerate(inp.locations):
        if loc.kind != "plot":
            continue
        periods = [t for t in range(inp.n_periods) if np.any(gp.place[:, t] == i)]
        ids = sorted({gp.groups[k].group_id for k in np.nonzero((gp.place == i).any(axis=1))[0]})
        reasons = sorted({cl.reason for cl in inp.closures if cl.location_id == loc.location_id})
        rows.append(
            {
                S.LOCATION_ID: loc.location_id,
                S.COMMUNITY: loc.community,
                S.PASTURE_TYPE: loc.pasture_type,
                S.AREA_HA: round(loc.area_ha, 2),
                "source": loc.source,
                "usable_kg": round(loc.initial_kg + float(np.sum(loc.growth_kg))),
                "eaten_kg": round(float(gp.eaten_kg[i].sum())),
                "grazed_periods": len(periods),
                "first_grazed": inp.period_start(periods[0]).isoformat() if periods else "",
                "last_grazed": inp.period_end(periods[-1]).isoformat() if periods else "",
                "groups": "+".join(ids),
                "status": "grazed" if periods else "unused",
                "reason": ""
                if periods
                else _why_unused(gp.plan, i, closed, gp.overuse_kg, gp.fodder_kg),
                "closures": "; ".join(reasons),
            }
        )
    return pd.DataFrame(rows)


def _why_unused(
    plan: RotationPlan, i: int, closed: np.ndarray, overuse: np.ndarray, fodder: np.ndarray
) -> str:
    inp, par = plan.inputs, plan.params
    loc = inp.locations[i]
    if closed[i].all():
        return "closed"
    near = [
        distance_m(h, loc)
        for h in inp.herds
        if h.community == loc.community or not par.own_community_only
    ]
    if not near:
        return "no herds"
    if par.max_walk_m is not None and min(near) > par.max_walk_m:
        return "too far"
    if loc.initial_kg + float(np.sum(loc.growth_kg)) < 1.0:
        return "no forage"
    ranges = [
        k
        for k, other in enumerate(inp.locations)
        if other.kind == "open_range" and other.community == loc.community
    ]
    open_t = ~closed[i]
    short = sum(float((overuse[k] + fodder[k])[open_t].sum()) for k in ranges)
    if short < 0.5:
        return "not needed"
    return "not worth a stay"
