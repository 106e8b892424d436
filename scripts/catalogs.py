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


def update() -> None:
    pybabel(
        "update", "--no-fuzzy-matching", "-D", "pastures", "-i", str(TEMPLATE), "-d", str(LOCALE)
    )


def compile_() -> None:
    pybabel("compile", "-D", "pastures", "-d", str(LOCALE), "--statistics")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", metavar="LANG", help="start the catalog of a new language")
    parser.add_argument("--compile-only", action="store_true", help="only compile the .mo")
    args = parser.parse_args()
    if args.init:
        extract()
        add_cli_help()
        pybabel("init", "-D", "pastures", "-i", str(TEMPLATE), "-d", str(LOCALE), "-l", args.init)
        return 0
    if not args.compile_only:
        extract()
        add_cli_help()
        update()
    compile_()
    return 0


if __name__ == "__main__":
    sys.exit(main())
