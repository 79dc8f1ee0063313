"""The network picture: clusters as a graph of ads, contacts and templates (TrafficVis's shape).

`network_graphs` turns the clusters of a scored batch into JSON-ready graphs, biggest and
riskiest first, which the analyst's desk draws (a small force layout, no library).
"""

from __future__ import annotations

from typing import Any, Iterable

from ..records import Ad, Assessment
from .features import Cluster
from .index import member_of


def network_graphs(
    records: Iterable[tuple[dict[str, Any], Assessment]],
    clusters: Iterable[Cluster],
    limit: int = 50,
    text_chars: int = 300,
) -> list[dict[str, Any]]:
    """One graph per cluster (at most `limit`), sorted by size then highest risk, descending.

    Nodes: `ad` (id, risk, band, text cut to `text_chars`), `contact` (phone, handle, e-mail or
    URL key) and `template`; edges join an ad to each contact it carries and to its template."""
    by_id: dict[str, tuple[Ad, Assessment]] = {}
    for fields, a in records:
        by_id[a.ad_id] = (
            Ad.from_dict({"text": "", **{k: v for k, v in fields.items() if v is not None}, "id": a.ad_id}),
            a,
        )
    ranked = sorted(clusters, key=lambda c: (c.size, c.max_risk or 0.0), reverse=True)[:limit]
    graphs = []
    for c in ranked:
        nodes: dict[str, dict[str, Any]] = {}
        edges: list[tuple[str, str]] = []
        tid = None
        if c.kind == "template":
            tid = "template:" + c.id
            nodes[tid] = {"id": tid, "kind": "template", "label": (c.template or "")[:120]}
        for mid in c.members:
            if mid not in by_id:
                continue
            ad, a = by_id[mid]
            nodes[mid] = {
                "id": mid,
                "kind": "ad",
                "label": (ad.text or "")[:text_chars],
                "risk": a.risk,
                "band": a.band,
            }
            if tid:
                edges.append((mid, tid))
            for key in member_of(ad, a).contacts:
                if c.kind == "contact" and key not in c.contacts:
                    continue
                nodes.setdefault("contact:" + key, {"id": "contact:" + key, "kind": "contact", "label": key})
                edges.append((mid, "contact:" + key))
        graphs.append(
            {
                "id": c.id,
                "kind": c.kind,
                "size": c.size,
                "max_risk": c.max_risk,
                "cities": c.cities,
                "contacts": c.contacts,
                "nodes": list(nodes.values()),
                "edges": edges,
            }
        )
    return graphs
