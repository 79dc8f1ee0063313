"""Prometheus metrics of one service process, in the text format `GET /metrics` serves.

Requests and errors by route and status, latency histograms by route, model batch sizes,
the queue's depth and rejections, assessments by band, and readiness. A private registry
per app, so two apps in one process (tests) never mix their counts. Routes are labelled by
their template, and unknown paths as "other", so a scanner cannot grow the label set.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """The service's counters, gauges and histograms."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        p = "trafficking_ads_"
        self.requests = Counter(
            p + "http_requests", "HTTP requests by route, method and status.", ("route", "method", "status"), registry=r
        )
        self.errors = Counter(
            p + "http_errors",
            "HTTP responses with status >= 400, by route and status.",
            ("route", "status"),
            registry=r,
        )
        self.latency = Histogram(
            p + "http_request_duration_seconds",
            "Time from request to response, by route.",
            ("route",),
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            p + "batch_size_ads", "Ads per model batch (dynamic batching).", buckets=BATCH_BUCKETS, registry=r
        )
        self.batch_seconds = Histogram(
            p + "batch_duration_seconds", "Time to score one model batch.", buckets=LATENCY_BUCKETS, registry=r
        )
        self.queue_depth = Gauge(p + "queue_depth_ads", "Ads waiting for the model.", registry=r)
        self.rejected = Counter(
            p + "queue_rejections", "Requests refused with 503 because the queue was full.", registry=r
        )
        self.dropped = Counter(
            p + "queue_dropped_ads", "Queued ads dropped because their client disconnected.", registry=r
        )
        self.assessments = Counter(p + "assessments", "Assessments produced, by band.", ("band",), registry=r)
        self.ready = Gauge(p + "model_ready", "1 when the model is loaded and warmed up.", registry=r)
        for band in ("low", "medium", "high"):
            self.assessments.labels(band=band)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        self.requests.labels(route=route, method=method, status=str(status)).inc()
        if status >= 400:
            self.errors.labels(route=route, status=str(status)).inc()
        self.latency.labels(route=route).observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
