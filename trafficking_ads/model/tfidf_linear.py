"""A fitted TF-IDF vectorizer's dot product with a linear model's coefficients, fast.

Why: scoring every ad of a crawl through `TfidfVectorizer.transform` spends ~1.9 ms per ad
building character n-gram strings and a sparse matrix, about a fifth of the whole
`score_many` at the default model's speed. The score needs less: per ad, the in-vocabulary
feature counts, and from them

    sum_f (1 + ln tf_f) idf_f coef_f / sqrt(sum_f ((1 + ln tf_f) idf_f)^2)

(sublinear tf, idf, l2 norm, dot). A `char_wb` document's n-grams are the concatenation of
its words' n-grams, so each distinct word's in-vocabulary feature ids are computed once
(`char_wb_ngrams`, the same n-grams as scikit-learn's `char_wb` analyzer) and cached; a word analyzer's features are looked up per
document. The result equals `transform(...) @ coef` up to float rounding (a test checks it).
"""

from __future__ import annotations

import re
from array import array
from typing import Sequence

import numpy as np
from ..errors import InvalidValueError

#: Distinct words whose feature ids are kept (about 100 bytes each).
WORD_CACHE = 100_000
_WHITE_SPACES = re.compile(r"\s\s+")  # sklearn's own char_wb whitespace folding


def char_wb_ngrams(text: str, ngram_range: tuple[int, int]) -> list[str]:
    """Character n-grams inside word boundaries, each word padded with one space either side.

    The n-grams (and their order) of scikit-learn's `analyzer="char_wb"` on an already
    lowercased text, written here so that no private scikit-learn API is needed: runs of
    two or more whitespace characters fold to one space, words split on whitespace, and a
    word shorter than an n-gram size counts once, whole.
    """
    min_n, max_n = ngram_range
    out: list[str] = []
    append = out.append
    for w in _WHITE_SPACES.sub(" ", text).split():
        w = " " + w + " "
        w_len = len(w)
        for n in range(min_n, max_n + 1):
            if w_len <= n:  # a short word (padded) once, whole, then no longer n-grams
                append(w)
                break
            for offset in range(w_len - n + 1):
                append(w[offset : offset + n])
    return out


class LinearTfidf:
    """`vectorizer.transform(texts) @ coef` for a fitted sublinear-tf, l2-normalized vectorizer."""

    def __init__(self, vectorizer, coef: np.ndarray) -> None:
        if not (
            vectorizer.sublinear_tf
            and vectorizer.use_idf
            and vectorizer.norm == "l2"
            and vectorizer.lowercase
            and not vectorizer.binary
            and vectorizer.analyzer in ("word", "char_wb")
            and vectorizer.preprocessor is None
            and vectorizer.strip_accents is None
            and vectorizer.stop_words is None
        ):
            raise InvalidValueError(
                "LinearTfidf reproduces only lowercase, sublinear-tf, idf, l2 word/char_wb vectorizers"
            )
        self.vectorizer = vectorizer
        self.vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self.coef = np.asarray(coef, dtype=np.float64)
        if self.coef.shape != self.idf.shape:
            raise InvalidValueError(f"{self.coef.shape[0]} coefficients for {self.idf.shape[0]} features")
        self._analyze = vectorizer.build_analyzer() if vectorizer.analyzer == "word" else None
        self._ngram_range: tuple[int, int] = tuple(vectorizer.ngram_range)  # type: ignore[assignment]
        self._words: dict[str, bytes] = {}

    def _word_features(self, word: str) -> bytes:
        vocab = self.vocabulary
        ids = array("i", [vocab[g] for g in char_wb_ngrams(word, self._ngram_range) if g in vocab]).tobytes()
        if len(self._words) < WORD_CACHE:
            self._words[word] = ids
        return ids

    def _doc_features(self, text: str) -> bytes:
        if self._analyze is not None:
            vocab = self.vocabulary
            return array("i", [vocab[g] for g in self._analyze(text) if g in vocab]).tobytes()
        get, miss = self._words.get, self._word_features
        return b"".join(
            [ids if (ids := get(w)) is not None else miss(w) for w in _WHITE_SPACES.sub(" ", text.lower()).split()]
        )

    def decision(self, texts: Sequence[str], block: int = 128) -> np.ndarray:
        """Each text's l2-normalized TF-IDF vector dotted with the coefficients (computed
        `block` texts at a time, so the temporary arrays stay a few MB)."""
        return np.concatenate([self._block(texts[s : s + block]) for s in range(0, len(texts), block)] or [np.zeros(0)])

    def _block(self, texts: Sequence[str]) -> np.ndarray:
        docs = [self._doc_features(t) for t in texts]
        n = len(docs)
        feats = np.frombuffer(b"".join(docs), dtype=np.int32).astype(np.int64)
        rows = np.repeat(np.arange(n, dtype=np.int64), [len(d) // 4 for d in docs])
        size = len(self.idf)
        keys, tf = np.unique(rows * size + feats, return_counts=True)
        row, feat = np.divmod(keys, size)
        weight = (np.log(tf) + 1.0) * self.idf[feat]
        norm = np.sqrt(np.bincount(row, weight * weight, minlength=n))
        dot = np.bincount(row, weight * self.coef[feat], minlength=n)
        return np.divide(dot, norm, out=np.zeros(n), where=norm > 0)
