"""From the planner's UO on each plot to whole grazing groups, one place per group and week.

The MILP (:mod:`pastures.rotation.blocks`) plans how many UO graze each plot each week;
herders move whole groups (:mod:`pastures.rotation.groups`). :func:`place_groups` turns
the first into the second, community by community and week by week:

1. A plot is open to groups in a week when the MILP grazes it, the plot is not closed,
   not resting (rest after a growing-season stay) and not past its longest stay (also
   only while plants grow). What it can carry that week: its standing usable forage
   plus the week's growth, over a UO's weekly intake, and the stocking-density limit.
2. A group already on a plot stays while the plot is open and can feed it (fewer
   moves); free plots are then filled with the largest whole groups that fit the
   forage and round the MILP's UO to the nearest group.
3. Every other group is on its community's open range, one stock of standing forage:
   growth comes in, the groups eat what stands (never more), what is left decays. What
   the groups would eat beyond what stands is the community's fodder need that week;
   intake beyond the proper-use allowance (:func:`~pastures.rotation.model.range_allowance`)
   is overuse.

The plan of whole groups is then priced with the MILP's own objective, so its gap to
the MILP's bound (a real lower bound for any plan of the same rules) is honest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pastures.rotation.blocks import FORAGE_UNIT_KG
from pastures.rotation.groups import GrazingGroup
from pastures.rotation.highs import relative_gap
from pastures.rotation.model import (
    CRITICAL_MONTHS,
    RESERVE_MONTHS,
    RotationInputs,
    closed_mask,
    range_overuse,
)
from pastures.rotation.plan import RotationPlan


@dataclass(frozen=True)
class GroupPlan:
    """A plan of whole grazing groups, one place per group and period.

    Attributes
    ----------
    plan
        The MILP plan it follows (UO per plot and period, the bound).
    groups
        The grazing groups (``inputs.groups``).
    place
        ``place[g, t]``: index into ``inputs.locations`` of where group `g` is in `t`
        (a plot, or its community's open range).
    eaten_kg
        Forage eaten per location and period, kg DM (plots: usable forage; open ranges:
        standing forage).
    stands_kg
        What stands on each location at the start of each period plus the period's
        growth (plots: usable forage; ranges: all standing forage), kg DM.
    overuse_kg, fodder_kg
        Per open range and period: intake beyond the proper-use allowance, and the
        groups' demand no standing forage met (fodder or destocking), kg DM.
    objective
        The plan priced with the MILP's objective (points).
    """

    plan: RotationPlan
    groups: tuple[GrazingGroup, ...]
    place: np.ndarray
    eaten_kg: np.ndarray
    stands_kg: np.ndarray
    overuse_kg: np.ndarray
    fodder_kg: np.ndarray
    objective: float

    @property
    def inputs(self) -> RotationInputs:
        """The planner's inputs."""
        return self.plan.inputs

    @property
    def bound(self) -> float:
        """The MILP's bound: no plan of the same rules costs less."""
        return self.plan.bound

    @property
    def status(self) -> str:
        """The MILP's status (:attr:`RotationPlan.status`)."""
        return self.plan.status

    @property
    def gap(self) -> float:
        """Relative gap of the plan of whole groups to the bound."""
        return relative_gap(self.objective, self.bound)

    def is_plot(self) -> np.ndarray:
        """Boolean per location: a fenced plot."""
        return np.array([loc.kind == "plot" for loc in self.inputs.locations])


def _targets(plan: RotationPlan) -> dict[tuple[str, int, int], float]:
    """MILP UO per (community of the herds, plot, period)."""
    out: dict[tuple[str, int, int], float] = {}
    a = plan.allocation
    herds = plan.inputs.herds
    for h, i, t, uo in zip(a["herd"], a["location"], a["period"], a["uo"], strict=True):
        key = (herds[int(h)].community, int(i), int(t))
        out[key] = out.get(key, 0.0) + float(uo)
    return out


def place_groups(plan: RotationPlan) -> GroupPlan:  # noqa: PLR0912, PLR0915
    """Whole groups on the MILP's plan (see the module's docstring)."""
    inp = plan.inputs
    par = plan.params
    groups = inp.groups
    L, T, G = len(inp.locations), inp.n_periods, len(groups)
    c = inp.kg_per_uo_period
    keep = inp.keep_per_period
    closed = closed_mask(inp, par)
    targets = _targets(plan)
    place = np.full((G, T), -1, dtype=np.int64)
    eaten = np.zeros((L, T))
    stands = np.zeros((L, T))
    overuse = np.zeros((L, T))
    fodder = np.zeros((L, T))
    range_of = {loc.community: i for i, loc in enumerate(inp.locations) if loc.kind == "open_range"}
    M = par.max_stay_periods(inp.period_days)
    w = par.weights
    walk_cost = 0.0
    grazed_periods = 0
    stays = 0
    for com in sorted({g.community for g in groups}):
        mine = [k for k, g in enumerate(groups) if g.community == com]
        r = range_of[com]
        rloc = inp.locations[r]
        plots = [
            i
            for i, loc in enumerate(inp.locations)
            if loc.kind == "plot" and any((com, i, t) in targets for t in range(T))
        ]
        dist = {
            (k, i): math.hypot(groups[k].x - inp.locations[i].x, groups[k].y - inp.locations[i].y)
            for k in mine
            for i in plots
        }
        reach = {
            (k, i): par.max_walk_m is None
            or not math.isfinite(dist[k, i])
            or dist[k, i] <= par.max_walk_m
            for k in mine
            for i in plots
        }
        stock = {i: inp.locations[i].initial_kg for i in plots}
        run = dict.fromkeys(plots, 0)
        rest_until = dict.fromkeys(plots, 0)
        rest_after = dict.fromkeys(plots, 1)  # rest due after the previous period
        backlog = dict.fromkeys(plots, 0.0)  # MILP UO-periods not placed yet
        prev = dict.fromkeys(mine, -1)
        range_stock = rloc.initial_kg
        for t in range(T):
            season = inp.season(t)
            dormant = par.dormant(season)
            cap: dict[int, float] = {}
            want: dict[int, float] = {}
            for i in plots:
                loc = inp.locations[i]
                stands[i, t] = stock[i] + loc.growth_kg[t]
                target = targets.get((com, i, t), 0.0)
                # a stay restarts where no rest is due after the week before
                restart = t > 0 and rest_after[i] == 0
                blocked = (
                    closed[i, t]
                    or t < rest_until[i]
                    or (M is not None and not dormant and not restart and run[i] >= M)
                )
                if target <= 0 or blocked:
                    continue
                dense = math.inf if dormant else par.density(loc.pasture_type) * loc.area_ha
                cap[i] = min(dense, stands[i, t] / c)
                # the MILP's UO, plus what earlier weeks of the plot could not place
                want[i] = target + backlog[i]
            on: dict[int, list[int]] = {i: [] for i in plots}
            free = set(mine)
            for k in mine:  # stay where you are while the plot can feed you
                i = prev[k]
                if i in cap and groups[k].uo <= cap[i] + 1e-9 and want[i] > 1e-9:
                    on[i].append(k)
                    free.discard(k)
                    cap[i] -= groups[k].uo
                    want[i] -= groups[k].uo
            for i in sorted(cap, key=lambda i: (-want[i], i)):
                while True:
                    fits = [
                        k
                        for k in free
                        if reach[k, i]
                        and groups[k].uo <= cap[i] + 1e-9
                        and groups[k].uo <= 2 * want[i] + 1e-9
                    ]
                    if not fits:
                        break
                    k = max(fits, key=lambda k: (groups[k].uo, -k))
                    on[i].append(k)
                    free.discard(k)
                    cap[i] -= groups[k].uo
                    want[i] -= groups[k].uo
            for i in plots:
                loc = inp.locations[i]
                uo = sum(groups[k].uo for k in on[i])
                if i in want:
                    backlog[i] = max(want[i], 0.0)
                eaten[i, t] = uo * c
                stock[i] = keep * max(stands[i, t] - eaten[i, t], 0.0)
                early = 0.0 if inp.month(t) in RESERVE_MONTHS else w.early_plot_per_kg * c
                for k in on[i]:
                    place[k, t] = i
                    walk_cost += groups[k].uo * (w.walk_per_uo_km * dist[k, i] / 1000.0 + early)
                left = par.rest_periods(loc.pasture_type, season, inp.period_days)
                if on[i]:
                    grazed_periods += 1
                    if t == 0 or not np.any(place[mine, t - 1] == i):
                        stays += 1
                    run[i] = 1 if (t > 0 and rest_after[i] == 0) else run[i] + 1
                    rest_after[i] = left
                else:
                    if run[i] > 0 or (t > 0 and np.any(place[mine, t - 1] == i)):
                        rest = par.rest_periods(
                            loc.pasture_type, inp.season(t - 1), inp.period_days
                        )
                        rest_until[i] = t + rest
                    run[i] = 0
            for k in free:
                place[k, t] = r
            for k in mine:
                prev[k] = int(place[k, t])
            demand = sum(groups[k].uo for k in free) * c
            stands[r, t] = range_stock + rloc.growth_kg[t]
            eat = min(demand, stands[r, t])
            eaten[r, t] = eat
            fodder[r, t] = demand - eat
            range_stock = keep * (stands[r, t] - eat)
    for r, loc in enumerate(inp.locations):
        if loc.kind == "open_range":
            overuse[r] = range_overuse(inp, loc, eaten[r])
    factor = np.array(
        [w.critical_factor if inp.month(t) in CRITICAL_MONTHS else 1.0 for t in range(T)]
    )
    forage_cost = float(
        (
            factor * (w.overuse_per_kg * overuse.sum(axis=0) + w.fodder_per_kg * fodder.sum(axis=0))
        ).sum()
    )
    objective = forage_cost + walk_cost + w.grazed_plot_period * grazed_periods + w.new_stay * stays
    return GroupPlan(
        plan=plan,
        groups=groups,
        place=place,
        eaten_kg=eaten,
        stands_kg=stands,
        overuse_kg=overuse,
        fodder_kg=fodder,
        objective=objective,
    )


__all__ = ["FORAGE_UNIT_KG", "GroupPlan", "place_groups"]
