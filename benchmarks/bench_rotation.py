"""Benchmark: the grazing rotation MILP against the greedy rule of thumb, growing sizes.

Instances (nothing is downloaded):

- the bundled Juli sample (40 plots): all families grouped per corral into herds of at
  most 400 UO, 40 plots plus the open ranges, 52 weeks, supply from the forage budget;
- synthetic projects of 100, 300 and 1,000 plots: communities 10 km apart with 5 plots
  (3-30 ha, mixed pasture types), 2 corrals and 8-12 herd groups of 80-450 UO each
  (about 2,000 herd groups at 1,000 plots), an open range of 1,050 grazeable ha each,
  52 weeks, supply from the forage budget's defaults. Built with a fixed seed.

For each: the greedy rule (:func:`pastures.rotation.greedy_rotation`: one late
dry-season stay per plot, the split solved as an LP) and the MILP
(:func:`pastures.rotation.plan_rotation`: LP bound and start plans on every block, then
branch and cut (HiGHS, one thread per block, node limit 500) on the fewest blocks that
can bring the plan within ``--gap``; blocks in ``--workers`` processes), both checked by
:func:`pastures.rotation.check_plan`. Prints model size, build and solve time, the gap
against the LP-or-better bound, the greedy rule's objective and gap beside, and the
load average.

Run:  python benchmarks/bench_rotation.py [--sizes 40 100 300 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import math
import time
from datetime import date

import numpy as np

from pastures import rotation as R
from pastures.forage import ForageParams, growth_shares
from pastures.layers import load_project
from pastures.sample import sample_paths

START = date(2026, 1, 5)
TYPES = ("pajonal", "pajonal", "cesped", "tolar", "bofedal")


def synthetic(n_plots: int, *, weeks: int = 52, seed: int = 0) -> R.RotationInputs:
    """Communities of 5 plots, 2 corrals and 8-12 herds each, 10 km apart."""
    rng = np.random.default_rng(seed)
    fp = ForageParams()
    herds: list[R.HerdGroup] = []
    locations: list[R.Location] = []
    n_com = math.ceil(n_plots / 5)
    side = math.ceil(math.sqrt(n_com))

    def supply(area: float, ptype: str) -> tuple[tuple[float, ...], float]:
        kind = fp.pasture_types.get(ptype, fp.pasture_types["pajonal"])
        annual = area * kind.production_central * fp.use_factor
        shares = growth_shares(kind.uniform_growth_share, fp.monthly_rain_mm)
        growth = R.growth_per_period(annual, shares, start=START, period_days=7, n_periods=weeks)
        return growth, annual

    plot_no = 0
    for c in range(n_com):
        com = f"C{c:04d}"
        cx, cy = 400_000 + 10_000 * (c % side), 8_150_000 + 10_000 * (c // side)
        corrals = [(cx + rng.uniform(-1500, 1500), cy + rng.uniform(-1500, 1500)) for _ in range(2)]
        for _ in range(min(5, n_plots - plot_no)):
            ptype = TYPES[int(rng.integers(len(TYPES)))]
            area = float(rng.uniform(3, 30))
            g, annual = supply(area, ptype)
            locations.append(
                R.Location(
                    f"{com}-P{plot_no:05d}", com, "plot", ptype, area,
                    cx + rng.uniform(-3000, 3000), cy + rng.uniform(-3000, 3000),
                    g, 0.4 * annual, "synthetic: pasture-type default",
                )
            )  # fmt: skip
            plot_no += 1
        g, _ = supply(1500 * 0.7, "pajonal")
        locations.append(
            R.Location(R.open_range_id(com), com, "open_range", "open range", 1050.0, math.nan,
                       math.nan, g, 0.0, "synthetic")
        )  # fmt: skip
        for k in range(int(rng.integers(8, 13))):
            x, y = corrals[k % 2]
            herds.append(
                R.HerdGroup(
                    f"{com}-H{k:02d}", com, f"{com}-K{k % 2}", float(rng.uniform(80, 450)), x, y
                )
            )
    return R.RotationInputs(
        tuple(herds), tuple(locations), START, 7, weeks, fp.kg_dm_per_uo_day,
        standing_loss_per_month=fp.standing_loss_per_month,
    )  # fmt: skip


def sample_inputs(weeks: int) -> R.RotationInputs:
    project = load_project(**{k: str(v) for k, v in sample_paths().items()})
    return R.rotation_inputs_from_project(project, start=START, n_periods=weeks)


def loadavg() -> str:
    with open("/proc/loadavg", encoding="ascii") as f:  # noqa: PTH123
        return " ".join(f.read().split()[:3])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[40, 100, 300, 1000])
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-nodes", type=int, default=500)
    ap.add_argument("--gap", type=float, default=0.02, help="plan's relative gap target")
    ap.add_argument("--time-limit", type=float, default=600.0)
    args = ap.parse_args()
    params = R.RotationParams(
        num_workers=args.workers,
        max_nodes=args.max_nodes,
        relative_gap=args.gap,
        time_limit_s=args.time_limit,
    )
    print(f"load average before: {loadavg()}")
    head = (
        f"{'plots':>5} {'herds':>5} {'blocks':>6} {'vars':>8} {'bins':>7} {'rows':>8} "
        f"{'build s':>7} {'solve s':>7} {'status':>8} {'gap':>7} {'limit':>5} "
        f"{'greedy s':>8} {'greedy gap':>10} {'obj/greedy':>10} {'viol':>4} {'load':>14}"
    )
    print(head)
    for n in args.sizes:
        t0 = time.perf_counter()
        inputs = sample_inputs(args.weeks) if n == 40 else synthetic(n, weeks=args.weeks)
        prep = time.perf_counter() - t0
        greedy = R.greedy_rotation(inputs, params)
        plan = R.plan_rotation(inputs, params)
        bad = len(R.check_plan(plan)) + len(R.check_plan(greedy))
        n_plots = sum(loc.kind == "plot" for loc in inputs.locations)
        solve = plan.seconds - plan.build_seconds / max(args.workers, 1)
        print(
            f"{n_plots:>5} {len(inputs.herds):>5} {len(plan.blocks):>6} {plan.n_variables:>8,} "
            f"{plan.n_integer:>7,} {plan.n_constraints:>8,} {plan.build_seconds:>7.1f} "
            f"{solve:>7.1f} {plan.status:>8} {plan.gap:>7.2%} "
            f"{'hit' if plan.time_limit_hit else 'no':>5} {greedy.seconds:>8.1f} "
            f"{greedy.gap:>10.2%} {plan.objective / greedy.objective:>10.4f} {bad:>4} "
            f"{loadavg():>14}",
            flush=True,
        )
        f = plan.figures()
        print(
            f"      inputs {prep:.1f} s; plan {plan.seconds:.1f} s in all; demand met: plots "
            f"{f['plots_share']:.1%}, range {f['range_share']:.1%}, overuse "
            f"{f['overuse_share']:.1%}, fodder {f['fodder_share']:.1%}; blocks by start plans "
            f"alone {sum(b.source == 'heuristic' for b in plan.blocks)}, branch and cut "
            f"improved {sum(b.source == 'solver' for b in plan.blocks)}, found nothing better "
            f"{sum(b.source == 'start' for b in plan.blocks)}; worst block gap "
            f"{max(b.gap for b in plan.blocks):.2%}",
            flush=True,
        )


if __name__ == "__main__":
    main()
