"""JSON errors: every refusal says which field was wrong and why, never a traceback.

Handlers raise `ApiError`; the app turns it into
`{"error": CODE, "message": ..., "errors": [{"field", "reason"}], "request_id": ...}` with
the given status and headers. Error bodies are written with ASCII escapes, so a field name
or value that is not valid Unicode (an unpaired surrogate) can never break the response.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from starlette.responses import Response

from ..errors import TraffickingAdsError


class ApiError(TraffickingAdsError):
    """A refused request: HTTP status, a short machine code, a sentence, and the fields at fault."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: Iterable[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = [{"field": f, "reason": r} for f, r in errors]
        self.headers = headers or {}


def invalid(errors: Iterable[tuple[str, str]], message: str = "invalid input") -> ApiError:
    """422 for input that parsed but does not fit (field, reason pairs)."""
    errors = list(errors)
    if errors and message == "invalid input":
        f, r = errors[0]
        message = f"{f}: {r}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
    return ApiError(422, "invalid_input", message, errors)


def error_body(
    status: int, code: str, message: str, errors: list[dict[str, Any]] | None = None, request_id: str | None = None
) -> bytes:
    """The JSON bytes of an error response."""
    d: dict[str, Any] = {"error": code, "message": message, "errors": errors or []}
    if request_id:
        d["request_id"] = request_id
    return json.dumps(d, ensure_ascii=True).encode("ascii")


def error_response(err: ApiError, request_id: str | None = None) -> Response:
    """The response for an `ApiError`."""
    return Response(
        error_body(err.status, err.code, err.message, err.errors, request_id),
        status_code=err.status,
        headers=err.headers,
        media_type="application/json",
    )
