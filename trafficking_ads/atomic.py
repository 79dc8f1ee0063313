"""Atomic writes: a reader never sees half a file or half a model directory.

Files are written to a temporary file in the same directory, flushed to disk and renamed
over the target; directories are built beside the target and swapped in. Every stage that
writes an output (corpus, models, evaluation results, reports, labels) goes through here.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Permissions of written files: what `open()` would give (mkstemp's temp files are 0600).
_FILE_MODE = 0o666 & ~_umask()


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` via a temp file in the same directory, fsync and `os.replace`."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically (see `write_bytes`)."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> Path:
    """JSON (UTF-8, not ASCII-escaped), written atomically."""
    return write_text(path, json.dumps(obj, ensure_ascii=False, indent=indent) + "\n")


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict[str, Any]]) -> Path:
    """One JSON object per line, written atomically."""
    return write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def replace_dir(tmp: str | os.PathLike, out: str | os.PathLike, keep_old_as: str | os.PathLike | None = None) -> Path:
    """Swap the finished directory `tmp` in as `out` (a sibling); the old `out` is removed,
    or kept as `keep_old_as` (a sibling path) when given.

    If the swap fails, the old `out` is put back.
    """
    tmp, out = Path(tmp), Path(out)
    if not out.exists():
        os.replace(tmp, out)
        return out
    old = Path(keep_old_as) if keep_old_as is not None else out.with_name(f".{out.name}.old.{os.getpid()}")
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    if keep_old_as is None:
        shutil.rmtree(old, ignore_errors=True)
    return out
