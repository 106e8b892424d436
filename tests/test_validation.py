"""Checks across layers: plots in their community, overlaps, herds against corrals."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from conftest import E0, N0, UTM, square
from pastures.errors import ValidationError
from pastures.layers import assign_communities, load_project
from pastures.summary import community_summary
from pastures.validation import check_in_communities, check_overlaps


def test_clean_project_has_no_problem(project_files):
    project = load_project(**project_files)
    assert project.problems == []
    project.raise_for_errors()


def test_overlap_area_by_hand(plots):
    # BET-01 moved onto ALF-01: x 240-300 (60 m) and y 150-250 (100 m) overlap -> 0.6 ha
    moved = plots.copy()
    moved.loc[2, "geometry"] = square(E0 + 240, N0 + 150, 300, 100)
    (problem,) = check_overlaps(moved, source="p.gpkg")
    assert problem.rule == "overlap"
    assert "'ALF-01' (#1) and 'BET-01' (#3) overlap by 0.600 ha (6,000 m²)" in problem.message


def test_touching_plots_do_not_overlap(plots):
    touching = plots.copy()
    touching.loc[1, "geometry"] = square(E0 + 300, N0 + 100, 100, 100)  # shares ALF-01's fence
    assert check_overlaps(touching, source="p") == []


def test_plot_partly_outside_its_community(plots, communities):
    # ALF-02 moved to x 950-1050: 50 m of its 100 m width lie in Beta -> 50 %, 0.50 ha
    moved = plots.copy()
    moved.loc[1, "geometry"] = square(E0 + 950, N0 + 500, 100, 100)
    (problem,) = check_in_communities(moved, "plots", communities, source="p")
    assert problem.rule == "outside-community"
    assert "50% (0.50 ha) lies outside its community 'Alfa'" in problem.message


def test_corral_in_the_wrong_community_says_where_it_is(corrals, communities):
    wrong = corrals.copy()
    wrong.loc[0, "geometry"] = Point(E0 + 1500, N0 + 500)  # 500 m inside Beta
    (problem,) = check_in_communities(wrong, "corrals", communities, source="k")
    assert "lies 500 m outside its community 'Alfa'. It lies in 'Beta'" in problem.message


def test_unknown_community(plots, communities):
    renamed = plots.copy()
    renamed.loc[2, "community"] = "Gamma"
    (problem,) = check_in_communities(renamed, "plots", communities, source="p")
    assert problem.rule == "unknown-community"
    assert "known: Alfa, Beta" in problem.message


def test_assign_communities_by_location(plots, communities):
    anonymous = plots.copy()
    anonymous["community"] = pd.array([pd.NA] * 3, dtype="string")
    anonymous.loc[3] = ["X-1", pd.NA, "pajonal", 2020, square(E0 + 5000, N0, 10, 10)]
    out, problems = assign_communities(anonymous, "plots", communities, source="p")
    assert list(out["community"][:3]) == ["Alfa", "Alfa", "Beta"]
    assert [p.rule for p in problems] == ["outside-community"]
    assert problems[0].feature == "'X-1' (#4)"


def test_community_names_match_whatever_the_case(project_files, tmp_path, herds):
    herds = herds.copy()
    herds.loc[0, "community"] = "ALFA"
    herds.to_csv(tmp_path / "h.csv", index=False)
    project = load_project(**{**project_files, "herds": tmp_path / "h.csv"})
    assert project.problems == []
    assert project.herds["community"].iloc[0] == "Alfa"


def test_broken_project_reports_everything_together(tmp_path, project_files, plots, herds):
    bad_plots = plots.copy()
    bad_plots.loc[2, "geometry"] = square(E0 + 240, N0 + 150, 300, 100)  # overlap + outside Beta
    bad_plots.to_file(tmp_path / "bad_plots.gpkg", engine="pyogrio")
    bad_herds = herds.copy().astype({"sheep": "string"})
    bad_herds.loc[0, "sheep"] = "-3"
    bad_herds.loc[1, "corral_id"] = "ZZZ"
    bad_herds.to_csv(tmp_path / "bad_herds.csv", index=False)
    project = load_project(
        communities=project_files["communities"],
        plots=tmp_path / "bad_plots.gpkg",
        corrals=project_files["corrals"],
        herds=tmp_path / "bad_herds.csv",
        water_points=tmp_path / "missing.gpkg",
    )
    assert sorted(p.rule for p in project.problems) == [
        "bad-count",
        "file",
        "outside-community",
        "overlap",
        "unknown-corral",
    ]
    with pytest.raises(ValidationError, match="5 problem"):
        project.raise_for_errors()


def test_summary_by_hand(project_files):
    table = community_summary(load_project(**project_files)).set_index("community")
    assert table.loc["Alfa"].to_dict() == {
        "plots": 2,
        "plots_ha": pytest.approx(6.0),
        "corrals": 1,
        "families": 2,
        "alpacas": 65,
        "llamas": 5,
        "sheep": 42,
    }
    assert table.loc["Beta", "plots_ha"] == pytest.approx(3.0)
    assert table.loc["TOTAL"].to_dict() == {
        "plots": 3,
        "plots_ha": pytest.approx(9.0),
        "corrals": 2,
        "families": 3,
        "alpacas": 125,
        "llamas": 13,
        "sheep": 42,
    }


def test_summary_keeps_communities_without_plots(project_files, communities, tmp_path):
    more = pd.concat(
        [
            communities,
            gpd.GeoDataFrame(
                {"community": ["Gamma"], "altitude_m": [4000]},
                geometry=[square(E0, N0 + 5000, 500, 500)],
                crs=UTM,
            ),
        ],
        ignore_index=True,
    )
    more.to_file(tmp_path / "c3.gpkg", engine="pyogrio")
    table = community_summary(
        load_project(**{**project_files, "communities": tmp_path / "c3.gpkg"})
    )
    assert table.set_index("community").loc["Gamma", ["plots", "families"]].tolist() == [0, 0]
