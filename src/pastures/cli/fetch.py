"""``pastures fetch``: download Sentinel-2 L2A scenes (and the DEM) for a study area."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from pastures.cli._command import Command
from pastures.cli._common import DAY
from pastures.defaults import CATALOGUES, DEFAULT_MAX_CLOUD
from pastures.errors import ParameterError, PasturesError
from pastures.i18n import _


class FetchIncompleteError(PasturesError, RuntimeError):
    """Some scenes could not be downloaded; what was downloaded is kept."""


def _api_url(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict:
    urls = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not url:
            raise click.BadParameter(
                _("'{value}': give NAME=URL, e.g. earth-search=http://...").format(value=value)
            )
        urls[name.strip()] = url.strip()
    return urls


@click.command("fetch", cls=Command)
@click.argument("project_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--bounds",
    nargs=4,
    type=float,
    metavar="W S E N",
    default=None,
    help="Study area bounds in degrees (west south east north).",
)
@click.option(
    "--area",
    "area_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Study area boundary file (GeoPackage, GeoJSON, Shapefile, KML...).",
)
@click.option("--start", default=None, type=DAY, help="First day, YYYY-MM-DD.")
@click.option("--end", default=None, type=DAY, help="Last day.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Destination folder (a second run resumes and skips complete files) "
    "[default: imagery, or the project's scene folder].",
)
@click.option(
    "--catalog",
    "catalogs",
    multiple=True,
    type=click.Choice(CATALOGUES),
    help="Catalogue to search; repeat for several. Default: both, Earth Search first.",
)
@click.option(
    "--max-cloud",
    type=click.FloatRange(0, 100),
    default=DEFAULT_MAX_CLOUD,
    show_default=True,
    help="Skip scenes with more cloud cover (%).",
)
@click.option("--dem/--no-dem", default=True, show_default=True, help="Also fetch the DEM.")
@click.option(
    "--api-url",
    "api_urls",
    multiple=True,
    callback=_api_url,
    metavar="NAME=URL",
    help="Use another STAC API for a catalogue (a mirror), e.g. earth-search=http://host/v1.",
)
def command(
    project_file: Path | None,
    bounds: tuple[float, float, float, float] | None,
    area_file: Path | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    out_dir: Path | None,
    catalogs: tuple[str, ...],
    max_cloud: float,
    dem: bool,
    api_urls: dict[str, str],
) -> None:
    """Download Sentinel-2 L2A scenes and the Copernicus DEM for a study area.

    Searches Earth Search and the Planetary Computer (URLs signed where needed),
    downloads the bands the indices need (B02-B04, B08, B8A, B11, B12, SCL)
    clipped to the area, with SHA-256 checksums in OUT/manifest.json, and the
    Copernicus DEM GLO-30 as OUT/cop-dem-glo-30.tif. Run it again to resume:
    complete files are not downloaded twice. Needs: pip install "pastures[fetch]".

    \b
    Examples:
      pastures fetch --bounds -69.69 -16.50 -69.33 -16.17 \\
          --start 2024-05-01 --end 2024-09-30 --out juli-imagery
      pastures fetch --area comunidades.gpkg --start 2024-06-01 --end 2024-06-30
      pastures indices juli-imagery --plots parcelas.gpkg

    With a PROJECT file (`pastures init`), the study area, dates and folder come
    from it ([study_area], [imagery] start/end, the first of [imagery] scenes or
    imagery/ beside the file), so that `pastures run PROJECT` reads what was fetched:

    \b
      pastures fetch mi-proyecto/project.toml
      pastures run mi-proyecto/project.toml
    """
    import shapely

    from pastures.fetch import describe, fetch_dem, fetch_imagery, read_area_file

    if project_file is not None:
        from pastures.project import load_project_file

        if bounds is not None or area_file is not None:
            raise ParameterError(
                _("The project file gives the study area: leave out --bounds and --area.")
            )
        config = load_project_file(project_file)
        img = config.imagery
        start = start or dt.datetime.combine(img.start, dt.time())
        end = end or dt.datetime.combine(img.end, dt.time())
        if out_dir is None:
            out_dir = img.scenes[0] if img.scenes else config.path.resolve().parent / "imagery"
        if config.study_area.boundary is not None:
            area_file = config.study_area.boundary
        else:
            bounds = config.study_area.bounds_lonlat
    if start is None or end is None:
        raise ParameterError(_("Give --start and --end (YYYY-MM-DD), or a project file."))
    out_dir = out_dir or Path("imagery")
    if (bounds is None) == (area_file is None):
        raise ParameterError(_("Give the study area with either --bounds W S E N or --area FILE."))
    area = read_area_file(area_file) if area_file else shapely.box(*bounds)  # type: ignore[misc]
    chosen = catalogs or CATALOGUES
    result = fetch_imagery(
        area,
        start=start.date(),
        end=end.date(),
        dest=out_dir,
        catalogs=chosen,
        max_cloud=max_cloud,
        api_urls=api_urls,
        progress=True,
    )
    for line in describe(result):
        click.echo(line, err=True)
    if dem:
        path = fetch_dem(area, dest=out_dir, api_urls=api_urls, catalogs=chosen)
        click.echo(f"DEM: {path}", err=True)
    if result.failed:
        raise FetchIncompleteError(
            _(
                "{failed} scene(s) could not be completed (listed above). Files already "
                "downloaded in {out_dir} are kept: run the same command again to resume."
            ).format(failed=len(result.failed), out_dir=out_dir)
        )
    click.echo(
        _("{item_files} scene(s) ready in {out_dir}/").format(
            item_files=len(result.item_files), out_dir=out_dir
        )
    )
    if project_file is not None:
        click.echo(
            f'For `pastures run {project_file}`: [imagery] source = "files", scenes = '
            f'["{out_dir.as_posix()}"]'
            + (
                f'; [dem] source = "file", path = "{(out_dir / "cop-dem-glo-30.tif").as_posix()}"'
                if dem
                else ""
            )
            + "."
        )
