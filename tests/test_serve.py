"""`trafficking-ads serve` over real HTTP: parity with `score_many`, every error case, batching,
disconnects, metrics, request ids, log privacy and the offline docs.

One real server (uvicorn on 127.0.0.1, the default model) is shared by the whole module.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

import trafficking_ads as ta
from serve_helpers import metric, start

LIMITS = ("--max-request-ads", "40", "--max-text-chars", "5000", "--max-body-bytes", "300000")
MARKER_TEXT = "Работа в Дубае для девушек, секретный-маркер-qz17, пишите в WhatsApp +7 701 555 12 34"
MARKER_CONTACTS = "telegram @qz17_recruiter"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = start(tmp_path_factory.mktemp("serve"), *LIMITS)
    yield s
    assert s.stop() == 0, s.log()


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def sample_ads(samples_path):
    return list(ta.read_ads(samples_path))


@pytest.fixture(scope="module")
def scorer():
    """The library's scorer, in this process: the reference the service must match."""
    return ta.load_scorer()


@pytest.fixture(scope="module")
def reference(scorer, sample_ads):
    return [a.to_dict() for a in scorer.score_many(sample_ads)]


def assert_same(got, want, path="assessment"):
    """Equal, floats within 1e-6 (the service must return what `score_many` returns)."""
    if isinstance(want, float):
        assert isinstance(got, (int, float)) and abs(got - want) <= 1e-6, f"{path}: {got} != {want}"
    elif isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), f"{path}: keys {sorted(got)} != {sorted(want)}"
        for k in want:
            assert_same(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: {len(got)} items != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{path}[{i}]")
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


def ad_json(ad: ta.Ad) -> dict:
    return ad.to_dict(raw=False)


# ------------------------------------------------------------------ parity


def test_batch_matches_score_many(client, sample_ads, reference):
    r = client.post("/v1/score", json=[ad_json(a) for a in sample_ads])
    assert r.status_code == 200, r.text
    got = r.json()["assessments"]
    assert [a["ad_id"] for a in got] == [a.id for a in sample_ads]
    assert_same(got, reference)
    assert any(a["band"] == "high" for a in got) and any(h["evidence"] for a in got for h in a["indicators"])


def test_concurrent_single_ads_match_score_many(client, sample_ads, reference):
    """Single ads from 8 clients at once land in mixed batches; each still gets its own assessment."""

    def one(ad):
        r = client.post("/v1/score", json=ad_json(ad))
        assert r.status_code == 200, r.text
        return r.json()["assessments"][0]

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(one, sample_ads))
    assert_same(got, reference)


def test_bare_string_is_an_ads_text(client, scorer):
    text = "Требуются девушки 18-25 лет на работу хостес в клуб в Дубае, перелёт за счёт работодателя."
    want = scorer.score(text).to_dict()
    for body in (text, [text], {"text": text}):
        r = client.post("/v1/score", json=body)
        assert r.status_code == 200
        assert_same(r.json()["assessments"][0], want)


def test_explain_is_the_explain_json(client, sample_ads, reference):
    from trafficking_ads.report import explain

    ad = sample_ads[0]
    r = client.post("/v1/explain", json=ad_json(ad))
    assert r.status_code == 200, r.text
    want = explain(ad, ta.Assessment.from_dict(reference[0])).to_dict()
    assert_same(r.json(), want, "explanation")
    assert r.json()["indicators"] and all(e["located"] for i in r.json()["indicators"] for e in i["evidence"])


def test_model_health_ready(client):
    m = client.get("/v1/model").json()
    card = json.loads((ta.scoring.resolve_model_dir(None) / "model.json").read_text(encoding="utf-8"))
    assert (m["name"], m["version"]) == (card["name"], card["version"])
    from trafficking_ads.model.runtime import resolve

    assert (m["runtime"], m["precision"]) == resolve(card["runtime"], card["precision"])  # "auto" resolved for this CPU
    assert (
        m["thresholds"]["medium"] == card["thresholds"]["medium"]
        and m["thresholds"]["operating"] == card["operating_threshold"]
    )
    assert m["held_out"]["data"]["split"] == "test"
    assert 0 < m["held_out"]["pr_auc"] <= 1 and m["held_out"]["precision"] > 0
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"


# ------------------------------------------------------------------ errors


def _error(r: httpx.Response, status: int, field: str, reason: str):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["request_id"] == r.headers["x-request-id"]
    assert any(e["field"] == field and re.search(reason, e["reason"]) for e in body["errors"]), body
    assert "Traceback" not in r.text
    return body


@pytest.mark.parametrize(
    "content, field, reason",
    [
        (b'{"text": "unterminated', "body", r"invalid JSON: .* line 1 column"),
        (b"", "body", "empty"),
        (b'{"text": NaN}', "body", "NaN is not valid JSON"),
        (b"\xff\xfe\x00", "body", "invalid JSON|not UTF-8"),
        (b'{"text": 12}', "body.text", "valid string"),
        (b'{"text": "ok", "title": ["x"]}', "body.title", "valid string"),
        (b'{"text": "ok", "meta": "x"}', "body.meta", "dictionary"),
        (b'{"title": "no text"}', "body.text", "required"),
        (b'{"text": ""}', "body.text", "empty text"),
        (b'{"text": "  \\n\\t "}', "body.text", "empty text"),
        (b'{"text": "ok", "colour": "red"}', "body.colour", "unknown field"),
        (b"[]", "body", "empty list"),
        (b'["ok", 5]', "body[1]", "expected an ad"),
        (b'["ok", {"text": ""}]', "body[1].text", "empty text"),
        (b"17", "body", "expected an ad"),
        (b'{"text": "\\ud800 lone surrogate"}', "body.text", "unpaired surrogate"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(client, content, field, reason):
    _error(client.post("/v1/score", content=content, headers={"content-type": "application/json"}), 422, field, reason)


def test_limits(client):
    _error(client.post("/v1/score", json=["ad"] * 41), 422, "body", "41 ads in one request, over the limit of 40")
    _error(
        client.post("/v1/score", json={"text": "x" * 5001}),
        422,
        "body.text",
        "5001 characters is over the limit of 5000",
    )
    _error(client.post("/v1/explain", json=["a", "b"]), 422, "body", "expected one ad")
    big = json.dumps({"text": "x" * 400_000}).encode()
    _error(client.post("/v1/score", content=big), 413, "body", f"{len(big)} bytes, limit 300000")

    def chunks():  # no Content-Length: the limit holds while streaming
        for _ in range(40):
            yield b" " * 10_000

    _error(client.post("/v1/score", content=chunks()), 413, "body", "more than 300000 bytes")


def test_oversized_last_chunk_is_refused_at_once(server):
    """A chunked body whose over-limit chunk is also its last: nothing is left to wait for."""
    data = b" " * 310_000
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(
            b"POST /v1/score HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + f"{len(data):x}\r\n".encode()
            + data
            + b"\r\n0\r\n\r\n"
        )
        head = s.recv(65536)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]


def test_unknown_route_and_method_are_json(client):
    assert client.get("/v2/nothing").json()["error"] == "not_found"
    assert client.get("/v1/score").json()["error"] == "method_not_allowed"


# ------------------------------------------------------------------ batching, disconnects, metrics


def test_concurrent_requests_are_batched(client, server):
    before = client.get("/metrics").text
    texts = [f"Вакансия {i}: официантка в Анталью, жильё и перелёт за наш счёт, пишите в Telegram" for i in range(24)]
    with ThreadPoolExecutor(24) as pool:
        codes = list(pool.map(lambda t: client.post("/v1/score", json=t).status_code, texts))
    assert codes == [200] * 24
    after = client.get("/metrics").text
    batches = metric(after, "trafficking_ads_batch_size_ads_count") - metric(
        before, "trafficking_ads_batch_size_ads_count"
    )
    ads = metric(after, "trafficking_ads_batch_size_ads_sum") - metric(before, "trafficking_ads_batch_size_ads_sum")
    assert ads == 24 and batches < 24, f"{ads} ads in {batches} batches: nothing was coalesced"


def test_client_that_disconnects_leaves_no_queued_work(client, server):
    """A request still queued when its client goes away never reaches the model."""
    long = ["Набор девушек 18-25 на работу за границей, визу и билеты оформим, паспорт сдаёте координатору. " * 12] * 40
    before = client.get("/metrics").text
    busy = threading.Thread(target=lambda: client.post("/v1/score", json=long))
    busy.start()  # occupies the model for at least ~0.4 s (40 ads of 128 tokens)
    time.sleep(0.15)
    body = json.dumps([f"объявление {i}: работа в Сеуле для девушек" for i in range(5)]).encode()
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(
            b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        time.sleep(0.05)  # queued behind the busy batch, then gone
    busy.join()
    time.sleep(0.5)
    after = client.get("/metrics").text
    dropped = metric(after, "trafficking_ads_queue_dropped_ads_total") - metric(
        before, "trafficking_ads_queue_dropped_ads_total"
    )
    scored = metric(after, "trafficking_ads_assessments_total") - metric(before, "trafficking_ads_assessments_total")
    assert dropped == 5, after
    assert scored == 40  # the busy request's ads only
    assert metric(after, "trafficking_ads_queue_depth_ads") == 0
    assert metric(after, "trafficking_ads_http_requests_total", route="/v1/score", status="499") >= 1


def test_metrics_are_prometheus_text(client):
    client.post("/v1/score", json="Работа в Дубае для девушек, билеты за наш счёт")
    client.post("/v1/score", json={"text": ""})
    r = client.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    for name in (
        "trafficking_ads_http_requests_total",
        "trafficking_ads_http_errors_total",
        "trafficking_ads_http_request_duration_seconds_bucket",
        "trafficking_ads_batch_size_ads_bucket",
        "trafficking_ads_queue_depth_ads",
        "trafficking_ads_assessments_total",
        "trafficking_ads_model_ready",
    ):
        assert f"\n{name}" in text, name
    assert metric(text, "trafficking_ads_http_requests_total", route="/v1/score", method="POST", status="200") >= 1
    assert metric(text, "trafficking_ads_http_errors_total", route="/v1/score", status="422") >= 1
    assert metric(text, "trafficking_ads_assessments_total", band="high") >= 1
    assert metric(text, "trafficking_ads_model_ready") == 1
    client.get("/no/such/path/+77015551234")
    assert "77015551234" not in client.get("/metrics").text  # unknown paths are one label, "other"


# ------------------------------------------------------------------ request ids, logs


def test_request_ids_in_headers_and_every_log_line(client, server):
    r = client.post(
        "/v1/score", json={"text": MARKER_TEXT, "contacts": MARKER_CONTACTS}, headers={"x-request-id": "trace-42.a"}
    )
    assert r.status_code == 200 and r.headers["x-request-id"] == "trace-42.a"
    generated = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", generated)
    for bad in ("bad id with spaces", "x" * 65, "<script>"):
        got = client.get("/healthz", headers={"x-request-id": bad}).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{16}", got)
    time.sleep(0.2)
    log = server.log()
    lines = [ln for ln in log.splitlines() if re.match(r"\d{4}-\d\d-\d\d ", ln)]
    assert lines and all(re.search(r" \[[^\]]+\] ", ln) for ln in lines)
    mine = [ln for ln in lines if "[trace-42.a]" in ln]
    assert any("POST /v1/score 200" in ln for ln in mine) and any("scored 1 ads" in ln for ln in mine)


def test_no_ad_text_or_contacts_in_logs_by_default(client, server):
    client.post("/v1/score", json={"text": MARKER_TEXT, "contacts": MARKER_CONTACTS})
    client.post("/v1/score", json={"text": MARKER_TEXT, "colour": "x"})
    client.post("/predict", json={"tasks": [{"id": 1, "data": {"text": MARKER_TEXT}}]})
    time.sleep(0.2)
    log = server.log()
    for secret in ("секретный-маркер-qz17", "555 12 34", "qz17_recruiter", "Дубае"):
        assert secret not in log


# ------------------------------------------------------------------ docs, offline


def test_docs_work_offline(client):
    for page in ("/docs",):
        r = client.get(page)
        assert "default-src 'self'" in r.headers["content-security-policy"]
        html = r.text
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(r"""url: ?'([^']+)'""", html)
        assert urls and not re.search(r"https?://", html), html
        for u in urls:
            assert u.startswith("/"), u
            assert client.get(u).status_code == 200, u
    doc = client.get("/openapi.json").json()
    assert {
        "/v1/score",
        "/v1/explain",
        "/v1/model",
        "/healthz",
        "/readyz",
        "/metrics",
        "/setup",
        "/health",
        "/predict",
        "/webhook",
    } <= set(doc["paths"])
    ad = doc["components"]["schemas"]["Ad"]
    assert ad["required"] == ["text"] and ad["properties"]["text"]["maxLength"] == 5000


def test_docs_render_in_headless_chromium_offline(server):
    """Swagger UI renders the API from the service alone: every resource the page loads comes
    from the service (Debian's chromium and chromium-driver; CI installs them)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from test_report_browser import require_chromium

    chromium, driver_bin = require_chromium()
    opts = Options()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(driver_bin), options=opts)
    try:
        drv.set_page_load_timeout(60)
        drv.get(server.url + "/docs")
        WebDriverWait(drv, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"))
        paths = {e.text.replace("\u200b", "") for e in drv.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
        assert {"/v1/score", "/v1/explain", "/predict"} <= paths
        assert "Score one ad or a batch" in drv.find_element(By.TAG_NAME, "body").text
        loaded = drv.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert loaded and [u for u in loaded if not u.startswith(server.url + "/")] == []
    finally:
        drv.quit()
