"""Build the training corpus: load every source, deduplicate, group, split, save, and card it.

`build_corpus` is the Python API behind `trafficking-ads data build`. The output directory
holds a `datasets.DatasetDict` (train/dev/test, via `save_to_disk`), `CARD.md` and
`card.json` (sources, counts, balance, dedup statistics, placement decisions) and
`dedup_removed.jsonl` (every removed duplicate and what it duplicated), so that every
number in the card can be traced to rows.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checkout import checkout_path
from ..errors import NotFoundError, OperationError
from .. import atomic
from ..problems import Problems
from ..records import Ad
from ..rows import COLUMNS, ad_to_row, features, row_to_ad
from .dedup import deduplicate
from .loaders import default_shared_data, load_shared
from .seed import default_seed_dir, load_seed
from .splits import SPLITS, check_group_disjoint, cross_source_split, source_family, split_counts, split_groups

__all__ = ["COLUMNS", "Corpus", "ad_to_row", "build_corpus", "features", "load_corpus", "row_to_ad"]

DEFAULT_SEED = 13
#: Where `data build` writes by default and where `evaluate` looks for a built corpus.
DEFAULT_CORPUS_DIR = checkout_path("out", "corpus")
#: The card of the corpus built with default arguments, kept in the repository.
REPO_CARD = checkout_path("data", "CORPUS_CARD.md")

#: Dataset columns, in order (`meta` is a JSON string).

#: Why each kind of source is placed where it is (copied into the card).
PLACEMENT = {
    "emscad": "EMSCAD (raw and preprocessed copies) and DIFrauD job_scams: deduplicated against each other "
    "first (DIFrauD republishes EMSCAD descriptions; Eric-Miao's files hold the same frauds as jae1654's), "
    "then the surviving ads are split by template group, stratified by label.",
    "platform": "superjob.ru and hh.kz vacancies: real, unverified platform ads with label 0. They are split "
    "like the rest (stratified as their own stratum), so train gets real Russian/Kazakh negatives and the "
    "held-out test portion measures the false-positive rate on real vacancies.",
    "seed": "The project's labelled seed set (data/seed): split by its explicit template families "
    "(merged with any near-copies), stratified by language, label and hard-negative flag.",
}


@dataclass
class Corpus:
    """A built corpus: the DatasetDict, its card, and the skipped-row problems."""

    dataset: Any  # datasets.DatasetDict
    card: dict[str, Any]
    problems: list


def _unique_ids(ads: list[Ad]) -> int:
    """Make ids unique in place (a job id reused across files with different text); returns renames."""
    seen: Counter[str] = Counter()
    renamed = 0
    for ad in ads:
        seen[ad.id] += 1
        if seen[ad.id] > 1:
            ad.id = f"{ad.id}#{seen[ad.id]}"
            renamed += 1
    return renamed


def build_corpus(
    out_dir: str | os.PathLike | None = None,
    *,
    seed_dir: str | os.PathLike | None = None,
    shared_data: str | os.PathLike | None = None,
    seed: int = DEFAULT_SEED,
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    strict: bool = False,
    write_repo_card: bool | None = None,
    test_source: str | None = None,
    seed_only: bool = False,
) -> Corpus:
    """Build the corpus; save it to `out_dir` when given (atomically: the old one is replaced whole).

    `test_source` (a source family: `difraud`, `emscad`, `seed`, `platform`) builds the
    cross-source protocol instead: test = every group holding an ad of that family, and the
    other groups split into train and dev in the ratio of `fractions`' first two shares.

    `write_repo_card` (default: when seed_dir, shared_data and seed are all defaults) also
    copies CARD.md to `data/CORPUS_CARD.md`, the card kept in the repository.
    `seed_only` leaves the shared data out (a small corpus of the seed set alone).
    """
    from datasets import Dataset, DatasetDict

    t0 = time.perf_counter()
    problems = Problems(strict=strict)
    shared_root = None if seed_only else (Path(shared_data) if shared_data else default_shared_data())
    seed_root = Path(seed_dir) if seed_dir else default_seed_dir()
    shared = {} if seed_only else load_shared(shared_root, problems=problems)
    seed_ads = load_seed(seed_root, problems=problems)
    ads = [a for v in shared.values() for a in v] + seed_ads
    loaded = Counter(a.source for a in ads)
    renamed = _unique_ids(ads)

    dd = deduplicate(ads)
    kept = dd.kept
    groups = [dd.groups[a.id] for a in kept]
    if test_source is None:
        splits = split_groups(kept, groups, fractions=fractions, seed=seed)
    else:
        splits = cross_source_split(kept, groups, test_source, fractions=fractions, seed=seed)
    straddling = check_group_disjoint(groups, splits)
    if straddling:  # cannot happen by construction; a guard, not a branch users reach
        raise OperationError(f"template groups in two splits: {straddling[:5]}")

    rows: dict[str, list[dict[str, Any]]] = {sp: [] for sp in SPLITS}
    for ad, g, sp in zip(kept, groups, splits):
        rows[sp].append(ad_to_row(ad, g))
    feats = features()
    dataset = DatasetDict({sp: Dataset.from_list(rows[sp], features=feats) for sp in SPLITS})

    card = _card(
        kept=kept,
        splits=splits,
        groups=groups,
        loaded=loaded,
        dedup_stats=dd.stats,
        problems=problems,
        seed=seed,
        fractions=fractions,
        shared_root=shared_root,
        seed_root=seed_root,
        renamed=renamed,
    )
    card["test_source"] = test_source
    card["build_seconds"] = round(time.perf_counter() - t0, 2)
    if out_dir is not None:
        save_corpus(dataset, card, dd.removed, out_dir)
        if write_repo_card is None:
            write_repo_card = (
                seed_dir is None
                and shared_data is None
                and seed == DEFAULT_SEED
                and fractions == (0.7, 0.15, 0.15)
                and test_source is None
            )
        if write_repo_card:
            atomic.write_text(REPO_CARD, card_markdown(card))
    return Corpus(dataset=dataset, card=card, problems=list(problems))


def save_corpus(dataset: Any, card: dict[str, Any], removed: list[dict[str, Any]], out_dir: str | os.PathLike) -> Path:
    """Write the DatasetDict, CARD.md, card.json and dedup_removed.jsonl into `out_dir`, atomically.

    Everything is written to a sibling temporary directory first, then swapped in, so a
    reader never sees half a corpus.
    """
    out = Path(out_dir).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    try:
        import datasets

        datasets.disable_progress_bars()
        dataset.save_to_disk(str(tmp / "dataset"))
        (tmp / "card.json").write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        (tmp / "CARD.md").write_text(card_markdown(card), encoding="utf-8")
        with (tmp / "dedup_removed.jsonl").open("w", encoding="utf-8") as fh:
            for r in removed:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        atomic.replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def load_corpus(path: str | os.PathLike):
    """The DatasetDict of a built corpus directory (or of a `save_to_disk` directory itself)."""
    from datasets import load_from_disk

    p = Path(path)
    if (p / "dataset").is_dir():
        p = p / "dataset"
    if not p.is_dir():
        raise NotFoundError(f"{path}: no built corpus here (run `trafficking-ads data build -o {path}`)")
    return load_from_disk(str(p))


def _card(
    *, kept, splits, groups, loaded, dedup_stats, problems, seed, fractions, shared_root, seed_root, renamed
) -> dict[str, Any]:
    per_split_source: dict[str, dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: {"ads": 0, "positives": 0})
    )
    per_split_lang: dict[str, dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: {"ads": 0, "positives": 0})
    )
    for ad, sp in zip(kept, splits):
        for table, key in ((per_split_source, ad.source or ""), (per_split_lang, ad.language or "")):
            cell = table[sp][key]
            cell["ads"] += 1
            cell["positives"] += int(ad.label == 1)
    group_sizes = Counter(groups)
    group_splits = {g: sp for g, sp in zip(groups, splits)}
    groups_per_split = Counter(group_splits.values())
    return {
        "name": "trafficking-ads corpus",
        "seed": seed,
        "fractions": dict(zip(SPLITS, fractions)),
        "shared_data": str(shared_root) if shared_root is not None else None,
        "seed_dir": str(seed_root),
        "loaded_by_source": dict(sorted(loaded.items())),
        "kept_by_family": dict(sorted(Counter(source_family(a) for a in kept).items())),
        "splits": split_counts(kept, splits),
        "by_split_and_source": {sp: dict(sorted(per_split_source[sp].items())) for sp in SPLITS},
        "by_split_and_language": {sp: dict(sorted(per_split_lang[sp].items())) for sp in SPLITS},
        "groups_per_split": {sp: groups_per_split.get(sp, 0) for sp in SPLITS},
        "dedup": dedup_stats,
        "largest_groups": [{"id": g, "size": s} for g, s in group_sizes.most_common(5)],
        "ids_renamed": renamed,
        "skipped_rows": len(problems),
        "skipped_examples": [str(p) for p in list(problems)[:20]],
        "placement": PLACEMENT,
        "columns": list(COLUMNS),
    }


def _pct(num: int, den: int) -> str:
    return f"{100 * num / den:.1f}%" if den else "–"


def card_markdown(card: dict[str, Any]) -> str:
    """The corpus card as markdown (what `CARD.md` and `data/CORPUS_CARD.md` hold)."""
    d = card["dedup"]
    lines = [
        "# Corpus card: trafficking-ads training corpus",
        "",
        "Generated by `trafficking-ads data build`; do not edit by hand. "
        f"Split seed {card['seed']}, fractions "
        + ", ".join(f"{k} {v:.0%}" for k, v in card["fractions"].items())
        + f"; built in {card.get('build_seconds', '?')} s.",
        "",
        "## Sources loaded",
        "",
        "| source | rows loaded |",
        "|---|---:|",
    ]
    lines += [f"| {s} | {n} |" for s, n in card["loaded_by_source"].items()]
    lines += [
        "",
        f"Rows skipped as unreadable: {card['skipped_rows']}."
        + (" Examples: " + "; ".join(card["skipped_examples"][:5]) if card["skipped_examples"] else ""),
        "",
        "## Splits",
        "",
        "| split | ads | fraudulent / risky | share positive | template groups |",
        "|---|---:|---:|---:|---:|",
    ]
    for sp, c in card["splits"].items():
        lines.append(
            f"| {sp} | {c['ads']} | {c['positives']} | {_pct(c['positives'], c['ads'])} | {card['groups_per_split'][sp]} |"
        )
    lines += [
        "",
        "### Per language (ads / positives)",
        "",
        "| language | " + " | ".join(SPLITS) + " |",
        "|---|" + "---:|" * len(SPLITS),
    ]
    langs = sorted({l for sp in SPLITS for l in card["by_split_and_language"][sp]})
    for l in langs:
        cells = [card["by_split_and_language"][sp].get(l, {"ads": 0, "positives": 0}) for sp in SPLITS]
        lines.append(f"| {l} | " + " | ".join(f"{c['ads']} / {c['positives']}" for c in cells) + " |")
    lines += [
        "",
        "### Per source (ads / positives)",
        "",
        "| source | " + " | ".join(SPLITS) + " |",
        "|---|" + "---:|" * len(SPLITS),
    ]
    srcs = sorted({s for sp in SPLITS for s in card["by_split_and_source"][sp]})
    for s in srcs:
        cells = [card["by_split_and_source"][sp].get(s, {"ads": 0, "positives": 0}) for sp in SPLITS]
        lines.append(f"| {s} | " + " | ".join(f"{c['ads']} / {c['positives']}" for c in cells) + " |")
    p = d["params"]
    lines += [
        "",
        "## Deduplication and template groups",
        "",
        f"Ads are compared on a normalised form (HTML unescaped, masked #URL/#EMAIL/#PHONE tokens and "
        f"punctuation removed, lowercased, English stop words removed, joined without spaces so glued "
        f"words match) as character {p['shingle_size']}-gram shingles; MinHash LSH ("
        f"{p['num_perm']} permutations) proposes candidate pairs, confirmed on the exact shingle sets.",
        "",
        f"- input ads: {d['input_ads']}; kept: {d['kept_ads']}",
        f"- exact duplicates removed: {d['exact_duplicates_removed']} (label conflicts among them: {d['exact_label_conflicts']})",
        f"- near duplicates removed (Jaccard >= {p['near_threshold']}, or containment >= {p['containment_threshold']} "
        f"of a copy with >= {p['min_contained_shingles']} shingles; same label): {d['near_duplicates_removed']}",
        f"- near-duplicate pairs with different labels (both kept, same group): {d.get('near_label_conflicts', 0)}",
        f"- near-copy pairs within the seed set (written variants of a template: kept, same group): {d.get('seed_near_pairs_kept', 0)}",
        f"- template groups (union-find over Jaccard >= {p['template_threshold']}, duplicates and seed templates): "
        f"{d['template_groups']}, of which {d['multi_ad_groups']} hold more than one ad; largest: "
        f"{d['largest_group']['size']} ads (`{d['largest_group']['id']}`)",
        "",
        "Removed by kind and source:",
        "",
        "| kind | source | removed |",
        "|---|---|---:|",
    ]
    for kind, by_src in d["removed_by_source"].items():
        lines += [f"| {kind} | {s} | {n} |" for s, n in by_src.items()]
    lines += [
        "",
        "Removed copies by where their kept representative came from (cross-source overlap):",
        "",
        "| removed from -> kept from | rows |",
        "|---|---:|",
    ]
    lines += [f"| {k} | {n} |" for k, n in d.get("removed_into", {}).items()]
    lines += [
        "",
        "Every removed row and its representative: `dedup_removed.jsonl` in the build directory.",
        "",
        "## Placement",
        "",
    ]
    lines += [f"- **{k}**: {v}" for k, v in card["placement"].items()]
    lines += [
        "",
        "## Columns",
        "",
        "`" + "`, `".join(card["columns"]) + "`. `label`: 1 = deceptive: an EMSCAD `fraudulent` ad or a "
        "DIFrauD deceptive one (generic English job scams, not trafficking as such) or a seed ad written to "
        "show trafficking-recruitment risk; 0 = not (platform vacancies are 0 as *unverified* legitimate "
        "ads, see `meta.label_note`). Report metrics per source and language: the sources differ in what "
        "label 1 means. `group`: the "
        "template group (no group spans two splits). `meta`: JSON of source-specific fields (EMSCAD flags, "
        "seed indicators/template/hard_negative/style).",
        "",
    ]
    return "\n".join(lines)
