"""Running the service under uvicorn: one process, one socket, a graceful SIGTERM.

The socket is bound here (so `--port 0` picks a free port and the log says which), uvicorn
serves the app on it, and SIGTERM/SIGINT stop it gracefully: no new connections, in-flight
requests finish (at most `shutdown_timeout` seconds), queued work drains, exit code 0.
"""

from __future__ import annotations

import logging
import signal
import socket

import uvicorn

from .app import create_app
from .settings import ServeSettings

log = logging.getLogger("trafficking_ads.serve")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (IPv6 when the host is an IPv6 address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve(settings: ServeSettings) -> int:
    """Serve until SIGTERM/SIGINT; returns the exit code (0 after a graceful stop, 1 when the model failed to load).

    Raises ValueError/FileNotFoundError (bad settings, no model, bad key file) and OSError
    (address in use) before anything is loaded."""
    app = create_app(settings)
    sock = bind(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=settings.shutdown_timeout,
        log_level=settings.log_level.lower(),
    )
    server = uvicorn.Server(config)
    failed: list[str] = []

    def fatal(reason: str) -> None:
        failed.append(reason)
        server.should_exit = True

    app.state.on_fatal = fatal
    if not settings.loopback and settings.api_key_file is None:
        log.warning(
            "listening on %s without --api-key-file: anyone who can reach this address can use the service", host
        )
    log.info("listening on http://%s:%d (docs at /docs)", f"[{host}]" if ":" in host else host, port)
    # uvicorn re-raises the signal it stopped on once it has shut down; with these handlers
    # that is a no-op, so a graceful stop exits 0 instead of dying by the signal.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
    return 1 if failed else 0
