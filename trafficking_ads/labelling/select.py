"""Active-learning selection: which scored ads an annotator should label next.

Strategies:

- `uncertain`: closest to the operating threshold (the ads the model is least sure of);
- `high`: highest risk first (to confirm or correct the alarms);
- `random`: a seeded uniform sample (an unbiased check of the whole batch);
- `diverse`: uncertainty plus diversity — the most uncertain `pool_factor * n` ads, then
  k-center greedy over TF-IDF character 2–4-gram vectors (cosine distance), started from the
  ads already labelled, so the batch covers different templates instead of ten copies of one.
  (TF-IDF character n-grams, not transformer embeddings: they need no model, work across
  Russian/Kazakh/English spelling variants, and template near-copies sit close together.)

Every strategy skips near-duplicates — of ads already labelled and of ads already chosen —
by character-shingle Jaccard similarity (MinHash LSH candidates, confirmed exactly), using the
corpus builder's comparison form so "near-duplicate" means the same thing everywhere.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from .. import minhash
from ..errors import InvalidValueError
from ..problems import DataError, Problem, Problems
from ..records import Ad, Assessment
from ..scored import iter_scored_lines

STRATEGIES = ("uncertain", "high", "random", "diverse")
DEFAULT_DUP_THRESHOLD = 0.8
DEFAULT_THRESHOLD = 0.5
#: model.json keys that may hold the operating threshold, in order: the same rule as
#: `evaluate` (operating_threshold, else the medium band's threshold), so "uncertain" means
#: "near the point where the model starts flagging".
THRESHOLD_KEYS = (("operating_threshold",), ("threshold",), ("thresholds", "operating"), ("thresholds", "medium"))


@dataclass
class Candidate:
    """One scored ad read back from `score` output: the carried ad fields and the assessment."""

    ad: dict[str, Any]
    assessment: Assessment
    line: int = 0

    @property
    def ad_id(self) -> str:
        return self.assessment.ad_id

    @property
    def text(self) -> str:
        return self.ad.get("text") or ""

    @property
    def risk(self) -> float:
        return self.assessment.risk

    def as_ad(self) -> Ad:
        """The ad as an `Ad` (with the scored id)."""
        names = {f.name for f in dataclasses.fields(Ad)}
        kept = {k: v for k, v in self.ad.items() if k in names}
        return Ad(**{**kept, "text": self.text, "id": self.ad_id})


@dataclass
class Selection:
    """The chosen candidates (in priority order), the threshold used and what was skipped."""

    chosen: list[Candidate]
    strategy: str
    threshold: float
    threshold_source: str
    skipped_near_labelled: list[str] = field(default_factory=list)
    skipped_near_chosen: list[str] = field(default_factory=list)
    embedding: str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "chosen": len(self.chosen),
            "threshold": self.threshold,
            "threshold_source": self.threshold_source,
            "skipped_near_labelled": len(self.skipped_near_labelled),
            "skipped_near_chosen": len(self.skipped_near_chosen),
            "embedding": self.embedding,
        }


def read_scored_file(path: str | os.PathLike, problems: Problems | None = None) -> list[Candidate]:
    """The candidates of a `score` JSONL file (read by `scored.iter_scored_lines`); unreadable
    lines are reported (file, line, why) and skipped, or raise `DataError` when `problems` is strict."""
    problems = problems if problems is not None else Problems()
    out: list[Candidate] = []
    bad: list[Problem] = []
    for _path, i, ad, assessment in iter_scored_lines([path], bad):
        for p in bad:
            _report(problems, p)
        bad.clear()
        if not isinstance(ad.get("text"), str) or not ad["text"].strip():
            _report(
                problems,
                Problem(
                    str(path),
                    "missing_text",
                    "missing or empty ad text (score with the default ad fields)",
                    line=i,
                    field="ad.text",
                ),
            )
            continue
        out.append(Candidate(ad=ad, assessment=assessment, line=i))
    for p in bad:
        _report(problems, p)
    return out


def _report(problems: Problems, p: Problem) -> None:
    if problems.strict:
        raise DataError(str(p))
    problems.append(p)


def _lookup(card: dict[str, Any], keys: tuple[str, ...]) -> Any:
    cur: Any = card
    for k in keys:
        if not isinstance(cur, dict) or k not in cur:
            return None
        cur = cur[k]
    return cur


def threshold_from_card(card: dict[str, Any]) -> float | None:
    """The operating threshold a model card declares, if any (see THRESHOLD_KEYS)."""
    for keys in THRESHOLD_KEYS:
        v = _lookup(card, keys)
        if isinstance(v, (int, float)) and 0.0 <= float(v) <= 1.0:
            return float(v)
    return None


def operating_threshold(
    candidates: Sequence[Candidate], explicit: float | None = None, model: str | None = None
) -> tuple[float, str]:
    """(threshold, where it came from): `explicit`, else the model.json of the model that scored, else 0.5."""
    if explicit is not None:
        return float(explicit), "--threshold"
    from ..model_card import load_card
    from ..scoring import resolve_model_dir

    names = [model] if model else []
    names += sorted({c.assessment.model.name for c in candidates}) + ["default"]
    for name in names:
        try:
            path = resolve_model_dir(name)
            card = load_card(path).to_dict()
        except (OSError, ValueError):  # no such model, or an invalid model.json (ModelCardError)
            continue
        if (
            name == "default"
            and model is None
            and candidates
            and card["name"] not in {c.assessment.model.name for c in candidates}
        ):
            continue  # the default is another model than the one that scored
        t = threshold_from_card(card)
        if t is not None:
            return t, f"{path / 'model.json'}"
    return DEFAULT_THRESHOLD, "default 0.5 (no threshold in the scoring model's model.json)"


def shingle_sets(texts: Iterable[str], titles: Iterable[str | None] | None = None) -> list[np.ndarray]:
    """Character-shingle hash sets in the corpus builder's comparison form (title + text)."""
    from ..corpus.dedup import char_shingle_hashes
    from ..text.canonical import comparison_text, normalize_tokens

    texts = list(texts)
    titles = list(titles) if titles is not None else [None] * len(texts)
    return [
        char_shingle_hashes(normalize_tokens(comparison_text(Ad(text=t, title=ti)))) for t, ti in zip(texts, titles)
    ]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted unique hash arrays."""
    if not len(a) or not len(b):
        return 1.0 if not len(a) and not len(b) else 0.0
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (len(a) + len(b) - inter)


class NearDuplicateIndex:
    """Ads seen so far (labelled or chosen); answers "is this a near-copy of one of them?".

    MinHash LSH proposes candidates at a lower threshold; the exact Jaccard of the shingle
    sets confirms them, so the answer does not depend on MinHash noise.
    """

    def __init__(self, threshold: float = DEFAULT_DUP_THRESHOLD, num_perm: int = 128, seed: int = 1) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.seed = seed
        self.lsh = minhash.LSH(max(0.3, threshold - 0.2), num_perm)
        self.sets: dict[str, np.ndarray] = {}
        self._empty: set[str] = set()

    def minhash(self, s: np.ndarray) -> np.ndarray:
        """The MinHash signature of a shingle-hash set (the shingles are already hashes)."""
        return minhash.signatures([s], self.num_perm, self.seed)[0]

    def match(self, s: np.ndarray, mh: np.ndarray | None = None) -> str | None:
        """The key of an indexed near-duplicate of shingle set `s`, or None."""
        if not len(s):
            return next(iter(self._empty), None)
        for key in self.lsh.query(mh if mh is not None else self.minhash(s)):
            if jaccard(s, self.sets[key]) >= self.threshold:
                return key
        return None

    def add(self, key: str, s: np.ndarray, mh: np.ndarray | None = None) -> None:
        if key in self.sets or key in self._empty:
            return
        if not len(s):
            self._empty.add(key)
            return
        self.sets[key] = s
        self.lsh.insert(key, mh if mh is not None else self.minhash(s))


def tfidf_vectors(texts: Sequence[str]):
    """L2-normalised TF-IDF vectors of character 2–4-grams (within word boundaries)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 4), min_df=1, sublinear_tf=True, lowercase=True, max_features=50000
    )
    return vec.fit_transform([t or " " for t in texts])


def k_center_greedy(X, n: int, initial: Sequence[int] = (), first: int = 0) -> list[int]:
    """Indices of `n` rows chosen one at a time as the farthest (cosine) from all chosen so far.

    Rows in `initial` count as already chosen (the labelled ads) but are not returned;
    with no `initial`, row `first` starts the set.
    """
    m = X.shape[0]
    if m == 0 or n <= 0:
        return []
    chosen: list[int] = []
    mind = np.full(m, np.inf)

    def update(i: int) -> None:
        sims = np.asarray((X @ X[i].T).todense()).ravel()
        np.minimum(mind, 1.0 - sims, out=mind)

    init = list(initial)
    for start in range(0, len(init), 1024):  # all labelled rows at once, in blocks (a big store stays fast)
        sims = (X @ X[init[start : start + 1024]].T).max(axis=1)
        np.minimum(mind, 1.0 - np.asarray(sims.todense()).ravel(), out=mind)
    blocked = np.zeros(m, dtype=bool)
    blocked[list(initial)] = True
    if not len(initial):
        chosen.append(first)
        blocked[first] = True
        update(first)
    while len(chosen) < n and not blocked.all():
        score = np.where(blocked, -np.inf, mind)
        i = int(np.argmax(score))
        chosen.append(i)
        blocked[i] = True
        update(i)
    return chosen


def _order(cands: Sequence[Candidate], strategy: str, threshold: float, seed: int) -> list[int]:
    idx = list(range(len(cands)))
    if strategy == "high":
        return sorted(idx, key=lambda i: (-cands[i].risk, cands[i].ad_id))
    if strategy in ("uncertain", "diverse"):
        return sorted(idx, key=lambda i: (abs(cands[i].risk - threshold), cands[i].ad_id))
    if strategy == "random":
        return [int(i) for i in np.random.default_rng(seed).permutation(len(cands))]
    raise InvalidValueError(f"unknown selection strategy {strategy!r} (choose from {', '.join(STRATEGIES)})")


def select(
    candidates: Sequence[Candidate],
    strategy: str = "uncertain",
    n: int = 50,
    *,
    threshold: float | None = None,
    threshold_source: str | None = None,
    labelled: Sequence[dict[str, Any]] = (),
    seed: int = 0,
    dup_threshold: float = DEFAULT_DUP_THRESHOLD,
    pool_factor: int = 5,
) -> Selection:
    """Choose up to `n` candidates to label by `strategy`, skipping near-duplicates.

    `labelled` are label-store records (dicts with `ad_id`, `text`, `title`): their ads and
    near-copies of them are never chosen again. Deterministic for a given `seed`.
    """
    if strategy not in STRATEGIES:
        raise InvalidValueError(f"unknown selection strategy {strategy!r} (choose from {', '.join(STRATEGIES)})")
    if threshold is None:
        threshold, threshold_source = operating_threshold(candidates)
    sel = Selection(
        chosen=[], strategy=strategy, threshold=float(threshold), threshold_source=threshold_source or "given"
    )
    # one candidate per ad id (a batch scored twice), the first seen
    seen_ids: set[str] = set()
    unique: list[Candidate] = []
    for c in candidates:
        if c.ad_id not in seen_ids:
            seen_ids.add(c.ad_id)
            unique.append(c)
    labelled_ids = {r.get("ad_id") for r in labelled}
    index = NearDuplicateIndex(dup_threshold, seed=1)
    lab_sets = shingle_sets([r.get("text") or "" for r in labelled], [r.get("title") for r in labelled])
    for r, s in zip(labelled, lab_sets):
        index.add("labelled:" + str(r.get("ad_id")), s)
    order = _order(unique, strategy, sel.threshold, seed)
    limit = n if strategy != "diverse" else max(n * pool_factor, n)
    pool: list[int] = []
    for i in order:
        c = unique[i]
        if c.ad_id in labelled_ids:
            sel.skipped_near_labelled.append(c.ad_id)
            continue
        (s,) = shingle_sets([c.text], [c.ad.get("title")])  # computed lazily: a big batch stops early
        mh = index.minhash(s) if len(s) else None
        hit = index.match(s, mh)
        if hit is not None:
            (sel.skipped_near_labelled if hit.startswith("labelled:") else sel.skipped_near_chosen).append(c.ad_id)
            continue
        index.add("chosen:" + c.ad_id, s, mh)
        pool.append(i)
        if len(pool) >= limit:
            break
    if strategy != "diverse":
        sel.chosen = [unique[i] for i in pool]
        return sel
    # diverse: k-center greedy over the uncertain pool, seeded by the labelled ads
    texts = [_embed_text(unique[i].ad) for i in pool] + [_embed_text(r) for r in labelled]
    X = tfidf_vectors(texts)
    initial = list(range(len(pool), len(texts)))
    picks = k_center_greedy(X, n, initial=initial, first=0)
    sel.chosen = [unique[pool[j]] for j in picks]
    sel.embedding = "tfidf-char_wb-2-4"
    return sel


def _embed_text(d: dict[str, Any]) -> str:
    title = d.get("title") or ""
    return f"{title}\n{d.get('text') or ''}" if title else (d.get("text") or "")
