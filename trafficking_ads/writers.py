"""Writing scored records: JSON Lines or CSV, atomically, resumable.

A run writes `OUT.partial` beside `OUT` and renames it over `OUT` only when it has
finished (after fsync), so a crash or Ctrl-C never leaves a truncated `OUT`. The partial
file is kept on interruption: `resume=True` reads the ids already scored in it (cutting a
torn last record), appends the rest, and finalises the same way — the result is
byte-identical to an uninterrupted run. This module knows records, not scorers.

Files are created with `O_EXCL | O_NOFOLLOW` in the output's own directory (temp names are
random, the partial name is fixed): a symlink planted at `OUT.partial` is refused, never
written through. CSV cells that a spreadsheet would run as a formula (starting with `=`, `+`,
`-`, `@`, tab or carriage return, OWASP's CSV-injection list) are prefixed with `'`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import sys
from collections import Counter
from pathlib import Path
from typing import IO, Any, Iterable

from .errors import InvalidValueError, TraffickingAdsError

OUTPUT_FORMATS = ("jsonl", "csv")
#: Assessment columns of CSV output, before the ad fields.
CSV_COLUMNS = (
    "ad_id",
    "risk",
    "band",
    "indicators",
    "evidence",
    "lang",
    "model",
    "model_version",
    "model_runtime",
    "model_precision",
    "components",
    "network",
)
#: The `ModelInfo` fields, as CSV columns (`model` holds the name).
MODEL_COLUMNS = {
    "name": "model",
    "version": "model_version",
    "runtime": "model_runtime",
    "precision": "model_precision",
}
PARTIAL_SUFFIX = ".partial"
#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
#: Bytes buffered before a write reaches the OS (records are also flushed every 64, see
#: batch.FLUSH_EVERY): few system calls, so the writing thread rarely gives up the GIL to
#: the scoring thread in the middle of a burst of results.
WRITE_BUFFER = 1 << 20


class OutputError(TraffickingAdsError, OSError):
    """An output that cannot be written (a directory in the way, a symlink, a full disk);
    the message says which file and what to do."""


def neutralise_cell(value: str) -> str:
    """A CSV cell made safe for spreadsheets: `'` before a leading `= + - @ TAB CR` (OWASP).

    A cell already starting with `'` followed by one of those (or another `'`) gets one more,
    so `unneutralise_cell` restores every value exactly (resume reads ids back)."""
    if value and (
        value[0] in FORMULA_START or (value[0] == "'" and value[1:2] and (value[1] in FORMULA_START or value[1] == "'"))
    ):
        return "'" + value
    return value


def unneutralise_cell(value: str) -> str:
    """The value `neutralise_cell` was given."""
    if value[:1] == "'" and value[1:2] and (value[1] in FORMULA_START or value[1] == "'"):
        return value[1:]
    return value


def open_new(path: Path, mode: str = "wb", *, exclusive: bool = True, buffering: int = -1) -> IO[Any]:
    """Open `path` for writing without following a symlink; with `exclusive`, only if it does
    not exist yet (O_EXCL). Anything but a regular file at `path` raises OutputError."""
    flags = os.O_CREAT | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | (os.O_EXCL if exclusive else 0)
    flags |= os.O_RDWR if ("r" in mode or "+" in mode) else os.O_WRONLY
    try:
        fd = os.open(path, flags, 0o666)
    except FileExistsError:
        raise OutputError(
            f"{path} appeared while this run was starting; refusing to write through it (remove it and rerun)"
        ) from None
    except OSError:
        if os.path.islink(path):
            raise OutputError(
                f"{path} is a symbolic link; refusing to write through it (remove it and rerun)"
            ) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OutputError(f"{path} is not a regular file; refusing to write to it")
    return os.fdopen(fd, mode, buffering)


def check_output_path(path: str | os.PathLike) -> None:
    """Fail before any work if OUT cannot be the final name: an existing directory (or a
    symlink) there, or a parent that is a file. Raises OutputError naming the path."""
    p = Path(path)
    if p.is_symlink():
        raise OutputError(f"{p} is a symbolic link; give a new file name")
    if p.is_dir():
        raise OutputError(f"{p} is a directory; give a file name (e.g. {p / 'scored.jsonl'})")
    if p.exists() and not p.is_file():
        raise OutputError(f"{p} exists and is not a regular file")
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"{parent} is not a directory")
            break


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
        return neutralise_cell(str(v))

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
        cell(model.get("runtime")),
        cell(model.get("precision")),
        cell(record.get("components") or None),
        cell(record.get("network")),
        *(cell(ad.get(f)) for f in ad_fields),
    ]


def csv_line(cells: Iterable[str]) -> str:
    """One CSV line (`,`-separated, `\n`-terminated), quoting a cell that holds `,` `"` CR or LF.

    The csv module leaves a cell with a bare CR unquoted when the line terminator is `\n`,
    which a reader then takes for a line break; this quotes it."""
    out = []
    for c in cells:
        if any(ch in c for ch in ',"\r\n'):
            c = '"' + c.replace('"', '""') + '"'
        out.append(c)
    return ",".join(out) + "\n"


class _CsvWriter:
    """`writerow` over a text file with `csv_line`."""

    def __init__(self, file: IO[str]) -> None:
        self._file = file

    def writerow(self, cells: Iterable[str]) -> None:
        self._file.write(csv_line(cells))


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


class ResumeError(TraffickingAdsError, ValueError):
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
        data_lines[0] = data_lines[0][len(bom) :]
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
        raise ResumeError(
            f"{path}: its columns differ from this run's ({got[:12]} vs {header[:12]}); rerun without --resume"
        )
    good = offsets[taken[0] - 1]
    try:
        for row in reader:
            end = taken[0]
            if len(row) != len(header) or not data_lines[end - 1].endswith(b"\n"):
                break
            ids[unneutralise_cell(row[0])] += 1
            if first is None:
                first = {"model": {k: unneutralise_cell(row[header.index(col)]) for k, col in MODEL_COLUMNS.items()}}
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
            raise InvalidValueError(f"unknown output format {fmt!r} (one of: {', '.join(OUTPUT_FORMATS)})")
        if resume and out is None:
            raise InvalidValueError("--resume needs an output file (-o)")
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
        check_output_path(self.path)
        self.partial.parent.mkdir(parents=True, exist_ok=True)
        if self.partial.is_symlink() or (self.partial.exists() and not self.partial.is_file()):
            raise OutputError(
                f"{self.partial} is a symbolic link or not a regular file; refusing to write through it (remove it and rerun)"
            )
        keep = 0
        if resume and self.partial.exists():
            scan = scan_partial_jsonl(self.partial) if fmt == "jsonl" else scan_partial_csv(self.partial, self._header)
            self.done_ids, keep, first = scan
            self.partial_model = (first or {}).get("model")
        if keep:
            binary = open_new(self.partial, "r+b", exclusive=False, buffering=WRITE_BUFFER)
            binary.truncate(keep)
            binary.seek(keep)
        else:
            self.partial.unlink(missing_ok=True)  # a stale partial of an earlier run (not resumed)
            binary = open_new(self.partial, "wb", buffering=WRITE_BUFFER)
        self._file = io.TextIOWrapper(binary, encoding="utf-8", newline="", write_through=False)
        if fmt == "csv" and not keep:
            self._file.write("\ufeff")  # so that Excel reads Cyrillic correctly
            self._csv().writerow(self._header)

    def _csv(self) -> Any:
        return _CsvWriter(self._file)

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
        """Stop without finishing: keep what was written in OUT.partial for `resume` (a torn
        last record, e.g. after a full disk, is cut off when resuming)."""
        if self._own and not self._file.closed:
            try:
                self.flush(durable=True)
            except OSError:
                pass  # e.g. the disk is still full: what reached the file is kept
            finally:
                try:
                    self._file.close()
                except OSError:
                    pass

    def __enter__(self) -> "RecordWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def write_jsonl_atomic(path: str | os.PathLike, records: Iterable[dict[str, Any]]) -> int:
    """Write records as JSON Lines to `path` atomically (temp file, fsync, rename); returns count.

    The temp file has a random name in `path`'s directory and is created with O_EXCL (mkstemp),
    so nothing planted beforehand is written through."""
    import tempfile

    path = Path(path)
    check_output_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    n = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            for rec in records:
                f.write(json_line(rec))
                n += 1
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
    return n


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
