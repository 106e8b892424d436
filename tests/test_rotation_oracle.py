"""Brute-force oracle: every stay pattern of a tiny instance, each split solved by linprog.

The oracle does not use the planner's model: it enumerates the 2^8 "plot grazed"
patterns of 2 plots x 4 weeks, keeps those that obey the rest and longest-stay rules
(checked here; a grazed week has at least 1 UO on the plot), writes the split of the herd
for each as its own LP (cumulative forage
limits, no losses; the open range's intake within what has grown, overuse beyond half of
it) and solves it with scipy.optimize.linprog. The planner, asked for a proven optimum,
must reach the oracle's best objective.
"""

from __future__ import annotations

import itertools
import math
from datetime import date

import numpy as np
import pytest
from scipy.optimize import linprog

from pastures import rotation as R

T = 4
C = 7.0  # kg DM per UO and week (1 kg/day)
REST = 2  # weeks (14 days)
MAX_STAY = 2  # weeks (14 days)
DENSITY = 5.0  # UO/ha
OVERUSE = 2.0  # per kg beyond the proper-use allowance (half of what grew)
USE = 0.5
FODDER = 10.0
EARLY = 1.0  # per kg of plot forage eaten before June (January here)
WALK = 0.05  # per UO-km and week
GRAZED, STAY = 1.0, 20.0


def instance(seed: int) -> R.RotationInputs:
    rng = np.random.default_rng(seed)
    herd = R.HerdGroup("H", "A", "K", float(rng.uniform(40, 120)), 0.0, 0.0)
    plots = tuple(
        R.Location(
            f"P{p}", "A", "plot", "pajonal", float(rng.uniform(1, 4)),
            float(rng.uniform(200, 3000)), 0.0,
            tuple(float(v) for v in rng.uniform(0, 60, T)), float(rng.uniform(0, 300)),
        )
        for p in range(2)
    )  # fmt: skip
    rng_growth = tuple(float(v) for v in rng.uniform(100, 500, T))
    rangeland = R.Location(
        R.open_range_id("A"), "A", "open_range", "open range", 50.0, math.nan, math.nan,
        rng_growth, 0.0,
    )  # fmt: skip
    return R.RotationInputs(
        (herd,), (*plots, rangeland), date(2026, 1, 5), 7, T, 1.0, standing_loss_per_month=0.0
    )


def rules_ok(pattern: tuple[int, ...]) -> bool:
    """Runs of at most MAX_STAY weeks, REST weeks of rest between runs."""
    run, last_end = 0, None
    for t, g in enumerate(pattern):
        if g:
            if run == 0 and last_end is not None and t - last_end - 1 < REST:
                return False
            run += 1
            if run > MAX_STAY:
                return False
        else:
            if run:
                last_end = t - 1
            run = 0
    return True


def split_cost(inp: R.RotationInputs, y: np.ndarray) -> float:
    """Least cost of the herd's split for the stays `y` (2 x T), by linprog."""
    herd = inp.herds[0]
    plots, rng = inp.locations[:2], inp.locations[2]
    # columns: u[p, t] (2T), eat[t], over[t], fodder[t]
    n = 2 * T + 3 * T
    cost = np.zeros(n)
    bounds = []
    for p, loc in enumerate(plots):
        dist_km = math.hypot(loc.x - herd.x, loc.y - herd.y) / 1000
        for t in range(T):
            cost[p * T + t] = WALK * dist_km + EARLY * C
            # a grazed week has at least 1 UO on the plot, or all the plot could carry
            cap = min(DENSITY * loc.area_ha, (loc.initial_kg + sum(loc.growth_kg[: t + 1])) / C)
            bounds.append((y[p, t] * min(1.0, cap), y[p, t] * min(herd.uo, DENSITY * loc.area_ha)))
    bounds += [(0.0, None)] * (3 * T)
    cost[3 * T : 4 * T] = OVERUSE
    cost[4 * T :] = FODDER
    a_ub, b_ub = [], []
    for p, loc in enumerate(plots):  # cumulative eating within stock + growth so far
        for t in range(T):
            row = np.zeros(n)
            row[p * T : p * T + t + 1] = C
            a_ub.append(row)
            b_ub.append(loc.initial_kg + sum(loc.growth_kg[: t + 1]))
    for t in range(T):
        grown = rng.initial_kg + sum(rng.growth_kg[: t + 1])
        row = np.zeros(n)  # the range: intake so far within what stood and grew
        row[2 * T : 2 * T + t + 1] = 1.0
        a_ub.append(row)
        b_ub.append(grown)
        row = np.zeros(n)  # overuse so far >= intake so far - USE x what grew
        row[2 * T : 2 * T + t + 1] = 1.0
        row[3 * T : 3 * T + t + 1] = -1.0
        a_ub.append(row)
        b_ub.append(USE * grown)
    a_eq, b_eq = [], []
    for t in range(T):  # the herd's demand: plots + range + fodder
        row = np.zeros(n)
        row[[t, T + t]] = C
        row[[2 * T + t, 4 * T + t]] = 1.0
        a_eq.append(row)
        b_eq.append(C * herd.uo)
    res = linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, bounds=bounds)
    return float(res.fun) if res.status == 0 else math.inf  # infeasible stays


def oracle(inp: R.RotationInputs) -> float:
    best = math.inf
    patterns = [p for p in itertools.product((0, 1), repeat=T) if rules_ok(p)]
    for a, b in itertools.product(patterns, repeat=2):
        y = np.array([a, b], dtype=float)
        stays = sum(1 for row in y for t in range(T) if row[t] and (t == 0 or not row[t - 1]))
        best = min(best, split_cost(inp, y) + GRAZED * y.sum() + STAY * stays)
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planner_reaches_the_brute_force_optimum(seed):
    inp = instance(seed)
    params = R.RotationParams(
        rest_days={"*": {"rainy": 14, "transition": 14, "dry": 14}},
        max_consecutive_days=14,
        max_uo_per_ha={"*": DENSITY},
        weights=R.ObjectiveWeights(
            overuse_per_kg=OVERUSE, fodder_per_kg=FODDER, walk_per_uo_km=WALK,
            grazed_plot_period=GRAZED, new_stay=STAY, early_plot_per_kg=EARLY,
        ),
        relative_gap=0.0,
        num_workers=1,
    )  # fmt: skip
    plan = R.plan_rotation(inp, params)
    assert plan.objective == pytest.approx(oracle(inp), rel=1e-7, abs=1e-6)
    assert plan.bound <= plan.objective + 1e-6
    assert R.check_plan(plan) == []
    assert len(plan.allocation)  # the plots are used: the oracle's choice is not trivial
