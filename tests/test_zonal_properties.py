"""Property-based invariants of the zonal statistics (hypothesis).

- Under ``exact`` the covered shares are areas: the pixel counts of disjoint plots
  add up to the count of their union, and to its area in pixels when it lies inside
  the grid.
- Under ``centre`` a pixel belongs to a plot when its centre is inside, so disjoint
  plots whose edges avoid pixel centres also add up to their union.
- Whatever the rule and the plot, a constant raster gives that constant as mean,
  median and quantiles, and 0 as standard deviation.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from pastures import schema
from pastures.zonal import plot_coverage, zonal_statistics

PX = 10.0
SIZE = 24  # 24 x 24 pixels of 10 m
GRID = Affine(PX, 0, 0, 0, -PX, SIZE * PX)
RULES = ("centre", "exact", "inner", "all_touched")

# x-cuts along the grid (m), off pixel centres (centres sit at 5, 15, 25 ... m)
cuts = st.lists(
    st.integers(min_value=1, max_value=SIZE * 10 - 1).map(lambda k: k * PX / 10),
    min_size=3,
    max_size=6,
    unique=True,
).map(sorted)
heights = st.tuples(
    st.integers(min_value=0, max_value=SIZE * 5).map(lambda k: k * PX / 10),
    st.integers(min_value=SIZE * 5 + 10, max_value=SIZE * 10).map(lambda k: k * PX / 10),
)


# x-cuts on pixel edges: every strip then holds whole pixel centres (no sub-pixel
# fallback to exact, which would make the centre rule's counts fractional)
edge_cuts = st.lists(
    st.integers(min_value=0, max_value=SIZE).map(lambda k: k * PX),
    min_size=3,
    max_size=6,
    unique=True,
).map(sorted)


def _strips(xs: list[float], ys: tuple[float, float]) -> list[shapely.Polygon]:
    """Rectangles side by side between consecutive cuts."""
    return [box(a, ys[0], b, ys[1]) for a, b in itertools.pairwise(xs)]


def _count(geoms, rule):
    cov = plot_coverage(geoms, GRID, (SIZE, SIZE), edge_rule=rule)
    return zonal_statistics(np.ones((SIZE, SIZE), dtype=np.float32), cov)[schema.STAT_COUNT]


@settings(max_examples=40, deadline=None)
@given(xs=cuts, ys=heights)
def test_exact_counts_of_disjoint_plots_add_up_to_their_union(xs, ys):
    plots = _strips(xs, ys)
    union = shapely.union_all(plots)
    parts = _count(plots, "exact").sum()
    whole = _count([union], "exact").iloc[0]
    assert parts == pytest.approx(whole, rel=1e-9, abs=1e-9)
    assert whole == pytest.approx(union.area / PX**2, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(xs=edge_cuts, ys=heights)
def test_centre_counts_of_disjoint_plots_add_up_to_their_union(xs, ys):
    plots = _strips(xs, ys)
    parts = _count(plots, "centre").sum()
    whole = _count([shapely.union_all(plots)], "centre").iloc[0]
    assert parts == pytest.approx(whole)
    assert whole == round(whole)  # whole pixels only


@settings(max_examples=30, deadline=None)
@given(
    x=st.floats(0, SIZE * PX - 30),
    y=st.floats(0, SIZE * PX - 30),
    w=st.floats(2.0, 120.0),
    h=st.floats(2.0, 120.0),
    angle=st.floats(0, 90),
    value=st.floats(-1.0, 1.0, allow_nan=False),
    rule=st.sampled_from(RULES),
)
def test_a_constant_raster_gives_that_constant(x, y, w, h, angle, value, rule):  # noqa: PLR0917
    plot = shapely.affinity.rotate(box(x, y, x + w, y + h), angle, origin="centroid")
    cov = plot_coverage([plot], GRID, (SIZE, SIZE), edge_rule=rule)
    stats = zonal_statistics(np.full((SIZE, SIZE), value, dtype=np.float64), cov).iloc[0]
    if stats[schema.STAT_COUNT] == 0:  # a plot wholly off the grid has no value at all
        assert np.isnan(stats[schema.STAT_MEAN])
        return
    for name in (schema.STAT_MEAN, schema.STAT_MEDIAN, schema.STAT_P10, schema.STAT_P90):
        assert stats[name] == pytest.approx(value, abs=1e-6)
    assert stats[schema.STAT_STD] == pytest.approx(0.0, abs=1e-6)
