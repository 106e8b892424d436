"""``pastures rotate``: plan how many animals of which herd graze where, week by week."""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import click

from pastures import schema as S
from pastures.cli._command import Command
from pastures.cli._common import (
    DAY,
    SPANISH_FLAG_HELP,
    FiniteRange,
    crs_options,
    echo_problems,
    fail_on_errors,
    layer_path,
    output_language,
    project_options,
    study_area_options,
    study_layers,
)
from pastures.defaults import DEFAULT_GAP as R_DEFAULT_GAP
from pastures.errors import MissingDependencyError, ParameterError
from pastures.i18n import N_, _

DEFAULT_OUT = "pastures-rotation"


def _parse_closure(text: str):
    from pastures.rotation import Closure

    parts = text.split(":")
    if len(parts) != 3:
        raise click.BadParameter(
            _("{text!r}: write PLOT:START:END, e.g. CAL-02:2026-01-01:2026-12-31").format(
                text=text
            ),
            param_hint="--close",
        )
    try:
        first, last = date.fromisoformat(parts[1]), date.fromisoformat(parts[2])
    except ValueError as exc:
        raise click.BadParameter(
            _("{text!r}: dates must be ISO (2026-01-31)").format(text=text), param_hint="--close"
        ) from exc
    if last < first:
        raise click.BadParameter(
            _(
                "{text!r}: the closure ends ({last}) before it starts ({first}); swap the dates"
            ).format(text=text, last=last, first=first),
            param_hint="--close",
        )
    return Closure(parts[0], first, last, "closed")


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
            _(
                "{path}: the labour table needs a family_id column and a labour_days "
                "(jornales) column"
            ).format(path=path)
        )
    try:
        return {str(f): float(d) for f, d in zip(table[fam], table[days], strict=True)}
    except ValueError as exc:
        raise ParameterError(
            _("{path}: labour days must be numbers ({exc})").format(path=path, exc=exc)
        ) from exc


@click.command("rotate", cls=Command)
@project_options()
@crs_options
@study_area_options(kinds=True)
@click.option(
    "--indices",
    "indices_path",
    type=layer_path,
    help="Per-plot index table from `pastures indices` (Parquet, CSV or XLSX): each plot's "
    "forage comes from the vegetation index (the forage budget of `pastures forage`).",
)
@click.option(
    "--calibration",
    "calibration_path",
    type=layer_path,
    help="Field quadrat cuts (CSV/XLSX: plot_code or x/y or lon/lat, date, biomass_kg_ha) "
    "that fit the index-biomass relation of each pasture type, as `pastures forage "
    "--calibration` does; needs --indices. Without cuts only bofedales follow the index.",
)
@click.option(
    "--forage-budget",
    "budget_path",
    type=layer_path,
    help="forage_plots.csv (or .xlsx) written by `pastures forage`: each plot's available "
    "forage and standing stock are taken from it.",
)
@click.option(
    "--forage-params",
    type=layer_path,
    help="Forage parameters (TOML, as `pastures forage --params`): use factor, animal units, "
    "production by pasture type, open range.",
)
@click.option(
    "--start",
    type=DAY,
    default="2026-01-05",
    show_default=True,
    help="First day of the plan.",
)
@click.option(
    "--weeks",
    type=FiniteRange(1, 520, integer=True),
    default=52,
    show_default=True,
    help="Length of the plan (1-520 weeks).",
)
@click.option("--daily", is_flag=True, help="Plan day by day instead of week by week.")
@click.option(
    "--solver",
    type=click.Choice(["highs", "greedy"]),
    default="highs",
    show_default=True,
    help="HiGHS MILP, or the greedy rule of thumb (each plot grazed once, late dry season).",
)
@click.option(
    "--max-nodes",
    type=FiniteRange(1, 10_000_000, integer=True),
    default=500,
    show_default=True,
    help="Branch-and-bound nodes per block: the work limit that stops the search (the same "
    "plan on any machine).",
)
@click.option(
    "--gap",
    type=FiniteRange(0, 1),
    default=R_DEFAULT_GAP,
    show_default=True,
    help="Target relative gap of the whole plan (0-1): branch and cut runs on the fewest "
    "blocks whose start plans keep the plan above it, each stopping at this gap or its "
    "node limit. 0.02: the forage figures carry far wider intervals than 2 %.",
)
@click.option(
    "--time-limit",
    type=FiniteRange(0, 86_400, lo_open=True, unit="s"),
    default=120.0,
    show_default=True,
    help="Wall-clock safety net (s); the plan says when it was hit.",
)
@click.option(
    "--workers",
    type=FiniteRange(1, 64, integer=True),
    default=2,
    show_default=True,
    help="Blocks solved at once.",
)
@click.option(
    "--seed",
    type=FiniteRange(0, 2**31 - 1, integer=True),
    default=0,
    show_default=True,
    help="Solver random seed.",
)
@click.option(
    "--max-walk-km",
    type=FiniteRange(0, 100, lo_open=True, unit="km"),
    default=6.0,
    show_default=True,
    help="Corral to plot, km.",
)
@click.option(
    "--max-consecutive-days",
    type=FiniteRange(1, 366, integer=True),
    default=28,
    show_default=True,
    help="Longest run of consecutive days a plot is grazed before it must rest.",
)
@click.option(
    "--share-tolerance",
    type=FiniteRange(0, 1),
    default=0.25,
    show_default=True,
    help="How far (share) a family's plot UO-days may stray from its share by herd size "
    "(or by --labour).",
)
@click.option("--no-shares", is_flag=True, help="Do not share plot UO-days by herd size.")
@click.option(
    "--labour",
    type=layer_path,
    help="Table of labour days each family gave to the fencing (family_id, labour_days): "
    "plot UO-days are shared in proportion to it instead of herd size.",
)
@click.option("--no-rest", is_flag=True, help="Do not enforce rest periods.")
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
    "--open-in-rains",
    multiple=True,
    metavar="PLOT",
    help="Graze a plot in the growing season too (default: plots are the dry-season "
    "reserve, closed Dec-Mar). Repeatable.",
)
@click.option(
    "--recovery",
    multiple=True,
    metavar="PLOT",
    help="Set a plot for recovery: no grazing in this plan (repeatable).",
)
@click.option(
    "--parturition",
    multiple=True,
    metavar="PLOT",
    help="Keep a plot for mothers at parturition: open in the growing season (repeatable).",
)
@click.option(
    "--no-reserve",
    is_flag=True,
    help="Do not close the plots in the growing season (they are then grazed as they grow).",
)
@click.option(
    "--min-group",
    type=FiniteRange(1, 10_000, integer=True),
    default=10,
    show_default=True,
    help="Fewest heads in a grazing group or sub-group (what a herder separates).",
)
@click.option(
    "--max-group",
    type=FiniteRange(1, 100_000, integer=True),
    default=150,
    show_default=True,
    help="Most heads in a grazing group; larger corral herds are split into sub-groups.",
)
@click.option(
    "--bale-kg",
    type=FiniteRange(1, 2000, unit="kg"),
    default=25.0,
    show_default=True,
    help="Weight of a hay bale as bought, kg (the deficit in bales).",
)
@click.option(
    "--bale-dm",
    type=FiniteRange(0, 1, lo_open=True),
    default=0.85,
    show_default=True,
    help="Dry-matter share of a hay bale.",
)
@click.option(
    "--oats-yield",
    type=FiniteRange(1, 50_000, unit="kg DM/ha"),
    default=1623.0,
    show_default=True,
    help="Forage-oat yield, kg DM/ha (dry puna, Zeballos-Cabana et al. 2023).",
)
@click.option(
    "--max-group-uo",
    type=FiniteRange(1, 100_000, unit="UO"),
    default=400.0,
    show_default=True,
    hidden=True,
    help="Families of a corral are packed into solver herds of at most this many UO.",
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
@click.option("--spanish", "--es", is_flag=True, hidden=True, help=SPANISH_FLAG_HELP)
@click.option("--no-gantt", is_flag=True, help="Skip the Gantt chart PNG.")
def command(  # noqa: PLR0912, PLR0915
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
    calibration_path: str | None,
    budget_path: str | None,
    forage_params: str | None,
    start: datetime,
    weeks: int,
    daily: bool,
    solver: str,
    max_nodes: int,
    gap: float,
    time_limit: float,
    workers: int,
    seed: int,
    max_walk_km: float,
    max_consecutive_days: int,
    share_tolerance: float,
    no_shares: bool,
    labour: str | None,
    no_rest: bool,
    closes: tuple[str, ...],
    reserve_dry: tuple[str, ...],
    open_in_rains: tuple[str, ...],
    recovery: tuple[str, ...],
    parturition: tuple[str, ...],
    no_reserve: bool,
    min_group: int,
    max_group: int,
    bale_kg: float,
    bale_dm: float,
    oats_yield: float,
    max_group_uo: float,
    actual: str | None,
    out: Path,
    spanish: bool,
    no_gantt: bool,
) -> None:
    """Plan where each group of whole animals grazes, week by week; what closes the gap.

    Groups are the animals of each corral by species (a small species joins the
    corral's largest group; groups above --max-group heads are split into named
    sub-groups of at least --min-group heads). Each group is in one place a week,
    whole: a fenced plot or the community's open range. The plots are the
    dry-season reserve: closed Dec-Mar (unless --open-in-rains, --parturition or
    --no-reserve), grazed as standing hay in the dry season; a plot never carries
    more than its usable forage nor more UO per ha than its type allows. The open
    range is one stock of standing forage per community: groups never eat more
    than stands; eating beyond its proper-use share (into the residual the
    plants need) is overuse. When nothing stands, rotation_deficit.csv says from
    which date, and what closes the gap: heads to sell or move by that date (at
    the worst week), bales, or hectares of oats to sow.

    Forage comes from the forage budget (`pastures forage`): with --indices from
    the vegetation index of each plot (bofedales by their published relation; every
    type by its own index with --calibration cuts), with --forage-budget from a
    budget already written, otherwise from the production of each pasture type.
    Each plot records its source in rotation_plots.csv.

    The search stops on a node limit (--max-nodes) so the same inputs give the
    same plan on an idle or a busy machine; --time-limit is only a safety net.

    With no file given, plans the bundled illustrative Juli sample.

    \b
    Outputs in --out: rotation_schedule.csv, rotation_groups.csv,
    rotation_deficit.csv, rotation_routes.csv (route sheet per group),
    rotation_plan.csv (plan per community), rotation_calendar.csv (in heads),
    rotation_range.csv, rotation_plots.csv, rotation_summary.csv,
    rotation_plan.xlsx, rotation_moves.ics (one event per move),
    rotation_gantt.png (and rotation_practice.csv with --actual).

    \b
    Examples:
      pastures rotate --weeks 12
      pastures rotate --indices run/indices/index_series.parquet \\
                      --calibration cortes.csv --out plan
      pastures rotate --forage-budget run/forage/forage_plots.csv --out plan
      pastures rotate --plots parcelas.gpkg --communities comunidades.gpkg \\
                      --corrals corrales.gpkg --herds padron.xlsx --reserve-dry CAL-02
    """
    from pastures import rotation as R
    from pastures.cli.forage import read_index_table
    from pastures.forage import ForageParams, calibrate_from_cuts, forage_budget, load_params
    from pastures.io import read_table
    from pastures.layers import load_project
    from pastures.rotation.inputs import budget_with_plot_table
    from pastures.rotation.practice import (
        plan_against_practice,
        read_grazing_log,
        write_practice,
    )

    if daily and weeks > 104:
        raise ParameterError(
            _(
                "--weeks {weeks} with --daily: plan at most 104 weeks day by day "
                "({value:,} daily periods would make a model too large to build); plan "
                "week by week for longer horizons."
            ).format(weeks=weeks, value=weeks * 7)
        )
    if indices_path and budget_path:
        raise click.UsageError(_("give --indices or --forage-budget, not both"))
    if calibration_path and not indices_path:
        raise click.UsageError(
            _("--calibration needs --indices (the index of each plot on the dates of the cuts).")
        )
    given = {"communities": communities, "plots": plots, "corrals": corrals, "herds": herds}
    setup, files = study_layers(doing=N_("planning"), **given)
    language = output_language(setup, spanish_flag=spanish)
    project = load_project(**files, **setup.reading())
    fail_on_errors(project.problems)  # the CLI group prints them, each once, and counts them
    echo_problems(project.problems)  # warnings only, by now
    fparams = load_params(forage_params) if forage_params else ForageParams()
    index_table = read_index_table(indices_path) if indices_path else None
    calibration = None
    if calibration_path and index_table is not None:
        calibration, warnings = calibrate_from_cuts(
            calibration_path,
            project.plots,
            index_table,
            index=fparams.index,
            min_valid_fraction=fparams.min_valid_fraction,
        )
        echo_problems(warnings)
    budget = forage_budget(
        project, index_table=index_table, calibration=calibration, params=fparams
    )
    if budget_path:
        budget = budget_with_plot_table(budget, read_table(Path(budget_path)), source=budget_path)
    first = start.date()
    period_days = 1 if daily else 7
    n_periods = weeks * 7 if daily else weeks
    closures = [_parse_closure(c) for c in closes]
    for code in reserve_dry:
        closures += R.season_closures(
            code, open_in=("dry",), start=first, n_days=n_periods * period_days,
            reason="dry reserve",
        )  # fmt: skip
    inputs = R.rotation_inputs_from_project(
        project,
        budget=budget,
        start=first,
        n_periods=n_periods,
        period_days=period_days,
        closures=closures,
        labour=_read_labour(labour) if labour else None,
        max_group_uo=max_group_uo,
        reserve=not no_reserve,
        open_in_rains=open_in_rains,
        recovery=recovery,
        parturition=parturition,
        min_group_heads=min_group,
        max_group_heads=max_group,
    )
    feed = R.FeedOptions(bale_kg=bale_kg, bale_dm=bale_dm, oats_kg_dm_ha=oats_yield)
    params = replace(
        R.RotationParams(),
        enforce_rest=not no_rest,
        max_consecutive_days=max_consecutive_days,
        max_walk_m=max_walk_km * 1000.0,
        family_shares=not no_shares,
        share_tolerance=share_tolerance,
        max_nodes=max_nodes,
        time_limit_s=time_limit,
        num_workers=workers,
        random_seed=seed,
        relative_gap=gap,
    )
    R.validate_params(params, period_days=period_days)
    sources = Counter(loc.source for loc in inputs.locations if loc.kind == "plot")
    plot_sources = [f"{src} ({n} plot{'s' if n > 1 else ''})" for src, n in sorted(sources.items())]
    heads = [sum(g.heads[s] for g in inputs.groups) for s in range(3)]
    click.echo(
        _(
            "{groups} grazing groups ({value:,} alpacas, {value2:,} llamas, "
            "{value3:,} sheep; {value4:,.0f} UO at {intake_kg_per_uo_day:.3f} kg "
            "DM/UO/day), {locations} locations, {n_periods} periods of {period_days} "
            "day(s) from {first}; plot forage from {value5}. Solving with {solver}..."
        ).format(
            groups=len(inputs.groups),
            value=heads[0],
            value2=heads[1],
            value3=heads[2],
            value4=sum(g.uo for g in inputs.groups),
            intake_kg_per_uo_day=inputs.intake_kg_per_uo_day,
            locations=len(inputs.locations),
            n_periods=inputs.n_periods,
            period_days=period_days,
            first=first,
            value5="; ".join(plot_sources) or "no plots",
            solver=solver,
        ),
        err=True,
    )
    with click.progressbar(
        length=1, label="blocks", file=sys.stderr, hidden=not sys.stderr.isatty()
    ) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        run = R.greedy_rotation if solver == "greedy" else R.plan_rotation
        plan = run(inputs, params, progress=progress)
    gp = R.place_groups(plan)
    click.echo(
        _(
            "Status: {status}; plan of whole groups {objective:,.0f}, bound "
            "{bound:,.0f}, gap {gap:.2%}; {blocks} blocks, {n_variables:,} variables "
            "({n_integer:,} binary); {seconds:.1f} s."
        ).format(
            status=plan.status,
            objective=gp.objective,
            bound=plan.bound,
            gap=gp.gap,
            blocks=len(plan.blocks),
            n_variables=plan.n_variables,
            n_integer=plan.n_integer,
            seconds=plan.seconds,
        )
    )
    plots_mask = gp.is_plot()
    on_plots = float(gp.eaten_kg[plots_mask].sum())
    click.echo(
        _(
            "Plots: {value:,.0f} t DM eaten, {value2:.1%} of it June to November. "
            "Open range: {value3:,.0f} t DM eaten ({value4:,.0f} t beyond its "
            "proper-use share); fodder needed {value5:,.0f} t DM."
        ).format(
            value=on_plots / 1000,
            value2=R.plot_share_jun_nov(gp),
            value3=float(gp.eaten_kg[~plots_mask].sum()) / 1000,
            value4=float(gp.overuse_kg.sum()) / 1000,
            value5=float(gp.fodder_kg.sum()) / 1000,
        )
    )
    if plan.time_limit_hit:
        click.secho(
            _(
                "The --time-limit safety net ({time_limit:g} s) stopped the search: this "
                "plan may differ on a busier or idler machine. Raise --time-limit or "
                "lower --max-nodes."
            ).format(time_limit=time_limit),
            err=True,
            fg="yellow",
        )
    violations = R.check_groups(gp)
    for v in violations[:20]:
        click.secho(f"  {v}", err=True, fg="red")
    status = R.group_plot_status(gp)
    if len(status):
        unused = status[status["status"] == "unused"]
        click.echo(
            f"\nPlots: {len(status) - len(unused)} of {len(status)} grazed"
            + (
                "; unused: "
                + ", ".join(f"{r[S.LOCATION_ID]} ({r['reason']})" for _, r in unused.iterrows())
                if len(unused)
                else "."
            )
        )
    deficit = R.deficit_table(gp, options=feed, units=fparams.units, language=language)
    click.echo("\nFeed budget per community (rotation_deficit.csv):")
    for _unused, row in deficit.iterrows():
        click.echo(f"  {R.deficit_note(row, language=language)}")
    try:
        written = R.write_plan_outputs(
            gp, out, language=language, gantt=not no_gantt, feed=feed, units=fparams.units
        )
    except MissingDependencyError as exc:
        click.secho(
            _("{exc}; writing the plan without the Gantt chart.").format(exc=exc),
            err=True,
            fg="yellow",
        )
        written = R.write_plan_outputs(
            gp, out, language=language, gantt=False, feed=feed, units=fparams.units
        )
    if actual:
        practice = plan_against_practice(plan, read_grazing_log(actual))
        written.append(write_practice(practice, out / "rotation_practice.csv", language=language))
        short = practice[S.REST_SHORT_DAYS].fillna(0)
        click.echo(
            "\n"
            + _(
                "Practice: {practice} logged stays, {value} with too little rest before "
                "them, {value2} too long, {value3} days off plan."
            ).format(
                practice=len(practice),
                value=int((short > 0).sum()),
                value2=int((practice[S.DAYS_OVER] > 0).sum()),
                value3=int(practice[S.DAYS_OFF_PLAN].sum()),
            )
        )
    click.echo("\n" + _("Wrote {written} files to {out}/:").format(written=len(written), out=out))
    for path in written:
        click.echo(f"  {path.name}")
