"""The non-transformer signals per ad: indicator hits, features and score, metadata flags.

Wraps the indicator engine (`trafficking_ads.indicators`) so that training (the fusion
fit) and scoring compute exactly the same feature rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..records import Ad, IndicatorHit
from .fusion import INDICATOR_FEATURE, META_FEATURES, meta_features


@dataclass
class AdSignals:
    """What the indicator engine and the metadata say about one ad."""

    hits: list[IndicatorHit]
    lang: str | None
    features: dict[str, float]
    indicator_score: float


class Signals:
    """Indicator engine + metadata flags, one ad at a time."""

    def __init__(self) -> None:
        from ..indicators import default_engine

        self.engine = default_engine()

    def __call__(self, ad: Ad) -> AdSignals:
        analysis = self.engine.analyze(ad)
        feats = {k: float(v) for k, v in self.engine.features(analysis.hits).items()}
        feats[INDICATOR_FEATURE] = float(self.engine.weights.logit(analysis.hits))
        feats.update(meta_features(ad))
        return AdSignals(analysis.hits, ad.language or analysis.lang, feats, float(self.engine.weights.score(analysis.hits)))

    def feature_names(self, kind: str = "compact") -> list[str]:
        """Fusion inputs besides the models' logits: "compact" = the indicator engine's own
        logit + metadata flags; "full" = every indicator feature (engine order) + the flags."""
        if kind == "compact":
            return [INDICATOR_FEATURE] + list(META_FEATURES)
        if kind == "full":
            return list(self.engine.feature_names) + list(META_FEATURES)
        raise ValueError(f"unknown fusion feature set {kind!r} (compact or full)")


def ad_from_row(row: dict) -> Ad:
    """An Ad from a corpus row (the corpus builder's own conversion)."""
    from ..corpus.build import row_to_ad

    return row_to_ad(row)
