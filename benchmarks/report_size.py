"""Size and load time of the HTML report for 50,000 ads (headless Chromium).

Real ad texts come from ../shared/data (DIFrauD job scams in English, superjob.ru and
hh.kz vacancies in Russian), scored with the real scorer (`load_scorer(--model)`); the
scored ads are repeated with distinct ids up to --n, with template clusters assigned so
the networks section is filled. If no scorer loads, the script says so and stops
(or, with --allow-unscored, uses placeholder assessments and labels every figure so).

    .venv/bin/python benchmarks/report_size.py            # 50,000 ads
    .venv/bin/python benchmarks/report_size.py --n 5000 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
SOURCES = [
    ("difraud", DATA / "difraud" / "job_scams" / "validation.jsonl"),
    ("superjob.ru", DATA / "ru_vacancies" / "superjob_ru_vacancies.csv"),
    ("hh.kz", DATA / "ru_vacancies" / "hh_astana_vacancies.csv"),
]


def csv_ads(path: Path, name: str):
    """Fallback when the project's readers do not map a CSV layout: join its text columns."""
    import csv

    from trafficking_ads.records import Ad

    cols = ("name", "duties", "requirements", "conditions", "snippet", "salary", "schedule")
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            Ad(
                text="\n".join(row[c] for c in cols if row.get(c)),
                title=row.get("name"),
                url=row.get("url") or row.get("alternate_url"),
                source=name,
            )
            for row in csv.DictReader(fh)
        ]


def real_ads(limit: int):
    """Up to `limit` real ads, read with the project's own readers, round-robin over sources."""
    from trafficking_ads import read_ads

    per = []
    for name, path in SOURCES:
        ads = []
        for ad in read_ads(path, on_error="skip"):
            ad.source = ad.source or name
            ads.append(ad)
        if not ads and path.suffix == ".csv":
            ads = csv_ads(path, name)
        print(f"  {path.relative_to(DATA)}: {len(ads)} ads", file=sys.stderr)
        per.append(ads)
    out = []
    while len(out) < limit and any(per):
        for ads in per:
            if ads and len(out) < limit:
                out.append(ads.pop(0))
    return out


def score(ads, model, allow_unscored):
    from trafficking_ads import load_scorer
    from trafficking_ads.records import Assessment, Evidence, IndicatorHit, ModelInfo

    try:
        scorer = load_scorer(model)
        t = time.perf_counter()
        out = list(scorer.score_many(ads))
        print(
            f"  scored {len(ads)} ads with {scorer.info.name} {scorer.info.version} in {time.perf_counter() - t:.1f} s",
            file=sys.stderr,
        )
        return out, f"{scorer.info.name} {scorer.info.version}"
    except Exception as exc:  # report why and stop unless placeholders are allowed
        if not allow_unscored:
            sys.exit(
                f"no scorer: {type(exc).__name__}: {exc}\n(re-run with --allow-unscored for placeholder assessments)"
            )
        print(f"  WARNING: no scorer ({exc}); PLACEHOLDER assessments", file=sys.stderr)
    out = []
    for ad in ads:  # placeholder: a risk from the id's hash, one evidence span per ~300 chars
        risk = int(ad.id[-6:], 16) / 0xFFFFFF
        hits = [
            IndicatorHit("placeholder", "placeholder", 0.5, [Evidence(s, s + 10, ad.text[s : s + 10])])
            for s in range(0, max(0, len(ad.text) - 10), 300)
        ]
        out.append(
            Assessment(
                ad.id,
                risk,
                "high" if risk > 0.7 else "medium" if risk > 0.35 else "low",
                hits,
                None,
                ModelInfo("placeholder", "0"),
                {"placeholder": risk},
            )
        )
    return out, "PLACEHOLDER (no scorer)"


def write_scored(ads, assessments, n, path):
    from trafficking_ads.records import scored_record

    with path.open("w", encoding="utf-8") as fh:
        for k in range(n):
            ad, a = ads[k % len(ads)], assessments[k % len(ads)]
            rec = scored_record(ad, a)
            rec["ad_id"] = f"{a.ad_id}-{k}"
            # the shape `score --cluster` writes (trafficking_ads.networks.features.member_network)
            rec["network"] = {
                "template_cluster": f"T:{k % 997}",
                "template_size": n // 997,
                "template_cities": 1,
                "contact_cluster": None,
                "contact_size": 1,
                "contact_employers": 0,
                "shared_contacts": [],
                "cluster_max_risk": None,
                "flags": [],
                "reasons": [],
            }
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


BROWSER: dict = {}


def measure_browser(html: Path, runs: int) -> dict:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--enable-precise-memory-info",
        "--js-flags=--expose-gc",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=opts)
    drv.set_page_load_timeout(300)
    drv.set_script_timeout(120)
    BROWSER["version"] = drv.capabilities.get("browserVersion")
    results = []
    try:
        for _ in range(runs):
            drv.get("about:blank")
            drv.get(html.as_uri())
            end = time.monotonic() + 300
            while drv.execute_script("return document.documentElement.getAttribute('data-ready')") != "1":
                if time.monotonic() > end:
                    raise RuntimeError("report did not become ready in 300 s")
                time.sleep(0.1)
            nav = drv.execute_script(
                "var n = performance.getEntriesByType('navigation')[0]; return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd, response: n.responseEnd};"
            )
            tm = drv.execute_script("return window.__reportTimings")
            r = {
                "html_parsed_ms": tm["script_start"],
                "json_parse_ms": tm["json_parsed"] - tm["script_start"],
                "dom_content_loaded_ms": nav["dcl"],
                "load_event_ms": nav["load"],
                "table_ready_ms": drv.execute_script("return window.__reportReady"),
                "js_heap_mb": drv.execute_script(
                    "if (window.gc) gc(); return performance.memory ? performance.memory.usedJSHeapSize / 1e6 : null"
                ),
            }
            # the most common band (the filter that leaves the most rows)
            r["band_filter_ms"] = drv.execute_script(
                "var s = document.getElementById('f-band'), t = performance.now(); s.value = s.options[1].value; s.dispatchEvent(new Event('change')); return performance.now() - t;"
            )
            r["sort_by_text_ms"] = drv.execute_script(
                "var t = performance.now(); document.querySelector('th button[data-sort=title]').click(); return performance.now() - t;"
            )
            r["next_page_ms"] = drv.execute_script(
                "var t = performance.now(); document.getElementById('next').click(); return performance.now() - t;"
            )
            r["open_ad_ms"] = drv.execute_script(
                "var t = performance.now(); document.querySelector('#rows tbody tr').click(); return performance.now() - t;"
            )
            # search: the page times its own filter run (the first search also builds the lowercase index)
            for key, words in (("first_search_ms", "sales"), ("search_ms", "manager")):
                r[key] = drv.execute_async_script(
                    """
                    var done = arguments[arguments.length - 1], q = document.getElementById('q'), c = document.getElementById('count');
                    new MutationObserver(function (m, o) { o.disconnect(); done(window.__lastApplyMs); })
                      .observe(c, {childList: true, characterData: true, subtree: true});
                    q.value = arguments[0]; q.dispatchEvent(new Event('input'));""",
                    words,
                )
            r["count_after_search"] = drv.execute_script("return document.getElementById('count').textContent")
            errors = [e for e in drv.get_log("browser") if e["level"] == "SEVERE"]
            r["console_errors"] = len(errors)
            results.append(r)
    finally:
        drv.quit()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=50_000, help="ads in the report")
    ap.add_argument("--unique", type=int, default=1500, help="distinct real ads scored and repeated")
    ap.add_argument("--model", default=None, help="model for load_scorer (default: models/default)")
    ap.add_argument("--runs", type=int, default=3, help="browser page loads to measure")
    ap.add_argument("--keep", type=Path, default=None, help="keep the scored file and report in this directory")
    ap.add_argument("--allow-unscored", action="store_true", help="placeholder assessments if no scorer loads")
    args = ap.parse_args()

    from trafficking_ads.report import write_report

    work = args.keep or Path(tempfile.mkdtemp(prefix="report_size."))
    work.mkdir(parents=True, exist_ok=True)
    print("reading real ads:", file=sys.stderr)
    ads = real_ads(args.unique)
    assessments, scorer = score(ads, args.model, args.allow_unscored)
    scored = work / "scored.jsonl"
    write_scored(ads, assessments, args.n, scored)
    out = work / "report.html"
    t = time.perf_counter()
    res = write_report([scored], out)
    build_s = time.perf_counter() - t
    size = out.stat().st_size
    figures = {
        "ads": res.ads,
        "distinct_texts": len(ads),
        "scorer": scorer,
        "mean_text_chars": round(statistics.mean(len(a.text) for a in ads)),
        "scored_jsonl_mb": round(scored.stat().st_size / 1e6, 1),
        "report_mb": round(size / 1e6, 1),
        "report_bytes_per_ad": round(size / res.ads),
        "build_s": round(build_s, 1),
    }
    print(json.dumps(figures), flush=True)
    runs = measure_browser(out, args.runs)
    for r in runs:
        print(json.dumps({k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()}), flush=True)
    keys = [k for k in runs[0] if isinstance(runs[0][k], (int, float)) and runs[0][k] is not None]
    print("median over runs: " + json.dumps({k: round(statistics.median(r[k] for r in runs), 1) for k in keys}))
    print(f"chromium {BROWSER.get('version')}; machine: {os.cpu_count()} CPUs")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
