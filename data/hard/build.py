"""Build data/hard/hard.jsonl from the hand-written sources in data/hard/src/<lang>.yaml.

Why a build step: the ads are written as YAML (multi-line text is readable there); this
script validates every entry, numbers the ids, assigns each template family to the `fit`
or `test` half (deterministically, balanced per language and label), checks that no ad is
a near-copy of a seed ad, and prints the counts the card (README.md) shows.

    python data/hard/build.py            # write hard.jsonl and print counts
    python data/hard/build.py --check    # validate and compare with the committed file

Parts are assigned per *scheme group*: the family id without its language prefix
(`ru-debt-korea-fish` -> `debt-korea-fish`), so an ad and its renderings in the other
languages always land in the same half.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LANGS = ("ru", "kk", "en")
KK_LETTERS = set("әғқңөұүһіӘҒҚҢӨҰҮҺІ")
FIELDS = {"family", "pattern", "label", "indicators", "title", "text"}
SIMILARITY_LIMIT = 0.5


def guide_ids() -> set[str]:
    """Indicator ids of the guide (the engine's indicators.yaml, legitimacy ids excluded)."""
    d = yaml.safe_load((ROOT / "trafficking_ads/indicators/data/indicators.yaml").read_text(encoding="utf-8"))
    return {k for k, v in d["indicators"].items() if v["category"] != "legitimacy"} - {"contact_foreign_country"}


def load_sources() -> list[dict]:
    """Every entry of src/<lang>.yaml, validated, in file order; exits 1 on any bad entry."""
    ids = guide_ids()
    rows: list[dict] = []
    errors: list[str] = []
    for lang in LANGS:
        entries = yaml.safe_load((HERE / "src" / f"{lang}.yaml").read_text(encoding="utf-8"))
        for n, e in enumerate(entries, start=1):
            where = f"src/{lang}.yaml entry {n}"
            missing = FIELDS - set(e)
            if missing:
                errors.append(f"{where}: missing {sorted(missing)}")
                continue
            if e["label"] not in (0, 1):
                errors.append(f"{where}: label must be 0 or 1")
            if not str(e["family"]).startswith(f"{lang}-"):
                errors.append(f"{where}: family must start with '{lang}-'")
            bad = [i for i in e["indicators"] if i not in ids]
            if bad:
                errors.append(f"{where}: unknown indicator ids {bad}")
            if e["label"] == 1 and not e["indicators"]:
                errors.append(f"{where}: a deceptive ad lists no indicator")
            if lang == "kk" and not (KK_LETTERS & set(e["text"])):
                errors.append(f"{where}: Kazakh ad without Kazakh letters")
            rows.append({"lang": lang, **e, "text": e["text"].strip(), "title": e["title"].strip()})
    fam_labels: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        fam_labels[r["family"]].add(r["label"])
    errors += [f"family {f} holds both labels" for f, ls in fam_labels.items() if len(ls) > 1]
    if errors:
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)
    return rows


def scheme_group(family: str) -> str:
    """The family id without its language prefix: one group across languages."""
    return family.split("-", 1)[1]


def assign_parts(rows: list[dict]) -> dict[str, str]:
    """Scheme group -> "fit"/"test": greedy, in hash order, keeping every (lang, label) cell even."""
    groups: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        groups[scheme_group(r["family"])][(r["lang"], r["label"])] += 1
    order = sorted(groups, key=lambda g: (-sum(groups[g].values()), hashlib.sha1(g.encode()).hexdigest()))
    totals = {"fit": Counter(), "test": Counter()}
    part: dict[str, str] = {}
    for g in order:

        def cost(side: str) -> int:
            other = "test" if side == "fit" else "fit"
            cells = set(totals["fit"]) | set(totals["test"]) | set(groups[g])  # noqa: B023
            return sum((totals[side][c] + groups[g][c] - totals[other][c]) ** 2 for c in cells)  # noqa: B023

        tie = "fit" if int(hashlib.sha1(g.encode()).hexdigest(), 16) % 2 else "test"
        side = min(("fit", "test"), key=lambda s: (cost(s), s != tie))
        part[g] = side
        totals[side].update(groups[g])
    return part


def shingles(text: str, n: int = 5) -> set[str]:
    t = re.sub(r"\s+", " ", text.lower())
    return {t[i : i + n] for i in range(max(1, len(t) - n + 1))}


def seed_similarity(rows: list[dict]) -> list[tuple[float, str, str]]:
    """(best Jaccard of character 5-grams against any seed ad, hard ad id, seed id) per hard ad."""
    seed = []
    for f in sorted((ROOT / "data/seed").glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                d = json.loads(line)
                seed.append((d["id"], shingles(d["text"])))
    out = []
    for r in rows:
        s = shingles(r["text"])
        best = max(((len(s & t) / len(s | t), sid) for sid, t in seed), default=(0.0, ""))
        out.append((best[0], r["id"], best[1]))
    return out


def build() -> list[dict]:
    """The hard-set records, in file order, with ids and parts."""
    rows = load_sources()
    part = assign_parts(rows)
    counters: Counter = Counter()
    out = []
    for r in rows:
        counters[r["lang"]] += 1
        out.append(
            {
                "id": f"hard-{r['lang']}-{counters[r['lang']]:04d}",
                "lang": r["lang"],
                "label": r["label"],
                "title": r["title"],
                "text": r["text"],
                "family": r["family"],
                "pattern": r["pattern"],
                "hard_negative": r["label"] == 0,
                "indicators": list(r["indicators"]),
                "part": part[scheme_group(r["family"])],
            }
        )
    return out


def print_counts(rows: list[dict]) -> None:
    """The card's tables (markdown)."""
    print("| lang | ads | deceptive | legitimate | families | fit (dec/leg) | test (dec/leg) |")
    print("|---|---|---|---|---|---|---|")
    for lang in LANGS:
        rs = [r for r in rows if r["lang"] == lang]
        c = Counter((r["part"], r["label"]) for r in rs)
        print(
            f"| {lang} | {len(rs)} | {sum(r['label'] for r in rs)} | {sum(1 - r['label'] for r in rs)} | "
            f"{len({r['family'] for r in rs})} | {c['fit', 1]}/{c['fit', 0]} | {c['test', 1]}/{c['test', 0]} |"
        )
    print(
        f"| all | {len(rows)} | {sum(r['label'] for r in rows)} | {sum(1 - r['label'] for r in rows)} | "
        f"{len({r['family'] for r in rows})} | | |"
    )
    print("\n| pattern | label | ru | kk | en |\n|---|---|---|---|---|")
    pats = Counter((r["pattern"], r["label"], r["lang"]) for r in rows)
    for p, lab in sorted({(p, lab) for p, lab, _ in pats}, key=lambda x: (-x[1], x[0])):
        print(f"| {p} | {lab} | " + " | ".join(str(pats[p, lab, lang]) for lang in LANGS) + " |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="validate and compare with hard.jsonl; write nothing")
    args = ap.parse_args(argv)
    rows = build()
    sims = seed_similarity(rows)
    sims.sort(reverse=True)
    print(
        f"seed similarity (char 5-gram Jaccard): max {sims[0][0]:.3f} ({sims[0][1]} vs {sims[0][2]}), "
        f"median {sims[len(sims) // 2][0]:.3f}; over {SIMILARITY_LIMIT}: "
        f"{sum(s > SIMILARITY_LIMIT for s, _, _ in sims)}"
    )
    for s, hid, sid in sims[:5]:
        print(f"  {s:.3f}  {hid}  ~ {sid}")
    print_counts(rows)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    target = HERE / "hard.jsonl"
    if args.check:
        same = target.is_file() and target.read_text(encoding="utf-8") == text
        print("hard.jsonl is up to date" if same else "hard.jsonl differs from the sources: run build.py")
        return 0 if same else 1
    if any(s > SIMILARITY_LIMIT for s, _, _ in sims):
        print("refusing to write: an ad is a near-copy of a seed ad", file=sys.stderr)
        return 1
    sys.path.insert(0, str(ROOT))
    from trafficking_ads.atomic import write_text  # noqa: E402  (the checkout's atomic writer)

    write_text(target, text)
    print(f"wrote {target} ({len(rows)} ads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
