"""The source checkout the package runs from, if any, and its checkout-only inputs.

Run-time data (indicator lexicons, patterns, the shipped models) is package data and works
from a wheel. A few inputs exist only in a git checkout: the written seed set (data/seed),
the hard set (data/hard) and the default output folder out/. Code that reads them by default
asks here, and a missing one is a one-line MissingDataError, never a silently smaller corpus.
"""

from __future__ import annotations

from pathlib import Path

from .errors import MissingDataError

_PACKAGE = Path(__file__).resolve().parent


def checkout_root() -> Path | None:
    """The checkout holding this package (a directory with pyproject.toml and data/), else None."""
    root = _PACKAGE.parent
    if (root / "pyproject.toml").is_file() and (root / "data").is_dir():
        return root
    return None


def checkout_path(*parts: str) -> Path:
    """`<checkout>/<parts>`, or (installed from a wheel) the same relative path under the current directory."""
    root = checkout_root()
    return (root if root is not None else Path(".")).joinpath(*parts)


def missing_checkout_data(path: Path, what: str, option: str) -> MissingDataError:
    """The one-line error for a checkout-only input that is not there."""
    where = "" if checkout_root() is not None else " (it ships with the source checkout, not the wheel)"
    return MissingDataError(f"{path}: {what} not found{where}; pass {option}")
