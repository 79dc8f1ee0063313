"""The model registry: listing, the PR-AUC promotion gate, archiving the old default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trafficking_ads.cli import app
from trafficking_ads.registry import PromotionError, gate, list_models, model_entry, promote

HELD_OUT = {"path": "out/corpus", "split": "test", "n": 400, "positives": 60}


def _model(root: Path, dirname: str, version: str, pr_auc: float | None, data: dict | None = None, **card) -> Path:
    d = root / dirname
    d.mkdir(parents=True)
    (d / "model.json").write_text(
        json.dumps(
            {"kind": "indicators", "name": "m", "version": version, "thresholds": {"medium": 0.35, "high": 0.7}, **card}
        )
    )
    if pr_auc is not None:  # the shape `trafficking-ads evaluate --json` writes
        (d / "metrics.json").write_text(
            json.dumps(
                {
                    "data": data or HELD_OUT,
                    "model": {"name": "m", "version": version, "metrics": {"overall": {"pr_auc": pr_auc}}},
                }
            )
        )
    return d


def test_gate_accepts_improvement_and_small_drop_refuses_regression(tmp_path: Path):
    _model(tmp_path, "default", "1", 0.70)
    better = model_entry(_model(tmp_path, "better", "2", 0.74))
    slightly = model_entry(_model(tmp_path, "slightly", "3", 0.695))
    worse = model_entry(_model(tmp_path, "worse", "4", 0.65))
    current = model_entry(tmp_path / "default")
    assert gate(better, current).ok
    assert gate(slightly, current, tolerance=0.01).ok
    assert not gate(slightly, current, tolerance=0.001).ok
    d = gate(worse, current)
    assert not d.ok and "dropped by 0.0500" in d.reason


def test_gate_refuses_incomparable_or_unmeasured(tmp_path: Path):
    _model(tmp_path, "default", "1", 0.70)
    other = model_entry(_model(tmp_path, "other", "2", 0.90, data={**HELD_OUT, "n": 12}))
    none = model_entry(_model(tmp_path, "none", "3", None))
    current = model_entry(tmp_path / "default")
    d = gate(other, current)
    assert not d.ok and "not comparable" in d.reason and "n (400 vs 12)" in d.reason
    assert not gate(none, current).ok


def test_gate_uses_the_parent_comparison_measured_on_the_same_rows(tmp_path: Path):
    fp = {"fingerprint": "ab" * 32, "n": 50, "positives": 9}
    _model(tmp_path, "default", "1", 0.70)  # measured on another set: not comparable directly
    cand = _model(
        tmp_path,
        "child",
        "2",
        0.61,
        data=fp,
        comparison={"held_out": fp, "parent": {"name": "m", "version": "1", "pr_auc": 0.60}},
    )
    d = gate(model_entry(cand), model_entry(tmp_path / "default"))
    assert d.ok and d.default_pr_auc == 0.60 and "comparison.parent" in d.baseline_source


def test_promote_archives_old_default_and_records(tmp_path: Path):
    _model(tmp_path, "default", "1", 0.70)
    _model(tmp_path, "better", "2", 0.75)
    _model(tmp_path, "worse", "3", 0.50)
    with pytest.raises(PromotionError, match="dropped"):
        promote("worse", tmp_path)
    assert json.loads((tmp_path / "default" / "model.json").read_text())["version"] == "1"
    res = promote("better", tmp_path)
    assert res.archived_as == "m-1" and not res.forced
    assert json.loads((tmp_path / "default" / "model.json").read_text())["version"] == "2"
    assert json.loads((tmp_path / "m-1" / "model.json").read_text())["version"] == "1"
    res = promote("worse", tmp_path, force=True)
    assert res.forced and res.archived_as == "m-2"
    reg = json.loads((tmp_path / "registry.json").read_text())
    assert [e["promoted"] for e in reg["promotions"]] == ["better", "worse"] and reg["promotions"][1]["forced"] is True
    names = [e.dir_name for e in list_models(tmp_path)]
    assert names[0] == "default" and {"better", "worse", "m-1", "m-2"} <= set(names)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_cli_models_list_and_promote(tmp_path: Path):
    _model(tmp_path, "default", "1", 0.70)
    _model(tmp_path, "worse", "2", 0.60)
    runner = CliRunner()
    r = runner.invoke(app, ["models", "list", "--root", str(tmp_path)])
    assert r.exit_code == 0 and "0.7000" in r.output and "worse" in r.output
    r = runner.invoke(app, ["models", "promote", "worse", "--root", str(tmp_path)])
    assert r.exit_code == 1 and "refused" in r.output
    r = runner.invoke(app, ["models", "promote", "worse", "--root", str(tmp_path), "--force"])
    assert r.exit_code == 0 and "FORCED PROMOTION" in r.output
    r = runner.invoke(app, ["models", "list", "--root", str(tmp_path), "--json"])
    assert json.loads(r.output)[0]["version"] == "2"


def test_a_model_that_cannot_score_is_never_promoted(tmp_path: Path):
    _model(tmp_path, "default", "1", 0.70)
    broken = _model(tmp_path, "broken", "2", 0.80)
    card = json.loads((broken / "model.json").read_text())
    card["thresholds"] = {"medium": 0.9, "high": 0.1}  # invalid: the scorer refuses to load
    (broken / "model.json").write_text(json.dumps(card))
    with pytest.raises(PromotionError, match="does not load"):
        promote("broken", tmp_path, force=True)
    assert json.loads((tmp_path / "default" / "model.json").read_text())["version"] == "1"
