"""Herd registers: which family keeps how many alpacas, llamas and sheep, and where.

A register is a CSV or XLSX table with one row per family (or herd): an id, the
community, the home corral and the animal counts by species. Column names may be
in Spanish or English (see :data:`pastures.schema.COLUMN_ALIASES`).

Counts may also be split by category, one column per species and category of the
animal-unit table (:class:`pastures.animals.AnimalUnits`): ``alpaca_adults``,
``alpaca_tuis``, ``alpaca_crias``, ``llama_adults``, ``sheep_lambs`` ... (Spanish
spellings such as ``alpacas adultas``, ``tuis``, ``crías``, ``corderos`` are
accepted; ``tuis`` and ``crías`` alone mean alpacas). A species total (``alpacas``)
may sit beside its categories: it must then hold at least its young animals, and
the rest are adults. A register may also be long, one row per family, species and
category, with columns ``species`` (``especie``), ``category`` (``categoría``; empty
means adults) and ``count`` (``cantidad``). A ``working_group`` column (``grupo de
trabajo``, ``ayni``, ``minka``) is kept as text. Columns naming livestock that the animal-unit table
does not know (cattle, horses, an unknown category) are errors, so that no
animals are silently left out of a budget.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pastures import schema as S
from pastures.animals import ADULT, AnimalUnits, count_column, total_column
from pastures.columns import fold, match_columns
from pastures.errors import Problem
from pastures.i18n import _
from pastures.io import read_table

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HerdResult:
    """A normalised herd register and the problems found in it."""

    frame: pd.DataFrame
    problems: list[Problem]
    source: str


def _row_label(df: pd.DataFrame, pos: int) -> str:
    """Spreadsheet row (header is row 1) and family id, as a user finds it."""
    family = df.iloc[pos].get(S.FAMILY_ID)
    who = f" ({family})" if isinstance(family, str) and family else ""
    return _("row {n}").format(n=pos + 2) + who


def normalise_herds(
    table: pd.DataFrame, *, source: str, units: AnimalUnits | None = None
) -> HerdResult:
    """Rename columns to the schema and turn counts into whole numbers, reporting bad cells.

    Parameters
    ----------
    table
        The register as read, all cells as text.
    source
        File name for messages.
    units
        Animal-unit table whose species and categories are accepted as count columns
        (default: :class:`pastures.animals.AnimalUnits`).

    Returns
    -------
    HerdResult
        Counts are ``Int64``; bad cells are reported and left empty (<NA>). Species
        totals come first (:data:`pastures.schema.SPECIES_COLUMNS`), then, for each
        species counted by category, every category column of that species (adults
        worked out from the total when not given), then the working group.
    """
    problems: list[Problem] = []
    long = _long_to_wide(table, units or AnimalUnits(), source)
    if long is not None:
        table, problems = long
    mapping = match_columns([str(c) for c in table.columns], S.HERDS)
    out = pd.DataFrame(index=range(len(table)))
    for canon in S.LAYER_COLUMNS[S.HERDS]:
        if canon in mapping:
            out[canon] = table[mapping[canon]].astype("string").str.strip().to_numpy()
            out.loc[out[canon] == "", canon] = pd.NA
        else:
            out[canon] = pd.array([pd.NA] * len(table), dtype="string")
            if canon not in S.SPECIES_COLUMNS:
                problems.append(_missing_field(canon, source))
    for col in (S.FAMILY_ID, S.COMMUNITY, S.CORRAL_ID):
        if col not in mapping:
            continue
        for pos in np.flatnonzero(out[col].isna().to_numpy()):
            problems.append(
                Problem(
                    "error",
                    "missing-value",
                    _("no {col}. Fill it in.").format(col=col),
                    source=source,
                    feature=_row_label(out, int(pos)),
                    field=col,
                )
            )
    used = set(mapping.values())
    categories, group_col, column_problems = _category_columns(
        [str(c) for c in table.columns if str(c) not in used], units or AnimalUnits(), source
    )
    problems += column_problems
    counted = {total_column(species) for species, _, _ in categories}
    for col in S.SPECIES_COLUMNS:
        if col not in mapping and col not in counted:
            problems.append(_missing_field(col, source))
        cells = table[mapping[col]] if col in mapping else None
        out[col] = _counts(out, cells, col, source, problems)
    problems += _split_categories(
        out,
        table,
        categories,
        totals_given={c for c in S.SPECIES_COLUMNS if c in mapping},
        units=units or AnimalUnits(),
        source=source,
    )
    if group_col is not None:
        groups = table[group_col].astype("string").str.strip()
        out[S.WORKING_GROUP] = groups.mask(groups == "", pd.NA).to_numpy()
    from pastures.validation import check_duplicate_keys

    problems += check_duplicate_keys(out, S.HERDS, source=source)
    return HerdResult(out, problems, source)


#: Animals of one species in one register row above which the row is flagged (warning):
#: families of Juli keep tens to a few hundred head; a row above this is more likely a
#: typing slip (an extra zero) or a whole community's herd entered as one family.
WARN_COUNT_PER_ROW = 3_000
#: ... and above which it is an error: more than any community of Juli holds (Peru has
#: about 3.7 million alpacas in all, MIDAGRI 2012 census), and far beyond what integer
#: columns need to hold safely.
MAX_COUNT_PER_ROW = 100_000


def _parse_count(text: str) -> tuple[int, str, str]:
    """A register's count: (heads, "", "") or (0, the rule it breaks, why, in words)."""
    cleaned = text.replace(" ", "").replace("\u00a0", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        number = float(cleaned)
    except ValueError:
        return 0, "bad-count", _("'{text}' is not a number").format(text=text)
    if not np.isfinite(number):
        return 0, "bad-count", _("'{text}' is not a number").format(text=text)
    if number < 0:
        return 0, "bad-count", _("'{text}' is negative").format(text=text)
    if not number.is_integer():
        return 0, "bad-count", _("'{text}' is not a whole number").format(text=text)
    if number > MAX_COUNT_PER_ROW:
        return (
            0,
            "implausible-count",
            _(
                "'{text}' is more than {max:,} animals, more than any community of Juli "
                "keeps (a typing slip?)"
            ).format(text=text, max=MAX_COUNT_PER_ROW),
        )
    return int(number), "", ""


def _missing_field(canon: str, source: str) -> Problem:
    aliases = ", ".join(S.COLUMN_ALIASES.get(canon, (canon,)))
    return Problem(
        "error",
        "missing-field",
        _(
            "no column for '{canon}' (looked for: {aliases}). Add or rename the "
            "column in the spreadsheet."
        ).format(canon=canon, aliases=aliases),
        source=source,
        field=canon,
    )


def _counts(
    out: pd.DataFrame,
    cells: pd.Series | None,
    col: str,
    source: str,
    problems: list[Problem],
) -> pd.arrays.IntegerArray:
    """Whole counts of one column (empty cells are 0); bad cells reported and left <NA>."""
    counts = pd.array([pd.NA] * len(out), dtype="Int64")
    if cells is None:
        return counts
    for pos, raw in enumerate(cells.astype("string").str.strip()):
        if pd.isna(raw) or raw == "":
            counts[pos] = 0
            continue
        value, rule, reason = _parse_count(str(raw))
        if reason:
            problems.append(
                Problem(
                    "error",
                    rule,
                    _("{col}: {reason}. Write a whole number of animals, 0 if none.").format(
                        col=col, reason=reason
                    ),
                    source=source,
                    feature=_row_label(out, pos),
                    field=col,
                )
            )
            continue
        if value > WARN_COUNT_PER_ROW:
            problems.append(
                Problem(
                    "warning",
                    "implausible-count",
                    _(
                        "{col} {value:,} is unusually many for one family (more than "
                        "{warn_count_per_row:,}); check it is not a typing slip. Used as given."
                    ).format(col=col, value=value, warn_count_per_row=WARN_COUNT_PER_ROW),
                    source=source,
                    feature=_row_label(out, pos),
                    field=col,
                )
            )
        counts[pos] = value
    return counts


#: Words naming each species in register headings (folded: lower case, no accents).
SPECIES_WORDS: dict[str, tuple[str, ...]] = {
    "alpaca": ("alpaca", "alpacas", "paco", "pacos"),
    "llama": ("llama", "llamas"),
    "sheep": ("sheep", "ovino", "ovinos", "oveja", "ovejas"),
}
#: Words naming each category in register headings.
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "adult": ("adult", "adults", "adulto", "adultos", "adulta", "adultas", "mayor", "mayores"),
    "tui": ("tui", "tuis", "tuy", "tuys", "tuis"),
    "cria": ("cria", "crias"),
    "lamb": ("lamb", "lambs", "cordero", "corderos", "borrego", "borregos"),
}
#: Species meant by a category named alone ("tuis", "crías", "corderos").
LONE_CATEGORY_SPECIES: dict[str, str] = {"tui": "alpaca", "cria": "alpaca", "lamb": "sheep"}
#: Words that only pad a heading ("n_alpacas_adultas", "numero de crias").
FILLER_WORDS: frozenset[str] = frozenset(
    {"n", "nro", "no", "num", "numero", "de", "total", "head", "heads", "cabezas", "count"}
)
#: Livestock the default animal-unit table does not know: a column of them is an error.
OTHER_LIVESTOCK_WORDS: frozenset[str] = frozenset(
    {
        "vacuno", "vacunos", "vaca", "vacas", "cattle", "cow", "cows", "toro", "toros",
        "caballo", "caballos", "horse", "horses", "equino", "equinos", "burro", "burros",
        "asno", "asnos", "donkey", "donkeys", "cabra", "cabras", "caprino", "caprinos",
        "goat", "goats", "cerdo", "cerdos", "porcino", "porcinos", "pig", "pigs",
        "vicuna", "vicunas", "guanaco", "guanacos", "cuy", "cuyes",
    }
)  # fmt: skip
#: Headings of the optional working-group column (ayni and minka are reciprocal-work groups).
WORKING_GROUP_WORDS: frozenset[str] = frozenset(
    {"working_group", "work_group", "grupo", "grupo_trabajo", "grupo_de_trabajo", "ayni",
     "minka", "minca", "sector"}
)  # fmt: skip


def _category_columns(
    columns: list[str], units: AnimalUnits, source: str
) -> tuple[list[tuple[str, str, str]], str | None, list[Problem]]:
    """Find ``(species, category)`` count columns among the columns not yet matched.

    Returns ``(species, category, file column)`` triples, the working-group column,
    and problems for livestock or categories the table does not know.
    """
    species_words = {w: sp for sp, words in SPECIES_WORDS.items() for w in words}
    for sp in units.species:  # species added to the table by the user
        species_words.setdefault(sp, sp)
        species_words.setdefault(f"{sp}s", sp)
    category_words = {w: c for c, words in CATEGORY_WORDS.items() for w in words}
    for cats in units.table.values():
        for cat in cats:
            category_words.setdefault(cat, cat)
            category_words.setdefault(f"{cat}s", cat)
    found: list[tuple[str, str, str]] = []
    group: str | None = None
    problems: list[Problem] = []
    for name in columns:
        key = fold(name).replace(" ", "_")
        if key in WORKING_GROUP_WORDS and group is None:
            group = name
            continue
        words = [w for w in key.split("_") if w and w not in FILLER_WORDS]
        species = [species_words[w] for w in words if w in species_words]
        cats = [category_words[w] for w in words if w in category_words]
        other = [w for w in words if w not in species_words and w not in category_words]
        if any(w in OTHER_LIVESTOCK_WORDS for w in words) and not species:
            problems.append(
                Problem(
                    "error",
                    "unknown-species",
                    _(
                        "column '{name}' counts animals the animal-unit table does not know (it "
                        "knows: {value}). Remove the column, or add the species with its UO per "
                        "head to the parameters file."
                    ).format(name=name, value=", ".join(units.species)),
                    source=source,
                    field=name,
                )
            )
            continue
        if not species and len(cats) == 1 and cats[0] in LONE_CATEGORY_SPECIES:
            species = [LONE_CATEGORY_SPECIES[cats[0]]]  # "tuis" alone are young alpacas
        if not species:
            logger.info(_("%s: column '%s' is not a herd column; ignored"), source, name)
            continue
        sp = species[0]
        cat = cats[0] if len(cats) == 1 and not other else None
        if cat is None or cat not in units.table.get(sp, {}):
            known = ", ".join(count_column(sp, c) for c in units.table.get(sp, {}))
            problems.append(
                Problem(
                    "error",
                    "unknown-category",
                    _(
                        "column '{name}' names no category of {sp} the animal-unit table knows. "
                        "Rename it to one of: {known}."
                    ).format(name=name, sp=sp, known=known),
                    source=source,
                    field=name,
                )
            )
            continue
        found.append((sp, cat, name))
    return found, group, problems


def _split_categories(
    out: pd.DataFrame,
    table: pd.DataFrame,
    categories: list[tuple[str, str, str]],
    *,
    totals_given: set[str],
    units: AnimalUnits,
    source: str,
) -> list[Problem]:
    """Add every category column of the species counted by category; reconcile the totals.

    With an adults column, the species total becomes adults + young (a total in the
    file that disagrees is an error); without, adults = total - young (an error when
    negative); without a total either, there are no adults of unknown category.
    """
    problems: list[Problem] = []
    by_species: dict[str, dict[str, str]] = {}
    for sp, cat, name in categories:
        by_species.setdefault(sp, {})[cat] = name
    zeros = pd.Series(0, index=out.index, dtype="Int64")
    for sp, cats in by_species.items():
        total_col = total_column(sp)
        given = {
            cat: pd.Series(
                _counts(out, table[name], count_column(sp, cat), source, problems),
                index=out.index,
            )
            for cat, name in cats.items()
        }
        young = sum((v for c, v in given.items() if c != ADULT), start=zeros)
        total = (
            pd.Series(out[total_col], index=out.index, dtype="Int64")
            if (total_col in totals_given)
            else None
        )
        if ADULT in given:
            adults = given[ADULT]
            sums = adults + young
            if total is not None:
                bad = (total != sums).fillna(False)
                for pos in np.flatnonzero(bad.to_numpy()):
                    problems.append(
                        Problem(
                            "error",
                            "total-mismatch",
                            _(
                                "{total_col} {value} is not the sum of its categories ({value2}). "
                                "Correct the total or the categories, or delete the total column."
                            ).format(
                                total_col=total_col, value=total.iloc[pos], value2=sums.iloc[pos]
                            ),
                            source=source,
                            feature=_row_label(out, int(pos)),
                            field=total_col,
                        )
                    )
            out[total_col] = sums.to_numpy()
        elif total is not None:
            adults = total - young
            bad = (adults < 0).fillna(False)
            for pos in np.flatnonzero(bad.to_numpy()):
                problems.append(
                    Problem(
                        "error",
                        "total-mismatch",
                        _(
                            "{total_col} {value} is fewer than its young animals ({value2} in "
                            "{value3}). Correct the counts: the total includes the young."
                        ).format(
                            total_col=total_col,
                            value=total.iloc[pos],
                            value2=young.iloc[pos],
                            value3=", ".join(cats.values()),
                        ),
                        source=source,
                        feature=_row_label(out, int(pos)),
                        field=total_col,
                    )
                )
            adults = adults.mask(bad, pd.NA).astype("Int64")
        else:
            adults = zeros.copy()
            out[total_col] = young.to_numpy()
        for cat in units.table[sp]:
            values = adults if cat == ADULT else given.get(cat, zeros)
            out[count_column(sp, cat)] = pd.array(values.to_numpy(), dtype="Int64")
    return problems


#: Headings of the columns of a long register (one row per family, species and category).
LONG_SPECIES_WORDS: tuple[str, ...] = ("species", "especie", "especies", "animal", "ganado")
LONG_CATEGORY_WORDS: tuple[str, ...] = ("category", "categoria", "clase", "edad")
LONG_COUNT_WORDS: tuple[str, ...] = ("count", "cantidad", "number", "numero", "cabezas", "n")


@dataclass(frozen=True)
class _LongColumns:
    """Where the fields of a long register are, and how its words map to the table."""

    species: str
    category: str | None
    count: str
    ids: dict[str, str]
    group: str | None
    species_words: dict[str, str]
    category_words: dict[str, str]


def _long_columns(table: pd.DataFrame, units: AnimalUnits) -> _LongColumns | None:

    columns = [str(c) for c in table.columns]
    keyed = {fold(c).replace(" ", "_"): c for c in columns}

    def find(words: tuple[str, ...] | frozenset[str]) -> str | None:
        return next((keyed[w] for w in keyed if w in words), None)

    species, count = find(LONG_SPECIES_WORDS), find(LONG_COUNT_WORDS)
    if species is None or count is None:
        return None
    mapping = match_columns(columns, S.HERDS)
    species_words = {w: sp for sp, words in SPECIES_WORDS.items() for w in words}
    species_words.update({w: sp for sp in units.species for w in (sp, f"{sp}s")})
    category_words = {w: c for c, words in CATEGORY_WORDS.items() for w in words}
    for cats in units.table.values():
        category_words.update({w: c for c in cats for w in (c, f"{c}s")})
    return _LongColumns(
        species=species,
        category=find(LONG_CATEGORY_WORDS),
        count=count,
        ids={c: mapping[c] for c in (S.FAMILY_ID, S.COMMUNITY, S.CORRAL_ID) if c in mapping},
        group=find(WORKING_GROUP_WORDS),
        species_words=species_words,
        category_words=category_words,
    )


def _long_row(
    row: pd.Series, cols: _LongColumns, units: AnimalUnits
) -> tuple[tuple[str, str, int] | None, list[tuple[str, str, str]]]:
    """(species, category, count) of one long row, or None and (rule, field, message)."""
    sp_text = fold(str(row[cols.species])).replace(" ", "_")
    species = cols.species_words.get(sp_text)
    if species is None or species not in units.table:
        return None, [
            ("unknown-species", cols.species, _(
                "species '{value}' is not in the animal-unit table (it knows: {known}). "
                "Correct it, or add the species with its UO per head to the parameters file."
             ).format(value=row[cols.species], known=", ".join(units.species)))
        ]  # fmt: skip
    cat_text = fold(str(row[cols.category])).replace(" ", "_") if cols.category else ""
    category = cols.category_words.get(cat_text) if cat_text else ADULT
    if category is None or category not in units.table[species]:
        return None, [
            ("unknown-category", cols.category or "", _(
                "category '{value}' is not one of {species}: {known}. Correct it."
             ).format(value=row[cols.category], species=species,
                      known=", ".join(units.table[species])))
        ]  # fmt: skip
    text = str(row[cols.count]).strip()
    n, rule, reason = _parse_count(text) if text else (0, "", "")
    if reason:
        return None, [
            (rule, cols.count, _(
                "count: {reason}. Write a whole number of animals, 0 if none."
             ).format(reason=reason))
        ]  # fmt: skip
    return (species, category, n), []


def _long_to_wide(
    table: pd.DataFrame, units: AnimalUnits, source: str
) -> tuple[pd.DataFrame, list[Problem]] | None:
    """A long register turned wide (one row per family), or None if `table` is not long.

    Bad species, categories and counts are reported with the row of the long file;
    counts of the same family, species and category on several rows are added up.
    """
    cols = _long_columns(table, units)
    if cols is None:
        return None
    problems: list[Problem] = []
    families: dict[str, dict[str, str]] = {}
    counts: dict[str, dict[tuple[str, str], int]] = {}
    for pos in range(len(table)):
        row = table.iloc[pos]
        family = str(row[cols.ids[S.FAMILY_ID]]).strip() if S.FAMILY_ID in cols.ids else ""
        where = _("row {n}").format(n=pos + 2) + (f" ({family})" if family else "")
        parsed, why = _long_row(row, cols, units)
        if not family:
            why.insert(
                0,
                ("missing-value", S.FAMILY_ID, _("no {col}. Fill it in.").format(col=S.FAMILY_ID)),
            )
        info = families.setdefault(family, {}) if family else {}
        for col in (S.COMMUNITY, S.CORRAL_ID):
            value = str(row[cols.ids[col]]).strip() if col in cols.ids else ""
            if value and info.setdefault(col, value) != value:
                why.append(
                    ("family-conflict", col, _(
                        "{col} '{value}' differs from '{earlier}' on an earlier row of family "
                        "{family}. Give one {col} per family."
                     ).format(col=col, value=value, earlier=info[col], family=family))
                )  # fmt: skip
        if cols.group is not None and str(row[cols.group]).strip():
            info.setdefault(S.WORKING_GROUP, str(row[cols.group]).strip())
        problems += [Problem("error", r, m, source=source, feature=where, field=f)
                     for r, f, m in why]  # fmt: skip
        if parsed is not None and family:
            species, category, n = parsed
            mine = counts.setdefault(family, {})
            mine[species, category] = mine.get((species, category), 0) + n
    return _wide_register(families, counts, units, with_group=cols.group is not None), problems


def _wide_register(
    families: dict[str, dict[str, str]],
    counts: dict[str, dict[tuple[str, str], int]],
    units: AnimalUnits,
    *,
    with_group: bool,
) -> pd.DataFrame:
    """One row per family: ids, then a count column per species and category seen."""
    seen = {key for c in counts.values() for key in c}
    wide_cols: list[tuple[str, str]] = []
    for sp, cats in units.table.items():
        mine = [(sp, c) for c in cats if (sp, c) in seen]
        if mine:
            wide_cols += mine
        elif total_column(sp) in S.SPECIES_COLUMNS:
            wide_cols.append((sp, ""))  # species absent: a zero total
    rows = []
    for family, info in families.items():
        out = {S.FAMILY_ID: family, S.COMMUNITY: info.get(S.COMMUNITY, ""),
               S.CORRAL_ID: info.get(S.CORRAL_ID, "")}  # fmt: skip
        if with_group:
            out[S.WORKING_GROUP] = info.get(S.WORKING_GROUP, "")
        for sp, cat in wide_cols:
            name = count_column(sp, cat) if cat else total_column(sp)
            out[name] = str(counts.get(family, {}).get((sp, cat), 0))
        rows.append(out)
    return pd.DataFrame(rows, dtype=str)


def read_herds(
    path: str | os.PathLike[str],
    *,
    sheet: str | int | None = None,
    units: AnimalUnits | None = None,
) -> HerdResult:
    """Read a herd register from CSV or XLSX and normalise it.

    Parameters
    ----------
    path
        CSV (comma, semicolon or tab separated; UTF-8 or Latin-1) or XLSX file.
    sheet
        Sheet of an XLSX workbook (default: the first).
    units
        Animal-unit table whose species and categories may be count columns.

    Raises
    ------
    InputFileError
        The file is missing or cannot be read as a table.
    """
    table = read_table(path, sheet=sheet)
    return normalise_herds(table, source=str(path), units=units)


def check_herds(
    herds: pd.DataFrame,
    *,
    communities: pd.DataFrame | None,
    corrals: pd.DataFrame | None,
    source: str,
) -> list[Problem]:
    """Check that every family's community and corral exist and agree.

    Parameters
    ----------
    herds
        Normalised register.
    communities
        Communities layer, or None to skip the community check.
    corrals
        Corrals layer, or None to skip the corral checks.
    source
        File name for messages.
    """
    problems: list[Problem] = []
    known = set(communities[S.COMMUNITY].dropna()) if communities is not None else None
    corral_home = (
        dict(zip(corrals[S.CORRAL_ID], corrals[S.COMMUNITY], strict=True))
        if corrals is not None
        else None
    )
    for pos in range(len(herds)):
        row = herds.iloc[pos]
        label = _row_label(herds, pos)
        com, corral = row[S.COMMUNITY], row[S.CORRAL_ID]
        com_known = known is None or com in known
        if not com_known and isinstance(com, str):
            problems.append(
                Problem(
                    "error",
                    "unknown-community",
                    _(
                        "community '{com}' is not in the communities layer (known: {value}). "
                        "Correct the spelling."
                    ).format(com=com, value=", ".join(sorted(known))),
                    source=source,
                    feature=label,
                    field=S.COMMUNITY,
                )
            )
        if corral_home is not None and isinstance(corral, str):
            if corral not in corral_home:
                problems.append(
                    Problem(
                        "error",
                        "unknown-corral",
                        _(
                            "corral '{corral}' is not in the corrals layer. Correct the id or add "
                            "the corral to the corrals layer."
                        ).format(corral=corral),
                        source=source,
                        feature=label,
                        field=S.CORRAL_ID,
                    )
                )
            elif com_known and isinstance(com, str) and corral_home[corral] != com:
                problems.append(
                    Problem(
                        "error",
                        "corral-community",
                        _(
                            "corral '{corral}' belongs to '{value}', not to '{com}'. Correct the "
                            "family's community or its corral."
                        ).format(corral=corral, value=corral_home[corral], com=com),
                        source=source,
                        feature=label,
                        field=S.CORRAL_ID,
                    )
                )
    return problems
