"""Grazing groups of whole animals from a herd register, worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from pastures.errors import ParameterError
from pastures.rotation.groups import grazing_groups, groups_table

ALPACA_UO = (65 / 40) ** 0.75  # metabolic weight against the 40 kg sheep (DOMAIN.md)
LLAMA_UO = (108 / 40) ** 0.75


def register() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "family_id": ["F1", "F2", "F3"],
            "community": ["A", "A", "A"],
            "corral_id": ["K1", "K1", "K2"],
            "alpacas": [100, 120, 8],
            "llamas": [5, 3, 0],
            "sheep": [0, 30, 6],
        }
    )


def test_groups_by_corral_and_species_split_into_whole_subgroups():
    groups = {g.group_id: g for g in grazing_groups(register(), max_heads=150)}
    # K1: 220 alpacas (two sub-groups of 110) with its 8 llamas (fewer than 10: they go
    # with the largest species, 4 and 4), and 30 sheep on their own; K2: 8 alpacas and
    # 6 sheep, each too few, are the corral's one group of 14
    assert sorted(groups) == ["K1-MIX-1", "K1-MIX-2", "K1-OVI", "K2-MIX"]
    assert groups["K1-MIX-1"].heads == (110, 4, 0)
    assert groups["K1-MIX-2"].heads == (110, 4, 0)
    assert groups["K1-OVI"].heads == (0, 0, 30)
    assert groups["K2-MIX"].heads == (8, 0, 6)
    # families dealt in register order: F1's 100 alpacas and 4 of its 5 llamas first
    assert groups["K1-MIX-1"].families == (("F1", 100, 4, 0), ("F2", 10, 0, 0))
    assert groups["K1-MIX-2"].families == (("F1", 0, 1, 0), ("F2", 110, 3, 0))
    assert groups["K1-MIX-1"].uo == pytest.approx(110 * ALPACA_UO + 4 * LLAMA_UO, abs=0.01)
    assert groups["K1-OVI"].uo == 30.0


def test_groups_table_adds_up_to_the_register():
    reg = register()
    table = groups_table(grazing_groups(reg, max_heads=150))
    assert list(table.columns) == [
        "group_id", "community", "corral_id", "family_id", "alpacas", "llamas", "sheep",
    ]  # fmt: skip
    for col in ("alpacas", "llamas", "sheep"):
        assert table[col].sum() == reg[col].sum()
        per_family = table.groupby("family_id")[col].sum()
        assert per_family.to_dict() == reg.set_index("family_id")[col].to_dict()


def test_no_subgroup_below_the_minimum():
    reg = register()
    # K1 with at least 50 a group: its 8 llamas and 30 sheep go with the 220 alpacas;
    # 258 heads at most 80 a group: 4 groups, 55 alpacas, 2 llamas and 7 or 8 sheep each
    k1 = [g for g in grazing_groups(reg, min_heads=50, max_heads=80) if g.corral_id == "K1"]
    assert [g.heads for g in k1] == [(55, 2, 8), (55, 2, 8), (55, 2, 7), (55, 2, 7)]
    assert [g.group_id for g in k1] == ["K1-MIX-1", "K1-MIX-2", "K1-MIX-3", "K1-MIX-4"]
    # at most and at least 150: two groups of 110 would be too small, so one of 220
    first = next(iter(grazing_groups(reg, min_heads=150, max_heads=150)))
    assert first.heads[0] == 220


def test_bad_sizes_are_refused():
    with pytest.raises(ParameterError, match="minimum 20 and maximum 10"):
        grazing_groups(register(), min_heads=20, max_heads=10)


def test_register_by_category_keeps_young_stock_apart():
    # the normalised register counts alpacas by category: mothers with their crías in one
    # group, the 40 tuis in another; UO by category (tui 0.8, cría 0.4 of an adult)
    reg = pd.DataFrame(
        {
            "family_id": ["F1", "F2"],
            "community": ["A", "A"],
            "corral_id": ["K1", "K1"],
            "alpacas": [90, 60],
            "alpaca_adults": [50, 30],
            "alpaca_tuis": [25, 15],
            "alpaca_crias": [15, 15],
            "llamas": [0, 0],
            "sheep": [0, 0],
        }
    )
    groups = {g.group_id: g for g in grazing_groups(reg)}
    assert sorted(groups) == ["K1-ALP", "K1-ALP-TUI"]
    assert groups["K1-ALP"].heads == (110, 0, 0)
    assert groups["K1-ALP-TUI"].heads == (40, 0, 0)
    assert groups["K1-ALP"].uo == pytest.approx((80 + 0.4 * 30) * ALPACA_UO, abs=0.01)
    assert groups["K1-ALP-TUI"].uo == pytest.approx(40 * 0.8 * ALPACA_UO, abs=0.01)
    table = groups_table(tuple(groups.values()))
    assert table.groupby("family_id")["alpacas"].sum().to_dict() == {"F1": 90, "F2": 60}
