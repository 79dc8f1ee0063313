"""Scoring throughput: our `score_many` / `transformer_probs` against a plain `transformers.pipeline`.

The same model and the same ads (real texts, Russian, Kazakh and English, mixed lengths:
the seed set, data/samples/ads.jsonl, DIFrauD validation, hh.kz and superjob vacancies,
taken round-robin) are scored by:

* `pipeline`          transformers.pipeline("text-classification") over the merged model
                      (LoRA folded in, same mean pooling + head) saved as a Hugging Face dir
                      with the base tokenizer, default settings: no batch_size (one ad at a
                      time), truncation=True (needed: without it an ad over 512 tokens crashes
                      the model) at the tokenizer's max length, 512.
* `pipeline-maxlen`   the same, with the tokenizer's max length set to the model's max_len
                      (128 for the shipped recipe): the same token budget as ours, so the
                      compute per ad is alike. Either pipeline keeps the head of a long ad;
                      ours keeps head + tail (as in training), so probabilities are compared
                      on ads that fit whole.
* `probs-<runtime>-<precision>` our transformer part alone: `TransformerScorer.transformer_probs`
                      (length-sorted, dynamically padded batches, threads = physical cores):
                      openvino-int8 / openvino-fp32 (OpenVINO; int8 is static, see
                      trafficking_ads/model/runtime_openvino.py), torch-fp32 (PyTorch, inference mode).
* `score_many-<runtime>-<precision>` the whole `score_many`: transformer + indicators + fusion.
* `indicators`        the indicator extraction alone (what score_many adds per ad).

Each approach runs in its own subprocess, so its peak RSS (VmHWM: load + scoring) is its
own. The processes are loaded one after the other, then score the ads in rounds of --slice
ads, one process at a time, every approach taking each slice in turn: on a shared machine a
change in load then hits all approaches alike. Throughput excludes model loading and a
short warm-up; load time is reported apart.

    .venv/bin/python benchmarks/score_throughput.py --model models/default [--n 2000]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

WARMUP = 8
DEFAULT_APPROACHES = (
    "pipeline",
    "pipeline-maxlen",
    "probs-torch-fp32",
    "probs-openvino-fp32",
    "probs-openvino-int8",
    "score_many-torch-fp32",
    "score_many-openvino-int8",
    "indicators",
)


# --- the ads ---------------------------------------------------------------------------------


def load_sources(shared: Path = SHARED) -> dict[str, list]:
    """Real ads per source (missing shared files are skipped)."""
    from trafficking_ads.corpus.loaders import load_difraud, load_hh, load_superjob
    from trafficking_ads.problems import Problems
    from trafficking_ads.corpus.seed import load_seed
    from trafficking_ads.records import Ad

    problems = Problems()
    out: dict[str, list] = {"seed": load_seed(ROOT / "data" / "seed", problems=problems)}
    samples = ROOT / "data" / "samples" / "ads.jsonl"
    if samples.is_file():
        fields = {f.name for f in dataclasses.fields(Ad)}
        rows = [json.loads(line) for line in samples.read_text(encoding="utf-8").splitlines() if line.strip()]
        out["samples"] = [Ad(**{k: v for k, v in r.items() if k in fields}) for r in rows]
    for name, path, loader in (
        ("difraud", SHARED / "difraud" / "job_scams" / "validation.jsonl", load_difraud),
        ("hh", SHARED / "ru_vacancies" / "hh_astana_vacancies.csv", load_hh),
        ("superjob", SHARED / "ru_vacancies" / "superjob_ru_vacancies.csv", load_superjob),
    ):
        if path.is_file():
            out[name] = loader(path, problems=problems)
    return out


def benchmark_ads(n: int, shared: Path = SHARED) -> list:
    """`n` real ads, taken round-robin from the sources (so any n is a language mix)."""
    sources = [list(v) for v in load_sources(shared).values() if v]
    ads, i = [], 0
    while len(ads) < n and any(i < len(s) for s in sources):
        for s in sources:
            if i < len(s) and len(ads) < n:
                ads.append(s[i])
        i += 1
    return ads


def ad_to_json(ad) -> dict:
    d = dataclasses.asdict(ad)
    d.pop("raw", None)
    return d


def read_ads(path: Path) -> list:
    from trafficking_ads.records import Ad

    return [Ad(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]


# --- the Hugging Face model the pipeline runs ------------------------------------------------


def hf_classes():
    """A BertModel + mean pooling + linear head as a registered HF sequence classifier."""
    import torch
    from torch import nn
    from transformers import AutoConfig, AutoModelForSequenceClassification, BertConfig, BertModel, BertPreTrainedModel
    from transformers.modeling_outputs import SequenceClassifierOutput

    class E5MeanPoolConfig(BertConfig):
        model_type = "e5-mean-pool"

    class E5MeanPoolForSequenceClassification(BertPreTrainedModel):
        config_class = E5MeanPoolConfig

        def __init__(self, config):
            super().__init__(config)
            self.bert = BertModel(config, add_pooling_layer=False)
            self.classifier = nn.Linear(config.hidden_size, config.num_labels)
            self.post_init()

        def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, **_):
            h = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
            return SequenceClassifierOutput(logits=self.classifier(pooled))

    try:
        AutoConfig.register("e5-mean-pool", E5MeanPoolConfig)
        AutoModelForSequenceClassification.register(E5MeanPoolConfig, E5MeanPoolForSequenceClassification)
    except ValueError:
        pass  # registered already in this process
    return E5MeanPoolConfig, E5MeanPoolForSequenceClassification, torch


def export_hf(model_dir: Path, out: Path) -> Path:
    """Write the merged fp32 model (LoRA folded in) + tokenizer as a Hugging Face directory."""
    import shutil

    from trafficking_ads.model.base import base_model_dir
    from trafficking_ads.model.scorer import TransformerScorer

    Config, Model, _ = hf_classes()
    scorer = TransformerScorer.load(model_dir, precision="fp32", runtime="torch")
    classifier = scorer.runtime.model
    enc = classifier.encoder
    cfg = Config(**enc.config.to_dict())
    cfg.num_labels = 1
    model = Model(cfg)
    state = {f"bert.{k}": v for k, v in enc.state_dict().items()}
    state.update({f"classifier.{k}": v for k, v in classifier.head.state_dict().items()})
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [k for k in missing if "position_ids" not in k]:
        raise RuntimeError(f"export: missing {missing}, unexpected {unexpected}")
    model.save_pretrained(str(out))
    base = base_model_dir()
    for name in ("tokenizer.json", "special_tokens_map.json"):
        shutil.copy(base / name, out / name)
    tcfg = json.loads((base / "tokenizer_config.json").read_text(encoding="utf-8"))
    (out / "tokenizer_config.json").write_text(json.dumps(tcfg, indent=2), encoding="utf-8")
    # a twin directory whose tokenizer truncates at the model's own budget (weights linked, not copied)
    twin = out.with_name(out.name + "-maxlen")
    twin.mkdir()
    for f in out.iterdir():
        if f.name != "tokenizer_config.json":
            os.symlink(f, twin / f.name)
    (twin / "tokenizer_config.json").write_text(
        json.dumps({**tcfg, "model_max_length": scorer.max_len}, indent=2), encoding="utf-8"
    )
    return out


# --- one approach, in its own process --------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM starts afresh at exec (ru_maxrss would carry the
    parent's peak over into a child), so each approach's subprocess reports its own."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_scorer(approach: str, ads: list, model_dir: Path, hf_dir: Path | None, batch_size: int):
    """Load one approach; returns (score(slice of ads) -> (probs, risks), info)."""
    info: dict = {}
    if approach.startswith("pipeline"):
        if approach == "pipeline-maxlen":
            hf_dir = hf_dir.with_name(hf_dir.name + "-maxlen")
        import torch
        from transformers import pipeline
        from transformers.utils import logging as hf_logging

        from trafficking_ads.model.encoding import ad_input_text

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        hf_classes()
        pipe = pipeline("text-classification", model=str(hf_dir), tokenizer=str(hf_dir), device="cpu")
        info.update(threads=torch.get_num_threads(), truncation=pipe.tokenizer.model_max_length)

        def score(batch):
            return [r["score"] for r in pipe([ad_input_text(a.text, a.title) for a in batch], truncation=True)], []
    elif approach == "indicators":
        from trafficking_ads.model.signals import Signals

        sig = Signals()

        def score(batch):
            for a in batch:
                sig(a)
            return [], []
    else:
        kind, precision = approach.split("-", 1)
        runtime = "torch"
        if precision.split("-", 1)[0] in ("openvino", "torch"):
            runtime, precision = precision.split("-", 1)
        from trafficking_ads.machine import thread_count
        from trafficking_ads.model.scorer import CHUNK, TransformerScorer

        scorer = TransformerScorer.load(model_dir, precision=precision, runtime=runtime)
        info.update(threads=thread_count())
        if kind == "probs":

            def score(batch):
                out = []
                for s in range(0, len(batch), CHUNK):
                    out.extend(scorer.transformer_probs(batch[s : s + CHUNK], batch_size).tolist())
                return out, []
        elif kind == "score_many":

            def score(batch):
                got = list(scorer.score_many(batch, batch_size))
                return [a.components["transformer_prob"] for a in got], [a.risk for a in got]
        else:
            raise SystemExit(f"unknown approach {approach!r}")
    return score, info


def worker(approach: str, ads_path: Path, model_dir: Path, hf_dir: Path | None, batch_size: int, out: Path) -> None:
    """Serve one approach: load and warm up, then score the slices the parent names on stdin
    ("START END" per line; "done" ends), answering on stdout; finally write the result JSON."""
    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # stray library output goes to stderr, not into the protocol
    ads = read_ads(ads_path)
    t0 = time.perf_counter()
    score, info = make_scorer(approach, ads, model_dir, hf_dir, batch_size)
    load_s = time.perf_counter() - t0
    score(ads[:WARMUP])
    proto.write("ready\n")
    proto.flush()
    probs: list[float] = []
    risks: list[float] = []
    secs = 0.0
    for line in sys.stdin:
        if line.strip() == "done":
            break
        a, b = map(int, line.split())
        t1 = time.perf_counter()
        p, r = score(ads[a:b])
        secs += time.perf_counter() - t1
        probs.extend(p)
        risks.extend(r)
        proto.write("ok\n")
        proto.flush()
    res = {
        "approach": approach,
        "n": len(ads),
        "seconds": secs,
        "ads_per_s": len(ads) / secs,
        "load_s": load_s,
        "peak_rss_mb": peak_rss_mb(),
        "probs": [float(p) for p in probs],
        "risk": risks,
        **info,
    }
    out.write_text(json.dumps(res), encoding="utf-8")
    proto.write("written\n")
    proto.flush()


# --- the comparison --------------------------------------------------------------------------


def run_interleaved(
    approaches: list[str],
    ads_path: Path,
    n: int,
    model_dir: Path,
    hf_dir: Path | None,
    batch_size: int,
    tmp: Path,
    slice_size: int,
) -> dict[str, dict]:
    """Every approach in its own process (so each peak RSS is its own), loaded one after the
    other; then the ads are scored slice by slice, each slice by every approach in turn, one
    process computing at a time: a change in the machine's load hits all approaches alike."""
    procs = {}
    for a in approaches:
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            a,
            "--ads",
            str(ads_path),
            "--model",
            str(model_dir),
            "--batch-size",
            str(batch_size),
            "--result",
            str(tmp / f"{a}.json"),
        ]
        if hf_dir is not None:
            cmd += ["--hf-dir", str(hf_dir)]
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{a}: worker failed to start (exit {p.wait()})")
        procs[a] = p
    for s in range(0, n, slice_size):
        for a, p in procs.items():
            p.stdin.write(f"{s} {min(n, s + slice_size)}\n")
            p.stdin.flush()
            if p.stdout.readline().strip() != "ok":
                raise RuntimeError(f"{a}: worker failed on ads {s}..{s + slice_size} (exit {p.wait()})")
    results = {}
    for a, p in procs.items():
        p.stdin.write("done\n")
        p.stdin.flush()
        p.stdout.readline()
        p.wait()
        results[a] = json.loads((tmp / f"{a}.json").read_text(encoding="utf-8"))
    return results


def token_lengths(model_dir: Path, ads: list) -> list[int]:
    """Content tokens of each ad's model input (prefix + title + text), untruncated."""
    from transformers import AutoTokenizer

    from trafficking_ads.model.base import base_model_dir
    from trafficking_ads.model.encoding import ad_input_text

    tok = AutoTokenizer.from_pretrained(str(base_model_dir()))
    return [
        len(x)
        for x in tok([ad_input_text(a.text, a.title) for a in ads], add_special_tokens=False, verbose=False)[
            "input_ids"
        ]
    ]


def multiply_adds(widths, config: dict) -> float:
    """Multiply-adds of the encoder over sequences of these widths: the linear layers
    (Q, K, V, output, feed-forward) per token, attention scores and mixing per token pair."""
    import numpy as np

    h, ff, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    w = np.asarray(widths, dtype=np.float64)
    return float(layers * (w * (4 * h * h + 2 * h * ff) + 2 * w * w * h).sum())


def compute_report(results: dict[str, dict], lens, max_len: int) -> dict:
    """The fp32 work behind the pipeline's and our throughput, and the rate 3x would need.

    The pipeline reads each ad alone up to 512 tokens (its truncation); ours reads at most
    max_len (head + tail), in the runtimes' fixed 8-row batches per score_many chunk, with
    their padding and filler rows counted as work."""
    from trafficking_ads.model.base import base_model_dir
    from trafficking_ads.model.encoding import fixed_shape_batches
    from trafficking_ads.model.network import INFER_ROWS, LENGTH_BUCKET
    from trafficking_ads.model.scorer import CHUNK

    config = json.loads((base_model_dir() / "config.json").read_text(encoding="utf-8"))
    ours_rows = [[0] * (min(int(n), max_len - 2) + 2) for n in lens]
    ours = [
        w
        for s in range(0, len(ours_rows), CHUNK)
        for _, batch, w in fixed_shape_batches(ours_rows[s : s + CHUNK], INFER_ROWS, LENGTH_BUCKET)
        for _ in batch
    ]
    flops = {
        "pipeline": 2 * multiply_adds([min(int(n) + 2, 512) for n in lens], config),
        "pipeline-maxlen": 2 * multiply_adds([min(int(n) + 2, max_len) for n in lens], config),
        "ours": 2 * multiply_adds(ours, config),
    }
    rate = fp32_matmul_rate(config)
    n = len(lens)
    achieved = {
        a: flops.get(a, flops["ours"]) * r["ads_per_s"] / n / 1e9
        for a, r in results.items()
        if a.startswith("pipeline") or (a.startswith("probs") and a.endswith("fp32"))
    }
    out = {"tflop": {k: v / 1e12 for k, v in flops.items()}, "matmul_gflops": rate, "achieved_gflops": achieved}
    if "pipeline" in results:
        out["gflops_for_3x"] = 3 * results["pipeline"]["ads_per_s"] * flops["ours"] / n / 1e9
    return out


def fp32_matmul_rate(config: dict, tokens: int = 1024, rounds: int = 5, seconds: float = 0.6) -> dict[str, float]:
    """This machine's fp32 matmul rate (GFLOP/s, torch, threads = physical cores) on the
    encoder's own shapes (`tokens` rows) and on a large square product: the ceiling an fp32
    path can approach, measured in the same run as the throughputs it bounds. The shapes
    take turns for `rounds` rounds and each keeps its best, so a slow moment of a shared VM
    lowers no ceiling."""
    import torch

    from trafficking_ads.machine import thread_count

    torch.set_num_threads(thread_count())
    h, ff = config["hidden_size"], config["intermediate_size"]
    cases = {"encoder shapes": [(tokens, h, h), (tokens, h, ff), (tokens, ff, h)], "4096 square": [(4096, 4096, 4096)]}
    pairs = {name: [(torch.randn(a, b), torch.randn(b, c)) for a, b, c in shapes] for name, shapes in cases.items()}
    best = dict.fromkeys(cases, 0.0)
    for _ in range(rounds):
        for name, mats in pairs.items():
            for x, y in mats:
                x @ y
            flops, t0, done = 0.0, time.perf_counter(), 0.0
            while done < seconds:
                for x, y in mats:
                    x @ y
                    flops += 2.0 * x.shape[0] * x.shape[1] * y.shape[1]
                done = time.perf_counter() - t0
            best[name] = max(best[name], flops / done / 1e9)
    return best


def main(argv: list[str] | None = None) -> int:
    from trafficking_ads.model.scorer import CHUNK

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "default"), help="transformer model directory")
    ap.add_argument("--n", type=int, default=2000, help="ads to score (default 2000)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument(
        "--approaches",
        default=",".join(DEFAULT_APPROACHES),
        help="comma-separated: pipeline, pipeline-maxlen, probs-<r>-<p>, score_many-<r>-<p> (r = openvino or torch; p = fp32, "
        "int8 on openvino), indicators",
    )
    ap.add_argument(
        "--slice", type=int, default=CHUNK, help=f"ads per interleaving round (default {CHUNK}, score_many's chunk)"
    )
    ap.add_argument("--json", type=Path, help="also write all figures (without per-ad values) to this JSON file")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--ads", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--hf-dir", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    model_dir = Path(args.model)
    if args.worker:
        worker(args.worker, args.ads, model_dir, args.hf_dir, args.batch_size, args.result)
        return 0

    import numpy as np

    card = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    if card.get("kind") != "transformer":
        print(f"{model_dir}: kind {card.get('kind')!r}; this benchmark needs a transformer model", file=sys.stderr)
        return 1
    approaches = [a.strip() for a in args.approaches.split(",") if a.strip()]
    ads = benchmark_ads(args.n)
    lens = np.array(token_lengths(model_dir, ads))
    max_len = int(card.get("max_len", 256))
    fits = lens <= max_len - 2
    langs: dict[str, int] = {}
    for a in ads:
        lang = a.language or "?"
        langs[lang] = langs.get(lang, 0) + 1
    load = os.getloadavg()
    print(
        f"{len(ads)} ads ({', '.join(f'{k} {v}' for k, v in sorted(langs.items()))}); tokens median {int(np.median(lens))}, "
        f"p90 {int(np.percentile(lens, 90))}, max {int(lens.max())}; {int(fits.sum())} fit whole in max_len {max_len}"
    )
    print(
        f"model {model_dir} ({card.get('name')} {card.get('version')}); batch size {args.batch_size}; "
        f"CPUs {os.cpu_count()}; load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="score-throughput-") as tmpd:
        tmp = Path(tmpd)
        ads_path = tmp / "ads.jsonl"
        ads_path.write_text(
            "".join(json.dumps(ad_to_json(a), ensure_ascii=False) + "\n" for a in ads), encoding="utf-8"
        )
        hf_dir = None
        if any(a.startswith("pipeline") for a in approaches):
            hf_dir = export_hf(model_dir, tmp / "hf")
        results = run_interleaved(approaches, ads_path, len(ads), model_dir, hf_dir, args.batch_size, tmp, args.slice)
        for a, r in results.items():
            print(
                f"{a:24s} {r['ads_per_s']:8.2f} ads/s  ({r['seconds']:.1f} s)  load {r['load_s']:.1f} s  "
                f"peak RSS {r['peak_rss_mb']:.0f} MB" + (f"  threads {r['threads']}" if "threads" in r else ""),
                flush=True,
            )

    print()
    ref = results.get("probs-torch-fp32") or results.get("probs-fp32") or results.get("score_many-torch-fp32")
    for name in ("pipeline", "pipeline-maxlen"):
        if name not in results:
            continue
        pipe = results[name]
        pp = np.array(pipe["probs"])
        how = f"truncation at {pipe.get('truncation')} tokens" + (
            ", its default" if name == "pipeline" else " = the model's max_len"
        )
        for a, r in results.items():
            if a.startswith("pipeline") or a == "indicators":
                continue
            part = (
                "transformer part only"
                if a.startswith("probs")
                else "whole score_many: transformer + indicators + fusion"
            )
            print(
                f"{a.replace('-', ' ', 1)} vs transformers.pipeline ({how}): {r['ads_per_s'] / pipe['ads_per_s']:.1f}x ({part})"
            )
        for a, r in results.items():
            if not r.get("probs") or a.startswith("pipeline"):
                continue
            q = np.array(r["probs"])
            d = np.abs(q - pp)
            print(
                f"  {a} vs {name}, {int(fits.sum())} ads that fit whole: max |dp| {d[fits].max():.2e}, "
                f"same label at 0.5 {np.mean((q[fits] >= 0.5) == (pp[fits] >= 0.5)):.4f}"
                + (
                    f"; {int((~fits).sum())} longer ads (head+tail vs head only): mean |dp| {d[~fits].mean():.3f}"
                    if (~fits).any()
                    else ""
                )
            )
        print()
    if ref is not None:
        rp = np.array(ref["probs"])
        for a, r in results.items():
            if r is ref or not r.get("probs") or a.startswith("pipeline"):
                continue
            d = np.abs(np.array(r["probs"]) - rp)
            print(
                f"{a} vs fp32: max |dp| {d.max():.3f}, mean |dp| {d.mean():.4f}, "
                f"same label at 0.5 {np.mean((np.array(r['probs']) >= 0.5) == (rp >= 0.5)):.4f}"
            )
    comp = None
    if any(a.endswith("fp32") for a in results) and "pipeline" in results:
        comp = compute_report(results, lens, max_len)
        t = comp["tflop"]
        print(
            f"\nfp32 work for these {len(ads)} ads (2 x multiply-adds): pipeline {t['pipeline']:.1f} TFLOP (up to 512 tokens, "
            f"one ad per call), pipeline-maxlen {t['pipeline-maxlen']:.1f}, ours {t['ours']:.1f} (max_len {max_len}, fixed "
            f"batches with padding and filler rows): the pipeline does {t['pipeline'] / t['ours']:.2f}x our work"
        )
        print(
            "fp32 matmul rate of this machine now (torch, best of 5 rounds): "
            + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in comp["matmul_gflops"].items())
        )
        print("achieved fp32 rate: " + ", ".join(f"{a} {v:.0f} GFLOP/s" for a, v in comp["achieved_gflops"].items()))
        enc = comp["matmul_gflops"]["encoder shapes"]
        print(
            f"3.0x the pipeline in fp32 needs our work done at {comp['gflops_for_3x']:.0f} GFLOP/s: "
            f"{comp['gflops_for_3x'] / enc:.2f}x this machine's fp32 matmul rate on the encoder's shapes"
        )
    load = os.getloadavg()
    print(f"load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if args.json:
        slim = {a: {k: v for k, v in r.items() if k not in ("probs", "risk")} for a, r in results.items()}
        doc = {
            "n": len(ads),
            "langs": langs,
            "max_len": max_len,
            "fit_whole": int(fits.sum()),
            "model": str(model_dir),
            "batch_size": args.batch_size,
            "results": slim,
            "compute": comp,
        }
        tmpf = args.json.with_name(f".{args.json.name}.tmp")
        tmpf.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        os.replace(tmpf, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
