"""The model inside a Ray actor: loaded once per actor, threads from the actor's CPUs.

`ModelActor` is the base of the stateful classes that `map_batches` runs (`dataset.AdBatchScorer`
for Dataset rows, `run.ShardScorer` for the CLI's shards). Scoring goes through
`load_scorer(...).score_many` and every assessment is serialized by `records.scored_record`,
as the local writer does, so a Ray run writes what a local run writes.
"""

from __future__ import annotations

import os
from typing import Any, Iterable

from ..errors import ScorerError
from ..records import SCORED_AD_FIELDS, Ad, scored_record

#: Environment variable the model runtimes read their thread count from (model/fast.py).
THREADS_ENV = "TRAFFICKING_ADS_THREADS"


def actor_cpus() -> int:
    """CPUs Ray assigned to the calling actor (1 outside an actor or when fractional)."""
    try:
        import ray

        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1)
    except Exception:  # noqa: BLE001 - outside Ray: one thread
        cpus = 1
    return max(1, int(cpus))


class ModelActor:
    """Holds one loaded scorer for the actor's lifetime."""

    def __init__(
        self,
        model: str | None = None,
        opts: dict[str, Any] | None = None,
        ad_fields: tuple[str, ...] = SCORED_AD_FIELDS,
    ) -> None:
        os.environ[THREADS_ENV] = str(actor_cpus())
        from ..scoring import load_scorer

        self.scorer = load_scorer(model, **(opts or {}))
        self.ad_fields = tuple(ad_fields)

    def records(self, ads: Iterable[Ad]) -> list[dict[str, Any]]:
        """Scored records (`scored_record`) for `ads`, in order."""
        ads = list(ads)
        out = []
        for ad, assessment in zip(ads, self.scorer.score_many(ads)):
            if assessment.ad_id != ad.id:
                raise ScorerError(f"scorer returned {assessment.ad_id!r} where {ad.id!r} was expected")
            out.append(scored_record(ad, assessment, self.ad_fields))
        return out
