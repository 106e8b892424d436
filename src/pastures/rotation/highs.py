"""Solve one block's MILP with HiGHS, on deterministic work limits.

Each block goes through these solves of the same model on one HiGHS instance, one
thread and a fixed seed:

1. the LP relaxation (every "plot grazed" binary relaxed to [0, 1]): a real lower
   bound on the block's objective before any search; the stay rules are written in
   the strong turn-on/turn-off form (:func:`pastures.rotation.blocks.build_block`), so
   the bound is close;
2. start plans, each a set of stays whose split of the herds is solved as an LP: the
   greedy rule (:func:`pastures.rotation.blocks.greedy_stays`), the relaxation rounded
   (:func:`~pastures.rotation.blocks.round_stays`) and dived, and stays chosen at the
   forage prices of the LP (:func:`~pastures.rotation.blocks.price_stays`), priced
   again at each plan's duals for a fixed number of rounds;
3. if asked (``branch``) and the best start is outside the gap: fix and optimise plot
   by plot, then branch and cut from the best plan, stopped by ``mip_max_nodes`` (a
   deterministic work limit) or the relative gap; the wall clock (``time_limit``) is
   only a safety net, and the block reports when it was hit.

The best plan found is kept, and the block says where it came from.
:func:`pastures.rotation.plan_rotation` runs steps 1-2 on every block, then step 3 on
the fewest blocks that can bring the whole plan within its gap.
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pastures.errors import MissingDependencyError
from pastures.i18n import _
from pastures.rotation.blocks import BlockModel

logger = logging.getLogger(__name__)

#: Passes of fix-and-optimise over a block's plots before branch and cut on the whole.
_FIX_AND_OPTIMISE_PASSES = 2
#: Node limit of each fix-and-optimise sub-problem (one plot's stays free).
_FIX_AND_OPTIMISE_NODES = 50
#: Rounds of the price-directed start plan.
_PRICE_ROUNDS = 8


@dataclass(frozen=True)
class BlockResult:
    """What one block's solve gave.

    Attributes
    ----------
    x
        Column values of the plan kept.
    objective, lp_bound, bound
        Objective of the plan kept; LP relaxation bound; best bound (LP or branch and
        cut, the higher).
    start_objective, solver_objective
        Objective of the start plan and of the solver's best plan (NaN: none found).
    source
        ``"solver"`` (branch and cut improved on the start plans), ``"start"`` (branch
        and cut ran and found nothing better: the best start plan is kept),
        ``"heuristic"`` (the best start plan, no branch and cut: it was within the gap
        asked, or the block was not among those chosen to search) or ``"greedy"`` (no
        search asked).
    nodes
        Branch-and-bound nodes explored.
    time_limit_hit
        The wall-clock safety net stopped the search (the plan may then depend on the
        machine's load).
    seconds
        Solve time (s).
    """

    x: np.ndarray
    objective: float
    lp_bound: float
    bound: float
    start_objective: float
    solver_objective: float
    source: str
    nodes: int
    time_limit_hit: bool
    seconds: float

    @property
    def gap(self) -> float:
        """Relative gap of the kept plan to the bound (0 when both are 0)."""
        return relative_gap(self.objective, self.bound)


def relative_gap(objective: float, bound: float) -> float:
    """(objective - bound) / max(|objective|, 1), never below 0."""
    if math.isnan(objective) or math.isnan(bound):
        return math.nan
    return max(objective - bound, 0.0) / max(abs(objective), 1.0)


def new_highs() -> tuple[Any, Any]:
    """A silent HiGHS instance (its constructor prints a banner on the C stdout)."""
    try:
        import highspy
    except ImportError as exc:  # pragma: no cover - highspy is a dependency
        raise MissingDependencyError(
            _("the rotation planner needs HiGHS: pip install highspy")
        ) from exc
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with Path(os.devnull).open("w") as null:
            os.dup2(null.fileno(), 1)
            try:
                h = highspy.Highs()
                ctypes.CDLL(None).fflush(None)
            finally:
                os.dup2(saved, 1)
    finally:
        os.close(saved)
    h.setOptionValue("output_flag", False)
    return highspy, h


def _pass(highspy: Any, h: Any, m: BlockModel) -> None:
    lp = highspy.HighsLp()
    lp.num_col_ = m.n_cols
    lp.num_row_ = m.n_rows
    lp.col_cost_ = m.cost
    lp.col_lower_ = m.lower
    lp.col_upper_ = m.upper
    lp.row_lower_ = m.row_lower
    lp.row_upper_ = m.row_upper
    csc = m.matrix.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = m.n_cols
    lp.a_matrix_.num_row_ = m.n_rows
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(float)
    h.passModel(lp)


def _objective(m: BlockModel, x: np.ndarray) -> float:
    return float(m.cost @ x)


def solve_block(  # noqa: PLR0912, PLR0915
    m: BlockModel,
    start: np.ndarray,
    *,
    rounder: Callable[[np.ndarray], list[np.ndarray]] | None = None,
    dive: Callable[[np.ndarray, int], np.ndarray] | None = None,
    price: Callable[[np.ndarray], np.ndarray] | None = None,
    search: bool = True,
    branch: bool = True,
    max_nodes: int,
    relative_gap_stop: float,
    seed: int,
    time_limit_s: float,
) -> BlockResult:
    """LP bound, start plan and (if `search`) branch and cut for one block.

    Parameters
    ----------
    m
        The block's model.
    start
        Column values whose ``y`` entries (0/1) are the start plan's stays.
    rounder
        Turns the LP relaxation's values into stays (0/1 per column): more start
        plans; the best start is kept.
    dive
        ``dive(x, plot)`` rounds one plot's stays from LP values: plot by plot, each
        plot's stays are rounded and fixed and the LP solved again (an LP dive), a
        further start plan.
    price
        ``price(row_duals)`` gives the stays that pay best at the forage prices of an LP
        (:func:`pastures.rotation.blocks.price_stays`): priced first at the relaxation's
        duals, then again at each plan's, for at most ``_PRICE_ROUNDS`` rounds.
    search
        Look for better start plans than `start` (rounding, dive, prices) and, if
        `branch`, run branch and cut after them (False: the greedy plan alone).
    branch
        Run branch and cut when the best start plan's gap exceeds `relative_gap_stop`.
    max_nodes, relative_gap_stop, seed
        HiGHS ``mip_max_nodes``, ``mip_rel_gap`` and ``random_seed``.
    time_limit_s
        Wall-clock safety net for this block (s).
    """
    t0 = time.perf_counter()
    highspy, h = new_highs()
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", int(seed))
    _pass(highspy, h, m)
    ok = highspy.HighsModelStatus.kOptimal
    # 1. LP relaxation: a real bound before any search (LPs run to the end: they are
    #    small, and a bound cut short by the clock would not be a bound)
    h.run()
    if h.getModelStatus() != ok:  # pragma: no cover - u = 0 and fodder always fit
        msg = f"HiGHS could not solve the LP of block {m.block.name}: {h.getModelStatus()}"
        raise RuntimeError(msg)
    lp_bound = float(h.getInfo().objective_function_value)
    x_lp = np.asarray(h.getSolution().col_value, dtype=float)
    duals_lp = np.asarray(h.getSolution().row_dual, dtype=float)
    hit = False
    # 2. start plans: stays fixed (greedy rule, LP rounded), the split solved as an LP
    ycols = np.fromiter(m.y.values(), dtype=np.int32, count=len(m.y))
    starts = [start] if rounder is None or not search else [start, *rounder(x_lp)]
    if dive is not None and search and len(ycols):
        starts.append(_dive(highspy, h, m, x_lp, dive))
        h.changeColsBounds(len(ycols), ycols, m.lower[ycols], m.upper[ycols])

    def evaluate(candidate: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """The split of the herds as an LP with the candidate's stays fixed."""
        fixed = np.round(candidate[ycols]) if len(ycols) else np.zeros(0)
        if len(ycols):
            h.changeColsBounds(len(ycols), ycols, fixed, fixed)
        h.run()
        if h.getModelStatus() != ok:  # pragma: no cover - u = 0 and fodder always fit
            msg = f"HiGHS found no start plan for block {m.block.name}: {h.getModelStatus()}"
            raise RuntimeError(msg)
        sol = h.getSolution()
        x = np.asarray(sol.col_value, dtype=float)
        x[ycols] = fixed
        return _objective(m, x), x, np.asarray(sol.row_dual, dtype=float)

    best, best_obj = start, math.inf
    for k, candidate in enumerate(starts):
        obj, x, _ = evaluate(candidate)
        if obj < best_obj - 1e-9 * max(abs(best_obj), 1.0) or k == 0:
            best, best_obj = x, obj
    # price-directed stays, priced again at each plan's duals (averaged: a damped
    # Lagrangian heuristic); a fixed number of rounds, so the plan is deterministic
    if price is not None and search and len(ycols):
        prices, seen = duals_lp, set()
        for r in range(_PRICE_ROUNDS):
            stays = price(prices)
            key = stays[ycols].tobytes()
            if key in seen:
                break
            seen.add(key)
            obj, x, duals = evaluate(stays)
            if obj < best_obj - 1e-9 * max(abs(best_obj), 1.0):
                best, best_obj = x, obj
            prices = (prices * (r + 1) + duals) / (r + 2)
    start_obj, source = best_obj, "greedy"
    solver_obj, bound, nodes = math.nan, lp_bound, 0
    if search and branch and len(ycols) and relative_gap(start_obj, lp_bound) > relative_gap_stop:
        source = "start"
        h.changeColsBounds(len(ycols), ycols, m.lower[ycols], m.upper[ycols])
        h.changeColsIntegrality(
            len(ycols), ycols, np.full(len(ycols), highspy.HighsVarType.kInteger)
        )
        h.setOptionValue("mip_max_nodes", int(max_nodes))

        def mip(x0: np.ndarray, gap: float) -> tuple[np.ndarray | None, Any]:
            nonlocal hit
            h.setOptionValue("mip_rel_gap", float(gap))
            left = time_limit_s - (time.perf_counter() - t0)
            h.setOptionValue("time_limit", float(max(left, 0.01)))
            h.setSolution(_solution(highspy, x0))
            h.run()
            info = h.getInfo()
            hit = hit or h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit
            if info.primal_solution_status != 2:  # kSolutionStatusFeasible
                return None, info
            x = np.asarray(h.getSolution().col_value, dtype=float)
            x[ycols] = np.round(x[ycols])
            return x, info

        # 3a. fix and optimise: one plot's stays free, the others fixed, plot by plot
        plot_cols = _plot_columns(m)
        for _unused in range(_FIX_AND_OPTIMISE_PASSES):
            for cols in plot_cols:
                if relative_gap(best_obj, lp_bound) <= relative_gap_stop:
                    break
                fixed = best[ycols]
                h.changeColsBounds(len(ycols), ycols, fixed, fixed)
                h.changeColsBounds(len(cols), cols, m.lower[cols], m.upper[cols])
                h.setOptionValue("mip_max_nodes", _FIX_AND_OPTIMISE_NODES)
                x, info = mip(best, 1e-4)
                h.setOptionValue("mip_max_nodes", int(max_nodes))
                nodes += int(info.mip_node_count)
                if x is not None and _objective(m, x) < best_obj - 1e-9 * max(abs(best_obj), 1):
                    best, best_obj, source = x, _objective(m, x), "solver"
        h.changeColsBounds(len(ycols), ycols, m.lower[ycols], m.upper[ycols])
        # 3b. branch and cut on the whole block, from the best plan so far
        if relative_gap(best_obj, lp_bound) > relative_gap_stop:
            x, info = mip(best, relative_gap_stop)
            nodes += int(info.mip_node_count)
            if x is not None:
                solver_obj = _objective(m, x)
                if solver_obj < best_obj - 1e-9 * max(abs(best_obj), 1.0):
                    best, best_obj, source = x, solver_obj, "solver"
            dual = float(info.mip_dual_bound)
            if math.isfinite(dual):
                bound = max(bound, min(dual, best_obj))
        if source == "solver":
            solver_obj = best_obj
    elif search:
        source = "heuristic"
    return BlockResult(
        x=best,
        objective=best_obj,
        lp_bound=lp_bound,
        bound=min(bound, best_obj),
        start_objective=start_obj,
        solver_objective=solver_obj,
        source=source,
        nodes=nodes,
        time_limit_hit=bool(hit),
        seconds=time.perf_counter() - t0,
    )


def _plot_columns(m: BlockModel) -> list[np.ndarray]:
    """The "plot grazed" columns of each plot of a block."""
    by_plot: dict[int, list[int]] = {}
    for (i, _unused), j in m.y.items():
        by_plot.setdefault(i, []).append(j)
    return [np.array(by_plot[i], dtype=np.int32) for i in sorted(by_plot)]


def _dive(
    highspy: Any,
    h: Any,
    m: BlockModel,
    x: np.ndarray,
    dive: Callable[[np.ndarray, int], np.ndarray],
) -> np.ndarray:
    """Round and fix the stays plot by plot, solving the LP again after each plot."""
    plots = sorted({i for i, _ in m.y})
    out = np.zeros(m.n_cols)
    for i in plots:
        cols = np.array([j for (p, _), j in m.y.items() if p == i], dtype=np.int32)
        h.changeColsBounds(len(cols), cols, m.lower[cols], m.upper[cols])
        rounded = dive(x, i)
        out[cols] = rounded[cols]
        h.changeColsBounds(len(cols), cols, rounded[cols], rounded[cols])
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:  # pragma: no cover
            break
        x = np.asarray(h.getSolution().col_value, dtype=float)
    return out


def _solution(highspy: Any, x: np.ndarray) -> Any:
    sol = highspy.HighsSolution()
    sol.col_value = list(map(float, x))
    sol.value_valid = True
    return sol
