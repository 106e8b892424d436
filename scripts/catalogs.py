"""Extract, update and compile the translation catalogs of `pastures` (Babel).

    python scripts/catalogs.py            # extract + update every .po + compile .mo
    python scripts/catalogs.py --check    # fail if the template or a .mo is out of date

Extract reads every string marked with ``_``, ``ngettext``, ``pgettext``, ``N_`` or ``NP_`` in
``src/pastures`` into ``src/pastures/locale/pastures.pot``, and the help of every
command of the CLI (docstrings, option help, one msgid per paragraph, exactly as click
shows it: see ``pastures.cli._command``); update merges the
template into each ``locale/<lang>/LC_MESSAGES/pastures.po`` (new strings empty,
changed ones fuzzy, for the translator); compile writes each ``pastures.mo``.
A new language: ``python scripts/catalogs.py --init qu`` (see TRANSLATING.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "pastures"
LOCALE = PACKAGE / "locale"
TEMPLATE = LOCALE / "pastures.pot"


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract() -> None:
    pybabel(
        "extract",
        "--no-location",
        "--sort-output",
        "--project=pastures",
        "--copyright-holder=pastures developers",
        "--msgid-bugs-address=pastures developers",
        "-k",
        "N_",
        "-k",
        "pgettext:1c,2",
        "-k",
        "NP_:1c,2",
        "-k",
        "tr",
        "-k",
        "cli_gettext",
        "-k",
        "cli_ngettext:1,2",
        "-o",
        str(TEMPLATE),
        str(PACKAGE),
    )


def add_cli_help() -> None:
    """Add the help texts of every command (as shown by click) to the template."""
    from babel.messages.pofile import read_po, write_po

    sys.path.insert(0, str(ROOT / "src"))
    from pastures.cli import COMMANDS, main
    from pastures.cli._command import command_texts, help_msgids

    with TEMPLATE.open("rb") as handle:
        catalog = read_po(handle)
    commands = [("pastures", main)]
    commands += [(f"pastures {name}", main.get_command(None, name)) for _, name in COMMANDS]  # type: ignore[arg-type]
    for where, command in commands:
        for text in command_texts(command):
            for msgid in help_msgids(text):
                if msgid not in catalog:
                    catalog.add(msgid, auto_comments=[f"help of `{where}`"])
    with TEMPLATE.open("wb") as handle:
        write_po(handle, catalog, omit_header=False, sort_output=True, no_location=True)


def _po_files() -> list[Path]:
    return sorted(LOCALE.glob("*/LC_MESSAGES/pastures.po"))


def _babel_locale(code: str) -> str | None:
    """`code` when Babel (CLDR) knows the language, else None (e.g. Aymara, ``ay``).

    A language Babel does not know still gets a catalog: its plural rule is then the
    translator's to set in the header (TRANSLATING.md).
    """
    from babel.core import Locale, UnknownLocaleError

    try:
        Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        return None
    return code


def _read(po: Path):
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        return read_po(handle, locale=_babel_locale(po.parent.parent.name), domain="pastures")


def _write(po: Path, catalog) -> None:
    from babel.messages.pofile import write_po

    with po.open("wb") as handle:
        write_po(handle, catalog, width=76)


def update() -> None:
    """Merge the template into every catalog (new strings empty, changed ones fuzzy)."""
    from babel.messages.pofile import read_po

    with TEMPLATE.open("rb") as handle:
        template = read_po(handle)
    for po in _po_files():
        catalog = _read(po)
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        _write(po, catalog)


def compile_() -> None:
    """Compile every catalog into its ``.mo`` (the same as ``pastures`` does at run time)."""
    sys.path.insert(0, str(ROOT / "src"))
    from pastures.i18n import compile_catalog

    for po in _po_files():
        compile_catalog(po, po.with_suffix(".mo"))
        catalog = _read(po)
        done = sum(
            1
            for m in catalog
            if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple) else [m.string])
        )
        print(f"{po.relative_to(ROOT)}: {done} of {len(catalog)} messages translated")


def init(code: str) -> Path:
    """Start the catalog of a new language from the template (every translation empty)."""
    from babel.messages.pofile import read_po

    po = LOCALE / code / "LC_MESSAGES" / "pastures.po"
    if po.exists():
        raise SystemExit(f"{po} exists already: run python scripts/catalogs.py to update it.")
    with TEMPLATE.open("rb") as handle:
        catalog = read_po(handle, locale=_babel_locale(code), domain="pastures")
    catalog.revision_date = catalog.creation_date
    catalog.fuzzy = False
    if catalog.locale is None:
        catalog.language_team = f"{code} <set the plural rule in Plural-Forms>"
    po.parent.mkdir(parents=True, exist_ok=True)
    _write(po, catalog)
    text = po.read_text(encoding="utf-8")
    if catalog.locale is None:  # Babel knows no rule: a two-form one, for the translator
        text = text.replace(
            '"MIME-Version:',
            f'"Language: {code}\\n"\n"Plural-Forms: '
            'nplurals=2; plural=(n != 1);\\n"\n"MIME-Version:',
            1,
        )
        po.write_text(text, encoding="utf-8")
    return po


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", metavar="LANG", help="start the catalog of a new language")
    parser.add_argument("--compile-only", action="store_true", help="only compile the .mo")
    args = parser.parse_args()
    if args.init:
        extract()
        add_cli_help()
        print(f"started {init(args.init).relative_to(ROOT)}: translate it, then run this again")
        return 0
    if not args.compile_only:
        extract()
        add_cli_help()
        update()
    compile_()
    return 0


if __name__ == "__main__":
    sys.exit(main())
