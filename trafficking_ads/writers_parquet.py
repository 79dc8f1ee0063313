"""Scored records as Parquet: one typed schema, so local and Ray runs exchange files.

The columns are the fields of a JSON Lines scored record, in the same order: `ad_id`,
`risk`, `band`, `indicators` (a list of structs with their evidence), `lang`, `model`
(struct), `components` (a map, key order kept), `network` (JSON text: its shape is
free-form) and `ad` (a struct of the carried ad fields; `meta`/`raw` as JSON text).
`table_records` turns a table back into dicts equal to the JSON Lines records.

`ParquetRecordWriter` is the local writer: it appends JSON Lines to `OUT.partial` exactly
like `RecordWriter` (so `resume` works the same way) and converts the finished partial
file to Parquet on commit, atomically (temp file, fsync, rename).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from .errors import InvalidValueError
from .writers import RecordWriter, fsync_dir

#: Ad fields that are not strings in `Ad`: how they are typed in the `ad` struct.
_AD_TYPES = {"label": pa.int64()}
_AD_JSON = ("meta", "raw")
#: Records converted per Parquet row group when a partial JSONL file is finished.
ROW_GROUP = 4096

_EVIDENCE = pa.struct([("start", pa.int64()), ("end", pa.int64()), ("text", pa.string()), ("field", pa.string())])
_INDICATOR = pa.struct(
    [
        ("id", pa.string()),
        ("category", pa.string()),
        ("weight", pa.float64()),
        ("evidence", pa.list_(_EVIDENCE)),
        ("evidence_total", pa.int64()),
    ]
)


def scored_schema(ad_fields: Iterable[str]) -> pa.Schema:
    """The Arrow schema of scored records carrying `ad_fields`."""
    ad = pa.struct([(f, _AD_TYPES.get(f, pa.string())) for f in ad_fields])
    return pa.schema(
        [
            ("ad_id", pa.string()),
            ("risk", pa.float64()),
            ("band", pa.string()),
            ("indicators", pa.list_(_INDICATOR)),
            ("lang", pa.string()),
            (
                "model",
                pa.struct(
                    [
                        ("name", pa.string()),
                        ("version", pa.string()),
                        ("runtime", pa.string()),
                        ("precision", pa.string()),
                    ]
                ),
            ),
            ("components", pa.map_(pa.string(), pa.float64())),
            ("network", pa.string()),
            ("ad", ad),
        ]
    )


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def arrow_row(record: dict[str, Any], ad_fields: Iterable[str]) -> dict[str, Any]:
    """A scored record (`scored_record(...)`) shaped for `scored_schema`."""
    row = dict(record)
    row["network"] = _json(record.get("network"))
    ad = dict(record.get("ad") or {})
    for name in _AD_JSON:
        if name in ad:
            ad[name] = _json(ad[name])
    row["ad"] = {f: ad.get(f) for f in ad_fields}
    return row


def records_table(records: Iterable[dict[str, Any]], ad_fields: Iterable[str]) -> pa.Table:
    """Scored records as one Arrow table of `scored_schema(ad_fields)`."""
    ad_fields = tuple(ad_fields)
    return pa.Table.from_pylist([arrow_row(r, ad_fields) for r in records], schema=scored_schema(ad_fields))


def table_records(table: pa.Table) -> Iterator[dict[str, Any]]:
    """The scored records of a table (or Parquet file) as dicts equal to the JSON Lines ones."""
    for row in table.to_pylist():
        row["components"] = dict(row["components"] or [])
        network = row.get("network")
        row["network"] = json.loads(network) if network is not None else None
        ad = row.get("ad") or {}
        for name in _AD_JSON:
            if ad.get(name) is not None:
                ad[name] = json.loads(ad[name])
        yield row


def read_scored_parquet(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """Scored records from a Parquet file, one row group at a time."""
    with pq.ParquetFile(path) as pf:
        for i in range(pf.num_row_groups):
            yield from table_records(pf.read_row_group(i))


def write_parquet_atomic(path: str | os.PathLike, table: pa.Table) -> Path:
    """Write a table to `path` through a temp file in the same directory (fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp, row_group_size=ROW_GROUP)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return path


class ParquetRecordWriter(RecordWriter):
    """`RecordWriter` for Parquet output: JSON Lines in OUT.partial, Parquet in OUT on commit."""

    def __init__(
        self,
        out: str | os.PathLike | None,
        ad_fields: tuple[str, ...] = (),
        resume: bool = False,
        stream: IO[str] | None = None,
    ) -> None:
        if out is None:
            raise InvalidValueError("Parquet output needs an output file (-o OUT.parquet)")
        super().__init__(out, "jsonl", ad_fields, resume=resume, stream=stream)

    def commit(self) -> None:
        """Finish: convert the partial JSON Lines file to Parquet at OUT, atomically."""
        self.flush(durable=True)
        self._file.close()
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")  # type: ignore[union-attr]
        schema = scored_schema(self.ad_fields)
        try:
            with pq.ParquetWriter(tmp, schema) as out, open(self.partial, encoding="utf-8") as lines:  # type: ignore[arg-type]
                chunk: list[dict[str, Any]] = []
                for line in lines:
                    chunk.append(json.loads(line))
                    if len(chunk) >= ROW_GROUP:
                        out.write_table(records_table(chunk, self.ad_fields))
                        chunk = []
                if chunk:
                    out.write_table(records_table(chunk, self.ad_fields))
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, self.path)  # type: ignore[arg-type]
            fsync_dir(self.path.parent)  # type: ignore[union-attr]
        finally:
            tmp.unlink(missing_ok=True)
        self.partial.unlink(missing_ok=True)  # type: ignore[union-attr]
