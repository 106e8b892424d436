"""Benchmark: the grazing plan of whole groups against the greedy rule, growing sizes, under load.

Instances (nothing is downloaded):

- the bundled Juli sample (40 plots): the register's grazing groups (corral x species,
  whole heads), 40 plots plus the open ranges, 52 weeks, supply from the forage budget;
- synthetic projects of 100, 300, 1,000 and 10,000 plots: communities 10 km apart with
  5 plots (3-30 ha, mixed pasture types), 2 corrals and 16-24 grazing groups of 40-150
  whole alpacas, llamas or sheep each, an open range of 1,050 grazeable ha each, 52
  weeks, supply from the forage budget's defaults. Built with a fixed seed.

For each: the greedy rule (:func:`pastures.rotation.greedy_rotation`, the baseline, in
the same run) and the plan (:func:`pastures.rotation.plan_rotation`, then
:func:`pastures.rotation.place_groups`: whole groups, one place a week), checked by
:func:`pastures.rotation.check_groups`. The plan's gap is that of the plan of whole
groups against the MILP's bound (LP or better). ``--load N`` starts N ``yes`` loops
(stopped at the end) so the figures are those of a busy machine; the sample's schedule
is written idle and busy and the two files compared byte for byte. ``--cluster N``
plans the largest size once more on a Dask LocalCluster of N workers
(:func:`pastures.regional.dask_client`) and compares the plan with the single-process one.

Run:  python benchmarks/bench_rotation.py [--sizes 40 100 300 1000] [--workers 2]
      [--load 2] [--cluster-size 10000 --cluster 2]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import subprocess
import time
from collections.abc import Iterator
from datetime import date

import numpy as np

from pastures import rotation as R
from pastures.forage import ForageParams, growth_shares
from pastures.layers import load_project
from pastures.rotation.inputs import plot_strategies
from pastures.sample import sample_paths

START = date(2026, 1, 5)
TYPES = ("pajonal", "pajonal", "cesped", "tolar", "bofedal")


SPECIES_UO = (1.44, 2.11, 1.0)  # alpaca, llama, sheep: metabolic weight (DOMAIN.md)


def synthetic(n_plots: int, *, weeks: int = 52, seed: int = 0) -> R.RotationInputs:
    """Communities of 5 plots, 2 corrals and 16-24 grazing groups each, 10 km apart."""
    rng = np.random.default_rng(seed)
    fp = ForageParams()
    herds: list[R.HerdGroup] = []
    groups: list[R.GrazingGroup] = []
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
        g, _ = supply(1500 * 0.7 / fp.use_factor, "pajonal")
        locations.append(
            R.Location(R.open_range_id(com), com, "open_range", "open range", 1050.0, math.nan,
                       math.nan, g, 0.3 * sum(g), "synthetic")
        )  # fmt: skip
        corral_uo = [0.0, 0.0]
        for k in range(int(rng.integers(16, 25))):
            x, y = corrals[k % 2]
            sp = int(rng.integers(3))
            n = int(rng.integers(40, 151))
            heads = tuple(n if s == sp else 0 for s in range(3))
            uo = round(n * SPECIES_UO[sp], 2)
            corral_uo[k % 2] += uo
            groups.append(
                R.GrazingGroup(
                    f"{com}-K{k % 2}-G{k:02d}", com, f"{com}-K{k % 2}", heads,  # type: ignore[arg-type]
                    ((f"{com}-F{k:02d}", *heads),), uo, x, y,
                )
            )  # fmt: skip
        for j in range(2):
            herds.append(R.HerdGroup(f"{com}-K{j}", com, f"{com}-K{j}", corral_uo[j], *corrals[j]))
    closures, strategies = plot_strategies(
        [loc for loc in locations if loc.kind == "plot"], (), start=START, n_days=7 * weeks
    )
    return R.RotationInputs(
        tuple(herds), tuple(locations), START, 7, weeks, fp.kg_dm_per_uo_day,
        standing_loss_per_month=fp.standing_loss_per_month, closures=closures,
        range_use_factor=fp.use_factor, groups=tuple(groups), strategies=strategies,
    )  # fmt: skip


def sample_inputs(weeks: int) -> R.RotationInputs:
    project = load_project(**{k: str(v) for k, v in sample_paths().items()})
    return R.rotation_inputs_from_project(project, start=START, n_periods=weeks)


def loadavg() -> str:
    with open("/proc/loadavg", encoding="ascii") as f:  # noqa: PTH123
        return " ".join(f.read().split()[:3])


@contextlib.contextmanager
def busy(n: int) -> Iterator[None]:
    """`n` ``yes > /dev/null`` loops for the duration (stopped by their own ids)."""
    procs = [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(n)]
    try:
        time.sleep(1.0 if n else 0.0)
        yield
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


def schedule_bytes(inputs: R.RotationInputs, params: R.RotationParams) -> bytes:
    """The schedule CSV of the plan of whole groups."""
    gp = R.place_groups(R.plan_rotation(inputs, params))
    return R.schedule_table(gp).to_csv(index=False).encode()


def row(n_plots: int, inputs: R.RotationInputs, params: R.RotationParams) -> R.GroupPlan:
    greedy = R.greedy_rotation(inputs, params)
    t0 = time.perf_counter()
    plan = R.plan_rotation(inputs, params)
    gp = R.place_groups(plan)
    total = time.perf_counter() - t0
    bad = len(R.check_groups(gp))
    print(
        f"{n_plots:>6} {len(inputs.groups):>6} {len(plan.blocks):>6} {plan.n_variables:>9,} "
        f"{plan.n_integer:>7,} {total:>8.1f} {plan.status:>8} {plan.gap:>7.2%} {gp.gap:>9.2%} "
        f"{'hit' if plan.time_limit_hit else 'no':>5} {greedy.seconds:>8.1f} "
        f"{total / greedy.seconds:>8.2f} {R.plot_share_jun_nov(gp):>8.1%} {bad:>4} "
        f"{loadavg():>15}",
        flush=True,
    )
    return gp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[40, 100, 300, 1000])
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-nodes", type=int, default=500)
    ap.add_argument("--gap", type=float, default=0.02, help="plan's relative gap target")
    ap.add_argument("--time-limit", type=float, default=600.0)
    ap.add_argument("--load", type=int, default=2, help="busy loops while measuring")
    ap.add_argument("--cluster", type=int, default=0, help="Dask LocalCluster workers")
    ap.add_argument("--cluster-size", type=int, default=10_000, help="plots planned on Dask")
    args = ap.parse_args()
    params = R.RotationParams(
        num_workers=args.workers,
        max_nodes=args.max_nodes,
        relative_gap=args.gap,
        time_limit_s=args.time_limit,
    )
    print(f"load average before: {loadavg()}; {args.load} busy loop(s) while measuring")
    sample = sample_inputs(args.weeks)
    idle = schedule_bytes(sample, params)
    print(
        f"{'plots':>6} {'groups':>6} {'blocks':>6} {'vars':>9} {'bins':>7} {'plan s':>8} "
        f"{'status':>8} {'UO gap':>7} {'group gap':>9} {'limit':>5} {'greedy s':>8} "
        f"{'/greedy':>8} {'Jun-Nov':>8} {'viol':>4} {'load':>15}"
    )
    with busy(args.load):
        same = schedule_bytes(sample, params) == idle
        for n in args.sizes:
            inputs = sample if n == 40 else synthetic(n, weeks=args.weeks)
            n_plots = sum(loc.kind == "plot" for loc in inputs.locations)
            row(n_plots, inputs, params)
    print(f"sample schedule idle and busy: {'identical' if same else 'DIFFERENT'}")
    if args.cluster:
        from pastures.regional import dask_client

        inputs = synthetic(args.cluster_size, weeks=args.weeks)
        t0 = time.perf_counter()
        one = R.schedule_table(R.place_groups(R.plan_rotation(inputs, params)))
        t_one = time.perf_counter() - t0
        with dask_client(workers=args.cluster) as client:
            t0 = time.perf_counter()
            plan = R.plan_rotation(inputs, params, client=client)
            gp = R.place_groups(plan)
            dask = R.schedule_table(gp)
            t_dask = time.perf_counter() - t0
        equal = one.equals(dask)
        print(
            f"{args.cluster_size:,} plots ({len(inputs.groups):,} groups, {len(plan.blocks):,} "
            f"blocks): {args.workers} local processes {t_one:.1f} s; Dask LocalCluster of "
            f"{args.cluster} workers {t_dask:.1f} s ({t_dask / t_one:.2f}x); plan "
            f"{'equal' if equal else 'DIFFERENT'}; gap of the UO plan {plan.gap:.2%}, of the "
            f"plan of whole groups {gp.gap:.2%}; load {loadavg()}"
        )


if __name__ == "__main__":
    main()
