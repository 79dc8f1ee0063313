"""Telegram Desktop chat/channel exports (`result.json`), streamed message by message.

An export is `{"name", "type", "id", "messages": [...]}` for one chat, or a full-account
export with `"chats": {"list": [<chat>...]}`. A message's `text` is a string or a list of
plain strings and entities `{"type", "text"}`; service messages (joins, pins) and messages
without text (a photo alone) are not ads and are passed over. Each ad's id is
`tg:<chat id>:<message id>`, its `posted_at` the message date.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..records import Ad
from .errors import BadRecord, safe_raw
from .jsonstream import JsonStream, JsonValueError
from .mapping import RecordError, check_text

#: Top-level keys that mark a JSON object as a Telegram export.
EXPORT_KEYS = ("messages", "chats", "left_chats")


def message_text(text: Any) -> str:
    """Flatten a message's `text` (string, or list of strings and entities) to plain text."""
    if isinstance(text, str):
        return text
    if isinstance(text, list):
        parts = []
        for part in text:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text", ""), str):
                parts.append(part.get("text", ""))
            else:
                raise RecordError(
                    "wrong_type", f"text entity is {type(part).__name__}, expected a string or {{type, text}}", "text"
                )
        return "".join(parts)
    if text is None:
        return ""
    raise RecordError("wrong_type", f"expected a string or a list of entities, got {type(text).__name__}", "text")


def message_to_ad(
    msg: Any, chat: dict[str, Any], *, source: str, line: int, record: int, raw: str
) -> Ad | BadRecord | None:
    """One exported message as an Ad; None for service and text-less messages."""
    if not isinstance(msg, dict):
        return BadRecord(
            source, "not_an_object", f"message is {type(msg).__name__}, expected an object", line, record, raw=raw
        )
    if msg.get("type", "message") != "message":
        return None
    try:
        text = check_text(message_text(msg.get("text")), "text")
    except RecordError as e:
        return BadRecord(source, e.kind, e.reason, line, record, e.field, raw=raw)
    if not text.strip():
        return None
    links = []
    if isinstance(msg.get("text"), list):
        links = [p["href"] for p in msg["text"] if isinstance(p, dict) and isinstance(p.get("href"), str)]
    msg_id = msg.get("id")
    chat_id = chat.get("id")
    meta = {
        k: v
        for k, v in {
            "chat": chat.get("name"),
            "chat_type": chat.get("type"),
            "chat_id": chat_id,
            "message_id": msg_id,
            "from": msg.get("from"),
            "from_id": msg.get("from_id"),
            "links": links or None,
        }.items()
        if v is not None
    }
    date = msg.get("date")
    return Ad(
        text=text,
        id=f"tg:{chat_id}:{msg_id}" if msg_id is not None else "",
        source="telegram",
        posted_at=date if isinstance(date, str) else None,
        meta=meta,
        raw=msg,
    )


def export_member(
    js: JsonStream, key: str, chat: dict[str, Any], source: str, counter: list[int]
) -> Iterator[Ad | BadRecord]:
    """Stream the ads under one export key: a chat's `messages`, or the `chats` lists."""
    if key == "messages":
        for _ in js.items():
            counter[0] += 1
            js.skip_ws()
            line = js.line
            try:
                msg, raw = js.value()
            except JsonValueError as e:
                yield BadRecord(source, e.kind, e.reason, line, counter[0], e.field)
                continue
            out = message_to_ad(msg, chat, source=source, line=line, record=counter[0], raw=safe_raw(raw) or "")
            if out is not None:
                yield out
    else:  # "chats" / "left_chats": {"about": ..., "list": [<chat>, ...]}
        for sub in js.members():
            if sub == "list":
                for _ in js.items():
                    yield from walk_chat(js, source, counter)
            else:
                js.skip_value()


def walk_chat(js: JsonStream, source: str, counter: list[int]) -> Iterator[Ad | BadRecord]:
    """Walk one chat object: keep its scalar fields (name, type, id), stream its messages."""
    chat: dict[str, Any] = {}
    for key in js.members():
        if key in EXPORT_KEYS:
            yield from export_member(js, key, chat, source, counter)
        elif js.skip_ws() in "[{":
            js.skip_value()
        else:
            try:
                chat[key], _ = js.value()
            except JsonValueError:
                chat[key] = None  # e.g. a chat name with a lone surrogate: the messages are still read
