"""What one `serve` process is configured with: where it listens, which model, and its limits.

One frozen dataclass, filled by the CLI (or by a caller of `create_app`), checked once at
start-up so a bad value is a usage error before the model is loaded, never a failure later.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidValueError


@dataclass(frozen=True)
class ServeSettings:
    """Limits and switches of the scoring service (the defaults are the CLI's)."""

    #: Model directory or name under models/ (None: models/default or $TRAFFICKING_ADS_MODEL).
    model: str | None = None
    #: Transformer runtime / precision overrides passed to `load_scorer` (None: model.json's).
    runtime: str | None = None
    precision: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    #: A file of API keys, one per line; None serves without authentication.
    api_key_file: Path | None = None
    #: Dynamic batching: at most this many ads per model batch ...
    max_batch: int = 64
    #: ... waiting at most this long for a batch to fill.
    max_wait_ms: float = 25.0
    #: Ads waiting for the model at most; beyond it requests get 503 with Retry-After.
    max_queue: int = 1024
    #: Ads in one request at most (a `/v1/score` batch, or the tasks of one `/predict`).
    max_request_ads: int = 256
    #: Characters in one ad's text at most.
    max_text_chars: int = 50_000
    #: Bytes in one request body at most (413 beyond it).
    max_body_bytes: int = 8 * 1024 * 1024
    #: Seconds that in-flight requests get to finish after SIGTERM.
    shutdown_timeout: float = 30.0
    #: Write ad text and contacts into the log (off: only counts, bands and timings).
    log_ads: bool = False
    log_level: str = "info"
    #: Operating threshold for the Label Studio verdict (None: the model's model.json).
    threshold: float | None = None
    #: Where the analyst's desk writes labels (labels.jsonl, as `label import` does); None: no labelling.
    label_dir: Path | None = None

    def check(self) -> None:
        """Raise ValueError naming the first bad setting."""
        for name in ("max_batch", "max_queue", "max_request_ads", "max_text_chars", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise InvalidValueError(f"--{name.replace('_', '-')} must be at least 1 (got {getattr(self, name)})")
        if self.max_wait_ms < 0:
            raise InvalidValueError(f"--max-wait-ms must not be negative (got {self.max_wait_ms})")
        if self.shutdown_timeout < 0:
            raise InvalidValueError(f"--shutdown-timeout must not be negative (got {self.shutdown_timeout})")
        if not 0 <= self.port <= 65535:
            raise InvalidValueError(f"--port must be 0-65535 (got {self.port})")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise InvalidValueError(f"--threshold must be within 0-1 (got {self.threshold})")
        if self.log_level.lower() not in ("critical", "error", "warning", "info", "debug"):
            raise InvalidValueError(
                f"--log-level must be one of critical, error, warning, info, debug (got {self.log_level!r})"
            )

    @property
    def loopback(self) -> bool:
        """Whether the service listens on this machine only."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
