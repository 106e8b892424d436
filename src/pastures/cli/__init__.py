"""Command-line interface: ``pastures <command>``.

Each command lives in its own module of this package and is registered in
:data:`COMMANDS`; a command's module is imported only when the command is asked for
(its run, its ``--help``, or the group's ``--help``, which lists them all). Command
modules import heavy libraries (pandas, geopandas, rasterio, numba...) inside the
command, so that help and usage errors answer at once. The group turns every
:class:`~pastures.errors.PasturesError` into a short message and a non-zero exit; a
traceback is shown only with ``--debug``.

The command line speaks one language (:mod:`pastures.i18n`): ``--lang`` if given
(``pastures --lang`` alone lists the languages), else the locale (``LANG``...), else
English. It is chosen before click parses anything, so click's own words, the help of
every command (translated when shown, see :mod:`pastures.cli._command`) and every
message follow it.

Exit codes (:data:`EXIT_CODES`): 0 done; 1 a problem in the data or the files
(the message names the file, feature and field); 2 a usage error (unknown option,
a value out of range, a missing argument); 3 an internal error, which is a bug in
`pastures`, asks for ``--debug`` and a report; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import sys
import warnings
from typing import Any

import click

from pastures import i18n
from pastures.cli._command import TranslatedHelp
from pastures.errors import PasturesError, PasturesWarning, ValidationError
from pastures.i18n import N_, _, ngettext

logger = logging.getLogger("pastures")

#: (module, command name) of every subcommand, in the order ``--help`` lists them.
COMMANDS: list[tuple[str, str]] = [
    ("pastures.cli.demo", "demo"),
    ("pastures.cli.check", "check"),
    ("pastures.cli.import_", "import"),
    ("pastures.cli.indices", "indices"),
    ("pastures.cli.forage", "forage"),
    ("pastures.cli.risk", "risk"),
    ("pastures.cli.rotate", "rotate"),
    ("pastures.cli.fetch", "fetch"),
    ("pastures.cli.map_", "map"),
    ("pastures.cli.print_", "print"),
    ("pastures.cli.run", "run"),
    ("pastures.cli.init", "init"),
]

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130
#: Every exit status and what it means (shown by ``pastures --help`` and in the README).
EXIT_CODES: dict[int, str] = {
    EXIT_OK: N_("done"),
    EXIT_PROBLEMS: N_("a problem in the data or files; the message names the file, feature, field"),
    EXIT_USAGE: N_("usage error: unknown option, value out of range, missing argument"),
    EXIT_BUG: N_("internal error (a bug in pastures): rerun with --debug and report it"),
    EXIT_INTERRUPTED: N_("interrupted (Ctrl-C); no output was left half-written"),
}

#: ``--lang`` given without a value: list the languages.
_LIST_LANGUAGES = "?"


def _lang_from_args(args: list[str]) -> str | None:
    """The value of the group's ``--lang`` in `args` (None: not given or no value).

    Read before click parses the line, so that click's own words (usage errors, the
    help of ``--help`` given before ``--lang``) are already in that language. Only the
    group's options are looked at: they end at the first word that is not an option.
    """
    words = iter(args)
    for word in words:
        if word.startswith("--lang="):
            return word.partition("=")[2] or None
        if word == "--lang":
            value = next(words, None)
            return value if value is not None and not value.startswith("-") else None
        if word == "--" or not word.startswith("-"):
            return None
    return None


def _language_name(code: str) -> str:
    """The name of a language in itself: its catalog's, else CLDR's (Babel), else its code."""
    name = i18n.translator(code).pgettext("name of this language", "English")
    if code == i18n.SOURCE_LANGUAGE or name != "English":
        return name
    from babel import Locale
    from babel.core import UnknownLocaleError

    try:
        return str(Locale.parse(code).get_display_name(code) or code)
    except (UnknownLocaleError, ValueError):  # Babel knows no such language (Aymara)
        return code


def _choose_language(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """``--lang``: list the languages (no value) or refuse one without a catalog."""
    if value is None or ctx.resilient_parsing:
        return
    if value == _LIST_LANGUAGES:
        for code in i18n.available_languages():
            click.echo(f"{code}\t{_language_name(code)}")
        ctx.exit()
    if i18n.normalize_language(value) is None:
        raise click.BadParameter(
            _("no catalog for {language!r}; the languages: {languages}.").format(
                language=value, languages=", ".join(i18n.available_languages())
            )
        )


class _Group(TranslatedHelp, click.Group):
    """A click group that reports user errors without a traceback.

    Its commands are those of :data:`COMMANDS`, each module imported on first use.
    It sets the command line's language before anything is parsed.
    """

    def main(self, args: Any = None, *posargs: Any, **kwargs: Any) -> Any:
        """Click's main, in the language of ``--lang``, else the locale, else English.

        The language is set for this call only: it and the environment (``LANGUAGE``,
        which click's gettext reads) are put back afterwards, so a test runner may call
        the command line in several languages in one process, and library code called
        after it speaks as before.
        """
        words = sys.argv[1:] if args is None else list(args)
        before = os.environ.get("LANGUAGE")
        spoken = i18n.cli_language()
        language = i18n.normalize_language(_lang_from_args(words))
        i18n.set_cli_language(language or i18n.language_from_environment())
        try:
            return super().main(words, *posargs, **kwargs)
        finally:
            i18n.set_cli_language(spoken)
            if before is None:
                os.environ.pop("LANGUAGE", None)
            else:
                os.environ["LANGUAGE"] = before

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The exit statuses and what each means, in the command line's language."""
        rows = "\n".join(f"  {code:<3d} {_(text)}" for code, text in EXIT_CODES.items())
        formatter.write_paragraph()
        with formatter.indentation():
            heading = _("Exit status:")
            formatter.write_text(f"\b\n{heading}\n{rows}")

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The names of every command, sorted (as click lists them)."""
        return sorted({*super().list_commands(ctx), *(name for _, name in COMMANDS)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command called `cmd_name`, importing its module the first time."""
        command = super().get_command(ctx, cmd_name)
        if command is None:
            for module_name, command_name in COMMANDS:
                if command_name == cmd_name:
                    command = importlib.import_module(module_name).command
                    self.add_command(command, name=command_name)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except ValidationError as exc:
            if debug:
                raise
            _echo_problems(exc)
            ctx.exit(EXIT_PROBLEMS)
        except PasturesError as exc:
            if debug:
                raise
            click.secho(_("Error: {message}").format(message=exc), err=True, fg="red")
            ctx.exit(EXIT_PROBLEMS)
        except KeyboardInterrupt:
            click.secho(_("Interrupted: no output was left half-written."), err=True, fg="yellow")
            ctx.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except OSError as exc:
            # the file system said no (permission, full disk, a file vanished): not a bug
            if debug or exc.filename is None:
                if debug:
                    raise
                return self._bug(ctx, exc)
            where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
            click.secho(
                _(
                    "Error: {path}: {reason}. Check that the path exists and that you may "
                    "read (inputs) or write (outputs) it."
                ).format(path=where, reason=exc.strerror or exc),
                err=True,
                fg="red",
            )
            ctx.exit(EXIT_PROBLEMS)
        except Exception as exc:
            if debug:
                raise
            return self._bug(ctx, exc)
        return None  # pragma: no cover

    @staticmethod
    def _bug(ctx: click.Context, exc: BaseException) -> None:
        click.secho(
            _("Internal error ({kind}): {message}").format(kind=type(exc).__name__, message=exc)
            + "\n"
            + _(
                "This is a bug in pastures, not in your data. Run the same command with "
                "--debug and report the traceback it prints."
            ),
            err=True,
            fg="red",
        )
        ctx.exit(EXIT_BUG)


def _echo_problems(exc: ValidationError) -> None:
    errors = [p for p in exc.problems if p.severity == "error"]
    warnings = [p for p in exc.problems if p.severity == "warning"]
    for p in warnings:
        click.secho(f"  {p}", err=True, fg="yellow")
    for p in errors:
        click.secho(f"  {p}", err=True, fg="red")
    counts = _("{errors}, {warnings}.").format(
        errors=ngettext("{n} error", "{n} errors", len(errors)).format(n=len(errors)),
        warnings=ngettext("{n} warning", "{n} warnings", len(warnings)).format(n=len(warnings)),
    )
    fix = _(
        "Fix the errors listed above (each names the file, feature and field) and run the "
        "command again."
    )
    click.secho(f"{counts} {fix}", err=True, fg="red")


class _ReaderMayLeave:
    """Standard output that lets the work go on when the reader of a pipe goes away.

    ``pastures rotate ... | head`` closes the pipe after a few lines; the plan must
    still be written, and nothing is a bug. On the first broken pipe the process's
    standard output is pointed at the null device (as the Python documentation on
    SIGPIPE advises), so later lines, and the flush at exit, go nowhere quietly.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_null()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_null()

    def _to_null(self) -> None:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, self._stream.fileno())
        os.close(null)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _keep_going_when_the_reader_leaves() -> None:
    """Wrap the real standard output (not a test runner's) in :class:`_ReaderMayLeave`."""
    if sys.stdout is sys.__stdout__ and sys.stdout is not None:
        sys.stdout = _ReaderMayLeave(sys.stdout)  # type: ignore[assignment]


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("pastures")
    root.handlers[:] = [handler]
    root.setLevel(level)
    warnings.showwarning = _log_warning


def _log_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Show a Python warning as one clean line through logging (no source line, no path).

    The warnings of `pastures` (:class:`~pastures.errors.PasturesWarning`) already name
    the file and feature; third-party ones are prefixed with the library's warning class.
    """
    del filename, lineno, file, line
    text = " ".join(str(message).split())
    label = _("Warning") if issubclass(category, PasturesWarning) else category.__name__
    logging.getLogger("pastures.warnings").warning("%s: %s", label, text)


def _show_version(ctx: click.Context, value: bool) -> None:
    """Print ``pastures, version X`` and exit (click's version option, read lazily)."""
    if not value or ctx.resilient_parsing:
        return
    from pastures import __version__

    click.echo(_("pastures, version {version}").format(version=__version__))
    ctx.exit()


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--lang",
    metavar="LANG",
    is_flag=False,
    flag_value=_LIST_LANGUAGES,
    default=None,
    is_eager=True,
    expose_value=False,
    callback=_choose_language,
    help="Language of messages and help: en, es... (alone: list the languages). "
    "Default: the locale (LANG), else English. A project's outputs follow its own "
    "language key.",
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, _param, value: _show_version(ctx, value),
    help="Show the version and exit.",
)
@click.option("-v", "--verbose", count=True, help="Say more about each step (-vv: debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors.")
@click.option("--debug", is_flag=True, help="Show the full traceback of any error.")
def main(verbose: int, quiet: bool, debug: bool) -> None:
    """Pasture management and mapping for the communities of Juli, Puno.

    \b
    Start with the bundled (illustrative) Juli sample:
      pastures demo --out juli-demo        run every stage, write maps and tables
    Then a project of your own (one file: study area, layers, imagery, parameters):
      pastures init mi-proyecto && pastures run mi-proyecto/project.toml
    Then with your own layers:
      pastures check --plots parcelas.gpkg --communities comunidades.gpkg --herds padron.csv
      pastures import cercos.kml --as plots --out parcelas.gpkg

    Layers may be GeoPackage, GeoJSON, Shapefile (also zipped), KML/KMZ or GPX.
    Areas are measured in EPSG:32719 (UTM 19S) unless --crs says otherwise.
    Run `pastures COMMAND --help` for the details of a command.
    """
    del debug  # read by _Group.invoke
    _keep_going_when_the_reader_leaves()
    _configure_logging(verbose, quiet)


#: The collector's thresholds in a command (see :func:`console_main`), mypy's: the youngest
#: generation is collected after 200,000 allocations (Python's default: 700), each
#: older one after 30 collections of the one before (default: 10).
GC_THRESHOLDS: tuple[int, int, int] = (200_000, 30, 30)


def console_main() -> None:
    """The ``pastures`` command (and ``python -m pastures``): :func:`main`, collecting less.

    The libraries a command loads (numba, scipy, GDAL, pandas) make some 120,000
    objects that live as long as the process. With Python's default thresholds the
    collector went over them some 270 times while a soil loss loaded numba, and again
    several times in the interpreter's teardown, once every output was closed (0.2-0.3 s
    in which nothing is written). As mypy does, a command collects less often
    (:data:`GC_THRESHOLDS`; 0.07-0.1 s less for a soil loss at 4000², 3 MB more memory)
    and freezes what is left before the teardown (``gc.freeze()``; mypy leaves through
    ``os._exit``). Modules are still unloaded, atexit handlers run and the C libraries
    clean up after themselves. Test runners call :func:`main`, and keep their collector
    as it was.
    """
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        main()
    finally:
        gc.freeze()
