"""`trafficking-ads models`: list model versions, promote one to default behind the PR-AUC gate,
calibrate a model for int8 inference."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

PROMOTE_EPILOG = (
    "Example: trafficking-ads evaluate --data out/corpus --model models/retrained-1 --json models/retrained-1/metrics.json ; "
    "trafficking-ads models promote retrained-1"
)


#: Help of every `--models-dir` option.
MODELS_DIR_HELP = (
    "Your models directory (trained and promoted models; default: $TRAFFICKING_ADS_MODELS, "
    "else the per-user data directory, e.g. ~/.local/share/trafficking-ads/models)."
)


def _fmt(v) -> str:
    return "-" if v is None else (f"{v:.4f}" if isinstance(v, float) else str(v))


def _data_summary(e) -> str:
    d = e.held_out.data or {}
    if d.get("n") is not None:
        where = Path(str(d.get("path", ""))).name + (f":{d['split']}" if d.get("split") else "")
        return f"{where} n={d['n']} pos={d.get('positives', '?')}"
    if isinstance(e.data, dict):
        return ", ".join(f"{k}={v}" for k, v in e.data.items() if isinstance(v, (str, int, float)))[:60] or "-"
    return "-" if e.data is None else str(e.data)[:60]


def register(app: typer.Typer) -> None:
    """Add the `models` command group (list, promote) to the app."""
    models_app = typer.Typer(
        help="Model versions (your models directory and the shipped ones): list them, promote one to default.",
        no_args_is_help=True,
    )

    @models_app.command(
        "list",
        help="Show the model versions in your models directory and the shipped ones: kind, name@version, creation date, parent, held-out data and PR-AUC (* = default).",
    )
    def list_cmd(
        root: Optional[Path] = typer.Option(
            None, "--models-dir", "--root", help=MODELS_DIR_HELP + " Given: list only that directory."
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        """Show each model directory: kind, name and version, creation date, parent, held-out data and PR-AUC."""
        from ..registry import list_models

        problems: list[str] = []
        entries = list_models(root, problems=problems)
        for msg in problems:
            typer.echo(f"warning: skipped {msg}", err=True)
        if as_json:
            typer.echo(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=2, default=str))
            return
        if not entries:
            typer.echo("no models found", err=True)
            return
        rows = [("", "DIR", "KIND", "NAME@VERSION", "CREATED", "PARENT", "HELD-OUT DATA", "PR-AUC")]
        for e in entries:
            parent = (
                e.parent
                if isinstance(e.parent, str) or e.parent is None
                else f"{e.parent.get('name')}@{e.parent.get('version')}"
            )
            rows.append(
                (
                    "*" if e.is_default else "",
                    e.dir_name + (" (shipped)" if e.shipped else ""),
                    e.kind or "?",
                    f"{e.name}@{e.version}",
                    (e.created_at or "-")[:32],
                    _fmt(parent),
                    _data_summary(e),
                    _fmt(e.held_out.pr_auc),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            typer.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())

    @models_app.command(
        "promote",
        epilog=PROMOTE_EPILOG,
        help="Make a model the default if its held-out PR-AUC did not drop by more than --tolerance versus the current default on the same rows; the old default is kept.",
    )
    def promote_cmd(
        name: str = typer.Argument(..., help="Model directory name in your models directory (or a path)."),
        tolerance: float = typer.Option(0.01, "--tolerance", min=0.0, help="Largest allowed drop in held-out PR-AUC."),
        force: bool = typer.Option(False, "--force", help="Promote even if the gate refuses (recorded as forced)."),
        root: Optional[Path] = typer.Option(None, "--models-dir", "--root", help=MODELS_DIR_HELP),
        verify: bool = typer.Option(
            True, "--verify/--no-verify", help="Load the candidate and score one ad before promoting it."
        ),
    ) -> None:
        """Make a model the default if its held-out PR-AUC did not drop by more than --tolerance versus
        the current default on the same held-out data; the old default is kept as <models dir>/<name>-<version>
        (with no default of your own yet, the candidate is compared with the shipped default).
        A candidate holding symlinks, special files, subdirectories or files other than .json, .safetensors,
        .md and .txt is refused (even with --force)."""
        from ..registry import PromotionError, promote

        try:
            res = promote(name, root, tolerance=tolerance, force=force, verify=verify)
        except PromotionError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1)
        if res.forced:
            bar = "!" * 72
            typer.echo(
                f"{bar}\nFORCED PROMOTION: the PR-AUC gate REFUSED {res.promoted}: {res.decision.reason}\n"
                f"It is now the default anyway (recorded as forced in {res.registry}).\n{bar}",
                err=True,
            )
        else:
            typer.echo(f"gate passed: {res.decision.reason}", err=True)
        kept = f"; previous default kept as {res.archived_as}" if res.archived_as else ""
        typer.echo(f"promoted {res.promoted} to default{kept}", err=True)

    @models_app.command(
        "calibrate",
        help="Write a transformer model's int8 calibration (calibration.json: per-channel activation maxima; calibration_inputs.safetensors: the token ids int8 is calibrated on) from training ads; training writes both too.",
    )
    def calibrate_cmd(
        name: str = typer.Argument(..., help="Model directory (or a name in your models directory)."),
        data: Path = typer.Option(
            ..., "--data", help="Built corpus (trafficking-ads data build) whose train split calibrates."
        ),
        n: int = typer.Option(400, "--n", min=1, help="Training ads to run."),
        models_dir: Optional[Path] = typer.Option(None, "--models-dir", help=MODELS_DIR_HELP),
    ) -> None:
        """Calibrate int8 inference: run the first N train-split ads through the model, store each
        feed-forward input channel's maximum (so that outlier channels stay fp32 under int8), and
        store the first 300 ads' token ids, on which OpenVINO's static int8 graph is calibrated."""
        from ..corpus.build import load_corpus
        from ..model.encoding import ad_input_text
        from ..model.calibration import calibrate_model, outlier_channels
        from ..model_dirs import shipped_models_dir
        from ..scoring import resolve_model_dir

        path = resolve_model_dir(name, models_dir)
        if (
            path.resolve().is_relative_to(shipped_models_dir().resolve())
            and not (path.parent.parent / "pyproject.toml").is_file()
        ):
            typer.echo(
                f"error: {path} is a shipped model inside the installed package; copy it into your models directory first",
                err=True,
            )
            raise typer.Exit(1)
        rows = list(load_corpus(data)["train"])[:n]
        texts = [ad_input_text(r["text"], r.get("title")) for r in rows]
        out, inputs = calibrate_model(path, texts, max_ads=n)
        kept = [len(h) for h in outlier_channels(json.loads(out.read_text(encoding="utf-8")))]
        typer.echo(f"wrote {out} ({len(rows)} ads); fp32 outlier channels per layer: {kept}", err=True)
        typer.echo(f"wrote {inputs} (int8 calibration ads)", err=True)

    _ = (list_cmd, promote_cmd, calibrate_cmd)
    app.add_typer(models_app, name="models")


def with_models_dir(model: Optional[str], models_dir: Optional[Path]) -> Optional[str]:
    """`--model` as given, or (with `--models-dir`) the directory it names there (else shipped)."""
    if models_dir is None:
        return model
    from ..scoring import resolve_model_dir

    return str(resolve_model_dir(model, models_dir))
