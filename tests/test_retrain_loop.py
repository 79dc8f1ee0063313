"""The labelling and retraining loop end to end on a small real dataset (the project's seed ads).

score -> export -> annotations as Label Studio writes them -> import -> retrain a few steps
-> evaluate parent and child on the same held-out rows -> the promotion gate accepts the
better model over the worse and refuses the reverse. Training is tiny (a couple of steps,
short max_len) so this stays within the test budget; it measures plumbing, not quality.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trafficking_ads.cli import app
from trafficking_ads.corpus.splits import check_group_disjoint
from trafficking_ads.records import Ad

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "data" / "seed"
TINY = {
    "max_len": 32,
    "epochs": 1.0,
    "batch_size": 8,
    "eval_batch_size": 64,
    "max_train_examples": 16,
    "lora_layers": 1,
    "fusion_folds": 3,
    "torch_threads": 2,
    "early_stopping_patience": 1,
}


def _seed_rows(lang: str) -> list[dict]:
    return [json.loads(l) for l in (SEED / f"{lang}.jsonl").read_text(encoding="utf-8").splitlines() if l.strip()]


def _seed_dir(tmp: Path, langs: tuple[str, ...]) -> Path:
    d = tmp / "seed"
    d.mkdir()
    for lang in langs:
        shutil.copy(SEED / f"{lang}.jsonl", d / f"{lang}.jsonl")
    return d


def _corpus(tmp: Path, langs: tuple[str, ...]) -> Path:
    from trafficking_ads.corpus.build import build_corpus

    empty = tmp / "no-shared-data"
    empty.mkdir()
    build_corpus(tmp / "corpus", shared_data=empty, seed_dir=_seed_dir(tmp, langs), write_repo_card=False)
    return tmp / "corpus"


def test_new_labels_are_placed_group_aware(tmp_path: Path):
    from trafficking_ads.corpus.build import load_corpus, row_to_ad
    from trafficking_ads.labelling.retrain import add_labels

    dd = load_corpus(_corpus(tmp_path, ("en",)))
    test_ad = row_to_ad(dd["test"][0])
    train_ad = row_to_ad(dd["train"][0])
    near = Ad(
        text=test_ad.text + " Apply today.", title=test_ad.title, id="new-near", label=test_ad.label, source="label"
    )
    same = Ad(
        text=train_ad.text,
        title=train_ad.title,
        company_name=train_ad.company_name,
        company_profile=train_ad.company_profile,
        location=train_ad.location,
        salary=train_ad.salary,
        meta=train_ad.meta,
        id="new-same",
        label=1 - train_ad.label,
        source="label",
    )
    kk = [
        Ad(text=r["text"], title=r.get("title"), id=r["id"], label=r["label"], source="label", language="kk")
        for r in _seed_rows("kk")[:40]
    ]
    out, place = add_labels(dd, [near, same, *kk])
    assert place.split_of["new-near"] == "test" and place.group_of["new-near"] == dd["test"][0]["group"]
    assert place.replaced == 1 and place.relabelled == 1 and place.split_of["new-same"] == "train"
    assert out["train"][0]["label"] == 1 - train_ad.label
    assert sum(len(out[s]) for s in out) == sum(len(dd[s]) for s in dd) + 41
    groups = [g for s in out for g in out[s]["group"]]
    splits = [s for s in out for _ in range(len(out[s]))]
    assert check_group_disjoint(groups, splits) == []
    per = place.summary()["per_split"]
    assert per["train"] > per["test"] > 0 and per["dev"] > 0


@pytest.mark.slow
def test_score_export_import_retrain_evaluate_promote(tmp_path: Path):
    from trafficking_ads.model.train import TrainConfig, train
    from trafficking_ads.registry import PromotionError, model_entry, promote

    runner = CliRunner()
    corpus = _corpus(tmp_path, ("en", "ru"))
    models = tmp_path / "models"
    parent = models / "default"
    train(corpus / "dataset", parent, TrainConfig(name="tiny", version="1.0", **TINY), log=lambda m: None)

    # score a new batch (the Kazakh seed ads: a language the parent never saw) with the parent
    batch = tmp_path / "batch.jsonl"
    truth = {}
    with batch.open("w", encoding="utf-8") as fh:
        for r in _seed_rows("kk")[:36]:
            fh.write(json.dumps({"id": r["id"], "title": r.get("title"), "text": r["text"]}, ensure_ascii=False) + "\n")
            truth[r["id"]] = r["label"]
    scored = tmp_path / "scored.jsonl"
    res = runner.invoke(app, ["score", str(batch), "-o", str(scored), "--model", str(parent), "-q"])
    assert res.exit_code == 0, res.output
    tasks_path = tmp_path / "tasks.json"
    res = runner.invoke(
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
            "diverse",
            "--n",
            "28",
        ],
    )
    assert res.exit_code == 0, res.output
    tasks = json.loads(tasks_path.read_text())
    assert len(tasks) >= 20 and all(t["predictions"][0]["model_version"] == "tiny@1.0" for t in tasks)

    # annotate as Label Studio exports it: one annotator, the true verdict, the predicted spans kept
    exported = []
    for k, t in enumerate(tasks):
        verdict = "deceptive" if truth[t["data"]["ad_id"]] == 1 else "legitimate"
        result = [x for x in t["predictions"][0]["result"] if x["from_name"] != "verdict"]
        result.append(
            {
                "id": f"v{k}",
                "from_name": "verdict",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": [verdict]},
            }
        )
        exported.append(
            {
                **t,
                "annotations": [
                    {
                        "id": 500 + k,
                        "completed_by": 1,
                        "result": result,
                        "was_cancelled": False,
                        "created_at": "2026-11-28T20:00:00Z",
                        "updated_at": "2026-11-28T20:00:00Z",
                        "task": t["id"],
                    }
                ],
            }
        )
    export_file = tmp_path / "project-1-at-2026-11-28.json"
    export_file.write_text(json.dumps(exported, ensure_ascii=False))
    labels = tmp_path / "labels.jsonl"
    res = runner.invoke(app, ["label", "import", str(export_file), "-o", str(labels)])
    assert res.exit_code == 0, res.output

    # retrain from the parent with the labels (the `train --from/--add` path), more steps than the parent had
    child = models / "child"
    import yaml

    tiny_yaml = tmp_path / "tiny.yaml"
    tiny_yaml.write_text(yaml.safe_dump({**TINY, "max_train_examples": 32}))
    res = runner.invoke(
        app,
        [
            "train",
            "--data",
            str(corpus),
            "--from",
            str(parent),
            "--add",
            str(labels),
            "--out",
            str(child),
            "--config",
            str(tiny_yaml),
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    card = json.loads((child / "model.json").read_text())
    metrics = json.loads((child / "metrics.json").read_text())
    parent_metrics = json.loads((child / "parent_metrics.json").read_text())
    held = card["comparison"]["held_out"]
    assert metrics["data"]["fingerprint"] == parent_metrics["data"]["fingerprint"] == held["fingerprint"]
    assert card["parent"]["name"] == "tiny" and card["version"] == "1.0.r1"
    assert card["retrain"]["init"].startswith("continued from the parent's adapters")
    assert card["data"]["placement"]["added"] == len(tasks)
    child_pr = metrics["model"]["metrics"]["overall"]["pr_auc"]
    parent_pr = parent_metrics["model"]["metrics"]["overall"]["pr_auc"]
    assert card["comparison"]["this"]["pr_auc"] == child_pr and card["comparison"]["parent"]["pr_auc"] == parent_pr
    assert "| pr_auc |" in (child / "MODEL_CARD.md").read_text()
    print(f"held-out n={held['n']} PR-AUC parent {parent_pr:.4f} -> child {child_pr:.4f}")

    # the gate, on these measured numbers: the better model replaces the worse, never the reverse
    shutil.copy(child / "parent_metrics.json", parent / "metrics.json")
    worse, better = (parent, child) if child_pr > parent_pr else (child, parent)
    gate_root = tmp_path / "gate"
    shutil.copytree(worse, gate_root / "default")
    shutil.copytree(better, gate_root / "better")
    done = promote("better", gate_root, tolerance=0.0)
    assert done.decision.ok and not done.forced
    assert model_entry(gate_root / "default").version == model_entry(better).version
    if child_pr != parent_pr:
        with pytest.raises(PromotionError, match="dropped"):
            promote(done.archived_as, gate_root, tolerance=0.0)
        assert model_entry(gate_root / "default").version == model_entry(better).version
