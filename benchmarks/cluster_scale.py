"""Clustering at scale: time and peak memory for N generated ads (default 100,000).

Prints figures for a 10% reference run and the full run in the same process, and the ratio
of per-ad time (1.0x means linear scaling). Target (issue 9): 100,000 ads in <= 5 minutes
and <= 2 GB on a 2-core machine.

    python benchmarks/cluster_scale.py [--n 100000]
"""

from __future__ import annotations

import argparse
import resource
import time

from trafficking_ads.networks import NetworkIndex
from trafficking_ads.networks.synthetic import generate


def run(n: int) -> tuple[float, int, int]:
    networks = max(1, n // 200)
    corpus = generate(n_networks=networks, n_fillers=max(0, n - networks * 8), seed=1)
    ads = corpus.ads[:n]
    start = time.perf_counter()
    index = NetworkIndex()
    index.add((ad, None) for ad in ads)
    clusters = index.clusters()
    return time.perf_counter() - start, len(ads), len(clusters)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    ref_s, ref_n, _ = run(max(1000, args.n // 10))
    full_s, full_n, n_clusters = run(args.n)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"reference: {ref_n} ads clustered in {ref_s:.1f} s ({ref_n / ref_s:.0f} ads/s)")
    print(f"full:      {full_n} ads clustered in {full_s:.1f} s ({full_n / full_s:.0f} ads/s), {n_clusters} clusters")
    print(f"peak memory (RSS, whole process incl. generated corpus): {peak_mb:.0f} MB")
    print(f"per-ad time full/reference: {(full_s / full_n) / (ref_s / ref_n):.1f}x")
    print(
        f"targets: time {'OK' if full_s <= 300 else 'MISSED'} (<= 300 s), memory {'OK' if peak_mb <= 2048 else 'MISSED'} (<= 2048 MB)"
    )


if __name__ == "__main__":
    main()
