"""Fusion + calibration: fitted on dev rows, stored as JSON, predicted without sklearn."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trafficking_ads.model.fusion import (
    Calibration,
    FusionModel,
    choose_thresholds,
    fit_fusion,
    logit,
    meta_features,
    sigmoid,
)
from trafficking_ads.model.train import TrainConfig
from trafficking_ads.records import Ad


def _rows(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    p = np.clip(0.25 + 0.5 * y + rng.normal(0, 0.2, n), 0.01, 0.99)
    ind = (rng.random(n) < np.where(y == 1, 0.7, 0.1)).astype(float)
    rows = [
        {"transformer_logit": float(logit(pi)), "ind_travel_abroad_offer": fi, "meta_no_company_logo": 0.0}
        for pi, fi in zip(p, ind)
    ]
    return rows, y


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_fit_roundtrip_and_calibration(tmp_path, method):
    rows, y = _rows()
    names = ["transformer_logit", "ind_travel_abroad_offer", "meta_no_company_logo"]
    model, oof = fit_fusion(rows, y, names, calibration=method)
    assert oof.shape == (len(y),) and 0 <= oof.min() and oof.max() <= 1
    # both signals carry information: positive coefficients
    assert model.coef[0] > 0 and model.coef[1] > 0
    model.save(tmp_path / "fusion.json")
    again = FusionModel.load(tmp_path / "fusion.json")
    np.testing.assert_allclose(again.predict(rows), model.predict(rows))
    # calibrated: mean predicted risk close to the base rate, deceptive ads ranked higher
    risk = model.predict(rows)
    assert abs(risk.mean() - y.mean()) < 0.05
    assert risk[y == 1].mean() > risk[y == 0].mean() + 0.3
    json.loads((tmp_path / "fusion.json").read_text())  # plain JSON


def test_thresholds_meet_their_targets():
    rows, y = _rows(seed=1)
    model, oof = fit_fusion(rows, y, ["transformer_logit", "ind_travel_abroad_offer"])
    th = choose_thresholds(y, oof, high_precision=0.9, medium_recall=0.9)
    assert th["medium"] <= th["high"]
    rec = ((oof >= th["medium"]) & (y == 1)).sum() / y.sum()
    flagged = oof >= th["high"]
    prec = (flagged & (y == 1)).sum() / flagged.sum()
    assert rec >= 0.9 and prec >= 0.9


def test_meta_features_only_where_the_source_has_the_field():
    assert meta_features(Ad(text="x")) == {"meta_no_company_logo": 0.0, "meta_no_company_profile": 0.0}
    emscad = Ad(text="x", meta={"has_company_logo": 0}, company_profile=None)
    assert meta_features(emscad) == {"meta_no_company_logo": 1.0, "meta_no_company_profile": 1.0}
    ok = Ad(text="x", meta={"has_company_logo": 1}, company_profile="We are a bank.")
    assert meta_features(ok) == {"meta_no_company_logo": 0.0, "meta_no_company_profile": 0.0}


def test_calibration_and_sigmoid():
    assert sigmoid(np.array([0.0]))[0] == pytest.approx(0.5)
    assert sigmoid(np.array([-800.0]))[0] == pytest.approx(0.0) and sigmoid(np.array([800.0]))[0] == pytest.approx(1.0)
    iso = Calibration("isotonic", x=[0.0, 1.0], y=[0.2, 0.8])
    assert iso(np.array([0.5]))[0] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        Calibration("magic")(np.array([0.0]))


def test_fusion_rejects_mismatched_json():
    with pytest.raises(ValueError):
        FusionModel.from_dict(
            {
                "features": ["a", "b"],
                "mean": [0],
                "scale": [1, 1],
                "coef": [1, 1],
                "intercept": 0,
                "calibration": {"method": "platt"},
            }
        )


def test_train_config_roundtrip_and_typos(tmp_path):
    cfg = TrainConfig(max_len=64, negative_ratio_by_lang={"en": 2.0})
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="lora_rank"):
        TrainConfig.from_dict({"lora_rank": 8})
    p = tmp_path / "c.yaml"
    p.write_text("max_len: 96\nlora_layers: null\n")
    assert TrainConfig.from_yaml(p).max_len == 96 and TrainConfig.from_yaml(p).lora_layers is None


def test_shipped_configs_parse():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "training"
    for name in ("default.yaml", "gpu.yaml"):
        TrainConfig.from_yaml(root / name)


def test_a_row_missing_a_fitted_feature_is_refused():
    """Scoring must build every feature the fusion was fitted on (as sklearn checks feature_names_in_):
    a silently zero-filled feature served a model that was never trained."""
    rows, y = _rows(seed=2)
    model, _ = fit_fusion(rows, y, ["transformer_logit", "ind_travel_abroad_offer"])
    with pytest.raises(ValueError, match="lacks feature.*ind_travel_abroad_offer"):
        model.predict([{"transformer_logit": 0.3}])
    with pytest.raises(ValueError, match="lacks feature"):
        fit_fusion(
            [{"transformer_logit": 0.1}] * 4 + rows[:4],
            [0, 1, 0, 1] * 2,
            ["transformer_logit", "ind_travel_abroad_offer"],
        )


def test_slopes_add_up_to_the_decision():
    rows, y = _rows(seed=3)
    model, _ = fit_fusion(rows, y, ["transformer_logit", "ind_travel_abroad_offer", "meta_no_company_logo"])
    for row in rows[:20]:
        parts = {f: model.slope(f) * (row[f] - mean) for f, mean in zip(model.features, model.mean)}
        assert abs(sum(parts.values()) + model.intercept - model.decision(model.matrix([row]))[0]) < 1e-9
        assert parts["transformer_logit"] == pytest.approx(
            model.coef[0] / model.scale[0] * (row["transformer_logit"] - model.mean[0])
        )
