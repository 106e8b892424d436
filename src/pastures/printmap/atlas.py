"""The atlas as files: pages drawn (in worker processes), written, split per community."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import multiprocessing
import os
import re
import unicodedata
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pastures.defaults import LANGS, PAPER_MM, Lang
from pastures.errors import OutputError, ParameterError
from pastures.i18n import _ as cli_gettext
from pastures.io import atomic_output, source_date_epoch
from pastures.outputs import (
    data_date,
    read_run,
)
from pastures.printmap.context import _community_names, _Context, _make_context
from pastures.printmap.layout import (
    RC,
    Paper,
    _require_matplotlib,
    font_families,
    shared_text_metrics,
)
from pastures.printmap.sheets import _community_sheet, _cover, _overview, _plan
from pastures.printmap.words import _warn_missing_glyphs, community_title, gettext_of, isolate_bidi

if TYPE_CHECKING:
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)


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
    logger.info(
        cli_gettext("sheet {page}/{count}: {community}").format(
            page=page - 1, count=len(ctx.sheets), community=sheet.community
        )
    )
    return _community_sheet(ctx, sheet, page + 1)


def _save_page(pdf: Any, fig: Figure) -> None:
    """Add `fig` to the PDF, its images at the figure's dpi (see ``background_dpi``)."""
    pdf.savefig(fig, dpi=fig.dpi)


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
            _save_page(pdf, _draw_page(ctx, names, page))
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
                    _save_page(pdf, _draw_page(ctx, names, page))
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
    _ = gettext_of(lang)
    meta: dict[str, Any] = {
        "Title": f"{_('Grazing plot maps')} — {ctx.labels.area}",
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
    with (
        mpl.rc_context({**RC, "font.sans-serif": families}),
        shared_text_metrics(),
        warnings.catch_warnings(),
    ):
        # said once above, with the characters and the fix, rather than once per glyph drawn
        warnings.filterwarnings("ignore", "Glyph .* missing from font")
        if n_workers <= 1:
            with _pdf(out / "atlas.pdf", pdf_meta) as atlas:
                for page in range(n_pages):
                    _save_page(atlas, _draw_page(ctx, names, page))
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
