"""What int8 quantization of a model needs, stored in its directory: the outlier channels and
the calibration ads.

BERT-style encoders have a weak spot under int8: each feed-forward output layer reads GELU
outputs in which a handful of channels reach 10-70 while the rest stay below ~5, so one
per-tensor activation scale flattens everything else. `calibration.json` holds each such
channel's maximum over training ads; channels over `OUTLIER_THRESHOLD` (0-5 of 1,536 per
layer) are computed in a separate fp32 block (`openvino_graph.build_graph(split=...)`).
`calibration_inputs.safetensors` holds the token ids of the training ads NNCF calibrates
the int8 graph on (the first `CALIBRATION_ADS`), so a user's machine builds the same int8
graph as the training machine without any training data.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from .. import atomic
from ..model_card import load_card
from ..errors import InvalidValueError

CALIBRATION_FILE = "calibration.json"
INPUTS_FILE = "calibration_inputs.safetensors"
#: Feed-forward input channels whose calibrated |max| exceeds this stay fp32 under int8.
OUTLIER_THRESHOLD = 6.0
#: Training ads NNCF's int8 statistics are collected on (its default subset size).
CALIBRATION_ADS = 300
_RECALIBRATE = "recalibrate with `trafficking-ads models calibrate MODEL --data CORPUS`"


def outlier_channels(calibration: dict[str, Any], threshold: float = OUTLIER_THRESHOLD) -> list[list[int]]:
    """Per layer, the feed-forward channels kept in fp32 under int8."""
    return [[j for j, v in enumerate(layer) if v > threshold] for layer in calibration["ffn_out_absmax"]]


def read_calibration(model_dir: Path) -> dict[str, Any]:
    """The model's calibration.json; a clear error when it is missing."""
    path = Path(model_dir) / CALIBRATION_FILE
    if not path.is_file():
        raise InvalidValueError(f"{path}: missing; int8 needs the model's calibration ({_RECALIBRATE})")
    return json.loads(path.read_text(encoding="utf-8"))


def write_calibration(model_dir: str | os.PathLike, calibration: dict[str, Any]) -> Path:
    """Write `calibration.json` into a model directory (atomically)."""
    path = Path(model_dir) / CALIBRATION_FILE
    atomic.write_json(path, calibration, indent=None)
    return path


def write_inputs(model_dir: str | os.PathLike, ids: Sequence[Sequence[int]]) -> Path:
    """Store the calibration ads' token ids (the first `CALIBRATION_ADS`) as safetensors:
    all ids concatenated (int32) and each ad's start offset."""
    from safetensors.numpy import save

    rows = [list(r) for r in ids[:CALIBRATION_ADS]]
    flat = np.array([t for r in rows for t in r], dtype=np.int32)
    offsets = np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)
    path = Path(model_dir) / INPUTS_FILE
    atomic.write_bytes(
        path, save({"ids": flat, "offsets": offsets}, metadata={"what": "token ids of int8 calibration ads"})
    )
    return path


def read_inputs(model_dir: Path) -> list[list[int]]:
    """The stored calibration ads' token ids; a clear error when missing or malformed."""
    from safetensors.numpy import load_file

    path = Path(model_dir) / INPUTS_FILE
    if not path.is_file():
        raise InvalidValueError(f"{path}: missing; int8 needs the model's calibration ads ({_RECALIBRATE})")
    try:
        data = load_file(str(path))
        flat, offsets = data["ids"], data["offsets"]
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same message
        raise InvalidValueError(f"{path}: unreadable ({e}); {_RECALIBRATE}") from None
    if len(offsets) < 2 or offsets[0] != 0 or offsets[-1] != len(flat) or np.any(np.diff(offsets) <= 0):
        raise InvalidValueError(f"{path}: offsets do not split the ids into ads; {_RECALIBRATE}")
    return [flat[a:b].astype(np.int64).tolist() for a, b in pairwise(offsets)]


def channel_maxima(classifier, ids: Sequence[Sequence[int]], pad_id: int, max_ads: int = 400) -> dict[str, Any]:
    """Per-channel max |input| of every feed-forward output layer over (at most `max_ads`) ads,
    measured on the torch `E5Classifier` (LoRA merged or not): the content of calibration.json."""
    import torch

    from .runtime_torch import batched_logits

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
        raise InvalidValueError("no feed-forward output layers (layer.N.output.dense) found to calibrate")
    try:
        batched_logits(classifier, list(ids[:max_ads]), pad_id)
    finally:
        for h in hooks:
            h.remove()
    return {
        "what": "max |input| per channel of each feed-forward output layer (GELU outputs)",
        "n_ads": min(len(ids), max_ads),
        "ffn_out_absmax": [[round(float(v), 4) for v in found[k].tolist()] for k in sorted(found)],
    }


def calibrate_model(model_dir: str | os.PathLike, texts: Sequence[str], max_ads: int = 400) -> tuple[Path, Path]:
    """Calibrate an existing model directory on `texts` (its training ads, as `ad_input_text`
    gives them): write calibration.json and calibration_inputs.safetensors."""
    from .base import base_model_dir
    from .encoding import encode_texts
    from .network import load_trained
    from .tokenizer import load_tokenizer

    path = Path(model_dir)
    card = load_card(path)
    base_dir = base_model_dir()
    tok = load_tokenizer(base_dir)
    ids = encode_texts(tok, list(texts[:max_ads]), card.max_len, card.head_tokens)
    cal = channel_maxima(load_trained(path, base_dir, merge=True), ids, tok.pad_token_id, max_ads)
    return write_calibration(path, cal), write_inputs(path, ids)
