"""Scoring a batch: read ads, score them lazily, write one record each, report the rest.

This is the Python API behind `trafficking-ads score`; the CLI only parses options and
draws progress. Bad input records are skipped and reported (to a callback and to an
errors file), or stop the run under `strict`. Output goes through `RecordWriter`, so it is
atomic and resumable. Memory stays constant: nothing is held but the current batch.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from collections import Counter, deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

from .readers import FORMATS, KINDS, BadRecord, InputError, check_inputs, iter_records, parse_map
from .records import SCORED_AD_FIELDS, Ad, ModelInfo, scored_record
from .scoring import Scorer, load_scorer
from .writers import RecordWriter, ResumeError, check_output_path, partial_path
from .errors import InvalidValueError, OperationError

ERRORS_SUFFIX = ".errors.jsonl"
#: How often (in records written) output is flushed to the OS, for `tail -f` and resume.
FLUSH_EVERY = 64
#: The writer wakes at least this often (seconds) while the scorer works, so that Ctrl-C
#: (KeyboardInterrupt in the main thread) is acted on at once, not when a chunk is done.
POLL_SECONDS = 0.1
#: Sizes of the scorer's first calls, before it gets the rest of the stream in one (see
#: `_ramped`): early results for progress and ETA, at the cost of a few padded batches.
RAMP = (64, 256)
#: After Ctrl-C, assessments the scorer has already returned are still written for up to
#: this long (a burst of a whole chunk takes milliseconds), so the run stops within ~1 s.
DRAIN_SECONDS = 0.8


class StrictModeError(InputError):
    """The first bad record under `strict`: the run stopped (exit code 2 in the CLI)."""


def model_identity(info: ModelInfo | dict[str, Any]) -> dict[str, str]:
    """The fields that say which model wrote a record: name, version, runtime, precision
    (missing ones read as "", as in files written before runtime and precision were kept)."""
    d = (
        info
        if isinstance(info, dict)
        else {"name": info.name, "version": info.version, "runtime": info.runtime, "precision": info.precision}
    )
    return {k: str(d.get(k) or "") for k in ("name", "version", "runtime", "precision")}


def model_label(info: ModelInfo | dict[str, Any]) -> str:
    """`name version (runtime precision)`, for messages."""
    m = model_identity(info)
    how = " ".join(x for x in (m["runtime"], m["precision"]) if x)
    return f"{m['name']} {m['version']}" + (f" ({how})" if how else "")


@dataclass
class BatchSummary:
    """What a batch run did: counts by outcome and band, timing, and where output went.

    Filled as the run goes (`score_file(summary=...)`), so a progress display can read
    `read`, `bytes_read` and `scored` while it runs. `seconds` is the whole run's wall time,
    model loading (`load_seconds`) included."""

    scored: int = 0
    resumed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    bands: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    load_seconds: float = 0.0
    output: str | None = None
    errors_path: str | None = None
    model: str | None = None
    read: int = 0
    bytes_read: int = 0
    scoring_started: float | None = None  # time.perf_counter() when the model got its first ad

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
            "load_seconds": round(self.load_seconds, 3),
            "output": self.output,
            "errors": self.errors_path,
            "model": self.model,
        }

    def lines(self) -> list[str]:
        """The end-of-run summary, for a human (printed to stderr by the CLI)."""
        rate = self.scored / self.seconds if self.seconds > 0 else 0.0
        load = f", model load {self.load_seconds:.1f} s included" if self.load_seconds else ""
        out = [f"scored {self.scored} ads in {self.seconds:.1f} s ({rate:.1f} ads/s{load}) with {self.model}"]
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


_END = object()


def score_records(
    records: Iterable[Ad | BadRecord],
    scorer: Scorer,
    writer: RecordWriter,
    *,
    strict: bool = False,
    ad_fields: tuple[str, ...] = SCORED_AD_FIELDS,
    on_bad: Callable[[BadRecord], None] | None = None,
    on_written: Callable[[int], None] | None = None,
    summary: BatchSummary | None = None,
) -> BatchSummary:
    """Score a stream of records into `writer`; the core loop of `score_file`.

    Ads whose ids are in `writer.done_ids` (a resumed run) are skipped, as many times as
    they were already written, so duplicates and order are kept exactly.

    The scorer runs in a worker thread and this thread writes each assessment the moment
    the scorer yields it; waiting for the next one, it wakes every POLL_SECONDS, so Ctrl-C
    stops the run at once (KeyboardInterrupt) with everything yielded so far written (the
    scorer's unfinished chunk is abandoned: its thread stops at the next ad it would read).
    Exceptions of the scorer or the reader (e.g. StrictModeError) are re-raised here.
    """
    summary = summary or BatchSummary()
    summary.model = model_label(scorer.info)
    done = writer.done_ids
    pending: deque[Ad] = deque()
    results: queue.SimpleQueue[Any] = queue.SimpleQueue()
    stop = threading.Event()

    def ads() -> Iterator[Ad]:
        for rec in records:
            if stop.is_set():
                return
            summary.read += 1
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

    def produce() -> None:
        try:
            for assessment in _ramped(scorer, ads(), RAMP):
                results.put(assessment)
                if stop.is_set():
                    return
        except BaseException as e:  # noqa: BLE001 - handed to the writing thread, which raises it
            results.put(e)
        finally:
            results.put(_END)

    def write(assessment: Any) -> None:
        ad = pending.popleft()
        if assessment.ad_id != ad.id:
            raise OperationError(f"scorer returned an assessment for {assessment.ad_id!r} where {ad.id!r} was expected")
        writer.write(scored_record(ad, assessment, ad_fields))
        summary.scored += 1
        summary.bands[assessment.band] += 1
        if summary.scored % FLUSH_EVERY == 0:
            writer.flush()
        if on_written:
            on_written(summary.scored + summary.resumed)

    start = time.perf_counter()
    summary.scoring_started = start
    worker = threading.Thread(target=produce, name="trafficking-ads-scorer", daemon=True)
    worker.start()
    try:
        with _deferred_interrupt() as interrupted:
            while True:
                if interrupted is not None and interrupted.is_set():
                    stop.set()
                    _drain(results, write, time.perf_counter() + DRAIN_SECONDS)  # keep what the scorer returned
                    raise KeyboardInterrupt
                try:
                    item = results.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    continue
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                write(item)
    finally:
        stop.set()
        summary.seconds += time.perf_counter() - start
    worker.join()
    return summary


def _ramped(scorer: Scorer, ads: Iterator[Ad], ramp: tuple[int, ...]) -> Iterator[Any]:
    """`scorer.score_many(ads)`, the first ads in calls of `ramp` sizes: a scorer that works
    in large chunks (the transformer's are ~1,000 ads) then returns its first results in
    seconds, so progress, rate and ETA show early. Scores do not depend on how ads are
    grouped (the runtimes use fixed batch shapes), so the output is the same."""
    for size in ramp:
        head = list(islice(ads, size))
        if not head:
            return
        yield from scorer.score_many(head)
        if len(head) < size:
            return
    yield from scorer.score_many(ads)


@contextmanager
def _deferred_interrupt() -> Iterator[threading.Event | None]:
    """Within the block, Ctrl-C sets the yielded event (polled by the writing loop) instead of
    raising KeyboardInterrupt wherever the main thread happens to be, e.g. between taking an
    assessment and writing it. Yields None (nothing changed) outside the main thread or when
    the program has its own SIGINT handler."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield None
        return
    event = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda _signum, _frame: event.set())
    try:
        yield event
    finally:
        signal.signal(signal.SIGINT, previous)


def _drain(results: "queue.SimpleQueue[Any]", write: Callable[[Any], None], deadline: float) -> None:
    """Write the assessments already waiting in `results` (not the scorer's unfinished work)."""
    while time.perf_counter() < deadline:
        try:
            item = results.get_nowait()
        except queue.Empty:
            return
        if item is _END or isinstance(item, BaseException):
            return
        write(item)


def _load_interruptibly(model: str | os.PathLike | None, options: dict[str, Any]) -> Scorer:
    """`load_scorer` in a worker thread, waited for here in POLL_SECONDS steps: Ctrl-C while a
    model loads (or a first run builds its runtime, minutes of native code) acts at once."""
    box: list[Any] = []

    def load() -> None:
        try:
            box.append(load_scorer(model, **options))
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            box.append(e)

    worker = threading.Thread(target=load, name="trafficking-ads-load", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(POLL_SECONDS)
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


def score_file(
    inputs: str | os.PathLike | Iterable[str | os.PathLike] | None,
    out: str | os.PathLike | None = None,
    *,
    scorer: Scorer | None = None,
    model: str | os.PathLike | None = None,
    model_options: dict[str, Any] | None = None,
    text: str | Iterable[str] | None = None,
    encoding: str | None = None,
    mapping: Any = None,
    input_format: str = "auto",
    output_format: str = "jsonl",
    ad_fields: tuple[str, ...] = SCORED_AD_FIELDS,
    errors: str | os.PathLike | None = None,
    strict: bool = False,
    resume: bool = False,
    stream: IO[str] | None = None,
    on_bad: Callable[[BadRecord], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    summary: BatchSummary | None = None,
) -> BatchSummary:
    """Score every ad of `inputs` (files, directories, `-`) and/or `text` into `out`.

    Writes one `scored_record` per ad, JSON Lines, CSV or Parquet (`output_format`), to `out`
    atomically (to `stream`, default stdout, when `out` is None), each as soon as it is
    scored. Bad records are skipped, passed to `on_bad`, and listed in `errors` (default
    `OUT.errors.jsonl`); with `strict` the first one raises StrictModeError. `resume`
    continues from `OUT.partial`, and refuses one written by another model name, version,
    runtime or precision (ResumeError). The model is `scorer`, else `load_scorer(model,
    **model_options)` (its load time is in `summary.load_seconds` and `summary.seconds`).
    `on_progress(records_done, input_bytes_read)` is called after each ad written; `summary`
    (a BatchSummary, filled as the run goes) lets a caller watch it.

    Raises InputError (missing input), ValueError (bad option, or a partial output that
    cannot be resumed), StrictModeError, OutputError (OUT is a directory or a symlink; checked
    before any work), OSError (e.g. a full disk: OUT.partial is kept for `resume`), and
    KeyboardInterrupt within POLL_SECONDS of Ctrl-C (OUT.partial keeps every ad scored).
    """
    check_inputs(inputs)
    mapping = parse_map(mapping)
    if input_format not in FORMATS:
        raise InvalidValueError(f"unknown input format {input_format!r} (one of: {', '.join(FORMATS)})")
    unknown = [f for f in ad_fields if f not in Ad.__dataclass_fields__]  # type: ignore[attr-defined]
    if unknown:
        raise InvalidValueError(
            f"unknown ad field(s) {', '.join(unknown)} (one of: {', '.join(Ad.__dataclass_fields__)})"
        )  # type: ignore[attr-defined]
    if out is not None and str(out) == "-":
        out = None
    if out is not None:
        check_output_path(out)  # an existing directory at OUT is found now, not after the whole run
    if errors is not None:
        check_output_path(errors)
    summary = summary if summary is not None else BatchSummary()
    started = time.perf_counter()
    if scorer is None:
        scorer = _load_interruptibly(model, model_options or {})
        summary.load_seconds = time.perf_counter() - started
    errors_path = Path(errors) if errors is not None else (default_errors_path(out) if out is not None else None)
    summary.output = str(out) if out is not None else None
    summary.errors_path = str(errors_path) if errors_path else None
    # bad records stream to ERRORS.partial and are renamed into place at the end, even
    # when the run stops: the list is the report of what was seen
    error_writer = RecordWriter(errors_path, "jsonl") if errors_path is not None else None
    error_lock = threading.Lock()  # bad records arrive from the scoring thread
    errors_open = [error_writer is not None]

    def record_bad(rec: BadRecord) -> None:
        with error_lock:
            if errors_open[0]:
                error_writer.write(rec.to_dict())  # type: ignore[union-attr]
        if on_bad:
            on_bad(rec)

    def bytes_read(n: int) -> None:
        summary.bytes_read += n

    def written(n: int) -> None:
        if on_progress:
            on_progress(n, summary.bytes_read)

    try:
        writer = _open_writer(out, output_format, ad_fields, resume=resume, stream=stream)
        try:
            if writer.partial_model and model_identity(writer.partial_model) != model_identity(scorer.info):
                raise ResumeError(
                    f"{partial_path(out)} was scored by {model_label(writer.partial_model)}, "  # type: ignore[arg-type]
                    f"not {model_label(scorer.info)}; rerun without --resume (or with that model, runtime and precision)"
                )
            records = iter_records(
                inputs, text=text, encoding=encoding, mapping=mapping, input_format=input_format, on_bytes=bytes_read
            )
            with writer:
                score_records(
                    records,
                    scorer,
                    writer,
                    strict=strict,
                    ad_fields=ad_fields,
                    on_bad=record_bad,
                    on_written=written,
                    summary=summary,
                )
        except BaseException:
            writer.abort()
            raise
    finally:
        summary.seconds = time.perf_counter() - started
        if error_writer is not None:
            with error_lock:
                errors_open[0] = False
                error_writer.commit()
    return summary


def _open_writer(
    out: str | os.PathLike | None,
    fmt: str,
    ad_fields: tuple[str, ...] = (),
    resume: bool = False,
    stream: IO[str] | None = None,
) -> RecordWriter:
    """The writer for an output format: `ParquetRecordWriter` for "parquet" (the [parquet]
    extra; pyarrow is imported only then), else `RecordWriter`."""
    if fmt == "parquet":
        from .extras import require

        require("pyarrow", "parquet", feature="Parquet output")
        from .writers_parquet import ParquetRecordWriter

        return ParquetRecordWriter(out, ad_fields, resume=resume, stream=stream)
    return RecordWriter(out, fmt, ad_fields, resume=resume, stream=stream)
