"""The scorer interface and where models are found.

A scorer turns ads into assessments. The I/O around it (readers, writers, the CLI) never
knows which kind of model is behind it: a model directory's `model.json` names its `kind`,
and `load_scorer` builds the matching scorer. Later model kinds plug in here only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Iterator, Protocol, runtime_checkable

from .records import Ad, Assessment, ModelInfo

#: The models shipped with a checkout: `models/default` is used when none is named.
MODELS_ROOT = Path(__file__).resolve().parent.parent / "models"
MODEL_ENV = "TRAFFICKING_ADS_MODEL"


@runtime_checkable
class Scorer(Protocol):
    """Anything that scores ads. `score_many` is lazy: it yields as it goes."""

    info: ModelInfo

    def score(self, ad: Ad | str) -> Assessment: ...

    def score_many(self, ads: Iterable[Ad | str], batch_size: int = 32) -> Iterator[Assessment]: ...


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


def resolve_model_dir(model: str | os.PathLike | None = None) -> Path:
    """A model directory from a path, a name under `models/`, $TRAFFICKING_ADS_MODEL, or the default."""
    if model is None:
        model = os.environ.get(MODEL_ENV) or "default"
    path = Path(model)
    if not (path / "model.json").is_file() and (MODELS_ROOT / str(model) / "model.json").is_file():
        path = MODELS_ROOT / str(model)
    if not (path / "model.json").is_file():
        raise FileNotFoundError(
            f"no model at {model!s}: expected a directory holding model.json "
            f"(a path, or a name under {MODELS_ROOT})"
        )
    return path


def load_scorer(model: str | os.PathLike | None = None, **opts) -> Scorer:
    """Load the scorer for a model directory (default: the shipped `models/default`).

    `opts` go to the transformer scorer's `load` (e.g. precision="int8"); the indicator
    model has no such options and ignores them."""
    path = resolve_model_dir(model)
    card = json.loads((path / "model.json").read_text(encoding="utf-8"))
    kind = card.get("kind")
    if kind == "indicators":
        from .indicators.scorer import IndicatorScorer

        return IndicatorScorer.load(path)
    if kind == "transformer":
        from .model.scorer import TransformerScorer

        return TransformerScorer.load(path, **opts)
    raise ValueError(f"{path / 'model.json'}: unknown model kind {kind!r} (expected 'indicators' or 'transformer')")
