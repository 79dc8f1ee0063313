"""Reading scored JSONL files (the output of `score`) into (ad fields, Assessment) pairs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from ..readers.errors import BadRecord
from ..records import Assessment, read_scored, scored_record_from
from .features import Cluster


def read_scored_files(paths: Iterable[Path], strict: bool = False) -> tuple[list[tuple[dict[str, Any], Assessment]], list[BadRecord]]:
    """All records of the files, and the lines that could not be read (skip-and-report).

    Under `strict` reading stops at the first bad line.
    """
    records: list[tuple[dict[str, Any], Assessment]] = []
    bad: list[BadRecord] = []
    for path in paths:
        with open(path, encoding="utf-8-sig", errors="strict") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    records.append(read_scored(line))
                except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                    kind = "invalid_json" if isinstance(e, json.JSONDecodeError) else "wrong_type"
                    bad.append(BadRecord(str(path), kind, f"not a scored record ({type(e).__name__}: {e})", line=lineno, raw=line))
                    if strict:
                        return records, bad
    return records, bad


@dataclass
class ClusterRun:
    """What `cluster_files` did: the clusters, the lines it skipped, and the index's growth."""

    clusters: list[Cluster]
    bad: list[BadRecord]
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

    records, bad = read_scored_files(scored, strict=strict)
    if strict and bad:
        return ClusterRun([], bad, len(records), 0, 0)
    index = NetworkIndex.load(index_dir) if index_dir and (Path(index_dir) / INDEX_FILE).is_file() else NetworkIndex()
    before = len(index)
    clusters = [c for c in annotate(records, index) if c.size >= min_size]
    write_jsonl_atomic(clusters_out, (c.to_dict() for c in clusters))
    if annotate_out:
        write_jsonl_atomic(annotate_out, (scored_record_from(fields, a) for fields, a in records))
    if index_dir:
        index.save(index_dir)
    return ClusterRun(clusters, bad, len(records), len(index) - before, len(index))
