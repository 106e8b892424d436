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
    # 13.5 UO (94.5 kg/week) in January (plants grow: the density limit holds). All 126 kg
    # can be eaten in two weeks if the plot is kept to the end: week 3 has 70 + 3 x 14 =
    # 112 kg (94.5 eaten), week 4 17.5 + 14 = 31.5 kg. Fewer grazed weeks cost less, so
    # the plot is deferred. Range: one stock, 350 kg/week grows, demand 700 kg/week.
    plan = R.plan_rotation(tiny(), R.RotationParams(relative_gap=0.0, num_workers=1))
    assert R.check_plan(plan) == []
    np.testing.assert_allclose(plan.eaten_kg[0], [0, 0, 94.5, 31.5], atol=1e-6)
    # the range eats all that grows (1,400 kg), never more; half of it is beyond the
    # proper-use allowance (0.5 x 1,400); the rest of the demand is fodder
    assert plan.eaten_kg[1].sum() == pytest.approx(1400)
    assert plan.overuse_kg[1].sum() == pytest.approx(700)
    assert plan.fodder_kg[1].sum() == pytest.approx(2800 - 1400 - 126)
    assert plan.overuse_kg[0].sum() == plan.fodder_kg[0].sum() == 0  # never on a plot
    # objective by hand: overuse 700 x 2 + fodder 1,274 x 10 + plot forage before the
    # reserve months 126 x 1 + 2 grazed weeks + 1 stay x 20 + walking 1 km x 0.05 x
    # (13.5 + 4.5) UO-weeks
    assert plan.objective == pytest.approx(1400 + 12740 + 126 + 2 + 20 + 0.05 * 18, rel=1e-9)
    assert plan.status == "optimal"
    assert plan.bound <= plan.objective + 1e-6


def test_range_intake_never_exceeds_what_stands():
    # 200 UO: 1,400 kg/week; 300 kg stand at the start, 350 kg/week grow, no loss
    inputs = replace(
        tiny(uo=200.0),
        locations=(
            tiny().locations[0],
            replace(tiny().locations[1], initial_kg=300.0),
        ),
    )
    plan = R.plan_rotation(inputs, R.RotationParams(relative_gap=0.0, num_workers=1))
    stock = 300.0
    for t in range(4):  # by hand: what stands each week, eaten within it
        assert plan.eaten_kg[1, t] <= stock + 350.0 + 1e-6
        stock += 350.0 - plan.eaten_kg[1, t]
    assert plan.eaten_kg[1].sum() == pytest.approx(300 + 1400)
    assert plan.fodder_kg[1].sum() == pytest.approx(5600 - 1700 - 126)
    # overuse: intake beyond half of what stood and grew, (1,700 - 850)
    assert plan.overuse_kg[1].sum() == pytest.approx(850)


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


def test_closure_that_ends_before_it_starts_is_refused():
    with pytest.raises(ParameterError, match=r"P1: it ends \(2026-01-01\) before it starts"):
        R.Closure("P1", date(2026, 2, 1), date(2026, 1, 1))


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


ALPACA_UO = 1.44  # UO per alpaca in these instances


def synthetic(seed: int = 1, weeks: int = 14, start: date = START) -> R.RotationInputs:
    """Two communities, 2 plots and 2 corrals each, varied supply; loss 10 %/month.

    Each corral keeps one herd of whole alpacas for the solver and the same animals as
    one or two grazing groups (whole heads, 1.44 UO each).
    """
    rng = np.random.default_rng(seed)
    herds, locs, groups = [], [], []
    for c, com in enumerate(("A", "B")):
        x0 = 20_000.0 * c
        for k in range(2):
            corral = f"{com}-K{k}"
            sizes = [int(rng.integers(20, 60)) for _ in range(2)]
            herds.append(
                R.HerdGroup(corral, com, corral, sum(sizes) * ALPACA_UO, x0 + 1000 * k, 0.0)
            )
            for g, n in enumerate(sizes):
                groups.append(
                    R.GrazingGroup(f"{corral}-ALP-{g + 1}", com, corral, (n, 0, 0),
                                   ((f"{corral}-F{g}", n, 0, 0),), n * ALPACA_UO,
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
    return R.RotationInputs(tuple(herds), tuple(locs), start, 7, weeks, 1.1, groups=tuple(groups))


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


def weeks_of(schedule: pd.DataFrame, start: date = START) -> pd.DataFrame:
    """The schedule one row per group and week (this test's own expansion of the stays)."""
    first = pd.to_datetime(schedule[S.START]).sub(pd.Timestamp(start)).dt.days // 7
    n = schedule[S.DAYS] // 7
    out = schedule.loc[schedule.index.repeat(n)].copy()
    out["week"] = out.groupby(level=0).cumcount() + first.loc[out.index]
    return out.reset_index(drop=True)


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


def test_whole_groups_one_place_a_week():
    inputs = synthetic(weeks=30)
    plan = R.plan_rotation(inputs, R.RotationParams(num_workers=1))
    gp = R.place_groups(plan)
    assert R.check_groups(gp) == []
    # the plan of whole groups is priced like the UO plan: never below the bound
    assert gp.objective >= plan.bound - 1e-6
    table = R.schedule_table(gp)
    assert list(table.columns) == [
        "group_id", "community", "location_id", "location_kind", "start", "end", "days",
        "alpacas", "llamas", "sheep", "uo", "forage_used_kg",
    ]  # fmt: skip
    weeks = weeks_of(table)
    # every group in exactly one place every week, with all its heads
    per = weeks.groupby(["group_id", "week"]).size()
    assert (per == 1).all()
    assert len(per) == len(inputs.groups) * inputs.n_periods
    heads = {g.group_id: g.heads for g in inputs.groups}
    for col in ("alpacas", "llamas", "sheep"):
        assert table[col].dtype.kind == "i"
    got = table.set_index("group_id")[["alpacas", "llamas", "sheep"]]
    assert all(tuple(r) == heads[g] for g, r in got.iterrows())
    # forage on each plot each week within its stock and growth, by this test's own sums
    eaten = (
        weeks[weeks["location_kind"] == "plot"]
        .assign(kg=lambda d: d["uo"] * inputs.kg_per_uo_period)
        .groupby(["location_id", "week"])["kg"]
        .sum()
    )
    keep = 0.9 ** (7 * 12 / 365.25)
    for loc in inputs.locations:
        if loc.kind != "plot":
            continue
        stock = loc.initial_kg
        for t in range(inputs.n_periods):
            e = float(eaten.get((loc.location_id, t), 0.0))
            assert e <= stock + loc.growth_kg[t] + 1e-3
            stock = keep * (stock + loc.growth_kg[t] - e)


def test_same_inputs_same_plan():
    inputs = synthetic(seed=3)
    params = R.RotationParams(num_workers=1, relative_gap=0.0, max_nodes=20)
    one = R.schedule_table(R.place_groups(R.plan_rotation(inputs, params)))
    two = R.schedule_table(R.place_groups(R.plan_rotation(inputs, params)))
    pd.testing.assert_frame_equal(one, two)
    # in parallel processes, the same plan again
    three = R.schedule_table(
        R.place_groups(R.plan_rotation(inputs, replace(params, num_workers=2)))
    )
    pd.testing.assert_frame_equal(one, three)


def test_rest_and_stay_rules_from_the_schedule():
    # 20 weeks from 5 January: rains and transition only, where the rules bind
    inputs = synthetic(seed=5, weeks=20)
    assert all(inputs.season(t) != "dry" for t in range(inputs.n_periods))
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
    import openpyxl

    inputs = synthetic(weeks=30)
    gp = R.place_groups(R.plan_rotation(inputs, R.RotationParams(num_workers=1)))
    written = R.write_plan_outputs(gp, tmp_path, gantt=False, language="es")
    names = {p.name for p in written}
    assert set(R.OUTPUT_FILES.values()) - {"rotation_gantt.png"} == names
    sched = pd.read_csv(tmp_path / R.OUTPUT_FILES["schedule_csv"])
    summary = pd.read_csv(tmp_path / R.OUTPUT_FILES["summary_csv"]).set_index("figure")["value"]
    assert summary["status"] in {"optimal", "feasible"}
    # one calendar event per move: every stay that does not begin the plan
    ics = (tmp_path / R.OUTPUT_FILES["ics"]).read_bytes()
    assert ics.startswith(b"BEGIN:VCALENDAR\r\n")
    moves = int((sched["start"] != START.isoformat()).sum())
    assert ics.count(b"BEGIN:VEVENT") == moves
    # the workbook: every sheet with its header frozen and a filter, in Spanish
    book = openpyxl.load_workbook(tmp_path / R.OUTPUT_FILES["xlsx"])
    assert "calendario" in book.sheetnames
    assert "rutas" in book.sheetnames
    for ws in book.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref, ws.title
    assert book["calendario"]["A1"].value == "Grupo"
    # route sheets: every group every week
    routes = pd.read_csv(tmp_path / R.OUTPUT_FILES["routes_csv"])
    assert len(routes) == len(inputs.groups) * inputs.n_periods
    from pastures import rotation_io

    assert rotation_io.schedule_table is R.schedule_table
    plots_agree_with_the_schedule(tmp_path, summary)
    spanish_texts_in_a_spanish_plan(tmp_path, book)


def spanish_texts_in_a_spanish_plan(out, book) -> None:
    """A Spanish plan speaks Spanish in the workbook and the calendar; CSV names stay."""
    plan = next(ws for ws in book.worksheets if ws.title.startswith("plan "))
    rows = list(plan.iter_rows(values_only=True))
    head = rows[0]
    strategies = {r[head.index("Estrategia")] for r in rows[1:]}
    assert strategies <= {"reserva seca", "abierta", "recuperación", "parición",
                          "pradera abierta"}  # fmt: skip
    places = {r[head.index("Lugar")] for r in rows[1:]}
    assert "pradera abierta de A" in places
    whys = " ".join(r[head.index("Por qué")] for r in rows[1:])
    for english in ("grazed", "closed", "season", "reserve", "Jan", "Dec"):
        assert english not in whys
    assert "época de crecimiento (dic, ene, feb, mar)" in whys or "todo el año" in whys
    for ws in book.worksheets:
        values = [v for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]
        assert not any(v.startswith("RANGE ") for v in values), ws.title
    parcelas = [c.value for c in book["parcelas"][1]]
    assert parcelas == [
        "Lugar", "Comunidad", "Tipo de pasto", "Superficie (ha)", "Fuente del forraje",
        "Forraje utilizable (kg MS)", "Forraje consumido (kg MS)", "Semanas de pastoreo",
        "Primer día de pastoreo", "Último día de pastoreo", "Grupos", "Estado", "Motivo",
        "Cierres",
    ]  # fmt: skip
    estados = {r[11] for r in book["parcelas"].iter_rows(min_row=2, values_only=True)}
    assert estados <= {"pastoreada", "sin uso"}
    figures = [r[0] for r in book["resumen"].iter_rows(min_row=2, values_only=True)]
    assert "estado del solucionador" in figures
    assert not any("_" in f for f in figures)
    resumen = {r[0]: r[1] for r in book["resumen"].iter_rows(min_row=2, values_only=True)}
    assert "sheep" not in resumen["cabezas"]
    assert "ovinos" in resumen["cabezas"]
    # figures are numbers a spreadsheet can add, with a number format, not text
    csv_summary = pd.read_csv(out / R.OUTPUT_FILES["summary_csv"]).set_index("figure")["value"]
    assert resumen["grupos"] == int(csv_summary["groups"])
    assert resumen["cota inferior"] == pytest.approx(float(csv_summary["bound"]))
    number_cells = [
        c for row in book["resumen"].iter_rows(min_row=2) for c in row[1:] if c.data_type == "n"
    ]
    assert len(number_cells) >= 10
    assert all(c.number_format.startswith("#,##0") for c in number_cells)
    deficit = book["déficit"]
    origin = [c.value for c in deficit[1]].index("Origen")
    assert deficit.cell(2, origin + 1).value.startswith("modelado:")
    ics = (out / R.OUTPUT_FILES["ics"]).read_text("utf-8")
    unfolded = ics.replace("\r\n ", "")
    assert "RANGE " not in unfolded
    assert "pradera abierta de " in unfolded
    # the CSV keep their machine names
    plots = pd.read_csv(out / R.OUTPUT_FILES["plots_csv"])
    assert {"groups", "status", "reason", "eaten_kg"} <= set(plots.columns)


def plots_agree_with_the_schedule(out, summary: pd.Series) -> None:
    """rotation_plots.csv tells what herders are told (the schedule), not the solver's UO.

    Per plot: the kg its stays eat, the first and last day a group is on it, and the ids
    of those groups (the ones of rotation_groups.csv); the summary's plot kg is their sum.
    """
    sched = pd.read_csv(out / R.OUTPUT_FILES["schedule_csv"])
    groups = set(pd.read_csv(out / R.OUTPUT_FILES["groups_csv"])[S.GROUP_ID])
    plots = pd.read_csv(out / R.OUTPUT_FILES["plots_csv"], keep_default_na=False)
    stays = sched[sched[S.LOCATION_KIND] == "plot"]
    assert len(stays), "the test needs a plan that grazes plots"
    for _, row in plots.iterrows():
        mine = stays[stays[S.LOCATION_ID] == row[S.LOCATION_ID]]
        assert abs(row["eaten_kg"] - mine[S.FORAGE_USED_KG].sum()) <= 1.0
        if mine.empty:
            assert row["status"] == "unused"
            assert row["first_grazed"] == ""
            assert row["groups"] == ""
            assert row["reason"] != ""
            continue
        assert row["status"] == "grazed"
        assert row["first_grazed"] == min(mine[S.START])
        assert row["last_grazed"] == max(mine[S.END])
        days = {
            d for _, s in mine.iterrows() for d in pd.date_range(s[S.START], s[S.END], freq="D")
        }
        assert row["grazed_periods"] * 7 == len(days)
        ids = set(row["groups"].split("+"))
        assert ids == set(mine[S.GROUP_ID])
        assert ids <= groups
    assert float(summary["plots_kg"]) == pytest.approx(stays[S.FORAGE_USED_KG].sum(), abs=1.0)


def test_gantt_is_readable(tmp_path):
    gp = R.place_groups(R.plan_rotation(synthetic(weeks=30), R.RotationParams(num_workers=1)))
    fig = R.outputs.gantt_figure(gp, today=date(2026, 3, 2), language="es")
    texts = [t for ax in fig.axes for t in ax.findobj(lambda o: hasattr(o, "get_fontsize"))]
    sizes = [t.get_fontsize() for t in texts if getattr(t, "get_text", lambda: "")()]
    assert sizes
    assert min(sizes) >= 8
    ax = fig.axes[0]
    assert ax.get_legend() is not None
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "A"  # grouped under each community
    assert "B" in labels
    assert any(t.get_text().strip() == "hoy" for t in ax.texts)
    bar_texts_stay_in_their_bars(fig, gp)


def bar_texts_stay_in_their_bars(fig, gp) -> None:
    """Every bar text lies on bars of its row (measured by the renderer), no two texts
    overlap, and a 30-week chart (about 1.4 inches a month) is wide enough for the heads of
    every stay, even a one-week one (groups on a plot at once share a label, 56+38)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    ax = fig.axes[0]
    bars = [
        path.get_extents(coll.get_transform())
        for coll in ax.collections
        if not coll.get_hatch()
        for path in coll.get_paths()
    ]
    texts = [t for t in ax.texts if t.get_text().strip() not in {"hoy", "today"}]
    boxes = [t.get_window_extent(renderer) for t in texts]
    for t, ext in zip(texts, boxes, strict=True):
        mid = (ext.y0 + ext.y1) / 2
        row = [b for b in bars if b.y0 <= mid <= b.y1]
        # both ends on a bar of the row and no gap between bars under the text
        covered = sorted((max(b.x0, ext.x0), min(b.x1, ext.x1)) for b in row if b.x1 > ext.x0
                         and b.x0 < ext.x1)  # fmt: skip
        assert covered, t.get_text()
        assert covered[0][0] <= ext.x0 + 0.5, t.get_text()
        reach = covered[0][1]
        for a, b in covered[1:]:
            assert a <= reach + 0.5, t.get_text()
            reach = max(reach, b)
        assert reach >= ext.x1 - 0.5, t.get_text()
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    # every stay's heads are written: its own, or in the total of the groups with it
    stays = [(k, i, t0, t1) for k, i, t0, t1 in R.outputs._stays(gp)
             if gp.inputs.locations[i].kind == "plot"]  # fmt: skip
    shown = {t.get_text().split()[-1] for t in texts}
    for k, i, t0, t1 in stays:
        mine = str(sum(gp.groups[k].heads))
        with_it = [kk for kk, ii, a, b in stays if ii == i and a <= t1 and b >= t0]
        total = str(sum(sum(gp.groups[kk].heads) for kk in with_it))
        assert any(mine in s.split("+") or s == total for s in shown), (k, i, t0)
    one_week = [1 for k, i, t0, t1 in R.outputs._stays(gp) if t0 == t1]
    assert one_week, "the test needs a one-week stay"


def test_calendar_text_neutralises_names_a_spreadsheet_would_run():
    # iCalendar TEXT escaping (RFC 5545 3.3.11) plus the CSV-injection apostrophe.
    from pastures.rotation.outputs import _ics_escape

    assert _ics_escape("=HYPERLINK(1);a,b") == "'=HYPERLINK(1)\\;a\\,b"
    assert _ics_escape("@SUM(A1)") == "'@SUM(A1)"
    assert _ics_escape("PAS-01") == "PAS-01"


def test_deficit_in_heads_at_the_peak_bales_and_oats():
    # 100 sheep (100 UO, 700 kg DM a week) as one group: too many for the 2 ha plot
    # (13.5 UO at most in January), so they stay on the range, which grows 350 kg a week:
    # 350 kg short every week from the first. At the peak: 350 / 7 = 50 sheep to sell by
    # 5 January; 1,400 kg in 25 kg bales at 85 % DM (21.25 kg DM): 65.9, so 66 bales;
    # oats: 150 days before the run-out date (8 August 2025) falls outside the sowing
    # window (Nov-Jan), so by the end of January before it, 31 January 2025: long before
    # the plan starts, so no oats are advised, and the table and the note say why.
    group = R.GrazingGroup("K1-OVI", "A", "K1", (0, 0, 100), (("F1", 0, 0, 100),), 100.0, 0, 0)
    inputs = replace(tiny(), groups=(group,))
    gp = R.place_groups(R.plan_rotation(inputs, R.RotationParams(num_workers=1)))
    assert (gp.place[0] == 1).all()  # the range
    table = R.deficit_table(gp)
    row = table.iloc[0]
    assert row["runs_out"] == row["by_date"] == "2026-01-05"
    assert row["peak_fodder_kg"] == 350
    assert (row["sell_alpacas"], row["sell_llamas"], row["sell_sheep"]) == (0, 0, 50)
    assert row["bales"] == 66
    assert pd.isna(row["oats_ha"])
    assert row["oats_sow_by"] == ""
    assert row["oats_note"].startswith("too late to sow oats")
    assert "January 31, 2025" in row["oats_note"]  # a sentence: the reader's date, not ISO
    note = R.deficit_note(row)
    assert "50 sheep by January 5, 2026" in note
    assert "66 bales of 25 kg" in note
    assert "ha of oats" not in note
    assert row["oats_note"] in note
    es = R.deficit_table(gp, language="es").iloc[0]
    assert es["oats_note"].startswith("demasiado tarde para sembrar avena")
    note = R.deficit_note(es, language="es")
    assert "50 ovinos antes del 5 de enero de 2026" in note
    assert "demasiado tarde para sembrar avena" in note
    assert "ha de avena" not in note


def test_oats_in_time_are_advised():
    # the same 100 sheep (700 kg DM a week) from 3 November 2025 on a range growing
    # 700 kg a week for 30 weeks, then 350: short from week 30, 3 Nov 2025 + 210 days =
    # 1 June 2026. 150 days before it is 2 January 2026, inside the sowing window and
    # after the plan starts: oats are advised, sown by that day.
    base = tiny(weeks=40)
    growth = tuple([700.0] * 30 + [350.0] * 10)
    locs = (base.locations[0], replace(base.locations[1], growth_kg=growth))
    group = R.GrazingGroup("K1-OVI", "A", "K1", (0, 0, 100), (("F1", 0, 0, 100),), 100.0, 0, 0)
    inputs = replace(base, groups=(group,), locations=locs, start=date(2025, 11, 3))
    gp = R.place_groups(R.plan_rotation(inputs, R.RotationParams(num_workers=1)))
    row = R.deficit_table(gp).iloc[0]
    assert row["runs_out"] == "2026-06-01"
    assert row["oats_sow_by"] == "2026-01-02"
    assert row["oats_note"] == ""
    assert "ha of oats by January 2, 2026" in R.deficit_note(row)


def test_sheet_names_of_any_community_are_accepted_by_excel() -> None:
    # Excel refuses [ ] : * ? / \, more than 31 characters and names equal but for case
    taken: set[str] = {"rutas"}
    names = [
        R.outputs.sheet_name(text, taken)
        for text in ("plan {{7*7}}", "plan a/b:c", "plan " + "x" * 40, "plan " + "x" * 40, "RUTAS")
    ]
    assert names == [
        "plan {{7_7}}",
        "plan a_b_c",
        "plan " + "x" * 26,
        "plan " + "x" * 22 + " (2)",
        "RUTAS (2)",
    ]
    assert all(len(n) <= 31 for n in names)


def test_too_late_for_oats_says_the_day_as_a_reader_writes_it():
    from pastures.rotation.deficit import too_late_for_oats

    note = too_late_for_oats(date(2025, 12, 12), language="es")
    assert "12 de diciembre de 2025" in note
    assert "2025-12-12" not in note
