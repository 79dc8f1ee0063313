"""A crawl store (`scrape`'s SQLite file, `.sqlite`/`.db`) as a batch input.

`scrape.store` writes the store; the read side of its `ads` table lives here, below the
scraper, so that reading a store never imports the crawler (`scrape.store.iter_ads` reads
through `iter_stored`). Each bad row, and a file that is not a store, becomes a BadRecord
instead of a crash.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Iterator

from ..errors import InvalidValueError, NotFoundError
from ..records import OPTIONAL_STR_FIELDS, Ad
from .errors import BadRecord
from .jsonstream import loads
from .mapping import RecordError

SUFFIXES = (".sqlite", ".sqlite3", ".db")


def read_crawl_store(path: Path) -> Iterator[Ad | BadRecord]:
    """Yield the ads of a crawl store, a BadRecord (record = the row's rowid) for each row that
    cannot be read or is not a valid ad, and one `unreadable` BadRecord if it is not a store."""
    try:
        for rowid, ad in iter_stored(path):
            if isinstance(ad, Ad):
                yield ad
            else:
                field = ad.split("'")[1] if ad.startswith("field '") else "ad"
                yield BadRecord(str(path), "unreadable", f"ads row {rowid}: {ad}", None, rowid, field)
    except (ValueError, sqlite3.Error) as e:
        yield BadRecord(str(path), "unreadable", str(e).removeprefix(f"{path}: "), None, None)


#: Ad fields a stored row may hold as a string (or null); `text` must be a non-empty string.
_STR_FIELDS = OPTIONAL_STR_FIELDS
#: Rows read per query when walking the store (a row that cannot be read is retried alone).
_PAGE = 512


def stored_ad(blob: bytes | str) -> Ad:
    """The Ad held by one `ads.ad` value; ValueError (with the field) if it is not a valid ad."""
    try:
        text = blob.decode("utf-8") if isinstance(blob, bytes) else blob
        d = loads(text)
    except UnicodeDecodeError as e:
        raise InvalidValueError(f"not UTF-8 at byte {e.start}") from None
    except RecordError as e:
        raise InvalidValueError(f"field {e.field!r}: {e.reason}" if e.field else e.reason) from None
    except json.JSONDecodeError as e:
        raise InvalidValueError(f"not JSON: {e.msg} (column {e.colno})") from None
    if not isinstance(d, dict):
        raise InvalidValueError(f"expected a JSON object, got {type(d).__name__}")
    if not isinstance(d.get("text"), str) or not d["text"].strip():
        raise InvalidValueError(f"field 'text': expected a non-empty string, got {type(d.get('text')).__name__}")
    for name in _STR_FIELDS:
        if d.get(name) is not None and not isinstance(d[name], str):
            raise InvalidValueError(f"field {name!r}: expected a string, got {type(d[name]).__name__}")
    if d.get("label") is not None and (not isinstance(d["label"], int) or isinstance(d["label"], bool)):
        raise InvalidValueError(f"field 'label': expected an integer, got {type(d['label']).__name__}")
    if not isinstance(d.get("meta") or {}, dict) or not isinstance(d.get("raw") or {}, dict):
        raise InvalidValueError("field 'meta'/'raw': expected an object")
    if d.get("meta") is None:
        d.pop("meta", None)
    return Ad.from_dict(d)


def iter_stored(db_path: str | Path) -> Iterator[tuple[int, Ad | str]]:
    """(rowid, Ad) for each stored ad, in the order found, or (rowid, why) for a row that cannot
    be read or is not a valid ad: one bad row never ends the walk (read-only; safe while a
    crawl runs). ValueError if the file is not a crawl store at all."""
    path = Path(db_path)
    if not path.is_file():
        raise NotFoundError(f"{path}: no such crawl store")
    con = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    con.text_factory = bytes  # a row that is not UTF-8 is that row's problem, not the cursor's
    try:
        try:
            con.execute("SELECT ad FROM ads LIMIT 0")
        except sqlite3.DatabaseError as e:
            raise InvalidValueError(f"{path}: not a trafficking-ads crawl store ({e})") from e
        last = 0
        while True:
            try:
                rows = con.execute(
                    "SELECT rowid, ad FROM ads WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, _PAGE)
                ).fetchall()
            except sqlite3.DatabaseError:
                rows = None
            if rows is None:  # some row in this page is unreadable: go one row at a time
                try:
                    ids = [
                        r[0]
                        for r in con.execute(
                            "SELECT rowid FROM ads WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, _PAGE)
                        )
                    ]
                except sqlite3.DatabaseError as e:
                    yield last + 1, f"unreadable from here on: {e}"
                    return
                rows = []
                for rowid in ids:
                    try:
                        rows.append(con.execute("SELECT rowid, ad FROM ads WHERE rowid = ?", (rowid,)).fetchone())
                    except sqlite3.DatabaseError as e:
                        rows.append((rowid, e))
            if not rows:
                return
            for rowid, blob in rows:
                last = rowid
                if isinstance(blob, Exception):
                    yield rowid, f"unreadable row: {blob}"
                    continue
                try:
                    yield rowid, stored_ad(blob)
                except ValueError as e:
                    yield rowid, str(e)
    finally:
        con.close()
