"""The evaluation protocol: a model and the TF-IDF baseline, scored side by side on the same rows.

`evaluate(...)` scores labelled ads with any model through `load_scorer(model).score_many`,
flags at the model's operating threshold (model.json `operating_threshold`, else its
`medium` band threshold), and reports the deceptive class's metrics overall, per language
and per source, the false-positive rate on real RU/KZ vacancies, and calibration. In the
same run it fits the baseline on the corpus's train split (operating point: best F1 on
dev) and scores the same rows, so the comparison is like for like.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Sequence

from .. import atomic
from ..problems import DataError, Problems, json_object_lines
from ..records import OPTIONAL_STR_FIELDS, Ad
from .metrics import band_metrics, best_f1_threshold, grouped_metrics
from ..errors import OperationError

#: Ad fields a JSONL evaluation row may carry besides text and label.
_AD_FIELDS = (*(f for f in OPTIONAL_STR_FIELDS if f != "language"), "meta")


def read_labelled_jsonl(
    path: str | os.PathLike, *, problems: Problems | None = None, part: str | None = None
) -> list[Ad]:
    """Labelled ads from JSONL: `text` (may be empty when `title` is not) and `label` (0/1) required; `lang`/`language`, `source`,
    `title` and the other Ad fields optional. Bad lines are skipped and reported. With `part`,
    rows whose `part` field names another part are left out (the hard set's `fit` half
    chose the bands, so only its `test` half measures them)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file")
    problems = problems if problems is not None else Problems()
    ads: list[Ad] = []
    for i, d in json_object_lines(p, problems):
        if part is not None and d.get("part") not in (None, part):
            continue
        text = d.get("text")
        title = d.get("title")
        if not isinstance(text, str) or not (text.strip() or (isinstance(title, str) and title.strip())):
            problems.report(p, i, "text", "missing text (and no title)")
            continue
        label = d.get("label")
        if isinstance(label, bool) or label not in (0, 1):
            problems.report(p, i, "label", f"label must be 0 or 1, got {label!r}")
            continue
        kw = {k: d[k] for k in _AD_FIELDS if d.get(k) is not None}
        if not isinstance(kw.get("meta", {}), dict):
            kw.pop("meta")
        kw = {k: (v if k == "meta" else str(v)) for k, v in kw.items()}
        if "hard_negative" in d:
            kw["meta"] = {**kw.get("meta", {}), "hard_negative": bool(d["hard_negative"])}
        ads.append(Ad(text=text, label=int(label), language=d.get("lang") or d.get("language"), **kw))
    return ads


def load_eval_ads(data: str | os.PathLike, split: str = "test", *, problems: Problems | None = None) -> list[Ad]:
    """Ads to evaluate on: a JSONL file, or one split of a built corpus directory."""
    p = Path(data)
    if p.is_dir():
        from ..corpus.build import load_corpus, row_to_ad

        dd = load_corpus(p)
        if split not in dd:
            raise DataError(f"{p}: no split {split!r} (has {', '.join(dd.keys())})")
        return [row_to_ad(r) for r in dd[split]]
    return read_labelled_jsonl(p, problems=problems, part=split)


def model_threshold(model_dir: Path) -> tuple[float, str]:
    """The model's operating threshold and where it came from."""
    card = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    if isinstance(card.get("operating_threshold"), (int, float)):
        return float(card["operating_threshold"]), "model.json operating_threshold"
    th = card.get("thresholds") or {}
    if isinstance(th.get("medium"), (int, float)):
        return float(th["medium"]), "model.json thresholds.medium"
    return 0.5, "default 0.5 (model.json names no threshold)"


def _norm_hash(ad: Ad) -> str:
    from ..text.canonical import comparison_text, normalize_tokens

    return hashlib.sha1(" ".join(normalize_tokens(comparison_text(ad))).encode("utf-8")).hexdigest()


def training_corpus(train: str | os.PathLike | None, *, shared_data=None, seed_dir=None, seed: int = 13):
    """(DatasetDict, where it came from): `train` dir, else the default build dir, else built now."""
    from ..corpus.build import DEFAULT_CORPUS_DIR, build_corpus, load_corpus

    if train is not None:
        return load_corpus(train), str(train)
    if (DEFAULT_CORPUS_DIR / "dataset").is_dir() and shared_data is None and seed_dir is None:
        return load_corpus(DEFAULT_CORPUS_DIR), str(DEFAULT_CORPUS_DIR)
    corpus = build_corpus(None, shared_data=shared_data, seed_dir=seed_dir, seed=seed)
    return corpus.dataset, "built in this run (not saved)"


def run_baseline(eval_ads: Sequence[Ad], corpus, source: str) -> tuple[list[float], dict[str, Any]]:
    """Fit the TF-IDF baseline on the corpus train split, set its threshold on dev, score `eval_ads`."""
    from ..corpus.build import row_to_ad
    from ..model.lexical import TfidfLogReg

    t0 = time.perf_counter()
    train_ads = [row_to_ad(r) for r in corpus["train"]]
    model = TfidfLogReg().fit(train_ads, [a.label for a in train_ads])
    info: dict[str, Any] = {
        "name": TfidfLogReg.name,
        "train_source": source,
        "train_n": len(train_ads),
        "train_positives": sum(a.label for a in train_ads),
    }
    if "dev" in corpus and len(corpus["dev"]):
        dev_ads = [row_to_ad(r) for r in corpus["dev"]]
        model.threshold = best_f1_threshold([a.label for a in dev_ads], model.predict_proba(dev_ads))
        info["threshold_source"] = f"best F1 on the corpus dev split (n={len(dev_ads)})"
    else:
        info["threshold_source"] = "default 0.5 (no dev split)"
    info["threshold"] = model.threshold
    train_hashes = {_norm_hash(a) for a in train_ads}
    info["eval_rows_in_train"] = sum(1 for a in eval_ads if _norm_hash(a) in train_hashes)
    scores = model.predict_proba(list(eval_ads)).tolist() if eval_ads else []
    info["seconds"] = round(time.perf_counter() - t0, 2)
    return scores, info


def evaluate(
    data: str | os.PathLike,
    *,
    model: str | os.PathLike | None = None,
    split: str = "test",
    train: str | os.PathLike | None = None,
    baseline: bool = True,
    shared_data: str | os.PathLike | None = None,
    seed_dir: str | os.PathLike | None = None,
    strict: bool = False,
    scorer: Any = None,
    threshold: float | None = None,
) -> dict[str, Any]:
    """Evaluate a model (default: the shipped default) and the baseline on labelled data.

    `data` is a JSONL file of labelled ads or a built corpus directory (then `split` picks
    the split). `scorer` evaluates an already loaded `Scorer` instead of a model directory
    (its operating point: `threshold`, else its `threshold` attribute, else 0.5); a given
    `threshold` also overrides a model directory's. Returns a JSON-ready dict;
    `write_markdown` renders it.
    """
    from ..scoring import load_scorer, resolve_model_dir

    problems = Problems(strict=strict)
    ads = load_eval_ads(data, split, problems=problems)
    if not ads:
        raise DataError(f"{data}: no labelled rows to evaluate")
    labels = [int(a.label) for a in ads]
    langs = [a.language for a in ads]
    sources = [a.source for a in ads]
    hard = [bool((a.meta or {}).get("hard_negative")) for a in ads]

    model_dir: Path | None = None
    if scorer is None:
        model_dir = resolve_model_dir(model)
        th, threshold_source = model_threshold(model_dir)
        scorer = load_scorer(model_dir)
    elif isinstance(getattr(scorer, "threshold", None), (int, float)):
        th, threshold_source = float(scorer.threshold), "the scorer's threshold attribute"
    else:
        th, threshold_source = 0.5, "default 0.5"
    if threshold is not None:
        th, threshold_source = float(threshold), "given by the caller"
    threshold = th
    bands = getattr(scorer, "thresholds", None) or {}
    t0 = time.perf_counter()
    scores = [float(a.risk) for a in scorer.score_many(ads)]
    seconds = time.perf_counter() - t0
    if len(scores) != len(ads):
        raise OperationError(f"scorer returned {len(scores)} assessments for {len(ads)} ads")

    result: dict[str, Any] = {
        "created_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "data": {
            "path": str(data),
            "split": split,
            "n": len(ads),
            "positives": sum(labels),
            "skipped_rows": len(problems),
            "skipped_examples": [str(p) for p in list(problems)[:10]],
        },
        "model": {
            "bands": band_metrics(labels, scores, bands, languages=langs, sources=sources, hard_negatives=hard)
            if bands
            else None,
            "name": scorer.info.name,
            "version": scorer.info.version,
            "dir": str(model_dir) if model_dir else None,
            "threshold": threshold,
            "threshold_source": threshold_source,
            "seconds": round(seconds, 2),
            "metrics": grouped_metrics(
                labels, scores, threshold, languages=langs, sources=sources, hard_negatives=hard
            ),
        },
    }
    if baseline:
        corpus, source = training_corpus(train, shared_data=shared_data, seed_dir=seed_dir)
        b_scores, info = run_baseline(ads, corpus, source)
        info["metrics"] = grouped_metrics(
            labels, b_scores, info["threshold"], languages=langs, sources=sources, hard_negatives=hard
        )
        result["baseline"] = info
    return result


def write_json(result: dict[str, Any], path: str | os.PathLike) -> None:
    """Write an evaluation result as JSON, atomically."""
    atomic.write_json(path, result)
