"""Request parsing and the API's schemas: JSON bodies in, `Ad` lists out, or a 422 naming the field.

The `Ad` request schema is derived from `records.Ad` (every field but `raw`), so the service
accepts exactly what the library does. A score body is one ad, its bare text, or a list of
them; all three are parsed here into `Ad`s. Bodies are parsed by hand rather than by
FastAPI so that every failure — not JSON, wrong type, empty text, too long, too many, not
valid Unicode — comes back as one 422 listing `{field, reason}` pairs; the schemas below still
drive `/openapi.json`, with the service's actual limits in them.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from functools import lru_cache
from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError, create_model

from ..errors import InvalidValueError
from ..records import Ad, Assessment
from .errors import ApiError, invalid

#: At most this many field errors are reported for one request (a 10,000-item batch of
#: wrong types would otherwise answer with 10,000 lines).
MAX_REPORTED = 20


def _path(loc: tuple[Any, ...], prefix: str = "body") -> str:
    """A pydantic location as a readable path: ('ads', 2, 'text') -> body.ads[2].text."""
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _reason(err: dict[str, Any], known: tuple[str, ...] = ()) -> str:
    """A pydantic error as a sentence; unknown fields list the known ones."""
    if err.get("type") == "extra_forbidden" and known:
        return "unknown field (an ad has: " + ", ".join(known) + ")"
    if err.get("type") == "missing":
        return "required field is missing"
    return str(err.get("msg") or err.get("type") or "invalid")


def validation_errors(exc: ValidationError, prefix: str = "body", known: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(field, reason) pairs of a pydantic ValidationError, at most MAX_REPORTED."""
    return [(_path(tuple(e["loc"]), prefix), _reason(e, known)) for e in exc.errors(include_input=False)[:MAX_REPORTED]]


# ------------------------------------------------------------------ JSON bodies


def _no_constant(name: str) -> Any:
    raise InvalidValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    """The JSON value of a request body, or a 422 saying why it is not JSON."""
    if not body.strip():
        raise invalid([("body", "empty: send a JSON value")])
    try:
        return json.loads(body, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise invalid([("body", f"invalid JSON: {e.msg} at line {e.lineno} column {e.colno}")]) from None
    except UnicodeDecodeError:
        raise invalid([("body", "not UTF-8 text")]) from None
    except RecursionError:
        raise invalid([("body", "JSON nested too deeply")]) from None
    except ValueError as e:  # NaN/Infinity, integers over Python's digit limit
        raise invalid([("body", f"invalid JSON: {e}")]) from None


def unpaired_surrogate(value: Any, path: str, out: list[tuple[str, str]]) -> None:
    """Report every string (keys too) that holds an unpaired surrogate, which is not text
    any encoder can write back (JSON lets `\\ud800` through; UTF-8 does not)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as e:
            out.append((path, f"not valid Unicode: unpaired surrogate at character {e.start}"))
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str):
                try:
                    k.encode("utf-8")
                except UnicodeEncodeError:
                    out.append((path, "not valid Unicode: a key holds an unpaired surrogate"))
                    continue
            unpaired_surrogate(v, f"{path}.{k}", out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            unpaired_surrogate(v, f"{path}[{i}]", out)


# ------------------------------------------------------------------ the Ad schema

#: Ad fields the service does not take from clients (`raw` is the reader's copy of the input).
_NOT_IN_REQUESTS = ("raw",)


def ad_fields() -> tuple[str, ...]:
    """The Ad fields a request may set, in the dataclass's order."""
    return tuple(f.name for f in dataclasses.fields(Ad) if f.name not in _NOT_IN_REQUESTS)


class Limits(typing.NamedTuple):
    """The per-request limits that the schemas carry."""

    max_text_chars: int
    max_request_ads: int


@lru_cache(maxsize=8)
def schemas(limits: Limits) -> dict[str, Any]:
    """Pydantic types of this service's bodies for the given limits (cached per limit set)."""
    hints = typing.get_type_hints(Ad)
    Text = Annotated[str, StringConstraints(min_length=1, max_length=limits.max_text_chars)]
    defs: dict[str, Any] = {}
    docs = {
        "text": "The ad's body: what the indicators and the model read; evidence offsets index it.",
        "id": "Your id for the ad; when absent, a stable hash of its content.",
        "meta": "Structured metadata a source provides (e.g. EMSCAD's has_company_logo).",
        "label": "The true label when known (1 deceptive, 0 legitimate); not used for scoring.",
    }
    for f in dataclasses.fields(Ad):
        if f.name in _NOT_IN_REQUESTS:
            continue
        if f.name == "text":
            defs["text"] = (Text, Field(description=docs["text"]))
            continue
        typ = hints[f.name]
        if f.default_factory is not dataclasses.MISSING:
            spec = Field(default_factory=f.default_factory, description=docs.get(f.name))
        else:
            spec = Field(default=None if f.name == "id" else f.default, description=docs.get(f.name))
        if f.name == "id":
            typ = str | None
        defs[f.name] = (typ, spec)
    AdIn = create_model("Ad", __config__=ConfigDict(extra="forbid"), **defs)
    AdInput = Annotated[Union[Text, AdIn], Field(description="An ad, or its text alone.")]
    Batch = Annotated[list[AdInput], Field(min_length=1, max_length=limits.max_request_ads)]
    return {
        "Ad": AdIn,
        "ScoreRequest": Union[AdInput, Batch],
        "ExplainRequest": AdInput,
        "batch": TypeAdapter(list[AdIn]),
    }


def parse_ads(value: Any, limits: Limits, *, single: bool = False) -> tuple[list[Ad], bool]:
    """(ads, was_a_list) from a parsed JSON body: one ad (object or text) or, unless
    `single`, a non-empty list of them within the limits. Raises a 422 `ApiError`."""
    kinds = "an ad (object) or its text (string)" + ("" if single else ", or a list of them")
    is_list = isinstance(value, list)
    if is_list and single:
        raise invalid([("body", f"expected one ad: {kinds}, not a list")])
    items = value if is_list else [value]
    if is_list and not items:
        raise invalid([("body", "empty list: send at least one ad")])
    if is_list and len(items) > limits.max_request_ads:
        raise invalid([("body", f"{len(items)} ads in one request, over the limit of {limits.max_request_ads}")])
    errors: list[tuple[str, str]] = []
    norm = []
    for i, item in enumerate(items):
        where = f"body[{i}]" if is_list else "body"
        if isinstance(item, str):
            item = {"text": item}
        elif not isinstance(item, dict):
            errors.append(
                (
                    where,
                    f"expected {'an ad (object) or its text (string)' if is_list else kinds}, got {_json_type(item)}",
                )
            )
            continue
        unpaired_surrogate(item, where, errors)
        text = item.get("text")
        if isinstance(text, str):
            if not text.strip():
                errors.append((f"{where}.text", "empty text" + (" (only white space)" if text else "")))
            elif len(text) > limits.max_text_chars:
                errors.append(
                    (f"{where}.text", f"text of {len(text)} characters is over the limit of {limits.max_text_chars}")
                )
        norm.append((where, item))
    if not errors:
        batch = schemas(limits)["batch"]
        try:
            ads_in = batch.validate_python([item for _, item in norm])
        except ValidationError as exc:
            known = ad_fields()
            for e in exc.errors(include_input=False)[:MAX_REPORTED]:
                loc = tuple(e["loc"])
                where = norm[loc[0]][0] if loc and isinstance(loc[0], int) else "body"
                errors.append((_path(loc[1:], where), _reason(e, known)))
    if errors:
        raise invalid(errors[:MAX_REPORTED])
    return [Ad(**a.model_dump()) for a in ads_in], is_list


def _json_type(v: Any) -> str:
    """The JSON name of a parsed value's type."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return "a string"


# ------------------------------------------------------------------ responses (documentation)


class ScoreResponse(BaseModel):
    """Assessments in the order of the ads sent, exactly as `Scorer.score_many` returns them."""

    assessments: list[Assessment]


class ErrorItem(BaseModel):
    field: str
    reason: str


class ErrorResponse(BaseModel):
    """Every 4xx/5xx answer: a code, a sentence, the fields at fault, and the request id."""

    error: str
    message: str
    errors: list[ErrorItem] = []
    request_id: str | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or wrong API key (with --api-key-file)."},
    413: {"model": ErrorResponse, "description": "Body over the size limit."},
    422: {"model": ErrorResponse, "description": "Invalid input: the fields at fault and why."},
    503: {"model": ErrorResponse, "description": "Queue full or model not ready: retry after `Retry-After` seconds."},
}


def request_body(name: str, description: str) -> dict[str, Any]:
    """An `openapi_extra` request body pointing at a component schema (see `openapi_components`)."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    }


def openapi_components(types: dict[str, Any]) -> dict[str, Any]:
    """JSON Schemas of request types (named) for the OpenAPI document's components."""
    out: dict[str, Any] = {}
    for name, typ in types.items():
        s = TypeAdapter(typ).json_schema(ref_template="#/components/schemas/{model}")
        out.update(s.pop("$defs", {}))
        out[name] = s
    return out


def check_text(text: Any, where: str, limits: Limits) -> list[tuple[str, str]]:
    """Errors of one ad text taken from elsewhere than an Ad body (a Label Studio task)."""
    if not isinstance(text, str):
        return [
            (
                where,
                "required: the ad's text as a string" if text is None else f"expected a string, got {_json_type(text)}",
            )
        ]
    if not text.strip():
        return [(where, "empty text")]
    if len(text) > limits.max_text_chars:
        return [(where, f"text of {len(text)} characters is over the limit of {limits.max_text_chars}")]
    errs: list[tuple[str, str]] = []
    unpaired_surrogate(text, where, errs)
    return errs


__all__ = [
    "ApiError",
    "ERROR_RESPONSES",
    "ErrorResponse",
    "Limits",
    "ScoreResponse",
    "check_text",
    "openapi_components",
    "parse_ads",
    "parse_json",
    "request_body",
    "schemas",
]
