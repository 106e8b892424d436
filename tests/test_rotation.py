"""The rotation planner on tiny instances whose answers are worked out by hand."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from pastures import rotation as R
from pastures import schema as S
from pastures.errors import ParameterError

START = date(2026, 1, 5)


def tiny(
    *,
    uo: float = 100.0,
    weeks: int = 4,
    plot_initial: float = 70.0,
    plot_growth: float = 14.0,
    plot_ha: float = 2.0,
    plot_xy: tuple[float, float] = (1000.0, 0.0),
    range_growth: float = 350.0,
    closures: tuple[R.Closure, ...] = (),
) -> R.RotationInputs:
    """One community, one corral at (0, 0), one herd, one pajonal plot, 1 kg DM/UO/day."""
    herd = R.HerdGroup("H1", "A", "K1", uo, 0.0, 0.0)
    plot = R.Location(
        "P1", "A", "plot", "pajonal", plot_ha, *plot_xy, (plot_growth,) * weeks, plot_initial
    )
    rng = R.Location(
        R.open_range_id("A"), "A", "open_range", "open range", 100.0, math.nan, math.nan,
        (range_growth,) * weeks, 0.0,
    )  # fmt: skip
    return R.RotationInputs(
        (herd,), (plot, rng), START, 7, weeks, 1.0, standing_loss_per_month=0.0,
        closures=closures,
    )  # fmt: skip


def test_plot_eats_its_forage_and_never_more():
    # supply of the plot: 70 kg standing + 14 kg/week, no loss; at most 2 ha x 6.75 UO/ha =
    # 13.5 UO (94.5 kg/week). All 126 kg can be eaten in two weeks if the plot is kept to
    # the end: week 3 has 70 + 3 x 14 = 112 kg (94.5 eaten), week 4 17.5 + 14 = 31.5 kg.
    # Fewer grazed weeks cost less, so the plot is deferred (its reserve role).
    # Range: 350 kg/week eaten, demand 700 kg/week; bands 175 + 175 kg/week at 1 and 3.
    plan = R.plan_rotation(tiny(), R.RotationParams(relative_gap=0.0, num_workers=1))
    assert R.check_plan(plan) == []
    np.testing.assert_allclose(plan.eaten_kg[0], [0, 0, 94.5, 31.5], atol=1e-6)
    # the range eats its 1,400 kg (weeks may shift: its forage carries over) and the
    # bands take the rest of the demand: 2,800 - 1,400 - 126 kg
    assert plan.eaten_kg[1].sum() == pytest.approx(1400)
    assert plan.overuse_kg[1].sum() == pytest.approx(2800 - 1400 - 126)
    assert plan.fodder_kg.sum() == pytest.approx(0, abs=1e-6)
    assert plan.overuse_kg[0].sum() == plan.fodder_kg[0].sum() == 0  # never on a plot
    # objective by hand: band 1 full (175 x 4 x 1) + band 2 ((700 - 126) x 3) + 2 grazed
    # weeks + 1 stay x 20 + walking 1 km x 0.05 x (13.5 + 4.5) UO-weeks
    assert plan.objective == pytest.approx(700 + 1722 + 2 + 20 + 0.05 * 18, rel=1e-9)
    assert plan.status == "optimal"
    assert plan.bound <= plan.objective + 1e-6


def test_fodder_beyond_the_bands_per_community_and_week():
    # 200 UO: 1,400 kg/week; range 350 + bands 350; the plot as above
    plan = R.plan_rotation(tiny(uo=200.0), R.RotationParams(relative_gap=0.0, num_workers=1))
    # totals: the range eats its 1,400 kg, the bands 1,400 kg, the plot 126 kg; the rest
    # is fodder (the weeks it falls in may shift, since range forage can be carried over)
    assert plan.eaten_kg[1].sum() == pytest.approx(1400)
    assert plan.overuse_kg[1].sum() == pytest.approx(1400)
    assert plan.eaten_kg[0].sum() == pytest.approx(126)
    assert plan.fodder_kg[1].sum() == pytest.approx(5600 - 1400 - 1400 - 126)
    notes = R.fodder_notes(plan)
    assert len(notes) == 1
    assert notes[0].community == "A"
    assert notes[0].fodder_kg == pytest.approx(2800 - 126)
    # fodder in UO over the 4 weeks: 2,674 kg / (7 kg x 4) = 95.5 UO to feed or destock
    assert notes[0].destock_uo == pytest.approx(2674 / 28)
    table = R.schedule_table(plan)
    plots = table[table[S.LOCATION_KIND] == "plot"]
    assert (plots[S.SHORTFALL_KG] == 0).all()
    ranges = table[table[S.LOCATION_KIND] == "open_range"]
    assert ranges[S.FODDER_KG].sum() == pytest.approx(2674, abs=0.5)


def test_density_cap_binds():
    # a big stock, a small plot: 1 ha x 6.75 UO/ha = 6.75 UO, whatever the forage
    plan = R.plan_rotation(
        tiny(plot_initial=10_000, plot_ha=1.0), R.RotationParams(relative_gap=0.0, num_workers=1)
    )
    per_week = plan.allocation.groupby("period")["uo"].sum()
    np.testing.assert_allclose(per_week.to_numpy(), [6.75] * 4)


def test_closed_and_far_plots_are_explained():
    closed = R.Closure("P1", START, date(2026, 12, 31), "re-seeded")
    plan = R.plan_rotation(tiny(closures=(closed,)), R.RotationParams(num_workers=1))
    status = R.plot_status(plan).set_index(S.LOCATION_ID)
    assert status.at["P1", "status"] == "unused"
    assert status.at["P1", "reason"] == "closed"
    assert status.at["P1", "closures"] == "re-seeded"
    far = R.plan_rotation(tiny(plot_xy=(9000.0, 0.0)), R.RotationParams(num_workers=1))
    assert R.plot_status(far).set_index(S.LOCATION_ID).at["P1", "reason"] == "too far"
    # a range with enough forage for all: the plot is not needed
    rich = R.plan_rotation(tiny(range_growth=5000.0), R.RotationParams(num_workers=1))
    assert R.plot_status(rich).set_index(S.LOCATION_ID).at["P1", "reason"] == "not needed"


def test_closure_weeks_are_kept():
    # closed in weeks 2-3 (12-25 Jan): grazed at most in weeks 1 and 4
    closed = R.Closure("P1", date(2026, 1, 12), date(2026, 1, 25))
    plan = R.plan_rotation(tiny(closures=(closed,)), R.RotationParams(num_workers=1))
    assert set(plan.allocation["period"]) <= {0, 3}
    assert R.check_plan(plan) == []


def test_unknown_closure_is_named():
    bad = R.Closure("NOPE", START, START)
    with pytest.raises(ParameterError, match="NOPE"):
        R.plan_rotation(tiny(closures=(bad,)))


def test_bad_parameters_are_all_named():
    params = R.RotationParams(max_uo_per_ha={"*": 0.0}, share_tolerance=2.0, max_nodes=-1)
    with pytest.raises(
        ParameterError, match=r"max_uo_per_ha(.|\n)*share_tolerance(.|\n)*max_nodes"
    ):
        R.plan_rotation(tiny(), params)


def synthetic(seed: int = 1, weeks: int = 14) -> R.RotationInputs:
    """Two communities, 2 plots and 2 corrals each, varied supply; loss 10 %/month."""
    rng = np.random.default_rng(seed)
    herds, locs = [], []
    for c, com in enumerate(("A", "B")):
        x0 = 20_000.0 * c
        for k in range(2):
            for g in range(2):
                herds.append(
                    R.HerdGroup(f"{com}-K{k}-G{g}", com, f"{com}-K{k}", float(rng.uniform(50, 150)),
                                x0 + 1000 * k, 0.0)
                )  # fmt: skip
        for p in range(2):
            area = float(rng.uniform(2, 8))
            season = np.r_[np.full(weeks // 2, 1.0), np.full(weeks - weeks // 2, 0.15)]
            locs.append(
                R.Location(f"{com}-P{p}", com, "plot", ("pajonal", "bofedal", "tolar")[p], area,
                           x0 + 800 * p, 500.0, tuple(area * 30 * season), area * 200.0)
            )  # fmt: skip
        half = weeks // 2
        growth = tuple(
            float(v) for v in 1500 * np.r_[np.full(half, 1.0), np.full(weeks - half, 0.2)]
        )
        locs.append(
            R.Location(R.open_range_id(com), com, "open_range", "open range", 300.0, math.nan,
                       math.nan, growth, 0.0)
        )  # fmt: skip
    return R.RotationInputs(tuple(herds), tuple(locs), START, 7, weeks, 1.1)


def independent_forage_check(inputs: R.RotationInputs, plan: R.RotationPlan) -> None:
    """No plot eats more than its stock plus growth in any week, nor over the horizon."""
    a = plan.allocation
    eaten = (a["uo"] * inputs.kg_per_uo_period).groupby([a["location"], a["period"]]).sum()
    keep = 0.9 ** (7 * 12 / 365.25)
    for i, loc in enumerate(inputs.locations):
        if loc.kind != "plot":
            continue
        stock = loc.initial_kg
        for t in range(inputs.n_periods):
            e = float(eaten.get((i, t), 0.0))
            assert e <= stock + loc.growth_kg[t] + 1e-3, (loc.location_id, t)
            stock = keep * (stock + loc.growth_kg[t] - e)
        total = float(eaten[eaten.index.get_level_values(0) == i].sum())
        assert total <= loc.initial_kg + sum(loc.growth_kg) + 1e-3


def test_synthetic_plan_keeps_every_rule():
    inputs = synthetic()
    plan = R.plan_rotation(inputs, R.RotationParams(num_workers=1))
    assert R.check_plan(plan) == []
    independent_forage_check(inputs, plan)
    greedy = R.greedy_rotation(inputs, R.RotationParams(num_workers=1))
    assert R.check_plan(greedy) == []
    independent_forage_check(inputs, greedy)
    # the plan is never worse than the greedy start, and never below its bound
    assert plan.objective <= greedy.objective + 1e-6
    assert plan.bound <= plan.objective + 1e-6
    assert greedy.bound == pytest.approx(sum(b.lp_bound for b in greedy.blocks))
    assert plan.gap <= 0.01 + 1e-9
    # herds are whole: each herd's UO on plots and range add up to its size every week
    table = R.schedule_table(plan)
    weeks = table.assign(n=table[S.DAYS] // 7)
    weeks = weeks.loc[weeks.index.repeat(weeks["n"])]
    weeks["week"] = (
        weeks.groupby(level=0).cumcount()
        + pd.to_datetime(weeks[S.START]).sub(pd.Timestamp(START)).dt.days // 7
    )
    per = weeks.groupby([S.HERD_ID, "week"])[S.HERD_UO].sum()
    size = {h.herd_id: h.uo for h in inputs.herds}
    np.testing.assert_allclose(per.to_numpy(), [size[h] for h, _ in per.index], atol=0.02)


def test_same_inputs_same_plan():
    inputs = synthetic(seed=3)
    params = R.RotationParams(num_workers=1, relative_gap=0.0, max_nodes=20)
    one = R.schedule_table(R.plan_rotation(inputs, params))
    two = R.schedule_table(R.plan_rotation(inputs, params))
    pd.testing.assert_frame_equal(one, two)
    # in parallel processes, the same plan again
    three = R.schedule_table(R.plan_rotation(inputs, replace(params, num_workers=2)))
    pd.testing.assert_frame_equal(one, three)


def test_rest_and_stay_rules_from_the_schedule():
    inputs = synthetic(seed=5, weeks=24)
    plan = R.plan_rotation(inputs, R.RotationParams(num_workers=1))
    grazed = {
        (inputs.locations[i].location_id, t) for i, t in zip(plan.allocation["location"],
                                                             plan.allocation["period"], strict=True)
    }  # fmt: skip
    for loc in inputs.locations:
        if loc.kind != "plot":
            continue
        weeks = [t for t in range(inputs.n_periods) if (loc.location_id, t) in grazed]
        runs, run = [], [weeks[0]] if weeks else []
        for t in weeks[1:]:
            if t == run[-1] + 1:
                run.append(t)
            else:
                runs.append(run)
                run = [t]
        if run:
            runs.append(run)
        assert all(len(r) <= 4 for r in runs)  # 28 days
        for prev, nxt in itertools.pairwise(runs):
            season = inputs.season(prev[-1])
            days = R.RotationParams().rest_days.get(
                loc.pasture_type, R.RotationParams().rest_days["*"]
            )
            assert (nxt[0] - prev[-1] - 1) * 7 >= days[season]


def test_outputs_written(tmp_path):
    plan = R.plan_rotation(synthetic(), R.RotationParams(num_workers=1))
    written = R.write_plan_outputs(plan, tmp_path, gantt=False)
    names = {p.name for p in written}
    assert set(R.OUTPUT_FILES.values()) - {"rotation_gantt.png"} == names
    sched = pd.read_csv(tmp_path / R.OUTPUT_FILES["schedule_csv"])
    for col in ("herd_id", "location_id", "location_kind", "start", "end", "days", "herd_uo",
                "forage_used_kg", "shortfall_kg"):  # fmt: skip
        assert col in sched.columns
    assert (sched.loc[sched["location_kind"] == "plot", "shortfall_kg"] == 0).all()
    summary = pd.read_csv(tmp_path / R.OUTPUT_FILES["summary_csv"]).set_index("figure")["value"]
    assert summary["status"] in {"optimal", "feasible"}
    ics = (tmp_path / R.OUTPUT_FILES["ics"]).read_bytes()
    assert ics.startswith(b"BEGIN:VCALENDAR\r\n")
    from pastures import rotation_io

    assert rotation_io.schedule_table is R.schedule_table


def test_calendar_text_neutralises_names_a_spreadsheet_would_run():
    # iCalendar TEXT escaping (RFC 5545 3.3.11) plus the CSV-injection apostrophe.
    from pastures.rotation.outputs import _ics_escape

    assert _ics_escape("=HYPERLINK(1);a,b") == "'=HYPERLINK(1)\\;a\\,b"
    assert _ics_escape("@SUM(A1)") == "'@SUM(A1)"
    assert _ics_escape("PAS-01") == "PAS-01"
