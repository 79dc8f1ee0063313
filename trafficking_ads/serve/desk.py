"""The analyst's desk: a local web page at `/` for people who do not use a terminal.

The page (HTML, CSS, JS and its language data, all in `desk_assets/`, no CDN) calls the
service's own `/v1/score`. Its Content-Security-Policy is as strict as the HTML report's,
with 'self' in place of inline hashes: the page loads only its own files, talks only to
its own origin, and Trusted Types with no policy make every HTML-string sink throw, so
ad text can only ever reach the page as DOM text nodes.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.responses import FileResponse, Response

ASSETS = Path(__file__).with_name("desk_assets")
#: The files the page may load, with their media types (nothing else under /desk/ is served).
FILES = {"desk.css": "text/css; charset=utf-8", "desk.js": "text/javascript; charset=utf-8",
         "i18n.json": "application/json"}
DESK_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
            "require-trusted-types-for 'script'; trusted-types 'none'")
HEADERS = {"content-security-policy": DESK_CSP, "x-content-type-options": "nosniff", "referrer-policy": "no-referrer",
           "cache-control": "no-cache"}


def build_router() -> APIRouter:
    """Routes `/` (the page) and `/desk/{name}` (its assets)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def page() -> Response:
        return FileResponse(ASSETS / "desk.html", media_type="text/html; charset=utf-8", headers=HEADERS)

    @router.get("/desk/{name}")
    async def asset(name: str) -> Response:
        if name not in FILES:
            return Response(status_code=404)
        return FileResponse(ASSETS / name, media_type=FILES[name], headers=HEADERS)

    return router
