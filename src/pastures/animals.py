"""The reference animal, animal units (UO) by species and category, and intake per unit.

One place defines the unit every other module uses (the forage budget, the rotation
planner, the erosion stage's stocking):

- **the reference animal**: one UO (*unidad ovino*) is one adult sheep of 40 kg, the
  altiplano weight (SR-CRSP, in DOMAIN.md): :data:`REFERENCE_SPECIES`,
  :data:`REFERENCE_WEIGHT_KG`;
- **intake per UO** follows from it: 50 g DM per kg of metabolic weight (BW^0.75) a
  day, the ad libitum intake measured on alpacas (Chipa Guillén et al. 2023, Animals
  13:3613), applied per kg of metabolic weight to the 40 kg sheep:
  50 x 40^0.75 / 1000 = 0.795 kg DM/UO/day (:class:`Intake`);
- **equivalences** by metabolic weight against that sheep (default ``metabolic``):
  alpaca (65/40)^0.75 = 1.44 UO, llama (108/40)^0.75 = 2.11 UO, close to the 1.5-1.8 of
  commonly used Peruvian tables (:class:`AnimalUnits`).

Each convention (preset) names its reference animal, and the intake of one unit is
always that animal's: ``metabolic`` (sheep unit, above), ``peru-tables`` (sheep unit;
alpaca 1.5, llama 1.8) and ``sr-crsp`` (alpaca 1.0, llama 1.5: an *alpaca* unit of
1.145 kg DM/day).

The default is ``metabolic``: the table of ``sr-crsp`` counts a sheep as 1.0 alpaca
unit although by metabolic weight it is (40/65)^0.75 = 0.69 of one, so under it sheep
are charged about 44 % above their intake (1/0.695 = 1.44). ``sr-crsp`` and
``peru-tables`` stay available (``AnimalUnits.preset("sr-crsp")``, ``[animal_units]
preset = "sr-crsp"`` in a forage parameters file, ``pastures forage --uo sr-crsp``).
An adult alpaca eats 1.145 kg DM/day under every convention, so capacities in alpacas
do not change with it; UO figures do, and so does what a sheep or a llama is charged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

import pandas as pd

from pastures.errors import ParameterError
from pastures.i18n import N_, _

logger = logging.getLogger(__name__)

ALPACA: Final = "alpaca"
LLAMA: Final = "llama"
SHEEP: Final = "sheep"
#: Species of the default table, in the order tables list them.
SPECIES: Final = (ALPACA, LLAMA, SHEEP)

ADULT: Final = "adult"
TUI: Final = "tui"
CRIA: Final = "cria"
LAMB: Final = "lamb"
#: Categories of each species in the default table (``adult`` first).
CATEGORIES: Final = {
    ALPACA: (ADULT, TUI, CRIA),
    LLAMA: (ADULT, TUI, CRIA),
    SHEEP: (ADULT, LAMB),
}

#: Adult body weights on the Peruvian altiplano, kg (SR-CRSP research results, in
#: DOMAIN.md): sheep 40, alpaca 65, llama 108.
BODY_WEIGHT_KG: Final = {SHEEP: 40.0, ALPACA: 65.0, LLAMA: 108.0}

#: Share of an adult's UO eaten by a young animal. Alpaca: cría (< 1 year) 0.4 and
#: tui (1-2 years) 0.8 of an alpaca mother (Cuéllar 1985, as tabulated in the UNALM
#: course notes "Alimentación de alpacas al pastoreo"). The same shares are ASSUMED
#: for llamas, and the cría share for lambs (no source found): override them.
YOUNG_SHARE: Final = {TUI: 0.8, CRIA: 0.4, LAMB: 0.4}

UOPreset = Literal["metabolic", "sr-crsp", "peru-tables"]

#: The reference animal of the UO: an adult sheep of 40 kg (SR-CRSP altiplano weight).
REFERENCE_SPECIES: Final = SHEEP
REFERENCE_WEIGHT_KG: Final = BODY_WEIGHT_KG[SHEEP]
#: Exponent of metabolic body weight (Kleiber): intake scales with BW^0.75.
METABOLIC_EXPONENT: Final = 0.75


def metabolic_equivalent(species: str, reference: str = REFERENCE_SPECIES) -> float:
    """UO of an adult of `species` by metabolic weight against `reference` (alpaca 1.439)."""
    return (BODY_WEIGHT_KG[species] / BODY_WEIGHT_KG[reference]) ** METABOLIC_EXPONENT


#: UO of one adult animal under each convention, and the reference animal of the unit.
#:
#: ``metabolic`` (default): metabolic weight against the 40 kg sheep (DOMAIN.md): alpaca
#: 1.439, llama 2.107. ``peru-tables``: the 1.5-1.8 UO per camelid of commonly used
#: Peruvian tables (alpaca 1.5, also the ratio of the Flórez 2005 table, 3.0 UO = 2.0
#: alpacas per ha; llama 1.8), sheep unit. ``sr-crsp``: alpaca 1.0, llama 1.5 (SR-CRSP),
#: an alpaca unit with an alpaca's intake, in which the table also counts a sheep as 1.0
#: (by metabolic weight it would be (40/65)^0.75 = 0.695: sheep are charged 44 % above
#: their own intake under this convention).
ADULT_UO: Final = {
    "metabolic": {
        ALPACA: metabolic_equivalent(ALPACA),
        LLAMA: metabolic_equivalent(LLAMA),
        SHEEP: 1.0,
    },
    "sr-crsp": {ALPACA: 1.0, LLAMA: 1.5, SHEEP: 1.0},
    "peru-tables": {ALPACA: 1.5, LLAMA: 1.8, SHEEP: 1.0},
}
#: Reference animal (species) of each convention: one unit is one adult of it.
#: The intake of one unit is the reference animal's divided by its UO: a 40 kg sheep
#: (1 UO) for ``metabolic``; an adult alpaca for the tables given in alpacas.
UO_REFERENCE: Final = {"metabolic": SHEEP, "sr-crsp": ALPACA, "peru-tables": ALPACA}
#: Default convention: ``metabolic``, the 40 kg sheep unit (see the module notes).
#: ``sr-crsp`` charged sheep 44 % above their own metabolic intake.
DEFAULT_UO_PRESET: Final[UOPreset] = "metabolic"

#: Source line carried by each preset, for output tables and reports (in English in the
#: CSV; a workbook shows it in the project's language).
UO_SOURCES: Final = {
    "metabolic": N_(
        "UO = adult sheep of 40 kg; by metabolic weight (BW^0.75, SR-CRSP weights) "
        "alpaca 1.44, llama 2.11 UO; young animals after Cuéllar 1985"
    ),
    "sr-crsp": N_(
        "UO by metabolic weight, SR-CRSP (alpaca 1.0, llama 1.5); unit = adult alpaca "
        "of 65 kg (sheep 1.0 as tabulated); young animals after Cuéllar 1985"
    ),
    "peru-tables": N_(
        "UO = adult sheep of 40 kg; Peruvian tables, 1.5-1.8 UO per camelid "
        "(alpaca 1.5, llama 1.8); young animals after Cuéllar 1985"
    ),
}


def _default_table(preset: UOPreset) -> dict[str, dict[str, float]]:
    adults = ADULT_UO[preset]
    return {
        species: {
            cat: adults[species] * (1.0 if cat == ADULT else YOUNG_SHARE[cat]) for cat in cats
        }
        for species, cats in CATEGORIES.items()
    }


@dataclass(frozen=True)
class AnimalUnits:
    """Sheep units (UO) of one animal, by species and category.

    Attributes
    ----------
    table
        ``{species: {category: UO per head}}``. Every species needs an ``adult``
        category: counts of unknown category (a plain ``alpacas`` column) count as adults.
    source
        Where the numbers come from, copied into output tables.
    reference_species, reference_weight_kg
        The animal whose intake defines the unit's (:meth:`Intake.kg_dm_per_uo_day`):
        its intake divided by its UO. ``metabolic``: the 40 kg sheep; the tables given
        in alpacas (``sr-crsp``, ``peru-tables``): the 65 kg alpaca.
    """

    table: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: _default_table(DEFAULT_UO_PRESET)
    )
    source: str = UO_SOURCES[DEFAULT_UO_PRESET]
    reference_species: str = UO_REFERENCE[DEFAULT_UO_PRESET]
    reference_weight_kg: float = BODY_WEIGHT_KG[UO_REFERENCE[DEFAULT_UO_PRESET]]

    def __post_init__(self) -> None:
        for species, cats in self.table.items():
            if ADULT not in cats:
                raise ParameterError(
                    _(
                        "animal units: species '{species}' has no '{adult}' category. Add "
                        "'{adult} = <UO per head>' to its table."
                    ).format(species=species, adult=ADULT)
                )
            for cat, uo in cats.items():
                if not (isinstance(uo, int | float) and 0 < float(uo) <= 20):
                    raise ParameterError(
                        _(
                            "animal units: {species}/{cat} = {uo!r} UO per head is not a number "
                            "between 0 and 20. A sheep is 1 UO; an alpaca 1.0-1.5, a llama 1.5-1.8."
                        ).format(species=species, cat=cat, uo=uo)
                    )

    @classmethod
    def preset(
        cls,
        name: UOPreset = DEFAULT_UO_PRESET,
        *,
        overrides: Mapping[str, Mapping[str, float]] | None = None,
    ) -> AnimalUnits:
        """A named convention, optionally with some entries replaced or added.

        Parameters
        ----------
        name
            ``"metabolic"`` (sheep unit; alpaca 1.44, llama 2.11), ``"peru-tables"``
            (sheep unit; 1.5, 1.8) or ``"sr-crsp"`` (alpaca unit; llama 1.5, sheep 1.0 as
            tabulated, 0.69 by metabolic weight).
        overrides
            ``{species: {category: UO}}`` merged over the preset (new species allowed).

        Raises
        ------
        ParameterError
            Unknown preset or an impossible value.
        """
        if name not in ADULT_UO:
            raise ParameterError(
                _("animal units: unknown convention '{name}'. Use one of {value}.").format(
                    name=name, value=", ".join(ADULT_UO)
                )
            )
        table = _default_table(name)
        source = UO_SOURCES[name]
        if overrides:
            for species, cats in overrides.items():
                table.setdefault(species, {}).update({c: float(v) for c, v in cats.items()})
            source += "; with user overrides"
        ref = UO_REFERENCE[name]
        return cls(
            table=table,
            source=source,
            reference_species=ref,
            reference_weight_kg=BODY_WEIGHT_KG[ref],
        )

    @property
    def species(self) -> tuple[str, ...]:
        """Species in the table."""
        return tuple(self.table)

    def uo(self, species: str, category: str = ADULT) -> float:
        """UO of one animal of `species` and `category`.

        Raises
        ------
        ParameterError
            The species or the category is not in the table.
        """
        if species not in self.table:
            raise ParameterError(
                _(
                    "animal units: no species '{species}' (known: {value}). Add it to the "
                    "animal-unit table."
                ).format(species=species, value=", ".join(self.table))
            )
        cats = self.table[species]
        if category not in cats:
            raise ParameterError(
                _("animal units: {species} has no category '{category}' (known: {value}).").format(
                    species=species, category=category, value=", ".join(cats)
                )
            )
        return float(cats[category])


def count_column(species: str, category: str) -> str:
    """Name of the register column counting `species` of `category`, e.g. ``alpaca_tuis``."""
    return f"{species}_{category}s"


def total_column(species: str) -> str:
    """Name of the register column with a species' total, e.g. ``alpacas`` (schema names)."""
    return f"{species}s" if species != SHEEP else SHEEP


def herd_animal_units(herds: pd.DataFrame, units: AnimalUnits | None = None) -> pd.Series:
    """Demand of each row of a herd register, in UO.

    For each species, the category columns (``alpaca_tuis`` ...) are weighted by
    their UO; what the species total (``alpacas``) holds beyond the categories
    counts as adults.

    Parameters
    ----------
    herds
        Normalised register (see :func:`pastures.herds.read_herds`).
    units
        The animal-unit table (default: :class:`AnimalUnits`, ``metabolic``).

    Returns
    -------
    pandas.Series
        UO per row, float, same index as `herds`.

    Examples
    --------
    40 alpacas of which 10 tuis and 5 crías, 5 llamas, 30 sheep (``peru-tables``):
    25 x 1.5 + 10 x 1.2 + 5 x 0.6 + 5 x 1.8 + 30 x 1.0 = 91.5 UO.
    """
    units = units or AnimalUnits()
    total = pd.Series(0.0, index=herds.index)
    for species, cats in units.table.items():
        species_total = total_column(species)
        in_categories = pd.Series(0.0, index=herds.index)
        for cat, uo in cats.items():
            col = count_column(species, cat)
            if col in herds.columns and cat != ADULT:
                n = pd.to_numeric(herds[col], errors="coerce").fillna(0).astype(float)
                in_categories += n
                total += n * uo
        adults_col = count_column(species, ADULT)
        if species_total in herds.columns:
            all_animals = pd.to_numeric(herds[species_total], errors="coerce").fillna(0)
            adults = (all_animals.astype(float) - in_categories).clip(lower=0)
        elif adults_col in herds.columns:
            adults = pd.to_numeric(herds[adults_col], errors="coerce").fillna(0).astype(float)
        else:
            continue
        total += adults * cats[ADULT]
    return total


@dataclass(frozen=True)
class Intake:
    """Daily dry-matter intake per kg of metabolic weight; the intake of one UO follows.

    Attributes
    ----------
    g_dm_per_kg_metabolic
        Intake per kg of metabolic body weight (BW^0.75), g DM/day. Default 50, the
        ad libitum intake of alpacas; 40 is maintenance (Chipa Guillén et al. 2023,
        Animals 13:3613). Budgets use ad libitum: what the herd will eat.
    reference_species, reference_weight_kg
        The animal the figure was measured on (an adult alpaca of 65 kg); only
        :attr:`kg_dm_per_head_day` uses them. The intake of one UO is that of the
        unit's own reference animal (:meth:`kg_dm_per_uo_day`).
    """

    g_dm_per_kg_metabolic: float = 50.0
    reference_species: str = ALPACA
    reference_weight_kg: float = BODY_WEIGHT_KG[ALPACA]

    def __post_init__(self) -> None:
        if not 10 <= self.g_dm_per_kg_metabolic <= 150:
            raise ParameterError(
                _(
                    "intake: {g_dm_per_kg_metabolic} g DM per kg BW^0.75 per day is outside "
                    "10-150. Alpacas eat about 40 (maintenance) to 50 (ad libitum)."
                ).format(g_dm_per_kg_metabolic=self.g_dm_per_kg_metabolic)
            )
        if not 5 <= self.reference_weight_kg <= 300:
            raise ParameterError(
                _(
                    "intake: reference body weight {reference_weight_kg} kg is outside 5-300."
                ).format(reference_weight_kg=self.reference_weight_kg)
            )

    @property
    def kg_dm_per_head_day(self) -> float:
        """Intake of the animal the figure was measured on, kg DM/day (65 kg alpaca: 1.145)."""
        return self.g_dm_per_kg_metabolic * self.reference_weight_kg**METABOLIC_EXPONENT / 1000.0

    def kg_dm_per_uo_day(self, units: AnimalUnits | None = None) -> float:
        """Intake of one UO, kg DM/day: the reference animal's intake over its UO.

        ``metabolic`` (sheep unit, 40 kg): 50 g x 40^0.75 / 1000 = 0.795 kg DM/UO/day, so
        an alpaca (1.439 UO) eats 1.145 kg and a llama (2.107 UO) 1.675 kg (default).
        ``sr-crsp``: 50 x 65^0.75 / 1000 / 1.0 = 1.145 kg; ``peru-tables``: 1.145 / 1.5 =
        0.763 kg.
        """
        units = units or AnimalUnits()
        head = self.g_dm_per_kg_metabolic * units.reference_weight_kg**METABOLIC_EXPONENT / 1000.0
        return head / units.uo(units.reference_species, ADULT)

    def kg_dm_per_uo_year(self, units: AnimalUnits | None = None) -> float:
        """Intake of one UO over 365 days, kg DM."""
        return 365.0 * self.kg_dm_per_uo_day(units)
