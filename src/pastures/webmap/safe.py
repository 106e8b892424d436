"""Text and data that are safe to put in the page: escaped HTML and script-proof JSON."""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any, Final

import pandas as pd

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
