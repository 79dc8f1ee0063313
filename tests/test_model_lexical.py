"""The lexical component's own char_wb n-grams equal scikit-learn's (public analyzer)."""

from __future__ import annotations

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from trafficking_ads.model.tfidf_linear import char_wb_ngrams

TEXTS = [
    "Работа в Дубае 🔥  от 3000$ в неделю!",
    "Шетелге жұмыс!\tЖалақы  1500$, тұрғын үй бар",
    "Hiring girls 18-25 for hostess jobs,\n\nflights covered",
    "a b  c\t\tdd I",
    "",
    "   ",
    "hello\xa0world",
]


@pytest.mark.parametrize("ngram_range", [(3, 5), (2, 4), (1, 1), (1, 3)])
def test_char_wb_ngrams_equal_sklearn(ngram_range):
    analyze = TfidfVectorizer(analyzer="char_wb", ngram_range=ngram_range, lowercase=True).build_analyzer()
    for text in TEXTS:
        assert char_wb_ngrams(text.lower(), ngram_range) == analyze(text), text
