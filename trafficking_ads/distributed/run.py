"""`score_inputs`: what `trafficking-ads score --engine ray` runs.

Sources (`sources.expand_inputs`) are read into shards by Ray tasks; a pool of `ShardScorer`
actors scores each shard and writes it, atomically, into OUTDIR:

    OUTDIR/part-SSSSS-DIGEST-CCCCCC.parquet (or .jsonl)   the scored records, input order
    OUTDIR/errors/part-....jsonl                          its bad records (local errors-file lines)
    OUTDIR/_done/part-....json                            written last: the shard's counts
    OUTDIR/_run.json                                      model, format and fields of the run

A re-run of the same command into the same OUTDIR skips every shard that has its `_done`
marker (a shard half-written when the run stopped has none, and is scored again and
replaced); a failed actor or task is retried by Ray. OUTDIR must be a filesystem every
node sees (NFS, a mounted bucket) when the cluster has several nodes.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ..errors import InvalidValueError
from ..atomic import write_json, write_text
from ..batch import BatchSummary
from ..model.scorer import CHUNK
from ..readers.errors import BadRecord
from ..records import SCORED_AD_FIELDS
from ..scoring import resolve_model_dir
from ..writers import ResumeError, json_line
from ..writers_parquet import records_table, write_parquet_atomic
from .actor import ModelActor
from .adrows import ads_from_json
from .session import cluster_cpus, require_ray
from .sources import expand_inputs, is_url, read_shards, read_url_shards, shard_prefix

FORMATS = ("parquet", "jsonl")
#: Records per shard by default: four model chunks (a few minutes of one core's work).
SHARD_SIZE = 4 * CHUNK
RUN_FILE = "_run.json"
DONE_DIR = "_done"
ERRORS_DIR = "errors"


@dataclass
class RaySummary(BatchSummary):
    """A `BatchSummary` of a Ray run; `resumed` counts ads in shards an earlier run wrote."""

    shards: int = 0
    shards_resumed: int = 0
    actors: int = 0

    def lines(self) -> list[str]:
        out = super().lines()
        out = [ln for ln in out if not ln.startswith("resumed:")]
        out.insert(
            1,
            f"shards: {self.shards} written by {self.actors} actor(s)"
            + (f", {self.shards_resumed} already written ({self.resumed} ads) skipped" if self.shards_resumed else ""),
        )
        return out


def shard_files(outdir: str | Path, fmt: str = "parquet") -> list[Path]:
    """The finished data shards of OUTDIR, in input order (those with a `_done` marker)."""
    outdir = Path(outdir)
    done = {p.stem for p in (outdir / DONE_DIR).glob("part-*.json")}
    return sorted(p for p in outdir.glob(f"part-*.{fmt}") if p.stem in done)


class ShardScorer(ModelActor):
    """`map_batches` class: score whole shards and write each (data, errors, marker)."""

    def __init__(
        self,
        outdir: str,
        fmt: str,
        model: str | None = None,
        opts: dict[str, Any] | None = None,
        ad_fields: tuple[str, ...] = SCORED_AD_FIELDS,
    ) -> None:
        super().__init__(model, opts, ad_fields)
        self.outdir = Path(outdir)
        self.fmt = fmt

    def __call__(self, batch: Any) -> dict[str, list[str]]:
        names, summaries = [], []
        for row in batch.to_pylist():
            names.append(row["shard"])
            summaries.append(
                json.dumps(
                    self.write_shard(row["shard"], ads_from_json(row["ads"]), json.loads(row["bad"])),
                    ensure_ascii=False,
                )
            )
        return {"shard": names, "summary": summaries}

    def write_shard(self, name: str, ads: list, bad: list[dict[str, Any]]) -> dict[str, Any]:
        """Score one shard and write its data, errors and `_done` marker; returns its counts."""
        started = time.time()
        start = time.perf_counter()
        cpu = resource.getrusage(resource.RUSAGE_SELF)
        records = self.records(ads)
        path = self.outdir / f"{name}.{self.fmt}"
        if self.fmt == "parquet":
            write_parquet_atomic(path, records_table(records, self.ad_fields))
        else:
            write_text(path, "".join(json_line(r) for r in records))
        errors = self.outdir / ERRORS_DIR / f"{name}.jsonl"
        if bad:
            write_text(errors, "".join(json_line(b) for b in bad))
        else:
            errors.unlink(missing_ok=True)
        counts = {
            "scored": len(records),
            "skipped": dict(Counter(b["kind"] for b in bad)),
            "bands": dict(Counter(r["band"] for r in records)),
            "seconds": round(time.perf_counter() - start, 3),
            # when and where (for throughput without actor start-up: benchmarks/ray_scale.py)
            "started": started,
            "finished": time.time(),
            "actor": f"{socket.gethostname()}:{os.getpid()}",
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "cpu_seconds": round(_cpu_seconds() - (cpu.ru_utime + cpu.ru_stime), 3),
        }
        write_json(self.outdir / DONE_DIR / f"{name}.json", counts)
        return {**counts, "bad": bad}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _model_id(model: str | None) -> dict[str, str]:
    from ..model_card import load_card

    card = load_card(resolve_model_dir(model))
    return {"name": card.name, "version": card.version}


def _check_run(outdir: Path, run: dict[str, Any]) -> None:
    path = outdir / RUN_FILE
    if path.is_file():
        before = json.loads(path.read_text(encoding="utf-8"))
        for key in ("model", "format", "ad_fields"):
            if before.get(key) != run[key]:
                raise ResumeError(
                    f"{outdir} holds a run with {key} {before.get(key)!r}, not {run[key]!r}: "
                    "write to another directory (a re-run into the same one continues it)"
                )
    else:
        write_json(path, run)


def score_inputs(
    inputs: str | Path | Iterable[str | Path],
    outdir: str | Path,
    *,
    model: str | None = None,
    fmt: str = "parquet",
    actors: int | None = None,
    cpus_per_actor: int = 1,
    shard_size: int = SHARD_SIZE,
    ad_fields: tuple[str, ...] = SCORED_AD_FIELDS,
    encoding: str | None = None,
    mapping: Mapping[str, tuple[str, ...]] | str | None = None,
    input_format: str = "auto",
    on_bad: Callable[[BadRecord], None] | None = None,
    on_shard: Callable[[str, dict[str, Any]], None] | None = None,
    **opts: Any,
) -> RaySummary:
    """Score every ad of `inputs` into sharded `fmt` files under `outdir` on the connected Ray cluster.

    Connect first (`session.connect`). `actors` (default: the cluster's CPUs / `cpus_per_actor`)
    each load the model once; `opts` are `load_scorer`'s (precision=, runtime=). Bad records
    go to `outdir/errors/` and to `on_bad`; `on_shard(name, counts)` is called as shards finish.
    Raises InputError (missing input), ValueError (bad option), ResumeError (OUTDIR holds
    another kind of run). Interrupted (Ctrl-C, a lost driver): run it again to continue.
    """
    require_ray()
    import ray.data

    from ..readers import parse_map

    if fmt not in FORMATS:
        raise InvalidValueError(f"unknown output format {fmt!r} for --engine ray (one of: {', '.join(FORMATS)})")
    if shard_size < 1 or cpus_per_actor < 1:
        raise InvalidValueError("shard size and CPUs per actor must be at least 1")
    inputs = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    sources = expand_inputs(inputs)
    mapping = parse_map(mapping)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    model_id = _model_id(model)
    _check_run(outdir, {"model": model_id, "format": fmt, "ad_fields": list(ad_fields)})
    done_dir = outdir / DONE_DIR
    done = frozenset(p.stem for p in done_dir.glob("part-*.json")) if done_dir.is_dir() else frozenset()
    summary = RaySummary(
        output=str(outdir), errors_path=str(outdir / ERRORS_DIR), model=f"{model_id['name']} {model_id['version']}"
    )
    prefixes = [f"part-{i:05d}-" if is_url(p) else shard_prefix(i, p) for i, p in enumerate(sources)]
    for name in sorted(done):
        if any(name.startswith(px) for px in prefixes):
            counts = json.loads((done_dir / f"{name}.json").read_text(encoding="utf-8"))
            summary.shards_resumed += 1
            summary.resumed += counts["scored"]
    summary.actors = actors = actors or max(1, cluster_cpus() // cpus_per_actor)

    # one block per shard row (blocks are what actors are handed): otherwise a source's shards
    # travel as one block to one actor, and come back only when all of them are done
    ctx = ray.data.DataContext.get_current()
    block_size, ctx.target_max_block_size = ctx.target_max_block_size, 1
    try:
        options = {
            "shard_size": shard_size,
            "done": done,
            "encoding": encoding,
            "mapping": mapping,
            "input_format": input_format,
        }
        local = [{"index": i, "path": p} for i, p in enumerate(sources) if not is_url(p)]
        parts = []
        if local:
            ds = ray.data.from_items(local, override_num_blocks=len(local))
            # parsing is light next to scoring; the actors hold the CPUs
            parts.append(ds.flat_map(read_shards, fn_kwargs=options, num_cpus=0))
        for i, url in enumerate(sources):
            if is_url(url):  # Ray's reader lists and fetches the files (credentials: the cluster's)
                files = ray.data.read_binary_files(url, include_paths=True, num_cpus=0)
                parts.append(files.flat_map(read_url_shards, fn_kwargs={"index": i, **options}, num_cpus=0))
        ds = parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]
        ds = ds.map_batches(
            ShardScorer,
            fn_constructor_kwargs={
                "outdir": str(outdir.resolve()),
                "fmt": fmt,
                "model": model,
                "opts": opts,
                "ad_fields": tuple(ad_fields),
            },
            batch_size=1,
            batch_format="pyarrow",
            num_cpus=cpus_per_actor,
            compute=ray.data.ActorPoolStrategy(size=actors),  # Ray restarts a lost actor and retries its shard
        )
    finally:
        ctx.target_max_block_size = block_size
    start = time.perf_counter()
    try:
        for row in ds.iter_rows():
            counts = json.loads(row["summary"])
            summary.shards += 1
            summary.scored += counts["scored"]
            summary.skipped.update(counts["skipped"])
            summary.bands.update(counts["bands"])
            for b in counts.pop("bad"):
                if on_bad:
                    on_bad(
                        BadRecord(**{k: b[k] for k in ("source", "kind", "reason", "line", "record", "field", "raw")})
                    )
            if on_shard:
                on_shard(row["shard"], counts)
    finally:
        summary.seconds = time.perf_counter() - start
    return summary
