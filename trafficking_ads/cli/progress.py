"""The `score` progress line on stderr: ads scored, rate, elapsed time and a real ETA.

Counts move with every ad written (`update` is `score_file`'s `on_progress`). The total is
estimated from the input: records read so far times input bytes over bytes read, so the
bar and the ETA are in ads, not in bytes the reader has buffered ahead of the scorer.
Before the first ad it says what it waits for (the model loading, or its first batch).
"""

from __future__ import annotations

import time
from typing import Any

from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from ..batch import BatchSummary


class _Stage(ProgressColumn):
    """What the run is doing now, read from the live summary at each refresh."""

    def __init__(self, summary: BatchSummary) -> None:
        super().__init__()
        self.summary = summary

    def render(self, task: Any) -> Text:
        s = self.summary
        if s.model is None:
            return Text("loading model")
        # ads the scorer has taken from the input but not yet returned (it works in chunks)
        in_model = s.read - s.scored - s.resumed - s.skipped_total
        return Text(f"scoring ({in_model:,} in the model)" if in_model > 0 else "scoring")


class ScoreProgress:
    """A transient rich progress display bound to one run's `BatchSummary`."""

    def __init__(self, console: Any, summary: BatchSummary, total_bytes: int | None) -> None:
        self.summary = summary
        self.total_bytes = total_bytes or None
        self.progress = Progress(
            _Stage(summary),
            BarColumn(),
            TextColumn("{task.completed:,.0f} ads{task.fields[of]}, {task.fields[rate]}/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("score", total=None, of="", rate="–")

    def start(self) -> None:
        self.progress.start()

    def stop(self) -> None:
        self.progress.stop()

    def estimated_total(self) -> int | None:
        """Records in the whole input, from the share of its bytes read so far (None: unknown)."""
        s = self.summary
        if not self.total_bytes or not s.bytes_read or not s.read:
            return None
        if s.bytes_read >= self.total_bytes:
            return s.read
        return max(s.read, round(s.read * self.total_bytes / s.bytes_read))

    def update(self, done: int, _bytes_read: int = 0) -> None:
        """After each ad written: `done` counts ads written (this run and resumed)."""
        s = self.summary
        # the rate since the model got its first ad (loading left out here; the summary at
        # the end gives the rate over the whole run)
        elapsed = time.perf_counter() - (s.scoring_started or time.perf_counter())
        rate = s.scored / elapsed if elapsed > 0 else 0.0
        total = self.estimated_total()
        completed = done + s.skipped_total
        self.progress.update(
            self.task,
            completed=completed,
            total=max(total, completed) if total else None,
            of=f" of ~{total:,}" if total else "",
            rate=f"{rate:.1f}" if rate else "–",
        )
