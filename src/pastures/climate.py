"""Climate normals and seasons of Juli, defined once for every stage.

The forage budget (growth by month), the erosion stage (rainfall erosivity) and
the vegetation stage (the months of the dry-season composite) all start from the
same station normals; they import them from here.

Source: SENAMHI, Juli station (3,830 m), normals 1991-2020 (shared/DOMAIN.md).
"""

from __future__ import annotations

from typing import Final

#: Monthly rainfall normals, mm, January to December (SENAMHI Juli, 1991-2020).
JULI_MONTHLY_RAIN_MM: Final = (
    215.8,
    182.2,
    157.2,
    50.2,
    11.6,
    5.3,
    7.3,
    14.2,
    23.6,
    45.0,
    49.7,
    123.4,
)
#: The rainy season, December-March, about 77 % of the year's rain.
WET_MONTHS: Final = (12, 1, 2, 3)
#: The dry, brown months whose NDVI composite gives the erosion C factor: June-October
#: (5-45 mm a month; the lowest cover of the year, when soil is least protected).
DRY_COMPOSITE_MONTHS: Final = (6, 7, 8, 9, 10)
#: The critical late dry season, August-October (lowest protein and digestibility).
CRITICAL_MONTHS: Final = (8, 9, 10)
