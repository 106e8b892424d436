"""``pastures map``: one self-contained HTML field map from the output folder of a run."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click

from pastures.cli._command import Command
from pastures.cli._common import DAY
from pastures.defaults import LANGS

DEFAULT_NAME = "map.html"


@click.command("map", cls=Command)
@click.argument(
    "run_folder", type=click.Path(file_okay=False, path_type=Path), metavar="RUN_FOLDER"
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"HTML file to write [default: RUN_FOLDER/{DEFAULT_NAME}].",
)
@click.option(
    "--lang",
    type=click.Choice(LANGS),
    default="es",
    show_default=True,
    help="Language of the map: Spanish or English.",
)
@click.option(
    "--on",
    "on",
    type=DAY,
    default=None,
    help="Fix the day the rotation is read for [default: the day the map is opened].",
)
def command(run_folder: Path, out: Path | None, lang: str, on: dt.datetime | None) -> None:
    """Write a web map of a run that works in the field with no internet.

    One HTML file holds everything: Leaflet (inlined from the installed
    XStatic-Leaflet package), the layers, the risk rasters and an offline
    background made from the run's own true-colour composite and DEM hillshade.
    Copy it to a phone or laptop and open it in any browser. Online basemaps
    (streets, satellite) are optional layers used only with a connection.

    In the map: who grazes each plot today and next (the whole plan, read on
    the phone's clock), my location and the plot it stands in, plot codes,
    choose what colours the plots (latest NDVI, anomaly, trend, range
    condition, stocking against capacity, erosion risk), tap a plot for its
    details and NDVI chart, switch layers, measure distances and areas, jump
    to a community.

    \b
    Examples:
      pastures demo --out juli-demo
      pastures map juli-demo                      writes juli-demo/map.html
      pastures map juli-demo -o campo.html --lang en
      pastures map juli-demo --on 2026-02-02      the rotation fixed at that day
    """
    from pastures.webmap import write_web_map

    dest = out or run_folder / DEFAULT_NAME
    start = time.perf_counter()
    path = write_web_map(
        run_folder,
        dest,
        lang=lang,
        on=on.date() if on else None,  # type: ignore[arg-type]
    )
    size = path.stat().st_size / 1e6
    click.echo(f"Wrote {path} ({size:.1f} MB, {time.perf_counter() - start:.1f} s).")
