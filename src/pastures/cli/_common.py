"""Options and printing shared by the commands."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pastures import schema as S
from pastures.errors import ParameterError, Problem, ValidationError
from pastures.i18n import _

if TYPE_CHECKING:
    import pandas as pd

F = Callable[..., Any]

layer_path = click.Path(dir_okay=False, path_type=str)


def write_risk_outputs(*args: Any, **kwargs: Any) -> list[Path]:
    """:func:`pastures.writers.write_risk_outputs`, imported on the first call.

    The writers load geopandas and rasterio; a command module that names the writer at
    import time goes through this so that ``--help`` does not wait for them.
    """
    from pastures.writers import write_risk_outputs as write

    return write(*args, **kwargs)


class Day(click.ParamType):
    """A day written YYYY-MM-DD, returned as a ``datetime`` at midnight (as click.DateTime)."""

    name = "YYYY-MM-DD"

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        """The form of the value (translated with the rest of the help: AAAA-MM-DD)."""
        return "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """`value` as a ``datetime``, or a usage error naming the form expected."""
        import datetime as dt

        if isinstance(value, dt.datetime):
            return value
        try:
            return dt.datetime.strptime(str(value).strip(), "%Y-%m-%d")
        except ValueError:
            self.fail(
                _("'{value}' is not a day written YYYY-MM-DD, e.g. 2026-01-05.").format(
                    value=value
                ),
                param,
                ctx,
            )


#: A day on the command line: ``--start 2026-01-05``.
DAY = Day()


class FiniteRange(click.ParamType):
    """A number that must be finite and lie in a stated range; click names the option.

    ``click.FloatRange`` lets ``nan`` through (every comparison with NaN is false) and
    accepts ``inf`` when there is no upper bound, so ``--overlap-tolerance nan`` used to
    switch a check off. This type refuses NaN and infinity, and values outside
    ``[lo, hi]`` (open at an end with `lo_open` / `hi_open`), with a message that gives
    the range. With `integer`, the value must also be a whole number.

    Parameters
    ----------
    lo, hi
        Bounds (None: unbounded on that side, but still finite).
    lo_open, hi_open
        Exclude the bound itself.
    integer
        Return an ``int``; refuse fractions.
    unit
        Unit shown in the message ("m²", "km"...).
    """

    def __init__(
        self,
        lo: float | None = None,
        hi: float | None = None,
        *,
        lo_open: bool = False,
        hi_open: bool = False,
        integer: bool = False,
        unit: str = "",
    ) -> None:
        self.lo, self.hi = lo, hi
        self.lo_open, self.hi_open = lo_open, hi_open
        self.integer = integer
        self.unit = unit
        self.name = "integer" if integer else "float"

    def describe(self) -> str:
        """The accepted range in words, e.g. ``a finite number > 0 and <= 1``."""
        parts = []
        if self.lo is not None:
            parts.append(f"{'>' if self.lo_open else '>='} {self.lo:g}")
        if self.hi is not None:
            parts.append(f"{'<' if self.hi_open else '<='} {self.hi:g}")
        what = _("a whole number") if self.integer else _("a finite number")
        unit = f" ({self.unit})" if self.unit else ""
        bounds = " " + _(" and ").join(parts) if parts else ""
        return f"{what}{bounds}{unit}"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        """Metavar shown in --help: the type and its bounds, as click's ranges do."""
        lo = "" if self.lo is None else f"{self.lo:g}{'<' if self.lo_open else '<='}"
        hi = "" if self.hi is None else f"{'<' if self.hi_open else '<='}{self.hi:g}"
        return f"{self.name.upper()} {lo}x{hi}" if (lo or hi) else self.name.upper()

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Parse `value` and check it is finite, in range and (if asked) whole."""
        if value is None:
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(
                _("{value} is not a number; give {range}.").format(
                    value=repr(value), range=self.describe()
                ),
                param,
                ctx,
            )
        if not math.isfinite(number):
            self.fail(
                _("{value} is not a finite number; give {range}.").format(
                    value=repr(value), range=self.describe()
                ),
                param,
                ctx,
            )
        too_low = self.lo is not None and (number < self.lo or (self.lo_open and number == self.lo))
        too_high = self.hi is not None and (
            number > self.hi or (self.hi_open and number == self.hi)
        )
        if too_low or too_high:
            self.fail(
                _("{value} is out of range; give {range}.").format(
                    value=repr(value), range=self.describe()
                ),
                param,
                ctx,
            )
        if self.integer:
            if not number.is_integer():
                self.fail(
                    _("{value} is not a whole number; give {range}.").format(
                        value=repr(value), range=self.describe()
                    ),
                    param,
                    ctx,
                )
            return int(number)
        return number


def crs_options(func: F) -> F:
    """Add --crs, --assume-crs and --repair to a command."""
    func = click.option(
        "--repair",
        type=click.Choice(["warn", "reject"]),
        default="warn",
        show_default=True,
        help="Invalid outlines: repair them and warn with the area change, or reject them.",
    )(func)
    func = click.option(
        "--assume-crs",
        metavar="CRS",
        default=None,
        help="CRS of files that declare none (e.g. a Shapefile without .prj): EPSG:32719 "
        "for UTM 19S metres, EPSG:4326 for degrees. Never overrides a declared CRS.",
    )(func)
    return click.option(
        "--crs",
        metavar="CRS",
        default=S.WORKING_CRS,
        show_default=True,
        help="Working CRS (projected, metres) in which areas and distances are measured.",
    )(func)


def project_options(*, water: bool = False) -> Callable[[F], F]:
    """Add the layer files of a project (--communities, --plots, --corrals, --herds).

    The command receives them as ``communities``, ``plots``, ``corrals``, ``herds``
    (and ``water`` with `water=True`), each a path or None.
    """
    options = [
        ("--communities", "Community boundaries (polygons)."),
        ("--plots", "Fenced pasture plots (polygons, or GPS tracks walked along the fence)."),
        ("--corrals", "Corrals (points or small polygons)."),
        *([("--water", "Water points (springs, ponds...).")] if water else []),
        ("--herds", "Herd register (CSV or XLSX), one row per family."),
    ]

    def decorate(func: F) -> F:
        for name, text in reversed(options):
            func = click.option(name, type=layer_path, help=text)(func)
        return func

    return decorate


def files_or_sample(files: dict[str, str | None], *, doing: str) -> dict[str, str | None]:
    """The files given, or, when none is, the bundled sample's files of the same kinds.

    Parameters
    ----------
    files
        Layer kind (``communities``, ``plots``, ``corrals``, ``water_points``, ``herds``)
        to the path given on the command line, or None.
    doing
        What the command does with them, for the message ("checking", "planning"...).
    """
    if any(files.values()):
        return files
    from pastures.sample import sample_paths

    options = ", ".join(f"--{kind.replace('_', '-')}" for kind in files)
    click.echo(
        _(
            "No layer files given ({options}): {doing} the layers of the bundled illustrative "
            "Juli sample."
        ).format(options=options, doing=_(doing)),
        err=True,
    )
    sample = sample_paths()
    return {kind: str(sample[kind]) for kind in files}


#: Help of the deprecated ``--es``/``--spanish`` flag of check, forage, risk and rotate.
SPANISH_FLAG_HELP = (
    "Deprecated: outputs follow the project's language key (with --project), else the "
    "language of the command line (pastures --lang es ...). The same as --lang es for this "
    "command's outputs; CSV column names no longer change."
)


def output_language(setup: Any = None, *, spanish_flag: bool = False) -> str:
    """The language of a command's outputs (tables' words, workbooks, calendar, chart).

    The project's ``language`` key when the command works in a project (``--project``),
    else the language of the command line (``--lang``, the locale). The deprecated
    ``--es``/``--spanish`` flag asks for Spanish and says it is deprecated.
    """
    from pastures.i18n import cli_language

    if spanish_flag:
        click.secho(
            _(
                "--es/--spanish is deprecated: outputs follow the project's language key, "
                "else the command line's (pastures --lang es ...); CSV column names stay "
                "the same in every language."
            ),
            err=True,
            fg="yellow",
        )
        return "es"
    project = getattr(setup, "project", None)
    if project is not None and getattr(project, "language", None):
        return str(project.language)
    return cli_language()


def echo_problems(problems: list[Problem]) -> None:
    """Print warnings (yellow) and errors (red) to stderr."""
    for p in problems:
        click.secho(f"  {p}", err=True, fg="yellow" if p.severity == "warning" else "red")


def fail_on_errors(problems: list[Problem]) -> None:
    """Raise ValidationError (printed by the CLI group) if any problem is an error."""
    if any(p.severity == "error" for p in problems):
        raise ValidationError(problems)


def summary_headings(language: str) -> dict[str, str]:
    """The community summary's headings for people, in `language`."""
    from pastures.i18n import gettext_for

    tr = gettext_for(language)
    return {column: tr(label) for column, label in S.SUMMARY_LABELS.items()}


def format_summary(table: pd.DataFrame, *, language: str = "en") -> str:
    """The community summary as an aligned text table (headings in `language`)."""
    shown = table.copy()
    shown[S.PLOTS_HA] = shown[S.PLOTS_HA].map(lambda v: f"{v:,.1f}")
    for col in (S.N_FAMILIES, *S.SPECIES_COLUMNS):
        shown[col] = shown[col].map(lambda v: f"{v:,d}")
    if language == "en":
        shown = shown.rename(columns={S.PLOTS_HA: "ha"})
    else:
        shown = shown.rename(columns=summary_headings(language))
    return shown.to_string(index=False)


def field_option(*, kinds: bool) -> Callable[[F], F]:
    """Add ``--field CANONICAL=THEIRS`` (repeatable): a file's own name of a schema field.

    The command-line twin of ``[layers.fields.<kind>]`` in a project file. With
    `kinds` (commands reading several layers), ``KIND.CANONICAL=THEIRS`` names the
    layer; see :func:`parse_fields`.
    """
    where = (
        " Prefix the layer kind when several layers have the field (plots.community=com)."
        if kinds
        else ""
    )
    return click.option(
        "--field",
        "field_map",
        multiple=True,
        metavar="FIELD=YOURS",
        help="Read a field from your own column when its name is not one pastures knows, "
        f"e.g. --field plot_code=id_parcel (repeat for more fields).{where} The same as "
        "[layers.fields.<kind>] in a project file.",
    )


def parse_fields(
    values: tuple[str, ...], given: Mapping[str, object], *, kind: str | None = None
) -> dict[str, dict[str, str]]:
    """``--field`` values as ``{kind: {canonical: theirs}}``.

    Parameters
    ----------
    values
        ``CANONICAL=THEIRS`` or ``KIND.CANONICAL=THEIRS`` texts.
    given
        The layer kinds given on the command line (the keys whose value is not None).
    kind
        The only layer kind of the command (``pastures import``); then no prefix is needed.

    Raises
    ------
    ParameterError
        A value without ``=``, an unknown kind or field, or a field several given
        layers have when no kind prefixes it.
    """
    present = [k for k, v in given.items() if v is not None]
    out: dict[str, dict[str, str]] = {}
    for text in values:
        left, sep, theirs = text.partition("=")
        left, theirs = left.strip(), theirs.strip()
        if not sep or not left or not theirs:
            raise ParameterError(
                _(
                    "--field {text!r}: write FIELD=YOUR_FIELD, e.g. --field plot_code=id_parcel."
                ).format(text=text)
            )
        prefix, dot, canon = left.rpartition(".")
        if dot:
            kinds = [prefix]
        elif kind is not None:
            kinds = [kind]
        else:
            kinds = [k for k in present if canon in S.LAYER_COLUMNS.get(k, ())]
            if len(kinds) > 1:
                raise ParameterError(
                    _(
                        "--field {text!r}: {value} all have a field {canon!r}; say which, e.g. "
                        "--field {value2}.{canon}={theirs}."
                    ).format(
                        text=text,
                        value=", ".join(kinds),
                        canon=canon,
                        value2=kinds[0],
                        theirs=theirs,
                    )
                )
        all_kinds = (*S.LAYER_KINDS, S.HERDS)
        if kinds and kinds[0] not in all_kinds:
            raise ParameterError(
                _("--field {text!r}: unknown layer kind {value!r}; use one of {value2}.").format(
                    text=text, value=kinds[0], value2=", ".join(all_kinds)
                )
            )
        known = sorted(
            {c for k in (kinds or present or all_kinds) for c in S.LAYER_COLUMNS[k]} - {S.AREA_HA}
        )
        if not kinds or canon not in known:
            raise ParameterError(
                f"--field {text!r}: {canon!r} is not a field pastures reads"
                + (f" from {kinds[0]}" if kinds else " from the layers given")
                + f"; the fields: {', '.join(known)}."
            )
        out.setdefault(kinds[0], {})[canon] = theirs
    return out


def area_option(func: F) -> F:
    """Add ``--bounds W,S,E,N``: the study area, for layers outside the district of Juli."""
    return click.option(
        "--bounds",
        metavar="W,S,E,N",
        default=None,
        help="Study area in degrees (west,south,east,north) for layers outside the district "
        "of Juli, as [study_area] bounds in a project file: features more than 5 km outside "
        "it are refused, and areas are measured in its UTM zone unless --crs is given. "
        "Default: the district of Juli, where features more than 25 km outside it are "
        "refused.",
    )(func)


def study_area(bounds: str | None, crs: str) -> tuple[Any, str]:
    """The working area and CRS of ``--bounds`` and ``--crs`` (``pastures import``).

    Without `bounds`: the district of Juli and `crs`. With them: that box with a 5 km
    margin, and its UTM zone when ``--crs`` was left at its default.

    Raises
    ------
    ParameterError
        `bounds` are not four numbers west < east, south < north in degrees, or ``--crs``
        does not cover them.
    """
    setup = resolve_study_area(bounds=bounds, crs=crs)
    return setup.area, setup.crs


def _explicit(name: str) -> bool:
    """True when the option `name` of the running command was given on the command line."""
    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.get_parameter_source(name) not in {
        click.core.ParameterSource.DEFAULT,
        None,
    }


def study_area_options(*, kinds: bool = True) -> Callable[[F], F]:
    """Add a command's study area: --project, --bounds, --boundary, --field, --default.

    The command receives ``project``, ``bounds``, ``boundary``, ``field_map`` and
    ``default_map``; :func:`resolve_study_area` turns them (with ``--crs``,
    ``--assume-crs`` and ``--repair`` when the command has them) into one
    :class:`pastures.studyarea.StudySetup`. The same options on every command that reads
    layers, so the 25 km-from-Juli rule applies only when no area is given.
    """

    def decorate(func: F) -> F:
        func = click.option(
            "--default",
            "default_map",
            multiple=True,
            metavar="FIELD=VALUE",
            help="Value for a field your files lack or leave empty, e.g. --default "
            "plots.pasture_type=pajonal (repeat for more). The same as "
            "[layers.defaults.<kind>] in a project file.",
        )(func)
        func = field_option(kinds=kinds)(func)
        func = click.option(
            "--boundary",
            metavar="FILE",
            type=layer_path,
            default=None,
            help="Study area as a polygon file (any CRS), as [study_area] boundary in a "
            "project file: features more than 5 km outside its box are refused (25 km around "
            "the district of Juli when no study area is given).",
        )(func)
        func = area_option(func)
        return click.option(
            "--project",
            "project_path",
            metavar="PROJECT.toml",
            type=layer_path,
            default=None,
            help="Work in a project file's study area, CRS, field mapping and defaults "
            "(and its layer files, for the layers not given here). Options given here win.",
        )(func)

    return decorate


def resolve_study_area(
    *,
    project: str | None = None,
    bounds: str | None = None,
    boundary: str | None = None,
    crs: str | None = None,
    assume_crs: str | None = None,
    repair: str | None = None,
    field_map: tuple[str, ...] = (),
    default_map: tuple[str, ...] = (),
    files: Mapping[str, object] | None = None,
    kind: str | None = None,
) -> Any:
    """The :class:`pastures.studyarea.StudySetup` of a command's options.

    Parameters
    ----------
    project, bounds, boundary
        ``--project``, ``--bounds``, ``--boundary``: at most one.
    crs, assume_crs, repair
        The command's values; `crs` counts only when typed on the command line (its
        default is Juli's zone, and an area elsewhere takes its own UTM zone).
    field_map, default_map
        ``--field`` and ``--default`` values.
    files
        The layer kinds given (for ``--field`` without a kind prefix).
    kind
        The only layer kind of the command, if it reads one.

    Raises
    ------
    ParameterError
        Several areas given, bad bounds, or a CRS that does not cover the area.
    ProjectError
        The project file is not valid.
    """
    from pastures import studyarea

    given = [
        n for n, v in (("--project", project), ("--bounds", bounds), ("--boundary", boundary)) if v
    ]
    if len(given) > 1:
        raise ParameterError(
            _("Give one study area, not {value}.").format(value=" and ".join(given))
        )
    typed_crs = crs if crs and _explicit("crs") else None
    if project:
        from pastures.project import load_project_file

        setup = studyarea.from_project(load_project_file(project))
    elif bounds:
        setup = studyarea.from_bounds(studyarea.parse_bounds(bounds), crs=typed_crs)
    elif boundary:
        setup = studyarea.from_bounds(
            studyarea.boundary_bounds(boundary),
            crs=typed_crs,
            name=_("the study area ({file})").format(file=Path(boundary).name),
        )
    else:
        setup = studyarea.juli_setup(crs or S.WORKING_CRS)
    kinds = dict(files or {})
    fields = parse_fields(field_map, kinds, kind=kind)
    try:
        defaults = parse_fields(default_map, kinds, kind=kind)
    except ParameterError as exc:
        raise ParameterError(str(exc).replace("--field", "--default")) from exc
    setup = setup.with_overrides(
        crs=typed_crs,
        fields=fields,
        defaults=defaults,
        assume_crs=assume_crs,
        repair=repair if repair and _explicit("repair") else None,
    )
    why = studyarea.crs_zone_problem(setup.area.bounds_lonlat, setup.crs) if typed_crs else None
    if why:
        raise ParameterError(_("--crs {typed_crs}: {why}").format(typed_crs=typed_crs, why=why))
    return setup


def study_layers(*, doing: str, **given: str | None) -> tuple[Any, dict[str, str | None]]:
    """The running command's study area and its layer files.

    The area comes from the command's :func:`study_area_options` (with its ``--crs``,
    ``--assume-crs`` and ``--repair``, read from click's context); the files are those
    `given`, then the project file's, then the bundled sample's (see
    :func:`files_or_sample`; `doing` names the work in its message).
    """
    params = click.get_current_context().params
    setup = resolve_study_area(
        project=params.get("project_path"),
        bounds=params.get("bounds"),
        boundary=params.get("boundary"),
        crs=params.get("crs"),
        assume_crs=params.get("assume_crs"),
        repair=params.get("repair"),
        field_map=params.get("field_map") or (),
        default_map=params.get("default_map") or (),
        files=given,
    )
    return setup, files_or_sample(project_files(setup, given), doing=doing)


def project_files(setup: Any, files: dict[str, str | None]) -> dict[str, str | None]:
    """`files`, with the layers not given taken from the setup's project file (if any)."""
    if setup.project is None:
        return files
    own = setup.project.layers.paths()
    return {
        k: v if v is not None else (str(own[k]) if k in own else None) for k, v in files.items()
    }
