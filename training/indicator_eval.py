"""Precision and recall of the indicator engine, per indicator and per language.

Reads labelled JSONL sets (one ad per line: `text`, `lang`, `expected` indicator ids,
optional `absent` ids for near-miss negatives, optional `title`) and writes
`training/results/indicators.md` and `.json`.

    .venv/bin/python training/indicator_eval.py            # the shipped dev set
    .venv/bin/python training/indicator_eval.py --extra data/seed/ru.jsonl data/seed/kk.jsonl data/seed/en.jsonl \
        --risk ../shared/data/difraud/job_scams/validation.jsonl

The hard set (data/hard/hard.jsonl: subtle deceptive ads and risky-looking legitimate ones,
written separately, see data/hard/README.md) is reported as its own section by default
(`--hard ''` leaves it out), with bands per language: how many legitimate ads reach medium.

`data/indicators/dev.jsonl` is a DEVELOPMENT set: the patterns were tuned while looking
at its errors, so its numbers are optimistic. Extra sets (e.g. data/seed, written by
another engineer, with ids in an `indicators` field) were not used for tuning.
Labels are complete: an id predicted but not expected counts as a false positive.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trafficking_ads.indicators.engine import default_engine  # noqa: E402
from trafficking_ads.records import Ad  # noqa: E402

#: Indicators of docs/indicators.md scored here (legitimacy hits and contact_foreign_country
#: are evidence, not labelled indicators).
GUIDE_IDS = (
    "employer_unidentified duties_vague contact_messenger_only contact_free_email travel_abroad_offer "
    "travel_costs_covered wrong_visa no_experience_language pay_unrealistic urgency fee_upfront "
    "debt_deduction documents_retained housing_controlled excessive_hours appearance_age_gender "
    "minor_targeted high_risk_role cover_business scam_compound_role contract_missing referral_bonus "
    "personal_data_request money_mule_role impersonated_scheme"
).split()


def load_set(path: Path) -> list[dict]:
    """Rows of a labelled set; `indicators` is accepted as a synonym of `expected`."""
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{n}: not JSON: {e}")
            if "text" not in d:
                raise SystemExit(f"{path}:{n}: missing field 'text'")
            d["expected"] = d.get("expected", d.get("indicators", []))
            d.setdefault("absent", [])
            unknown = set(d["expected"]) - set(GUIDE_IDS)
            if unknown:
                raise SystemExit(f"{path}:{n}: unknown indicator ids {sorted(unknown)}")
            rows.append(d)
    return rows


def evaluate(rows: list[dict]) -> dict:
    """Counts and metrics per indicator, per (indicator, language), near-miss violations."""
    engine = default_engine()
    tp = defaultdict(int)
    fp = defaultdict(int)
    fn = defaultdict(int)
    errors = []
    absent_viol = defaultdict(int)
    absent_total = defaultdict(int)
    lang_ok = 0
    scores: list[tuple[float, int, str]] = []
    no_span = 0  # hits without an evidence span (must stay 0: such a hit is never emitted)
    legit_ads: dict[int, int] = defaultdict(int)  # label -> ads with at least one legitimacy hit
    t0 = time.perf_counter()
    for d in rows:
        ad = Ad(text=d["text"], title=d.get("title"))
        analysis = engine.analyze(ad)
        got = {h.id for h in analysis.hits} & set(GUIDE_IDS)
        no_span += sum(1 for h in analysis.hits if not h.evidence)
        if d.get("label") in (0, 1) and any(h.weight < 0 for h in analysis.hits):
            legit_ads[int(d["label"])] += 1
        if d.get("label") in (0, 1):
            scores.append((engine.weights.score(analysis.hits), int(d["label"]), d.get("lang", "xx")))
        exp = set(d["expected"])
        lang = d.get("lang", "xx")
        lang_ok += analysis.lang == lang
        for ind in GUIDE_IDS:
            for key in (ind, (ind, lang)):
                if ind in got and ind in exp:
                    tp[key] += 1
                elif ind in got:
                    fp[key] += 1
                elif ind in exp:
                    fn[key] += 1
        for ind in d["absent"]:
            absent_total[ind] += 1
            if ind in got:
                absent_viol[ind] += 1
        if got != exp:
            errors.append({"id": d.get("id"), "lang": lang, "missed": sorted(exp - got), "extra": sorted(got - exp)})
    elapsed = time.perf_counter() - t0

    def prf(key) -> dict:
        p = tp[key] / (tp[key] + fp[key]) if tp[key] + fp[key] else None
        r = tp[key] / (tp[key] + fn[key]) if tp[key] + fn[key] else None
        f = 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)
        return {"tp": tp[key], "fp": fp[key], "fn": fn[key], "precision": p, "recall": r, "f1": f}

    langs = sorted({d.get("lang", "xx") for d in rows})
    per_ind = {ind: prf(ind) for ind in GUIDE_IDS}
    per_lang = {ind: {lg: prf((ind, lg)) for lg in langs} for ind in GUIDE_IDS}
    micro = {
        "tp": sum(tp[i] for i in GUIDE_IDS),
        "fp": sum(fp[i] for i in GUIDE_IDS),
        "fn": sum(fn[i] for i in GUIDE_IDS),
    }
    micro["precision"] = micro["tp"] / max(1, micro["tp"] + micro["fp"])
    micro["recall"] = micro["tp"] / max(1, micro["tp"] + micro["fn"])
    lang_micro = {}
    for lg in langs:
        t = sum(tp[(i, lg)] for i in GUIDE_IDS)
        p_ = sum(fp[(i, lg)] for i in GUIDE_IDS)
        n_ = sum(fn[(i, lg)] for i in GUIDE_IDS)
        lang_micro[lg] = {
            "tp": t,
            "fp": p_,
            "fn": n_,
            "precision": t / max(1, t + p_),
            "recall": t / max(1, t + n_),
            "ads": sum(1 for d in rows if d.get("lang") == lg),
        }
    risk = _risk_metrics(scores)
    return {
        "ads": len(rows),
        "risk_score": risk,
        "languages": langs,
        "langid_accuracy": lang_ok / max(1, len(rows)),
        "micro": micro,
        "per_language": lang_micro,
        "per_indicator": per_ind,
        "per_indicator_language": per_lang,
        "near_miss": {k: {"violations": absent_viol[k], "cases": v} for k, v in sorted(absent_total.items())},
        "errors": errors,
        "hits_without_evidence": no_span,
        "ads_with_legitimacy_hit": {f"label_{k}": v for k, v in sorted(legit_ads.items())},
        "seconds": elapsed,
    }


def vacancies(folder: Path) -> dict:
    """Bands and most frequent indicators on real platform vacancies (legitimate by assumption)."""
    import csv
    from collections import Counter

    card = json.loads((ROOT / "models" / "indicators" / "model.json").read_text(encoding="utf-8"))
    th = card["thresholds"]
    engine = default_engine()
    builders = {
        "superjob_ru_vacancies.csv": lambda r: Ad(
            text="\n".join(filter(None, [r.get("duties"), r.get("requirements"), r.get("conditions")])),
            title=r.get("name"),
            salary=r.get("salary"),
            location=r.get("address"),
        ),
        "hh_astana_vacancies.csv": lambda r: Ad(
            text=r.get("snippet") or "", title=r.get("name"), company_name=r.get("employer") or None, location="Астана"
        ),
    }
    out = {}
    for name, build in builders.items():
        path = folder / name
        if not path.is_file():
            continue
        bands: Counter = Counter()
        inds: Counter = Counter()
        flagged = 0  # ads with at least one risk (positive-weight) indicator
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                hits = engine.extract(build(row))
                s = engine.weights.score(hits)
                bands["high" if s >= th["high"] else "medium" if s >= th["medium"] else "low"] += 1
                risky = [h.id for h in hits if h.weight > 0]
                inds.update(risky)
                flagged += bool(risky)
        out[name] = {
            "ads": sum(bands.values()),
            "bands": dict(bands),
            "top_indicators": inds.most_common(8),
            "risk_hits": sum(inds.values()),
            "ads_with_risk_hit": flagged,
        }
    return {"ads": sum(v["ads"] for v in out.values()), "vacancies": out}


def risk_only(path: Path) -> dict:
    """Indicator-score ROC AUC on a set labelled per ad only (no indicator labels)."""
    engine = default_engine()
    scores = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                hits = engine.extract(Ad(text=d["text"]))
                scores.append((engine.weights.score(hits), int(d["label"]), d.get("lang", "en")))
    return {"ads": len(scores), "risk_score": _risk_metrics(scores), "risk_only": True}


def _risk_metrics(scores: list[tuple[float, int, str]]) -> dict | None:
    """ROC AUC of the indicator score against ad labels, and band counts (thresholds of models/indicators)."""
    if not scores or len({y for _, y, _ in scores}) < 2:
        return None
    from sklearn.metrics import roc_auc_score

    card = json.loads((ROOT / "models" / "indicators" / "model.json").read_text(encoding="utf-8"))
    th = card["thresholds"]
    out: dict = {
        "ads": len(scores),
        "auc": roc_auc_score([y for _, y, _ in scores], [s for s, _, _ in scores]),
        "thresholds": th,
    }
    for lg in sorted({g for _, _, g in scores}):
        sub = [(s, y) for s, y, g in scores if g == lg]
        if len({y for _, y in sub}) == 2:
            out[f"auc_{lg}"] = roc_auc_score([y for _, y in sub], [s for s, _ in sub])
    bands: dict[str, dict[str, int]] = {}
    by_lang: dict[str, dict[str, int]] = {}
    for s, y, g in scores:
        band = "high" if s >= th["high"] else "medium" if s >= th["medium"] else "low"
        bands.setdefault(f"label_{y}", {"low": 0, "medium": 0, "high": 0})[band] += 1
        by_lang.setdefault(f"{g} label_{y}", {"low": 0, "medium": 0, "high": 0})[band] += 1
    out["bands"] = bands
    out["bands_by_language"] = dict(sorted(by_lang.items()))
    return out


def _fmt(x) -> str:
    return "–" if x is None else f"{x:.2f}"


def to_markdown(results: dict[str, dict]) -> str:
    lines = ["# Indicator engine: precision and recall", ""]
    lines.append(
        "Generated by `training/indicator_eval.py`. `dev` is the development set the patterns "
        "were tuned on (optimistic); other sets were not used for tuning. Labels are complete "
        "per ad: an indicator found but not labelled is a false positive."
    )
    for name, r in results.items():
        if r.get("vacancies") is not None:
            lines += [
                "",
                f"## {name}: {r['ads']} ads",
                "",
                "Real Russian-language platform vacancies (no labels; legitimate by assumption): how often the "
                "indicator scorer raises an alarm, and which indicators fire most.",
                "",
                "| file | ads | low | medium | high | ads with a risk hit | risk hits | most frequent risk indicators |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for fn, v in r["vacancies"].items():
                b = v["bands"]
                top = ", ".join(f"{k} {n}" for k, n in v["top_indicators"])
                lines.append(
                    f"| {fn} | {v['ads']} | {b.get('low', 0)} | {b.get('medium', 0)} | {b.get('high', 0)} | "
                    f"{v.get('ads_with_risk_hit', '–')} | {v.get('risk_hits', '–')} | {top} |"
                )
            continue
        if r.get("risk_only"):
            rs = r["risk_score"]
            lines += [
                "",
                f"## {name}: {r['ads']} ads",
                "",
                f"Indicator score vs ad label: ROC AUC {rs['auc']:.3f}; "
                + "; ".join(
                    f"{k}: {v['low']} low / {v['medium']} medium / {v['high']} high" for k, v in rs["bands"].items()
                )
                + ".",
            ]
            continue
        lines += ["", f"## {name}: {r['ads']} ads, languages {', '.join(r['languages'])}", ""]
        m = r["micro"]
        lines.append(
            f"Micro-average: precision {m['precision']:.3f}, recall {m['recall']:.3f} "
            f"(tp {m['tp']}, fp {m['fp']}, fn {m['fn']}); language id accuracy {r['langid_accuracy']:.3f}."
        )
        if r.get("risk_score"):
            rs = r["risk_score"]
            per = ", ".join(f"{k[4:]} {v:.3f}" for k, v in rs.items() if k.startswith("auc_"))
            lines.append(
                f"Indicator score vs ad label (1 = deceptive): ROC AUC {rs['auc']:.3f} ({per}); bands at "
                f"medium {rs['thresholds']['medium']}, high {rs['thresholds']['high']}: "
                + "; ".join(
                    f"{k}: {v['low']} low / {v['medium']} medium / {v['high']} high" for k, v in rs["bands"].items()
                )
                + "."
            )
            if rs.get("bands_by_language"):
                lines += ["", "| language, label | low | medium | high | medium or high |", "|---|---|---|---|---|"]
                for k, v in rs["bands_by_language"].items():
                    n = sum(v.values())
                    lines.append(f"| {k} | {v['low']} | {v['medium']} | {v['high']} | {v['medium'] + v['high']}/{n} |")
        if "hits_without_evidence" in r:
            la = r.get("ads_with_legitimacy_hit", {})
            lines.append("")
            lines.append(
                f"Hits without an evidence span: {r['hits_without_evidence']}. Ads with at least one legitimacy hit: "
                + ", ".join(f"{k} {v}" for k, v in la.items())
                + "."
            )
        lines += ["", "| language | ads | precision | recall | tp | fp | fn |", "|---|---|---|---|---|---|---|"]
        for lg, v in r["per_language"].items():
            lines.append(
                f"| {lg} | {v['ads']} | {v['precision']:.3f} | {v['recall']:.3f} | {v['tp']} | {v['fp']} | {v['fn']} |"
            )
        langs = r["languages"]
        head = "| indicator | P | R | support | " + " | ".join(f"{lg} P / R (n)" for lg in langs) + " |"
        lines += ["", head, "|" + "---|" * (4 + len(langs))]
        for ind, v in r["per_indicator"].items():
            support = v["tp"] + v["fn"]
            cells = []
            for lg in langs:
                w = r["per_indicator_language"][ind][lg]
                cells.append(f"{_fmt(w['precision'])} / {_fmt(w['recall'])} ({w['tp'] + w['fn']})")
            lines.append(
                f"| {ind} | {_fmt(v['precision'])} | {_fmt(v['recall'])} | {support} | " + " | ".join(cells) + " |"
            )
        if r["near_miss"]:
            lines += [
                "",
                "Near-miss negatives (ids marked `absent`): times the engine still reported them.",
                "",
                "| indicator | violations / cases |",
                "|---|---|",
            ]
            for k, v in r["near_miss"].items():
                lines.append(f"| {k} | {v['violations']} / {v['cases']} |")
    return "\n".join(lines) + "\n"


def _section_figures(r: dict) -> dict[str, str]:
    """The headline figures of one results section, as display strings (for before/after)."""
    out: dict[str, str] = {}
    if r.get("vacancies") is not None:
        for fn, v in r["vacancies"].items():
            b = v["bands"]
            out[f"{fn}: medium / high"] = f"{b.get('medium', 0)} / {b.get('high', 0)} of {v['ads']}"
            if "ads_with_risk_hit" in v:
                out[f"{fn}: ads with a risk hit (risk hits)"] = f"{v['ads_with_risk_hit']} ({v['risk_hits']})"
        return out
    rs = r.get("risk_score") or {}
    if not r.get("risk_only"):
        m = r["micro"]
        out["precision / recall"] = f"{m['precision']:.3f} / {m['recall']:.3f}"
        for lg, v in r["per_language"].items():
            out[f"{lg} precision / recall"] = f"{v['precision']:.3f} / {v['recall']:.3f}"
        if "hits_without_evidence" in r:
            out["hits without evidence"] = str(r["hits_without_evidence"])
    if rs:
        out["score ROC AUC"] = f"{rs['auc']:.3f}"
        for k in sorted(k for k in rs if k.startswith("auc_")):
            out[f"{k[4:]} ROC AUC"] = f"{rs[k]:.3f}"
        for k, v in rs["bands"].items():
            out[f"{k}: low / medium / high"] = f"{v['low']} / {v['medium']} / {v['high']}"
        for k, v in (rs.get("bands_by_language") or {}).items():
            if k.endswith("label_0"):
                out[f"{k}: medium or high"] = f"{v['medium'] + v['high']} of {sum(v.values())}"
    return out


def before_after_markdown(before: dict[str, dict], after: dict[str, dict], note: str) -> str:
    """A table per section present in both runs: each headline figure before and after."""
    lines = ["", "## Before and after", "", note]
    for name, r in after.items():
        if name not in before:
            continue
        b, a = _section_figures(before[name]), _section_figures(r)
        rows = [k for k in a if k in b]
        if not rows:
            continue
        lines += ["", f"**{name}**", "", "| figure | before | after |", "|---|---|---|"]
        lines += [f"| {k} | {b[k]} | {a[k]} |" for k in rows]
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", type=Path, default=ROOT / "data" / "indicators" / "dev.jsonl")
    ap.add_argument(
        "--extra", type=Path, nargs="*", default=[], help="more labelled JSONL sets (reported together as 'extra')"
    )
    ap.add_argument(
        "--hard",
        type=Path,
        default=ROOT / "data" / "hard" / "hard.jsonl",
        help="the hard set (reported on its own; '' to leave it out)",
    )
    ap.add_argument(
        "--risk",
        type=Path,
        nargs="*",
        default=[],
        help="JSONL sets with only a 0/1 `label` (e.g. DIFrauD job_scams): indicator-score AUC only",
    )
    from trafficking_ads.corpus.loaders import default_shared_data

    ap.add_argument(
        "--vacancies",
        type=Path,
        default=default_shared_data() / "ru_vacancies",
        help="real legitimate Russian-language vacancies (superjob.ru, hh.kz): band counts, the false-alarm check",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "training" / "results" / "indicators")
    ap.add_argument("--errors", action="store_true", help="print each ad whose indicators differ")
    ap.add_argument("--before", type=Path, help="an earlier results JSON: adds a before/after section to the markdown")
    ap.add_argument(
        "--before-note",
        default="Figures of the earlier run (`--before`) beside this one's.",
        help="the sentence that introduces the before/after section",
    )
    args = ap.parse_args(argv)
    results = {"dev": evaluate(load_set(args.dev))}
    if args.extra:
        rows = [r for p in args.extra for r in load_set(p)]
        results["extra (" + ", ".join(str(p) for p in args.extra) + ")"] = evaluate(rows)
    if args.hard and args.hard.is_file():
        results[f"hard ({args.hard.relative_to(ROOT) if args.hard.is_relative_to(ROOT) else args.hard})"] = evaluate(
            load_set(args.hard)
        )
    if args.vacancies and args.vacancies.is_dir():
        results["real vacancies (assumed legitimate)"] = vacancies(args.vacancies)
    for p in args.risk:
        results[f"risk only ({p.name})"] = risk_only(p)
    if args.errors:
        for name, r in results.items():
            for e in r.get("errors", []):
                print(name, e)
    write_atomic(args.out.with_suffix(".json"), json.dumps(results, ensure_ascii=False, indent=1))
    md = to_markdown(results)
    if args.before:
        md += before_after_markdown(json.loads(args.before.read_text(encoding="utf-8")), results, args.before_note)
    write_atomic(args.out.with_suffix(".md"), md)
    for name, r in results.items():
        if r.get("vacancies") is not None:
            print(f"{name}: " + "; ".join(f"{k}: {v['bands']}" for k, v in r["vacancies"].items()))
            continue
        if r.get("risk_only"):
            print(f"{name}: ads={r['ads']} auc={r['risk_score']['auc']:.3f}")
            continue
        m = r["micro"]
        print(
            f"{name}: ads={r['ads']} precision={m['precision']:.3f} recall={m['recall']:.3f} langid={r['langid_accuracy']:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
