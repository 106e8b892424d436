"""Animal units, intake per UO and herd registers by category, against hand-worked values."""

from __future__ import annotations

import pandas as pd
import pytest

from pastures.animals import AnimalUnits, Intake, herd_animal_units
from pastures.errors import ParameterError
from pastures.herds import read_herds


def test_default_table_is_metabolic_with_young_after_cuellar():
    # 1 UO = adult sheep of 40 kg; by metabolic weight alpaca (65/40)^0.75 = 1.625^0.75
    # = 1.4393, llama (108/40)^0.75 = 2.7^0.75 = 2.1063
    units = AnimalUnits()
    assert units.reference_species == "sheep"
    assert units.reference_weight_kg == 40.0
    assert units.uo("alpaca") == pytest.approx(1.4393, abs=1e-4)
    assert units.uo("llama") == pytest.approx(2.1063, abs=1e-4)
    assert units.uo("sheep") == 1.0
    assert units.uo("alpaca", "tui") == pytest.approx(1.1514, abs=1e-4)  # 1.4393 x 0.8
    assert units.uo("alpaca", "cria") == pytest.approx(0.5757, abs=1e-4)  # 1.4393 x 0.4
    assert units.uo("llama", "tui") == pytest.approx(1.6851, abs=1e-4)  # 2.1063 x 0.8
    assert units.uo("sheep", "lamb") == pytest.approx(0.4)  # 1.0 x 0.4
    assert "adult sheep of 40 kg" in units.source


def test_sr_crsp_stays_available_as_an_alpaca_unit():
    units = AnimalUnits.preset("sr-crsp")
    assert units.reference_species == "alpaca"
    assert units.uo("alpaca") == 1.0
    assert units.uo("llama") == 1.5
    assert units.uo("sheep") == 1.0
    assert units.uo("alpaca", "tui") == pytest.approx(0.8)  # 1.0 x 0.8
    assert units.uo("alpaca", "cria") == pytest.approx(0.4)  # 1.0 x 0.4
    assert units.uo("llama", "tui") == pytest.approx(1.2)  # 1.5 x 0.8
    assert units.uo("sheep", "lamb") == pytest.approx(0.4)


def test_peruvian_tables_and_overrides():
    units = AnimalUnits.preset("peru-tables", overrides={"llama": {"adult": 2.0}})
    assert units.uo("alpaca") == 1.5
    assert units.uo("alpaca", "tui") == pytest.approx(1.2)  # 1.5 x 0.8
    assert units.uo("llama") == 2.0
    assert "user overrides" in units.source


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: AnimalUnits.preset("fao"), "unknown convention 'fao'"),
        (lambda: AnimalUnits(table={"alpaca": {"tui": 0.8}}), "has no 'adult' category"),
        (lambda: AnimalUnits(table={"alpaca": {"adult": -1.0}}), "alpaca/adult = -1.0"),
        (lambda: AnimalUnits().uo("cattle"), "no species 'cattle'"),
        (lambda: AnimalUnits().uo("alpaca", "macho"), "no category 'macho'"),
        (lambda: Intake(g_dm_per_kg_metabolic=500), "outside 10-150"),
    ],
)
def test_impossible_parameters(make, match):
    with pytest.raises(ParameterError, match=match):
        make()


def test_intake_per_uo_from_alpaca_metabolic_weight():
    # 65^0.75 = 22.892; x 50 g / 1000 = 1.1446 kg DM per alpaca per day (DOMAIN: 0.9-1.2)
    intake = Intake()
    assert intake.kg_dm_per_head_day == pytest.approx(1.1446, abs=1e-4)
    # default (metabolic): 1 UO is a 40 kg sheep, 40^0.75 = 15.906; x 50 g / 1000
    # = 0.7953 kg DM/UO/day, x 365 = 290.27 kg/yr
    assert intake.kg_dm_per_uo_day() == pytest.approx(0.7953, abs=1e-4)
    assert intake.kg_dm_per_uo_year() == pytest.approx(290.27, abs=0.01)
    # SR-CRSP: 1 alpaca = 1 UO, so 1 UO eats 1.1446 kg/day = 417.78 kg/yr
    sr_crsp = AnimalUnits.preset("sr-crsp")
    assert intake.kg_dm_per_uo_day(sr_crsp) == pytest.approx(1.1446, abs=1e-4)
    assert intake.kg_dm_per_uo_year(sr_crsp) == pytest.approx(417.78, abs=0.01)
    # Peruvian tables: 1 alpaca = 1.5 UO, so 1 UO eats 1.1446 / 1.5 = 0.7631 kg/day
    assert intake.kg_dm_per_uo_day(AnimalUnits.preset("peru-tables")) == pytest.approx(
        0.7631, abs=1e-4
    )
    # maintenance, 40 g: 40 x 22.892 / 1000 = 0.9157 kg/day
    assert Intake(g_dm_per_kg_metabolic=40).kg_dm_per_head_day == pytest.approx(0.9157, abs=1e-4)


def test_herd_units_of_the_fixture_register(herds):
    # default (metabolic), alpaca 1.43926, llama 2.10631, sheep 1:
    # ALF-F1: 40 x 1.43926 + 5 x 2.10631 + 30 = 57.570 + 10.532 + 30 = 98.102
    # ALF-F2: 25 x 1.43926 + 12 = 35.982 + 12 = 47.982
    # BET-F1: 60 x 1.43926 + 8 x 2.10631 = 86.356 + 16.850 = 103.206
    assert herd_animal_units(herds).tolist() == pytest.approx([98.102, 47.982, 103.206], abs=1e-3)
    # SR-CRSP: ALF-F1: 40 x 1.0 + 5 x 1.5 + 30 x 1.0 = 77.5; ALF-F2: 25 + 0 + 12 = 37;
    # BET-F1: 60 + 12 = 72
    sr_crsp = herd_animal_units(herds, AnimalUnits.preset("sr-crsp"))
    assert sr_crsp.tolist() == pytest.approx([77.5, 37.0, 72.0])
    # Peruvian tables: ALF-F1: 40 x 1.5 + 5 x 1.8 + 30 = 99
    peru = herd_animal_units(herds, AnimalUnits.preset("peru-tables"))
    assert peru.iloc[0] == pytest.approx(99.0)


def test_register_by_category(tmp_path):
    path = tmp_path / "padron.csv"
    path.write_text(
        "Familia;Comunidad;Corral;Alpacas;Tuis;Crías;Llamas;Ovinos;Corderos;Grupo de trabajo\n"
        "F1;Alfa;K1;40;10;5;5;30;4;ayni 1\n"
        "F2;Alfa;K1;12;;2;0;0;0;\n",
        encoding="utf-8",
    )
    result = read_herds(path)
    assert result.problems == []
    frame = result.frame
    assert frame["alpaca_adults"].tolist() == [25, 10]  # total minus tuis and crías
    assert frame["alpaca_tuis"].tolist() == [10, 0]
    assert frame["sheep_adults"].tolist() == [26, 0]
    assert frame["working_group"].iloc[0] == "ayni 1"
    # SR-CRSP (alpaca unit, pinned so the category arithmetic stays simple):
    # F1: 25 x 1.0 + 10 x 0.8 + 5 x 0.4 + 5 x 1.5 + 26 x 1.0 + 4 x 0.4 = 70.1
    # F2: 10 x 1.0 + 2 x 0.4 = 10.8
    sr_crsp = AnimalUnits.preset("sr-crsp")
    assert herd_animal_units(frame, sr_crsp).tolist() == pytest.approx([70.1, 10.8])


def test_register_with_adult_columns_and_no_totals(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(
        "family_id,community,corral_id,alpaca_adults,alpaca_tuis,llamas,sheep\n"
        "F1,Alfa,K1,20,5,0,3\n"
    )
    result = read_herds(path)
    assert result.problems == []
    assert result.frame["alpacas"].tolist() == [25]  # the total is the sum of categories
    sr_crsp = AnimalUnits.preset("sr-crsp")
    # SR-CRSP: 20 x 1.0 + 5 x 0.8 + 3 x 1.0 = 27
    assert herd_animal_units(result.frame, sr_crsp).tolist() == pytest.approx([27.0])


def test_bad_registers_name_row_field_and_fix(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(
        "family_id,community,corral_id,alpacas,alpaca_adults,tuis,llamas,sheep,vacunos,"
        "alpaca_machos\n"
        "F1,Alfa,K1,40,30,10,0,1.5,2,1\n"
        "F2,Alfa,K1,10,5,2,x,0,0,0\n"
    )
    problems = read_herds(path).problems
    found = sorted((p.rule, p.feature, p.field) for p in problems)
    assert found == [
        ("bad-count", "row 2 (F1)", "sheep"),
        ("bad-count", "row 3 (F2)", "llamas"),
        ("total-mismatch", "row 3 (F2)", "alpacas"),
        ("unknown-category", "", "alpaca_machos"),
        ("unknown-species", "", "vacunos"),
    ]
    by_rule = {p.rule: p for p in problems}
    assert "alpacas 10 is not the sum of its categories (7)" in by_rule["total-mismatch"].message
    assert "Rename it to one of: alpaca_adults, alpaca_tuis" in by_rule["unknown-category"].message
    assert "add the species with its UO per head" in by_rule["unknown-species"].message


def test_user_species_is_accepted_once_in_the_table(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("family_id,community,corral_id,alpacas,llamas,sheep,cattle_adults\n"
                    "F1,Alfa,K1,1,0,0,2\n")  # fmt: skip
    units = AnimalUnits.preset("sr-crsp", overrides={"cattle": {"adult": 5.0}})
    result = read_herds(path, units=units)
    assert result.problems == []
    assert herd_animal_units(result.frame, units).tolist() == [11.0]  # 1 x 1.0 + 2 x 5


def test_empty_register_has_no_units():
    assert herd_animal_units(pd.DataFrame({"alpacas": []})).tolist() == []


def test_long_register_one_row_per_species_and_category(tmp_path):
    path = tmp_path / "padron_largo.csv"
    path.write_text(
        "familia,comunidad,corral,especie,categoria,cantidad,grupo\n"
        "F1,Alfa,ALF-C1,alpaca,adultos,25,ayni 1\n"
        "F1,Alfa,ALF-C1,alpaca,tuis,10,\n"
        "F1,Alfa,ALF-C1,Llamas,,5,\n"
        "F1,Alfa,ALF-C1,ovinos,corderos,4,\n"
        "F2,Alfa,ALF-C1,alpaca,,7,\n"
        "F2,Alfa,ALF-C1,alpaca,,5,\n",
        encoding="utf-8",
    )
    result = read_herds(path)
    assert result.problems == []
    frame = result.frame.set_index("family_id")
    assert frame.loc["F1", "alpacas"] == 35
    assert frame.loc["F2", "alpaca_adults"] == 12  # two rows of the same kind add up
    assert frame.loc["F1", "working_group"] == "ayni 1"
    # SR-CRSP: F1: 25 x 1.0 + 10 x 0.8 + 5 x 1.5 + 4 x 0.4 = 42.1; F2: 12 x 1.0
    sr_crsp = AnimalUnits.preset("sr-crsp")
    assert herd_animal_units(result.frame, sr_crsp).tolist() == pytest.approx([42.1, 12.0])


def test_long_register_errors_name_the_row(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(
        "family_id,community,corral_id,species,category,count\n"
        "F1,Alfa,ALF-C1,alpaca,adult,3\n"
        "F1,Beta,ALF-C1,vicuña,,3\n"
        "F2,Alfa,ALF-C1,alpaca,machos,3\n"
        "F2,Alfa,ALF-C1,sheep,,tres\n"
        ",Alfa,ALF-C1,alpaca,,3\n",
        encoding="utf-8",
    )
    problems = read_herds(path).problems
    assert [(p.rule, p.feature) for p in problems] == [
        ("unknown-species", "row 3 (F1)"),
        ("family-conflict", "row 3 (F1)"),
        ("unknown-category", "row 4 (F2)"),
        ("bad-count", "row 5 (F2)"),
        ("missing-value", "row 6"),
    ]
    assert "category 'machos' is not one of alpaca: adult, tui, cria" in problems[2].message


def test_metabolic_preset_one_reference_animal():
    # the UO is a 40 kg sheep: (65/40)^0.75 = 1.4393 UO per alpaca, (108/40)^0.75 = 2.1063
    units = AnimalUnits.preset("metabolic")
    assert units.reference_species == "sheep"
    assert units.reference_weight_kg == 40.0
    assert units.uo("alpaca") == pytest.approx(1.4393, abs=1e-4)
    assert units.uo("llama") == pytest.approx(2.1063, abs=1e-4)
    assert units.uo("sheep") == 1.0
    # intake of one UO is the sheep's: 50 g x 40^0.75 (= 15.906) / 1000 = 0.7953 kg DM/day
    per_uo = Intake().kg_dm_per_uo_day(units)
    assert per_uo == pytest.approx(0.7953, abs=1e-4)
    # an alpaca eats the same under either convention: 1.4393 x 0.7953 = 1.1446 kg,
    # one SR-CRSP unit
    sr_crsp = Intake().kg_dm_per_uo_day(AnimalUnits.preset("sr-crsp"))
    assert sr_crsp == pytest.approx(1.1446, abs=1e-4)
    assert units.uo("alpaca") * per_uo == pytest.approx(sr_crsp, rel=1e-9)
    # ... but a sheep eats 0.7953 kg, not the 1.1446 SR-CRSP charges it (1.1446 / 0.7953
    # = 1.439: 44 % more)
    assert sr_crsp / per_uo == pytest.approx(1.4393, abs=1e-4)


def test_planner_takes_units_and_intake_from_the_forage_parameters(project_files):
    from pastures.forage import ForageParams
    from pastures.layers import load_project
    from pastures.rotation import rotation_inputs_from_project

    project = load_project(**{k: str(v) for k, v in project_files.items()})
    params = ForageParams(units=AnimalUnits.preset("metabolic"))
    inputs = rotation_inputs_from_project(project, forage_params=params, n_periods=2)
    assert inputs.intake_kg_per_uo_day == pytest.approx(0.7953, abs=1e-4)
    # ALF-F1 + ALF-F2 (one corral): 65 alpacas x 1.4393 + 5 llamas x 2.1063 + 42 sheep
    alfa = sum(h.uo for h in inputs.herds if h.community == "Alfa")
    assert alfa == pytest.approx(65 * (65 / 40) ** 0.75 + 5 * (108 / 40) ** 0.75 + 42, abs=0.02)
