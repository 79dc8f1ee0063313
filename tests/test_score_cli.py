"""`trafficking-ads score` and the batch API behind it: outputs, bad input, atomicity, resume.

Batch mechanics (skipping, strict mode, resume, CSV) are tested with `KeywordScorer`, a
small real scorer defined here that implements the `Scorer` protocol and can be told to
fail after N ads (to simulate a crash or Ctrl-C). The end-to-end tests at the bottom run
the shipped default model, in-process and through the installed console script.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable, Iterator

import pytest
from typer.testing import CliRunner

import trafficking_ads.batch as batch
from trafficking_ads.batch import StrictModeError, score_file
from trafficking_ads.cli import app
from trafficking_ads.records import Ad, Assessment, Evidence, IndicatorHit, ModelInfo, read_scored
from trafficking_ads.scorer_protocol import Scorer, as_ad, band_for

ROOT = Path(__file__).resolve().parents[1]

CUES = {
    "dubai": "travel_abroad_offer",
    "дуба": "travel_abroad_offer",
    "билет": "travel_costs_covered",
    "whatsapp": "contact_messenger_only",
    "18-25": "appearance_age_gender",
    "паспорт": "documents_retained",
}


class KeywordScorer:
    """Risk = share of a few cue words present; evidence = their first occurrence."""

    def __init__(
        self,
        fail_after: int | None = None,
        exc: type[BaseException] = RuntimeError,
        version: str = "1",
        chunk: int = 32,
        runtime: str = "",
        precision: str = "",
    ):
        self.info = ModelInfo("keyword-test", version, runtime, precision)
        self.chunk = chunk
        self.fail_after = fail_after
        self.exc = exc
        self.calls = 0

    def score(self, ad: Ad | str) -> Assessment:
        ad = as_ad(ad)
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise self.exc("simulated crash")
        low = ad.text.lower()
        hits = []
        for cue, ind in CUES.items():
            i = low.find(cue)
            if i >= 0:
                hits.append(IndicatorHit(ind, "test", 1.0, [Evidence(i, i + len(cue), ad.text[i : i + len(cue)])]))
        risk = round(min(1.0, len(hits) / 4), 4)
        return Assessment(
            ad.id,
            risk,
            band_for(risk, {"medium": 0.25, "high": 0.75}),
            hits,
            "ru",
            self.info,
            {"cues": float(len(hits))},
        )

    def score_many(self, ads: Iterable[Ad | str]) -> Iterator[Assessment]:
        buf: list[Ad] = []
        for ad in ads:
            buf.append(as_ad(ad))
            if len(buf) == self.chunk:
                yield from (self.score(a) for a in buf)
                buf = []
        yield from (self.score(a) for a in buf)


def use_scorer(monkeypatch, scorer) -> None:
    """Make the CLI's default model this scorer (the CLI loads it through batch.load_scorer)."""
    monkeypatch.setattr(batch, "load_scorer", lambda model=None, **opts: scorer)


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, ["score", *args], input=input, catch_exceptions=False)


BAD_LINES = [
    '{"id": "ok-1", "text": "Работа в Дубае, билеты оплачены, пишите в WhatsApp"}',
    "{not json",
    '{"id": "no-text", "title": "x"}',
    '{"id": "ok-2", "text": "Бухгалтер в Астане, оклад 400 000"}',
    '{"id": "typed", "text": "fine", "title": 5}',
    '{"id": "empty", "text": ""}',
]


@pytest.fixture
def mixed(tmp_path) -> Path:
    p = tmp_path / "mixed.jsonl"
    p.write_text("\n".join(BAD_LINES) + "\n", encoding="utf-8")
    return p


def test_kw_scorer_implements_protocol():
    assert isinstance(KeywordScorer(), Scorer)


def test_jsonl_output_errors_file_and_summary(monkeypatch, tmp_path, mixed, samples_path):
    use_scorer(monkeypatch, KeywordScorer())
    out = tmp_path / "out" / "scored.jsonl"
    res = run(str(samples_path), str(mixed), "-o", str(out))
    assert res.exit_code == 0, res.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 30 + 2
    ad, a = read_scored(lines[0])
    sample0 = json.loads(samples_path.read_text(encoding="utf-8").splitlines()[0])
    assert a.ad_id == sample0["id"] and ad["text"] == sample0["text"] and ad["title"] == sample0["title"]
    assert set(ad) == {"text", "title", "url", "source", "location", "contacts", "posted_at", "company_name"}
    for line in lines:
        ad, a = read_scored(line)
        for hit in a.indicators:
            for ev in hit.evidence:
                assert ad["text"][ev.start : ev.end] == ev.text
    assert [read_scored(x)[1].ad_id for x in lines[-2:]] == ["ok-1", "ok-2"]
    errors = [json.loads(x) for x in Path(str(out) + ".errors.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(e["line"], e["kind"], e["field"]) for e in errors] == [
        (2, "invalid_json", None),
        (3, "missing_text", "text"),
        (5, "wrong_type", "title"),
        (6, "empty_text", "text"),
    ]
    assert all(e["source"] == str(mixed) for e in errors) and errors[0]["raw"] == "{not json"
    assert f"skipped: {mixed}, line 2, record 2: invalid JSON" in res.stderr
    assert "scored 32 ads" in res.stderr and "skipped 4:" in res.stderr and "missing text 1" in res.stderr
    assert "bands: high" in res.stderr
    assert not (out.parent / "scored.jsonl.partial").exists()
    assert res.stdout == ""


def test_csv_output_flattens(monkeypatch, tmp_path, samples_path):
    use_scorer(monkeypatch, KeywordScorer())
    out = tmp_path / "scored.csv"
    res = run(str(samples_path), "-o", str(out), "--format", "csv", "--fields", "title,text")
    assert res.exit_code == 0, res.stderr
    with open(out, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 30
    assert list(rows[0]) == [
        "ad_id",
        "risk",
        "band",
        "indicators",
        "evidence",
        "lang",
        "model",
        "model_version",
        "model_runtime",
        "model_precision",
        "components",
        "network",
        "title",
        "text",
    ]
    first = rows[0]  # the Dubai hostess ad
    assert first["ad_id"] == "sample-ru-01" and "travel_abroad_offer" in first["indicators"].split(";")
    evidence = json.loads(first["evidence"])
    for _ind, evs in evidence.items():
        for ev in evs:
            assert first["text"][ev["start"] : ev["end"]] == ev["text"]
    assert json.loads(first["components"]) == {"cues": float(len(first["indicators"].split(";")))}
    assert float(first["risk"]) > 0 and first["model"] == "keyword-test"


def test_stdout_text_stdin_and_fields(monkeypatch):
    use_scorer(monkeypatch, KeywordScorer())
    res = run("--text", "Работа в Дубае, девушки 18-25", "--text", "Бухгалтер", "--fields", "")
    assert res.exit_code == 0, res.stderr
    recs = [json.loads(x) for x in res.stdout.splitlines()]
    assert [r["ad"] for r in recs] == [{}, {}] and recs[0]["band"] in ("medium", "high") and recs[1]["risk"] == 0
    res = run("-", "--fields", "title", "-q", input='{"title": "t", "text": "Dubai via WhatsApp"}\n')
    assert res.exit_code == 0 and res.stderr == ""
    (rec,) = [json.loads(x) for x in res.stdout.splitlines()]
    assert rec["ad"] == {"title": "t"} and {h["id"] for h in rec["indicators"]} == {
        "travel_abroad_offer",
        "contact_messenger_only",
    }
    res = run("-", "--format", "csv", input="text\nдубай\n")
    assert res.stdout.splitlines()[0].startswith("ad_id,risk,band")


def test_strict_stops_with_exit_2(monkeypatch, tmp_path, mixed):
    use_scorer(monkeypatch, KeywordScorer())
    out = tmp_path / "s.jsonl"
    res = run(str(mixed), "-o", str(out), "--strict", "--errors", str(tmp_path / "errs.jsonl"))
    assert res.exit_code == 2
    assert f"error: {mixed}, line 2, record 2: invalid JSON" in res.stderr and "--strict" in res.stderr
    assert not out.exists()
    errs = [json.loads(x) for x in (tmp_path / "errs.jsonl").read_text().splitlines()]
    assert [e["line"] for e in errs] == [2]
    with pytest.raises(StrictModeError) as info:
        score_file(mixed, tmp_path / "lib.jsonl", scorer=KeywordScorer(), strict=True)
    assert info.value.bad.kind == "invalid_json"


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope.jsonl"], "no such file"),
        ([], "at least one INPUT"),
        (["--text", "x", "--format", "xml"], "--format"),
        (["--text", "x", "--resume"], "--resume needs -o"),
        (["--text", "x", "--fields", "colour"], "unknown ad field"),
        (["--text", "x", "--map", "colour=a"], "not an Ad field"),
        (["--text", "x", "--input-format", "xml"], "--input-format"),
        (["--text", "x", "--batch-size", "4"], "No such option: --batch-size"),  # it did nothing: removed
        (["--text", "x", "--no-such-option"], "No such option"),
    ],
)
def test_usage_errors_exit_1(monkeypatch, args, message):
    use_scorer(monkeypatch, KeywordScorer())
    res = run(*args)
    assert res.exit_code == 1 and message in res.stderr


def test_missing_model_is_a_usage_error(tmp_path):
    res = run("--text", "x", "--model", str(tmp_path / "no-model"))
    assert res.exit_code == 1 and "no model at" in res.stderr


def _input_with_duplicates(tmp_path: Path, samples_path: Path) -> Path:
    """The samples, one bad line, and a duplicated ad (resume must keep both copies)."""
    lines = samples_path.read_text(encoding="utf-8").splitlines()
    p = tmp_path / "in.jsonl"
    p.write_text("\n".join(lines[:10] + ["{broken"] + lines[10:] + [lines[3]]) + "\n", encoding="utf-8")
    return p


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_interrupted_run_resumes_to_identical_output(monkeypatch, tmp_path, samples_path, fmt):
    inp = _input_with_duplicates(tmp_path, samples_path)
    full, part = tmp_path / f"full.{fmt}", tmp_path / f"part.{fmt}"
    use_scorer(monkeypatch, KeywordScorer(chunk=4))
    assert run(str(inp), "-o", str(full), "--format", fmt).exit_code == 0

    use_scorer(monkeypatch, KeywordScorer(fail_after=13, chunk=4))
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(str(inp), "-o", str(part), "--format", fmt)
    partial = tmp_path / f"part.{fmt}.partial"
    assert not part.exists() and partial.exists()  # a crash never leaves a truncated OUT
    with open(partial, "ab") as f:  # and the last write was torn
        f.write(b'{"ad_id": "torn' if fmt == "jsonl" else b'torn-id,0.5,"unterminated')

    use_scorer(monkeypatch, KeywordScorer(chunk=4))
    res = run(str(inp), "-o", str(part), "--format", fmt, "--resume")
    assert res.exit_code == 0, res.stderr
    assert "resumed: 13 ads" in res.stderr
    assert part.read_bytes() == full.read_bytes()
    assert not partial.exists()
    assert Path(f"{part}.errors.jsonl").read_text() == Path(f"{full}.errors.jsonl").read_text()


def test_ctrl_c_keeps_partial_and_says_resume(monkeypatch, tmp_path, samples_path):
    use_scorer(monkeypatch, KeywordScorer(fail_after=5, exc=KeyboardInterrupt, chunk=1))
    out = tmp_path / "o.jsonl"
    res = run(str(samples_path), "-o", str(out))
    assert res.exit_code == 130 and "--resume" in res.stderr
    assert not out.exists() and len((tmp_path / "o.jsonl.partial").read_text().splitlines()) == 5


def test_resume_refuses_a_different_model(monkeypatch, tmp_path, samples_path):
    use_scorer(monkeypatch, KeywordScorer(fail_after=3, chunk=1))
    out = tmp_path / "o.jsonl"
    with pytest.raises(RuntimeError):
        run(str(samples_path), "-o", str(out))
    use_scorer(monkeypatch, KeywordScorer(version="2"))
    res = run(str(samples_path), "-o", str(out), "--resume")
    assert res.exit_code == 1 and "keyword-test 1, not keyword-test 2" in res.stderr


def test_library_api_progress_and_summary(tmp_path, samples_path):
    seen = []
    summary = score_file(
        [samples_path],
        tmp_path / "lib.jsonl",
        scorer=KeywordScorer(chunk=8),
        on_progress=lambda n, b: seen.append((n, b)),
    )
    assert summary.scored == 30 and sum(summary.bands.values()) == 30 and summary.skipped_total == 0
    assert [n for n, _ in seen] == list(range(1, 31))
    assert seen[-1][1] == samples_path.stat().st_size  # bytes read reach the input size: an ETA is possible
    buf = io.StringIO()
    score_file(None, None, text=["дубай"], scorer=KeywordScorer(), stream=buf)
    assert json.loads(buf.getvalue())["ad"]["text"] == "дубай"


# -- the shipped default model, end to end -----------------------------------------------


def _check_scored_samples(lines: list[str], samples_path: Path) -> None:
    samples = [json.loads(x) for x in samples_path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(samples)
    for line, sample in zip(lines, samples):
        ad, a = read_scored(line)
        assert a.ad_id == sample["id"] and ad["text"] == sample["text"]
        assert 0.0 <= a.risk <= 1.0 and a.band in ("low", "medium", "high")
        for hit in a.indicators:
            for ev in hit.evidence:
                if ev.field in ad:  # evidence may point into a field this output does not carry
                    assert ad[ev.field][ev.start : ev.end] == ev.text


def test_default_model_end_to_end(tmp_path, samples_path):
    out = tmp_path / "samples.jsonl"
    res = CliRunner().invoke(app, ["score", str(samples_path), "-o", str(out)])
    assert res.exit_code == 0, res.stderr
    _check_scored_samples(out.read_text(encoding="utf-8").splitlines(), samples_path)
    assert "scored 30 ads" in res.stderr


@pytest.mark.slow  # two fresh interpreters load the default model (~35 s)
def test_console_script_and_module(tmp_path, samples_path):
    exe = Path(sys.executable).parent / "trafficking-ads"
    script = str(exe) if exe.exists() else shutil.which("trafficking-ads")
    assert script, "the trafficking-ads console script is not installed (pip install -e .)"
    out = tmp_path / "cs.csv"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [script, "score", str(samples_path), "-o", str(out), "--format", "csv"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    with open(out, encoding="utf-8-sig", newline="") as f:
        assert len(list(csv.DictReader(f))) == 30
    proc = subprocess.run(
        [sys.executable, "-m", "trafficking_ads", "score", "-", "--fields", "text"],
        input=samples_path.read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    _check_scored_samples(proc.stdout.splitlines(), samples_path)
    proc = subprocess.run(
        [sys.executable, "-m", "trafficking_ads", "score", str(tmp_path / "absent.jsonl")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 1 and "no such file" in proc.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n[1]\n', encoding="utf-8")
    proc = subprocess.run([script, "score", str(bad), "--strict"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2 and "line 2" in proc.stderr


def test_killed_process_resumes_to_identical_output(tmp_path, samples_path):
    """SIGKILL mid-run (no cleanup at all): OUT is absent, and --resume completes it exactly.

    Runs on the indicator-only model: resume is about I/O, and 3 x 600 ads through the
    transformer would take minutes on a 2-core CI machine."""
    samples = [json.loads(x) for x in samples_path.read_text(encoding="utf-8").splitlines()]
    inp = tmp_path / "many.jsonl"
    with open(inp, "w", encoding="utf-8") as f:
        for i in range(20):
            for s in samples:
                f.write(json.dumps({**s, "id": f"{s['id']}-{i}"}, ensure_ascii=False) + "\n")
    cmd = [sys.executable, "-m", "trafficking_ads", "score", str(inp), "--model", "indicators", "-q", "-o"]
    ref, out = tmp_path / "ref.jsonl", tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    env = dict(os.environ)
    proc = subprocess.Popen([*cmd, str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if partial.exists() and partial.stat().st_size > 0:
                proc.kill()  # SIGKILL: no finally blocks, no flush
                break
            time.sleep(0.01)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -9, "the run finished before it could be killed"
    assert not out.exists() and partial.exists()
    done = len(partial.read_bytes().splitlines())
    assert 0 < done < 600
    assert subprocess.run([*cmd, str(ref)], capture_output=True, timeout=300, env=env).returncode == 0
    res = subprocess.run([*cmd[:-1], "-o", str(out), "--resume"], capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr
    assert out.read_bytes() == ref.read_bytes() and len(ref.read_bytes().splitlines()) == 600
