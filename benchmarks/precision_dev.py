"""Does a faster runtime/precision keep the model's quality? PR-AUC on a corpus split per variant.

Scores the split (dev by default) with the reference (--reference, PyTorch fp32; openvino:fp32
computes the same logits to ~1e-5 and is faster) and with each variant `runtime:precision`
(openvino:int8, openvino:bf16, openvino:fp32), and prints the transformer's PR-AUC, the fused risk's PR-AUC
(transformer + indicators + fusion, what `score` outputs), their differences from the
reference, and how far the probabilities move. int8 is acceptable when its fused and
transformer PR-AUC are both within --tolerance (0.002) of fp32; with --write, model.json gets
runtime "openvino" and precision "auto" (int8 where the CPU has VNNI/AMX) if openvino:int8
is acceptable, else "fp32" (atomically).

    .venv/bin/python benchmarks/precision_dev.py --model models/default --data out/corpus [--split test] [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "default"))
    ap.add_argument("--data", default=str(ROOT / "out" / "corpus"), help="built corpus (trafficking-ads data build)")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--reference", default="torch:fp32", help="runtime:precision every variant is compared with")
    ap.add_argument("--variants", default="openvino:int8,openvino:fp32", help="comma-separated runtime:precision")
    ap.add_argument("--tolerance", type=float, default=0.002)
    ap.add_argument("--write", action="store_true", help="set model.json's precision to the best acceptable one")
    args = ap.parse_args(argv)

    import numpy as np

    from trafficking_ads import atomic
    from trafficking_ads.corpus.build import load_corpus
    from trafficking_ads.model.scorer import TransformerScorer
    from trafficking_ads.model.signals import ad_from_row
    from trafficking_ads.model.train import pr_auc

    rows = list(load_corpus(args.data)[args.split])
    y = np.array([int(r["label"]) for r in rows])
    ads = [ad_from_row(r) for r in rows]
    from trafficking_ads.machine import describe

    print(f"{args.split}: {len(ads)} ads, {int(y.sum())} deceptive; model {args.model}; CPU: {describe()}")
    out: dict[str, dict] = {}
    reference = args.reference
    for precision in [reference] + [
        p.strip() for p in args.variants.split(",") if p.strip() and p.strip() != reference
    ]:
        runtime, prec = precision.split(":")
        scorer = TransformerScorer.load(args.model, runtime=runtime, precision=prec)
        t = time.perf_counter()
        assessed = list(scorer.score_many(ads))
        secs = time.perf_counter() - t
        p = np.array([a.components["transformer_prob"] for a in assessed])
        risk = np.array([a.risk for a in assessed])
        bands = [a.band for a in assessed]
        out[precision] = {"p": p, "risk": risk, "bands": bands, "t_pr_auc": pr_auc(y, p), "f_pr_auc": pr_auc(y, risk)}
        ref = out[reference]
        line = (
            f"{precision:16s} transformer PR-AUC {out[precision]['t_pr_auc']:.4f} ({out[precision]['t_pr_auc'] - ref['t_pr_auc']:+.4f})  "
            f"fused PR-AUC {out[precision]['f_pr_auc']:.4f} ({out[precision]['f_pr_auc'] - ref['f_pr_auc']:+.4f})  "
            f"{len(ads) / secs:.1f} ads/s"
        )
        if precision != reference:
            d = np.abs(p - ref["p"])
            same = np.mean([a == b for a, b in zip(bands, ref["bands"])])
            line += f"  |dp| max {d.max():.3f} mean {d.mean():.4f}  |drisk| max {np.abs(risk - ref['risk']).max():.3f}  same band {same:.4f}"
        print(line, flush=True)
        del scorer
    ref = out[reference]
    ok = [
        p
        for p in out
        if p != reference
        and abs(out[p]["t_pr_auc"] - ref["t_pr_auc"]) <= args.tolerance
        and abs(out[p]["f_pr_auc"] - ref["f_pr_auc"]) <= args.tolerance
    ]
    print(f"within {args.tolerance} of fp32 (transformer and fused PR-AUC): {', '.join(ok) or 'none'}")
    if args.write:
        path = Path(args.model) / "model.json"
        card = json.loads(path.read_text(encoding="utf-8"))
        card["runtime"], card["precision"] = "openvino", "auto" if "openvino:int8" in ok else "fp32"
        atomic.write_text(path, json.dumps(card, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote runtime {card['runtime']!r}, precision {card['precision']!r} to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
