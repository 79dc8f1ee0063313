"""`trafficking-ads cluster`: recruitment networks across scored ads."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def cluster(
        scored: List[Path] = typer.Argument(
            ...,
            help="Scored JSONL files (the output of `score`); with --engine ray also Parquet files and shard directories.",
            exists=True,
        ),
        out: Path = typer.Option(..., "-o", "--out", help="Clusters as JSON Lines, one cluster a line."),
        index: Optional[Path] = typer.Option(
            None, "--index", help="Index directory: loaded if present, new ads join it, saved back."
        ),
        annotate_out: Optional[Path] = typer.Option(
            None,
            "--annotate",
            help="Also write the scored records with each member's `network` filled in (--engine ray: a directory, one file per scored file).",
        ),
        min_size: int = typer.Option(2, "--min-size", help="Smallest cluster to report."),
        strict: bool = typer.Option(
            False, "--strict", help="Stop at the first bad line (exit 2) instead of skipping it."
        ),
        engine: str = typer.Option(
            "local",
            "--engine",
            help="local, or ray: signatures and groupings on a Ray cluster, components on the driver (docs/distributed.md).",
        ),
        address: Optional[str] = typer.Option(
            None, "--address", help="--engine ray: 'auto' or ray://HOST:PORT; default: a local Ray instance."
        ),
    ) -> None:
        """Find template clusters (reposted text) and contact networks (shared phone, handle, e-mail, URL).

        Each cluster line gives its size, cities, languages, date span, contacts, employers,
        shared template with {…} slots, max and mean risk, and flags such as
        `template_many_cities` (the same template in five or more cities) or
        `contact_many_employers` (one contact across several employers).
        """
        from ..networks.io import cluster_files

        if engine not in ("local", "ray"):
            typer.echo(f"error: --engine is local or ray, not {engine!r}", err=True)
            raise typer.Exit(1)
        if engine == "ray":
            from .cluster_ray import cluster_with_ray

            run = cluster_with_ray(
                scored,
                out,
                address=address,
                min_size=min_size,
                annotate_dir=annotate_out,
                unsupported={"--index": index is not None, "--strict": strict},
            )
        else:
            folders = [str(p) for p in scored if p.is_dir()]
            if folders:
                typer.echo(
                    f"error: {folders[0]} is a directory; give scored files (or use --engine ray for shard directories)",
                    err=True,
                )
                raise typer.Exit(1)
            run = cluster_files(scored, out, annotate_out, index, min_size=min_size, strict=strict)
        for problem in run.bad:
            typer.echo(f"skipped {problem}", err=True)
        if strict and run.bad:
            raise typer.Exit(2)
        typer.echo(summary_line(run), err=True)


def summary_line(run) -> str:
    """One line on what clustering found, for stderr."""
    n_template = sum(c.kind == "template" for c in run.clusters)
    flagged = sum(bool(c.flags) for c in run.clusters)
    return (
        f"{run.n_records} ads ({run.n_new} new to the index, {run.n_indexed} in it): "
        f"{n_template} template clusters, {len(run.clusters) - n_template} contact networks, {flagged} flagged; "
        f"{len(run.bad)} bad lines skipped"
    )
