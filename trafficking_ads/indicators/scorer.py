"""`IndicatorScorer`: the rule-based scorer (model kind "indicators").

Risk is the indicator score of `scoring.py`; bands come from the model card's thresholds.
A model directory holds only `model.json`:

    {"kind": "indicators", "name": "indicators", "version": "1.0",
     "thresholds": {"medium": 0.35, "high": 0.7}}

An optional "data_dir" in the card points at another pattern/weights directory
(relative to the model directory), so a tuned rule set ships as a model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from ..errors import ModelCardError
from ..records import Ad, Assessment, ModelInfo
from ..scorer_protocol import as_ad, band_for
from .engine import IndicatorEngine, default_engine


class IndicatorScorer:
    """Scores ads by their risk indicators alone (no learned model)."""

    def __init__(self, engine: IndicatorEngine, info: ModelInfo, thresholds: dict[str, float]) -> None:
        self.engine = engine
        self.info = info
        self.thresholds = thresholds

    @classmethod
    def load(cls, model_dir: str | Path) -> "IndicatorScorer":
        """Build the scorer from `<model_dir>/model.json`."""
        from ..model_card import load_card

        card = load_card(model_dir)
        if card.kind != "indicators":
            raise ModelCardError(f"{card.source}: field 'kind' is {card.kind!r}, expected 'indicators'")
        th = card.thresholds
        engine = IndicatorEngine(Path(model_dir) / card.data_dir) if card.data_dir else default_engine()
        info = ModelInfo(name=card.name, version=card.version)
        return cls(engine, info, {"medium": float(th["medium"]), "high": float(th["high"])})

    def score(self, ad: Ad | str) -> Assessment:
        """Assess one ad: risk, band, every hit with its evidence, language."""
        ad = as_ad(ad)
        analysis = self.engine.analyze(ad)
        risk = self.engine.weights.score(analysis.hits)
        return Assessment(
            ad_id=ad.id,
            risk=risk,
            band=band_for(risk, self.thresholds),  # type: ignore[arg-type]
            indicators=analysis.hits,
            lang=analysis.lang,
            model=self.info,
            components={"indicator_score": risk},
        )

    def score_many(self, ads: Iterable[Ad | str]) -> Iterator[Assessment]:
        """Assess ads lazily (rule matching is per ad)."""
        for ad in ads:
            yield self.score(ad)
