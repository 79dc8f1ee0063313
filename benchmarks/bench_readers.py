"""Reading speed and memory of the batch readers on large generated inputs.

Writes a JSON Lines file, a JSON array and a CSV of about --mb megabytes each (Russian
and English ads of realistic length) to a temporary directory, reads each with
`iter_records`, and prints ads/s, MB/s and the peak Python heap while reading
(tracemalloc, on a second read), which stays flat as the file grows if reading streams.

    .venv/bin/python benchmarks/bench_readers.py --mb 100
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
import tracemalloc
from pathlib import Path

from trafficking_ads.readers import BadRecord, iter_records

ADS = [
    "Срочно требуются девушки 18-25 лет на работу хостес в Дубае. Перелёт и проживание за счёт работодателя. "
    "Опыт не нужен, зарплата от 3000$ в месяц. Пишите только в WhatsApp. " * 3,
    "Stylect is a dynamic startup that helps women discover and buy shoes. We are a small team based in London. "
    "Requirements: 3+ years of Python, SQL, experience with message queues. Salary and benefits are competitive. " * 4,
]


def generate(directory: Path, mb: int) -> dict[str, Path]:
    target = mb * 1024 * 1024
    paths = {"jsonl": directory / "ads.jsonl", "json": directory / "ads.json", "csv": directory / "ads.csv"}
    with (
        open(paths["jsonl"], "w", encoding="utf-8") as jl,
        open(paths["json"], "w", encoding="utf-8") as ja,
        open(paths["csv"], "w", encoding="utf-8", newline="") as cf,
    ):
        w = csv.writer(cf)
        w.writerow(["id", "title", "text"])
        ja.write("[")
        i = size = 0
        while size < target:
            rec = {"id": f"ad-{i}", "title": f"Вакансия {i}", "text": f"{i}: " + ADS[i % 2]}
            line = json.dumps(rec, ensure_ascii=False)
            jl.write(line + "\n")
            ja.write(("," if i else "") + "\n" + line)
            w.writerow([rec["id"], rec["title"], rec["text"]])
            size += len(line.encode()) + 1
            i += 1
        ja.write("\n]")
    return paths


def _read_all(path: Path) -> tuple[int, int]:
    n = bad = 0
    for rec in iter_records(path):
        if isinstance(rec, BadRecord):
            bad += 1
        else:
            n += 1
    return n, bad


def measure(path: Path) -> dict[str, float]:
    """Time one read (no tracing), then read again under tracemalloc for the peak heap."""
    t0 = time.perf_counter()
    n, bad = _read_all(path)
    dt = time.perf_counter() - t0
    tracemalloc.start()
    _read_all(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    mb = path.stat().st_size / 2**20
    return {
        "mb": mb,
        "ads": n,
        "bad": bad,
        "seconds": dt,
        "ads_per_s": n / dt,
        "mb_per_s": mb / dt,
        "peak_heap_mb": peak / 2**20,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=100, help="size of each generated input, in MB")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = generate(Path(tmp), args.mb)
        print(f"{'format':<6} {'MB':>7} {'ads':>9} {'s':>7} {'ads/s':>9} {'MB/s':>6} {'peak heap MB':>13}")
        for fmt, path in paths.items():
            r = measure(path)
            print(
                f"{fmt:<6} {r['mb']:7.1f} {r['ads']:9d} {r['seconds']:7.2f} {r['ads_per_s']:9.0f} {r['mb_per_s']:6.1f} {r['peak_heap_mb']:13.2f}"
            )


if __name__ == "__main__":
    main()
