"""Herd registers in CSV and XLSX, with every bad cell named by its row."""

from __future__ import annotations

import pandas as pd
import pytest

from pastures.errors import InputFileError
from pastures.herds import check_herds, read_herds


def test_spanish_semicolon_csv(tmp_path):
    path = tmp_path / "padron.csv"
    path.write_text(
        "Familia;Comunidad;Corral;Alpacas;Llamas;Ovinos\nF1;Alfa;K1;40;5;30\nF2;Alfa;K1;;0;12\n",
        encoding="utf-8",
    )
    result = read_herds(path)
    assert result.problems == []
    assert result.frame["alpacas"].tolist() == [40, 0]  # an empty cell counts as none
    assert result.frame["sheep"].sum() == 42


def test_xlsx_register(tmp_path, herds):
    path = tmp_path / "padron.xlsx"
    herds.to_excel(path, index=False)
    result = read_herds(path)
    assert result.problems == []
    assert result.frame["alpacas"].sum() == 125


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("-4", "is negative"),
        ("2.5", "is not a whole number"),
        ("diez", "is not a number"),
        ('"1,5"', "is not a whole number"),
    ],
)
def test_bad_counts_name_the_row(tmp_path, cell, reason):
    path = tmp_path / "h.csv"
    path.write_text(
        f"family_id,community,corral_id,alpacas,llamas,sheep\n"
        f"F1,Alfa,K1,3,0,1\nF2,Alfa,K1,{cell},0,1\n"
    )
    (problem,) = read_herds(path).problems
    assert problem.rule == "bad-count"
    assert problem.feature == "row 3 (F2)"
    assert problem.field == "alpacas"
    assert reason in problem.message


def test_missing_column_and_duplicate_family(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(
        "family_id,community,corral_id,alpacas,llamas\nF1,Alfa,K1,3,0\nF1,Alfa,K1,2,0\n"
    )
    rules = sorted(p.rule for p in read_herds(path).problems)
    assert rules == ["duplicate-key", "missing-field"]


def test_herds_against_communities_and_corrals(herds, communities, corrals):
    bad = herds.copy()
    bad.loc[0, "community"] = "Gamma"
    bad.loc[1, "corral_id"] = "BET-C1"  # Beta's corral for an Alfa family
    bad.loc[2, "corral_id"] = "NONE"
    problems = check_herds(bad, communities=communities, corrals=corrals, source="h.csv")
    assert [(p.rule, p.feature) for p in problems] == [
        ("unknown-community", "row 2 (ALF-F1)"),
        ("corral-community", "row 3 (ALF-F2)"),
        ("unknown-corral", "row 4 (BET-F1)"),
    ]
    assert "corral 'BET-C1' belongs to 'Beta', not to 'Alfa'" in problems[1].message


def test_unreadable_register(tmp_path):
    path = tmp_path / "h.xlsx"
    path.write_bytes(b"not a workbook")
    with pytest.raises(InputFileError, match="h.xlsx: cannot be read as a table"):
        read_herds(path)


@pytest.mark.parametrize(
    ("cell", "rule", "severity", "kept"),
    [
        ("1e30", "implausible-count", "error", None),  # overflowed Int64 before
        ("10000000", "implausible-count", "error", None),  # ten million alpacas
        ("100001", "implausible-count", "error", None),
        ("100000", "implausible-count", "warning", 100_000),
        ("3001", "implausible-count", "warning", 3001),
        ("3000", None, None, 3000),
        ("nan", "bad-count", "error", None),
        ("-inf", "bad-count", "error", None),
    ],
)
def test_absurd_counts_are_errors_and_large_ones_warnings(tmp_path, cell, rule, severity, kept):
    path = tmp_path / "padron.csv"
    path.write_text(
        f"family_id,community,corral_id,alpacas,llamas,sheep\nF1,Alfa,C1,{cell},0,0\n",
        encoding="utf-8",
    )
    result = read_herds(path)
    found = [(p.rule, p.severity) for p in result.problems if p.field == "alpacas"]
    assert found == ([(rule, severity)] if rule else [])
    value = result.frame["alpacas"].iloc[0]
    assert (value is pd.NA and kept is None) or value == kept
