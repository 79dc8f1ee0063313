"""The machine scoring runs on: CPU model, the vector features that decide which arithmetic
is fast, and how many threads to compute with.

int8 only pays where the CPU multiplies int8 in hardware (AVX512-VNNI, AVX-VNNI or AMX):
on an AVX2-only CPU OpenVINO's int8 kernels ran slower than fp32 (issue #17: 8.2 vs 10.3
ads/s on an AMD EPYC), so precision "auto" picks int8 only where `int8_units()` finds one.
Read from /proc/cpuinfo (Linux); elsewhere the features are unknown and "auto" means fp32.
Reading it imports nothing heavy, so the CLI and `doctor` can call it at once.
"""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from pathlib import Path

#: Features that decide which arithmetic is fast, in the order they are reported.
FEATURES = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")
#: Any of these makes int8 matrix products faster than fp32 (VNNI dot products or AMX tiles).
INT8_FEATURES = ("avx512_vnni", "avx_vnni", "amx_int8")
THREADS_ENV = "TRAFFICKING_ADS_THREADS"


@lru_cache(maxsize=1)
def _cpuinfo() -> tuple[str, frozenset[str]]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine() or "unknown CPU", frozenset()
    model, flags = "", frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = frozenset(value.split())
        if model and flags:
            break
    return model or platform.processor() or "unknown CPU", flags


def cpu_model() -> str:
    """The CPU's model name (e.g. "Intel(R) Xeon(R) Platinum 8480+")."""
    return _cpuinfo()[0]


def cpu_features() -> list[str]:
    """Which of `FEATURES` this CPU has."""
    flags = _cpuinfo()[1]
    return [f for f in FEATURES if f in flags]


def int8_units() -> list[str]:
    """The int8 hardware (of `INT8_FEATURES`) this CPU has; empty: int8 is not worth it here."""
    flags = _cpuinfo()[1]
    return [f for f in INT8_FEATURES if f in flags]


def auto_precision() -> str:
    """What precision "auto" means on this CPU: int8 with VNNI/AMX, else fp32."""
    return "int8" if int8_units() else "fp32"


def physical_cores() -> int:
    """Physical cores this process may run on (hyper-thread siblings counted once)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in cpus:
        try:
            cores.add(Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list").read_text().strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))


def thread_count(n: int | None = None) -> int:
    """Threads to compute with: `n`, else $TRAFFICKING_ADS_THREADS, else the physical cores
    (hyper-threads only contend for the same vector units)."""
    env = os.environ.get(THREADS_ENV)
    return max(1, n or (int(env) if env else physical_cores()))


def describe() -> str:
    """One line for benchmark output: CPU model, logical CPUs, physical cores, features, load."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu_model()}; {os.cpu_count()} logical CPUs, {physical_cores()} physical cores; "
        f"features: {' '.join(cpu_features()) or 'none of ' + ' '.join(FEATURES)}; load average {load:.2f}"
    )
