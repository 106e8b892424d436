"""Command-line interface: ``pastures <command>``.

Each command lives in its own module of this package and is registered in
:data:`COMMANDS`. The group turns every :class:`~pastures.errors.PasturesError`
into a short message and a non-zero exit; a traceback is shown only with
``--debug``.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from pastures import __version__
from pastures.errors import PasturesError, ValidationError

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

EXIT_PROBLEMS = 1


class _Group(click.Group):
    """A click group that reports user errors without a traceback."""

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
            click.secho(f"Error: {exc}", err=True, fg="red")
            ctx.exit(EXIT_PROBLEMS)
        except KeyboardInterrupt:
            click.secho("Interrupted: no output was left half-written.", err=True, fg="yellow")
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            if debug:
                raise
            click.secho(
                f"Unexpected error ({type(exc).__name__}): {exc}\n"
                "This is a bug in pastures, not in your data. Run the same command with "
                "--debug and report the traceback it prints.",
                err=True,
                fg="red",
            )
            ctx.exit(3)
        return None  # pragma: no cover


def _echo_problems(exc: ValidationError) -> None:
    errors = [p for p in exc.problems if p.severity == "error"]
    warnings = [p for p in exc.problems if p.severity == "warning"]
    for p in warnings:
        click.secho(f"  {p}", err=True, fg="yellow")
    for p in errors:
        click.secho(f"  {p}", err=True, fg="red")
    click.secho(
        f"{len(errors)} error(s), {len(warnings)} warning(s). Fix the errors listed above "
        "(each names the file, feature and field) and run the command again.",
        err=True,
        fg="red",
    )


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("pastures")
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)
    warn_logger = logging.getLogger("py.warnings")
    warn_logger.handlers[:] = [handler]
    warn_logger.propagate = False


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="pastures")
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
    _configure_logging(verbose, quiet)


def _register() -> None:
    for module_name, command_name in COMMANDS:
        module = importlib.import_module(module_name)
        main.add_command(module.command, name=command_name)


_register()
