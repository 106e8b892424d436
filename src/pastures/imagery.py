"""Optical scenes: finding them, their bands, radiometry, cloud masks and mosaics.

Every input form goes through one code path: it becomes a list of :class:`Scene`
(band files, scale and offset per band, mask band), and :func:`read_mosaic`
reads any group of scenes onto one grid.

Inputs
------
- A folder of scenes as delivered: one GeoTIFF/COG (or JPEG 2000) per band,
  named as the Sentinel-2 SAFE granules (``T19KDC_20240115T144731_B04_10m.tif``),
  as Earth Search COG folders (``S2B_19KDC_20240115_0_L2A/B04.tif``) or as Landsat
  Collection 2 Level-2 files (``LC08_L2SP_003071_20230115_..._SR_B4.TIF``); or
  multi-band files whose band descriptions name the bands.
- STAC: single Item JSON files, ItemCollections (FeatureCollections) and JSON
  lists of items, in the Earth Search (v0 and v1) and Planetary Computer forms,
  with asset hrefs that are local paths, paths relative to the JSON file, or URLs.
- An online search (:func:`search_stac`) through ``pystac-client``, if installed.

Radiometry (``shared/DOMAIN.md``)
---------------------------------
Sentinel-2 L2A reflectance = DN × 0.0001 + offset. Since processing baseline
04.00 (25 January 2022) products carry ``BOA_ADD_OFFSET = -1000`` DN (offset
-0.1). Decisions, in order (see :func:`sentinel2_radiometry`):

1. ``earthsearch:boa_offset_applied: true``: Earth Search already removed the
   offset; ``raster:bands`` may still list -0.1 and is ignored, so the offset is
   never applied twice.
2. The scale and offset of ``raster:bands`` (or of a folder's ``MTD_MSIL2A.xml``
   or GeoTIFF tags), unless the processing baseline is older than 04.00, which
   never had an offset.
3. Metadata silent (Planetary Computer): the offset follows the processing
   baseline (``s2:processing_baseline`` or the ``_Nxxyy_`` of the product name).
4. No evidence at all (a folder of band files with no item JSON, no
   ``MTD_MSIL2A.xml``, no ``BOA_ADD_OFFSET`` tag and no baseline in its path):
   the offset is not guessed. The acquisition date is no evidence: Earth Search
   v1 COGs of 2022 on (``S2B_24MUV_20250731_0_L2A/B04.tif``) already have it
   removed, while files cut from a SAFE of the same day still carry it, and the
   Collection-1 reprocessing (baseline 05.00) added it to scenes from 2015 on.
   Such scenes are refused with a message, unless the caller states the offset
   (``boa_offset="applied"`` or ``"apply"``; ``--boa-offset`` on the command line).

Landsat Collection 2 Level-2 surface reflectance = DN × 0.0000275 - 0.2 (USGS).
Southern Landsat scenes come in the northern UTM zone with negative northings
(EPSG:32619 for Juli): plots are reprojected to the scene, never the scene to
the plots. Level-1C (top-of-atmosphere) products are rejected.

Masks: the Sentinel-2 scene classification (SCL) classes of
:data:`SCL_MASKED` and the Landsat ``QA_PIXEL`` bits of :data:`QA_PIXEL_MASKED_BITS`.
20 m bands and SCL are read onto the 10 m grid (nearest neighbour).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlparse

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import RasterioError
from rasterio.windows import Window

from pastures.defaults import BOA_OFFSET_CHOICES, BoaOffset
from pastures.errors import (
    CRSError,
    InputFileError,
    LayerError,
    MissingDependencyError,
    ParameterError,
    PasturesError,
    Problem,
)
from pastures.i18n import _

logger = logging.getLogger(__name__)

Platform = Literal["sentinel-2", "landsat"]
MaskKind = Literal["scl", "qa_pixel"]

#: Common band names (STAC ``eo:bands`` common names) used by the index formulas.
COMMON_BANDS: Final = (
    "coastal",
    "blue",
    "green",
    "red",
    "rededge1",
    "rededge2",
    "rededge3",
    "nir",
    "nir08",
    "swir16",
    "swir22",
)
#: Sentinel-2 band ids and their common names (B08 is the broad NIR used by indices).
SENTINEL2_BANDS: Final = {
    "B01": "coastal",
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B05": "rededge1",
    "B06": "rededge2",
    "B07": "rededge3",
    "B08": "nir",
    "B8A": "nir08",
    "B11": "swir16",
    "B12": "swir22",
}
#: Landsat 8/9 OLI surface-reflectance bands (B5 is the NIR used by indices).
LANDSAT_OLI_BANDS: Final = {
    "SR_B1": "coastal",
    "SR_B2": "blue",
    "SR_B3": "green",
    "SR_B4": "red",
    "SR_B5": "nir",
    "SR_B6": "swir16",
    "SR_B7": "swir22",
}
#: Landsat 4-7 TM/ETM+ surface-reflectance bands.
LANDSAT_TM_BANDS: Final = {
    "SR_B1": "blue",
    "SR_B2": "green",
    "SR_B3": "red",
    "SR_B4": "nir",
    "SR_B5": "swir16",
    "SR_B7": "swir22",
}
#: SCL classes masked out: 0 no data, 1 saturated/defective, 3 cloud shadow,
#: 8 cloud medium probability, 9 cloud high probability, 10 thin cirrus, 11 snow.
SCL_MASKED: Final = frozenset({0, 1, 3, 8, 9, 10, 11})
#: SCL class names, for messages.
SCL_CLASSES: Final = {
    0: "no data",
    1: "saturated or defective",
    2: "dark area",
    3: "cloud shadow",
    4: "vegetation",
    5: "not vegetated",
    6: "water",
    7: "unclassified",
    8: "cloud medium probability",
    9: "cloud high probability",
    10: "thin cirrus",
    11: "snow",
}
#: Landsat C2 QA_PIXEL bits masked out: 0 fill, 1 dilated cloud, 2 cirrus, 3 cloud,
#: 4 cloud shadow, 5 snow (USGS Landsat 8-9 C2 L2 Science Product Guide).
QA_PIXEL_MASKED_BITS: Final = (0, 1, 2, 3, 4, 5)

#: Sentinel-2 L2A digital numbers per unit reflectance (scale 0.0001).
S2_SCALE: Final = 1e-4
#: BOA_ADD_OFFSET of L2A products from processing baseline 04.00 on (DN).
S2_BOA_ADD_OFFSET_DN: Final = -1000
#: First processing baseline with the offset, and the day it came into force.
S2_OFFSET_BASELINE: Final = (4, 0)
S2_OFFSET_SINCE: Final = dt.date(2022, 1, 25)
# BoaOffset, BOA_OFFSET_CHOICES (how the BOA_ADD_OFFSET is decided): pastures.defaults.
#: Landsat Collection 2 Level-2 surface reflectance scale and offset (USGS).
LANDSAT_SCALE: Final = 2.75e-5
LANDSAT_OFFSET: Final = -0.2

_RASTER_SUFFIXES: Final = (".tif", ".tiff", ".jp2", ".vrt")
_STAC_SUFFIXES: Final = (".json", ".geojson")


@dataclass(frozen=True)
class BandFile:
    """Where one band lives and how to turn its numbers into reflectance.

    Attributes
    ----------
    href
        Local path or URL, as rasterio opens it.
    band
        1-based band number in the file.
    scale, offset
        Reflectance = DN × scale + offset (1 and 0 for mask bands).
    nodata
        DN that marks missing pixels (None: none declared).
    """

    href: str
    band: int = 1
    scale: float = 1.0
    offset: float = 0.0
    nodata: float | None = 0


@dataclass(frozen=True)
class Scene:
    """One acquisition of one tile: its bands, mask and radiometry.

    Attributes
    ----------
    scene_id
        STAC item id or the name the files share.
    date
        Acquisition date (UTC).
    platform
        ``"sentinel-2"`` or ``"landsat"``.
    tile
        MGRS tile (``"19KDC"``) or Landsat path/row (``"003071"``); may be empty.
    bands
        Reflectance bands by common name.
    mask
        Scene classification (SCL) or ``QA_PIXEL`` band, if any.
    mask_kind
        ``"scl"`` or ``"qa_pixel"``.
    crs
        CRS the metadata announces (e.g. ``"EPSG:32719"``); checked against the files.
    radiometry
        How the scale and offset were decided, in words.
    source
        File or folder the scene was described in.
    """

    scene_id: str
    date: dt.date
    platform: Platform
    tile: str
    bands: Mapping[str, BandFile]
    mask: BandFile | None = None
    mask_kind: MaskKind | None = None
    crs: str | None = None
    radiometry: str = ""
    source: str = ""


@dataclass(frozen=True)
class Grid:
    """A north-up pixel grid: where the arrays of a mosaic live."""

    crs: str
    transform: Affine
    shape: tuple[int, int]

    @property
    def resolution(self) -> float:
        """Pixel size in CRS units."""
        return abs(self.transform.a)

    def window_grid(self, col0: int, row0: int, cols: int, rows: int) -> Grid:
        """The sub-grid of `rows` × `cols` pixels starting at (row0, col0)."""
        return Grid(self.crs, _translated(self.transform, col0, row0), (rows, cols))


def _translated(transform: Affine, col: float, row: float) -> Affine:
    """The transform of the pixel grid shifted by (col, row) pixels."""
    t = transform
    return Affine(t.a, t.b, t.c + col * t.a + row * t.b, t.d, t.e, t.f + col * t.d + row * t.e)


#: Pixel states of a mosaic.
NODATA, MASKED, CLEAR = 0, 1, 2


@dataclass(frozen=True)
class Mosaic:
    """Reflectance of one date on one grid, from one or more tiles.

    Attributes
    ----------
    grid
        The grid of the arrays.
    bands
        float32 reflectance by common band name, NaN where not clear.
    state
        uint8 per pixel: 0 no data, 1 masked (cloud, shadow, snow...), 2 clear.
    scene_ids
        Scenes that contributed.
    problems
        What went wrong with some of them (the others were still used).
    """

    grid: Grid
    bands: dict[str, np.ndarray]
    state: np.ndarray
    scene_ids: tuple[str, ...]
    problems: tuple[Problem, ...] = ()

    @property
    def valid(self) -> np.ndarray:
        """True where the pixel is clear."""
        return self.state == CLEAR


# --- finding scenes -----------------------------------------------------------------


def load_scenes(
    source: str | os.PathLike[str] | Mapping[str, Any] | Sequence[Any],
    *,
    boa_offset: BoaOffset = "auto",
) -> tuple[list[Scene], list[Problem]]:
    """Describe every usable scene of a folder, STAC file(s) or STAC item dict(s).

    Parameters
    ----------
    source
        A folder (of band files, or of STAC JSON files), a STAC JSON file (Item,
        ItemCollection or list of items), a STAC item dict, or a list of any of
        these.
    boa_offset
        Sentinel-2 L2A offset: ``auto`` decides it from each scene's metadata and
        reports a scene with none as a problem (never guessed); ``applied`` or
        ``apply`` state it for every Sentinel-2 scene (see :data:`BoaOffset`).

    Returns
    -------
    scenes, problems
        The scenes found (sorted by date and id) and, for every item or file that
        could not be used, a :class:`~pastures.errors.Problem` naming it and saying
        what to do. A bad item never hides the good ones.

    Raises
    ------
    InputFileError
        If `source` does not exist or holds nothing that looks like imagery.
    """
    check_boa_offset(boa_offset)
    with _stated_offset(boa_offset):
        return _load_scenes(source)


def check_boa_offset(boa_offset: str) -> BoaOffset:
    """Return `boa_offset` if valid, else raise :class:`ParameterError`."""
    if boa_offset not in BOA_OFFSET_CHOICES:
        raise ParameterError(
            _("Unknown BOA offset choice '{boa_offset}'. Choose one of: {value}.").format(
                boa_offset=boa_offset, value=", ".join(BOA_OFFSET_CHOICES)
            )
        )
    return boa_offset  # type: ignore[return-value]


#: The choice in force while :func:`load_scenes` runs (per thread and task).
_STATED_OFFSET: contextvars.ContextVar[BoaOffset] = contextvars.ContextVar(
    "boa_offset", default="auto"
)


@contextlib.contextmanager
def _stated_offset(boa_offset: BoaOffset) -> Iterator[None]:
    """Make `boa_offset` the choice of the radiometry decisions made inside the block."""
    token = _STATED_OFFSET.set(boa_offset)
    try:
        yield
    finally:
        _STATED_OFFSET.reset(token)


def _load_scenes(
    source: str | os.PathLike[str] | Mapping[str, Any] | Sequence[Any],
) -> tuple[list[Scene], list[Problem]]:
    scenes: list[Scene] = []
    problems: list[Problem] = []
    sources: Sequence[Any] = (
        source if isinstance(source, Sequence) and not isinstance(source, str) else [source]
    )
    for one in sources:
        if isinstance(one, Mapping):
            _scenes_from_items([one], Path.cwd(), "<STAC item>", scenes, problems)
            continue
        path = Path(one)
        if not path.exists():
            raise InputFileError(
                _(
                    "Imagery source '{path}' does not exist. Give a folder of scenes or a "
                    "STAC item JSON file."
                ).format(path=path)
            )
        if path.is_dir():
            _scenes_from_folder(path, scenes, problems)
        elif path.suffix.lower() in _STAC_SUFFIXES:
            try:
                items = _read_stac_json(path)
            except InputFileError as exc:
                if len(sources) == 1:
                    raise
                # one truncated or non-STAC file does not lose the other sources' scenes
                problems.append(Problem("error", "unusable-scene", str(exc), str(path)))
                continue
            _scenes_from_items(items, path.parent, str(path), scenes, problems)
        elif path.suffix.lower() in _RASTER_SUFFIXES:
            _scenes_from_rasters([path], scenes, problems)
        else:
            raise InputFileError(
                _("'{path}' is neither a folder, a STAC JSON file nor a GeoTIFF/JPEG 2000.").format(
                    path=path
                )
            )
    if not scenes and not problems:
        raise InputFileError(
            _(
                "No scenes found in {value}: expected band files (GeoTIFF, COG, JPEG "
                "2000) or STAC item JSON files."
            ).format(value=", ".join(str(s) for s in sources))
        )
    scenes.sort(key=lambda s: (s.date, s.scene_id))
    return scenes, problems


def _read_stac_json(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(
            _("Cannot read STAC file '{path}': {exc}. Check that it is complete JSON.").format(
                path=path, exc=exc
            )
        ) from exc
    return stac_items(data, source=str(path))


def stac_items(data: Any, *, source: str = "") -> list[dict[str, Any]]:
    """Return the items of a STAC Item, ItemCollection or list of items.

    Raises
    ------
    InputFileError
        If `data` is none of these.
    """
    if isinstance(data, list):
        return [item for d in data for item in stac_items(d, source=source)]
    if isinstance(data, Mapping):
        kind = data.get("type")
        if kind == "FeatureCollection":
            features = data.get("features", [])
            if not isinstance(features, list):
                raise InputFileError(
                    _("'{value}': 'features' is not a list of STAC items.").format(
                        value=source or "input"
                    )
                )
            return [dict(f) if isinstance(f, Mapping) else f for f in features]
        if kind == "Feature" and "assets" in data:
            return [dict(data)]
    raise InputFileError(
        _(
            "'{value}' is not a STAC Item, ItemCollection or list of items (expected "
            "GeoJSON with type Feature or FeatureCollection and 'assets')."
        ).format(value=source or "input")
    )


def _scenes_from_items(
    items: Iterable[Mapping[str, Any]],
    base: Path,
    source: str,
    scenes: list[Scene],
    problems: list[Problem],
) -> None:
    for number, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            problems.append(
                Problem(
                    "error",
                    "malformed-item",
                    _(
                        "feature #{number} is {name}, not a STAC item (an object); skipped, the "
                        "other items are kept."
                    ).format(number=number, name=type(item).__name__),
                    source,
                    f"#{number}",
                )
            )
            continue
        try:
            scene = scene_from_stac_item(item, base=base, source=source)
        except PasturesError as exc:
            problems.append(
                Problem("error", "unusable-scene", str(exc), source, str(item.get("id", "")))
            )
            continue
        except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as exc:
            # a field of the wrong type (assets as a list, a text scale or EPSG, a bad date)
            problems.append(
                Problem(
                    "error",
                    "malformed-item",
                    _(
                        "STAC item is malformed ({name}: {exc}); skipped, the other items are "
                        "kept. Fetch the item again from its catalogue."
                    ).format(name=type(exc).__name__, exc=exc),
                    source,
                    str(item.get("id", f"#{number}")),
                )
            )
            continue
        if scene is None:
            problems.append(
                Problem(
                    "warning",
                    "not-optical",
                    _(
                        "Item of collection '{value}' is not Sentinel-2 L2A or Landsat "
                        "Collection 2 Level-2 imagery; skipped."
                    ).format(value=item.get("collection", "?")),
                    source,
                    str(item.get("id", "")),
                )
            )
            continue
        scenes.append(scene)


def scene_from_stac_item(
    item: Mapping[str, Any], *, base: Path | None = None, source: str = ""
) -> Scene | None:
    """Describe the scene of one STAC item (Earth Search or Planetary Computer form).

    Parameters
    ----------
    item
        The item as a dict (GeoJSON Feature with ``assets``).
    base
        Folder that relative asset hrefs are relative to (the JSON file's folder).
    source
        File the item came from, for messages.

    Returns
    -------
    Scene or None
        None for items that are not optical surface reflectance (Sentinel-1, DEM).

    Raises
    ------
    InputFileError
        For a Level-1C item, or one without the bands it should have.
    """
    props = item.get("properties", {})
    item_id = str(item.get("id", ""))
    collection = str(item.get("collection", "")).lower()
    platform = str(props.get("platform", "")).lower()
    base = base or Path.cwd()
    if _is_level1c(item_id, collection, props):
        raise InputFileError(
            _(
                "STAC item '{item_id}' ({value}) is a Level-1C (top-of-atmosphere) "
                "product: indices need Level-2A surface reflectance. Use the L2A item of "
                "the same scene (collection 'sentinel-2-l2a' or 'sentinel-2-c1-l2a')."
            ).format(item_id=item_id, value=source or "input")
        )
    date = _item_date(item)
    crs = _item_crs(props)
    if "sentinel-2" in platform or "sentinel-s2" in collection or "sentinel-2" in collection:
        bands, mask = _sentinel2_assets(item, base)
        scale, offset, note = sentinel2_radiometry(item, bands)
        tile = _sentinel2_tile(item_id, props)
        return Scene(
            scene_id=item_id,
            date=date,
            platform="sentinel-2",
            tile=tile,
            bands={k: _with_radiometry(b, scale, offset) for k, b in bands.items()},
            mask=mask,
            mask_kind="scl" if mask else None,
            crs=crs,
            radiometry=note,
            source=source,
        )
    if "landsat" in platform or "landsat" in collection:
        bands, mask = _landsat_assets(item, base)
        return Scene(
            scene_id=item_id,
            date=date,
            platform="landsat",
            tile=f"{props.get('landsat:wrs_path', '')}{props.get('landsat:wrs_row', '')}",
            bands=bands,
            mask=mask,
            mask_kind="qa_pixel" if mask else None,
            crs=crs,
            radiometry="Landsat C2 L2 scale and offset from raster:bands or USGS defaults",
            source=source,
        )
    return None


def _is_level1c(item_id: str, collection: str, props: Mapping[str, Any]) -> bool:
    product_type = str(props.get("s2:product_type", "")).upper()
    level = str(props.get("processing:level", "")).upper()
    return (
        product_type == "S2MSI1C"
        or "l1c" in collection
        or level == "L1C"
        or bool(re.search(r"(MSIL1C|_L1C$)", item_id))
    )


def _item_date(item: Mapping[str, Any]) -> dt.date:
    props = item.get("properties", {})
    stamp = props.get("datetime") or props.get("start_datetime")
    if not stamp:
        raise InputFileError(_("STAC item '{value}' has no datetime.").format(value=item.get("id")))
    return dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).date()


def _item_crs(props: Mapping[str, Any]) -> str | None:
    if props.get("proj:epsg"):
        return f"EPSG:{int(props['proj:epsg'])}"
    code = props.get("proj:code")
    return str(code) if code else None


def _sentinel2_tile(item_id: str, props: Mapping[str, Any]) -> str:
    if props.get("s2:mgrs_tile"):
        return str(props["s2:mgrs_tile"])
    if props.get("grid:code"):
        return str(props["grid:code"]).removeprefix("MGRS-")
    if "mgrs:utm_zone" in props:
        return f"{props['mgrs:utm_zone']}{props['mgrs:latitude_band']}{props['mgrs:grid_square']}"
    found = re.search(r"_T?(\d{2}[A-Z]{3})_", item_id)
    return found.group(1) if found else ""


#: URL schemes an asset href may use; anything else is refused.
HREF_SCHEMES: Final = ("http", "https", "s3", "gs", "az", "file")


def _resolve_href(href: str, base: Path) -> str:
    """Where an asset's data is, refusing hrefs that point outside the data.

    Relative hrefs are relative to the item's folder and must stay inside it (a
    ``../../`` path that climbs out is refused); GDAL's virtual file systems
    (``/vsicurl/``, ``/vsizip/`` ...) and other URL schemes are refused, so that a
    STAC file cannot make the toolkit open what its author chooses.
    """
    parsed = urlparse(href)
    if parsed.scheme in ("http", "https", "s3", "gs", "az"):
        return href
    if parsed.scheme and parsed.scheme != "file" and len(parsed.scheme) > 1:  # C:\ is a path
        raise ParameterError(
            _(
                "asset href '{href}' uses the scheme '{scheme}:'; give a local path "
                "relative to the item or a URL ({value})."
            ).format(href=href, scheme=parsed.scheme, value=", ".join(HREF_SCHEMES))
        )
    text = parsed.path if parsed.scheme == "file" else href
    if text.replace("\\", "/").lstrip("/").lower().startswith("vsi"):
        raise ParameterError(
            _(
                "asset href '{href}' names a GDAL virtual file system; give a plain path or URL."
            ).format(href=href)
        )
    path = Path(text)
    if path.is_absolute():
        return str(path)
    resolved = (base / path).resolve()
    if not resolved.is_relative_to(base.resolve()):
        raise ParameterError(
            _(
                "asset href '{href}' points outside the item's folder {base}; keep the "
                "band files beside or below the item JSON (or give an absolute path or "
                "URL)."
            ).format(href=href, base=base)
        )
    return str(resolved)


def _asset_bands(key: str, asset: Mapping[str, Any]) -> list[str | None]:
    """Sentinel-2 common band name of each band of an asset (None if not a band)."""
    eo = asset.get("eo:bands") or asset.get("bands") or []
    names: list[str | None] = []
    for entry in eo:
        name = str(entry.get("name", "")).upper()
        common = str(entry.get("common_name") or entry.get("eo:common_name") or "").lower()
        names.append(SENTINEL2_BANDS.get(name) or (common if common in COMMON_BANDS else None))
    if not names:
        upper = key.upper()
        names = [SENTINEL2_BANDS.get(upper) or (key.lower() if key in COMMON_BANDS else None)]
    return names


def _is_image_asset(key: str, asset: Mapping[str, Any]) -> bool:
    kind = str(asset.get("type", "")).lower()
    roles = asset.get("roles", [])
    if key.lower() in ("visual", "tci", "thumbnail", "overview", "preview") or "visual" in roles:
        return False
    if key.lower().endswith("-jp2"):
        return False  # Earth Search lists each band twice; the COG is the one to read
    return (not kind) or "tiff" in kind or "jp2" in kind


def _raster_band_meta(asset: Mapping[str, Any], index: int) -> Mapping[str, Any]:
    """Scale, offset and nodata of band `index`: STAC 1.0 ``raster:bands`` or 1.1 ``bands``."""
    bands = asset.get("raster:bands") or asset.get("bands") or []
    meta = dict(bands[index]) if index < len(bands) else {}
    for key in ("scale", "offset", "nodata"):  # STAC 1.1 may give them once per asset
        if key not in meta and key in asset:
            meta[key] = asset[key]
    return meta


def _sentinel2_assets(
    item: Mapping[str, Any], base: Path
) -> tuple[dict[str, BandFile], BandFile | None]:
    bands: dict[str, BandFile] = {}
    mask: BandFile | None = None
    for key, asset in item.get("assets", {}).items():
        if not _is_image_asset(key, asset):
            continue
        href = _resolve_href(str(asset.get("href", "")), base)
        if key.lower() == "scl":
            meta = _raster_band_meta(asset, 0)
            mask = BandFile(href, 1, 1.0, 0.0, meta.get("nodata", 0))
            continue
        for i, name in enumerate(_asset_bands(key, asset)):
            if name is None or name in bands:
                continue
            meta = _raster_band_meta(asset, i)
            bands[name] = BandFile(
                href,
                i + 1,
                float(meta.get("scale", np.nan)),
                float(meta.get("offset", np.nan)),
                meta.get("nodata", 0),
            )
    if not bands:
        raise InputFileError(
            _(
                "STAC item '{value}' lists no Sentinel-2 band assets (B02-B12 or "
                "blue/green/red/nir...). Check that it is a complete L2A item."
            ).format(value=item.get("id"))
        )
    return bands, mask


def _with_radiometry(band: BandFile, scale: float, offset: float) -> BandFile:
    return BandFile(band.href, band.band, scale, offset, band.nodata)


def processing_baseline(item: Mapping[str, Any]) -> tuple[int, int] | None:
    """The Sentinel-2 processing baseline of an item, as (major, minor), if known.

    Read from ``s2:processing_baseline`` or from the ``_Nxxyy_`` part of the
    product, granule or item name.
    """
    props = item.get("properties", {})
    text = props.get("s2:processing_baseline")
    if text:
        major, _, minor = str(text).partition(".")
        return int(major), int(minor or 0)
    for key in ("s2:product_uri", "sentinel:product_id", "s2:granule_id", "s2:tile_id"):
        found = re.search(r"_N(\d{2})\.?(\d{2})", str(props.get(key, "")))
        if found:
            return int(found.group(1)), int(found.group(2))
    found = re.search(r"_N(\d{2})(\d{2})_", str(item.get("id", "")))
    return (int(found.group(1)), int(found.group(2))) if found else None


def sentinel2_radiometry(
    item: Mapping[str, Any],
    bands: Mapping[str, BandFile] | None = None,
    *,
    boa_offset: BoaOffset | None = None,
    where: str = "",
) -> tuple[float, float, str]:
    """Decide the scale and offset of a Sentinel-2 L2A item's reflectance bands.

    Parameters
    ----------
    item
        The STAC item (only ``id`` and ``properties`` are read).
    bands
        Its band files with the scale/offset of ``raster:bands`` (NaN if absent).
    boa_offset
        ``auto`` (from the metadata), ``applied`` or ``apply`` (stated by the user;
        see :data:`BoaOffset`). Default: the choice given to :func:`load_scenes`.
    where
        The file or folder the scene came from, for the message.

    Returns
    -------
    scale, offset, reason
        Reflectance = DN × scale + offset, and why, in words (for logs and tables).

    Raises
    ------
    InputFileError
        Under ``auto``, when nothing in the metadata says whether the offset is
        still in the DNs (the date is not evidence; see the module docstring).
    """
    choice = check_boa_offset(boa_offset or _STATED_OFFSET.get())
    props = item.get("properties", {})
    baseline = processing_baseline(item)
    listed = [(b.scale, b.offset) for b in (bands or {}).values() if not np.isnan(b.offset)]
    scale = listed[0][0] if listed and not np.isnan(listed[0][0]) else S2_SCALE
    offset_from_baseline = S2_BOA_ADD_OFFSET_DN * S2_SCALE
    if choice == "applied":
        return scale, 0.0, "stated by the user (boa_offset 'applied'): reflectance = DN x scale"
    if choice == "apply":
        return (
            scale,
            offset_from_baseline,
            "stated by the user (boa_offset 'apply'): BOA_ADD_OFFSET -1000 DN removed",
        )
    if props.get("earthsearch:boa_offset_applied") is True:
        return (
            scale,
            0.0,
            "earthsearch:boa_offset_applied is true: the -1000 DN offset was already removed "
            "(raster:bands offset ignored so it is not applied twice)",
        )
    if baseline is not None and baseline < S2_OFFSET_BASELINE:
        note = f"processing baseline {baseline[0]:02d}.{baseline[1]:02d} < 04.00: no offset"
        if listed and listed[0][1] != 0:
            note += f" (listed offset {listed[0][1]} ignored)"
        return scale, 0.0, note
    if listed:
        return scale, listed[0][1], f"scale {scale} and offset {listed[0][1]} from raster:bands"
    if baseline is not None:
        return (
            scale,
            offset_from_baseline,
            f"metadata silent; processing baseline {baseline[0]:02d}.{baseline[1]:02d} >= 04.00: "
            "BOA_ADD_OFFSET -1000 DN",
        )
    raise InputFileError(
        _(
            "Scene '{value}'{value2}: whether its Sentinel-2 L2A reflectance still "
            "carries the BOA_ADD_OFFSET of -1000 DN cannot be known: no STAC item, "
            "MTD_MSIL2A.xml, BOA_ADD_OFFSET tag or processing baseline (_Nxxyy_ in "
            "the product name) was found, and the date is no evidence. State it: "
            "--boa-offset applied for Earth Search COGs "
            "(S2B_19KDC_20240115_0_L2A/B04.tif: offset already removed) or scenes of "
            "baseline < 04.00; --boa-offset apply for bands cut from a SAFE of "
            "baseline 04.00 or later; or keep the item JSON or MTD_MSIL2A.xml beside "
            "the band files."
        ).format(value=item.get("id", "?"), value2=f" ({where})" if where else "")
    )


def _landsat_assets(
    item: Mapping[str, Any], base: Path
) -> tuple[dict[str, BandFile], BandFile | None]:
    props = item.get("properties", {})
    oli = any(p in str(props.get("platform", "")).lower() for p in ("8", "9"))
    by_id = LANDSAT_OLI_BANDS if oli else LANDSAT_TM_BANDS
    bands: dict[str, BandFile] = {}
    mask: BandFile | None = None
    for key, asset in item.get("assets", {}).items():
        if not _is_image_asset(key, asset):
            continue
        href = _resolve_href(str(asset.get("href", "")), base)
        if key.lower() == "qa_pixel":
            mask = BandFile(href, 1, 1.0, 0.0, 1)
            continue
        eo = asset.get("eo:bands") or [{}]
        name = by_id.get(str(eo[0].get("name", "")).upper()) or {"nir08": "nir"}.get(
            key.lower(), key.lower()
        )
        if name not in COMMON_BANDS or name in bands:
            continue
        meta = _raster_band_meta(asset, 0)
        bands[name] = BandFile(
            href,
            1,
            float(meta.get("scale", LANDSAT_SCALE)),
            float(meta.get("offset", LANDSAT_OFFSET)),
            meta.get("nodata", 0),
        )
    if not bands:
        raise InputFileError(
            _("Landsat item '{value}' lists no surface-reflectance bands.").format(
                value=item.get("id")
            )
        )
    return bands, mask


# --- folders of band files ------------------------------------------------------------

_SAFE_NAME = re.compile(
    r"^T(?P<tile>\d{2}[A-Z]{3})_(?P<date>\d{8})T\d{6}_(?P<band>B\d[\dA]|SCL)(?:_(?P<res>\d+)m)?$",
    re.I,
)
#: Files of a delivery that are not bands to read (previews, aerosol, water vapour, thermal,
#: other quality layers): skipped without a word.
_NOT_BANDS = re.compile(
    r"(_(TCI|AOT|WVP|PVI|CLD|SNW|MSK\w*)(_\d+m)?$)|(_(ST_\w+|QA_RADSAT|SR_QA_AEROSOL|ANG|MTL))$",
    re.I,
)
_LANDSAT_NAME = re.compile(
    r"^(?P<sensor>L[COTE]0\d)_L2S[PR]_(?P<tile>\d{6})_(?P<date>\d{8})_\d{8}_\d{2}_[A-Z0-9]{2}"
    r"_(?P<band>SR_B\d|QA_PIXEL)$",
    re.I,
)
_BAND_ONLY = re.compile(r"^(?P<band>B\d[\dA]|SCL)$", re.I)
_S2_FOLDER = re.compile(r"S2[ABC]_(?:MSIL2A_)?(?:T)?(?P<tile>\d{2}[A-Z]{3})?_?(?P<date>\d{8})")
_BASELINE_IN_NAME = re.compile(r"_N(\d{2})(\d{2})_")


def _scenes_from_folder(folder: Path, scenes: list[Scene], problems: list[Problem]) -> None:
    items = sorted(p for p in folder.rglob("*") if p.suffix.lower() in _STAC_SUFFIXES)
    if items:
        for path in items:
            try:
                text = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                problems.append(
                    Problem(
                        "error",
                        "unreadable-stac",
                        _("Cannot read '{path}' ({exc}): is the JSON file complete?").format(
                            path=path, exc=exc
                        ),
                        str(path),
                    )
                )
                continue
            try:
                data = stac_items(text, source=str(path))
            except InputFileError:
                logger.debug("%s is not a STAC item or collection; ignored", path)
                continue
            _scenes_from_items(data, path.parent, str(path), scenes, problems)
        return
    rasters = sorted(p for p in folder.rglob("*") if p.suffix.lower() in _RASTER_SUFFIXES)
    _scenes_from_rasters(rasters, scenes, problems)


def _scenes_from_rasters(
    rasters: Sequence[Path], scenes: list[Scene], problems: list[Problem]
) -> None:
    groups: dict[tuple[str, str, str, str], dict[str, Path]] = {}
    for path in rasters:
        if _NOT_BANDS.search(path.stem):
            logger.debug("%s: not a band to read; skipped", path)
            continue
        key_band = _classify_raster_name(path)
        if key_band is None:
            try:
                scene = _scene_from_multiband(path)
            except PasturesError as exc:
                problems.append(Problem("error", "unusable-scene", str(exc), str(path)))
                continue
            if scene is None:
                problems.append(
                    Problem(
                        "warning",
                        "unknown-raster",
                        _(
                            "File name and band descriptions name no Sentinel-2 or Landsat band; "
                            "skipped. Name band files like T19KDC_20240115T144731_B04_10m.tif."
                        ),
                        str(path),
                    )
                )
            else:
                scenes.append(scene)
            continue
        key, band = key_band
        files = groups.setdefault(key, {})
        if band not in files or _resolution_in_name(path) < _resolution_in_name(files[band]):
            files[band] = path  # a SAFE has B04 at 10, 20 and 60 m: keep the finest
    for (platform, tile, date_text, scene_id), files in groups.items():
        try:
            scenes.append(_scene_from_band_files(platform, tile, date_text, scene_id, files))
        except PasturesError as exc:
            problems.append(
                Problem("error", "unusable-scene", str(exc), str(next(iter(files.values())).parent))
            )


def _resolution_in_name(path: Path) -> int:
    """Pixel size written in a SAFE band name (``_10m``), or 0 when absent."""
    found = _SAFE_NAME.match(path.stem)
    return int(found["res"]) if found and found["res"] else 0


def _classify_raster_name(path: Path) -> tuple[tuple[str, str, str, str], str] | None:
    stem = path.stem
    if m := _LANDSAT_NAME.match(stem):
        scene_id = stem[: m.start("band") - 1]
        return ("landsat", m["tile"], m["date"], scene_id), m["band"].upper()
    if m := _SAFE_NAME.match(stem):
        # the scene is the nearest folder named like a product (the .SAFE of a granule)
        product = next((a.name for a in path.parents if _S2_FOLDER.search(a.name)), None)
        scene_id = product or f"T{m['tile'].upper()}_{m['date']}"
        return ("sentinel-2", m["tile"].upper(), m["date"], scene_id), m["band"].upper()
    if (m := _BAND_ONLY.match(stem)) and (folder := _S2_FOLDER.search(path.parent.name)):
        return (
            ("sentinel-2", (folder["tile"] or "").upper(), folder["date"], path.parent.name),
            m["band"].upper(),
        )
    return None


def _scene_from_band_files(
    platform: str, tile: str, date_text: str, scene_id: str, files: Mapping[str, Path]
) -> Scene:
    date = dt.datetime.strptime(date_text, "%Y%m%d").date()
    if platform == "landsat":
        oli = scene_id[:4].upper() in ("LC08", "LC09")
        by_id = LANDSAT_OLI_BANDS if oli else LANDSAT_TM_BANDS
        bands = {
            by_id[b]: BandFile(str(p), 1, LANDSAT_SCALE, LANDSAT_OFFSET, 0)
            for b, p in files.items()
            if b in by_id
        }
        mask_path = files.get("QA_PIXEL")
        return Scene(
            scene_id,
            date,
            "landsat",
            tile,
            bands,
            BandFile(str(mask_path), 1, 1.0, 0.0, 1) if mask_path else None,
            "qa_pixel" if mask_path else None,
            crs=_file_crs(next(iter(files.values()))),
            radiometry="Landsat C2 L2: DN x 0.0000275 - 0.2 (USGS)",
            source=str(next(iter(files.values())).parent),
        )
    folder = next(iter(files.values())).parent
    scale, offset, note = _folder_radiometry(folder, date, files)
    bands = {
        SENTINEL2_BANDS[b]: BandFile(str(p), 1, scale, offset, 0)
        for b, p in files.items()
        if b in SENTINEL2_BANDS
    }
    mask_path = files.get("SCL")
    return Scene(
        scene_id,
        date,
        "sentinel-2",
        tile,
        bands,
        BandFile(str(mask_path), 1, 1.0, 0.0, 0) if mask_path else None,
        "scl" if mask_path else None,
        crs=_file_crs(next(iter(files.values()))),
        radiometry=note,
        source=str(folder),
    )


def _file_crs(path: Path) -> str | None:
    """CRS of a band file, so that same-day files of two UTM zones are not mosaicked.

    None when the file cannot be opened (the error is reported when it is read).
    """
    try:
        with rasterio.open(path) as src:
            return src.crs.to_string() if src.crs else None
    except RasterioError:
        return None


def _folder_radiometry(
    folder: Path, date: dt.date, files: Mapping[str, Path]
) -> tuple[float, float, str]:
    """Scale/offset of a folder of L2A band files: stated, metadata file, tags, name."""
    if _STATED_OFFSET.get() != "auto":
        return sentinel2_radiometry({"id": folder.name, "properties": {}})
    for parent in (folder, *folder.parents[:4]):
        metadata = parent / "MTD_MSIL2A.xml"
        if metadata.exists():
            text = metadata.read_text(encoding="utf-8", errors="replace")
            offsets = re.findall(r"<BOA_ADD_OFFSET[^>]*>\s*(-?\d+)\s*<", text)
            quant = re.search(r"<BOA_QUANTIFICATION_VALUE[^>]*>\s*([\d.]+)\s*<", text)
            scale = 1.0 / float(quant.group(1)) if quant else S2_SCALE
            offset = float(offsets[0]) * scale if offsets else 0.0
            return scale, offset, f"from {metadata}"
    sample = next(iter(files.values()))
    tags: dict[str, str] = {}
    for path in files.values():  # any band file that says it (a broken one fails later)
        tags = _tags(path)
        if "BOA_ADD_OFFSET" in tags:
            sample = path
            break
    if "BOA_ADD_OFFSET" in tags:
        scale = 1.0 / float(tags.get("BOA_QUANTIFICATION_VALUE", 10000))
        return scale, float(tags["BOA_ADD_OFFSET"]) * scale, f"from the GeoTIFF tags of {sample}"
    item = {"id": folder.name, "properties": {"datetime": date.isoformat() + "T00:00:00Z"}}
    found = _BASELINE_IN_NAME.search(str(sample))
    if found:
        item["properties"]["s2:processing_baseline"] = f"{found.group(1)}.{found.group(2)}"
    return sentinel2_radiometry(item, where=str(folder))


def _tags(path: Path) -> dict[str, str]:
    try:
        with rasterio.open(path) as src:
            return dict(src.tags())
    except RasterioError:
        return {}


def _scene_from_multiband(path: Path) -> Scene | None:
    """A scene stored as one multi-band file whose band descriptions name the bands."""
    try:
        with rasterio.open(path) as src:
            descriptions = list(src.descriptions)
            tags = dict(src.tags())
            crs = src.crs.to_string() if src.crs else None
    except RasterioError as exc:
        raise InputFileError(
            _("Cannot open '{path}': {exc}. Is the file complete?").format(path=path, exc=exc)
        ) from exc
    names = {}
    mask = None
    for i, desc in enumerate(descriptions, start=1):
        text = (desc or "").strip()
        if text.upper() == "SCL":
            mask = BandFile(str(path), i, 1.0, 0.0, 0)
        elif text.upper() in SENTINEL2_BANDS:
            names[SENTINEL2_BANDS[text.upper()]] = i
        elif text.lower() in COMMON_BANDS:
            names[text.lower()] = i
    if not names:
        return None
    stamp = tags.get("ACQUISITION_DATE") or tags.get("TIFFTAG_DATETIME", "")
    found = re.search(r"(\d{4})[-:]?(\d{2})[-:]?(\d{2})", stamp or path.stem)
    if not found:
        raise InputFileError(
            _("'{path}': no acquisition date in its tags (ACQUISITION_DATE) or its name.").format(
                path=path
            )
        )
    date = dt.date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    scale, offset, note = _folder_radiometry(path.parent, date, {"x": path})
    tile = re.search(r"T?(\d{2}[A-Z]{3})", path.stem)
    return Scene(
        path.stem,
        date,
        "sentinel-2",
        tile.group(1) if tile else "",
        {name: BandFile(str(path), i, scale, offset, 0) for name, i in names.items()},
        mask,
        "scl" if mask else None,
        crs=crs,
        radiometry=note,
        source=str(path),
    )


# --- reading --------------------------------------------------------------------------


def scene_grid(scene: Scene, bands: Sequence[str]) -> Grid:
    """The grid of the finest of `bands` of a scene (its CRS, pixel size and alignment).

    Raises
    ------
    InputFileError, CRSError, LayerError
        If a band is missing, a file unreadable, or the CRS missing or not the
        one the metadata announced.
    """
    missing = [b for b in bands if b not in scene.bands]
    if missing:
        raise LayerError(
            _(
                "Scene {scene_id}: band(s) {value} missing (it has {value2}). Add the "
                "band files or choose indices that do not need them."
            ).format(
                scene_id=scene.scene_id,
                value=", ".join(missing),
                value2=", ".join(sorted(scene.bands)) or "none",
            )
        )
    best: Grid | None = None
    seen: dict[str, tuple[Grid, int]] = {}  # bands of one multi-band file: opened once
    for name in bands:
        band = scene.bands[name]
        if band.href in seen:
            grid, count = seen[band.href]
            if band.band > count:
                raise InputFileError(
                    _(
                        "Scene {scene_id}: '{href}' has {count} band(s), band {band} was expected."
                    ).format(scene_id=scene.scene_id, href=band.href, count=count, band=band.band)
                )
        else:
            with _opened(scene, band) as src:
                if src.crs is None:
                    raise CRSError(
                        _(
                            "Scene {scene_id}: '{href}' has no CRS. Re-export it as a GeoTIFF with "
                            "its UTM zone set."
                        ).format(scene_id=scene.scene_id, href=band.href)
                    )
                crs = src.crs.to_string()
                grid = Grid(crs, src.transform, (src.height, src.width))
                seen[band.href] = (grid, src.count)
        if scene.crs and not _same_crs(scene.crs, grid.crs):
            raise CRSError(
                _(
                    "Scene {scene_id}: metadata says {crs} but '{href}' is in {crs2}. Fix "
                    "the STAC item's proj:epsg or the file."
                ).format(scene_id=scene.scene_id, crs=scene.crs, href=band.href, crs2=grid.crs)
            )
        if best is None or grid.resolution < best.resolution:
            best = grid
    assert best is not None
    return best


@functools.lru_cache(maxsize=256)
def _same_crs(a: str, b: str) -> bool:
    return rasterio.crs.CRS.from_user_input(a) == rasterio.crs.CRS.from_user_input(b)


@contextlib.contextmanager
def _opened(scene: Scene, band: BandFile) -> Iterator[Any]:
    """Open a band file, turning every failure into an InputFileError naming the scene."""
    try:
        src = rasterio.open(band.href)
    except (RasterioError, OSError) as exc:
        raise InputFileError(
            _(
                "Scene {scene_id}: cannot open '{href}' ({exc}). Check that the file "
                "exists, is complete (download truncated files again) and, for URLs, "
                "that the network is reachable."
            ).format(scene_id=scene.scene_id, href=band.href, exc=exc)
        ) from exc
    with src:
        if band.band > src.count:
            raise InputFileError(
                _(
                    "Scene {scene_id}: '{href}' has {count} band(s), band {band} was expected."
                ).format(scene_id=scene.scene_id, href=band.href, count=src.count, band=band.band)
            )
        yield src


def read_band(scene: Scene, band: BandFile, grid: Grid) -> np.ndarray:
    """Read one band onto `grid` (nearest neighbour), as stored (raw DN).

    Pixels outside the file come back as the band's nodata value (or 0).
    """
    with _opened(scene, band) as src:
        return _read_into(scene, src, band, grid)


def _read_into(scene: Scene, src: Any, band: BandFile, grid: Grid) -> np.ndarray:
    """Read one band of an open file onto `grid`; see :func:`_read_bands`."""
    return _read_bands(scene, src, [band], grid)[0]


def _read_bands(scene: Scene, src: Any, bands: Sequence[BandFile], grid: Grid) -> list[np.ndarray]:
    """Read bands of one open file onto `grid`: nearest neighbour by pixel centre.

    The grid is in the file's CRS (plots are reprojected, imagery never is), so
    each target pixel takes the source pixel its centre falls in: a plain copy on
    the same grid, and each 20 m pixel repeated 2 × 2 on the 10 m grid. Only the
    source window under the grid is read, all bands in one call (a multi-band
    file's blocks are decompressed once).
    """
    return _read_bands_many(scene, src, bands, [grid])[0]


#: The source rectangle around several windows of a file is read at once when it holds
#: at most this many values (pixels x bands; 8 MB of uint16) ...
UNION_READ_SMALL_VALUES: Final = 4_000_000
#: ... or at most :data:`UNION_READ_MAX_RATIO` times the pixels of the windows and at
#: most this many values; else each window is read alone.
UNION_READ_MAX_VALUES: Final = 32_000_000
UNION_READ_MAX_RATIO: Final = 4.0


def _read_bands_many(
    scene: Scene, src: Any, bands: Sequence[BandFile], grids: Sequence[Grid]
) -> list[list[np.ndarray]]:
    """:func:`_read_bands` for several grids of one open file.

    When the grids lie close together (the windows around clusters of plots), the
    source rectangle around all of them is read in one call and each grid takes its
    pixels from it: the same pixels as a read per grid, with one call into GDAL
    instead of one per window.
    """
    if not grids:
        return []
    _check_file(scene, src, bands, grids)
    plans = [_source_window(src, grid) for grid in grids]
    windows = [p[0] for p in plans if p is not None]
    union = None
    if len(windows) > 1:
        c0 = min(w[0] for w in windows)
        r0 = min(w[1] for w in windows)
        c1 = max(w[2] for w in windows)
        r1 = max(w[3] for w in windows)
        area = (c1 - c0) * (r1 - r0)
        parts = sum((w[2] - w[0]) * (w[3] - w[1]) for w in windows)
        values = area * len(bands)
        if values <= UNION_READ_SMALL_VALUES or (
            values <= UNION_READ_MAX_VALUES and area <= UNION_READ_MAX_RATIO * parts
        ):
            union = (c0, r0, _read_window(scene, src, bands, (c0, r0, c1, r1)))
    results = []
    for grid, plan in zip(grids, plans, strict=True):
        outs = [
            np.full(
                grid.shape, b.nodata if b.nodata is not None else 0, dtype=src.dtypes[b.band - 1]
            )
            for b in bands
        ]
        results.append(outs)
        if plan is None:
            continue
        (c0, r0, c1, r1), (ra, rb, ca, cb), r_idx, c_idx = plan
        if union is not None:
            uc, ur, data = union
            blocks = data[:, r0 - ur : r1 - ur, c0 - uc : c1 - uc]
        else:
            blocks = _read_window(scene, src, bands, (c0, r0, c1, r1))
        for out, block in zip(outs, blocks, strict=True):
            if block.shape == (rb - ra, cb - ca):  # same grid: a plain copy
                out[ra:rb, ca:cb] = block
            else:  # coarser band: each source pixel repeated (e.g. 2 x 2 for 20 m on 10 m)
                out[ra:rb, ca:cb] = block.take(r_idx, axis=0).take(c_idx, axis=1)
    return results


def _check_file(scene: Scene, src: Any, bands: Sequence[BandFile], grids: Sequence[Grid]) -> None:
    """Raise if the bands' nodata, the file's orientation or its CRS do not allow reading."""
    band = bands[0]
    for b in bands:
        dtype = np.dtype(src.dtypes[b.band - 1])
        if dtype.kind not in "iuf":
            raise InputFileError(
                _(
                    "Scene {scene_id}: band {href} holds {dtype} pixels, not real numbers "
                    "(reflectance or classes); this scene is left out. Give the band as "
                    "delivered (integer digital numbers or float reflectance)."
                ).format(scene_id=scene.scene_id, href=b.href, dtype=dtype)
            )
        if b.nodata is not None and dtype.kind in "iu":
            limits = np.iinfo(dtype)
            if not (float(b.nodata).is_integer() and limits.min <= b.nodata <= limits.max):
                raise InputFileError(
                    _(
                        "Scene {scene_id}: band {href} declares nodata {nodata:g}, which its "
                        "{dtype} pixels cannot hold; the metadata is wrong. Fix the STAC item or "
                        "the file's nodata (gdal_edit.py -a_nodata)."
                    ).format(scene_id=scene.scene_id, href=b.href, nodata=b.nodata, dtype=dtype)
                )
    t = src.transform
    if t.b != 0 or t.d != 0:
        raise InputFileError(
            _("Scene {scene_id}: '{href}' is rotated; warp it to a north-up grid.").format(
                scene_id=scene.scene_id, href=band.href
            )
        )
    crs = src.crs.to_string() if src.crs is not None else None
    for grid in grids:
        if crs is None or not _same_crs(crs, grid.crs):
            raise CRSError(
                _(
                    "Scene {scene_id}: '{href}' is in {crs}, not in {crs2} like the other "
                    "bands of its date. Give each band its scene's CRS."
                ).format(scene_id=scene.scene_id, href=band.href, crs=src.crs, crs2=grid.crs)
            )


def _source_window(src: Any, grid: Grid) -> Any:
    """Where `grid` falls in the open file (None when it misses the file).

    Returns its source window (col0, row0, col1, row1), the rectangle of the grid it
    fills, and the source row and column of each grid pixel, relative to the window.
    The same for every file of a tile (same transform and size), so computed once.
    """
    return _window_plan(src.transform, src.width, src.height, grid)


@functools.lru_cache(maxsize=1024)
def _window_plan(t: Affine, width: int, height: int, grid: Grid) -> Any:
    plan = _window_plan_of(t, width, height, grid)
    if plan is not None:
        plan[2].setflags(write=False)  # shared by every file of the tile
        plan[3].setflags(write=False)
    return plan


def _window_plan_of(t: Affine, width: int, height: int, grid: Grid) -> Any:
    g = grid.transform
    xs = g.c + (np.arange(grid.shape[1]) + 0.5) * g.a
    ys = g.f + (np.arange(grid.shape[0]) + 0.5) * g.e
    cols = np.floor((xs - t.c) / t.a).astype(np.int64)
    rows = np.floor((ys - t.f) / t.e).astype(np.int64)
    in_c = (cols >= 0) & (cols < width)
    in_r = (rows >= 0) & (rows < height)
    if not in_c.any() or not in_r.any():
        return None
    c0, c1 = int(cols[in_c].min()), int(cols[in_c].max()) + 1
    r0, r1 = int(rows[in_r].min()), int(rows[in_r].max()) + 1
    # rows and cols are ascending: the pixels inside the file form one rectangle of `out`
    ra, rb = int(np.argmax(in_r)), len(in_r) - int(np.argmax(in_r[::-1]))
    ca, cb = int(np.argmax(in_c)), len(in_c) - int(np.argmax(in_c[::-1]))
    return (c0, r0, c1, r1), (ra, rb, ca, cb), rows[ra:rb] - r0, cols[ca:cb] - c0


def _read_window(
    scene: Scene, src: Any, bands: Sequence[BandFile], window: tuple[int, int, int, int]
) -> np.ndarray:
    c0, r0, c1, r1 = window
    try:
        return src.read([b.band for b in bands], window=Window(c0, r0, c1 - c0, r1 - r0))
    except (RasterioError, OSError) as exc:
        raise InputFileError(
            _(
                "Scene {scene_id}: reading '{href}' failed ({exc}). The file is probably "
                "truncated or corrupt: download it again."
            ).format(scene_id=scene.scene_id, href=bands[0].href, exc=exc)
        ) from exc


def read_scene(
    scene: Scene, bands: Sequence[str], grid: Grid
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Read bands as float32 reflectance and the pixel state of one scene on `grid`.

    Returns
    -------
    bands, state
        Reflectance by common name (NaN where not clear) and a uint8 state array
        (:data:`NODATA`, :data:`MASKED`, :data:`CLEAR`).
    """
    return read_scene_windows(scene, bands, [grid])[0]


def read_scene_windows(
    scene: Scene, bands: Sequence[str], grids: Sequence[Grid]
) -> list[tuple[dict[str, np.ndarray], np.ndarray]]:
    """:func:`read_scene` for several windows, opening each file once."""
    missing = [b for b in bands if b not in scene.bands]
    if missing:
        raise LayerError(
            _(
                "Scene {scene_id}: band(s) {value} missing (it has {value2}). Add the "
                "band files or choose other indices."
            ).format(
                scene_id=scene.scene_id,
                value=", ".join(missing),
                value2=", ".join(sorted(scene.bands)),
            )
        )
    results = []
    with contextlib.ExitStack() as stack:
        opened: dict[str, Any] = {}

        def source(band: BandFile) -> Any:
            if band.href not in opened:
                opened[band.href] = stack.enter_context(_opened(scene, band))
            elif band.band > opened[band.href].count:
                raise InputFileError(
                    _(
                        "Scene {scene_id}: '{href}' has {count} band(s), band {band} was expected."
                    ).format(
                        scene_id=scene.scene_id,
                        href=band.href,
                        count=opened[band.href].count,
                        band=band.band,
                    )
                )
            return opened[band.href]

        by_file: dict[str, list[str]] = {}
        for name in bands:
            by_file.setdefault(scene.bands[name].href, []).append(name)
        read: list[tuple[list[str], list[list[np.ndarray]]]] = []
        for names in by_file.values():
            files = [scene.bands[n] for n in names]
            for f in files[1:]:
                source(f)  # checks the band number
            read.append((names, _read_bands_many(scene, source(files[0]), files, grids)))
        masks = (
            [m[0] for m in _read_bands_many(scene, source(scene.mask), [scene.mask], grids)]
            if scene.mask is not None
            else []
        )
        for k, grid in enumerate(grids):
            state = np.full(grid.shape, CLEAR, dtype=np.uint8)
            raw: dict[str, np.ndarray] = {}
            for names, arrays in read:
                raw.update(zip(names, arrays[k], strict=True))
            for name in bands:
                band = scene.bands[name]
                if band.nodata is not None:
                    state[raw[name] == band.nodata] = NODATA
            if scene.mask is not None:
                code = masks[k]
                masked = mask_from_classes(code, scene.mask_kind or "scl")
                state[masked & (state == CLEAR)] = MASKED
                no_data = (code == 0) if scene.mask_kind == "scl" else (code & 1) == 1
                state[no_data] = NODATA
            clear = state == CLEAR
            values = {
                name: to_reflectance(dn, scene.bands[name].scale, scene.bands[name].offset, clear)
                for name, dn in raw.items()
            }
            results.append((values, state))
    return results


def to_reflectance(
    dn: np.ndarray, scale: float, offset: float, valid: np.ndarray | None = None
) -> np.ndarray:
    """DN × scale + offset as float32, in place (no temporaries), NaN where not `valid`."""
    out = np.empty(dn.shape, dtype=np.float32)
    np.multiply(dn, np.float32(scale), out=out)
    out += np.float32(offset)
    if valid is not None:
        np.copyto(out, np.float32(np.nan), where=~valid)
    return out


def mask_from_classes(code: np.ndarray, kind: MaskKind) -> np.ndarray:
    """True where a SCL class or QA_PIXEL bit says cloud, shadow, cirrus, snow or no data."""
    if kind == "scl":
        lut = np.zeros(256, dtype=bool)
        lut[list(SCL_MASKED)] = True
        return lut[code.astype(np.uint8)]
    bits = sum(1 << b for b in QA_PIXEL_MASKED_BITS)
    return (code.astype(np.uint16) & bits) != 0


def read_mosaic(scenes: Sequence[Scene], bands: Sequence[str], grid: Grid) -> Mosaic:
    """Mosaic same-day scenes (adjacent tiles) onto one grid, each pixel counted once.

    Where tiles overlap, a clear pixel wins over a masked one and a masked one
    over no data; between two clear pixels the first scene's is kept, so no pixel
    is counted twice. A scene that fails to read is reported in ``problems``
    and the others are still used.
    """
    return read_mosaics(scenes, bands, [grid])[0]


def read_mosaics(
    scenes: Sequence[Scene], bands: Sequence[str], grids: Sequence[Grid]
) -> list[Mosaic]:
    """:func:`read_mosaic` for several windows, opening each file once per scene."""
    states = [np.zeros(g.shape, dtype=np.uint8) for g in grids]
    outs = [{b: np.full(g.shape, np.nan, dtype=np.float32) for b in bands} for g in grids]
    used: list[set[str]] = [set() for _ in grids]
    problems: list[Problem] = []
    for scene in scenes:
        try:
            windows = read_scene_windows(scene, bands, grids)
        except PasturesError as exc:
            problems.append(
                Problem("error", "unreadable-scene", str(exc), scene.source, scene.scene_id)
            )
            continue
        for k, (values, tile_state) in enumerate(windows):
            better = tile_state > states[k]
            if not better.any():
                continue
            used[k].add(scene.scene_id)
            states[k][better] = tile_state[better]
            for b in bands:
                np.copyto(outs[k][b], values[b], where=better)
    return [
        Mosaic(grid, outs[k], states[k], tuple(sorted(used[k])), tuple(problems))
        for k, grid in enumerate(grids)
    ]


def group_by_date(scenes: Iterable[Scene]) -> dict[tuple[dt.date, str, str], list[Scene]]:
    """Group scenes to mosaic: same date, platform and CRS (adjacent tiles of one pass)."""
    groups: dict[tuple[dt.date, str, str], list[Scene]] = {}
    for scene in scenes:
        groups.setdefault((scene.date, scene.platform, scene.crs or ""), []).append(scene)
    return groups


def search_stac(
    bbox: tuple[float, float, float, float],
    start: str,
    end: str,
    *,
    url: str = "https://earth-search.aws.element84.com/v1",
    collection: str = "sentinel-2-l2a",
    max_cloud: float = 80.0,
) -> list[dict[str, Any]]:
    """Search a STAC API for scenes (online; needs ``pystac-client``).

    Parameters
    ----------
    bbox
        (west, south, east, north) in degrees.
    start, end
        Dates as ``YYYY-MM-DD``.
    url
        STAC API root (default: Earth Search v1).
    collection
        Collection to search.
    max_cloud
        Largest ``eo:cloud_cover`` (%) accepted.

    Returns
    -------
    list of dict
        STAC item dicts, for :func:`load_scenes`.
    """
    try:
        from pystac_client import Client
    except ImportError as exc:
        raise MissingDependencyError(
            _("Searching a STAC API needs pystac-client: pip install pystac-client")
        ) from exc
    search = Client.open(url).search(
        collections=[collection],
        bbox=bbox,
        datetime=f"{start}/{end}",
        query={"eo:cloud_cover": {"lt": max_cloud}},
    )
    return [item.to_dict() for item in search.items()]
