"""The data dictionary (docs/columns.md): every CSV column in English and Spanish, with unit.

Column names stay identifiers in every language; the dictionary says what each means.
Built from schema.COLUMN_LABELS by scripts/columns_doc.py; the columns of the demo's
tables are checked against it in test_language_outputs.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from pastures import i18n
from pastures import schema as S
from pastures.rotation.deficit import DEFICIT_COLUMNS
from pastures.rotation.outputs import GROUP_SCHEDULE_COLUMNS

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location(
        "columns_doc", ROOT / "scripts" / "columns_doc.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_docs_columns_md_is_up_to_date():
    """After changing COLUMN_LABELS or the catalog: python scripts/columns_doc.py."""
    script = _script()
    assert script.DOC.read_text(encoding="utf-8") == script.render()


def test_every_label_and_unit_has_a_spanish_translation():
    catalog = i18n.translator("es")._catalog  # type: ignore[attr-defined]
    missing = [
        text
        for label, unit in S.COLUMN_LABELS.values()
        for text in (label, unit)
        if text and text not in catalog and text not in {"ha", "UO", "%", "m", "kg"}
    ]
    assert missing == []


@pytest.mark.parametrize(
    "columns",
    [
        S.SUMMARY_COLUMNS,
        S.RISK_COLUMNS,
        S.ZONAL_COLUMNS,
        S.PRACTICE_COLUMNS,
        DEFICIT_COLUMNS,
        GROUP_SCHEDULE_COLUMNS,
    ],
)
def test_the_schemas_tables_are_documented(columns):
    assert [c for c in columns if c not in S.COLUMN_LABELS] == []
