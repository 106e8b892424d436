"""``pastures rotate`` through the real entry point."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from pastures import schema as S
from pastures.cli import main
from pastures.rotation_io import OUTPUT_FILES


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
            "rotate", *files_args(project_files), "--weeks", "8", "--time-limit", "10",
            "--workers", "1", "--max-group-uo", "50", "--reserve-dry", "ALF-02",
            "--close", "BET-01:2026-01-05:2026-01-31", "--actual", str(log),
            "--out", str(out), "--spanish",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Status: optimal" in result.output or "Status: feasible" in result.output
    for name in OUTPUT_FILES.values():
        assert (out / name).is_file()
    practice = pd.read_csv(out / "rotation_practice.csv")
    assert practice["Días"].tolist() == [47]
    assert practice["Días de exceso"].tolist() == [47 - 28]
    sched = pd.read_csv(out / OUTPUT_FILES["schedule_csv"])
    closed = sched[(sched["Lugar"] == "ALF-02")]
    assert closed.empty  # reserved for the dry season, the plan is in Jan-Feb
    cal = pd.read_csv(out / OUTPUT_FILES["calendar_csv"]).set_index(S.LOCATION_ID)
    assert (cal.loc["ALF-02"].iloc[1:] == "closed").all()


def test_rotate_greedy_baseline(runner, project_files, tmp_path):
    result = runner.invoke(
        main,
        ["rotate", *files_args(project_files), "--weeks", "4", "--solver", "greedy",
         "--no-gantt", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Status: greedy" in result.output
    assert not (tmp_path / OUTPUT_FILES["gantt"]).exists()


def test_rotate_unreachable_herds_are_named(runner, project_files, tmp_path):
    result = runner.invoke(
        main,
        ["rotate", *files_args(project_files), "--weeks", "4", "--max-walk-km", "0.1",
         "--out", str(tmp_path)],
    )  # fmt: skip
    # the open range starts at the corral gate, so herds still reach it: only a warning
    assert result.exit_code == 0, result.output
    assert "can reach none of its community's plots" in result.output


def test_rotate_bad_input(runner, project_files, tmp_path):
    result = runner.invoke(main, ["rotate", *files_args(project_files), "--weeks", "0"])
    assert result.exit_code != 0
    assert "--weeks 0" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(
        main, ["rotate", *files_args(project_files), "--share-tolerance", "2", "--weeks", "2"]
    )
    assert result.exit_code != 0
    assert "share_tolerance = 2.0" in result.output
    result = runner.invoke(
        main,
        ["rotate", *files_args(project_files), "--weeks", "4", "--close",
         "ALF-01:2026-02-01:2026-01-01", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "before it starts" in result.output


def test_rotate_forage_hard_infeasible(runner, project_files, tmp_path):
    result = runner.invoke(
        main,
        ["rotate", *files_args(project_files), "--weeks", "30", "--forage-hard", "--use-factor",
         "0.02",
         "--time-limit", "10", "--no-gantt", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "UO too many" in result.output
    assert "No plan keeps every hard rule" in result.output


@pytest.mark.sample
def test_rotate_bundled_sample(runner, tmp_path):
    result = runner.invoke(
        main, ["rotate", "--weeks", "4", "--time-limit", "10", "--no-gantt", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert "bundled illustrative Juli sample" in result.output
    assert "118 herds (43,450 UO), 51 locations" in result.output
    sched = pd.read_csv(tmp_path / OUTPUT_FILES["schedule_csv"])
    assert sched[S.DAYS].sum() == 118 * 4 * 7
