"""Reading scored JSONL files (`trafficking-ads score` output): for reports, explanations, clustering and labelling.

Bad lines are skipped and reported with file, line and reason; under `strict` the first
one raises `ScoredInputError`. Ads are keyed by `ad_id`: a repeat is skipped and reported,
so a report never counts an ad twice.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

from .problems import Problem
from .errors import InvalidValueError, TraffickingAdsError
from .records import Assessment, read_scored

__all__ = ["Problem", "ScoredInputError", "iter_scored", "iter_scored_lines", "is_scored_file", "parse_scored_line"]


class ScoredInputError(TraffickingAdsError, ValueError):
    """A bad line in a scored file, raised under strict mode."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


def parse_scored_line(line: str) -> tuple[dict[str, Any], Assessment]:
    """Parse one scored line, with a readable reason when it is not one."""
    try:
        ad, assessment = read_scored(line)
    except json.JSONDecodeError as exc:
        raise InvalidValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    except KeyError as exc:
        raise InvalidValueError(f"not a scored record: missing field {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvalidValueError(f"not a scored record: {exc}") from None
    if not isinstance(ad, dict):
        raise InvalidValueError("field 'ad' is not an object")
    if assessment.band not in ("low", "medium", "high"):
        raise InvalidValueError(f"field 'band': unknown band {assessment.band!r}")
    if not 0.0 <= assessment.risk <= 1.0:
        raise InvalidValueError(f"field 'risk': {assessment.risk} is outside [0, 1]")
    for hit in assessment.indicators:
        if not math.isfinite(hit.weight):
            raise InvalidValueError(f"indicator {hit.id!r}: weight {hit.weight} is not a finite number")
    for key, value in assessment.components.items():
        if not math.isfinite(value):
            raise InvalidValueError(f"component {key!r}: {value} is not a finite number")
    if assessment.network is not None and not isinstance(assessment.network, dict):
        raise InvalidValueError("field 'network' is neither null nor an object")
    for name in ("text", "title", "url", "source", "posted_at", "location", "contacts", "company_name"):
        if ad.get(name) is not None and not isinstance(ad[name], str):
            raise InvalidValueError(f"field 'ad.{name}' is not a string")
    return ad, assessment


def iter_scored_lines(
    paths: Iterable[str | os.PathLike],
    problems: list[Problem] | None = None,
    strict: bool = False,
) -> Iterator[tuple[str, int, dict[str, Any], Assessment]]:
    """Yield (path, line number, ad fields, Assessment) from scored JSONL files.

    The one reader of scored files: bad lines and repeated ad ids are skipped and appended
    to `problems` (or raise `ScoredInputError` under `strict`).
    """
    seen: dict[str, str] = {}
    for path in paths:
        with Path(path).open(encoding="utf-8", errors="replace") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                problem = None
                try:
                    ad, assessment = parse_scored_line(line)
                except ValueError as exc:
                    problem = Problem(str(path), "not_scored", str(exc), line=n)
                else:
                    first = seen.get(assessment.ad_id)
                    if first is not None:
                        problem = Problem(
                            str(path),
                            "duplicate_id",
                            f"duplicate ad_id {assessment.ad_id!r} (first at {first}); skipped",
                            line=n,
                        )
                if problem is not None:
                    if strict:
                        raise ScoredInputError(problem)
                    if problems is not None:
                        problems.append(problem)
                    continue
                seen[assessment.ad_id] = f"{path}:{n}"
                yield str(path), n, ad, assessment


def iter_scored(
    paths: Iterable[str | os.PathLike],
    problems: list[Problem] | None = None,
    strict: bool = False,
) -> Iterator[tuple[dict[str, Any], Assessment]]:
    """Yield (ad fields, Assessment) from scored JSONL files, skipping and noting bad lines."""
    for _path, _n, ad, assessment in iter_scored_lines(paths, problems, strict):
        yield ad, assessment


def is_scored_file(path: str | os.PathLike, probe: int = 5) -> bool:
    """True when one of the first `probe` non-empty lines is a scored record (one bad line
    at the top must not make a scored file look like raw ads)."""
    with Path(path).open(encoding="utf-8", errors="replace") as fh:
        seen = 0
        for line in fh:
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError:
                d = None
            if isinstance(d, dict) and {"ad_id", "risk", "band", "model"} <= d.keys():
                return True
            seen += 1
            if seen >= probe:
                break
    return False
