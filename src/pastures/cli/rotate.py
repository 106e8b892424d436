"""``pastures rotate``: plan the grazing rotation of every herd over a year, with a solver."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import click

from pastures import schema as S
from pastures.cli._common import (
    crs_options,
    echo_problems,
    fail_on_errors,
    files_or_sample,
    layer_path,
    project_options,
)
from pastures.errors import MissingDependencyError, ParameterError
from pastures.layers import load_project

DEFAULT_OUT = "pastures-rotation"


def _parse_closure(text: str):
    from pastures.rotation import Closure

    parts = text.split(":")
    if len(parts) != 3:
        raise click.BadParameter(
            f"{text!r}: write PLOT:START:END, e.g. CAL-02:2026-01-01:2026-12-31",
            param_hint="--close",
        )
    try:
        return Closure(
            parts[0], date.fromisoformat(parts[1]), date.fromisoformat(parts[2]), "closed"
        )
    except ValueError as exc:
        raise click.BadParameter(
            f"{text!r}: dates must be ISO (2026-01-31)", param_hint="--close"
        ) from exc


def _read_labour(path: str) -> dict[str, float]:
    from pastures.io import read_table
    from pastures.layers import fold

    table = read_table(Path(path))
    cols = {fold(str(c)).replace(" ", "_"): c for c in table.columns}
    fam = next((cols[k] for k in ("family_id", "familia", "family", "id") if k in cols), None)
    days = next(
        (cols[k] for k in ("labour_days", "labor_days", "jornales", "dias", "labour") if k in cols),
        None,
    )
    if fam is None or days is None:
        raise ParameterError(
            f"{path}: the labour table needs a family_id column and a labour_days (jornales) column"
        )
    try:
        return {str(f): float(d) for f, d in zip(table[fam], table[days], strict=True)}
    except ValueError as exc:
        raise ParameterError(f"{path}: labour days must be numbers ({exc})") from exc


@click.command("rotate")
@project_options()
@crs_options
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default="2026-01-05",
    show_default=True,
    help="First day of the plan.",
)
@click.option("--weeks", type=int, default=52, show_default=True, help="Length of the plan.")
@click.option("--daily", is_flag=True, help="Plan day by day instead of week by week.")
@click.option("--time-limit", type=float, default=60.0, show_default=True, help="Solver limit (s).")
@click.option("--workers", type=int, default=2, show_default=True, help="Solver threads.")
@click.option("--seed", type=int, default=0, show_default=True, help="Solver random seed.")
@click.option("--gap", type=float, default=0.01, show_default=True, help="Stop at this rel. gap.")
@click.option(
    "--solver",
    type=click.Choice(["highs", "cp-sat", "greedy"]),
    default="highs",
    show_default=True,
    help="HiGHS MILP, OR-Tools CP-SAT, or the greedy rule of thumb (no solver).",
)
@click.option(
    "--max-walk-km", type=float, default=6.0, show_default=True, help="Corral to plot, km."
)
@click.option("--max-herds-per-plot", type=int, default=2, show_default=True)
@click.option("--max-consecutive-days", type=int, default=28, show_default=True)
@click.option("--share-tolerance", type=float, default=0.25, show_default=True)
@click.option("--no-shares", is_flag=True, help="Do not share plot animal-days by herd size.")
@click.option(
    "--labour",
    type=layer_path,
    help="Table of labour days each family gave to the fencing (family_id, labour_days): "
    "plot animal-days are shared in proportion to it instead of herd size.",
)
@click.option("--no-rest", is_flag=True, help="Do not enforce rest periods.")
@click.option("--forage-hard", is_flag=True, help="Allow no forage shortfall at all.")
@click.option(
    "--close",
    "closes",
    multiple=True,
    metavar="PLOT:START:END",
    help="Close a plot between two dates (repeatable), e.g. a re-seeded plot for a year.",
)
@click.option(
    "--reserve-dry",
    multiple=True,
    metavar="PLOT",
    help="Keep a plot for the dry season (Jun-Oct): closed the rest of the year (repeatable).",
)
@click.option(
    "--intake",
    type=float,
    default=None,
    help="Dry-matter intake, kg DM per UO per day (default: the forage budget's, 1.145).",
)
@click.option(
    "--use-factor",
    type=float,
    default=None,
    help="Proper-use factor: share of forage production that may be grazed (default 0.5).",
)
@click.option(
    "--max-group-uo",
    type=float,
    default=400.0,
    show_default=True,
    help="Families of a corral are grouped into herds of at most this many UO.",
)
@click.option(
    "--actual",
    type=layer_path,
    help="Log of actual grazing (herd, location, start, end) to set against the plan.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Folder for the outputs.",
)
@click.option("--spanish", "--es", is_flag=True, help="Spanish column headings.")
@click.option("--no-gantt", is_flag=True, help="Skip the Gantt chart PNG.")
def command(  # noqa: PLR0912, PLR0915
    communities: str | None,
    plots: str | None,
    corrals: str | None,
    herds: str | None,
    crs: str,
    assume_crs: str | None,
    repair: str,
    start: datetime,
    weeks: int,
    daily: bool,
    time_limit: float,
    workers: int,
    seed: int,
    gap: float,
    solver: str,
    max_walk_km: float,
    max_herds_per_plot: int,
    max_consecutive_days: int,
    share_tolerance: float,
    no_shares: bool,
    labour: str | None,
    no_rest: bool,
    forage_hard: bool,
    closes: tuple[str, ...],
    reserve_dry: tuple[str, ...],
    intake: float | None,
    use_factor: float | None,
    max_group_uo: float,
    actual: str | None,
    out: Path,
    spanish: bool,
    no_gantt: bool,
) -> None:
    """Plan which herd grazes which plot or open range, week by week, for a year.

    Herds are the families of each corral grouped up to --max-group-uo; locations
    are the fenced plots and each community's open range. Forage supply, intake and
    animal units follow the forage budget's defaults (`pastures forage`: production
    by pasture type, 50 % proper use, growth following the Juli rain). The plan is
    solved with HiGHS (a MILP solver): least forage shortfall first, then fewest
    moves and shortest walks, then most rest. It reports the solver status,
    objective and optimality gap, and where forage falls short, by community and
    weeks, in animal units to move.

    With no file given, plans the bundled illustrative Juli sample.

    \b
    Outputs in --out: rotation_schedule.csv/.xlsx, rotation_calendar.csv,
    rotation_shortfall.csv, rotation_moves.ics, rotation_gantt.png
    (and rotation_practice.csv with --actual).

    \b
    Examples:
      pastures rotate --weeks 12
      pastures rotate --plots parcelas.gpkg --communities comunidades.gpkg \\
                      --corrals corrales.gpkg --herds padron.xlsx --reserve-dry CAL-02
    """
    from pastures import rotation as R
    from pastures import rotation_io as RIO

    if weeks <= 0:
        raise ParameterError(f"--weeks {weeks}: the horizon must be at least one week")
    files = files_or_sample(
        {"communities": communities, "plots": plots, "corrals": corrals, "herds": herds},
        doing="planning",
    )
    project = load_project(
        communities=files["communities"],
        plots=files["plots"],
        corrals=files["corrals"],
        herds=files["herds"],
        crs=crs,
        assume_crs=assume_crs,
        repair=repair,  # type: ignore[arg-type]
    )
    echo_problems(project.problems)
    fail_on_errors(project.problems)
    first = start.date()
    period_days = 1 if daily else 7
    n_periods = weeks * 7 if daily else weeks
    closures = [_parse_closure(c) for c in closes]
    for code in reserve_dry:
        closures += R.season_closures(
            code,
            open_in=("dry",),
            start=first,
            n_days=n_periods * period_days,
            reason="dry reserve",
        )
    forage = replace(R.default_forage_defaults(), max_group_uo=max_group_uo)
    if intake is not None:
        forage = replace(forage, intake_kg_per_uo_day=intake)
    if use_factor is not None:
        forage = replace(forage, use_factor=use_factor)
    inputs = R.rotation_inputs_from_project(
        project,
        start=first,
        n_periods=n_periods,
        period_days=period_days,
        params=forage,
        closures=closures,
        labour=_read_labour(labour) if labour else None,
    )
    params = R.RotationParams(
        forage_hard=forage_hard,
        enforce_rest=not no_rest,
        max_consecutive_days=max_consecutive_days,
        max_walk_m=max_walk_km * 1000.0,
        max_herds_per_plot=max_herds_per_plot,
        family_shares=not no_shares,
        share_tolerance=share_tolerance,
        time_limit_s=time_limit,
        num_workers=workers,
        random_seed=seed,
        relative_gap=gap,
        solver="cp-sat" if solver == "cp-sat" else "highs",
    )
    click.echo(
        f"{len(inputs.herds)} herds ({sum(h.uo for h in inputs.herds):,.0f} UO), "
        f"{len(inputs.locations)} locations, {inputs.n_periods} periods of {period_days} day(s) "
        f"from {first}; solving with {solver} (limit {time_limit:g} s)...",
        err=True,
    )
    if solver == "greedy":
        plan = R.greedy_rotation(inputs, params=params)
    else:
        plan = R.plan_rotation(inputs, params=params)
    b = plan.breakdown
    click.echo(
        f"Status: {plan.status}; objective {plan.objective:,.0f} (bound {plan.bound:,.0f}, "
        f"gap {plan.gap:.2%}); {plan.seconds:.1f} s; {plan.n_variables:,} variables."
    )
    demand = int(plan.balance.demand.sum())
    click.echo(
        f"Forage shortfall {b.shortfall_kg:,} kg DM of {demand:,} kg DM demand "
        f"({b.shortfall_kg / max(demand, 1):.1%}); {b.moves} moves; "
        f"{b.grazed_plot_periods} plot-periods grazed."
    )
    violations = plan.violations()
    if violations and plan.status != "infeasible":
        for v in violations[:20]:
            click.secho(f"  {v}", err=True, fg="red")
    if plan.notes:
        click.echo("\nWhere forage falls short (proper-use allowance):")
        worst = sorted(plan.notes, key=lambda n: -n.shortfall_kg)[:15]
        for note in sorted(worst, key=lambda n: (n.community, n.first_period)):
            click.echo(f"  {note.message}")
        if len(plan.notes) > 15:
            click.echo(f"  ... and {len(plan.notes) - 15} more in rotation_shortfall.csv")
    try:
        written = RIO.write_plan_outputs(plan, out, spanish=spanish, gantt=not no_gantt)
    except MissingDependencyError as exc:
        click.secho(f"{exc}; writing the plan without the Gantt chart.", err=True, fg="yellow")
        written = RIO.write_plan_outputs(plan, out, spanish=spanish, gantt=False)
    if actual:
        log = RIO.read_grazing_log(actual)
        practice = RIO.plan_against_practice(plan, log)
        written.append(RIO.write_practice(practice, out / "rotation_practice.csv", spanish=spanish))
        short = practice[S.REST_SHORT_DAYS].fillna(0)
        click.echo(
            f"\nPractice: {len(practice)} logged stays, {int((short > 0).sum())} with too little "
            f"rest before them, {int((practice[S.DAYS_OVER] > 0).sum())} too long, "
            f"{int(practice[S.DAYS_OFF_PLAN].sum())} days off plan."
        )
    click.echo(f"\nWrote {len(written)} files to {out}/:")
    for path in written:
        click.echo(f"  {path.name}")
    if plan.status == "infeasible":
        click.secho(
            "No plan keeps every hard rule (see the shortfall above); the files hold the plan "
            "with the least shortfall.",
            err=True,
            fg="red",
        )
        click.get_current_context().exit(1)
    if plan.status == "unknown":
        click.secho("The solver found no plan in time: raise --time-limit.", err=True, fg="red")
        click.get_current_context().exit(1)
