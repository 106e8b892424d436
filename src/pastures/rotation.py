"""Grazing rotation planner: which herd grazes where, week by week, solved as a MILP.

The model
---------
*Herd groups* (a family's herd, or the families of one corral packed into groups of
a bounded size) each have an animal load in sheep units (UO) and a home corral.
*Locations* are the fenced plots plus one open communal range per community. Each
location has a stock of usable forage (kg DM, already multiplied by the proper-use
factor) that grows every period by season and pasture type and is eaten by the herds
placed on it. Time is cut into equal periods (weeks by default, or days) over a
horizon (52 weeks by default).

Decision: ``x[h, l, t] = 1`` when herd ``h`` is at location ``l`` in period ``t``.
Forage bookkeeping per location and period (all in whole kg DM)::

    available[l, t] = stock[l, t] + growth[l, t]
    eaten[l, t]    <= min(available[l, t], demand[l, t])
    shortfall[l, t] = demand[l, t] - eaten[l, t]          (deficit / overgrazing)
    stock[l, t+1]  <= min(cap[l], available[l, t] - eaten[l, t])

``demand[l, t]`` is the intake of the herds placed there. A shortfall is demand the
proper-use allowance cannot meet: in the field it is either hunger or grazing into
the reserve the use factor keeps, i.e. overgrazing. It is a soft quantity (slack),
so the model never becomes infeasible for lack of forage; with
``RotationParams.forage_hard`` it must be zero.

Constraints (each switchable in :class:`RotationParams`): one location per herd and
period; forage within the proper-use allowance; minimum rest after grazing, by season
and pasture type; maximum consecutive grazing on a plot; closures; maximum walking
distance from the home corral; maximum herds per plot at once; family shares of the
plot animal-days of their community in proportion to a key (herd size or labour).

Objective (minimised, weights in :class:`ObjectiveWeights`): forage shortfall first,
then moves and walking, then grazed plot-periods (i.e. most rest).

Solver: HiGHS (``highspy``, branch and cut; forage flows are continuous, so its LP
bound gives a meaningful gap) or OR-Tools CP-SAT (``ortools``, everything in whole
kg DM), each with a fixed seed, a fixed number of threads and a time limit. Herds
that share no location (different communities) never interact, so the model is
split into independent blocks (:func:`components`) solved one after the other; the
search starts from the greedy rule of thumb (:func:`greedy_rotation`), which is
also the baseline the benchmark compares against. The plan reports status,
objective, best bound and relative gap.

:func:`check_plan` verifies every constraint on any plan, independently of the
solver; :func:`evaluate_plan` recomputes its objective; :func:`diagnose_inputs`
names hard conflicts before solving; :func:`explain_shortfall` turns a shortfall
into community, weeks, demand against supply and the UO to move.

Supply, intake and animal units come from :func:`rotation_inputs_from_project`:
by default those of the forage budget (``pastures.forage``), or this module's own
documented figures (:class:`ForageDefaults`), or measured supply per location.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from pastures.errors import MissingDependencyError, ParameterError, Problem, ValidationError

if TYPE_CHECKING:
    from pastures.layers import Project

logger = logging.getLogger(__name__)

Season = Literal["rainy", "transition", "dry"]
LocationKind = Literal["plot", "open_range"]
ShareKey = Literal["herd_size", "labour"]
SolverName = Literal["highs", "cp-sat"]
PlanStatus = Literal["optimal", "feasible", "infeasible", "unknown", "greedy"]

#: Season of each month on the Juli altiplano (DOMAIN.md: rainy Dec-Mar holds ~77 % of
#: the rain, dry Jun-Oct; April, May and November are transitions).
SEASON_OF_MONTH: dict[int, Season] = {
    1: "rainy", 2: "rainy", 3: "rainy", 4: "transition", 5: "transition", 6: "dry",
    7: "dry", 8: "dry", 9: "dry", 10: "dry", 11: "transition", 12: "rainy",
}  # fmt: skip
#: Critical forage months (late dry season, lowest protein and digestibility; DOMAIN.md).
CRITICAL_MONTHS: tuple[int, ...] = (8, 9, 10)
#: Label used for the open communal range of a community in ``Location.location_id``.
OPEN_RANGE_PREFIX = "RANGE"

#: Minimum rest after grazing (days), by pasture type and season of the last grazed
#: period. No Andean figure was found (DOMAIN.md), so these are documented assumptions
#: to override: regrowth is fast in the rainy season and slow in the dry season;
#: bofedales (wetlands, water all year) recover faster. Key ``"*"``: any other type.
DEFAULT_REST_DAYS: dict[str, dict[Season, int]] = {
    "bofedal": {"rainy": 21, "transition": 35, "dry": 49},
    "*": {"rainy": 35, "transition": 49, "dry": 70},
}
#: Longest run of consecutive grazing on one plot (days): four weeks.
DEFAULT_MAX_CONSECUTIVE_DAYS = 28
#: Longest walk from the home corral to a location and back in a day is about 2 x 6 km.
DEFAULT_MAX_WALK_M = 6000.0
DEFAULT_MAX_HERDS_PER_PLOT = 2
DEFAULT_SHARE_TOLERANCE = 0.25
DEFAULT_TIME_LIMIT_S = 60.0
DEFAULT_WORKERS = 2
DEFAULT_SEED = 0
DEFAULT_GAP = 0.01

#: Relative gap below which a plan counts as proven optimal.
_PROVEN_GAP = 1e-6
#: Share of HiGHS branch-and-bound effort spent on primal heuristics (HiGHS default 0.05).
_HEURISTIC_EFFORT = 0.3
#: Integer scale of the family-share coefficients in the solver (1/1000 of a share).
_SHARE_SCALE = 1000


# --------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HerdGroup:
    """A herd that moves as one: a family's herd or a group of families of one corral.

    Attributes
    ----------
    herd_id
        Unique, short id (e.g. ``"PAS-C1-G2"``).
    community
        Community the herd belongs to (it grazes that community's land).
    corral_id
        Home corral.
    uo
        Animal load in sheep units (UO).
    x, y
        Home corral position in the working CRS (m).
    families
        Family ids in the group.
    share_key
        Weight of the group in the family-share rule (UO, or labour days given to the
        fencing); 0 means "use `uo`".
    """

    herd_id: str
    community: str
    corral_id: str
    uo: float
    x: float
    y: float
    families: tuple[str, ...] = ()
    share_key: float = 0.0

    @property
    def key(self) -> float:
        """Weight in the family-share rule."""
        return self.share_key if self.share_key > 0 else self.uo


@dataclass(frozen=True)
class Location:
    """A place a herd can graze for a period: a fenced plot or an open communal range.

    Attributes
    ----------
    location_id
        Plot code, or ``"RANGE <community>"`` for the open range.
    community
        Owning community.
    kind
        ``"plot"`` (rest, consecutive-days and herds-per-plot rules apply) or
        ``"open_range"`` (grazed continuously; those rules do not apply).
    pasture_type
        Canonical pasture type (``pastures.schema.PASTURE_TYPES``).
    area_ha
        Grazable area (ha).
    x, y
        Representative point (m, working CRS); NaN for the open range, which starts at
        the corral gate (walking distance 0).
    growth_kg
        Usable forage (kg DM, after the proper-use factor) that grows in each period.
    initial_kg
        Usable standing forage at the start of the horizon (kg DM).
    cap_kg
        Most usable forage that can stand on the location (kg DM); more is lost.
    """

    location_id: str
    community: str
    kind: LocationKind
    pasture_type: str
    area_ha: float
    x: float
    y: float
    growth_kg: tuple[int, ...]
    initial_kg: int
    cap_kg: int


@dataclass(frozen=True)
class Closure:
    """A location closed to grazing from `start` to `end` (both inclusive).

    Examples: a plot reserved for the dry season is closed from November to May; a
    re-seeded plot is closed for a year.
    """

    location_id: str
    start: date
    end: date
    reason: str = ""


@dataclass(frozen=True)
class RotationInputs:
    """Everything the planner needs to know about herds, land and time.

    Attributes
    ----------
    herds, locations
        Herd groups and grazing locations.
    start
        First day of the horizon.
    period_days
        Length of a period (7 = weekly, 1 = daily).
    n_periods
        Number of periods in the horizon.
    intake_kg_per_uo_day
        Dry-matter intake of one UO (kg DM/day).
    closures
        Locations closed for some dates.
    """

    herds: tuple[HerdGroup, ...]
    locations: tuple[Location, ...]
    start: date
    period_days: int
    n_periods: int
    intake_kg_per_uo_day: float = 1.0
    closures: tuple[Closure, ...] = ()

    def period_start(self, t: int) -> date:
        """First day of period `t`."""
        return self.start + timedelta(days=t * self.period_days)

    def period_end(self, t: int) -> date:
        """Last day (inclusive) of period `t`."""
        return self.start + timedelta(days=(t + 1) * self.period_days - 1)

    def season(self, t: int) -> Season:
        """Season of the middle day of period `t`."""
        mid = self.start + timedelta(days=t * self.period_days + self.period_days // 2)
        return SEASON_OF_MONTH[mid.month]

    def demand_kg(self, herd: HerdGroup) -> int:
        """Forage one herd eats in one period (kg DM, rounded)."""
        return round(herd.uo * self.intake_kg_per_uo_day * self.period_days)

    def animal_days(self, herd: HerdGroup) -> int:
        """UO-days of one herd in one period (rounded)."""
        return round(herd.uo * self.period_days)


# --------------------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ObjectiveWeights:
    """Weights of the objective (all >= 0), in points per unit.

    The defaults make forage come first: one kg DM of shortfall (100 points) costs as
    much as 10 moves, 100 hectometres of walking in one period, or 100 plot-periods of
    rest lost. The order is by weight, not strictly lexicographic: a move that saves
    more than 0.1 kg DM of shortfall is always taken.

    Attributes
    ----------
    shortfall_per_kg
        Per kg DM of demand beyond the proper-use allowance (deficit or overgrazing).
    move
        Per change of location of a herd between consecutive periods.
    walk_per_hm
        Per 100 m between home corral and location, per herd and period.
    grazed_plot_period
        Per period a fenced plot is grazed (so rest is maximised last).
    plot_overgrazing_per_kg
        Added to `shortfall_per_kg` for shortfall on a fenced plot: demand beyond a plot's
        allowance means the plot is grazed past its forage, which the fenced plots exist
        to prevent, so a positive weight sends the overflow to the open communal range
        first (where the rest of the grazing falls, see :mod:`pastures.forage`). Default 0
        treats both alike: with herd groups of up to 400 UO and plots of a few hectares,
        any week on a plot overgrazes it, and a weight of 900 leaves the sample's plots
        unused and the solve 3 % from optimal after 60 s.
    """

    shortfall_per_kg: int = 100
    move: int = 10
    walk_per_hm: int = 1
    grazed_plot_period: int = 1
    plot_overgrazing_per_kg: int = 0


@dataclass(frozen=True)
class RotationParams:
    """Switches and parameters of the constraints, and the solver settings.

    Attributes
    ----------
    one_location
        Each herd is at exactly one location every period (off: at most one, a herd may
        be off the plan, e.g. away on transhumance).
    forage_hard
        No shortfall allowed at all (the plan may then be infeasible; see
        :func:`plan_rotation`). Off: shortfall is a penalised slack.
    enforce_rest, rest_days
        Minimum rest of a plot after its last grazed period, in days, by pasture type and
        season of that period (``"*"``: any other type); rounded up to whole periods.
    max_consecutive_days
        Longest run of grazing on one plot (days; None: no limit).
    enforce_closures
        Respect :class:`Closure` entries.
    max_walk_m
        Longest distance from home corral to a plot (m; None: no limit).
    own_community_only
        Herds graze only their community's plots and open range.
    max_herds_per_plot
        Most herds on one plot in one period (None: no limit).
    family_shares, share_tolerance
        Each herd's share of its community's plot animal-days lies within
        ``(1 +- share_tolerance)`` of its share of the key (herd size or labour).
    weights
        Objective weights.
    time_limit_s, num_workers, random_seed, relative_gap
        Solver settings: wall-clock limit, parallel workers (threads), seed, and the
        relative gap at which the search stops.
    solver
        ``"highs"`` (HiGHS branch-and-cut MILP, default: forage flows are continuous and
        its LP bound gives a meaningful gap) or ``"cp-sat"`` (OR-Tools CP-SAT, all
        quantities in whole kg DM).
    """

    one_location: bool = True
    forage_hard: bool = False
    enforce_rest: bool = True
    rest_days: Mapping[str, Mapping[str, int]] = field(
        default_factory=lambda: {
            k: {str(season): d for season, d in v.items()} for k, v in DEFAULT_REST_DAYS.items()
        }
    )
    max_consecutive_days: int | None = DEFAULT_MAX_CONSECUTIVE_DAYS
    enforce_closures: bool = True
    max_walk_m: float | None = DEFAULT_MAX_WALK_M
    own_community_only: bool = True
    max_herds_per_plot: int | None = DEFAULT_MAX_HERDS_PER_PLOT
    family_shares: bool = True
    share_tolerance: float = DEFAULT_SHARE_TOLERANCE
    weights: ObjectiveWeights = field(default_factory=ObjectiveWeights)
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    num_workers: int = DEFAULT_WORKERS
    random_seed: int = DEFAULT_SEED
    relative_gap: float = DEFAULT_GAP
    solver: SolverName = "highs"

    def rest_periods(self, pasture_type: str, season: Season, period_days: int) -> int:
        """Minimum rest in whole periods after a plot of `pasture_type` is left in `season`."""
        table = self.rest_days.get(pasture_type, self.rest_days.get("*", {}))
        return math.ceil(table.get(season, 0) / period_days)


def validate_params(params: RotationParams, *, period_days: int = 7) -> None:  # noqa: PLR0912
    """Raise :class:`ParameterError` naming every parameter out of range.

    Raises
    ------
    ParameterError
        With one line per bad value and the accepted range.
    """
    bad: list[str] = []
    for ptype, table in params.rest_days.items():
        for season, days in table.items():
            if season not in ("rainy", "transition", "dry"):
                bad.append(f"rest_days[{ptype!r}] has unknown season {season!r}")
            elif not 0 <= days <= 366:
                bad.append(f"rest_days[{ptype!r}][{season!r}] = {days}: use 0-366 days")
    if params.max_consecutive_days is not None and params.max_consecutive_days < period_days:
        bad.append(
            f"max_consecutive_days = {params.max_consecutive_days} is shorter than one period "
            f"({period_days} days): use at least {period_days}, or None for no limit"
        )
    if params.max_walk_m is not None and params.max_walk_m <= 0:
        bad.append(f"max_walk_m = {params.max_walk_m}: use a distance > 0 m, or None")
    if params.max_herds_per_plot is not None and params.max_herds_per_plot < 1:
        bad.append(f"max_herds_per_plot = {params.max_herds_per_plot}: use 1 or more, or None")
    if not 0 <= params.share_tolerance <= 1:
        bad.append(f"share_tolerance = {params.share_tolerance}: use 0-1")
    w = params.weights
    for name in (
        "shortfall_per_kg",
        "move",
        "walk_per_hm",
        "grazed_plot_period",
        "plot_overgrazing_per_kg",
    ):
        value = getattr(w, name)
        if not isinstance(value, int) or value < 0:
            bad.append(f"weights.{name} = {value!r}: use a whole number >= 0")
    if params.time_limit_s <= 0:
        bad.append(f"time_limit_s = {params.time_limit_s}: use > 0 s")
    if params.num_workers < 1:
        bad.append(f"num_workers = {params.num_workers}: use 1 or more")
    if not 0 <= params.relative_gap < 1:
        bad.append(f"relative_gap = {params.relative_gap}: use 0 <= gap < 1")
    if bad:
        raise ParameterError("rotation parameters out of range:\n  " + "\n  ".join(bad))


# --------------------------------------------------------------------------------------
# derived structure shared by the model, the checker and the greedy baseline
# --------------------------------------------------------------------------------------
def distance_m(herd: HerdGroup, loc: Location) -> float:
    """Straight-line distance from the herd's corral to the location (m); 0 for open range."""
    if loc.kind == "open_range" or math.isnan(loc.x) or math.isnan(loc.y):
        return 0.0
    return math.hypot(loc.x - herd.x, loc.y - herd.y)


def closed_mask(inputs: RotationInputs) -> np.ndarray:
    """Boolean array (locations x periods): True where a closure covers part of a period."""
    index = {loc.location_id: i for i, loc in enumerate(inputs.locations)}
    mask = np.zeros((len(inputs.locations), inputs.n_periods), dtype=bool)
    for c in inputs.closures:
        i = index.get(c.location_id)
        if i is None or c.end < c.start:
            continue
        for t in range(inputs.n_periods):
            if c.start <= inputs.period_end(t) and c.end >= inputs.period_start(t):
                mask[i, t] = True
    return mask


def reachable(inputs: RotationInputs, params: RotationParams) -> np.ndarray:
    """Boolean array (herds x locations): True where the herd may ever graze the location."""
    H, L = len(inputs.herds), len(inputs.locations)
    out = np.ones((H, L), dtype=bool)
    if not H or not L:
        return out
    if params.own_community_only:
        hc = np.array([h.community for h in inputs.herds], dtype=object)
        lc = np.array([loc.community for loc in inputs.locations], dtype=object)
        out &= hc[:, None] == lc[None, :]
    if params.max_walk_m is not None:
        hx = np.array([[h.x, h.y] for h in inputs.herds], dtype=float)
        lx = np.array([[loc.x, loc.y] for loc in inputs.locations], dtype=float)
        gate = np.array([loc.kind == "open_range" for loc in inputs.locations])
        gate |= np.isnan(lx).any(axis=1)
        dist = np.hypot(lx[None, :, 0] - hx[:, None, 0], lx[None, :, 1] - hx[:, None, 1])
        dist[:, gate] = 0.0  # the open range starts at the corral gate (see distance_m)
        out &= dist <= params.max_walk_m
    return out


def allowed(inputs: RotationInputs, params: RotationParams) -> np.ndarray:
    """Boolean array (herds x locations x periods): reachable and not closed."""
    ok = reachable(inputs, params)[:, :, None].repeat(inputs.n_periods, axis=2)
    if params.enforce_closures:
        ok &= ~closed_mask(inputs)[None, :, :]
    return ok


def diagnose_inputs(  # noqa: PLR0912
    inputs: RotationInputs, params: RotationParams
) -> list[Problem]:
    """Hard conflicts found before solving: bad horizon, ids, closures, unreachable herds.

    Returns
    -------
    list of Problem
        Errors (the plan cannot be made) and warnings; each names the herd, location or
        closure and the numbers involved.
    """
    problems: list[Problem] = []

    def err(rule: str, msg: str, feature: str = "", severity: str = "error") -> None:
        problems.append(Problem(severity, rule, msg, source="rotation", feature=feature))  # type: ignore[arg-type]

    if inputs.n_periods <= 0 or inputs.period_days <= 0:
        err(
            "horizon",
            f"the horizon is {inputs.n_periods} period(s) of {inputs.period_days} day(s): "
            "give at least one period of at least one day (e.g. 52 weeks).",
        )
        return problems
    if inputs.intake_kg_per_uo_day <= 0:
        err("intake", f"intake {inputs.intake_kg_per_uo_day} kg DM/UO/day: use > 0.")
    if not inputs.herds:
        err("no-herds", "there are no herds to plan for: give a herd register.")
    if not inputs.locations:
        err("no-locations", "there are no plots or open range to graze.")
    for what, ids in (
        ("herd", [h.herd_id for h in inputs.herds]),
        ("location", [loc.location_id for loc in inputs.locations]),
    ):
        seen: set[str] = set()
        for i in ids:
            if i in seen:
                err("duplicate-id", f"{what} id {i!r} is used twice: make ids unique.", i)
            seen.add(i)
    for herd in inputs.herds:
        if not herd.uo > 0:
            err(
                "herd-size",
                f"herd {herd.herd_id} has {herd.uo} UO: drop it or fix it.",
                herd.herd_id,
            )
    for loc in inputs.locations:
        if len(loc.growth_kg) != inputs.n_periods:
            err(
                "supply-length",
                f"location {loc.location_id} has forage growth for {len(loc.growth_kg)} "
                f"periods, the horizon has {inputs.n_periods}.",
                loc.location_id,
            )
        if min(loc.growth_kg, default=0) < 0 or loc.initial_kg < 0 or loc.cap_kg < 0:
            err(
                "supply-negative",
                f"location {loc.location_id} has negative forage.",
                loc.location_id,
            )
    structural = any(p.severity == "error" for p in problems)
    index = {loc.location_id: loc for loc in inputs.locations}
    horizon_end = inputs.period_end(inputs.n_periods - 1)
    for c in inputs.closures:
        if c.location_id not in index:
            err(
                "closure-unknown",
                f"closure {c.start}..{c.end} names location {c.location_id!r}, which is not a "
                f"plot or open range of this plan (known: {', '.join(sorted(index)[:8])}...).",
                c.location_id,
            )
        if c.end < c.start:
            err(
                "closure-dates",
                f"closure of {c.location_id} ends ({c.end}) before it starts ({c.start}): "
                "swap the dates.",
                c.location_id,
            )
        elif c.end < inputs.start or c.start > horizon_end:
            err(
                "closure-outside",
                f"closure of {c.location_id} ({c.start}..{c.end}) lies outside the horizon "
                f"{inputs.start}..{horizon_end} and has no effect.",
                c.location_id,
                "warning",
            )
    if structural:
        return problems
    reach = reachable(inputs, params)
    open_now = ~closed_mask(inputs) if params.enforce_closures else None
    for h, herd in enumerate(inputs.herds):
        if not reach[h].any():
            near = sorted(
                (distance_m(herd, loc), loc.location_id)
                for loc in inputs.locations
                if loc.community == herd.community or not params.own_community_only
            )
            where = (
                f"the nearest, {near[0][1]}, is {near[0][0] / 1000:.1f} km from corral "
                f"{herd.corral_id} (limit {(params.max_walk_m or 0) / 1000:.1f} km)"
                if near
                else f"community {herd.community} has no plot and no open range"
            )
            err(
                "no-reachable-location",
                f"herd {herd.herd_id} ({herd.uo:,.0f} UO, {herd.community}) can reach no "
                f"location: {where}. Raise the walking limit or add the open range.",
                herd.herd_id,
            )
            continue
        own_plots = [
            i
            for i, loc in enumerate(inputs.locations)
            if loc.kind == "plot" and loc.community == herd.community
        ]
        if params.family_shares and own_plots and not reach[h, own_plots].any():
            err(
                "share-unreachable",
                f"herd {herd.herd_id} ({herd.community}) can reach none of its community's "
                f"plots within {(params.max_walk_m or 0) / 1000:.1f} km, so it gets no share of "
                "them; raise the walking limit if it should.",
                herd.herd_id,
                "warning",
            )
        if params.one_location:
            somewhere = (
                open_now[reach[h]].any(axis=0)
                if open_now is not None
                else np.ones(inputs.n_periods, dtype=bool)
            )
            stuck = [int(t) for t in np.flatnonzero(~somewhere)]
            if stuck:
                names = [inputs.locations[i].location_id for i in np.flatnonzero(reach[h])]
                err(
                    "closures-conflict",
                    f"herd {herd.herd_id} ({herd.community}) has nowhere to graze in "
                    f"{len(stuck)} period(s), {_period_span(inputs, stuck)}: every location "
                    f"it can reach ({', '.join(names)}) is closed then. Shorten a closure "
                    "or open the communal range.",
                    herd.herd_id,
                )
    return problems


def _period_span(inputs: RotationInputs, periods: Sequence[int]) -> str:
    """'weeks 23-39 (2 Jun-28 Sep)' style text for a run of periods."""
    unit = "week" if inputs.period_days == 7 else "period"
    a, b = min(periods), max(periods)
    d0, d1 = inputs.period_start(a), inputs.period_end(b)
    nums = f"{unit} {a + 1}" if a == b else f"{unit}s {a + 1}-{b + 1}"
    return f"{nums} ({d0:%d %b %Y}-{d1:%d %b %Y})"


# --------------------------------------------------------------------------------------
# forage accounting and objective, independent of the solver
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ForageBalance:
    """Forage per location and period (kg DM), arrays of shape (locations, periods)."""

    stock: np.ndarray
    growth: np.ndarray
    demand: np.ndarray
    eaten: np.ndarray
    shortfall: np.ndarray


def forage_balance(inputs: RotationInputs, assignment: np.ndarray) -> ForageBalance:
    """Simulate the forage of every location under an assignment.

    Herds eat what they need while usable forage lasts (``eaten = min(demand,
    available)``), which for a fixed assignment gives the least total shortfall; what
    is left carries over, up to the location's cap.

    Parameters
    ----------
    inputs
        The planning problem.
    assignment
        Integer array (herds x periods): location index, or -1 for none.
    """
    n_loc, n_t = len(inputs.locations), inputs.n_periods
    demand = np.zeros((n_loc, n_t), dtype=np.int64)
    for h, herd in enumerate(inputs.herds):
        need = inputs.demand_kg(herd)
        for t in range(n_t):
            i = int(assignment[h, t])
            if i >= 0:
                demand[i, t] += need
    growth = np.array([loc.growth_kg for loc in inputs.locations], dtype=np.int64).reshape(
        n_loc, n_t
    )
    stock = np.zeros((n_loc, n_t), dtype=np.int64)
    eaten = np.zeros((n_loc, n_t), dtype=np.int64)
    for i, loc in enumerate(inputs.locations):
        s = loc.initial_kg
        for t in range(n_t):
            stock[i, t] = s
            avail = s + growth[i, t]
            eaten[i, t] = min(avail, demand[i, t])
            s = min(loc.cap_kg, avail - eaten[i, t])
    return ForageBalance(stock, growth, demand, eaten, demand - eaten)


@dataclass(frozen=True)
class ObjectiveBreakdown:
    """The parts of the objective of a plan and their weighted total (points)."""

    shortfall_kg: int
    moves: int
    walk_hm: int
    grazed_plot_periods: int
    total: int
    plot_shortfall_kg: int = 0


def _shortfall_weight(w: ObjectiveWeights, loc: Location) -> int:
    """Points per kg DM of shortfall at `loc`: more on a fenced plot (overgrazing)."""
    return w.shortfall_per_kg + (w.plot_overgrazing_per_kg if loc.kind == "plot" else 0)


def _walk_hm(herd: HerdGroup, loc: Location) -> int:
    return round(distance_m(herd, loc) / 100.0)


def evaluate_plan(
    inputs: RotationInputs, assignment: np.ndarray, *, params: RotationParams
) -> ObjectiveBreakdown:
    """Objective of any assignment, computed without the solver (see :class:`ObjectiveWeights`)."""
    bal = forage_balance(inputs, assignment)
    moves = walk = 0
    for h, herd in enumerate(inputs.herds):
        for t in range(inputs.n_periods):
            i = int(assignment[h, t])
            if i >= 0:
                walk += _walk_hm(herd, inputs.locations[i])
            if t > 0 and i >= 0 and int(assignment[h, t - 1]) != i:
                moves += 1
    grazed = 0
    for i, loc in enumerate(inputs.locations):
        if loc.kind == "plot":
            grazed += int((assignment == i).any(axis=0).sum())
    w = params.weights
    short = int(bal.shortfall.sum())
    on_plots = [i for i, loc in enumerate(inputs.locations) if loc.kind == "plot"]
    plot_short = int(bal.shortfall[on_plots].sum()) if on_plots else 0
    total = (
        w.shortfall_per_kg * short
        + w.plot_overgrazing_per_kg * plot_short
        + w.move * moves
        + w.walk_per_hm * walk
        + w.grazed_plot_period * grazed
    )
    return ObjectiveBreakdown(short, moves, walk, grazed, total, plot_short)


# --------------------------------------------------------------------------------------
# the independent checker
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Violation:
    """One broken constraint of a plan."""

    constraint: str
    message: str
    herd: str = ""
    location: str = ""
    period: int = -1

    def __str__(self) -> str:
        return f"[{self.constraint}] {self.message}"


#: Constraint names reported by :func:`check_plan`.
CONSTRAINTS: tuple[str, ...] = (
    "one-location",
    "reachable",
    "closure",
    "forage",
    "rest",
    "max-consecutive",
    "max-herds",
    "family-shares",
)


def check_plan(  # noqa: PLR0912
    inputs: RotationInputs,
    assignment: np.ndarray,
    *,
    params: RotationParams,
    eaten: np.ndarray | None = None,
) -> list[Violation]:
    """Verify every switched-on constraint on an assignment, whoever made it.

    Parameters
    ----------
    inputs, params
        The problem and the rules.
    assignment
        Integer array (herds x periods): location index, or -1 for none.
    eaten
        Optional claimed consumption (locations x periods, kg DM); checked against the
        forage available given that consumption. When omitted, herds eat while forage
        lasts (:func:`forage_balance`).

    Returns
    -------
    list of Violation
        Empty when the plan keeps every rule.
    """
    out: list[Violation] = []
    n_h, n_l, n_t = len(inputs.herds), len(inputs.locations), inputs.n_periods
    a = np.asarray(assignment)
    if a.shape != (n_h, n_t):
        return [Violation("one-location", f"assignment has shape {a.shape}, expected {(n_h, n_t)}")]
    reach = reachable(inputs, params)
    closed = closed_mask(inputs)
    for h, herd in enumerate(inputs.herds):
        for t in range(n_t):
            i = int(a[h, t])
            if i < -1 or i >= n_l:
                out.append(
                    Violation(
                        "one-location",
                        f"{herd.herd_id} at unknown location index {i} in period {t + 1}",
                        herd.herd_id,
                        period=t,
                    )
                )
                continue
            if i == -1:
                if params.one_location:
                    out.append(
                        Violation(
                            "one-location",
                            f"{herd.herd_id} has no location in period {t + 1}",
                            herd.herd_id,
                            period=t,
                        )
                    )
                continue
            loc = inputs.locations[i]
            if not reach[h, i]:
                out.append(
                    Violation(
                        "reachable",
                        f"{herd.herd_id} at {loc.location_id} in period {t + 1}: "
                        f"{distance_m(herd, loc):,.0f} m from corral {herd.corral_id}"
                        f" or another community",
                        herd.herd_id,
                        loc.location_id,
                        t,
                    )
                )
            if params.enforce_closures and closed[i, t]:
                out.append(
                    Violation(
                        "closure",
                        f"{herd.herd_id} grazes closed {loc.location_id} in period {t + 1}",
                        herd.herd_id,
                        loc.location_id,
                        t,
                    )
                )

    out += _check_forage(inputs, a, params, eaten)

    occupied = np.zeros((n_l, n_t), dtype=np.int64)
    for h in range(n_h):
        for t in range(n_t):
            if 0 <= a[h, t] < n_l:
                occupied[a[h, t], t] += 1
    for i, loc in enumerate(inputs.locations):
        if loc.kind != "plot":
            continue
        g = occupied[i] > 0
        if params.max_herds_per_plot is not None:
            for t_over in np.flatnonzero(occupied[i] > params.max_herds_per_plot):
                t = int(t_over)
                out.append(
                    Violation(
                        "max-herds",
                        f"{occupied[i, t]} herds on {loc.location_id} in period {t + 1} "
                        f"(limit {params.max_herds_per_plot})",
                        location=loc.location_id,
                        period=int(t),
                    )
                )
        if params.max_consecutive_days is not None:
            limit = params.max_consecutive_days // inputs.period_days
            run = 0
            for t in range(n_t):
                run = run + 1 if g[t] else 0
                if run == limit + 1:
                    out.append(
                        Violation(
                            "max-consecutive",
                            f"{loc.location_id} grazed more than {limit} periods in a row "
                            f"(up to period {t + 1})",
                            location=loc.location_id,
                            period=t,
                        )
                    )
        if params.enforce_rest:
            for t in range(n_t - 1):
                if g[t] and not g[t + 1]:
                    need = params.rest_periods(
                        loc.pasture_type, inputs.season(t), inputs.period_days
                    )
                    for k in range(2, need + 1):
                        if t + k < n_t and g[t + k]:
                            out.append(
                                Violation(
                                    "rest",
                                    f"{loc.location_id} left after period {t + 1} "
                                    f"({inputs.season(t)}) is grazed again in period "
                                    f"{t + k + 1}: rest {k - 1} of {need} periods",
                                    location=loc.location_id,
                                    period=t + k,
                                )
                            )
                            break
    if params.family_shares:
        out += _check_shares(inputs, a, params)
    return out


def _check_forage(
    inputs: RotationInputs, a: np.ndarray, params: RotationParams, eaten: np.ndarray | None
) -> list[Violation]:
    out: list[Violation] = []
    safe = np.where((a >= 0) & (a < len(inputs.locations)), a, -1)
    bal = forage_balance(inputs, safe)
    if eaten is not None:
        for i, loc in enumerate(inputs.locations):
            s = loc.initial_kg
            for t in range(inputs.n_periods):
                avail = s + loc.growth_kg[t]
                e = int(eaten[i, t])
                if e > avail or e > bal.demand[i, t] or e < 0:
                    out.append(
                        Violation(
                            "forage",
                            f"{loc.location_id} period {t + 1}: eats {e:,} kg DM of "
                            f"{avail:,} usable (demand {bal.demand[i, t]:,})",
                            location=loc.location_id,
                            period=t,
                        )
                    )
                    break
                s = min(loc.cap_kg, avail - e)
    if params.forage_hard:
        for i, t in zip(*np.nonzero(bal.shortfall > 0), strict=True):
            out.append(
                Violation(
                    "forage",
                    f"{inputs.locations[i].location_id} period {t + 1}: demand "
                    f"{bal.demand[i, t]:,} kg DM beyond the usable forage by "
                    f"{bal.shortfall[i, t]:,}",
                    location=inputs.locations[i].location_id,
                    period=int(t),
                )
            )
    return out


def _check_shares(inputs: RotationInputs, a: np.ndarray, params: RotationParams) -> list[Violation]:
    out: list[Violation] = []
    tol = params.share_tolerance
    for com, members in share_groups(inputs, params).items():
        if len(members) < 2:
            continue
        plot_ids = [
            i
            for i, loc in enumerate(inputs.locations)
            if loc.kind == "plot" and loc.community == com
        ]
        days = {
            h: inputs.animal_days(inputs.herds[h]) * int(np.isin(a[h], plot_ids).sum())
            for h in members
        }
        total = sum(days.values())
        key_sum = sum(inputs.herds[h].key for h in members)
        for h in members:
            share = inputs.herds[h].key / key_sum
            lo, hi = (1 - tol) * share * total, (1 + tol) * share * total
            slack = total / _SHARE_SCALE
            if days[h] < lo - slack or days[h] > hi + slack:
                out.append(
                    Violation(
                        "family-shares",
                        f"{inputs.herds[h].herd_id} has {days[h]:,} of {total:,} plot UO-days "
                        f"in {com}; its key share {share:.1%} allows {lo:,.0f}-{hi:,.0f}",
                        inputs.herds[h].herd_id,
                    )
                )
    return out


def share_groups(inputs: RotationInputs, params: RotationParams) -> dict[str, list[int]]:
    """Herds that share each community's plots under the family-share rule.

    A herd that can reach none of its community's plots (too far from its corral)
    cannot take its share; it is left out of the rule, so it does not force every
    other herd off the plots. :func:`diagnose_inputs` warns about such herds.
    """
    reach = reachable(inputs, params)
    out: dict[str, list[int]] = {}
    for com, members in _community_herds(inputs).items():
        plots = [
            i
            for i, loc in enumerate(inputs.locations)
            if loc.kind == "plot" and loc.community == com
        ]
        sharing = [h for h in members if plots and reach[h, plots].any()]
        if len(sharing) >= 2:
            out[com] = sharing
    return out


def _community_herds(inputs: RotationInputs) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for h, herd in enumerate(inputs.herds):
        groups[herd.community].append(h)
    return dict(groups)


# --------------------------------------------------------------------------------------
# the plan
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ShortfallNote:
    """Forage shortfall of one community over a run of periods, in numbers to act on."""

    community: str
    first_period: int
    last_period: int
    demand_uo_days_per_week: float
    supply_uo_days_per_week: float
    excess_uo: float
    shortfall_kg: int
    message: str


@dataclass(frozen=True)
class RotationPlan:
    """A grazing plan and how it was found.

    Attributes
    ----------
    inputs, params
        The problem solved.
    assignment
        Integer array (herds x periods): location index, -1 for none.
    status
        ``"optimal"`` (proven), ``"feasible"`` (within the time limit, see `gap`),
        ``"infeasible"`` (hard rules cannot all hold; `notes` explain), ``"unknown"``
        (no plan found in time) or ``"greedy"`` (from the baseline heuristic).
    objective, bound, gap
        Objective value (points), best proven lower bound, and relative gap
        ``(objective - bound) / objective``.
    seconds
        Wall-clock time of the solve.
    n_variables, n_constraints
        Size of the model.
    breakdown
        The objective in parts (shortfall kg DM, moves, walking, grazed plot-periods).
    balance
        Forage per location and period.
    notes
        Shortfall explanations (community, weeks, demand against supply, what to do).
    """

    inputs: RotationInputs
    params: RotationParams
    assignment: np.ndarray
    status: PlanStatus
    objective: float
    bound: float
    gap: float
    seconds: float
    n_variables: int
    n_constraints: int
    breakdown: ObjectiveBreakdown
    balance: ForageBalance
    notes: tuple[ShortfallNote, ...] = ()
    solver: str = "cp-sat"

    def violations(self) -> list[Violation]:
        """Run :func:`check_plan` on this plan."""
        return check_plan(self.inputs, self.assignment, params=self.params)


def explain_shortfall(
    inputs: RotationInputs,
    assignment: np.ndarray,
    *,
    min_share: float = 0.05,
    max_gap_days: int = 14,
) -> list[ShortfallNote]:
    """Group the shortfall of a plan by community and runs of periods, in UO terms.

    Demand and supply are given in UO-days per week (UO-days per period for non-weekly
    periods scaled to 7 days); the excess is the load (UO) to move to other land, rest
    elsewhere, sell or feed (e.g. oats) over those weeks.

    Parameters
    ----------
    min_share
        Periods whose shortfall is below this share of the community's demand are
        ignored (noise).
    max_gap_days
        Runs of shortfall separated by at most this many days are reported as one.
    """
    bal = forage_balance(inputs, assignment)
    intake = inputs.intake_kg_per_uo_day
    per_week = 7.0 / inputs.period_days
    notes: list[ShortfallNote] = []
    communities = sorted({loc.community for loc in inputs.locations})
    for com in communities:
        rows = [i for i, loc in enumerate(inputs.locations) if loc.community == com]
        dem = bal.demand[rows].sum(axis=0)
        short = bal.shortfall[rows].sum(axis=0)
        hit = (short > min_share * np.maximum(dem, 1)) & (short > 0)
        bridge = max_gap_days // inputs.period_days
        idx = np.flatnonzero(hit)
        for a_, b_ in pairwise(idx):
            if 1 < b_ - a_ <= bridge + 1:
                hit[a_:b_] = True
        t = 0
        while t < inputs.n_periods:
            if not hit[t]:
                t += 1
                continue
            u = t
            while u + 1 < inputs.n_periods and hit[u + 1]:
                u += 1
            span = range(t, u + 1)
            n = len(span)
            d = float(dem[span].sum()) / intake / n * per_week
            s_kg = int(short[span].sum())
            supply = d - s_kg / intake / n * per_week
            excess = (d - supply) / 7.0
            msg = (
                f"{com}, {_period_span(inputs, list(span))}: demand {d:,.0f} UO-days/week "
                f"against {supply:,.0f} usable: {excess:,.0f} UO too many. Move {excess:,.0f} "
                f"UO to other land or rest them elsewhere, destock, or bring "
                f"{s_kg / n * per_week:,.0f} kg DM/week of fodder (oats, hay)."
            )
            notes.append(ShortfallNote(com, t, u, d, supply, excess, s_kg, msg))
            t = u + 1
    return notes


# --------------------------------------------------------------------------------------
# the MILP (CP-SAT)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Block:
    """Raw result of solving one independent block of the model."""

    assignment: np.ndarray
    status: PlanStatus
    objective: float
    bound: float
    n_variables: int
    n_constraints: int


def components(inputs: RotationInputs, params: RotationParams) -> list[tuple[list[int], list[int]]]:
    """Independent blocks of the problem: (herd indices, location indices) per block.

    Herds that can reach no common location (e.g. of different communities when
    ``own_community_only``) never interact: every rule couples herds only through the
    locations they share, so each block is solved on its own and the optimum of the
    whole is the sum of the blocks' optima. Locations no herd can reach are left out.
    """
    reach = reachable(inputs, params)
    H = len(inputs.herds)
    parent = list(range(H))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i in range(len(inputs.locations)):
        at_i = np.flatnonzero(reach[:, i])
        for h in at_i[1:]:
            ra, rb = find(int(at_i[0])), find(int(h))
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    blocks: dict[int, list[int]] = defaultdict(list)
    for h in range(H):
        blocks[find(h)].append(h)
    out = []
    for herds in blocks.values():
        locs = [int(i) for i in np.flatnonzero(reach[herds].any(axis=0))]
        out.append((herds, locs))
    return out


def _sub_inputs(inputs: RotationInputs, herds: list[int], locs: list[int]) -> RotationInputs:
    ids = {inputs.locations[i].location_id for i in locs}
    return replace(
        inputs,
        herds=tuple(inputs.herds[h] for h in herds),
        locations=tuple(inputs.locations[i] for i in locs),
        closures=tuple(c for c in inputs.closures if c.location_id in ids),
    )


def _solve(inputs: RotationInputs, params: RotationParams, hint: np.ndarray | None) -> RotationPlan:
    """Solve block by block with the chosen backend and assemble the plan."""
    t0 = time.perf_counter()
    backend = _solve_highs if params.solver == "highs" else _solve_cpsat
    H, T = len(inputs.herds), inputs.n_periods
    assignment = np.full((H, T), -1, dtype=np.int64)
    blocks = components(inputs, params)
    sizes = [len(hs) * len(ls) for hs, ls in blocks]
    left_size = sum(sizes)
    results: list[_Block] = []
    for (herds, locs), size in zip(blocks, sizes, strict=True):
        remaining = max(params.time_limit_s - (time.perf_counter() - t0), 0.05)
        budget = remaining * size / max(left_size, 1)
        left_size -= size
        sub = _sub_inputs(inputs, herds, locs)
        sub_hint = None
        if hint is not None:
            where = {g: k for k, g in enumerate(locs)}
            sub_hint = np.array([[where.get(int(i), -1) for i in hint[h]] for h in herds])
        res = backend(sub, replace(params, time_limit_s=budget), sub_hint)
        if (
            res.status == "unknown"
            and sub_hint is not None
            and not check_plan(sub, sub_hint, params=params)
        ):
            # out of time before the solver had a plan of its own: keep the valid start
            total = evaluate_plan(sub, sub_hint, params=params).total
            res = replace(res, assignment=sub_hint, status="feasible", objective=float(total))
        results.append(res)
    results = _second_pass(inputs, params, backend, blocks, results, t0)
    statuses: list[PlanStatus] = [res.status for res in results]
    obj = bound = 0.0
    n_vars = n_cons = 0
    for (herds, locs), res in zip(blocks, results, strict=True):
        obj += res.objective
        # every term of the objective is >= 0, so 0 bounds a block the solver left unbounded
        bound += max(res.bound, 0.0) if math.isfinite(res.bound) else 0.0
        n_vars += res.n_variables
        n_cons += res.n_constraints
        for k, h in enumerate(herds):
            row = res.assignment[k]
            assignment[h] = np.where(row >= 0, np.asarray(locs)[np.maximum(row, 0)], -1)
    status: PlanStatus
    if "infeasible" in statuses:
        status = "infeasible"
    elif "unknown" in statuses:
        status = "unknown"
    elif all(s == "optimal" for s in statuses):
        status = "optimal"
    else:
        status = "feasible"
    if status in ("infeasible", "unknown"):
        obj = bound = gap = float("nan")
        assignment[:] = -1
    else:
        gap = max((obj - bound) / max(abs(obj), 1.0), 0.0)
    seconds = time.perf_counter() - t0
    logger.info(
        "rotation: %s in %d block(s), objective %s, gap %.4f, %.1f s",
        status,
        len(blocks),
        obj,
        gap,
        seconds,
    )
    ok = status in ("optimal", "feasible")
    return RotationPlan(
        inputs=inputs,
        params=params,
        assignment=assignment,
        status=status,
        objective=obj,
        bound=bound,
        gap=gap,
        seconds=seconds,
        n_variables=n_vars,
        n_constraints=n_cons,
        breakdown=evaluate_plan(inputs, assignment, params=params),
        balance=forage_balance(inputs, assignment),
        notes=tuple(explain_shortfall(inputs, assignment)) if ok else (),
        solver=params.solver,
    )


def _second_pass(  # noqa: PLR0917
    inputs: RotationInputs,
    params: RotationParams,
    backend: Callable[[RotationInputs, RotationParams, np.ndarray | None], _Block],
    blocks: list[tuple[list[int], list[int]]],
    results: list[_Block],
    t0: float,
) -> list[_Block]:
    """Give the time left to the blocks whose gap is still open, largest first.

    Each is solved again from its best plan so far; the better plan and the higher
    bound are kept.
    """
    out = list(results)

    def open_gap(r: _Block) -> float:
        if r.status != "feasible" or not math.isfinite(r.objective):
            return 0.0
        low = max(r.bound, 0.0) if math.isfinite(r.bound) else 0.0
        if (r.objective - low) <= params.relative_gap * max(abs(r.objective), 1.0):
            return 0.0
        return r.objective - low

    todo = sorted(
        (k for k, r in enumerate(out) if open_gap(r) > 0), key=lambda k: -open_gap(out[k])
    )
    weight = sum(open_gap(out[k]) for k in todo)
    for k in todo:
        # keep a margin for building the block's model and assembling the plan
        remaining = (1 - _TIME_MARGIN) * params.time_limit_s - (time.perf_counter() - t0)
        if remaining < _MIN_SECOND_PASS_S:
            break
        share = open_gap(out[k]) / weight if weight else 0.0
        weight -= open_gap(out[k])
        budget = max(remaining * share, min(remaining, _MIN_SECOND_PASS_S))
        herds, locs = blocks[k]
        sub = _sub_inputs(inputs, herds, locs)
        again = backend(sub, replace(params, time_limit_s=budget), out[k].assignment)
        best = out[k]
        if again.status in ("optimal", "feasible") and again.objective < best.objective:
            best = replace(best, assignment=again.assignment, objective=again.objective)
            if again.status == "optimal":
                best = replace(best, status="optimal")
        if math.isfinite(again.bound) and (
            not math.isfinite(best.bound) or again.bound > best.bound
        ):
            best = replace(best, bound=again.bound)
        out[k] = best
    return out


#: Shortest useful second solve of a block (s).
_MIN_SECOND_PASS_S = 1.0
#: Share of the time limit kept free in the second pass (model building, assembly).
_TIME_MARGIN = 0.1


def _import_cp_model():
    try:
        from ortools.sat.python import cp_model
    except ImportError as exc:  # pragma: no cover - ortools is a dependency
        raise MissingDependencyError(
            "the rotation planner needs OR-Tools: pip install ortools"
        ) from exc
    return cp_model


def plan_rotation(
    inputs: RotationInputs,
    *,
    params: RotationParams | None = None,
    hint: np.ndarray | Literal["greedy"] | None = "greedy",
) -> RotationPlan:
    """Find the grazing plan of least weighted cost with OR-Tools CP-SAT.

    Parameters
    ----------
    inputs
        Herds, locations, horizon and closures (see :func:`rotation_inputs_from_project`).
    params
        Constraint switches, weights and solver settings.
    hint
        Assignment (herds x periods) to start the search from; ``"greedy"`` (default)
        starts from :func:`greedy_rotation`, None from nothing. A hint that breaks a
        rule is repaired or ignored by the solver; it never changes the optimum.

    Returns
    -------
    RotationPlan
        With status, objective, bound and gap. With ``forage_hard`` and not enough
        forage the status is ``"infeasible"``, the assignment is the soft plan and
        `notes` say which community lacks how much in which weeks.

    Raises
    ------
    ParameterError
        A parameter is out of range.
    ValidationError
        Hard conflicts found before solving (no reachable location, contradictory
        closures, empty horizon...), each named.
    """
    params = params or RotationParams()
    validate_params(params, period_days=max(inputs.period_days, 1))
    problems = diagnose_inputs(inputs, params)
    if any(p.severity == "error" for p in problems):
        raise ValidationError(problems)
    for p in problems:
        logger.warning("%s", p)
    if isinstance(hint, str):
        hint = greedy_rotation(inputs, params=params).assignment
    plan = _solve(inputs, params, hint)
    if plan.status == "infeasible" and params.forage_hard:
        soft = _solve(inputs, replace(params, forage_hard=False), hint)
        notes = tuple(explain_shortfall(inputs, soft.assignment))
        logger.warning("no plan without forage shortfall; %d shortfall period run(s)", len(notes))
        return replace(soft, params=params, status="infeasible", notes=notes)
    return plan


def _solve_cpsat(  # noqa: PLR0912, PLR0915
    inputs: RotationInputs, params: RotationParams, hint: np.ndarray | None
) -> _Block:
    """The model in OR-Tools CP-SAT (all quantities in whole kg DM)."""
    cp_model = _import_cp_model()
    m = cp_model.CpModel()
    H, L, T = len(inputs.herds), len(inputs.locations), inputs.n_periods
    ok = allowed(inputs, params)
    w = params.weights
    x: dict[tuple[int, int, int], Any] = {}
    for h in range(H):
        for i in range(L):
            for t in range(T):
                if ok[h, i, t]:
                    x[h, i, t] = m.new_bool_var(f"x{h}_{i}_{t}")
    at_loc: dict[tuple[int, int], list[int]] = defaultdict(list)  # (i, t) -> herds
    for h, i, t in x:
        at_loc[i, t].append(h)
    objective = []

    # one location per herd per period
    for h in range(H):
        for t in range(T):
            lits = [x[h, i, t] for i in range(L) if (h, i, t) in x]
            if params.one_location:
                m.add_exactly_one(lits)
            else:
                m.add_at_most_one(lits)

    # forage balance
    demand_of = [inputs.demand_kg(herd) for herd in inputs.herds]
    for i, loc in enumerate(inputs.locations):
        cap = loc.cap_kg
        stock = loc.initial_kg  # int for t = 0, variable later
        for t in range(T):
            herds_here = at_loc.get((i, t), [])
            avail_hi = (stock if isinstance(stock, int) else cap) + loc.growth_kg[t]
            dem = sum(demand_of[h] * x[h, i, t] for h in herds_here) if herds_here else 0
            dem_hi = sum(demand_of[h] for h in herds_here)
            eat = m.new_int_var(0, min(avail_hi, dem_hi), f"e{i}_{t}")
            m.add(eat <= stock + loc.growth_kg[t])
            if herds_here:
                m.add(eat <= dem)
                short = m.new_int_var(0, dem_hi, f"s{i}_{t}")
                m.add(short == dem - eat)
                if params.forage_hard:
                    m.add(short == 0)
                objective.append(_shortfall_weight(w, loc) * short)
            if t + 1 < T:
                nxt = m.new_int_var(0, cap, f"k{i}_{t + 1}")
                m.add(nxt <= stock + loc.growth_kg[t] - eat)
                stock = nxt

    # plot occupancy, rest, consecutive grazing, herds per plot
    graze: dict[tuple[int, int], Any] = {}
    for i, loc in enumerate(inputs.locations):
        if loc.kind != "plot":
            continue
        for t in range(T):
            herds_here = at_loc.get((i, t), [])
            if not herds_here:
                continue
            g = m.new_bool_var(f"g{i}_{t}")
            lits = [x[h, i, t] for h in herds_here]
            for lit in lits:
                m.add_implication(lit, g)
            m.add_bool_or([*lits, g.Not()])  # grazed only when some herd is there
            limit = params.max_herds_per_plot
            m.add(sum(lits) <= (limit if limit is not None else len(lits)) * g)
            graze[i, t] = g
            objective.append(w.grazed_plot_period * g)
        if params.max_consecutive_days is not None:
            run = params.max_consecutive_days // inputs.period_days
            for t in range(T - run):
                window = [graze[i, u] for u in range(t, t + run + 1) if (i, u) in graze]
                if len(window) == run + 1:
                    m.add(sum(window) <= run)
        if params.enforce_rest:
            for t in range(T - 2):
                if (i, t) not in graze:
                    continue
                need = params.rest_periods(loc.pasture_type, inputs.season(t), inputs.period_days)
                nxt = graze.get((i, t + 1))
                for k in range(2, need + 1):
                    if t + k >= T:
                        break
                    later = graze.get((i, t + k))
                    if later is None:
                        continue
                    # ended at t (g_t and not g_t+1) => not grazed at t+k
                    if nxt is None:
                        m.add_bool_or([graze[i, t].Not(), later.Not()])
                    else:
                        m.add_bool_or([graze[i, t].Not(), nxt, later.Not()])

    # moves and walking
    for h, herd in enumerate(inputs.herds):
        for i, loc in enumerate(inputs.locations):
            hm = _walk_hm(herd, loc)
            if hm and w.walk_per_hm:
                objective.extend(
                    w.walk_per_hm * hm * x[h, i, t] for t in range(T) if (h, i, t) in x
                )
        if w.move:
            for t in range(1, T):
                mv = m.new_bool_var(f"m{h}_{t}")
                for i in range(L):
                    if (h, i, t) in x:
                        prev = x.get((h, i, t - 1))
                        if prev is None:
                            m.add_implication(x[h, i, t], mv)
                        else:
                            m.add_bool_or([x[h, i, t].Not(), prev, mv])
                objective.append(w.move * mv)

    # family shares of plot animal-days
    if params.family_shares:
        for com, members in share_groups(inputs, params).items():
            if len(members) < 2:
                continue
            days = {}
            for h in members:
                terms = [
                    inputs.animal_days(inputs.herds[h]) * x[h, i, t]
                    for i, loc in enumerate(inputs.locations)
                    if loc.kind == "plot" and loc.community == com
                    for t in range(T)
                    if (h, i, t) in x
                ]
                days[h] = sum(terms) if terms else 0
            total = sum(days.values())
            if isinstance(total, int):
                continue
            key_sum = sum(inputs.herds[h].key for h in members)
            for h in members:
                share = inputs.herds[h].key / key_sum
                lo = round(_SHARE_SCALE * (1 - params.share_tolerance) * share)
                hi = round(_SHARE_SCALE * (1 + params.share_tolerance) * share)
                m.add(_SHARE_SCALE * days[h] >= lo * total)
                m.add(_SHARE_SCALE * days[h] <= hi * total)

    m.minimize(sum(objective))
    if hint is not None:
        for (h, i, t), var in x.items():
            m.add_hint(var, int(hint[h, t] == i))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(params.time_limit_s)
    solver.parameters.num_workers = int(params.num_workers)
    solver.parameters.random_seed = int(params.random_seed)
    solver.parameters.relative_gap_limit = float(params.relative_gap)
    proto = m.proto
    n_vars, n_cons = len(proto.variables), len(proto.constraints)
    logger.debug("rotation model: %d variables, %d constraints; solving", n_vars, n_cons)
    code = solver.solve(m)
    status: PlanStatus = {
        cp_model.OPTIMAL: "optimal",
        cp_model.FEASIBLE: "feasible",
        cp_model.INFEASIBLE: "infeasible",
    }.get(code, "unknown")  # type: ignore[assignment]
    assignment = np.full((H, T), -1, dtype=np.int64)
    if status == "optimal" and solver.best_objective_bound < solver.objective_value - 0.5:
        status = "feasible"  # stopped at relative_gap, not proven
    if status in ("optimal", "feasible"):
        for (h, i, t), var in x.items():
            if solver.boolean_value(var):
                assignment[h, t] = i
        obj = float(solver.objective_value)
        bound = float(solver.best_objective_bound)
    else:
        obj = bound = float("nan")
    return _Block(assignment, status, obj, bound, n_vars, n_cons)


# --------------------------------------------------------------------------------------
# greedy baseline
# --------------------------------------------------------------------------------------
def greedy_rotation(
    inputs: RotationInputs, *, params: RotationParams | None = None
) -> RotationPlan:
    """A rule-of-thumb rotation, the baseline the solver is measured against.

    Period by period, herds with the least plot use so far (per unit of share key)
    choose first: a plot whose usable forage covers half the herd's intake for the period
    (the one it is on, else the fullest), else it stays where it is while the forage
    there covers its intake, else it goes where most usable forage is left; always
    within closures, walking distance, rest, consecutive days and herds per plot.
    Stays on plots are then removed, most-favoured herd first, until the family
    shares hold.
    """
    params = params or RotationParams()
    validate_params(params, period_days=max(inputs.period_days, 1))
    problems = diagnose_inputs(inputs, params)
    if any(p.severity == "error" for p in problems):
        raise ValidationError(problems)
    t0 = time.perf_counter()
    a = np.full((len(inputs.herds), inputs.n_periods), -1, dtype=np.int64)
    for herds, locs in components(inputs, params):
        sub = _greedy_block(_sub_inputs(inputs, herds, locs), params)
        for k, h in enumerate(herds):
            a[h] = np.where(sub[k] >= 0, np.asarray(locs)[np.maximum(sub[k], 0)], -1)
    breakdown = evaluate_plan(inputs, a, params=params)
    return RotationPlan(
        inputs=inputs,
        params=params,
        assignment=a,
        status="greedy",
        objective=float(breakdown.total),
        bound=float("nan"),
        gap=float("nan"),
        seconds=time.perf_counter() - t0,
        n_variables=0,
        n_constraints=0,
        breakdown=breakdown,
        balance=forage_balance(inputs, a),
        notes=tuple(explain_shortfall(inputs, a)),
        solver="greedy",
    )


def _greedy_block(inputs: RotationInputs, params: RotationParams) -> np.ndarray:
    """The greedy rule on one independent block; returns the assignment."""
    H, L, T = len(inputs.herds), len(inputs.locations), inputs.n_periods
    ok = allowed(inputs, params)
    a = np.full((H, T), -1, dtype=np.int64)
    stock = np.array([loc.initial_kg for loc in inputs.locations], dtype=np.int64)
    last_end = np.full(L, -(10**6))  # last period a plot was grazed
    run = np.zeros(L, dtype=np.int64)
    rest_need = np.zeros(L, dtype=np.int64)
    plot_days = np.zeros(H)  # plot UO-days so far, for the fair order
    keys = np.array([herd.key for herd in inputs.herds], dtype=float)
    run_limit = (
        params.max_consecutive_days // inputs.period_days
        if params.max_consecutive_days is not None
        else T + 1
    )
    for t in range(T):
        left = stock + np.array([loc.growth_kg[t] for loc in inputs.locations], dtype=np.int64)
        count = np.zeros(L, dtype=np.int64)

        def can(h: int, i: int, t: int = t, count: np.ndarray = count) -> bool:
            loc = inputs.locations[i]
            if not ok[h, i, t]:
                return False
            if loc.kind != "plot":
                return True
            if params.max_herds_per_plot is not None and count[i] >= params.max_herds_per_plot:
                return False
            grazed_before = last_end[i] == t - 1
            if grazed_before:
                return run[i] < run_limit
            if count[i] > 0:
                return True
            return not params.enforce_rest or t - last_end[i] > rest_need[i]

        order = sorted(range(H), key=lambda h: (plot_days[h] / keys[h], -inputs.herds[h].uo, h))
        for h in order:
            need = inputs.demand_kg(inputs.herds[h])
            prev = int(a[h, t - 1]) if t else -1
            options = [i for i in range(L) if can(h, i)]
            if not options:
                continue
            plots = [
                i for i in options if inputs.locations[i].kind == "plot" and 2 * left[i] >= need
            ]
            if plots:
                choice = max(plots, key=lambda i: (i == prev, left[i], -i))
            elif prev in options and left[prev] >= need:
                choice = prev
            else:
                choice = max(options, key=lambda i: (left[i], i == prev, -i))
            a[h, t] = choice
            left[choice] -= need
            count[choice] += 1
            if inputs.locations[choice].kind == "plot":
                plot_days[h] += inputs.animal_days(inputs.herds[h])
        for i, loc in enumerate(inputs.locations):
            if count[i]:
                run[i] = run[i] + 1 if last_end[i] == t - 1 else 1
                last_end[i] = t
                rest_need[i] = params.rest_periods(
                    loc.pasture_type, inputs.season(t), inputs.period_days
                )
        bal_left = np.maximum(left, 0)
        stock = np.minimum(bal_left, [loc.cap_kg for loc in inputs.locations])
    if params.family_shares:
        _repair_shares(inputs, params, a)
    return a


# --------------------------------------------------------------------------------------
# from a project (layers and herd register) to planner inputs
# --------------------------------------------------------------------------------------
#: Sheep units per head (SR-CRSP metabolic-weight equivalence, DOMAIN.md: alpaca 1.0 UO,
#: llama 1.5 UO, sheep 1.0 UO). Peruvian tables give 1.5-1.8 UO per camelid: override.
DEFAULT_UO_PER_HEAD: dict[str, float] = {"alpacas": 1.0, "llamas": 1.5, "sheep": 1.0}
#: Forage production (kg DM/ha/yr): dry puna grassland 657-1,054 and bofedal
#: 1,706-2,292 (Castellaro 2007, DOMAIN.md); the middle of each range. Tolar (shrubland)
#: takes the low puna value; cesped the middle; cultivated pasture (oats) has no figure
#: in DOMAIN.md and takes the high puna value as a cautious placeholder.
DEFAULT_PRODUCTION_KG_HA_YR: dict[str, float] = {
    "bofedal": (1706 + 2292) / 2,
    "pajonal": (657 + 1054) / 2,
    "cesped": (657 + 1054) / 2,
    "tolar": 657.0,
    "cultivado": 1054.0,
}
#: Share of the year's growth in each month (Jan..Dec), following the Juli rainfall
#: (SENAMHI normals: 77 % of the rain Dec-Mar) with growth lagging the rain by a few
#: weeks. An assumption, not a measurement: override with measured supply.
DEFAULT_GROWTH_MONTHS: tuple[float, ...] = (
    0.17, 0.17, 0.15, 0.09, 0.04, 0.02, 0.01, 0.01, 0.02, 0.05, 0.09, 0.18,
)  # fmt: skip
#: Bofedales keep water all year: a flatter growth curve.
DEFAULT_GROWTH_MONTHS_BOFEDAL: tuple[float, ...] = (
    0.12, 0.12, 0.11, 0.09, 0.07, 0.05, 0.04, 0.04, 0.05, 0.07, 0.10, 0.14,
)  # fmt: skip


@dataclass(frozen=True)
class ForageDefaults:
    """Simple defaults that turn layers and a register into planner inputs.

    Used when no forage budget (``pastures.forage``) is given. Every number is a
    documented assumption to override with local data.

    Attributes
    ----------
    intake_kg_per_uo_day
        1.0 kg DM/UO/day: an alpaca (1 UO, 65 kg) eats about 0.9-1.2 kg DM/day
        (Chipa Guillén et al. 2023, DOMAIN.md).
    uo_per_head
        Sheep units per head by register column.
    production_kg_ha_yr
        Yearly forage production by pasture type (kg DM/ha/yr).
    use_factor
        Proper-use factor: share of production that may be grazed, 0.5 (DOMAIN.md).
    growth_months, growth_months_bofedal
        Monthly share of the year's growth (12 values summing to 1).
    open_range_share
        Share of a community's area outside the plots that is grazable open range
        (the rest is crops, houses, rock and water): an assumption, 0.7.
    open_range_type
        Pasture type of the open range (dry puna grassland, ``"pajonal"``).
    initial_share
        Usable standing forage at the start, as a share of a year's usable production.
    cap_share
        Most usable forage that can stand on a location, as a share of a year's.
    max_group_uo
        Families of one corral are packed into herd groups of at most this load (UO);
        a family larger than this is a group of its own.
    """

    intake_kg_per_uo_day: float = 1.0
    uo_per_head: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_UO_PER_HEAD))
    production_kg_ha_yr: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_PRODUCTION_KG_HA_YR)
    )
    use_factor: float = 0.5
    growth_months: tuple[float, ...] = DEFAULT_GROWTH_MONTHS
    growth_months_bofedal: tuple[float, ...] = DEFAULT_GROWTH_MONTHS_BOFEDAL
    open_range_share: float = 0.7
    open_range_type: str = "pajonal"
    initial_share: float = 0.25
    cap_share: float = 1.0
    max_group_uo: float = 400.0
    growth_months_by_type: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    open_range_production_kg_ha_yr: float | None = None
    animal_units: object | None = None

    @classmethod
    def from_forage_params(cls, forage: object, **overrides: object) -> ForageDefaults:
        """Defaults that follow the forage budget's parameters (``pastures.forage``).

        Takes the intake of one UO, the animal-unit table, the proper-use factor, the
        central production and the monthly growth shares of every pasture type and of
        the open range, and the open range's grazeable share from a
        ``pastures.forage.ForageParams``, so the rotation and the forage budget agree.
        """
        from pastures.forage import growth_shares

        fp = forage
        production = dict(DEFAULT_PRODUCTION_KG_HA_YR)
        months: dict[str, tuple[float, ...]] = {}
        for name, ptype in fp.pasture_types.items():  # type: ignore[attr-defined]
            production[name] = ptype.production_central
            shares = growth_shares(ptype.uniform_growth_share, fp.monthly_rain_mm)  # type: ignore[attr-defined]
            months[name] = tuple(float(v) for v in shares)
        rng = fp.open_range  # type: ignore[attr-defined]
        shares = growth_shares(rng.uniform_growth_share, fp.monthly_rain_mm)  # type: ignore[attr-defined]
        months[OPEN_RANGE_KEY] = tuple(float(v) for v in shares)
        values: dict[str, object] = {
            "intake_kg_per_uo_day": fp.kg_dm_per_uo_day,  # type: ignore[attr-defined]
            "use_factor": fp.use_factor,  # type: ignore[attr-defined]
            "production_kg_ha_yr": production,
            "growth_months_by_type": months,
            "open_range_production_kg_ha_yr": sum(rng.production_kg_ha_yr) / 2,
            "open_range_share": rng.grazeable_share,
            "animal_units": fp.units,  # type: ignore[attr-defined]
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def months_for(self, pasture_type: str, kind: LocationKind) -> tuple[float, ...]:
        """Monthly growth shares of a plot type or of the open range."""
        key = OPEN_RANGE_KEY if kind == "open_range" else pasture_type
        if key in self.growth_months_by_type:
            return tuple(self.growth_months_by_type[key])
        return self.growth_months_bofedal if pasture_type == "bofedal" else self.growth_months


#: Key of the open range in ``ForageDefaults.growth_months_by_type`` (as pastures.forage).
OPEN_RANGE_KEY = "open_range"


def default_forage_defaults() -> ForageDefaults:
    """The forage budget's parameters when ``pastures.forage`` is there, else our own."""
    try:
        from pastures.forage import ForageParams
    except ImportError:  # pragma: no cover - the forage module ships with pastures
        return ForageDefaults()
    return ForageDefaults.from_forage_params(ForageParams())


def validate_forage_defaults(d: ForageDefaults) -> None:
    """Raise :class:`ParameterError` naming every forage default out of range."""
    bad: list[str] = []
    if d.intake_kg_per_uo_day <= 0:
        bad.append(f"intake_kg_per_uo_day = {d.intake_kg_per_uo_day}: use > 0")
    if not 0 < d.use_factor <= 1:
        bad.append(f"use_factor = {d.use_factor}: use 0 < factor <= 1")
    if not 0 <= d.open_range_share <= 1:
        bad.append(f"open_range_share = {d.open_range_share}: use 0-1")
    if d.initial_share < 0 or d.cap_share <= 0:
        bad.append("initial_share must be >= 0 and cap_share > 0")
    if d.max_group_uo <= 0:
        bad.append(f"max_group_uo = {d.max_group_uo}: use > 0 UO")
    curves = {
        "growth_months": d.growth_months,
        "growth_months_bofedal": d.growth_months_bofedal,
        **{f"growth_months_by_type[{k!r}]": v for k, v in d.growth_months_by_type.items()},
    }
    for name, months in curves.items():
        if len(months) != 12 or min(months) < 0 or abs(sum(months) - 1) > 1e-6:
            bad.append(f"{name}: give 12 shares >= 0 that sum to 1 (sum {sum(months):.3f})")
    for ptype, value in d.production_kg_ha_yr.items():
        if value < 0:
            bad.append(f"production_kg_ha_yr[{ptype!r}] = {value}: use >= 0")
    if bad:
        raise ParameterError("forage defaults out of range:\n  " + "\n  ".join(bad))


def growth_per_period(
    annual_kg: float, months: Sequence[float], *, start: date, period_days: int, n_periods: int
) -> tuple[int, ...]:
    """Split a yearly amount (kg) into periods by monthly shares, in whole kg.

    Each day gets its month's share divided by the month's length; periods sum their
    days; rounding is cumulative, so the periods add up to the (rounded) total.
    """
    import calendar

    out: list[int] = []
    acc = 0.0
    done = 0
    day = start
    for _ in range(n_periods):
        for _ in range(period_days):
            acc += annual_kg * months[day.month - 1] / calendar.monthrange(day.year, day.month)[1]
            day += timedelta(days=1)
        whole = round(acc)
        out.append(whole - done)
        done = whole
    return tuple(out)


def group_families(  # noqa: PLR0912
    herds: pd.DataFrame,
    corrals: pd.DataFrame,
    *,
    defaults: ForageDefaults,
    labour: Mapping[str, float] | None = None,
) -> tuple[HerdGroup, ...]:
    """Pack the families of each corral into herd groups of at most ``max_group_uo``.

    First-fit decreasing by UO, families in register order on ties, so the grouping is
    deterministic. Each group's share key is its UO, or the labour days (given per
    family in `labour`) of its families.
    """
    import shapely

    from pastures import schema as S

    where = {}
    for _, row in corrals.iterrows():
        pt = shapely.point_on_surface(row.geometry)
        where[str(row[S.CORRAL_ID])] = (float(pt.x), float(pt.y))
    if defaults.animal_units is not None:
        from pastures.animals import herd_animal_units

        uo = herd_animal_units(herds, defaults.animal_units).to_numpy(float)  # type: ignore[arg-type]
    else:
        uo = np.zeros(len(herds))
        for col, per_head in defaults.uo_per_head.items():
            if col in herds.columns:
                count = pd.to_numeric(herds[col], errors="coerce").fillna(0).to_numpy(float)
                uo += count * per_head
    frame = herds.assign(_uo=uo, _pos=np.arange(len(herds)))
    groups: list[HerdGroup] = []
    for (com, corral), part in frame.groupby([S.COMMUNITY, S.CORRAL_ID], sort=True):
        if str(corral) not in where:
            continue  # reported by load_project (herd-corral rule)
        bins: list[list[tuple[str, float]]] = []
        loads: list[float] = []
        for _, fam in part.sort_values(["_uo", "_pos"], ascending=[False, True]).iterrows():
            if fam["_uo"] <= 0:
                continue
            for b, load in enumerate(loads):
                if load + fam["_uo"] <= defaults.max_group_uo:
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
                    uo=round(sum(u for _, u in members), 1),
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
    start: date | None = None,
    n_periods: int = 52,
    period_days: int = 7,
    supply: Mapping[str, Sequence[float]] | None = None,
    params: ForageDefaults | None = None,
    closures: Sequence[Closure] = (),
    labour: Mapping[str, float] | None = None,
) -> RotationInputs:
    """Build planner inputs from a loaded project.

    Parameters
    ----------
    project
        Layers and herd register (:func:`pastures.layers.load_project`).
    start
        First day of the horizon (default: the next 1 January... here 2026-01-05, a Monday,
        so that plans of the sample are reproducible).
    n_periods, period_days
        Horizon length: 52 periods of 7 days by default; ``period_days=1`` for days.
    supply
        Usable forage per period (kg DM, after the use factor) by location id (plot code
        or ``"RANGE <community>"``), e.g. from the forage budget; it replaces the default
        growth of those locations.
    params
        Defaults for intake, animal units, production, use factor, growth by month, open
        range and herd grouping. By default those of the forage budget
        (:func:`default_forage_defaults`: ``pastures.forage.ForageParams()``, e.g.
        1.145 kg DM/UO/day, growth following the Juli rain); ``ForageDefaults()`` gives
        this module's own documented figures.
    closures
        Locations closed for some dates.
    labour
        Labour days each family gave to the fencing, by family id: the family-share key
        (default: herd size in UO).

    Returns
    -------
    RotationInputs
        One herd group per corral and load bound, one location per plot, one open range
        per community with herds.
    """
    from pastures import schema as S

    d = params or default_forage_defaults()
    validate_forage_defaults(d)
    if n_periods <= 0 or period_days <= 0:
        raise ParameterError(
            f"the horizon is {n_periods} period(s) of {period_days} day(s): give at least one "
            "period of at least one day (default 52 weeks)."
        )
    start = start or DEFAULT_START
    herds = group_families(project.herds, project.corrals, defaults=d, labour=labour)
    locations: list[Location] = []

    def location(  # noqa: PLR0917
        lid: str, com: str, kind: LocationKind, ptype: str, area: float, x: float, y: float
    ) -> Location:
        production = d.production_kg_ha_yr.get(ptype, 0.0)
        if kind == "open_range" and d.open_range_production_kg_ha_yr is not None:
            production = d.open_range_production_kg_ha_yr
        annual = area * production * d.use_factor
        months = d.months_for(ptype, kind)
        if supply is not None and lid in supply:
            growth = tuple(round(v) for v in supply[lid])
        else:
            growth = growth_per_period(
                annual, months, start=start, period_days=period_days, n_periods=n_periods
            )
        return Location(
            location_id=lid,
            community=com,
            kind=kind,
            pasture_type=ptype,
            area_ha=float(area),
            x=x,
            y=y,
            growth_kg=growth,
            initial_kg=round(annual * d.initial_share),
            cap_kg=max(round(annual * d.cap_share), 1),
        )

    plots = project.plots
    for _, row in plots.iterrows():
        pt = row.geometry.representative_point()
        locations.append(
            location(
                str(row[S.PLOT_CODE]),
                str(row[S.COMMUNITY]),
                "plot",
                str(row[S.PASTURE_TYPE]),
                float(row[S.AREA_HA]),
                float(pt.x),
                float(pt.y),
            )
        )
    com_area = dict(
        zip(
            project.communities[S.COMMUNITY].astype(str),
            project.communities[S.AREA_HA],
            strict=True,
        )
    )
    fenced = plots.groupby(plots[S.COMMUNITY].astype(str))[S.AREA_HA].sum().to_dict()
    for com in sorted({h.community for h in herds}):
        area = max(com_area.get(com, 0.0) - fenced.get(com, 0.0), 0.0) * d.open_range_share
        locations.append(
            location(
                open_range_id(com), com, "open_range", d.open_range_type, area, math.nan, math.nan
            )
        )
    return RotationInputs(
        herds=herds,
        locations=tuple(locations),
        start=start,
        period_days=period_days,
        n_periods=n_periods,
        intake_kg_per_uo_day=d.intake_kg_per_uo_day,
        closures=tuple(closures),
    )


#: Default first day of the horizon: a fixed Monday, so sample plans are reproducible.
DEFAULT_START = date(2026, 1, 5)


def open_range_id(community: str) -> str:
    """Location id of a community's open communal range."""
    return f"{OPEN_RANGE_PREFIX} {community}"


def season_closures(
    location_id: str,
    *,
    open_in: Sequence[Season] = ("dry",),
    start: date,
    n_days: int,
    reason: str = "reserved",
) -> tuple[Closure, ...]:
    """Closures that keep a plot shut outside the given seasons (e.g. a dry-season reserve).

    Returns one closure per run of days outside `open_in` between `start` and
    ``start + n_days - 1``.
    """
    out: list[Closure] = []
    run_start: date | None = None
    for k in range(n_days + 1):
        day = start + timedelta(days=k)
        shut = k < n_days and SEASON_OF_MONTH[day.month] not in open_in
        if shut and run_start is None:
            run_start = day
        elif not shut and run_start is not None:
            out.append(Closure(location_id, run_start, day - timedelta(days=1), reason))
            run_start = None
    return tuple(out)


# --------------------------------------------------------------------------------------
# the MILP (HiGHS)
# --------------------------------------------------------------------------------------
class _Lp:
    """Columns and rows of a MILP, gathered before handing them to HiGHS at once."""

    def __init__(self) -> None:
        self.cost: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.integer: list[bool] = []
        self.row_lo: list[float] = []
        self.row_hi: list[float] = []
        self.start: list[int] = [0]
        self.index: list[int] = []
        self.value: list[float] = []

    def var(self, lo: float, hi: float, cost: float = 0.0, *, integer: bool = False) -> int:
        self.cost.append(cost)
        self.lo.append(lo)
        self.hi.append(hi)
        self.integer.append(integer)
        return len(self.cost) - 1

    def row(
        self, terms: Mapping[int, float] | Sequence[tuple[int, float]], lo: float, hi: float
    ) -> None:
        items = terms.items() if isinstance(terms, Mapping) else terms
        merged: dict[int, float] = defaultdict(float)
        for j, v in items:
            merged[j] += v
        for j, v in merged.items():
            if v != 0:
                self.index.append(j)
                self.value.append(v)
        self.start.append(len(self.index))
        self.row_lo.append(lo)
        self.row_hi.append(hi)


_INF = math.inf


def _new_highs():
    """A silent HiGHS instance (its constructor prints a banner on the C stdout)."""
    import ctypes
    import os
    import sys

    try:
        import highspy
    except ImportError as exc:  # pragma: no cover - highspy is a dependency
        raise MissingDependencyError(
            "the rotation planner needs HiGHS: pip install highspy"
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


def _solve_highs(  # noqa: PLR0912, PLR0915
    inputs: RotationInputs, params: RotationParams, hint: np.ndarray | None
) -> _Block:
    """The model as a MILP for HiGHS: assignments binary, forage flows continuous."""
    highspy, hs = _new_highs()
    H, L, T = len(inputs.herds), len(inputs.locations), inputs.n_periods
    ok = allowed(inputs, params)
    w = params.weights
    lp = _Lp()
    x: dict[tuple[int, int, int], int] = {}
    for h, herd in enumerate(inputs.herds):
        for i, loc in enumerate(inputs.locations):
            walk = w.walk_per_hm * _walk_hm(herd, loc)
            for t in range(T):
                if ok[h, i, t]:
                    x[h, i, t] = lp.var(0, 1, walk, integer=True)
    at_loc: dict[tuple[int, int], list[int]] = defaultdict(list)
    for h, i, t in x:
        at_loc[i, t].append(h)

    for h in range(H):
        for t in range(T):
            cols = [(x[h, i, t], 1.0) for i in range(L) if (h, i, t) in x]
            lp.row(cols, 1.0 if params.one_location else 0.0, 1.0)

    demand_of = [inputs.demand_kg(herd) for herd in inputs.herds]
    for i, loc in enumerate(inputs.locations):
        stock: int | None = None  # column of the stock at the start of t (None: initial)
        for t in range(T):
            herds_here = at_loc.get((i, t), [])
            grow = float(loc.growth_kg[t])
            eat = lp.var(0, _INF)
            # eaten <= stock + growth
            if stock is None:
                lp.row([(eat, 1.0)], -_INF, loc.initial_kg + grow)
            else:
                lp.row([(eat, 1.0), (stock, -1.0)], -_INF, grow)
            # shortfall = demand - eaten >= 0
            short = lp.var(0, 0 if params.forage_hard else _INF, _shortfall_weight(w, loc))
            lp.row(
                [(short, 1.0), (eat, 1.0)] + [(x[h, i, t], -demand_of[h]) for h in herds_here],
                0.0,
                0.0,
            )
            if t + 1 < T:
                nxt = lp.var(0, loc.cap_kg)
                terms = [(nxt, 1.0), (eat, 1.0)]
                if stock is None:
                    lp.row(terms, -_INF, loc.initial_kg + grow)
                else:
                    lp.row([*terms, (stock, -1.0)], -_INF, grow)
                stock = nxt

    graze: dict[tuple[int, int], int] = {}
    for i, loc in enumerate(inputs.locations):
        if loc.kind != "plot":
            continue
        for t in range(T):
            herds_here = at_loc.get((i, t), [])
            if not herds_here:
                continue
            g = lp.var(0, 1, w.grazed_plot_period)  # integral once x is
            graze[i, t] = g
            for h in herds_here:
                lp.row([(g, 1.0), (x[h, i, t], -1.0)], 0.0, _INF)
            lp.row([(g, 1.0)] + [(x[h, i, t], -1.0) for h in herds_here], -_INF, 0.0)
            if (
                params.max_herds_per_plot is not None
                and len(herds_here) > params.max_herds_per_plot
            ):
                lp.row([(x[h, i, t], 1.0) for h in herds_here], 0.0, params.max_herds_per_plot)
        if params.max_consecutive_days is not None:
            run = params.max_consecutive_days // inputs.period_days
            for t in range(T - run):
                window = [graze[i, u] for u in range(t, t + run + 1) if (i, u) in graze]
                if len(window) == run + 1:
                    lp.row([(c, 1.0) for c in window], -_INF, run)
        if params.enforce_rest:
            for t in range(T - 2):
                if (i, t) not in graze:
                    continue
                need = params.rest_periods(loc.pasture_type, inputs.season(t), inputs.period_days)
                nxt_g = graze.get((i, t + 1))
                for k in range(2, need + 1):
                    if t + k >= T:
                        break
                    later = graze.get((i, t + k))
                    if later is None:
                        continue
                    terms = [(graze[i, t], 1.0), (later, 1.0)]
                    if nxt_g is not None:
                        terms.append((nxt_g, -1.0))
                    lp.row(terms, -_INF, 1.0)

    if w.move:
        for h in range(H):
            for t in range(1, T):
                mv = lp.var(0, 1, w.move)
                for i in range(L):
                    if (h, i, t) in x:
                        terms = [(mv, 1.0), (x[h, i, t], -1.0)]
                        if (h, i, t - 1) in x:
                            terms.append((x[h, i, t - 1], 1.0))
                        lp.row(terms, 0.0, _INF)

    if params.family_shares:
        for com, members in share_groups(inputs, params).items():
            if len(members) < 2:
                continue
            days: dict[int, list[tuple[int, float]]] = {}
            for h in members:
                days[h] = [
                    (x[h, i, t], float(inputs.animal_days(inputs.herds[h])))
                    for i, loc in enumerate(inputs.locations)
                    if loc.kind == "plot" and loc.community == com
                    for t in range(T)
                    if (h, i, t) in x
                ]
            if not any(days.values()):
                continue
            # A_h = plot UO-days of herd h, T = their sum (auxiliary columns keep rows sparse)
            col_of = {h: lp.var(0, _INF) for h in members}
            for h in members:
                lp.row([(col_of[h], -1.0), *days[h]], 0.0, 0.0)
            total = lp.var(0, _INF)
            lp.row([(total, -1.0)] + [(col_of[h], 1.0) for h in members], 0.0, 0.0)
            key_sum = sum(inputs.herds[h].key for h in members)
            for h in members:
                share = inputs.herds[h].key / key_sum
                lo = (1 - params.share_tolerance) * share
                hi = (1 + params.share_tolerance) * share
                lp.row([(col_of[h], 1.0), (total, -lo)], 0.0, _INF)
                lp.row([(col_of[h], 1.0), (total, -hi)], -_INF, 0.0)

    model = highspy.HighsLp()
    model.num_col_ = len(lp.cost)
    model.num_row_ = len(lp.row_lo)
    model.col_cost_ = np.asarray(lp.cost, dtype=float)
    model.col_lower_ = np.asarray(lp.lo, dtype=float)
    model.col_upper_ = np.asarray(lp.hi, dtype=float)
    model.row_lower_ = np.asarray(lp.row_lo, dtype=float)
    model.row_upper_ = np.asarray(lp.row_hi, dtype=float)
    model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    model.a_matrix_.num_col_ = model.num_col_
    model.a_matrix_.num_row_ = model.num_row_
    model.a_matrix_.start_ = np.asarray(lp.start, dtype=np.int32)
    model.a_matrix_.index_ = np.asarray(lp.index, dtype=np.int32)
    model.a_matrix_.value_ = np.asarray(lp.value, dtype=float)
    kinds = highspy.HighsVarType
    model.integrality_ = [kinds.kInteger if b else kinds.kContinuous for b in lp.integer]
    hs.passModel(model)
    hs.setOptionValue("time_limit", float(params.time_limit_s))
    hs.setOptionValue("mip_rel_gap", float(params.relative_gap))
    # HiGHS keeps one global thread pool; it must be reset to change its size.
    hs.resetGlobalScheduler(True)
    hs.setOptionValue("threads", int(params.num_workers))
    hs.setOptionValue("random_seed", int(params.random_seed))
    hs.setOptionValue("mip_heuristic_effort", _HEURISTIC_EFFORT)
    if hint is not None:
        idx = np.fromiter(x.values(), dtype=np.int32, count=len(x))
        val = np.array([float(hint[h, t] == i) for (h, i, t) in x], dtype=float)
        hs.setSolution(len(idx), idx, val)
    n_vars, n_cons = len(lp.cost), len(lp.row_lo)
    logger.debug(
        "rotation model: %d variables (%d binary), %d rows; solving with HiGHS",
        n_vars,
        len(x),
        n_cons,
    )
    run_status = hs.run()
    if run_status == highspy.HighsStatus.kError:  # pragma: no cover - a bug, not bad input
        msg = f"HiGHS failed on the rotation model (status {run_status})"
        raise RuntimeError(msg)
    code = hs.getModelStatus()
    info = hs.getInfo()
    ms = highspy.HighsModelStatus
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if code == ms.kOptimal:
        # HiGHS says optimal once within mip_rel_gap; "optimal" here means proven
        proven = info.mip_gap <= _PROVEN_GAP or params.relative_gap <= _PROVEN_GAP
        status: PlanStatus = "optimal" if proven else "feasible"
    elif code == ms.kInfeasible:
        status = "infeasible"
    else:
        status = "feasible" if has_solution else "unknown"
    assignment = np.full((H, T), -1, dtype=np.int64)
    if status in ("optimal", "feasible"):
        values = np.asarray(hs.getSolution().col_value)
        for (h, i, t), j in x.items():
            if values[j] > 0.5:
                assignment[h, t] = i
        obj = float(info.objective_function_value)
        bound = float(info.mip_dual_bound)
    else:
        obj = bound = float("nan")
    return _Block(assignment, status, obj, bound, n_vars, n_cons)


def _rest_ok(
    inputs: RotationInputs, params: RotationParams, grazed: np.ndarray, loc: Location
) -> bool:
    """True when one plot's grazed periods keep the rest and consecutive-days rules."""
    T = inputs.n_periods
    if params.max_consecutive_days is not None:
        limit = params.max_consecutive_days // inputs.period_days
        run = 0
        for t in range(T):
            run = run + 1 if grazed[t] else 0
            if run > limit:
                return False
    if params.enforce_rest:
        for t in range(T - 1):
            if grazed[t] and not grazed[t + 1]:
                need = params.rest_periods(loc.pasture_type, inputs.season(t), inputs.period_days)
                if grazed[t + 2 : t + need + 1].any():
                    return False
    return True


def _repair_shares(inputs: RotationInputs, params: RotationParams, a: np.ndarray) -> None:
    """Rebalance plot use until every family share holds (in place).

    Moves that keep every plot's occupancy pattern (so rest, consecutive-days and
    herd limits still hold) are tried first, and taken only when they reduce the total
    share violation: swap a plot stay of a favoured herd with a short-changed herd off
    the plots in the same period, or let a short-changed herd join a plot already
    grazed (below the herd limit). When none helps, the most favoured herd leaves a
    plot for the open range (if the rest rules allow), which always ends the loop.
    """
    ok = allowed(inputs, params)
    tol = params.share_tolerance
    for com, members in share_groups(inputs, params).items():
        plots = [
            i
            for i, loc in enumerate(inputs.locations)
            if loc.kind == "plot" and loc.community == com
        ]
        ranges = [
            i
            for i, loc in enumerate(inputs.locations)
            if loc.kind == "open_range" and loc.community == com
        ]
        share = {
            h: inputs.herds[h].key / sum(inputs.herds[k].key for k in members) for h in members
        }
        unit = {h: inputs.animal_days(inputs.herds[h]) for h in members}

        def excess(days: dict[int, int], share: dict[int, float] = share) -> float:
            total = sum(days.values())
            if total == 0:
                return 0.0
            return sum(max(abs(days[h] / (share[h] * total) - 1) - tol, 0.0) for h in days)

        for _ in range(4 * len(members) * inputs.n_periods):
            on_plot = np.isin(a, plots)
            days = {h: unit[h] * int(on_plot[h].sum()) for h in members}
            now = excess(days)
            if now == 0:
                break
            if _rebalance_once(inputs, params, a, ok, plots, days, unit, excess, now):
                continue
            total = sum(days.values())
            removed = False
            for h in sorted(members, key=lambda h: -days[h] / (share[h] * total)):
                for t in reversed(np.flatnonzero(on_plot[h])):
                    i = int(a[h, t])
                    target = next((r for r in ranges if ok[h, r, t]), None)
                    if target is None:
                        continue
                    a[h, t] = target
                    if _rest_ok(inputs, params, (a == i).any(axis=0), inputs.locations[i]):
                        removed = True
                        break
                    a[h, t] = i
                if removed:
                    break
            if not removed:
                break


def _rebalance_once(  # noqa: PLR0917
    inputs: RotationInputs,
    params: RotationParams,
    a: np.ndarray,
    ok: np.ndarray,
    plots: list[int],
    days: dict[int, int],
    unit: dict[int, int],
    excess: Callable[[dict[int, int]], float],
    now: float,
) -> bool:
    """One swap or join that lowers the share violation; True if one was made."""
    on_plot = np.isin(a, plots)
    limit = params.max_herds_per_plot or len(inputs.herds)
    members = list(days)
    for hu in sorted(members, key=lambda h: days[h] / unit[h]):
        off = np.flatnonzero(~on_plot[hu] & (a[hu] >= 0))
        for ho in sorted(members, key=lambda h: -days[h] / unit[h]):
            if ho == hu:
                continue
            trial = {**days, ho: days[ho] - unit[ho], hu: days[hu] + unit[hu]}
            if excess(trial) >= now:
                continue
            for t in off:
                i, j = int(a[ho, t]), int(a[hu, t])
                if on_plot[ho, t] and ok[hu, i, t] and ok[ho, j, t]:
                    a[ho, t], a[hu, t] = j, i
                    return True
        trial = {**days, hu: days[hu] + unit[hu]}
        if excess(trial) < now:
            for t in off:
                for i in plots:
                    here = int((a[:, t] == i).sum())
                    if 0 < here < limit and ok[hu, i, t]:
                        a[hu, t] = i
                        return True
    return False
