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

import numpy as np
from scipy import sparse

from pastures.rotation.model import (
    CRITICAL_MONTHS,
    RotationInputs,
    RotationParams,
    closed_mask,
    distance_m,
    reachable,
)

#: Fewest UO on a plot in a week it counts as grazed (or all it can carry, if less).
MIN_GRAZING_UO = 1.0
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
            most[i, t] = min(cap, avail / c)
            y[i, t] = b.var(0.0, 1.0, w.grazed_plot_period, integer=True)
            for k, dist in near:
                hi = min(block.groups[k].uo, most[i, t])
                u[k, i, t] = b.var(0.0, hi, w.walk_per_uo_km * dist / 1000.0)
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
        # a new stay when grazed after a period not grazed
        for t in range(T):
            if (i, t) not in y:
                continue
            z = b.var(0.0, 1.0, w.new_stay)
            terms = [(z, 1.0), (y[i, t], -1.0)]
            if (i, t - 1) in y:
                terms.append((y[i, t - 1], 1.0))
            b.row(terms, 0.0, inf)
        # rest: leaving after t, no grazing in t+2 .. t+R
        for t in range(T):
            if (i, t) not in y:
                continue
            R = params.rest_periods(loc.pasture_type, inputs.season(t), inputs.period_days)
            for j in range(2, R + 1):
                if (i, t + j) not in y:
                    continue
                terms = [(y[i, t], 1.0), (y[i, t + j], 1.0)]
                if (i, t + 1) in y:
                    terms.append((y[i, t + 1], -1.0))
                b.row(terms, -inf, 1.0)
        M = params.max_stay_periods(inputs.period_days)
        if M is not None:
            for t in range(T - M):
                window = [(i, t + j) for j in range(M + 1)]
                if all(key in y for key in window):
                    b.row([(y[key], 1.0) for key in window], -inf, float(M))
    # corral groups: UO on plots at most the group's UO
    for k, g in enumerate(block.groups):
        for t in range(T):
            cols = by_group_t.get((k, t), [])
            if cols:
                b.row([(j, 1.0) for j in cols], -inf, g.uo)
    # open ranges: the rest of each community's demand
    range_cols: dict[tuple[int, int], tuple[int, list[int], int]] = {}
    for i in block.ranges:
        loc = inputs.locations[i]
        mine = [k for k, g in enumerate(block.groups) if g.community == loc.community]
        uo = sum(block.groups[k].uo for k in mine)
        mean_growth = float(np.sum(loc.growth_kg)) / T / FORAGE_UNIT_KG
        prev = None
        for t in range(T):
            eat = b.var(0.0, inf)
            bands = [
                b.var(0.0, share * mean_growth, price * FORAGE_UNIT_KG)
                for share, price in w.overuse_bands
            ]
            fodder = b.var(0.0, inf, w.fodder_per_kg * FORAGE_UNIT_KG)
            range_cols[i, t] = (eat, bands, fodder)
            on_plots = [(j, c) for k in mine for j in by_group_t.get((k, t), [])]
            rhs = c * uo
            b.row([(eat, 1.0), *((j, 1.0) for j in bands), (fodder, 1.0), *on_plots], rhs, rhs)
            stock = b.var(0.0, inf)
            if prev is None:
                rhs = keep * (loc.initial_kg + loc.growth_kg[t]) / FORAGE_UNIT_KG
                b.row([(stock, 1.0), (eat, keep)], -inf, rhs)
            else:
                rhs = keep * loc.growth_kg[t] / FORAGE_UNIT_KG
                b.row([(stock, 1.0), (prev, -keep), (eat, keep)], -inf, rhs)
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
    )


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
    T = inputs.n_periods
    M = params.max_stay_periods(inputs.period_days) or T
    values = np.zeros(model.n_cols)
    for i in plots if plots is not None else sorted({i for i, _ in model.y}):
        ptype = inputs.locations[i].pasture_type
        rest = [params.rest_periods(ptype, inputs.season(t), inputs.period_days) for t in range(T)]
        # states: ("g", run) grazed now; ("f", 0) free to graze next; ("w", k) k more to wait
        best: dict[tuple[str, int], tuple[float, list[int]]] = {("f", 0): (0.0, [])}
        for t in range(T):
            j = model.y.get((i, t))
            gain = (x_lp[j] - threshold) if j is not None else -math.inf
            nxt: dict[tuple[str, int], tuple[float, list[int]]] = {}

            def offer(
                state: tuple[str, int],
                score: float,
                path: list[int],
                nxt: dict[tuple[str, int], tuple[float, list[int]]] = nxt,
            ) -> None:
                if state not in nxt or score > nxt[state][0] + 1e-12:
                    nxt[state] = (score, path)

            for (kind, n), (score, path) in best.items():
                if kind == "g":
                    if j is not None and n < M:
                        offer(("g", n + 1), score + gain, [*path, t])
                    wait = rest[t - 1] - 1
                    offer(("w", wait) if wait > 0 else ("f", 0), score, path)
                elif kind == "f":
                    if j is not None:
                        offer(("g", 1), score + gain, [*path, t])
                    offer(("f", 0), score, path)
                else:
                    offer(("w", n - 1) if n > 1 else ("f", 0), score, path)
            best = nxt
        _, chosen = max(best.values(), key=lambda v: v[0])
        for t in chosen:
            values[model.y[i, t]] = 1.0
    return values
