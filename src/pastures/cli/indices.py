"""``pastures indices``: vegetation index time series per plot from satellite scenes."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from pastures import schema as S
from pastures.cli._common import echo_problems, layer_path
from pastures.errors import InputFileError, Problem
from pastures.imagery import group_by_date, load_scenes
from pastures.indices import DEFAULT_INDICES, INDICES
from pastures.io import atomic_output, write_table
from pastures.layers import read_layer
from pastures.timeseries import DEFAULT_MIN_VALID_FRACTION, analyse_series
from pastures.zonal import DEFAULT_EDGE_RULE, EDGE_RULES, index_series, plot_summary

logger = logging.getLogger(__name__)

#: Files written into --out.
SERIES_FILE = "index_series"
SUMMARY_FILE = "plot_index_summary.csv"
DATES_FILE = "index_dates.csv"
TRENDS_FILE = "index_trends.csv"
PROFILE_FILE = "index_seasonal_profile.csv"
PROBLEMS_FILE = "index_problems.txt"


@click.command("indices")
@click.argument("scenes", nargs=-1, required=True, type=click.Path(exists=True, path_type=str))
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
    type=click.FloatRange(0, 1),
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
def command(
    scenes: tuple[str, ...],
    plots: str,
    index_names: tuple[str, ...],
    edge_rule: str,
    min_valid: float,
    out_dir: Path,
    crs: str,
) -> None:
    """Per-plot vegetation indices for every date of a set of scenes.

    SCENES are folders of band files (Sentinel-2 L2A or Landsat Collection 2
    Level-2, GeoTIFF/COG/JPEG 2000) or STAC item JSON files (Items,
    ItemCollections or lists; Earth Search or Planetary Computer), with asset
    hrefs that are local paths, relative paths or URLs.

    \b
    Writes into --out:
      index_series.parquet / .csv   plot, date, index, statistic, value
      plot_index_summary.csv        one row per plot
      index_dates.csv               each date: scenes, clear share, status
      index_trends.csv              Theil-Sen trend, Mann-Kendall p, browning flag
      index_seasonal_profile.csv    monthly profile and baseline per plot

    A scene that cannot be used (Level-1C, missing bands, truncated file,
    no overlap with the plots, all cloud) is reported and the others are kept.
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
    found, load_problems = load_scenes(list(scenes))
    n_dates = len(group_by_date(found))
    click.echo(f"{len(found)} scene(s) on {n_dates} date(s); {len(layer.frame)} plot(s).", err=True)

    def progress(items: Iterable[Any]) -> Iterable[Any]:
        return tqdm(items, total=n_dates, desc="dates", unit="date", leave=False)

    result = index_series(
        layer.frame,
        found,
        indices=names,
        edge_rule=edge_rule,
        progress=progress,  # type: ignore[arg-type]
    )
    problems: list[Problem] = [*load_problems, *result.problems]
    if result.table.empty:
        echo_problems(problems)
        raise InputFileError(
            "No index value could be computed: no scene covered the plots with usable data. "
            "Check the problems listed above."
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_output(out_dir / f"{SERIES_FILE}.parquet") as tmp:
        result.table.to_parquet(tmp, index=False)
    write_table(result.table, out_dir / f"{SERIES_FILE}.csv")
    summary = plot_summary(result.table, min_valid_fraction=min_valid)
    summary = summary.merge(result.rules.reset_index(), on=S.PLOT_CODE, how="left")
    write_table(summary, out_dir / SUMMARY_FILE)
    write_table(result.dates, out_dir / DATES_FILE)
    analysis = analyse_series(result.table, index=names[0], min_valid_fraction=min_valid)
    write_table(analysis.trends, out_dir / TRENDS_FILE)
    write_table(analysis.profile, out_dir / PROFILE_FILE)
    with atomic_output(out_dir / PROBLEMS_FILE) as tmp:
        tmp.write_text("".join(f"{p}\n" for p in problems), encoding="utf-8")
    echo_problems(problems)
    browning = analysis.trends.loc[analysis.trends[S.BROWNING], S.PLOT_CODE].tolist()
    ok_dates = int((result.dates["status"] == "ok").sum())
    click.echo(
        f"{ok_dates} of {len(result.dates)} date(s) usable; {len(problems)} problem(s). "
        f"Plots browning ({names[0]}): {', '.join(browning) or 'none'}.\n"
        f"Tables written to {out_dir}/"
    )
