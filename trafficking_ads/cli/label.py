"""`trafficking-ads label`: export scored ads to Label Studio, import the annotations back.

A thin layer over `trafficking_ads.labelling`; see its modules for the selection
strategies, the task format and the merge rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

EXPORT_EPILOG = (
    "Example: trafficking-ads label export scored.jsonl --to label-studio -o tasks.json --select diverse --n 100 "
    "--labels labels.jsonl  (writes tasks.json and tasks.config.xml: paste the XML into the project's "
    "Labeling Interface > Code, then import tasks.json)."
)
IMPORT_EPILOG = (
    "Example: trafficking-ads label import project-1-at-2026-11-28.json -o labels.jsonl --merge  "
    "(export from Label Studio as 'JSON')."
)
RETRAIN_EPILOG = (
    "Example: trafficking-ads label retrain --from models/default --add labels.jsonl --out models/retrained-1"
)


def _report(problems, limit: int = 20) -> None:
    for p in list(problems)[:limit]:
        typer.echo(f"skipped: {p}", err=True)
    if len(problems) > limit:
        typer.echo(f"skipped: … {len(problems) - limit} more", err=True)


def register(app: typer.Typer) -> None:
    """Add the `label` command group (export, import, retrain) to the app."""
    label_app = typer.Typer(
        help="Active-learning labelling with Label Studio: export tasks, import annotations, retrain.",
        no_args_is_help=True,
    )

    @label_app.command(
        "export",
        epilog=EXPORT_EPILOG,
        help="Select ads to label from a scored batch (uncertain, high, random or diverse; never near-copies of labelled ads) and write Label Studio tasks with pre-annotations plus the labelling config XML.",
    )
    def export_cmd(
        scored: Path = typer.Argument(..., help="Output of `trafficking-ads score` (JSON Lines)."),
        to: str = typer.Option("label-studio", "--to", help="Target tool (only label-studio)."),
        output: Path = typer.Option(
            ..., "-o", "--output", help="Tasks JSON to write; the labelling config goes beside it as <stem>.config.xml."
        ),
        strategy: str = typer.Option("uncertain", "--select", help="uncertain | high | random | diverse."),
        n: int = typer.Option(50, "--n", min=1, help="How many ads to select."),
        labels: Optional[Path] = typer.Option(
            None,
            "--labels",
            help="labels.jsonl: ads already labelled (and near-copies of them) are not selected again.",
        ),
        seed: int = typer.Option(0, "--seed", help="Seed for --select random."),
        threshold: Optional[float] = typer.Option(
            None,
            "--threshold",
            min=0.0,
            max=1.0,
            help="Operating threshold (default: from the scoring model's model.json).",
        ),
        model: Optional[str] = typer.Option(
            None,
            "--model",
            help="The model that scored the batch, for its threshold (default: found by the model name in the scored lines).",
        ),
        dup_threshold: float = typer.Option(
            0.8,
            "--dup-threshold",
            min=0.0,
            max=1.0,
            help="Jaccard similarity at which two ads count as near-duplicates.",
        ),
        strict: bool = typer.Option(False, "--strict", help="Stop at the first bad input line (exit code 2)."),
    ) -> None:
        """Select ads to label from a scored batch and write Label Studio tasks with the model's
        pre-annotations (verdict by threshold, indicator choices, evidence spans), plus the matching
        labelling configuration XML."""
        from ..problems import DataError, Problems
        from ..labelling.labels import read_labels
        from ..labelling.labelstudio import export_tasks
        from ..labelling.select import STRATEGIES, operating_threshold, read_scored_file, select

        if to != "label-studio":
            typer.echo(f"error: --to {to!r}: only 'label-studio' is supported", err=True)
            raise typer.Exit(1)
        if strategy not in STRATEGIES:
            typer.echo(f"error: --select {strategy!r}: choose one of {', '.join(STRATEGIES)}", err=True)
            raise typer.Exit(1)
        if not scored.is_file():
            typer.echo(f"error: {scored}: no such file", err=True)
            raise typer.Exit(1)
        problems = Problems(strict=strict)
        try:
            cands = read_scored_file(scored, problems)
            labelled = [r.to_dict() for r in read_labels(labels, problems=problems)] if labels else []
            if not cands:
                typer.echo(f"error: {scored}: no scored ads to select from", err=True)
                _report(problems)
                raise typer.Exit(2)
            t, t_src = operating_threshold(cands, threshold, model)
            sel = select(
                cands,
                strategy,
                n,
                threshold=t,
                threshold_source=t_src,
                labelled=labelled,
                seed=seed,
                dup_threshold=dup_threshold,
            )
            tasks, config = export_tasks(sel.chosen, output, sel.threshold, problems=problems)
        except DataError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2)
        _report(problems)
        s = sel.summary()
        extra = f"; embeddings: {s['embedding']}" if s["embedding"] else ""
        typer.echo(
            f"wrote {tasks} ({s['chosen']} tasks, --select {strategy}, threshold {s['threshold']:.3f} from {s['threshold_source']}; "
            f"skipped {s['skipped_near_labelled']} already labelled or near-copies of labelled ads, "
            f"{s['skipped_near_chosen']} near-copies of chosen ones{extra}) and {config}",
            err=True,
        )

    @label_app.command(
        "import",
        epilog=IMPORT_EPILOG,
        help="Validate a Label Studio JSON export and merge its annotations into labels.jsonl (provenance kept; conflicts resolved by majority, ties become unsure).",
    )
    def import_cmd(
        exports: List[Path] = typer.Argument(..., help="Label Studio JSON export file(s)."),
        output: Path = typer.Option(..., "-o", "--output", help="labels.jsonl to write (atomically)."),
        merge_: bool = typer.Option(
            False, "--merge", help="Merge into the existing labels file instead of refusing to overwrite it."
        ),
        force: bool = typer.Option(False, "--force", help="Replace an existing labels file (its labels are lost)."),
        conflicts_out: Optional[Path] = typer.Option(
            None, "--conflicts", help="Also write the conflicts as JSON Lines here."
        ),
        strict: bool = typer.Option(False, "--strict", help="Stop at the first invalid annotation (exit code 2)."),
    ) -> None:
        """Validate annotations from Label Studio's JSON export and merge them into the labels store
        (per annotator the newest annotation counts; disagreements are conflicts resolved by majority,
        ties become `unsure`)."""
        from ..problems import DataError, Problems
        from ..atomic import write_jsonl as atomic_write_jsonl
        from ..labelling.labels import merge, read_labels, write_labels
        from ..labelling.labelstudio import read_export

        if output.exists() and not merge_ and not force:
            typer.echo(f"error: {output} exists: pass --merge to merge into it, or --force to replace it", err=True)
            raise typer.Exit(1)
        problems = Problems(strict=strict)
        try:
            existing = read_labels(output, problems=problems) if merge_ and output.exists() else []
            anns = []
            for e in exports:
                anns += read_export(e, problems=problems)
        except DataError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2)
        _report(problems)
        result = merge(existing, anns)
        write_labels(output, result.records)
        for c in result.conflicts:
            votes = ", ".join(f"{a}: {v}" for a, v in c["votes"].items())
            typer.echo(f"conflict: ad {c['ad_id']}: {votes} -> {c['verdict']} ({c['resolution']})", err=True)
        if conflicts_out:
            atomic_write_jsonl(conflicts_out, result.conflicts)
        st = result.stats
        typer.echo(
            f"wrote {output}: {st.get('records', 0)} labelled ads ({st.get('trainable', 0)} usable for training), "
            f"{st.get('annotations', 0)} annotations imported, {st.get('new_ads', 0)} new ads, "
            f"{st.get('conflicts', 0)} conflicts, {len(problems)} invalid annotations skipped",
            err=True,
        )
        if problems and strict:
            raise typer.Exit(2)

    @label_app.command(
        "retrain",
        epilog=RETRAIN_EPILOG,
        help="Continue training a model on the original corpus plus new labels (group-aware splits), evaluate it against its parent on the same held-out rows, and write the model with a comparison card.",
    )
    def retrain_cmd(
        from_model: str = typer.Option(..., "--from", help="Model to continue from (directory or name under models/)."),
        add: List[Path] = typer.Option(..., "--add", help="labels.jsonl file(s) to add to the training data."),
        out: Path = typer.Option(..., "--out", help="New model directory to write."),
        data: Optional[Path] = typer.Option(
            None, "--data", help="The original built corpus (default: out/corpus, else built now)."
        ),
        config: Optional[Path] = typer.Option(None, "--config", help="Training options (YAML, TrainConfig fields)."),
        strict: bool = typer.Option(False, "--strict", help="Stop at the first bad labels line (exit code 2)."),
    ) -> None:
        """Continue training a transformer model on the original corpus plus new labels (group-aware
        splits), refit fusion and calibration, evaluate it and its parent on the same held-out data,
        and write the model with a card comparing the two."""
        run_retrain(from_model, add, out, data, config, strict)

    _ = (export_cmd, import_cmd, retrain_cmd)
    app.add_typer(label_app, name="label")


def run_retrain(
    from_model: str,
    add: List[Path],
    out: Path,
    data: Optional[Path],
    config: Optional[Path],
    strict: bool = False,
    quiet: bool = False,
) -> None:
    """Shared by `label retrain` and `train --from/--add`: call `retrain`, report progress on stderr, map errors to exit codes."""
    from ..problems import DataError

    try:
        from ..labelling.retrain import retrain
    except ImportError as e:  # the transformer stack is missing
        typer.echo(f"error: retraining needs the transformer model code: {e}", err=True)
        raise typer.Exit(1)
    try:
        result = retrain(
            from_model,
            add,
            out,
            data_dir=data,
            config=config,
            strict=strict,
            log=(lambda m: None) if quiet else (lambda m: typer.echo(m, err=True)),
        )
    except DataError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)
    except (FileNotFoundError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1)
    typer.echo(f"wrote {result}", err=True)
