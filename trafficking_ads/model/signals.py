"""The fusion's inputs per ad: indicator hits, features and score, metadata flags, and the row.

`fusion_row` is the one function that builds what the fusion reads, for training (the
fusion fit), evaluation and scoring alike, so the served model is the trained one.
`contributions` splits a fused log-odds back into its parts (transformer, lexical model,
each indicator, metadata, baseline) so that every band can be explained.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..records import Ad, IndicatorHit
from ..errors import InvalidValueError
from .fusion import (
    CYRILLIC_FEATURE,
    CYRILLIC_SUFFIX,
    INDICATOR_FEATURE,
    LEXICAL_FEATURE,
    META_FEATURES,
    TRANSFORMER_FEATURE,
    FusionModel,
    logit,
    meta_features,
)

#: Fusion feature sets (`TrainConfig.fusion_features`).
FEATURE_SETS = ("compact", "compact_lang", "full")

#: Component key prefix of a part's additive share of the fused log-odds (read by `report.explain`).
CONTRIB = "contrib_"


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
        return AdSignals(
            analysis.hits, ad.language or analysis.lang, feats, float(self.engine.weights.score(analysis.hits))
        )

    def feature_names(self, kind: str = "compact", lexical: bool = True) -> list[str]:
        """The fusion's inputs: the models' logits (the lexical one if `lexical`) and
        "compact" = the indicator engine's own logit + metadata flags; "compact_lang" = those
        plus a Russian/Kazakh flag and each logit's interaction with it (a slope per
        language family: RU/KK ads rest on the indicators, English ones on the text models);
        "full" = every indicator feature (engine order) + the flags."""
        models = [TRANSFORMER_FEATURE] + ([LEXICAL_FEATURE] if lexical else [])
        if kind == "compact":
            return models + [INDICATOR_FEATURE] + list(META_FEATURES)
        if kind == "compact_lang":
            signals = models + [INDICATOR_FEATURE]
            return signals + list(META_FEATURES) + [CYRILLIC_FEATURE] + [f + CYRILLIC_SUFFIX for f in signals]
        if kind == "full":
            return models + list(self.engine.feature_names) + list(META_FEATURES)
        raise InvalidValueError(f"unknown fusion feature set {kind!r} (one of: {', '.join(FEATURE_SETS)})")

    def indicator_terms(self, hits: list[IndicatorHit]) -> dict[str, float]:
        """Each present indicator's additive term in the engine's logit (a pair bonus is
        shared equally by its two indicators); with the engine's bias they sum to the logit."""
        weights = self.engine.weights
        present = {h.id for h in hits}
        terms = {i: weights.weight.get(i, 0.0) for i in sorted(present)}
        for a, b, w in weights.bonuses:
            if a in present and b in present:
                terms[a] += w / 2
                terms[b] += w / 2
        return terms


def fusion_row(signals: AdSignals, transformer_prob: float, lexical_prob: float | None = None) -> dict[str, float]:
    """The fusion's feature row for one ad: model logits, indicator and metadata features.

    Training, `evaluate` and scoring all call this, so they cannot drift apart."""
    row = dict(signals.features)
    row[TRANSFORMER_FEATURE] = float(logit(transformer_prob))
    if lexical_prob is not None:
        row[LEXICAL_FEATURE] = float(logit(lexical_prob))
    cyr = 1.0 if signals.lang in ("ru", "kk") else 0.0
    row[CYRILLIC_FEATURE] = cyr
    for f in (TRANSFORMER_FEATURE, LEXICAL_FEATURE, INDICATOR_FEATURE):
        if f in row:
            row[f + CYRILLIC_SUFFIX] = row[f] * cyr
    return row


def contributions(
    fusion: FusionModel, row: dict[str, float], hits: list[IndicatorHit], sig: Signals
) -> dict[str, float]:
    """`contrib_*` components: each part's additive share of the fused log-odds.

    Parts: `transformer`, `lexical`, one per indicator (`ind_<id>`, its share of the
    indicator engine's logit, negative for legitimacy evidence), `metadata` flags and
    `baseline`. A part's share is measured from a neutral input (model probability 0.5, no
    indicator, no metadata flag), so an absent signal contributes 0; `baseline` holds the
    rest (intercept, centring, the engine's bias). They sum to the fused log-odds."""
    out: dict[str, float] = {}
    baseline = fusion.intercept
    terms = sig.indicator_terms(hits)

    def add(part: str, value: float) -> None:
        out[part] = out.get(part, 0.0) + value

    for feature, mean in zip(fusion.features, fusion.mean):
        slope = fusion.slope(feature)
        value = slope * row[feature]
        baseline -= slope * mean
        signal = feature.removesuffix(CYRILLIC_SUFFIX)  # an interaction belongs to its signal
        if signal == INDICATOR_FEATURE:  # slope * (engine bias + each present indicator's term)
            scale = slope * (1.0 if feature == signal else row.get(CYRILLIC_FEATURE, 0.0))
            for ind, w in terms.items():
                add(f"ind_{ind}", scale * w)
            baseline += value - scale * sum(terms.values())
        elif signal == TRANSFORMER_FEATURE:
            add("transformer", value)
        elif signal == LEXICAL_FEATURE:
            add("lexical", value)
        elif feature in META_FEATURES:
            add("metadata", value)
        elif feature == CYRILLIC_FEATURE:
            baseline += value
        else:  # "full" feature sets: per-indicator flags and summaries
            add(feature, value)
    out["baseline"] = baseline
    return {CONTRIB + k: round(v, 6) for k, v in out.items()}


def ad_from_row(row: dict) -> Ad:
    """An Ad from a corpus row (the corpus builder's own conversion)."""
    from ..rows import row_to_ad

    return row_to_ad(row)
