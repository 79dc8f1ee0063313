"""Places named in an ad, from the gazetteer (data/gazetteer.yaml).

One combined regex per gazetteer (built once): each name is a stem matched at a word start
with any ending, which covers Russian case forms and Kazakh suffixes. The same file lists
cities by canonical name (`Gazetteer.find_cities`), which networks count per template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress, count
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..errors import InvalidValueError

if TYPE_CHECKING:
    from .tokens import Tokens


@dataclass(slots=True)
class Place:
    """A place mention: normalized-text span, ISO country, high-risk destination or not."""

    start: int
    end: int
    country: str
    high_risk: bool


_LITERAL = re.compile(r"[^\\\[\](){}.*+?|^$]+")
_WORDSTART = re.compile(r"(?<!\w)\w")
_FIRST_TWO = itemgetter(slice(None, 2))


class Gazetteer:
    """Countries and cities in three languages.

    Each name regex is indexed by its first two letters, so a text is scanned word by
    word with one dictionary look-up each and a name regex is tried only where the word
    could start it (one big alternation regex was ~10x slower on 1,000-character ads).
    """

    def __init__(self, path: Path) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.home: str = data.get("home", "KZ")
        self.compound: frozenset[str] = frozenset(data.get("scam_compound_countries", []))
        self.high_risk: dict[str, bool] = {}
        self._index: dict[str, list[tuple[re.Pattern[str], str]]] = {}
        for i, p in enumerate(data["places"]):
            country = p["country"]
            self.high_risk[country] = bool(p.get("high_risk"))
            for name in p["names"]:
                where = f"{path}: place {i + 1} ({country}), name {name!r}"
                try:
                    rx = re.compile(name + r"\w*", re.IGNORECASE)
                except re.error as e:
                    raise InvalidValueError(f"{where}: bad regex: {e}") from e
                body = name[2:] if name.startswith("\\b") else name
                lit = _LITERAL.match(body)
                if not lit or len(lit.group()) < 2:
                    raise InvalidValueError(f"{where}: a name must start with two plain letters")
                self._index.setdefault(lit.group()[:2].lower(), []).append((rx, country))
        self._cities: list[dict[str, Any]] = data.get("cities", [])
        self._endings: frozenset[str] = frozenset(data.get("short_stem_endings", []))
        self._city_index: tuple[dict[str, str], re.Pattern[str]] | None = None

    def _city_stems(self) -> tuple[dict[str, str], re.Pattern[str]]:
        """Stem -> canonical city name, and one regex of all stems (built on first use)."""
        if self._city_index is None:
            by_stem = {stem.lower(): c["name"] for c in self._cities for stem in c["stems"]}
            # Longest stems first so "абу-даби" wins over shorter prefixes.
            alternation = "|".join(re.escape(s) for s in sorted(by_stem, key=len, reverse=True))
            self._city_index = by_stem, re.compile(rf"(?<![\w-])(?:{alternation})[\w-]*", re.I)
        return self._city_index

    def find_cities(self, text: str) -> list[str]:
        """Canonical names of the cities named in `text` (in order, without repeats)."""
        by_stem, pattern = self._city_stems()
        seen: list[str] = []
        for m in pattern.finditer(text.lower()):
            word = m.group(0)
            stem = max((s for s in by_stem if word.startswith(s)), key=len)
            rest = word[len(stem) :]
            # "ош" in "ошибка" or "орал" in "оралман" is not a city: short stems take only case endings.
            if (len(stem) <= 4 and rest and rest not in self._endings) or len(rest) > 5:
                continue
            name = by_stem[stem]
            if name not in seen:
                seen.append(name)
        return seen

    def is_city(self, word: str) -> bool:
        """Whether one lowercase word is a city name (a stem with an allowed ending)."""
        return self._city_stems()[1].fullmatch(word) is not None and bool(self.find_cities(word))

    def find(self, text: str, toks: "Tokens | None" = None) -> list[Place]:
        """Every place mention in text, in order (longest name at each word).

        With the text's tokens at hand, word starts come from them (no scan of the text).
        """
        out: list[Place] = []
        index = self._index
        last_end = -1
        if toks is not None:
            # Token numbers whose first two letters start some name, in C-level passes.
            hits = list(compress(count(), map(index.__contains__, map(_FIRST_TWO, toks.words))))
            positions = list(map(toks.starts.__getitem__, hits)) if hits else []
        else:
            positions = [m.start() for m in _WORDSTART.finditer(text)]
        for pos in positions:
            if pos < last_end:
                continue
            cands = index.get(text[pos : pos + 2].lower())
            if not cands:
                continue
            best = None
            for rx, country in cands:
                mm = rx.match(text, pos)
                if mm and (best is None or mm.end() > best[0]):
                    best = (mm.end(), country)
            if best:
                out.append(Place(pos, best[0], best[1], self.high_risk[best[1]]))
                last_end = best[0]
        return out

    def country_of(self, text: str | None) -> str | None:
        """The country a location field names ("US, NY, New York", "Алматы"), if any."""
        if not text:
            return None
        m = re.match(r"\s*([A-Z]{2})\s*(?:,|$)", text)
        if m:
            return m.group(1)
        found = self.find(text)
        return found[0].country if found else None


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """The package's gazetteer (data/gazetteer.yaml), loaded once; far lighter than the engine."""
    return Gazetteer(Path(__file__).parent / "data" / "gazetteer.yaml")
