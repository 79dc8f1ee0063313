"""Recruitment networks: ads linked by a shared template or a shared contact.

Traffickers post the same ad in many cities under many accounts; a single ad may look
harmless while the network it belongs to does not. This package finds template clusters
(MinHash LSH over normalized shingles) and contact components (the same phone, handle,
e-mail or URL), summarises each cluster, and writes corpus-level features into each
member's `Assessment.network`. It owns no scoring: it reads and annotates assessments.
"""

from .index import Cluster, NetworkIndex, annotate, cluster_records

__all__ = ["Cluster", "NetworkIndex", "annotate", "cluster_records"]
