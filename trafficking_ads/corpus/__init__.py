"""The training corpus: loaders for public job-ad formats and the seed set, deduplication,
group-aware splits, and `build_corpus` (the `trafficking-ads data build` command).

    from trafficking_ads.corpus import build_corpus, load_corpus
    corpus = build_corpus("out/corpus")          # DatasetDict + card, saved
    ds = load_corpus("out/corpus")["train"]
"""

from .build import DEFAULT_CORPUS_DIR, Corpus, build_corpus, load_corpus, row_to_ad

__all__ = ["DEFAULT_CORPUS_DIR", "Corpus", "build_corpus", "load_corpus", "row_to_ad"]
