"""Ads and bad records as Ray rows: JSON text, so any field shape survives Arrow."""

from __future__ import annotations

import json
from typing import Any, Mapping

from ..readers.errors import BadRecord
from ..readers.mapping import record_to_ad
from ..records import Ad


def ad_json(ad: Ad) -> dict[str, Any]:
    """An Ad as a JSON-ready dict without its preserved raw input (not used in scoring)."""
    return ad.to_dict(raw=False)


def dumps(obj: Any) -> str:
    """Compact JSON text (non-ASCII kept; odd metadata values as strings)."""
    return json.dumps(obj, ensure_ascii=False, default=str, separators=(",", ":"))


def ads_from_json(text: str) -> list[Ad]:
    """The Ads of a shard (`dumps([ad_json(a), ...])`)."""
    return [Ad.from_dict(d) for d in json.loads(text)]


def row_to_ad(
    row: Mapping[str, Any], source: str, index: int | None, user: Mapping[str, tuple[str, ...]] | None = None
) -> Ad | BadRecord:
    """One Dataset row (an ad record, as `read_json`/`read_parquet` give it) as an Ad or a BadRecord.

    The same mapping and checks as the local readers (`record_to_ad`); `index` is the row's
    place where the caller knows it.
    """
    obj = {k: _plain(v) for k, v in row.items()}
    return record_to_ad(obj, source=source, line=None, record=index, user=user)


def _plain(value: Any) -> Any:
    """numpy/Arrow scalars and arrays from a Ray batch as plain Python values."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and value != value:  # NaN: pandas' missing value
        return None
    return value
