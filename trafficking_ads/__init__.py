"""trafficking-ads: finds deceptive recruitment in job and modelling ads.

The public API, on one screen::

    import trafficking_ads as ta
    scorer = ta.load_scorer()                 # the shipped default model
    a = scorer.score("Работа в Дубае для девушек 18-25, билеты за наш счёт")
    for ad in ta.read_ads("batch.jsonl"): ...
"""

from .records import Ad, Assessment, Evidence, IndicatorHit, ModelInfo
from .scoring import Scorer, load_scorer

__version__ = "0.1.0"


def read_ads(*args, **kwargs):
    """Read ads lazily from a file, directory, text or stdin (see `trafficking_ads.readers.read_ads`)."""
    from .readers import read_ads as _read_ads

    return _read_ads(*args, **kwargs)


def score_file(*args, **kwargs):
    """Score ad files into a scored JSONL/CSV file, atomically and resumably (see `trafficking_ads.batch.score_file`)."""
    from .batch import score_file as _score_file

    return _score_file(*args, **kwargs)


__all__ = ["Ad", "Assessment", "Evidence", "IndicatorHit", "ModelInfo", "Scorer", "load_scorer", "read_ads", "score_file", "__version__"]
