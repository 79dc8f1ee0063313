"""Where models live: the shipped ones (package data) and the user's models directory.

- Shipped: `models/default` (the transformer) and `models/indicators` of the source tree;
  a wheel carries them as `trafficking_ads/shipped_models/` (see setup.py). Read-only.
- User: trained, retrained and promoted models, in `$TRAFFICKING_ADS_MODELS` or else the
  per-user data directory (platformdirs: ~/.local/share/trafficking-ads/models on Linux).
  Nothing is ever written inside the installed package.

A name resolves to a path if it is one, else to `<user models>/<name>`, else to the shipped
model of that name; a promoted `default` in the user directory therefore takes over from
the shipped one.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ModelNotFoundError

MODELS_ENV = "TRAFFICKING_ADS_MODELS"
MODEL_JSON = "model.json"
DEFAULT = "default"

_PACKAGE = Path(__file__).resolve().parent


def shipped_models_dir() -> Path:
    """The read-only models that come with the package (wheel: package data; checkout: models/)."""
    installed = _PACKAGE / "shipped_models"
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / "models"  # a source checkout, run in place or installed editable


def user_models_dir(override: str | os.PathLike | None = None) -> Path:
    """The writable models directory: `override`, else $TRAFFICKING_ADS_MODELS, else the per-user data dir."""
    if override is not None:
        return Path(override)
    env = os.environ.get(MODELS_ENV)
    if env:
        return Path(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("trafficking-ads", appauthor=False)) / "models"


def find_model_dir(model: str | os.PathLike, models_dir: str | os.PathLike | None = None) -> Path:
    """A model directory for a path or a name: the path, else the user's, else the shipped model.

    Raises ModelNotFoundError (a FileNotFoundError) naming the places it looked."""
    path = Path(model)
    if (path / MODEL_JSON).is_file():
        return path
    tried = [str(path)]
    name = str(model)
    if path.name == name and name not in ("", ".", ".."):  # a bare name, not a path
        for root in (user_models_dir(models_dir), shipped_models_dir()):
            if (root / name / MODEL_JSON).is_file():
                return root / name
            tried.append(str(root / name))
    raise ModelNotFoundError(
        f"no model at {name}: expected a directory holding model.json (looked in {', '.join(tried)})"
    )
