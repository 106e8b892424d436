"""Check a plan against every rule, from its allocation alone.

Independent of the solver and of the model's arrays: the checker reads only the
inputs, the rules and the plan's allocation (UO per herd, plot and period), and
re-simulates the forage on every plot and range period by period.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pastures.rotation.model import DORMANT_SEASONS

if TYPE_CHECKING:
    from pastures.rotation.dispatch import GroupPlan
    from pastures.rotation.model import RotationInputs, RotationParams
    from pastures.rotation.plan import RotationPlan

#: Rules :func:`check_plan` verifies.
CONSTRAINTS = (
    "herd_load",
    "reach",
    "closure",
    "density",
    "plot_forage",
    "rest",
    "max_stay",
    "shares",
    "range_balance",
)
_KG_TOL = 0.5  # kg DM
_UO_TOL = 1e-6
#: Shares may miss their bounds by this much (solver tolerance).
_SHARE_TOL = 1e-6


@dataclass(frozen=True)
class Violation:
    """A rule a plan breaks: which rule, where, when, and by how much."""

    constraint: str
    where: str
    period: int | None
    message: str

    def __str__(self) -> str:
        when = f" in period {self.period}" if self.period is not None else ""
        return f"{self.constraint}: {self.where}{when}: {self.message}"


def check_plan(plan: RotationPlan) -> list[Violation]:  # noqa: PLR0912
    """Every rule the plan breaks (an empty list for a valid plan)."""
    inp, par = plan.inputs, plan.params
    T = inp.n_periods
    out: list[Violation] = []
    a = plan.allocation
    L = len(inp.locations)
    on = np.zeros((L, T))
    herd_t = np.zeros((len(inp.herds), T))
    for h, i, t, uo in zip(a["herd"], a["location"], a["period"], a["uo"], strict=True):
        on[i, t] += uo
        herd_t[h, t] += uo
        herd, loc = inp.herds[h], inp.locations[i]
        if loc.kind != "plot":
            out.append(Violation("reach", loc.location_id, t, "allocation rows are plots only"))
            continue
        if uo < 0:
            out.append(Violation("herd_load", herd.herd_id, t, f"negative UO {uo}"))
        if par.own_community_only and loc.community != herd.community:
            out.append(
                Violation(
                    "reach", herd.herd_id, t, f"grazes {loc.location_id} of another community"
                )
            )
        if par.max_walk_m is not None:
            d = math.hypot(herd.x - loc.x, herd.y - loc.y)
            if d > par.max_walk_m + 1e-6:
                out.append(
                    Violation(
                        "reach", herd.herd_id, t, f"{loc.location_id} is {d:,.0f} m from its corral"
                    )
                )
    for h, herd in enumerate(inp.herds):
        for t in np.flatnonzero(herd_t[h] > herd.uo + _UO_TOL):
            out.append(
                Violation(
                    "herd_load",
                    herd.herd_id,
                    int(t),
                    f"{herd_t[h, t]:.2f} UO on plots of {herd.uo:.2f}",
                )
            )
    _plot_rules(inp, par, on, out)
    if par.family_shares:
        corral_days: dict[str, dict[str, float]] = defaultdict(dict)
        corral_key: dict[str, dict[str, float]] = defaultdict(dict)
        reach: dict[str, dict[str, bool]] = defaultdict(dict)
        for h, herd in enumerate(inp.herds):
            d = corral_days[herd.community]
            d[herd.corral_id] = d.get(herd.corral_id, 0.0) + float(herd_t[h].sum())
            k = corral_key[herd.community]
            k[herd.corral_id] = k.get(herd.corral_id, 0.0) + herd.key
            r = reach[herd.community]
            r[herd.corral_id] = r.get(herd.corral_id, False) or any(
                loc.kind == "plot"
                and (loc.community == herd.community or not par.own_community_only)
                and (
                    par.max_walk_m is None
                    or math.hypot(herd.x - loc.x, herd.y - loc.y) <= par.max_walk_m
                )
                for loc in inp.locations
            )
        for com, days in corral_days.items():
            sharing = [k for k in days if reach[com][k]]
            total = sum(days[k] for k in sharing)
            keys = sum(corral_key[com][k] for k in sharing)
            if len(sharing) < 2 or total <= 0:
                continue
            for k in sharing:
                want = corral_key[com][k] / keys
                got = days[k] / total
                tol = _SHARE_TOL
                if (
                    not (1 - par.share_tolerance) * want - tol
                    <= got
                    <= (1 + par.share_tolerance) * want + tol
                ):
                    out.append(
                        Violation(
                            "shares",
                            f"corral {k}",
                            None,
                            f"{got:.1%} of the plot UO-periods, key share {want:.1%}",
                        )
                    )
    _range_rules(inp, plan, herd_t, out)
    return out


def _plot_rules(  # noqa: PLR0912
    inp: RotationInputs, par: RotationParams, on: np.ndarray, out: list[Violation]
) -> None:
    """Closures, density, forage, rest and longest stay of every plot, from UO on plots."""
    T = inp.n_periods
    c = inp.intake_kg_per_uo_day * inp.period_days
    keep = (1.0 - inp.standing_loss_per_month) ** (inp.period_days * 12 / 365.25)
    # closures, from the dates
    for cl in inp.closures if par.enforce_closures else ():
        for i, loc in enumerate(inp.locations):
            if loc.location_id != cl.location_id:
                continue
            for t in range(T):
                if cl.start <= inp.period_end(t) and cl.end >= inp.period_start(t) and on[i, t]:
                    out.append(
                        Violation("closure", loc.location_id, t, f"grazed while {cl.reason}")
                    )
    rest_of = par.rest_days
    M = (
        None
        if par.max_consecutive_days is None
        else max(par.max_consecutive_days // inp.period_days, 1)
    )
    for i, loc in enumerate(inp.locations):
        if loc.kind != "plot":
            continue
        dens = par.max_uo_per_ha.get(loc.pasture_type, par.max_uo_per_ha.get("*", math.inf))
        stock = loc.initial_kg
        for t in range(T):
            dormant = inp.season(t) in DORMANT_SEASONS  # no density limit on standing hay
            if not dormant and on[i, t] > dens * loc.area_ha + 1e-6:
                out.append(
                    Violation(
                        "density",
                        loc.location_id,
                        t,
                        f"{on[i, t]:.1f} UO on {loc.area_ha:.2f} ha (max {dens} UO/ha)",
                    )
                )
            avail = stock + loc.growth_kg[t]
            eat = on[i, t] * c
            if eat > avail + _KG_TOL:
                out.append(
                    Violation(
                        "plot_forage",
                        loc.location_id,
                        t,
                        f"eats {eat:,.0f} kg DM of {avail:,.0f} usable",
                    )
                )
            stock = keep * max(avail - eat, 0.0)
        grazed = on[i] > 0
        if par.enforce_rest:
            table = rest_of.get(loc.pasture_type, rest_of.get("*", {}))
            for t in range(T - 1):
                if grazed[t] and not grazed[t + 1]:
                    need = math.ceil(table.get(inp.season(t), 0) / inp.period_days)
                    later = np.flatnonzero(grazed[t + 1 :])
                    if len(later) and later[0] < need:
                        out.append(
                            Violation(
                                "rest",
                                loc.location_id,
                                t,
                                f"rested {later[0]} period(s), needs {need}",
                            )
                        )
        if M is not None:
            run = 0
            table = rest_of.get(loc.pasture_type, rest_of.get("*", {}))
            for t in range(T):
                # a stay may restart at once where no rest is due after the period before
                free = t > 0 and (not par.enforce_rest or table.get(inp.season(t - 1), 0) == 0)
                run = (1 if free else run + 1) if grazed[t] else 0
                # while plants are dormant a stay is bounded by forage, not days
                if run > M and inp.season(t) not in DORMANT_SEASONS:
                    out.append(
                        Violation(
                            "max_stay", loc.location_id, t, f"grazed more than {M} periods in a row"
                        )
                    )


def _range_rules(
    inp: RotationInputs, plan: RotationPlan, herd_t: np.ndarray, out: list[Violation]
) -> None:
    """Open ranges: demand not on plots = eaten + fodder; eaten within what stands."""
    T = inp.n_periods
    c = inp.intake_kg_per_uo_day * inp.period_days
    keep = (1.0 - inp.standing_loss_per_month) ** (inp.period_days * 12 / 365.25)
    for i, loc in enumerate(inp.locations):
        if loc.kind == "plot":
            if plan.overuse_kg[i].any() or plan.fodder_kg[i].any():
                out.append(
                    Violation("range_balance", loc.location_id, None, "shortfall placed on a plot")
                )
            continue
        mine = [h for h, herd in enumerate(inp.herds) if herd.community == loc.community]
        stock = loc.initial_kg
        for t in range(T):
            demand = c * sum(inp.herds[h].uo - herd_t[h, t] for h in mine)
            met = plan.eaten_kg[i, t] + plan.fodder_kg[i, t]
            if abs(met - demand) > max(_KG_TOL, 1e-6 * demand):
                out.append(
                    Violation(
                        "range_balance",
                        loc.location_id,
                        t,
                        f"demand {demand:,.0f} kg DM, accounted {met:,.0f}",
                    )
                )
            avail = stock + loc.growth_kg[t]
            if plan.eaten_kg[i, t] > avail + _KG_TOL:
                out.append(
                    Violation(
                        "range_balance",
                        loc.location_id,
                        t,
                        f"eats {plan.eaten_kg[i, t]:,.0f} of {avail:,.0f} standing",
                    )
                )
            if plan.overuse_kg[i, t] > plan.eaten_kg[i, t] + _KG_TOL:
                out.append(Violation("range_balance", loc.location_id, t, "overuse beyond intake"))
            stock = keep * max(avail - plan.eaten_kg[i, t], 0.0)


def check_groups(gp: GroupPlan) -> list[Violation]:  # noqa: PLR0912
    """Every rule a plan of whole groups breaks, from its placements alone.

    Each group is in one place a period (its community's open range or a plot it may
    reach), with whole heads at least the minimum size apart from a corral's whole herd;
    the plots keep every rule of :func:`check_plan` with the groups' UO on them; the open
    range's intake never exceeds what stands, re-simulated here from its growth.
    """
    inp, par = gp.inputs, gp.plan.params
    T, L = inp.n_periods, len(inp.locations)
    c = inp.intake_kg_per_uo_day * inp.period_days
    keep = (1.0 - inp.standing_loss_per_month) ** (inp.period_days * 12 / 365.25)
    out: list[Violation] = []
    on = np.zeros((L, T))
    range_uo = np.zeros((L, T))
    for k, g in enumerate(gp.groups):
        if any(int(h) != h or h < 0 for h in g.heads):
            out.append(Violation("heads", g.group_id, None, f"heads {g.heads} not whole"))
        for t in range(T):
            i = int(gp.place[k, t])
            if not 0 <= i < L:
                out.append(Violation("one_place", g.group_id, t, "nowhere"))
                continue
            loc = inp.locations[i]
            if loc.community != g.community and (loc.kind != "plot" or par.own_community_only):
                out.append(
                    Violation("reach", g.group_id, t, f"on {loc.location_id}, not its community's")
                )
            if loc.kind == "plot":
                on[i, t] += g.uo
                d = math.hypot(g.x - loc.x, g.y - loc.y)
                if par.max_walk_m is not None and d > par.max_walk_m + 1e-6:
                    out.append(
                        Violation("reach", g.group_id, t, f"{loc.location_id} is {d:,.0f} m away")
                    )
            else:
                range_uo[i, t] += g.uo
    _plot_rules(inp, par, on, out)
    for i, loc in enumerate(inp.locations):
        if loc.kind == "plot":
            continue
        stock = loc.initial_kg
        for t in range(T):
            stands = stock + loc.growth_kg[t]
            demand = range_uo[i, t] * c
            eat = gp.eaten_kg[i, t]
            if abs(eat + gp.fodder_kg[i, t] - demand) > max(_KG_TOL, 1e-6 * demand):
                out.append(
                    Violation(
                        "range_balance",
                        loc.location_id,
                        t,
                        f"demand {demand:,.0f} kg DM, accounted {eat + gp.fodder_kg[i, t]:,.0f}",
                    )
                )
            if eat > stands + _KG_TOL:
                out.append(
                    Violation(
                        "range_balance", loc.location_id, t, f"eats {eat:,.0f} of {stands:,.0f}"
                    )
                )
            stock = keep * max(stands - eat, 0.0)
    return out
