"""Text normalization for matching, with a map back to the original offsets.

Matching runs on a normalized copy of the text (NFKC, zero-width and variation characters
removed, Latin/Cyrillic look-alike letters folded to the script of their word), but
evidence must point at what the ad really says. `Normalized.span` turns a normalized
[start, end) into the original [start, end), so `ad.text[start:end]` is the evidence text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from bisect import bisect_right
from functools import lru_cache

#: Characters removed before matching: zero-width, joiners, soft hyphen, BOM, variation
#: selectors and the combining keycap (so the emoji digit "7️⃣" reads as "7").
INVISIBLE = frozenset(
    "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u034f"
    "\u180e\ufe00\ufe01\ufe02\ufe03\ufe04\ufe05\ufe06\ufe07\ufe08\ufe09\ufe0a\ufe0b"
    "\ufe0c\ufe0d\ufe0e\ufe0f\u20e3"
)

#: Latin letters that look like Cyrillic ones (folded inside Cyrillic words).
LAT_TO_CYR = str.maketrans(
    {
        "a": "а",
        "c": "с",
        "e": "е",
        "o": "о",
        "p": "р",
        "x": "х",
        "y": "у",
        "k": "к",
        "A": "А",
        "B": "В",
        "C": "С",
        "E": "Е",
        "H": "Н",
        "K": "К",
        "M": "М",
        "O": "О",
        "P": "Р",
        "T": "Т",
        "X": "Х",
        "Y": "У",
        "i": "і",
        "I": "І",
    }
)
#: Cyrillic letters that look like Latin ones (folded inside Latin words).
CYR_TO_LAT = str.maketrans(
    {
        "а": "a",
        "с": "c",
        "е": "e",
        "о": "o",
        "р": "p",
        "х": "x",
        "у": "y",
        "к": "k",
        "і": "i",
        "ј": "j",
        "ѕ": "s",
        "һ": "h",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "А": "A",
        "В": "B",
        "С": "C",
        "Е": "E",
        "Н": "H",
        "К": "K",
        "М": "M",
        "О": "O",
        "Р": "P",
        "Т": "T",
        "Х": "X",
        "І": "I",
        "Ј": "J",
        "Ѕ": "S",
    }
)
#: Kazakh letters: the strongest cue that a Cyrillic word is Kazakh, not Russian.
KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")

_WORD = re.compile(r"[^\W\d_]+")


def is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff" or "\u0500" <= ch <= "\u052f"


def is_latin(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ("\u00c0" <= ch <= "\u024f")


@dataclass(slots=True)
class Normalized:
    """A normalized text and the map from its offsets back to the original.

    The map is a list of segments, each starting at a normalized offset: an identity
    segment (copied text: offsets shift by a constant) or a rebuilt cluster (every
    character it produced maps to the whole original cluster). No segments means the
    text was not changed in length anywhere (the common case).
    """

    text: str
    seg_starts: list[int] | None
    segs: list[tuple[int, int, bool]] | None  # (original start, original end, identity)
    original: str

    def _start(self, i: int) -> int:
        k = bisect_right(self.seg_starts, i) - 1  # type: ignore[arg-type]
        o_s, o_e, ident = self.segs[k]  # type: ignore[index]
        return o_s + (i - self.seg_starts[k]) if ident else o_s  # type: ignore[index]

    def _end(self, i: int) -> int:
        k = bisect_right(self.seg_starts, i) - 1  # type: ignore[arg-type]
        o_s, o_e, ident = self.segs[k]  # type: ignore[index]
        return o_s + (i - self.seg_starts[k]) + 1 if ident else o_e  # type: ignore[index]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets of the normalized span [start, end) (end exclusive)."""
        if self.segs is None:
            return start, end
        if end <= start:
            pos = self._start(start) if start < len(self.text) else len(self.original)
            return pos, pos
        return self._start(start), self._end(end - 1)


def _clusters(text: str):
    """Yield (start, end) of a base character with its combining marks."""
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        yield i, j
        i = j


_UNSAFE: dict[str, bool] = {}
#: Characters seen and found safe (normalization leaves them as they are).
_SAFE: set[str] = set()


def _unsafe(ch: str) -> bool:
    """A character NFKC changes, an invisible one, or a combining mark (cached)."""
    u = _UNSAFE.get(ch)
    if u is None:
        u = ch in INVISIBLE or bool(unicodedata.combining(ch)) or unicodedata.normalize("NFKC", ch) != ch
        _UNSAFE[ch] = u
    return u


@lru_cache(maxsize=4096)
def _bad_chars_re(chars: str) -> re.Pattern[str]:
    return re.compile("[" + re.escape(chars) + "]")


def normalize(text: str) -> Normalized:
    """NFKC per character cluster, invisible characters dropped, look-alikes folded.

    Only clusters holding a character that normalization changes are rebuilt (per-cluster
    NFKC); the rest is copied. Each normalized character keeps the original [start, end)
    of its cluster, so any normalized span maps back exactly.
    """
    if text.isascii():
        return Normalized(_fold_lookalikes(text), None, None, text)
    # Characters already known to be safe are removed in one C-level set difference.
    unknown = set(text) - _SAFE
    bad = [ch for ch in unknown if _unsafe(ch)]
    if len(_SAFE) < 100_000 and len(bad) < len(unknown):
        _SAFE.update(ch for ch in unknown if ch not in bad)
    if not bad:
        return Normalized(_fold_lookalikes(text), None, None, text)
    n = len(text)
    ranges: list[list[int]] = []
    for m in _bad_chars_re("".join(sorted(bad))).finditer(text):
        i = m.start()
        s = i
        while s > 0 and unicodedata.combining(text[s]):
            s -= 1
        e = i + 1
        while e < n and unicodedata.combining(text[e]):
            e += 1
        if ranges and s <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], e)
        else:
            ranges.append([s, e])
    out: list[str] = []
    seg_starts: list[int] = []
    segs: list[tuple[int, int, bool]] = []
    npos = 0  # length of the normalized text so far
    pos = 0
    for rs, re_ in ranges:
        if rs > pos:
            out.append(text[pos:rs])
            seg_starts.append(npos)
            segs.append((pos, rs, True))
            npos += rs - pos
        for cs, ce in _clusters(text[rs:re_]):
            chunk = "".join(c for c in text[rs + cs : rs + ce] if c not in INVISIBLE)
            if not chunk:
                continue
            norm = unicodedata.normalize("NFKC", chunk)
            out.append(norm)
            seg_starts.append(npos)
            segs.append((rs + cs, rs + ce, False))
            npos += len(norm)
        pos = re_
    if pos < n:
        out.append(text[pos:])
        seg_starts.append(npos)
        segs.append((pos, n, True))
    return Normalized(_fold_lookalikes("".join(out)), seg_starts, segs, text)


#: A Latin letter next to a Cyrillic one: the only way a word can mix scripts.
_MIXED_PAIR = re.compile(r"[a-zA-Z\u00c0-\u024f][\u0400-\u052f]|[\u0400-\u052f][a-zA-Z\u00c0-\u024f]")


def _script_bytes_table() -> bytes:
    table = bytearray(b" " * 256)
    for b in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz":
        table[b] = ord("L")
    for b in range(0xC3, 0xC9):  # lead bytes of U+00C0..U+023F
        table[b] = ord("L")
    for b in range(0xD0, 0xD4):  # lead bytes of U+0400..U+04FF
        table[b] = ord("C")
    return bytes(table)


_SCRIPT_BYTES = _script_bytes_table()
_CONTINUATION = bytes(range(0x80, 0xC0))


def has_mixed_pair(text: str) -> bool:
    """Whether a Latin letter stands next to a Cyrillic one (what `_MIXED_PAIR` finds).

    Each character of the UTF-8 text becomes one byte ("L" Latin, "C" Cyrillic, " "
    other: its lead byte translated, continuation bytes dropped), and the pair is a
    substring test: ten times faster than the regex search, which tries a match at
    every letter. The two lead bytes shared by a Cyrillic or Latin block and another
    block (D4, C9) send the text to the regex.
    """
    raw = text.encode("utf-8", "surrogatepass")
    if b"\xd4" in raw or b"\xc9" in raw:
        return _MIXED_PAIR.search(text) is not None
    kinds = raw.translate(_SCRIPT_BYTES, _CONTINUATION)
    return b"LC" in kinds or b"CL" in kinds


#: The characters `is_cyrillic` and `is_latin` accept, for counting them in C.
_CYRILLIC_CHAR = re.compile("[\u0400-\u052f]")
_LATIN_CHAR = re.compile("[a-zA-Z\u00c0-\u024f]")


@lru_cache(maxsize=100_000)
def _script_balance(word: str) -> int | None:
    """Cyrillic minus Latin letters of a word that mixes the two scripts; None if it does not
    (cached: a text that mixes scripts repeats its words)."""
    if not _MIXED_PAIR.search(word):
        return None
    return len(_CYRILLIC_CHAR.findall(word)) - len(_LATIN_CHAR.findall(word))


def _fold_lookalikes(text: str) -> str:
    """Fold mixed-script words to their majority script (one char for one char)."""
    if text.isascii() or not has_mixed_pair(text):
        return text
    doc_cyr = None
    pieces: list[str] = []
    last = 0
    for m in _WORD.finditer(text):
        w = m.group()
        balance = _script_balance(w)
        if balance is None:
            continue
        if balance == 0:
            if doc_cyr is None:
                doc_cyr = len(_CYRILLIC_CHAR.findall(text)) >= len(_LATIN_CHAR.findall(text))
            to_cyr = doc_cyr
        else:
            to_cyr = balance > 0
        pieces.append(text[last : m.start()])
        pieces.append(w.translate(LAT_TO_CYR if to_cyr else CYR_TO_LAT))
        last = m.end()
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)
