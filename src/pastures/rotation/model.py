"""The grazing rotation's data: herds, locations, closures, parameters and their rules.

The formulation (solved in :mod:`pastures.rotation.highs`)
----------------------------------------------------------
Time is cut into equal periods (weeks by default) over a horizon. *Locations* are the
fenced plots and one open communal range per community; *herd groups* (families of one
corral packed up to a bounded load) carry a load in sheep units (UO, see
:mod:`pastures.animals`).

Herds can be split. The model decides how many UO of each corral's herds graze each
plot in each period (continuous); a binary ``y[p, t]`` says a plot is grazed in period
``t`` and carries the rest, longest-stay and stocking-density rules (the rest and
longest-stay rules in the strong form of unit commitment's minimum up and down times,
see :func:`pastures.rotation.blocks.build_block`). Hard limits on a
plot: forage eaten <= its usable standing stock plus that period's usable growth, and
UO on it <= ``max_uo_per_ha`` x area. Whatever the plots do not carry grazes the open
range of the herd's community. The open range is one stock of standing forage per
community, carried week to week: growth in, intake and decay out, and intake never more
than what stands. Intake beyond the range's proper-use allowance (the use factor of
its standing forage and growth so far) is *overuse*, priced per kg, and
demand no standing forage meets is an explicit *fodder or destocking need* per
community and period. Unmet demand is never placed on a plot.

Plots are the dry-season reserve by default: closed in the growing season
(:data:`DEFAULT_CLOSED_MONTHS`), with rest rules that bind while plants grow and no
rest or longest stay while they are dormant (:data:`DORMANT_SEASONS`).

Standing forage carries over from period to period, less ``standing_loss`` (the forage
budget's monthly loss to senescence and trampling), so a plot left ungrazed in the
rainy season is a reserve for the late dry season, when the range is short.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from typing import Final, Literal

import numpy as np

from pastures.defaults import DEFAULT_GAP
from pastures.errors import ParameterError
from pastures.i18n import _
from pastures.rotation.groups import GrazingGroup

Season = Literal["rainy", "transition", "dry"]
LocationKind = Literal["plot", "open_range"]
PlanStatus = Literal["optimal", "feasible", "start", "greedy"]

#: Season of each month on the Juli altiplano (DOMAIN.md: rainy Dec-Mar holds ~77 % of
#: the rain, dry Jun-Oct; April, May and November are transitions).
SEASON_OF_MONTH: Final[dict[int, Season]] = {
    1: "rainy", 2: "rainy", 3: "rainy", 4: "transition", 5: "transition", 6: "dry",
    7: "dry", 8: "dry", 9: "dry", 10: "dry", 11: "transition", 12: "rainy",
}  # fmt: skip
#: Critical forage months (late dry season, lowest protein and digestibility; DOMAIN.md).
CRITICAL_MONTHS: Final = (8, 9, 10)
#: Label used for the open communal range of a community in ``Location.location_id``.
OPEN_RANGE_PREFIX: Final = "RANGE"

#: Minimum rest after grazing (days), by pasture type and season of the last grazed
#: period. No Andean figure was found (DOMAIN.md): documented assumptions to override.
#: Recovery binds while plants grow: regrowth is fast in the rains and slower in the
#: transitions; bofedales (water all year) recover faster. Plants are dormant in the
#: dry season (Jun-Oct; growth nearly stops Jun-Aug, DOMAIN.md) and "need no recovery
#: time: a deferred plot is standing hay, grazed down in the dry season" (DOMAIN.md), so
#: no rest is required after a dry-season stay: those stays are bounded by forage.
#: Key ``"*"``: any other type.
DEFAULT_REST_DAYS: Final[dict[str, dict[str, int]]] = {
    "bofedal": {"rainy": 21, "transition": 35, "dry": 0},
    "*": {"rainy": 35, "transition": 49, "dry": 0},
}
#: Seasons in which plants are dormant: no longest stay and no rest (see above).
DORMANT_SEASONS: Final[tuple[Season, ...]] = ("dry",)
#: Months in which the fenced plots are closed by default, by pasture type: the growing
#: season (rains and growth December-March, DOMAIN.md), when plots "rest so pasture can
#: recover and set seed", keeping them as "a reserve of standing forage for the late dry
#: season" (DOMAIN.md, from the project report and Andean range practice). Bofedales too:
#: they are the wet reserve of the dry season, and in December-March the open range
#: grows more than the herds eat. A project opens a plot in the rains on purpose (e.g.
#: for mothers at parturition, alpacas give birth December-March) with ``open_in_rains``.
DEFAULT_CLOSED_MONTHS: Final[dict[str, tuple[int, ...]]] = {
    "bofedal": (12, 1, 2, 3),
    "*": (12, 1, 2, 3),
}
#: Longest run of consecutive grazing on one plot (days): four weeks.
DEFAULT_MAX_CONSECUTIVE_DAYS: Final = 28
#: Longest distance from the home corral to a plot, about 6 km each way on foot.
DEFAULT_MAX_WALK_M: Final = 6000.0
#: Most UO per ha on a plot while it is grazed, by pasture type (``"*"``: any other).
#: Derived, not measured (no Andean stocking-density figure was found): the Flórez 2005
#: carrying capacity (DOMAIN.md) of the best condition a type reaches, held year-round,
#: concentrated into the share of the year the default rules let a plot be grazed
#: (stays of 28 days, then at least 35 days of rest: 28 of every 63 days, x 2.25).
#: Bofedal: "excellent", 4.0 UO/ha/yr x 2.25 = 9.0; dry puna types: "good", 3.0 x 2.25
#: = 6.75. The forage limit usually binds first; override with local figures.
DEFAULT_MAX_UO_PER_HA: Final[dict[str, float]] = {"bofedal": 9.0, "*": 6.75}
#: Price per kg DM the herds eat beyond the open range's proper-use allowance (the use
#: factor of what stood and grew, :func:`range_allowance`): grazing into the residual.
DEFAULT_OVERUSE_COST: Final = 2.0
#: Price per kg DM of fodder or destocking, above the overuse price.
DEFAULT_FODDER_COST: Final = 10.0
#: Multiplier on the fodder price in the critical months. 1.0 by default: a higher
#: price there made plans buy fodder in April-July to save standing forage for
#: August-October (issue 18); the plots are kept for the late dry season by their
#: growing-season closure and by :data:`DEFAULT_EARLY_PLOT_COST` instead.
DEFAULT_CRITICAL_FACTOR: Final = 1.0
#: Months the fenced plots are kept for: the late dry season (DOMAIN.md: "a reserve of
#: standing forage for the late dry season (Aug-Nov)"), when the forage has its lowest
#: protein and digestibility.
RESERVE_MONTHS: Final = (8, 9, 10, 11)
#: Price per kg DM of plot forage eaten before :data:`RESERVE_MONTHS` (points): below
#: the range's overuse price, so plots still feed herds that would otherwise overuse the
#: range or need fodder then, but above nothing, so plots are not eaten early when the
#: range can feed the herds. Our assumption.
DEFAULT_EARLY_PLOT_COST: Final = 1.0
#: Solver defaults: deterministic work limits first, wall clock only as a safety net.
DEFAULT_MAX_NODES: Final = 500
DEFAULT_TIME_LIMIT_S: Final = 120.0
DEFAULT_WORKERS: Final = 2
DEFAULT_SEED: Final = 0
#: Default first day of the horizon: a fixed Monday, so sample plans are reproducible.
DEFAULT_START: Final = date(2026, 1, 5)


@dataclass(frozen=True)
class HerdGroup:
    """A herd group: a family's herd, or families of one corral packed together.

    Attributes
    ----------
    herd_id
        Unique, short id (e.g. ``"PAS-C1-G2"``).
    community
        Community the herd belongs to (its open range).
    corral_id
        Home corral. The herds of one corral walk the same distances, so the model
        plans each corral's herds together and splits every stay among them in
        proportion to their UO.
    uo
        Load in sheep units (UO).
    x, y
        Home corral position in the working CRS (m).
    families
        Family ids in the group.
    share_key
        Weight in the family-share rule (labour days); 0 means "use `uo`".
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
    """A place to graze: a fenced plot or a community's open communal range.

    Attributes
    ----------
    location_id
        Plot code, or ``"RANGE <community>"``.
    community
        Owning community.
    kind
        ``"plot"`` or ``"open_range"``.
    pasture_type
        Canonical pasture type.
    area_ha
        Grazable area (ha).
    x, y
        Representative point (m, working CRS); NaN for the open range (at the corral gate).
    growth_kg
        Usable forage (kg DM, after the proper-use factor) that grows in each period.
    initial_kg
        Usable standing forage at the start of the horizon (kg DM).
    source
        Where the supply comes from (vegetation index, pasture-type default, ...).
    """

    location_id: str
    community: str
    kind: LocationKind
    pasture_type: str
    area_ha: float
    x: float
    y: float
    growth_kg: tuple[float, ...]
    initial_kg: float
    source: str = ""


@dataclass(frozen=True)
class Closure:
    """A location closed to grazing from `start` to `end` (both inclusive)."""

    location_id: str
    start: date
    end: date
    reason: str = "closed"

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ParameterError(
                _(
                    "closure of {location_id}: it ends ({end}) before it starts ({start}); "
                    "swap the dates."
                ).format(location_id=self.location_id, end=self.end, start=self.start)
            )


@dataclass(frozen=True)
class RotationInputs:
    """Everything the planner needs to know about herds, land and time.

    Attributes
    ----------
    herds, locations
        Herd groups and grazing locations (one open range per community with herds).
    start
        First day of the horizon.
    period_days, n_periods
        Length of a period (7 = weekly) and number of periods.
    intake_kg_per_uo_day
        Dry-matter intake of one UO (kg DM/day), from :mod:`pastures.animals`.
    standing_loss_per_month
        Share of the ungrazed standing forage lost each month (the forage budget's).
    closures
        Locations closed for some dates.
    intake_source
        What the intake figure is (reference animal, weight, source).
    range_use_factor
        Proper-use factor of the open range: intake beyond this share of its standing
        forage and growth is overuse. Open-range locations carry their whole
        growth and standing stock (kg DM), plots only the usable share.
    groups
        Grazing groups of whole animals (:mod:`pastures.rotation.groups`), the unit the
        plan's schedule moves.
    strategies
        ``(plot code, strategy, why)`` of every plot (reserve, recovery, parturition ...).
    """

    herds: tuple[HerdGroup, ...]
    locations: tuple[Location, ...]
    start: date
    period_days: int
    n_periods: int
    intake_kg_per_uo_day: float
    standing_loss_per_month: float = 0.10
    closures: tuple[Closure, ...] = ()
    intake_source: str = ""
    range_use_factor: float = 0.5
    groups: tuple[GrazingGroup, ...] = ()
    strategies: tuple[tuple[str, str, str], ...] = ()

    def __post_init__(self) -> None:
        bad = []
        if self.n_periods <= 0 or self.period_days <= 0:
            bad.append(f"horizon of {self.n_periods} period(s) of {self.period_days} day(s)")
        if not self.intake_kg_per_uo_day > 0:
            bad.append(f"intake {self.intake_kg_per_uo_day} kg DM/UO/day")
        if not 0 <= self.standing_loss_per_month < 1:
            bad.append(f"standing_loss_per_month {self.standing_loss_per_month}")
        for loc in self.locations:
            if len(loc.growth_kg) != self.n_periods:
                bad.append(
                    f"location {loc.location_id}: {len(loc.growth_kg)} growth values for "
                    f"{self.n_periods} periods"
                )
            if min(loc.growth_kg, default=0) < 0 or loc.initial_kg < 0:
                bad.append(f"location {loc.location_id}: negative forage")
        ids = [loc.location_id for loc in self.locations]
        if len(set(ids)) != len(ids):
            bad.append("location ids repeat")
        hids = [h.herd_id for h in self.herds]
        if len(set(hids)) != len(hids):
            bad.append("herd ids repeat")
        ranges = {loc.community for loc in self.locations if loc.kind == "open_range"}
        for h in self.herds:
            if h.community not in ranges:
                bad.append(f"herd {h.herd_id}: community {h.community!r} has no open range")
            if not h.uo > 0:
                bad.append(f"herd {h.herd_id}: {h.uo} UO")
        if bad:
            raise ParameterError("rotation inputs are inconsistent:\n  " + "\n  ".join(bad))

    @cached_property
    def closed_periods(self) -> np.ndarray:
        """``closed[l, t]``: a closure covers some day of period `t` of location `l`.

        Worked out once per inputs (blocks of a large plan all ask for it).
        """
        closed = np.zeros((len(self.locations), self.n_periods), dtype=bool)
        index = {loc.location_id: i for i, loc in enumerate(self.locations)}
        first = self.start.toordinal() + self.period_days * np.arange(self.n_periods)
        last = first + self.period_days - 1
        for c in self.closures:
            i = index.get(c.location_id)
            if i is not None:
                closed[i] |= (c.start.toordinal() <= last) & (c.end.toordinal() >= first)
        return closed

    @property
    def horizon_days(self) -> int:
        """Days in the horizon."""
        return self.n_periods * self.period_days

    @property
    def keep_per_period(self) -> float:
        """Share of standing forage kept from one period to the next."""
        return (1.0 - self.standing_loss_per_month) ** (self.period_days * 12 / 365.25)

    @property
    def kg_per_uo_period(self) -> float:
        """Forage one UO eats in one period (kg DM)."""
        return self.intake_kg_per_uo_day * self.period_days

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

    def month(self, t: int) -> int:
        """Month of the middle day of period `t`."""
        return (self.start + timedelta(days=t * self.period_days + self.period_days // 2)).month


@dataclass(frozen=True)
class ObjectiveWeights:
    """Prices of the objective (minimised), in points.

    Forage comes first: range overuse (intake beyond the proper-use allowance) is
    priced per kg DM (``overuse_per_kg``), and fodder or destocking above it
    (``fodder_per_kg``). The rest
    are tie-breakers far below one kg of forage a week for a whole herd.

    Attributes
    ----------
    overuse_per_kg
        Price of a kg DM eaten beyond the open range's proper-use allowance.
    fodder_per_kg
        Price of a kg DM of fodder or destocking (above `overuse_per_kg`).
    walk_per_uo_km
        Per UO, km between corral and plot, and period.
    grazed_plot_period
        Per period a plot is grazed (so plots rest when they are not needed).
    new_stay
        Per stay begun on a plot (fewer, longer stays).
    critical_factor
        Multiplier on the fodder price in the critical months (Aug-Oct,
        :data:`CRITICAL_MONTHS`); see :data:`DEFAULT_CRITICAL_FACTOR`.
    early_plot_per_kg
        Price of a kg DM of plot forage eaten outside :data:`RESERVE_MONTHS`.
    """

    overuse_per_kg: float = DEFAULT_OVERUSE_COST
    fodder_per_kg: float = DEFAULT_FODDER_COST
    walk_per_uo_km: float = 0.05
    grazed_plot_period: float = 1.0
    new_stay: float = 20.0
    critical_factor: float = DEFAULT_CRITICAL_FACTOR
    early_plot_per_kg: float = DEFAULT_EARLY_PLOT_COST


@dataclass(frozen=True)
class RotationParams:
    """Rules and solver settings.

    Attributes
    ----------
    enforce_rest, rest_days
        Minimum rest of a plot after its last grazed period, days, by pasture type and
        season of that period (``"*"``: any other type); rounded up to whole periods.
    max_consecutive_days
        Longest run of grazing on one plot (days; None: no limit).
    enforce_closures
        Respect :class:`Closure` entries.
    max_walk_m
        Longest distance from home corral to a plot (m; None: no limit).
    own_community_only
        Herds graze only their community's plots.
    max_uo_per_ha
        Most UO per ha on a grazed plot, by pasture type (``"*"``: other types).
    family_shares, share_tolerance
        Each corral's share of its community's plot UO-days lies within
        ``(1 +- share_tolerance)`` of its share of the key (herd size or labour).
    weights
        Objective prices.
    max_nodes
        Branch-and-bound nodes per block (HiGHS ``mip_max_nodes``): the deterministic
        work limit that stops the search.
    time_limit_s
        Wall-clock safety net for the whole plan (s); the plan reports when it is hit,
        since a plan stopped by the clock may differ between machines.
    num_workers
        Blocks solved at once (each HiGHS run uses one thread).
    random_seed, relative_gap
        HiGHS seed and the relative gap at which a block's search stops.
    """

    enforce_rest: bool = True
    rest_days: Mapping[str, Mapping[str, int]] = field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_REST_DAYS.items()}
    )
    max_consecutive_days: int | None = DEFAULT_MAX_CONSECUTIVE_DAYS
    enforce_closures: bool = True
    max_walk_m: float | None = DEFAULT_MAX_WALK_M
    own_community_only: bool = True
    max_uo_per_ha: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MAX_UO_PER_HA))
    family_shares: bool = True
    share_tolerance: float = 0.25
    weights: ObjectiveWeights = field(default_factory=ObjectiveWeights)
    max_nodes: int = DEFAULT_MAX_NODES
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    num_workers: int = DEFAULT_WORKERS
    random_seed: int = DEFAULT_SEED
    relative_gap: float = DEFAULT_GAP

    def rest_periods(self, pasture_type: str, season: Season, period_days: int) -> int:
        """Minimum rest in whole periods after a plot of `pasture_type` is left in `season`."""
        if not self.enforce_rest:
            return 0
        table = self.rest_days.get(pasture_type, self.rest_days.get("*", {}))
        return math.ceil(table.get(season, 0) / period_days)

    def density(self, pasture_type: str) -> float:
        """Most UO per ha on a grazed plot of `pasture_type`."""
        return float(self.max_uo_per_ha.get(pasture_type, self.max_uo_per_ha.get("*", math.inf)))

    def dormant(self, season: Season) -> bool:
        """Plants are dormant in `season`: no rest and no longest stay (forage bounds stays)."""
        return season in DORMANT_SEASONS

    def max_stay_periods(self, period_days: int) -> int | None:
        """Longest stay in whole periods (None: no limit)."""
        if self.max_consecutive_days is None:
            return None
        return max(self.max_consecutive_days // period_days, 1)


def validate_params(params: RotationParams, *, period_days: int = 7) -> None:  # noqa: PLR0912
    """Raise :class:`ParameterError` naming every parameter out of range."""
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
    for ptype, dens in params.max_uo_per_ha.items():
        if not dens > 0:
            bad.append(f"max_uo_per_ha[{ptype!r}] = {dens}: use > 0 UO/ha")
    if not 0 <= params.share_tolerance <= 1:
        bad.append(f"share_tolerance = {params.share_tolerance}: use 0-1")
    w = params.weights
    if not 0 <= w.overuse_per_kg <= w.fodder_per_kg:
        bad.append(
            f"weights: overuse {w.overuse_per_kg} and fodder {w.fodder_per_kg} per kg: use "
            "0 <= overuse <= fodder"
        )
    if not 1.0 <= w.critical_factor <= 100.0:
        bad.append(f"weights.critical_factor = {w.critical_factor}: use 1-100")
    for name in ("walk_per_uo_km", "grazed_plot_period", "new_stay", "early_plot_per_kg"):
        if getattr(w, name) < 0:
            bad.append(f"weights.{name} = {getattr(w, name)}: use >= 0")
    if params.max_nodes < 0:
        bad.append(f"max_nodes = {params.max_nodes}: use 0 or more")
    if params.time_limit_s <= 0:
        bad.append(f"time_limit_s = {params.time_limit_s}: use > 0 s")
    if params.num_workers < 1:
        bad.append(f"num_workers = {params.num_workers}: use 1 or more")
    if not 0 <= params.relative_gap < 1:
        bad.append(f"relative_gap = {params.relative_gap}: use 0 <= gap < 1")
    if bad:
        raise ParameterError("rotation parameters out of range:\n  " + "\n  ".join(bad))


def open_range_id(community: str) -> str:
    """Location id of a community's open communal range."""
    return f"{OPEN_RANGE_PREFIX} {community}"


def distance_m(herd: HerdGroup, loc: Location) -> float:
    """Straight-line distance from a herd's corral to a location (0 for the open range)."""
    if loc.kind == "open_range":
        return 0.0
    return math.hypot(herd.x - loc.x, herd.y - loc.y)


def closed_mask(inputs: RotationInputs, params: RotationParams | None = None) -> np.ndarray:
    """``closed[l, t]``: location `l` is closed in period `t` (any closed day counts)."""
    if params is not None and not params.enforce_closures:
        return np.zeros((len(inputs.locations), inputs.n_periods), dtype=bool)
    return inputs.closed_periods.copy()


def unknown_closures(inputs: RotationInputs) -> list[str]:
    """Location ids named by closures that are not locations of the inputs."""
    ids = {loc.location_id for loc in inputs.locations}
    return sorted({c.location_id for c in inputs.closures} - ids)


def reachable(
    inputs: RotationInputs, params: RotationParams, herd: HerdGroup, loc: Location
) -> bool:
    """A herd may graze a plot: own community (if required) and within walking distance."""
    if loc.kind != "plot":
        return loc.community == herd.community
    if params.own_community_only and loc.community != herd.community:
        return False
    return params.max_walk_m is None or distance_m(herd, loc) <= params.max_walk_m


def season_closures(
    location_id: str,
    *,
    open_in: Sequence[Season] = ("dry",),
    start: date,
    n_days: int,
    reason: str = "reserved",
) -> tuple[Closure, ...]:
    """Closures that keep a plot shut outside the given seasons (e.g. a dry-season reserve)."""
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


def ungrazed_standing(inputs: RotationInputs, loc: Location) -> np.ndarray:
    """What would stand on `loc` in each period were it never grazed (kg DM).

    The stock carried into period ``t`` plus that period's growth, with the stock
    decaying by :attr:`RotationInputs.keep_per_period` from one period to the next.
    """
    out = np.zeros(inputs.n_periods)
    stock = loc.initial_kg
    keep = inputs.keep_per_period
    for t in range(inputs.n_periods):
        out[t] = stock + loc.growth_kg[t]
        stock = keep * out[t]
    return out


def range_allowance(inputs: RotationInputs, loc: Location) -> np.ndarray:
    """The open range's proper-use allowance to the end of each period (kg DM, cumulative).

    ``range_use_factor`` of its standing forage at the start and of everything that has
    grown since: with the common proper-use factor of 50 % (DOMAIN.md), half of the
    forage is left for the plants (the proper-use residual). Intake beyond it is overuse.
    """
    return inputs.range_use_factor * (loc.initial_kg + np.cumsum(loc.growth_kg))


def range_overuse(inputs: RotationInputs, loc: Location, eaten_kg: np.ndarray) -> np.ndarray:
    """Overuse per period: intake beyond :func:`range_allowance`, each kg once (kg DM)."""
    excess = np.maximum.accumulate(
        np.maximum(np.cumsum(eaten_kg) - range_allowance(inputs, loc), 0.0)
    )
    return np.diff(excess, prepend=0.0)
