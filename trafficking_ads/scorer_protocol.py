"""The scorer interface: what every model kind implements, and the two helpers they share.

This module sits below the scorers (model/, indicators/) and `scoring.load_scorer`, which
builds them: scorers import it, never `scoring`, so there is no import circle.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

from .records import Ad, Assessment, ModelInfo


@runtime_checkable
class Scorer(Protocol):
    """Anything that scores ads. `score_many` is lazy: it yields as it goes."""

    info: ModelInfo

    def score(self, ad: Ad | str) -> Assessment: ...

    def score_many(self, ads: Iterable[Ad | str]) -> Iterator[Assessment]: ...


def as_ad(ad: Ad | str) -> Ad:
    """Accept a bare string wherever an Ad is expected."""
    return ad if isinstance(ad, Ad) else Ad(text=ad)


def band_for(risk: float, thresholds: dict[str, float]) -> str:
    """`high` at or above thresholds['high'], `medium` at or above thresholds['medium']."""
    if risk >= thresholds["high"]:
        return "high"
    if risk >= thresholds["medium"]:
        return "medium"
    return "low"


__all__ = ["Scorer", "as_ad", "band_for"]
