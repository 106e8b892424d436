"""One contract for the names and units of every layer, column and unit.

Every module refers to columns through these constants, so a column is spelled
once. Units are part of the contract: areas in hectares (ha), biomass in
kilograms of dry matter per hectare (kg DM/ha), animals in sheep units (UO,
*unidad ovino*), soil loss in tonnes per hectare per year (t/ha/yr).

The geography constants come from ``shared/DOMAIN.md`` (INEI district 210401,
Juli, Chucuito, Puno).
"""

from __future__ import annotations

from typing import Final

from pastures.i18n import N_

# --- coordinate reference systems -------------------------------------------------
#: Working CRS: WGS 84 / UTM zone 19S, in which all areas and distances are measured.
WORKING_CRS: Final = "EPSG:32719"
#: Geographic CRS of KML, GPX and RFC 7946 GeoJSON.
LONLAT_CRS: Final = "EPSG:4326"

#: Bounding box of the district of Juli in lon/lat (west, south, east, north), from
#: the INEI district polygon as summarised in DOMAIN.md.
JULI_BOUNDS_LONLAT: Final = (-69.69, -16.50, -69.33, -16.17)
#: How far (km) outside that box a feature may lie before it is reported as misplaced.
DEFAULT_AREA_MARGIN_KM: Final = 25.0

# --- layer names (GeoPackage layers and bundled file stems) -----------------------
COMMUNITIES: Final = "communities"
PLOTS: Final = "plots"
CORRALS: Final = "corrals"
WATER_POINTS: Final = "water_points"
HERDS: Final = "herds"
SUMMARY: Final = "community_summary"

LAYER_KINDS: Final = (COMMUNITIES, PLOTS, CORRALS, WATER_POINTS)

# --- columns ------------------------------------------------------------------------
GEOMETRY: Final = "geometry"
COMMUNITY: Final = "community"
ALTITUDE_M: Final = "altitude_m"
PLOT_CODE: Final = "plot_code"
PASTURE_TYPE: Final = "pasture_type"
FENCED_YEAR: Final = "fenced_year"
AREA_HA: Final = "area_ha"
CORRAL_ID: Final = "corral_id"
WATER_ID: Final = "water_id"
WATER_KIND: Final = "water_kind"
FAMILY_ID: Final = "family_id"
ALPACAS: Final = "alpacas"
LLAMAS: Final = "llamas"
SHEEP: Final = "sheep"
SOURCE_NAME: Final = "source_name"
NOTES: Final = "notes"

#: Animal count columns of the simple herd register (one row per family).
SPECIES_COLUMNS: Final = (ALPACAS, LLAMAS, SHEEP)

#: The key column of each layer: unique, short, readable on paper.
KEY_COLUMN: Final = {
    COMMUNITIES: COMMUNITY,
    PLOTS: PLOT_CODE,
    CORRALS: CORRAL_ID,
    WATER_POINTS: WATER_ID,
    HERDS: FAMILY_ID,
}

#: Columns each layer carries after normalisation, in order (geometry last).
LAYER_COLUMNS: Final = {
    COMMUNITIES: (COMMUNITY, ALTITUDE_M, AREA_HA),
    PLOTS: (PLOT_CODE, COMMUNITY, PASTURE_TYPE, FENCED_YEAR, AREA_HA),
    CORRALS: (CORRAL_ID, COMMUNITY),
    WATER_POINTS: (WATER_ID, COMMUNITY, WATER_KIND),
    HERDS: (FAMILY_ID, COMMUNITY, CORRAL_ID, *SPECIES_COLUMNS),
}

#: Columns a layer must provide (others are filled when missing).
REQUIRED_COLUMNS: Final = {
    COMMUNITIES: (COMMUNITY,),
    PLOTS: (PLOT_CODE, COMMUNITY, PASTURE_TYPE),
    CORRALS: (CORRAL_ID, COMMUNITY),
    WATER_POINTS: (WATER_ID,),
    HERDS: (FAMILY_ID, COMMUNITY, CORRAL_ID, *SPECIES_COLUMNS),
}

#: Geometry kinds accepted per layer (after reading; lines are closed into polygons
#: only for plots, points only for corrals and water points).
GEOMETRY_KINDS: Final = {
    COMMUNITIES: ("Polygon", "MultiPolygon"),
    PLOTS: ("Polygon", "MultiPolygon"),
    CORRALS: ("Point", "Polygon", "MultiPolygon"),
    WATER_POINTS: ("Point",),
}

#: Other spellings found in files from QGIS, Google Earth, GPS units and spreadsheets,
#: matched case- and accent-insensitively. The first matching alias wins.
COLUMN_ALIASES: Final = {
    COMMUNITY: ("community", "comunidad", "communidad", "cc", "comunidad_campesina"),
    ALTITUDE_M: ("altitude_m", "altitud", "altitude", "alt", "elevation", "ele", "msnm"),
    PLOT_CODE: ("plot_code", "code", "codigo", "cod", "plot", "parcela", "cerco", "name", "nombre"),
    PASTURE_TYPE: ("pasture_type", "tipo_pasto", "tipo", "pasture", "cobertura", "vegetacion"),
    FENCED_YEAR: ("fenced_year", "year", "anio", "ano", "ano_cercado", "fencing_year"),
    CORRAL_ID: ("corral_id", "corral", "code", "codigo", "id", "name", "nombre"),
    WATER_ID: ("water_id", "code", "codigo", "id", "name", "nombre"),
    WATER_KIND: ("water_kind", "kind", "tipo", "type", "sym"),
    FAMILY_ID: ("family_id", "familia", "family", "id_familia", "herd_id", "id"),
    ALPACAS: ("alpacas", "alpaca", "n_alpacas"),
    LLAMAS: ("llamas", "llama", "n_llamas"),
    SHEEP: ("sheep", "ovinos", "ovejas", "oveja", "n_ovinos"),
}

# --- pasture types ------------------------------------------------------------------
#: Canonical pasture (vegetation) types of the Juli altiplano.
PASTURE_TYPES: Final = ("bofedal", "pajonal", "tolar", "cesped", "cultivado")
#: Spanish and local names accepted for each type (accent- and case-insensitive).
PASTURE_TYPE_ALIASES: Final = {
    "bofedal": ("bofedal", "bofedales", "oconal", "humedal", "wetland", "peatland"),
    "pajonal": ("pajonal", "pajonales", "ichu", "ichu grass", "tussock grassland", "grassland"),
    "tolar": ("tolar", "tola", "tolares", "shrubland", "parastrephia"),
    "cesped": ("cesped", "cesped de puna", "short grass", "puna lawn"),
    "cultivado": ("cultivado", "pasto cultivado", "avena", "oats", "sown pasture"),
}
#: Spanish labels for printed maps and tables.
PASTURE_TYPE_LABELS_ES: Final = {
    "bofedal": "Bofedal",
    "pajonal": "Pajonal",
    "tolar": "Tolar",
    "cesped": "Césped de puna",
    "cultivado": "Pasto cultivado",
}

WATER_KINDS: Final = ("manantial", "rio", "laguna", "pozo", "bebedero", "otro")

#: Earliest year a fence can plausibly date from, and a sanity bound for the latest.
FENCED_YEAR_RANGE: Final = (1990, 2035)

# --- units --------------------------------------------------------------------------
M2_PER_HA: Final = 10_000.0
UNITS: Final = {
    AREA_HA: "ha",
    ALTITUDE_M: "m",
    "biomass": "kg DM/ha",
    "animal_units": "UO",
    "soil_loss": "t/ha/yr",
}

# --- community summary table ------------------------------------------------------
N_PLOTS: Final = "plots"
PLOTS_HA: Final = "plots_ha"
N_CORRALS: Final = "corrals"
N_FAMILIES: Final = "families"
SUMMARY_COLUMNS: Final = (
    COMMUNITY,
    N_PLOTS,
    PLOTS_HA,
    N_CORRALS,
    N_FAMILIES,
    ALPACAS,
    LLAMAS,
    SHEEP,
)
#: Headings of the summary table for people (translated at use: workbooks, printouts).
SUMMARY_LABELS: Final = {
    COMMUNITY: N_("Community"),
    N_PLOTS: N_("Plots"),
    PLOTS_HA: N_("Fenced hectares"),
    N_CORRALS: N_("Corrals"),
    N_FAMILIES: N_("Families"),
    ALPACAS: N_("Alpacas"),
    LLAMAS: N_("Llamas"),
    SHEEP: N_("Sheep"),
}

# --- imagery and vegetation indices -------------------------------------------------
#: Acquisition date of a scene (or of a same-day mosaic of adjacent tiles).
DATE: Final = "date"
#: Name of a vegetation index (a key of ``pastures.indices.INDICES``).
INDEX: Final = "index"
#: Name of a zonal statistic (one of :data:`ZONAL_STATISTICS`).
STATISTIC: Final = "statistic"
#: Value of a statistic (dimensionless index units; pixels for counts).
VALUE: Final = "value"
#: Identifier of a scene or mosaic (the STAC item id or the file-name stem).
SCENE_ID: Final = "scene_id"
#: Satellite family of a scene: ``"sentinel-2"`` or ``"landsat"``.
PLATFORM: Final = "platform"
#: Tile or path/row of a scene (MGRS tile for Sentinel-2, e.g. ``"19KDC"``).
TILE: Final = "tile"
#: Edge rule that decided which pixels belong to a plot (after any fallback).
EDGE_RULE: Final = "edge_rule"

# zonal statistics (values of the STATISTIC column and wide-table columns)
STAT_MEAN: Final = "mean"
STAT_MEDIAN: Final = "median"
STAT_STD: Final = "std"
STAT_P10: Final = "p10"
STAT_P90: Final = "p90"
#: Valid (unmasked) pixels in the plot; coverage-weighted under the ``exact`` rule.
STAT_COUNT: Final = "valid_pixels"
#: Share (0-1) of the plot's pixels that were valid (not cloud, shadow, no data...).
STAT_VALID_FRACTION: Final = "valid_fraction"
ZONAL_STATISTICS: Final = (
    STAT_MEAN,
    STAT_MEDIAN,
    STAT_STD,
    STAT_P10,
    STAT_P90,
    STAT_COUNT,
    STAT_VALID_FRACTION,
)
#: Columns of the tidy (long) zonal table, in order.
ZONAL_COLUMNS: Final = (PLOT_CODE, DATE, INDEX, STATISTIC, VALUE)

# time series per plot
YEAR: Final = "year"
MONTH: Final = "month"
N_DATES: Final = "n_dates"
#: Multi-year median of the monthly index value (index units).
BASELINE: Final = "baseline"
#: Monthly value minus its baseline (index units).
ANOMALY: Final = "anomaly"
#: Theil-Sen slope of the index (index units per year).
TREND_PER_YEAR: Final = "trend_per_year"
#: Two-sided p-value of the Mann-Kendall test (Kendall's tau against time).
TREND_P_VALUE: Final = "trend_p_value"
KENDALL_TAU: Final = "kendall_tau"
#: True where the plot browns persistently (significant negative trend).
BROWNING: Final = "browning"
#: True where too few of the plot's pixels were valid on that date.
CLOUDY: Final = "too_cloudy"
#: Outcome of a date (mosaic): "ok", "all-masked", "no-overlap" or "failed".
DATE_STATUS: Final = "status"
#: Months in a plot's trend, and the years they span (first to last).
N_MONTHS: Final = "n_months"
SPAN_YEARS: Final = "span_years"
#: Years behind a month of the seasonal profile; its lowest and highest value.
N_YEARS: Final = "n_years"
PROFILE_MIN: Final = "min"
PROFILE_MAX: Final = "max"

# --- terrain and erosion ------------------------------------------------------------
#: Optional plot columns (booleans) naming support practices, for the RUSLE P factor.
TERRACES: Final = "terraces"
CONTOUR_WORKS: Final = "contour_works"
#: Plot table of the erosion and overgrazing risk assessment (pastures.erosion).
SLOPE_PCT: Final = "slope_pct"  # mean slope, %
LS_MEAN: Final = "ls_mean"  # mean RUSLE LS, dimensionless
C_MEAN: Final = "c_mean"  # mean RUSLE C, dimensionless
COVER_PCT: Final = "dry_cover_pct"  # mean vegetation cover in the index's season, %
P_FACTOR: Final = "p_factor"  # RUSLE P of the plot, dimensionless
SOIL_LOSS_T_HA_YR: Final = "soil_loss_t_ha_yr"  # mean soil loss A, t/ha/yr
SOIL_LOSS_T_YR: Final = "soil_loss_t_yr"  # total soil loss of the plot, t/yr
DEM_COVERAGE: Final = "dem_coverage"  # share of the plot area with terrain data, 0-1
STOCKING_UO: Final = "stocking_uo"  # animals grazing the plot, UO
CAPACITY_UO: Final = "capacity_uo"  # carrying capacity of the plot, UO
PRESSURE_RATIO: Final = "pressure_ratio"  # stocking / capacity, dimensionless
PIOSPHERE_DECAY_M: Final = "piosphere_decay_m"  # decay distance used, m (0: none)
RISK_CLASS: Final = "risk_class"
RISK_RANK: Final = "risk_rank"  # 1 = first to rest or protect
RISK_DRIVERS: Final = "risk_drivers"  # the drivers in words
RISK_ACTION: Final = "risk_action"
#: Risk classes, lowest first (codes 0-3 in risk rasters; 255 = no data).
RISK_CLASSES: Final = ("low", "moderate", "high", "very high")
RISK_CLASS_LABELS_ES: Final = {
    "low": "Bajo",
    "moderate": "Moderado",
    "high": "Alto",
    "very high": "Muy alto",
}
#: Columns of the per-plot risk table, in order (geometry last in the GeoPackage).
RISK_COLUMNS: Final = (
    PLOT_CODE,
    COMMUNITY,
    PASTURE_TYPE,
    AREA_HA,
    DEM_COVERAGE,
    SLOPE_PCT,
    LS_MEAN,
    COVER_PCT,
    C_MEAN,
    P_FACTOR,
    SOIL_LOSS_T_HA_YR,
    SOIL_LOSS_T_YR,
    STOCKING_UO,
    CAPACITY_UO,
    PRESSURE_RATIO,
    PIOSPHERE_DECAY_M,
    RISK_CLASS,
    RISK_RANK,
    RISK_DRIVERS,
    RISK_ACTION,
)
#: Units of the erosion quantities (RUSLE: A = R·K·LS·C·P).
EROSION_UNITS: Final = {
    "erosivity": "MJ·mm·ha⁻¹·h⁻¹·yr⁻¹",
    "erodibility": "t·ha·h·ha⁻¹·MJ⁻¹·mm⁻¹",
    SOIL_LOSS_T_HA_YR: "t/ha/yr",
    SOIL_LOSS_T_YR: "t/yr",
    SLOPE_PCT: "%",
    COVER_PCT: "%",
    STOCKING_UO: "UO",
    CAPACITY_UO: "UO",
    PIOSPHERE_DECAY_M: "m",
}

# --- forage and carrying capacity -------------------------------------------------
#: Optional herd-register column: the family's working group (ayni, minka), as text.
WORKING_GROUP: Final = "working_group"
#: Herd demand, sheep units (UO) per family (pastures.animals).
HERD_UO: Final = "herd_uo"
#: How a plot's production was estimated (pasture-type default, index equation, calibration).
FORAGE_METHOD: Final = "forage_method"
#: Annual forage production, kg DM/ha/yr, with the ends of its uncertainty interval.
PRODUCTION: Final = "production_kg_ha_yr"
PRODUCTION_LOW: Final = "production_low_kg_ha_yr"
PRODUCTION_HIGH: Final = "production_high_kg_ha_yr"
#: Forage that may be grazed (production x proper-use factor), kg DM/ha/yr.
AVAILABLE: Final = "available_kg_ha_yr"
AVAILABLE_LOW: Final = "available_low_kg_ha_yr"
AVAILABLE_HIGH: Final = "available_high_kg_ha_yr"
#: Carrying capacity per hectare, UO/ha/yr (central, low, high).
CAPACITY_UO_HA: Final = "capacity_uo_ha_yr"
CAPACITY_UO_HA_LOW: Final = "capacity_low_uo_ha_yr"
CAPACITY_UO_HA_HIGH: Final = "capacity_high_uo_ha_yr"
#: Carrying capacity of a whole unit (plot, open range, community), UO year-round.
#: (CAPACITY_UO, the central value, is shared with the erosion table.)
CAPACITY_UO_LOW: Final = "capacity_low_uo"
CAPACITY_UO_HIGH: Final = "capacity_high_uo"
#: UO a unit can feed through the rainy (Dec-Mar) and the dry season (Apr-Nov) from
#: that season's growth alone.
CAPACITY_UO_WET: Final = "capacity_wet_uo"
CAPACITY_UO_DRY: Final = "capacity_dry_uo"
#: Range condition class (RANGE_CONDITIONS) and the Flórez 2005 capacity of that class.
RANGE_CONDITION: Final = "range_condition"
FLOREZ_UO_HA: Final = "florez_uo_ha_yr"
RANGE_CONDITIONS: Final = ("excellent", "good", "fair", "poor", "very poor")
RANGE_CONDITION_LABELS_ES: Final = {
    "excellent": "Excelente",
    "good": "Buena",
    "fair": "Regular",
    "poor": "Pobre",
    "very poor": "Muy pobre",
}
#: Standing forage that may be grazed at the start of the budget month, kg DM/ha.
STANDING_KG_HA: Final = "standing_available_kg_ha"
STANDING_KG_HA_LOW: Final = "standing_available_low_kg_ha"
STANDING_KG_HA_HIGH: Final = "standing_available_high_kg_ha"
#: Days the herd of HERD_UO can graze a plot on its standing forage (central, low, high).
GRAZING_DAYS: Final = "grazing_days"
GRAZING_DAYS_LOW: Final = "grazing_days_low"
GRAZING_DAYS_HIGH: Final = "grazing_days_high"
#: Community table: the open communal range is the community minus its fenced plots.
COMMUNITY_HA: Final = "community_ha"
OPEN_RANGE_HA: Final = "open_range_ha"
#: Open range production (kg DM/ha/yr) and how it was estimated (index or default).
OPEN_PRODUCTION: Final = "open_range_production_kg_ha_yr"
OPEN_METHOD: Final = "open_range_method"
PLOTS_CAPACITY_UO: Final = "plots_capacity_uo"
OPEN_CAPACITY_UO: Final = "open_capacity_uo"
OPEN_CAPACITY_UO_LOW: Final = "open_capacity_low_uo"
OPEN_CAPACITY_UO_HIGH: Final = "open_capacity_high_uo"
PLOTS_STOCKING_UO: Final = "plots_stocking_uo"
OPEN_STOCKING_UO: Final = "open_stocking_uo"
PLOTS_RATIO: Final = "plots_stocking_ratio"  # stocking / capacity
OPEN_RATIO: Final = "open_stocking_ratio"
#: Monthly forage balance (kg DM per month of the whole community).
GROWTH_KG: Final = "growth_kg"
GROWTH_SHARE: Final = "growth_share"  # share (0-1) of the year's growth in the month
DEMAND_KG: Final = "demand_kg"
EATEN_KG: Final = "eaten_kg"
DEFICIT_KG: Final = "deficit_kg"
DEFICIT_LOW_KG: Final = "deficit_low_kg"  # with the high production (least deficit)
DEFICIT_HIGH_KG: Final = "deficit_high_kg"
DEFICIT_SHARE: Final = "deficit_share"  # deficit / demand
SEASON: Final = "season"
#: Field quadrat cuts for calibration, and fitted index-biomass relations.
BIOMASS: Final = "biomass_kg_ha"
BIOMASS_LOW: Final = "biomass_low_kg_ha"
BIOMASS_HIGH: Final = "biomass_high_kg_ha"
INDEX_VALUE: Final = "index_value"
EQUATION: Final = "equation"
FIT_SCOPE: Final = "scope"  # pasture type the relation was fitted for, or "all"
FIT_FORM: Final = "form"  # "linear" (a + b x) or "power" (a x^b)
FIT_A: Final = "a"
FIT_B: Final = "b"
FIT_N: Final = "n"
FIT_R2: Final = "r2"
FIT_RMSE: Final = "rmse_kg_ha"
FIT_CHOSEN: Final = "chosen"
X_COORD: Final = "x"
Y_COORD: Final = "y"
#: Layer and table names of the forage outputs.
FORAGE_PLOTS: Final = "forage_plots"
FORAGE_COMMUNITIES: Final = "forage_communities"
FORAGE_MONTHLY: Final = "forage_monthly"
FORAGE_UNITS: Final = {
    PRODUCTION: "kg DM/ha/yr",
    AVAILABLE: "kg DM/ha/yr",
    CAPACITY_UO_HA: "UO/ha/yr",
    CAPACITY_UO: "UO",
    STANDING_KG_HA: "kg DM/ha",
    GRAZING_DAYS: "days",
    DEFICIT_KG: "kg DM/month",
    BIOMASS: "kg DM/ha",
}

# --- grazing rotation ---------------------------------------------------------------
#: Herd group of the rotation planner (a family, or families of one corral).
HERD_ID: Final = "herd_id"
#: Grazing group of whole animals (pastures.rotation.groups): the unit a herder moves.
GROUP_ID: Final = "group_id"
#: Load of a grazing group, sheep units (UO), always beside its heads.
UO: Final = "uo"
#: Where a herd grazes: a plot code or "RANGE <community>" (open communal range).
LOCATION_ID: Final = "location_id"
LOCATION_KIND: Final = "location_kind"  # "plot" or "open_range"
START: Final = "start"  # first day, ISO date
END: Final = "end"  # last day (inclusive), ISO date
DAYS: Final = "days"
FORAGE_USED_KG: Final = "forage_used_kg"  # usable forage eaten, kg DM
SHORTFALL_KG: Final = "shortfall_kg"  # intake beyond the proper-use allowance, kg DM
REST_AFTER_DAYS: Final = "rest_after_days"  # rest of the location after the stay, days
OVERUSE_KG: Final = "overuse_kg"  # open range eaten beyond its proper use, kg DM
FODDER_KG: Final = "fodder_kg"  # demand no forage met: fodder or destocking, kg DM
REST_REQUIRED_DAYS: Final = "rest_required_days"
REST_BEFORE_DAYS: Final = "rest_before_days"  # rest the location had before the stay
REST_SHORT_DAYS: Final = "rest_short_days"  # required minus achieved rest (>= 0)
PLANNED_DAYS: Final = "planned_days"  # days of a logged stay the plan also had
DAYS_OFF_PLAN: Final = "days_off_plan"
DAYS_OVER: Final = "days_over"  # days beyond the longest consecutive grazing allowed
#: Columns of the rotation schedule, in order.
SCHEDULE_COLUMNS: Final = (
    HERD_ID, COMMUNITY, LOCATION_ID, LOCATION_KIND, START, END, DAYS, HERD_UO,
    FORAGE_USED_KG, SHORTFALL_KG, REST_AFTER_DAYS, OVERUSE_KG, FODDER_KG,
)  # fmt: skip
#: Columns of the plan-against-practice table (one row per logged stay).
PRACTICE_COLUMNS: Final = (
    HERD_ID, LOCATION_ID, START, END, DAYS, PLANNED_DAYS, DAYS_OFF_PLAN, REST_BEFORE_DAYS,
    REST_REQUIRED_DAYS, REST_SHORT_DAYS, DAYS_OVER,
)  # fmt: skip
#: Headings of the rotation tables in a workbook (translated into a project's language).
ROTATION_LABELS: Final = {
    HERD_ID: N_("Herd"),
    COMMUNITY: N_("Community"),
    LOCATION_ID: N_("Place"),
    LOCATION_KIND: N_("Kind of place"),
    START: N_("Start"),
    END: N_("End"),
    DAYS: N_("Days"),
    HERD_UO: N_("UO"),
    FORAGE_USED_KG: N_("Forage eaten (kg DM)"),
    SHORTFALL_KG: N_("Shortfall (kg DM)"),
    OVERUSE_KG: N_("Overuse of the open range (kg DM)"),
    FODDER_KG: N_("Fodder to bring or destocking (kg DM)"),
    REST_AFTER_DAYS: N_("Rest after (days)"),
    REST_REQUIRED_DAYS: N_("Rest required (days)"),
    REST_BEFORE_DAYS: N_("Rest before (days)"),
    REST_SHORT_DAYS: N_("Rest missing (days)"),
    PLANNED_DAYS: N_("Days planned"),
    DAYS_OFF_PLAN: N_("Days off the plan"),
    DAYS_OVER: N_("Days over"),
}
#: Other spellings accepted in a log of actual grazing (case- and accent-insensitive).
GRAZING_LOG_ALIASES: Final = {
    HERD_ID: ("herd_id", "herd", "rebano", "hato", "grupo", "family_id", "familia"),
    LOCATION_ID: ("location_id", "location", "plot_code", "plot", "parcela", "lugar", "cerco"),
    START: ("start", "inicio", "desde", "entrada", "from"),
    END: ("end", "fin", "hasta", "salida", "to"),
}

# --- terrain and erosion (continued): headings in words ------------------------------
#: Names of the risk classes in words (translated at use; the CSV keep the codes).
RISK_CLASS_NAMES: Final = {
    "low": N_("Low"),
    "moderate": N_("Moderate"),
    "high": N_("High"),
    "very high": N_("Very high"),
}
#: Headings of the risk table shown to people (``pastures risk``'s summary).
RISK_HEADINGS: Final = {
    PLOT_CODE: N_("Plot"),
    COMMUNITY: N_("Community"),
    RISK_CLASS: N_("Risk"),
    RISK_RANK: N_("Priority"),
    SOIL_LOSS_T_HA_YR: N_("Soil loss (t/ha/yr)"),
    RISK_DRIVERS: N_("Drivers"),
    RISK_ACTION: N_("Suggested action"),
}


# --- the data dictionary: every CSV column, in words and with its unit ------------------
#: Units of :data:`COLUMN_LABELS` that hold words (translated with the labels).
U_HA: Final = "ha"
U_KG: Final = N_("kg DM")
U_KG_HA: Final = N_("kg DM/ha")
U_KG_HA_YR: Final = N_("kg DM/ha/yr")
U_UO: Final = "UO"
U_UO_HA_YR: Final = N_("UO/ha/yr")
U_DAYS: Final = N_("days")
U_DATE: Final = N_("date (YYYY-MM-DD)")
U_HEADS: Final = N_("heads")
U_SHARE: Final = N_("share 0-1")
U_PCT: Final = "%"
U_T_HA_YR: Final = N_("t/ha/yr")
U_TEXT: Final = N_("text in the project's language")
U_NOTE: Final = N_("English method note (read by the map and the atlas)")
U_CODE: Final = N_("code")
U_ID: Final = N_("identifier")
U_NONE: Final = ""

#: Every column of the CSV tables `pastures` writes: (label, unit), the label marked for
#: translation. Column names are identifiers, the same in every language; docs/columns.md
#: (scripts/columns_doc.py) gives each one's label in English and Spanish. A name with
#: ``<index>`` stands for one column per vegetation index (ndvi, savi, msavi2, evi, ndmi,
#: bofedal). The plan and the calendar also have one column per month (``YYYY-MM``) or
#: period (``YYYY-MM-DD``).
COLUMN_LABELS: Final[dict[str, tuple[str, str]]] = {
    # layers, communities, herds
    COMMUNITY: (N_("community"), U_ID),
    PLOT_CODE: (N_("plot code"), U_ID),
    PASTURE_TYPE: (N_("pasture type (bofedal, pajonal, tolar, cesped, cultivado)"), U_CODE),
    AREA_HA: (N_("area"), U_HA),
    N_PLOTS: (N_("fenced plots"), N_("count")),
    PLOTS_HA: (N_("fenced area"), U_HA),
    N_CORRALS: (N_("corrals"), N_("count")),
    N_FAMILIES: (N_("families"), N_("count")),
    ALPACAS: (N_("alpacas"), U_HEADS),
    LLAMAS: (N_("llamas"), U_HEADS),
    SHEEP: (N_("sheep"), U_HEADS),
    "corral_id": (N_("corral"), U_ID),
    "family_id": (N_("family"), U_ID),
    # vegetation indices
    "date": (N_("date of the scene or cut"), U_DATE),
    "platform": (N_("satellite"), U_CODE),
    "scene_id": (N_("scene(s) of the date"), U_ID),
    "tile": (N_("tile(s)"), U_ID),
    "valid_fraction": (N_("clear share of the plots"), U_SHARE),
    "status": (N_("status (code)"), U_CODE),
    "index": (N_("vegetation index"), U_CODE),
    "statistic": (N_("statistic over the plot's pixels"), U_CODE),
    "value": (N_("value"), U_NONE),
    "month": (N_("month"), N_("1-12")),
    "mean": (N_("mean"), U_NONE),
    "baseline": (N_("baseline (mean of the years)"), U_NONE),
    "min": (N_("minimum"), U_NONE),
    "max": (N_("maximum"), U_NONE),
    "n_years": (N_("years"), N_("count")),
    "trend_per_year": (N_("seasonal Sen slope"), N_("index units/yr")),
    "kendall_tau": (N_("Mann-Kendall tau"), U_NONE),
    "trend_p_value": (N_("Mann-Kendall p-value"), U_NONE),
    "n_months": (N_("months"), N_("count")),
    "span_years": (N_("years spanned"), N_("yr")),
    "browning": (N_("persistent browning"), N_("True/False")),
    "<index>_mean": (N_("mean of the index"), U_NONE),
    "<index>_min": (N_("minimum of the index"), U_NONE),
    "<index>_max": (N_("maximum of the index"), U_NONE),
    "<index>_last": (N_("index at the latest clear date"), U_NONE),
    "<index>_dates": (N_("clear dates of the index"), N_("count")),
    "edge_rule": (N_("pixels counted at the plot's edge"), U_CODE),
    # forage
    "index_value": (N_("index value"), U_NONE),
    "biomass_kg_ha": (N_("standing biomass"), U_KG_HA),
    "biomass_low_kg_ha": (N_("standing biomass, low"), U_KG_HA),
    "biomass_high_kg_ha": (N_("standing biomass, high"), U_KG_HA),
    "equation": (N_("index-biomass relation"), U_NOTE),
    "scope": (N_("pasture type the relation is for (all: every type)"), U_CODE),
    "form": (N_("form of the relation"), U_CODE),
    "n": (N_("quadrat cuts"), N_("count")),
    "a": (N_("intercept or factor a"), U_NONE),
    "b": (N_("slope or exponent b"), U_NONE),
    "r2": (N_("R²"), U_NONE),
    "rmse_kg_ha": (N_("root mean square error"), U_KG_HA),
    "chosen": (N_("relation used"), N_("True/False")),
    "community_ha": (N_("area of the community"), U_HA),
    "open_range_ha": (N_("open communal range"), U_HA),
    "open_range_production_kg_ha_yr": (N_("production of the open range"), U_KG_HA_YR),
    "open_range_method": (N_("how the open range's production was found"), U_NOTE),
    "stocking_uo": (N_("stocking"), U_UO),
    "plots_capacity_uo": (N_("carrying capacity of the plots"), U_UO),
    "plots_stocking_uo": (N_("stocking on the plots"), U_UO),
    "open_capacity_uo": (N_("carrying capacity of the open range"), U_UO),
    "open_capacity_low_uo": (N_("carrying capacity of the open range, low"), U_UO),
    "open_capacity_high_uo": (N_("carrying capacity of the open range, high"), U_UO),
    "open_stocking_uo": (N_("stocking on the open range"), U_UO),
    "capacity_uo": (N_("carrying capacity"), U_UO),
    "capacity_low_uo": (N_("carrying capacity, low"), U_UO),
    "capacity_high_uo": (N_("carrying capacity, high"), U_UO),
    "capacity_wet_uo": (N_("carrying capacity in the wet season"), U_UO),
    "capacity_dry_uo": (N_("carrying capacity in the dry season"), U_UO),
    "range_condition": (N_("range condition (excellent ... very poor)"), U_CODE),
    "plots_stocking_ratio": (N_("stocking / capacity on the plots"), U_NONE),
    "open_stocking_ratio": (N_("stocking / capacity on the open range"), U_NONE),
    "pressure_ratio": (N_("stocking / capacity"), U_NONE),
    "season": (N_("season (wet Dec-Mar, dry Apr-Nov)"), U_CODE),
    "growth_share": (N_("share of the year's growth"), U_SHARE),
    "growth_kg": (N_("growth"), U_KG),
    "demand_kg": (N_("demand of the herds"), U_KG),
    "eaten_kg": (N_("forage eaten"), U_KG),
    "deficit_kg": (N_("forage deficit"), U_KG),
    "deficit_low_kg": (N_("forage deficit, low"), U_KG),
    "deficit_high_kg": (N_("forage deficit, high"), U_KG),
    "deficit_share": (N_("deficit / demand"), U_SHARE),
    "production_kg_ha_yr": (N_("forage production"), U_KG_HA_YR),
    "production_low_kg_ha_yr": (N_("forage production, low"), U_KG_HA_YR),
    "production_high_kg_ha_yr": (N_("forage production, high"), U_KG_HA_YR),
    "forage_method": (N_("how the production was found"), U_NOTE),
    "available_kg_ha_yr": (N_("forage that may be grazed"), U_KG_HA_YR),
    "available_low_kg_ha_yr": (N_("forage that may be grazed, low"), U_KG_HA_YR),
    "available_high_kg_ha_yr": (N_("forage that may be grazed, high"), U_KG_HA_YR),
    "capacity_uo_ha_yr": (N_("carrying capacity per hectare"), U_UO_HA_YR),
    "capacity_low_uo_ha_yr": (N_("carrying capacity per hectare, low"), U_UO_HA_YR),
    "capacity_high_uo_ha_yr": (N_("carrying capacity per hectare, high"), U_UO_HA_YR),
    "florez_uo_ha_yr": (N_("capacity of the condition class (Flórez 2005)"), U_UO_HA_YR),
    "standing_available_kg_ha": (N_("standing forage that may be grazed"), U_KG_HA),
    "standing_available_low_kg_ha": (N_("standing forage that may be grazed, low"), U_KG_HA),
    "standing_available_high_kg_ha": (N_("standing forage that may be grazed, high"), U_KG_HA),
    "herd_uo": (N_("herd the grazing days are for"), U_UO),
    "grazing_days": (N_("grazing days left for the herd"), U_DAYS),
    "grazing_days_low": (N_("grazing days left, low"), U_DAYS),
    "grazing_days_high": (N_("grazing days left, high"), U_DAYS),
    # erosion risk
    "dem_coverage": (N_("share of the plot with terrain data"), U_SHARE),
    "slope_pct": (N_("mean slope"), U_PCT),
    "ls_mean": (N_("mean LS factor"), U_NONE),
    "dry_cover_pct": (N_("dry-season cover"), U_PCT),
    "c_mean": (N_("mean C factor"), U_NONE),
    "p_factor": (N_("P factor (practices)"), U_NONE),
    "soil_loss_t_ha_yr": (N_("soil loss"), U_T_HA_YR),
    "soil_loss_t_yr": (N_("soil loss of the plot"), N_("t/yr")),
    "piosphere_decay_m": (N_("piosphere decay distance (0: none)"), "m"),
    "risk_class": (N_("risk class (low, moderate, high, very high)"), U_CODE),
    "risk_rank": (N_("priority (1: first to rest or protect)"), N_("rank")),
    "risk_drivers": (N_("drivers of the risk"), U_TEXT),
    "risk_action": (N_("suggested action"), U_TEXT),
    # rotation
    "group_id": (N_("grazing group"), U_ID),
    "location_id": (N_("place: plot code, or RANGE and the community"), U_ID),
    "location_kind": (N_("kind of place (plot, open_range)"), U_CODE),
    START: (N_("first day"), U_DATE),
    END: (N_("last day"), U_DATE),
    DAYS: (N_("days"), U_DAYS),
    "uo": (N_("animal units of the group"), U_UO),
    "forage_used_kg": (N_("forage eaten in the stay"), U_KG),
    "week": (N_("week of the plan"), N_("1, 2...")),
    "strategy": (N_("strategy of the place"), U_TEXT),
    "why": (N_("why that strategy"), U_TEXT),
    "range_standing_start_kg": (N_("standing forage of the open range at the start"), U_KG),
    "range_standing_source": (N_("how that standing forage was found"), U_TEXT),
    "runs_out": (N_("day the forage runs out"), U_DATE),
    "peak_week": (N_("week of the largest deficit"), U_DATE),
    "peak_fodder_kg": (N_("deficit of that week"), U_KG),
    "fodder_kg": (N_("fodder to bring, or forage to free by destocking"), U_KG),
    "sell_alpacas": (N_("alpacas to sell or move"), U_HEADS),
    "sell_llamas": (N_("llamas to sell or move"), U_HEADS),
    "sell_sheep": (N_("sheep to sell or move"), U_HEADS),
    "by_date": (N_("sell or move by"), U_DATE),
    "bales": (N_("hay bales that close the gap"), N_("bales")),
    "bale_kg": (N_("weight of a bale"), "kg"),
    "bale_dm_share": (N_("dry matter of a bale"), U_SHARE),
    "oats_ha": (N_("forage oats that close the gap"), U_HA),
    "oats_sow_by": (N_("sow the oats by"), U_DATE),
    "oats_kg_dm_ha": (N_("oat yield"), U_KG_HA),
    "oats_note": (N_("note on the oats"), U_TEXT),
    "standing_kg": (N_("standing forage"), U_KG),
    "intake_kg": (N_("intake of the herds"), U_KG),
    "allowance_to_date_kg": (N_("proper use to date"), U_KG),
    "overuse_kg": (N_("overuse of the open range"), U_KG),
    "source": (N_("source of the plot's forage"), U_NOTE),
    "usable_kg": (N_("usable forage"), U_KG),
    "grazed_periods": (N_("periods grazed"), N_("count")),
    "first_grazed": (N_("first day grazed"), U_DATE),
    "last_grazed": (N_("last day grazed"), U_DATE),
    "groups": (N_("groups that grazed it (+)"), U_ID),
    "reason": (N_("why unused (code)"), U_CODE),
    "closures": (N_("closures (codes, ;)"), U_CODE),
    "figure": (N_("figure of the plan"), U_CODE),
    HERD_ID: (N_("herd"), U_ID),
    PLANNED_DAYS: (N_("days the plan also had"), U_DAYS),
    DAYS_OFF_PLAN: (N_("days off the plan"), U_DAYS),
    REST_BEFORE_DAYS: (N_("rest before the stay"), U_DAYS),
    REST_REQUIRED_DAYS: (N_("rest required"), U_DAYS),
    REST_SHORT_DAYS: (N_("rest missing"), U_DAYS),
    DAYS_OVER: (N_("days beyond the longest grazing allowed"), U_DAYS),
}
