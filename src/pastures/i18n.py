"""Languages of messages and outputs, from gettext catalogs a translator can edit.

Every text a person reads is written once, in English, in the code, marked for
translation, and translated from the catalogs in ``pastures/locale``:
``locale/<lang>/LC_MESSAGES/pastures.po`` (edited by translators, see TRANSLATING.md)
and its compiled ``pastures.mo``. Babel extracts the template
(``locale/pastures.pot``) from the marked strings; ``scripts/catalogs.py`` extracts,
updates and compiles.

Two languages are in play, and they may differ:

* the **command line** speaks :func:`cli_language`: ``--lang`` if given, else the
  locale of the environment (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``),
  else English. :func:`_` and :func:`ngettext` translate into it.
* a **project's outputs** (map, atlas, workbooks, calendar, chart, the human-readable
  values of tables) follow the project's ``language`` key. Code that writes them
  asks :func:`translator` for that language and uses its ``gettext``/``ngettext``.

Marking rules (what Babel extracts): ``_("...")``, ``ngettext("one", "many", n)``,
``pgettext("context", "...")``, ``N_("...")`` (marks a string translated later,
e.g. a table of labels) and ``NP_("context", "...")`` (the same, with a context).
Output code names the project's ``gettext`` ``tr`` (``tr = gettext_for(lang)``), and
``tr("...")`` is extracted too. Placeholders are named (``_("{n} plots").format(n=...)``)
so a translator may reorder them.

This module imports only the standard library; Babel (dates and numbers, and
compiling a ``.po`` that has no up-to-date ``.mo``) is imported when first needed.
"""

from __future__ import annotations

import datetime as dt
import gettext as _gettext
import hashlib
import os
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Final

#: gettext domain of every catalog.
DOMAIN: Final = "pastures"
#: Folder of the catalogs shipped with the package.
LOCALE_DIR: Final = Path(__file__).parent / "locale"
#: The language the code is written in (no catalog needed).
SOURCE_LANGUAGE: Final = "en"

_cli_language: str = SOURCE_LANGUAGE


def N_(message: str) -> str:  # noqa: N802 (gettext's name for a deferred mark)
    """Mark `message` for extraction without translating it now."""
    return message


def NP_(context: str, message: str) -> str:  # noqa: N802 (as N_, with a context)
    """Mark `message`, told apart by `context`, for extraction without translating it.

    Translate it later with ``translator(lang).pgettext(context, message)``.
    """
    del context
    return message


def available_languages() -> list[str]:
    """Codes of every language with a catalog, English (the source) first.

    A language is available as soon as ``locale/<code>/LC_MESSAGES/pastures.po``
    (or ``.mo``) exists: dropping a translator's ``.po`` there is enough.
    """
    found = {SOURCE_LANGUAGE}
    if LOCALE_DIR.is_dir():
        for child in LOCALE_DIR.iterdir():
            messages = child / "LC_MESSAGES"
            if (messages / f"{DOMAIN}.po").is_file() or (messages / f"{DOMAIN}.mo").is_file():
                found.add(child.name)
    return [SOURCE_LANGUAGE, *sorted(found - {SOURCE_LANGUAGE})]


def normalize_language(code: str | None) -> str | None:
    """The available language a locale name asks for, or None.

    ``es_PE.UTF-8``, ``es-PE``, ``es`` and ``ES`` all give ``"es"``; ``C`` and
    ``POSIX`` give None (no preference).
    """
    if not code:
        return None
    name = code.split(".")[0].split("@")[0].replace("-", "_").strip()
    if not name or name.upper() in {"C", "POSIX"}:
        return None
    languages = available_languages()
    for candidate in (name, name.split("_")[0].lower()):
        if candidate in languages:
            return candidate
    return None


def language_from_environment(environ: dict[str, str] | None = None) -> str:
    """The language the environment's locale asks for, else English.

    Follows GNU gettext's order: ``LANGUAGE`` (a ``:``-separated list), then
    ``LC_ALL``, ``LC_MESSAGES`` and ``LANG``.
    """
    env = os.environ if environ is None else environ
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(variable)
        if not value:
            continue
        for part in value.split(":"):
            language = normalize_language(part)
            if language is not None:
                return language
        if variable != "LANGUAGE":
            break  # the first locale variable that is set decides, as in gettext
    return SOURCE_LANGUAGE


def _po_files() -> list[Path]:
    return sorted(LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


#: A ``.mo`` older than its ``.po`` by less than this is taken as current: a checkout
#: writes both within moments, in either order; a translator's edit comes later.
_CHECKOUT_SLACK_S: Final = 5.0


def _mo_is_current(po: Path) -> bool:
    mo = po.with_suffix(".mo")
    return mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime - _CHECKOUT_SLACK_S


def compile_catalog(po: Path, mo: Path) -> None:
    """Compile the catalog `po` into `mo` (written whole, through a temporary file)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle, locale=po.parent.parent.name, domain=DOMAIN)
    mo.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=mo.parent, suffix=".mo.part")
    try:
        with os.fdopen(fd, "wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        Path(tmp).replace(mo)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@cache
def catalog_dir() -> Path:
    """Folder whose ``<lang>/LC_MESSAGES/pastures.mo`` are up to date with the ``.po``.

    The package's own folder when every ``.mo`` shipped beside its ``.po`` is current;
    otherwise (a ``.po`` edited or added since the last build) the catalogs are
    compiled once into the user's cache folder, keyed by the ``.po`` contents, and
    read from there. The package folder is never written at run time.
    """
    pos = _po_files()
    if all(_mo_is_current(po) for po in pos):
        return LOCALE_DIR
    digest = hashlib.sha256()
    for po in pos:
        digest.update(po.parent.parent.name.encode())
        digest.update(po.read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "pastures" / f"locale-{digest.hexdigest()[:16]}"
    for po in pos:
        mo = folder / po.relative_to(LOCALE_DIR).with_suffix(".mo")
        if not mo.is_file():
            compile_catalog(po, mo)
    return folder


@cache
def translator(language: str | None) -> _gettext.NullTranslations:
    """The translations into `language` (English, or unknown: the English source)."""
    language = normalize_language(language) or SOURCE_LANGUAGE
    if language == SOURCE_LANGUAGE:
        return _gettext.NullTranslations()
    return _gettext.translation(
        DOMAIN, localedir=catalog_dir(), languages=[language], fallback=True
    )


def set_cli_language(language: str | None) -> str:
    """Make `language` the language of the command line's messages; return it.

    It also becomes the language of click's own words ("Usage:", "Options:", its
    errors): click translates through the standard :mod:`gettext` functions, which
    read the ``pastures`` domain once this has bound it.
    """
    global _cli_language  # noqa: PLW0603 (one process, one command-line language)
    chosen = normalize_language(language) or SOURCE_LANGUAGE
    _cli_language = chosen
    _gettext.bindtextdomain(DOMAIN, str(catalog_dir()))
    _gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = chosen
    return chosen


def cli_language() -> str:
    """The language of the command line's messages (see :func:`set_cli_language`)."""
    return _cli_language


def _(message: str) -> str:
    """`message` in the command line's language."""
    return translator(_cli_language).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural of a message for `n`, in the command line's language."""
    return translator(_cli_language).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """`message` in the command line's language, told apart by `context`."""
    return translator(_cli_language).pgettext(context, message)


def gettext_for(language: str | None) -> Callable[[str], str]:
    """The ``gettext`` of `language`, for writing a project's outputs."""
    return translator(language).gettext


# --- dates and numbers in human outputs (never in CSV values) ---------------------------


def format_date(day: dt.date, language: str | None, format: str = "medium") -> str:  # noqa: A002
    """`day` as a reader of `language` writes it: ``12 ene 2026`` / ``Jan 12, 2026``.

    `format` is Babel's (``short``, ``medium``, ``long`` or a pattern such as
    ``"d MMM y"``). Only for text people read; tables keep ISO dates.
    """
    from babel.dates import format_date as babel_format_date

    return babel_format_date(day, format=format, locale=normalize_language(language) or "en")


def format_number(value: float, language: str | None, decimals: int = 0) -> str:
    """`value` with the grouping and decimal signs of `language` (``1 234,5`` in Spanish).

    Only for text people read; tables keep plain numbers.
    """
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(value, format=pattern, locale=normalize_language(language) or "en")
