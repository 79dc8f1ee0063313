"""Per-component metrics of a transformer model on a held-out corpus split.

`trafficking-ads evaluate` measures the fused risk; this script shows what each part
contributes, per language: the fine-tuned transformer alone, the lexical TF-IDF model
alone, the indicator score alone, and the fused risk.

    .venv/bin/python training/components.py --data out/corpus --model models/default \
        --json training/results/components_test.json --md training/results/components_test.md
"""

from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from pathlib import Path

import numpy as np


def pr_auc(y, s):
    from sklearn.metrics import average_precision_score

    y = np.asarray(y)
    return float(average_precision_score(y, s)) if 0 < y.sum() < len(y) else None


def recall_at_fpr(y, s, cap):
    y, s = np.asarray(y), np.asarray(s)
    neg = s[y == 0]
    if not len(neg) or not y.sum():
        return None
    best = 0.0
    for t in np.unique(s):
        if (neg >= t).mean() <= cap:
            best = max(best, float((s[y == 1] >= t).mean()))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--model", default="models/default")
    ap.add_argument("--split", default="test")
    ap.add_argument("--json")
    ap.add_argument("--md")
    a = ap.parse_args()
    from trafficking_ads.evaluation.evaluate import load_eval_ads
    from trafficking_ads.scoring import load_scorer

    ads = load_eval_ads(a.data, a.split)
    scorer = load_scorer(a.model)
    rows = []
    for ad, asm in zip(ads, scorer.score_many(ads)):
        rows.append(
            {
                "lang": ad.language,
                "label": int(ad.label),
                "risk": asm.risk,
                "band": asm.band,
                "real_vacancy": (ad.source or "").split(":")[0] in ("hh", "superjob"),
                **asm.components,
            }
        )
    comps = ["transformer_prob", "lexical_prob", "indicator_score", "risk"]
    groups = defaultdict(list)
    for r in rows:
        groups["all"].append(r)
        groups[r["lang"] or "?"].append(r)
    result = {"data": a.data, "split": a.split, "model": a.model, "groups": {}, "bands": {}}
    # the multilingual aim: recall on RU/KK deceptive ads vs false positives on real RU/KZ vacancies
    ml_pos = [r for r in rows if r["lang"] in ("ru", "kk") and r["label"] == 1]
    real = [r for r in rows if r["real_vacancy"]]
    for band_name, bands in (("medium_or_high", ("medium", "high")), ("high", ("high",))):
        result["bands"][band_name] = {
            "ru_kk_deceptive": len(ml_pos),
            "recall_ru_kk": sum(r["band"] in bands for r in ml_pos) / max(len(ml_pos), 1),
            "real_vacancies": len(real),
            "fpr_real_vacancies": sum(r["band"] in bands for r in real) / max(len(real), 1),
        }
    for g, rs in sorted(groups.items()):
        y = [r["label"] for r in rs]
        result["groups"][g] = {
            "n": len(rs),
            "positives": int(sum(y)),
            **{
                c: {
                    "pr_auc": pr_auc(y, [r.get(c, 0.0) for r in rs]),
                    "recall_at_fpr_3pct": recall_at_fpr(y, [r.get(c, 0.0) for r in rs], 0.03),
                }
                for c in comps
                if any(c in r for r in rs)
            },
        }
    lines = [
        f"# Components on `{a.data}` split `{a.split}` ({a.model})",
        "",
        "| group | n | deceptive | component | PR-AUC | recall at FPR ≤ 3% |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for g, m in result["groups"].items():
        for c in comps:
            if c in m:
                f = lambda v: "–" if v is None else f"{v:.3f}"
                lines.append(
                    f"| {g} | {m['n']} | {m['positives']} | {c} | {f(m[c]['pr_auc'])} | {f(m[c]['recall_at_fpr_3pct'])} |"
                )
    lines += ["", "| flagged band | RU/KK deceptive recall | FPR on real RU/KZ vacancies |", "|---|---:|---:|"]
    for b, m in result["bands"].items():
        lines.append(
            f"| {b} | {m['recall_ru_kk']:.3f} (of {m['ru_kk_deceptive']}) | {m['fpr_real_vacancies']:.3f} (of {m['real_vacancies']}) |"
        )
    md = "\n".join(lines) + "\n"
    print(md)
    for path, text in ((a.json, json.dumps(result, indent=1)), (a.md, md)):
        if path:
            tmp = Path(path).with_name(f".{Path(path).name}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)


if __name__ == "__main__":
    main()
