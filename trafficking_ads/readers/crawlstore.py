"""A crawl store (`scrape`'s SQLite file, `.sqlite`/`.db`) as a batch input.

The store owns its schema; this reader only hands the file to `scrape.store.iter_stored` and
turns each bad row, and a file that is not a store, into a BadRecord instead of a crash.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterator

from ..records import Ad
from .errors import BadRecord

SUFFIXES = (".sqlite", ".sqlite3", ".db")


def read_crawl_store(path: Path) -> Iterator[Ad | BadRecord]:
    """Yield the ads of a crawl store, a BadRecord (record = the row's rowid) for each row that
    cannot be read or is not a valid ad, and one `unreadable` BadRecord if it is not a store."""
    from ..scrape.store import iter_stored

    try:
        for rowid, ad in iter_stored(path):
            if isinstance(ad, Ad):
                yield ad
            else:
                field = ad.split("'")[1] if ad.startswith("field '") else "ad"
                yield BadRecord(str(path), "unreadable", f"ads row {rowid}: {ad}", None, rowid, field)
    except (ValueError, sqlite3.Error) as e:
        yield BadRecord(str(path), "unreadable", str(e).removeprefix(f"{path}: "), None, None)
