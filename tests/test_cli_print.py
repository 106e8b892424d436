"""``pastures print`` through its real entry point (click's CliRunner on the group)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pastures.cli import main
from printmap_helpers import build_run

pypdf = pytest.importorskip("pypdf", reason="pypdf reads the atlas back (pip install -e .[test])")


def test_print_writes_the_atlas_and_one_pdf_per_community(tmp_path):
    run = build_run(tmp_path / "run", only=("Beta",))
    out = tmp_path / "a3"
    result = CliRunner().invoke(
        main, ["print", str(run), "-o", str(out), "--paper", "A3", "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["atlas.pdf", "beta.pdf"]
    assert "3 pages" in result.output
    assert "beta.pdf" in result.output
    reader = pypdf.PdfReader(out / "atlas.pdf")
    # A3 portrait cover: 297 x 420 mm = 841.9 x 1190.6 pt.
    assert float(reader.pages[0].mediabox.width) == pytest.approx(297 / 25.4 * 72, abs=0.1)
    assert "Rotation calendar" in reader.pages[2].extract_text()
    # Inputs untouched: nothing but the run's own files and no atlas folder inside it.
    assert not (run / "atlas").exists()


def test_print_without_a_run_folder_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["print", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "no such folder" in result.output
    assert "pastures demo" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["print", str(empty)])
    assert result.exit_code == 1
    assert "no layers.gpkg or juli_sample.gpkg" in result.output


def test_print_rejects_an_unknown_paper(tmp_path):
    result = CliRunner().invoke(main, ["print", str(tmp_path), "--paper", "A5"])
    assert result.exit_code == 2
    assert "A5" in result.output


def test_print_in_one_process_gives_the_same_atlas(tmp_path):
    run = build_run(tmp_path / "run", only=("Beta",))
    texts = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        result = CliRunner().invoke(main, ["print", str(run), "-o", str(out), "--workers", workers])
        assert result.exit_code == 0, result.output
        texts.append([p.extract_text() for p in pypdf.PdfReader(out / "atlas.pdf").pages])
    assert texts[0] == texts[1]
    assert len(texts[0]) == 3
    result = CliRunner().invoke(main, ["print", str(run), "--workers", "0"])
    assert result.exit_code == 2
    assert "--workers" in result.output
