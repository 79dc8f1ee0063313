"""`trafficking-ads score --engine ray`: option checks, connection and the summary; the
work is `trafficking_ads.distributed.run.score_inputs`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from .messages import MAX_PRINTED_ERRORS
from .messages import say as _err


def score_with_ray(
    console: Any,
    *,
    inputs: list[str],
    output: Optional[Path],
    model: Optional[str],
    fmt: str,
    address: Optional[str],
    actors: Optional[int],
    encoding: Optional[str],
    mapping: Optional[list[str]],
    input_format: str,
    fields: Optional[str],
    quiet: bool,
    precision: Optional[str],
    runtime: Optional[str],
    unsupported: dict[str, bool],
) -> None:
    """Score INPUTs into the shard directory `output` on Ray; exit 1 on a usage or input error, 130 on Ctrl-C."""
    from ..readers import InputError
    from ..records import SCORED_AD_FIELDS

    given = [name for name, on in unsupported.items() if on]
    if given:
        _err(
            console,
            f"error: {', '.join(given)} not available with --engine ray (re-running the same command resumes it)",
        )
        raise typer.Exit(1)
    if output is None or not inputs:
        _err(console, "error: --engine ray needs INPUT... and -o OUTDIR (a directory of shards)")
        raise typer.Exit(1)
    if output.exists() and not output.is_dir():
        _err(console, f"error: {output} is a file; --engine ray writes a directory of shards")
        raise typer.Exit(1)
    ad_fields = SCORED_AD_FIELDS if fields is None else tuple(f.strip() for f in fields.split(",") if f.strip())
    printed = [0]

    def on_bad(rec) -> None:
        printed[0] += 1
        if quiet:
            return
        if printed[0] <= MAX_PRINTED_ERRORS:
            _err(console, f"skipped: {rec.message()}")
        elif printed[0] == MAX_PRINTED_ERRORS + 1:
            _err(console, f"skipped: … (more bad records; see {output / 'errors'})")

    try:
        from ..distributed.run import score_inputs
        from ..distributed.session import connect

        connect(address)
        opts = {k: v for k, v in (("precision", precision), ("runtime", runtime)) if v}
        summary = score_inputs(
            inputs,
            output,
            model=model,
            fmt=fmt,
            actors=actors,
            ad_fields=ad_fields,
            encoding=encoding,
            mapping=mapping,
            input_format=input_format,
            on_bad=on_bad,
            **opts,
        )
    except (InputError, FileNotFoundError, ValueError, ImportError, ConnectionError) as e:
        _err(console, f"error: {e}")
        raise typer.Exit(1)
    except KeyboardInterrupt:
        _err(console, f"interrupted: finished shards are kept in {output}; run the same command again to continue")
        raise typer.Exit(130)
    if not quiet:
        for line in summary.lines():
            _err(console, line)
