"""MinHash signatures and LSH banding: candidate near-duplicates among many sets, fast.

One implementation for corpus deduplication, active-learning selection and recruitment
networks (and their Ray run). A set is an array of 32-bit hashes (of shingles); its
signature is, per permutation, the minimum of `(a * h + b) mod 2**32` (odd `a`: a bijection
of 32-bit values), computed in bulk with numpy from one seeded permutation draw. LSH
splits signatures into `b` bands of `r` values; sets sharing a band are candidates. `b`
and `r` minimise the equally weighted false-positive and false-negative probabilities
around the threshold, the choice datasketch's `MinHashLSH` makes, so the bands (and the
candidate pairs of equal signatures) are the ones it would give.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from typing import Hashable, Iterable

import numpy as np
from .errors import InvalidValueError

#: Signature value of an empty set (no hash is larger).
EMPTY = np.iinfo(np.uint32).max


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = (rng.integers(0, 2**32, num_perm, dtype=np.uint64) | np.uint64(1)).astype(np.uint32)
    b = rng.integers(0, 2**32, num_perm, dtype=np.uint64).astype(np.uint32)
    return a, b


def hash_strings(strings: Iterable[str]) -> np.ndarray:
    """Sorted unique 32-bit hashes (crc32 of UTF-8: stable across runs and PYTHONHASHSEED)."""
    return np.unique(np.fromiter((zlib.crc32(s.encode("utf-8")) for s in strings), dtype=np.uint32))


def signatures(sets: Iterable[np.ndarray], num_perm: int, seed: int = 1) -> list[np.ndarray]:
    """The MinHash signature (uint32, `num_perm` values) of each hash set."""
    a, b = _permutations(num_perm, seed)
    out = []
    with np.errstate(over="ignore"):
        for h in sets:
            h = np.asarray(h, dtype=np.uint32)
            if not len(h):
                out.append(np.full(num_perm, EMPTY, dtype=np.uint32))
                continue
            out.append((h[:, None] * a[None, :] + b[None, :]).min(axis=0))
    return out


def jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """The Jaccard similarity two signatures estimate (the share of equal values)."""
    return float(np.count_nonzero(sig_a == sig_b)) / len(sig_a)


@lru_cache(maxsize=32)
def optimal_bands(threshold: float, num_perm: int, weights: tuple[float, float] = (0.5, 0.5)) -> tuple[int, int]:
    """(bands, rows per band) minimising the weighted false-positive and false-negative
    probability mass below and above `threshold` (as datasketch's `MinHashLSH` chooses)."""
    from scipy.integrate import quad

    fp_weight, fn_weight = weights
    best, opt = float("inf"), (0, 0)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            fp = quad(lambda s: 1 - (1 - s ** float(r)) ** float(b), 0.0, threshold)[0]  # noqa: B023
            fn = quad(lambda s: 1 - (1 - (1 - s ** float(r)) ** float(b)), threshold, 1.0)[0]  # noqa: B023
            err = fp * fp_weight + fn * fn_weight
            if err < best:
                best, opt = err, (b, r)
    return opt


def band_ranges(threshold: float, num_perm: int) -> list[tuple[int, int]]:
    """The (start, end) signature slices of the LSH bands for `threshold`."""
    b, r = optimal_bands(threshold, num_perm)
    if b < 2:
        raise InvalidValueError(f"LSH at threshold {threshold} with {num_perm} permutations has fewer than 2 bands")
    return [(i * r, (i + 1) * r) for i in range(b)]


class LSH:
    """Keys of inserted signatures, found again by any band they share with a query."""

    def __init__(self, threshold: float, num_perm: int) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.ranges = band_ranges(threshold, num_perm)
        self._tables: list[dict[bytes, list[Hashable]]] = [{} for _ in self.ranges]
        self._order: dict[Hashable, int] = {}

    def __len__(self) -> int:
        return len(self._order)

    def insert(self, key: Hashable, sig: np.ndarray) -> None:
        """Index `sig` under `key` (a key is inserted once)."""
        if key in self._order:
            raise InvalidValueError(f"key {key!r} is already in the LSH index")
        self._order[key] = len(self._order)
        for table, (s, e) in zip(self._tables, self.ranges):
            table.setdefault(sig[s:e].tobytes(), []).append(key)

    def query(self, sig: np.ndarray) -> list[Hashable]:
        """Keys sharing at least one band with `sig`, in the order they were inserted."""
        found: set[Hashable] = set()
        for table, (s, e) in zip(self._tables, self.ranges):
            found.update(table.get(sig[s:e].tobytes(), ()))
        return sorted(found, key=self._order.__getitem__)
