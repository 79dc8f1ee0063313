"""`trafficking-ads data build`: build the training corpus (a thin layer over `build_corpus`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

EPILOG = (
    "Example: trafficking-ads data build -o out/corpus  "
    "(reads ../shared/data beside the checkout, or $TRAFFICKING_ADS_SHARED_DATA, and data/seed)."
)


def register(app: typer.Typer) -> None:
    """Add the `data` command group (`data build`) to the app."""
    data_app = typer.Typer(help="Build and inspect the training corpus.", no_args_is_help=True)

    @data_app.command("build", epilog=EPILOG, help="Build the corpus: load every source, deduplicate, group template families, split train/dev/test by group, save a datasets.DatasetDict with CARD.md and card.json.")
    def build(
        output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output directory (default: out/corpus in the checkout); replaced atomically."),
        seed_dir: Optional[Path] = typer.Option(None, "--seed-dir", help="Directory of seed *.jsonl files (default: data/seed)."),
        shared_data: Optional[Path] = typer.Option(None, "--shared-data", help="Shared data folder (default: $TRAFFICKING_ADS_SHARED_DATA or ../shared/data)."),
        seed: int = typer.Option(13, "--seed", help="Random seed of the split."),
        dev: float = typer.Option(0.15, "--dev", min=0.0, max=0.5, help="Dev share of the ads."),
        test: float = typer.Option(0.15, "--test", min=0.0, max=0.5, help="Test share of the ads."),
        strict: bool = typer.Option(False, "--strict", help="Stop at the first unreadable row (exit code 2)."),
        test_source: Optional[str] = typer.Option(None, "--test-source", help="Cross-source protocol: hold out every template group of this source family (difraud, emscad, platform, seed) as test; the rest is split into train/dev."),
    ) -> None:
        """Load every source, deduplicate, group template families, split 70/15/15 by group, and
        save a datasets.DatasetDict with CARD.md and card.json. With default arguments the card is
        also copied to data/CORPUS_CARD.md."""
        from ..corpus.build import DEFAULT_CORPUS_DIR, build_corpus
        from ..problems import DataError

        out = output or DEFAULT_CORPUS_DIR
        try:
            corpus = build_corpus(
                out,
                seed_dir=seed_dir,
                shared_data=shared_data,
                seed=seed,
                fractions=(round(1 - dev - test, 6), dev, test),
                strict=strict,
                test_source=test_source,
            )
        except DataError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from None
        except ValueError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1) from None
        card = corpus.card
        for p in corpus.problems[:20]:
            typer.echo(f"skipped: {p}", err=True)
        if len(corpus.problems) > 20:
            typer.echo(f"skipped: … {len(corpus.problems) - 20} more (see {out}/card.json)", err=True)
        splits = ", ".join(f"{sp} {c['ads']} ({c['positives']} deceptive)" for sp, c in card["splits"].items())
        d = card["dedup"]
        typer.echo(
            f"wrote {out}: {splits}; removed {d['exact_duplicates_removed']} exact and "
            f"{d['near_duplicates_removed']} near duplicates; {d['template_groups']} template groups "
            f"(largest {d['largest_group']['size']}); {card['build_seconds']} s"
        )

    app.add_typer(data_app, name="data")
