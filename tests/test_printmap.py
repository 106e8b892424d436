"""The printed atlas, read back from the PDFs it writes (pypdf) and from pages rendered
with poppler's pdftoppm; expected values are worked out by hand in printmap_helpers."""

from __future__ import annotations

import itertools
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from pastures import schema as S
from pastures.errors import InputFileError, ParameterError
from pastures.outputs import read_run
from pastures.printmap import (
    RISK_STYLE,
    AtlasResult,
    CalendarCell,
    community_layout,
    default_workers,
    herd_group,
    main_driver,
    nice_scale,
    place_labels,
    plan_sheets,
    plot_calendar,
    short_labels,
    slugify,
    write_atlas,
)
from printmap_helpers import E0, N0, PLOT_BOXES, RISK, build_run

pypdf = pytest.importorskip("pypdf", reason="pypdf reads the atlas back (pip install -e .[test])")

PT_PER_MM = 72 / 25.4
PDFTOPPM = shutil.which("pdftoppm")
needs_pdftoppm = pytest.mark.skipif(
    PDFTOPPM is None,
    reason="pdftoppm (poppler-utils) is not installed: apt-get install poppler-utils",
)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    return build_run(tmp_path_factory.mktemp("run") / "run")


@pytest.fixture(scope="module")
def atlas_es(tiny_run, tmp_path_factory) -> AtlasResult:
    return write_atlas(tiny_run, tmp_path_factory.mktemp("atlas_es"))


@pytest.fixture(scope="module")
def atlas_en_a3(tmp_path_factory) -> AtlasResult:
    run = build_run(tmp_path_factory.mktemp("run_ab") / "run", only=("Alfa", "Beta"))
    return write_atlas(run, tmp_path_factory.mktemp("atlas_en"), lang="en", paper="A3")


def _pages_mm(path: Path) -> list[tuple[float, float]]:
    reader = pypdf.PdfReader(path)
    return [
        (round(float(p.mediabox.width) / PT_PER_MM), round(float(p.mediabox.height) / PT_PER_MM))
        for p in reader.pages
    ]


def _text(path: Path) -> list[str]:
    """Text of each page, whitespace collapsed."""
    return [re.sub(r"\s+", " ", p.extract_text()) for p in pypdf.PdfReader(path).pages]


def _render_gray(pdf: Path, page: int, dpi: int, out: Path) -> np.ndarray:
    """One page rendered by poppler in 8-bit grey, as a (rows, cols) array."""
    from PIL import Image

    stem = out / f"p{page}-{dpi}"
    subprocess.run(
        [
            PDFTOPPM,
            "-r",
            str(dpi),
            "-gray",
            "-png",
            "-f",
            str(page),
            "-l",
            str(page),
            "-singlefile",
            str(pdf),
            str(stem),
        ],
        check=True,
    )
    return np.asarray(Image.open(f"{stem}.png").convert("L"), dtype=float)


# --- the files -------------------------------------------------------------------------


def test_atlas_has_a_cover_an_overview_and_a_sheet_per_community(atlas_es):
    assert atlas_es.pages == 5
    assert len(pypdf.PdfReader(atlas_es.atlas).pages) == 5
    assert atlas_es.atlas.name == "atlas.pdf"
    assert {n: p.name for n, p in atlas_es.communities.items()} == {
        "Alfa": "alfa.pdf",
        "Beta": "beta.pdf",
        "Gamma": "gamma.pdf",
    }
    for path in atlas_es.communities.values():
        assert len(pypdf.PdfReader(path).pages) == 1
    # Written atomically: no temporary file is left beside the outputs.
    assert not [p for p in atlas_es.atlas.parent.iterdir() if ".part" in p.name]


@pytest.mark.parametrize(
    ("fixture", "short", "long_"), [("atlas_es", 210, 297), ("atlas_en_a3", 297, 420)]
)
def test_page_sizes_and_orientation_fit_each_community(request, fixture, short, long_):
    atlas = request.getfixturevalue(fixture)
    portrait, landscape = (short, long_), (long_, short)
    # Cover portrait; overview of a squat district; Alfa (square) portrait; Beta
    # (a 6 km x 0.6 km strip) landscape; Gamma (square, no plots) portrait.
    sizes = _pages_mm(atlas.atlas)
    assert sizes[0] == portrait
    assert sizes[2] == portrait
    assert sizes[3] == landscape
    assert sizes[4:] in ([portrait], [])  # Gamma is left out of the A3 run
    assert _pages_mm(atlas.communities["Beta"]) == [landscape]


def test_map_is_drawn_at_a_round_scale_that_holds_on_paper(tiny_run):
    run = read_run(tiny_run)
    alfa = community_layout(run, "Alfa")
    xmin, ymin, xmax, ymax = alfa.extent
    _, _, w, h = alfa.map_mm
    # 1:scale: ground metres per paper millimetre is scale / 1000, both ways.
    assert (xmax - xmin) / w == pytest.approx(alfa.scale / 1000)
    assert (ymax - ymin) / h == pytest.approx(alfa.scale / 1000)
    assert box(*alfa.extent).contains(box(E0, N0, E0 + 1000, N0 + 1000))
    # 1 km of Alfa (plus corrals, 3 % margins) in a 185 x 126 mm frame: 1060 m / 126 mm
    # = 1:8,413, the next round scale is 1:10,000.
    assert alfa.scale == 10_000
    assert not alfa.detail
    # Beta's plot and corral lie in its western 1.4 km of 6 km: the sheet maps that
    # part (E 441,200-442,600 plus 250 m) and a locator inset shows the whole strip.
    beta = community_layout(run, "Beta")
    assert beta.detail
    assert beta.orientation == "landscape"
    assert box(*beta.extent).contains(box(E0 + 950, N0 - 50, E0 + 2850, N0 + 650))
    assert beta.extent[2] < E0 + 7000
    assert community_layout(run, "Alfa", paper="A3").width_mm == 297


def test_vector_pdf_with_embedded_truetype_text_of_reasonable_size(atlas_es):
    reader = pypdf.PdfReader(atlas_es.atlas)
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add((str(font.get_object()["/Subtype"]), str(font.get_object()["/BaseFont"])))
    assert fonts
    assert all(sub in {"/TrueType", "/Type0"} for sub, _ in fonts)
    assert any("DejaVuSans" in name for _, name in fonts)
    assert atlas_es.atlas.stat().st_size < 1_500_000


# --- text --------------------------------------------------------------------------------


def test_text_holds_every_plot_code_hectares_and_the_spanish_headings(atlas_es):
    pages = _text(atlas_es.atlas)
    text = " ".join(pages)
    for code in PLOT_BOXES:
        assert code in text
    alfa, beta, gamma = pages[2], pages[3], pages[4]
    assert "Comunidad Alfa — distrito de Juli" in alfa
    assert "ALF-01" in alfa
    assert "5.0 ha" in alfa
    assert "1.0 ha" in alfa
    assert "BET-01" in beta
    assert "3.0 ha" in beta
    for heading in (
        "Leyenda",
        "Estado de las parcelas",
        "Calendario de rotación",
        "Condición",
        "Causa principal",
        "Límite de la comunidad",
        "Fuente de agua",
    ):
        assert heading in alfa, heading
    assert "DATOS ILUSTRATIVOS" in alfa
    # each date says what it is: the newest image (30 Nov 2025, the index series) and
    # the span of the plan (5 Jan - 28 Jun 2026, the schedule)
    assert "Imágenes hasta el 30 nov 2025" in alfa
    assert "Plan de rotación del 5 ene 2026 al 28 jun 2026" in alfa
    cover = " ".join(pages[0].split())
    assert "imágenes satelitales hasta el 30 nov 2025" in cover
    assert "plan de rotación del 5 ene 2026 al 28 jun 2026" in cover
    # Condition and the main driver in words, from the hand-made risk table.
    assert "Buena" in alfa
    assert "Muy alto" in alfa
    assert "Moderado" in alfa
    assert "sobrepastoreo: 3.0 veces la capacidad" in alfa
    assert "erosión 20 t/ha/año por la pendiente (18 %)" in alfa
    assert "Escala 1:10 000" in alfa
    # The empty community says so and still shows its corral.
    assert "no tiene parcelas" in gamma
    assert "C1" in gamma
    assert "Contenido" in pages[0]
    assert "Gamma (sin parcelas)" in pages[0]


def test_calendar_text_gives_days_and_corral_per_month(atlas_es):
    alfa = _text(atlas_es.communities["Alfa"])[0]
    # ALF-01: 14 days in January, 2 in March, 5 in April, by corral C1's herds.
    for days in ("14 d", "2 d", "5 d", "7 d"):
        assert days in alfa
    for month in ("ene", "feb", "mar", "abr", "may", "jun"):
        assert month in alfa


def test_english_sheets(atlas_en_a3):
    text = " ".join(_text(atlas_en_a3.atlas))
    for heading in ("Legend", "Plot status", "Rotation calendar", "ILLUSTRATIVE DATA"):
        assert heading in text
    assert "Calendario" not in text
    assert "overgrazing: 3.0 times capacity" in text


def test_no_text_under_8_points_at_the_printed_size(atlas_es):
    sizes: list[float] = []

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip():
            sizes.append(font_size * np.hypot(tm[0], tm[1]) * np.hypot(cm[0], cm[1]))

    for page in pypdf.PdfReader(atlas_es.atlas).pages:
        page.extract_text(visitor_text=visit)
    assert sizes
    assert min(sizes) >= 8.0 - 1e-6


# --- rendered pages --------------------------------------------------------------------


@needs_pdftoppm
def test_rendered_pages_are_not_blank(atlas_es, tmp_path):
    for page in range(1, 6):
        grey = _render_gray(atlas_es.atlas, page, 30, tmp_path)
        inked = (grey < 200).mean()
        assert 0.01 < inked < 0.6, f"page {page}: {inked:.3f} of the page inked"


def _patch(grey: np.ndarray, layout, bounds, dpi: int, inset: tuple[float, float, float, float]):
    """Mean grey and share of dark pixels in a window of a plot (fractions of its box)."""
    xmin, _, _, ymax = layout.extent
    x0_mm, top_mm, _, _ = layout.map_mm
    mpm = layout.scale / 1000

    def px(e, n):
        return (x0_mm + (e - xmin) / mpm) * dpi / 25.4, (top_mm + (ymax - n) / mpm) * dpi / 25.4

    bx0, by0, bx1, by1 = bounds
    fx0, fy0, fx1, fy1 = inset
    c0, r1 = px(bx0 + fx0 * (bx1 - bx0), by0 + fy0 * (by1 - by0))
    c1, r0 = px(bx0 + fx1 * (bx1 - bx0), by0 + fy1 * (by1 - by0))
    window = grey[int(r0) : int(r1), int(c0) : int(c1)]
    assert window.size > 100
    return window.mean(), (window < 110).mean()


@needs_pdftoppm
def test_grayscale_rendering_tells_the_risk_classes_apart(atlas_es, tiny_run, tmp_path):
    run = read_run(tiny_run)
    dpi = 150
    pages = {"Alfa": 3, "Beta": 4}
    measured = {}
    # Windows clear of the labels (which sit in the middle of a plot or outside it).
    insets = {
        "ALF-01": (0.08, 0.06, 0.35, 0.25),
        "ALF-02": (0.2, 0.2, 0.8, 0.8),
        "BET-01": (0.15, 0.2, 0.85, 0.8),
    }
    rendered = {c: _render_gray(atlas_es.atlas, p, dpi, tmp_path) for c, p in pages.items()}
    for code, bounds in PLOT_BOXES.items():
        community = "Alfa" if code.startswith("ALF") else "Beta"
        grey = rendered[community]
        layout = community_layout(run, community)
        measured[RISK[code]] = _patch(grey, layout, bounds, dpi, insets[code])
    mean = {cls: m for cls, (m, _) in measured.items()}
    dark = {cls: d for cls, (_, d) in measured.items()}
    # Higher risk: darker on average and more of the patch inked by hatching.
    assert mean["moderate"] > mean["high"] + 15 > mean["very high"] + 30
    assert dark["moderate"] < dark["high"] < dark["very high"]


@needs_pdftoppm
def test_risk_styles_differ_in_grey_and_hatching_without_colour(tmp_path):
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from pastures.printmap import RC

    with mpl.rc_context(RC):
        fig = plt.figure(figsize=(4, 1))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, 4)
        ax.set_ylim(0, 1)
        ax.set_axis_off()
        for i, cls in enumerate(S.RISK_CLASSES):
            style = RISK_STYLE[cls]
            ax.add_patch(
                Rectangle(
                    (i + 0.1, 0.1),
                    0.8,
                    0.8,
                    facecolor=style["face"],
                    hatch=style["hatch"],
                    edgecolor="black",
                    lw=0,
                )
            )
        fig.savefig(tmp_path / "styles.pdf")
        plt.close(fig)
    grey = _render_gray(tmp_path / "styles.pdf", 1, 100, tmp_path)
    means = [grey[20:80, int(100 * i + 20) : int(100 * i + 80)].mean() for i in range(4)]
    # Each class at least 25 grey levels (of 255) darker than the one below it.
    assert all(a - b > 25 for a, b in itertools.pairwise(means)), means


# --- pieces ------------------------------------------------------------------------------


def test_slugs_are_ascii_file_names():
    assert slugify("Comunidad 03") == "comunidad-03"
    assert slugify("Ñuñoa Chico") == "nunoa-chico"
    assert slugify("K'isini") == "k-isini"


def test_nice_scale_is_the_smallest_round_scale_that_fits():
    # 4,000 m across 190 mm needs 1:21,053 -> 1:25,000; 1,000 m in 200 mm -> 1:5,000.
    assert nice_scale((4000, 1000), (190, 140)) == 25_000
    assert nice_scale((1000, 100), (200, 100)) == 5_000


def test_calendar_counts_days_per_month_and_the_corral_that_grazes(tiny_run):
    run = read_run(tiny_run)
    schedule = run.table("schedule")
    months = list(pd.period_range("2026-01", "2026-06", freq="M"))
    groups = {h: herd_group(h, ["ALF-C1", "BET-C1"]) for h in schedule[S.HERD_ID]}
    cells = plot_calendar(schedule, ["ALF-01", "BET-01"], months, groups)
    assert [c.days for c in cells["ALF-01"]] == [14, 0, 2, 5, 0, 0]
    assert cells["ALF-01"][0].groups == ("ALF-C1",)
    assert cells["ALF-01"][0].spans == ((5, 18),)
    assert cells["ALF-01"][2].spans == ((30, 31),)
    assert [c.days for c in cells["BET-01"]] == [27, 1, 0, 0, 0, 0]


def test_herd_groups_and_their_short_labels():
    assert herd_group("PAS-C1-G2", ["PAS-C1", "PAS-C12"]) == "PAS-C1"
    assert herd_group("PAS-C12-G1", ["PAS-C1", "PAS-C12"]) == "PAS-C12"
    assert herd_group("F-007", ["PAS-C1"]) == "F-007"
    assert short_labels(["PAS-C1", "PAS-C2"]) == {"PAS-C1": "C1", "PAS-C2": "C2"}
    assert short_labels(["PAS-C1", "CAL-C2"]) == {"PAS-C1": "PAS-C1", "CAL-C2": "CAL-C2"}


@pytest.mark.parametrize(
    ("row", "es", "en"),
    [
        (
            {"soil_loss_t_ha_yr": 60.0, "pressure_ratio": 3.0},
            "sobrepastoreo: 3.0 veces la capacidad",
            "overgrazing: 3.0 times capacity",
        ),
        (
            {"soil_loss_t_ha_yr": 20.0, "pressure_ratio": 0.5, "slope_pct": 18.0},
            "erosión 20 t/ha/año por la pendiente (18 %)",
            "erosion 20 t/ha/yr from slope (18 %)",
        ),
        (
            {
                "soil_loss_t_ha_yr": 70.0,
                "pressure_ratio": 1.2,
                "slope_pct": 6.0,
                "dry_cover_pct": 12.0,
            },
            "erosión 70 t/ha/año por poca cobertura (12 %)",
            "erosion 70 t/ha/yr from low cover (12 %)",
        ),
        ({"soil_loss_t_ha_yr": 5.0, "pressure_ratio": 0.8}, "ninguna destacada", "none stands out"),
    ],
)
def test_main_driver_is_the_component_that_raised_the_class_most(row, es, en):
    # Classes (pastures.erosion): one per soil-loss threshold passed (10, 50, 200 t/ha/yr)
    # and one per pressure threshold passed (1, 2 x capacity).
    assert main_driver(pd.Series(row), "es") == es
    assert main_driver(pd.Series(row), "en") == en


def test_labels_of_crowded_small_plots_never_overlap():
    import geopandas as gpd

    plots = gpd.GeoDataFrame(
        {"plot_code": [f"P-{i}" for i in range(6)]},
        geometry=[box(1000 + 60 * i, 1000, 1040 + 60 * i, 1040) for i in range(6)],
        crs="EPSG:32719",
    )
    sizes = dict.fromkeys(plots["plot_code"], (150.0, 60.0))
    placed = place_labels(plots, sizes, extent=(0, 0, 3000, 3000), gap=10.0)
    boxes = [p.box for p in placed]
    assert len(boxes) == 6
    for i, a in enumerate(boxes):
        assert all(not a.intersects(b) for b in boxes[i + 1 :])
        # Outside every plot, with a leader line that ends on its own plot.
        assert not any(a.intersects(g) for g in plots.geometry)
    for p in placed:
        end = p.leader[1]
        geom = plots.set_index("plot_code").geometry[p.code]
        assert geom.distance(box(end[0], end[1], end[0], end[1])) < 1e-6


def test_bad_options_and_missing_folder_are_reported(tmp_path):
    with pytest.raises(ParameterError, match="lang='fr'"):
        write_atlas(tmp_path, tmp_path / "out", lang="fr")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="paper='A5'"):
        write_atlas(tmp_path, tmp_path / "out", paper="A5")  # type: ignore[arg-type]
    with pytest.raises(InputFileError, match="no such folder"):
        write_atlas(tmp_path / "nowhere", tmp_path / "out")
    with pytest.raises(InputFileError, match="no layers.gpkg or juli_sample.gpkg"):
        write_atlas(tmp_path, tmp_path / "out")


def test_a_run_with_layers_only_still_prints(tmp_path):
    run = build_run(tmp_path / "run", only=("Beta",))
    for folder in ("risk", "forage", "rotation", "indices"):
        shutil.rmtree(run / folder)
    (run / "provenance.json").unlink()
    result = write_atlas(run, tmp_path / "out")
    assert result.pages == 3
    beta = _text(result.communities["Beta"])[0]
    assert "BET-01" in beta
    assert "No hay plan de rotación" in beta
    assert "Sin imágenes satelitales" in beta
    assert "Sin datos" in beta
    # Not the sample (layers.gpkg, no provenance saying so): no illustrative note.
    assert "DATOS ILUSTRATIVOS" not in beta


@pytest.mark.slow
def test_sample_run_prints_fourteen_community_sheets(tmp_path):
    """The atlas of the real demo run (PASTURES_DEMO_RUN, or a demo run made here)."""
    folder = os.environ.get("PASTURES_DEMO_RUN")
    if not folder or not Path(folder).is_dir():
        folder = str(tmp_path / "demo")
        done = subprocess.run(
            [sys.executable, "-m", "pastures", "demo", "--out", folder, "--skip", "map",
             "--skip", "print"],
            capture_output=True, text=True, check=False, timeout=600,
            env={**os.environ, "PASTURES_CACHE_DIR": str(tmp_path / "cache")},
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    result = write_atlas(folder, tmp_path / "atlas")
    assert len(result.communities) == 14
    assert result.pages == 2 + sum(result.sheets.values())
    # no plot under 8 mm across (the circle of its area) on its sheet: the sample's
    # 5 ha plots were 4 mm at 1:60 000 before, now their sheets zoom or split
    run = read_run(folder)
    sheets = plan_sheets(run)
    numbers = dict.fromkeys(result.sheets, 0)
    for sheet in sheets:
        numbers[sheet.community] += 1
        layout = community_layout(run, sheet.community, sheet=numbers[sheet.community])
        mine = run.plots[run.plots[S.PLOT_CODE].astype(str).isin(sheet.plot_codes)]
        across_m = 2 * (mine.geometry.area / math.pi) ** 0.5
        assert (across_m / layout.scale * 1000 >= 8.0).all(), sheet
    text = " ".join(_text(result.atlas))
    for code in read_run(folder).plots[S.PLOT_CODE]:
        assert code in text


def test_calendar_days_follow_each_stay_across_months_and_times_of_day():
    # Worked by hand: a stay counts every day from its start to its end (inclusive, at
    # the start's time of day), in the month each day falls in; overlapping stays of two
    # herds on one plot count the shared day once and name both groups.
    schedule = pd.DataFrame(
        {
            S.HERD_ID: ["A-G1", "B-G1", "A-G1", "A-G1", "B-G1"],
            S.LOCATION_ID: ["P1", "P1", "P1", "P1", "P2"],
            S.START: pd.to_datetime(
                ["2026-01-30", "2026-02-02", "2025-12-31", "2026-03-05 13:00", "2026-03-09"],
                format="ISO8601",
            ),
            S.END: pd.to_datetime(
                ["2026-02-02", "2026-02-03", "2026-01-01", "2026-03-07 06:00", "2026-03-08"],
                format="ISO8601",
            ),
        }
    )
    months = list(pd.period_range("2026-01", "2026-03", freq="M"))
    cells = plot_calendar(schedule, ["P1", "P2", "P3"], months, {"A-G1": "A", "B-G1": "B"})
    jan, feb, mar = cells["P1"]
    assert (jan.days, jan.spans, jan.groups) == (3, ((1, 1), (30, 31)), ("A",))
    assert (feb.days, feb.spans, feb.groups) == (3, ((1, 3),), ("A", "B"))
    assert (mar.days, mar.spans, mar.groups) == (2, ((5, 6),), ("A",))
    assert [c.days for c in cells["P2"]] == [0, 0, 0]  # ends before it starts: no day
    assert cells["P3"] == [CalendarCell(0, (), ())] * 3


def test_atlas_drawn_in_two_processes_has_the_pages_of_one(atlas_es, tiny_run, tmp_path):
    two = atlas_es if default_workers() == 2 else write_atlas(tiny_run, tmp_path / "two", workers=2)
    one = write_atlas(tiny_run, tmp_path / "one", workers=1)
    assert one.pages == two.pages == 2 + len(one.communities)
    assert _pages_mm(one.atlas) == _pages_mm(two.atlas)
    assert _text(one.atlas) == _text(two.atlas)
    for name, path in one.communities.items():
        assert _text(path) == _text(two.communities[name])
        assert len(pypdf.PdfReader(path).pages) == 1


def test_atlas_is_drawn_here_when_a_drawing_process_dies(tiny_run, tmp_path, monkeypatch):
    import os

    from pastures.printmap import atlas as printmap_atlas

    parent, draw = os.getpid(), printmap_atlas._draw_page

    def die_in_child(*args):
        if os.getpid() != parent:
            os._exit(1)  # as if killed (out of memory)
        return draw(*args)

    monkeypatch.setattr(printmap_atlas, "_draw_page", die_in_child)
    result = write_atlas(tiny_run, tmp_path / "out", workers=2)
    assert len(pypdf.PdfReader(result.atlas).pages) == result.pages
    assert not list((tmp_path / "out").glob(".atlas-*"))  # no part files left behind


@pytest.mark.parametrize("workers", [1, 2])
def test_unwritable_atlas_folder_is_an_output_error(tiny_run, tmp_path, workers):
    from pastures.errors import OutputError

    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(OutputError, match=r"a-file/atlas/atlas\.pdf: cannot be written"):
        write_atlas(tiny_run, tmp_path / "a-file" / "atlas", workers=workers)


@pytest.mark.parametrize(
    "groups",
    [
        ("C1-LLA-1 86",),
        ("C1-ALP-1 147", "C1-ALP-2 147", "C1-ALP-3 147"),
        ("C1-ALP-10 147", "C1-OVI-1 141", "C10-LLA-12 1203", "C2-ALP-1 144"),
        ("CORRAL-MUY-LARGO-DE-NOMBRE 12",),
        ("C1-ALP-1 144", "C2-ALP-2 144", "C2-ALP-3 145"),
    ],
)
def test_calendar_cell_text_stays_in_its_cell(groups):
    # The narrowest month column (11.7 mm, 1 mm margin) at the atlas's least size, 8 pt:
    # every line, measured by matplotlib's own renderer (not the atlas's glyph outlines),
    # stays within the cell; at most two lines; every group is shown whole, broken
    # across the lines, or counted in "+n".
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pastures.printmap.calendar import _fit_groups

    width_mm, size = 10.7, 8.0
    text = _fit_groups(groups, width_mm, size)
    lines = text.split("\n")
    assert 1 <= len(lines) <= 2
    fig = plt.figure(dpi=300)
    renderer = fig.canvas.get_renderer()
    for line in lines:
        t = fig.text(0, 0, line, fontsize=size, family="DejaVu Sans")
        px = t.get_window_extent(renderer).width
        assert px / 300 * 25.4 <= width_mm + 0.3, line  # 0.3 mm: side bearings
    plt.close(fig)
    joined = " ".join(lines).replace("- ", "-")
    more = re.search(r"\+(\d+)$", joined)
    hidden = int(more.group(1)) if more else 0
    shown = [g for g in groups if g in joined]
    if joined.endswith("gr.") or " gr. " in f"{joined} ":
        # no label fits beside "+n": the number of groups
        assert lines == [f"{len(groups)} gr."]
    elif "…" not in joined:
        assert shown, joined
        assert len(shown) + hidden == len(groups)


def test_calendar_cells_sum_the_heads_of_the_groups_that_graze():
    # Worked by hand: in January groups G1 (120 head) and G2 (95) both graze P1, so the
    # cell holds 215 heads; in February only G2 (95); P2 rests (0).
    schedule = pd.DataFrame(
        {
            S.GROUP_ID: ["C1-ALP-1", "C1-LLA-1", "C1-LLA-1"],
            S.LOCATION_ID: ["P1", "P1", "P1"],
            S.START: pd.to_datetime(["2026-01-05", "2026-01-20", "2026-02-01"]),
            S.END: pd.to_datetime(["2026-01-09", "2026-01-24", "2026-02-03"]),
        }
    )
    months = list(pd.period_range("2026-01", "2026-02", freq="M"))
    heads = {"C1-ALP-1": 120, "C1-LLA-1": 95}
    cells = plot_calendar(schedule, ["P1", "P2"], months, {}, heads=heads)
    assert [c.heads for c in cells["P1"]] == [215, 95]
    assert [c.heads for c in cells["P2"]] == [0, 0]


def test_a_cell_too_narrow_for_its_groups_gives_their_heads_and_count():
    from pastures.printmap.calendar import _fit_groups

    groups = ("C1-ALP-1 147", "C2-ALP-2 144", "C2-ALP-3 145")  # 436 heads in all
    assert _fit_groups(groups, 10.7, 8.0, heads="436") == "436 (3)"
    assert _fit_groups(groups, 10.7, 8.0, heads="1436") == "1436"  # the count does not fit
    assert _fit_groups(groups, 10.7, 8.0) == "3 gr."  # heads unknown (herds of old plans)


def _pdf_of_texts(texts: list[str]) -> bytes:
    import io

    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"CreationDate": None}) as pdf:
        for page in range(2):  # a renderer per page: the cache is shared across them
            fig = Figure(figsize=(3, 2))
            for i, text in enumerate(texts):
                fig.text(0.05, 0.1 + 0.15 * i, text, fontsize=8 + 2 * ((i + page) % 2))
            pdf.savefig(fig)
    return buffer.getvalue()


def test_repeated_texts_write_the_same_pdf_as_matplotlib():
    # a text seen before in the file copies its glyph operators: the bytes are those
    # matplotlib writes, whatever its place, angle, colour or alpha
    import io

    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    from pastures.printmap.layout import shared_text_metrics

    def pdf() -> bytes:
        buffer = io.BytesIO()
        with PdfPages(buffer, metadata={"CreationDate": None}) as out:
            for page in range(3):
                fig = Figure(figsize=(3, 2))
                for i, text in enumerate(["Leyenda", "AV To ñ", "≥ 2 °C → m²", "Leyenda"]):
                    fig.text(
                        0.05 + 0.1 * page, 0.1 + 0.2 * i, text, fontsize=8 + i % 2,
                        rotation=90 * (page == 2), color="0.3" if i == 2 else "black",
                        alpha=0.5 if i == 1 else None,
                    )  # fmt: skip
                out.savefig(fig)
        return buffer.getvalue()

    plain = pdf()
    with shared_text_metrics():
        cached = pdf()
    assert cached == plain


def test_glyph_operators_are_kept_only_from_the_plain_shape():
    from pastures.printmap.layout import _glyph_operators

    assert _glyph_operators(b"q\n1 0 0 1 5 6 cm\nBT\n/F1 8 Tf\n<0001> Tj\nET\nQ\n") == (
        b"BT\n/F1 8 Tf\n<0001> Tj\nET\n"
    )
    assert _glyph_operators(b"q\nBT\n/F1 8 Tf\n5 6 Td\nET\nQ\n") is None  # placed inside
    assert _glyph_operators(b"1 g\nq\n1 0 0 1 5 6 cm\nBT\nET\nQ\n") is None
    assert _glyph_operators(b"q\n1 0 0 1 5 6 cm\nBT\nET\nBT\nET\nQ\n") is None


def test_shared_text_layout_writes_the_same_pdf_and_is_undone():
    from matplotlib.backends import backend_pdf

    from pastures.printmap.layout import shared_text_metrics

    texts = ["Límite de la comunidad", "C01-17 8.5 ha", "≥ 2 °C → m²", "año ñandú"]
    before = (
        backend_pdf.RendererPdf.draw_text,
        backend_pdf.RendererPdf.get_text_width_height_descent,
        backend_pdf._text_helpers,
    )
    plain = _pdf_of_texts(texts)
    with shared_text_metrics():
        assert backend_pdf.RendererPdf.draw_text is not before[0]
        with shared_text_metrics():  # nested (e.g. two atlases in one process): one cache
            cached = _pdf_of_texts(texts)
        assert backend_pdf.RendererPdf.draw_text is not before[0]
    assert cached == plain  # same glyphs at the same places, at each size
    assert (
        backend_pdf.RendererPdf.draw_text,
        backend_pdf.RendererPdf.get_text_width_height_descent,
        backend_pdf._text_helpers,
    ) == before


def test_background_is_written_at_three_pixels_a_cell_within_50_to_100_dpi():
    from pastures.printmap.mapframe import background_dpi

    # by hand: a 30 m cell at 1:25 000 is 1.2 mm on paper; 3 pixels in 1.2 mm = 63.5 dpi
    assert background_dpi(30.0, 25_000) == pytest.approx(63.5)
    assert background_dpi(30.0, 10_000) == 50.0  # 3 mm a cell: 25.4 dpi, raised to 50
    assert background_dpi(30.0, 100_000) == 100.0  # 0.3 mm a cell: 254 dpi, capped at 100


def _pdf_of(texts: list[tuple[float, float, str, dict]], *, batch: bool) -> bytes:
    import io

    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    from pastures.printmap.pagetext import PageText

    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"CreationDate": None}) as pdf:
        fig = Figure(figsize=(3, 2))
        words = PageText(fig.transFigure)
        if batch:
            fig.add_artist(words)
        for x, y, s, kw in texts:
            if batch:
                words.add(x, y, s, **kw)
            else:
                fig.add_artist(Text(x, y, s, transform=fig.transFigure, **kw))
        pdf.savefig(fig)
    return buffer.getvalue()


def test_page_text_writes_what_text_artists_write():
    # the plain texts of a page, drawn by one artist with matplotlib's layout: the same
    # PDF as a Text each (alignment, several lines, angle, colour, italic)
    texts = [
        (0.1, 0.1, "Leyenda", {"fontsize": 10, "weight": "bold", "va": "top"}),
        (0.5, 0.3, "Bajo\nMuy alto", {"fontsize": 8.5, "ha": "center", "va": "center",
                                      "linespacing": 1.3, "color": "0.3"}),
        (0.9, 0.5, "→ erosión 11 t/ha/año", {"fontsize": 8, "style": "italic", "ha": "right",
                                             "va": "baseline"}),
        (0.3, 0.8, "8 170 250", {"fontsize": 8, "rotation": 90, "ha": "right", "va": "center"}),
    ]  # fmt: skip
    assert _pdf_of(texts, batch=True) == _pdf_of(texts, batch=False)


def test_only_plain_texts_go_to_the_page_text():
    from pastures.printmap.pagetext import is_plain

    assert is_plain("Leyenda", {"fontsize": 10, "weight": "bold"})
    assert not is_plain("DATOS", {"bbox": {"fc": "white"}})  # a box: a Text of its own
    assert not is_plain("$x^2$", {"fontsize": 8})  # mathtext
    assert not is_plain("", {"fontsize": 8})


def test_page_text_draws_a_text_artist_where_the_layout_is_not_as_expected(monkeypatch):
    # a matplotlib whose Text does not lay out as this one: each text drawn as a Text
    from pastures.printmap import pagetext

    monkeypatch.setattr(pagetext, "_text_layout", lambda *args: None)
    monkeypatch.setattr(pagetext, "_LAYOUTS", {})
    texts = [
        (0.1, 0.1, "Leyenda", {"fontsize": 10, "weight": "bold", "va": "top"}),
        (0.5, 0.5, "Bajo\nAlto", {"fontsize": 8.5, "ha": "center", "linespacing": 1.3}),
    ]
    assert _pdf_of(texts, batch=True) == _pdf_of(texts, batch=False)
