"""Memory of a long scoring stream: `score_many` over lazily generated ads, RSS over time.

Ads are generated lazily (real texts from the benchmark set, cycled, each a fresh `Ad`
with its own id), scored by `score_many`, and each assessment is serialized as JSON
(to /dev/null), so nothing is kept. A sampler thread reads the process RSS
every 0.25 s. The run stops at --n ads or after --seconds, whichever comes first, and says
which: the count printed is the number of ads actually scored, never an extrapolation.

    .venv/bin/python benchmarks/stream_memory.py --model models/default [--n 200000] [--seconds 300] [--runtime openvino] [--precision int8]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from machine import cpu_info  # noqa: E402

LIMIT_MB = 1500.0


def status_mb(field: str) -> float:
    """A /proc/self/status memory field (VmRSS, VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


class RssSampler(threading.Thread):
    """Samples RSS in the background; keeps the maximum seen."""

    def __init__(self, every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.max_mb = 0.0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.max_mb = max(self.max_mb, status_mb("VmRSS"))
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()


def ad_stream(base: list, n: int):
    """`n` ads, made one at a time from the base texts (a fresh object and id each)."""
    from trafficking_ads.records import Ad

    for i in range(n):
        a = base[i % len(base)]
        yield Ad(
            text=a.text,
            id=f"stream-{i}",
            title=a.title,
            company_name=a.company_name,
            company_profile=a.company_profile,
            location=a.location,
            salary=a.salary,
            source=a.source,
            language=a.language,
            meta=dict(a.meta) if a.meta else a.meta,
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "default"))
    ap.add_argument("--n", type=int, default=200_000, help="ads to score (default 200,000)")
    ap.add_argument("--seconds", type=float, default=300.0, help="stop after this long even if --n is not reached")
    ap.add_argument("--precision", default=None, help="fp32, int8, bf16 (default: model.json's)")
    ap.add_argument("--runtime", default=None, help="openvino or torch (default: model.json's)")
    ap.add_argument("--every", type=float, default=20.0, help="seconds between checkpoint lines")
    args = ap.parse_args(argv)

    from score_throughput import benchmark_ads

    from trafficking_ads.scoring import load_scorer

    sampler = RssSampler()
    sampler.start()
    base = benchmark_ads(2000)
    t0 = time.perf_counter()
    opts = {k: v for k, v in (("precision", args.precision), ("runtime", args.runtime)) if v}
    scorer = load_scorer(args.model, **opts)
    load_s = time.perf_counter() - t0
    precision = scorer.info.precision or "n/a"
    print(f"CPU: {cpu_info()}", flush=True)
    print(
        f"model {args.model} ({scorer.info.name} {scorer.info.version}), precision {precision}; loaded in {load_s:.1f} s; "
        f"RSS {status_mb('VmRSS'):.0f} MB; {len(base)} base texts cycled; load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    print(f"{'ads':>8} {'seconds':>8} {'ads/s':>7} {'RSS MB':>7} {'peak MB':>8}", flush=True)
    checkpoints: list[tuple[int, float]] = []
    n = 0
    t1 = last = time.perf_counter()
    reason = f"reached --n {args.n}"
    with open(os.devnull, "w", encoding="utf-8") as sink:
        it = scorer.score_many(ad_stream(base, args.n))
        for n, assessment in enumerate(it, 1):
            sink.write(json.dumps(assessment.to_dict(), ensure_ascii=False) + "\n")
            now = time.perf_counter()
            if now - last >= args.every:
                last = now
                rss = status_mb("VmRSS")
                checkpoints.append((n, rss))
                print(
                    f"{n:8d} {now - t1:8.1f} {n / (now - t1):7.2f} {rss:7.0f} {max(sampler.max_mb, rss):8.0f}",
                    flush=True,
                )
            if now - t1 >= args.seconds:
                reason = f"stopped at the --seconds {args.seconds:.0f} limit"
                it.close()
                break
    secs = time.perf_counter() - t1
    sampler.stop()
    peak = max(sampler.max_mb, status_mb("VmHWM"))
    rss = status_mb("VmRSS")
    print(f"scored {n} ads of {args.n} requested ({reason}) in {secs:.0f} s: {n / secs:.2f} ads/s")
    if len(checkpoints) >= 2:
        (n0, r0), (n1, r1) = checkpoints[0], checkpoints[-1]
        print(
            f"RSS after warm-up (at {n0} ads) {r0:.0f} MB, at {n1} ads {r1:.0f} MB: {r1 - r0:+.0f} MB over {n1 - n0} ads"
        )
    print(
        f"peak RSS {peak:.0f} MB (limit {LIMIT_MB:.0f} MB: {'under' if peak < LIMIT_MB else 'OVER'}); final RSS {rss:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
