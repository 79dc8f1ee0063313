"""The wheel works outside the checkout: build it, install it into a clean venv in a temp
directory, and score the sample ads from a temp working directory through the API and the CLI.

Installs the core dependencies from the package index (pip's cache may be warm); the extras to
add come from $TRAFFICKING_ADS_WHEEL_EXTRAS (e.g. "train"), none by default: the core alone must
score with the shipped default model. CI's constraints (.ci/constraints.txt) apply.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples" / "ads.jsonl"
EXTRAS_ENV = "TRAFFICKING_ADS_WHEEL_EXTRAS"

API_SCRIPT = """
import json, sys
import trafficking_ads as ta
from trafficking_ads.scoring import resolve_model_dir
out = [{"id": a.ad_id, "risk": a.risk, "band": a.band} for a in ta.load_scorer().score_many(ta.read_ads("ads.jsonl"))]
print(json.dumps({"package": ta.__file__, "model_dir": str(resolve_model_dir()), "scored": out}))
"""


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 1500) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def _package_files(venv: Path) -> set[str]:
    """The installed package's files, apart from Python's byte-code caches."""
    return {
        str(p)
        for p in venv.glob("lib/python*/site-packages/trafficking_ads/**/*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.slow
def test_wheel_installs_outside_the_checkout_and_scores_the_samples(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "TRAFFICKING_ADS_"))}
    env.update(
        {
            "TRAFFICKING_ADS_CACHE": str(tmp_path / "cache"),
            "TRAFFICKING_ADS_MODELS": str(tmp_path / "user-models"),
            "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
            "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),
            "HF_HOME": str(tmp_path / "hf"),
        }
    )
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)], tmp_path, env)
    (wheel,) = dist.glob("trafficking_ads-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    py, cli = venv / "bin" / "python", venv / "bin" / "trafficking-ads"
    extras = os.environ.get(EXTRAS_ENV, "").strip()
    target = f"{wheel}[{extras}]" if extras else str(wheel)
    _run([str(py), "-m", "pip", "install", "-q", "-c", str(ROOT / ".ci" / "constraints.txt"), target], tmp_path, env)

    installed = _package_files(venv)
    assert any(p.endswith("shipped_models/default/model.json") for p in installed)
    assert any(p.endswith("trafficking_ads/py.typed") for p in installed)
    work = tmp_path / "work"  # a working directory with nothing of the checkout in it
    work.mkdir()
    (work / "ads.jsonl").write_bytes(SAMPLES.read_bytes())
    n = sum(1 for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip())

    api = json.loads(_run([str(py), "-c", API_SCRIPT], work, env).stdout.strip().splitlines()[-1])
    site = venv.resolve()
    assert Path(api["package"]).resolve().is_relative_to(site), api["package"]
    assert Path(api["model_dir"]).resolve().is_relative_to(site), api["model_dir"]  # the shipped model, from the wheel
    assert len(api["scored"]) == n and all(0.0 <= a["risk"] <= 1.0 for a in api["scored"])

    _run([str(cli), "score", "ads.jsonl", "-o", "scored.jsonl"], work, env)
    lines = [json.loads(x) for x in (work / "scored.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    assert len(lines) == n
    by_id = {a["id"]: a for a in api["scored"]}
    for line in lines:  # the CLI and the API give the same assessments
        a = by_id[line["ad_id"]] if "ad_id" in line else by_id[line["id"]]
        assert line["band"] == a["band"] and abs(line["risk"] - a["risk"]) < 1e-6

    if not extras:  # the core install is torch-free, and an extra's command says which extra to add
        r = subprocess.run([str(py), "-c", "import torch"], cwd=work, env=env, capture_output=True, text=True)
        assert r.returncode != 0
        r = subprocess.run([str(cli), "scrape"], cwd=work, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 1 and "pip install 'trafficking-ads[scrape]'" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    # nothing was written into the installed package (models and caches go to the user's folders)
    assert _package_files(venv) == installed
