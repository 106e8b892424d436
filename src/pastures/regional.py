"""Regional monitoring on Dask distributed: the index series of many plots, tiles and years.

:func:`regional_index_series` computes exactly what :func:`pastures.zonal.index_series`
computes (same table, date rows, edge rules used and problems, bit for bit), but as
tasks of a `Dask distributed <https://distributed.dask.org>`_ cluster: a
``LocalCluster`` of worker processes on one machine, or a real cluster (SLURM through
dask-jobqueue, Kubernetes through dask-kubernetes or dask-gateway) given by the
address of its scheduler.

Design
------
Lazy loading: windowed rasterio reads inside the tasks, not odc-stac or stackstac.
    Each task reads only the raster windows around its plots, through
    :func:`pastures.imagery.read_mosaics` (rasterio windowed reads, which fetch only
    the COG blocks under the window, locally or over HTTP). Nothing is read on the
    client; a task holds its windows only while it runs. This is what
    ``rioxarray.open_rasterio(chunks=...)`` does underneath (one rasterio window
    per chunk) without a dense dask array of the whole tile, most of which lies
    outside every plot. odc-stac and stackstac were rejected because they would
    give other numbers than the single-process path: both resample every band
    through their own GDAL warp (the 20 m SCL and bands are read here by pixel
    centre onto the 10 m grid), stackstac's ``rescale`` applies the ``raster:bands``
    offset even where Earth Search already removed it
    (``earthsearch:boa_offset_applied``), and their same-day mosaics keep the first
    valid pixel, not "clear beats cloud beats no data" with each pixel counted once.
    One reader keeps the radiometry, masks and mosaic rules in one place
    (:mod:`pastures.imagery`).
Chunking: date (same-day scenes of one platform and CRS) x spatial tile.
    Plots are grouped, as in :func:`~pastures.zonal.index_series`, into windows
    around clusters of nearby plots. Windows are assigned to square spatial tiles of
    the scene grid (`tile_pixels` a side) and a tile's windows are split into chunks
    of at most `chunk_pixels` pixels. One task = one date x one chunk.
Pixel weights once per grid.
    The coverage of every window (:func:`pastures.zonal.plot_coverage`: each plot's
    cells and weights under the edge rule) is one task per chunk, computed once per
    grid (CRS, pixel size and alignment: one Sentinel-2 tile's grid serves all its
    dates) and kept in worker memory as a future; every date's task of that chunk
    takes it as input, so it is reused for every date and index, never recomputed.
Bounded memory per worker.
    A worker holds the coverages of its chunks (cells and weights: about 16 bytes
    per plot pixel) and, per running task, one chunk's mosaic: about
    ``(10 x bands + 6) bytes x chunk_pixels`` (float32 reflectance of the mosaic
    and of the scene being read, raw DN, pixel states, one index at a time). With one
    thread per worker and the default 8 Mpixel chunks that is under 0.5 GB for the
    two bands of NDVI and under 1 GB for the five of every default index, whatever
    the number of tiles, dates and plots. The only exception is a single window
    larger than a chunk (plots closer than `cluster_gap_m` over a very large area):
    it is read whole, as the single-process path does; lower `cluster_gap_m`.
Same results.
    The tasks call the functions of the single-process path (:mod:`pastures.zonal`,
    :mod:`pastures.imagery`, :mod:`pastures.indices`); the client adds the per-date
    sums window by window in the single-process order and assembles the tables with
    the same code, so floating-point sums come out identical. A scene that fails to
    read in any window is dropped from its date everywhere (as
    :func:`~pastures.imagery.read_mosaics` drops it), by running that date again
    without it.
Failures.
    Tasks are retried (`retries`) when they raise or their worker dies (the
    scheduler also re-runs a dead worker's tasks elsewhere); a date whose task still
    fails is listed as ``failed`` with the reason and the other dates are kept. An
    unreachable scheduler raises :class:`SchedulerError` after `connect_timeout_s`.

The coupling to :mod:`pastures.zonal` private helpers (plot windows, date grid,
table assembly) is deliberate: it makes the two paths share one definition; the
tests of ``tests/test_regional.py`` compare both paths for every edge rule.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd

from pastures import imagery, schema, zonal
from pastures.errors import MissingDependencyError, ParameterError, PasturesError, Problem
from pastures.i18n import _
from pastures.imagery import Grid, Scene
from pastures.indices import DEFAULT_INDICES, bands_needed, compute_index, index_spec
from pastures.zonal import (
    DEFAULT_CLUSTER_GAP_M,
    DEFAULT_EDGE_RULE,
    EdgeRule,
    IndexSeries,
    PlotCoverage,
    check_edge_rule,
    plot_coverage,
    statistics_array,
)

logger = logging.getLogger(__name__)

#: Side (pixels) of the spatial tiles that group plot windows into tasks (20.48 km at 10 m).
DEFAULT_TILE_PIXELS: Final = 2048
#: Most pixels of plot windows one task reads at once (bounds a worker's memory).
DEFAULT_CHUNK_PIXELS: Final = 8 * 2**20
#: Times a task is retried when it raises or its worker dies.
DEFAULT_RETRIES: Final = 2
#: Seconds to wait for a scheduler before giving up (environment: PASTURES_SCHEDULER_TIMEOUT).
DEFAULT_CONNECT_TIMEOUT_S: Final = 10.0
TIMEOUT_VARIABLE: Final = "PASTURES_SCHEDULER_TIMEOUT"
#: Plot-dates from which ``pastures indices`` starts a LocalCluster by itself.
LARGE_JOB_PLOT_DATES: Final = 200_000
#: Environment of LocalCluster worker processes: one compiled-kernel thread each
#: (the cluster's processes are the parallelism; nested thread pools would compete).
WORKER_ENV: Final = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "GDAL_NUM_THREADS": "1"}


#: Variables dask's nanny sets before starting a worker that the workers must not get:
#: ``MALLOC_TRIM_THRESHOLD_=65536`` freezes glibc's mmap threshold at 128 kB, so every
#: window-sized numpy array becomes a fresh mmap and is zero-filled page by page again:
#: it made the same reads and kernels 1.5-2 times slower (measured on the benchmark's
#: tile). A task's memory is bounded by `chunk_pixels` anyway.
UNSET_BEFORE_SPAWN: Final = frozenset({"MALLOC_TRIM_THRESHOLD_"})


class SchedulerError(PasturesError, ConnectionError):
    """The Dask scheduler cannot be reached, or the cluster cannot be started."""


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise MissingDependencyError(
            _(
                "Regional runs on a Dask cluster need dask.distributed: "
                "pip install 'pastures[regional]'."
            )
        ) from exc
    return distributed


def wants_cluster(n_plots: int, n_dates: int) -> bool:
    """True if a job is large enough to be worth a LocalCluster (and dask is installed).

    Starting worker processes costs a few seconds; below
    :data:`LARGE_JOB_PLOT_DATES` plot-dates the single-process path is faster.
    """
    if n_plots * n_dates < LARGE_JOB_PLOT_DATES:
        return False
    try:
        _distributed()
    except MissingDependencyError:
        logger.info(
            _("Large job (%d plots x %d dates) run in one process: %s"),
            n_plots,
            n_dates,
            "dask.distributed is not installed (pip install 'pastures[regional]').",
        )
        return False
    return True


@contextlib.contextmanager
def dask_client(
    scheduler: str | None = None,
    *,
    workers: int | None = None,
    processes: bool = True,
    memory_limit: str | float = "auto",
    connect_timeout_s: float | None = None,
) -> Iterator[Any]:
    """A ``distributed.Client``: connected to `scheduler`, or to a new LocalCluster.

    Parameters
    ----------
    scheduler
        Address of a running scheduler (``tcp://10.0.0.5:8786``); None starts a
        LocalCluster on this machine, closed on exit.
    workers
        Worker processes of the LocalCluster (default: one per core). Ignored with
        a scheduler: a real cluster's size is set where it runs.
    processes
        False runs the LocalCluster's workers as threads of this process (tests).
    memory_limit
        Per worker of the LocalCluster (``"3GiB"``; ``"auto"`` shares the RAM):
        past 95 % the nanny restarts the worker and its tasks are retried.
    connect_timeout_s
        Seconds to wait for `scheduler`; default ``PASTURES_SCHEDULER_TIMEOUT`` from
        the environment, else :data:`DEFAULT_CONNECT_TIMEOUT_S`.

    Raises
    ------
    SchedulerError
        If the scheduler cannot be reached within `connect_timeout_s`.
    """
    distributed = _distributed()
    if scheduler:
        if connect_timeout_s is None:
            connect_timeout_s = _timeout_from_environment()
        try:
            client = distributed.Client(scheduler, timeout=connect_timeout_s)
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerError(
                _(
                    "Cannot reach the Dask scheduler at '{scheduler}' within "
                    "{connect_timeout_s:g} s ({exc}). Check the address (e.g. "
                    "tcp://10.0.0.5:8786), that the scheduler is running (`dask scheduler`, "
                    "or your dask-jobqueue/dask-gateway cluster) and that this machine may "
                    "reach its port (firewall, VPN, SSH tunnel); or leave out --scheduler to "
                    "run on this machine."
                ).format(scheduler=scheduler, connect_timeout_s=connect_timeout_s, exc=exc)
            ) from exc
        with client:
            yield client
        return
    n = workers or os.cpu_count() or 1
    extra: dict[str, Any] = {"env": dict(WORKER_ENV)} if processes else {}
    import dask

    pre_spawn = {
        k: v
        for k, v in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()
        if k not in UNSET_BEFORE_SPAWN
    }
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": pre_spawn}):
            cluster = distributed.LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=processes,
                memory_limit=memory_limit,
                dashboard_address=":0",  # any free port: never collides with another cluster
                worker_dashboard_address=":0",
                **extra,
            )
    except (OSError, RuntimeError, TimeoutError) as exc:
        raise SchedulerError(cluster_start_message(n, exc)) from exc
    quiet = contextlib.ExitStack()
    try:
        with cluster, distributed.Client(cluster) as client:
            logger.info(
                _("Started a LocalCluster of %d worker(s); dashboard %s"), n, client.dashboard_link
            )
            yield client
            # the work is done: workers that take more than the nanny's few seconds to
            # exit are killed, as they should be; that is no news for the user
            quiet.enter_context(_loggers_at(logging.ERROR, *TEARDOWN_LOGGERS))
    finally:
        quiet.close()


#: Loggers of dask.distributed that report worker processes killed at shutdown
#: ("Worker process still alive after 4.0 s, killing"), quietened once the work is done.
TEARDOWN_LOGGERS: Final = ("distributed.nanny", "distributed.process", "distributed.worker")


@contextlib.contextmanager
def _loggers_at(level: int, *names: str) -> Iterator[None]:
    """Raise the level of the loggers `names` to `level` for the block; restore it after."""
    loggers = [logging.getLogger(name) for name in names]
    before = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(max(level, lg.getEffectiveLevel()))
    try:
        yield
    finally:
        for lg, old in zip(loggers, before, strict=True):
            lg.setLevel(old)


def cluster_start_message(n: int, exc: BaseException) -> str:
    """What to tell the user when a LocalCluster of `n` workers does not start.

    dask says "Nanny failed to start" whatever stopped a worker process during start-up
    (killed by the system for memory, a crash, a port): asking for fewer workers is one
    way out, not the diagnosis.
    """
    text = str(exc) or type(exc).__name__
    if "nanny" in text.lower():
        return (
            f"A worker process of the local Dask cluster ({n} worker(s)) stopped while "
            f"starting ({text}): the system may have killed it (memory), or it crashed. "
            "Check the free memory, then run again with fewer --workers, or without "
            "--workers and --scheduler (one process: the same results, more slowly)."
        )
    return (
        f"Could not start a local Dask cluster of {n} worker(s) ({text}). Free memory and "
        "network ports on this machine, or run with fewer --workers, or without --workers "
        "(one process: the same results)."
    )


def _timeout_from_environment() -> float:
    text = os.environ.get(TIMEOUT_VARIABLE, "")
    if not text:
        return DEFAULT_CONNECT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ParameterError(
            _(
                "{timeout_variable}={text!r}: give the seconds to wait for the scheduler, e.g. 30."
            ).format(timeout_variable=TIMEOUT_VARIABLE, text=text)
        )
    return value


# --- tasks (run on the workers) ---------------------------------------------------------


def _grid_task(scenes: Sequence[Scene], bands: Sequence[str]) -> tuple[Grid | None, list[Problem]]:
    problems: list[Problem] = []
    grid = zonal._first_grid(scenes, bands, problems)
    return grid, problems


def _coverage_task(
    geoms: np.ndarray,
    ids: np.ndarray,
    windows: Sequence[Grid],
    members: Sequence[np.ndarray],
    edge_rule: EdgeRule,
) -> list[PlotCoverage]:
    return [
        plot_coverage(geoms[m], w.transform, w.shape, edge_rule=edge_rule, plot_ids=ids[m])
        for w, m in zip(windows, members, strict=True)
    ]


def _rules_task(coverages: Sequence[PlotCoverage]) -> list[np.ndarray]:
    return [c.rules_used for c in coverages]


@dataclass(frozen=True)
class _WindowResult:
    """One window of one date: the weight sums and one statistics block per index."""

    total: float
    observed: float
    clear: float
    blocks: list[np.ndarray]


def _date_chunk_task(
    scenes: Sequence[Scene],
    bands: Sequence[str],
    names: Sequence[str],
    windows: Sequence[Grid],
    coverages: Sequence[PlotCoverage],
) -> tuple[list[_WindowResult], tuple[Problem, ...]]:
    """Read one date over one chunk's windows and compute every index's statistics."""
    mosaics = imagery.read_mosaics(scenes, bands, windows)
    results = []
    for coverage, mosaic in zip(coverages, mosaics, strict=True):
        state = mosaic.state.ravel()[coverage.cells]
        blocks = [
            statistics_array(compute_index(name, mosaic.bands, valid=mosaic.valid), coverage)
            for name in names
        ]
        results.append(
            _WindowResult(
                total=coverage.total_weight.sum(),
                observed=coverage.weights[state != imagery.NODATA].sum(),
                clear=coverage.weights[state == imagery.CLEAR].sum(),
                blocks=blocks,
            )
        )
    return results, (mosaics[0].problems if mosaics else ())


# --- the client side --------------------------------------------------------------------


@dataclass
class _Layout:
    """Windows of one grid key, in the single-process order, and their chunks."""

    windows: list[tuple[Grid, np.ndarray]]
    chunks: list[list[int]]  # window numbers of each chunk, ascending
    coverages: list[Any] = field(default_factory=list)  # one future per chunk
    rules: list[Any] = field(default_factory=list)  # one future per chunk


def chunk_windows(
    windows: Sequence[tuple[Grid, np.ndarray]],
    grid: Grid,
    *,
    tile_pixels: int = DEFAULT_TILE_PIXELS,
    chunk_pixels: int = DEFAULT_CHUNK_PIXELS,
) -> list[list[int]]:
    """Group plot windows into chunks: by spatial tile of `grid`, at most `chunk_pixels` each.

    Parameters
    ----------
    windows
        (window grid, plot numbers) pairs, as :func:`pastures.zonal.index_series` builds them.
    grid
        The scene grid the windows are cut from.
    tile_pixels
        Side of the square spatial tiles (pixels); a window belongs to the tile of its centre.
    chunk_pixels
        Most window pixels in one chunk; a larger window is a chunk of its own.

    Returns
    -------
    list of list of int
        Window numbers of each chunk, ascending; every window in exactly one chunk.
    """
    g = grid.transform
    by_tile: dict[tuple[int, int], list[int]] = {}
    for k, (window, _unused) in enumerate(windows):
        t = window.transform
        cx = t.c + t.a * window.shape[1] / 2
        cy = t.f + t.e * window.shape[0] / 2
        col, row = (cx - g.c) / g.a, (cy - g.f) / g.e  # north-up grid
        by_tile.setdefault((int(row // tile_pixels), int(col // tile_pixels)), []).append(k)
    chunks: list[list[int]] = []
    for tile in sorted(by_tile):
        current: list[int] = []
        pixels = 0
        for k in by_tile[tile]:
            size = windows[k][0].shape[0] * windows[k][0].shape[1]
            if current and pixels + size > chunk_pixels:
                chunks.append(current)
                current, pixels = [], 0
            current.append(k)
            pixels += size
        if current:
            chunks.append(current)
    return chunks


def regional_index_series(
    plots: gpd.GeoDataFrame,
    scenes: Sequence[Scene] | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    indices: Sequence[str] = DEFAULT_INDICES,
    edge_rule: EdgeRule = DEFAULT_EDGE_RULE,
    id_column: str = schema.PLOT_CODE,
    cluster_gap_m: float = DEFAULT_CLUSTER_GAP_M,
    client: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    retries: int = DEFAULT_RETRIES,
    tile_pixels: int = DEFAULT_TILE_PIXELS,
    chunk_pixels: int = DEFAULT_CHUNK_PIXELS,
    connect_timeout_s: float | None = None,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
    boa_offset: imagery.BoaOffset = "auto",
) -> IndexSeries:
    """:func:`pastures.zonal.index_series` on a Dask cluster, with identical results.

    Parameters
    ----------
    plots, scenes, indices, edge_rule, id_column, cluster_gap_m, boa_offset
        As for :func:`pastures.zonal.index_series`.
    client
        A ``distributed.Client`` to use (left open). Else one is made with
        :func:`dask_client` from `scheduler` and `workers`.
    scheduler
        Address of a running Dask scheduler; None starts a LocalCluster.
    workers
        Worker processes of the LocalCluster (default: one per core).
    retries
        Times a failing task (or one whose worker died) is run again.
    tile_pixels, chunk_pixels
        Chunking: see :func:`chunk_windows`.
    connect_timeout_s
        How long to wait for `scheduler`.
    progress
        Optional wrapper of the per-date loop (e.g. ``tqdm``); dates finish in order.

    Returns
    -------
    IndexSeries
        Equal to what :func:`pastures.zonal.index_series` returns. A date whose task
        fails after `retries` gets the status ``failed`` and a ``failed-task`` problem;
        the other dates are kept.

    Raises
    ------
    SchedulerError
        If the scheduler cannot be reached.
    MissingDependencyError
        If dask.distributed is not installed.
    CRSError, LayerError, ParameterError
        As :func:`pastures.zonal.index_series`.
    """
    check_edge_rule(edge_rule)
    names = [index_spec(n).name for n in indices]
    needed = bands_needed(names)
    ids = zonal._plot_ids(plots, id_column)
    problems: list[Problem] = []
    if zonal._needs_loading(scenes):
        scenes, found = imagery.load_scenes(scenes, boa_offset=boa_offset)  # type: ignore[arg-type]
        problems.extend(found)
    run = _Run(
        plots=plots,
        scenes=list(scenes),  # type: ignore[arg-type]
        ids=ids,
        names=names,
        bands=needed,
        edge_rule=edge_rule,
        cluster_gap_m=cluster_gap_m,
        retries=retries,
        tile_pixels=tile_pixels,
        chunk_pixels=chunk_pixels,
        problems=problems,
    )
    if client is not None:
        return run.execute(client, progress)
    with dask_client(scheduler, workers=workers, connect_timeout_s=connect_timeout_s) as made:
        return run.execute(made, progress)


@dataclass
class _Run:
    plots: gpd.GeoDataFrame
    scenes: list[Scene]
    ids: np.ndarray
    names: list[str]
    bands: tuple[str, ...]
    edge_rule: EdgeRule
    cluster_gap_m: float
    retries: int
    tile_pixels: int
    chunk_pixels: int
    problems: list[Problem]

    def submit(self, client: Any, fn: Callable[..., Any], *args: Any) -> Any:
        return client.submit(fn, *args, retries=self.retries, pure=False)

    def execute(  # noqa: PLR0912, PLR0915 - one pass mirroring zonal.index_series
        self, client: Any, progress: Callable[[Iterable[Any]], Iterable[Any]] | None
    ) -> IndexSeries:
        groups = list(imagery.group_by_date(self.scenes).items())
        grid_futures = [
            self.submit(client, _grid_task, members, self.bands) for _, members in groups
        ]
        reprojected: dict[str, np.ndarray] = {}
        layouts: dict[tuple[Any, ...], _Layout] = {}
        date_keys: list[tuple[Any, ...] | None] = []
        grid_results: list[tuple[Grid | None, list[Problem]]] = []
        for ((date, _unused, _unused), members), future in zip(groups, grid_futures, strict=True):
            try:
                grid, grid_problems = future.result()
            except Exception as exc:  # noqa: BLE001 - any failure of a remote task is reported
                grid, grid_problems = None, [_task_problem(members, date, exc)]
            grid_results.append((grid, grid_problems))
            if grid is None:
                date_keys.append(None)
                continue
            if grid.crs not in reprojected:
                if not zonal._same_crs(self.plots.crs, grid.crs):
                    logger.info(
                        _(
                            "Plots reprojected from %s to %s, the CRS of the imagery (the imagery "
                            "itself is not resampled)."
                        ),
                        self.plots.crs,
                        grid.crs,
                    )
                reprojected[grid.crs] = self.plots.geometry.to_crs(grid.crs).to_numpy()
            key = (grid.crs, zonal._alignment(grid), self.edge_rule)
            if key not in layouts:
                geoms = reprojected[grid.crs]
                windows = zonal._plot_windows(geoms, grid, self.cluster_gap_m)
                layout = _Layout(
                    windows,
                    chunk_windows(
                        windows,
                        grid,
                        tile_pixels=self.tile_pixels,
                        chunk_pixels=self.chunk_pixels,
                    ),
                )
                for chunk in layout.chunks:
                    members_idx = np.concatenate([windows[k][1] for k in chunk])
                    sub = geoms[members_idx]
                    local_members, start = [], 0
                    for k in chunk:
                        n = windows[k][1].size
                        local_members.append(np.arange(start, start + n))
                        start += n
                    coverage = self.submit(
                        client,
                        _coverage_task,
                        sub,
                        self.ids[members_idx],
                        [windows[k][0] for k in chunk],
                        local_members,
                        self.edge_rule,
                    )
                    layout.coverages.append(coverage)
                    layout.rules.append(self.submit(client, _rules_task, coverage))
                layouts[key] = layout
                logger.info(
                    _("Grid %s: %d plot window(s) in %d chunk(s)"),
                    grid.crs,
                    len(windows),
                    len(layout.chunks),
                )
            date_keys.append(key)

        # every date x chunk, submitted at once; the scheduler balances them
        pending = [
            self._submit_date(client, members, layouts[key], exclude=frozenset())
            if key is not None
            else []
            for (_, members), key in zip(groups, date_keys, strict=True)
        ]

        frames: list[pd.DataFrame] = []
        date_rows: list[dict[str, Any]] = []
        rules = pd.Series(
            "", index=pd.Index(self.ids, name=schema.PLOT_CODE), name=schema.EDGE_RULE
        )
        rules_cache: dict[tuple[Any, ...], list[np.ndarray]] = {}
        loop: Iterable[int] = range(len(groups))
        if progress is not None:
            loop = progress(loop)
        for g in loop:
            (date, platform, _crs), members = groups[g]
            grid, grid_problems = grid_results[g]
            self.problems.extend(grid_problems)
            row: dict[str, Any] = {
                schema.DATE: date,
                schema.PLATFORM: platform,
                schema.SCENE_ID: " + ".join(s.scene_id for s in members),
                schema.TILE: " + ".join(sorted({s.tile for s in members if s.tile})),
                schema.STAT_VALID_FRACTION: np.nan,
                schema.DATE_STATUS: "failed",
            }
            date_rows.append(row)
            key = date_keys[g]
            if grid is None or key is None:
                continue
            layout = layouts[key]
            outcome = self._collect_date(client, members, layout, pending[g])
            pending[g] = []
            if isinstance(outcome, Problem):
                self.problems.append(outcome)
            else:
                windows_results, read_problems = outcome
                frame = self._date_frame(members, layout, windows_results, read_problems, row)
                if frame is not None:
                    frames.append(frame)
            if key not in rules_cache:
                try:
                    per_chunk = [f.result() for f in layout.rules]
                except Exception as exc:  # noqa: BLE001 - reported, the dates are kept
                    self.problems.append(_task_problem(members, date, exc))
                    per_chunk = []
                by_window: list[np.ndarray] = [np.empty(0, dtype=object)] * len(layout.windows)
                for chunk, chunk_rules in zip(layout.chunks, per_chunk, strict=False):
                    for k, used in zip(chunk, chunk_rules, strict=True):
                        by_window[k] = used
                rules_cache[key] = by_window
            for (_unused, members_idx), used in zip(layout.windows, rules_cache[key], strict=True):
                if used.size == members_idx.size:
                    rules.iloc[members_idx] = used
        return IndexSeries(
            table=zonal._tidy(frames),
            dates=pd.DataFrame(date_rows),
            rules=rules,
            problems=self.problems,
        )

    def _submit_date(
        self, client: Any, members: Sequence[Scene], layout: _Layout, *, exclude: frozenset[str]
    ) -> list[Any]:
        scenes = [s for s in members if s.scene_id not in exclude]
        return [
            self.submit(
                client,
                _date_chunk_task,
                scenes,
                self.bands,
                self.names,
                [layout.windows[k][0] for k in chunk],
                coverage,
            )
            for chunk, coverage in zip(layout.chunks, layout.coverages, strict=True)
        ]

    def _collect_date(
        self, client: Any, members: Sequence[Scene], layout: _Layout, futures: list[Any]
    ) -> tuple[list[_WindowResult], tuple[Problem, ...]] | Problem:
        """Gather one date's chunks; a scene failing anywhere is dropped everywhere."""
        failed: dict[str, Problem] = {}
        while True:
            by_window: list[_WindowResult | None] = [None] * len(layout.windows)
            new: dict[str, Problem] = {}
            for chunk, future in zip(layout.chunks, futures, strict=True):
                try:
                    results, chunk_problems = future.result()
                except Exception as exc:  # noqa: BLE001 - any remote failure is reported
                    return _task_problem(members, members[0].date, exc)
                for k, result in zip(chunk, results, strict=True):
                    by_window[k] = result
                for problem in chunk_problems:
                    if problem.feature not in failed and problem.feature not in new:
                        new[problem.feature] = problem
            if not new:
                break
            failed.update(new)
            logger.info(
                _("Scene(s) %s unreadable on %s: the date is read again without them."),
                ", ".join(new),
                members[0].date,
            )
            futures = self._submit_date(client, members, layout, exclude=frozenset(failed))
        ordered = tuple(failed[s.scene_id] for s in members if s.scene_id in failed)
        return [r for r in by_window if r is not None], ordered

    def _date_frame(
        self,
        members: Sequence[Scene],
        layout: _Layout,
        results: Sequence[_WindowResult],
        read_problems: tuple[Problem, ...],
        row: dict[str, Any],
    ) -> pd.DataFrame | None:
        """The date's row, problems and frame, as ``zonal._date_statistics`` makes them."""
        problems = self.problems
        clear_weight = observed_weight = total_weight = 0.0
        blocks: list[np.ndarray] = []
        plot_parts: list[np.ndarray] = []
        index_parts: list[np.ndarray] = []
        if layout.windows:
            problems.extend(read_problems)
        for (_unused, members_idx), result in zip(layout.windows, results, strict=True):
            total_weight += result.total
            observed_weight += result.observed
            clear_weight += result.clear
            for name, block in zip(self.names, result.blocks, strict=True):
                blocks.append(block)
                plot_parts.append(self.ids[members_idx])
                index_parts.append(np.full(members_idx.size, name, dtype=object))
        date = row[schema.DATE]
        if not zonal.date_status(
            row,
            observed_weight=observed_weight,
            clear_weight=clear_weight,
            total_weight=total_weight,
            problems=problems,
            source=members[0].source,
        ):
            return None
        frame = pd.DataFrame(np.vstack(blocks), columns=list(schema.ZONAL_STATISTICS))
        frame.insert(0, schema.INDEX, np.concatenate(index_parts))
        frame.insert(0, schema.DATE, pd.Timestamp(date))
        frame.insert(0, schema.PLOT_CODE, np.concatenate(plot_parts))
        return frame


def _task_problem(members: Sequence[Scene], date: Any, exc: BaseException) -> Problem:
    ids = " + ".join(s.scene_id for s in members)
    return Problem(
        "error",
        "failed-task",
        _(
            "The cluster could not process {date} (scene(s) {ids}) after retries: "
            "{name}: {exc}. The other dates are kept; run again to retry this one."
        ).format(date=date, ids=ids, name=type(exc).__name__, exc=exc),
        members[0].source if members else "",
        ids,
    )
