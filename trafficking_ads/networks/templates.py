"""Template clusters: MinHash signatures, LSH candidates, and the shared template text.

Signatures are computed in bulk with datasketch (one permutation set for all ads) over
word shingles of the slot-normalized text; LSH proposes candidate pairs and the estimated
Jaccard similarity confirms them.
"""

from __future__ import annotations

import difflib
import zlib
from typing import Iterable

import numpy as np
from datasketch import LeanMinHash, MinHash

from .normalize import CITY, CONTACT, LINK, NUM

SEED = 1
SCHEME = "affine32"  # datasketch's hashing scheme; stored signatures are read back with it
_SLOT_NAMES = {NUM: "{num}", CITY: "{city}", CONTACT: "{contact}", LINK: "{link}"}


def _hash(shingle: bytes) -> int:
    """A stable 32-bit hash (crc32): signatures must not depend on PYTHONHASHSEED."""
    return zlib.crc32(shingle)


def signatures(shingle_sets: Iterable[set[str]], num_perm: int) -> list[LeanMinHash]:
    """LeanMinHash signatures for many shingle sets at once."""
    encoded = [[s.encode("utf-8") for s in shingles] for shingles in shingle_sets]
    hashes = MinHash.bulk(encoded, num_perm=num_perm, seed=SEED, hashfunc=_hash, scheme=SCHEME)
    return [LeanMinHash(h) for h in hashes]


def to_bytes(sig: LeanMinHash) -> bytes:
    """The signature's hash values (uint32 under affine32), for storage."""
    return np.asarray(sig.hashvalues, dtype=np.uint32).tobytes()


def from_bytes(blob: bytes) -> LeanMinHash:
    """A stored signature back as a LeanMinHash (same seed as `signatures`)."""
    return LeanMinHash(seed=SEED, hashvalues=np.frombuffer(blob, dtype=np.uint32), scheme=SCHEME)


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
