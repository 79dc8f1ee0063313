"""`models promote` refuses candidates holding symlinks, special files or unexpected files (issue 18)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trafficking_ads.cli import app
from trafficking_ads.registry import PromotionError, promote

HELD_OUT = {"path": "out/corpus", "split": "test", "n": 400, "positives": 60}


def _model(root: Path, dirname: str, version: str, pr_auc: float) -> Path:
    d = root / dirname
    d.mkdir(parents=True)
    (d / "model.json").write_text(
        json.dumps({"kind": "indicators", "name": "m", "version": version, "thresholds": {"medium": 0.35, "high": 0.7}})
    )
    (d / "metrics.json").write_text(
        json.dumps(
            {"data": HELD_OUT, "model": {"name": "m", "version": version, "metrics": {"overall": {"pr_auc": pr_auc}}}}
        )
    )
    (d / "MODEL_CARD.md").write_text("# m\n")
    return d


def _plant(d: Path, kind: str, outside: Path) -> str:
    if kind == "link-to-file":
        secret = outside / "passwd"
        secret.write_text("root:x:0:0\n")
        (d / "extra.json").symlink_to(secret)
        return "symbolic link"
    if kind == "link-to-dir":
        certs = outside / "certs"
        certs.mkdir()
        (certs / "ca.pem").write_text("CERT")
        (d / "certs").symlink_to(certs)
        return "symbolic link"
    if kind == "fifo":
        os.mkfifo(d / "pipe.json")
        return "special file"
    if kind == "subdir":
        (d / "sub").mkdir()
        (d / "sub" / "x.json").write_text("{}")
        return "subdirectory"
    if kind == "unexpected":
        (d / "run.sh").write_text("#!/bin/sh\n")
        return "unexpected file"
    if kind == "pickle":
        (d / "model.pkl").write_bytes(b"\x80\x04N.")
        return "unexpected file"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["link-to-file", "link-to-dir", "fifo", "subdir", "unexpected", "pickle"])
def test_promote_refuses_hostile_candidates(tmp_path, kind):
    root, outside = tmp_path / "models", tmp_path / "outside"
    outside.mkdir()
    _model(root, "default", "1", 0.70)
    cand = _model(root, "cand", "2", 0.80)
    why = _plant(cand, kind, outside)
    before = sorted(p.name for p in (root / "default").iterdir())
    with pytest.raises(PromotionError, match=why):
        promote("cand", root, verify=False)
    with pytest.raises(PromotionError, match=why):
        promote("cand", root, verify=False, force=True)  # --force overrides the metric gate, not this
    assert sorted(p.name for p in (root / "default").iterdir()) == before
    assert not (root / "registry.json").exists()
    res = CliRunner().invoke(app, ["models", "promote", "cand", "--root", str(root)])
    assert res.exit_code != 0 and why in res.output and "Traceback" not in res.output


def test_clean_candidate_is_copied_file_by_file(tmp_path):
    root = tmp_path / "models"
    _model(root, "default", "1", 0.70)
    _model(root, "cand", "2", 0.80)
    promote("cand", root, verify=False)
    d = root / "default"
    assert sorted(p.name for p in d.iterdir()) == ["MODEL_CARD.md", "metrics.json", "model.json"]
    assert json.loads((d / "model.json").read_text())["version"] == "2" and not any(p.is_symlink() for p in d.iterdir())
