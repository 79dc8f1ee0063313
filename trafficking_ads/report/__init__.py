"""Explanations and the analyst report: why an ad got its risk, and all ads in one page.

Owns presentation only: it reads assessments (from a scorer or a scored JSONL file) and
never scores or re-weighs anything itself.

    from trafficking_ads.report import explain, write_report
    expl = explain(ad, assessment)            # risk, band, indicators with evidence, parts
    write_report(["scored.jsonl"], "report.html")
"""

from .explain import Explanation, explain
from .html import ReportResult, render_report, write_report
from ..scored import Problem, ScoredInputError, iter_scored

__all__ = [
    "Explanation",
    "explain",
    "render_report",
    "write_report",
    "ReportResult",
    "Problem",
    "ScoredInputError",
    "iter_scored",
]
