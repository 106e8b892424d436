"""``pastures indices``: vegetation index time series per plot from satellite scenes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pastures import schema as S
from pastures.cli._command import Command
from pastures.cli._common import (
    FiniteRange,
    echo_problems,
    layer_path,
    project_files,
    resolve_study_area,
    study_area_options,
)
from pastures.defaults import (
    BOA_OFFSET_CHOICES,
    DEFAULT_EDGE_RULE,
    DEFAULT_MIN_VALID_FRACTION,
    EDGE_RULES,
)
from pastures.errors import InputFileError, ParameterError
from pastures.i18n import _
from pastures.indices import DEFAULT_INDICES, INDICES

if TYPE_CHECKING:
    from pastures.imagery import BoaOffset

logger = logging.getLogger(__name__)

__all__ = ["command"]


@click.command("indices", cls=Command)
@click.argument("scenes", nargs=-1, type=click.Path(exists=True, path_type=str))
@click.option(
    "--plots",
    type=layer_path,
    default=None,
    help="Plots layer (polygons; only plot_code is needed). Default: the --project's plots.",
)
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
@click.option(
    "--crs",
    metavar="CRS",
    default=S.WORKING_CRS,
    show_default=True,
    help="Working CRS (projected, metres); with --bounds, --boundary or --project, the "
    "area's own unless given.",
)
@study_area_options(kinds=False)
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
    plots: str | None,
    index_names: tuple[str, ...],
    edge_rule: str,
    min_valid: float,
    out_dir: Path,
    crs: str,
    project_path: str | None,
    bounds: str | None,
    boundary: str | None,
    field_map: tuple[str, ...],
    default_map: tuple[str, ...],
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

    Plots are refused when they lie more than 25 km outside the district of
    Juli, unless a study area is given (--bounds, --boundary or --project);
    only their plot_code is read (--field plot_code=YOUR_FIELD).

    \b
    Examples:
      pastures indices scenes/ --plots plots.gpkg
      pastures indices S2B_31TFL_20230714/ --plots parcels.gpkg \\
          --field plot_code=id_parcel --bounds 5.0,45.76,5.09,45.82
      pastures indices scenes/ --project proyecto.toml
      pastures indices S2B_19KDC_20240115_0_L2A/ --plots plots.gpkg --boa-offset applied
      pastures indices items.json --plots plots.gpkg --index ndvi --index savi

    Large jobs run on a Dask cluster (pip install 'pastures[regional]'), with
    the same results:

    \b
      pastures indices scenes/ --plots puno.gpkg --workers 2
      pastures indices items/ --plots puno.gpkg --scheduler tcp://10.0.0.5:8786
    """
    from pastures.imagery import group_by_date, load_scenes, search_stac
    from pastures.layers import read_layer
    from pastures.studyarea import not_needed
    from pastures.writers import write_index_tables

    names = [n.lower() for n in index_names] or list(DEFAULT_INDICES)
    setup = resolve_study_area(
        project=project_path,
        bounds=bounds,
        boundary=boundary,
        crs=crs,
        field_map=field_map,
        default_map=default_map,
        kind=S.PLOTS,
    )
    plots = project_files(setup, {S.PLOTS: plots})[S.PLOTS]
    if plots is None:
        raise click.UsageError(_("Give --plots (or --project with a plots layer)."))
    layer = read_layer(
        plots,
        S.PLOTS,
        crs=setup.crs,
        area=setup.area,
        fields=setup.fields.get(S.PLOTS),
        defaults=setup.defaults.get(S.PLOTS),
        assume_crs=setup.assume_crs,
        repair=setup.repair,  # type: ignore[arg-type]
    )
    problems = not_needed(layer.problems, {S.PLOT_CODE}, command="indices")
    echo_problems([p for p in problems if p.severity == "warning"])
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        echo_problems(errors)
        raise InputFileError(
            _(
                "{plots}: {errors} error(s) in the plots layer; run `pastures check "
                "--plots {plots}` with the same area options and fix them first."
            ).format(plots=plots, errors=len(errors))
        )
    sources: list[Any] = list(scenes)
    if search_dates:
        start, _unused, end = search_dates.partition("/")
        if not end:
            raise ParameterError(
                _("--search {search_dates}: give START/END, e.g. 2024-01-01/2024-12-31.").format(
                    search_dates=search_dates
                )
            )
        bbox = tuple(layer.frame.to_crs(S.LONLAT_CRS).total_bounds)
        items = search_stac(bbox, start, end, max_cloud=max_cloud)  # type: ignore[arg-type]
        click.echo(_("{items} scene(s) found online.").format(items=len(items)), err=True)
        sources.extend(items)
    if not sources:
        raise ParameterError(_("Give scene folders or STAC files, or --search START/END."))
    found, load_problems = load_scenes(sources, boa_offset=boa_offset)
    n_dates = len(group_by_date(found))
    click.echo(
        _("{found} scene(s) on {n_dates} date(s); {frame} plot(s).").format(
            found=len(found), n_dates=n_dates, frame=len(layer.frame)
        ),
        err=True,
    )
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
        _(
            "{usable_dates} of {dates} date(s) usable; {problems} problem(s). Plots "
            "browning ({value}): {value2}.\nTables written to {out_dir}/"
        ).format(
            usable_dates=run.usable_dates,
            dates=run.dates,
            problems=len(run.problems),
            value=names[0],
            value2=", ".join(run.browning) or "none",
            out_dir=out_dir,
        )
    )
