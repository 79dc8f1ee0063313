"""The lexical component: TF-IDF (word 1–2-grams, optional character 3–5-grams) and logistic regression.

The fused model reads this model's log-odds as one of its signals (model/fusion.py), and
evaluation refits it alone as the reference baseline a shipped model must beat. It fits in
seconds and is saved as plain JSON (vocabularies, idf weights, coefficients) — never pickle.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import atomic
from ..records import Ad
from ..errors import InvalidValueError, OperationError

FORMAT = "trafficking-ads/tfidf-logreg@1"


#: How the text is read: "canonical" (lowercased, punctuation, masked #URL_…# tokens and
#: English stop words dropped: `text.canonical.normalize_tokens`) or "raw" (title and body as
#: written; models saved before the canonical view). The canonical view exists because the
#: sources format text differently (one EMSCAD copy is lowercased and stop-word-stripped,
#: and mostly fraudulent): on raw text the model learnt the format, not the wording.
VIEWS = ("canonical", "raw")


def ad_text(ad: Ad | dict[str, Any] | str, view: str = "canonical") -> str:
    """The text the lexical model reads: title and body, in the given view."""
    if isinstance(ad, str):
        text = ad
    elif isinstance(ad, dict):
        text = "\n".join(x for x in (ad.get("title"), ad.get("text")) if x)
    else:
        text = "\n".join(x for x in (ad.title, ad.text) if x)
    if view == "raw":
        return text
    if view != "canonical":
        raise InvalidValueError(f"unknown lexical view {view!r} (one of: {', '.join(VIEWS)})")
    from ..text.canonical import normalize_tokens

    return " ".join(normalize_tokens(text))


class TfidfLogReg:
    """Word + char_wb TF-IDF features into a class-balanced logistic regression."""

    name = "tfidf-logreg"

    def __init__(
        self,
        *,
        C: float = 4.0,
        max_word_features: int = 50_000,
        max_char_features: int = 0,
        seed: int = 13,
        view: str = "canonical",
    ) -> None:
        if view not in VIEWS:
            raise InvalidValueError(f"unknown lexical view {view!r} (one of: {', '.join(VIEWS)})")
        self.C = C
        self.view = view
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.seed = seed
        self.word = None
        self.char = None
        self.coef: np.ndarray | None = None
        self.intercept = 0.0
        self.threshold = 0.5
        self._linear = None

    def _vectorizers(self):
        from sklearn.feature_extraction.text import TfidfVectorizer

        word = TfidfVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            min_df=2,
            max_features=self.max_word_features,
            sublinear_tf=True,
            lowercase=True,
        )
        char = None
        if (
            self.max_char_features > 0
        ):  # off by default: on unseen templates char n-grams scored lower (training/results/protocols.md)
            char = TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=(3, 5),
                min_df=2,
                max_features=self.max_char_features,
                sublinear_tf=True,
                lowercase=True,
            )
        return word, char

    def _parts(self) -> list:
        return [v for v in (self.word, self.char) if v is not None]

    def fit(self, ads: Sequence[Ad | dict | str], labels: Sequence[int]) -> "TfidfLogReg":
        """Fit on training ads; needs both classes."""
        from scipy.sparse import hstack
        from sklearn.linear_model import LogisticRegression

        texts = [ad_text(a, self.view) for a in ads]
        y = np.asarray(labels, dtype=int)
        if len(set(y.tolist())) < 2:
            raise InvalidValueError("the lexical model needs both classes in its training data")
        self.word, self.char = self._vectorizers()
        X = hstack([v.fit_transform(texts) for v in self._parts()]).tocsr()
        lr = LogisticRegression(
            C=self.C, class_weight="balanced", max_iter=2000, solver="lbfgs", random_state=self.seed
        )
        lr.fit(X, y)
        self.coef = lr.coef_.ravel().astype(np.float64)
        self.intercept = float(lr.intercept_[0])
        self._linear = None
        return self

    def predict_proba(self, ads: Sequence[Ad | dict | str]) -> np.ndarray:
        """P(deceptive) per ad."""
        if self.coef is None:
            raise OperationError("the lexical model is not fitted")
        texts = [ad_text(a, self.view) for a in ads]
        if self._linear is None:  # built on first use: fit and load only set the vectorizers
            from .tfidf_linear import LinearTfidf

            parts, start = [], 0
            for v in self._parts():
                parts.append(LinearTfidf(v, self.coef[start : start + len(v.idf_)]))
                start += len(v.idf_)
            self._linear = tuple(parts)
        z = sum(part.decision(texts) for part in self._linear) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict[str, Any]:
        """The fitted model as plain JSON data."""
        if self.coef is None:
            raise OperationError("the lexical model is not fitted")

        def vec(v) -> dict[str, Any]:
            return {
                "analyzer": v.analyzer,
                "ngram_range": list(v.ngram_range),
                "vocabulary": {k: int(i) for k, i in v.vocabulary_.items()},
                "idf": v.idf_.tolist(),
            }

        return {
            "format": FORMAT,
            "C": self.C,
            "view": self.view,
            "threshold": self.threshold,
            "word": vec(self.word),
            "char": vec(self.char) if self.char is not None else None,
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write the JSON form atomically."""
        atomic.write_json(path, self.to_json(), indent=None)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TfidfLogReg":
        """Read a model written by `save`."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        d = json.loads(Path(path).read_text(encoding="utf-8"))
        if d.get("format") != FORMAT:
            raise InvalidValueError(f"{path}: not a {FORMAT} file")
        m = cls(C=d["C"], view=d.get("view", "raw"))  # files without a view predate the canonical one

        def vec(spec: dict[str, Any]):
            v = TfidfVectorizer(
                analyzer=spec["analyzer"],
                ngram_range=tuple(spec["ngram_range"]),
                vocabulary=spec["vocabulary"],
                sublinear_tf=True,
                lowercase=True,
            )
            v.idf_ = np.asarray(spec["idf"], dtype=np.float64)
            return v

        m.word, m.char = vec(d["word"]), (vec(d["char"]) if d.get("char") else None)
        m.coef = np.asarray(d["coef"], dtype=np.float64)
        m.intercept = float(d["intercept"])
        m.threshold = float(d.get("threshold", 0.5))
        return m
