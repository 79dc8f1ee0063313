"""`score_dataset`: a Ray Dataset of ads in, a Dataset of scored records out (`map_batches`).

Rows are ad records as Ray Data's readers give them (`ray.data.read_parquet`, `read_json`,
`read_csv`, ...: columns named like JSON keys, mapped as the local readers map them). Each
output row has the local output's fields (`writers_parquet.scored_schema`) and `error`: null
for a scored ad, else the JSON of the BadRecord (source, field, kind, reason) for a row
that is not an ad. `scored_rows` / `error_rows` split the two.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from ..model.scorer import CHUNK
from ..readers.errors import BadRecord
from ..records import SCORED_AD_FIELDS
from ..writers_parquet import arrow_row, scored_schema
from .actor import ModelActor
from .adrows import row_to_ad
from .session import cluster_cpus, require_ray

if TYPE_CHECKING:
    import pyarrow as pa
    import ray.data

#: Source name of rows that do not carry their file (`include_paths=True` adds `path`).
DATASET_SOURCE = "<dataset>"


def output_schema(ad_fields: tuple[str, ...]) -> "pa.Schema":
    """`scored_schema` plus the `error` column."""
    import pyarrow as pa

    return scored_schema(ad_fields).append(pa.field("error", pa.string()))


class AdBatchScorer(ModelActor):
    """`map_batches` class: a batch of ad rows -> a table of scored rows (one per input row)."""

    def __init__(
        self,
        model: str | None = None,
        opts: dict[str, Any] | None = None,
        ad_fields: tuple[str, ...] = SCORED_AD_FIELDS,
        mapping: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        super().__init__(model, opts, ad_fields)
        self.mapping = mapping
        self.schema = output_schema(self.ad_fields)

    def __call__(self, batch: "pa.Table") -> "pa.Table":
        import pyarrow as pa

        rows = batch.to_pylist()
        parsed = []
        for row in rows:
            source = str(row.pop("path", None) or DATASET_SOURCE)
            parsed.append(row_to_ad(row, source, None, self.mapping))
        ads = [p for p in parsed if not isinstance(p, BadRecord)]
        scored = iter(self.records(ads))
        out = []
        for p in parsed:
            if isinstance(p, BadRecord):
                out.append({"error": json.dumps(p.to_dict(), ensure_ascii=False)})
            else:
                out.append({**arrow_row(next(scored), self.ad_fields), "error": None})
        return pa.Table.from_pylist(out, schema=self.schema)


def score_dataset(
    ds: "ray.data.Dataset",
    model: str | None = None,
    *,
    actors: int | None = None,
    cpus_per_actor: int = 1,
    ad_fields: tuple[str, ...] = SCORED_AD_FIELDS,
    mapping: Mapping[str, tuple[str, ...]] | None = None,
    **opts: Any,
) -> "ray.data.Dataset":
    """Score a Dataset of ads lazily on a pool of `actors` (default: the cluster's CPUs / `cpus_per_actor`).

    Each actor loads `model` once (`opts`: precision=, runtime= as for `load_scorer`) and
    computes with `cpus_per_actor` threads; batches are the model's chunk (CHUNK ads), so a
    batch is one tokenize-sort-pad pass. Returns one row per input row (see module doc).
    """
    ray = require_ray()
    actors = actors or max(1, cluster_cpus() // cpus_per_actor)
    return ds.map_batches(
        AdBatchScorer,
        fn_constructor_kwargs={"model": model, "opts": opts, "ad_fields": tuple(ad_fields), "mapping": mapping},
        batch_size=CHUNK,
        batch_format="pyarrow",
        num_cpus=cpus_per_actor,
        compute=ray.data.ActorPoolStrategy(size=actors),  # Ray restarts a lost actor and retries its batch
    )


def _scored_only(table: "pa.Table") -> "pa.Table":
    import pyarrow.compute as pc

    return table.filter(pc.is_null(table["error"])).drop_columns(["error"])


def _errors_only(table: "pa.Table") -> "pa.Table":
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = table.filter(pc.is_valid(table["error"]))["error"].to_pylist()
    return pa.Table.from_pylist([json.loads(t) for t in texts], schema=error_schema())


def error_schema() -> "pa.Schema":
    """Columns of the errors dataset: a local errors file's fields."""
    import pyarrow as pa

    return pa.schema(
        [
            ("source", pa.string()),
            ("line", pa.int64()),
            ("record", pa.int64()),
            ("field", pa.string()),
            ("kind", pa.string()),
            ("reason", pa.string()),
            ("raw", pa.string()),
        ]
    )


def scored_rows(ds: "ray.data.Dataset") -> "ray.data.Dataset":
    """The scored records of a `score_dataset` result (without the `error` column)."""
    return ds.map_batches(_scored_only, batch_format="pyarrow", batch_size=None)


def error_rows(ds: "ray.data.Dataset") -> "ray.data.Dataset":
    """The bad input rows of a `score_dataset` result, with the local errors file's fields."""
    return ds.map_batches(_errors_only, batch_format="pyarrow", batch_size=None)


def iter_records(ds: "ray.data.Dataset") -> Iterator[dict[str, Any]]:
    """Scored records of a Dataset (`scored_rows` of a result) as dicts equal to the local JSON Lines records."""
    from ..writers_parquet import table_records

    for table in ds.iter_batches(batch_format="pyarrow", batch_size=None):
        yield from table_records(table)
