"""``pastures run``: every stage of a project file, into one run folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from pastures.cli._command import Command
from pastures.i18n import N_, _

if TYPE_CHECKING:
    from pastures.pipeline import RunResult, StageReport
    from pastures.project import ProjectConfig


#: How each stage status is shown.
_MARKS = {
    "ran": N_("done"),
    "skipped": N_("unchanged"),
    "not needed": N_("not needed"),
    "unavailable": "--",
}


def _input_words(text: str) -> str:
    """A stage's input as its report names it, in the command line's language."""
    shown = _(text)
    if shown == text and ": " in text:  # "imagery: a.tif, b.tif": the label, not the paths
        head, rest = text.split(": ", 1)
        shown = f"{_(head)}: {rest}"
    return shown


def echo_stage(report: StageReport) -> None:
    """Print one finished stage: its title, status, result line and time."""
    from pastures.pipeline import STAGE_TITLES

    colour = {"ran": "green", "skipped": "cyan"}.get(report.status, "yellow")
    click.secho(f"[{report.name}] {_(STAGE_TITLES[report.name])}", bold=True)
    mark = _(_MARKS[report.status]) if report.status in _MARKS else report.status
    click.echo(
        "      " + click.style(mark, fg=colour) + f": {report.summary} ({report.seconds:.1f} s)"
    )
    if report.inputs and report.status == "ran":
        inputs = "; ".join(_input_words(text) for text in report.inputs)
        click.echo(click.style("      " + _("from: {inputs}").format(inputs=inputs), dim=True))


#: The --skip option of run and demo.
skip_option = click.option(
    "--skip",
    multiple=True,
    type=click.Choice(["map", "print"]),
    help="Leave out the web map or the printed atlas (repeat for both).",
)


def execute(
    config: ProjectConfig, out: Path | None, *, force: bool, skip: tuple[str, ...] = ()
) -> RunResult:
    """Run a loaded project with progress and the closing timing summary (for run and demo)."""
    from pastures.pipeline import run_project, timing_table

    if config.illustrative:
        click.echo(
            # the project's name is data (its own language): quoted, the sentence around it
            # is the command line's
            _(
                'Project "{name}": ILLUSTRATIVE data, not observations or official boundaries.'
            ).format(name=config.name)
        )
    result = run_project(config, out, force=force, progress=True, on_stage=echo_stage, skip=skip)
    click.echo("\n" + _("Stage times ({folder}):").format(folder=result.folder))
    click.echo(timing_table(result.reports))
    click.echo(
        "\n"
        + _("Open {gpkg} in QGIS; provenance.json says where each number came from.").format(
            gpkg=result.folder / "layers.gpkg"
        )
    )
    return result


@click.command("run", cls=Command)
@click.argument("project_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run folder (default: [project] output of the project file, beside it).",
)
@click.option("--force", is_flag=True, help="Run every stage, even those unchanged since last run.")
@skip_option
def command(project_file: Path, out: Path | None, force: bool, skip: tuple[str, ...]) -> None:
    """Run every stage of a project file: layers, vegetation, forage, rotation, erosion, maps.

    The project file (TOML; start one with `pastures init FOLDER`) names the study
    area, the layers, herd register, imagery, DEM and every parameter. It is checked
    whole before anything runs: every problem is listed with its key.

    A second run skips the stages whose inputs and parameters have not changed
    (run_manifest.json in the run folder keeps their checksums).

    \b
    Examples:
      pastures init mi-proyecto && pastures run mi-proyecto/project.toml
      pastures run juli.toml --out juli-2025
      pastures run juli.toml --force          # recompute every stage
      pastures run juli.toml --skip print     # no atlas this time
    """
    from pastures.project import load_project_file

    config = load_project_file(project_file)
    execute(config, out, force=force, skip=skip)
