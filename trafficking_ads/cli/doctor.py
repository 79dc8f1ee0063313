"""`trafficking-ads doctor`: this machine's CPU, the runtime and precision chosen for it, the
caches, the installed extras and a short self-benchmark (a thin layer over `trafficking_ads.doctor`)."""

from __future__ import annotations

import json
import logging
import sys

import typer


def register(app: typer.Typer) -> None:
    """Add the `doctor` command to the app."""

    @app.command()
    def doctor(
        seconds: float = typer.Option(10.0, "--seconds", min=0, help="Self-benchmark length in seconds (0: skip it)."),
        model: str | None = typer.Option(None, "--model", help="Model to benchmark (default: the default model)."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    ) -> None:
        """Print the CPU model and features, the runtime and precision "auto" picks here (int8
        only with AVX512-VNNI, AVX-VNNI or AMX), cache locations and sizes, installed extras,
        and ads/s on built-in sample ads (the first run also builds the model's graph)."""
        from ..doctor import doctor_report, format_report

        log = logging.getLogger("trafficking_ads")
        if not log.handlers:  # show "preparing ... (first run)" while the graph is built
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.INFO)
        report = doctor_report(seconds, model)
        typer.echo(json.dumps(report.as_dict(), indent=1) if as_json else format_report(report))

    _ = doctor
