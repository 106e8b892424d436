"""A tiny run folder for the printed atlas, with answers worked out by hand.

Three communities near Juli in EPSG:32719 (south-west corners at E 440,000, N 8,190,000):

- "Alfa": the square E 440,000-441,000, N 8,190,000-8,191,000 (a square: portrait sheet);
- "Beta": the strip E 441,000-447,000, N 8,190,000-8,190,600 (10:1 wide: landscape sheet);
- "Gamma": the square E 440,000-441,000, N 8,191,000-8,192,000, with a corral and no plots.

Plots: ALF-01 (200 m x 250 m = 5.0 ha, very high risk: 3.0x capacity), ALF-02 (100 m x
100 m = 1.0 ha, moderate: erosion on an 18 % slope), BET-01 (300 m x 100 m = 3.0 ha,
high: 1.5x capacity). The rotation plan runs 5 Jan - 28 Jun 2026 (six months):
ALF-01 is grazed by the herd ALF-C1-G1 5-18 Jan (14 days) and 30 Mar - 5 Apr (2 days
in March, 5 in April); ALF-02 by ALF-C1-G2 2-8 Feb (7 days); BET-01 by BET-C1-G1
5 Jan - 1 Feb (27 days in January, 1 in February).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio.transform import Affine
from shapely.geometry import Point, box

UTM = "EPSG:32719"
E0, N0 = 440_000.0, 8_190_000.0
PLOT_BOXES = {
    "ALF-01": (E0 + 100, N0 + 100, E0 + 300, N0 + 350),
    "ALF-02": (E0 + 500, N0 + 500, E0 + 600, N0 + 600),
    "BET-01": (E0 + 1200, N0 + 200, E0 + 1500, N0 + 300),
}
RISK = {"ALF-01": "very high", "ALF-02": "moderate", "BET-01": "high"}


def build_run(root: Path, *, illustrative: bool = True, only: tuple[str, ...] = ()) -> Path:
    """Write the tiny run folder into `root` and return it (`only` these communities)."""
    root.mkdir(parents=True, exist_ok=True)
    gpkg = root / "layers.gpkg"
    communities = gpd.GeoDataFrame(
        {"community": ["Alfa", "Beta", "Gamma"], "altitude_m": [3900, 3950, 3990]},
        geometry=[
            box(E0, N0, E0 + 1000, N0 + 1000),
            box(E0 + 1000, N0, E0 + 7000, N0 + 600),
            box(E0, N0 + 1000, E0 + 1000, N0 + 2000),
        ],
        crs=UTM,
    )
    communities["area_ha"] = communities.area / 10_000
    plots = gpd.GeoDataFrame(
        {
            "plot_code": list(PLOT_BOXES),
            "community": ["Alfa", "Alfa", "Beta"],
            "pasture_type": ["pajonal", "bofedal", "tolar"],
            "fenced_year": [2018, 2019, 2020],
        },
        geometry=[box(*b) for b in PLOT_BOXES.values()],
        crs=UTM,
    )
    plots["area_ha"] = plots.area / 10_000
    corrals = gpd.GeoDataFrame(
        {"corral_id": ["ALF-C1", "BET-C1", "GAM-C1"], "community": ["Alfa", "Beta", "Gamma"]},
        geometry=[
            Point(E0 + 400, N0 + 800),
            Point(E0 + 2600, N0 + 400),
            Point(E0 + 500, N0 + 1500),
        ],
        crs=UTM,
    )
    water = gpd.GeoDataFrame(
        {"water_id": ["ALF-A1"], "community": ["Alfa"], "water_kind": ["manantial"]},
        geometry=[Point(E0 + 800, N0 + 200)],
        crs=UTM,
    )
    if only:
        communities = communities[communities["community"].isin(only)]
        plots = plots[plots["community"].isin(only)]
        corrals = corrals[corrals["community"].isin(only)]
        water = water[water["community"].isin(only)]
    for name, layer in (
        ("communities", communities),
        ("plots", plots),
        ("corrals", corrals),
        ("water_points", water),
    ):
        if not layer.empty:
            layer.to_file(gpkg, layer=name, engine="pyogrio")
    (root / "rotation").mkdir(exist_ok=True)
    pd.DataFrame(
        [
            ("ALF-C1-G1", "Alfa", "ALF-01", "plot", "2026-01-05", "2026-01-18", 14),
            ("ALF-C1-G2", "Alfa", "ALF-02", "plot", "2026-02-02", "2026-02-08", 7),
            ("ALF-C1-G1", "Alfa", "ALF-01", "plot", "2026-03-30", "2026-04-05", 7),
            ("BET-C1-G1", "Beta", "BET-01", "plot", "2026-01-05", "2026-02-01", 28),
            ("BET-C1-G1", "Beta", "RANGE Beta", "open_range", "2026-02-02", "2026-06-28", 147),
        ],
        columns=["herd_id", "community", "location_id", "location_kind", "start", "end", "days"],
    ).assign(herd_uo=100.0).to_csv(root / "rotation" / "rotation_schedule.csv", index=False)
    (root / "risk").mkdir(exist_ok=True)
    pd.DataFrame(
        {
            "plot_code": list(PLOT_BOXES),
            "soil_loss_t_ha_yr": [60.0, 20.0, 30.0],
            "pressure_ratio": [3.0, 0.5, 1.5],
            "slope_pct": [8.0, 18.0, 5.0],
            "dry_cover_pct": [30.0, 60.0, 40.0],
            "risk_class": [RISK[c] for c in PLOT_BOXES],
        }
    ).to_csv(root / "risk" / "risk_plots.csv", index=False)
    (root / "forage").mkdir(exist_ok=True)
    pd.DataFrame(
        {"plot_code": list(PLOT_BOXES), "range_condition": ["good", "fair", "poor"]}
    ).to_csv(root / "forage" / "forage_plots.csv", index=False)
    (root / "indices").mkdir(exist_ok=True)
    pd.DataFrame(
        {
            "plot_code": ["ALF-01", "ALF-01", "BET-01"],
            "date": ["2025-10-31", "2025-11-30", "2025-11-30"],
            "index": "ndvi",
            "statistic": "mean",
            "value": [0.30, 0.35, 0.28],
        }
    ).to_parquet(root / "indices" / "index_series.parquet")
    # A gentle slope rising to the east, 30 m cells, over all three communities.
    rows, cols = 120, 300
    xs = np.arange(cols) * 30.0
    dem = np.tile(3900.0 + 0.05 * xs, (rows, 1)).astype("float32")
    dem += (5 * np.sin(np.arange(rows) / 6.0))[:, None].astype("float32")
    with rasterio.open(
        root / "risk" / "dem.tif",
        "w",
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype="float32",
        crs=UTM,
        transform=Affine(30.0, 0.0, E0 - 1500, 0.0, -30.0, N0 + 2100),
    ) as dst:
        dst.write(dem, 1)
    (root / "provenance.json").write_text(
        json.dumps({"illustrative": illustrative}), encoding="utf-8"
    )
    return root
