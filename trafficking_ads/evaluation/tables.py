"""Markdown tables of an evaluation result: the model and the baseline side by side."""

from __future__ import annotations

import os
from typing import Any

from ..atomic import write_text

#: (key, heading) of the metrics in the main table, in order.
MAIN_ROWS = (
    ("n", "rows"),
    ("positives", "deceptive rows"),
    ("threshold", "operating threshold"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("f1", "F1"),
    ("fpr", "false-positive rate"),
    ("pr_auc", "PR-AUC (average precision)"),
    ("roc_auc", "ROC-AUC"),
    ("recall_at_fpr_0.01", "recall at 1% FPR"),
    ("recall_at_fpr_0.05", "recall at 5% FPR"),
    ("brier", "Brier score"),
    ("ece", "ECE (10 bins)"),
)
#: Columns of the per-language and per-source tables.
GROUP_COLS = (
    ("n", "n"),
    ("positives", "pos"),
    ("precision", "P"),
    ("recall", "R"),
    ("f1", "F1"),
    ("fpr", "FPR"),
    ("pr_auc", "PR-AUC"),
    ("roc_auc", "ROC-AUC"),
)


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v).replace("|", "\\|")


def _cm(m: dict[str, Any]) -> str:
    c = m["confusion"]
    return f"TP {c['tp']} · FP {c['fp']} · TN {c['tn']} · FN {c['fn']}"


def markdown(result: dict[str, Any]) -> str:
    """The evaluation result as markdown (main table, confusion, real-vacancy FPR, per group)."""
    model = result["model"]
    base = result.get("baseline")
    systems = [(f"{model['name']} {model['version']}", model["metrics"])]
    if base:
        systems.append((base["name"] + " (baseline)", base["metrics"]))
    d = result["data"]
    where = d["path"] + (f" (split {d['split']})" if d.get("split") else "")
    lines = [
        "# Evaluation",
        "",
        f"Data: `{where}` — {d['n']} rows, {d['positives']} deceptive; {d['skipped_rows']} rows skipped. "
        f"Run {result.get('created_at', '')}.",
        f"Model threshold: {model['threshold']:.3f} ({model['threshold_source']}).",
    ]
    if base:
        lines.append(
            f"Baseline: trained on {base['train_n']} rows ({base['train_positives']} deceptive) from {base['train_source']}; "
            f"threshold {base['threshold']:.3f} ({base['threshold_source']}); evaluation rows also in its training data: {base['eval_rows_in_train']}."
        )
    lines += ["", "| metric | " + " | ".join(n for n, _ in systems) + " |", "|---|" + "---:|" * len(systems)]
    for key, head in MAIN_ROWS:
        lines.append(f"| {head} | " + " | ".join(_fmt(m["overall"].get(key)) for _, m in systems) + " |")
    lines.append("| confusion | " + " | ".join(_cm(m["overall"]) for _, m in systems) + " |")
    lines.append(
        "| FPR on real RU/KZ vacancies | "
        + " | ".join(
            f"{_fmt(m['real_vacancies']['fpr'])} ({m['real_vacancies']['flagged']}/{m['real_vacancies']['n']})"
            for _, m in systems
        )
        + " |"
    )
    lines.append(
        "| FPR on hard negatives | "
        + " | ".join(
            f"{_fmt(m['hard_negatives']['fpr'])} ({m['hard_negatives']['flagged']}/{m['hard_negatives']['n']})"
            for _, m in systems
        )
        + " |"
    )
    for group, title in (("by_language", "Per language"), ("by_source", "Per source")):
        lines += ["", f"## {title}", ""]
        head = (
            "| "
            + ("language" if group == "by_language" else "source")
            + " | system | "
            + " | ".join(h for _, h in GROUP_COLS)
            + " |"
        )
        lines += [head, "|---|---|" + "---:|" * len(GROUP_COLS)]
        keys = sorted(model["metrics"][group])
        for k in keys:
            for name, m in systems:
                g = m[group].get(k)
                if g is None:
                    continue
                lines.append(f"| {_fmt(k)} | {name} | " + " | ".join(_fmt(g.get(c)) for c, _ in GROUP_COLS) + " |")
    lines += [
        "",
        "Metrics are for the deceptive class at each system's operating threshold; – marks a metric "
        "a group cannot have (e.g. ROC-AUC with one class only). Recall at a false-positive-rate cap is "
        "the best recall of any threshold whose FPR stays within the cap.",
        "",
    ]
    return "\n".join(lines)


def write_markdown(result: dict[str, Any], path: str | os.PathLike) -> None:
    """Write `markdown(result)` to `path`, atomically."""
    write_text(path, markdown(result))
