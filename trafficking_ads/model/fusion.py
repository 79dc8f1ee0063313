"""Fusion of the transformer with the indicators and metadata, and its calibration.

The transformer's logit, the indicator engine's feature vector and a few structured
metadata flags are combined by a logistic regression fitted on *dev* predictions (the
transformer never trained on them). Calibration (Platt or isotonic) and the band
thresholds are fitted on out-of-fold scores of a K-fold cross-fit on dev, so the numbers
that set them were not seen by the regression that produced them. Everything is stored
as JSON and predicted here with numpy: no pickle.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..records import Ad
from ..errors import InvalidValueError

FUSION_FILE = "fusion.json"
TRANSFORMER_FEATURE = "transformer_logit"
LEXICAL_FEATURE = "lexical_logit"
#: The indicator engine's own logistic combination of its hits (its calibrated log-odds).
INDICATOR_FEATURE = "indicator_logit"
#: 1 for a Russian or Kazakh ad: there the indicator engine carries the evidence and the text
#: models learnt from few ads, so the fusion may weigh each signal differently ("compact_lang").
CYRILLIC_FEATURE = "lang_ru_kk"
#: Suffix of a signal's interaction with CYRILLIC_FEATURE (its extra slope for RU/KK ads).
CYRILLIC_SUFFIX = "_x_ru_kk"
#: Metadata flags a source may carry (EMSCAD has logo and profile fields; others do not, and get 0).
META_FEATURES = ("meta_no_company_logo", "meta_no_company_profile")


def meta_features(ad: Ad) -> dict[str, float]:
    """Structured-metadata flags: only set where the source records the field at all."""
    meta = ad.meta or {}
    has_logo_field = "has_company_logo" in meta
    return {
        "meta_no_company_logo": float(has_logo_field and str(meta.get("has_company_logo")) in ("0", "False", "false")),
        # the profile is a field of sources that also record the logo flag (EMSCAD)
        "meta_no_company_profile": float(has_logo_field and not (ad.company_profile or "").strip()),
    }


def feature_matrix(rows: Sequence[dict[str, float]], features: Sequence[str]) -> np.ndarray:
    """Named-feature rows as a matrix in `features` order; a missing feature is an error."""
    out = np.empty((len(rows), len(features)), dtype=np.float64)
    for i, row in enumerate(rows):
        missing = [f for f in features if f not in row]
        if missing:
            raise InvalidValueError(f"fusion input row {i} lacks feature(s) {missing} that the fusion was fitted on")
        out[i] = [float(row[f]) for f in features]
    return out


def logit(p: np.ndarray | float, eps: float = 1e-6) -> np.ndarray:
    """log(p / (1 - p)), clipped away from 0 and 1."""
    p = np.clip(np.asarray(p, dtype=np.float64), eps, 1 - eps)
    return np.log(p / (1 - p))


def sigmoid(z: np.ndarray | float) -> np.ndarray:
    """The logistic function, numerically stable."""
    z = np.asarray(z, dtype=np.float64)
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


@dataclass
class Calibration:
    """Maps the fused score to a probability: Platt (a*z+b) or isotonic (piecewise linear)."""

    method: str = "platt"
    a: float = 1.0
    b: float = 0.0
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        if self.method == "platt":
            return sigmoid(self.a * z + self.b)
        if self.method == "isotonic":
            return np.interp(z, self.x, self.y)
        if self.method == "none":
            return sigmoid(z)
        raise InvalidValueError(f"unknown calibration method {self.method!r}")


@dataclass
class FusionModel:
    """Standardized logistic regression over named features, then calibration."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    calibration: Calibration

    def matrix(self, rows: Sequence[dict[str, float]]) -> np.ndarray:
        """Rows of named features -> a matrix in this model's feature order.

        A row lacking a feature the fusion was fitted on is refused (as scikit-learn checks
        `feature_names_in_`): filling it silently served a model that was never trained."""
        return feature_matrix(rows, self.features)

    def decision(self, X: np.ndarray) -> np.ndarray:
        """The regression's log-odds for a feature matrix."""
        Z = (X - np.asarray(self.mean)) / np.asarray(self.scale)
        return Z @ np.asarray(self.coef) + self.intercept

    def predict(self, rows: Sequence[dict[str, float]]) -> np.ndarray:
        """Calibrated risk in [0, 1] for each row of named features."""
        return self.calibration(self.decision(self.matrix(rows)))

    def slope(self, feature: str) -> float:
        """d(log-odds)/d(feature): how one unit of a feature moves the fused log-odds (the
        per-part contributions of `model.signals.contributions` are built from it)."""
        i = self.features.index(feature)
        return float(self.coef[i] / self.scale[i])

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FusionModel":
        cal = Calibration(**d["calibration"])
        n = len(d["features"])
        for key in ("mean", "scale", "coef"):
            if len(d[key]) != n:
                raise InvalidValueError(f"fusion: {key} has {len(d[key])} values for {n} features")
        return cls(list(d["features"]), list(d["mean"]), list(d["scale"]), list(d["coef"]), float(d["intercept"]), cal)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "FusionModel":
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _fit_lr(X: np.ndarray, y: np.ndarray, C: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    mean = X.mean(0)
    scale = X.std(0)
    scale[scale < 1e-9] = 1.0
    lr = LogisticRegression(C=C, max_iter=2000, random_state=seed)
    lr.fit((X - mean) / scale, y)
    return mean, scale, lr.coef_[0], float(lr.intercept_[0])


def _fit_calibration(z: np.ndarray, y: np.ndarray, method: str) -> Calibration:
    if method == "platt":
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=1e6, max_iter=1000).fit(z.reshape(-1, 1), y)
        return Calibration("platt", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(z, y)
        return Calibration("isotonic", x=[float(v) for v in iso.X_thresholds_], y=[float(v) for v in iso.y_thresholds_])
    if method == "none":
        return Calibration("none")
    raise InvalidValueError(f"unknown calibration method {method!r} (platt, isotonic or none)")


def fit_fusion(
    rows: Sequence[dict[str, float]],
    y: Sequence[int],
    features: Sequence[str],
    *,
    C: float = 0.5,
    calibration: str = "platt",
    folds: int = 5,
    seed: int = 13,
) -> tuple[FusionModel, np.ndarray]:
    """Fit the fusion on dev rows; returns the model and out-of-fold calibrated risks.

    The regression is cross-fitted (K folds, stratified) to get honest out-of-fold
    log-odds; calibration is fitted on those, and the final regression is refit on all rows.
    """
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y, dtype=int)
    features = list(features)
    X = feature_matrix(rows, features)
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    if n_pos < 2 or n_neg < 2:
        raise InvalidValueError(
            f"fusion needs at least 2 positive and 2 negative dev examples (got {n_pos} and {n_neg})"
        )
    k = max(2, min(folds, n_pos, n_neg))
    oof = np.zeros(len(y))
    for tr, te in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(X, y):
        mean, scale, coef, b = _fit_lr(X[tr], y[tr], C, seed)
        oof[te] = ((X[te] - mean) / scale) @ coef + b
    cal = _fit_calibration(oof, y, calibration)
    mean, scale, coef, b = _fit_lr(X, y, C, seed)
    model = FusionModel(features, mean.tolist(), scale.tolist(), coef.tolist(), b, cal)
    return model, cal(oof)


def choose_thresholds(
    y: Sequence[int], risk: Sequence[float], *, high_precision: float = 0.9, medium_recall: float = 0.9
) -> dict[str, Any]:
    """Band thresholds on dev risks: `high` = lowest threshold reaching the precision target,
    `medium` = highest threshold keeping the recall target; plus the F1-best operating point."""
    y = np.asarray(y, dtype=int)
    r = np.asarray(risk, dtype=np.float64)
    cands = np.unique(r)[::-1]  # descending
    n_pos = max(int(y.sum()), 1)
    best_f1, op = -1.0, 0.5
    high, medium = None, None
    for t in cands:
        pred = r >= t
        tp = int((pred & (y == 1)).sum())
        fp = int((pred & (y == 0)).sum())
        prec = tp / max(tp + fp, 1)
        rec = tp / n_pos
        f1 = 2 * prec * rec / max(prec + rec, 1e-12)
        if f1 > best_f1:
            best_f1, op = f1, float(t)
        if prec >= high_precision:
            high = float(t)
        if medium is None and rec >= medium_recall:
            medium = float(t)
    if high is None:  # target unreachable on dev: only the very top scores are "high"
        high = float(cands[0])
    if medium is None:
        medium = float(cands[-1])
    medium = min(medium, high)
    return {
        "medium": round(medium, 6),
        "high": round(high, 6),
        "operating_threshold": round(op, 6),
        "dev_f1_at_operating": round(best_f1, 4),
        "high_precision_target": high_precision,
        "medium_recall_target": medium_recall,
    }


def is_finite_row(row: dict[str, float]) -> bool:
    """True when every feature is a finite number."""
    return all(math.isfinite(v) for v in row.values())
