"""`trafficking-ads cluster`: recruitment networks across scored ads."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def cluster(
        scored: List[Path] = typer.Argument(..., help="Scored JSONL files (the output of `score`).", exists=True, dir_okay=False),
        out: Path = typer.Option(..., "-o", "--out", help="Clusters as JSON Lines, one cluster a line."),
        index: Optional[Path] = typer.Option(None, "--index", help="Index directory: loaded if present, new ads join it, saved back."),
        annotate_out: Optional[Path] = typer.Option(None, "--annotate", help="Also write the scored records with each member's `network` filled in."),
        min_size: int = typer.Option(2, "--min-size", help="Smallest cluster to report."),
        strict: bool = typer.Option(False, "--strict", help="Stop at the first bad line (exit 2) instead of skipping it."),
    ) -> None:
        """Find template clusters (reposted text) and contact networks (shared phone, handle, e-mail, URL).

        Each cluster line gives its size, cities, languages, date span, contacts, employers,
        shared template with {…} slots, max and mean risk, and flags such as
        `template_many_cities` (the same template in five or more cities) or
        `contact_many_employers` (one contact across several employers).
        """
        from ..networks import NetworkIndex, annotate
        from ..networks.index import INDEX_FILE
        from ..networks.io import read_scored_files
        from ..writers import write_jsonl_atomic

        records, bad = read_scored_files(scored, strict=strict)
        for problem in bad:
            typer.echo(f"skipped {problem.message()}", err=True)
        if strict and bad:
            raise typer.Exit(2)
        net_index = NetworkIndex.load(index) if index and (index / INDEX_FILE).is_file() else NetworkIndex()
        before = len(net_index)
        clusters = [c for c in annotate(records, net_index) if c.size >= min_size]
        write_jsonl_atomic(out, (c.to_dict() for c in clusters))
        if annotate_out:
            from ..records import scored_record_from

            write_jsonl_atomic(annotate_out, (scored_record_from(fields, a) for fields, a in records))
        if index:
            net_index.save(index)
        n_template = sum(c.kind == "template" for c in clusters)
        flagged = sum(bool(c.flags) for c in clusters)
        typer.echo(
            f"{len(records)} ads ({len(net_index) - before} new to the index, {len(net_index)} in it): "
            f"{n_template} template clusters, {len(clusters) - n_template} contact networks, {flagged} flagged; "
            f"{len(bad)} bad lines skipped",
            err=True,
        )
        sys.stderr.flush()
