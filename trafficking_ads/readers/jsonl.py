"""JSON Lines: one JSON object per line, read line by line (constant memory)."""

from __future__ import annotations

import json
from typing import Iterator, Mapping, TextIO

from ..records import Ad
from .errors import BadRecord, safe_raw
from .jsonstream import loads
from .mapping import RecordError, check_text, record_to_ad


def read_jsonl(
    stream: TextIO, source: str, user: Mapping[str, tuple[str, ...]] | None = None
) -> Iterator[Ad | BadRecord]:
    """Yield an Ad or a BadRecord for each non-blank line; `record` counts non-blank lines."""
    record = 0
    for lineno, line in enumerate(stream, 1):
        if not line.strip():
            continue
        record += 1
        try:
            check_text(line, None)  # type: ignore[arg-type]
        except RecordError as e:
            yield BadRecord(source, "undecodable", e.reason, lineno, record, raw=safe_raw(line.rstrip("\r\n")))
            continue
        try:
            obj = loads(line)
        except json.JSONDecodeError as e:
            yield BadRecord(
                source,
                "invalid_json",
                f"invalid JSON: {e.msg} (column {e.colno})",
                lineno,
                record,
                raw=line.rstrip("\r\n"),
            )
            continue
        except RecordError as e:
            yield BadRecord(source, e.kind, e.reason, lineno, record, e.field, raw=line.rstrip("\r\n"))
            continue
        yield record_to_ad(obj, source=source, line=lineno, record=record, user=user, raw_text=line.rstrip("\r\n"))
