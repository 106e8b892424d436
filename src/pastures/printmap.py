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
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import math
import multiprocessing
import os
import re
import textwrap
import unicodedata
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

from pastures import __version__
from pastures import schema as S
from pastures.backdrop import DisplayRaster, hillshade, read_for_display
from pastures.defaults import LANGS, PAPER_MM, Lang
from pastures.erosion import RiskThresholds
from pastures.errors import MissingDependencyError, OutputError, ParameterError
from pastures.io import atomic_output, source_date_epoch
from pastures.outputs import (
    RunOutputs,
    crs_words,
    data_date,
    data_sources,
    juli_defaults_of,
    missing_results,
    missing_stages,
    read_run,
    study_area,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

Paper = Literal["A4", "A3"]
Orientation = Literal["portrait", "landscape"]

#: Factor by which text, panels and margins grow on each paper against A4. On A3 they grow
#: 15 % (easier at arm's length) and the map takes the rest of the doubled page.
PAPER_TEXT_SCALE: Final = {"A4": 1.0, "A3": 1.15}
#: Smallest text on any page, points at the printed size.
MIN_FONT_PT: Final = 8.0
#: Page margin, mm at A4 (every length scales with the paper).
MARGIN_MM: Final = 10.0
#: Height of the title block, mm at A4.
TITLE_MM: Final = 22.0
#: Height of the note that replaces calendar and status on a community without plots, mm.
EMPTY_NOTE_MM: Final = 40.0
#: Side of the locator inset of a detail map, mm at A4.
INSET_MM: Final = 40.0
#: A sheet maps only the part of a community holding its plots, corrals and water
#: points (with a locator inset of the whole) when that part's longer side is under
#: this share of the community's.
ZOOM_RATIO: Final = 0.85
#: Margin (m) kept around the plots, corrals and water points of a detail map.
FOCUS_PAD_M: Final = 250.0
#: Least height of a sheet's map frame, mm at A4 (scaled with the paper). A layout whose
#: panels (a row per plot in the status panel and the calendar) leave the map less than
#: this is not used; a community whose plots leave less in both orientations gets a map
#: series, several sheets each with a part of its plots (see :func:`plan_sheets`). A
#: 75 mm map still holds a 1 km community at 1:15 000 with its north arrow and scale bar;
#: the smallest map of the Juli sample's sheets is 88 mm (five plots and a plan).
MIN_MAP_MM: Final = 75.0
#: Least height of the map of a sheet in a map series, mm at A4: a zoomed part of a
#: community, with the locator inset (:data:`INSET_MM`), north arrow and scale bar on
#: it, needs about the room the Juli sample's sheets give their maps (107-123 mm).
SERIES_MAP_MM: Final = 110.0
#: A locator inset draws a community's plots black up to this many, grey beyond (where
#: they would hide the frame of the part mapped).
MAX_PLOTS_BLACK_IN_LOCATOR: Final = 30
#: Margin (m) around the plots of one sheet of a map series.
SERIES_PAD_M: Final = 60.0
#: Round scale denominators the maps are drawn at (the smallest that fits is used).
NICE_SCALES: Final = (
    2_500, 5_000, 7_500, 10_000, 12_500, 15_000, 20_000, 25_000, 30_000, 40_000,
    50_000, 60_000, 75_000, 100_000, 125_000, 150_000, 200_000, 250_000, 500_000,
)  # fmt: skip
#: UTM grid spacings tried, m.
GRID_STEPS_M: Final = (100, 200, 250, 500, 1_000, 2_000, 2_500, 5_000, 10_000, 20_000)
#: Most months shown in a rotation calendar (13: a year that starts mid-month).
MAX_CALENDAR_MONTHS: Final = 13
#: Grey levels 0-1 of the background (darkest shadow, full light): kept light so
#: hatching and text stay readable over it.
BACKGROUND_GREY: Final = (0.74, 1.0)
FONT: Final = "DejaVu Sans"
#: Fonts tried, in order, for characters DejaVu Sans lacks (Chinese, Japanese, Korean,
#: emoji...), when installed (Debian: fonts-noto-cjk, fonts-noto-color-emoji). matplotlib
#: takes each glyph from the first font of the list that has it.
FALLBACK_FONTS: Final = (
    "Noto Sans CJK JP",
    "Noto Sans CJK SC",
    "Noto Sans",
    "Noto Sans Symbols",
    "Noto Sans Symbols 2",
    "Noto Color Emoji",
    "Noto Emoji",
    "Symbola",
)
#: Unicode bidirectional controls (embeddings, overrides, isolates, marks). A name that
#: holds them could reverse the text printed beside it; they have no glyph of their own.
BIDI_CONTROLS: Final = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
MM_PER_INCH: Final = 25.4
PT_PER_MM: Final = 72.0 / MM_PER_INCH

#: Fill, hatch and grey level of each risk class (lowest first), black-and-white safe:
#: grey level falls and hatch density rises with the class, so the classes differ
#: in luminance and texture, not by hue alone. The colours (a light-to-dark orange
#: ramp whose luminance falls monotonically) are an aid on colour printers only.
RISK_STYLE: Final = {
    "low": {"face": "#ffffff", "hatch": ""},
    "moderate": {"face": "#fde9b8", "hatch": "//"},
    "high": {"face": "#f6b26b", "hatch": "////"},
    "very high": {"face": "#c8763a", "hatch": "xxxx"},
}
NO_DATA_STYLE: Final = {"face": "#ffffff", "hatch": "..."}

MONTHS: Final = {
    "es": ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "set", "oct", "nov", "dic"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}

#: Every word printed, per language. Spanish is the assemblies' language.
WORDS: Final[dict[str, dict[str, Any]]] = {
    "es": {
        "atlas_title": "Mapas de parcelas de pastoreo",
        "district": "Distrito de Juli, provincia de Chucuito, Puno",
        "community": "Comunidad {}",
        "district_short": "distrito de Juli",
        "data_date": "Datos al {}",
        "plan": "Plan de rotación del {} al {}",
        "no_date": "fecha de los datos desconocida",
        "illustrative": "DATOS ILUSTRATIVOS: muestra de ejemplo, no usar para decidir",
        "missing_stage": "Sin {}: {}",
        "stage_vegetation": "índices de vegetación",
        "stage_rotation": "plan de rotación",
        "stage_erosion": "riesgo de erosión",
        "overview": "Las {} comunidades y sus parcelas",
        "overview_1": "La comunidad y sus parcelas",
        "contents": "Contenido",
        "page": "página",
        "page_of": "Página {} de {}",
        "how_to_read": "Cómo leer las hojas",
        "how": (
            "Cada hoja muestra una comunidad: sus parcelas con el código y las hectáreas, "
            "los corrales y las fuentes de agua.|"
            "El relleno de cada parcela dice su riesgo de erosión y sobrepastoreo: blanco "
            "bajo, rayas moderado, rayas densas alto, cuadriculado muy alto.|"
            "El calendario dice, mes por mes, cuántos días se pastorea cada parcela y los "
            "rebaños de qué corral entran; una raya (—) es un mes de descanso.|"
            "El cuadro de estado da la condición del pastizal, el riesgo y su causa principal."
        ),
        "plots_n": "{n} parcelas, {ha:.1f} ha",
        "plot_1": "1 parcela, {ha:.1f} ha",
        "no_plots_short": "sin parcelas",
        "no_plots": (
            "Esta comunidad no tiene parcelas cercadas registradas.|"
            "El mapa muestra su límite, sus corrales y sus fuentes de agua. Cuando se "
            "registren parcelas, aparecerán aquí con su calendario de rotación."
        ),
        "legend": "Leyenda",
        "risk_title": "Riesgo de erosión y sobrepastoreo",
        "plot": "Parcela",
        "no_data": "Sin datos",
        "boundary": "Límite de la comunidad",
        "neighbour": "Otra comunidad",
        "corral": "Corral",
        "water": "Fuente de agua",
        "leader": "Línea guía a la parcela",
        "background": "Fondo: relieve sombreado",
        "locator": "Recuadro: toda la comunidad, con la zona del mapa enmarcada",
        "background_rgb": "Fondo: imagen satelital en grises",
        "calendar": "Calendario de rotación: días de pastoreo por mes",
        "calendar_note": (
            "Número: días de pastoreo en el mes; C1-ALP-1 120: grupo del corral C1 y sus "
            "cabezas; 3 gr.: tres grupos; barra negra: días con animales; —: descansa."
        ),
        "calendar_cut": " Se muestran los primeros {} meses del plan.",
        "all_rest": (
            "El plan no pone animales en estas parcelas: descansan todo el periodo "
            "(los rebaños pastorean el campo comunal)."
        ),
        "not_in_plan": "El plan de rotación no incluye a esta comunidad.",
        "no_plan": (
            "No hay plan de rotación en esta corrida: el proyecto no tiene padrón de "
            "rebaños o corrales, o el plan no se hizo (pastures rotate)."
        ),
        "status": "Estado de las parcelas",
        "col_plot": "Parcela",
        "col_ha": "ha",
        "col_condition": "Condición",
        "col_risk": "Riesgo",
        "col_driver": "Causa principal",
        "days": "{} d",
        "overgrazing": "sobrepastoreo: {} veces la capacidad",
        "erosion_slope": "erosión {:.0f} t/ha/año por la pendiente ({:.0f} %)",
        "erosion_cover": "erosión {:.0f} t/ha/año por poca cobertura ({:.0f} %)",
        "erosion": "erosión {:.0f} t/ha/año",
        "none": "ninguna destacada",
        "scale": "Escala 1:{} (al imprimir al 100 %)",
        "north": "N",
        "credits": (
            "Fuentes: comunidades, parcelas, corrales y fuentes de agua: capas del proyecto{}; "
            "vegetación: {}; producción de forraje: {}; condición y capacidad de carga: "
            "Flórez (2005); erosión: RUSLE (Renard et al. 1997); relieve: {}; "
            "rotación: plan de pastures. Elaborado con pastures {} el {}."
        ),
        "src_imagery": {
            "files": "Copernicus Sentinel-2 (ESA), NDVI",
            "sample": "escenas Sentinel-2 sintéticas de la muestra, NDVI",
            "none": "sin imágenes",
        },
        "src_forage": {
            "cuts": "NDVI calibrado con cortes de campo",
            "cuts_sample": "NDVI calibrado con cortes inventados de la muestra",
            "published": (
                "NDVI en bofedales (Zorogastúa-Cruz et al. 2012), rango del tipo de pasto "
                "en los demás (Castellaro 2007)"
            ),
            "defaults": "rango del tipo de pasto (Castellaro 2007)",
        },
        "src_dem": {
            "sample": "DEM sintético de la muestra",
            "none": "sin DEM",
            "*": "DEM de la corrida",
        },
        "missing": {
            "rotation": "Sin plan de rotación",
            "anomaly": "Una sola fecha: sin anomalía de NDVI",
            "erosion": "Sin riesgo de erosión: el proyecto no tiene DEM",
            "erosion_synthetic": (
                "Sin riesgo de erosión: el DEM sintético de la muestra solo sirve a proyectos "
                "ilustrativos; dé un DEM real"
            ),
            "juli_defaults": "Valores de Juli usados por defecto: ",
        },
        "sample_source": " (muestra ilustrativa)",
        "ha": "{:.1f} ha",
        "sheet_of": "hoja {} de {}",
        "sheets_n": "{} hojas",
        "pages": "páginas",
        "series_note": (
            "Las parcelas de la comunidad no caben en una hoja: van en {} hojas, cada una con "
            "parcelas vecinas; en gris claro, las parcelas de las otras hojas"
        ),
        "grid_any": "Cuadrícula {} cada {{}} m",
        "illustrative_user": "DATOS ILUSTRATIVOS: no usar para decidir",
        "user_source": " (datos ilustrativos)",
        "north_note": (
            "La flecha indica el norte de la cuadrícula; el norte geográfico está {:.1f}° al "
            "{} de él"
        ),
        "east": "este",
        "west": "oeste",
        "how_series": (
            "Una comunidad con muchas parcelas ocupa varias hojas («hoja 1 de 9»): cada "
            "una muestra un grupo de parcelas vecinas; las de las otras hojas aparecen en "
            "gris claro."
        ),
        "series_marks": "Número sobre las parcelas: página de su hoja",
    },
    "en": {
        "atlas_title": "Grazing plot maps",
        "district": "District of Juli, province of Chucuito, Puno",
        "community": "Community {}",
        "district_short": "district of Juli",
        "data_date": "Data as of {}",
        "plan": "Rotation plan from {} to {}",
        "no_date": "date of the data unknown",
        "illustrative": "ILLUSTRATIVE DATA: example sample, not for decisions",
        "missing_stage": "No {}: {}",
        "stage_vegetation": "vegetation indices",
        "stage_rotation": "rotation plan",
        "stage_erosion": "erosion risk",
        "overview": "The {} communities and their plots",
        "overview_1": "The community and its plots",
        "contents": "Contents",
        "page": "page",
        "page_of": "Page {} of {}",
        "how_to_read": "How to read the sheets",
        "how": (
            "Each sheet shows one community: its plots with code and hectares, its "
            "corrals and water points.|"
            "The fill of a plot gives its erosion and overgrazing risk: white low, "
            "hatching moderate, dense hatching high, cross-hatching very high.|"
            "The calendar gives, month by month, how many days each plot is grazed and the "
            "herds of which corral come in; a dash (—) is a month of rest.|"
            "The status panel gives range condition, risk and its main driver."
        ),
        "plots_n": "{n} plots, {ha:.1f} ha",
        "plot_1": "1 plot, {ha:.1f} ha",
        "no_plots_short": "no plots",
        "no_plots": (
            "This community has no fenced plots on record.|"
            "The map shows its boundary, corrals and water points. Plots will appear here, "
            "with their rotation calendar, once they are recorded."
        ),
        "legend": "Legend",
        "risk_title": "Erosion and overgrazing risk",
        "plot": "Plot",
        "no_data": "No data",
        "boundary": "Community boundary",
        "neighbour": "Other community",
        "corral": "Corral",
        "water": "Water point",
        "leader": "Leader line to the plot",
        "background": "Background: shaded relief",
        "locator": "Inset: the whole community, with the part mapped framed",
        "background_rgb": "Background: satellite image in grey",
        "calendar": "Rotation calendar: days of grazing per month",
        "calendar_note": (
            "Number: days grazed in the month; C1-ALP-1 120: a group of corral C1 and its "
            "heads; 3 gr.: three groups; black bar: days with animals; —: rests."
        ),
        "calendar_cut": " The first {} months of the plan are shown.",
        "all_rest": (
            "The plan puts no animals on these plots: they rest the whole period "
            "(the herds graze the open communal range)."
        ),
        "not_in_plan": "The rotation plan does not cover this community.",
        "no_plan": (
            "This run has no rotation plan: the project has no herd register or corrals, "
            "or no plan was made (pastures rotate)."
        ),
        "status": "Plot status",
        "col_plot": "Plot",
        "col_ha": "ha",
        "col_condition": "Condition",
        "col_risk": "Risk",
        "col_driver": "Main driver",
        "days": "{} d",
        "overgrazing": "overgrazing: {} times capacity",
        "erosion_slope": "erosion {:.0f} t/ha/yr from slope ({:.0f} %)",
        "erosion_cover": "erosion {:.0f} t/ha/yr from low cover ({:.0f} %)",
        "erosion": "erosion {:.0f} t/ha/yr",
        "none": "none stands out",
        "scale": "Scale 1:{} (when printed at 100 %)",
        "north": "N",
        "credits": (
            "Sources: communities, plots, corrals and water points: project layers{}; "
            "vegetation: {}; forage production: {}; range condition and capacity: "
            "Flórez (2005); erosion: RUSLE (Renard et al. 1997); relief: {}; "
            "rotation: pastures plan. Made with pastures {} on {}."
        ),
        "src_imagery": {
            "files": "Copernicus Sentinel-2 (ESA), NDVI",
            "sample": "the sample's synthetic Sentinel-2 scenes, NDVI",
            "none": "no imagery",
        },
        "src_forage": {
            "cuts": "NDVI calibrated with field quadrat cuts",
            "cuts_sample": "NDVI calibrated with the sample's made-up quadrat cuts",
            "published": (
                "NDVI on bofedales (Zorogastúa-Cruz et al. 2012), the pasture type's range "
                "elsewhere (Castellaro 2007)"
            ),
            "defaults": "the pasture type's range (Castellaro 2007)",
        },
        "src_dem": {"sample": "the sample's synthetic DEM", "none": "no DEM", "*": "the run's DEM"},
        "missing": {
            "rotation": "No rotation plan",
            "anomaly": "One image date: no NDVI anomaly",
            "erosion": "No erosion risk: the project has no DEM",
            "erosion_synthetic": (
                "No erosion risk: the sample's synthetic DEM serves illustrative projects "
                "only; give a real DEM"
            ),
            "juli_defaults": "Juli's values used by default: ",
        },
        "sample_source": " (illustrative sample)",
        "ha": "{:.1f} ha",
        "sheet_of": "sheet {} of {}",
        "sheets_n": "{} sheets",
        "pages": "pages",
        "series_note": (
            "The community's plots do not fit on one sheet: they are on {} sheets, each "
            "with neighbouring plots; in light grey, the plots of the other sheets"
        ),
        "grid_any": "{} grid every {{}} m",
        "illustrative_user": "ILLUSTRATIVE DATA: not for decisions",
        "user_source": " (illustrative data)",
        "north_note": ("The arrow shows grid north; true north is {:.1f}° {} of it"),
        "east": "east",
        "west": "west",
        "how_series": (
            'A community with many plots takes several sheets ("sheet 1 of 9"): each '
            "shows a group of neighbouring plots; those of the other sheets are in light grey."
        ),
        "series_marks": "Number on the plots: page of their sheet",
    },
}
RISK_LABELS: Final = {
    "es": S.RISK_CLASS_LABELS_ES,
    "en": {c: c.capitalize() for c in S.RISK_CLASSES},
}
CONDITION_LABELS: Final = {
    "es": S.RANGE_CONDITION_LABELS_ES,
    "en": {c: c.capitalize() for c in S.RANGE_CONDITIONS},
}
#: Slope (%) from which steepness, rather than low cover, is named as the erosion driver.
STEEP_SLOPE_PCT: Final = 15.0


@dataclass(frozen=True)
class AtlasResult:
    """What :func:`write_atlas` wrote.

    Attributes
    ----------
    atlas
        The atlas PDF (cover, overview, the community sheets).
    communities
        One PDF per community, keyed by community name.
    pages
        Pages of the atlas.
    sheets
        Sheets of each community (more than 1 for a map series), keyed by name.
    """

    atlas: Path
    communities: dict[str, Path]
    pages: int
    sheets: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Page:
    """Geometry of a page: size in mm and the factor every A4 length is scaled by."""

    width: float
    height: float
    k: float

    @property
    def orientation(self) -> Orientation:
        return "landscape" if self.width > self.height else "portrait"

    def pt(self, size: float) -> float:
        """Font size scaled to the paper, never under :data:`MIN_FONT_PT`."""
        return max(MIN_FONT_PT, size * self.k)


def page_geometry(paper: Paper, orientation: Orientation) -> _Page:
    """Width, height (mm) and scale factor of a page."""
    short, long_ = PAPER_MM[paper]
    k = PAPER_TEXT_SCALE[paper]
    if orientation == "landscape":
        return _Page(long_, short, k)
    return _Page(short, long_, k)


#: Longest file-name slug of a community (characters): file systems allow 255 bytes.
MAX_SLUG_CHARS: Final = 60


def slugify(name: str) -> str:
    """File-name slug of a community name: ``"Comunidad 03"`` -> ``"comunidad-03"``.

    A long name is shortened to :data:`MAX_SLUG_CHARS` with a digest of the whole name
    (so two long names stay apart); the name itself is printed in full.
    """
    import hashlib

    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-") or "comunidad"
    if len(slug) > MAX_SLUG_CHARS:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
        slug = f"{slug[: MAX_SLUG_CHARS - 9].rstrip('-')}-{digest}"
    return slug


def community_title(name: str, lang: Lang) -> str:
    """``"Comunidad Pasiri"``; a name that already says so is kept as is."""
    if name.lower().startswith(("comunidad", "community", "c.c.")):
        return name
    return WORDS[lang]["community"].format(name)


def format_date(day: dt.date, lang: Lang) -> str:
    """``"31 dic 2024"`` / ``"31 Dec 2024"``."""
    return f"{day.day:02d} {MONTHS[lang][day.month - 1]} {day.year}"


def nice_scale(extent_m: tuple[float, float], room_mm: tuple[float, float]) -> int:
    """Smallest round scale denominator at which a ground extent fits a map frame.

    Parameters
    ----------
    extent_m
        Ground width and height to show, m.
    room_mm
        Width and height of the map frame on paper, mm.
    """
    need = max(extent_m[0] / room_mm[0], extent_m[1] / room_mm[1]) * 1000.0
    for den in NICE_SCALES:
        if den >= need:
            return den
    return int(math.ceil(need / 100_000.0) * 100_000)


def grid_step(width_m: float) -> int:
    """A UTM grid spacing giving at most 8 lines across `width_m`."""
    for step in GRID_STEPS_M:
        if width_m / step <= 8:
            return step
    return GRID_STEPS_M[-1]


def scale_bar_length(width_m: float) -> float:
    """A round length (1, 2 or 5 x 10^n m) close to a quarter of the map width."""
    target = width_m / 4.0
    exp = 10 ** math.floor(math.log10(target))
    for mult in (5, 2, 1):
        if mult * exp <= target:
            return float(mult * exp)
    return float(exp)


def main_driver(row: pd.Series, lang: Lang, thresholds: RiskThresholds | None = None) -> str:
    """The main driver of a plot's risk class, in words.

    The risk class of :func:`pastures.erosion.risk_classes` adds one class per soil-loss
    threshold passed and one per grazing-pressure threshold passed. The driver named
    is the one that added more classes (pressure on a tie, as resting is the quicker
    remedy); for erosion, steepness is named on slopes of :data:`STEEP_SLOPE_PCT` or
    more, low dry-season cover otherwise.
    """
    th = thresholds or RiskThresholds()
    words = WORDS[lang]
    loss = row.get(S.SOIL_LOSS_T_HA_YR, np.nan)
    ratio = row.get(S.PRESSURE_RATIO, np.nan)
    by_loss = int(np.digitize(loss, th.soil_loss)) if pd.notna(loss) else 0
    by_pressure = int(np.digitize(ratio, th.pressure, right=True)) if pd.notna(ratio) else 0
    if pd.isna(loss) and pd.isna(ratio):
        return words["no_data"].lower()
    if by_pressure == 0 and by_loss == 0:
        return words["none"]
    if by_pressure >= by_loss:
        times = f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.1f}"
        return words["overgrazing"].format(times)
    slope = row.get(S.SLOPE_PCT, np.nan)
    cover = row.get(S.COVER_PCT, np.nan)
    if pd.notna(slope) and slope >= STEEP_SLOPE_PCT:
        return words["erosion_slope"].format(loss, slope)
    if pd.notna(cover):
        return words["erosion_cover"].format(loss, cover)
    return words["erosion"].format(loss)


# --- data for a sheet --------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarCell:
    """One plot in one month of the rotation plan."""

    days: int
    groups: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]  # grazed day runs, (first, last) day of month


def herd_group(herd_id: str, corral_ids: list[str]) -> str:
    """The corral a rotation herd belongs to (``"PAS-C1-G2"`` -> ``"PAS-C1"``).

    The rotation planner names grouped herds ``<corral>-G<n>``; a herd that matches
    no corral is its own group.
    """
    best = ""
    for cid in corral_ids:
        if (herd_id == cid or herd_id.startswith(f"{cid}-")) and len(cid) > len(best):
            best = cid
    return best or herd_id


def short_labels(names: list[str]) -> dict[str, str]:
    """Drop the prefix (up to a dash) that all `names` share: PAS-C1, PAS-C2 -> C1, C2."""
    unique = sorted(set(names))
    if len(unique) == 0:
        return {}
    heads = {n.split("-", 1)[0] for n in unique}
    if len(heads) == 1 and all("-" in n for n in unique):
        return {n: n.split("-", 1)[1] for n in unique}
    return {n: n for n in unique}


def calendar_months(schedule: pd.DataFrame | None) -> list[pd.Period]:
    """The months the rotation plan spans, at most :data:`MAX_CALENDAR_MONTHS`."""
    if schedule is None or schedule.empty:
        return []
    start = pd.to_datetime(schedule[S.START]).min().to_period("M")
    end = pd.to_datetime(schedule[S.END]).max().to_period("M")
    months = list(pd.period_range(start, end, freq="M"))
    return months[:MAX_CALENDAR_MONTHS]


def plot_calendar(
    schedule: pd.DataFrame, plot_codes: list[str], months: list[pd.Period], groups: dict[str, str]
) -> dict[str, list[CalendarCell]]:
    """Per plot, per month: days grazed, the herd groups that graze, the grazed day runs.

    Parameters
    ----------
    schedule
        Rotation schedule (:data:`pastures.schema` columns herd_id, location_id, start, end).
    plot_codes, months
        Rows and columns of the calendar.
    groups
        Label of the group of each herd id (e.g. the corral's short code).
    """
    rows = schedule[schedule[S.LOCATION_ID].isin(plot_codes)]
    code_of = {code: i for i, code in enumerate(plot_codes)}
    month_of = {int(m.ordinal): j for j, m in enumerate(months)} if months else {}
    start = pd.to_datetime(rows[S.START]).to_numpy(dtype="datetime64[ns]")
    end = pd.to_datetime(rows[S.END]).to_numpy(dtype="datetime64[ns]")
    # every day of every stay, like pd.date_range(start, end): start + k days <= end
    n_days = np.maximum((end - start) // np.timedelta64(1, "D") + 1, 0).astype(np.int64)
    stay = np.repeat(np.arange(len(rows)), n_days)
    offset = np.arange(stay.size) - np.repeat(np.cumsum(n_days) - n_days, n_days)
    day = start.astype("datetime64[D]")[stay] + offset.astype("timedelta64[D]")
    month = day.astype("datetime64[M]")
    dom = (day - month.astype("datetime64[D]")).astype(np.int64) + 1
    # months as pandas Period ordinals (months since 1970-01)
    col = np.array([month_of.get(int(m), -1) for m in month.astype(np.int64)], dtype=np.int64)
    row = np.array([code_of[c] for c in rows[S.LOCATION_ID]], dtype=np.int64)[stay]
    herds = rows[_who_column(rows)].astype(str).to_numpy()
    label = np.array([groups.get(h, h) for h in herds], dtype=object)[stay]
    keep = col >= 0
    cell = row[keep] * max(len(months), 1) + col[keep]
    days_of: dict[int, list[int]] = {}
    for c, d in np.unique(np.column_stack([cell, dom[keep]]), axis=0).tolist():
        days_of.setdefault(c, []).append(d)
    names_of: dict[int, set[str]] = {}
    for c, name in zip(cell.tolist(), label[keep].tolist(), strict=True):
        names_of.setdefault(c, set()).add(name)
    out: dict[str, list[CalendarCell]] = {}
    for i, code in enumerate(plot_codes):
        cells = []
        for j in range(len(months)):
            grazed = days_of.get(i * len(months) + j, [])
            spans: list[tuple[int, int]] = []
            for d in grazed:
                if spans and spans[-1][1] == d - 1:
                    spans[-1] = (spans[-1][0], d)
                else:
                    spans.append((d, d))
            names = sorted(names_of.get(i * len(months) + j, ())) if grazed else []
            cells.append(CalendarCell(len(grazed), tuple(names), tuple(spans)))
        out[code] = cells
    return out


# --- drawing helpers --------------------------------------------------------------------


def _require_matplotlib() -> Any:
    try:
        import matplotlib as mpl
    except ImportError as exc:  # pragma: no cover - matplotlib is a core dependency
        raise MissingDependencyError(
            "printing maps needs matplotlib: pip install 'matplotlib>=3.7'."
        ) from exc
    return mpl


#: matplotlib settings of every page: real text (TrueType, Type 42) in DejaVu Sans.
RC: Final = {
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "font.family": "sans-serif",
    "font.sans-serif": [FONT],
    "hatch.linewidth": 0.6,
    "hatch.color": "black",
    "pdf.compression": 9,
    "axes.unicode_minus": True,
    "svg.fonttype": "none",
}


def font_families() -> list[str]:
    """DejaVu Sans and the installed :data:`FALLBACK_FONTS`, in order."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return [FONT, *(name for name in FALLBACK_FONTS if name in installed)]


def missing_glyphs(texts: Iterator[str] | list[str], families: list[str]) -> str:
    """The characters of `texts` that none of the fonts `families` can draw (sorted)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    fonts = []
    for family in families:
        with contextlib.suppress(ValueError):
            path = font_manager.findfont(
                font_manager.FontProperties(family=family), fallback_to_default=False
            )
            fonts.append(FT2Font(path))
    chars = {c for text in texts for c in str(text) if c.isprintable() and not c.isspace()}
    return "".join(sorted(c for c in chars if not any(f.get_char_index(ord(c)) for f in fonts)))


def isolate_bidi(run: RunOutputs) -> RunOutputs:
    """The run with the bidirectional controls taken out of every name and table text.

    matplotlib draws characters in the order given; a right-to-left override in a name
    would make a PDF viewer reverse the text around it. Removing the controls keeps
    every name's letters and the order they were typed in.
    """

    def clean(frame: Any) -> Any:
        out = frame.copy()
        for col in out.columns:
            if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
                out[col] = out[col].map(
                    lambda v: BIDI_CONTROLS.sub("", v) if isinstance(v, str) else v
                )
        return out

    return dataclasses.replace(
        run,
        communities=clean(run.communities),
        plots=clean(run.plots),
        corrals=clean(run.corrals),
        water_points=clean(run.water_points),
        tables={k: clean(v) for k, v in run.tables.items()},
    )


def _warn_missing_glyphs(run: RunOutputs, families: list[str]) -> None:
    texts = [
        *run.communities.get(S.COMMUNITY, pd.Series(dtype=object)).dropna().astype(str),
        *run.plots.get(S.COMMUNITY, pd.Series(dtype=object)).dropna().astype(str),
        *run.plots.get(S.PLOT_CODE, pd.Series(dtype=object)).dropna().astype(str),
        study_area(run).name,
    ]
    lost = missing_glyphs(texts, families)
    if lost:
        logger.warning(
            "The atlas cannot print the characters %s of some names: no installed font has "
            "them (fonts tried: %s); they show as empty boxes. Install a font that has them "
            "(Debian: apt-get install fonts-noto-cjk fonts-noto-color-emoji) and print again.",
            " ".join(lost[:40]),
            ", ".join(families),
        )


def _axes_mm(fig: Figure, page: _Page, rect: tuple[float, float, float, float]) -> Axes:
    """Axes at rect = (x, top, w, h) mm from the page's top-left corner, in mm coordinates."""
    x, top, w, h = rect
    ax = fig.add_axes(
        (x / page.width, 1 - (top + h) / page.height, w / page.width, h / page.height)
    )
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_axis_off()
    return ax


@functools.lru_cache(maxsize=4096)
def _text_width_mm(text: str, size_pt: float, *, bold: bool = False) -> float:
    """Width of `text` set in DejaVu Sans at `size_pt`, mm (from the font's glyph outlines)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    if not text:
        return 0.0
    prop = FontProperties(family=FONT, weight="bold" if bold else "normal")
    extent = TextPath((0, 0), text, size=size_pt, prop=prop).get_extents()
    return float(extent.width) / PT_PER_MM


def _wrap(text: str, width_mm: float, size_pt: float) -> list[str]:
    """Wrap `text` into lines no wider than `width_mm` at `size_pt`."""
    char_mm = _text_width_mm("abcdefghij klmnopqrstuvwxyz", size_pt) / 27.0
    chars = max(8, int(0.95 * width_mm / char_mm))  # 5 % for capitals and wide glyphs
    lines: list[str] = []
    for para in text.split("|"):
        lines.extend(textwrap.wrap(para, chars) or [""])
    return lines


def _swatch(ax: Axes, rect: tuple[float, float, float, float], style: dict[str, str]) -> None:
    x, y, w, h = rect
    from matplotlib.patches import Rectangle

    ax.add_patch(
        Rectangle(
            (x, y), w, h, facecolor=style["face"], edgecolor="black", hatch=style["hatch"], lw=0.8
        )
    )


def _risk_style(risk: object) -> dict[str, str]:
    return RISK_STYLE.get(str(risk), NO_DATA_STYLE) if pd.notna(risk) else NO_DATA_STYLE


# --- the map frame -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """A map frame on the page: where (mm), what ground extent (m), at which scale."""

    x: float
    top: float
    w: float
    h: float
    scale: int
    extent: tuple[float, float, float, float]  # xmin, ymin, xmax, ymax in m

    def m_per_mm(self) -> float:
        return self.scale / 1000.0


def _frame(rect: tuple[float, float, float, float], bounds: np.ndarray, margin: float) -> _Frame:
    """A frame at rect (x, top, w, h; mm), centred on `bounds` (m), at a round scale.

    The scale is the largest round one at which `bounds` and `margin` (0-1) fit.
    """
    x, top, w, h = rect
    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    span = (max(xmax - xmin, 1.0) * (1 + 2 * margin), max(ymax - ymin, 1.0) * (1 + 2 * margin))
    scale = nice_scale(span, (w, h))
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    half_w, half_h = w * scale / 2000.0, h * scale / 2000.0
    return _Frame(x, top, w, h, scale, (cx - half_w, cy - half_h, cx + half_w, cy + half_h))


def _map_axes(fig: Figure, page: _Page, frame: _Frame) -> Axes:
    ax = fig.add_axes(
        (
            frame.x / page.width,
            1 - (frame.top + frame.h) / page.height,
            frame.w / page.width,
            frame.h / page.height,
        )
    )
    xmin, ymin, xmax, ymax = frame.extent
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    for spine in ax.spines.values():
        spine.set_linewidth(1.0 * page.k)
    return ax


def _display_raster(path: str | Path) -> DisplayRaster:
    """The raster under the maps, read once per file version and reused by every sheet."""
    stat = Path(path).stat()
    return _read_display(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _read_display(path: str, _mtime_ns: int, _size: int) -> DisplayRaster:
    raster = read_for_display(path, max_pixels=4000)
    raster.data.setflags(write=False)  # shared by the sheets: nobody may change it
    return raster


def _background(ax: Axes, run: RunOutputs, frame: _Frame) -> str | None:
    """Draw a light grey hillshade (or grey true colour) under the map; its legend key."""
    xmin, ymin, xmax, ymax = frame.extent
    for key in ("dem", "true_colour"):
        path = run.rasters.get(key)
        if path is None:
            continue
        raster = _display_raster(path)
        t = raster.transform
        col0 = max(0, math.floor((xmin - t.c) / t.a) - 2)
        col1 = min(raster.data.shape[2], math.ceil((xmax - t.c) / t.a) + 2)
        row0 = max(0, math.floor((ymax - t.f) / t.e) - 2)
        row1 = min(raster.data.shape[1], math.ceil((ymin - t.f) / t.e) + 2)
        if col1 <= col0 or row1 <= row0:
            continue
        window = raster.data[:, row0:row1, col0:col1]
        if key == "dem":
            grey = hillshade(window[0], cellsize=abs(t.a))
        else:
            r, g, b = window[:3]
            lum = 0.299 * r + 0.587 * g + 0.114 * b
            valid = np.isfinite(lum)
            if not valid.any():
                continue
            lo, hi = np.percentile(lum[valid], (2, 98))
            grey = np.clip((lum - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
        if not np.isfinite(grey).any():
            continue
        dark, light = BACKGROUND_GREY
        shade = np.where(np.isfinite(grey), dark + (light - dark) * np.nan_to_num(grey), 1.0)
        left, top = t.c + col0 * t.a, t.f + row0 * t.e
        right, bottom = left + (col1 - col0) * t.a, top + (row1 - row0) * t.e
        ax.imshow(
            (shade * 255).astype("uint8"),
            cmap="gray",
            vmin=0,
            vmax=255,
            extent=(left, right, bottom, top),
            interpolation="bilinear",
            zorder=0,
        )
        ax.set_xlim(xmin, xmax)
        ax.set_ylim(ymin, ymax)
        return "background" if key == "dem" else "background_rgb"
    return None


def _utm_grid(ax: Axes, page: _Page, frame: _Frame) -> int:
    """Grid lines every round number of metres with coordinates outside the frame."""
    xmin, ymin, xmax, ymax = frame.extent
    step = grid_step(xmax - xmin)
    size = page.pt(7.5)
    # No coordinate within 8 mm of a corner, where the two axes' labels would meet.
    clear = 8 * page.k * frame.m_per_mm()
    xs = np.arange(math.ceil((xmin + clear) / step) * step, xmax - clear / 2, step)
    ys = np.arange(math.ceil((ymin + clear) / step) * step, ymax - clear, step)
    for x in xs:
        ax.axvline(x, color="0.35", lw=0.35 * page.k, zorder=1)
        ax.annotate(
            f"{x:,.0f}".replace(",", " "),
            (x, ymin),
            xytext=(0, -2.5 * page.k),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=size,
            annotation_clip=False,
        )
    for y in ys:
        ax.axhline(y, color="0.35", lw=0.35 * page.k, zorder=1)
        ax.annotate(
            f"{y:,.0f}".replace(",", " "),
            (xmin, y),
            xytext=(-2.5 * page.k, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            rotation=90,
            fontsize=size,
            annotation_clip=False,
        )
    return step


def _north_and_scale(ax: Axes, page: _Page, frame: _Frame, lang: Lang) -> None:
    """North arrow (top right) and a graphic scale bar (bottom left) inside the map."""
    from matplotlib.patches import FancyArrow, Rectangle

    xmin, ymin, xmax, ymax = frame.extent
    mpm = frame.m_per_mm()
    k = page.k
    # North arrow: grid north. Where true north is NORTH_NOTE_DEG or more off it (see
    # true_north_offset) the sheet's notes say by how much and which way.
    ax_x, ax_y = xmax - 9 * k * mpm, ymax - 20 * k * mpm
    ax.add_patch(
        Rectangle(
            (ax_x - 5 * k * mpm, ax_y - 3 * k * mpm),
            10 * k * mpm,
            20 * k * mpm,
            facecolor="white",
            edgecolor="black",
            lw=0.6,
            zorder=8,
        )
    )
    ax.add_patch(
        FancyArrow(
            ax_x,
            ax_y,
            0,
            11 * k * mpm,
            width=1.2 * k * mpm,
            head_width=5 * k * mpm,
            head_length=5 * k * mpm,
            length_includes_head=True,
            color="black",
            zorder=9,
        )
    )
    ax.text(
        ax_x,
        ax_y + 12 * k * mpm,
        WORDS[lang]["north"],
        ha="center",
        va="bottom",
        fontsize=page.pt(11),
        weight="bold",
        zorder=9,
    )
    # Scale bar: four alternating segments.
    length = scale_bar_length(xmax - xmin)
    x0, y0 = xmin + 6 * k * mpm, ymin + 9 * k * mpm
    bar_h = 1.8 * k * mpm
    scale_text = WORDS[lang]["scale"].format(f"{frame.scale:,}".replace(",", " "))
    box_w = max(length + 20 * k * mpm, (_text_width_mm(scale_text, page.pt(8)) + 6 * k) * mpm)
    ax.text(x0, y0 - 1.5 * k * mpm, scale_text, fontsize=page.pt(8), va="top", zorder=9)
    ax.add_patch(
        Rectangle(
            (x0 - 3 * k * mpm, y0 - 6.5 * k * mpm),
            box_w,
            bar_h + 15.5 * k * mpm,
            facecolor="white",
            edgecolor="black",
            lw=0.6,
            zorder=8,
        )
    )
    for i in range(4):
        ax.add_patch(
            Rectangle(
                (x0 + i * length / 4, y0),
                length / 4,
                bar_h,
                facecolor="black" if i % 2 == 0 else "white",
                edgecolor="black",
                lw=0.6,
                zorder=9,
            )
        )
    unit, div = ("km", 1000.0) if length >= 1000 else ("m", 1.0)
    for frac in (0, 0.5, 1):
        value = length * frac / div
        label = f"{value:g}" + (f" {unit}" if frac == 1 else "")
        ax.text(
            x0 + length * frac,
            y0 + bar_h + 1.2 * k * mpm,
            label,
            ha="center" if frac < 1 else "left",
            va="bottom",
            fontsize=page.pt(8),
            zorder=9,
        )


# --- label placement ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedLabel:
    """Where a plot's label went: centre (m), box, and the leader line if outside."""

    code: str
    x: float
    y: float
    box: shapely.Polygon
    leader: tuple[tuple[float, float], tuple[float, float]] | None


def place_labels(
    plots: gpd.GeoDataFrame,
    sizes: dict[str, tuple[float, float]],
    *,
    extent: tuple[float, float, float, float],
    obstacles: list[shapely.Geometry] | None = None,
    gap: float = 0.0,
) -> list[PlacedLabel]:
    """Place one label per plot so that no two labels overlap.

    A label goes inside its plot when its box fits there (around the plot's pole of
    inaccessibility); otherwise it is tried at increasing distances in 16 directions
    around the plot, keeping clear of other labels, plots and `obstacles`, inside
    `extent`, and joined to the plot by a leader line. Larger plots are placed first.

    Parameters
    ----------
    plots
        Plots with ``plot_code`` and polygon geometry (m).
    sizes
        Width and height (m) of each plot's label box.
    extent
        xmin, ymin, xmax, ymax the labels must stay within (m).
    obstacles
        Geometries labels outside a plot must not cover (corrals, other features).
    gap
        Clearance (m) between a label outside a plot and the plot.
    """
    frame = box(*extent)
    placed: list[PlacedLabel] = []
    taken: list[shapely.Geometry] = []
    geoms = dict(zip(plots[S.PLOT_CODE].astype(str), plots.geometry, strict=True))
    all_plots = shapely.union_all(list(geoms.values())) if geoms else shapely.Polygon()
    blocked = [*list(obstacles or [])]
    order = sorted(geoms, key=lambda c: -geoms[c].area)
    for code in order:
        geom = geoms[code]
        w, h = sizes[code]
        inner = (
            shapely.ops.polylabel(geom, tolerance=1.0)
            if geom.geom_type == "Polygon"
            else (geom.representative_point())
        )
        candidate = box(inner.x - w / 2, inner.y - h / 2, inner.x + w / 2, inner.y + h / 2)
        if geom.contains(candidate) and not any(candidate.intersects(t) for t in taken):
            placed.append(PlacedLabel(code, inner.x, inner.y, candidate, None))
            taken.append(candidate)
            continue
        centre = geom.centroid
        radius = math.sqrt(geom.area / math.pi)
        best: tuple[float, float, float, shapely.Polygon] | None = None
        for step in range(8):
            dist = radius + gap + max(w, h) * (0.55 + 0.45 * step)
            for i in range(16):
                ang = math.radians(90 - 22.5 * i)
                cx = centre.x + dist * math.cos(ang) * (1 + (w / max(h, 1e-9) - 1) * 0.3)
                cy = centre.y + dist * math.sin(ang)
                cand = box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                if not frame.contains(cand):
                    continue
                clash = sum(cand.intersects(t) for t in taken) * 10
                clash += cand.buffer(gap / 2).intersects(all_plots) * 10
                clash += sum(cand.intersects(o) for o in blocked)
                score = clash * 1e9 + dist
                if best is None or score < best[0]:
                    best = (score, cx, cy, cand)
            if best is not None and best[0] < 1e9:
                break
        if best is None:  # no room inside the frame: fall back to the plot itself
            placed.append(PlacedLabel(code, inner.x, inner.y, candidate, None))
            taken.append(candidate)
            continue
        _, cx, cy, cand = best
        start, end = shapely.ops.nearest_points(cand.exterior, geom)
        placed.append(PlacedLabel(code, cx, cy, cand, ((start.x, start.y), (end.x, end.y))))
        taken.append(cand)
    return placed


# --- pages ----------------------------------------------------------------------------------


#: Angle (degrees) between grid north and true north from which a sheet says so in its
#: notes: under it the north arrow (grid north) is within the drawing's accuracy.
NORTH_NOTE_DEG: Final = 0.5


def true_north_offset(crs: str, lon: float, lat: float) -> float:
    """Angle (degrees) from grid north to true north at (lon, lat), positive clockwise (east).

    Worked out from the projected direction of a short step north along the meridian,
    so it holds for any projected CRS. In UTM it is minus the meridian convergence,
    about -(lon - central meridian) * sin(lat): at Juli (16.2° S, 0.5° W of the 69° W
    meridian of zone 19) under 0.2°; near Lyon in zone 31 (45.8° N, 2° E of 3° E) 1.5°
    to the west.
    """
    from pyproj import Transformer

    to_grid = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x0, y0 = to_grid.transform(lon, lat)
    x1, y1 = to_grid.transform(lon, lat + 1e-3)
    return math.degrees(math.atan2(x1 - x0, y1 - y0))


@dataclass(frozen=True)
class _Labels:
    """The words of a sheet that depend on where the run is (see :func:`_labels`)."""

    area: str  # the cover's second line
    area_short: str  # after the community in a sheet's title
    grid: str  # grid note, "{}" for the spacing
    illustrative: str
    source: str  # after "project layers" in the credits
    north_note: str  # "" when grid north is within NORTH_NOTE_DEG of true north


def _labels(run: RunOutputs, lang: Lang) -> _Labels:
    """Area name, CRS and illustrative wording of a run: Juli's words for Juli."""
    words = WORDS[lang]
    area = study_area(run)
    crs = crs_words(area.crs, lang)
    if lang == "en" and crs.startswith("UTM zone"):
        grid = crs.replace("UTM zone", "UTM grid zone", 1) + " every {} m"
    else:
        grid = words["grid_any"].format(crs)
    north_note = ""
    layer = run.plots if not run.plots.empty else run.communities
    if not layer.empty and layer.crs is not None:
        lon, lat = (
            gpd.GeoSeries([box(*layer.total_bounds).centroid], crs=layer.crs)
            .to_crs("EPSG:4326")
            .iloc[0]
            .coords[0]
        )
        angle = true_north_offset(area.crs, lon, lat)
        if abs(angle) >= NORTH_NOTE_DEG:
            side = words["east"] if angle > 0 else words["west"]
            north_note = words["north_note"].format(abs(angle), side)
    sample = area.bundled_sample
    return _Labels(
        area=words["district"] if area.is_juli else area.name,
        area_short=words["district_short"] if area.is_juli else area.name,
        grid=grid,
        illustrative=words["illustrative"] if sample else words["illustrative_user"],
        source=words["sample_source"] if sample else words["user_source"],
        north_note=north_note,
    )


@dataclass(frozen=True)
class _Context:
    run: RunOutputs
    lang: Lang
    paper: Paper
    status: pd.DataFrame  # per plot: condition, risk and driver columns
    schedule: pd.DataFrame | None
    months: list[pd.Period]
    subtitle: str
    credits: str
    total_pages: int
    labels: _Labels
    #: The community sheets, in the atlas's order (see :func:`plan_sheets`).
    sheets: tuple[Sheet, ...] = ()
    #: Results computed once per context and reused (e.g. the calendar of a community).
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


def _title_block(fig: Figure, page: _Page, ctx: _Context, title: str, page_no: int) -> float:
    """Title, subtitle and the illustrative-data note; returns the mm used from the top."""
    k = page.k
    m = MARGIN_MM * k
    ax = _axes_mm(fig, page, (m, m, page.width - 2 * m, TITLE_MM * k))
    page_of = WORDS[ctx.lang]["page_of"].format(page_no, ctx.total_pages)
    # a long title (a study area's name, "hoja 12 de 25") shrinks to clear the page number
    room = page.width - 2 * m - _text_width_mm(page_of, page.pt(8)) - 4 * k
    size = page.pt(18)
    while size > page.pt(12) and _text_width_mm(title, size, bold=True) > room:
        size -= 0.5
    ax.text(0, 0, title, fontsize=size, weight="bold", va="top")
    ax.text(0, 9 * k, ctx.subtitle, fontsize=page.pt(10), va="top")
    ax.text(page.width - 2 * m, 0.5 * k, page_of, fontsize=page.pt(8), ha="right", va="top")
    if ctx.run.illustrative:
        ax.text(
            0.8 * k,
            15.5 * k,
            ctx.labels.illustrative,
            fontsize=page.pt(9),
            weight="bold",
            va="top",
            bbox={"boxstyle": "square,pad=0.3", "fc": "white", "ec": "black", "lw": 1.2},
        )
    return m + (TITLE_MM + 2) * k


def _footer(fig: Figure, page: _Page, ctx: _Context, *, notes: str = "") -> float:
    """Map notes, credits and sources at the bottom; returns the footer's top (mm from top)."""
    k = page.k
    m = MARGIN_MM * k
    size = page.pt(8)
    lines = _wrap(f"{notes} {ctx.credits}".strip(), page.width - 2 * m, size)
    height = len(lines) * size / PT_PER_MM * 1.3
    top = page.height - m - height
    ax = _axes_mm(fig, page, (m, top, page.width - 2 * m, height))
    ax.text(0, 0, "\n".join(lines), fontsize=size, va="top", linespacing=1.25, color="0.1")
    return top


def _community_layers(run: RunOutputs, name: str) -> dict[str, gpd.GeoDataFrame]:
    def of(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        if layer.empty or S.COMMUNITY not in layer.columns:
            return layer.iloc[0:0]
        return layer[layer[S.COMMUNITY] == name]

    return {
        "community": of(run.communities),
        "plots": of(run.plots).sort_values(S.PLOT_CODE),
        "corrals": of(run.corrals),
        "water": of(run.water_points),
    }


def _draw_features(
    ax: Axes,
    page: _Page,
    ctx: _Context,
    *,
    frame: _Frame,
    name: str,
    layers: dict[str, gpd.GeoDataFrame],
    blocked: list[shapely.Geometry],
) -> None:
    """Neighbours, the community, its plots (risk fill), corrals, water points, labels.

    Labels keep clear of `blocked` (north arrow, scale bar, locator inset; map metres).
    """
    k = page.k
    mpm = frame.m_per_mm()
    view = box(*frame.extent)
    others = ctx.run.communities
    if not others.empty:
        others = others[others[S.COMMUNITY] != name]
    for geom, other in zip(others.geometry, others.get(S.COMMUNITY, []), strict=True):
        if not geom.intersects(view):
            continue
        _add_lines(ax, geom, color="0.35", lw=0.8 * k, linestyle=(0, (4, 2)), zorder=2)
        inside = geom.intersection(view.buffer(-8 * k * mpm))
        if not inside.is_empty and inside.area > (25 * k * mpm) ** 2:
            pt = inside.representative_point()
            ax.text(
                pt.x, pt.y, other, fontsize=page.pt(9), color="0.3", style="italic",
                ha="center", va="center", zorder=3,
            )  # fmt: skip
    outline = layers["community"]
    if not outline.empty:
        outside = view.difference(shapely.union_all(list(outline.geometry)))
        if not outside.is_empty:
            _add_polygon(ax, outside, facecolor="white", alpha=0.45, lw=0, zorder=1.5)
        for geom in outline.geometry:
            _add_lines(ax, geom, color="black", lw=2.2 * k, linestyle=(0, (8, 2, 1.5, 2)), zorder=6)
    plots = layers["plots"]
    status = ctx.status.set_index(S.PLOT_CODE) if not ctx.status.empty else ctx.status
    for code, geom in zip(plots[S.PLOT_CODE].astype(str), plots.geometry, strict=True):
        risk = status[S.RISK_CLASS].get(code) if S.RISK_CLASS in status.columns else None
        style = _risk_style(risk)
        _add_polygon(
            ax, geom, facecolor=style["face"], edgecolor="black", hatch=style["hatch"],
            lw=1.1 * k, zorder=4,
        )  # fmt: skip
    corrals = layers["corrals"]
    corral_pts = list(blocked)
    if not corrals.empty:
        labels = short_labels(list(corrals[S.CORRAL_ID].astype(str)))
        for cid, geom in zip(corrals[S.CORRAL_ID].astype(str), corrals.geometry, strict=True):
            pt = geom if geom.geom_type == "Point" else geom.representative_point()
            ax.plot(pt.x, pt.y, marker="s", ms=6 * k, mfc="black", mec="white", mew=0.8, zorder=7)
            ax.text(
                pt.x + 2.2 * k * mpm, pt.y, labels[cid], fontsize=page.pt(9), weight="bold",
                va="center", ha="left", zorder=7,
                bbox={"boxstyle": "square,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.85},
            )  # fmt: skip
            corral_pts.append(pt.buffer(7 * k * mpm))
    water = layers["water"]
    for geom in water.geometry:
        ax.plot(geom.x, geom.y, marker="o", ms=7 * k, mfc="white", mec="black", mew=1.2, zorder=7)
        ax.plot(geom.x, geom.y, marker="o", ms=2.2 * k, mfc="black", mec="black", zorder=7)
        corral_pts.append(geom.buffer(3 * k * mpm))
    if not plots.empty:
        _draw_plot_labels(ax, page, lang=ctx.lang, frame=frame, plots=plots, obstacles=corral_pts)


def _draw_plot_labels(
    ax: Axes,
    page: _Page,
    *,
    lang: Lang,
    frame: _Frame,
    plots: gpd.GeoDataFrame,
    obstacles: list[shapely.Geometry],
) -> None:
    """Code (bold) and hectares of each plot, inside it or beside it with a leader line."""
    k = page.k
    mpm = frame.m_per_mm()
    code_pt, ha_pt = page.pt(11), page.pt(9)
    sizes = {}
    texts = {}
    for code, area in zip(plots[S.PLOT_CODE].astype(str), plots[S.AREA_HA], strict=True):
        ha_text = WORDS[lang]["ha"].format(area)
        w = max(_text_width_mm(code, code_pt, bold=True), _text_width_mm(ha_text, ha_pt)) + 2.0
        h = (code_pt + ha_pt) / PT_PER_MM * 1.25 + 1.5
        sizes[code] = (w * mpm, h * mpm)
        texts[code] = ha_text
    inner = box(*frame.extent).buffer(-4 * k * mpm)
    labels = place_labels(plots, sizes, extent=inner.bounds, obstacles=obstacles, gap=1.5 * k * mpm)
    for lab in labels:
        if lab.leader is not None:
            (x0, y0), (x1, y1) = lab.leader
            ax.plot([x0, x1], [y0, y1], color="black", lw=0.9 * k, zorder=8)
            ax.plot(x1, y1, marker="o", ms=2.2 * k, color="black", zorder=8)
        xmin, ymin, xmax, ymax = lab.box.bounds
        ax.add_patch(_box_patch(xmin, ymin, xmax - xmin, ymax - ymin))
        ax.text(
            lab.x, lab.y + (ymax - ymin) * 0.02, f"{lab.code}\n", fontsize=code_pt, weight="bold",
            ha="center", va="center", zorder=9, linespacing=1.1,
        )  # fmt: skip
        ax.text(
            lab.x, lab.y, f"\n{texts[lab.code]}", fontsize=ha_pt, ha="center", va="center",
            zorder=9, linespacing=1.35,
        )  # fmt: skip


def _map_box(frame: _Frame, rect: tuple[float, float, float, float]) -> shapely.Polygon:
    """A page rectangle (x, top, w, h; mm) as a box in the map's coordinates (m)."""
    x, top, w, h = rect
    mpm = frame.m_per_mm()
    xmin, _, _, ymax = frame.extent
    left = xmin + (x - frame.x) * mpm
    upper = ymax - (top - frame.top) * mpm
    return box(left, upper - h * mpm, left + w * mpm, upper)


def _decorations(page: _Page, frame: _Frame) -> list[shapely.Geometry]:
    """Where the north arrow and the scale bar sit on the map (m), for labels to avoid."""
    k = page.k
    north = (frame.x + frame.w - 15 * k, frame.top + 2 * k, 12 * k, 23 * k)
    scale = (frame.x + 2 * k, frame.top + frame.h - 26 * k, 70 * k, 24 * k)
    return [_map_box(frame, north), _map_box(frame, scale)]


def _inset_rect(
    page: _Page, frame: _Frame, layers: dict[str, gpd.GeoDataFrame]
) -> tuple[float, float, float, float]:
    """Page rectangle (mm) of the locator inset: the map corner that hides fewest features."""
    size = INSET_MM * page.k
    pad = 3 * page.k
    right, bottom = frame.x + frame.w - pad - size, frame.top + frame.h - pad - size
    corners = [  # clear of the north arrow (top right) and the scale bar (bottom left)
        (frame.x + pad, frame.top + pad, size, size),
        (right, bottom, size, size),
        (right, frame.top + 28 * page.k, size, size),
        (frame.x + pad, bottom - 26 * page.k, size, size),
    ]
    features = [*layers["plots"].geometry, *layers["corrals"].geometry, *layers["water"].geometry]

    def hidden(rect: tuple[float, float, float, float]) -> int:
        area = _map_box(frame, rect).buffer(8 * page.k * frame.m_per_mm())
        return sum(area.intersects(g) for g in features)

    return min(corners, key=hidden)


def _locator(
    fig: Figure,
    page: _Page,
    ctx: _Context,
    rect: tuple[float, float, float, float],
    *,
    name: str,
    frame: _Frame,
) -> None:
    """A small map of the whole community, its plots, and the part the sheet shows."""
    from matplotlib.patches import Rectangle

    k = page.k
    x, top, w, h = rect
    ax = fig.add_axes(
        (x / page.width, 1 - (top + h) / page.height, w / page.width, h / page.height)
    )
    ax.set_zorder(20)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("white")
    for spine in ax.spines.values():
        spine.set_linewidth(0.8 * k)
    communities = ctx.run.communities
    mine = communities[communities[S.COMMUNITY] == name] if not communities.empty else communities
    plots = ctx.run.plots[ctx.run.plots[S.COMMUNITY] == name]
    # the community's outline, or its plots where the run has no communities layer
    xmin, ymin, xmax, ymax = (mine if not mine.empty else plots).total_bounds
    # and the whole frame of the part the sheet shows: a frame wider than the community
    # drew its edges straight across the inset, with no corners to read it as a frame
    vx0, vy0, vx1, vy1 = frame.extent
    xmin, ymin, xmax, ymax = min(xmin, vx0), min(ymin, vy0), max(xmax, vx1), max(ymax, vy1)
    half = 0.54 * max(xmax - xmin, ymax - ymin, 1.0)
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    ax.set_xlim(cx - half * w / min(w, h), cx + half * w / min(w, h))
    ax.set_ylim(cy - half * h / min(w, h), cy + half * h / min(w, h))
    if not communities.empty:
        for geom in communities[communities[S.COMMUNITY] != name].geometry:
            _add_lines(ax, geom, color="0.45", lw=0.5 * k, linestyle=(0, (4, 2)))
    for geom in mine.geometry:
        _add_lines(ax, geom, color="black", lw=1.0 * k, linestyle=(0, (6, 1.5, 1, 1.5)))
    # On a sheet of a map series most of the plots are the other sheets': grey, so the
    # frame of this sheet's part stands out.
    fill = "0.6" if len(plots) > MAX_PLOTS_BLACK_IN_LOCATOR else "black"
    for geom in plots.geometry:
        _add_polygon(ax, geom, facecolor=fill, edgecolor=fill, lw=0.3)
    ax.add_patch(Rectangle((vx0, vy0), vx1 - vx0, vy1 - vy0, fill=False, ec="black", lw=1.6 * k))


def _polygon_path(geom: shapely.Geometry) -> Any:
    """A matplotlib Path of a (multi)polygon, holes included."""
    from matplotlib.path import Path as MplPath

    parts = getattr(geom, "geoms", [geom])
    rings = [r for poly in parts for r in (poly.exterior, *poly.interiors)]
    vertices = np.concatenate([np.asarray(r.coords)[:, :2] for r in rings])
    codes = np.concatenate(
        [
            [MplPath.MOVETO] + [MplPath.LINETO] * (len(r.coords) - 2) + [MplPath.CLOSEPOLY]
            for r in rings
        ]
    )
    return MplPath(vertices, codes)


def _add_polygon(ax: Axes, geom: shapely.Geometry, **kw: Any) -> None:
    """Draw a (multi)polygon as one patch (much faster than GeoSeries.plot per feature)."""
    from matplotlib.patches import PathPatch

    polys = [
        g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon" and not g.is_empty
    ]
    if polys:
        ax.add_patch(PathPatch(_polygon_path(shapely.MultiPolygon(polys)), **kw))


def _add_lines(ax: Axes, geom: shapely.Geometry, **kw: Any) -> None:
    """Draw the boundary of a (multi)polygon."""
    boundary = geom.boundary
    for line in getattr(boundary, "geoms", [boundary]):
        xy = np.asarray(line.coords)
        ax.plot(xy[:, 0], xy[:, 1], **kw)


def _box_patch(x: float, y: float, w: float, h: float) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor="white", edgecolor="black", lw=0.7, zorder=8.5)


def _legend(
    ax: Axes, page: _Page, ctx: _Context,
    *, risks: list[str], show_risk: bool = True,
) -> None:  # fmt: skip
    """Legend in an mm axes, two columns: risk fills; lines and symbols."""
    from matplotlib.lines import Line2D

    k = page.k
    words = WORDS[ctx.lang]
    size = page.pt(8.5)
    line_h = 5.0 * k
    width = ax.get_xlim()[1]
    col2 = width / 2 if show_risk else 0.0
    ax.text(0, 0, words["legend"], fontsize=page.pt(10), weight="bold", va="top")
    y0 = 6.0 * k
    y = y0
    if show_risk:
        lines = _wrap(words["risk_title"], col2 - 2 * k, page.pt(8))
        ax.text(0, y, "\n".join(lines), fontsize=page.pt(8), va="top", style="italic")
        y += (1.5 + 3.5 * len(lines)) * k
        for cls in risks:
            style = NO_DATA_STYLE if cls == "none" else RISK_STYLE[cls]
            _swatch(ax, (0, y, 9 * k, 3.6 * k), style)
            label = words["no_data"] if cls == "none" else RISK_LABELS[ctx.lang][cls]
            ax.text(11 * k, y + 1.8 * k, label, fontsize=size, va="center")
            y += line_h
    y = y0
    entries: list[tuple[str, dict[str, Any]]] = [
        (words["boundary"], {"lw": 2.2 * k, "linestyle": (0, (8, 2, 1.5, 2)), "color": "black"}),
        (words["neighbour"], {"lw": 0.8 * k, "linestyle": (0, (4, 2)), "color": "0.35"}),
    ]
    for label, kw in entries:
        ax.add_line(Line2D([col2, col2 + 9 * k], [y + 1.8 * k, y + 1.8 * k], **kw))
        ax.text(col2 + 11 * k, y + 1.8 * k, label, fontsize=size, va="center")
        y += line_h
    ax.plot(col2 + 4.5 * k, y + 1.8 * k, marker="s", ms=6 * k, mfc="black", mec="white")
    ax.text(col2 + 11 * k, y + 1.8 * k, words["corral"], fontsize=size, va="center")
    y += line_h
    ax.plot(col2 + 4.5 * k, y + 1.8 * k, marker="o", ms=7 * k, mfc="white", mec="black", mew=1.2)
    ax.plot(col2 + 4.5 * k, y + 1.8 * k, marker="o", ms=2.2 * k, mfc="black", mec="black")
    ax.text(col2 + 11 * k, y + 1.8 * k, words["water"], fontsize=size, va="center")
    y += line_h
    if show_risk:
        ax.add_line(
            Line2D([col2, col2 + 9 * k], [y + 1.8 * k, y + 1.8 * k], lw=0.9 * k, color="black")
        )
        ax.plot(col2 + 9 * k, y + 1.8 * k, marker="o", ms=2.2 * k, color="black")
        ax.text(col2 + 11 * k, y + 1.8 * k, words["leader"], fontsize=size, va="center")
        y += line_h


def legend_height(page: _Page, *, show_risk: bool = True) -> float:
    """Height (mm) of :func:`_legend`."""
    return (6.0 + 8.5 + 5 * 5.0 + 1.0) * page.k if show_risk else (6 + 20 + 1) * page.k


def _risk_panel(ax: Axes, page: _Page, ctx: _Context, plots: gpd.GeoDataFrame) -> None:
    """Per plot: code, ha, range condition, risk (swatch and word); main driver beneath."""
    k = page.k
    words = WORDS[ctx.lang]
    size = page.pt(8.5)
    width = ax.get_xlim()[1]
    status = ctx.status.set_index(S.PLOT_CODE)
    cols = [
        (words["col_plot"], 0.0),
        (words["col_ha"], 18 * k),
        (words["col_condition"], 30 * k),
        (words["col_risk"], 52 * k),
    ]
    ax.text(0, 0, words["status"], fontsize=page.pt(10), weight="bold", va="top")
    y = 6.0 * k
    for label, x in cols:
        ax.text(x, y, label, fontsize=size, weight="bold", va="top")
    ax.text(width, y, words["col_driver"], fontsize=page.pt(8), style="italic", va="top",
            ha="right")  # fmt: skip
    y += 4.6 * k
    ax.plot([0, width], [y - 0.6 * k, y - 0.6 * k], color="black", lw=0.8)
    for code, area in zip(plots[S.PLOT_CODE].astype(str), plots[S.AREA_HA], strict=True):
        row = status.loc[code] if code in status.index else pd.Series(dtype=object)
        cond = row.get(S.RANGE_CONDITION)
        risk = row.get(S.RISK_CLASS)
        ax.text(0, y + 0.7 * k, code, fontsize=size, weight="bold", va="top")
        ax.text(cols[1][1], y + 0.7 * k, f"{area:.1f}", fontsize=size, va="top")
        cond_text = (
            CONDITION_LABELS[ctx.lang].get(str(cond), words["no_data"])
            if pd.notna(cond)
            else words["no_data"]
        )
        ax.text(cols[2][1], y + 0.7 * k, cond_text, fontsize=size, va="top")
        _swatch(ax, (cols[3][1], y + 0.7 * k, 6 * k, 3.4 * k), _risk_style(risk))
        risk_text = (
            RISK_LABELS[ctx.lang].get(str(risk), words["no_data"])
            if pd.notna(risk)
            else words["no_data"]
        )
        ax.text(cols[3][1] + 7.5 * k, y + 0.7 * k, risk_text, fontsize=size, va="top")
        driver = main_driver(row, ctx.lang)
        ax.text(4 * k, y + 4.9 * k, f"→ {driver}", fontsize=page.pt(8), va="top",
                style="italic")  # fmt: skip
        y += RISK_ROW_MM * k
        ax.plot([0, width], [y, y], color="0.5", lw=0.4)


#: Height of a row of the risk panel (a line of figures and a line of driver), mm at A4.
RISK_ROW_MM: Final = 8.8


def _risk_panel_height(page: _Page, n_plots: int) -> float:
    return (11.5 + RISK_ROW_MM * max(n_plots, 1)) * page.k


#: Least height of a plot's row in the calendar (code and hectares), mm at A4; a row
#: grows with the lines of corral codes its months need (days, codes, day bar).
CALENDAR_ROW_MIN_MM: Final = 9.0
#: Narrowest month column the layouts give, mm at A4 (landscape: 153 mm / 13 months).
CALENDAR_MIN_COL_MM: Final = 11.7


def _calendar_cells(ctx: _Context, plots: gpd.GeoDataFrame) -> dict[str, list[CalendarCell]]:
    """The calendar of `plots`, with herds shown by the short code of their corral."""
    if ctx.schedule is None or not ctx.months:
        return {}
    codes = list(plots[S.PLOT_CODE].astype(str))
    key = ("calendar", tuple(codes))
    if key not in ctx.memo:  # each sheet asks three times: two layouts tried, then drawn
        ctx.memo[key] = _calendar_of(ctx, codes)
    return ctx.memo[key]


def _who_column(schedule: pd.DataFrame) -> str:
    """The schedule's column naming who grazes: grazing groups (issue 18), or older herds."""
    return S.GROUP_ID if S.GROUP_ID in schedule.columns else S.HERD_ID


def _group_labels(schedule: pd.DataFrame) -> dict[str, str]:
    """Grazing groups by their short id and heads (``C1-ALP-1 141``)."""
    rows = schedule.drop_duplicates(S.GROUP_ID)
    heads = rows[[c for c in ("alpacas", "llamas", "sheep") if c in rows.columns]].sum(axis=1)
    ids = rows[S.GROUP_ID].astype(str).tolist()
    short = short_labels(ids)
    return {g: f"{short[g]} {int(n)}" for g, n in zip(ids, heads, strict=True)}


def _calendar_of(ctx: _Context, codes: list[str]) -> dict[str, list[CalendarCell]]:
    assert ctx.schedule is not None
    if S.GROUP_ID in ctx.schedule.columns:  # whole groups: their ids and heads
        mine = ctx.schedule[ctx.schedule[S.LOCATION_ID].isin(codes)]
        return plot_calendar(ctx.schedule, codes, ctx.months, _group_labels(mine))
    corral_ids = list(ctx.run.corrals[S.CORRAL_ID].astype(str)) if not ctx.run.corrals.empty else []
    community_herds = ctx.schedule[ctx.schedule[S.LOCATION_ID].isin(codes)][S.HERD_ID].astype(str)
    group_of = {h: herd_group(h, corral_ids) for h in community_herds.unique()}
    short = short_labels(list(group_of.values()))
    labels = {h: short[g] for h, g in group_of.items()}
    return plot_calendar(ctx.schedule, codes, ctx.months, labels)


def _calendar_rows(page: _Page, cells: dict[str, list[CalendarCell]]) -> list[float]:
    """Height (mm) of each plot's row: room for the lines of corral codes it needs."""
    size = page.pt(8)
    width = (CALENDAR_MIN_COL_MM - 1.0) * page.k
    heights = []
    for row in cells.values():
        lines = max(
            (len(_fit_groups(c.groups, width, size).split("\n")) for c in row if c.days),
            default=0,
        )
        heights.append(max(CALENDAR_ROW_MIN_MM, 7.4 + 3.0 * lines) * page.k)
    return heights


def _calendar_height(page: _Page, ctx: _Context, plots: gpd.GeoDataFrame) -> float:
    if not ctx.months:  # the heading and the wrapped "no plan" note
        return 17 * page.k
    rows = _calendar_rows(page, _calendar_cells(ctx, plots))
    return (15.0 + 13.0) * page.k + sum(rows)


def _calendar(ax: Axes, page: _Page, ctx: _Context, plots: gpd.GeoDataFrame) -> None:
    """The rotation calendar: a row per plot, a column per month of the plan."""
    from matplotlib.patches import Rectangle

    k = page.k
    words = WORDS[ctx.lang]
    width = ax.get_xlim()[1]
    ax.text(0, 0, words["calendar"], fontsize=page.pt(10), weight="bold", va="top")
    if not ctx.months or ctx.schedule is None:
        lines = _wrap(words["no_plan"], width, page.pt(9))
        ax.text(0, 6 * k, "\n".join(lines), fontsize=page.pt(9), va="top", linespacing=1.2)
        return
    codes = list(plots[S.PLOT_CODE].astype(str))
    areas = dict(zip(codes, plots[S.AREA_HA], strict=True))
    cells = _calendar_cells(ctx, plots)
    heights = _calendar_rows(page, cells)
    label_w = 24 * k
    col_w = (width - label_w) / len(ctx.months)
    top = 6 * k
    head_h = 9 * k
    size = page.pt(8)
    for j, month in enumerate(ctx.months):
        x = label_w + j * col_w
        ax.text(
            x + col_w / 2, top + head_h / 2,
            f"{MONTHS[ctx.lang][month.month - 1]}\n{month.year}",
            fontsize=size, ha="center", va="center", weight="bold", linespacing=1.1,
        )  # fmt: skip
    tops = top + head_h + np.concatenate([[0.0], np.cumsum(heights)])
    for i, code in enumerate(codes):
        y, row_h = tops[i], heights[i]
        ax.text(1 * k, y + row_h / 2, f"{code}\n", fontsize=page.pt(9), weight="bold",
                va="center", linespacing=1.2)  # fmt: skip
        ax.text(1 * k, y + row_h / 2, f"\n{areas[code]:.1f} ha", fontsize=size, va="center",
                linespacing=1.3)  # fmt: skip
        for j, (month, cell) in enumerate(zip(ctx.months, cells[code], strict=True)):
            x = label_w + j * col_w
            if cell.days == 0:
                ax.text(x + col_w / 2, y + row_h / 2, "—", fontsize=page.pt(9), ha="center",
                        va="center", color="0.25")  # fmt: skip
                continue
            # add_artist, not add_patch: the limits are fixed, so the data limits that
            # add_patch would update for each of hundreds of cells are never used
            ax.add_artist(Rectangle((x, y), col_w, row_h, facecolor="0.92", lw=0, zorder=0))
            groups = _fit_groups(cell.groups, col_w - 1.0 * k, size)
            ax.text(
                x + col_w / 2, y + 1.0 * k, words["days"].format(cell.days), fontsize=page.pt(9),
                weight="bold", ha="center", va="top",
            )  # fmt: skip
            ax.text(x + col_w / 2, y + 4.8 * k, groups, fontsize=size, ha="center", va="top",
                    linespacing=1.05)  # fmt: skip
            n_days = month.days_in_month
            for first, last in cell.spans:
                ax.add_artist(
                    Rectangle(
                        (x + (first - 1) / n_days * col_w, y + row_h - 2.2 * k),
                        (last - first + 1) / n_days * col_w, 1.6 * k,
                        facecolor="black", lw=0, zorder=2,
                    )
                )  # fmt: skip
    bottom = tops[-1]
    for i, y in enumerate(tops):
        ax.plot([0, width], [y, y], color="black", lw=0.9 if i == 0 else 0.5)
    for j in range(len(ctx.months) + 1):
        x = label_w + j * col_w
        ax.plot([x, x], [top, bottom], color="black", lw=0.5)
    ax.plot([0, width], [top, top], color="black", lw=0.5)
    note = words["calendar_note"]
    if not any(cell.days for row in cells.values() for cell in row):
        community = str(plots[S.COMMUNITY].iloc[0]) if S.COMMUNITY in plots.columns else ""
        in_plan = (
            S.COMMUNITY in ctx.schedule.columns
            and (ctx.schedule[S.COMMUNITY].astype(str) == community).any()
        )
        note = words["all_rest" if in_plan else "not_in_plan"] + " " + note
    schedule_months = len(calendar_months_uncapped(ctx.schedule))
    if schedule_months > len(ctx.months):
        note += words["calendar_cut"].format(len(ctx.months))
    ax.text(0, bottom + 1.5 * k, "\n".join(_wrap(note, width, size)), fontsize=size, va="top")


def calendar_months_uncapped(schedule: pd.DataFrame) -> list[pd.Period]:
    """Every month the rotation plan spans."""
    start = pd.to_datetime(schedule[S.START]).min().to_period("M")
    end = pd.to_datetime(schedule[S.END]).max().to_period("M")
    return list(pd.period_range(start, end, freq="M"))


def _fit_groups(
    groups: tuple[str, ...], width_mm: float, size: float, *, max_lines: int = 2
) -> str:
    """Groups on at most `max_lines` lines, none wider than the cell, '+n' for the rest.

    A label goes whole on a line when it fits there; one wider than the cell breaks
    after a hyphen or at its space (``C1-LLA-`` / ``1 86``); a piece wider still ends
    in an ellipsis. Labels that do not fit whole are counted in ``+n``, which is
    itself kept within the cell (a label more is left out to make room). When not one
    label fits beside ``+n``, the cell gives the number of groups (``3 gr.``).
    """

    def fits(text: str) -> bool:
        return _text_width_mm(text, size) <= width_mm

    def clip(piece: str) -> str:
        while len(piece) > 1 and not fits(piece + "…"):
            piece = piece[:-1]
        return piece + "…"

    def place(lines: list[str], label: str) -> list[str] | None:
        """`lines` with `label` added, or None when it needs more than `max_lines`."""
        out = list(lines)
        if out and fits(f"{out[-1]} {label}"):
            out[-1] = f"{out[-1]} {label}"
            return out
        if fits(label):
            out.append(label)
            return out if len(out) <= max_lines else None
        current = ""
        for piece in re.split(r"(?<=-)|(?<= )", label):
            if not piece:
                continue
            if current and not fits(current + piece):
                out.append(current.strip())
                current = ""
            current += piece if fits(current + piece) else clip(piece)
        out.append(current.strip())
        return out if len(out) <= max_lines else None

    def with_rest(lines: list[str], n: int) -> list[str] | None:
        if n == 0:
            return lines
        more = f"+{n}"
        if lines and fits(f"{lines[-1]} {more}"):
            return [*lines[:-1], f"{lines[-1]} {more}"]
        if len(lines) < max_lines:
            return [*lines, more]
        return None

    shown: list[list[str]] = [[]]  # the lines after each label placed
    for label in groups:
        nxt = place(shown[-1], label)
        if nxt is None:
            break
        shown.append(nxt)
    for n_shown in range(len(shown) - 1, 0, -1):
        lines = with_rest(shown[n_shown], len(groups) - n_shown)
        if lines is not None:
            return "\n".join(lines)
    if not groups:
        return ""
    # not one label fits with the count of the rest: the number of groups, on one line
    # (the row keeps its height; the map and the route sheets name them)
    line = f"{len(groups)} gr."
    return line if fits(line) else clip(line)


def _sheet_boxes(
    page: _Page, ctx: _Context, plots: gpd.GeoDataFrame, *, extra_notes: str = ""
) -> tuple[tuple[float, float, float, float], dict[str, tuple[float, float, float, float]]]:
    """Where the map and the panels of a community sheet go on `page` (x, top, w, h; mm).

    Portrait: the map across the page, legend and plot status side by side below it,
    the calendar at the bottom. Landscape: the map across the page, the calendar
    below it on the left, plot status and legend on the right.
    """
    k = page.k
    m = MARGIN_MM * k
    top = m + (TITLE_MM + 2) * k
    gap = 4 * k
    footer_h = 15 * k + _notes_height(page, extra_notes)
    inner_w = page.width - 2 * m
    n_plots = len(plots)
    cal_h = _calendar_height(page, ctx, plots) if n_plots else 0.0
    side_h = _risk_panel_height(page, n_plots) if n_plots else EMPTY_NOTE_MM * k
    legend_h = legend_height(page, show_risk=bool(n_plots))
    label_pad = 5 * k  # room for the grid coordinates left of and below the map
    bottom = page.height - m - footer_h
    cal_top = bottom - cal_h - (gap if n_plots else 0)
    boxes: dict[str, tuple[float, float, float, float]] = {}
    if page.orientation == "portrait":
        legend_w = 96 * k
        lower_h = max(legend_h, side_h)
        lower_top = cal_top - lower_h - gap
        map_h = lower_top - top - label_pad - gap / 2
        rect = (m + label_pad, top, inner_w - label_pad, map_h)
        boxes["legend"] = (m, lower_top, legend_w, lower_h)
        boxes["side"] = (m + legend_w + gap, lower_top, inner_w - legend_w - gap, side_h)
    else:
        side_w = 96 * k
        lower_h = max(cal_h, side_h + gap + legend_h)
        lower_top = bottom - lower_h
        map_h = lower_top - top - label_pad - gap / 2
        rect = (m + label_pad, top, inner_w - label_pad, map_h)
        side_x = m + inner_w - side_w
        boxes["side"] = (side_x, lower_top, side_w, side_h)
        boxes["legend"] = (side_x, lower_top + side_h + gap, side_w, legend_h)
        boxes["calendar"] = (m, lower_top, inner_w - side_w - gap, cal_h)
        return rect, boxes
    boxes["calendar"] = (m, cal_top, inner_w, cal_h)
    return rect, boxes


@dataclass(frozen=True)
class SheetLayout:
    """Where a community sheet puts its map, chosen by :func:`community_layout`.

    Attributes
    ----------
    width_mm, height_mm
        Page size, mm.
    orientation
        ``"portrait"`` or ``"landscape"``.
    scale
        Scale denominator of the map (1:scale when printed at 100 %).
    map_mm
        Map frame on the page: x, y of its top-left corner from the page's top-left
        corner, width, height, mm.
    extent
        Ground extent of the map frame: xmin, ymin, xmax, ymax, m (EPSG:32719).
    detail
        True when the map shows only the part of the community holding its plots,
        corrals and water points (a locator inset then shows the whole community).
    """

    width_mm: float
    height_mm: float
    orientation: Orientation
    scale: int
    map_mm: tuple[float, float, float, float]
    extent: tuple[float, float, float, float]
    detail: bool = False


def choose_orientation(
    paper: Paper,
    ctx: _Context,
    plots: gpd.GeoDataFrame,
    bounds: np.ndarray,
    *,
    extra_notes: str = "",
) -> tuple[_Page, _Frame, dict[str, tuple[float, float, float, float]]]:
    """Lay the sheet out both ways; keep the one with the larger map scale.

    On a tie (the same round scale) portrait wins, as it leaves the wider panels. A
    layout whose map would be under :data:`MIN_MAP_MM` high is never kept.
    `extra_notes` are map notes beyond the grid, background and inset ones (map
    series, true north), for which the footer needs more room.
    """
    best = None
    for orientation in ("portrait", "landscape"):
        page = page_geometry(paper, orientation)  # type: ignore[arg-type]
        rect, boxes = _sheet_boxes(page, ctx, plots, extra_notes=extra_notes)
        if rect[3] < MIN_MAP_MM * page.k:
            continue  # the panels leave too little map: see plan_sheets
        frame = _frame(rect, bounds, 0.03)
        if best is None or frame.scale < best[1].scale:
            best = (page, frame, boxes)
    if best is None:
        raise OutputError(
            f"{len(plots)} plot(s) ({', '.join(plots[S.PLOT_CODE].astype(str)[:5])}) leave "
            f"no room for a map at least {MIN_MAP_MM:.0f} mm high on a {paper} sheet: their "
            "rotation calendar is too long. Print on A3 (--paper A3)."
        )
    return best


def _map_height(
    paper: Paper, ctx: _Context, plots: gpd.GeoDataFrame, *, extra_notes: str = ""
) -> float:
    """Height (mm at A4) of the larger map frame a sheet of `plots` leaves, either way."""
    best = -math.inf
    for orientation in ("portrait", "landscape"):
        page = page_geometry(paper, orientation)  # type: ignore[arg-type]
        rect, _ = _sheet_boxes(page, ctx, plots, extra_notes=extra_notes)
        best = max(best, rect[3] / page.k)
    return best


def _notes_height(page: _Page, notes: str) -> float:
    """Height (mm) the footer needs for `notes` beyond its usual room (0 without notes)."""
    if not notes:
        return 0.0
    size = page.pt(8)
    lines = _wrap(notes, page.width - 2 * MARGIN_MM * page.k, size)
    return len(lines) * size / PT_PER_MM * 1.3


def _extra_notes(ctx: _Context, count: int) -> str:
    """The notes a sheet adds to the usual ones: its map series, true north."""
    words = WORDS[ctx.lang]
    notes = [words["series_note"].format(count)] if count > 1 else []
    notes += [ctx.labels.north_note] if ctx.labels.north_note else []
    return ". ".join(notes)


@dataclass(frozen=True)
class Sheet:
    """One sheet of the atlas: a community, or a part of its plots (a map series).

    Attributes
    ----------
    community
        Community name.
    number, count
        This sheet's number in the community's series and the number of sheets (1, 1
        for a community on one sheet).
    plot_codes
        Codes of the plots on this sheet (all the community's when ``count`` is 1).
    """

    community: str
    number: int
    count: int
    plot_codes: tuple[str, ...]


def spatial_order(plots: gpd.GeoDataFrame) -> list[str]:
    """Plot codes along a Hilbert curve through their centroids: neighbours stay together.

    Deterministic: the curve is laid over the plots' own bounds (level 16) and plots at
    the same curve position are ordered by code.
    """
    if plots.empty:
        return []
    points = plots.geometry.representative_point()
    distance = np.asarray(points.hilbert_distance(total_bounds=plots.total_bounds, level=16))
    codes = plots[S.PLOT_CODE].astype(str).to_numpy()
    order = np.lexsort((codes, distance))
    return [str(codes[i]) for i in order]


def _series(paper: Paper, ctx: _Context, plots: gpd.GeoDataFrame) -> list[list[str]]:
    """The plot codes of each sheet of a community: one sheet when they all fit.

    Otherwise the plots are split by recursive coordinate bisection: a group that does
    not fit on a sheet (a map at least :data:`SERIES_MAP_MM` high) is cut across the
    longer side of its plots' extent, at the plot that shares it between the sheets each
    side needs (the capacity of a sheet is how many plots fit, taken along
    :func:`spatial_order`), and each side is split again. The groups stay compact (a
    sheet's map is zoomed on neighbours, not on a strip across the community) and of
    near-equal size; the order of the sheets follows the cuts: west or south first.
    """
    codes = list(plots[S.PLOT_CODE].astype(str))
    if not codes or _map_height(paper, ctx, plots, extra_notes=_extra_notes(ctx, 1)) >= MIN_MAP_MM:
        return [codes]
    by_code = plots.set_index(plots[S.PLOT_CODE].astype(str), drop=False)
    points = by_code.geometry.representative_point()
    xy = {c: (p.x, p.y) for c, p in zip(by_code.index, points, strict=True)}
    notes = _extra_notes(ctx, 99)

    def fits(group: list[str]) -> bool:
        return _map_height(paper, ctx, by_code.loc[group], extra_notes=notes) >= SERIES_MAP_MM

    capacity = 1
    order = spatial_order(plots)
    while capacity < len(order) and fits(order[: capacity + 1]):
        capacity += 1

    def split(group: list[str]) -> list[list[str]]:
        if len(group) == 1 or fits(group):
            return [group]
        sheets = max(2, math.ceil(len(group) / capacity))
        xs = [xy[c][0] for c in group]
        ys = [xy[c][1] for c in group]
        axis = 0 if max(xs) - min(xs) >= max(ys) - min(ys) else 1
        ranked = sorted(group, key=lambda c: (xy[c][axis], xy[c][1 - axis], c))
        cut = max(1, min(len(group) - 1, round(len(group) * (sheets // 2) / sheets)))
        return split(ranked[:cut]) + split(ranked[cut:])

    return split(order)


def plan_sheets(run: RunOutputs, *, lang: Lang = "es", paper: Paper = "A4") -> list[Sheet]:
    """The community sheets of the atlas, in order: one per community, or a map series.

    A community whose plots do not fit on one sheet (the status panel and the calendar
    take a row per plot and would leave the map under :data:`MIN_MAP_MM`) gets several
    sheets, each with a group of neighbouring plots (see :func:`_series`), its map
    zoomed on them with the community's other plots drawn faintly, and its own status
    panel and calendar. Every plot is on exactly one sheet.
    """
    ctx = _make_context(run, lang, paper, 1)
    return _plan(ctx, _community_names(run))


def _community_names(run: RunOutputs) -> list[str]:
    """Communities in the layer's order, then those only the plots name."""
    names = list(run.communities[S.COMMUNITY].astype(str)) if not run.communities.empty else []
    for name in run.plots[S.COMMUNITY].astype(str).unique() if not run.plots.empty else []:
        if name not in names:
            names.append(name)
    return names


def _plan(ctx: _Context, names: list[str]) -> list[Sheet]:
    sheets: list[Sheet] = []
    for name in names:
        parts = _series(ctx.paper, ctx, _community_layers(ctx.run, name)["plots"])
        for i, part in enumerate(parts, start=1):
            sheets.append(Sheet(name, i, len(parts), tuple(part)))
        if len(parts) > 1:
            logger.info("%s: %d plots on %d sheets", name, sum(map(len, parts)), len(parts))
    return sheets


def _sheet_layers(
    run: RunOutputs, sheet: Sheet
) -> tuple[dict[str, gpd.GeoDataFrame], gpd.GeoDataFrame | None]:
    """The layers a sheet draws, and the community's other plots when it is one of a series."""
    layers = _community_layers(run, sheet.community)
    if sheet.count == 1:
        return layers, None
    plots = layers["plots"]
    mine = plots[S.PLOT_CODE].astype(str).isin(sheet.plot_codes)
    return {**layers, "plots": plots[mine]}, plots[~mine]


def _sheet_bounds(
    ctx: _Context, layers: dict[str, gpd.GeoDataFrame], *, series: bool = False
) -> tuple[np.ndarray, bool]:
    """What the map of a sheet must show, and whether that is a detail of the community.

    The map shows the whole community unless its plots, corrals and water points lie
    in a part of it whose longer side is under :data:`ZOOM_RATIO` of the community's:
    then the map shows that part (plus :data:`FOCUS_PAD_M`) at a larger scale, and a
    locator inset shows the whole community. A sheet of a map series (`series`) shows
    its own plots (plus :data:`SERIES_PAD_M`), always with the locator inset.
    """
    if series:
        pad = np.array([-SERIES_PAD_M, -SERIES_PAD_M, SERIES_PAD_M, SERIES_PAD_M])
        return layers["plots"].total_bounds + pad, True
    features = [*layers["plots"].geometry, *layers["corrals"].geometry]
    features += list(layers["water"].geometry)
    whole = [*layers["community"].geometry, *features]
    if not whole:
        return ctx.run.communities.total_bounds, False
    full = gpd.GeoSeries(whole).total_bounds
    if layers["plots"].empty or layers["community"].empty:
        return full, False
    focus = gpd.GeoSeries(features).total_bounds + np.array(
        [-FOCUS_PAD_M, -FOCUS_PAD_M, FOCUS_PAD_M, FOCUS_PAD_M]
    )
    side = max(full[2] - full[0], full[3] - full[1])
    focus_side = max(focus[2] - focus[0], focus[3] - focus[1])
    if focus_side < ZOOM_RATIO * side:
        return focus, True
    return full, False


def community_layout(
    run: RunOutputs, name: str, *, lang: Lang = "es", paper: Paper = "A4", sheet: int = 1
) -> SheetLayout:
    """The page size, orientation, map frame and scale of a community's sheet.

    The same layout :func:`write_atlas` draws; useful to know a sheet's scale or to
    find a place of the map on the printed page (mm from the top-left corner).
    `sheet` is the sheet's number in the community's map series (:func:`plan_sheets`).
    """
    ctx = _make_context(run, lang, paper, 1)
    series = [s for s in _plan(ctx, [name]) if s.community == name]
    if not 1 <= sheet <= len(series):
        raise ParameterError(
            f"sheet={sheet}: community {name!r} has {len(series)} sheet(s); choose 1 to "
            f"{len(series)}."
        )
    layers, context = _sheet_layers(ctx.run, series[sheet - 1])
    bounds, zoomed = _sheet_bounds(ctx, layers, series=context is not None)
    extra = _extra_notes(ctx, series[sheet - 1].count)
    page, frame, _ = choose_orientation(paper, ctx, layers["plots"], bounds, extra_notes=extra)
    return SheetLayout(
        page.width, page.height, page.orientation, frame.scale,
        (frame.x, frame.top, frame.w, frame.h), frame.extent, zoomed,
    )  # fmt: skip


def _community_sheet(ctx: _Context, sheet: Sheet, page_no: int) -> Figure:
    from matplotlib.figure import Figure

    name = sheet.community
    layers, context = _sheet_layers(ctx.run, sheet)
    plots = layers["plots"]
    n = len(plots)
    bounds, zoomed = _sheet_bounds(ctx, layers, series=context is not None)
    extra = _extra_notes(ctx, sheet.count)
    page, frame, boxes = choose_orientation(ctx.paper, ctx, plots, bounds, extra_notes=extra)
    fig = Figure(figsize=(page.width / MM_PER_INCH, page.height / MM_PER_INCH))
    title = f"{community_title(name, ctx.lang)} — {ctx.labels.area_short}"
    if sheet.count > 1:
        title += " — " + WORDS[ctx.lang]["sheet_of"].format(sheet.number, sheet.count)
    _title_block(fig, page, ctx, title, page_no)
    ax = _map_axes(fig, page, frame)
    background = _background(ax, ctx.run, frame)
    step = _utm_grid(ax, page, frame)
    blocked = _decorations(page, frame)
    if zoomed:
        inset = _inset_rect(page, frame, layers)
        _locator(fig, page, ctx, inset, name=name, frame=frame)
        blocked.append(_map_box(frame, inset))
    if context is not None:
        for geom in context.geometry:  # the rest of the series, faintly, for context
            _add_polygon(ax, geom, facecolor="0.93", edgecolor="0.55", lw=0.5 * page.k, zorder=3)
    _draw_features(ax, page, ctx, frame=frame, name=name, layers=layers, blocked=blocked)
    _north_and_scale(ax, page, frame, ctx.lang)
    ax.set_xlabel("")
    ax.set_ylabel("")
    risks = list(S.RISK_CLASSES)
    if n and S.RISK_CLASS not in ctx.status.columns:
        risks.append("none")
    elif n:
        codes = set(plots[S.PLOT_CODE].astype(str))
        values = ctx.status.loc[ctx.status[S.PLOT_CODE].astype(str).isin(codes), S.RISK_CLASS]
        if values.isna().any() or len(values) < len(codes):
            risks.append("none")
    _legend(_axes_mm(fig, page, boxes["legend"]), page, ctx, risks=risks, show_risk=bool(n))
    notes = _sheet_notes(ctx, sheet, step=step, background=background, zoomed=zoomed)
    sw, sh = boxes["side"][2:]
    side = _axes_mm(fig, page, boxes["side"])
    if n:
        _risk_panel(side, page, ctx, plots)
        _calendar(_axes_mm(fig, page, boxes["calendar"]), page, ctx, plots)
    else:
        lines = _wrap(WORDS[ctx.lang]["no_plots"], sw - 8 * page.k, page.pt(10))
        side.text(
            3 * page.k, 3 * page.k, "\n".join(lines), fontsize=page.pt(10), va="top",
            linespacing=1.35,
        )  # fmt: skip
        side.add_patch(_box_patch(0, 0, sw, sh))
        side.patches[-1].set_zorder(0)
    _footer(fig, page, ctx, notes=". ".join(notes) + ".")
    return fig


def _sheet_notes(
    ctx: _Context, sheet: Sheet, *, step: int, background: str | None, zoomed: bool
) -> list[str]:
    """The map notes of a sheet's footer: grid, background, inset, series, north."""
    words = WORDS[ctx.lang]
    notes = [ctx.labels.grid.format(step)]
    notes += [words[key] for key in (background, "locator" if zoomed else None) if key]
    if sheet.count > 1:
        notes.append(words["series_note"].format(sheet.count))
    if ctx.labels.north_note:
        notes.append(ctx.labels.north_note)
    return notes


def _overview(ctx: _Context, page_no: int) -> Figure:
    from matplotlib.figure import Figure

    run = ctx.run
    words = WORDS[ctx.lang]
    bounds = run.communities.total_bounds if not run.communities.empty else run.plots.total_bounds
    best = None
    for orientation in ("portrait", "landscape"):
        page = page_geometry(ctx.paper, orientation)  # type: ignore[arg-type]
        k = page.k
        m = MARGIN_MM * k
        top = m + (TITLE_MM + 2) * k
        pad = 5 * k
        rect = (m + pad, top, page.width - 2 * m - pad, page.height - top - m - 30 * k - pad)
        frame = _frame(rect, bounds, 0.03)
        if best is None or frame.scale < best[1].scale:
            best = (page, frame)
    assert best is not None
    page, frame = best
    k = page.k
    fig = Figure(figsize=(page.width / MM_PER_INCH, page.height / MM_PER_INCH))
    n_comm = len(dict.fromkeys(sheet.community for sheet in ctx.sheets)) or len(run.communities)
    _title_block(fig, page, ctx, _overview_title(ctx.lang, n_comm), page_no)
    ax = _map_axes(fig, page, frame)
    background = _background(ax, run, frame)
    step = _utm_grid(ax, page, frame)
    plots = run.plots
    rows = zip(run.communities.get(S.COMMUNITY, []), run.communities.geometry, strict=True)
    for name, geom in rows:
        mine = plots[plots[S.COMMUNITY] == name] if not plots.empty else plots
        has = not mine.empty
        _add_polygon(
            ax, geom, facecolor=(1, 1, 1, 0.55) if has else "none",
            edgecolor="0.4" if not has else "none", lw=0, hatch="" if has else "\\\\", zorder=2,
        )  # fmt: skip
        _add_lines(ax, geom, color="black", lw=1.4 * k, linestyle=(0, (8, 2, 1.5, 2)), zorder=3)
        pt = geom.representative_point()
        count = (
            words["plot_1"].format(ha=mine[S.AREA_HA].sum())
            if len(mine) == 1
            else words["plots_n"].format(n=len(mine), ha=mine[S.AREA_HA].sum())
            if has
            else words["no_plots_short"]
        )
        count += f"\n{_pages_of(ctx, str(name))}"
        ax.text(
            pt.x, pt.y, f"{name}\n{count}", fontsize=page.pt(9), ha="center", va="center",
            zorder=6, linespacing=1.3,
            bbox={"boxstyle": "round,pad=0.3", "fc": (1, 1, 1, 0.8), "ec": "black", "lw": 0.6},
        )  # fmt: skip
    _overview_series(ax, page, ctx)
    if not plots.empty:
        for geom in plots.geometry:
            _add_polygon(ax, geom, facecolor="black", edgecolor="black", lw=0.5, zorder=4)
    if not run.corrals.empty:
        pts = run.corrals.geometry.representative_point()
        ax.plot(pts.x, pts.y, "s", ms=3.5 * k, mfc="black", mec="white", mew=0.5, zorder=5,
                linestyle="none")  # fmt: skip
    _north_and_scale(ax, page, frame, ctx.lang)
    lax = _axes_mm(
        fig,
        page,
        (MARGIN_MM * k, frame.top + frame.h + 7 * k, page.width - 2 * MARGIN_MM * k, 20 * k),
    )
    _overview_legend(lax, page, ctx, background, step)
    _footer(fig, page, ctx)
    return fig


def _overview_title(lang: Lang, n: int) -> str:
    """``"Las 14 comunidades y sus parcelas"``; ``"La comunidad y sus parcelas"`` for one."""
    return WORDS[lang]["overview_1"] if n == 1 else WORDS[lang]["overview"].format(n)


def _pages_of(ctx: _Context, name: str) -> str:
    """``"página 3"``, or ``"páginas 3–11"`` for a community on several sheets."""
    words = WORDS[ctx.lang]
    numbers = [3 + i for i, sheet in enumerate(ctx.sheets) if sheet.community == name]
    if not numbers:
        return ""
    if len(numbers) == 1:
        return f"{words['page']} {numbers[0]}"
    return f"{words['pages']} {numbers[0]}–{numbers[-1]}"


def _overview_series(ax: Axes, page: _Page, ctx: _Context) -> None:
    """On the overview: the page of each sheet of a map series, over its plots.

    Also names the communities that have plots but no outline in the run (their label
    then sits on their plots).
    """
    plots = ctx.run.plots
    if plots.empty:
        return
    outlined = set(ctx.run.communities.get(S.COMMUNITY, pd.Series(dtype=str)).astype(str))
    codes = plots[S.PLOT_CODE].astype(str)
    words = WORDS[ctx.lang]
    box_style = {"boxstyle": "round,pad=0.25", "fc": (1, 1, 1, 0.85), "ec": "black", "lw": 0.5}
    for number, sheet in enumerate(ctx.sheets, start=3):
        if sheet.count == 1:
            continue
        # the page number on the sheet's largest plot, framing the sheet's plots lightly
        mine = plots[codes.isin(sheet.plot_codes)]
        hull = shapely.union_all(list(mine.geometry)).convex_hull
        if hull.geom_type == "Polygon":
            _add_lines(ax, hull, color="0.25", lw=0.5 * page.k, linestyle=(0, (3, 2)), zorder=5)
        at = mine.geometry.iloc[int(np.argmax(mine.geometry.area.to_numpy()))]
        pt = at.representative_point()
        ax.text(
            pt.x, pt.y, str(number), fontsize=page.pt(8), ha="center", va="center", zorder=6,
            bbox=box_style,
        )  # fmt: skip
    for name in dict.fromkeys(plots[S.COMMUNITY].astype(str)):
        if name in outlined:
            continue
        mine = plots[plots[S.COMMUNITY].astype(str) == name]
        xmin, _, xmax, ymax = mine.total_bounds
        n = len(mine)
        ha = mine[S.AREA_HA].sum()
        count = words["plot_1"].format(ha=ha) if n == 1 else words["plots_n"].format(n=n, ha=ha)
        ax.text(
            (xmin + xmax) / 2, ymax, f"{name}\n{count}\n{_pages_of(ctx, name)}",
            fontsize=page.pt(9), ha="center", va="bottom", zorder=7, linespacing=1.3,
            bbox={"boxstyle": "round,pad=0.3", "fc": (1, 1, 1, 0.8), "ec": "black", "lw": 0.6},
        )  # fmt: skip


def _overview_legend(
    ax: Axes, page: _Page, ctx: _Context, background: str | None, step: int
) -> None:
    from matplotlib.patches import Rectangle

    k = page.k
    words = WORDS[ctx.lang]
    size = page.pt(8.5)
    ax.add_patch(Rectangle((0, 0), 8 * k, 3.5 * k, facecolor="black"))
    ax.text(10 * k, 1.75 * k, words["plot"], fontsize=size, va="center")
    ax.add_patch(Rectangle((40 * k, 0), 8 * k, 3.5 * k, facecolor="white", edgecolor="black",
                           hatch="\\\\"))  # fmt: skip
    ax.text(50 * k, 1.75 * k, words["no_plots_short"], fontsize=size, va="center")
    ax.plot(84 * k, 1.75 * k, "s", ms=3.5 * k, mfc="black", mec="white")
    ax.text(88 * k, 1.75 * k, words["corral"], fontsize=size, va="center")
    if any(sheet.count > 1 for sheet in ctx.sheets):
        # on the legend's row: the note line below is already full with a long CRS name
        ax.text(108 * k, 1.75 * k, words["series_marks"], fontsize=size, va="center")
    notes = [ctx.labels.grid.format(step)]
    if background:
        notes.append(words[background])
    ax.text(0, 6 * k, "  ·  ".join(notes), fontsize=size, va="top")


def _missing_notes(ax: Axes, ctx: _Context, page: Any, y: float, width: float) -> float:
    """Write why a layer is missing (a stage the run did not need); return the new `y`."""
    words = WORDS[ctx.lang]
    for stage, why in missing_stages(ctx.run).items():
        note = words["missing_stage"].format(words[f"stage_{stage}"], why)
        lines = _wrap(note, width, page.pt(10))
        ax.text(0, y, "\n".join(lines), fontsize=page.pt(10), va="top", linespacing=1.3)
        y += (len(lines) * 1.3 * page.pt(10) / PT_PER_MM) + 2 * page.k
    return y


def _cover(ctx: _Context, names: list[str]) -> Figure:
    from matplotlib.figure import Figure

    page = page_geometry(ctx.paper, "portrait")
    k = page.k
    m = MARGIN_MM * k
    words = WORDS[ctx.lang]
    fig = Figure(figsize=(page.width / MM_PER_INCH, page.height / MM_PER_INCH))
    ax = _axes_mm(fig, page, (m, m, page.width - 2 * m, page.height - 2 * m))
    width = page.width - 2 * m
    y = 25 * k
    ax.text(width / 2, y, words["atlas_title"], fontsize=page.pt(26), weight="bold", ha="center",
            va="top")  # fmt: skip
    y += 14 * k
    ax.text(width / 2, y, ctx.labels.area, fontsize=page.pt(14), ha="center", va="top")
    y += 10 * k
    ax.text(width / 2, y, ctx.subtitle, fontsize=page.pt(11), ha="center", va="top")
    y += 12 * k
    if ctx.run.illustrative:
        ax.text(
            width / 2, y, ctx.labels.illustrative, fontsize=page.pt(12), weight="bold",
            ha="center", va="top",
            bbox={"boxstyle": "square,pad=0.5", "fc": "white", "ec": "black", "lw": 1.5},
        )  # fmt: skip
        y += 16 * k
    y = _missing_notes(ax, ctx, page, y, width)
    ax.text(0, y, words["contents"], fontsize=page.pt(13), weight="bold", va="top")
    y += 8 * k
    entries = [(_overview_title(ctx.lang, len(names)), f"{words['page']} 2")]
    plots = ctx.run.plots
    for name in names:
        mine = plots[plots[S.COMMUNITY] == name] if not plots.empty else plots
        if len(mine) == 0:
            extra = words["no_plots_short"]
        elif len(mine) == 1:
            extra = words["plot_1"].format(ha=mine[S.AREA_HA].sum())
        else:
            extra = words["plots_n"].format(n=len(mine), ha=mine[S.AREA_HA].sum())
        count = sum(sheet.community == name for sheet in ctx.sheets)
        if count > 1:
            extra += "; " + words["sheets_n"].format(count)
        entries.append((f"{community_title(name, ctx.lang)} ({extra})", _pages_of(ctx, name)))
    size = page.pt(10.5)
    for text, number in entries:
        ax.text(4 * k, y, text, fontsize=size, va="top")
        ax.text(width, y, number, fontsize=size, va="top", ha="right")
        y += 6.2 * k
    y += 6 * k
    ax.text(0, y, words["how_to_read"], fontsize=page.pt(13), weight="bold", va="top")
    y += 8 * k
    how = words["how"].split("|")
    if any(sheet.count > 1 for sheet in ctx.sheets):
        how.insert(1, words["how_series"])
    for para in how:
        lines = _wrap(para, width - 6 * k, page.pt(10.5))
        ax.text(0, y, "•", fontsize=page.pt(10.5), va="top")
        ax.text(5 * k, y, "\n".join(lines), fontsize=page.pt(10.5), va="top", linespacing=1.3)
        y += (len(lines) * 1.3 * page.pt(10.5) / PT_PER_MM) + 3 * k
    _footer(fig, page, ctx)
    return fig


# --- the atlas ---------------------------------------------------------------------------


def _status_table(run: RunOutputs) -> pd.DataFrame:
    """Per plot: range condition, risk class and the numbers the main driver is named from."""
    table = pd.DataFrame({S.PLOT_CODE: run.plots[S.PLOT_CODE].astype(str)})
    forage = run.table("forage_plots")
    if forage is not None and S.RANGE_CONDITION in forage.columns:
        table = table.merge(
            forage[[S.PLOT_CODE, S.RANGE_CONDITION]].astype({S.PLOT_CODE: str}),
            on=S.PLOT_CODE,
            how="left",
        )
    risk = run.table("risk_plots")
    if risk is not None:
        keep = [
            c
            for c in (S.SOIL_LOSS_T_HA_YR, S.PRESSURE_RATIO, S.SLOPE_PCT, S.COVER_PCT, S.RISK_CLASS)
            if c in risk.columns
        ]
        table = table.merge(
            risk[[S.PLOT_CODE, *keep]].astype({S.PLOT_CODE: str}), on=S.PLOT_CODE, how="left"
        )
    return table.drop_duplicates(S.PLOT_CODE).reset_index(drop=True)


def _subtitle(run: RunOutputs, lang: Lang) -> str:
    words = WORDS[lang]
    when = data_date(run)
    parts = [words["data_date"].format(format_date(when, lang)) if when else words["no_date"]]
    schedule = run.table("schedule")
    if schedule is not None and not schedule.empty:
        start = pd.to_datetime(schedule[S.START]).min().date()
        end = pd.to_datetime(schedule[S.END]).max().date()
        parts.append(words["plan"].format(format_date(start, lang), format_date(end, lang)))
    return " · ".join(parts)


def _source_words(run: RunOutputs, lang: Lang) -> tuple[str, str, str]:
    """Credits for the vegetation, the forage production and the relief of this run.

    Synthetic scenes, made-up cuts and a synthetic DEM are named as such; a run folder
    without provenance is credited to Sentinel-2 and its own DEM.
    """
    words = WORDS[lang]
    src = data_sources(run)
    imagery = words["src_imagery"].get(src.imagery, words["src_imagery"]["files"])
    forage_key = src.forage
    if forage_key == "cuts" and src.imagery == "sample":
        forage_key = "cuts_sample"
    forage = words["src_forage"].get(forage_key, words["src_forage"]["defaults"])
    dem = words["src_dem"].get(src.dem, words["src_dem"]["*"])
    return imagery, forage, dem


def _make_context(run: RunOutputs, lang: Lang, paper: Paper, n_communities: int) -> _Context:
    schedule = run.table("schedule")
    today = (source_date_epoch() or dt.datetime.now(dt.UTC)).date()
    words = WORDS[lang]
    labels = _labels(run, lang)
    sources = words["credits"].format(
        labels.source if run.illustrative else "",
        *_source_words(run, lang),
        __version__,
        format_date(today, lang),
    )
    missing = [words["missing"][key] for key in missing_results(run)]
    juli = juli_defaults_of(run)
    if juli:
        missing.append(words["missing"]["juli_defaults"] + ", ".join(juli))
    if missing:  # said where people read, not left as empty columns
        sources = ". ".join(missing) + ". " + sources
    return _Context(
        run=run,
        lang=lang,
        paper=paper,
        status=_status_table(run),
        schedule=schedule,
        months=calendar_months(schedule),
        subtitle=_subtitle(run, lang),
        credits=sources,
        total_pages=2 + n_communities,
        labels=labels,
    )


@contextmanager
def _pdf(path: Path, meta: dict[str, Any]) -> Iterator[Any]:
    from matplotlib.backends.backend_pdf import PdfPages

    with atomic_output(path) as tmp, PdfPages(tmp, metadata=meta) as pdf:
        yield pdf


def _extract_pages(atlas: Path | Any, indices: list[int], dest: Path, meta: dict[str, str]) -> Path:
    """Copy pages `indices` (0-based) of `atlas` into their own PDF at `dest`, atomically.

    `atlas` is the atlas's path or a ``pypdf.PdfReader`` of it (parsed once for all pages).
    """
    from pypdf import PdfReader, PdfWriter

    reader = atlas if isinstance(atlas, PdfReader) else PdfReader(atlas)
    writer = PdfWriter()
    for index in indices:
        writer.add_page(_own_resources(reader.pages[index]))
    writer.add_metadata({f"/{key}": value for key, value in meta.items()})
    with atomic_output(dest) as tmp, tmp.open("wb") as fh:
        writer.write(fh)
    return dest


def _own_resources(page: Any) -> Any:
    """`page` with only the images and forms it draws in its resources."""
    from pypdf.generic import DictionaryObject, NameObject

    # matplotlib gives every page of a PdfPages file one shared resource dictionary:
    # keep only the images and forms this page draws (in this reader's copy, before it
    # is cloned), or each sheet would carry the images of all of them.
    resources = page["/Resources"].get_object()
    if "/XObject" in resources:
        drawn = set(re.findall(rb"/([^\s/\[\]<>()]+)\s+Do\b", page.get_contents().get_data()))
        kept = {
            NameObject(name): ref
            for name, ref in resources["/XObject"].get_object().items()
            if name[1:].encode() in drawn
        }
        page[NameObject("/Resources")] = DictionaryObject(
            {**resources, NameObject("/XObject"): DictionaryObject(kept)}
        )
    return page


#: Most processes :func:`write_atlas` draws pages in by default.
MAX_WORKERS: Final = 2


def default_workers() -> int:
    """Processes to draw the atlas in: the CPUs this process may use, at most :data:`MAX_WORKERS`.

    1 where ``fork`` is not available (the pages are then drawn in this process).
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cpus))


def _draw_page(ctx: _Context, names: list[str], page: int) -> Figure:
    """Page `page` (0-based) of the atlas: the cover, the overview, then one sheet each."""
    if page == 0:
        return _cover(ctx, names)
    if page == 1:
        return _overview(ctx, 2)
    sheet = ctx.sheets[page - 2]
    logger.info("sheet %d/%d: %s", page - 1, len(ctx.sheets), sheet.community)
    return _community_sheet(ctx, sheet, page + 1)


#: What the forked page-drawing processes inherit: the context and community names.
_FORKED: dict[str, Any] = {}
#: Prefix of the folder of part PDFs the drawing processes write beside the atlas.
PARTS_PREFIX: Final = ".atlas-"
#: Linux prctl option: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG: Final = 1


def _die_with_parent(parent: int) -> None:
    """In a drawing process: end when the process that started it ends, even if killed.

    Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``; without it a killed ``pastures print``
    would leave its workers waiting on a pipe for ever. If the parent is already gone,
    the worker ends at once.
    """
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() != parent:
        os._exit(1)


def remove_stale_parts(out: Path, *, older_than: float | None = None) -> list[Path]:
    """Remove folders of part PDFs that a killed earlier ``print`` left in `out`.

    Only folders named ``.atlas-*`` last changed before `older_than` (default: the
    start of this process) are removed, so a print running beside this one keeps its own.
    """
    import shutil

    from pastures.io import process_started

    cutoff = process_started() if older_than is None else older_than
    removed = []
    for folder in out.glob(f"{PARTS_PREFIX}*") if out.is_dir() else ():
        try:
            if folder.is_dir() and not folder.is_symlink() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder)
                removed.append(folder)
        except OSError:
            continue
    if removed:
        logger.info("removed %d folder(s) of part PDFs of an interrupted print", len(removed))
    return removed


def _draw_part(pages: list[int], path: str) -> str:
    """In a forked process: draw `pages` into the PDF `path` (a part of the atlas)."""
    from matplotlib.backends.backend_pdf import PdfPages

    ctx, names, meta = _FORKED["ctx"], _FORKED["names"], _FORKED["meta"]
    with PdfPages(path, metadata=meta) as pdf:
        for page in pages:
            pdf.savefig(_draw_page(ctx, names, page))
    return path


def _draw_in_processes(
    ctx: _Context, names: list[str], n_workers: int, atlas: Path, meta: dict[str, Any]
) -> None:
    """Draw the atlas's pages in `n_workers` forked processes, then interleave them.

    Process k draws pages k, k + n, k + 2n ... into its own part file; the atlas
    takes its pages back in order. The parts share nothing but what the fork
    copied, so the pages are those one process would draw.
    """
    import tempfile
    import warnings
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from matplotlib.backends import backend_pdf  # noqa: F401 - imported once, before the fork
    from pypdf import PdfReader, PdfWriter

    n_pages = ctx.total_pages

    def unwritable(exc: OSError) -> OutputError:
        return OutputError(
            f"{atlas}: cannot be written ({exc.strerror or exc}). Choose an output folder you "
            "can write to (--out) or free some disk space."
        )

    try:
        atlas.parent.mkdir(parents=True, exist_ok=True)
        parts_dir = tempfile.TemporaryDirectory(prefix=PARTS_PREFIX, dir=atlas.parent)
    except OSError as exc:
        raise unwritable(exc) from exc
    with parts_dir as tmp:
        parts = [str(Path(tmp) / f"part-{k}.pdf") for k in range(n_workers)]
        _FORKED.update(ctx=ctx, names=names, meta=meta)
        try:
            with warnings.catch_warnings():
                # Python >= 3.12 warns that forking a process with threads may deadlock;
                # the children only draw with matplotlib and write their own file.
                warnings.filterwarnings("ignore", "This process .* is multi-threaded")
                with ProcessPoolExecutor(
                    n_workers,
                    mp_context=multiprocessing.get_context("fork"),
                    initializer=_die_with_parent,
                    initargs=(os.getpid(),),
                ) as pool:
                    done = [
                        pool.submit(_draw_part, list(range(k, n_pages, n_workers)), parts[k])
                        for k in range(n_workers)
                    ]
                    for future in done:
                        try:
                            future.result()
                        except OSError as exc:  # a part file could not be written
                            raise unwritable(exc) from exc
        except BrokenProcessPool as exc:  # a child killed (e.g. out of memory): draw here
            logger.warning("Drawing the atlas in %d processes failed (%s); drawing it here.",
                           n_workers, exc)  # fmt: skip
            with _pdf(atlas, meta) as pdf:
                for page in range(n_pages):
                    pdf.savefig(_draw_page(ctx, names, page))
            return
        finally:
            _FORKED.clear()
        readers = [PdfReader(p) for p in parts]
        writer = PdfWriter()
        for page in range(n_pages):
            writer.add_page(readers[page % n_workers].pages[page // n_workers])
        writer.add_metadata(dict(readers[0].metadata or {}))  # matplotlib's, as one process
        with atomic_output(atlas) as out, out.open("wb") as fh:
            writer.write(fh)


def write_atlas(
    run_folder: str | Path,
    out_dir: str | Path,
    *,
    lang: Lang = "es",
    paper: Paper = "A4",
    workers: int | None = None,
) -> AtlasResult:
    """Write the printed atlas of a run and one PDF per community.

    Parameters
    ----------
    run_folder
        Output folder of ``pastures demo`` or ``pastures run``
        (read with :func:`pastures.outputs.read_run`).
    out_dir
        Folder for ``atlas.pdf`` and ``<community-slug>.pdf`` (created if needed).
    lang
        ``"es"`` (default, for assemblies) or ``"en"``.
    paper
        ``"A4"`` or ``"A3"``. On A3 text and panels are 15 % larger
        (:data:`PAPER_TEXT_SCALE`) and the map takes the rest of the page, so it is
        drawn at a larger scale.
    workers
        Processes that draw the pages (default: :func:`default_workers`, at most 2).
        Each draws every n-th page into a part file and the parts are interleaved
        into the atlas, so the pages, their order and their content do not depend on
        it; 1 draws every page in this process. Several need the ``fork`` start
        method (Linux); elsewhere the pages are drawn here.

    Returns
    -------
    AtlasResult
        Paths written, the atlas's page count (cover, overview, the community sheets)
        and the number of sheets of each community.

    Raises
    ------
    ParameterError
        `lang` or `paper` is not one of the choices.
    InputFileError
        The run folder cannot be read (see :func:`pastures.outputs.read_run`).
    """
    if lang not in LANGS:
        raise ParameterError(f"lang={lang!r}: choose one of {', '.join(LANGS)}.")
    if paper not in PAPER_MM:
        raise ParameterError(f"paper={paper!r}: choose one of {', '.join(PAPER_MM)}.")
    mpl = _require_matplotlib()  # figures are drawn without pyplot: no backend is changed
    run = isolate_bidi(read_run(run_folder))
    out = Path(out_dir)
    remove_stale_parts(out)
    families = font_families()
    _warn_missing_glyphs(run, families)
    names = _community_names(run)
    slugs: dict[str, str] = {}
    for name in names:
        slug = slugify(name)
        while slug in slugs.values() or slug == "atlas":
            slug += "-2"
        slugs[name] = slug
    ctx = _make_context(run, lang, paper, len(names))
    sheets = tuple(_plan(ctx, names))
    ctx = dataclasses.replace(ctx, sheets=sheets, total_pages=2 + len(sheets))
    words = WORDS[lang]
    meta: dict[str, Any] = {
        "Title": f"{words['atlas_title']} — {ctx.labels.area}",
        "Creator": "pastures",
    }
    n_pages = ctx.total_pages
    # the PDF's date is the data's (or SOURCE_DATE_EPOCH), not the clock's: the same run
    # prints the same bytes
    stamp = source_date_epoch()
    when = data_date(run)
    if stamp is None and when is not None:
        stamp = dt.datetime.combine(when, dt.time(), tzinfo=dt.UTC)
    pdf_meta = {**meta, "CreationDate": stamp}
    n_workers = min(default_workers() if workers is None else max(1, int(workers)), n_pages)
    with mpl.rc_context({**RC, "font.sans-serif": families}), warnings.catch_warnings():
        # said once above, with the characters and the fix, rather than once per glyph drawn
        warnings.filterwarnings("ignore", "Glyph .* missing from font")
        if n_workers <= 1:
            with _pdf(out / "atlas.pdf", pdf_meta) as atlas:
                for page in range(n_pages):
                    atlas.savefig(_draw_page(ctx, names, page))
        else:
            _draw_in_processes(ctx, names, n_workers, out / "atlas.pdf", pdf_meta)
    # Each community's PDF is its page of the atlas, copied rather than drawn again:
    # drawing and embedding the fonts once is most of the time an atlas takes.
    from pypdf import PdfReader

    result: dict[str, Path] = {}
    reader = PdfReader(out / "atlas.pdf")
    for name in names:
        sheet_meta = {**meta, "Title": f"{community_title(name, lang)} — {ctx.labels.area}"}
        pages = [2 + i for i, sheet in enumerate(sheets) if sheet.community == name]
        result[name] = _extract_pages(reader, pages, out / f"{slugs[name]}.pdf", sheet_meta)
    counts = {name: sum(s.community == name for s in sheets) for name in names}
    return AtlasResult(
        atlas=out / "atlas.pdf", communities=result, pages=ctx.total_pages, sheets=counts
    )
