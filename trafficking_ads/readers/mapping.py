"""Turning one input record (a CSV row, a JSON object) into an `Ad`, with type checks.

Which input key fills which `Ad` field is data (`layouts.json`): aliases for common column
names, and known dataset layouts (EMSCAD) recognised by their columns. A user mapping
(`--map text=description,title=name`) overrides both. A record that cannot become an Ad
raises `RecordError` (kind, field, reason); the reader turns it into a `BadRecord` with
the record's location.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable, Mapping, Sequence

from ..errors import InvalidValueError, TraffickingAdsError
from ..records import Ad
from .errors import BadRecord, safe_raw

#: Ad fields a mapping may fill (meta and raw are filled by the reader itself).
MAPPABLE = tuple(f.name for f in fields(Ad) if f.name not in ("meta", "raw"))
#: Fields whose value may be a JSON number as well as a string (converted to str).
NUMBER_OK = frozenset({"id", "salary"})
#: Separator between the parts of a text joined from several columns.
JOIN = "\n\n"
_TRUE = {"1", "true", "t", "yes", "y"}
_FALSE = {"0", "false", "f", "no", "n"}


class RecordError(TraffickingAdsError):
    """A record that cannot become an Ad: `kind` (see errors.KINDS), the field, and why."""

    def __init__(self, kind: str, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.kind, self.reason, self.field = kind, reason, field


@lru_cache(maxsize=1)
def _layouts() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("layouts.json").read_text(encoding="utf-8")
    return json.loads(text)


def parse_map(spec: str | Sequence[str] | Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
    """Parse `text=description+requirements,title=name` into {ad field: (input keys...)}.

    Several `--map` options may be given (a sequence); `+` joins several input keys into
    one text. Raises ValueError on an unknown Ad field or a malformed pair.
    """
    if not spec:
        return {}
    if isinstance(spec, Mapping):
        items = [(k, v) for k, v in spec.items()]
    else:
        parts = [spec] if isinstance(spec, str) else list(spec)
        items = []
        for part in parts:
            for pair in part.split(","):
                if not pair.strip():
                    continue
                name, sep, keys = pair.partition("=")
                if not sep or not name.strip() or not keys.strip():
                    raise InvalidValueError(f"--map expects FIELD=COLUMN pairs separated by commas, got {pair!r}")
                items.append((name, keys))
    out: dict[str, tuple[str, ...]] = {}
    for name, keys in items:
        name = name.strip()
        if name not in MAPPABLE:
            raise InvalidValueError(f"--map: {name!r} is not an Ad field (one of: {', '.join(MAPPABLE)})")
        ks = tuple(k.strip() for k in (keys.split("+") if isinstance(keys, str) else keys) if k.strip())
        if len(ks) > 1 and name != "text":
            raise InvalidValueError(f"--map: only text may join several columns ({name}={'+'.join(ks)})")
        out[name] = ks
    return out


@dataclass(frozen=True, slots=True)
class FieldMap:
    """Which input keys fill which Ad field, resolved once per set of input keys."""

    fields: dict[str, tuple[str, ...]]
    meta: tuple[str, ...] = ()
    meta_int: frozenset[str] = frozenset()
    rename: dict[str, str] = field(default_factory=dict)
    layout: str | None = None

    @property
    def has_text(self) -> bool:
        return bool(self.fields.get("text"))


def resolve(keys: Iterable[str], user: Mapping[str, tuple[str, ...]] | None = None) -> FieldMap:
    """The FieldMap for records with these keys: a known layout, else aliases; `user` wins."""
    keys = list(keys)
    return _resolve(tuple(keys), tuple(sorted((user or {}).items())))


@lru_cache(maxsize=256)
def _resolve(keys: tuple[str, ...], user_items: tuple[tuple[str, tuple[str, ...]], ...]) -> FieldMap:
    data = _layouts()
    by_lower = {}
    for k in keys:
        by_lower.setdefault(k.strip().lower(), k)
    user = dict(user_items)
    for name, layout in data["layouts"].items():
        renamed = {layout["rename"].get(k, k) for k in by_lower}
        if set(layout["detect"]) <= renamed:
            actual = {layout["rename"].get(k, k): by_lower[k] for k in by_lower}
            fmap: dict[str, tuple[str, ...]] = {"text": tuple(actual[c] for c in layout["text"] if c in actual)}
            for ad_field, col in layout["fields"].items():
                if col in actual:
                    fmap[ad_field] = (actual[col],)
            fmap.update(user)
            return FieldMap(
                fields=fmap,
                meta=tuple(actual[c] for c in layout["meta"] if c in actual),
                meta_int=frozenset(actual[c] for c in layout["meta_int"] if c in actual),
                rename={actual[k]: k for k in layout["meta"] if k in actual},
                layout=name,
            )
    fmap = {}
    for ad_field, aliases in data["aliases"].items():
        for alias in aliases:
            if alias in by_lower:
                fmap[ad_field] = (by_lower[alias],)
                break
    fmap.update(user)
    return FieldMap(fields=fmap)


def check_text(value: str, name: str) -> str:
    """Refuse text holding undecodable bytes (surrogate escapes) or lone surrogates."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise RecordError(
            "undecodable", f"undecodable bytes or a lone surrogate at character {e.start}", name
        ) from None
    return value


def _string(value: Any, name: str, ad_field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return check_text(value, name) if value != "" else None
    if ad_field in NUMBER_OK and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise RecordError("wrong_type", f"expected a string, got {type(value).__name__}", name)


def _label(value: Any, name: str = "label") -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        v = value.strip().lower()
        if v in _TRUE:
            return 1
        if v in _FALSE:
            return 0
        try:
            return int(v)
        except ValueError:
            pass
    raise RecordError("wrong_type", f"expected a label 0/1, got {value!r:.40}", name)


def build_ad(
    obj: Mapping[str, Any], fmap: FieldMap, *, keep_raw: bool = True, defaults: Mapping[str, Any] | None = None
) -> Ad:
    """Build an Ad from one record, or raise RecordError saying what is wrong with it."""
    cols = fmap.fields.get("text")
    if not cols:
        raise RecordError("missing_text", "no text field (use --map text=COLUMN)", "text")
    parts = []
    present = False
    for col in cols:
        if col not in obj:
            continue
        value = obj[col]
        if value is None:
            continue
        present = True
        if not isinstance(value, str):
            raise RecordError("wrong_type", f"expected a string, got {type(value).__name__}", col)
        check_text(value, col)
        if value.strip():
            parts.append(value)
    if not present:
        raise RecordError("missing_text", "text is missing", cols[0] if len(cols) == 1 else "text")
    if not parts:
        raise RecordError("empty_text", "text is empty", cols[0] if len(cols) == 1 else "text")
    values: dict[str, Any] = {"text": JOIN.join(parts)}
    for ad_field, keys in fmap.fields.items():
        if ad_field == "text" or not keys or keys[0] not in obj:
            continue
        value = obj[keys[0]]
        values[ad_field] = _label(value, keys[0]) if ad_field == "label" else _string(value, keys[0], ad_field)
    meta: dict[str, Any] = {}
    for col in fmap.meta:
        value = obj.get(col)
        if value is None or value == "":
            continue
        if col in fmap.meta_int:
            value = _label(value, col)
        meta[fmap.rename.get(col, col)] = value
    extra = obj.get("meta")
    if extra is not None and "meta" not in fmap.fields:
        if not isinstance(extra, dict):
            raise RecordError("wrong_type", f"expected an object, got {type(extra).__name__}", "meta")
        meta.update(extra)
    for k, v in (defaults or {}).items():
        if values.get(k) is None:
            values[k] = v
    return Ad(**values, meta=meta, raw=dict(obj) if keep_raw else None)


def record_to_ad(
    obj: Any,
    *,
    source: str,
    line: int | None,
    record: int | None,
    user: Mapping[str, tuple[str, ...]] | None = None,
    raw_text: str | None = None,
) -> Ad | BadRecord:
    """One decoded record (a JSON value) as an Ad, or a BadRecord saying where and why.

    A line of `score` output (`{"ad_id": ..., "ad": {...}}`) is read back as its ad, so a
    scored file can be rescored with another model.
    """
    if not isinstance(obj, dict):
        return BadRecord(
            source,
            "not_an_object",
            f"expected a JSON object, got {type(obj).__name__}",
            line,
            record,
            raw=safe_raw(raw_text if raw_text is not None else json.dumps(obj, ensure_ascii=False)),
        )
    if isinstance(obj.get("ad"), dict) and "ad_id" in obj and "risk" in obj:
        obj = {**obj["ad"], "id": obj["ad_id"]}
    try:
        return build_ad(obj, resolve(obj.keys(), user))
    except RecordError as e:
        return BadRecord(
            source,
            e.kind,
            e.reason,
            line,
            record,
            e.field,
            raw=safe_raw(raw_text if raw_text is not None else _dump(obj)),
        )


def _dump(obj: Any) -> str:
    try:
        return json.dumps(obj, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(obj)
