"""The one root of every exception trafficking-ads raises.

`except TraffickingAdsError` catches anything the library raises on purpose (bad input, a
missing model or extra, a refused promotion); anything else is a bug. Errors about a user's
input also derive from the builtin they replace (ValueError, FileNotFoundError, ImportError),
so code written against those keeps working. The CLI prints a TraffickingAdsError as one
line, without a traceback.
"""

from __future__ import annotations


class TraffickingAdsError(Exception):
    """Root of every exception the library defines."""


class InvalidValueError(TraffickingAdsError, ValueError):
    """An argument, option, setting or file content the library cannot accept (the message says which and why)."""


class NotFoundError(TraffickingAdsError, FileNotFoundError):
    """A file or directory the caller named does not exist."""


class ScorerError(TraffickingAdsError, RuntimeError):
    """A scorer broke its contract (e.g. returned fewer assessments than it was given ads)."""


class OperationError(TraffickingAdsError, RuntimeError):
    """A step that could not complete: a model build or conversion, a training run, a broken invariant."""


class ModelNotFoundError(NotFoundError):
    """No model directory (one holding model.json) under the name or path given."""


class ModelCardError(TraffickingAdsError, ValueError):
    """A model.json that cannot be read, or a field in it with a wrong type or value."""


class MissingExtraError(TraffickingAdsError, ImportError):
    """A feature needs an optional dependency group (`pip install 'trafficking-ads[EXTRA]'`)."""


class MissingDataError(NotFoundError):
    """Input that lives only in a source checkout (data/seed, data/hard) or the shared data is absent."""


__all__ = [
    "InvalidValueError",
    "MissingDataError",
    "MissingExtraError",
    "ModelCardError",
    "ModelNotFoundError",
    "NotFoundError",
    "OperationError",
    "ScorerError",
    "TraffickingAdsError",
]
