"""Explanations: evidence checked against the ad, components split, terminal and CLI views."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from trafficking_ads.cli import app
from trafficking_ads.records import Ad, Assessment, Evidence, IndicatorHit, ModelInfo, read_scored, scored_record
from trafficking_ads.report import explain
from trafficking_ads.report.explain import locate, neutralize, segment
from trafficking_ads.report.terminal import render

TEXT = "Работа в Дубае для девушек 18-25 😀, билеты за наш счёт. Пишите только в WhatsApp."


def span(text: str, part: str, field: str = "text") -> Evidence:
    start = text.index(part)
    return Evidence(start, start + len(part), part, field)


def make(text: str = TEXT, **ad_fields) -> tuple[Ad, Assessment]:
    ad = Ad(text=text, url="https://example.kz/vacancy/1", source="olx", title="Хостес в ОАЭ", **ad_fields)
    hits = [
        IndicatorHit("travel_abroad_offer", "overseas travel", 1.1, [span(text, "в Дубае")]),
        IndicatorHit(
            "appearance_age_gender", "targeting", 0.9, [span(text, "для девушек 18-25"), span(text, "девушек")]
        ),
        IndicatorHit("travel_costs_covered", "overseas travel", 0.7, [span(text, "билеты за наш счёт")]),
        IndicatorHit("high_risk_role", "role", 0.8, [span(ad.title, "Хостес", "title")]),
        IndicatorHit("employer_identified", "vague employer", -0.4, [Evidence(0, 5, "ТОО Ромашка")]),
    ]
    components = {
        "indicator_score": 0.81,
        "transformer_prob": 0.74,
        "contrib_transformer": 0.31,
        "contrib_indicators": 0.42,
        "contrib_bias": -0.05,
    }
    a = Assessment(
        ad.id,
        0.88,
        "high",
        hits,
        "ru",
        ModelInfo("fusion-test", "1.0"),
        components,
        {"template_cluster": 7, "cluster_size": 12},
    )
    return ad, a


def test_explanation_checks_evidence_and_splits_components():
    ad, a = make()
    e = explain(ad, a)
    assert (e.risk, e.band, e.lang, e.ad_id) == (0.88, "high", "ru", ad.id)
    assert [i.id for i in e.indicators][0] == "travel_abroad_offer"  # sorted by weight, strongest first
    assert [i.id for i in e.indicators][-1] == "employer_identified"
    # every located span really is the ad's text at those offsets
    for ind in e.indicators:
        for ev in ind.evidence:
            if ev.located:
                assert getattr(ad, ev.field)[ev.start : ev.end] == ev.text
    assert e.unlocated == [("employer_identified", e.indicators[-1].evidence[0])]
    assert [p.key for p in e.contributions] == ["contrib_indicators", "contrib_transformer", "contrib_bias"]
    assert {p.key for p in e.scores} == {"indicator_score", "transformer_prob"}
    assert e.contributions[0].label == "indicators"
    assert e.indicator_weight_total == pytest.approx(1.1 + 0.9 + 0.7 + 0.8 - 0.4)
    assert "title" in e.fields and e.highlights("title") == [(0, 6, "high_risk_role")]
    d = json.loads(json.dumps(e.to_dict(), ensure_ascii=False))
    assert d["network"]["template_cluster"] == 7 and d["model"] == {
        "name": "fusion-test",
        "version": "1.0",
        "runtime": "",
        "precision": "",
    }


def test_drifted_offsets_are_relocated_and_missing_text_is_flagged():
    text = "abc Dubai xyz Dubai"
    assert locate(text, 4, 9, "Dubai") == (4, 9, True, False)
    assert locate(text, 13, 18, "Dubai") == (14, 19, True, True)  # nearest occurrence to the given start
    assert locate(text, 0, 5, "DUBAI")[2:] == (True, True)  # case-insensitive last resort
    assert locate(text, 0, 5, "Qatar")[2] is False
    assert locate(None, 0, 5, "x")[2] is False


def test_explain_accepts_scored_line_dicts():
    ad, a = make()
    fields, back = read_scored(json.dumps(scored_record(ad, a), ensure_ascii=False))
    e = explain(fields, back)
    assert e.ad_id == ad.id and e.url == ad.url and e.source == "olx"
    assert e.segments("text")[1] == ("в Дубае", ("travel_abroad_offer",))


def test_segments_handle_overlaps():
    segs = segment("для девушек 18-25", [(0, 17, "a"), (4, 11, "b")])
    assert segs == [("для ", ("a",)), ("девушек", ("a", "b")), (" 18-25", ("a",))]
    assert "".join(s for s, _ in segs) == "для девушек 18-25"


def test_terminal_view_shows_evidence_and_keeps_ad_text_inert():
    hostile = "Работа [bold red]в Дубае[/] \x1b[31mred\x1b[0m \u202eevil"
    ad, a = make()
    ad.text = hostile
    a.indicators = [IndicatorHit("travel_abroad_offer", "overseas travel", 1.1, [span(hostile, "в Дубае")])]
    console = Console(record=True, width=120, color_system="truecolor", force_terminal=True)
    console.print(render(explain(ad, a)))
    plain = console.export_text(clear=False)
    assert "[bold red]в Дубае[/]" in plain  # markup in ads is shown, not interpreted
    assert "[U+001B][31mred" in plain and "[U+202E]evil" in plain
    assert "\u202e" not in plain and "\x1b[31mred" not in plain
    assert "contribution: indicators" in plain and "+0.420" in plain
    assert "travel_abroad_offer" in plain and "template_cluster" in plain
    styled = console.export_text(styles=True)
    assert "в Дубае" in styled


def test_neutralize_marks_bidi_and_controls_but_keeps_text():
    assert neutralize("a\u202eb\u2066c\td\n") == "a[U+202E]b[U+2066]c\td\n"
    assert neutralize("Қазақстан 😀") == "Қазақстан 😀"


# ---- CLI ----------------------------------------------------------------------------

runner = CliRunner()


def scored_file(tmp_path: Path, bad_first: bool = False) -> tuple[Path, Ad]:
    ad, a = make()
    other = Ad(text="Вакансия бухгалтера в Алматы, ТОО «Ромашка», оклад 400 000 тг.", source="hh")
    b = Assessment(other.id, 0.05, "low", [], "ru", ModelInfo("fusion-test", "1.0"), {"transformer_prob": 0.04})
    p = tmp_path / "scored.jsonl"
    lines = [
        json.dumps(scored_record(other, b), ensure_ascii=False),
        json.dumps(scored_record(ad, a), ensure_ascii=False),
    ]
    if bad_first:
        lines.insert(0, '{"ad_id": "x", "risk": 2}')
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p, ad


def test_cli_explain_from_scored_file(tmp_path):
    p, ad = scored_file(tmp_path)
    res = runner.invoke(app, ["explain", str(p), "--id", ad.id.partition(":")[2], "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["ad_id"] == ad.id and d["band"] == "high"
    assert {c["key"] for c in d["contributions"]} == {"contrib_indicators", "contrib_transformer", "contrib_bias"}
    res = runner.invoke(app, ["explain", str(p), "--id", ad.id])
    assert res.exit_code == 0, res.output
    assert "HIGH" in res.stdout and "в Дубае" in res.stdout and "travel_abroad_offer" in res.stdout


def test_cli_explain_errors(tmp_path):
    p, ad = scored_file(tmp_path, bad_first=True)
    res = runner.invoke(app, ["explain", str(p), "--id", "sha256:nope"])
    assert res.exit_code == 1 and "no ad with id" in res.output and "scored.jsonl, line 1" in res.output
    res = runner.invoke(app, ["explain", str(p), "--id", ad.id, "--strict"])
    assert res.exit_code == 2 and "scored.jsonl, line 1" in res.output
    assert runner.invoke(app, ["explain"]).exit_code == 1
    assert runner.invoke(app, ["explain", str(p)]).exit_code == 1
    assert runner.invoke(app, ["explain", str(tmp_path / "missing.jsonl"), "--id", "x"]).exit_code == 1
