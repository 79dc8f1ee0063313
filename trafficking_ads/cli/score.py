"""`trafficking-ads score`: score a batch of ads into JSON Lines or CSV.

Parses options, draws progress and the summary on stderr; everything else is
`trafficking_ads.batch.score_file`.
"""

from __future__ import annotations

import errno
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from .messages import MAX_PRINTED_ERRORS
from .messages import say as _err
from .models import MODELS_DIR_HELP, with_models_dir

#: errno values that mean "no space to write": a full disk, a full quota, a file-size limit.
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
#: Exit code when the run scored no ad at all (documented in the epilog and the README).
EXIT_NOTHING_SCORED = 3
#: Exit code after Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130

EPILOG = (
    "Formats in: JSON Lines, JSON array, Telegram export (result.json or its folder), CSV/TSV "
    "(EMSCAD and DIFrauD columns recognised), .txt files or a directory of them, a scrape crawl store (.sqlite, .db), Parquet, '-' for stdin. "
    "Encodings: UTF-8 (BOM or not), UTF-16 with BOM, Windows-1251 detected; others by --encoding. "
    "Exit codes: 0 done; 1 usage error (bad option, missing input, no model, a partial output of another model); "
    "2 input error under --strict; 3 no ad was scored (empty or unreadable input, a --map that matches nothing); "
    "130 interrupted by Ctrl-C (stops within a second; every ad scored so far is kept in OUTPUT.partial: rerun with --resume). "
    "A full disk stops the run with exit code 1 and keeps the partial output for --resume. "
    "CSV cells starting with = + - @ TAB or CR get a leading ' so spreadsheets show them as text. "
    "--engine ray writes OUTDIR/part-*.parquet (or .jsonl), OUTDIR/errors/ and resumes by re-running the same command."
)


class OutputFormat(str, Enum):
    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


class Engine(str, Enum):
    local = "local"
    ray = "ray"


class InputFormat(str, Enum):
    auto = "auto"
    jsonl = "jsonl"
    json = "json"
    csv = "csv"
    tsv = "tsv"
    text = "text"


def register(app: typer.Typer) -> None:
    """Add the `score` command to the app."""

    @app.command(epilog=EPILOG)
    def score(
        inputs: Optional[list[str]] = typer.Argument(
            None, metavar="INPUT...", help="Files or directories of ads, '-' for stdin."
        ),
        output: Optional[Path] = typer.Option(
            None, "-o", "--output", help="Output file (written atomically); stdout when absent."
        ),
        model: Optional[str] = typer.Option(
            None,
            "--model",
            help="Model directory, or a name in your models directory or the shipped ones (default: default, or $TRAFFICKING_ADS_MODEL).",
        ),
        models_dir: Optional[Path] = typer.Option(None, "--models-dir", help=MODELS_DIR_HELP),
        text: Optional[list[str]] = typer.Option(None, "--text", help="Score this text as an ad (repeatable)."),
        encoding: Optional[str] = typer.Option(
            None, "--encoding", help="Input encoding (e.g. cp1251); detected when absent."
        ),
        output_format: Optional[OutputFormat] = typer.Option(
            None,
            "--format",
            help="Output format (default: jsonl locally, parquet with --engine ray); CSV joins indicator ids with ';' and holds evidence as JSON; Parquet nests them (network as JSON text).",
        ),
        input_format: InputFormat = typer.Option(
            "auto", "--input-format", help="Input format (auto: by extension, then content)."
        ),
        mapping: Optional[list[str]] = typer.Option(
            None, "--map", help="Column mapping for CSV/JSON input, e.g. 'text=description+requirements,title=name'."
        ),
        errors: Optional[Path] = typer.Option(
            None, "--errors", help="Where to list skipped records as JSON Lines (default: OUTPUT.errors.jsonl)."
        ),
        strict: bool = typer.Option(False, "--strict", help="Stop at the first bad record (exit code 2)."),
        resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run from OUTPUT.partial."),
        fields: Optional[str] = typer.Option(
            None,
            "--fields",
            help="Ad fields carried in each record, comma-separated ('' for none). Default: text,title,url,source,location,contacts,posted_at,company_name.",
        ),
        quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress, per-record warnings or summary."),
        precision: Optional[str] = typer.Option(
            None,
            "--precision",
            help="Transformer arithmetic: auto (int8 where the CPU has VNNI/AMX, else fp32), fp32, int8 or bf16 on openvino; fp32 on torch; default: model.json's (auto). `trafficking-ads doctor` shows what auto picks here.",
        ),
        runtime: Optional[str] = typer.Option(
            None,
            "--runtime",
            help="Transformer runtime: openvino (serving; its graph is built and cached on first use) or torch (the training reference, needs the [train] extra); default: model.json's (openvino).",
        ),
        cluster: bool = typer.Option(
            False,
            "--cluster",
            help="Then find recruitment networks: fill each record's `network` and write OUTPUT.clusters.jsonl (JSONL output only).",
        ),
        engine: Engine = typer.Option(
            "local",
            "--engine",
            help="local: this process; ray: a Ray cluster, -o is then a directory of shards (docs/distributed.md).",
        ),
        address: Optional[str] = typer.Option(
            None,
            "--address",
            help="--engine ray: 'auto' (the cluster this machine is in) or ray://HOST:PORT; default: a local Ray instance.",
        ),
        actors: Optional[int] = typer.Option(
            None,
            "--actors",
            min=1,
            help="--engine ray: scoring actors, each loading the model once (default: the cluster's CPUs).",
        ),
    ) -> None:
        """Score ads: one assessment per ad (risk, band, indicators with evidence) as JSON Lines or CSV.

        Bad records (invalid JSON, missing or empty text, undecodable bytes, a field of the wrong type) are skipped and reported with file, line/row and reason, on stderr and in the errors file; nothing good is dropped. Output is written atomically (OUTPUT.partial, renamed when done).
        """
        model = with_models_dir(model, models_dir)
        from rich.console import Console

        from ..batch import BatchSummary, StrictModeError, score_file
        from ..readers import InputError, input_size
        from ..records import SCORED_AD_FIELDS
        from ..writers import OutputError, partial_path

        console = Console(stderr=True, highlight=False)
        if engine is Engine.ray:
            from .score_ray import score_with_ray

            score_with_ray(
                console,
                inputs=inputs or [],
                output=output,
                model=model,
                fmt=output_format.value if output_format else "parquet",
                address=address,
                actors=actors,
                encoding=encoding,
                mapping=mapping,
                input_format=input_format.value,
                fields=fields,
                quiet=quiet,
                precision=precision,
                runtime=runtime,
                unsupported={
                    "--text": bool(text),
                    "--strict": strict,
                    "--resume": resume,
                    "--cluster": cluster,
                    "--errors": errors is not None,
                },
            )
            return
        output_format = output_format or OutputFormat.jsonl
        if not inputs and not text:
            _err(console, "error: give at least one INPUT (a file, a directory or '-') or --text")
            raise typer.Exit(1)
        ad_fields = SCORED_AD_FIELDS if fields is None else tuple(f.strip() for f in fields.split(",") if f.strip())
        if resume and output is None:
            _err(console, "error: --resume needs -o OUTPUT")
            raise typer.Exit(1)
        if cluster and (output is None or output_format.value != "jsonl"):
            _err(console, "error: --cluster needs -o OUTPUT in JSON Lines format")
            raise typer.Exit(1)

        printed = [0]

        def on_bad(rec) -> None:
            if quiet:
                return
            printed[0] += 1
            if printed[0] <= MAX_PRINTED_ERRORS:
                _err(console, f"skipped: {rec.message()}")
            elif printed[0] == MAX_PRINTED_ERRORS + 1:
                _err(console, "skipped: … (more bad records; see the errors file)")

        if quiet:
            import logging

            logging.getLogger("trafficking_ads").setLevel(logging.WARNING)  # no first-run notes either
        summary = BatchSummary()
        progress = None
        on_progress = None
        if not quiet and sys.stderr.isatty():
            from .progress import ScoreProgress

            progress = ScoreProgress(console, summary, input_size(inputs) if inputs else None)
            on_progress = progress.update
            progress.start()
        try:
            opts = {k: v for k, v in (("precision", precision), ("runtime", runtime)) if v}
            score_file(
                inputs or [],
                output,
                model=model,
                model_options=opts,
                text=text,
                encoding=encoding,
                mapping=mapping,
                input_format=input_format.value,
                output_format=output_format.value,
                ad_fields=ad_fields,
                errors=errors,
                strict=strict,
                resume=resume,
                on_bad=on_bad,
                on_progress=on_progress,
                summary=summary,
            )
        except StrictModeError as e:
            _stop(progress)
            _err(console, f"error: {e}")
            if output is not None:
                _err(console, f"partial output kept at {partial_path(output)}")
            raise typer.Exit(2)
        except (InputError, FileNotFoundError, ValueError, OutputError) as e:
            _stop(progress)
            _err(console, f"error: {e}")
            raise typer.Exit(1)
        except OSError as e:
            _stop(progress)
            if e.errno in NO_SPACE:
                where = (
                    f"; partial output kept at {partial_path(output)}: free some space and rerun with --resume"
                    if output is not None
                    else ""
                )
                _err(
                    console,
                    f"error: no space left writing {e.filename or output or 'the output'} ({e.strerror}){where}",
                )
            else:
                _err(console, f"error: {e.filename + ': ' if e.filename else ''}{e.strerror or e}")
            raise typer.Exit(1)
        except KeyboardInterrupt:
            _stop(progress)
            done = summary.scored + summary.resumed
            if summary.model is None or (output is not None and not partial_path(output).exists()):
                _err(console, "interrupted before any ad was scored")
            elif output is not None:
                _err(
                    console,
                    f"interrupted: {done} ads scored are kept in {partial_path(output)}; "
                    f"rerun the same command with --resume to continue",
                )
            else:
                _err(console, f"interrupted after {done} ads (with -o OUTPUT a run can be resumed with --resume)")
            raise typer.Exit(EXIT_INTERRUPTED)
        _stop(progress)
        if not quiet:
            for line in summary.lines():
                _err(console, line)
        if summary.scored + summary.resumed == 0:
            why = (
                f"all {summary.skipped_total} records were skipped"
                if summary.skipped_total
                else "the input holds no ads"
            )
            _err(
                console,
                f"error: no ad was scored ({why}; check the input, --input-format and --map); exit code {EXIT_NOTHING_SCORED}",
            )
            raise typer.Exit(EXIT_NOTHING_SCORED)
        if cluster:
            from ..networks.io import cluster_files
            from .cluster import summary_line

            run = cluster_files([output], output.with_name(output.name + ".clusters.jsonl"), annotate_out=output)
            if not quiet:
                _err(console, summary_line(run))


def _stop(progress) -> None:
    """Take the progress display down (before any message, so the message stays on screen)."""
    if progress is not None:
        progress.stop()
