"""Parquet in and out for the local `score` (the files a Ray run reads and writes).

Runs the shipped indicator model (`models/indicators`, a real scorer that loads in a
second); the transformer's parity is tested on Ray in test_distributed.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from trafficking_ads.batch import score_file
from trafficking_ads.cli import app
from trafficking_ads.readers import iter_records
from trafficking_ads.readers.errors import BadRecord
from trafficking_ads.scoring import load_scorer
from trafficking_ads.writers_parquet import read_scored_parquet, scored_schema


@pytest.fixture(scope="module")
def scorer():
    return load_scorer("indicators")


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_parquet_output_holds_the_jsonl_records(tmp_path, samples_path, scorer):
    score_file([samples_path], tmp_path / "a.jsonl", scorer=scorer)
    summary = score_file([samples_path], tmp_path / "a.parquet", scorer=scorer, output_format="parquet")
    assert summary.scored == 30
    assert not (tmp_path / "a.parquet.partial").exists()
    assert pq.read_schema(tmp_path / "a.parquet").equals(
        scored_schema(("text", "title", "url", "source", "location", "contacts", "posted_at", "company_name"))
    )
    assert list(read_scored_parquet(tmp_path / "a.parquet")) == _jsonl(tmp_path / "a.jsonl")


def test_parquet_input_reads_like_jsonl_and_reports_bad_rows(tmp_path, samples_path):
    rows = [json.loads(line) for line in samples_path.read_text(encoding="utf-8").splitlines()]
    table = pa.Table.from_pylist(rows + [{"id": "no-text", "title": "t"}, {"id": "empty", "text": "  "}])
    pq.write_table(table, tmp_path / "ads.parquet", row_group_size=7)
    got = list(iter_records([tmp_path / "ads.parquet"]))
    want = list(iter_records([samples_path]))
    ads = [r for r in got if not isinstance(r, BadRecord)]
    assert [(a.id, a.text, a.title) for a in ads] == [(a.id, a.text, a.title) for a in want]
    bad = [r for r in got if isinstance(r, BadRecord)]
    # parquet columns are unified: the row without text has text null (missing), the blank one is empty
    assert [(b.record, b.kind, b.field) for b in bad] == [(31, "missing_text", "text"), (32, "empty_text", "text")]
    assert all(b.source == str(tmp_path / "ads.parquet") and b.line is None for b in bad)


def test_not_parquet_is_one_bad_record(tmp_path):
    (tmp_path / "x.parquet").write_bytes(b"PAR1 not really")
    (rec,) = list(iter_records([tmp_path / "x.parquet"]))
    assert isinstance(rec, BadRecord) and rec.kind == "unreadable"


def test_scored_parquet_rescored_from_its_ads(tmp_path, samples_path, scorer):
    score_file([samples_path], tmp_path / "a.parquet", scorer=scorer, output_format="parquet")
    score_file([tmp_path / "a.parquet"], tmp_path / "b.jsonl", scorer=scorer)
    score_file([samples_path], tmp_path / "c.jsonl", scorer=scorer)
    assert _jsonl(tmp_path / "b.jsonl") == _jsonl(tmp_path / "c.jsonl")


def test_parquet_output_resumes(tmp_path, samples_path, scorer):
    out = tmp_path / "r.parquet"
    lines = samples_path.read_text(encoding="utf-8").splitlines(True)
    part = tmp_path / "first.jsonl"
    part.write_text("".join(lines[:10]), encoding="utf-8")
    score_file([part], tmp_path / "r.jsonl", scorer=scorer)
    # an interrupted run: ten records in OUT.partial (the Parquet writer's partial is JSON Lines)
    (tmp_path / "r.jsonl").rename(out.with_name(out.name + ".partial"))
    summary = score_file([samples_path], out, scorer=scorer, output_format="parquet", resume=True)
    assert (summary.resumed, summary.scored) == (10, 20)
    score_file([samples_path], tmp_path / "full.jsonl", scorer=scorer)
    assert list(read_scored_parquet(out)) == _jsonl(tmp_path / "full.jsonl")


def test_cli_parquet_needs_an_output_file(samples_path):
    result = CliRunner().invoke(app, ["score", str(samples_path), "--model", "indicators", "--format", "parquet"])
    assert result.exit_code == 1
    assert "Parquet output needs an output file" in result.output
