"""Clustering scored files (the output of `score`): the one entry point of both CLI commands."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..records import scored_record_from
from ..scored import Problem, ScoredInputError, iter_scored
from .features import Cluster


@dataclass
class ClusterRun:
    """What `cluster_files` did: the clusters, the lines it skipped, and the index's growth."""

    clusters: list[Cluster]
    bad: list[Problem]
    n_records: int
    n_new: int
    n_indexed: int


def cluster_files(
    scored: Iterable[Path],
    clusters_out: Path,
    annotate_out: Path | None = None,
    index_dir: Path | None = None,
    min_size: int = 2,
    strict: bool = False,
) -> ClusterRun:
    """Cluster scored files: clusters to `clusters_out`, annotated records to `annotate_out`.

    With `index_dir`, the saved index is loaded first (new ads join it) and saved back.
    Under `strict`, a bad line stops the run before anything is written.
    """
    from ..writers import write_jsonl_atomic
    from .index import INDEX_FILE, NetworkIndex, annotate

    bad: list[Problem] = []
    try:
        records = list(iter_scored(scored, problems=bad, strict=strict))
    except ScoredInputError as e:
        return ClusterRun([], [e.problem], 0, 0, 0)
    index = NetworkIndex.load(index_dir) if index_dir and (Path(index_dir) / INDEX_FILE).is_file() else NetworkIndex()
    before = len(index)
    clusters = [c for c in annotate(records, index) if c.size >= min_size]
    write_jsonl_atomic(clusters_out, (c.to_dict() for c in clusters))
    if annotate_out:
        write_jsonl_atomic(annotate_out, (scored_record_from(fields, a) for fields, a in records))
    if index_dir:
        index.save(index_dir)
    return ClusterRun(clusters, bad, len(records), len(index) - before, len(index))
