"""Shared test fixtures (keep this file small: one fixture per shared need)."""

from __future__ import annotations

from pathlib import Path

import pytest

#: The checkout's root, and the real data kept beside it (../shared/data; see the brief).
ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public datasets beside the checkout; tests using them skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def samples_path() -> Path:
    """The project's hand-written sample ads (data/samples/ads.jsonl)."""
    return ROOT / "data" / "samples" / "ads.jsonl"
