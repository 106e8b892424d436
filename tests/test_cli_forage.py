"""``pastures forage`` through its real entry point."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from pastures import schema as S
from pastures.cli import main


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def files_args(project_files) -> list[str]:
    return [f"--{k}={v}" for k, v in project_files.items()]


def index_csv(path, rows) -> str:
    out = []
    for code, date, value in rows:
        out.append((code, date, "ndvi", S.STAT_MEAN, value))
        out.append((code, date, "ndvi", S.STAT_VALID_FRACTION, 1.0))
    pd.DataFrame(out, columns=list(S.ZONAL_COLUMNS)).to_csv(path, index=False)
    return str(path)


def test_forage_from_pasture_type_defaults(runner, tmp_path, project_files):
    out = tmp_path / "out"
    result = runner.invoke(main, ["forage", *files_args(project_files), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "TOTAL" in result.output
    assert "Dry-season forage deficit" in result.output
    # the default unit is the 40 kg sheep: 50 g x 40^0.75 / 1000 = 0.795 kg DM/day
    assert "1 UO eats 0.795 kg DM/day" in result.output
    assert "adult sheep of 40 kg" in result.output
    communities = pd.read_csv(out / "forage_communities.csv")
    alfa = communities.set_index(S.COMMUNITY).loc["Alfa"]
    # Alfa: 65 alpacas x 1.43926 + 5 llamas x 2.10631 + 42 sheep x 1.0 = 93.552 + 10.532
    # + 42 = 146.084 UO (see test_forage for the arithmetic)
    assert alfa[S.STOCKING_UO] == pytest.approx(146.084, abs=1e-3)
    plots = pd.read_csv(out / "forage_plots.csv")
    assert len(plots) == 3
    assert pyogrio.list_layers(out / "forage.gpkg")[:, 0].tolist() == [
        S.FORAGE_PLOTS,
        S.FORAGE_COMMUNITIES,
    ]
    monthly = pd.read_csv(out / "forage_monthly.csv")
    assert len(monthly) == 3 * 12  # Alfa, Beta, TOTAL

    # --uo sr-crsp: the alpaca unit (1.145 kg DM/day), Alfa 65 + 5 x 1.5 + 42 = 114.5 UO;
    # the capacity in alpacas is the same: UO / 1.43926 under the default (the CSV keeps
    # 3 decimals of each)
    sr_out = tmp_path / "sr"
    args = ["forage", *files_args(project_files), "--uo", "sr-crsp", "--out", str(sr_out)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "1 UO eats 1.145 kg DM/day" in result.output
    sr_alfa = pd.read_csv(sr_out / "forage_communities.csv").set_index(S.COMMUNITY).loc["Alfa"]
    assert sr_alfa[S.STOCKING_UO] == pytest.approx(114.5)
    sr_plots = pd.read_csv(sr_out / "forage_plots.csv")
    assert (plots[S.CAPACITY_UO] / (65 / 40) ** 0.75).tolist() == pytest.approx(
        sr_plots[S.CAPACITY_UO].tolist(), abs=1e-3
    )
    assert alfa[S.CAPACITY_UO] / (65 / 40) ** 0.75 == pytest.approx(
        sr_alfa[S.CAPACITY_UO], abs=1e-3
    )


def test_forage_with_indices_calibration_and_xlsx(runner, tmp_path, project_files):
    rng = np.random.default_rng(3)
    dates = pd.date_range("2024-01-05", periods=12, freq="30D").strftime("%Y-%m-%d")
    rows, cuts = [], []
    for code in ("ALF-01", "ALF-02", "BET-01"):
        for d in dates:
            v = float(rng.uniform(0.2, 0.7))
            rows.append((code, d, v))
            cuts.append((code, d, 200 + 2500 * v + rng.normal(0, 40)))
    indices = index_csv(tmp_path / "idx.csv", rows)
    cut_csv = tmp_path / "cortes.csv"
    pd.DataFrame(cuts, columns=["parcela", "fecha", "biomasa"]).to_csv(cut_csv, index=False)
    out = tmp_path / "out"
    args = ["forage", *files_args(project_files), "--indices", indices, "--calibration",
            str(cut_csv), "--out", str(out), "--format", "xlsx", "--uo", "peru-tables"]  # fmt: skip
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "Calibration all: linear, n=36" in result.output
    plots = pd.read_excel(out / "forage_plots.xlsx")
    assert plots[S.FORAGE_METHOD].str.contains("quadrat cuts").all()
    calibration = pd.read_excel(out / "forage_calibration.xlsx")
    chosen = calibration[calibration[S.FIT_CHOSEN]]
    assert chosen[S.FIT_R2].min() > 0.9
    assert (out / "forage_biomass.xlsx").exists()


def test_bad_calibration_rows_exit_1_with_row_and_fix(runner, tmp_path, project_files):
    indices = index_csv(tmp_path / "idx.csv", [("ALF-01", "2024-03-10", 0.5)])
    cut_csv = tmp_path / "cortes.csv"
    cut_csv.write_text("plot_code,date,biomass_kg_ha\nALF-01,2024-03-10,-5\nZZZ,2024-03-10,500\n")
    args = ["forage", *files_args(project_files), "--indices", indices, "--calibration",
            str(cut_csv), "--out", str(tmp_path / "o")]  # fmt: skip
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert "row 2" in result.output
    assert "impossible" in result.output
    assert "plot 'ZZZ' is not in the plots layer" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_bad_herd_register_exits_1(runner, tmp_path, project_files):
    bad = tmp_path / "h.csv"
    bad.write_text("family_id,community,corral_id,alpacas,llamas,sheep\nF1,Gamma,ALF-C1,-3,0,0\n")
    args = ["forage", *files_args({**project_files, "herds": bad}), "--out", str(tmp_path)]
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert "is negative" in result.output
    assert "community 'Gamma' is not in the communities layer" in result.output


def test_bad_parameter_file_exits_1(runner, tmp_path, project_files):
    params = tmp_path / "p.toml"
    params.write_text("use_factor = 2\n")
    args = ["forage", *files_args(project_files), "--params", str(params)]
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert "use_factor 2 must be in (0, 1]" in result.output


@pytest.mark.sample
def test_forage_on_the_bundled_sample(runner, tmp_path):
    result = runner.invoke(main, ["forage", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    communities = pd.read_csv(tmp_path / "forage_communities.csv").set_index(S.COMMUNITY)
    # 22,000 alpacas x 1.43926 + 3,300 llamas x 2.10631 + 16,500 sheep = 31,663.8
    # + 6,950.8 + 16,500 = 55,114.6 UO (the alpaca unit gave 43,450)
    assert communities.at["TOTAL", S.STOCKING_UO] == pytest.approx(55_114.6, abs=0.1)
    assert len(communities) == 15  # 14 communities and the total


def test_species_added_by_the_parameters_file(runner, tmp_path, project_files):
    params = tmp_path / "p.toml"
    # pinned to the alpaca unit so the hand sum below stays 10 x 1.0 + 2 x 5.0
    params.write_text(
        '[animal_units]\npreset = "sr-crsp"\n[animal_units.overrides.cattle]\nadult = 5.0\n'
    )
    herds = tmp_path / "h.csv"
    herds.write_text(
        "family_id,community,corral_id,alpacas,llamas,sheep,cattle_adults\n"
        "F1,alfa,ALF-C1,10,0,0,2\n"
    )
    args = ["forage", *files_args({**project_files, "herds": herds}), "--params", str(params),
            "--out", str(tmp_path / "o")]  # fmt: skip
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    com = pd.read_csv(tmp_path / "o" / "forage_communities.csv").set_index(S.COMMUNITY)
    assert com.at["Alfa", S.STOCKING_UO] == pytest.approx(20.0)  # 10 x 1.0 + 2 x 5.0
    # without the parameters file, the cattle column is an error naming the fix
    result = runner.invoke(main, [*args[:-4], "--out", str(tmp_path / "o2")])
    assert result.exit_code == 1
    assert "add the species with its UO per head" in result.output


def test_grazing_days_for_a_named_family(runner, tmp_path, project_files):
    out = tmp_path / "o"
    args = ["forage", *files_args(project_files), "--uo", "sr-crsp", "--family", "ALF-F1",
            "--out", str(out)]  # fmt: skip
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    plots = pd.read_csv(out / "forage_plots.csv")
    assert (plots[S.HERD_UO] == 77.5).all()  # sr-crsp: 40 x 1.0 + 5 x 1.5 + 30 x 1.0
    result = runner.invoke(main, [*args[:-4], "--family", "NOBODY"])
    assert result.exit_code == 2
    assert "'NOBODY' is not in the herd register" in result.output
