"""A self-contained web map of a run, for technicians in the field without internet.

:func:`write_web_map` turns the output folder of a run into ONE HTML file that
opens in any browser with no network: Leaflet's JavaScript and CSS are read
from the installed ``XStatic-Leaflet`` package and inlined (folium's CDN links
are dropped), the rasters are embedded as PNG data URIs downsampled to what a
screen shows, and the background is made from the run's own data (a true-colour
composite and a hillshade of the DEM). Online basemaps are optional layers that
simply stay blank offline.

Every text that comes from the data (plot codes, community names, herd ids...)
is HTML-escaped in Python before it reaches the page, and the data handed to the
map's script is JSON with ``<``, ``>`` and ``&`` escaped, so a name such as
``<img src=x onerror=alert(1)>`` shows as text and runs nothing.

Colour ramps are colour-blind safe: viridis for NDVI and range condition,
ColorBrewer diverging PuOr/RdBu for anomalies, trends and stocking, and
ColorBrewer YlOrRd/YlOrBr for erosion (Harrower and Brewer 2003, The
Cartographic Journal 40(1): 27-37; colours as shipped by ``branca``).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import itertools
import json
import logging
import math
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.transform import Affine
from rasterio.warp import reproject, transform_bounds

from pastures import __version__
from pastures import outputs as O
from pastures import schema as S
from pastures.backdrop import DisplayRaster, hillshade, read_for_display, stretch_rgb
from pastures.defaults import LANGS, Lang
from pastures.errors import MissingDependencyError, ParameterError
from pastures.io import atomic_output

logger = logging.getLogger(__name__)

#: Longest side (pixels) of the background and risk images embedded in the page.
BACKGROUND_MAX_PIXELS: Final = 1024
RASTER_MAX_PIXELS: Final = 1024
#: Web Mercator, the CRS Leaflet draws in (images are warped to it before embedding).
WEB_MERCATOR: Final = "EPSG:3857"
#: Decimal degrees kept in the embedded GeoJSON (6 decimals ~ 0.1 m).
COORD_DECIMALS: Final = 6
#: Simplification tolerance (m, working CRS) of community and plot outlines.
SIMPLIFY_M: Final = {S.COMMUNITIES: 5.0, S.PLOTS: 0.5}
#: A plot counts as grazed "next week" when its next herd arrives within these days.
NEXT_WEEK_DAYS: Final = 14
NODATA_CLASS: Final = 255

# --- colours (ColorBrewer and viridis as shipped by branca; hex for readability) -------------
#: viridis, 5 steps (dark = low NDVI, yellow = high).
VIRIDIS_5: Final = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
#: ColorBrewer PuOr, 6 classes: brown = below normal / browning, purple = above / greening.
PUOR_6: Final = ("#b35806", "#f1a340", "#fee0b6", "#d8daeb", "#998ec3", "#542788")
#: ColorBrewer RdBu (reversed), 6 classes: blue = under capacity, red = overstocked.
RDBU_6_R: Final = ("#2166ac", "#67a9cf", "#d1e5f0", "#fddbc7", "#ef8a62", "#b2182b")
#: ColorBrewer YlOrRd, 4 classes: the risk classes low to very high.
YLORRD_4: Final = ("#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c")
#: ColorBrewer YlOrBr, 6 classes: soil loss.
YLORBR_6: Final = ("#ffffd4", "#fee391", "#fec44f", "#fe9929", "#d95f0e", "#993404")
#: Rotation: grazed this week, next week, resting (ColorBrewer PuOr 4, colour-blind safe).
ROTATION_COLOURS: Final = ("#e66101", "#fdb863", "#5e3c99")
NO_DATA_COLOUR: Final = "#bdbdbd"

#: Soil-loss classes (t/ha/yr): FAO (1979) limits 10, 50, 200 (as pastures.erosion's
#: RiskThresholds), with the loss below 10 split at 2 and 5 so tolerable losses show.
SOIL_LOSS_BREAKS: Final = (2.0, 5.0, 10.0, 50.0, 200.0)


@dataclass(frozen=True)
class Ramp:
    """A classed colour ramp: values below ``breaks[i]`` take ``colours[i]``."""

    breaks: tuple[float, ...]
    colours: tuple[str, ...]

    def colour(self, value: float | None) -> str:
        """Colour of `value` (grey for missing)."""
        if value is None or not np.isfinite(value):
            return NO_DATA_COLOUR
        return self.colours[int(np.digitize(value, self.breaks))]

    def labels(self, fmt: str) -> list[str]:
        """Legend labels, e.g. ``< 0.2``, ``0.2 – 0.4``, ``≥ 0.8``."""
        b = [fmt.format(x) for x in self.breaks]
        out = [f"< {b[0]}"]
        out += [f"{lo} – {hi}" for lo, hi in itertools.pairwise(b)]
        out.append(f"≥ {b[-1]}")
        return out


NDVI_RAMP: Final = Ramp((0.2, 0.3, 0.4, 0.5), VIRIDIS_5)
ANOMALY_RAMP: Final = Ramp((-0.1, -0.05, 0.0, 0.05, 0.1), PUOR_6)
TREND_RAMP: Final = Ramp((-0.01, -0.005, 0.0, 0.005, 0.01), PUOR_6)
#: Stocking / capacity, diverging at 1 (stocked at capacity, the risk module's first
#: pressure limit): blues below, reds above.
PRESSURE_RAMP: Final = Ramp((0.25, 0.5, 1.0, 2.0, 5.0), RDBU_6_R)
SOIL_LOSS_RAMP: Final = Ramp(SOIL_LOSS_BREAKS, YLORBR_6)
#: Range condition, excellent to very poor, on viridis (yellow = excellent).
CONDITION_COLOURS: Final = dict(zip(S.RANGE_CONDITIONS, VIRIDIS_5[::-1], strict=True))
RISK_COLOURS: Final = dict(zip(S.RISK_CLASSES, YLORRD_4, strict=True))

#: Words of the page, Spanish first.
TEXT: Final[dict[str, dict[str, str]]] = {
    "es": {
        "title": "Pastos de Juli: mapa de campo",
        "illustrative": "Datos ilustrativos (muestra incluida): no usar para decisiones.",
        "title_area": "{}: mapa de campo de pastos",
        "illustrative_user": "Datos ilustrativos: no usar para decisiones.",
        "all_area": "Toda el área",
        "communities": "Comunidades",
        "plots": "Parcelas (color según variable)",
        "corrals": "Corrales",
        "water": "Fuentes de agua",
        "rotation": "Rotación: esta semana y la próxima",
        "soil_loss": "Pérdida de suelo (t/ha/año)",
        "risk_raster": "Riesgo de erosión (ráster)",
        "true_colour": "Color verdadero (Sentinel-2)",
        "true_colour_sample": "Color verdadero (Sentinel-2 sintético de la muestra)",
        "hillshade": "Relieve sombreado (DEM)",
        "no_background": "Sin fondo",
        "osm": "Calles OpenStreetMap (en línea)",
        "esri": "Satélite Esri (en línea)",
        "colour_by": "Colorear parcelas por",
        "ndvi": "NDVI más reciente",
        "anomaly": "Anomalía de NDVI",
        "trend": "Tendencia de NDVI (/año)",
        "condition": "Condición del pastizal",
        "pressure": "Carga / capacidad",
        "risk": "Riesgo de erosión",
        "no_data": "sin datos",
        "code": "Parcela",
        "community": "Comunidad",
        "area": "Superficie",
        "pasture_type": "Tipo de pasto",
        "capacity": "Capacidad",
        "stocking": "Carga",
        "ndvi_last": "NDVI más reciente",
        "browning": "pardeamiento persistente",
        "drivers": "Causas",
        "grazing_now": "Pastorean ahora",
        "grazing_next": "Pastorean después",
        "next_grazing": "Próximo pastoreo",
        "next_rest": "Descansa desde",
        "series": "NDVI en el tiempo",
        "now": "Pastoreada esta semana",
        "next_week": "Pastoreo la próxima semana",
        "resting": "En descanso",
        "no_plan": "sin plan de rotación",
        "type_default": "producción por defecto del tipo de pasto",
        "juli_defaults": "Valores de Juli usados por defecto (fíjelos para su área): ",
        "missing_rotation": "Sin plan de rotación: ninguna parcela figura en descanso ni pastoreo.",
        "missing_anomaly": "Una sola fecha: sin anomalía de NDVI.",
        "missing_erosion": "Sin riesgo de erosión: el proyecto no tiene DEM ([dem]).",
        "missing_erosion_synthetic": (
            "Sin riesgo de erosión: el DEM sintético de la muestra solo sirve a proyectos "
            'ilustrativos; dé un DEM real ([dem] source = "file", o `pastures fetch`).'
        ),
        "week_of": "Semana del",
        "corral": "Corral",
        "water_point": "Fuente de agua",
        "fullscreen": "Pantalla completa",
        "measure": "Medir distancia y área (clic en el mapa; doble clic termina)",
        "measure_clear": "Borrar medida",
        "zoom_to": "Ir a comunidad…",
        "all": "Todo el distrito",
        "toolkit": "pastures",
        "data_date": "datos al",
        "made": "mapa hecho el",
        "times_capacity": "veces la capacidad",
        "legend_risk_raster": "Riesgo de erosión",
        "legend_soil_loss": "Pérdida de suelo, t/ha/año",
        "legend_rotation": "Rotación",
        "legend_points": "Puntos",
        "missing": "Sin capa de {}: {}",
        "stage_vegetation": "índices de vegetación",
        "stage_rotation": "rotación",
        "stage_erosion": "riesgo de erosión",
    },
    "en": {
        "title": "Juli pastures: field map",
        "illustrative": "Illustrative data (bundled sample): not for decisions.",
        "title_area": "{}: pasture field map",
        "illustrative_user": "Illustrative data: not for decisions.",
        "all_area": "Whole area",
        "communities": "Communities",
        "plots": "Plots (colour by variable)",
        "corrals": "Corrals",
        "water": "Water points",
        "rotation": "Rotation: this week and next",
        "soil_loss": "Soil loss (t/ha/yr)",
        "risk_raster": "Erosion risk (raster)",
        "true_colour": "True colour (Sentinel-2)",
        "true_colour_sample": "True colour (the sample's synthetic Sentinel-2)",
        "hillshade": "Hillshade (DEM)",
        "no_background": "No background",
        "osm": "OpenStreetMap streets (online)",
        "esri": "Esri satellite (online)",
        "colour_by": "Colour plots by",
        "ndvi": "Latest NDVI",
        "anomaly": "NDVI anomaly",
        "trend": "NDVI trend (/yr)",
        "condition": "Range condition",
        "pressure": "Stocking / capacity",
        "risk": "Erosion risk",
        "no_data": "no data",
        "code": "Plot",
        "community": "Community",
        "area": "Area",
        "pasture_type": "Pasture type",
        "capacity": "Capacity",
        "stocking": "Stocking",
        "ndvi_last": "Latest NDVI",
        "browning": "persistent browning",
        "drivers": "Drivers",
        "grazing_now": "Grazing now",
        "grazing_next": "Grazing next",
        "next_grazing": "Next grazing",
        "next_rest": "Rests from",
        "series": "NDVI through time",
        "now": "Grazed this week",
        "next_week": "Grazed next week",
        "resting": "Resting",
        "no_plan": "no rotation plan",
        "type_default": "the pasture type's default production",
        "juli_defaults": "Juli's values used by default (set them for your area): ",
        "missing_rotation": "No rotation plan: no plot is shown resting or grazed.",
        "missing_anomaly": "One image date: no NDVI anomaly.",
        "missing_erosion": "No erosion risk: the project has no DEM ([dem]).",
        "missing_erosion_synthetic": (
            "No erosion risk: the sample's synthetic DEM serves illustrative projects only; "
            'give a real DEM ([dem] source = "file", or `pastures fetch`).'
        ),
        "week_of": "Week of",
        "corral": "Corral",
        "water_point": "Water point",
        "fullscreen": "Full screen",
        "measure": "Measure distance and area (click the map; double-click ends)",
        "measure_clear": "Clear measurement",
        "zoom_to": "Zoom to community…",
        "all": "Whole district",
        "toolkit": "pastures",
        "data_date": "data as of",
        "made": "map made on",
        "times_capacity": "times capacity",
        "legend_risk_raster": "Erosion risk",
        "legend_soil_loss": "Soil loss, t/ha/yr",
        "legend_rotation": "Rotation",
        "legend_points": "Points",
        "missing": "No {} layer: {}",
        "stage_vegetation": "vegetation index",
        "stage_rotation": "rotation",
        "stage_erosion": "erosion risk",
    },
}
CONDITION_LABELS_EN: Final = {c: c.capitalize() for c in S.RANGE_CONDITIONS}
RISK_LABELS_EN: Final = {c: c.capitalize() for c in S.RISK_CLASSES}
#: Spanish words of the risk drivers (the risk table states them in English).
_DRIVER_WORDS_ES: Final = (
    (re.compile(r"^slope (.+)$"), "pendiente {}"),
    (re.compile(r"^dry-season cover (.+)$"), "cobertura en época seca {}"),
    (re.compile(r"^(.+)x capacity(.*)$"), "{} veces la capacidad{}"),
    (re.compile(r"^soil loss (.+) t/ha/yr$"), "pérdida de suelo {} t/ha/año"),
    (
        re.compile(r"^terrain data for (.+) of the plot$"),
        "datos de terreno para el {} de la parcela",
    ),
    (re.compile(r"^no data$"), "sin datos"),
)

#: The variables a technician can colour the plots by: key, column, kind.
PLOT_VARIABLES: Final = (
    ("ndvi", O.NDVI_LAST),
    ("anomaly", O.NDVI_ANOMALY),
    ("trend", S.TREND_PER_YEAR),
    ("condition", S.RANGE_CONDITION),
    ("pressure", S.PRESSURE_RATIO),
    ("risk", S.RISK_CLASS),
)


# --- safe embedding -------------------------------------------------------------------------


#: Unicode bidirectional controls: a right-to-left override in a name would reverse the
#: text shown after it; they have no glyph, so they are left out of what the page shows.
_BIDI_CONTROLS: Final = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def esc(value: Any) -> str:
    """HTML-escaped text of a value (quotes included); empty for missing values.

    Bidirectional controls are left out, so a name cannot reverse the text beside it.
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if value is pd.NaT:
        return ""
    return html.escape(_BIDI_CONTROLS.sub("", str(value)), quote=True)


def json_for_script(obj: Any) -> str:
    r"""JSON that is safe inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e``, ``\\u0026`` (so neither
    ``</script>`` nor ``<!--`` can end or hide the script), and the line separators
    U+2028 and U+2029, which end a JavaScript string in older engines, are escaped.
    """
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


# --- Leaflet from an installed package ------------------------------------------------------


def leaflet_assets() -> tuple[str, str]:
    """Leaflet's JavaScript and CSS, read from the installed ``XStatic-Leaflet``.

    The images the CSS refers to (layer-switcher icon, markers) are inlined as
    data URIs, so the page needs no file beside it.

    Raises
    ------
    MissingDependencyError
        ``XStatic-Leaflet`` is not installed.
    """
    try:
        from xstatic.pkg import leaflet as xleaflet
    except ImportError as exc:
        raise MissingDependencyError(
            "the web map inlines Leaflet from the package XStatic-Leaflet, which is not "
            "installed. Install it with `pip install XStatic-Leaflet` (a dependency of "
            "pastures; reinstall pastures to get it)."
        ) from exc
    base = Path(xleaflet.BASE_DIR)
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    css = (base / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        image = base / match.group(1)
        if not image.is_file():
            return "url()"
        data = base64.b64encode(image.read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", inline, css)
    if "</script" in js.lower() or "</style" in css.lower():  # pragma: no cover - upstream
        raise MissingDependencyError(
            f"{base}: the Leaflet files contain a closing tag and cannot be inlined."
        )
    return js, css


# --- rasters as images ----------------------------------------------------------------------


def png_bytes(rgba: np.ndarray) -> bytes:
    """Encode a (rows, cols, 4) uint8 array as PNG (GDAL's PNG driver)."""
    rows, cols, bands = rgba.shape
    with warnings.catch_warnings():
        # A PNG for the browser carries no georeferencing; the page places it.
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile() as mem:
            with mem.open(driver="PNG", width=cols, height=rows, count=bands, dtype="uint8") as dst:
                dst.write(np.moveaxis(rgba, -1, 0))
            return mem.read()


def png_data_uri(rgba: np.ndarray) -> str:
    """A PNG data URI of a (rows, cols, 4) uint8 array."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(rgba)).decode("ascii")


@dataclass(frozen=True)
class MercatorGrid:
    """A north-up grid in Web Mercator: origin, pixel size (m) and shape."""

    left: float
    top: float
    res: float
    width: int
    height: int

    @property
    def transform(self) -> Affine:
        """Affine transform of the grid."""
        return Affine(self.res, 0.0, self.left, 0.0, -self.res, self.top)

    def latlon_bounds(self) -> list[list[float]]:
        """[[south, west], [north, east]] in degrees, as Leaflet wants them."""
        from pyproj import Transformer

        right = self.left + self.width * self.res
        bottom = self.top - self.height * self.res
        to_deg = Transformer.from_crs(WEB_MERCATOR, S.LONLAT_CRS, always_xy=True)
        (w, e), (s, n) = to_deg.transform([self.left, right], [bottom, self.top])
        return [[float(s), float(w)], [float(n), float(e)]]


def mercator_grid(raster: DisplayRaster) -> MercatorGrid:
    """The Web Mercator grid that holds `raster` at about its pixel size."""
    _, rows, cols = raster.data.shape
    left, bottom, right, top = transform_bounds(raster.crs, WEB_MERCATOR, *raster.bounds)
    res = max((right - left) / cols, (top - bottom) / rows)
    return MercatorGrid(
        left,
        top,
        res,
        max(1, math.ceil((right - left) / res)),
        max(1, math.ceil((top - bottom) / res)),
    )


def to_web_mercator(
    raster: DisplayRaster,
    *,
    resampling: Resampling,
    nodata: float = np.nan,
    grid: MercatorGrid | None = None,
) -> tuple[np.ndarray, MercatorGrid]:
    """Warp a display raster to Web Mercator (onto `grid`, or its own grid).

    Leaflet stretches an image overlay linearly in Web Mercator, so an image warped
    to it lands on the ground exactly.
    """
    grid = grid or mercator_grid(raster)
    out = np.full((raster.data.shape[0], grid.height, grid.width), nodata, dtype="float64")
    reproject(
        source=raster.data,
        destination=out,
        src_transform=raster.transform,
        src_crs=raster.crs,
        src_nodata=nodata,
        dst_transform=grid.transform,
        dst_crs=WEB_MERCATOR,
        dst_nodata=nodata,
        resampling=resampling,
    )
    return out, grid


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def classes_rgba(codes: np.ndarray, colours: tuple[str, ...], *, alpha: int = 210) -> np.ndarray:
    """Colour a class-code raster (0..n-1; others transparent) as (rows, cols, 4) uint8."""
    out = np.zeros((*codes.shape, 4), dtype="uint8")
    for k, colour in enumerate(colours):
        mask = codes == k
        out[mask, :3] = _hex_rgb(colour)
        out[mask, 3] = alpha
    return out


def _shade_rgba(path: Path) -> tuple[np.ndarray, MercatorGrid]:
    raster = read_for_display(path, max_pixels=BACKGROUND_MAX_PIXELS)
    shade = hillshade(raster.data[0], cellsize=abs(raster.transform.a))
    shaded = DisplayRaster(shade[np.newaxis], raster.transform, raster.crs, raster.bounds)
    warped, grid = to_web_mercator(shaded, resampling=Resampling.bilinear)
    grey = warped[0]
    valid = np.isfinite(grey)
    rgba = np.zeros((*grey.shape, 4), dtype="uint8")
    level = np.where(valid, 40 + 215 * np.nan_to_num(grey), 0).astype("uint8")
    rgba[..., 0] = rgba[..., 1] = rgba[..., 2] = level
    rgba[..., 3] = np.where(valid, 255, 0)
    return rgba, grid


def _true_colour_rgba(path: Path, grid: MercatorGrid | None) -> tuple[np.ndarray, MercatorGrid]:
    raster = read_for_display(path, max_pixels=BACKGROUND_MAX_PIXELS)
    warped, grid = to_web_mercator(raster, resampling=Resampling.bilinear, grid=grid)
    return stretch_rgb(warped[:3]), grid


def background_images(rasters: dict[str, Path]) -> dict[str, tuple[str, list[list[float]]]]:
    """The offline backgrounds as (PNG data URI, bounds), keyed ``true_colour``, ``hillshade``.

    The true-colour composite covers only the scene's clear pixels; where it has
    none (outside the scene, clouds) the hillshade shows through it, so the
    background has no holes where the DEM has data.
    """
    out: dict[str, tuple[str, list[list[float]]]] = {}
    shade, grid = None, None
    if "dem" in rasters:
        shade, grid = _shade_rgba(rasters["dem"])
    if "true_colour" in rasters:
        rgb, grid = _true_colour_rgba(rasters["true_colour"], grid)
        if shade is not None:
            alpha = rgb[..., 3:4].astype("float64") / 255.0
            mixed = rgb.astype("float64") * alpha + shade.astype("float64") * (1 - alpha)
            rgb = mixed.round().astype("uint8")
            rgb[..., 3] = np.maximum(rgb[..., 3], shade[..., 3])
        out["true_colour"] = (png_data_uri(rgb), grid.latlon_bounds())
    if shade is not None and grid is not None:
        out["hillshade"] = (png_data_uri(shade), grid.latlon_bounds())
    return out


def _soil_loss_image(path: Path) -> tuple[str, list[list[float]]]:
    raster = read_for_display(path, max_pixels=RASTER_MAX_PIXELS)
    loss = raster.data[0]
    codes = np.where(np.isfinite(loss), np.digitize(loss, SOIL_LOSS_BREAKS), NODATA_CLASS)
    classed = DisplayRaster(codes[np.newaxis].astype("float64"), *_geo(raster))
    warped, grid = to_web_mercator(classed, resampling=Resampling.nearest, nodata=NODATA_CLASS)
    return png_data_uri(classes_rgba(warped[0], YLORBR_6)), grid.latlon_bounds()


def _risk_image(path: Path) -> tuple[str, list[list[float]]]:
    raster = read_for_display(path, max_pixels=RASTER_MAX_PIXELS, resampling=Resampling.mode)
    codes = np.nan_to_num(raster.data[0], nan=NODATA_CLASS)
    classed = DisplayRaster(codes[np.newaxis], *_geo(raster))
    warped, grid = to_web_mercator(classed, resampling=Resampling.nearest, nodata=NODATA_CLASS)
    return png_data_uri(classes_rgba(warped[0], YLORRD_4)), grid.latlon_bounds()


def _geo(raster: DisplayRaster) -> tuple[Any, str, tuple[float, float, float, float]]:
    return raster.transform, raster.crs, raster.bounds


# --- plots, popups and charts ---------------------------------------------------------------


def _num(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _fmt(value: Any, fmt: str = "{:.2f}", unit: str = "") -> str:
    x = _num(value)
    if x is None:
        return ""
    return fmt.format(x) + (f" {unit}" if unit else "")


def _date_text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return pd.Timestamp(value).date().isoformat()


def sparkline_svg(
    dates: pd.Series, values: pd.Series, *, width: int = 260, height: int = 70, title: str = ""
) -> str:
    """A small inline SVG line chart of a time series (escaped, no script).

    The x axis is time (first to last date), the y axis the value between its
    minimum and maximum; the extremes and the years are written at the edges.
    """
    if len(values) < 2:
        return ""
    t = pd.to_datetime(dates).astype("int64").to_numpy(dtype="float64")
    v = np.asarray(values, dtype="float64")
    pad_l, pad_r, pad_t, pad_b = 30, 6, 6, 14
    t_span = (t.max() - t.min()) or 1.0
    v_lo, v_hi = float(np.nanmin(v)), float(np.nanmax(v))
    v_span = (v_hi - v_lo) or 1.0
    xs = pad_l + (t - t.min()) / t_span * (width - pad_l - pad_r)
    ys = pad_t + (v_hi - v) / v_span * (height - pad_t - pad_b)
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    first, last = pd.Timestamp(dates.iloc[0]).year, pd.Timestamp(dates.iloc[-1]).year
    base = height - pad_b
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{esc(title)}">'
        f'<line x1="{pad_l}" y1="{base}" x2="{width - pad_r}" y2="{base}" stroke="#999"/>'
        f'<polyline fill="none" stroke="#21918c" stroke-width="1.5" points="{points}"/>'
        f'<text x="{pad_l - 3}" y="{pad_t + 8}" text-anchor="end">{v_hi:.2f}</text>'
        f'<text x="{pad_l - 3}" y="{base}" text-anchor="end">{v_lo:.2f}</text>'
        f'<text x="{pad_l}" y="{height - 2}">{first}</text>'
        f'<text x="{width - pad_r}" y="{height - 2}" text-anchor="end">{last}</text>'
        "</svg>"
    )


def _drivers_text(text: Any, lang: Lang) -> str:
    if not isinstance(text, str) or not text:
        return ""
    if lang == "en":
        return text
    parts = []
    for part in text.split(", "):
        for pattern, words in _DRIVER_WORDS_ES:
            match = pattern.match(part)
            if match:
                part = words.format(*match.groups())  # noqa: PLW2901 - translated in place
                break
        parts.append(part)
    return ", ".join(parts)


def _label(value: Any, lang: Lang, es: dict[str, str], en: dict[str, str]) -> str:
    if not isinstance(value, str):
        return ""
    return (es if lang == "es" else en).get(value, value)


def rotation_state(row: pd.Series, on: dt.date) -> int:
    """0 grazed this week, 1 grazed next week, 2 resting (index of ROTATION_COLOURS)."""
    if isinstance(row.get(O.GRAZING_NOW), str) and row[O.GRAZING_NOW]:
        return 0
    nxt = row.get(O.NEXT_GRAZING)
    soon = on + dt.timedelta(days=NEXT_WEEK_DAYS)
    if nxt is not None and not pd.isna(nxt) and pd.Timestamp(nxt).date() < soon:
        return 1
    return 2


def plot_popup(row: pd.Series, series: pd.DataFrame, lang: Lang) -> str:
    """HTML of a plot's popup; every value escaped."""
    t = TEXT[lang]
    rows: list[tuple[str, str]] = []

    def add(label: str, value: str) -> None:
        if value:
            rows.append((label, value))

    add(t["community"], esc(row.get(S.COMMUNITY)))
    add(t["area"], esc(_fmt(row.get(S.AREA_HA), "{:.1f}", "ha")))
    ptype = row.get(S.PASTURE_TYPE)
    # the local names (bofedal, pajonal...) are what technicians say in either language
    add(t["pasture_type"], esc(S.PASTURE_TYPE_LABELS_ES.get(ptype, ptype) if ptype else ""))
    add(
        t["condition"],
        esc(
            _label(
                row.get(S.RANGE_CONDITION), lang, S.RANGE_CONDITION_LABELS_ES, CONDITION_LABELS_EN
            )
        ),
    )
    cap, stock = _num(row.get(S.CAPACITY_UO)), _num(row.get(S.STOCKING_UO))
    cap_text = _fmt(cap, "{:.1f}", "UO")
    method = row.get(S.FORAGE_METHOD)
    if cap_text and isinstance(method, str) and method.startswith("pasture-type default"):
        cap_text += f" ({t['type_default']})"  # not from the imagery: say so
    add(t["capacity"], esc(cap_text))
    stock_text = _fmt(stock, "{:.1f}", "UO")
    ratio = _num(row.get(S.PRESSURE_RATIO))
    if stock_text and ratio is not None:
        stock_text += f" ({ratio:.1f} {t['times_capacity']})"
    add(t["stocking"], esc(stock_text))
    ndvi = _fmt(row.get(O.NDVI_LAST), "{:.2f}")
    when = _date_text(row.get(O.NDVI_LAST_DATE))
    add(t["ndvi_last"], esc(ndvi + (f" ({when})" if ndvi and when else "")))
    add(t["anomaly"], esc(_fmt(row.get(O.NDVI_ANOMALY), "{:+.2f}")))
    trend = _fmt(row.get(S.TREND_PER_YEAR), "{:+.4f}")
    if trend and (row.get(S.BROWNING) is True or row.get(S.BROWNING) == 1):
        trend += f" ({t['browning']})"
    add(t["trend"], esc(trend))
    risk = _label(row.get(S.RISK_CLASS), lang, S.RISK_CLASS_LABELS_ES, RISK_LABELS_EN)
    if risk:
        colour = RISK_COLOURS.get(row.get(S.RISK_CLASS), NO_DATA_COLOUR)
        add(t["risk"], f'<span class="sw" style="background:{colour}"></span>{esc(risk)}')
    add(t["drivers"], esc(_drivers_text(row.get(S.RISK_DRIVERS), lang)))
    add(t["grazing_now"], esc(row.get(O.GRAZING_NOW) or ""))
    add(t["grazing_next"], esc(row.get(O.GRAZING_NEXT) or ""))
    add(t["next_grazing"], esc(_date_text(row.get(O.NEXT_GRAZING))))
    add(t["next_rest"], esc(_date_text(row.get(O.NEXT_REST))))
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    chart = ""
    if len(series) >= 2:
        chart = f'<div class="chart-title">{esc(t["series"])}</div>' + sparkline_svg(
            series[S.DATE], series[S.VALUE], title=t["series"]
        )
    return (
        f'<div class="plot-popup"><h4>{esc(t["code"])} {esc(row.get(S.PLOT_CODE))}</h4>'
        f"<table>{table}</table>{chart}</div>"
    )


def _variable_colour(key: str, row: pd.Series) -> str:
    if key == "ndvi":
        return NDVI_RAMP.colour(_num(row.get(O.NDVI_LAST)))
    if key == "anomaly":
        return ANOMALY_RAMP.colour(_num(row.get(O.NDVI_ANOMALY)))
    if key == "trend":
        return TREND_RAMP.colour(_num(row.get(S.TREND_PER_YEAR)))
    if key == "pressure":
        return PRESSURE_RAMP.colour(_num(row.get(S.PRESSURE_RATIO)))
    if key == "condition":
        return CONDITION_COLOURS.get(row.get(S.RANGE_CONDITION), NO_DATA_COLOUR)
    return RISK_COLOURS.get(row.get(S.RISK_CLASS), NO_DATA_COLOUR)


def _variable_value(key: str, row: pd.Series, lang: Lang) -> str:
    if key == "condition":
        return _label(
            row.get(S.RANGE_CONDITION), lang, S.RANGE_CONDITION_LABELS_ES, CONDITION_LABELS_EN
        )
    if key == "risk":
        return _label(row.get(S.RISK_CLASS), lang, S.RISK_CLASS_LABELS_ES, RISK_LABELS_EN)
    column = dict(PLOT_VARIABLES)[key]
    fmt = {"trend": "{:+.4f}", "anomaly": "{:+.2f}", "pressure": "{:.1f}"}.get(key, "{:.2f}")
    return _fmt(row.get(column), fmt)


def _legend(items: list[tuple[str, str]], title: str, *, line: bool = False) -> str:
    cls = "sw line" if line else "sw"
    body = "".join(
        f'<div><span class="{cls}" style="background:{c}"></span>{esc(label)}</div>'
        for c, label in items
    )
    return f'<div class="legend-title">{esc(title)}</div>{body}'


def variable_legends(lang: Lang) -> dict[str, str]:
    """Legend HTML of each plot variable."""
    t = TEXT[lang]
    nd = [(NO_DATA_COLOUR, t["no_data"])]
    cond_labels = S.RANGE_CONDITION_LABELS_ES if lang == "es" else CONDITION_LABELS_EN
    risk_labels = S.RISK_CLASS_LABELS_ES if lang == "es" else RISK_LABELS_EN

    def ramp(r: Ramp, fmt: str) -> list[tuple[str, str]]:
        return [*zip(r.colours, r.labels(fmt), strict=True), *nd]

    return {
        "ndvi": _legend(ramp(NDVI_RAMP, "{:.1f}"), t["ndvi"]),
        "anomaly": _legend(ramp(ANOMALY_RAMP, "{:+.2f}"), t["anomaly"]),
        "trend": _legend(ramp(TREND_RAMP, "{:+.3f}"), t["trend"]),
        "condition": _legend(
            [(CONDITION_COLOURS[c], cond_labels[c]) for c in S.RANGE_CONDITIONS] + nd,
            t["condition"],
        ),
        "pressure": _legend(ramp(PRESSURE_RAMP, "{:g}"), t["pressure"]),
        "risk": _legend(
            [(RISK_COLOURS[c], risk_labels[c]) for c in S.RISK_CLASSES] + nd, t["risk"]
        ),
    }


def _features(gdf: Any, kind: str, properties: list[dict[str, Any]]) -> dict[str, Any]:
    """GeoJSON (EPSG:4326, rounded) of a layer with the given properties per feature."""
    import shapely

    geoms = gdf.geometry
    tolerance = SIMPLIFY_M.get(kind)
    if tolerance:
        geoms = geoms.simplify(tolerance, preserve_topology=True)
    geoms = geoms.to_crs(S.LONLAT_CRS)
    features = []
    for geom, props in zip(geoms, properties, strict=True):
        if geom is None or geom.is_empty:
            continue
        geom = shapely.transform(geom, lambda c: np.round(c, COORD_DECIMALS))  # noqa: PLW2901
        features.append(
            {"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": props}
        )
    return {"type": "FeatureCollection", "features": features}


def _default_on(run: O.RunOutputs) -> dt.date:
    schedule = run.table("schedule")
    if schedule is not None and not schedule.empty:
        return pd.to_datetime(schedule[S.START]).min().date()
    return dt.date.today()


def map_data(run: O.RunOutputs, *, lang: Lang = "es", on: dt.date | None = None) -> dict[str, Any]:
    """Everything the page's script draws, as JSON-ready data (all text escaped HTML).

    Parameters
    ----------
    run
        From :func:`pastures.outputs.read_run`.
    lang
        Language of the words.
    on
        The date "this week" refers to (default: the first day of the rotation plan).
    """
    t = run_text(run, lang)
    day = on or _default_on(run)
    status = O.plot_status(run, on=day)
    series = O.ndvi_series(run)
    by_plot = dict(list(series.groupby(S.PLOT_CODE))) if len(series) else {}
    empty = pd.DataFrame({S.DATE: [], S.VALUE: []})
    rotation_words = (t["now"], t["next_week"], t["resting"])
    if "rotation" in O.missing_results(run):  # no plan: no plot is "resting"
        rotation_words = (t["no_plan"],) * 3
    plot_props = []
    for _, row in status.iterrows():
        code = row[S.PLOT_CODE]
        state = rotation_state(row, day)
        herds = [h for h in (row.get(O.GRAZING_NOW), row.get(O.GRAZING_NEXT)) if h]
        rotation_tip = f"{esc(code)}: {esc(rotation_words[state])}"
        if state == 0 and herds:
            rotation_tip += f" ({esc(row.get(O.GRAZING_NOW))})"
        elif state == 1:
            rotation_tip += f" ({esc(_date_text(row.get(O.NEXT_GRAZING)))}: "
            rotation_tip += f"{esc(row.get(O.GRAZING_NEXT))})"
        plot_props.append(
            {
                "tip": {
                    k: f"{esc(code)}: {esc(_variable_value(k, row, lang)) or esc(t['no_data'])}"
                    for k, _ in PLOT_VARIABLES
                },
                "colour": {k: _variable_colour(k, row) for k, _ in PLOT_VARIABLES},
                "popup": plot_popup(row, by_plot.get(code, empty), lang),
                "code": esc(code),
                "community": str(row.get(S.COMMUNITY, "")),
                "rotation": state,
                "rotation_tip": rotation_tip,
            }
        )
    communities = run.communities
    # labels at the centroid, or at a point inside where a concave outline leaves it out
    centroids = communities.geometry.centroid
    inside = centroids.where(
        centroids.within(communities.geometry), communities.geometry.representative_point()
    ).to_crs(S.LONLAT_CRS)
    community_props = [
        {
            "label": esc(name),
            "name": str(name),
            "at": (
                [round(pt.y, COORD_DECIMALS), round(pt.x, COORD_DECIMALS)]
                if pt is not None and not pt.is_empty
                else None
            ),
        }
        for name, pt in zip(communities.get(S.COMMUNITY, []), inside, strict=True)
    ]

    def point_props(gdf: Any, key: str, word: str) -> list[dict[str, Any]]:
        out = []
        for _, r in gdf.iterrows():
            parts = [f"<b>{esc(word)} {esc(r.get(key))}</b>"]
            if r.get(S.COMMUNITY) is not None and not pd.isna(r.get(S.COMMUNITY)):
                parts.append(esc(r.get(S.COMMUNITY)))
            if r.get(S.WATER_KIND) is not None and not pd.isna(r.get(S.WATER_KIND)):
                parts.append(esc(r.get(S.WATER_KIND)))
            out.append({"tip": "<br>".join(parts)})
        return out

    legends = variable_legends(lang)
    legends["rotation"] = _legend(
        list(zip(ROTATION_COLOURS, rotation_words, strict=True)),
        f"{t['legend_rotation']} ({t['week_of']} {day.isoformat()})",
    )
    legends["points"] = _legend(
        [("#8c510a", t["corrals"]), ("#2166ac", t["water"])], t["legend_points"]
    )
    soil = SOIL_LOSS_RAMP.labels("{:g}")
    legends["soil_loss"] = _legend(list(zip(YLORBR_6, soil, strict=True)), t["legend_soil_loss"])
    risk_labels = S.RISK_CLASS_LABELS_ES if lang == "es" else RISK_LABELS_EN
    legends["risk_raster"] = _legend(
        [(RISK_COLOURS[c], risk_labels[c]) for c in S.RISK_CLASSES], t["legend_risk_raster"]
    )
    return {
        "plots": _features(status, S.PLOTS, plot_props),
        "communities": _features(communities, S.COMMUNITIES, community_props),
        "corrals": _features(
            run.corrals, S.CORRALS, point_props(run.corrals, S.CORRAL_ID, t["corral"])
        ),
        "water": _features(
            run.water_points,
            S.WATER_POINTS,
            point_props(run.water_points, S.WATER_ID, t["water_point"]),
        ),
        # only the variables the run has values of
        "variables": [
            {"key": k, "label": t[k]}
            for k, column in PLOT_VARIABLES
            if column in status.columns and status[column].notna().any()
        ],
        "has_schedule": run.table("schedule") is not None,
        "legends": legends,
        "rotation_colours": list(ROTATION_COLOURS),
        "text": {
            k: t[k]
            for k in ("colour_by", "fullscreen", "measure", "measure_clear", "zoom_to", "all")
        },
    }


# --- the page ------------------------------------------------------------------------------

_CSS: Final = """
html, body {height: 100%; margin: 0;}
body {font: 13px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;}
.leaflet-container {background: #f2efe9; font: inherit;}
.pm-box {background: rgba(255,255,255,.94); padding: 6px 9px; border-radius: 5px;
  box-shadow: 0 1px 5px rgba(0,0,0,.4); max-width: 260px;}
.pm-title {font-weight: 600; font-size: 14px;}
.pm-warn {color: #8c2d04; font-weight: 600; margin-top: 3px;}
.pm-note {color: #444; font-size: 11px; margin-top: 3px; max-width: 280px;}
.pm-legend {max-height: 55vh; overflow-y: auto;}
.pm-legend select, .pm-box select {max-width: 230px; font: inherit; margin: 2px 0 4px;}
.legend-title {font-weight: 600; margin-top: 4px;}
.sw {display: inline-block; width: 14px; height: 11px; margin-right: 6px;
  border: 1px solid #555; vertical-align: middle;}
.leaflet-bar a.pm-btn {display: flex; align-items: center; justify-content: center;
  width: 30px; height: 30px; background: #fff; cursor: pointer;}
.leaflet-bar a.pm-btn.on {background: #fde725;}
.pm-footer {font-size: 11px; color: #333;}
.community-label {background: rgba(255,255,255,.8); border: 0; box-shadow: none;
  font-weight: 600; color: #222; padding: 1px 4px;}
.community-label:before {display: none;}
.plot-popup h4 {margin: 0 0 4px; font-size: 14px;}
.plot-popup table {border-collapse: collapse;}
.plot-popup th {text-align: left; padding: 1px 8px 1px 0; vertical-align: top;
  font-weight: 600; color: #444; white-space: nowrap;}
.plot-popup td {padding: 1px 0; min-width: 110px;}
.chart-title {margin-top: 5px; font-weight: 600; color: #444;}
svg.spark text {font-size: 9px; fill: #555;}
.pm-measure-out {font-weight: 600;}
.pastures-fullscreen {position: fixed !important; inset: 0; z-index: 10000;
  width: 100% !important; height: 100% !important;}
@media (max-width: 700px) {
  .leaflet-control-layers-expanded {max-height: 60vh; overflow-y: auto;}
  .pm-box {max-width: 190px; font-size: 12px;}
  .pm-legend {max-height: 30vh;}
  .pm-footer {display: none;}
  .pm-popup-open .pm-box, .pm-popup-open .leaflet-control-layers {display: none;}
}
"""

#: The page's own script: builds the vector layers into folium's feature groups,
#: the legends, and the controls Leaflet lacks (full screen, measure, zoom to community,
#: colour-by selector). Placeholders __NAME__ are filled with folium's variable names.
_JS: Final = r"""
(function () {
  var map = __MAP__;
  var D = __DATA__;
  var G = __GROUPS__;
  var T = D.text;
  var measuring = false;

  function plotPopup(e, p) {
    if (measuring) { return; }
    var size = map.getSize();
    var width = Math.min(400, size.x - 100);  // room for the zoom buttons on a phone
    L.popup({maxWidth: width, minWidth: Math.min(280, width), className: "pm-popup",
             maxHeight: Math.round(size.y * 0.7), autoPanPaddingTopLeft: L.point(50, 10)})
      .setLatLng(e.latlng).setContent(p.popup).openOn(map);
  }
  // on a phone the boxes would cover an open popup: fold them away while it is open
  map.on("popupopen popupclose", function (e) {
    var narrow = map.getSize().x < 700;
    map.getContainer().classList.toggle("pm-popup-open", narrow && e.type === "popupopen");
  });
  var ICONS = {
    full: '<svg width="18" height="18" viewBox="0 0 18 18" fill="none" stroke="#222" ' +
          'stroke-width="2"><path d="M2 7V2h5M11 2h5v5M16 11v5h-5M7 16H2v-5"/></svg>',
    measure: '<svg width="20" height="20" viewBox="0 0 20 20" fill="none" stroke="#222" ' +
             'stroke-width="1.6"><path d="M2 14L14 2l4 4L6 18z"/>' +
             '<path d="M5 11l2 2M8 8l2 2M11 5l2 2"/></svg>',
    clear: '<svg width="16" height="16" viewBox="0 0 16 16" stroke="#222" ' +
           'stroke-width="2"><path d="M3 3l10 10M13 3L3 13"/></svg>'
  };
  function onEach(fn) { return function (feature, layer) { fn(feature.properties, layer); }; }

  // communities, labelled
  var communities = L.geoJSON(D.communities, {
    style: function () { return {color: "#111", weight: 2, dashArray: "6 4", fill: false}; },
    interactive: false
  });
  if (G.communities) {
    communities.eachLayer(function (layer) {
      var centre = layer.feature.properties.at || layer.getBounds().getCenter();
      L.tooltip({permanent: true, direction: "center", className: "community-label",
                 interactive: false})
        .setLatLng(centre).setContent(layer.feature.properties.label).addTo(G.communities);
    });
    communities.addTo(G.communities);
  }

  // plots, coloured by the chosen variable
  var variable = D.variables.length ? D.variables[0].key : null;
  function plotStyle(feature) {
    return {color: "#222", weight: 1.2, fillOpacity: 0.8,
            fillColor: variable ? feature.properties.colour[variable] : "#bdbdbd"};
  }
  var plots = L.geoJSON(D.plots, {style: plotStyle, onEachFeature: onEach(function (p, layer) {
    layer.bindTooltip(function () { return variable ? p.tip[variable] : p.code; },
                      {sticky: true});
    layer.on("click", function (e) { plotPopup(e, p); });
  })});
  if (G.plots) { plots.addTo(G.plots); }

  // rotation: this week, next week, resting
  if (G.rotation) {
    L.geoJSON(D.plots, {
      style: function (f) {
        var c = D.rotation_colours[f.properties.rotation];
        return {color: c, weight: 3, fillColor: c, fillOpacity: 0.55};
      },
      onEachFeature: onEach(function (p, layer) {
        layer.bindTooltip(p.rotation_tip, {sticky: true});
        layer.on("click", function (e) { plotPopup(e, p); });
      })
    }).addTo(G.rotation);
  }

  // corrals (brown squares) and water points (blue circles)
  function points(data, group, colour, square) {
    L.geoJSON(data, {
      pointToLayer: function (f, latlng) {
        if (square) {
          return L.marker(latlng, {icon: L.divIcon({className: "",
            html: '<div style="width:10px;height:10px;background:' + colour +
                  ';border:1.5px solid #fff;box-shadow:0 0 2px #000"></div>',
            iconSize: [13, 13]})});
        }
        return L.circleMarker(latlng, {radius: 6, color: "#fff", weight: 1.5,
                                       fillColor: colour, fillOpacity: 1});
      },
      style: function () { return {color: colour, weight: 2, fillOpacity: 0.3}; },
      onEachFeature: onEach(function (p, layer) { layer.bindTooltip(p.tip); })
    }).addTo(group);
  }
  if (G.corrals) { points(D.corrals, G.corrals, "#8c510a", true); }
  if (G.water) { points(D.water, G.water, "#2166ac", false); }

  // legends: one box, a section per visible layer
  var legendSections = {};
  var Legend = L.Control.extend({
    options: {position: "bottomright"},
    onAdd: function () {
      var div = L.DomUtil.create("div", "pm-box pm-legend");
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      if (D.variables.length) {
        var head = L.DomUtil.create("div", "legend-title", div);
        head.textContent = T.colour_by;
        var select = L.DomUtil.create("select", "pm-variable", div);
        D.variables.forEach(function (v) {
          var o = document.createElement("option");
          o.value = v.key; o.textContent = v.label; select.appendChild(o);
        });
        select.onchange = function () {
          variable = select.value;
          plots.setStyle(plotStyle);
          Object.keys(D.legends).forEach(function (k) {
            if (legendSections[k] && D.variables.some(function (v) { return v.key === k; })) {
              legendSections[k].style.display = (k === variable && map.hasLayer(G.plots))
                ? "" : "none";
            }
          });
        };
      }
      Object.keys(D.legends).forEach(function (k) {
        var s = L.DomUtil.create("div", "pm-legend-" + k, div);
        s.innerHTML = D.legends[k];  // built and escaped in Python
        legendSections[k] = s;
      });
      return div;
    }
  });
  new Legend().addTo(map);
  var legendOf = {plots: null, rotation: "rotation", corrals: "points", water: "points",
                  soil_loss: "soil_loss", risk_raster: "risk_raster"};
  function refreshLegends() {
    var shown = {};
    Object.keys(legendOf).forEach(function (g) {
      if (G[g] && map.hasLayer(G[g])) { shown[legendOf[g] || variable] = true; }
    });
    Object.keys(legendSections).forEach(function (k) {
      legendSections[k].style.display = shown[k] ? "" : "none";
    });
  }
  map.on("overlayadd overlayremove", refreshLegends);
  refreshLegends();

  // full screen (the Fullscreen API where there is one, a fixed box otherwise)
  function button(container, icon, title, onclick) {
    var a = L.DomUtil.create("a", "pm-btn", container);
    a.href = "#"; a.innerHTML = icon; a.title = title;  // our own constant SVG
    a.setAttribute("role", "button"); a.setAttribute("aria-label", title);
    L.DomEvent.on(a, "click", function (e) { L.DomEvent.preventDefault(e); onclick(a); });
    L.DomEvent.disableClickPropagation(a);
    return a;
  }
  var Tools = L.Control.extend({
    options: {position: "topleft"},
    onAdd: function () {
      var bar = L.DomUtil.create("div", "leaflet-bar pm-tools");
      button(bar, ICONS.full, T.fullscreen, function () {
        var box = map.getContainer();
        if (document.fullscreenElement) { document.exitFullscreen(); return; }
        if (box.requestFullscreen) {
          box.requestFullscreen().catch(function () {
            box.classList.toggle("pastures-fullscreen"); map.invalidateSize();
          });
        } else {
          box.classList.toggle("pastures-fullscreen"); map.invalidateSize();
        }
      });
      var measureBtn = button(bar, ICONS.measure, T.measure, function (a) {
        measuring = !measuring;
        a.classList.toggle("on", measuring);
        map.getContainer().style.cursor = measuring ? "crosshair" : "";
        if (measuring) { map.doubleClickZoom.disable(); clearMeasure(); }
        else { map.doubleClickZoom.enable(); }
      });
      measureBtn.classList.add("pm-measure");
      button(bar, ICONS.clear, T.measure_clear, function () { clearMeasure(); });
      return bar;
    }
  });
  new Tools().addTo(map);

  // measure: distance along the clicked points and area of the polygon they close
  var measurePts = [];
  var measureLayer = L.layerGroup().addTo(map);
  var measureOut = null;
  function clearMeasure() {
    measurePts = []; measureLayer.clearLayers();
    if (measureOut) { measureOut.textContent = ""; }
  }
  function geodesicArea(pts) {  // m², spherical excess (as Leaflet.draw's GeometryUtil)
    var R = L.CRS.Earth.R, d2r = Math.PI / 180, area = 0, n = pts.length;
    for (var i = 0; i < n; i++) {
      var p1 = pts[i], p2 = pts[(i + 1) % n];
      area += (p2.lng - p1.lng) * d2r *
              (2 + Math.sin(p1.lat * d2r) + Math.sin(p2.lat * d2r));
    }
    return Math.abs(area * R * R / 2);
  }
  function showMeasure() {
    measureLayer.clearLayers();
    var dist = 0;
    for (var i = 1; i < measurePts.length; i++) {
      dist += map.distance(measurePts[i - 1], measurePts[i]);
    }
    if (measurePts.length >= 3) {
      L.polygon(measurePts, {color: "#d7191c", weight: 2, fillOpacity: 0.1,
                             interactive: false}).addTo(measureLayer);
    } else {
      L.polyline(measurePts, {color: "#d7191c", weight: 2, interactive: false})
        .addTo(measureLayer);
    }
    measurePts.forEach(function (p) {
      L.circleMarker(p, {radius: 3, color: "#d7191c", interactive: false}).addTo(measureLayer);
    });
    var text = dist >= 1000 ? (dist / 1000).toFixed(2) + " km" : dist.toFixed(0) + " m";
    if (measurePts.length >= 3) {
      text += " \u00B7 " + (geodesicArea(measurePts) / 10000).toFixed(2) + " ha";
    }
    measureOut.textContent = text;
  }
  map.on("click", function (e) {
    if (!measuring) { return; }
    measurePts.push(e.latlng);
    showMeasure();
  });
  map.on("dblclick", function () {
    if (!measuring) { return; }
    measuring = false; map.doubleClickZoom.enable();
    map.getContainer().style.cursor = "";
    var btn = map.getContainer().querySelector(".pm-measure");
    if (btn) { btn.classList.remove("on"); }
  });

  // title, warning, zoom to community, measurement read-out
  var Info = L.Control.extend({
    options: {position: "topleft"},
    onAdd: function () {
      var div = L.DomUtil.create("div", "pm-box pm-info");
      L.DomEvent.disableClickPropagation(div);
      div.innerHTML = __INFO__;  // built and escaped in Python
      var select = L.DomUtil.create("select", "pm-zoom", div);
      var first = document.createElement("option");
      first.value = ""; first.textContent = T.zoom_to; select.appendChild(first);
      var all = document.createElement("option");
      all.value = "*"; all.textContent = T.all; select.appendChild(all);
      var bounds = {};
      communities.eachLayer(function (layer) {
        var name = layer.feature.properties.name;
        bounds[name] = layer.getBounds();
        var o = document.createElement("option");
        o.value = name; o.textContent = name; select.appendChild(o);
      });
      // communities the plots name but the run has no outline of: their plots' extent
      plots.eachLayer(function (layer) {
        var name = layer.feature.properties.community;
        if (!name || communities.getLayers().some(function (c) {
          return c.feature.properties.name === name; })) { return; }
        if (!bounds[name]) {
          bounds[name] = L.latLngBounds(layer.getBounds().getSouthWest(),
                                        layer.getBounds().getNorthEast());
          var o = document.createElement("option");
          o.value = name; o.textContent = name; select.appendChild(o);
        } else { bounds[name].extend(layer.getBounds()); }
      });
      select.onchange = function () {
        var every = communities.getLayers().length ? communities.getBounds() : plots.getBounds();
        var b = select.value === "*" ? every : bounds[select.value];
        if (b) { map.fitBounds(b, {padding: [20, 20]}); }
      };
      measureOut = L.DomUtil.create("div", "pm-measure-out", div);
      return div;
    }
  });
  new Info().addTo(map);

  var Footer = L.Control.extend({
    options: {position: "bottomleft"},
    onAdd: function () {
      var div = L.DomUtil.create("div", "pm-box pm-footer");
      div.innerHTML = __FOOTER__;  // built and escaped in Python
      return div;
    }
  });
  new Footer().addTo(map);
  // Metric only: the communities measure in metres and hectares.
  L.control.scale({position: "bottomleft", imperial: false, maxWidth: 160}).addTo(map);

  var all = L.featureGroup([communities, plots]).getBounds();
  if (all.isValid()) { map.fitBounds(plots.getBounds().isValid() ? plots.getBounds() : all,
                                     {padding: [10, 10]}); }
  window.pasturesMap = {map: map, plots: plots, communities: communities, groups: G};
})();
"""


#: On a phone the layer list starts folded behind its button (tap to open, tap the map to
#: close), so it does not cover the map; on a wider screen it stays open.
_PHONE_JS: Final = r"""
(function () {
  var ctl = __CONTROL__, map = ctl._map;
  if (!map || map.getSize().x >= 700) { return; }
  ctl._container.classList.remove("leaflet-control-layers-expanded");
  L.DomEvent.on(ctl._layersLink, "click", function (e) {
    L.DomEvent.preventDefault(e); ctl.expand();
  });
  map.on("click", function () { ctl.collapse(); });
})();
"""


def _verbatim(text: str) -> Any:
    """A page element whose text goes in as it is, never compiled as a Jinja2 template.

    branca compiles the text of every ``Element(text)`` as a template, and the output
    of every macro a second time, so a name holding ``{{ ... }}`` would run. Text that
    carries the run's names is therefore added through this element only.
    """
    from branca.element import Element

    class Verbatim(Element):
        def render(self, **kwargs: Any) -> str:
            return text

    return Verbatim()


def _script(code: str) -> Any:
    """A folium element that writes `code` verbatim into the page's script, in its turn."""
    from branca.element import MacroElement

    class VerbatimScript(MacroElement):
        def render(self, **kwargs: Any) -> None:
            self.get_root().script.add_child(_verbatim(code), name=self.get_name())

    return VerbatimScript()


def _stable_ids(root: Any, done: dict[int, str]) -> None:
    """Number the elements of the map in tree order instead of folium's random ids.

    The element ids become JavaScript variable names in the page; numbering them
    makes two builds of the same run byte-identical.
    """
    stack = [root]
    while stack:
        element = stack.pop(0)
        if id(element) not in done:
            element._id = f"{len(done):04d}"
            done[id(element)] = element._id
        stack.extend(element._children.values())


def _made_on() -> dt.date:
    """The date the map says it was made: ``SOURCE_DATE_EPOCH`` when set, else today.

    ``SOURCE_DATE_EPOCH`` (reproducible-builds.org) lets two builds of the same run
    write the same bytes.
    """
    from pastures.io import source_date_epoch

    epoch = source_date_epoch()
    return epoch.date() if epoch is not None else dt.date.today()


def _footer(run: O.RunOutputs, lang: Lang) -> str:
    """Provenance line: project, toolkit version, data date, when the map was made.

    Read from the run's ``provenance.json`` (format ``pastures-provenance/1``:
    ``software.pastures``, ``data_date``, ``project``) where there is one.
    """
    t = TEXT[lang]
    prov = run.provenance or {}
    software = prov.get("software")
    version = (software.get("pastures") if isinstance(software, dict) else None) or __version__
    parts = [str(prov["project"])] if prov.get("project") else []
    parts.append(f"{t['toolkit']} {version}")
    when = prov.get("data_date") or O.data_date(run)
    if when:
        parts.append(f"{t['data_date']} {_date_text(when)}")
    parts.append(f"{t['made']} {_made_on().isoformat()}")
    return esc(" · ".join(parts))


def run_text(run: O.RunOutputs, lang: Lang) -> dict[str, str]:
    """The page's words for this run: Juli's title for Juli, the study area's elsewhere.

    The illustrative note calls the data "the bundled sample" only when they are
    (:func:`pastures.outputs.study_area`); synthetic scenes are named as such.
    """
    t = dict(TEXT[lang])
    area = O.study_area(run)
    if not area.is_juli:
        t["title"] = t["title_area"].format(area.name)
        t["all"] = t["all_area"]
    if not area.bundled_sample:
        t["illustrative"] = t["illustrative_user"]
    if O.data_sources(run).imagery == "sample":
        t["true_colour"] = t["true_colour_sample"]
    return t


def _info(run: O.RunOutputs, lang: Lang) -> str:
    t = run_text(run, lang)
    out = f'<div class="pm-title">{esc(t["title"])}</div>'
    if run.illustrative:
        out += f'<div class="pm-warn">{esc(t["illustrative"])}</div>'
    said = O.missing_results(run)
    for key in said:
        out += f'<div class="pm-warn">{esc(t["missing_" + key])}</div>'
    juli = O.juli_defaults_of(run)
    if juli:
        out += f'<div class="pm-warn">{esc(t["juli_defaults"] + ", ".join(juli))}</div>'
    for stage, why in O.missing_stages(run).items():
        if any(key.startswith(stage) for key in said):  # said above, in its own words
            continue
        note = t["missing"].format(t[f"stage_{stage}"], why)
        out += f'<div class="pm-note">{esc(note)}</div>'
    return out


def build_web_map(run: O.RunOutputs, *, lang: Lang = "es", on: dt.date | None = None) -> str:
    """The HTML text of the field map of a run (see :func:`write_web_map`)."""
    import folium

    if lang not in LANGS:
        raise ParameterError(f"language {lang!r} is not offered; use one of {', '.join(LANGS)}.")
    t = run_text(run, lang)
    leaflet_js, leaflet_css = leaflet_assets()
    data = map_data(run, lang=lang, on=on)

    fmap = folium.Map(
        tiles=None, control_scale=False, zoom_start=12, prefer_canvas=False, location=[-16.3, -69.5]
    )
    fmap.default_js = []  # Leaflet is inlined below; jQuery/Bootstrap are not needed
    fmap.default_css = []
    root = fmap.get_root()
    verbatim = _verbatim
    root.header.add_child(verbatim(f"<style>{leaflet_css}</style>"), name="leaflet_css")
    root.header.add_child(verbatim(f"<style>{_CSS}</style>"), name="pastures_css")
    root.header.add_child(verbatim(f"<script>{leaflet_js}</script>"), name="leaflet_js")
    root.header.add_child(verbatim(f"<title>{esc(t['title'])}</title>"), name="title")
    folium.map.CustomPane("backdrop", z_index=150, pointer_events=False).add_to(fmap)
    folium.map.CustomPane("rasters", z_index=350, pointer_events=False).add_to(fmap)

    # backgrounds: base layers (one at a time); the data's own first
    rasters = run.rasters
    backgrounds = background_images(rasters)
    for k, (key, (url, bounds)) in enumerate(backgrounds.items()):
        folium.raster_layers.ImageOverlay(
            url,
            bounds,
            name=t[key],
            overlay=False,
            show=k == 0,
            pane="backdrop",
            pixelated=False,
        ).add_to(fmap)
    blank = folium.FeatureGroup(name=t["no_background"], overlay=False, show=not backgrounds)
    blank.add_to(fmap)
    folium.TileLayer("OpenStreetMap", name=t["osm"], overlay=False, show=False).add_to(fmap)
    folium.TileLayer(
        "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}",
        attr="Esri, Maxar, Earthstar Geographics",
        name=t["esri"],
        overlay=False,
        show=False,
        max_zoom=18,
    ).add_to(fmap)

    # raster overlays (off at start)
    groups: dict[str, Any] = {}  # key -> folium element (named once the ids are numbered)
    overlays = (("soil_loss", _soil_loss_image), ("risk_class", _risk_image))
    for key, make in overlays:
        if key in rasters:
            url, bounds = make(rasters[key])
            name = t["soil_loss"] if key == "soil_loss" else t["risk_raster"]
            layer = folium.raster_layers.ImageOverlay(
                url,
                bounds,
                name=name,
                show=False,
                pane="rasters",
                opacity=0.8,
            ).add_to(fmap)
            groups["soil_loss" if key == "soil_loss" else "risk_raster"] = layer

    present = {
        "communities": bool(data["communities"]["features"]),
        "plots": bool(data["plots"]["features"]),
        "rotation": bool(data["plots"]["features"]) and data["has_schedule"],
        "corrals": bool(data["corrals"]["features"]),
        "water": bool(data["water"]["features"]),
    }
    for key, show in (
        ("communities", True),
        ("plots", True),
        ("rotation", False),
        ("corrals", True),
        ("water", True),
    ):
        if not present[key]:
            continue
        group = folium.FeatureGroup(name=t[key], show=show).add_to(fmap)
        groups[key] = group

    numbered: dict[int, str] = {}
    _stable_ids(root, numbered)
    fill = {
        "MAP": fmap.get_name(),
        "GROUPS": "{" + ",".join(f"{k}:{v.get_name()}" for k, v in groups.items()) + "}",
        "INFO": json_for_script(_info(run, lang)),
        "FOOTER": json_for_script(_footer(run, lang)),
        "DATA": json_for_script(data),
    }
    # one pass, so a name in the data that reads like a placeholder is never filled
    script = re.sub(r"__(MAP|GROUPS|INFO|FOOTER|DATA)__", lambda m: fill[m.group(1)], _JS)
    fmap.add_child(_script(script))
    control = folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    _stable_ids(root, numbered)
    fmap.add_child(_script(_PHONE_JS.replace("__CONTROL__", control.get_name())))
    page = root.render()
    return _set_lang(page, lang)


def _set_lang(page: str, lang: Lang) -> str:
    return page.replace("<html>", f'<html lang="{lang}">', 1)


def write_web_map(
    run_folder: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    lang: Lang = "es",
    on: dt.date | None = None,
) -> Path:
    """Write the self-contained field map of a run folder to one HTML file.

    The file opens with no network: Leaflet is inlined from the installed
    ``XStatic-Leaflet``, the rasters are embedded as PNG data URIs, and the
    background is the run's own true-colour composite and DEM hillshade. It holds
    the communities (labelled), the plots coloured by a variable chosen in the map
    (latest NDVI, NDVI anomaly, trend, range condition, stocking against capacity,
    erosion risk), corrals and water points, the rotation of this week and next,
    the soil-loss and risk rasters, and per-plot popups with the NDVI series.

    Parameters
    ----------
    run_folder
        Output folder of ``pastures demo`` or ``pastures run``.
    dest
        The HTML file to write (written atomically: a failed build leaves no file).
    lang
        ``"es"`` (default) or ``"en"``.
    on
        The date "this week" refers to; by default the first day of the rotation plan.

    Returns
    -------
    Path
        `dest`.

    Raises
    ------
    InputFileError
        The run folder or one of its outputs cannot be read.
    MissingDependencyError
        ``XStatic-Leaflet`` is not installed.
    """
    run = O.read_run(run_folder)
    page = build_web_map(run, lang=lang, on=on)
    out = Path(dest)
    with atomic_output(out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    logger.debug("web map: %s (%.1f MB)", out, out.stat().st_size / 1e6)
    return out
