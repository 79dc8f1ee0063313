"""OpenVINO inference for the transformer: static int8 on the CPU's int8 matrix units.

Why: dynamic int8 (ONNX Runtime, torch) quantizes activations on every call and multiplies
with VNNI kernels that are only 1.6-2x fp32 here. OpenVINO runs a *statically* quantized
graph (fixed activation ranges, found once on training ads) with AMX-INT8 / VNNI kernels
and fuses the rest of each layer around them; on the 2-core benchmark machine that is
about 3x PyTorch fp32 (figures: training/results/throughput.md). fp32 and bf16 (AMX-BF16
where the CPU has it) run from the same graph without quantization.

int8 is NNCF's post-training quantization for transformers (SmoothQuant, min-max ranges,
fast bias correction), with the feed-forward outlier channels of `calibration.json` split
off into fp32 blocks first (`network.split_feed_forward`, exact in fp32), as in the ONNX
Runtime path. Static ranges also mean an ad's score does not depend on its batch-mates.

The statistics NNCF collects on the training ads are stored in the model directory
(`openvino_int8.json` + `.safetensors`, ~3 MB), written by training or by
`calibrate_statistics`; building the int8 graph on a user's machine replays them
(bit-identical to collecting them afresh) and needs no training data. The built graph
is cached beside the converted base, keyed by everything it is built from, and written
atomically; a cached load never builds the PyTorch model.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import atomic
from .onnxrt import OUTLIER_THRESHOLD, outlier_channels

OV_PRECISIONS = ("fp32", "bf16", "int8")
STATS_JSON = "openvino_int8.json"
STATS_TENSORS = "openvino_int8.safetensors"
#: Bumped when the build recipe or the statistics format changes.
BUILD_FORMAT = 1
#: Rows per inference request and padded-length multiple (fixed shapes, as in the other runtimes).
GEOMETRY = (8, 16)
#: The fp32 halves of the split feed-forward blocks: NNCF's min-max quantization ignores them
#: (its SmoothQuant step still rescales them with their layer; the dev gate measures the whole).
_HOT_MATMULS = r".*hot_(in|out)/MatMul$"
#: Calibration ads NNCF's statistics are collected on (its default subset size).
SUBSET = 300
_HINT = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}
_RECALIBRATE = "recalibrate with `trafficking-ads models calibrate MODEL --data CORPUS`"


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


def _graph(classifier, calibration: dict[str, Any] | None, tmp: Path):
    """The merged classifier (feed-forward split for int8) as an OpenVINO model."""
    import openvino as ov

    from .network import split_feed_forward
    from .onnxrt import export_fp32

    if calibration is not None:
        split_feed_forward(classifier, outlier_channels(calibration))
    export_fp32(classifier, tmp / "exported.onnx")
    return ov.Core().read_model(str(tmp / "exported.onnx"))


# --- NNCF statistics: collected once on training ads, replayed on each machine ------------------

def _ptq_pipeline():
    import nncf
    from nncf.quantization.algorithms.post_training.algorithm import PostTrainingQuantization

    algo = PostTrainingQuantization(model_type=nncf.ModelType.TRANSFORMER, subset_size=SUBSET,
                                    ignored_scope=nncf.IgnoredScope(patterns=[_HOT_MATMULS], validate=False))
    return algo._pipeline  # noqa: SLF001 - NNCF's step API is how statistics can be stored and replayed


def _point_name(algorithm: str, point, collector) -> str:
    """Where a statistic belongs: algorithm, target node and port, and the statistic's kind."""
    tp = point.target_point
    kind = getattr(collector, "_stat_container", None)
    return (f"{algorithm.rsplit('_', 1)[0]}:{tp.type}:{tp.target_node_name}:{getattr(tp, 'port_id', None)}:"
            f"{kind.__name__ if kind else 'dict'}")


def _quantize(model, stats: dict[str, Any] | None, dataset=None):
    """Run NNCF's post-training pipeline step by step. With `dataset`, statistics are collected
    and returned (model, stats); otherwise each step's statistics come from `stats`."""
    from nncf.common.factory import StatisticsAggregatorFactory
    from nncf.common.tensor_statistics.statistics import TensorStatistic
    from nncf.openvino.graph.nncf_graph_builder import GraphConverter
    from nncf.openvino.quantization.quantize_model import compress_quantize_weights_transformation
    from nncf.tensor import Tensor

    pipeline = _ptq_pipeline()
    collected: dict[str, Any] = {"meta": [], "arrays": {}}
    for step in range(len(pipeline.pipeline_steps)):
        graph = GraphConverter.create_nncf_graph(model)
        points = pipeline.get_statistic_points_for_step(step, model, graph)
        if dataset is not None:
            aggregator = StatisticsAggregatorFactory.create(model, dataset)
            aggregator.register_statistic_points(points)
            aggregator.collect_statistics(model, graph)
            points = aggregator.statistic_points
            meta = []
            for i, (alg, point, collector) in enumerate(points.get_tensor_collectors()):
                s = collector.get_statistics()
                data = s.get_data(is_serialized=True) if isinstance(s, TensorStatistic) else s
                values = {}
                for k, v in data.items():
                    if isinstance(v, Tensor):
                        collected["arrays"][f"{step}/{i}/{k}"] = np.ascontiguousarray(np.asarray(v.data))
                        values[str(k)] = "tensor"
                    else:
                        values[str(k)] = [int(x) for x in v]
                meta.append({"point": _point_name(alg, point, collector), "container": isinstance(s, TensorStatistic),
                             "values": values})
            collected["meta"].append(meta)
        else:
            meta = stats["meta"][step] if step < len(stats["meta"]) else []
            collectors = list(points.get_tensor_collectors())
            if len(collectors) != len(meta):
                raise ValueError(f"{STATS_JSON}: step {step} holds {len(meta)} statistics, this graph needs "
                                 f"{len(collectors)}; {_RECALIBRATE}")
            for i, ((alg, point, collector), m) in enumerate(zip(collectors, meta)):
                if m["point"] != _point_name(alg, point, collector):
                    raise ValueError(f"{STATS_JSON}: statistic {m['point']} where this graph needs "
                                     f"{_point_name(alg, point, collector)}; {_RECALIBRATE}")
                try:
                    data = {k: Tensor(stats["arrays"][f"{step}/{i}/{k}"]) if v == "tensor" else tuple(v)
                            for k, v in m["values"].items()}
                except KeyError as e:
                    raise ValueError(f"{STATS_TENSORS}: no tensor {e} for {m['point']}; {_RECALIBRATE}") from None
                if m["container"]:
                    kind = collector._stat_container  # noqa: SLF001
                    container = kind.__new__(kind)
                    container.load_data(data)
                    collector.set_cache(container)
                else:
                    collector.set_cache(data)
        model = pipeline.run_step(step, points, model, graph)
    compress_quantize_weights_transformation(model)
    return model, collected


def calibration_dataset(ids: Sequence[Sequence[int]]):
    """The first `SUBSET` encoded ads as an NNCF dataset: one request each, unpadded."""
    import nncf

    def one(row):
        return {"input_ids": np.array([row], dtype=np.int64), "attention_mask": np.ones((1, len(row)), dtype=np.int64)}

    return nncf.Dataset(list(ids[:SUBSET]), one)


def collect_statistics(classifier, calibration: dict[str, Any], ids: Sequence[Sequence[int]]) -> dict[str, Any]:
    """NNCF's statistics for the int8 graph of `classifier` (torch, merged; it is split in
    place), over the first `SUBSET` of `ids` (encoded training ads)."""
    with tempfile.TemporaryDirectory(prefix="ov-stats-") as tmpd, _quiet():
        model = _graph(classifier, calibration, Path(tmpd))
        _, stats = _quantize(model, None, calibration_dataset(ids))
    stats["n_ads"] = min(len(ids), SUBSET)
    stats["outliers"] = outlier_channels(calibration)
    return stats


def write_statistics(model_dir: str | os.PathLike, stats: dict[str, Any]) -> Path:
    """Store statistics as safetensors (their tensors), then JSON (their layout, the tensors'
    sha256 and the outlier split they were collected for): each file is written atomically
    and the JSON, written last, names the exact tensors file it belongs to."""
    import hashlib
    from importlib.metadata import version

    from safetensors.numpy import save

    path = Path(model_dir)
    tensors = save(stats["arrays"])
    atomic.write_bytes(path / STATS_TENSORS, tensors)
    meta = {"what": "NNCF post-training quantization statistics for the OpenVINO int8 graph (see trafficking_ads/model/ovrt.py)",
            "format": BUILD_FORMAT, "nncf": version("nncf"), "n_ads": stats["n_ads"], "outliers": stats["outliers"],
            "tensors_sha256": hashlib.sha256(tensors).hexdigest(), "steps": stats["meta"]}
    atomic.write_json(path / STATS_JSON, meta, indent=None)
    return path / STATS_JSON


def read_statistics(model_dir: Path, calibration: dict[str, Any]) -> dict[str, Any]:
    """The stored statistics, checked against their tensors file and the model's calibration;
    a clear error (file, why, what to run) when they are missing, torn or stale."""
    import hashlib

    from safetensors.numpy import load

    meta_path, tensors_path = model_dir / STATS_JSON, model_dir / STATS_TENSORS
    for p in (meta_path, tensors_path):
        if not p.is_file():
            raise ValueError(f"{p}: missing; OpenVINO int8 needs the model's quantization statistics ({_RECALIBRATE})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        steps = meta["steps"]
    except (ValueError, KeyError) as e:
        raise ValueError(f"{meta_path}: unreadable ({e}); {_RECALIBRATE}") from None
    if meta.get("format") != BUILD_FORMAT:
        raise ValueError(f"{meta_path}: statistics format {meta.get('format')}, this version reads {BUILD_FORMAT}; {_RECALIBRATE}")
    tensors = tensors_path.read_bytes()
    if hashlib.sha256(tensors).hexdigest() != meta.get("tensors_sha256"):
        raise ValueError(f"{tensors_path}: not the tensors {meta_path.name} was written with; {_RECALIBRATE}")
    if meta.get("outliers") != outlier_channels(calibration):
        raise ValueError(f"{meta_path}: collected for another outlier split than calibration.json gives; {_RECALIBRATE}")
    return {"meta": steps, "arrays": load(tensors)}


# --- building and running ------------------------------------------------------------------------

def build(classifier, out: Path, precision: str, calibration: dict[str, Any] | None,
          stats: dict[str, Any] | None) -> dict[str, Any]:
    """Write `out`/model.xml (+ .bin): fp32 (bf16 is a compile-time choice) or int8."""
    import openvino as ov

    t0 = time.perf_counter()
    int8 = precision == "int8"
    if int8 and (calibration is None or stats is None):
        raise ValueError("int8 needs the model's calibration.json and openvino_int8 statistics")
    with tempfile.TemporaryDirectory(prefix=".ov-build-", dir=out.parent) as tmpd, _quiet():
        tmp = Path(tmpd)
        model = _graph(classifier, calibration if int8 else None, tmp)
        if int8:
            model, _ = _quantize(model, stats)
        stage = tmp / "stage"
        stage.mkdir()
        ov.save_model(model, str(stage / "model.xml"), compress_to_fp16=False)
        facts = {"precision": "int8" if int8 else "fp32", "format": BUILD_FORMAT, "openvino": ov.__version__,
                 "build_seconds": round(time.perf_counter() - t0, 1)}
        (stage / "build.json").write_text(json.dumps(facts, indent=1) + "\n", encoding="utf-8")
        atomic.replace_dir(stage, out)
    return facts


def cache_key(model_dir: Path, card: dict, int8: bool) -> str:
    """Changes when anything the graph is built from changes."""
    from importlib.metadata import version

    from .onnxrt import CALIBRATION_FILE, model_digest

    # the installed NNCF version without importing NNCF (which imports torch: ~0.5 GB)
    return model_digest(model_dir, card, [CALIBRATION_FILE, STATS_JSON, STATS_TENSORS] if int8 else [],
                        [int8, BUILD_FORMAT, version("openvino"), version("nncf") if int8 else None,
                         OUTLIER_THRESHOLD if int8 else None])


class OpenVinoClassifier:
    """A compiled OpenVINO model of the classifier; `logits(ids, pad_id)` is all scoring needs."""

    runtime = "openvino"

    def __init__(self, path: Path, precision: str, threads: int) -> None:
        import openvino as ov

        self.path = path
        self.rows, self.bucket = GEOMETRY
        self.streams = threads
        # One single-threaded stream per core, fed by an async queue: small batches keep every
        # core busy without the per-batch synchronisation of one multi-threaded request, and
        # each batch runs the same single-threaded kernels, so results do not depend on which
        # stream ran it (tested).
        self.compiled = ov.Core().compile_model(str(path), "CPU", {
            "INFERENCE_PRECISION_HINT": _HINT[precision], "NUM_STREAMS": threads, "INFERENCE_NUM_THREADS": threads})
        # bf16 falls back to f32 on CPUs without it: report what actually runs
        actual = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        self.precision = "fp32" if precision == "bf16" and actual != ov.Type.bf16 else precision
        self._lock = threading.Lock()
        self.queue = self._new_queue()

    def _new_queue(self):
        import openvino as ov

        queue = ov.AsyncInferQueue(self.compiled, self.streams)
        queue.set_callback(_store_logits)
        return queue

    @classmethod
    def load(cls, model_dir: str | os.PathLike, card: dict, base_dir: Path, precision: str = "int8",
             threads: int | None = None, cache: Path | None = None) -> OpenVinoClassifier:
        """The cached OpenVINO build of this model, built first if missing."""
        from .base import cache_root
        from .fast import thread_count
        from .onnxrt import read_calibration

        if precision not in OV_PRECISIONS:
            raise ValueError(f"precision {precision!r} does not run on openvino (one of: {', '.join(OV_PRECISIONS)})")
        model_dir = Path(model_dir)
        int8 = precision == "int8"
        calibration = read_calibration(model_dir) if int8 else None
        stats = read_statistics(model_dir, calibration) if int8 else None
        key = cache_key(model_dir, card, int8)
        out = (cache or cache_root() / "openvino") / f"{card.get('name', 'model')}-{'int8' if int8 else 'fp32'}-{key[:16]}"
        if not (out / "model.xml").is_file():
            from .network import load_trained

            out.parent.mkdir(parents=True, exist_ok=True)
            build(load_trained(model_dir, base_dir, merge=True), out, precision, calibration, stats)
        return cls(out / "model.xml", precision, thread_count(threads))

    def logits(self, ids: list[list[int]], pad_id: int) -> np.ndarray:
        """Logits in input order; runs of `self.rows` ads padded to a multiple of `self.bucket`."""
        from .encoding import fixed_shape_feeds

        out = np.zeros(len(ids))
        errors: list[BaseException] = []
        with self._lock:  # one queue: concurrent callers take turns
            try:
                for idx, feed in fixed_shape_feeds(ids, self.rows, self.bucket, pad_id):
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
        out[idx] = request.get_output_tensor(0).data.reshape(-1)[:len(idx)]
    except BaseException as e:  # noqa: BLE001 - re-raised by the caller
        errors.append(e)


def calibrate_statistics(model_dir: str | os.PathLike, texts: Sequence[str], max_ads: int = 400) -> Path:
    """Collect and store an existing model's int8 statistics on `texts` (its training ads);
    needs its calibration.json (written first by `onnxrt.calibrate_model`)."""
    from .onnxrt import calibration_inputs, read_calibration

    path = Path(model_dir)
    calibration = read_calibration(path)
    classifier, ids, _ = calibration_inputs(path, texts, max_ads)
    return write_statistics(path, collect_statistics(classifier, calibration, ids))
