"""Scoring and clustering on a Ray cluster (Ray Data), for archives one machine cannot hold.

The same model, readers and writers as a local run, spread over Ray actors:

- `score_dataset(ds, model=...)`: a Ray Dataset of ads (e.g. from `ray.data.read_parquet`
  or `read_json`) in, a Dataset of scored records out (the local output's fields, one row
  per ad; rows that are not ads come out with `error` set, see `scored_rows`/`error_rows`);
- `score_inputs(inputs, outdir, ...)`: what `trafficking-ads score --engine ray` runs:
  every input the local `score` reads, scored into sharded Parquet or JSON Lines with an
  errors dataset and a summary; a re-run skips the shards already written;
- `cluster_inputs(scored, out, ...)`: what `trafficking-ads cluster --engine ray` runs:
  MinHash signatures and contact keys in parallel, LSH bands and contacts grouped across
  the cluster, connected components on the driver: the local `cluster`'s clusters.

Ray is an optional dependency (the `[ray]` extra); importing this package without it works,
calling into it raises an ImportError that says what to install.
"""

from __future__ import annotations

from typing import Any

__all__ = ["score_dataset", "scored_rows", "error_rows", "iter_records", "score_inputs", "cluster_inputs", "connect"]

_WHERE = {
    "score_dataset": "dataset",
    "scored_rows": "dataset",
    "error_rows": "dataset",
    "iter_records": "dataset",
    "score_inputs": "run",
    "cluster_inputs": "cluster",
    "connect": "session",
}


def __getattr__(name: str) -> Any:
    """Import the Ray-backed functions on first use (Ray is imported only then)."""
    if name not in _WHERE:
        raise AttributeError(name)
    from importlib import import_module

    return getattr(import_module(f".{_WHERE[name]}", __name__), name)
