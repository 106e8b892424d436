"""``pastures rotate`` through the real entry point."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from pastures import schema as S
from pastures.cli import main
from pastures.rotation import OUTPUT_FILES


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def files_args(project_files) -> list[str]:
    return [
        "--communities", str(project_files["communities"]),
        "--plots", str(project_files["plots"]),
        "--corrals", str(project_files["corrals"]),
        "--herds", str(project_files["herds"]),
    ]  # fmt: skip


def test_rotate_user_files(runner, project_files, tmp_path):
    out = tmp_path / "plan"
    log = tmp_path / "log.csv"
    log.write_text("herd,plot,start,end\nALF-C1-G1,ALF-01,2026-01-05,2026-02-20\n", "utf-8")
    result = runner.invoke(
        main,
        [
            "rotate", *files_args(project_files), "--weeks", "8", "--workers", "1",
            "--max-group-uo", "50", "--reserve-dry", "ALF-02",
            "--close", "BET-01:2026-01-05:2026-01-31", "--actual", str(log),
            "--out", str(out), "--spanish",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Status: optimal" in result.output
    for name in OUTPUT_FILES.values():
        assert (out / name).is_file()
    practice = pd.read_csv(out / "rotation_practice.csv")
    assert practice[S.DAYS].tolist() == [47]  # a CSV keeps its column names
    assert practice[S.DAYS_OVER].tolist() == [47 - 28]
    sched = pd.read_csv(out / OUTPUT_FILES["schedule_csv"])
    assert sched[sched[S.LOCATION_ID] == "ALF-02"].empty  # reserved for the dry season
    cal = pd.read_csv(out / OUTPUT_FILES["calendar_csv"]).set_index(S.LOCATION_ID)
    assert (cal.loc["ALF-02"].iloc[1:] == "cerrada").all()
    plots = pd.read_csv(out / OUTPUT_FILES["plots_csv"]).set_index(S.LOCATION_ID)
    assert plots.at["ALF-02", "reason"] == "closed"
    assert "dry reserve" in plots.at["ALF-02", "closures"]
    # January-February: every plot is closed, the growing season's reserve closure
    assert sched[S.LOCATION_KIND].eq("open_range").all()
    assert "growing season" in plots.at["ALF-01", "closures"]


def test_rotate_plans_from_the_index_table(runner, project_files, tmp_path):
    # ALF-02 (bofedal, 1 ha) at NDVI 0.6 in March and 0.5 in August: production
    # 1,615 x 0.6^1.318 = 822.6 kg DM/ha/yr (Zorogastua-Cruz 2012), usable half 411.3;
    # standing stock 1,615 x 0.5^1.318 / 2 = 323.88 kg. Over 364 days from 5 January the
    # plot grows all but 4 January's share: bofedal January share 0.4/12 + 0.6 x
    # 215.8/885.5 = 0.17955, a day 0.0057920, so 411.3 x 0.994208 = 408.92 kg.
    rows = []
    for day, value in (("2024-03-10", 0.6), ("2024-08-01", 0.5)):
        rows.append(("ALF-02", day, "ndvi", S.STAT_MEAN, value))
        rows.append(("ALF-02", day, "ndvi", S.STAT_VALID_FRACTION, 1.0))
    index = tmp_path / "indices.parquet"
    pd.DataFrame(rows, columns=list(S.ZONAL_COLUMNS)).to_parquet(index)
    out = tmp_path / "plan"
    result = runner.invoke(
        main,
        ["rotate", *files_args(project_files), "--indices", str(index), "--workers", "1",
         "--no-gantt", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plots = pd.read_csv(out / OUTPUT_FILES["plots_csv"]).set_index(S.LOCATION_ID)
    assert "peak standing biomass" in plots.at["ALF-02", "source"]
    assert "pasture-type default" in plots.at["ALF-01", "source"]
    production = 1615 * 0.6**1.318 * 0.5
    usable = 1615 * 0.5**1.318 / 2 + production * (1 - (0.4 / 12 + 0.6 * 215.8 / 885.5) / 31)
    assert plots.at["ALF-02", "usable_kg"] == pytest.approx(usable, abs=1.0)
    # checked outside the planner: no plot eats more than its usable forage
    sched = pd.read_csv(out / OUTPUT_FILES["schedule_csv"])
    eaten = sched[sched[S.LOCATION_KIND] == "plot"].groupby(S.LOCATION_ID)[S.FORAGE_USED_KG].sum()
    assert (eaten <= plots["usable_kg"].reindex(eaten.index) + 1).all()


def test_rotate_calibrates_every_type_with_field_cuts(runner, project_files, tmp_path):
    # All three plots at NDVI 0.6 in March and 0.3 in August; the cuts weigh exactly
    # 50 + 1500 x NDVI, so the pajonal and tolar plots follow their index too.
    rows, cuts = [], []
    for code in ("ALF-01", "ALF-02", "BET-01"):
        for day, value in (("2024-03-10", 0.6), ("2024-08-01", 0.3)):
            rows.append((code, day, "ndvi", S.STAT_MEAN, value))
            rows.append((code, day, "ndvi", S.STAT_VALID_FRACTION, 1.0))
            cuts.append({"plot_code": code, "date": day, "biomass_kg_ha": 50 + 1500 * value})
    index = tmp_path / "indices.parquet"
    pd.DataFrame(rows, columns=list(S.ZONAL_COLUMNS)).to_parquet(index)
    cuts_csv = tmp_path / "cortes.csv"
    pd.DataFrame(cuts).to_csv(cuts_csv, index=False)
    out = tmp_path / "plan"
    args = ["rotate", *files_args(project_files), "--indices", str(index), "--calibration",
            str(cuts_csv), "--workers", "1", "--no-gantt", "--out", str(out)]  # fmt: skip
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    plots = pd.read_csv(out / OUTPUT_FILES["plots_csv"]).set_index(S.LOCATION_ID)
    plot_rows = plots[plots.index.str.startswith(("ALF", "BET"))]
    assert plot_rows["source"].str.contains("quadrat cuts").all()
    # without --indices the cuts cannot be paired: a usage error naming the option
    result = runner.invoke(main, ["rotate", *files_args(project_files), "--calibration",
                                  str(cuts_csv), "--out", str(tmp_path / "x")])  # fmt: skip
    assert result.exit_code != 0
    assert "--calibration needs --indices" in result.output


def test_rotate_takes_a_written_forage_budget(runner, project_files, tmp_path):
    assert runner.invoke(main, ["forage", *files_args(project_files), "--out",
                                str(tmp_path / "fo")]).exit_code == 0  # fmt: skip
    table = pd.read_csv(tmp_path / "fo" / "forage_plots.csv")
    row = table[S.PLOT_CODE] == "ALF-01"
    table.loc[row, [S.AVAILABLE, S.STANDING_KG_HA]] = 0.0
    table.loc[row, S.FORAGE_METHOD] = "quadrat survey 2026"
    table.to_csv(tmp_path / "budget.csv", index=False)
    out = tmp_path / "plan"
    result = runner.invoke(
        main,
        ["rotate", *files_args(project_files), "--forage-budget", str(tmp_path / "budget.csv"),
         "--weeks", "6", "--workers", "1", "--no-gantt", "--no-reserve", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plots = pd.read_csv(out / OUTPUT_FILES["plots_csv"]).set_index(S.LOCATION_ID)
    assert plots.at["ALF-01", "source"] == "quadrat survey 2026"
    assert plots.at["ALF-01", "reason"] == "no forage"
    table.drop(columns=[S.STANDING_KG_HA]).to_csv(tmp_path / "bad.csv", index=False)
    result = runner.invoke(
        main,
        ["rotate", *files_args(project_files), "--forage-budget", str(tmp_path / "bad.csv"),
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "standing_available_kg_ha" in result.output


def test_rotate_greedy_baseline(runner, project_files, tmp_path):
    result = runner.invoke(
        main,
        ["rotate", *files_args(project_files), "--weeks", "4", "--solver", "greedy",
         "--no-gantt", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Status: greedy" in result.output
    assert not (tmp_path / OUTPUT_FILES["gantt"]).exists()


def test_rotate_far_plots_are_named(runner, project_files, tmp_path):
    result = runner.invoke(
        main,
        ["rotate", *files_args(project_files), "--weeks", "4", "--max-walk-km", "0.1",
         "--no-reserve", "--no-gantt", "--out", str(tmp_path)],
    )  # fmt: skip
    # the open range starts at the corral gate: herds still graze, the plots are too far
    assert result.exit_code == 0, result.output
    assert "ALF-01 (too far)" in result.output


def test_rotate_twice_same_schedule(runner, project_files, tmp_path):
    for name in ("one", "two"):
        result = runner.invoke(
            main,
            ["rotate", *files_args(project_files), "--weeks", "12", "--no-gantt", "--out",
             str(tmp_path / name)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    one = (tmp_path / "one" / OUTPUT_FILES["schedule_csv"]).read_bytes()
    assert one == (tmp_path / "two" / OUTPUT_FILES["schedule_csv"]).read_bytes()
    # every output, the summary and the workbook too: no seconds in them, so a busy
    # machine writes the same files as an idle one
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert "rotation_summary.csv" in names
    for name in names:
        first, second = (tmp_path / run / name for run in ("one", "two"))
        assert first.read_bytes() == second.read_bytes(), name
    summary = (tmp_path / "one" / "rotation_summary.csv").read_text()
    assert "seconds" not in summary


def test_rotate_bad_input(runner, project_files, tmp_path):
    result = runner.invoke(main, ["rotate", *files_args(project_files), "--weeks", "0"])
    assert result.exit_code == 2  # a usage error: the option's range is 1-520
    assert "--weeks" in result.output
    result = runner.invoke(
        main, ["rotate", *files_args(project_files), "--close", "NOPE:2026-01-05:2026-02-01",
               "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "NOPE" in result.output


def test_rotate_refuses_a_closure_that_ends_before_it_starts(runner, project_files, tmp_path):
    result = runner.invoke(
        main, ["rotate", *files_args(project_files), "--close", "ALF-01:2026-03-01:2026-02-01",
               "--out", str(tmp_path / "o")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "ends (2026-02-01) before it starts (2026-03-01)" in result.output
    assert not (tmp_path / "o").exists()


def test_rotate_without_plots_plans_the_open_range(runner, project_files, tmp_path):
    # issue 23: --communities, --corrals and --herds without --plots crashed (KeyError)
    result = runner.invoke(
        main,
        ["rotate", "--communities", str(project_files["communities"]), "--corrals",
         str(project_files["corrals"]), "--herds", str(project_files["herds"]), "--weeks", "4",
         "--no-gantt", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    sched = pd.read_csv(tmp_path / OUTPUT_FILES["schedule_csv"])
    assert sched[S.LOCATION_KIND].eq("open_range").all()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--weeks", "100000"], "--weeks"),
        (["--weeks", "2.5"], "--weeks"),
        (["--gap", "nan"], "--gap"),
        (["--time-limit", "inf"], "--time-limit"),
        (["--max-walk-km", "-1"], "--max-walk-km"),
        (["--share-tolerance", "2"], "--share-tolerance"),
        (["--max-group-uo", "nan"], "--max-group-uo"),
        (["--workers", "0"], "--workers"),
    ],
)
def test_rotate_options_refuse_nan_infinity_and_out_of_range(runner, tmp_path, args, words):
    result = runner.invoke(main, ["rotate", *args, "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert not (tmp_path / "o").exists()


def test_rotate_refuses_a_daily_plan_too_long_to_build(runner, tmp_path):
    result = runner.invoke(main, ["rotate", "--daily", "--weeks", "200", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "at most 104 weeks" in result.output


def test_a_missing_file_is_said_once(runner, project_files, tmp_path):
    # one error: one line naming it, and the count says 1 (as check and forage do)
    missing = tmp_path / "noexiste.gpkg"
    args = {**project_files, "plots": missing}
    result = runner.invoke(main, ["rotate", *files_args(args), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1, result.output
    lines = [x for x in result.output.splitlines() if "noexiste.gpkg" in x]
    assert len(lines) == 1, result.output
    assert "file not found" in lines[0]
    assert "1 error, 0 warnings." in result.output
