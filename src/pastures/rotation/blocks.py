"""Independent blocks of the rotation model and the MILP of one block, as arrays.

Herds that can reach no common plot never interact (each community has its own open
range), so the model splits into blocks (:func:`blocks`), usually one per community.
Inside a block the herds of one corral walk the same distances and are planned
together (a *corral group*); :func:`build_block` writes the block's MILP as sparse
arrays that :mod:`pastures.rotation.highs` hands to HiGHS.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse

from pastures.rotation.model import (
    CRITICAL_MONTHS,
    RESERVE_MONTHS,
    RotationInputs,
    RotationParams,
    closed_mask,
    distance_m,
    range_allowance,
    reachable,
)

#: Fewest UO on a plot in a week it counts as grazed (or all it can carry, if less).
MIN_GRAZING_UO = 1.0
#: A chosen path of :func:`best_stays` as a linked list: (period, previous) or None.
_Path = tuple[int, Any] | None
#: Forage quantities of the model are in tonnes (1,000 kg DM), prices per kg x 1,000.
FORAGE_UNIT_KG = 1000.0


@dataclass(frozen=True)
class CorralGroup:
    """The herds of one corral in a block, planned as one and split by UO afterwards."""

    corral_id: str
    community: str
    herds: tuple[int, ...]
    uo: float
    key: float


@dataclass(frozen=True)
class Block:
    """Communities whose herds and plots interact, with their corral groups and plots."""

    communities: tuple[str, ...]
    groups: tuple[CorralGroup, ...]
    plots: tuple[int, ...]
    ranges: tuple[int, ...]

    @property
    def name(self) -> str:
        """Short name: the communities, joined."""
        return " + ".join(self.communities)


def blocks(inputs: RotationInputs, params: RotationParams) -> list[Block]:
    """Split the inputs into independent blocks (union of communities linked by reach)."""
    communities = sorted({h.community for h in inputs.herds})
    parent = {c: c for c in communities}

    def find(c: str) -> str:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    plot_ids = [i for i, loc in enumerate(inputs.locations) if loc.kind == "plot"]
    by_community: dict[str, list[int]] = defaultdict(list)
    for i in plot_ids:
        by_community[inputs.locations[i].community].append(i)
    owner: dict[int, str] = {}
    for herd in inputs.herds:
        candidates = by_community[herd.community] if params.own_community_only else plot_ids
        for i in candidates:
            loc = inputs.locations[i]
            if reachable(inputs, params, herd, loc):
                if loc.community in parent:
                    parent[find(loc.community)] = find(herd.community)
                prev = owner.setdefault(i, herd.community)
                parent[find(prev)] = find(herd.community)
    members: dict[str, list[str]] = defaultdict(list)
    for c in communities:
        members[find(c)].append(c)
    out = []
    for coms in sorted(members.values()):
        cset = set(coms)
        by_corral: dict[tuple[str, str], list[int]] = defaultdict(list)
        for h, herd in enumerate(inputs.herds):
            if herd.community in cset:
                by_corral[herd.community, herd.corral_id].append(h)
        groups = tuple(
            CorralGroup(
                corral_id=corral,
                community=com,
                herds=tuple(hs),
                uo=sum(inputs.herds[h].uo for h in hs),
                key=sum(inputs.herds[h].key for h in hs),
            )
            for (com, corral), hs in sorted(by_corral.items())
        )
        plots = tuple(i for c in coms for i in by_community[c] if owner.get(i, c) in cset)
        if not params.own_community_only:
            plots = tuple(
                sorted(i for i in plot_ids if owner.get(i, inputs.locations[i].community) in cset)
            )
        ranges = tuple(
            i
            for i, loc in enumerate(inputs.locations)
            if loc.kind == "open_range" and loc.community in cset
        )
        out.append(Block(tuple(coms), groups, plots, ranges))
    return out


@dataclass
class BlockModel:
    """The MILP of one block as arrays, with the columns of each decision."""

    block: Block
    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    integer: np.ndarray
    matrix: sparse.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    #: (group k, plot index i, period t) -> column of the group's UO on the plot
    u: dict[tuple[int, int, int], int] = field(default_factory=dict)
    #: (plot index i, period t) -> column of "plot grazed"
    y: dict[tuple[int, int], int] = field(default_factory=dict)
    #: (range index i, period t) -> columns: eaten, overuse bands..., fodder
    range_cols: dict[tuple[int, int], tuple[int, list[int], int]] = field(default_factory=dict)
    #: (plot index i, period t) -> most UO the plot can carry in t (density and stock)
    capacity: dict[tuple[int, int], float] = field(default_factory=dict)
    #: (community, period t) -> row of the community's demand balance in t (its dual is
    #: the marginal cost of a tonne of demand the plots do not meet)
    demand_rows: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def n_cols(self) -> int:
        """Columns (variables)."""
        return len(self.cost)

    @property
    def n_rows(self) -> int:
        """Rows (constraints)."""
        return len(self.row_lower)


class _Builder:
    def __init__(self) -> None:
        self.cost: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.integer: list[bool] = []
        self.r: list[int] = []
        self.c: list[int] = []
        self.v: list[float] = []
        self.rlo: list[float] = []
        self.rhi: list[float] = []

    def var(self, lo: float, hi: float, cost: float = 0.0, *, integer: bool = False) -> int:
        self.cost.append(cost)
        self.lo.append(lo)
        self.hi.append(hi)
        self.integer.append(integer)
        return len(self.cost) - 1

    def row(self, terms: list[tuple[int, float]], lo: float, hi: float) -> None:
        k = len(self.rlo)
        for j, v in terms:
            self.r.append(k)
            self.c.append(j)
            self.v.append(v)
        self.rlo.append(lo)
        self.rhi.append(hi)


def build_block(  # noqa: PLR0912, PLR0915
    inputs: RotationInputs, params: RotationParams, block: Block
) -> BlockModel:
    """The block's MILP (see :mod:`pastures.rotation.model` for the formulation)."""
    inf = math.inf
    T = inputs.n_periods
    c = inputs.kg_per_uo_period / FORAGE_UNIT_KG  # forage in tonnes: better-scaled rows
    keep = inputs.keep_per_period
    w = params.weights
    closed = closed_mask(inputs, params)
    b = _Builder()
    u: dict[tuple[int, int, int], int] = {}
    y: dict[tuple[int, int], int] = {}
    herd0 = [inputs.herds[g.herds[0]] for g in block.groups]
    # decisions: UO of each corral group on each plot it reaches, when the plot is open
    most: dict[tuple[int, int], float] = {}  # most UO a plot can carry in a period
    # plot forage eaten before the reserve months costs a little (per UO and period)
    early = [
        0.0 if inputs.month(t) in RESERVE_MONTHS else w.early_plot_per_kg * c * FORAGE_UNIT_KG
        for t in range(T)
    ]
    for i in block.plots:
        loc = inputs.locations[i]
        cap = params.density(loc.pasture_type) * loc.area_ha
        near = [
            (k, distance_m(herd0[k], loc))
            for k in range(len(block.groups))
            if reachable(inputs, params, herd0[k], loc)
        ]
        if not near or cap <= 0:
            continue
        ungrazed = loc.initial_kg / FORAGE_UNIT_KG  # the stock if never grazed: an upper bound
        for t in range(T):
            avail = ungrazed + loc.growth_kg[t] / FORAGE_UNIT_KG
            ungrazed = keep * avail
            if closed[i, t] or avail <= 0:
                continue
            # the density limit protects growing plants; dormant standing hay is bounded
            # by its forage alone
            dense = math.inf if params.dormant(inputs.season(t)) else cap
            most[i, t] = min(dense, avail / c)
            y[i, t] = b.var(0.0, 1.0, w.grazed_plot_period, integer=True)
            for k, dist in near:
                hi = min(block.groups[k].uo, most[i, t])
                u[k, i, t] = b.var(0.0, hi, w.walk_per_uo_km * dist / 1000.0 + early[t])
                # a group is on a plot only in a period the plot is grazed (tight bound)
                b.row([(u[k, i, t], 1.0), (y[i, t], -hi)], -inf, 0.0)
    on_plot: dict[tuple[int, int], list[int]] = defaultdict(list)
    by_group_t: dict[tuple[int, int], list[int]] = defaultdict(list)
    for (k, i, t), j in u.items():
        on_plot[i, t].append(j)
        by_group_t[k, t].append(j)
    # plots: stock balance (stock >= 0 keeps eating within stock + growth), density
    for i in block.plots:
        loc = inputs.locations[i]
        if not any((i, t) in y for t in range(T)):
            continue
        prev: int | None = None
        for t in range(T):
            stock = b.var(0.0, inf)  # stock at the start of t + 1
            eat = [(j, keep * c) for j in on_plot.get((i, t), [])]
            if prev is None:
                rhs = keep * (loc.initial_kg + loc.growth_kg[t]) / FORAGE_UNIT_KG
                b.row([(stock, 1.0), *eat], -inf, rhs)
            else:
                rhs = keep * loc.growth_kg[t] / FORAGE_UNIT_KG
                b.row([(stock, 1.0), (prev, -keep), *eat], -inf, rhs)
            prev = stock
            if (i, t) in y and len(on_plot[i, t]) > 1:
                b.row([(j, 1.0) for j in on_plot[i, t]] + [(y[i, t], -most[i, t])], -inf, 0.0)
            if (i, t) in y:
                # "grazed" means animals on it: an empty week between two stays is rest,
                # so it cannot bridge them past the rest rule
                least = min(MIN_GRAZING_UO, most[i, t])
                b.row([(j, 1.0) for j in on_plot[i, t]] + [(y[i, t], -least)], 0.0, inf)
        _stay_rules(
            b, inputs, params, y, i, pasture_type=loc.pasture_type, new_stay_cost=w.new_stay
        )
    # corral groups: UO on plots at most the group's UO
    for k, g in enumerate(block.groups):
        for t in range(T):
            cols = by_group_t.get((k, t), [])
            if cols:
                b.row([(j, 1.0) for j in cols], -inf, g.uo)
    # open ranges: the rest of each community's demand, from one standing stock
    range_cols: dict[tuple[int, int], tuple[int, list[int], int]] = {}
    demand_rows: dict[tuple[str, int], int] = {}
    for i in block.ranges:
        loc = inputs.locations[i]
        mine = [k for k, g in enumerate(block.groups) if g.community == loc.community]
        uo = sum(block.groups[k].uo for k in mine)
        allowance = range_allowance(inputs, loc) / FORAGE_UNIT_KG
        prev = None
        eaten_to = None  # intake so far
        over_to = None  # overuse so far
        for t in range(T):
            eat = b.var(0.0, inf)
            f = w.critical_factor if inputs.month(t) in CRITICAL_MONTHS else 1.0
            over = b.var(0.0, inf, w.overuse_per_kg * FORAGE_UNIT_KG)
            fodder = b.var(0.0, inf, f * w.fodder_per_kg * FORAGE_UNIT_KG)
            range_cols[i, t] = (eat, [over], fodder)
            on_plots = [(j, c) for k in mine for j in by_group_t.get((k, t), [])]
            rhs = c * uo
            demand_rows[loc.community, t] = len(b.rlo)
            b.row([(eat, 1.0), (fodder, 1.0), *on_plots], rhs, rhs)
            # overuse so far >= intake so far - proper-use allowance so far (each kg
            # beyond the allowance is overuse once, in the week it is eaten)
            cum_eat = b.var(0.0, inf)
            cum_over = b.var(0.0, inf)
            b.row([(cum_eat, 1.0), (eat, -1.0), *([(eaten_to, -1.0)] if eaten_to else [])], 0, 0)
            b.row([(cum_over, 1.0), (over, -1.0), *([(over_to, -1.0)] if over_to else [])], 0, 0)
            b.row([(cum_over, 1.0), (cum_eat, -1.0)], -allowance[t], inf)
            eaten_to, over_to = cum_eat, cum_over
            grow = loc.growth_kg[t] / FORAGE_UNIT_KG
            stock = b.var(0.0, inf)  # stock at the start of t + 1: intake <= what stands
            if prev is None:
                first = loc.initial_kg / FORAGE_UNIT_KG
                b.row([(stock, 1.0), (eat, keep)], -inf, keep * (first + grow))
            else:
                b.row([(stock, 1.0), (prev, -keep), (eat, keep)], -inf, keep * grow)
            prev = stock
    # family shares: each corral's share of the community's plot UO-periods
    if params.family_shares:
        tol = params.share_tolerance
        for com in block.communities:
            mine = [
                k
                for k, g in enumerate(block.groups)
                if g.community == com and any(kk == k for (kk, _, _) in u)
            ]
            if len(mine) < 2:
                continue
            key_total = sum(block.groups[k].key for k in mine)
            cols_of = {k: [j for (kk, _, _), j in u.items() if kk == k] for k in mine}
            every = [j for k in mine for j in cols_of[k]]
            for k in mine:
                share = block.groups[k].key / key_total
                own = dict.fromkeys(cols_of[k], 1.0)
                lo_terms = dict.fromkeys(every, -(1 - tol) * share)
                hi_terms = dict.fromkeys(every, -(1 + tol) * share)
                for j in own:
                    lo_terms[j] += 1.0
                    hi_terms[j] += 1.0
                b.row(list(lo_terms.items()), 0.0, inf)
                b.row(list(hi_terms.items()), -inf, 0.0)
    n = len(b.cost)
    matrix = sparse.csr_matrix(
        (np.asarray(b.v, float), (np.asarray(b.r, np.int64), np.asarray(b.c, np.int64))),
        shape=(len(b.rlo), n),
    )
    matrix.sum_duplicates()
    return BlockModel(
        block=block,
        cost=np.asarray(b.cost, float),
        lower=np.asarray(b.lo, float),
        upper=np.asarray(b.hi, float),
        integer=np.asarray(b.integer, bool),
        matrix=matrix,
        row_lower=np.asarray(b.rlo, float),
        row_upper=np.asarray(b.rhi, float),
        u=u,
        y=y,
        range_cols=range_cols,
        capacity=most,
        demand_rows=demand_rows,
    )


def _stay_rules(  # noqa: PLR0912
    b: _Builder,
    inputs: RotationInputs,
    params: RotationParams,
    y: dict[tuple[int, int], int],
    i: int,
    *,
    pasture_type: str,
    new_stay_cost: float,
) -> None:
    """Rest and longest-stay rules of plot `i`, in the strong (turn-on/turn-off) form.

    ``v[t]`` (a stay starts in ``t``) and ``w[t]`` (the plot is left: ``t`` is the first
    rest period) follow ``y[t] - y[t-1] = v[t] - w[t]``, with ``y`` = 0 before the plan
    and in closed periods. Rest: a plot left in ``s`` rests ``R`` periods, ``R`` set by
    the season of the last grazed period, so ``y[t] + sum of w[s] whose rest covers t
    <= 1``. Longest stay ``M``: ``y[t] <= v[t-M+1] + ... + v[t]``. On 0/1 values these
    say exactly what the pairwise rules say (check: :func:`pastures.rotation.check_plan`),
    but their LP relaxation is much tighter: they are the min-up/min-down inequalities of
    unit commitment (Rajan and Takriti 2005, IBM research report RC23628), which describe
    the convex hull of one unit's on/off schedules. A tight relaxation gives a real bound
    close to the plan, and branch and cut little left to close.
    """
    T = inputs.n_periods
    open_t = [t for t in range(T) if (i, t) in y]
    if not open_t:
        return
    first, last = open_t[0], open_t[-1]
    # v[t], w[t] for the periods where y can change: from the first open period to the
    # period after the last
    v: dict[int, int] = {}
    w: dict[int, int] = {}
    for t in range(first, min(last + 2, T)):
        v[t] = b.var(0.0, 1.0, new_stay_cost) if (i, t) in y else -1
        w[t] = b.var(0.0, 1.0)
        terms = [(w[t], 1.0)]
        if v[t] >= 0:
            terms.append((v[t], -1.0))
        if (i, t) in y:
            terms.append((y[i, t], 1.0))
        if (i, t - 1) in y:
            terms.append((y[i, t - 1], -1.0))
        b.row(terms, 0.0, 0.0)
    # rest: periods covered by the rest of a plot left in s
    covering: dict[int, list[int]] = defaultdict(list)
    for s, col in w.items():
        if s == 0 or (i, s - 1) not in y:
            continue  # nothing to leave in s: w[s] = 0 whenever y[s - 1] = 0 ... or closed
        R = params.rest_periods(pasture_type, inputs.season(s - 1), inputs.period_days)
        for t in range(s, min(s + R, T)):
            covering[t].append(col)
    for t in open_t:
        if covering.get(t):
            b.row([(y[i, t], 1.0), *((c, 1.0) for c in covering[t])], -math.inf, 1.0)
    # longest stay, while plants grow (dormant-season stays are bounded by forage)
    M = params.max_stay_periods(inputs.period_days)
    if M is not None:
        for t in open_t:
            if params.dormant(inputs.season(t)):
                continue
            starts = [
                (v[s], -1.0) for s in range(max(t - M + 1, first), t + 1) if v.get(s, -1) >= 0
            ]
            b.row([(y[i, t], 1.0), *starts], -math.inf, 0.0)


def greedy_stays(inputs: RotationInputs, params: RotationParams, model: BlockModel) -> np.ndarray:
    """The rule of thumb's "plot grazed" values: one stay per plot, in the late dry season.

    Each plot is grazed for the longest stay the rules allow (``max_consecutive_days``)
    in the open window that covers most of the critical months (Aug-Oct), the latest
    such window on ties: the fenced plot kept as a reserve for when the range is short.

    Returns
    -------
    numpy.ndarray
        0/1 per column of `model` (only the ``y`` columns are meaningful).
    """
    T = inputs.n_periods
    M = params.max_stay_periods(inputs.period_days) or T
    crit = np.array([inputs.month(t) in CRITICAL_MONTHS for t in range(T)], dtype=int)
    values = np.zeros(model.n_cols)
    plots = sorted({i for i, _ in model.y})
    for i in plots:
        open_t = np.array([(i, t) in model.y for t in range(T)])
        best: tuple[int, int, int] | None = None  # (length, score, start)
        for s in range(T):
            length = 0
            while s + length < T and length < M and open_t[s + length]:
                length += 1
            if length == 0:
                continue
            cand = (length, int(crit[s : s + length].sum()), s)
            if best is None or cand[:2] >= best[:2]:
                best = cand
        if best is None:
            continue
        length, _, s = best
        for t in range(s, s + length):
            values[model.y[i, t]] = 1.0
    return values


def round_stays(
    inputs: RotationInputs,
    params: RotationParams,
    model: BlockModel,
    x_lp: np.ndarray,
    *,
    threshold: float = 1e-6,
    plots: list[int] | None = None,
) -> np.ndarray:
    """Stays from the LP relaxation: the rule-abiding stays closest to it, plot by plot.

    For each plot, a dynamic programme over the periods picks the stays that keep the
    rest and longest-stay rules and maximise the sum over grazed periods of
    ``relaxed value - threshold``.

    Returns
    -------
    numpy.ndarray
        0/1 per column of `model` (only the ``y`` columns are meaningful).
    """
    values = np.zeros(model.n_cols)
    for i in plots if plots is not None else sorted({i for i, _ in model.y}):
        gains = [
            (x_lp[j] - threshold) if (j := model.y.get((i, t))) is not None else None
            for t in range(inputs.n_periods)
        ]
        for t in best_stays(inputs, params, i, gains):
            values[model.y[i, t]] = 1.0
    return values


def best_stays(
    inputs: RotationInputs,
    params: RotationParams,
    i: int,
    gains: list[float | None],
    *,
    start_cost: float = 0.0,
) -> list[int]:
    """The rule-abiding grazed periods of plot `i` with the largest total gain.

    A dynamic programme over the periods whose states are "grazed for n periods",
    "free to graze" and "k more periods of rest": it keeps the rest rule (by the season
    of the last grazed period) and the longest stay, and maximises the sum of
    ``gains[t]`` over grazed periods less `start_cost` per stay. ``gains[t]`` None: the
    plot cannot be grazed in ``t`` (closed, or nothing to eat).

    Returns
    -------
    list of int
        The grazed periods, in order.
    """
    T = inputs.n_periods
    M = params.max_stay_periods(inputs.period_days) or T
    ptype = inputs.locations[i].pasture_type
    rest = [params.rest_periods(ptype, inputs.season(t), inputs.period_days) for t in range(T)]
    # states: ("g", run) grazed now; ("f", 0) free to graze next; ("w", k) k more to wait;
    # a path is kept as a linked list (period, previous) so that copying it is free
    best: dict[tuple[str, int], tuple[float, _Path]] = {("f", 0): (0.0, None)}
    for t in range(T):
        gain = gains[t]
        nxt: dict[tuple[str, int], tuple[float, _Path]] = {}

        def offer(
            state: tuple[str, int],
            score: float,
            path: _Path,
            nxt: dict[tuple[str, int], tuple[float, _Path]] = nxt,
        ) -> None:
            if state not in nxt or score > nxt[state][0] + 1e-12:
                nxt[state] = (score, path)

        dormant = params.dormant(inputs.season(t))
        # a stay may restart at once where no rest is due after the period before
        # (the turn-on/turn-off form allows it): its length counts again from 1
        restart = t > 0 and rest[t - 1] == 0
        for (kind, n), (score, path) in best.items():
            if kind == "g":
                run = 1 if restart else n + 1
                if gain is not None and (run <= M or dormant):
                    offer(("g", min(run, M)), score + gain, (t, path))
                wait = rest[t - 1] - 1
                offer(("w", wait) if wait > 0 else ("f", 0), score, path)
            elif kind == "f":
                if gain is not None:
                    offer(("g", 1), score + gain - start_cost, (t, path))
                offer(("f", 0), score, path)
            else:
                offer(("w", n - 1) if n > 1 else ("f", 0), score, path)
        best = nxt
    _, node = max(best.values(), key=lambda v: v[0])
    chosen: list[int] = []
    while node is not None:
        chosen.append(node[0])
        node = node[1]
    return chosen[::-1]


def price_stays(
    inputs: RotationInputs,
    params: RotationParams,
    model: BlockModel,
    row_duals: np.ndarray,
) -> np.ndarray:
    """Stays that pay best at the forage prices of an LP: a price-directed start plan.

    The dual of each community's demand balance in period ``t`` is what a tonne of
    forage that the plots supply in ``t`` saves on the open range (overuse bands,
    fodder), later weeks included through the range's stock. At those prices a plot
    grazed in ``t`` earns ``capacity x (price x intake - walking cost) - cost of a grazed
    period``, and :func:`best_stays` picks the rule-abiding stays that earn most, less
    the cost of each new stay. Plots then no longer interact, so each plot's stays are
    exact for the prices; the caller evaluates them (split solved as an LP) and prices
    again (a Lagrangian heuristic).

    Returns
    -------
    numpy.ndarray
        0/1 per column of `model` (only the ``y`` columns are meaningful).
    """
    c = inputs.kg_per_uo_period / FORAGE_UNIT_KG
    w = params.weights
    values = np.zeros(model.n_cols)
    near: dict[tuple[int, int], list[int]] = defaultdict(list)
    for k, i, t in model.u:
        near[i, t].append(k)
    groups = model.block.groups
    for i in sorted({i for i, _ in model.y}):
        gains: list[float | None] = [None] * inputs.n_periods
        for t in range(inputs.n_periods):
            if (i, t) not in model.y:
                continue
            per_uo = max(
                float(row_duals[model.demand_rows[groups[k].community, t]]) * c
                - float(model.cost[model.u[k, i, t]])
                for k in near[i, t]
            )
            gains[t] = model.capacity[i, t] * per_uo - w.grazed_plot_period
        for t in best_stays(inputs, params, i, gains, start_cost=w.new_stay):
            values[model.y[i, t]] = 1.0
    return values
