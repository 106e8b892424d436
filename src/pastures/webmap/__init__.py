"""A self-contained web map of a run, for technicians in the field without internet.

:func:`write_web_map` turns the output folder of a run into ONE HTML file that
opens in any browser with no network, on a laptop or a phone. The package is split
by what the page is made of:

``data``
    what the map draws, as compact JSON (plots, popups, the whole rotation plan);
``style``
    colour ramps and legends; ``rasters``: images warped to Web Mercator;
``words``
    the page's words, in English, translated with gettext into the project's language;
``safe``
    escaping of every text from the data (a name such as ``<img src=x onerror=...>``
    shows as text and runs nothing);
``page``
    the HTML assembly; ``map.js`` and ``map.css``: the page's own script and style,
    real files read from the package and inlined.
"""

from __future__ import annotations

from pastures.webmap.data import map_data, popup_rows
from pastures.webmap.page import build_web_map, leaflet_assets, write_web_map
from pastures.webmap.rasters import background_images, classes_rgba, png_bytes
from pastures.webmap.safe import esc, json_for_script
from pastures.webmap.style import ROTATION_COLOURS, VIRIDIS_5, YLORRD_4
from pastures.webmap.words import run_text

__all__ = [
    "ROTATION_COLOURS",
    "VIRIDIS_5",
    "YLORRD_4",
    "background_images",
    "build_web_map",
    "classes_rgba",
    "esc",
    "json_for_script",
    "leaflet_assets",
    "map_data",
    "png_bytes",
    "popup_rows",
    "run_text",
    "write_web_map",
]
