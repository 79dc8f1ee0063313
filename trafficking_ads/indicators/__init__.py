"""Risk indicators of deceptive recruitment in Russian, Kazakh and English ads.

Owns: pattern files and language data (data/), normalization with offset maps, language
identification, structured checks (contacts, salary, places, ages, employer), the
indicator engine, the logistic combination and the rule-based scorer. Must not: load
learned models (that is trafficking_ads.model) or do I/O beyond its own data files.

    from trafficking_ads.indicators import default_engine
    hits = default_engine().extract(ad)      # list[IndicatorHit] with evidence spans
    feats = default_engine().features(hits)  # fixed-order dict[str, float]
"""

from .engine import Analysis, IndicatorEngine, default_engine
from .langid import detect_language
from .normalize import Normalized, normalize
from .patterns import PatternError

__all__ = [
    "Analysis",
    "IndicatorEngine",
    "PatternError",
    "Normalized",
    "default_engine",
    "detect_language",
    "normalize",
]


def __getattr__(name: str):
    if name == "IndicatorScorer":
        from .scorer import IndicatorScorer

        return IndicatorScorer
    raise AttributeError(name)
