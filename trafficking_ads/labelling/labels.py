"""The labels store (`labels.jsonl`): one record per ad, merged across imports, with provenance.

Each line::

    {"ad_id", "text", "title", "label": 0|1|null, "verdict": "deceptive|legitimate|unsure",
     "indicators": [...], "spans": [{start, end, text, label}], "annotations": [provenance...],
     "conflict": bool, "resolution": "...", "updated_at": "..."}

Merge rules (why: an ad is often labelled twice — re-exported projects, second opinions):

- per annotator only their newest annotation counts: re-importing the same export, or an
  annotator correcting themselves, replaces the older annotation (identical label: the
  newest provenance is kept; changed label: the newest wins, it is not a conflict);
- across annotators, "unsure" abstains; if the decisive verdicts agree, that is the label;
- if they disagree, the record is marked `conflict: true` and resolved by **majority**
  of the decisive verdicts; a tie resolves to `unsure` (label null: not used for training
  until someone breaks it). Every conflict is reported and stays visible in the record
  (`resolution`, and each annotation's verdict).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..problems import DataError, Problems
from ..records import Ad
from ..atomic import write_jsonl as atomic_write_jsonl
from .files import iter_jsonl
from .labelstudio import Annotation
from .vocab import vocabulary


@dataclass
class LabelRecord:
    """One labelled ad in the store (see the module docstring for the merge rules)."""

    ad_id: str
    text: str
    title: str | None
    label: int | None
    verdict: str
    indicators: list[str] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    conflict: bool = False
    resolution: str = "single"
    updated_at: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LabelRecord":
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in names})

    def to_ad(self) -> Ad:
        """The record as a training `Ad` (source "label"; indicators and provenance in meta)."""
        meta = {
            "indicators": list(self.indicators),
            "annotators": sorted({a.get("annotator", "") for a in self.annotations}),
        }
        meta.update({k: v for k, v in self.meta.items() if k not in meta})
        return Ad(
            text=self.text,
            id=self.ad_id,
            title=self.title,
            label=self.label,
            source="label",
            url=self.meta.get("url"),
            location=self.meta.get("location"),
            language=self.meta.get("lang") or None,
            meta=meta,
        )


@dataclass
class MergeResult:
    """The merged store, the conflicts found, and counts of what changed."""

    records: list[LabelRecord]
    conflicts: list[dict[str, Any]]
    stats: dict[str, int]


def _time_key(a: dict[str, Any]) -> tuple[str, str]:
    return (a.get("updated_at") or a.get("created_at") or "", a.get("created_at") or "")


def resolve(annotations: Sequence[dict[str, Any]]) -> tuple[str, bool, str, list[dict[str, Any]]]:
    """(verdict, conflict, resolution, kept annotations) from provenance dicts (see module docstring)."""
    newest: dict[str, dict[str, Any]] = {}
    for a in sorted(annotations, key=_time_key):
        who = a.get("annotator") or "unknown"
        if who == "unknown":  # no annotator recorded: each annotation is its own voice
            who = f"unknown:{a.get('source_file')}:{a.get('task_id')}:{a.get('annotation_id')}"
        newest[who] = a  # later (newer) replaces earlier
    kept = sorted(newest.values(), key=_time_key)
    votes = Counter(a["verdict"] for a in kept if a["verdict"] != "unsure")
    if not votes:
        return "unsure", False, "unsure" if kept else "none", kept
    if len(votes) == 1:
        (verdict,) = votes
        return verdict, False, "agreed" if len(kept) > 1 else "single", kept
    (top, n_top), (_, n_second) = votes.most_common(2)
    tally = ", ".join(f"{v} {n}" for v, n in sorted(votes.items()))
    if n_top > n_second:
        return top, True, f"majority ({tally})", kept
    return "unsure", True, f"tie ({tally}) -> unsure", kept


def _record(ad_id: str, base: dict[str, Any], annotations: list[dict[str, Any]]) -> LabelRecord:
    vocab = vocabulary()
    verdict, conflict, resolution, kept = resolve(annotations)
    agreeing = [a for a in kept if a["verdict"] == verdict] or kept
    indicators: list[str] = []
    spans: list[dict[str, Any]] = []
    seen: set[tuple[int, int, str]] = set()
    for a in agreeing:
        indicators += [i for i in a.get("indicators") or [] if i not in indicators]
        for s in a.get("spans") or []:
            key = (s["start"], s["end"], s["label"])
            if key not in seen:
                seen.add(key)
                spans.append(s)
    spans.sort(key=lambda s: (s["start"], s["end"], s["label"]))
    return LabelRecord(
        ad_id=ad_id,
        text=base["text"],
        title=base.get("title"),
        label=vocab.label_of(verdict),
        verdict=verdict,
        indicators=indicators,
        spans=spans,
        annotations=kept,
        conflict=conflict,
        resolution=resolution,
        updated_at=max((_time_key(a)[0] for a in kept), default=None) or None,
        meta=dict(base.get("meta") or {}),
    )


def merge(existing: Iterable[LabelRecord], new: Iterable[Annotation]) -> MergeResult:
    """Merge new annotations into existing records (order of records: existing first, then new ads)."""
    by_id: dict[str, dict[str, Any]] = {}
    anns: dict[str, list[dict[str, Any]]] = {}
    stats = Counter()
    for r in existing:
        by_id[r.ad_id] = {"text": r.text, "title": r.title, "meta": r.meta, "verdict": r.verdict}
        anns[r.ad_id] = list(r.annotations)
        stats["existing"] += 1
    for a in new:
        stats["annotations"] += 1
        if a.ad_id not in by_id:
            by_id[a.ad_id] = {"text": a.text, "title": a.title, "meta": dict(a.extra), "verdict": None}
            anns[a.ad_id] = []
            stats["new_ads"] += 1
        elif by_id[a.ad_id]["text"] != a.text:
            # same ad id, edited text (the task data was changed): the newest text wins
            by_id[a.ad_id]["text"] = a.text
            stats["text_changed"] += 1
        anns[a.ad_id].append(a.provenance())
    records: list[LabelRecord] = []
    conflicts: list[dict[str, Any]] = []
    for ad_id, base in by_id.items():
        rec = _record(ad_id, base, anns[ad_id])
        if base["verdict"] is not None and base["verdict"] != rec.verdict:
            stats["changed_verdict"] += 1
        if rec.conflict:
            conflicts.append(
                {
                    "ad_id": ad_id,
                    "votes": {a["annotator"]: a["verdict"] for a in rec.annotations},
                    "verdict": rec.verdict,
                    "resolution": rec.resolution,
                }
            )
        records.append(rec)
    stats["records"] = len(records)
    stats["conflicts"] = len(conflicts)
    stats["trainable"] = sum(r.label is not None for r in records)
    return MergeResult(records=records, conflicts=conflicts, stats=dict(stats))


def read_labels(path: str | os.PathLike, *, problems: Problems | None = None) -> list[LabelRecord]:
    """The records of a labels.jsonl (bad lines reported with file and line, and skipped)."""
    p = Path(path)
    problems = problems if problems is not None else Problems()
    if not p.is_file():
        raise DataError(f"{p}: no such labels file")
    vocab = vocabulary()
    out: list[LabelRecord] = []
    for i, line in iter_jsonl(p):
        try:
            d = json.loads(line)
        except ValueError as exc:
            problems.report(p, i, None, f"not JSON ({exc})")
            continue
        if not isinstance(d, dict):
            problems.report(p, i, None, "not a JSON object")
            continue
        missing = [k for k in ("ad_id", "text", "verdict") if not d.get(k)]
        if missing:
            problems.report(p, i, missing[0], "missing")
            continue
        if d["verdict"] not in vocab.verdicts:
            problems.report(
                p, i, "verdict", f"unknown verdict {d['verdict']!r} (expected one of {', '.join(vocab.verdicts)})"
            )
            continue
        if d.get("label") != vocab.label_of(d["verdict"]):
            problems.report(p, i, "label", f"label {d.get('label')!r} does not match verdict {d['verdict']!r}")
            continue
        out.append(LabelRecord.from_dict(d))
    return out


def write_labels(path: str | os.PathLike, records: Sequence[LabelRecord]) -> Path:
    """Write the store atomically (temp file + rename)."""
    return atomic_write_jsonl(path, [r.to_dict() for r in records])


def training_ads(records: Iterable[LabelRecord]) -> list[Ad]:
    """The records usable for training (label 0/1) as Ads; `unsure` and unresolved ties are left out."""
    return [r.to_ad() for r in records if r.label in (0, 1)]
