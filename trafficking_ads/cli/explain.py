"""`trafficking-ads explain`: why one ad got its risk, in the terminal or as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .models import MODELS_DIR_HELP, with_models_dir


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _match(wanted: str, ad_id: str) -> bool:
    """Exact id, or the id without its `sha256:` prefix."""
    return ad_id == wanted or ad_id.partition(":")[2] == wanted


def register(app: typer.Typer) -> None:
    @app.command()
    def explain(
        input: Optional[Path] = typer.Argument(
            None, help="A scored JSONL file (used as is) or a raw ads file (scored with --model)."
        ),
        ad_id: Optional[str] = typer.Option(
            None, "--id", help="The ad to explain (its ad_id, with or without 'sha256:')."
        ),
        text: Optional[str] = typer.Option(None, "--text", help="Explain this ad text instead ('-' reads stdin)."),
        model: Optional[str] = typer.Option(
            None,
            "--model",
            help="Model directory, or a name in your models directory or the shipped ones (default: default).",
        ),
        models_dir: Optional[Path] = typer.Option(None, "--models-dir", help=MODELS_DIR_HELP),
        as_json: bool = typer.Option(False, "--json", help="Print the explanation as JSON."),
        strict: bool = typer.Option(
            False, "--strict", help="Fail (exit 2) on a bad line in the input instead of skipping it."
        ),
    ) -> None:
        """Explain one ad: risk and band, indicators with evidence highlighted in the text,
        what the transformer and the indicators each contributed, language and network.

        Examples: `trafficking-ads explain --text "Работа в Дубае..."`,
        `trafficking-ads explain out/scored.jsonl --id sha256:3f2a...`.
        """
        model = with_models_dir(model, models_dir)
        from ..report import explain as build, iter_scored, ScoredInputError
        from ..scored import is_scored_file

        if (text is None) == (input is None):
            _fail("give either --text TEXT or an INPUT file with --id ID")
        ad = assessment = None
        if text is not None:
            if text == "-":
                import sys

                text = sys.stdin.read()
            if not text.strip():
                _fail("--text is empty")
            from ..records import Ad

            ad = Ad(text=text)
        else:
            if not input.exists():
                _fail(f"{input}: no such file or directory")
            if not ad_id:
                _fail("--id is required with an INPUT file")
            if input.is_file() and is_scored_file(input):
                problems: list = []
                try:
                    for ad_fields, a in iter_scored([input], problems, strict=strict):
                        if _match(ad_id, a.ad_id):
                            ad, assessment = ad_fields, a
                            break
                except ScoredInputError as exc:
                    _fail(str(exc), 2)
                for p in problems:
                    typer.echo(f"warning: skipped {p}", err=True)
            else:
                from .. import read_ads

                try:
                    ad = next(
                        (x for x in read_ads(input, on_error="raise" if strict else "warn") if _match(ad_id, x.id)),
                        None,
                    )
                except Exception as exc:  # readers raise InputError with file and row
                    _fail(str(exc), 2 if strict else 1)
            if ad is None:
                _fail(f"{input}: no ad with id {ad_id!r}")
        if assessment is None:
            from ..scoring import load_scorer

            try:
                scorer = load_scorer(model)
            except (FileNotFoundError, ValueError) as exc:
                _fail(str(exc))
            assessment = scorer.score(ad)
        expl = build(ad, assessment)
        if as_json:
            typer.echo(json.dumps(expl.to_dict(), ensure_ascii=False, indent=2))
        else:
            from ..report.terminal import print_explanation

            print_explanation(expl)
