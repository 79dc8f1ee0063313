"""Metrics against hand-computed values and scikit-learn, including degenerate groups."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score, roc_curve

from trafficking_ads.evaluation.metrics import (
    best_f1_threshold,
    binary_metrics,
    expected_calibration_error,
    grouped_metrics,
    recall_at_fpr,
)

# Six rows worked by hand: ranked 0.9(+) 0.8(-) 0.7(+) 0.4(+) 0.3(-) 0.1(-)
Y = [1, 0, 1, 1, 0, 0]
S = [0.9, 0.8, 0.7, 0.4, 0.3, 0.1]


def test_hand_computed_case():
    m = binary_metrics(Y, S, threshold=0.5)
    # AP: precision at each positive = 1/1, 2/3, 3/4 -> mean 29/36
    assert m["pr_auc"] == pytest.approx(29 / 36)
    # ROC-AUC: 7 of 9 positive-negative pairs ranked correctly
    assert m["roc_auc"] == pytest.approx(7 / 9)
    # ECE, one row per bin: (|1-.9| + |0-.8| + |1-.7| + |1-.4| + |0-.3| + |0-.1|) / 6
    assert m["ece"] == pytest.approx(2.2 / 6)
    assert m["brier"] == pytest.approx((0.01 + 0.64 + 0.09 + 0.36 + 0.09 + 0.01) / 6)
    # at 0.5: flagged 0.9, 0.8, 0.7 -> TP 2, FP 1, FN 1, TN 2
    assert m["confusion"] == {"tp": 2, "fp": 1, "tn": 2, "fn": 1}
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3) and m["fpr"] == pytest.approx(1 / 3)
    # under a 1% or 5% FPR cap only "score >= 0.9" qualifies: recall 1/3
    assert m["recall_at_fpr_0.01"] == pytest.approx(1 / 3) and m["threshold_at_fpr_0.01"] == 0.9
    assert m["recall_at_fpr_0.05"] == pytest.approx(1 / 3)
    assert (m["n"], m["positives"], m["negatives"], m["flagged"]) == (6, 3, 3, 3)
    # allowing one false positive of three (FPR 1/3), flagging down to 0.4 catches every positive
    assert recall_at_fpr(Y, S, 0.34) == (pytest.approx(1.0), 0.4)
    assert recall_at_fpr(Y, S, 0.0) == (pytest.approx(1 / 3), 0.9)


def test_ece_shared_bin():
    # both in bin [0.5, 0.6): positive rate 0.5, mean prob 0.535
    assert expected_calibration_error([1, 0], [0.55, 0.52]) == pytest.approx(0.035)
    assert expected_calibration_error([1], [1.0]) == pytest.approx(0.0)  # 1.0 lands in the last bin
    assert expected_calibration_error([], []) is None


def _sk_recall_at_fpr(y, s, cap):
    fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
    return float(tpr[fpr <= cap].max())


@pytest.mark.parametrize("seed", range(5))
def test_against_sklearn_random(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 400)
    s = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1).round(2)  # rounding makes ties
    m = binary_metrics(y, s, threshold=0.5)
    assert m["pr_auc"] == pytest.approx(average_precision_score(y, s))
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, s))
    assert m["brier"] == pytest.approx(brier_score_loss(y, s))
    for cap in (0.01, 0.05):
        assert m[f"recall_at_fpr_{cap:g}"] == pytest.approx(_sk_recall_at_fpr(y, s, cap))
        t = m[f"threshold_at_fpr_{cap:g}"]
        if t is not None:  # the returned threshold really achieves it
            flagged = s >= t
            assert flagged[y == 0].mean() <= cap
            assert flagged[y == 1].mean() == pytest.approx(m[f"recall_at_fpr_{cap:g}"])
    # ECE by its definition, computed a second way
    bins = np.minimum((s * 10).astype(int), 9)
    ece = sum(
        (bins == b).mean() * abs(y[bins == b].mean() - s[bins == b].mean()) for b in range(10) if (bins == b).any()
    )
    assert m["ece"] == pytest.approx(ece)


def test_degenerate_groups_report_null_with_counts():
    m = binary_metrics([0, 0, 0], [0.2, 0.7, 0.1], threshold=0.5)
    assert m["n"] == 3 and m["positives"] == 0 and m["negatives"] == 3
    assert m["pr_auc"] is None and m["roc_auc"] is None and m["recall_at_fpr_0.01"] is None
    assert m["recall"] is None and m["f1"] is None and m["precision"] == 0.0
    assert m["fpr"] == pytest.approx(1 / 3) and m["brier"] is not None
    m = binary_metrics([1, 1], [0.2, 0.3], threshold=0.5)
    assert m["precision"] is None and m["recall"] == 0.0 and m["fpr"] is None and m["roc_auc"] is None
    with pytest.raises(ValueError):
        binary_metrics([0, 2], [0.1, 0.2], 0.5)


def test_grouped_and_real_vacancies():
    y = [1, 0, 0, 0, 1, 0]
    s = [0.9, 0.6, 0.2, 0.1, 0.4, 0.7]
    g = grouped_metrics(
        y,
        s,
        0.5,
        languages=["en", "en", "ru", "ru", "kk", None],
        sources=["seed", "seed", "hh:x.csv", "superjob", "seed", "hh:x.csv"],
        hard_negatives=[False, True, False, False, True, False],  # the fifth is a positive: not counted
    )
    assert (g["hard_negatives"]["n"], g["hard_negatives"]["flagged"], g["hard_negatives"]["fpr"]) == (1, 1, 1.0)
    assert set(g["by_language"]) == {"en", "ru", "kk", "unknown"}
    assert g["by_language"]["ru"]["roc_auc"] is None and g["by_language"]["ru"]["n"] == 2
    assert g["real_vacancies"] == {
        "n": 3,
        "flagged": 1,
        "fpr": pytest.approx(1 / 3),
        "note": g["real_vacancies"]["note"],
    }
    assert g["overall"]["n"] == 6


def test_best_f1_threshold():
    assert best_f1_threshold(Y, S) == pytest.approx(0.4)  # flag top 4: P 3/4, R 1 -> F1 6/7
    assert best_f1_threshold([0, 0], [0.1, 0.2]) == 0.5
