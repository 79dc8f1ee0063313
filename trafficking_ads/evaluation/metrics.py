"""Metrics for the deceptive class (label 1), each safe on degenerate groups.

Thin wrappers over scikit-learn where it has the metric; own code for recall at a fixed
false-positive rate and for expected calibration error, whose definitions vary between
libraries (here: equal-width bins, and the best recall whose FPR does not exceed the cap).
A metric that needs both classes is `None` (JSON null) when a group holds only one.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from ..errors import InvalidValueError

#: False-positive-rate caps at which recall is reported.
FPR_CAPS = (0.01, 0.05)
ECE_BINS = 10


def _arrays(y_true: Sequence[int], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=int)
    s = np.asarray(scores, dtype=float)
    if y.shape != s.shape:
        raise InvalidValueError(f"labels and scores differ in length: {y.shape} vs {s.shape}")
    if y.size and not np.isin(y, (0, 1)).all():
        raise InvalidValueError("labels must be 0 or 1")
    if not np.isfinite(s).all():
        raise InvalidValueError("scores must be finite")
    return y, s


def recall_at_fpr(y_true: Sequence[int], scores: Sequence[float], max_fpr: float) -> tuple[float | None, float | None]:
    """(recall, threshold): the highest recall of any threshold `score >= t` whose FPR <= max_fpr.

    Tied scores move together (a threshold cannot split them). `None` without both classes;
    threshold `None` when only "flag nothing" stays under the cap (recall 0).
    """
    y, s = _arrays(y_true, scores)
    pos, neg = int(y.sum()), int((1 - y).sum())
    if pos == 0 or neg == 0:
        return None, None
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    tps = np.cumsum(y_sorted)
    fps = np.cumsum(1 - y_sorted)
    # the last index of each run of equal scores: flagging "score >= s_sorted[i]"
    ends = np.r_[np.nonzero(np.diff(s_sorted))[0], y.size - 1]
    fpr = fps[ends] / neg
    tpr = tps[ends] / pos
    ok = fpr <= max_fpr + 1e-12
    if not ok.any():
        return 0.0, None
    k = int(np.argmax(np.where(ok, tpr, -1.0)))
    return float(tpr[k]), float(s_sorted[ends[k]])


def expected_calibration_error(y_true: Sequence[int], probs: Sequence[float], n_bins: int = ECE_BINS) -> float | None:
    """ECE over `n_bins` equal-width bins on [0, 1]: sum over bins of (share of rows) * |positive rate - mean prob|.

    A probability of exactly 1.0 falls in the last bin. `None` for an empty group.
    """
    y, p = _arrays(y_true, probs)
    if y.size == 0:
        return None
    if (p < 0).any() or (p > 1).any():
        raise InvalidValueError("probabilities must lie in [0, 1]")
    idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(y[m].mean() - p[m].mean())
    return float(ece)


def confusion(y_true: Sequence[int], scores: Sequence[float], threshold: float) -> dict[str, int]:
    """Counts at the operating point `score >= threshold` (flagged = predicted deceptive)."""
    y, s = _arrays(y_true, scores)
    pred = s >= threshold
    return {
        "tp": int((pred & (y == 1)).sum()),
        "fp": int((pred & (y == 0)).sum()),
        "tn": int((~pred & (y == 0)).sum()),
        "fn": int((~pred & (y == 1)).sum()),
    }


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def binary_metrics(y_true: Sequence[int], scores: Sequence[float], threshold: float) -> dict[str, Any]:
    """All metrics of one group of rows at one operating threshold (see the module docstring).

    Scores are treated as probabilities for the calibration metrics (Brier, ECE).
    """
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y, s = _arrays(y_true, scores)
    pos, neg = int(y.sum()), int((1 - y).sum())
    cm = confusion(y, s, threshold)
    precision = _ratio(cm["tp"], cm["tp"] + cm["fp"])
    recall = _ratio(cm["tp"], pos)
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    both = pos > 0 and neg > 0
    out: dict[str, Any] = {
        "n": int(y.size),
        "positives": pos,
        "negatives": neg,
        "threshold": float(threshold),
        "flagged": cm["tp"] + cm["fp"],
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "fpr": _ratio(cm["fp"], neg),
        "pr_auc": float(average_precision_score(y, s)) if both else None,
        "roc_auc": float(roc_auc_score(y, s)) if both else None,
    }
    for cap in FPR_CAPS:
        r, t = recall_at_fpr(y, s, cap)
        out[f"recall_at_fpr_{cap:g}"] = r
        out[f"threshold_at_fpr_{cap:g}"] = t
    calibrated = y.size > 0 and (s >= 0).all() and (s <= 1).all()
    out["brier"] = float(brier_score_loss(y, s)) if calibrated else None
    out["ece"] = expected_calibration_error(y, s) if calibrated else None
    out["confusion"] = cm
    return out


def best_f1_threshold(y_true: Sequence[int], scores: Sequence[float]) -> float:
    """The threshold `score >= t` that maximises F1 (used to set a baseline's operating point on dev)."""
    from sklearn.metrics import precision_recall_curve

    y, s = _arrays(y_true, scores)
    if y.sum() == 0 or y.sum() == y.size:
        return 0.5
    p, r, t = precision_recall_curve(y, s)
    f1 = np.where(p[:-1] + r[:-1] > 0, 2 * p[:-1] * r[:-1] / np.maximum(p[:-1] + r[:-1], 1e-12), 0.0)
    return float(t[int(np.argmax(f1))])


#: Source prefixes of real Russian/Kazakhstan platform vacancies (unverified label 0).
REAL_VACANCY_SOURCES = ("superjob", "hh")


def is_real_vacancy_source(source: str | None) -> bool:
    """True for `superjob`, `hh` and `superjob:<file>` / `hh:<file>` sources."""
    return (source or "").split(":", 1)[0].lower() in REAL_VACANCY_SOURCES


def grouped_metrics(
    y_true: Sequence[int],
    scores: Sequence[float],
    threshold: float,
    *,
    languages: Sequence[str | None],
    sources: Sequence[str | None],
    hard_negatives: Sequence[bool] | None = None,
) -> dict[str, Any]:
    """Metrics overall, per language and per source, plus the false-positive rates on real
    Russian/Kazakhstan platform vacancies (sources `superjob:*` and `hh:*`) and on hard
    negatives (legitimate ads written to look risky, e.g. licensed work-abroad agencies)."""
    y, s = _arrays(y_true, scores)
    langs = np.array([l or "unknown" for l in languages], dtype=object)
    srcs = np.array([x or "unknown" for x in sources], dtype=object)
    out: dict[str, Any] = {"overall": binary_metrics(y, s, threshold), "by_language": {}, "by_source": {}}
    for name, col in (("by_language", langs), ("by_source", srcs)):
        for key in sorted(set(col.tolist())):
            m = col == key
            out[name][key] = binary_metrics(y[m], s[m], threshold)
    real = np.array([is_real_vacancy_source(x) for x in srcs], dtype=bool)
    out["real_vacancies"] = _fpr_block(
        y, s, threshold, real, "rows from superjob.ru / hh.kz (unverified legitimate platform ads, label 0)"
    )
    hard = np.zeros(y.size, dtype=bool) if hard_negatives is None else np.asarray(hard_negatives, dtype=bool)
    out["hard_negatives"] = _fpr_block(
        y, s, threshold, hard, "label-0 rows marked hard_negative (legitimate ads that look risky)"
    )
    return out


def _fpr_block(y: np.ndarray, s: np.ndarray, threshold: float, mask: np.ndarray, note: str) -> dict[str, Any]:
    neg = mask & (y == 0)
    flagged = int((s[neg] >= threshold).sum())
    return {
        "n": int(neg.sum()),
        "flagged": flagged,
        "fpr": flagged / int(neg.sum()) if neg.any() else None,
        "note": note,
    }


def band_metrics(
    y_true: Sequence[int],
    scores: Sequence[float],
    thresholds: dict[str, float],
    *,
    languages: Sequence[str | None],
    sources: Sequence[str | None],
    hard_negatives: Sequence[bool] | None = None,
) -> dict[str, Any]:
    """Per band (`medium` = medium or high, `high`) and language: the deceptive recall, the
    false-positive rate on real RU/KZ vacancies and on hard negatives (what the bands promise)."""
    y, s = _arrays(y_true, scores)
    langs = np.array([l or "unknown" for l in languages], dtype=object)
    real = np.array([is_real_vacancy_source(x) for x in sources], dtype=bool)
    hard = np.zeros(y.size, dtype=bool) if hard_negatives is None else np.asarray(hard_negatives, dtype=bool)
    out: dict[str, Any] = {}
    for band in ("medium", "high"):
        if band not in thresholds:
            continue
        flag = s >= float(thresholds[band])
        per: dict[str, Any] = {}
        for lang in ["all", *sorted(set(langs.tolist()))]:
            m = np.ones(y.size, dtype=bool) if lang == "all" else langs == lang
            pos, rn, hn = m & (y == 1), m & real & (y == 0), m & hard & (y == 0)
            per[lang] = {
                "deceptive": int(pos.sum()),
                "recall": _ratio(int((flag & pos).sum()), int(pos.sum())),
                "real_vacancies": int(rn.sum()),
                "fpr_real_vacancies": _ratio(int((flag & rn).sum()), int(rn.sum())),
                "hard_negatives": int(hn.sum()),
                "fpr_hard_negatives": _ratio(int((flag & hn).sum()), int(hn.sum())),
            }
        out[band] = {"threshold": float(thresholds[band]), "by_language": per}
    return out
