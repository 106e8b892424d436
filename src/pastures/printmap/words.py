"""The words of the atlas: titles, dates, sources and notes, in the project's language.

Every text is written once, in English, marked for gettext, and translated with the
project's language (:func:`pastures.i18n.gettext_for`); dates are written by Babel
(:func:`pastures.i18n.format_date`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from pastures import i18n
from pastures import schema as S
from pastures.defaults import Lang
from pastures.i18n import N_, gettext_for, translator
from pastures.outputs import (
    RunOutputs,
    crs_words,
    data_date,
    data_sources,
    study_area,
)
from pastures.printmap.layout import NORTH_NOTE_DEG, missing_glyphs, true_north_offset

logger = logging.getLogger(__name__)


#: Unicode bidirectional controls (embeddings, overrides, isolates, marks). A name that
#: holds them could reverse the text printed beside it; they have no glyph of their own.
BIDI_CONTROLS: Final = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


#: Risk classes and range conditions as printed (translated at use).
RISK_LABELS: Final = {
    "low": N_("Low"),
    "moderate": N_("Moderate"),
    "high": N_("High"),
    "very high": N_("Very high"),
}
CONDITION_LABELS: Final = {
    "excellent": N_("Excellent"),
    "good": N_("Good"),
    "fair": N_("Fair"),
    "poor": N_("Poor"),
    "very poor": N_("Very poor"),
}
#: Where the vegetation index came from, by :func:`pastures.outputs.data_sources` key.
IMAGERY_SOURCES: Final = {
    "files": N_("Copernicus Sentinel-2 (ESA), NDVI"),
    "sample": N_("the sample's synthetic Sentinel-2 scenes, NDVI"),
    "none": N_("no imagery"),
}
#: How forage production was estimated, by key.
FORAGE_SOURCES: Final = {
    "cuts": N_("NDVI calibrated with field quadrat cuts"),
    "cuts_sample": N_("NDVI calibrated with the sample's made-up quadrat cuts"),
    "published": N_(
        "NDVI on bofedales (Zorogastúa-Cruz et al. 2012), the pasture type's range "
        "elsewhere (Castellaro 2007)"
    ),
    "defaults": N_("the pasture type's range (Castellaro 2007)"),
}
#: Where the relief came from, by key ("*": any other DEM).
DEM_SOURCES: Final = {
    "sample": N_("the sample's synthetic DEM"),
    "none": N_("no DEM"),
    "*": N_("the run's DEM"),
}
#: Why a result is missing, by :func:`pastures.outputs.missing_results` key.
MISSING_WORDS: Final = {
    "rotation": N_("No rotation plan"),
    "anomaly": N_("One image date: no NDVI anomaly"),
    "erosion": N_("No erosion risk: the project has no DEM"),
    "erosion_synthetic": N_(
        "No erosion risk: the sample's synthetic DEM serves illustrative projects only; "
        "give a real DEM"
    ),
}
#: The stages a run may have skipped, by :func:`pastures.outputs.missing_stages` key.
STAGE_WORDS: Final = {
    "vegetation": N_("vegetation indices"),
    "rotation": N_("rotation plan"),
    "erosion": N_("erosion risk"),
}


def gettext_of(lang: Lang) -> Callable[[str], str]:
    """The ``gettext`` of the atlas's language (the project's, never the command line's)."""
    return gettext_for(lang)


def ngettext_of(lang: Lang) -> Callable[[str, str, int], str]:
    """The ``ngettext`` of the atlas's language."""
    return translator(lang).ngettext


def pgettext_of(lang: Lang) -> Callable[[str, str], str]:
    """The ``pgettext`` of the atlas's language."""
    return translator(lang).pgettext


def risk_label(risk: object, lang: Lang) -> str:
    """A risk class as printed (``"Muy alto"``); ``"Sin datos"`` when unknown."""
    _ = gettext_of(lang)
    label = RISK_LABELS.get(str(risk)) if pd.notna(risk) else None  # type: ignore[call-overload]
    return _(label) if label else _("No data")


def condition_label(condition: object, lang: Lang) -> str:
    """A range condition as printed (``"Buena"``); ``"Sin datos"`` when unknown."""
    _ = gettext_of(lang)
    label = CONDITION_LABELS.get(str(condition)) if pd.notna(condition) else None  # type: ignore[call-overload]
    return _(label) if label else _("No data")


def community_title(name: str, lang: Lang) -> str:
    """``"Comunidad Pasiri"``; a name that already says so is kept as is."""
    if name.lower().startswith(("comunidad", "community", "c.c.")):
        return name
    _ = gettext_of(lang)
    return _("Community {name}").format(name=name)


def format_date(day: dt.date, lang: Lang) -> str:
    """``"31 dic 2024"`` / ``"31 Dec 2024"`` (Babel, in the atlas's language)."""
    return i18n.format_date(day, lang, "d MMM y")


def month_name(month: pd.Period, lang: Lang) -> str:
    """A calendar column's month, abbreviated: ``"ene"`` / ``"Jan"``."""
    return i18n.format_date(dt.date(month.year, month.month, 1), lang, "LLL")


def hectares(area: float, lang: Lang) -> str:
    """``"5.3 ha"``: the atlas's numbers keep the decimal point of its tables."""
    return f"{area:.1f} ha"


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


@dataclass(frozen=True)
class _Labels:
    """The words of a sheet that depend on where the run is (see :func:`_labels`)."""

    area: str  # the cover's second line
    area_short: str  # after the community in a sheet's title
    grid: str  # grid note, "{step}" for the spacing
    illustrative: str
    source: str  # after "project layers" in the credits
    north_note: str  # "" when grid north is within NORTH_NOTE_DEG of true north


def _labels(run: RunOutputs, lang: Lang) -> _Labels:
    """Area name, CRS and illustrative wording of a run: Juli's words for Juli."""
    _ = gettext_of(lang)
    area = study_area(run)
    grid = _("{crs} grid every {step} m").replace("{crs}", crs_words(area.crs, lang))
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
            degrees = f"{abs(angle):.1f}"
            if angle > 0:
                north_note = _(
                    "The arrow shows grid north; true north is {degrees}° east of it"
                ).format(degrees=degrees)
            else:
                north_note = _(
                    "The arrow shows grid north; true north is {degrees}° west of it"
                ).format(degrees=degrees)
    sample = area.bundled_sample
    return _Labels(
        area=_("District of Juli, province of Chucuito, Puno") if area.is_juli else area.name,
        area_short=_("district of Juli") if area.is_juli else area.name,
        grid=grid,
        illustrative=(
            _("ILLUSTRATIVE DATA: example sample, not for decisions")
            if sample
            else _("ILLUSTRATIVE DATA: not for decisions")
        ),
        source=_(" (illustrative sample)") if sample else _(" (illustrative data)"),
        north_note=north_note,
    )


@dataclass(frozen=True)
class Dates:
    """The dates an atlas is made of: what each one is (see :func:`run_dates`).

    Attributes
    ----------
    images
        Date of the newest satellite image the run used (condition, risk and NDVI are
        as of then), or None when the run has no imagery.
    plan_start, plan_end
        First and last day of the rotation plan, or None without a plan.
    """

    images: dt.date | None
    plan_start: dt.date | None
    plan_end: dt.date | None


def run_dates(run: RunOutputs) -> Dates:
    """The newest image date and the span of the rotation plan of a run."""
    schedule = run.table("schedule")
    start = end = None
    if schedule is not None and not schedule.empty:
        start = pd.to_datetime(schedule[S.START]).min().date()
        end = pd.to_datetime(schedule[S.END]).max().date()
    return Dates(data_date(run), start, end)


def _subtitle(run: RunOutputs, lang: Lang) -> str:
    """``"Imágenes hasta el 31 dic 2024 · Plan de rotación del 5 ene 2026 al 28 jun 2026"``.

    Each date says what it is: the newest satellite image (the plots' condition and
    risk are as of then) and the span of the rotation plan (the calendar).
    """
    _ = gettext_of(lang)
    dates = run_dates(run)
    parts = [
        _("Images up to {date}").format(date=format_date(dates.images, lang))
        if dates.images
        else _("No satellite images")
    ]
    if dates.plan_start and dates.plan_end:
        parts.append(
            _("Rotation plan from {start} to {end}").format(
                start=format_date(dates.plan_start, lang), end=format_date(dates.plan_end, lang)
            )
        )
    return " · ".join(parts)


def dates_note(run: RunOutputs, lang: Lang) -> str:
    """The cover's paragraph on what each date of the atlas is ("" when there is none)."""
    _ = gettext_of(lang)
    dates = run_dates(run)
    parts = []
    if dates.images:
        parts.append(
            _(
                "The plots' condition, risk and NDVI come from the satellite images up to {date}."
            ).format(date=format_date(dates.images, lang))
        )
    if dates.plan_start and dates.plan_end:
        parts.append(
            _(
                "The calendar is the rotation plan from {start} to {end}: it says where "
                "the animals go in those months."
            ).format(
                start=format_date(dates.plan_start, lang), end=format_date(dates.plan_end, lang)
            )
        )
    return " ".join(parts)


def _source_words(run: RunOutputs, lang: Lang) -> tuple[str, str, str]:
    """Credits for the vegetation, the forage production and the relief of this run.

    Synthetic scenes, made-up cuts and a synthetic DEM are named as such; a run folder
    without provenance is credited to Sentinel-2 and its own DEM.
    """
    _ = gettext_of(lang)
    src = data_sources(run)
    imagery = IMAGERY_SOURCES.get(src.imagery, IMAGERY_SOURCES["files"])
    forage_key = src.forage
    if forage_key == "cuts" and src.imagery == "sample":
        forage_key = "cuts_sample"
    forage = FORAGE_SOURCES.get(forage_key, FORAGE_SOURCES["defaults"])
    dem = DEM_SOURCES.get(src.dem, DEM_SOURCES["*"])
    return _(imagery), _(forage), _(dem)
