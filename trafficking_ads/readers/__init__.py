"""Reading batches of ads from files, directories, stdin or a string — lazily.

Every reader yields `Ad`s one at a time (constant memory: a 1 GB file streams), and a
`BadRecord` in place of each record it cannot read (file, line/row, field, reason), so the
caller chooses to skip-and-report or to stop. Formats, chosen by extension or sniffed:

- JSON Lines (`.jsonl`, `.ndjson`), a JSON array or single object (`.json`), a Telegram
  Desktop export (`result.json`, or the export folder holding it);
- CSV/TSV with a header (`.csv`, `.tsv`; `;` and `|` delimiters detected), columns mapped
  by name, EMSCAD (`fake_job_postings.csv`) and DIFrauD (`{text,label}`) without options;
- plain text: a `.txt` file is one ad, a directory of `.txt` files is a batch;
- a crawl store written by `scrape` (`.sqlite`, `.db`); Parquet (`.parquet`), a row an ad;
- `-` for stdin (format sniffed), and a literal text.

Encodings: UTF-8 with or without BOM, UTF-16 with BOM, Windows-1251 detected when it
plausibly is, or any codec named by `encoding=`. This package does not score or write.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable, Iterable, Iterator, Literal, Mapping, Sequence

from ..errors import InvalidValueError
from ..records import Ad
from .crawlstore import SUFFIXES as STORE_SUFFIXES, read_crawl_store
from .csv_ import read_csv
from .encoding import SNIFF_BYTES, detect_encoding, open_source, text_stream
from .errors import KINDS, BadRecord, InputError
from .json_ import read_json
from .parquet import SUFFIXES as PARQUET_SUFFIXES, read_parquet
from .jsonl import read_jsonl
from .telegram import EXPORT_KEYS
from .mapping import parse_map, resolve
from .textdir import ad_from_bytes, ad_from_text, read_text_file, text_files

__all__ = [
    "BadRecord",
    "InputError",
    "KINDS",
    "FORMATS",
    "iter_records",
    "read_ads",
    "check_inputs",
    "input_size",
    "parse_map",
]

log = logging.getLogger(__name__)

#: Input formats that may be forced (`input_format=`); "auto" picks by extension, then content.
FORMATS = ("auto", "jsonl", "json", "csv", "tsv", "text")
_BY_SUFFIX = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".jsonlines": "jsonl",
    ".json": "json?",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "text",
}
MappingSpec = str | Sequence[str] | Mapping[str, str] | None
OnError = Literal["warn", "skip", "raise"] | Callable[[BadRecord], None]


def _as_list(inputs: str | Path | Iterable[str | Path] | None) -> list[str | Path]:
    if inputs is None:
        return []
    if isinstance(inputs, (str, Path)):
        return [inputs]
    return list(inputs)


def check_inputs(inputs: str | Path | Iterable[str | Path] | None) -> None:
    """Raise InputError naming the first input that does not exist (before any work starts)."""
    for inp in _as_list(inputs):
        if str(inp) != "-" and not Path(inp).exists():
            raise InputError(f"{inp}: no such file or directory")


def input_size(inputs: str | Path | Iterable[str | Path] | None) -> int | None:
    """Total bytes of the inputs (for a progress bar and ETA); None if one is stdin."""
    total = 0
    for inp in _as_list(inputs):
        if str(inp) == "-":
            return None
        p = Path(inp)
        if p.is_dir():
            files = text_files(p) or ([p / "result.json"] if (p / "result.json").is_file() else [])
            total += sum(f.stat().st_size for f in files)
        elif p.is_file():
            total += p.stat().st_size
    return total


def sniff_format(prefix: str, at_eof: bool, user: Mapping[str, tuple[str, ...]] | None = None) -> str:
    """Tell jsonl / json / csv / tsv / text from the first characters of an input."""
    body = prefix.lstrip("\ufeff \t\r\n")
    if body.startswith("["):
        return "json"
    if body.startswith("{"):
        first, newline, _ = body.partition("\n")
        if not newline and not at_eof:
            # one huge compact line: a Telegram export written on one line, or a long JSON line
            return "json" if _top_level_keys_include(first, EXPORT_KEYS) else "jsonl"
        try:
            obj = json.loads(first)
        except json.JSONDecodeError:
            return "json"  # a pretty-printed document
        except (RecursionError, ValueError):  # valid JSON but unusable (too deep, a huge integer)
            return "json" if _top_level_keys_include(first, EXPORT_KEYS) else "jsonl"
        is_export = isinstance(obj, dict) and any(k in obj for k in EXPORT_KEYS)
        return "jsonl" if isinstance(obj, dict) and not is_export else "json"
    header = body.split("\n", 1)[0].rstrip("\r")
    from .csv_ import guess_delimiter

    delim = guess_delimiter(header)
    cols = [c.strip().strip('"') for c in header.split(delim)]
    fmap = resolve(cols, user)
    if len(cols) >= 2 and fmap.has_text and all(c in cols for c in fmap.fields["text"]):
        return "tsv" if delim == "\t" else "csv"
    return "text"


def _top_level_keys_include(prefix: str, keys: tuple[str, ...]) -> bool:
    """Whether the object that `prefix` starts has one of `keys` at its top level (before the
    prefix ends): the members are walked, their values skipped, nothing is held."""
    import io

    from .jsonstream import JsonStream

    js = JsonStream(io.StringIO(prefix))
    try:
        for key in js.members():
            if key in keys:
                return True
            js.skip_value()
    except ValueError:  # the prefix ended (or is not JSON): not found within it
        return False
    return False


def _read_one(
    inp: str | Path,
    fmt: str,
    encoding: str | None,
    user: Mapping[str, tuple[str, ...]],
    on_bytes: Callable[[int], None] | None,
) -> Iterator[Ad | BadRecord]:
    name = "<stdin>" if str(inp) == "-" else str(inp)
    path = Path(inp)
    if name != "<stdin>" and path.is_dir():
        if (path / "result.json").is_file() and not text_files(path):
            yield from _read_one(path / "result.json", fmt, encoding, user, on_bytes)
            return
        for i, f in enumerate(text_files(path), 1):
            yield read_text_file(f, encoding, i, path)
            if on_bytes:
                on_bytes(f.stat().st_size)
        return
    if name != "<stdin>" and not path.exists():
        raise InputError(f"{name}: no such file or directory")
    if name != "<stdin>" and fmt == "auto" and path.suffix.lower() in STORE_SUFFIXES:
        yield from read_crawl_store(path)
        if on_bytes:
            on_bytes(path.stat().st_size)
        return
    if name != "<stdin>" and fmt == "auto" and path.suffix.lower() in PARQUET_SUFFIXES:
        yield from read_parquet(path, user)
        if on_bytes:
            on_bytes(path.stat().st_size)
        return
    if fmt == "auto":
        fmt = _BY_SUFFIX.get(path.suffix.lower(), "auto") if name != "<stdin>" else "auto"
    src = open_source(inp, on_bytes)
    try:
        prefix = src.peek_bytes(SNIFF_BYTES)
        if fmt == "text":
            data = prefix if src.at_eof_after_peek else prefix + src.read()
            if on_bytes and src.at_eof_after_peek:
                on_bytes(len(data))
            out = ad_from_bytes(data, name, None, encoding, {"file": name} if name != "<stdin>" else None)
            yield out
            return
        try:
            enc = encoding or detect_encoding(prefix, src.at_eof_after_peek, name)
        except InputError as e:
            yield BadRecord(name, "undecodable", str(e).removeprefix(f"{name}: "))
            return
        if fmt in ("auto", "json?"):
            sniffed = sniff_format(prefix.decode(enc, errors="replace"), src.at_eof_after_peek, user)
            fmt = sniffed if fmt == "auto" or sniffed in ("json", "jsonl") else "json"
        stream, _ = text_stream(src, enc)
        with stream:
            if fmt == "jsonl":
                yield from read_jsonl(stream, name, user)
            elif fmt == "json":
                yield from read_json(stream, name, user)
            elif fmt in ("csv", "tsv"):
                yield from read_csv(stream, name, user, "\t" if fmt == "tsv" else None)
            else:  # sniffed as plain text
                yield ad_from_text(stream.read(), name, None, {"file": name} if name != "<stdin>" else None)
    finally:
        src.close()


def iter_records(
    inputs: str | Path | Iterable[str | Path] | None = None,
    *,
    text: str | Iterable[str] | None = None,
    encoding: str | None = None,
    mapping: MappingSpec = None,
    input_format: str = "auto",
    on_bytes: Callable[[int], None] | None = None,
) -> Iterator[Ad | BadRecord]:
    """Yield an `Ad` or a `BadRecord` for every record of every input, in order.

    `text` adds literal ads (before the inputs); `mapping` is `--map` (`text=col,title=col`);
    `on_bytes(n)` reports input bytes consumed. Raises InputError for a missing input and
    ValueError for a bad mapping or format; everything else becomes a BadRecord.
    """
    if input_format not in FORMATS:
        raise InvalidValueError(f"unknown input format {input_format!r} (one of: {', '.join(FORMATS)})")
    user = parse_map(mapping)
    texts = [text] if isinstance(text, str) else list(text or [])
    for i, t in enumerate(texts, 1):
        yield Ad(text=t) if t.strip() else BadRecord("--text", "empty_text", "text is empty", None, i, "text")
    for inp in _as_list(inputs):
        yield from _read_one(inp, input_format, encoding, user, on_bytes)


def read_ads(
    inputs: str | Path | Iterable[str | Path] | None = None,
    *,
    text: str | Iterable[str] | None = None,
    encoding: str | None = None,
    mapping: MappingSpec = None,
    input_format: str = "auto",
    on_error: OnError = "warn",
) -> Iterator[Ad]:
    """Yield the ads of files, directories, `-` (stdin) or `text`, lazily.

    Bad records are skipped; `on_error` says what else happens to each: "warn" (log a
    warning), "skip" (nothing), "raise" (InputError at the first), or a callable.

    >>> ads = list(read_ads(text="Работа в Дубае, билеты за наш счёт"))
    >>> ads[0].text[:6]
    'Работа'
    """
    for rec in iter_records(inputs, text=text, encoding=encoding, mapping=mapping, input_format=input_format):
        if isinstance(rec, Ad):
            yield rec
        elif on_error == "raise":
            raise InputError(rec.message(), rec)
        elif on_error == "warn":
            log.warning("skipped: %s", rec.message())
        elif callable(on_error):
            on_error(rec)
