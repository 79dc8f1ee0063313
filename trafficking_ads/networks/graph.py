"""Union-find over string nodes: connected components of template and contact links.

The root of each component is its earliest-added node, so component ids are stable when
new ads join an index, and a batch run and an incremental run over the same ads agree.
"""

from __future__ import annotations

from collections import defaultdict


class UnionFind:
    """Disjoint sets with path halving; each set is named by its first-added member."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}
        self._rank: dict[str, int] = {}  # insertion order: lower wins as root

    def add(self, node: str) -> None:
        if node not in self._parent:
            self._parent[node] = node
            self._rank[node] = len(self._rank)

    def find(self, node: str) -> str:
        parent = self._parent
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def union(self, a: str, b: str) -> None:
        self.add(a)
        self.add(b)
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self._rank[rb] < self._rank[ra]:
            ra, rb = rb, ra
        self._parent[rb] = ra

    def groups(self) -> dict[str, list[str]]:
        """Root -> members, members in insertion order."""
        out: dict[str, list[str]] = defaultdict(list)
        for node in sorted(self._parent, key=self._rank.__getitem__):
            out[self.find(node)].append(node)
        return dict(out)
