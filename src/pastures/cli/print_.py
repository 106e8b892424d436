"""``pastures print``: the printed atlas of a run, for community assemblies."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from pastures.cli._command import Command
from pastures.defaults import LANGS, PAPER_MM

logger = logging.getLogger(__name__)

#: Folder of the PDFs inside the run folder when -o is not given.
DEFAULT_SUBFOLDER = "atlas"


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


@click.command("print", cls=Command)
@click.argument(
    "run_folder",
    type=click.Path(file_okay=False, exists=False, path_type=Path),
    metavar="RUN_FOLDER",
)
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=f"Folder for the PDFs (default: RUN_FOLDER/{DEFAULT_SUBFOLDER}; its PDFs are replaced).",
)
@click.option(
    "--paper",
    type=click.Choice(list(PAPER_MM), case_sensitive=False),
    default="A4",
    show_default=True,
    help="Paper size; on A3 the maps are drawn at a larger scale and the text is 15 % larger.",
)
@click.option(
    "--lang",
    type=click.Choice(list(LANGS), case_sensitive=False),
    default="es",
    show_default=True,
    help="Language of the sheets (Spanish for assemblies, English for reports).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes that draw the pages (default: the CPUs available, at most 2; "
    "1 keeps a core free). The atlas is the same whatever the number.",
)
def command(run_folder: Path, out: Path | None, paper: str, lang: str, workers: int | None) -> None:
    """Print-ready PDF maps of every community: an atlas and one PDF per community.

    RUN_FOLDER is the output folder of `pastures demo` (or of a full run). The atlas
    has a cover, an overview of the communities and one sheet per community: plots
    with code and hectares, corrals, water points and the boundary on a light
    hillshade; legend, scale, north arrow and the grid of the run's CRS; the rotation
    calendar (which months each plot is grazed, by the herds of which corral, and when
    it rests); condition and erosion risk per plot with its main cause. A community
    with more plots than one sheet holds gets a map series ("hoja 1 de 9"): each
    sheet maps a group of neighbouring plots, with the others drawn faintly, and the
    community's PDF holds all its sheets. Sheets print well in black and white
    (hatching, not colour, tells the risk classes apart); print them at 100 % ("actual
    size") so the scale written on the map holds. Titles name the run's study area
    (the district of Juli for the sample).

    \b
    Examples:
      pastures print juli-demo                   Spanish, A4, into juli-demo/atlas/
      pastures print juli-demo --paper A3 -o a3  A3 sheets into ./a3/
      pastures print juli-demo --lang en         English sheets
      pastures print juli-demo --workers 1       in one process, leaving a core free
    """
    from pastures.printmap import write_atlas

    target = out if out is not None else run_folder / DEFAULT_SUBFOLDER
    click.echo(f"Printing the atlas of {run_folder} ({paper.upper()}, {lang.lower()}) ...")
    result = write_atlas(
        run_folder,
        target,
        lang=lang.lower(),  # type: ignore[arg-type]
        paper=paper.upper(),  # type: ignore[arg-type]
        workers=workers,
    )
    click.echo(f"  {result.atlas}  ({result.pages} pages, {_size(result.atlas)})")
    for name, path in result.communities.items():
        count = result.sheets.get(name, 1)
        sheets = f"{count} sheets, " if count > 1 else ""
        click.echo(f"  {path}  ({name}, {sheets}{_size(path)})")
