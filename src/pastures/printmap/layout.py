"""Layout of a printed sheet: paper, page geometry, text measures, map frame, scale, grid.

Every length is in millimetres on the page (A4 lengths scaled by ``_Page.k`` on
larger paper); every font size is in points at the printed size.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
import shapely
from shapely.geometry import box

from pastures.defaults import PAPER_MM, Lang
from pastures.errors import MissingDependencyError
from pastures.i18n import gettext_for, translator

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


#: Round scale denominators the maps are drawn at (the smallest that fits is used).
NICE_SCALES: Final = (
    2_500, 5_000, 7_500, 10_000, 12_500, 15_000, 20_000, 25_000, 30_000, 40_000,
    50_000, 60_000, 75_000, 100_000, 125_000, 150_000, 200_000, 250_000, 500_000,
)  # fmt: skip


#: UTM grid spacings tried, m.
GRID_STEPS_M: Final = (100, 200, 250, 500, 1_000, 2_000, 2_500, 5_000, 10_000, 20_000)


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


MM_PER_INCH: Final = 25.4


PT_PER_MM: Final = 72.0 / MM_PER_INCH


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
    "pdf.compression": 6,  # zlib level: 9 wrote 0.3 % smaller pages 5 % slower
    "axes.unicode_minus": True,
    "svg.fonttype": "none",
}


@contextlib.contextmanager
def shared_text_metrics() -> Iterator[None]:
    """Within: the PDF renderer shapes each text once per process, not once per page.

    matplotlib keeps the sizes of the texts it lays out per renderer, and a PDF page
    gets a renderer of its own, so every page measured its legends, month names and
    plot codes again, then shaped them again to write them (FreeType and HarfBuzz,
    about 0.6 ms a text: most of a sheet's text cost). A PDF renderer's measure and
    glyph layout depend only on the text, the font file and its size (72 dpi,
    unhinted), so one cache serves every page; the glyphs written are the same.
    Mathtext, TeX and the 14 core fonts go as before.

    Then the text's glyph operators (``BT ... ET``, relative to the text's own origin)
    are written once per PDF file and copied for every later text of the same string,
    font and size in that file (:func:`_text_operators`): about four texts in five of
    an atlas repeat (legend, month names, headings, calendar cells), and writing the
    glyphs one by one was most of what a text cost.
    """
    from matplotlib.backends import backend_pdf

    renderer = backend_pdf.RendererPdf
    if getattr(renderer.draw_text, "shared_text_layout", False):  # within another: reuse it
        yield
        return
    if not hasattr(getattr(backend_pdf, "_text_helpers", None), "layout"):
        yield  # a matplotlib without this layout helper: draw as it does, uncached
        return
    measure, draw_text = renderer.get_text_width_height_descent, renderer.draw_text
    helpers = backend_pdf._text_helpers
    sizes: dict[tuple[Any, ...], tuple[float, float, float]] = {}
    layouts: dict[tuple[Any, ...], list[Any]] = {}
    size_now: list[float] = [0.0]

    def measure_once(self: Any, s: str, prop: Any, ismath: Any) -> tuple[float, float, float]:
        if ismath or mpl_rc("pdf.use14corefonts"):
            return measure(self, s, prop, ismath)
        key = (s, tuple(prop.get_family()), prop.get_style(), prop.get_variant(),
               prop.get_weight(), prop.get_stretch(), prop.get_size_in_points(),
               prop.get_file())  # fmt: skip
        if (found := sizes.get(key)) is None:
            found = sizes[key] = measure(self, s, prop, ismath)
        return found

    operators = _text_operators(backend_pdf)

    def draw_text_sized(self: Any, *args: Any, **kw: Any) -> Any:
        # (gc, x, y, s, prop, angle, ...): the layout below is keyed by the font's size
        size_now[0] = args[4].get_size_in_points()
        return operators(draw_text, self, *args, **kw)

    draw_text_sized.shared_text_layout = True  # type: ignore[attr-defined]

    def layout_once(string: str, font: Any, **options: Any) -> Any:
        # the options differ between matplotlib releases (kern_mode; features, language):
        # passed on as given and part of the key
        key = (string, font.fname, font.face_index, size_now[0], repr(sorted(options.items())))
        if (found := layouts.get(key)) is None:
            found = layouts[key] = list(helpers.layout(string, font, **options))
        return found

    renderer.get_text_width_height_descent = measure_once  # type: ignore[method-assign]
    renderer.draw_text = draw_text_sized  # type: ignore[method-assign]
    backend_pdf._text_helpers = SimpleNamespace(layout=layout_once)  # type: ignore[assignment]
    try:
        yield
    finally:
        renderer.get_text_width_height_descent = measure  # type: ignore[method-assign]
        renderer.draw_text = draw_text  # type: ignore[method-assign]
        backend_pdf._text_helpers = helpers


def _text_operators(backend_pdf: Any) -> Any:
    """A ``draw_text`` step that writes a text's glyph operators once per PDF file.

    matplotlib writes a text as ``q``, a matrix to its place and angle (``cm``), the
    glyphs between ``BT`` and ``ET`` (relative to that origin: the same bytes wherever
    the text goes), ``Q``. The first text of a string, font and size in a file is drawn
    by matplotlib and its glyph operators kept (the glyphs are then in the file's
    subset fonts); later ones write the matrix and those bytes. Anything that is not
    that plain shape (mathtext, links, the 14 core fonts, another matplotlib's
    operators) is drawn by matplotlib every time.
    """
    import weakref

    op = getattr(backend_pdf, "Op", None)
    if op is None or not all(hasattr(op, n) for n in ("gsave", "grestore", "concat_matrix")):
        return lambda draw_text, self, *args, **kw: draw_text(self, *args, **kw)
    per_file: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], bytes | None]]
    per_file = weakref.WeakKeyDictionary()

    def draw(draw_text: Any, self: Any, *args: Any, **kw: Any) -> Any:
        # RendererPdf.draw_text(gc, x, y, s, prop, angle, ismath=False, mtext=None)
        gc, x, y, s, prop, angle, ismath, mtext = _draw_text_args(*args, **kw)
        if ismath or gc.get_url() is not None or mpl_rc("pdf.use14corefonts"):
            return draw_text(self, gc, x, y, s, prop, angle, ismath, mtext)
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        key = (s, tuple(prop.get_family()), prop.get_style(), prop.get_variant(),
               prop.get_weight(), prop.get_stretch(), prop.get_size_in_points(),
               prop.get_file(), repr(features), repr(language), mpl_rc("pdf.fonttype"),
               tuple(mpl_rc("font.sans-serif")), tuple(mpl_rc("font.family")))  # fmt: skip
        try:
            cache = per_file.setdefault(self.file, {})
        except TypeError:  # a file that cannot be weakly referenced: no cache
            return draw_text(self, gc, x, y, s, prop, angle, ismath, mtext)
        body = cache.get(key)
        if body is not None:
            self.check_gc(gc, gc._rgb)
            a = math.radians(angle)
            self.file.output(op.gsave)
            self.file.output(math.cos(a), math.sin(a), -math.sin(a), math.cos(a), x, y,
                             op.concat_matrix)  # fmt: skip
            self.file.write(body)
            self.file.output(op.grestore)
            return None
        if key in cache:  # seen and not of the plain shape: as matplotlib draws it
            return draw_text(self, gc, x, y, s, prop, angle, ismath, mtext)
        self.check_gc(gc, gc._rgb)  # the colour and alpha before, outside the bytes kept
        written: list[bytes] = []
        write = self.file.write

        def keep(data: bytes) -> None:
            written.append(bytes(data))
            write(data)

        self.file.write = keep
        try:
            result = draw_text(self, gc, x, y, s, prop, angle, ismath, mtext)
        finally:
            del self.file.write
        cache[key] = _glyph_operators(b"".join(written))
        return result

    return draw


def _draw_text_args(  # noqa: PLR0917 - the signature of matplotlib's draw_text
    gc: Any, x: float, y: float, s: str, prop: Any, angle: float,
    ismath: Any = False, mtext: Any = None,
) -> tuple[Any, float, float, str, Any, float, Any, Any]:  # fmt: skip
    """The arguments of ``RendererPdf.draw_text``, however they were passed."""
    return gc, x, y, s, prop, angle, ismath, mtext


def _glyph_operators(written: bytes) -> bytes | None:
    """The ``BT ... ET`` part of a text matplotlib wrote as ``q``, ``cm``, ``BT...ET``, ``Q``.

    None when `written` is not of that shape.
    """
    if not (written.startswith(b"q\n") and written.endswith(b"ET\nQ\n")):
        return None
    end_cm = written.find(b" cm\n")
    if end_cm < 0 or b"\n" in written[2:end_cm]:
        return None
    body = written[end_cm + 4 : -2]
    if not body.startswith(b"BT\n") or body.count(b"BT\n") != 1:
        return None
    return body


def mpl_rc(name: str) -> Any:
    """The current matplotlib setting `name`."""
    import matplotlib as mpl

    return mpl.rcParams[name]


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


#: Where the drawings of the page's panels go among the figure's artists: under the
#: map (an axes, zorder 0); their own zorders keep their order among themselves.
PAGE_ZORDER: Final = -1.0


class _Panel:
    """A rectangle of the page in mm from its top-left corner.

    Title, footer, legend, status panel and calendar each used to be an axes of their
    own, then shifted onto one axes spanning the page; an axes costs about 15 ms to
    make and to draw. A panel draws its artists straight on the figure in mm from the
    page's top-left corner (see :func:`_page_transform`), with the same calls
    (``text``, ``plot``, ``add_patch``...): lines and patches under the map
    (:data:`PAGE_ZORDER`), texts above it.
    """

    def __init__(self, fig: Figure, page: _Page, rect: tuple[float, float, float, float]) -> None:
        from matplotlib.transforms import Affine2D

        x, top, w, h = rect
        self.figure = fig
        self.x, self.top = x, top
        self.width, self.height = w, h
        self.page_transform = _page_transform(fig, page)
        self.transform = Affine2D().translate(x, top) + self.page_transform

    def get_xlim(self) -> tuple[float, float]:
        return 0.0, self.width

    def text(self, x: float, y: float, s: str, **kw: Any) -> None:
        """Text `s` at (`x`, `y`) mm in the panel (keywords as :class:`matplotlib.text.Text`).

        Plain texts go to the page's :class:`~pastures.printmap.pagetext.PageText`;
        one with a box (or anything more) is a ``Text`` of its own.
        """
        from matplotlib.text import Text

        from pastures.printmap.pagetext import is_plain, page_text

        if is_plain(s, kw):
            page_text(self.figure, self.page_transform).add(x + self.x, y + self.top, s, **kw)
        else:
            self.figure.add_artist(Text(x, y, s, transform=self.transform, **kw))

    def plot(self, x: Any, y: Any, **kw: Any) -> Any:
        """A line (or markers) through `x`, `y`: keywords as :class:`matplotlib.lines.Line2D`."""
        from matplotlib.lines import Line2D

        return self.add_artist(Line2D(np.atleast_1d(x), np.atleast_1d(y), **kw))

    def add_patch(self, artist: Any) -> Any:
        artist.set_transform(self.transform)
        artist.set_zorder(PAGE_ZORDER + artist.get_zorder() / 1000)
        return self.figure.add_artist(artist)

    add_line = add_patch
    add_artist = add_patch


def _page_transform(fig: Figure, page: _Page) -> Any:
    """Millimetres from the page's top-left corner to the figure's pixels."""
    from matplotlib.transforms import Affine2D

    return Affine2D().scale(1 / page.width, -1 / page.height).translate(0, 1) + fig.transFigure


def _axes_mm(fig: Figure, page: _Page, rect: tuple[float, float, float, float]) -> Any:
    """A panel at rect = (x, top, w, h) mm from the page's top-left corner, in mm coordinates."""
    return _Panel(fig, page, rect)


@functools.lru_cache(maxsize=32_768)
def _text_width_mm(text: str, size_pt: float, *, bold: bool = False) -> float:
    """Width of `text` set in DejaVu Sans at `size_pt`, mm: the advance matplotlib lays out.

    From the font's advance widths (FreeType, unhinted), as matplotlib's own text layout
    measures a line; building the glyph outlines to measure them took 13 ms a call.
    """
    from matplotlib.font_manager import FontProperties

    if not text:
        return 0.0
    prop = FontProperties(family=FONT, weight="bold" if bold else "normal", size=size_pt)
    width, _height, _descent = _text_to_path().get_text_width_height_descent(
        text, prop, ismath=False
    )
    return float(width) / PT_PER_MM


@functools.cache
def _text_to_path() -> Any:
    from matplotlib.textpath import TextToPath

    return TextToPath()


def _wrap(text: str, width_mm: float, size_pt: float) -> list[str]:
    """Wrap `text` into lines no wider than `width_mm` at `size_pt`."""
    char_mm = _text_width_mm("abcdefghij klmnopqrstuvwxyz", size_pt) / 27.0
    chars = max(8, int(0.95 * width_mm / char_mm))  # 5 % for capitals and wide glyphs
    lines: list[str] = []
    for para in text.split("|"):
        lines.extend(textwrap.wrap(para, chars) or [""])
    return lines


def _swatch(ax: _Panel, rect: tuple[float, float, float, float], style: dict[str, str]) -> None:
    x, y, w, h = rect
    from matplotlib.patches import Rectangle

    ax.add_patch(
        Rectangle(
            (x, y), w, h, facecolor=style["face"], edgecolor="black", hatch=style["hatch"], lw=0.8
        )
    )


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


def _utm_grid(ax: Axes, page: _Page, frame: _Frame) -> int:
    """Grid lines every round number of metres with coordinates outside the frame."""
    from matplotlib.lines import Line2D

    xmin, ymin, xmax, ymax = frame.extent
    step = grid_step(xmax - xmin)
    size = page.pt(7.5)
    # No coordinate within 8 mm of a corner, where the two axes' labels would meet.
    clear = 8 * page.k * frame.m_per_mm()
    xs = np.arange(math.ceil((xmin + clear) / step) * step, xmax - clear / 2, step)
    ys = np.arange(math.ceil((ymin + clear) / step) * step, ymax - clear, step)
    # the grid lines as one artist (an axvline each took about 1.5 ms to make and draw)
    gap = [np.nan]
    grid_x = [v for x in xs for v in (x, x, *gap)] + [v for y in ys for v in (xmin, xmax, *gap)]
    grid_y = [v for x in xs for v in (ymin, ymax, *gap)] + [v for y in ys for v in (y, y, *gap)]
    ax.add_artist(Line2D(grid_x, grid_y, color="0.35", lw=0.35 * page.k, zorder=1))
    gap = 2.5 * page.k / PT_PER_MM  # 2.5 points off the frame
    for x in xs:
        _map_text(ax, page, frame, (x, ymin), f"{x:,.0f}".replace(",", " "), dy_mm=gap,
                  ha="center", va="top", fontsize=size)  # fmt: skip
    for y in ys:
        _map_text(ax, page, frame, (xmin, y), f"{y:,.0f}".replace(",", " "), dx_mm=-gap,
                  ha="right", va="center", rotation=90, fontsize=size)  # fmt: skip
    return step


def _map_text(
    ax: Axes, page: _Page, frame: _Frame, xy: tuple[float, float], s: str,
    *, dx_mm: float = 0.0, dy_mm: float = 0.0, **kw: Any,
) -> None:  # fmt: skip
    """Text `s` at map point `xy` (m), moved (`dx_mm`, `dy_mm`) on the page, over the map.

    Drawn with the page's panel texts (:class:`~pastures.printmap.pagetext.PageText`,
    above the map's drawing, unclipped), not as an artist of the map: the map's labels,
    grid coordinates and scale are plain texts. Keywords as :class:`matplotlib.text.Text`.
    """
    from pastures.printmap.pagetext import is_plain, page_text

    mpm = frame.m_per_mm()
    x, y = xy
    xmin, _ymin, _xmax, ymax = frame.extent
    at = (frame.x + (x - xmin) / mpm + dx_mm, frame.top + (ymax - y) / mpm + dy_mm)
    fig = ax.figure
    if is_plain(s, kw):
        page_text(fig, _page_transform(fig, page)).add(*at, s, **kw)
    else:
        _Panel(fig, page, (0.0, 0.0, page.width, page.height)).text(*at, s, **kw)


def _north_and_scale(ax: Axes, page: _Page, frame: _Frame, lang: Lang) -> None:
    """North arrow (top right) and a graphic scale bar (bottom left) inside the map."""
    from matplotlib.patches import FancyArrow, Rectangle

    _ = gettext_for(lang)
    pgettext = translator(lang).pgettext
    xmin, ymin, xmax, ymax = frame.extent
    mpm = frame.m_per_mm()
    k = page.k
    # North arrow: grid north. Where true north is NORTH_NOTE_DEG or more off it (see
    # true_north_offset) the sheet's notes say by how much and which way.
    ax_x, ax_y = xmax - 9 * k * mpm, ymax - 20 * k * mpm
    # added as artists, not patches: the map's limits are fixed (no data limits to update)
    ax.add_artist(
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
    ax.add_artist(
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
    north = pgettext("north arrow", "N")
    _map_text(ax, page, frame, (ax_x, ax_y + 12 * k * mpm), north, ha="center", va="bottom",
              fontsize=page.pt(11), weight="bold")  # fmt: skip
    # Scale bar: four alternating segments.
    length = scale_bar_length(xmax - xmin)
    x0, y0 = xmin + 6 * k * mpm, ymin + 9 * k * mpm
    bar_h = 1.8 * k * mpm
    scale_text = _("Scale 1:{denominator} (when printed at 100 %)").format(
        denominator=f"{frame.scale:,}".replace(",", " ")
    )
    box_w = max(length + 20 * k * mpm, (_text_width_mm(scale_text, page.pt(8)) + 6 * k) * mpm)
    _map_text(ax, page, frame, (x0, y0 - 1.5 * k * mpm), scale_text, fontsize=page.pt(8), va="top")
    ax.add_artist(
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
        ax.add_artist(
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
        _map_text(
            ax, page, frame, (x0 + length * frac, y0 + bar_h + 1.2 * k * mpm), label,
            ha="center" if frac < 1 else "left", va="bottom", fontsize=page.pt(8),
        )  # fmt: skip


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


def _box_patch(x: float, y: float, w: float, h: float) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor="white", edgecolor="black", lw=0.7, zorder=8.5)
