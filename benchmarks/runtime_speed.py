"""Transformer throughput per runtime precision, natively and with oneDNN's ISA capped to AVX2.

Does int8 pay on this CPU, and would it on one without VNNI/AMX? Each variant runs in its own
process (oneDNN reads ONEDNN_MAX_CPU_ISA once, when OpenVINO loads): the OpenVINO graph of
the model at fp32 and int8, natively and with `ONEDNN_MAX_CPU_ISA=AVX2`, which makes the
CPU plugin's kernels use AVX2 only (the kernels actually chosen are printed from the compiled
model's execution graph, so the cap is verified, not assumed). That emulates an AVX2-only
CPU on an Intel core: it is labelled "ISA capped to AVX2 on Intel", not an AMD EPYC figure.

Times `runtime.logits` (tokenized ads, fixed-shape batches, one stream per core) over the
first --n ads of a corpus split (or the sample ads), after a warm-up pass; prints the CPU
model and features with every figure and the int8/fp32 ratio per ISA.

    .venv/bin/python benchmarks/runtime_speed.py --data out/corpus [--n 300] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def kernels(compiled) -> dict[str, int]:
    """Kernel (primitive) types the CPU plugin chose, counted over the compiled model's nodes
    (e.g. jit_avx512_f32, brgemm_avx512_amx_I8 natively; jit_avx2_* under the AVX2 cap)."""
    out: Counter[str] = Counter()
    for node in compiled.get_runtime_model().get_ops():
        rt = node.get_rt_info()
        kind = rt["primitiveType"].astype(str) if "primitiveType" in rt else ""
        if kind and not kind.startswith(("unknown", "undef")):
            out[kind] += 1
    return dict(out.most_common(6))


def child(args: argparse.Namespace) -> None:
    """One variant in this process: load, warm up, time, print one JSON line."""
    from trafficking_ads.machine import describe
    from trafficking_ads.model.base import base_model_dir
    from trafficking_ads.model.runtime import load_runtime
    from trafficking_ads.model_card import load_card
    from trafficking_ads.model.scorer import TransformerScorer
    from trafficking_ads.model.tokenizer import load_tokenizer

    model_dir = Path(args.model)
    card = load_card(model_dir)
    base = base_model_dir()
    tok = load_tokenizer(base)
    rt = load_runtime("openvino", args.precision, model_dir, card, base, tok.pad_token_id)
    ads = _ads(args)
    scorer = TransformerScorer.__new__(TransformerScorer)
    scorer.tokenizer, scorer.max_len, scorer.head_tokens = tok, int(card.get("max_len", 256)), card.get("head_tokens")
    ids = scorer.encode(ads)
    rt.logits(ids[:32])  # warm-up
    best = 0.0
    for _ in range(args.repeats):
        t = time.perf_counter()
        rt.logits(ids)
        best = max(best, len(ids) / (time.perf_counter() - t))
    print(
        json.dumps(
            {
                "precision": args.precision,
                "runs": rt.precision,
                "isa": os.environ.get("ONEDNN_MAX_CPU_ISA", "native"),
                "ads": len(ids),
                "ads_per_s": round(best, 1),
                "kernels": kernels(rt.compiled),
                "cpu": describe(),
            }
        )
    )


def _ads(args: argparse.Namespace):
    if args.data:
        from trafficking_ads.corpus.build import load_corpus
        from trafficking_ads.model.signals import ad_from_row

        return [ad_from_row(r) for r in list(load_corpus(args.data)[args.split])[: args.n]]
    from trafficking_ads import read_ads

    ads = list(read_ads(ROOT / "data" / "samples" / "ads.jsonl"))
    return (ads * (args.n // len(ads) + 1))[: args.n]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "default"))
    ap.add_argument("--data", default=None, help="built corpus (default: the sample ads, repeated)")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--isas", default="native,AVX2", help="comma-separated: native and/or AVX2 (oneDNN's cap)")
    ap.add_argument("--precision", default=None, help=argparse.SUPPRESS)  # set in the child processes
    args = ap.parse_args(argv)
    if args.precision:
        child(args)
        return 0
    rows = []
    isas = [i.strip() for i in args.isas.split(",") if i.strip()]
    for isa in isas:
        # capped to AVX2 there is no bf16 (and OpenVINO, seeing AMX, fails to compile it)
        for precision in ("fp32", "bf16", "int8") if isa == "native" else ("fp32", "int8"):
            env = dict(os.environ)
            if isa != "native":
                env["ONEDNN_MAX_CPU_ISA"] = isa
            cmd = [
                sys.executable,
                __file__,
                "--model",
                args.model,
                "--split",
                args.split,
                "--n",
                str(args.n),
                "--repeats",
                str(args.repeats),
                "--precision",
                precision,
            ] + (["--data", args.data] if args.data else [])
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if proc.returncode:
                print(proc.stderr[-2000:], file=sys.stderr)
                return 1
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append(row)
            label = "native" if isa == "native" else "ISA capped to AVX2 on Intel"
            print(
                f"{precision:5s} (runs {row['runs']}) {label:28s} {row['ads_per_s']:6.1f} ads/s ({row['ads']} ads)  kernels {row['kernels']}  CPU: {row['cpu']}",
                flush=True,
            )
    for isa in isas:
        r = {x["precision"]: x["ads_per_s"] for x in rows if x["isa"] == isa}
        bf16 = f", bf16/fp32 {r['bf16'] / r['fp32']:.2f}x" if "bf16" in r else ""
        print(
            f"{'native' if isa == 'native' else 'ISA capped to AVX2 on Intel'}: int8/fp32 {r['int8'] / r['fp32']:.2f}x{bf16}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
