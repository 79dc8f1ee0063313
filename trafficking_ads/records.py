"""The record types that flow through the pipeline: an `Ad` in, an `Assessment` out.

Every stage (readers, scraper, indicators, model, report, clustering, labelling) takes and
returns these; nothing re-parses what an earlier stage parsed. One definition each; the JSON
Schema printed by `trafficking-ads schema` is derived from these classes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

Band = Literal["low", "medium", "high"]

#: Ad fields that hold text a human wrote (used for the content hash and for display).
TEXT_FIELDS = ("title", "text", "company_name", "company_profile", "location", "salary", "contacts")
#: Ad fields that hold an optional string (all but text, label, meta and raw): what readers of
#: stored or exchanged ads type-check.
OPTIONAL_STR_FIELDS = (
    "id",
    "title",
    "company_name",
    "company_profile",
    "company_website",
    "location",
    "salary",
    "contacts",
    "url",
    "source",
    "posted_at",
    "language",
)


@dataclass(slots=True)
class Ad:
    """One job or modelling ad, as read from a batch, a scrape or a dataset.

    `text` is the body that indicators and the model read; evidence offsets index it.
    `meta` holds structured metadata a source provides (e.g. EMSCAD's has_company_logo);
    `raw` preserves the input record as it was read, so nothing is lost.
    """

    text: str
    id: str = ""
    title: str | None = None
    company_name: str | None = None
    company_profile: str | None = None
    company_website: str | None = None
    location: str | None = None
    salary: str | None = None
    contacts: str | None = None
    url: str | None = None
    source: str | None = None
    posted_at: str | None = None
    language: str | None = None
    label: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not self.id:
            self.id = content_id(self)

    def to_dict(self, raw: bool = True) -> dict[str, Any]:
        """A JSON-ready dict; `raw=False` leaves the preserved input record out."""
        d = asdict(self)
        if not raw:
            d.pop("raw", None)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Ad":
        """Build an Ad from a dict with the field names above (unknown keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def content_id(ad: Ad) -> str:
    """A stable id from the ad's content: the same ad read twice gets the same id."""
    h = hashlib.sha256()
    for name in TEXT_FIELDS + ("url",):
        value = getattr(ad, name)
        h.update(name.encode())
        h.update(b"\x00")
        h.update((value or "").encode("utf-8", "surrogatepass"))
        h.update(b"\x01")
    return "sha256:" + h.hexdigest()[:24]


@dataclass(slots=True)
class Evidence:
    """A span of the ad that supports an indicator: `ad.<field>[start:end] == text`."""

    start: int
    end: int
    text: str
    field: str = "text"


@dataclass(slots=True)
class IndicatorHit:
    """One risk indicator seen in an ad (ids and categories from docs/indicators.md).

    A negative `weight` marks evidence *against* risk (e.g. an identified employer).
    `evidence` is capped (the engine keeps the first 20 spans); `evidence_total` is the
    full count when spans were left out, else None.
    """

    id: str
    category: str
    weight: float
    evidence: list[Evidence] = field(default_factory=list)
    evidence_total: int | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "IndicatorHit":
        total = d.get("evidence_total")
        return cls(
            id=d["id"],
            category=d["category"],
            weight=float(d["weight"]),
            evidence=[Evidence(**e) for e in d.get("evidence", [])],
            evidence_total=int(total) if total is not None else None,
        )


@dataclass(slots=True)
class ModelInfo:
    """What scored an ad: the model's name and version, and the runtime and precision its
    transformer ran with (e.g. "openvino", "int8"; empty for a model without one).

    Runtime and precision are part of the identity: `score --resume` refuses a partial file
    written with another name, version, runtime or precision."""

    name: str
    version: str
    runtime: str = ""
    precision: str = ""


@dataclass(slots=True)
class Assessment:
    """The verdict on one ad: a calibrated risk, its band, and the evidence behind it.

    `components` holds the parts the risk was built from (e.g. `indicator_score`,
    `transformer_prob`), so an analyst can see why. `network` holds corpus-level signals
    (template cluster, shared contacts) when clustering has run.
    """

    ad_id: str
    risk: float
    band: Band
    indicators: list[IndicatorHit]
    lang: str | None
    model: ModelInfo
    components: dict[str, float] = field(default_factory=dict)
    network: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Assessment":
        return cls(
            ad_id=d["ad_id"],
            risk=float(d["risk"]),
            band=d["band"],
            indicators=[IndicatorHit.from_dict(h) for h in d.get("indicators", [])],
            lang=d.get("lang"),
            model=ModelInfo(**d["model"]),
            components={k: float(v) for k, v in (d.get("components") or {}).items()},
            network=d.get("network"),
        )


#: Ad fields copied into each scored line by default (so later stages need only that file).
SCORED_AD_FIELDS = ("text", "title", "url", "source", "location", "contacts", "posted_at", "company_name")


def scored_record(ad: Ad, assessment: Assessment, ad_fields: tuple[str, ...] = SCORED_AD_FIELDS) -> dict[str, Any]:
    """One line of `score` output: the assessment plus the ad fields later stages need."""
    rec = assessment.to_dict()
    rec["ad"] = {name: getattr(ad, name) for name in ad_fields}
    return rec


def scored_record_from(ad_fields: dict[str, Any], assessment: Assessment) -> dict[str, Any]:
    """A scored line rebuilt from its parts (as returned by `read_scored`)."""
    rec = assessment.to_dict()
    rec["ad"] = ad_fields
    return rec


def read_scored(line: str) -> tuple[dict[str, Any], Assessment]:
    """Parse one line of `score` output back into (ad fields, Assessment)."""
    d = json.loads(line)
    return d.get("ad") or {}, Assessment.from_dict(d)


def json_schema() -> dict[str, Any]:
    """JSON Schema of Ad and Assessment, derived from the dataclasses above."""
    from pydantic import TypeAdapter

    return {
        "Ad": TypeAdapter(Ad).json_schema(),
        "Assessment": TypeAdapter(Assessment).json_schema(),
    }
