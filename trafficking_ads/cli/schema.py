"""`trafficking-ads schema`: the JSON Schema of the records."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def schema() -> None:
        """Print the JSON Schema of Ad and Assessment (the records every stage reads and writes)."""
        from ..records import json_schema

        typer.echo(json.dumps(json_schema(), indent=2, ensure_ascii=False))
