"""A responsive CLI (#17 part 4): Ctrl-C, light start-up, honest exit codes, first-run notes.

Ctrl-C is tested for real: `python -m trafficking_ads score` in a subprocess gets SIGINT
after it has written some ads; it must exit 130 within 2 s with those ads in OUT.partial,
say how to resume, and `--resume` must finish with every ad exactly once.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

import trafficking_ads.batch as batch
from trafficking_ads.cli import app

from test_score_cli import KeywordScorer, use_scorer

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(ROOT)}


def _many(samples_path: Path, path: Path, copies: int) -> list[str]:
    """The samples `copies` times, with unique ids; returns the ids in order."""
    samples = [json.loads(x) for x in samples_path.read_text(encoding="utf-8").splitlines()]
    ids = []
    with open(path, "w", encoding="utf-8") as f:
        for i in range(copies):
            for s in samples:
                ids.append(f"{s['id']}-{i}")
                f.write(json.dumps({**s, "id": ids[-1]}, ensure_ascii=False) + "\n")
    return ids


def _interrupt_when_written(cmd: list[str], partial: Path, wait_s: float) -> tuple[subprocess.CompletedProcess, float]:
    """Run `cmd`, send SIGINT once `partial` holds a whole record; return the result and how
    long the process took to exit after the signal."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        deadline = time.monotonic() + wait_s
        while proc.poll() is None and time.monotonic() < deadline:
            if partial.exists() and b"\n" in partial.read_bytes()[:65536]:
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"the run ended before it could be interrupted: {proc.stderr.read()}"
        assert partial.exists(), "nothing was written in time"
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        finally:
            took = time.monotonic() - sent
        stderr = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(cmd, proc.returncode, "", stderr), took


def _check_interrupted_then_resume(cmd: list[str], out: Path, ids: list[str], took: float, res) -> None:
    partial = out.with_name(out.name + ".partial")
    assert res.returncode == 130, res.stderr
    assert took < 2.0, f"took {took:.2f} s to stop after SIGINT"
    assert not out.exists() and partial.exists()
    kept = [json.loads(x)["ad_id"] for x in partial.read_text(encoding="utf-8").splitlines()]
    assert 0 < len(kept) < len(ids) and kept == ids[: len(kept)]
    line = [x for x in res.stderr.splitlines() if x.startswith("interrupted")]
    assert len(line) == 1 and "--resume" in line[0] and str(partial) in line[0]
    assert f"{len(kept)} ads" in line[0]
    done = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=600, env=ENV)
    assert done.returncode == 0, done.stderr
    assert f"resumed: {len(kept)} ads" in done.stderr
    got = [json.loads(x)["ad_id"] for x in out.read_text(encoding="utf-8").splitlines()]
    assert got == ids and Counter(got).most_common(1)[0][1] == 1  # each ad exactly once, in order


def test_ctrl_c_stops_at_once_keeps_scored_ads_and_resumes(tmp_path, samples_path):
    """The indicator model yields ad by ad: SIGINT lands mid-stream."""
    inp, out = tmp_path / "many.jsonl", tmp_path / "out.jsonl"
    ids = _many(samples_path, inp, 40)
    cmd = [sys.executable, "-m", "trafficking_ads", "score", str(inp), "--model", "indicators", "-o", str(out)]
    res, took = _interrupt_when_written(cmd, out.with_name("out.jsonl.partial"), wait_s=120)
    _check_interrupted_then_resume(cmd, out, ids, took, res)


@pytest.mark.slow
def test_ctrl_c_mid_chunk_with_the_default_model(tmp_path, samples_path):
    """The transformer scores ads in chunks (64, 256, then ~1,000); SIGINT while a chunk is in
    flight must not wait for it (it used to take minutes) and keeps every ad scored before."""
    inp, out = tmp_path / "many.jsonl", tmp_path / "out.jsonl"
    ids = _many(samples_path, inp, 60)  # 1,800 ads: SIGINT lands after the first 64, a chunk in flight
    cmd = [sys.executable, "-m", "trafficking_ads", "score", str(inp), "-o", str(out)]
    res, took = _interrupt_when_written(cmd, out.with_name("out.jsonl.partial"), wait_s=540)
    _check_interrupted_then_resume(cmd, out, ids, took, res)


HEAVY = ("torch", "openvino", "transformers", "spacy", "sklearn", "onnxruntime", "datasets")


def _heavy_modules_after(argv: list[str]) -> list[str]:
    """The HEAVY modules a fresh interpreter has imported after running the CLI with `argv`."""
    code = (
        "import sys\n"
        "from trafficking_ads.cli import app\n"
        "try:\n"
        f"    app({argv!r})\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=ENV)
    assert proc.returncode == 0, proc.stderr
    return ast.literal_eval(proc.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["score", "--help"], ["schema"]])
def test_cli_start_up_imports_no_heavy_library(argv):
    """`--help`, `schema` and every command's help run without torch/openvino/transformers."""
    assert _heavy_modules_after(argv) == []


def test_report_starts_without_the_model_libraries(tmp_path, samples_path):
    scored = tmp_path / "s.jsonl"
    assert (
        CliRunner()
        .invoke(app, ["score", str(samples_path), "--model", "indicators", "-q", "-o", str(scored)])
        .exit_code
        == 0
    )
    assert _heavy_modules_after(["report", str(scored), "-o", str(tmp_path / "r.html")]) == []


# -- nothing scored: a documented non-zero exit --------------------------------------------


def _score(*args: str, input: str | None = None):
    return CliRunner().invoke(app, ["score", *args], input=input, catch_exceptions=False)


def test_score_exits_3_when_no_ad_was_scored(monkeypatch, tmp_path):
    use_scorer(monkeypatch, KeywordScorer())
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    binary = tmp_path / "blob.jsonl"
    binary.write_bytes(bytes(range(256)) * 40)
    table = tmp_path / "t.csv"
    table.write_text("name,body\nx,Работа в Дубае\n", encoding="utf-8")
    for args in ([str(empty)], [str(binary)], [str(table), "--map", "text=description"]):
        res = _score(*args, "-o", str(tmp_path / "o.jsonl"))
        assert res.exit_code == 3, (args, res.stderr)
        (line,) = [x for x in res.stderr.splitlines() if x.startswith("error:")]
        assert "no ad was scored" in line
    assert "3 no ad was scored" in _score("--help").stdout.replace("\n", " ").replace("  ", " ")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "3" in readme and "no ad was scored" in readme


def test_a_resumed_run_with_nothing_left_is_not_an_error(monkeypatch, tmp_path, samples_path):
    use_scorer(monkeypatch, KeywordScorer(fail_after=30, chunk=1))
    out = tmp_path / "o.jsonl"
    with pytest.raises(RuntimeError):
        _score(str(samples_path), str(samples_path), "-o", str(out))  # 60 ads: dies after 30
    use_scorer(monkeypatch, KeywordScorer())
    res = _score(str(samples_path), "-o", str(out), "--resume")
    assert res.exit_code == 0 and "resumed: 30 ads" in res.stderr


# -- model identity: runtime and precision ------------------------------------------------


def test_outputs_carry_runtime_and_precision_and_resume_refuses_another(monkeypatch, tmp_path, samples_path):
    for fmt in ("jsonl", "csv"):
        out = tmp_path / f"o.{fmt}"
        use_scorer(monkeypatch, KeywordScorer(fail_after=3, chunk=1, runtime="openvino", precision="int8"))
        with pytest.raises(RuntimeError):
            _score(str(samples_path), "-o", str(out), "--format", fmt)
        partial = out.with_name(out.name + ".partial").read_text(encoding="utf-8-sig")
        if fmt == "jsonl":
            assert json.loads(partial.splitlines()[0])["model"] == {
                "name": "keyword-test",
                "version": "1",
                "runtime": "openvino",
                "precision": "int8",
            }
        else:
            assert "model_runtime,model_precision" in partial.splitlines()[0] and ",openvino,int8," in partial
        use_scorer(monkeypatch, KeywordScorer(runtime="openvino", precision="fp32"))
        res = _score(str(samples_path), "-o", str(out), "--format", fmt, "--resume")
        assert res.exit_code == 1
        (line,) = [x for x in res.stderr.splitlines() if x.startswith("error:")]
        assert (
            "keyword-test 1 (openvino int8), not keyword-test 1 (openvino fp32)" in line and "without --resume" in line
        )
        use_scorer(monkeypatch, KeywordScorer(runtime="torch", precision="int8"))
        assert _score(str(samples_path), "-o", str(out), "--format", fmt, "--resume").exit_code == 1
        use_scorer(monkeypatch, KeywordScorer(runtime="openvino", precision="int8"))
        res = _score(str(samples_path), "-o", str(out), "--format", fmt, "--resume")
        assert res.exit_code == 0 and "resumed: 3 ads" in res.stderr


# -- first-run notes and wall time -----------------------------------------------------------


def test_library_info_lines_reach_stderr_and_the_summary_counts_the_load(monkeypatch):
    """What a first run prepares is logged on `trafficking_ads` at INFO; the CLI shows it,
    plainly, once; the summary's time includes loading the model."""

    def slow_load(model=None, **opts):
        logging.getLogger("trafficking_ads.model").info("building the OpenVINO int8 model (first run only)")
        time.sleep(0.3)
        return KeywordScorer()

    monkeypatch.setattr(batch, "load_scorer", slow_load)
    for _ in range(2):  # the handler is installed once, however often the app runs
        res = _score("--text", "Работа в Дубае")
        assert res.exit_code == 0, res.stderr
        assert res.stderr.splitlines().count("building the OpenVINO int8 model (first run only)") == 1
    summary = [x for x in res.stderr.splitlines() if x.startswith("scored 1 ads")]
    assert summary and "model load 0.3 s included" in summary[0]
    assert float(summary[0].split(" in ")[1].split(" s ")[0]) >= 0.3
    res = _score("--text", "Работа в Дубае", "-q")
    assert res.exit_code == 0 and res.stderr == ""


# -- report and data build -------------------------------------------------------------------


def test_report_on_a_file_without_assessments_fails_in_one_line(tmp_path, samples_path):
    out = tmp_path / "r.html"
    for name, content in (("raw.jsonl", samples_path.read_text(encoding="utf-8")), ("empty.jsonl", "")):
        p = tmp_path / name
        p.write_text(content, encoding="utf-8")
        res = CliRunner().invoke(app, ["report", str(p), "-o", str(out)])
        assert res.exit_code == 3, res.output
        assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("error: no scored ads in")
        assert not out.exists()


def _tree(d: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in d.rglob("*") if p.is_file()}


def test_data_build_writes_only_under_output(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAFFICKING_ADS_SHARED_DATA", str(tmp_path / "nowhere"))
    before = _tree(ROOT / "data")
    out = tmp_path / "corpus"
    res = CliRunner().invoke(app, ["data", "build", "-o", str(out)])
    assert res.exit_code == 1
    (line,) = res.stderr.strip().splitlines()
    assert str(tmp_path / "nowhere") in line and "TRAFFICKING_ADS_SHARED_DATA" in line and "--seed-only" in line
    assert not out.exists()
    res = CliRunner().invoke(app, ["data", "build", "-o", str(out), "--seed-only"])
    assert res.exit_code == 0, res.output
    assert (out / "dataset" / "dataset_dict.json").is_file() and (out / "CARD.md").is_file()
    assert _tree(ROOT / "data") == before  # data/CORPUS_CARD.md is no longer rewritten
