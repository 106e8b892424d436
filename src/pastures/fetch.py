"""Finding and downloading Sentinel-2 L2A scenes and the Copernicus DEM for a study area.

Online part of the toolkit (needs the ``fetch`` extra: ``pip install "pastures[fetch]"``).
Scenes are searched in STAC APIs (Earth Search v1 and Microsoft Planetary Computer),
and only the bands the vegetation stage reads are downloaded, each **clipped to the
study area's bounding box**: the cloud-optimised GeoTIFFs are read through GDAL's
``/vsicurl/`` with HTTP range requests, so a 100 MB band of a 110 km tile costs the
few hundred kilobytes under the area.

Layout of the destination folder::

    dest/
      manifest.json                  every file: SHA-256, size, source URL, clip bounds
      S2B_19KDC_20240715_0_L2A/
        S2B_19KDC_20240715_0_L2A.json  the STAC item, hrefs rewritten to ./red.tif ...
        red.tif nir.tif scl.tif ...    clipped GeoTIFFs (DN as delivered)
      cop-dem-glo-30.tif             DEM mosaic clipped to the area (fetch_dem)

The item JSON keeps every property of the catalogue's item (processing baseline,
``earthsearch:boa_offset_applied``, ``raster:bands`` scale and offset), so
:func:`pastures.imagery.load_scenes` applies the same radiometry as to the
original; only the assets that were downloaded remain, with ``proj:shape`` and
``proj:transform`` of the clipped files and the original URL in
``pastures:source_href``.

Resuming: a file whose manifest entry has the same source and clip bounds and
whose SHA-256 still matches is not downloaded again; a ``.part`` file left by
an interrupted run is discarded and the band is read again. Every file is
written to ``<name>.part`` and renamed only when complete.

Planetary Computer asset URLs are signed with a token of its SAS API
(``GET {sas}/token/{collection}`` → ``{"token": ...}``, appended as the query
string), as its documentation asks; Earth Search COGs are public.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import re
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlparse

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio.errors import RasterioError
from rasterio.warp import transform_bounds
from rasterio.windows import Window
from tqdm import tqdm

from pastures.defaults import CATALOGUES, DEFAULT_MAX_CLOUD
from pastures.errors import MissingDependencyError, ParameterError, PasturesError
from pastures.i18n import _
from pastures.io import atomic_output

logger = logging.getLogger(__name__)

#: STAC API root of each catalogue (override with ``api_urls``).
DEFAULT_API_URLS: Final = {
    "earth-search": "https://earth-search.aws.element84.com/v1",
    "planetary-computer": "https://planetarycomputer.microsoft.com/api/stac/v1",
}
#: Key of ``api_urls`` for the Planetary Computer SAS token API, and its default.
SAS_KEY: Final = "planetary-computer-sas"
DEFAULT_SAS_URL: Final = "https://planetarycomputer.microsoft.com/api/sas/v1"
#: Catalogues whose asset URLs must be signed.
SIGNED_CATALOGUES: Final = frozenset({"planetary-computer"})
#: Sentinel-2 L2A collection (same id on both catalogues).
S2_COLLECTION: Final = "sentinel-2-l2a"
#: Copernicus DEM GLO-30 collection (same id on both catalogues).
DEM_COLLECTION: Final = "cop-dem-glo-30"
#: Asset keys downloaded: Planetary Computer band ids and Earth Search v1 common names.
#: Blue, green, red, broad NIR, narrow NIR, SWIR 1.6 and 2.2 µm, scene classification.
S2_ASSETS: Final = {
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B08": "nir",
    "B8A": "nir08",
    "B11": "swir16",
    "B12": "swir22",
    "SCL": "scl",
}
MANIFEST: Final = "manifest.json"
MANIFEST_FORMAT: Final = "pastures-fetch-manifest/1"
DEM_FILE: Final = "cop-dem-glo-30.tif"
#: Nodata written where no DEM tile covers the area (GLO-30 has gaps, e.g. no data tiles).
DEM_NODATA: Final = -32767.0
#: Seconds before a catalogue or token request is abandoned.
HTTP_TIMEOUT_S: Final = 60
#: GDAL settings for reading COGs over HTTP: no directory listing on open (one HEAD,
#: then single-range requests, as S3 and Azure serve them), consecutive ranges merged,
#: retries on 429/5xx.
GDAL_HTTP_OPTIONS: Final = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MAX_RETRY": "3",
    "GDAL_HTTP_RETRY_DELAY": "1",
    "GDAL_HTTP_TIMEOUT": str(HTTP_TIMEOUT_S),
    "GDAL_INGESTED_BYTES_AT_OPEN": "32768",
    "VSI_CACHE": "TRUE",
    "CPL_VSIL_CURL_USE_HEAD": "YES",
}
_INSTALL = 'pip install "pastures[fetch]"'
#: URL schemes an asset may be read from. A catalogue is a stranger: a ``file://`` URL or
#: a local path in its answer would copy the user's own files into the output folder.
REMOTE_SCHEMES: Final = frozenset({"http", "https"})
#: Largest clipped band read into memory (bytes): a server that claims a tiny pixel size
#: cannot make one band exhaust the memory.
MAX_CLIP_BYTES: Final = 1 << 30
#: Longest answer of the token service (bytes).
MAX_TOKEN_BYTES: Final = 1 << 16
#: Longest file or folder name built from an item id or an asset key (characters).
MAX_NAME_CHARS: Final = 100


class CatalogueError(PasturesError, ConnectionError):
    """A STAC catalogue or token service could not be reached or answered nonsense."""


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch_imagery` did.

    Attributes
    ----------
    dest
        The destination folder.
    downloaded
        Ids of items with at least one file downloaded in this run.
    skipped
        Ids of items already complete (every file present, checksum matching).
    failed
        (item id, reason) of items that could not be completed; their finished
        files are kept and the next run resumes them.
    item_files
        Local STAC item JSON files of every complete item (downloaded or skipped).
    unreachable
        (catalogue, reason) of catalogues that could not be searched.
    bytes_downloaded
        Bytes written in this run.
    """

    dest: Path
    downloaded: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    item_files: tuple[Path, ...] = ()
    unreachable: tuple[tuple[str, str], ...] = ()
    bytes_downloaded: int = 0
    #: (item, field: what is wrong) of items, fields and assets of the catalogue's answer
    #: that were left out because they are malformed or point at no web address.
    rejected: tuple[tuple[str, str], ...] = ()


@dataclass
class _Manifest:
    path: Path
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, dest: Path) -> _Manifest:
        path = dest / MANIFEST
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            files = dict(data["files"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning(_("%s is unreadable (%s): every file will be checked again."), path, exc)
            return cls(path)
        return cls(path, files)

    def is_complete(self, rel: str, key: Mapping[str, Any]) -> bool:
        entry = self.files.get(rel)
        target = self.path.parent / rel
        if entry is None or not target.is_file():
            return False
        if any(entry.get(k) != v for k, v in key.items()):
            return False
        return entry.get("sha256") == sha256_file(target)

    def record(self, rel: str, entry: Mapping[str, Any]) -> None:
        self.files[rel] = dict(entry)
        with atomic_output(self.path) as tmp:
            text = json.dumps(
                {"format": MANIFEST_FORMAT, "files": self.files}, indent=1, sort_keys=True
            )
            tmp.write_text(text + "\n", encoding="utf-8")


def sha256_file(path: Path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, as 64 hex digits."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def area_lonlat(area: shapely.Geometry | gpd.GeoDataFrame | gpd.GeoSeries) -> shapely.Geometry:
    """The study area as one polygon geometry in EPSG:4326.

    Raises
    ------
    ParameterError
        If the area is empty, not polygonal, or a frame without a CRS.
    """
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is None:
            raise ParameterError(
                _("The study area layer has no CRS; set it (e.g. EPSG:4326) and try again.")
            )
        geom = area.to_crs("EPSG:4326").geometry.union_all()
    else:
        geom = area
    if not isinstance(geom, shapely.Geometry) or geom.is_empty:
        raise ParameterError(_("The study area is empty: give a boundary polygon or bounds."))
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise ParameterError(
            _(
                "The study area is a {geom_type}, not a polygon: give the boundary "
                "polygon of the area (or --bounds W S E N)."
            ).format(geom_type=geom.geom_type)
        )
    w, s, e, n = geom.bounds
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise ParameterError(
            _(
                "The study area bounds ({w:g}, {s:g}, {e:g}, {n:g}) are not "
                "longitude/latitude degrees (west < east, south < north): give them in "
                "EPSG:4326."
            ).format(w=w, s=s, e=e, n=n)
        )
    return geom


def _pystac_client() -> Any:
    try:
        import pystac_client
    except ImportError as exc:
        raise MissingDependencyError(
            _("Downloading imagery needs the optional package pystac-client: {install}").format(
                install=_INSTALL
            )
        ) from exc
    return pystac_client


def _urls(api_urls: Mapping[str, str] | None) -> dict[str, str]:
    urls = {**DEFAULT_API_URLS, SAS_KEY: DEFAULT_SAS_URL}
    unknown = set(api_urls or {}) - set(urls)
    if unknown:
        raise ParameterError(
            _("Unknown catalogue(s) in api_urls: {value}. Known: {value2}.").format(
                value=", ".join(sorted(unknown)), value2=", ".join(sorted(urls))
            )
        )
    urls.update(api_urls or {})
    return urls


def search_items(
    catalogue: str,
    url: str,
    *,
    collection: str,
    bbox: tuple[float, float, float, float],
    start: dt.date | None = None,
    end: dt.date | None = None,
    max_cloud: float | None = None,
) -> list[dict[str, Any]]:
    """Search one STAC API; item dicts as the catalogue returns them (unsigned).

    Raises
    ------
    CatalogueError
        If the API cannot be reached or does not answer as a STAC API.
    MissingDependencyError
        Without pystac-client.
    """
    pc = _pystac_client()
    import pystac
    import requests

    kwargs: dict[str, Any] = {"collections": [collection], "bbox": list(bbox), "method": "POST"}
    if start is not None and end is not None:
        kwargs["datetime"] = f"{start.isoformat()}/{end.isoformat()}"
    if max_cloud is not None:
        kwargs["query"] = {"eo:cloud_cover": {"lte": max_cloud}}
    from pystac_client.warnings import PystacClientWarning

    try:
        with warnings.catch_warnings():
            # a catalogue without a search link or conformance is one that cannot be searched
            warnings.simplefilter("error", PystacClientWarning)
            client = pc.Client.open(url, timeout=HTTP_TIMEOUT_S)
            items = list(client.search(**kwargs).items_as_dicts())
    except (
        PystacClientWarning,
        pc.exceptions.APIError,
        requests.RequestException,
        pystac.STACError,
        NotImplementedError,  # pystac-client's DoesNotConformTo
        OSError,
        ValueError,
    ) as exc:
        chain: list[BaseException] = [exc]
        while len(chain) < 10 and (chain[-1].__cause__ or chain[-1].__context__):
            chain.append(chain[-1].__cause__ or chain[-1].__context__)  # type: ignore[arg-type]
        if any(isinstance(e, requests.Timeout) for e in chain):
            reason = f"no answer within {HTTP_TIMEOUT_S} s"
        elif any(isinstance(e, requests.ConnectionError) for e in chain):
            reason = "could not connect"
        else:
            reason = _reason(exc)
        raise CatalogueError(
            _("Cannot search the {catalogue} catalogue at {url} ({reason}).").format(
                catalogue=catalogue, url=url, reason=reason
            )
        ) from exc
    logger.info(_("%s: %d %s item(s) over %s"), catalogue, len(items), collection, bbox)
    return items


class _Signer:
    """Planetary Computer SAS tokens, one per collection, fetched once per run."""

    def __init__(self, sas_url: str):
        self.sas_url = sas_url.rstrip("/")
        self.tokens: dict[str, str] = {}

    def sign(self, href: str, collection: str) -> str:
        if collection not in self.tokens:
            url = f"{self.sas_url}/token/{collection}"
            try:
                if urlparse(url).scheme not in REMOTE_SCHEMES:
                    raise ValueError(_("the token service is not an http(s) address"))
                with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
                    body = response.read(MAX_TOKEN_BYTES + 1)
                    if len(body) > MAX_TOKEN_BYTES:
                        raise ValueError(
                            _("answer longer than {max_token_bytes} bytes").format(
                                max_token_bytes=MAX_TOKEN_BYTES
                            )
                        )
                    token = json.loads(body.decode("utf-8"))["token"]
                if not isinstance(token, str):
                    raise TypeError(_("'token' is not text"))
            except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as exc:
                raise CatalogueError(
                    _(
                        "Cannot get a Planetary Computer access token from {url} ({exc}); its "
                        "files cannot be read without one. Try again later or use --catalog "
                        "earth-search."
                    ).format(url=url, exc=exc)
                ) from exc
            self.tokens[collection] = str(token).lstrip("?")
        return f"{href}{'&' if '?' in href else '?'}{self.tokens[collection]}"


def public_href(href: str) -> str:
    """An ``s3://bucket/key`` href as the public HTTPS URL of the object; others unchanged."""
    parsed = urlparse(href)
    if parsed.scheme == "s3":
        return f"https://{parsed.netloc}.s3.amazonaws.com/{parsed.path.lstrip('/')}"
    return href


def _vsi(href: str) -> str:
    """The GDAL path of a remote file; anything but an http(s) URL is refused."""
    if urlparse(href).scheme not in REMOTE_SCHEMES:
        raise LookupError(
            _("{href!r} is not an http(s) address; only web files are read").format(href=href)
        )
    return f"/vsicurl/{href}"


def _field_error(item_id: str, name: str, problem: str) -> tuple[str, str]:
    return item_id, f"field '{name}' {problem}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def checked_item(  # noqa: PLR0911 - one check per field of the answer
    item: Any, *, assets: Iterable[str] | None = None
) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """A catalogue's item with what this module reads checked, and what was wrong.

    The item is left out (None) when it is not an object, has no text id, its
    ``properties`` are not an object, its date is not text, its ``eo:cloud_cover``
    is not a number, its ``assets`` are not an object or its geometry cannot be
    read. An asset (among `assets`, the keys this module would download) whose
    ``href`` is not an ``http(s)`` URL (after ``s3://`` is made public) is dropped
    from the item, the others kept.

    Returns
    -------
    tuple
        The item (a copy, or None) and ``(item id, "field '...' ...")`` pairs.
    """
    if not isinstance(item, dict):
        return None, [("?", f"a feature of the answer is a {type(item).__name__}, not an object")]
    raw_id = item.get("id")
    if not isinstance(raw_id, str) or not raw_id.strip():
        return None, [("?", f"field 'id' is {raw_id!r}, not text")]
    item_id = raw_id[:200]
    props = item.get("properties")
    if not isinstance(props, dict):
        return None, [
            _field_error(item_id, "properties", f"is {type(props).__name__}, not an object")
        ]
    when = props.get("datetime")
    if when is not None and not isinstance(when, str):
        return None, [_field_error(item_id, "properties.datetime", f"is {when!r}, not text")]
    cloud = props.get("eo:cloud_cover")
    if cloud is not None and not _is_number(cloud):
        return None, [
            _field_error(item_id, "properties.eo:cloud_cover", f"is {cloud!r}, not a number")
        ]
    found = item.get("assets")
    if not isinstance(found, dict):
        return None, [_field_error(item_id, "assets", f"is {type(found).__name__}, not an object")]
    footprint = item.get("geometry")
    if footprint is not None:
        try:
            shape = shapely.geometry.shape(footprint)
            if not shape.is_valid:
                shape = shapely.make_valid(shape)
        except Exception as exc:  # noqa: BLE001 - shapely raises many types on bad GeoJSON
            return None, [_field_error(item_id, "geometry", f"cannot be read ({_reason(exc)})")]
    problems: list[tuple[str, str]] = []
    keep = dict(found)
    for key in set(found) & set(assets if assets is not None else found):
        asset = found[key]
        href = asset.get("href") if isinstance(asset, dict) else None
        if not isinstance(href, str):
            problems.append(_field_error(item_id, f"assets.{key}.href", "is missing"))
            del keep[key]
        elif urlparse(public_href(href)).scheme not in REMOTE_SCHEMES:
            problems.append(
                _field_error(item_id, f"assets.{key}.href", f"{href!r} is not an http(s) URL")
            )
            del keep[key]
    return {**item, "id": item_id, "assets": keep}, problems


def _scene_key(item: Mapping[str, Any]) -> tuple[str, str]:
    """(MGRS tile, acquisition minute): the same scene on two catalogues has the same key."""
    props = item.get("properties", {})
    tile = str(props.get("s2:mgrs_tile") or str(props.get("grid:code", "")).removeprefix("MGRS-"))
    if not tile and "mgrs:utm_zone" in props:
        tile = "".join(
            str(props.get(k, ""))
            for k in ("mgrs:utm_zone", "mgrs:latitude_band", "mgrs:grid_square")
        )
    if not tile:
        found = re.search(r"_T?(\d{2}[A-Z]{3})_", str(item.get("id", "")))
        tile = found.group(1) if found else str(item.get("id", ""))
    stamp = str(props.get("datetime") or "")[:16]
    return tile.lstrip("0"), stamp


def _wanted_assets(item: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    names = set(S2_ASSETS) | set(S2_ASSETS.values())
    return {k: a for k, a in item.get("assets", {}).items() if k in names}


def _window(src: Any, bounds: tuple[float, float, float, float]) -> Window | None:
    """Pixels of `src` under `bounds` (its CRS), rounded outwards, cut to the file."""
    t = src.transform
    if t.b != 0 or t.d != 0:
        raise RasterioError(
            _("{name} is rotated; cannot clip it with a window").format(name=src.name)
        )
    left, bottom, right, top = bounds
    cols = sorted(((left - t.c) / t.a, (right - t.c) / t.a))
    rows = sorted(((top - t.f) / t.e, (bottom - t.f) / t.e))
    c0, c1 = max(0, math.floor(cols[0])), min(src.width, math.ceil(cols[1]))
    r0, r1 = max(0, math.floor(rows[0])), min(src.height, math.ceil(rows[1]))
    if c1 <= c0 or r1 <= r0:
        return None
    return Window(c0, r0, c1 - c0, r1 - r0)


@contextlib.contextmanager
def _gdal_env() -> Iterator[None]:
    with rasterio.Env(**GDAL_HTTP_OPTIONS):
        yield


def _part(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _write_clip(
    href: str, area_bbox: tuple[float, float, float, float], target: Path
) -> dict[str, Any]:
    """Read the window of `href` under `area_bbox` (lon/lat) and write it to `target`.

    Written to ``target.part`` and renamed when complete. Returns the file's
    shape, transform and CRS. Raises RasterioError/OSError on failure and
    LookupError if the file does not overlap the area.
    """
    part = _part(target)
    with contextlib.suppress(FileNotFoundError):
        part.unlink()
    with rasterio.open(_vsi(href)) as src:
        if src.crs is None:
            raise RasterioError(_("{href} has no CRS").format(href=href))
        bounds = transform_bounds("EPSG:4326", src.crs, *area_bbox, densify_pts=21)
        window = _window(src, bounds)
        if window is None:
            raise LookupError(_("the file does not overlap the study area"))
        size = int(window.width) * int(window.height) * src.count
        size *= np.dtype(src.dtypes[0]).itemsize
        if size > MAX_CLIP_BYTES:
            raise LookupError(
                _(
                    "the clip would be {value:.1f} GiB, more than the {value2:.0f} GiB a "
                    "band may take"
                ).format(value=size / 2**30, value2=MAX_CLIP_BYTES / 2**30)
            )
        data = src.read(window=window)
        t = src.transform  # north-up (checked by _window): shift the origin by the window
        transform = Affine(
            t.a, 0.0, t.c + window.col_off * t.a, 0.0, t.e, t.f + window.row_off * t.e
        )
        profile = {
            "driver": "GTiff",
            "width": int(window.width),
            "height": int(window.height),
            "count": src.count,
            "dtype": src.dtypes[0],
            "crs": src.crs,
            "transform": transform,
            "nodata": src.nodata,
            "compress": "deflate",
            "tiled": True,
            "blockxsize": 256,
            "blockysize": 256,
        }
        if np.issubdtype(np.dtype(src.dtypes[0]), np.integer):
            profile["predictor"] = 2
        tags = src.tags()
        scales, offsets, descriptions = src.scales, src.offsets, src.descriptions
        crs = src.crs.to_string()
    try:
        with rasterio.open(part, "w", **profile) as dst:
            dst.write(data)
            dst.update_tags(**tags)
            dst.scales, dst.offsets = scales, offsets
            for i, text in enumerate(descriptions, start=1):
                if text:
                    dst.set_band_description(i, text)
        part.replace(target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
    return {
        "shape": [int(window.height), int(window.width)],
        "transform": list(transform)[:6],
        "crs": crs,
    }


def _local_item(
    item: Mapping[str, Any],
    files: Mapping[str, tuple[str, Mapping[str, Any]]],
    catalogue: str,
    area_bbox: tuple[float, float, float, float],
) -> dict[str, Any]:
    """The item with only the downloaded assets, hrefs relative to its JSON file."""
    local = json.loads(json.dumps(item))
    assets = {}
    for key, (name, grid) in files.items():
        asset = dict(local["assets"][key])
        asset["pastures:source_href"] = public_href(str(asset["href"]))
        asset["href"] = f"./{name}"
        asset["proj:shape"] = grid["shape"]
        asset["proj:transform"] = grid["transform"]
        asset.pop("proj:bbox", None)
        assets[key] = asset
    local["assets"] = assets
    local.setdefault("properties", {})
    local["properties"]["pastures:catalogue"] = catalogue
    local["properties"]["pastures:clip_bbox"] = list(area_bbox)
    # links point at the online catalogue; keep only those that stay true offline
    links = local.get("links")
    local["links"] = [
        link
        for link in (links if isinstance(links, list) else [])
        if isinstance(link, dict)
        and link.get("rel") in ("license", "derived_from", "canonical", "via")
    ]
    return local


def _safe_name(text: str) -> str:
    """A file name built from a catalogue's text: letters, digits, ``._-``; no ``..``.

    Long names are cut, with a digest of the whole text so two ids stay apart.
    """
    name = re.sub(r"\.{2,}", "_", re.sub(r"[^A-Za-z0-9._-]+", "_", text)).strip("._-") or "item"
    if len(name) > MAX_NAME_CHARS:
        digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:12]
        name = f"{name[: MAX_NAME_CHARS - 13]}-{digest}"
    return name


def _inside(folder: Path, path: Path) -> Path:
    """`path`, checked to resolve inside `folder` (a name never leaves the output folder)."""
    if not path.resolve().is_relative_to(folder.resolve()):
        raise LookupError(
            _("{name!r} would be written outside {folder}").format(name=path.name, folder=folder)
        )
    return path


def _fetch_item(
    item: Mapping[str, Any],
    *,
    catalogue: str,
    dest: Path,
    area_bbox: tuple[float, float, float, float],
    manifest: _Manifest,
    signer: _Signer | None,
) -> tuple[bool, Path, int]:
    """Download the wanted assets of one item; (anything downloaded?, item JSON, bytes)."""
    item_id = str(item["id"])
    folder = _inside(dest, dest / _safe_name(item_id))
    wanted = _wanted_assets(item)
    if not wanted:
        raise LookupError(
            _("lists none of the assets {value} (nor {value2})").format(
                value=", ".join(sorted(S2_ASSETS)), value2=", ".join(sorted(S2_ASSETS.values()))
            )
        )
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple[str, Mapping[str, Any]]] = {}
    downloaded = False
    n_bytes = 0
    for key, asset in sorted(wanted.items()):
        name = f"{_safe_name(key)}.tif"
        _inside(dest, folder / name)
        rel = f"{folder.name}/{name}"
        source = public_href(str(asset["href"]))
        key_fields = {"source": source, "clip_bbox": list(area_bbox)}
        if manifest.is_complete(rel, key_fields):
            files[key] = (name, manifest.files[rel]["grid"])
            continue
        href = signer.sign(source, str(item.get("collection", ""))) if signer else source
        logger.debug("reading %s", source)  # never the signed URL: it carries the token
        try:
            grid = _write_clip(href, area_bbox, folder / name)
        except (RasterioError, OSError, LookupError) as exc:
            reason = _reason(exc).replace(href, source)
            raise type(exc)(f"asset '{key}' ({source}): {reason}") from exc
        size = (folder / name).stat().st_size
        manifest.record(
            rel,
            {
                **key_fields,
                "sha256": sha256_file(folder / name),
                "bytes": size,
                "grid": grid,
                "item": item_id,
                "asset": key,
                "catalogue": catalogue,
                "fetched": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            },
        )
        files[key] = (name, grid)
        downloaded = True
        n_bytes += size
    item_path = folder / f"{folder.name}.json"
    text = json.dumps(_local_item(item, files, catalogue, area_bbox), indent=1) + "\n"
    if not item_path.exists() or item_path.read_text(encoding="utf-8") != text:
        with atomic_output(item_path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return downloaded, item_path, n_bytes


def _is_l2a(item: Mapping[str, Any]) -> bool:
    props = item.get("properties", {})
    text = f"{item.get('id', '')} {item.get('collection', '')} {props.get('s2:product_type', '')}"
    return "l1c" not in text.lower()


def _search_all(
    catalogs: Sequence[str],
    urls: Mapping[str, str],
    *,
    collection: str,
    bbox: tuple[float, float, float, float],
    **kwargs: Any,
) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, str]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    unreachable: list[tuple[str, str]] = []
    for name in catalogs:
        if name not in DEFAULT_API_URLS:
            raise ParameterError(
                _("Unknown catalogue '{name}'; use one of {value}.").format(
                    name=name, value=", ".join(DEFAULT_API_URLS)
                )
            )
        try:
            items = search_items(name, urls[name], collection=collection, bbox=bbox, **kwargs)
        except CatalogueError as exc:
            unreachable.append((name, str(exc)))
            continue
        found.extend((name, item) for item in items)
    if unreachable and len(unreachable) == len(catalogs):
        reasons = " ".join(reason for _, reason in unreachable)
        raise CatalogueError(
            _(
                "{reasons} Check the internet connection (or the catalogue URL) and run "
                "the same command again: files already downloaded are kept and not "
                "fetched twice."
            ).format(reasons=reasons)
        )
    for _unused, reason in unreachable:
        logger.warning(_("%s The other catalogue(s) were used."), reason)
    return found, unreachable


def _choose(
    found: Sequence[tuple[str, Any]], geom: shapely.Geometry, max_cloud: float
) -> tuple[dict[tuple[str, str], tuple[str, dict[str, Any]]], list[tuple[str, str]]]:
    """The well-formed L2A items over the area under the cloud limit, one per scene.

    Returns them by scene key, and the (item, problem) of what was left out as malformed.
    """
    chosen: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    rejected: list[tuple[str, str]] = []
    wanted = set(S2_ASSETS) | set(S2_ASSETS.values())
    for name, raw in found:
        item, problems = checked_item(raw, assets=wanted)
        for item_id, problem in problems:
            logger.warning(_("%s: item %s: %s; left out"), name, item_id, problem)
        rejected.extend((f"{name} {i}", p) for i, p in problems)
        if item is None or (problems and not _wanted_assets(item)):
            continue
        cloud = item["properties"].get("eo:cloud_cover")
        if not _is_l2a(item) or (cloud is not None and float(cloud) > max_cloud):
            continue
        footprint = item.get("geometry")
        try:
            if footprint and not shapely.make_valid(shapely.geometry.shape(footprint)).intersects(
                geom
            ):
                continue
        except Exception as exc:  # noqa: BLE001 - shapely raises many types on bad GeoJSON
            rejected.append((f"{name} {item['id']}", f"field 'geometry' cannot be read ({exc})"))
            continue
        chosen.setdefault(_scene_key(item), (name, item))
    return chosen, rejected


def fetch_imagery(
    area: shapely.Geometry | gpd.GeoDataFrame,
    *,
    start: dt.date,
    end: dt.date,
    dest: Path,
    catalogs: Sequence[str] = CATALOGUES,
    max_cloud: float = DEFAULT_MAX_CLOUD,
    api_urls: Mapping[str, str] | None = None,
    progress: bool = True,
) -> FetchResult:
    """Find Sentinel-2 L2A scenes over an area and download their bands, clipped to it.

    Parameters
    ----------
    area
        Study area: a polygon in EPSG:4326, or a GeoDataFrame in any CRS.
    start, end
        First and last acquisition day (inclusive, UTC).
    dest
        Destination folder (created); see the module docstring for its layout.
    catalogs
        Catalogues searched, in order (``"earth-search"``, ``"planetary-computer"``).
        A scene found in several (same MGRS tile and time) is taken from the first.
    max_cloud
        Largest scene cloud cover accepted, % (``eo:cloud_cover``).
    api_urls
        Other STAC API roots by catalogue name (mirrors, tests), and the SAS
        token API under ``"planetary-computer-sas"``.
    progress
        Show a progress bar per scene on stderr.

    Returns
    -------
    FetchResult
        Items downloaded, skipped (already complete), failed (with the reason).

    Raises
    ------
    CatalogueError
        If no catalogue could be searched (files already downloaded are kept).
    MissingDependencyError
        Without pystac-client.
    ParameterError
        For an empty or non-polygonal area, reversed dates or a cloud limit outside 0-100.
    """
    geom = area_lonlat(area)
    if end < start:
        raise ParameterError(
            _("The end date {end} is before the start date {start}.").format(end=end, start=start)
        )
    if not 0 <= max_cloud <= 100:
        raise ParameterError(
            _("max_cloud {max_cloud} is not a percentage (0-100).").format(max_cloud=max_cloud)
        )
    urls = _urls(api_urls)
    bbox = tuple(float(v) for v in geom.bounds)
    found, unreachable = _search_all(
        catalogs,
        urls,
        collection=S2_COLLECTION,
        bbox=bbox,  # type: ignore[arg-type]
        start=start,
        end=end,
        max_cloud=max_cloud,
    )
    chosen, rejected = _choose(found, geom, max_cloud)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    manifest = _Manifest.load(dest)
    signers = {n: _Signer(urls[SAS_KEY]) for n in catalogs if n in SIGNED_CATALOGUES}
    downloaded: list[str] = []
    skipped: list[str] = []
    failed: list[tuple[str, str]] = []
    item_files: list[Path] = []
    n_bytes = 0
    ordered = sorted(chosen.values(), key=lambda ni: str(ni[1]["properties"].get("datetime", "")))
    bar = tqdm(ordered, desc=_("scenes"), unit=" " + _("scenes"), disable=not progress, leave=False)
    with _gdal_env():
        for name, item in bar:
            item_id = str(item.get("id", "?"))
            try:
                got, path, size = _fetch_item(
                    item,
                    catalogue=name,
                    dest=dest,
                    area_bbox=bbox,  # type: ignore[arg-type]
                    manifest=manifest,
                    signer=signers.get(name),
                )
            except CatalogueError as exc:
                failed.append((item_id, str(exc)))
                continue
            except (RasterioError, OSError, LookupError, KeyError, TypeError, ValueError) as exc:
                failed.append((item_id, f"{name}: {_reason(exc)}"))
                logger.warning(_("Scene %s not completed: %s"), item_id, _reason(exc))
                continue
            (downloaded if got else skipped).append(item_id)
            item_files.append(path)
            n_bytes += size
    return FetchResult(
        dest=dest,
        downloaded=tuple(downloaded),
        skipped=tuple(skipped),
        failed=tuple(failed),
        item_files=tuple(item_files),
        unreachable=tuple(unreachable),
        bytes_downloaded=n_bytes,
        rejected=tuple(rejected),
    )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def fetch_dem(
    area: shapely.Geometry | gpd.GeoDataFrame,
    *,
    dest: Path,
    api_urls: Mapping[str, str] | None = None,
    catalogs: Sequence[str] = CATALOGUES,
) -> Path:
    """Download the Copernicus DEM GLO-30 over an area as one GeoTIFF clipped to it.

    The 1° tiles under the area's bounding box (collection ``cop-dem-glo-30``,
    EPSG:4326, 1 arc-second) are read with range requests and mosaicked on the
    tiles' own grid (no resampling); heights in metres above the EGM2008 geoid.
    The first catalogue that answers is used.

    Parameters
    ----------
    area
        Study area: a polygon in EPSG:4326, or a GeoDataFrame in any CRS.
    dest
        Destination folder; the DEM is ``dest / "cop-dem-glo-30.tif"``.
    api_urls, catalogs
        As for :func:`fetch_imagery`.

    Returns
    -------
    Path
        The DEM GeoTIFF (not downloaded again if complete with the same sources).

    Raises
    ------
    CatalogueError
        If no catalogue could be searched or no tile read.
    LookupError
        Never; an area without DEM tiles raises CatalogueError naming the bounds.
    """
    from rasterio.merge import merge

    geom = area_lonlat(area)
    urls = _urls(api_urls)
    bbox = tuple(float(v) for v in geom.bounds)
    dest = Path(dest)
    target = dest / DEM_FILE
    errors: list[str] = []
    for name in catalogs:
        try:
            found, _ = _search_all([name], urls, collection=DEM_COLLECTION, bbox=bbox)  # type: ignore[arg-type]
        except CatalogueError as exc:
            errors.append(str(exc))
            continue
        hrefs = _dem_hrefs(found, name)
        if not hrefs:
            errors.append(f"{name}: no {DEM_COLLECTION} tile over {bbox}")
            continue
        dest.mkdir(parents=True, exist_ok=True)
        manifest = _Manifest.load(dest)
        key_fields = {"sources": hrefs, "clip_bbox": list(bbox)}
        if manifest.is_complete(DEM_FILE, key_fields):
            return target
        signer = _Signer(urls[SAS_KEY]) if name in SIGNED_CATALOGUES else None
        part = _part(target)
        try:
            with contextlib.ExitStack() as stack, _gdal_env():
                srcs = [
                    stack.enter_context(
                        rasterio.open(_vsi(signer.sign(h, DEM_COLLECTION) if signer else h))
                    )
                    for h in hrefs
                ]
                box = _capped_box(bbox, srcs[0])
                with warnings.catch_warnings():
                    # rasterio 1.4's merge multiplies Affines with `*`, which affine >= 3
                    # flags as pending deprecation; not ours to fix, and harmless
                    warnings.simplefilter("ignore", PendingDeprecationWarning)
                    mosaic, transform = merge(srcs, bounds=box, nodata=DEM_NODATA)
                crs = srcs[0].crs
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
            with rasterio.open(
                part,
                "w",
                driver="GTiff",
                width=mosaic.shape[2],
                height=mosaic.shape[1],
                count=mosaic.shape[0],
                dtype=mosaic.dtype,
                crs=crs,
                transform=transform,
                nodata=DEM_NODATA,
                compress="deflate",
                tiled=True,
            ) as dst:
                dst.write(mosaic)
                dst.update_tags(SOURCE=f"Copernicus DEM GLO-30 via {name}", UNITS="m")
            part.replace(target)
        except (RasterioError, OSError, LookupError) as exc:
            errors.append(f"{name}: {_reason(exc)}")
            continue
        finally:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
        manifest.record(
            DEM_FILE,
            {
                **key_fields,
                "sha256": sha256_file(target),
                "bytes": target.stat().st_size,
                "catalogue": name,
                "fetched": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            },
        )
        return target
    raise CatalogueError(
        "Could not download the Copernicus DEM: " + "; ".join(errors) + ". Check the connection "
        "and run again; files already downloaded are kept."
    )


def _dem_hrefs(found: Sequence[tuple[str, Any]], catalogue: str) -> list[str]:
    """The web addresses of the DEM tiles among well-formed items (others named and left out)."""
    hrefs = []
    for _unused, raw in found:
        item, problems = checked_item(raw, assets=("data",))
        for item_id, problem in problems:
            logger.warning(_("%s: item %s: %s; left out"), catalogue, item_id, problem)
        if item is not None and "data" in item["assets"]:
            hrefs.append(public_href(str(item["assets"]["data"]["href"])))
    return sorted(hrefs)


def _capped_box(bbox: tuple[float, float, float, float], src: Any) -> tuple[float, ...]:
    """`bbox` snapped to the pixels of `src`; LookupError if its mosaic would be too large."""
    box = _snapped(bbox, src.transform)
    t = src.transform
    size = abs((box[2] - box[0]) / t.a * (box[3] - box[1]) / t.e)
    size *= src.count * np.dtype(src.dtypes[0]).itemsize
    if size > MAX_CLIP_BYTES:
        raise LookupError(
            _(
                "the DEM mosaic would be {value:.1f} GiB, more than the {value2:.0f} GiB allowed"
            ).format(value=size / 2**30, value2=MAX_CLIP_BYTES / 2**30)
        )
    return box


def _snapped(
    bounds: tuple[float, float, float, float], t: Affine
) -> tuple[float, float, float, float]:
    """`bounds` widened to the pixel edges of the north-up grid `t` (no resampling)."""
    left, bottom, right, top = bounds
    col0, col1 = math.floor((left - t.c) / t.a), math.ceil((right - t.c) / t.a)
    row0, row1 = math.floor((top - t.f) / t.e), math.ceil((bottom - t.f) / t.e)
    return (t.c + col0 * t.a, t.f + row1 * t.e, t.c + col1 * t.a, t.f + row0 * t.e)


def read_area_file(path: Path) -> gpd.GeoDataFrame:
    """Read a boundary file (any vector format :mod:`pastures.io` reads) as the study area."""
    from pastures.io import read_vector

    frame = read_vector(path)
    if frame.crs is None:
        raise ParameterError(
            _("{path}: the boundary file has no CRS. Set it in QGIS and save.").format(path=path)
        )
    return frame


def describe(result: FetchResult) -> Iterable[str]:
    """Lines that summarise a fetch for people."""
    yield (
        f"{len(result.downloaded)} scene(s) downloaded, {len(result.skipped)} already complete, "
        f"{len(result.failed)} failed; {result.bytes_downloaded / 1e6:.1f} MB written to "
        f"{result.dest}/"
    )
    for name, reason in result.unreachable:
        yield f"catalogue {name} not searched: {reason}"
    for item_id, reason in result.rejected:
        yield f"catalogue item {item_id}: {reason}; left out"
    for item_id, reason in result.failed:
        yield f"scene {item_id} not completed: {reason}"


__all__ = [
    "CATALOGUES",
    "CatalogueError",
    "FetchResult",
    "fetch_dem",
    "fetch_imagery",
    "search_items",
    "sha256_file",
]
