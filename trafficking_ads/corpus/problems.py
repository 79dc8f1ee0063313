"""Bad-input reporting shared by the corpus loaders: skip and report by default, fail under strict.

A loader that meets a row it cannot use records *where* (file, row, field) and *why*, then
moves on; with `strict=True` the first such row raises `DataError` instead.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import TraffickingAdsError


class DataError(TraffickingAdsError, ValueError):
    """A row or file that cannot be read, raised in strict mode (or when a file is missing)."""


@dataclass(slots=True)
class Problem:
    """One skipped row: where it was and why it was skipped."""

    path: str
    row: int | None
    field: str | None
    why: str

    def __str__(self) -> str:
        where = self.path + (f", row {self.row}" if self.row is not None else "")
        where += f", field {self.field!r}" if self.field else ""
        return f"{where}: {self.why}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Problems(list):
    """A list of `Problem`s that raises on the first one when `strict`."""

    def __init__(self, strict: bool = False) -> None:
        super().__init__()
        self.strict = strict

    def report(self, path: str | Path, row: int | None, field: str | None, why: str) -> None:
        """Record a skipped row, or raise `DataError` in strict mode."""
        p = Problem(str(path), row, field, why)
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
                problems.report(path, i, None, f"not JSON: {e.msg}")
                continue
            if not isinstance(d, dict):
                problems.report(path, i, None, "not a JSON object")
                continue
            yield i, d


def binary_label(path: Path, row: int, d: dict[str, Any], problems: Problems) -> int | None:
    """The row's "label" if it is 0 or 1 (not a bool); otherwise reported, and None."""
    label = d.get("label")
    if label not in (0, 1) or isinstance(label, bool):
        problems.report(path, row, "label", f"label must be 0 or 1, got {label!r}")
        return None
    return label
