"""Vocabulary pruning: how much of XLM-R's 250,037-token embedding Russian/Kazakh/English ads use,
whether held-out text keeps its token ids, and what it changes (probabilities, memory, load time).

1. The kept list is built from the corpus *train* split (+ every single-character piece
   and the special tokens); the *test* split is held out: token coverage and id parity
   (covered ads get exactly their ids back after remapping) are measured on it.
2. The probability difference, pruned vs full, is measured on the *dev* split (fp32).
3. Load time and RSS after load, full vs pruned, each in a fresh subprocess.
4. With --write MODEL_DIR, the list to ship (built from all corpus splits, the seed set and
   the benchmark ads) is written to MODEL_DIR/vocab_keep.safetensors and named in
   model.json's "files" (pruning stays opt-in: `vocab: "pruned"` or `vocab="pruned"`).

    .venv/bin/python benchmarks/vocab_prune.py --model models/default --data out/corpus [--write models/default]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def texts_of(rows) -> list[str]:
    from trafficking_ads.model.encoding import ad_input_text

    return [ad_input_text(r["text"], r.get("title")) for r in rows]


def load_probe(model: str, vocab: str, keep: str | None) -> None:
    """Subprocess: load the scorer with `vocab`, print load seconds and RSS as JSON."""
    from stream_memory import status_mb

    from trafficking_ads.model.scorer import TransformerScorer

    if keep:
        import shutil
        import tempfile

        tmp = Path(tempfile.mkdtemp(prefix="vocab-probe-"))
        for f in Path(model).iterdir():
            if f.is_file():
                shutil.copy(f, tmp / f.name)
        shutil.copy(keep, tmp / "vocab_keep.safetensors")
        model = str(tmp)
    t = time.perf_counter()
    TransformerScorer.load(model, precision="fp32", vocab=vocab)
    print(json.dumps({"load_s": time.perf_counter() - t, "rss_mb": status_mb("VmRSS"), "peak_mb": status_mb("VmHWM")}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "default"))
    ap.add_argument("--data", default=str(ROOT / "out" / "corpus"))
    ap.add_argument("--write", help="write the kept list for shipping into this model directory")
    ap.add_argument("--probe", help=argparse.SUPPRESS)
    ap.add_argument("--keep", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.probe:
        load_probe(args.model, args.probe, args.keep)
        return 0

    import tempfile

    import numpy as np
    from score_throughput import benchmark_ads
    from transformers import AutoTokenizer

    from trafficking_ads.corpus.build import load_corpus
    from trafficking_ads.model.base import base_model_dir
    from trafficking_ads.model.encoding import ad_input_text
    from trafficking_ads.model.fast import RemappedTokenizer, build_vocab_map, prune_embeddings
    from trafficking_ads.model.scorer import TransformerScorer
    from trafficking_ads.model.signals import ad_from_row

    corpus = load_corpus(args.data)
    tok = AutoTokenizer.from_pretrained(str(base_model_dir()))
    hidden = 384
    vmap = build_vocab_map(tok, texts_of(corpus["train"]))
    print(f"kept from train ({len(corpus['train'])} ads) + single characters + specials: {len(vmap)} of {len(tok)} tokens "
          f"({100 * len(vmap) / len(tok):.1f}%)")
    held = tok(texts_of(corpus["test"]), add_special_tokens=False, verbose=False)["input_ids"]
    n_tok = sum(len(x) for x in held)
    n_cov = sum(int(np.isin(np.asarray(x), vmap.keep).sum()) for x in held)
    covered = [x for x in held if vmap.covers(x)]
    parity = all(vmap.keep[np.asarray(vmap.ids(x), dtype=np.int64)].tolist() == x for x in covered)
    print(f"held-out test split ({len(held)} ads): {100 * n_cov / n_tok:.2f}% of {n_tok} tokens kept; "
          f"{len(covered)} ads fully covered; id parity on those (remap then map back): {parity}")
    rtok = RemappedTokenizer(tok, vmap)
    mism = sum(rtok(t, add_special_tokens=False)["input_ids"] != vmap.ids(x) for t, x in zip(texts_of(corpus["test"])[:200], held[:200]))
    print(f"RemappedTokenizer vs tokenizer+remap on 200 held-out ads: {mism} mismatches")

    scorer = TransformerScorer.load(args.model, precision="fp32", vocab="full")
    dev = [ad_from_row(r) for r in corpus["dev"]]
    t = time.perf_counter()
    p_full = scorer.transformer_probs(dev)
    t_full = time.perf_counter() - t
    prune_embeddings(scorer.classifier, vmap)
    scorer.tokenizer = rtok
    t = time.perf_counter()
    p_pruned = scorer.transformer_probs(dev)
    t_pruned = time.perf_counter() - t
    d = np.abs(p_full - p_pruned)
    dev_ids = tok([ad_input_text(a.text, a.title) for a in dev], add_special_tokens=False, verbose=False)["input_ids"]
    dev_cov = np.array([vmap.covers(x) for x in dev_ids])
    print(f"dev ({len(dev)} ads, {int(dev_cov.sum())} fully covered by the train-built list): |dp| pruned vs full max {d.max():.2e}, "
          f"mean {d.mean():.2e}; on fully covered ads max {d[dev_cov].max() if dev_cov.any() else float('nan'):.2e}; "
          f"same label at 0.5 {np.mean((p_full >= 0.5) == (p_pruned >= 0.5)):.4f}; {len(dev) / t_full:.1f} vs {len(dev) / t_pruned:.1f} ads/s")
    del scorer

    ship = build_vocab_map(tok, texts_of(corpus["train"]) + texts_of(corpus["dev"]) + texts_of(corpus["test"])
                           + [ad_input_text(a.text, a.title) for a in benchmark_ads(10**6)])
    print(f"list to ship (all splits + benchmark ads): {len(ship)} tokens; embedding fp32 {len(tok) * hidden * 4 / 2**20:.0f} MB "
          f"-> {len(ship) * hidden * 4 / 2**20:.0f} MB")
    with tempfile.TemporaryDirectory() as tmpd:
        keep = Path(tmpd) / "vocab_keep.safetensors"
        ship.save(keep)
        print(f"kept-list file: {keep.stat().st_size / 1024:.0f} KB")
        for vocab in ("full", "pruned"):
            out = subprocess.run([sys.executable, __file__, "--model", args.model, "--probe", vocab, "--keep", str(keep)],
                                 check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            r = json.loads(out)
            print(f"load with vocab={vocab}: {r['load_s']:.1f} s, RSS after load {r['rss_mb']:.0f} MB, peak {r['peak_mb']:.0f} MB")
        if args.write:
            dst = Path(args.write)
            ship.save(dst / "vocab_keep.safetensors")
            path = dst / "model.json"
            card = json.loads(path.read_text(encoding="utf-8"))
            card.setdefault("files", {})["vocab_keep"] = "vocab_keep.safetensors"
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            os.replace(tmp, path)
            print(f"wrote {dst / 'vocab_keep.safetensors'} and model.json files.vocab_keep (pruning stays opt-in)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
