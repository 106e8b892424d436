"""Benchmark: the grazing rotation MILP against the greedy rule of thumb, growing sizes.

Instances (nothing is downloaded):

- the bundled Juli sample: all 250 families grouped per corral into herds of at most
  400 UO (118 herds), 40 plots plus 11 open ranges, 52 weeks;
- synthetic projects of 100, 300 and 1,000 plots: communities 10 km apart with 5
  plots (3-30 ha, mixed pasture types), 2 corrals and about 10 herd groups of
  80-450 UO each, plus their open range, 52 weeks. Built with a fixed seed.

For each: the greedy baseline (:func:`pastures.rotation.greedy_rotation`) and the
MILP (:func:`pastures.rotation.plan_rotation`, HiGHS, 2 threads, seed 0, 60 s, stop
at 1 % gap), both checked by :func:`pastures.rotation.check_plan`. Prints the scaling
table (plots, herds, periods, variables, status, gap, seconds) and the objective
and time of the MILP against the greedy baseline measured in the same run.

Run:  python benchmarks/bench_rotation.py [--sizes 100 300 1000] [--time-limit 60]
"""

from __future__ import annotations

import argparse
import math
import time
from datetime import date

import numpy as np

from pastures import rotation as R
from pastures.layers import load_project
from pastures.sample import sample_paths

START = date(2026, 1, 5)
TYPES = ("pajonal", "pajonal", "cesped", "tolar", "bofedal")


def synthetic(n_plots: int, *, weeks: int = 52, seed: int = 0) -> R.RotationInputs:
    """Communities of 5 plots, 2 corrals and ~10 herds each, 10 km apart."""
    rng = np.random.default_rng(seed)
    d = R.ForageDefaults()
    herds: list[R.HerdGroup] = []
    locations: list[R.Location] = []
    n_com = math.ceil(n_plots / 5)
    side = math.ceil(math.sqrt(n_com))

    def growth(area: float, ptype: str) -> tuple[tuple[int, ...], float]:
        annual = area * d.production_kg_ha_yr[ptype] * d.use_factor
        months = d.growth_months_bofedal if ptype == "bofedal" else d.growth_months
        return (
            R.growth_per_period(annual, months, start=START, period_days=7, n_periods=weeks),
            annual,
        )

    plot_no = 0
    for c in range(n_com):
        com = f"C{c:04d}"
        cx, cy = 400_000 + 10_000 * (c % side), 8_150_000 + 10_000 * (c // side)
        corrals = [(cx + rng.uniform(-1500, 1500), cy + rng.uniform(-1500, 1500)) for _ in range(2)]
        for _ in range(min(5, n_plots - plot_no)):
            ptype = TYPES[int(rng.integers(len(TYPES)))]
            area = float(rng.uniform(3, 30))
            g, annual = growth(area, ptype)
            locations.append(
                R.Location(
                    f"{com}-P{plot_no:05d}",
                    com,
                    "plot",
                    ptype,
                    area,
                    cx + rng.uniform(-3000, 3000),
                    cy + rng.uniform(-3000, 3000),
                    g,
                    round(annual * d.initial_share),
                    round(annual * d.cap_share),
                )
            )
            plot_no += 1
        g, annual = growth(1500 * d.open_range_share, "pajonal")
        locations.append(
            R.Location(
                R.open_range_id(com),
                com,
                "open_range",
                "pajonal",
                1500 * d.open_range_share,
                math.nan,
                math.nan,
                g,
                round(annual * d.initial_share),
                round(annual * d.cap_share),
            )
        )
        for k in range(int(rng.integers(8, 13))):
            x, y = corrals[k % 2]
            herds.append(
                R.HerdGroup(
                    f"{com}-H{k:02d}", com, f"{com}-K{k % 2}", float(rng.uniform(80, 450)), x, y
                )
            )
    return R.RotationInputs(tuple(herds), tuple(locations), START, 7, weeks, 1.0)


def sample_inputs(weeks: int) -> R.RotationInputs:
    project = load_project(**{k: str(v) for k, v in sample_paths().items()})
    return R.rotation_inputs_from_project(project, start=START, n_periods=weeks)


def rest_achieved(plan: R.RotationPlan) -> tuple[float, float]:
    """Median rest after a plot stay (days), and the median rest the rules required."""
    inp, a = plan.inputs, plan.assignment
    got, need = [], []
    for i, loc in enumerate(inp.locations):
        if loc.kind != "plot":
            continue
        grazed = (a == i).any(axis=0)
        for t in range(inp.n_periods - 1):
            if grazed[t] and not grazed[t + 1]:
                later = np.flatnonzero(grazed[t + 1 :])
                if len(later):
                    got.append(int(later[0]) * inp.period_days)
                    need.append(
                        plan.params.rest_periods(loc.pasture_type, inp.season(t), inp.period_days)
                        * inp.period_days
                    )
    if not got:
        return math.nan, math.nan
    return float(np.median(got)), float(np.median(need))


def run(name: str, inp: R.RotationInputs, params: R.RotationParams) -> dict[str, object]:
    n_plots = sum(loc.kind == "plot" for loc in inp.locations)
    t0 = time.perf_counter()
    greedy = R.greedy_rotation(inp, params=params)
    t_greedy = time.perf_counter() - t0
    greedy_ok = not R.check_plan(inp, greedy.assignment, params=params)
    t0 = time.perf_counter()
    plan = R.plan_rotation(inp, params=params, hint=greedy.assignment)
    t_milp = time.perf_counter() - t0 + t_greedy  # the hint is part of the MILP's time
    milp_ok = not R.check_plan(inp, plan.assignment, params=params)
    rest, rest_need = rest_achieved(plan)
    return {
        "instance": name,
        "plots": n_plots,
        "herds": len(inp.herds),
        "periods": inp.n_periods,
        "variables": plan.n_variables,
        "status": plan.status,
        "gap": plan.gap,
        "seconds": t_milp,
        "milp_obj": plan.objective,
        "milp_ok": milp_ok,
        "greedy_obj": greedy.objective,
        "greedy_s": t_greedy,
        "greedy_ok": greedy_ok,
        "shortfall": plan.breakdown.shortfall_kg,
        "demand": int(plan.balance.demand.sum()),
        "greedy_shortfall": greedy.breakdown.shortfall_kg,
        "moves": plan.breakdown.moves,
        "greedy_moves": greedy.breakdown.moves,
        "rest": rest,
        "rest_need": rest_need,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 300, 1000])
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    params = R.RotationParams(time_limit_s=args.time_limit, num_workers=args.workers)
    rows = [run("Juli sample", sample_inputs(args.weeks), params)]
    print(_row_text(rows[-1], header=True), flush=True)
    for size in args.sizes:
        rows.append(run(f"synthetic {size}", synthetic(size, weeks=args.weeks), params))
        print(_row_text(rows[-1]), flush=True)
    print()
    print("MILP against the greedy baseline (same run):")
    for r in rows:
        better = (r["greedy_obj"] - r["milp_obj"]) / r["greedy_obj"]  # type: ignore[operator]
        print(
            f"  {r['instance']:16s} objective {r['milp_obj']:,.0f} vs {r['greedy_obj']:,.0f} "
            f"({better:+.2%} lower), shortfall {r['shortfall']:,} vs {r['greedy_shortfall']:,} "
            f"kg DM of {r['demand']:,}; moves {r['moves']} vs {r['greedy_moves']}; time "
            f"{r['seconds']:.1f} s vs {r['greedy_s']:.2f} s "
            f"(x{r['seconds'] / max(r['greedy_s'], 1e-9):.0f}); rules kept: "  # type: ignore[operator]
            f"MILP {r['milp_ok']}, greedy {r['greedy_ok']}; median rest after a plot stay "
            f"{r['rest']:.0f} d (required {r['rest_need']:.0f} d)"
        )


def _row_text(r: dict[str, object], *, header: bool = False) -> str:
    line = (
        f"{r['instance']:16s} {r['plots']:>6} {r['herds']:>6} {r['periods']:>7} "
        f"{r['variables']:>10,} {r['status']:>9} {r['gap']:>7.2%} {r['seconds']:>8.1f}"
    )
    if header:
        head = (
            f"{'instance':16s} {'plots':>6} {'herds':>6} {'periods':>7} {'variables':>10} "
            f"{'status':>9} {'gap':>7} {'seconds':>8}"
        )
        return head + "\n" + line
    return line


if __name__ == "__main__":
    main()
