"""Connecting to Ray: a local instance, a running cluster (`auto`) or a Ray Client address."""

from __future__ import annotations

import logging
import os
from typing import Any

INSTALL_HINT = 'Ray is not installed: pip install "trafficking-ads[ray]" (Ray Data, ray[data])'
#: Ray's switch for single-machine instances: with it off, a local instance takes 127.0.0.1
#: as its node address and every Ray server binds to loopback only. Read when `ray` is
#: imported, so it is set before that (`connect` does, for a local instance).
LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def require_ray() -> Any:
    """The `ray` module, or an ImportError saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:
        raise ImportError(INSTALL_HINT) from e
    return ray


def connect(address: str | None = None, num_cpus: int | None = None, quiet: bool = True) -> Any:
    """Start or join Ray once per process; returns the `ray` module.

    `address` None starts a local instance (all CPUs, or `num_cpus`) listening on loopback
    only (when `ray` was not imported before: see LOCAL_ONLY_ENV); "auto" joins the
    cluster this machine belongs to; "ray://HOST:PORT" goes through Ray Client. An
    instance already running in this process is reused as it is. The working tree is
    shipped to local workers through PYTHONPATH (they inherit this environment); on a real
    cluster the package reaches the workers as a wheel (docs/distributed.md).
    """
    if address is None:
        os.environ.setdefault(LOCAL_ONLY_ENV, "0")
    ray = require_ray()
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "logging_level": logging.WARNING if quiet else logging.INFO,
        }
        if address is None:
            kwargs["num_cpus"] = num_cpus
            kwargs["runtime_env"] = (
                {"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}} if os.environ.get("PYTHONPATH") else None
            )
        ray.init(address=address, **{k: v for k, v in kwargs.items() if v is not None})
    quiet_data(quiet)
    return ray


def quiet_data(quiet: bool = True) -> None:
    """No progress bars or per-operator log lines from Ray Data when `quiet`."""
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = not quiet
    if hasattr(ctx, "print_on_execution_start"):
        ctx.print_on_execution_start = not quiet
    if quiet:
        logging.getLogger("ray.data").setLevel(logging.WARNING)


def cluster_cpus() -> int:
    """CPUs the connected Ray cluster has in all (at least 1)."""
    import ray

    return max(1, int(ray.cluster_resources().get("CPU", 1)))
