"""Matching what user files call things to the schema: column names, community names.

Shared by :mod:`pastures.layers` (vector layers) and :mod:`pastures.herds` (the herd
register), which both read user files; keeping it here lets ``layers`` import
``herds`` without either importing the other inside functions.
"""

from __future__ import annotations

import unicodedata

from pastures import schema as S


def fold(text: str) -> str:
    """Lower-case, accent-free, single-spaced form of `text`, for matching names."""
    nfkd = unicodedata.normalize("NFKD", str(text))
    plain = "".join(c for c in nfkd if not unicodedata.combining(c))
    return " ".join(plain.lower().replace("_", " ").replace("-", " ").split())


def _column_key(name: str) -> str:
    return fold(name).replace(" ", "_")


#: Longest field name a Shapefile (dBASE) can hold; longer names are cut when written.
DBF_NAME_LENGTH = 10


def match_columns(
    columns: list[str], kind: str, *, empty: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Map schema column -> file column for a layer kind, using :data:`schema.COLUMN_ALIASES`.

    Matching ignores case, accents, spaces and hyphens; each file column is used once.
    Columns listed in `empty` (no value in any row, like the many unused fields of a GPX
    file) are taken only when no other alias matches.
    """
    keyed = {_column_key(c): c for c in columns if c != "geometry"}
    used: set[str] = set()
    mapping: dict[str, str] = {}
    for canon in S.LAYER_COLUMNS[kind]:
        keys = [_column_key(alias) for alias in S.COLUMN_ALIASES.get(canon, (canon,))]
        # a Shapefile (DBF) cuts field names to 10 characters: pasture_type -> pasture_ty
        keys += [k[:DBF_NAME_LENGTH] for k in keys if len(k) > DBF_NAME_LENGTH]
        found = [keyed[k] for k in keys if k in keyed and keyed[k] not in used]
        filled = [c for c in found if c not in empty]
        if filled or found:
            mapping[canon] = (filled or found)[0]
            used.add(mapping[canon])
    return mapping
