"""The Dask path (pastures.regional) gives what the single-process path gives.

Every comparison runs :func:`pastures.zonal.index_series` and
:func:`pastures.regional.regional_index_series` on the same synthetic scenes
(pastures.sample_imagery: two overlapping MGRS tiles to mosaic, SCL clouds, the L2A
offset) and requires equal tables, date rows, edge rules used and problems, bit for
bit. The cluster is a LocalCluster of two worker threads in this process (no
process start-up); chunks are made tiny so that plots, windows and dates are
spread over many tasks.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import Point, box

from imagery_helpers import UTM, X0, Y0, s2_band_files
from pastures import imagery, regional, schema
from pastures.cli import main
from pastures.errors import MissingDependencyError, ParameterError
from pastures.imagery import load_scenes
from pastures.regional import SchedulerError, chunk_windows, dask_client, regional_index_series
from pastures.sample_imagery import make_sample_scenes
from pastures.zonal import EDGE_RULES, index_series

WorkerPlugin = pytest.importorskip("distributed.diagnostics.plugin").WorkerPlugin

#: Tiny chunks: a 20 m grid cut into 1.28 km tiles, at most 2,500 window pixels per task.
SMALL = {"tile_pixels": 64, "chunk_pixels": 2_500}
INDICES = ["ndvi", "bofedal"]


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2, processes=False) as c:
        yield c


def _rotated(x: float, y: float, w: float, h: float, angle: float) -> shapely.Polygon:
    return shapely.affinity.rotate(box(x, y, x + w, y + h), angle, origin="centroid")


@pytest.fixture(scope="module")
def area(tmp_path_factory):
    """Plots meeting every edge case, and synthetic scenes over them."""
    plots = gpd.GeoDataFrame(
        {
            schema.PLOT_CODE: ["WET", "DRY", "TINY", "THIN", "FAR", "SOUTH", "EDGE", "GONE"],
            schema.PASTURE_TYPE: [
                "bofedal",
                "pajonal",
                "cesped",
                "tolar",
                "pajonal",
                "cesped",
                "bofedal",
                "pajonal",
            ],
        },
        geometry=[
            box(440_000, 8_195_000, 440_300, 8_195_300),  # on the 20 m grid
            _rotated(441_003, 8_195_007, 310, 170, 27),  # oblique edges: partial pixels
            box(440_605, 8_195_105, 440_613, 8_195_113),  # smaller than a pixel
            box(440_802, 8_195_000, 440_809, 8_195_400),  # thinner than a pixel
            _rotated(446_011, 8_193_013, 250, 250, 10),  # its own window, several km away
            box(442_000, 8_185_000, 442_200, 8_185_200),  # only in tile 19KDB
            box(443_000, 8_190_100, 443_230, 8_190_330),  # across the edge of 19KDC
            None,  # no geometry
        ],
        crs=UTM,
    )
    corrals = gpd.GeoDataFrame(
        {schema.CORRAL_ID: ["C1"]}, geometry=[Point(441_150, 8_195_150)], crs=UTM
    )
    out = tmp_path_factory.mktemp("regional_scenes")
    items = make_sample_scenes(
        plots[plots.geometry.notna()],
        corrals,
        out,
        start="2023-01-10",
        end="2023-05-10",
        step_days=30,
        seed=3,
    )
    return plots.to_crs("EPSG:4326"), out, items


def assert_same(local, distributed) -> None:
    pd.testing.assert_frame_equal(distributed.table, local.table, check_exact=True)
    pd.testing.assert_frame_equal(distributed.dates, local.dates, check_exact=True)
    pd.testing.assert_series_equal(distributed.rules, local.rules)
    assert distributed.problems == local.problems


@pytest.mark.parametrize("edge_rule", EDGE_RULES)
def test_equal_to_the_single_process_path_for_every_edge_rule(area, client, edge_rule):
    plots, _, items = area
    local = index_series(plots, items, indices=INDICES, edge_rule=edge_rule)
    distributed = regional_index_series(
        plots, items, indices=INDICES, edge_rule=edge_rule, client=client, **SMALL
    )
    assert_same(local, distributed)
    # the data are real work: several dates, masks, both tiles, fallbacks to exact
    assert len(local.dates) == 5
    assert set(local.dates[schema.DATE_STATUS]) >= {"ok"}
    assert local.table[schema.PLOT_CODE].nunique() == 7
    if edge_rule == "inner":  # no pixel inside: both fall back to exact coverage
        assert local.rules[["TINY", "THIN"]].tolist() == ["exact", "exact"]


def test_chunks_cover_every_window_once_and_respect_the_budget(area):
    plots, _, items = area
    scenes, _ = load_scenes(items)
    grid = imagery.scene_grid(scenes[0], ("red",))
    geoms = plots.to_crs(UTM).geometry.to_numpy()
    from pastures import zonal

    windows = zonal._plot_windows(geoms, grid, 100.0)
    chunks = chunk_windows(windows, grid, **SMALL)
    flat = sorted(k for chunk in chunks for k in chunk)
    assert flat == list(range(len(windows)))
    for chunk in chunks:
        sizes = [windows[k][0].shape[0] * windows[k][0].shape[1] for k in chunk]
        assert len(chunk) == 1 or sum(sizes) <= SMALL["chunk_pixels"]


def test_one_chunk_per_date_gives_the_same_result(area, client):
    plots, _, items = area
    local = index_series(plots, items, indices=["ndvi"], edge_rule="exact", cluster_gap_m=50.0)
    distributed = regional_index_series(
        plots,
        items,
        indices=["ndvi"],
        edge_rule="exact",
        cluster_gap_m=50.0,
        client=client,
        tile_pixels=100_000,
        chunk_pixels=10**9,
    )
    assert_same(local, distributed)


def test_failed_scene_is_listed_and_the_others_kept(area, client, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="pastures.regional")
    plots, out, _ = area
    copy = shutil.copytree(out, tmp_path / "scenes")
    scenes, _ = load_scenes(copy)
    by_date = imagery.group_by_date(scenes)
    # a truncated reflectance file on one tile of one date (the other tile still covers it)
    (date, _, _), members = list(by_date.items())[2]
    victim = members[0]
    path = victim.bands["red"].href
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 3])
    # and one date whose only remaining scene has lost its SCL file
    (date2, _, _), members2 = list(by_date.items())[4]
    for scene in members2:
        imagery_path = scene.mask.href
        shutil.move(imagery_path, imagery_path + ".gone")
    local = index_series(plots, scenes, indices=INDICES, edge_rule="exact")
    distributed = regional_index_series(
        plots, scenes, indices=INDICES, edge_rule="exact", client=client, **SMALL
    )
    assert_same(local, distributed)
    # the date was read again without the failed scene, in every chunk
    assert f"Scene(s) {victim.scene_id} unreadable on {date}" in caplog.text
    failed = {p.feature for p in distributed.problems if p.rule == "unreadable-scene"}
    assert victim.scene_id in failed
    assert {s.scene_id for s in members2} <= failed
    dates = distributed.dates.set_index(schema.DATE)[schema.DATE_STATUS]
    assert dates[date2] == "no-overlap"
    kept = pd.to_datetime(distributed.table[schema.DATE]).dt.date.unique()
    assert date in kept  # the other tile of that date was kept
    assert len(kept) == 4


def test_task_that_keeps_failing_marks_its_date_failed(area, client, monkeypatch):
    plots, _, items = area
    scenes, _ = load_scenes(items)
    bad = sorted({s.date for s in scenes})[1]
    original = imagery.read_mosaics
    calls = {"n": 0}

    def broken(group, bands, grids):
        if group and group[0].date == bad:
            calls["n"] += 1
            raise MemoryError("simulated: the worker ran out of memory")
        return original(group, bands, grids)

    monkeypatch.setattr(imagery, "read_mosaics", broken)
    result = regional_index_series(
        plots, scenes, indices=["ndvi"], client=client, retries=1, tile_pixels=100_000
    )
    assert calls["n"] == 2  # one try and one retry
    row = result.dates.set_index(schema.DATE).loc[bad]
    assert row[schema.DATE_STATUS] == "failed"
    problem = next(p for p in result.problems if p.rule == "failed-task")
    assert str(bad) in problem.message
    assert "MemoryError" in problem.message
    assert bad not in pd.to_datetime(result.table[schema.DATE]).dt.date.unique()
    assert (result.dates[schema.DATE_STATUS] == "ok").sum() >= 3  # the others kept


def test_task_that_fails_once_is_retried_and_the_result_is_unchanged(area, client, monkeypatch):
    plots, _, items = area
    scenes, _ = load_scenes(items)
    flaky = sorted({s.date for s in scenes})[3]
    original = imagery.read_mosaics
    failures = {"left": 1}

    def once(group, bands, grids):
        if group and group[0].date == flaky and failures["left"]:
            failures["left"] -= 1
            raise ConnectionResetError("simulated: lost the connection to the bucket")
        return original(group, bands, grids)

    local = index_series(plots, scenes, indices=["ndvi"])
    monkeypatch.setattr(imagery, "read_mosaics", once)
    distributed = regional_index_series(
        plots, scenes, indices=["ndvi"], client=client, tile_pixels=100_000
    )
    assert failures["left"] == 0
    assert_same(local, distributed)


def test_unreachable_scheduler_is_a_clear_error():
    with (
        pytest.raises(
            SchedulerError, match=r"Cannot reach the Dask scheduler at 'tcp://127\.0\.0\.1:9'"
        ),
        dask_client("tcp://127.0.0.1:9", connect_timeout_s=0.5),
    ):
        pass


def test_bad_timeout_variable_is_named(monkeypatch):
    monkeypatch.setenv(regional.TIMEOUT_VARIABLE, "soon")
    with (
        pytest.raises(ParameterError, match="PASTURES_SCHEDULER_TIMEOUT='soon'"),
        dask_client("tcp://127.0.0.1:9"),
    ):
        pass


def test_missing_distributed_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_distributed(name, *args, **kwargs):
        if name == "distributed":
            raise ImportError("No module named 'distributed'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    with pytest.raises(MissingDependencyError, match=r"pastures\[regional\]"), dask_client():
        pass
    assert not regional.wants_cluster(10**6, 100)


def test_large_jobs_ask_for_a_cluster():
    assert not regional.wants_cluster(366, 73)
    assert regional.wants_cluster(5_000, 73)


# --- the command line --------------------------------------------------------------------


@pytest.fixture
def cli_scenes(tmp_path):
    plots = gpd.GeoDataFrame(
        {
            schema.PLOT_CODE: ["A", "B"],
            schema.COMMUNITY: ["Alfa", "Alfa"],
            schema.PASTURE_TYPE: ["bofedal", "pajonal"],
        },
        geometry=[box(X0 + 10, Y0 - 50, X0 + 50, Y0 - 10), box(X0 + 50, Y0 - 90, X0 + 90, Y0 - 50)],
        crs=UTM,
    )
    plots_path = tmp_path / "plots.gpkg"
    plots.to_file(plots_path)
    nir = np.full((10, 10), 0.5)
    nir[5:, :] = 0.3
    for date in ("20240105", "20240115", "20240125"):
        s2_band_files(tmp_path / "scenes" / f"S2B_19KDC_{date}_0_L2A", date=date, nir=nir)
    return plots_path, tmp_path / "scenes"


def test_cli_unreachable_scheduler_exits_1_with_the_message(cli_scenes, tmp_path):
    plots_path, scenes = cli_scenes
    result = CliRunner().invoke(
        main,
        [
            *("indices", str(scenes), "--plots", str(plots_path), "--out", str(tmp_path / "o")),
            *("--index", "ndvi", "--scheduler", "tcp://127.0.0.1:9"),
        ],
        env={regional.TIMEOUT_VARIABLE: "0.5"},
    )
    assert result.exit_code == 1, result.output
    assert "Cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in result.output
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_cli_workers_writes_the_same_tables(cli_scenes, tmp_path):
    plots_path, scenes = cli_scenes
    outputs = {}
    for name, extra in (("local", []), ("dask", ["--workers", "1"])):
        out = tmp_path / name
        result = CliRunner().invoke(
            main,
            [
                *("indices", str(scenes), "--plots", str(plots_path), "--out", str(out)),
                *("--index", "ndvi", *extra),
            ],
        )
        assert result.exit_code == 0, result.output
        outputs[name] = out
    for file in ("index_series.csv", "plot_index_summary.csv", "index_dates.csv"):
        assert (outputs["dask"] / file).read_bytes() == (outputs["local"] / file).read_bytes()
    series = pd.read_csv(outputs["dask"] / "index_series.csv")
    mean = series[(series[schema.STATISTIC] == schema.STAT_MEAN) & (series["index"] == "ndvi")]
    # plot A lies in the rows of NIR 0.5: NDVI = (0.5 - 0.1) / (0.5 + 0.1) = 2/3
    a = mean[mean[schema.PLOT_CODE] == "A"][schema.VALUE]
    assert np.allclose(a, 2 / 3, atol=1e-6)


@pytest.mark.sample
@pytest.mark.slow
def test_equal_on_the_bundled_juli_sample(client, tmp_path):
    from pastures.sample import sample_paths

    paths = sample_paths()
    plots = gpd.read_file(paths[schema.PLOTS])
    corrals = gpd.read_file(paths[schema.CORRALS])
    items = make_sample_scenes(
        plots, corrals, tmp_path, start="2024-02-01", end="2024-03-31", step_days=30, seed=0
    )
    local = index_series(plots, items, indices=["ndvi", "savi"], edge_rule="exact")
    distributed = regional_index_series(
        plots, items, indices=["ndvi", "savi"], edge_rule="exact", client=client, **SMALL
    )
    assert_same(local, distributed)
    assert local.table[schema.PLOT_CODE].nunique() == len(plots)


class _DieOnce(WorkerPlugin):
    """Worker plugin: the first read of a date kills the worker process (os._exit)."""

    def __init__(self, flag: str):
        self.flag = flag

    def setup(self, worker):
        import os

        from pastures import imagery as worker_imagery

        original = worker_imagery.read_mosaics
        flag = self.flag

        def dying(scenes, bands, grids):
            if not os.path.exists(flag):  # noqa: PTH110 - runs in the worker process
                open(flag, "w").close()  # noqa: PTH123
                os._exit(1)
            return original(scenes, bands, grids)

        worker_imagery.read_mosaics = dying


@pytest.mark.slow
def test_a_worker_process_that_dies_is_replaced_and_the_result_unchanged(area, tmp_path):
    import sys

    import cloudpickle

    plots, _, items = area
    local = index_series(plots, items, indices=["ndvi"])
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        with dask_client(workers=1) as client:
            client.register_plugin(_DieOnce(str(tmp_path / "died")), name="die-once")
            distributed = regional_index_series(
                plots, items, indices=["ndvi"], client=client, tile_pixels=100_000
            )
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert (tmp_path / "died").exists()  # a worker did die
    assert_same(local, distributed)


# --- what a failed or finished local cluster says (issue 21) ----------------------------


def test_a_worker_killed_while_starting_is_not_blamed_on_the_number_of_workers(
    monkeypatch,
) -> None:
    distributed = pytest.importorskip("distributed")

    def killed(*args, **kwargs):
        raise RuntimeError("Nanny failed to start.")

    monkeypatch.setattr(distributed, "LocalCluster", killed)
    with pytest.raises(SchedulerError) as info, dask_client(workers=2):
        pass  # pragma: no cover - the cluster never starts
    text = str(info.value)
    assert "stopped while starting" in text
    assert "memory" in text
    assert "without --workers" in text
    assert not text.startswith("Could not start")


def test_shutdown_messages_are_quietened_only_while_the_cluster_closes() -> None:
    nanny = logging.getLogger("distributed.nanny")
    before = nanny.level
    with regional._loggers_at(logging.ERROR, "distributed.nanny"):
        assert not nanny.isEnabledFor(logging.WARNING)  # "still alive after 4.0 s, killing"
        assert nanny.isEnabledFor(logging.ERROR)
    assert nanny.level == before
