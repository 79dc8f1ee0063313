"""The corpus dataset's rows: their columns and the conversion between a row and an `Ad`.

Below corpus/ and model/ both: the corpus builder writes rows, training and evaluation read
them back as ads, and the model's signal code turns a row into the ad it scores.
"""

from __future__ import annotations

import json
from typing import Any

from .records import Ad

#: The columns of every split, in order.
COLUMNS = (
    "id",
    "text",
    "title",
    "label",
    "lang",
    "source",
    "group",
    "company_name",
    "company_profile",
    "location",
    "salary",
    "url",
    "posted_at",
    "meta",
)


def ad_to_row(ad: Ad, group: str) -> dict[str, Any]:
    """One corpus row (the dataset's columns) for an ad in a template group."""
    meta = {k: v for k, v in ad.meta.items() if v is not None}
    return {
        "id": ad.id,
        "text": ad.text,
        "title": ad.title,
        "label": int(ad.label) if ad.label is not None else -1,
        "lang": ad.language or "",
        "source": ad.source or "",
        "group": group,
        "company_name": ad.company_name,
        "company_profile": ad.company_profile,
        "location": ad.location,
        "salary": ad.salary,
        "url": ad.url,
        "posted_at": ad.posted_at,
        "meta": json.dumps(meta, ensure_ascii=False, sort_keys=True),
    }


def row_to_ad(row: dict[str, Any]) -> Ad:
    """An `Ad` back from a corpus row (so scorers see the same fields the corpus holds)."""
    meta = row.get("meta")
    return Ad(
        text=row.get("text") or "",
        id=row.get("id") or "",
        title=row.get("title"),
        company_name=row.get("company_name"),
        company_profile=row.get("company_profile"),
        location=row.get("location"),
        salary=row.get("salary"),
        url=row.get("url"),
        source=row.get("source"),
        posted_at=row.get("posted_at"),
        language=row.get("lang") or None,
        label=row.get("label") if row.get("label") in (0, 1) else None,
        meta=json.loads(meta) if isinstance(meta, str) and meta else dict(meta or {}),
    )


def features():
    """The datasets `Features` of every split."""
    from datasets import Features, Value

    return Features({c: Value("int8") if c == "label" else Value("string") for c in COLUMNS})
