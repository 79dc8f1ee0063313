"""What a reader says about input it could not turn into an `Ad`.

Readers never raise on one bad record: they yield a `BadRecord` (the project's one
`problems.Problem` type) in its place and go on, so
that nothing good is dropped. The caller decides whether to skip-and-report or to stop
(`--strict`). `InputError` is for a whole input that cannot be read at all (missing file,
an encoding that cannot be decoded) and for strict mode.
"""

from __future__ import annotations

from ..errors import TraffickingAdsError
from ..problems import KINDS, RAW_LIMIT, Problem

#: What a reader yields for a record it could not read: the project's one `Problem` type.
BadRecord = Problem

__all__ = ["KINDS", "RAW_LIMIT", "BadRecord", "Problem", "InputError", "safe_raw"]


class InputError(TraffickingAdsError):
    """Input that cannot be read at all, or the first bad record under strict mode."""

    def __init__(self, message: str, bad: BadRecord | None = None) -> None:
        super().__init__(message)
        self.bad = bad


def safe_raw(text: str | None) -> str | None:
    """Raw input made printable as UTF-8: undecodable bytes shown as \\xNN, not dropped."""
    if text is None:
        return None
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
