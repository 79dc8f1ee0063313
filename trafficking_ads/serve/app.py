"""The HTTP scoring service: FastAPI routes over one scorer, behind dynamic batching.

`create_app(settings)` returns an ASGI app. The scorer is loaded once per process, in a
thread after start-up, so `/healthz` answers at once and `/readyz` turns 200 only when the
model is loaded and warmed up. Every scoring route goes through `trafficking_ads.load_scorer`
and `Scorer.score_many` (via the batcher), and serializes with `Assessment.to_dict`: the
service returns exactly what the library returns for the same ads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response

from .. import __version__
from ..scoring import Scorer, resolve_model_dir
from .auth import KeyChecker, read_keys
from .batching import Batcher
from .desk import build_batch_router, build_router as build_desk_router
from .errors import ApiError, error_response
from .labelstudio import SCHEMAS as LABEL_STUDIO_SCHEMAS, build_router
from .logs import request_id_var
from .metrics import CONTENT_TYPE, Metrics
from .middleware import PUBLIC_PATHS, ServiceMiddleware
from .schemas import ERROR_RESPONSES, ScoreResponse, openapi_components, parse_ads, parse_json, request_body, schemas
from .service import ClientGone, ServiceState, assess, json_response, log_ads, read_body, read_card
from .settings import ServeSettings

log = logging.getLogger("trafficking_ads.serve")

#: Ads scored once before the service reports ready, so the first real request does not pay
#: for lazy initialisation (thread pools, the first inference of each shape, lemmatizer caches).
WARM_UP_ADS = (
    "Работа в Дубае для девушек 18-25, билеты за наш счёт, пишите в WhatsApp",
    "Жұмыс Алматыда: аспаз көмекшісі, жалақы 250 000 теңге, тәжірибе қажет емес.",
    "We are hiring a warehouse associate in Leeds. Full-time, £11.50 per hour, paid weekly. "
    "Apply online with your CV; interviews at our site office. " * 4,
)
#: Swagger UI's assets, from the fastapi-offline package (no CDN). (Its ReDoc bundle is not
#: served: it fetches a logo from a CDN.)
DOCS_STATIC = "/static/docs"
#: The docs page may load nothing from elsewhere: scripts, styles and images from the service
#: itself, plus the inline code and styles the page needs.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'"
)


def docs_assets() -> Path:
    """Where the bundled Swagger UI files are (fastapi-offline ships them)."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


# ------------------------------------------------------------------ the model


def load_and_warm(settings: ServeSettings, model_dir: Path) -> Scorer:
    """Load the scorer (the library's `load_scorer`) and score the warm-up ads once."""
    from .. import load_scorer

    opts = {k: v for k, v in (("runtime", settings.runtime), ("precision", settings.precision)) if v}
    scorer = load_scorer(model_dir, **opts)
    list(scorer.score_many(list(WARM_UP_ADS)))
    list(scorer.score_many([WARM_UP_ADS[0]]))
    return scorer


def model_summary(state: ServiceState) -> dict[str, Any]:
    """The model card summary `GET /v1/model` returns."""
    from ..registry import model_entry

    card = read_card(state.model_dir)
    if card is None:
        raise ApiError(503, "model_unavailable", f"{state.model_dir / 'model.json'} cannot be read")
    scorer = state.scorer
    info = getattr(scorer, "info", None)
    out: dict[str, Any] = {
        "name": card.name,
        "version": card.version,
        "model_version": state.model_version,
        "kind": card.kind,
        "base_model": card.base_model,
        "runtime": getattr(info, "runtime", None) or state.settings.runtime or card.runtime,
        "precision": getattr(info, "precision", None) or state.settings.precision or card.precision,
        "max_tokens": card.max_len,
        "thresholds": {**card.thresholds, "operating": state.threshold},
        "threshold_source": state.threshold_source,
        "held_out": None,
        "ready": state.ready,
        "service_version": __version__,
    }
    try:
        entry = model_entry(state.model_dir)
    except (OSError, ValueError):
        return out
    ho = entry.held_out
    metrics = {}
    try:
        m = json.loads((state.model_dir / "metrics.json").read_text(encoding="utf-8"))
        metrics = ((m.get("model") or {}).get("metrics") or {}).get("overall") or {}
    except (OSError, ValueError, AttributeError):
        pass
    if ho.pr_auc is not None or metrics:
        keep = ("n", "positives", "threshold", "precision", "recall", "f1", "fpr", "pr_auc", "roc_auc", "brier", "ece")
        out["held_out"] = {
            "pr_auc": ho.pr_auc,
            "source": Path(ho.source).name if ho.source else None,
            "data": {k: ho.data.get(k) for k in ("path", "split", "n", "positives") if k in ho.data},
            **{k: metrics[k] for k in keep if k in metrics},
        }
    return out


# ------------------------------------------------------------------ the app


def create_app(settings: ServeSettings | None = None) -> ServiceMiddleware:
    """The service as an ASGI app (uvicorn runs it); raises ValueError/FileNotFoundError for
    bad settings, a missing model or a bad key file, before anything is loaded."""
    from ..labelling.select import operating_threshold

    settings = settings or ServeSettings()
    settings.check()
    model_dir = resolve_model_dir(settings.model)
    keys = KeyChecker(read_keys(settings.api_key_file)) if settings.api_key_file else None
    metrics = Metrics()
    state = ServiceState(settings=settings, model_dir=model_dir, metrics=metrics)
    if settings.threshold is not None:
        state.threshold, state.threshold_source = settings.threshold, "--threshold"
    else:
        state.threshold, state.threshold_source = operating_threshold([], None, str(model_dir))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loop = asyncio.get_running_loop()
        state.batcher = Batcher(
            lambda ads: list(state.scorer.score_many(ads)),
            max_batch=settings.max_batch,
            max_wait=settings.max_wait_ms / 1000.0,
            max_queue=settings.max_queue,
            metrics=metrics,
        )
        state.batcher.start()

        def loaded(scorer: Scorer | None, error: str | None, seconds: float) -> None:
            if scorer is not None:
                state.scorer, state.loaded_in = scorer, seconds
                metrics.ready.set(1)
                log.info("ready: %s from %s in %.1f s", state.model_version, model_dir, seconds)
            else:
                state.error = error
                log.error("could not load the model from %s: %s", model_dir, error)
                if state.on_fatal is not None:
                    state.on_fatal(error or "model load failed")

        def load() -> None:  # a daemon thread: a SIGTERM during loading does not wait for it
            t0 = time.perf_counter()
            try:
                scorer, error = load_and_warm(settings, model_dir), None
            except Exception as e:  # noqa: BLE001 - reported through /readyz and the log
                scorer, error = None, f"{type(e).__name__}: {e}"
            try:
                loop.call_soon_threadsafe(loaded, scorer, error, time.perf_counter() - t0)
            except RuntimeError:  # the loop has closed: the service is gone
                pass

        log.info("loading model %s (runtime %s)", model_dir, settings.runtime or "from model.json")
        threading.Thread(target=load, name="load-model", daemon=True).start()
        yield
        await state.batcher.close()
        log.info("stopped")

    app = FastAPI(
        title="trafficking-ads",
        version=__version__,
        description=(
            "Scores job and modelling ads for deceptive recruitment (trafficking lures) in Russian, Kazakh "
            "and English: a calibrated risk, its band and the indicators with evidence spans. "
            f"Limits: {settings.max_request_ads} ads per request, {settings.max_text_chars} characters per text, "
            f"{settings.max_body_bytes} bytes per body."
        ),
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = state
    limits = state.limits
    types = schemas(limits)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return error_response(exc, request_id_var.get())

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(
            ApiError(exc.status_code, code, str(exc.detail), [], dict(exc.headers or {})), request_id_var.get()
        )

    @app.exception_handler(ClientGone)
    async def _gone(request: Request, exc: ClientGone) -> Response:
        return Response(status_code=499)  # never delivered: the metrics and log show the client left

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        return error_response(
            ApiError(500, "internal_error", "internal error: the service log has the details under this request id"),
            request_id_var.get(),
        )

    # -------------------------------------------------------------- scoring

    @app.post(
        "/v1/score",
        tags=["scoring"],
        summary="Score one ad or a batch",
        responses={200: {"model": ScoreResponse}, **ERROR_RESPONSES},
        openapi_extra=request_body(
            "ScoreRequest", f"One ad, an ad's text alone, or a list of them (at most {settings.max_request_ads})."
        ),
    )
    async def score(request: Request) -> Response:
        """Assessments in input order, exactly what `Scorer.score_many` returns for the same ads
        (`Assessment.to_dict`): risk, band, indicators with evidence spans, language, model, components."""
        ads, _ = parse_ads(parse_json(await read_body(request, settings.max_body_bytes)), limits)
        assessments = await assess(state, request, ads)
        log_ads(state, ads, assessments, "scored")
        return json_response({"assessments": [a.to_dict() for a in assessments]})

    @app.post(
        "/v1/explain",
        tags=["scoring"],
        summary="Explain one ad",
        responses={200: {"description": "The explanation `trafficking-ads explain --json` prints."}, **ERROR_RESPONSES},
        openapi_extra=request_body("ExplainRequest", "One ad, or its text alone."),
    )
    async def explain(request: Request) -> Response:
        """Why one ad got its risk: indicators with located evidence, what the transformer and
        the indicators each contributed, language (`trafficking_ads.report.explain`)."""
        from ..report import explain as build

        ads, _ = parse_ads(parse_json(await read_body(request, settings.max_body_bytes)), limits, single=True)
        assessments = await assess(state, request, ads)
        log_ads(state, ads, assessments, "explained")
        return json_response(build(ads[0], assessments[0]).to_dict())

    @app.get("/v1/model", tags=["service"], summary="The model card summary", responses={401: ERROR_RESPONSES[401]})
    async def model() -> Response:
        """Name, version, runtime, precision, thresholds and held-out figures of the served model."""
        return json_response(model_summary(state))

    # -------------------------------------------------------------- operations

    @app.get("/healthz", tags=["service"], summary="The process is up")
    async def healthz() -> Response:
        """200 while the process runs (no API key needed)."""
        return json_response({"status": "ok"})

    @app.get(
        "/readyz",
        tags=["service"],
        summary="The model is loaded and warmed up",
        responses={503: {"description": "Still loading, or failed."}},
    )
    async def readyz() -> Response:
        """200 once the model is loaded and warmed up, 503 before (no API key needed)."""
        if state.ready:
            return json_response(
                {"status": "ready", "model": state.model_version, "loaded_in_s": round(state.loaded_in or 0, 1)}
            )
        if state.error:
            return json_response(
                {"status": "failed", "error": "the model could not be loaded; see the service log"}, 503
            )
        return json_response({"status": "loading"}, 503, {"Retry-After": "5"})

    @app.get(
        "/metrics",
        tags=["service"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
    )
    async def metrics_route() -> Response:
        """Requests and errors by route and status, latency histograms, batch sizes, queue depth,
        assessments by band (Prometheus text format)."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    # -------------------------------------------------------------- Label Studio

    app.include_router(build_router(state, parse_limits=limits))

    # -------------------------------------------------------------- the analyst's desk (/)

    app.include_router(build_desk_router())
    app.include_router(build_batch_router(state))

    # -------------------------------------------------------------- docs, offline

    app.mount(DOCS_STATIC, StaticFiles(directory=docs_assets()), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="trafficking-ads API",
            swagger_js_url=f"{DOCS_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_STATIC}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},
        )
        page.headers["content-security-policy"] = DOCS_CSP
        return page

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            comps = doc.setdefault("components", {})
            comps.setdefault("schemas", {}).update(
                openapi_components(
                    {
                        "ScoreRequest": types["ScoreRequest"],
                        "ExplainRequest": types["ExplainRequest"],
                        **LABEL_STUDIO_SCHEMAS,
                    }
                )
            )
            if keys is not None:
                comps["securitySchemes"] = {
                    "bearer": {"type": "http", "scheme": "bearer"},
                    "basic": {
                        "type": "http",
                        "scheme": "basic",
                        "description": "any user name, an API key as password",
                    },
                }
                for path, ops in doc.get("paths", {}).items():
                    if path not in PUBLIC_PATHS:
                        for op in ops.values():
                            op["security"] = [{"bearer": []}, {"basic": []}]
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    known = {r.path for r in app.routes if getattr(r, "path", None)}

    def route_of(path: str) -> str:
        if path in known:
            return path
        if path.startswith(DOCS_STATIC + "/"):
            return DOCS_STATIC
        if path.startswith("/desk/"):
            return "/desk"
        if path.startswith("/v1/desk/result/"):
            return "/v1/desk/result"
        return "other"

    wrapped = ServiceMiddleware(
        app,
        metrics=metrics,
        keys=keys,
        max_body_bytes=settings.max_body_bytes,
        routes=route_of,
        log_errors_in_full=settings.log_ads,
    )
    wrapped.fastapi = app  # type: ignore[attr-defined]
    wrapped.state = state  # type: ignore[attr-defined]
    return wrapped
