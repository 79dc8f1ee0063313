"""Streaming a large JSON document: walk objects and arrays, decode one value at a time.

`json.load` of a 1 GB array or Telegram export would hold it all in memory. `JsonStream`
keeps a window of text, walks the containers the caller asks for (`items()`, `members()`)
and decodes each leaf value with `json.JSONDecoder.raw_decode`, refilling the window when a
value runs past its end. Memory is bounded by the largest single value.

A value that is valid JSON but unusable (nested deeper than `jsonsafe.MAX_DEPTH`, an integer
over 4,300 digits, a lone surrogate) raises `JsonValueError` after the stream has moved past
it, so the caller reports that one record and reads on.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator, TextIO

from ..errors import TraffickingAdsError
from .jsonsafe import DECODER, MAX_DEPTH, check_value, raw_decode
from .mapping import RecordError

_WS = " \t\n\r"
CHUNK = 1 << 16
#: A string (possibly cut at the window's end: group 1 empty) or a bracket.
_SCAN = re.compile(r'"(?:[^"\\]|\\.)*("?)|[\[\]{}]', re.S)


class JsonSyntaxError(TraffickingAdsError, ValueError):
    """The document is not valid JSON at `line`: nothing after this point can be read."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class JsonValueError(TraffickingAdsError, ValueError):
    """One value that was read past but cannot be used; `kind`/`field` as in RecordError."""

    def __init__(self, kind: str, reason: str, field: str | None, line: int) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.field = field
        self.line = line


class JsonStream:
    """A pull parser over a text stream, enough for arrays of records and Telegram exports."""

    def __init__(self, stream: TextIO, chunk: int = CHUNK) -> None:
        self._stream = stream
        self._chunk = chunk
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._line = 1  # line number at self._pos

    # -- the window -----------------------------------------------------------------
    def _fill(self) -> bool:
        """Read another chunk into the window; False at end of input."""
        if self._eof:
            return False
        # grow geometrically so a huge value is re-scanned O(log n) times, not O(n)
        data = self._stream.read(max(self._chunk, len(self._buf) - self._pos))
        if not data:
            self._eof = True
            return False
        self._buf = self._buf[self._pos :] + data
        self._pos = 0
        return True

    def _advance(self, end: int) -> None:
        self._line += self._buf.count("\n", self._pos, end)
        self._pos = end

    @property
    def line(self) -> int:
        """The line where the next value starts (after skipping whitespace)."""
        return self._line

    def skip_ws(self) -> str:
        """Skip whitespace; the next character, or '' at end of input."""
        while True:
            i = self._pos
            n = len(self._buf)
            while i < n and self._buf[i] in _WS:
                i += 1
            self._advance(i)
            if i < n:
                return self._buf[i]
            if not self._fill():
                return ""

    def expect(self, chars: str) -> str:
        """Consume one of `chars` (after whitespace) and return it, or fail."""
        c = self.skip_ws()
        if not c or c not in chars:
            found = repr(c) if c else "end of input"
            raise JsonSyntaxError(
                f"invalid JSON at line {self._line}: expected {' or '.join(map(repr, chars))}, found {found}",
                self._line,
            )
        self._advance(self._pos + 1)
        return c

    def value(self) -> tuple[Any, str]:
        """Decode the next whole value; returns (value, its source text).

        Raises JsonSyntaxError (nothing more can be read) or JsonValueError (this value is
        unusable; the stream is past it)."""
        self.skip_ws()
        start_line = self._line
        while True:
            try:
                obj, end = raw_decode(self._buf, self._pos)
            except RecursionError:
                start = self._skip_deep()
                deep = _deep_member(self._buf[start : self._pos]) if self._buf[start : start + 1] == "{" else None
                raise JsonValueError(
                    "invalid_json", f"nested deeper than {MAX_DEPTH} levels", deep, start_line
                ) from None
            except json.JSONDecodeError as e:
                truncated = len(self._buf) - e.pos < 16 or e.msg.startswith("Unterminated string")
                if truncated and self._fill():
                    continue
                line = self._line + self._buf.count("\n", self._pos, e.pos)
                raise JsonSyntaxError(f"invalid JSON at line {line}: {e.msg}", line) from None
            if (
                not self._eof
                and (end >= len(self._buf) or (len(self._buf) - end < 32 and not isinstance(obj, (str, list, dict))))
                and self._fill()
            ):
                continue  # a number at the window's end ("0" of "0.5", "1e" of "1e5") may continue in the next chunk
            text = self._buf[self._pos : end]
            self._advance(end)
            try:
                check_value(obj, text)
            except RecordError as e:
                raise JsonValueError(e.kind, e.reason, e.field, start_line) from None
            return obj, text

    def _skip_deep(self, keep: bool = True) -> int:
        """Move past the next value without decoding it, iteratively (any nesting depth; strings
        and brackets found by a regex, nothing inside validated). With `keep` the value's text
        stays in the window and its start is returned; without, the window is emptied as the
        scan goes."""
        depth = 0
        start = i = self._pos
        while True:
            m = _SCAN.search(self._buf, i)
            if m is None or (m.group(0)[0] == '"' and not m.group(1)):
                restart = len(self._buf) if m is None else m.start()
                if not keep:
                    self._advance(restart)
                old = self._pos
                if not self._fill():
                    raise JsonSyntaxError(f"invalid JSON at line {self._line}: unterminated value", self._line)
                i, start = restart - old, 0
                continue
            c = m.group(0)[0]
            if c in "[{":
                depth += 1
            elif c in "]}":
                depth -= 1
                if depth <= 0:
                    self._advance(m.end())
                    return start
            i = m.end()

    def skip_value(self) -> None:
        """Skip the next value (decoded by the C decoder and dropped: far faster than walking it
        in Python; memory is bounded by the value, like everything here). Unusable values
        (too deep, a huge integer, a lone surrogate) are skipped too."""
        try:
            self.value()
        except JsonValueError:
            pass

    # -- containers -----------------------------------------------------------------
    def items(self) -> Iterator[int]:
        """Walk an array: yields the 1-based index of each item; the caller consumes it."""
        self.expect("[")
        if self.skip_ws() == "]":
            self._advance(self._pos + 1)
            return
        index = 0
        while True:
            index += 1
            yield index
            if self.expect(",]") == "]":
                return

    def members(self) -> Iterator[str]:
        """Walk an object: yields each key; the caller consumes (or skips) its value."""
        self.expect("{")
        if self.skip_ws() == "}":
            self._advance(self._pos + 1)
            return
        while True:
            if self.skip_ws() != '"':
                raise JsonSyntaxError(f"invalid JSON at line {self._line}: expected a key", self._line)
            try:
                key, _ = self.value()
            except JsonValueError:
                key = "\ufffd"  # a key with a lone surrogate: its value is still walked
            self.expect(":")
            yield key
            if self.expect(",}") == "}":
                return

    def at_end(self) -> bool:
        """True when only whitespace is left."""
        return self.skip_ws() == ""


def loads(text: str) -> Any:
    """`json.loads` for one untrusted record: RecordError instead of RecursionError/ValueError,
    JSONDecodeError for ordinary syntax errors (callers already report those)."""
    try:
        obj = DECODER.decode(text)
    except RecursionError:
        raise RecordError("invalid_json", f"nested deeper than {MAX_DEPTH} levels", _deep_member(text)) from None
    return check_value(obj, text)


def _deep_member(text: str) -> str | None:
    """The top-level key whose value is too deep, walking `text` as a stream (no recursion)."""
    import io

    js = JsonStream(io.StringIO(text))
    try:
        if js.skip_ws() != "{":
            return None
        for key in js.members():
            try:
                js.value()
            except JsonValueError:
                return key
    except ValueError:
        return None
    return None
