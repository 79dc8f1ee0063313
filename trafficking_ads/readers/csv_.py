"""CSV and TSV: a header row, then one ad per row; columns mapped by name (see mapping.py).

The delimiter is tab for .tsv/.tab, else the most frequent of `, ; TAB |` in the header
line (Russian Excel exports use `;`). Quoted fields may span lines; each BadRecord names
the data row and the line it starts on. Fields may be large (a 5 MB ad), so the csv
module's per-field limit is raised.
"""

from __future__ import annotations

import csv
import sys
from collections import deque
from typing import Iterator, Mapping, TextIO

from ..records import Ad
from .errors import BadRecord, safe_raw
from .mapping import RecordError, build_ad, check_text, resolve

DELIMITERS = (",", ";", "\t", "|")


def _raise_field_limit() -> None:
    limit = sys.maxsize
    while True:  # sys.maxsize overflows a C long on some platforms
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 2


def guess_delimiter(header_line: str) -> str:
    """The delimiter that splits the header line most (comma when none does)."""
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


class _Lines:
    """Feeds lines to csv.reader and remembers how many it has taken (for row -> line), the
    lines of the row being read, and lines pushed back to be read again (see `read_csv`)."""

    def __init__(self, stream: TextIO, first: str | None) -> None:
        self._stream = stream
        self._pending: deque[str] = deque([first] if first is not None else [])
        self.taken = 0
        self.row_lines: list[str] = []
        self.at_eof = False

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        if self._pending:
            line = self._pending.popleft()
        else:
            line = self._stream.readline()
            if not line:
                self.at_eof = True
                raise StopIteration
        self.taken += 1
        self.row_lines.append(line)
        return line

    def start_row(self) -> None:
        self.row_lines = []

    def push_back(self, lines: list[str]) -> None:
        """Read `lines` again (they were swallowed by a quote that never closed)."""
        self._pending.extendleft(reversed(lines))
        self.taken -= len(lines)
        self.at_eof = False


def read_csv(
    stream: TextIO,
    source: str,
    user: Mapping[str, tuple[str, ...]] | None = None,
    delimiter: str | None = None,
) -> Iterator[Ad | BadRecord]:
    """Yield an Ad or a BadRecord per data row (`record` = data row number, 1-based)."""
    _raise_field_limit()
    first = stream.readline()
    if not first:
        return
    lines = _Lines(stream, first)
    reader = csv.reader(lines, delimiter=delimiter or guess_delimiter(first))
    try:
        header = next(reader)
    except csv.Error as e:
        yield BadRecord(source, "invalid_csv", f"unreadable header: {e}", 1, None)
        return
    try:
        for col in header:
            check_text(col, "header")
    except RecordError as e:
        yield BadRecord(source, "undecodable", f"header: {e.reason}", 1, None, raw=safe_raw(first))
        return
    fmap = resolve(header, user)
    if not fmap.has_text or any(c not in header for c in fmap.fields["text"]):
        missing = [c for c in fmap.fields.get("text", ()) if c not in header]
        why = f"no column {missing[0]!r}" if missing else "no text column"
        yield BadRecord(
            source,
            "missing_text",
            f"{why} among {header}; use --map text=COLUMN",
            1,
            None,
            "text",
            raw=safe_raw(first.rstrip("\r\n")),
        )
        return
    row_no = 0
    while True:
        start = lines.taken + 1
        lines.start_row()
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            row_no += 1
            yield BadRecord(source, "invalid_csv", f"malformed CSV: {e}", start, row_no)
            continue
        if lines.at_eof and len(lines.row_lines) > 1 and _open_quote(lines.row_lines):
            row_no += 1
            swallowed = lines.row_lines
            yield BadRecord(
                source,
                "invalid_csv",
                f"a quoted field opened on line {start} never closes "
                f"(it ran over {len(swallowed) - 1} more lines to the end of the input); the lines after it are read as rows",
                start,
                row_no,
                raw=safe_raw(swallowed[0].rstrip("\r\n")),
            )
            lines.push_back(swallowed[1:])
            reader = csv.reader(lines, delimiter=reader.dialect.delimiter)
            continue
        if not row or (len(row) == 1 and not row[0].strip() and len(header) > 1):
            continue  # blank line
        row_no += 1
        if len(row) != len(header) and not (len(row) > len(header) and not any(x.strip() for x in row[len(header) :])):
            yield BadRecord(
                source,
                "invalid_csv",
                f"row has {len(row)} fields, the header has {len(header)}",
                start,
                row_no,
                raw=safe_raw(csv_line(row, reader.dialect.delimiter)),
            )
            continue
        obj = dict(zip(header, row))
        try:
            for col, value in obj.items():
                check_text(value, col)
            yield build_ad(obj, fmap)
        except RecordError as e:
            yield BadRecord(
                source, e.kind, e.reason, start, row_no, e.field, raw=safe_raw(csv_line(row, reader.dialect.delimiter))
            )


def _open_quote(row_lines: list[str]) -> bool:
    """Whether a row's lines end inside a quoted field (an odd number of quote characters:
    a doubled quote inside a field counts two)."""
    return sum(line.count('"') for line in row_lines) % 2 == 1


def csv_line(row: list[str], delimiter: str) -> str:
    """A row re-joined for an error report (quoted only where needed)."""
    return delimiter.join(
        '"' + c.replace('"', '""') + '"' if (delimiter in c or '"' in c or "\n" in c) else c for c in row
    )
