"""Runtimes: what computes the transformer's logits, behind one small interface, chosen by name.

- "openvino" (`runtime_openvino`): the serving runtime, precision "fp32", static "int8" or
  "bf16" (native on AMX/AVX512-BF16 CPUs); built from numpy weights, no torch.
- "torch" (`runtime_torch`): the trained network in fp32; the reference, and what training uses.

Precision "auto" (the default) resolves per machine: int8 on OpenVINO where the CPU has
int8 hardware (AVX512-VNNI, AVX-VNNI or AMX), fp32 elsewhere (`machine.auto_precision`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..machine import auto_precision
from ..model_card import ModelCard
from ..errors import InvalidValueError

RUNTIMES = ("openvino", "torch")
DEFAULT_RUNTIME = "openvino"


@runtime_checkable
class Runtime(Protocol):
    """Computes the classifier's logits for encoded ads (token ids with <s> … </s>)."""

    name: str
    precision: str

    def logits(self, ids: list[list[int]]) -> np.ndarray:
        """One logit per ad, in input order; an ad's logit never depends on its batch-mates."""
        ...


def resolve(runtime: str | None, precision: str | None) -> tuple[str, str]:
    """(runtime, precision) with the defaults and "auto" resolved for this machine; a clear
    error for a name no runtime knows."""
    runtime = runtime or DEFAULT_RUNTIME
    if runtime == "auto":
        runtime = DEFAULT_RUNTIME
    if runtime not in RUNTIMES:
        raise InvalidValueError(f"unknown runtime {runtime!r} (one of: {', '.join(RUNTIMES)}, auto)")
    precision = precision or "auto"
    if precision == "auto":
        precision = auto_precision() if runtime == "openvino" else "fp32"
    return runtime, precision


def load_runtime(
    runtime: str | None,
    precision: str | None,
    model_dir: Path,
    card: ModelCard | None,
    base_dir: Path,
    pad_id: int,
    threads: int | None = None,
) -> Runtime:
    """The named runtime for a model directory at `precision` ("auto" resolved per machine);
    torch reads only the directory's adapters, so its `card` may be None."""
    runtime, precision = resolve(runtime, precision)
    if runtime == "openvino":
        from .runtime_openvino import OpenVinoRuntime

        return OpenVinoRuntime.load(model_dir, card, base_dir, pad_id, precision=precision, threads=threads)
    from .runtime_torch import TorchRuntime

    return TorchRuntime.load(model_dir, card, base_dir, pad_id, precision=precision, threads=threads)
