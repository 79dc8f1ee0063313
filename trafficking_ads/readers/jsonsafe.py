"""Decoding JSON from untrusted files without letting one value stop the run.

Three things in a decoded value can crash a run far from where they were read: nesting so deep
that `json` (or any later recursive step, e.g. writing the output) raises RecursionError; an
integer longer than Python's 4,300-digit conversion limit (ValueError); and a lone surrogate
(`"\\ud800"`) that is valid JSON but cannot be written as UTF-8. `check_value` (and
`jsonstream.loads`, built on it) turn each into a RecordError naming the field, so the reader
reports that record and goes on.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from .mapping import RecordError

#: Deepest nesting of arrays/objects accepted in one record; an ad needs a handful of levels.
MAX_DEPTH = 100
#: Longest integer accepted (Python's own int/str conversion limit).
MAX_INT_DIGITS = sys.get_int_max_str_digits() or 4300
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class HugeInt:
    """Stands in for an integer literal too long to convert; reported by `check_value`."""

    __slots__ = ("digits",)

    def __init__(self, digits: int) -> None:
        self.digits = digits


def _parse_int(s: str) -> int | HugeInt:
    digits = len(s) - (s[0] == "-")
    return HugeInt(digits) if digits > MAX_INT_DIGITS else int(s)


#: A decoder that never raises on long integers (see HugeInt).
DECODER = json.JSONDecoder(parse_int=_parse_int)


def _path(parts: list[Any]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(record)"


def check_value(obj: Any, text: str | None = None) -> Any:
    """Raise RecordError if `obj` nests deeper than MAX_DEPTH, holds a HugeInt or a lone surrogate.

    `text` (the JSON the value was decoded from) lets the common case skip the walk: few
    brackets, no long digit run and no surrogate escape mean nothing to find.
    """
    if text is not None:
        deep = text.count("[") + text.count("{") > MAX_DEPTH
        long_int = len(text) > MAX_INT_DIGITS and re.search(r"\d{%d}" % (MAX_INT_DIGITS + 1), text) is not None
        if not (deep or long_int or _SURROGATE_ESCAPE.search(text)):
            return obj
    stack: list[tuple[Any, list[Any]]] = [(obj, [])]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise RecordError("invalid_json", f"nested deeper than {MAX_DEPTH} levels", _path(path[:1]))
        if isinstance(value, HugeInt):
            raise RecordError(
                "invalid_json", f"integer of {value.digits} digits is too long (limit {MAX_INT_DIGITS})", _path(path)
            )
        if isinstance(value, str):
            _check_str(value, path)
        elif isinstance(value, dict):
            for k, v in value.items():
                _check_str(k, path + [k] if isinstance(k, str) else path)
                stack.append((v, path + [k]))
        elif isinstance(value, list):
            stack.extend((v, path + [i]) for i, v in enumerate(value))
    return obj


def _check_str(value: str, path: list[Any]) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        where = _path([p.encode("utf-8", "backslashreplace").decode() if isinstance(p, str) else p for p in path])
        raise RecordError("undecodable", f"lone surrogate or undecodable bytes at character {e.start}", where) from None


def raw_decode(buf: str, pos: int) -> tuple[Any, int]:
    """`JSONDecoder.raw_decode` with HugeInt for long integers (RecursionError still raised)."""
    return DECODER.raw_decode(buf, pos)
