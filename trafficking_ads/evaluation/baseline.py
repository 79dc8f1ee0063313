"""The reference baseline: the lexical model (`model.lexical.TfidfLogReg`) on its own.

Why: a model worth shipping must beat a bag-of-n-grams classifier trained on the same
split. It is refit in each evaluation run (seconds); `BaselineScorer` puts it behind the
`Scorer` interface so it is evaluated exactly like a shipped model.
"""

from __future__ import annotations

from ..model.lexical import TfidfLogReg
from ..records import Ad


class BaselineScorer:
    """The fitted baseline behind the `Scorer` interface, so anything that evaluates or
    scores with a model (e.g. `evaluate(scorer=...)`) can run it like a shipped model."""

    def __init__(self, model: TfidfLogReg, version: str = "1") -> None:
        from ..records import ModelInfo

        self.model = model
        self.info = ModelInfo(name=TfidfLogReg.name, version=version)
        self.threshold = model.threshold

    def score(self, ad: Ad | str):
        return next(self.score_many([ad]))

    def score_many(self, ads):
        from ..records import Assessment
        from ..scorer_protocol import as_ad, band_for

        bands = {"medium": self.threshold, "high": max(self.threshold, 0.8)}
        batch: list[Ad] = []

        def flush():
            for ad, p in zip(batch, self.model.predict_proba(batch)):
                yield Assessment(
                    ad_id=ad.id,
                    risk=float(p),
                    band=band_for(float(p), bands),
                    indicators=[],
                    lang=ad.language,
                    model=self.info,
                    components={"tfidf_logreg_prob": float(p)},
                )

        for ad in ads:
            batch.append(as_ad(ad))
            if len(batch) >= 256:  # the lexical model vectorises a batch at once
                yield from flush()
                batch = []
        if batch:
            yield from flush()
