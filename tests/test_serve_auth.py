"""`serve` with API keys, a tiny queue and --log-ads: authentication, back-pressure, key secrecy.

One real server for the module: two keys, one ad per model batch and at most 2 queued ads, so
a burst of concurrent requests must overflow the queue.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from serve_helpers import metric, start

KEYS = ("k1-6f0c1e9a2b7d4c3e8a5f", "k2-0a9b8c7d6e5f4a3b2c1d")
WRONG = "k9-not-a-key-of-this-service"
LOGGED_TEXT = "Ищем девушек для работы моделью в Сеуле, маркер-лога-ab12"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve-auth")
    keyfile = tmp / "keys.txt"
    keyfile.write_text(f"# service keys\n{KEYS[0]}\n\n{KEYS[1]}\n", encoding="utf-8")
    s = start(
        tmp, "--api-key-file", str(keyfile), "--log-ads", "--max-batch", "1", "--max-wait-ms", "0", "--max-queue", "2"
    )
    yield s
    assert s.stop() == 0, s.log()


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


PROTECTED = [
    ("POST", "/v1/score"),
    ("POST", "/v1/explain"),
    ("GET", "/v1/model"),
    ("GET", "/metrics"),
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
    ("GET", "/static/docs/swagger-ui.css"),
    ("POST", "/setup"),
    ("GET", "/health"),
    ("POST", "/predict"),
    ("POST", "/webhook"),
    ("GET", "/v1/labelstudio/config"),
    ("GET", "/no/such/route"),
]


@pytest.mark.parametrize("method, path", PROTECTED)
def test_every_route_needs_a_key(client, method, path):
    for headers in (
        {},
        bearer(WRONG),
        {"authorization": "Bearer"},
        {"authorization": f"Token {KEYS[0]}"},
        bearer(KEYS[0] + "x"),
        bearer(KEYS[0][:-1]),
    ):
        r = client.request(method, path, json="Работа в Дубае", headers=headers)
        assert r.status_code == 401, (path, headers, r.text)
        body = r.json()
        assert body["error"] == "unauthorized" and body["errors"][0]["field"] == "Authorization"
        assert "Bearer" in r.headers["www-authenticate"] and "Basic" in r.headers["www-authenticate"]
        assert r.headers["x-request-id"] == body["request_id"]


def test_probes_need_no_key(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_each_key_works_as_bearer_or_basic_password(client):
    for key in KEYS:
        r = client.post("/v1/score", json="Работа в Дубае для девушек", headers=bearer(key))
        assert r.status_code == 200, r.text
        assert client.get("/v1/model", auth=("label-studio", key)).status_code == 200  # Label Studio sends Basic auth
    assert client.get("/v1/model", auth=("label-studio", WRONG)).status_code == 401
    assert client.get("/v1/model", headers={"authorization": "Basic !!notbase64"}).status_code == 401
    spec = client.get("/openapi.json", headers=bearer(KEYS[1])).json()
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "basic"}
    assert "security" in spec["paths"]["/v1/score"]["post"] and "security" not in spec["paths"]["/healthz"]["get"]


def test_full_queue_answers_503_with_retry_after(client):
    before = client.get("/metrics", headers=bearer(KEYS[0])).text
    texts = [f"Вакансия {i}: девушки 18-25 на работу в Дубае, перелёт за наш счёт" for i in range(30)]
    with ThreadPoolExecutor(30) as pool:
        responses = list(pool.map(lambda t: client.post("/v1/score", json=t, headers=bearer(KEYS[0])), texts))
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 503} and codes.count(503) >= 1 and codes.count(200) >= 3, codes
    for r in responses:
        if r.status_code == 503:
            assert int(r.headers["retry-after"]) >= 1
            assert r.json()["error"] == "queue_full"
        else:
            assert len(r.json()["assessments"]) == 1
    after = client.get("/metrics", headers=bearer(KEYS[0])).text
    rejected = metric(after, "trafficking_ads_queue_rejections_total") - metric(
        before, "trafficking_ads_queue_rejections_total"
    )
    assert rejected == codes.count(503)
    assert metric(after, "trafficking_ads_queue_depth_ads") == 0
    assert metric(after, "trafficking_ads_batch_size_ads_bucket", le="1.0") == metric(
        after, "trafficking_ads_batch_size_ads_count"
    )
    assert client.post("/v1/score", json="снова работаем", headers=bearer(KEYS[1])).status_code == 200


def test_log_ads_opts_in_and_keys_are_never_logged(client, server):
    r = client.post("/v1/score", json={"text": LOGGED_TEXT, "contacts": "@seoul_models_ab12"}, headers=bearer(KEYS[0]))
    assert r.status_code == 200
    time.sleep(0.2)
    log = server.log()
    assert LOGGED_TEXT in log and "@seoul_models_ab12" in log
    for secret in (*KEYS, WRONG):
        assert secret not in log
    assert re.search(r"\[" + re.escape(r.headers["x-request-id"]) + r"\] .*POST /v1/score 200", log)
