"""A JSON document: an array of ad objects, a Telegram export, or one ad object — streamed.

Arrays are walked item by item (`JsonStream`), never loaded whole. A syntax error inside
an array ends that input (the rest cannot be parsed reliably) and is reported as one
BadRecord at its line; every item before it has been yielded already.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, TextIO

from ..records import Ad
from .errors import BadRecord, safe_raw
from .jsonstream import JsonStream, JsonSyntaxError, JsonValueError
from .mapping import RecordError, check_text, record_to_ad
from .telegram import EXPORT_KEYS, export_member


def read_json(
    stream: TextIO, source: str, user: Mapping[str, tuple[str, ...]] | None = None
) -> Iterator[Ad | BadRecord]:
    """Yield an Ad or a BadRecord per array item / Telegram message / the single object."""
    js = JsonStream(stream)
    counter = [0]
    try:
        c = js.skip_ws()
        if c == "[":
            for index in js.items():
                js.skip_ws()
                line = js.line
                try:
                    obj, text = js.value()
                except JsonValueError as e:
                    counter[0] = index
                    yield BadRecord(source, e.kind, e.reason, line, index, e.field)
                    continue
                counter[0] = index
                try:
                    check_text(text, None)  # type: ignore[arg-type]
                except RecordError as e:
                    yield BadRecord(source, "undecodable", e.reason, line, index, raw=safe_raw(text))
                    continue
                yield record_to_ad(obj, source=source, line=line, record=index, user=user, raw_text=text)
        elif c == "{":
            line = js.line
            single: dict[str, Any] = {}
            export = False
            bad: JsonValueError | None = None
            for key in js.members():
                if key in EXPORT_KEYS:
                    export = True
                    yield from export_member(js, key, single, source, counter)
                else:
                    try:
                        single[key], _ = js.value()
                    except JsonValueError as e:
                        e.field = (
                            key if not e.field else (key + e.field if e.field.startswith("[") else f"{key}.{e.field}")
                        )
                        bad = bad or e
            if bad is not None and not export:
                yield BadRecord(source, bad.kind, bad.reason, line, 1, bad.field)
            elif not export:
                yield record_to_ad(single, source=source, line=line, record=1, user=user)
        elif c == "":
            return
        else:
            js.value()  # raises a precise syntax error, or:
            raise JsonSyntaxError(f"invalid JSON at line {js.line}: expected an array or an object", js.line)
        if not js.at_end():
            raise JsonSyntaxError(f"invalid JSON at line {js.line}: extra data after the document", js.line)
    except JsonSyntaxError as e:
        yield BadRecord(source, "invalid_json", f"{e}; the rest of this input was not read", e.line, counter[0] + 1)
