"""Build the illustrative quadrat cuts of the Juli sample (deterministic).

Usage::

    pastures demo --out sample-run
    python scripts/make_sample_cuts.py sample-run/indices/index_series.parquet \
        [--out data/boundaries/quadrat_cuts.csv]

The cuts are MADE UP, to run the calibration path of the bundled sample the way a
project with real field cuts runs it. No cut was weighed. Each plot is "cut" once in
three campaigns of 2024 (end of the rainy season, early and late dry season), 0-3
days after a clear image date of the synthetic scenes. The biomass written is the
plot's mean NDVI on that date through a relation per pasture type,
times a log-normal error of 12 %:

- bofedal: the published relation, 1615 x NDVI^1.318 kg DM/ha (Zorogastúa-Cruz et al.
  2012, DOMAIN.md);
- pajonal, césped and tolar: straight lines drawn so that the sample's peak NDVI of the
  type gives about the middle of the dry puna grassland's production range,
  657-1,054 kg DM/ha/yr (Castellaro 2007). Invented slopes, not a published fit.

Running the script twice on the same index series gives byte-identical files.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from pastures import schema as S
from pastures.io import write_table

SEED = 210401
#: Campaign days (cuts are days away from the nearest image date, as in the field).
CAMPAIGNS = (dt.date(2024, 3, 18), dt.date(2024, 6, 17), dt.date(2024, 9, 16))
#: Relative error of a cut (log-normal sigma).
ERROR = 0.12
#: Made-up linear relations (a + b x NDVI, kg DM/ha) of the types without a published one.
LINES = {"pajonal": (-180.0, 2600.0), "cesped": (-120.0, 2300.0), "tolar": (100.0, 2400.0)}


def biomass(pasture_type: str, ndvi: float) -> float:
    """The made-up biomass (kg DM/ha) of a type at an NDVI, before the error."""
    if pasture_type == "bofedal":
        return 1615.0 * max(ndvi, 0.0) ** 1.318
    a, b = LINES.get(pasture_type, LINES["pajonal"])
    return max(a + b * ndvi, 20.0)


def make_cuts(series: pd.DataFrame, plots: pd.DataFrame) -> pd.DataFrame:
    """One cut per plot and campaign from a tidy index series (pastures indices).

    A plot is cut on the clear image date (at least half the plot clear) nearest to the
    campaign day, plus 0-3 days (a campaign takes several days); a plot with no clear
    date within 10 days of the campaign is not cut in that campaign.
    """
    rng = np.random.default_rng(SEED)
    ndvi = series[series[S.INDEX] == "ndvi"].pivot_table(
        index=[S.PLOT_CODE, S.DATE], columns=S.STATISTIC, values=S.VALUE, aggfunc="first"
    )
    ndvi = ndvi[(ndvi["valid_fraction"] >= 0.5) & ndvi["mean"].notna()].reset_index()
    ndvi[S.DATE] = pd.to_datetime(ndvi[S.DATE]).dt.date
    types = dict(zip(plots[S.PLOT_CODE], plots[S.PASTURE_TYPE], strict=True))
    rows = []
    for k, day in enumerate(CAMPAIGNS, start=1):
        for code in sorted(types):
            mine = ndvi[ndvi[S.PLOT_CODE] == code]
            if mine.empty:
                continue
            gaps = mine[S.DATE].map(lambda d, day=day: abs((d - day).days))
            if gaps.min() > 10:
                continue
            nearest = mine.loc[gaps.idxmin()]
            value = biomass(types[code], float(nearest["mean"])) * rng.lognormal(0.0, ERROR)
            cut_day = nearest[S.DATE] + dt.timedelta(days=int(rng.integers(0, 4)))
            rows.append(
                {
                    S.PLOT_CODE: code,
                    S.DATE: cut_day.isoformat(),
                    "campaign": k,
                    S.BIOMASS: int(round(value, -1)),
                }
            )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("series", type=Path, help="index_series.csv/.parquet of a sample run")
    parser.add_argument("--plots", type=Path, default=Path("data/boundaries/plots.geojson"))
    parser.add_argument("--out", type=Path, default=Path("data/boundaries/quadrat_cuts.csv"))
    args = parser.parse_args()
    import geopandas as gpd

    read = pd.read_parquet if args.series.suffix == ".parquet" else pd.read_csv
    cuts = make_cuts(read(args.series), gpd.read_file(args.plots))
    write_table(cuts, args.out)
    print(f"wrote {args.out}: {len(cuts)} cuts")


if __name__ == "__main__":
    main()
