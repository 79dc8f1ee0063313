"""The analyst's desk: a local web page at `/` for people who do not use a terminal.

The page (HTML, CSS, JS and its language data, all in `desk_assets/`, no CDN) calls the
service's own `/v1/score`. Its Content-Security-Policy is as strict as the HTML report's,
with 'self' in place of inline hashes: the page loads only its own files, talks only to
its own origin, and Trusted Types with no policy make every HTML-string sink throw, so
ad text can only ever reach the page as DOM text nodes.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import OrderedDict
import tempfile
from pathlib import Path, PurePath
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from ..errors import InvalidValueError
from .errors import ApiError
from .service import ServiceState, assess, json_response, read_body

ASSETS = Path(__file__).with_name("desk_assets")
#: The files the page may load, with their media types (nothing else under /desk/ is served).
FILES = {
    "desk.css": "text/css; charset=utf-8",
    "desk.js": "text/javascript; charset=utf-8",
    "i18n.json": "application/json",
    "netgraph.js": "text/javascript; charset=utf-8",
    "netgraph.css": "text/css; charset=utf-8",
}
#: Assets shared with the HTML report (its network picture), served from the report's package.
SHARED = {name: Path(__file__).parents[1] / "report" / "assets" / name for name in ("netgraph.js", "netgraph.css")}
DESK_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
    "require-trusted-types-for 'script'; trusted-types 'none'"
)
HEADERS = {
    "content-security-policy": DESK_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


#: File name endings the batch route accepts (the readers sniff the format from the content).
#: Batch results kept for the report view and downloads.
KEPT = 8
BATCH_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv", ".txt", ".ndjson")


def read_batch(data: bytes, name: str) -> tuple[list[Any], list[dict[str, Any]]]:
    """Ads and bad records (with line and reason) of an uploaded file, read by the project's readers."""
    from ..readers import BadRecord, iter_records
    from ..records import Ad

    suffix = PurePath(name).suffix.lower()
    suffix = suffix if suffix in BATCH_SUFFIXES else ".txt"
    ads, bad = [], []
    with tempfile.TemporaryDirectory(prefix="desk-") as d:
        path = Path(d) / ("upload" + suffix)
        path.write_bytes(data)
        for rec in iter_records(path):
            if isinstance(rec, Ad):
                ads.append(rec)
            elif isinstance(rec, BadRecord):
                bad.append(
                    {"line": rec.line, "record": rec.record, "field": rec.field, "kind": rec.kind, "reason": rec.reason}
                )
    return ads, bad


def build_batch_router(state: ServiceState) -> APIRouter:
    """`POST /v1/desk/batch?name=FILE`: score an uploaded file (body = its bytes, at most the
    service's body limit) with the shared scorer; returns scored records, bad records and the
    HTML report (`trafficking_ads.report`'s writer) for the page to show and offer for download.

    The last KEPT results stay in memory under a random id for `GET /v1/desk/result/{id}.html`
    (the report, with its own strict CSP) and `.jsonl` (the scored file, as `score` writes it)."""
    router = APIRouter(include_in_schema=False)
    limit = state.settings.max_body_bytes
    kept: OrderedDict[str, tuple[str, str, str]] = OrderedDict()

    @router.get("/v1/desk/result/{rid}.{ext}")
    async def result(rid: str, ext: str, download: int = 0) -> Response:
        if rid not in kept or ext not in ("html", "jsonl"):
            raise ApiError(404, "not_found", "no such result (the service keeps the last few batches only)")
        name, html, jsonl = kept[rid]
        stem = PurePath(name).stem or "batch"
        headers = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}
        if ext == "html":
            body, media, fname = html, "text/html; charset=utf-8", f"{stem}.report.html"
        else:
            body, media, fname = jsonl, "application/x-ndjson; charset=utf-8", f"{stem}.scored.jsonl"
            download = 1
        if download:
            headers["content-disposition"] = f'attachment; filename="{fname}"'
        return Response(body.encode("utf-8"), media_type=media, headers=headers)

    @router.post("/v1/desk/batch")
    async def batch(request: Request, name: str = "upload.jsonl") -> Response:
        from ..records import scored_record
        from ..report.html import render_report

        data = await read_body(request, limit)
        try:
            ads, bad = await asyncio.to_thread(read_batch, data, name)
        except (ValueError, OSError) as e:
            raise ApiError(400, "bad_file", f"cannot read {PurePath(name).name}: {e}") from e
        step = max(1, state.settings.max_batch)
        assessments = []
        for i in range(0, len(ads), step):
            assessments += await assess(state, request, ads[i : i + step])
        from ..networks import annotate
        from ..networks.picture import network_graphs

        pairs = [(scored_record(ad, a)["ad"], a) for ad, a in zip(ads, assessments)]
        clusters = await asyncio.to_thread(annotate, pairs)  # as `score --cluster` does
        graphs = network_graphs(pairs, clusters)
        records = [scored_record(ad, a) for ad, a in zip(ads, assessments)]
        html, _ = await asyncio.to_thread(
            render_report,
            ((r["ad"], a) for r, a in zip(records, assessments)),
            f"trafficking-ads report: {PurePath(name).name}",
            [PurePath(name).name],
            None,
            100_000,
            graphs,
        )
        jsonl = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        rid = secrets.token_urlsafe(12)
        kept[rid] = (PurePath(name).name, html, jsonl)
        while len(kept) > KEPT:
            kept.popitem(last=False)
        return json_response(
            {"id": rid, "name": PurePath(name).name, "records": records, "bad": bad, "networks": graphs}
        )

    lock = asyncio.Lock()

    @router.get("/v1/desk/config")
    async def config() -> Response:
        return json_response({"labelling": state.settings.label_dir is not None})

    @router.post("/v1/desk/label")
    async def label(request: Request) -> Response:
        """One verdict from the page, merged into `label_dir/labels.jsonl` (`label import`'s store and rules)."""
        if state.settings.label_dir is None:
            raise ApiError(404, "not_found", "labelling is off: start serve with --label-dir DIR")
        try:
            body = json.loads(await read_body(request, limit))
            verdict, text, note = body["verdict"], body["text"], str(body.get("note") or "")
            if verdict not in ("deceptive", "legitimate", "unsure") or not isinstance(text, str) or not text.strip():
                raise InvalidValueError("verdict must be deceptive, legitimate or unsure, with the ad's text")
        except (ValueError, KeyError, TypeError) as e:
            raise ApiError(422, "bad_label", f"bad label: {e}") from e
        async with lock:
            path = await asyncio.to_thread(write_label, state.settings.label_dir, text, verdict, note)
        return json_response({"written": str(path), "verdict": verdict})

    return router


def write_label(label_dir: Path, text: str, verdict: str, note: str) -> Path:
    """Merge one desk annotation into DIR/labels.jsonl (atomically), as `label import` does."""
    from datetime import datetime, timezone

    from ..labelling.labels import merge, read_labels, write_labels
    from ..labelling.labelstudio import Annotation
    from ..records import Ad

    path = Path(label_dir) / "labels.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    ad = Ad(text=text)
    ann = Annotation(
        ad_id=ad.id,
        text=text,
        title=None,
        verdict=verdict,
        indicators=[],
        spans=[],
        annotator="desk",
        created_at=now,
        updated_at=now,
        task_id=None,
        annotation_id=None,
        source_file="desk",
        extra={"note": note} if note else {},
    )
    existing = read_labels(path) if path.is_file() else []
    return write_labels(path, merge(existing, [ann]).records)


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
        return FileResponse(SHARED.get(name, ASSETS / name), media_type=FILES[name], headers=HEADERS)

    return router
