"""A tiny real fine-tuning run: loss goes down, artifacts are safetensors/JSON and reload exactly."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "data" / "seed"


def _seed_rows() -> list[dict]:
    rows = []
    for lang in ("ru", "kk", "en"):
        p = SEED / f"{lang}.jsonl"
        if p.is_file():
            for line in p.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    d = json.loads(line)
                    rows.append(
                        {
                            "id": d["id"],
                            "text": d["text"],
                            "title": d.get("title"),
                            "label": d["label"],
                            "lang": d["lang"],
                            "source": "seed",
                            "group": d.get("template", ""),
                            "meta": "{}",
                        }
                    )
    return rows


@pytest.fixture(scope="module")
def tiny_corpus():
    from datasets import Dataset, DatasetDict

    rows = _seed_rows()
    rng = random.Random(0)
    rng.shuffle(rows)
    pos = [r for r in rows if r["label"] == 1]
    neg = [r for r in rows if r["label"] == 0]
    if len(pos) < 24 or len(neg) < 24:
        pytest.fail(f"data/seed too small for the tiny run ({len(pos)} positive, {len(neg)} negative)")
    return DatasetDict(
        {"train": Dataset.from_list(pos[:16] + neg[:16]), "dev": Dataset.from_list(pos[16:24] + neg[16:24])}
    )


@pytest.fixture(scope="module")
def trained(tiny_corpus, tmp_path_factory):
    from trafficking_ads.model.train import TrainConfig, train

    cfg = TrainConfig(
        max_len=64,
        epochs=3,
        batch_size=8,
        eval_batch_size=16,
        lora_layers=2,
        learning_rate=3e-3,
        warmup_ratio=0.0,
        fusion_folds=2,
        torch_threads=1,
        head_dropout=0.0,
        lora_dropout=0.0,
        linear_probe_init=False,
        lexical_word_features=500,
        lexical_char_features=500,
    )
    out = tmp_path_factory.mktemp("tiny") / "model"
    return cfg, train(tiny_corpus, out, cfg, log=lambda m: None)


def _loss(model, tok, rows, cfg):
    import torch

    from trafficking_ads.model.encoding import ad_input_text, encode_texts, pad_batch

    ids, mask = pad_batch(
        encode_texts(tok, [ad_input_text(r["text"], r["title"]) for r in rows], cfg.max_len), tok.pad_token_id
    )
    y = torch.tensor([float(r["label"]) for r in rows])
    model.eval()
    with torch.inference_mode():
        logits = model(input_ids=ids, attention_mask=mask)["logits"]
        return float(torch.nn.functional.binary_cross_entropy_with_logits(logits, y)), logits.numpy()


@pytest.mark.slow
def test_training_lowers_loss_and_reloads_to_the_same_predictions(trained, tiny_corpus):
    from transformers import AutoTokenizer

    from trafficking_ads.model.base import base_model_dir
    from trafficking_ads.model.network import build_classifier, load_trained, lora_config
    from trafficking_ads.model.train import set_seed

    cfg, result = trained
    base = base_model_dir()
    tok = AutoTokenizer.from_pretrained(str(base))
    train_rows = list(tiny_corpus["train"])

    set_seed(cfg.seed)  # the same initial weights train() started from
    untrained = build_classifier(base, lora_config(cfg.lora_r, cfg.lora_alpha, 0.0, cfg.target_modules, [10, 11]))
    before, _ = _loss(untrained, tok, train_rows, cfg)
    reloaded = load_trained(result.model_dir, base, merge=False)
    after, _ = _loss(reloaded, tok, train_rows, cfg)
    assert after < before - 0.05, (before, after)

    # saved artifacts reproduce the dev logits the fusion was fitted on (merged and unmerged)
    dev_rows = list(tiny_corpus["dev"])
    _, unmerged = _loss(reloaded, tok, dev_rows, cfg)
    _, merged = _loss(load_trained(result.model_dir, base, merge=True), tok, dev_rows, cfg)
    np.testing.assert_allclose(unmerged, result.dev_logits, atol=1e-3)
    np.testing.assert_allclose(merged, result.dev_logits, atol=1e-3)


@pytest.mark.slow
def test_model_dir_is_small_json_and_safetensors_only(trained):
    from trafficking_ads.model.fusion import FusionModel
    from trafficking_ads.scoring import load_scorer

    cfg, result = trained
    d = result.model_dir
    names = sorted(p.name for p in d.iterdir())
    assert names == [
        "adapter.safetensors",
        "adapter_config.json",
        "calibration.json",
        "calibration_inputs.safetensors",
        "fusion.json",
        "head.safetensors",
        "lexical.json",
        "model.json",
        "training.json",
    ]
    cal = json.loads((d / "calibration.json").read_text())  # for int8 inference: 12 layers x 1,536 channel maxima
    assert len(cal["ffn_out_absmax"]) == 12 and {len(c) for c in cal["ffn_out_absmax"]} == {1536} and cal["n_ads"] > 0
    from trafficking_ads.model.calibration import CALIBRATION_ADS, read_inputs

    calibration_ads = read_inputs(d)  # OpenVINO int8 is calibrated on these training ads' token ids
    assert 0 < len(calibration_ads) <= min(CALIBRATION_ADS, cal["n_ads"]) and all(len(r) <= 64 for r in calibration_ads)
    assert sum(p.stat().st_size for p in d.iterdir()) < 8_000_000
    card = json.loads((d / "model.json").read_text())
    assert card["kind"] == "transformer" and card["max_len"] == 64
    assert 0 <= card["thresholds"]["medium"] <= card["thresholds"]["high"] <= 1
    assert card["features"] == FusionModel.load(d / "fusion.json").features
    assert len(card["base_sha256"]) == 64

    scorer = load_scorer(d, runtime="torch")  # the reference runtime: no graph build into the user's cache
    ads = ["Работа в Дубае для девушек 18-25, билеты за наш счёт, пишите в WhatsApp", "x " * 400, "Бухгалтер в ТОО"]
    many = list(scorer.score_many(ads))
    assert [a.ad_id for a in many] == [scorer.score(t).ad_id for t in ads]
    for a, b in zip(many, (scorer.score(t) for t in ads)):
        assert a.risk == b.risk  # batch-invariant: an ad scores the same alone or in company
        scores = {k for k in a.components if not k.startswith("contrib_")}
        assert scores == {"transformer_prob", "lexical_prob", "indicator_score", "fused"}
        parts = {k: v for k, v in a.components.items() if k.startswith("contrib_")}
        assert {"contrib_transformer", "contrib_lexical", "contrib_baseline"} <= set(parts)
        assert {f"contrib_ind_{h.id}" for h in a.indicators} <= set(parts)  # every indicator's share is shown
        assert abs(sum(parts.values()) - a.components["fused"]) < 1e-4  # the parts add up to the fused log-odds
        assert a.band in ("low", "medium", "high")
    assert any(h.id == "travel_abroad_offer" for h in many[0].indicators)


@pytest.mark.slow
def test_served_scores_equal_the_fitted_fusion(trained, tiny_corpus):
    """What is served is what was trained: the public `score_many` (torch fp32, the reference
    runtime) reproduces the fused risk the fusion was fitted to give every dev ad."""
    from trafficking_ads.corpus.build import row_to_ad
    from trafficking_ads.scoring import load_scorer

    _, result = trained
    scorer = load_scorer(result.model_dir, runtime="torch", precision="fp32")
    ads = [row_to_ad(r) for r in tiny_corpus["dev"]]
    served = np.array([a.risk for a in scorer.score_many(ads)])
    assert result.dev_risk is not None and len(result.dev_risk) == len(ads)
    np.testing.assert_allclose(served, result.dev_risk, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_training_can_continue_from_a_saved_model(trained, tiny_corpus, tmp_path):
    """The retraining hook: a new run starts from a saved model's adapters and head."""
    from trafficking_ads.model.train import TrainConfig, train

    import shutil

    cfg, parent = trained
    parent_dir = tmp_path / "parent"  # a parent that asks for openvino int8: the child scores the same way
    shutil.copytree(parent.model_dir, parent_dir)
    card = json.loads((parent_dir / "model.json").read_text())
    (parent_dir / "model.json").write_text(json.dumps({**card, "runtime": "openvino", "precision": "int8"}))
    child_cfg = TrainConfig.from_dict(
        {**cfg.to_dict(), "epochs": 1.0, "learning_rate": 1e-9, "lexical_word_features": 0}
    )
    child = train(tiny_corpus, tmp_path / "child", child_cfg, log=lambda m: None, init_from=parent_dir)
    # with a vanishing learning rate the child predicts what the parent predicted
    np.testing.assert_allclose(child.dev_logits, parent.dev_logits, atol=1e-3)
    child_card = json.loads((tmp_path / "child" / "model.json").read_text())
    assert (child_card["runtime"], child_card["precision"]) == ("openvino", "int8")
    with pytest.raises(ValueError, match="use the parent's config"):
        train(
            tiny_corpus,
            tmp_path / "bad",
            TrainConfig.from_dict({**child_cfg.to_dict(), "lora_r": 4}),
            log=lambda m: None,
            init_from=parent.model_dir,
        )


@pytest.mark.slow
def test_refit_changes_only_the_fusion_and_keeps_parity(trained, tiny_corpus, tmp_path):
    """`train --refit`: new fusion settings on the same adapters, and still served == fitted."""
    import shutil

    from trafficking_ads.corpus.build import row_to_ad
    from trafficking_ads.model.fusion import FusionModel
    from trafficking_ads.model.train import TrainConfig, refit_fusion
    from trafficking_ads.scoring import load_scorer

    cfg, result = trained
    d = tmp_path / "m"
    shutil.copytree(result.model_dir, d)
    fit = refit_fusion(
        d,
        tiny_corpus,
        config=TrainConfig.from_dict({**cfg.to_dict(), "fusion_features": "compact"}),
        log=lambda m: None,
    )
    card = json.loads((d / "model.json").read_text())
    assert card["features"] == FusionModel.load(d / "fusion.json").features and "lang_ru_kk" not in card["features"]
    assert json.loads((d / "training.json").read_text())["config"]["fusion_features"] == "compact"
    assert (d / "adapter.safetensors").read_bytes() == (result.model_dir / "adapter.safetensors").read_bytes()
    ads = [row_to_ad(r) for r in tiny_corpus["dev"]]
    served = [a.risk for a in load_scorer(d, runtime="torch", precision="fp32").score_many(ads)]
    np.testing.assert_allclose(served, fit.risk, rtol=0, atol=1e-6)
