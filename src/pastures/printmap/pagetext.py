"""The plain texts of a page's panels, drawn by one artist with matplotlib's own layout.

A sheet has about a hundred texts (legend, status panel, calendar, headings), most
of them the same on every sheet. As :class:`matplotlib.text.Text` artists each cost
more to make and to lay out (fonts looked up, lines measured, the box aligned) than
to write. :class:`PageText` keeps them as (place, string, style) and lays each string
and style out once per process, with a :class:`~matplotlib.text.Text` of that string
and style (so the lines go where matplotlib puts them), then writes every text through
the renderer's ``draw_text``, as ``Text.draw`` does: the same glyphs at the same
places. A text with anything more (a box, mathtext, TeX) stays a ``Text``; and if this
matplotlib's ``Text`` does not lay out as expected, each text is drawn as a ``Text``.
"""

from __future__ import annotations

import weakref
from typing import Any, Final

import numpy as np
from matplotlib import colors as mcolors
from matplotlib import rcParams
from matplotlib.artist import Artist
from matplotlib.text import Text

#: Keywords of a text :class:`PageText` draws; a text with any other stays a ``Text``.
PLAIN_KEYWORDS: Final = frozenset(
    {"fontsize", "weight", "style", "ha", "va", "linespacing", "color", "rotation"}
)


#: Layouts kept at most (a process drawing many atlases starts again past it).
MAX_LAYOUTS: Final = 50_000


#: The lines of each string and style as matplotlib lays them out, keyed by string,
#: style, dpi, renderer and font settings: font properties, angle and, per line, its
#: text and offset (pixels) from the text's anchor.
_LAYOUTS: dict[tuple[Any, ...], tuple[Any, float, list[tuple[str, float, float]]] | None] = {}


def is_plain(s: str, kw: dict[str, Any]) -> bool:
    """Whether :class:`PageText` draws text `s` with keywords `kw` (else it is a ``Text``)."""
    return (
        set(kw) <= PLAIN_KEYWORDS
        and "$" not in s  # mathtext
        and not rcParams["text.usetex"]
        and rcParams.get("text.language") is None  # drawn without a Text to ask
        and bool(s)
    )


class PageText(Artist):
    """Plain texts in one coordinate system (a page's mm), drawn as ``Text`` draws them.

    Its zorder is a ``Text``'s (3): the texts are drawn where the ``Text`` artists
    they replace were, above the map and the panels' lines and patches.
    """

    zorder = 3

    def __init__(self, transform: Any) -> None:
        super().__init__()
        self.set_transform(transform)
        self._texts: list[tuple[float, float, str, dict[str, Any], tuple[Any, ...]]] = []

    def add(self, x: float, y: float, s: str, **kw: Any) -> None:
        """Add text `s` at (`x`, `y`) with ``Text`` keywords `kw` (see :func:`is_plain`)."""
        style = tuple(sorted((k, v) for k, v in kw.items() if k != "color"))
        self._texts.append((float(x), float(y), s, kw, style))
        self.stale = True

    def draw(self, renderer: Any) -> None:
        """Write every text through ``renderer.draw_text``, line by line, as ``Text.draw``."""
        if not self.get_visible() or not self._texts:
            return
        renderer.open_group("text", self.get_gid())
        points = self.get_transform().transform(
            np.array([(x, y) for x, y, *_ in self._texts], dtype=float)
        )
        _width, height = renderer.get_canvas_width_height()
        flip = renderer.flipy()
        gc = renderer.new_gc()
        gc.set_antialiased(rcParams["text.antialiased"])
        for (x, y, s, kw, style), (px, py) in zip(self._texts, points, strict=True):
            laid = self._layout(renderer, s, kw, style)
            if laid is None or not (np.isfinite(px) and np.isfinite(py)):
                self._as_text(renderer, x, y, s, kw)
                continue
            prop, angle, lines = laid
            gc.set_foreground(mcolors.to_rgba(kw.get("color", rcParams["text.color"])), True)
            for line, dx, dy in lines:
                ly = py + dy
                renderer.draw_text(
                    gc, px + dx, height - ly if flip else ly, line, prop, angle,
                    ismath=False, mtext=None,
                )  # fmt: skip
        gc.restore()
        renderer.close_group("text")
        self.stale = False

    def _layout(
        self, renderer: Any, s: str, kw: dict[str, Any], style: tuple[Any, ...]
    ) -> tuple[Any, float, list[tuple[str, float, float]]] | None:
        """Font, angle and lines of `s` as a ``Text`` with `kw` lays them out here."""
        figure = self.get_figure()
        inner = getattr(renderer, "_renderer", renderer)
        key = (
            s, style, getattr(figure, "dpi", None), type(inner).__qualname__,
            getattr(inner, "dpi", None), tuple(rcParams["font.family"]),
            tuple(rcParams["font.sans-serif"]), rcParams["font.size"],
            rcParams["text.parse_math"], rcParams["text.hinting"],
        )  # fmt: skip
        if key in _LAYOUTS:
            return _LAYOUTS[key]
        if len(_LAYOUTS) >= MAX_LAYOUTS:
            _LAYOUTS.clear()
        _LAYOUTS[key] = laid = _text_layout(figure, renderer, s, kw)
        return laid

    def _as_text(self, renderer: Any, x: float, y: float, s: str, kw: dict[str, Any]) -> None:
        text = Text(x, y, s, transform=self.get_transform(), **kw)
        text.set_figure(self.get_figure())
        text.draw(renderer)


def _text_layout(
    figure: Any, renderer: Any, s: str, kw: dict[str, Any]
) -> tuple[Any, float, list[tuple[str, float, float]]] | None:
    """Font, angle and lines (string, offset from the anchor) of a ``Text`` of `s` and `kw`.

    None when this matplotlib's ``Text`` does not give its layout as expected (then
    the text is drawn as a ``Text``) or would draw a line as mathtext.
    """
    proto = Text(0.0, 0.0, s, **kw)
    proto.set_figure(figure)
    try:
        _bbox, info, _descent = proto._get_layout(renderer)
        lines = []
        for line, _wad, (dx, dy) in info:
            clean, ismath = proto._preprocess_math(line)
            if ismath or clean != line:
                return None
            lines.append((str(line), float(dx), float(dy)))
    except (AttributeError, TypeError, ValueError):
        return None
    return proto.get_fontproperties(), float(proto.get_rotation()), lines


#: The :class:`PageText` of each figure (its texts in page mm).
_PAGE_TEXTS: weakref.WeakKeyDictionary[Any, PageText] = weakref.WeakKeyDictionary()


def page_text(figure: Any, transform: Any) -> PageText:
    """The :class:`PageText` of `figure` (made and added on first use), in `transform`."""
    found = _PAGE_TEXTS.get(figure)
    if found is None:
        found = _PAGE_TEXTS[figure] = PageText(transform)
        figure.add_artist(found)
    return found
