"""``python -m pastures``: the same as the ``pastures`` command."""

from pastures.cli import run

run()
