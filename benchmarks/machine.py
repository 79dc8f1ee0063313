"""What machine a figure was measured on: CPU model, counts and the vector flags the runtimes use.

Speed decisions must hold on Intel CPUs with AVX512-VNNI/AMX and on AVX2-only AMD EPYC alike,
so every benchmark prints this line with its figures.
"""

from __future__ import annotations

import os
import subprocess

#: Flags that decide which arithmetic is fast (int8 needs VNNI or AMX to beat fp32).
FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")


def cpu_info() -> str:
    """One line: CPU model, CPU count, threads per core, the relevant flags present, load average."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "lscpu unavailable"
    info = {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in out.splitlines() if ":" in line)}
    flags = info.get("Flags", "").split()
    have = [f for f in FLAGS if f in flags]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{info.get('Model name', '?')}; CPU(s) {info.get('CPU(s)', '?')}, threads per core {info.get('Thread(s) per core', '?')}; "
            f"flags: {' '.join(have) or 'none of ' + ' '.join(FLAGS)}; load average {load:.2f}")
