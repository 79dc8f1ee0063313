"""The one MinHash/LSH and the one union-find that dedup, selection and networks share."""

from __future__ import annotations

import numpy as np
import pytest

from trafficking_ads import minhash
from trafficking_ads.unionfind import UnionFind


@pytest.mark.parametrize(
    "threshold, num_perm, bands",
    # datasketch 2.0's MinHashLSH chose these (measured): dedup's candidate pairs stay the same.
    [(0.6, 64, (10, 6)), (0.2, 128, (28, 2)), (0.3, 128, (37, 3)), (0.6, 128, (18, 7)), (0.5, 128, (25, 5))],
)
def test_bands_are_the_ones_datasketch_chose(threshold, num_perm, bands):
    assert minhash.optimal_bands(threshold, num_perm) == bands
    assert minhash.band_ranges(threshold, num_perm)[-1][1] == bands[0] * bands[1] <= num_perm


def _set(lo: int, hi: int) -> np.ndarray:
    return minhash.hash_strings(f"shingle {i}" for i in range(lo, hi))


def test_signatures_estimate_jaccard_and_lsh_finds_near_sets():
    a, near, far = _set(0, 400), _set(40, 440), _set(1000, 1400)  # Jaccard(a, near) = 360/440
    sa, snear, sfar = minhash.signatures([a, near, far], 128)
    assert sa.dtype == np.uint32 and sa.shape == (128,)
    assert abs(minhash.jaccard(sa, snear) - 360 / 440) < 0.12 and minhash.jaccard(sa, sfar) < 0.1
    assert (minhash.signatures([a], 128)[0] == sa).all()  # one permutation draw per (num_perm, seed)
    empty = minhash.signatures([np.zeros(0, dtype=np.uint32)], 128)[0]
    assert (empty == minhash.EMPTY).all()

    lsh = minhash.LSH(0.5, 128)
    lsh.insert("far", sfar)
    lsh.insert("near", snear)
    lsh.insert("a", sa)
    assert lsh.query(sa) == ["near", "a"]  # in insertion order
    with pytest.raises(ValueError, match="already"):
        lsh.insert("a", sa)


def test_hash_strings_is_stable_across_runs():
    # crc32, not hash(): the same shingle hashes the same under any PYTHONHASHSEED
    assert minhash.hash_strings(["работа в ‹city›"]).tolist() == [__import__("zlib").crc32("работа в ‹city›".encode())]


def test_union_find_names_each_set_by_its_first_member():
    uf: UnionFind[str] = UnionFind()
    uf.union("b", "c")
    uf.union("a", "c")  # "a" is added after "b": "b" stays the root
    uf.add("d")
    assert uf.find("a") == "b" and uf.groups() == {"b": ["b", "c", "a"], "d": ["d"]}
    ints = UnionFind(range(4))
    ints.union(3, 1)
    assert ints.find(3) == 1 and len(ints) == 4
