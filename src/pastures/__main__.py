"""``python -m pastures``: the same as the ``pastures`` command."""

from pastures.cli import console_main

console_main()
