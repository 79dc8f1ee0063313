"""Start-up time of the light commands (#17: under 3 s for `--help`, `schema`, `report`, `cluster`).

    .venv/bin/python benchmarks/cli_startup.py [--runs 5]

Each command runs in a fresh process `--runs` times (median wall time printed), beside two
references measured in the same run: a bare `python -c pass` and `python -c "import typer"`
(the CLI's own framework). Also lists any heavy library (torch, openvino, transformers,
spacy, sklearn) each command imported, which should be none. Prints the CPU model and
flags; exits 1 when a command's median is over the target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 3.0
HEAVY = ("torch", "openvino", "transformers", "spacy", "sklearn")


def cpu() -> str:
    """CPU model and the SIMD flags that matter for inference."""
    model, flags = platform.processor() or "?", []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = [f for f in line.split(":", 1)[1].split() if f.startswith(("avx", "amx")) or "vnni" in f]
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} CPUs, {' '.join(flags) or 'no AVX flags'}"


def timed(argv: list[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def heavy_imports(args: list[str], env: dict[str, str]) -> list[str]:
    code = (
        "import sys\nfrom trafficking_ads.cli import app\ntry:\n    app(%r)\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in %r if m in sys.modules), file=sys.stderr)" % (args, HEAVY)
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    return json.loads(p.stderr.strip().splitlines()[-1].replace("'", '"')) if p.stderr.strip() else ["?"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        scored = tmp / "s.jsonl"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "trafficking_ads",
                "score",
                str(ROOT / "data/samples/ads.jsonl"),
                "--model",
                "indicators",
                "-q",
                "-o",
                str(scored),
            ],
            check=True,
            env=env,
        )
        commands = {
            "--help": ["--help"],
            "schema": ["schema"],
            "report": ["report", str(scored), "-o", str(tmp / "r.html")],
            "cluster": ["cluster", str(scored), "-o", str(tmp / "c.jsonl")],
        }
        print(f"CPU: {cpu()}; load average {os.getloadavg()[0]:.1f} (the machine may be shared)")
        bare = timed([sys.executable, "-c", "pass"], a.runs, env)
        typer_s = timed([sys.executable, "-c", "import typer"], a.runs, env)
        print(f"reference: python -c pass {bare:.2f} s; import typer {typer_s:.2f} s")
        worst = 0.0
        for name, args in commands.items():
            s = timed([sys.executable, "-m", "trafficking_ads", *args], a.runs, env)
            worst = max(worst, s)
            print(
                f"{name:8s} {s:5.2f} s median of {a.runs}  ({s / typer_s:4.1f}x import typer)  heavy imports: {heavy_imports(args, env)}"
            )
    print(f"target: under {TARGET_S:.0f} s each -> {'ok' if worst < TARGET_S else 'MISSED'}")
    return 0 if worst < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
