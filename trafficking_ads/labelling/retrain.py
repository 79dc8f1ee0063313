"""Retraining: continue a model on the original corpus plus new labels, and compare it with its parent.

`retrain(from_model, labels, out_dir)`:

1. reads the labels store(s) (`label` 0/1; `unsure` and unresolved ties are left out);
2. adds them to the original training corpus, group-aware: a new ad that is a near-copy
   or template sibling (character-shingle Jaccard >= 0.5, the corpus builder's template
   threshold) of a corpus ad joins that ad's group and split; an ad whose text is the same
   as a corpus ad's replaces it (the human label wins); the remaining new ads are grouped
   among themselves the same way and their groups split train/dev/test like the corpus
   (70/15/15, stratified). So a new ad never sits in training while its near-copy is held out;
3. continues training from the parent's adapters and head (a transformer parent; an
   indicator-only parent has none, so the transformer then starts fresh), with the parent's
   training options unless `config` overrides them, on old + new data together so that it
   does not forget what it knew;
4. refits fusion and calibration on the new dev split (the training API does this), then
   evaluates the new model *and* the parent on the same held-out test split with
   `trafficking_ads.evaluation.evaluate`;
5. writes the model directory with `metrics.json` (the evaluation), model.json fields
   `created_at`, `parent`, `data`, `metrics`, `comparison` (read by `models promote`'s
   gate), and `MODEL_CARD.md` with the comparison table. The directory appears atomically.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import inspect
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import InvalidValueError
from ..model_card import ModelCard, load_card
from ..problems import DataError, Problems
from ..records import Ad
from ..atomic import replace_dir, write_json as atomic_write_json, write_text as atomic_write_text
from .labels import read_labels, training_ads

#: Jaccard at which a new ad counts as the same template as another (corpus.dedup's default).
TEMPLATE_THRESHOLD = 0.5
SPLITS = ("train", "dev", "test")
#: Metrics copied into the comparison table (from evaluate's "overall" block).
COMPARED = ("pr_auc", "roc_auc", "precision", "recall", "f1", "fpr", "recall_at_fpr_0.05", "brier", "ece")


@dataclass
class Placement:
    """Where each new labelled ad went, and why."""

    split_of: dict[str, str] = field(default_factory=dict)  # ad id -> split
    group_of: dict[str, str] = field(default_factory=dict)  # ad id -> template group
    replaced: int = 0  # same text as a corpus ad: that row now carries the human label
    relabelled: int = 0  # ... and the label changed
    joined_corpus_group: int = 0  # a template sibling of a corpus ad: placed with it
    bridging: int = 0  # siblings of corpus ads in more than one split (placed with the most similar)
    new_groups: int = 0

    def summary(self) -> dict[str, Any]:
        per = {sp: sum(1 for s in self.split_of.values() if s == sp) for sp in SPLITS}
        return {
            "added": len(self.split_of),
            "per_split": per,
            "replaced_corpus_rows": self.replaced,
            "relabelled_corpus_rows": self.relabelled,
            "joined_corpus_template_group": self.joined_corpus_group,
            "siblings_across_splits": self.bridging,
            "new_template_groups": self.new_groups,
        }


def add_labels(
    corpus: Any, new_ads: Sequence[Ad], *, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15), seed: int = 13
) -> tuple[Any, Placement]:
    """The corpus (DatasetDict train/dev/test) with `new_ads` placed group-aware (see the module docstring)."""
    from datasets import Dataset, DatasetDict

    from ..corpus.build import COLUMNS, ad_to_row, features, row_to_ad
    from ..corpus.dedup import candidate_pairs, char_shingle_hashes, comparison_text, normalize_tokens, similarity
    from ..corpus.splits import split_groups
    from ..unionfind import UnionFind

    place = Placement()
    rows = {sp: [dict(r) for r in corpus[sp]] if sp in corpus else [] for sp in SPLITS}
    flat = [(sp, i) for sp in SPLITS for i in range(len(rows[sp]))]
    old_ads = [row_to_ad(rows[sp][i]) for sp, i in flat]
    toks = [normalize_tokens(comparison_text(a)) for a in old_ads] + [
        normalize_tokens(comparison_text(a)) for a in new_ads
    ]
    n_old = len(old_ads)
    sets = [char_shingle_hashes(t) for t in toks]
    norm = {" ".join(t): k for k, t in enumerate(toks[:n_old]) if t}

    # 1. same text as a corpus row: the human label replaces the row's label in place
    remaining: list[int] = []
    for j, ad in enumerate(new_ads):
        k = norm.get(" ".join(toks[n_old + j]))
        if k is None:
            remaining.append(j)
            continue
        sp, i = flat[k]
        place.replaced += 1
        if int(rows[sp][i]["label"]) != int(ad.label):
            place.relabelled += 1
        rows[sp][i]["label"] = int(ad.label)
        place.split_of[ad.id] = sp
        place.group_of[ad.id] = rows[sp][i]["group"]

    # 2. template siblings (Jaccard >= TEMPLATE_THRESHOLD) among corpus + remaining new ads
    idx = list(range(n_old)) + [n_old + j for j in remaining]
    pairs = candidate_pairs([sets[k] for k in idx], threshold=0.3)
    best_old: dict[int, tuple[float, int, set[str]]] = {}
    uf: UnionFind[int] = UnionFind(range(len(new_ads)))
    for a, b in pairs:
        ka, kb = idx[a], idx[b]
        if ka < n_old and kb < n_old:
            continue  # two corpus ads: already grouped by the corpus builder
        jac, _ = similarity(sets[ka], sets[kb])
        if jac < TEMPLATE_THRESHOLD:
            continue
        if ka >= n_old and kb >= n_old:
            uf.union(ka - n_old, kb - n_old)
            continue
        new_k, old_k = (ka, kb) if ka >= n_old else (kb, ka)
        prev = best_old.get(new_k - n_old)
        seen = (prev[2] if prev else set()) | {flat[old_k][0]}
        best = (jac, old_k) if prev is None or jac > prev[0] else prev[:2]
        best_old[new_k - n_old] = (*best, seen)

    # a component of new ads follows its most similar corpus sibling, if any
    comps: dict[int, list[int]] = {}
    for j in remaining:
        comps.setdefault(uf.find(j), []).append(j)
    free_ads: list[Ad] = []
    free_groups: list[str] = []
    for members in comps.values():
        anchors = [best_old[j] for j in members if j in best_old]
        if anchors:
            jac, old_k, _ = max(anchors, key=lambda t: t[0])
            sp, i = flat[old_k]
            group = rows[sp][i]["group"]
            if len(set().union(*(a[2] for a in anchors))) > 1:
                place.bridging += len(members)
            for j in members:
                place.split_of[new_ads[j].id] = sp
                place.group_of[new_ads[j].id] = group
                place.joined_corpus_group += 1
        else:
            group = "label:" + hashlib.sha1(min(new_ads[j].id for j in members).encode()).hexdigest()[:12]
            place.new_groups += 1
            for j in members:
                free_ads.append(new_ads[j])
                free_groups.append(group)
                place.group_of[new_ads[j].id] = group
    if free_ads:
        for ad, sp in zip(free_ads, split_groups(free_ads, free_groups, fractions=fractions, seed=seed)):
            place.split_of[ad.id] = sp

    replaced_ids = {new_ads[j].id for j in range(len(new_ads)) if j not in remaining}
    for ad in new_ads:
        if ad.id not in replaced_ids:
            row = ad_to_row(ad, place.group_of[ad.id])
            row["source"] = row["source"] or "label"
            rows[place.split_of[ad.id]].append(row)
    feats = features()
    out = DatasetDict(
        {sp: Dataset.from_list([{c: r.get(c) for c in COLUMNS} for r in rows[sp]], features=feats) for sp in SPLITS}
    )
    return out, place


def held_out_fingerprint(ads: Sequence[Ad]) -> str:
    """sha256 over the sorted (id, label, text hash) of the held-out rows: same rows, same print."""
    h = hashlib.sha256()
    for key in sorted(f"{a.id}\x00{a.label}\x00{hashlib.sha1(a.text.encode('utf-8')).hexdigest()}" for a in ads):
        h.update(key.encode())
        h.update(b"\n")
    return h.hexdigest()


def _next_version(version: str) -> str:
    """`0.1.0` -> `0.1.0.r1`, `0.1.0.r1` -> `0.1.0.r2`."""
    m = re.fullmatch(r"(.*)\.r(\d+)", version)
    return f"{m.group(1)}.r{int(m.group(2)) + 1}" if m else f"{version}.r1"


def _config(parent_dir: Path, parent_card: ModelCard, config: Any):
    """The run's TrainConfig: the parent's options (so its adapters fit), then the overrides."""
    from ..model.train import TrainConfig

    base: dict[str, Any] = {}
    training = parent_dir / "training.json"
    if parent_card.kind == "transformer" and training.is_file():
        base = dict(json.loads(training.read_text(encoding="utf-8")).get("config") or {})
    names = set(TrainConfig.__dataclass_fields__)
    base = {k: v for k, v in base.items() if k in names}
    if isinstance(config, TrainConfig):
        over = {k: v for k, v in config.to_dict().items() if v != getattr(TrainConfig(), k)}
    elif isinstance(config, dict):
        over = dict(config)
    elif config is not None:
        import yaml

        over = yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {}
        if not isinstance(over, dict):
            raise InvalidValueError(f"{config}: expected a mapping of training options")
    else:
        over = {}
    cfg = TrainConfig.from_dict({**base, **over})
    if "name" not in over:
        cfg.name = parent_card.name if parent_card.kind == "transformer" else cfg.name
    if "version" not in over:
        cfg.version = _next_version(parent_card.version) if parent_card.kind == "transformer" else cfg.version
    return cfg


def _eval_jsonl(ads: Sequence[Ad], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for a in ads:
            d = {
                "id": a.id,
                "text": a.text,
                "label": int(a.label),
                "title": a.title,
                "lang": a.language,
                "source": a.source,
                "company_name": a.company_name,
                "company_profile": a.company_profile,
                "location": a.location,
                "salary": a.salary,
                "url": a.url,
                "meta": a.meta,
            }
            fh.write(json.dumps({k: v for k, v in d.items() if v is not None}, ensure_ascii=False) + "\n")


def _overall(result: dict[str, Any]) -> dict[str, Any]:
    o = result["model"]["metrics"]["overall"]
    return {k: o.get(k) for k in COMPARED}


def _fmt(v: Any) -> str:
    return "–" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)


def retrain_section(card: dict[str, Any]) -> str:
    """The model card's retraining section: lineage, data, and the comparison with the parent."""
    comp = card["comparison"]
    p, c = comp["parent"], comp["this"]
    lines = [
        "## Retraining: lineage and comparison with the parent",
        "",
        f"Retrained {card['created_at']} from **{p['name']} {p['version']}** ({card['parent']['kind']}, `{card['parent']['dir']}`); "
        f"init: {card['retrain']['init']}.",
        "",
        f"- original corpus: {card['data']['corpus']} ({', '.join(f'{k} {v}' for k, v in card['data']['corpus_sizes'].items())} after adding the labels)",
    ]
    for lab in card["data"]["labels"]:
        lines.append(
            f"- labels: `{lab['path']}` (sha256 {lab['sha256'][:12]}…): {lab['records']} records, {lab['trainable']} with a 0/1 label"
        )
    pl = card["data"]["placement"]
    lines += [
        f"- placement of the {pl['added']} labelled ads (group-aware): "
        + ", ".join(f"{k} {v}" for k, v in pl["per_split"].items())
        + f"; {pl['replaced_corpus_rows']} replaced a corpus row with the same text ({pl['relabelled_corpus_rows']} changed its label), "
        f"{pl['joined_corpus_template_group']} joined a corpus template group, {pl['new_template_groups']} new template groups",
        "",
        f"Both models scored the same held-out rows: the test split, n={comp['held_out']['n']} "
        f"({comp['held_out']['positives']} deceptive; fingerprint {comp['held_out']['fingerprint'][:12]}…), each at its own operating threshold.",
        "",
        f"| metric | {p['name']} {p['version']} (parent) | {c['name']} {c['version']} (this) | change |",
        "|---|---:|---:|---:|",
    ]
    for k in COMPARED:
        a, b = p["metrics"].get(k), c["metrics"].get(k)
        d = f"{b - a:+.4f}" if isinstance(a, (int, float)) and isinstance(b, (int, float)) else "–"
        lines.append(f"| {k} | {_fmt(a)} | {_fmt(b)} | {d} |")
    lab = comp.get("labelled_held_out")
    if lab:
        lines += [
            "",
            f"On the newly labelled ads in the held-out split alone (n={lab['n']}, {lab['positives']} deceptive): "
            + "; ".join(
                f"{k} parent {_fmt(lab.get('parent_' + k))}, this {_fmt(lab.get('this_' + k))}"
                for k in ("pr_auc", "recall", "fpr")
            )
            + " (– where the subset lacks one class).",
        ]
    lines += ["", "Promote with `trafficking-ads models promote <dir>` (the gate compares these PR-AUCs).", ""]
    return "\n".join(lines)


def card_markdown(model_dir: Path, card: dict[str, Any], metrics_path: Path) -> str:
    """MODEL_CARD.md: the model engineer's card (from model.json, training.json, the evaluation), then the retraining section."""
    head = f"# Model card: {card['name']} {card['version']}\n\n"
    try:
        from ..model.card import render

        head = render(model_dir, [json.loads(metrics_path.read_text(encoding="utf-8"))]).rstrip() + "\n\n"
    except (ImportError, KeyError, TypeError, ValueError):
        pass  # the general card could not be rendered: the retraining section still stands alone
    return head + retrain_section(card)


def retrain(
    from_model: str | os.PathLike,
    labels_path: str | os.PathLike | Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    data_dir: str | os.PathLike | None = None,
    config: Any = None,
    *,
    strict: bool = False,
    seed: int = 13,
    log: Callable[[str], None] = print,
) -> Path:
    """Retrain `from_model` with the labels in `labels_path` and write `out_dir` (see the module docstring).

    `config` is a TrainConfig, a dict of its fields, or a YAML path; unspecified options are
    the parent's. `data_dir` is the original built corpus (default: `out/corpus`, else built now).
    """
    from ..corpus.build import load_corpus, row_to_ad
    from ..evaluation.evaluate import evaluate, training_corpus
    from ..model.train import train
    from ..scoring import resolve_model_dir

    parent_dir = resolve_model_dir(from_model)
    parent_card = load_card(parent_dir)
    paths = [Path(labels_path)] if isinstance(labels_path, (str, os.PathLike)) else [Path(p) for p in labels_path]
    problems = Problems(strict=strict)
    label_info = []
    new_ads: dict[str, Ad] = {}
    for p in paths:
        recs = read_labels(p, problems=problems)
        ads = training_ads(recs)
        label_info.append(
            {
                "path": str(p),
                "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                "records": len(recs),
                "trainable": len(ads),
            }
        )
        for a in ads:
            new_ads[a.id] = a  # a later file's label for the same ad wins
    for pr in problems:
        log(f"skipped: {pr}")
    if not new_ads:
        raise DataError(f"{', '.join(map(str, paths))}: no labelled ads with a deceptive/legitimate verdict to add")

    if data_dir is not None:
        corpus, corpus_src = load_corpus(data_dir), str(data_dir)
    else:
        corpus, corpus_src = training_corpus(None, seed=seed)
    combined, place = add_labels(corpus, list(new_ads.values()), seed=seed)
    sizes = {sp: len(combined[sp]) for sp in SPLITS}
    log(
        f"corpus {corpus_src} + {len(new_ads)} labelled ads: "
        + ", ".join(f"{k} {v}" for k, v in place.summary()["per_split"].items())
        + f" (replaced {place.replaced}, joined corpus groups {place.joined_corpus_group})"
    )

    cfg = _config(parent_dir, parent_card, config)
    init_from = parent_dir if parent_card.kind == "transformer" else None
    accepts_init = "init_from" in inspect.signature(train).parameters
    if init_from is not None and not accepts_init:
        init_note = "from scratch: the training API has no init_from hook"
        init_from = None
    elif init_from is not None:
        init_note = f"continued from the parent's adapters and head ({parent_dir})"
    else:
        init_note = f"from scratch: the parent is kind {parent_card.kind!r} (no adapters to continue from)"

    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.retrain.", dir=out.parent))
    try:
        model_tmp = work / "model"
        kwargs = {"init_from": init_from} if init_from is not None else {}
        train(combined, model_tmp, cfg, log=log, **kwargs)

        test_ads = [row_to_ad(r) for r in combined["test"]]
        if not test_ads or len({a.label for a in test_ads}) < 2:
            raise DataError("the held-out test split needs both labels to compare models")
        held_jsonl = work / "held_out.jsonl"
        _eval_jsonl(test_ads, held_jsonl)
        held = {
            "path": str(corpus_src),
            "split": "test+labels",
            "n": len(test_ads),
            "positives": sum(int(a.label) for a in test_ads),
            "fingerprint": held_out_fingerprint(test_ads),
        }
        results = {}
        for who, mdir in (("this", model_tmp), ("parent", parent_dir)):
            r = evaluate(held_jsonl, model=mdir, baseline=False)
            r["data"] = {**r["data"], **held}
            r["model"]["dir"] = str(out) if who == "this" else str(parent_dir)
            results[who] = r
        labelled_ids = {a.id for a in test_ads if a.source == "label"}
        lab_cmp = None
        if labelled_ids:
            src = {w: (results[w]["model"]["metrics"].get("by_source") or {}).get("label") or {} for w in results}
            lab_cmp = {"n": src["this"].get("n"), "positives": src["this"].get("positives")}
            for key in ("pr_auc", "recall", "fpr"):
                lab_cmp[f"this_{key}"] = src["this"].get(key)
                lab_cmp[f"parent_{key}"] = src["parent"].get(key)

        card = json.loads((model_tmp / "model.json").read_text(encoding="utf-8"))
        now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        this_m, parent_m = _overall(results["this"]), _overall(results["parent"])
        card.update(
            created_at=now,
            parent={
                "name": parent_card.name,
                "version": parent_card.version,
                "kind": parent_card.kind,
                "dir": str(parent_dir),
            },
            data={"corpus": corpus_src, "corpus_sizes": sizes, "labels": label_info, "placement": place.summary()},
            metrics={"pr_auc": this_m["pr_auc"], "data": held, "source": "metrics.json"},
            comparison={
                "held_out": held,
                "parent": {
                    "name": parent_card.name,
                    "version": parent_card.version,
                    "pr_auc": parent_m["pr_auc"],
                    "metrics": parent_m,
                },
                "this": {
                    "name": card.get("name"),
                    "version": card.get("version"),
                    "pr_auc": this_m["pr_auc"],
                    "metrics": this_m,
                },
                "pr_auc_change": None
                if this_m["pr_auc"] is None or parent_m["pr_auc"] is None
                else this_m["pr_auc"] - parent_m["pr_auc"],
                "labelled_held_out": lab_cmp,
            },
            retrain={"init": init_note, "seed": seed},
        )
        atomic_write_json(model_tmp / "model.json", card)
        atomic_write_json(model_tmp / "metrics.json", results["this"])
        atomic_write_json(model_tmp / "parent_metrics.json", results["parent"])
        atomic_write_text(model_tmp / "MODEL_CARD.md", card_markdown(model_tmp, card, model_tmp / "metrics.json"))
        log(
            f"held-out PR-AUC: parent {_fmt(parent_m['pr_auc'])} -> this {_fmt(this_m['pr_auc'])} (n={held['n']}, {held['positives']} deceptive)"
        )
        replace_dir(model_tmp, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out
