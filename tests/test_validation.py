"""Checks across layers: plots in their community, overlaps, herds against corrals."""

from __future__ import annotations

import math
import os
import re
import warnings

import click
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon

from conftest import E0, N0, UTM, square
from pastures import i18n
from pastures import schema as S
from pastures.cli._common import FiniteRange
from pastures.errors import GeometryRepairedWarning, ValidationError
from pastures.layers import (
    DEFAULT_MAX_REPAIR_CHANGE,
    _repair_polygons,
    assign_communities,
    load_project,
)
from pastures.summary import community_summary
from pastures.validation import (
    OVERLAP_NOISE_M2,
    check_in_communities,
    check_min_area,
    check_overlaps,
    check_required_values,
)


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


# --- property-based: geometry validation and repair --------------------------------------


PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
# metres from a corner of the fixture project
offsets = st.tuples(st.floats(0, 900, allow_nan=False), st.floats(0, 900, allow_nan=False))


def shoelace(ring: list[tuple[float, float]]) -> float:
    """|signed area| of a ring by the shoelace formula (numpy, not GEOS).

    Coordinates are taken relative to the first vertex: UTM northings of 8.19e6 m
    would otherwise cost the products their last digits.
    """
    xy = np.asarray(ring, dtype=float)
    xy = xy - xy[0]
    x, y = xy[:, 0], xy[:, 1]
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2


def one_plot(geom) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"plot_code": ["P1"]}, geometry=[geom], crs=UTM)


@PROPERTY
@given(st.lists(offsets, min_size=3, max_size=12, unique=True))
def test_random_convex_plots_pass_unchanged(points):
    hull = shapely.MultiPoint([(E0 + x, N0 + y) for x, y in points]).convex_hull
    assume(hull.geom_type == "Polygon" and hull.area >= 1.0)
    fixed, problems = _repair_polygons(
        one_plot(hull), "plots", source="t", repair="warn", max_change=DEFAULT_MAX_REPAIR_CHANGE
    )
    assert problems == []
    assert check_min_area(fixed, "plots", source="t") == []
    assert fixed.geometry.iloc[0].equals(hull)
    assert fixed.geometry.iloc[0].area == pytest.approx(shoelace(list(hull.exterior.coords)))


@PROPERTY
@given(st.lists(offsets, min_size=4, max_size=8, unique=True))
def test_any_repair_states_its_area_change_correctly(points):
    ring = [(E0 + x, N0 + y) for x, y in points]
    poly = Polygon(ring)
    assume(not poly.is_valid and shoelace(ring) > 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeometryRepairedWarning)  # the property is the message
        fixed, problems = _repair_polygons(
            one_plot(poly), "plots", source="t", repair="warn", max_change=0.05
        )
    assert len(problems) == 1
    problem = problems[0]
    assert problem.rule == "invalid-geometry"
    before = shoelace(ring)
    if problem.severity == "warning":
        after = fixed.geometry.iloc[0].area
        assert fixed.geometry.iloc[0].is_valid
        assert abs(after - before) / before <= 0.05 + 1e-12
        stated = re.search(r"area ([\d.]+) ha -> ([\d.]+) ha \(([-+][\d.]+)%\)", problem.message)
        assert stated is not None, problem.message
        # the message gives hectares to 4 decimals (1 m²)
        assert float(stated.group(1)) == pytest.approx(before / 1e4, abs=1e-4)
        assert float(stated.group(2)) == pytest.approx(after / 1e4, abs=1e-4)
        assert float(stated.group(3)) == pytest.approx(100 * (after - before) / before, abs=0.006)
    else:
        assert len(fixed) == 0  # rejected, not silently kept
        repaired = shapely.make_valid(poly)
        change = abs(repaired.area - before) / before
        assert change > 0.05 or repaired.area == 0 or "ha to" in problem.message


@PROPERTY
@given(
    a=st.tuples(st.floats(0, 500), st.floats(0, 500), st.floats(1, 300), st.floats(1, 300)),
    b=st.tuples(st.floats(0, 500), st.floats(0, 500), st.floats(1, 300), st.floats(1, 300)),
    tolerance=st.floats(0, 1000),
)
def test_overlap_is_reported_exactly_when_larger_than_the_tolerance(a, b, tolerance):
    boxes = [square(E0 + x, N0 + y, w, h) for x, y, w, h in (a, b)]
    plots = gpd.GeoDataFrame({"plot_code": ["A", "B"]}, geometry=boxes, crs=UTM)
    # intersection of two axis-aligned rectangles by interval arithmetic
    dx = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    dy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    area = dx * dy
    assume(abs(area - tolerance) > 1e-6 * max(1.0, area))  # away from the rounding edge
    assume(abs(area - OVERLAP_NOISE_M2) > 1e-6)
    problems = check_overlaps(plots, source="t", tolerance_m2=tolerance)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    # larger than the tolerance: an error; a sliver within it: a warning; under 1 m²: nothing
    assert bool(errors) == (area > tolerance and area > OVERLAP_NOISE_M2)
    assert bool(warnings) == (OVERLAP_NOISE_M2 < area <= tolerance)
    if errors:
        assert f"({area:,.0f} m²)" in errors[0].message


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    value=st.one_of(st.floats(), st.integers(-(10**6), 10**6), st.text(max_size=6)),
    lo=st.floats(-100, 100),
    width=st.floats(0, 100),
    lo_open=st.booleans(),
)
def test_finite_range_accepts_exactly_finite_numbers_in_range(value, lo, width, lo_open):
    hi = lo + width
    kind = FiniteRange(lo, hi, lo_open=lo_open)
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    expected = math.isfinite(number) and (lo < number if lo_open else lo <= number) and number <= hi
    if expected:
        assert kind.convert(str(value), None, None) == number
    else:
        with pytest.raises(click.BadParameter, match="give a finite number"):
            kind.convert(str(value), None, None)


@pytest.fixture
def spanish_cli():
    """The command line speaks Spanish for the test, and English again after it."""
    before = os.environ.get("LANGUAGE")
    i18n.set_cli_language("es")
    yield
    i18n.set_cli_language("en")
    if before is None:
        os.environ.pop("LANGUAGE", None)
    else:
        os.environ["LANGUAGE"] = before


def test_spanish_problems_have_no_english_words(tmp_path, spanish_cli):
    """A bad herd register, told in Spanish: rule, row and reason all in Spanish."""
    from pastures.herds import read_herds

    path = tmp_path / "padron.csv"
    path.write_text(
        "family_id,community,corral_id,alpacas,llamas,sheep\nF1,Pasiri,C1,diez,-5,3\n",
        encoding="utf-8",
    )
    result = read_herds(path)
    shown = "\n".join(str(p) for p in result.problems)
    assert "'diez' no es un número" in shown
    assert "'-5' es negativo" in shown
    assert "fila 2 (F1)" in shown
    assert "[error número-malo]" in shown
    for english in ("row", "is not a number", "negative", "Write", "bad-count"):
        assert english not in shown


def test_missing_value_names_the_default_option():
    plots = pd.DataFrame({S.PLOT_CODE: ["P1"], S.PASTURE_TYPE: [None]})
    [problem] = [
        p
        for p in check_required_values(plots, S.PLOTS, source="p.gpkg")
        if p.field == S.PASTURE_TYPE
    ]
    assert "--default plots.pasture_type=VALUE" in problem.message
