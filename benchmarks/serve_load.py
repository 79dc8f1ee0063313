"""Load on `trafficking-ads serve` over loopback: latency and throughput against `score_many`.

Starts the real service (uvicorn on 127.0.0.1, a free port, the given model), then sends a
bounded load of single-ad requests from 1, 8 and 64 concurrent clients (each client posts
one ad, waits for the answer, posts the next), and stops by itself. Per run it prints
p50/p95/p99 latency, throughput, the mean model batch the service formed (from /metrics),
the service's RSS after the run, CPU time per ad, and throughput as a ratio to
`Scorer.score_many` on the same ads in this process. Each run alternates slices of
`score_many` and of service load, so a change in a shared machine's load hits both alike. The ads are real (seed set, samples, DIFrauD,
hh.kz and superjob vacancies, round-robin: a mix of languages and lengths). The 8- and
64-client runs are repeated for --rounds rounds so the service's memory can be seen across runs.

    .venv/bin/python benchmarks/serve_load.py [--n 1000] [--n-single 300] [--clients 1,8,64] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import score_throughput  # noqa: E402  (real ads, shared with the throughput benchmark)
from machine import cpu_info  # noqa: E402
from score_throughput import ad_to_json, benchmark_ads  # noqa: E402

if os.environ.get("TRAFFICKING_ADS_SHARED_DATA"):  # the shared data beside another checkout
    score_throughput.SHARED = Path(os.environ["TRAFFICKING_ADS_SHARED_DATA"])


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB."""
    d = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            d[k] = int(v.split()[0]) / 1024
    return d.get("VmRSS", 0.0), d.get("VmHWM", 0.0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric(text: str, name: str) -> float:
    return sum(float(line.rpartition(" ")[2]) for line in text.splitlines() if line.split("{")[0].split(" ")[0] == name)


def start_server(args, log_path: Path) -> tuple[subprocess.Popen, str]:
    cmd = [
        sys.executable,
        "-m",
        "trafficking_ads",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--max-batch",
        str(args.max_batch),
        "--max-wait-ms",
        str(args.max_wait_ms),
        "--max-queue",
        str(args.max_queue),
        *getattr(args, "extra", []),
    ]
    if args.model:
        cmd += ["--model", args.model]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    end = time.monotonic() + 600
    url = None
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"serve exited with {proc.returncode}:\n{log_path.read_text()}")
        m = url or re.search(r"listening on (http://127\.0\.0\.1:\d+)", log_path.read_text(errors="replace"))
        if m and not url:
            url = m.group(1)
        if url:
            try:
                if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                    return proc, url
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("serve did not become ready in 600 s")


async def _post(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, body: bytes) -> int:
    """One HTTP/1.1 POST /v1/score on a kept-alive connection; returns the status."""
    writer.write(
        b"POST /v1/score HTTP/1.1\r\nHost: " + host.encode() + b"\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def load(url: str, bodies: list[bytes], clients: int) -> tuple[list[float], int, float]:
    """(latencies in s of 200s, non-200 count, wall seconds): `clients` loops, each on its own
    kept-alive connection, posting one ad and waiting for the answer before the next.

    The client speaks HTTP/1.1 over asyncio streams rather than through httpx: on a 2-core
    machine an httpx client spends ~5 ms of CPU per request, which both takes CPU from the
    service and spreads the 64 clients' next requests over hundreds of milliseconds."""
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors = 0
    next_i = 0

    async def one_client() -> None:
        nonlocal next_i, errors
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while next_i < len(bodies):
                body = bodies[next_i]
                next_i += 1
                t0 = time.perf_counter()
                status = await _post(reader, writer, host, body)
                dt = time.perf_counter() - t0
                if status == 200:
                    latencies.append(dt)
                else:
                    errors += 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    return latencies, errors, time.perf_counter() - t0


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s)) - 1))] if s else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="Model directory or name (default: models/default).")
    ap.add_argument("--n", type=int, default=1000, help="Ads per run with 8 and 64 clients.")
    ap.add_argument("--n-single", type=int, default=300, help="Ads in the 1-client run.")
    ap.add_argument(
        "--slices", type=int, default=4, help="Each run alternates this many slices of service load and score_many."
    )
    ap.add_argument("--clients", default="1,8,64", help="Concurrent clients per run, comma-separated.")
    ap.add_argument("--rounds", type=int, default=2, help="Rounds of the multi-client runs (memory across runs).")
    ap.add_argument("--max-batch", type=int, default=64)
    ap.add_argument("--max-wait-ms", type=float, default=25.0)
    ap.add_argument("--max-queue", type=int, default=1024)
    ap.add_argument("--json", type=Path, default=None, help="Also write the figures here.")
    args = ap.parse_args(argv)
    clients = [int(c) for c in args.clients.split(",") if c.strip()]

    import trafficking_ads as ta

    print(f"CPU: {cpu_info()}")
    print(
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (the machine may be shared: figures move with other work)"
    )
    ads = benchmark_ads(max(args.n, args.n_single))
    bodies = [json.dumps(ad_to_json(a), ensure_ascii=False).encode("utf-8") for a in ads]
    print(f"ads: {len(ads)} real ads, median {statistics.median(len(a.text) for a in ads):.0f} characters")
    scorer = ta.load_scorer(args.model)  # the reference, in this process
    list(scorer.score_many(ads[:16]))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        proc, url = start_server(args, Path(tmp) / "serve.log")
        print(
            f"serve ready in {time.perf_counter() - t0:.1f} s at {url} (max-batch {args.max_batch}, max-wait-ms {args.max_wait_ms}); "
            f"RSS {rss_mb(proc.pid)[0]:.0f} MB"
        )
        runs = []
        try:
            asyncio.run(load(url, bodies[:16], 4))  # warm the connection path
            plan = [c for c in clients if c == 1] + [c for _ in range(args.rounds) for c in clients if c != 1]
            for c in plan:
                n = min(len(ads), args.n_single if c == 1 else args.n)
                edges = [round(k * n / args.slices) for k in range(args.slices + 1)]
                lat: list[float] = []
                errors = 0
                wall = ref_s = ref_cpu = cpu = mine = 0.0
                before = httpx.get(url + "/metrics").text
                for a, b in zip(edges, edges[1:]):  # alternate, so a change in the machine's load hits both alike
                    t, c0 = time.perf_counter(), cpu_seconds(os.getpid())
                    list(scorer.score_many(ads[a:b]))
                    ref_s += time.perf_counter() - t
                    ref_cpu += cpu_seconds(os.getpid()) - c0
                    s0, m0 = cpu_seconds(proc.pid), cpu_seconds(os.getpid())
                    part, e, w = asyncio.run(load(url, bodies[a:b], c))
                    cpu += cpu_seconds(proc.pid) - s0
                    mine += cpu_seconds(os.getpid()) - m0
                    lat += part
                    errors += e
                    wall += w
                after = httpx.get(url + "/metrics").text
                batches = metric(after, "trafficking_ads_batch_size_ads_count") - metric(
                    before, "trafficking_ads_batch_size_ads_count"
                )
                batched = metric(after, "trafficking_ads_batch_size_ads_sum") - metric(
                    before, "trafficking_ads_batch_size_ads_sum"
                )
                rss, hwm = rss_mb(proc.pid)
                r = {
                    "clients": c,
                    "ads": n,
                    "errors": errors,
                    "seconds": round(wall, 2),
                    "ads_per_s": round(len(lat) / wall, 1),
                    "score_many_ads_per_s": round(n / ref_s, 1),
                    "ratio": round((len(lat) / wall) / (n / ref_s), 2),
                    "p50_ms": round(pct(lat, 50) * 1000, 1),
                    "p95_ms": round(pct(lat, 95) * 1000, 1),
                    "p99_ms": round(pct(lat, 99) * 1000, 1),
                    "mean_batch": round(batched / batches, 1) if batches else None,
                    "rss_mb": round(rss),
                    "peak_rss_mb": round(hwm),
                    "service_cpu_ms_per_ad": round(1000 * cpu / n, 1),
                    "score_many_cpu_ms_per_ad": round(1000 * ref_cpu / n, 1),
                    "client_cpu_ms_per_ad": round(1000 * mine / n, 1),
                    "load_average": round(os.getloadavg()[0], 2),
                }
                runs.append(r)
                print(
                    f"  {c:>3} clients: {n} ads, {r['ads_per_s']} ads/s vs score_many {r['score_many_ads_per_s']} ads/s ({r['ratio']}x); "
                    f"p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms; mean batch {r['mean_batch']}; errors {errors}; "
                    f"CPU ms/ad: service {r['service_cpu_ms_per_ad']}, score_many {r['score_many_cpu_ms_per_ad']}, "
                    f"load client {r['client_cpu_ms_per_ad']}; service RSS {r['rss_mb']} MB; load average {r['load_average']}",
                    flush=True,
                )
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(120)
    print(f"serve exited {code}; load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        "\n| clients | ads | ads/s | score_many ads/s | ratio | p50 ms | p95 ms | p99 ms | mean batch | CPU ms/ad (service / score_many) | service RSS MB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        print(
            f"| {r['clients']} | {r['ads']} | {r['ads_per_s']} | {r['score_many_ads_per_s']} | {r['ratio']}x | {r['p50_ms']} | "
            f"{r['p95_ms']} | {r['p99_ms']} | {r['mean_batch']} | {r['service_cpu_ms_per_ad']} / {r['score_many_cpu_ms_per_ad']} | {r['rss_mb']} |"
        )
    multi = [r["rss_mb"] for r in runs if r["clients"] != 1]
    if len(multi) > 1:
        print(
            f"service RSS across the multi-client runs: {' -> '.join(map(str, multi))} MB (first to last {multi[-1] - multi[0]:+d} MB)"
        )
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu_info(), "runs": runs}, indent=2))
    return 0 if code == 0 and not any(r["errors"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
