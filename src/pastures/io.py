"""Reading and writing files: the only module (with the CLI) that touches disk.

Vector layers come in as GeoPackage (any layer), GeoJSON, Shapefile (also
zipped), KML/KMZ (Google Earth folders become one table, with the folder name
kept) and GPX (waypoints, routes, tracks). Everything is read through GDAL
(pyogrio), so every format behaves the same way. Inputs are opened read-only.

Outputs are written through :func:`atomic_output`: to a temporary file beside the
destination, renamed into place only when complete, so an interrupted run never
leaves a half-written file that looks complete.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import tempfile
import time
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from pastures.errors import InputFileError, LayerError, OutputError, PasturesError
from pastures.i18n import _

logger = logging.getLogger(__name__)

#: File suffixes read as vector layers, and the format named in messages.
VECTOR_FORMATS: dict[str, str] = {
    ".gpkg": "GeoPackage",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".shp": "Shapefile",
    ".zip": "zipped Shapefile",
    ".kml": "KML",
    ".kmz": "KMZ",
    ".gpx": "GPX",
}
#: Column added to rows read from KML/KMZ with the Google Earth folder they came from.
KML_FOLDER = "kml_folder"
#: Column added to rows read from GPX with the part of the file they came from.
GPX_PART = "gpx_part"

GpxPart = Literal["waypoints", "routes", "tracks"]


#: Start of the name of every temporary file :func:`atomic_output` writes, so that a
#: leftover of a killed run is recognisable (and removed by the next run of that output).
TEMP_PREFIX = ".pastures-tmp-"
#: When this process started writing: temporary files of an output that are older than
#: this were left by an earlier, interrupted run and are removed.
_RUN_STARTED = time.time()
#: Errors of the file system that mean "cannot write here" rather than a bug.
_WRITE_ERRNOS = frozenset(
    {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EISDIR,
     errno.ENOTDIR, errno.ENAMETOOLONG, errno.EEXIST}
)  # fmt: skip


def _write_error(dest: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or type(exc).__name__
    return OutputError(
        _(
            "{dest}: cannot be written ({reason}). Choose an output folder you can "
            "write to (--out), free some disk space, or close the file if another "
            "program holds it."
        ).format(dest=dest, reason=reason)
    )


def process_started() -> float:
    """When this process started (seconds since the epoch): leftovers older are stale."""
    return _RUN_STARTED


def remove_leftovers(folder: Path, *, older_than: float | None = None) -> list[Path]:
    """Remove every temporary file an interrupted run left anywhere in `folder`.

    :func:`remove_stale_temporaries` cleans one output's leftovers when that output is
    written again; a run whose stages are skipped writes none of them, so it sweeps
    its folder with this. Only ``.pastures-tmp-*`` files changed before `older_than`
    (default: the start of this process) are removed.
    """
    cutoff = _RUN_STARTED if older_than is None else older_than
    removed = []
    for leftover in folder.rglob(f"{TEMP_PREFIX}*") if folder.is_dir() else ():
        try:
            if leftover.is_file() and leftover.stat().st_mtime < cutoff:
                leftover.unlink()
                removed.append(leftover)
        except OSError:
            continue
    if removed:
        logger.info(
            _("removed %d temporary file(s) of an interrupted run in %s"), len(removed), folder
        )
    return removed


def remove_stale_temporaries(dest: Path, *, older_than: float | None = None) -> list[Path]:
    """Remove temporary files an interrupted earlier run left beside output `dest`.

    Only this output's own leftovers are touched: files named
    ``.pastures-tmp-<dest name>.*`` (and the older ``.<stem>.<pid>.part<suffix>`` form)
    that were last modified before `older_than` (default: the start of this process,
    so a run writing the same output at the same time is not disturbed).

    Returns
    -------
    list of Path
        The files removed.
    """
    cutoff = _RUN_STARTED if older_than is None else older_than
    folder = dest.parent
    if not folder.is_dir():
        return []
    patterns = (f"{TEMP_PREFIX}{dest.name}.*", f".{dest.stem}.*.part{dest.suffix}")
    removed = []
    for pattern in patterns:
        for leftover in folder.glob(pattern):
            try:
                if leftover.is_file() and leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
                    removed.append(leftover)
            except OSError:  # gone meanwhile, or not ours to remove: leave it
                continue
    if removed:
        logger.info(
            _("removed %d temporary file(s) of an interrupted run of %s"), len(removed), dest
        )
    return removed


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write to; move it onto `path` only on success.

    The temporary file lives in the destination folder (same file system, so the
    final :func:`os.replace` is atomic), is named ``.pastures-tmp-<name>.<random><suffix>``
    and keeps the destination's suffix, so drivers that choose a format by extension
    (GDAL, pandas) still work. On any exception it is removed and the destination is
    untouched; leftovers of a run that was killed (which cannot clean up) are removed
    by the next run that writes the same output (:func:`remove_stale_temporaries`).

    Parameters
    ----------
    path
        Final destination. Its parent folder is created if needed.

    Yields
    ------
    Path
        Where to write (it does not exist yet).

    Raises
    ------
    OutputError
        The folder cannot be created or written, the destination is a folder, or the
        disk is full.
    """
    dest = Path(path)
    if dest.is_dir():
        raise OutputError(
            _("{dest}: is a folder; give a file name for this output.").format(dest=dest)
        )
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(dest)
        fd, name = tempfile.mkstemp(
            prefix=f"{TEMP_PREFIX}{dest.name}.", suffix=dest.suffix, dir=dest.parent
        )
    except OSError as exc:
        raise _write_error(dest, exc) from exc
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # writers such as GDAL create the file themselves
    try:
        yield tmp
        tmp.replace(dest)
    except OSError as exc:
        if isinstance(exc, PasturesError) or exc.errno not in _WRITE_ERRNOS:
            raise
        raise _write_error(dest, exc) from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputFileError(
            _("{path}: file not found. Check the path and the spelling.").format(path=path)
        )
    if path.is_dir():
        raise InputFileError(
            _("{path}: is a folder, not a file. Give the path of a layer file.").format(path=path)
        )
    suffix = path.suffix.lower()
    if suffix not in VECTOR_FORMATS:
        known = ", ".join(sorted(VECTOR_FORMATS))
        raise InputFileError(
            _(
                "{path}: unsupported file type '{suffix}'. Use one of {known} (export "
                "from QGIS as GeoPackage if in doubt)."
            ).format(path=path, suffix=suffix, known=known)
        )
    if path.stat().st_size == 0:
        raise InputFileError(
            _("{path}: the file is empty. Export it again from its source.").format(path=path)
        )
    if suffix in {".kmz", ".zip"}:
        check_archive(path)
    elif suffix in {".kml", ".gpx"}:
        with path.open("rb") as f:
            check_xml_prolog(f.read(XML_PROLOG_BYTES), path)


#: Largest total size (bytes) a KMZ or zipped Shapefile may expand to: 64 MiB. A KMZ of
#: fenced plots is a few hundred kB; a larger one is refused before GDAL unpacks it.
MAX_ARCHIVE_EXPANDED_BYTES = 64 * 1024 * 1024
#: Largest number of files in such an archive.
MAX_ARCHIVE_MEMBERS = 1000
#: Bytes of a KML/GPX file searched for a document type with entity declarations.
XML_PROLOG_BYTES = 1024 * 1024


def check_archive(path: Path) -> None:
    """Refuse a KMZ or zip whose files would expand past a limit or escape its folder.

    Raises
    ------
    InputFileError
        Not a zip archive; more than :data:`MAX_ARCHIVE_MEMBERS` files; a total
        expanded size above :data:`MAX_ARCHIVE_EXPANDED_BYTES` ("zip bomb"); or a
        member whose path is absolute or climbs out with ``..`` ("zip slip").
    """
    kind = "KMZ" if path.suffix.lower() == ".kmz" else "zip"
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_ARCHIVE_MEMBERS:
                raise InputFileError(
                    _(
                        "{path}: the {kind} holds {members} files (at most {max_archive_members} "
                        "accepted). Export only the layer you need."
                    ).format(
                        path=path,
                        kind=kind,
                        members=len(members),
                        max_archive_members=MAX_ARCHIVE_MEMBERS,
                    )
                )
            total = sum(m.file_size for m in members)
            if total > MAX_ARCHIVE_EXPANDED_BYTES:
                raise InputFileError(
                    _(
                        "{path}: the {kind} would expand to {value:,.0f} MiB, more than the "
                        "{value2:,.0f} MiB accepted. Export the layer without images, or as "
                        "GeoPackage."
                    ).format(
                        path=path,
                        kind=kind,
                        value=total / 2**20,
                        value2=MAX_ARCHIVE_EXPANDED_BYTES / 2**20,
                    )
                )
            for m in members:
                name = m.filename.replace("\\", "/")
                if name.startswith("/") or ".." in name.split("/") or ":" in name.split("/")[0]:
                    raise InputFileError(
                        _(
                            "{path}: the {kind} holds '{filename}', a path outside the archive's "
                            "folder; it is refused. Export the layer again from its source."
                        ).format(path=path, kind=kind, filename=m.filename)
                    )
            docs = [m for m in members if m.filename.lower().endswith(".kml")]
            for m in docs:
                with archive.open(m) as f:
                    check_xml_prolog(f.read(XML_PROLOG_BYTES), path)
    except zipfile.BadZipFile as exc:
        raise InputFileError(
            _(
                "{path}: is not a valid {kind} (zip) archive ({exc}). The file may be "
                "truncated: export it again."
            ).format(path=path, kind=kind, exc=exc)
        ) from exc


def check_xml_prolog(head: bytes, path: Path) -> None:
    """Refuse KML/GPX text that declares XML entities (entity expansion, external files).

    KML and GPX never need a document type with entities; a ``<!ENTITY`` declaration
    is how "billion laughs" expansion and external-file reads are built.

    Raises
    ------
    InputFileError
        The text declares an entity.
    """
    if b"<!entity" in head.lower():
        raise InputFileError(
            _(
                "{path}: declares XML entities (<!ENTITY ...>), which KML and GPX files "
                "never need and which can expand without limit; the file is refused. "
                "Export it again from Google Earth, QGIS or the GPS software."
            ).format(path=path)
        )


def list_layers(path: str | os.PathLike[str]) -> list[str]:
    """Names of the layers in a vector file.

    Raises
    ------
    InputFileError
        The file is missing, empty, of an unknown type or cannot be opened.
    """
    p = Path(path)
    _check_readable(p)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # e.g. "GPX schema version unknown"
            return [str(name) for name, _ in pyogrio.list_layers(p)]
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        fmt = VECTOR_FORMATS[p.suffix.lower()]
        raise InputFileError(
            _(
                "{p}: cannot be read as {fmt} ({exc}). The file may be truncated or not "
                "what its name says: open it in QGIS or export it again."
            ).format(p=p, fmt=fmt, exc=_gdal_reason(exc))
        ) from exc


def _gdal_reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


#: Column added to a layer when some of its geometries cannot be built (e.g. a KML line
#: of a single point, NaN coordinates): the reason, per feature; such features have no
#: geometry and :mod:`pastures.layers` reports them by name.
UNREADABLE_GEOMETRY = "_unreadable_geometry"


def _read_one(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    try:
        with warnings.catch_warnings():
            # GDAL notes on measured/3D types and unknown field subtypes are not the user's concern
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)
            try:
                gdf = pyogrio.read_dataframe(path, layer=layer)
            except shapely.errors.GEOSException:
                gdf = _read_feature_by_feature(path, layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        fmt = VECTOR_FORMATS[path.suffix.lower()]
        where = f"{path}" + (f", layer '{layer}'" if layer else "")
        raise InputFileError(
            _(
                "{where}: cannot be read as {fmt} ({exc}). The file may be truncated or "
                "damaged: open it in QGIS or export it again."
            ).format(where=where, fmt=fmt, exc=_gdal_reason(exc))
        ) from exc
    if not isinstance(gdf, gpd.GeoDataFrame):
        where = f"{path}" + (f", layer '{layer}'" if layer else "")
        raise LayerError(
            _("{where}: has no geometry column. Choose a layer with geometries.").format(
                where=where
            )
        )
    return gdf


def _read_feature_by_feature(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    """Read a layer whose geometries GEOS refuses as a whole, building them one by one.

    A feature whose geometry cannot be built (a line or ring of one point, NaN
    coordinates...) gets no geometry and the reason in :data:`UNREADABLE_GEOMETRY`.
    """
    attrs = pyogrio.read_dataframe(path, layer=layer, read_geometry=False)
    meta, _unused, wkbs, _unused = pyogrio.raw.read(path, layer=layer, columns=[])
    geoms: list[shapely.Geometry | None] = []
    reasons: list[str | None] = []
    for wkb in wkbs:
        if wkb is None:
            geoms.append(None)
            reasons.append(None)
            continue
        try:
            geoms.append(shapely.from_wkb(wkb))
            reasons.append(None)
        except shapely.errors.GEOSException as exc:
            geoms.append(None)
            reasons.append(_gdal_reason(exc).removeprefix("IllegalArgumentException: "))
    out = gpd.GeoDataFrame(attrs, geometry=geoms, crs=meta.get("crs"))
    out[UNREADABLE_GEOMETRY] = pd.array(reasons, dtype="string")
    bad = int(out[UNREADABLE_GEOMETRY].notna().sum())
    logger.info(_("%s: %d feature(s) whose geometry cannot be built"), path, bad)
    return out


def read_vector(
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    prefer: str | None = None,
    gpx_parts: tuple[GpxPart, ...] = ("waypoints", "routes", "tracks"),
) -> gpd.GeoDataFrame:
    """Read a vector layer as it is in the file (no renaming, no reprojection).

    Parameters
    ----------
    path
        A GeoPackage, GeoJSON, Shapefile (or .zip holding one), KML, KMZ or GPX file.
    layer
        Layer to read. For multi-layer files without it: the only layer, else the
        layer named `prefer`, else an error listing the layers. KML/KMZ folders and
        GPX parts are merged instead (see below), unless `layer` names one.
    prefer
        Layer name to pick in a multi-layer GeoPackage when `layer` is not given.
    gpx_parts
        GPX parts to read: ``waypoints`` (points), ``routes`` and ``tracks`` (lines).

    Returns
    -------
    geopandas.GeoDataFrame
        With 2D geometries (KML and GPS heights are dropped) and the file's CRS
        (None when the file declares none). KML rows carry their folder in
        :data:`KML_FOLDER`; GPX rows their part in :data:`GPX_PART`.

    Raises
    ------
    InputFileError
        Missing, empty, unreadable or unsupported file.
    LayerError
        The named layer does not exist, or a multi-layer file needs a choice.
    """
    p = Path(path)
    layers = list_layers(p)
    suffix = p.suffix.lower()
    if layer is not None and layer not in layers:
        raise LayerError(
            _("{p}: has no layer '{layer}'. Its layers are: {value}.").format(
                p=p, layer=layer, value=", ".join(layers) or "(none)"
            )
        )
    if suffix in {".kml", ".kmz"} and layer is None:
        gdf = _read_kml_folders(p, layers)
    elif suffix == ".gpx" and layer is None:
        frames = []
        for name in gpx_parts:
            if name in layers:
                part = _read_one(p, name)
                part[GPX_PART] = name
                frames.append(part)
        gdf = _concat(frames, p)
    else:
        if layer is None and len(layers) > 1:
            if prefer in layers:
                layer = prefer
            else:
                raise LayerError(
                    _(
                        "{p}: holds {layers} layers ({value}). Say which one to read with "
                        "--layer NAME."
                    ).format(p=p, layers=len(layers), value=", ".join(layers))
                )
        gdf = _read_one(p, layer)
    if len(gdf):
        gdf = gdf.set_geometry(shapely.force_2d(gdf.geometry.array))
    logger.debug("read %d features from %s", len(gdf), p)
    return gdf


def _read_kml_folders(path: Path, layers: list[str]) -> gpd.GeoDataFrame:
    """Every Google Earth folder of a KML/KMZ as one table, without image overlays."""
    frames = []
    for name in layers:
        part = _read_one(path, name)
        part[KML_FOLDER] = name
        if "icon" in part.columns:  # GroundOverlay images: their frame is not a feature
            overlays = part["icon"].notna()
            if overlays.any():
                logger.info(_("%s: ignored %d image overlay(s)"), path, int(overlays.sum()))
            part = part[~overlays]
        frames.append(part)
    return _concat(frames, path)


def _concat(frames: list[gpd.GeoDataFrame], path: Path) -> gpd.GeoDataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs="EPSG:4326")
    crs = frames[0].crs
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=crs)


def read_table(path: str | os.PathLike[str], *, sheet: str | int | None = None) -> pd.DataFrame:
    """Read a CSV or Excel (XLSX) table as text columns, keeping every row.

    Cells are read as strings so that the validation can say exactly which cell
    is not a number, rather than letting pandas guess. The apostrophe that our own
    writers put before text a spreadsheet would run as a formula
    (:func:`neutralise_text`) is taken off (:func:`restore_formulas`), so a table
    written by one command reads back the same in the next.

    Raises
    ------
    InputFileError
        Missing, empty, unreadable or unsupported file.
    """
    return restore_formulas(_read_any_table(path, sheet=sheet))


def _read_any_table(path: str | os.PathLike[str], *, sheet: str | int | None) -> pd.DataFrame:
    """Read a CSV or Excel table as text (see :func:`read_table`)."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(_("{p}: file not found. Check the path and the spelling.").format(p=p))
    if p.is_dir() or p.stat().st_size == 0:
        raise InputFileError(
            _("{p}: is empty or a folder. Give a CSV or XLSX file with a header row.").format(p=p)
        )
    suffix = p.suffix.lower()
    try:
        if suffix in {".csv", ".txt"}:
            return pd.read_csv(
                p,
                dtype=str,
                keep_default_na=False,
                sep=None,
                engine="python",
                encoding="utf-8-sig",
            )
        if suffix in {".xlsx", ".xlsm"}:
            return pd.read_excel(p, dtype=str, keep_default_na=False, sheet_name=sheet or 0)
    except UnicodeDecodeError:
        try:
            return pd.read_csv(
                p, dtype=str, keep_default_na=False, sep=None, engine="python", encoding="latin-1"
            )
        except Exception as exc:
            raise InputFileError(
                _("{p}: cannot be read as CSV ({exc}).").format(p=p, exc=exc)
            ) from exc
    except Exception as exc:
        raise InputFileError(
            _(
                "{p}: cannot be read as a table ({name}: {exc}). Save it again as CSV "
                "(UTF-8) or XLSX with one header row."
            ).format(p=p, name=type(exc).__name__, exc=exc)
        ) from exc
    raise InputFileError(
        _("{p}: unsupported table type '{suffix}'. Use CSV or XLSX.").format(p=p, suffix=suffix)
    )


#: First characters that make a spreadsheet (Excel, LibreOffice, Google Sheets) read a
#: cell as a formula (OWASP "CSV injection"); tab and carriage return also start one.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(value: object) -> object:
    """Return `value` with a leading apostrophe if it is text a spreadsheet would run.

    A name such as ``=HYPERLINK(...)`` or ``@SUM(A1)`` in a plot, community or
    scene field would become a live formula when the CSV or XLSX output is
    opened. The apostrophe is the spreadsheets' own "this is text" mark; it is
    shown in a text editor but not in the cell. Numbers (also negative ones) and
    non-text values are returned unchanged.
    """
    if isinstance(value, str) and value.lstrip("'").startswith(FORMULA_PREFIXES):
        # a text that already starts with apostrophes before a formula character gets one
        # more, so that :func:`restore_text` gives back every text exactly
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def restore_text(value: object) -> object:
    """Undo :func:`neutralise_text`: the text as it was before it was written.

    Every reader of the CSV files that ``pastures`` writes applies it, so a plot
    coded ``=A1`` is ``=A1`` again when a later command reads the table.
    """
    if (
        isinstance(value, str)
        and value.startswith("'")
        and value[1:].lstrip("'").startswith(FORMULA_PREFIXES)
    ):
        try:
            float(value[1:])
        except ValueError:
            return value[1:]
    return value


def restore_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise_formulas` on a table read from one of our own CSV files."""
    out = table.copy()
    for k in range(out.shape[1]):
        values = out.iloc[:, k]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            marked = values.astype(str).str.startswith("'").to_numpy()
            if marked.any():
                out.iloc[marked.nonzero()[0], k] = values[marked].map(restore_text)
    out.columns = [restore_text(c) for c in out.columns]
    return out


def neutralise_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """Copy of `table` whose text cells and column names cannot run as formulas.

    Apply to every table written for people to open in a spreadsheet (CSV, XLSX);
    see :func:`neutralise_text`.
    """
    out = table.copy()
    for k in range(out.shape[1]):
        values = out.iloc[:, k]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            # only text cells that start like a formula can change: find them with one
            # vectorised test instead of calling neutralise_text on every cell
            risky = values.astype(str).str.startswith(FORMULA_PREFIXES).to_numpy()
            if risky.any():
                out.iloc[risky.nonzero()[0], k] = values[risky].map(neutralise_text)
    out.columns = [neutralise_text(c) for c in out.columns]
    return out


#: Creation date written into XLSX files made by :func:`write_table` (the zip epoch that
#: reproducible builds use): the same table then gives the same file, byte for byte.
XLSX_CREATED: Final = datetime(1980, 1, 1)


def source_date_epoch() -> datetime | None:
    """``SOURCE_DATE_EPOCH`` (seconds, reproducible-builds.org) as a UTC time, if set."""
    from datetime import UTC

    text = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not text.isdigit():
        return None
    return datetime.fromtimestamp(int(text), tz=UTC)


def file_timestamp() -> datetime:
    """The time written into files whose format records one (GeoPackage ``last_change``).

    ``SOURCE_DATE_EPOCH`` when set, else :data:`XLSX_CREATED` (1980-01-01 UTC, the zip
    epoch): never the clock, so the same inputs give the same bytes.
    """
    from datetime import UTC

    return source_date_epoch() or XLSX_CREATED.replace(tzinfo=UTC)


@contextlib.contextmanager
def gdal_file_timestamp() -> Iterator[str]:
    """While inside, GDAL writes :func:`file_timestamp` as a GeoPackage's ``last_change``.

    GDAL's ``OGR_CURRENT_DATE`` option is meant for this (reproducible output).
    Yields the timestamp as GeoPackage writes it (``YYYY-MM-DDTHH:MM:SS.sssZ``).
    """
    stamp = file_timestamp().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": stamp})
    try:
        yield stamp
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": before})


def write_table(table: pd.DataFrame, path: str | os.PathLike[str], *, sheet: str = "data") -> Path:
    """Write a table as CSV (UTF-8) or XLSX, chosen by the suffix of `path`, atomically.

    Text cells that a spreadsheet would run as a formula are neutralised
    (:func:`neutralise_formulas`). An XLSX file carries :data:`XLSX_CREATED` as its
    creation date, not the clock's, so a rerun writes the same file.

    Raises
    ------
    InputFileError
        The suffix is neither ``.csv`` nor ``.xlsx``.
    """
    dest = Path(path)
    suffix = dest.suffix.lower()
    if suffix not in {".csv", ".xlsx"}:
        raise InputFileError(
            _("{dest}: tables are written as .csv or .xlsx; rename the output.").format(dest=dest)
        )
    table = neutralise_formulas(table)
    with atomic_output(dest) as tmp:
        if suffix == ".csv":
            table.to_csv(tmp, index=False, encoding="utf-8")
        else:
            with pd.ExcelWriter(tmp, engine="xlsxwriter") as xl:
                xl.book.set_properties({"created": XLSX_CREATED})
                table.to_excel(xl, index=False, sheet_name=sheet[:31])
    logger.info(_("wrote %s"), dest)
    return dest


def write_layers(layers: Mapping[str, gpd.GeoDataFrame], path: str | os.PathLike[str]) -> Path:
    """Write several layers into one GeoPackage, atomically.

    An existing file at `path` is replaced as a whole only once every layer has
    been written, so QGIS never sees a half-written GeoPackage.

    Returns
    -------
    Path
        The GeoPackage written.
    """
    dest = Path(path)
    with atomic_output(dest) as tmp, gdal_file_timestamp():
        for name, gdf in layers.items():
            pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", append=tmp.exists())
    logger.info(_("wrote %s (%s)"), dest, ", ".join(layers))
    return dest
