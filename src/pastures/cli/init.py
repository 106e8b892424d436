"""``pastures init``: a commented starting project that runs as written."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from pastures.cli._command import Command
from pastures.errors import InputFileError
from pastures.i18n import _
from pastures.sample import SAMPLE_CUTS, sample_dir, sample_paths

#: Name of the project file written.
PROJECT_NAME = "project.toml"
#: Folder (inside the project folder) the sample layers are copied into.
LAYERS_FOLDER = "layers"


@click.command("init", cls=Command)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing project.toml.")
def command(folder: Path, force: bool) -> None:
    """Write a commented starting project into FOLDER (project.toml and sample layers).

    The project points at a copy of the bundled, ILLUSTRATIVE Juli layers in
    FOLDER/layers/, so it runs as written; replace them with your own files and
    edit the keys (each is explained in the file).

    \b
    Examples:
      pastures init mi-proyecto
      pastures run mi-proyecto/project.toml
    """
    from pastures.io import atomic_output
    from pastures.project import starter_project

    target = folder / PROJECT_NAME
    if target.exists() and not force:
        raise InputFileError(
            _(
                "{target} already exists; edit it, or pass --force to replace it with the starter."
            ).format(target=target)
        )
    layers = folder / LAYERS_FOLDER
    layers.mkdir(parents=True, exist_ok=True)
    for path in (*sample_paths().values(), sample_dir() / SAMPLE_CUTS):
        dest = layers / path.name
        if not dest.exists():
            with atomic_output(dest) as tmp:
                shutil.copyfile(path, tmp)
    text = starter_project(sample_folder=Path(LAYERS_FOLDER))
    with atomic_output(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    click.echo(
        _("Wrote {target} and the illustrative sample layers in {layers}/.").format(
            target=target, layers=layers
        )
    )
    click.echo(_("Run it with:  pastures run {target}").format(target=target))
