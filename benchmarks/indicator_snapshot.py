"""Regression snapshot of the indicator engine: every hit, span and score over many ads.

Speed work on the engine must not change a single result. This script runs
`IndicatorEngine().analyze(ad)` over a large, varied set of ads and writes a canonical JSON
(per ad: language, each hit id with its evidence field/start/end/text, the indicator score
and the feature vector) so two versions of the engine can be compared exactly:

    .venv/bin/python benchmarks/indicator_snapshot.py --out /tmp/ind_before.json
    # ... change the engine ...
    .venv/bin/python benchmarks/indicator_snapshot.py --out /tmp/ind_after.json --compare /tmp/ind_before.json

The ads: data/indicators/dev.jsonl, data/seed/*.jsonl, data/samples/ads.jsonl,
data/hard/hard.jsonl, the benchmark's 2,000 generated ads
(benchmarks/indicator_throughput.make_ads) and real ads from the shared data
($TRAFFICKING_ADS_SHARED_DATA, else ../shared/data: DIFrauD validation, hh.kz and superjob
vacancies, EMSCAD raw rows; `--real N` per source), where present. `--compare` prints, per set, how many ads differ,
and the first differences; the exit status is 1 when any ad differs.

The saved reference, `benchmarks/results/indicator_snapshot.json`, holds only the sets the
project wrote itself (dev, seed, samples, hard: no text from the shared data is committed):

    .venv/bin/python benchmarks/indicator_snapshot.py --sets dev,seed,samples,hard \
        --out /tmp/ind.json --compare benchmarks/results/indicator_snapshot.json

After a change that is meant to alter results, review the differences, then re-save it
with `--out benchmarks/results/indicator_snapshot.json`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def load_sets(real_per_source: int) -> dict[str, list]:
    """Named lists of Ads: the project's labelled and sample sets, generated and real ads."""
    import score_throughput
    from indicator_throughput import make_ads
    from trafficking_ads.corpus.hard import default_hard_path, load_hard
    from trafficking_ads.corpus.loaders import default_shared_data, load_emscad_raw
    from trafficking_ads.problems import Problems
    from trafficking_ads.records import Ad

    sets: dict[str, list] = {}
    dev = ROOT / "data" / "indicators" / "dev.jsonl"
    if dev.is_file():
        rows = [json.loads(line) for line in dev.read_text(encoding="utf-8").splitlines() if line.strip()]
        sets["dev"] = [
            Ad(text=r["text"], title=r.get("title"), id=r.get("id", ""), language=r.get("lang")) for r in rows
        ]
    # score_throughput reads its module-level SHARED; point it at the same shared data.
    shared = default_shared_data()
    score_throughput.SHARED = shared
    for name, ads in score_throughput.load_sources(shared).items():
        sets[name] = ads if name in ("seed", "samples") else ads[:real_per_source]
    if default_hard_path().is_file():
        sets["hard"] = load_hard()
    emscad = shared / "emscad"
    problems = Problems()
    rows: list = []
    for f in ("jae1654_fraudulent.csv", "r_dube_fj_small.csv", "ishita1604_first_499.csv"):
        if (emscad / f).is_file():
            rows += load_emscad_raw(emscad / f, problems=problems)
    if rows:
        sets["emscad"] = rows[:real_per_source]
    sets["bench"] = [Ad(text=t) for t in make_ads(2000, 1000)]
    return sets


def snapshot(engine, ads: list) -> list[dict]:
    """One canonical record per ad (hits in engine order, evidence in engine order)."""
    out = []
    for i, ad in enumerate(ads):
        a = engine.analyze(ad)
        out.append(
            {
                "n": i,
                "id": ad.id,
                "lang": a.lang,
                "hits": [[h.id, [[e.field, e.start, e.end, e.text] for e in h.evidence]] for h in a.hits],
                "score": engine.weights.score(a.hits),
                "features": engine.features(a.hits),
            }
        )
    return out


def compare(new: dict[str, list[dict]], old: dict[str, list[dict]], show: int) -> int:
    """Print per-set counts of differing ads (and the first few diffs); return the total."""
    total = 0
    for name in sorted(set(new) | set(old)):
        a, b = new.get(name, []), old.get(name, [])
        if len(a) != len(b):
            print(f"{name}: {len(b)} ads before, {len(a)} now")
        diff = [(x, y) for x, y in zip(a, b) if x != y]
        total += len(diff) + abs(len(a) - len(b))
        print(f"{name:9s} {len(a):5d} ads, {len(diff):4d} differ")
        for x, y in diff[:show]:
            before = {h[0]: h[1] for h in y["hits"]}
            after = {h[0]: h[1] for h in x["hits"]}
            for k in sorted(set(before) | set(after)):
                if before.get(k) != after.get(k):
                    print(f"    #{x['n']} {x['id']} {k}: before {before.get(k)} -> after {after.get(k)}")
            if x["lang"] != y["lang"]:
                print(f"    #{x['n']} lang {y['lang']} -> {x['lang']}")
            if x["score"] != y["score"] and before == after:
                print(f"    #{x['n']} score {y['score']} -> {x['score']}")
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="where to write the snapshot JSON")
    ap.add_argument("--compare", type=Path, help="an earlier snapshot to compare with")
    ap.add_argument("--real", type=int, default=700, help="ads taken from each real source (default 700)")
    ap.add_argument("--show", type=int, default=5, help="differences printed per set")
    ap.add_argument("--sets", help="comma-separated set names to run (default: all that are present)")
    args = ap.parse_args(argv)
    from trafficking_ads.atomic import write_json
    from trafficking_ads.indicators.engine import IndicatorEngine

    sets = load_sets(args.real)
    if args.sets:
        wanted = [x.strip() for x in args.sets.split(",") if x.strip()]
        unknown = [x for x in wanted if x not in sets]
        if unknown:
            ap.error(f"unknown or absent set(s) {unknown}; present: {sorted(sets)}")
        sets = {k: sets[k] for k in wanted}
    engine = IndicatorEngine()
    t0 = time.process_time()
    snap = {name: snapshot(engine, ads) for name, ads in sets.items()}
    cpu = time.process_time() - t0
    write_json(args.out, snap, indent=None)
    n = sum(len(v) for v in snap.values())
    print(
        f"{n} ads in {len(snap)} sets ({', '.join(f'{k} {len(v)}' for k, v in snap.items())}); "
        f"{cpu:.1f} s CPU; written to {args.out}"
    )
    if args.compare:
        old = json.loads(args.compare.read_text(encoding="utf-8"))
        differ = compare(snap, old, args.show)
        print("IDENTICAL" if differ == 0 else f"{differ} ads differ")
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
