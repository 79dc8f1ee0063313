"""Parquet: one ad per row, columns mapped by name like JSON keys (see mapping.py).

Read one row group at a time (constant memory per group). A row that cannot be an ad
becomes a BadRecord naming its 1-based row (`record`); Parquet has no lines. A file that
is not Parquet at all is one BadRecord ("unreadable"). A scored Parquet file (the output
of `score --format parquet`) is read back as its ads, as a scored JSON Lines file is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Mapping

from ..records import Ad
from .errors import BadRecord
from .mapping import record_to_ad

SUFFIXES = (".parquet", ".pq")


def read_parquet(
    path: str | Path, user: Mapping[str, tuple[str, ...]] | None = None, source: str | None = None
) -> Iterator[Ad | BadRecord]:
    """Yield an Ad or a BadRecord per row of a Parquet file (`record` = row number, 1-based)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = source or str(path)
    try:
        pf = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as e:
        yield BadRecord(name, "unreadable", f"not a readable Parquet file: {e}")
        return
    row = 0
    with pf:
        for group in range(pf.num_row_groups):
            try:
                rows = pf.read_row_group(group).to_pylist()
            except (OSError, pa.ArrowException) as e:
                yield BadRecord(name, "unreadable", f"row group {group + 1} unreadable: {e}", None, row + 1)
                row += pf.metadata.row_group(group).num_rows
                continue
            for obj in rows:
                row += 1
                if isinstance(obj.get("ad"), dict) and "components" in obj:  # a scored file's map column
                    obj = {**obj, "components": dict(obj["components"] or [])}
                yield record_to_ad(obj, source=name, line=None, record=row, user=user)
