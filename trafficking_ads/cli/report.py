"""`trafficking-ads report`: one self-contained HTML page over scored files, for analysts."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer


#: Exit code when the inputs hold no scored ad (so there is nothing to report).
EXIT_NO_ADS = 3


def register(app: typer.Typer) -> None:
    @app.command(
        epilog="Exit codes: 0 written; 1 usage error; 2 a bad line under --strict; 3 no scored ad in the inputs (nothing is written)."
    )
    def report(
        inputs: List[Path] = typer.Argument(..., help="Scored JSONL files (output of `trafficking-ads score`)."),
        output: Path = typer.Option(Path("report.html"), "-o", "--output", help="The HTML file to write (atomically)."),
        title: str = typer.Option("trafficking-ads report", "--title", help="The page title."),
        max_text: int = typer.Option(
            100_000, "--max-text", help="Cut any one ad field to this many characters (0: no cap)."
        ),
        networks: bool = typer.Option(
            False,
            "--networks",
            help="Also cluster the ads (as score --cluster) and draw the recruitment networks (ads, contacts, templates).",
        ),
        strict: bool = typer.Option(
            False, "--strict", help="Fail (exit 2) on the first bad line instead of skipping it."
        ),
    ) -> None:
        """Write an offline HTML report: overview (bands, languages, sources, risk histogram,
        frequent indicators, networks), a sortable and filterable table of all ads, and a
        per-ad view with the evidence highlighted. Opens in any browser; fetches nothing.
        """
        from ..report import ScoredInputError, write_report
        from ..scored import Problem, iter_scored

        for p in inputs:
            if not p.is_file():
                typer.echo(f"error: {p}: no such file", err=True)
                raise typer.Exit(1)
        if max_text < 0:
            typer.echo("error: --max-text must be 0 or more", err=True)
            raise typer.Exit(1)
        problems: list[Problem] = []
        if next(iter_scored(inputs, problems), None) is None:  # stops at the first good line
            if strict and problems:
                typer.echo(f"error: {problems[0]}", err=True)
                raise typer.Exit(2)
            names = ", ".join(str(p) for p in inputs)
            why = f"{len(problems):,} bad lines, the first: {problems[0]}" if problems else "no lines"
            typer.echo(f"error: no scored ads in {names} ({why}); give the output of `trafficking-ads score`", err=True)
            raise typer.Exit(EXIT_NO_ADS)
        try:
            result = write_report(inputs, output, title=title, strict=strict, max_text=max_text, networks=networks)
        except ScoredInputError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        for p in result.problems[:20]:
            typer.echo(f"warning: skipped {p}", err=True)
        if len(result.problems) > 20:
            typer.echo(f"warning: … and {len(result.problems) - 20} more skipped lines", err=True)
        typer.echo(
            f"wrote {result.path} ({result.ads:,} ads, {result.bytes / 1e6:.1f} MB"
            + (f", {len(result.problems):,} lines skipped" if result.problems else "")
            + ")",
            err=True,
        )
