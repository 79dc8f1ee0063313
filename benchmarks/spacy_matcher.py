"""spaCy's Matcher / PhraseMatcher vs the engine's TokenMatcher, same tokens, same patterns.

    .venv/bin/python benchmarks/spacy_matcher.py [--ads 300] [--chars 1000] [--repeat 3]

Why the engine has its own matcher (`trafficking_ads/indicators/matcher.py`), measured:

1. Every token pattern of the engine (all languages) is compiled to spaCy `Matcher`
   patterns as faithfully as spaCy allows. A pattern slot accepts a token whose form is in
   one set OR whose lemma is in another OR whose stem key is in a third (OR a number);
   spaCy's token specs AND their attributes, so a slot with k kinds of alternatives
   becomes k specs and the pattern is expanded into their product: forms ->
   {"LOWER": v | {"IN": [...]}}, lemmas -> {"LEMMA": ...}, stem keys -> {"NORM": ...},
   <num> -> {"IS_DIGIT": True}, `..N` -> {"OP": "{0,N}"} wildcard, optional -> "?".
   All patterns of one entry share one match key (the entry's key).
2. Docs are built with spaCy's own `Doc(vocab, words=...)` from the engine's tokens
   (the same normalization and tokenization), with LOWER = the engine's form, LEMMA =
   its lemma (pymorphy3 for Russian) and NORM = its stem key, set per token: spaCy sees
   exactly what the engine sees, so only the matching differs.
3. Timed (process CPU time, matching only, after a warm-up pass; best of --repeat):
   (a) spaCy `Matcher` over all compiled patterns, once with value sets as `IN`
   predicates and once with every value its own equality pattern (no `IN`, more
   patterns), (b) the engine's `TokenMatcher`. Agreement: the engine reports, per pattern and start token, the shortest match;
   spaCy reports every (start, end) a pattern can match (gaps and optional tokens give
   several ends). So the fair comparison is the set of (entry, start token) pairs, which
   must be equal; at (entry, start, end) level every engine match must be among spaCy's.
   The script exits 1 if either fails (the timings would then compare different work).
4. A `PhraseMatcher` variant for the patterns that are fixed phrases (no gaps, optional
   tokens or numbers; every slot tests the same attribute), expanded to all their
   phrases, against a `TokenMatcher` over the same subset.
5. Tokenizers: `spacy.blank(lang).tokenizer` (ru, en; kk from the project's blank
   Kazakh) on the raw texts vs the engine's `normalize` + `tokenize`.
6. The whole engine as a spaCy component (`spacy_pipeline.make_pipeline`) vs
   `engine.extract`: what using it inside spaCy costs.

Matching ads come from `benchmarks/indicator_throughput.make_ads` (seeded; ru, kk, en in
turn). One process, one thread; on a shared machine CPU time is the better estimate.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
from spacy.attrs import LEMMA, NORM  # noqa: E402
from spacy.matcher import Matcher, PhraseMatcher  # noqa: E402
from spacy.tokens import Doc  # noqa: E402
from spacy.vocab import Vocab  # noqa: E402

from indicator_throughput import make_ads  # noqa: E402
from trafficking_ads.indicators.engine import default_engine  # noqa: E402
from trafficking_ads.indicators.matcher import TokenMatcher  # noqa: E402
from trafficking_ads.indicators.normalize import normalize  # noqa: E402
from trafficking_ads.indicators.patterns import PatternEntry, Slot  # noqa: E402
from trafficking_ads.indicators.tokens import Tokens, tokenize  # noqa: E402

Spec = dict[str, Any]


def _value(values: frozenset[str]) -> Any:
    """One value as spaCy equality (fast, in Cython), several as an IN set."""
    return next(iter(values)) if len(values) == 1 else {"IN": sorted(values)}


def slot_specs(slot: Slot, expand_sets: bool = False) -> list[Spec]:
    """The spaCy token specs whose union accepts exactly the tokens the slot accepts.

    With `expand_sets`, each allowed value is its own equality spec (no IN predicates)."""
    if slot.gap:
        return [{"OP": f"{{0,{slot.gap}}}"}]
    specs: list[Spec] = []
    for attr, values in (("LOWER", slot.orth), ("LEMMA", slot.lemma), ("NORM", slot.norm)):
        if not values:
            continue
        if expand_sets:
            specs += [{attr: v} for v in sorted(values)]
        else:
            specs.append({attr: _value(values)})
    if slot.num:
        specs.append({"IS_DIGIT": True})
    if not specs:
        raise ValueError(f"slot accepts nothing: {slot}")
    if slot.optional:
        specs = [{**s, "OP": "?"} for s in specs]
    return specs


def compile_pattern(slots: list[Slot], expand_sets: bool = False) -> list[list[Spec]]:
    """All spaCy patterns for one engine token pattern (product over OR-ed attributes).

    An optional slot with k kinds becomes k optional specs in k patterns (each pattern
    skips or takes the token by one kind), which together accept what the slot does."""
    return [list(p) for p in itertools.product(*(slot_specs(s, expand_sets) for s in slots))]


def build_matcher(vocab: Vocab, entries: list[PatternEntry], expand_sets: bool = False) -> tuple[Matcher, int]:
    """A spaCy Matcher with every entry's patterns under the entry's key."""
    matcher = Matcher(vocab, validate=True)
    n = 0
    for e in entries:
        pats = [p for slots in e.token_patterns for p in compile_pattern(slots, expand_sets)]
        if pats:
            matcher.add(e.key, pats)
            n += len(pats)
    return matcher, n


def phrase_kind(slots: list[Slot]) -> str | None:
    """LOWER, LEMMA or NORM if the pattern is a fixed phrase over that one attribute."""
    kinds = set()
    for s in slots:
        if s.gap or s.optional or s.num:
            return None
        ks = [k for k, v in (("LOWER", s.orth), ("LEMMA", s.lemma), ("NORM", s.norm)) if v]
        if len(ks) != 1:
            return None
        kinds.add(ks[0])
    return kinds.pop() if len(kinds) == 1 else None


def build_phrase_matchers(
    vocab: Vocab, entries: list[PatternEntry], cap: int = 256
) -> tuple[dict[str, PhraseMatcher], list[PatternEntry], int, int]:
    """PhraseMatchers (one per attribute) for the fixed-phrase patterns; the subset as entries."""
    by_attr: dict[str, dict[str, list[Doc]]] = defaultdict(lambda: defaultdict(list))
    subset: list[PatternEntry] = []
    n_pat = n_phrases = 0
    for e in entries:
        kept = []
        for slots in e.token_patterns:
            kind = phrase_kind(slots)
            if kind is None:
                continue
            sets = [sorted(s.orth or s.lemma or s.norm) for s in slots]
            phrases = list(itertools.islice(itertools.product(*sets), cap + 1))
            if len(phrases) > cap:
                continue
            kept.append(slots)
            n_pat += 1
            for words in phrases:
                doc = Doc(vocab, words=list(words))
                if kind != "LOWER":  # the phrase's words are the lemmas / stem keys themselves
                    attr = LEMMA if kind == "LEMMA" else NORM
                    doc.from_array([attr], np.array([[vocab.strings.add(w)] for w in words], dtype="uint64"))
                by_attr[kind][e.key].append(doc)
                n_phrases += 1
        if kept:
            subset.append(dataclasses.replace(e, token_patterns=kept, regexes=[]))
    matchers = {}
    for kind, keyed in by_attr.items():
        pm = PhraseMatcher(vocab, attr=kind)
        for key, docs in keyed.items():
            pm.add(key, docs)
        matchers[kind] = pm
    return matchers, subset, n_pat, n_phrases


def to_doc(vocab: Vocab, toks: Tokens) -> Doc:
    """A spaCy Doc of the engine's tokens: words = forms, LEMMA = lemma, NORM = stem key."""
    words = list(toks.words)
    doc = Doc(vocab, words=words)
    if words:
        add = vocab.strings.add
        arr = np.array([[add(l), add(k)] for l, k in zip(toks.lemmas, toks.keys)], dtype="uint64")
        doc.from_array([LEMMA, NORM], arr)
    return doc


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best process-CPU seconds of `repeat` runs, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        c = time.process_time()
        out = fn()
        best = min(best, time.process_time() - c)
    return best, out


def engine_sets(matcher: TokenMatcher, toks: list[Tokens]) -> list[set[tuple[str, int, int]]]:
    return [{(e.key, s, end) for e, s, end in matcher(t)} for t in toks]


def spacy_sets(vocab: Vocab, matcher: Any, docs: list[Doc]) -> list[set[tuple[str, int, int]]]:
    strings = vocab.strings
    return [{(strings[m], s, e) for m, s, e in matcher(d)} for d in docs]


def agreement(a: list[set[tuple]], b: list[set[tuple]]) -> tuple[int, int, int]:
    """(in both, only in a, only in b) summed over ads."""
    both = only_a = only_b = 0
    for x, y in zip(a, b):
        both += len(x & y)
        only_a += len(x - y)
        only_b += len(y - x)
    return both, only_a, only_b


def starts(sets: Iterable[set[tuple[str, int, int]]]) -> list[set[tuple[str, int]]]:
    return [{(k, s) for k, s, _ in x} for x in sets]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ads", type=int, default=300)
    ap.add_argument("--chars", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3, help="timed passes of the fast parts (best is printed)")
    ap.add_argument("--spacy-repeat", type=int, default=1, help="timed passes of spaCy's Matcher")
    args = ap.parse_args(argv)
    import spacy

    from trafficking_ads.indicators.spacy_pipeline import PIPELINE_LANGS  # registers blank kk

    t0 = time.perf_counter()
    engine = default_engine()  # the engine make_pipeline() uses too
    build = time.perf_counter() - t0
    entries = [e for es in engine.entries.values() for e in es]
    texts = make_ads(args.ads, args.chars)
    langs = [("ru", "kk", "en")[i % 3] for i in range(len(texts))]
    n = len(texts)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"engine build {build:.1f} s: {len(entries)} entries, {engine.matcher.size} token patterns")
    print(f"ads: {n} x {args.chars} chars (ru/kk/en in turn); load average {load:.2f} on {os.cpu_count()} CPUs")

    # -- tokenization ------------------------------------------------------------------
    norms = [normalize(t) for t in texts]
    toks = [tokenize(x, engine.stems) for x in norms]  # warm-up: lemma / stem caches
    n_tok = sum(len(t.words) for t in toks)
    blanks = {lang: spacy.blank(lang) for lang in PIPELINE_LANGS}
    for t, lang in zip(texts, langs):
        blanks[lang].tokenizer(t)  # warm-up: lexeme and tokenizer caches
    cpu_sp, sp_docs = timed(lambda: [blanks[lang].tokenizer(t) for t, lang in zip(texts, langs)], args.repeat)
    cpu_norm_tok, _ = timed(lambda: [tokenize(normalize(t), engine.stems) for t in texts], args.repeat)
    cpu_tok, _ = timed(lambda: [tokenize(x, engine.stems) for x in norms], args.repeat)
    n_sp_tok = sum(len(d) for d in sp_docs)
    print("\ntokenization (CPU ads/s, warm caches):")
    print(f"  spaCy blank tokenizer (ru/kk/en)         {n / cpu_sp:9.1f}   ({n_sp_tok / n:.0f} tokens/ad)")
    print(f"  engine normalize + tokenize              {n / cpu_norm_tok:9.1f}   ({n_tok / n:.0f} tokens/ad)")
    print(f"  engine tokenize (text already normalized) {n / cpu_tok:8.1f}")

    # -- Matcher vs TokenMatcher ---------------------------------------------------------
    # A language's vocab: a bare Vocab() has no lexical attribute getters (LOWER, IS_DIGIT
    # would be unset and match nothing, or everything).
    vocab = spacy.blank("xx").vocab
    cpu_docs, docs = timed(lambda: [to_doc(vocab, t) for t in toks], 1)
    print(f"\nDocs built from the engine's tokens: {n / cpu_docs:.0f} ads/s (not counted below)")
    eng_res = engine_sets(engine.matcher, toks)  # warm-up (candidate cache)
    cpu_eng, eng_res = timed(lambda: engine_sets(engine.matcher, toks), args.repeat)
    print(f"matching only (CPU ads/s), all {engine.matcher.size} token patterns:")
    faithful = True
    print(f"  engine TokenMatcher                      {n / cpu_eng:9.1f}")
    for label, expand in (("IN sets", False), ("sets expanded, equality only", True)):
        t0 = time.perf_counter()
        matcher, n_spacy = build_matcher(vocab, entries, expand)
        build_sp = time.perf_counter() - t0
        spacy_sets(vocab, matcher, docs[: max(1, n // 10)])  # warm-up
        cpu_spm, sp_res = timed(lambda: spacy_sets(vocab, matcher, docs), args.spacy_repeat)  # noqa: B023 (called at once)
        print(
            f"  spaCy Matcher, {label + ':':30s}{n / cpu_spm:9.1f}   "
            f"(TokenMatcher is {cpu_spm / cpu_eng:.0f}x faster; {n_spacy} spaCy patterns, built in {build_sp:.1f} s)"
        )
        b, oe, os_ = agreement(starts(eng_res), starts(sp_res))
        b3, oe3, os3 = agreement(eng_res, sp_res)
        faithful = faithful and oe == os_ == oe3 == 0
        print(
            f"    agreement on (entry, start token): both {b}, engine only {oe}, spaCy only {os_}; "
            f"(entry, start, end): {b3} of the engine's {b3 + oe3} found by spaCy, "
            f"spaCy has {os3} more (longer ends through gaps / optional tokens)"
        )

    # -- PhraseMatcher on the fixed phrases -------------------------------------------------
    t0 = time.perf_counter()
    pms, subset, n_pat, n_phr = build_phrase_matchers(vocab, entries)
    build_pm = time.perf_counter() - t0
    sub_matcher = TokenMatcher(subset)

    def run_pms() -> list[set[tuple[str, int, int]]]:
        strings = vocab.strings
        return [{(strings[m], s, e) for pm in pms.values() for m, s, e in pm(d)} for d in docs]

    run_pms()
    engine_sets(sub_matcher, toks)
    cpu_pm, pm_res = timed(run_pms, args.repeat)
    cpu_sub, sub_res = timed(lambda: engine_sets(sub_matcher, toks), args.repeat)
    print(
        f"\nPhraseMatcher ({', '.join(sorted(pms))}): the {n_pat} of {engine.matcher.size} token patterns that are "
        f"fixed phrases, as {n_phr} phrases (built in {build_pm:.1f} s)"
    )
    print(f"  spaCy PhraseMatcher                      {n / cpu_pm:9.1f}")
    print(f"  engine TokenMatcher, same patterns       {n / cpu_sub:9.1f}   ({cpu_pm / cpu_sub:.1f}x PhraseMatcher)")
    b, oe, os_ = agreement(sub_res, pm_res)
    faithful = faithful and oe == os_ == 0
    print(f"  agreement on (entry, start, end): both {b}, engine only {oe}, PhraseMatcher only {os_}")

    # -- the whole engine inside spaCy ----------------------------------------------------
    from trafficking_ads.indicators.spacy_pipeline import make_pipeline
    from trafficking_ads.records import Ad

    nlps = {lang: make_pipeline(lang) for lang in PIPELINE_LANGS}
    run_nlp = lambda: [nlps[lang](t) for t, lang in zip(texts, langs)]  # noqa: E731
    run_eng = lambda: [engine.extract(Ad(text=t)) for t in texts]  # noqa: E731
    run_eng()
    run_nlp()
    cpu_x, _ = timed(run_eng, args.repeat)
    cpu_p, _ = timed(run_nlp, args.repeat)
    print("\nwhole extraction (CPU ads/s):")
    print(f"  engine.extract(Ad(text=...))             {n / cpu_x:9.1f}")
    print(
        f"  make_pipeline(lang)(text)                {n / cpu_p:9.1f}   (spaCy tokenizer + engine + spans, score, lemmas)"
    )
    if not faithful:
        print("\nMISMATCH: spaCy and the engine found different matches; the compilation is not faithful")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
