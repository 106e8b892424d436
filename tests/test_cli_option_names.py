"""Every ``--option`` a message names is an option of some command.

The messages are read from the catalog template (every marked string), so an error
that tells a user to pass an option that does not exist is caught here.
"""

from __future__ import annotations

import re

import click
from babel.messages.pofile import read_po

from pastures import i18n
from pastures.cli import main

OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def _all_options() -> set[str]:
    found = {"--help", "--version"}
    ctx = click.Context(main)

    def walk(command: click.Command) -> None:
        for param in command.params:
            found.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name))

    walk(main)
    return found


def test_every_option_a_message_names_exists():
    with (i18n.LOCALE_DIR / "pastures.pot").open("rb") as pot:
        catalog = read_po(pot)
    options = _all_options()
    unknown = {}
    for message in catalog:
        texts = message.id if isinstance(message.id, tuple) else (message.id,)
        for text in texts:
            for option in OPTION.findall(text or ""):
                if option not in options:
                    unknown.setdefault(option, text[:80])
    assert unknown == {}
