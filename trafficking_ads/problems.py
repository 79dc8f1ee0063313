"""Bad input, reported: one record type for every layer (readers, corpus, scored files).

Nothing good is dropped because of one bad record: readers yield a `Problem` in its place,
loaders and scored-file readers append one to a list, and the caller decides whether to
skip and report (the default) or to stop (`--strict`). A problem says where (file, line,
record, field) and why, in one format: `file, line 3, record 2: field 'text': empty text`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .errors import TraffickingAdsError

#: Longest raw text kept in a Problem (a broken 1 GB line must not be copied around).
RAW_LIMIT = 2000

#: The kinds of problem, as counted in summaries (kind -> short human label).
KINDS = {
    "invalid_json": "invalid JSON",
    "not_an_object": "not a JSON object",
    "missing_text": "missing text",
    "empty_text": "empty text",
    "wrong_type": "field of the wrong type",
    "undecodable": "undecodable bytes",
    "invalid_csv": "malformed CSV row",
    "unreadable": "unreadable input",
    "invalid_value": "invalid value",
    "not_scored": "not a scored record",
    "duplicate_id": "duplicate ad id",
}


@dataclass(slots=True)
class Problem:
    """One input record that was skipped, and where and why.

    `line` is the 1-based line in the file where the record starts (None where lines do not
    apply); `record` is its 1-based index among the records of that input (CSV data row,
    JSON array item, Telegram message, file in a directory, corpus row); `kind` is one of
    `KINDS`; `raw` keeps (the start of) the offending input where it helps.
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
        """`file, line N, record M` — the place to look, for messages."""
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

    def __str__(self) -> str:
        return self.message()

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


class DataError(TraffickingAdsError, ValueError):
    """A row or file that cannot be read, raised in strict mode (or when a file is missing)."""


class Problems(list):
    """A list of `Problem`s that raises `DataError` on the first one when `strict`."""

    def __init__(self, strict: bool = False) -> None:
        super().__init__()
        self.strict = strict

    def report(
        self, path: str | Path, row: int | None, field: str | None, why: str, kind: str = "invalid_value"
    ) -> None:
        """Record a skipped row (`row`: its 1-based number in the file), or raise `DataError` in strict mode."""
        p = Problem(str(path), kind, why, record=row, field=field)
        if self.strict:
            raise DataError(str(p))
        self.append(p)


def json_object_lines(path: Path, problems: Problems) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each JSON-object line of a JSONL file; other lines are reported."""
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                problems.report(path, i, None, f"not JSON: {e.msg}", kind="invalid_json")
                continue
            if not isinstance(d, dict):
                problems.report(path, i, None, "not a JSON object", kind="not_an_object")
                continue
            yield i, d
