"""The torch runtime: the trained network itself in fp32, the reference the serving runtime
is checked against and what training computes its dev logits with.

torch, transformers and peft are imported when this runtime is loaded, never by scoring with
the OpenVINO runtime (they belong to the `[train]` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..machine import thread_count
from ..model_card import ModelCard
from ..errors import InvalidValueError

if TYPE_CHECKING:
    from .network import E5Classifier

#: Inference batches have this fixed shape (rows) and ads are padded to a multiple of
#: LENGTH_BUCKET tokens: an ad's logit then depends only on the ad, never on which ads
#: share its batch (float32 matrix kernels round differently for other batch shapes), so a
#: resumed or re-chunked run reproduces a fresh run byte for byte.
INFER_ROWS = 8
LENGTH_BUCKET = 16


def configure_threads(n: int | None = None) -> int:
    """Set torch's threads to `machine.thread_count(n)` and its inter-op threads to one
    (the network is a single chain of ops)."""
    import torch

    n = thread_count(n)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only settable before the first parallel op; later calls are harmless to skip
        pass
    return n


def batched_logits(model: E5Classifier, ids: list[list[int]], pad_id: int, batch_size: int = 32) -> np.ndarray:
    """Logits for pre-tokenized inputs, in input order, batch-invariant.

    Ads are grouped by padded length (a multiple of LENGTH_BUCKET), run under
    `torch.inference_mode` in batches of INFER_ROWS rows (a short last batch is filled with
    copies of its first ad), so each ad is computed with the same shapes whatever else is
    scored with it. `batch_size` is accepted for callers' convenience; INFER_ROWS rules."""
    import torch

    from .encoding import fixed_shape_batches, pad_batch

    logits = np.zeros(len(ids))
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for idx, rows, width in fixed_shape_batches(ids, INFER_ROWS, LENGTH_BUCKET):
            input_ids, mask = pad_batch(rows, pad_id, width=width)
            out = model(input_ids=input_ids, attention_mask=mask)["logits"].float().numpy()
            logits[idx] = out[: len(idx)]
    model.train(was_training)
    return logits


class TorchRuntime:
    """The merged torch classifier in fp32 (runtime "torch")."""

    name = "torch"
    precisions = ("fp32",)

    def __init__(self, model: E5Classifier, pad_id: int, threads: int | None = None) -> None:
        configure_threads(threads)
        self.model = model.eval()
        self.pad_id = pad_id
        self.precision = "fp32"

    @classmethod
    def load(
        cls,
        model_dir: Path,
        card: ModelCard | None,
        base_dir: Path,
        pad_id: int,
        precision: str = "fp32",
        threads: int | None = None,
    ) -> TorchRuntime:
        """The model directory's adapters merged into the base, in fp32."""
        from .network import load_trained

        if precision not in cls.precisions:
            raise InvalidValueError(
                f"precision {precision!r} does not run on torch (one of: {', '.join(cls.precisions)})"
            )
        return cls(load_trained(Path(model_dir), base_dir, merge=True), pad_id, threads)

    def logits(self, ids: list[list[int]]) -> np.ndarray:
        """Logits in input order (see `batched_logits`)."""
        return batched_logits(self.model, ids, self.pad_id)
