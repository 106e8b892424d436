"""Tiny layers whose answers can be worked out by hand, written in each real format.

The fixture project lies near Juli in EPSG:32719 (UTM 19S):

- community "Alfa": the square E 440,000-441,000, N 8,190,000-8,191,000 (100 ha);
- community "Beta": the square E 441,000-442,000, same northings (100 ha);
- plot "ALF-01": 200 m x 250 m = 5 ha at E 440,100, N 8,190,100 (pajonal);
- plot "ALF-02": 100 m x 100 m = 1 ha at E 440,500, N 8,190,500 (bofedal);
- plot "BET-01": 300 m x 100 m = 3 ha at E 441,200, N 8,190,200 (tolar);
- corrals "ALF-C1" (E 440,400, N 8,190,400) and "BET-C1" (E 441,600, N 8,190,600);
- a herd register of three families.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

UTM = "EPSG:32719"
E0, N0 = 440_000.0, 8_190_000.0

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


def realdata(*parts: str) -> Path:
    """Path of a third-party file in ../shared/realdata, skipping the test when absent."""
    path = REALDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"third-party file {path} is absent (../shared/realdata not laid out here)")
    return path


def square(x: float, y: float, w: float, h: float):
    """Axis-aligned rectangle with its south-west corner at (x, y), in metres."""
    return box(x, y, x + w, y + h)


@pytest.fixture
def communities() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"community": ["Alfa", "Beta"], "altitude_m": [3900, 3950]},
        geometry=[square(E0, N0, 1000, 1000), square(E0 + 1000, N0, 1000, 1000)],
        crs=UTM,
    )


@pytest.fixture
def plots() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "plot_code": ["ALF-01", "ALF-02", "BET-01"],
            "community": ["Alfa", "Alfa", "Beta"],
            "pasture_type": ["pajonal", "bofedal", "tolar"],
            "fenced_year": [2018, 2019, 2020],
        },
        geometry=[
            square(E0 + 100, N0 + 100, 200, 250),
            square(E0 + 500, N0 + 500, 100, 100),
            square(E0 + 1200, N0 + 200, 300, 100),
        ],
        crs=UTM,
    )


@pytest.fixture
def corrals() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"corral_id": ["ALF-C1", "BET-C1"], "community": ["Alfa", "Beta"]},
        geometry=[Point(E0 + 400, N0 + 400), Point(E0 + 1600, N0 + 600)],
        crs=UTM,
    )


@pytest.fixture
def herds() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "family_id": ["ALF-F1", "ALF-F2", "BET-F1"],
            "community": ["Alfa", "Alfa", "Beta"],
            "corral_id": ["ALF-C1", "ALF-C1", "BET-C1"],
            "alpacas": [40, 25, 60],
            "llamas": [5, 0, 8],
            "sheep": [30, 12, 0],
        }
    )


@pytest.fixture
def project_files(tmp_path, communities, plots, corrals, herds) -> dict[str, Path]:
    """The fixture project written as GeoPackage layers and a CSV register."""
    gpkg = tmp_path / "project.gpkg"
    communities.to_file(gpkg, layer="communities", engine="pyogrio")
    plots.to_file(gpkg, layer="plots", engine="pyogrio")
    corrals.to_file(gpkg, layer="corrals", engine="pyogrio")
    files = {}
    for kind in ("communities", "plots", "corrals"):
        path = tmp_path / f"{kind}.gpkg"
        gpd.read_file(gpkg, layer=kind).to_file(path, engine="pyogrio")
        files[kind] = path
    herd_csv = tmp_path / "herds.csv"
    herds.to_csv(herd_csv, index=False)
    files["herds"] = herd_csv
    return files


def lonlat(geom) -> list[tuple[float, float]]:
    """Exterior coordinates of a UTM polygon (or a point) in lon/lat."""
    g = gpd.GeoSeries([geom], crs=UTM).to_crs("EPSG:4326").iloc[0]
    coords = g.coords if g.geom_type == "Point" else g.exterior.coords
    return [(x, y) for x, y in coords]


def kml_coords(points: list[tuple[float, float]], height: float = 3850.0) -> str:
    """KML coordinate text with a height, as Google Earth writes it."""
    return " ".join(f"{x:.8f},{y:.8f},{height:g}" for x, y in points)


def file_bytes(path: Path) -> bytes:
    return Path(path).read_bytes()


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- the bundled sample project, run once for the tests that read a whole run ------------


def run_sample_demo(folder: Path, *, language: str | None = None) -> dict:
    """Run the bundled sample project (as ``pastures demo`` does) into `folder`.

    `language` replaces the project's ``language`` key (the sample's is ``"es"``). The
    texts of the Gantt chart are recorded while the run draws it (the PNG keeps none).

    Returns
    -------
    dict
        ``folder`` (the run folder), ``result`` (the :class:`pastures.pipeline.RunResult`)
        and ``gantt`` (the non-empty texts of the chart's figure).
    """
    import dataclasses

    import pastures.rotation.outputs as rotation_outputs
    from pastures.pipeline import run_project
    from pastures.project import load_project_file, sample_project_path

    config = load_project_file(sample_project_path())
    if language is not None:
        config = dataclasses.replace(config, language=language)
    drawn: list[str] = []
    draw = rotation_outputs.gantt_figure

    def recording(*args, **kwargs):
        from matplotlib.text import Text

        fig = draw(*args, **kwargs)
        drawn.extend(t.get_text() for t in fig.findobj(Text) if t.get_text().strip())
        return fig

    out = folder / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rotation_outputs, "gantt_figure", recording)
        result = run_project(config, out)
    return {"folder": out, "result": result, "gantt": drawn}


@pytest.fixture(scope="session")
def sample_demo(tmp_path_factory) -> dict:
    """The bundled sample project (Spanish, illustrative) run once with every stage."""
    return run_sample_demo(tmp_path_factory.mktemp("sample_demo"))
