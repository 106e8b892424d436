"""Reading a run folder back: layers, tables and the per-plot status worked out by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from pastures import schema as S
from pastures.errors import InputFileError
from pastures.io import write_layers
from pastures.outputs import data_date, data_sources, plot_status, read_run
from pastures.printmap.words import _source_words
from pastures.webmap import run_text


@pytest.fixture
def run_folder(tmp_path, communities, plots, corrals):
    folder = tmp_path / "run"
    write_layers(
        {S.COMMUNITIES: communities, S.PLOTS: plots, S.CORRALS: corrals}, folder / "layers.gpkg"
    )
    (folder / "indices").mkdir()
    # ALF-01: NDVI 0.30 in Jan 2023, 0.40 in Jan 2024 -> latest 0.40, January mean 0.35,
    # anomaly +0.05. ALF-02: one date only -> no anomaly (nothing to compare with). BET-01: no
    # index rows.
    rows = [
        ("ALF-01", "2023-01-10", 0.30),
        ("ALF-01", "2024-01-10", 0.40),
        ("ALF-02", "2024-01-10", 0.60),
    ]
    series = pd.DataFrame(
        [
            {S.PLOT_CODE: c, S.DATE: d, S.INDEX: "ndvi", S.STATISTIC: S.STAT_MEAN, S.VALUE: v}
            for c, d, v in rows
        ]
        + [
            {
                S.PLOT_CODE: "ALF-01",
                S.DATE: "2024-02-01",
                S.INDEX: "evi",
                S.STATISTIC: "mean",
                S.VALUE: 9.0,
            }
        ]
    )
    series.to_parquet(folder / "indices" / "index_series.parquet")
    (folder / "rotation").mkdir()
    # Weeks from Monday 2026-01-05. ALF-01 grazed weeks 1 and 3 (H1, then H2); ALF-02 week 2.
    pd.DataFrame(
        {
            S.HERD_ID: ["H1", "H2", "H1", "H1"],
            S.LOCATION_ID: ["ALF-01", "ALF-01", "ALF-02", "RANGE Alfa"],
            S.LOCATION_KIND: ["plot", "plot", "plot", "open_range"],
            S.START: ["2026-01-05", "2026-01-19", "2026-01-12", "2026-01-19"],
            S.END: ["2026-01-11", "2026-01-25", "2026-01-18", "2026-01-25"],
        }
    ).to_csv(folder / "rotation" / "rotation_schedule.csv", index=False)
    return folder


def test_read_run_finds_layers_and_tables_and_not_what_is_absent(run_folder):
    run = read_run(run_folder)
    assert sorted(run.plots[S.PLOT_CODE]) == ["ALF-01", "ALF-02", "BET-01"]
    assert run.water_points.empty
    assert set(run.tables) == {"index_series", "schedule"}
    assert run.rasters == {}
    assert run.illustrative is False
    assert data_date(run) == dt.date(2024, 1, 10)


def test_plot_status_on_the_first_day_of_the_plan(run_folder):
    status = plot_status(read_run(run_folder)).set_index(S.PLOT_CODE)
    alf1, alf2, bet1 = status.loc["ALF-01"], status.loc["ALF-02"], status.loc["BET-01"]
    assert alf1["ndvi_last"] == pytest.approx(0.40)
    assert alf1["ndvi_anomaly"] == pytest.approx(0.05)
    assert pd.isna(alf2["ndvi_anomaly"])
    assert pd.isna(bet1["ndvi_last"])
    # On 2026-01-05 H1 is on ALF-01; the next arrival there is H2 on 2026-01-19;
    # ALF-01 rests from 2026-01-12. ALF-02 is free now and gets H1 on 2026-01-12.
    assert alf1["grazing_now"] == "H1"
    assert alf1["next_grazing"] == dt.date(2026, 1, 19)
    assert alf1["grazing_next"] == "H2"
    assert alf1["next_rest_from"] == dt.date(2026, 1, 12)
    assert alf2["grazing_now"] == ""
    assert alf2["next_grazing"] == dt.date(2026, 1, 12)
    assert alf2["next_rest_from"] == dt.date(2026, 1, 5)
    assert bet1["grazing_now"] == ""
    assert pd.isna(bet1["next_grazing"])


def test_a_folder_without_layers_says_what_to_give(tmp_path):
    with pytest.raises(InputFileError, match="pastures demo"):
        read_run(tmp_path)
    with pytest.raises(InputFileError, match="no such folder"):
        read_run(tmp_path / "nope")


@pytest.mark.parametrize(
    ("imagery", "dem", "methods", "expected", "atlas", "layer"),
    [
        (
            "sample",
            "sample",
            ["peak standing biomass, 12 + 2400 x ndvi (quadrat cuts (pajonal), linear fit, n=5)"],
            ("sample", "sample", "cuts"),
            (
                "escenas Sentinel-2 sintéticas de la muestra, NDVI",
                "NDVI calibrado con cortes inventados de la muestra",
                "MDE sintético de la muestra",
            ),
            "Color verdadero (Sentinel-2 sintético de la muestra)",
        ),
        (
            "files",
            "file",
            [
                "peak standing biomass, 1615 x ndvi^1.318 (Zorogastúa-Cruz et al. 2012, ...)",
                "pasture-type default: Castellaro 2007, dry puna grassland 657-1,054",
            ],
            ("files", "file", "published"),
            (
                "Copernicus Sentinel-2 (ESA), NDVI",
                "NDVI en bofedales (Zorogastúa-Cruz et al. 2012), rango del tipo de pasto en "
                "los demás (Castellaro 2007)",
                "MDE de la corrida",
            ),
            "Color verdadero (Sentinel-2)",
        ),
        (
            "none",
            "none",
            ["pasture-type default: Castellaro 2007, dry puna grassland 657-1,054"],
            ("none", "none", "defaults"),
            # a run without a DEM credits none (it used to credit "the run's DEM")
            ("sin imágenes", "rango del tipo de pasto (Castellaro 2007)", "sin MDE"),
            "Color verdadero (Sentinel-2)",
        ),
    ],
)
def test_credits_name_synthetic_scenes_made_up_cuts_and_defaults(  # noqa: PLR0917 - cases
    run_folder, imagery, dem, methods, expected, atlas, layer
):
    run = dataclasses.replace(
        read_run(run_folder),
        provenance={"parameters": {"imagery": {"source": imagery}, "dem": {"source": dem}}},
    )
    run.tables["forage_plots"] = pd.DataFrame({S.FORAGE_METHOD: methods})
    src = data_sources(run)
    assert (src.imagery, src.dem, src.forage) == expected
    assert _source_words(run, "es") == atlas
    assert run_text(run, "es")["true_colour"] == layer


def test_a_run_without_provenance_is_credited_to_sentinel_2(run_folder):
    run = read_run(run_folder)
    src = data_sources(run)
    assert (src.imagery, src.dem, src.forage) == ("unknown", "unknown", "unknown")
    imagery, _, dem = _source_words(run, "en")
    assert imagery == "Copernicus Sentinel-2 (ESA), NDVI"
    assert dem == "the run's DEM"


def test_a_capacity_from_the_pasture_types_default_says_so_in_the_popup() -> None:
    from pastures.webmap import popup_rows

    def plot_popup(row: pd.Series, lang: str) -> str:
        return " ".join(value for _, value in popup_rows(row, lang))

    row = pd.Series(
        {
            S.PLOT_CODE: "P1",
            S.CAPACITY_UO: 2.0,
            S.FORAGE_METHOD: "pasture-type default: Castellaro 2007, dry puna grassland",
        }
    )
    assert "producción por defecto del tipo de pasto" in plot_popup(row, "es")
    measured = row.copy()
    measured[S.FORAGE_METHOD] = "NDVI calibrated with quadrat cuts"
    assert "por defecto" not in plot_popup(measured, "es")


def test_julis_defaults_and_missing_results_are_read_from_provenance(run_folder) -> None:
    from pastures.outputs import juli_defaults_of, missing_results

    run = dataclasses.replace(
        read_run(run_folder),
        provenance={
            "defaults": {
                "forage.budget_month": "8 (pastures.forage.ForageParams) [JULI DEFAULT used in X]",
                "forage.use_factor": "0.5 (pastures.forage.ForageParams)",
            },
            "stages": {
                "erosion": {"status": "not needed", "summary": "no DEM in the project"},
                "rotation": {"status": "ran", "summary": "plan"},
            },
        },
    )
    assert juli_defaults_of(run) == ["forage.budget_month"]
    assert set(missing_results(run)) == {"erosion"}  # the fixture has a plan, two dates
    damaged = dataclasses.replace(run, provenance={"stages": ["x"], "defaults": None})
    assert juli_defaults_of(damaged) == []
    assert "erosion" not in missing_results(damaged)
