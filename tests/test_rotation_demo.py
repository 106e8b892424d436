"""Issue 18's "done when", on the outputs of ``pastures demo``, checked by this file's code.

One demo run (without the web map and the atlas) feeds every test here. Nothing is
taken from the rotation package: the weeks are expanded from the schedule's dates, the
open range's growth is rebuilt from ``forage/forage_communities.csv`` and the monthly
rain of Juli (DOMAIN.md), and the register is read from the sample's CSV.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from pastures.cli import main

HERE = Path(__file__).resolve().parent
REGISTER = HERE.parent / "data" / "boundaries" / "herds.csv"
SPECIES = ("alpacas", "llamas", "sheep")
#: Monthly rain at Juli, mm (DOMAIN.md), and the open range's uniform share of growth
#: (the forage budget's default, stated in forage/forage_communities.csv.json).
RAIN = (215.8, 182.2, 157.2, 50.2, 11.6, 5.3, 7.3, 14.2, 23.6, 45.0, 49.7, 123.4)
UNIFORM = 0.1
#: Standing forage lost a month (the budget's default), and a UO's intake: 50 g DM per
#: kg BW^0.75 of a 40 kg sheep (DOMAIN.md).
LOSS = 0.10
INTAKE_KG_DAY = 50 * 40**0.75 / 1000
#: Smallest group (the planner's documented default).
MIN_HEADS = 10


@pytest.fixture(scope="module")
def demo(sample_demo) -> Path:
    """The bundled sample's run folder (run once per session, see conftest.py)."""
    return sample_demo["folder"]


def weeks_of(schedule: pd.DataFrame, start: date) -> pd.DataFrame:
    """One row per group and week of the plan, from the stays' dates."""
    first = (pd.to_datetime(schedule["start"]) - pd.Timestamp(start)).dt.days // 7
    out = schedule.loc[schedule.index.repeat(schedule["days"] // 7)].copy()
    out["week"] = out.groupby(level=0).cumcount() + first.loc[out.index]
    out["week_start"] = [start + timedelta(days=7 * int(w)) for w in out["week"]]
    return out.reset_index(drop=True)


def load(demo: Path) -> tuple[pd.DataFrame, pd.DataFrame, date]:
    schedule = pd.read_csv(demo / "rotation" / "rotation_schedule.csv")
    start = date.fromisoformat(schedule["start"].min())
    return schedule, weeks_of(schedule, start), start


def test_schedule_columns_whole_heads_one_place(demo):
    schedule, weeks, _ = load(demo)
    assert list(schedule.columns) == [
        "group_id", "community", "location_id", "location_kind", "start", "end", "days",
        "alpacas", "llamas", "sheep", "uo", "forage_used_kg",
    ]  # fmt: skip
    for col in SPECIES:
        assert schedule[col].dtype.kind == "i"
        assert (schedule[col] >= 0).all()
    assert (schedule[list(SPECIES)].sum(axis=1) >= MIN_HEADS).all()
    assert (weeks.groupby(["group_id", "week"]).size() == 1).all()
    # every group every week
    n_weeks = weeks["week"].max() + 1
    assert weeks.groupby("group_id")["week"].nunique().eq(n_weeks).all()


def test_groups_add_up_to_the_register(demo):
    groups = pd.read_csv(demo / "rotation" / "rotation_groups.csv")
    assert list(groups.columns)[:1] == ["group_id"]
    assert {"group_id", "corral_id", "family_id", *SPECIES} <= set(groups.columns)
    register = pd.read_csv(REGISTER)
    for col in SPECIES:
        assert groups[col].sum() == register[col].sum()
        by_family = groups.groupby("family_id")[col].sum()
        want = register.set_index("family_id")[col]
        assert (by_family.reindex(want.index).fillna(0).astype(int) == want).all()
    # a group in the schedule carries the heads the group table gives it
    schedule, _, _ = load(demo)
    heads = groups.groupby("group_id")[list(SPECIES)].sum()
    got = schedule.drop_duplicates("group_id").set_index("group_id")[list(SPECIES)]
    pd.testing.assert_frame_equal(got.sort_index(), heads.sort_index(), check_names=False)


def test_plots_are_the_dry_season_reserve(demo):
    _, weeks, _ = load(demo)
    on_plots = weeks[weeks["location_kind"] == "plot"].copy()
    assert len(on_plots)
    kg_week = INTAKE_KG_DAY * 7
    on_plots["kg"] = on_plots["uo"] * kg_week
    months = pd.Series([d.month for d in on_plots["week_start"]], index=on_plots.index)
    dry = on_plots.loc[months.between(6, 11), "kg"].sum()
    assert dry / on_plots["kg"].sum() >= 0.60
    # no plot grazed December-March: the project asked for none
    assert not months.isin([12, 1, 2, 3]).any()


def _weekly_growth(annual_kg: float, start: date, n: int) -> list[float]:
    """This test's own split of a year's growth into weeks, by the rain of each month."""
    shares = [UNIFORM / 12 + (1 - UNIFORM) * r / sum(RAIN) for r in RAIN]
    out, day = [], start
    for _ in range(n):
        acc = 0.0
        for _ in range(7):
            days = 28 if day.month == 2 else calendar.monthrange(2025, day.month)[1]
            acc += annual_kg * shares[day.month - 1] / days
            day += timedelta(days=1)
        out.append(acc)
    return out


def test_open_range_never_eats_more_than_stands_and_grows(demo):
    _, weeks, start = load(demo)
    forage = pd.read_csv(demo / "forage" / "forage_communities.csv").set_index("community")
    profile = pd.read_csv(demo / "forage" / "forage_growth_profile.csv")
    mine = [UNIFORM / 12 + (1 - UNIFORM) * r / sum(RAIN) for r in RAIN]
    table = profile[profile["pasture_type"] == "open range"].sort_values("month")
    assert table["growth_share"].to_numpy() == pytest.approx(mine, abs=5e-4)
    deficit = pd.read_csv(demo / "rotation" / "rotation_deficit.csv").set_index("community")
    range_table = pd.read_csv(demo / "rotation" / "rotation_range.csv")
    keep = (1 - LOSS) ** (7 * 12 / 365.25)
    n = int(weeks["week"].max()) + 1
    on_range = weeks[weeks["location_kind"] == "open_range"]
    demand = (
        (on_range["uo"] * INTAKE_KG_DAY * 7)
        .groupby([on_range["community"], on_range["week"]])
        .sum()
    )
    for com, rows in range_table.groupby("community"):
        annual = float(
            forage.at[com, "open_range_ha"] * forage.at[com, "open_range_production_kg_ha_yr"]
        )
        growth = _weekly_growth(annual, start, n)
        assert rows["growth_kg"].to_numpy() == pytest.approx(growth, rel=1e-6, abs=0.1)
        stock = float(deficit.at[com, "range_standing_start_kg"])
        assert deficit.at[com, "range_standing_source"]
        eaten = rows["intake_kg"].to_numpy()
        fodder = rows["fodder_kg"].to_numpy()
        for t in range(n):
            assert eaten[t] <= stock + growth[t] + 1.0, (com, t)
            # what the groups on the range need: eaten there, or fodder
            need = float(demand.get((com, t), 0.0))
            assert eaten[t] + fodder[t] == pytest.approx(need, rel=1e-4, abs=1.0)
            stock = keep * max(stock + growth[t] - eaten[t], 0.0)


def test_deficit_in_heads_bales_and_oats_agrees_with_the_note(demo):
    deficit = pd.read_csv(demo / "rotation" / "rotation_deficit.csv")
    for col in (
        "range_standing_start_kg", "runs_out", "sell_alpacas", "sell_llamas", "sell_sheep",
        "by_date", "bales", "oats_ha",
    ):  # fmt: skip
        assert col in deficit.columns
    range_table = pd.read_csv(demo / "rotation" / "rotation_range.csv")
    register = pd.read_csv(REGISTER)
    uo = {"alpacas": (65 / 40) ** 0.75, "llamas": (108 / 40) ** 0.75, "sheep": 1.0}
    kg_week = INTAKE_KG_DAY * 7
    for _, row in deficit.iterrows():
        rows = range_table[range_table["community"] == row["community"]]
        short = rows[rows["fodder_kg"] > 0.5]
        if short.empty:
            assert row["sell_alpacas"] == row["sell_llamas"] == row["sell_sheep"] == 0
            continue
        assert row["runs_out"] == short["start"].min() == row["by_date"]
        # the heads to sell feed the peak week's gap, not the mean's
        herd = register[register["community"] == row["community"]][list(SPECIES)].sum()
        sold_uo = sum(row[f"sell_{c}"] * uo[c] for c in SPECIES)
        assert sold_uo * kg_week >= short["fodder_kg"].max() - 1.0
        assert sold_uo * kg_week > short["fodder_kg"].mean()
        for c in SPECIES:
            assert row[f"sell_{c}"] <= herd[c]
        total = rows["fodder_kg"].sum()
        assert row["bales"] == pytest.approx(total / (row["bale_kg"] * row["bale_dm_share"]), abs=1)
        if pd.isna(row["oats_ha"]):  # no oats can be sown in time: the table says why
            assert isinstance(row["oats_note"], str)
            assert row["oats_note"].startswith(("too late to sow oats", "demasiado tarde"))
            assert pd.isna(row["oats_sow_by"])
        else:
            assert row["oats_ha"] == pytest.approx(total / row["oats_kg_dm_ha"], abs=0.1)
            assert row["oats_sow_by"] >= load(demo)[2].isoformat()


def _long(iso: str) -> str:
    """An ISO day as an English sentence says it (``January 5, 2026``), by hand."""
    day = date.fromisoformat(iso)
    return f"{day:%B} {day.day}, {day.year}"


def test_the_printed_note_gives_the_table_figures(tmp_path):
    result = CliRunner().invoke(
        main, ["rotate", "--no-gantt", "--workers", "1", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    deficit = pd.read_csv(tmp_path / "rotation_deficit.csv")
    for _, row in deficit.iterrows():
        if not isinstance(row["runs_out"], str):
            continue
        line = next(x for x in result.output.splitlines() if x.strip().startswith(row["community"]))
        assert f"runs out on {_long(row['runs_out'])}" in line
        assert f"{int(row['bales']):,} bales" in line
        if pd.isna(row["oats_ha"]):
            assert row["oats_note"] in line
            assert "ha of oats" not in line
        else:
            assert f"{float(row['oats_ha']):,.1f} ha of oats by {_long(row['oats_sow_by'])}" in line
        for c, word in (("alpacas", "alpacas"), ("llamas", "llamas"), ("sheep", "sheep")):
            if row[f"sell_{c}"]:
                assert f"{int(row[f'sell_{c}']):,} {word}" in line


def test_map_and_atlas_name_groups_with_heads(demo):
    from pastures.outputs import plot_status, read_run
    from pastures.printmap.calendar import _group_labels

    schedule, _, _ = load(demo)
    stay = schedule[schedule["location_kind"] == "plot"].iloc[0]
    on = date.fromisoformat(stay["start"])
    status = plot_status(read_run(demo), on=on).set_index("plot_code")
    now = status.at[stay["location_id"], "grazing_now"]
    heads = ", ".join(
        f"{stay[c]} {short}"
        for c, short in (("alpacas", "alp"), ("llamas", "llam"), ("sheep", "ov"))
        if stay[c]
    )
    assert f"{stay['group_id']} ({heads})" in now
    labels = _group_labels(schedule[schedule["location_id"] == stay["location_id"]])
    assert labels[stay["group_id"]].endswith(f" {stay[['alpacas', 'llamas', 'sheep']].sum()}")
