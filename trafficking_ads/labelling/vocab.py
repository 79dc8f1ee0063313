"""The labelling vocabulary: verdict choices, indicator ids and control names (data/labelling.yaml).

One place decides what an annotator may answer, so the exported labelling config, the
pre-annotations and the import validation can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

DATA = Path(__file__).parent / "data" / "labelling.yaml"
#: The indicator engine's own list (other stage's data); its ids are accepted too.
ENGINE_INDICATORS = Path(__file__).resolve().parents[1] / "indicators" / "data" / "indicators.yaml"


@dataclass(frozen=True)
class Vocabulary:
    """What the labelling interface offers: control names, verdicts -> labels, indicator ids."""

    verdict_control: str
    indicators_control: str
    spans_control: str
    text_control: str
    verdicts: dict[str, int | None]
    indicators: tuple[str, ...]

    def label_of(self, verdict: str) -> int | None:
        """The training label of a verdict (1 deceptive, 0 legitimate, None unsure)."""
        return self.verdicts[verdict]


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The vocabulary: the guide's indicator ids, then any extra ids the indicator engine reports."""
    d = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    ids = list(d["indicators"])
    if ENGINE_INDICATORS.is_file():
        engine = yaml.safe_load(ENGINE_INDICATORS.read_text(encoding="utf-8")) or {}
        ids += [i for i in (engine.get("indicators") or {}) if i not in ids]
    c = d["controls"]
    return Vocabulary(
        verdict_control=c["verdict"],
        indicators_control=c["indicators"],
        spans_control=c["spans"],
        text_control=c["text"],
        verdicts=dict(d["verdicts"]),
        indicators=tuple(ids),
    )
