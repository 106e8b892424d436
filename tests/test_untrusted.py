"""Names, run folders and caches are data: nothing in them is run as code.

Each case goes through the real command-line entry point and must end with a
message and exit 0, 1 or 2, never with "Internal error" (exit 3).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from pastures import outputs as O
from pastures import schema as S
from pastures.cli import main
from test_webmap import make_run

#: A Jinja2 expression that creates the folder PWNED in the working folder if it is
#: ever rendered as a template (the issue's payload).
JINJA_MARKER = "{{ cycler.__init__.__globals__.os.makedirs(dict(PWNED=1)|first, exist_ok=True) }}"
JINJA_SUM = "{{7*7}}"
JINJA_QUOTE = "{{ 'a\" }}"
RTL = "Ayllu \u202eilluJ"


def rename_everywhere(folder: Path, renames: dict[str, str]) -> None:
    """Replace plot codes and community names in every layer and table of a run folder."""
    gpkg = folder / "layers.gpkg"
    for layer in (S.COMMUNITIES, S.PLOTS, S.CORRALS, S.WATER_POINTS):
        frame = gpd.read_file(gpkg, layer=layer)
        frame = frame.replace(renames)
        frame.to_file(gpkg, layer=layer, engine="pyogrio")
    for key in ("index_trends", "forage_plots", "risk_plots", "schedule"):
        path = folder / O.RUN_FILES[key]
        pd.read_csv(path).replace(renames).to_csv(path, index=False)
    path = folder / O.RUN_FILES["index_series"]
    pd.read_parquet(path).replace(renames).to_parquet(path)


@pytest.fixture
def hostile_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    run = make_run(tmp_path / "run")
    rename_everywhere(
        run, {"P-1": JINJA_MARKER, "Pasiri": JINJA_SUM, "C-1": JINJA_QUOTE, "W-1": RTL}
    )
    return run


def test_a_jinja_name_shows_literally_in_the_map_and_runs_nothing(hostile_run: Path) -> None:
    result = CliRunner().invoke(main, ["map", str(hostile_run), "--on", "2026-01-05"])
    assert result.exit_code == 0, result.output
    assert not (hostile_run.parent / "PWNED").exists()
    page = (hostile_run / "map.html").read_text(encoding="utf-8")
    # the names are in the page as they were written (JSON-escaped, never evaluated)
    assert "{{7*7}}" in page
    assert "cycler.__init__.__globals__" in page
    assert ">49<" not in page
    assert "\u202e" not in page  # the override is left out, the letters kept
    assert "Ayllu illuJ" in page


def test_two_builds_of_a_map_are_byte_identical(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    pages = []
    for name in ("a.html", "b.html"):
        out = tmp_path / name
        result = CliRunner().invoke(
            main,
            ["map", str(run), "-o", str(out), "--on", "2026-01-05"],
            env={"SOURCE_DATE_EPOCH": "1767225600"},
        )
        assert result.exit_code == 0, result.output
        pages.append(out.read_bytes())
    assert pages[0] == pages[1]
    assert b"hecho el 1 ene 2026" in pages[0]  # the date is SOURCE_DATE_EPOCH's


def test_a_jinja_name_prints_literally_and_runs_nothing(hostile_run: Path) -> None:
    pypdf = pytest.importorskip("pypdf")
    out = hostile_run.parent / "atlas"
    result = CliRunner().invoke(main, ["print", str(hostile_run), "-o", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert not (hostile_run.parent / "PWNED").exists()
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(out / "atlas.pdf").pages)
    assert "{{7*7}}" in text


# --- run folders: nothing in them is unpickled or executed ------------------------------------


#: A pickle that creates the folder PWNED beside the run folder when it is loaded.
class _Payload:
    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        import os

        return (os.makedirs, (str(self.target),))


def plant_pickles(run: Path, marker: Path) -> None:
    """Put a hostile pickle wherever an older pastures kept its stage results."""
    import pickle

    cache = run / ".pastures"
    cache.mkdir(exist_ok=True)
    for stage in ("layers", "vegetation", "forage", "rotation", "erosion", "package", "map"):
        (cache / f"{stage}.pickle").write_bytes(pickle.dumps(_Payload(marker)))
    (run / "forage" / "budget.pickle").write_bytes(pickle.dumps(_Payload(marker)))


SKIP_MAPS = ["--skip", "map", "--skip", "print"]


@pytest.fixture
def small_run(tmp_path: Path, project_files, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    from test_pipeline import tiny_project

    project = tiny_project(tmp_path, project_files, imagery=False)
    monkeypatch.setattr("pastures.project.sample_project_path", lambda: project)
    run = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(project), "--out", str(run), *SKIP_MAPS])
    assert result.exit_code == 0, result.output
    return project, run


def test_a_planted_pickle_runs_nothing(small_run: tuple[Path, Path], tmp_path: Path) -> None:
    project, run = small_run
    marker = tmp_path / "PWNED"
    plant_pickles(run, marker)
    again = CliRunner().invoke(main, ["run", str(project), "--out", str(run), *SKIP_MAPS])
    assert again.exit_code == 0, again.output
    assert not marker.exists()
    # every stage was reused from its verified files, not recomputed and not unpickled
    manifest = json.loads((run / "run_manifest.json").read_text())
    assert set(manifest["stages"]) >= {"layers", "forage", "rotation", "package"}
    for stage in ("layers", "forage", "rotation", "package"):
        assert re.search(rf"\n  {stage} +[\d.]+ s  skipped", again.output), again.output
    demo = CliRunner().invoke(main, ["demo", "--out", str(run), *SKIP_MAPS])
    assert demo.exit_code == 0, demo.output
    for command in (["map", str(run)], ["print", str(run), "--workers", "1"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 0, result.output
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "warned"),
    [
        ("null", True),
        ("[]", True),
        ('{"stages": {"layers": "x"}}', True),
        ('{"stages": [1]}', True),
        ("{not json", True),
        ('{"stages": {"layers": {"key": 1, "files": ["../x"]}}, "checksums": 3}', False),
    ],
)
def test_a_damaged_manifest_means_recompute_with_a_warning(
    small_run: tuple[Path, Path], text: str, warned: bool
) -> None:
    project, run = small_run
    (run / "run_manifest.json").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(project), "--out", str(run), *SKIP_MAPS])
    assert result.exit_code == 0, result.output
    assert ("run_manifest.json" in result.output) is warned
    manifest = json.loads((run / "run_manifest.json").read_text())
    assert manifest["stages"]["layers"]["key"]  # written afresh


# --- damaged run folders: a message naming the file and the column, exit 1 ------------------


def _damage_forage(run: Path) -> str:
    pd.DataFrame({"parcela": ["P-1"], "capacidad": [3]}).to_csv(
        run / O.RUN_FILES["forage_plots"], index=False
    )
    return "forage_plots.csv: no column 'plot_code'"


def _damage_series(run: Path) -> str:
    path = run / O.RUN_FILES["index_series"]
    pd.read_parquet(path).drop(columns=[S.INDEX]).to_parquet(path)
    return "index_series.parquet: no column 'index'"


def _damage_provenance(run: Path) -> str:
    (run / O.RUN_FILES["provenance"]).write_text("[1, 2]", encoding="utf-8")
    return "provenance.json: holds a list"


def _damage_schedule(run: Path) -> str:
    path = run / O.RUN_FILES["schedule"]
    pd.read_csv(path).assign(start=["soon", "later"]).to_csv(path, index=False)
    return "rotation_schedule.csv: column 'start' must hold a date; row 2 holds 'soon'"


def _damage_trends(run: Path) -> str:
    path = run / O.RUN_FILES["index_trends"]
    pd.read_csv(path).assign(trend_per_year=["up", "down"]).to_csv(path, index=False)
    return "index_trends.csv: column 'trend_per_year' must hold a number"


def _damage_layer(run: Path) -> str:
    gpkg = run / "layers.gpkg"
    plots = gpd.read_file(gpkg, layer=S.PLOTS).drop(columns=[S.PLOT_CODE])
    plots.to_file(gpkg, layer=S.PLOTS, engine="pyogrio")
    return "layers.gpkg (layer plots): no column 'plot_code'"


@pytest.mark.parametrize(
    "damage",
    [
        _damage_forage,
        _damage_series,
        _damage_provenance,
        _damage_schedule,
        _damage_trends,
        _damage_layer,
    ],
)
@pytest.mark.parametrize("command", ["map", "print"])
def test_a_damaged_run_folder_is_named_not_a_crash(tmp_path: Path, damage, command: str) -> None:
    run = make_run(tmp_path / "run")
    expected = damage(run)
    result = CliRunner().invoke(main, [command, str(run)])
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert expected in text
    assert "pastures run" in text  # the command that writes it again
    assert "Internal error" not in text


# --- outputs that are current: a stage that no longer runs leaves nothing behind --------------


def test_outputs_of_stages_that_no_longer_run_are_removed(tmp_path: Path, project_files) -> None:
    from test_pipeline import tiny_project

    project = tiny_project(tmp_path, project_files)
    run = tmp_path / "run"
    skip_print = ["--skip", "print"]

    def run_it() -> str:
        result = CliRunner().invoke(main, ["run", str(project), "--out", str(run), *skip_print])
        assert result.exit_code == 0, result.output
        return result.output

    run_it()
    assert (run / O.RUN_FILES["schedule"]).is_file()
    assert (run / O.RUN_FILES["soil_loss"]).is_file()
    # the herds are removed: the plan is not needed, its files and entry go
    text = project.read_text(encoding="utf-8")
    project.write_text(
        "\n".join(line for line in text.splitlines() if not line.startswith("herds =")),
        encoding="utf-8",
    )
    output = run_it()
    assert "removed the" in output
    assert not (run / "rotation").exists()
    manifest = json.loads((run / "run_manifest.json").read_text())
    assert "rotation" not in manifest["stages"]
    page = (run / "map.html").read_text(encoding="utf-8")
    assert "Sin plan de rotación" in page  # said once, in the map's own words
    # then the DEM and the imagery are switched off: no risk or index output remains
    text = project.read_text(encoding="utf-8")
    text = text.replace('source = "files"', 'source = "none"').replace(
        'source = "file"', 'source = "none"'
    )
    project.write_text(text, encoding="utf-8")
    run_it()
    assert not (run / "risk").exists()
    assert not (run / "indices").exists()
    page = (run / "map.html").read_text(encoding="utf-8")
    groups = re.search(r"layers: \{([^}]*)\}", page).group(1)  # the map's layers
    assert "soil_loss" not in groups
    assert "risk_raster" not in groups
    assert "rotation" not in groups
    assert "Sin riesgo de erosión" in page
    assert "Sin capa de índices de vegetación" in page
    for stage in ("vegetation", "erosion"):
        assert stage not in json.loads((run / "run_manifest.json").read_text())["stages"]
    pypdf = pytest.importorskip("pypdf")
    result = CliRunner().invoke(main, ["print", str(run), "--workers", "1"])
    assert result.exit_code == 0, result.output
    cover = " ".join(pypdf.PdfReader(run / "atlas" / "atlas.pdf").pages[0].extract_text().split())
    assert "Sin plan de rotación: no herd register" in cover
    assert "Sin riesgo de erosión: no DEM in the project" in cover


# --- our own files read back: a plot coded like a formula goes through every stage ------------


def test_a_plot_coded_like_a_formula_goes_through_every_stage(
    tmp_path: Path, project_files
) -> None:
    from pastures.printmap import status as printmap_status
    from test_pipeline import tiny_project

    plots_file = project_files["plots"]
    gpd.read_file(plots_file).replace({"ALF-01": "=A1"}).to_file(plots_file, engine="pyogrio")
    project = tiny_project(tmp_path, project_files)
    run = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(project), "--out", str(run), *SKIP_MAPS])
    assert result.exit_code == 0, result.output
    # the CSV keeps the spreadsheet guard; every reader takes it off again
    assert "'=A1" in (run / O.RUN_FILES["forage_plots"]).read_text(encoding="utf-8")
    status = O.plot_status(O.read_run(run)).set_index(S.PLOT_CODE)
    for column in (S.RANGE_CONDITION, S.CAPACITY_UO, S.RISK_CLASS):
        assert pd.notna(status.at["=A1", column]), column
    atlas = printmap_status._status_table(O.read_run(run)).set_index(S.PLOT_CODE)
    assert pd.notna(atlas.at["=A1", S.RANGE_CONDITION])
    assert pd.notna(atlas.at["=A1", S.RISK_CLASS])
    # a rerun reuses the stages (their tables read back with the same codes)
    again = CliRunner().invoke(main, ["run", str(project), "--out", str(run), *SKIP_MAPS])
    assert again.exit_code == 0, again.output
    assert re.search(r"\n  erosion +[\d.]+ s  skipped", again.output), again.output
    # rotate reads the forage table the run wrote
    out = tmp_path / "plan"
    files = [f"--{k}={v}" for k, v in project_files.items()]
    result = CliRunner().invoke(
        main,
        ["rotate", *files, "--forage-budget", str(run / O.RUN_FILES["forage_plots"]),
         "--weeks", "4", "--workers", "1", "--no-gantt", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plan = pd.read_csv(out / "rotation_plots.csv", dtype=str)
    assert "'=A1" in set(plan[S.LOCATION_ID])  # written with the guard, read as =A1


# --- identical runs ------------------------------------------------------------------------


def test_two_demo_runs_write_the_same_bytes(
    tmp_path: Path, project_files, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from test_pipeline import tiny_project

    project = tiny_project(tmp_path, project_files)
    monkeypatch.setattr("pastures.project.sample_project_path", lambda: project)
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    for name in ("a", "b"):
        result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        time.sleep(1.1)  # a clock in any output would now differ
    a, b = tmp_path / "a", tmp_path / "b"
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert {"layers.gpkg", "map.html", "atlas/atlas.pdf", "forage/forage.gpkg"} <= {
        f.as_posix() for f in files
    }
    differ = [
        f.as_posix()
        for f in files
        if f.name not in {"run_manifest.json", "provenance.json"}
        and (a / f).read_bytes() != (b / f).read_bytes()
    ]
    assert differ == []
    assert sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file()) == files


# --- clean kills ------------------------------------------------------------------------------


def _children(pid: int) -> set[int]:
    """Processes whose parent is `pid` (Linux /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_a_kill_during_print_leaves_no_worker_and_no_part_folder(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from printmap_helpers import build_run

    run = build_run(tmp_path / "run")
    out = tmp_path / "atlas"
    command = [sys.executable, "-m", "pastures", "print", str(run), "-o", str(out)]
    proc = subprocess.Popen(
        [*command, "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        workers = _children(proc.pid)
        if len(workers) >= 2 and list(out.glob(".atlas-*")):
            break
        time.sleep(0.02)
    assert workers, "the print ended before its workers could be seen"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not [w for w in workers if _alive(w)]
    assert list(out.glob(".atlas-*"))  # the killed run could not clean up ...
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert not list(out.glob(".atlas-*"))  # ... the next one did
    assert (out / "atlas.pdf").is_file()


def test_temporaries_of_a_killed_run_go_even_when_every_stage_is_skipped(
    small_run: tuple[Path, Path],
) -> None:
    import os

    project, run = small_run
    leftovers = [
        run / "forage" / ".pastures-tmp-forage.gpkg.x1y2.gpkg",
        run / ".pastures-tmp-layers.gpkg.z.gpkg",
    ]
    for path in leftovers:
        path.write_bytes(b"half")
        os.utime(path, (1_000_000_000, 1_000_000_000))
    result = CliRunner().invoke(main, ["run", str(project), "--out", str(run), *SKIP_MAPS])
    assert result.exit_code == 0, result.output
    assert re.search(r"\n  forage +[\d.]+ s  skipped", result.output)
    assert not any(path.exists() for path in leftovers)


# --- names the atlas must print: long, right-to-left overrides, characters with no font ------


def test_long_rtl_and_cjk_names_print_with_short_file_names_and_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pypdf = pytest.importorskip("pypdf")
    from test_webmap import EVIL_COMMUNITY

    monkeypatch.chdir(tmp_path)
    run = make_run(tmp_path / "run")
    long_name = "Comunidad Campesina " + "Muy Larga " * 50  # 520 characters
    rtl_name = "Ayllu \u202eilluJ 羊 🦙"
    rename_everywhere(run, {"Pasiri": rtl_name, EVIL_COMMUNITY: long_name})
    out = tmp_path / "atlas"
    result = CliRunner().invoke(main, ["print", str(run), "-o", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    from pastures.printmap import font_families, missing_glyphs

    lost = missing_glyphs(["羊 🦙"], font_families())  # none where Noto CJK/emoji are installed
    assert ("no installed font has them" in text) is bool(lost)
    assert all(c in text for c in lost)
    names = sorted(p.name for p in out.iterdir())
    assert all(len(n) <= 70 for n in names), names
    assert len(names) == 3  # atlas.pdf and one PDF per community
    pages = " ".join(p.extract_text() for p in pypdf.PdfReader(out / "atlas.pdf").pages)
    assert "\u202e" not in pages
    assert "Ayllu illuJ" in pages  # the letters in the order they were typed


# --- bands that are not real numbers ---------------------------------------------------------


def test_a_complex_band_is_refused_for_its_scene_and_the_others_kept(tmp_path: Path) -> None:
    import rasterio

    from imagery_helpers import UTM, X0, Y0, s2_band_files

    s2_band_files(tmp_path / "good", date="20240105")
    bad = s2_band_files(tmp_path / "complex", date="20240115")
    with rasterio.open(bad["B08"]) as src:
        profile, data = src.profile, src.read()
    profile.update(dtype="complex64", nodata=None)
    with rasterio.open(bad["B08"], "w", **profile) as dst:
        dst.write(data.astype("complex64"))
    plots = gpd.GeoDataFrame(
        {S.PLOT_CODE: ["A"], S.COMMUNITY: ["Alfa"], S.PASTURE_TYPE: ["bofedal"]},
        geometry=[shapely.box(X0 + 10, Y0 - 50, X0 + 50, Y0 - 10)],
        crs=UTM,
    )
    plots.to_file(tmp_path / "plots.gpkg", engine="pyogrio")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["indices", str(tmp_path / "good"), str(tmp_path / "complex"),
         "--plots", str(tmp_path / "plots.gpkg"), "--index", "ndvi", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "complex64 pixels, not real numbers" in text
    series = pd.read_csv(out / "index_series.csv")
    means = series[(series[S.STATISTIC] == S.STAT_MEAN) & series[S.VALUE].notna()]
    assert sorted(means[S.DATE].str[:10].unique()) == ["2024-01-05"]


def test_a_jinja_community_name_runs_nothing_through_run(
    tmp_path: Path, project_files, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_pipeline import tiny_project

    monkeypatch.chdir(tmp_path)
    for kind in ("communities", "plots", "corrals"):
        path = project_files[kind]
        gpd.read_file(path).replace({"Alfa": JINJA_MARKER, "Beta": JINJA_SUM}).to_file(
            path, engine="pyogrio"
        )
    herds = pd.read_csv(project_files["herds"]).replace({"Alfa": JINJA_MARKER, "Beta": JINJA_SUM})
    herds.to_csv(project_files["herds"], index=False)
    project = tiny_project(tmp_path, project_files, imagery=False)
    run = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(project), "--out", str(run)])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "PWNED").exists()
    page = (run / "map.html").read_text(encoding="utf-8")
    assert "{{7*7}}" in page
    assert "cycler.__init__.__globals__" in page


def test_a_renamed_input_is_named_in_the_provenance(small_run: tuple[Path, Path]) -> None:
    import shutil

    project, run = small_run
    text = project.read_text(encoding="utf-8")
    old = next(line for line in text.splitlines() if line.startswith("plots ="))
    source = Path(old.split('"')[1])
    renamed = source.with_name("parcelas_2026.gpkg")
    shutil.copyfile(source, renamed)
    project.write_text(text.replace(source.as_posix(), renamed.as_posix()), encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(project), "--out", str(run), *SKIP_MAPS])
    assert result.exit_code == 0, result.output
    assert re.search(r"\n  layers +[\d.]+ s  skipped", result.output)  # same bytes: reused
    inputs = json.loads((run / "provenance.json").read_text())["inputs"]
    paths = {Path(i["path"]).name for i in inputs}
    assert "parcelas_2026.gpkg" in paths
    assert source.name not in paths


def test_a_plan_left_by_a_run_with_a_lost_manifest_goes_when_the_herds_do(
    small_run: tuple[Path, Path],
) -> None:
    project, run = small_run
    assert (run / O.RUN_FILES["schedule"]).is_file()
    (run / "run_manifest.json").write_text("null", encoding="utf-8")
    text = project.read_text(encoding="utf-8")
    project.write_text(
        "\n".join(line for line in text.splitlines() if not line.startswith("herds =")),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["run", str(project), "--out", str(run), *SKIP_MAPS])
    assert result.exit_code == 0, result.output
    assert not (run / O.RUN_FILES["schedule"]).exists()


def test_the_formula_guard_round_trips_every_text() -> None:
    from pastures.io import neutralise_text, restore_text

    for text in ("=A1", "'=A1", "''=A1", "+1 555", "-x", "@SUM(A1)", "'quoted", "-1.5", "P-1", ""):
        written = neutralise_text(text)
        assert restore_text(written) == text, (text, written)
        if text.lstrip("'")[:1] in "=+-@" and text.lstrip("'") and text != "-1.5":
            assert str(written).startswith("'")
