"""Union-find (disjoint sets): connected components of "these two belong together" links.

One implementation for everything that groups by links: corpus deduplication (template
groups, near-duplicate families), the retraining loop, and recruitment networks (template
clusters and contact components). The root of each set is its earliest-added node, so
component names are stable when new nodes join, and a batch run and an incremental run
over the same items agree.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Generic, Hashable, Iterable, TypeVar

N = TypeVar("N", bound=Hashable)


class UnionFind(Generic[N]):
    """Disjoint sets with path halving; each set is named by its first-added member."""

    def __init__(self, nodes: Iterable[N] = ()) -> None:
        self._parent: dict[N, N] = {}
        self._rank: dict[N, int] = {}  # insertion order: lower wins as root
        for node in nodes:
            self.add(node)

    def __len__(self) -> int:
        return len(self._parent)

    def add(self, node: N) -> None:
        """Add `node` as a set of its own (nothing if it is already in one)."""
        if node not in self._parent:
            self._parent[node] = node
            self._rank[node] = len(self._rank)

    def find(self, node: N) -> N:
        """The root (earliest-added member) of the set holding `node` (added before)."""
        parent = self._parent
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def union(self, a: N, b: N) -> None:
        """Join the sets of `a` and `b` (adding either if new)."""
        self.add(a)
        self.add(b)
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self._rank[rb] < self._rank[ra]:
            ra, rb = rb, ra
        self._parent[rb] = ra

    def groups(self) -> dict[N, list[N]]:
        """Root -> members, members in insertion order."""
        out: dict[N, list[N]] = defaultdict(list)
        for node in sorted(self._parent, key=self._rank.__getitem__):
            out[self.find(node)].append(node)
        return dict(out)
