"""The README's Python examples run as written (from a temporary directory holding the samples)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def python_blocks() -> list[tuple[int, str]]:
    """(line number, code) of every ```python block in README.md."""
    text = README.read_text(encoding="utf-8")
    out = []
    for m in re.finditer(r"^```python\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        out.append((text.count("\n", 0, m.start()) + 1, m.group(1)))
    return out


def test_the_readme_has_python_examples():
    assert len(python_blocks()) >= 2


@pytest.mark.slow  # the library example loads and runs the shipped transformer
@pytest.mark.parametrize("line,code", python_blocks(), ids=lambda v: f"line{v}" if isinstance(v, int) else "")
def test_readme_python_block_runs(line: int, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "data" / "samples").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "samples" / "ads.jsonl", tmp_path / "data" / "samples" / "ads.jsonl")
    monkeypatch.chdir(tmp_path)
    if "TRAFFICKING_ADS_CACHE" not in os.environ:  # never the real user cache
        monkeypatch.setenv("TRAFFICKING_ADS_CACHE", str(tmp_path / "cache"))
    namespace: dict = {"__name__": f"readme_line_{line}"}
    exec(compile(code, f"README.md:{line}", "exec"), namespace)  # noqa: S102 - the README's own code
