"""Prometheus metrics of one service process (its own registry, served at /metrics)."""

from __future__ import annotations

import time
from contextvars import ContextVar

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

# one message's way in three parts (wall clock, time.time(): the parts cross processes):
# commit_to_publish (its outbox write, in the producer's transaction, to the relay's publish),
# publish_to_fetch (to its batch reaching the consumer's handler), fetch_to_commit (to its
# consumer's transaction committed). The outbox write is read back with the database's
# millisecond precision: commit_to_publish may be up to 1 ms long.
HOP_PARTS = ("commit_to_publish", "publish_to_fetch", "fetch_to_commit")
HOP_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
# when the batch being handled reached the service's handler (time.time()), set per batch
fetched_at: ContextVar[float | None] = ContextVar("fetched_at", default=None)


class Metrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"service": service}
        self.messages = Counter(
            "sagashop_messages",
            "Messages consumed, by topic and outcome",
            ["topic", "outcome"],
            registry=self.registry,
        )
        self.handle_seconds = Histogram(
            "sagashop_handle_seconds",
            "Time to handle a consumed message",
            ["topic"],
            registry=self.registry,
        )
        self.hop_seconds = Histogram(
            "sagashop_hop_seconds",
            "One message's way by topic and part: commit_to_publish, publish_to_fetch, "
            "fetch_to_commit (wall clock across processes)",
            ["topic", "part"],
            buckets=HOP_BUCKETS,
            registry=self.registry,
        )
        self.transactions = Counter(
            "sagashop_db_transactions", "Committed database transactions", registry=self.registry
        )
        self.outbox_messages = Counter(
            "sagashop_outbox_messages", "Messages written to the outbox", registry=self.registry
        )
        self.http_requests = Counter(
            "sagashop_http_requests",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.http_seconds = Histogram(
            "sagashop_http_seconds", "HTTP request latency", ["route"], registry=self.registry
        )
        self.service = labels["service"]

    def observe_message(self, topic: str, outcome: str, started: float, shared_by: int = 1) -> None:
        """One message handled since `started`; `shared_by` messages handled together (one
        transaction) each count for their share of the time."""
        self.messages.labels(topic, outcome).inc()
        self.handle_seconds.labels(topic).observe((time.perf_counter() - started) / shared_by)
        if outcome == "ok" and (fetched := fetched_at.get()) is not None:
            self.hop(topic, "fetch_to_commit", time.time() - fetched)

    def hop(self, topic: str, part: str, seconds: float) -> None:
        """One part of one message's way (HOP_PARTS)."""
        self.hop_seconds.labels(topic, part).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
