"""The service's outermost ASGI layer: request ids, API keys, body-size precheck, metrics, access log.

Written as plain ASGI (not Starlette's BaseHTTPMiddleware) so it never buffers bodies or
hides a client's disconnect from the handlers. It wraps the whole FastAPI app, so even an
error that escapes FastAPI is answered with JSON and logged under the request id — by type
and traceback only, since an exception's message may quote an ad (unless --log-ads).
"""

from __future__ import annotations

import logging
import re
import time
import traceback
import uuid
from typing import Any, Awaitable, Callable

from starlette.datastructures import Headers

from .auth import KeyChecker
from .errors import error_body
from .logs import request_id_var
from .metrics import Metrics

log = logging.getLogger("trafficking_ads.serve.http")

#: Routes answered without an API key (orchestrators probe them).
PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})
#: A client's own X-Request-ID is kept when it looks like an id; otherwise one is made.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
AUTH_CHALLENGE = 'Bearer realm="trafficking-ads", Basic realm="trafficking-ads"'

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


class ServiceMiddleware:
    """Wraps the app: id, auth, size, metrics and one access-log line per request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        keys: KeyChecker | None,
        max_body_bytes: int,
        routes: Callable[[str], str],
        log_errors_in_full: bool = False,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.keys = keys
        self.max_body_bytes = max_body_bytes
        self.route_of = routes
        self.log_errors_in_full = log_errors_in_full

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        given = headers.get("x-request-id") or ""
        rid = given if _REQUEST_ID.match(given) else uuid.uuid4().hex[:16]
        token = request_id_var.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        route = self.route_of(scope["path"])
        method = scope["method"]
        sent: dict[str, Any] = {"started": False, "status": 500}

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                sent["started"] = True
                sent["status"] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode("ascii"))]
            await send(message)

        t0 = time.perf_counter()
        try:
            refusal = self._refusal(scope["path"], headers)
            if refusal is not None:
                if refusal[0] == 413 and "100-continue" not in (headers.get("expect") or "").lower():
                    await drain(receive)  # a client waiting for 100-continue has sent nothing
                await _answer(send_with_id, rid, *refusal)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception as exc:  # noqa: BLE001 - the last line of defence: JSON, a log line, no traceback to the client
            if self.log_errors_in_full:
                log.error("unhandled error in %s %s", method, route, exc_info=True)
            else:
                tb = "".join(traceback.format_tb(exc.__traceback__))
                log.error(
                    "unhandled %s in %s %s (message withheld; --log-ads logs it)\n%s",
                    type(exc).__name__,
                    method,
                    route,
                    tb.rstrip(),
                )
            if not sent["started"]:
                await _answer(
                    send_with_id,
                    rid,
                    500,
                    "internal_error",
                    "internal error: the service log has the details under this request id",
                )
        finally:
            dt = time.perf_counter() - t0
            status = sent["status"] if sent["started"] else 499
            self.metrics.observe_request(route, method, status, dt)
            log.info("%s %s %d %.1f ms", method, route, status, dt * 1000)
            request_id_var.reset(token)

    def _refusal(self, path: str, headers: Headers) -> tuple | None:
        """(status, code, message, errors, headers) when the request is refused before the app."""
        if self.keys is not None and path not in PUBLIC_PATHS and not self.keys.allows(headers.get("authorization")):
            why = "missing" if not headers.get("authorization") else "not one of the service's keys"
            return (
                401,
                "unauthorized",
                "an API key is required: send 'Authorization: Bearer KEY'",
                [("Authorization", why)],
                {"www-authenticate": AUTH_CHALLENGE},
            )
        length = headers.get("content-length")
        if length and length.isdigit() and int(length) > self.max_body_bytes:
            return (
                413,
                "body_too_large",
                f"request body of {int(length)} bytes is over the limit of {self.max_body_bytes}",
                [("body", f"{int(length)} bytes, limit {self.max_body_bytes}")],
                {},
            )
        return None


#: Bytes of a refused body read and discarded before answering: closing a socket with
#: unread data makes the kernel reset the connection, and the client may lose the answer.
DRAIN_BYTES = 64 * 1024 * 1024


async def drain(receive, budget: int = DRAIN_BYTES) -> None:
    """Read and discard what is left of a request body (at most `budget` bytes)."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body"):
            return


async def _answer(
    send, rid: str, status: int, code: str, message: str, errors=(), headers: dict[str, str] | None = None
) -> None:
    """Send a complete JSON error response."""
    body = error_body(status, code, message, [{"field": f, "reason": r} for f, r in errors], rid)
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    if status == 413:
        raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
