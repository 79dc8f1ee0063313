"""The hard set: the committed file loads whole and matches its sources; bad lines are reported."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from trafficking_ads.corpus.hard import default_hard_path, load_hard
from trafficking_ads.problems import DataError, Problems

ROOT = Path(__file__).resolve().parents[1]


def test_committed_hard_set_loads_whole_and_balanced():
    problems = Problems()
    ads = load_hard(problems=problems)
    assert not problems, [str(p) for p in problems]
    assert len(ads) >= 180
    by = Counter((a.language, a.label) for a in ads)
    for lang in ("ru", "kk", "en"):
        n = by[lang, 0] + by[lang, 1]
        assert n >= 50 and abs(by[lang, 0] - by[lang, 1]) <= 2, (lang, by)
    assert all(a.source == "hard" and a.meta["hard_negative"] == (a.label == 0) for a in ads)
    # a family never straddles the halves, and each half is balanced per language and label
    parts: dict[str, set[str]] = {}
    for a in ads:
        parts.setdefault(a.meta["family"], set()).add(a.meta["part"])
    assert all(len(p) == 1 for p in parts.values())
    halves = Counter((a.language, a.label, a.meta["part"]) for a in ads)
    for lang in ("ru", "kk", "en"):
        for label in (0, 1):
            assert abs(halves[lang, label, "fit"] - halves[lang, label, "test"]) <= 1, (lang, label, halves)


def test_hard_jsonl_is_built_from_its_sources():
    r = subprocess.run(
        [sys.executable, str(ROOT / "data/hard/build.py"), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "over 0.5: 0" in r.stdout  # no near-copy of a seed ad


def test_bad_lines_are_skipped_and_reported(tmp_path):
    good = json.loads(default_hard_path().read_text(encoding="utf-8").splitlines()[0])
    lines = [
        json.dumps(good, ensure_ascii=False),
        "{not json",
        json.dumps({**good, "id": "hard-ru-9001", "label": 2}),
        json.dumps({**good, "id": "hard-ru-9002", "part": "train"}),
        json.dumps({**good, "id": "hard-ru-9003", "family": ""}),
        json.dumps(good, ensure_ascii=False),  # duplicate id
        json.dumps({**good, "id": "hard-ru-9004", "text": "  "}),
    ]
    f = tmp_path / "hard.jsonl"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = Problems()
    ads = load_hard(f, problems=problems)
    assert [a.id for a in ads] == [good["id"]]
    assert [(p.record, p.field) for p in problems] == [
        (2, None),
        (3, "label"),
        (4, "part"),
        (5, "family"),
        (6, "id"),
        (7, "text"),
    ]
    assert all(str(f) in str(p) for p in problems)
    with pytest.raises(DataError, match="record 2"):
        load_hard(f, problems=Problems(strict=True))
    with pytest.raises(DataError, match="no such file"):
        load_hard(tmp_path / "missing.jsonl")
