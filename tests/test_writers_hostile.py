"""Hostile outputs (issue 18): CSV injection, planted symlinks, a directory at -o, a full disk."""

from __future__ import annotations

import csv
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trafficking_ads.batch import score_file
from trafficking_ads.cli import app
from trafficking_ads.records import Ad, Assessment, ModelInfo, scored_record
from trafficking_ads.writers import (
    FORMULA_START,
    OutputError,
    RecordWriter,
    csv_row,
    neutralise_cell,
    partial_path,
    unneutralise_cell,
    write_jsonl_atomic,
)

ROOT = Path(__file__).resolve().parents[1]
RULES = str(ROOT / "models" / "indicators")  # the rule-based scorer: real, fast, no transformer
HOSTILE = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1",
    "\r=1",
    "'=already quoted",
    "''",
    "'",
    "plain",
    "",
    "- bullet list",
    "=",
    "＝fullwidth is text",
]


def record(ad_id: str, title: str, text: str = "Работа") -> dict:
    a = Assessment(ad_id=ad_id, risk=0.5, band="medium", indicators=[], lang="ru", model=ModelInfo("m", "=1"))
    return scored_record(Ad(text=text, id=ad_id, title=title), a, ("text", "title"))


@pytest.mark.parametrize("value", HOSTILE)
def test_neutralise_round_trip(value):
    safe = neutralise_cell(value)
    assert not safe or safe[0] not in FORMULA_START
    assert unneutralise_cell(safe) == value


def test_csv_cells_are_neutralised(tmp_path):
    out = tmp_path / "s.csv"
    with RecordWriter(out, "csv", ("text", "title")) as w:
        for i, v in enumerate(HOSTILE):
            w.write(record(v or f"id{i}", v, text=v or "x"))
    with open(out, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:2] == ["ad_id", "risk"]
    for row in rows[1:]:
        for cell in row:
            assert not cell or cell[0] not in FORMULA_START, row
    first = rows[1]
    assert first[0] == "'" + HOSTILE[0] and first[-1] == "'" + HOSTILE[0] and first[7] == "'=1"  # model_version too
    assert rows[7][0] == "''=already quoted"


def test_resume_reads_neutralised_ids_back(tmp_path):
    out = tmp_path / "s.csv"
    w = RecordWriter(out, "csv", ("text", "title"))
    for v in HOSTILE[:6]:
        w.write(record(v, "t"))
    w.abort()
    w = RecordWriter(out, "csv", ("text", "title"), resume=True)
    assert sorted(w.done_ids) == sorted(HOSTILE[:6]) and w.partial_model == {
        "name": "m",
        "version": "=1",
        "runtime": "",
        "precision": "",
    }
    w.abort()


def test_csv_row_json_columns_untouched():
    row = csv_row(record("=x", "t"), ("title",))
    assert row[0] == "'=x" and row[1] == "0.5"


# ---------------------------------------------------------------- symlinks and temp files


def test_symlink_at_partial_is_not_written_through(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out.jsonl"
    partial_path(out).symlink_to(victim)
    with pytest.raises(OutputError, match="symbolic link"):
        RecordWriter(out)
    assert victim.read_text() == "precious\n" and not out.exists()


def test_symlink_at_out_is_refused_up_front(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out.jsonl"
    out.symlink_to(victim)
    with pytest.raises(OutputError, match="symbolic link"):
        RecordWriter(out)
    assert victim.read_text() == "precious\n"


def test_atomic_jsonl_temp_name_is_not_predictable(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "ads.jsonl"
    (tmp_path / f".{out.name}.{os.getpid()}.tmp").symlink_to(victim)  # the old, predictable name
    assert write_jsonl_atomic(out, [{"a": 1}, {"a": 2}]) == 2
    assert victim.read_text() == "precious\n" and out.read_text() == '{"a": 1}\n{"a": 2}\n'
    assert not out.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [out.name, victim.name, f".{out.name}.{os.getpid()}.tmp"]
    )


def test_stale_partial_without_resume_is_replaced(tmp_path):
    out = tmp_path / "out.jsonl"
    partial_path(out).write_text("old junk\n")
    with RecordWriter(out) as w:
        w.write(record("a", "t"))
    assert json.loads(out.read_text())["ad_id"] == "a"


# ---------------------------------------------------------------- -o a directory, full disk


def ads_file(tmp_path: Path, n: int) -> Path:
    p = tmp_path / "ads.jsonl"
    p.write_text(
        "".join(
            json.dumps(
                {"id": f"ad{i}", "text": f"Работа в Дубае номер {i}, билеты за наш счёт. " * 3}, ensure_ascii=False
            )
            + "\n"
            for i in range(n)
        ),
        encoding="utf-8",
    )
    return p


def test_output_directory_is_refused_before_scoring(tmp_path):
    ads = ads_file(tmp_path, 3)
    outdir = tmp_path / "results"
    outdir.mkdir()
    with pytest.raises(OutputError, match="is a directory"):
        score_file(ads, outdir, model=RULES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ads.jsonl", "results"]  # nothing written, not even a partial
    res = CliRunner().invoke(app, ["score", str(ads), "-o", str(outdir), "--model", RULES, "-q"])
    assert res.exit_code == 1 and "is a directory" in res.output and "Traceback" not in res.output


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


def test_full_disk_is_one_clear_message_and_resumable(tmp_path):
    """A real write failure (the file-size limit: EFBIG, handled like ENOSPC) in a real process."""
    ads = ads_file(tmp_path, 400)
    out = tmp_path / "s.jsonl"
    cmd = [sys.executable, "-m", "trafficking_ads", "score", str(ads), "-o", str(out), "--model", RULES, "-q"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, preexec_fn=_limit_file_size
    )
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert "no space left" in res.stderr and "--resume" in res.stderr and str(partial_path(out)) in res.stderr
    assert partial_path(out).exists() and not out.exists()
    res = subprocess.run(cmd + ["--resume"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    full = tmp_path / "full.jsonl"
    score_file(ads, full, model=RULES)
    assert out.read_bytes() == full.read_bytes()
