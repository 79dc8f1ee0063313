"""Loading a scorer: from a model name or directory to the scorer its model.json asks for.

A scorer turns ads into assessments. The I/O around it (readers, writers, the CLI) never
knows which kind of model is behind it: a model directory's `model.json` names its `kind`,
and `load_scorer` builds the matching scorer. Later model kinds plug in here only. The
interface itself (`Scorer`, `as_ad`, `band_for`) lives in `scorer_protocol`, below the
scorers.
"""

from __future__ import annotations

import os
from pathlib import Path

from .model_dirs import DEFAULT, find_model_dir
from .scorer_protocol import Scorer

MODEL_ENV = "TRAFFICKING_ADS_MODEL"


def resolve_model_dir(model: str | os.PathLike | None = None, models_dir: str | os.PathLike | None = None) -> Path:
    """A model directory from a path, a name (the user's models dir first, then the shipped
    models), $TRAFFICKING_ADS_MODEL, or `default`. ModelNotFoundError if there is none."""
    if model is None:
        model = os.environ.get(MODEL_ENV) or DEFAULT
    return find_model_dir(model, models_dir)


def load_scorer(
    model: str | os.PathLike | None = None,
    *,
    runtime: str | None = None,
    precision: str | None = None,
    models_dir: str | os.PathLike | None = None,
) -> Scorer:
    """Load the scorer for a model: a directory, or a name (default: `default`, the promoted
    model in the user's models directory, else the shipped one).

    `runtime` and `precision` choose how a transformer model runs (None: what its model.json
    says); the indicator model has no such options and ignores them. A model.json with a
    missing or wrong field raises ModelCardError naming the file and the field."""
    from .model_card import load_card

    path = resolve_model_dir(model, models_dir)
    card = load_card(path)
    if card.kind == "indicators":
        from .indicators.scorer import IndicatorScorer

        return IndicatorScorer.load(path)
    # kind == "transformer" (load_card validated the kind)
    from .model.scorer import TransformerScorer

    opts = {k: v for k, v in (("runtime", runtime), ("precision", precision)) if v is not None}
    return TransformerScorer.load(path, **opts)


__all__ = ["MODEL_ENV", "Scorer", "load_scorer", "resolve_model_dir"]
