"""One pipeline from a project file: every stage, chained by data, run incrementally.

``pastures run PROJECT.toml`` (and ``pastures demo``, which runs the bundled sample
project) call :func:`run_project`. The stages, in order:

=============  ===========================================================================
layers         read and validate the layers (refusing features outside the study area),
               summarise them per community
vegetation     per-plot index series and trends; on the working grid, the dry-season NDVI
               composite and the true-colour composite of the clearest recent date
forage         production, carrying capacity, stocking and dry-season deficit, from the
               index series
rotation       the grazing plan, on the forage budget
erosion        RUSLE with C from the dry-season composite, grazing pressure from the plan,
               risk per plot; the DEM on the working grid for hillshades
package        one GeoPackage for QGIS with every vector result, styled; provenance.json
map            the offline web map (``map.html``), when :mod:`pastures.webmap` is installed
print          the printed atlas (``atlas/``), when :mod:`pastures.printmap` is installed
=============  ===========================================================================

Each stage takes typed inputs (the results of the stages before it) and returns a
frozen result; its files go where :data:`pastures.outputs.RUN_FILES` says.

**Incremental runs.** Each stage has a key: a SHA-256 of the toolkit's code, the
stage's parameters, the checksums of the files it reads and the keys of the stages
it depends on. ``run_manifest.json`` in the run folder records each stage's key,
files, the SHA-256 of each file as written, and time; a stage whose key is unchanged
is not run again when every file it wrote is still there with the same SHA-256, and
its result is read back from those verified files (Parquet, CSV, GeoPackage) and the
plain JSON of the manifest. Nothing in a run folder is ever unpickled or executed: a
folder from another machine is either reused, when every key and checksum matches,
or recomputed. A damaged manifest means the stages run again, with a warning. An output deleted
or edited since (a table opened and saved in a spreadsheet, a map removed) makes the
stage run again, and the run says why. Checksums of large inputs are cached by size
and modification time; outputs are always read in full.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from pastures import __version__
from pastures import schema as S
from pastures.errors import InputFileError, ParameterError, PasturesError, ValidationError
from pastures.i18n import N_, _
from pastures.layers import Project, load_project
from pastures.outputs import RUN_FILES
from pastures.project import ProjectConfig, real_data_only
from pastures.validation import WorkingArea

if TYPE_CHECKING:
    from pastures.rotation import RotationInputs

logger = logging.getLogger(__name__)

#: The stages of a run, in order, with their one-line titles.
STAGE_TITLES: Final = {
    "layers": N_("Layers: validate, summarise per community"),
    "vegetation": N_("Vegetation: per-plot indices, dry-season and true-colour composites"),
    "forage": N_("Forage: production, carrying capacity, stocking, dry-season deficit"),
    "rotation": N_("Rotation: grazing plan on the forage budget"),
    "erosion": N_("Erosion: RUSLE (C from the dry-season composite), pressure, risk per plot"),
    "package": N_("Package: one styled GeoPackage for QGIS, provenance"),
    "map": N_("Map: offline web map"),
    "print": N_("Print: atlas for the communities"),
}
#: What a stage reads, as its report says it (translated when shown; paths stay).
STAGE_INPUTS: Final = (
    N_("layers: plots, corrals"),
    N_("imagery: synthetic sample scenes"),
    N_("layers: communities, plots, herds"),
    N_("vegetation: index series"),
    N_("pasture-type production defaults"),
    N_("[forage] parameters"),
    N_("layers: plots, corrals, herds"),
    N_("forage: budget"),
    N_("[rotation] horizon"),
    N_("dem: synthetic sample"),
    N_("vegetation: dry-season NDVI composite"),
    N_("C = 1"),
    N_("rotation: plan stocking"),
    N_("no stocking"),
    N_("[risk] settings"),
    N_("every stage's results"),
    N_("run folder"),
    N_("imagery"),
    N_("calibration: quadrat cuts"),
    N_("dem"),
    N_("dry-season NDVI composite"),
    N_("no dry-season composite: C = 1"),
)
STAGES: Final = tuple(STAGE_TITLES)
#: The run's manifest (stage keys, files, plain-JSON results, times), at the run folder's root.
MANIFEST: Final = "run_manifest.json"
#: The one GeoPackage with every vector result (first of outputs.LAYERS_FILES).
GEOPACKAGE: Final = "layers.gpkg"
#: Layers added to it besides the input layers.
PLOT_STATUS_LAYER: Final = "plot_status"
COMMUNITY_BUDGET_LAYER: Final = "community_budget"
#: Files of the layers stage.
SUMMARY_CSV: Final = f"{S.SUMMARY}.csv"
SUMMARY_XLSX: Final = "resumen_comunidades.xlsx"

Status = Literal["ran", "skipped", "not needed", "unavailable"]


# --- results ------------------------------------------------------------------------------


def _without_again(summary: str) -> str:
    """A stage's summary without the "(ran again: ...)" its last run added, in any language."""
    for mark in (" (ran again: ", _(" (ran again: {why})").split("{why}", maxsplit=1)[0]):
        summary = summary.split(mark, maxsplit=1)[0]
    return summary


@dataclass(frozen=True)
class StageReport:
    """What one stage did.

    Attributes
    ----------
    name
        Stage name (a key of :data:`STAGE_TITLES`).
    status
        ``"ran"``, ``"skipped"`` (unchanged since the last run), ``"not needed"`` (the
        project has no input for it) or ``"unavailable"`` (an optional module is missing).
    seconds
        Wall time.
    summary
        One line on the result.
    inputs
        The inputs it used (files, upstream results, parameters).
    files
        Files it wrote (or that an earlier run wrote, when skipped).
    """

    name: str
    status: Status
    seconds: float
    summary: str
    inputs: tuple[str, ...] = ()
    files: tuple[Path, ...] = ()


@dataclass(frozen=True)
class LayersResult:
    """The validated layers and their per-community summary."""

    project: Project
    summary: pd.DataFrame
    files: tuple[Path, ...]


@dataclass(frozen=True)
class VegetationResult:
    """Per-plot index series and the composites on the working grid.

    Attributes
    ----------
    index_table
        Tidy per-plot index series (``pastures indices``).
    dates, usable_dates
        Dates seen and dates clear enough to count.
    browning
        Plots whose NDVI declines significantly.
    ndvi_dry, true_colour
        The composite rasters (None when no dry-season scene had data).
    dry_dates
        Dates of the dry-season composite.
    true_colour_date
        Date of the true-colour composite.
    data_date
        Newest date of the series.
    scene_ids
        Every scene read.
    files
        Files written.
    range_table
        Index series of each community's open range (``RANGE <community>``), computed
        when the project has quadrat cuts (the only way the open range's index becomes
        forage); empty otherwise.
    """

    index_table: pd.DataFrame
    dates: int
    usable_dates: int
    browning: tuple[str, ...]
    ndvi_dry: Path | None
    true_colour: Path | None
    dry_dates: tuple[dt.date, ...]
    true_colour_date: dt.date | None
    data_date: dt.date | None
    scene_ids: tuple[str, ...]
    files: tuple[Path, ...]
    #: Index series of the open ranges (with quadrat cuts only; empty otherwise).
    range_table: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class ForageResult:
    """The forage budget (:class:`pastures.forage.ForageBudget`) and its files."""

    budget: Any
    files: tuple[Path, ...]


@dataclass(frozen=True)
class RotationResult:
    """The grazing plan, its schedule and the stocking it puts on each plot."""

    plan: Any
    schedule: pd.DataFrame
    stocking: pd.DataFrame
    files: tuple[Path, ...]


@dataclass(frozen=True)
class ErosionResult:
    """The plots' risk table and what the C factor came from."""

    plots: gpd.GeoDataFrame
    total_soil_loss_t_yr: float
    cover_source: str
    files: tuple[Path, ...]


@dataclass(frozen=True)
class RunResult:
    """A finished run: the folder, what each stage did, and the results."""

    folder: Path
    config: ProjectConfig
    reports: tuple[StageReport, ...]
    layers: LayersResult
    vegetation: VegetationResult | None
    forage: ForageResult | None
    rotation: RotationResult | None
    erosion: ErosionResult | None

    @property
    def seconds(self) -> float:
        """Total wall time of the stages."""
        return sum(r.seconds for r in self.reports)


# --- keys and checksums ------------------------------------------------------------------


def _code_digest() -> str:
    """SHA-256 of the toolkit's source files: a new version or edit reruns every stage."""
    digest = hashlib.sha256(__version__.encode())
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class Checksums:
    """SHA-256 of input files, cached by (size, modification time) between runs."""

    def __init__(self, cache: Mapping[str, Any] | None = None):
        self.cache: dict[str, Any] = dict(cache or {})
        self.used: dict[str, str] = {}

    def file(self, path: Path) -> str:
        """Checksum of one file."""
        p = Path(path).resolve()
        st = p.stat()
        stamp = [st.st_size, st.st_mtime_ns]
        hit = self.cache.get(str(p))
        if hit and hit[0] == stamp:
            value = str(hit[1])
        else:
            digest = hashlib.sha256()
            with p.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            value = digest.hexdigest()
            self.cache[str(p)] = [stamp, value]
        self.used[str(p)] = value
        return value

    def path(self, path: Path) -> str:
        """Checksum of a file, or of every file of a folder (names and contents)."""
        p = Path(path)
        if p.is_dir():
            digest = hashlib.sha256()
            for f in sorted(q for q in p.rglob("*") if q.is_file()):
                digest.update(f.relative_to(p).as_posix().encode())
                digest.update(self.file(f).encode())
            return digest.hexdigest()
        if p.suffix.lower() == ".shp":  # a shapefile is its sidecars too
            digest = hashlib.sha256()
            for f in sorted(p.parent.glob(f"{p.stem}.*")):
                digest.update(self.file(f).encode())
            return digest.hexdigest()
        return self.file(p)


def _jsonable(value: Any) -> Any:  # noqa: PLR0911 - one return per kind of value
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _key(*parts: Any) -> str:
    text = json.dumps(_jsonable(parts), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


# --- the manifest -------------------------------------------------------------------------


@dataclass
class _Manifest:
    folder: Path
    stages: dict[str, Any] = field(default_factory=dict)
    checksums: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, folder: Path) -> _Manifest:
        """The manifest of a run folder; an empty one when it is missing or damaged.

        A damaged manifest (not JSON, or not the shape this module writes) is no
        reason to stop: the stages it no longer vouches for simply run again.
        """
        path = folder / MANIFEST
        if not path.is_file():
            return cls(folder)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            logger.warning(_("%s cannot be read (%s): every stage runs again."), path, exc)
            return cls(folder)
        if not isinstance(data, dict):
            logger.warning(
                _("%s holds %s, not the manifest's object: every stage runs again."),
                path,
                type(data).__name__,
            )
            return cls(folder)
        stages = data.get("stages")
        stages = stages if isinstance(stages, dict) else {}
        good = {k: v for k, v in stages.items() if isinstance(v, dict)}
        if len(good) != len(stages) or not isinstance(data.get("stages"), dict):
            logger.warning(
                _("%s: field 'stages' is damaged (%s): those stages run again."),
                path,
                ", ".join(sorted(set(stages) - set(good))) or "not an object",
            )
        checksums = data.get("checksums")
        checksums = {
            k: v
            for k, v in (checksums.items() if isinstance(checksums, dict) else ())
            if isinstance(v, list) and len(v) == 2
        }
        return cls(folder, good, checksums)

    def write(self) -> None:
        from pastures.io import atomic_output

        data = {"pastures": __version__, "stages": self.stages, "checksums": self.checksums}
        with atomic_output(self.folder / MANIFEST) as tmp:
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")

    def cached(self, stage: str, key: str) -> tuple[dict[str, Any] | None, str]:  # noqa: PLR0911 - one per reason
        """The manifest entry of `stage` if its key matches and its outputs are intact.

        Returns the entry (None when the stage must run) and why it must run: a new
        key (inputs, parameters or code changed), or an output of the last run that
        was deleted or no longer matches the SHA-256 recorded when it was written.
        The entry's ``result`` is plain JSON; the stage's result is rebuilt from it
        and from the verified files.
        """
        entry = self.stages.get(stage)
        if not entry:
            return None, _("first run")
        if entry.get("key") != key:
            return None, _("its inputs, parameters or the toolkit changed")
        recorded = entry.get("sha256")
        files = entry.get("files")
        if not isinstance(recorded, dict) or not isinstance(files, list):
            return None, _("its entry in {manifest} is damaged").format(manifest=MANIFEST)
        for name in files:
            if not isinstance(name, str) or Path(name).is_absolute() or ".." in Path(name).parts:
                why = _("its entry in {manifest} names a file outside the run folder")
                return None, why.format(manifest=MANIFEST)
            path = self.folder / name
            if not path.is_file():
                return None, _("its output {name} was deleted").format(name=name)
            if name not in recorded:
                return None, _("no checksum recorded for its output {name}").format(name=name)
            if _sha256(path) != recorded[name]:
                return None, _("its output {name} was changed since it was written").format(
                    name=name
                )
        if not isinstance(entry.get("result"), dict):
            return None, _("no result recorded in {manifest}").format(manifest=MANIFEST)
        return entry, ""

    def store(self, stage: str, key: str, record: dict[str, Any], report: StageReport) -> None:
        files = [_rel(p, self.folder) for p in report.files]
        self.stages[stage] = {
            "key": key,
            "result": _jsonable(record),
            "files": files,
            # the outputs as written: a later run re-verifies them before skipping the stage
            "sha256": {f: _sha256(self.folder / f) for f in files if (self.folder / f).is_file()},
            "seconds": round(report.seconds, 3),
            "summary": report.summary,
            "inputs": list(report.inputs),
            "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }


def _sha256(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _rel(path: Path, folder: Path) -> str:
    p = Path(path)
    try:
        return p.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return p.as_posix()


# --- the stages -----------------------------------------------------------------------------


def working_area(config: ProjectConfig) -> WorkingArea:
    """The area the project's layers must lie in (for :func:`pastures.layers.load_project`)."""
    from pastures.studyarea import working_area as of_study_area

    return of_study_area(config.study_area)


def read_layers(config: ProjectConfig) -> Project:
    """Read and validate the project's layers (warnings logged).

    Raises
    ------
    ValidationError
        Any error in the layers (every problem listed).
    """
    files = {k: str(v) for k, v in config.layers.paths().items()}
    project = load_project(
        **files,  # type: ignore[arg-type]
        crs=config.study_area.crs,
        assume_crs=config.layers.assume_crs,
        repair=config.layers.repair,
        area=working_area(config),
        defaults=config.layers.defaults,
        fields=config.layers.fields,
        overlap_tolerance_m2=config.layers.overlap_tolerance_m2,
    )
    for p in project.problems:
        if p.severity == "warning":
            logger.warning("%s", p)
    project.raise_for_errors()
    return project


def layers_from(config: ProjectConfig, files: tuple[Path, ...]) -> LayersResult:
    """The layers result of an unchanged stage: the inputs (checksummed in its key) re-read."""
    from pastures.summary import community_summary

    project = read_layers(config)
    return LayersResult(project=project, summary=community_summary(project), files=files)


def run_layers(config: ProjectConfig, folder: Path) -> LayersResult:
    """Read and validate the project's layers; write the per-community summary.

    Raises
    ------
    ValidationError
        Any error in the layers (every problem listed).
    """
    from pastures.i18n import translator
    from pastures.io import write_table
    from pastures.summary import community_summary

    project = read_layers(config)
    folder.mkdir(parents=True, exist_ok=True)  # only once the layers are known to be good
    table = community_summary(project)
    rounded = table.round({S.PLOTS_HA: 2})
    tr = translator(config.language)
    headings = {column: tr.gettext(label) for column, label in S.SUMMARY_LABELS.items()}
    written = [
        write_table(rounded, folder / SUMMARY_CSV),
        write_table(
            rounded.rename(columns=headings),
            folder / SUMMARY_XLSX,
            sheet=tr.pgettext("sheet", "summary"),
        ),
    ]
    return LayersResult(project=project, summary=table, files=tuple(written))


def working_grid(config: ProjectConfig) -> Any:
    """The project's working grid (:class:`pastures.imagery.Grid`): the study area's box."""
    from pastures.composites import working_grid as grid_of

    area = config.study_area
    return grid_of(area.bounds_in_crs(), area.crs, area.resolution_m)


def _progress(enabled: bool, desc: str) -> Callable[[Iterable[Any]], Iterable[Any]] | None:
    if not enabled:
        return None

    def wrap(items: Iterable[Any]) -> Iterable[Any]:
        from tqdm import tqdm

        total = len(items) if hasattr(items, "__len__") else None  # type: ignore[arg-type]
        return tqdm(items, total=total, desc=desc, unit=" " + _("dates"), leave=False)

    return wrap


def _log_above_bars(enabled: bool) -> contextlib.AbstractContextManager[Any]:
    """While progress bars run, log lines (of any thread) go above the bar, not into it."""
    if not enabled:
        return contextlib.nullcontext()
    from tqdm.contrib.logging import logging_redirect_tqdm

    return logging_redirect_tqdm(loggers=[logging.getLogger("pastures")])


def sample_scene_folder() -> Path:
    """Where the synthetic sample scenes are made: a per-user cache, kept between runs.

    The scenes are inputs, made deterministically from the plots, corrals, dates and
    seed, so every run folder of the same project can share them; each set of inputs
    has its own subfolder, made whole before it is used
    (:func:`pastures.sample_imagery.make_sample_scenes` with ``per_inputs``).
    ``$PASTURES_CACHE_DIR`` (default ``$XDG_CACHE_HOME/pastures`` or
    ``~/.cache/pastures``) says where.
    """
    root = os.environ.get("PASTURES_CACHE_DIR") or (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pastures"
    )
    return Path(root) / "sample-scenes"


def _scenes(config: ProjectConfig, folder: Path, layers: LayersResult) -> tuple[list[Any], str]:
    from pastures.imagery import load_scenes

    img = config.imagery
    if img.source == "sample":
        from pastures.sample_imagery import make_sample_scenes

        items = make_sample_scenes(
            layers.project.plots,
            layers.project.corrals,
            sample_scene_folder(),
            start=img.start,
            end=img.end,
            per_inputs=True,
        )
        scenes, problems = load_scenes(items)
        label = _("{n} SYNTHETIC sample scenes {start} to {end} in {folder}").format(
            n=len(items), start=img.start, end=img.end, folder=items[0].parent
        )
    else:
        scenes, problems = load_scenes([str(p) for p in img.scenes])
        label = _("{n} scenes from {names}").format(
            n=len(scenes), names=", ".join(p.name for p in img.scenes)
        )
    for p in problems:
        logger.warning("%s", p)
    if not scenes:
        raise InputFileError(
            _(
                "{path}: [imagery] gives no usable scene ({problems} problem(s) listed above)."
            ).format(path=config.path, problems=len(problems))
        )
    return scenes, label


def run_vegetation(
    config: ProjectConfig,
    folder: Path,
    layers: LayersResult,
    *,
    tags: Mapping[str, str] | None = None,
    progress: bool = False,
) -> VegetationResult:
    """Per-plot index series, then the two composites on the working grid.

    The same scenes feed both: the index tables (``indices/``) and, for the dry
    months of the latest season, the median NDVI composite and the true colour of
    its clearest date (:func:`pastures.composites.dry_season_composite`).
    """
    from pastures.composites import dry_season_composite, write_ndvi, write_true_colour
    from pastures.writers import write_index_tables

    veg = config.vegetation
    scenes, label = _scenes(config, folder, layers)
    logger.info(_("vegetation: %s"), label)
    grid = working_grid(config)

    def composites() -> tuple[Any, Any] | None:
        try:
            return dry_season_composite(scenes, grid, months=veg.dry_months)
        except InputFileError as exc:
            logger.warning(_("No dry-season composite: %s"), exc)
            return None

    # The composites read the same scenes as the index series, on the whole grid; both
    # spend most of their time in GDAL reads and numpy, which release the GIL, so a
    # second thread overlaps them on a machine with a free core.
    with ThreadPoolExecutor(max_workers=1) as pool, _log_above_bars(progress):
        pending = pool.submit(composites)
        done = write_index_tables(
            layers.project.plots,
            scenes,
            folder / "indices",
            indices=veg.indices,
            edge_rule=veg.edge_rule,  # type: ignore[arg-type]
            min_valid=veg.min_valid,
            progress=_progress(progress, _("indices")) or False,
            scheduler=veg.scheduler,
            workers=veg.workers,
        )
        made = pending.result()
    table = done.table if done.table is not None else pd.DataFrame()
    files = list(done.files)
    range_table = pd.DataFrame()
    if config.calibration.cuts is not None:
        range_table, range_file = open_range_series(config, folder, layers.project, scenes)
        if range_file is not None:
            files.append(range_file)
    ndvi_path = colour_path = None
    colour_date = None
    dry_dates: tuple[dt.date, ...] = ()
    if made is not None:
        ndvi, colour = made
        dry_dates = ndvi.dates
        ndvi_path = write_ndvi(folder / RUN_FILES["ndvi_dry"], ndvi, tags=dict(tags or {}))
        files.append(ndvi_path)
        if colour is not None:
            colour_path = write_true_colour(
                folder / RUN_FILES["true_colour"], colour, tags=dict(tags or {})
            )
            colour_date = colour.dates[0]
            files.append(colour_path)
    dates = pd.to_datetime(table[S.DATE]) if len(table) else pd.Series([], dtype="datetime64[ns]")
    return VegetationResult(
        index_table=table,
        dates=done.dates,
        usable_dates=done.usable_dates,
        browning=tuple(done.browning),
        ndvi_dry=ndvi_path,
        true_colour=colour_path,
        dry_dates=dry_dates,
        true_colour_date=colour_date,
        data_date=dates.max().date() if len(dates) else None,
        scene_ids=tuple(s.scene_id for s in scenes),
        files=tuple(files),
        range_table=range_table,
    )


def open_range_series(
    config: ProjectConfig, folder: Path, project: Project, scenes: list[Any]
) -> tuple[pd.DataFrame, Path | None]:
    """The forage index over each community's open range, written to ``indices/``.

    The open range (community minus its plots, :func:`pastures.forage.open_range_polygons`)
    is measured with the plots' edge rule; only the forage index is computed.
    """
    from pastures.forage import open_range_polygons
    from pastures.io import write_table
    from pastures.zonal import index_series

    ranges = open_range_polygons(project)
    if not len(ranges):
        return pd.DataFrame(), None
    index = config.forage_params().index
    series = index_series(
        ranges,
        scenes,
        indices=(index,),
        edge_rule=config.vegetation.edge_rule,  # type: ignore[arg-type]
    )
    table = series.table
    valid = table[(table[S.INDEX] == index) & (table[S.STATISTIC] == S.STAT_VALID_FRACTION)]
    clear = valid[valid[S.VALUE] >= config.vegetation.min_valid]
    logger.info(
        _(
            "open ranges: %d of %d have a date at least %.0f %% clear (the others keep the "
            "default production)"
        ),
        clear[S.PLOT_CODE].nunique(),
        len(ranges),
        100 * config.vegetation.min_valid,
    )
    path = write_table(table, folder / RUN_FILES["range_series"])
    return table, path


def run_forage(
    config: ProjectConfig,
    folder: Path,
    layers: LayersResult,
    vegetation: VegetationResult | None,
) -> ForageResult:
    """The forage budget on the index series (pasture-type defaults without imagery).

    With ``[calibration] cuts``, the index-biomass relation of each pasture type is
    fitted to the field quadrat cuts (:func:`pastures.forage.fit_calibration`), each cut
    paired with its plot's index on the nearest usable image date.

    Raises
    ------
    ValidationError
        A cut that cannot be used (outside every plot, no image date near it, a
        biomass that is not a number): every bad row, naming the file and the row.
    """
    from pastures.writers import write_budget

    budget = forage_budget_of(config, layers, vegetation)
    files = write_budget(budget, folder / "forage", communities=layers.project.communities)
    return ForageResult(budget=budget, files=tuple(files))


def forage_budget_of(
    config: ProjectConfig, layers: LayersResult, vegetation: VegetationResult | None
) -> Any:
    """The forage budget of :func:`run_forage`, computed in memory (nothing written)."""
    from pastures.forage import forage_budget

    params = config.forage_params()
    index_table = vegetation.index_table if vegetation is not None else None
    calibration = None
    if config.calibration.cuts is not None and index_table is not None:
        calibration = fit_cuts(config, layers.project, index_table, params)
    return forage_budget(
        layers.project,
        index_table=index_table,
        calibration=calibration,
        params=params,
        range_index_table=vegetation.range_table if vegetation is not None else None,
    )


def fit_cuts(
    config: ProjectConfig, project: Project, index_table: pd.DataFrame, params: Any
) -> Any:
    """Fit the index-biomass relations to the project's quadrat cuts.

    Returns
    -------
    pastures.forage.Calibration

    Raises
    ------
    ValidationError
        Any cut that cannot be used (every bad row listed), or too few usable cuts.
    """
    from pastures.forage import calibrate_from_cuts

    cal = config.calibration
    assert cal.cuts is not None
    try:
        calibration, warnings = calibrate_from_cuts(
            cal.cuts,
            project.plots,
            index_table,
            index=params.index,
            form=None if cal.form == "best" else cal.form,  # type: ignore[arg-type]
            max_days=cal.max_days,
            coords_crs=cal.crs,
            min_valid_fraction=params.min_valid_fraction,
        )
    except ParameterError as exc:
        raise ParameterError(
            _("{exc} ([calibration] cuts of {name})").format(exc=exc, name=config.path.name)
        ) from exc
    for p in warnings:
        logger.warning("%s", p)
    return calibration


def stocking_from_schedule(schedule: pd.DataFrame, budget: Any, horizon_days: int) -> pd.DataFrame:
    """Mean UO the plan puts on each plot over its horizon, against the plot's capacity.

    Parameters
    ----------
    schedule
        :func:`pastures.rotation_io.schedule_table` of a plan.
    budget
        The :class:`pastures.forage.ForageBudget` (capacity per plot, UO).
    horizon_days
        Length of the plan (days).

    Returns
    -------
    pandas.DataFrame
        ``plot_code``, ``stocking_uo``, ``capacity_uo``: the table
        :func:`pastures.erosion.grazing_pressure` takes.
    """
    plots = schedule[schedule[S.LOCATION_KIND] == "plot"]
    load = S.UO if S.UO in plots.columns else S.HERD_UO  # whole groups (issue 18) or herds
    uo_days = (plots[load] * plots[S.DAYS]).groupby(plots[S.LOCATION_ID]).sum()
    table = budget.plots[[S.PLOT_CODE, S.CAPACITY_UO]].copy()
    table[S.STOCKING_UO] = table[S.PLOT_CODE].map(uo_days / horizon_days).fillna(0.0)
    return pd.DataFrame(table[[S.PLOT_CODE, S.STOCKING_UO, S.CAPACITY_UO]])


def data_date_of(vegetation: VegetationResult | None) -> dt.date | None:
    """Latest image date of the vegetation stage (None without imagery)."""
    return vegetation.data_date if vegetation is not None else None


def plan_start(config: ProjectConfig, data_date: dt.date | None) -> dt.date:
    """First day of the plan: ``[rotation] start``, else the Monday after the data date.

    The plan's starting stock on each plot is the forage budget's standing stock at the
    latest image date, so a plan that starts right after that date starts on the stock
    the imagery saw. Without imagery (no data date) the fixed default of
    :data:`pastures.rotation.model.DEFAULT_START`.
    """
    from pastures.rotation.model import DEFAULT_START

    if config.rotation.start is not None:
        return config.rotation.start
    if data_date is None:
        return DEFAULT_START
    return data_date + dt.timedelta(days=7 - data_date.weekday())


def past_plan(start: dt.date, days: int, today: dt.date) -> str | None:
    """What to tell a planner whose plan of `days` days from `start` ended before `today`."""
    end = start + dt.timedelta(days=days - 1)
    if end >= today:
        return None
    return (
        f"The grazing plan runs from {start.isoformat()} to {end.isoformat()}, which is "
        "already past: set [rotation] start in the project file (or give imagery up to "
        "now) to plan the coming season."
    )


def rotation_inputs(
    config: ProjectConfig,
    layers: LayersResult,
    forage: ForageResult,
    data_date: dt.date | None = None,
) -> RotationInputs:
    """Planner inputs on the forage budget of the vegetation indices (see :func:`plan_start`)."""
    from pastures.rotation import rotation_inputs_from_project

    rot = config.rotation
    start = plan_start(config, data_date)
    late = past_plan(start, rot.periods * rot.period_days, dt.date.today())
    if late:  # a log line only: the outputs do not depend on the clock
        logger.warning("%s", late)
    return rotation_inputs_from_project(
        layers.project,
        budget=forage.budget,
        n_periods=rot.periods,
        period_days=rot.period_days,
        start=start,
    )


def plan_summary(plan: Any) -> str:
    """One line on a grazing plan: size, how it was solved, forage it lacks."""
    inp = plan.inputs
    who = (
        _("{n} grazing groups").format(n=len(plan.groups))
        if hasattr(plan, "groups")
        else _("{n} herd groups").format(n=len(inp.herds))
    )
    parts = [
        _("{who}, {n} periods of {days} days").format(
            who=who, n=inp.n_periods, days=inp.period_days
        )
    ]
    how = getattr(plan, "status", None) or getattr(plan, "solver", "")
    gap = getattr(plan, "gap", None)
    if gap is not None and np.isfinite(gap):
        # the solver's status is of its plan in UO; the gap is of the plan people follow
        how = (
            _("whole groups within {gap} of the solver's bound (solver: {status})").format(
                gap=f"{gap:.1%}", status=_(str(how))
            )
            if hasattr(plan, "groups")
            else _("{status}, gap {gap}").format(status=how, gap=f"{gap:.1%}")
        )
    parts.append(how)
    if getattr(plan, "fodder_kg", None) is not None:
        parts.append(
            _("fodder or destocking {t} t DM").format(
                t=f"{float(np.sum(plan.fodder_kg)) / 1000:,.0f}"
            )
        )
    elif getattr(plan, "breakdown", None) is not None:
        parts.append(
            _("forage shortfall {t} t DM").format(t=f"{plan.breakdown.shortfall_kg / 1000:,.0f}")
        )
    return "; ".join(parts)


def run_rotation(
    config: ProjectConfig,
    folder: Path,
    layers: LayersResult,
    forage: ForageResult,
    data_date: dt.date | None = None,
) -> RotationResult:
    """Plan the grazing on the forage budget; write schedule, calendar and chart."""
    from pastures.rotation import place_groups, plan_rotation
    from pastures.rotation_io import schedule_table, write_plan_outputs

    inputs = rotation_inputs(config, layers, forage, data_date)
    plan = plan_rotation(inputs)
    groups = place_groups(plan)
    files = write_plan_outputs(
        groups,
        folder / "rotation",
        language=config.language,
        units=forage.budget.params.units,
    )
    schedule = schedule_table(groups)
    horizon = int(plan.inputs.n_periods * plan.inputs.period_days)
    stocking = stocking_from_schedule(schedule, forage.budget, horizon)
    return RotationResult(plan=groups, schedule=schedule, stocking=stocking, files=tuple(files))


def _dem_on_grid(config: ProjectConfig) -> tuple[Any, str]:
    """The DEM on the working grid, and where it came from."""
    from pastures.composites import grid_bounds
    from pastures.terrain import Dem, read_raster_on_grid

    grid = working_grid(config)
    if config.dem.source == "sample":
        from pastures.sample_terrain import make_sample_dem

        terrain = make_sample_dem(
            resolution=grid.resolution, bounds=grid_bounds(grid), crs=str(grid.crs)
        )
        dem = terrain.dem
        if dem.shape != grid.shape:  # rounding of the box: keep the working grid's shape
            elevation = np.full(grid.shape, np.nan, dtype=np.float32)
            r, c = min(dem.shape[0], grid.shape[0]), min(dem.shape[1], grid.shape[1])
            elevation[:r, :c] = dem.elevation[:r, :c]
            dem = Dem(elevation, grid.transform, grid.crs)
        return dem, "SYNTHETIC sample terrain (pastures.sample_terrain), illustrative"
    assert config.dem.path is not None
    template = Dem(np.zeros(grid.shape, dtype=np.float32), grid.transform, grid.crs)
    elevation = read_raster_on_grid(config.dem.path, template, name="DEM")
    return Dem(elevation, grid.transform, grid.crs), f"DEM {config.dem.path.name}"


def run_erosion(
    config: ProjectConfig,
    folder: Path,
    layers: LayersResult,
    vegetation: VegetationResult | None,
    rotation: RotationResult | None,
    *,
    tags: Mapping[str, str] | None = None,
) -> ErosionResult:
    """RUSLE soil loss with C from the dry-season composite; pressure from the plan.

    Raises
    ------
    ParameterError
        No dry-season composite and no C value in ``[risk.rusle]``.
    """
    import warnings

    import rasterio

    from pastures.erosion import assess_risk
    from pastures.errors import PasturesWarning
    from pastures.terrain import write_cog
    from pastures.writers import write_risk_outputs

    settings = config.risk_settings()
    dem, dem_source = _dem_on_grid(config)
    ndvi = None
    cover_source = "no dry-season composite: C = 1 (bare soil, the upper bound)"
    cover: float | None = 1.0
    if vegetation is not None and vegetation.ndvi_dry is not None:
        with rasterio.open(vegetation.ndvi_dry) as src:
            ndvi = src.read(1)
        cover = None
        cover_source = (
            f"dry-season NDVI composite ({len(vegetation.dry_dates)} dates, "
            f"{vegetation.dry_dates[0]} to {vegetation.dry_dates[-1]}), van der Knijff 2000"
        )
    meta = {
        **dict(tags or {}),
        "DEM_SOURCE": dem_source,
        "C_FACTOR_SOURCE": cover_source,
        "EROSIVITY_R": f"{settings.rusle.erosivity:.0f} MJ mm/ha/h/yr",
        "ERODIBILITY_K": f"{settings.rusle.erodibility:g} t ha h/ha/MJ/mm",
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PasturesWarning)
        result = assess_risk(
            dem,
            layers.project.plots,
            ndvi=ndvi,
            cover=cover,
            stocking=rotation.stocking if rotation is not None else None,
            corrals=layers.project.corrals,
            water_points=layers.project.water_points,
            params=settings.rusle,
            pressure=settings.pressure,
            thresholds=settings.thresholds,
            practices=settings.practices,
            language=config.language,
        )
    for w in caught:
        logger.warning("%s", w.message)
    written = write_risk_outputs(result, folder / "risk", tags=meta)
    dem_file = write_cog(
        folder / RUN_FILES["dem"],
        dem.elevation,
        dem.transform,
        dem.crs,
        description="elevation (m) on the working grid",
        tags={**dict(tags or {}), "DEM_SOURCE": dem_source},
    )
    return ErosionResult(
        plots=result.plots,
        total_soil_loss_t_yr=float(result.total_soil_loss_t_yr),
        cover_source=cover_source,
        files=(*written.values(), dem_file),
    )


# --- package: one GeoPackage, provenance ---------------------------------------------------


def plot_status_layer(
    layers: LayersResult,
    vegetation: VegetationResult | None,
    forage: ForageResult | None,
    rotation: RotationResult | None,
    erosion: ErosionResult | None,
) -> gpd.GeoDataFrame:
    """The plots with their latest indices, forage, plan stocking and risk, one row each."""
    plots = layers.project.plots.copy()
    table = pd.DataFrame({S.PLOT_CODE: plots[S.PLOT_CODE].astype(str)})
    if vegetation is not None and len(vegetation.index_table):
        t = vegetation.index_table
        t = t[t[S.STATISTIC] == S.STAT_MEAN].dropna(subset=[S.VALUE])
        t = t.sort_values(S.DATE).groupby([S.PLOT_CODE, S.INDEX]).tail(1)
        wide = t.pivot_table(index=S.PLOT_CODE, columns=S.INDEX, values=S.VALUE, aggfunc="first")
        wide.columns = [f"{c}_latest" for c in wide.columns]
        last = t.groupby(S.PLOT_CODE)[S.DATE].max().astype(str).rename("index_date")
        wide = wide.join(last).reset_index()
        wide[S.PLOT_CODE] = wide[S.PLOT_CODE].astype(str)
        table = table.merge(wide, on=S.PLOT_CODE, how="left")
    if forage is not None:
        f = pd.DataFrame(forage.budget.plots.drop(columns="geometry"))
        keep = [c for c in f.columns if c not in plots.columns or c == S.PLOT_CODE]
        f = f[keep].assign(**{S.PLOT_CODE: f[S.PLOT_CODE].astype(str)})
        table = table.merge(f, on=S.PLOT_CODE, how="left")
    if rotation is not None:
        s = rotation.stocking[[S.PLOT_CODE, S.STOCKING_UO]].rename(
            columns={S.STOCKING_UO: "plan_stocking_uo"}
        )
        table = table.merge(s.assign(**{S.PLOT_CODE: s[S.PLOT_CODE].astype(str)}), how="left")
    if erosion is not None:
        r = pd.DataFrame(erosion.plots.drop(columns="geometry"))
        keep = [c for c in r.columns if c not in table.columns or c == S.PLOT_CODE]
        keep = [c for c in keep if c not in plots.columns or c == S.PLOT_CODE]
        r = r[keep].assign(**{S.PLOT_CODE: r[S.PLOT_CODE].astype(str)})
        table = table.merge(r, on=S.PLOT_CODE, how="left")
    table = table.drop_duplicates(S.PLOT_CODE)
    out = plots.assign(**{S.PLOT_CODE: plots[S.PLOT_CODE].astype(str)}).merge(
        table, on=S.PLOT_CODE, how="left"
    )
    return gpd.GeoDataFrame(out, geometry="geometry", crs=plots.crs)


def write_geopackage(
    folder: Path,
    layers: LayersResult,
    *,
    vegetation: VegetationResult | None,
    forage: ForageResult | None,
    rotation: RotationResult | None,
    erosion: ErosionResult | None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """One GeoPackage with every vector result, styled for QGIS when styles are available.

    Layers: the four input layers, ``plot_status`` (plots with latest indices, forage,
    plan stocking and risk) and ``community_budget`` (communities with their forage
    budget). Styles and the metadata table come from :mod:`pastures.styles` when it is
    installed; otherwise the layers are written unstyled.
    """
    p = layers.project
    vectors: dict[str, gpd.GeoDataFrame] = {
        S.COMMUNITIES: p.communities,
        S.PLOTS: p.plots,
        S.CORRALS: p.corrals,
        S.WATER_POINTS: p.water_points,
        PLOT_STATUS_LAYER: plot_status_layer(layers, vegetation, forage, rotation, erosion),
    }
    if forage is not None and len(p.communities):
        from pastures.writers import budget_communities_layer

        vectors[COMMUNITY_BUDGET_LAYER] = budget_communities_layer(forage.budget, p.communities)
    vectors = {k: v for k, v in vectors.items() if len(v) or k in S.LAYER_KINDS}
    path = folder / GEOPACKAGE
    try:
        from pastures.styles import write_styled_geopackage
    except ImportError:
        from pastures.io import write_layers

        logger.info(_("pastures.styles is not installed: GeoPackage written without styles"))
        return write_layers(vectors, path)
    styles = {PLOT_STATUS_LAYER: "plots", COMMUNITY_BUDGET_LAYER: "communities"}
    return Path(
        write_styled_geopackage(
            vectors,
            path,
            styles={k: v for k, v in styles.items() if k in vectors},
            metadata=dict(metadata or {}),
        )
    )


def module_defaults(config: ProjectConfig) -> dict[str, str]:
    """The forage, risk and plan-start parameters the project file left out, with their source.

    Each default's source is the documented dataclass of its module (where the
    docstring cites the literature).
    """
    from dataclasses import fields

    out: dict[str, str] = {}
    if config.rotation.start is None:
        out["rotation.start"] = (
            "the Monday after the latest image date; 2026-01-05 without imagery "
            "(pastures.pipeline.plan_start)"
        )
    forage = config.forage_params()
    for f in fields(forage):
        if f.name not in config.forage:
            value = _jsonable(getattr(forage, f.name))
            out[f"forage.{f.name}"] = f"{value} (pastures.forage.ForageParams)"
    risk = config.risk_settings()
    for section, obj in (
        ("rusle", risk.rusle),
        ("practices", risk.practices),
        ("pressure", risk.pressure),
        ("risk", risk.thresholds),
    ):
        given = config.risk.get(section, {})
        for f in fields(obj):
            if f.name not in given and f.name != "cover":
                value = _jsonable(getattr(obj, f.name))
                out[f"risk.{section}.{f.name}"] = f"{value} (pastures.erosion.{type(obj).__name__})"
    return out


#: Defaults that are facts of Juli (SENAMHI Juli normals, the altiplano seasons), by the
#: project file key that overrides each, with what the default is.
JULI_DEFAULTS: Final = {
    "vegetation.dry_months": "the dry months of the Juli normals, June-October",
    "forage.monthly_rain_mm": "the SENAMHI Juli rain normals 1991-2020 (growth profile)",
    "forage.wet_months": "the Juli rainy season, December-March",
    "forage.budget_month": "August, start of Juli's critical late dry season",
    "risk.rusle.erosivity": "R from the SENAMHI Juli rain normals (modified Fournier)",
}


def juli_defaults_used(config: ProjectConfig) -> dict[str, str]:
    """The Juli climate defaults a project outside Juli takes, with what each is.

    A study area clear of the district of Juli that leaves these keys out runs on the
    documented Juli values; :func:`run_project` warns about each, naming the key that
    sets it, and provenance records it. Empty for an area that overlaps the district's
    box, or when the file sets them all.
    """
    w, s, e, n = config.study_area.bounds_lonlat
    jw, js, je, jn = S.JULI_BOUNDS_LONLAT
    if config.study_area.is_juli or (w < je and jw < e and s < jn and js < n):
        return {}  # Juli, or an area that reaches into the district
    given = {
        "vegetation": set(config.vegetation_given),
        "forage": set(config.forage),
        "risk": set(config.risk.get("rusle", {})),
    }
    out = {}
    for key, what in JULI_DEFAULTS.items():
        section, name = key.split(".")[0], key.rsplit(".", 1)[-1]
        if name not in given[section]:
            out[key] = what
        elif _at_juli_value(config, key):  # set, but to Juli's own value
            out[key] = f"{what} (set to Juli's value)"
    return out


def _at_juli_value(config: ProjectConfig, key: str) -> bool:
    """True when the project file sets `key` of :data:`JULI_DEFAULTS` to Juli's value."""
    from pastures.erosion import RusleParams
    from pastures.forage import ForageParams
    from pastures.project import DEFAULT_DRY_MONTHS

    name = key.rsplit(".", 1)[-1]
    if key == "vegetation.dry_months":
        return tuple(config.vegetation.dry_months) == tuple(DEFAULT_DRY_MONTHS)
    if key == "risk.rusle.erosivity":
        given = config.risk_settings().rusle.erosivity
        return abs(given - RusleParams().erosivity) < 1.0
    value, juli = getattr(config.forage_params(), name), getattr(ForageParams(), name)
    return _jsonable(value) == _jsonable(juli)


def provenance(
    config: ProjectConfig,
    checksums: Mapping[str, str],
    reports: Iterable[StageReport],
    *,
    data_date: dt.date | None,
) -> dict[str, Any]:
    """The run's provenance record: version, parameters, input checksums, defaults used.

    Uses :func:`pastures.provenance.provenance_record` when it is installed, and adds
    the run's own keys (``illustrative``, ``data_date``, ``stages``).
    """
    parameters = {
        "project_file": config.path.as_posix(),
        "study_area": _jsonable(config.study_area),
        "layers": {
            "fields": _jsonable(config.layers.fields),
            "defaults": _jsonable(config.layers.defaults),
            "overlap_tolerance_m2": config.layers.overlap_tolerance_m2,
            "assume_crs": config.layers.assume_crs,
            "repair": config.layers.repair,
        },
        "imagery": _jsonable(config.imagery),
        "dem": _jsonable(config.dem),
        "vegetation": _jsonable(config.vegetation),
        "forage": _jsonable(config.forage),
        "calibration": _jsonable(config.calibration),
        "rotation": _jsonable(config.rotation),
        "risk": _jsonable(config.risk),
    }
    defaults = {**dict(config.defaults_used), **module_defaults(config)}
    if config.rotation.start is None:  # the rule, with the date it gave in this run
        defaults["rotation.start"] = (
            f"{plan_start(config, data_date)} ("
            + (
                f"the Monday after the latest image date, {data_date}"
                if data_date is not None
                else "no imagery: the fixed 2026-01-05"
            )
            + "; pastures.pipeline.plan_start)"
        )
    for key, what in juli_defaults_used(config).items():
        defaults[key] = f"{defaults.get(key, what)} [JULI DEFAULT used in {config.study_area.name}]"
    try:
        from pastures.provenance import provenance_record
    except ImportError:  # until pastures.provenance lands: the same record, made here
        record: dict[str, Any] = {
            "format": "pastures-provenance/1",
            "software": {"pastures": __version__},
            "parameters": parameters,
            "inputs": [
                {"path": path, "sha256": digest, "bytes": Path(path).stat().st_size}
                for path, digest in sorted(checksums.items())
            ],
            "defaults": defaults,
        }
    else:
        record = dict(
            provenance_record(
                parameters=parameters,
                inputs=[Path(p) for p in sorted(checksums)],
                defaults=defaults,
            )
        )
    record.update(
        {
            "project": config.name,
            "illustrative": config.illustrative,
            "data_date": data_date.isoformat() if data_date else None,
            "stages": {
                r.name: {"status": r.status, "inputs": list(r.inputs), "summary": r.summary}
                for r in reports
            },
        }
    )
    return record


def write_sidecars(tables: Iterable[Path], record: Mapping[str, Any]) -> list[Path]:
    """A JSON provenance sidecar beside each table (``<table>.json``)."""
    from pastures.io import atomic_output

    try:
        from pastures.provenance import write_sidecar
    except ImportError:
        write_sidecar = None
    written = []
    for table in tables:
        if write_sidecar is not None:
            written.append(Path(write_sidecar(table, dict(record))))
            continue
        dest = table.with_name(table.name + ".json")
        with atomic_output(dest) as tmp:
            body = {"table": table.name, **record}
            tmp.write_text(json.dumps(body, indent=1, default=str), encoding="utf-8")
        written.append(dest)
    return written


def raster_tags(config: ProjectConfig) -> dict[str, str]:
    """GeoTIFF tags every raster of the run carries."""
    tags = {
        "PASTURES_VERSION": __version__,
        "PROJECT": config.name,
        "PROJECT_FILE": config.path.name,
        "PROVENANCE": "provenance.json in the run folder (parameters, input checksums)",
    }
    if config.illustrative:
        tags["ILLUSTRATIVE"] = "yes: sample data, not observations or official boundaries"
    return tags


# --- results as plain data: what a skipped stage is rebuilt from ----------------------------
#
# A stage's result is recorded in the manifest as plain JSON (counts, dates, sources), and
# its tables are read back from the files it wrote, which the manifest has just verified
# against their SHA-256. Nothing is unpickled: a run folder is data.


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(_("{value!r} is not a date").format(value=value))
    return dt.date.fromisoformat(value)


def vegetation_record(result: VegetationResult, folder: Path) -> dict[str, Any]:
    """The plain-data part of a vegetation result (its tables are files)."""
    return {
        "dates": int(result.dates),
        "usable_dates": int(result.usable_dates),
        "browning": list(result.browning),
        "ndvi_dry": _rel(result.ndvi_dry, folder) if result.ndvi_dry else None,
        "true_colour": _rel(result.true_colour, folder) if result.true_colour else None,
        "dry_dates": [d.isoformat() for d in result.dry_dates],
        "true_colour_date": _iso(result.true_colour_date),
        "data_date": _iso(result.data_date),
        "scene_ids": list(result.scene_ids),
    }


def vegetation_from(
    record: Mapping[str, Any], files: tuple[Path, ...], folder: Path
) -> VegetationResult:
    """Rebuild a vegetation result from its record and its verified files."""
    from pastures.outputs import check_columns, read_output_table

    series = folder / RUN_FILES["index_series"]
    table = read_output_table(series)
    check_columns(table, series, (S.PLOT_CODE, S.DATE, S.INDEX, S.STATISTIC, S.VALUE))
    range_path = folder / RUN_FILES["range_series"]
    range_table = pd.DataFrame()
    if range_path in files:
        range_table = read_output_table(range_path)
        range_table[S.DATE] = pd.to_datetime(range_table[S.DATE])

    def raster(key: str) -> Path | None:
        rel = record[key]
        if rel is None:
            return None
        path = folder / RUN_FILES[key]
        if rel != RUN_FILES[key] or path not in files:
            raise ValueError(
                _("{key} {rel!r} is not an output of the stage").format(key=key, rel=rel)
            )
        return path

    return VegetationResult(
        index_table=table,
        dates=int(record["dates"]),
        usable_dates=int(record["usable_dates"]),
        browning=tuple(str(b) for b in record["browning"]),
        ndvi_dry=raster("ndvi_dry"),
        true_colour=raster("true_colour"),
        dry_dates=tuple(d for d in map(_date, record["dry_dates"]) if d is not None),
        true_colour_date=_date(record["true_colour_date"]),
        data_date=_date(record["data_date"]),
        scene_ids=tuple(str(i) for i in record["scene_ids"]),
        files=files,
        range_table=range_table,
    )


def rotation_from(
    config: ProjectConfig, forage: ForageResult, files: tuple[Path, ...], folder: Path
) -> RotationResult:
    """Rebuild a rotation result from its verified schedule (the plan itself is not kept)."""
    from pastures.outputs import check_columns, read_output_table

    path = folder / RUN_FILES["schedule"]
    schedule = read_output_table(path)
    check_columns(schedule, path, (S.GROUP_ID, S.LOCATION_ID, S.LOCATION_KIND, S.DAYS, S.UO))
    horizon = int(config.rotation.periods * config.rotation.period_days)
    stocking = stocking_from_schedule(schedule, forage.budget, horizon)
    return RotationResult(plan=None, schedule=schedule, stocking=stocking, files=files)


def erosion_from(record: Mapping[str, Any], files: tuple[Path, ...], folder: Path) -> ErosionResult:
    """Rebuild an erosion result from its record and its verified plot GeoPackage."""
    from pastures.writers import RISK_FILES, RISK_LAYER

    path = folder / "risk" / RISK_FILES["gpkg"]
    if path not in files:
        raise ValueError(_("{name} is not an output of the stage").format(name=path.name))
    plots = gpd.read_file(path, layer=RISK_LAYER, engine="pyogrio")
    return ErosionResult(
        plots=plots,
        total_soil_loss_t_yr=float(record["total_soil_loss_t_yr"]),
        cover_source=str(record["cover_source"]),
        files=files,
    )


#: Outputs of each optional stage that the map and the atlas read (keys of RUN_FILES).
_READ_BY_MAPS: Final = {
    "vegetation": (
        "index_series",
        "index_trends",
        "index_summary",
        "true_colour",
        "ndvi_dry",
        "range_series",
    ),
    "rotation": ("schedule",),
    "erosion": ("soil_loss", "risk_class", "pressure", "risk_plots", "dem"),
}
#: What a skipped stage can fail on when its files are read back: it then runs again.
_READ_BACK_ERRORS: Final = (PasturesError, OSError, ValueError, KeyError, TypeError, IndexError)


# --- running ------------------------------------------------------------------------------


@dataclass
class _Runner:
    """Runs stages with their keys against the manifest, collecting reports."""

    folder: Path
    manifest: _Manifest
    on_stage: Callable[[StageReport], None] | None
    force: bool
    reports: list[StageReport] = field(default_factory=list)

    def stage(  # noqa: PLR0917 - private, called once per stage
        self,
        name: str,
        key: str,
        work: Callable[[], Any],
        summary: Callable[[Any], str],
        inputs: tuple[str, ...],
        files: Callable[[Any], tuple[Path, ...]],
        *,
        record: Callable[[Any], dict[str, Any]] = lambda _: {},
        restore: Callable[[Mapping[str, Any], tuple[Path, ...]], Any] = lambda _, f: f,
    ) -> Any:
        """Run stage `name`, or rebuild its result with `restore` when it is unchanged.

        `record` gives the plain-JSON part of a result for the manifest; `restore`
        rebuilds the result from that record and the stage's verified files.
        """
        t0 = time.perf_counter()
        entry, why = (None, "--force") if self.force else self.manifest.cached(name, key)
        if entry is not None:
            written = tuple(self.folder / f for f in entry["files"])
            try:
                cached = restore(entry["result"], written)
            except _READ_BACK_ERRORS as exc:
                why = f"its outputs could not be read back ({exc})"
            else:
                report = StageReport(
                    name,
                    "skipped",
                    time.perf_counter() - t0,
                    _without_again(str(entry.get("summary", ""))),
                    inputs,
                    files(cached),
                )
                self._report(report)
                return cached
        if name in self.manifest.stages:  # it ran before: say why it runs again
            tampered = why not in ("--force", _("its inputs, parameters or the toolkit changed"))
            logger.log(
                logging.WARNING if tampered else logging.INFO,
                _("{stage} runs again: {why}").format(stage=name, why=why),
            )
        logger.info(_("stage %s ..."), name)
        try:
            result = work()
        except PasturesError:
            self._warn_stale(name)
            raise
        done = summary(result)
        if name in self.manifest.stages:
            done = done + _(" (ran again: {why})").format(why=why)
        report = StageReport(name, "ran", time.perf_counter() - t0, done, inputs, files(result))
        earlier = self.manifest.stages.get(name) or {}
        now = {_rel(p, self.folder) for p in report.files}
        # outputs the earlier run wrote and this one did not (a pressure raster without a
        # plan, a calibration table without cuts) would be read as current: remove them
        self._remove(f for f in earlier.get("files") or [] if f not in now)
        self.manifest.store(name, key, record(result), report)
        self.manifest.write()
        self._report(report)
        return result

    def _warn_stale(self, failed: str) -> None:
        """Say which outputs in the folder are still those of an earlier run."""
        this_run = {r.name for r in self.reports}
        earlier = [s for s in self.manifest.stages if s not in this_run]
        if earlier:
            logger.warning(
                _(
                    "the %s stage stopped: the outputs of %s in %s are still those of an earlier "
                    "run; they are made again once this run goes through."
                ),
                failed,
                ", ".join(earlier),
                self.folder,
            )

    def _remove(self, names: Iterable[Any]) -> list[Path]:
        """Delete these outputs of an earlier run (names relative to the run folder)."""
        root = self.folder.resolve()
        removed = []
        for rel in names:
            if not isinstance(rel, str):
                continue
            path = self.folder / rel
            if not path.resolve().is_relative_to(root) or path.resolve() == root:
                continue
            for stale in (path, path.with_name(path.name + ".json")):
                if stale.is_file():
                    stale.unlink()
                    removed.append(stale)
        for folder in sorted({p.parent for p in removed}, reverse=True):
            with contextlib.suppress(OSError):  # only when empty
                folder.rmdir()
        return removed

    def note(self, name: str, status: Status, summary: str) -> None:
        self._report(StageReport(name, status, 0.0, summary))

    def retire(self, name: str, summary: str) -> None:
        """Note a stage that no longer runs, removing the outputs an earlier run left.

        The map, the atlas and the GeoPackage then show no stale layer: the files the
        manifest lists for the stage (and their table sidecars) are deleted, and so
        is its manifest entry; so are the stage's outputs that the map and the atlas
        read (:data:`_READ_BY_MAPS`), when a damaged manifest no longer lists them.
        Other files are left alone.
        """
        entry = self.manifest.stages.pop(name, None)
        # the outputs the map and the atlas read go even when no manifest lists them (a
        # folder whose manifest was damaged or deleted)
        known = [RUN_FILES[k] for k in _READ_BY_MAPS.get(name, ())]
        removed = self._remove([*((entry or {}).get("files") or []), *known])
        if entry is not None:
            self.manifest.write()
        if removed:
            logger.warning(
                _("%s no longer runs (%s): removed the %d output(s) an earlier run left in %s."),
                name,
                summary,
                len(removed),
                self.folder,
            )
        self.note(name, "not needed", summary)

    def _report(self, report: StageReport) -> None:
        self.reports.append(report)
        if self.on_stage is not None:
            self.on_stage(report)


def _optional_stage(module: str) -> Any | None:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        return None


def run_project(  # noqa: PLR0915
    config: ProjectConfig,
    folder: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    progress: bool = False,
    on_stage: Callable[[StageReport], None] | None = None,
    skip: Iterable[str] = (),
) -> RunResult:
    """Run every stage of a project into a run folder, skipping stages that are unchanged.

    Parameters
    ----------
    config
        From :func:`pastures.project.load_project_file`.
    folder
        Run folder; default ``config.output``.
    force
        Run every stage even when unchanged.
    progress
        Show progress bars (stderr) on long stages.
    on_stage
        Called with each :class:`StageReport` as the stage ends (the CLI prints it).
    skip
        Final stages to leave out (``"map"``, ``"print"``).

    Returns
    -------
    RunResult

    Raises
    ------
    ValidationError
        Errors in the layers (nothing but the folder is written).
    PasturesError
        A stage cannot run on the inputs given (the message says why and how to fix it).
    """
    out = Path(folder) if folder is not None else config.output
    config, synthetic_refused = real_data_only(config)  # warns about each
    left_out = set(skip)
    unknown = left_out - {"map", "print"}
    if unknown:
        raise ParameterError(
            _("Only the map and print stages can be left out; not {value}.").format(
                value=", ".join(sorted(unknown))
            )
        )
    from pastures.io import remove_leftovers

    remove_leftovers(out)  # temporary files of a killed run, even in stages now skipped
    manifest = _Manifest.read(out)
    sums = Checksums(manifest.checksums)
    runner = _Runner(out, manifest, on_stage, force)
    code = _code_digest()
    tags = raster_tags(config)
    area = config.study_area
    for key, what in juli_defaults_used(config).items():
        logger.warning(
            _(
                "%s: the study area %r is not Juli and the project file leaves %s at %s, a Juli "
                "default. Set %s for your area."
            ),
            config.path.name,
            area.name,
            key,
            what,
            key,
        )

    layer_sums = {k: sums.path(p) for k, p in config.layers.paths().items()}
    k_layers = _key(
        "layers",
        code,
        layer_sums,
        area,
        config.layers.assume_crs,
        config.layers.repair,
        config.layers.defaults,
        config.layers.fields,
        config.layers.overlap_tolerance_m2,
    )
    layers: LayersResult = runner.stage(
        "layers",
        _key(k_layers, config.language),  # the summary workbook speaks the language
        lambda: run_layers(config, out),
        lambda r: _(
            "{communities} communities, {plots} plots ({ha} ha), {families} families"
        ).format(
            communities=len(r.project.communities),
            plots=len(r.project.plots),
            ha=f"{r.project.plots[S.AREA_HA].sum():,.1f}",
            families=len(r.project.herds),
        ),
        tuple(str(p) for p in config.layers.paths().values()),
        lambda r: r.files,
        restore=lambda _, files: layers_from(config, files),
    )

    vegetation: VegetationResult | None = None
    k_veg = _key("vegetation", "none")
    if config.imagery.source == "none":
        runner.retire(
            "vegetation",
            synthetic_refused.get("vegetation", "no imagery in the project ([imagery] source)"),
        )
    else:
        scene_sums = [sums.path(p) for p in config.imagery.scenes]
        k_veg = _key(
            "vegetation",
            code,
            k_layers,
            config.imagery,
            scene_sums,
            config.vegetation,
            area,
            tags,
            # the open ranges' series is measured for quadrat cuts, in the forage index
            config.calibration.cuts is not None and config.forage_params().index,
        )
        vegetation = runner.stage(
            "vegetation",
            k_veg,
            lambda: run_vegetation(config, out, layers, tags=tags, progress=progress),
            lambda r: _(
                "{usable} of {dates} dates usable; dry-season composite of {dry} dates; "
                "browning: {browning}"
            ).format(
                usable=r.usable_dates,
                dates=r.dates,
                dry=len(r.dry_dates),
                browning=", ".join(r.browning) or _("none"),
            ),
            (
                "layers: plots, corrals",
                "imagery: "
                + (
                    "synthetic sample scenes"
                    if config.imagery.source == "sample"
                    else ", ".join(str(p) for p in config.imagery.scenes)
                ),
            ),
            lambda r: r.files,
            record=lambda r: vegetation_record(r, out),
            restore=lambda rec, files: vegetation_from(rec, files, out),
        )

    cuts = config.calibration.cuts
    k_forage = _key(
        "forage",
        code,
        k_layers,
        k_veg,
        config.forage,
        config.calibration,
        sums.path(cuts) if cuts is not None else None,
    )
    forage: ForageResult = runner.stage(
        "forage",
        k_forage,
        lambda: run_forage(config, out, layers, vegetation),
        lambda r: _("stocking {stocking} UO against a capacity of {capacity} UO").format(
            stocking=f"{r.budget.communities.iloc[-1][S.STOCKING_UO]:,.0f}",
            capacity=f"{r.budget.communities.iloc[-1][S.CAPACITY_UO]:,.0f}",
        ),
        (
            "layers: communities, plots, herds",
            "vegetation: index series" if vegetation else "pasture-type production defaults",
            *(
                (f"{_('calibration: quadrat cuts')} {cuts}",)
                if cuts is not None and vegetation is not None
                else ()
            ),
            "[forage] parameters",
        ),
        lambda r: r.files,
        restore=lambda _, files: ForageResult(forage_budget_of(config, layers, vegetation), files),
    )

    rotation: RotationResult | None = None
    k_rot = _key("rotation", "none")
    if not len(layers.project.herds):
        runner.retire("rotation", "no herd register: no grazing plan")
    elif not len(layers.project.corrals):
        # the planner starts each herd group at its corral: without corrals it has no herd
        why = (
            f"the herd register has {len(layers.project.herds)} families but the project has "
            "no corrals layer, and the plan starts each herd at its corral: no grazing plan. "
            "Add [layers] corrals (points) to plan the rotation."
        )
        logger.warning("%s: %s", config.path.name, why)
        runner.retire("rotation", why)
    else:
        k_rot = _key("rotation", code, k_layers, k_forage, config.rotation, config.language)
        rotation = runner.stage(
            "rotation",
            k_rot,
            lambda: run_rotation(config, out, layers, forage, data_date_of(vegetation)),
            lambda r: plan_summary(r.plan) if r.plan is not None else "",
            (
                "layers: plots, corrals, herds",
                "forage: budget",
                "[rotation] horizon"
                + (
                    ""
                    if config.rotation.start is not None
                    else f", from {plan_start(config, data_date_of(vegetation))}"
                ),
            ),
            lambda r: r.files,
            restore=lambda _, files: rotation_from(config, forage, files, out),
        )

    erosion: ErosionResult | None = None
    k_ero = _key("erosion", "none")
    if config.dem.source == "none":
        runner.retire(
            "erosion",
            synthetic_refused.get("erosion", "no DEM in the project ([dem] source)"),
        )
    else:
        dem_sum = sums.path(config.dem.path) if config.dem.path else "sample"
        k_ero = _key(
            "erosion", code, k_layers, k_veg, k_rot, dem_sum, config.risk, area, tags,
            config.language,
        )  # fmt: skip
        erosion = runner.stage(
            "erosion",
            k_ero,
            lambda: run_erosion(config, out, layers, vegetation, rotation, tags=tags),
            lambda r: _("soil loss of the plots {total} t/yr; C from {source}").format(
                total=f"{r.total_soil_loss_t_yr:,.0f}", source=_(r.cover_source.split(" (")[0])
            ),
            (
                "dem: "
                + ("synthetic sample" if config.dem.source == "sample" else str(config.dem.path)),
                "vegetation: dry-season NDVI composite" if vegetation else "C = 1",
                "rotation: plan stocking" if rotation else "no stocking",
                "[risk] settings",
            ),
            lambda r: r.files,
            record=lambda r: {
                "total_soil_loss_t_yr": r.total_soil_loss_t_yr,
                "cover_source": r.cover_source,
            },
            restore=lambda rec, files: erosion_from(rec, files, out),
        )

    data_date = vegetation.data_date if vegetation else None
    k_pkg = _key(
        "package",
        code,
        k_layers,
        k_veg,
        k_forage,
        k_rot,
        k_ero,
        config.name,
        config.illustrative,
        sorted(sums.used),  # provenance.json names the inputs: a renamed input rewrites it
    )

    def package() -> tuple[Path, ...]:
        record = provenance(config, sums.used, runner.reports, data_date=data_date)
        gpkg = write_geopackage(
            out,
            layers,
            vegetation=vegetation,
            forage=forage,
            rotation=rotation,
            erosion=erosion,
            metadata=record,
        )
        path = out / RUN_FILES["provenance"]
        from pastures.io import atomic_output

        with atomic_output(path) as tmp:
            tmp.write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
        tables = [
            f for r in runner.reports for f in r.files if f.suffix in {".csv", ".xlsx", ".parquet"}
        ]
        return (gpkg, path, *write_sidecars(tables, record))

    runner.stage(
        "package",
        k_pkg,
        package,
        lambda files: _("{gpkg} ({n} table sidecars), provenance.json").format(
            gpkg=GEOPACKAGE, n=len(files) - 2
        ),
        ("every stage's results",),
        tuple,
    )

    lang = config.language
    for name, module, call in (
        (
            "map",
            "pastures.webmap",
            lambda m: (Path(m.write_web_map(out, out / "map.html", lang=lang)),),
        ),
        (
            "print",
            "pastures.printmap",
            lambda m: tuple(
                Path(p) for p in _as_list(m.write_atlas(out, out / "atlas", lang=lang, paper="A4"))
            ),
        ),
    ):
        if name in left_out:
            runner.note(name, "not needed", "left out (--skip)")
            continue
        mod = _optional_stage(module)
        if mod is None:
            logger.info(_("%s is not installed: the %s stage is skipped"), module, name)
            runner.note(name, "unavailable", f"{module} is not installed yet")
            continue
        runner.stage(
            name,
            _key(name, code, k_pkg, lang),
            lambda mod=mod, call=call: call(mod),
            lambda files: ", ".join(_rel(f, out) for f in files[:3]),
            ("run folder",),
            tuple,
        )

    return RunResult(
        folder=out,
        config=config,
        reports=tuple(runner.reports),
        layers=layers,
        vegetation=vegetation,
        forage=forage,
        rotation=rotation,
        erosion=erosion,
    )


def _as_list(value: Any) -> list[Any]:
    """Paths a map or print function returned: a path, a list, or an atlas result."""
    if value is None:
        return []
    if isinstance(value, str | os.PathLike):
        return [value]
    if hasattr(value, "atlas"):  # pastures.printmap.AtlasResult
        return [value.atlas, *getattr(value, "communities", {}).values()]
    return list(value)


#: A stage report's status in words (the status itself is a code in run_manifest.json).
STATUS_WORDS: Final = {
    "ran": N_("ran"),
    "skipped": N_("skipped"),
    "not needed": N_("not needed"),
    "unavailable": N_("unavailable"),
}
_TOTAL: Final = N_("total")


def timing_table(reports: Iterable[StageReport]) -> str:
    """The per-stage timing summary, as aligned text (in the command line's language)."""
    rows = [(r.name, _(STATUS_WORDS[r.status]), f"{r.seconds:7.1f} s") for r in reports]
    total = sum(r.seconds for r in reports)
    width = max(len(r[0]) for r in rows) if rows else 5
    lines = [f"  {n:<{width}}  {t}  {s}" for n, s, t in rows]
    lines.append(f"  {_(_TOTAL):<{width}}  {total:7.1f} s")
    return "\n".join(lines)


__all__ = [
    "STAGES",
    "ErosionResult",
    "ForageResult",
    "LayersResult",
    "PasturesError",
    "RotationResult",
    "RunResult",
    "StageReport",
    "ValidationError",
    "VegetationResult",
    "run_project",
    "stocking_from_schedule",
    "timing_table",
]
