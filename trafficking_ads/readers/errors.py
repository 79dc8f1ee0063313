"""What a reader says about input it could not turn into an `Ad`.

Readers never raise on one bad record: they yield a `BadRecord` in its place and go on, so
that nothing good is dropped. The caller decides whether to skip-and-report or to stop
(`--strict`). `InputError` is for a whole input that cannot be read at all (missing file,
an encoding that cannot be decoded) and for strict mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import TraffickingAdsError

#: Longest raw text kept in a BadRecord (a broken 1 GB line must not be copied around).
RAW_LIMIT = 2000

#: The kinds of bad record, as counted in the summary (kind -> short human label).
KINDS = {
    "invalid_json": "invalid JSON",
    "not_an_object": "not a JSON object",
    "missing_text": "missing text",
    "empty_text": "empty text",
    "wrong_type": "field of the wrong type",
    "undecodable": "undecodable bytes",
    "invalid_csv": "malformed CSV row",
    "unreadable": "unreadable input",
}


@dataclass(slots=True)
class BadRecord:
    """One input record that was skipped, and where and why.

    `line` is the 1-based line in the file where the record starts (None where lines do not
    apply); `record` is its 1-based index among the records of that input (CSV data row,
    JSON array item, Telegram message, file in a directory).
    """

    source: str
    kind: str
    reason: str
    line: int | None = None
    record: int | None = None
    field: str | None = None
    raw: str | None = None

    def __post_init__(self) -> None:
        if self.raw is not None and len(self.raw) > RAW_LIMIT:
            self.raw = self.raw[:RAW_LIMIT] + f"… [{len(self.raw) - RAW_LIMIT} more characters]"

    @property
    def where(self) -> str:
        """`file:line` / `file: row N` — the place to look, for messages."""
        parts = [self.source]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.record is not None:
            parts.append(f"record {self.record}")
        return ", ".join(parts)

    def message(self) -> str:
        """One line for a human: where, which field, why."""
        field = f" field {self.field!r}:" if self.field else ""
        return f"{self.where}:{field} {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "line": self.line,
            "record": self.record,
            "field": self.field,
            "kind": self.kind,
            "reason": self.reason,
            "raw": self.raw,
        }


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
