"""What the service's routes share: its state, and reading, scoring and answering one request.

`app` (the scoring routes) and `labelstudio` (the Label Studio backend) both use these, so
neither imports the other.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from fastapi import Request
from starlette.responses import Response

from ..errors import TraffickingAdsError
from ..errors import ModelCardError
from ..model_card import ModelCard, load_card
from ..records import Ad, Assessment
from ..scoring import Scorer
from .batching import Batcher, Closed, QueueFull, ScoringFailed
from .errors import ApiError
from .logs import request_id_var
from .metrics import Metrics
from .middleware import DRAIN_BYTES, drain
from .schemas import Limits
from .settings import ServeSettings

log = logging.getLogger("trafficking_ads.serve")


@dataclass
class ServiceState:
    """What the routes share: settings, the scorer once loaded, the batcher and the metrics."""

    settings: ServeSettings
    model_dir: Path
    metrics: Metrics
    batcher: Batcher | None = None
    scorer: Scorer | None = None
    error: str | None = None
    loaded_in: float | None = None
    threshold: float = 0.5
    threshold_source: str = ""
    #: Called (from the event loop) when the model cannot be loaded; the server runner
    #: uses it to stop the process with a non-zero exit.
    on_fatal: Callable[[str], None] | None = None
    started: float = field(default_factory=time.time)

    @property
    def ready(self) -> bool:
        return self.scorer is not None

    @property
    def limits(self) -> Limits:
        return Limits(self.settings.max_text_chars, self.settings.max_request_ads)

    @property
    def model_version(self) -> str:
        """`name@version`, as `label export` writes it in `model_version`."""
        if self.scorer is not None:
            return f"{self.scorer.info.name}@{self.scorer.info.version}"
        card = read_card(self.model_dir)
        return f"{card.name}@{card.version}" if card else "None@None"


def read_card(model_dir: Path) -> ModelCard | None:
    """The model's validated card, or None if it cannot be read (the service reports the load error)."""
    try:
        return load_card(model_dir)
    except ModelCardError:
        return None


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON with UTF-8 text as is (inputs were checked to be valid Unicode)."""
    return Response(
        json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8"),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


# ------------------------------------------------------------------ request helpers


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as it passes `limit` bytes (Content-Length or not).

    Reads ASGI messages itself (not `request.stream()`) to know whether more is coming: the
    rest of a refused body is drained only while the client is still sending it."""
    chunks: list[bytes] = []
    n = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk, more = message.get("body", b""), message.get("more_body", False)
        n += len(chunk)
        if n > limit:
            if more:  # read the rest so the client gets the answer (see middleware.drain)
                await drain(request.receive, max(0, DRAIN_BYTES - n))
            raise ApiError(
                413,
                "body_too_large",
                f"request body over the limit of {limit} bytes",
                [("body", f"more than {limit} bytes")],
                {"connection": "close"},
            )
        chunks.append(chunk)
        if not more:
            return b"".join(chunks)


async def _client_gone(request: Request) -> None:
    """Returns when the client disconnects (the body has been read, so only that can come)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


class ClientGone(TraffickingAdsError):
    """The client disconnected while its ads waited; nothing is sent back."""


async def assess(state: ServiceState, request: Request, ads: list[Ad]) -> list[Assessment]:
    """Score `ads` through the batcher, giving up (and leaving the queue) if the client leaves."""
    if state.scorer is None or state.batcher is None:
        if state.error:
            raise ApiError(503, "model_failed", "the model could not be loaded; see the service log")
        raise ApiError(503, "not_ready", "the model is still loading", headers={"Retry-After": "5"})
    work = asyncio.ensure_future(state.batcher.submit(ads, request_id_var.get()))
    gone = asyncio.ensure_future(_client_gone(request))
    try:
        await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not gone.done():
            gone.cancel()
    if not work.done():
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        raise ClientGone()
    try:
        return work.result()
    except QueueFull as e:
        raise ApiError(
            503,
            "queue_full",
            f"the scoring queue is full ({state.batcher.max_queue} ads); retry later",
            headers={"Retry-After": str(e.retry_after)},
        ) from None
    except Closed:
        raise ApiError(503, "shutting_down", "the service is shutting down", headers={"Retry-After": "5"}) from None
    except ScoringFailed as e:
        raise ApiError(
            500, "scoring_failed", f"the model failed on this batch ({e}); the service log has details"
        ) from None


def log_ads(state: ServiceState, ads: list[Ad], assessments: list[Assessment], what: str) -> None:
    """One line per request (counts and bands); ad text and contacts only with --log-ads."""
    bands: dict[str, int] = {}
    for a in assessments:
        bands[a.band] = bands.get(a.band, 0) + 1
    log.info("%s %d ads: %s", what, len(ads), ", ".join(f"{k} {v}" for k, v in sorted(bands.items())))
    if state.settings.log_ads:
        for ad, a in zip(ads, assessments):
            log.info("ad %s risk %.4f %s: text=%r contacts=%r", ad.id, a.risk, a.band, ad.text, ad.contacts)
