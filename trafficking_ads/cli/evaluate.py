"""`trafficking-ads evaluate`: a model and the TF-IDF baseline on the same labelled data."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .models import MODELS_DIR_HELP, with_models_dir

EPILOG = (
    "Examples: trafficking-ads evaluate --data out/corpus --split test --json training/results/eval.json "
    "--md training/results/eval.md ; trafficking-ads evaluate --data labelled.jsonl --model models/default ; "
    "trafficking-ads evaluate --protocols --json training/results/protocols.json --md training/results/protocols.md"
)


def register(app: typer.Typer) -> None:
    """Add the `evaluate` command to the app."""

    @app.command(
        "evaluate",
        epilog=EPILOG,
        help="Evaluate a model and the TF-IDF + logistic regression baseline side by side on labelled data (JSONL or a built corpus split).",
    )
    def evaluate_cmd(
        data: Optional[Path] = typer.Option(
            None,
            "--data",
            help="Labelled JSONL (text, label, optional lang/source/title...) or a built corpus directory.",
        ),
        protocols: bool = typer.Option(
            False,
            "--protocols",
            help="Instead: compare the evaluation protocols (boilerplate-aware group split, whole-text group split, cross-source) by refitting the lexical model and the previous baseline per fold on the shared data and seed set.",
        ),
        seeds: str = typer.Option("13,14,15", "--seeds", help="Split seeds of the group protocols (with --protocols)."),
        model: Optional[str] = typer.Option(
            None,
            "--model",
            help="Model directory, or a name in your models directory or the shipped ones (default: default).",
        ),
        models_dir: Optional[Path] = typer.Option(None, "--models-dir", help=MODELS_DIR_HELP),
        split: str = typer.Option("test", "--split", help="Split to evaluate when --data is a built corpus."),
        train: Optional[Path] = typer.Option(
            None,
            "--train",
            help="Built corpus whose train/dev splits fit the baseline (default: out/corpus, else built now).",
        ),
        json_out: Optional[Path] = typer.Option(None, "--json", help="Write the full result as JSON here."),
        md_out: Optional[Path] = typer.Option(None, "--md", help="Write markdown tables here."),
        no_baseline: bool = typer.Option(
            False, "--no-baseline", help="Skip the TF-IDF + logistic regression baseline."
        ),
        shared_data: Optional[Path] = typer.Option(
            None, "--shared-data", help="Shared data folder for building the baseline's corpus."
        ),
        seed_dir: Optional[Path] = typer.Option(
            None, "--seed-dir", help="Seed directory for building the baseline's corpus."
        ),
        strict: bool = typer.Option(False, "--strict", help="Stop at the first bad row (exit code 2)."),
    ) -> None:
        """Score labelled ads with a model and the baseline; print the markdown table and write
        JSON/markdown. Metrics: precision/recall/F1 at the model's operating threshold, PR-AUC,
        ROC-AUC, recall at 1%/5% FPR, FPR on real RU/KZ vacancies, Brier, ECE — overall, per
        language and per source."""
        model = with_models_dir(model, models_dir)
        from .. import atomic
        from ..problems import DataError
        from ..evaluation.evaluate import evaluate, write_json
        from ..evaluation.tables import markdown, write_markdown

        if protocols:
            from ..evaluation.protocols import compare_protocols
            from ..evaluation.protocols import markdown as protocols_markdown

            try:
                seed_list = [int(x) for x in seeds.split(",") if x.strip()]
            except ValueError:
                typer.echo(f"error: --seeds: expected comma-separated integers, got {seeds!r}", err=True)
                raise typer.Exit(1) from None
            try:
                result = compare_protocols(
                    shared_data=shared_data, seed_dir=seed_dir, seeds=seed_list, log=lambda m: typer.echo(m, err=True)
                )
            except (DataError, FileNotFoundError) as e:
                typer.echo(f"error: {e}", err=True)
                raise typer.Exit(2) from None
            if json_out:
                write_json(result, json_out)
            text = protocols_markdown(result)
            if md_out:
                atomic.write_text(md_out, text)
            typer.echo(text)
            return
        if data is None:
            typer.echo("error: --data is required (or --protocols)", err=True)
            raise typer.Exit(1)
        if not data.exists():
            typer.echo(f"error: {data}: no such file or directory", err=True)
            raise typer.Exit(1) from None
        try:
            result = evaluate(
                data,
                model=model,
                split=split,
                train=train,
                baseline=not no_baseline,
                shared_data=shared_data,
                seed_dir=seed_dir,
                strict=strict,
            )
        except DataError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from None
        except (FileNotFoundError, ValueError) as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1) from None
        if json_out:
            write_json(result, json_out)
        if md_out:
            write_markdown(result, md_out)
        typer.echo(markdown(result))

    _ = evaluate_cmd
