"""Writing scored records: JSON Lines or CSV, atomically, resumable.

A run writes `OUT.partial` beside `OUT` and renames it over `OUT` only when it has
finished (after fsync), so a crash or Ctrl-C never leaves a truncated `OUT`. The partial
file is kept on interruption: `resume=True` reads the ids already scored in it (cutting a
torn last record), appends the rest, and finalises the same way — the result is
byte-identical to an uninterrupted run. This module knows records, not scorers.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import IO, Any, Iterable

OUTPUT_FORMATS = ("jsonl", "csv")
#: Assessment columns of CSV output, before the ad fields.
CSV_COLUMNS = ("ad_id", "risk", "band", "indicators", "evidence", "lang", "model", "model_version", "components", "network")
PARTIAL_SUFFIX = ".partial"


def partial_path(path: str | os.PathLike) -> Path:
    """Where an unfinished OUT lives: `OUT.partial`, in the same directory (same filesystem)."""
    p = Path(path)
    return p.with_name(p.name + PARTIAL_SUFFIX)


def json_line(record: dict[str, Any]) -> str:
    """One JSON Lines line (UTF-8 text, not ASCII-escaped, keys in record order)."""
    return json.dumps(record, ensure_ascii=False, separators=(", ", ": ")) + "\n"


def csv_header(ad_fields: Iterable[str]) -> list[str]:
    """CSV columns: the assessment, then one column per carried ad field."""
    return [*CSV_COLUMNS, *ad_fields]


def csv_row(record: dict[str, Any], ad_fields: Iterable[str]) -> list[str]:
    """Flatten one scored record: indicator ids joined by `;`, evidence/components as JSON."""
    hits = record.get("indicators") or []
    ad = record.get("ad") or {}

    def cell(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, (dict, list)):
            return json.dumps(v, ensure_ascii=False)
        return str(v)

    model = record.get("model") or {}
    return [
        cell(record.get("ad_id")),
        repr(float(record["risk"])) if record.get("risk") is not None else "",
        cell(record.get("band")),
        ";".join(h["id"] for h in hits),
        json.dumps({h["id"]: h.get("evidence", []) for h in hits}, ensure_ascii=False) if hits else "",
        cell(record.get("lang")),
        cell(model.get("name")),
        cell(model.get("version")),
        cell(record.get("components") or None),
        cell(record.get("network")),
        *(cell(ad.get(f)) for f in ad_fields),
    ]


def fsync_dir(path: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class ResumeError(ValueError):
    """The partial output cannot be continued (different format, columns or model)."""


def scan_partial_jsonl(path: Path) -> tuple[Counter[str], int, dict[str, Any] | None]:
    """Ids in a partial JSONL file, the byte length of its whole records, and its first record."""
    ids: Counter[str] = Counter()
    good = 0
    first = None
    with open(path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break  # torn last write
            try:
                rec = json.loads(line)
                ad_id = rec["ad_id"]
            except (ValueError, KeyError, TypeError):
                break
            ids[ad_id] += 1
            first = first or rec
            good += len(line)
    return ids, good, first


def scan_partial_csv(path: Path, header: list[str]) -> tuple[Counter[str], int, dict[str, Any] | None]:
    """Like scan_partial_jsonl for CSV: rows with the full column count, ending in a newline."""
    ids: Counter[str] = Counter()
    with open(path, "rb") as f:
        data_lines = []
        offsets = []
        pos = 0
        for line in f:
            pos += len(line)
            data_lines.append(line)
            offsets.append(pos)
    bom = b"\xef\xbb\xbf"
    if data_lines and data_lines[0].startswith(bom):
        data_lines[0] = data_lines[0][len(bom):]
    taken = [0]

    def lines():
        for i, raw in enumerate(data_lines):
            taken[0] = i + 1
            yield raw.decode("utf-8", errors="replace")

    reader = csv.reader(lines(), strict=True)
    good = 0
    first = None
    try:
        got = next(reader)
    except (StopIteration, csv.Error):
        return ids, 0, None
    if not data_lines[taken[0] - 1].endswith(b"\n"):
        return ids, 0, None
    if got != header:
        raise ResumeError(f"{path}: its columns differ from this run's ({got[:12]} vs {header[:12]}); rerun without --resume")
    good = offsets[taken[0] - 1]
    try:
        for row in reader:
            end = taken[0]
            if len(row) != len(header) or not data_lines[end - 1].endswith(b"\n"):
                break
            ids[row[0]] += 1
            if first is None:
                first = {"model": {"name": row[header.index("model")], "version": row[header.index("model_version")]}}
            good = offsets[end - 1]
    except csv.Error:
        pass
    return ids, good, first


class RecordWriter:
    """Writes scored records to OUT (atomically, via OUT.partial) or to a stream.

    Use as a context manager: leaving the block normally commits; an exception leaves the
    partial file in place for `resume`.
    """

    def __init__(
        self,
        out: str | os.PathLike | None,
        fmt: str = "jsonl",
        ad_fields: tuple[str, ...] = (),
        resume: bool = False,
        stream: IO[str] | None = None,
    ) -> None:
        if fmt not in OUTPUT_FORMATS:
            raise ValueError(f"unknown output format {fmt!r} (one of: {', '.join(OUTPUT_FORMATS)})")
        if resume and out is None:
            raise ValueError("--resume needs an output file (-o)")
        self.fmt = fmt
        self.ad_fields = ad_fields
        self.path = Path(out) if out is not None else None
        self.partial = partial_path(out) if out is not None else None
        self.done_ids: Counter[str] = Counter()
        self.partial_model: dict[str, Any] | None = None
        self.written = 0
        self._header = csv_header(ad_fields)
        if self.partial is None:
            self._file: IO[str] = stream or sys.stdout
            self._own = False
            if fmt == "csv":
                self._csv().writerow(self._header)
            return
        self._own = True
        self.partial.parent.mkdir(parents=True, exist_ok=True)
        keep = 0
        if resume and self.partial.exists():
            scan = scan_partial_jsonl(self.partial) if fmt == "jsonl" else scan_partial_csv(self.partial, self._header)
            self.done_ids, keep, first = scan
            self.partial_model = (first or {}).get("model")
        mode = "r+b" if keep else "wb"
        binary = open(self.partial, mode)
        if keep:
            binary.truncate(keep)
            binary.seek(keep)
        self._file = io.TextIOWrapper(binary, encoding="utf-8", newline="", write_through=False)
        if fmt == "csv" and not keep:
            self._file.write("\ufeff")  # so that Excel reads Cyrillic correctly
            self._csv().writerow(self._header)

    def _csv(self) -> Any:
        return csv.writer(self._file, lineterminator="\n")

    def write(self, record: dict[str, Any]) -> None:
        """Append one scored record (a `scored_record(...)` dict)."""
        if self.fmt == "jsonl":
            self._file.write(json_line(record))
        else:
            self._csv().writerow(csv_row(record, self.ad_fields))
        self.written += 1

    def flush(self, durable: bool = False) -> None:
        """Push buffered records to the OS (and to disk with `durable`)."""
        self._file.flush()
        if durable and self._own:
            os.fsync(self._file.fileno())

    def commit(self) -> None:
        """Finish: fsync the partial file and rename it over OUT."""
        if not self._own:
            self._file.flush()
            return
        self.flush(durable=True)
        self._file.close()
        os.replace(self.partial, self.path)  # type: ignore[arg-type]
        fsync_dir(self.path.parent)  # type: ignore[union-attr]

    def abort(self) -> None:
        """Stop without finishing: keep what was written in OUT.partial for `resume`."""
        if self._own and not self._file.closed:
            try:
                self.flush(durable=True)
            finally:
                self._file.close()

    def __enter__(self) -> "RecordWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def write_jsonl_atomic(path: str | os.PathLike, records: Iterable[dict[str, Any]]) -> int:
    """Write records as JSON Lines to `path` atomically (temp file, fsync, rename); returns count."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    n = 0
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            for rec in records:
                f.write(json_line(rec))
                n += 1
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
    return n
