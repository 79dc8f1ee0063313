"""`trafficking-ads data build`: build the training corpus (a thin layer over `build_corpus`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

EPILOG = (
    "Example: trafficking-ads data build -o out/corpus  "
    "(reads $TRAFFICKING_ADS_SHARED_DATA, else ../shared/data beside the checkout, and data/seed). "
    "Writes only under -o; --repo-card also updates data/CORPUS_CARD.md. Without shared data it stops "
    "(exit 1) unless --seed-only asks for a corpus of the seed set alone."
)


def register(app: typer.Typer) -> None:
    """Add the `data` command group (`data build`) to the app."""
    data_app = typer.Typer(help="Build and inspect the training corpus.", no_args_is_help=True)

    @data_app.command(
        "build",
        epilog=EPILOG,
        help="Build the corpus: load every source, deduplicate, group template families, split train/dev/test by group, save a datasets.DatasetDict with CARD.md and card.json.",
    )
    def build(
        output: Optional[Path] = typer.Option(
            None, "-o", "--output", help="Output directory (default: out/corpus in the checkout); replaced atomically."
        ),
        seed_dir: Optional[Path] = typer.Option(
            None, "--seed-dir", help="Directory of seed *.jsonl files (default: data/seed)."
        ),
        shared_data: Optional[Path] = typer.Option(
            None, "--shared-data", help="Shared data folder (default: $TRAFFICKING_ADS_SHARED_DATA or ../shared/data)."
        ),
        seed: int = typer.Option(13, "--seed", help="Random seed of the split."),
        dev: float = typer.Option(0.15, "--dev", min=0.0, max=0.5, help="Dev share of the ads."),
        test: float = typer.Option(0.15, "--test", min=0.0, max=0.5, help="Test share of the ads."),
        strict: bool = typer.Option(False, "--strict", help="Stop at the first unreadable row (exit code 2)."),
        test_source: Optional[str] = typer.Option(
            None,
            "--test-source",
            help="Cross-source protocol: hold out every template group of this source family (difraud, emscad, platform, seed) as test; the rest is split into train/dev.",
        ),
        seed_only: bool = typer.Option(
            False,
            "--seed-only",
            help="Build from the seed set alone, without shared data (a small corpus, for trying things out).",
        ),
        repo_card: bool = typer.Option(
            False,
            "--repo-card",
            help="Also copy the card to data/CORPUS_CARD.md in the checkout (for maintainers, after a default build).",
        ),
    ) -> None:
        """Load every source, deduplicate, group template families, split 70/15/15 by group, and
        save a datasets.DatasetDict with CARD.md and card.json under OUTPUT (nothing else is
        written unless --repo-card)."""
        from ..corpus.build import DEFAULT_CORPUS_DIR, build_corpus
        from ..corpus.loaders import SHARED_DATA_ENV, SHARED_FILES, default_shared_data
        from ..problems import DataError

        out = output or DEFAULT_CORPUS_DIR
        if not seed_only:
            root = shared_data or default_shared_data()
            if not any((root / f.path).is_file() for f in SHARED_FILES):
                how = (
                    "--shared-data was given"
                    if shared_data
                    else f"${SHARED_DATA_ENV} is set"
                    if os.environ.get(SHARED_DATA_ENV)
                    else f"${SHARED_DATA_ENV} is not set"
                )
                typer.echo(
                    f"error: no shared data in {root} ({how}; looked for {SHARED_FILES[0].path} and "
                    f"{len(SHARED_FILES) - 1} more); set {SHARED_DATA_ENV}=/path/to/shared/data or pass "
                    f"--shared-data DIR, or --seed-only for a corpus of the seed set alone",
                    err=True,
                )
                raise typer.Exit(1)
        try:
            corpus = build_corpus(
                out,
                seed_dir=seed_dir,
                shared_data=shared_data,
                seed=seed,
                fractions=(round(1 - dev - test, 6), dev, test),
                strict=strict,
                test_source=test_source,
                seed_only=seed_only,
                write_repo_card=repo_card,
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
