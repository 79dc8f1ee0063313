"""Combining indicator hits into one indicator score.

A logistic combination with hand-set, documented weights (data/indicators.yaml):

    score = sigmoid(bias + sum(weight of each indicator present) + sum(pair bonuses))

Each indicator counts once however many spans support it (repetition is not more
evidence); pairs the guide names as telling (abroad + young women, abroad + fees, ...)
add a bonus, so combinations matter and one indicator alone stays low; legitimacy hits
(identified employer, licence, contract) have negative weights and pull the score down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import InvalidValueError
from ..records import IndicatorHit

#: Summary features appended after the per-indicator presence flags.
SUMMARY_FEATURES = (
    "n_risk_indicators",
    "n_legitimacy_indicators",
    "risk_weight_sum",
    "legitimacy_weight_sum",
    "indicator_score",
)


@dataclass(slots=True)
class Weights:
    """Indicator categories and weights, pair bonuses and the bias, from one YAML file."""

    version: str
    bias: float
    order: list[str]
    categories: dict[str, str]
    weight: dict[str, float]
    bonuses: list[tuple[str, str, float]]
    internal: dict[str, dict[str, str]]

    @classmethod
    def load(cls, path: Path) -> "Weights":
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        inds = data["indicators"]
        order = list(inds)
        categories = {k: v["category"] for k, v in inds.items()}
        weight = {k: float(v["weight"]) for k, v in inds.items()}
        internal = data.get("internal") or {}
        for k, v in internal.items():
            if v["becomes"] not in categories:
                raise InvalidValueError(f"{path}: internal id {k} becomes unknown indicator {v['becomes']!r}")
            categories[k] = categories[v["becomes"]]
        bonuses = []
        for b in data.get("bonuses") or []:
            a, c = b["pair"]
            for x in (a, c):
                if x not in weight:
                    raise InvalidValueError(f"{path}: bonus names unknown indicator {x!r}")
            bonuses.append((a, c, float(b["weight"])))
        return cls(str(data.get("version", "0")), float(data["bias"]), order, categories, weight, bonuses, internal)

    @property
    def feature_names(self) -> list[str]:
        return [f"ind_{k}" for k in self.order] + list(SUMMARY_FEATURES)

    def logit(self, hits: list[IndicatorHit]) -> float:
        present = {h.id for h in hits}
        # fsum is exactly rounded, so the score does not depend on set order (PYTHONHASHSEED)
        z = math.fsum([self.bias, *(self.weight.get(i, 0.0) for i in present)])
        return z + math.fsum(w for a, b, w in self.bonuses if a in present and b in present)

    def score(self, hits: list[IndicatorHit]) -> float:
        """The indicator score in [0, 1]."""
        return 1.0 / (1.0 + math.exp(-self.logit(hits)))

    def features(self, hits: list[IndicatorHit]) -> dict[str, float]:
        present = {h.id for h in hits}
        feats = {f"ind_{k}": (1.0 if k in present else 0.0) for k in self.order}
        pos = [self.weight[i] for i in present if self.weight.get(i, 0.0) > 0]
        neg = [self.weight[i] for i in present if self.weight.get(i, 0.0) < 0]
        feats["n_risk_indicators"] = float(len(pos))
        feats["n_legitimacy_indicators"] = float(len(neg))
        # fsum, as in logit: a plain sum over a set depends on its order (PYTHONHASHSEED),
        # so the same ad got features differing in the last bit from one process to the next
        feats["risk_weight_sum"] = math.fsum(pos)
        feats["legitimacy_weight_sum"] = math.fsum(neg)
        feats["indicator_score"] = self.score(hits)
        return feats
