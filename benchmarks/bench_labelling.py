"""Time the labelling loop's CPU steps on real ads: scoring is not timed, selection/export/import are.

Reads DIFrauD job_scams validation (real EMSCAD ads, ../shared/data), scores them once with
the default model, then for each selection strategy times `select` + `export_tasks`, and
times `read_export` + `merge` on a Label Studio export built from the tasks (the true labels
as verdicts, the predicted spans kept). Prints one line per figure.

    .venv/bin/python benchmarks/bench_labelling.py [--n-ads 1301] [--n 100]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIFRAUD = ROOT.parent / "shared" / "data" / "difraud" / "job_scams" / "validation.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-ads", type=int, default=1301)
    ap.add_argument("--n", type=int, default=100, help="ads selected per strategy")
    args = ap.parse_args()

    from trafficking_ads.labelling.labels import merge
    from trafficking_ads.labelling.labelstudio import export_tasks, read_export
    from trafficking_ads.labelling.select import STRATEGIES, read_scored_file, select
    from trafficking_ads.records import Ad, scored_record
    from trafficking_ads.scoring import load_scorer

    rows = [json.loads(l) for l in DIFRAUD.read_text(encoding="utf-8").splitlines() if l.strip()][: args.n_ads]
    ads = [Ad(text=r["text"], label=r["label"], source="difraud") for r in rows]
    truth = {a.id: a.label for a in ads}
    scorer = load_scorer()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        scored = tmp / "scored.jsonl"
        t0 = time.perf_counter()
        with scored.open("w", encoding="utf-8") as fh:
            for ad, a in zip(ads, scorer.score_many(ads)):
                fh.write(json.dumps(scored_record(ad, a), ensure_ascii=False) + "\n")
        print(
            f"scored {len(ads)} ads with {scorer.info.name}@{scorer.info.version} in {time.perf_counter() - t0:.1f}s (not part of the loop timings)"
        )
        cands = read_scored_file(scored)
        for strategy in STRATEGIES:
            t0 = time.perf_counter()
            sel = select(cands, strategy, args.n)
            t1 = time.perf_counter()
            out, _ = export_tasks(sel.chosen, tmp / f"{strategy}.json", sel.threshold)
            t2 = time.perf_counter()
            pos = sum(truth[c.ad_id] for c in sel.chosen)
            print(
                f"select {strategy:9s}: {len(sel.chosen)} of {len(cands)} in {t1 - t0:.2f}s, export {t2 - t1:.2f}s; "
                f"{pos} deceptive among them; skipped near-copies {len(sel.skipped_near_chosen)}"
            )
        tasks = json.loads((tmp / "diverse.json").read_text(encoding="utf-8"))
        exported = [
            {
                **t,
                "annotations": [
                    {
                        "id": k,
                        "completed_by": 1,
                        "created_at": "2026-11-28T20:00:00Z",
                        "updated_at": "2026-11-28T20:00:00Z",
                        "result": [x for x in t["predictions"][0]["result"] if x["from_name"] != "verdict"]
                        + [
                            {
                                "from_name": "verdict",
                                "to_name": "text",
                                "type": "choices",
                                "value": {"choices": ["deceptive" if truth[t["data"]["ad_id"]] else "legitimate"]},
                            }
                        ],
                    }
                ],
            }
            for k, t in enumerate(tasks)
        ]
        (tmp / "export.json").write_text(json.dumps(exported, ensure_ascii=False), encoding="utf-8")
        t0 = time.perf_counter()
        res = merge([], read_export(tmp / "export.json"))
        print(f"import + merge of {len(exported)} annotated tasks: {time.perf_counter() - t0:.2f}s ({res.stats})")


if __name__ == "__main__":
    main()
