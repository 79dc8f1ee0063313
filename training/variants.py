"""Compare transformer recipes on a non-leaking protocol, several seeds each, and record every run.

Each variant is a set of overrides of a base recipe (training/default.yaml). For every
variant and seed it trains a model on `--data` (a built corpus: the boilerplate-aware group
split, or a cross-source one from `data build --test-source difraud`), evaluates it with
`trafficking-ads evaluate` on the corpus's test split, and appends one JSON line to
`--out` (config, data, seconds, device, the transformer's and the fused model's PR-AUC per
language). `--summary` prints mean ± sd per variant from that file.

    # the GPU grid (one prepared script; see training/gpu.yaml and training/README.md)
    python training/variants.py --data out/corpus --base training/gpu.yaml --seeds 13,14,15 \\
        --out training/results/variants.jsonl
    # one variant on a CPU
    python training/variants.py --data out/corpus --only lora4_128 --seeds 13 --out training/results/variants.jsonl
    python training/variants.py --summary training/results/variants.jsonl

Every recipe runs on a CPU too; the grid as a whole needs a GPU (each CPU run of the
default recipe takes 25-30 min on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

#: name -> overrides of the base recipe (issue #16's comparison). Full fine-tuning is not a
#: variant: a model directory holds adapters and a head (a few MB, safetensors), and a fully
#: fine-tuned encoder would ship 470 MB per model; LoRA on all layers with trained
#: embeddings (`train_embeddings`) is the nearest recipe that keeps models small.
VARIANTS: dict[str, dict] = {
    "lora4_128": {"lora_layers": 4, "max_len": 128},  # the shipped recipe
    "lora_all_128": {"lora_layers": None, "max_len": 128},
    "lora4_512": {"lora_layers": 4, "max_len": 512},
    "lora4_128_all_negatives": {
        "lora_layers": 4,
        "max_len": 128,
        "negative_ratio_by_lang": {},
        "class_weighting": "balanced",
    },
}


def run(data: str, base: str | None, variant: str, seed: int) -> dict:
    """Train one variant with one seed, evaluate it on the test split, return the record."""
    from trafficking_ads.evaluation.evaluate import evaluate
    from trafficking_ads.model.train import TrainConfig, train

    cfg = TrainConfig.from_yaml(base) if base else TrainConfig()
    cfg = TrainConfig.from_dict({**cfg.to_dict(), **VARIANTS[variant], "seed": seed})
    with tempfile.TemporaryDirectory(prefix="variant-") as tmp:
        t0 = time.time()
        result = train(data, Path(tmp) / "model", cfg, log=lambda m: None)
        seconds = time.time() - t0
        ev = evaluate(data, model=Path(tmp) / "model", split="test", baseline=False)
        comps = _component_pr_auc(data, Path(tmp) / "model")
    return {
        "variant": variant,
        "seed": seed,
        "data": data,
        "config": cfg.to_dict(),
        "seconds": round(seconds, 1),
        "device": "cuda" if _cuda() else "cpu",
        "dev": result.dev,
        "fused_pr_auc": {k: v.get("pr_auc") for k, v in ev["model"]["metrics"]["by_language"].items()},
        "transformer_pr_auc": comps,
    }


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _component_pr_auc(data: str, model_dir: Path) -> dict:
    from sklearn.metrics import average_precision_score

    from trafficking_ads.evaluation.evaluate import load_eval_ads
    from trafficking_ads.scoring import load_scorer

    ads = load_eval_ads(data, "test")
    probs = [
        a.components["transformer_prob"]
        for a in load_scorer(model_dir, runtime="torch", precision="fp32").score_many(ads)
    ]
    out = {}
    for lang in sorted({a.language for a in ads}):
        idx = [i for i, a in enumerate(ads) if a.language == lang]
        y = [ads[i].label for i in idx]
        if 0 < sum(y) < len(y):
            out[lang] = float(average_precision_score(y, [probs[i] for i in idx]))
    return out


def summary(path: str) -> str:
    """Mean ± sd of each variant's PR-AUCs per language, from a runs file."""
    runs = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    table: dict[tuple, list] = defaultdict(list)
    for r in runs:
        for kind in ("transformer_pr_auc", "fused_pr_auc"):
            for lang, v in r[kind].items():
                table[(r["data"], r["variant"], kind, lang)].append(v)
    lines = ["| data | variant | score | lang | PR-AUC mean ± sd | runs |", "|---|---|---|---|---:|---:|"]
    for (data, variant, kind, lang), vals in sorted(table.items()):
        vals = [v for v in vals if v is not None]
        if vals:
            lines.append(
                f"| {data} | {variant} | {kind.split('_')[0]} | {lang} | {np.mean(vals):.3f} ± {np.std(vals):.3f} | {len(vals)} |"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data")
    ap.add_argument("--base", help="base recipe YAML (default: the built-in defaults = training/default.yaml)")
    ap.add_argument("--only", help="comma-separated variant names (default: all)")
    ap.add_argument("--seeds", default="13,14,15")
    ap.add_argument("--out", default="training/results/variants.jsonl")
    ap.add_argument("--summary", help="print the summary of a runs file and exit")
    a = ap.parse_args()
    if a.summary:
        print(summary(a.summary))
        return
    if not a.data:
        ap.error("--data is required")
    names = a.only.split(",") if a.only else list(VARIANTS)
    for name in names:
        for seed in (int(s) for s in a.seeds.split(",")):
            record = run(a.data, a.base, name, seed)
            with open(a.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
            print(
                json.dumps(
                    {k: record[k] for k in ("variant", "seed", "seconds", "fused_pr_auc", "transformer_pr_auc")}
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
