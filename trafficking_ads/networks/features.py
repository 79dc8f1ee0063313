"""Per-cluster statistics and the features each member's assessment receives.

A cluster is a set of ads linked by one template or by shared contacts. What makes it
suspicious is its spread: the same template in five or more cities, one phone across many
employers. The thresholds live in `data/thresholds.json`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any


@lru_cache(maxsize=1)
def thresholds() -> dict[str, Any]:
    """Cluster thresholds and LSH settings (`data/thresholds.json`)."""
    return json.loads(resources.files(__package__).joinpath("data/thresholds.json").read_text(encoding="utf-8"))


@dataclass(slots=True)
class Member:
    """What the index keeps of one ad: enough to describe its clusters without the ad."""

    id: str
    tokens: str  # slot-normalized template tokens, space-joined
    contacts: list[str]
    cities: list[str]
    lang: str | None = None
    posted_at: str | None = None
    risk: float | None = None
    employer: str | None = None


@dataclass(slots=True)
class Cluster:
    """One template cluster or contact network with its summary."""

    id: str
    kind: str  # "template" | "contact"
    members: list[str]
    cities: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)
    employers: list[str] = field(default_factory=list)
    first_posted: str | None = None
    last_posted: str | None = None
    max_risk: float | None = None
    mean_risk: float | None = None
    template: str | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.members)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["size"] = self.size
        return d


def summarize(cluster_id: str, kind: str, members: list[Member], template: str | None = None) -> Cluster:
    """Build a cluster's summary and flags from its members."""
    th = thresholds()
    cities = sorted({c for m in members for c in m.cities})
    dates = sorted(m.posted_at for m in members if m.posted_at)
    risks = [m.risk for m in members if m.risk is not None]
    employers = sorted({m.employer.strip().lower() for m in members if m.employer and m.employer.strip()})
    contacts = sorted({c for m in members for c in m.contacts})
    flags = []
    if kind == "template" and len(cities) >= th["many_cities"]:
        flags.append("template_many_cities")
    if kind == "contact" and len(employers) >= th["many_employers"]:
        flags.append("contact_many_employers")
    if kind == "contact" and len(members) >= th["many_ads_one_contact"]:
        flags.append("contact_many_ads")
    return Cluster(
        id=cluster_id,
        kind=kind,
        members=[m.id for m in members],
        cities=cities,
        languages=sorted({m.lang for m in members if m.lang}),
        contacts=contacts,
        employers=employers,
        first_posted=dates[0] if dates else None,
        last_posted=dates[-1] if dates else None,
        max_risk=max(risks) if risks else None,
        mean_risk=round(sum(risks) / len(risks), 4) if risks else None,
        template=template,
        flags=flags,
    )


_REASONS = {
    "template_many_cities": "the same template is posted in {n_cities} cities",
    "contact_many_employers": "its contact is shared by {n_employers} different employers",
    "contact_many_ads": "its contact appears in {n_contact} ads",
}


def member_network(template: Cluster | None, contact: Cluster | None) -> dict[str, Any] | None:
    """The `Assessment.network` dict for an ad in these clusters (None when in neither)."""
    if template is None and contact is None:
        return None
    flags = (template.flags if template else []) + (contact.flags if contact else [])
    facts = {
        "n_cities": len(template.cities) if template else 0,
        "n_employers": len(contact.employers) if contact else 0,
        "n_contact": contact.size if contact else 0,
    }
    return {
        "template_cluster": template.id if template else None,
        "template_size": template.size if template else 1,
        "template_cities": len(template.cities) if template else 0,
        "contact_cluster": contact.id if contact else None,
        "contact_size": contact.size if contact else 1,
        "contact_employers": len(contact.employers) if contact else 0,
        "shared_contacts": contact.contacts[:10] if contact else [],
        "cluster_max_risk": max(
            (c.max_risk for c in (template, contact) if c and c.max_risk is not None), default=None
        ),
        "flags": flags,
        "reasons": [_REASONS[f].format(**facts) for f in flags],
    }
