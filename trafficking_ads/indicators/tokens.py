"""Tokens for matching: forms, lemmas and stem keys over the normalized text.

Tokenization is a small regex (words, numbers, single symbols), 1.4-1.6x the speed of
spaCy's blank tokenizer (`benchmarks/spacy_matcher.py`), with offsets kept exactly. Each token has

- a form: lowercase with ё folded to е;
- a lemma: the pymorphy3 lemma for Russian words (cached), the form otherwise;
- a stem key: the longest registered stem the word starts with (stems come from the
  pattern files' `stem*` tokens), else the lemma. Kazakh is agglutinative and has no
  lemmatizer, so Kazakh patterns match stems ("жұмыс*" matches жұмысқа, жұмыстан).
"""

from __future__ import annotations

import re
from functools import lru_cache

from .normalize import KAZAKH_LETTERS, Normalized

TOKEN_RE = re.compile(r"[^\W\d_]+|\d+|[^\w\s]|_")
_GROUP, _START, _END = re.Match.group, re.Match.start, re.Match.end
_CYR_WORD = re.compile(r"^[а-яё]+$")
_MORPH = None


def _morph():
    global _MORPH
    if _MORPH is None:
        import pymorphy3

        _MORPH = pymorphy3.MorphAnalyzer(lang="ru")
    return _MORPH


def fold(word: str) -> str:
    """The matching form of a word: lowercase, ё as е."""
    return word.lower().replace("ё", "е")


@lru_cache(maxsize=200_000)
def lemma_of(word: str) -> str:
    """Russian lemma via pymorphy3 for plain Russian words; the word itself otherwise."""
    if len(word) > 1 and _CYR_WORD.match(word) and not (set(word) & KAZAKH_LETTERS):
        return fold(_morph().parse(word)[0].normal_form)
    return word


class StemIndex:
    """The registered stems, and each word's longest registered stem (cached)."""

    def __init__(self, stems: set[str] | None = None) -> None:
        self.stems: set[str] = set(stems or ())
        self._maxlen = max((len(s) for s in self.stems), default=0)
        self._cache: dict[str, str] = {}
        #: raw token -> (form, lemma, stem key), filled by tokenize().
        self.token_cache: dict[str, tuple[str, str, str]] = {}

    def add(self, stem: str) -> None:
        self.stems.add(stem)
        self._maxlen = max(self._maxlen, len(stem))
        self._cache.clear()
        self.token_cache.clear()

    def key(self, word: str) -> str:
        """Longest registered stem prefixing the word (or its lemma), else the lemma."""
        k = self._cache.get(word)
        if k is None:
            k = self._longest(word)
            if k is None:
                lem = lemma_of(word)
                k = self._longest(lem) if lem != word else None
                k = k or lem
            if len(self._cache) < 500_000:
                self._cache[word] = k
        return k

    def _longest(self, word: str) -> str | None:
        for n in range(min(len(word), self._maxlen), 1, -1):
            if word[:n] in self.stems:
                return word[:n]
        return None

    def expand(self, prefix: str) -> list[str]:
        """All registered stems that start with prefix (what `prefix*` must match)."""
        return sorted(s for s in self.stems if s.startswith(prefix))


class Tokens:
    """Token forms, lemmas and stem keys of a text, and their normalized offsets.

    `tokenize` passes the offsets it read with the tokens; built without them, a Tokens
    computes them on first use.
    """

    __slots__ = ("raws", "words", "lemmas", "keys", "norm", "_starts", "_ends")

    def __init__(
        self,
        raws: list[str],
        words,
        lemmas,
        keys,
        norm: Normalized,
        starts: list[int] | None = None,
        ends: list[int] | None = None,
    ) -> None:
        self.raws = raws
        self.words = words
        self.lemmas = lemmas
        self.keys = keys
        self.norm = norm
        self._starts = starts
        self._ends = ends

    def _spans(self) -> None:
        spans = [m.span() for m in TOKEN_RE.finditer(self.norm.text)]
        self._starts = [s for s, _ in spans]
        self._ends = [e for _, e in spans]

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            self._spans()
        return self._starts  # type: ignore[return-value]

    @property
    def ends(self) -> list[int]:
        if self._ends is None:
            self._spans()
        return self._ends  # type: ignore[return-value]


def tokenize(norm: Normalized, stems: StemIndex) -> Tokens:
    """Tokenize a normalized text for matching (form, lemma, stem key cached per word).

    One `finditer` pass gives the tokens and their offsets (read with C-level `map`s):
    nearly every ad needs offsets (gazetteer look-ups, matched spans), and a `findall`
    followed by a second scan for offsets cost half as much again.
    """
    ms = list(TOKEN_RE.finditer(norm.text))
    raws = list(map(_GROUP, ms))
    starts = list(map(_START, ms))
    ends = list(map(_END, ms))
    cache = stems.token_cache
    get = cache.get

    def miss(raw: str) -> tuple[str, str, str]:
        w = fold(raw)
        hit = (w, lemma_of(w), stems.key(w))
        if len(cache) < 500_000:
            cache[raw] = hit
        return hit

    infos = list(map(get, raws))  # one C-level pass; misses are filled in below
    if None in infos:
        infos = [info or miss(r) for info, r in zip(infos, raws)]
    if not infos:
        return Tokens(raws, [], [], [], norm, starts, ends)
    words, lemmas, keys = zip(*infos)
    return Tokens(raws, words, lemmas, keys, norm, starts, ends)
