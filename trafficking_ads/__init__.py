"""trafficking-ads: finds deceptive recruitment in job and modelling ads.

The public API, on one screen::

    import trafficking_ads as ta
    scorer = ta.load_scorer()                 # the shipped default model
    a = scorer.score("Работа в Дубае для девушек 18-25, билеты за наш счёт")
    for ad in ta.read_ads("batch.jsonl"): ...

Every exception the library raises derives from `ta.TraffickingAdsError`.
"""

__version__ = "0.1.0"  # before the imports: modules below read it

from .batch import BatchSummary, score_file
from .errors import (
    MissingExtraError,
    ModelCardError,
    ModelNotFoundError,
    TraffickingAdsError,
)
from .readers import read_ads
from .records import Ad, Assessment, Evidence, IndicatorHit, ModelInfo
from .scoring import Scorer, load_scorer

__all__ = [
    "Ad",
    "Assessment",
    "BatchSummary",
    "Evidence",
    "IndicatorHit",
    "MissingExtraError",
    "ModelCardError",
    "ModelInfo",
    "ModelNotFoundError",
    "Scorer",
    "TraffickingAdsError",
    "__version__",
    "load_scorer",
    "read_ads",
    "score_file",
]
