"""The grazing rotation planner: brute-force optima, the checker, diagnoses, outputs."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from pastures import rotation as R
from pastures import rotation_io as RIO
from pastures import schema as S
from pastures.errors import ParameterError, ValidationError
from pastures.layers import load_project

START = date(2026, 6, 1)  # a Monday in the dry season


def herd(hid: str, uo: float, x: float = 0.0, community: str = "Alfa", **kw) -> R.HerdGroup:
    return R.HerdGroup(hid, community, f"{community[:3].upper()}-C1", uo, x, 0.0, **kw)


def loc(
    lid: str,
    growth: tuple[int, ...],
    *,
    kind: str = "plot",
    x: float = 1000.0,
    initial: int = 0,
    cap: int = 10_000,
    ptype: str = "pajonal",
    community: str = "Alfa",
) -> R.Location:
    return R.Location(lid, community, kind, ptype, 5.0, x, 0.0, growth, initial, cap)  # type: ignore[arg-type]


def tiny(n_periods: int = 4, **kw) -> R.RotationInputs:
    """2 herds x 3 locations x 4 weeks; 10 and 20 UO eat 70 and 140 kg DM a week."""
    herds = (herd("H1", 10.0), herd("H2", 20.0, x=500.0))
    locations = (
        loc("P1", (100,) * n_periods, initial=150, x=800.0),
        loc("P2", (30,) * n_periods, initial=300, x=2500.0, ptype="bofedal"),
        loc("RANGE Alfa", (120,) * n_periods, kind="open_range", x=math.nan, initial=50),
    )
    return R.RotationInputs(herds, locations, START, 7, n_periods, 1.0, **kw)


#: Week-period rest: 2 periods (bofedal) and 3 periods elsewhere in the dry season.
TINY_REST = {
    "bofedal": {"rainy": 7, "transition": 7, "dry": 14},
    "*": {"rainy": 7, "transition": 14, "dry": 21},
}


def tiny_params(**kw) -> R.RotationParams:
    base = {
        "rest_days": TINY_REST,
        "max_consecutive_days": 14,
        "max_walk_m": 3000.0,
        "max_herds_per_plot": 1,
        "time_limit_s": 20.0,
        "relative_gap": 0.0,
        "num_workers": 1,
    }
    base.update(kw)
    return R.RotationParams(**base)


def brute_force(inputs: R.RotationInputs, params: R.RotationParams) -> tuple[int, int]:
    """Least objective over every feasible assignment, and how many were feasible."""
    H, L, T = len(inputs.herds), len(inputs.locations), inputs.n_periods
    options = range(L) if params.one_location else range(-1, L)
    best, feasible = None, 0
    for flat in itertools.product(options, repeat=H * T):
        a = np.array(flat).reshape(H, T)
        if R.check_plan(inputs, a, params=params):
            continue
        feasible += 1
        total = R.evaluate_plan(inputs, a, params=params).total
        best = total if best is None else min(best, total)
    assert best is not None
    return best, feasible


# --- forage accounting by hand ----------------------------------------------------
def test_forage_balance_by_hand():
    inp = tiny()
    a = np.array([[0, 0, 2, 2], [2, 1, 1, 2]])
    bal = R.forage_balance(inp, a)
    # P1: stock 150 +100 growth, H1 eats 70 -> 180; +100 = 280, eats 70 -> 210; then rests.
    assert bal.eaten[0].tolist() == [70, 70, 0, 0]
    assert bal.stock[0].tolist() == [150, 180, 210, 310]
    # P2 (bofedal): 300 + 30 = 330, H2 eats 140 -> 190; 190 + 30 = 220, eats 140 -> 80
    assert bal.eaten[1].tolist() == [0, 140, 140, 0]
    # range: 50 + 120 = 170 < 140? no: H2 eats 140 -> 30; then 30+120 = 150, H1 nothing...
    assert bal.demand[2].tolist() == [140, 0, 70, 210]
    assert bal.eaten[2].tolist() == [140, 0, 70, 210]
    assert bal.shortfall.sum() == 0


def test_shortfall_when_supply_runs_out():
    inp = replace(tiny(), locations=(loc("RANGE Alfa", (35,) * 4, kind="open_range", x=math.nan),))
    inp = replace(inp, herds=(herd("H1", 10.0),))
    bal = R.forage_balance(inp, np.zeros((1, 4), dtype=int))
    assert bal.shortfall.tolist() == [[35, 35, 35, 35]]
    notes = R.explain_shortfall(inp, np.zeros((1, 4), dtype=int))
    (note,) = notes
    # demand 10 UO x 7 = 70 UO-days/week against 35 usable: 5 UO too many
    assert note.community == "Alfa"
    assert (note.first_period, note.last_period) == (0, 3)
    assert note.demand_uo_days_per_week == pytest.approx(70)
    assert note.supply_uo_days_per_week == pytest.approx(35)
    assert note.excess_uo == pytest.approx(5)
    assert "Alfa, weeks 1-4" in note.message
    assert "5 UO too many" in note.message


def test_growth_per_period_adds_up_over_a_year():
    months = R.DEFAULT_GROWTH_MONTHS
    growth = R.growth_per_period(
        1000.0, months, start=date(2026, 1, 1), period_days=1, n_periods=365
    )
    assert sum(growth) == 1000
    # January gets 17 % of the year's growth
    assert sum(growth[:31]) == pytest.approx(170, abs=1)


# --- the solver against brute force -----------------------------------------------
@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"family_shares": False, "max_herds_per_plot": 2},
        {
            "weights": R.ObjectiveWeights(
                shortfall_per_kg=1, move=50, walk_per_hm=3, grazed_plot_period=7
            )
        },
        {"max_consecutive_days": 7, "share_tolerance": 0.1},
    ],
    ids=["default", "no-shares", "move-heavy", "tight"],
)
def test_highs_equals_brute_force(overrides):
    inp = tiny()
    params = tiny_params(**overrides)
    best, feasible = brute_force(inp, params)
    assert feasible > 1
    plan = R.plan_rotation(inp, params=params)
    assert plan.status == "optimal"
    assert plan.objective == pytest.approx(best, abs=1e-6 * max(best, 1))
    assert R.evaluate_plan(inp, plan.assignment, params=params).total == best
    assert R.check_plan(inp, plan.assignment, params=params) == []
    assert plan.gap == pytest.approx(0, abs=1e-9)


def test_cpsat_equals_brute_force():
    inp = tiny()
    params = tiny_params(solver="cp-sat")
    best, _ = brute_force(inp, params)
    plan = R.plan_rotation(inp, params=params)
    assert plan.status == "optimal"
    assert plan.objective == best
    assert R.evaluate_plan(inp, plan.assignment, params=params).total == best


def test_closures_and_hard_forage_against_brute_force():
    closures = (R.Closure("P1", START, date(2026, 6, 14), "re-seeded"),)
    inp = tiny(closures=closures)
    params = tiny_params()
    best, _ = brute_force(inp, params)
    plan = R.plan_rotation(inp, params=params)
    assert plan.objective == pytest.approx(best)
    assert set(plan.assignment[:, :2].ravel()) <= {1, 2}  # P1 closed in weeks 1-2


def test_plan_is_deterministic():
    inp = tiny(n_periods=6)
    params = tiny_params(num_workers=2)
    a = R.plan_rotation(inp, params=params)
    b = R.plan_rotation(inp, params=params)
    assert np.array_equal(a.assignment, b.assignment)
    assert a.objective == b.objective


def test_greedy_keeps_the_rules():
    inp = tiny(n_periods=4)
    params = tiny_params()
    plan = R.greedy_rotation(inp, params=params)
    assert plan.status == "greedy"
    assert R.check_plan(inp, plan.assignment, params=params) == []
    assert plan.objective >= brute_force(inp, params)[0]


def test_independent_blocks_are_solved_apart():
    inp = tiny()
    beta = (herd("B1", 5.0, community="Beta"),)
    beta_loc = (loc("RANGE Beta", (50,) * 4, kind="open_range", x=math.nan, community="Beta"),)
    both = replace(inp, herds=inp.herds + beta, locations=inp.locations + beta_loc)
    params = tiny_params()
    assert len(R.components(both, params)) == 2
    plan = R.plan_rotation(both, params=params)
    assert plan.status == "optimal"
    assert plan.assignment[2].tolist() == [3, 3, 3, 3]
    assert plan.objective == pytest.approx(brute_force(inp, params)[0] + 0)


# --- infeasibility, explained -------------------------------------------------------
def test_hard_forage_infeasible_is_explained_in_numbers():
    inp = tiny()
    inp = replace(inp, herds=(herd("H1", 100.0), herd("H2", 20.0, x=500.0)))
    params = tiny_params(forage_hard=True)
    plan = R.plan_rotation(inp, params=params)
    assert plan.status == "infeasible"
    assert plan.notes
    note = plan.notes[0]
    assert note.community == "Alfa"
    assert note.excess_uo > 0
    assert "UO too many" in note.message
    assert note.demand_uo_days_per_week > note.supply_uo_days_per_week


# --- the checker catches broken plans, one constraint at a time --------------------
@pytest.fixture
def good():
    inp = tiny()
    params = tiny_params()
    plan = R.plan_rotation(inp, params=params)
    assert R.check_plan(inp, plan.assignment, params=params) == []
    return inp, params, plan.assignment.copy()


def constraints(inp, a, params, **kw) -> set[str]:
    return {v.constraint for v in R.check_plan(inp, a, params=params, **kw)}


def test_checker_one_location(good):
    inp, params, a = good
    a[0, 1] = -1
    assert "one-location" in constraints(inp, a, params)
    assert "one-location" in constraints(inp, a[:, :3], params)  # wrong shape


def test_checker_reachable(good):
    inp, params, a = good
    far = replace(params, max_walk_m=1000.0)  # P2 is 2.5 km from H1's corral
    a[0] = [1, 2, 2, 2]
    assert "reachable" in constraints(inp, a, far)


def test_checker_closure(good):
    inp, params, a = good
    closed = replace(inp, closures=(R.Closure("RANGE Alfa", START, date(2026, 6, 7)),))
    a[:, 0] = [2, 0]
    assert "closure" in constraints(closed, a, params)


def test_checker_forage(good):
    inp, params, a = good
    a[:] = [[0, 0, 2, 2], [2, 2, 2, 2]]
    eaten = R.forage_balance(inp, a).eaten.copy()
    eaten[0, 0] = 10_000  # more than the plot holds
    assert "forage" in constraints(inp, a, params, eaten=eaten)
    hungry = replace(inp, herds=(herd("H1", 100.0), herd("H2", 20.0, x=500.0)))
    assert "forage" in constraints(hungry, a, replace(params, forage_hard=True))
    assert "forage" not in constraints(hungry, a, params)  # soft: shortfall is penalised


def test_checker_rest(good):
    inp, params, a = good
    # P1 (pajonal, dry: 3 periods of rest) grazed in week 1 then again in week 3
    a[:] = [[0, 2, 0, 2], [2, 2, 2, 2]]
    assert "rest" in constraints(inp, a, replace(params, family_shares=False))


def test_checker_max_consecutive(good):
    inp, params, a = good
    a[:] = [[0, 0, 0, 2], [2, 2, 2, 2]]  # 3 weeks on P1, limit 14 days = 2 periods
    assert "max-consecutive" in constraints(inp, a, replace(params, family_shares=False))


def test_checker_max_herds(good):
    inp, params, a = good
    a[:] = [[0, 2, 2, 2], [0, 2, 2, 2]]
    assert "max-herds" in constraints(inp, a, params)


def test_checker_family_shares(good):
    inp, params, a = good
    a[:] = [[0, 0, 2, 2], [2, 2, 2, 2]]  # H1 takes every plot day, H2 (2/3 of the UO) none
    found = R.check_plan(inp, a, params=params)
    assert any(v.constraint == "family-shares" and v.herd == "H2" for v in found)


def test_switched_off_rules_are_not_checked(good):
    inp, params, a = good
    a[:] = [[0, 0, 0, 0], [0, 0, 0, 0]]
    loose = replace(
        params,
        enforce_rest=False,
        max_consecutive_days=None,
        max_herds_per_plot=None,
        family_shares=False,
    )
    assert R.check_plan(inp, a, params=loose) == []


# --- bad input is named ---------------------------------------------------------------
def test_herd_with_no_reachable_location():
    inp = tiny()
    lonely = replace(inp, herds=(*inp.herds, herd("Z9", 5.0, community="Zeta")))
    with pytest.raises(ValidationError, match=r"herd Z9 .* can reach no location"):
        R.plan_rotation(lonely, params=tiny_params())


def test_contradictory_closures():
    inp = tiny(
        closures=(
            R.Closure("P1", date(2026, 6, 1), date(2026, 6, 30)),
            R.Closure("P2", date(2026, 6, 1), date(2026, 6, 30)),
            R.Closure("RANGE Alfa", date(2026, 6, 8), date(2026, 6, 14)),
            R.Closure("P9", date(2026, 6, 1), date(2026, 6, 2)),
            R.Closure("P1", date(2026, 7, 1), date(2026, 6, 1)),
        )
    )
    with pytest.raises(ValidationError) as err:
        R.plan_rotation(inp, params=tiny_params())
    text = str(err.value)
    assert "herd H1 (Alfa) has nowhere to graze in 1 period(s), week 2" in text
    assert "names location 'P9'" in text
    assert "ends (2026-06-01) before it starts (2026-07-01)" in text


def test_zero_horizon():
    with pytest.raises(ValidationError, match="horizon is 0 period"):
        R.plan_rotation(tiny(n_periods=0), params=tiny_params())


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"share_tolerance": 1.5}, "share_tolerance"),
        ({"max_consecutive_days": 3}, "max_consecutive_days = 3 is shorter than one period"),
        ({"max_herds_per_plot": 0}, "max_herds_per_plot"),
        ({"time_limit_s": 0}, "time_limit_s"),
        ({"weights": R.ObjectiveWeights(move=-1)}, "weights.move"),
        ({"rest_days": {"*": {"dry": 900}}}, "rest_days"),
    ],
)
def test_parameters_out_of_range(overrides, match):
    with pytest.raises(ParameterError, match=match):
        R.plan_rotation(tiny(), params=tiny_params(**overrides))


def test_forage_defaults_out_of_range(project_files):
    project = load_project(**{k: str(v) for k, v in project_files.items()})
    with pytest.raises(ParameterError, match="use_factor"):
        R.rotation_inputs_from_project(project, params=R.ForageDefaults(use_factor=1.5))
    with pytest.raises(ParameterError, match="horizon is 0"):
        R.rotation_inputs_from_project(project, n_periods=0)


# --- from a project -------------------------------------------------------------------
def test_inputs_from_project(project_files):
    project = load_project(**{k: str(v) for k, v in project_files.items()})
    inp = R.rotation_inputs_from_project(
        project, start=date(2026, 1, 5), n_periods=52, params=R.ForageDefaults()
    )
    by_id = {h.herd_id: h for h in inp.herds}
    # ALF-F1 40 alpacas + 5 llamas x 1.5 + 30 sheep = 77.5 UO; ALF-F2 25 + 12 = 37 UO
    assert by_id["ALF-C1-G1"].uo == pytest.approx(114.5)
    assert set(by_id["ALF-C1-G1"].families) == {"ALF-F1", "ALF-F2"}
    assert by_id["BET-C1-G1"].uo == pytest.approx(72.0)
    ids = [loc.location_id for loc in inp.locations]
    assert ids == ["ALF-01", "ALF-02", "BET-01", "RANGE Alfa", "RANGE Beta"]
    alf01 = inp.locations[0]
    # 5 ha x 855.5 kg DM/ha/yr x 0.5 = 2,138.75 kg usable a year; a quarter stands at the start
    assert alf01.initial_kg == round(2138.75 * 0.25)
    assert sum(alf01.growth_kg) == pytest.approx(2138.75 * 364 / 365, rel=0.01)
    # open range of Alfa: (100 - 6) ha x 0.7
    assert inp.locations[3].area_ha == pytest.approx(94 * 0.7, rel=1e-3)
    small = R.rotation_inputs_from_project(project, params=R.ForageDefaults(max_group_uo=50))
    assert {h.herd_id for h in small.herds} == {"ALF-C1-G1", "ALF-C1-G2", "BET-C1-G1"}


def test_inputs_follow_the_forage_budget(project_files):
    from pastures.forage import ForageParams

    project = load_project(**{k: str(v) for k, v in project_files.items()})
    inp = R.rotation_inputs_from_project(project, start=date(2026, 1, 1), n_periods=365,
                                         period_days=1)  # fmt: skip
    fp = ForageParams()
    # intake of one UO: 50 g DM x 65^0.75 / 1000 = 1.145 kg DM/day (pastures.animals)
    assert inp.intake_kg_per_uo_day == pytest.approx(fp.kg_dm_per_uo_day)
    assert inp.intake_kg_per_uo_day == pytest.approx(1.1446, abs=1e-4)
    rng = inp.locations[3]
    assert rng.location_id == "RANGE Alfa"
    assert rng.area_ha == pytest.approx(94.0, rel=1e-3)  # grazeable share 1.0 in the budget
    # a year of growth = 94 ha x 855.5 kg DM/ha/yr x 0.5; January holds 22.8 % (Juli rain)
    assert sum(rng.growth_kg) == pytest.approx(94 * 855.5 * 0.5, rel=1e-3)
    assert sum(rng.growth_kg[:31]) / sum(rng.growth_kg) == pytest.approx(0.2277, abs=1e-3)


def test_plan_on_fixture_project_and_outputs(project_files, tmp_path):
    project = load_project(**{k: str(v) for k, v in project_files.items()})
    inp = R.rotation_inputs_from_project(
        project, start=date(2026, 6, 1), n_periods=8, params=R.ForageDefaults(max_group_uo=50)
    )
    params = R.RotationParams(time_limit_s=10, num_workers=1)
    plan = R.plan_rotation(inp, params=params)
    assert plan.status in {"optimal", "feasible"}
    assert plan.violations() == []
    files = RIO.write_plan_outputs(plan, tmp_path / "out")
    assert {f.name for f in files} == set(RIO.OUTPUT_FILES.values())
    sched = pd.read_csv(tmp_path / "out" / RIO.OUTPUT_FILES["schedule_csv"])
    assert list(sched.columns) == list(S.SCHEDULE_COLUMNS)
    assert sched[S.DAYS].sum() == 3 * 8 * 7  # every herd somewhere every day
    ics = (tmp_path / "out" / RIO.OUTPUT_FILES["ics"]).read_bytes()
    assert ics.startswith(b"BEGIN:VCALENDAR\r\n")
    assert ics.endswith(b"END:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in ics.split(b"\r\n"))
    assert ics.count(b"BEGIN:VEVENT") == len(sched)
    png = (tmp_path / "out" / RIO.OUTPUT_FILES["gantt"]).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    es = RIO.schedule_table(plan, spanish=True)
    assert "Rebaño" in es.columns
    assert "Descanso posterior (días)" in es.columns
    cal = RIO.calendar_table(plan)
    assert cal.shape == (len(inp.locations), 2 + 8)


def test_schedule_rest_and_forage_by_hand():
    inp = tiny()
    a = np.array([[0, 0, 2, 2], [2, 1, 1, 2]])
    plan = _plan_of(inp, a)
    sched = RIO.schedule_table(plan).set_index([S.HERD_ID, S.LOCATION_ID])
    row = sched.loc[("H1", "P1")]
    assert (row[S.START], row[S.END], row[S.DAYS]) == ("2026-06-01", "2026-06-14", 14)
    assert row[S.FORAGE_USED_KG] == 140
    assert row[S.REST_AFTER_DAYS] == 14  # to the end of the horizon
    assert sched.loc[("H2", "P2"), S.FORAGE_USED_KG] == 280
    assert math.isnan(sched.loc[("H1", "RANGE Alfa"), S.REST_AFTER_DAYS])


def _plan_of(inp, a, params=None):
    params = params or tiny_params()
    return R.RotationPlan(
        inputs=inp,
        params=params,
        assignment=a,
        status="feasible",
        objective=0.0,
        bound=0.0,
        gap=0.0,
        seconds=0.0,
        n_variables=0,
        n_constraints=0,
        breakdown=R.evaluate_plan(inp, a, params=params),
        balance=R.forage_balance(inp, a),
    )


def test_plan_against_practice_by_hand(tmp_path):
    inp = tiny()
    a = np.array([[0, 0, 2, 2], [2, 1, 1, 2]])
    plan = _plan_of(inp, a)
    log_csv = tmp_path / "log.csv"
    log_csv.write_text(
        "rebaño,parcela,inicio,fin\n"
        "H1,P1,2026-06-01,2026-06-20\n"  # 20 days: 6 beyond the 14-day limit; 14 on plan
        "H2,P1,01/07/2026,05/07/2026\n",  # 10 days of rest after 20 Jun; 21 required (dry)
        encoding="utf-8",
    )
    log = RIO.read_grazing_log(log_csv)
    table = RIO.plan_against_practice(plan, log)
    first, second = table.to_dict("records")
    assert (first[S.DAYS], first[S.PLANNED_DAYS], first[S.DAYS_OFF_PLAN]) == (20, 14, 6)
    assert first[S.DAYS_OVER] == 6
    assert (second[S.REST_BEFORE_DAYS], second[S.REST_REQUIRED_DAYS]) == (10, 21)
    assert second[S.REST_SHORT_DAYS] == 11
    assert second[S.PLANNED_DAYS] == 0


def test_grazing_log_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("herd,plot,start\nH1,P1,2026-06-01\n", encoding="utf-8")
    with pytest.raises(Exception, match="no column for 'end'"):
        RIO.read_grazing_log(bad)
    bad.write_text("herd,plot,start,end\nH1,P1,2026-06-09,2026-06-01\n", encoding="utf-8")
    with pytest.raises(Exception, match="ends .* before it starts"):
        RIO.read_grazing_log(bad)


def test_season_closures_reserve_the_dry_season():
    closures = R.season_closures("P1", open_in=("dry",), start=date(2026, 1, 1), n_days=365)
    assert [(c.start, c.end) for c in closures] == [
        (date(2026, 1, 1), date(2026, 5, 31)),
        (date(2026, 11, 1), date(2026, 12, 31)),
    ]


def test_out_of_time_keeps_the_valid_start_plan(project_files):
    project = load_project(**{k: str(v) for k, v in project_files.items()})
    inp = R.rotation_inputs_from_project(project, n_periods=26)
    params = R.RotationParams(time_limit_s=1e-3, num_workers=1)
    plan = R.plan_rotation(inp, params=params)
    assert plan.status in {"feasible", "optimal"}
    assert plan.violations() == []
    assert (plan.assignment >= 0).all()
    assert plan.bound <= plan.objective


def test_overgrazing_a_plot_can_cost_more_than_hunger_on_the_range():
    # H2 (20 UO x 7 days x 1 kg = 140 kg DM a week) on P2, which starts empty and grows
    # 30 kg a week: it eats 30 and is short 110 every week, 440 kg in 4 weeks, all on a
    # plot. H1 on the open range (50 + 120 a week, eats 70) is never short.
    base = tiny()
    p2 = loc("P2", (30,) * 4, initial=0, x=2500.0, ptype="bofedal")
    inp = replace(base, locations=(base.locations[0], p2, base.locations[2]))
    a = np.array([[2, 2, 2, 2], [1, 1, 1, 1]])
    plain = R.evaluate_plan(inp, a, params=tiny_params())
    weighted = R.evaluate_plan(
        inp, a, params=tiny_params(weights=R.ObjectiveWeights(plot_overgrazing_per_kg=900))
    )
    assert (plain.shortfall_kg, plain.plot_shortfall_kg) == (440, 440)
    assert weighted.total - plain.total == 900 * 440
