"""What machine a figure was measured on (a thin wrapper over `trafficking_ads.machine`).

Speed decisions must hold on Intel CPUs with AVX512-VNNI/AMX and on AVX2-only AMD EPYC alike,
so every benchmark prints this line with its figures.
"""

from __future__ import annotations

from trafficking_ads.machine import FEATURES, describe

__all__ = ["FEATURES", "cpu_info"]


def cpu_info() -> str:
    """One line: CPU model, CPU counts, the relevant features present, load average."""
    return describe()
