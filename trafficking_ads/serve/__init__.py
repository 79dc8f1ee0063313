"""`trafficking-ads serve`: the scoring service, for moderation pipelines and Label Studio.

An HTTP API over the library's scorer (FastAPI on uvicorn, extra `[serve]`): `POST /v1/score`
(one ad or a batch; exactly `score_many`'s assessments), `POST /v1/explain`, `GET /v1/model`,
`/healthz`, `/readyz`, `/metrics` (Prometheus), `/openapi.json` with offline `/docs`, and the
Label Studio ML backend routes (`/setup`, `/health`, `/predict`, `/webhook`).

Modules: `settings` (limits), `schemas` (request parsing and OpenAPI types), `errors` (JSON
errors), `batching` (dynamic batching, bounded queue), `auth` (API keys), `metrics`, `logs`
(request ids), `middleware` (the outer ASGI layer), `service` (shared state; reading, scoring
and answering a request), `labelstudio`, `app` (routes, model loading), `server` (uvicorn,
signals).

    from trafficking_ads.serve import ServeSettings, create_app, serve
    serve(ServeSettings(port=8080))            # blocks; SIGTERM stops it gracefully
"""

from .app import create_app
from .server import serve
from .settings import ServeSettings

__all__ = ["ServeSettings", "create_app", "serve"]
