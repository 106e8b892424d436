"""The study area, working CRS, field mapping and defaults that every command works in.

One place resolves where a run lies and how its files are read, for ``pastures run``
(a project file) and for the single commands (``check``, ``indices``, ``forage``,
``risk``...), which take the same project file (``--project``) or an area of their own
(``--bounds`` in degrees, ``--boundary`` polygon file):

- no area given: the district of Juli with its 25 km margin, in EPSG:32719;
- bounds or a boundary: that box with a 5 km margin, in its UTM zone unless a CRS is
  given;
- a project file: its ``[study_area]``, CRS, ``[layers.fields]``, ``[layers.defaults]``,
  ``assume_crs`` and ``repair``; command-line values win over the file's.

It also holds the checks a study area must pass before any work: the working CRS must
cover the area (a UTM zone far from the layers distorts every area), and the working
grid must fit in memory (:func:`check_grid_size`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pastures import schema as S
from pastures.errors import ParameterError, Problem
from pastures.i18n import N_, _
from pastures.validation import JULI_AREA, WorkingArea

if TYPE_CHECKING:
    from pastures.project import ProjectConfig, StudyArea

__all__ = [
    "DEFAULT_MARGIN_KM",
    "MAX_GRID_CELLS",
    "StudySetup",
    "auto_crs",
    "boundary_bounds",
    "bounds_in_crs",
    "check_grid_size",
    "crs_zone_problem",
    "from_bounds",
    "from_project",
    "juli_setup",
    "not_needed",
    "parse_bounds",
    "working_area",
]

#: Distance (km) layers may lie outside a study area given as bounds or a boundary.
DEFAULT_MARGIN_KM: Final = 5.0
#: Largest working grid (cells). A float64 layer of 25 million cells takes 200 MB, and a
#: run holds about a dozen layers of the grid at once (DEM, flow, LS, C, soil loss,
#: composites): about 2.4 GB, what a field technician's 8 GB laptop can spare. The
#: district of Juli at 30 m is 1.5 million cells; at 1 m it would be 1,330 million.
MAX_GRID_CELLS: Final = 25_000_000
#: How far (degrees) a study area may reach beyond its CRS's area of use: UTM is used a
#: little beyond its 6° zone, but not across the world.
CRS_ZONE_TOLERANCE_DEG: Final = 1.0


@dataclass(frozen=True)
class StudySetup:
    """Where a command works and how it reads its files.

    Attributes
    ----------
    area
        The area layers must lie in (with its margin), for :func:`pastures.layers.read_layer`.
    crs
        Working CRS (projected, metres).
    fields
        The files' own names of schema fields, per layer kind.
    defaults
        Values for fields the files lack, per layer kind.
    assume_crs
        CRS of files that declare none.
    repair
        ``"warn"`` or ``"reject"`` for invalid outlines.
    origin
        Where the area came from, for messages ("the district of Juli", "--bounds", a
        project file).
    project
        The project file's configuration, when the area came from one.
    """

    area: WorkingArea
    crs: str
    fields: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    defaults: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    assume_crs: str | None = None
    repair: str = "warn"
    origin: str = "the district of Juli"
    project: ProjectConfig | None = None

    def reading(self) -> dict[str, Any]:
        """Keyword arguments of :func:`pastures.layers.load_project` for this setup."""
        return {
            "crs": self.crs,
            "assume_crs": self.assume_crs,
            "repair": self.repair,
            "area": self.area,
            "fields": self.fields,
            "defaults": self.defaults,
        }

    @property
    def is_juli(self) -> bool:
        """True when no area was given: the district of Juli."""
        return self.area == JULI_AREA or (
            self.project is not None and self.project.study_area.is_juli
        )

    def with_overrides(
        self,
        *,
        crs: str | None = None,
        fields: Mapping[str, Mapping[str, str]] | None = None,
        defaults: Mapping[str, Mapping[str, str]] | None = None,
        assume_crs: str | None = None,
        repair: str | None = None,
    ) -> StudySetup:
        """The setup with values given on the command line, which win over the file's."""
        from dataclasses import replace

        return replace(
            self,
            crs=crs or self.crs,
            fields=_merge(self.fields, fields or {}),
            defaults=_merge(self.defaults, defaults or {}),
            assume_crs=assume_crs or self.assume_crs,
            repair=repair or self.repair,
        )


def _merge(
    base: Mapping[str, Mapping[str, str]], over: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    out = {k: dict(v) for k, v in base.items()}
    for kind, table in over.items():
        out.setdefault(kind, {}).update(table)
    return out


def juli_setup(crs: str = S.WORKING_CRS) -> StudySetup:
    """The default: the district of Juli (25 km margin) in `crs`."""
    return StudySetup(area=JULI_AREA, crs=crs)


def auto_crs(bounds: tuple[float, float, float, float]) -> str:
    """EPSG code of the WGS 84 / UTM zone of the centre of `bounds` (degrees)."""
    lon = (bounds[0] + bounds[2]) / 2
    lat = (bounds[1] + bounds[3]) / 2
    zone = min(60, int((lon + 180) // 6) + 1)
    return f"EPSG:{32700 + zone if lat < 0 else 32600 + zone}"


def bounds_in_crs(
    bounds_lonlat: tuple[float, float, float, float], crs: str
) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a box in degrees, in `crs` (m)."""
    from pyproj import Transformer

    w, s, e, n = bounds_lonlat
    t = Transformer.from_crs(S.LONLAT_CRS, crs, always_xy=True)
    x0, y0, x1, y1 = t.transform_bounds(w, s, e, n, densify_pts=21)
    return (float(x0), float(y0), float(x1), float(y1))


def working_area(study: StudyArea) -> WorkingArea:
    """The area a project's layers must lie in (for :func:`pastures.layers.load_project`)."""
    if study.is_juli:
        return WorkingArea(name=N_("the district of Juli"), margin_km=study.margin_km)
    return WorkingArea(
        bounds_lonlat=study.bounds_lonlat,
        margin_km=study.margin_km,
        name=_("the study area '{name}'").format(name=study.name),
    )


def from_project(config: ProjectConfig) -> StudySetup:
    """The study area, CRS, field mapping and defaults of a project file."""
    return StudySetup(
        area=working_area(config.study_area),
        crs=config.study_area.crs,
        fields=config.layers.fields,
        defaults=config.layers.defaults,
        assume_crs=config.layers.assume_crs,
        repair=config.layers.repair,
        origin=f"project file {config.path.name}",
        project=config,
    )


def from_bounds(
    bounds: tuple[float, float, float, float],
    *,
    crs: str | None = None,
    name: str = N_("the study area (--bounds)"),
    margin_km: float = DEFAULT_MARGIN_KM,
) -> StudySetup:
    """A study area given as (west, south, east, north) in degrees.

    Parameters
    ----------
    bounds
        The box in degrees.
    crs
        Working CRS; None: the UTM zone of the box's centre.
    name
        The area as named in messages.
    margin_km
        How far outside the box a feature may lie.

    Raises
    ------
    ParameterError
        Bounds that are not a box in degrees, or a CRS that does not cover them.
    """
    w, s, e, n = bounds
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise ParameterError(
            _(
                "{name}: {bounds} is not west,south,east,north in degrees with west < "
                "east and south < north, e.g. 5.0,45.76,5.09,45.82."
            ).format(name=_(name), bounds=list(bounds))
        )
    work = crs or auto_crs(bounds)
    why = crs_zone_problem(bounds, work)
    if why:
        raise ParameterError(_("{name}: {why}").format(name=_(name), why=why))
    return StudySetup(
        area=WorkingArea(bounds_lonlat=bounds, margin_km=margin_km, name=name),
        crs=work,
        origin=name,
    )


def parse_bounds(text: str, *, option: str = "--bounds") -> tuple[float, float, float, float]:
    """``W,S,E,N`` text as four numbers.

    Raises
    ------
    ParameterError
        Not four finite numbers.
    """
    try:
        values = [float(v) for v in text.replace(" ", ",").split(",") if v]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ParameterError(
            _(
                "{option} {text!r}: give west,south,east,north in degrees with west < "
                "east and south < north, e.g. {option} 5.0,45.76,5.09,45.82."
            ).format(option=option, text=text)
        )
    w, s, e, n = values
    return (w, s, e, n)


def boundary_bounds(path: str | Path) -> tuple[float, float, float, float]:
    """Lon/lat bounds of a boundary file, whose features must be polygons.

    Raises
    ------
    InputFileError
        The file cannot be read, declares no CRS, or holds no polygon.
    """
    import pyogrio
    import shapely

    from pastures.errors import InputFileError

    p = Path(path)
    if not p.exists():
        raise InputFileError(
            _("{p}: boundary file not found. Check the path and the spelling.").format(p=p)
        )
    try:
        frame = pyogrio.read_dataframe(p)
    except Exception as exc:  # any driver error: the file is unusable
        raise InputFileError(_("{p}: cannot be read ({exc}).").format(p=p, exc=exc)) from exc
    if frame.crs is None:
        raise InputFileError(_("{p}: declares no CRS. Save it with its CRS set.").format(p=p))
    geoms = frame.geometry[~(frame.geometry.isna() | frame.geometry.is_empty)]
    kinds = set(geoms.geom_type)
    if not len(geoms) or not kinds <= {"Polygon", "MultiPolygon"}:
        raise InputFileError(
            _(
                "{p}: the study area must be a polygon; the file holds {value}. Give the "
                "area's outline."
            ).format(p=p, value=", ".join(sorted(kinds)) or "no geometry")
        )
    area = shapely.union_all(geoms.to_crs(S.LONLAT_CRS).to_numpy())
    w, s, e, n = area.bounds
    return (float(w), float(s), float(e), float(n))


def crs_zone_problem(bounds: tuple[float, float, float, float], crs: str) -> str | None:
    """Why `crs` cannot measure an area of `bounds` (degrees); None when it can.

    A projected CRS is made for its area of use (a UTM zone: 6° of longitude, one
    hemisphere). Areas and distances measured far outside it are wrong: Juli's plots
    measured in UTM 31N come out six times too large. The area may reach
    :data:`CRS_ZONE_TOLERANCE_DEG` beyond the CRS's area of use.
    """
    from pyproj import CRS
    from pyproj.exceptions import CRSError as PyprojCRSError

    try:
        parsed = CRS.from_user_input(crs)
    except PyprojCRSError:
        return f"the working CRS {crs!r} is not one pyproj knows."
    use = parsed.area_of_use
    if use is None:
        return None
    tol = CRS_ZONE_TOLERANCE_DEG
    w, s, e, n = bounds
    inside = (
        w >= use.west - tol
        and e <= use.east + tol
        and s >= use.south - tol
        and n <= use.north + tol
    )
    if inside:
        return None
    fits = auto_crs(bounds)
    return (
        f"the area [{w:g}, {s:g}, {e:g}, {n:g}] (degrees) lies outside the area of use of "
        f"{crs} ({parsed.name}: longitude {use.west:g} to {use.east:g}, latitude {use.south:g} "
        f"to {use.north:g}), where areas and distances are wrong. Give the CRS of the "
        f'area\'s own zone ({fits} for its centre, or "auto"), and bounds around your '
        "layers, not wider than a UTM zone."
    )


def check_grid_size(
    bounds_m: tuple[float, float, float, float],
    resolution_m: float,
    *,
    max_cells: int = MAX_GRID_CELLS,
) -> str | None:
    """Why a working grid of `bounds_m` at `resolution_m` is refused; None when it fits.

    Checked before anything is allocated. The message gives the grid's size and the
    finest whole-metre resolution that fits.
    """
    w, s, e, n = bounds_m
    width, height = max(e - w, 0.0), max(n - s, 0.0)
    cells = math.ceil(width / resolution_m) * math.ceil(height / resolution_m)
    if cells <= max_cells:
        return None
    fits = math.ceil(math.sqrt(width * height / max_cells))
    while math.ceil(width / fits) * math.ceil(height / fits) > max_cells:
        fits += 1
    gib = cells * 8 / 2**30
    return (
        f"a {width / 1000:,.1f} x {height / 1000:,.1f} km area at {resolution_m:g} m is a grid "
        f"of {math.ceil(height / resolution_m):,} x {math.ceil(width / resolution_m):,} = "
        f"{cells:,} cells ({gib:,.1f} GiB per layer of numbers), more than the {max_cells:,} "
        f"cells a run can hold. Use resolution_m = {fits} or coarser, or a smaller area."
    )


def not_needed(
    problems: Iterable[Problem], needed: Iterable[str], *, command: str
) -> list[Problem]:
    """Missing fields a command does not use: one warning each, not an error.

    The layer checks ask for every required field of a layer (a plot's community and
    pasture type). A command that does not use a field (``indices``, ``risk``) turns its
    ``missing-field``/``missing-value`` errors into one warning per field, which says how
    to add it for the commands that do.

    Parameters
    ----------
    problems
        Problems of the layers read.
    needed
        The schema fields the command uses.
    command
        The command, for the message.
    """
    keep = set(needed)
    out: list[Problem] = []
    told: set[str] = set()
    for p in problems:
        unused = p.rule in {"missing-field", "missing-value"} and p.field and p.field not in keep
        if not unused:
            out.append(p)
            continue
        if p.field in told:
            continue
        told.add(p.field)
        out.append(
            Problem(
                "warning",
                p.rule,
                _(
                    "some features have no {field}; `pastures {command}` does not use it. "
                    "Other commands do: map it with --field {field}=YOUR_FIELD or give one "
                    "with --default {field}=VALUE (or [layers.fields]/[layers.defaults] in a "
                    "project file)."
                ).format(field=p.field, command=command),
                p.source,
                field=p.field,
            )
        )
    return out


def describe(setup: StudySetup) -> dict[str, Any]:
    """The setup as plain values, for provenance and raster tags."""
    return {
        "area": setup.area.name,
        "bounds_lonlat": list(setup.area.bounds_lonlat),
        "margin_km": setup.area.margin_km,
        "crs": setup.crs,
        "fields": {k: dict(v) for k, v in setup.fields.items()},
        "defaults": {k: dict(v) for k, v in setup.defaults.items()},
        "origin": setup.origin,
    }
