"""Click commands whose help is translated when it is shown, not when it is written.

The help of a command (its docstring), of each option and the epilog are written
once, in English, where the command is declared. They are translated at display
time into the command line's language (:func:`pastures.i18n.cli_language`), so that
one process (a test runner, say) may show the same command in several languages.

The unit of translation is a paragraph: a paragraph click rewraps is one line of
words (its line breaks folded), a paragraph it keeps as written (``\\b``) keeps its
lines. ``scripts/catalogs.py`` extracts exactly these msgids from the commands
themselves (:func:`help_msgids`), so the catalog always holds what click shows.

This module imports only click and :mod:`pastures.i18n`.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from pastures.i18n import N_, _

#: Click's mark of a paragraph it must not rewrap.
_KEEP = "\b"

#: Click's usage metavars, translated with the rest of the help.
_METAVARS = (N_("[OPTIONS]"), N_("COMMAND [ARGS]..."))


def _paragraphs(text: str) -> Iterator[tuple[bool, str]]:
    """(kept as written, msgid) of each paragraph of a help text."""
    cleaned = inspect.cleandoc(text).partition("\f")[0]
    for paragraph in cleaned.split("\n\n"):
        kept = paragraph.startswith(_KEEP)
        body = paragraph[len(_KEEP) :].strip("\n") if kept else " ".join(paragraph.split())
        yield kept, body


def help_msgids(text: str | None) -> list[str]:
    """The msgids of a help text, one per paragraph (what the catalog must hold)."""
    if not text:
        return []
    return [body for _kept, body in _paragraphs(text) if body.strip()]


def translate_help(text: str | None) -> str | None:
    """A help text in the command line's language, paragraph by paragraph."""
    if not text:
        return text
    out = []
    for kept, body in _paragraphs(text):
        shown = _(body) if body.strip() else body
        out.append(f"{_KEEP}\n{shown}" if kept else shown)
    return "\n\n".join(out)


def _metavar_word(param: click.Parameter, ctx: click.Context) -> str | None:
    """The word click shows for `param`'s value (FILE, INTEGER, SOURCE...), if any."""
    if isinstance(param, click.Option) and (param.is_flag or param.count):
        return None
    if param.metavar is not None:
        return param.metavar
    if isinstance(param, click.Argument):
        return param.type.get_metavar(param=param, ctx=ctx) or (param.name or "").upper() or None
    if isinstance(param.type, click.Path):
        # click names a Path in the language active when the option was declared
        files, folders = param.type.file_okay, param.type.dir_okay
        return {(True, False): "FILE", (False, True): "DIRECTORY"}.get((files, folders), "PATH")
    word = param.type.get_metavar(param=param, ctx=ctx)
    kind = param.type.name.upper()
    if word and word.startswith(f"{kind} "):
        return kind  # "INTEGER 1<=x<=12": the range is not words
    return word or kind


def command_texts(command: click.Command) -> Iterator[str | None]:
    """Every help text of `command` (its own, its epilog, its parameters', its metavars)."""
    yield command.help
    yield command.short_help
    yield command.epilog
    ctx = click.Context(command)
    for param in command.params:
        yield getattr(param, "help", None)
        word = _metavar_word(param, ctx)
        if word and not word.startswith("["):
            yield word


@contextmanager
def _translated(command: click.Command, ctx: click.Context) -> Iterator[None]:
    """Show `command`'s texts in the command line's language while inside."""
    saved: list[tuple[Any, str, str | None]] = [
        (command, "help", command.help),
        (command, "short_help", command.short_help),
        (command, "epilog", command.epilog),
    ]
    saved += [(p, "help", p.help) for p in command.params if isinstance(p, click.Option)]
    metavars: list[tuple[Any, str, str | None]] = [
        (command, "options_metavar", command.options_metavar)
    ]
    if isinstance(command, click.Group):
        metavars.append((command, "subcommand_metavar", command.subcommand_metavar))
    shown: list[tuple[Any, str, str | None]] = []
    for param in command.params:
        word = _metavar_word(param, ctx)
        if word and _(word) != word:
            original = param.metavar
            if isinstance(param, click.Option) and isinstance(param.type, click.Path):
                param.metavar = original or word  # English, whatever click named the type
            full = param.make_metavar(ctx)
            param.metavar = original
            shown.append((param, full.replace(word, _(word), 1), original))
    try:
        for param, full, _saved in shown:
            param.metavar = full
        for owner, attr, text in saved:
            setattr(owner, attr, translate_help(text))
        for owner, attr, text in metavars:
            setattr(owner, attr, _(text) if text else text)
        yield
    finally:
        for owner, attr, text in saved + metavars:
            setattr(owner, attr, text)
        for param, _full, metavar in shown:
            param.metavar = metavar


class TranslatedHelp:
    """Mixin: click's help and short help of a command, in the command line's language."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Click's help, with this command's texts translated."""
        with _translated(self, ctx):  # type: ignore[arg-type]
            super().format_help(ctx, formatter)  # type: ignore[misc]

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Click's usage line (also above a usage error), its metavars translated."""
        with _translated(self, ctx):  # type: ignore[arg-type]
            super().format_usage(ctx, formatter)  # type: ignore[misc]

    def get_short_help_str(self, limit: int = 45) -> str:
        """The one-line help the group lists, translated before it is shortened."""
        with _translated(self, click.Context(self)):  # type: ignore[arg-type]
            return super().get_short_help_str(limit)  # type: ignore[misc,no-any-return]


class Command(TranslatedHelp, click.Command):
    """A `pastures` command: ``@click.command("name", cls=Command)``."""
