"""The labelling and retraining loop: choose ads to label, exchange them with Label Studio,
keep the labels with their provenance, and retrain the model on old + new data.

Modules: `select` (active-learning selection), `labelstudio` (task export with
pre-annotations and the labelling config; export import and validation), `labels` (the
labels JSONL store: merge, conflicts, provenance), `retrain` (continue training from a
model with new labels). Heavy imports (torch, transformers) live in `retrain` only.
"""

from .labels import LabelRecord, MergeResult, merge, read_labels, training_ads, write_labels
from .labelstudio import Annotation, export_tasks, labelling_config, read_export
from .select import STRATEGIES, Candidate, Selection, read_scored_file, select

__all__ = [
    "STRATEGIES",
    "Annotation",
    "Candidate",
    "LabelRecord",
    "MergeResult",
    "Selection",
    "export_tasks",
    "labelling_config",
    "merge",
    "read_export",
    "read_labels",
    "read_scored_file",
    "select",
    "training_ads",
    "write_labels",
]
