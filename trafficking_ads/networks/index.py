"""The network index: ads in, template clusters and contact networks out; incremental.

New ads are queried against the LSH index before they are inserted, so every similar pair
is found exactly once whatever the order, and a later batch joins an existing index without
recomputing the earlier ads' signatures. The index persists as one SQLite file (signatures
as raw uint64 bytes, members as JSON) — never pickle.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from .. import minhash
from ..records import Ad, Assessment
from ..unionfind import UnionFind
from ..indicators.contacts import contact_keys
from .features import Cluster, Member, member_network, summarize, thresholds
from .templates import find_cities, from_bytes, shingles, signatures, template_text, template_tokens, to_bytes
from ..errors import InvalidValueError

INDEX_FILE = "network-index.sqlite"
FORMAT_VERSION = 2  # 2: numpy MinHash signatures (format 1 held datasketch's; rebuild it)


def _member(ad: Ad, assessment: Assessment | None) -> Member:
    text = "\n".join(x for x in (ad.title, ad.text) if x)
    contacts = sorted(contact_keys("\n".join(x for x in (ad.text, ad.contacts) if x)))
    places = find_cities(" ".join(x for x in (ad.location, ad.title, ad.text) if x))
    return Member(
        id=ad.id,
        tokens=" ".join(template_tokens(text)),
        contacts=contacts,
        cities=places,
        lang=(assessment.lang if assessment else None) or ad.language,
        posted_at=ad.posted_at,
        risk=assessment.risk if assessment else None,
        employer=ad.company_name,
    )


def member_of(ad: Ad, assessment: Assessment | None) -> Member:
    """What the index keeps of an ad (normalized template tokens, contact keys, cities): the
    per-ad work, which a distributed run does on its workers."""
    return _member(ad, assessment)


class NetworkIndex:
    """Template clusters (MinHash LSH) and contact networks (union-find) over ads."""

    def __init__(self, threshold: float | None = None, num_perm: int | None = None, shingle_words: int | None = None):
        th = thresholds()
        self.threshold = threshold if threshold is not None else th["template_jaccard"]
        self.num_perm = num_perm or th["num_perm"]
        self.shingle_words = shingle_words or th["shingle_words"]
        self._lsh = minhash.LSH(self.threshold, self.num_perm)
        self._sigs: dict[str, np.ndarray] = {}
        self.members: dict[str, Member] = {}
        self._template: UnionFind[str] = UnionFind()
        self._contact: UnionFind[str] = UnionFind()
        self._edges: list[tuple[str, str]] = []

    def __len__(self) -> int:
        return len(self.members)

    # -- adding ads ---------------------------------------------------------------------
    def add(self, items: Iterable[tuple[Ad, Assessment | None]], chunk: int = 2000) -> int:
        """Add ads (with their assessments, if scored); ads already indexed are skipped. Returns how many were new."""
        added = 0
        batch: list[Member] = []
        pending: set[str] = set()
        for ad, assessment in items:
            if ad.id in self.members or ad.id in pending:
                continue
            batch.append(_member(ad, assessment))
            pending.add(ad.id)
            if len(batch) >= chunk:
                added += self._add_batch(batch)
                batch, pending = [], set()
        if batch:
            added += self._add_batch(batch)
        return added

    def _add_batch(self, batch: list[Member]) -> int:
        sigs = signatures((shingles(m.tokens.split(), self.shingle_words) for m in batch), self.num_perm)
        for member, sig in zip(batch, sigs):
            self._insert(member, sig)
        return len(batch)

    def insert_linked(self, member: Member, sig: np.ndarray, edges: list[str]) -> None:
        """Add an ad whose template links (ids of earlier ads, found elsewhere, e.g. by a Ray
        run's band grouping) are already known; the same state as `add` would reach."""
        self._insert(member, sig, edges=edges)

    def _insert(self, member: Member, sig: np.ndarray, edges: list[str] | None = None) -> None:
        key = member.id
        self.members[key] = member
        self._template.add(key)
        if member.tokens:
            if edges is None:
                edges = [c for c in self._lsh.query(sig) if minhash.jaccard(sig, self._sigs[c]) >= self.threshold]
                self._edges.extend((c, key) for c in edges)
            for other in edges:
                self._template.union(other, key)
            self._lsh.insert(key, sig)
        self._sigs[key] = sig
        self._contact.add("a:" + key)
        for c in member.contacts:
            self._contact.union("a:" + key, "c:" + c)

    # -- clusters -----------------------------------------------------------------------
    def clusters(self, min_size: int = 2) -> list[Cluster]:
        """Template clusters and contact networks with at least `min_size` ads, largest first."""
        out: list[Cluster] = []
        for root, ids in self._template.groups().items():
            if len(ids) >= min_size:
                members = [self.members[i] for i in ids]
                template = template_text([m.tokens.split() for m in members])
                out.append(summarize("T:" + root, "template", members, template))
        for root, nodes in self._contact.groups().items():
            ids = [n[2:] for n in nodes if n.startswith("a:")]
            if len(ids) >= min_size:
                out.append(summarize("C:" + root[2:], "contact", [self.members[i] for i in ids]))
        out.sort(key=lambda c: (-c.size, c.id))
        return out

    def network_of(self, clusters: list[Cluster]) -> dict[str, dict[str, Any]]:
        """Ad id -> its `Assessment.network` dict, for the ads in any cluster."""
        by_member: dict[str, dict[str, Cluster]] = {}
        for c in clusters:
            for m in c.members:
                by_member.setdefault(m, {})[c.kind] = c
        return {ad_id: member_network(k.get("template"), k.get("contact")) for ad_id, k in by_member.items()}

    # -- persistence --------------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> Path:
        """Write the index to `directory/network-index.sqlite` atomically."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        os.close(fd)
        try:
            con = sqlite3.connect(tmp)
            with con:
                con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
                con.execute("CREATE TABLE members (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, sig BLOB, data TEXT)")
                con.execute("CREATE TABLE edges (a TEXT, b TEXT)")
                meta = {
                    "format": FORMAT_VERSION,
                    "threshold": self.threshold,
                    "num_perm": self.num_perm,
                    "shingle_words": self.shingle_words,
                }
                con.executemany("INSERT INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in meta.items()])
                con.executemany(
                    "INSERT INTO members (id, sig, data) VALUES (?, ?, ?)",
                    (
                        (m.id, to_bytes(self._sigs[m.id]), json.dumps(_member_dict(m), ensure_ascii=False))
                        for m in self.members.values()
                    ),
                )
                con.executemany("INSERT INTO edges VALUES (?, ?)", self._edges)
            con.close()
            os.replace(tmp, directory / INDEX_FILE)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return directory / INDEX_FILE

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "NetworkIndex":
        """Load a saved index: signatures and links are read back, not recomputed from text."""
        path = Path(directory) / INDEX_FILE
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            meta = {k: json.loads(v) for k, v in con.execute("SELECT key, value FROM meta")}
            if meta.get("format") != FORMAT_VERSION:
                raise InvalidValueError(
                    f"{path}: index format {meta.get('format')!r}, expected {FORMAT_VERSION} (delete it to rebuild the index)"
                )
            index = cls(meta["threshold"], meta["num_perm"], meta["shingle_words"])
            edges_by_b: dict[str, list[str]] = {}
            for a, b in con.execute("SELECT a, b FROM edges"):
                edges_by_b.setdefault(b, []).append(a)
            for _id, sig, data in con.execute("SELECT id, sig, data FROM members ORDER BY seq"):
                member = Member(**json.loads(data))
                edges = edges_by_b.get(member.id, [])
                index._edges.extend((a, member.id) for a in edges)
                index._insert(member, from_bytes(sig), edges=edges)
        finally:
            con.close()
        return index


def _member_dict(m: Member) -> dict[str, Any]:
    return {name: getattr(m, name) for name in Member.__slots__}


def _pairs(records: Iterable[tuple[dict[str, Any], Assessment]]) -> Iterator[tuple[Ad, Assessment]]:
    for ad_fields, assessment in records:
        fields = {k: v for k, v in ad_fields.items() if v is not None}
        yield Ad.from_dict({"text": "", **fields, "id": assessment.ad_id}), assessment


def cluster_records(
    records: Iterable[tuple[dict[str, Any], Assessment]], index: NetworkIndex | None = None
) -> tuple[NetworkIndex, list[Cluster]]:
    """Cluster scored records (as from `read_scored`), optionally joining an existing index."""
    index = index if index is not None else NetworkIndex()
    index.add(_pairs(records))
    return index, index.clusters()


def annotate(records: list[tuple[dict[str, Any], Assessment]], index: NetworkIndex | None = None) -> list[Cluster]:
    """Cluster the records and set each member's `assessment.network`; returns the clusters."""
    index, clusters = cluster_records(records, index)
    networks = index.network_of(clusters)
    for _fields, assessment in records:
        assessment.network = networks.get(assessment.ad_id)
    return clusters
