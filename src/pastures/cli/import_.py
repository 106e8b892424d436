"""`pastures import` (being written)."""

from __future__ import annotations

import click


@click.command("import")
def command() -> None:
    """Not yet available."""
    raise click.UsageError("not yet available")
