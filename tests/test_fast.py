"""Fast CPU inference: int8 / bf16 paths, pruned vocabulary, ordering of score_many.

A small model directory is built from the real converted e5 base (LoRA adapters with
seeded non-zero weights, so merging matters, and a head along the embeddings' main
direction of variation, so probabilities spread over (0, 1)).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

#: Every runtime and precision builds its own graph (minutes on 2 cores): the slow tier.
pytestmark = pytest.mark.slow

torch = pytest.importorskip("torch")

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


def _long_text() -> str:
    return " ".join(TEXTS * 4)  # well over MAX_LEN tokens: exercises head + tail


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """A transformer model dir on the real base; model.json asks for int8 by default."""
    from transformers import AutoTokenizer

    from trafficking_ads.model.base import base_model_dir
    from trafficking_ads.model.encoding import ad_input_text, encode_texts, pad_batch
    from trafficking_ads.model.network import build_classifier, lora_config, save_trained

    torch.manual_seed(0)
    base = base_model_dir()
    model = build_classifier(base, lora_config(4, 8, 0.0, ["query", "value"], [10, 11])).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.02)
    tok = AutoTokenizer.from_pretrained(str(base))
    ids = encode_texts(tok, [ad_input_text(t) for t in TEXTS], MAX_LEN)
    a, m = pad_batch(ids, tok.pad_token_id)
    with torch.inference_mode():
        pooled = model.pooled(a, m).double().numpy()
    centred = pooled - pooled.mean(0)
    direction = np.linalg.svd(centred, full_matrices=False)[2][0]
    proj = centred @ direction
    w = direction * (2.0 / proj.std())
    with torch.no_grad():
        model.head.weight.copy_(torch.tensor(w[None, :], dtype=torch.float32))
        model.head.bias.fill_(float(-(pooled.mean(0) @ w)))
    out = tmp_path_factory.mktemp("fastmodel")
    save_trained(model, out)
    fusion = {"features": ["transformer_logit"], "mean": [0.0], "scale": [1.0], "coef": [1.0], "intercept": 0.0,
              "calibration": {"method": "none", "a": 1.0, "b": 0.0, "x": [], "y": []}}
    (out / "fusion.json").write_text(json.dumps(fusion), encoding="utf-8")
    card = {"kind": "transformer", "name": "fast-test", "version": "0", "max_len": MAX_LEN, "head_tokens": None,
            "thresholds": {"medium": 0.35, "high": 0.7}, "features": ["transformer_logit"], "precision": "int8",
            "files": {"fusion": "fusion.json"}}
    (out / "model.json").write_text(json.dumps(card), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def fp32(model_dir):
    from trafficking_ads.scoring import load_scorer

    return load_scorer(model_dir, precision="fp32")


def _ads() -> list[Ad]:
    return [Ad(text=t, id=f"ad-{i}") for i, t in enumerate(TEXTS)]


def test_int8_is_the_model_json_default_and_agrees_with_fp32(model_dir, fp32):
    from trafficking_ads.scoring import load_scorer

    int8 = load_scorer(model_dir)  # model.json says "precision": "int8"
    assert int8.classifier.precision == "int8" and fp32.classifier.precision == "fp32"
    import torch.ao.nn.quantized.dynamic as nnqd

    modules = list(int8.classifier.encoder.modules())
    assert sum(isinstance(m, nnqd.Linear) for m in modules) == 12 * 6  # q, k, v, attention out, FFN in, FFN out
    assert not any(type(m) is torch.nn.Linear for m in modules)
    assert type(int8.classifier.head).__name__ == "Linear"  # the head stays fp32
    ads = _ads()
    p32 = fp32.transformer_probs(ads)
    p8 = int8.transformer_probs(ads)
    assert p32.std() > 0.1  # the test head spreads the probabilities: agreement is not trivial
    assert np.abs(p8 - p32).max() < 0.05
    clear = np.abs(p32 - 0.5) > 0.1
    assert ((p8[clear] >= 0.5) == (p32[clear] >= 0.5)).all()


def test_unknown_precision_or_vocab_is_a_clear_error(model_dir):
    from trafficking_ads.model.fast import optimize

    with pytest.raises(ValueError, match="unknown precision 'int4'"):
        optimize(None, None, model_dir, {}, precision="int4")
    with pytest.raises(ValueError, match="unknown vocabulary"):
        optimize(None, None, model_dir, {}, vocab="tiny")
    with pytest.raises(ValueError, match="vocab_keep.safetensors: missing"):
        optimize(None, None, model_dir, {}, vocab="pruned")


def test_pruned_vocabulary_gives_the_same_ids_and_probabilities(fp32, tmp_path):
    import copy

    from trafficking_ads.model.encoding import ad_input_text
    from trafficking_ads.model.fast import RemappedTokenizer, VocabMap, build_vocab_map, prune_embeddings

    tok = fp32.tokenizer
    vmap = build_vocab_map(tok, [ad_input_text(t) for t in TEXTS])
    assert len(vmap) < len(tok) // 2  # single-character pieces + what these texts use
    vmap.save(tmp_path / "keep.safetensors")
    vmap = VocabMap.load(tmp_path / "keep.safetensors")
    rtok = RemappedTokenizer(tok, vmap)
    for text in TEXTS + [_long_text()]:
        old = tok(text, add_special_tokens=False)["input_ids"]
        new = rtok(text, add_special_tokens=False)["input_ids"]
        assert vmap.covers(old)
        assert vmap.keep[np.array(new)].tolist() == old  # same ids, renumbered
    # a piece the kept set lacks becomes <unk>, not some other token
    unseen = tok("Zusammenarbeit Geschäftsführung", add_special_tokens=False)["input_ids"]
    assert not vmap.covers(unseen)
    remapped = rtok("Zusammenarbeit Geschäftsführung", add_special_tokens=False)["input_ids"]
    for o, n in zip(unseen, remapped):
        assert n == rtok.unk_token_id or vmap.keep[n] == o

    pruned = copy.copy(fp32)  # shares tokenizer, fusion, signals; only the classifier is copied
    pruned.classifier = copy.deepcopy(fp32.classifier)
    prune_embeddings(pruned.classifier, vmap)
    pruned.tokenizer = rtok
    assert pruned.classifier.encoder.embeddings.word_embeddings.num_embeddings == len(vmap)
    ads = _ads() + [Ad(text=_long_text(), id="long")]
    assert np.abs(pruned.transformer_probs(ads) - fp32.transformer_probs(ads)).max() < 1e-5


def test_score_many_yields_in_input_order_with_mixed_lengths(fp32):
    ads = []
    for i in range(11):
        t = TEXTS[i % len(TEXTS)]
        ads.append(Ad(text=(t + " ") * (1 + (i * 7) % 5) if i % 3 else t[: 20 + i], id=f"ad-{i}"))
    ads[5] = Ad(text=_long_text(), id="ad-5")
    out = list(fp32.score_many(iter(ads), batch_size=4))
    assert [a.ad_id for a in out] == [a.id for a in ads]
    one_by_one = np.array([fp32.transformer_probs([a], 1)[0] for a in ads])
    batched = np.array([a.components["transformer_prob"] for a in out])
    assert np.abs(batched - one_by_one).max() < 1e-5


def test_threads_follow_physical_cores(monkeypatch):
    from trafficking_ads.model.fast import THREADS_ENV, configure_threads, physical_cores

    assert 1 <= physical_cores() <= (__import__("os").cpu_count() or 1)
    monkeypatch.setenv(THREADS_ENV, "1")
    before = torch.get_num_threads()
    try:
        assert configure_threads() == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_light_tokenizer_gives_the_same_ids_as_autotokenizer():
    from transformers import AutoTokenizer

    from trafficking_ads.model.base import base_model_dir
    from trafficking_ads.model.encoding import ad_input_text, encode_texts
    from trafficking_ads.model.fast import load_tokenizer

    base = base_model_dir()
    auto, light = AutoTokenizer.from_pretrained(str(base)), load_tokenizer(base)
    texts = [ad_input_text(t) for t in TEXTS] + [_long_text(), "", "  \u200b\u00a0Привет\tмир\n\nҚазақ  ", "💃🔥 +7 7О7 <s> a<mask>b"]
    assert encode_texts(light, texts, MAX_LEN) == encode_texts(auto, texts, MAX_LEN)
    assert light(texts, add_special_tokens=False)["input_ids"] == auto(texts, add_special_tokens=False)["input_ids"]
    for name in ("bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id"):
        assert getattr(light, name) == getattr(auto, name)
    assert len(light) == len(auto)


def test_bf16_agrees_with_fp32(fp32):
    import copy

    from trafficking_ads.model.fast import BF16Classifier, has_native_bf16

    if not has_native_bf16():
        pytest.skip("no native bfloat16 on this CPU (emulated it is slow; `auto` picks fp32 here)")
    bf16 = copy.copy(fp32)
    bf16.classifier = BF16Classifier(copy.deepcopy(fp32.classifier))
    ads = _ads()
    assert np.abs(bf16.transformer_probs(ads) - fp32.transformer_probs(ads)).max() < 0.03


# --- ONNX Runtime ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def onnx_fp32(model_dir):
    from trafficking_ads.scoring import load_scorer

    return load_scorer(model_dir, runtime="onnx", precision="fp32")


def test_onnx_fp32_is_fused_and_matches_torch_fp32(onnx_fp32, fp32):
    import onnx

    clf = onnx_fp32.classifier
    assert clf.runtime == "onnx" and clf.precision == "fp32"
    facts = json.loads((clf.path.parent / "build.json").read_text(encoding="utf-8"))
    assert facts["fused_ops"]["Attention"] == 12 and facts["fused_ops"]["SkipLayerNormalization"] == 24
    ops = {n.op_type for n in onnx.load(str(clf.path), load_external_data=False).graph.node}
    assert "Attention" in ops and "Softmax" not in ops  # attention really runs as the fused op
    ads = _ads() + [Ad(text=_long_text(), id="long")]
    p_onnx, p_torch = onnx_fp32.transformer_probs(ads), fp32.transformer_probs(ads)
    assert p_torch.std() > 0.1
    assert np.abs(p_onnx - p_torch).max() < 1e-4
    a, b = list(onnx_fp32.score_many(ads)), list(fp32.score_many(ads))
    assert [x.band for x in a] == [x.band for x in b]


def test_split_outliers_is_exact_in_fp32(onnx_fp32, tmp_path):
    """Splitting feed-forward channels into two blocks changes nothing before quantization."""
    import onnxruntime as ort

    from trafficking_ads.model.onnxrt import split_outliers

    src = onnx_fp32.classifier.path
    keep = split_outliers(src, tmp_path / "split.onnx", [[0, 7, 300]] * 11 + [[]])
    assert len(keep) == 2 * 11 and all("hot" in k for k in keep)
    rng = np.random.default_rng(0)
    ids = rng.integers(5, 200_000, size=(3, 40))
    mask = np.ones_like(ids)
    mask[1, 30:] = 0
    feed = {"input_ids": ids, "attention_mask": mask}
    before = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, feed)[0]
    after = ort.InferenceSession(str(tmp_path / "split.onnx"), providers=["CPUExecutionProvider"]).run(None, feed)[0]
    assert np.abs(before - after).max() < 1e-4


def _calibrated_copy(model_dir: Path, fp32, tmp_path: Path, runtime: str):
    """A copy of the model without int8 calibration (int8 on `runtime` refuses it), then
    its calibration on the test texts: (copy, encoded ids, calibration)."""
    import shutil

    from trafficking_ads.model.encoding import ad_input_text, encode_texts
    from trafficking_ads.model.onnxrt import calibrate
    from trafficking_ads.scoring import load_scorer

    bare = tmp_path / "model"
    shutil.copytree(model_dir, bare)
    with pytest.raises(ValueError, match="calibration.json: missing"):
        load_scorer(bare, runtime=runtime, precision="int8")
    ids = encode_texts(fp32.tokenizer, [ad_input_text(t) for t in TEXTS * 3], MAX_LEN)
    return bare, ids, calibrate(fp32.classifier, ids, fp32.tokenizer.pad_token_id)


def _assert_int8_agrees_and_is_batch_invariant(int8, fp32) -> None:
    ads = _ads()
    p8, p32 = int8.transformer_probs(ads), fp32.transformer_probs(ads)
    assert np.abs(p8 - p32).max() < 0.05
    clear = np.abs(p32 - 0.5) > 0.1
    assert ((p8[clear] >= 0.5) == (p32[clear] >= 0.5)).all()
    # an ad's probability does not depend on its batch-mates
    alone = np.array([int8.transformer_probs([a])[0] for a in ads])
    assert np.array_equal(alone, p8)


def test_onnx_int8_needs_calibration_then_agrees_and_is_batch_invariant(model_dir, fp32, tmp_path):
    from trafficking_ads.model.onnxrt import CALIBRATION_FILE, outlier_channels, write_calibration
    from trafficking_ads.scoring import load_scorer

    bare, _, cal = _calibrated_copy(model_dir, fp32, tmp_path, "onnx")
    assert len(cal["ffn_out_absmax"]) == 12 and all(len(c) == 384 * 4 for c in cal["ffn_out_absmax"])
    assert sum(map(len, outlier_channels(cal))) > 0  # e5's feed-forward outputs do have outlier channels
    write_calibration(bare, cal)
    assert (bare / CALIBRATION_FILE).is_file()
    int8 = load_scorer(bare, runtime="onnx", precision="int8")
    facts = json.loads((int8.classifier.path.parent / "build.json").read_text(encoding="utf-8"))
    assert facts["fp32_channels"] == [len(h) for h in outlier_channels(cal)]
    _assert_int8_agrees_and_is_batch_invariant(int8, fp32)  # activations are quantized per ad


def test_onnx_rejects_what_it_cannot_run(model_dir):
    from trafficking_ads.scoring import load_scorer

    with pytest.raises(ValueError, match="does not run on onnx"):
        load_scorer(model_dir, runtime="onnx", precision="bf16")
    with pytest.raises(ValueError, match="unknown runtime 'tpu'"):
        load_scorer(model_dir, runtime="tpu")


# --- OpenVINO --------------------------------------------------------------------------------

def test_split_feed_forward_is_exact_in_fp32(model_dir, fp32):
    from trafficking_ads.model.base import base_model_dir
    from trafficking_ads.model.encoding import ad_input_text, encode_texts
    from trafficking_ads.model.network import SplitFeedForward, batched_logits, load_trained, split_feed_forward

    ids = encode_texts(fp32.tokenizer, [ad_input_text(t) for t in TEXTS], MAX_LEN)
    model = load_trained(model_dir, base_model_dir(), merge=True)
    before = batched_logits(model, ids, fp32.tokenizer.pad_token_id)
    split_feed_forward(model, [[0, 7, 300]] * 11 + [[]])
    assert sum(isinstance(m, SplitFeedForward) for m in model.modules()) == 11
    after = batched_logits(model, ids, fp32.tokenizer.pad_token_id)
    assert np.abs(before - after).max() < 1e-4


def test_openvino_fp32_matches_torch_fp32(model_dir, fp32):
    from trafficking_ads.scoring import load_scorer

    ov32 = load_scorer(model_dir, runtime="openvino", precision="fp32")
    assert ov32.classifier.runtime == "openvino" and ov32.classifier.precision == "fp32"
    ads = _ads() + [Ad(text=_long_text(), id="long")]
    assert np.abs(ov32.transformer_probs(ads) - fp32.transformer_probs(ads)).max() < 1e-4
    a, b = list(ov32.score_many(ads)), list(fp32.score_many(ads))
    assert [x.band for x in a] == [x.band for x in b]


def test_openvino_int8_needs_statistics_replays_them_exactly_and_is_batch_invariant(model_dir, fp32, tmp_path):
    from trafficking_ads.model import ovrt
    from trafficking_ads.model.base import base_model_dir
    from trafficking_ads.model.encoding import ad_input_text, encode_texts
    from trafficking_ads.model.network import load_trained
    from trafficking_ads.model.onnxrt import write_calibration
    from trafficking_ads.scoring import load_scorer

    bare, ids, cal = _calibrated_copy(model_dir, fp32, tmp_path, "openvino")
    write_calibration(bare, cal)
    with pytest.raises(ValueError, match="openvino_int8.json: missing"):
        load_scorer(bare, runtime="openvino", precision="int8")
    base = base_model_dir()
    ovrt.write_statistics(bare, ovrt.collect_statistics(load_trained(bare, base), cal, ids))
    assert (bare / ovrt.STATS_TENSORS).stat().st_size < 10_000_000

    card = json.loads((bare / "model.json").read_text(encoding="utf-8"))
    int8 = ovrt.OpenVinoClassifier.load(bare, card, base, precision="int8", cache=tmp_path / "cache")
    assert json.loads((int8.path.parent / "build.json").read_text())["precision"] == "int8"
    pad = fp32.tokenizer.pad_token_id
    test_ids = encode_texts(fp32.tokenizer, [ad_input_text(t) for t in TEXTS], MAX_LEN)
    replayed = int8.logits(test_ids, pad)

    # the graph built from stored statistics is the graph NNCF builds while collecting them
    fresh_dir = tmp_path / "fresh"
    fresh_dir.mkdir()
    fresh, _ = ovrt._quantize(ovrt._graph(load_trained(bare, base), cal, fresh_dir), None, ovrt.calibration_dataset(ids))
    import openvino as ov

    ov.save_model(fresh, str(fresh_dir / "model.xml"), compress_to_fp16=False)
    assert np.array_equal(ovrt.OpenVinoClassifier(fresh_dir / "model.xml", "int8", 2).logits(test_ids, pad), replayed)

    # static activation ranges and fixed batch shapes
    _assert_int8_agrees_and_is_batch_invariant(load_scorer(bare, runtime="openvino", precision="int8"), fp32)

    # statistics that do not belong to this model directory are refused, with the file and the fix
    key = ovrt.cache_key(bare, card, True)
    tensors = (bare / ovrt.STATS_TENSORS).read_bytes()
    (bare / ovrt.STATS_TENSORS).write_bytes(tensors[:-4] + b"\0\0\0\0")
    with pytest.raises(ValueError, match="openvino_int8.safetensors: not the tensors"):
        ovrt.OpenVinoClassifier.load(bare, card, base, precision="int8", cache=tmp_path / "cache2")
    (bare / ovrt.STATS_TENSORS).write_bytes(tensors)
    moved = {**cal, "ffn_out_absmax": [[v * 2 for v in layer] for layer in cal["ffn_out_absmax"]]}
    write_calibration(bare, moved)  # more channels over the threshold: another split
    assert ovrt.cache_key(bare, card, True) != key
    with pytest.raises(ValueError, match="another outlier split.*models calibrate"):
        ovrt.OpenVinoClassifier.load(bare, card, base, precision="int8", cache=tmp_path / "cache2")
    write_calibration(bare, cal)
    meta = json.loads((bare / ovrt.STATS_JSON).read_text(encoding="utf-8"))
    (bare / ovrt.STATS_JSON).write_text(json.dumps({**meta, "format": 0}), encoding="utf-8")
    with pytest.raises(ValueError, match="statistics format 0"):
        ovrt.OpenVinoClassifier.load(bare, card, base, precision="int8", cache=tmp_path / "cache2")


def test_openvino_bf16_agrees_with_fp32(model_dir, fp32):
    from trafficking_ads.model.fast import has_native_bf16
    from trafficking_ads.scoring import load_scorer

    bf16 = load_scorer(model_dir, runtime="openvino", precision="bf16")
    assert bf16.classifier.precision == ("bf16" if has_native_bf16() else "fp32")  # what actually runs
    ads = _ads()
    assert np.abs(bf16.transformer_probs(ads) - fp32.transformer_probs(ads)).max() < 0.03


def test_openvino_rejects_what_it_cannot_run(model_dir):
    from trafficking_ads.scoring import load_scorer

    with pytest.raises(ValueError, match="does not run on openvino"):
        load_scorer(model_dir, runtime="openvino", precision="int8-mixed")
