"""``[calibration]`` of a project file: field quadrat cuts drive the forage of every type.

The tiny project of ``test_pipeline`` has three plots (pajonal, bofedal, tolar) and
scenes of uniform NDVI 2/3, 1/3 and 1/2 on 2024-06-15, 07-15 and 08-15 (red and NIR
reflectances 0.1/0.5, 0.2/0.4, 0.1/0.3); here a scene at the end of the rains,
2024-03-15, adds NDVI 5/6 (red 0.05, NIR 0.55). The cuts below weigh exactly
100 + 1200 x NDVI kg DM/ha, so the fitted line is a = 100, b = 1200 and every plot's
production (the year's peak standing biomass, looked for in Feb-May) is
100 + 1200 x 5/6 = 1,100 kg DM/ha/yr, worked out by hand, not by the module.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from affine import Affine
from click.testing import CliRunner

from conftest import E0, N0
from imagery_helpers import s2_band_files
from pastures.cli import main
from pastures.errors import ProjectError, ValidationError
from pastures.outputs import RUN_FILES
from pastures.pipeline import run_project
from pastures.project import load_project_file
from test_pipeline import NO_MAPS, PX, tiny_project

NDVI = {"2024-03-15": 5 / 6, "2024-06-15": 2 / 3, "2024-07-15": 1 / 3, "2024-08-15": 1 / 2}


def with_march_scene(project: Path) -> Path:
    """Add the 2024-03-15 scene (NDVI 5/6) to the tiny project's scene folder."""
    s2_band_files(
        project.parent / "scenes" / "20240315",
        date="20240315",
        red=0.05,
        nir=0.55,
        transform=Affine(PX, 0, E0 - 200, 0, -PX, N0 + 1200),
        size=130,
        extra={"B02": 0.04, "B03": 0.07},
    )
    return project


def cuts_file(path: Path, *, day_shift: int = 2) -> Path:
    rows = [
        {
            "codigo": code,
            "fecha": (pd.Timestamp(day) + pd.Timedelta(days=day_shift)).date().isoformat(),
            "biomasa": 100 + 1200 * ndvi,
        }
        for code in ("ALF-01", "ALF-02", "BET-01")
        for day, ndvi in NDVI.items()
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_cuts_in_the_project_give_every_plot_its_forage_from_the_index(
    tmp_path, project_files
) -> None:
    cuts = cuts_file(tmp_path / "cortes.csv")
    config = load_project_file(
        with_march_scene(
            tiny_project(
                tmp_path, project_files, extra=f'[calibration]\ncuts = "{cuts.as_posix()}"\n'
            )
        )
    )
    assert config.calibration.cuts == cuts
    assert config.calibration.form == "best"
    run_project(config, skip=NO_MAPS)
    run = tmp_path / "run"
    fits = pd.read_csv(run / "forage" / "forage_calibration.csv")
    chosen = fits[fits["chosen"] & (fits["scope"] == "all")].iloc[0]
    assert chosen["form"] == "linear"  # exact line: RMSE 0 beats the power form
    assert chosen["a"] == pytest.approx(100.0, abs=1e-6)
    assert chosen["b"] == pytest.approx(1200.0, rel=1e-9)
    plots = pd.read_csv(run / RUN_FILES["forage_plots"])
    assert plots["production_kg_ha_yr"].to_numpy() == pytest.approx([1100.0] * 3, abs=1e-3)
    assert plots["forage_method"].str.contains("quadrat cuts").all()
    # the planner takes each plot's supply from that budget, and says so
    rot = pd.read_csv(run / "rotation" / "rotation_plots.csv")
    assert rot["source"].str.contains("quadrat cuts").all()
    # the cuts file is an input of the run: changing it reruns forage, not vegetation
    cuts_file(cuts, day_shift=3)
    again = run_project(config, skip=NO_MAPS)
    status = {r.name: r.status for r in again.reports}
    assert status["vegetation"] == "skipped"
    assert status["forage"] == "ran"


def test_without_cuts_only_bofedal_follows_the_index(tmp_path, project_files) -> None:
    project = with_march_scene(tiny_project(tmp_path, project_files))
    run_project(load_project_file(project), skip=NO_MAPS)
    plots = pd.read_csv(tmp_path / "run" / RUN_FILES["forage_plots"]).set_index("plot_code")
    assert "Zorogastúa" in plots.loc["ALF-02", "forage_method"]
    # 1615 x (5/6)^1.318 (Zorogastúa-Cruz et al. 2012) = 1,270.02 kg DM/ha
    assert plots.loc["ALF-02", "production_kg_ha_yr"] == pytest.approx(1270.02, abs=0.01)
    assert "Castellaro" in plots.loc["ALF-01", "forage_method"]
    # Castellaro 2007 dry puna grassland 657-1,054: the midpoint 855.5
    assert plots.loc["ALF-01", "production_kg_ha_yr"] == pytest.approx(855.5)


@pytest.mark.parametrize(
    ("section", "imagery", "match"),
    [
        ('cuts = "nowhere.csv"', True, r"calibration\.cuts.*no such file"),
        ('cuts = "CUTS"', False, r"calibration\.cuts.*no imagery"),
        ('form = "cubic"', True, r"calibration\.form.*'best', 'linear', 'power'"),
        ("max_days = -3", True, r"calibration\.max_days.*whole number from 0 to 366"),
        ('crs = "EPSG:999999"', True, r"calibration\.crs.*CRS pyproj knows"),
        ("quadrats = 3", True, r"calibration\.quadrats.*unknown key"),
    ],
)
def test_bad_calibration_keys_are_named(tmp_path, project_files, section, imagery, match) -> None:
    cuts = cuts_file(tmp_path / "cortes.csv")
    extra = "[calibration]\n" + section.replace("CUTS", cuts.as_posix()) + "\n"
    path = tiny_project(tmp_path, project_files, imagery=imagery, extra=extra)
    with pytest.raises(ProjectError, match=match):
        load_project_file(path)


def test_a_cut_far_from_every_image_stops_the_run_naming_its_row(tmp_path, project_files) -> None:
    cuts = cuts_file(tmp_path / "cortes.csv", day_shift=20)  # 20 days from every image
    project = tiny_project(
        tmp_path, project_files, extra=f'[calibration]\ncuts = "{cuts.as_posix()}"\nmax_days = 10\n'
    )
    with pytest.raises(ValidationError, match="cortes.csv.*row.*within 10 days"):
        run_project(load_project_file(project), skip=NO_MAPS)
    result = CliRunner().invoke(main, ["run", str(project), "--skip", "map", "--skip", "print"])
    assert result.exit_code == 1, result.output
    assert "max_days" in result.output
    assert "Unexpected" not in result.output


def test_the_sample_project_calibrates_every_type_with_its_made_up_cuts() -> None:
    import geopandas as gpd

    from pastures.forage import MIN_CALIBRATION_POINTS
    from pastures.project import sample_project_path

    config = load_project_file(sample_project_path())
    assert config.calibration.cuts is not None
    cuts = pd.read_csv(config.calibration.cuts)
    plots = gpd.read_file(config.layers.plots).set_index("plot_code")
    assert set(cuts["plot_code"]) <= set(plots.index)
    per_type = plots.loc[cuts["plot_code"], "pasture_type"].value_counts()
    # every pasture type of the sample has enough cuts for a relation of its own
    assert set(per_type.index) == set(plots["pasture_type"])
    assert (per_type >= MIN_CALIBRATION_POINTS).all()
    assert cuts["biomass_kg_ha"].between(20, 3000).all()


def test_a_stage_that_stops_says_which_outputs_are_from_the_earlier_run(
    tmp_path, project_files, caplog
) -> None:
    cuts = cuts_file(tmp_path / "cortes.csv")
    extra = f'[calibration]\ncuts = "{cuts.as_posix()}"\nmax_days = 10\n'
    config = load_project_file(with_march_scene(tiny_project(tmp_path, project_files, extra=extra)))
    run_project(config, skip=NO_MAPS)
    before = (tmp_path / "run" / RUN_FILES["forage_plots"]).read_bytes()
    cuts_file(cuts, day_shift=20)  # now 20 days from every image
    with caplog.at_level("WARNING"), pytest.raises(ValidationError):
        run_project(config, skip=NO_MAPS)
    stale = [r.getMessage() for r in caplog.records if "earlier run" in r.getMessage()]
    assert len(stale) == 1
    assert "the forage stage stopped" in stale[0]
    for stage in ("forage", "rotation", "erosion", "package"):
        assert stage in stale[0].split("outputs of")[1]
    # the earlier run's table is left whole, not half-written
    assert (tmp_path / "run" / RUN_FILES["forage_plots"]).read_bytes() == before


def test_with_cuts_the_open_range_follows_its_index_too(tmp_path, project_files) -> None:
    # The scenes cover both communities whole, so each open range (community minus its
    # plots: Alfa 100 - 5 - 1 = 94 ha, Beta 100 - 3 = 97 ha) reads NDVI 5/6 in March;
    # through the line fitted to all cuts, 100 + 1200 x 5/6 = 1,100 kg DM/ha/yr. Its
    # capacity: 1,100 x 0.5 / (365 x 0.05 x 40^0.75 kg) = 1.8948 UO/ha, 178.1 and 183.8 UO.
    cuts = cuts_file(tmp_path / "cortes.csv")
    extra = f'[calibration]\ncuts = "{cuts.as_posix()}"\n'
    config = load_project_file(with_march_scene(tiny_project(tmp_path, project_files, extra=extra)))
    run_project(config, skip=NO_MAPS)
    run = tmp_path / "run"
    assert (run / RUN_FILES["range_series"]).is_file()
    com = pd.read_csv(run / RUN_FILES["forage_communities"]).set_index("community")
    assert com.loc[["Alfa", "Beta"], "open_range_ha"].tolist() == pytest.approx([94.0, 97.0])
    assert com.loc[["Alfa", "Beta"], "open_range_production_kg_ha_yr"].tolist() == pytest.approx(
        [1100.0, 1100.0], abs=1e-3
    )
    assert com.loc["Alfa", "open_range_method"].startswith("peak standing biomass")
    assert "quadrat cuts (all)" in com.loc["Alfa", "open_range_method"]
    assert com.loc[["Alfa", "Beta"], "open_capacity_uo"].tolist() == pytest.approx(
        [178.108, 183.792], abs=1e-3
    )
    summary = pd.read_csv(run / "rotation" / "rotation_summary.csv").set_index("figure")
    sources = summary.loc["range_supply_sources", "value"]
    assert "quadrat cuts (all)" in sources
    assert sources.endswith(": 2")  # both open ranges


def test_without_cuts_the_open_range_keeps_its_default(tmp_path, project_files) -> None:
    run_project(load_project_file(tiny_project(tmp_path, project_files)), skip=NO_MAPS)
    run = tmp_path / "run"
    assert not (run / RUN_FILES["range_series"]).exists()  # not measured: nothing uses it
    com = pd.read_csv(run / RUN_FILES["forage_communities"]).set_index("community")
    assert com.loc["Alfa", "open_range_method"].startswith("open range default: Castellaro")
    # the midpoint of Castellaro's 657-1,054 kg DM/ha/yr
    assert com.loc["Alfa", "open_range_production_kg_ha_yr"] == pytest.approx(855.5)
