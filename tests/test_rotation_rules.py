"""The stay rules of the MILP, the stay DP and the choice of blocks to search, by enumeration.

The oracle here is a rule checker written in this file from the rules as users state
them ("at most M weeks in a row while plants grow; after leaving, R weeks of rest, R set
by the season of the last grazed week"; in the dry season plants are dormant and a stay
is bounded by forage, not weeks), applied to every 0/1 pattern of a short horizon that
crosses from the transition into the dry season, so the rules change inside it.
"""

from __future__ import annotations

import itertools
import math
from datetime import date

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import linprog

from pastures import rotation as R
from pastures.rotation import blocks as B
from pastures.rotation.highs import BlockResult
from pastures.rotation.plan import _blocks_to_search

T = 10
#: Rest by season of the last grazed week (days): 2 weeks in transition, 3 in dry.
REST_DAYS = {"*": {"rainy": 7, "transition": 14, "dry": 21}}
MAX_STAY_DAYS = 21  # 3 weeks


def _inputs() -> R.RotationInputs:
    # 2026-05-04: weeks 0-3 mid-May (transition), weeks 4-9 June-July (dry)
    herd = R.HerdGroup("H", "A", "K", 50.0, 0.0, 0.0)
    plot = R.Location(
        "P", "A", "plot", "pajonal", 2.0, 100.0, 0.0, tuple([50.0] * T), 500.0, "test"
    )
    rng = R.Location(
        R.open_range_id("A"), "A", "open_range", "open range", 50.0, math.nan, math.nan,
        tuple([300.0] * T), 0.0,
    )  # fmt: skip
    return R.RotationInputs((herd,), (plot, rng), date(2026, 5, 4), 7, T, 1.0)


def _params() -> R.RotationParams:
    return R.RotationParams(rest_days=REST_DAYS, max_consecutive_days=MAX_STAY_DAYS)


def _rest_weeks(inputs: R.RotationInputs, t: int) -> int:
    month = inputs.month(t)
    season = "dry" if 6 <= month <= 10 else "transition"
    return REST_DAYS["*"][season] // 7


def rules_ok(inputs: R.RotationInputs, pattern: tuple[int, ...]) -> bool:
    """At most 3 weeks in a row outside the dry season; after a stay, its rest."""
    run = 0
    free_from = 0  # first week a new stay may start
    for t, grazed in enumerate(pattern):
        if grazed:
            if run == 0 and t < free_from:
                return False
            run += 1
            dry = 6 <= inputs.month(t) <= 10
            if run > MAX_STAY_DAYS // 7 and not dry:
                return False
        elif run:
            free_from = t + _rest_weeks(inputs, t - 1)
            run = 0
    return True


def test_horizon_crosses_into_the_dry_season() -> None:
    inputs = _inputs()
    assert inputs.season(3) == "transition"
    assert inputs.season(4) == "dry"


def test_stay_rows_accept_exactly_the_patterns_the_rules_allow() -> None:
    inputs, params = _inputs(), _params()
    b = B._Builder()
    y = {(0, t): b.var(0.0, 1.0, integer=True) for t in range(T)}
    B._stay_rules(b, inputs, params, y, 0, pasture_type="pajonal", new_stay_cost=1.0)
    n = len(b.cost)
    a = sparse.csr_matrix((b.v, (b.r, b.c)), shape=(len(b.rlo), n)).toarray()
    lo, hi = np.asarray(b.rlo), np.asarray(b.rhi)
    eq = lo == hi
    ub_rows = ~eq & np.isfinite(hi)
    assert not np.any(~eq & np.isfinite(lo) & (lo != -np.inf) & ~np.isfinite(hi))
    agree, allowed = 0, 0
    for pattern in itertools.product((0, 1), repeat=T):
        bounds = [(0.0, 1.0)] * n
        for t in range(T):
            bounds[y[0, t]] = (pattern[t], pattern[t])
        res = linprog(
            np.zeros(n),
            A_ub=a[ub_rows] if ub_rows.any() else None,
            b_ub=hi[ub_rows] if ub_rows.any() else None,
            A_eq=a[eq],
            b_eq=lo[eq],
            bounds=bounds,
            method="highs",
        )
        expected = rules_ok(inputs, pattern)
        assert (res.status == 0) == expected, pattern
        agree += 1
        allowed += expected
    assert agree == 2**T
    assert allowed > 1


def test_oracle_rules_by_hand() -> None:
    inputs = _inputs()
    assert rules_ok(inputs, (1, 1, 1, 0, 0, 1, 0, 0, 0, 0))  # 2 weeks of rest in May
    assert not rules_ok(inputs, (1, 1, 1, 0, 1, 0, 0, 0, 0, 0))  # only 1
    assert not rules_ok(inputs, (1, 1, 1, 1, 0, 0, 0, 0, 0, 0))  # 4 weeks in a row in May
    assert rules_ok(inputs, (0, 0, 0, 0, 1, 1, 1, 1, 1, 1))  # 6 in June-July: dormant
    assert not rules_ok(inputs, (0, 0, 0, 0, 1, 1, 1, 0, 0, 1))  # left in June: 3 weeks
    assert rules_ok(inputs, (0, 0, 1, 1, 0, 0, 1, 1, 0, 0))  # left in May (week 3)


def test_relaxation_cuts_off_grazing_more_often_than_the_rules_allow() -> None:
    """y = 0.65 every week: no mix of allowed patterns grazes that often.

    With 3-week stays and 2 weeks of rest at most 3 weeks in 5 (0.6) can be grazed.
    The pairwise rows accepted it (y[t] + y[t+j] - y[t+1] = 0.65 <= 1, any 4 weeks sum
    to 2.6 <= 3); the strong form needs sum(v) >= 0.65 over 3 weeks, so w >= 0.217 a
    week in steady state, and 0.65 + 2 x 0.217 > 1 breaks the rest row.
    """
    inputs, params = _inputs(), _params()
    # a horizon in the transition (April-May) but for its last week (June, dormant)
    inputs = R.RotationInputs(inputs.herds, inputs.locations, date(2026, 3, 30), 7, T, 1.0)
    spring = [t for t in range(T) if inputs.season(t) == "transition"]
    assert spring == list(range(9))
    b = B._Builder()
    y = {(0, t): b.var(0.0, 1.0) for t in range(T)}
    B._stay_rules(b, inputs, params, y, 0, pasture_type="pajonal", new_stay_cost=1.0)
    n = len(b.cost)
    a = sparse.csr_matrix((b.v, (b.r, b.c)), shape=(len(b.rlo), n)).toarray()
    lo, hi = np.asarray(b.rlo), np.asarray(b.rhi)
    eq = lo == hi
    bounds = [(0.0, 1.0)] * n
    for t in spring:
        bounds[y[0, t]] = (0.65, 0.65)
    res = linprog(np.zeros(n), A_ub=a[~eq], b_ub=hi[~eq], A_eq=a[eq], b_eq=lo[eq], bounds=bounds)
    assert res.status == 2  # infeasible


@pytest.mark.parametrize("seed", range(6))
def test_best_stays_is_the_best_allowed_pattern(seed: int) -> None:
    inputs, params = _inputs(), _params()
    rng = np.random.default_rng(seed)
    gains: list[float | None] = [float(v) for v in rng.uniform(-3, 10, T)]
    closed = int(rng.integers(T))
    gains[closed] = None
    start_cost = 4.0
    best = -math.inf
    for pattern in itertools.product((0, 1), repeat=T):
        if pattern[closed] or not rules_ok(inputs, pattern):
            continue
        stays = sum(1 for t in range(T) if pattern[t] and (t == 0 or not pattern[t - 1]))
        value = sum(g for g, p in zip(gains, pattern, strict=True) if p and g is not None)
        best = max(best, value - start_cost * stays)
    chosen = B.best_stays(inputs, params, 0, gains, start_cost=start_cost)
    pattern = tuple(int(t in chosen) for t in range(T))
    assert rules_ok(inputs, pattern)
    assert closed not in chosen
    stays = sum(1 for t in range(T) if pattern[t] and (t == 0 or not pattern[t - 1]))
    value = sum(gains[t] for t in chosen) - start_cost * stays  # type: ignore[misc]
    assert value == pytest.approx(best)


def _result(objective: float, bound: float) -> BlockResult:
    return BlockResult(
        x=np.zeros(0), objective=objective, lp_bound=bound, bound=bound,
        start_objective=objective, solver_objective=math.nan, source="start", nodes=0,
        time_limit_hit=False, seconds=0.0,
    )  # fmt: skip


def test_blocks_to_search_takes_largest_absolute_gaps_until_the_plan_can_close() -> None:
    results = [_result(100, 90), _result(1000, 990), _result(50, 49)]
    # plan gap 21 / 1150 = 1.83 %: within 2 %, nothing to search
    assert _blocks_to_search(results, 0.02) == []
    # target 1 %: excess 21 - 11.5 = 9.5; block 0 closes 10 - 1 = 9, block 2 then
    # 1 - 0.5 = 0.5; block 1 is at 1 % itself and never searched
    assert _blocks_to_search(results, 0.01) == [0, 2]
    # target 0.5 %: excess 21 - 5.75 = 15.25: block 0 (9.5), block 1 (5), block 2 (0.75)
    assert _blocks_to_search(results, 0.005) == [0, 1, 2]


@pytest.mark.parametrize("early", [1.0, 0.0])
def test_the_plot_is_kept_for_the_dry_season(early: float) -> None:
    """A range that feeds the herd in July but not in August: the plot waits for August.

    600 kg stand on the plot (no growth, 10 % lost a month); the herd eats 700 kg a
    week; the range grows 800 kg a week in July and nothing in August. Plot forage eaten
    before August (the late dry season it is kept for) costs ``early`` a kg: with 1.0
    every week on the plot is in August; with 0.0 eating early is free and saves the
    loss, so the plan starts in July.
    """
    herd = R.HerdGroup("H", "A", "K", 100.0, 0.0, 0.0)
    plot = R.Location("P", "A", "plot", "pajonal", 2.0, 100.0, 0.0, tuple([0.0] * 8), 600.0, "test")
    rng = R.Location(
        R.open_range_id("A"), "A", "open_range", "open range", 50.0, math.nan, math.nan,
        (800.0,) * 4 + (0.0,) * 4, 0.0,
    )  # fmt: skip
    inputs = R.RotationInputs(
        (herd,), (plot, rng), date(2026, 7, 6), 7, 8, 1.0, standing_loss_per_month=0.10
    )
    assert [inputs.month(t) for t in range(8)] == [7, 7, 7, 7, 8, 8, 8, 8]
    params = R.RotationParams(
        max_uo_per_ha={"*": 10.0}, num_workers=1, relative_gap=0.0,
        weights=R.ObjectiveWeights(early_plot_per_kg=early),
    )  # fmt: skip
    plan = R.plan_rotation(inputs, params)
    assert R.check_plan(plan) == []
    weeks = np.flatnonzero(plan.grazed[0]).tolist()
    assert weeks
    if early:
        assert min(weeks) >= 4
    else:
        assert min(weeks) < 4
