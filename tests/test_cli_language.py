"""The command line speaks --lang, else the locale, else English (help, click's words, errors).

Through the real entry point (``python -m pastures`` in a fresh interpreter, with the
environment a user would have) and through click's CliRunner, which calls the command
line several times, in several languages, in one process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pastures import i18n
from pastures.cli import COMMANDS, main
from pastures.cli._command import Command, command_texts, help_msgids

SRC = str(Path(__file__).resolve().parent.parent / "src")


def _pastures(*args: str, lang: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"LANGUAGE", "LC_ALL", "LC_MESSAGES"}}
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env["LANG"] = lang or "C.UTF-8"
    return subprocess.run(
        [sys.executable, "-m", "pastures", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_spanish_locale_gives_spanish_group_help():
    done = _pastures("--help", lang="es_PE.UTF-8")
    assert done.returncode == 0
    out = done.stdout
    for spanish in (
        "Uso:",
        "Opciones:",
        "Comandos:",
        "Muestra este mensaje y sale.",
        "Código de salida:",
    ):
        assert spanish in out
    assert "Manejo y mapeo de pasturas" in out
    for english in (
        "Usage:",
        "Options:",
        "Show this message",
        "Exit status:",
        "Pasture management",
    ):
        assert english not in out


def test_spanish_locale_gives_spanish_command_help():
    out = _pastures("rotate", "--help", lang="es_PE.UTF-8").stdout
    assert out.startswith("Uso: ")
    assert "Primer día del plan." in out
    assert "[por defecto: 52]" in " ".join(out.split())
    assert "First day of the plan." not in out


def test_spanish_bad_option_error():
    done = _pastures("rotate", "--no-such-option", lang="es_PE.UTF-8")
    assert done.returncode == 2
    assert "No existe la opción '--no-such-option'" in done.stderr
    assert "Pruebe 'python -m pastures rotate --help' para ver la ayuda." in done.stderr
    assert "Uso: python -m pastures rotate [OPCIONES]" in done.stderr  # not "[OPTIONS]"


def test_lang_option_wins_over_the_locale():
    done = _pastures("--lang", "en", "rotate", "--no-such-option", lang="es_PE.UTF-8")
    assert done.returncode == 2
    assert "No such option '--no-such-option'" in done.stderr
    out = _pastures("--help", "--lang=en", lang="es_PE.UTF-8").stdout
    assert "Usage:" in out
    assert "Exit status:" in out
    out = _pastures("--lang", "es", "check", "--help").stdout
    assert "Revisa las capas de pasturas" in out


def test_no_locale_is_english():
    out = _pastures("--help").stdout
    assert "Usage:" in out
    assert "Show this message and exit." in out


def test_spanish_out_of_range_value():
    done = _pastures("--lang", "es", "rotate", "--weeks", "0")
    assert done.returncode == 2
    assert "Valor no válido para '--weeks'" in done.stderr
    assert "un número entero >= 1 y <= 520" in done.stderr


def test_spanish_help_names_values_in_spanish():
    """The words for an option's value (FILE, INTEGER, RUN_FOLDER...) are translated too."""
    runner = CliRunner()
    rotate = runner.invoke(main, ["--lang", "es", "rotate", "--help"]).output
    for english in ("FILE", "INTEGER", "FLOAT", "FIELD=VALUE", "FIELD=YOURS", "PROJECT.toml"):
        assert f" {english}" not in rotate
    assert "--plots ARCHIVO" in rotate
    assert "--weeks ENTERO 1<=x<=520" in rotate
    assert "--start AAAA-MM-DD" in rotate
    assert "--default CAMPO=VALOR" in rotate
    shown = runner.invoke(main, ["--lang", "es", "map", "--help"]).output
    assert "[OPCIONES] CARPETA_CORRIDA" in shown
    english = _pastures("--lang", "en", "rotate", "--help").stdout
    assert "--plots FILE" in english
    assert "--start YYYY-MM-DD" in english


def test_a_bad_day_names_the_form_expected():
    done = _pastures("--lang", "es", "rotate", "--start", "2026-13-01")
    assert done.returncode == 2
    assert "'2026-13-01' no es un día escrito AAAA-MM-DD" in done.stderr
    assert "%Y" not in done.stderr


def test_lang_alone_lists_the_languages():
    done = _pastures("--lang")
    assert done.returncode == 0
    lines = dict(line.split("\t") for line in done.stdout.splitlines())
    assert list(lines) == i18n.available_languages()
    assert lines["en"] == "English"
    assert lines["es"] == "español"


def test_unknown_language_is_a_usage_error():
    done = _pastures("--lang", "xx", "--help")
    assert done.returncode == 2
    assert "no catalog for 'xx'" in done.stderr
    assert "en, es" in done.stderr


def test_one_process_switches_languages():
    """CliRunner calls in a row: each answers in its own language; none leaks."""
    runner = CliRunner()
    before = os.environ.get("LANGUAGE")
    spanish = runner.invoke(main, ["--lang", "es", "rotate", "--help"])
    english = runner.invoke(main, ["--lang", "en", "rotate", "--help"])
    by_locale = runner.invoke(main, ["rotate", "--help"], env={"LANG": "es_PE.UTF-8"})
    default = runner.invoke(main, ["rotate", "--help"], env={"LANG": "C", "LANGUAGE": None})
    assert "Primer día del plan." in spanish.output
    assert "First day of the plan." in english.output
    assert "Usage:" in english.output
    assert "Primer día del plan." in by_locale.output
    assert "First day of the plan." in default.output
    assert os.environ.get("LANGUAGE") == before
    assert i18n.cli_language() == "en"  # library code called afterwards speaks as before
    bad = runner.invoke(main, ["--lang", "es", "check", "--bogus"])
    assert bad.exit_code == 2
    assert "No existe la opción '--bogus'" in bad.output


def _commands() -> list[tuple[str, click.Command]]:
    found = [("pastures", main)]
    for _module, name in COMMANDS:
        command = main.get_command(None, name)  # type: ignore[arg-type]
        assert command is not None
        found.append((f"pastures {name}", command))
    return found


def test_every_command_translates_its_help():
    assert all(isinstance(command, Command) for _, command in _commands()[1:])


def test_every_help_text_has_a_spanish_translation():
    """Each paragraph click shows (docstring, option help, epilog) is in the es catalog."""
    catalog = i18n.translator("es")._catalog  # type: ignore[attr-defined]
    missing = [
        (where, msgid)
        for where, command in _commands()
        for text in command_texts(command)
        for msgid in help_msgids(text)
        if msgid not in catalog
    ]
    assert missing == []


@pytest.mark.parametrize(
    "msgid",
    [
        "Usage:",
        "Options",
        "Commands",
        "Show this message and exit.",
        "No such option {name!r}.",
        "Try '{command} {option}' for help.",
        "Missing option",
        "Missing argument",
        "Invalid value for {param_hint}: {message}",
        "Error: {message}",
        "default: {default}",
    ],
)
def test_clicks_own_words_are_in_click_and_translated(msgid):
    """The msgids of pastures.cli._click_words are spelt as the installed click spells them."""
    source = "".join(
        path.read_text(encoding="utf-8") for path in Path(click.__file__).parent.glob("*.py")
    )
    assert repr(msgid)[1:-1] in source or msgid in source
    assert msgid in i18n.translator("es")._catalog  # type: ignore[attr-defined]


def test_a_bad_file_is_reported_in_spanish(tmp_path):
    """The errors users meet most (a file that is not there) speak the command line's language."""
    missing = tmp_path / "noexiste.gpkg"
    result = CliRunner().invoke(main, ["--lang", "es", "check", "--plots", str(missing)])
    assert result.exit_code == 1
    assert f"{missing}: no se encontró el archivo. Revise la ruta" in result.output
    assert "[error " in result.output
    assert "1 error, 0 avisos: corrija los errores de arriba y vuelva a revisar." in result.output
    english = CliRunner().invoke(main, ["--lang", "en", "check", "--plots", str(missing)])
    assert f"{missing}: file not found. Check the path" in english.output
