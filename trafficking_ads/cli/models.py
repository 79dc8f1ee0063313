"""`trafficking-ads models` commands (owned by the stage that implements them)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app (none yet)."""
