"""Validate the seed set and print its counts as Markdown (the numbers in README.md).

Run from the checkout: ``python data/seed/seed_stats.py`` (exit 1 if any file is invalid).
The indicator ids are read from the indicator guide, ``../shared/docs/indicators.md`` next
to the checkout, so the seed labels cannot drift from the guide unnoticed.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
GUIDE = HERE.parents[1].parent / "shared" / "docs" / "indicators.md"
LANGS = ("ru", "kk", "en")
STYLES = {"telegram", "classified", "formal", "social", "chat"}
FIELDS = {
    "id": str,
    "lang": str,
    "label": int,
    "title": str,
    "text": str,
    "indicators": list,
    "template": str,
    "hard_negative": bool,
    "style": str,
}
KAZAKH_LETTERS = re.compile("[әғқңөұүһі]", re.I)


def guide_ids(path: Path) -> list[str]:
    """Indicator ids in table order, from the first column of the guide's table."""
    ids = re.findall(r"^\| ([a-z_]+) \|", path.read_text(encoding="utf-8"), re.M)
    if len(ids) < 10:
        raise SystemExit(f"{path}: found only {len(ids)} indicator ids in the table")
    return ids


def load(path: Path, lang: str, ids: set[str]) -> tuple[list[dict], list[str]]:
    """Read one language file; return the valid rows and one message per problem."""
    rows, errors, seen = [], [], set()
    for n, line in enumerate(path.open(encoding="utf-8"), 1):
        where = f"{path.name}:{n}"
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"{where}: not JSON ({e})")
            continue
        bad = [k for k, t in FIELDS.items() if not isinstance(r.get(k), t)]
        if bad:
            errors.append(f"{where}: missing or wrong-typed field(s) {bad}")
            continue
        problems = []
        if r["id"] in seen:
            problems.append(f"duplicate id {r['id']}")
        if r["lang"] != lang or not r["id"].startswith(f"seed-{lang}-"):
            problems.append(f"lang/id {r['lang']}/{r['id']} not {lang}")
        if r["label"] not in (0, 1):
            problems.append(f"label {r['label']} not 0/1")
        if r["style"] not in STYLES:
            problems.append(f"style {r['style']!r}")
        unknown = set(r["indicators"]) - ids
        if unknown:
            problems.append(f"indicator ids not in the guide: {sorted(unknown)}")
        if r["label"] == 1 and (not r["indicators"] or r["hard_negative"]):
            problems.append("deceptive ad with no indicators or flagged hard_negative")
        if lang == "kk" and not KAZAKH_LETTERS.search(r["text"]):
            problems.append("Kazakh ad without Kazakh-specific letters")
        seen.add(r["id"])
        if problems:
            errors.append(f"{where}: " + "; ".join(problems))
        else:
            rows.append(r)
    mixed = collections.defaultdict(set)
    for r in rows:
        mixed[r["template"]].add(r["label"])
    errors += [f"{path.name}: template {t} used by both labels" for t, s in mixed.items() if len(s) > 1]
    return rows, errors


def table(header: list[str], body: list[list]) -> str:
    """A Markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return "\n".join(out)


def report(data: dict[str, list[dict]], ids: list[str]) -> str:
    """All counts of the data card as Markdown."""
    langs = list(data)
    parts = []
    body = []
    for lang in langs:
        rows = data[lang]
        legit = [r for r in rows if r["label"] == 0]
        hn = sum(r["hard_negative"] for r in legit)
        lens = [len(r["text"]) for r in rows]
        body.append(
            [
                lang,
                len(rows),
                len(rows) - len(legit),
                len(legit),
                hn,
                f"{hn / max(len(legit), 1):.0%}",
                len({r["template"] for r in rows}),
                f"{min(lens)} / {int(statistics.median(lens))} / {max(lens)}",
                sum(n >= 1500 for n in lens),
                sum(n <= 120 for n in lens),
            ]
        )
    parts.append(
        "**By language and label**\n\n"
        + table(
            [
                "lang",
                "ads",
                "deceptive (1)",
                "legitimate (0)",
                "hard negatives",
                "hard neg. share of legit",
                "templates",
                "text chars min / median / max",
                "≥1,500 chars",
                "≤120 chars",
            ],
            body,
        )
    )
    body = []
    for s in sorted(STYLES):
        body.append(
            [s]
            + [
                f"{sum(r['style'] == s and r['label'] == 1 for r in data[l])} / "
                f"{sum(r['style'] == s and r['label'] == 0 for r in data[l])}"
                for l in langs
            ]
        )
    parts.append("**By style** (deceptive / legitimate)\n\n" + table(["style"] + langs, body))
    body = []
    for i in ids:
        body.append(
            [i]
            + [
                f"{sum(i in r['indicators'] for r in data[l] if r['label'] == 1)} / "
                f"{sum(i in r['indicators'] for r in data[l] if r['label'] == 0)}"
                for l in langs
            ]
        )
    parts.append(
        "**Indicator coverage** (ads listing the id: deceptive / legitimate)\n\n" + table(["indicator"] + langs, body)
    )
    body = []
    for l in langs:
        fam = collections.Counter(r["template"] for r in data[l] if r["label"] == 1)
        multi = {t: n for t, n in fam.items() if n > 1}
        dec = sum(fam.values())
        sizes = collections.Counter(multi.values())
        body.append(
            [
                l,
                len(multi),
                sum(multi.values()),
                f"{sum(multi.values()) / max(dec, 1):.0%}",
                ", ".join(f"{k}×{v}" for k, v in sorted(sizes.items())) or "—",
            ]
        )
    parts.append(
        "**Template families** (deceptive templates with 2+ variants)\n\n"
        + table(["lang", "families", "ads in families", "share of deceptive", "family sizes (size×count)"], body)
    )
    return "\n\n".join(parts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--guide", type=Path, default=GUIDE, help="indicator guide (Markdown)")
    ap.add_argument("--dir", type=Path, default=HERE, help="folder with <lang>.jsonl")
    args = ap.parse_args()
    ids = guide_ids(args.guide)
    data, errors = {}, []
    for lang in LANGS:
        path = args.dir / f"{lang}.jsonl"
        if path.exists():
            data[lang], errs = load(path, lang, set(ids))
            errors += errs
    for e in errors:
        print("ERROR", e, file=sys.stderr)
    print(report(data, ids))
    for lang, rows in data.items():
        low = [i for i in ids if sum(i in r["indicators"] for r in rows if r["label"] == 1) < 2]
        if low:
            print(f"NOTE {lang}: indicators in fewer than 2 deceptive ads: {low}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
