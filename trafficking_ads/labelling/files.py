"""JSON Lines reading for the labelling loop (writes go through `trafficking_ads.atomic`)."""

from __future__ import annotations

import os
from typing import Iterator


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """(line number, line) of the non-blank lines of a JSON Lines file."""
    with open(path, encoding="utf-8") as fh:
        for i, line in enumerate(fh, start=1):
            if line.strip():
                yield i, line
