"""Label Studio's machine-learning backend protocol, answered by the served model.

Label Studio calls a connected ML backend at `POST /setup` (on connect: the project's
labelling config), `GET /health`, `POST /predict` (`{"tasks": [...], "label_config", "project",
"params"}` -> `{"results": [one prediction per task]}`) and `POST /webhook` (annotation
events). Each prediction is built by `labelling.labelstudio.task_for`, the function
`label export` uses, with the same operating threshold rule, so a project connected to the
service shows exactly the verdict, indicator choices and evidence spans an exported task
carries. The ad is read from the task's `data`: `text` (required), the other Ad fields found
there (title, url, source, location, posted_at, company_name, contacts, ...) and `ad_id`.

The service does not retrain on webhooks: labels go through `label import` and `train`
(with the promotion gate), so `/webhook` acknowledges events and says so.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import Response

from ..labelling.labelstudio import labelling_config, task_for
from ..labelling.select import Candidate
from ..labelling.vocab import vocabulary
from ..records import OPTIONAL_STR_FIELDS, Ad
from .errors import invalid
from .schemas import (
    ERROR_RESPONSES,
    Limits,
    check_text,
    parse_json,
    request_body,
    unpaired_surrogate,
    validation_errors,
)
from .service import ServiceState, assess, json_response, log_ads, read_body

#: Ad fields taken from a task's data when they hold text (the id comes from `ad_id`).
TASK_AD_FIELDS = tuple(f for f in OPTIONAL_STR_FIELDS if f != "id")

_NAME_ATTR = re.compile(r"""\bname\s*=\s*(["'])(.*?)\1""", re.S)


class LabelStudioTask(BaseModel):
    """A task as Label Studio sends it: its id and its `data` (other keys are ignored)."""

    model_config = ConfigDict(extra="allow")
    id: int | str | None = None
    data: dict[str, Any] = Field(
        description="The task's data: `text` is the ad's body; title, url, ad_id... are used when present."
    )


class LabelStudioPredictRequest(BaseModel):
    """What Label Studio posts to /predict."""

    model_config = ConfigDict(extra="allow")
    tasks: list[LabelStudioTask]
    label_config: str | None = None
    project: str | int | None = None
    params: dict[str, Any] | None = None


class LabelStudioSetupRequest(BaseModel):
    """What Label Studio posts to /setup when a project connects."""

    model_config = ConfigDict(extra="allow")
    project: str | int | None = None
    schema_: str | None = Field(default=None, alias="schema", description="The project's labelling config (XML).")


class LabelStudioWebhook(BaseModel):
    """An event Label Studio posts to /webhook (e.g. ANNOTATION_CREATED)."""

    model_config = ConfigDict(extra="allow")
    action: str


SCHEMAS = {
    "LabelStudioPredictRequest": LabelStudioPredictRequest,
    "LabelStudioSetupRequest": LabelStudioSetupRequest,
    "LabelStudioWebhook": LabelStudioWebhook,
}


def missing_controls(label_config: str | None) -> list[str]:
    """Control names our pre-annotations use that a labelling config lacks (none for no config)."""
    if not label_config:
        return []
    v = vocabulary()
    names = {m.group(2) for m in _NAME_ATTR.finditer(label_config)}
    return [n for n in (v.verdict_control, v.indicators_control, v.spans_control, v.text_control) if n not in names]


def _check_config(label_config: str | None, field: str) -> None:
    missing = missing_controls(label_config)
    if missing:
        raise invalid(
            [
                (
                    field,
                    "the labelling config lacks the controls "
                    + ", ".join(repr(m) for m in missing)
                    + ": use the config `label export` writes (tasks.config.xml), also served at GET /v1/labelstudio/config",
                )
            ]
        )


def task_ad(data: dict[str, Any]) -> tuple[Ad, dict[str, Any]]:
    """(the Ad to score, the ad fields `task_for` reads) from a task's data."""
    fields = {k: data[k] for k in TASK_AD_FIELDS if isinstance(data.get(k), str)}
    ad_id = data.get("ad_id") if isinstance(data.get("ad_id"), str) and data.get("ad_id") else ""
    ad = Ad(text=data["text"], id=ad_id, **fields)
    return ad, {"text": ad.text, **fields}


def _model(cls: type[BaseModel], value: Any) -> Any:
    try:
        return cls.model_validate(value)
    except ValidationError as exc:
        raise invalid(validation_errors(exc)) from None


def build_router(state: ServiceState, parse_limits: Limits) -> APIRouter:
    """The Label Studio backend routes over the service's state."""
    router = APIRouter(tags=["label studio"])
    limit = state.settings.max_body_bytes

    @router.post(
        "/setup",
        summary="Label Studio: connect a project",
        responses=ERROR_RESPONSES,
        openapi_extra=request_body("LabelStudioSetupRequest", "Sent by Label Studio on connect."),
    )
    async def setup(request: Request) -> Response:
        """Checks the project's labelling config has the controls the predictions use; returns the model version."""
        body = _model(LabelStudioSetupRequest, parse_json(await read_body(request, limit)))
        _check_config(body.schema_, "body.schema")
        return json_response({"model_version": state.model_version})

    @router.get("/health", summary="Label Studio: backend status")
    async def health() -> Response:
        """`status: UP` while the process runs; `ready` says whether the model is loaded."""
        return json_response(
            {
                "status": "UP",
                "model_class": "trafficking-ads",
                "model_version": state.model_version,
                "ready": state.ready,
            }
        )

    @router.post(
        "/predict",
        summary="Label Studio: pre-annotate tasks",
        responses=ERROR_RESPONSES,
        openapi_extra=request_body("LabelStudioPredictRequest", "Tasks in Label Studio's format."),
    )
    async def predict(request: Request) -> Response:
        """One prediction per task, exactly as `label export` writes it: verdict by the model's
        operating threshold, indicator choices, evidence spans over the text, score = risk."""
        body = _model(LabelStudioPredictRequest, parse_json(await read_body(request, limit)))
        _check_config(body.label_config, "body.label_config")
        if len(body.tasks) > parse_limits.max_request_ads:
            raise invalid(
                [
                    (
                        "body.tasks",
                        f"{len(body.tasks)} tasks in one request, over the limit of {parse_limits.max_request_ads}",
                    )
                ]
            )
        errors: list[tuple[str, str]] = []
        for i, task in enumerate(body.tasks):
            errors += check_text(task.data.get("text"), f"body.tasks[{i}].data.text", parse_limits)
            unpaired_surrogate(
                {k: task.data.get(k) for k in (*TASK_AD_FIELDS, "ad_id")}, f"body.tasks[{i}].data", errors
            )
        if errors:
            raise invalid(errors[:20])
        parts = [task_ad(t.data) for t in body.tasks]
        ads = [ad for ad, _ in parts]
        assessments = await assess(state, request, ads) if ads else []
        log_ads(state, ads, assessments, "predicted (Label Studio)")
        vocab = vocabulary()
        results = []
        for k, ((_ad, fields), a, task) in enumerate(zip(parts, assessments, body.tasks)):
            cand = Candidate(ad=fields, assessment=a, line=k + 1)
            results.append(
                task_for(cand, task.id if task.id is not None else k + 1, state.threshold, vocab)["predictions"][0]
            )
        return json_response({"results": results, "model_version": state.model_version})

    @router.post(
        "/webhook",
        summary="Label Studio: annotation events",
        responses=ERROR_RESPONSES,
        openapi_extra=request_body("LabelStudioWebhook", "An event from Label Studio."),
    )
    async def webhook(request: Request) -> Response:
        """Acknowledged; the service does not retrain online (use `label import` and `train`)."""
        body = _model(LabelStudioWebhook, parse_json(await read_body(request, limit)))
        return json_response(
            {
                "status": "ok",
                "action": body.action,
                "trained": False,
                "message": "not retrained online: export the project, then `trafficking-ads label import` and `train`",
            }
        )

    @router.get(
        "/v1/labelstudio/config",
        summary="The labelling config the predictions fit",
        response_class=Response,
        responses={200: {"content": {"application/xml": {}}}},
    )
    async def config() -> Response:
        """The `<View>` XML `label export` writes beside its tasks: paste it into the project's Labeling Interface."""
        return Response(labelling_config(), media_type="application/xml")

    return router
