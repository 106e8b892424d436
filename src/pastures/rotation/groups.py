"""Grazing groups of whole animals: the unit a herder moves together.

Herders on the altiplano move groups of whole animals, usually by species, from their
corral (DOMAIN.md: "Herders move groups of whole animals, usually by species and
category ... A plan that splits a group below what a herder can separate, or puts one
group in two places, cannot be followed"). :func:`grazing_groups` makes those groups
from the herd register:

* one group per corral and species (alpacas, llamas, sheep), listing the families
  whose animals are in it and their heads;
* a species with fewer heads at a corral than the minimum group size goes with the
  corral's largest group (a mixed group), so no group is smaller than a herder can
  separate;
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

import numpy as np
import pandas as pd

from pastures import schema as S
from pastures.animals import ALPACA, LLAMA, SHEEP, AnimalUnits, total_column
from pastures.errors import ParameterError

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
            f"group sizes: minimum {min_heads} and maximum {max_heads} heads: use "
            "1 <= minimum <= maximum (defaults 10 and 150)."
        )
    units = units or AnimalUnits()
    uo_head = np.array([units.uo(sp) for sp in GROUP_SPECIES])
    where: dict[str, tuple[float, float]] = {}
    if corrals is not None:
        import shapely

        for cid, geom in zip(corrals[S.CORRAL_ID].astype(str), corrals.geometry, strict=True):
            pt = shapely.point_on_surface(geom)
            where[cid] = (float(pt.x), float(pt.y))
    counts = {
        col: pd.to_numeric(herds[col], errors="coerce").fillna(0).astype(int).to_numpy()
        if col in herds.columns
        else np.zeros(len(herds), dtype=int)
        for col in HEAD_COLUMNS
    }
    frame = pd.DataFrame(
        {
            "family": herds[S.FAMILY_ID].astype(str).to_numpy(),
            "community": herds[S.COMMUNITY].astype(str).to_numpy(),
            "corral": herds[S.CORRAL_ID].astype(str).to_numpy(),
            **counts,
        }
    )
    out: list[GrazingGroup] = []
    for (com, corral), part in frame.groupby(["community", "corral"], sort=True):
        totals = {col: int(part[col].sum()) for col in HEAD_COLUMNS}
        present = [col for col in HEAD_COLUMNS if totals[col] > 0]
        if not present:
            continue
        big = [col for col in present if totals[col] >= min_heads]
        # a small species joins the corral's largest one; if every species is small,
        # the corral's whole herd is one group
        lead = max(big or present, key=lambda col: (totals[col], -HEAD_COLUMNS.index(col)))
        bundles: dict[str, list[str]] = {col: [col] for col in big} or {lead: []}
        for col in present:
            if col not in big:
                bundles[lead].append(col)
        bundles[lead] = sorted(set(bundles[lead]) | {lead}, key=HEAD_COLUMNS.index)
        xy = where.get(str(corral), (math.nan, math.nan))
        for col in HEAD_COLUMNS:
            if col not in bundles:
                continue
            members = bundles[col]
            code = SPECIES_CODE[GROUP_SPECIES[HEAD_COLUMNS.index(col)]]
            if len(members) > 1:
                code = "MIX"
            out.extend(
                _split_bundle(
                    part,
                    members,
                    base_id=f"{corral}-{code}",
                    community=str(com),
                    corral=str(corral),
                    split_on=col,
                    min_heads=min_heads,
                    max_heads=max_heads,
                    uo_head=uo_head,
                    xy=xy,
                )
            )
    return tuple(out)


def _split_bundle(
    part: pd.DataFrame,
    members: list[str],
    *,
    base_id: str,
    community: str,
    corral: str,
    split_on: str,
    min_heads: int,
    max_heads: int,
    uo_head: np.ndarray,
    xy: tuple[float, float],
) -> list[GrazingGroup]:
    """Split the animals of `members` species at a corral into sub-groups, families in order.

    The main species (`split_on`) fixes the number of sub-groups; the animals of every
    species in the bundle are dealt to the sub-groups in nearly equal whole numbers,
    families in register order, a family's animals straddling two sub-groups when the
    cut falls inside it.
    """
    total = int(part[split_on].sum())
    n = len(_split_sizes(total, min_heads=min_heads, max_heads=max_heads))
    # per species, the sizes of its share in each sub-group
    sizes = {}
    for col in members:
        base, extra = divmod(int(part[col].sum()), n)
        sizes[col] = [base + (1 if k < extra else 0) for k in range(n)]
    fams: list[dict[str, list[int]]] = [{} for _ in range(n)]
    for col in members:
        k, room = 0, sizes[col][0]
        for fam, count in zip(part["family"], part[col], strict=True):
            left = int(count)
            while left > 0:
                while room == 0:
                    k += 1
                    room = sizes[col][k]
                take = min(left, room)
                fams[k].setdefault(str(fam), [0, 0, 0])[HEAD_COLUMNS.index(col)] += take
                left -= take
                room -= take
    groups = []
    for k in range(n):
        heads = [0, 0, 0]
        for col in members:
            heads[HEAD_COLUMNS.index(col)] = sizes[col][k]
        gid = base_id if n == 1 else f"{base_id}-{k + 1}"
        order = {f: p for p, f in enumerate(part["family"])}
        rows = tuple((f, *v) for f, v in sorted(fams[k].items(), key=lambda kv: order[kv[0]]))
        groups.append(
            GrazingGroup(
                group_id=gid,
                community=community,
                corral_id=corral,
                heads=(heads[0], heads[1], heads[2]),
                families=rows,  # type: ignore[arg-type]
                uo=round(float(np.dot(heads, uo_head)), 2),
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
