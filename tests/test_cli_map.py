"""``pastures map`` through its real entry point."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from pastures.cli import main
from test_webmap import EVIL_COMMUNITY, make_run


def test_map_writes_the_html_into_the_run_folder(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    result = CliRunner().invoke(main, ["map", str(run), "--on", "2026-01-05"])
    assert result.exit_code == 0, result.output
    page = (run / "map.html").read_text(encoding="utf-8")
    assert '<html lang="es">' in page
    assert "Parcelas (color seg" in page
    assert EVIL_COMMUNITY not in page
    assert "map.html" in result.output
    assert "MB" in result.output


def test_map_english_to_a_chosen_file(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run")
    out = tmp_path / "field" / "campo.html"
    result = CliRunner().invoke(main, ["map", str(run), "-o", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Plots (colour by variable)" in out.read_text(encoding="utf-8")


def test_map_of_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["map", str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert "no layers.gpkg or juli_sample.gpkg here" in result.output
    assert not (tmp_path / "empty" / "map.html").exists()


def test_map_rejects_an_unknown_language(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["map", str(tmp_path), "--lang", "fr"])
    assert result.exit_code == 2
    assert "'fr' is not one of 'es', 'en'" in result.output
