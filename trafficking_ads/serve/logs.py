"""Log lines of the service: every line carries the request id it belongs to.

The id lives in a context variable set by the middleware for each request (and by the
batcher, as the ids of the requests in a batch), and a logging filter copies it into each
record, so lines from the app, the batcher and uvicorn itself all show it (`-` outside any
request). What goes into messages is the callers' business: by default they log counts,
bands and timings, never ad text or contacts (see `ServeSettings.log_ads`).
"""

from __future__ import annotations

import contextvars
import logging
import sys

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id` from the current context."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def setup_logging(level: str = "info", stream=None) -> logging.Handler:
    """One stderr handler on the root logger (uvicorn's loggers propagate to it); returns it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for h in list(root.handlers):
        if any(isinstance(f, RequestIdFilter) for f in h.filters):
            root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)  # other libraries: warnings and errors only
    for name in ("trafficking_ads", "uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
        lg.setLevel(level.upper())
    return handler
