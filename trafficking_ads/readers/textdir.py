"""Plain text: one `.txt` file is one ad; a directory of them is a batch (sorted by path)."""

from __future__ import annotations

import codecs
from pathlib import Path

from ..records import Ad
from .encoding import ESCAPE, detect_encoding
from .errors import BadRecord, InputError, safe_raw
from .mapping import RecordError, check_text


def text_files(directory: Path) -> list[Path]:
    """The `.txt` files under a directory, in a stable order."""
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() == ".txt")


def ad_from_bytes(
    data: bytes, source: str, record: int | None, encoding: str | None, meta: dict | None = None
) -> Ad | BadRecord:
    """A whole text (a file's bytes) as one Ad, or a BadRecord (undecodable, empty)."""
    try:
        enc = encoding or detect_encoding(data, True, source)
    except InputError as e:
        return BadRecord(
            source,
            "undecodable",
            str(e).removeprefix(f"{source}: "),
            None,
            record,
            "text",
            raw=safe_raw(data[:2000].decode("utf-8", "surrogateescape")),
        )
    if codecs.lookup(enc).name == "utf-8" and data.startswith(codecs.BOM_UTF8):
        enc = "utf-8-sig"
    return ad_from_text(data.decode(enc, errors=ESCAPE), source, record, meta)


def ad_from_text(text: str, source: str, record: int | None, meta: dict | None = None) -> Ad | BadRecord:
    """A decoded text (undecodable bytes escaped, see encoding.ESCAPE) as one Ad, or a BadRecord."""
    try:
        check_text(text, "text")
    except RecordError as e:
        return BadRecord(source, "undecodable", e.reason, None, record, "text", raw=safe_raw(text))
    if not text.strip():
        return BadRecord(source, "empty_text", "text is empty", None, record, "text")
    return Ad(text=text, meta=meta or {})


def read_text_file(
    path: Path, encoding: str | None, record: int | None = None, base: Path | None = None
) -> Ad | BadRecord:
    """One text file as one Ad (meta['file'] is its path, relative to `base` if given)."""
    name = str(path.relative_to(base)) if base else str(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        return BadRecord(str(path), "unreadable", f"cannot read: {e.strerror or e}", None, record)
    return ad_from_bytes(data, str(path), record, encoding, {"file": name})
