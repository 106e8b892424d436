"""Build the illustrative Juli sample layers in data/boundaries/ (deterministic).

Usage::

    python scripts/make_sample_layers.py [--out data/boundaries]

The layers are ILLUSTRATIVE. No public geodata of the communities' boundaries,
plots or corrals exists; these are built only from the published facts in
shared/DOMAIN.md (the project report of Heifer Peru / ADESFA, the geography of
the district of Juli), never from a third-party file:

- 14 communities inside the district of Juli, south-west of Juli town and away
  from the shore of Lake Titicaca (which lies to the north-east);
- fenced plots in the 11 communities that built corrals, 366 ha in all
  (measured in EPSG:32719);
- corrals in those 11 communities and water points in all 14;
- a herd register of 250 families in the 11 communities with 22,000 alpacas and
  16,500 sheep in all (the llama total is not reported and is illustrative).

Only Pasiri and Callacami are named in the report; the other communities carry
neutral labels ("Comunidad 03" ...) so that no invented name passes as real.
Running the script twice gives byte-identical files.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point, Polygon

from pastures import schema as S
from pastures.io import atomic_output

SEED = 210401  # the INEI code of the district, for a memorable seed
TOTAL_PLOT_HA = 366.0
N_FAMILIES = 250
TOTAL_ALPACAS = 22_000
TOTAL_SHEEP = 16_500
TOTAL_LLAMAS = 3_300  # illustrative: the report gives no llama total
JULI_TOWN_UTM = (450_986.0, 8_207_393.0)  # DOMAIN.md
LAKE_LEVEL_M = 3_810.0

#: Hand-drawn study area (EPSG:32719) inside the district bounding box of DOMAIN.md,
#: south-west of Juli town, kept kilometres away from the lake shore to the north-east.
STUDY_AREA = Polygon(
    [
        (433_000, 8_190_500),
        (438_000, 8_186_000),
        (445_000, 8_184_000),
        (450_500, 8_185_000),
        (454_000, 8_190_000),
        (453_500, 8_197_000),
        (449_000, 8_202_500),
        (443_000, 8_205_000),
        (439_500, 8_201_000),
        (435_000, 8_197_000),
    ]
)

COMMUNITY_NAMES = ["Pasiri", "Callacami"] + [f"Comunidad {i:02d}" for i in range(3, 15)]
COMMUNITY_CODES = ["PAS", "CAL"] + [f"C{i:02d}" for i in range(3, 15)]
#: The three communities without corrals (and so without fenced plots in the sample).
WITHOUT_CORRALS = {"Comunidad 12", "Comunidad 13", "Comunidad 14"}

PASTURE_MIX = {"pajonal": 0.45, "bofedal": 0.22, "tolar": 0.18, "cesped": 0.15}


def _communities(rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Voronoi cells of 14 well-spread seeds, clipped to the study area."""
    minx, miny, maxx, maxy = STUDY_AREA.bounds
    seeds: list[Point] = []
    while len(seeds) < len(COMMUNITY_NAMES):
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if STUDY_AREA.buffer(-1_200).contains(p) and all(p.distance(q) > 3_300 for q in seeds):
            seeds.append(p)
    # order seeds from the lake side (near town) outwards so codes read sensibly
    seeds.sort(key=lambda p: p.distance(Point(JULI_TOWN_UTM)))
    cells = shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=STUDY_AREA.buffer(5e3))
    polys = []
    for seed in seeds:
        cell = next(c for c in cells.geoms if c.contains(seed))
        polys.append(shapely.set_precision(cell.intersection(STUDY_AREA), 1.0))
    altitude = [
        round(min(4_450.0, 3_860.0 + 35.0 * p.distance(Point(JULI_TOWN_UTM)) / 1_000), -1)
        for p in seeds
    ]
    return gpd.GeoDataFrame(
        {S.COMMUNITY: COMMUNITY_NAMES, "code": COMMUNITY_CODES, S.ALTITUDE_M: altitude},
        geometry=polys,
        crs=S.WORKING_CRS,
    )


def _plot_shape(rng: np.random.Generator, centre: Point, area_m2: float) -> Polygon:
    """An irregular, roughly rectangular fenced plot of exactly `area_m2`."""
    aspect = rng.uniform(1.0, 2.2)
    angle = rng.uniform(0, math.pi)
    corners = np.array(
        [(-1, -1), (0, -1.1), (1, -1), (1.1, 0), (1, 1), (0, 1.05), (-1, 1), (-1.1, 0)]
    )
    corners = corners * rng.uniform(0.9, 1.1, size=corners.shape)
    corners[:, 0] *= aspect
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    unit = Polygon(corners @ rot.T)
    scale = math.sqrt(area_m2 / unit.area)
    xy = np.asarray(unit.exterior.coords) * scale + [centre.x, centre.y]
    return Polygon(np.round(xy, 2))


def _plots(rng: np.random.Generator, communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    fenced = communities[~communities[S.COMMUNITY].isin(WITHOUT_CORRALS)]
    n_per = rng.integers(3, 6, size=len(fenced))
    raw = rng.lognormal(mean=0.0, sigma=0.5, size=int(n_per.sum()))
    areas_ha = raw / raw.sum() * TOTAL_PLOT_HA
    rows = []
    k = 0
    for (_, com), n in zip(fenced.iterrows(), n_per, strict=True):
        inner = com.geometry.buffer(-250)
        minx, miny, maxx, maxy = inner.bounds
        placed: list[Polygon] = []
        for i in range(int(n)):
            for _attempt in range(2_000):
                c = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
                if not inner.contains(c):
                    continue
                shape = _plot_shape(rng, c, areas_ha[k] * S.M2_PER_HA)
                if inner.contains(shape) and all(shape.distance(o) > 60 for o in placed):
                    break
            else:  # pragma: no cover - the study area leaves ample room
                raise RuntimeError(f"could not place plot {i + 1} in {com[S.COMMUNITY]}")
            placed.append(shape)
            ptype = rng.choice(list(PASTURE_MIX), p=list(PASTURE_MIX.values()))
            rows.append(
                {
                    S.PLOT_CODE: f"{com['code']}-{i + 1:02d}",
                    S.COMMUNITY: com[S.COMMUNITY],
                    S.PASTURE_TYPE: str(ptype),
                    S.FENCED_YEAR: int(rng.integers(2016, 2022)),
                    "geometry": shape,
                }
            )
            k += 1
    plots = gpd.GeoDataFrame(rows, crs=S.WORKING_CRS)
    # absorb the rounding of vertex coordinates into the largest plot: total exactly 366 ha
    excess = plots.area.sum() - TOTAL_PLOT_HA * S.M2_PER_HA
    big = int(plots.area.idxmax())
    g = plots.geometry.iloc[big]
    factor = math.sqrt((g.area - excess) / g.area)
    plots.loc[big, "geometry"] = shapely.affinity.scale(g, factor, factor, origin=g.centroid)
    plots[S.AREA_HA] = (plots.area / S.M2_PER_HA).round(4)
    return plots


def _points_near(
    rng: np.random.Generator,
    anchors: list[Polygon],
    community: Polygon,
    avoid: list[Polygon],
    distance: tuple[float, float],
) -> Point:
    for _attempt in range(2_000):
        anchor = anchors[int(rng.integers(len(anchors)))]
        angle = rng.uniform(0, 2 * math.pi)
        d = rng.uniform(*distance)
        c = anchor.centroid
        r = math.sqrt(anchor.area / math.pi)
        p = Point(
            round(c.x + (r + d) * math.cos(angle), 1), round(c.y + (r + d) * math.sin(angle), 1)
        )
        if community.buffer(-50).contains(p) and all(p.distance(a) > 30 for a in avoid):
            return p
    raise RuntimeError("could not place a point")  # pragma: no cover


def _corrals_and_water(
    rng: np.random.Generator, communities: gpd.GeoDataFrame, plots: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    corrals, water = [], []
    for _, com in communities.iterrows():
        mine = list(plots.loc[plots[S.COMMUNITY] == com[S.COMMUNITY], "geometry"])
        anchors = mine or [com.geometry.buffer(-1_500)]
        if mine:
            for j in range(int(rng.integers(1, 4))):
                p = _points_near(rng, mine, com.geometry, mine, (80, 500))
                corrals.append(
                    {
                        S.CORRAL_ID: f"{com['code']}-C{j + 1}",
                        S.COMMUNITY: com[S.COMMUNITY],
                        "geometry": p,
                    }
                )
        for j in range(int(rng.integers(1, 3))):
            p = _points_near(rng, anchors, com.geometry, mine, (50, 700))
            kind = str(
                rng.choice(["manantial", "rio", "laguna", "bebedero"], p=[0.5, 0.25, 0.1, 0.15])
            )
            water.append(
                {
                    S.WATER_ID: f"{com['code']}-A{j + 1}",
                    S.COMMUNITY: com[S.COMMUNITY],
                    S.WATER_KIND: kind,
                    "geometry": p,
                }
            )
    return (
        gpd.GeoDataFrame(corrals, crs=S.WORKING_CRS),
        gpd.GeoDataFrame(water, crs=S.WORKING_CRS),
    )


def _split_total(rng: np.random.Generator, total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to `weights` that sum exactly to `total`."""
    return rng.multinomial(total, weights / weights.sum())


def _herds(rng: np.random.Generator, corrals: gpd.GeoDataFrame) -> pd.DataFrame:
    communities = sorted(corrals[S.COMMUNITY].unique(), key=COMMUNITY_NAMES.index)
    share = rng.uniform(0.6, 1.4, size=len(communities))
    families = _split_total(rng, N_FAMILIES - 5 * len(communities), share) + 5
    rows = []
    for com, n in zip(communities, families, strict=True):
        code = COMMUNITY_CODES[COMMUNITY_NAMES.index(com)]
        its_corrals = list(corrals.loc[corrals[S.COMMUNITY] == com, S.CORRAL_ID])
        for f in range(int(n)):
            rows.append(
                {
                    S.FAMILY_ID: f"{code}-F{f + 1:03d}",
                    S.COMMUNITY: com,
                    S.CORRAL_ID: its_corrals[f % len(its_corrals)],
                }
            )
    herds = pd.DataFrame(rows)
    size = rng.lognormal(0.0, 0.6, size=len(herds))
    herds[S.ALPACAS] = _split_total(rng, TOTAL_ALPACAS, size * rng.uniform(0.7, 1.3, len(herds)))
    herds[S.SHEEP] = _split_total(rng, TOTAL_SHEEP, size * rng.uniform(0.4, 1.6, len(herds)))
    has_llamas = rng.random(len(herds)) < 0.7
    herds[S.LLAMAS] = _split_total(rng, TOTAL_LLAMAS, size * has_llamas)
    return herds[list(S.LAYER_COLUMNS[S.HERDS])]


def _write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    with atomic_output(path) as tmp:
        gdf.to_crs(S.LONLAT_CRS).to_file(
            tmp,
            driver="GeoJSON",
            engine="pyogrio",
            layer=path.stem,
            layer_options={"COORDINATE_PRECISION": 7, "RFC7946": "YES", "WRITE_NAME": "NO"},
        )


def build(out: Path) -> dict[str, object]:
    """Build every sample layer into `out` and return them (in EPSG:32719)."""
    rng = np.random.default_rng(SEED)
    communities = _communities(rng)
    plots = _plots(rng, communities)
    corrals, water = _corrals_and_water(rng, communities, plots)
    herds = _herds(rng, corrals)
    communities[S.AREA_HA] = (communities.area / S.M2_PER_HA).round(2)
    out.mkdir(parents=True, exist_ok=True)
    _write_geojson(
        communities[[S.COMMUNITY, S.ALTITUDE_M, S.AREA_HA, "geometry"]],
        out / f"{S.COMMUNITIES}.geojson",
    )
    _write_geojson(plots, out / f"{S.PLOTS}.geojson")
    _write_geojson(corrals, out / f"{S.CORRALS}.geojson")
    _write_geojson(water, out / f"{S.WATER_POINTS}.geojson")
    with atomic_output(out / f"{S.HERDS}.csv") as tmp:
        herds.to_csv(tmp, index=False, lineterminator="\n")
    return {
        "communities": communities,
        "plots": plots,
        "corrals": corrals,
        "water": water,
        "herds": herds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parents[1] / "data" / "boundaries"
    )
    args = parser.parse_args()
    layers = build(args.out)
    plots = layers["plots"]
    herds = layers["herds"]
    print(f"communities: {len(layers['communities'])}, with plots: {plots[S.COMMUNITY].nunique()}")
    print(f"plots: {len(plots)}, {plots.area.sum() / S.M2_PER_HA:.3f} ha")
    print(f"corrals: {len(layers['corrals'])}, water points: {len(layers['water'])}")
    print(
        f"families: {len(herds)}, alpacas {herds[S.ALPACAS].sum()}, "
        f"llamas {herds[S.LLAMAS].sum()}, sheep {herds[S.SHEEP].sum()}"
    )
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
