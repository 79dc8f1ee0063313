"""Explanations and the report end to end, from the real shipped scorer (models/default)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

import trafficking_ads as ta
from trafficking_ads.cli import app
from trafficking_ads.records import scored_record
from trafficking_ads.report import explain, write_report

TEXTS = [
    "Работа в Дубае для девушек 18-25, билеты за наш счёт. Пишите только в WhatsApp +971 50 123 4567 😀",
    "Жұмыс Кореяда, виза керек емес, тәжірибесіз. Тек WhatsApp арқылы жазыңыз.",
    "Accountant wanted in Almaty. ТОО «Ромашка», official contract, salary 400 000 KZT, office on Abay Ave 10.",
]


@pytest.fixture(scope="module")
def scored():
    scorer = ta.load_scorer()
    ads = [ta.Ad(text=t, source="test", url="https://example.kz/%d" % i) for i, t in enumerate(TEXTS)]
    return ads, [scorer.score(ad) for ad in ads]


def test_real_assessments_explain_cleanly(scored):
    ads, assessments = scored
    top = explain(ads[0], assessments[0])
    assert top.band in ("medium", "high") and top.indicators
    assert not top.unlocated  # every span the real scorer reports is found in the ad
    for ind in top.indicators:
        for ev in ind.evidence:
            assert getattr(ads[0], ev.field)[ev.start : ev.end] == ev.text
    assert {p.key for p in top.scores} | {p.key for p in top.contributions} == set(assessments[0].components)


def test_report_from_real_scores(scored, tmp_path):
    ads, assessments = scored
    src = tmp_path / "scored.jsonl"
    src.write_text(
        "".join(json.dumps(scored_record(a, s), ensure_ascii=False) + "\n" for a, s in zip(ads, assessments)),
        encoding="utf-8",
    )
    res = write_report([src], tmp_path / "r.html")
    assert res.ads == 3 and not res.problems
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    data = json.loads(re.search(r'type="application/json">(.*?)</script>', page, re.S).group(1))
    text0 = data["ads"][0][data["columns"].index("text")]
    units = text0.encode("utf-16-le")
    for _ind, _, spans in data["ads"][0][data["columns"].index("hits")]:
        for f, s, e in spans:  # UTF-16 offsets in the page give back the evidence text
            assert data["fields"][f] == "text" and units[2 * s : 2 * e].decode("utf-16-le")
    first = assessments[0].indicators[0]
    assert first.id in data["indicators"]


def test_cli_explain_text_and_raw_file(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["explain", "--text", TEXTS[0], "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["band"] in ("medium", "high") and d["indicators"] and d["lang"] == "ru"
    raw = tmp_path / "ads.jsonl"
    raw.write_text(
        "".join(json.dumps({"id": f"ad-{i}", "text": t}, ensure_ascii=False) + "\n" for i, t in enumerate(TEXTS)),
        encoding="utf-8",
    )
    res = runner.invoke(app, ["explain", str(raw), "--id", "ad-1"])
    assert res.exit_code == 0, res.output
    assert "ad-1" in res.stdout and "Risk" in res.stdout
    assert runner.invoke(app, ["explain", str(raw), "--id", "ad-9"]).exit_code == 1
