"""Printed plot maps for community assemblies: a PDF atlas, black-and-white safe.

Communities read paper, not screens. :func:`write_atlas` turns the folder of a run
(:func:`pastures.outputs.read_run`) into an atlas (cover, overview of the
communities, one sheet per community, or a map series of several sheets for a
community with more plots than one sheet holds: :func:`plan_sheets`) and one PDF per
community, in Spanish by default. Titles and notes name the run's study area and
working CRS (:func:`pastures.outputs.study_area`). Each community sheet holds, on one
page: the plots with large codes and hectares (labels that do not fit in a plot sit
outside it, with a leader line), corrals, water points and the community boundary
over a light hillshade; legend, numeric and graphic scale, north arrow and the grid
of the working CRS; the rotation calendar
(plots by months: days grazed, by which corral's herds, months of rest); a panel
of range condition and erosion risk per plot with its main driver in words; and
credits and sources.

Print rules kept throughout (so a cheap black-and-white printer loses nothing):

- risk classes differ by grey level *and* hatch density, lines by dash pattern and
  width, never by colour alone;
- no text is smaller than :data:`MIN_FONT_PT` at the printed size: the figure is the
  paper size, so matplotlib points are printed points;
- text stays text (TrueType fonts embedded, ``pdf.fonttype`` 42), so a PDF reader
  can search it and read it aloud;
- the map is drawn at a round scale (1:10 000, 1:25 000...) that holds when the
  sheet is printed at 100 %.

Orientation: each sheet is laid out both ways and the one that gives the larger
map scale (the community's shape against the room left by the panels) is kept.
When a community's plots, corrals and water points lie in a part of it (under
:data:`ZOOM_RATIO` of its size), the map shows that part at a larger scale and a
locator inset shows the whole community with the part framed.

The package is split by what a sheet is made of: :mod:`~pastures.printmap.layout`
(paper, page geometry, scale, grid), :mod:`~pastures.printmap.mapframe` (plots,
corrals, water, backdrop, inset, legend), :mod:`~pastures.printmap.calendar`,
:mod:`~pastures.printmap.status` (the status panel), :mod:`~pastures.printmap.words`
(every printed word, through gettext), :mod:`~pastures.printmap.sheets` (the pages) and
:mod:`~pastures.printmap.atlas` (the files, drawn in worker processes), with
:mod:`~pastures.printmap.pagetext` drawing the plain texts of a page as one artist.
"""

from __future__ import annotations

from pastures.printmap.atlas import (
    MAX_WORKERS,
    PARTS_PREFIX,
    AtlasResult,
    default_workers,
    remove_stale_parts,
    slugify,
    write_atlas,
)
from pastures.printmap.calendar import (
    MAX_CALENDAR_MONTHS,
    CalendarCell,
    calendar_months,
    herd_group,
    plot_calendar,
    short_labels,
)
from pastures.printmap.layout import (
    MIN_FONT_PT,
    MIN_MAP_MM,
    RC,
    SERIES_MAP_MM,
    Orientation,
    Paper,
    font_families,
    missing_glyphs,
    nice_scale,
    page_geometry,
    true_north_offset,
)
from pastures.printmap.mapframe import RISK_STYLE, PlacedLabel, place_labels
from pastures.printmap.sheets import (
    Sheet,
    SheetLayout,
    community_layout,
    plan_sheets,
    spatial_order,
)
from pastures.printmap.status import main_driver
from pastures.printmap.words import community_title, isolate_bidi

__all__ = [
    "MAX_CALENDAR_MONTHS",
    "MAX_WORKERS",
    "MIN_FONT_PT",
    "MIN_MAP_MM",
    "PARTS_PREFIX",
    "RC",
    "RISK_STYLE",
    "SERIES_MAP_MM",
    "AtlasResult",
    "CalendarCell",
    "Orientation",
    "Paper",
    "PlacedLabel",
    "Sheet",
    "SheetLayout",
    "calendar_months",
    "community_layout",
    "community_title",
    "default_workers",
    "font_families",
    "herd_group",
    "isolate_bidi",
    "main_driver",
    "missing_glyphs",
    "nice_scale",
    "page_geometry",
    "place_labels",
    "plan_sheets",
    "plot_calendar",
    "remove_stale_parts",
    "short_labels",
    "slugify",
    "spatial_order",
    "true_north_offset",
    "write_atlas",
]
