"""The crawl store: one SQLite file (WAL) holding the frontier, the pages fetched and the ads found.

Why one SQLite file: a crawl killed at any moment must resume where it stopped, and a re-crawl
must know each page's ETag/Last-Modified. Every processed page is committed in one
transaction (page row + its ads + the links it queued + its frontier state), so after a kill
the store holds whole pages only, and the frontier's `queued` rows are exactly the work left.
WAL lets `score` read ads (`iter_ads`) while a crawl is still writing.

Tables: `frontier` (url, source, role, state queued/done/failed), `pages` (url, canonical url,
fetch time, last check time (a 304 moves only this), status, etag, last_modified, content hash, source), `ads` (id, url, source,
content hash, fetch time, the Ad as JSON), `sources` (the crawl's source definitions, so
`scrape --db crawl.sqlite` resumes without repeating them), `meta`.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import InvalidValueError
from ..readers.crawlstore import iter_stored
from ..records import TEXT_FIELDS, Ad

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (name TEXT PRIMARY KEY, config TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS frontier (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    role TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    parent TEXT,
    updated_at TEXT
);
CREATE INDEX IF NOT EXISTS frontier_state ON frontier (state, seq);
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY,
    final_url TEXT,
    canonical_url TEXT,
    source TEXT,
    kind TEXT,
    fetched_at TEXT,
    checked_at TEXT,
    status INTEGER,
    etag TEXT,
    last_modified TEXT,
    content_hash TEXT,
    content_type TEXT,
    bytes INTEGER,
    duplicate_of TEXT,
    ads INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX IF NOT EXISTS pages_canonical ON pages (canonical_url);
CREATE INDEX IF NOT EXISTS pages_hash ON pages (content_hash);
CREATE TABLE IF NOT EXISTS ads (
    id TEXT PRIMARY KEY,
    url TEXT,
    page_url TEXT,
    source TEXT,
    content_hash TEXT NOT NULL UNIQUE,
    fetched_at TEXT NOT NULL,
    ad TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ads_page ON ads (page_url);
"""


def now_iso() -> str:
    """The current UTC time, ISO 8601 with seconds."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def ad_content_hash(ad: Ad) -> str:
    """Hash of what a human wrote in the ad, URL excluded: the same ad posted at two URLs is one ad."""
    h = hashlib.sha256()
    for name in TEXT_FIELDS:
        h.update(name.encode())
        h.update(b"\x00")
        h.update(" ".join((getattr(ad, name) or "").split()).encode("utf-8", "surrogatepass"))
        h.update(b"\x01")
    return h.hexdigest()


def body_hash(content: bytes) -> str:
    """Hash of a fetched body (detects byte-identical pages under different URLs)."""
    return hashlib.sha256(content).hexdigest()


@dataclass
class FrontierItem:
    """A URL waiting in (or taken from) the frontier."""

    url: str
    source: str
    role: str
    parent: str | None = None


@dataclass
class AdCounts:
    """What saving a page's ads did: new rows, rows updated (same id, edited text), duplicates skipped."""

    new: int = 0
    updated: int = 0
    duplicate: int = 0


class Store:
    """An open crawl store. Use as a context manager, or call `close()`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.con = sqlite3.connect(str(self.path), isolation_level=None, timeout=30)
        self.con.row_factory = sqlite3.Row
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA synchronous=NORMAL")
        self.con.execute("PRAGMA foreign_keys=ON")
        with self.transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self.con.execute(statement)
            row = self.con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                self.con.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            elif row[0] != SCHEMA_VERSION:
                raise InvalidValueError(
                    f"{self.path}: crawl store schema {row[0]}, this version reads {SCHEMA_VERSION}"
                )

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (a WAL checkpoint happens on the last close)."""
        self.con.close()

    def transaction(self) -> "_Tx":
        """`with store.transaction():` — BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error."""
        return _Tx(self.con)

    # ------------------------------------------------------------ sources

    def save_sources(self, sources: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Remember source definitions (name, config dict) for later resumes."""
        with self.transaction():
            for name, config in sources:
                self.con.execute(
                    "INSERT OR REPLACE INTO sources VALUES (?, ?)", (name, json.dumps(config, ensure_ascii=False))
                )

    def load_sources(self) -> list[dict[str, Any]]:
        """Source definitions saved by earlier runs."""
        return [json.loads(r[0]) for r in self.con.execute("SELECT config FROM sources ORDER BY rowid")]

    # ------------------------------------------------------------ frontier

    def enqueue(self, url: str, source: str, role: str, parent: str | None = None, requeue: bool = False) -> bool:
        """Add a URL to the frontier (a known URL keeps its state unless `requeue`); True if it is newly queued."""
        cur = self.con.execute(
            "INSERT OR IGNORE INTO frontier (url, source, role, parent, updated_at) VALUES (?, ?, ?, ?, ?)",
            (url, source, role, parent, now_iso()),
        )
        if cur.rowcount:
            return True
        if requeue:
            cur = self.con.execute(
                "UPDATE frontier SET state='queued', updated_at=? WHERE url=? AND state!='queued'", (now_iso(), url)
            )
            return bool(cur.rowcount)
        return False

    def next_queued(self, skip_urls: set[str], sources: set[str], limit: int = 8) -> list[FrontierItem]:
        """The oldest queued items of `sources`, leaving out URLs already in flight."""
        if not sources:
            return []
        marks = ",".join("?" * len(sources))
        rows = self.con.execute(
            f"SELECT url, source, role, parent FROM frontier WHERE state='queued' AND source IN ({marks}) ORDER BY seq LIMIT ?",
            (*sorted(sources), limit + len(skip_urls)),
        )
        return [FrontierItem(r["url"], r["source"], r["role"], r["parent"]) for r in rows if r["url"] not in skip_urls][
            :limit
        ]

    def set_state(self, url: str, state: str, error: str | None = None) -> None:
        """Mark a frontier URL done or failed (attempts counted)."""
        self.con.execute(
            "UPDATE frontier SET state=?, error=?, attempts=attempts+1, updated_at=? WHERE url=?",
            (state, error, now_iso(), url),
        )

    def frontier_counts(self) -> dict[str, int]:
        """Frontier size by state."""
        counts = {"queued": 0, "done": 0, "failed": 0}
        for state, n in self.con.execute("SELECT state, count(*) FROM frontier GROUP BY state"):
            counts[state] = n
        return counts

    def processed_by_source(self) -> dict[str, int]:
        """Pages already done or failed per source (page limits count across resumed runs)."""
        return dict(
            self.con.execute("SELECT source, count(*) FROM frontier WHERE state!='queued' GROUP BY source").fetchall()
        )

    def requeue_for_recrawl(self) -> int:
        """Queue every known URL again (failed ones too) for a re-crawl; older Telegram pages are left
        done — they are re-queued only when the page before them shows new messages."""
        with self.transaction():
            cur = self.con.execute(
                "UPDATE frontier SET state='queued', updated_at=? WHERE role!='telegram' AND state!='queued'",
                (now_iso(),),
            )
        return cur.rowcount

    # ------------------------------------------------------------ pages

    def page(self, url: str) -> sqlite3.Row | None:
        """The stored row of a fetched page, or None."""
        return self.con.execute("SELECT * FROM pages WHERE url=?", (url,)).fetchone()

    def duplicate_of(self, url: str, canonical: str | None, content_hash: str, by_canonical: bool = True) -> str | None:
        """Another processed page this one duplicates — same canonical URL (either way round) or a
        byte-identical body — or None. Listing pages pass `by_canonical=False`: sites often point
        every listing page's canonical at page 1, which must not stop pagination."""
        if by_canonical:
            key = canonical or url
            row = self.con.execute(
                "SELECT url FROM pages WHERE url!=? AND duplicate_of IS NULL AND status BETWEEN 200 AND 299 "
                "AND (canonical_url=? OR url=?) ORDER BY rowid LIMIT 1",
                (url, key, key),
            ).fetchone()
            if row:
                return row[0]
        row = self.con.execute(
            "SELECT url FROM pages WHERE url!=? AND duplicate_of IS NULL AND content_hash=? ORDER BY rowid LIMIT 1",
            (url, content_hash),
        ).fetchone()
        return row[0] if row else None

    def save_page(self, url: str, **fields: Any) -> None:
        """Insert or replace the page row for `url` (fields as in the `pages` table)."""
        fields = {"url": url, **fields}
        cols = ",".join(fields)
        marks = ",".join("?" * len(fields))
        updates = ",".join(f"{c}=excluded.{c}" for c in fields if c != "url")
        self.con.execute(
            f"INSERT INTO pages ({cols}) VALUES ({marks}) ON CONFLICT(url) DO UPDATE SET {updates}",
            tuple(fields.values()),
        )

    def touch_page(self, url: str) -> None:
        """Record a 304: the page is unchanged since `fetched_at`; only `checked_at` moves."""
        self.con.execute("UPDATE pages SET checked_at=?, error=NULL WHERE url=?", (now_iso(), url))

    # ------------------------------------------------------------ ads

    def save_ads(self, ads: Iterable[Ad], page_url: str, replace_page: bool = False) -> AdCounts:
        """Store ads once each: an ad whose content hash is already stored is a duplicate; an ad with a
        known id and new content (an edited Telegram message) updates that row. `replace_page` first
        drops the ads this page gave last time (the page changed)."""
        counts = AdCounts()
        if replace_page:
            self.con.execute("DELETE FROM ads WHERE page_url=?", (page_url,))
        fetched = now_iso()
        for ad in ads:
            h = ad_content_hash(ad)
            if self.con.execute("SELECT 1 FROM ads WHERE content_hash=?", (h,)).fetchone():
                counts.duplicate += 1
                continue
            ad.meta.setdefault("fetched_at", fetched)
            blob = json.dumps(ad.to_dict(), ensure_ascii=False, default=str)
            cur = self.con.execute(
                "UPDATE ads SET url=?, page_url=?, source=?, content_hash=?, fetched_at=?, ad=? WHERE id=?",
                (ad.url, page_url, ad.source, h, fetched, blob, ad.id),
            )
            if cur.rowcount:
                counts.updated += 1
                continue
            self.con.execute(
                "INSERT INTO ads VALUES (?, ?, ?, ?, ?, ?, ?)", (ad.id, ad.url, page_url, ad.source, h, fetched, blob)
            )
            counts.new += 1
        return counts

    def ad_count(self) -> int:
        """Number of stored ads."""
        return self.con.execute("SELECT count(*) FROM ads").fetchone()[0]

    def export_jsonl(self, out: str | Path) -> int:
        """Write every stored ad as one JSON line to `out`, atomically; returns the count
        (rows that are not valid ads are skipped with a warning, as by `iter_ads`)."""
        return write_jsonl_atomic(out, (ad.to_dict() for ad in iter_ads(self.path)))


class _Tx:
    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con

    def __enter__(self) -> sqlite3.Connection:
        self.con.execute("BEGIN IMMEDIATE")
        return self.con

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.con.execute("ROLLBACK" if exc_type else "COMMIT")


def write_jsonl_atomic(out: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records as JSON lines to a temp file beside `out`, then rename it over `out`."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    n = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for rec in records:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n += 1
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n


def iter_ads(db_path: str | Path) -> Iterator[Ad]:
    """The ads of a crawl store, in the order they were found (read-only; safe while a crawl runs).

    This is how `score` reads `.sqlite`/`.db` inputs: `for ad in iter_ads("crawl.sqlite")`.
    Rows that are not valid ads are skipped with a warning (`readers` reports them as bad records).
    """
    import logging

    for rowid, ad in iter_stored(db_path):
        if isinstance(ad, Ad):
            yield ad
        else:
            logging.getLogger(__name__).warning("%s: ads row %d skipped: %s", db_path, rowid, ad)
