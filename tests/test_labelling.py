"""Labelling loop: selection, Label Studio export/import, validation, the labels store."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trafficking_ads.cli import app
from trafficking_ads.problems import DataError, Problems
from trafficking_ads.labelling import labels as labels_mod
from trafficking_ads.labelling.labelstudio import config_path_for, export_tasks, read_export
from trafficking_ads.labelling.select import NearDuplicateIndex, read_scored_file, select, shingle_sets
from trafficking_ads.labelling.vocab import vocabulary
from trafficking_ads.records import Ad, Assessment, Evidence, IndicatorHit, ModelInfo, scored_record

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "data" / "seed"


def _seed_ads(lang: str, n: int) -> list[Ad]:
    rows = [json.loads(l) for l in (SEED / f"{lang}.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]
    return [Ad(text=r["text"], title=r.get("title"), source="seed", language=lang) for r in rows[:n]]


def _assess(ad: Ad, risk: float) -> Assessment:
    """An assessment with real evidence spans: every occurrence of a few cue words in the text."""
    hits = []
    for word, ind in (("WhatsApp", "contact_messenger_only"), ("Дуба", "travel_abroad_offer"), ("visa", "wrong_visa")):
        i = ad.text.find(word)
        if i >= 0:
            hits.append(IndicatorHit(ind, "x", 1.0, [Evidence(i, i + len(word), word)]))
    return Assessment(ad.id, risk, "medium", hits, ad.language, ModelInfo("indicators", "1.0"))


def _write_scored(path: Path, ads: list[Ad], risks: list[float]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for ad, r in zip(ads, risks):
            fh.write(json.dumps(scored_record(ad, _assess(ad, r)), ensure_ascii=False) + "\n")
    return path


@pytest.fixture()
def scored(tmp_path: Path) -> Path:
    ads = _seed_ads("ru", 30) + _seed_ads("en", 30)
    risks = [round((i * 37 % 100) / 100, 2) for i in range(len(ads))]
    return _write_scored(tmp_path / "scored.jsonl", ads, risks)


def test_select_strategies(scored: Path):
    cands = read_scored_file(scored)
    assert len(cands) == 60
    unc = select(cands, "uncertain", 10, threshold=0.5)
    gaps = [abs(c.risk - 0.5) for c in unc.chosen]
    assert gaps == sorted(gaps) and len(unc.chosen) == 10
    assert gaps[0] == min(abs(c.risk - 0.5) for c in cands)
    high = select(cands, "high", 5, threshold=0.5)
    assert [c.risk for c in high.chosen] == sorted((c.risk for c in high.chosen), reverse=True)
    assert high.chosen[0].risk == max(c.risk for c in cands)
    r1 = select(cands, "random", 8, threshold=0.5, seed=3)
    r2 = select(cands, "random", 8, threshold=0.5, seed=3)
    r3 = select(cands, "random", 8, threshold=0.5, seed=4)
    assert [c.ad_id for c in r1.chosen] == [c.ad_id for c in r2.chosen] != [c.ad_id for c in r3.chosen]
    div = select(cands, "diverse", 8, threshold=0.5)
    assert len({c.ad_id for c in div.chosen}) == 8 and div.embedding.startswith("tfidf")
    assert div.chosen[0].ad_id == unc.chosen[0].ad_id  # k-center starts from the most uncertain


def test_threshold_comes_from_the_scoring_models_card(scored: Path):
    sel = select(read_scored_file(scored), "uncertain", 3)
    card = json.loads((ROOT / "models" / "indicators" / "model.json").read_text())
    want = card.get("operating_threshold", (card.get("thresholds") or {}).get("medium"))
    assert sel.threshold == pytest.approx(want) and "model.json" in sel.threshold_source


def test_never_selects_near_duplicates_of_labelled_or_of_each_other(tmp_path: Path):
    base = _seed_ads("en", 12)
    twin = Ad(text=base[0].text.replace("a", "a", 1) + " Apply now.", title=base[0].title, source="seed")
    twin2 = Ad(text=base[1].text + " !", title=base[1].title, source="seed")
    ads = base + [twin, twin2]
    scored = _write_scored(tmp_path / "s.jsonl", ads, [0.5] * len(ads))
    cands = read_scored_file(scored)
    s = shingle_sets([twin.text, base[0].text], [twin.title, base[0].title])
    idx = NearDuplicateIndex(0.8)
    idx.add("a", s[1])
    assert idx.match(s[0]) == "a"
    labelled = [{"ad_id": base[0].id, "text": base[0].text, "title": base[0].title}]
    sel = select(cands, "uncertain", 20, threshold=0.5, labelled=labelled)
    chosen = {c.ad_id for c in sel.chosen}
    assert base[0].id not in chosen and twin.id not in chosen
    assert set(sel.skipped_near_labelled) == {base[0].id, twin.id}
    assert not ({base[1].id, twin2.id} <= chosen)  # never both copies
    assert len(sel.skipped_near_chosen) == 1
    div = select(cands, "diverse", 20, threshold=0.5, labelled=labelled)
    assert twin.id not in {c.ad_id for c in div.chosen}


def test_export_is_label_studio_import_format_with_matching_config(scored: Path, tmp_path: Path):
    cands = read_scored_file(scored)
    out, cfg = export_tasks(cands, tmp_path / "tasks.json", 0.5)
    assert cfg == config_path_for(out) == tmp_path / "tasks.config.xml"
    tasks = json.loads(out.read_text())
    root = ET.fromstring(cfg.read_text())
    controls = {el.get("name"): el for el in root if el.get("name")}
    text_name = root.find("Text").get("name")
    assert root.find("Text").get("value") == "$text"
    verdict = [c.get("value") for c in controls["verdict"]]
    assert verdict == ["deceptive", "legitimate", "unsure"] and controls["verdict"].get("choice") == "single"
    span_labels = {l.get("value") for l in controls["indicator_spans"]}
    ind_choices = {c.get("value") for c in controls["indicators"]}
    guide_ids = set(vocabulary().indicators[:25])
    assert guide_ids <= span_labels == ind_choices
    n_spans = 0
    for t in tasks:
        assert set(t) == {"id", "data", "predictions"} and {"text", "title", "url", "ad_id"} <= set(t["data"])
        (pred,) = t["predictions"]
        assert pred["score"] == pytest.approx(t["data"]["risk"]) and pred["model_version"] == "indicators@1.0"
        ids = [r["id"] for r in pred["result"]]
        assert len(ids) == len(set(ids))
        for r in pred["result"]:
            assert r["from_name"] in controls and r["to_name"] == text_name
            if r["type"] == "choices":
                allowed = verdict if r["from_name"] == "verdict" else ind_choices
                assert set(r["value"]["choices"]) <= set(allowed)
            else:
                v = r["value"]
                assert r["type"] == "labels" and set(v["labels"]) <= span_labels
                assert t["data"]["text"][v["start"] : v["end"]] == v["text"]
                n_spans += 1
        verdicts = [r["value"]["choices"] for r in pred["result"] if r["from_name"] == "verdict"]
        assert verdicts == [["deceptive" if t["data"]["risk"] >= 0.5 else "legitimate"]]
    assert n_spans > 5


# ------------------------------------------------------------ import


def _annotation(result, who=1, at="2026-11-28T10:00:00.000000Z", aid=1, cancelled=False):
    return {
        "id": aid,
        "completed_by": who,
        "result": result,
        "was_cancelled": cancelled,
        "ground_truth": False,
        "created_at": at,
        "updated_at": at,
        "lead_time": 12.5,
        "task": 1,
    }


def _verdict(v):
    return {"id": "v1", "from_name": "verdict", "to_name": "text", "type": "choices", "value": {"choices": [v]}}


def _span(text, word, label):
    i = text.index(word)
    return {
        "id": "s1",
        "from_name": "indicator_spans",
        "to_name": "text",
        "type": "labels",
        "value": {"start": i, "end": i + len(word), "text": word, "labels": [label]},
    }


def _task(tid, ad: Ad, annotations):
    return {
        "id": tid,
        "data": {"text": ad.text, "title": ad.title, "url": "", "ad_id": ad.id},
        "annotations": annotations,
        "predictions": [],
        "project": 1,
        "created_at": "2026-11-28T09:00:00Z",
        "updated_at": "2026-11-28T10:00:00Z",
    }


def _export(path: Path, tasks) -> Path:
    path.write_text(json.dumps(tasks, ensure_ascii=False))
    return path


def test_validation_names_task_and_problem(tmp_path: Path):
    a, b, c, d, e = _seed_ads("ru", 5)
    word = a.text.split()[1]
    tasks = [
        _task(11, a, [_annotation([_verdict("deceptive"), _span(a.text, word, "urgency")])]),  # fine
        _task(
            12,
            b,
            [
                _annotation(
                    [
                        {
                            "id": "x",
                            "from_name": "indicators",
                            "to_name": "text",
                            "type": "choices",
                            "value": {"choices": ["urgency"]},
                        }
                    ]
                )
            ],
        ),
        _task(13, c, [_annotation([_verdict("maybe")])]),
        _task(
            14,
            d,
            [
                _annotation(
                    [
                        _verdict("legitimate"),
                        {
                            **_span(d.text, d.text.split()[0], "urgency"),
                            "value": {"start": 0, "end": 4, "text": "XXXX", "labels": ["urgency"]},
                        },
                    ]
                )
            ],
        ),
        _task(15, e, [_annotation([_verdict("deceptive"), _span(e.text, e.text.split()[0], "not_an_indicator")])]),
        _task(16, e, [_annotation([_verdict("deceptive")], cancelled=True)]),
        {"id": 17, "data": {"text": "no id"}, "annotations": []},
    ]
    path = _export(tmp_path / "export.json", tasks)
    problems = Problems()
    anns = read_export(path, problems=problems)
    assert [x.task_id for x in anns] == [11]
    assert anns[0].spans == [
        {"start": a.text.index(word), "end": a.text.index(word) + len(word), "text": word, "label": "urgency"}
    ]
    assert anns[0].indicators == ["urgency"] and anns[0].annotator == "user:1" and anns[0].source_file == "export.json"
    msgs = [str(p) for p in problems]
    assert len(msgs) == 5
    assert "task 12" in msgs[0] and "no verdict" in msgs[0]
    assert "task 13" in msgs[1] and "unknown verdict 'maybe'" in msgs[1]
    assert "task 14" in msgs[2] and "selects" in msgs[2] and "'XXXX'" in msgs[2]
    assert "task 15" in msgs[3] and "unknown span label 'not_an_indicator'" in msgs[3]
    assert "task 17" in msgs[4] and "ad_id" in msgs[4]
    with pytest.raises(DataError, match="task 12"):
        read_export(path, problems=Problems(strict=True))
    offsets = _export(
        tmp_path / "o.json",
        [
            _task(
                20,
                a,
                [
                    _annotation(
                        [
                            _verdict("deceptive"),
                            {
                                **_span(a.text, word, "urgency"),
                                "value": {"start": 5, "end": 10**6, "labels": ["urgency"]},
                            },
                        ]
                    )
                ],
            )
        ],
    )
    p2 = Problems()
    assert read_export(offsets, problems=p2) == [] and "outside the text" in str(p2[0])


def test_conflicts_majority_tie_and_newest_per_annotator(tmp_path: Path):
    a, b, c = _seed_ads("en", 3)
    t1, t2, t3 = "2026-11-28T10:00:00Z", "2026-11-28T11:00:00Z", "2026-11-28T12:00:00Z"
    first = _export(
        tmp_path / "e1.json",
        [
            _task(
                1,
                a,
                [
                    _annotation([_verdict("deceptive")], who=1, at=t1),
                    _annotation([_verdict("legitimate")], who=2, at=t1, aid=2),
                ],
            ),
            _task(
                2,
                b,
                [
                    _annotation([_verdict("deceptive")], who=1, at=t1),
                    _annotation([_verdict("deceptive")], who=2, at=t2, aid=2),
                ],
            ),
            _task(3, c, [_annotation([_verdict("legitimate")], who={"id": 3, "email": "ann@ngo.example"}, at=t1)]),
        ],
    )
    res = labels_mod.merge([], read_export(first))
    by = {r.ad_id: r for r in res.records}
    assert (
        by[a.id].conflict
        and by[a.id].verdict == "unsure"
        and by[a.id].label is None
        and by[a.id].resolution.startswith("tie")
    )
    assert not by[b.id].conflict and by[b.id].label == 1 and by[b.id].resolution == "agreed"
    assert by[c.id].label == 0 and by[c.id].annotations[0]["annotator"] == "ann@ngo.example"
    assert [x["ad_id"] for x in res.conflicts] == [a.id]
    store = tmp_path / "labels.jsonl"
    labels_mod.write_labels(store, res.records)
    # a third annotator breaks the tie on a; annotator 3 changes their mind on c; annotator 1 confirms b
    second = _export(
        tmp_path / "e2.json",
        [
            _task(1, a, [_annotation([_verdict("deceptive")], who=4, at=t3)]),
            _task(3, c, [_annotation([_verdict("deceptive")], who={"id": 3, "email": "ann@ngo.example"}, at=t3)]),
            _task(2, b, [_annotation([_verdict("deceptive")], who=1, at=t3)]),
        ],
    )
    res2 = labels_mod.merge(labels_mod.read_labels(store), read_export(second))
    by2 = {r.ad_id: r for r in res2.records}
    assert by2[a.id].conflict and by2[a.id].verdict == "deceptive" and by2[a.id].label == 1
    assert by2[a.id].resolution == "majority (deceptive 2, legitimate 1)"
    assert (
        not by2[c.id].conflict and by2[c.id].label == 1 and len(by2[c.id].annotations) == 1
    )  # newest of annotator 3 wins
    assert len(by2[b.id].annotations) == 2 and by2[b.id].annotations[-1]["updated_at"] == t3  # newest provenance kept
    assert {"annotator", "created_at", "updated_at", "task_id", "source_file"} <= set(by2[b.id].annotations[0])
    ads = labels_mod.training_ads(res2.records)
    assert {x.id for x in ads} == {a.id, b.id, c.id} and all(x.label in (0, 1) for x in ads)


def test_cli_export_import_merge(scored: Path, tmp_path: Path):
    runner = CliRunner()
    tasks_path = tmp_path / "tasks.json"
    r = runner.invoke(
        app,
        [
            "label",
            "export",
            str(scored),
            "--to",
            "label-studio",
            "-o",
            str(tasks_path),
            "--select",
            "uncertain",
            "--n",
            "6",
            "--threshold",
            "0.5",
        ],
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "tasks.config.xml").is_file()
    tasks = json.loads(tasks_path.read_text())
    assert len(tasks) == 6
    # annotate as Label Studio would: the annotator accepts the prediction and adds a verdict
    exported = []
    for k, t in enumerate(tasks):
        pred = t["predictions"][0]["result"]
        result = [x for x in pred if x["from_name"] != "verdict"] + [_verdict("deceptive" if k % 2 else "legitimate")]
        exported.append({**t, "annotations": [_annotation(result, who=7, aid=100 + k)]})
    exp = _export(tmp_path / "project-1.json", exported)
    store = tmp_path / "labels.jsonl"
    r = runner.invoke(app, ["label", "import", str(exp), "-o", str(store)])
    assert r.exit_code == 0, r.output
    recs = [json.loads(l) for l in store.read_text().splitlines()]
    assert len(recs) == 6 and {x["label"] for x in recs} == {0, 1}
    assert set(recs[0]) >= {
        "ad_id",
        "text",
        "title",
        "label",
        "verdict",
        "indicators",
        "spans",
        "annotations",
        "conflict",
    }
    r = runner.invoke(app, ["label", "import", str(exp), "-o", str(store)])
    assert r.exit_code == 1 and "--merge" in r.output
    r = runner.invoke(app, ["label", "import", str(exp), "-o", str(store), "--merge"])
    assert r.exit_code == 0 and len(store.read_text().splitlines()) == 6
    # the next export skips what is labelled
    r = runner.invoke(
        app,
        [
            "label",
            "export",
            str(scored),
            "-o",
            str(tmp_path / "t2.json"),
            "--n",
            "60",
            "--labels",
            str(store),
            "--threshold",
            "0.5",
        ],
    )
    assert r.exit_code == 0, r.output
    again = {t["data"]["ad_id"] for t in json.loads((tmp_path / "t2.json").read_text())}
    assert not again & {x["ad_id"] for x in recs}
    bad = _export(tmp_path / "bad.json", [{**exported[0], "annotations": [_annotation([])]}])
    r = runner.invoke(app, ["label", "import", str(bad), "-o", str(tmp_path / "l2.jsonl"), "--strict"])
    assert r.exit_code == 2 and "no verdict" in r.output


def test_span_offsets_in_utf16_units_are_repaired_not_rejected(tmp_path: Path):
    ad = Ad(text="🔥🔥 Работа в Дубае! Пишите в WhatsApp", title="t")
    word = "WhatsApp"
    cp = ad.text.index(word)
    u16 = cp + 2  # two emoji before the span: two extra UTF-16 units each one
    span = {
        "id": "s",
        "from_name": "indicator_spans",
        "to_name": "text",
        "type": "labels",
        "value": {"start": u16, "end": u16 + len(word), "text": word, "labels": ["contact_messenger_only"]},
    }
    path = _export(tmp_path / "e.json", [_task(1, ad, [_annotation([_verdict("deceptive"), span])])])
    problems = Problems()
    (ann,) = read_export(path, problems=problems)
    assert not problems
    assert ann.spans == [
        {
            "start": cp,
            "end": cp + len(word),
            "text": word,
            "label": "contact_messenger_only",
            "repaired": "utf-16 offsets",
        }
    ]
    far = {**span, "value": {**span["value"], "start": 0, "end": len(word)}}  # nowhere near: rejected
    path2 = _export(tmp_path / "e2.json", [_task(1, ad, [_annotation([_verdict("deceptive"), far])])])
    p2 = Problems()
    assert read_export(path2, problems=p2) == [] and "but the annotation says 'WhatsApp'" in str(p2[0])


def test_cli_retrain_refuses_bad_inputs_before_training(tmp_path: Path):
    runner = CliRunner()
    ad = _seed_ads("en", 1)[0]
    store = tmp_path / "labels.jsonl"
    res = labels_mod.merge(
        [], read_export(_export(tmp_path / "e.json", [_task(1, ad, [_annotation([_verdict("unsure")])])]))
    )
    labels_mod.write_labels(store, res.records)
    r = runner.invoke(
        app, ["label", "retrain", "--from", "indicators", "--add", str(store), "--out", str(tmp_path / "m")]
    )
    assert r.exit_code == 2 and "no labelled ads" in r.output
    r = runner.invoke(
        app,
        ["label", "retrain", "--from", str(tmp_path / "nowhere"), "--add", str(store), "--out", str(tmp_path / "m")],
    )
    assert r.exit_code == 1 and "no model" in r.output
    assert not (tmp_path / "m").exists()
