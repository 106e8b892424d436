"""Defaults and choices of the public parameters, without any heavy library.

The command-line options show these values in ``--help`` and check choices against
them before any work starts. Keeping them here, in a module that imports only the
standard library and :mod:`pastures.schema`, lets ``pastures --help`` answer at once
instead of loading pandas, geopandas, rasterio, numba and scipy first. Each domain
module imports its defaults from here and re-exports them under the same names
(``pastures.erosion.DEFAULT_STREAM_THRESHOLD`` is this module's value).
"""

from __future__ import annotations

from typing import Final, Literal

from pastures import schema as S

# --- validation --------------------------------------------------------------------------

#: Overlap (m²) between two plots below which it is taken for a digitising or GPS sliver
#: rather than two fences over the same ground. A shared fence drawn twice, each time
#: with the 0.5-1 m offset of a hand-held GNSS receiver or of digitising on 10 m
#: imagery, leaves a strip or wedge of a few m² per 10 m of fence: the real LPIS
#: parcels of the Ain (France) in ../shared/realdata have four such slivers of 4-12 m²
#: between neighbours. 25 m² keeps every such sliver along a fence of up to about 50 m
#: a warning, while a plot digitised twice, or a fence walked across the neighbour's
#: plot, overlaps by hundreds of m² or more and stays an error. (The smallest Juli
#: plots are about 0.5 ha = 5,000 m²: 25 m² is 0.5 % of one.)
DEFAULT_OVERLAP_TOLERANCE_M2: Final = 25.0

# --- fetch -------------------------------------------------------------------------------

#: Catalogue names, in the order they are tried by default.
CATALOGUES: Final = ("earth-search", "planetary-computer")
#: Default largest scene cloud cover (%, ``eo:cloud_cover``).
DEFAULT_MAX_CLOUD: Final = 60.0

# --- imagery and indices -----------------------------------------------------------------

#: How the Sentinel-2 BOA_ADD_OFFSET is decided: ``auto`` from the scene's metadata
#: (refusing scenes with none), ``applied`` the DNs have no offset left to remove
#: (reflectance = DN × scale: Earth Search COGs, baselines before 04.00), ``apply``
#: the DNs still carry it (reflectance = DN × scale - 0.1: SAFE of baseline 04.00+).
BoaOffset = Literal["auto", "applied", "apply"]
BOA_OFFSET_CHOICES: Final = ("auto", "applied", "apply")
#: Which raster cells belong to a plot (see :mod:`pastures.zonal`).
EdgeRule = Literal["centre", "exact", "inner", "all_touched"]
EDGE_RULES: Final = ("centre", "exact", "inner", "all_touched")
DEFAULT_EDGE_RULE: Final[EdgeRule] = "inner"
#: Share of a plot that must be clear for a date to be used.
DEFAULT_MIN_VALID_FRACTION: Final = 0.5

# --- forage ------------------------------------------------------------------------------

#: Start of the critical late dry season, Aug-Oct (DOMAIN.md): default budget month.
DEFAULT_BUDGET_MONTH: Final = 8
#: Carrying capacity per range condition class, (UO/ha/yr, alpacas/ha/yr), Flórez 2005
#: as commonly cited (DOMAIN.md: confirm before relying on it).
FLOREZ_CAPACITY: Final[dict[str, tuple[float, float]]] = {
    "excellent": (4.0, 2.7),
    "good": (3.0, 2.0),
    "fair": (1.5, 1.0),
    "poor": (0.5, 0.33),
    "very poor": (0.25, 0.17),
}
#: GeoPackage of the forage budget (plots and communities).
FORAGE_GPKG: Final = "forage.gpkg"

# --- erosion risk ------------------------------------------------------------------------

#: Flow-routing methods: single steepest-descent direction, or multiple flow directions.
FlowMethod = Literal["d8", "mfd"]
FLOW_METHODS: Final = ("d8", "mfd")
#: How soil loss is treated on stream pixels (see :class:`pastures.erosion.RusleParams`).
StreamRule = Literal["keep", "empty", "invest"]
STREAM_RULES: Final = ("keep", "empty", "invest")
#: Flow accumulation (pixels) above which a pixel is a stream; InVEST's sample-run value.
DEFAULT_STREAM_THRESHOLD: Final = 1000.0
#: Largest monthly rainfall total accepted (mm); the wettest months on Earth
#: (Cherrapunji) reach about 9,300 mm, the altiplano's wettest about 250 mm.
MAX_MONTHLY_RAIN_MM: Final = 10_000.0
#: Output files of :func:`pastures.writers.write_risk_outputs`, by key.
RISK_FILES: Final = {
    "soil_loss": "soil_loss_t_ha_yr.tif",
    "ls": "ls_factor.tif",
    "c": "c_factor.tif",
    "risk": "risk_class.tif",
    "pressure": "grazing_pressure.tif",
    "csv": "risk_plots.csv",
    "gpkg": "risk_plots.gpkg",
}
#: Decimals kept in the CSV table (the GeoPackage keeps full precision).
RISK_CSV_DECIMALS: Final = {
    S.AREA_HA: 2,
    S.DEM_COVERAGE: 3,
    S.SLOPE_PCT: 1,
    S.LS_MEAN: 2,
    S.COVER_PCT: 1,
    S.C_MEAN: 3,
    S.P_FACTOR: 2,
    S.SOIL_LOSS_T_HA_YR: 2,
    S.SOIL_LOSS_T_YR: 1,
    S.STOCKING_UO: 1,
    S.CAPACITY_UO: 1,
    S.PRESSURE_RATIO: 2,
}
#: GeoPackage layer of the plot table.
RISK_LAYER: Final = "erosion_risk"

# --- rotation ----------------------------------------------------------------------------

#: Target relative gap of a plan: 2 %. The forage it plans with carries a +/-50 % interval
#: (pasture-type ranges, the published relations) or a fit's prediction interval, so a
#: plan within 2 % of the bound is as good as the data allow; at 1 % the 1,000-plot
#: benchmark ran branch and cut on 30 of its 200 blocks and took 169 s instead of 14 s
#: (benchmarks/bench_rotation.py).
DEFAULT_GAP: Final = 0.02

# --- map and atlas -----------------------------------------------------------------------

#: Languages of the web map and the atlas.
Lang = Literal["es", "en"]
LANGS: Final = ("es", "en")
#: Paper sizes of the atlas (short side, long side), mm (ISO 216).
PAPER_MM: Final = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
