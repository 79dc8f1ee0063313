"""Starting the real `trafficking-ads serve` for the serve tests: a subprocess on 127.0.0.1.

Each test module starts one server (fixture scope="module") with the options it tests, on a
port the server picks itself (`--port 0`; the port is read back from its log), waits for
/readyz, and stops it with SIGTERM at the end, checking that it exits 0.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
_LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


class ServeProcess:
    """One `python -m trafficking_ads serve` process and its log file."""

    def __init__(self, log_path: Path, *args: str) -> None:
        self.log_path = log_path
        self.args = ["--host", "127.0.0.1", "--port", "0", *args]
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trafficking_ads", "serve", *self.args],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.port = self._wait_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def _wait_port(self, timeout: float = 120) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = _LISTENING.search(self.log())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.05)
        raise RuntimeError(f"serve did not start listening in {timeout} s:\n{self.log()}")

    def wait_ready(self, timeout: float = 300) -> None:
        """Poll /readyz until 200 (the first run builds the OpenVINO graph: ~20-40 s)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"serve not ready in {timeout} s:\n{self.log()}")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, wait, return the exit code (killed if it does not stop in time)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def start(tmp_dir: Path, *args: str, ready: bool = True) -> ServeProcess:
    """A started server (ready unless `ready=False`)."""
    server = ServeProcess(tmp_dir / "serve.log", *args)
    if ready:
        try:
            server.wait_ready()
        except BaseException:
            server.stop()
            raise
    return server


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (0 when absent)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        sample, _, lab = head.partition("{")
        if sample != name:
            continue
        got = ",".join(sorted(p for p in lab.rstrip("}").split(",") if p))
        if not labels or all(f'{k}="{v}"' in got.split(",") for k, v in labels.items()):
            total += float(value)
    return total
