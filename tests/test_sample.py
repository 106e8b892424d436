"""The bundled illustrative Juli sample: the project report's figures, and its place on the map."""

from __future__ import annotations

import pytest

from conftest import realdata
from pastures.layers import load_project
from pastures.sample import sample_paths

pytestmark = pytest.mark.sample


@pytest.fixture(scope="module")
def project():
    return load_project(**sample_paths())


def test_sample_is_clean(project):
    assert project.problems == []


def test_sample_matches_the_project_report(project):
    # Heifer Peru / ADESFA report: 14 communities, corrals in 11, 366 ha of fenced plots,
    # 250 families with 22,000 alpacas and 16,500 sheep.
    assert len(project.communities) == 14
    assert project.corrals["community"].nunique() == 11
    assert project.plots["community"].nunique() == 11
    assert project.plots.area.sum() / 10_000 == pytest.approx(366.0, abs=0.5)
    assert len(project.herds) == 250
    assert project.herds["alpacas"].sum() == 22_000
    assert project.herds["sheep"].sum() == 16_500
    assert {"Pasiri", "Callacami"} <= set(project.communities["community"])


def test_every_family_uses_a_corral_of_its_community(project):
    home = dict(zip(project.corrals["corral_id"], project.corrals["community"], strict=True))
    assert all(
        home[c] == m
        for c, m in zip(project.herds["corral_id"], project.herds["community"], strict=True)
    )


@pytest.mark.realdata
def test_sample_lies_inside_the_real_district_of_juli(project):
    import geopandas as gpd

    district = gpd.read_file(realdata("3_peru_boundaries", "juli_210401_extract.geojson"))
    assert district["IDDIST"].tolist() == ["210401"]
    juli = district.to_crs(project.communities.crs).geometry.iloc[0]
    assert project.communities.within(juli).all()
    assert project.plots.within(juli).all()


def test_committed_sample_is_what_the_script_builds(tmp_path):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "make_sample_layers.py"
    spec = importlib.util.spec_from_file_location("make_sample_layers", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(tmp_path)
    for kind, path in sample_paths().items():
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), kind
