"""Project files: one TOML file that says what ``pastures run`` works on.

A project file names the study area (a boundary file, or bounds in degrees; the
district of Juli by default), the layer files and herd register, the imagery and
DEM, and every parameter of the stages. :func:`load_project_file` validates the
whole file at once: every problem (unknown key, wrong type, missing file, a study
area that is not a polygon, a unit that does not parse) is listed with its key,
the expected type or unit, and the file, in one :class:`ProjectError`. Nothing is
written before a project file has loaded.

Each section is a frozen dataclass followed by its keys (what each must hold, its
default and the default's source) and the function that reads it, with the rules
that tie its keys together or to other sections (a study area inside its CRS's
zone and small enough for memory, a plan period the rotation's rules allow...).
Numbers follow the same finite/range rules as the command-line options.

Paths in a project file are relative to the file's folder. :func:`starter_project`
is the commented file ``pastures init`` writes.

Examples
--------
>>> config = load_project_file("juli.toml")  # doctest: +SKIP
>>> config.study_area.crs
'EPSG:32719'
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

from pastures import climate
from pastures import schema as S
from pastures.errors import InputFileError, PasturesError, Problem, ProjectError
from pastures.i18n import _
from pastures.studyarea import (
    DEFAULT_MARGIN_KM,
    auto_crs,
    boundary_bounds,
    bounds_in_crs,
    check_grid_size,
    crs_zone_problem,
)
from pastures.validation import DEFAULT_OVERLAP_TOLERANCE_M2

logger = logging.getLogger(__name__)

#: The bundled sample project (illustrative Juli data), relative to the data folder.
SAMPLE_PROJECT: Final = "juli_sample.toml"
#: Name of the study area when the file gives none.
JULI_NAME: Final = "Juli"
#: Default pixel side (m) of the working grid: the Copernicus DEM GLO-30 spacing.
DEFAULT_RESOLUTION_M: Final = 30.0
#: Months of the dry-season composite: dry and brown June-October on the altiplano
#: (SENAMHI Juli normals: 5-45 mm a month, see :mod:`pastures.climate`).
DEFAULT_DRY_MONTHS: Final = climate.DRY_COMPOSITE_MONTHS

ImagerySourceKind = Literal["sample", "files", "none"]
DemSourceKind = Literal["sample", "file", "none"]
#: Dates a project file may give (years): beyond them a date is a typing error.
DATE_YEARS: Final = (1900, 2200)
#: Deepest nesting of tables and lists the schema has ([risk.rusle.cover], a list of
#: pairs in [forage.pasture_types.<type>]); deeper is refused before it is walked.
MAX_NESTING: Final = 6

__all__ = [
    "KEYS",
    "ProjectConfig",
    "StudyArea",
    "auto_crs",
    "load_project_file",
    "real_data_only",
    "sample_project_path",
    "starter_project",
]


# --- checks of one value ----------------------------------------------------------------

Check = Callable[[Any], str | None]


@dataclass(frozen=True)
class Key:
    """One key of a project file: what it must hold and its default with the source."""

    expected: str
    check: Check
    default: Any = None
    source: str = ""


def _is_text(v: Any) -> str | None:
    return None if isinstance(v, str) else "text"


def _is_bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else "true or false"


def _number(
    low: float | None = None, high: float | None = None, *, open_low: bool = False
) -> Check:
    """A finite number in [low, high], open at low with `open_low`: FiniteRange's rules.

    TOML's nan and inf are refused, as on the command line.
    """

    def check(v: Any) -> str | None:
        parts = [f"{'>' if open_low else '>='} {low:g}"] if low is not None else []
        parts += [f"<= {high:g}"] if high is not None else []
        expected = f"a finite number {' and '.join(parts)}".strip()
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            return expected
        if low is not None and (v < low or (open_low and v == low)):
            return expected
        if high is not None and v > high:
            return expected
        return None

    return check


_LENGTH_UNITS: Final = {"m": 1.0, "km": 1000.0}


def _length_in(unit: str, low: float, high: float) -> Check:
    """A length in `unit`: a number, or text with its unit ("30 m", "0.5 km")."""

    def check(v: Any) -> str | None:
        value = _to_length(v, unit)
        expected = (
            f"a length in {unit} from {low:g} to {high:g} (a number, or text with its "
            'unit such as "30 m" or "5 km")'
        )
        if value is None or not low <= value <= high:
            return expected
        return None

    return check


def _to_length(v: Any, unit: str) -> float | None:
    """`v` in `unit`, from a number (already in `unit`) or a text with m or km; None if not."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float) or not isinstance(v, str):
        return float(v) if isinstance(v, int | float) and math.isfinite(v) else None
    text = v.strip().lower()
    for name in sorted(_LENGTH_UNITS, key=len, reverse=True):
        if text.endswith(name):
            try:
                number = float(text[: -len(name)].strip().replace(",", "."))
            except ValueError:
                return None
            if not math.isfinite(number):
                return None
            return number * _LENGTH_UNITS[name] / _LENGTH_UNITS[unit]
    return None


def _integer(low: int, high: int) -> Check:
    def check(v: Any) -> str | None:
        if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
            return f"a whole number from {low} to {high}"
        return None

    return check


def _choice(*options: str) -> Check:
    def check(v: Any) -> str | None:
        return None if v in options else f"one of {', '.join(repr(o) for o in options)}"

    return check


def _language(v: Any) -> str | None:
    """None when `v` names a language with a catalog (a translator's new .po counts)."""
    from pastures.i18n import available_languages

    languages = available_languages()
    return None if v in languages else f"one of {', '.join(repr(code) for code in languages)}"


def _date(v: Any) -> str | None:
    low, high = DATE_YEARS
    expected = f"a date YYYY-MM-DD from {low} to {high}"
    day = v if isinstance(v, dt.date) and not isinstance(v, dt.datetime) else None
    if isinstance(v, str):
        try:
            day = dt.date.fromisoformat(v)
        except ValueError:
            return expected
    if day is None or not low <= day.year <= high:
        return expected
    return None


def _bounds(v: Any) -> str | None:
    msg = "[west, south, east, north] in degrees, west < east, south < north"
    if not isinstance(v, list) or len(v) != 4:
        return msg
    if not all(_number()(x) is None for x in v):
        return msg
    w, s, e, n = v
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        return msg
    return None


def _months(v: Any) -> str | None:
    ok = (
        isinstance(v, list)
        and v
        and all(isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12 for m in v)
    )
    return None if ok else "a list of month numbers 1-12, e.g. [6, 7, 8, 9, 10]"


def _text_list(v: Any) -> str | None:
    ok = isinstance(v, list) and all(isinstance(x, str) for x in v)
    return None if ok else 'a list of texts, e.g. ["scenes/"]'


def _crs(v: Any) -> str | None:
    if not isinstance(v, str):
        return 'a CRS such as "EPSG:32719", or "auto"'
    if v == "auto":
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError as PyprojCRSError

    try:
        crs = CRS.from_user_input(v)
    except PyprojCRSError:
        return 'a CRS pyproj knows, such as "EPSG:32719", or "auto"'
    if not crs.is_projected:
        return 'a projected CRS in metres (e.g. "EPSG:32719"), or "auto"'
    return None


def _table(v: Any) -> str | None:
    return None if isinstance(v, dict) else "a table of settings"


_JULI_SOURCE: Final = "district of Juli (INEI 210401), bounding box in shared/DOMAIN.md"


def _problem(path: Path, key: str, message: str) -> Problem:
    return Problem("error", "project-file", message, source=str(path), field=key)


class _Reader:
    """A project file being read: its tables, folder, problems found and defaults taken."""

    def __init__(self, file: Path, data: dict[str, Any]) -> None:
        self.file = file
        self.base = file.resolve().parent
        self.data = data
        self.problems: list[Problem] = []
        self.defaults_used: dict[str, str] = {}

    def problem(self, key: str, message: str) -> None:
        self.problems.append(_problem(self.file, key, message))

    def raw(self, section: str) -> dict[str, Any]:
        """The section's table as given ({} when absent or not a table)."""
        given = self.data.get(section, {})
        return given if isinstance(given, dict) else {}

    def section(self, section: str, keys: Mapping[str, Key]) -> dict[str, Any]:
        """The section's values that pass their checks, with defaults for the keys left out."""
        given = self.data.get(section, {})
        if not isinstance(given, dict):
            self.problem(section, f"must be a table ([{section}]); got {type(given).__name__}.")
            given = {}
        values: dict[str, Any] = {}
        for name, value in given.items():
            if name not in keys:
                self.problem(
                    f"{section}.{name}", f"unknown key. Keys of [{section}]: {', '.join(keys)}."
                )
                continue
            expected = keys[name].check(value)
            if expected is not None:
                self.problem(f"{section}.{name}", f"expected {expected}; got {value!r}.")
                continue
            values[name] = value
        for name, key in keys.items():
            if name not in given and key.default is not None:
                values[name] = key.default
                if key.source:
                    self.defaults_used[f"{section}.{name}"] = f"{key.default!r} ({key.source})"
        return values

    def existing(self, key: str, text: str | None) -> Path | None:
        """The file `text` names (relative to the project file), or None with a problem."""
        if not text:
            return None
        p = _resolve(self.base, text)
        if not p.exists():
            self.problem(
                key,
                f"{text!r}: no such file ({p}). Paths are relative to the project file's folder.",
            )
            return None
        return p


def _resolve(base: Path, text: str) -> Path:
    """`text` relative to `base`, without ``..`` steps (messages then show a plain path)."""
    p = Path(text).expanduser()
    return Path(os.path.normpath(p if p.is_absolute() else base / p))


def _crs_known(r: _Reader, key: str, text: Any) -> None:
    """A problem when `text` is not a CRS pyproj knows."""
    if text is None:
        return
    from pyproj import CRS
    from pyproj.exceptions import CRSError as PyprojCRSError

    try:
        CRS.from_user_input(text)
    except PyprojCRSError:
        r.problem(key, f"expected a CRS pyproj knows; got {text!r}.")


# --- [project] --------------------------------------------------------------------------

PROJECT_KEYS: Final = {
    "name": Key("text", _is_text, "pastures project", "pastures.project"),
    "illustrative": Key("true or false", _is_bool, False, "pastures.project"),
    "output": Key("a folder (text)", _is_text, "pastures-run", "pastures.project"),
    "language": Key(
        "a language with a catalog (pastures --lang lists them: en, es...)",
        _language,
        "es",
        "users: Spanish maps",
    ),
}


# --- [study_area] -----------------------------------------------------------------------


@dataclass(frozen=True)
class StudyArea:
    """Where the project lies.

    Attributes
    ----------
    name
        Name used in messages and on maps.
    bounds_lonlat
        (west, south, east, north) in degrees.
    crs
        Working CRS (projected, metres): areas, distances and the working grid.
    resolution_m
        Pixel side (m) of the working grid.
    margin_km
        How far outside the area a layer's feature may lie before it is refused.
    boundary
        The boundary file, when the area was given as one.
    is_juli
        True for the default area (the district of Juli).
    """

    name: str
    bounds_lonlat: tuple[float, float, float, float]
    crs: str
    resolution_m: float = DEFAULT_RESOLUTION_M
    margin_km: float = DEFAULT_MARGIN_KM
    boundary: Path | None = None
    is_juli: bool = True

    def bounds_in_crs(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of the area in the working CRS (m)."""
        return bounds_in_crs(self.bounds_lonlat, self.crs)


STUDY_AREA_KEYS: Final = {
    "name": Key("text", _is_text, JULI_NAME, _JULI_SOURCE),
    "boundary": Key("a polygon file (text)", _is_text),
    "bounds": Key("[west, south, east, north] in degrees", _bounds),
    "crs": Key('a projected CRS or "auto"', _crs, "auto", "UTM zone of the area's centre"),
    "resolution_m": Key(
        "a pixel side in metres",
        _length_in("m", 1, 1000),
        DEFAULT_RESOLUTION_M,
        "Copernicus GLO-30",
    ),
    "margin_km": Key(
        "a distance in km", _length_in("km", 0, 500), DEFAULT_MARGIN_KM, "pastures.project"
    ),
}


def _read_study_area(r: _Reader) -> StudyArea | None:
    """``[study_area]``: its box, a CRS that covers it, and a grid that fits in memory.

    A boundary or bounds (the district of Juli without). None when the area cannot be
    made out (a problem says why).
    """
    area = r.section("study_area", STUDY_AREA_KEYS)
    given = r.raw("study_area")
    if "boundary" in given and "bounds" in given:
        r.problem("study_area", "give either boundary or bounds, not both.")
    bounds: tuple[float, float, float, float] | None = None
    boundary = r.existing("study_area.boundary", area.get("boundary"))
    if boundary is not None:
        try:
            bounds = boundary_bounds(boundary)
        except PasturesError as exc:
            r.problem("study_area.boundary", str(exc))
    elif "bounds" in area:
        w, s, e, n = (float(v) for v in area["bounds"])
        bounds = (w, s, e, n)
    is_juli = "boundary" not in given and "bounds" not in given
    if is_juli:
        bounds = S.JULI_BOUNDS_LONLAT
        r.defaults_used["study_area.bounds"] = f"{list(S.JULI_BOUNDS_LONLAT)} ({_JULI_SOURCE})"
    if bounds is None or "crs" not in area:
        return None
    crs_text = str(area["crs"])
    crs = auto_crs(bounds) if crs_text == "auto" else crs_text
    if is_juli and crs_text == "auto":
        crs = S.WORKING_CRS
    why = crs_zone_problem(bounds, crs)
    if why:  # plots measured far from the CRS's zone come out several times too large
        r.problem("study_area.crs" if crs_text != "auto" else "study_area.bounds", why)
        return None
    resolution = _to_length(area.get("resolution_m"), "m")
    margin = _to_length(area.get("margin_km"), "km")
    if resolution is None or margin is None:
        return None
    study = StudyArea(
        name=str(area.get("name", JULI_NAME)),
        bounds_lonlat=bounds,
        crs=crs,
        resolution_m=float(resolution),
        margin_km=float(margin),
        boundary=boundary,
        is_juli=is_juli,
    )
    too_big = check_grid_size(study.bounds_in_crs(), study.resolution_m)
    if too_big:  # refused before anything is allocated
        r.problem("study_area.resolution_m", too_big)
        return None
    return study


# --- [layers] ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerFiles:
    """The layer files of a project (None: not given) and how to read them."""

    communities: Path | None = None
    plots: Path | None = None
    corrals: Path | None = None
    water_points: Path | None = None
    herds: Path | None = None
    assume_crs: str | None = None
    repair: Literal["warn", "reject"] = "warn"
    defaults: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: The files' own names of schema fields, per layer kind (``[layers.fields.plots]``).
    fields: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: Overlap (m²) between two plots taken for a digitising sliver (a warning).
    overlap_tolerance_m2: float = DEFAULT_OVERLAP_TOLERANCE_M2

    def paths(self) -> dict[str, Path]:
        """The files given, by layer kind."""
        kinds = (S.COMMUNITIES, S.PLOTS, S.CORRALS, S.WATER_POINTS, S.HERDS)
        return {k: p for k in kinds if (p := getattr(self, k)) is not None}


LAYERS_KEYS: Final = {
    "communities": Key("a layer file (text)", _is_text),
    "plots": Key("a layer file (text)", _is_text),
    "corrals": Key("a layer file (text)", _is_text),
    "water_points": Key("a layer file (text)", _is_text),
    "herds": Key("a CSV or XLSX file (text)", _is_text),
    "assume_crs": Key('a CRS such as "EPSG:4326"', _is_text),
    "repair": Key('"warn" or "reject"', _choice("warn", "reject"), "warn", "pastures.layers"),
    "defaults": Key("a table per layer kind, e.g. [layers.defaults.plots]", _table, {}),
    "fields": Key("a table per layer kind, e.g. [layers.fields.plots]", _table, {}),
    "overlap_tolerance_m2": Key(
        "an area in m² from 0 to 10000",
        _number(0, 10_000),
        DEFAULT_OVERLAP_TOLERANCE_M2,
        "pastures.validation.DEFAULT_OVERLAP_TOLERANCE_M2 (digitising slivers)",
    ),
}


def _read_layers(r: _Reader) -> LayerFiles:
    """``[layers]``: files that exist (plots required), defaults and field names per kind."""
    values = r.section("layers", LAYERS_KEYS)
    kinds = (S.COMMUNITIES, S.PLOTS, S.CORRALS, S.WATER_POINTS, S.HERDS)
    paths = {k: r.existing(f"layers.{k}", values.get(k)) for k in kinds}
    if not paths[S.PLOTS] and "plots" not in values:
        r.problem("layers.plots", "missing: every project needs its plots layer.")
    defaults = values.get("defaults", {})
    for kind, table in defaults.items():
        if kind not in S.LAYER_KINDS or not isinstance(table, dict):
            r.problem(
                f"layers.defaults.{kind}",
                f"expected a table named after a layer kind ({', '.join(S.LAYER_KINDS)}).",
            )
            continue
        for col, val in table.items():
            if col not in S.LAYER_COLUMNS[kind] or not isinstance(val, str):
                r.problem(
                    f"layers.defaults.{kind}.{col}",
                    f"expected a text value for a column of {kind} "
                    f"({', '.join(S.LAYER_COLUMNS[kind])}).",
                )
    fields = values.get("fields", {})
    _check_fields(r.file, fields, paths, r.problems)
    assume = values.get("assume_crs")
    if assume is not None and assume != "auto":
        _crs_known(r, "layers.assume_crs", assume)
    return LayerFiles(
        **paths,
        assume_crs=assume,
        repair=values.get("repair", "warn"),
        defaults={k: dict(v) for k, v in defaults.items() if isinstance(v, dict)},
        fields={k: dict(v) for k, v in fields.items() if isinstance(v, dict)},
        overlap_tolerance_m2=float(
            values.get("overlap_tolerance_m2", DEFAULT_OVERLAP_TOLERANCE_M2)
        ),
    )


def _check_fields(
    file: Path,
    layer_fields: Mapping[str, Any],
    layer_paths: Mapping[str, Path | None],
    problems: list[Problem],
) -> None:
    """Check ``[layers.fields.<kind>]``: known kinds and schema fields, fields the file has."""
    kinds = (*S.LAYER_KINDS, S.HERDS)
    for kind, table in layer_fields.items():
        key = f"layers.fields.{kind}"
        if kind not in kinds or not isinstance(table, dict):
            problems.append(
                _problem(
                    file, key, f"expected a table named after a layer kind ({', '.join(kinds)})."
                )
            )
            continue
        known = [c for c in S.LAYER_COLUMNS[kind] if c != S.AREA_HA]
        good: dict[str, str] = {}
        for canon, theirs in table.items():
            if canon not in known:
                problems.append(
                    _problem(
                        file,
                        f"{key}.{canon}",
                        f"unknown field of {kind}; the fields you can map: {', '.join(known)}.",
                    )
                )
            elif not isinstance(theirs, str) or not theirs.strip():
                problems.append(
                    _problem(
                        file,
                        f"{key}.{canon}",
                        f"expected the name of a field of your {kind} file (text); got {theirs!r}.",
                    )
                )
            else:
                good[canon] = theirs
        path = layer_paths.get(kind)
        if path is None or not good:
            continue
        columns = _file_fields(path, kind)
        if columns is None:
            continue  # unreadable: the layers stage says why, with the file
        from pastures.layers import field_problems

        for q in field_problems(columns, kind, good, source=str(path)):
            canon = q.field
            problems.append(
                _problem(
                    file,
                    f"{key}.{canon}",
                    f"{good[canon]!r} is not a field of {path.name}; its fields: "
                    f"{', '.join(c for c in columns if c != 'geometry') or '(none)'}.",
                )
            )


def _file_fields(path: Path, kind: str) -> list[str] | None:
    """The field names of a layer file or herd register; None when it cannot be read."""
    from pastures.io import read_table, read_vector

    try:
        if kind == S.HERDS:
            return [str(c) for c in read_table(path).columns]
        return [str(c) for c in read_vector(path, prefer=kind).columns]
    except PasturesError:
        return None


# --- [imagery] -------------------------------------------------------------------------


@dataclass(frozen=True)
class ImagerySource:
    """Where the scenes come from: synthetic sample scenes, files, or none."""

    source: ImagerySourceKind = "none"
    scenes: tuple[Path, ...] = ()
    start: dt.date = dt.date(2023, 1, 1)
    end: dt.date = dt.date(2024, 12, 31)


IMAGERY_KEYS: Final = {
    "source": Key('"sample", "files" or "none"', _choice("sample", "files", "none"), "none", ""),
    "scenes": Key("a list of scene folders or STAC JSON files", _text_list, []),
    "start": Key("a date YYYY-MM-DD", _date, "2023-01-01", "sample scenes: two years"),
    "end": Key("a date YYYY-MM-DD", _date, "2024-12-31", "sample scenes: two years"),
}


def _read_imagery(r: _Reader) -> ImagerySource:
    """``[imagery]``: scenes that exist when the source is files; start before end."""
    img = r.section("imagery", IMAGERY_KEYS)
    scenes: list[Path] = []
    for k, text in enumerate(img.get("scenes", [])):
        p = _resolve(r.base, text)
        if not p.exists():
            r.problem(f"imagery.scenes[{k}]", f"{text!r}: no such file or folder ({p}).")
        scenes.append(p)
    if img.get("source") == "files" and not img.get("scenes"):
        r.problem("imagery.scenes", 'source = "files" needs a list of scenes.')
    start = _as_date(img.get("start"))
    end = _as_date(img.get("end"))
    if start and end and start > end:
        r.problem("imagery.end", f"{end} is before start {start}.")
    return ImagerySource(
        source=img.get("source", "none"),
        scenes=tuple(scenes),
        start=start or dt.date(2023, 1, 1),
        end=end or dt.date(2024, 12, 31),
    )


# --- [dem] ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemSource:
    """Where the terrain comes from: the synthetic sample DEM, a file, or none."""

    source: DemSourceKind = "none"
    path: Path | None = None


DEM_KEYS: Final = {
    "source": Key('"sample", "file" or "none"', _choice("sample", "file", "none"), "none"),
    "path": Key("a DEM GeoTIFF (text)", _is_text),
}


def _read_dem(r: _Reader) -> DemSource:
    """``[dem]``: a file that exists when the source is a file."""
    values = r.section("dem", DEM_KEYS)
    if values.get("source") == "file" and "path" not in values:
        r.problem("dem.path", 'source = "file" needs the DEM path.')
    return DemSource(
        source=values.get("source", "none"), path=r.existing("dem.path", values.get("path"))
    )


# --- [vegetation] -----------------------------------------------------------------------


@dataclass(frozen=True)
class VegetationSettings:
    """Settings of the vegetation stage (see ``pastures indices``)."""

    indices: tuple[str, ...] = ("ndvi", "savi", "msavi2", "evi", "ndmi", "bofedal")
    edge_rule: str = "inner"
    min_valid: float = 0.5
    dry_months: tuple[int, ...] = DEFAULT_DRY_MONTHS
    scheduler: str | None = None  # address of a Dask scheduler (pastures.regional)
    workers: int | None = None  # size of a local Dask cluster (pastures.regional)


VEGETATION_KEYS: Final = {
    "indices": Key("a list of index names", _text_list, None, "pastures.indices"),
    "edge_rule": Key(
        '"centre", "exact", "inner" or "all_touched"',
        _choice("centre", "exact", "inner", "all_touched"),
        "inner",
        "pastures.zonal.DEFAULT_EDGE_RULE",
    ),
    "min_valid": Key("a share 0-1", _number(0, 1), 0.5, "pastures.timeseries"),
    "dry_months": Key(
        "a list of months 1-12", _months, list(DEFAULT_DRY_MONTHS), "SENAMHI Juli normals"
    ),
    "scheduler": Key("a Dask scheduler address (text), e.g. tcp://10.0.0.5:8786", _is_text),
    "workers": Key("a whole number of local Dask workers", _integer(1, 1024)),
}


def _read_vegetation(r: _Reader) -> VegetationSettings:
    """``[vegetation]``: indices pastures knows."""
    veg = r.section("vegetation", VEGETATION_KEYS)
    if "indices" in veg:
        from pastures.indices import INDICES

        bad = [n for n in veg["indices"] if n.lower() not in INDICES]
        if bad or not veg["indices"]:
            r.problem(
                "vegetation.indices",
                f"unknown index {', '.join(bad) or '(empty list)'}; known: "
                f"{', '.join(sorted(INDICES))}.",
            )
    return VegetationSettings(
        indices=tuple(n.lower() for n in veg.get("indices", VegetationSettings.indices)),
        edge_rule=veg.get("edge_rule", "inner"),
        min_valid=float(veg.get("min_valid", 0.5)),
        dry_months=tuple(veg.get("dry_months", DEFAULT_DRY_MONTHS)),
        scheduler=veg.get("scheduler"),
        workers=veg.get("workers"),
    )


# --- [calibration] ----------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationSettings:
    """Field quadrat cuts that calibrate the index-biomass relation (``[calibration]``).

    Attributes
    ----------
    cuts
        The cuts (CSV or XLSX: plot_code or x/y or lon/lat, date, biomass_kg_ha); None:
        no calibration, the published relations and pasture-type defaults are used.
    form
        ``"best"`` (the lower RMSE of the linear and power fits), ``"linear"`` or
        ``"power"``.
    max_days
        Largest gap (days) between a cut and the image date it is paired with.
    crs
        CRS of the cuts' x/y (default: the working CRS); lon/lat are always degrees.
    """

    cuts: Path | None = None
    form: str = "best"
    max_days: int = 16
    crs: str | None = None


CALIBRATION_KEYS: Final = {
    "cuts": Key("a quadrat cuts table, CSV or XLSX (text)", _is_text),
    "form": Key(
        '"best", "linear" or "power"',
        _choice("best", "linear", "power"),
        "best",
        "pastures.forage.fit_calibration: the lower RMSE",
    ),
    "max_days": Key(
        "a whole number of days from 0 to 366",
        _integer(0, 366),
        16,
        "one Sentinel-2 revisit cycle of 10 days, plus clouds",
    ),
    "crs": Key("a CRS (text), e.g. EPSG:32719", _is_text),
}


def _read_calibration(r: _Reader, imagery: ImagerySource) -> CalibrationSettings:
    """``[calibration]``: cuts that exist, and imagery to pair them with."""
    cal = r.section("calibration", CALIBRATION_KEYS)
    if "cuts" in cal and imagery.source == "none":
        r.problem(
            "calibration.cuts",
            "quadrat cuts are paired with the vegetation index on their date, and the "
            'project has no imagery: set [imagery] source = "files" (or "sample"), or '
            "leave the cuts out.",
        )
    _crs_known(r, "calibration.crs", cal.get("crs"))
    return CalibrationSettings(
        cuts=r.existing("calibration.cuts", cal.get("cuts")),
        form=str(cal.get("form", "best")),
        max_days=int(cal.get("max_days", 16)),
        crs=cal.get("crs"),
    )


# --- [rotation] -------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationSettings:
    """Horizon of the grazing plan."""

    start: dt.date | None = None
    periods: int = 52
    period_days: int = 7


ROTATION_KEYS: Final = {
    "start": Key(
        "a date YYYY-MM-DD",
        _date,
        None,
        "the Monday after the latest image date (2026-01-05 without imagery)",
    ),
    "periods": Key("a whole number of periods", _integer(1, 520), 52, "one year of weeks"),
    "period_days": Key("days per period", _integer(1, 31), 7, "weekly moves"),
}


def _read_rotation(r: _Reader) -> RotationSettings:
    """``[rotation]``: a period the rotation's rules allow (the longest stay on a plot)."""
    rot = r.section("rotation", ROTATION_KEYS)
    period_days = int(rot.get("period_days", 7))
    if "period_days" in rot:
        from pastures.errors import ParameterError
        from pastures.rotation.model import RotationParams, validate_params

        try:  # the rules the plan meets, as the rotation stage will check them
            validate_params(RotationParams(), period_days=period_days)
        except ParameterError as exc:
            r.problem(
                "rotation.period_days",
                f"{period_days} days does not fit the rotation's rules "
                f"(pastures.rotation.RotationParams): {exc}",
            )
    return RotationSettings(
        start=_as_date(rot.get("start")),
        periods=int(rot.get("periods", 52)),
        period_days=period_days,
    )


# --- [forage] and [risk]: checked by their modules --------------------------------------

#: Numbers of [forage] and [risk] that have a command-line twin, with the same rules.
FREE_NUMBERS: Final = {
    "forage.use_factor": _number(0, 1, open_low=True),
    "forage.budget_month": _integer(1, 12),
    "risk.rusle.erosivity": _number(0, 100_000),
    "risk.rusle.erodibility": _number(0, 0.1),
    "risk.rusle.l_max": _number(0, 1000, open_low=True),
    "risk.rusle.stream_threshold": _number(1),
    "risk.pressure.piosphere_decay_m": _number(0, 100_000, open_low=True),
    # monthly totals, as --rainfall (0 to 10,000 mm: the wettest months on Earth ~9,300)
    "risk.rusle.rainfall_mm[]": _number(0, 10_000),
    "forage.monthly_rain_mm[]": _number(0, 10_000),
}


def _read_free(r: _Reader, section: str) -> dict[str, Any]:
    """``[forage]`` or ``[risk]`` as given, once its module accepts it.

    Every number must be finite (TOML allows nan and inf); those with a command-line
    twin keep its range (:data:`FREE_NUMBERS`); a list where the module expects a
    table is named.
    """
    given = r.data.get(section, {})
    if not isinstance(given, dict):
        r.problem(section, f"must be a table ([{section}]); got {type(given).__name__}.")
        return {}
    before = len(r.problems)
    for key, value in _leaves(given, section):
        check = FREE_NUMBERS.get(key) or FREE_NUMBERS.get(key.split("[")[0] + "[]")
        if check is not None:
            expected = check(value)
            if expected is not None:
                r.problem(key, f"expected {expected}, as its command-line option; got {value!r}.")
        elif isinstance(value, float) and not math.isfinite(value):
            r.problem(key, f"expected a finite number; got {value!r}.")
    if len(r.problems) > before:
        return given
    loader = "params_from_mapping" if section == "forage" else "settings_from_mapping"
    module = __import__(
        f"pastures.{'forage' if section == 'forage' else 'erosion'}", fromlist=[loader]
    )
    try:
        getattr(module, loader)(_plain(given))
    except (PasturesError, TypeError, ValueError) as exc:
        r.problem(f"[{section}]", f"{exc}")
    except AttributeError:  # a list or a value where the module walks a table
        load = getattr(module, loader)
        wrong = [key for key in _list_keys(given, section) if _fixed_by_table(load, given, key)]
        r.problem(
            ", ".join(wrong) or f"[{section}]",
            "expected a table (e.g. [forage.animal_units.overrides], or key = { ... }); got a "
            "list. See the comments of the project `pastures init` writes.",
        )
    return given


def _list_keys(table: Mapping[str, Any], where: str) -> list[str]:
    """Dotted keys of the lists in a nested table."""
    out: list[str] = []
    for k, v in table.items():
        if isinstance(v, list):
            out.append(f"{where}.{k}")
        elif isinstance(v, dict):
            out += _list_keys(v, f"{where}.{k}")
    return out


def _fixed_by_table(load: Callable[[Any], Any], given: Mapping[str, Any], key: str) -> bool:
    """True when the list at `key` is what made `load` walk a list as a table."""
    parts = key.split(".")[1:]
    trial = _plain(given)
    node = trial
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = {}
    try:
        load(trial)
    except AttributeError:
        return False
    except Exception:  # noqa: BLE001 - any other complaint: the table was the fix
        return True
    return True


def _leaves(table: Mapping[str, Any], where: str) -> list[tuple[str, Any]]:
    """(dotted key, value) of every value of a nested table, lists' items included."""
    out: list[tuple[str, Any]] = []
    for k, v in table.items():
        key = f"{where}.{k}"
        if isinstance(v, dict):
            out += _leaves(v, key)
        elif isinstance(v, list):
            out += [(f"{key}[{i}]", x) for i, x in enumerate(v)] if v else []
            out += [(key, v)] if not v else []
        else:
            out.append((key, v))
    return out


# --- the whole file ---------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectConfig:
    """A validated project file.

    Attributes
    ----------
    path
        The project file.
    name
        Project name.
    illustrative
        True for sample data: every output says the data are illustrative.
    output
        Default run folder.
    study_area, layers, imagery, dem, vegetation, rotation
        The sections, validated.
    calibration
        The ``[calibration]`` section: field quadrat cuts for the index-biomass relation.
    forage, risk
        The ``[forage]`` and ``[risk]`` tables as given (validated by
        :func:`pastures.forage.params_from_mapping` and
        :func:`pastures.erosion.settings_from_mapping`).
    language
        Language of the outputs (map, atlas, workbooks, calendar, chart, the words of the
        tables): any language with a catalog, see :func:`pastures.i18n.available_languages`.
    defaults_used
        Keys the file left out, with the default each took and where it comes from.
    """

    path: Path
    name: str
    illustrative: bool
    output: Path
    study_area: StudyArea
    layers: LayerFiles
    imagery: ImagerySource
    dem: DemSource
    vegetation: VegetationSettings
    rotation: RotationSettings
    forage: Mapping[str, Any]
    risk: Mapping[str, Any]
    language: str = "es"
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)
    defaults_used: Mapping[str, str] = field(default_factory=dict)
    #: Keys the file gave in [vegetation] (the others took their defaults).
    vegetation_given: tuple[str, ...] = ()

    def forage_params(self) -> Any:
        """The :class:`pastures.forage.ForageParams` of ``[forage]``."""
        from pastures.forage import params_from_mapping

        return params_from_mapping(_plain(self.forage))

    def risk_settings(self) -> Any:
        """The :class:`pastures.erosion.RiskSettings` of ``[risk]``."""
        from pastures.erosion import settings_from_mapping

        return settings_from_mapping(_plain(self.risk))


def real_data_only(config: ProjectConfig) -> tuple[ProjectConfig, dict[str, str]]:
    """A real project's configuration without the synthetic inputs, and why each went.

    Synthetic scenes, the synthetic DEM and the bundled made-up quadrat cuts exist for
    illustrative projects only. A project not marked ``illustrative`` that asks for
    them gets none: the stage that needed them is skipped, and the reason (by stage:
    ``vegetation``, ``erosion``, ``forage``) is said in the run's summary, the map and
    the atlas. An illustrative project is returned as is.
    """
    from dataclasses import replace

    if config.illustrative:
        return config, {}
    why: dict[str, str] = {}
    changes: dict[str, Any] = {}
    if config.imagery.source == "sample":
        why["vegetation"] = (
            '[imagery] source = "sample" gives SYNTHETIC scenes, used only in projects marked '
            'illustrative: no vegetation indices. Give your scenes (source = "files", see '
            "`pastures fetch`), or set [project] illustrative = true."
        )
        changes["imagery"] = replace(config.imagery, source="none")
    if config.dem.source == "sample":
        why["erosion"] = (
            '[dem] source = "sample" is SYNTHETIC terrain, used only in projects marked '
            "illustrative: no soil loss and no erosion risk class. Give a DEM "
            '([dem] source = "file" and path; `pastures fetch` downloads the Copernicus '
            "GLO-30 DEM of your area), or set [project] illustrative = true."
        )
        changes["dem"] = replace(config.dem, source="none")
    if config.calibration.cuts is not None and _is_bundled_cuts(config.calibration.cuts):
        why["forage"] = (
            f"{config.calibration.cuts.name} is the bundled MADE-UP quadrat cuts of the sample, "
            "used only in projects marked illustrative: forage is not calibrated with them. "
            "Give your own cuts in [calibration] cuts, or leave the key out."
        )
        changes["calibration"] = replace(config.calibration, cuts=None)
    for text in why.values():
        logger.warning("%s: %s", config.path.name, text)
    return (replace(config, **changes) if changes else config), why


def _is_bundled_cuts(path: Path) -> bool:
    """True when `path` holds the same bytes as the sample's made-up quadrat cuts."""
    from pastures.sample import SAMPLE_CUTS, sample_dir

    bundled = sample_dir() / SAMPLE_CUTS
    try:
        return bundled.is_file() and path.read_bytes() == bundled.read_bytes()
    except OSError:
        return False


def _plain(value: Any) -> Any:
    """Nested mappings as plain dicts (the dataclass keeps read-only views)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


#: Every key of a project file by section: what it must hold, its default and the source.
KEYS: Final[dict[str, Mapping[str, Key]]] = {
    "project": PROJECT_KEYS,
    "study_area": STUDY_AREA_KEYS,
    "layers": LAYERS_KEYS,
    "imagery": IMAGERY_KEYS,
    "dem": DEM_KEYS,
    "vegetation": VEGETATION_KEYS,
    "forage": {},  # free-form: pastures.forage.params_from_mapping checks it
    "calibration": CALIBRATION_KEYS,
    "rotation": ROTATION_KEYS,
    "risk": {},  # free-form: pastures.erosion.settings_from_mapping checks it
}


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's tables. A UTF-8 byte-order mark (Windows Notepad) is accepted."""
    if not path.is_file():
        raise InputFileError(
            _(
                "{path}: project file not found. Write one with `pastures init FOLDER`, "
                "or check the path."
            ).format(path=path)
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProjectError(
            [_problem(path, "", f"is not valid TOML ({exc}). Fix the line it names.")]
        ) from exc
    except RecursionError as exc:
        raise ProjectError(
            [_problem(path, "", f"nests tables or lists deeper than the schema's {MAX_NESTING}.")]
        ) from exc
    deep = _too_deep(data, "", 0)
    if deep:
        raise ProjectError(
            [
                _problem(
                    path,
                    deep,
                    f"nests tables or lists deeper than any key of a project file "
                    f"({MAX_NESTING} levels). Remove the extra levels.",
                )
            ]
        )
    return data


def _too_deep(value: Any, where: str, depth: int) -> str | None:
    """The first key nested deeper than :data:`MAX_NESTING`, without recursing past it."""
    if depth > MAX_NESTING:
        return where or "(top)"
    items: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        items = [(f"{where}.{k}".lstrip("."), v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
    for key, item in items:
        if isinstance(item, dict | list):
            found = _too_deep(item, key, depth + 1)
            if found:
                return found
    return None


def load_project_file(path: str | os.PathLike[str]) -> ProjectConfig:
    """Read and validate a project file, section by section.

    Parameters
    ----------
    path
        The TOML file.

    Returns
    -------
    ProjectConfig

    Raises
    ------
    InputFileError
        The file does not exist.
    ProjectError
        Anything wrong in it: every problem, each naming its key and what it expects.
    """
    file = Path(path)
    r = _Reader(file, _read_toml(file))
    for section in r.data:
        if section not in KEYS:
            r.problem(
                f"[{section}]",
                f"unknown section. Known sections: {', '.join(f'[{s}]' for s in KEYS)}.",
            )
    proj = r.section("project", PROJECT_KEYS)
    study_area = _read_study_area(r)
    layers = _read_layers(r)
    imagery = _read_imagery(r)
    dem = _read_dem(r)
    vegetation = _read_vegetation(r)
    calibration = _read_calibration(r, imagery)
    rotation = _read_rotation(r)
    forage = _read_free(r, "forage")
    risk = _read_free(r, "risk")
    if r.problems:
        raise ProjectError(r.problems)
    assert study_area is not None  # every way it is None leaves a problem
    given_veg = r.raw("vegetation")
    return ProjectConfig(
        path=file,
        name=str(proj["name"]),
        illustrative=bool(proj["illustrative"]),
        output=_resolve(r.base, proj["output"]),
        study_area=study_area,
        layers=layers,
        imagery=imagery,
        dem=dem,
        vegetation=vegetation,
        rotation=rotation,
        forage=forage,
        risk=risk,
        language=str(proj["language"]),
        calibration=calibration,
        defaults_used=r.defaults_used,
        vegetation_given=tuple(given_veg),
    )


def _file_fields(path: Path, kind: str) -> list[str] | None:
    """The field names of a layer file or herd register; None when it cannot be read."""
    from pastures.io import read_table, read_vector

    try:
        if kind == S.HERDS:
            return [str(c) for c in read_table(path).columns]
        return [str(c) for c in read_vector(path, prefer=kind).columns]
    except PasturesError:
        return None


def _as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def sample_project_path() -> Path:
    """Path of the bundled sample project file (illustrative Juli data)."""
    candidates = [
        Path(str(resources.files("pastures"))) / "_data" / "projects" / SAMPLE_PROJECT,
        Path(__file__).resolve().parents[2] / "data" / "projects" / SAMPLE_PROJECT,
    ]
    for p in candidates:
        if p.is_file():
            return p
    raise InputFileError(
        _(
            "the bundled sample project was not found (looked in {value}). Reinstall pastures."
        ).format(value=", ".join(str(c) for c in candidates))
    )


def starter_project(*, sample_folder: Path | None = None) -> str:
    """Text of a commented starting project file (what ``pastures init`` writes).

    Parameters
    ----------
    sample_folder
        Folder of the layer files the starter points at (relative paths are relative
        to the project file); by default the bundled illustrative Juli sample, so
        that the file runs as written.
    """
    from pastures.sample import sample_dir

    folder = sample_folder if sample_folder is not None else sample_dir().resolve()
    return STARTER_TEMPLATE.format(folder=folder.as_posix())


STARTER_TEMPLATE: Final = """\
# pastures project file (TOML). Run it with:  pastures run project.toml
# Paths are relative to the folder of this file. Every key is optional unless marked;
# a key left out takes the default named in its comment (recorded in provenance.json).

[project]
name = "My pastures"
# True for sample or made-up data: every map, table and raster then says so.
illustrative = true
# Run folder (relative to this file); `pastures run --out DIR` overrides it.
output = "run"
# Language of the outputs (map, atlas, workbooks, calendar, chart, the words of the
# tables): "es", "en" or any language with a catalog (`pastures --lang` lists them).
language = "es"

[study_area]
# Either a boundary file (a polygon, any CRS) or bounds in degrees; neither: the
# district of Juli. Layers more than margin_km outside the area are refused.
name = "Juli"
# boundary = "district.gpkg"
# bounds = [-69.69, -16.50, -69.33, -16.17]   # west, south, east, north
crs = "auto"           # working CRS (projected, metres); auto: the UTM zone of the area
resolution_m = 30.0    # pixel side (m) of the working grid (DEM, composites, risk)
margin_km = 5.0

[layers]
# Start from the bundled illustrative sample; replace with your own files
# (GeoPackage, GeoJSON, Shapefile, KML/KMZ, GPX; herds: CSV or XLSX).
communities = "{folder}/communities.geojson"
plots = "{folder}/plots.geojson"          # required
corrals = "{folder}/corrals.geojson"
water_points = "{folder}/water_points.geojson"
herds = "{folder}/herds.csv"
# assume_crs = "EPSG:4326"   # for files that declare no CRS
repair = "warn"              # invalid outlines: "warn" (repair) or "reject"

# Overlap between two plots (m²) taken for a digitising or GPS sliver: a warning,
# and the sliver is counted in the first plot only. Larger overlaps are errors.
overlap_tolerance_m2 = 25.0

# Values for fields your files lack, per layer kind:
# [layers.defaults.plots]
# community = "Pasiri"
# pasture_type = "pajonal"

# Your files' names for the fields pastures reads, when they are not among the names it
# knows (codigo, comunidad, tipo_pasto...), per layer kind: field = "your field".
# [layers.fields.plots]
# plot_code = "id_parcel"
# [layers.fields.herds]
# family_id = "dni"

[imagery]
# "sample": synthetic Sentinel-2 scenes over the plots (illustrative);
# "files": the folders or STAC JSON files below (see `pastures fetch`); "none".
source = "sample"
# scenes = ["scenes/"]
start = 2023-01-01
end = 2024-12-31

[dem]
# "sample": the synthetic Juli terrain (illustrative); "file": path below; "none".
source = "sample"
# path = "dem.tif"

[vegetation]
indices = ["ndvi", "savi", "msavi2", "evi", "ndmi", "bofedal"]
edge_rule = "inner"      # centre, exact, inner, all_touched
min_valid = 0.5          # share of a plot that must be clear for a date to count
# Months of the dry-season NDVI composite (C factor). JULI DEFAULT: June-October, the
# dry months of the SENAMHI Juli normals 1991-2020 (5-45 mm a month). Outside Juli, set
# your area's dry months; left out, the run warns and provenance marks the Juli default.
# dry_months = [6, 7, 8, 9, 10]
# Large areas: compute the index series on Dask (pip install "pastures[regional]"),
# same results as one process. A cluster's scheduler, or a local cluster of N workers:
# scheduler = "tcp://10.0.0.5:8786"
# workers = 2

[forage]
# Keys of `pastures forage --params`, e.g.:
use_factor = 0.5         # share of production that may be grazed
# Settings that are facts of Juli, left out so that a project elsewhere is warned about
# them (provenance marks each as a JULI DEFAULT). Set them for your area:
# budget_month = 8       # JULI DEFAULT: August, start of Juli's critical late dry season
#                        # (Aug-Oct, DOMAIN.md); the month whose standing forage counts
# wet_months = [12, 1, 2, 3]   # JULI DEFAULT: the Juli rainy season (77 % of the rain)
# monthly_rain_mm = [215.8, 182.2, 157.2, 50.2, 11.6, 5.3, 7.3, 14.2, 23.6, 45.0, 49.7, 123.4]
#                        # JULI DEFAULT: SENAMHI Juli normals 1991-2020, the growth profile
# [forage.animal_units]
# preset = "sr-crsp"     # or "peru-tables"

[calibration]
# Field quadrat cuts (CSV or XLSX: plot_code or x/y or lon/lat, date, biomass_kg_ha)
# fit the index-biomass relation of each pasture type. Without them, bofedales use the
# published relation (Zorogastúa-Cruz et al. 2012) and the other types the production
# range of their type (Castellaro 2007), whatever the imagery shows. Needs imagery.
# The bundled cuts are made up for the illustrative sample: use your own.
cuts = "{folder}/quadrat_cuts.csv"
form = "best"            # best (lower RMSE), linear or power
max_days = 16            # largest gap between a cut and its image date
# crs = "EPSG:32719"     # CRS of x/y columns, if the cuts give x/y

[rotation]
# First day of the plan; left out: the Monday after the latest image date, so the plan
# starts on the standing forage the imagery saw (2026-01-05 without imagery).
# start = 2026-01-05
periods = 52
period_days = 7

[risk]
# Sections of `pastures risk --params`: [risk.rusle], [risk.cover], [risk.practices],
# [risk.pressure], [risk.risk]. For example:
# [risk.rusle]
# erodibility = 0.03     # K, t·ha·h/(ha·MJ·mm)
# erosivity = 2727       # R, MJ·mm/(ha·h·yr). JULI DEFAULT: from the SENAMHI Juli rain
#                        # normals (Renard & Freimund 1994); set your area's R
"""
