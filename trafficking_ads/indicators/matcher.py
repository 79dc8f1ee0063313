"""A token-pattern matcher indexed by first token, for speed.

spaCy's `Matcher` tries every pattern at every token: with these 1,558 patterns compiled
to it, on the same tokens, it finds the same matches at about 20 ads/s of 1,000 characters,
170-340x slower than this matcher (`benchmarks/spacy_matcher.py`; spaCy integration is
`spacy_pipeline.py`). Here the first token of every pattern is indexed by form, lemma and
stem key, so each token costs three dictionary look-ups, and only the few patterns whose
first token fits are followed further (gaps and optional tokens by backtracking).
"""

from __future__ import annotations

from .patterns import PatternEntry, Slot
from .tokens import Tokens


class TokenMatcher:
    """All token patterns of one language, indexed by their first token."""

    def __init__(self, entries: list[PatternEntry]) -> None:
        Union = tuple[frozenset[str], bool]  # all values of a slot, and whether a number passes
        Item = tuple[PatternEntry, list[Slot], int, tuple[Union, ...], bool, Union | None]
        unions: dict[frozenset[str], frozenset[str]] = {}
        self._orth: dict[str, list[Item]] = {}
        self._lemma: dict[str, list[Item]] = {}
        self._norm: dict[str, list[Item]] = {}
        self._num: list[Item] = []
        self.size = 0
        self._cands: dict[str, tuple] = {}
        for e in entries:
            for slots in e.token_patterns:
                self.size += 1
                first = slots[0]
                # The feasibility prefilter needs only "does any value of this slot occur
                # in the text", so each required slot is kept as one union of its forms,
                # lemmas and stem keys, checked against one union of the text's; a value
                # of one kind equal to a text value of another only lets a pattern through
                # to the exact test. Equal unions are shared (one object per content).
                required = tuple(
                    (unions.setdefault(u, u), s.num)
                    for s in slots[1:]
                    if not s.gap and not s.optional
                    for u in (s.orth | s.lemma | s.norm,)
                )
                # The second slot, when it must be the very next token, as its union too:
                # an inline rejection test before the exact match (None: no such test).
                second = None
                if len(slots) > 1 and not slots[1].gap and not slots[1].optional:
                    u = slots[1].orth | slots[1].lemma | slots[1].norm
                    second = (unions.setdefault(u, u), slots[1].num)
                item = (e, slots, self.size, required, len(slots) > 1, second)
                for v in first.orth:
                    self._orth.setdefault(v, []).append(item)
                for v in first.lemma:
                    self._lemma.setdefault(v, []).append(item)
                for v in first.norm:
                    self._norm.setdefault(v, []).append(item)
                if first.num:
                    self._num.append(item)

    def _candidates(self, word: str, lemma: str, key: str) -> tuple:
        """Patterns whose first token a word can be (each once), cached per raw token."""
        seen: set[int] = set()
        out = []
        for c in (
            self._orth.get(word),
            self._lemma.get(lemma),
            self._norm.get(key),
            self._num if word.isdigit() else None,
        ):
            for item in c or ():
                if item[2] not in seen:
                    seen.add(item[2])
                    out.append(item)
        return tuple(out)

    def __call__(self, toks: Tokens) -> list[tuple[PatternEntry, int, int]]:
        """(entry, first token, end token) of each pattern matching at each position."""
        out: list[tuple[PatternEntry, int, int]] = []
        words, lemmas, keys = toks.words, toks.lemmas, toks.keys
        n = len(words)
        raws = toks.raws
        cache = self._cands
        # Candidates of every token in one C-level pass over the per-raw-token cache;
        # only tokens not seen before are worked out in Python.
        cands = list(map(cache.get, raws))
        if None in cands:
            for i, c in enumerate(cands):
                if c is None:
                    c = cands[i] = self._candidates(words[i], lemmas[i], keys[i])
                    if len(cache) < 500_000:
                        cache[raws[i]] = c
        # A pattern whose required later tokens do not occur anywhere in the text cannot
        # match; checked once per pattern per text (set look-ups), before any scanning,
        # and each distinct token's candidates are cut to the feasible ones once per text
        # (tokens recur: half the candidate look-ups of an ad are repeats).
        present: set[str] | None = None
        has_num: bool | None = None
        feasible: dict[int, bool] = {}  # by pattern number
        live_by_raw: dict[str, list] = {}
        for i, c in enumerate(cands):
            if not c:
                continue
            live = live_by_raw.get(raws[i])
            if live is None:
                live = []
                for item in c:
                    required = item[3]
                    if required:
                        sid = item[2]
                        ok = feasible.get(sid)
                        if ok is None:
                            if present is None:
                                present = set(words)
                                present.update(lemmas)
                                present.update(keys)
                            ok = True
                            for values, num in required:
                                if values.isdisjoint(present):
                                    if num and has_num is None:
                                        has_num = any(w.isdigit() for w in words)
                                    if not (num and has_num):
                                        ok = False
                                        break
                            feasible[sid] = ok
                        if not ok:
                            continue
                    live.append(item)
                live_by_raw[raws[i]] = live
            if not live:
                continue
            j = i + 1
            if j < n:
                w2, l2, k2 = words[j], lemmas[j], keys[j]
            for entry, slots, _sid, _required, multi, second in live:
                if not multi:
                    out.append((entry, i, j))
                    continue
                if second is not None:
                    # Cheap rejection: a required second token that is not there.
                    if j >= n:
                        continue
                    values, num = second
                    if not (w2 in values or l2 in values or k2 in values or (num and w2.isdigit())):
                        continue
                end = _match(slots, 1, j, words, lemmas, keys, n)
                if end >= 0:
                    out.append((entry, i, end))
        return out


def _match(slots: list[Slot], si: int, ti: int, words: list[str], lemmas: list[str], keys: list[str], n: int) -> int:
    """End token of the shortest match of slots[si:] starting at token ti, or -1."""
    if si == len(slots):
        return ti
    slot = slots[si]
    if slot.gap:
        nxt = slots[si + 1]  # patterns never end with a gap
        if nxt.gap or nxt.optional:
            for k in range(0, slot.gap + 1):
                if ti + k > n:
                    break
                r = _match(slots, si + 1, ti + k, words, lemmas, keys, n)
                if r >= 0:
                    return r
            return -1
        # Scan the gap window for tokens that pass the next slot; recurse only from those.
        stop = min(n, ti + slot.gap + 1)
        test = nxt.test
        for t in range(ti, stop):
            if test(words[t], lemmas[t], keys[t]):
                r = _match(slots, si + 2, t + 1, words, lemmas, keys, n)
                if r >= 0:
                    return r
        return -1
    if ti < n and slot.test(words[ti], lemmas[ti], keys[ti]):
        r = _match(slots, si + 1, ti + 1, words, lemmas, keys, n)
        if r >= 0:
            return r
    if slot.optional:
        return _match(slots, si + 1, ti, words, lemmas, keys, n)
    return -1
