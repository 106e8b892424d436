"""Hostile and careless project files: exit 1 with a message naming the file and the key.

Issue 23, item 5 and part of item 6: every case used to crash (MemoryError,
OverflowError, RecursionError, AttributeError: exit 3), be accepted (NaN, a CRS of
another zone, the whole world as the study area), or fail in a later stage.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from pastures.cli import main
from pastures.sample import sample_paths

pytestmark = pytest.mark.sample


def write_project(folder: Path, extra: str, *, head: str = "") -> Path:
    plots = sample_paths()["plots"].as_posix()
    path = folder / "project.toml"
    path.write_text(
        f'{head}[project]\nname = "t"\noutput = "run"\n[layers]\nplots = "{plots}"\n{extra}\n',
        encoding="utf-8",
    )
    return path


def run(path: Path) -> object:
    return CliRunner().invoke(main, ["run", str(path), "--skip", "map", "--skip", "print"])


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ("[vegetation]\nmin_valid = nan", "vegetation.min_valid", "finite number"),
        ("[risk.rusle]\nerosivity = nan", "risk.rusle.erosivity", "finite number"),
        ("[risk.rusle]\nerodibility = inf", "risk.rusle.erodibility", "<= 0.1"),
        ("[forage]\nuse_factor = 0.0", "forage.use_factor", "> 0"),
        ("[forage]\nbudget_month = 13", "forage.budget_month", "from 1 to 12"),
        ("[forage]\nmonthly_rain_mm = [-1" + ", 10" * 11 + "]", "monthly_rain_mm[0]", ">= 0"),
        ("[layers]\noverlap_tolerance_m2 = -inf", "layers.overlap_tolerance_m2", "finite"),
        ("[study_area]\nmargin_km = nan", "study_area.margin_km", "a length in km"),
        ("[rotation]\nstart = 9999-01-01", "rotation.start", "from 1900 to 2200"),
        ("[imagery]\nstart = 1066-10-14", "imagery.start", "from 1900 to 2200"),
        ("[forage.animal_units]\npreset = [1, 2]", "[forage]", ""),
        ("[forage]\nintake = [1, 2]", "[intake]: expected a table", ""),
        (
            "[forage.animal_units]\noverrides = [1, 2]",
            "forage.animal_units.overrides",
            "expected a table",
        ),
        ("forage = [1, 2]", "forage", "must be a table"),
        ("[rotation]\nperiod_days = 30", "rotation.period_days", "max_consecutive_days"),
        ('[study_area]\ncrs = "EPSG:32631"', "study_area.crs", "area of use of EPSG:32631"),
        ("[study_area]\nbounds = [-180, -90, 180, 90]", "study_area.bounds", "area of use"),
    ],
)
def test_bad_keys_are_refused_with_the_file_and_the_key(tmp_path, extra, key, words) -> None:
    if extra.startswith("[layers]"):  # a second [layers] table is not TOML: add to the first
        path = write_project(tmp_path, "")
        text = path.read_text(encoding="utf-8").replace("[layers]\n", extra + "\n", 1)
        path.write_text(text, encoding="utf-8")
    elif extra.startswith("forage = "):
        path = write_project(tmp_path, "", head=extra + "\n")
    else:
        path = write_project(tmp_path, extra)
    result = run(path)
    assert result.exit_code == 1, result.output
    assert "Internal error" not in result.output
    assert str(path) in result.output
    assert key in result.output
    assert words in result.output
    assert not (tmp_path / "run").exists()  # nothing written


def test_a_grid_too_large_is_refused_before_allocation_with_a_resolution_that_fits(
    tmp_path,
) -> None:
    # Juli (37 x 36 km) at 1 m: 1,330 million cells, 10 GiB per layer (it was a MemoryError)
    path = write_project(tmp_path, "[study_area]\nresolution_m = 1")
    result = run(path)
    assert result.exit_code == 1, result.output
    assert "study_area.resolution_m" in result.output
    # the finest whole metre that fits 25 million cells over the box, worked out here
    from pastures.project import StudyArea
    from pastures.schema import JULI_BOUNDS_LONLAT

    w, s, e, n = StudyArea("Juli", JULI_BOUNDS_LONLAT, "EPSG:32719").bounds_in_crs()
    fits = 1
    while -(-(e - w) // fits) * -(-(n - s) // fits) > 25_000_000:
        fits += 1
    assert f"Use resolution_m = {fits} or coarser" in result.output
    ok = write_project(tmp_path, f"[study_area]\nresolution_m = {fits}")
    from pastures.project import load_project_file

    assert load_project_file(ok).study_area.resolution_m == fits


def test_nesting_deeper_than_the_schema_is_refused(tmp_path) -> None:
    shallow = write_project(tmp_path, "[forage]\nx = " + "[" * 10 + "1" + "]" * 10)
    result = run(shallow)
    assert result.exit_code == 1, result.output
    assert "deeper" in result.output
    (tmp_path / "deep").mkdir()
    deep = write_project(tmp_path / "deep", "[forage]\nx = " + "[" * 20_000 + "]" * 20_000)
    result = run(deep)  # tomllib's own recursion (a RecursionError before)
    assert result.exit_code == 1, result.output
    assert "Internal error" not in result.output


def test_a_byte_order_mark_is_accepted(tmp_path) -> None:
    path = write_project(tmp_path, "[rotation]\nperiods = 4")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as Windows Notepad saves it
    from pastures.project import load_project_file

    assert load_project_file(path).rotation.periods == 4


def test_init_writes_juli_settings_commented_out_with_their_source(tmp_path) -> None:
    result = CliRunner().invoke(main, ["init", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "p" / "project.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert "dry_months" not in data["vegetation"]
    assert "budget_month" not in data["forage"]
    for key in ("# dry_months = [6, 7, 8, 9, 10]", "# budget_month = 8", "# erosivity = "):
        line = next(line for line in text.splitlines() if line.startswith(key))
        before = text[: text.index(line) + len(line)]
        assert "JULI DEFAULT" in before[-400:]  # the source is said beside the setting


def test_a_project_elsewhere_at_julis_values_is_warned_and_marked(tmp_path) -> None:
    from pastures.pipeline import juli_defaults_used
    from pastures.project import load_project_file

    # the LPIS area in France, with the plots check left to the layers stage
    left_out = write_project(tmp_path, "[study_area]\nbounds = [5.0, 45.76, 5.09, 45.82]")
    flagged = juli_defaults_used(load_project_file(left_out))
    assert set(flagged) == {
        "vegetation.dry_months",
        "forage.monthly_rain_mm",
        "forage.wet_months",
        "forage.budget_month",
        "risk.rusle.erosivity",
    }
    (tmp_path / "b").mkdir()
    same = write_project(
        tmp_path / "b",
        "[study_area]\nbounds = [5.0, 45.76, 5.09, 45.82]\n[vegetation]\n"
        "dry_months = [6, 7, 8, 9, 10]\n[forage]\nbudget_month = 8\nwet_months = [5, 6, 7]",
    )
    flagged = juli_defaults_used(load_project_file(same))
    assert "set to Juli's value" in flagged["vegetation.dry_months"]
    assert "set to Juli's value" in flagged["forage.budget_month"]
    assert "forage.wet_months" not in flagged  # its own value
