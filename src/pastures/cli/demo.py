"""``pastures demo``: ``pastures run`` on the bundled, illustrative Juli sample project."""

from __future__ import annotations

from pathlib import Path

import click

from pastures.cli._command import Command
from pastures.cli.run import execute, skip_option

DEFAULT_OUT = "pastures-demo"


@click.command("demo", cls=Command)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Folder for the outputs (created if needed; files in it are replaced).",
)
@click.option("--force", is_flag=True, help="Run every stage, even those unchanged.")
@skip_option
def command(out: Path, force: bool, skip: tuple[str, ...]) -> None:
    """Run every stage on the bundled Juli sample project and write the results to --out.

    Exactly `pastures run` on the sample project file shipped with pastures
    (juli_sample.toml). The sample layers (14 communities, fenced plots in 11 of
    them, corrals, water points and a herd register of 250 families) are
    ILLUSTRATIVE: built from the published facts of the Juli project, not official
    boundaries; the Sentinel-2 scenes and the DEM are synthetic. They go through
    exactly the code that real files go through.

    Open layers.gpkg in QGIS (styled), map.html in a browser; read
    community_summary.csv in any spreadsheet; provenance.json says where each number
    came from.
    """
    from pastures.project import load_project_file, sample_project_path

    config = load_project_file(sample_project_path())
    execute(config, out, force=force, skip=skip)
