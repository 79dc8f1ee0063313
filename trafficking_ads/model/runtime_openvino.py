"""The OpenVINO runtime: the serving runtime, fp32 or static int8, no torch.

The graph is built from numpy weights (`openvino_graph`), so scoring imports neither torch
nor ONNX. int8 is NNCF's post-training quantization for transformers through its public API
(`nncf.quantize`, ModelType.TRANSFORMER: SmoothQuant, min-max activation ranges, fast bias
correction), calibrated on the training ads whose token ids the model directory stores
(`calibration_inputs.safetensors`), with the feed-forward outlier channels of
`calibration.json` split off into fp32 blocks that quantization ignores. Static ranges and
fixed batch shapes mean an ad's score never depends on its batch-mates.

A built graph is cached in the user cache, keyed by everything it is built from (adapter,
head, base, calibration files, OpenVINO and NNCF versions, build format), and written
atomically; the first run logs what it prepares and how long that takes (INFO, logger
"trafficking_ads"). On CPUs with AVX512-VNNI, AVX-VNNI or AMX int8 is 2-3x fp32; elsewhere
it is slower, so precision "auto" picks fp32 there (`machine.auto_precision`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from .. import atomic
from ..machine import thread_count
from ..model_card import ModelCard, load_card
from .calibration import (
    CALIBRATION_ADS,
    CALIBRATION_FILE,
    INPUTS_FILE,
    OUTLIER_THRESHOLD,
    outlier_channels,
)
from ..errors import InvalidValueError, OperationError

log = logging.getLogger("trafficking_ads")

#: bf16 runs the fp32 graph with bf16 arithmetic where the CPU has it natively (AMX-BF16,
#: AVX512-BF16); elsewhere OpenVINO computes in fp32 and the runtime says so.
PRECISIONS = ("fp32", "bf16", "int8")
#: Bumped when the graph or the quantization recipe changes, so stale cached graphs are not reused.
BUILD_FORMAT = 2
#: Rows per inference request and padded-length multiple (fixed shapes: batch-invariant logits).
GEOMETRY = (8, 16)
#: Rough first-run build times on a 2-core machine (seconds), for the "preparing" message.
BUILD_SECONDS = {"fp32": 10, "int8": 60}


@contextlib.contextmanager
def _quiet():
    """Keep NNCF's info lines and progress bars out of the user's terminal."""
    loggers = [logging.getLogger(n) for n in ("nncf", "openvino")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # NNCF's rich progress bars print to stdout
            yield
    finally:
        for lg, lv in zip(loggers, levels):
            lg.setLevel(lv)


def _installed(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def cache_key(model_dir: Path, card: ModelCard, precision: str) -> str:
    """sha256 over what the graph is built from: the adapter, its config and the head, the
    base's checksum, for int8 the calibration files and NNCF's version, and the versions
    of this build recipe and of OpenVINO."""
    int8 = precision == "int8"
    names = [
        card.file("adapter", "adapter.safetensors"),
        card.file("adapter_config", "adapter_config.json"),
        card.file("head", "head.safetensors"),
        *([CALIBRATION_FILE, INPUTS_FILE] if int8 else []),
    ]
    h = hashlib.sha256()
    for name in names:
        p = model_dir / name
        h.update(name.encode() + b"\0" + (p.read_bytes() if p.is_file() else b"(missing)"))
    facts = [
        card.base_sha256,
        precision,
        BUILD_FORMAT,
        _installed("openvino"),
        _installed("nncf") if int8 else None,
        OUTLIER_THRESHOLD if int8 else None,
    ]
    h.update(json.dumps(facts).encode())
    return h.hexdigest()


def calibration_dataset(ids: Sequence[Sequence[int]]):
    """The calibration ads as an NNCF dataset: one request per ad, unpadded."""
    import nncf

    def one(row):
        return {"input_ids": np.array([row], dtype=np.int64), "attention_mask": np.ones((1, len(row)), dtype=np.int64)}

    return nncf.Dataset([list(r) for r in ids[:CALIBRATION_ADS]], one)


def quantize(model, ids: Sequence[Sequence[int]]):
    """Static int8 of an OpenVINO graph with NNCF's public API, calibrated on `ids`; the
    fp32 halves of split feed-forward blocks are left out."""
    import nncf

    from .openvino_graph import hot_matmuls

    with _quiet():
        return nncf.quantize(
            model,
            calibration_dataset(ids),
            model_type=nncf.ModelType.TRANSFORMER,
            subset_size=min(len(ids), CALIBRATION_ADS),
            ignored_scope=nncf.IgnoredScope(names=hot_matmuls(model), validate=False),
        )


def build_model(model_dir: Path, card: ModelCard, base_dir: Path, precision: str):
    """The classifier's OpenVINO model at `precision` (not compiled, not saved)."""
    from .calibration import read_calibration, read_inputs
    from .openvino_graph import build_graph, classifier_weights

    weights, config = classifier_weights(model_dir, card, base_dir)
    if precision != "int8":
        return build_graph(weights, config)
    split = outlier_channels(read_calibration(model_dir))
    ids = read_inputs(model_dir)
    return quantize(build_graph(weights, config, split), ids)


def build(model_dir: Path, card: ModelCard, base_dir: Path, precision: str, out: Path) -> dict[str, Any]:
    """Build the graph and write `out`/model.xml (+ .bin, build.json) atomically."""
    import openvino as ov

    t0 = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as tmpd:
        stage = Path(tmpd) / "stage"
        stage.mkdir()
        model = build_model(model_dir, card, base_dir, precision)
        ov.save_model(model, str(stage / "model.xml"), compress_to_fp16=False)
        facts = {
            "precision": precision,
            "format": BUILD_FORMAT,
            "openvino": ov.__version__,
            "nncf": _installed("nncf") if precision == "int8" else None,
            "build_seconds": round(time.perf_counter() - t0, 1),
        }
        (stage / "build.json").write_text(json.dumps(facts, indent=1) + "\n", encoding="utf-8")
        if not (out / "model.xml").is_file():  # another process may have finished first: keep theirs
            atomic.replace_dir(stage, out)
    return facts


def build_isolated(model_dir: Path, base_dir: Path, precision: str, out: Path) -> dict[str, Any]:
    """`build` in a child Python process. NNCF imports torch whenever torch is installed
    (~1 GB, seconds), and scoring must not: the int8 build runs apart, and its memory is
    returned when it ends. The card is read from the model directory's model.json."""
    import subprocess
    import sys

    package_parent = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p))
    env.setdefault("OPENBLAS_NUM_THREADS", "1")  # NNCF's numpy work is small; OpenBLAS's pool once hung here
    cmd = [sys.executable, "-m", __name__, str(model_dir), str(base_dir), precision, str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)  # Ctrl-C: run() kills the child
    if proc.returncode != 0 or not (out / "build.json").is_file():
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise OperationError(
            f"building the OpenVINO {precision} graph of {model_dir} failed (exit {proc.returncode}):\n{tail}"
        )
    return json.loads((out / "build.json").read_text(encoding="utf-8"))


def cached_graph(model_dir: Path, card: ModelCard, base_dir: Path, precision: str, cache: Path | None = None) -> Path:
    """The cached graph's model.xml, built first if missing (logging what it prepares)."""
    from .base import cache_root

    key = cache_key(model_dir, card, precision)
    out = (cache or cache_root() / "openvino") / f"{card.name}-{precision}-{key[:16]}"
    if not (out / "model.xml").is_file():
        if precision == "int8":  # what int8 is built from: a clear error here, before any work
            from .calibration import read_calibration, read_inputs

            read_calibration(model_dir)
            read_inputs(model_dir)
        log.info(
            "preparing the %s model's OpenVINO %s graph (first run, about %d s; cached in %s)",
            card.name,
            precision,
            BUILD_SECONDS[precision],
            out.parent,
        )
        if precision == "int8":
            facts = build_isolated(model_dir, base_dir, precision, out)
        else:
            facts = build(model_dir, card, base_dir, precision, out)
        log.info("prepared the OpenVINO %s graph in %.0f s", precision, facts["build_seconds"])
    return out / "model.xml"


class OpenVinoRuntime:
    """A compiled OpenVINO graph of the classifier (runtime "openvino")."""

    name = "openvino"
    precisions = PRECISIONS

    def __init__(self, path: Path, precision: str, pad_id: int, threads: int | None = None) -> None:
        import openvino as ov

        self.path = path
        self.precision = precision
        self.pad_id = pad_id
        self.rows, self.bucket = GEOMETRY
        self.streams = thread_count(threads)
        # One single-threaded stream per core, fed by an async queue: small batches keep every
        # core busy without the per-batch synchronisation of one multi-threaded request, and
        # each batch runs the same single-threaded kernels, so results do not depend on which
        # stream ran it. The f32 hint keeps fp32 and what int8 leaves unquantized in fp32
        # (OpenVINO would pick bf16 on AMX CPUs by itself).
        self.compiled = ov.Core().compile_model(
            str(path),
            "CPU",
            {
                "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
                "NUM_STREAMS": self.streams,
                "INFERENCE_NUM_THREADS": self.streams,
            },
        )
        if precision == "bf16" and self.compiled.get_property("INFERENCE_PRECISION_HINT") != ov.Type.bf16:
            self.precision = "fp32"  # no native bf16 here: report what actually runs
        self._lock = threading.Lock()
        self.queue = self._new_queue()

    def _new_queue(self):
        import openvino as ov

        queue = ov.AsyncInferQueue(self.compiled, self.streams)
        queue.set_callback(_store_logits)
        return queue

    @classmethod
    def load(
        cls,
        model_dir: Path,
        card: ModelCard,
        base_dir: Path,
        pad_id: int,
        precision: str = "int8",
        threads: int | None = None,
        cache: Path | None = None,
    ) -> OpenVinoRuntime:
        """The cached graph of this model at `precision`, built first if missing."""
        if precision not in PRECISIONS:
            raise InvalidValueError(
                f"precision {precision!r} does not run on openvino (one of: {', '.join(PRECISIONS)})"
            )
        path = cached_graph(Path(model_dir), card, base_dir, "int8" if precision == "int8" else "fp32", cache)
        return cls(path, precision, pad_id, threads)

    def logits(self, ids: list[list[int]]) -> np.ndarray:
        """Logits in input order; runs of `self.rows` ads padded to a multiple of `self.bucket`."""
        from .encoding import fixed_shape_feeds

        out = np.zeros(len(ids))
        errors: list[BaseException] = []
        with self._lock:  # one queue: concurrent callers take turns
            try:
                for idx, feed in fixed_shape_feeds(ids, self.rows, self.bucket, self.pad_id):
                    self.queue.start_async(feed, (out, idx, errors))
                self.queue.wait_all()
            except BaseException:
                self.queue = self._new_queue()  # OpenVINO keeps a failed request's error in the queue for good
                raise
        if errors:
            raise errors[0]
        return out


def _store_logits(request, job) -> None:
    """AsyncInferQueue callback: copy a finished batch's logits into place (errors are kept
    for `logits` to raise, not lost in OpenVINO's thread)."""
    out, idx, errors = job
    try:
        out[idx] = request.get_output_tensor(0).data.reshape(-1)[: len(idx)]
    except BaseException as e:  # noqa: BLE001 - re-raised by the caller
        errors.append(e)


def cache_dirs(cache: Path | None = None) -> list[Path]:
    """The cached graphs (for `doctor`)."""
    from .base import cache_root

    root = cache or cache_root() / "openvino"
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def main(argv: list[str] | None = None) -> int:
    """`python -m trafficking_ads.model.runtime_openvino MODEL_DIR BASE_DIR PRECISION OUT`: build one graph."""
    import sys

    model_dir, base_dir, precision, out = argv if argv is not None else sys.argv[1:]
    card = load_card(model_dir)
    build(Path(model_dir), card, Path(base_dir), precision, Path(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
