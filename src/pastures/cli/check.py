"""``pastures check``: validate layers and a herd register, print the community summary."""

from __future__ import annotations

import click

from pastures import schema as S
from pastures.cli._command import Command
from pastures.cli._common import (
    SPANISH_FLAG_HELP,
    FiniteRange,
    crs_options,
    echo_problems,
    format_summary,
    output_language,
    project_options,
    study_area_options,
    study_layers,
    summary_headings,
)
from pastures.defaults import DEFAULT_OVERLAP_TOLERANCE_M2
from pastures.errors import Problem
from pastures.i18n import N_, _, cli_language, ngettext, translator


@click.command("check", cls=Command)
@project_options(water=True)
@crs_options
@study_area_options(kinds=True)
@click.option(
    "--overlap-tolerance",
    type=FiniteRange(0, 10_000, unit="m²"),
    default=DEFAULT_OVERLAP_TOLERANCE_M2,
    show_default=True,
    help="Overlap between two plots (m²) taken for a digitising or GPS sliver: a warning "
    "naming both, and the sliver counted in the first plot only. Larger overlaps are errors. "
    "The same as [layers] overlap_tolerance_m2 in a project file.",
)
@click.option("--spanish", "--es", is_flag=True, hidden=True, help=SPANISH_FLAG_HELP)
@click.option(
    "--summary",
    "summary_path",
    type=click.Path(dir_okay=False, path_type=str),
    default=None,
    help="Also write the table to this .csv or .xlsx file (Spanish headings with --es).",
)
@click.option("--rules", is_flag=True, help="List the validation rules and exit.")
def command(
    communities: str | None,
    plots: str | None,
    corrals: str | None,
    water: str | None,
    herds: str | None,
    crs: str,
    assume_crs: str | None,
    repair: str,
    project_path: str | None,
    bounds: str | None,
    boundary: str | None,
    field_map: tuple[str, ...],
    default_map: tuple[str, ...],
    overlap_tolerance: float,
    spanish: bool,
    summary_path: str | None,
    rules: bool,
) -> None:
    """Check pasture layers and a herd register; print a table per community.

    Every problem is reported at once, each naming the file, feature and field,
    and the exit status is 1 when any is an error (0 when clean). Repairs, such
    as an invalid outline fixed with a small change of area, are warnings.

    With no file given, checks the bundled illustrative Juli sample.

    \b
    Examples:
      pastures check
      pastures check --communities comunidades.gpkg --plots parcelas.kml \\
                     --corrals corrales.gpx --herds padron.xlsx
      pastures check --plots cercos.shp --assume-crs EPSG:32719
      pastures check --plots parcels.gpkg --field plot_code=id_parcel \\
                     --default plots.community=Ain --default plots.pasture_type=pajonal \\
                     --bounds 5.0,45.76,5.09,45.82
      pastures check --project proyecto.toml
    """
    from pastures.io import write_table
    from pastures.layers import load_project
    from pastures.summary import community_summary
    from pastures.validation import RULES

    if rules:
        from pastures.errors import rule_word

        for name, text in RULES.items():
            shown = rule_word(name)
            label = shown if shown == name else f"{shown} ({name})"
            click.echo(f"{label:34s} {_(text)}")
        return
    given = {
        "communities": communities,
        "plots": plots,
        "corrals": corrals,
        "water_points": water,
        "herds": herds,
    }
    setup, files = study_layers(doing=N_("checking"), **given)
    crs = setup.crs
    project = load_project(**files, **setup.reading(), overlap_tolerance_m2=overlap_tolerance)
    if not any(len(f) for f in (project.communities, project.plots, project.herds)):
        # nothing could be read: no table of zeros before the errors that say why
        _report_and_exit(project.problems)
        return
    table = community_summary(project)
    language = output_language(setup, spanish_flag=spanish)
    # the printed table is a message (the command line's language); the file an output
    click.echo(format_summary(table, language="es" if spanish else cli_language()))
    if summary_path:
        # a CSV keeps the column names; a workbook has headings in the language
        shown = table.round({S.PLOTS_HA: 2})
        if str(summary_path).lower().endswith(".xlsx"):
            shown = shown.rename(columns=summary_headings(language))
        write_table(shown, summary_path, sheet=translator(language).pgettext("sheet", "summary"))
    with_corrals = int((table[S.N_CORRALS][:-1] > 0).sum())
    click.echo(
        "\n"
        + _(
            "{communities} communities, {with_corrals} with corrals, {plots} plots, {ha} ha of "
            "plots (measured in {crs})."
        ).format(
            communities=len(project.communities),
            with_corrals=with_corrals,
            plots=len(project.plots),
            ha=f"{project.plots[S.AREA_HA].sum():,.1f}",
            crs=crs,
        )
    )
    _report_and_exit(project.problems)


def _report_and_exit(problems: list[Problem]) -> None:
    """Print every problem; exit 1 when any is an error."""
    from pastures.validation import errors_in

    errors = errors_in(problems)
    warnings = len(problems) - len(errors)
    if problems:
        click.echo("", err=True)
        echo_problems(problems)
    if errors:
        click.secho(
            _("{errors}, {warnings}: fix the errors above and check again.").format(
                errors=ngettext("{n} error", "{n} errors", len(errors)).format(n=len(errors)),
                warnings=ngettext("{n} warning", "{n} warnings", warnings).format(n=warnings),
            ),
            err=True,
            fg="red",
        )
        click.get_current_context().exit(1)
    click.secho(
        _("OK: no errors, {warnings}.").format(
            warnings=ngettext("{n} warning", "{n} warnings", warnings).format(n=warnings)
        ),
        err=True,
        fg="green",
    )
