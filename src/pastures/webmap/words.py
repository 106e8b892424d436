"""The words of the field map, written once in English and translated with gettext.

:func:`run_text` gives the page's words in the project's language
(:func:`pastures.i18n.translator`), fitted to the run: Juli's title for Juli, the
study area's elsewhere, "the bundled sample" only when the data are.
"""

from __future__ import annotations

import re
from typing import Final

from pastures import outputs as O
from pastures import schema as S
from pastures.i18n import N_, translator

#: Every word of the page by key, in English (msgids of the ``pastures`` catalog).
WORDS: Final[dict[str, str]] = {
    "title": N_("Juli pastures: field map"),
    "illustrative": N_("Illustrative data (bundled sample): not for decisions."),
    "title_area": N_("{area}: pasture field map"),
    "illustrative_user": N_("Illustrative data: not for decisions."),
    "all_area": N_("Whole area"),
    "communities": N_("Communities"),
    "plots": N_("Plots (colour by variable)"),
    "plot_codes": N_("Plot codes"),
    "corrals": N_("Corrals"),
    "water": N_("Water points"),
    "rotation": N_("Rotation: today and next"),
    "soil_loss": N_("Soil loss (t/ha/yr)"),
    "risk_raster": N_("Erosion risk (raster)"),
    "true_colour": N_("True colour (Sentinel-2)"),
    "true_colour_sample": N_("True colour (the sample's synthetic Sentinel-2)"),
    "hillshade": N_("Hillshade (DEM)"),
    "no_background": N_("No background"),
    "osm": N_("OpenStreetMap streets (online)"),
    "esri": N_("Esri satellite (online)"),
    "colour_by": N_("Colour plots by"),
    "ndvi": N_("Latest NDVI"),
    "anomaly": N_("NDVI anomaly"),
    "trend": N_("NDVI trend (/yr)"),
    "condition": N_("Range condition"),
    "pressure": N_("Stocking / capacity"),
    "risk": N_("Erosion risk"),
    "no_data": N_("no data"),
    "code": N_("Plot"),
    "community": N_("Community"),
    "area": N_("Area"),
    "pasture_type": N_("Pasture type"),
    "capacity": N_("Capacity"),
    "stocking": N_("Stocking"),
    "ndvi_last": N_("Latest NDVI"),
    "browning": N_("persistent browning"),
    "drivers": N_("Drivers"),
    "grazing_now": N_("Grazing now"),
    "grazing_next": N_("Grazing next"),
    "next_grazing": N_("Next grazing"),
    "next_rest": N_("Rests from"),
    "rests_until": N_("Rests until"),
    "families": N_("Families"),
    "series": N_("NDVI through time"),
    "now": N_("Grazed now"),
    "next_week": N_("Grazed within two weeks"),
    "resting": N_("Resting"),
    "outside_plan": N_("Outside the plan"),
    "no_plan": N_("no rotation plan"),
    "not_in_plan": N_("not in the rotation plan"),
    "plan_ended": N_("The rotation plan ended on {date}: make a new plan (pastures rotate)."),
    "plan_starts": N_("The rotation plan starts on {date}; until then no plot is grazed."),
    "type_default": N_("the pasture type's default production"),
    "juli_defaults": N_("Juli's values used by default (set them for your area): "),
    "missing_rotation": N_("No rotation plan: no plot is shown resting or grazed."),
    "missing_anomaly": N_("One image date: no NDVI anomaly."),
    "missing_erosion": N_("No erosion risk: the project has no DEM ([dem])."),
    "missing_erosion_synthetic": N_(
        "No erosion risk: the sample's synthetic DEM serves illustrative projects only; "
        'give a real DEM ([dem] source = "file", or `pastures fetch`).'
    ),
    "on_day": N_("on"),
    "corral": N_("Corral"),
    "water_point": N_("Water point"),
    "fullscreen": N_("Full screen"),
    "measure": N_("Measure distance and area (tap the map; double tap ends)"),
    "measure_clear": N_("Clear measurement"),
    "zoom_to": N_("Go to community…"),
    "all": N_("Whole district"),
    "toolkit": N_("pastures"),
    "data_date": N_("data as of"),
    "made": N_("map made on"),
    "times_capacity": N_("times capacity"),
    "legend_risk_raster": N_("Erosion risk"),
    "legend_soil_loss": N_("Soil loss, t/ha/yr"),
    "legend_rotation": N_("Rotation"),
    "legend_points": N_("Points"),
    "missing": N_("No {stage} layer: {why}"),
    "stage_vegetation": N_("vegetation indices"),
    "stage_rotation": N_("rotation"),
    "stage_erosion": N_("erosion risk"),
    # Leaflet's own words and the phone's buttons
    "zoom_in": N_("Zoom in"),
    "zoom_out": N_("Zoom out"),
    "layers": N_("Layers"),
    "legend": N_("Legend"),
    "info": N_("About this map"),
    "close": N_("Close"),
    "needs_internet": N_("{layer}: needs internet (no connection now)"),
    # where am I
    "locate": N_("My location"),
    "follow": N_("Follow me"),
    "locating": N_("Looking for your position…"),
    "in_plot": N_("You are in plot {code} ({community})."),
    "in_community": N_("You are in community {name}."),
    "nearest_plot": N_("Nearest plot: {code}, {distance} away."),
    "accuracy": N_("Position within ± {metres} m."),
    "no_position": N_("No position: {why}"),
    "no_geolocation": N_("this browser gives no position."),
    "alpacas_short": N_("alp"),
    "llamas_short": N_("llam"),
    "sheep_short": N_("sh"),
}

#: Words of the page's script (the rest are built into HTML in Python).
SCRIPT_WORDS: Final = (
    "colour_by", "fullscreen", "measure", "measure_clear", "zoom_to", "all", "zoom_in",
    "zoom_out", "layers", "legend", "info", "close", "needs_internet", "locate", "follow",
    "locating", "in_plot", "in_community", "nearest_plot", "accuracy", "no_position",
    "no_geolocation", "now", "next_week", "resting", "outside_plan", "grazing_now",
    "grazing_next", "next_grazing", "next_rest", "rests_until", "families", "plan_ended",
    "plan_starts", "legend_rotation", "on_day", "not_in_plan", "no_plan", "no_data",
)  # fmt: skip


def words(lang: str) -> dict[str, str]:
    """Every word of :data:`WORDS` in `lang`."""
    gettext = translator(lang).gettext
    return {key: gettext(msgid) for key, msgid in WORDS.items()}


def condition_words(lang: str) -> dict[str, str]:
    """Range condition classes (``good``...) as a reader of `lang` names them."""
    tr = translator(lang)
    return dict(
        zip(
            S.RANGE_CONDITIONS,
            (
                tr.pgettext("range condition", "Excellent"),
                tr.pgettext("range condition", "Good"),
                tr.pgettext("range condition", "Fair"),
                tr.pgettext("range condition", "Poor"),
                tr.pgettext("range condition", "Very poor"),
            ),
            strict=True,
        )
    )


def risk_words(lang: str) -> dict[str, str]:
    """Erosion risk classes (``low``...) as a reader of `lang` names them."""
    tr = translator(lang)
    return dict(
        zip(
            S.RISK_CLASSES,
            (
                tr.pgettext("erosion risk", "Low"),
                tr.pgettext("erosion risk", "Moderate"),
                tr.pgettext("erosion risk", "High"),
                tr.pgettext("erosion risk", "Very high"),
            ),
            strict=True,
        )
    )


#: The risk table states its drivers in English; each part is translated by its pattern.
_DRIVER_PATTERNS: Final = (
    (re.compile(r"^slope (?P<value>.+)$"), N_("slope {value}")),
    (re.compile(r"^dry-season cover (?P<value>.+)$"), N_("dry-season cover {value}")),
    (re.compile(r"^(?P<value>.+)x capacity(?P<rest>.*)$"), N_("{value} times capacity{rest}")),
    (re.compile(r"^soil loss (?P<value>.+) t/ha/yr$"), N_("soil loss {value} t/ha/yr")),
    (
        re.compile(r"^terrain data for (?P<value>.+) of the plot$"),
        N_("terrain data for {value} of the plot"),
    ),
    (re.compile(r"^no data$"), N_("no data")),
)


def drivers_text(text: object, lang: str) -> str:
    """The risk drivers of a plot (``slope 9 %, 3.0x capacity``) in `lang`."""
    if not isinstance(text, str) or not text:
        return ""
    gettext = translator(lang).gettext
    parts = []
    for part in text.split(", "):
        for pattern, msgid in _DRIVER_PATTERNS:
            match = pattern.match(part)
            if match:
                part = gettext(msgid).format(**match.groupdict())  # noqa: PLW2901
                break
        parts.append(part)
    return ", ".join(parts)


def run_text(run: O.RunOutputs, lang: str) -> dict[str, str]:
    """The page's words for this run: Juli's title for Juli, the study area's elsewhere.

    The illustrative note calls the data "the bundled sample" only when they are
    (:func:`pastures.outputs.study_area`); synthetic scenes are named as such.
    """
    t = words(lang)
    area = O.study_area(run)
    if not area.is_juli:
        t["title"] = t["title_area"].format(area=area.name)
        t["all"] = t["all_area"]
    if not area.bundled_sample:
        t["illustrative"] = t["illustrative_user"]
    if O.data_sources(run).imagery == "sample":
        t["true_colour"] = t["true_colour_sample"]
    return t
