"""`IndicatorScorer`: the rule-based scorer (model kind "indicators").

Risk is the indicator score of `scoring.py`; bands come from the model card's thresholds.
A model directory holds only `model.json`:

    {"kind": "indicators", "name": "indicators", "version": "1.0",
     "thresholds": {"medium": 0.35, "high": 0.7}}

An optional "data_dir" in the card points at another pattern/weights directory
(relative to the model directory), so a tuned rule set ships as a model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Iterator

from ..records import Ad, Assessment, ModelInfo
from ..scoring import as_ad, band_for
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
        path = Path(model_dir) / "model.json"
        card = json.loads(path.read_text(encoding="utf-8"))
        if card.get("kind") != "indicators":
            raise ValueError(f"{path}: kind is {card.get('kind')!r}, expected 'indicators'")
        th = card.get("thresholds") or {}
        if not {"medium", "high"} <= set(th) or not 0 <= th["medium"] <= th["high"] <= 1:
            raise ValueError(f"{path}: 'thresholds' needs 0 <= medium <= high <= 1, got {th!r}")
        data_dir = card.get("data_dir")
        engine = IndicatorEngine(Path(model_dir) / data_dir) if data_dir else default_engine()
        info = ModelInfo(name=str(card.get("name", "indicators")), version=str(card.get("version", engine.weights.version)))
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

    def score_many(self, ads: Iterable[Ad | str], batch_size: int = 32) -> Iterator[Assessment]:
        """Assess ads lazily (rule matching is per ad; batch_size is accepted for the protocol)."""
        for ad in ads:
            yield self.score(ad)
