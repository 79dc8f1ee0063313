"""Evaluation: metrics for the deceptive class, the TF-IDF baseline, and the `evaluate` protocol.

from trafficking_ads.evaluation import evaluate, write_markdown
result = evaluate("out/corpus", split="test")      # default model vs the baseline
write_markdown(result, "training/results/eval.md")
"""

from .evaluate import evaluate, write_json
from .tables import markdown, write_markdown

__all__ = ["evaluate", "markdown", "write_json", "write_markdown"]
