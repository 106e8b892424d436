"""Write the synthetic Sentinel-2 L2A sample scenes over the sample plots.

The scenes are SYNTHETIC (see pastures.sample_imagery): made from the bundled
illustrative plots and corrals to exercise the imagery pipeline, never to be read
as observations. They are not committed; `pastures demo` makes them on the fly.

    python scripts/make_sample_scenes.py --out juli-scenes
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import geopandas as gpd

from pastures.sample_imagery import make_sample_scenes

ROOT = Path(__file__).resolve().parents[1]
BOUNDARIES = ROOT / "data" / "boundaries"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plots", type=Path, default=BOUNDARIES / "plots.geojson")
    parser.add_argument("--corrals", type=Path, default=BOUNDARIES / "corrals.geojson")
    parser.add_argument("--out", type=Path, required=True, help="Folder to write into.")
    parser.add_argument("--start", default="2023-01-01")
    parser.add_argument("--end", default="2024-12-31")
    parser.add_argument("--step-days", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    plots = gpd.read_file(args.plots)
    corrals = gpd.read_file(args.corrals) if args.corrals.exists() else None
    started = time.perf_counter()
    items = make_sample_scenes(
        plots,
        corrals,
        args.out,
        start=args.start,
        end=args.end,
        step_days=args.step_days,
        seed=args.seed,
    )
    elapsed = time.perf_counter() - started
    print(f"{len(items)} synthetic scenes (STAC items) in {args.out} ({elapsed:.1f} s)")


if __name__ == "__main__":
    main()
