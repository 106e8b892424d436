"""Herd registers: which family keeps how many alpacas, llamas and sheep, and where.

A register is a CSV or XLSX table with one row per family (or herd): an id, the
community, the home corral and the animal counts by species. Column names may be
in Spanish or English (see :data:`pastures.schema.COLUMN_ALIASES`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pastures import schema as S
from pastures.errors import Problem
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
    return f"row {pos + 2}{who}"


def normalise_herds(table: pd.DataFrame, *, source: str) -> HerdResult:
    """Rename columns to the schema and turn counts into whole numbers, reporting bad cells.

    Parameters
    ----------
    table
        The register as read, all cells as text.
    source
        File name for messages.

    Returns
    -------
    HerdResult
        Counts are ``Int64``; bad cells are reported and left empty (<NA>).
    """
    from pastures.layers import match_columns

    problems: list[Problem] = []
    mapping = match_columns([str(c) for c in table.columns], S.HERDS)
    out = pd.DataFrame(index=range(len(table)))
    for canon in S.LAYER_COLUMNS[S.HERDS]:
        if canon in mapping:
            out[canon] = table[mapping[canon]].astype("string").str.strip().to_numpy()
            out.loc[out[canon] == "", canon] = pd.NA
        else:
            out[canon] = pd.array([pd.NA] * len(table), dtype="string")
            aliases = ", ".join(S.COLUMN_ALIASES.get(canon, (canon,)))
            problems.append(
                Problem(
                    "error",
                    "missing-field",
                    f"no column for '{canon}' (looked for: {aliases}). Add or rename the "
                    "column in the spreadsheet.",
                    source=source,
                    field=canon,
                )
            )
    for col in (S.FAMILY_ID, S.COMMUNITY, S.CORRAL_ID):
        if col not in mapping:
            continue
        for pos in np.flatnonzero(out[col].isna().to_numpy()):
            problems.append(
                Problem(
                    "error",
                    "missing-value",
                    f"no {col}. Fill it in.",
                    source=source,
                    feature=_row_label(out, int(pos)),
                    field=col,
                )
            )
    for col in S.SPECIES_COLUMNS:
        counts = pd.array([pd.NA] * len(out), dtype="Int64")
        if col in mapping:
            for pos, text in enumerate(out[col]):
                if pd.isna(text):
                    counts[pos] = 0
                    continue
                value, reason = _parse_count(str(text))
                if reason:
                    problems.append(
                        Problem(
                            "error",
                            "bad-count",
                            f"{col} '{text}' {reason}. Write a whole number of animals, 0 if none.",
                            source=source,
                            feature=_row_label(out, pos),
                            field=col,
                        )
                    )
                else:
                    counts[pos] = value
        out[col] = counts
    from pastures.validation import check_duplicate_keys

    problems += check_duplicate_keys(out, S.HERDS, source=source)
    return HerdResult(out, problems, source)


def _parse_count(text: str) -> tuple[int, str]:
    cleaned = text.replace(" ", "").replace("\u00a0", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        number = float(cleaned)
    except ValueError:
        return 0, "is not a number"
    if not np.isfinite(number):
        return 0, "is not a number"
    if number < 0:
        return 0, "is negative"
    if not number.is_integer():
        return 0, "is not a whole number"
    return int(number), ""


def read_herds(path: str | os.PathLike[str], *, sheet: str | int | None = None) -> HerdResult:
    """Read a herd register from CSV or XLSX and normalise it.

    Parameters
    ----------
    path
        CSV (comma, semicolon or tab separated; UTF-8 or Latin-1) or XLSX file.
    sheet
        Sheet of an XLSX workbook (default: the first).

    Raises
    ------
    InputFileError
        The file is missing or cannot be read as a table.
    """
    table = read_table(path, sheet=sheet)
    return normalise_herds(table, source=str(path))


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
                    f"community '{com}' is not in the communities layer (known: "
                    f"{', '.join(sorted(known))}). Correct the spelling.",
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
                        f"corral '{corral}' is not in the corrals layer. Correct the id or "
                        "add the corral to the corrals layer.",
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
                        f"corral '{corral}' belongs to '{corral_home[corral]}', not to "
                        f"'{com}'. Correct the family's community or its corral.",
                        source=source,
                        feature=label,
                        field=S.CORRAL_ID,
                    )
                )
    return problems
