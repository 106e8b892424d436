"""``pastures import``: turn KML/KMZ/GPX/Shapefile/GeoJSON into a clean GeoPackage layer."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pastures import schema as S
from pastures.cli._command import Command
from pastures.cli._common import (
    FiniteRange,
    area_option,
    crs_options,
    echo_problems,
    fail_on_errors,
    field_option,
    layer_path,
    parse_fields,
    study_area,
)
from pastures.defaults import DEFAULT_OVERLAP_TOLERANCE_M2
from pastures.errors import InputFileError, ParameterError
from pastures.i18n import _

if TYPE_CHECKING:
    import geopandas as gpd

KINDS = {
    "plots": S.PLOTS,
    "corrals": S.CORRALS,
    "water": S.WATER_POINTS,
    "communities": S.COMMUNITIES,
}


@click.command("import", cls=Command)
@click.argument("source", type=layer_path)
@click.option(
    "--as",
    "kind",
    type=click.Choice(list(KINDS)),
    required=True,
    help="What the file holds. GPS tracks and KML paths become plots (closed along the "
    "fence); waypoints become corrals or water points.",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="GeoPackage to write (created, or the layer replaced in an existing one).",
)
@click.option("--layer", default=None, help="Layer to read from SOURCE (multi-layer files).")
@click.option("--out-layer", default=None, help="Layer name in OUT [default: plots, corrals...].")
@click.option(
    "--communities",
    type=layer_path,
    default=None,
    help="Communities layer: features without a community get the one they lie in, "
    "and each is checked to lie inside its community.",
)
@click.option("--community", default=None, help="Community for features that name none.")
@click.option(
    "--pasture-type",
    default=None,
    help=f"Pasture type for plots that name none ({', '.join(S.PASTURE_TYPES)}).",
)
@click.option(
    "--fenced-year",
    type=FiniteRange(*S.FENCED_YEAR_RANGE, integer=True),
    default=None,
    help="Fencing year for plots naming none.",
)
@click.option(
    "--overlap-tolerance",
    type=FiniteRange(0, 10_000, unit="m²"),
    default=DEFAULT_OVERLAP_TOLERANCE_M2,
    show_default=True,
    help="Overlap between two plots (m²) taken for a digitising or GPS sliver: a warning "
    "naming both, and the sliver cut from the later plot. Larger overlaps are errors.",
)
@field_option(kinds=False)
@crs_options
@area_option
def command(
    source: str,
    kind: str,
    out: Path,
    layer: str | None,
    out_layer: str | None,
    communities: str | None,
    community: str | None,
    pasture_type: str | None,
    fenced_year: int | None,
    overlap_tolerance: float,
    field_map: tuple[str, ...],
    crs: str,
    assume_crs: str | None,
    repair: str,
    bounds: str | None,
) -> None:
    """Import SOURCE as a clean plots, corrals or water layer in a GeoPackage.

    SOURCE may be GeoPackage, GeoJSON, Shapefile (or .zip), KML/KMZ from Google
    Earth or a phone app (folders are merged, ExtendedData fields kept, heights
    dropped) or GPX from a GPS unit. Field names are matched in Spanish or
    English (codigo/code/name, comunidad, tipo_pasto, anio...). The result is in
    the working CRS with areas in hectares, and opens in QGIS.

    Nothing is written when an error is found; every problem is listed. SOURCE
    is never modified.

    \b
    Examples:
      pastures import cercos.kml --as plots --community Pasiri \\
                      --pasture-type pajonal -o parcelas.gpkg
      pastures import recorrido.gpx --as plots --communities comunidades.gpkg -o parcelas.gpkg
      pastures import puntos.gpx --as corrals --community Callacami -o corrales.gpkg
      pastures import parcels.gpkg --as plots --field plot_code=id_parcel \\
                      --community Ain --pasture-type pajonal \\
                      --bounds 5.0,45.76,5.09,45.82 -o parcelas.gpkg
    """
    from pastures.layers import assign_communities, check_and_trim_overlaps, read_layer

    layer_kind = KINDS[kind]
    if out.suffix.lower() != ".gpkg":
        raise ParameterError(
            _("--out {out}: give a GeoPackage file name ending in .gpkg.").format(out=out)
        )
    if out.exists() and out.resolve() == Path(source).resolve():
        raise ParameterError(
            _(
                "--out {out} is the input file; pastures never modifies its inputs. "
                "Write to a new GeoPackage."
            ).format(out=out)
        )
    area, crs = study_area(bounds, crs)
    defaults = {S.COMMUNITY: community, S.PASTURE_TYPE: pasture_type, S.FENCED_YEAR: fenced_year}
    fields = parse_fields(field_map, {layer_kind: source}, kind=layer_kind).get(layer_kind)
    com_layer = None
    problems = []
    if communities:
        com_result = read_layer(
            communities, S.COMMUNITIES, crs=crs, assume_crs=assume_crs, area=area
        )
        problems += com_result.problems
        com_layer = com_result.frame
    result = read_layer(
        source,
        layer_kind,
        layer=layer,
        crs=crs,
        assume_crs=assume_crs,
        repair=repair,  # type: ignore[arg-type]
        defaults=defaults,
        fields=fields,
        area=area,
    )
    frame = result.frame
    if com_layer is not None and len(com_layer):
        # communities are taken from the map: a missing community field is no longer an error
        problems += [
            p
            for p in result.problems
            if not (p.field == S.COMMUNITY and p.rule in {"missing-field", "missing-value"})
        ]
        frame, found = assign_communities(frame, layer_kind, com_layer, source=result.source)
        problems += found
    else:
        problems += result.problems
    if layer_kind == S.PLOTS and len(frame):
        frame, found = check_and_trim_overlaps(
            frame, source=result.source, tolerance_m2=overlap_tolerance
        )
        problems += found
    fail_on_errors(problems)
    if problems:
        echo_problems(problems)
    name = out_layer or layer_kind
    _write_layer(frame, out, name)
    area = f", {frame[S.AREA_HA].sum():,.2f} ha" if S.AREA_HA in frame.columns else ""
    click.echo(
        _("Wrote {frame} {kind} to {out} (layer '{name}'{area}, {crs}).").format(
            frame=len(frame), kind=kind, out=out, name=name, area=area, crs=crs
        )
    )


def _write_layer(frame: gpd.GeoDataFrame, out: Path, name: str) -> None:
    """Write one layer; other layers of an existing GeoPackage are kept. Atomic."""
    import pyogrio

    from pastures.io import atomic_output, list_layers

    with atomic_output(out) as tmp:
        if out.exists():
            try:
                list_layers(out)
            except InputFileError as exc:
                raise InputFileError(
                    _(
                        "--out {out} exists but is not a readable GeoPackage; choose another name."
                    ).format(out=out)
                ) from exc
            shutil.copyfile(out, tmp)
            pyogrio.write_dataframe(
                frame,
                tmp,
                layer=name,
                driver="GPKG",
                layer_options={"OVERWRITE": "YES"},
                append=False,
            )
        else:
            pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG")
