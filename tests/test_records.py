"""The record types (records.py): ids, round trips, the scored line, the JSON Schema command."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from trafficking_ads.cli import app
from trafficking_ads.records import (
    SCORED_AD_FIELDS,
    Ad,
    Assessment,
    Evidence,
    IndicatorHit,
    ModelInfo,
    content_id,
    read_scored,
    scored_record,
)

TEXT = "Работа в Дубае для девушек 18-25, билеты за наш счёт"


def assessment(ad: Ad) -> Assessment:
    start = ad.text.index("Дубае")
    hit = IndicatorHit("travel_abroad_offer", "overseas travel", 1.2, [Evidence(start, start + 5, "Дубае")])
    return Assessment(ad.id, 0.83, "high", [hit], "ru", ModelInfo("indicators", "1.0"), {"indicator_score": 0.83})


def test_content_id_is_stable_and_content_based():
    a, b = Ad(text=TEXT, title="Дубай"), Ad(text=TEXT, title="Дубай")
    assert a.id == b.id == content_id(a) and a.id.startswith("sha256:") and len(a.id) == 7 + 24
    assert Ad(text=TEXT, title="Турция").id != a.id
    assert Ad(text=TEXT, id="tg:1:2").id == "tg:1:2"
    assert Ad(text=TEXT, meta={"x": 1}).id == Ad(text=TEXT).id  # metadata is not content


def test_ad_round_trip_and_unknown_keys():
    ad = Ad(text=TEXT, title="t", label=1, meta={"has_company_logo": 0}, raw={"col": "v"})
    d = ad.to_dict()
    assert Ad.from_dict({**d, "unknown": 5}) == ad
    assert "raw" not in ad.to_dict(raw=False)


def test_scored_record_round_trip():
    ad = Ad(text=TEXT, title="Дубай", url="https://t.me/x/1", source="telegram")
    a = assessment(ad)
    rec = scored_record(ad, a)
    assert set(rec["ad"]) == set(SCORED_AD_FIELDS) and rec["ad"]["text"] == TEXT
    line = json.dumps(rec, ensure_ascii=False)
    ad_fields, back = read_scored(line)
    assert back == a and ad_fields["title"] == "Дубай"
    ev = back.indicators[0].evidence[0]
    assert ad_fields["text"][ev.start : ev.end] == ev.text
    assert scored_record(ad, a, ("title",))["ad"] == {"title": "Дубай"}


def test_schema_command_prints_valid_json_schema():
    res = CliRunner().invoke(app, ["schema"])
    assert res.exit_code == 0
    schema = json.loads(res.stdout)
    assert set(schema) == {"Ad", "Assessment"}
    assert "text" in schema["Ad"]["properties"] and "text" in schema["Ad"]["required"]
    assert {"ad_id", "risk", "band", "indicators"} <= set(schema["Assessment"]["properties"])
    proc = subprocess.run(
        [sys.executable, "-m", "trafficking_ads", "schema"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and json.loads(proc.stdout) == schema
