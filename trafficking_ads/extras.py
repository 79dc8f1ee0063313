"""Optional dependency groups: a feature that needs one says which extra to install, in one line.

The core install scores ads with the shipped models. Training, scraping, the HTTP service
and Ray need more (`pip install 'trafficking-ads[train]'`, `[scrape]`, `[serve]`, `[ray]`,
or `[all]`); `require` imports such a module or raises MissingExtraError naming the extra.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingExtraError

#: Which extra brings each optional top-level module (the import name, not the PyPI name).
EXTRA_OF: dict[str, str] = {
    "torch": "train",
    "transformers": "train",
    "peft": "train",
    "datasets": "train",
    "accelerate": "train",
    "httpx": "scrape",
    "extruct": "scrape",
    "trafilatura": "scrape",
    "cssselect": "scrape",
    "lxml": "scrape",
    "fastapi": "serve",
    "uvicorn": "serve",
    "starlette": "serve",
    "prometheus_client": "serve",
    "fastapi_offline": "serve",
    "ray": "ray",
    "spacy": "spacy",
}


def require(module: str, extra: str | None = None, *, feature: str | None = None) -> ModuleType:
    """Import `module`, or raise MissingExtraError: "<feature> needs the optional package <module>:
    pip install 'trafficking-ads[<extra>]'". An ImportError from *inside* an installed module is
    not a missing extra and propagates unchanged."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        err = missing_extra(e, feature=feature, extra=extra, module=module)
        if err is None:
            raise
        raise err from None


def missing_extra(
    exc: ImportError, *, feature: str | None = None, extra: str | None = None, module: str | None = None
) -> MissingExtraError | None:
    """The MissingExtraError for an ImportError of an optional module, or None if it is not one
    (a module of no extra, or - with `module` - a failure inside that module's own imports)."""
    top = (exc.name or module or "").split(".")[0]
    if module is not None and top != module.split(".")[0]:
        return None
    group = extra or EXTRA_OF.get(top)
    if group is None:
        return None
    lead = f"{feature} needs" if feature else "this needs"
    return MissingExtraError(f"{lead} the optional package {top!r}: pip install 'trafficking-ads[{group}]'")


__all__ = ["EXTRA_OF", "missing_extra", "require"]
