"""`trafficking-ads cluster --engine ray`: option checks and connection; the work is
`trafficking_ads.distributed.cluster.cluster_inputs`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer


def cluster_with_ray(
    scored: list[Path],
    out: Path,
    *,
    address: Optional[str],
    min_size: int,
    annotate_dir: Optional[Path],
    unsupported: dict[str, bool],
) -> Any:
    """Cluster on Ray and return the `ClusterRun`; exit 1 on an option the Ray engine lacks or a missing input."""
    given = [name for name, on in unsupported.items() if on]
    if given:
        typer.echo(f"error: {', '.join(given)} not available with --engine ray", err=True)
        raise typer.Exit(1)
    try:
        from ..distributed.cluster import cluster_inputs
        from ..distributed.session import connect

        connect(address)
        return cluster_inputs(scored, out, min_size=min_size, annotate_dir=annotate_dir)
    except (FileNotFoundError, ImportError, ConnectionError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1)
