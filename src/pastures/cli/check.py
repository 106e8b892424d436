"""`pastures check` (being written)."""

from __future__ import annotations

import click


@click.command("check")
def command() -> None:
    """Not yet available."""
    raise click.UsageError("not yet available")
