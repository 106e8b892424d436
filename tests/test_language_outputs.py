"""A project's outputs speak its language: no English word in a Spanish run, no Spanish in an
English one.

The bundled sample project (``language = "es"``) is run once through the real pipeline
(the session's ``sample_demo`` in conftest.py), and once more with ``language = "en"``.
The words looked for are taken from the catalogs themselves, not typed here: the English
words of the template's msgids (minus those that are Spanish too, and names and codes),
and the Spanish words of the Spanish msgstrs (minus those that are English too). Each
kind of output is read back as a person meets it:

- the human-readable values of the CSV tables (:data:`HUMAN_COLUMNS`; the other columns
  hold codes and numbers, and column names are identifiers in every language, see
  docs/columns.md);
- every text cell of the workbooks (openpyxl);
- the SUMMARY and DESCRIPTION of every event of the calendar (.ics);
- every text of the Gantt chart's figure (matplotlib, recorded while the run draws it);
- the map's visible text (HTML text and the labels and popups its data carries);
- the atlas's text (pdftotext).

Values that are data, not words of ours (community names, plot and group codes), are
removed before looking.
"""

from __future__ import annotations

import html
import importlib.resources
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from pastures import i18n

pytestmark = [pytest.mark.slow, pytest.mark.sample]

#: Columns of the run's CSV tables whose values are words for people (file: columns).
#: Month and week columns of the plan and the calendar are all of their columns but the
#: first ones (``*``).
HUMAN_COLUMNS: dict[str, tuple[str, ...]] = {
    "risk/risk_plots.csv": ("risk_drivers", "risk_action"),
    "rotation/rotation_plan.csv": ("strategy", "why", "*"),
    "rotation/rotation_calendar.csv": ("*",),
    "rotation/rotation_deficit.csv": ("range_standing_source", "oats_note"),
}
#: Leading identifier columns of the tables whose other columns are all words (``*``).
_ID_COLUMNS = ("community", "location_id", "strategy", "why")

#: Names, codes, units and borrowed words the catalogs hold that are no language's words
#: of ours: proper names, formats, indices, libraries, domain words kept in both
#: languages (the glossary of TRANSLATING.md), and the month abbreviations both
#: languages share ("may", "nov"; Peru's "set" for setiembre), and words spelt alike in
#: both that one catalog happens to hold only on one side ("variable", "panel").
NAMES = frozenset(
    """
    juli puno titicaca peru pastures pasiri callacami comunidad invest sdr rusle usle
    ndvi savi msavi evi ndmi sentinel landsat copernicus glo geopackage geojson
    shapefile kml kmz gpx csv xlsx qgis html leaflet xstatic dask highs milp stac json
    toml cog jpeg pdf utm epsg crs dem mfd safe boa sha castellaro florez senamhi desmet
    govers renard freimund knijff zeballos cabana fournier mann kendall pisco reed earth
    planetary computer google gps pystac exactextract rasterstats priority flood alpaca
    alpacas llama llamas bofedal bofedales pajonal tolar cesped cultivado aymara quechua
    crsp uuid bash ctrl debug windows mtd msil gura subws cop url urls api tcp dns lla
    alp ovi png ics gantt dtm corral corrales ene feb mar abr may jun jul ago set sep sept
    oct nov dic variable panel
    """.split()  # noqa: SIM905 (a list of words reads best as words)
)

_PLACEHOLDER = re.compile(r"\{[^}]*\}|%\([^)]*\)[a-z]|%[a-z]")
_CODE = re.compile(r"`[^`]*`|--?[a-z][\w-]*|\S*[._/\\=:]\S*|\[[^\]]*\]|\b[A-Z0-9]{2,}\b")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
#: A command line (``pastures risk --out x``) in an example: commands are names.
_COMMAND = re.compile(r"(?m)^\s*pastures\b.*$|^\s+--.*$|\bpastures\s+[a-z]+")


def _words(text: str) -> set[str]:
    """Lower-case words of `text`, without placeholders, options, file names and codes."""
    text = _CODE.sub(" ", _PLACEHOLDER.sub(" ", _COMMAND.sub(" ", text)))
    return {w.lower() for w in _WORD.findall(text) if len(w) >= 3}


def _catalog_words() -> tuple[set[str], set[str]]:
    """(English words of the msgids, Spanish words of the Spanish msgstrs)."""
    from babel.messages.pofile import read_po

    po = i18n.LOCALE_DIR / "es" / "LC_MESSAGES" / "pastures.po"
    with po.open("rb") as handle:
        catalog = read_po(handle)
    english: set[str] = set()
    spanish: set[str] = set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strs = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in ids:
            english |= _words(text)
        for text in strs:
            spanish |= _words(text or "")
    return english - spanish - NAMES, spanish - english - NAMES


ENGLISH, SPANISH = _catalog_words()


def test_the_word_lists_are_long_and_plain():
    assert len(ENGLISH) >= 200
    assert len(SPANISH) >= 200
    for word in ("rest", "graze", "herd", "risk", "plot", "week", "closed", "open", "group"):
        assert word in ENGLISH, word
    for word in ("descanso", "parcela", "semana", "riesgo", "grupo", "cerrada", "pastoreo"):
        assert word in SPANISH, word


# --- the runs ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def english_demo(tmp_path_factory) -> dict:
    """The sample project with ``language = "en"``, run as `sample_demo` runs it."""
    from conftest import run_sample_demo

    return run_sample_demo(tmp_path_factory.mktemp("demo_en"), language="en")


@pytest.fixture(scope="module")
def runs(sample_demo, english_demo) -> dict[str, dict]:
    return {"es": sample_demo, "en": english_demo}


# --- what a person reads -----------------------------------------------------------------


def _data_values(folder: Path) -> list[str]:
    """Names and codes that are data (communities, plots, groups, corrals), longest first."""
    found: set[str] = set()
    for name, columns in (
        ("community_summary.csv", ("community",)),
        ("rotation/rotation_groups.csv", ("group_id", "community", "corral_id", "family_id")),
        ("rotation/rotation_plots.csv", ("location_id",)),
        ("risk/risk_plots.csv", ("plot_code",)),
    ):
        path = folder / name
        if path.is_file():
            table = pd.read_csv(path, dtype=str)
            for column in columns:
                found |= set(table[column].dropna())
    return sorted(found, key=len, reverse=True)


def _csv_texts(folder: Path) -> Iterator[str]:
    for name, columns in HUMAN_COLUMNS.items():
        table = pd.read_csv(folder / name, dtype=str)
        chosen = [c for c in columns if c != "*"]
        if "*" in columns:
            chosen += [c for c in table.columns if c not in _ID_COLUMNS]
        assert chosen, name
        for column in chosen:
            yield from table[column].dropna()


def _xlsx_texts(folder: Path) -> Iterator[str]:
    import openpyxl

    books = sorted(folder.rglob("*.xlsx"))
    assert books
    for path in books:
        book = openpyxl.load_workbook(path, read_only=True)
        for sheet in book.worksheets:
            yield sheet.title
            for row in sheet.iter_rows(values_only=True):
                yield from (v for v in row if isinstance(v, str))


def _ics_texts(folder: Path) -> Iterator[str]:
    text = (folder / "rotation" / "rotation_moves.ics").read_text(encoding="utf-8")
    unfolded = text.replace("\r\n ", "")
    for line in unfolded.splitlines():
        key, _, value = line.partition(":")
        if key in {"SUMMARY", "DESCRIPTION", "X-WR-CALNAME"}:
            yield value.replace("\\,", ",").replace("\\;", ";").replace("\\n", " ")


#: The web map's static script (package data): code, comments and CSS class names, no
#: words; every word it shows comes in the page's data (``PASTURES``), which is read.
_MAP_SCRIPT = (
    importlib.resources.files("pastures.webmap").joinpath("map.js").read_text(encoding="utf-8")
)


def _map_texts(folder: Path) -> Iterator[str]:
    page = (folder / "map.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S)
    yield html.unescape(re.sub(r"<[^>]+>", " ", body))
    for script in scripts:
        if "@license" in script or "Leaflet" in script[:2000]:
            continue  # the inlined library (its own words are translated by the map's words)
        script = script.replace(_MAP_SCRIPT, " ")  # noqa: PLW2901 (code, not words)
        for literal in re.findall(r'"((?:[^"\\]|\\.)*)"', script):
            try:
                value = json.loads(f'"{literal}"')
            except ValueError:
                continue
            shown = html.unescape(re.sub(r"<[^>]+>", " ", value))
            if " " in shown.strip():  # labels, tips and popups; keys and colours have none
                yield shown


def _atlas_texts(folder: Path) -> Iterator[str]:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: apt-get install poppler-utils")
    for pdf in sorted((folder / "atlas").glob("*.pdf")):
        done = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        )
        yield done.stdout


def _gantt_texts(run: dict) -> Iterator[str]:
    assert run["gantt"], "the run drew no Gantt chart"
    yield from run["gantt"]


READERS = {
    "csv": lambda run: _csv_texts(run["folder"]),
    "xlsx": lambda run: _xlsx_texts(run["folder"]),
    "ics": lambda run: _ics_texts(run["folder"]),
    "gantt": _gantt_texts,
    "map": lambda run: _map_texts(run["folder"]),
    "atlas": lambda run: _atlas_texts(run["folder"]),
}


def _foreign_words(run: dict, output: str, foreign: set[str]) -> dict[str, str]:
    """Each word of `foreign` found in the output, with a piece of the text it is in."""
    data = _data_values(run["folder"])
    if "result" in run:  # the project's own name is data too ("Muestra de Juli (ilustrativa)")
        data.insert(0, run["result"].config.name)
    found: dict[str, str] = {}
    texts = list(READERS[output](run))
    assert texts, f"no text read from the {output}"
    for text in texts:
        for value in data:
            text = text.replace(value, " ")  # noqa: PLW2901 (data is not our words)
        for word in _words(text) & foreign:
            found.setdefault(word, " ".join(text.split())[:160])
    return found


@pytest.mark.parametrize(
    "output",
    [
        "csv",
        "xlsx",
        "ics",
        "gantt",
        "map",
        "atlas",
    ],
)
@pytest.mark.parametrize(("language", "foreign"), [("es", "en"), ("en", "es")])
def test_outputs_hold_no_word_of_the_other_language(runs, output, language, foreign):
    words = ENGLISH if foreign == "en" else SPANISH
    found = _foreign_words(runs[language], output, words)
    assert found == {}


_PER_INDEX = re.compile(r"(ndvi|savi|msavi2|evi|ndmi|bofedal)_(mean|min|max|last|dates)")
_PERIOD = re.compile(r"\d{4}-\d{2}(-\d{2})?")


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_csv_column_is_in_the_data_dictionary(runs, language):
    """docs/columns.md (schema.COLUMN_LABELS) names every column the run wrote."""
    from pastures import schema as S

    folder = runs[language]["folder"]
    tables = sorted(folder.rglob("*.csv"))
    assert len(tables) >= 15
    missing = set()
    for path in tables:
        for column in pd.read_csv(path, nrows=0).columns:
            if _PERIOD.fullmatch(column):
                continue  # the plan's months, the calendar's periods
            key = _PER_INDEX.sub(r"<index>_\2", column)
            if key not in S.COLUMN_LABELS:
                missing.add(f"{path.relative_to(folder)}: {column}")
    assert sorted(missing) == []


def test_csv_names_codes_and_dates_are_the_same_in_every_language(runs):
    """Column names, codes and ISO dates do not change with the project's language."""
    es, en = runs["es"]["folder"], runs["en"]["folder"]
    tables = sorted(p.relative_to(es) for p in es.rglob("*.csv"))
    assert tables == sorted(p.relative_to(en) for p in en.rglob("*.csv"))
    for name in tables:
        assert list(pd.read_csv(es / name, nrows=0).columns) == list(
            pd.read_csv(en / name, nrows=0).columns
        ), name
    risk_es = pd.read_csv(es / "risk" / "risk_plots.csv")
    risk_en = pd.read_csv(en / "risk" / "risk_plots.csv")
    assert list(risk_es["risk_class"]) == list(risk_en["risk_class"])  # codes
    assert list(risk_es["risk_drivers"]) != list(risk_en["risk_drivers"])  # words
    stays_es = pd.read_csv(es / "rotation" / "rotation_schedule.csv")
    stays_en = pd.read_csv(en / "rotation" / "rotation_schedule.csv")
    assert stays_es.equals(stays_en)  # the same plan, dates written 2026-01-05 in both
    assert stays_es["start"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
