"""``pastures forage``: forage, carrying capacity, stocking and dry-season deficit."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pastures import schema as S
from pastures.cli._command import Command
from pastures.cli._common import (
    SPANISH_FLAG_HELP,
    FiniteRange,
    crs_options,
    echo_problems,
    fail_on_errors,
    files_or_sample,
    layer_path,
    output_language,
    project_files,
    project_options,
    resolve_study_area,
    study_area_options,
)
from pastures.defaults import DEFAULT_BUDGET_MONTH, FLOREZ_CAPACITY, FORAGE_GPKG
from pastures.errors import InputFileError, Problem
from pastures.i18n import N_, _

if TYPE_CHECKING:
    import pandas as pd

    from pastures.animals import AnimalUnits
    from pastures.layers import Project

logger = logging.getLogger(__name__)

DEFAULT_OUT = "forage"
#: Name of the GeoPackage in --out (the writers live in :mod:`pastures.writers`).
GPKG_NAME = FORAGE_GPKG
__all__ = ["command", "load_with_units", "read_index_table"]


def read_index_table(path: str) -> pd.DataFrame:
    """The tidy per-plot index table (CSV, XLSX or Parquet) written by ``pastures indices``.

    Every cell is checked (:func:`pastures.forage.check_index_table`): dates, numbers
    and index ranges.

    Raises
    ------
    InputFileError
        Missing or unreadable file.
    ValidationError
        Bad cells, each kind listed with its rows.
    """
    import pandas as pd

    from pastures.forage import check_index_table
    from pastures.io import read_table

    p = Path(path)
    if p.suffix.lower() == ".parquet":
        if not p.is_file():
            raise InputFileError(
                _("{p}: file not found. Check the path and the spelling.").format(p=p)
            )
        try:
            table = pd.read_parquet(p)
        except Exception as exc:
            raise InputFileError(
                _("{p}: cannot be read as Parquet ({exc}).").format(p=p, exc=exc)
            ) from exc
    else:
        table = read_table(p)
    checked, problems = check_index_table(table, source=str(p))
    _report(problems)
    return checked


def load_with_units(files: dict[str, str | None], units: AnimalUnits, **options: object) -> Project:
    """Load a project, reading the herd register against `units`.

    :func:`pastures.layers.load_project` reads registers against the default
    animal-unit table; a parameters file may add species or categories (cattle,
    alpaca sires), whose columns must then be accepted.
    """
    from pastures.animals import AnimalUnits
    from pastures.herds import check_herds, read_herds
    from pastures.layers import fold, load_project

    default = {sp: set(c) for sp, c in AnimalUnits().table.items()}
    if {sp: set(c) for sp, c in units.table.items()} == default or not files.get(S.HERDS):
        return load_project(**files, **options)  # type: ignore[arg-type]
    herds = str(files.pop(S.HERDS))
    project = load_project(**files, **options)  # type: ignore[arg-type]
    result = read_herds(herds, units=units)
    names = {fold(n): n for n in project.communities[S.COMMUNITY].dropna()}
    frame = result.frame.copy()
    frame[S.COMMUNITY] = frame[S.COMMUNITY].map(
        lambda v: names.get(fold(v), v) if isinstance(v, str) else v
    )
    project.herds = frame
    project.sources[S.HERDS] = herds
    project.problems += result.problems + check_herds(
        frame,
        communities=project.communities if files.get(S.COMMUNITIES) else None,
        corrals=project.corrals if files.get(S.CORRALS) else None,
        source=herds,
    )
    return project


def family_herd_uo(project: Project, family: str, units: AnimalUnits) -> float:
    """UO of one family's herd in the project's register.

    Raises
    ------
    click.BadParameter
        The family is not in the register.
    """
    from pastures.animals import herd_animal_units

    herds = project.herds
    rows = herds[herds[S.FAMILY_ID] == family] if len(herds) else herds
    if not len(rows):
        some = ", ".join(map(str, herds[S.FAMILY_ID].head(5))) if len(herds) else "none"
        raise click.BadParameter(
            _(
                "'{family}' is not in the herd register (first ids: {some}). Give a "
                "family_id of --herds."
            ).format(family=family, some=some),
            param_hint="--family",
        )
    return float(herd_animal_units(rows, units).sum())


def _report(problems: list[Problem]) -> None:
    """Stop on errors (the CLI group prints every problem once); else print the warnings."""
    fail_on_errors(problems)
    echo_problems(problems)


@click.command("forage", cls=Command)
@project_options()
@crs_options
@study_area_options(kinds=True)
@click.option(
    "--indices",
    "indices_path",
    type=layer_path,
    default=None,
    help="Tidy per-plot index table from `pastures indices` (CSV, XLSX or Parquet). Without "
    "it, production comes from the pasture-type ranges (Castellaro 2007).",
)
@click.option("--index", default="ndvi", show_default=True, help="Index the biomass uses.")
@click.option(
    "--calibration",
    "calibration_path",
    type=layer_path,
    default=None,
    help="Field quadrat cuts (CSV/XLSX: plot_code or x/y or lon/lat, date, biomass_kg_ha) to "
    "fit the index-biomass relation; needs --indices.",
)
@click.option(
    "--calibration-form",
    type=click.Choice(["best", "linear", "power"]),
    default="best",
    show_default=True,
    help="Form of the fitted relation (best: lower RMSE).",
)
@click.option(
    "--calibration-days",
    type=FiniteRange(0, 366, integer=True),
    default=16,
    show_default=True,
    help="Largest gap between a cut and an image date, days.",
)
@click.option(
    "--calibration-crs",
    metavar="CRS",
    default=None,
    help="CRS of the cuts' x/y (default: the working CRS); lon/lat are always degrees.",
)
@click.option(
    "--params",
    "params_path",
    type=layer_path,
    help="Parameters file (TOML). Default: the [forage] of --project, if given.",
)
@click.option(
    "--use-factor",
    type=FiniteRange(0, 1, lo_open=True),
    default=None,
    help="Proper-use factor, share of production that may be grazed [default: 0.5].",
)
@click.option(
    "--uo",
    "uo_preset",
    type=click.Choice(["metabolic", "sr-crsp", "peru-tables"]),
    default=None,
    help="Animal-unit convention: metabolic (1 UO = 40 kg sheep, 0.795 kg DM/day; alpaca 1.44, "
    "llama 2.11 UO; default), sr-crsp (alpaca unit, 1.145 kg DM/day; llama 1.5, sheep 1.0) "
    "or peru-tables (alpaca 1.5, llama 1.8).",
)
@click.option(
    "--open-condition",
    type=click.Choice(list(FLOREZ_CAPACITY)),
    default=None,
    help="Range condition of the open communal range (default: from its production).",
)
@click.option(
    "--month",
    type=FiniteRange(1, 12, integer=True),
    default=None,
    help=f"Month whose standing forage the grazing days use [default: {DEFAULT_BUDGET_MONTH}].",
)
@click.option(
    "--herd-uo",
    type=FiniteRange(0, 1_000_000, lo_open=True, unit="UO"),
    default=None,
    help="Herd (UO) for the grazing days of every plot (default: the community's mean family).",
)
@click.option(
    "--family",
    default=None,
    help="Family (or herd) id of the register whose herd the grazing days are for.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Folder for the tables and forage.gpkg.",
)
@click.option(
    "--format",
    "table_format",
    type=click.Choice(["csv", "xlsx"]),
    default="csv",
    show_default=True,
    help="Format of the tables.",
)
@click.option("--spanish", "--es", is_flag=True, hidden=True, help=SPANISH_FLAG_HELP)
def command(
    communities: str | None,
    plots: str | None,
    corrals: str | None,
    herds: str | None,
    crs: str,
    assume_crs: str | None,
    repair: str,
    project_path: str | None,
    bounds: str | None,
    boundary: str | None,
    field_map: tuple[str, ...],
    default_map: tuple[str, ...],
    indices_path: str | None,
    index: str,
    calibration_path: str | None,
    calibration_form: str,
    calibration_days: int,
    calibration_crs: str | None,
    params_path: str | None,
    use_factor: float | None,
    uo_preset: str | None,
    open_condition: str | None,
    month: int | None,
    herd_uo: float | None,
    family: str | None,
    out: Path,
    table_format: str,
    spanish: bool,
) -> None:
    """Forage budget: carrying capacity of plots and open range against the herds.

    Works out, per plot, the forage production (kg DM/ha/yr, with its interval), the
    carrying capacity (UO/ha/yr, per season), the range condition class and the
    grazing days a herd has left; per community, the stocking against the capacity
    of the fenced plots and of the open communal range (community minus plots); and
    the month-by-month forage deficit.

    With no layers given, runs on the bundled illustrative Juli sample.

    \b
    Examples:
      pastures forage
      pastures forage --indices juli-indices.csv --calibration cortes.csv
      pastures forage --uo peru-tables --open-condition poor --format xlsx
      pastures forage --plots parcels.gpkg --indices idx/index_series.csv \\
          --field plot_code=id_parcel --default plots.community=Ain \\
          --default plots.pasture_type=pajonal --bounds 5.0,45.76,5.09,45.82
      pastures forage --project proyecto.toml --indices idx/index_series.csv
    """
    from pastures.animals import AnimalUnits
    from pastures.forage import (
        ForageParams,
        OpenRange,
        calibrate_from_cuts,
        forage_budget,
        format_budget,
        load_params,
    )
    from pastures.writers import write_budget

    given = {"communities": communities, "plots": plots, "corrals": corrals, "herds": herds}
    setup = resolve_study_area(
        project=project_path,
        bounds=bounds,
        boundary=boundary,
        crs=crs,
        assume_crs=assume_crs,
        repair=repair,
        field_map=field_map,
        default_map=default_map,
        files=given,
    )
    if params_path:
        params = load_params(params_path)
    elif setup.project is not None:  # the project's [forage], as `pastures run` uses it
        params = setup.project.forage_params()
    else:
        params = ForageParams()
    changes: dict[str, object] = {"index": index}
    if use_factor is not None:
        changes["use_factor"] = use_factor
    if uo_preset is not None:
        changes["units"] = AnimalUnits.preset(uo_preset)  # type: ignore[arg-type]
    if open_condition is not None:
        changes["open_range"] = replace(params.open_range or OpenRange(), condition=open_condition)
    if month is not None:
        changes["budget_month"] = month
    params = replace(params, **changes)  # type: ignore[arg-type]

    files = files_or_sample(project_files(setup, given), doing=N_("budgeting"))
    project = load_with_units(files, params.units, **setup.reading())
    _report(project.problems)

    index_table = read_index_table(indices_path) if indices_path else None
    calibration = None
    if calibration_path:
        if index_table is None:
            raise click.UsageError(_("--calibration needs --indices (the index at each cut)."))
        calibration, warnings = calibrate_from_cuts(
            calibration_path,
            project.plots,
            index_table,
            index=index,
            form=None if calibration_form == "best" else calibration_form,  # type: ignore[arg-type]
            max_days=calibration_days,
            coords_crs=calibration_crs,
            min_valid_fraction=params.min_valid_fraction,
        )
        echo_problems(warnings)
    if family is not None:
        herd_uo = family_herd_uo(project, family, params.units)
        click.echo(
            _("Grazing days for the herd of {family}: {herd_uo:,.1f} UO.").format(
                family=family, herd_uo=herd_uo
            ),
            err=True,
        )
    budget = forage_budget(
        project, index_table=index_table, calibration=calibration, params=params, herd_uo=herd_uo
    )
    out.mkdir(parents=True, exist_ok=True)
    written = write_budget(budget, out, communities=project.communities, table_format=table_format)
    # the printed summary is a message: the command line's language (--es: Spanish)
    click.echo(format_budget(budget, language=output_language(None, spanish_flag=spanish)))
    if len(budget.calibration):
        chosen = budget.calibration[budget.calibration[S.FIT_CHOSEN]]
        for _unused, r in chosen.iterrows():
            click.echo(
                _(
                    "Calibration {value}: {value2}, n={value3}, R² {value4:.2f}, RMSE "
                    "{value5:,.0f} kg DM/ha; at {index} {value6:.2f}: {value7:,.0f} kg DM/ha "
                    "({value8:,.0f}-{value9:,.0f})"
                ).format(
                    value=r[S.FIT_SCOPE],
                    value2=r[S.FIT_FORM],
                    value3=r[S.FIT_N],
                    value4=r[S.FIT_R2],
                    value5=r[S.FIT_RMSE],
                    index=index,
                    value6=r[S.INDEX_VALUE],
                    value7=r[S.BIOMASS],
                    value8=r[S.BIOMASS_LOW],
                    value9=r[S.BIOMASS_HIGH],
                )
            )
    click.echo(f"\nWrote {', '.join(str(p) for p in written)}")
