"""A key-date feed budget per community: when forage runs out, and what closes the gap.

From the plan of whole groups (:mod:`pastures.rotation.dispatch`): the open range's
standing forage week by week, and the fodder the groups on it need when nothing stands.
A deficit is decided "in heads sold or moved by a date, in bales bought (state the
bale's weight and dry-matter share), or in hectares of oats sown in time for the dry
season, not in animal-unit weeks" (DOMAIN.md). So, per community:

* ``runs_out``: the first day of the first week the range's standing forage cannot
  feed the groups on it (the plan's own stock; the plots already do what they can);
* ``sell_alpacas``, ``sell_llamas``, ``sell_sheep`` by ``by_date``: the heads that
  close the gap of the *peak* week (not the mean: the animals must be gone in the
  worst week), shared among species as the community's UO are, rounded up to whole
  heads; gone by the date forage runs out;
* ``bales``: the whole horizon's fodder in bales of :data:`DEFAULT_BALE_KG` kg at
  :data:`DEFAULT_BALE_DM` dry matter, rounded up;
* ``oats_ha``: the fodder as hectares of forage oats at :data:`DEFAULT_OATS_KG_DM_HA`,
  sown by ``oats_sow_by``. When that day falls before the plan starts, oats cannot be
  ready in time: ``oats_ha`` and ``oats_sow_by`` are left empty and ``oats_note`` says
  why (heads and bales still close the gap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Final

import pandas as pd

from pastures.errors import ParameterError
from pastures.i18n import _, format_date, format_number, gettext_for
from pastures.rotation.groups import GROUP_SPECIES, HEAD_COLUMNS

if TYPE_CHECKING:
    from pastures.animals import AnimalUnits
    from pastures.rotation.dispatch import GroupPlan

#: Weight of a bale of oat hay, kg as sold. Our assumption (a small square bale as sold
#: in the markets of Puno, 20-30 kg; no published figure found): weigh yours.
DEFAULT_BALE_KG: Final = 25.0
#: Dry-matter share of field-cured hay: 0.85 (hay is baled at 15 % moisture or less to
#: keep; the usual figure of forage tables, e.g. NRC). Our assumption for the altiplano.
DEFAULT_BALE_DM: Final = 0.85
#: Yield of forage oats, kg DM/ha: 1,623 in the dry puna (Zeballos-Cabana et al. 2023,
#: Tecnología en Marcha 36(1):89-96, doi 10.18845/tm.v36i1.5992; DOMAIN.md), the low
#: end of their Puno trials (6,551 in the wet puna, 5,394 on corral sites): hectares
#: for the worst case. Override with ``oats_kg_dm_ha``.
DEFAULT_OATS_KG_DM_HA: Final = 1623.0
#: Days from sowing forage oats to cutting them for hay. Our assumption (a five-month
#: cycle for oats sown with the rains on the altiplano; no published figure found).
OATS_CYCLE_DAYS: Final = 150
#: Last day oats can be sown: with the rains, to the end of January (our assumption).
OATS_LAST_SOWING: Final = (1, 31)
#: Columns of ``rotation_deficit.csv``.
DEFICIT_COLUMNS: Final = (
    "community",
    "range_standing_start_kg",
    "range_standing_source",
    "runs_out",
    "peak_week",
    "peak_fodder_kg",
    "fodder_kg",
    "sell_alpacas",
    "sell_llamas",
    "sell_sheep",
    "by_date",
    "bales",
    "bale_kg",
    "bale_dm_share",
    "oats_ha",
    "oats_sow_by",
    "oats_kg_dm_ha",
    "oats_note",
)


@dataclass(frozen=True)
class FeedOptions:
    """Units a deficit is decided in (see the module's constants for sources)."""

    bale_kg: float = DEFAULT_BALE_KG
    bale_dm: float = DEFAULT_BALE_DM
    oats_kg_dm_ha: float = DEFAULT_OATS_KG_DM_HA

    def __post_init__(self) -> None:
        if not (self.bale_kg > 0 and 0 < self.bale_dm <= 1 and self.oats_kg_dm_ha > 0):
            raise ParameterError(
                _(
                    "feed options: bale {bale_kg} kg at {bale_dm} DM, oats {oats_kg_dm_ha} "
                    "kg DM/ha: use a bale > 0 kg, a DM share in (0, 1] and a yield > 0."
                ).format(
                    bale_kg=self.bale_kg, bale_dm=self.bale_dm, oats_kg_dm_ha=self.oats_kg_dm_ha
                )
            )

    @property
    def bale_kg_dm(self) -> float:
        """Dry matter in one bale, kg."""
        return self.bale_kg * self.bale_dm


def oats_sow_by(runs_out: date) -> date:
    """Last day to sow oats that are cut for hay by `runs_out`.

    :data:`OATS_CYCLE_DAYS` before it, or, when that falls outside the sowing window of
    the rains (November to :data:`OATS_LAST_SOWING`), the end of the window before it.
    """
    latest = runs_out - timedelta(days=OATS_CYCLE_DAYS)
    month, day = OATS_LAST_SOWING
    if latest.month in (11, 12) or (latest.month, latest.day) <= (month, day):
        return latest
    return date(latest.year, month, day)


def too_late_for_oats(sow_by: date, *, language: str = "en") -> str:
    """The ``oats_note`` of a community whose oats had to be sown by `sow_by`, already past."""
    tr = gettext_for(language)
    return tr("too late to sow oats: they had to be sown by {date}, before the plan").format(
        date=format_date(sow_by, language, "long")  # a sentence: the reader's date
    )


def deficit_table(
    gp: GroupPlan,
    *,
    options: FeedOptions | None = None,
    units: AnimalUnits | None = None,
    language: str = "en",
) -> pd.DataFrame:
    """``rotation_deficit.csv``: one row per community (see the module's docstring).

    ``range_standing_source`` and ``oats_note`` are written in `language` (the column
    names stay).
    """
    from pastures.animals import AnimalUnits
    from pastures.rotation.inputs import RANGE_START_SOURCE

    options = options or FeedOptions()
    units = units or AnimalUnits()
    inp = gp.inputs
    c = inp.kg_per_uo_period
    uo_head = [units.uo(sp) for sp in GROUP_SPECIES]
    rows = []
    for r, loc in enumerate(inp.locations):
        if loc.kind != "open_range":
            continue
        mine = [g for g in gp.groups if g.community == loc.community]
        heads = [sum(g.heads[s] for g in mine) for s in range(3)]
        uo_sp = [heads[s] * uo_head[s] for s in range(3)]
        total_uo = sum(uo_sp)
        fod = gp.fodder_kg[r]
        need = [t for t in range(inp.n_periods) if fod[t] > 0.5]
        row: dict[str, object] = {
            "community": loc.community,
            "range_standing_start_kg": round(loc.initial_kg),
            "range_standing_source": gettext_for(language)(RANGE_START_SOURCE),
            "runs_out": "",
            "peak_week": "",
            "peak_fodder_kg": 0,
            "fodder_kg": round(float(fod.sum())),
            **{f"sell_{col}": 0 for col in HEAD_COLUMNS},
            "by_date": "",
            "bales": 0,
            "bale_kg": options.bale_kg,
            "bale_dm_share": options.bale_dm,
            "oats_ha": 0.0,
            "oats_sow_by": "",
            "oats_kg_dm_ha": options.oats_kg_dm_ha,
            "oats_note": "",
        }
        if need and total_uo > 0:
            first = inp.period_start(need[0])
            peak = max(need, key=lambda t: (fod[t], -t))
            peak_uo = float(fod[peak]) / c
            for s, col in enumerate(HEAD_COLUMNS):
                if heads[s]:
                    sell = math.ceil(peak_uo * uo_sp[s] / total_uo / uo_head[s] - 1e-9)
                    row[f"sell_{col}"] = min(sell, heads[s])
            row.update(
                {
                    "runs_out": first.isoformat(),
                    "peak_week": inp.period_start(peak).isoformat(),
                    "peak_fodder_kg": round(float(fod[peak])),
                    "by_date": first.isoformat(),
                    "bales": math.ceil(float(fod.sum()) / options.bale_kg_dm - 1e-9),
                    "oats_ha": math.ceil(10 * float(fod.sum()) / options.oats_kg_dm_ha) / 10,
                    "oats_sow_by": oats_sow_by(first).isoformat(),
                }
            )
            if oats_sow_by(first) < inp.start:
                row.update(
                    {
                        "oats_ha": None,
                        "oats_sow_by": "",
                        "oats_note": too_late_for_oats(oats_sow_by(first), language=language),
                    }
                )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(DEFICIT_COLUMNS))


def _day(iso: object, language: str) -> str:
    """A table's ISO day (``2026-03-02``) as a reader of `language` writes it in a sentence."""
    try:
        return format_date(date.fromisoformat(str(iso)), language, "long")
    except ValueError:
        return str(iso)


def deficit_note(row: pd.Series | dict, *, language: str = "en") -> str:
    """One sentence per community from its row of :func:`deficit_table`, its figures only."""
    tr = gettext_for(language)
    r = dict(row)
    com = r["community"]
    if not r["runs_out"]:
        return tr("{community}: forage lasts the whole plan; nothing to sell or buy.").format(
            community=com
        )
    sell = [(int(r[f"sell_{col}"]), tr(col)) for col in HEAD_COLUMNS if int(r[f"sell_{col}"])]
    heads = ", ".join(f"{format_number(n, language)} {name}" for n, name in sell)
    note = r.get("oats_note")
    late = isinstance(note, str) and bool(note)
    oats = (
        f" ({note})."
        if late
        else tr("; or sow {hectares} ha of oats by {date}.").format(
            hectares=format_number(float(r["oats_ha"]), language, 1),
            date=_day(r["oats_sow_by"], language),
        )
    )
    return (
        tr(
            "{community}: forage runs out on {date}. Sell or move {heads} by {by}; "
            "or buy {bales} bales of {kg} kg"
        ).format(
            community=com,
            date=_day(r["runs_out"], language),
            heads=heads,
            by=_day(r["by_date"], language),
            bales=format_number(int(r["bales"]), language),
            kg=f"{r['bale_kg']:g}",
        )
        + oats
    )
