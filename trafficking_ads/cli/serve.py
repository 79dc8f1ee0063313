"""`trafficking-ads serve`: the HTTP scoring service (a thin layer over `trafficking_ads.serve`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .models import MODELS_DIR_HELP, with_models_dir

EPILOG = (
    "Routes: POST /v1/score, POST /v1/explain, GET /v1/model, /healthz, /readyz, /metrics, /openapi.json, /docs; "
    "Label Studio ML backend: /setup, /health, /predict, /webhook. "
    "SIGTERM stops it gracefully (in-flight requests finish, exit 0). Exit codes: 0 stopped, 1 usage error or the model failed to load."
)


def register(app: typer.Typer) -> None:
    """Add the `serve` command to the app."""

    @app.command(epilog=EPILOG)
    def serve(
        model: Optional[str] = typer.Option(
            None,
            "--model",
            help="Model directory, or a name in your models directory or the shipped ones (default: default, or $TRAFFICKING_ADS_MODEL).",
        ),
        models_dir: Optional[Path] = typer.Option(None, "--models-dir", help=MODELS_DIR_HELP),
        host: str = typer.Option(
            "127.0.0.1", "--host", help="Address to listen on (this machine only unless told otherwise)."
        ),
        port: int = typer.Option(8080, "--port", help="Port to listen on (0: any free port; the log says which)."),
        api_key_file: Optional[Path] = typer.Option(
            None,
            "--api-key-file",
            help="File of API keys, one per line (at least 16 characters each); every route but /healthz and /readyz then needs 'Authorization: Bearer KEY' (or HTTP Basic with the key as password).",
        ),
        max_batch: int = typer.Option(
            64, "--max-batch", help="Most ads per model batch (concurrent requests are coalesced)."
        ),
        max_wait_ms: float = typer.Option(
            25.0,
            "--max-wait-ms",
            help="Longest wait for a batch to fill, in milliseconds (only while more requests are expected: a lone client never waits).",
        ),
        max_queue: int = typer.Option(
            1024, "--max-queue", help="Most ads waiting for the model; beyond it requests get 503 with Retry-After."
        ),
        max_request_ads: int = typer.Option(
            256, "--max-request-ads", help="Most ads in one request (or tasks in one Label Studio /predict)."
        ),
        max_text_chars: int = typer.Option(50_000, "--max-text-chars", help="Most characters in one ad's text."),
        max_body_bytes: int = typer.Option(
            8 * 1024 * 1024, "--max-body-bytes", help="Largest request body in bytes (413 beyond)."
        ),
        shutdown_timeout: float = typer.Option(
            30.0, "--shutdown-timeout", help="Seconds in-flight requests get to finish after SIGTERM."
        ),
        threshold: Optional[float] = typer.Option(
            None,
            "--threshold",
            help="Operating threshold of the Label Studio verdict (default: the model's, as `label export`).",
        ),
        runtime: Optional[str] = typer.Option(
            None, "--runtime", help="Transformer runtime override (openvino or torch); default: model.json's."
        ),
        precision: Optional[str] = typer.Option(
            None, "--precision", help="Transformer arithmetic override (auto, fp32, int8, bf16); default: model.json's."
        ),
        label_dir: Optional[Path] = typer.Option(
            None,
            "--label-dir",
            help="Let the analyst's desk (the page at /) label ads: deceptive / legitimate / unsure with a note, merged into DIR/labels.jsonl as `label import` writes it.",
        ),
        log_ads: bool = typer.Option(
            False,
            "--log-ads",
            help="Also log ad text and contacts (off by default: logs hold counts, bands and timings).",
        ),
        log_level: str = typer.Option("info", "--log-level", help="critical, error, warning, info or debug."),
    ) -> None:
        """Serve the model over HTTP: scoring for moderation pipelines and a Label Studio ML backend.

        Example: `trafficking-ads serve` then `curl -s localhost:8080/v1/score -d '"Работа в Дубае для девушек..."'`.
        The model loads once, in the background: /healthz answers at once, /readyz when the model is warm.
        """
        model = with_models_dir(model, models_dir)
        try:
            from ..serve import ServeSettings
            from ..serve import serve as run
            from ..serve.logs import setup_logging
        except ImportError as e:
            typer.echo(
                f"error: the service needs the [serve] extra (pip install 'trafficking-ads[serve]'): {e}", err=True
            )
            raise typer.Exit(1)
        settings = ServeSettings(
            model=model,
            runtime=runtime,
            precision=precision,
            host=host,
            port=port,
            api_key_file=api_key_file,
            max_batch=max_batch,
            max_wait_ms=max_wait_ms,
            max_queue=max_queue,
            max_request_ads=max_request_ads,
            max_text_chars=max_text_chars,
            max_body_bytes=max_body_bytes,
            shutdown_timeout=shutdown_timeout,
            log_ads=log_ads,
            log_level=log_level,
            threshold=threshold,
            label_dir=label_dir,
        )
        try:
            settings.check()
            setup_logging(settings.log_level)
            code = run(settings)
        except (ValueError, FileNotFoundError) as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1)
        except OSError as e:
            typer.echo(f"error: cannot listen on {host}:{port}: {e.strerror or e}", err=True)
            raise typer.Exit(1)
        raise typer.Exit(code)
