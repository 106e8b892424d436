"""Colours of the map: classed ramps, the rotation's colours and the legends.

Colour ramps are colour-blind safe: viridis for NDVI and range condition,
ColorBrewer diverging PuOr/RdBu for anomalies, trends and stocking, and
ColorBrewer YlOrRd/YlOrBr for erosion (Harrower and Brewer 2003, The
Cartographic Journal 40(1): 27-37; colours as shipped by ``branca``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Final

import numpy as np

from pastures import schema as S
from pastures.webmap.safe import esc

# --- colours (ColorBrewer and viridis as shipped by branca; hex for readability) -------------
#: viridis, 5 steps (dark = low NDVI, yellow = high).
VIRIDIS_5: Final = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
#: ColorBrewer PuOr, 6 classes: brown = below normal / browning, purple = above / greening.
PUOR_6: Final = ("#b35806", "#f1a340", "#fee0b6", "#d8daeb", "#998ec3", "#542788")
#: ColorBrewer RdBu (reversed), 6 classes: blue = under capacity, red = overstocked.
RDBU_6_R: Final = ("#2166ac", "#67a9cf", "#d1e5f0", "#fddbc7", "#ef8a62", "#b2182b")
#: ColorBrewer YlOrRd, 4 classes: the risk classes low to very high.
YLORRD_4: Final = ("#ffffb2", "#fecc5c", "#fd8d3c", "#e31a1c")
#: ColorBrewer YlOrBr, 6 classes: soil loss.
YLORBR_6: Final = ("#ffffd4", "#fee391", "#fec44f", "#fe9929", "#d95f0e", "#993404")
#: Rotation: grazed this week, next week, resting (ColorBrewer PuOr 4, colour-blind safe).
#: Rotation: grazed now, grazed within two weeks, resting, and no plan for the day. Orange
#: (ColorBrewer PuOr) for grazing and pink (PiYG) for resting: no hue of the NDVI ramp
#: (viridis: purple, blue, teal, green, yellow), so a resting plot never reads as low NDVI.
ROTATION_COLOURS: Final = ("#e66101", "#fdb863", "#de77ae", "#bdbdbd")
NO_DATA_COLOUR: Final = "#bdbdbd"
#: Corrals and water points.
CORRAL_COLOUR: Final = "#8c510a"
WATER_COLOUR: Final = "#2166ac"

#: Soil-loss classes (t/ha/yr): FAO (1979) limits 10, 50, 200 (as pastures.erosion's
#: RiskThresholds), with the loss below 10 split at 2 and 5 so tolerable losses show.
SOIL_LOSS_BREAKS: Final = (2.0, 5.0, 10.0, 50.0, 200.0)


@dataclass(frozen=True)
class Ramp:
    """A classed colour ramp: values below ``breaks[i]`` take ``colours[i]``."""

    breaks: tuple[float, ...]
    colours: tuple[str, ...]

    def colour(self, value: float | None) -> str:
        """Colour of `value` (grey for missing)."""
        if value is None or not np.isfinite(value):
            return NO_DATA_COLOUR
        return self.colours[int(np.digitize(value, self.breaks))]

    def labels(self, fmt: str) -> list[str]:
        """Legend labels, e.g. ``< 0.2``, ``0.2 – 0.4``, ``≥ 0.8``."""
        b = [fmt.format(x) for x in self.breaks]
        out = [f"< {b[0]}"]
        out += [f"{lo} – {hi}" for lo, hi in itertools.pairwise(b)]
        out.append(f"≥ {b[-1]}")
        return out


NDVI_RAMP: Final = Ramp((0.2, 0.3, 0.4, 0.5), VIRIDIS_5)
ANOMALY_RAMP: Final = Ramp((-0.1, -0.05, 0.0, 0.05, 0.1), PUOR_6)
TREND_RAMP: Final = Ramp((-0.01, -0.005, 0.0, 0.005, 0.01), PUOR_6)
#: Stocking / capacity, diverging at 1 (stocked at capacity, the risk module's first
#: pressure limit): blues below, reds above.
PRESSURE_RAMP: Final = Ramp((0.25, 0.5, 1.0, 2.0, 5.0), RDBU_6_R)
SOIL_LOSS_RAMP: Final = Ramp(SOIL_LOSS_BREAKS, YLORBR_6)
#: Range condition, excellent to very poor, on viridis (yellow = excellent).
CONDITION_COLOURS: Final = dict(zip(S.RANGE_CONDITIONS, VIRIDIS_5[::-1], strict=True))
RISK_COLOURS: Final = dict(zip(S.RISK_CLASSES, YLORRD_4, strict=True))


def legend_html(items: list[tuple[str, str]], title: str) -> str:
    """A legend section: a title and a swatch per (colour, label); labels escaped."""
    body = "".join(
        f'<div><span class="sw" style="background:{c}"></span>{esc(label)}</div>'
        for c, label in items
    )
    return f'<div class="legend-title">{esc(title)}</div>{body}'


def variable_legends(
    words: dict[str, str], condition: dict[str, str], risk: dict[str, str]
) -> dict[str, str]:
    """Legend HTML of each plot variable, in the words given (see :mod:`.words`)."""
    nd = [(NO_DATA_COLOUR, words["no_data"])]

    def ramp(r: Ramp, fmt: str) -> list[tuple[str, str]]:
        return [*zip(r.colours, r.labels(fmt), strict=True), *nd]

    return {
        "ndvi": legend_html(ramp(NDVI_RAMP, "{:.1f}"), words["ndvi"]),
        "anomaly": legend_html(ramp(ANOMALY_RAMP, "{:+.2f}"), words["anomaly"]),
        "trend": legend_html(ramp(TREND_RAMP, "{:+.3f}"), words["trend"]),
        "condition": legend_html(
            [(CONDITION_COLOURS[c], condition[c]) for c in S.RANGE_CONDITIONS] + nd,
            words["condition"],
        ),
        "pressure": legend_html(ramp(PRESSURE_RAMP, "{:g}"), words["pressure"]),
        "risk": legend_html(
            [(RISK_COLOURS[c], risk[c]) for c in S.RISK_CLASSES] + nd, words["risk"]
        ),
    }


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """``"#e66101"`` -> ``(230, 97, 1)``."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)
