"""ONNX Runtime inference for the transformer: fused fp32 kernels, and int8 that keeps its quality.

Why: PyTorch runs each encoder layer as a dozen separate kernels. ONNX Runtime's transformer
optimizer fuses the attention block into one `Attention` op, bias + GELU into `BiasGelu`
and residual + LayerNorm into `SkipLayerNormalization`, and gives the same probabilities
(|Δp| < 2e-6 here) in less time (figures: training/results/throughput.md).

int8 is dynamic quantization: weights per output channel, activations per call. Its known
weak spot in BERT-style encoders is the feed-forward output layer: it reads GELU outputs in
which a handful of channels reach 10-70 while the rest stay below ~5, so one per-tensor
activation scale flattens everything else. Here those outlier channels (calibrated
maximum > `OUTLIER_THRESHOLD`: 0-5 of 1,536 per layer) are split off (LLM.int8()-style):
the feed-forward block is rewritten as two parallel blocks, a large int8 one over the
ordinary channels and a tiny fp32 one over the outliers, whose outputs are added. GELU
works per channel, so the rewrite is exact in fp32; only the int8 part is approximated.
The calibration (each channel's maximum over training ads) is a small JSON file in the model
directory (`calibration.json`), written by training or by `calibrate_model`.

Building the ONNX file takes 15-30 s (export, fusion, quantization) and happens once per
model, precision and onnxruntime version; it is cached beside the converted base and
written atomically. A cached load never builds the PyTorch model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import atomic

CALIBRATION_FILE = "calibration.json"
#: Feed-forward input channels whose calibrated |max| exceeds this stay fp32 under int8.
OUTLIER_THRESHOLD = 6.0
#: Bumped when the build recipe changes, so stale cached files are not reused.
BUILD_FORMAT = 1
ONNX_PRECISIONS = ("fp32", "int8")
#: Batch geometry (rows per run, padded length multiple) per precision. fp32 uses the
#: PyTorch path's fixed shapes (network.INFER_ROWS, LENGTH_BUCKET), so an ad's logit never
#: depends on its batch-mates. int8 quantizes activations per run, so a run holds one ad,
#: unpadded: the ad alone sets its quantization scale, and a resumed run reproduces a fresh one.
GEOMETRY = {"fp32": (8, 16), "int8": (1, 1)}
_FFN_IN = re.compile(r"layer\.(\d+)/intermediate/dense/MatMul$")
_FFN_OUT = re.compile(r"layer\.(\d+)/output/dense/MatMul$")


# --- calibration -----------------------------------------------------------------------------

def calibrate(classifier, ids: Sequence[Sequence[int]], pad_id: int, max_ads: int = 400) -> dict[str, Any]:
    """Per-channel max |input| of every feed-forward output layer over (at most `max_ads`) ads.

    `classifier` is the torch `E5Classifier` (LoRA merged or not); `ids` are encoded inputs."""
    import torch

    from .network import batched_logits

    found: dict[int, Any] = {}
    hooks = []
    for name, module in classifier.named_modules():
        m = re.search(r"layer\.(\d+)\.output\.dense$", name)
        if m and "attention" not in name:  # a Linear, or peft's LoRA wrapper around one
            layer = int(m.group(1))

            def hook(_mod, args, layer=layer):
                x = args[0].detach().abs().float().reshape(-1, args[0].shape[-1]).amax(0)
                found[layer] = x if layer not in found else torch.maximum(found[layer], x)
            hooks.append(module.register_forward_pre_hook(hook))
    if not hooks:
        raise ValueError("no feed-forward output layers (layer.N.output.dense) found to calibrate")
    try:
        batched_logits(classifier, list(ids[:max_ads]), pad_id)
    finally:
        for h in hooks:
            h.remove()
    return {"what": "max |input| per channel of each feed-forward output layer (GELU outputs)",
            "n_ads": min(len(ids), max_ads),
            "ffn_out_absmax": [[round(float(v), 4) for v in found[k].tolist()] for k in sorted(found)]}


def write_calibration(model_dir: str | os.PathLike, calibration: dict[str, Any]) -> Path:
    """Write `calibration.json` into a model directory (atomically)."""
    path = Path(model_dir) / CALIBRATION_FILE
    atomic.write_json(path, calibration, indent=None)
    return path


def calibration_inputs(model_dir: Path, texts: Sequence[str], max_ads: int):
    """(merged classifier, encoded ids, pad id) of a model directory, for calibrating it on
    `texts` (its training ads), encoded as the model reads them."""
    from .base import base_model_dir
    from .encoding import encode_texts
    from .fast import load_tokenizer
    from .network import load_trained

    card = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    base_dir = base_model_dir()
    tok = load_tokenizer(base_dir)
    ids = encode_texts(tok, list(texts[:max_ads]), int(card.get("max_len", 256)), card.get("head_tokens"))
    return load_trained(model_dir, base_dir, merge=True), ids, tok.pad_token_id


def calibrate_model(model_dir: str | os.PathLike, texts: Sequence[str], max_ads: int = 400) -> Path:
    """Calibrate an existing model directory on `texts` (its training ads) and write the file."""
    classifier, ids, pad_id = calibration_inputs(Path(model_dir), texts, max_ads)
    return write_calibration(model_dir, calibrate(classifier, ids, pad_id, max_ads))


def outlier_channels(calibration: dict[str, Any], threshold: float = OUTLIER_THRESHOLD) -> list[list[int]]:
    """Per layer, the feed-forward channels kept in fp32 under int8."""
    return [[j for j, v in enumerate(layer) if v > threshold] for layer in calibration["ffn_out_absmax"]]


# --- building the ONNX file --------------------------------------------------------------------

@contextlib.contextmanager
def _quiet():
    """Silence the exporter's tracer warnings and the optimizer's/quantizer's log lines."""
    root = logging.getLogger()
    ort_log = logging.getLogger("onnxruntime")
    levels = (root.level, ort_log.level)
    root.setLevel(logging.ERROR)
    ort_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(levels[0])
        ort_log.setLevel(levels[1])


def export_fp32(classifier, path: Path) -> None:
    """The merged classifier (encoder, mean pooling, head) as ONNX: ids, mask -> logits."""
    import torch

    class Logits(torch.nn.Module):
        def __init__(self, clf) -> None:
            super().__init__()
            self.clf = clf

        def forward(self, input_ids, attention_mask):
            return self.clf(input_ids=input_ids, attention_mask=attention_mask)["logits"]

    # The eager attention graph (matmul, scale, mask, softmax, matmul) is what ORT's fusion
    # recognises; the SDPA graph is exported as loose ops and stays unfused.
    classifier.encoder.set_attn_implementation("eager")
    ids = torch.full((2, 16), 5, dtype=torch.long)
    with _quiet(), torch.inference_mode():
        torch.onnx.export(Logits(classifier).eval(), (ids, torch.ones_like(ids)), str(path), dynamo=False,
                          input_names=["input_ids", "attention_mask"], output_names=["logits"], opset_version=17,
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                                        "logits": {0: "batch"}})


def fuse(src: Path, dst: Path, num_heads: int, hidden_size: int) -> dict[str, int]:
    """Run ORT's BERT optimizer (attention, GELU and LayerNorm fusions); returns fused-op counts."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    with _quiet():
        model = optimize_model(str(src), model_type="bert", num_heads=num_heads, hidden_size=hidden_size,
                               optimization_options=FusionOptions("bert"), opt_level=0)
        model.save_model_to_file(str(dst))
    return {k: v for k, v in model.get_fused_operator_statistics().items() if v}


def split_outliers(src: Path, dst: Path, hot: list[list[int]]) -> list[str]:
    """Rewrite each feed-forward block with outlier channels as an int8-able block over the
    ordinary channels plus an fp32 block over the outliers. Returns the node names to keep fp32."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    producers = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    replace: dict[str, list] = {}  # node name -> nodes in its place
    drop: set[str] = set()
    keep_fp32: list[str] = []
    unused: list[str] = []
    for out_node in graph.node:
        m = _FFN_OUT.search(out_node.name)
        if out_node.op_type != "MatMul" or not m or "attention" in out_node.name:
            continue
        layer = int(m.group(1))
        hot_idx = np.array(hot[layer] if layer < len(hot) else [], dtype=np.int64)
        if not len(hot_idx):
            continue
        gelu = producers[out_node.input[0]]
        in_node = producers[gelu.input[0]]
        if gelu.op_type != "BiasGelu" or not _FFN_IN.search(in_node.name) or len(consumers[gelu.output[0]]) != 1:
            raise ValueError(f"layer {layer}: unexpected feed-forward graph ({in_node.op_type} -> {gelu.op_type} -> MatMul)")
        w_in = numpy_helper.to_array(inits[in_node.input[1]])
        bias = numpy_helper.to_array(inits[gelu.input[1]])
        w_out = numpy_helper.to_array(inits[out_node.input[1]])
        cold_idx = np.setdiff1d(np.arange(w_in.shape[1]), hot_idx)
        nodes = []
        parts = []
        for tag, idx in (("cold", cold_idx), ("hot", hot_idx)):
            p = f"ffn{layer}_{tag}_"
            graph.initializer.extend([numpy_helper.from_array(np.ascontiguousarray(w_in[:, idx]), p + "w_in"),
                                      numpy_helper.from_array(np.ascontiguousarray(bias[idx]), p + "bias"),
                                      numpy_helper.from_array(np.ascontiguousarray(w_out[idx]), p + "w_out")])
            nodes += [helper.make_node("MatMul", [in_node.input[0], p + "w_in"], [p + "pre"], name=p + "MatMulIn"),
                      helper.make_node("BiasGelu", [p + "pre", p + "bias"], [p + "act"], name=p + "BiasGelu",
                                       domain="com.microsoft"),
                      helper.make_node("MatMul", [p + "act", p + "w_out"], [p + "out"], name=p + "MatMulOut")]
            parts.append(p + "out")
            if tag == "hot":
                keep_fp32 += [p + "MatMulIn", p + "MatMulOut"]
        nodes.append(helper.make_node("Add", parts, [out_node.output[0]], name=f"ffn{layer}_Add"))
        replace[out_node.name] = nodes
        drop.update({in_node.name, gelu.name})
        unused += [in_node.input[1], gelu.input[1], out_node.input[1]]
    new_nodes = []
    for n in graph.node:
        if n.name in replace:
            new_nodes.extend(replace[n.name])
        elif n.name not in drop:
            new_nodes.append(n)
    del graph.node[:]
    graph.node.extend(new_nodes)
    still = {i for n in graph.node for i in n.input}
    kept = [i for i in graph.initializer if i.name not in set(unused) or i.name in still]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.save(model, str(dst))
    return keep_fp32


def quantize(src: Path, dst: Path, exclude: list[str]) -> None:
    """Dynamic int8: weights per output channel, 8-bit activations (the CPU path has VNNI/AMX)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet():
        quantize_dynamic(str(src), str(dst), per_channel=True, reduce_range=False, weight_type=QuantType.QInt8,
                         nodes_to_exclude=exclude, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def build(classifier, out: Path, precision: str, calibration: dict[str, Any] | None) -> dict[str, Any]:
    """Write `out`/model.onnx for the merged classifier at `precision`; returns build facts."""
    import time

    cfg = classifier.encoder.config
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=".onnx-build-", dir=out.parent) as tmpd:
        tmp = Path(tmpd)
        export_fp32(classifier, tmp / "exported.onnx")
        fused = fuse(tmp / "exported.onnx", tmp / "fused.onnx", cfg.num_attention_heads, cfg.hidden_size)
        facts: dict[str, Any] = {"precision": precision, "fused_ops": fused, "format": BUILD_FORMAT}
        final = tmp / "fused.onnx"
        if precision == "int8":
            if calibration is None:
                raise ValueError("int8 needs the model's calibration.json")
            hot = outlier_channels(calibration)
            exclude = split_outliers(final, tmp / "split.onnx", hot)
            quantize(tmp / "split.onnx", tmp / "int8.onnx", exclude)
            final = tmp / "int8.onnx"
            facts.update(outlier_threshold=OUTLIER_THRESHOLD, fp32_channels=[len(h) for h in hot])
        stage = tmp / "stage"
        stage.mkdir()
        shutil.move(str(final), stage / "model.onnx")
        facts["build_seconds"] = round(time.perf_counter() - t0, 1)
        (stage / "build.json").write_text(json.dumps(facts, indent=1) + "\n", encoding="utf-8")
        atomic.replace_dir(stage, out)
    return facts


# --- running it --------------------------------------------------------------------------------

def model_digest(model_dir: Path, card: dict, extra_files: Sequence[str], facts: Any) -> str:
    """sha256 over the model's adapter and head (+ `extra_files`) and `facts` (JSON): the
    cache key of a runtime build, which changes when anything it is built from changes."""
    h = hashlib.sha256()
    files = card.get("files", {})
    names = [files.get("adapter", "adapter.safetensors"), files.get("adapter_config", "adapter_config.json"),
             files.get("head", "head.safetensors"), *extra_files]
    for name in names:
        p = model_dir / name
        h.update(name.encode() + b"\0" + (p.read_bytes() if p.is_file() else b"(missing)"))
    h.update(json.dumps([card.get("base_sha256"), facts]).encode())
    return h.hexdigest()


def read_calibration(model_dir: Path) -> dict[str, Any]:
    """The model's calibration.json; a clear error when it is missing."""
    cal = model_dir / CALIBRATION_FILE
    if not cal.is_file():
        raise ValueError(f"{cal}: missing; int8 needs the model's calibration "
                         "(`trafficking-ads models calibrate MODEL --data CORPUS`)")
    return json.loads(cal.read_text(encoding="utf-8"))


def cache_key(model_dir: Path, card: dict, precision: str) -> str:
    """Changes when anything the ONNX file is built from changes."""
    import onnxruntime

    return model_digest(model_dir, card, [CALIBRATION_FILE] if precision == "int8" else [],
                        [precision, BUILD_FORMAT, onnxruntime.__version__, OUTLIER_THRESHOLD])


class OnnxClassifier:
    """An ONNX Runtime session over the classifier; `logits(ids, pad_id)` is all scoring needs."""

    runtime = "onnx"

    def __init__(self, path: Path, precision: str, threads: int) -> None:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        self.path = path
        self.precision = precision
        self.rows, self.bucket = GEOMETRY[precision]
        self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])

    @classmethod
    def load(cls, model_dir: str | os.PathLike, card: dict, base_dir: Path, precision: str = "fp32",
             threads: int | None = None, cache: Path | None = None) -> OnnxClassifier:
        """The cached ONNX build of this model at `precision`, built first if missing."""
        from .base import cache_root
        from .fast import thread_count

        if precision not in ONNX_PRECISIONS:
            raise ValueError(f"precision {precision!r} does not run on onnx (one of: {', '.join(ONNX_PRECISIONS)}); "
                             "bf16 and int8-mixed run with --runtime torch")
        model_dir = Path(model_dir)
        calibration = read_calibration(model_dir) if precision == "int8" else None
        key = cache_key(model_dir, card, precision)
        out = (cache or cache_root() / "onnx") / f"{card.get('name', 'model')}-{precision}-{key[:16]}"
        if not (out / "model.onnx").is_file():
            from .network import load_trained

            out.parent.mkdir(parents=True, exist_ok=True)
            build(load_trained(model_dir, base_dir, merge=True), out, precision, calibration)
        return cls(out / "model.onnx", precision, thread_count(threads))

    def logits(self, ids: list[list[int]], pad_id: int) -> np.ndarray:
        """Logits in input order; runs of `self.rows` ads padded to a multiple of `self.bucket`."""
        from .encoding import fixed_shape_feeds

        out = np.zeros(len(ids))
        for idx, feed in fixed_shape_feeds(ids, self.rows, self.bucket, pad_id):
            out[idx] = self.session.run(None, feed)[0][:len(idx)]
        return out
