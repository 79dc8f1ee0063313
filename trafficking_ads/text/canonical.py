"""The canonical (comparison) form of an ad's text: what "the same wording" means everywhere.

Corpus deduplication, the lexical model and active-learning selection compare ads in this
form: HTML unescaped, masked `#URL_…#` tokens and punctuation dropped, camel-glued words
split, lowercased, English stop words removed. A raw EMSCAD ad and its preprocessed
(lowercased, stop-word-stripped) copy read the same in it, so neither deduplication nor the
lexical model learns the sources' formatting instead of their wording.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path

from ..records import Ad

#: EMSCAD's masked contacts (`#URL_0a1b…#`, `#EMAIL_…#`, `#PHONE_…#`).
MASKED = re.compile(r"#(?:URL|EMAIL|PHONE)_[0-9a-fA-F]+#")
_GLUED = re.compile(r"(?<=[a-zа-яёәғқңөұүһі])(?=[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ])")
_TOKEN = re.compile(r"[^\W_]+")

#: Meta fields of raw EMSCAD rows that the preprocessed copies include in their text.
_KEY_META = ("department", "employment_type", "required_experience", "required_education", "industry", "function")


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """English stop words (data/stopwords_en.txt), apostrophes removed as tokenisation does."""
    path = Path(__file__).parent / "data" / "stopwords_en.txt"
    words: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        for w in line.split():
            words.update(_TOKEN.findall(w.lower()))
    return frozenset(words)


def normalize_tokens(text: str) -> list[str]:
    """The comparison form of a text as tokens (see the module docstring)."""
    text = MASKED.sub(" ", html.unescape(text or ""))
    text = _GLUED.sub(" ", text).lower()
    sw = stop_words()
    return [t for t in _TOKEN.findall(text) if t not in sw]


def comparison_text(ad: Ad) -> str:
    """All human-written fields of an ad, as the preprocessed EMSCAD copies join them."""
    parts = [ad.title, ad.location, ad.company_profile, ad.text, ad.salary, ad.company_name]
    parts += [str(ad.meta.get(k)) for k in _KEY_META if ad.meta.get(k)]
    return " ".join(p for p in parts if p)
