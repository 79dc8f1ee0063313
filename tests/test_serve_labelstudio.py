"""`serve` as a Label Studio ML backend: /setup, /health, /predict and /webhook with payloads in
Label Studio's format, answering with exactly the pre-annotations `label export` writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

import trafficking_ads as ta
from trafficking_ads.labelling import labelling_config
from serve_helpers import ROOT, start

#: The fields a task exported by `label export` carries in `data` (besides risk, band, lang):
#: the service can only score what the task holds, so the reference ads hold the same.
TASK_FIELDS = ("id", "text", "title", "url", "source", "location", "posted_at")
PROJECT = "1.1733500000"  # Label Studio sends "<project id>.<created_at timestamp>"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = start(tmp_path_factory.mktemp("serve-ls"))
    yield s
    assert s.stop() == 0, s.log()


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


def cli(*args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run(
        [sys.executable, "-m", "trafficking_ads", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert p.returncode == 0, p.stderr


@pytest.fixture(scope="module")
def exported(tmp_path_factory, samples_path):
    """`score` then `label export` on the sample ads, as an analyst would run them."""
    tmp = tmp_path_factory.mktemp("ls-export")
    ads = tmp / "ads.jsonl"
    with ads.open("w", encoding="utf-8") as fh:
        for ad in ta.read_ads(samples_path):
            d = ad.to_dict(raw=False)
            fh.write(json.dumps({k: d[k] for k in TASK_FIELDS if d.get(k) is not None}, ensure_ascii=False) + "\n")
    cli("score", str(ads), "-o", str(tmp / "scored.jsonl"))
    cli(
        "label",
        "export",
        str(tmp / "scored.jsonl"),
        "--to",
        "label-studio",
        "-o",
        str(tmp / "tasks.json"),
        "--select",
        "random",
        "--n",
        "30",
    )
    tasks = json.loads((tmp / "tasks.json").read_text(encoding="utf-8"))
    config = (tmp / "tasks.config.xml").read_text(encoding="utf-8")
    assert len(tasks) >= 20
    return tasks, config


def as_sent(task: dict) -> dict:
    """A task as Label Studio posts it to /predict (its own fields, no predictions yet)."""
    return {
        "id": task["id"],
        "data": task["data"],
        "meta": {},
        "created_at": "2026-12-01T10:00:00.000000Z",
        "updated_at": "2026-12-01T10:00:00.000000Z",
        "is_labeled": False,
        "overlap": 1,
        "project": 1,
        "file_upload": None,
        "annotations": [],
        "predictions": [],
    }


@pytest.mark.slow  # runs `score` and `label export` first (~15-45 s)
def test_predict_returns_the_label_export_preannotations(client, exported):
    tasks, config = exported
    body = {
        "tasks": [as_sent(t) for t in tasks],
        "model_version": "",
        "project": PROJECT,
        "label_config": config,
        "params": {"login": None, "password": None, "context": None},
    }
    r = client.post("/predict", json=body)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert results == [t["predictions"][0] for t in tasks]
    assert any(item["type"] == "labels" for res in results for item in res["result"])  # evidence spans came through
    one = client.post("/predict", json={**body, "tasks": [as_sent(tasks[3])]}).json()["results"]
    assert one == [tasks[3]["predictions"][0]]


def test_predict_on_a_task_with_text_only(client):
    text = "Срочно требуются девушки 18-25 лет хостес в клуб в Дубае. Перелёт за счёт работодателя, пишите в WhatsApp."
    r = client.post(
        "/predict",
        json={"tasks": [{"id": 7, "data": {"text": text}}], "project": PROJECT, "label_config": labelling_config()},
    )
    assert r.status_code == 200, r.text
    (pred,) = r.json()["results"]
    a = ta.load_scorer().score(text)
    assert pred["score"] == round(a.risk, 4) and pred["model_version"] == f"{a.model.name}@{a.model.version}"
    verdict = [i for i in pred["result"] if i["from_name"] == "verdict"][0]["value"]["choices"]
    assert verdict == ["deceptive"]
    spans = [i["value"] for i in pred["result"] if i["type"] == "labels"]
    assert spans and all(text[s["start"] : s["end"]] == s["text"] for s in spans)


def test_setup_health_webhook_and_config(client):
    config = labelling_config()
    r = client.post(
        "/setup",
        json={
            "project": PROJECT,
            "schema": config,
            "hostname": "http://localhost:8080",
            "access_token": "x",
            "model_version": None,
            "extra_params": None,
        },
    )
    assert r.status_code == 200 and r.json()["model_version"].startswith("transformer-e5-small-lora@")
    h = client.get("/health").json()
    assert h["status"] == "UP" and h["ready"] is True
    assert client.get("/v1/labelstudio/config").text == config
    event = {
        "action": "ANNOTATION_CREATED",
        "project": {"id": 1, "label_config": config},
        "task": {"id": 1, "data": {"text": "x"}},
        "annotation": {"id": 5, "result": []},
    }
    w = client.post("/webhook", json=event)
    assert w.status_code == 200 and w.json()["status"] == "ok" and w.json()["trained"] is False


def test_label_studio_errors_name_the_field(client):
    sentiment = '<View><Text name="review" value="$text"/><Choices name="sentiment" toName="review"><Choice value="Positive"/></Choices></View>'
    cases = [
        ("/setup", {"project": PROJECT, "schema": sentiment}, "body.schema", "lacks the controls 'verdict'"),
        (
            "/predict",
            {"tasks": [{"id": 1, "data": {"text": "ok"}}], "label_config": sentiment},
            "body.label_config",
            "lacks the controls",
        ),
        ("/predict", {"tasks": [{"id": 1, "data": {"image": "a.png"}}]}, "body.tasks[0].data.text", "required"),
        ("/predict", {"tasks": [{"id": 1, "data": {"text": "  "}}]}, "body.tasks[0].data.text", "empty text"),
        ("/predict", {"tasks": [{"id": 1}]}, "body.tasks[0].data", "required"),
        ("/predict", {"tasks": "all"}, "body.tasks", "valid list"),
        ("/webhook", {"project": {"id": 1}}, "body.action", "required"),
    ]
    for path, body, field, reason in cases:
        r = client.post(path, json=body)
        assert r.status_code == 422, (path, r.text)
        assert any(e["field"] == field and reason in e["reason"] for e in r.json()["errors"]), (path, r.json())
    assert client.post("/predict", json={"tasks": []}).json()["results"] == []
