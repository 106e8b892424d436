"""The page: one self-contained HTML file, Leaflet and the map's own script inlined.

Leaflet's JavaScript and CSS are read from the installed ``XStatic-Leaflet``
package and inlined (folium's CDN links are dropped); the map's own script and
style are the package files ``map.js`` and ``map.css``, read with
:mod:`importlib.resources` and inlined too, so the file opens with no network.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.resources
import logging
import os
import re
from pathlib import Path
from typing import Any

from pastures import __version__
from pastures import outputs as O
from pastures.defaults import LANGS, Lang
from pastures.errors import MissingDependencyError, ParameterError
from pastures.i18n import format_date
from pastures.io import atomic_output
from pastures.webmap.data import _date_text, map_data
from pastures.webmap.rasters import _risk_image, _soil_loss_image, background_images
from pastures.webmap.safe import esc, json_for_script
from pastures.webmap.words import run_text

logger = logging.getLogger(__name__)


def static_text(name: str) -> str:
    """The text of a static file of the map (``map.js``, ``map.css``) shipped in the package."""
    text = importlib.resources.files("pastures.webmap").joinpath(name).read_text(encoding="utf-8")
    if "</script" in text.lower() or "</style" in text.lower():  # pragma: no cover - our files
        raise MissingDependencyError(f"pastures/webmap/{name} holds a closing tag.")
    return text


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
    t = run_text(run, lang)
    prov = run.provenance or {}
    software = prov.get("software")
    version = (software.get("pastures") if isinstance(software, dict) else None) or __version__
    parts = [str(prov["project"])] if prov.get("project") else []
    parts.append(f"{t['toolkit']} {version}")
    when = prov.get("data_date") or O.data_date(run)
    if when:
        parts.append(f"{t['data_date']} {_date_text(when, lang)}")
    parts.append(f"{t['made']} {format_date(_made_on(), lang)}")
    return esc(" · ".join(parts))


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
        note = t["missing"].format(stage=t[f"stage_{stage}"], why=why)
        out += f'<div class="pm-note">{esc(note)}</div>'
    return out


#: folium's viewport forbids pinch zoom (``user-scalable=no``); a technician who cannot
#: read a value must be able to zoom the page.
_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>')
VIEWPORT_META = '<meta name="viewport" content="width=device-width, initial-scale=1.0" />'


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
    root.header.add_child(verbatim(f"<style>{static_text('map.css')}</style>"), name="pm_css")
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
    groups: dict[str, Any] = {}  # key -> folium element (named once the ids are numbered)
    groups["osm"] = folium.TileLayer(
        "OpenStreetMap", name=t["osm"], overlay=False, show=False
    ).add_to(fmap)
    groups["esri"] = folium.TileLayer(
        "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}",
        attr="Esri, Maxar, Earthstar Geographics",
        name=t["esri"],
        overlay=False,
        show=False,
        max_zoom=18,
    ).add_to(fmap)

    # raster overlays (off at start)
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

    has_plots = bool(data["plots"]["features"])
    has_plan = has_plots and data["plan"] is not None
    present = {
        "communities": bool(data["communities"]["features"]),
        "plots": has_plots,
        "rotation": has_plan,
        "plot_codes": has_plots,
        "corrals": bool(data["corrals"]["features"]),
        "water": bool(data["water"]["features"]),
    }
    # With a plan, the plots show the rotation of the day; choosing a variable in the
    # legend switches to it.
    for key, show in (
        ("communities", True),
        ("plots", not has_plan),
        ("rotation", True),
        ("plot_codes", True),
        ("corrals", True),
        ("water", True),
    ):
        if not present[key]:
            continue
        group = folium.FeatureGroup(name=t[key], show=show).add_to(fmap)
        groups[key] = group

    control = folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    numbered: dict[int, str] = {}
    _stable_ids(root, numbered)
    config = (
        "var PASTURES = {"
        f"map: {fmap.get_name()}, control: {control.get_name()}, "
        "layers: {" + ", ".join(f"{k}: {v.get_name()}" for k, v in groups.items()) + "}, "
        f"info: {json_for_script(_info(run, lang))}, "
        f"footer: {json_for_script(_footer(run, lang))}, "
        f"data: {json_for_script(data)}"
        "};\n"
    )
    fmap.add_child(_script(config + static_text("map.js")))
    _stable_ids(root, numbered)
    page = root.render()
    page = _VIEWPORT.sub(VIEWPORT_META, page, count=1)
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
    ``XStatic-Leaflet``, the rasters are embedded as data URIs (WebP backgrounds, PNG
    classes), and the background is the run's own true-colour composite and DEM
    hillshade. It holds
    the communities (labelled), the plots coloured by a variable chosen in the map
    (latest NDVI, NDVI anomaly, trend, range condition, stocking against capacity,
    erosion risk) and labelled with their codes where they fit, corrals and water
    points, the whole rotation plan (read for the day the map is opened: who grazes
    each plot now and next, with heads and families, and when it rests), the
    soil-loss and risk rasters, per-plot popups with the NDVI series, and a "my
    location" control that names the plot the phone stands in.

    Parameters
    ----------
    run_folder
        Output folder of ``pastures demo`` or ``pastures run``.
    dest
        The HTML file to write (written atomically: a failed build leaves no file).
    lang
        ``"es"`` (default) or ``"en"``.
    on
        A fixed date to read the rotation for (e.g. to print the map); by default the
        page reads it for the day it is opened, on the device's clock.

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
