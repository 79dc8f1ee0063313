"""Reading scored JSONL files (the output of `score`) into (ad fields, Assessment) pairs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from ..readers.errors import BadRecord
from ..records import Assessment, read_scored


def read_scored_files(paths: Iterable[Path], strict: bool = False) -> tuple[list[tuple[dict[str, Any], Assessment]], list[BadRecord]]:
    """All records of the files, and the lines that could not be read (skip-and-report).

    Under `strict` reading stops at the first bad line.
    """
    records: list[tuple[dict[str, Any], Assessment]] = []
    bad: list[BadRecord] = []
    for path in paths:
        with open(path, encoding="utf-8-sig", errors="strict") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    records.append(read_scored(line))
                except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                    kind = "invalid_json" if isinstance(e, json.JSONDecodeError) else "wrong_type"
                    bad.append(BadRecord(str(path), kind, f"not a scored record ({type(e).__name__}: {e})", line=lineno, raw=line))
                    if strict:
                        return records, bad
    return records, bad
