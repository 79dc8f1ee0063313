"""Group-aware train/dev/test splits: a template family never straddles two splits.

Why: EMSCAD frauds (and the seed set's template families) are near-copies of each other; a
row-level split puts siblings on both sides and inflates test scores. Groups are assigned
whole, in a seeded random order, each to the split whose share of the group's strata is
least filled relative to its target, so every split gets its fraction of each stratum
(source family x language x label x hard-negative) as far as whole groups allow. This is
the greedy of scikit-learn's StratifiedGroupKFold, generalised to unequal split sizes.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

from ..records import Ad
from ..errors import InvalidValueError

SPLITS = ("train", "dev", "test")


def source_family(ad: Ad) -> str:
    """`seed`, `platform` (superjob/hh: real unlabelled vacancies) or `emscad` (EMSCAD and DIFrauD)."""
    src = ad.source or ""
    if src == "seed":
        return "seed"
    if src.startswith(("superjob:", "hh:")):
        return "platform"
    return "emscad"


def stratum(ad: Ad) -> str:
    """The stratification key of an ad: family|language|label[|hard]."""
    key = f"{source_family(ad)}|{ad.language or '?'}|{ad.label}"
    return key + "|hard" if ad.meta.get("hard_negative") else key


def split_groups(
    ads: Sequence[Ad],
    groups: Sequence[str],
    *,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 13,
) -> list[str]:
    """The split name (train/dev/test) of each ad; every ad of a group gets the same one.

    Deterministic for a seed; dev or test may have fraction 0.
    """
    if len(ads) != len(groups):
        raise InvalidValueError("ads and groups differ in length")
    frac = np.asarray(fractions, dtype=float)
    if frac.shape != (3,) or abs(frac.sum() - 1.0) > 1e-6 or (frac < 0).any() or frac[0] <= 0:
        raise InvalidValueError(f"fractions must be 3 shares >= 0 summing to 1, train > 0; got {fractions}")
    if not ads:
        return []
    strata = sorted({stratum(a) for a in ads})
    s_index = {k: i for i, k in enumerate(strata)}
    g_names = sorted(set(groups))
    g_index = {g: i for i, g in enumerate(g_names)}
    counts = np.zeros((len(g_names), len(strata)))
    for ad, g in zip(ads, groups):
        counts[g_index[g], s_index[stratum(ad)]] += 1
    target = frac[:, None] * counts.sum(axis=0)[None, :]  # split x stratum
    open_splits = np.flatnonzero(frac > 0)
    filled = np.zeros_like(target)
    where = np.empty(len(g_names), dtype=int)
    rng = np.random.default_rng(seed)
    for gi in rng.permutation(len(g_names)):
        c = counts[gi]
        has = c > 0
        best, best_key = -1, None
        for s in open_splits:
            # fill ratio of this group's strata if it joins split s, weighted by its rows there;
            # ties go to the split least filled overall
            ratio = ((filled[s, has] + c[has]) / target[s, has] * c[has]).sum() / c.sum()
            overall = (filled[s].sum() + c.sum()) / target[s].sum()
            key = (round(ratio, 12), round(overall, 12))
            if best_key is None or key < best_key:
                best, best_key = s, key
        where[gi] = best
        filled[best] += c
    return [SPLITS[where[g_index[g]]] for g in groups]


def check_group_disjoint(groups: Sequence[str], splits: Sequence[str]) -> list[str]:
    """Group ids found in more than one split (empty when the split is sound)."""
    seen: dict[str, set[str]] = {}
    for gid, sp in zip(groups, splits):
        seen.setdefault(gid, set()).add(sp)
    return sorted(g for g, s in seen.items() if len(s) > 1)


def split_counts(ads: Sequence[Ad], splits: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per split: ads, positives, and counts per language and per stratum."""
    out: dict[str, dict[str, int]] = {}
    for sp in SPLITS:
        idx = [i for i, s in enumerate(splits) if s == sp]
        c = Counter(stratum(ads[i]) for i in idx)
        out[sp] = {"ads": len(idx), "positives": sum(int(ads[i].label == 1) for i in idx), **dict(sorted(c.items()))}
    return out


def protocol_family(ad: Ad) -> str:
    """The source family a cross-source split holds out: `difraud`, `emscad`, `platform` or `seed`."""
    src = (ad.source or "").split(":", 1)[0]
    return "platform" if src in ("superjob", "hh") else (src or "unknown")


def cross_source_split(
    ads: Sequence[Ad],
    groups: Sequence[str],
    test_source: str,
    *,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 13,
) -> list[str]:
    """Cross-source protocol: every group holding an ad of family `test_source` is `test`;
    the other groups are split into train and dev (group-aware, stratified) in the ratio of
    the first two fractions. Nothing the model trains or is tuned on shares a template,
    a boilerplate paragraph or a contact with the held-out family."""
    held = {g for a, g in zip(ads, groups) if protocol_family(a) == test_source}
    if not held:
        raise InvalidValueError(f"no ads of source family {test_source!r} (families: difraud, emscad, platform, seed)")
    rest = [i for i, g in enumerate(groups) if g not in held]
    share = fractions[0] / (fractions[0] + fractions[1]) if fractions[0] + fractions[1] > 0 else 1.0
    inner = split_groups(
        [ads[i] for i in rest], [groups[i] for i in rest], fractions=(share, 1 - share, 0.0), seed=seed
    )
    out = ["test"] * len(ads)
    for i, sp in zip(rest, inner):
        out[i] = sp
    return out
