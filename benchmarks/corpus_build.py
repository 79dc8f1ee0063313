"""Time `build_corpus` (load, dedup, split) on the real shared data and print the figures.

Usage: .venv/bin/python benchmarks/corpus_build.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from trafficking_ads.corpus.build import build_corpus

    for i in range(args.repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        corpus = build_corpus(None)  # in memory: the save adds well under a second
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        d = corpus.card["dedup"]
        print(
            f"run {i + 1}: wall {wall:.1f} s, cpu {cpu:.1f} s; {d['input_ads']} ads in, {d['kept_ads']} kept, "
            f"{d['candidate_pairs']} LSH candidate pairs, {d['template_groups']} groups"
        )


if __name__ == "__main__":
    main()
