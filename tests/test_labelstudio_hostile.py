"""Malformed Label Studio exports (issue 18): every field's type is checked, each bad task or
annotation is reported with task and field, nothing crashes; big exports are streamed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trafficking_ads.problems import DataError, Problems
from trafficking_ads.labelling.labelstudio import read_export

TEXT = "Срочно! Работа в Дубае, девушки 18-25, билеты за наш счёт. Пишите в WhatsApp."


def verdict(v="deceptive"):
    return {"id": "v", "from_name": "verdict", "to_name": "text", "type": "choices", "value": {"choices": [v]}}


def span(word="Срочно", label="urgency", **over):
    i = TEXT.index(word)
    return {
        "id": "s",
        "from_name": "indicator_spans",
        "to_name": "text",
        "type": "labels",
        "value": {"start": i, "end": i + len(word), "text": word, "labels": [label], **over},
    }


def task(tid, result=None, data=None, **ann_over):
    ann = {
        "id": 1,
        "completed_by": 1,
        "result": result if result is not None else [verdict()],
        "was_cancelled": False,
        "created_at": "2026-11-28T10:00:00Z",
        "lead_time": 3.5,
        **ann_over,
    }
    return {
        "id": tid,
        "data": {"text": TEXT, "title": "Официантки", "ad_id": f"ad{tid}", **(data or {})},
        "annotations": [ann],
    }


def read(tmp_path, tasks_json: str):
    p = tmp_path / "export.json"
    p.write_text(tasks_json, encoding="utf-8")
    problems = Problems()
    anns = read_export(p, problems=problems)
    return anns, [str(x) for x in problems]


MALFORMED = [
    (
        "nested choices",
        task(2, [{**verdict(), "value": {"choices": [["deceptive"]]}}]),
        "task 2",
        "choices[0] is a list, expected a string",
    ),
    (
        "dict verdict",
        task(2, [{**verdict(), "value": {"choices": [{"v": "deceptive"}]}}]),
        "task 2",
        "choices[0] is an object",
    ),
    (
        "choices a dict",
        task(2, [{**verdict(), "value": {"choices": {"deceptive": 1}}}]),
        "task 2",
        "'choices' is an object",
    ),
    (
        "value a list",
        task(2, [{**verdict(), "value": ["deceptive"]}]),
        "task 2",
        "'value' is a list, expected an object",
    ),
    ("span text number", task(2, [verdict(), span(text=5)]), "task 2", "span text: expected a string, got an integer"),
    (
        "span text dict",
        task(2, [verdict(), span(text={"a": 1})]),
        "task 2",
        "span text: expected a string, got an object",
    ),
    ("label a list", task(2, [verdict(), span(labels=[["urgency"]])]), "task 2", "labels hold a list"),
    ("from_name dict", task(2, [{**verdict(), "from_name": {"x": 1}}]), "task 2", "from_name: expected a string"),
    ("title dict", task(2, data={"title": {"x": 1}}), "data.title", "expected a string, got an object"),
    ("ad_id dict", task(2, data={"ad_id": {"x": 1}}), "data.ad_id", "expected a string, got an object"),
    ("ad_id list", task(2, data={"ad_id": ["a"]}), "data.ad_id", "expected a string, got a list"),
    ("text number", task(2, data={"text": 12}), "data.text", "expected a string, got an integer"),
    ("url number", task(2, data={"url": 12}), "data.url", "expected a string"),
    (
        "completed_by list",
        task(2, completed_by=[1]),
        "task 2 annotation 1",
        "completed_by: expected a user id or object, got a list",
    ),
    ("created_at dict", task(2, created_at={"t": 1}), "task 2 annotation 1", "created_at: expected a string"),
    ("lead_time string", task(2, lead_time="long"), "task 2 annotation 1", "lead_time: expected a number"),
    ("cancelled string", task(2, was_cancelled="no"), "task 2 annotation 1", "was_cancelled: expected a boolean"),
    ("task id dict", {**task(2), "id": {"x": 1}}, "task #1 id", "expected an integer or a string, got an object"),
]


@pytest.mark.parametrize("name,bad,where,why", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_field_is_reported_with_task_and_field(tmp_path, name, bad, where, why):
    anns, problems = read(tmp_path, json.dumps([task(1), bad, task(3)], ensure_ascii=False))
    assert [a.task_id for a in anns] == [1, 3]
    assert len(problems) == 1 and where in problems[0] and why in problems[0], problems
    with pytest.raises(
        DataError, match=why.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")
    ):
        read_export(tmp_path / "export.json", problems=Problems(strict=True))


def test_deep_nesting_in_a_task(tmp_path):
    deep = "[" * 1000 + "]" * 1000
    body = (
        "["
        + json.dumps(task(1))
        + ', {"id": 2, "data": {"text": "x", "ad_id": "a", "extra": '
        + deep
        + '}, "annotations": []}, '
        + json.dumps(task(3))
        + "]"
    )
    anns, problems = read(tmp_path, body)
    assert [a.task_id for a in anns] == [1, 3]
    assert len(problems) == 1 and "task 2 data.extra" in problems[0] and "nested deeper than 100 levels" in problems[0]


def test_deep_nesting_in_skipped_predictions(tmp_path):
    body = (
        '[{"id": 1, "predictions": '
        + "[" * 5000
        + "]" * 5000
        + ', "data": {"text": '
        + json.dumps(TEXT)
        + ', "ad_id": "a"}, "annotations": [{"id": 1, "result": ['
        + json.dumps(verdict())
        + "]}]}]"
    )
    anns, problems = read(tmp_path, body)
    assert [a.task_id for a in anns] == [1] and problems == []


def test_lone_surrogate_anywhere(tmp_path):
    t2 = (
        json.dumps(task(2))
        .replace('"Официантки"', '"\\ud800"')
        .replace("\\u041e\\u0444\\u0438\\u0446\\u0438\\u0430\\u043d\\u0442\\u043a\\u0438", "\\ud800")
    )
    assert "\\ud800" in t2
    t4 = json.dumps(task(4, [verdict(), span(text="\udfff")]), ensure_ascii=True)
    anns, problems = read(tmp_path, f"[{json.dumps(task(1))}, {t2}, {json.dumps(task(3))}, {t4}]")
    assert [a.task_id for a in anns] == [1, 3]
    assert len(problems) == 2 and "task 2 data.title" in problems[0] and "lone surrogate" in problems[0]
    assert "task 4 annotations[0].result[1].value.text" in problems[1]


def test_not_json_is_a_data_error(tmp_path):
    p = tmp_path / "e.json"
    p.write_text("[" + json.dumps(task(1)) + ", {oops}]")
    with pytest.raises(DataError, match="not JSON"):
        read_export(p)
    p.write_text('"just a string"')
    with pytest.raises(DataError, match="expected a JSON list of tasks"):
        read_export(p)


_MEASURE = """
import resource, sys
from trafficking_ads.labelling.labelstudio import iter_export
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
n = sum(1 for _ in iter_export(sys.argv[1]))
print(n, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024)
"""


@pytest.mark.slow  # writes a 20 MB export and measures a fresh process reading it (~20 s)
def test_big_export_is_streamed(tmp_path):
    """Memory follows one task, not the file (peak RSS growth of a fresh process; json.load
    of the whole file took about 4x its size)."""
    p = tmp_path / "big.json"
    preds = [{"model_version": "m@1", "score": 0.5, "result": [span() for _ in range(40)]}]
    with open(p, "w", encoding="utf-8") as f:
        f.write("[")
        for i in range(320):
            f.write(("," if i else "") + json.dumps({**task(i), "predictions": preds * 10}, ensure_ascii=False))
        f.write("]")
    size = p.stat().st_size
    assert size > 20_000_000
    res = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(p)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert res.returncode == 0, res.stderr
    n, grown = map(int, res.stdout.split())
    assert n == 320 and grown < size / 4, (grown, size)
