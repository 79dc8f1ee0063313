"""`serve` start-up and shutdown: /healthz before /readyz, graceful SIGTERM, load failures, usage errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from serve_helpers import ROOT, start


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "trafficking_ads", "serve", "--port", "0", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_ready_after_healthy_and_sigterm_finishes_in_flight_work(tmp_path):
    server = start(tmp_path, ready=False)
    try:
        while True:  # the process answers at once; the model loads in the background
            try:
                health = httpx.get(server.url + "/healthz", timeout=5)
                break
            except httpx.ConnectError:
                time.sleep(0.02)
        ready = httpx.get(server.url + "/readyz", timeout=5)
        assert health.status_code == 200
        assert ready.status_code == 503 and ready.json()["status"] == "loading" and ready.headers["retry-after"] == "5"
        early = httpx.post(server.url + "/v1/score", json="Работа в Дубае", timeout=5)
        assert early.status_code == 503 and early.json()["error"] == "not_ready"
        server.wait_ready()

        ads = [
            "Набор девушек 18-25 на работу за границей, визу и билеты оформим, паспорт сдаёте координатору. " * 10
        ] * 200
        result: dict = {}

        def in_flight():
            result["response"] = httpx.post(server.url + "/v1/score", json=ads, timeout=300)

        t = threading.Thread(target=in_flight)
        t.start()
        time.sleep(0.5)  # the batch is being scored
        server.proc.send_signal(signal.SIGTERM)
        t.join(300)
        r = result["response"]
        assert r.status_code == 200 and len(r.json()["assessments"]) == 200
        assert server.proc.wait(60) == 0
        with pytest.raises(httpx.ConnectError):
            httpx.get(server.url + "/healthz", timeout=5)
        log = server.log()
        assert "Shutting down" in log and "stopped" in log
        # the signal came while the batch was being scored: its response was logged after it
        assert log.index("Shutting down") < log.index("POST /v1/score 200")
    finally:
        server.stop()


def test_a_model_that_fails_to_load_exits_1(tmp_path):
    model = tmp_path / "broken"
    model.mkdir()
    (model / "model.json").write_text(
        json.dumps({"kind": "no-such-kind", "name": "broken", "version": "0"}), encoding="utf-8"
    )
    p = run_cli("--model", str(model))
    assert p.returncode == 1, p.stderr
    assert "could not load the model" in p.stderr and "unknown model kind" in p.stderr
    assert "Traceback" not in p.stderr


def _key_file(tmp_path, name, text):
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    return str(f)


def test_usage_errors_exit_1_before_loading(tmp_path):
    weak = "short-key"
    cases = [
        (("--model", str(tmp_path / "nowhere")), "no model at"),
        (("--api-key-file", str(tmp_path / "missing.txt")), "missing.txt: no such file"),
        (
            ("--api-key-file", _key_file(tmp_path, "weak.txt", f"# keys\n{weak}\n")),
            "line 2: key shorter than 16 characters",
        ),
        (("--api-key-file", _key_file(tmp_path, "empty.txt", "# only a comment\n")), "no keys"),
        (("--max-batch", "0"), "--max-batch must be at least 1"),
        (("--max-wait-ms", "-1"), "--max-wait-ms must not be negative"),
        (("--log-level", "loud"), "--log-level"),
    ]
    for args, message in cases:
        p = run_cli(*args)
        assert p.returncode == 1, (args, p.stderr)
        assert message in p.stderr, (args, p.stderr)
        assert weak not in p.stderr and "Traceback" not in p.stderr


def test_port_in_use_is_a_usage_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        p = subprocess.run(
            [sys.executable, "-m", "trafficking_ads", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert p.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in p.stderr
