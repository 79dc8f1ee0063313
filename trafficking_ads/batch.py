"""Scoring a batch: read ads, score them lazily, write one record each, report the rest.

This is the Python API behind `trafficking-ads score`; the CLI only parses options and
draws progress. Bad input records are skipped and reported (to a callback and to an
errors file), or stop the run under `strict`. Output goes through `RecordWriter`, so it is
atomic and resumable. Memory stays constant: nothing is held but the current batch.
"""

from __future__ import annotations

import os
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

from .readers import FORMATS, KINDS, BadRecord, InputError, check_inputs, iter_records, parse_map
from .records import SCORED_AD_FIELDS, Ad, scored_record
from .scoring import Scorer, load_scorer
from .writers import RecordWriter, ResumeError, check_output_path, partial_path

ERRORS_SUFFIX = ".errors.jsonl"
#: How often (in records written) output is flushed to the OS, for `tail -f` and resume.
FLUSH_EVERY = 64


class StrictModeError(InputError):
    """The first bad record under `strict`: the run stopped (exit code 2 in the CLI)."""


@dataclass
class BatchSummary:
    """What a batch run did: counts by outcome and band, timing, and where output went."""

    scored: int = 0
    resumed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    bands: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    output: str | None = None
    errors_path: str | None = None
    model: str | None = None

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "scored": self.scored,
            "resumed": self.resumed,
            "skipped": dict(self.skipped),
            "bands": dict(self.bands),
            "seconds": round(self.seconds, 3),
            "output": self.output,
            "errors": self.errors_path,
            "model": self.model,
        }

    def lines(self) -> list[str]:
        """The end-of-run summary, for a human (printed to stderr by the CLI)."""
        rate = self.scored / self.seconds if self.seconds > 0 else 0.0
        out = [f"scored {self.scored} ads in {self.seconds:.1f} s ({rate:.1f} ads/s) with {self.model}"]
        if self.resumed:
            out.append(f"resumed: {self.resumed} ads were already scored in the partial output")
        if self.skipped:
            detail = ", ".join(f"{KINDS.get(k, k)} {n}" for k, n in self.skipped.most_common())
            out.append(f"skipped {self.skipped_total}: {detail}")
        else:
            out.append("skipped 0")
        out.append("bands: " + ", ".join(f"{b} {self.bands.get(b, 0)}" for b in ("high", "medium", "low")))
        if self.output:
            out.append(f"output: {self.output}")
        if self.errors_path and self.skipped:
            out.append(f"errors: {self.errors_path}")
        return out


def default_errors_path(out: str | os.PathLike) -> Path:
    """`OUT.errors.jsonl`: where bad records are listed when no errors path is given."""
    return Path(str(out) + ERRORS_SUFFIX)


def score_records(
    records: Iterable[Ad | BadRecord],
    scorer: Scorer,
    writer: RecordWriter,
    *,
    batch_size: int = 32,
    strict: bool = False,
    ad_fields: tuple[str, ...] = SCORED_AD_FIELDS,
    on_bad: Callable[[BadRecord], None] | None = None,
    on_written: Callable[[int], None] | None = None,
    summary: BatchSummary | None = None,
) -> BatchSummary:
    """Score a stream of records into `writer`; the core loop of `score_file`.

    Ads whose ids are in `writer.done_ids` (a resumed run) are skipped, as many times as
    they were already written, so duplicates and order are kept exactly.
    """
    summary = summary or BatchSummary()
    summary.model = f"{scorer.info.name} {scorer.info.version}"
    done = writer.done_ids
    pending: deque[Ad] = deque()

    def ads() -> Iterator[Ad]:
        for rec in records:
            if isinstance(rec, BadRecord):
                summary.skipped[rec.kind] += 1
                if on_bad:
                    on_bad(rec)
                if strict:
                    raise StrictModeError(f"{rec.message()} (stopped: --strict)", rec)
                continue
            if done[rec.id] > 0:
                done[rec.id] -= 1
                summary.resumed += 1
                continue
            pending.append(rec)
            yield rec

    start = time.perf_counter()
    try:
        for assessment in scorer.score_many(ads(), batch_size=batch_size):
            ad = pending.popleft()
            if assessment.ad_id != ad.id:
                raise RuntimeError(f"scorer returned an assessment for {assessment.ad_id!r} where {ad.id!r} was expected")
            writer.write(scored_record(ad, assessment, ad_fields))
            summary.scored += 1
            summary.bands[assessment.band] += 1
            if summary.scored % FLUSH_EVERY == 0:
                writer.flush()
            if on_written:
                on_written(summary.scored + summary.resumed)
    finally:
        summary.seconds = time.perf_counter() - start
    return summary


def score_file(
    inputs: str | os.PathLike | Iterable[str | os.PathLike] | None,
    out: str | os.PathLike | None = None,
    *,
    scorer: Scorer | None = None,
    model: str | os.PathLike | None = None,
    text: str | Iterable[str] | None = None,
    encoding: str | None = None,
    mapping: Any = None,
    input_format: str = "auto",
    output_format: str = "jsonl",
    ad_fields: tuple[str, ...] = SCORED_AD_FIELDS,
    batch_size: int = 32,
    errors: str | os.PathLike | None = None,
    strict: bool = False,
    resume: bool = False,
    stream: IO[str] | None = None,
    on_bad: Callable[[BadRecord], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> BatchSummary:
    """Score every ad of `inputs` (files, directories, `-`) and/or `text` into `out`.

    Writes one `scored_record` per ad, JSON Lines, CSV or Parquet (`output_format`), to `out`
    atomically (to `stream`, default stdout, when `out` is None). Bad records are skipped,
    passed to `on_bad`, and listed in `errors` (default `OUT.errors.jsonl`); with `strict`
    the first one raises StrictModeError. `resume` continues from `OUT.partial`.
    `on_progress(records_done, input_bytes_done)` is called as it goes.

    Raises InputError (missing input), ValueError (bad option, or a partial output that
    cannot be resumed), StrictModeError, OutputError (OUT is a directory or a symlink; checked
    before any work), OSError (e.g. a full disk: OUT.partial is kept for `resume`).
    """
    check_inputs(inputs)
    mapping = parse_map(mapping)
    if input_format not in FORMATS:
        raise ValueError(f"unknown input format {input_format!r} (one of: {', '.join(FORMATS)})")
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    unknown = [f for f in ad_fields if f not in Ad.__dataclass_fields__]  # type: ignore[attr-defined]
    if unknown:
        raise ValueError(f"unknown ad field(s) {', '.join(unknown)} (one of: {', '.join(Ad.__dataclass_fields__)})")  # type: ignore[attr-defined]
    if out is not None and str(out) == "-":
        out = None
    if out is not None:
        check_output_path(out)  # an existing directory at OUT is found now, not after the whole run
    if errors is not None:
        check_output_path(errors)
    scorer = scorer or load_scorer(model)
    errors_path = Path(errors) if errors is not None else (default_errors_path(out) if out is not None else None)
    read_bytes = [0]
    # bad records stream to ERRORS.partial and are renamed into place at the end, even
    # when the run stops: the list is the report of what was seen
    error_writer = RecordWriter(errors_path, "jsonl") if errors_path is not None else None

    def record_bad(rec: BadRecord) -> None:
        if error_writer is not None:
            error_writer.write(rec.to_dict())
        if on_bad:
            on_bad(rec)

    def bytes_read(n: int) -> None:
        read_bytes[0] += n

    def written(n: int) -> None:
        if on_progress:
            on_progress(n, read_bytes[0])

    summary = BatchSummary(output=str(out) if out is not None else None, errors_path=str(errors_path) if errors_path else None)
    try:
        from .writers_parquet import open_record_writer

        writer = open_record_writer(out, output_format, ad_fields, resume=resume, stream=stream)
        try:
            info = scorer.info
            if writer.partial_model and writer.partial_model != {"name": info.name, "version": info.version}:
                raise ResumeError(
                    f"{partial_path(out)} was scored by {writer.partial_model.get('name')} "  # type: ignore[arg-type]
                    f"{writer.partial_model.get('version')}, not {info.name} {info.version}; rerun without --resume"
                )
            records = iter_records(inputs, text=text, encoding=encoding, mapping=mapping,
                                   input_format=input_format, on_bytes=bytes_read)
            with writer:
                score_records(records, scorer, writer, batch_size=batch_size, strict=strict, ad_fields=ad_fields,
                              on_bad=record_bad, on_written=written, summary=summary)
        except BaseException:
            writer.abort()
            raise
    finally:
        if error_writer is not None:
            error_writer.commit()
    return summary
