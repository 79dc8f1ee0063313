"""Property-based tests of the `serve` API: no 5xx for any input, allowed or not by the schema.

Schemathesis generates requests for every operation of /openapi.json (valid and invalid
bodies); Hypothesis generates arbitrary JSON and text (control characters, unpaired
surrogates, mixed scripts). Examples are bounded so the module runs in about a minute.
"""

from __future__ import annotations

import json

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from serve_helpers import start

#: Schema-driven fuzzing of a third server (~40 s): the slow tier; test_serve.py covers serving.
pytestmark = pytest.mark.slow

EXAMPLES = 25
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = start(
        tmp_path_factory.mktemp("serve-props"),
        "--max-text-chars",
        "2000",
        "--max-request-ads",
        "8",
        "--max-body-bytes",
        "65536",
    )
    yield s
    assert s.stop() == 0, s.log()


@pytest.fixture(scope="module")
def api_schema(server):
    return schemathesis.openapi.from_url(server.url + "/openapi.json")


#: Every operation of the schema (schemathesis' own pytest loader does not run on pytest 9,
#: so the operations are listed here and drawn from the served schema in the test).
OPERATIONS = [
    ("POST", "/v1/score"),
    ("POST", "/v1/explain"),
    ("GET", "/v1/model"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/setup"),
    ("GET", "/health"),
    ("POST", "/predict"),
    ("POST", "/webhook"),
    ("GET", "/v1/labelstudio/config"),
]


def test_operations_listed_are_the_schemas(api_schema):
    served = {(r.ok().method.upper(), r.ok().path) for r in api_schema.get_all_operations()}
    assert served == set(OPERATIONS)


# Schema-violating requests exist only for operations that take input (the POSTs).
CASES = [(m, p, GenerationMode.POSITIVE) for m, p in OPERATIONS] + [
    (m, p, GenerationMode.NEGATIVE) for m, p in OPERATIONS if m == "POST"
]


@pytest.mark.parametrize("method, path, mode", CASES)
def test_no_server_error_for_any_schema_input(api_schema, method, path, mode):
    operation = api_schema[path][method]

    @SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        response = case.call_and_validate(checks=[not_a_server_error])
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            body = response.json()
            assert body["error"] and isinstance(body["errors"], list) and body["request_id"]

    check()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
ad_like = st.fixed_dictionaries(
    {"text": st.text(max_size=300)},
    optional={
        "title": st.none() | st.text(max_size=40),
        "contacts": st.none() | st.text(max_size=40),
        "meta": st.dictionaries(st.text(max_size=8), json_values, max_size=3),
    },
)


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


@SETTINGS
@given(body=json_values | ad_like | st.lists(ad_like | st.text(max_size=200), max_size=10))
def test_score_any_json(client, body):
    r = client.post("/v1/score", content=json.dumps(body).encode())
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        ads = body if isinstance(body, list) else [body]
        got = r.json()["assessments"]
        assert len(got) == len(ads)
        for ad, a in zip(ads, got):
            text = ad if isinstance(ad, str) else ad["text"]
            assert 0 <= a["risk"] <= 1 and a["band"] in ("low", "medium", "high")
            for hit in a["indicators"]:
                for ev in hit["evidence"]:
                    if ev["field"] == "text":
                        assert text[ev["start"] : ev["end"]] == ev["text"]
    else:
        assert r.json()["errors"][0]["field"].startswith("body")


@SETTINGS
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes(client, raw):
    for path in ("/v1/score", "/v1/explain", "/predict", "/setup", "/webhook"):
        r = client.post(path, content=raw)
        assert r.status_code < 500, (path, raw, r.text)
        assert r.headers["content-type"].startswith("application/json")
