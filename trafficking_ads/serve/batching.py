"""Dynamic batching: concurrent requests coalesced into model batches, behind a bounded queue.

Requests `submit` their ads and wait. One worker takes queued requests, oldest first, and
scores them in one call on a single scoring thread (the scorer uses every core itself);
while a batch runs, the next one fills. Before taking a batch the worker waits — at most
`max_wait` seconds after the oldest request arrived or the worker became free, whichever
is later — until as many ads are queued as were
recently in the system (the last batch plus what arrived while it ran, capped at
`max_batch`): clients that just got their answers are about to send again, so 64 clients
keep forming batches of 64 instead of splitting into groups that take turns, while a lone
client never waits for company that is not coming. The queue is bounded in ads: a request that would overflow it is refused
at once with `QueueFull` (the app answers 503 with Retry-After), so a burst never becomes an
unbounded backlog. A request whose client has gone is cancelled, and its ads leave the queue
before they reach the model.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Sequence

from ..errors import ScorerError, TraffickingAdsError
from ..records import Ad, Assessment
from .logs import request_id_var
from .metrics import Metrics

log = logging.getLogger("trafficking_ads.serve.batching")

ScoreFn = Callable[[list[Ad]], list[Assessment]]


class QueueFull(TraffickingAdsError):
    """The queue has no room for this request; retry after `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"queue full, retry after {retry_after} s")
        self.retry_after = retry_after


class Closed(TraffickingAdsError):
    """The batcher is shutting down and takes no new work."""


class ScoringFailed(TraffickingAdsError):
    """The model raised while scoring a batch this request was in."""


@dataclass(eq=False)
class _Job:
    ads: list[Ad]
    future: asyncio.Future
    request_id: str
    enqueued: float = field(default_factory=time.monotonic)


class Batcher:
    """Coalesces `submit` calls into batches of at most `max_batch` ads for `score`."""

    def __init__(
        self, score: ScoreFn, *, max_batch: int, max_wait: float, max_queue: int, metrics: Metrics | None = None
    ) -> None:
        self._score = score
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_queue = max_queue
        self.metrics = metrics
        self._jobs: deque[_Job] = deque()
        self.queued_ads = 0
        self.running_ads = 0
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        #: Ads per second of recent batches (for Retry-After); None until a batch has run.
        self.rate: float | None = None
        self.batches = 0
        #: Ads the next batch waits for: the last batch plus the ads that arrived while it ran.
        self.expected = 1
        self._arrived = 0  # ads submitted so far (admitted ones)

    # -------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Start the worker on the running event loop."""
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="score")
        self._task = asyncio.get_running_loop().create_task(self._run(), name="batcher")

    async def close(self) -> None:
        """Take no new work, finish what is queued, stop the worker."""
        self._closed = True
        if self._wakeup is not None:
            self._wakeup.set()
        if self._task is not None:
            await self._task
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    # -------------------------------------------------------------- requests

    def retry_after(self) -> int:
        """Seconds until the queue has likely drained (1-60)."""
        backlog = self.queued_ads + self.running_ads
        rate = self.rate or 10.0
        return max(1, min(60, math.ceil(backlog / rate)))

    async def submit(self, ads: Sequence[Ad], request_id: str = "-") -> list[Assessment]:
        """Score `ads` in whatever batch they join; raises QueueFull, Closed or ScoringFailed.

        Cancelling the call (the client went away) takes its ads out of the queue."""
        if self._closed or self._task is None:
            raise Closed()
        n = len(ads)
        if self.queued_ads and self.queued_ads + n > self.max_queue:
            if self.metrics:
                self.metrics.rejected.inc()
            raise QueueFull(self.retry_after())
        job = _Job(list(ads), asyncio.get_running_loop().create_future(), request_id)
        self._jobs.append(job)
        self._arrived += n
        self._queued(n)
        self._wakeup.set()
        try:
            return await job.future
        except asyncio.CancelledError:
            self._drop(job)
            raise

    def _queued(self, delta: int) -> None:
        self.queued_ads += delta
        if self.metrics:
            self.metrics.queue_depth.set(self.queued_ads)

    def _drop(self, job: _Job) -> None:
        """Remove a cancelled job that has not reached the model yet."""
        try:
            self._jobs.remove(job)
        except ValueError:
            return  # already taken into a batch: its result is simply discarded
        self._queued(-len(job.ads))
        if self.metrics:
            self.metrics.dropped.inc(len(job.ads))
        log.info("client gone: %d queued ads dropped", len(job.ads))

    # -------------------------------------------------------------- the worker

    async def _wait(self, timeout: float | None) -> bool:
        """Wait for new work (or close); False on timeout."""
        self._wakeup.clear()
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def _take(self) -> list[_Job]:
        """The oldest jobs that fit in one batch (at least one, however large)."""
        batch: list[_Job] = []
        total = 0
        while self._jobs:
            job = self._jobs[0]
            if batch and total + len(job.ads) > self.max_batch:
                break
            self._jobs.popleft()
            if job.future.done():  # cancelled between its drop and now
                continue
            batch.append(job)
            total += len(job.ads)
        self._queued(-sum(len(j.ads) for j in batch))
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._jobs:
                if self._closed:
                    return
                await self._wait(None)
            # Fill: until the expected ads are queued, or max_wait has passed since the oldest
            # job came or the worker became free (a job that waited out a running batch does
            # not stop the next batch from filling).
            free_since = time.monotonic()
            while self.queued_ads < min(self.max_batch, self.expected) and not self._closed:
                start = max(self._jobs[0].enqueued, free_since) if self._jobs else 0
                remaining = start + self.max_wait - time.monotonic() if self._jobs else 0
                if remaining <= 0 or not await self._wait(remaining):
                    break
            if not self._jobs:
                continue
            batch = self._take()
            if not batch:
                continue
            ads = [ad for job in batch for ad in job.ads]
            self.running_ads = len(ads)
            token = request_id_var.set(",".join(j.request_id for j in batch))
            arrived_before = self._arrived
            t0 = time.perf_counter()
            try:
                results = await loop.run_in_executor(self._executor, self._score, ads)
                if len(results) != len(ads):
                    raise ScorerError(f"scorer returned {len(results)} assessments for {len(ads)} ads")
            except Exception as exc:  # noqa: BLE001 - every waiting request gets the failure
                log.error(
                    "scoring a batch of %d ads failed: %s",
                    len(ads),
                    type(exc).__name__,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(ScoringFailed(type(exc).__name__))
                continue
            finally:
                self.running_ads = 0
                request_id_var.reset(token)
            dt = time.perf_counter() - t0
            self.batches += 1
            self.expected = len(ads) + (self._arrived - arrived_before)
            rate = len(ads) / dt if dt > 0 else None
            if rate:
                self.rate = rate if self.rate is None else 0.7 * self.rate + 0.3 * rate
            if self.metrics:
                self.metrics.batch_size.observe(len(ads))
                self.metrics.batch_seconds.observe(dt)
                for a in results:
                    self.metrics.assessments.labels(band=a.band).inc()
            log.debug("batch of %d ads from %d requests in %.3f s", len(ads), len(batch), dt)
            k = 0
            for job in batch:
                part = results[k : k + len(job.ads)]
                k += len(job.ads)
                if not job.future.done():
                    job.future.set_result(part)
