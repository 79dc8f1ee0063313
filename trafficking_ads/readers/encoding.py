"""Opening inputs as streams and telling their encoding, without reading them whole.

The rule is: never guess silently. UTF-8 (with or without BOM) is tried strictly on a
prefix; if it fails, Windows-1251 is accepted only when the decoded text looks like real
Cyrillic writing; a UTF-8 file with a few corrupt bytes stays UTF-8 and those records are
reported as undecodable; anything else is refused with a hint to pass `--encoding`.
Decoding uses the `ESCAPE` error handler (`surrogateescape`, extended to every byte value), so
a bad byte later in a file marks its own record (see mapping.check_text) instead of garbling it
or stopping the whole file; that includes a UTF-16 file cut mid-character or of odd length,
whose stray bytes are ASCII values that `surrogateescape` itself cannot escape.
"""

from __future__ import annotations

import codecs
import io
import re
import sys
from pathlib import Path
from typing import BinaryIO, Callable

from .errors import InputError

#: The decoding error handler of every reader: undecodable bytes become lone surrogates
#: (U+DC00 + byte), which `check_text` reports, for any codec and any byte value.
ESCAPE = "trafficking-ads-escape"


def _escape(err: UnicodeError) -> tuple[str, int]:
    if not isinstance(err, UnicodeDecodeError):
        raise err
    bad = err.object[err.start : err.end]
    return "".join(chr(0xDC00 + b) for b in bad), err.end


codecs.register_error(ESCAPE, _escape)

#: How much of an input is read to sniff its format and encoding.
SNIFF_BYTES = 1 << 20
_WORD = re.compile(r"[^\W\d_]+")
_CYR = re.compile(r"[\u0400-\u04FF]")
_LAT = re.compile(r"[A-Za-z]")
#: Non-letter characters a Windows-1251 text plausibly holds outside ASCII.
_CP1251_PUNCT = set("«»—–№…“”„‘’\u00a0•°±§©®™")


class Source(io.RawIOBase):
    """A readable binary stream that can be peeked at any length and counts bytes consumed.

    `on_bytes(n)` is called as bytes are handed on (for a progress bar in bytes).
    """

    def __init__(self, raw: BinaryIO, name: str, on_bytes: Callable[[int], None] | None = None, close_raw: bool = True):
        super().__init__()
        self._raw = raw
        self.name = name
        self._buf = b""
        self._pos = 0
        self._eof = False
        self._on_bytes = on_bytes
        self._close_raw = close_raw

    def readable(self) -> bool:
        return True

    def peek_bytes(self, n: int) -> bytes:
        """Up to n bytes from the current position, without consuming them."""
        while len(self._buf) - self._pos < n and not self._eof:
            chunk = self._raw.read(n - (len(self._buf) - self._pos))
            if not chunk:
                self._eof = True
                break
            self._buf = self._buf[self._pos :] + chunk
            self._pos = 0
        return self._buf[self._pos : self._pos + n]

    @property
    def at_eof_after_peek(self) -> bool:
        """True when the last peek reached the end of the input."""
        return self._eof

    def readinto(self, b) -> int:  # type: ignore[override]
        if self._pos < len(self._buf):
            n = min(len(b), len(self._buf) - self._pos)
            b[:n] = self._buf[self._pos : self._pos + n]
            self._pos += n
            if self._pos >= len(self._buf):
                self._buf, self._pos = b"", 0
        else:  # read1: hand on what a pipe has now instead of waiting for a full buffer
            read = getattr(self._raw, "read1", self._raw.read)
            data = read(len(b))
            n = len(data)
            b[:n] = data
        if self._on_bytes and n:
            self._on_bytes(n)
        return n

    def close(self) -> None:
        if self._close_raw and not self.closed:
            self._raw.close()
        super().close()


def open_source(path: str | Path, on_bytes: Callable[[int], None] | None = None) -> Source:
    """Open a file, or stdin for `-`, as a peekable binary Source."""
    if str(path) == "-":
        raw = getattr(sys.stdin, "buffer", None)
        if raw is None:  # a text-only stdin (rare): re-encode what it yields
            raw = io.BytesIO(sys.stdin.read().encode("utf-8"))
        return Source(raw, "<stdin>", on_bytes, close_raw=False)
    try:
        raw = open(path, "rb")
    except OSError as e:
        raise InputError(f"{path}: cannot open: {e.strerror or e}") from None
    return Source(raw, str(path), on_bytes)


def plausible_cyrillic(text: str) -> bool:
    """Does this decoded text look like Russian/Kazakh writing rather than mojibake?

    Non-ASCII characters must be mostly Cyrillic letters or typical punctuation; Cyrillic
    words must not mix in Latin letters and must have normal case (lower, UPPER, Title):
    a wrong code page gives words like `cafй` or `пРИВЕТ`.
    """
    nonascii = [c for c in text if ord(c) > 127]
    if not nonascii:
        return False
    cyr = sum(1 for c in nonascii if "\u0400" <= c <= "\u04ff")
    other_ok = sum(1 for c in nonascii if c in _CP1251_PUNCT)
    if cyr < 3 or (cyr + other_ok) < 0.9 * len(nonascii):
        return False
    words = [w for w in _WORD.findall(text) if _CYR.search(w)]
    if not words:
        return False
    odd = 0
    for w in words:
        if _LAT.search(w) or not (w.islower() or w.isupper() or w.istitle()):
            odd += 1
    upper = sum(1 for c in nonascii if c.isupper())
    return odd <= 0.1 * len(words) and (upper <= 0.6 * cyr or len(words) < 5)


def detect_encoding(prefix: bytes, at_eof: bool, name: str = "input") -> str:
    """The encoding of an input from its first bytes (see the module docstring for the rule)."""
    if prefix.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if prefix.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(prefix, final=at_eof)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    if plausible_cyrillic(prefix.decode("cp1251", errors="replace")):
        return "cp1251"
    escaped = prefix.decode("utf-8", errors="surrogateescape")
    bad = sum(1 for c in escaped if "\udc80" <= c <= "\udcff")
    good_multibyte = sum(1 for c in escaped if ord(c) > 127 and not "\udc80" <= c <= "\udcff")
    if bad <= good_multibyte or bad <= 0.001 * len(prefix):
        return "utf-8"  # UTF-8 with a few corrupt bytes: those records are reported, not guessed
    raise InputError(
        f"{name}: undecodable: not UTF-8 and not plausibly Windows-1251 text; "
        "pass --encoding (e.g. cp1251, kz1048, latin-1, utf-16)"
    )


def text_stream(src: Source, encoding: str | None) -> tuple[io.TextIOWrapper, str]:
    """Wrap a Source as text in the given (or detected) encoding; returns (stream, encoding)."""
    if encoding is None:
        prefix = src.peek_bytes(SNIFF_BYTES)
        encoding = detect_encoding(prefix, src.at_eof_after_peek, src.name)
    else:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r}") from None
        if codecs.lookup(encoding).name == "utf-8" and src.peek_bytes(3).startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
    buffered = io.BufferedReader(src, buffer_size=1 << 16)
    return io.TextIOWrapper(buffered, encoding=encoding, errors=ESCAPE, newline=""), encoding
