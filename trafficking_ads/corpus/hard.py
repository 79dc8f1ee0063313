"""The labelled hard set: `data/hard/hard.jsonl` (see data/hard/README.md).

Subtle deceptive ads without the usual clichés and legitimate ads that look risky, written
in Russian, Kazakh and English to fit the risk bands (`part == "fit"`) and to test them
(`part == "test"`). It is kept apart from the seed set on purpose: it must never train the
transformer, or the bands and the hard-set figures would measure memory. Format, one JSON
object per line::

    {"id": "hard-kk-0001", "lang": "kk", "label": 0|1, "title": "...", "text": "...",
     "family": "kk-debt-korea", "pattern": "debt_bondage", "hard_negative": false,
     "indicators": ["debt_deduction"], "part": "fit"|"test"}
"""

from __future__ import annotations

import os
from pathlib import Path

from ..problems import DataError, Problems, json_object_lines
from ..checkout import checkout_path, checkout_root
from ..records import Ad
from .seed import written_ad_row

HARD_LANGS = ("ru", "kk", "en")
HARD_PARTS = ("fit", "test")


def default_hard_path() -> Path:
    """`data/hard/hard.jsonl` in the checkout (checkout-only: a wheel does not carry it)."""
    return checkout_path("data", "hard", "hard.jsonl")


def load_hard(path: str | os.PathLike | None = None, *, problems: Problems | None = None) -> list[Ad]:
    """The hard set as Ads (source "hard"; family, pattern, part, hard_negative, indicators in meta).

    A bad line (not JSON, no text, a label other than 0/1, an unknown language or part, a
    missing or repeated id, no family) is skipped and reported in `problems`; with
    `Problems(strict=True)` it raises `DataError` instead. A missing file raises `DataError`.
    """
    p = Path(path) if path is not None else default_hard_path()
    if not p.is_file():
        where = (
            ""
            if checkout_root() is not None or path is not None
            else " (it ships with the source checkout, not the wheel)"
        )
        raise DataError(f"{p}: no such file{where}; pass the hard set's path")
    problems = problems if problems is not None else Problems()
    ads: list[Ad] = []
    seen: set[str] = set()
    for i, d in json_object_lines(p, problems):
        ad = written_ad_row(p, i, d, problems, HARD_LANGS, seen)
        if ad is None:
            continue
        family = d.get("family")
        if not isinstance(family, str) or not family.strip():
            problems.report(p, i, "family", "missing family (the split keeps a family on one side)")
            continue
        part = d.get("part")
        if part not in HARD_PARTS:
            problems.report(p, i, "part", f"part must be one of {HARD_PARTS}, got {part!r}")
            continue
        seen.add(ad.id)
        ad.source = "hard"
        ad.meta.update(
            {
                "family": family,
                "pattern": d.get("pattern"),
                "part": part,
                "hard_negative": bool(d.get("hard_negative", False)),
            }
        )
        ads.append(ad)
    return ads
