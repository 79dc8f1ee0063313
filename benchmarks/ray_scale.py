"""Ray scaling: the same ads scored locally, on Ray with 1 actor and with 2 actors, in one run.

The ads are real (the round-robin mix of benchmarks/score_throughput.py: seed set, samples,
DIFrauD, hh.kz, superjob; missing shared files are skipped), written to one JSON Lines
file. Every engine reads that file, scores it with the default model and writes its output:

* `local`     `score_file` in this process, one compute thread (TRAFFICKING_ADS_THREADS=1),
              model loaded and run once over the ads beforehand (load and first use excluded);
* `ray-1`     `score_inputs` on a local Ray (`ray.init(num_cpus=2)`), 1 actor with 1 CPU;
* `ray-2`     the same with 2 actors.

For Ray, two figures: end to end (Ray start-up, actor start and model load included) and
steady (ads / span from the first shard's scoring start to the last shard's end, as the
actors stamp them: what a long run approaches), and ads per CPU-second (CPU time the
scoring process used, all threads): on a machine shared with other jobs, ads/s says how
many cores the others left; ads per CPU-second is what a core does. Ratios are against
`local`. The extrapolation uses the lower of the actors' ads per CPU-second; it assumes reading and writing keep up (shared
filesystem or object store), one physical core per actor, and the driver only collecting
counts. The machine may be shared: the figures say what it gave during this run.

    PYTHONPATH=. .venv/bin/python benchmarks/ray_scale.py [--n 2000] [--shard-size 500]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from machine import cpu_info  # noqa: E402


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all its threads)."""
    import resource

    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def steady_rate(outdir: Path) -> tuple[float, int, int, float]:
    """From the `_done` markers: ads / (last shard end - first shard scoring start), ads, the
    largest actor's peak RSS (MB), and the cores an actor kept busy while scoring (CPU s / s)."""
    marks = [json.loads(p.read_text()) for p in (outdir / "_done").glob("*.json")]
    n = sum(m["scored"] for m in marks)
    span = max(m["finished"] for m in marks) - min(m["started"] for m in marks)
    busy = sum(m["cpu_seconds"] for m in marks) / sum(m["finished"] - m["started"] for m in marks)
    return n / span, n, max(m["peak_rss_mb"] for m in marks), busy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="ads to score (keep it small on a shared machine)")
    ap.add_argument("--shard-size", type=int, default=500, help="ads per shard (each actor takes whole shards)")
    ap.add_argument("--target", type=int, default=10_000_000, help="ads in the extrapolated job")
    ap.add_argument("--cores-per-node", type=int, default=16)
    ap.add_argument(
        "--usd-per-core-hour", type=float, default=0.02, help="price of one vCPU-hour (on-demand x86 is ~0.02-0.05)"
    )
    args = ap.parse_args()

    os.environ["TRAFFICKING_ADS_THREADS"] = "1"  # local: one thread, as one actor
    import score_throughput
    from score_throughput import ad_to_json, benchmark_ads

    from trafficking_ads.batch import score_file
    from trafficking_ads.distributed.run import score_inputs
    from trafficking_ads.distributed.session import connect
    from trafficking_ads.scoring import load_scorer

    print("CPU:", cpu_info())
    print(
        f"note: the machine is shared with other jobs; {os.cpu_count()} CPUs visible, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at start"
    )
    work = Path(tempfile.mkdtemp(prefix="ray_scale_"))
    try:
        shared = os.environ.get("TRAFFICKING_ADS_SHARED_DATA")
        if shared:
            score_throughput.SHARED = Path(shared)
        real = benchmark_ads(args.n)
        ads = [real[i % len(real)] for i in range(args.n)]  # repeated when fewer real ads are at hand
        src = work / "ads.jsonl"
        src.write_text("".join(json.dumps(ad_to_json(a), ensure_ascii=False) + "\n" for a in ads), encoding="utf-8")
        print(f"{len(ads)} real ads ({len(real)} distinct), shards of {args.shard_size}")

        scorer = load_scorer()
        score_file([src], work / "warm.jsonl", scorer=scorer)  # first pass: the runtime's first-use costs
        t, c = time.perf_counter(), cpu_seconds()
        local = score_file([src], work / "local.jsonl", scorer=scorer)
        local_wall, local_cpu = time.perf_counter() - t, cpu_seconds() - c
        local_rate, local_per_cpu = local.scored / local_wall, local.scored / local_cpu
        del scorer
        print(
            f"local       {local_rate:7.1f} ads/s  (1 thread, load and a first warm pass excluded), "
            f"{local_cpu / local_wall:.2f} cores busy, {local_per_cpu:.1f} ads per CPU-second"
        )

        t0 = time.perf_counter()
        connect(num_cpus=2)
        print(f"ray start   {time.perf_counter() - t0:7.1f} s")
        rates, per_cpu = {}, {}
        for actors in (1, 2):
            out = work / f"ray{actors}"
            t = time.perf_counter()
            s = score_inputs([src], out, actors=actors, shard_size=args.shard_size)
            wall = time.perf_counter() - t
            steady, n, rss, busy = steady_rate(out)
            assert n == local.scored == s.scored
            rates[actors] = steady
            per_cpu[actors] = steady / (actors * busy)
            print(
                f"ray-{actors}       {steady:7.1f} ads/s steady ({steady / local_rate:.2f}x local), "
                f"{s.scored / wall:6.1f} ads/s end to end ({wall:.1f} s with actor start and model load), "
                f"actor peak RSS {rss} MB, {busy:.2f} cores busy per actor, {per_cpu[actors]:.1f} ads per CPU-second"
            )
        per_core = min(per_cpu.values())  # ads per CPU-second an actor consumed: holds whatever else ran
        print(
            f"ray-1 overhead vs local: {100 * (1 - rates[1] / local_rate):+.1f}% in ads/s, "
            f"{100 * (1 - per_cpu[1] / local_per_cpu):+.1f}% in ads per CPU-second"
        )
        print(
            f"ray-2 / ray-1: {rates[2] / rates[1]:.2f}x in ads/s; per CPU-second {per_cpu[2] / per_cpu[1]:.2f}x "
            "(on a shared machine the first says how many cores the other jobs left us)"
        )
        print(
            f"\nextrapolation to {args.target:,} ads, {args.cores_per_node} cores/node, one 1-CPU actor per core,"
            f" {per_core:.1f} ads/s per core (the lower of the actors' ads per CPU-second):"
        )
        for nodes in (1, 4, 16, 64):
            rate = nodes * args.cores_per_node * per_core
            hours = args.target / rate / 3600
            cost = hours * nodes * args.cores_per_node * args.usd_per_core_hour
            print(
                f"  {nodes:3d} node(s): {rate:8.0f} ads/s  {hours:6.2f} h  ~${cost:,.0f} at ${args.usd_per_core_hour}/core-hour"
            )
        print(
            "assumes: each actor gets a whole core (no other load), actors and nodes add linearly (they share"
            " nothing), input/output I/O keeps up, the model loads once per actor (not counted)"
        )
        import ray

        ray.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
