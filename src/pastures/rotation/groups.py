"""Grazing groups of whole animals: the unit a herder moves together.

Herders on the altiplano move groups of whole animals, usually by species, from their
corral (DOMAIN.md: "Herders move groups of whole animals, usually by species and
category ... A plan that splits a group below what a herder can separate, or puts one
group in two places, cannot be followed"). :func:`grazing_groups` makes those groups
from the herd register:

* one group per corral and species (alpacas, llamas, sheep), listing the families
  whose animals are in it and their heads; where the register counts animals by
  category, the mothers with their young (adults, crías, lambs) and the young stock
  (tuis, ``-TUI``) are separate groups;
* a species (or its young stock) with fewer heads at a corral than the minimum group
  size goes with the corral's largest group (``MIX`` when species mix), so no group is
  smaller than a herder can separate;
* a species group larger than the largest group a herder can move is split into
  named sub-groups (``-1``, ``-2`` ...) of nearly equal, whole numbers of heads, each
  at least the minimum size.

A group is in one place in a period, whole: a fenced plot or the open range. Heads are
always whole; UO (sheep units, :mod:`pastures.animals`) are given beside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import pandas as pd

from pastures import schema as S
from pastures.animals import ALPACA, LLAMA, SHEEP, AnimalUnits, total_column
from pastures.errors import ParameterError
from pastures.i18n import _

#: Species of a group's head counts, in the order of every table.
GROUP_SPECIES: Final = (ALPACA, LLAMA, SHEEP)
#: Column of each species' heads in the rotation tables (``alpacas``, ``llamas``, ``sheep``).
HEAD_COLUMNS: Final = tuple(total_column(sp) for sp in GROUP_SPECIES)
#: Fewest heads in a group or sub-group: a herder does not separate fewer animals to
#: another place. Our assumption (no Andean figure found): override with local practice.
DEFAULT_MIN_GROUP_HEADS: Final = 10
#: Most heads in one group: what one herder with a dog moves and watches on the puna.
#: Our assumption (no Andean figure found); larger corral-species herds are split into
#: named sub-groups of nearly equal size.
DEFAULT_MAX_GROUP_HEADS: Final = 150
#: Short species codes in group ids.
SPECIES_CODE: Final = {ALPACA: "ALP", LLAMA: "LLA", SHEEP: "OVI"}


@dataclass(frozen=True)
class GrazingGroup:
    """A group of whole animals moved together, from one corral.

    Attributes
    ----------
    group_id
        ``<corral>-<species code>[-<n>]``, e.g. ``PAS-C1-ALP-2`` (``MIX`` when a small
        species joined the group).
    community, corral_id
        Where the group belongs and sleeps.
    heads
        Whole heads by species: (alpacas, llamas, sheep).
    families
        ``(family_id, alpacas, llamas, sheep)`` of every family with animals in it.
    uo
        Load in sheep units (UO): heads x the UO of each species' adult.
    x, y
        Home corral position in the working CRS (m).
    """

    group_id: str
    community: str
    corral_id: str
    heads: tuple[int, int, int]
    families: tuple[tuple[str, int, int, int], ...]
    uo: float
    x: float = math.nan
    y: float = math.nan

    @property
    def n_heads(self) -> int:
        """All heads in the group."""
        return int(sum(self.heads))


def _split_sizes(total: int, *, min_heads: int, max_heads: int) -> list[int]:
    """Nearly equal whole sizes, each at most `max_heads` and (when possible) >= `min_heads`."""
    n = max(1, math.ceil(total / max_heads))
    while n > 1 and total // n < min_heads:
        n -= 1
    base, extra = divmod(total, n)
    return [base + (1 if k < extra else 0) for k in range(n)]


def grazing_groups(
    herds: pd.DataFrame,
    corrals: pd.DataFrame | None = None,
    *,
    units: AnimalUnits | None = None,
    min_heads: int = DEFAULT_MIN_GROUP_HEADS,
    max_heads: int = DEFAULT_MAX_GROUP_HEADS,
) -> tuple[GrazingGroup, ...]:
    """The grazing groups of a herd register (see the module's docstring).

    Parameters
    ----------
    herds
        Normalised register (:func:`pastures.herds.read_herds`): ``family_id``,
        ``community``, ``corral_id``, ``alpacas``, ``llamas``, ``sheep``.
    corrals
        Corral layer (``corral_id``, geometry) for the groups' home positions; None: NaN.
    units
        Animal units (UO per adult head of each species).
    min_heads, max_heads
        Fewest and most heads in a group.

    Returns
    -------
    tuple of GrazingGroup
        Sorted by community, corral and species; every animal of the register is in
        exactly one group.

    Raises
    ------
    ParameterError
        Sizes out of range.
    """
    if not 1 <= min_heads <= max_heads:
        raise ParameterError(
            _(
                "group sizes: minimum {min_heads} and maximum {max_heads} heads: use 1 "
                "<= minimum <= maximum (defaults 10 and 150)."
            ).format(min_heads=min_heads, max_heads=max_heads)
        )
    units = units or AnimalUnits()
    where: dict[str, tuple[float, float]] = {}
    if corrals is not None:
        import shapely

        for cid, geom in zip(corrals[S.CORRAL_ID].astype(str), corrals.geometry, strict=True):
            pt = shapely.point_on_surface(geom)
            where[cid] = (float(pt.x), float(pt.y))
    pools = _pools(herds, units)
    columns = sorted({col for _, members in pools for col, _, _ in members})
    frame = pd.DataFrame(
        {
            "family": herds[S.FAMILY_ID].astype(str).to_numpy(),
            "community": herds[S.COMMUNITY].astype(str).to_numpy(),
            "corral": herds[S.CORRAL_ID].astype(str).to_numpy(),
            **{
                col: pd.to_numeric(herds[col], errors="coerce").fillna(0).astype(int).to_numpy()
                for col in columns
            },
        }
    )
    out: list[GrazingGroup] = []
    for (com, corral), part in frame.groupby(["community", "corral"], sort=True):
        totals = [sum(int(part[col].sum()) for col, _, _ in members) for _, members in pools]
        present = [k for k, n in enumerate(totals) if n > 0]
        if not present:
            continue
        big = [k for k in present if totals[k] >= min_heads]
        # a small pool joins the corral's largest one; if every pool is small, the
        # corral's whole herd is one group
        lead = max(big or present, key=lambda k: (totals[k], -k))
        bundles: dict[int, list[int]] = {k: [k] for k in big} or {lead: [lead]}
        for k in present:
            if k not in big and k != lead:
                bundles[lead].append(k)
        xy = where.get(str(corral), (math.nan, math.nan))
        for k in sorted(bundles):
            members = [m for j in sorted(bundles[k]) for m in pools[j][1]]
            species = {sp for col, sp, _ in members if int(part[col].sum()) > 0}
            code = pools[k][0] if len(species) <= 1 else "MIX"
            out.extend(
                _split_bundle(
                    part,
                    members,
                    base_id=f"{corral}-{code}",
                    community=str(com),
                    corral=str(corral),
                    min_heads=min_heads,
                    max_heads=max_heads,
                    xy=xy,
                )
            )
    return tuple(out)


#: Young stock kept apart from the mothers with young, where the register counts them.
YOUNG_STOCK = "tui"


def _pools(
    herds: pd.DataFrame, units: AnimalUnits
) -> list[tuple[str, list[tuple[str, int, float]]]]:
    """The kinds of animal a corral's groups are made of: (code, [(column, species, UO)]).

    Per species: with categories in the register, the mothers with their young (adults,
    crías, lambs) and the young stock (tuis) apart; without, all its animals.
    """
    from pastures.animals import count_column

    out: list[tuple[str, list[tuple[str, int, float]]]] = []
    for s, sp in enumerate(GROUP_SPECIES):
        code = SPECIES_CODE[sp]
        cats = [c for c in units.table.get(sp, {}) if count_column(sp, c) in herds.columns]
        if not cats:
            col = HEAD_COLUMNS[s]
            if col in herds.columns:
                out.append((code, [(col, s, units.uo(sp))]))
            continue
        # a normalised register has every category column of a species counted by
        # category (pastures.herds), adults included
        main = [(count_column(sp, c), s, units.uo(sp, c)) for c in cats if c != YOUNG_STOCK]
        young = [(count_column(sp, c), s, units.uo(sp, c)) for c in cats if c == YOUNG_STOCK]
        out.append((code, main))
        if young:
            out.append((f"{code}-TUI", young))
    return out


def _split_bundle(
    part: pd.DataFrame,
    members: list[tuple[str, int, float]],
    *,
    base_id: str,
    community: str,
    corral: str,
    min_heads: int,
    max_heads: int,
    xy: tuple[float, float],
) -> list[GrazingGroup]:
    """Split the animals of `members` (column, species, UO per head) into sub-groups.

    The bundle's heads fix the number of sub-groups; the animals of every column are
    dealt to the sub-groups in nearly equal whole numbers, families in register order,
    a family's animals straddling two sub-groups when the cut falls inside it.
    """
    total = sum(int(part[col].sum()) for col, _, _ in members)
    n = len(_split_sizes(total, min_heads=min_heads, max_heads=max_heads))
    heads = [[0, 0, 0] for _ in range(n)]
    uo = [0.0] * n
    fams: list[dict[str, list[int]]] = [{} for _ in range(n)]
    for col, sp, per_head in members:
        base, extra = divmod(int(part[col].sum()), n)
        sizes = [base + (1 if k < extra else 0) for k in range(n)]
        for k in range(n):
            heads[k][sp] += sizes[k]
            uo[k] += sizes[k] * per_head
        k, room = 0, sizes[0]
        for fam, count in zip(part["family"], part[col], strict=True):
            left = int(count)
            while left > 0:
                while room == 0:
                    k += 1
                    room = sizes[k]
                take = min(left, room)
                fams[k].setdefault(str(fam), [0, 0, 0])[sp] += take
                left -= take
                room -= take
    order = {f: p for p, f in enumerate(part["family"])}
    groups = []
    for k in range(n):
        rows = tuple((f, *v) for f, v in sorted(fams[k].items(), key=lambda kv: order[kv[0]]))
        groups.append(
            GrazingGroup(
                group_id=base_id if n == 1 else f"{base_id}-{k + 1}",
                community=community,
                corral_id=corral,
                heads=(heads[k][0], heads[k][1], heads[k][2]),
                families=rows,  # type: ignore[arg-type]
                uo=round(uo[k], 2),
                x=xy[0],
                y=xy[1],
            )
        )
    return groups


def groups_table(groups: tuple[GrazingGroup, ...]) -> pd.DataFrame:
    """``rotation_groups.csv``: one row per group and family, whole heads by species."""
    rows = [
        {
            S.GROUP_ID: g.group_id,
            S.COMMUNITY: g.community,
            S.CORRAL_ID: g.corral_id,
            S.FAMILY_ID: fam,
            HEAD_COLUMNS[0]: a,
            HEAD_COLUMNS[1]: ll,
            HEAD_COLUMNS[2]: sh,
        }
        for g in groups
        for fam, a, ll, sh in g.families
    ]
    cols = [S.GROUP_ID, S.COMMUNITY, S.CORRAL_ID, S.FAMILY_ID, *HEAD_COLUMNS]
    return pd.DataFrame(rows, columns=cols)
