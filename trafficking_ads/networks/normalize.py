"""Text normalization for template matching: what varies between reposts becomes a slot.

Reposted recruitment ads keep their wording and change the city, the numbers, the phone,
the names and the emoji. Replacing those by slot tokens before shingling makes two reposts
of one template nearly identical while unrelated ads stay apart.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

#: Slot tokens; the template text shows each as `{…}` with its kind.
NUM, CITY, CONTACT, LINK = "‹num›", "‹city›", "‹contact›", "‹link›"

_URL = re.compile(r"(?:https?://|www\.)\S+|\b(?:t\.me|wa\.me|instagram\.com)/\S+", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z][\w]{3,}")
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
# Cyrillic/Latin look-alikes folded so "Дyбай" (Latin y) and "Дубай" match.
_LOOKALIKE = str.maketrans({"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "k": "к", "m": "м", "t": "т", "h": "н", "b": "в"})
_CYRILLIC = re.compile(r"[а-яёәғқңөұүһі]", re.I)


@dataclass(frozen=True, slots=True)
class City:
    """A gazetteer entry: canonical name, ISO country code, and the word stems naming it."""

    name: str
    country: str
    stems: tuple[str, ...]


@lru_cache(maxsize=1)
def cities() -> tuple[City, ...]:
    """The city gazetteer (`data/cities.tsv`), loaded once."""
    text = resources.files(__package__).joinpath("data/cities.tsv").read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, country, stems = line.split("\t")
        out.append(City(name, country, tuple(s.strip() for s in stems.split("|") if s.strip())))
    return tuple(out)


@lru_cache(maxsize=1)
def _suffixes() -> frozenset[str]:
    text = resources.files(__package__).joinpath("data/suffixes.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@lru_cache(maxsize=1)
def _stem_index() -> tuple[dict[str, City], re.Pattern[str]]:
    by_stem = {stem: city for city in cities() for stem in city.stems}
    # Longest stems first so "абу-даби" wins over shorter prefixes.
    alternation = "|".join(re.escape(s) for s in sorted(by_stem, key=len, reverse=True))
    return by_stem, re.compile(rf"(?<![\w-])(?:{alternation})[\w-]*", re.I)


def find_cities(text: str) -> list[str]:
    """Canonical names of the gazetteer cities named in `text` (in order, without repeats)."""
    by_stem, pattern = _stem_index()
    seen: list[str] = []
    for m in pattern.finditer(text.lower()):
        word = m.group(0)
        stem = max((s for s in by_stem if word.startswith(s)), key=len)
        rest = word[len(stem):]
        # "ош" in "ошибка" or "орал" in "оралман" is not a city: short stems take only case endings.
        if (len(stem) <= 4 and rest and rest not in _suffixes()) or len(rest) > 5:
            continue
        name = by_stem[stem].name
        if name not in seen:
            seen.append(name)
    return seen


def _fold(word: str) -> str:
    """Fold Latin look-alike letters into Cyrillic inside words that are mostly Cyrillic."""
    if _CYRILLIC.search(word):
        return word.translate(_LOOKALIKE)
    return word


@lru_cache(maxsize=500_000)
def _word_token(word: str) -> str:
    """One lowercase word as a template token (cached: ad vocabularies repeat heavily)."""
    if word in (LINK, CONTACT):
        return word
    if any(ch.isdigit() for ch in word):
        return NUM
    word = _fold(word)
    return CITY if _stem_index()[1].fullmatch(word) and find_cities(word) else word


def template_tokens(text: str) -> list[str]:
    """The ad text as tokens with numbers, cities, contacts and links replaced by slots.

    Emoji and punctuation disappear (they are not word characters); case and look-alike
    letters are folded.
    """
    t = unicodedata.normalize("NFKC", text)
    t = _URL.sub(f" {LINK} ", t)
    t = _EMAIL.sub(f" {CONTACT} ", t)
    t = _HANDLE.sub(f" {CONTACT} ", t)
    tokens: list[str] = []
    for m in re.finditer(rf"{re.escape(LINK)}|{re.escape(CONTACT)}|{_WORD.pattern}", t.lower()):
        word = m.group(0)
        tok = _word_token(word)
        if tok in (NUM, CONTACT) and tokens and tokens[-1] == tok:
            continue  # "+7 701 234 56 78" is one slot, not five
        tokens.append(tok)
    return tokens


def shingles(tokens: list[str], k: int = 4) -> set[str]:
    """Word k-shingles of a token list (the whole list when it is shorter than k)."""
    if len(tokens) <= k:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)}
