"""Template clusters: slot tokens, MinHash signatures, LSH candidates, the shared text.

Reposted recruitment ads keep their wording and change the city, the numbers, the phone,
the names and the emoji. The ad text is normalized as the indicator engine normalizes it
(NFKC, invisible characters and keycaps dropped, look-alike letters folded), and what
varies becomes a slot token (`template_tokens`), so two reposts of one template are nearly
identical while unrelated ads stay apart. MinHash signatures (`trafficking_ads.minhash`,
one permutation set for all ads) are computed over crc32 hashes of word shingles of the
slot tokens; LSH proposes candidate pairs and the estimated Jaccard similarity confirms them.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from typing import Iterable

import numpy as np

from .. import minhash
from ..indicators.contacts import find_phones
from ..indicators.normalize import normalize
from ..indicators.places import default_gazetteer

#: Slot tokens; the template text shows each as `{…}` with its kind.
NUM, CITY, CONTACT, LINK = "‹num›", "‹city›", "‹contact›", "‹link›"

_URL = re.compile(r"(?:https?://|www\.)\S+|\b(?:t\.me|wa\.me|instagram\.com)/\S+", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z][\w]{3,}")
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
_TOKEN = re.compile(rf"{re.escape(LINK)}|{re.escape(CONTACT)}|{re.escape(NUM)}|{_WORD.pattern}")


@lru_cache(maxsize=500_000)
def _word_token(word: str) -> str:
    """One lowercase word as a template token (cached: ad vocabularies repeat heavily)."""
    if word in (LINK, CONTACT, NUM):
        return word
    if any(ch.isdigit() for ch in word):
        return NUM
    return CITY if default_gazetteer().is_city(word) else word


def _phones_as_slots(text: str) -> str:
    """Each phone number the indicator engine finds (spelled out too) as one `NUM` slot."""
    phones = find_phones(text)
    if not phones:
        return text
    out, last = [], 0
    for c in phones:
        out += [text[last : c.start], f" {NUM} "]
        last = c.end
    out.append(text[last:])
    return "".join(out)


def template_tokens(text: str) -> list[str]:
    """The ad text as tokens with numbers, cities, contacts and links replaced by slots.

    Emoji and punctuation disappear (they are not word characters); case and look-alike
    letters are folded; a phone, however written, is one number slot.
    """
    t = normalize(text).text
    t = _URL.sub(f" {LINK} ", t)
    t = _EMAIL.sub(f" {CONTACT} ", t)
    t = _HANDLE.sub(f" {CONTACT} ", t)
    t = _phones_as_slots(t)
    tokens: list[str] = []
    for m in _TOKEN.finditer(t.lower()):
        tok = _word_token(m.group(0))
        if tok in (NUM, CONTACT) and tokens and tokens[-1] == tok:
            continue  # "+7 701 234 56 78" is one slot, not five
        tokens.append(tok)
    return tokens


def find_cities(text: str) -> list[str]:
    """Canonical names of the gazetteer's cities named in `text` (in order, without repeats)."""
    return default_gazetteer().find_cities(text)


def shingles(tokens: list[str], k: int = 4) -> set[str]:
    """Word k-shingles of a token list (the whole list when it is shorter than k)."""
    if len(tokens) <= k:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)}


SEED = 1
_SLOT_NAMES = {NUM: "{num}", CITY: "{city}", CONTACT: "{contact}", LINK: "{link}"}


def signatures(shingle_sets: Iterable[set[str]], num_perm: int) -> list[np.ndarray]:
    """MinHash signatures (uint32 arrays) of many shingle sets at once."""
    return minhash.signatures((minhash.hash_strings(s) for s in shingle_sets), num_perm, SEED)


def to_bytes(sig: np.ndarray) -> bytes:
    """A signature's values (uint32), for storage."""
    return np.asarray(sig, dtype=np.uint32).tobytes()


def from_bytes(blob: bytes) -> np.ndarray:
    """A stored signature back (the values `signatures` computed)."""
    return np.frombuffer(blob, dtype=np.uint32)


def template_text(token_lists: list[list[str]], max_members: int = 12) -> str:
    """The text members share, with `{…}` where they differ and `{num}`/`{city}`/... slots.

    The first member is the reference; positions where any other member differs (by a
    token-wise diff) become a variable slot.
    """
    if not token_lists:
        return ""
    ref = token_lists[0]
    variable = [False] * len(ref)
    for other in token_lists[1:max_members]:
        for op, i1, i2, _j1, _j2 in difflib.SequenceMatcher(None, ref, other, autojunk=False).get_opcodes():
            if op != "equal":
                for i in range(i1, max(i2, i1 + 1)):
                    if i < len(ref):
                        variable[i] = True
    out: list[str] = []
    for tok, var in zip(ref, variable):
        piece = "{…}" if var else _SLOT_NAMES.get(tok, tok)
        if piece == "{…}" and out and out[-1] == "{…}":
            continue
        out.append(piece)
    return " ".join(out)
