"""The language rule and the catalogs (pastures.i18n)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pastures import i18n

PO = i18n.LOCALE_DIR / "es" / "LC_MESSAGES" / "pastures.po"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "en"),
        ({"LANG": "es_PE.UTF-8"}, "es"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LC_ALL": "es_ES.UTF-8", "LANG": "en_GB.UTF-8"}, "es"),
        ({"LC_MESSAGES": "en_US.UTF-8", "LANG": "es_PE.UTF-8"}, "en"),
        ({"LANGUAGE": "ay:es", "LANG": "en_US.UTF-8"}, "es"),  # no Aymara catalog: next one
        ({"LANG": "fr_FR.UTF-8"}, "en"),  # no French catalog: the source language
    ],
)
def test_language_from_environment_follows_gettext_order(environ, expected):
    assert i18n.language_from_environment(environ) == expected


def test_spanish_is_available_and_english_comes_first():
    languages = i18n.available_languages()
    assert languages[0] == "en"
    assert "es" in languages


def test_dates_and_numbers_follow_the_language():
    day = dt.date(2026, 1, 12)
    assert i18n.format_date(day, "es", "d MMM y") == "12 ene 2026"
    assert i18n.format_date(day, "en", "d MMM y") == "12 Jan 2026"
    assert i18n.format_number(1234.5, "en", 1) == "1,234.5"
    assert i18n.format_number(12345.5, "es", 1) == "12.345,5"


def test_shipped_catalogs_pass_msgfmt_check():
    if shutil.which("msgfmt") is None:
        pytest.skip("msgfmt (Debian package gettext) is not installed")
    for po in i18n.LOCALE_DIR.glob("*/LC_MESSAGES/pastures.po"):
        subprocess.run(["msgfmt", "--check", "--output-file", os.devnull, str(po)], check=True)


def test_shipped_mo_is_compiled_from_its_po(tmp_path: Path):
    """The committed .mo says what its .po says (run scripts/catalogs.py after editing)."""
    import gettext

    for po in i18n.LOCALE_DIR.glob("*/LC_MESSAGES/pastures.po"):
        fresh = tmp_path / po.parent.parent.name / "LC_MESSAGES" / "pastures.mo"
        i18n.compile_catalog(po, fresh)
        with fresh.open("rb") as a, po.with_suffix(".mo").open("rb") as b:
            assert gettext.GNUTranslations(a)._catalog == gettext.GNUTranslations(b)._catalog


def test_a_po_without_mo_is_compiled_into_the_cache(tmp_path, monkeypatch):
    """A translator's new .po works without a build step; the package is not written."""
    locale = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale)
    qu = locale / "qu" / "LC_MESSAGES"
    qu.mkdir(parents=True)
    (qu / "pastures.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "plot"\nmsgstr "chakra"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    i18n.catalog_dir.cache_clear()
    i18n.translator.cache_clear()
    try:
        assert "qu" in i18n.available_languages()
        assert i18n.gettext_for("qu")("plot") == "chakra"
        assert not (qu / "pastures.mo").exists()
    finally:
        i18n.catalog_dir.cache_clear()
        i18n.translator.cache_clear()


def test_a_language_babel_does_not_know_still_compiles(tmp_path, monkeypatch):
    """Aymara (``ay``) has no CLDR data in Babel: its catalog compiles and is used anyway."""
    locale = tmp_path / "locale"
    ay = locale / "ay" / "LC_MESSAGES"
    ay.mkdir(parents=True)
    (ay / "pastures.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        'msgid "plot"\nmsgstr "uyu"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    i18n.catalog_dir.cache_clear()
    i18n.translator.cache_clear()
    try:
        assert i18n.available_languages() == ["en", "ay"]
        assert i18n.gettext_for("ay")("plot") == "uyu"
    finally:
        i18n.catalog_dir.cache_clear()
        i18n.translator.cache_clear()


def test_a_project_may_speak_any_language_with_a_catalog(tmp_path):
    """The language key takes the languages with a catalog, and names them when refused."""
    from pastures.errors import ProjectError
    from pastures.project import load_project_file

    refused = {}
    for code in ("en", "es", "fr"):
        path = tmp_path / f"{code}.toml"
        path.write_text(f'[project]\nname = "x"\nlanguage = "{code}"\n', encoding="utf-8")
        with pytest.raises(ProjectError) as caught:  # no layers: refused for that anyway
            load_project_file(path)
        refused[code] = [str(p) for p in caught.value.problems if "language" in str(p)]
    assert refused["en"] == refused["es"] == []
    assert len(refused["fr"]) == 1
    assert "expected one of 'en', 'es'; got 'fr'" in refused["fr"][0]
