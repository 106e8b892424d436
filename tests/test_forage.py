"""Forage, carrying capacity, grazing days and calibration, against hand-worked values.

The tests of capacity and grazing-day arithmetic pin the ``sr-crsp`` convention
(:data:`SR_CRSP`) so their hand arithmetic stays simple: one UO eats 50 g x 65^0.75 /
1000 = 1.1446 kg DM/day (an adult alpaca, SR-CRSP 1 alpaca = 1 UO), 417.78 kg DM/yr.
The default convention, ``metabolic`` (one UO = a 40 kg sheep eating 50 g x 40^0.75 /
1000 = 0.7953 kg DM/day, 290.27 kg DM/yr; alpaca (65/40)^0.75 = 1.43926 UO, llama
(108/40)^0.75 = 2.10631 UO), is checked end to end in
``test_budget_of_the_fixture_project_in_metabolic_units``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from conftest import E0, N0
from pastures import schema as S
from pastures.animals import AnimalUnits
from pastures.errors import InputFileError, ParameterError
from pastures.forage import (
    ALL_TYPES,
    ForageParams,
    OpenRange,
    capacity_uo_ha_yr,
    fit_calibration,
    fit_relation,
    forage_budget,
    growth_shares,
    load_params,
    match_quadrats,
    monthly_balance,
    range_condition,
    standing_factors,
)
from pastures.layers import Project, load_project

PER_UO_YEAR = 417.78  # kg DM/yr: 1.1446 x 365 (sr-crsp)
#: Parameters pinned to the alpaca unit (sr-crsp) for the capacity arithmetic.
SR_CRSP = ForageParams(units=AnimalUnits.preset("sr-crsp"))


@pytest.fixture
def project(project_files) -> Project:
    project = load_project(**{k: str(v) for k, v in project_files.items()})
    project.raise_for_errors()
    return project


def tidy(rows: list[tuple[str, str, float]], index: str = "ndvi") -> pd.DataFrame:
    """A tidy index table (plot, date, mean) as `pastures indices` writes it."""
    out = []
    for code, date, value in rows:
        out.append((code, date, index, S.STAT_MEAN, value))
        out.append((code, date, index, S.STAT_VALID_FRACTION, 1.0))
    return pd.DataFrame(out, columns=list(S.ZONAL_COLUMNS))


def test_growth_shares_follow_the_juli_rain():
    shares = growth_shares(0.1)
    assert shares.sum() == pytest.approx(1.0)
    # January: 0.1 / 12 + 0.9 x 215.8 / 885.5 = 0.00833 + 0.21933 = 0.22767
    assert shares[0] == pytest.approx(0.22767, abs=1e-5)
    assert shares.argmin() == 5  # June, 5.3 mm


def test_standing_factors_steady_cycle():
    # even growth, 10 % lost a month: every month starts with (1/12) / 0.1 = 0.8333
    assert standing_factors(np.full(12, 1 / 12), loss=0.1) == pytest.approx(np.full(12, 1 / 1.2))
    shares = growth_shares(0.1)
    start = standing_factors(shares, loss=0.2)
    # the cycle closes: December's stock carried into January gives January's stock
    assert start[11] * 0.8 + shares[11] == pytest.approx(start[0])
    with pytest.raises(ParameterError, match="must be in"):
        standing_factors(shares, loss=0.0)


def test_monthly_balance_by_hand():
    # 100 kg grows every month, the herd wants 150: it eats 100 and misses 50 each month
    eaten, deficit = monthly_balance(np.full(12, 100.0), np.full(12, 150.0), loss=0.0)
    assert eaten == pytest.approx(np.full(12, 100.0))
    assert deficit == pytest.approx(np.full(12, 50.0))
    # 300 kg grows in January only, 50 kg wanted a month, nothing lost: January-June are
    # fed from the stock (300 / 50 = 6 months), July-December go short by 50 each
    growth = np.zeros(12)
    growth[0] = 300.0
    eaten, deficit = monthly_balance(growth, np.full(12, 50.0), loss=0.0)
    assert deficit == pytest.approx([0] * 6 + [50] * 6)


def test_capacity_and_condition_by_hand():
    params = SR_CRSP
    assert params.kg_dm_per_uo_day * 365 == pytest.approx(PER_UO_YEAR, abs=0.01)
    # pajonal, midpoint of 657-1,054 = 855.5 kg DM/ha/yr x 0.5 / 417.78 = 1.0239 UO/ha/yr
    assert capacity_uo_ha_yr(855.5, params) == pytest.approx(1.0239, abs=1e-4)
    # bofedal, midpoint of 1,706-2,292 = 1,999 x 0.5 / 417.78 = 2.3924 UO/ha/yr
    assert capacity_uo_ha_yr(1999.0, params) == pytest.approx(2.3924, abs=1e-4)
    # Flórez 2005 classes by alpacas/ha/yr: 2.7 excellent, 2.0 good, 1.0 fair, 0.33 poor
    assert list(range_condition([2.7, 2.69, 2.0, 1.02, 0.5, 0.2, 0.1])) == [
        "excellent", "good", "good", "fair", "poor", "very poor", "very poor"
    ]  # fmt: skip


def test_budget_of_the_fixture_project(project):
    budget = forage_budget(project, params=SR_CRSP, herd_uo=10.0)
    plots = budget.plots.set_index(S.PLOT_CODE)
    # ALF-01, 5 ha pajonal: 5 x 855.5 x 0.5 / 417.78 = 5.1193 UO, fair (1.02 alpacas/ha)
    assert plots.at["ALF-01", S.CAPACITY_UO] == pytest.approx(5.1193, rel=1e-4)
    assert plots.at["ALF-01", S.RANGE_CONDITION] == "fair"
    # ... its interval from 657 and 1,054 kg: 5 x 657 x 0.5 / 417.78 = 3.9315 UO
    assert plots.at["ALF-01", S.CAPACITY_UO_LOW] == pytest.approx(3.9315, rel=1e-4)
    # ALF-02, 1 ha bofedal: 999.5 / 417.78 = 2.3924 UO, good (2.39 alpacas/ha)
    assert plots.at["ALF-02", S.CAPACITY_UO] == pytest.approx(2.3924, rel=1e-4)
    assert plots.at["ALF-02", S.RANGE_CONDITION] == "good"
    # the seasons add up to the year: wet x 121 days + dry x 244 days = capacity x 365
    row = plots.loc["ALF-01"]
    assert row[S.CAPACITY_UO_WET] * 121 + row[S.CAPACITY_UO_DRY] * 244 == pytest.approx(
        row[S.CAPACITY_UO] * 365
    )
    assert (plots[S.HERD_UO] == 10.0).all()

    com = budget.communities.set_index(S.COMMUNITY)
    alfa = com.loc["Alfa"]
    # Alfa: herds 77.5 + 37 = 114.5 UO; plots 5.1193 + 2.3924 = 7.5117 UO;
    # open range 100 - 6 = 94 ha x 1.0239 = 96.243 UO; total 103.755 UO
    assert alfa[S.STOCKING_UO] == pytest.approx(114.5)
    assert alfa[S.OPEN_RANGE_HA] == pytest.approx(94.0)
    assert alfa[S.PLOTS_CAPACITY_UO] == pytest.approx(7.5117, rel=1e-4)
    assert alfa[S.OPEN_CAPACITY_UO] == pytest.approx(96.243, rel=1e-4)
    # the plots take 7.51 UO, the other 114.5 - 7.51 = 106.99 fall on the open range
    assert alfa[S.OPEN_STOCKING_UO] == pytest.approx(106.988, rel=1e-4)
    assert alfa[S.OPEN_RATIO] == pytest.approx(106.988 / 96.243, rel=1e-4)  # 1.1116
    assert alfa[S.PRESSURE_RATIO] == pytest.approx(114.5 / 103.755, rel=1e-4)  # 1.1036
    # Beta: 72 UO against 3 x 1.0239 + 97 x 1.0239 = 102.39 UO
    assert com.loc["Beta", S.PRESSURE_RATIO] == pytest.approx(72 / 102.39, rel=1e-3)
    assert com.loc["TOTAL", S.STOCKING_UO] == pytest.approx(186.5)
    # the seasons of the whole community add up to its year too
    assert alfa[S.CAPACITY_UO_WET] * 121 + alfa[S.CAPACITY_UO_DRY] * 244 == pytest.approx(
        alfa[S.CAPACITY_UO] * 365
    )
    assert alfa[S.CAPACITY_UO_WET] > alfa[S.CAPACITY_UO] > alfa[S.CAPACITY_UO_DRY]

    monthly = budget.monthly
    alfa_m = monthly[monthly[S.COMMUNITY] == "Alfa"]
    # demand in January: 114.5 UO x 1.1446 kg x 31 days = 4,062.8 kg DM
    assert alfa_m[S.DEMAND_KG].iloc[0] == pytest.approx(114.5 * 1.14460 * 31, rel=1e-4)
    # an overstocked community goes short in the dry season, more than in the rains
    dry = alfa_m[alfa_m[S.SEASON].str.startswith("dry")][S.DEFICIT_SHARE].mean()
    wet = alfa_m[alfa_m[S.SEASON].str.startswith("wet")][S.DEFICIT_SHARE].mean()
    assert dry > wet
    assert (alfa_m[S.DEFICIT_LOW_KG] <= alfa_m[S.DEFICIT_KG] + 1e-9).all()
    assert (alfa_m[S.DEFICIT_KG] <= alfa_m[S.DEFICIT_HIGH_KG] + 1e-9).all()
    assert len(budget.dry_season_deficit) == 8  # Apr-Nov


def test_budget_of_the_fixture_project_in_metabolic_units(project):
    """The default convention end to end: UO of a 40 kg sheep, alpacas unchanged."""
    budget = forage_budget(project)  # default parameters: metabolic
    assert budget.params.units.reference_species == "sheep"
    # one UO (40 kg sheep): 50 g x 40^0.75 (= 15.9054) / 1000 = 0.79527 kg DM/day
    assert budget.params.kg_dm_per_uo_day == pytest.approx(0.79527, abs=1e-5)
    per_uo_year = 290.274  # 0.79527 x 365
    plots = budget.plots.set_index(S.PLOT_CODE)
    # ALF-01, 5 ha pajonal: 5 x 855.5 x 0.5 / 290.274 = 7.3680 UO; ALF-02 1 ha bofedal:
    # 1,999 x 0.5 / 290.274 = 3.4433 UO
    assert plots.at["ALF-01", S.CAPACITY_UO] == pytest.approx(5 * 855.5 * 0.5 / per_uo_year)
    assert plots.at["ALF-01", S.CAPACITY_UO] == pytest.approx(7.3680, abs=1e-4)
    assert plots.at["ALF-02", S.CAPACITY_UO] == pytest.approx(3.4433, abs=1e-4)

    com = budget.communities.set_index(S.COMMUNITY)
    # stocking, alpaca (65/40)^0.75 = 1.43926 UO, llama (108/40)^0.75 = 2.10631 UO:
    # Alfa: 65 alpacas x 1.43926 + 5 llamas x 2.10631 + 42 sheep = 93.552 + 10.532 + 42
    # = 146.084 UO; Beta: 60 x 1.43926 + 8 x 2.10631 = 86.356 + 16.850 = 103.206 UO
    assert com.at["Alfa", S.STOCKING_UO] == pytest.approx(146.084, abs=1e-3)
    assert com.at["Beta", S.STOCKING_UO] == pytest.approx(103.206, abs=1e-3)
    assert com.at["TOTAL", S.STOCKING_UO] == pytest.approx(249.290, abs=1e-3)
    # Alfa capacity: plots 7.3680 + 3.4433 = 10.8113; open range 94 ha x 855.5 x 0.5 /
    # 290.274 = 94 x 1.47361 = 138.519; total 149.331 UO. Pressure 146.084 / 149.331
    # = 0.9783: with sheep charged their own intake, Alfa is no longer overstocked (the
    # alpaca unit gave 114.5 / 103.755 = 1.1036)
    assert com.at["Alfa", S.PLOTS_CAPACITY_UO] == pytest.approx(10.8113, abs=1e-4)
    assert com.at["Alfa", S.OPEN_CAPACITY_UO] == pytest.approx(138.519, abs=1e-3)
    assert com.at["Alfa", S.PRESSURE_RATIO] == pytest.approx(146.084 / 149.331, rel=1e-4)
    # Beta: 103.206 UO against 100 ha x 1.47361 = 147.361 UO
    assert com.at["Beta", S.PRESSURE_RATIO] == pytest.approx(103.206 / 147.361, rel=1e-4)

    # January demand of Alfa: 146.084 UO x 0.79527 kg x 31 days = 3,601.5 kg DM; the
    # alpaca unit asked 114.5 x 1.14460 x 31 = 4,062.8 kg, the difference being the
    # sheep (42 x (1.14460 - 0.79527) = 14.672 kg/day) and the llamas (5 x (1.5 x
    # 1.14460 - 2.10631 x 0.79527) = 0.209 kg/day): 14.881 x 31 = 461.3 kg
    monthly = budget.monthly
    jan = monthly[(monthly[S.COMMUNITY] == "Alfa") & (monthly[S.MONTH] == 1)]
    assert jan[S.DEMAND_KG].iloc[0] == pytest.approx(3601.5, abs=0.1)
    assert 4062.8 - jan[S.DEMAND_KG].iloc[0] == pytest.approx(461.3, abs=0.1)

    # capacity in alpacas is the same under both conventions: an alpaca eats 1.4393 x
    # 0.79527 = 1.14460 kg DM/day in both; ALF-01: 7.3680 / 1.43926 = 5.1193 alpacas,
    # the 5.1193 UO (= alpacas) of the alpaca unit
    sr_crsp = forage_budget(project, params=SR_CRSP)
    alpaca_uo = (65 / 40) ** 0.75
    for table in ("plots", "communities"):
        metabolic_t, sr_crsp_t = getattr(budget, table), getattr(sr_crsp, table)
        for col in (S.CAPACITY_UO, S.CAPACITY_UO_LOW, S.CAPACITY_UO_HIGH):
            assert (metabolic_t[col] / alpaca_uo).tolist() == pytest.approx(
                sr_crsp_t[col].tolist(), rel=1e-9
            )
        assert metabolic_t[S.RANGE_CONDITION].tolist() == sr_crsp_t[S.RANGE_CONDITION].tolist()
    assert plots.at["ALF-01", S.CAPACITY_UO] / alpaca_uo == pytest.approx(5.1193, abs=1e-4)


def test_grazing_days_from_the_index_by_hand(project):
    # bofedal ALF-02 at NDVI 0.5: 1,615 x 0.5^1.318 = 647.76 kg DM/ha (Zorogastúa-Cruz);
    # grazeable half: 323.88 kg on 1 ha; a 10 UO herd eats 11.446 kg/day: 28.30 days
    index = tidy([("ALF-02", "2024-03-10", 0.6), ("ALF-02", "2024-08-01", 0.5)])
    budget = forage_budget(project, index_table=index, params=SR_CRSP, herd_uo=10.0)
    row = budget.plots.set_index(S.PLOT_CODE).loc["ALF-02"]
    assert row[S.STANDING_KG_HA] == pytest.approx(323.88, abs=0.01)
    assert row[S.GRAZING_DAYS] == pytest.approx(28.30, abs=0.01)
    # the published equation carries +/-50 %: 14.15 to 42.44 days
    assert row[S.GRAZING_DAYS_LOW] == pytest.approx(14.15, abs=0.01)
    assert row[S.GRAZING_DAYS_HIGH] == pytest.approx(42.44, abs=0.01)
    # production is the March peak: 1,615 x 0.6^1.318 = 822.6 kg DM/ha/yr
    assert row[S.PRODUCTION] == pytest.approx(1615 * 0.6**1.318)
    assert "peak standing biomass" in row[S.FORAGE_METHOD]
    # pajonal has no published equation: it keeps the Castellaro range
    assert budget.plots.set_index(S.PLOT_CODE).at["ALF-01", S.PRODUCTION] == 855.5
    assert len(budget.biomass) == 2


def test_grazing_days_default_for_the_mean_family(project):
    params = replace(SR_CRSP, budget_month=8)
    budget = forage_budget(project, params=params)
    row = budget.plots.set_index(S.PLOT_CODE).loc["ALF-01"]
    assert row[S.HERD_UO] == pytest.approx(57.25)  # sr-crsp: (77.5 + 37) / 2 families
    shares = growth_shares(0.1)
    standing = 0.5 * 855.5 * standing_factors(shares, loss=0.1)[7]
    assert row[S.GRAZING_DAYS] == pytest.approx(standing * 5 / (57.25 * 1.14460), rel=1e-4)


def test_unknown_pasture_type_needs_a_figure(project):
    project.plots.loc[0, S.PASTURE_TYPE] = "cultivado"
    with pytest.raises(ParameterError, match=r"pasture type 'cultivado'.*production_kg_ha_yr"):
        forage_budget(project)


def test_open_range_condition_imposed(project):
    params = replace(SR_CRSP, open_range=OpenRange(condition="poor"))
    budget = forage_budget(project, params=params)
    alfa = budget.communities.set_index(S.COMMUNITY).loc["Alfa"]
    # poor: 0.33 alpacas/ha/yr x 94 ha = 31.02 alpacas = 31.02 UO (SR-CRSP)
    assert alfa[S.OPEN_CAPACITY_UO] == pytest.approx(31.02, rel=1e-4)
    assert alfa[S.RANGE_CONDITION] == "poor"
    # interval halfway to very poor (0.25) and fair (0.665): 23.5 to 62.5 alpacas
    assert alfa[S.OPEN_CAPACITY_UO_LOW] == pytest.approx(0.25 * 94, rel=1e-4)
    assert alfa[S.OPEN_CAPACITY_UO_HIGH] == pytest.approx(0.665 * 94, rel=1e-4)


def test_power_calibration_recovers_a_known_relation():
    rng = np.random.default_rng(20240315)
    x = rng.uniform(0.15, 0.75, 40)
    y = 2500 * x**1.4 * np.exp(rng.normal(0, 0.1, 40))
    eq = fit_relation(x, y, form="power", index="ndvi")
    assert eq.b == pytest.approx(1.4, abs=0.1)
    assert eq.a == pytest.approx(2500, rel=0.1)
    assert eq.r2 > 0.9
    # 95 % prediction intervals hold about 95 % of new cuts
    x_new = rng.uniform(0.15, 0.75, 2000)
    y_new = 2500 * x_new**1.4 * np.exp(rng.normal(0, 0.1, 2000))
    _, low, high = eq.predict(x_new)
    inside = np.mean((y_new >= low) & (y_new <= high))
    assert 0.92 <= inside <= 0.98


def test_linear_calibration_and_the_choice_of_form():
    rng = np.random.default_rng(7)
    x = rng.uniform(0.1, 0.8, 30)
    y = 300 + 3000 * x + rng.normal(0, 80, 30)
    points = pd.DataFrame({S.PASTURE_TYPE: ["pajonal"] * 30, S.INDEX_VALUE: x, S.BIOMASS: y})
    calibration = fit_calibration(points, index="ndvi")
    eq = calibration.equations[ALL_TYPES]
    assert eq.form == "linear"
    assert eq.a == pytest.approx(300, abs=80)
    assert eq.b == pytest.approx(3000, abs=200)
    assert eq.rmse == pytest.approx(80, abs=25)
    table = calibration.table
    assert set(table[S.FIT_FORM]) == {"linear", "power"}
    assert table[S.FIT_CHOSEN].sum() == 1
    assert calibration.equation_for("bofedal") is eq  # no own cuts: the pooled fit
    # the prediction interval widens away from the mean index
    _, lo, hi = eq.predict(np.array([0.45, 0.95]))
    assert (hi - lo)[1] > (hi - lo)[0]
    with pytest.raises(ParameterError, match="at least 5 are needed"):
        fit_calibration(points.head(3))


def test_calibrated_relation_replaces_the_default(project):
    rng = np.random.default_rng(1)
    x = rng.uniform(0.2, 0.7, 12)
    biomass = 100 + 2000 * x + rng.normal(0, 30, 12)
    points = pd.DataFrame({S.PASTURE_TYPE: "pajonal", S.INDEX_VALUE: x, S.BIOMASS: biomass})
    calibration = fit_calibration(points, form="linear")
    index = tidy([("ALF-01", "2024-03-10", 0.5)])
    budget = forage_budget(project, index_table=index, calibration=calibration)
    row = budget.plots.set_index(S.PLOT_CODE).loc["ALF-01"]
    assert row[S.PRODUCTION] == pytest.approx(1100, abs=60)  # 100 + 2000 x 0.5
    assert row[S.PRODUCTION_LOW] < row[S.PRODUCTION] < row[S.PRODUCTION_HIGH]
    assert "quadrat cuts" in row[S.FORAGE_METHOD]


def test_quadrat_rows_are_checked_one_by_one(project):
    index = tidy([("ALF-01", "2024-03-10", 0.5), ("BET-01", "2024-03-12", 0.4)])
    quadrats = pd.DataFrame(
        {
            S.PLOT_CODE: ["ALF-01", "ALF-01", "ALF-01", "GAMMA-9", "", "", "ALF-01", "BET-01"],
            S.X_COORD: ["", "", "", "", f"{E0 + 150}", f"{E0 + 900}", "", ""],
            S.Y_COORD: ["", "", "", "", f"{N0 + 150}", f"{N0 + 900}", "", ""],
            S.DATE: ["2024-03-11", "2024-03-11", "2024-03-11", "2024-03-11", "2024-03-09",
                     "2024-03-09", "marzo", "2024-06-30"],
            S.BIOMASS: ["850", "-20", "52000", "700", "900", "800", "800", "600"],
        }
    )  # fmt: skip
    points, problems = match_quadrats(quadrats, project.plots, index, source="cortes.csv")
    assert [(p.rule, p.feature) for p in problems] == [
        ("impossible-biomass", "row 3"),
        ("impossible-biomass", "row 4"),
        ("unknown-plot", "row 5"),
        ("outside-plots", "row 7"),
        ("bad-date", "row 8"),
        ("no-index", "row 9"),
    ]
    assert all(p.source == "cortes.csv" for p in problems)
    assert "lies in no plot" in problems[3].message
    assert "Check the units" in problems[0].message
    assert "nearest 110 days away" in problems[5].message
    # the good rows: one by code, one by coordinates inside ALF-01
    assert points[S.PLOT_CODE].tolist() == ["ALF-01", "ALF-01"]
    assert points[S.INDEX_VALUE].tolist() == [0.5, 0.5]


def test_quadrats_by_lon_lat(project):
    index = tidy([("BET-01", "2024-03-10", 0.4)])
    from pyproj import Transformer

    lon, lat = Transformer.from_crs("EPSG:32719", "EPSG:4326", always_xy=True).transform(
        E0 + 1300, N0 + 250
    )
    quadrats = pd.DataFrame(
        {"lon": [str(lon), "200"], "lat": [str(lat), "-16"], S.DATE: ["2024-03-10"] * 2,
         S.BIOMASS: ["500", "500"]}
    )  # fmt: skip
    points, problems = match_quadrats(quadrats, project.plots, index)
    assert points[S.PLOT_CODE].tolist() == ["BET-01"]
    assert [(p.rule, p.feature) for p in problems] == [("outside-plots", "row 3")]
    assert "are not degrees" in problems[0].message


def test_index_table_problems(project):
    index = tidy([("ALF-01", "2024-03-10", 0.5)], index="savi")
    with pytest.raises(ParameterError, match=r"no 'ndvi' values \(it holds: savi\)"):
        forage_budget(project, index_table=index)
    with pytest.raises(ParameterError, match="missing column"):
        forage_budget(project, index_table=index.drop(columns=S.STATISTIC))


def test_parameters_from_toml(tmp_path):
    path = tmp_path / "params.toml"
    path.write_text(
        'use_factor = 0.4\nbudget_month = 9\n\n[animal_units]\npreset = "peru-tables"\n\n'
        "[intake]\ng_dm_per_kg_metabolic = 40\n\n"
        '[pasture_types.cultivado]\nproduction_kg_ha_yr = [3000, 6000]\nsource = "own cuts"\n\n'
        '[open_range]\ncondition = "poor"\ngrazeable_share = 0.7\n'
    )
    params = load_params(path)
    assert params.use_factor == 0.4
    assert params.units.uo("alpaca") == 1.5
    assert params.pasture_type("cultivado").production_central == 4500
    assert params.pasture_type("bofedal").equation is not None  # defaults kept
    assert params.open_range.grazeable_share == 0.7
    # 40 x 22.892 / 1000 / 1.5 = 0.6105 kg DM per UO per day
    assert params.kg_dm_per_uo_day == pytest.approx(0.6105, abs=1e-4)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("use_factr = 0.5\n", r"unknown key\(s\) use_factr"),
        ("use_factor = 1.5\n", "use_factor 1.5 must be in"),
        ("[open_range]\ncondition = 'awful'\n", "condition 'awful' unknown"),
        ("[pasture_types.pajonal]\nproduction_kg_ha_yr = [900, 100]\n", "low <= high"),
        ("[intake]\nweight = 3\n", r"\[intake\]: unknown key\(s\) weight"),
    ],
)
def test_bad_parameter_files_name_the_key(tmp_path, text, match):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(ParameterError, match=match) as info:
        load_params(path)
    assert "p.toml" in str(info.value)


def test_unreadable_parameter_file(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text("use_factor = = 1")
    with pytest.raises(InputFileError, match="is not valid TOML"):
        load_params(path)


@pytest.mark.sample
def test_bundled_sample_budget():
    from pastures.sample import sample_paths

    project = load_project(**{k: str(v) for k, v in sample_paths().items()})
    budget = forage_budget(project)
    total = budget.communities.set_index(S.COMMUNITY).loc["TOTAL"]
    # default (metabolic): 22,000 alpacas x 1.43926 + 3,300 llamas x 2.10631 + 16,500
    # sheep x 1.0 = 31,663.8 + 6,950.8 + 16,500 = 55,114.6 UO (sr-crsp: 43,450)
    assert total[S.STOCKING_UO] == pytest.approx(55_114.6, abs=0.1)
    assert total[S.PLOTS_HA] == pytest.approx(366.0, abs=0.1)
    # 366 ha of plots carry a few hundred UO: the rest falls on the open range
    assert total[S.PLOTS_CAPACITY_UO] < 1_000
    assert total[S.OPEN_STOCKING_UO] > 42_000
    assert total[S.PRESSURE_RATIO] > 1.0
    assert (budget.dry_season_deficit[S.DEFICIT_KG] > 0).all()
