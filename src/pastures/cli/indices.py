"""``pastures indices``: vegetation index time series per plot from satellite scenes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from pastures import schema as S
from pastures.cli._common import FiniteRange, echo_problems, layer_path
from pastures.errors import InputFileError, ParameterError
from pastures.imagery import BOA_OFFSET_CHOICES, BoaOffset, group_by_date, load_scenes, search_stac
from pastures.indices import DEFAULT_INDICES, INDICES
from pastures.layers import read_layer
from pastures.timeseries import DEFAULT_MIN_VALID_FRACTION
from pastures.writers import SERIES_FILE, IndexRun, write_index_tables
from pastures.zonal import DEFAULT_EDGE_RULE, EDGE_RULES

logger = logging.getLogger(__name__)

__all__ = ["SERIES_FILE", "IndexRun", "command", "write_index_tables"]


@click.command("indices")
@click.argument("scenes", nargs=-1, type=click.Path(exists=True, path_type=str))
@click.option("--plots", required=True, type=layer_path, help="Plots layer (polygons).")
@click.option(
    "--index",
    "index_names",
    multiple=True,
    type=click.Choice(sorted(INDICES), case_sensitive=False),
    help=f"Index to compute; repeat for several. Default: {', '.join(DEFAULT_INDICES)}.",
)
@click.option(
    "--edge-rule",
    type=click.Choice(EDGE_RULES),
    default=DEFAULT_EDGE_RULE,
    show_default=True,
    help="Pixels of a plot: centre (centre inside, as rasterstats), exact (weighted by the "
    "share covered, as exactextract), inner (fully inside), all_touched.",
)
@click.option(
    "--min-valid",
    type=FiniteRange(0, 1),
    default=DEFAULT_MIN_VALID_FRACTION,
    show_default=True,
    help="Share of a plot that must be clear for a date to count in trends and summaries.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("indices"),
    show_default=True,
    help="Folder for the tables.",
)
@click.option("--crs", metavar="CRS", default=S.WORKING_CRS, show_default=True, help="Working CRS.")
@click.option(
    "--search",
    "search_dates",
    metavar="START/END",
    default=None,
    help="Also search Earth Search (online, needs pystac-client) for Sentinel-2 L2A scenes "
    "over the plots between two dates, e.g. 2024-01-01/2024-12-31.",
)
@click.option(
    "--max-cloud",
    type=FiniteRange(0, 100, unit="%"),
    default=80.0,
    show_default=True,
    help="With --search: skip scenes with more cloud (%).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Run on the Dask cluster whose scheduler is at ADDRESS (e.g. tcp://10.0.0.5:8786); "
    "needs pastures[regional]. See the README, 'Regional monitoring on a Dask cluster'.",
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=None,
    help="Run on a local Dask cluster of N worker processes (large jobs start one by "
    "themselves). Same results as the single-process run.",
)
@click.option(
    "--boa-offset",
    type=click.Choice(BOA_OFFSET_CHOICES),
    default="auto",
    show_default=True,
    help="Sentinel-2 L2A offset (-1000 DN, baseline 04.00 on). auto: from each scene's "
    "metadata (STAC item, MTD_MSIL2A.xml, BOA_ADD_OFFSET tag, _Nxxyy_ baseline in the name); "
    "a scene with none is refused, never guessed. applied: the DNs have no offset left "
    "(Earth Search COG folders such as S2B_19KDC_20240115_0_L2A/, baselines before 04.00). "
    "apply: the DNs still carry it (bands cut from a SAFE of baseline 04.00 or later).",
)
def command(
    scenes: tuple[str, ...],
    plots: str,
    index_names: tuple[str, ...],
    edge_rule: str,
    min_valid: float,
    out_dir: Path,
    crs: str,
    search_dates: str | None,
    max_cloud: float,
    scheduler: str | None,
    workers: int | None,
    boa_offset: BoaOffset,
) -> None:
    """Per-plot vegetation indices for every date of a set of scenes.

    SCENES are folders of band files (Sentinel-2 L2A or Landsat Collection 2
    Level-2, GeoTIFF/COG/JPEG 2000) or STAC item JSON files (Items,
    ItemCollections or lists; Earth Search or Planetary Computer), with asset
    hrefs that are local paths, relative paths or URLs. With --search, scenes
    are also looked up online (Earth Search, through pystac-client).

    \b
    Writes into --out:
      index_series.parquet / .csv   plot, date, index, statistic, value
      plot_index_summary.csv        one row per plot
      index_dates.csv               each date: scenes, clear share, status
      index_trends.csv              seasonal Sen slope, Mann-Kendall p, browning
      index_seasonal_profile.csv    monthly profile and baseline per plot

    A scene that cannot be used (Level-1C, missing bands, truncated file,
    no overlap with the plots, all cloud, unknown reflectance offset) is
    reported and the others are kept. A scene with only some bands (the 10 m
    ones) gets the indices they allow; the others are listed as skipped.
    Index values outside their valid range (NDVI beyond [-1, 1]) are masked and
    counted.

    \b
    Examples:
      pastures indices scenes/ --plots plots.gpkg
      pastures indices S2B_19KDC_20240115_0_L2A/ --plots plots.gpkg --boa-offset applied
      pastures indices items.json --plots plots.gpkg --index ndvi --index savi

    Large jobs run on a Dask cluster (pip install 'pastures[regional]'), with
    the same results:

    \b
      pastures indices scenes/ --plots puno.gpkg --workers 2
      pastures indices items/ --plots puno.gpkg --scheduler tcp://10.0.0.5:8786
    """
    names = [n.lower() for n in index_names] or list(DEFAULT_INDICES)
    layer = read_layer(plots, S.PLOTS, crs=crs)
    echo_problems([p for p in layer.problems if p.severity == "warning"])
    errors = [p for p in layer.problems if p.severity == "error"]
    if errors:
        echo_problems(errors)
        raise InputFileError(
            f"{plots}: {len(errors)} error(s) in the plots layer; run `pastures check --plots "
            f"{plots}` and fix them first."
        )
    sources: list[Any] = list(scenes)
    if search_dates:
        start, _, end = search_dates.partition("/")
        if not end:
            raise ParameterError(
                f"--search {search_dates}: give START/END, e.g. 2024-01-01/2024-12-31."
            )
        bbox = tuple(layer.frame.to_crs(S.LONLAT_CRS).total_bounds)
        items = search_stac(bbox, start, end, max_cloud=max_cloud)  # type: ignore[arg-type]
        click.echo(f"{len(items)} scene(s) found online.", err=True)
        sources.extend(items)
    if not sources:
        raise ParameterError("Give scene folders or STAC files, or --search START/END.")
    found, load_problems = load_scenes(sources, boa_offset=boa_offset)
    n_dates = len(group_by_date(found))
    click.echo(f"{len(found)} scene(s) on {n_dates} date(s); {len(layer.frame)} plot(s).", err=True)
    run = write_index_tables(
        layer.frame,
        found,
        out_dir,
        indices=names,
        edge_rule=edge_rule,
        min_valid=min_valid,
        progress=True,
        problems=load_problems,
        scheduler=scheduler,
        workers=workers,
    )
    echo_problems(run.problems)
    click.echo(
        f"{run.usable_dates} of {run.dates} date(s) usable; {len(run.problems)} problem(s). "
        f"Plots browning ({names[0]}): {', '.join(run.browning) or 'none'}.\n"
        f"Tables written to {out_dir}/"
    )
