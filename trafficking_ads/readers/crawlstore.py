"""A crawl store (`scrape`'s SQLite file, `.sqlite`/`.db`) as a batch input.

The store owns its schema; this reader only hands the file to `scrape.store.iter_ads` and
turns a file that is not a store into a BadRecord instead of a crash.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterator

from ..records import Ad
from .errors import BadRecord

SUFFIXES = (".sqlite", ".sqlite3", ".db")


def read_crawl_store(path: Path) -> Iterator[Ad | BadRecord]:
    """Yield the ads of a crawl store; one `unreadable` BadRecord if it cannot be read."""
    from ..scrape.store import iter_ads

    n = 0
    try:
        for ad in iter_ads(path):
            n += 1
            yield ad
    except (ValueError, KeyError, TypeError, sqlite3.Error) as e:
        reason = str(e).removeprefix(f"{path}: ")
        yield BadRecord(str(path), "unreadable", reason, None, n + 1 if n else None)
