"""The transformer runtimes: OpenVINO (fp32, static int8) built from numpy weights, torch fp32
as the reference, one interface chosen by name, precision "auto" per CPU.

A small model directory is built on the real converted e5 base (LoRA adapters with seeded
non-zero weights on every kind of target module, so merging matters, and a head along the
embeddings' main direction of variation, so probabilities spread over (0, 1)). Built graphs
go to a temporary cache, never the user's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from trafficking_ads.model_card import load_card
from trafficking_ads.records import Ad

ROOT = Path(__file__).resolve().parents[1]
MAX_LEN = 64

TEXTS = [
    "Требуются девушки 18-25 лет на работу хостес в Дубае. Перелёт и жильё за наш счёт. Пишите в WhatsApp.",
    "Вакансия: бухгалтер в ТОО «Астана Энерго». Официальное трудоустройство, опыт от 3 лет, оклад 450 000 тг.",
    "Дубайға жұмыс қыздарға! Тәжірибе керек емес, ұшақ билеті біздің есептен.",
    "Астанадағы мектепке ағылшын тілі мұғалімі қажет. Толық жұмыс күні, әлеуметтік пакет.",
    "Work from home! Earn $5000 a week, no experience needed. Send a $50 registration fee to start.",
    "Senior Data Engineer at a fintech company in London. Hybrid, competitive salary, pension scheme.",
    "Модели для работы за границей, 18+, оплата ежедневно, паспорт оставить у агента.",
    "Receptionist wanted for a dental clinic, Monday to Friday, 9am-5pm.",
]
LONG = " ".join(TEXTS * 4)  # well over MAX_LEN tokens: exercises head + tail


def _ads() -> list[Ad]:
    return [Ad(text=t, id=f"ad-{i}") for i, t in enumerate(TEXTS)] + [Ad(text=LONG, id="long")]


@pytest.fixture(scope="module")
def graph_cache(tmp_path_factory) -> Path:
    """A temporary cache for built graphs."""
    return tmp_path_factory.mktemp("ov-cache")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A transformer model dir on the real base (torch builds it, as training does)."""
    torch = pytest.importorskip("torch")
    from trafficking_ads.model.base import base_model_dir
    from trafficking_ads.model.encoding import ad_input_text, encode_texts, pad_batch
    from trafficking_ads.model.network import (
        build_classifier,
        lora_config,
        save_trained,
    )
    from trafficking_ads.model.tokenizer import load_tokenizer

    torch.manual_seed(0)
    base = base_model_dir()
    model = build_classifier(base, lora_config(4, 8, 0.0, ["query", "value", "dense"], [10, 11])).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.02)
    tok = load_tokenizer(base)
    ids = encode_texts(tok, [ad_input_text(t) for t in TEXTS], MAX_LEN)
    a, m = pad_batch(ids, tok.pad_token_id)
    with torch.inference_mode():
        pooled = model.pooled(a, m).double().numpy()
    centred = pooled - pooled.mean(0)
    direction = np.linalg.svd(centred, full_matrices=False)[2][0]
    w = direction * (2.0 / (centred @ direction).std())
    with torch.no_grad():
        model.head.weight.copy_(torch.tensor(w[None, :], dtype=torch.float32))
        model.head.bias.fill_(float(-(pooled.mean(0) @ w)))
    out = tmp_path_factory.mktemp("rtmodel")
    save_trained(model, out)
    fusion = {
        "features": ["transformer_logit"],
        "mean": [0.0],
        "scale": [1.0],
        "coef": [1.0],
        "intercept": 0.0,
        "calibration": {"method": "none", "a": 1.0, "b": 0.0, "x": [], "y": []},
    }
    (out / "fusion.json").write_text(json.dumps(fusion), encoding="utf-8")
    card = {
        "kind": "transformer",
        "name": "rt-test",
        "version": "0",
        "max_len": MAX_LEN,
        "head_tokens": None,
        "thresholds": {"medium": 0.35, "high": 0.7},
        "features": ["transformer_logit"],
        "runtime": "openvino",
        "precision": "auto",
        "files": {"fusion": "fusion.json"},
    }
    (out / "model.json").write_text(json.dumps(card), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def torch_fp32(model_dir):
    from trafficking_ads.model.scorer import TransformerScorer

    return TransformerScorer.load(model_dir, runtime="torch", precision="fp32")


def _runtime(model_dir, precision, cache):
    from trafficking_ads.model.base import base_model_dir
    from trafficking_ads.model.runtime_openvino import OpenVinoRuntime
    from trafficking_ads.model.tokenizer import load_tokenizer

    card = load_card(model_dir)
    base = base_model_dir()
    return OpenVinoRuntime.load(
        model_dir, card, base, load_tokenizer(base).pad_token_id, precision=precision, cache=cache
    )


@pytest.mark.slow
def test_lora_merge_in_numpy_equals_peft(model_dir):
    torch = pytest.importorskip("torch")
    from trafficking_ads.model.base import base_model_dir
    from trafficking_ads.model.network import load_trained
    from trafficking_ads.model.openvino_graph import classifier_weights

    card = load_card(model_dir)
    weights, _ = classifier_weights(model_dir, card, base_model_dir())
    merged = load_trained(model_dir, base_model_dir(), merge=True)
    state = {k: v.detach().numpy() for k, v in merged.encoder.state_dict().items()}
    for name in (
        "encoder.layer.11.attention.self.query.weight",
        "encoder.layer.10.output.dense.weight",
        "encoder.layer.11.attention.output.dense.weight",
        "encoder.layer.3.intermediate.dense.weight",
    ):
        assert np.abs(weights[name] - state[name]).max() < 1e-6, name
    assert np.array_equal(weights["head.weight"], merged.head.weight.detach().numpy())
    assert torch.is_tensor(merged.head.bias)


@pytest.mark.slow
def test_openvino_fp32_matches_torch_fp32(model_dir, torch_fp32, graph_cache):
    from trafficking_ads.model.runtime import Runtime

    ov32 = _runtime(model_dir, "fp32", graph_cache)
    assert isinstance(ov32, Runtime) and ov32.name == "openvino" and ov32.precision == "fp32"
    ids = torch_fp32.encode(_ads())
    assert np.abs(ov32.logits(ids) - torch_fp32.runtime.logits(ids)).max() < 1e-4
    # the split feed-forward graph is exact in fp32 too
    import openvino as ov

    from trafficking_ads.model.base import base_model_dir
    from trafficking_ads.model.openvino_graph import (
        build_graph,
        classifier_weights,
        hot_matmuls,
    )

    card = load_card(model_dir)
    weights, config = classifier_weights(model_dir, card, base_model_dir())
    split = build_graph(weights, config, [[0, 7, 300]] * 11 + [[]])
    assert len(hot_matmuls(split)) == 22
    compiled = ov.Core().compile_model(split, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    from trafficking_ads.model.encoding import fixed_shape_feeds

    out = np.zeros(len(ids))
    for idx, feed in fixed_shape_feeds(ids, 8, 16, torch_fp32.tokenizer.pad_token_id):
        out[idx] = compiled(feed)["logits"][: len(idx)]
    assert np.abs(out - torch_fp32.runtime.logits(ids)).max() < 1e-4


@pytest.mark.slow
def test_openvino_bf16_agrees_with_fp32_where_native(model_dir, torch_fp32, graph_cache):
    from trafficking_ads.machine import cpu_features

    bf16 = _runtime(model_dir, "bf16", graph_cache)
    native = bool({"amx_bf16", "avx512_bf16"} & set(cpu_features()))
    assert bf16.precision == ("bf16" if native else "fp32")  # what actually runs
    ids = torch_fp32.encode(_ads())
    assert np.abs(bf16.logits(ids) - torch_fp32.runtime.logits(ids)).max() < 0.3


@pytest.mark.slow
def test_openvino_int8_needs_calibration_then_agrees_and_is_batch_invariant(
    model_dir, torch_fp32, graph_cache, tmp_path
):
    from trafficking_ads.model.base import base_model_dir
    from trafficking_ads.model.calibration import (
        channel_maxima,
        write_calibration,
        write_inputs,
    )
    from trafficking_ads.model.network import load_trained
    from trafficking_ads.model.runtime_openvino import cache_key

    card = load_card(model_dir)
    with pytest.raises(ValueError, match="calibration.json: missing.*models calibrate"):
        _runtime(model_dir, "int8", tmp_path / "c0")
    ids = torch_fp32.encode([Ad(text=f"{t} {i}") for i in range(8) for t in TEXTS])
    key = cache_key(model_dir, card, "int8")
    write_calibration(
        model_dir, channel_maxima(load_trained(model_dir, base_model_dir()), ids, torch_fp32.tokenizer.pad_token_id)
    )
    assert cache_key(model_dir, card, "int8") != key
    with pytest.raises(ValueError, match="calibration_inputs.safetensors: missing"):
        _runtime(model_dir, "int8", tmp_path / "c1")
    write_inputs(model_dir, ids)

    int8 = _runtime(model_dir, "int8", graph_cache)
    assert json.loads((int8.path.parent / "build.json").read_text())["precision"] == "int8"
    test_ids = torch_fp32.encode(_ads())
    got, ref = int8.logits(test_ids), torch_fp32.runtime.logits(test_ids)
    assert np.abs(got - ref).max() < 0.5 and np.corrcoef(got, ref)[0, 1] > 0.98
    # an ad's logit does not depend on its batch-mates or on which stream computed it
    alone = np.array([int8.logits([row])[0] for row in test_ids])
    assert np.array_equal(alone, got)
    # a second load reuses the cached graph
    assert _runtime(model_dir, "int8", graph_cache).path == int8.path


def test_precision_auto_follows_the_cpu(monkeypatch):
    from trafficking_ads import machine
    from trafficking_ads.model.runtime import resolve

    monkeypatch.setattr(machine, "_cpuinfo", lambda: ("AMD EPYC 7B13", frozenset({"avx2", "fma"})))
    assert machine.int8_units() == [] and machine.auto_precision() == "fp32"
    assert resolve(None, None) == ("openvino", "fp32") and resolve("openvino", "auto") == ("openvino", "fp32")
    monkeypatch.setattr(machine, "_cpuinfo", lambda: ("Intel Xeon", frozenset({"avx2", "avx512f", "avx512_vnni"})))
    assert machine.int8_units() == ["avx512_vnni"] and resolve(None, "auto") == ("openvino", "int8")
    monkeypatch.setattr(machine, "_cpuinfo", lambda: ("Intel Core", frozenset({"avx2", "avx_vnni"})))
    assert resolve("openvino", None) == ("openvino", "int8")
    assert resolve("torch", "auto") == ("torch", "fp32")  # the reference is fp32 everywhere
    assert resolve("openvino", "fp32") == ("openvino", "fp32")


def test_thread_count_follows_physical_cores(monkeypatch):
    from trafficking_ads.machine import THREADS_ENV, physical_cores, thread_count

    assert 1 <= physical_cores() <= (os.cpu_count() or 1)
    monkeypatch.setenv(THREADS_ENV, "1")
    assert thread_count() == 1 and thread_count(3) == 3


def test_unknown_runtime_or_precision_is_a_clear_error(tmp_path):
    from trafficking_ads.model.runtime import resolve
    from trafficking_ads.model.runtime_openvino import OpenVinoRuntime
    from trafficking_ads.model.runtime_torch import TorchRuntime

    with pytest.raises(ValueError, match="unknown runtime 'onnx'"):
        resolve("onnx", None)
    with pytest.raises(ValueError, match="precision 'fp16' does not run on openvino"):
        OpenVinoRuntime.load(tmp_path, {}, tmp_path, 1, precision="fp16", cache=tmp_path)
    with pytest.raises(ValueError, match="precision 'int8' does not run on torch"):
        TorchRuntime.load(tmp_path, None, tmp_path, 1, precision="int8")


@pytest.mark.slow
def test_scorer_names_its_runtime_and_precision(model_dir, torch_fp32):
    assert (torch_fp32.info.runtime, torch_fp32.info.precision) == ("torch", "fp32")
    out = list(torch_fp32.score_many(iter(_ads())))
    assert [a.ad_id for a in out] == [a.id for a in _ads()]
    assert out[0].model.runtime == "torch" and out[0].model.precision == "fp32"


NO_TORCH = r"""
import json, sys
from trafficking_ads.scoring import load_scorer
scorer = load_scorer(sys.argv[1], precision=sys.argv[2])
a = scorer.score("Требуются девушки 18-25 лет в Дубай, жильё бесплатно, пишите в WhatsApp")
heavy = sorted(m for m in ("torch", "transformers", "peft", "onnx", "onnxruntime", "nncf") if m in sys.modules)
print(json.dumps({"heavy": heavy, "runtime": a.model.runtime, "precision": a.model.precision, "risk": a.risk}))
"""


@pytest.mark.slow
def test_scoring_imports_no_torch(tmp_path):
    """Scoring the default model (graph built on first use into a temp cache) never imports
    torch, transformers, peft or ONNX."""
    from trafficking_ads.model.base import base_model_dir

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "base").symlink_to(base_model_dir().parent)  # read the converted base, build graphs here
    env = dict(os.environ, TRAFFICKING_ADS_CACHE=str(cache), PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", NO_TORCH, str(ROOT / "models" / "default"), "fp32"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["heavy"] == [] and (got["runtime"], got["precision"]) == ("openvino", "fp32")
    assert list((cache / "openvino").iterdir())  # built in the temp cache


@pytest.fixture(scope="module")
def default_cache(tmp_path_factory) -> Path:
    """A temporary cache that reads the real converted base and builds graphs apart."""
    from trafficking_ads.model.base import base_model_dir

    cache = tmp_path_factory.mktemp("default-cache")
    (cache / "base").symlink_to(base_model_dir().parent)
    return cache


@pytest.mark.slow
@pytest.mark.parametrize(
    "precision,reference,tolerance", [("fp32", "torch-fp32", 1e-4), ("int8", "openvino-int8", 0.01)]
)
def test_sample_ads_score_as_before(precision, reference, tolerance, default_cache, samples_path, monkeypatch):
    """The snapshot taken before the runtime redesign: OpenVINO fp32 gives torch fp32's risks
    (to 1e-4), int8 the old int8's (to 0.01: another calibration run of the same recipe);
    bands and indicators unchanged."""
    from trafficking_ads import read_ads
    from trafficking_ads.scoring import load_scorer

    monkeypatch.setenv("TRAFFICKING_ADS_CACHE", str(default_cache))
    snapshot = json.loads((ROOT / "tests" / "fixtures" / "snapshot_samples.json").read_text(encoding="utf-8"))[
        reference
    ]
    scorer = load_scorer(None, runtime="openvino", precision=precision)
    out = list(scorer.score_many(read_ads(samples_path)))
    assert sorted(a.ad_id for a in out) == sorted(snapshot)
    for a in out:
        want = snapshot[a.ad_id]
        assert a.band == want["band"], a.ad_id
        assert sorted(h.id for h in a.indicators) == want["indicators"], a.ad_id
        assert abs(a.risk - want["risk"]) <= tolerance, (a.ad_id, a.risk, want["risk"])
    assert (scorer.info.runtime, scorer.info.precision) == ("openvino", precision)


def _tiny_bert(rng: np.random.Generator) -> tuple[dict[str, np.ndarray], dict]:
    """Random weights of a 2-layer, 2-head BERT (hidden 8, feed-forward 16, vocab 30)."""
    h, ff, layers = 8, 16, 2
    config = {"hidden_size": h, "num_attention_heads": 2, "num_hidden_layers": layers, "layer_norm_eps": 1e-12}
    w = {
        "embeddings.word_embeddings.weight": rng.normal(size=(30, h)),
        "embeddings.position_embeddings.weight": rng.normal(size=(20, h)),
        "embeddings.token_type_embeddings.weight": rng.normal(size=(2, h)),
        "embeddings.LayerNorm.weight": rng.normal(1, 0.1, h),
        "embeddings.LayerNorm.bias": rng.normal(0, 0.1, h),
        "head.weight": rng.normal(size=(1, h)),
        "head.bias": rng.normal(size=1),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}"
        for name, shape in (
            ("attention.self.query", (h, h)),
            ("attention.self.key", (h, h)),
            ("attention.self.value", (h, h)),
            ("attention.output.dense", (h, h)),
            ("intermediate.dense", (ff, h)),
            ("output.dense", (h, ff)),
        ):
            w[f"{p}.{name}.weight"], w[f"{p}.{name}.bias"] = rng.normal(0, 0.5, shape), rng.normal(0, 0.1, shape[0])
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[f"{p}.{ln}.weight"], w[f"{p}.{ln}.bias"] = rng.normal(1, 0.1, h), rng.normal(0, 0.1, h)
    return {k: v.astype(np.float32) for k, v in w.items()}, config


def _numpy_forward(w: dict[str, np.ndarray], config: dict, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The classifier written out in numpy (float64): what the OpenVINO graph must compute."""
    from math import erf

    w = {k: v.astype(np.float64) for k, v in w.items()}
    heads, eps = config["num_attention_heads"], config["layer_norm_eps"]

    def ln(x, p):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * w[f"{p}.weight"] + w[f"{p}.bias"]

    def lin(x, p):
        return x @ w[f"{p}.weight"].T + w[f"{p}.bias"]

    gelu = np.vectorize(lambda v: 0.5 * v * (1 + erf(v / np.sqrt(2))))
    b, t = ids.shape
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:t]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = ln(x, "embeddings.LayerNorm")
    d = x.shape[-1] // heads
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        q, k, v = (
            lin(x, f"{p}.attention.self.{n}").reshape(b, t, heads, d).transpose(0, 2, 1, 3)
            for n in ("query", "key", "value")
        )
        s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(d) + np.where(mask[:, None, None, :] > 0, 0.0, -1e30)
        s = np.exp(s - s.max(-1, keepdims=True))
        ctx = ((s / s.sum(-1, keepdims=True)) @ v).transpose(0, 2, 1, 3).reshape(b, t, -1)
        a = ln(lin(ctx, f"{p}.attention.output.dense") + x, f"{p}.attention.output.LayerNorm")
        x = ln(lin(gelu(lin(a, f"{p}.intermediate.dense")), f"{p}.output.dense") + a, f"{p}.output.LayerNorm")
    m = mask[..., None].astype(np.float64)
    pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1)
    return (pooled @ w["head.weight"].T + w["head.bias"])[:, 0]


def test_openvino_graph_computes_the_classifier():
    """The graph built from numpy weights equals the classifier written out in numpy, with and
    without the feed-forward split (exact in fp32), padded rows included."""
    import openvino as ov

    from trafficking_ads.model.openvino_graph import build_graph, hot_matmuls

    rng = np.random.default_rng(7)
    w, config = _tiny_bert(rng)
    ids = rng.integers(0, 30, size=(3, 7)).astype(np.int64)
    mask = np.array([[1] * 7, [1] * 4 + [0] * 3, [1] + [0] * 6], dtype=np.int64)
    want = _numpy_forward(w, config, ids, mask)
    for split in (None, [[0, 5], [3]]):
        model = build_graph(w, config, split)
        assert len(hot_matmuls(model)) == (0 if split is None else 4)
        got = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})(
            {"input_ids": ids, "attention_mask": mask}
        )["logits"]
        assert got.shape == (3,) and np.abs(got - want).max() < 1e-4, (got, want)


def test_lora_merge_follows_adapter_config():
    from trafficking_ads.model.openvino_graph import merge_lora

    rng = np.random.default_rng(1)
    base = {"encoder.layer.0.attention.self.query.weight": rng.normal(size=(6, 6)).astype(np.float32)}
    a, b = rng.normal(size=(2, 6)).astype(np.float32), rng.normal(size=(6, 2)).astype(np.float32)
    adapter = {
        "base_model.model.encoder.layer.0.attention.self.query.lora_A.weight": a,
        "base_model.model.encoder.layer.0.attention.self.query.lora_B.weight": b,
    }
    merged = dict(base)
    assert merge_lora(merged, adapter, {"r": 2, "lora_alpha": 8}) == 1
    np.testing.assert_allclose(
        merged["encoder.layer.0.attention.self.query.weight"],
        base["encoder.layer.0.attention.self.query.weight"] + 4 * (b @ a),
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="use_dora"):
        merge_lora(dict(base), adapter, {"r": 2, "lora_alpha": 8, "use_dora": True})
    with pytest.raises(ValueError, match="no base weight"):
        merge_lora({}, adapter, {"r": 2, "lora_alpha": 8})


def test_calibration_inputs_round_trip_and_clear_errors(tmp_path):
    from trafficking_ads.model.calibration import INPUTS_FILE, read_inputs, write_inputs

    with pytest.raises(ValueError, match="calibration_inputs.safetensors: missing.*models calibrate"):
        read_inputs(tmp_path)
    rows = [[0, 5, 9, 2], [0, 7, 2], [0, 2]]
    write_inputs(tmp_path, rows)
    assert read_inputs(tmp_path) == rows
    (tmp_path / INPUTS_FILE).write_bytes(b"not safetensors")
    with pytest.raises(ValueError, match="unreadable"):
        read_inputs(tmp_path)


def test_light_tokenizer_gives_the_same_ids_as_autotokenizer():
    transformers = pytest.importorskip("transformers")
    from trafficking_ads.model.base import base_model_dir
    from trafficking_ads.model.encoding import ad_input_text, encode_texts
    from trafficking_ads.model.tokenizer import load_tokenizer

    base = base_model_dir()
    auto, light = transformers.AutoTokenizer.from_pretrained(str(base)), load_tokenizer(base)
    texts = [ad_input_text(t) for t in TEXTS] + [
        LONG,
        "",
        "  \u200b\u00a0Привет\tмир\n\nҚазақ  ",
        "💃🔥 +7 7О7 <s> a<mask>b",
    ]
    assert encode_texts(light, texts, MAX_LEN) == encode_texts(auto, texts, MAX_LEN)
    for name in ("bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id"):
        assert getattr(light, name) == getattr(auto, name)
    assert len(light) == len(auto)
