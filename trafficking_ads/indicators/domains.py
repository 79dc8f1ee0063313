"""Does a company e-mail's domain belong to the company the ad names?

The indicator guide lists, under `contact_free_email`, a "company name not matching the
domain": "Acme Logistics LLP" answering from jobs@dubai-stars-agency.com. A name and a
domain are compared after transliterating Cyrillic (Russian, Kazakh) to Latin and folding
spelling variants (data/translit.yaml), with legal forms (ТОО, LLP ...) left out. They
correspond when some name word of four or more letters shares four letters in a row with
the domain, or the name's initials are the domain label ("Kazakhstan Temir Zholy",
ktz.kz), or a domain part starts like a name word (loghub.kz). The check is conservative: it answers "no match" only when it can tell, so a
name too short to compare, a domain too short, or a near spelling is never flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import InvalidValueError

_LETTER_RUN = re.compile(r"[^\W\d_]+")
_NAME_WINDOW = 4


@dataclass(slots=True)
class _Key:
    """What of a company name is compared with domains."""

    windows: frozenset[str]  # every run of _NAME_WINDOW folded letters of the name
    initials: tuple[str, ...]  # first letters of the name's words, Latin and folded ("" if one word)
    prefixes: frozenset[str]  # first three folded letters of each word of three or more


def _camel_parts(word: str) -> list[str]:
    """A word split where a lowercase letter meets an uppercase one ("КазМонтажСервис")."""
    parts, start = [], 0
    for i in range(1, len(word)):
        if word[i].isupper() and word[i - 1].islower():
            parts.append(word[start:i])
            start = i
    parts.append(word[start:])
    return parts


class NameDomains:
    """Transliteration and variant folding (data/translit.yaml), and the comparison."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as e:
            raise InvalidValueError(f"{path}: cannot read the transliteration table: {e}") from e
        if not isinstance(data, dict):
            raise InvalidValueError(f"{path}: expected a mapping with 'letters', 'variants', 'legal_forms'")
        letters = data.get("letters")
        if not isinstance(letters, dict) or not letters:
            raise InvalidValueError(f"{path}: 'letters' must map Cyrillic letters to Latin spellings")
        for k, v in letters.items():
            if not isinstance(k, str) or len(k) != 1 or not isinstance(v, str) or not re.fullmatch(r"[a-z]*", v):
                raise InvalidValueError(
                    f'{path}: letters entry {k!r}: {v!r}: expected one letter -> lowercase Latin (or "")'
                )
        self._letters = str.maketrans({k: v for k, v in letters.items()})
        self._variants: list[tuple[str, str]] = []
        for i, pair in enumerate(data.get("variants") or [], 1):
            if not (
                isinstance(pair, list)
                and len(pair) == 2
                and all(isinstance(x, str) and re.fullmatch(r"[a-z]+", x) for x in pair)
            ):
                raise InvalidValueError(
                    f"{path}: variants entry {i}: {pair!r}: expected [spelling, folded spelling] in lowercase Latin"
                )
            self._variants.append((pair[0], pair[1]))
        forms = data.get("legal_forms") or []
        if not isinstance(forms, list) or not all(isinstance(f, str) for f in forms):
            raise InvalidValueError(f"{path}: 'legal_forms' must be a list of words")
        self._forms = frozenset(f.lower() for f in forms)
        # Names and domains recur across ads: their folded forms are kept.
        self._keys: dict[str, _Key] = {}
        self._domains: dict[str, tuple[frozenset[str], str]] = {}

    def latin(self, word: str) -> str:
        """Lowercase Latin spelling of a word ("Жолы" -> "zholy")."""
        return word.lower().replace("ё", "е").translate(self._letters)

    def fold(self, word: str) -> str:
        """`latin` with spelling variants folded ("Жол" -> "iol", "Zhol" -> "iol")."""
        s = self.latin(word)
        for a, b in self._variants:
            s = s.replace(a, b)
        return re.sub(r"(.)\1+", r"\1", s)

    def _key(self, name: str) -> _Key:
        key = self._keys.get(name)
        if key is None:
            words = [w for w in _LETTER_RUN.findall(name) if w.lower() not in self._forms]
            parts = [p for w in words for p in _camel_parts(w)]
            folded = [self.fold(w) for w in words] + [self.fold(p) for p in parts if p not in words]
            # Windows of each word (and CamelCase part), and of the words run together
            # ("Eco KZ" -> ecokz.kz).
            windows = frozenset(
                f[i : i + _NAME_WINDOW]
                for f in [*folded, self.fold("".join(words))]
                for i in range(len(f) - _NAME_WINDOW + 1)
            )
            latin = "".join(self.latin(p)[:1] for p in parts)
            initials = (latin, self.fold(latin)) if len(parts) >= 2 else ()
            prefixes = frozenset(self.fold(p)[:3] for p in parts if len(self.fold(p)) >= 3)
            key = _Key(windows, initials, prefixes)
            if len(self._keys) < 10_000:
                self._keys[name] = key
        return key

    def _domain(self, domain: str) -> tuple[frozenset[str], str]:
        """A domain's labels and hyphen-separated parts (as written and folded), and its
        labels folded and run together; the TLD says nothing and is left out."""
        got = self._domains.get(domain)
        if got is None:
            labels = [lab for lab in domain.lower().split(".")[:-1] if lab]
            pieces = {p for lab in labels for p in (*lab.split("-"), lab.replace("-", "")) if p}
            pieces |= {self.fold(p) for p in pieces}
            got = (frozenset(pieces), "".join(self.fold(lab.replace("-", "")) for lab in labels))
            if len(self._domains) < 10_000:
                self._domains[domain] = got
        return got

    def matches(self, name: str, domain: str) -> bool | None:
        """True if the domain fits the company name, False if it clearly does not, None
        when they cannot be compared (name or domain too short).

        Fits: four letters in a row shared (almatylogistik.kz), the initials as a domain
        label or hyphen-separated part, or its start when three or more (ktz.kz,
        kms-atyrau.kz), or a part starting with a name word's first three letters
        (loghub.kz for Logistic Hub, ontindcons.kz for Оңтүстік Индустриал Құрылыс).
        """
        pieces, core = self._domain(domain)
        key = self._key(name)
        for ini in key.initials:
            if any(p == ini or (len(ini) >= 3 and p.startswith(ini)) for p in pieces):
                return True
        if any(p[:3] in key.prefixes for p in pieces):
            return True
        if not key.windows or len(core) < _NAME_WINDOW:
            return None
        return any(w in core for w in key.windows)

    def mismatch(self, names: list[str], domain: str) -> bool:
        """Whether the domain fits none of the names, and at least one could be compared."""
        verdicts = [self.matches(n, domain) for n in names if n and n.strip()]
        return False in verdicts and True not in verdicts
