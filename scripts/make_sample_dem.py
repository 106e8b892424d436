"""Write the synthetic (illustrative) DEM of Juli as a Cloud-Optimised GeoTIFF.

SYNTHETIC terrain generated from a few facts (lake shore at about 3,810 m to the north-east
of Juli, puna up to about 4,600 m, valley-floor bofedales); see pastures.sample_terrain.
It is deterministic and takes seconds, so it is generated on demand, not committed.
The landscape is made at 30 m over the district and sampled onto the grid asked for,
so its slopes do not depend on the grid's size (the printed median slope).

    python scripts/make_sample_dem.py --out juli-sample/dem_juli_synthetic.tif [--resolution 30]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np

from pastures.sample_terrain import SYNTHETIC_NOTE, make_sample_dem, sample_dry_season_ndvi
from pastures.terrain import write_cog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("juli-sample/dem_juli_synthetic.tif"))
    parser.add_argument("--resolution", type=float, default=30.0, help="pixel side, m")
    parser.add_argument("--seed", type=int, default=210401)
    parser.add_argument(
        "--ndvi",
        type=Path,
        default=None,
        help="also write a synthetic dry-season NDVI on the same grid to this path",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    start = time.perf_counter()
    sample = make_sample_dem(resolution=args.resolution, seed=args.seed)
    dem = sample.dem
    tags = {"SYNTHETIC": "yes", "DESCRIPTION": SYNTHETIC_NOTE, "SEED": str(args.seed)}
    write_cog(
        args.out,
        dem.elevation,
        dem.transform,
        dem.crs,
        description="elevation, m (SYNTHETIC)",
        tags=tags,
    )
    if args.ndvi:
        write_cog(
            args.ndvi,
            sample_dry_season_ndvi(sample),
            dem.transform,
            dem.crs,
            description="dry-season NDVI (SYNTHETIC)",
            tags=tags,
        )
    rows, cols = dem.shape
    gy, gx = np.gradient(dem.elevation.astype(np.float64), args.resolution)
    slope = float(np.nanmedian(100.0 * np.hypot(gx, gy)))
    print(
        f"wrote {args.out} ({cols} x {rows} px at {args.resolution:g} m, EPSG:32719, median "
        f"slope {slope:.1f} %) in {time.perf_counter() - start:.1f} s — SYNTHETIC, "
        "illustrative only"
    )


if __name__ == "__main__":
    main()
