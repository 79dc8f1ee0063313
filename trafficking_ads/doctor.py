"""`doctor`: what this machine is and how fast the default model scores on it.

Reports the CPU model and the features that decide the arithmetic, the runtime and precision
"auto" picks here, where the caches are and how big, which optional extras are installed,
and a short self-benchmark (ads per second on built-in sample ads, model loading timed
apart). A user reading one report knows why scoring is as fast as it is on this machine.
"""

from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from . import machine

#: Optional extras and a module each one installs (present: the extra is usable).
EXTRAS = {"train": "torch", "serve": "fastapi", "ray": "ray", "scrape": "trafilatura", "parquet": "pyarrow"}
#: Packages whose versions matter for scoring speed and results.
PACKAGES = ("trafficking-ads", "openvino", "nncf", "numpy", "tokenizers", "torch")
SAMPLES = Path(__file__).with_name("doctor_ads.json")


@dataclass
class DoctorReport:
    """What `doctor_report` found (JSON-friendly: see `as_dict`)."""

    cpu_model: str
    cpu_features: list[str]
    int8_units: list[str]
    physical_cores: int
    threads: int
    runtime: str
    precision: str
    why: str
    caches: dict[str, dict[str, Any]] = field(default_factory=dict)
    extras: dict[str, bool] = field(default_factory=dict)
    packages: dict[str, str | None] = field(default_factory=dict)
    benchmark: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data."""
        from dataclasses import asdict

        return asdict(self)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _installed(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def cache_report() -> dict[str, dict[str, Any]]:
    """Each cache directory: path, whether it exists, size in bytes and its entries."""
    from .model.base import cache_root

    root = cache_root()
    out = {}
    for name, path in (("base", root / "base"), ("openvino", root / "openvino")):
        entries = sorted(p.name for p in path.iterdir()) if path.is_dir() else []
        out[name] = {
            "path": str(path),
            "exists": path.is_dir(),
            "bytes": _size(path) if path.is_dir() else 0,
            "entries": entries,
        }
    return out


def sample_texts() -> list[str]:
    """The built-in sample ads (Russian, Kazakh, English; deceptive and ordinary)."""
    return list(json.loads(SAMPLES.read_text(encoding="utf-8"))["texts"])


def self_benchmark(
    seconds: float = 10.0, model: str | None = None, runtime: str | None = None, precision: str | None = None
) -> dict[str, Any]:
    """Load the model (timed), then score the sample ads end to end in batches of 64 until
    `seconds` have passed: ads per second, with the load time apart."""
    from .records import Ad
    from .scoring import load_scorer

    opts = {k: v for k, v in (("runtime", runtime), ("precision", precision)) if v}
    t0 = time.perf_counter()
    scorer = load_scorer(model, **opts)
    load_s = time.perf_counter() - t0
    texts = sample_texts()
    batch = [Ad(text=texts[i % len(texts)] + f" #{i}", id=str(i)) for i in range(64)]
    list(scorer.score_many(batch[:8]))  # warm-up: first requests compile kernels
    n, t1 = 0, time.perf_counter()
    while time.perf_counter() - t1 < seconds:
        n += sum(1 for _ in scorer.score_many(batch))
    elapsed = time.perf_counter() - t1
    info = getattr(scorer, "info", None)
    return {
        "model": getattr(info, "name", None),
        "runtime": getattr(info, "runtime", None),
        "precision": getattr(info, "precision", None),
        "load_seconds": round(load_s, 2),
        "ads": n,
        "seconds": round(elapsed, 2),
        "ads_per_second": round(n / elapsed, 1),
    }


def doctor_report(benchmark_seconds: float = 10.0, model: str | None = None) -> DoctorReport:
    """Everything `trafficking-ads doctor` prints; `benchmark_seconds=0` skips the benchmark."""
    from .model.runtime import resolve

    runtime, precision = resolve(None, None)
    units = machine.int8_units()
    why = (
        f"int8: the CPU multiplies int8 in hardware ({', '.join(units)})"
        if precision == "int8"
        else "fp32: no AVX512-VNNI, AVX-VNNI or AMX here, and int8 without them is slower than fp32"
    )
    report = DoctorReport(
        cpu_model=machine.cpu_model(),
        cpu_features=machine.cpu_features(),
        int8_units=units,
        physical_cores=machine.physical_cores(),
        threads=machine.thread_count(),
        runtime=runtime,
        precision=precision,
        why=why,
        caches=cache_report(),
        extras={extra: importlib.util.find_spec(module) is not None for extra, module in EXTRAS.items()},
        packages={name: _installed(name) for name in PACKAGES},
    )
    if benchmark_seconds > 0:
        report.benchmark = self_benchmark(benchmark_seconds, model)
    return report


def format_report(report: DoctorReport) -> str:
    """The report as the lines `doctor` prints."""
    mb = 1024 * 1024
    lines = [
        f"CPU: {report.cpu_model}; {report.physical_cores} physical cores, {report.threads} scoring threads",
        f"features: {' '.join(report.cpu_features) or '(none of interest)'}",
        f"auto picks: runtime {report.runtime}, precision {report.precision} ({report.why})",
        "caches:",
    ]
    for name, c in report.caches.items():
        state = (
            f"{c['bytes'] / mb:.0f} MB, {len(c['entries'])} entries" if c["exists"] else "empty (built on first use)"
        )
        lines.append(f"  {name}: {c['path']} ({state})")
    lines.append(
        "extras: " + ", ".join(f"{k} {'installed' if v else 'not installed'}" for k, v in report.extras.items())
    )
    lines.append("packages: " + ", ".join(f"{k} {v or '-'}" for k, v in report.packages.items()))
    b = report.benchmark
    if b:
        lines.append(
            f"self-benchmark: {b['ads_per_second']} ads/s end to end ({b['ads']} sample ads in {b['seconds']} s, "
            f"model {b['model']} on {b['runtime']} {b['precision']}; loading took {b['load_seconds']} s)"
        )
    return "\n".join(lines)
