"""Plan the grazing rotation: split into blocks, solve each, gather one plan.

:func:`plan_rotation` solves every block with HiGHS (:mod:`pastures.rotation.highs`);
:func:`greedy_rotation` gives the rule of thumb (one late-dry-season stay per plot,
herds split by an LP), the start of every search and the benchmark's baseline. Both
return a :class:`RotationPlan`. A plan is a function of its inputs and parameters:
blocks stop on node limits, each on one thread with a fixed seed; blocks may be solved
in parallel processes (``num_workers``) without changing the result.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from pastures.errors import ParameterError
from pastures.i18n import _

if TYPE_CHECKING:
    from pastures.rotation.explain import FodderNote
from pastures.rotation.blocks import (
    FORAGE_UNIT_KG,
    Block,
    BlockModel,
    blocks,
    build_block,
    greedy_stays,
    price_stays,
    round_stays,
)
from pastures.rotation.highs import BlockResult, relative_gap, solve_block
from pastures.rotation.model import (
    PlanStatus,
    RotationInputs,
    RotationParams,
    range_overuse,
    unknown_closures,
    validate_params,
)

logger = logging.getLogger(__name__)

#: UO below which a group's share of a plot is solver noise, dropped.
_UO_STEP = 1e-6
#: Thresholds at which the LP relaxation's "plot grazed" values are rounded to starts.
_ROUNDING_THRESHOLDS = (1e-6, 0.25, 0.5)


@dataclass(frozen=True)
class BlockReport:
    """Size, time and outcome of one block (see :class:`~pastures.rotation.highs.BlockResult`)."""

    name: str
    n_variables: int
    n_integer: int
    n_constraints: int
    build_seconds: float
    solve_seconds: float
    objective: float
    lp_bound: float
    bound: float
    start_objective: float
    solver_objective: float
    source: str
    nodes: int
    time_limit_hit: bool

    @property
    def gap(self) -> float:
        """Relative gap of the block's plan to its bound."""
        return relative_gap(self.objective, self.bound)


@dataclass(frozen=True)
class Shortfall:
    """Demand beyond the usable forage (all of it on open ranges, none on plots), kg DM."""

    shortfall_kg: int


@dataclass(frozen=True)
class RotationPlan:
    """A grazing plan and how it was found.

    Attributes
    ----------
    inputs, params
        What was planned, with which rules.
    allocation
        One row per herd, plot and period grazed: ``herd`` and ``location`` (indices
        into the inputs), ``period``, ``uo`` (UO of the herd on the plot). What a herd
        does not have on plots grazes its community's open range.
    grazed
        ``grazed[l, t]``: plot `l` is grazed in period `t` (the model's binary).
    eaten_kg
        Usable forage eaten per location and period (kg DM).
    overuse_kg, fodder_kg
        Per open range and period: demand beyond the range's usable forage eaten from
        its reserve, and beyond that the fodder (or destocking) needed, kg DM. Zero on
        plots, always.
    blocks
        One report per block.
    solver
        ``"highs"`` or ``"greedy"``.
    seconds, build_seconds
        Total time and the part spent building models (s).
    """

    inputs: RotationInputs
    params: RotationParams
    allocation: pd.DataFrame
    grazed: np.ndarray
    eaten_kg: np.ndarray
    overuse_kg: np.ndarray
    fodder_kg: np.ndarray
    blocks: tuple[BlockReport, ...]
    solver: str
    seconds: float
    build_seconds: float

    @property
    def objective(self) -> float:
        """Sum of the blocks' objectives."""
        return float(sum(b.objective for b in self.blocks))

    @property
    def bound(self) -> float:
        """Sum of the blocks' bounds (each at least its LP relaxation)."""
        return float(sum(b.bound for b in self.blocks))

    @property
    def gap(self) -> float:
        """Relative gap of the plan to the bound."""
        return relative_gap(self.objective, self.bound)

    @property
    def status(self) -> PlanStatus:
        """How the plan stands against the gap asked.

        ``greedy`` (the rule of thumb); ``optimal`` (the plan within the gap asked);
        ``start`` (outside it, no branch and cut improved on a start plan); ``feasible``
        (outside it).
        """
        if self.solver == "greedy":
            return "greedy"
        if self.gap <= self.params.relative_gap + 1e-9:
            return "optimal"
        if all(b.source in ("start", "heuristic") for b in self.blocks if b.n_integer):
            return "start"
        return "feasible"

    @property
    def time_limit_hit(self) -> bool:
        """The wall-clock safety net stopped some block (the plan may depend on load)."""
        return any(b.time_limit_hit for b in self.blocks)

    @property
    def start_only_blocks(self) -> list[str]:
        """Blocks where branch and cut found nothing better than the start plan, open gap."""
        return [
            b.name
            for b in self.blocks
            if b.source == "start" and b.gap > self.params.relative_gap + 1e-9
        ]

    @property
    def n_variables(self) -> int:
        """Variables over all blocks."""
        return sum(b.n_variables for b in self.blocks)

    @property
    def n_integer(self) -> int:
        """Binary variables over all blocks."""
        return sum(b.n_integer for b in self.blocks)

    @property
    def n_constraints(self) -> int:
        """Constraints over all blocks."""
        return sum(b.n_constraints for b in self.blocks)

    @property
    def demand_kg(self) -> float:
        """Forage the herds eat over the horizon (kg DM)."""
        uo = sum(h.uo for h in self.inputs.herds)
        return uo * self.inputs.kg_per_uo_period * self.inputs.n_periods

    @property
    def notes(self) -> list[FodderNote]:
        """Runs of weeks in which a community's range is overused or needs fodder (>= 5 %)."""
        from pastures.rotation.explain import fodder_notes

        return fodder_notes(self, min_share=0.05)

    @property
    def breakdown(self) -> Shortfall:
        """Demand not met by usable forage (range overuse + fodder), kg DM."""
        return Shortfall(round(float(self.overuse_kg.sum() + self.fodder_kg.sum())))

    def is_plot(self) -> np.ndarray:
        """Boolean per location: a fenced plot."""
        return np.array([loc.kind == "plot" for loc in self.inputs.locations])

    def figures(self) -> dict[str, float]:
        """Share of demand met on plots and on the range, overuse and fodder (kg DM)."""
        plots = self.is_plot()
        demand = self.demand_kg
        on_plots = float(self.eaten_kg[plots].sum())
        on_range = float(self.eaten_kg[~plots].sum())
        overuse = float(self.overuse_kg.sum())
        fodder = float(self.fodder_kg.sum())
        return {
            "demand_kg": demand,
            "plots_kg": on_plots,
            "range_kg": on_range,
            "overuse_kg": overuse,
            "fodder_kg": fodder,
            "plots_share": on_plots / demand if demand else math.nan,
            "range_share": on_range / demand if demand else math.nan,
            "overuse_share": overuse / demand if demand else math.nan,
            "fodder_share": fodder / demand if demand else math.nan,
        }


def _solve_one(
    args: tuple[RotationInputs, RotationParams, Block, str, float],
) -> tuple[BlockModel, BlockResult, float]:
    inputs, params, block, mode, time_left = args
    t0 = time.perf_counter()
    model = build_block(inputs, params, block)
    build_s = time.perf_counter() - t0
    start = greedy_stays(inputs, params, model)
    result = solve_block(
        model,
        start,
        rounder=lambda x: [
            round_stays(inputs, params, model, x, threshold=q) for q in _ROUNDING_THRESHOLDS
        ],
        dive=lambda x, i: round_stays(inputs, params, model, x, plots=[i]),
        price=lambda duals: price_stays(inputs, params, model, duals),
        search=mode != "greedy",
        branch=mode == "branch",
        max_nodes=params.max_nodes,
        relative_gap_stop=params.relative_gap,
        seed=params.random_seed,
        time_limit_s=time_left,
    )
    return model, result, build_s


_WORKER: dict[str, object] = {}


def _init_worker(inputs: RotationInputs, params: RotationParams) -> None:
    _WORKER["inputs"] = inputs
    _WORKER["params"] = params


def _solve_in_worker(job: tuple[Block, str, float]) -> tuple[BlockModel, BlockResult, float]:
    block, mode, time_left = job
    inputs = _WORKER["inputs"]
    params = _WORKER["params"]
    assert isinstance(inputs, RotationInputs)
    assert isinstance(params, RotationParams)
    return _solve_one((inputs, params, block, mode, time_left))


def _run(
    inputs: RotationInputs,
    params: RotationParams,
    *,
    search: bool,
    progress: Callable[[int, int], None] | None,
    client: Any = None,
) -> RotationPlan:
    validate_params(params, period_days=inputs.period_days)
    missing = unknown_closures(inputs)
    if missing:
        raise ParameterError(
            _(
                "closures name location(s) {value} that are not plots or open ranges of "
                "the project: check the plot codes (e.g. --close, --reserve-dry)."
            ).format(value=", ".join(missing))
        )
    t0 = time.perf_counter()
    todo = blocks(inputs, params)
    deadline = t0 + params.time_limit_s
    # 1. every block: LP bound and start plans (greedy, rounded, dive, prices)
    mode = "heuristic" if search else "greedy"
    done = _map(
        inputs, params, todo, mode=mode, deadline=deadline, progress=progress, client=client
    )
    if search:
        # 2. branch and cut on the blocks that hold the plan's gap, largest first
        chosen = _blocks_to_search([r for _, r, _ in done], params.relative_gap)
        if chosen:
            logger.info(_("rotation: branch and cut on %d of %d blocks"), len(chosen), len(todo))
            again = _map(
                inputs,
                params,
                [todo[k] for k in chosen],
                mode="branch",
                deadline=deadline,
                progress=progress,
                client=client,
            )
            for k, (model, res, build_s) in zip(chosen, again, strict=True):
                done[k] = (model, res, done[k][2] + build_s)
    return _gather(inputs, params, done, "highs" if search else "greedy", t0)


def _solve_on_cluster(
    shared: tuple[RotationInputs, RotationParams], job: tuple[Block, str, float]
) -> tuple[BlockModel, BlockResult, float]:
    block, mode, time_left = job
    return _solve_one((shared[0], shared[1], block, mode, time_left))


def _map(
    inputs: RotationInputs,
    params: RotationParams,
    todo: list[Block],
    *,
    mode: str,
    deadline: float,
    progress: Callable[[int, int], None] | None,
    client: Any = None,
) -> list[tuple[BlockModel, BlockResult, float]]:
    """Solve `todo` in `mode`, in worker processes or on a Dask cluster; in block order."""
    done: list[tuple[BlockModel, BlockResult, float]] = []
    if client is not None and todo:
        # the inputs go to every worker once; each block is a task; results come back in
        # block order, so the plan is the one a single process makes
        shared = client.scatter((inputs, params), broadcast=True)
        jobs = [(b, mode, params.time_limit_s) for b in todo]
        futures = client.map(_solve_on_cluster, [shared] * len(jobs), jobs, pure=False)
        for k, future in enumerate(futures, start=1):
            done.append(future.result())
            if progress:
                progress(k, len(todo))
        return done
    if params.num_workers > 1 and len(todo) > 1:
        # each worker gets the inputs once; every block gets the whole safety net
        jobs = [(b, mode, params.time_limit_s) for b in todo]
        with ProcessPoolExecutor(
            max_workers=params.num_workers, initializer=_init_worker, initargs=(inputs, params)
        ) as pool:
            chunk = max(1, len(jobs) // (4 * params.num_workers))
            for k, out in enumerate(pool.map(_solve_in_worker, jobs, chunksize=chunk), start=1):
                done.append(out)
                if progress:
                    progress(k, len(todo))
    else:
        for k, b in enumerate(todo, start=1):
            left = max(deadline - time.perf_counter(), 0.01)
            done.append(_solve_one((inputs, params, b, mode, left)))
            if progress:
                progress(k, len(todo))
    return done


def _blocks_to_search(results: list[BlockResult], target: float) -> list[int]:
    """Blocks to run branch and cut on so that the plan can reach `target` overall.

    The plan's gap is ``(sum of objectives - sum of bounds) / sum of objectives``. The
    blocks over `target` are taken largest absolute gap first until, were each of them
    brought to `target`, the plan would be within it: the fewest searches that can
    close the plan's gap. The choice depends only on the start plans, never on time.
    """
    total = sum(r.objective for r in results)
    excess = sum(r.objective - r.bound for r in results) - target * max(abs(total), 1.0)
    order = sorted(
        (k for k, r in enumerate(results) if r.gap > target + 1e-12),
        key=lambda k: (-(results[k].objective - results[k].bound), k),
    )
    chosen: list[int] = []
    for k in order:
        if excess <= 0:
            break
        r = results[k]
        chosen.append(k)
        excess -= (r.objective - r.bound) - target * max(abs(r.objective), 1.0)
    return sorted(chosen)


def _gather(
    inputs: RotationInputs,
    params: RotationParams,
    done: list[tuple[BlockModel, BlockResult, float]],
    solver: str,
    t0: float,
) -> RotationPlan:
    L, T = len(inputs.locations), inputs.n_periods
    c = inputs.kg_per_uo_period
    grazed = np.zeros((L, T), dtype=bool)
    eaten = np.zeros((L, T))
    overuse = np.zeros((L, T))
    fodder = np.zeros((L, T))
    rows_h: list[int] = []
    rows_l: list[int] = []
    rows_t: list[int] = []
    rows_u: list[float] = []
    reports = []
    dropped = np.zeros((L, T))
    for model, res, build_s in done:
        x = res.x
        groups = model.block.groups
        for (i, t), j in model.y.items():
            grazed[i, t] = x[j] > 0.5
        range_of = {inputs.locations[r].community: r for r in model.block.ranges}
        for (k, i, t), j in model.u.items():
            value = float(x[j])
            if value < _UO_STEP or not grazed[i, t]:
                # solver noise on a plot not grazed: its few grams go back to the range
                if value > 0:
                    dropped[range_of[groups[k].community], t] += value * c
                continue
            g = groups[k]
            for h in g.herds:
                rows_h.append(h)
                rows_l.append(i)
                rows_t.append(t)
                rows_u.append(value * inputs.herds[h].uo / g.uo)
        for (i, t), (e, _used, f) in model.range_cols.items():
            eaten[i, t] = x[e] * FORAGE_UNIT_KG
            fodder[i, t] = x[f] * FORAGE_UNIT_KG
        for i in model.block.ranges:  # each kg beyond the allowance, in the week it is eaten
            overuse[i] = range_overuse(inputs, inputs.locations[i], eaten[i])
        reports.append(
            BlockReport(
                name=model.block.name,
                n_variables=model.n_cols,
                n_integer=int(model.integer.sum()),
                n_constraints=model.n_rows,
                build_seconds=build_s,
                solve_seconds=res.seconds,
                objective=res.objective,
                lp_bound=res.lp_bound,
                bound=res.bound,
                start_objective=res.start_objective,
                solver_objective=res.solver_objective,
                source=res.source,
                nodes=res.nodes,
                time_limit_hit=res.time_limit_hit,
            )
        )
    fodder += dropped
    allocation = pd.DataFrame(
        {
            "herd": np.asarray(rows_h, dtype=np.int64),
            "location": np.asarray(rows_l, dtype=np.int64),
            "period": np.asarray(rows_t, dtype=np.int64),
            "uo": np.asarray(rows_u, dtype=float),
        }
    )
    if len(allocation):
        per = allocation.groupby(["location", "period"])["uo"].sum()
        for (i, t), uo in per.items():
            eaten[int(i), int(t)] = uo * c  # type: ignore[call-overload]
    total_build = sum(b for _, _, b in done)
    plan = RotationPlan(
        inputs=inputs,
        params=params,
        allocation=allocation,
        grazed=grazed,
        eaten_kg=eaten,
        overuse_kg=overuse,
        fodder_kg=fodder,
        blocks=tuple(reports),
        solver=solver,
        seconds=time.perf_counter() - t0,
        build_seconds=total_build,
    )
    logger.info(
        _("rotation: %d blocks, objective %.0f, bound %.0f, gap %.2f%%, %.1f s"),
        len(reports),
        plan.objective,
        plan.bound,
        100 * plan.gap if not math.isnan(plan.gap) else math.nan,
        plan.seconds,
    )
    return plan


def plan_rotation(
    inputs: RotationInputs,
    params: RotationParams | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    client: Any = None,
) -> RotationPlan:
    """Plan the rotation with HiGHS, block by block, from the greedy start.

    Parameters
    ----------
    inputs
        Herds, locations, horizon (:func:`pastures.rotation.rotation_inputs_from_project`).
    params
        Rules and solver settings (:class:`~pastures.rotation.RotationParams`).
    progress
        Called with (blocks done, blocks) after each block.
    client
        A ``distributed.Client`` (e.g. :func:`pastures.regional.dask_client`): the
        blocks are solved as tasks of its cluster instead of local processes. The
        plan is the same: each block's solve depends only on the block.

    Returns
    -------
    RotationPlan
        The better of the start plan and the solver's plan, block by block, with the
        LP bound of each block, the gap, and whether the wall-clock net was hit.

    Raises
    ------
    ParameterError
        A parameter out of range, or a closure naming an unknown location.
    """
    return _run(inputs, params or RotationParams(), search=True, progress=progress, client=client)


def greedy_rotation(
    inputs: RotationInputs,
    params: RotationParams | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> RotationPlan:
    """The rule of thumb: each plot grazed once, as late in the dry season as its rules allow.

    The stays are fixed by rule (:func:`pastures.rotation.blocks.greedy_stays`); how many
    UO of each corral go on each stay is solved as an LP, so the plan keeps every hard
    limit. Its LP bound is computed too, so the rule's gap is reported like the solver's.
    """
    return _run(inputs, params or RotationParams(), search=False, progress=progress)
